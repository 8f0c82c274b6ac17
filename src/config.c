/*
 * Table-driven YAML configuration on libyaml's document API.
 *
 * The whole file is loaded into a yaml_document_t, then walked against a
 * const table of struct cfg_key rows; every problem is reported as
 * "name:line:col: message" (libyaml marks are 0-based, ours 1-based).  A
 * key that is absent, or present with a null value ("key:", "~"), gets its
 * default; defaults are YAML text read by the very code that reads the file,
 * so a default can never mean something a user could not have written.
 * Nothing is logged: errors go to the caller's buffer.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <sodium.h>
#include <yaml.h>

#include "bounds.h"
#include "config.h"
#include "units.h"
#include "util.h"
#include "xmalloc.h"

#define WHERE_BUF	256	/* dotted section path, e.g. "mqtt.tls" */

struct cfg_ctx {
	const char	*name;		/* file name for messages */
	yaml_document_t	*doc;
	bool		 defaults_only;	/* config_defaults: no required keys */
	char		*err;
	size_t		 errlen;
};

struct cfg_type_ops {
	const char	*what;		/* "'port' must be <what>" */
	/* Parse scalar text into field; -1 with the predicate in msg. */
	int		(*scalar)(const struct cfg_key *, const char *, void *,
			    char *, size_t);
	int		(*node)(struct cfg_ctx *, const struct cfg_key *,
			    void *, yaml_node_t *, const char *);
	void		(*free)(const struct cfg_key *, void *);
};

static int	load_table(struct cfg_ctx *, const struct cfg_key *, void *,
		    yaml_node_t *, const char *);
static int	load_value(struct cfg_ctx *, const struct cfg_key *, void *,
		    yaml_node_t *, const char *);

static const struct {
	const char	*text;
	bool		 value;
} bool_words[] = {
	{ "true", true }, { "yes", true }, { "on", true },
	{ "false", false }, { "no", false }, { "off", false },
};

/* Plain scalars that YAML reads as null. */
static const char *const null_words[] = { "", "~", "null", "Null", "NULL" };

static void
ctx_err(struct cfg_ctx *ctx, const yaml_node_t *node, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (node == NULL)
		snprintf(ctx->err, ctx->errlen, "%s: %s", ctx->name, msg);
	else
		snprintf(ctx->err, ctx->errlen, "%s:%zu:%zu: %s", ctx->name,
		    node->start_mark.line + 1, node->start_mark.column + 1,
		    msg);
}

static void *
field_at(void *dst, const struct cfg_key *k)
{
	return (char *)dst + k->off;
}

static yaml_node_t *
node_get(struct cfg_ctx *ctx, int id)
{
	return yaml_document_get_node(ctx->doc, id);
}

static const char *
scalar_text(const yaml_node_t *node)
{
	return (const char *)node->data.scalar.value;
}

