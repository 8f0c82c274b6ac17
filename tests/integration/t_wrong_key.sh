#!/bin/bash
# A worker configured with a wrong key is refused, both sides say so in
# their logs (the coordinator answers a message that fails its MAC with
# one signed with the key it holds, which the worker cannot verify
# either), and the coordinator keeps serving the right worker.  A client
# with a wrong key gets a `dffmpeg:` line naming the key mismatch within
# its connect_timeout.
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
grep -q "the coordinator refuses the key of identity 'worker02'" \
    "$T/worker02.log" || fail "the worker did not log the key mismatch"

for i in 1 2 3; do
	"$T/bin/ffmpeg" "${VJOB[@]}" >"$T/out" || fail "job $i failed"
	cmp -s "$T/out" <(ffmpeg -hide_banner -version) || fail "job $i output differs"
done
grep -q "runs on worker02" "$T/client.log" && fail "a job ran on the wrong-key worker"

# (Without log_file, and with no syslog socket here, the proxy's log goes
# to the user's state directory.)
sed "s|^hmac_key: .*|hmac_key: \"$wrong\"|; s|^connect_timeout: .*|connect_timeout: 2s|; /^log_file:/d" \
    "$T/client.yaml" >"$T/wrong.yaml"
start=$(date +%s%N)
XDG_STATE_HOME=$T/state DFFMPEG_CLIENT_CONFIG=$T/wrong.yaml "$T/bin/ffmpeg" -version \
    >"$T/out" 2>"$T/err"; rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "     wrong client key: exit $rc after $ms ms: $(cat "$T/err")"
[ $rc = 1 ] && grep -q "^dffmpeg: the coordinator holds another hmac_key for 'jellyfin'" "$T/err" \
    || fail "wrong client key: exit $rc: $(cat "$T/err")"
[ $(wc -l <"$T/err") = 1 ] || fail "wrong client key: more than one line"
[ -s "$T/out" ] && fail "wrong client key: stdout not empty"
[ $ms -lt 3500 ] || fail "wrong client key: the line came after $ms ms (connect_timeout 2 s)"
if [ -S /dev/log ]; then
	echo "     (a syslog socket exists: the state-directory log is not tried)"
else
	grep -q "the coordinator refuses the key of identity" "$T/state/dffmpeg/proxy.log" ||
	    fail "no proxy log in \$XDG_STATE_HOME/dffmpeg: $(ls -R "$T/state" 2>&1)"
	[ "$(stat -c %a "$T/state/dffmpeg")" = 700 ] || fail "the state directory is not 0700"
	env -u XDG_STATE_HOME HOME=$T/home DFFMPEG_CLIENT_CONFIG=$T/wrong.yaml "$T/bin/ffmpeg" -version \
	    >/dev/null 2>&1
	grep -q "the coordinator holds another hmac_key" "$T/home/.local/state/dffmpeg/proxy.log" ||
	    fail "no proxy log in ~/.local/state/dffmpeg: $(ls -R "$T/home" 2>&1)"
fi
kill -0 "$PID_coordinator" || fail "the coordinator died"
pass
