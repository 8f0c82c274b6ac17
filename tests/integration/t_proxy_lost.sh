#!/bin/bash
# A worker frozen in the middle of a job (SIGSTOP): its connection stays
# open, so no will fires, and the coordinator is told to wait long for its
# heartbeats.  Only the proxy's data-plane watchdog notices: after the
# stream's lost timeout (15 s) the proxy cancels the job at the coordinator
# and then exits 1 with one `dffmpeg:` line.  Once the worker runs again,
# the coordinator's cancel reaches it and the remote ffmpeg goes.
. "$(dirname "$0")/lib.sh"

# A stopped worker must not stay stopped if the test ends early.
trap 'rc0=$?; [ -n "${PID_worker01:-}" ] && kill -CONT "$PID_worker01" 2>/dev/null; (exit $rc0); cleanup' EXIT

broker_up
COORD_EXTRA="worker_timeout: 120s"
coordinator_up
wait_for 5 test -f "$T/coordinator.db" || fail "coordinator did not start"
client_config
# As worker_up does, with a long MQTT keepalive so that the broker does not
# drop the stopped worker (and fire its will) during the test.
key=$(user_add worker01 worker) || fail "user add worker01"
mkdir -p "$T/media"
cat >"$T/worker01.yaml" <<EOC
client_id: worker01
hmac_key: "$key"
mqtt: {host: 127.0.0.1, port: $PORT, keepalive: 120}
binaries: {ffmpeg: $(command -v ffmpeg), ffprobe: $(command -v ffprobe)}
paths: {Media: $T/media}
registration_interval: 1s
EOC
spawn worker01 "$DFFMPEG" worker -d -c "$T/worker01.yaml"
wait_for 10 registered worker01 || fail "worker01 did not register"

job_state() { q "select state from jobs where args like '%lost-$$%'"; }

"$T/bin/ffmpeg" -hide_banner -nostats -re -f lavfi \
    -i testsrc=duration=60:size=320x240:rate=25 -f null \
    -y "$T/media/lost-$$.null" </dev/null >"$T/p.out" 2>"$T/p.err" &
P=$!
wait_for 10 remote_running "lost-$$" || fail "the job did not start"
wait_for 5 grep -q "the remote process runs" "$T/client.log" || fail "no hello"
sleep 1
[ "$(job_state)" = running ] || fail "job state before the stop: $(job_state)"

t0=$(ms)
kill -STOP "$PID_worker01"
wait_for 25 eval '! kill -0 $P' || fail "the proxy still runs $(( $(ms) - t0 )) ms after its worker froze"
wait $P; rc=$?
lost_ms=$(( $(ms) - t0 ))
[ $rc = 1 ] || fail "proxy exit $rc after its worker froze: $(tail -n 2 "$T/p.err")"
tail -n 1 "$T/p.err" | grep -q '^dffmpeg: .*lost contact' \
    || fail "no dffmpeg: line: $(tail -n 2 "$T/p.err")"
[ "$(grep -c '^dffmpeg:' "$T/p.err")" = 1 ] || fail "more than one dffmpeg: line"
[ $lost_ms -ge 12000 ] || fail "the proxy gave up after $lost_ms ms, before the data-plane timeout"
[ $lost_ms -le 20000 ] || fail "the proxy gave up only after $lost_ms ms"
grep -q "lost contact with the worker; canceling the job" "$T/client.log" \
    || fail "the proxy did not log its cancel"
grep -q "the coordinator acknowledged the cancel" "$T/client.log" \
    || fail "the cancel was not acknowledged: $(grep -i cancel "$T/client.log")"
grep -q "canceled by the client" "$T/coordinator.log" \
    || fail "the coordinator did not cancel the job for the client"
case $(job_state) in
canceling|canceled) ;;
*) fail "job state after the proxy gave up: $(job_state)" ;;
esac
remote_running "lost-$$" || fail "the remote ffmpeg died while its worker was stopped?"
echo "     worker SIGSTOP -> proxy exit 1: $lost_ms ms (job $(job_state))"

t1=$(ms)
kill -CONT "$PID_worker01"
wait_for 10 eval '! remote_running "lost-$$"' \
    || fail "the remote ffmpeg still runs $(( $(ms) - t1 )) ms after its worker woke"
gone_ms=$(( $(ms) - t1 ))
wait_for 10 eval '[ "$(job_state)" = canceled ]' || fail "job state after the worker woke: $(job_state)"
echo "     worker SIGCONT -> remote ffmpeg gone: $gone_ms ms, job canceled after $(( $(ms) - t1 )) ms"
pass
