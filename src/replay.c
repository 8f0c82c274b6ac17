/*
 * The replay cache of signed control messages.  See replay.h.
 *
 * A chained hash table keyed by message id (SipHash with a per-process
 * random key, as ids come from the network), plus a list in insertion
 * order so expiry and eviction start with the oldest entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bounds.h"
#include "replay.h"
#include "xmalloc.h"

#define REPLAY_MAX	(1 << 20)
#define REPLAY_BUCKETS0	256

struct replay_entry {
	char			 id[REPLAY_KEY_MAX + 1];
	int64_t			 seen;
	char			*topic;
	char			*payload;
	size_t			 len;
	struct replay_entry	*chain;		/* same bucket */
	struct replay_entry	*older, *newer;	/* insertion order */
};

struct replay {
	int64_t			 window;
	struct replay_entry	**buckets;
	size_t			 nbuckets;	/* a power of two */
	size_t			 count;
	struct replay_entry	*oldest, *newest;
	uint8_t			 hkey[crypto_shorthash_KEYBYTES];
};

void
replay_key(char *key, const char *from, const char *id)
{
	snprintf(key, REPLAY_KEY_MAX + 1, "%.*s/%.*s", NAME_MAX_LEN, from,
	    ID_LEN, id);
}

struct replay *
replay_new(int64_t window_ms)
{
	struct replay	*r = xcalloc(1, sizeof(*r));

	r->window = window_ms;
	r->nbuckets = REPLAY_BUCKETS0;
	r->buckets = xcalloc(r->nbuckets, sizeof(*r->buckets));
	crypto_shorthash_keygen(r->hkey);
	return r;
}

static size_t
replay_hash(const struct replay *r, const char *id)
{
	uint8_t		h[crypto_shorthash_BYTES];
	uint64_t	v;

	crypto_shorthash(h, (const uint8_t *)id, strlen(id), r->hkey);
	memcpy(&v, h, sizeof(v));
	return (size_t)(v & (r->nbuckets - 1));
}

static struct replay_entry *
replay_find(const struct replay *r, const char *id)
{
	struct replay_entry	*e;

	for (e = r->buckets[replay_hash(r, id)]; e != NULL; e = e->chain)
		if (strcmp(e->id, id) == 0)
			return e;
	return NULL;
}

static void
replay_grow(struct replay *r)
{
	struct replay_entry	**old = r->buckets, *e, *next;
	size_t			  oldn = r->nbuckets, i, h;

	r->nbuckets *= 2;
	r->buckets = xcalloc(r->nbuckets, sizeof(*r->buckets));
	for (i = 0; i < oldn; i++) {
		for (e = old[i]; e != NULL; e = next) {
			next = e->chain;
			h = replay_hash(r, e->id);
			e->chain = r->buckets[h];
			r->buckets[h] = e;
		}
	}
	free(old);
}

static void
replay_remove(struct replay *r, struct replay_entry *e)
{
	struct replay_entry	**pp;

	for (pp = &r->buckets[replay_hash(r, e->id)]; *pp != e;
	    pp = &(*pp)->chain)
		;
	*pp = e->chain;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		r->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		r->newest = e->older;
	free(e->topic);
	free(e->payload);
	free(e);
	r->count--;
}

void
replay_free(struct replay *r)
{
	struct replay_entry	*e, *next;

	if (r == NULL)
		return;
	for (e = r->oldest; e != NULL; e = next) {
		next = e->newer;
		free(e->topic);
		free(e->payload);
		free(e);
	}
	free(r->buckets);
	free(r);
}

bool
replay_seen(struct replay *r, const char *id, const char **topic,
    const char **payload, size_t *len)
{
	struct replay_entry	*e = replay_find(r, id);

	if (topic != NULL)
		*topic = e != NULL ? e->topic : NULL;
	if (payload != NULL)
		*payload = e != NULL ? e->payload : NULL;
	if (len != NULL)
		*len = e != NULL ? e->len : 0;
	return e != NULL;
}

/* Adding an id already present keeps its first-seen time and answer. */
void
replay_add(struct replay *r, const char *id, int64_t now)
{
	struct replay_entry	*e;
	size_t			 h;

	if (strlen(id) > REPLAY_KEY_MAX || replay_find(r, id) != NULL)
		return;
	while (r->count >= REPLAY_MAX)
		replay_remove(r, r->oldest);
	if (r->count >= r->nbuckets)
		replay_grow(r);

	e = xcalloc(1, sizeof(*e));
	memcpy(e->id, id, strlen(id) + 1);
	e->seen = now;
	h = replay_hash(r, id);
	e->chain = r->buckets[h];
	r->buckets[h] = e;
	e->older = r->newest;
	if (r->newest != NULL)
		r->newest->newer = e;
	else
		r->oldest = e;
	r->newest = e;
	r->count++;
}

/* Nothing is stored for an id that was never added. */
void
replay_answer(struct replay *r, const char *id, const char *topic,
    const char *payload, size_t len)
{
	struct replay_entry	*e = replay_find(r, id);

	if (e == NULL)
		return;
	free(e->topic);
	free(e->payload);
	e->topic = xstrdup(topic);
	e->payload = xmalloc(len + 1);
	memcpy(e->payload, payload, len);
	e->payload[len] = '\0';
	e->len = len;
}

/* Entries live twice the window: a copy re-sent at the edge still hits. */
void
replay_expire(struct replay *r, int64_t now)
{
	while (r->oldest != NULL && now - r->oldest->seen > 2 * r->window)
		replay_remove(r, r->oldest);
}

size_t
replay_count(const struct replay *r)
{
	return r->count;
}
