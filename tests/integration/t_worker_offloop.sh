#!/bin/bash
# Nothing blocks the worker's loop (design §6.3, §8).  A capability probe
# that takes seconds runs while a job streams: the job's bytes are those of
# a local run, the worker keeps heartbeating, and it registers again with
# the probe's result.  A mount that hangs (a FUSE file system whose getattr
# blocks, so that a stat of it sleeps uninterruptibly) makes only its own
# path variable unhealthy: the worker keeps heartbeating, jobs on the other
# variable run, a job needing the hung one is refused naming it, only one
# check of it is stuck at a time, and it is healthy again once the file
# system answers.
. "$(dirname "$0")/lib.sh"

FFMPEG=$(command -v ffmpeg)
PY=/usr/bin/python3
FUSERMOUNT=$(command -v fusermount3 || command -v fusermount)

# Unblock and unmount the FUSE file system before lib.sh's cleanup, so
# that no process stays in D state and $T can be removed.
fuse_down() {
	rm -f "$T/hung.block"
	grep -q " $T/hung " /proc/mounts 2>/dev/null || return 0
	for i in $(seq 20); do
		"$FUSERMOUNT" -u "$T/hung" 2>/dev/null && return 0
		sleep 0.1
	done
	umount -l "$T/hung" 2>/dev/null
}
trap 'rc=$?; fuse_down; (exit $rc); cleanup' EXIT

# line PATTERN FILE: the number of the first line matching PATTERN (0: none)
line() { n=$(grep -n -m1 -E "$1" "$2" | cut -d: -f1); echo "${n:-0}"; }

# slowffmpeg: the real ffmpeg, whose -encoders listing takes 6 s while
# $T/slow exists (the start-up probe is quick).  Replaced, not edited, so
# that the worker sees a new binary (another inode).
write_slow() {
	cat >"$T/slowffmpeg.new" <<EOS
#!/bin/bash
if [ -e "$T/slow" ]; then
	for a in "\$@"; do
		case "\$a" in -encoders) sleep 6; break ;; esac
	done
fi
exec -a ffmpeg $FFMPEG "\$@"
EOS
	chmod +x "$T/slowffmpeg.new"
	mv "$T/slowffmpeg.new" "$T/slowffmpeg"
}

# worker_conf NAME BINARY PATHS [EXTRA]: start a worker with this config.
worker_conf() {
	key=$(user_add "$1" worker) || fail "user add $1"
	cat >"$T/$1.yaml" <<EOC
client_id: $1
hmac_key: "$key"
mqtt: {host: 127.0.0.1, port: $PORT}
binaries: {ffmpeg: $2, ffprobe: $(command -v ffprobe)}
paths: $3
registration_interval: 1s
${4:-}
EOC
	spawn "$1" "$DFFMPEG" worker -d -c "$T/$1.yaml"
}

broker_up
coordinator_up
wait_for 5 test -f "$T/coordinator.db" || fail "coordinator did not start"
client_config
mkdir -p "$T/media" "$T/hung"

# ---- a 6 s probe while a job streams ----
# (The job lasts 20 s: the probe of the changed binary and the
# verification of its hardware codecs must end before it, also on a
# loaded machine or under the sanitizers.)
write_slow
worker_conf worker01 "$T/slowffmpeg" "{Media: $T/media}"
wait_for 10 registered worker01 || fail "worker01 did not register"
grep -q "ffmpeg .* encoders" "$T/worker01.log" || fail "no start-up probe"

