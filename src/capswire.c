/*
 * The text form of a struct caps (caps_encode, caps_decode; see caps.h),
 * which carries a probe's result from the child process that ran it to
 * the loop.  The child is ours, but what crosses a pipe is parsed as if it
 * came from outside: exact lines, bounded counts, names checked, every
 * list in strictly increasing order (as struct caps keeps them), so that
 * the parent never holds anything but a well-formed struct caps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "bounds.h"
#include "caps.h"
#include "util.h"
#include "xmalloc.h"

#define WIRE_MAGIC	"dffmpeg-caps 1"

static const char *const wire_lists[] = { "encoders", "decoders",
    "hwaccels", "filters", "devices" };

struct line {
	const char	*s;
	size_t		 n;
};

static bool
name_ok(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n >= PATH_BUF)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

/* A "failed" entry: key "KIND NAME", a reason of printable ASCII. */
static bool
failed_ok(const char *k, size_t kn, const char *r, size_t rn)
{
	static const char *const kinds[] = { "encoder ", "decoder ",
	    "hwaccel ", "filter " };
	size_t	i, l;

	for (i = 0; i < nitems(kinds); i++) {
		l = strlen(kinds[i]);
		if (kn > l && memcmp(k, kinds[i], l) == 0)
			break;
	}
	if (i == nitems(kinds) || kn - l > NAME_MAX_LEN ||
	    !name_ok(k + l, kn - l) || rn == 0 || rn > CAPS_REASON_MAX)
		return false;
	for (i = 0; i < rn; i++)
		if (r[i] < ' ' || r[i] > '~')
			return false;
	return true;
}

static const struct strv *
list_of(const struct caps *c, size_t i)
{
	return i < CAPS__COUNT ? &c->lists[i] : &c->devices;
}

int
caps_encode(const struct caps *c, struct buf *out, char *err, size_t errlen)
{
	const struct strv	*sv;
	char			 head[64];
	size_t			 i, j;

	if (!name_ok(c->version, strlen(c->version))) {
		snprintf(err, errlen, "the version cannot be passed on");
		return -1;
	}
	buf_add(out, WIRE_MAGIC "\nversion ", strlen(WIRE_MAGIC "\nversion "));
	buf_add(out, c->version, strlen(c->version));
	buf_add(out, "\n", 1);
	for (i = 0; i < nitems(wire_lists); i++) {
		sv = list_of(c, i);
		if (sv->n > CAPS_WIRE_LIST_MAX) {
			snprintf(err, errlen, "more than %d %s",
			    CAPS_WIRE_LIST_MAX, wire_lists[i]);
			return -1;
		}
		snprintf(head, sizeof(head), "%s %zu\n", wire_lists[i], sv->n);
		buf_add(out, head, strlen(head));
		for (j = 0; j < sv->n; j++) {
			if (!name_ok(sv->v[j], strlen(sv->v[j])) ||
			    (j > 0 && strcmp(sv->v[j - 1], sv->v[j]) >= 0)) {
				snprintf(err, errlen, "%s: entry %zu cannot "
				    "be passed on", wire_lists[i], j + 1);
				return -1;
			}
			buf_add(out, sv->v[j], strlen(sv->v[j]));
			buf_add(out, "\n", 1);
		}
	}
	if (c->failed.n > CAPS_WIRE_LIST_MAX) {
		snprintf(err, errlen, "more than %d failed names",
		    CAPS_WIRE_LIST_MAX);
		return -1;
	}
	snprintf(head, sizeof(head), "failed %zu\n", c->failed.n);
	buf_add(out, head, strlen(head));
	for (j = 0; j < c->failed.n; j++) {
		const char	*k = c->failed.keys[j], *r = c->failed.vals[j];

		if (!failed_ok(k, strlen(k), r, strlen(r))) {
			snprintf(err, errlen, "failed: entry %zu cannot be "
			    "passed on", j + 1);
			return -1;
		}
		buf_add(out, k, strlen(k));
		buf_add(out, " ", 1);
		buf_add(out, r, strlen(r));
		buf_add(out, "\n", 1);
	}
	for (i = 0, j = 0; i < CO__COUNT; i++)
		j += c->outputs[i].known;
	snprintf(head, sizeof(head), "outputs %zu\n", j);
	buf_add(out, head, strlen(head));
	for (i = 0; i < CO__COUNT; i++) {
		const struct caps_output *o = &c->outputs[i];

		if (!o->known)
			continue;
		if (buf_used(&o->out) > CAPS_OUTPUT_MAX ||
		    buf_used(&o->err) > CAPS_ERR_MAX || o->status < 0 ||
		    o->status > 255) {
			snprintf(err, errlen, "the output of %s cannot be "
			    "passed on", caps_output_opt(i));
			return -1;
		}
		snprintf(head, sizeof(head), "output %s %d %zu %zu\n",
		    caps_output_opt(i), o->status, buf_used(&o->out),
		    buf_used(&o->err));
		buf_add(out, head, strlen(head));
		buf_add(out, buf_head(&o->out), buf_used(&o->out));
		buf_add(out, buf_head(&o->err), buf_used(&o->err));
		buf_add(out, "\n", 1);
	}
	buf_add(out, "end\n", 4);
	return 0;
}

