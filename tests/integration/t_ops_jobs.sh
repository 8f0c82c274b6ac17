#!/bin/bash
# Operating jobs: list, show and logs of running, completed and failed
# jobs; logs -f while a job runs; progress; detached submits; attach and
# cancel; one client cannot see or cancel another's jobs; --json keys.
. "$(dirname "$0")/lib.sh"

cluster_up
make_clip "$T/media/in.mkv" 2
C() { "$DFFMPEG" client "$@"; }
A() { "$DFFMPEG" admin -c "$T/coordinator.yaml" "$@"; }
# jq-like: python3 reads a JSON document on stdin and evaluates EXPR on it
# (as d); prints the result.
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
state_of() { C job show --json "$1" | jget "d['job']['state']"; }
state_is() { [ "$(state_of "$1")" = "$2" ]; }
job_by() { C job list --all --json | jget "[j['id'] for j in d['jobs'] if '$1' in j['command']][0]"; }

# 1. A failed and a completed job through the ffmpeg link.
"$T/bin/ffmpeg" -hide_banner -i "$T/media/missing-$$.mkv" -f null - \
    </dev/null >/dev/null 2>"$T/fail.err"
[ $? = 1 ] || fail "the failing job did not exit 1"
"$T/bin/ffmpeg" -hide_banner -i "$T/media/in.mkv" -c:v libx264 -preset ultrafast \
    -y "$T/media/out.mkv" </dev/null >/dev/null 2>"$T/ok.err" || fail "the transcode failed"
failed=$(job_by "missing-$$") || fail "job list lacks the failed job"
okid=$(job_by "out.mkv") || fail "job list lacks the completed job"
C job list >"$T/list" || fail "job list failed"
head -n 1 "$T/list" | grep -q "^ID  *STATE  *CLIENT  *WORKER  *PROGRESS  *AGE  *COMMAND$" ||
    bad "job list header: $(head -n 1 "$T/list")"
grep -q "^$failed  *failed  *jellyfin  *worker01 " "$T/list" || bad "failed job row: $(cat "$T/list")"
grep -q "^$okid  *completed  *jellyfin  *worker01  *100% " "$T/list" || bad "completed job row: $(cat "$T/list")"
# The failed job's log is what ffmpeg printed, byte for byte.
C job logs "$failed" >"$T/fail.log" || bad "job logs of the failed job"
cmp -s "$T/fail.log" "$T/fail.err" || bad "failed job's log differs: $(diff "$T/fail.err" "$T/fail.log" | head -n 5)"
# The completed one's: its stderr without the intermediate status lines.
C job logs "$okid" >"$T/ok.log" || bad "job logs of the completed job"
cmp -s <(norm "$T/ok.log") <(norm "$T/ok.err") || bad "completed job's log differs: $(diff <(norm "$T/ok.err") <(norm "$T/ok.log") | head -n 5)"
tail -n 1 "$T/ok.log" | grep -q "^\[libx264 @ .*kb/s" || bad "the log does not end as ffmpeg's stderr: $(tail -n 1 "$T/ok.log")"
C job show "$failed" >"$T/show" || bad "job show"
grep -q "^state  *failed$" "$T/show" && grep -q "^exit  *exit code 1$" "$T/show" &&
    grep -q "running  *failed  *exited with code 1" "$T/show" || bad "job show: $(cat "$T/show")"
C job show --json "$okid" | jget "(d['job']['state'], d['job']['exit_code'], d['job']['bytes_out'] > 0, [t['to'] for t in d['job']['transitions']])" >"$T/j" ||
    bad "job show --json"
grep -qx "('completed', 0, True, \['pending', 'assigned', 'running', 'completed'\])" "$T/j" || bad "job show --json: $(cat "$T/j")"

