#!/bin/bash
# Draining: SIGTERM makes a worker finish its running job and then exit,
# taking no new job meanwhile; a second SIGTERM cancels at once.  And a
# path variable whose mount sentinel disappears is reported unhealthy: no
# job needing it is placed there until it comes back.
. "$(dirname "$0")/lib.sh"
cluster_up

"$T/bin/ffmpeg" -hide_banner -nostats -re -f lavfi -i testsrc=size=64x64:rate=10 \
    -t 2 -y "$T/media/drain.mkv" 2>"$T/d.err" &
P=$!
wait_for 10 remote_running "$T/media/drain.mkv" || fail "the job did not start"
kill -TERM "$PID_worker01"
wait_for 5 grep -q "draining" "$T/worker01.log" || fail "worker01 did not drain"
# a job submitted now is queued, not placed on the draining worker
"$T/bin/ffmpeg" "${VJOB[@]}" >"$T/v.out" 2>"$T/v.err" &
V=$!
wait $P; rc=$?
[ $rc = 0 ] || fail "the running job exited $rc after the drain"
ffprobe -v error "$T/media/drain.mkv" || fail "its output is not valid"
wait_for 5 eval '! kill -0 $PID_worker01 2>/dev/null' || fail "worker01 did not exit after draining"
# a second worker takes the queued job
worker_up worker02
wait $V; rc=$?
[ $rc = 0 ] || fail "the queued job exited $rc: $(cat "$T/v.err")"
[ "$(q "select worker from jobs where args like '%-version%'")" = worker02 ] \
    || fail "the queued job ran on $(q "select worker from jobs where args like '%-version%'")"

# second SIGTERM: running jobs are canceled, the worker exits at once
"$T/bin/ffmpeg" -hide_banner -nostats -re -f lavfi -i testsrc=size=64x64:rate=10 \
    -t 30 -y "$T/media/cancel.mkv" 2>"$T/c.err" &
P=$!
wait_for 10 remote_running "$T/media/cancel.mkv" || fail "the long job did not start"
kill -TERM "$PID_worker02"; sleep 0.3; kill -TERM "$PID_worker02"
wait_for 6 eval '! kill -0 $PID_worker02 2>/dev/null' || fail "worker02 did not exit on the second SIGTERM"
wait_for 6 eval '! remote_running "$T/media/cancel.mkv"' || fail "its ffmpeg survived"
wait $P; rc=$?
[ $rc != 0 ] || fail "the canceled job exited 0"

# mount health: a sentinel file decides whether Media is usable
touch "$T/media/.online"
worker_up worker03 "" "mounts: {Media: \"file:.online\"}"
wait_for 10 registered worker03 || fail "worker03 did not register"
rm "$T/media/.online"
wait_for 5 grep -q "path variable Media is unhealthy" "$T/worker03.log" || fail "no unhealthy report"
sleep 1.5	# one heartbeat carries it to the coordinator
"$T/bin/ffprobe" -v error "$T/media/drain.mkv" 2>"$T/m.err"; rc=$?
[ $rc = 1 ] && grep -q "^dffmpeg: no registered worker has a healthy path variable 'Media'" "$T/m.err" \
    || fail "a job needing an unhealthy Media: exit $rc, $(cat "$T/m.err")"
"$T/bin/ffmpeg" "${VJOB[@]}" >/dev/null || fail "a job needing no path failed"
touch "$T/media/.online"
wait_for 5 grep -q "path variable Media is healthy again" "$T/worker03.log" || fail "no recovery report"
sleep 1.5
"$T/bin/ffprobe" -v error "$T/media/drain.mkv" || fail "Media is back but the job failed"
pass
