/*
 * Capabilities of an ffmpeg binary.  See caps.h.
 *
 * The listings are ffmpeg's own stdout: a title line ("Encoders:",
 * "Filters:", ...), a legend, then one line per entry whose first token is
 * a column of flag letters and whose second token is the name.  The title
 * is required, so one kind of listing is never taken for another, and the
 * flag column's width is checked loosely so that outputs of ffmpeg 4 to 7
 * parse alike.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bounds.h"
#include "caps.h"
#include "ffrun.h"
#include "hwcaps.h"
#include "xmalloc.h"


#define CAPS_NAME_MAX	NAME_MAX_LEN
#define TOKENS_MAX	4

struct tok {
	const char	*s;
	size_t		 n;
};

typedef int (*parse_fn)(const char *, struct strv *);

static int	parse_encoders(const char *, struct strv *);
static int	parse_decoders(const char *, struct strv *);
static int	parse_hwaccels(const char *, struct strv *);
static int	parse_filters(const char *, struct strv *);

static const struct kind {
	const char	*name;		/* plural: the ffmpeg option */
	const char	*one;		/* singular, for caps_missing */
	parse_fn	 parse;
} kinds[CAPS__COUNT] = {
	[CAPS_ENCODERS] = { "encoders", "encoder", parse_encoders },
	[CAPS_DECODERS] = { "decoders", "decoder", parse_decoders },
	[CAPS_HWACCELS] = { "hwaccels", "hwaccel", parse_hwaccels },
	[CAPS_FILTERS] =  { "filters",  "filter",  parse_filters },
};

const char *
caps_kind_name(enum caps_kind k)
{
	if ((unsigned)k >= CAPS__COUNT)
		return NULL;
	return kinds[k].name;
}

/* The next line of *p (without its '\n' or "\r\n"); false at the end. */
static bool
next_line(const char **p, struct tok *line)
{
	const char	*s = *p, *e;

	if (*s == '\0')
		return false;
	e = s + strcspn(s, "\n");
	*p = *e == '\n' ? e + 1 : e;
	if (e > s && e[-1] == '\r')
		e--;
	line->s = s;
	line->n = e - s;
	return true;
}

/* Split a line at blanks into at most max tokens; returns the count. */
static size_t
tokenize(const struct tok *line, struct tok *t, size_t max)
{
	const char	*s = line->s, *end = line->s + line->n;
	size_t		 n = 0;

	while (n < max) {
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		if (s == end)
			break;
		t[n].s = s;
		while (s < end && *s != ' ' && *s != '\t')
			s++;
		t[n].n = s - t[n].s;
		n++;
	}
	return n;
}

static bool
tok_is(const struct tok *t, const char *s)
{
	return t->n == strlen(s) && memcmp(t->s, s, t->n) == 0;
}

/* A line equal to s once its surrounding blanks are cut. */
static bool
line_is(const struct tok *line, const char *s)
{
	struct tok	t = *line;

	while (t.n > 0 && (*t.s == ' ' || *t.s == '\t')) {
		t.s++;
		t.n--;
	}
	while (t.n > 0 && (t.s[t.n - 1] == ' ' || t.s[t.n - 1] == '\t'))
		t.n--;
	return tok_is(&t, s);
}

static bool
tok_charset(const struct tok *t, const char *set)
{
	size_t	i;

	for (i = 0; i < t->n; i++)
		if (t->s[i] == '\0' || strchr(set, t->s[i]) == NULL)
			return false;
	return true;
}

