#!/bin/bash
# A broker on a unix socket (mqtt: {socket: PATH}), spoken to in MQTT
# 3.1.1 (mqtt: {protocol: 3.1.1}; the other tests speak 5): coordinator,
# worker, the ffmpeg link and the admin commands reach it through the
# socket alone; a transcode gives ffmpeg's bytes; a socket that is not
# there is named in the error.
. "$(dirname "$0")/lib.sh"

BROKER_EXTRA="listener 0 $T/mqtt.sock"
MQTT_ADDR="socket: $T/mqtt.sock, port: 1"	# port 1: TCP would fail
MQTT_EXTRA="protocol: 3.1.1"
cluster_up
grep -q "connected to $T/mqtt.sock" "$T/coordinator.log" ||
    bad "the coordinator did not say it uses the socket: $(grep 'mqtt:' "$T/coordinator.log" | head -n 2)"
# mosquitto logs the protocol: p2 is 3.1.1, p5 is 5.
grep -q "(p5, " "$T/mosquitto.log" && bad "a process spoke MQTT 5: $(grep '(p5, ' "$T/mosquitto.log" | head -n 1)"
grep -q "(p2, " "$T/mosquitto.log" || bad "nobody spoke MQTT 3.1.1"
make_clip "$T/media/in.mkv" 1
"$T/bin/ffmpeg" -v error -i "$T/media/in.mkv" -f framemd5 - </dev/null >"$T/p.md5" 2>"$T/p.err" ||
    bad "the transcode over the socket failed: $(cat "$T/p.err")"
ffmpeg -v error -i "$T/media/in.mkv" -f framemd5 - </dev/null >"$T/l.md5"
cmp -s "$T/p.md5" "$T/l.md5" || bad "the output differs from a local run"
"$DFFMPEG" admin -c "$T/coordinator.yaml" worker list >"$T/workers" 2>&1 ||
    bad "admin over the socket: $(cat "$T/workers")"
grep -q "^worker01  *online" "$T/workers" || bad "worker list: $(cat "$T/workers")"

# A socket path where nothing listens: the error names it.
sed "s|socket: $T/mqtt.sock|socket: $T/none.sock|" "$T/client.yaml" >"$T/none.yaml"
sed -i 's/^connect_timeout: .*/connect_timeout: 2s/' "$T/none.yaml"
DFFMPEG_CLIENT_CONFIG=$T/none.yaml "$T/bin/ffmpeg" -version </dev/null >/dev/null 2>"$T/none.err"
[ $? = 1 ] || bad "no broker on the socket: not exit 1"
grep -q "$T/none.sock" "$T/none.err" || bad "the missing socket is not named: $(cat "$T/none.err")"
[ "$FAILED" = 0 ] && pass
exit 1
