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
times=
start=$SECONDS
for t in "$dir"/t_*.sh; do
	[ -n "${ONLY:-}" ] && case "$t" in *"$ONLY"*) ;; *) continue ;; esac
	t0=$SECONDS
	timeout -k 5 ${TEST_TIMEOUT:-120} bash "$t" || { rc=$?; fail=1
		[ $rc = 124 ] && echo "FAIL $(basename "$t" .sh): timed out"; }
	times+="$((SECONDS - t0)) $(basename "$t" .sh)"$'\n'
done
# Where the time goes: the suite is to stay well under ten minutes.
echo "$((SECONDS - start)) s in all; the slowest:" \
    $(printf '%s' "$times" | sort -rn | head -5 | awk '{ printf "%s%s %d s", (NR > 1 ? ", " : ""), $2, $1 }')
exit $fail
