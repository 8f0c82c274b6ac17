#!/bin/bash
# The broker over TLS: a CA, a broker certificate and a client
# certificate made with openssl; mosquitto with a TLS listener and one
# that requires client certificates.  Coordinator, worker, the ffmpeg
# link and admin connect over TLS; a transcode gives ffmpeg's bytes; the
# broker is restarted (SIGTERM) in the middle of a stream and the job
# ends with the same bytes; a wrong CA and a missing client certificate
# are refused with a clear error.
. "$(dirname "$0")/lib.sh"

# ---- certificates ----
ossl() { openssl "$@" >>"$T/openssl.log" 2>&1 || fail "openssl $1 failed: $(tail -n 3 "$T/openssl.log")"; }
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=dffmpeg test CA" \
    -keyout "$T/ca.key" -out "$T/ca.crt"
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=another CA" \
    -keyout "$T/other-ca.key" -out "$T/other-ca.crt"
# cert NAME CN [SAN]: a certificate signed by the test CA.
cert() {
	ossl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$T/$1.key" -out "$T/$1.csr"
	printf '%s\n' "${3:+subjectAltName=$3}" >"$T/$1.ext"
	ossl x509 -req -in "$T/$1.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial \
	    -days 2 -extfile "$T/$1.ext" -out "$T/$1.crt"
}
cert broker localhost "IP:127.0.0.1,DNS:localhost"
cert client jellyfin ""

TLS_PORT=$(free_port)
CERT_PORT=$(free_port)
BROKER_EXTRA="listener $TLS_PORT 127.0.0.1
cafile $T/ca.crt
certfile $T/broker.crt
keyfile $T/broker.key
listener $CERT_PORT 127.0.0.1
cafile $T/ca.crt
certfile $T/broker.crt
keyfile $T/broker.key
require_certificate true"
MQTT_ADDR="host: 127.0.0.1, port: $TLS_PORT, tls: {ca_file: $T/ca.crt}"
cluster_up
grep -q "mqtt: connected to 127.0.0.1" "$T/coordinator.log" || fail "the coordinator is not connected"
# mosquitto logs the protocol: p5 is MQTT 5, which every process speaks.
grep -q "(p2, " "$T/mosquitto.log" && bad "a process spoke MQTT 3.1.1"
grep -q "(p5, " "$T/mosquitto.log" || bad "nobody spoke MQTT 5"

# A transcode over TLS.
make_clip "$T/media/in.mkv" 1
"$T/bin/ffmpeg" -v error -i "$T/media/in.mkv" -f framemd5 - </dev/null >"$T/p.md5" 2>"$T/p.err" ||
    bad "the transcode over TLS failed: $(cat "$T/p.err")"
ffmpeg -v error -i "$T/media/in.mkv" -f framemd5 - </dev/null >"$T/l.md5"
cmp -s "$T/p.md5" "$T/l.md5" || bad "the output over TLS differs from a local run"
"$DFFMPEG" admin -c "$T/coordinator.yaml" worker list 2>&1 | grep -q "^worker01  *online" ||
    bad "admin over TLS"

# The broker restarted the way systemd does (SIGTERM) in the middle of a
# stream: the job goes on, its bytes are a local run's.
raw="-v error -f lavfi -i testsrc=size=320x240:rate=25:duration=5 -pix_fmt yuv420p -f rawvideo -"
ffmpeg $raw </dev/null | sha256sum >"$T/raw.l"
"$T/bin/ffmpeg" -re $raw </dev/null 2>"$T/raw.err" | sha256sum >"$T/raw.p" &
sleep 1.5
kill -TERM "$PID_mosquitto"
wait_for 5 eval '! kill -0 $PID_mosquitto' || bad "the broker did not stop"
sleep 0.5
spawn mosquitto2 "$MOSQUITTO" -c "$T/mosquitto.conf"
PID_mosquitto=$PID_mosquitto2
wait_for 5 port_open "$TLS_PORT" || bad "the broker did not restart"
wait
cmp -s "$T/raw.p" "$T/raw.l" || bad "the stream across the restart differs: $(tail -n 3 "$T/raw.err")"
wait_for 10 sh -c "grep -c 'mqtt: connected to 127.0.0.1' '$T/worker01.log' | grep -qv '^1$'" ||
    bad "the worker did not reconnect over TLS"

