#!/bin/bash
# Presence as it fails in the field (design §3.2, §6.3): a worker stopped
# past its keepalive and continued (its will fires once), then SIGKILLed
# (the second will is honoured: client exit 1 within a second); a host
# that hangs with its socket open (the job fails after worker_timeout and
# the remote ffmpeg is gone once the host wakes); a captured will replayed
# and connections with the identities' names as client ids during a job
# (the job is unaffected).
. "$(dirname "$0")/lib.sh"
command -v mosquitto_sub >/dev/null || fail "mosquitto_sub is missing (package mosquitto-clients)"

cluster_up
# worker01 with a 5 s keepalive: the broker gives up on it after 7.5 s.
kill -TERM "$PID_worker01"
wait_for 10 eval '! kill -0 $PID_worker01' || fail "worker01 did not stop"
sed -i "s|^mqtt: .*|mqtt: {host: 127.0.0.1, port: $PORT, keepalive: 5}|" "$T/worker01.yaml"
spawn worker01 "$DFFMPEG" worker -d -c "$T/worker01.yaml"
wait_for 10 eval '[ $(grep -c "worker worker01 registered" "$T/coordinator.log") -ge 2 ]' \
    || fail "worker01 did not come back"
grep -Eq "connected to .* as worker01-[A-Za-z0-9_-]{22} " "$T/worker01.log" ||
    fail "the worker's client id is not its identity plus a random part"

# Every message on worker01's uplink, one line of hex each.
spawn sniff mosquitto_sub -h 127.0.0.1 -p "$PORT" -t "dffmpeg/coord/worker01" -F '%x'
# captured_will: the sniffer has seen a will (kept in $T/will1.bin).
captured_will() {
	python3 - "$T/sniff.log" "$T/will1.bin" <<'EOF'
import sys
for l in open(sys.argv[1]):
    b = bytes.fromhex(l.strip())
    if b'"gone"' in b:
        open(sys.argv[2], "wb").write(b)
        sys.exit(0)
sys.exit(1)
EOF
}
long_job() {	# NAME SECONDS: a job that runs that long and writes nothing
	"$T/bin/ffmpeg" -hide_banner -nostats -re -f lavfi \
	    -i testsrc=size=64x64:rate=10 -t "$2" -f null -y "$T/media/$1.null" \
	    >"$T/$1.out" 2>"$T/$1.err"
}

# 1. Stopped past the keepalive: lost, its will fires, it comes back.
kill -STOP "$PID_worker01"
wait_for 15 grep -Eq "worker worker01: (online|stale) -> lost" "$T/coordinator.log" ||
    fail "a silent worker01 was not declared lost"
wait_for 15 captured_will || fail "the broker did not publish worker01's will"
kill -CONT "$PID_worker01"
wait_for 15 eval '[ $(grep -c "worker worker01: lost -> online" "$T/coordinator.log") -ge 1 ]' ||
    fail "worker01 did not come back after SIGCONT: $(grep worker01 "$T/coordinator.log" | tail -n 3)"

# 2. A replayed will and the identities' names as client ids, during a
# job: nothing happens to the job.
long_job replay 4 & P=$!
wait_for 10 remote_running "replay.null" || fail "the job did not start"
mosquitto_pub -h 127.0.0.1 -p "$PORT" -q 1 -t dffmpeg/coord/worker01 -f "$T/will1.bin" ||
    fail "cannot replay the will"
for id in worker01 dffmpeg-coord coordinator; do
	timeout 1 mosquitto_sub -h 127.0.0.1 -p "$PORT" -i "$id" -t x/y >/dev/null 2>&1
done
wait $P; rc=$?
[ $rc = 0 ] || fail "the job exited $rc after a replayed will: $(tail -n 2 "$T/replay.err")"
[ $(grep -c "ignored a will of worker worker01 (connection 1)" "$T/coordinator.log") -ge 2 ] ||
    fail "the replayed will was not seen and ignored"
wait_for 5 eval '[ "$(q "select state from jobs where args like '"'%replay.null%'"'")" = completed ]' ||
    fail "job state: $(q "select state, reason from jobs where args like '%replay.null%'")"
echo "     a replayed will and stolen client ids: job completed"

# 3. The second will of the process (a new connection): SIGKILL reaches
# the client within a second.
long_job second 30 & P=$!
wait_for 10 remote_running "second.null" || fail "the job did not start"
worker_fault KILL worker01 $P "$T/second.err" 1500
echo "     worker SIGKILL after a will already fired -> client exit: $FAULT_MS ms"
wait_for 2 eval '! remote_running "second.null"' || fail "ffmpeg outlived its worker"

# 4. A host that hangs (SIGSTOP: the socket stays open, no will until the
# keepalive): the job fails after worker_timeout; once the host wakes up,
# its ffmpeg is killed.
worker_up worker01
wait_for 10 eval '[ $(grep -c "worker worker01 registered" "$T/coordinator.log") -ge 3 ]' \
    || fail "worker01 did not come back after SIGKILL"
long_job hang 60 & P=$!
wait_for 10 remote_running "hang.null" || fail "the job did not start"
worker_fault STOP worker01 $P "$T/hang.err" 9000
echo "     worker host hang -> client exit: $FAULT_MS ms"
remote_running "hang.null" || fail "the hung worker's ffmpeg died early (the test is void)"
kill -CONT "$PID_worker01"
woke=$(date +%s%N)
wait_for 10 eval '! remote_running "hang.null"' || fail "the remote ffmpeg lives on after the worker woke up"
echo "     worker woke up -> its ffmpeg gone: $(( ($(date +%s%N) - woke) / 1000000 )) ms"
[ "$(q "select state from jobs where args like '%hang.null%'")" = failed ] ||
    fail "job state: $(q "select state, reason from jobs where args like '%hang.null%'")"
pass
