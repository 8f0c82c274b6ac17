#!/bin/bash
# The coordinator's HTTP surface: every route's status codes (allowed and
# refused address, unknown route, bad method, oversized request), the
# API's documents against the CLI's --json, /health through a broker that
# goes away and comes back, /metrics through promtool with counters that
# move as jobs run, and the dashboard in headless Chromium: a running job
# with advancing progress, the worker list, an attacker's argument shown
# as text.  The dashboard's screenshot is left in $T/dashboard.png (and
# copied to $SCREENSHOT when that is set: `make screenshot`).
. "$(dirname "$0")/lib.sh"

HTTP_EXTRA="allow: [127.0.0.1/32, '::1'], hosts: [dash.example]"
cluster_up
U=http://127.0.0.1:$HTTP_PORT
A() { "$DFFMPEG" admin -c "$T/coordinator.yaml" "$@"; }
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
# code PATH [CURL ARGS]: the status of a GET
code() { p=$1; shift; curl -s -o /dev/null -w '%{http_code}' "$@" "$U$p"; }
metric() { curl -s "$U/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
XSS='<img src=x onerror=alert(1)>'

# 1. Routes and their codes.
for p in / /health /metrics /api/v1/status /api/v1/jobs /api/v1/workers \
    /api/v1/workers/worker01 "/api/v1/jobs?state=completed,failed&window=1h&limit=5"; do
	[ "$(code "$p")" = 200 ] || bad "GET $p: $(code "$p")"
done
for p in /nope /api/v1 /api/v1/jobs/nope /api/v1/jobs/nope/logs /api/v1/workers/nope \
    /api/v1/status/x; do
	[ "$(code "$p")" = 404 ] || bad "GET $p: $(code "$p") (not 404)"
done
for p in "/api/v1/jobs?state=bogus" "/api/v1/jobs?window=soon" "/api/v1/jobs?limit=0" \
    "/api/v1/jobs/x/logs?after=-1"; do
	[ "$(code "$p")" = 400 ] || bad "GET $p: $(code "$p") (not 400)"
done
[ "$(code /health -X POST)" = 405 ] || bad "POST: $(code /health -X POST)"
curl -s -D "$T/h" -o /dev/null -X DELETE "$U/api/v1/jobs"
grep -qi "^Allow: GET, HEAD" "$T/h" || bad "405 without Allow: $(cat "$T/h")"
# Oversized: a header of 16 KiB, a URL of 16 KiB.
big=$(head -c 16384 /dev/zero | tr '\0' a)
c=$(code /health -H "X-Big: $big"); case $c in 400|413|431) ;; *) bad "oversized header: $c" ;; esac
c=$(code "/api/v1/jobs?cursor=$big"); case $c in 400|413|414|431) ;; *) bad "oversized URL: $c" ;; esac
# From an address outside http.allow (127.0.0.2 is loopback too).
[ "$(code /health --interface 127.0.0.2)" = 403 ] || bad "refused address: $(code /health --interface 127.0.0.2)"
[ "$(code / --interface 127.0.0.2)" = 403 ] || bad "refused address on /"
# Headers: no cache anywhere; the page with its CSP; HEAD without a body.
for p in / /health /metrics /api/v1/status /nope; do
	curl -s -D "$T/h" -o /dev/null "$U$p"
	grep -qi "^Cache-Control: no-store" "$T/h" || bad "$p: no Cache-Control: $(cat "$T/h")"
done
curl -s -D "$T/h" -o /dev/null "$U/"
grep -qi "^Content-Type: text/html" "$T/h" || bad "/ content type"
grep -qi "^Content-Security-Policy: default-src 'none'; script-src 'sha256-" "$T/h" || bad "/ without its CSP"
curl -s -D "$T/h" -o /dev/null "$U/metrics"
grep -qi "^Content-Type: text/plain; version=0.0.4" "$T/h" || bad "/metrics content type"
# HEAD: the headers with the body's length, and no body: the answer to a
# GET that follows on the same connection starts right after them.
python3 - "$HTTP_PORT" >"$T/head" <<'PY' || bad "HEAD then GET on one connection: $(cat "$T/head")"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"HEAD /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
          b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
