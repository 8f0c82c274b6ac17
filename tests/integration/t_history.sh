#!/bin/bash
# The coordinator's view stays right (design §6.3, §9, §10): a job that
# ends while the coordinator is down is recorded `completed` (the worker's
# report wins over reconciliation); another connection holding the
# database's write lock does not delay dispatch; two worker processes
# claiming one identity are an error on both sides and the first keeps
# its jobs.
. "$(dirname "$0")/lib.sh"
cluster_up

# 1. A job that ends while the coordinator is down.
"$T/bin/ffmpeg" -hide_banner -nostats -re -f lavfi -i testsrc=size=64x64:rate=10 \
    -t 3 -f null -y "$T/media/down.null" >"$T/down.out" 2>"$T/down.err" &
P=$!
wait_for 10 remote_running "down.null" || fail "the job did not start"
kill -TERM "$PID_coordinator"
wait_for 10 eval '! kill -0 $PID_coordinator' || fail "the coordinator did not stop"
wait $P; rc=$?
[ $rc = 0 ] || fail "the job exited $rc while the coordinator was down: $(tail -n 2 "$T/down.err")"
[ "$(q "select state from jobs where args like '%down.null%'")" = running ] ||
    fail "the job is not running in the store: the test is void"
coordinator_up
wait_for 20 eval '[ "$(q "select state from jobs where args like '"'%down.null%'"'")" != running ]' ||
    fail "the job stayed running after the restart"
st=$(q "select state || ' ' || coalesce(reason, '') from jobs where args like '%down.null%'")
[ "${st%% *}" = completed ] || fail "a job that exited 0 while the coordinator was down is recorded: $st"
echo "     ended while the coordinator was down: $st"

# 2. Another connection holds the write lock while jobs are dispatched.
wait_for 10 eval '[ $(grep -c "worker worker01: .* -> online" "$T/coordinator.log") -ge 1 ]' ||
    fail "worker01 did not re-register"
mkfifo "$T/lock.fifo"
sqlite3 "$T/coordinator.db" <"$T/lock.fifo" >"$T/lock.log" 2>&1 &
L=$!
exec 7>"$T/lock.fifo"
echo "BEGIN IMMEDIATE; UPDATE workers SET last_seen = last_seen;" >&7
sleep 0.5
t0=$(ms)
for i in 1 2 3; do
	"$T/bin/ffmpeg" "${VJOB[@]}" >"$T/lock$i.out" 2>&1 ||
	    fail "a job failed while the database was locked"
done
took=$(( $(ms) - t0 ))
echo "COMMIT;" >&7
exec 7>&-
wait $L
echo "     3 jobs with the database locked: $took ms"
[ $took -lt 3000 ] || fail "3 jobs took $took ms with the database locked"
grep -q "the database is locked by another connection" "$T/coordinator.log" ||
    fail "the coordinator did not notice the lock (the test is void)"
wait_for 5 eval '[ $(q "select count(*) from jobs where state = '"'completed'"' and args like '"'%-version%'"'") = 3 ]' ||
    fail "the jobs run under the lock were not recorded: $(q "select state from jobs")"

# 3. A second process with worker01's identity.
cp "$T/worker01.yaml" "$T/worker01b.yaml"
spawn worker01b "$DFFMPEG" worker -d -c "$T/worker01b.yaml"
wait_for 15 grep -q "two processes claim worker identity 'worker01'" "$T/coordinator.log" ||
    fail "the coordinator did not report two processes with one identity"
wait_for 15 grep -q "another process is worker 'worker01'" "$T/worker01b.log" ||
    fail "the second worker did not report the conflict: $(tail -n 3 "$T/worker01b.log")"
grep -q "another process is worker 'worker01' (session" "$T/worker01.log" ||
    fail "the first worker did not report the conflict: $(tail -n 3 "$T/worker01.log")"
"$T/bin/ffmpeg" "${VJOB[@]}" >"$T/dup.out" 2>&1 || fail "a job failed during the conflict"
kill -TERM "$PID_worker01b"
flaps=$(grep -c "worker worker01 registered (session" "$T/coordinator.log")
[ "$flaps" -le 3 ] || fail "worker01 flapped between sessions $flaps times"
pass
