/*
 * String-keyed hash map.  See hmap.h.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hmap.h"
#include "xmalloc.h"

static const char hmap_tomb[] = "";

/* Keyed (SipHash, a key per process): job ids are chosen by clients, and
 * must not be able to pile up in one probe sequence. */
static size_t
hmap_hash(const char *s)
{
	static uint8_t	key[crypto_shorthash_KEYBYTES];
	static int	keyed;
	uint8_t		out[crypto_shorthash_BYTES];
	size_t		h;

	if (!keyed) {
		randombytes_buf(key, sizeof(key));
		keyed = 1;
	}
	crypto_shorthash(out, (const uint8_t *)s, strlen(s), key);
	memcpy(&h, out, sizeof(h));
	return h;
}

/* The slot of key, or the first free slot of its probe sequence. */
static struct hmap_slot *
hmap_find(const struct hmap *h, const char *key, struct hmap_slot **freep)
{
	size_t			 i = hmap_hash(key) & (h->cap - 1);
	struct hmap_slot	*s, *first_free = NULL;

	for (;;) {
		s = &h->slots[i];
		if (s->key == NULL) {
			*freep = first_free != NULL ? first_free : s;
			return NULL;
		}
		if (s->key == hmap_tomb) {
			if (first_free == NULL)
				first_free = s;
		} else if (strcmp(s->key, key) == 0)
			return s;
		i = (i + 1) & (h->cap - 1);
	}
}

static void
hmap_grow(struct hmap *h)
{
	struct hmap	 old = *h;
	struct hmap_slot *free_slot;
	size_t		 i;

	h->cap = old.cap != 0 ? old.cap * 2 : 16;
	/* Mostly tombstones: rebuild at the same size. */
	if (old.cap != 0 && old.n < old.cap / 4)
		h->cap = old.cap;
	h->slots = xcalloc(h->cap, sizeof(*h->slots));
	h->n = h->used = 0;
	for (i = 0; i < old.cap; i++) {
		if (old.slots[i].key == NULL || old.slots[i].key == hmap_tomb)
			continue;
		hmap_find(h, old.slots[i].key, &free_slot);
		*free_slot = old.slots[i];
		h->n++;
		h->used++;
	}
	free(old.slots);
}

void
hmap_put(struct hmap *h, const char *key, void *val)
{
	struct hmap_slot	*s, *free_slot;

	if ((h->used + 1) * 4 > h->cap * 3)
		hmap_grow(h);
	if ((s = hmap_find(h, key, &free_slot)) != NULL) {
		s->key = key;
		s->val = val;
		return;
	}
	if (free_slot->key == NULL)
		h->used++;
	free_slot->key = key;
	free_slot->val = val;
	h->n++;
}

void *
hmap_get(const struct hmap *h, const char *key)
{
	struct hmap_slot	*s, *free_slot;

	if (h->cap == 0)
		return NULL;
	s = hmap_find(h, key, &free_slot);
	return s != NULL ? s->val : NULL;
}

void *
hmap_del(struct hmap *h, const char *key)
{
	struct hmap_slot	*s, *free_slot;
	void			*val;

	if (h->cap == 0 || (s = hmap_find(h, key, &free_slot)) == NULL)
		return NULL;
	val = s->val;
	s->key = hmap_tomb;
	s->val = NULL;
	h->n--;
	return val;
}

void
hmap_free(struct hmap *h)
{
	free(h->slots);
	memset(h, 0, sizeof(*h));
}
