#!/bin/bash
# Hardware truth (design §8): a worker offers only the hardware it
# verified.  On this GPU-less machine the real ffmpeg's cuda, vaapi and qsv
# fail verification with their reasons, and hardware jobs are not placed
# as if they could run (without a fallback the caller gets ffmpeg's own
# error, as from a local run).  Beside it a simulated GPU worker (a TEST
# DOUBLE: a wrapper that passes its cuda checks and encodes nvenc jobs with
# libx264) takes every nvenc job; device_slots caps them while CPU jobs run
# beside; a name disabled on one worker and forced on on another goes to
# the other.  Every case runs; the failures are listed at the end.
. "$(dirname "$0")/lib.sh"

FF=$(command -v ffmpeg)
# A verification of its own: the reasons are logged only when it runs.
export XDG_CACHE_HOME=$T/cache
admin() { "$DFFMPEG" admin -c "$T/coordinator.yaml" "$@"; }
job_worker() { q "select worker from jobs where args like '%$1%' order by created desc limit 1"; }
job_state() { q "select state from jobs where args like '%$1%' order by created desc limit 1"; }
unaddr() { sed 's/ @ 0x[0-9a-f]*\]/ @ 0x]/g' "$1"; }

# The test double: cuda "works" (its checks are dropped), nvenc is
# libx264/libx265 and the h264/hevc cuvid decoders are the software ones;
# everything else is the real ffmpeg.
cat >"$T/fake-gpu-ffmpeg" <<EOF
#!/bin/bash
# TEST DOUBLE for t_hw.sh: a simulated NVIDIA GPU in front of $FF.
args=()
while [ \$# -gt 0 ]; do
	case "\$1" in
	-init_hw_device) case "\$2" in cuda*) shift 2; continue ;; esac ;;
	-filter_hw_device) [ "\$2" = hw ] && { shift 2; continue; } ;;
	-hwaccel) [ "\$2" = cuda ] && { shift 2; continue; } ;;
	h264_nvenc) args+=(libx264); shift; continue ;;
	hevc_nvenc) args+=(libx265); shift; continue ;;
	h264_cuvid|hevc_cuvid) args+=("\${1%_cuvid}"); shift; continue ;;
	esac
	args+=("\$1")
	shift
done
exec -a ffmpeg "$FF" "\${args[@]}"
EOF
chmod +x "$T/fake-gpu-ffmpeg"

cluster_up
make_clip "$T/media/clip.mp4" 1

# 1. The plain worker's verification, with ffmpeg's reasons.
grep -q "info: cuda: Cannot load libcuda.so.1" "$T/worker01.log" ||
    bad "worker01 did not log why cuda failed: $(grep -E 'cuda|verif' "$T/worker01.log" | head -n 3)"
for t in vaapi qsv; do
	grep -q "info: $t: " "$T/worker01.log" || bad "worker01 did not log why $t failed"
done
admin worker show worker01 >"$T/show1" 2>&1 || bad "admin worker show worker01 failed: $(cat "$T/show1")"
grep -q "^  encoder h264_nvenc: needs a working cuda device (Cannot load libcuda.so.1)" "$T/show1" ||
    bad "worker show lacks the nvenc reason: $(head -n 12 "$T/show1")"
grep -q "^  hwaccel cuda: Cannot load libcuda.so.1" "$T/show1" || bad "worker show lacks cuda's reason"
grep -q "^hw encoders  *-$" "$T/show1" || bad "worker01 offers hardware encoders: $(grep '^hw encoders' "$T/show1")"
grep -q "^hw decoders  *-$" "$T/show1" || bad "worker01 offers hardware decoders: $(grep '^hw decoders' "$T/show1")"
grep -q "^  decoder h264_v4l2m2m: a test decode failed: " "$T/show1" ||
    bad "worker01 did not test-decode h264_v4l2m2m: $(grep h264_v4l2m2m "$T/show1")"

