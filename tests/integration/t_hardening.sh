#!/bin/bash
# Smaller hardening items, each with real processes: the name "admin" is
# the admin commands' own; a worker config that holds a key and that
# others can read is fixed, and the worker says so; a coordinator
# database others can read is fixed too; a retained message (someone
# else's, replayed to every subscriber) is ignored; a FIFO given as the
# config is refused at once; a config nested too deep is refused at once
# with its place; the same message id from two identities counts for
# both.
. "$(dirname "$0")/lib.sh"

broker_up
coordinator_up
wait_for 5 test -f "$T/coordinator.db" || fail "coordinator did not start"
A() { "$DFFMPEG" admin -c "$T/coordinator.yaml" "$@"; }

# "admin": reserved for the admin role.
A user add admin --role client >/dev/null 2>"$T/admin.err" && bad "a client named admin was created"
grep -q "identity name 'admin' is reserved for the admin commands" "$T/admin.err" ||
    bad "admin: $(cat "$T/admin.err")"
A user list >/dev/null || bad "the admin commands broke"

# A worker config with its key, readable by others: fixed, said.  And a
# retained message on its downlink (the broker hands it to the worker as
# it subscribes) is not acted on.
worker_up worker01 "" ""
chmod 644 "$T/worker01.yaml"
kill -TERM "$PID_worker01"
wait_for 10 sh -c "! kill -0 $PID_worker01 2>/dev/null" || fail "worker01 did not stop"
mosquitto_pub -p "$PORT" -t dffmpeg/worker/worker01 -r -m '{"retained":1}' ||
    bad "mosquitto_pub -r"
worker_up worker01 "" ""
wait_for 10 registered worker01 || fail "worker01 did not register"
[ "$(stat -c %a "$T/worker01.yaml")" = 640 ] || bad "worker01.yaml is $(stat -c %a "$T/worker01.yaml")"
grep -q "worker01.yaml holds an identity key and was readable by others: its mode is now 0640 (was 0644)" \
    "$T/worker01.log" || bad "the worker did not say it fixed its config's mode"

wait_for 5 grep -q "mqtt: ignored a retained message on dffmpeg/worker/worker01" "$T/worker01.log" ||
    bad "the retained message was not ignored: $(grep -i retain "$T/worker01.log")"
mosquitto_pub -p "$PORT" -t dffmpeg/worker/worker01 -r -n	# clear it

# Twenty old messages, signed with the worker's key (replayed from long
# ago): dropped, and said once, not twenty times.
python3 - "$(cat "$T/worker01.key")" "$PORT" <<'PY' || bad "the old messages were not sent"
import base64, hashlib, hmac, json, subprocess, sys, time
key, port = base64.b64decode(sys.argv[1]), sys.argv[2]
topic = "dffmpeg/worker/worker01"
for i in range(20):
    body = {"v": 1, "type": "ack", "id": "oldmessage%012d" % i, "from": "coordinator",
            "ts": int(time.time() * 1000) - 600000, "body": {"ref": "x%021d" % i}}
    js = json.dumps(body, separators=(",", ":"))
    mac = hmac.new(key, topic.encode() + b"\0" + js.encode(), hashlib.sha256).digest()
    subprocess.run(["mosquitto_pub", "-p", port, "-t", topic, "-m",
                    js + "\n" + base64.b64encode(mac).decode()], check=True)
PY
old_seen() { grep -q "is too old or too new" "$T/worker01.log"; }
wait_for 5 old_seen || bad "the old messages were not noticed"
sleep 0.5
[ "$(grep -c "is too old or too new" "$T/worker01.log")" = 1 ] ||
    bad "the old messages were logged $(grep -c "is too old or too new" "$T/worker01.log") times"

# The coordinator's database, readable by others: fixed at start.
kill -TERM "$PID_coordinator"
wait_for 10 sh -c "! kill -0 $PID_coordinator 2>/dev/null" || fail "the coordinator did not stop"
chmod 644 "$T/coordinator.db"
coordinator_up
connected_twice() { [ "$(grep -c "mqtt: connected" "$T/coordinator.log")" -ge 2 ]; }
wait_for 10 connected_twice || fail "the coordinator did not restart"
[ "$(stat -c %a "$T/coordinator.db")" = 640 ] || bad "coordinator.db is $(stat -c %a "$T/coordinator.db")"

# Configs that would hang or take minutes: refused at once.
mkfifo "$T/fifo.yaml"
timeout 5 "$DFFMPEG" worker -n -c "$T/fifo.yaml" 2>"$T/fifo.err"
[ $? = 1 ] || bad "a FIFO config: $(cat "$T/fifo.err")"
grep -q "not a regular file" "$T/fifo.err" || bad "fifo: $(cat "$T/fifo.err")"
python3 -c "print('client_id: w\nx: ' + '[' * 100000 + ']' * 100000)" >"$T/deep.yaml"
timeout 5 "$DFFMPEG" worker -n -c "$T/deep.yaml" 2>"$T/deep.err"
[ $? = 1 ] || bad "a deep config: $(head -c 200 "$T/deep.err")"
grep -q "deep.yaml:2:19: nested deeper than 16 levels" "$T/deep.err" || bad "deep: $(head -c 200 "$T/deep.err")"

