#!/bin/bash
# make bench, the cost of job logs (design.md §12: < 5 % on the relay's
# throughput and on the coordinator's CPU).  One private cluster
# (tests/integration/lib.sh) with two workers, worker01 with `ship_logs:
# true` and worker02 with `ship_logs: false`; the other one is drained for
# each run, so that the same jobs alternate between the two:
#
#   1. the relay: 10 s of 1280x720 yuv420p to pipe:1 through the proxy
#      with a busy stderr (-v verbose -stats: a status line twice a second
#      and the stream details), counted and hashed by bench/rss; MB/s,
#      best of REPS runs, shipping on vs off, bytes identical.
#   2. the coordinator: LOGJOBS jobs at once, each writing its stderr as
#      with -loglevel debug while reading a 5 s clip in real time (-re);
#      the coordinator's time on a CPU (/proc/PID/schedstat) over the run,
#      as a share of one core, shipping on vs off.  The cost is the
#      difference.
#
# Prints a table; exits 0 on a MISS (a measurement) and 1 when something
# is broken (a failed run, different bytes, a log that is not kept).
# Environment: RSS (the bench/rss helper), REPS (default 3), LOGJOBS
# (default 4).
. "$(dirname "$0")/../tests/integration/lib.sh"
. "$(dirname "$0")/common.sh"

REPS=${REPS:-3}
LOGJOBS=${LOGJOBS:-4}
if [ -z "${RSS:-}" ]; then
	RSS=$T/rss
	${CC:-cc} -std=c11 -O2 -D_GNU_SOURCE -o "$RSS" "$(dirname "$0")/rss.c" \
	    || fail "cannot build bench/rss.c"
fi
# cpu_us PID: its time on a CPU so far (schedstat: ns, not ticks).
cpu_us() { local a; read -r a _ <"/proc/$1/schedstat" 2>/dev/null &&
    echo $((a / 1000)) || echo 0; }
kv() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

echo "bench: job logs, starting a private cluster in $T"
cluster_up "ship_logs: true" "ship_logs: false"
sed -i 's/^log_level: debug$/log_level: info/' "$T/client.yaml"
PROXY=$T/bin/ffmpeg
make_clip "$T/media/clip.mkv" 5

A() { "$DFFMPEG" admin -c "$T/coordinator.yaml" "$@" >/dev/null || fail "admin $*"; }
# use MODE: jobs go to worker01 (on) or worker02 (off) from now on.
use() {
	if [ "$1" = on ]; then
		A worker resume worker01; A worker drain worker02
	else
		A worker resume worker02; A worker drain worker01
	fi
}

RAW="-v verbose -stats -f lavfi -i testsrc=size=1280x720:rate=25 -t 10 -pix_fmt yuv420p -f rawvideo pipe:1"
# relay: REPS raw-video runs on each worker, alternating; the best line
# of each in $T/relay_MODE.best.
relay() {
	: >"$T/relay_on.runs"
	: >"$T/relay_off.runs"
	for i in $(seq "$REPS"); do
		for m in on off; do
			use $m
			"$RSS" -c -o "$T/last" $PROXY $RAW 2>>"$T/relay.stderr" || fail "rss failed"
			grep -q '^status=0 ' "$T/last" || fail "relay ($m): $(cat "$T/last")"
			cat "$T/last" >>"$T/relay_$m.runs"
		done
	done
	for m in on off; do
		[ "$(sed -n 's/.* hash=\([^ ]*\).*/\1/p' "$T/relay_$m.runs" | sort -u | wc -l)" = 1 ] ||
		    fail "relay ($m): the bytes differ between runs"
		awk '{ w = $2; sub(/^wall_ms=/, "", w) } NR == 1 || w + 0 < bw { bw = w + 0; b = $0 }
		    END { print b }' "$T/relay_$m.runs" >"$T/relay_$m.best"
	done
}

