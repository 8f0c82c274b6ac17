#!/bin/bash
# Drop-in conformance, arguments, exit codes and cwd (design §6.2, §7):
# exit statuses other than 0 as locally; an empty-string argument and a
# cwd-relative output (Jellyfin's attachment dump); a closed or at-once
# EOF stdin; several outputs of one process.  Every case runs; the
# failures are listed at the end.
. "$(dirname "$0")/lib.sh"

# same LABEL NORM BINARY ARGS...: through the proxy and locally, stdin from
# /dev/null: stdout, stderr (passed through the function NORM) and exit
# status must be identical.
same() {
	label=$1 normf=$2 bin=$3
	shift 3
	"$T/bin/$bin" "$@" </dev/null >"$T/$label.p.out" 2>"$T/$label.p.err"
	prc=$?
	"$bin" "$@" </dev/null >"$T/$label.l.out" 2>"$T/$label.l.err"
	lrc=$?
	echo "     $label: exit status $prc, local $lrc"
	[ $prc = $lrc ] || bad "$label: exit status $prc, local $lrc"
	cmp -s "$T/$label.p.out" "$T/$label.l.out" ||
	    bad "$label: $(differ stdout "$T/$label.p.out" "$T/$label.l.out")"
	$normf <"$T/$label.p.err" >"$T/$label.p.nerr"
	$normf <"$T/$label.l.err" >"$T/$label.l.nerr"
	cmp -s "$T/$label.p.nerr" "$T/$label.l.nerr" ||
	    bad "$label: $(differ stderr "$T/$label.p.nerr" "$T/$label.l.nerr")"
}

# Normalisations of stderr.  asis: none.  noaddr: log prefixes such as
# "[mpegts @ 0x55bbe38079c0]" carry heap addresses, which differ between
# any two runs (ASLR); progress updates carry speed= values.
asis() { cat; }
noaddr() { sed 's/ @ 0x[0-9a-f]*\]/ @ ADDR]/g' | tr '\r' '\n' | grep -v 'frame='; }

cluster_up
make_clip "$T/media/clip.mp4"

# 11. Exit statuses.
same missing asis ffmpeg -hide_banner -i "$T/media/missing.mp4" -f null -
same badopt asis ffmpeg -hide_banner -foo
same noargs asis ffmpeg -hide_banner
same probe_missing asis ffprobe -hide_banner "$T/media/missing.mp4"
same probe_badopt asis ffprobe -hide_banner -foo
# 69: more decoding errors than -max_error_rate allows (a corrupt
# mpeg2 stream, decoded with -err_detect explode).
ffmpeg -v error -f lavfi -i testsrc=duration=2:size=320x240:rate=25 \
    -c:v mpeg2video -f mpegts -y "$T/media/bad.ts" || fail "cannot make bad.ts"
head -c 20000 /dev/zero | tr '\0' 'J' |
    dd of="$T/media/bad.ts" bs=20000 seek=1 count=1 conv=notrunc status=none
same errrate noaddr ffmpeg -hide_banner -max_error_rate 0 -err_detect explode \
    -i "$T/media/bad.ts" -f null -
[ $lrc = 69 ] || bad "errrate: the local run exited $lrc, not 69 (the case tests nothing new)"

# 12. Jellyfin's attachment dump: an empty-string argument, and the
# attachment written under its own name into the cwd, on the worker.
head -c 3000 /dev/urandom >"$T/font.ttf"
printf '1\n00:00:00,000 --> 00:00:01,000\nOne\n\n2\n00:00:01,000 --> 00:00:02,000\nTwo\n' \
    >"$T/subs.srt"
ffmpeg -v error -i "$T/media/clip.mp4" -i "$T/subs.srt" -map 0 -map 1 \
    -attach "$T/font.ttf" -metadata:s:t mimetype=application/x-truetype-font \
    -c copy -c:s srt -y "$T/media/sub.mkv" || fail "cannot make sub.mkv"
