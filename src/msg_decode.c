/*
 * Verifying and decoding received control messages.  See msg.h.
 *
 * Everything received is checked before it is believed: the size first,
 * then the MAC over the exact bytes received, and only then is the JSON
 * parsed.  A decoded struct msg holds only fields its type allows, every
 * required field, strings that are valid UTF-8 without NUL and bounded by
 * the field table, and integers that are exact in a double (|n| <= 2^53;
 * JSON numbers are doubles for most peers).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <sodium.h>

#include "bounds.h"
#include "log.h"
#include "msg.h"
#include "msg_int.h"
#include "util.h"
#include "xmalloc.h"

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}


/*
 * cJSON turns "\u0000" into a NUL inside a C string, silently truncating
 * it; find the escape in the text instead.
 */
static bool
json_has_nul_escape(const char *s, size_t len)
{
	bool	instr = false;
	size_t	i;

	for (i = 0; i < len; i++) {
		if (!instr) {
			if (s[i] == '"')
				instr = true;
			continue;
		}
		if (s[i] == '"')
			instr = false;
		else if (s[i] == '\\' && i + 1 < len) {
			if (s[i + 1] == 'u' && i + 5 < len &&
			    strncmp(s + i + 2, "0000", 4) == 0)
				return true;
			i++;
		}
	}
	return false;
}

/*
 * Parse the JSON part (len bytes, not terminated) exactly: no NUL, valid
 * UTF-8, one value and nothing after it but white space.
 */
static cJSON *
json_parse(const char *p, size_t len, char *err, size_t errlen)
{
	const char	*end;
	cJSON		*j;
	char		*copy;

	if (memchr(p, '\0', len) != NULL || !utf8_valid(p,
	    len)) {
		seterr(err, errlen, "not UTF-8 text");
		return NULL;
	}
	if (json_has_nul_escape(p, len)) {
		seterr(err, errlen, "NUL in a string");
		return NULL;
	}
	/* A terminated copy: cJSON is on firmer ground with C strings. */
	copy = xstrndup(p, len);
	j = cJSON_ParseWithOpts(copy, &end, 0);
	if (j != NULL)
		end += strspn(end, " \t\r\n");
	if (j == NULL || *end != '\0') {
		seterr(err, errlen, "not JSON");
		cJSON_Delete(j);
		j = NULL;
	}
	free(copy);
	return j;
}

/* Split at the last newline: JSON before, base64 MAC after. */
static enum msg_err
payload_split(const void *payload, size_t len, size_t *jlen, char *err,
    size_t errlen)
{
	const char	*nl;

	if (len > MSG_MAX_BYTES) {
		seterr(err, errlen, "%zu bytes, over %d", len, MSG_MAX_BYTES);
		return ME_SIZE;
	}
	if (payload == NULL || len == 0 ||
	    (nl = memrchr(payload, '\n', len)) == NULL) {
		seterr(err, errlen, "no MAC line");
		return ME_FORMAT;
	}
	*jlen = (size_t)(nl - (const char *)payload);
	return ME_OK;
}

/* A name-valid string of an unverified message: envelope field key, or
 * the body's when in_body. */
static enum msg_err
msg__peek(const void *payload, size_t len, bool in_body, const char *key,
    size_t max, char *out, size_t outlen)
{
	enum msg_err	 e;
	cJSON		*root, *j;
	size_t		 jlen;

	if ((e = payload_split(payload, len, &jlen, NULL, 0)) != ME_OK)
		return e;
	if ((root = json_parse(payload, jlen, NULL, 0)) == NULL)
		return ME_FORMAT;
	j = in_body ? cJSON_GetObjectItemCaseSensitive(root, "body") : root;
	j = cJSON_GetObjectItemCaseSensitive(j, key);
	if (!cJSON_IsString(j) || !name_valid(j->valuestring, max) ||
	    strlen(j->valuestring) >= outlen) {
		cJSON_Delete(root);
		return ME_FORMAT;
	}
	memcpy(out, j->valuestring, strlen(j->valuestring) + 1);
	cJSON_Delete(root);
	return ME_OK;
}

enum msg_err
msg_peek_from(const void *payload, size_t len, char *from, size_t fromlen)
{
	return msg__peek(payload, len, false, "from", NAME_MAX_LEN, from,
	    fromlen);
}

int
msg_peek_type(const void *payload, size_t len)
{
	char	type[NAME_MAX_LEN + 1];

	if (len > MSG_PEEK_TYPE_MAX || msg__peek(payload, len, false, "type",
	    NAME_MAX_LEN, type, sizeof(type)) != ME_OK)
		return -1;
	return msg_type_lookup(type);
}

enum msg_err
msg_peek_session(const void *payload, size_t len, char *session,
    size_t sessionlen)
{
	return msg__peek(payload, len, true, "session", ID_LEN, session,
	    sessionlen);
}