static bool
tok_name(const struct tok *t)
{
	return t->n > 0 && t->n <= CAPS_NAME_MAX && tok_charset(t,
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-");
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort and drop duplicates. */
static void
sort_unique(struct strv *sv)
{
	size_t	i, j;

	if (sv->n == 0)
		return;
	qsort(sv->v, sv->n, sizeof(*sv->v), cmp_str);
	for (i = 1, j = 0; i < sv->n; i++) {
		if (strcmp(sv->v[i], sv->v[j]) == 0)
			free(sv->v[i]);
		else
			sv->v[++j] = sv->v[i];
	}
	sv->n = j + 1;
	sv->v[sv->n] = NULL;
}

/*
 * Encoders:
 *  V..... = Video
 *  ...
 *  ------
 *  V....D libx264              libx264 H.264 / AVC ... (codec h264)
 */
static int
parse_codecs(const char *text, const char *title, struct strv *out)
{
	struct tok	 line, t[2], alias;
	const char	*p = text, *c, *end;
	int		 state = 0;

	while (next_line(&p, &line)) {
		if (state == 0) {
			if (line_is(&line, title))
				state = 1;
			continue;
		}
		if (state == 1) {
			if (tokenize(&line, t, 2) == 1 && t[0].n >= 3 &&
			    tok_charset(&t[0], "-"))
				state = 2;
			continue;
		}
		if (tokenize(&line, t, 2) != 2 || t[0].n != 6 ||
		    !tok_charset(&t[0], "ABCDEFGHIJKLMNOPQRSTUVWXYZ.") ||
		    !tok_name(&t[1]))
			continue;
		strv_pushn(out, t[1].s, t[1].n);
		/* ffmpeg also takes the codec's name: "-c:v h264". */
		end = line.s + line.n;
		c = t[1].s + t[1].n;
		while ((c = memmem(c, end - c, "(codec ", 7)) != NULL) {
			alias.s = c + 7;
			alias.n = 0;
			while (alias.s + alias.n < end &&
			    alias.s[alias.n] != ')')
				alias.n++;
			if (alias.s + alias.n < end && tok_name(&alias))
				strv_pushn(out, alias.s, alias.n);
			c = alias.s;
		}
	}
	if (out->n == 0)
		return -1;
	sort_unique(out);
	return 0;
}

static int
parse_encoders(const char *text, struct strv *out)
{
	return parse_codecs(text, "Encoders:", out);
}

static int
parse_decoders(const char *text, struct strv *out)
{
	return parse_codecs(text, "Decoders:", out);
}

/*
 * Hardware acceleration methods:
 * vaapi
 * ...
 * An ffmpeg built without any lists none, which is not an error.
 */
static int
parse_hwaccels(const char *text, struct strv *out)
{
	struct tok	 line, t[2];
	const char	*p = text;
	bool		 seen = false;

	while (next_line(&p, &line)) {
		if (!seen) {
			seen = line_is(&line, "Hardware acceleration methods:");
			continue;
		}
		if (tokenize(&line, t, 2) == 1 && tok_name(&t[0]))
			strv_pushn(out, t[0].s, t[0].n);
	}
	if (!seen)
		return -1;
	sort_unique(out);
	return 0;
}

/*
 * Filters:
 *   T.. = Timeline support
 *   ...
 *  ..C scale             V->V       Scale the input video size ...
 * ffmpeg 3 printed two flag columns, 4 and later three.
 */
static int
parse_filters(const char *text, struct strv *out)
{
	struct tok	 line, t[3];
	const char	*p = text;
	bool		 seen = false;

	while (next_line(&p, &line)) {
		if (!seen) {
			seen = line_is(&line, "Filters:");
			continue;
		}
		if (tokenize(&line, t, 3) != 3 || t[0].n < 2 || t[0].n > 3 ||
		    !tok_charset(&t[0], "ABCDEFGHIJKLMNOPQRSTUVWXYZ.") ||
		    !tok_name(&t[1]) || memmem(t[2].s, t[2].n, "->", 2) == NULL)
			continue;
		strv_pushn(out, t[1].s, t[1].n);
	}
	if (out->n == 0)
		return -1;
	sort_unique(out);
	return 0;
}

int
caps_parse(enum caps_kind k, const char *text, struct strv *out)
{
	memset(out, 0, sizeof(*out));
	if ((unsigned)k >= CAPS__COUNT)
		return -1;
	if (kinds[k].parse(text, out) == -1) {
		strv_free(out);
		return -1;
	}
	return 0;
}

int
caps_parse_version(const char *text, char *out, size_t outlen)
{
	struct tok	 line, t[3];
	const char	*p = text;

	while (next_line(&p, &line)) {
		if (tokenize(&line, t, 3) != 3 || !tok_is(&t[1], "version"))
			continue;
		if (t[2].n >= outlen || !tok_charset(&t[2],
		    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789_.-+~:"))
			return -1;
		memcpy(out, t[2].s, t[2].n);
		out[t[2].n] = '\0';
		return 0;
	}
	return -1;
}

static void
scan_dir(const char *dir, const char *const prefixes[], struct strv *out)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 i;
	char		*path;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		for (i = 0; prefixes[i] != NULL; i++) {
			if (strncmp(de->d_name, prefixes[i],
			    strlen(prefixes[i])) == 0)
				break;
		}
		if (prefixes[i] == NULL)
			continue;
		xasprintf(&path, "%s/%s", dir, de->d_name);
		strv_push(out, path);
		free(path);
	}
	closedir(d);
}

void
caps_scan_devices(const char *devdir, struct strv *out)
{
	static const char *const dri[] = { "renderD", "card", NULL };
	static const char *const nv[] = { "nvidia", NULL };
	char	*dir;

	xasprintf(&dir, "%s/dri", devdir);
	scan_dir(dir, dri, out);
	free(dir);
	scan_dir(devdir, nv, out);
	sort_unique(out);
}

bool
caps_has(const struct caps *c, enum caps_kind k, const char *name)
{
	const struct strv	*sv;

	if ((unsigned)k >= CAPS__COUNT)
		return false;
	sv = &c->lists[k];
	if (sv->n == 0)
		return false;
	return bsearch(&name, sv->v, sv->n, sizeof(*sv->v), cmp_str) != NULL;
}

void
caps_remove(struct caps *c, enum caps_kind k, const struct strv *names)
{
	struct strv	*sv;
	char		**hit;
	size_t		 i, at;

	if ((unsigned)k >= CAPS__COUNT)
		return;
	sv = &c->lists[k];
	for (i = 0; i < names->n && sv->n > 0; i++) {
		hit = bsearch(&names->v[i], sv->v, sv->n, sizeof(*sv->v),
		    cmp_str);
		if (hit == NULL)
			continue;
		at = hit - sv->v;
		free(*hit);
		/* Moves the NULL terminator down too. */
		memmove(hit, hit + 1, (sv->n - at) * sizeof(*sv->v));
		sv->n--;
	}
}

void
caps_free(struct caps *c)
{
	int	k;

	for (k = 0; k < CAPS__COUNT; k++)
		strv_free(&c->lists[k]);
	strv_free(&c->devices);
	strmap_free(&c->failed);
	for (k = 0; k < CO__COUNT; k++) {
		buf_free(&c->outputs[k].out);
		buf_free(&c->outputs[k].err);
	}
	memset(c, 0, sizeof(*c));
}

/* The first requirement of req that c lists (want) or does not list. */
static const char *
caps_match(const struct caps *c, const struct ffreq *req, bool want,
    char *buf, size_t buflen)
{
	static const struct {
		size_t		 off;
		enum caps_kind	 kind;
		const char	*what;
	} checks[] = {
		{ offsetof(struct ffreq, encoders),  CAPS_ENCODERS, "encoder" },
		{ offsetof(struct ffreq, decoders),  CAPS_DECODERS, "decoder" },
		{ offsetof(struct ffreq, hwaccels),  CAPS_HWACCELS, "hwaccel" },
		{ offsetof(struct ffreq, hwdevices), CAPS_HWACCELS,
		    "hardware device" },
		{ offsetof(struct ffreq, filters),   CAPS_FILTERS,  "filter" },
	};
	const struct strv	*sv;
	const char		*type;
	size_t			 i, j;

	for (i = 0; i < nitems(checks); i++) {
		sv = (const struct strv *)((const char *)req + checks[i].off);
		for (j = 0; j < sv->n; j++) {
			if (caps_has(c, checks[i].kind, sv->v[j]) != want)
				continue;
			type = hw_type_of(sv->v[j]);
			if (!want && checks[i].kind == CAPS_HWACCELS)
				snprintf(buf, buflen, "a working %s device "
				    "(%s '%s')", sv->v[j], checks[i].what,
				    sv->v[j]);
			else if (!want && type != NULL)
				snprintf(buf, buflen, "%s '%s', which needs a "
				    "working %s device", checks[i].what,
				    sv->v[j], type);
			else
				snprintf(buf, buflen, "%s '%s'", checks[i].what,
				    sv->v[j]);
			return buf;
		}
	}
	return NULL;
}

const char *
caps_missing(const struct caps *c, const struct ffreq *req, char *buf,
    size_t buflen)
{
	return caps_match(c, req, false, buf, buflen);
}

const char *
caps_listed(const struct caps *c, const struct ffreq *req, char *buf,
    size_t buflen)
{
	return caps_match(c, req, true, buf, buflen);
}

/* The executable binary names: itself if it has a '/', else from PATH. */
static char *
resolve(const char *binary)
{
	const char	*path, *p, *e;
	char		*cand;
	struct stat	 st;

	if (strchr(binary, '/') != NULL)
		return xstrdup(binary);
	if ((path = getenv("PATH")) == NULL || *path == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; p = e + 1) {
		e = p + strcspn(p, ":");
		/* An empty PATH element is the current directory. */
		xasprintf(&cand, "%.*s/%s", e == p ? 1 : (int)(e - p),
		    e == p ? "." : p, binary);
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(cand, X_OK) == 0)
			return cand;
		free(cand);
		if (*e == '\0')
			return NULL;
	}
}

_Static_assert(CO_ENCODERS + CAPS_ENCODERS == CO_ENCODERS &&
    CO_FILTERS == CO_ENCODERS + CAPS_FILTERS, "outputs follow the lists");

static const char *const output_opts[CO__COUNT] = { "-version",
    "-encoders", "-decoders", "-hwaccels", "-filters" };

const char *
caps_output_opt(enum caps_output_kind k)
{
	return (unsigned)k < CO__COUNT ? output_opts[k] : NULL;
}

int
caps_output_lookup(const char *opt)
{
	int	k;

	for (k = 0; k < CO__COUNT; k++)
		if (strcmp(output_opts[k], opt) == 0)
			return k;
	return -1;
}

int
caps_output_args(const char *binary, int argc, char *const argv[], bool *hide)
{
	*hide = false;
	if (strcmp(binary, "ffmpeg") != 0 || argc < 1 || argc > 2)
		return -1;
	if (argc == 2) {
		if (strcmp(argv[0], "-hide_banner") == 0)
			argv++;
		else if (strcmp(argv[1], "-hide_banner") != 0)
			return -1;
		*hide = true;
	}
	return caps_output_lookup(argv[0]);
}

/*
 * Run "path opt" and return its stdout (NUL-terminated, owned by the
 * caller) in *out; keep what it printed, banner and all, in *o.
 */
static int
run_listing(const char *path, const char *opt, char **out,
    struct caps_output *o, char *err, size_t errlen)
{
	char		*argv[] = { (char *)path, (char *)opt, NULL };
	struct ffrun	 r;
	char		 why[256];

	*out = NULL;
	if (ffrun(path, argv, CAPS_TIMEOUT_MS, CAPS_OUTPUT_MAX, CAPS_ERR_MAX,
	    &r, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s %s: %s", path, opt, why);
		ffrun_free(&r);
		return -1;
	}
	if (!ffrun_ok(&r)) {
		snprintf(err, errlen, "%s %s: %s", path, opt,
		    ffrun_reason(&r, why, sizeof(why)));
		ffrun_free(&r);
		return -1;
	}
	o->known = true;
	o->status = WEXITSTATUS(r.status);
	buf_add(&o->out, buf_head(&r.out), buf_used(&r.out));
	buf_add(&o->err, buf_head(&r.err), buf_used(&r.err));
	buf_add(&r.out, "", 1);
	*out = xmemdup(buf_head(&r.out), buf_used(&r.out));
	ffrun_free(&r);
	return 0;
}

int
caps_probe(const char *binary, struct caps *c, char *err, size_t errlen)
{
	char	*path, *text;
	int	 k;

	memset(c, 0, sizeof(*c));
	if ((path = resolve(binary)) == NULL) {
		snprintf(err, errlen, "%s: not found in PATH", binary);
		return -1;
	}
	if (run_listing(path, "-version", &text, &c->outputs[CO_VERSION], err,
	    errlen) == -1)
		goto fail;
	if (caps_parse_version(text, c->version, sizeof(c->version)) == -1) {
		snprintf(err, errlen, "%s -version: no \"version\" line",
		    path);
		free(text);
		goto fail;
	}
	free(text);
	for (k = 0; k < CAPS__COUNT; k++) {
		char	opt[32];

		snprintf(opt, sizeof(opt), "-%s", kinds[k].name);
		if (run_listing(path, opt, &text, &c->outputs[CO_ENCODERS + k],
		    err, errlen) == -1)
			goto fail;
		if (caps_parse(k, text, &c->lists[k]) == -1) {
			snprintf(err, errlen, "%s %s: not a list of %s", path,
			    opt, kinds[k].name);
			free(text);
			goto fail;
		}
		free(text);
	}
	caps_scan_devices("/dev", &c->devices);
	free(path);
	return 0;
fail:
	free(path);
	caps_free(c);
	return -1;
}

void
caps_set(struct caps *c, enum caps_kind kind, const struct strv *names)
{
	size_t	i;

	strv_free(&c->lists[kind]);
	for (i = 0; i < names->n; i++)
		strv_push(&c->lists[kind], names->v[i]);
	sort_unique(&c->lists[kind]);
}
