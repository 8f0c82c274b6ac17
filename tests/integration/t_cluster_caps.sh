#!/bin/bash
# Capabilities: each worker reports what its ffmpeg can do (minus what its
# config disables); a job goes only where its encoders, filters, ... are,
# and one that no worker can run is refused at once, naming what is
# missing.
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
for i in 1 2 3 4; do "$T/bin/ffmpeg" -hide_banner -version >/dev/null || fail "-version"; done
[ "$(q "select count(distinct worker) from jobs where args like '%-version%'")" = 2 ] \
    || fail "plain jobs not spread: $(q "select worker from jobs where args like '%-version%'")"

# no worker has this filter: refused at once, naming it
start=$(date +%s%N)
"$T/bin/ffmpeg" -v error -f lavfi -i testsrc=duration=0.2 -vf nosuchfilter=1 \
    -f null - 2>"$T/err"; rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $rc = 1 ] || fail "missing filter: exit $rc"
grep -q "^dffmpeg: no registered worker has filter 'nosuchfilter'" "$T/err" \
    || fail "missing filter: $(cat "$T/err")"
[ $ms -lt 2000 ] || fail "the refusal took $ms ms"
# nor this encoder, once worker01 disables it too
kill -TERM "$PID_worker01"
wait_for 15 eval '! kill -0 $PID_worker01 2>/dev/null' || fail "worker01 did not stop"
worker_up worker01 "" "disable: {encoders: [libx264]}"
wait_for 10 eval '[ $(grep -c "worker worker01 registered" "$T/coordinator.log") -ge 2 ]' \
    || fail "worker01 did not come back"
"$T/bin/ffmpeg" -v error -f lavfi -i testsrc=duration=0.2 -c:v libx264 \
    -f null - 2>"$T/err"; rc=$?
[ $rc = 1 ] && grep -q "^dffmpeg: no registered worker has encoder 'libx264'" "$T/err" \
    || fail "disabled encoder: exit $rc: $(cat "$T/err")"
pass
