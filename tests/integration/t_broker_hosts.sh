#!/bin/bash
# Several broker addresses (mqtt.hosts).  Two mosquitto brokers joined by a
# bridge stand in for two nodes of a clustered broker (tests/brokers/ has
# a real RabbitMQ cluster).  The client's first address refuses
# connections and it goes on to the next; node A hangs (SIGSTOP: its
# sockets stay open) in the middle of a stream, and the coordinator and
# the worker find out by their loopback probe within seconds and go on
# through node B with the stream's bytes intact; then node B is stopped (SIGTERM) during a job and
# everyone returns to node A.  Bad addresses are config errors.
. "$(dirname "$0")/lib.sh"

broker_up
PA=$PORT
PB=$(free_port)
DEAD=$(free_port)
{
	broker_conf "$PB"
	echo "connection nodea"
	echo "address 127.0.0.1:$PA"
	echo "topic # both 1"
	echo "cleansession true"
	echo "keepalive_interval 5"
	echo "restart_timeout 1"
} >"$T/mosquitto-b.conf"
spawn mosquittoB "$MOSQUITTO" -c "$T/mosquitto-b.conf"
wait_for 5 port_open "$PB" || fail "broker B did not start"
bridged() {
	mosquitto_sub -p "$PA" -t bridge/probe -C 1 -W 1 >/dev/null &
	s=$!
	sleep 0.2
	mosquitto_pub -p "$PB" -t bridge/probe -m x -q 1
	wait $s
}
wait_for 10 bridged || fail "broker B did not bridge to broker A"

AB="127.0.0.1:$PA, 127.0.0.1:$PB"
MQTT_ADDR="hosts: [$AB]"
# The default for the workers' 5 s heartbeats (theirs here are 1 s): longer
# than a hung broker takes to be found out.
COORD_EXTRA="worker_timeout: 15s"
coordinator_up
wait_for 5 test -f "$T/coordinator.db" || fail "the coordinator did not start"
MQTT_ADDR="hosts: [127.0.0.1:$DEAD, 127.0.0.1:$PB, 127.0.0.1:$PA]"
client_config
MQTT_ADDR="hosts: [$AB]"
worker_up worker01
wait_for 10 registered worker01 || fail "worker01 did not register"
grep -q "starting (broker 127.0.0.1:$PA, 127.0.0.1:$PB," "$T/coordinator.log" ||
    bad "the coordinator does not name its brokers: $(grep starting "$T/coordinator.log")"

# The client's first address refuses: the next one serves, at once.
t0=$(ms)
"$T/bin/ffmpeg" "${VJOB[@]}" >"$T/v.p" 2>"$T/v.err" || bad "-version: $(cat "$T/v.err")"
echo "     a refused first address: the job took $(( $(ms) - t0 )) ms"
cmp -s "$T/v.p" <(ffmpeg "${VJOB[@]}") || bad "-version differs"
grep -q "cannot connect to the broker at 127.0.0.1:$DEAD\|connecting to the broker at 127.0.0.1:$DEAD failed" "$T/client.log" ||
    bad "the refused address is not in the log"
grep -q "connected to 127.0.0.1:$PB" "$T/client.log" || bad "the client did not use broker B"
[ $(( $(ms) - t0 )) -lt 3000 ] || bad "the job took $(( $(ms) - t0 )) ms"

# Node A hangs with its sockets open, in the middle of a stream.
raw="-v error -f lavfi -i testsrc=size=160x120:rate=25:duration=9 -pix_fmt yuv420p -f rawvideo -"
ffmpeg $raw </dev/null | sha256sum >"$T/h.l"
{ "$T/bin/ffmpeg" -re $raw </dev/null 2>"$T/h.err"; echo $? >"$T/h.rc"; } |
    sha256sum >"$T/h.p" &
P=$!
wait_for 10 remote_running "duration=9" || bad "the stream did not start"
sleep 1
kill -STOP "$PID_mosquitto"
t0=$(ms)
wait_for 15 grep -q "connected to 127.0.0.1:$PB" "$T/worker01.log" ||
    bad "worker01 did not move to broker B"
echo "     a hung broker: the worker moved in $(( $(ms) - t0 )) ms"
wait $P; rc=$(cat "$T/h.rc")
[ $rc = 0 ] || bad "the stream through a hung node A: exit $rc: $(tail -n 3 "$T/h.err")"
cmp -s "$T/h.p" "$T/h.l" || bad "the stream through a hung node A differs"
grep -q "taking it for hung" "$T/worker01.log" || bad "worker01 did not say why it moved"
grep -q "connected to 127.0.0.1:$PB" "$T/coordinator.log" || bad "the coordinator did not move to broker B"
kill -CONT "$PID_mosquitto"
wait_for 10 bridged || bad "broker B did not bridge to A again"

# Within the minute, node B stops (SIGTERM) during a job: back to node A.
"$T/bin/ffmpeg" -hide_banner -nostats -re -f lavfi -i testsrc=size=64x64:rate=10 -t 4 \
    -f framemd5 - </dev/null >"$T/b.p" 2>"$T/b.err" &
P=$!
wait_for 10 remote_running "rate=10 -t 4" || bad "the job did not start"
sleep 1
kill -TERM "$PID_mosquittoB"
wait $P; rc=$?
[ $rc = 0 ] || bad "a job through broker B's stop: exit $rc: $(tail -n 3 "$T/b.err")"
ffmpeg -hide_banner -nostats -f lavfi -i testsrc=size=64x64:rate=10 -t 4 -f framemd5 - \
    </dev/null 2>/dev/null >"$T/b.l"
cmp -s "$T/b.p" "$T/b.l" || bad "a job through broker B's stop: output differs"
[ "$(grep -c "connected to 127.0.0.1:$PA" "$T/worker01.log")" -ge 2 ] ||
    bad "worker01 did not return to broker A"
"$T/bin/ffmpeg" "${VJOB[@]}" >"$T/v2.p" 2>"$T/v2.err" || bad "a job on node A alone: $(cat "$T/v2.err")"

# Bad addresses are errors of the config, with the line.
badconf() {
	sed "s|^mqtt: .*|mqtt: {$1}|" "$T/worker01.yaml" >"$T/bad.yaml"
	"$DFFMPEG" worker -c "$T/bad.yaml" >"$T/bad.out" 2>&1 && bad "accepted mqtt: {$1}"
	grep -q "$2" "$T/bad.out" || bad "mqtt: {$1}: $(cat "$T/bad.out")"
}
badconf "hosts: [a:0]" "bad.yaml:[0-9]*:[0-9]*: 'hosts' must end in a port from 1 to 65535"
badconf "hosts: ['a b']" "hosts.*must not contain blanks"
badconf "hosts: ['[::1']" "hosts.*\[address\]:port"
badconf "hosts: [a], socket: /x.sock" "set either mqtt.hosts or mqtt.socket"
[ "$FAILED" = 0 ] && pass
exit 1