# 2. With no worker that has the hardware, hardware jobs still run, for
# ffmpeg's own error: stderr and exit status as a local run's.
n=0
for c in "-c:v h264_nvenc" "-hwaccel cuda" "-init_hw_device vaapi=va:/dev/dri/renderD128"; do
	n=$((n + 1))
	case $c in
	-c:v*) set -- -f lavfi -i testsrc=duration=0.2:size=64x64 $c -f null - ;;
	*) set -- $c -i "$T/media/clip.mp4" -f null - ;;
	esac
	"$FF" -hide_banner "$@" </dev/null >/dev/null 2>"$T/hw$n.l"; lrc=$?
	"$T/bin/ffmpeg" -hide_banner "$@" </dev/null >/dev/null 2>"$T/hw$n.p"; prc=$?
	[ $prc = $lrc ] || bad "'$c': exit $prc, local $lrc: $(tail -n 2 "$T/hw$n.p")"
	cmp -s <(unaddr "$T/hw$n.p") <(unaddr "$T/hw$n.l") ||
	    bad "'$c': stderr differs from local: $(diff <(unaddr "$T/hw$n.l") <(unaddr "$T/hw$n.p") | head -n 4)"
done
grep -q "unplaceable (no registered worker has encoder 'h264_nvenc', which needs a working cuda device)" \
    "$T/coordinator.log" || bad "the nvenc job's unplaceability was not logged with its device"
grep -q "unplaceable (no registered worker has a working cuda device (hwaccel 'cuda'))" \
    "$T/coordinator.log" || bad "the -hwaccel cuda job's unplaceability was not logged"

# 3. The simulated GPU worker, one cuda session at a time.
worker_up worker02 "" "binaries: {ffmpeg: $T/fake-gpu-ffmpeg, ffprobe: $(command -v ffprobe)}
device_slots: {cuda: 1}"
wait_for 20 registered worker02 || fail "worker02 did not register"
grep -q "info: cuda: verified (cuda=hw)" "$T/worker02.log" ||
    bad "worker02 did not verify its (simulated) cuda: $(grep cuda "$T/worker02.log" | head -n 3)"
admin worker show worker02 >"$T/show2" 2>&1
grep -q "^hw encoders .*h264_nvenc" "$T/show2" || bad "worker02 does not offer h264_nvenc: $(head -n 8 "$T/show2")"
grep -q "^hw decoders .*h264_cuvid" "$T/show2" || bad "worker02 does not offer h264_cuvid: $(grep decoders "$T/show2")"
grep -q "^  decoder mjpeg_cuvid: a test decode failed" "$T/show2" ||
    bad "worker02 offers mjpeg_cuvid, which its test double cannot decode: $(grep mjpeg_cuvid "$T/show2")"
grep -q "^device slots  *cuda 0/1" "$T/show2" || bad "worker02's device slots: $(grep slots "$T/show2")"
# Every nvenc job goes to it, even with worker01 idle.
for i in 1 2 3 4; do
	"$T/bin/ffmpeg" -v error -f lavfi -i testsrc=duration=0.2:size=64x64 -c:v h264_nvenc \
	    -f null - </dev/null 2>"$T/nv$i.err" || bad "nvenc job $i failed: $(cat "$T/nv$i.err")"
done
[ "$(q "select count(*) from jobs where args like '%h264_nvenc%' and worker='worker02' and state='completed'")" = 4 ] ||
    bad "nvenc jobs ran on: $(q "select worker, state from jobs where args like '%h264_nvenc%'" | tr '\n' ' ')"

# device_slots: a second nvenc job waits for the first one's slot while a
# CPU job runs beside; it starts once the slot is free.
"$T/bin/ffmpeg" -v error -re -f lavfi -i testsrc=size=64x64:rate=25 -c:v h264_nvenc -f null - \
    </dev/null 2>"$T/slotA.err" &
