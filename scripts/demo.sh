#!/bin/bash
# make demo: a private broker, a coordinator and a worker on this machine,
# and a real transcode through the `ffmpeg` link.  Everything it starts is
# stopped at the end, and its files live in a temporary directory.
. "$(dirname "$0")/../tests/integration/lib.sh"
TEST_NAME=demo

say() { printf '\n== %s\n' "$*"; }

say "starting a private mosquitto broker"
broker_up
echo "broker on 127.0.0.1:$PORT (config $T/mosquitto.conf)"

say "starting the coordinator"
coordinator_up
wait_for 5 test -f "$T/coordinator.db" || fail "the coordinator did not start"
sed 's/^/    /' "$T/coordinator.yaml"

say "creating identities (dffmpeg admin user add) and starting worker01"
client_config
worker_up worker01
wait_for 10 registered worker01 || fail "worker01 did not register"
grep "registered" "$T/coordinator.log" | sed 's/^/    /'

say "the ffmpeg link: $T/bin/ffmpeg -> $(readlink "$T/bin/ffmpeg")"
make_clip "$T/media/input.mp4" 5
echo "made a 5 s test clip: $T/media/input.mp4"

say "ffmpeg -version through the cluster"
"$T/bin/ffmpeg" -hide_banner -version | head -n 1

say "transcoding through the cluster: $T/bin/ffmpeg -i input.mp4 -vf scale=640:-2 ... output.mp4"
start=$(date +%s%N)
"$T/bin/ffmpeg" -hide_banner -loglevel info -stats -i "$T/media/input.mp4" \
    -vf scale=640:-2 -c:v libx264 -preset veryfast -c:a aac \
    -y "$T/media/output.mp4" || fail "the transcode failed"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "done in $ms ms; the worker's log says:"
grep "job .*: \(assigned\|started\|exited\)" "$T/worker01.log" | tail -n 3 | sed 's/^/    /'

say "the output, read by the local ffprobe"
ffprobe -v error -show_entries stream=codec_name,width,height:format=duration \
    -of default=nw=1 "$T/media/output.mp4" | sed 's/^/    /' \
    || fail "ffprobe cannot read the output"

say "the cluster, as dffmpeg client status shows it"
"$DFFMPEG" client status | sed 's/^/    /' || fail "client status failed"

say "a detached job: dffmpeg client submit --detach, then job logs -f"
id=$("$DFFMPEG" client submit --detach -- -hide_banner -i "$T/media/input.mp4" \
    -vf scale=320:-2 -c:v libx264 -preset veryfast -an -y "$T/media/small.mp4") ||
    fail "submit --detach failed"
echo "job id: $id"
"$DFFMPEG" client job logs -f "$id" | tail -n 4 | sed 's/^/    /'

say "the jobs, as dffmpeg client job list shows them"
"$DFFMPEG" client job list | sed 's/^/    /' || fail "client job list failed"

say "one job in detail: dffmpeg client job show $id"
"$DFFMPEG" client job show "$id" | sed 's/^/    /' || fail "client job show failed"

say "the coordinator's HTTP side: http://127.0.0.1:$HTTP_PORT/ (the dashboard)"
echo "GET /health:"
out=$(curl -fsS "http://127.0.0.1:$HTTP_PORT/health") || fail "/health failed"
echo "$out" | sed 's/^/    /'
echo "GET /metrics (some of it):"
out=$(curl -fsS "http://127.0.0.1:$HTTP_PORT/metrics") || fail "/metrics failed"
echo "$out" | grep -E '^dffmpeg_(jobs_finished_total\{binary="ffmpeg"|workers\{state="online"|dispatch_latency_seconds_count)' |
    sed 's/^/    /'
if [ -n "${DEMO_WAIT:-}" ]; then
	echo "DEMO_WAIT is set: the cluster stays up until you press Enter"
	read -r _
fi

say "demo complete: stopping the broker, coordinator and worker"
pass
