/*
 * Path variables (design §7): rewriting on directory boundaries, longest
 * root first, the "${" escape, expansion limited to declared variables,
 * configuration errors, and the Jellyfin command-line corpus: every local
 * path under a mapped root becomes ${Var}, nothing else changes, and
 * expansion gives every argument back byte for byte.
 */
#include <sys/mman.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "unit.h"

#include "bounds.h"
#include "jobspec.h"
#include "paths.h"
#include "util.h"
#include "xmalloc.h"

#define CORPUS_DEFAULT	"tests/corpus/jellyfin-sample.json"
#define CORPUS_MAX	(4 * 1024 * 1024)

static char	err[1024];

/* Build a pathmap from NULL-terminated {variable, root} pairs. */
static int
pm_make(struct pathmap *pm, const char *const *pairs)
{
	struct strmap	conf = { 0 };
	int		rc;

	for (; pairs[0] != NULL; pairs += 2)
		strmap_set(&conf, pairs[0], pairs[1]);
	err[0] = '\0';
	rc = pathmap_init(pm, &conf, err, sizeof(err));
	strmap_free(&conf);
	return rc;
}

static void
strv_all_vars(struct strv *sv, const struct pathmap *pm)
{
	size_t	i;

	for (i = 0; i < pm->roots.n; i++)
		strv_push(sv, pm->roots.keys[i]);
}

/* Rewrite, compare with want, then expand with every variable allowed and
 * compare with the original. */
static void
check_rewrite(const struct pathmap *pm, const char *in, const char *want,
    const char *want_used)
{
	struct strv	 used = { 0 }, all = { 0 };
	char		*copy, *out, *back, joined[256] = "";
	size_t		 i;

	/* A heap copy, so that valgrind sees any read past its end. */
	copy = xstrdup(in);
	out = pathmap_rewrite(pm, copy, &used);
	free(copy);
	ck_assert_msg(strcmp(out, want) == 0,
	    "rewrite('%s') = '%s', want '%s'", in, out, want);
	for (i = 0; i < used.n; i++)
		snprintf(joined + strlen(joined), sizeof(joined) -
		    strlen(joined), "%s%s", i > 0 ? "," : "", used.v[i]);
	ck_assert_msg(strcmp(joined, want_used) == 0,
	    "rewrite('%s') used '%s', want '%s'", in, joined, want_used);
	strv_all_vars(&all, pm);
	back = pathmap_expand(pm, &all, out, err, sizeof(err));
	ck_assert_msg(back != NULL, "expand('%s'): %s", out, err);
	ck_assert_msg(strcmp(back, in) == 0,
	    "round trip of '%s' gave '%s' (via '%s')", in, back, out);
	free(back);
	free(out);
	strv_free(&used);
	strv_free(&all);
}

START_TEST(test_boundaries)
{
	static const char *const pairs[] = { "Media", "/media", NULL };
	static const struct {
		const char	*in;
		const char	*out;
		const char	*used;
	} t[] = {
		{ "/media/x", "${Media}/x", "Media" },
		{ "/media", "${Media}", "Media" },
		{ "/media/", "${Media}/", "Media" },
		{ "file:/media/x", "file:${Media}/x", "Media" },
		{ "concat:/media/a|/media/b", "concat:${Media}/a|${Media}/b",
		    "Media" },
		{ "subtitles=f='/media/x.mkv':fontsdir='/media/fonts'",
		    "subtitles=f='${Media}/x.mkv':fontsdir='${Media}/fonts'",
		    "Media" },
		{ "-opt=/media/x", "-opt=${Media}/x", "Media" },
		{ "a /media/x", "a ${Media}/x", "Media" },
		{ "movie=\"/media/x\"", "movie=\"${Media}/x\"", "Media" },
		{ "/media:x", "${Media}:x", "Media" },
		{ "/media/电视剧/x.mkv", "${Media}/电视剧/x.mkv", "Media" },
		/* Not on a directory boundary, or not a local path. */
		{ "/mediax/y", "/mediax/y", "" },
		{ "/mnt/media/x", "/mnt/media/x", "" },
		{ "http://host/media/x", "http://host/media/x", "" },
		{ "http://media/x", "http://media/x", "" },
		{ "/dev/dri/renderD128", "/dev/dri/renderD128", "" },
		{ "vaapi=va:/dev/dri/renderD128", "vaapi=va:/dev/dri/renderD128",
		    "" },
		{ "relative/media/x", "relative/media/x", "" },
		{ "media/x", "media/x", "" },
		{ "./media/x", "./media/x", "" },
		{ "/media.mkv", "/media.mkv", "" },
		{ "/medi", "/medi", "" },
		{ "/", "/", "" },
		{ "", "", "" },
		{ "-i", "-i", "" },
	};
	struct pathmap	pm;
	size_t		i;

	ck_assert_msg(pm_make(&pm, pairs) == 0, "%s", err);
	for (i = 0; i < nitems(t); i++)
		check_rewrite(&pm, t[i].in, t[i].out, t[i].used);
	pathmap_free(&pm);
}
END_TEST

