#!/bin/bash
# Jobs confined to their paths: an authenticated client cannot read or
# write a file outside the roots of its path variables, by an input, an
# output, "..", a symbolic link, a relative name, a filter's file option
# (all refused before the job starts, naming the path) or a concat list
# (denied by Landlock when ffmpeg opens it), while a transcode inside the
# roots, one with a subtitles filter (fonts) and one on the verified
# (software) Vulkan device still work.  Without Landlock (simulated):
# `confine: require` refuses to start, `best-effort` says so and runs.
. "$(dirname "$0")/lib.sh"

cluster_up
mkdir -p "$T/private"
echo "top secret $$" >"$T/private/secret"
chmod 600 "$T/private/secret"
make_clip "$T/media/in.mkv" 1
mkdir -p "$T/media/sub"
cp "$T/media/in.mkv" "$T/private/clip.mkv"
ln -s "$T/private" "$T/media/link"
grep -q "jobs are confined to their roots with Landlock (ABI [0-9]*)" "$T/worker01.log" ||
    bad "the worker does not say it confines jobs: $(grep -i landlock "$T/worker01.log")"
cd "$T/media"

# refused NAME EXPECTED-PATH ARGS...: the job fails before it starts, its
# error names the path, and nothing of the secret reaches stdout.
refused() {
	name=$1; path=$2; shift 2
	"$T/bin/ffmpeg" -hide_banner "$@" </dev/null >"$T/$name.out" 2>"$T/$name.err"
	rc=$?
	[ $rc = 1 ] || bad "$name: exit $rc (not 1)"
	grep -q "cannot run the job: .*names $path, outside the roots of its path variables" "$T/$name.err" ||
	    bad "$name: $(cat "$T/$name.err")"
	grep -q "top secret" "$T/$name.out" && bad "$name: the secret was read"
}
refused input "$T/private/secret" -f data -i "$T/private/secret" -map 0 -c copy -f data -
refused dotdot "$T/private/secret" -f data -i "$T/media/../private/secret" -map 0 -c copy -f data -
refused relative "$T/private/secret" -f data -i ../private/secret -map 0 -c copy -f data -
refused link "$T/private/secret" -f data -i "$T/media/link/secret" -map 0 -c copy -f data -
refused fileurl "$T/private/secret" -f data -i "file:$T/private/secret" -map 0 -c copy -f data -
refused fileslashes "$T/private/secret" -f data -i "file:/$T/private/secret" -map 0 -c copy -f data -
refused sublink "$T/private/secret" -f data -i "link/secret" -map 0 -c copy -f data -
refused subdotdot "$T/private/secret" -f data -i "sub/../../private/secret" -map 0 -c copy -f data -
refused escaped "$T/private/secret" -f lavfi -i "color=s=64x64:d=1" \
    -vf "drawtext=textfile=\\$T/private/secret" -f null -
refused filter "$T/private/secret" -f lavfi -i "color=c=black:s=64x64:d=1" \
    -vf "drawtext=textfile=$T/private/secret" -f null -
refused output "$T/private/out.mkv" -i "$T/media/in.mkv" -c copy -y "$T/private/out.mkv"
# A filter that loads code from a file the client could have written.
"$T/bin/ffmpeg" -hide_banner -f lavfi -i "sine=d=1" -af "ladspa=file=$T/media/x.so:p=y" \
    -f null - </dev/null >/dev/null 2>"$T/ladspa.err"
[ $? = 1 ] && grep -q "uses the ladspa filter, which loads code from a file" "$T/ladspa.err" ||
    bad "ladspa: $(cat "$T/ladspa.err")"
refused linkout "$T/private/out2.mkv" -i "$T/media/in.mkv" -c copy -y "$T/media/link/out2.mkv"
[ -e "$T/private/out.mkv" ] || [ -e "$T/private/out2.mkv" ] && bad "a file was written outside the roots"

# A client of its own making sends a working directory that escapes its
# root (${Media}/../private) and a relative name from there: refused.
python3 - "$(sed -n 's/^hmac_key: "\(.*\)"$/\1/p' "$T/client.yaml")" "$PORT" <<'PY' ||
import base64, hashlib, hmac, json, subprocess, sys, time
key, port = base64.b64decode(sys.argv[1]), sys.argv[2]
topic = "dffmpeg/coord/jellyfin"
body = {"v": 1, "type": "submit", "id": "escapedcwdsubmit000001", "from": "jellyfin",
        "ts": int(time.time() * 1000),
        "body": {"job": "escapedcwdjob000000001", "session": "escapedcwdsession00001",
                 "binary": "ffmpeg", "args": ["-f", "data", "-i", "secret", "-map", "0",
                 "-c", "copy", "-f", "data", "-"], "cwd": "${Media}/../private",
                 "paths": ["Media"], "epoch": 1, "detached": True}}
