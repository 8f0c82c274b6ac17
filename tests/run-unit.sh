#!/bin/sh
# Run each unit-test binary given; with VALGRIND=1 under valgrind's leak
# checker (any leak or error fails the run).
set -u
fail=0
for t in "$@"; do
	if [ "${VALGRIND:-0}" = 1 ]; then
		valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
		    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
		    "$t" || fail=1
	else
		"$t" || fail=1
	fi
done
exit $fail
