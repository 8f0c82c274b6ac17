#!/bin/bash
# The executable's built-ins and the admin applet, without a broker.
. "$(dirname "$0")/lib.sh"

"$DFFMPEG" --version | grep -q '^dffmpeg [0-9]' || fail "--version"
"$DFFMPEG" --list >"$T/list" || fail "--list"
for a in coordinator worker client admin ffmpeg ffprobe; do
	grep -qx "$a" "$T/list" || fail "--list lacks $a"
done
"$DFFMPEG" --help | grep -q 'usage: dffmpeg' || fail "--help"

# unknown names exit 127, also through a link
"$DFFMPEG" no-such-applet 2>/dev/null; [ $? = 127 ] || fail "unknown applet not 127"
ln -s "$DFFMPEG" "$T/frobnicate"
DFFMPEG_CLIENT_CONFIG=$T/none "$T/frobnicate" 2>/dev/null
[ $? = 127 ] || fail "unknown link name not 127"

# --install creates links, refuses to overwrite without -f
mkdir "$T/links"
"$DFFMPEG" --install "$T/links" >/dev/null || fail "--install"
[ "$(readlink "$T/links/ffmpeg")" = "$(readlink -f "$DFFMPEG")" ] || fail "ffmpeg link target"
[ -L "$T/links/ffprobe" ] || fail "no ffprobe link"
echo keep >"$T/links2-ffmpeg"; mkdir "$T/links2"; echo mine >"$T/links2/ffmpeg"
"$DFFMPEG" --install "$T/links2" >/dev/null 2>&1 && fail "--install overwrote without -f"
[ "$(cat "$T/links2/ffmpeg")" = mine ] || fail "--install changed an existing file"
"$DFFMPEG" --install -f "$T/links2" >/dev/null || fail "--install -f"
[ -L "$T/links2/ffmpeg" ] || fail "--install -f did not replace"

# admin: the key alone on stdout, list, remove
cat >"$T/c.yaml" <<EOC
database: $T/c.db
mqtt: {host: 127.0.0.1, port: 1}
EOC
KEY=$("$DFFMPEG" admin -c "$T/c.yaml" user add w1 --role worker 2>/dev/null) || fail "user add"
[ "$(printf %s "$KEY" | base64 -d | wc -c)" = 32 ] || fail "user add printed '$KEY'"
[ "$(stat -c %a "$T/master.key")" = 600 ] || fail "master key mode"
"$DFFMPEG" admin -c "$T/c.yaml" user add w1 --role worker 2>/dev/null && fail "duplicate user"
"$DFFMPEG" admin -c "$T/c.yaml" user add c1 --role client >/dev/null 2>&1 || fail "user add c1"
"$DFFMPEG" admin -c "$T/c.yaml" user list >"$T/users" || fail "user list"
grep -q '^w1 .*worker' "$T/users" && grep -q '^c1 .*client' "$T/users" || fail "user list: $(cat "$T/users")"
"$DFFMPEG" admin -c "$T/c.yaml" user remove w1 || fail "user remove"
"$DFFMPEG" admin -c "$T/c.yaml" user list | grep -q '^w1 ' && fail "w1 still listed"
"$DFFMPEG" admin -c "$T/c.yaml" user remove w1 2>/dev/null && fail "removing twice succeeded"

# a broken config names file:line:col
printf 'database: %s/c.db\nmqtt: {host: 127.0.0.1, prot: 1883}\n' "$T" >"$T/bad.yaml"
"$DFFMPEG" coordinator -n -c "$T/bad.yaml" 2>"$T/err" && fail "bad config accepted"
grep -q "bad.yaml:2:[0-9]*: unknown key 'prot'" "$T/err" || fail "config error: $(cat "$T/err")"
"$DFFMPEG" coordinator -n -c "$T/c.yaml" >/dev/null || fail "coordinator -n on a good config"
pass
