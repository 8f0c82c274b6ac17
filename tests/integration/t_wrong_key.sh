#!/bin/bash
# A worker configured with a wrong key is refused, both sides say so in
# their logs, and the coordinator keeps serving the right worker.
. "$(dirname "$0")/lib.sh"
cluster_up
user_add worker02 worker >/dev/null || fail "user add worker02"
wrong=$(head -c 32 /dev/urandom | base64)
worker_up worker02 "$wrong"

wait_for 10 grep -q "refused a message from 'worker02'" "$T/coordinator.log" \
    || fail "the coordinator did not log the refused worker"
wait_for 15 grep -q "has not answered our registration" "$T/worker02.log" \
    || fail "the worker did not log that it is not registered"
grep -q "worker worker02 registered" "$T/coordinator.log" \
    && fail "the wrong-key worker was registered"

for i in 1 2 3; do
	"$T/bin/ffmpeg" -hide_banner -version >"$T/out" || fail "job $i failed"
	cmp -s "$T/out" <(ffmpeg -hide_banner -version) || fail "job $i output differs"
done
grep -q "runs on worker02" "$T/client.log" && fail "a job ran on the wrong-key worker"
kill -0 "$PID_coordinator" || fail "the coordinator died"
pass
