/*
 * A hash map from C strings to pointers, for lookups by id or name that
 * must not walk thousands of entries.  Keys are not copied: each key must
 * live as long as its entry (typically it is a field of the value).
 * Open addressing with linear probing and tombstones; grows at 3/4 load.
 */
#ifndef DFFMPEG_HMAP_H
#define DFFMPEG_HMAP_H

#include <stddef.h>

struct hmap_slot {
	const char	*key;	/* NULL: empty; hmap_tomb: deleted */
	void		*val;
};

struct hmap {
	struct hmap_slot	*slots;
	size_t			 cap;	/* a power of two, or 0 */
	size_t			 n;	/* live entries */
	size_t			 used;	/* live entries and tombstones */
};

void	 hmap_put(struct hmap *, const char *key, void *val);
void	*hmap_get(const struct hmap *, const char *key);
/* Remove key; returns its value or NULL. */
void	*hmap_del(struct hmap *, const char *key);
void	 hmap_free(struct hmap *);

#endif
