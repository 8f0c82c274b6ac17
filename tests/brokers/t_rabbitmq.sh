#!/bin/bash
# dffmpeg across a clustered broker: RabbitMQ's MQTT plugin (MQTT 3.1.1) on
# three nodes of one cluster.  The coordinator and worker01 name node A
# first (mqtt.hosts: [A, B, C]), the client and worker02 node B ([B, C,
# A]), so every job crosses the cluster.  The drop-in core cases give a
# local ffmpeg's bytes and exit codes; a worker SIGKILLed is noticed;
# node A stopped (SIGTERM, as a service stop does) in the middle of a
# stream sends its processes to node B, and node B SIGKILLed in the middle
# of another sends everyone to node C, the streams' bytes intact each
# time; a name with '.', which the plugin turns into a topic level, is
# explained in the log.  (A node is not restarted: RabbitMQ 3.10's MQTT
# plugin may fail to start on a node that rejoins, "{badrpc,nodedown}"
# from its client id tracker.)
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/rabbitmq.sh"

skip() { echo "skip $TEST_NAME: $*"; exit 0; }
why=$(rabbit_usable) || skip "$why"
rabbit_up A
rabbit_up B
rabbit_up C
for n in A B C; do why=$(rabbit_wait $n) || skip "$why"; done
why=$(rabbit_join B A) || fail "$why"
why=$(rabbit_join C A) || fail "$why"
st=$(rabbit_ctl A cluster_status 2>/dev/null)
case "$st" in *rmqB@localhost*rmqC@localhost*) ;;
*) fail "nodes B and C are not in node A's cluster: $st" ;; esac
A=127.0.0.1:$RMQ_PORT_A
B=127.0.0.1:$RMQ_PORT_B
C=127.0.0.1:$RMQ_PORT_C
PORT=$RMQ_PORT_A

# The coordinator speaks 5 first, as by default; the others say 3.1.1.
MQTT_ADDR="hosts: [$A, $B, $C]"
coordinator_up
wait_for 10 test -f "$T/coordinator.db" || fail "the coordinator did not start"
MQTT_ADDR="hosts: [$B, $C, $A]"
client_config
MQTT_ADDR="hosts: [$A, $B, $C], protocol: 3.1.1"
worker_up worker01
wait_for 20 registered worker01 || fail "worker01 did not register"
grep -q "broker at $A closed an MQTT 5 connection unanswered: it may speak only 3.1.1, and took 3.1.1" "$T/coordinator.log" ||
    bad "no word of the fallback to 3.1.1: $(grep 'mqtt:' "$T/coordinator.log" | head -n 3)"
make_clip "$T/media/clip.mp4"

# Probe, ffprobe JSON, a transcode, a failing command: a local run's bytes.
"$T/bin/ffmpeg" "${VJOB[@]}" >"$T/v.p" 2>"$T/v.err" || bad "-version: $(cat "$T/v.err")"
cmp -s "$T/v.p" <(ffmpeg "${VJOB[@]}") || bad "-version differs"
grep -q "connected to $B" "$T/client.log" || bad "the client did not use node B"
"$T/bin/ffprobe" -v error -of json -show_format -show_streams "$T/media/clip.mp4" \
    >"$T/p.p" 2>"$T/p.err" || bad "ffprobe: $(cat "$T/p.err")"
ffprobe -v error -of json -show_format -show_streams "$T/media/clip.mp4" >"$T/p.l"
cmp -s "$T/p.p" "$T/p.l" || bad "ffprobe JSON differs"
"$T/bin/ffmpeg" -v error -i "$T/media/clip.mp4" -f framemd5 - </dev/null >"$T/t.p" 2>"$T/t.err" ||
    bad "transcode: $(cat "$T/t.err")"
ffmpeg -v error -i "$T/media/clip.mp4" -f framemd5 - </dev/null >"$T/t.l"
cmp -s "$T/t.p" "$T/t.l" || bad "transcode: framemd5 differs"
"$T/bin/ffmpeg" -hide_banner -i "$T/media/missing.mp4" -f null - 2>"$T/m.p"; rc=$?
ffmpeg -hide_banner -i "$T/media/missing.mp4" -f null - 2>"$T/m.l"; lrc=$?
[ $rc = $lrc ] || bad "a missing input: exit $rc, local $lrc"
cmp -s "$T/m.p" "$T/m.l" || bad "a missing input: stderr differs"

# Raw stdout bytes.
raw="-v error -f lavfi -i testsrc=size=320x240:rate=25:duration=2 -pix_fmt yuv420p -f rawvideo -"
ffmpeg $raw </dev/null | sha256sum >"$T/raw.l"
"$T/bin/ffmpeg" $raw </dev/null 2>"$T/raw.err" | sha256sum >"$T/raw.p"
cmp -s "$T/raw.p" "$T/raw.l" || bad "raw stdout differs: $(tail -n 2 "$T/raw.err")"

# A 'q' on a stdin that stays open stops an endless transcode: exit 0.
mkfifo "$T/q.fifo"
"$T/bin/ffmpeg" -hide_banner -f lavfi -i testsrc=rate=25 -c:v libx264 \
    -preset ultrafast -y "$T/media/inf.mp4" <"$T/q.fifo" >/dev/null 2>"$T/q.err" &
