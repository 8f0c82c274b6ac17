#!/bin/bash
# When no coordinator answers within connect_timeout, the proxy prints one
# `dffmpeg:` line naming the cause (no broker, a broker that refuses us, a
# TLS failure, no coordinator; the key mismatch is in t_wrong_key) and
# exits 1 -- or, with `fallback` configured, runs the local binary and
# logs a warning each time.
. "$(dirname "$0")/lib.sh"
key=$(head -c 32 /dev/urandom | base64)
dead=$(free_port)
mkdir -p "$T/bin"
"$DFFMPEG" --install "$T/bin" >/dev/null || fail "--install"

cat >"$T/nofb.yaml" <<EOC
client_id: jellyfin
hmac_key: "$key"
mqtt: {host: 127.0.0.1, port: $dead}
connect_timeout: 1s
log_file: $T/nofb.log
EOC
start=$(date +%s%N)
DFFMPEG_CLIENT_CONFIG=$T/nofb.yaml "$T/bin/ffmpeg" -version >"$T/out" 2>"$T/err"; rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $rc = 1 ] || fail "no coordinator: exit $rc, expected 1"
[ -s "$T/out" ] && fail "no coordinator: something on stdout"
[ "$(wc -l <"$T/err")" = 1 ] &&
    grep -q "^dffmpeg: cannot connect to the broker at 127.0.0.1:$dead: Connection refused" "$T/err" \
    || fail "no broker: stderr was: $(cat "$T/err")"
[ $ms -lt 5000 ] || fail "no broker: took $ms ms with connect_timeout 1s"

# broker_down: stop the private broker and wait until it is gone (it is
# not a child the shell can wait for).
broker_down() {
	kill -TERM "$PID_mosquitto"
	wait_for 5 eval '! kill -0 $PID_mosquitto' || fail "the broker did not stop"
}

# A broker, but no coordinator behind it: another line.
broker_up
sed "s/port: $dead/port: $PORT/" "$T/nofb.yaml" >"$T/nocoord.yaml"
DFFMPEG_CLIENT_CONFIG=$T/nocoord.yaml "$T/bin/ffmpeg" -version >"$T/out" 2>"$T/err"; rc=$?
[ $rc = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] &&
    grep -q '^dffmpeg: no coordinator answered within 1000 ms' "$T/err" \
    || fail "no coordinator: exit $rc, stderr: $(cat "$T/err")"
broker_down

# A broker that refuses our password: the broker's reason.
if command -v mosquitto_passwd >/dev/null; then
	mosquitto_passwd -b -c "$T/passwd" jellyfin right 2>/dev/null
	sed -i 's/^allow_anonymous true/allow_anonymous false/' "$T/mosquitto.conf"
	echo "password_file $T/passwd" >>"$T/mosquitto.conf"
	spawn mosquitto "$MOSQUITTO" -c "$T/mosquitto.conf"
	wait_for 5 port_open "$PORT" || fail "the password broker did not start"
	sed "s/^mqtt: .*/mqtt: {host: 127.0.0.1, port: $PORT, username: jellyfin, password: wrong}/" \
	    "$T/nofb.yaml" >"$T/badpw.yaml"
	DFFMPEG_CLIENT_CONFIG=$T/badpw.yaml "$T/bin/ffmpeg" -version >"$T/out" 2>"$T/err"; rc=$?
	[ $rc = 1 ] && grep -q "^dffmpeg: the broker at 127.0.0.1:$PORT refused the connection of jellyfin: .*[Nn]ot authori[sz]ed" "$T/err" \
	    || fail "wrong password: exit $rc, stderr: $(cat "$T/err")"
	broker_down
fi

# A TLS broker whose certificate the client's CA did not sign: OpenSSL's
# reason; with the right CA the same broker lets us in (and then no
# coordinator answers).
cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	    -days 2 -subj "/CN=$1" -addext "subjectAltName=IP:127.0.0.1" \
	    -keyout "$T/$1.key" -out "$T/$1.crt" 2>/dev/null || fail "openssl: no certificate"
}
cert 127.0.0.1
cert other
BROKER_EXTRA="certfile $T/127.0.0.1.crt
keyfile $T/127.0.0.1.key" broker_up
for ca in other 127.0.0.1; do
	sed "s|^mqtt: .*|mqtt: {host: 127.0.0.1, port: $PORT, tls: {ca_file: $T/$ca.crt}}|" \
	    "$T/nofb.yaml" >"$T/tls.yaml"
	DFFMPEG_CLIENT_CONFIG=$T/tls.yaml "$T/bin/ffmpeg" -version >"$T/out" 2>"$T/err"; rc=$?
	echo "     TLS, CA $ca: exit $rc: $(cat "$T/err")"
	[ $rc = 1 ] && [ "$(wc -l <"$T/err")" = 1 ] || fail "TLS, CA $ca: exit $rc: $(cat "$T/err")"
	if [ $ca = other ]; then
		grep -q "^dffmpeg: .* the broker at 127.0.0.1:$PORT.*: TLS failed: certificate verify failed" "$T/err" ||
		    fail "TLS, wrong CA: $(cat "$T/err")"
	else
		grep -q '^dffmpeg: no coordinator answered within 1000 ms' "$T/err" ||
		    fail "TLS, right CA: $(cat "$T/err")"
	fi
