#!/bin/bash
# A slow link to the broker: the worker and the client reach it through a
# relay that carries 40 kB/s each way, so one 256 KiB data frame takes
# over 6 s to cross.  Nothing whole arrives for longer than the loopback
# probe waits (mqtt.h), and a probe queues behind the frames and the
# worker's registration: neither side may take the broker for hung, nor
# give up probing it.  The job's output and exit status are a local run's,
# and a broker that hangs afterwards is still left within seconds.
. "$(dirname "$0")/lib.sh"

broker_up
# The worker's heartbeats queue behind the frames too: the coordinator
# waits for them as it would for a worker on such a link.
COORD_EXTRA="worker_timeout: 60s"
coordinator_up
wait_for 5 test -f "$T/coordinator.db" || fail "coordinator did not start"

RELAY_PORT=$(free_port)
spawn relay python3 -c '
import socket, sys, threading, time
lport, dport, rate = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def small(s):
    # A small receive buffer: the sender feels the slow link at once.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    return s
def pipe(a, b):
    try:
        while True:
            d = a.recv(4096)
            if not d:
                break
            time.sleep(len(d) / rate)
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
ls = small(socket.socket())
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", lport))
ls.listen(16)
while True:
    c, _ = ls.accept()
    u = small(socket.socket())
    u.connect(("127.0.0.1", dport))
    for a, b in ((c, u), (u, c)):
        threading.Thread(target=pipe, args=(a, b), daemon=True).start()
' "$RELAY_PORT" "$PORT" 40000
wait_for 5 port_open "$RELAY_PORT" || fail "the relay did not start"

MQTT_ADDR="host: 127.0.0.1, port: $RELAY_PORT"
client_config
REG_INTERVAL=5s worker_up worker01
wait_for 20 registered worker01 || fail "worker01 did not register through the relay"

# Raw video on the client's stdin, a regular file: the client reads it in
# frames of up to 256 KiB, here one of 225 KiB, which takes over 5 s to
# cross each slow hop.  The worker receives nothing whole meanwhile, and
# the client's probe queues behind the frame it uploads.
ffmpeg -v error -f lavfi -i testsrc=size=320x240:rate=25 -frames:v 2 \
    -pix_fmt yuv420p -f rawvideo -y "$T/in.yuv" || fail "cannot make the input"
job="-v error -f rawvideo -s 320x240 -pix_fmt yuv420p -i pipe:0 -f framemd5 -"
ffmpeg $job <"$T/in.yuv" >"$T/l.md5" 2>/dev/null
t0=$(ms)
"$T/bin/ffmpeg" $job <"$T/in.yuv" >"$T/p.md5" 2>"$T/p.err"
rc=$?
echo "     $(stat -c %s "$T/in.yuv") bytes of stdin through a 40 kB/s link:" \
    "exit $rc after $(( $(ms) - t0 )) ms; frames sent again:" \
    "$(grep -o 're-sending [0-9]*' "$T/client.log" | awk '{ n += $2 } END { print n + 0 }')"
[ $rc = 0 ] || bad "the job exited $rc: $(head -c 300 "$T/p.err")"
cmp -s "$T/p.md5" "$T/l.md5" || bad "its framemd5 differs from a local run's"
for f in worker01 client; do
	grep -q "taking it for hung" "$T/$f.log" &&
	    bad "$f took the slow broker for hung: $(grep -m 1 'taking it for hung' "$T/$f.log")"
done
[ "$(grep -c 'mqtt: connected to' "$T/worker01.log")" = 1 ] ||
    bad "worker01 connected again: $(grep 'mqtt: connection' "$T/worker01.log" | head -n 2)"

# The probe still works through the slow link (it was not given up as
# unanswered while the worker's registration crawled up): a broker that
# hangs now is found hung by the probe (5 s after what the relay still
# carries has arrived), not dropped by keepalive.
kill -STOP "$PID_mosquitto"
t0=$(ms)
wait_for 25 grep -q "taking it for hung" "$T/worker01.log" ||
    bad "the worker did not notice the hung broker through the slow link"
echo "     a hung broker behind the slow link: left after $(( $(ms) - t0 )) ms"
kill -CONT "$PID_mosquitto"
[ "$FAILED" = 0 ] && pass
exit 1
