/*
 * The coordinator's sending side: signing and publishing downlink
 * messages, remembering answers for repeated requests, and the group
 * commit of the store's deferred writes.  See coord.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <sodium.h>

#include "coord.h"
#include "ident.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "store.h"
#include "util.h"

#define FLUSH_RETRY_MS		20
#define FLUSH_WARN_MS		10000

void
coord_dirty(struct coord *c)
{
	if (store_pending(c->store) > 0 &&
	    !event_pending(c->ev_flush, EV_TIMEOUT, NULL))
		event_active(c->ev_flush, EV_TIMEOUT, 0);
}

void
coord_flush(struct coord *c)
{
	struct timespec	t0, t1;
	int64_t		now;
	int		rc;

	if (store_pending(c->store) == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = store_flush(c->store);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc == 0) {
		hist_observe(&c->stats.commit, (double)(t1.tv_sec - t0.tv_sec) +
		    (t1.tv_nsec - t0.tv_nsec) / 1e9);
		c->store_error[0] = '\0';
		c->store_waiting = 0;
		return;
	}
	if (rc == -1) {
		c->store_waiting = 0;
		c->stats.commit_failures++;
		snprintf(c->store_error, sizeof(c->store_error), "the last "
		    "commit to the database failed (the log says why)");
		return;
	}
	/* Another connection holds the write lock: the batch waits, the
	 * loop does not. */
	now = mono_ms();
	if (c->store_waiting == 0)
		c->store_waiting = now;
	if (now - c->flush_warned >= FLUSH_WARN_MS) {
		c->flush_warned = now;
		log_warnx("the database is locked by another connection; %zu "
		    "writes wait for it", store_pending(c->store));
	}
	if (!event_pending(c->ev_flush, EV_TIMEOUT, NULL))
		loop_arm(c->ev_flush, FLUSH_RETRY_MS);
}

char *
coord_publish(struct coord *c, const char *topic, const uint8_t *key,
    struct msg *m, size_t *lenp)
{
	char	*payload;

	/* From a timer the message leaves at once: what it announces must
	 * be on disk first (a handler's publishes wait for the flush). */
	if (!c->in_handler)
		coord_flush(c);
	payload = msg_encode(m, topic, key, lenp);
	if (payload == NULL) {
		log_warnx("cannot encode a %s message", msg_type_name(m->type));
		return NULL;
	}
	if (mqtt_publish(c->mqtt, topic, payload, *lenp) == -1)
		log_debug("%s to %s not sent now (not connected)",
		    msg_type_name(m->type), topic);
	return payload;
}

static int
downlink_topic(struct coord *c, char *buf, size_t len, int role,
    const char *name, const char *session)
{
	if (role == ROLE_WORKER)
		return topic_fmt(buf, len, c->prefix, "worker/%s", name);
	if (session == NULL || !name_valid(session, ID_LEN))
		return -1;
	return topic_fmt(buf, len, c->prefix, "client/%s/%s", name, session);
}

void
coord_answer(struct coord *c, const struct sender *s, const struct msg *req,
    struct msg *m)
{
	char	 topic[256], *payload;
	size_t	 len;
	char	 rkey[REPLAY_KEY_MAX + 1];

	if (downlink_topic(c, topic, sizeof(topic), s->role, s->name,
	    req->session) == -1) {
		msg_clear(m);
		return;
	}
	if (!(m->present & FBIT(F_REF)) &&
	    (msg_types[m->type].required | msg_types[m->type].optional) &
	    FBIT(F_REF))
		msg_set_str(m, F_REF, req->id);
	payload = coord_publish(c, topic, s->key, m, &len);
	if (payload != NULL) {
		replay_key(rkey, s->name, req->id);
		replay_answer(c->replay, rkey, topic, payload, len);
		free(payload);
	}
	msg_clear(m);
}

void
coord_unverified(struct coord *c, const struct sender *s,
    const void *payload, size_t len)
{
	char		 topic[256], session[SESSION_BUF], *out;
	struct msg	 m;
	size_t		 olen;
	int64_t		 now = mono_ms();

	if (now - c->unverified_window >= 1000) {
		c->unverified_window = now;
		c->unverified_sent = 0;
	}
	if (c->unverified_sent >= UNVERIFIED_PER_S)
		return;
	session[0] = '\0';
	if (s->role != ROLE_WORKER && msg_peek_session(payload, len, session,
	    sizeof(session)) != ME_OK)
		return;
	if (downlink_topic(c, topic, sizeof(topic), s->role, s->name,
	    session) == -1)
		return;
	c->unverified_sent++;
	msg_init(&m, MT_UNVERIFIED, COORDINATOR_NAME);
	if (session[0] != '\0')
		msg_set_str(&m, F_SESSION, session);
	out = coord_publish(c, topic, s->key, &m, &olen);
	free(out);
	msg_clear(&m);
}

int
coord_client_key(struct coord *c, const struct cjob *j, uint8_t key[KEY_LEN])
{
	uint8_t	 old[KEY_LEN];
	int64_t	 until;
	bool	 has_old;
	int	 role;

	/* Many processes share a client identity, some perhaps with the old
	 * key of a rotation and some with the new: the job says which. */
	if (keyring_keys(c->keyring, j->client, key, old, &has_old, &until,
	    &role) == -1)
		return -1;
	if (has_old && j->client_old_key)
		memcpy(key, old, KEY_LEN);
	sodium_memzero(old, sizeof(old));
	return 0;
}

void
coord_to_client(struct coord *c, const struct cjob *j, struct msg *m)
{
	uint8_t	 key[KEY_LEN];
	char	 topic[256], *payload;
	size_t	 len;

	if (coord_client_key(c, j, key) == -1 ||
	    downlink_topic(c, topic, sizeof(topic), ROLE_CLIENT, j->client,
	    j->session) == -1) {
		msg_clear(m);
		return;
	}
	payload = coord_publish(c, topic, key, m, &len);
	free(payload);
	sodium_memzero(key, sizeof(key));
	msg_clear(m);
}

void
coord_send_worker(struct coord *c, const char *worker, struct msg *m)
{
	uint8_t	 key[KEY_LEN];
	char	 topic[256], *payload;
	size_t	 len;
	int	 role;

	if (keyring_lookup(c->keyring, worker, key, &role) == -1 ||
	    downlink_topic(c, topic, sizeof(topic), ROLE_WORKER, worker,
	    NULL) == -1)
		return;
	m->ts = now_ms();
	payload = coord_publish(c, topic, key, m, &len);
	free(payload);
	sodium_memzero(key, sizeof(key));
}

void
coord_to_worker(struct coord *c, const char *worker, struct msg *m)
{
	coord_send_worker(c, worker, m);
	msg_clear(m);
}