# Logs larger than a page (192 KiB) and than job_log_max (256 KiB): a
# line per frame, 1000 frames.  Written in a burst, the worker drops what
# its queue cannot hold (256 KiB) after the log's first 16 KiB; written
# over 4 s, it ships everything and the coordinator drops the middle.
# Either way the beginning and the end are ffmpeg's, what went missing in
# between is said, and what is kept is near the bound.
for pace in burst paced; do
	[ $pace = paced ] && re=-re || re=
	"$T/bin/ffmpeg" -hide_banner $re -f lavfi -i testsrc=duration=4:size=32x32:rate=250 \
	    -vf showinfo -f null - </dev/null >/dev/null 2>"$T/$pace.err" || fail "the $pace showinfo job failed"
	[ "$(wc -c <"$T/$pace.err")" -gt 300000 ] || bad "$pace: ffmpeg wrote only $(wc -c <"$T/$pace.err") bytes"
	id=$(C job list --json | jget "[j['id'] for j in d['jobs'] if 'showinfo' in j['command']][0]") ||
	    fail "job list lacks the $pace showinfo job"
	C job logs "$id" >"$T/$pace.log" || bad "$pace: job logs"
	size=$(wc -c <"$T/$pace.log")
	[ "$size" -gt 220000 ] && [ "$size" -lt 270000 ] || bad "$pace: the log is $size bytes (its bound is 256 KiB)"
	cmp -s <(norm "$T/$pace.log" | head -n 20) <(norm "$T/$pace.err" | head -n 20) || bad "$pace: the log's beginning differs"
	cmp -s <(norm "$T/$pace.log" | tail -n 50) <(norm "$T/$pace.err" | tail -n 50) || bad "$pace: the log's end differs"
	grep -q "^\[dffmpeg: .* dropped" "$T/$pace.log" || bad "$pace: the log does not say what was dropped"
	C job logs --json "$id" | jget "d['done']" | grep -qx True || bad "$pace: the log is not done"
done	# (job list is newest first: [0] is the job just run)

# 2. A detached submit returns at once; logs -f shows lines while the job
# runs and ends with it; progress advances.
t0=$(ms)
det=$(C submit --detach -- -hide_banner -loglevel info -re -f lavfi -i testsrc=duration=4:size=320x240:rate=25 \
    -f lavfi -i sine=duration=4 -c:v libx264 -preset ultrafast -c:a aac -y "$T/media/det-$$.mkv")
