#!/bin/bash
# Drop-in conformance, broker restart (design §6.3): the broker stopped
# the way systemd does it (SIGTERM: a stopping mosquitto publishes every
# client's will) or SIGKILLed, and restarted on the same port in the
# middle of a large stream, twice within seconds; the job resumes, the
# bytes and exit status are those of a run without the restarts, and the
# wills of the shutdown fail nothing.  Every case runs; the failures are
# listed at the end.
. "$(dirname "$0")/lib.sh"

# restart_broker SIGNAL: stop the broker with SIGNAL, and start it again
# on the same port with the same configuration half a second later.
restart_broker() {
	kill "-$1" "$PID_mosquitto"
	# (not a child this shell can wait for: spawn disowns it)
	wait_for 5 eval '! kill -0 $PID_mosquitto' || bad "the broker did not stop"
	sleep 0.5
	spawn mosquitto2 "$MOSQUITTO" -c "$T/mosquitto.conf"
	PID_mosquitto=$PID_mosquitto2
	wait_for 5 port_open "$PORT" || bad "the broker did not restart"
}

cluster_up

# 9. 6 s of 1280x720 raw video (207 MB) to stdout, broker restarted 1.5 s
# into the stream.
raw="-v error -f lavfi -i testsrc=size=1280x720:rate=25 -t 6 -pix_fmt yuv420p -f rawvideo pipe:1"
ffmpeg $raw </dev/null | sha256sum >"$T/out.l.sum"
mkfifo "$T/out.fifo"
slow_reader <"$T/out.fifo" | sha256sum >"$T/out.p.sum" &
rpid=$!
t0=$(ms)
"$T/bin/ffmpeg" $raw </dev/null >"$T/out.fifo" 2>"$T/out.p.err" &
pp=$!
sleep 1.5
kill -0 $pp 2>/dev/null || bad "stdout: the job ended before the broker restart"
restart_broker TERM
sleep 1.5
kill -0 $pp 2>/dev/null || bad "stdout: the proxy ended after the first broker restart"
restart_broker TERM
kill -0 $pp 2>/dev/null || bad "stdout: the proxy ended during the broker restarts"
while kill -0 $pp 2>/dev/null && [ $(( $(ms) - t0 )) -lt 60000 ]; do
	sleep 0.1
done
kill -0 $pp 2>/dev/null && { bad "stdout: still running after 60 s"; kill -KILL $pp; }
wait $pp
prc=$?
wait $rpid
echo "     stdout: $(( $(ms) - t0 )) ms with two broker SIGTERM restarts"
[ $prc = 0 ] || bad "stdout: exit status $prc: $(head -c 300 "$T/out.p.err")"
[ -s "$T/out.p.err" ] && bad "stdout: unexpected stderr: $(head -c 300 "$T/out.p.err")"
cmp -s "$T/out.p.sum" "$T/out.l.sum" ||
    bad "stdout: sha256 $(cut -c1-16 "$T/out.p.sum"), local $(cut -c1-16 "$T/out.l.sum")"

# The other direction: 150 MB of raw video through stdin and back on
# stdout (-c copy), broker restarted 1.5 s in.
ffmpeg -v error -f lavfi -i testsrc=size=1280x720:rate=25 -t 4.4 \
    -pix_fmt yuv420p -f rawvideo -y "$T/in.yuv" </dev/null ||
    fail "cannot make the raw input"
copy="-v error -f rawvideo -pix_fmt yuv420p -s 1280x720 -r 25 -i pipe:0 -c copy -f rawvideo pipe:1"
ffmpeg $copy <"$T/in.yuv" 2>/dev/null | sha256sum >"$T/inout.l.sum"
sha256sum <"$T/in.yuv" | cmp -s - "$T/inout.l.sum" ||
    bad "stdin: even the local copy changed the bytes (a useless case)"
t0=$(ms)
slow_reader <"$T/in.yuv" |
    { "$T/bin/ffmpeg" $copy 2>"$T/inout.p.err"; echo $? >"$T/inout.p.rc"; } |
    sha256sum >"$T/inout.p.sum" &
jpid=$!
sleep 1.5
restart_broker TERM
sleep 1
restart_broker KILL
wait $jpid
echo "     stdin: $(( $(ms) - t0 )) ms with a broker SIGTERM and a SIGKILL restart"
[ "$(cat "$T/inout.p.rc")" = 0 ] ||
    bad "stdin: exit status $(cat "$T/inout.p.rc"): $(head -c 300 "$T/inout.p.err")"
cmp -s "$T/inout.p.sum" "$T/inout.l.sum" ||
    bad "stdin: sha256 $(cut -c1-16 "$T/inout.p.sum"), local $(cut -c1-16 "$T/inout.l.sum"): $(head -c 300 "$T/inout.p.err")"
[ -s "$T/inout.p.err" ] && bad "stdin: unexpected stderr: $(head -c 300 "$T/inout.p.err")"

# The wills of the stopping broker failed nothing.
grep -q "went away" "$T/coordinator.log" &&
    bad "a job was failed for a will of the stopping broker: $(grep "went away" "$T/coordinator.log" | head -n 1)"
# (the client has the end a moment before the coordinator records it)
wait_for 5 eval '[ "$(q "select count(*) from jobs where state != '"'completed'"'")" = 0 ]'
n=$(q "select count(*) from jobs where state != 'completed'")
[ "$n" = 0 ] || bad "$n jobs not completed: $(q "select state, reason from jobs where state != 'completed'")"
grep -q "wills\? just before our connection dropped" "$T/coordinator.log" ||
    echo "     (no will of the stopping broker reached the coordinator this time)"

[ "$FAILED" = 0 ] && pass
exit 1
