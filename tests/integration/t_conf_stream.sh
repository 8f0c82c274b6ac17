#!/bin/bash
# Drop-in conformance, streams (design §6.1 step 4, §6.2): a large binary
# stdout read by a slow consumer arrives byte-exact with bounded proxy
# memory; media on stdin; single stdin bytes ('q') arrive unbuffered; '\r'
# progress updates arrive as they are written, not re-chunked into lines.
# Every case runs; the failures are listed at the end.
. "$(dirname "$0")/lib.sh"

# rss_kb PID: the process's resident set in kB (empty once it is gone).
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

cluster_up
make_clip "$T/media/clip.mp4"

# 4. Raw video on stdout (16 s of 1280x720 yuv420p, 553 MB) to a slow
# consumer: the same sha256 as locally, exit 0, proxy RSS below 64 MB.
raw="-v error -f lavfi -i testsrc=size=1280x720:rate=25 -t 16 -pix_fmt yuv420p -f rawvideo pipe:1"
ffmpeg $raw </dev/null | sha256sum >"$T/raw.l.sum"
mkfifo "$T/raw.fifo"
slow_reader <"$T/raw.fifo" | sha256sum >"$T/raw.p.sum" &
rpid=$!
# AddressSanitizer keeps freed memory in a 256 MB quarantine, which
# would count as the proxy's RSS: turn it off for this proxy.
asan=
grep -q __asan_init "$DFFMPEG" &&
    asan="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
t0=$(ms)
ASAN_OPTIONS=$asan "$T/bin/ffmpeg" $raw </dev/null >"$T/raw.fifo" 2>"$T/raw.p.err" &
ppid=$!
peak=0 bpeak=0 wpeak=0
while kill -0 $ppid 2>/dev/null; do
	r=$(rss_kb $ppid)
	[ -n "$r" ] && [ "$r" -gt $peak ] && peak=$r
	r=$(rss_kb $PID_mosquitto)
	[ -n "$r" ] && [ "$r" -gt $bpeak ] && bpeak=$r
	r=$(rss_kb $PID_worker01)
	[ -n "$r" ] && [ "$r" -gt $wpeak ] && wpeak=$r
	[ $(( $(ms) - t0 )) -gt 90000 ] && { kill -KILL $ppid; bad "raw: still running after 90 s"; }
	sleep 0.1
done
wait $ppid
prc=$?
wait $rpid
echo "     raw: $(( $(ms) - t0 )) ms, VmRSS peaks: proxy $peak kB, worker $wpeak kB, broker $bpeak kB"
[ $prc = 0 ] || bad "raw: exit status $prc: $(head -c 300 "$T/raw.p.err")"
[ -s "$T/raw.p.err" ] && bad "raw: unexpected stderr: $(head -c 300 "$T/raw.p.err")"
cmp -s "$T/raw.p.sum" "$T/raw.l.sum" ||
    bad "raw: sha256 $(cut -c1-16 "$T/raw.p.sum"), local $(cut -c1-16 "$T/raw.l.sum")"
[ $peak -gt 0 ] || bad "raw: could not sample the proxy's RSS"
[ $peak -lt 65536 ] || bad "raw: proxy VmRSS peaked at $peak kB (limit 65536)"

# 4b. A consumer that stops reading for 17 s, longer than the data plane's
# peer-lost timeout (15 s): the remote ffmpeg is held back meanwhile (it
# would be done in about 1.5 s), and then the bytes arrive intact.
raw="-v error -f lavfi -i testsrc=size=1280x720:rate=25 -t 4 -pix_fmt yuv420p -f rawvideo pipe:1"
ffmpeg $raw </dev/null | sha256sum >"$T/stall.l.sum"
t0=$(ms)
{ "$T/bin/ffmpeg" $raw </dev/null 2>"$T/stall.p.err"; echo $? >"$T/stall.p.rc"; } |
    { dd bs=1M count=10 iflag=fullblock status=none; sleep 17; cat; } |
    sha256sum >"$T/stall.p.sum" &
spid=$!
sleep 8
pgrep -P "$PID_worker01" -f rawvideo >/dev/null ||
    bad "stall: the remote ffmpeg was not held back (gone 8 s into the stall)"
