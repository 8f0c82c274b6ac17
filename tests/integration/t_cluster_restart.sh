#!/bin/bash
# The coordinator SIGKILLed and restarted during a transcode: the
# transcode streams on and completes, the state is right afterwards,
# nothing runs twice; a submit made while it is down runs once.
. "$(dirname "$0")/lib.sh"
cluster_up

"$T/bin/ffmpeg" -hide_banner -nostats -re -f lavfi -i testsrc=size=320x240:rate=25 \
    -t 4 -c:v libx264 -preset ultrafast -y "$T/media/restart.mp4" 2>"$T/t.err" &
P=$!
wait_for 10 remote_running "$T/media/restart.mp4" || fail "the transcode did not start"
sleep 0.5
kill -KILL "$PID_coordinator"
sleep 1
# a submit while the coordinator is down: the client re-sends it
"$T/bin/ffmpeg" "${VJOB[@]}" >"$T/v.out" 2>"$T/v.err" &
V=$!
sleep 1
spawn coordinator "$DFFMPEG" coordinator -d -c "$T/coordinator.yaml"
wait $P; rc=$?
[ $rc = 0 ] || fail "the transcode exited $rc: $(tail -n 3 "$T/t.err")"
d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$T/media/restart.mp4") \
    || fail "the output is not readable"
case "$d" in 3.9*|4.0*) ;; *) fail "output duration $d" ;; esac
wait $V; rc=$?
[ $rc = 0 ] || fail "the submit made while the coordinator was down exited $rc: $(cat "$T/v.err")"
cmp -s "$T/v.out" <(ffmpeg -hide_banner -version) || fail "its output differs"

# states: both completed, each ran once
wait_for 5 eval '[ "$(q "select count(*) from jobs where state=\"completed\"")" = 2 ]' \
    || fail "jobs: $(q 'select id, state, reason from jobs')"
for id in $(q "select id from jobs"); do
	n=$(grep -c "job $id: started" "$T/worker01.log")
	[ "$n" = 1 ] || fail "job $id started $n times"
done
grep -q "unfinished jobs restored" "$T/coordinator.log" || fail "nothing was restored"
pass
