#!/bin/bash
# make bench, the coordinator's part (design.md §12): a real `dffmpeg
# coordinator` on a private mosquitto (tests/integration/lib.sh) under the
# load of bench/loadgen's simulated workers and clients, then failure
# detection on a real cluster (worker01, the proxy, real ffmpeg).
#
#   1. dispatch latency: RATE submits/s (500) for SECS s (10) from 20
#      simulated clients to 20 simulated workers; p50/p99 from the client
#      sending `submit` to the worker receiving `assign`.
#  1b. the same for HOLD + 5 s with every job running HOLD s (10) before
#      it finishes: p99 and CPU per job with thousands of unfinished jobs.
#   2. dispatch throughput: COUNT jobs (10,000) as fast as they are
#      answered, 256 unanswered at most; jobs/s from the first submit to
#      the last assign.  Also the coordinator's CPU time per job (the
#      figure that does not depend on how the cores are shared with the
#      broker and the load generator) and its RSS afterwards.
#   3. HB_WORKERS simulated workers (1,000) heartbeating every 5 s: the
#      coordinator's CPU (utime + stime, /proc/PID/stat) over HB_SECS s
#      (20) once all are registered, its VmRSS and VmHWM.
#   4. failure detection: SIGKILL the worker of a running job (time to
#      the job's `failed` transition as recorded in the database, to the
#      proxy's exit, to its ffmpeg's death); SIGKILL a proxy (time to its
#      remote ffmpeg's death, to the job's `canceled` transition).
# 1 to 3 each get a fresh coordinator process (same database).
#
# Prints a table; exits 0 on a MISS (a measurement, not a test) and 1 when
# something is broken (loadgen failed, jobs lost, a fault not handled).
# Environment: LOADGEN (built with make if unset), RATE, SECS, HOLD, COUNT,
# HB_WORKERS, HB_SECS; TMPDIR=/dev/shm puts the database on tmpfs (what
# the disk costs is the difference).
. "$(dirname "$0")/../tests/integration/lib.sh"
. "$(dirname "$0")/common.sh"

# The simulated clients submit far beyond a client's default limits: the
# bench measures the coordinator, not the limits.
COORD_EXTRA="limits: {running: 0, queued: 0, submits_per_minute: 0}"
RATE=${RATE:-500}
SECS=${SECS:-10}
COUNT=${COUNT:-10000}
HB_WORKERS=${HB_WORKERS:-1000}
HB_SECS=${HB_SECS:-20}
HOLD=${HOLD:-10}

if [ -z "${LOADGEN:-}" ]; then
	root=$(cd "$(dirname "$0")/.." && pwd)
	make -s -C "$root" build/default/bench/loadgen >&2 ||
	    fail "cannot build bench/loadgen"
	LOADGEN=$root/build/default/bench/loadgen
fi
# A thousand connections for the broker and for loadgen.
ulimit -n "$(ulimit -Hn)" 2>/dev/null

HZ=$(getconf CLK_TCK)
cpu_ms() { awk -v hz="$HZ" '{ printf "%d\n", ($14 + $15) * 1000 / hz }' \
    "/proc/$1/stat" 2>/dev/null || echo 0; }
