#!/bin/bash
# `dffmpeg client translate`: the job the proxy would submit, as compact
# JSON, without a broker.  Outputs are compared as exact strings (stricter
# than parsing them, and needs no JSON tool).
. "$(dirname "$0")/lib.sh"

KEY=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=	# 32 zero bytes
# Nothing listens on this port: translate must not try it.
cat >"$T/client.yaml" <<EOC
client_id: tester
hmac_key: "$KEY"
mqtt: {host: 127.0.0.1, port: $(free_port)}
paths: {Media: /media, Video: /video}
EOC
# An unroutable broker: a connection attempt would hang or fail.
cat >"$T/client-far.yaml" <<EOC
client_id: tester
hmac_key: "$KEY"
mqtt: {host: 192.0.2.1, port: 1883, keepalive: 5}
paths: {Media: /media, Video: /video}
EOC

# check_json WANT CMD...: CMD succeeds, prints exactly WANT (one line) on
# stdout and nothing on stderr.
check_json() {
	want=$1; shift
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc = 0 ] || fail "exit $rc from: $* ($(cat "$T/err"))"
	[ -s "$T/err" ] && fail "stderr from: $*: $(cat "$T/err")"
	[ "$(wc -l <"$T/out")" = 1 ] || fail "not one line from: $*: $(cat "$T/out")"
	got=$(cat "$T/out")
	[ "$got" = "$want" ] || fail "from: $*
  got  $got
  want $want"
}

xl() { "$DFFMPEG" client -c "$T/client.yaml" translate "$@"; }

# The basic case: arguments and cwd rewritten, the variable declared once.
check_json '{"binary":"ffmpeg","args":["-i","${Media}/a.mkv","-y","/tmp/out.mp4"],"cwd":"${Media}/x","paths":["Media"]}' \
    xl --cwd /media/x ffmpeg -i /media/a.mkv -y /tmp/out.mp4
check_json '{"binary":"ffmpeg","args":["-i","${Media}/a.mkv"],"cwd":"${Video}/y","paths":["Media","Video"]}' \
    xl --cwd=/video/y ffmpeg -i /media/a.mkv

# The config found through the environment, as the proxy finds it.
check_json '{"binary":"ffprobe","args":["file:${Video}/b c.mkv"],"cwd":null,"paths":["Video"]}' \
    env DFFMPEG_CLIENT_CONFIG="$T/client.yaml" "$DFFMPEG" client translate \
    --cwd /srv ffprobe "file:/video/b c.mkv"

# Empty arguments are arguments.
check_json '{"binary":"ffmpeg","args":["-i","","-metadata","title=","",""],"cwd":null,"paths":[]}' \
    xl --cwd /srv ffmpeg -i "" -metadata title= "" ""
check_json '{"binary":"ffmpeg","args":[],"cwd":null,"paths":[]}' \
    xl --cwd /srv ffmpeg

# After BINARY nothing is an option of translate: -c, --cwd, -h, --help
# and -- are the job's.
check_json '{"binary":"ffmpeg","args":["-c","copy","--cwd","${Media}/z","-h","--help","--","-c:v","h264","--cwd=${Video}"],"cwd":null,"paths":["Media","Video"]}' \
    xl --cwd /srv ffmpeg -c copy --cwd /media/z -h --help -- -c:v h264 --cwd=/video
check_json '{"binary":"ffmpeg","args":["-version"],"cwd":null,"paths":[]}' \
    xl --cwd /srv -- ffmpeg -version

# Without --cwd the working directory is used: outside every root, it
# does not travel (the job runs in "/").
mkdir -p "$T/wd"
check_json "{\"binary\":\"ffmpeg\",\"args\":[\"-i\",\"\${Media}/a\"],\"cwd\":null,\"paths\":[\"Media\"]}" \
    bash -c 'cd "$1" && shift && exec "$@"' _ "$T/wd" "$DFFMPEG" client \
    -c "$T/client.yaml" translate ffmpeg -i /media/a

# Boundaries, filters, concat, a literal "${", quotes and non-ASCII text.
check_json '{"binary":"ffmpeg","args":["-i","concat:${Media}/a|${Video}/b","-vf","subtitles=f='"'"'${Media}/x \"y\".mkv'"'"':fontsdir='"'"'${Media}/fonts'"'"'","/mediax/c","/mnt/media/d","http://h/media/e","/dev/dri/renderD128","$${Media}/f","${Media}/电视剧\\a"],"cwd":null,"paths":["Media","Video"]}' \
    xl --cwd /srv ffmpeg -i "concat:/media/a|/video/b" \
    -vf "subtitles=f='/media/x \"y\".mkv':fontsdir='/media/fonts'" \
    /mediax/c /mnt/media/d http://h/media/e /dev/dri/renderD128 \
    '${Media}/f' '/media/电视剧\a'

# No network: an unroutable broker changes nothing and costs nothing.
start=$(date +%s%N)
check_json '{"binary":"ffmpeg","args":["-i","${Media}/a.mkv"],"cwd":"${Media}","paths":["Media"]}' \
    timeout 10 "$DFFMPEG" client -c "$T/client-far.yaml" translate \
    --cwd /media ffmpeg -i /media/a.mkv
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ $ms -lt 2000 ] || fail "translate took $ms ms"

# Usage errors: exit 2, nothing on stdout.
for args in "" "--cwd" "--cwd /srv" "--"; do
	# shellcheck disable=SC2086
	"$DFFMPEG" client -c "$T/client.yaml" translate $args >"$T/out" 2>"$T/err"
	rc=$?
	[ $rc = 2 ] || fail "translate $args: exit $rc"
	[ -s "$T/out" ] && fail "translate $args printed: $(cat "$T/out")"
	[ -s "$T/err" ] || fail "translate $args: no usage message"
done
# A bad config is reported, not translated with no paths.
printf 'client_id: tester\nhmac_key: "%s"\npaths: {Media: media}\n' "$KEY" \
    >"$T/bad.yaml"
"$DFFMPEG" client -c "$T/bad.yaml" translate ffmpeg -i /media/a \
    >"$T/out" 2>"$T/err" && fail "relative root accepted"
[ -s "$T/out" ] && fail "bad config: printed $(cat "$T/out")"
pass
