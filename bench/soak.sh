#!/bin/bash
# make bench, the soak (design.md §6.3, §12): JOBS (300) short real jobs
# through the proxy link, PAR (8) at a time, over two workers, with two
# faults during the run:
#
#   - after a third of the jobs, worker01 is SIGKILLed, and started again
#     once the coordinator found it gone;
#   - after two thirds, the broker is stopped with SIGTERM and started again
#     on the same port as soon as it exited (what `systemctl restart
#     mosquitto` does).
#
# Each job is 1 s of 160x120 testsrc read at its native rate (-re), to the
# null muxer or (every other job) encoded to a file under the media dir;
# each runs under `timeout` with a LIMIT (60 s): one still running then is
# hung and killed.  Afterwards the cluster gets SETTLE s (10) to end what
# the store still holds.
#
# A failure is explained when a local ffmpeg could not have avoided it:
# the job ran on the worker that was killed, it ended within 10 s of the
# kill, and the coordinator's reason says the worker went away or the
# proxy's `dffmpeg:` line names the worker.  Every other failure is
# unexplained.  Also counted as problems: an exit 0 without its output
# file, a remote ffmpeg still running at the end.
#
# Prints a table; exits 1 when a job hung, a job was left non-terminal in
# the store, or a failure (or problem) is unexplained.  KEEP=1 keeps the
# temporary directory (logs, database, each job's stderr in soak/).
# Environment: DFFMPEG (the binary), JOBS, PAR, LIMIT, SETTLE.
#
# Runnable alone: DFFMPEG=$PWD/dffmpeg bench/soak.sh
# spawn (lib.sh) sets PID_<name> through eval; functions called through
# traps and wait_for look unreachable.
# shellcheck source-path=SCRIPTDIR disable=SC2154,SC2317
. "$(dirname "$0")/../tests/integration/lib.sh"
. "$(dirname "$0")/common.sh"

JOBS=${JOBS:-300}
PAR=${PAR:-8}
LIMIT=${LIMIT:-60}
SETTLE=${SETTLE:-10}
command -v ffmpeg >/dev/null || fail "no ffmpeg in PATH"
command -v sqlite3 >/dev/null || fail "no sqlite3 in PATH"

# The job runners (subshells) still running, by pid; lib.sh's cleanup
# kills the cluster and, by the name of $T in their arguments, the
# proxies, their `timeout` and the remote ffmpeg processes.
declare -A RUN=()
soak_cleanup() {
	local rc=$? p
	for p in "${!RUN[@]}"; do kill -TERM "$p" 2>/dev/null; done
	(exit "$rc")
	cleanup
}
trap soak_cleanup EXIT

# now: wall-clock ms in $NOW, without a fork (the database's clock too).
now() { NOW=${EPOCHREALTIME/[.,]/}; NOW=$((NOW / 1000)); }
# dead PID: gone, or a zombie nobody reaped yet.
dead() {
	local s
	s=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)
	[ -z "$s" ] || [ "$s" = Z ]
}
nreg() { grep -c "worker $1 registered" "$T/coordinator.log"; }
# wtrans WORKER STATE AFTER: the database's time of WORKER's first move
# to STATE at or after AFTER (ms).
wtrans() {
	q "select min(ts) from worker_transitions where worker = '$1' and
	    to_state = '$2' and ts >= $3"
}
left() {
	q "select count(*) from jobs where state not in
	    ('completed', 'failed', 'canceled')"
}

D=$T/soak
mkdir -p "$D"
echo "bench: soak, $JOBS jobs, $PAR at a time, two workers, in $T"
cluster_up "" ""
# The proxies' shared log at info: debug lines per frame would be noise.
sed -i 's/^log_level: debug$/log_level: info/' "$T/client.yaml"
PROXY=$T/bin/ffmpeg
SRC="-hide_banner -loglevel error -nostdin -re -f lavfi
    -i testsrc=duration=1:size=160x120:rate=25"

# run_job I: job I under its time limit; "rc start_ms end_ms" in $D/I.rc.
# The title names $T (for the cleanup) and the job (for the database).
run_job() {
	local i=$1 t0 rc
	local -a out
	if [ $((i % 2)) = 0 ]; then
		out=(-f null -)
	else
		out=(-c:v mpeg4 -q:v 5 -f matroska -y "$T/media/soak-$i.mkv")
	fi
	now; t0=$NOW
	# shellcheck disable=SC2086 # SRC is a list of words
	timeout -k 5 "$LIMIT" "$PROXY" $SRC -metadata "title=${T##*/}-soak-$i-" \
	    "${out[@]}" </dev/null >"$D/$i.out" 2>"$D/$i.err"
	rc=$?
	now
	echo "$rc $t0 $NOW" >"$D/$i.rc"
}