data = b""
s.settimeout(5)
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
head, rest = data.split(b"\r\n\r\n", 1)
lengths = [l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
print(head.split(b"\r\n")[0].decode(), lengths, rest[:12])
ok = head.startswith(b"HTTP/1.1 200") and lengths and int(lengths[0].split(b":")[1]) > 0 \
    and rest.startswith(b"HTTP/1.1 200") and rest.count(b'"status":"ok"') == 1
sys.exit(0 if ok else 1)
PY
# Host: an address, localhost or a name of http.hosts; not another name
# (a page whose name was rebound to 127.0.0.1).
[ "$(code /health -H 'Host: evil.example')" = 403 ] || bad "a foreign Host: $(code /health -H 'Host: evil.example')"
[ "$(code /health -H "Host: localhost:$HTTP_PORT")" = 200 ] || bad "Host: localhost"
[ "$(code /health -H 'Host: DASH.example:8000')" = 200 ] || bad "a name of http.hosts"
[ "$(code /health -H 'Host: [::1]:8000')" = 200 ] || bad "Host: [::1]"
# A slow client holding a half-sent request does not hold the others up.
exec 5<>"/dev/tcp/127.0.0.1/$HTTP_PORT"
printf 'GET /health HTTP/1.1\r\nHost: x\r\n' >&5
[ "$(code /health -m 2)" = 200 ] || bad "a half-sent request blocked another"
exec 5>&-

# 2. Counters before the jobs.
sub0=$(metric 'dffmpeg_jobs_submitted_total{binary="ffmpeg"}')
done0=$(metric 'dffmpeg_jobs_finished_total{binary="ffmpeg",outcome="completed"}')
hb0=$(metric 'dffmpeg_messages_received_total{type="heartbeat"}')
[ "$sub0" = 0 ] && [ -n "$hb0" ] || bad "metrics before jobs: submitted '$sub0', heartbeats '$hb0'"

# 3. A job that completes, and one that runs for a while with an argument
# that is HTML.
"$T/bin/ffmpeg" -hide_banner -loglevel error -f lavfi -i testsrc=d=0.5:s=64x64 -f null - \
    </dev/null || bad "a short job failed"
make_clip "$T/media/in.mkv" 40
"$T/bin/ffmpeg" -hide_banner -re -i "$T/media/in.mkv" -metadata "comment=$XSS" \
    -f null - </dev/null >/dev/null 2>"$T/long.err" &
long=$!
running_id() {
	curl -s "$U/api/v1/jobs?state=running" | jget "[j['id'] for j in d['jobs'] if 'onerror' in j['command']][0]"
}
wait_for 15 running_id >/dev/null || fail "the job does not run: $(cat "$T/long.err")"
id=$(running_id)
# The API's documents are the CLI's.
curl -s "$U/api/v1/jobs/$id" | jget "sorted(d['job'].keys())" >"$T/api.keys"
A job show --json "$id" | jget "sorted(d['job'].keys())" >"$T/cli.keys"
cmp -s "$T/api.keys" "$T/cli.keys" || bad "job keys differ: $(diff "$T/cli.keys" "$T/api.keys")"
curl -s "$U/api/v1/jobs/$id" | jget "d['job']['args']" | grep -qF "comment=$XSS" || bad "job args"
curl -s "$U/api/v1/workers/worker01" | jget "sorted(d['worker'].keys())" >"$T/api.keys"
A worker show --json worker01 | jget "sorted(d['worker'].keys())" >"$T/cli.keys"
cmp -s "$T/api.keys" "$T/cli.keys" || bad "worker keys differ: $(diff "$T/cli.keys" "$T/api.keys")"
curl -s "$U/api/v1/status" | jget "(d['workers'][0]['name'], d['workers'][0]['load'] is not None, d['workers'][0]['cpus'] > 0, d['unfinished']['running'])" >"$T/s"
grep -qx "('worker01', True, True, 1)" "$T/s" || bad "status: $(cat "$T/s")"
[ "$(metric 'dffmpeg_jobs{state="running",binary="ffmpeg"}')" = 1 ] || bad "dffmpeg_jobs running"
[ "$(metric 'dffmpeg_worker_running_jobs{worker="worker01"}')" = 1 ] || bad "worker running jobs"

# A job that fails, for the dashboard and the counters.
"$T/bin/ffmpeg" -hide_banner -i "$T/media/missing.mkv" -f null - </dev/null >/dev/null 2>&1

# 4. The dashboard in headless Chromium: the running job with its progress
# and the worker, twice, and the progress advanced between the two.
dom() {
	timeout -k 5 60 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
	    --user-data-dir="$T/chromium" --virtual-time-budget=4000 --dump-dom "$U/" \
	    2>>"$T/chromium.log"
}
percent() {
	python3 - "$1" "$id" <<'EOF'
import re, sys
html = open(sys.argv[1]).read()
row = re.search(r'<tr[^>]*data-job="%s"[^>]*>(.*?)</tr>' % sys.argv[2], html, re.S)
bar = row and re.search(r'data-percent="([0-9.]+)"', row.group(0))
print(bar.group(1) if bar else "none")
EOF
}
sleep 2
dom >"$T/dom1.html" || bad "chromium failed: $(tail -n 3 "$T/chromium.log")"
grep -q "data-worker=\"worker01\"" "$T/dom1.html" || bad "the dashboard lists no worker01"
grep -q "data-job=\"$id\"[^>]*data-state=\"running\"\|data-state=\"running\"[^>]*data-job=\"$id\"" "$T/dom1.html" ||
    bad "the dashboard does not show job $id running"
p1=$(percent "$T/dom1.html")
# The argument is text: escaped in the serialised DOM, never an element.
grep -qF '&lt;img src=x onerror=alert(1)&gt;' "$T/dom1.html" || bad "the argument is not shown as text"
grep -q '<img[^>]*onerror' "$T/dom1.html" && bad "the argument became an element"
sleep 3
dom >"$T/dom2.html" || bad "chromium failed again"
p2=$(percent "$T/dom2.html")
python3 -c "import sys; sys.exit(0 if float('$p2' if '$p2' != 'none' else -1) > float('$p1' if '$p1' != 'none' else 100) else 1)" ||
    bad "progress did not advance on the dashboard: $p1 -> $p2"
timeout -k 5 60 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --user-data-dir="$T/chromium" --virtual-time-budget=4000 --hide-scrollbars \
    --window-size=1280,640 --screenshot="$T/dashboard.png" "$U/" 2>>"$T/chromium.log" ||
    bad "no screenshot"
[ -s "$T/dashboard.png" ] || bad "the screenshot is empty"
[ -z "${SCREENSHOT:-}" ] || cp "$T/dashboard.png" "$SCREENSHOT"
# Enough: an administrator cancels it (its client exits as after a kill).
A job cancel "$id" >/dev/null || bad "job cancel"
wait $long
[ $? != 0 ] || bad "the canceled job's client exited 0"
# A job's detail (the page opened on #job=ID): its arguments as text, its
# transitions, its log.
timeout -k 5 60 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --user-data-dir="$T/chromium" --virtual-time-budget=4000 --dump-dom "$U/#job=$id" \
    >"$T/detail.html" 2>>"$T/chromium.log" || bad "chromium failed on the detail"
python3 - "$T/detail.html" "$id" >"$T/detail.check" <<'PY' || bad "the job's detail lacks: $(cat "$T/detail.check")"
import re, sys
html = open(sys.argv[1]).read()
d = re.search(r'<aside id="detail"[^>]*>(.*?)</aside>', html, re.S)
if not d or 'data-job="%s"' % sys.argv[2] not in d.group(0):
    print('an open detail'); sys.exit(1)
body = d.group(1)
args = re.search(r'<ol[^>]*id="args"[^>]*>(.*?)</ol>', body, re.S)
checks = {
    'the argument as text': args and 'comment=&lt;img src=x onerror=alert(1)&gt;' in args.group(1),
    'no element': '<img' not in body,
    'the timeline': re.search(r'running.*canceling.*canceled', re.sub(r'<[^>]+>', ' ', body), re.S),
    'the log': re.search(r'<pre[^>]*id="log"[^>]*>.*Input #0', body, re.S),
}
bad = [k for k, v in checks.items() if not v]
print(', '.join(bad)); sys.exit(1 if bad else 0)
PY

# 5. Counters moved; the text passes promtool.
curl -s "$U/metrics" >"$T/metrics"
promtool check metrics <"$T/metrics" >"$T/promtool" 2>&1 || bad "promtool: $(cat "$T/promtool")"
[ "$(metric 'dffmpeg_jobs_submitted_total{binary="ffmpeg"}')" -ge 3 ] || bad "submitted did not move"
[ "$(metric 'dffmpeg_jobs_finished_total{binary="ffmpeg",outcome="completed"}')" -gt "$done0" ] || bad "completed did not move"
[ "$(metric 'dffmpeg_jobs_finished_total{binary="ffmpeg",outcome="canceled"}')" = 1 ] || bad "canceled did not move"
[ "$(metric 'dffmpeg_jobs_finished_total{binary="ffmpeg",outcome="failed"}')" -ge 1 ] || bad "failed did not move"
[ "$(metric 'dffmpeg_jobs_started_total{binary="ffmpeg"}')" -ge 2 ] || bad "started did not move"
[ "$(metric 'dffmpeg_dispatch_latency_seconds_count')" -ge 2 ] || bad "dispatch latency count"
[ "$(metric 'dffmpeg_job_duration_seconds_count{binary="ffmpeg"}')" -ge 2 ] || bad "job duration count"
[ "$(metric 'dffmpeg_messages_received_total{type="heartbeat"}')" -gt "$hb0" ] || bad "heartbeats did not move"
[ "$(metric 'dffmpeg_store_commit_seconds_count')" -gt 0 ] || bad "store commits"
[ "$(metric 'dffmpeg_workers{state="online"}')" = 1 ] || bad "workers online"
[ "$(metric 'dffmpeg_mqtt_connected')" = 1 ] || bad "mqtt connected"
grep -q '^dffmpeg_http_requests_total{route="/api/v1/jobs/\*",code="404"} [1-9]' "$T/metrics" || bad "http requests by route"
# A forged heartbeat (its MAC is wrong) is dropped, counted by reason and
# the type it claims.
printf '{"v":1,"type":"heartbeat","id":"forged-1","from":"worker01","ts":%s,"body":{"session":"x"}}\nAAAA' \
    "$(ms)" | mosquitto_pub -p "$PORT" -t dffmpeg/coord/worker01 -s || bad "mosquitto_pub"
forged() { [ "$(metric 'dffmpeg_messages_dropped_total{reason="signature",type="heartbeat"}')" = 1 ]; }
wait_for 5 forged || bad "the forged heartbeat is not counted: $(grep dropped_total "$T/metrics")"

# 6. /health: 503 while the broker is gone (killed: no wills), 200 again
# once it is back; then the same with a SIGTERM stop.
health() { curl -s -o "$T/health" -w '%{http_code}' -m 2 "$U/health"; }
health_is() { [ "$(health)" = "$1" ]; }
kill -KILL "$PID_mosquitto"
wait_for 15 health_is 503 || fail "/health stayed $(health) without a broker"
jget "d['status'] + ' ' + str('broker' in d['reason'])" <"$T/health" | grep -qx "unavailable True" ||
    bad "/health without a broker: $(cat "$T/health")"
[ "$(metric dffmpeg_mqtt_connected)" = 0 ] || bad "mqtt_connected while the broker is gone"
broker_up "$PORT"
wait_for 15 health_is 200 || fail "/health stayed $(health) after the broker came back"
[ "$(metric dffmpeg_mqtt_reconnects_total)" = 1 ] || bad "reconnects: $(metric dffmpeg_mqtt_reconnects_total) (not 1)"
# And stopped as systemd stops it (SIGTERM: it publishes every will first),
# then back within the minute: 503, then 200 again, a second reconnect.
kill -TERM "$PID_mosquitto"
wait_for 15 health_is 503 || fail "/health stayed $(health) with the broker stopped"
broker_up "$PORT"
wait_for 15 health_is 200 || fail "/health stayed $(health) after the second restart"
[ "$(metric dffmpeg_mqtt_reconnects_total)" = 2 ] || bad "reconnects: $(metric dffmpeg_mqtt_reconnects_total) (not 2)"
online_again() { [ "$(metric 'dffmpeg_workers{state="online"}')" = 1 ]; }
wait_for 10 online_again || bad "worker01 is not online after the restarts"

[ "$FAILED" = 0 ] && pass
exit 1