static bool
node_is_null(const yaml_node_t *node)
{
	size_t	i;

	if (node->type != YAML_SCALAR_NODE ||
	    node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (i = 0; i < nitems(null_words); i++)
		if (strcmp(scalar_text(node), null_words[i]) == 0)
			return true;
	return false;
}

/*
 * A scalar usable as a C string: libyaml allows "\0" escapes, which would
 * silently truncate the value.
 */
static int
scalar_check(struct cfg_ctx *ctx, const yaml_node_t *node, const char *what)
{
	if (node->type != YAML_SCALAR_NODE) {
		ctx_err(ctx, node, "%s must be scalars", what);
		return -1;
	}
	if (strlen(scalar_text(node)) != node->data.scalar.length) {
		ctx_err(ctx, node, "%s must not contain NUL characters", what);
		return -1;
	}
	return 0;
}

static void
where_join(char *out, size_t outlen, const char *where, const char *name)
{
	if (*where == '\0')
		snprintf(out, outlen, "%s", name);
	else
		snprintf(out, outlen, "%s.%s", where, name);
}

/* " in mqtt" after a message about a key inside a section. */
static const char *
where_suffix(char *buf, size_t len, const char *where)
{
	if (*where == '\0')
		return "";
	snprintf(buf, len, " in %s", where);
	return buf;
}

static int
run_check(struct cfg_ctx *ctx, const struct cfg_key *k, const void *field,
    const yaml_node_t *node)
{
	char	msg[384];

	if (k->check == NULL)
		return 0;
	msg[0] = '\0';
	if (k->check(field, msg, sizeof(msg)) == 0)
		return 0;
	ctx_err(ctx, node, "'%s' %s", k->name, msg[0] ? msg : "is not valid");
	return -1;
}

int
config_parse_duration(const char *s, int64_t *ms)
{
	return units_duration(s, ms);
}

static int
parse_size(const struct cfg_key *k, const char *s, void *field, char *msg,
    size_t msglen)
{
	int64_t	n;

	if (units_size(s, &n) != 0) {
		snprintf(msg, msglen,
		    "must be a size (e.g. 65536, 256KiB, 16MiB)");
		return -1;
	}
	if (k->min < k->max && (n < k->min || n > k->max)) {
		snprintf(msg, msglen, "must be between %lld and %lld bytes",
		    k->min, k->max);
		return -1;
	}
	*(int64_t *)field = n;
	return 0;
}

static int
parse_string(const struct cfg_key *k, const char *s, void *field, char *msg,
    size_t msglen)
{
	char	**p = field;

	if (k->max > 0 && strlen(s) > (size_t)k->max) {
		snprintf(msg, msglen, "must be at most %lld characters",
		    k->max);
		return -1;
	}
	free(*p);
	*p = xstrdup(s);
	return 0;
}

static int
parse_int(const struct cfg_key *k, const char *s, void *field, char *msg,
    size_t msglen)
{
	long long	 v, lo = INT_MIN, hi = INT_MAX;
	char		*end;

	if (k->min < k->max) {
		lo = k->min;
		hi = k->max;
	}
	errno = 0;
	if (!isdigit((unsigned char)*s) && *s != '-' && *s != '+')
		goto bad;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0')
		goto bad;
	if (errno == ERANGE || v < lo || v > hi) {
		snprintf(msg, msglen, "must be between %lld and %lld", lo, hi);
		return -1;
	}
	*(int *)field = (int)v;
	return 0;
bad:
	snprintf(msg, msglen, "must be an integer");
	return -1;
}

static int
parse_bool(const struct cfg_key *k, const char *s, void *field, char *msg,
    size_t msglen)
{
	size_t	i;

	(void)k;
	for (i = 0; i < nitems(bool_words); i++) {
		if (strcasecmp(s, bool_words[i].text) == 0) {
			*(bool *)field = bool_words[i].value;
			return 0;
		}
	}
	snprintf(msg, msglen, "must be a boolean (true/false, yes/no, on/off)");
	return -1;
}

static int
parse_duration(const struct cfg_key *k, const char *s, void *field, char *msg,
    size_t msglen)
{
	int64_t	ms;
	char	lo[32], hi[32];

	if (config_parse_duration(s, &ms) != 0) {
		snprintf(msg, msglen,
		    "must be a duration (e.g. 500ms, 30s, 5m, 2h, 7d)");
		return -1;
	}
	if (k->min < k->max && (ms < k->min || ms > k->max)) {
		units_format_duration(k->min, lo, sizeof(lo));
		units_format_duration(k->max, hi, sizeof(hi));
		snprintf(msg, msglen, "must be between %s and %s", lo, hi);
		return -1;
	}
	*(int64_t *)field = ms;
	return 0;
}

static const struct cfg_type_ops *type_ops(enum cfg_type);

static int
load_scalar(struct cfg_ctx *ctx, const struct cfg_key *k, void *field,
    yaml_node_t *node, const char *where)
{
	const struct cfg_type_ops	*ops = type_ops(k->type);
	char				 msg[256], what[WHERE_BUF + 8];

	(void)where;
	if (node->type != YAML_SCALAR_NODE) {
		ctx_err(ctx, node, "'%s' must be %s", k->name, ops->what);
		return -1;
	}
	snprintf(what, sizeof(what), "'%s'", k->name);
	if (scalar_check(ctx, node, what) != 0)
		return -1;
	if (ops->scalar(k, scalar_text(node), field, msg, sizeof(msg)) != 0) {
		ctx_err(ctx, node, "'%s' %s", k->name, msg);
		return -1;
	}
	return run_check(ctx, k, field, node);
}

static int
load_map(struct cfg_ctx *ctx, const struct cfg_key *k, void *field,
    yaml_node_t *node, const char *where)
{
	struct strmap		*m = field;
	yaml_node_pair_t	*pair;
	yaml_node_t		*kn, *vn;
	char			 what[WHERE_BUF + 32], in[WHERE_BUF];

	if (node->type != YAML_MAPPING_NODE) {
		ctx_err(ctx, node, "'%s' must be a mapping", k->name);
		return -1;
	}
	strmap_free(m);
	for (pair = node->data.mapping.pairs.start;
	    pair < node->data.mapping.pairs.top; pair++) {
		kn = node_get(ctx, pair->key);
		vn = node_get(ctx, pair->value);
		snprintf(what, sizeof(what), "keys of '%s'", k->name);
		if (scalar_check(ctx, kn, what) != 0)
			return -1;
		snprintf(what, sizeof(what), "values of '%s'", k->name);
		if (scalar_check(ctx, vn, what) != 0)
			return -1;
		if (node_is_null(vn)) {
			ctx_err(ctx, vn, "'%s' has no value for '%s'", k->name,
			    scalar_text(kn));
			return -1;
		}
		if (strmap_get(m, scalar_text(kn)) != NULL) {
			where_join(in, sizeof(in), where, k->name);
			ctx_err(ctx, kn, "duplicate key '%s' in %s",
			    scalar_text(kn), in);
			return -1;
		}
		if (m->n >= CFG_MAX_ENTRIES) {
			ctx_err(ctx, kn, "'%s' has more than %d entries",
			    k->name, CFG_MAX_ENTRIES);
			return -1;
		}
		strmap_set(m, scalar_text(kn), scalar_text(vn));
		if (run_check(ctx, k, field, kn) != 0)
			return -1;
	}
	return 0;
}

static int
list_add(struct cfg_ctx *ctx, const struct cfg_key *k, struct strv *sv,
    yaml_node_t *item)
{
	char	what[WHERE_BUF + 32];

	snprintf(what, sizeof(what), "items of '%s'", k->name);
	if (scalar_check(ctx, item, what) != 0)
		return -1;
	if (node_is_null(item)) {
		ctx_err(ctx, item, "'%s' has an empty item", k->name);
		return -1;
	}
	if (sv->n >= CFG_MAX_ENTRIES) {
		ctx_err(ctx, item, "'%s' has more than %d items", k->name,
		    CFG_MAX_ENTRIES);
		return -1;
	}
	strv_push(sv, scalar_text(item));
	return run_check(ctx, k, sv, item);
}

static int
load_list(struct cfg_ctx *ctx, const struct cfg_key *k, void *field,
    yaml_node_t *node, const char *where)
{
	struct strv	*sv = field;
	yaml_node_item_t *it;

	(void)where;
	strv_free(sv);
	switch (node->type) {
	case YAML_SCALAR_NODE:
		return list_add(ctx, k, sv, node);
	case YAML_SEQUENCE_NODE:
		for (it = node->data.sequence.items.start;
		    it < node->data.sequence.items.top; it++)
			if (list_add(ctx, k, sv, node_get(ctx, *it)) != 0)
				return -1;
		return 0;
	default:
		ctx_err(ctx, node, "'%s' must be a list", k->name);
		return -1;
	}
}

static int
load_section(struct cfg_ctx *ctx, const struct cfg_key *k, void *field,
    yaml_node_t *node, const char *where)
{
	char	sub[WHERE_BUF], msg[128];

	where_join(sub, sizeof(sub), where, k->name);
	if (node->type == YAML_MAPPING_NODE) {
		if (k->flags & CFG_PRESENCE)
			*(bool *)field = true;
		return load_table(ctx, k->sub, field, node, sub);
	}
	if ((k->flags & CFG_PRESENCE) && node->type == YAML_SCALAR_NODE &&
	    parse_bool(k, scalar_text(node), field, msg, sizeof(msg)) == 0)
		return load_table(ctx, k->sub, field, NULL, sub);
	ctx_err(ctx, node, "'%s' must be %s", k->name,
	    (k->flags & CFG_PRESENCE) ? "a mapping or a boolean" : "a mapping");
	return -1;
}

static void
free_string(const struct cfg_key *k, void *field)
{
	char	**p = field;

	if (*p != NULL && (k->flags & CFG_SECRET))
		sodium_memzero(*p, strlen(*p));
	free(*p);
	*p = NULL;
}

static void
free_map(const struct cfg_key *k, void *field)
{
	(void)k;
	strmap_free(field);
}

static void
free_list(const struct cfg_key *k, void *field)
{
	(void)k;
	strv_free(field);
}

static void
free_section(const struct cfg_key *k, void *field)
{
	config_free(k->sub, field);
}

static const struct cfg_type_ops cfg_types[] = {
	[CFG_STRING] = { "a string", parse_string, load_scalar, free_string },
	[CFG_INT] = { "an integer", parse_int, load_scalar, NULL },
	[CFG_BOOL] = { "a boolean", parse_bool, load_scalar, NULL },
	[CFG_DURATION] = { "a duration", parse_duration, load_scalar, NULL },
	[CFG_SIZE] = { "a size", parse_size, load_scalar, NULL },
	[CFG_MAP] = { "a mapping", NULL, load_map, free_map },
	[CFG_LIST] = { "a list", NULL, load_list, free_list },
	[CFG_SECTION] = { "a mapping", NULL, load_section, free_section },
};

static const struct cfg_type_ops *
type_ops(enum cfg_type t)
{
	return &cfg_types[t];
}

static int
load_value(struct cfg_ctx *ctx, const struct cfg_key *k, void *dst,
    yaml_node_t *node, const char *where)
{
	return type_ops(k->type)->node(ctx, k, field_at(dst, k), node, where);
}

/* Scrub scalar text (secrets among it) before libyaml frees it. */
static void
document_wipe(yaml_document_t *doc)
{
	yaml_node_t	*n;

	for (n = doc->nodes.start; n < doc->nodes.top; n++)
		if (n->type == YAML_SCALAR_NODE)
			sodium_memzero(n->data.scalar.value,
			    n->data.scalar.length);
}

static void
parser_err(struct cfg_ctx *ctx, const yaml_parser_t *p)
{
	const char	*problem = p->problem ? p->problem : "invalid YAML";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		snprintf(ctx->err, ctx->errlen, "%s: out of memory", ctx->name);
		break;
	case YAML_READER_ERROR:
		snprintf(ctx->err, ctx->errlen, "%s: byte %zu: %s", ctx->name,
		    p->problem_offset, problem);
		break;
	default:
		snprintf(ctx->err, ctx->errlen, "%s:%zu:%zu: %s%s%s",
		    ctx->name, p->problem_mark.line + 1,
		    p->problem_mark.column + 1, problem,
		    p->context ? " " : "", p->context ? p->context : "");
		break;
	}
}