# The faults, driven by the number of jobs done.
K_AT=$((JOBS / 3)); B_AT=$((2 * JOBS / 3))
KSTATE=0	# 0 before, 1 killed, 2 restarted, 3 back
T_KILL=0; T_WUP=0; T_WBACK=0; K_RUNNING=0; NREG0=0
T_BSTOP=0; T_BUP=0

fault_worker() {
	now
	case $KSTATE in
	0)
		[ "$DONE" -ge "$K_AT" ] || return 0
		K_RUNNING=$(pgrep -c -P "$PID_worker01" -f -- "-soak-")
		NREG0=$(nreg worker01)
		echo "bench: $DONE jobs done: SIGKILL worker01" \
		    "($K_RUNNING jobs running on it)"
		now; T_KILL=$NOW
		kill -KILL "$PID_worker01"
		KSTATE=1 ;;
	1)
		# Started again once the coordinator found it gone (or 5 s on).
		[ -n "$(wtrans worker01 lost "$T_KILL")$(wtrans worker01 offline "$T_KILL")" ] ||
		    [ $((NOW - T_KILL)) -ge 5000 ] || return 0
		dead "$PID_worker01" || return 0
		T_WUP=$NOW
		worker_up worker01
		KSTATE=2 ;;
	2)
		[ "$(nreg worker01)" -gt "$NREG0" ] || return 0
		T_WBACK=$NOW
		echo "bench: worker01 registered again ($((T_WBACK - T_WUP)) ms" \
		    "after its start)"
		KSTATE=3 ;;
	esac
}

fault_broker() {
	[ "$T_BSTOP" = 0 ] && [ "$DONE" -ge "$B_AT" ] || return 0
	echo "bench: $DONE jobs done: broker SIGTERM and restart"
	now; T_BSTOP=$NOW
	kill -TERM "$PID_mosquitto"
	wait_for 10 dead "$PID_mosquitto" || fail "mosquitto ignored SIGTERM"
	spawn mosquitto "$MOSQUITTO" -c "$T/mosquitto.conf"
	wait_for 5 port_open "$PORT" ||
	    fail "mosquitto did not restart: $(tail -n 2 "$T/mosquitto.log")"
	now; T_BUP=$NOW
}

now; T0=$NOW
NEXT=1; DONE=0
while [ "$DONE" -lt "$JOBS" ]; do
	while [ "$NEXT" -le "$JOBS" ] && [ "${#RUN[@]}" -lt "$PAR" ]; do
		run_job "$NEXT" &
		RUN[$!]=$NEXT
		NEXT=$((NEXT + 1))
	done
	fin=""
	wait -n -p fin
	if [ -n "$fin" ] && [ -n "${RUN[$fin]:-}" ]; then
		unset "RUN[$fin]"
		DONE=$((DONE + 1))
	elif [ -z "$fin" ]; then
		# Nothing left to wait for: whatever is gone is done.
		for p in "${!RUN[@]}"; do
			kill -0 "$p" 2>/dev/null && continue
			unset "RUN[$p]"
			DONE=$((DONE + 1))
		done
		sleep 0.05
	fi
	fault_worker
	fault_broker
done
now; T_END=$NOW
[ "$KSTATE" = 3 ] || fail "worker01 did not come back after its SIGKILL" \
    "(state $KSTATE): $(tail -n 3 "$T/worker01.log")"

echo "bench: all $JOBS jobs ended; $SETTLE s for the store to settle"
no_left() { [ "$(left)" = 0 ]; }
wait_for "$SETTLE" no_left
sleep 1
LEFT=$(left)
ORPHANS=$(pgrep -c -f "^ff(mpeg|probe) .*${T##*/}-soak-")

