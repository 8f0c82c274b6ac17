# A private RabbitMQ cluster with the MQTT plugin, on this host, for the
# broker tests: nodes rmqA@localhost, rmqB@localhost, ... each with its own
# data directory under $T, its own MQTT and distribution ports, and a
# private epmd port and Erlang cookie, so nothing is shared with a RabbitMQ
# the machine may run.  Sourced after tests/integration/lib.sh.
#
#   rabbit_usable || skip "why"
#   rabbit_up A; rabbit_up B; rabbit_wait A; rabbit_wait B; rabbit_join B A
#   $RMQ_PORT_A, $RMQ_PORT_B: the nodes' MQTT listeners

RABBIT_LIB=${RABBIT_LIB:-/usr/lib/rabbitmq/bin}
RMQ_EPMD=$(free_port)

# The environment of node $1's commands, one assignment per word.
rabbit_env() {
	d=$T/rabbit$1
	echo HOME="$T/rabbit-home" ERL_EPMD_PORT="$RMQ_EPMD" \
	    RABBITMQ_NODENAME="rmq$1@localhost" RABBITMQ_BASE="$d" \
	    RABBITMQ_MNESIA_BASE="$d/mnesia" RABBITMQ_LOG_BASE="$d/log" \
	    RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf" \
	    RABBITMQ_ADVANCED_CONFIG_FILE="$d/advanced.config" \
	    RABBITMQ_CONF_ENV_FILE="$d/env.conf" \
	    RABBITMQ_ENABLED_PLUGINS_FILE="$T/rabbit-home/enabled_plugins" \
	    RABBITMQ_PID_FILE="$d/pid"
}

# rabbit_ctl NODE ARGS...: rabbitmqctl against that node.
rabbit_ctl() {
	n=$1; shift
	env $(rabbit_env "$n") "$RABBIT_LIB/rabbitmqctl" -n "rmq$n@localhost" "$@"
}

# Why this host cannot run the test, if it cannot.
rabbit_usable() {
	[ -x "$RABBIT_LIB/rabbitmq-server" ] ||
	    { echo "RabbitMQ is not installed (apt-get install rabbitmq-server)"; return 1; }
	ls -d /usr/lib/rabbitmq/lib/rabbitmq_server-*/plugins/rabbitmq_mqtt-* >/dev/null 2>&1 ||
	    { echo "RabbitMQ has no MQTT plugin"; return 1; }
	return 0
}

# rabbit_up NODE: start a node (MQTT on $RMQ_PORT_<NODE>, no AMQP listener).
rabbit_up() {
	n=$1
	d=$T/rabbit$n
	mkdir -p "$d" "$T/rabbit-home"
	if [ ! -f "$T/rabbit-home/.erlang.cookie" ]; then
		od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$T/rabbit-home/.erlang.cookie"
		chmod 400 "$T/rabbit-home/.erlang.cookie"
		echo '[rabbitmq_mqtt].' >"$T/rabbit-home/enabled_plugins"
	fi
	mport=$(free_port)
	dport=$(free_port)
	eval "RMQ_PORT_$n=$mport"
	cat >"$d/rabbitmq.conf" <<EOC
listeners.tcp = none
mqtt.listeners.tcp.default = 127.0.0.1:$mport
distribution.listener.interface = 127.0.0.1
distribution.listener.port_range.min = $dport
distribution.listener.port_range.max = $dport
mqtt.allow_anonymous = true
loopback_users = none
log.console = false
log.file.level = info
EOC
	: >"$d/env.conf"
	spawn "rabbit$n" env $(rabbit_env "$n") "$RABBIT_LIB/rabbitmq-server"
}

# rabbit_wait NODE: until its MQTT listener takes connections.
rabbit_wait() {
	eval "p=\$RMQ_PORT_$1"
	wait_for 90 port_open "$p" || {
		echo "RabbitMQ node $1 did not start: $(tail -n 5 "$T/rabbit$1.log")"
		return 1
	}
}

# rabbit_join NODE OTHER: make NODE a member of OTHER's cluster.
rabbit_join() {
	{ rabbit_ctl "$1" stop_app && rabbit_ctl "$1" join_cluster "rmq$2@localhost" &&
	    rabbit_ctl "$1" start_app; } >>"$T/rabbit-ctl.out" 2>&1 || {
		echo "rabbitmqctl join_cluster failed: $(tail -n 5 "$T/rabbit-ctl.out")"
		return 1
	}
	rabbit_wait "$1"
}

# rabbit_kill NODE: SIGKILL its Erlang VM (the child of its start script).
rabbit_kill() {
	eval "pkill -KILL -P \$PID_rabbit$1 -f beam"
}

# After lib.sh's cleanup stopped the nodes' scripts: what is left of the
# Erlang VMs, and the Erlang port mapper, a daemon of its own.
rabbit_cleanup() {
	pkill -KILL -f "$T/rabbit" 2>/dev/null
	epmd=$(ls /usr/lib/erlang/erts-*/bin/epmd 2>/dev/null | head -n 1)
	[ -n "$epmd" ] && "$epmd" -port "$RMQ_EPMD" -kill >/dev/null 2>&1
}
CLEANUP_EXTRA=rabbit_cleanup
