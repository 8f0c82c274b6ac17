#!/bin/bash
# Drop-in conformance, probes (design §6.2): Jellyfin's startup probes, the
# '?' key probe and ffprobe JSON give the same stdout bytes, stderr bytes
# and exit status through the proxy as the local binaries.  Every case
# runs; the failures are listed at the end.
. "$(dirname "$0")/lib.sh"

# same LABEL BINARY ARGS...: through the proxy and locally, stdin from
# /dev/null: stdout, stderr and exit status must be identical.
same() {
	label=$1 bin=$2
	shift 2
	"$T/bin/$bin" "$@" </dev/null >"$T/$label.p.out" 2>"$T/$label.p.err"
	prc=$?
	"$bin" "$@" </dev/null >"$T/$label.l.out" 2>"$T/$label.l.err"
	lrc=$?
	[ $prc = $lrc ] || bad "$label: exit status $prc, local $lrc"
	cmp -s "$T/$label.p.out" "$T/$label.l.out" ||
	    bad "$label: $(differ stdout "$T/$label.p.out" "$T/$label.l.out")"
	cmp -s "$T/$label.p.err" "$T/$label.l.err" ||
	    bad "$label: $(differ stderr "$T/$label.p.err" "$T/$label.l.err")"
	[ -s "$T/$label.l.out" ] || [ -s "$T/$label.l.err" ] ||
	    bad "$label: the local run printed nothing (a useless case)"
}

cluster_up

# 1. The startup probes of EncoderValidator.cs.
same version ffmpeg -version
same encoders ffmpeg -encoders
same decoders ffmpeg -decoders
same hwaccels ffmpeg -hwaccels
same filters ffmpeg -filters
same hfilter ffmpeg -h filter=scale
same buildconf ffmpeg -hide_banner -buildconf
same probe_version ffprobe -version
# Larger outputs of a process that exits at once (-h full: about 1 MB).
same codecs ffmpeg -hide_banner -codecs
same hfull ffmpeg -hide_banner -h full
grep -q '^ffmpeg version ' "$T/version.p.out" ||
    bad "version: stdout lacks 'ffmpeg version' (Jellyfin rejects the binary)"

# 1b. The pure listings are answered by the coordinator from what the
# worker's ffmpeg printed: no job, no process on the worker, the same
# bytes on every call (with and without -hide_banner).
same hb_encoders ffmpeg -hide_banner -encoders
same hb_after ffmpeg -filters -hide_banner
for o in version encoders decoders hwaccels filters; do
	[ "$(q "select count(*) from jobs where binary = 'ffmpeg' and args = '[\"-$o\"]'")" = 0 ] ||
	    bad "-$o ran as a job: $(q "select state, worker from jobs where binary = 'ffmpeg' and args = '[\"-$o\"]'")"
done
grep -q "answered from what worker01 printed" "$T/client.log" ||
    bad "the proxy did not log where the answer came from"
kids0=$(pgrep -c -P "$PID_worker01")
for i in $(seq 20); do
	"$T/bin/ffmpeg" -encoders >"$T/rep.out" 2>"$T/rep.err" || bad "-encoders call $i failed"
	cmp -s "$T/rep.out" "$T/encoders.l.out" && cmp -s "$T/rep.err" "$T/encoders.l.err" ||
	    { bad "-encoders call $i differs"; break; }
	[ "$(pgrep -c -P "$PID_worker01")" -le "$kids0" ] || bad "call $i: the worker has a child process"
done

# 2. The runtime-key probe, as Jellyfin sends it: '?' and EOF on stdin.
# Jellyfin uses d=1000 for ffmpeg < 7.0 (ours is older; ~0.3 s, so the key
# must reach the remote ffmpeg quickly) and d=10000 for 7.0 and later.
# Two local runs differ only in the progress lines, so stderr is compared
# after norm; the raw stderr must still hold the key help.
for d in 1000 10000; do
	args="-hide_banner -f lavfi -i nullsrc=s=1x1:d=$d -f null -"
	printf '?' | "$T/bin/ffmpeg" $args >"$T/key$d.p.out" 2>"$T/key$d.p.err"
	prc=$?
	printf '?' | ffmpeg $args >"$T/key$d.l.out" 2>"$T/key$d.l.err"
	lrc=$?
	[ $prc = $lrc ] || bad "key probe d=$d: exit status $prc, local $lrc"
	grep -q '^?      show this help' "$T/key$d.l.err" ||
	    bad "key probe d=$d: even the local run shows no key help"
	grep -q '^?      show this help' "$T/key$d.p.err" &&
	    grep -q '^q      quit' "$T/key$d.p.err" ||
	    bad "key probe d=$d: no key help in the proxy's stderr"
	cmp -s "$T/key$d.p.out" "$T/key$d.l.out" ||
	    bad "key probe d=$d: $(differ stdout "$T/key$d.p.out" "$T/key$d.l.out")"
	norm "$T/key$d.p.err" >"$T/key$d.p.norm"
	norm "$T/key$d.l.err" >"$T/key$d.l.norm"
	cmp -s "$T/key$d.p.norm" "$T/key$d.l.norm" ||
	    bad "key probe d=$d: normalised $(differ stderr "$T/key$d.p.norm" "$T/key$d.l.norm")"
done

# 3. ffprobe JSON, on a file with chapters and a name that needs care
# (spaces, '&', parentheses, non-ASCII), as the library scan does it.
dir="$T/media/Movies/Dune Part Two (2024)"
mkdir -p "$dir"
make_clip "$T/media/clip.mp4"
cat >"$T/chapters.txt" <<EOC
;FFMETADATA1
title=Conformance
[CHAPTER]
TIMEBASE=1/1000
START=0
END=1000
title=One
[CHAPTER]
TIMEBASE=1/1000
START=1000
END=2000
title=Two
EOC
movie="$dir/Björk & Co - Remux-2160p.mkv"
ffmpeg -v error -i "$T/media/clip.mp4" -i "$T/chapters.txt" -map 0 \
    -map_metadata 1 -map_chapters 1 -c copy -y "$movie" ||
    fail "cannot make the mkv with chapters"
same probe_json ffprobe -v error -of json -show_format -show_streams \
    -show_chapters "$movie"
grep -q '"title": "Two"' "$T/probe_json.p.out" ||
    bad "probe_json: no chapters in the proxy's stdout"
same probe_scan ffprobe -analyzeduration 200M -probesize 1G -i "file:$movie" \
    -threads 0 -v warning -print_format json -show_streams -show_chapters \
    -show_format
same probe_frames ffprobe -loglevel error -print_format json -show_frames \
    -v quiet -sexagesimal -read_intervals '%+#1' -select_streams v "$movie"
grep -q '"media_type": "video"' "$T/probe_frames.p.out" ||
    bad "probe_frames: no video frame in the proxy's stdout"
[ "$(grep -c '"media_type"' "$T/probe_frames.p.out")" = 1 ] ||
    bad "probe_frames: '%+#1' did not select exactly one frame"

[ "$FAILED" = 0 ] && pass
exit 1