js = json.dumps(body, separators=(",", ":"))
mac = hmac.new(key, topic.encode() + b"\0" + js.encode(), hashlib.sha256).digest()
subprocess.run(["mosquitto_pub", "-p", port, "-q", "1", "-t", topic, "-m",
                js + "\n" + base64.b64encode(mac).decode()], check=True)
PY
    bad "the crafted submit was not sent"
escaped_failed() { [ "$(q "select state from jobs where id = 'escapedcwdjob000000001'")" = failed ]; }
wait_for 10 escaped_failed || bad "the job with an escaping cwd: $(q "select state from jobs where id = 'escapedcwdjob000000001'")"
grep -q "job escapedcwdjob000000001: refused: its working directory $T/media/../private is outside the roots" \
    "$T/worker01.log" || bad "the escaping cwd was not named: $(grep escapedcwd "$T/worker01.log")"
grep -q "job .*: refused: argument 5 names $T/private/secret" "$T/worker01.log" ||
    bad "the worker does not log the refusal"

# A concat list inside the roots that names a file outside them: the
# arguments are fine, ffmpeg's open is denied by Landlock.
printf "file '%s'\n" "$T/private/clip.mkv" >"$T/media/list.txt"
"$T/bin/ffmpeg" -hide_banner -f concat -safe 0 -i "$T/media/list.txt" -c copy \
    -y "$T/media/concat.mkv" </dev/null >/dev/null 2>"$T/concat.err"
rc=$?
[ $rc != 0 ] || bad "the concat list was read"
grep -q "Permission denied" "$T/concat.err" || bad "concat: $(tail -n 3 "$T/concat.err")"
[ -s "$T/media/concat.mkv" ] && bad "concat wrote an output"

# What must keep working, confined: a transcode inside the roots, a
# subtitles filter (libass, fontconfig), the verified Vulkan device.
"$T/bin/ffmpeg" -hide_banner -loglevel error -i "$T/media/in.mkv" -c:v libx264 \
    -preset ultrafast -y "$T/media/out.mkv" </dev/null 2>"$T/ok.err" || bad "transcode: $(cat "$T/ok.err")"
ffprobe -v error "$T/media/out.mkv" || bad "the transcode's output is not media"
printf '1\n00:00:00,000 --> 00:00:01,000\nHello <b>there</b>\n' >"$T/media/s.srt"
"$T/bin/ffmpeg" -hide_banner -loglevel error -i "$T/media/in.mkv" -vf "subtitles=$T/media/s.srt" \
    -f null - </dev/null 2>"$T/subs.err" || bad "subtitles: $(cat "$T/subs.err")"
if grep -q "vulkan: verified" "$T/worker01.log"; then
	"$T/bin/ffmpeg" -hide_banner -loglevel error -init_hw_device vulkan=vk \
	    -f lavfi -i testsrc=d=1:s=64x64 -f null - </dev/null 2>"$T/vk.err" ||
	    bad "vulkan: $(cat "$T/vk.err")"
fi

# Without Landlock: require refuses to start; best-effort warns and runs
# (the arguments are still checked, the concat list is read).
kill -TERM "$PID_worker01"
wait_for 10 sh -c "! kill -0 $PID_worker01 2>/dev/null" || fail "worker01 did not stop"
DFFMPEG_NO_LANDLOCK=1 worker_up worker01 "" "confine: require"
wait_for 10 sh -c "! kill -0 $PID_worker01 2>/dev/null" || bad "confine: require ran without Landlock"
grep -q "confine: require, but this kernel offers no Landlock" "$T/worker01.log" ||
    bad "no reason for refusing to run: $(tail -n 2 "$T/worker01.log")"
DFFMPEG_NO_LANDLOCK=1 worker_up worker01 "" "confine: best-effort"
wait_for 15 sh -c "grep -c 'registered with the coordinator' '$T/worker01.log' | grep -qx 2" ||
    fail "worker01 did not register again"
grep -q "this kernel offers no Landlock: jobs run unconfined" "$T/worker01.log" || bad "no warning"
refused unconfined "$T/private/secret" -f data -i "$T/private/secret" -map 0 -c copy -f data -
"$T/bin/ffmpeg" -hide_banner -f concat -safe 0 -i "$T/media/list.txt" -f null - \
    </dev/null >/dev/null 2>"$T/concat2.err" || bad "best-effort without Landlock: $(tail -n 2 "$T/concat2.err")"
[ "$FAILED" = 0 ] && pass
exit 1