wait $spid
echo "     stall: $(( $(ms) - t0 )) ms"
[ "$(cat "$T/stall.p.rc")" = 0 ] ||
    bad "stall: exit status $(cat "$T/stall.p.rc"): $(head -c 300 "$T/stall.p.err")"
cmp -s "$T/stall.p.sum" "$T/stall.l.sum" || bad "stall: stdout differs from local"

# 4c. The consumer goes away early (head -c): a local ffmpeg gets EPIPE
# on its next write and fails with "Broken pipe" ... "Conversion failed!",
# exit 1 (it ignores SIGPIPE); the proxy must end the same way.
raw="-hide_banner -f lavfi -i testsrc=size=1280x720:rate=25 -t 16 -pix_fmt yuv420p -f rawvideo pipe:1"
ffmpeg $raw </dev/null 2>"$T/epipe.l.err" | head -c 10000000 >/dev/null
lrc=${PIPESTATUS[0]}
"$T/bin/ffmpeg" $raw </dev/null 2>"$T/epipe.p.err" | head -c 10000000 >/dev/null
prc=${PIPESTATUS[0]}
echo "     early close: exit status $prc, local $lrc"
[ $prc = $lrc ] || bad "early close: exit status $prc, local $lrc; the proxy's stderr ends: $(tail -n 1 "$T/epipe.p.err" | tr '\r' '\n' | tail -n 1)"
grep -q 'Broken pipe' "$T/epipe.l.err" ||
    bad "early close: even the local run did not see EPIPE (a useless case)"
grep -q 'Broken pipe' "$T/epipe.p.err" ||
    bad "early close: the remote ffmpeg never saw a broken pipe: $(grep -ao 'received signal [0-9]*' "$T/epipe.p.err")"

# 5a. Media on stdin: exit status and output bytes as locally.
cat "$T/media/clip.mp4" | "$T/bin/ffmpeg" -hide_banner -i pipe:0 -f null - \
    >/dev/null 2>"$T/in.p.err"
prc=$?
cat "$T/media/clip.mp4" | ffmpeg -hide_banner -i pipe:0 -f null - \
    >/dev/null 2>"$T/in.l.err"
lrc=$?
[ $prc = 0 ] && [ $lrc = 0 ] ||
    bad "stdin media to null: exit status $prc, local $lrc: $(tail -c 300 "$T/in.p.err")"
remux="-v error -i pipe:0 -c copy -f mpegts pipe:1"
cat "$T/media/clip.mp4" | "$T/bin/ffmpeg" $remux 2>"$T/remux.p.err" | sha256sum >"$T/remux.p.sum"
prc=${PIPESTATUS[1]}
cat "$T/media/clip.mp4" | ffmpeg $remux 2>/dev/null | sha256sum >"$T/remux.l.sum"
[ $prc = 0 ] || bad "stdin remux: exit status $prc: $(head -c 300 "$T/remux.p.err")"
cmp -s "$T/remux.p.sum" "$T/remux.l.sum" || bad "stdin remux: stdout differs from local"
# stdin a regular file (read chunk by chunk, it cannot be polled)
"$T/bin/ffmpeg" $remux <"$T/media/clip.mp4" 2>"$T/remuxf.p.err" | sha256sum >"$T/remuxf.p.sum"
prc=${PIPESTATUS[0]}
[ $prc = 0 ] || bad "stdin file remux: exit status $prc: $(head -c 300 "$T/remuxf.p.err")"
cmp -s "$T/remuxf.p.sum" "$T/remux.l.sum" || bad "stdin file remux: stdout differs from local"
cat "$T/media/clip.mp4" | "$T/bin/ffmpeg" -v error -i pipe:0 -c:v libx264 \
    -preset ultrafast -c:a copy -y "$T/media/fromstdin.mp4" 2>"$T/fs.err" ||
    bad "stdin to file: exit status $?: $(head -c 300 "$T/fs.err")"
d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 \
    "$T/media/fromstdin.mp4" 2>/dev/null)
case "$d" in 1.9*|2.0*) ;; *) bad "stdin to file: duration '$d', expected 2" ;; esac