/*
 * Whether text nests collections deeper than CFG_DEPTH_MAX.  libyaml's
 * cost per token grows with the depth (quadratic in all), so the depth is
 * looked at first, with its event parser, which stops at the first level
 * too deep: linear.  Syntax errors are left to the document loader.
 */
static int
depth_check(struct cfg_ctx *ctx, const char *text, size_t len)
{
	yaml_parser_t	parser;
	yaml_event_t	ev;
	int		depth = 0, rc = 0;
	bool		done = false;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && yaml_parser_parse(&parser, &ev)) {
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > CFG_DEPTH_MAX) {
				snprintf(ctx->err, ctx->errlen, "%s:%zu:%zu: "
				    "nested deeper than %d levels", ctx->name,
				    ev.start_mark.line + 1,
				    ev.start_mark.column + 1, CFG_DEPTH_MAX);
				rc = -1;
				done = true;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return rc;
}

/*
 * Load text as one YAML document into doc.  A second document would be
 * silently ignored by yaml_parser_load, so it is an error.
 */
static int
document_load(struct cfg_ctx *ctx, const char *text, size_t len,
    yaml_document_t *doc)
{
	yaml_parser_t	 parser;
	yaml_document_t	 extra;
	yaml_node_t	*root;
	int		 rc = -1;

	if (depth_check(ctx, text, len) == -1) {
		memset(doc, 0, sizeof(*doc));
		return -1;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, doc)) {
		parser_err(ctx, &parser);
		memset(doc, 0, sizeof(*doc));
		goto out;
	}
	if (!yaml_parser_load(&parser, &extra)) {
		parser_err(ctx, &parser);
		goto fail;
	}
	root = yaml_document_get_root_node(&extra);
	if (root != NULL) {
		ctx->doc = &extra;
		ctx_err(ctx, root, "only one YAML document is allowed");
		document_wipe(&extra);
		yaml_document_delete(&extra);
		goto fail;
	}
	yaml_document_delete(&extra);
	rc = 0;
	goto out;
