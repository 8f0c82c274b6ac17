#!/bin/bash
# The environment: variables in the client's forward_env reach the remote
# process only if the worker's forward_env accepts them too (a client must
# not set LD_PRELOAD on a worker), and the remote process gets no file
# descriptor of the worker's but 0, 1 and 2.  The worker's "ffmpeg" here
# is /usr/bin/env and its "ffprobe" /bin/ls, so that the remote process's
# environment and descriptors can be seen.
. "$(dirname "$0")/lib.sh"
broker_up
coordinator_up
wait_for 5 test -f "$T/coordinator.db" || fail "coordinator did not start"
client_config
echo "forward_env: [TMPDIR, LD_PRELOAD, DFFMPEG_TEST_VAR]" >>"$T/client.yaml"
key=$(user_add worker01 worker) || fail "user add"
cat >"$T/worker01.yaml" <<EOC
client_id: worker01
hmac_key: "$key"
mqtt: {host: 127.0.0.1, port: $PORT}
binaries: {ffmpeg: /usr/bin/env, ffprobe: /bin/ls}
forward_env: [TMPDIR, DFFMPEG_TEST_VAR]
registration_interval: 1s
EOC
spawn worker01 "$DFFMPEG" worker -d -c "$T/worker01.yaml"
wait_for 10 registered worker01 || fail "worker01 did not register"

TMPDIR=/from-client DFFMPEG_TEST_VAR='a b=c' LD_PRELOAD=/nonexistent/evil.so \
    "$T/bin/ffmpeg" >"$T/env.out" 2>"$T/env.err" || fail "env failed: $(cat "$T/env.err")"
grep -qx 'TMPDIR=/from-client' "$T/env.out" || fail "TMPDIR did not arrive"
grep -qx 'DFFMPEG_TEST_VAR=a b=c' "$T/env.out" || fail "DFFMPEG_TEST_VAR did not arrive"
grep -q '^LD_PRELOAD=' "$T/env.out" && fail "LD_PRELOAD reached the worker's process"
grep -q "ignored variable LD_PRELOAD" "$T/worker01.log" || fail "the refusal was not logged"

# The defaults on both sides carry what callers set for ffmpeg itself.
kill -TERM "$PID_worker01"
wait_for 10 eval '! kill -0 $PID_worker01' || fail "worker01 did not stop"
key=$(user_add worker02 worker) || fail "user add worker02"
cat >"$T/worker02.yaml" <<EOC
client_id: worker02
hmac_key: "$key"
mqtt: {host: 127.0.0.1, port: $PORT}
binaries: {ffmpeg: /usr/bin/env, ffprobe: /bin/ls}
registration_interval: 1s
EOC
spawn worker02 "$DFFMPEG" worker -d -c "$T/worker02.yaml"
wait_for 10 registered worker02 || fail "worker02 did not register"
sed '/^forward_env:/d' "$T/client.yaml" >"$T/client2.yaml"
TZ=Asia/Kolkata AV_LOG_FORCE_NOCOLOR=1 DFFMPEG_CLIENT_CONFIG=$T/client2.yaml \
    "$T/bin/ffmpeg" >"$T/env2.out" 2>"$T/env2.err" || fail "env failed: $(cat "$T/env2.err")"
grep -qx 'TZ=Asia/Kolkata' "$T/env2.out" || fail "TZ did not arrive with the defaults"
grep -qx 'AV_LOG_FORCE_NOCOLOR=1' "$T/env2.out" || fail "AV_LOG_FORCE_NOCOLOR did not arrive with the defaults"

# ls /proc/self/fd: 0-2 and ls's own directory descriptor, nothing else
"$T/bin/ffprobe" /proc/self/fd >"$T/fd.out" 2>"$T/fd.err" || fail "ls failed: $(cat "$T/fd.err")"
[ "$(tr '\n' ' ' <"$T/fd.out")" = "0 1 2 3 " ] \
    || fail "the remote process holds descriptors: $(tr '\n' ' ' <"$T/fd.out")"
pass
