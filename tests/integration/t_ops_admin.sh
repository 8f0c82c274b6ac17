#!/bin/bash
# Operating the cluster: --help everywhere, worker states as they are
# (stale, lost, offline), worker remove, key rotation with a grace period.
. "$(dirname "$0")/lib.sh"

# 1. Every applet and command answers -h and --help with its usage, exit
# 0; the lists below must cover every command the applets list.
helps() {
	for h in -h --help; do
		"$DFFMPEG" "$@" $h >"$T/help" 2>"$T/help.err"; rc=$?
		[ $rc = 0 ] || bad "'$* $h' exited $rc: $(head -n 2 "$T/help.err")"
		head -n 1 "$T/help" | grep -q "^usage: dffmpeg " || bad "'$* $h' printed: $(head -n 2 "$T/help")"
		[ -s "$T/help.err" ] && bad "'$* $h' wrote to stderr: $(head -n 2 "$T/help.err")"
	done
}
CLIENT_CMDS="status|worker list|worker show|job list|job show|job logs|job cancel|job attach|submit|translate|run"
ADMIN_CMDS="status|user add|user list|user show|user remove|user rotate-key|worker list|worker show|worker drain|worker resume|worker remove|job list|job show|job logs|job cancel|job attach|mqtt-acl"
for a in coordinator worker client admin; do helps $a; done
for app in client admin; do
	[ $app = client ] && cmds=$CLIENT_CMDS || cmds=$ADMIN_CMDS
	IFS='|'; set -f
	for c in $cmds; do
		unset IFS; helps $app $c; IFS='|'
	done
	unset IFS; set +f
	# Every command the applet lists is in the list above.
	"$DFFMPEG" $app --help | sed -n 's/^  \([a-z][a-z-]*\( [a-z][a-z-]*\)\{0,1\}\)\( .*\)\{0,1\}$/\1/p' |
	while read -r w1 w2; do
		c="$w1${w2:+ $w2}"
		case "|$cmds|" in *"|$c|"*) ;; *) echo "FAIL $TEST_NAME: $app lists '$c', which is not tested"; exit 1 ;; esac
	done || FAILED=1
done
# Options are explained.
"$DFFMPEG" client job list --help | grep -q "^  --window D " || bad "job list --help does not explain --window"
"$DFFMPEG" admin user rotate-key --help | grep -q "^  -g, --grace D " || bad "rotate-key --help does not explain --grace"
"$DFFMPEG" coordinator --help | grep -q "^  -n, --check " || bad "coordinator --help does not explain -n"
# An incomplete command prints that command's usage.
"$DFFMPEG" admin user >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q "user rotate-key NAME" "$T/err" || bad "'admin user': exit $rc, $(head -n 3 "$T/err")"
"$DFFMPEG" client job >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q "job attach ID" "$T/err" || bad "'client job': exit $rc, $(head -n 3 "$T/err")"
"$DFFMPEG" admin frob 2>/dev/null; [ $? = 2 ] || bad "unknown admin command not a usage error"
"$DFFMPEG" client job show 2>"$T/err"; [ $? = 2 ] && grep -q "usage: dffmpeg client \[-c FILE\] job show ID" "$T/err" ||
    bad "job show without an id: $(cat "$T/err")"
# A submit's own arguments after -- are the binary's, -h included.
"$DFFMPEG" client submit --help | grep -q "^  --detach " || bad "submit --help"

cluster_up "" ""
A() { "$DFFMPEG" admin -c "$T/coordinator.yaml" "$@"; }
C() { "$DFFMPEG" client "$@"; }
state_in_list() { A worker list | grep -q "^$1  *$2 "; }

# 2. worker list shows states as they are: a stopped process is stale,
# then lost; continued, online again.
kill -STOP "$PID_worker02"
wait_for 10 state_in_list worker02 stale || bad "a silent worker is not listed stale: $(A worker list)"
wait_for 15 state_in_list worker02 lost || bad "a silent worker is not listed lost: $(A worker list)"
A worker list | grep -q "^worker02  *lost  *[0-9]*s ago " || bad "no last-seen age: $(A worker list)"
kill -CONT "$PID_worker02"
wait_for 15 state_in_list worker02 online || bad "worker02 is not online again: $(A worker list)"
A worker list | head -n 1 | grep -q "^NAME  *STATE  *LAST SEEN  *JOBS  *DEVICES  *WEIGHT  *VERSION  *PATHS$" ||
    bad "worker list header: $(A worker list | head -n 1)"
