#!/bin/sh
# Check what building (`build`), testing (`test`), fuzzing (`fuzz`) or the
# broker tests (`brokers`: RabbitMQ with its MQTT plugin) need.  As root, install
# what is missing from Debian's packages; otherwise print the exact
# apt-get line and fail.
set -u

need=${1:-build}
missing=""

# pkg-config module -> Debian package
check_pc() {
	pkg-config --exists "$1" 2>/dev/null || missing="$missing $2"
}
# command -> Debian package
check_cmd() {
	command -v "$1" >/dev/null 2>&1 || missing="$missing $2"
}

check_cmd pkg-config pkg-config
check_cmd cc gcc
check_cmd make make
if command -v pkg-config >/dev/null 2>&1; then
	check_pc libevent libevent-dev
	check_pc libcjson libcjson-dev
	check_pc sqlite3 libsqlite3-dev
	check_pc libsodium libsodium-dev
	check_pc yaml-0.1 libyaml-dev
	check_pc libmosquitto libmosquitto-dev
	if [ "$need" = test ]; then
		check_pc check check
	fi
else
	missing="$missing libevent-dev libcjson-dev libsqlite3-dev libsodium-dev libyaml-dev libmosquitto-dev"
	[ "$need" = test ] && missing="$missing check"
fi
if [ "$need" = brokers ]; then
	[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] ||
	    missing="$missing rabbitmq-server"
fi
if [ "$need" = fuzz ]; then
	check_cmd clang clang
	[ -n "$(ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-"$(uname -m)".a 2>/dev/null)" ] ||
	    missing="$missing libclang-rt-14-dev"
fi
if [ "$need" = test ]; then
	[ -x /usr/sbin/mosquitto ] || check_cmd mosquitto mosquitto
	check_cmd ffmpeg ffmpeg
	check_cmd ffprobe ffmpeg
	check_cmd sqlite3 sqlite3
	# Forged wills (t_presence) and a TLS broker's certificates.
	check_cmd mosquitto_sub mosquitto-clients
	check_cmd openssl openssl
	# A FUSE file system that hangs, for the hung-mount test (its
	# python3 also runs the slow relay and the resetting listener).
	check_cmd fusermount3 fuse3
	/usr/bin/python3 -c 'import fuse' >/dev/null 2>&1 ||
	    missing="$missing python3-fuse"
	# The dashboard in a real browser, /metrics through promtool, and
	# the HTTP requests of t_http.
	check_cmd chromium chromium
	check_cmd promtool prometheus
	check_cmd curl curl
fi

missing=$(printf '%s\n' $missing | sort -u | tr '\n' ' ' | sed 's/ *$//')
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "deps: installing $missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 && apt-get install -y -qq $missing >&2 && exit 0
	echo "deps: apt-get failed to install: $missing" >&2
	exit 1
fi
echo "deps: missing packages: $missing" >&2
echo "deps: install them with: sudo apt-get install -y $missing" >&2
exit 1