qpid=$!
exec 3>"$T/q.fifo"
wait_for 10 remote_running "inf.mp4" || bad "the endless transcode did not start"
sleep 1
printf q >&3
t0=$(ms)
while kill -0 $qpid 2>/dev/null && [ $(( $(ms) - t0 )) -lt 10000 ]; do sleep 0.05; done
kill -0 $qpid 2>/dev/null && { kill -KILL $qpid; bad "'q': still running 10 s later"; }
wait $qpid; rc=$?
exec 3>&-
[ $rc = 0 ] || bad "'q': exit $rc: $(tail -c 300 "$T/q.err")"
ffprobe -v error "$T/media/inf.mp4" || bad "'q': the mp4 is not complete"
echo "     q: exit after $(( $(ms) - t0 )) ms"

# A worker on node B SIGKILLed during a job: its will crosses the cluster
# and the client hears of it.
MQTT_ADDR="hosts: [$B, $C, $A], protocol: 3.1.1"
worker_up worker02
wait_for 20 registered worker02 || fail "worker02 did not register"
"$DFFMPEG" admin -c "$T/coordinator.yaml" worker drain worker01 >/dev/null || bad "drain worker01"
"$T/bin/ffmpeg" -hide_banner -nostats -re -f lavfi -i testsrc=size=64x64:rate=10 \
    -t 30 -f null -y "$T/media/running-$$.null" >/dev/null 2>"$T/k.err" &
P=$!
wait_for 10 remote_running "running-$$" || fail "the job on worker02 did not start"
worker_fault KILL worker02 $P "$T/k.err" 3000
echo "     worker SIGKILL -> client exit: $FAULT_MS ms"
"$DFFMPEG" admin -c "$T/coordinator.yaml" worker resume worker01 >/dev/null || bad "resume worker01"

# Node A stopped in the middle of a stream that worker01 (on A) sends to
# the client (on B), the coordinator on A too: both go on through node B.
raw="-v error -f lavfi -i testsrc=size=320x240:rate=25:duration=5 -pix_fmt yuv420p -f rawvideo -"
ffmpeg $raw </dev/null | sha256sum >"$T/fo.l"
{ "$T/bin/ffmpeg" -re $raw </dev/null 2>"$T/fo.err"; echo $? >"$T/fo.rc"; } |
    sha256sum >"$T/fo.p" &
P=$!
wait_for 10 remote_running "duration=5" || bad "the stream did not start"
sleep 1.5
kill -TERM "$PID_rabbitA"
wait $P
[ "$(cat "$T/fo.rc")" = 0 ] || bad "the stream across node A's stop: exit $(cat "$T/fo.rc"): $(tail -n 3 "$T/fo.err")"
cmp -s "$T/fo.p" "$T/fo.l" || bad "the stream across node A's stop differs: $(tail -n 3 "$T/fo.err")"
wait_for 20 grep -q "connected to $B" "$T/worker01.log" || bad "worker01 did not move to node B"
wait_for 20 grep -q "connected to $B" "$T/coordinator.log" || bad "the coordinator did not move to node B"
# After it, with node A gone, jobs still run.
"$T/bin/ffmpeg" "${VJOB[@]}" >"$T/v2.p" 2>"$T/v2.err" || bad "a job after the failover: $(cat "$T/v2.err")"
cmp -s "$T/v2.p" <(ffmpeg "${VJOB[@]}") || bad "a job after the failover: output differs"

# Within the minute, node B, where everyone is now, is SIGKILLed in the
# middle of a stream (no will, no goodbye, its sockets reset): everyone
# goes on to node C and the bytes hold.
{ "$T/bin/ffmpeg" -re $raw </dev/null 2>"$T/fk.err"; echo $? >"$T/fk.rc"; } |
    sha256sum >"$T/fk.p" &
P=$!
wait_for 10 remote_running "duration=5" || bad "the stream did not start"
sleep 1.5
rabbit_kill B || bad "no Erlang VM of node B to kill"
wait $P
[ "$(cat "$T/fk.rc")" = 0 ] || bad "the stream across node B's SIGKILL: exit $(cat "$T/fk.rc"): $(tail -n 3 "$T/fk.err")"
cmp -s "$T/fk.p" "$T/fo.l" || bad "the stream across node B's SIGKILL differs: $(tail -n 3 "$T/fk.err")"
for p in worker01 coordinator client; do
	wait_for 20 grep -q "connected to $C" "$T/$p.log" || bad "$p did not move to node C"
done
"$T/bin/ffmpeg" "${VJOB[@]}" >"$T/v3.p" 2>"$T/v3.err" || bad "a job on node C alone: $(cat "$T/v3.err")"

# A name with '.': the plugin delivers P/coord/gpu.box as P/coord/gpu/box.
key=$(user_add gpu.box worker) || fail "user add gpu.box"
echo "$key" >"$T/gpu.box.key"
MQTT_ADDR="hosts: [$C], protocol: 3.1.1"
worker_up gpu.box "$key"
wait_for 15 grep -q "a message came on dffmpeg/coord/gpu/box.*turns '.' into '/'" "$T/coordinator.log" ||
    bad "the rewritten topic of a name with '.' is not explained: $(grep -i 'gpu' "$T/coordinator.log" | tail -n 2)"
[ "$FAILED" = 0 ] && pass
exit 1
