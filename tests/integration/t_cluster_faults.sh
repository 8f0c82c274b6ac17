#!/bin/bash
# Faults with two workers: a worker SIGKILLed before it started a job (the
# job is re-queued on the other) and during a job (the client gets one
# `dffmpeg:` line and exit 1 within a second, no ffmpeg is left behind).
. "$(dirname "$0")/lib.sh"
# A stopped worker keeps its connection (and the assign waiting in it)
# for a minute and a half: case 3 is about its late copy, not its broker.
MQTT_EXTRA="keepalive: 60"
cluster_up "" ""

# 1. Killed before it started the job: with worker02 drained and worker01
# stopped, a job is assigned to worker01 but cannot start; worker01 is
# killed, the job goes back to the queue and runs on worker02 once that
# one takes jobs again.
admin() { "$DFFMPEG" admin -c "$T/coordinator.yaml" "$@" >/dev/null || fail "admin $*"; }
admin worker drain worker02
kill -STOP "$PID_worker01"
"$T/bin/ffmpeg" "${VJOB[@]}" >"$T/v.out" 2>"$T/v.err" &
P=$!
wait_for 5 grep -q "runs on worker01" "$T/client.log" || fail "the job was not assigned to worker01"
kill -KILL "$PID_worker01"
wait_for 5 grep -q "assigned -> pending" "$T/coordinator.log" || fail "the job was not re-queued"
admin worker resume worker02
wait $P; rc=$?
[ $rc = 0 ] || fail "re-queued job exited $rc: $(cat "$T/v.err")"
cmp -s "$T/v.out" <(ffmpeg -hide_banner -version) || fail "re-queued job output differs"
[ "$(q "select worker from jobs")" = worker02 ] || fail "the job ran on $(q "select worker from jobs")"

# 2. Killed during a job: the client learns it within a second.
worker_up worker01
wait_for 10 eval '[ $(grep -c "worker worker01 registered" "$T/coordinator.log") -ge 2 ]' \
    || fail "worker01 did not come back"
admin worker drain worker02	# make worker01 the only candidate
"$T/bin/ffmpeg" -hide_banner -nostats -re -f lavfi -i testsrc=size=64x64:rate=10 \
    -t 30 -f null -y "$T/media/running-$$.null" >"$T/r.out" 2>"$T/r.err" &
P=$!
wait_for 10 remote_running "running-$$" || fail "the job did not start"
worker_fault KILL worker01 $P "$T/r.err" 1500
wait_for 2 eval '! remote_running "running-$$"' || fail "ffmpeg outlived its worker"
[ "$(q "select state from jobs where args like '%running-$$%'")" = failed ] \
    || fail "job state: $(q "select state, reason from jobs where args like '%running-$$%'")"
echo "  worker SIGKILL -> client exit: $FAULT_MS ms"

# 3. A worker that stops heartbeating (stopped, not dead) loses the job it
# had not started to another worker; when it wakes up and starts its copy
# anyway, that copy is canceled and cannot disturb the client's output.
worker_up worker01
wait_for 10 eval '[ $(grep -c "worker worker01 registered" "$T/coordinator.log") -ge 3 ]' \
    || fail "worker01 did not come back again"
kill -STOP "$PID_worker01"
stopped_at=$(date +%s%N)
"$T/bin/ffmpeg" "${VJOB[@]}" >"$T/s.out" 2>"$T/s.err" &
P=$!
wait_for 5 eval '[ $(grep -c "runs on worker01" "$T/client.log") -ge 2 ]' \
    || fail "the job was not assigned to the stopped worker01"
admin worker resume worker02
wait_for 15 grep -q "worker worker01: online -> stale" "$T/coordinator.log" \
    || fail "worker01 was not found stale"
wait $P; rc=$?
kill -CONT "$PID_worker01"
stopped_ms=$((($(date +%s%N) - stopped_at) / 1000000))
[ $rc = 0 ] || fail "the job taken back exited $rc: $(cat "$T/s.err")"
cmp -s "$T/s.out" <(ffmpeg -hide_banner -version) || fail "its output differs"
id=$(q "select id from jobs where worker = 'worker02' order by rowid desc limit 1")
wait_for 10 grep -q "job $id: started" "$T/worker01.log" \
    || fail "worker01 did not start its late copy of job $id (stopped for $stopped_ms ms)"
wait_for 10 grep -Eq "started on worker01, which no longer has it|worker worker01 runs job .* which is no longer its own" "$T/coordinator.log" \
    || fail "the late copy on worker01 was not canceled"
echo "  worker stopped for $stopped_ms ms: its late copy was canceled"
pass
