/*
 * Requirements of an ffmpeg command line.  See ffargs.h.
 *
 * The walk mirrors ffmpeg's split_commandline (fftools/cmdutils.c): an
 * argument that does not start with '-', or is "-" alone, or follows "--",
 * is an output file; "-i" takes the input file; an option listed in
 * valueless[] takes nothing; "-noNAME" of a boolean option takes nothing;
 * everything else takes the next argument as its value.  Getting the
 * value-less set wrong shifts every later argument, so it comes from
 * ffmpeg's OptionDef tables (5.x to 8.x), not from `ffmpeg -h full`, whose
 * "<arg>" column is only a help string (-hide_banner shows one, -vsync
 * does not).
 */
#include <stdlib.h>
#include <string.h>

#include "ffargs.h"
#include "xmalloc.h"

#define WHITESPACE	" \n\t\r"

enum {
	VL_BOOL = 0x1,	/* boolean: "-noNAME" is accepted too */
	/*
	 * Took a value up to ffmpeg 6.1 (HAS_ARG|OPT_BOOL, so Jellyfin passes
	 * "-autorotate 0") and none since 7.0: an integer after it is its
	 * value, anything else is the next argument.
	 */
	VL_OPTVAL = 0x2,
};

struct valueless {
	const char	*name;
	int		 flags;
};

/* Sorted by strcmp for bsearch. */
static const struct valueless valueless[] = {
	{ "accurate_seek",		VL_BOOL },
	{ "an",				VL_BOOL },
	{ "auto_conversion_filters",	VL_BOOL },
	{ "autorotate",			VL_BOOL | VL_OPTVAL },
	{ "autoscale",			VL_BOOL | VL_OPTVAL },
	{ "benchmark",			VL_BOOL },
	{ "benchmark_all",		VL_BOOL },
	{ "bitexact",			VL_BOOL },
	{ "copy_unknown",		VL_BOOL },
	{ "copyinkf",			VL_BOOL },
	{ "copyts",			VL_BOOL },
	{ "debug_ts",			VL_BOOL },
	{ "display_hflip",		VL_BOOL },
	{ "display_vflip",		VL_BOOL },
	{ "dn",				VL_BOOL },
	{ "dump",			VL_BOOL },
	{ "find_stream_info",		VL_BOOL },
	{ "fix_sub_duration",		VL_BOOL },
	{ "fix_sub_duration_heartbeat",	VL_BOOL },
	{ "force_fps",			VL_BOOL },
	{ "hex",			VL_BOOL },
	{ "hide_banner",		VL_BOOL },
	{ "ignore_unknown",		VL_BOOL },
	{ "n",				VL_BOOL },
	{ "print_graphs",		VL_BOOL },
	{ "psnr",			VL_BOOL },
	{ "qphist",			VL_BOOL },
	{ "re",				VL_BOOL },
	{ "recast_media",		VL_BOOL },
	{ "report",			0 },
	{ "shortest",			VL_BOOL },
	{ "sn",				VL_BOOL },
	{ "start_at_zero",		VL_BOOL },
	{ "stats",			VL_BOOL },
	{ "stdin",			VL_BOOL },
	{ "vn",				VL_BOOL },
	{ "vstats",			0 },
	{ "xerror",			VL_BOOL },
	{ "y",				VL_BOOL },
};

struct walk {
	struct ffreq	*req;
	struct strv	 codecs;	/* codec options waiting for their file */
	char		*format;	/* -f waiting for its file */
};

typedef void (*opt_fn)(struct walk *, const char *);

struct valopt {
	const char	*name;
	opt_fn		 fn;
};

/*
 * Add a name once.  Lists are capped: a command line is not trusted, and a
 * linear uniqueness check over an unbounded list of names would let one
 * submit occupy the coordinator for seconds.
 */
static void
push_unique(struct strv *sv, const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || sv->n >= FFREQ_MAX_NAMES)
		return;
	for (i = 0; i < sv->n; i++)
		if (strncmp(sv->v[i], s, len) == 0 && sv->v[i][len] == '\0')
			return;
	strv_pushn(sv, s, len);
}

static void
opt_codec(struct walk *w, const char *v)
{
	strv_push(&w->codecs, v);
}

static void
opt_format(struct walk *w, const char *v)
{
	free(w->format);
	w->format = xstrdup(v);
}