# runq_ms PID: how long it was runnable but not running (a busy machine).
runq_ms() { awk '{ printf "%d\n", $2 / 1e6 }' "/proc/$1/schedstat" 2>/dev/null ||
    echo 0; }
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
# now: wall-clock ms in $NOW, without a fork (the database's clock too).
now() { NOW=${EPOCHREALTIME/[.,]/}; NOW=$((NOW / 1000)); }
gone() { ! kill -0 "$1" 2>/dev/null; }
# dead PID: gone, or a zombie nobody reaped yet.
dead() { [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = "" ] ||
    [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
kv() { tr ' ' '\n' <"$1" | sed -n "s/^$2=//p" | tail -n 1; }

ROWS=""
MISS=0
# row WHAT VALUE TARGET VERDICT
row() { ROWS="$ROWS$(printf '%-46s %14s %12s  %s' "$@")
"; [ "$4" = MISS ] && MISS=$((MISS + 1)); return 0; }

NCOORD=0
# coord_fresh: (re)start the coordinator; the old one's log is kept aside.
coord_fresh() {
	if [ -n "${PID_coordinator:-}" ]; then
		kill -TERM "$PID_coordinator" 2>/dev/null
		wait_for 10 gone "$PID_coordinator" ||
		    fail "the coordinator did not stop"
		NCOORD=$((NCOORD + 1))
		mv "$T/coordinator.log" "$T/coordinator-$NCOORD.log"
	fi
	coordinator_up
	wait_for 10 grep -q "mqtt: connected" "$T/coordinator.log" ||
	    fail "the coordinator did not connect: $(tail -n 3 "$T/coordinator.log")"
}

# lg NAME ARGS...: loadgen in the background, its stdout in $T/NAME.out.
lg() {
	local lgname=$1; shift
	"$LOADGEN" "$@" -c "$T/coordinator.yaml" >"$T/$lgname.out" \
	    2>"$T/$lgname.log" &
	LG=$!
	PIDS="$PIDS $LG"
}
has() { grep -q "^$1 " "$2"; }
# lg_wait NAME WHAT SECONDS: until loadgen NAME printed its WHAT line.
lg_wait() {
	wait_for "$3" has "$2" "$T/$1.out" && return 0
	gone "$LG" && wait "$LG"
	fail "loadgen $1: no '$2' line: $(tail -n 3 "$T/$1.log")"
}
# lg_end NAME: loadgen printed its result; wait for it to exit.
lg_end() {
	wait "$LG" || fail "loadgen $1 exited $?: $(tail -n 3 "$T/$1.log")"
}

# dispatch NAME ARGS...: one dispatch run; the CPU ms the coordinator and
# the broker spent meanwhile in $CCPU and $BCPU, the ms the coordinator
# was runnable but waited for a CPU in $CWAIT.
dispatch() {
	local run=$1 f c0 c1 b0 b1 w0 w1 sub asg; shift
	coord_fresh
	lg "$run" dispatch --workers 20 --clients 20 "$@"
	lg_wait "$run" ready 60
	c0=$(cpu_ms "$PID_coordinator"); b0=$(cpu_ms "$PID_mosquitto")
	w0=$(runq_ms "$PID_coordinator")
	lg_wait "$run" result 120
	c1=$(cpu_ms "$PID_coordinator"); b1=$(cpu_ms "$PID_mosquitto")
	w1=$(runq_ms "$PID_coordinator")
	CCPU=$((c1 - c0)); BCPU=$((b1 - b0)); CWAIT=$((w1 - w0))
	lg_end "$run"
	f=$T/$run.out
	sub=$(kv "$f" submitted); asg=$(kv "$f" assigned)
	[ "$sub" -gt 0 ] && [ "$asg" = "$sub" ] && [ "$(kv "$f" accepted)" = "$sub" ] &&
	    [ "$(kv "$f" finished)" = "$sub" ] && [ "$(kv "$f" bad_keys)" = 0 ] ||
	    fail "$run: jobs lost or refused: $(grep '^result' "$f")" \
	    "$(tail -n 3 "$T/$run.log")"
}

echo "bench: coordinator under load, in $T"
broker_up

# 1. Latency at a fixed rate.
echo "bench: dispatch at $RATE jobs/s for $SECS s"
dispatch lat --rate "$RATE" --duration "$SECS"
f=$T/lat.out
p50=$(kv "$f" assign_p50_ms); p99=$(kv "$f" assign_p99_ms)
row "submit->assign p50 at $RATE jobs/s" "$(fmt "$p50" '%.2f ms')" "-" "-"
row "submit->assign p99 at $RATE jobs/s" "$(fmt "$p99" '%.2f ms')" "<= 5 ms" \
    "$(verdict "$p99" '<=' 5)"
row "submit->accepted p99 at $RATE jobs/s" \
    "$(fmt "$(kv "$f" accept_p99_ms)" '%.2f ms')" "-" "-"
row "submit->assign max at $RATE jobs/s" \
    "$(fmt "$(kv "$f" assign_max_ms)" '%.2f ms')" "-" "-"
row "coordinator CPU at $RATE jobs/s (per job)" "$(awk -v c="$CCPU" \
    -v s="$(kv "$f" span_ms)" -v n="$(kv "$f" assigned)" 'BEGIN {
	printf "%.0f %% (%.0f us)", (s > 0 ? 100 * c / s : 0), c * 1000 / n }')" \
    "-" "-"
LAT_LINE=$(grep '^result' "$f")

# 1b. The same with every job held running for HOLD s: the coordinator
# carries RATE * HOLD unfinished jobs (its lists of jobs grow).
echo "bench: dispatch at $RATE jobs/s for $((HOLD + 5)) s, jobs running $HOLD s"
dispatch hold --rate "$RATE" --duration $((HOLD + 5)) --hold $((HOLD * 1000))
f=$T/hold.out
row "submit->assign p99, up to $((RATE * HOLD)) running" \
    "$(fmt "$(kv "$f" assign_p99_ms)" '%.2f ms')" "-" "-"
row "coordinator CPU/job, up to $((RATE * HOLD)) running" \
    "$(awk -v c="$CCPU" -v n="$(kv "$f" assigned)" 'BEGIN { printf "%.0f us", c * 1000 / n }')" \
    "-" "-"
HOLD_LINE=$(grep '^result' "$f")

# 2. Throughput.
echo "bench: dispatch of $COUNT jobs as fast as possible"
dispatch tput --count "$COUNT" --window 256 --duration 30
f=$T/tput.out
jps=$(kv "$f" jobs_per_s)
row "dispatch throughput, $COUNT jobs" "$(fmt "$jps" '%.0f jobs/s')" \
    ">= 2000/s" "$(verdict "$jps" '>=' 2000)"
n=$(kv "$f" assigned)
us() { awk -v c="$1" -v n="$n" 'BEGIN { printf "%.0f", c * 1000 / n }'; }
cu=$(us "$CCPU")
row "CPU/job: coordinator, broker, loadgen" \
    "$cu/$(us "$BCPU")/$(us "$(kv "$f" loadgen_cpu_ms)") us" "-" "-"
row "coordinator waited for a CPU (of the span)" \
    "$CWAIT/$(kv "$f" span_ms) ms" "-" "-"
row "coordinator alone: 1 core / CPU per job" \
    "$((1000000 / (cu > 0 ? cu : 1))) jobs/s" "(>= 2000/s)" "-"
row "submit->assign p99 at full load" "$(fmt "$(kv "$f" assign_p99_ms)" '%.1f ms')" "-" "-"
row "coordinator RSS after $COUNT jobs (peak)" \
    "$(mib "$(status_kib "$PID_coordinator" VmRSS)") ($(mib "$(status_kib "$PID_coordinator" VmHWM)"))" \
    "-" "-"
TPUT_LINE=$(grep '^result' "$f")

# 3. A thousand workers heartbeating.
echo "bench: $HB_WORKERS workers heartbeating, $HB_SECS s"
coord_fresh
lg hb heartbeat --workers "$HB_WORKERS" --duration $((HB_SECS + 5))
lg_wait hb ready 90
sleep 2
now; t0=$NOW; c0=$(cpu_ms "$PID_coordinator")
sleep "$HB_SECS"
now; t1=$NOW; c1=$(cpu_ms "$PID_coordinator")
rss=$(status_kib "$PID_coordinator" VmRSS)
hwm=$(status_kib "$PID_coordinator" VmHWM)
lg_wait hb result 30
lg_end hb
f=$T/hb.out
[ "$(kv "$f" registered)" = "$HB_WORKERS" ] && [ "$(kv "$f" reregisters)" = 0 ] ||
    fail "heartbeat: $(grep '^result' "$f")"
acks=$(kv "$f" acks); beats=$(kv "$f" beats)
[ "$acks" -ge $((beats * 99 / 100)) ] || fail "heartbeat: $beats sent, $acks acked"
pct=$(awk -v c=$((c1 - c0)) -v t=$((t1 - t0)) 'BEGIN { printf "%.2f", 100 * c / t }')
row "coordinator CPU, $HB_WORKERS workers" "$pct %" "<= 5 %" \
    "$(verdict "$pct" '<=' 5)"
row "coordinator RSS, $HB_WORKERS workers" "$(mib "$rss")" "<= 32 MiB" \
    "$(verdict "$rss" '<=' 32768)"
row "coordinator peak RSS (VmHWM)" "$(mib "$hwm")" "<= 32 MiB" \
    "$(verdict "$hwm" '<=' 32768)"
row "heartbeat->ack p99, $HB_WORKERS workers" \
    "$(fmt "$(kv "$f" ack_p99_ms)" '%.2f ms')" "-" "-"
row "registration of $HB_WORKERS workers" \
    "$(grep '^ready' "$f" | tr ' ' '\n' | sed -n 's/^ms=//p') ms" "-" "-"
HB_LINE=$(grep '^result' "$f")

# 4. Failure detection on a real cluster.
echo "bench: failure detection"
coord_fresh
client_config
sed -i 's/^log_level: debug$/log_level: info/' "$T/client.yaml"
worker_up worker01
wait_for 10 registered worker01 || fail "worker01 did not register"
PROXY=$T/bin/ffmpeg
LONG="-v error -nostats -re -f lavfi -i testsrc=size=160x120:rate=25 -t 60 -f null -"
running() { [ -n "$(q "select id from jobs where state = 'running' and args like '%$1%'")" ]; }
child() { pgrep -P "$1" -f -- "$2" >/dev/null; }
# trans JOB STATE: the database's time of the job's move to STATE.
trans() { q "select ts from job_transitions where job = '$1' and to_state = '$2'"; }

# 4a. The worker dies.
tag=${T##*/}-wkill	# a name, not a path: jobs are confined
( "$PROXY" $LONG -metadata "title=$tag" >/dev/null 2>"$T/wkill.err"
  rc=$?; now; echo "$rc $NOW" >"$T/wkill.done" ) &
PIDS="$PIDS $!"
wait_for 10 running "$tag" || fail "worker kill: the job did not start"
wait_for 5 child "$PID_worker01" "$tag" || fail "worker kill: no ffmpeg on worker01"
ff=$(pgrep -P "$PID_worker01" -f -- "$tag")
job=$(q "select id from jobs where args like '%$tag%'")
now; t0=$NOW
kill -KILL "$PID_worker01"
t_ff=""; t_st=""; t_px=""
for i in $(seq 1000); do
	now
	[ -z "$t_ff" ] && dead "$ff" && t_ff=$NOW
	[ -z "$t_px" ] && [ -f "$T/wkill.done" ] && t_px=$(cut -d' ' -f2 "$T/wkill.done")
	[ -z "$t_st" ] && [ "$(q "select state from jobs where id = '$job'")" = failed ] && t_st=$NOW
	[ -n "$t_ff" ] && [ -n "$t_px" ] && [ -n "$t_st" ] && break
	sleep 0.01
done
[ -n "$t_st" ] || fail "worker kill: job state $(q "select state from jobs where id = '$job'")"
[ -n "$t_px" ] || fail "worker kill: the proxy did not exit"
[ -n "$t_ff" ] || fail "worker kill: ffmpeg $ff outlived its worker"
[ "$(cut -d' ' -f1 "$T/wkill.done")" = 1 ] && grep -q '^dffmpeg: ' "$T/wkill.err" ||
    fail "worker kill: proxy exit $(cut -d' ' -f1 "$T/wkill.done"): $(cat "$T/wkill.err")"
ms=$(( $(trans "$job" failed) - t0 ))
row "worker SIGKILL -> job failed (db)" "$ms ms" "<= 1000 ms" "$(verdict "$ms" '<=' 1000)"
ms=$((t_px - t0))
row "worker SIGKILL -> proxy exit 1" "$ms ms" "<= 1000 ms" "$(verdict "$ms" '<=' 1000)"
ms=$((t_ff - t0))
row "worker SIGKILL -> its ffmpeg gone" "$ms ms" "<= 1000 ms" "$(verdict "$ms" '<=' 1000)"

# 4b. The proxy dies.
n=$(grep -c "worker worker01 registered" "$T/coordinator.log")
worker_up worker01
wait_for 10 eval '[ $(grep -c "worker worker01 registered" "$T/coordinator.log") -gt $n ]' ||
    fail "worker01 did not come back"
tag=${T##*/}-pkill
"$PROXY" $LONG -metadata "title=$tag" >/dev/null 2>"$T/pkill.err" &
px=$!
PIDS="$PIDS $px"
disown $px	# no job-control chatter when it is killed
wait_for 10 running "$tag" || fail "proxy kill: the job did not start"
wait_for 5 child "$PID_worker01" "$tag" || fail "proxy kill: no ffmpeg on worker01"
ff=$(pgrep -P "$PID_worker01" -f -- "$tag")
job=$(q "select id from jobs where args like '%$tag%'")
now; t0=$NOW
kill -KILL "$px"
t_ff=""
for i in $(seq 500); do
	now
	dead "$ff" && { t_ff=$NOW; break; }
	sleep 0.01
done
[ -n "$t_ff" ] || fail "proxy kill: remote ffmpeg $ff still runs after 5 s"
wait_for 5 eval '[ -n "$(trans "$job" canceled)" ]' ||
    fail "proxy kill: job state $(q "select state from jobs where id = '$job'")"
ms=$((t_ff - t0))
row "proxy SIGKILL -> remote ffmpeg gone" "$ms ms" "<= 1000 ms" "$(verdict "$ms" '<=' 1000)"
ms=$(( $(trans "$job" canceled) - t0 ))
row "proxy SIGKILL -> job canceled (db)" "$ms ms" "<= 1000 ms" "$(verdict "$ms" '<=' 1000)"

echo
printf '%-46s %14s %12s\n' "coordinator (simulated load)" value target
printf '%s' "$ROWS"
echo
echo "loadgen:"
echo "  $LAT_LINE"
echo "  $HOLD_LINE"
echo "  $TPUT_LINE"
echo "  $HB_LINE"
echo
echo "$MISS coordinator target(s) missed (a measurement: exit 0 all the same)."
exit 0
