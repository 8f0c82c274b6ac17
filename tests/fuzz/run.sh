#!/bin/bash
# run.sh SECONDS DIR NAME...: run each libFuzzer harness DIR/fuzz_NAME for
# SECONDS from its seed corpus tests/fuzz/corpus/NAME.  New inputs and any
# crash go to a temporary directory (printed when something is found);
# the seed corpus is not changed.  Fails if a harness fails.
set -u
secs=$1; dir=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/dffmpeg-fuzz.XXXXXX")
fail=0
for name in "$@"; do
	mkdir -p "$work/$name/new" "$work/$name/artifacts"
	start=$(date +%s)
	"$dir/fuzz_$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix="$work/$name/artifacts/" \
	    "$work/$name/new" "$here/corpus/$name" >"$work/$name.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$name.log")
	if [ $rc = 0 ]; then
		echo "ok   fuzz_$name: ${runs:-?} inputs in $(( $(date +%s) - start )) s"
	else
		fail=1
		echo "FAIL fuzz_$name (exit $rc): log $work/$name.log, inputs in $work/$name/artifacts"
		grep -m 5 -E "ERROR|SUMMARY|==[0-9]+==" "$work/$name.log"
	fi
done
[ $fail = 0 ] && rm -rf "$work"
exit $fail