/*
 * An argument that ends inside a root ("/medi" for /media) must not be
 * read past its terminating NUL.  Each one is placed at the very end of a
 * page followed by an inaccessible page, and rewritten in a child so that
 * a fault fails this test instead of the whole run.
 */
START_TEST(test_rewrite_bounds)
{
	static const char *const pairs[] = { "Media", "/media",
	    "Lib", "/var/lib/jellyfin/metadata", NULL };
	static const char *const args[] = { "/", "/m", "/medi", "x:/medi",
	    "/var/lib/jelly", "concat:/media/a|/var/lib/j" };
	struct pathmap	 pm;
	long		 pg = sysconf(_SC_PAGESIZE);
	char		*map, *arg, *out;
	size_t		 i, len;
	pid_t		 pid;
	int		 status;

	ck_assert_msg(pm_make(&pm, pairs) == 0, "%s", err);
	map = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert(map != MAP_FAILED);
	ck_assert(mprotect(map + pg, (size_t)pg, PROT_NONE) == 0);
	for (i = 0; i < nitems(args); i++) {
		len = strlen(args[i]);
		arg = map + pg - (len + 1);
		memcpy(arg, args[i], len + 1);
		if ((pid = fork()) == 0) {
			out = pathmap_rewrite(&pm, arg, NULL);
			status = strncmp(out, "concat:${Media}/a|", 18) == 0 ||
			    strcmp(out, args[i]) == 0 ? 0 : 2;
			free(out);
			_exit(status);
		}
		ck_assert(pid > 0);
		ck_assert(waitpid(pid, &status, 0) == pid);
		ck_assert_msg(!WIFSIGNALED(status), "rewrite('%s') read past "
		    "the end of the argument (signal %d)", args[i],
		    WTERMSIG(status));
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "rewrite('%s'): child exit %d", args[i],
		    WEXITSTATUS(status));
	}
	munmap(map, (size_t)pg * 2);
	pathmap_free(&pm);
}
END_TEST

START_TEST(test_used_accumulates)
{
	static const char *const pairs[] = { "Media", "/media",
	    "Video", "/video", NULL };
	struct pathmap	 pm;
	struct strv	 used = { 0 };
	char		*s;

	ck_assert_msg(pm_make(&pm, pairs) == 0, "%s", err);
	s = pathmap_rewrite(&pm, "/video/a", &used);
	free(s);
	s = pathmap_rewrite(&pm, "concat:/media/a|/video/b|/media/c", &used);
	free(s);
	s = pathmap_rewrite(&pm, "-nothing", &used);
	free(s);
	ck_assert_uint_eq(used.n, 2);
	ck_assert_str_eq(used.v[0], "Video");
	ck_assert_str_eq(used.v[1], "Media");
	/* used may be NULL. */
	s = pathmap_rewrite(&pm, "/media/z", NULL);
	ck_assert_str_eq(s, "${Media}/z");
	free(s);
	strv_free(&used);
	pathmap_free(&pm);
}
END_TEST