# 5b. A single 'q' on a stdin that stays open (no EOF to flush it) stops an
# endless transcode: exit 0 (a local ffmpeg exits 0 within ~60 ms here)
# within 3 s, and the mp4 is complete.
mkfifo "$T/q.fifo"
"$T/bin/ffmpeg" -hide_banner -f lavfi -i testsrc=rate=25 -c:v libx264 \
    -preset ultrafast -y "$T/media/inf.mp4" <"$T/q.fifo" >"$T/q.out" 2>"$T/q.err" &
qpid=$!
exec 3>"$T/q.fifo"
sleep 2
if kill -0 $qpid 2>/dev/null; then
	printf q >&3
	t0=$(ms)
	while kill -0 $qpid 2>/dev/null && [ $(( $(ms) - t0 )) -lt 10000 ]; do
		sleep 0.05
	done
	qms=$(( $(ms) - t0 ))
	echo "     q: the proxy exited $qms ms after the 'q'"
	kill -0 $qpid 2>/dev/null && { kill -KILL $qpid; bad "q: still running 10 s after the 'q'"; }
	wait $qpid
	qrc=$?
	[ $qrc = 0 ] || bad "q: exit status $qrc, local 0: $(tail -c 300 "$T/q.err")"
	[ $qms -le 3000 ] || bad "q: exited $qms ms after the 'q' (limit 3000)"
else
	wait $qpid
	bad "q: the proxy ended before the 'q' (status $?): $(tail -c 300 "$T/q.err")"
fi
exec 3>&-
d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 \
    "$T/media/inf.mp4" 2>/dev/null)
awk -v d="${d:-0}" 'BEGIN { exit !(d > 0) }' ||
    bad "q: the mp4 has no duration ('$d'); it was not finished"

# 10. '\r' progress: the updates arrive one by one while the job runs.
# stamp writes one line per '\r'-terminated segment: arrival time in ms.
stamp() {
	while IFS= read -r -d $'\r' seg; do
		case "$seg" in *frame=*) ms ;; esac
	done
}
cr="-hide_banner -stats -re -f lavfi -i testsrc=rate=5 -t 3 -f null -"
{ "$T/bin/ffmpeg" $cr </dev/null 2>&1 >/dev/null; echo $? >"$T/cr.p.rc"; } |
    tee "$T/cr.p.err" | stamp >"$T/cr.p.times"
{ ffmpeg $cr </dev/null 2>&1 >/dev/null; echo $? >"$T/cr.l.rc"; } |
    tee "$T/cr.l.err" | stamp >"$T/cr.l.times"
[ "$(cat "$T/cr.p.rc")" = "$(cat "$T/cr.l.rc")" ] ||
    bad "progress: exit status $(cat "$T/cr.p.rc"), local $(cat "$T/cr.l.rc")"
np=$(tr -cd '\r' <"$T/cr.p.err" | wc -c)
nl=$(tr -cd '\r' <"$T/cr.l.err" | wc -c)
echo "     progress: $np '\\r' through the proxy, $nl locally"
[ $nl -ge 3 ] || bad "progress: the local run printed only $nl '\\r' (a useless case)"
[ $np -ge $(( nl - 2 )) ] && [ $np -le $(( nl + 2 )) ] ||
    bad "progress: $np '\\r' in the proxy's stderr, local $nl"
spread() { [ -s "$1" ] && echo $(( $(tail -n 1 "$1") - $(head -n 1 "$1") )) || echo 0; }
sp=$(spread "$T/cr.p.times")
sl=$(spread "$T/cr.l.times")
echo "     progress: updates spread over $sp ms through the proxy, $sl ms locally"
[ $sp -ge 1500 ] || bad "progress: the updates arrived within $sp ms (local $sl): held back and delivered in bulk"
# ffmpeg writes an update every 500 ms: a longer gap means held back.
gp=$(awk 'NR > 1 && $1 - p > m { m = $1 - p } { p = $1 } END { print m + 0 }' "$T/cr.p.times")
gl=$(awk 'NR > 1 && $1 - p > m { m = $1 - p } { p = $1 } END { print m + 0 }' "$T/cr.l.times")
echo "     progress: longest gap between updates $gp ms through the proxy, $gl ms locally"
[ $gp -le 1000 ] || bad "progress: $gp ms between two updates (local at most $gl)"
cmp -s <(norm "$T/cr.p.err") <(norm "$T/cr.l.err") ||
    bad "progress: stderr outside the progress updates differs from local"

[ "$FAILED" = 0 ] && pass
exit 1