# Classify every job.
OK=0; FAILED=0; HUNG=0; UNEXPL=0; NOOUT=0
: >"$D/proxy.lines"; : >"$D/explained"; : >"$D/unexplained"; : >"$D/hung"
for i in $(seq "$JOBS"); do
	{ read -r rc t0 t1 <"$D/$i.rc"; } 2>/dev/null || { rc=255; t0=0; t1=0; }
	rows=$(q "select id || ' ' || state || ' ' || worker || ' ' ||
	    coalesce(reason, '') from jobs where args like '%-soak-$i-%'")
	line=$(grep '^dffmpeg: ' "$D/$i.err" | tail -n 1)
	desc="job $i (exit $rc, $((t0 - T0))..$((t1 - T0)) ms): store: ${rows:-no row};"
	desc="$desc stderr: $(tail -n 2 "$D/$i.err" | tr '\n' ' ')"
	case $rc in
	0)
		OK=$((OK + 1))
		if [ $((i % 2)) = 1 ] && [ ! -s "$T/media/soak-$i.mkv" ]; then
			NOOUT=$((NOOUT + 1))
			echo "no output file: $desc" >>"$D/unexplained"
		fi ;;
	124 | 137)
		HUNG=$((HUNG + 1))
		echo "$desc" >>"$D/hung" ;;
	*)
		FAILED=$((FAILED + 1))
		[ -n "$line" ] && echo "$line" >>"$D/proxy.lines"
		why=""
		if [ "$t1" -ge "$T_KILL" ] && [ "$t1" -le $((T_KILL + 10000)) ]; then
			if printf '%s\n' "$rows" |
			    grep -q -E '^[^ ]+ failed worker01 .*(went away|worker-lost)'; then
				why="the coordinator: worker01 went away"
			elif printf '%s\n' "$line" | grep -q -w worker01; then
				why="the proxy: worker01"
			fi
		fi
		if [ -n "$why" ]; then
			echo "$why" >>"$D/explained"
		else
			UNEXPL=$((UNEXPL + 1))
			echo "$desc" >>"$D/unexplained"
		fi ;;
	esac
done

ROWS=""
BAD=0
# row WHAT VALUE TARGET VERDICT
row() { ROWS="$ROWS$(printf '%-46s %14s %12s  %s' "$@")
"; [ "$4" = FAIL ] && BAD=$((BAD + 1)); return 0; }
zero() { [ "$1" = 0 ] && echo ok || echo FAIL; }
row "soak: jobs completed (exit 0)" "$OK/$JOBS" "-" "-"
row "soak: jobs failed (non-zero exit)" "$FAILED" "-" "-"
row "soak: failures explained (worker killed)" "$((FAILED - UNEXPL))" \
    "(<= $K_RUNNING)" "-"
row "soak: failures unexplained" "$UNEXPL" "0" "$(zero "$UNEXPL")"
row "soak: exit 0 without its output file" "$NOOUT" "0" "$(zero "$NOOUT")"
row "soak: jobs hung (at the ${LIMIT} s limit)" "$HUNG" "0" "$(zero "$HUNG")"
row "soak: left non-terminal in the store" "$LEFT" "0" "$(zero "$LEFT")"
row "soak: remote ffmpeg still running" "$ORPHANS" "0" "$(zero "$ORPHANS")"
lost=$(wtrans worker01 lost "$T_KILL"); off=$(wtrans worker01 offline "$T_KILL")
gone_ts=${lost:-$off}
row "soak: worker SIGKILL -> found gone (db)" \
    "$([ -n "$gone_ts" ] && echo "$((gone_ts - T_KILL)) ms" || echo never)" "-" "-"
row "soak: worker restart -> registered" "$((T_WBACK - T_WUP)) ms" "-" "-"
row "soak: broker down (SIGTERM -> listening)" "$((T_BUP - T_BSTOP)) ms" "-" "-"
row "soak: wall time" "$(fmt $((T_END - T0)) '%d' | awk '{ printf "%.1f s", $1 / 1000 }')" \
    "(<= 180 s)" "-"

echo
printf '%-46s %14s %12s\n' "soak ($JOBS jobs, $PAR at a time)" value target
printf '%s' "$ROWS"
echo
# noid: job ids (22 characters of base64url) as <id>.
noid() { sed -E 's/(^|[^A-Za-z0-9_-])[A-Za-z0-9_-]{22}([^A-Za-z0-9_-]|$)/\1<id>\2/g'; }
echo "the proxies' dffmpeg: lines (job ids as <id>):"
noid <"$D/proxy.lines" | sort |
    uniq -c | sort -rn | sed 's/^/  /'
[ -s "$D/proxy.lines" ] || echo "  (none)"
echo "the store (state, reason, count):"
q "select state, coalesce(reason, ''), count(*) from jobs group by 1, 2" |
    noid | sed 's/^/  /'
if [ -s "$D/explained" ]; then
	echo "explained failures:"
	sort "$D/explained" | uniq -c | sed 's/^/  /'
fi
for f in hung unexplained; do
	[ -s "$D/$f" ] || continue
	echo "$f:"
	sed 's/^/  /' "$D/$f"
done
if [ "$BAD" -gt 0 ]; then
	echo "soak: $BAD problem(s): FAIL (KEEP=1 keeps $T)"
	exit 1
fi
echo "soak: ok"
exit 0