/* The next '\n'-terminated line of [*p, end); -1 if there is none. */
static int
next_line(const char **p, const char *end, struct line *l)
{
	const char	*nl = memchr(*p, '\n', (size_t)(end - *p));

	if (nl == NULL)
		return -1;
	l->s = *p;
	l->n = (size_t)(nl - *p);
	*p = nl + 1;
	return 0;
}

static bool
line_is(const struct line *l, const char *s)
{
	return l->n == strlen(s) && memcmp(l->s, s, l->n) == 0;
}

/* "WORD N": N decimal without sign or leading zeros, at most max. */
static int
line_count(const struct line *l, const char *word, size_t max, size_t *n)
{
	size_t	wl = strlen(word), i;

	if (l->n <= wl + 1 || l->n > wl + 7 || memcmp(l->s, word, wl) != 0 ||
	    l->s[wl] != ' ' || (l->s[wl + 1] == '0' && l->n != wl + 2))
		return -1;
	*n = 0;
	for (i = wl + 1; i < l->n; i++) {
		if (l->s[i] < '0' || l->s[i] > '9')
			return -1;
		*n = *n * 10 + (size_t)(l->s[i] - '0');
	}
	return *n <= max ? 0 : -1;
}

/* Is l a valid entry of list i, after prev (NULL for the first)? */
static bool
entry_ok(size_t i, const struct line *l, const char *prev)
{
	size_t	plen;
	int	cmp;

	if (!name_ok(l->s, l->n) || (i < CAPS__COUNT && l->n > NAME_MAX_LEN))
		return false;
	if (prev == NULL)
		return true;
	plen = strlen(prev);
	cmp = memcmp(prev, l->s, plen < l->n ? plen : l->n);
	return cmp < 0 || (cmp == 0 && plen < l->n);
}

/* A decimal of at most 9 digits, no sign, no leading zero; -1 if not. */
static long
word_num(const char **s, const char *end)
{
	const char	*p = *s;
	long		 n = 0;

	if (p >= end || *p < '0' || *p > '9' || (*p == '0' && p + 1 < end &&
	    p[1] >= '0' && p[1] <= '9'))
		return -1;
	while (p < end && *p >= '0' && *p <= '9' && p - *s < 9)
		n = n * 10 + (*p++ - '0');
	if (p < end && *p >= '0' && *p <= '9')
		return -1;
	*s = p;
	return n;
}

/* "output OPT STATUS OUTLEN ERRLEN", then the bytes and '\n'. */
static int
output_decode(const struct line *l, const char **p, const char *end,
    struct caps *c)
{
	const char		*s = l->s, *e = l->s + l->n, *sp;
	struct caps_output	*o;
	char			 opt[16];
	long			 status, olen, elen;
	int			 k;