START_TEST(test_longest_first)
{
	/* The same roots given in both orders: the result must not depend
	 * on the order of the configuration. */
	static const char *const a[] = { "Media", "/media", "TV", "/media/tv",
	    "Kids", "/media/tv/kids", NULL };
	static const char *const b[] = { "Kids", "/media/tv/kids",
	    "TV", "/media/tv", "Media", "/media", NULL };
	static const char *const c[] = { "TV", "/media/tv", "Media", "/media",
	    "Kids", "/media/tv/kids", NULL };
	const char *const *orders[] = { a, b, c };
	struct pathmap	pm;
	size_t		i;

	for (i = 0; i < nitems(orders); i++) {
		ck_assert_msg(pm_make(&pm, orders[i]) == 0, "%s", err);
		check_rewrite(&pm, "/media/tv/show.mkv", "${TV}/show.mkv",
		    "TV");
		check_rewrite(&pm, "/media/tv", "${TV}", "TV");
		check_rewrite(&pm, "/media/tv/kids/a", "${Kids}/a", "Kids");
		check_rewrite(&pm, "/media/tv/kidsx/a", "${TV}/kidsx/a", "TV");
		check_rewrite(&pm, "/media/tvshows/x", "${Media}/tvshows/x",
		    "Media");
		check_rewrite(&pm, "/media/x", "${Media}/x", "Media");
		check_rewrite(&pm, "concat:/media/tv/a|/media/b|/media/tv/kids",
		    "concat:${TV}/a|${Media}/b|${Kids}", "TV,Media,Kids");
		pathmap_free(&pm);
	}
}
END_TEST

START_TEST(test_trailing_slash)
{
	static const char *const one[] = { "Media", "/media/", NULL };
	static const char *const many[] = { "Media", "/media///", NULL };
	const char *const *t[] = { one, many };
	struct pathmap	 pm;
	struct strv	 allowed = { 0 };
	char		*s;
	size_t		 i;

	strv_push(&allowed, "Media");
	for (i = 0; i < nitems(t); i++) {
		ck_assert_msg(pm_make(&pm, t[i]) == 0, "%s", err);
		ck_assert_str_eq(strmap_get(&pm.roots, "Media"), "/media");
		check_rewrite(&pm, "/media/x", "${Media}/x", "Media");
		check_rewrite(&pm, "/media", "${Media}", "Media");
		check_rewrite(&pm, "file:/media/a|/mediax", "file:${Media}/a|"
		    "/mediax", "Media");
		/* A worker root with a trailing slash expands cleanly. */
		s = pathmap_expand(&pm, &allowed, "${Media}/x", err,
		    sizeof(err));
		ck_assert_ptr_nonnull(s);
		ck_assert_str_eq(s, "/media/x");
		free(s);
		pathmap_free(&pm);
	}
	strv_free(&allowed);
}
END_TEST

START_TEST(test_escape)
{
	static const char *const pairs[] = { "Media", "/media", NULL };
	static const char *const odd[] = {
		"$", "$$", "${", "$${", "$$${", "${}", "${Media", "${Media}",
		"$${Media}", "${Media}/media/x", "${/media}", "$/media",
		"x${Media}y", "${Other}", "/media/${x}", "/media/$$", "}{$",
		"$$$", "a$", "${{}}", "concat:${Media}|/media/a",
	};
	struct pathmap	 pm;
	struct strv	 allowed = { 0 }, used = { 0 };
	char		*out, *back;
	size_t		 i;

	ck_assert_msg(pm_make(&pm, pairs) == 0, "%s", err);

	/* The literal text "${Media}" is escaped and comes back as text. */
	out = pathmap_rewrite(&pm, "${Media}", &used);
	ck_assert_str_eq(out, "$${Media}");
	ck_assert_uint_eq(used.n, 0);
	strv_push(&allowed, "Media");
	back = pathmap_expand(&pm, &allowed, out, err, sizeof(err));
	ck_assert_ptr_nonnull(back);
	ck_assert_str_eq(back, "${Media}");
	free(back);
	free(out);

	/* "Other" is allowed but has no root here: an escaped ${Other} must
	 * not be taken for a reference to it. */
	strv_push(&allowed, "Other");
	for (i = 0; i < nitems(odd); i++) {
		out = pathmap_rewrite(&pm, odd[i], &used);
		back = pathmap_expand(&pm, &allowed, out, err, sizeof(err));
		ck_assert_msg(back != NULL, "expand('%s') of '%s': %s", out,
		    odd[i], err);
		ck_assert_msg(strcmp(back, odd[i]) == 0,
		    "'%s' -> '%s' -> '%s'", odd[i], out, back);
		free(back);
		free(out);
	}
	strv_free(&allowed);
	strv_free(&used);
	pathmap_free(&pm);
}
END_TEST