done
broker_down
unset PORT

cat >"$T/fb.yaml" <<EOC
client_id: jellyfin
hmac_key: "$key"
mqtt: {host: 127.0.0.1, port: $dead}
connect_timeout: 1s
fallback: {ffmpeg: $(command -v ffmpeg), ffprobe: $(command -v ffprobe)}
log_file: $T/fb.log
EOC
for i in 1 2; do
	echo -n x | DFFMPEG_CLIENT_CONFIG=$T/fb.yaml "$T/bin/ffmpeg" "${VJOB[@]}" \
	    >"$T/out" 2>"$T/err"; rc=$?
	[ $rc = 0 ] || fail "fallback: exit $rc: $(cat "$T/err")"
	cmp -s "$T/out" <(ffmpeg -hide_banner -version) || fail "fallback: stdout differs"
	[ -s "$T/err" ] && fail "fallback: stderr not empty: $(cat "$T/err")"
done
[ "$(grep -c 'running the local fallback' "$T/fb.log")" = 2 ] \
    || fail "fallback: not logged as a warning each time"
# the fallback runs the original arguments and exit status
DFFMPEG_CLIENT_CONFIG=$T/fb.yaml "$T/bin/ffprobe" -v error "$T/missing.mkv" 2>"$T/err"; rc=$?
ffprobe -v error "$T/missing.mkv" 2>"$T/err2"; rc2=$?
[ $rc = $rc2 ] || fail "fallback: exit $rc, local $rc2"
cmp -s "$T/err" "$T/err2" || fail "fallback: stderr differs"

# a refused job: the coordinator allows only ffmpeg
COORD_EXTRA="allowed_binaries: [ffmpeg]"
cluster_up
"$T/bin/ffprobe" -version >"$T/out" 2>"$T/err"; rc=$?
[ $rc = 1 ] && grep -q "^dffmpeg: binary 'ffprobe' is not allowed" "$T/err" \
    || fail "refused: exit $rc, stderr: $(cat "$T/err")"
echo "fallback: {ffprobe: $(command -v ffprobe)}" >>"$T/client.yaml"
"$T/bin/ffprobe" -version >"$T/out" 2>"$T/err" || fail "refused+fallback failed"
cmp -s "$T/out" <(ffprobe -version) || fail "refused+fallback: stdout differs"
grep -q "running the local fallback.*not allowed" "$T/client.log" \
    || fail "refused+fallback: no warning in the log"

# a full queue: with every worker drained, the job waits fallback_after
# (default 2 s) and then runs locally; the coordinator forgets it.
"$DFFMPEG" admin -c "$T/coordinator.yaml" worker drain worker01 >/dev/null ||
    fail "admin worker drain"
sed '/^fallback:/d' "$T/client.yaml" >"$T/queue.yaml"
echo "fallback: {ffmpeg: $(command -v ffmpeg)}" >>"$T/queue.yaml"
start=$(date +%s%N)
DFFMPEG_CLIENT_CONFIG=$T/queue.yaml "$T/bin/ffmpeg" "${VJOB[@]}" \
    >"$T/out" 2>"$T/err" || fail "queue+fallback failed: $(cat "$T/err")"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "     full queue -> local fallback after $ms ms"
cmp -s "$T/out" <(ffmpeg -hide_banner -version) || fail "queue+fallback: stdout differs"
[ -s "$T/err" ] && fail "queue+fallback: stderr not empty: $(cat "$T/err")"
[ $ms -ge 2000 ] && [ $ms -lt 5000 ] || fail "queue+fallback: took $ms ms with fallback_after 2s"
grep -q "running the local fallback.*no worker took the job within 2000 ms" "$T/client.log" \
    || fail "queue+fallback: no warning in the log"
wait_for 5 eval '[ "$(q "select state from jobs where args like '"'%-version%'"' order by created desc limit 1")" = canceled ]' \
    || fail "queue+fallback: the queued job was not withdrawn: $(q "select state from jobs order by created desc limit 1")"
pass
