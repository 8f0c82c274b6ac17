/*
 * What the worker and the client have in common: an identity key, an MQTT
 * connection with a will, an uplink to the coordinator (P/coord/<name>),
 * a downlink of signed messages (verified, replay-checked and decoded
 * here), and an outbox of messages re-sent until answered.  Messages on
 * other topics (job data planes) are passed through untouched.
 */
#ifndef DFFMPEG_NODE_H
#define DFFMPEG_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "msg.h"

struct event_base;
struct mqtt;
struct mqtt_conf;
struct outbox;
struct replay;

struct node_ops {
	/* Connected (again); the downlink subscription is acknowledged. */
	void	(*ready)(void *arg);
	void	(*lost)(void *arg);
	/* A verified downlink message (answers already cleared from the
	 * outbox). */
	void	(*control)(void *arg, const struct msg *);
	/* A message on any other subscribed topic. */
	void	(*data)(void *arg, const char *topic, const uint8_t *,
		    size_t);
};

struct node {
	struct event_base	*base;
	struct mqtt		*mqtt;
	struct outbox		*outbox;
	struct replay		*replay;
	const struct node_ops	*ops;
	void			*arg;
	char			 name[NAME_MAX_LEN + 1];
	char			 prefix[128];
	char			 session[SESSION_BUF];
	char			 uplink[256];
	char			 downlink[256];
	uint8_t			 key[KEY_LEN];
	int64_t			 window_ms;
	bool			 ready;
	uint64_t		 dropped;	/* bad downlink messages */
	int64_t			 unverified_warned;	/* mono ms */
	uint64_t		 mac_failed;	/* of those, failed their MAC:
						   the coordinator holds
						   another key for us */
	int64_t			 mac_warned;	/* mono ms */
	int64_t			 age_warned;	/* mono ms: one out of the window */
};

/*
 * Set up (not connected yet).  downlink_fmt is "worker/%s" or
 * "client/%s/%s" (name, session).  Every connection gets its own signed
 * `gone` will (session and connection epoch), and every uplink message
 * whose type carries F_EPOCH is stamped with the current epoch, so that
 * the coordinator can tell a will of this connection from an old one.
 * Returns 0 or -1 with err.
 */
int	 node_init(struct node *, struct event_base *, const struct mqtt_conf *,
	    const char *name, const uint8_t key[KEY_LEN], bool per_session,
	    const struct node_ops *, void *arg, char *err, size_t errlen);
void	 node_start(struct node *);
void	 node_free(struct node *);
/* Sign m (from = our name) and publish it on the uplink.  With reliable
 * it is re-sent until a downlink message with ref == m->id arrives, and
 * the outbox takes over m's fields (m is left empty).  Returns 0, -1 if
 * it could not be sent now, -2 if it is larger than MSG_MAX_BYTES. */
int	 node_send(struct node *, struct msg *, bool reliable);
/* Clean shutdown: optional bye, then disconnect; done when closed. */
void	 node_shutdown(struct node *, bool bye, void (*done)(void *),
	    void *arg);

#endif