START_TEST(test_expand)
{
	static const char *const pairs[] = { "Media", "/mnt/media",
	    "Video", "/srv/video", NULL };
	struct pathmap	 pm;
	struct strv	 none = { 0 }, media = { 0 }, both = { 0 },
			 ghost = { 0 };
	char		*s;

	ck_assert_msg(pm_make(&pm, pairs) == 0, "%s", err);
	strv_push(&media, "Media");
	strv_push(&both, "Media");
	strv_push(&both, "Video");
	strv_push(&ghost, "Media");
	strv_push(&ghost, "Ghost");

	s = pathmap_expand(&pm, &none, "${Media}/a", err, sizeof(err));
	ck_assert_str_eq(s, "${Media}/a");
	free(s);
	s = pathmap_expand(&pm, &media, "${Media}/a ${Video}/b", err,
	    sizeof(err));
	ck_assert_str_eq(s, "/mnt/media/a ${Video}/b");
	free(s);
	s = pathmap_expand(&pm, &both, "concat:${Media}/a|${Video}/b", err,
	    sizeof(err));
	ck_assert_str_eq(s, "concat:/mnt/media/a|/srv/video/b");
	free(s);
	s = pathmap_expand(&pm, &both, "${Media", err, sizeof(err));
	ck_assert_str_eq(s, "${Media");
	free(s);
	s = pathmap_expand(&pm, &both, "${MediaX}/a", err, sizeof(err));
	ck_assert_str_eq(s, "${MediaX}/a");
	free(s);
	s = pathmap_expand(&pm, &both, "", err, sizeof(err));
	ck_assert_str_eq(s, "");
	free(s);

	/* Not declared by the job: left alone even though it has no root. */
	s = pathmap_expand(&pm, &media, "${Ghost}/x", err, sizeof(err));
	ck_assert_str_eq(s, "${Ghost}/x");
	free(s);
	/* Declared but not configured here: an error naming it. */
	err[0] = '\0';
	s = pathmap_expand(&pm, &ghost, "${Media}/a|${Ghost}/x", err,
	    sizeof(err));
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err, "Ghost") != NULL, "err '%s'", err);

	strv_free(&none);
	strv_free(&media);
	strv_free(&both);
	strv_free(&ghost);
	pathmap_free(&pm);
}
END_TEST