	if (l->n < 8 || memcmp(s, "output ", 7) != 0)
		return -1;
	s += 7;
	if ((sp = memchr(s, ' ', (size_t)(e - s))) == NULL ||
	    (size_t)(sp - s) >= sizeof(opt))
		return -1;
	memcpy(opt, s, (size_t)(sp - s));
	opt[sp - s] = '\0';
	if ((k = caps_output_lookup(opt)) == -1 || c->outputs[k].known)
		return -1;
	s = sp + 1;
	if ((status = word_num(&s, e)) == -1 || status > 255 || s >= e ||
	    *s++ != ' ' || (olen = word_num(&s, e)) == -1 ||
	    olen > CAPS_OUTPUT_MAX || s >= e || *s++ != ' ' ||
	    (elen = word_num(&s, e)) == -1 || elen > CAPS_ERR_MAX || s != e)
		return -1;
	if ((size_t)(end - *p) < (size_t)olen + (size_t)elen + 1 ||
	    (*p)[olen + elen] != '\n')
		return -1;
	o = &c->outputs[k];
	o->known = true;
	o->status = (int)status;
	buf_add(&o->out, *p, (size_t)olen);
	buf_add(&o->err, *p + olen, (size_t)elen);
	*p += olen + elen + 1;
	return 0;
}

int
caps_decode(const char *text, size_t len, struct caps *c, char *err,
    size_t errlen)
{
	const char	*p = text, *end = text + len;
	struct strv	*sv;
	struct line	 l;
	size_t		 i, j, n;

	memset(c, 0, sizeof(*c));
	if (next_line(&p, end, &l) == -1 || !line_is(&l, WIRE_MAGIC)) {
		snprintf(err, errlen, "not a capability list");
		goto fail;
	}
	if (next_line(&p, end, &l) == -1 || l.n <= 8 ||
	    memcmp(l.s, "version ", 8) != 0 ||
	    l.n - 8 >= sizeof(c->version) || !name_ok(l.s + 8, l.n - 8)) {
		snprintf(err, errlen, "no valid version line");
		goto fail;
	}
	memcpy(c->version, l.s + 8, l.n - 8);
	for (i = 0; i < nitems(wire_lists); i++) {
		sv = i < CAPS__COUNT ? &c->lists[i] : &c->devices;
		if (next_line(&p, end, &l) == -1 || line_count(&l,
		    wire_lists[i], CAPS_WIRE_LIST_MAX, &n) == -1) {
			snprintf(err, errlen, "no valid count of %s",
			    wire_lists[i]);
			goto fail;
		}
		for (j = 0; j < n; j++) {
			if (next_line(&p, end, &l) == -1 || !entry_ok(i, &l,
			    j > 0 ? sv->v[j - 1] : NULL)) {
				snprintf(err, errlen, "%s: entry %zu is "
				    "missing, malformed or out of order",
				    wire_lists[i], j + 1);
				goto fail;
			}
			strv_pushn(sv, l.s, l.n);
		}
	}
	if (next_line(&p, end, &l) == -1 || line_count(&l, "failed",
	    CAPS_WIRE_LIST_MAX, &n) == -1) {
		snprintf(err, errlen, "no valid count of failed names");
		goto fail;
	}
	for (j = 0; j < n; j++) {
		const char	*sp, *sp2;
		char		 key[NAME_MAX_LEN + 16], why[CAPS_REASON_MAX + 1];

		if (next_line(&p, end, &l) == -1 ||
		    (sp = memchr(l.s, ' ', l.n)) == NULL ||
		    (sp2 = memchr(sp + 1, ' ', l.n - (size_t)(sp + 1 - l.s))) ==
		    NULL || (size_t)(sp2 - l.s) >= sizeof(key) ||
		    !failed_ok(l.s, (size_t)(sp2 - l.s), sp2 + 1,
		    l.n - (size_t)(sp2 + 1 - l.s))) {
			snprintf(err, errlen, "failed: entry %zu is missing or "
			    "malformed", j + 1);
			goto fail;
		}
		memcpy(key, l.s, (size_t)(sp2 - l.s));
		key[sp2 - l.s] = '\0';
		memcpy(why, sp2 + 1, l.n - (size_t)(sp2 + 1 - l.s));
		why[l.n - (size_t)(sp2 + 1 - l.s)] = '\0';
		strmap_set(&c->failed, key, why);
	}
	if (next_line(&p, end, &l) == -1 || line_count(&l, "outputs",
	    CO__COUNT, &n) == -1) {
		snprintf(err, errlen, "no valid count of outputs");
		goto fail;
	}
	for (j = 0; j < n; j++) {
		if (next_line(&p, end, &l) == -1 ||
		    output_decode(&l, &p, end, c) == -1) {
			snprintf(err, errlen, "output %zu is missing or "
			    "malformed", j + 1);
			goto fail;
		}
	}
	if (next_line(&p, end, &l) == -1 || !line_is(&l, "end") || p != end) {
		snprintf(err, errlen, "no \"end\" line, or data after it");
		goto fail;
	}
	return 0;
fail:
	caps_free(c);
	return -1;
}