pa=$!
wait_for 10 pgrep -P "$PID_worker02" -f "rate=25" >/dev/null ||
    bad "device slots: the first nvenc job did not start on worker02"
admin worker list >"$T/list" 2>&1
grep -q "^worker02 .* cuda 1/1 " "$T/list" || bad "worker list does not show the slot in use: $(cat "$T/list")"
"$T/bin/ffmpeg" -v error -f lavfi -i testsrc=duration=0.5:size=64x64:rate=24 -c:v h264_nvenc -f null - \
    </dev/null 2>"$T/slotB.err" &
pb=$!
sleep 1
st=$(job_state rate=24)
[ "$st" = pending ] || bad "device slots: the second nvenc job is '$st' while the only cuda slot is taken"
"$T/bin/ffmpeg" -v error -f lavfi -i testsrc=duration=0.2:size=64x64 -c:v libx264 -f null - \
    </dev/null 2>"$T/cpu.err" || bad "a CPU job beside the nvenc one failed: $(cat "$T/cpu.err")"
[ "$(job_state rate=24)" = pending ] || bad "device slots: the second nvenc job left the queue early"
kill -INT $pa
wait_for 10 eval '! kill -0 $pa 2>/dev/null' || { bad "the first nvenc job did not end"; kill -KILL $pa; }
wait_for 15 eval '! kill -0 $pb 2>/dev/null' || { bad "the second nvenc job never ran"; kill -KILL $pb; }
[ "$(job_state rate=24)" = completed ] && [ "$(job_worker rate=24)" = worker02 ] ||
    bad "the second nvenc job: $(job_state rate=24) on $(job_worker rate=24): $(cat "$T/slotB.err")"

# 4. Forced off on the GPU worker, forced on on the plain one: the job
# goes to the plain one (where ffmpeg itself then fails, as it would).
kill -TERM "$PID_worker01" "$PID_worker02"
wait_for 15 eval '! kill -0 $PID_worker01 2>/dev/null && ! kill -0 $PID_worker02 2>/dev/null' ||
    fail "the workers did not stop"
worker_up worker01 "" "enable: {encoders: [h264_nvenc]}"
worker_up worker02 "" "binaries: {ffmpeg: $T/fake-gpu-ffmpeg, ffprobe: $(command -v ffprobe)}
disable: {encoders: [h264_nvenc]}"
wait_for 15 eval '[ $(grep -c "worker worker01 registered" "$T/coordinator.log") -ge 2 ] &&
    [ $(grep -c "worker worker02 registered" "$T/coordinator.log") -ge 2 ]' || fail "the workers did not come back"
grep -q "encoder h264_nvenc: forced on by the config" "$T/worker01.log" || bad "worker01 did not log the forced name"
grep -q "capabilities and hardware verification from the cache" "$T/worker01.log" ||
    bad "worker01 verified again after a restart instead of using its cache"
"$FF" -v error -f lavfi -i testsrc=duration=0.2:size=32x32 -c:v h264_nvenc -f null - </dev/null \
    2>"$T/forced.l"; lrc=$?
"$T/bin/ffmpeg" -v error -f lavfi -i testsrc=duration=0.2:size=32x32 -c:v h264_nvenc -f null - </dev/null \
    2>"$T/forced.p"; prc=$?
[ "$(job_worker size=32x32)" = worker01 ] || bad "the forced-on job ran on '$(job_worker size=32x32)'"
[ $prc = $lrc ] || bad "the forced-on job: exit $prc, local $lrc"
why=$(q "select t.reason from job_transitions t join jobs j on j.id = t.job where j.args like '%size=32x32%'") ||
    bad "cannot read the forced-on job's transitions"
[ -n "$why" ] || bad "the forced-on job has no transitions"
case "$why" in *unplaceable*) bad "the forced-on job was placed as unplaceable" ;; esac

[ "$FAILED" = 0 ] && pass
exit 1
