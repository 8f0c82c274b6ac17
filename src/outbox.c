/*
 * Re-sent control messages.  See outbox.h.  The list is short (a handful
 * of messages per job), so it is a plain array.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "log.h"
#include "mqtt.h"
#include "msg.h"
#include "outbox.h"
#include "util.h"
#include "xmalloc.h"

struct pending {
	struct msg	 m;
	char		*topic;
	int64_t		 next;		/* mono ms */
	int		 delay;
};

struct outbox {
	struct mqtt	*mqtt;
	uint8_t		 key[KEY_LEN];
	struct pending	*v;
	size_t		 n;
	struct event	*ev;
};

static void
outbox__send(struct outbox *o, struct pending *p, int64_t now)
{
	char	*payload;
	size_t	 len;

	p->m.ts = now_ms();
	/* A copy sent on a new connection says so. */
	msg_stamp_epoch(&p->m, mqtt_epoch(o->mqtt));
	if ((payload = msg_encode(&p->m, p->topic, o->key, &len)) != NULL) {
		mqtt_publish(o->mqtt, p->topic, payload, len);
		free(payload);
	}
	p->next = now + p->delay;
	p->delay *= 2;
	if (p->delay > RETRY_MAX_MS)
		p->delay = RETRY_MAX_MS;
}

static void
outbox__tick(evutil_socket_t fd, short what, void *arg)
{
	struct outbox	*o = arg;
	int64_t		 now = mono_ms();
	size_t		 i;

	(void)fd;
	(void)what;
	if (!mqtt_is_connected(o->mqtt))
		return;
	for (i = 0; i < o->n; i++)
		if (now >= o->v[i].next)
			outbox__send(o, &o->v[i], now);
}

struct outbox *
outbox_new(struct event_base *base, struct mqtt *mqtt,
    const uint8_t key[KEY_LEN])
{
	struct outbox	*o = xcalloc(1, sizeof(*o));
	struct timeval	 tv = { 0, 100 * 1000 };

	o->mqtt = mqtt;
	memcpy(o->key, key, KEY_LEN);
	o->ev = event_new(base, -1, EV_PERSIST, outbox__tick, o);
	event_add(o->ev, &tv);
	return o;
}

static void
pending_free(struct pending *p)
{
	free(p->topic);
	msg_clear(&p->m);
}

void
outbox_free(struct outbox *o)
{
	size_t	i;

	if (o == NULL)
		return;
	for (i = 0; i < o->n; i++)
		pending_free(&o->v[i]);
	free(o->v);
	event_free(o->ev);
	sodium_memzero(o->key, sizeof(o->key));
	free(o);
}

void
outbox_add(struct outbox *o, const char *topic, struct msg *m)
{
	struct pending	*p;

	o->v = xreallocarray(o->v, o->n + 1, sizeof(*o->v));
	p = &o->v[o->n++];
	memset(p, 0, sizeof(*p));
	p->m = *m;
	memset(m, 0, sizeof(*m));
	p->topic = xstrdup(topic);
	p->delay = RETRY_INITIAL_MS;
	outbox__send(o, p, mono_ms());
}

static void
outbox__remove(struct outbox *o, size_t i)
{
	pending_free(&o->v[i]);
	o->v[i] = o->v[--o->n];
}

bool
outbox_done(struct outbox *o, const char *id)
{
	size_t	i;

	for (i = 0; i < o->n; i++) {
		if (strcmp(o->v[i].m.id, id) == 0) {
			outbox__remove(o, i);
			return true;
		}
	}
	return false;
}

void
outbox_flush(struct outbox *o)
{
	int64_t	now = mono_ms();
	size_t	i;

	for (i = 0; i < o->n; i++) {
		o->v[i].delay = RETRY_INITIAL_MS;
		outbox__send(o, &o->v[i], now);
	}
}

void
outbox_pending_jobs(const struct outbox *o, struct strv *out)
{
	size_t	i;

	for (i = 0; i < o->n; i++)
		if ((o->v[i].m.present & FBIT(F_JOB)) &&
		    !strv_contains(out, o->v[i].m.job))
			strv_push(out, o->v[i].m.job);
}

size_t
outbox_pending(const struct outbox *o)
{
	return o->n;
}
