# Shared helpers of the integration tests: a private mosquitto on a free
# port, a coordinator, workers and a client config in a temporary
# directory, and cleanup of every process started, whatever happens.
#
# Usage in a test:  . "$(dirname "$0")/lib.sh"; cluster_up; ...; pass
set -u

: "${DFFMPEG:?DFFMPEG must name the dffmpeg binary}"
T=$(mktemp -d "${TMPDIR:-/tmp}/dffmpeg-test.XXXXXX")
# Workers keep their verification cache here (run-integration.sh shares
# one between the tests of a run), never in the user's own.
: "${XDG_CACHE_HOME:=$T/cache}"
export XDG_CACHE_HOME
PIDS=""
TEST_NAME=$(basename "$0" .sh)
FAILED=0

alive() {
	for p in $PIDS; do kill -0 "$p" 2>/dev/null && return 0; done
	return 1
}

cleanup() {
	rc=$?
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	# A clean exit lets the sanitizers' leak check run.
	for i in $(seq 50); do alive || break; sleep 0.1; done
	for p in $PIDS; do kill -KILL "$p" 2>/dev/null; done
	# What a test's own servers leave ($CLEANUP_EXTRA names a function).
	[ -z "${CLEANUP_EXTRA:-}" ] || "$CLEANUP_EXTRA"
	# Remote ffmpeg processes of this test (their argv names $T).
	pkill -KILL -f "$T" 2>/dev/null
	if grep -l -E "runtime error:|AddressSanitizer|LeakSanitizer" \
	    "$T"/*.log >/dev/null 2>&1; then
		[ "$FAILED" = 1 ] || echo "FAIL $TEST_NAME: sanitizer report in" \
		    $(grep -l -E "runtime error:|AddressSanitizer|LeakSanitizer" "$T"/*.log)
		FAILED=1
		rc=1
	fi
	if [ "$FAILED" = 1 ] && [ -z "${KEEP:-}" ]; then
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "---- $f (last 30 lines)"; tail -n 30 "$f"
		done
	fi
	[ -n "${KEEP:-}" ] && echo "kept $T" || rm -rf "$T"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL $TEST_NAME: $*"
	FAILED=1
	exit 1
}

pass() {
	echo "ok   $TEST_NAME"
	exit 0
}

# spawn NAME CMD...: start CMD in the background, logging to $T/NAME.log;
# its pid is $PID_NAME (with characters other than [A-Za-z0-9_] as '_').
spawn() {
	name=$1; shift
	"$@" >>"$T/$name.log" 2>&1 &
	PIDS="$PIDS $!"
	eval "PID_$(printf %s "$name" | tr -c 'A-Za-z0-9_' _)=$!"
	disown $!	# no job-control chatter when a test kills it
}

# wait_for SECONDS CMD...: poll CMD until it succeeds.
wait_for() {
	limit=$1; shift
	end=$(( $(date +%s%N) / 1000000 + limit * 1000 ))
	while ! "$@" 2>/dev/null; do
		[ $(( $(date +%s%N) / 1000000 )) -ge $end ] && return 1
		sleep 0.05
	done
	return 0
}

# free_port: a port below the kernel's range for outgoing connections (a
# port one of those uses refuses connections but cannot be bound).
free_port() {
	top=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	[ "${top:-0}" -gt 21000 ] || top=32768
	while :; do
		p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % (top - 20000) ))
		(exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }
	done
}

port_open() { (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null; }

MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)

# broker_conf PORT: the config of a private mosquitto listening on PORT.
broker_conf() {
	echo "listener $1 127.0.0.1"
	echo "allow_anonymous true"
	echo "set_tcp_nodelay true"
	echo "persistence false"
	echo "max_queued_messages 10000"
	# As the shipped config: dffmpeg refuses a broker without.
	echo "max_packet_size 1048576"
	[ "$(id -u)" != 0 ] || echo "user root"
}

# broker_up [PORT]: start (or restart) the private broker, with the lines of
# $BROKER_EXTRA added to its config.
broker_up() {
	PORT=${1:-${PORT:-$(free_port)}}
	{
		broker_conf "$PORT"
		[ -z "${BROKER_EXTRA:-}" ] || printf '%s\n' "$BROKER_EXTRA"
	} >"$T/mosquitto.conf"
	spawn mosquitto "$MOSQUITTO" -c "$T/mosquitto.conf"
	wait_for 5 port_open "$PORT" || fail "mosquitto did not start: $(tail -n 2 "$T/mosquitto.log")"
}

# mqtt_addr: how the configs name the broker ($MQTT_ADDR, or its TCP
# listener), with the keys of $MQTT_EXTRA.
mqtt_addr() {
	printf '%s%s' "${MQTT_ADDR:-host: 127.0.0.1, port: $PORT}" "${MQTT_EXTRA:+, $MQTT_EXTRA}"
}

# coordinator_up: write the coordinator config (plus $COORD_EXTRA; its
# HTTP server on $HTTP_PORT, with $HTTP_EXTRA keys) and start it.
coordinator_up() {
	HTTP_PORT=${HTTP_PORT:-$(free_port)}
	cat >"$T/coordinator.yaml" <<EOC
database: $T/coordinator.db
mqtt: {$(mqtt_addr)}
http: {listen: 127.0.0.1, port: $HTTP_PORT${HTTP_EXTRA:+, $HTTP_EXTRA}}
${COORD_EXTRA:-}
EOC
	spawn coordinator "$DFFMPEG" coordinator -d -c "$T/coordinator.yaml"
}

user_add() { "$DFFMPEG" admin -c "$T/coordinator.yaml" user add "$1" --role "$2" 2>/dev/null; }

# worker_up NAME [KEY] [EXTRA YAML]: create its identity (unless KEY is
# given or it was created before) and start it (EXTRA may replace the
# default binaries; $REG_INTERVAL replaces its 1 s heartbeat).
worker_up() {
	name=$1; key=${2:-}; extra=${3:-}
	[ -n "$key" ] || [ ! -f "$T/$name.key" ] || key=$(cat "$T/$name.key")
	if [ -z "$key" ]; then
		key=$(user_add "$name" worker) || fail "user add $name"
		echo "$key" >"$T/$name.key"
	fi
	mkdir -p "$T/media"
	cat >"$T/$name.yaml" <<EOC
client_id: $name
hmac_key: "$key"
mqtt: {$(mqtt_addr)}
$(case "$extra" in
binaries:*|*"
binaries:"*) ;;	# EXTRA brings its own
*) echo "binaries: {ffmpeg: $(command -v ffmpeg), ffprobe: $(command -v ffprobe)}" ;;
esac)
paths: {Media: $T/media}
registration_interval: ${REG_INTERVAL:-1s}
$extra
EOC
	spawn "$name" "$DFFMPEG" worker -d -c "$T/$name.yaml"
}

client_config() {
	key=$(user_add jellyfin client) || fail "user add jellyfin"
	cat >"$T/client.yaml" <<EOC
client_id: jellyfin
hmac_key: "$key"
mqtt: {$(mqtt_addr)}
paths: {Media: $T/media}
log_file: $T/client.log
log_level: debug
connect_timeout: 10s
EOC
	export DFFMPEG_CLIENT_CONFIG=$T/client.yaml
	mkdir -p "$T/bin"
	"$DFFMPEG" --install -f "$T/bin" >/dev/null || fail "--install"
}

registered() { grep -q "worker $1 registered" "$T/coordinator.log"; }

# cluster_up [EXTRA1 [EXTRA2]]: broker, coordinator, a client config with
# the ffmpeg/ffprobe links in $T/bin, and worker01 (with EXTRA1 in its
# config); with two arguments also worker02 (with EXTRA2).
cluster_up() {
	broker_up
	coordinator_up
	wait_for 5 test -f "$T/coordinator.db" || fail "coordinator did not start"
	client_config
	worker_up worker01 "" "${1:-}"
	[ $# -ge 2 ] && worker_up worker02 "" "$2"
	wait_for 10 registered worker01 || fail "worker01 did not register"
	[ $# -lt 2 ] || wait_for 10 registered worker02 || fail "worker02 did not register"
}

# A short clip made by ffmpeg itself.
make_clip() {
	ffmpeg -v error -f lavfi -i testsrc=duration=${2:-2}:size=320x240:rate=25 \
	    -f lavfi -i sine=duration=${2:-2} -c:v libx264 -preset ultrafast \
	    -c:a aac -y "$1" || fail "cannot make a clip"
}

# ---- helpers of the conformance and cluster tests ----

# A job with -version's output that runs on a worker: a bare -version (or
# -hide_banner -version) is answered by the coordinator without a job.
VJOB=(-hide_banner -loglevel error -version)

# remote_running PATTERN: a remote ffmpeg/ffprobe whose arguments match
# PATTERN runs (a worker starts it as "ffmpeg ARGS"; the proxy's own
# command line starts with the path of the link, so it does not match).
remote_running() { pgrep -f "^ff(mpeg|probe) .*$1" >/dev/null; }

# q SQL: a query on the coordinator's database.
q() { sqlite3 -cmd ".timeout 2000" "$T/coordinator.db" "$1"; }

# bad MSG: record a failed case and go on with the next one.
bad() {
	echo "FAIL $TEST_NAME: $*"
	FAILED=1
}

# ms: the time now in milliseconds.
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# slow_reader: copy stdin to stdout 1 MiB at a time with a pause between
# reads (about 50 MB/s here, half what ffmpeg produces), so the proxy has
# to hold the stream back instead of reading ahead.
slow_reader() {
	while :; do
		dd bs=64k count=16 iflag=fullblock 2>"$T/dd.status" || return 1
		grep -q '^0+0 records in' "$T/dd.status" && return 0
		sleep 0.01
	done
}

# differ WHAT A B: describe where two files differ.
differ() {
	echo "$1 differs ($(wc -c <"$2") bytes, local $(wc -c <"$3")):" \
	    "$(cmp "$2" "$3" 2>&1 | head -n 1)"
}

# norm FILE: stderr split on '\r' and '\n' without the progress segments
# (frame=...), whose speed= and fps= values differ between runs.
norm() { tr '\r' '\n' <"$1" | grep -v 'frame='; }

# worker_fault SIGNAL WORKER PID ERRFILE LIMIT_MS: send SIGNAL to WORKER
# while the client process PID runs a job on it; the client must exit 1
# with a `dffmpeg:` line naming the worker within LIMIT_MS.  Sets FAULT_MS.
worker_fault() {
	eval "wpid=\$PID_$2"
	t0=$(date +%s%N)
	kill "-$1" "$wpid"
	wait "$3"; frc=$?
	FAULT_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
	[ $frc = 1 ] || fail "client exit $frc after SIG$1 of $2"
	tail -n 1 "$4" | grep -q "^dffmpeg: .*$2" ||
	    fail "no dffmpeg: line after SIG$1 of $2: $(tail -n 2 "$4")"
	[ $FAULT_MS -lt "$5" ] ||
	    fail "the client took $FAULT_MS ms to learn of SIG$1 of $2"
}
