/*
 * The insides of struct mqtt, shared by mqtt.c (the connection) and
 * mqtt_watch.c (what a process checks about its broker: the loopback
 * probe and topics a broker rewrote).  Not for other modules.
 */
#ifndef DFFMPEG_MQTT_PRIV_H
#define DFFMPEG_MQTT_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "bounds.h"
#include "mqtt.h"
#include "settings.h"

#define BACKOFF_MIN_MS		250
#define BACKOFF_MAX_MS		5000
#define CONNACK_TIMEOUT_MS	10000
/* A connection that lasted this long was a good one: the back-off starts
 * again from BACKOFF_MIN_MS.  One lost sooner (a broker that accepts and
 * then drops) keeps it growing. */
#define STABLE_MS		10000
/* The loopback probe: after PROBE_IDLE_MS with nothing received, a probe
 * to ourselves; none back within PROBE_TIMEOUT_MS and the broker is taken
 * for hung (its socket may stay open for a long time). */
#define PROBE_IDLE_MS		2000
#define PROBE_PROVE_MS		1000	/* the first, after CONNACK */
#define PROBE_TIMEOUT_MS	3000
/* The largest packet dffmpeg publishes: a control message, its topic and
 * the MQTT header. */
#define PACKET_NEED		(MSG_MAX_BYTES + 16384)

enum mqtt_state { MQ_IDLE, MQ_CONNECTING, MQ_UP, MQ_CLOSING };

struct mqtt_sub {
	char		*topic;
	mqtt_sub_cb	 cb;
	void		*arg;
	int		 mid;
};

/* One broker address, with what its attempts have taught us. */
struct mqtt_peer {
	struct mqtt_endpoint	 ep;
	int			 protocol;	/* MQTT_PROTOCOL_V5 or _V311 */
	/* Its latest warning, repeated at most every ERR_REPEAT_MS. */
	char			 last_err[256];
	int64_t			 last_err_at;	/* mono ms */
	unsigned		 err_repeats;
	bool			 v311_said;	/* took 3.1.1 after 5 failed */
};

struct mqtt {
	struct event_base	*base;
	struct mosquitto	*mosq;
	const struct mqtt_ops	*ops;
	void			*arg;
	struct mqtt_peer	*peers;
	size_t			 npeers;
	size_t			 cur;		/* the one tried or in use */
	size_t			 tried;		/* failures this round */
	int			 keepalive;
	bool			 allow_unlimited;	/* packets */
	bool			 v311_warned;
	bool			 rewrite_warned;	/* topics; once */
	/* MQTT 5 then 3.1.1: this attempt is 3.1.1 because the one before,
	 * in 5, was refused or closed unanswered (fallback_next). */
	bool			 fallback_next;
	bool			 fallback_now;
	bool			 fallback_sticky;	/* 5 was refused */
	bool			 v5_refused;	/* by this attempt's CONNACK */
	bool			 peer_closed;	/* before CONNACK */
	char			*name;		/* the identity */
	char			*client_id;	/* name-random, per connection */
	/* What every connection is set up with (mqtt__setup). */
	char			*username;
	char			*password;	/* secret: wiped when freed */
	struct tls_conf		 tls;		/* copies */
	mqtt_will_fn		 will_fn;
	void			*will_arg;
	char			*will_topic;
	int64_t			 epoch;		/* of the latest attempt */
	char			 last_err[256];	/* of connecting, for
						   mqtt_last_error */
	char			 tls_err[160];	/* OpenSSL's latest, via the
						   library's log */
	bool			 attempt_reported;	/* its failure is logged */

	enum mqtt_state		 state;
	bool			 started;
	bool			 up;		/* CONNACK accepted */
	int			 fd;		/* the library's socket */
	int			 dupfd;		/* ours, watched by the events */
	struct event		*ev_read;
	struct event		*ev_write;
	bool			 write_armed;
	struct event		*ev_tick;
	int64_t			 backoff_ms;
	int64_t			 next_try;	/* mono ms */
	int64_t			 connect_began;	/* mono ms */
	int64_t			 up_since;	/* mono ms: CONNACK */

	struct mqtt_sub		*subs;
	size_t			 nsubs;
	size_t			 dotted;	/* subscriptions with a '.' */

	char			*probe_topic;	/* P/job/<random>/probe */
	char			*probe_alt;	/* as a broker that turns '.'
						   into '/' delivers it */
	bool			 probe_ok;	/* subscribed on this connection */
	bool			 probe_proven;	/* one came back on it */
	char			 probe_token[ID_BUF];	/* awaited, or "" */
	int64_t			 probe_sent;	/* mono ms */
	int64_t			 probe_acked;	/* TCP bytes acked then */
	int64_t			 last_in;	/* mono ms: anything received */
	int64_t			 last_tick;	/* mono ms */

	void		       (*shutdown_done)(void *);
	void			*shutdown_arg;
	int64_t			 shutdown_deadline;
	/* QoS 1 publishes not yet acknowledged on this connection: a clean
	 * shutdown waits for them, since mosquitto takes a connection closed
	 * before its PUBACK went out for a lost one (and publishes the will). */
	uint64_t		 published;	/* messages, ever */
	uint64_t		 delivered;	/* of those: PUBACKed, or lost
						 * with their connection; the
						 * rest are in flight */
	bool			 disconnect_pending;
};

/* The address in use or being tried: "host:port" or the socket path. */
const char	*mqtt_where(const struct mqtt *, char *buf, size_t len);

/* mqtt_watch.c: subscribe the probe topic (at creation); forget a
 * connection's probes (when it is up and when it is dropped); send and
 * judge probes (every tick while up); and take our probes and rewritten
 * topics out of the stream of messages (true: the message stops there). */
void		 mqtt_watch_init(struct mqtt *, const char *prefix);
void		 mqtt_watch_reset(struct mqtt *);
void		 mqtt_watch_tick(struct mqtt *, int64_t now);
bool		 mqtt_watch_filter(struct mqtt *, const char *topic,
		    const void *payload, size_t len);

#endif