/* An integral JSON number that a double holds exactly. */
static bool
json_int(const cJSON *j, int64_t *out)
{
	double	d;

	if (!cJSON_IsNumber(j))
		return false;
	d = j->valuedouble;
	if (!isfinite(d) || d != floor(d) || d > INT_EXACT_MAX ||
	    d < -INT_EXACT_MAX)
		return false;
	*out = (int64_t)d;
	return true;
}

static bool
str_ok(const char *s, size_t max, bool name)
{
	if (name)
		return name_valid(s, max);
	return strnlen(s, max + 1) <= max;
}

static int
field_decode(struct msg *m, int f, const cJSON *j, const char *type,
    char *err, size_t errlen)
{
	const struct field_info	*fi = &msg_fields[f];
	struct strv		*sv;
	struct strmap		*sm;
	const cJSON		*e;
	char			*s;
	size_t			 n;

	switch (fi->kind) {
	case FK_STR:
		if (!cJSON_IsString(j))
			goto type;
		if (!str_ok(j->valuestring, fi->maxlen, fi->flags & FF_NAME))
			goto bad;
		*FPTR(m, f, char *) = xstrdup(j->valuestring);
		break;
	case FK_INT:
		if (!json_int(j, FPTR(m, f, int64_t)))
			goto type;
		break;
	case FK_BOOL:
		if (!cJSON_IsBool(j))
			goto type;
		*FPTR(m, f, bool) = cJSON_IsTrue(j);
		break;
	case FK_STRV:
		if (!cJSON_IsArray(j))
			goto type;
		sv = FPTR(m, f, struct strv);
		n = 0;
		cJSON_ArrayForEach(e, j) {
			if (++n > fi->maxn)
				goto bad;
			if (!cJSON_IsString(e))
				goto type;
			if (!str_ok(e->valuestring, fi->maxlen,
			    fi->flags & FF_NAME))
				goto bad;
			strv_push(sv, e->valuestring);
		}
		break;
	case FK_STRMAP:
		if (!cJSON_IsObject(j))
			goto type;
		sm = FPTR(m, f, struct strmap);
		n = 0;
		cJSON_ArrayForEach(e, j) {
			if (++n > fi->maxn)
				goto bad;
			if (!cJSON_IsString(e))
				goto type;
			if (!str_ok(e->string, MAP_KEY_MAX,
			    fi->flags & FF_KEYNAME) || e->string[0] == '\0' ||
			    !str_ok(e->valuestring, fi->maxlen, false) ||
			    strmap_get(sm, e->string) != NULL)
				goto bad;
			strmap_set(sm, e->string, e->valuestring);
		}
		break;
	case FK_JSON:
		if ((s = cJSON_PrintUnformatted(j)) == NULL)
			fatalx("cJSON: out of memory");
		*FPTR(m, f, char *) = xstrdup(s);
		cJSON_free(s);
		break;
	}
	m->present |= FBIT(f);
	return 0;

type:
	seterr(err, errlen, "field '%s' in %s has the wrong type", fi->name,
	    type);
	return -1;
bad:
	seterr(err, errlen, "field '%s' in %s is malformed or too long",
	    fi->name, type);
	return -1;
}

static int
body_decode(struct msg *m, const cJSON *body, char *err, size_t errlen)
{
	const struct msg_type_info	*ti = &msg_types[m->type];
	uint64_t			 allowed = ti->required | ti->optional;
	uint64_t			 missing;
	const cJSON			*j;
	int				 f;

	if (!cJSON_IsObject(body)) {
		seterr(err, errlen, "body of %s is not an object", ti->name);
		return -1;
	}
	cJSON_ArrayForEach(j, body) {
		for (f = 0; f < F__COUNT; f++)
			if ((allowed & FBIT(f)) &&
			    strcmp(msg_fields[f].name, j->string) == 0)
				break;
		if (f == F__COUNT) {
			seterr(err, errlen, "unexpected field '%.64s' in %s",
			    j->string, ti->name);
			return -1;
		}
		if (m->present & FBIT(f)) {
			seterr(err, errlen, "duplicate field '%s' in %s",
			    msg_fields[f].name, ti->name);
			return -1;
		}
		if (field_decode(m, f, j, ti->name, err, errlen) != 0)
			return -1;
	}
	if ((missing = ti->required & ~m->present) != 0) {
		for (f = 0; f < F__COUNT; f++)
			if (missing & FBIT(f))
				break;
		seterr(err, errlen, "missing field '%s' in %s",
		    msg_fields[f].name, ti->name);
		return -1;
	}
	return 0;
}

enum env_key { EK_V, EK_TYPE, EK_ID, EK_FROM, EK_TS, EK_BODY, EK__COUNT };
static const char *const env_keys[EK__COUNT] = {
	"v", "type", "id", "from", "ts", "body"
};