static void
opt_hwaccel(struct walk *w, const char *v)
{
	if (strcmp(v, "none") == 0 || strcmp(v, "auto") == 0)
		return;
	/* ffmpeg maps its old hwaccel names to the cuda device type. */
	if (strcmp(v, "nvdec") == 0 || strcmp(v, "cuvid") == 0)
		v = "cuda";
	push_unique(&w->req->hwaccels, v, strlen(v));
}

/* TYPE[=NAME][:DEVICE[,KEY=VALUE...]] or TYPE[=NAME]@SOURCE */
static void
opt_hwdevice(struct walk *w, const char *v)
{
	if (strcmp(v, "list") == 0)	/* prints the types and exits */
		return;
	push_unique(&w->req->hwdevices, v, strcspn(v, "=:@,"));
}

static void
opt_vaapi_device(struct walk *w, const char *v)
{
	(void)v;
	push_unique(&w->req->hwdevices, "vaapi", 5);
}

static void
opt_qsv_device(struct walk *w, const char *v)
{
	(void)v;
	push_unique(&w->req->hwdevices, "qsv", 3);
}

static void
opt_filter(struct walk *w, const char *v)
{
	ffargs_graph_filters(v, &w->req->filters);
}

/* Options whose value matters, sorted by strcmp for bsearch. */
static const struct valopt valopts[] = {
	{ "acodec",		opt_codec },
	{ "af",			opt_filter },
	{ "c",			opt_codec },
	{ "codec",		opt_codec },
	{ "dcodec",		opt_codec },
	{ "f",			opt_format },
	{ "filter",		opt_filter },
	{ "filter_complex",	opt_filter },
	{ "hwaccel",		opt_hwaccel },
	{ "init_hw_device",	opt_hwdevice },
	{ "lavfi",		opt_filter },
	{ "qsv_device",		opt_qsv_device },
	{ "scodec",		opt_codec },
	{ "vaapi_device",	opt_vaapi_device },
	{ "vcodec",		opt_codec },
	{ "vf",			opt_filter },
};

static int
cmp_valueless(const void *key, const void *elem)
{
	return strcmp(key, ((const struct valueless *)elem)->name);
}

static int
cmp_valopt(const void *key, const void *elem)
{
	return strcmp(key, ((const struct valopt *)elem)->name);
}

static const struct valueless *
find_valueless(const char *name)
{
	return bsearch(name, valueless, nitems(valueless), sizeof(*valueless),
	    cmp_valueless);
}

static bool
is_integer(const char *s)
{
	char	*end;

	if (*s == '\0')
		return false;
	(void)strtol(s, &end, 10);
	return *end == '\0';
}

/* The pending per-file options belong to the file just named. */
static void
end_file(struct walk *w, bool input, const char *url)
{
	struct strv	*to = input ? &w->req->decoders : &w->req->encoders;
	size_t		 i;

	for (i = 0; i < w->codecs.n; i++)
		if (strcmp(w->codecs.v[i], "copy") != 0)
			push_unique(to, w->codecs.v[i], strlen(w->codecs.v[i]));
	if (input && w->format != NULL && strcmp(w->format, "lavfi") == 0)
		ffargs_graph_filters(url, &w->req->filters);
	strv_free(&w->codecs);
	free(w->format);
	w->format = NULL;
}