/* Text that a JSON string carries as it is. */
static bool
text_ok(const struct buf *b)
{
	return buf_used(b) == 0 ||
	    (memchr(buf_head(b), '\0', buf_used(b)) == NULL &&
	    utf8_valid((const char *)buf_head(b), buf_used(b)));
}

static cJSON *
text_item(const struct buf *b)
{
	char	*s = xmalloc(buf_used(b) + 1);
	cJSON	*j;

	if (buf_used(b) > 0)
		memcpy(s, buf_head(b), buf_used(b));
	s[buf_used(b)] = '\0';
	j = cJSON_CreateString(s);
	free(s);
	return j;
}

char *
caps_outputs_json(const struct caps *c)
{
	cJSON	*root = cJSON_CreateObject(), *o;
	char	*text = NULL;
	int	 k, n = 0;

	for (k = 0; k < CO__COUNT; k++) {
		const struct caps_output *co = &c->outputs[k];

		if (!co->known || !text_ok(&co->out) || !text_ok(&co->err))
			continue;
		o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "status", co->status);
		cJSON_AddItemToObject(o, "stdout", text_item(&co->out));
		cJSON_AddItemToObject(o, "stderr", text_item(&co->err));
		cJSON_AddItemToObject(root, caps_output_opt(k), o);
		n++;
	}
	if (n > 0)
		text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return text;
}

int
caps_outputs_parse(const char *json, struct caps *c)
{
	cJSON	*root, *o, *st, *out, *err;
	int	 k;

	if ((root = cJSON_Parse(json)) == NULL || !cJSON_IsObject(root))
		goto fail;
	cJSON_ArrayForEach(o, root) {
		if ((k = caps_output_lookup(o->string)) == -1 ||
		    c->outputs[k].known || !cJSON_IsObject(o))
			goto fail;
		st = cJSON_GetObjectItemCaseSensitive(o, "status");
		out = cJSON_GetObjectItemCaseSensitive(o, "stdout");
		err = cJSON_GetObjectItemCaseSensitive(o, "stderr");
		if (!cJSON_IsNumber(st) || st->valuedouble < 0 ||
		    st->valuedouble > 255 || !cJSON_IsString(out) ||
		    !cJSON_IsString(err) ||
		    strlen(out->valuestring) > CAPS_OUTPUT_MAX ||
		    strlen(err->valuestring) > CAPS_ERR_MAX)
			goto fail;
		c->outputs[k].known = true;
		c->outputs[k].status = (int)st->valuedouble;
		buf_add(&c->outputs[k].out, out->valuestring,
		    strlen(out->valuestring));
		buf_add(&c->outputs[k].err, err->valuestring,
		    strlen(err->valuestring));
	}
	cJSON_Delete(root);
	return 0;
fail:
	cJSON_Delete(root);
	for (k = 0; k < CO__COUNT; k++) {
		buf_free(&c->outputs[k].out);
		buf_free(&c->outputs[k].err);
		c->outputs[k].known = false;
	}
	return -1;
}
