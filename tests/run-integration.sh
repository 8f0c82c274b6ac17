#!/bin/bash
# Run every integration test (tests/integration/t_*.sh), each with a time
# limit; print one line per test and fail if any failed.
set -u
dir=$(dirname "$0")/integration
fail=0
for t in "$dir"/t_*.sh; do
	[ -n "${ONLY:-}" ] && case "$t" in *"$ONLY"*) ;; *) continue ;; esac
	timeout -k 5 ${TEST_TIMEOUT:-120} bash "$t" || { rc=$?; fail=1
		[ $rc = 124 ] && echo "FAIL $(basename "$t" .sh): timed out"; }
done
exit $fail