void
ffargs_requirements(int argc, char *const argv[], struct ffreq *out)
{
	struct walk		 w;
	const struct valueless	*vl;
	const struct valopt	*vo;
	const char		*a, *name;
	char			 base[64];
	size_t			 len;
	bool			 fromfile;
	int			 i, dashdash = -2;

	memset(out, 0, sizeof(*out));
	memset(&w, 0, sizeof(w));
	w.req = out;
	for (i = 0; i < argc; i++) {
		a = argv[i];
		if (a[0] != '-' || a[1] == '\0' || dashdash + 1 == i) {
			end_file(&w, false, a);
			continue;
		}
		if (strcmp(a, "--") == 0) {
			dashdash = i;
			continue;
		}
		if (strcmp(a, "-i") == 0) {
			if (i + 1 < argc)
				end_file(&w, true, argv[++i]);
			continue;
		}

		/* ffmpeg 7 reads the value of "-/NAME" from a file. */
		name = a + 1;
		fromfile = name[0] == '/';
		if (fromfile)
			name++;
		len = strcspn(name, ":");
		if (len >= sizeof(base))
			len = sizeof(base) - 1;
		memcpy(base, name, len);
		base[len] = '\0';

		if ((vl = find_valueless(base)) != NULL) {
			if ((vl->flags & VL_OPTVAL) && i + 1 < argc &&
			    is_integer(argv[i + 1]))
				i++;
			continue;
		}
		if (strncmp(base, "no", 2) == 0 &&
		    (vl = find_valueless(base + 2)) != NULL &&
		    (vl->flags & VL_BOOL))
			continue;

		if (i + 1 >= argc)
			break;	/* ffmpeg: missing argument */
		i++;
		if (fromfile)
			continue;
		vo = bsearch(base, valopts, nitems(valopts), sizeof(*valopts),
		    cmp_valopt);
		if (vo != NULL)
			vo->fn(&w, argv[i]);
	}
	/* Trailing options have no file; ffmpeg ignores them too. */
	strv_free(&w.codecs);
	free(w.format);
}

void
ffreq_free(struct ffreq *r)
{
	strv_free(&r->encoders);
	strv_free(&r->decoders);
	strv_free(&r->hwaccels);
	strv_free(&r->hwdevices);
	strv_free(&r->filters);
}

bool
ffreq_empty(const struct ffreq *r)
{
	return r->encoders.n == 0 && r->decoders.n == 0 &&
	    r->hwaccels.n == 0 && r->hwdevices.n == 0 && r->filters.n == 0;
}

/*
 * One token as libavutil's av_get_token reads it: leading whitespace
 * skipped, up to the first character of term that is neither escaped by a
 * backslash nor inside '...', trailing unprotected whitespace dropped.
 * Returns the position of the terminator; the unescaped token goes to *tok
 * (owned by the caller) when tok is not NULL.
 */
static const char *
get_token(const char *p, const char *term, char **tok)
{
	char	*out = NULL, *o = NULL, *end = NULL;

	if (tok != NULL) {
		/* The token is no longer than the span to its terminator. */
		out = o = end = xmalloc((size_t)(get_token(p, term, NULL) - p)
		    + 1);
	}
	p += strspn(p, WHITESPACE);
	while (*p != '\0' && strchr(term, *p) == NULL) {
		char	c = *p++;

		if (c == '\\' && *p != '\0') {
			if (out != NULL) {
				*o++ = *p;
				end = o;
			}
			p++;
		} else if (c == '\'') {
			while (*p != '\0' && *p != '\'') {
				if (out != NULL)
					*o++ = *p;
				p++;
			}
			if (*p != '\0') {
				p++;
				if (out != NULL)
					end = o;
			}
		} else if (out != NULL)
			*o++ = c;
	}
	if (out != NULL) {
		while (o > end && strchr(WHITESPACE, o[-1]) != NULL)
			o--;
		*o = '\0';
		*tok = out;
	}
	return p;
}

/* Skip "[label]" sequences and the whitespace around them. */
static const char *
skip_labels(const char *p)
{
	p += strspn(p, WHITESPACE);
	while (*p == '[') {
		p = get_token(p + 1, "]", NULL);
		if (*p == ']')
			p++;
		p += strspn(p, WHITESPACE);
	}
	return p;
}

/*
 * Filtergraph syntax (libavfilter/graphparser.c): chains separated by ';',
 * filters by ','; each filter is [in]...NAME[@id][=ARGS][out]...  ARGS run
 * to the first unprotected '[' ']' ',' or ';'.
 */
void
ffargs_graph_filters(const char *graph, struct strv *out)
{
	const char	*p = graph;
	char		*name;

	p += strspn(p, WHITESPACE);
	if (strncmp(p, "sws_flags=", 10) == 0) {
		if ((p = strchr(p, ';')) == NULL)
			return;
		p++;
	}
	while (*p != '\0') {
		p = skip_labels(p);
		p = get_token(p, "=,;[]", &name);
		push_unique(out, name, strcspn(name, "@"));
		free(name);
		if (*p == '=')
			p = get_token(p + 1, "[],;", NULL);
		p = skip_labels(p);
		/* A stray character (']', or garbage) is skipped to progress. */
		if (*p != '\0')
			p++;
	}
}