src="-re -f lavfi -i testsrc=duration=20:size=320x240:rate=25 -f rawvideo pipe:1"
want=$(ffmpeg -v error ${src#-re } | md5sum)
( "$T/bin/ffmpeg" -v error $src 2>"$T/j1.err"; echo $? >"$T/j1.rc" ) \
    | md5sum >"$T/j1.md5" &
P=$!
wait_for 10 remote_running "testsrc=duration=20" || fail "the job did not start"
sleep 1
touch "$T/slow"
write_slow
wait_for 5 grep -q "the ffmpeg binary changed; probing it again" "$T/worker01.log" \
    || fail "the changed binary was not probed again"
t0=$(ms)
wait_for 15 grep -q "probed the changed ffmpeg binary; registering again" "$T/worker01.log" \
    || fail "no result of the second probe"
took=$(( $(ms) - t0 ))
wait $P
[ "$(cat "$T/j1.rc")" = 0 ] || fail "the job exited $(cat "$T/j1.rc"): $(cat "$T/j1.err")"
[ "$(cat "$T/j1.md5")" = "$want" ] || fail "the job's bytes differ from a local run"
[ $took -ge 5000 ] || fail "the second probe took only $took ms"
log=$T/worker01.log
l_start=$(line "job .*: started" "$log")
l_probe=$(line "the ffmpeg binary changed; probing" "$log")
l_rereg=$(line "probed the changed ffmpeg binary; registering again" "$log")
l_ok=$(grep -n "registered with the coordinator" "$log" | sed -n 2p | cut -d: -f1)
l_exit=$(line "job .*: exited with code 0" "$log")
[ "$l_start" -gt 0 ] && [ "$l_start" -lt "$l_probe" ] && [ "$l_probe" -lt "$l_rereg" ] \
    && [ "${l_ok:-0}" -gt "$l_rereg" ] && [ "$l_exit" -gt "${l_ok:-0}" ] \
    || fail "the probe did not run while the job streamed (log lines: started $l_start," \
	"probing $l_probe, registering $l_rereg, registered ${l_ok:-none}, exited $l_exit)"
! grep -q "stopped heartbeating" "$T/coordinator.log" \
    || fail "the coordinator lost worker01's heartbeats during the probe"
echo "     probe of ${took} ms while a 20 s job streamed; job exit 0, same bytes"
kill -TERM "$PID_worker01"
wait_for 10 eval '! kill -0 $PID_worker01 2>/dev/null' || fail "worker01 did not stop"

# ---- a hung mount ----
why=""
[ -c /dev/fuse ] || why="/dev/fuse does not exist"
[ -n "$why" ] || [ -n "$FUSERMOUNT" ] || why="no fusermount3 (package fuse3)"
[ -n "$why" ] || "$PY" -c 'import fuse' 2>/dev/null || why="no python fuse module (package python3-fuse)"
if [ -z "$why" ]; then
	cat >"$T/hungfs.py" <<'EOP'
# A file system with an empty root whose getattr blocks while the file
# named by argv[1] exists.
import errno, os, stat, sys, time
import fuse
fuse.fuse_python_api = (0, 2)
BLOCK = sys.argv[1]

class HungFS(fuse.Fuse):
    def getattr(self, path):
        while os.path.exists(BLOCK):
            time.sleep(0.05)
        if path != "/":
            return -errno.ENOENT
        st = fuse.Stat()
        st.st_mode = stat.S_IFDIR | 0o755
        st.st_nlink = 2
        return st

    def readdir(self, path, offset):
        for name in (".", ".."):
            yield fuse.Direntry(name)

fs = HungFS()
fs.parse(["-f", "-o", "attr_timeout=0,entry_timeout=0", sys.argv[2]], errex=1)
fs.main()
EOP
	spawn hungfs "$PY" "$T/hungfs.py" "$T/hung.block" "$T/hung"
	wait_for 5 grep -q " $T/hung " /proc/mounts \
	    || why="the FUSE mount failed: $(tail -n 1 "$T/hungfs.log")"
fi
if [ -n "$why" ]; then
	echo "skip $TEST_NAME: hung mount: $why"
	pass
fi

sed -i "s|^paths: .*|paths: {Media: $T/media, Hung: $T/hung}|" "$T/client.yaml"
worker_conf worker02 "$FFMPEG" "{Media: $T/media, Hung: $T/hung}" \
    "mounts: {Hung: \"mountpoint\"}"
wait_for 10 registered worker02 || fail "worker02 did not register"
! grep -q "path variable .* is unhealthy" "$T/worker02.log" \
    || fail "worker02 registered unhealthy: $(grep unhealthy "$T/worker02.log")"
make_clip "$T/media/in.mp4" 6

"$T/bin/ffmpeg" -v error -re -i "$T/media/in.mp4" -c:v libx264 -preset ultrafast \
    -c:a aac -y "$T/media/out.mp4" 2>"$T/t1.err" &
P=$!
wait_for 10 remote_running "$T/media/out.mp4" || fail "the transcode did not start"
touch "$T/hung.block"
wait_for 8 grep -q "path variable Hung is unhealthy: mount check timed out after 3000 ms" \
    "$T/worker02.log" || fail "Hung did not turn unhealthy: $(tail -n 3 "$T/worker02.log")"
wait $P; rc=$?
[ $rc = 0 ] || fail "the transcode on Media exited $rc: $(cat "$T/t1.err")"
ffprobe -v error "$T/media/out.mp4" || fail "the transcode's output is not valid"
# a job needing Hung is refused, naming it
"$T/bin/ffprobe" -v error "$T/hung/x.mkv" 2>"$T/h.err"; rc=$?
[ $rc = 1 ] && grep -q "healthy path variable 'Hung'" "$T/h.err" \
    || fail "a job needing the hung Hung: exit $rc, $(cat "$T/h.err")"
# a job on Media still runs, heartbeats went on, one stuck check at a time
"$T/bin/ffmpeg" -v error -i "$T/media/in.mp4" -t 1 -f null - 2>"$T/t2.err" \
    || fail "a job on Media failed while Hung hangs: $(cat "$T/t2.err")"
stuck=$(ps -o stat= --ppid "$PID_worker02" | grep -c '^D')
[ "$stuck" = 1 ] || fail "$stuck stuck mount checks (want 1)"
! grep -q "worker worker02 stopped heartbeating" "$T/coordinator.log" \
    || fail "the coordinator lost worker02's heartbeats while Hung hangs"
# the file system answers again: so does the check
rm -f "$T/hung.block"
wait_for 10 grep -q "path variable Hung is healthy again" "$T/worker02.log" \
    || fail "Hung did not recover"
sleep 0.5
"$T/bin/ffprobe" -v error "$T/hung/x.mkv" 2>"$T/h.err"
grep -q "no registered worker" "$T/h.err" && fail "Hung is back but still refused: $(cat "$T/h.err")"
echo "     Hung timed out, transcode on Media exit 0, Hung refused by name, recovered"
pass