fail:
	document_wipe(doc);
	yaml_document_delete(doc);
	memset(doc, 0, sizeof(*doc));
out:
	yaml_parser_delete(&parser);
	return rc;
}

/* Apply the default of k (if any) as if the file had said it. */
static int
load_default(struct cfg_ctx *ctx, const struct cfg_key *k, void *dst,
    const char *where)
{
	struct cfg_ctx	 dctx = *ctx;
	yaml_document_t	 doc;
	yaml_node_t	*root;
	char		 name[WHERE_BUF + 32], sub[WHERE_BUF];
	int		 rc;

	if (k->def == NULL) {
		if (k->type != CFG_SECTION)
			return 0;
		where_join(sub, sizeof(sub), where, k->name);
		return load_table(ctx, k->sub, field_at(dst, k), NULL, sub);
	}
	where_join(sub, sizeof(sub), where, k->name);
	snprintf(name, sizeof(name), "default of %s", sub);
	dctx.name = name;
	if (document_load(&dctx, k->def, strlen(k->def), &doc) != 0)
		return -1;
	dctx.doc = &doc;
	if ((root = yaml_document_get_root_node(&doc)) == NULL) {
		ctx_err(&dctx, NULL, "empty");
		rc = -1;
	} else
		rc = load_value(&dctx, k, dst, root, where);
	yaml_document_delete(&doc);
	return rc;
}