START_TEST(test_init_errors)
{
	static const struct {
		const char	*var;
		const char	*root;
	} bad[] = {
		{ "Media", "media" },
		{ "Media", "./media" },
		{ "Media", "" },
		{ "Media", "/" },
		{ "Media", "//" },
		{ "Media", "~/media" },
		{ "", "/media" },
		{ "Me-dia", "/media" },
		{ "Me dia", "/media" },
		{ "Me.dia", "/media" },
		{ "${Media}", "/media" },
		{ "Médi", "/media" },
	};
	struct pathmap	pm;
	struct strmap	conf;
	char		name[NAME_MAX_LEN + 2];
	size_t		i;

	for (i = 0; i < nitems(bad); i++) {
		memset(&conf, 0, sizeof(conf));
		strmap_set(&conf, "Fine", "/fine");
		strmap_set(&conf, bad[i].var, bad[i].root);
		err[0] = '\0';
		ck_assert_msg(pathmap_init(&pm, &conf, err, sizeof(err)) == -1,
		    "'%s': '%s' accepted", bad[i].var, bad[i].root);
		ck_assert_msg(err[0] != '\0', "no error text for '%s': '%s'",
		    bad[i].var, bad[i].root);
		strmap_free(&conf);
	}
	/* Variable names are bounded like every other name. */
	memset(name, 'V', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';		/* NAME_MAX_LEN + 1 */
	memset(&conf, 0, sizeof(conf));
	strmap_set(&conf, name, "/media");
	ck_assert(pathmap_init(&pm, &conf, err, sizeof(err)) == -1);
	strmap_free(&conf);
	name[NAME_MAX_LEN] = '\0';
	memset(&conf, 0, sizeof(conf));
	strmap_set(&conf, name, "/x");
	strmap_set(&conf, "Media", "/media");
	strmap_set(&conf, "_9", "/a b");
	ck_assert_msg(pathmap_init(&pm, &conf, err, sizeof(err)) == 0, "%s",
	    err);
	strmap_free(&conf);
	ck_assert_uint_eq(pm.roots.n, 3);
	check_rewrite(&pm, "/a b/c", "${_9}/c", "_9");
	pathmap_free(&pm);

	/* An empty map is fine and rewrites nothing. */
	memset(&conf, 0, sizeof(conf));
	ck_assert(pathmap_init(&pm, &conf, err, sizeof(err)) == 0);
	check_rewrite(&pm, "/media/x", "/media/x", "");
	pathmap_free(&pm);

	ck_assert(pathmap_var_valid("Media_2"));
	ck_assert(!pathmap_var_valid(""));
	ck_assert(!pathmap_var_valid("a/b"));
}
END_TEST

/* ---- the corpus ---- */

/* Roots chosen by reading the corpus: its libraries and Jellyfin's data
 * directories; /dev is deliberately not mapped.  /media/Movies nests in
 * /media so that longest-first is exercised on real command lines. */
static const char *const corpus_roots[] = {
	"Media", "/media",
	"MediaMovies", "/media/Movies",
	"Video", "/video",
	"Movies", "/movies",
	"Music", "/Users/user/Music",
	"Config", "/config",
	"Cache", "/cache",
	"JfLib", "/var/lib/jellyfin",
	"JfCache", "/var/cache/jellyfin",
	"JfTmp", "/tmp/jellyfin",
	"JfMac", "/Users/user/Library/Application Support/jellyfin",
	NULL
};

static cJSON *
corpus_load(void)
{
	const char	*path = getenv("DFFMPEG_CORPUS");
	char		*text;
	size_t		 len;
	cJSON		*j;

	if (path == NULL || *path == '\0')
		path = CORPUS_DEFAULT;
	ck_assert_msg(file_read(path, CORPUS_MAX, &text, &len, err,
	    sizeof(err)) == 0, "corpus: %s (run from the repository root or "
	    "set DFFMPEG_CORPUS)", err);
	j = cJSON_ParseWithLength(text, len);
	free(text);
	ck_assert_msg(cJSON_IsArray(j), "%s: not a JSON array", path);
	ck_assert_int_gt(cJSON_GetArraySize(j), 0);
	return j;
}

/* The variable whose root is the longest one containing path, or NULL;
 * *rootlen gets that root's length. */
static const char *
covering_var(const char *path, size_t *rootlen)
{
	const char	*best = NULL;
	size_t		 i, len, bestlen = 0;

	for (i = 0; corpus_roots[i] != NULL; i += 2) {
		len = strlen(corpus_roots[i + 1]);
		if (strncmp(path, corpus_roots[i + 1], len) == 0 &&
		    (path[len] == '\0' || path[len] == '/') && len > bestlen) {
			best = corpus_roots[i];
			bestlen = len;
		}
	}
	*rootlen = bestlen;
	return best;
}

/* The token a mapped local path must become: ${Var} + rest. */
static char *
token_for(const char *path)
{
	const char	*var;
	size_t		 len;
	char		*t;

	if ((var = covering_var(path, &len)) == NULL)
		return NULL;
	xasprintf(&t, "${%s}%s", var, path + len);
	return t;
}

static size_t
count_in(const char *hay, const char *needle)
{
	size_t		 n = 0, len = strlen(needle);
	const char	*p = hay;

	while (len > 0 && (p = strstr(p, needle)) != NULL) {
		n++;
		p += len;
	}
	return n;
}

/* An independent oracle: the argument with each listed local path that is
 * under a mapped root replaced by its token (longest listed path first at
 * each position). */
static char *
oracle_rewrite(const char *arg, const struct strv *lp)
{
	struct buf	 out = { 0 };
	const char	*p = arg;
	char		 nul = '\0', *t;
	size_t		 i, best, bestlen;

	while (*p != '\0') {
		best = lp->n;
		bestlen = 0;
		for (i = 0; i < lp->n; i++) {
			size_t len = strlen(lp->v[i]);

			if (len > bestlen && strncmp(p, lp->v[i], len) == 0 &&
			    (t = token_for(lp->v[i])) != NULL) {
				free(t);
				best = i;
				bestlen = len;
			}
		}
		if (best < lp->n) {
			t = token_for(lp->v[best]);
			buf_add(&out, t, strlen(t));
			free(t);
			p += bestlen;
			continue;
		}
		buf_add(&out, p, 1);
		p++;
	}
	buf_add(&out, &nul, 1);
	return (char *)out.data;
}

START_TEST(test_corpus)
{
	cJSON		*corpus, *e, *a, *lpj;
	struct pathmap	 pm;
	struct strv	 all = { 0 };
	size_t		 nentries = 0, nargs = 0, nrewritten = 0, nlocal = 0;

	corpus = corpus_load();
	ck_assert_msg(pm_make(&pm, corpus_roots) == 0, "%s", err);
	strv_all_vars(&all, &pm);

	cJSON_ArrayForEach(e, corpus) {
		cJSON		*argv = cJSON_GetObjectItemCaseSensitive(e, "argv");
		const char	*src = cJSON_GetStringValue(
				    cJSON_GetObjectItemCaseSensitive(e,
				    "source"));
		struct strv	 orig = { 0 }, rew = { 0 }, used = { 0 },
				 lp = { 0 }, want_used = { 0 };
		size_t		 i, k;

		if (src == NULL)
			src = "?";
		ck_assert_msg(cJSON_IsArray(argv), "entry without argv: %s",
		    src);
		lpj = cJSON_GetObjectItemCaseSensitive(e, "local_paths");
		cJSON_ArrayForEach(a, lpj) {
			ck_assert(cJSON_IsString(a));
			strv_push(&lp, a->valuestring);
		}
		cJSON_ArrayForEach(a, argv) {
			ck_assert_msg(cJSON_IsString(a), "non-string arg: %s",
			    src);
			strv_push(&orig, a->valuestring);
		}
		for (i = 0; i < orig.n; i++) {
			char	*r, *back, *want;

			r = pathmap_rewrite(&pm, orig.v[i], &used);
			strv_push(&rew, r);
			free(r);
			/* (a) the round trip gives the argument back. */
			back = pathmap_expand(&pm, &all, rew.v[i], err,
			    sizeof(err));
			ck_assert_msg(back != NULL, "%s: expand: %s", src, err);
			ck_assert_msg(strcmp(back, orig.v[i]) == 0,
			    "%s: round trip of '%s' gave '%s'", src,
			    orig.v[i], back);
			free(back);
			/* (b, c) exactly the listed local paths change. */
			want = oracle_rewrite(orig.v[i], &lp);
			ck_assert_msg(strcmp(rew.v[i], want) == 0,
			    "%s:\n  arg  '%s'\n  got  '%s'\n  want '%s'", src,
			    orig.v[i], rew.v[i], want);
			if (strcmp(want, orig.v[i]) == 0)
				ck_assert_str_eq(rew.v[i], orig.v[i]);
			else
				nrewritten++;
			free(want);
			/* (d) device paths pass through. */
			if (strstr(orig.v[i], "/dev/") != NULL)
				ck_assert_msg(strstr(rew.v[i], "/dev/") != NULL,
				    "%s: device path rewritten: '%s'", src,
				    rew.v[i]);
			nargs++;
		}
		/* (b) no mapped local path survives verbatim, each one has its
		 * token at least as often as it occurred, and the variables
		 * used are exactly those of the mapped local paths. */
		for (k = 0; k < lp.n; k++) {
			size_t	 before = 0, after = 0, tokens = 0, len;
			char	*t = token_for(lp.v[k]);

			for (i = 0; i < orig.n; i++) {
				before += count_in(orig.v[i], lp.v[k]);
				after += count_in(rew.v[i], lp.v[k]);
				if (t != NULL)
					tokens += count_in(rew.v[i], t);
			}
			ck_assert_msg(before > 0, "%s: local path '%s' is not "
			    "in argv", src, lp.v[k]);
			if (t == NULL) {
				ck_assert_msg(after == before, "%s: unmapped "
				    "'%s' changed", src, lp.v[k]);
				continue;
			}
			ck_assert_msg(after == 0, "%s: '%s' still appears %zu "
			    "times", src, lp.v[k], after);
			ck_assert_msg(tokens >= before, "%s: '%s' occurs %zu "
			    "times but %s only %zu", src, lp.v[k], before, t,
			    tokens);
			if (!strv_contains(&want_used, covering_var(lp.v[k],
			    &len)))
				strv_push(&want_used, covering_var(lp.v[k],
				    &len));
			nlocal++;
			free(t);
		}
		ck_assert_msg(used.n == want_used.n, "%s: %zu variables used, "
		    "want %zu", src, used.n, want_used.n);
		for (k = 0; k < want_used.n; k++)
			ck_assert_msg(strv_contains(&used, want_used.v[k]),
			    "%s: %s not among the variables used", src,
			    want_used.v[k]);
		strv_free(&orig);
		strv_free(&rew);
		strv_free(&used);
		strv_free(&lp);
		strv_free(&want_used);
		nentries++;
	}
	/* The corpus must really exercise the code. */
	ck_assert_uint_ge(nentries, 5);
	ck_assert_uint_ge(nargs, 50);
	ck_assert_uint_ge(nrewritten, 10);
	ck_assert_uint_ge(nlocal, 10);
	strv_free(&all);
	pathmap_free(&pm);
	cJSON_Delete(corpus);
}
END_TEST

/* jobspec_build over the corpus entry with the most local paths. */
START_TEST(test_corpus_jobspec)
{
	cJSON		*corpus, *e, *best = NULL, *a, *j, *item;
	struct pathmap	 pm;
	struct jobspec	 js;
	struct strv	 used = { 0 }, fwd = { 0 }, all = { 0 };
	char		**argv, *s, *json;
	const char	*binary;
	int		 argc, i, most = -1;
	size_t		 k;

	corpus = corpus_load();
	cJSON_ArrayForEach(e, corpus) {
		int n = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(e,
		    "local_paths"));

		if (n > most) {
			most = n;
			best = e;
		}
	}
	ck_assert_ptr_nonnull(best);
	ck_assert_int_gt(most, 1);
	binary = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(best,
	    "binary"));
	ck_assert_ptr_nonnull(binary);
	a = cJSON_GetObjectItemCaseSensitive(best, "argv");
	argc = cJSON_GetArraySize(a);
	argv = xcalloc((size_t)argc + 1, sizeof(*argv));
	for (i = 0; i < argc; i++)
		argv[i] = cJSON_GetArrayItem(a, i)->valuestring;

	ck_assert_msg(pm_make(&pm, corpus_roots) == 0, "%s", err);
	strv_all_vars(&all, &pm);
	setenv("DFFMPEG_TEST_FWD", "va=1", 1);
	unsetenv("DFFMPEG_TEST_UNSET");
	strv_push(&fwd, "DFFMPEG_TEST_FWD");
	strv_push(&fwd, "DFFMPEG_TEST_UNSET");
	ck_assert_msg(jobspec_build(&js, &pm, binary, argc, argv,
	    "/media/Movies/x y", &fwd, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(js.binary, binary);
	ck_assert_uint_eq(js.args.n, (size_t)argc);
	for (i = 0; i < argc; i++) {
		s = pathmap_rewrite(&pm, argv[i], &used);
		ck_assert_str_eq(js.args.v[i], s);
		free(s);
		s = pathmap_expand(&pm, &all, js.args.v[i], err, sizeof(err));
		ck_assert_str_eq(s, argv[i]);
		free(s);
	}
	ck_assert_ptr_nonnull(js.cwd);
	ck_assert_str_eq(js.cwd, "${MediaMovies}/x y");
	/* paths: the variables of the arguments plus the cwd's, once. */
	if (!strv_contains(&used, "MediaMovies"))
		strv_push(&used, "MediaMovies");
	ck_assert_uint_eq(js.paths.n, used.n);
	for (k = 0; k < used.n; k++)
		ck_assert_msg(strv_contains(&js.paths, used.v[k]), "%s missing",
		    used.v[k]);
	ck_assert_uint_eq(js.env.n, 1);
	ck_assert_str_eq(strmap_get(&js.env, "DFFMPEG_TEST_FWD"), "va=1");

	/* The JSON says the same. */
	json = jobspec_json(&js, false);
	j = cJSON_Parse(json);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j,
	    "binary")), binary);
	ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "cwd")),
	    "${MediaMovies}/x y");
	item = cJSON_GetObjectItem(j, "args");
	ck_assert_int_eq(cJSON_GetArraySize(item), argc);
	for (i = 0; i < argc; i++)
		ck_assert_str_eq(cJSON_GetArrayItem(item, i)->valuestring,
		    js.args.v[i]);
	item = cJSON_GetObjectItem(j, "paths");
	ck_assert_int_eq(cJSON_GetArraySize(item), (int)js.paths.n);
	for (k = 0; k < js.paths.n; k++)
		ck_assert_str_eq(cJSON_GetArrayItem(item, (int)k)->valuestring,
		    js.paths.v[k]);
	cJSON_Delete(j);
	free(json);
	jobspec_free(&js);

	/* An unmapped cwd does not travel (the job runs in "/" on the
	 * worker); no forward list: no env. */
	ck_assert(jobspec_build(&js, &pm, binary, argc, argv, "/srv/other",
	    NULL, err, sizeof(err)) == 0);
	ck_assert_ptr_null(js.cwd);
	ck_assert_uint_eq(js.env.n, 0);
	jobspec_free(&js);

	unsetenv("DFFMPEG_TEST_FWD");
	free(argv);
	strv_free(&used);
	strv_free(&fwd);
	strv_free(&all);
	pathmap_free(&pm);
	cJSON_Delete(corpus);
}
END_TEST

