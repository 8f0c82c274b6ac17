#!/bin/bash
# The caller's descriptors are the caller's (design §6.2): a parent that
# shares its stdout/stderr pipe and its stdin pipe with the proxy writes
# 1 MiB of its own into that pipe meanwhile, and every byte of it and of
# the job arrives; O_NONBLOCK is never set on the shared open file
# descriptions, during the run or after a SIGKILL of the proxy.
. "$(dirname "$0")/lib.sh"
cluster_up

PY=$(command -v python3)
cat >"$T/share.py" <<'EOF'
import fcntl, os, signal, subprocess, sys, threading, time

mode, proxy = sys.argv[1], sys.argv[2]
args = [proxy, "-hide_banner", "-nostats", "-re", "-f", "lavfi",
        "-i", "testsrc=duration=3:size=320x240:rate=25",
        "-f", "rawvideo", "-pix_fmt", "gray", "pipe:1"]
r, w = os.pipe()            # the caller's output pipe, shared
ir, iw = os.pipe()          # the caller's input pipe, shared
got = bytearray()

def reader():
    while True:
        b = os.read(r, 1 << 16)
        if not b:
            return
        got.extend(b)

t = threading.Thread(target=reader)
t.start()
p = subprocess.Popen(args, stdin=ir, stdout=w, stderr=w)
nonblock = 0
errors = 0
mine = 0
chunk = b"P" * 4096
deadline = time.time() + 2.5
while mine < (1 << 20) and time.time() < deadline + 10:
    for fd in (w, ir, iw):
        if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK:
            nonblock += 1
    try:
        mine += os.write(w, chunk)
    except BlockingIOError:
        errors += 1
    time.sleep(0.01)
    if mode == "kill" and mine >= (1 << 19) and p.poll() is None:
        p.send_signal(signal.SIGKILL)
        p.wait()
        break
rc = p.wait()
after = sum(bool(fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK)
            for fd in (w, ir, iw))
os.close(w); os.close(ir); os.close(iw)
t.join()
print(f"rc={rc} mine={mine} got={len(got)} p={got.count(b'P')} "
      f"errors={errors} nonblock={nonblock} after={after}")
EOF

cat >"$T/sock.py" <<'EOF'
import fcntl, os, socket, subprocess, sys

a, b = socket.socketpair()
p = subprocess.Popen([sys.argv[1], "-hide_banner", "-nostats", "-f", "lavfi",
                      "-i", "testsrc=duration=3:size=320x240:rate=25", "-f",
                      "rawvideo", "-pix_fmt", "gray", "pipe:1"],
                     stdin=subprocess.DEVNULL, stdout=b.fileno(),
                     stderr=subprocess.DEVNULL)
got = 0
nonblock = 0
a.settimeout(0.2)           # our end's flags, not the child's
while True:
    if b.fileno() != -1:
        nonblock += bool(fcntl.fcntl(b.fileno(), fcntl.F_GETFL) &
                         os.O_NONBLOCK)
        if p.poll() is not None:
            b.close()
    try:
        d = a.recv(1 << 16)
    except socket.timeout:
        continue
    if not d:
        break
    got += len(d)
print(f"rc={p.wait()} got={got} nonblock={nonblock}")
EOF

# 1. The job streams while the parent writes into the same pipe.
ffmpeg -hide_banner -nostats -f lavfi -i testsrc=duration=3:size=320x240:rate=25 \
    -f rawvideo -pix_fmt gray pipe:1 </dev/null 2>/dev/null | wc -c >"$T/local.len"
out=$("$PY" "$T/share.py" run "$T/bin/ffmpeg") || fail "the script failed: $out"
echo "     shared pipe: $out"
eval "${out// / ; }"
[ "$rc" = 0 ] || fail "the proxy exited $rc"
[ "$errors" = 0 ] || fail "the parent's own writes failed $errors times with EAGAIN"
[ "$nonblock" = 0 ] || fail "O_NONBLOCK was seen $nonblock times on the shared descriptions"
[ "$after" = 0 ] || fail "O_NONBLOCK is left on $after shared descriptions"
[ "$p" -ge "$mine" ] || fail "of the parent's $mine bytes, $p arrived"
[ "$got" -ge $(( mine + $(cat "$T/local.len") )) ] ||
    fail "$got bytes arrived, fewer than the parent's $mine and the job's $(cat "$T/local.len")"

# 2. SIGKILL of the proxy mid-run leaves the flags as they were.
out=$("$PY" "$T/share.py" kill "$T/bin/ffmpeg") || fail "the script failed: $out"
echo "     after SIGKILL: $out"
eval "${out// / ; }"
[ "$rc" = -9 ] || fail "the proxy was not killed (rc $rc)"
[ "$nonblock" = 0 ] || fail "O_NONBLOCK was seen $nonblock times before the SIGKILL"
[ "$after" = 0 ] || fail "O_NONBLOCK is left on $after shared descriptions after a SIGKILL"
[ "$errors" = 0 ] || fail "the parent's own writes failed $errors times with EAGAIN"
# 3. A socket as stdout: written without touching its flags.
out=$("$PY" "$T/sock.py" "$T/bin/ffmpeg") || fail "the script failed: $out"
echo "     socket: $out"
eval "${out// / ; }"
[ "$rc" = 0 ] || fail "socket: the proxy exited $rc"
[ "$got" = "$(cat "$T/local.len")" ] || fail "socket: $got bytes, locally $(cat "$T/local.len")"
[ "$nonblock" = 0 ] || fail "socket: O_NONBLOCK was seen $nonblock times"
pass
