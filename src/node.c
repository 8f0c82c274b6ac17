/*
 * The common half of worker and client processes.  See node.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "mqtt.h"
#include "node.h"
#include "outbox.h"
#include "settings.h"
#include "util.h"
#include "xmalloc.h"

static void
node__on_sub(void *arg, const char *topic, bool ok)
{
	struct node	*n = arg;

	(void)topic;
	if (!ok) {
		log_warnx("the broker refused our subscription to %s; check "
		    "its ACL", n->downlink);
		return;
	}
	n->ready = true;
	outbox_flush(n->outbox);
	if (n->ops->ready != NULL)
		n->ops->ready(n->arg);
}

static void
node__connected(void *arg)
{
	(void)arg;
	/* The downlink subscription is renewed by mqtt; its SUBACK calls
	 * node__on_sub. */
}

static void
node__disconnected(void *arg)
{
	struct node	*n = arg;

	n->ready = false;
	if (n->ops->lost != NULL)
		n->ops->lost(n->arg);
}

static void
node__message(void *arg, const char *topic, const uint8_t *payload,
    size_t len)
{
	struct node	*n = arg;
	struct msg	 m;
	char		 err[256];
	enum msg_err	 e;

	if (strcmp(topic, n->downlink) != 0) {
		if (n->ops->data != NULL)
			n->ops->data(n->arg, topic, payload, len);
		return;
	}
	e = msg_decode(topic, payload, len, n->key, COORDINATOR_NAME,
	    ROLE_COORD, now_ms(), n->window_ms, &m, err, sizeof(err));
	if (e != ME_OK) {
		n->dropped++;
		if (e == ME_MAC && (n->mac_failed++ == 0 ||
		    mono_ms() - n->mac_warned >= 60000)) {
			/* At once, then once a minute while it lasts. */
			n->mac_warned = mono_ms();
			log_warnx("the coordinator refuses the key of identity "
			    "'%s' (its messages on %s do not verify with ours): "
			    "was the key rotated or the identity removed? "
			    "(dffmpeg admin user show %s)", n->name, topic,
			    n->name);
		}
		else if (e == ME_AGE && (n->age_warned == 0 ||
		    mono_ms() - n->age_warned >= 60000)) {
			/* A replayed old one would otherwise flood the log:
			 * once a minute. */
			n->age_warned = mono_ms();
			log_warnx("a message on %s is too old or too new: %s "
			    "(are the clocks of both hosts right?)", topic,
			    err);
		}
		else
			log_debug("dropped a message on %s: %s", topic, err);
		return;
	}
	if (replay_seen(n->replay, m.id, NULL, NULL, NULL)) {
		log_debug("ignored a repeated %s", msg_type_name(m.type));
		msg_clear(&m);
		return;
	}
	replay_add(n->replay, m.id, now_ms());
	replay_expire(n->replay, now_ms());
	if (m.present & FBIT(F_REF))
		outbox_done(n->outbox, m.ref);
	if (m.type == MT_UNVERIFIED) {
		/* Our key is the coordinator's (this verified): someone else
		 * sends as us with another.  Once a minute at most. */
		if (n->unverified_warned == 0 ||
		    mono_ms() - n->unverified_warned >= 60000) {
			n->unverified_warned = mono_ms();
			log_warnx("the coordinator could not verify a message "
			    "sent as %s: does another host use this identity "
			    "with an old key?", n->name);
		}
	} else
		n->ops->control(n->arg, &m);
	msg_clear(&m);
}

/* The will of one connection: `gone` with our session and its epoch,
 * signed now (wills are exempt from the age check, not from the MAC). */
static char *
node__will(void *arg, int64_t epoch, size_t *lenp)
{
	struct node	*n = arg;
	struct msg	 gone;
	char		*payload;

	msg_init(&gone, MT_GONE, n->name);
	msg_set_str(&gone, F_SESSION, n->session);
	msg_set_int(&gone, F_EPOCH, epoch);
	payload = msg_encode(&gone, n->uplink, n->key, lenp);
	msg_clear(&gone);
	return payload;
}

static const struct mqtt_ops node_mqtt_ops = {
	node__connected,
	node__disconnected,
	node__message,
};

int
node_init(struct node *n, struct event_base *base,
    const struct mqtt_conf *conf, const char *name, const uint8_t key[KEY_LEN],
    bool per_session, const struct node_ops *ops, void *arg, char *err,
    size_t errlen)
{

	memset(n, 0, sizeof(*n));
	n->base = base;
	n->ops = ops;
	n->arg = arg;
	n->window_ms = REPLAY_WINDOW_MS;
	snprintf(n->name, sizeof(n->name), "%s", name);
	snprintf(n->prefix, sizeof(n->prefix), "%s", conf->topic_prefix);
	memcpy(n->key, key, KEY_LEN);
	id_new(n->session);
	if (topic_fmt(n->uplink, sizeof(n->uplink), n->prefix, "coord/%s",
	    name) == -1 || (per_session ?
	    topic_fmt(n->downlink, sizeof(n->downlink), n->prefix,
	    "client/%s/%s", name, n->session) :
	    topic_fmt(n->downlink, sizeof(n->downlink), n->prefix,
	    "worker/%s", name)) == -1) {
		snprintf(err, errlen, "topic prefix too long");
		return -1;
	}
	n->mqtt = mqtt_new(base, conf, name, &node_mqtt_ops, n, err, errlen);
	if (n->mqtt == NULL)
		return -1;
	n->outbox = outbox_new(base, n->mqtt, n->key);
	n->replay = replay_new(REPLAY_WINDOW_MS);
	mqtt_set_will(n->mqtt, n->uplink, node__will, n);
	mqtt_subscribe(n->mqtt, n->downlink, node__on_sub, n);
	return 0;
}

void
node_start(struct node *n)
{
	mqtt_start(n->mqtt);
}

void
node_free(struct node *n)
{
	outbox_free(n->outbox);
	mqtt_free(n->mqtt);
	replay_free(n->replay);
	sodium_memzero(n->key, sizeof(n->key));
	n->outbox = NULL;
	n->mqtt = NULL;
	n->replay = NULL;
}

int
node_send(struct node *n, struct msg *m, bool reliable)
{
	char	*payload;
	size_t	 len;

	msg_stamp_epoch(m, mqtt_epoch(n->mqtt));
	if (reliable) {
		outbox_add(n->outbox, n->uplink, m);
		return 0;
	}
	payload = msg_encode(m, n->uplink, n->key, &len);
	if (payload == NULL)
		return -1;
	if (len > MSG_MAX_BYTES) {
		free(payload);
		return -2;	/* the coordinator would drop it */
	}
	if (mqtt_publish(n->mqtt, n->uplink, payload, len) == -1) {
		free(payload);
		return -1;
	}
	free(payload);
	return 0;
}

void
node_shutdown(struct node *n, bool bye, void (*done)(void *), void *arg)
{
	struct msg	m;

	if (bye && mqtt_is_connected(n->mqtt)) {
		msg_init(&m, MT_BYE, n->name);
		msg_set_str(&m, F_SESSION, n->session);	/* + epoch: node_send */
		node_send(n, &m, false);
		msg_clear(&m);
	}
	mqtt_shutdown(n->mqtt, 2000, done, arg);
}