START_TEST(test_jobspec_errors)
{
	static const char *const pairs[] = { "Media", "/media", NULL };
	char		 bad_utf8[] = "/media/\xff\xfe.mkv", longname[NAME_MAX_LEN + 2];
	char		*argv[] = { "-i", bad_utf8, NULL };
	char		*one[] = { "", "-i", "${Media}", NULL };
	struct pathmap	 pm;
	struct jobspec	 js;

	ck_assert_msg(pm_make(&pm, pairs) == 0, "%s", err);
	err[0] = '\0';
	ck_assert(jobspec_build(&js, &pm, "ffmpeg", 2, argv, "/media", NULL,
	    err, sizeof(err)) == -1);
	ck_assert(err[0] != '\0');
	jobspec_free(&js);

	memset(longname, 'f', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	ck_assert(jobspec_build(&js, &pm, longname, 0, argv, "/media", NULL,
	    err, sizeof(err)) == -1);
	jobspec_free(&js);

	/* An empty argument and a literal ${Media} survive. */
	ck_assert(jobspec_build(&js, &pm, "ffmpeg", 3, one, "/media", NULL,
	    err, sizeof(err)) == 0);
	ck_assert_uint_eq(js.args.n, 3);
	ck_assert_str_eq(js.args.v[0], "");
	ck_assert_str_eq(js.args.v[2], "$${Media}");
	ck_assert_str_eq(js.cwd, "${Media}");
	ck_assert_uint_eq(js.paths.n, 1);
	jobspec_free(&js);
	pathmap_free(&pm);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("paths");
	TCase	*tc = tcase_create("paths");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_boundaries);
	tcase_add_test(tc, test_rewrite_bounds);
	tcase_add_test(tc, test_used_accumulates);
	tcase_add_test(tc, test_longest_first);
	tcase_add_test(tc, test_trailing_slash);
	tcase_add_test(tc, test_escape);
	tcase_add_test(tc, test_expand);
	tcase_add_test(tc, test_init_errors);
	tcase_add_test(tc, test_corpus);
	tcase_add_test(tc, test_corpus_jobspec);
	tcase_add_test(tc, test_jobspec_errors);
	suite_add_tcase(s, tc);
	return s;
}