/* The envelope: exactly the keys above, each once and well formed. */
static int
envelope_decode(struct msg *m, const cJSON *root, const cJSON **body,
    char *err, size_t errlen)
{
	const cJSON	*item[EK__COUNT] = { NULL };
	const cJSON	*j;
	int64_t		 v;
	int		 k, t;

	if (!cJSON_IsObject(root)) {
		seterr(err, errlen, "not a JSON object");
		return -1;
	}
	cJSON_ArrayForEach(j, root) {
		for (k = 0; k < EK__COUNT; k++)
			if (strcmp(env_keys[k], j->string) == 0)
				break;
		if (k == EK__COUNT || item[k] != NULL) {
			seterr(err, errlen, "unexpected envelope key '%.64s'",
			    j->string);
			return -1;
		}
		item[k] = j;
	}
	for (k = 0; k < EK__COUNT; k++) {
		if (item[k] == NULL) {
			seterr(err, errlen, "envelope lacks '%s'", env_keys[k]);
			return -1;
		}
	}
	if (!json_int(item[EK_V], &v) || v != MSG_VERSION) {
		seterr(err, errlen, "unsupported version");
		return -1;
	}
	if (!cJSON_IsString(item[EK_TYPE]) ||
	    (t = msg_type_lookup(item[EK_TYPE]->valuestring)) == -1) {
		seterr(err, errlen, "unknown type");
		return -1;
	}
	m->type = t;
	if (!cJSON_IsString(item[EK_ID]) ||
	    !name_valid(item[EK_ID]->valuestring, ID_LEN)) {
		seterr(err, errlen, "bad id");
		return -1;
	}
	memcpy(m->id, item[EK_ID]->valuestring,
	    strlen(item[EK_ID]->valuestring) + 1);
	if (!cJSON_IsString(item[EK_FROM]) ||
	    !name_valid(item[EK_FROM]->valuestring, NAME_MAX_LEN)) {
		seterr(err, errlen, "bad from");
		return -1;
	}
	memcpy(m->from, item[EK_FROM]->valuestring,
	    strlen(item[EK_FROM]->valuestring) + 1);
	if (!json_int(item[EK_TS], &m->ts)) {
		seterr(err, errlen, "bad ts");
		return -1;
	}
	*body = item[EK_BODY];
	return 0;
}

enum msg_err
msg_decode(const char *topic, const void *payload, size_t len,
    const uint8_t key[KEY_LEN], const char *expect_from, int role,
    int64_t now, int64_t window_ms, struct msg *m, char *err, size_t errlen)
{
	const char	*p = payload;
	const cJSON	*body;
	cJSON		*root = NULL;
	enum msg_err	 e;
	uint8_t		 got[MAC_LEN + 4], want[MAC_LEN];
	size_t		 jlen, glen;
	int64_t		 age;

	memset(m, 0, sizeof(*m));
	seterr(err, errlen, "ok");

	if ((e = payload_split(payload, len, &jlen, err, errlen)) != ME_OK)
		return e;
	if (b64_decode(p + jlen + 1, len - jlen - 1, got, sizeof(got),
	    &glen) != 0 || glen != MAC_LEN) {
		seterr(err, errlen, "malformed MAC");
		return ME_MAC;
	}
	msg__mac(topic, p, jlen, key, want);
	if (crypto_verify_32(got, want) != 0) {
		sodium_memzero(want, sizeof(want));
		seterr(err, errlen, "bad MAC");
		return ME_MAC;
	}
	sodium_memzero(want, sizeof(want));

	e = ME_FORMAT;
	if ((root = json_parse(p, jlen, err, errlen)) == NULL)
		goto fail;
	if (envelope_decode(m, root, &body, err, errlen) != 0)
		goto fail;
	if (expect_from != NULL && strcmp(m->from, expect_from) != 0) {
		seterr(err, errlen, "from '%s' is not the topic's '%.64s'",
		    m->from, expect_from);
		e = ME_FROM;
		goto fail;
	}
	if (role != 0 && (msg_types[m->type].roles & role) == 0) {
		seterr(err, errlen, "%s may not send %s", role_name(role),
		    msg_types[m->type].name);
		e = ME_ROLE;
		goto fail;
	}
	if (window_ms > 0 && m->type != MT_GONE) {
		age = now - m->ts;
		if (age > window_ms || age < -window_ms) {
			seterr(err, errlen, "%s is %lld ms old",
			    msg_types[m->type].name, (long long)age);
			e = ME_AGE;
			goto fail;
		}
	}
	if (body_decode(m, body, err, errlen) != 0)
		goto fail;
	cJSON_Delete(root);
	return ME_OK;

fail:
	cJSON_Delete(root);
	msg_clear(m);
	return e;
}

/*
 * Sealed job keys: base64(nonce || secretbox(jobkey)) under a key derived
 * from the identity key, so the identity key itself never encrypts data.
 */