static const struct cfg_key *
table_find(const struct cfg_key *table, const yaml_node_t *kn)
{
	const struct cfg_key	*k;

	for (k = table; k->name != NULL; k++)
		if (strcmp(k->name, scalar_text(kn)) == 0)
			return k;
	return NULL;
}

/*
 * Fill dst from map (NULL: the section is absent) according to table, then
 * give every key that was not set its default.  where is the dotted path
 * of the section ("" at the top level).
 */
static int
load_table(struct cfg_ctx *ctx, const struct cfg_key *table, void *dst,
    yaml_node_t *map, const char *where)
{
	enum { SEEN = 1, SET = 2 };
	const struct cfg_key	*k;
	yaml_node_pair_t	*pair = NULL, *end = NULL;
	yaml_node_t		*kn, *vn;
	unsigned char		*state;
	size_t			 n;
	char			 in[WHERE_BUF + 8], what[WHERE_BUF + 16];
	int			 rc = -1;

	for (n = 0; table[n].name != NULL; n++)
		;
	state = xcalloc(n + 1, 1);
	if (map != NULL) {
		pair = map->data.mapping.pairs.start;
		end = map->data.mapping.pairs.top;
	}
	snprintf(what, sizeof(what), "keys%s",
	    where_suffix(in, sizeof(in), where));
	for (; pair < end; pair++) {
		kn = node_get(ctx, pair->key);
		vn = node_get(ctx, pair->value);
		if (scalar_check(ctx, kn, what) != 0)
			goto out;
		if ((k = table_find(table, kn)) == NULL) {
			ctx_err(ctx, kn, "unknown key '%s'%s", scalar_text(kn),
			    where_suffix(in, sizeof(in), where));
			goto out;
		}
		if (state[k - table] & SEEN) {
			ctx_err(ctx, kn, "duplicate key '%s'%s", k->name,
			    where_suffix(in, sizeof(in), where));
			goto out;
		}
		state[k - table] |= SEEN;
		if (node_is_null(vn)) {
			if ((k->flags & CFG_REQUIRED) && !ctx->defaults_only) {
				ctx_err(ctx, vn, "'%s' must have a value",
				    k->name);
				goto out;
			}
			continue;
		}
		if (load_value(ctx, k, dst, vn, where) != 0)
			goto out;
		state[k - table] |= SET;
	}
	for (k = table; k->name != NULL; k++) {
		if (state[k - table] & SET)
			continue;
		if ((k->flags & CFG_REQUIRED) && !ctx->defaults_only) {
			/* Inside a present section, point at the section. */
			ctx_err(ctx, *where ? map : NULL,
			    "missing required key '%s'%s", k->name,
			    where_suffix(in, sizeof(in), where));
			goto out;
		}
		if (load_default(ctx, k, dst, where) != 0)
			goto out;
	}
	rc = 0;
out:
	free(state);
	return rc;
}

