#!/bin/bash
# Drop-in conformance, signals (design §6.1 step 5, §6.2, §6.3): a signal
# to the proxy mid-transcode ends it as it ends a local ffmpeg; a SIGKILLed
# proxy leaves no remote ffmpeg behind (within 1 s, job `canceled`); a
# remote ffmpeg dying of a signal makes the proxy die of the same signal.
# Every case runs; the failures are listed at the end.
. "$(dirname "$0")/lib.sh"

# No core files from the processes we kill with SIGSEGV (the worker and
# its ffmpeg children inherit this).
ulimit -c 0

# remote_pid NAME: the pid of the worker's ffmpeg whose arguments name NAME.
remote_pid() { pgrep -P "$PID_worker01" -f "$1"; }
remote_runs() { remote_pid "$1" >/dev/null; }

# gone PID: the process no longer runs (absent, or a zombie).
gone() {
	[ -r "/proc/$1/status" ] || return 0
	grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# wait_gone PID MS: wait up to MS ms for PID to end; 0 if it did.
wait_gone() {
	end=$(( $(ms) + $2 ))
	while ! gone "$1"; do
		[ $(ms) -ge $end ] && return 1
		sleep 0.05
	done
}

# endless NAME: an endless transcode into $T/media/NAME.
endless() {
	echo -hide_banner -f lavfi -i testsrc=rate=25 -c:v libx264 -preset \
	    ultrafast -y "$T/media/$1"
}

valid_mp4() {
	d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$1" 2>/dev/null)
	awk -v d="${d:-0}" 'BEGIN { exit !(d > 0) }'
}

job_state() {
	sqlite3 "$T/coordinator.db" \
	    "select state from jobs where args like '%$1%'" 2>/dev/null
}

job_is() { [ "$(job_state "$1")" = "$2" ]; }

job_id() {
	sqlite3 "$T/coordinator.db" \
	    "select id from jobs where args like '%$1%'" 2>/dev/null
}

# local_sig SIG NAME: the exit status of a local ffmpeg given SIG after 1 s.
local_sig() {
	ffmpeg $(endless "$2") </dev/null >/dev/null 2>"$T/$2.err" &
	lp=$!
	sleep 1
	kill -"$1" $lp
	{ wait $lp; } 2>/dev/null
}

cluster_up
# Bash reports each background job that dies of a signal on its stderr
# ("Killed", "Hangup"); the statuses are checked below, so keep that noise
# (and any other shell message) in a log.
exec 2>>"$T/shell.log"

# 6. SIGTERM (and SIGINT, SIGHUP, SIGXCPU, SIGUSR1) to the proxy
# mid-transcode: the same exit status as a local ffmpeg given the signal,
# and a complete mp4 when the local one is.
for sig in TERM INT HUP XCPU USR1; do
	local_sig $sig "sig$sig.l.mp4"
	lrc=$?
	"$T/bin/ffmpeg" $(endless "sig$sig.p.mp4") </dev/null >/dev/null \
	    2>"$T/sig$sig.p.err" &
	pp=$!
	wait_for 10 remote_runs "sig$sig.p.mp4" ||
	    { bad "SIG$sig: the remote ffmpeg did not start"; kill -KILL $pp; continue; }
	sleep 1
	kill -$sig $pp
	wait_gone $pp 10000 || { bad "SIG$sig: the proxy still runs 10 s later"; kill -KILL $pp; }
	{ wait $pp; } 2>/dev/null
	prc=$?
	echo "     SIG$sig: proxy exit status $prc, local $lrc"
	[ $prc = $lrc ] || bad "SIG$sig: exit status $prc, local $lrc: $(tail -c 200 "$T/sig$sig.p.err")"
	# ffmpeg 5.1 handles SIGINT and SIGTERM (finishing the file) but
	# not SIGHUP (it dies, 129): the mp4 is valid exactly when the
	# local one is.
	valid_mp4 "$T/media/sig$sig.l.mp4"
	lv=$?
	valid_mp4 "$T/media/sig$sig.p.mp4"
	pv=$?
	[ $pv = $lv ] || bad "SIG$sig: the proxy's mp4 is$([ $pv = 0 ] || echo ' not') valid, the local one is$([ $lv = 0 ] || echo ' not')"
	# The same signal reached the remote ffmpeg ("Exiting normally,
	# received signal 2." for SIGINT).
	lm=$(grep -ao 'received signal [0-9]*' "$T/sig$sig.l.mp4.err")
	pm=$(grep -ao 'received signal [0-9]*' "$T/sig$sig.p.err")
	[ "$pm" = "$lm" ] || bad "SIG$sig: the remote ffmpeg says '$pm', a local one '$lm'"
	grep -q '^dffmpeg:' "$T/sig$sig.p.err" && bad "SIG$sig: $(grep '^dffmpeg:' "$T/sig$sig.p.err")"
done

# 6b. Job control: SIGTSTP, SIGSTOP (which the proxy cannot catch: its
# stop watcher sees it) and a SIGSTOP of the proxy's whole process group
# stop the remote ffmpeg (its output stops growing); SIGCONT continues
# both, and a SIGTERM then ends the job as it ends a local ffmpeg.  The
# group stop lasts longer than the data plane's 15 s silence limit, with
# a client keepalive long enough for the broker to keep the stopped
# proxy's connection: the job must survive it.
pstate() { awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null; }
fsize() { stat -c %s "$1" 2>/dev/null || echo 0; }
sed 's/^mqtt: {\(.*\)}$/mqtt: {\1, keepalive: 60}/' "$T/client.yaml" >"$T/client-ka.yaml"

# stop_case NAME HOLD STOP CONT [setsid [CONFIG]]
stop_case() {
	name=$1 hold=$2 stop=$3 cont=$4
	DFFMPEG_CLIENT_CONFIG=${6:-$DFFMPEG_CLIENT_CONFIG} ${5:-} \
	    "$T/bin/ffmpeg" $(endless $name.mp4) </dev/null >/dev/null 2>"$T/$name.err" &
	pp=$!
	if ! wait_for 10 remote_runs $name.mp4; then
		bad "$name: the remote ffmpeg did not start"
		kill -KILL $pp
		return
	fi
	rp=$(remote_pid $name.mp4)
	sleep 0.5
	t0=$(ms)
	eval "kill $stop"
	wait_for 2 eval '[ "$(pstate $rp)" = T ]' || bad "$name: the remote ffmpeg did not stop"
	echo "     $name: the remote ffmpeg stopped $(( $(ms) - t0 )) ms after the proxy was sent $stop"
	wait_for 2 eval '[ "$(pstate $pp)" = T ]' || bad "$name: the proxy did not stop"
	s1=$(fsize "$T/media/$name.mp4"); sleep "$hold"; s2=$(fsize "$T/media/$name.mp4")
	[ "$s1" = "$s2" ] || bad "$name: the output grew from $s1 to $s2 bytes while stopped"
	[ "$(pstate $rp)" = T ] || bad "$name: the remote ffmpeg ran again during the stop ($(pstate $rp))"
	eval "kill $cont"
	wait_for 2 eval '[ "$(pstate $rp)" != T ]' || bad "$name: SIGCONT: the remote ffmpeg did not continue"
	[ "$(pstate $pp)" != T ] || bad "$name: SIGCONT: the proxy did not continue"
	sleep 1
	s3=$(fsize "$T/media/$name.mp4")
	[ "$s3" -gt "$s2" ] || bad "$name: SIGCONT: the output did not grow again ($s2, then $s3 bytes)"
	kill -TERM $pp
	wait_gone $pp 10000 || { bad "$name: the proxy still runs 10 s after SIGTERM"; kill -KILL $pp; }
	{ wait $pp; } 2>/dev/null
	prc=$?
	[ $prc = 255 ] || bad "$name: exit status $prc after SIGTERM, local 255: $(tail -c 300 "$T/$name.err")"
	grep -q '^dffmpeg:' "$T/$name.err" && bad "$name: $(grep '^dffmpeg:' "$T/$name.err")"
}
stop_case tstp 1 '-TSTP $pp' '-CONT $pp'
stop_case stop 1 '-STOP $pp' '-CONT $pp'
stop_case stopgrp 17 '-STOP -- -$pp' '-CONT -- -$pp' setsid "$T/client-ka.yaml"

# 6c. Priority: the proxy's nice value at start and after a renice is the
# remote ffmpeg's.
pnice() { awk '{ print $19 }' "/proc/$1/stat" 2>/dev/null; }
nice -n 10 "$T/bin/ffmpeg" $(endless nice.mp4) </dev/null >/dev/null 2>"$T/nice.err" &
pp=$!
if wait_for 10 remote_runs nice.mp4; then
	rp=$(remote_pid nice.mp4)
	wait_for 3 eval '[ "$(pnice $rp)" = 10 ]' ||
	    bad "nice: the remote ffmpeg runs at nice $(pnice $rp), the proxy at 10"
	renice -n 15 -p $pp >/dev/null
	t0=$(ms)
	wait_for 4 eval '[ "$(pnice $rp)" = 15 ]' ||
	    bad "renice: the remote ffmpeg runs at nice $(pnice $rp), the proxy at 15"
	echo "     nice: 10 at start; renice to 15 reached the remote in $(( $(ms) - t0 )) ms"
	kill -TERM $pp
	wait_gone $pp 10000 || kill -KILL $pp
	{ wait $pp; } 2>/dev/null
else
	bad "nice: the remote ffmpeg did not start"
	kill -KILL $pp
fi

# 6d. An administrator's cancel looks like a local kill: the remote
# ffmpeg's last lines arrive and the exit status is SIGTERM's.
"$T/bin/ffmpeg" $(endless admin.mp4) </dev/null >/dev/null 2>"$T/admin.err" &
pp=$!
if wait_for 10 remote_runs admin.mp4; then
	sleep 1
	id=$(job_id admin.mp4)
	"$DFFMPEG" admin -c "$T/coordinator.yaml" job cancel "$id" >/dev/null ||
	    bad "admin job cancel $id failed"
	wait_gone $pp 10000 || { bad "admin cancel: the proxy still runs 10 s later"; kill -KILL $pp; }
	{ wait $pp; } 2>/dev/null
	prc=$?
	echo "     admin cancel: proxy exit status $prc, local SIGTERM 255"
	[ $prc = 255 ] || bad "admin cancel: exit status $prc, local 255"
	grep -aq 'received signal 15' "$T/admin.err" ||
	    bad "admin cancel: ffmpeg's last lines did not arrive: $(tail -c 200 "$T/admin.err")"
	grep -q '^dffmpeg:' "$T/admin.err" && bad "admin cancel: $(grep '^dffmpeg:' "$T/admin.err")"
	valid_mp4 "$T/media/admin.mp4" || bad "admin cancel: the mp4 was not finished"
	wait_for 5 job_is admin.mp4 canceled || bad "admin cancel: job state $(job_state admin.mp4)"
else
	bad "admin cancel: the remote ffmpeg did not start"
	kill -KILL $pp
fi

# 7. SIGKILL to the proxy: the remote ffmpeg is gone within 1 s and the
# job ends `canceled`.
"$T/bin/ffmpeg" $(endless kill7.mp4) </dev/null >/dev/null 2>"$T/kill7.err" &
pp=$!
if wait_for 10 remote_runs kill7.mp4; then
	rp=$(remote_pid kill7.mp4)
	sleep 0.5
	kill -KILL $pp
	t0=$(ms)
	wait_gone "$rp" 10000
	gms=$(( $(ms) - t0 ))
	echo "     SIGKILL: the remote ffmpeg was gone $gms ms after the proxy's SIGKILL"
	gone "$rp" || bad "SIGKILL: the remote ffmpeg (pid $rp) still runs 10 s later"
	[ $gms -le 1000 ] || bad "SIGKILL: the remote ffmpeg ran $gms ms after the proxy died (limit 1000)"
	if wait_for 5 job_is kill7.mp4 canceled; then
		echo "     SIGKILL: the job was canceled $(( $(ms) - t0 )) ms after the proxy's SIGKILL"
	else
		bad "SIGKILL: job state '$(job_state kill7.mp4)', expected canceled"
	fi
else
	bad "SIGKILL: the remote ffmpeg did not start"
fi
{ wait $pp; } 2>/dev/null

# 8. The remote ffmpeg dies of a signal: the proxy dies of the same one
# (status 128 + signal, as a local ffmpeg killed so).
for sig in KILL SEGV; do
	local_sig $sig "die$sig.l.mp4"
	lrc=$?
	"$T/bin/ffmpeg" $(endless "die$sig.p.mp4") </dev/null >/dev/null \
	    2>"$T/die$sig.p.err" &
	pp=$!
	if wait_for 10 remote_runs "die$sig.p.mp4"; then
		sleep 0.5
		kill -$sig "$(remote_pid "die$sig.p.mp4")"
		wait_gone $pp 10000 || { bad "remote SIG$sig: the proxy still runs 10 s later"; kill -KILL $pp; }
	else
		bad "remote SIG$sig: the remote ffmpeg did not start"
		kill -KILL $pp
	fi
	{ wait $pp; } 2>/dev/null
	prc=$?
	echo "     remote SIG$sig: proxy exit status $prc, local $lrc"
	[ $lrc = $(( 128 + $(kill -l $sig) )) ] || bad "remote SIG$sig: even the local status is $lrc"
	[ $prc = $lrc ] || bad "remote SIG$sig: exit status $prc, local $lrc: $(tail -c 200 "$T/die$sig.p.err")"
done

[ "$FAILED" = 0 ] && pass
exit 1