A worker list | grep -q "^worker01  *online  *[0-9]*s ago  *0/-  *-  *1  *[0-9.]*  *1 ok$" ||
    bad "worker01's row: $(A worker list)"

# 3. worker remove forgets a worker that is gone, and only such a one.
A worker remove worker02 >"$T/out" 2>"$T/err" && bad "removing an online worker succeeded"
grep -q "worker02 is online" "$T/err" || bad "remove of an online worker: $(cat "$T/err")"
kill -TERM "$PID_worker02"
wait_for 10 state_in_list worker02 offline || bad "a stopped worker is not offline: $(A worker list)"
A worker remove worker02 >"$T/out" || bad "worker remove failed"
grep -q "^removed worker worker02 (it was offline)$" "$T/out" || bad "worker remove said: $(cat "$T/out")"
A worker list | grep -q "^worker02 " && bad "worker02 is still listed after its removal"
A worker show worker02 2>/dev/null && bad "worker02 can still be shown"
A worker remove worker02 2>/dev/null && bad "removing a worker twice succeeded"

# 4. user remove says what it did.
"$DFFMPEG" admin -c "$T/coordinator.yaml" user add gone --role client >/dev/null 2>&1
A user remove gone >"$T/out" || bad "user remove"
grep -q "^removed client identity 'gone'" "$T/out" || bad "user remove said: $(cat "$T/out")"

# 5. Key rotation: the old key works for the grace period, each use
# logged; then it is refused and the worker says so; the new key works.
make_clip "$T/media/clip.mkv" 1
job() { "$T/bin/ffmpeg" -v error -i "$T/media/clip.mkv" -f null - </dev/null 2>"$T/job.err"; }
NEWKEY=$(A user rotate-key worker01 --grace 6s 2>"$T/rot.err") || fail "rotate-key: $(cat "$T/rot.err")"
[ "$(printf %s "$NEWKEY" | base64 -d | wc -c)" = 32 ] || fail "rotate-key printed '$NEWKEY'"
grep -q "the old one works until" "$T/rot.err" || bad "rotate-key said: $(cat "$T/rot.err")"
A user show worker01 | grep -q "^key  *rotated; the previous key works until" || bad "user show: $(A user show worker01)"
t_rot=$(ms)
job || bad "a job during the grace period failed: $(cat "$T/job.err")"
wait_for 5 grep -q "'worker01' used its previous key" "$T/coordinator.log" || bad "the use of the old key was not logged"
[ $(( $(ms) - t_rot )) -lt 6000 ] || bad "the grace test took too long to be meaningful"
wait_for 20 grep -q "the coordinator refuses the key of identity 'worker01'" "$T/worker01.log" ||
    bad "the worker did not say its key is refused"
wait_for 15 state_in_list worker01 lost || bad "a worker with a refused key is not lost: $(A worker list)"
kill -TERM "$PID_worker01"
wait_for 10 eval '! kill -0 $PID_worker01 2>/dev/null'
worker_up worker01 "$NEWKEY"
wait_for 15 state_in_list worker01 online || bad "worker01 with its new key is not online: $(A worker list)"
job || bad "a job with the new key failed: $(cat "$T/job.err")"
# A worker whose identity is removed while it runs is forgotten once it
# is gone (its goodbye is not heard: it is lost first).
A user remove worker01 >/dev/null || bad "user remove worker01"
kill -TERM "$PID_worker01"
listed() { A worker list | grep -q "^$1 "; }
wait_for 30 eval '! listed worker01' || bad "a worker whose identity was removed is still listed: $(A worker list)"
grep -q "worker worker01: its identity was removed; forgetting it" "$T/coordinator.log" ||
    bad "forgetting worker01 was not logged"
A user rotate-key nobody 2>"$T/err" && bad "rotating a missing identity succeeded"
grep -q "no identity 'nobody'" "$T/err" || bad "rotate of a missing identity: $(cat "$T/err")"
[ "$FAILED" = 0 ] && pass
exit 1
