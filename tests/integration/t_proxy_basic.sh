#!/bin/bash
# Through the ffmpeg/ffprobe links: the same stdout, stderr and exit code
# as the local binaries, and a transcode that writes a readable mp4.
. "$(dirname "$0")/lib.sh"
cluster_up
make_clip "$T/media/clip.mp4"

# -version: same stdout, exit 0
"$T/bin/ffmpeg" "${VJOB[@]}" >"$T/v1" 2>"$T/v1e"; rc=$?
[ $rc = 0 ] || fail "ffmpeg -version exited $rc: $(cat "$T/v1e")"
ffmpeg -hide_banner -version >"$T/v2" 2>/dev/null
cmp -s "$T/v1" "$T/v2" || fail "-version stdout differs"
[ -s "$T/v1" ] || fail "-version printed nothing"

# ffprobe JSON: same stdout
"$T/bin/ffprobe" -v error -of json -show_format -show_streams \
    "$T/media/clip.mp4" >"$T/p1" || fail "ffprobe through the proxy failed"
ffprobe -v error -of json -show_format -show_streams "$T/media/clip.mp4" >"$T/p2"
cmp -s "$T/p1" "$T/p2" || fail "ffprobe json differs"
grep -q '"codec_name": "h264"' "$T/p1" || fail "ffprobe json has no h264 stream"

# a transcode to mp4 that local ffprobe reads
"$T/bin/ffmpeg" -v error -i "$T/media/clip.mp4" -c:v libx264 -preset ultrafast \
    -c:a copy -y "$T/media/out.mp4" || fail "transcode failed"
d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$T/media/out.mp4") \
    || fail "local ffprobe cannot read the output"
case "$d" in 1.9*|2.0*) ;; *) fail "unexpected duration $d" ;; esac

# a failing command: same exit code and same stderr
"$T/bin/ffmpeg" -hide_banner -i "$T/media/missing.mp4" -f null - 2>"$T/e1"; rc1=$?
ffmpeg -hide_banner -i "$T/media/missing.mp4" -f null - 2>"$T/e2"; rc2=$?
[ $rc1 = $rc2 ] || fail "exit code $rc1, local $rc2"
[ $rc1 != 0 ] || fail "missing input exited 0"
cmp -s "$T/e1" "$T/e2" || fail "stderr differs"

# the job states recorded by the coordinator
n=$(sqlite3 "$T/coordinator.db" "select count(*) from jobs where state='completed'") \
    || fail "cannot read the coordinator's database"
[ "$n" -ge 3 ] || fail "expected >= 3 completed jobs, got $n"
pass
