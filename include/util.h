/*
 * Small shared helpers: string vectors and maps, byte buffers, base64,
 * random ids, clocks, key wiping.
 */
#ifndef DFFMPEG_UTIL_H
#define DFFMPEG_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define nitems(a)	(sizeof(a) / sizeof((a)[0]))

/* A growable, NULL-terminated vector of owned strings. */
struct strv {
	char	**v;
	size_t	  n;
	size_t	  cap;
};

void	 strv_push(struct strv *, const char *);
void	 strv_pushn(struct strv *, const char *, size_t);
void	 strv_free(struct strv *);
bool	 strv_contains(const struct strv *, const char *);

/* An ordered map of owned strings; lookups are linear (maps are small). */
struct strmap {
	char	**keys;
	char	**vals;
	size_t	  n;
};

void	 strmap_set(struct strmap *, const char *, const char *);
const char *strmap_get(const struct strmap *, const char *);
void	 strmap_del(struct strmap *, const char *);
void	 strmap_free(struct strmap *);

/* A growable byte buffer with a read offset (a simple FIFO). */
struct buf {
	uint8_t	*data;
	size_t	 off;	/* first unread byte */
	size_t	 len;	/* end of data */
	size_t	 cap;
};

void	 buf_add(struct buf *, const void *, size_t);
size_t	 buf_used(const struct buf *);
const uint8_t *buf_head(const struct buf *);
void	 buf_drain(struct buf *, size_t);
void	 buf_free(struct buf *);

/* Base64 (standard, padded) of binary data; the result is owned. */
char	*b64_encode(const void *, size_t);
/* Decode into out (cap bytes); -1 if malformed or too long. */
int	 b64_decode(const char *, size_t, uint8_t *, size_t, size_t *);

/* A fresh 128-bit random id, base64url without padding (ID_LEN chars). */
void	 id_new(char out[]);
/* True if s looks like an id or a name: [A-Za-z0-9_.-], 1..max chars. */
bool	 name_valid(const char *, size_t max);

/*
 * path = $ENV/dffmpeg/NAME, or $HOME/HOME_SUB/dffmpeg/NAME when ENV is not
 * an absolute path (XDG base directories), with the directories created
 * 0700.  -1 when there is no such place (no HOME, too long, mkdir failed).
 */
int	 xdg_file(const char *env, const char *home_sub, const char *name,
	    char *path, size_t pathlen);
int64_t	 now_ms(void);		/* wall clock, ms since the epoch */
int64_t	 mono_ms(void);		/* monotonic ms */

/* Wipe and free a secret. */
void	 secret_free(void *, size_t);

/* Read a whole small file (at most max bytes) into a NUL-terminated
 * allocation.  Returns -1 and fills err on failure. */
int	 file_read(const char *, size_t max, char **, size_t *,
	    char *err, size_t errlen);

/* Is s[0..len) well-formed UTF-8 (no overlongs, surrogates or code
 * points past U+10FFFF) without NUL bytes? */
bool	 utf8_valid(const char *, size_t);
/* Replace every byte that is not part of valid UTF-8 (and NULs) by '?'. */
void	 utf8_sanitize(char *, size_t);

/* Parse a key given as base64 (surrounding whitespace ignored). */
int	 key_parse(const char *, uint8_t key[], char *err, size_t errlen);

#endif