# One message id, two identities: the second is not taken for a replay.
ka=$(user_add ida client) && kb=$(user_add idb client) || fail "user add"
send_query() {
	python3 - "$1" "$2" "$PORT" <<'PY'
import base64, hashlib, hmac, json, subprocess, sys, time
name, key, port = sys.argv[1], base64.b64decode(sys.argv[2]), sys.argv[3]
topic = "dffmpeg/coord/" + name
body = {"v": 1, "type": "cancel", "id": "sharedid000000000000", "from": name,
        "ts": int(time.time() * 1000), "body": {"job": "nosuchjob" + name}}
js = json.dumps(body, separators=(",", ":"))
mac = hmac.new(key, topic.encode() + b"\0" + js.encode(), hashlib.sha256).digest()
subprocess.run(["mosquitto_pub", "-p", port, "-t", topic, "-m",
                js + "\n" + base64.b64encode(mac).decode()], check=True)
PY
}
send_query ida "$ka" || bad "cancel of ida"
send_query idb "$kb" || bad "cancel of idb"
sleep 1
grep -q "a repeated cancel from idb" "$T/coordinator.log" && bad "idb's cancel was taken for ida's replay"
send_query idb "$kb" || bad "cancel of idb again"
wait_for 5 grep -q "a repeated cancel from idb" "$T/coordinator.log" || bad "idb's own repeat was not recognised"
# 10 MiB publishes to the coordinator's and the worker's topics: the
# broker (max_packet_size, which dffmpeg insists on) turns them away, and
# neither process grows.
hwm() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
c0=$(hwm "$PID_coordinator"); w0=$(hwm "$PID_worker01")
head -c 10485760 /dev/zero >"$T/big"
for t in dffmpeg/coord/worker01 dffmpeg/worker/worker01 dffmpeg/job/x/in; do
	mosquitto_pub -p "$PORT" -t "$t" -f "$T/big" 2>/dev/null
done
sleep 1
c1=$(hwm "$PID_coordinator"); w1=$(hwm "$PID_worker01")
[ $((c1 - c0)) -lt 4096 ] || bad "the coordinator grew from $c0 to $c1 kB"
[ $((w1 - w0)) -lt 4096 ] || bad "the worker grew from $w0 to $w1 kB"
kill -0 "$PID_coordinator" && kill -0 "$PID_worker01" || bad "a process died of a large publish"
# And a proxy, on the topic its job's output comes on.
client_config
"$T/bin/ffmpeg" -hide_banner -loglevel error -re -f lavfi -i testsrc=d=4:s=64x64 -f null - \
    </dev/null 2>"$T/px.err" &
px=$!
running_job() { q "select id from jobs where state = 'running'" | grep -q .; }
wait_for 10 running_job || bad "the proxy's job does not run"
p0=$(hwm "$px")
mosquitto_pub -p "$PORT" -t "dffmpeg/job/$(q "select id from jobs where state = 'running'")/out" \
    -f "$T/big" 2>/dev/null
sleep 0.5
p1=$(hwm "$px")
[ $((p1 - p0)) -lt 4096 ] || bad "the proxy grew from $p0 to $p1 kB"
wait $px || bad "the proxy's job failed: $(cat "$T/px.err")"

# A broker that sets no packet limit is not used (unless allowed).
P2=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\n%s\n' "$P2" \
    "$([ "$(id -u)" = 0 ] && echo "user root")" >"$T/nolimit.conf"
spawn nolimit "$MOSQUITTO" -c "$T/nolimit.conf"
wait_for 5 port_open "$P2" || fail "the second broker did not start"
printf 'database: %s/c2.db\nmqtt: {host: 127.0.0.1, port: %s}\nhttp: {port: 0}\n' "$T" "$P2" \
    >"$T/c2.yaml"
spawn c2 "$DFFMPEG" coordinator -c "$T/c2.yaml"
wait_for 10 grep -q "sets no maximum packet size (max_packet_size in mosquitto.conf)" "$T/c2.log" ||
    bad "a broker without a packet limit was used: $(tail -n 2 "$T/c2.log")"
kill -TERM "$PID_c2"
printf 'database: %s/c3.db\nmqtt: {host: 127.0.0.1, port: %s, allow_unlimited_packets: true}\nhttp: {port: 0}\n' \
    "$T" "$P2" >"$T/c3.yaml"
spawn c3 "$DFFMPEG" coordinator -c "$T/c3.yaml"
wait_for 10 grep -q "mqtt: connected" "$T/c3.log" || bad "allow_unlimited_packets: $(tail -n 2 "$T/c3.log")"
[ "$FAILED" = 0 ] && pass
exit 1