# busy MODE: LOGJOBS debug-logging jobs at once; the coordinator's CPU in
# ms and the run's wall ms in $T/busy_MODE.
busy() {
	c0=$(cpu_us "$PID_coordinator"); t0=$(ms)
	pids=""
	for i in $(seq "$LOGJOBS"); do
		$PROXY -hide_banner -loglevel debug -re -i "$T/media/clip.mkv" -c:v libx264 \
		    -preset ultrafast -f null - </dev/null >/dev/null 2>"$T/busy$i.err" &
		pids="$pids $!"
	done
	for p in $pids; do wait "$p" || fail "busy ($1): a job failed"; done
	# What the coordinator does with the last batches and reports.
	sleep 1
	c1=$(cpu_us "$PID_coordinator"); t1=$(ms)
	echo "cpu_us=$((c1 - c0)) wall_ms=$((t1 - t0)) stderr_bytes=$(cat "$T"/busy*.err | wc -c)" >"$T/busy_$1"
}

echo "bench: $REPS relay runs on each worker, alternating"
relay
echo "bench: $LOGJOBS busy jobs with logs shipped (worker01), then not (worker02)"
use on
busy on
kept=$(sqlite3 "$T/coordinator.db" "select count(*) from job_logs")
[ "${kept:-0}" -gt 0 ] || fail "no job log was kept with ship_logs: true"
use off
busy off

KEPT_SQL="select (select coalesce(sum(length(l.text)), 0) from job_logs l
    join jobs j on j.id = l.job where j.worker = 'worker01' and
    j.args like '%\"debug\"%') + (select coalesce(sum(length(log_tail)), 0)
    from jobs where worker = 'worker01' and args like '%\"debug\"%')"
bon=$(cat "$T/relay_on.best"); boff=$(cat "$T/relay_off.best")
[ "$(kv "$bon" hash)" = "$(kv "$boff" hash)" ] || fail "relay: the bytes differ with and without log shipping"
mon=$(awk -v b="$(kv "$bon" bytes)" -v t="$(kv "$bon" wall_ms)" 'BEGIN { print b / 1e3 / t }')
moff=$(awk -v b="$(kv "$boff" bytes)" -v t="$(kv "$boff" wall_ms)" 'BEGIN { print b / 1e3 / t }')
r=$(awk -v a="$mon" -v b="$moff" 'BEGIN { printf "%.3f", a / b }')
son=$(cat "$T/busy_on"); soff=$(cat "$T/busy_off")
pon=$(awk -v c="$(kv "$son" cpu_us)" -v w="$(kv "$son" wall_ms)" 'BEGIN { printf "%.2f", c / w / 10 }')
poff=$(awk -v c="$(kv "$soff" cpu_us)" -v w="$(kv "$soff" wall_ms)" 'BEGIN { printf "%.2f", c / w / 10 }')
d=$(awk -v a="$pon" -v b="$poff" 'BEGIN { printf "%.2f", a - b }')

echo
printf '%-40s %12s %12s %9s %10s  %s\n' what "logs on" "logs off" cost target ""
printf '%-40s %12s %12s %9s %10s  %s\n' "raw video relay, best of $REPS" \
    "$(fmt "$mon" '%.0f MB/s')" "$(fmt "$moff" '%.0f MB/s')" \
    "$(awk -v r="$r" 'BEGIN { printf "%.1f %%", (1 - r) * 100 }')" "< 5 %" \
    "$(verdict "$r" '>=' 0.95)"
printf '%-40s %12s %12s %9s %10s  %s\n' "coordinator CPU, $LOGJOBS debug-log jobs" \
    "$pon %" "$poff %" "$d pt" "< 5 pt" "$(verdict "$d" '<=' 5)"
echo
echo "The busy jobs wrote $(kv "$son" stderr_bytes) bytes of stderr with logs on;" \
    "the coordinator kept $(sqlite3 "$T/coordinator.db" "$KEPT_SQL") bytes" \
    "of their logs (status lines collapsed; job_log_max bounds each job)."
echo "Coordinator CPU is a share of one core over each run (pt: percentage points)."
pass
