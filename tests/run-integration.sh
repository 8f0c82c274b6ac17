#!/bin/bash
# Run every integration test (tests/integration/t_*.sh, or those of the
# directory $TESTS), each with a time limit; print one line per test and
# fail if any failed.
set -u
dir=${TESTS:-$(dirname "$0")/integration}
fail=0
# The workers' verification cache (hwcaps.h), shared by the tests of one
# run and kept out of the user's own cache.
XDG_CACHE_HOME=$(mktemp -d "${TMPDIR:-/tmp}/dffmpeg-cache.XXXXXX")
export XDG_CACHE_HOME
trap 'rm -rf "$XDG_CACHE_HOME"' EXIT
for t in "$dir"/t_*.sh; do
	[ -n "${ONLY:-}" ] && case "$t" in *"$ONLY"*) ;; *) continue ;; esac
	timeout -k 5 ${TEST_TIMEOUT:-120} bash "$t" || { rc=$?; fail=1
		[ $rc = 124 ] && echo "FAIL $(basename "$t" .sh): timed out"; }
done
exit $fail