int
config_parse(const char *name, const char *text, size_t len,
    const struct cfg_key *table, void *dst, char *err, size_t errlen)
{
	struct cfg_ctx	 ctx = { name, NULL, false, err, errlen };
	yaml_document_t	 doc;
	yaml_node_t	*root;
	int		 rc = -1;

	if (document_load(&ctx, text, len, &doc) != 0)
		return -1;
	ctx.doc = &doc;
	if ((root = yaml_document_get_root_node(&doc)) == NULL ||
	    node_is_null(root))
		ctx_err(&ctx, NULL, "empty configuration");
	else if (root->type != YAML_MAPPING_NODE)
		ctx_err(&ctx, root, "the top level must be a mapping of keys");
	else
		rc = load_table(&ctx, table, dst, root, "");
	document_wipe(&doc);
	yaml_document_delete(&doc);
	return rc;
}

int
config_load(const char *path, const struct cfg_key *table, void *dst,
    char *err, size_t errlen)
{
	char	*text;
	size_t	 len;
	int	 rc;

	if (file_read(path, CFG_MAX_FILE, &text, &len, err, errlen) != 0)
		return -1;
	rc = config_parse(path, text, len, table, dst, err, errlen);
	sodium_memzero(text, len);
	free(text);
	return rc;
}

int
config_defaults(const struct cfg_key *table, void *dst, char *err,
    size_t errlen)
{
	struct cfg_ctx	ctx = { "defaults", NULL, true, err, errlen };

	return load_table(&ctx, table, dst, NULL, "");
}

void
config_free(const struct cfg_key *table, void *dst)
{
	const struct cfg_key	*k;

	for (k = table; k->name != NULL; k++)
		if (type_ops(k->type)->free != NULL)
			type_ops(k->type)->free(k, field_at(dst, k));
}

static bool
path_exists(const char *path)
{
	struct stat	st;

	return stat(path, &st) == 0;
}

static int
path_copy(const char *path, char *out, size_t outlen, char *err,
    size_t errlen)
{
	if (strlen(path) >= outlen) {
		snprintf(err, errlen, "config path too long: %.64s...", path);
		return -1;
	}
	snprintf(out, outlen, "%s", path);
	return 0;
}

int
config_find(const char *applet, const char *explicit, char *out,
    size_t outlen, char *err, size_t errlen)
{
	char		 var[128], cand[3][PATH_BUF];
	const char	*env, *home;
	size_t		 i, n = 0;

	if (explicit != NULL && *explicit != '\0')
		return path_copy(explicit, out, outlen, err, errlen);
	if (strlen(applet) > 64) {
		snprintf(err, errlen, "bad applet name");
		return -1;
	}
	snprintf(var, sizeof(var), "DFFMPEG_%s_CONFIG", applet);
	for (i = 0; var[i] != '\0'; i++)
		var[i] = isalnum((unsigned char)var[i]) ?
		    toupper((unsigned char)var[i]) : '_';
	if ((env = getenv(var)) != NULL && *env != '\0')
		return path_copy(env, out, outlen, err, errlen);

	snprintf(cand[n++], PATH_BUF, "./dffmpeg-%s.yaml", applet);
	if ((home = getenv("HOME")) != NULL && *home != '\0')
		snprintf(cand[n++], PATH_BUF, "%s/.config/dffmpeg/%s.yaml",
		    home, applet);
	snprintf(cand[n++], PATH_BUF, "/etc/dffmpeg/%s.yaml", applet);
	for (i = 0; i < n; i++)
		if (path_exists(cand[i]))
			return path_copy(cand[i], out, outlen, err, errlen);

	snprintf(err, errlen, "no %s config found (tried $%s, %s%s%s%s%s; "
	    "use -c FILE)", applet, var, cand[0], ", ", cand[1],
	    n > 2 ? ", " : "", n > 2 ? cand[2] : "");
	return -1;
}
