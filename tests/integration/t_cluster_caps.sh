#!/bin/bash
# Capabilities: each worker reports what its ffmpeg can do (minus what its
# config disables); a job goes only where its encoders, filters, ... are;
# one that no worker can run still runs for ffmpeg's own error (or, with a
# fallback, is refused at once and runs locally); a disabled encoder is
# withheld all the same.
. "$(dirname "$0")/lib.sh"
cluster_up "" "disable: {encoders: [libx264]}"
grep -q "encoders" "$T/worker02.log" || fail "worker02 did not probe its ffmpeg"

# libx264 jobs all go to worker01, the only one with the encoder
for i in 1 2 3 4; do
	"$T/bin/ffmpeg" -v error -f lavfi -i testsrc=duration=0.2:size=64x64 \
	    -c:v libx264 -preset ultrafast -y "$T/media/x264-$i.mp4" \
	    || fail "libx264 job $i failed"
done
[ "$(q "select count(*) from jobs where args like '%libx264%' and worker='worker01'")" = 4 ] \
    || fail "libx264 jobs ran on: $(q "select worker from jobs where args like '%libx264%'")"
# jobs without requirements are spread over both workers
for i in 1 2 3 4; do
	"$T/bin/ffmpeg" -v error -f lavfi -i nullsrc=d=0.04 -f null - || fail "plain job $i"
done
[ "$(q "select count(distinct worker) from jobs where args like '%nullsrc=d=0.04%'")" = 2 ] \
    || fail "plain jobs not spread: $(q "select worker from jobs where args like '%nullsrc=d=0.04%'")"

# No worker has this filter or this encoder (typos): without a fallback
# the job runs all the same, so the caller gets exactly the stderr and
# exit status of a local ffmpeg (banner, input dump, ffmpeg's own error),
# and the coordinator records why it was unplaceable.
# ffmpeg names contexts by address ("[AVFilterGraph @ 0x55e4...]"), which
# differs between any two runs: addresses are compared as 0x.
unaddr() { sed 's/ @ 0x[0-9a-f]*\]/ @ 0x]/g' "$1"; }
for c in "filter:-vf no_such_filter" "encoder:-c:v nosuchenc"; do
	what=${c%%:*}
	ffmpeg -f lavfi -i testsrc=duration=0.2 ${c#*:} -f null - \
	    </dev/null >"$T/$what.lout" 2>"$T/$what.lerr"; lrc=$?
	"$T/bin/ffmpeg" -f lavfi -i testsrc=duration=0.2 ${c#*:} -f null - \
	    </dev/null >"$T/$what.pout" 2>"$T/$what.perr"; prc=$?
	[ $prc = $lrc ] || fail "unknown $what: exit $prc, local $lrc: $(cat "$T/$what.perr")"
	[ $lrc != 0 ] || fail "unknown $what: even the local ffmpeg succeeded"
	cmp -s <(unaddr "$T/$what.perr") <(unaddr "$T/$what.lerr") ||
	    fail "unknown $what: stderr differs from local: $(diff "$T/$what.lerr" "$T/$what.perr" | head -n 5)"
	cmp -s "$T/$what.pout" "$T/$what.lout" || fail "unknown $what: stdout differs"
	id=$(q "select id from jobs where args like '%${c##* }%'" | tail -n 1)
	q "select reason from job_transitions where job='$id' and to_state='assigned'" |
	    grep -q "^unplaceable (no registered worker has $what '" ||
	    fail "unknown $what: placement not recorded as unplaceable: $(q "select to_state, reason from job_transitions where job='$id'")"
	grep -q "job $id: unplaceable" "$T/coordinator.log" || fail "unknown $what: not logged"
done
# With a fallback the client runs it locally at once instead (the
# coordinator refuses it, naming what is missing).
cp "$T/client.yaml" "$T/fb.yaml"
echo "fallback: {ffmpeg: $(command -v ffmpeg)}" >>"$T/fb.yaml"
start=$(date +%s%N)
DFFMPEG_CLIENT_CONFIG=$T/fb.yaml "$T/bin/ffmpeg" -f lavfi -i testsrc=duration=0.2 \
    -vf no_such_filter -f null - </dev/null 2>"$T/fb.err"; rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $rc = "$(ffmpeg -f lavfi -i testsrc=duration=0.2 -vf no_such_filter -f null - </dev/null 2>/dev/null; echo $?)" ] ||
    fail "unknown filter + fallback: exit $rc"
cmp -s <(unaddr "$T/fb.err") <(unaddr "$T/filter.lerr") || fail "unknown filter + fallback: stderr differs from local"
grep -q "running the local fallback.*no registered worker has filter 'no_such_filter'" "$T/client.log" ||
    fail "unknown filter + fallback: no warning naming the cause in the log"
[ $ms -lt 2000 ] || fail "the refusal took $ms ms"
# An encoder every worker disables is withheld even so: the worker says
# so in the `dffmpeg:` line.
kill -TERM "$PID_worker01"
wait_for 15 eval '! kill -0 $PID_worker01 2>/dev/null' || fail "worker01 did not stop"
worker_up worker01 "" "disable: {encoders: [libx264]}"
wait_for 10 eval '[ $(grep -c "worker worker01 registered" "$T/coordinator.log") -ge 2 ]' \
    || fail "worker01 did not come back"
"$T/bin/ffmpeg" -v error -f lavfi -i testsrc=duration=0.2 -c:v libx264 \
    -f null - 2>"$T/err"; rc=$?
[ $rc = 1 ] && grep -q "^dffmpeg: worker worker0[12] cannot run the job: encoder 'libx264' is disabled on worker worker0[12]$" "$T/err" \
    || fail "disabled encoder: exit $rc: $(cat "$T/err")"
pass