# attach_dump DIR: run the dump with DIR as cwd (proxy) and DIR.l (local).
attach_dump() {
	mkdir -p "$1" "$1.l"
	(cd "$1" && "$T/bin/ffmpeg" -dump_attachment:t "" -y \
	    -i "file:$T/media/sub.mkv" -t 0 -f null null </dev/null \
	    >"$1.p.out" 2>"$1.p.err")
	prc=$?
	(cd "$1.l" && ffmpeg -dump_attachment:t "" -y \
	    -i "file:$T/media/sub.mkv" -t 0 -f null null </dev/null \
	    >"$1.l.out" 2>"$1.l.err")
	lrc=$?
	label=$(basename "$1")
	[ $prc = $lrc ] || bad "$label: exit status $prc, local $lrc: $(tail -c 300 "$1.p.err")"
	cmp -s "$1.p.err" "$1.l.err" || bad "$label: $(differ stderr "$1.p.err" "$1.l.err")"
	[ -f "$1.l/font.ttf" ] || bad "$label: even the local run wrote no font.ttf"
	[ "$(ls -A "$1")" = "$(ls -A "$1.l")" ] ||
	    bad "$label: the cwd holds '$(ls -A "$1" | tr '\n' ' ')', locally '$(ls -A "$1.l" | tr '\n' ' ')'"
	cmp -s "$1/font.ttf" "$T/font.ttf" || bad "$label: no intact font.ttf in the cwd"
}
attach_dump "$T/media/attachments/9b/9b1deb4d"	# a mapped cwd
# An unmapped cwd does not travel: the job runs in "/", where its process
# may not write (Landlock), and ffmpeg says so; nothing lands in "/".
mkdir -p "$T/unmapped"
(cd "$T/unmapped" && "$T/bin/ffmpeg" -dump_attachment:t "" -y \
    -i "file:$T/media/sub.mkv" -t 0 -f null null </dev/null >/dev/null 2>"$T/unmapped.err")
[ $? != 0 ] || bad "unmapped cwd: the dump succeeded"
grep -q "Could not open file font.ttf for writing" "$T/unmapped.err" ||
    bad "unmapped cwd: $(tail -n 2 "$T/unmapped.err")"
[ -e /font.ttf ] && bad "unmapped cwd: the attachment was written to /"
[ -z "$(ls -A "$T/unmapped")" ] || bad "unmapped cwd: the client's cwd got files"

# An empty argument anywhere is kept: as the value of -metadata ffmpeg
# rejects it (exit 1, "No '=' character in metadata string ."); dropped,
# '-' would become the metadata and the run would differ.
same emptyarg asis ffmpeg -hide_banner -v error -i "$T/media/clip.mp4" \
    -t 0.1 -f null -metadata "" -

# Jellyfin's subtitle extraction: -nostdin, stdin at EOF at once (and
# closed altogether), several outputs of one process.
extract() {
	"$1" -nostdin -y -i "file:$T/media/sub.mkv" -map 0:2 -an -vn -c:s copy \
	    -flush_packets 1 "$2/2.srt" -map 0:2 -an -vn -c:s ass \
	    -flush_packets 1 "$2/2.ass"
}
mkdir -p "$T/media/subs.p" "$T/media/subs.c" "$T/media/subs.l"
: | extract "$T/bin/ffmpeg" "$T/media/subs.p" >/dev/null 2>"$T/subs.p.err"
prc=$?
extract "$T/bin/ffmpeg" "$T/media/subs.c" 0<&- >/dev/null 2>"$T/subs.c.err"
crc=$?
: | extract ffmpeg "$T/media/subs.l" >/dev/null 2>"$T/subs.l.err"
lrc=$?
[ $prc = $lrc ] || bad "extract: exit status $prc, local $lrc: $(tail -c 300 "$T/subs.p.err")"
[ $crc = $lrc ] || bad "extract, stdin closed: exit status $crc, local $lrc: $(tail -c 300 "$T/subs.c.err")"
for f in 2.srt 2.ass; do
	[ -s "$T/media/subs.l/$f" ] || bad "extract: even the local run wrote no $f"
	cmp -s "$T/media/subs.p/$f" "$T/media/subs.l/$f" || bad "extract: $f differs from local"
	cmp -s "$T/media/subs.c/$f" "$T/media/subs.l/$f" || bad "extract, stdin closed: $f differs from local"
done
# The output directories differ by name, and the progress updates by
# their speed= values.
subnorm() { sed 's#/subs\.[pcl]/#/subs.X/#' "$1" | tr '\r' '\n' | grep -v 'speed='; }
subnorm "$T/subs.p.err" >"$T/subs.p.nerr"
subnorm "$T/subs.l.err" >"$T/subs.l.nerr"
cmp -s "$T/subs.p.nerr" "$T/subs.l.nerr" ||
    bad "extract: $(differ stderr "$T/subs.p.nerr" "$T/subs.l.nerr")"

# A closed stdin must read as EOF, not as one of the proxy's own
# descriptors that happens to get number 0.
"$T/bin/ffmpeg" -version 0<&- >"$T/closed.out" 2>"$T/closed.err"
rc=$?
[ $rc = 0 ] || bad "stdin closed: -version exit status $rc: $(head -c 300 "$T/closed.err")"
cmp -s "$T/closed.out" <(ffmpeg -version) || bad "stdin closed: -version stdout differs"

[ "$FAILED" = 0 ] && pass
exit 1
