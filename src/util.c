/*
 * Small helpers used everywhere.  Nothing here logs; errors go to the
 * caller's buffer.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "bounds.h"
#include "util.h"
#include "xmalloc.h"

void
strv_pushn(struct strv *sv, const char *s, size_t len)
{
	if (sv->n + 2 > sv->cap) {
		sv->cap = sv->cap ? sv->cap * 2 : 8;
		sv->v = xreallocarray(sv->v, sv->cap, sizeof(*sv->v));
	}
	sv->v[sv->n++] = xstrndup(s, len);
	sv->v[sv->n] = NULL;
}

void
strv_push(struct strv *sv, const char *s)
{
	strv_pushn(sv, s, strlen(s));
}

void
strv_free(struct strv *sv)
{
	size_t	i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	memset(sv, 0, sizeof(*sv));
}

bool
strv_contains(const struct strv *sv, const char *s)
{
	size_t	i;

	for (i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return true;
	return false;
}

void
strmap_set(struct strmap *m, const char *k, const char *v)
{
	size_t	i;

	for (i = 0; i < m->n; i++) {
		if (strcmp(m->keys[i], k) == 0) {
			free(m->vals[i]);
			m->vals[i] = xstrdup(v);
			return;
		}
	}
	m->keys = xreallocarray(m->keys, m->n + 1, sizeof(*m->keys));
	m->vals = xreallocarray(m->vals, m->n + 1, sizeof(*m->vals));
	m->keys[m->n] = xstrdup(k);
	m->vals[m->n] = xstrdup(v);
	m->n++;
}

void
strmap_del(struct strmap *m, const char *k)
{
	size_t	i;

	for (i = 0; i < m->n; i++) {
		if (strcmp(m->keys[i], k) != 0)
			continue;
		free(m->keys[i]);
		free(m->vals[i]);
		memmove(m->keys + i, m->keys + i + 1,
		    (m->n - i - 1) * sizeof(*m->keys));
		memmove(m->vals + i, m->vals + i + 1,
		    (m->n - i - 1) * sizeof(*m->vals));
		m->n--;
		return;
	}
}

const char *
strmap_get(const struct strmap *m, const char *k)
{
	size_t	i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->keys[i], k) == 0)
			return m->vals[i];
	return NULL;
}

void
strmap_free(struct strmap *m)
{
	size_t	i;

	for (i = 0; i < m->n; i++) {
		free(m->keys[i]);
		free(m->vals[i]);
	}
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

void
buf_add(struct buf *b, const void *p, size_t len)
{
	if (len == 0)
		return;
	if (b->off > 0 && b->off == b->len)
		b->off = b->len = 0;
	if (b->len + len > b->cap) {
		if (b->off > 0) {
			memmove(b->data, b->data + b->off, b->len - b->off);
			b->len -= b->off;
			b->off = 0;
		}
		if (b->len + len > b->cap) {
			size_t	ncap = b->cap ? b->cap : 256;

			while (ncap < b->len + len)
				ncap *= 2;
			b->data = xrealloc(b->data, ncap);
			b->cap = ncap;
		}
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
}

size_t
buf_used(const struct buf *b)
{
	return b->len - b->off;
}

const uint8_t *
buf_head(const struct buf *b)
{
	return b->data + b->off;
}

void
buf_drain(struct buf *b, size_t n)
{
	if (n > buf_used(b))
		n = buf_used(b);
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

void
buf_free(struct buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

char *
b64_encode(const void *p, size_t len)
{
	size_t	 n = sodium_base64_encoded_len(len,
		    sodium_base64_VARIANT_ORIGINAL);
	char	*out = xmalloc(n);

	sodium_bin2base64(out, n, p, len, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

int
b64_decode(const char *s, size_t slen, uint8_t *out, size_t cap,
    size_t *outlen)
{
	const char	*end;

	if (sodium_base642bin(out, cap, s, slen, " \t\r\n", outlen, &end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 || end != s + slen)
		return -1;
	return 0;
}

void
id_new(char out[])
{
	uint8_t	raw[16];

	/* Ids appear on command lines: never let one look like an option. */
	do {
		randombytes_buf(raw, sizeof(raw));
		sodium_bin2base64(out, ID_BUF, raw, sizeof(raw),
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	} while (out[0] == '-');
}

bool
name_valid(const char *s, size_t max)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= max)
			return false;
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '-' && s[i] != '.')
			return false;
	}
	return i > 0;
}

int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
secret_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	sodium_memzero(p, len);
	free(p);
}

int
file_read(const char *path, size_t max, char **out, size_t *outlen,
    char *err, size_t errlen)
{
	struct stat	 st;
	char		*data;
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((size_t)st.st_size > max) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
		close(fd);
		return -1;
	}
	data = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		n = read(fd, data + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	data[got] = '\0';
	*out = data;
	if (outlen != NULL)
		*outlen = got;
	return 0;
}

int
key_parse(const char *s, uint8_t key[], char *err, size_t errlen)
{
	uint8_t	tmp[KEY_LEN + 8];
	size_t	len, n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	if (b64_decode(s, n, tmp, sizeof(tmp), &len) != 0 || len != KEY_LEN) {
		sodium_memzero(tmp, sizeof(tmp));
		snprintf(err, errlen, "key is not %d bytes of base64", KEY_LEN);
		return -1;
	}
	memcpy(key, tmp, KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return 0;
}

bool
utf8_valid(const char *str, size_t len)
{
	const uint8_t	*s = (const uint8_t *)str;
	size_t		 i = 0, n, k;
	uint8_t		 c, lo, hi;

	while (i < len) {
		c = s[i];
		if (c == 0)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else
			return false;
		if (len - i - 1 < n)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (k = 2; k <= n; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += n + 1;
	}
	return true;
}

void
utf8_sanitize(char *s, size_t len)
{
	size_t	i = 0, n;

	while (i < len) {
		unsigned char c = (unsigned char)s[i];

		n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 :
		    (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
		if (n == 0 || i + n > len || !utf8_valid(s + i, n)) {
			s[i++] = '?';
			continue;
		}
		i += n;
	}
}

/* mkdir -p for the directories of path, each 0700. */
static int
mkdirs_for(char *path)
{
	char	*p;

	for (p = strchr(path + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, 0700) == -1 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	return 0;
}

int
xdg_file(const char *env, const char *home_sub, const char *name, char *path,
    size_t pathlen)
{
	const char	*base = getenv(env), *home;
	int		 n;

	/* The spec wants an absolute path; others are ignored. */
	if (base != NULL && base[0] == '/')
		n = snprintf(path, pathlen, "%s/dffmpeg/%s", base, name);
	else if ((home = getenv("HOME")) != NULL && home[0] == '/')
		n = snprintf(path, pathlen, "%s/%s/dffmpeg/%s", home, home_sub,
		    name);
	else
		return -1;
	if (n < 0 || (size_t)n >= pathlen)
		return -1;
	return mkdirs_for(path);
}