# Another CA: refused, and said so.
sed "s|ca_file: $T/ca.crt|ca_file: $T/other-ca.crt|" "$T/client.yaml" >"$T/wrongca.yaml"
sed -i 's/^connect_timeout: .*/connect_timeout: 3s/' "$T/wrongca.yaml"
DFFMPEG_CLIENT_CONFIG=$T/wrongca.yaml "$T/bin/ffmpeg" -version </dev/null >/dev/null 2>"$T/wrongca.err"
[ $? = 1 ] || bad "a wrong CA: not exit 1"
grep -q "TLS failed.*certificate verify failed" "$T/wrongca.err" || bad "wrong CA: $(cat "$T/wrongca.err")"

# A listener without TLS: the broker reads the TLS handshake as a bad
# MQTT packet and closes the connection.  And one that resets every
# connection it accepts (a proxy in front of a broker that is down): the
# handshake fails with ECONNRESET, which libmosquitto 2.0.11 reports as a
# handshake still in progress, on a socket that stays readable.  Either
# way the client tries again until its connect_timeout, with a clear
# error, and does not spin meanwhile.
RST_PORT=$(free_port)
spawn resetter python3 -c '
import socket, struct, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
while True:
    c, _ = s.accept()
    c.recv(1)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
' "$RST_PORT"
wait_for 5 port_open "$RST_PORT" || fail "the resetting listener did not start"
TIMEFORMAT='%U %S'
for what in plain:$PORT reset:$RST_PORT; do
	sed "s|port: $TLS_PORT,|port: ${what#*:},|" "$T/client.yaml" >"$T/${what%:*}.yaml"
	sed -i 's/^connect_timeout: .*/connect_timeout: 3s/' "$T/${what%:*}.yaml"
	{ time DFFMPEG_CLIENT_CONFIG=$T/${what%:*}.yaml "$T/bin/ffmpeg" -version \
	    </dev/null >/dev/null 2>"$T/${what%:*}.err"; echo $? >"$T/${what%:*}.rc"; } \
	    2>"$T/${what%:*}.cpu"
	[ "$(cat "$T/${what%:*}.rc")" = 1 ] ||
	    bad "TLS to a ${what%:*} listener: exit $(cat "$T/${what%:*}.rc"), not 1"
	grep -q "broker at 127.0.0.1:${what#*:} failed: TLS failed" "$T/${what%:*}.err" ||
	    bad "TLS to a ${what%:*} listener: $(cat "$T/${what%:*}.err")"
	cpu_ms=$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$T/${what%:*}.cpu")
	echo "     TLS to a ${what%:*} listener: $cpu_ms ms of CPU in 3 s: $(head -n 1 "$T/${what%:*}.err" | cut -c1-100)"
	# A busy loop would burn about 3000 ms; the client needs some 20.
	[ "$cpu_ms" -lt 2000 ] || bad "TLS to a ${what%:*} listener: the client used $cpu_ms ms of CPU in 3 s (a busy loop)"
done

# The listener that wants a client certificate: with one, the job runs;
# without, the broker refuses.
sed "s|port: $TLS_PORT, tls: {ca_file: $T/ca.crt}|port: $CERT_PORT, tls: {ca_file: $T/ca.crt, cert_file: $T/client.crt, key_file: $T/client.key}|" \
    "$T/client.yaml" >"$T/withcert.yaml"
DFFMPEG_CLIENT_CONFIG=$T/withcert.yaml "$T/bin/ffmpeg" -v error -f lavfi -i testsrc=d=0.2 -f null - \
    </dev/null 2>"$T/withcert.err" || bad "with a client certificate: $(cat "$T/withcert.err")"
sed "s|port: $TLS_PORT,|port: $CERT_PORT,|" "$T/client.yaml" >"$T/nocert.yaml"
sed -i 's/^connect_timeout: .*/connect_timeout: 3s/' "$T/nocert.yaml"
DFFMPEG_CLIENT_CONFIG=$T/nocert.yaml "$T/bin/ffmpeg" -version </dev/null >/dev/null 2>"$T/nocert.err"
[ $? = 1 ] || bad "without a client certificate: not exit 1"
grep -q "broker at 127.0.0.1:$CERT_PORT" "$T/nocert.err" || bad "no certificate: $(cat "$T/nocert.err")"
[ "$FAILED" = 0 ] && pass
exit 1