rc=$?; t1=$(ms)
[ $rc = 0 ] && [ ${#det} = 22 ] || fail "submit --detach: rc $rc, printed '$det'"
[ $((t1 - t0)) -lt 1000 ] || bad "submit --detach took $((t1 - t0)) ms"
echo "     submit --detach returned in $((t1 - t0)) ms"
C job logs -f "$det" >"$T/follow.log" 2>"$T/follow.err" &
fpid=$!
wait_for 10 grep -q "Output #0" "$T/follow.log" || bad "logs -f showed nothing while the job ran"
kill -0 $fpid 2>/dev/null || bad "logs -f ended before the job"
progress_of() { C job show --json "$1" | jget "d['job']['progress'].get('out_time_ms', -1)"; }
progress_known() { [ "$(progress_of "$1")" -ge 0 ]; }
wait_for 5 progress_known "$det" || bad "no progress while the job runs"
p1=$(progress_of "$det")
sleep 1.5
p2=$(progress_of "$det")
[ "${p1:--1}" -ge 0 ] && [ "${p2:--1}" -gt "$p1" ] || bad "progress did not advance: $p1 then $p2"
C job list | grep -q "^$det  *running  *jellyfin  *worker01  *00:00:0[0-9] [0-9.]*x " ||
    bad "job list shows no running progress: $(C job list)"
wait $fpid || bad "logs -f exited $?: $(cat "$T/follow.err")"
C job show --json "$det" | jget "d['job']['state']" | grep -qx completed || bad "the detached job did not complete"
tail -n 1 "$T/follow.log" | grep -q "^\[aac @ .*Qavg\|kb/s" || bad "logs -f did not end with the job's last line: $(tail -n 2 "$T/follow.log")"
[ -s "$T/media/det-$$.mkv" ] || bad "the detached job wrote nothing"
ffprobe -v error "$T/media/det-$$.mkv" || bad "the detached job's output does not probe"

# A coordinator restart (SIGTERM, as systemd does) while a job runs and
# its log is followed: the follower waits it out, the worker's batches
# carry on after the restart, and the log ends as ffmpeg's stderr does.
r=$(C submit --detach -- -hide_banner -re -f lavfi -i testsrc=duration=6:size=64x64:rate=50 \
    -vf showinfo -f null -) || fail "submit --detach (restart)"
C job logs -f "$r" >"$T/restart.log" 2>"$T/restart.err" &
rpid=$!
wait_for 10 grep -q "Parsed_showinfo" "$T/restart.log" || bad "logs -f showed nothing before the restart"
kill -TERM "$PID_coordinator"
wait_for 10 eval '! kill -0 $PID_coordinator 2>/dev/null' || fail "the coordinator did not stop"
sleep 1
coordinator_up
wait $rpid || bad "logs -f across a coordinator restart exited $?: $(cat "$T/restart.err")"
C job logs "$r" >"$T/restart.after" || bad "job logs after the restart"
cmp -s "$T/restart.log" "$T/restart.after" || bad "what logs -f showed differs from the log"
grep -q "n: 299 " "$T/restart.log" || bad "the followed log lacks the last frame: $(tail -n 2 "$T/restart.log")"
grep -q "^\[dffmpeg: " "$T/restart.log" && bad "a restart cost log lines: $(grep '^\[dffmpeg: ' "$T/restart.log")"
state_is "$r" completed || bad "the job across the restart: $(state_of "$r")"

# 3. attach follows a job and exits with its status; a cancel from
# elsewhere ends it as a local SIGTERM would (255); Ctrl-C of attach
# cancels.
long() { C submit --detach -- -hide_banner -re -f lavfi -i testsrc=size=160x120:rate=10 -f null - ; }
a=$(long) || fail "submit --detach (attach)"
C job attach "$a" >/dev/null 2>"$T/attach.err" &
apid=$!
wait_for 10 state_is "$a" running || bad "the attached job did not start"
sleep 1
C job cancel "$a" >"$T/cancel.out" || bad "job cancel failed: $(cat "$T/cancel.out")"
grep -q "^job $a: cancel" "$T/cancel.out" || bad "job cancel said: $(cat "$T/cancel.out")"
wait $apid; arc=$?
[ $arc = 255 ] || bad "attach exited $arc after the cancel (a local ffmpeg gets 255)"
grep -q "received signal 15\|Exiting normally" "$T/attach.err" || bad "attach did not show the job's last lines: $(tail -n 3 "$T/attach.err")"
C job cancel "$a" 2>"$T/cancel2.err" && bad "canceling an ended job succeeded"
grep -q "already ended" "$T/cancel2.err" || bad "second cancel: $(cat "$T/cancel2.err")"
b=$(long) || fail "submit --detach (Ctrl-C)"
# Not through C: $! must be the process itself.
"$DFFMPEG" client job attach "$b" >/dev/null 2>"$T/attach2.err" &
bpid=$!
wait_for 10 grep -q "Output #0" "$T/attach2.err" || bad "attach showed nothing of the job"
kill -INT $bpid
wait $bpid; brc=$?
[ $brc = 255 ] || bad "attach exited $brc after Ctrl-C"
grep -q "canceling job $b" "$T/attach2.err" || bad "Ctrl-C of attach: $(cat "$T/attach2.err")"
C job show --json "$b" | jget "d['job']['state']" | grep -qx canceled || bad "Ctrl-C of attach did not cancel the job"

# 4. Another client sees none of jellyfin's jobs and cannot cancel them.
okey=$(user_add other client) || fail "user add other"
sed -e "s/^client_id: .*/client_id: other/" -e "s|^hmac_key: .*|hmac_key: \"$okey\"|" \
    "$T/client.yaml" >"$T/other.yaml"
O() { "$DFFMPEG" client -c "$T/other.yaml" "$@"; }
v=$(long) || fail "submit --detach (victim)"
O job list --all --json | jget "len(d['jobs'])" | grep -qx 0 || bad "another client lists jellyfin's jobs"
O job show "$v" 2>"$T/o.err" && bad "another client can show jellyfin's job"
grep -q "no job '$v'" "$T/o.err" || bad "show of another's job: $(cat "$T/o.err")"
O job logs "$v" 2>"$T/o.err" && bad "another client can read jellyfin's log"
grep -q "no job '$v'" "$T/o.err" || bad "logs of another's job: $(cat "$T/o.err")"
O job cancel "$v" 2>"$T/o.err" && bad "another client canceled jellyfin's job"
grep -q "no such job" "$T/o.err" || bad "cancel of another's job: $(cat "$T/o.err")"
O status --json | jget "(len(d['jobs']), len(d['queue']), sum(d['unfinished'].values()))" | grep -qx "(0, 0, 0)" ||
    bad "another client's status shows jellyfin's jobs: $(O status --json | head -c 300)"
O worker show --json worker01 | jget "d['worker']['jobs']" | grep -qx "\[\]" ||
    bad "another client's worker show lists jellyfin's jobs"
C worker show --json worker01 | jget "'$v' in d['worker']['jobs']" | grep -qx True ||
    bad "jellyfin's worker show does not list its own job"
C job show --json "$v" | jget "d['job']['state']" | grep -Eqx "running|assigned" || bad "the victim job stopped"
# An administrator sees and cancels everyone's.
A job list --json | jget "[j['client'] for j in d['jobs'] if j['id'] == '$v']" | grep -q jellyfin ||
    bad "admin job list lacks jellyfin's job"
A job cancel "$v" >/dev/null || bad "admin job cancel"
wait_for 5 state_is "$v" canceled || bad "admin cancel did not end the job"

# 5. --json documents and their keys.
C status --json | jget "sorted(d.keys())" | grep -qx "\['broker_connected', 'jobs', 'now', 'queue', 'queue_total', 'unfinished', 'uptime_ms', 'version', 'workers', 'workers_total'\]" ||
    bad "status keys: $(C status --json | jget 'sorted(d.keys())')"
C worker list --json | jget "sorted(d['workers'][0].keys())" |
    grep -qx "\['cpus', 'device_slots', 'device_types', 'draining', 'ffmpeg_version', 'last_seen', 'load', 'max_jobs', 'name', 'paths', 'running', 'state', 'version', 'weight'\]" ||
    bad "worker keys: $(C worker list --json | jget "sorted(d['workers'][0].keys())")"
C worker show --json worker01 | jget "all(k in d['worker'] for k in ('hardware', 'binaries', 'transitions', 'jobs')) and 'session' not in d['worker']" |
    grep -qx True || bad "worker show --json keys (a client's view)"
A worker show --json worker01 | jget "'session' in d['worker']" | grep -qx True || bad "admin worker show --json lacks the session"
C job list --all --json | jget "sorted(d['jobs'][0].keys())" |
    grep -qx "\['binary', 'client', 'command', 'created', 'detached', 'exit_code', 'exit_signal', 'id', 'progress', 'reason', 'state', 'updated', 'worker'\]" ||
    bad "job keys: $(C job list --all --json | jget "sorted(d['jobs'][0].keys())")"
C job show --json "$okid" | jget "all(k in d['job'] for k in ('args', 'cwd', 'paths', 'env', 'bytes_in', 'bytes_out', 'transitions'))" |
    grep -qx True || bad "job show --json keys"
C job logs --json "$failed" | jget "(d['done'], d['exit_code'], d['text'] == open('$T/fail.err').read())" |
    grep -qx "(True, 1, True)" || bad "job logs --json: $(C job logs --json "$failed" | head -c 300)"
C job list --state failed --json | jget "set(j['state'] for j in d['jobs'])" | grep -qx "{'failed'}" ||
    bad "job list --state failed"
C job list --state bogus 2>"$T/e" && bad "an unknown state was accepted"
grep -q "unknown job state 'bogus'" "$T/e" || bad "unknown state: $(cat "$T/e")"
[ "$FAILED" = 0 ] && pass
exit 1
