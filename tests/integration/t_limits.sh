#!/bin/bash
# Limits per client identity: a job over limits.argument_bytes is refused
# and not stored; beyond limits.running a client's jobs wait although
# workers are free; beyond limits.queued they are refused; the
# submits of a minute beyond limits.submits_per_minute are refused; each
# refusal names its limit, and another client is not held up.  A job
# refused because no worker can run it keeps a summary of its command,
# not its arguments.
. "$(dirname "$0")/lib.sh"

COORD_EXTRA="limits: {running: 1, queued: 2, submits_per_minute: 8, argument_bytes: 4KiB}"
cluster_up
make_clip "$T/media/in.mkv" 1
C() { "$DFFMPEG" client "$@"; }
A() { "$DFFMPEG" admin -c "$T/coordinator.yaml" "$@"; }
jget() { python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
state_is() { [ "$(C job show --json "$1" | jget "d['job']['state']")" = "$2" ]; }

# Argument bytes: refused, named, not stored.
big=$(head -c 5000 /dev/zero | tr '\0' a)
"$T/bin/ffmpeg" -hide_banner -metadata "title=$big" -f lavfi -i testsrc=d=0.1 -f null - \
    </dev/null >/dev/null 2>"$T/big.err"
[ $? = 1 ] || bad "a job over argument_bytes was not refused"
grep -q "limits.argument_bytes" "$T/big.err" || bad "argument_bytes: $(cat "$T/big.err")"
[ "$(q "select count(*) from jobs where args like '%aaaaaaaaaa%'")" = 0 ] || bad "the refused job was stored"

# Running: one at a time for this client; the second waits with a free
# worker; queued: two wait, the third is refused.
long() { C submit --detach -- -hide_banner -re -f lavfi -i "testsrc=d=$1:s=64x64" -f null -; }
a=$(long 6) || fail "submit a"
wait_for 10 state_is "$a" running || fail "a does not run"
b=$(long 1) || fail "submit b"
c=$(long 1) || fail "submit c"
sleep 1
state_is "$b" pending && state_is "$c" pending || bad "b and c do not wait: $(C job list)"
long 1 >/dev/null 2>"$T/d.err" && bad "a third waiting job was accepted"
grep -q "limits.queued" "$T/d.err" || bad "queued: $(cat "$T/d.err")"
# Another client is not held up by jellyfin's limit.
key=$(user_add other client) || fail "user add other"
sed -e "s/^client_id: .*/client_id: other/" -e "s|^hmac_key: .*|hmac_key: \"$key\"|" \
    -e "s|^log_file: .*|log_file: $T/other.log|" "$T/client.yaml" >"$T/other.yaml"
DFFMPEG_CLIENT_CONFIG=$T/other.yaml "$T/bin/ffmpeg" -hide_banner -loglevel error \
    -f lavfi -i testsrc=d=0.1 -f null - </dev/null || bad "another client's job did not run"
state_is "$b" pending || bad "b did not wait for a"
# When a ends, b and then c run.
wait_for 20 state_is "$c" completed || fail "the waiting jobs did not run: $(C job list)"
state_is "$b" completed || bad "b did not complete"

# Submits a minute: 8 for jellyfin, including a, b and c (the refusals
# above came before the rate was counted).
n=0
for i in 1 2 3 4 5 6; do
	"$T/bin/ffmpeg" -hide_banner -loglevel error -f lavfi -i testsrc=d=0.1 -f null - \
	    </dev/null 2>"$T/rate.err" || break
	n=$((n + 1))
done
[ $n = 5 ] || bad "$n quick jobs ran before the rate limit (expected 5)"
grep -q "limits.submits_per_minute" "$T/rate.err" || bad "rate: $(cat "$T/rate.err")"

# A job no worker can run (a path variable none has): refused, and its
# long command is kept as a summary of 512 bytes and an ellipsis.
mkdir -p "$T/nowhere"
sed "s|^paths: .*|paths: {Media: $T/media, Nowhere: $T/nowhere}|" "$T/other.yaml" >"$T/other2.yaml"
long_arg=$(head -c 3000 /dev/zero | tr '\0' b)
DFFMPEG_CLIENT_CONFIG=$T/other2.yaml "$T/bin/ffmpeg" -hide_banner -i "$T/nowhere/x.mkv" \
    -metadata "comment=$long_arg" -f null - </dev/null >/dev/null 2>"$T/nowhere.err"
[ $? = 1 ] || bad "the job no worker can run was not refused"
id=$(q "select id from jobs where client = 'other' and state = 'failed' order by created desc limit 1")
[ -n "$id" ] || fail "the refused job is not recorded"
A job show --json "$id" | jget "(len(d['job']['args']), len(d['job']['args'][0]), d['job']['args'][0].endswith('...'))" >"$T/sum"
grep -qx "(1, 515, True)" "$T/sum" || bad "the refused job's arguments: $(cat "$T/sum")"
[ "$FAILED" = 0 ] && pass
exit 1
