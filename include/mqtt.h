/*
 * libmosquitto driven by the process's libevent loop (design §3.2).
 *
 * A persistent read event on the socket, a write event armed only while
 * mosquitto_want_write(), a 100 ms timer for mosquitto_loop_misc
 * (keepalive) and for reconnects with exponential back-off.  Events are
 * re-synced after every library call and every (re)connect is treated as
 * a new socket.  A socket that reports an error or hang-up (and nothing
 * to read) before CONNACK is dropped and retried with back-off, a guard
 * against the TLS handshake busy-loop of libmosquitto 2.0.11 (with
 * OpenSSL 3, closed and reset handshakes fail as EOF and never reach it;
 * t_broker_tls checks that neither spins).  Each connection attempt has
 * an epoch, a will built for it and a client id of its own; connection
 * failures and refusals are logged at warn with the broker's address and
 * reason (repeats at most every 30 s, per address).  With several
 * addresses (mqtt.hosts, the nodes of one clustered broker) a failed
 * attempt goes on to the next address at once and the back-off grows once
 * all have failed; a lost connection tries the next address first, and
 * the back-off starts over only after a connection that lasted 10 s.  A
 * broker that passes nothing back, not even a probe to ourselves, within
 * 5 s is taken for hung and left (longer on a slow link while the next
 * hop still takes what we send, see mqtt_watch.c).  An MQTT 5 connection
 * refused for its version or closed unanswered is tried again at once in
 * 3.1.1; an address that refused 5 stays 3.1.1 once it takes it.
 * Subscriptions are remembered and renewed after every reconnect (sessions
 * are clean); publishing is QoS 1, never retained.
 */
#ifndef DFFMPEG_MQTT_H
#define DFFMPEG_MQTT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"

struct event_base;
struct mqtt_conf;
struct mqtt;

struct mqtt_ops {
	/* CONNACK accepted; subscriptions have been re-requested. */
	void	(*connected)(void *arg);
	/* The connection was lost or refused; a reconnect is scheduled. */
	void	(*disconnected)(void *arg);
	void	(*message)(void *arg, const char *topic, const uint8_t *payload,
		    size_t len);
};

/*
 * Builds the will of one connection: called before every connection
 * attempt with that connection's epoch (1 for the first, then 2, 3, ...).
 * Returns the payload (owned; the caller frees it) and its length, or
 * NULL for no will.
 */
typedef char *(*mqtt_will_fn)(void *arg, int64_t epoch, size_t *lenp);

/* Called on every SUBACK of a subscription (ok false: refused by ACL). */
typedef void (*mqtt_sub_cb)(void *arg, const char *topic, bool ok);

/* The MQTT client id is name, '-' and a random part, new for each
 * connection. */
struct mqtt	*mqtt_new(struct event_base *, const struct mqtt_conf *,
		    const char *name, const struct mqtt_ops *, void *arg,
		    char *err, size_t errlen);
void		 mqtt_free(struct mqtt *);
/* Publish a will on topic, built by fn for each connection (set before
 * mqtt_start). */
void		 mqtt_set_will(struct mqtt *, const char *topic, mqtt_will_fn,
		    void *arg);
/* The epoch of the current connection (or of the latest attempt): 0
 * before the first, then growing by one with each. */
int64_t		 mqtt_epoch(const struct mqtt *);
/* Why the latest connection attempt failed ("cannot connect to the broker
 * at H:P: Connection refused", "... refused the connection as ID: not
 * authorised"), "" once connected. */
const char	*mqtt_last_error(const struct mqtt *);
/* Begin connecting; failures are retried forever with back-off. */
void		 mqtt_start(struct mqtt *);
/* Subscribe now if connected, and again after every reconnect. */
void		 mqtt_subscribe(struct mqtt *, const char *topic, mqtt_sub_cb,
		    void *arg);
void		 mqtt_unsubscribe(struct mqtt *, const char *topic);
/* Publish QoS 1.  Returns -1 when not connected (the caller keeps the
 * message and sends it again after the reconnect). */
int		 mqtt_publish(struct mqtt *, const char *topic, const void *,
		    size_t);
bool		 mqtt_is_connected(const struct mqtt *);
/* The number of the last message published (counting from 1; 0 before
 * any), and whether message n has reached the broker (its PUBACK came) or
 * was lost with its connection.  On a slow link, that takes seconds. */
uint64_t	 mqtt_published(const struct mqtt *);
bool		 mqtt_delivered(const struct mqtt *, uint64_t n);
/* Clean disconnect: queued packets are written and acknowledged, then
 * DISCONNECT (no will);
 * done is called when the socket is closed or after timeout_ms. */
void		 mqtt_shutdown(struct mqtt *, int timeout_ms,
		    void (*done)(void *), void *arg);

/*
 * Broker addresses.  mqtt.hosts lists nodes of one clustered broker:
 * "host", "host:port" (default mqtt.port), "[v6]:port" or "/unix/socket".
 * A connection that fails or is lost goes on to the next, in turn.
 */
#define MQTT_HOSTS_MAX	16
struct mqtt_endpoint {
	char	host[PATH_BUF];	/* a name, an address or a socket path */
	int	port;		/* 0: host is a unix socket */
};

/* Parse one address; err is a predicate ("must name a host"). */
int		 mqtt_endpoint_parse(const char *, int defport,
		    struct mqtt_endpoint *, char *err, size_t errlen);
/* The addresses a config names (at least one), up to max. */
size_t		 mqtt_endpoints(const struct mqtt_conf *,
		    struct mqtt_endpoint *, size_t max);
/* "host:port", "[v6]:port" or the socket path. */
const char	*mqtt_endpoint_str(const struct mqtt_endpoint *, char *buf,
		    size_t len);
/* Every address of a config, for messages: "a:1883, b:1883". */
const char	*mqtt_conf_where(const struct mqtt_conf *, char *buf,
		    size_t len);

/* Build "prefix/a/b..." into buf; -1 if it does not fit. */
int		 topic_fmt(char *buf, size_t len, const char *prefix,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The last level of a topic. */
const char	*topic_last(const char *);

#endif
