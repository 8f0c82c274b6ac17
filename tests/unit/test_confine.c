/*
 * Confinement (confine.c): the paths an argument names (whole file names,
 * file: URLs, filter options, quoted and escaped names, concat lists; not
 * network URLs, "-" or pipe:), and the check of arguments and working
 * directories against a job's roots in a real directory tree, with ".."
 * and a symbolic link that lead out, outputs that do not exist yet, and
 * the system paths ffmpeg may read.  Landlock itself is tested with real
 * jobs (t_confine).
 */
#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "confine.h"
#include "unit.h"

static char	tmp[256];

/* The paths of arg, joined with '|' after each. */
static char *
paths_of(const char *arg)
{
	static char	 s[1024];
	struct strv	 v = { 0 };
	size_t		 i, o = 0;

	confine_paths_of(arg, &v);
	s[0] = '\0';
	for (i = 0; i < v.n; i++)
		o += (size_t)snprintf(s + o, sizeof(s) - o, "%s|", v.v[i]);
	strv_free(&v);
	return s;
}

START_TEST(test_paths_of)
{
	ck_assert_str_eq(paths_of("/media/a.mkv"), "/media/a.mkv|");
	ck_assert_str_eq(paths_of("file:/media/a.mkv"), "/media/a.mkv|");
	/* What follows "file:" is the name, as ffmpeg opens it. */
	ck_assert_str_eq(paths_of("file:///media/a.mkv"), "///media/a.mkv|");
	ck_assert_str_eq(paths_of("file://etc/passwd"), "//etc/passwd|");
	ck_assert_str_eq(paths_of("./../../etc/passwd"), "./../../etc/passwd|");
	ck_assert_str_eq(paths_of("../x"), "../x|");
	ck_assert_str_eq(paths_of("out.mkv"), "");
	ck_assert_str_eq(paths_of("-"), "");
	ck_assert_str_eq(paths_of("pipe:1"), "");
	ck_assert_str_eq(paths_of("http://host/a/b.m3u8"), "");
	ck_assert_str_eq(paths_of("-i"), "");
	ck_assert_str_eq(paths_of("scale=1280:-2,setsar=1/1"), "");
	ck_assert_str_eq(paths_of("24000/1001"), "");
	/* Filter options, quoted, escaped, in lists. */
	ck_assert_str_eq(paths_of("drawtext=textfile=/etc/hostname:x=2"),
	    "/etc/hostname|");
	ck_assert_str_eq(paths_of("subtitles='/m/The Film\\: 2.srt':si=0"),
	    "/m/The Film: 2.srt|");
	ck_assert_str_eq(paths_of("subtitles=f=/m/a\\:b.srt,scale=1:1"),
	    "/m/a:b.srt|");
	ck_assert_str_eq(paths_of("concat:/m/a.ts|/etc/passwd"),
	    "/m/a.ts|/etc/passwd|");
	ck_assert_str_eq(paths_of("vaapi=va:/dev/dri/renderD128,driver=iHD"),
	    "/dev/dri/renderD128|");
	ck_assert_str_eq(paths_of("movie=../../etc/x[out]"), "../../etc/x[out]|");
	ck_assert_str_eq(paths_of("tee:[f=null]http://h/x|/tmp/y"),
	    "/tmp/y|");
	/* Escaped, after blanks, after a tee's options, after a URL. */
	ck_assert_str_eq(paths_of("movie=\\/etc/passwd"), "/etc/passwd|");
	ck_assert_str_eq(paths_of("movie= /etc/passwd"), "/etc/passwd|");
	ck_assert_str_eq(paths_of("[f=mp4]/etc/x"), "/etc/x|");
	ck_assert_str_eq(paths_of("udp://h:1/|/etc/cron.d/x"),
	    "/etc/cron.d/x|");
	/* A file name holding separators: whole, and its parts. */
	ck_assert_str_eq(paths_of("/m/a:b,c.mkv"), "/m/a:b,c.mkv|");
}
END_TEST

static void
mk(const char *rel, bool dir)
{
	char	p[PATH_MAX];
	FILE	*f;

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	if (dir) {
		ck_assert_int_eq(mkdir(p, 0755), 0);
		return;
	}
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fclose(f);
}

static int
check(const struct confine_rules *r, const char *cwd, const char *a1,
    const char *a2, char *err)
{
	char	*argv[4] = { "ffmpeg", (char *)a1, (char *)a2, NULL };

	return confine_check(r, argv, cwd, err, 256);
}

START_TEST(test_check)
{
	struct confine_rules	 r;
	struct strmap		 roots = { 0 };
	struct strv		 vars = { 0 };
	char			 media[512], p[PATH_MAX], q[PATH_MAX];
	char			 err[256];

	snprintf(tmp, sizeof(tmp), "%s/confine.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	mk("media", true);
	mk("media/in.mkv", false);
	mk("media/sub", true);
	mk("private", true);
	mk("private/x", false);
	mk("other", true);
	snprintf(media, sizeof(media), "%s/media", tmp);
	snprintf(p, sizeof(p), "%s/private", tmp);
	snprintf(q, sizeof(q), "%s/media/escape", tmp);
	ck_assert_int_eq(symlink(p, q), 0);
	strmap_set(&roots, "Media", media);
	strmap_set(&roots, "Other", tmp);	/* not declared by the job */
	strv_push(&vars, "Media");
	confine_rules_build(&r, &roots, &vars, "/usr/bin/ffmpeg", NULL, NULL);

	/* Inside: inputs, outputs that do not exist yet, a relative name. */
	snprintf(p, sizeof(p), "%s/in.mkv", media);
	snprintf(q, sizeof(q), "%s/sub/new/out.mkv", media);
	ck_assert_int_eq(check(&r, media, p, q, err), 0);
	ck_assert_int_eq(check(&r, media, "-i", "out.mkv", err), 0);
	ck_assert_int_eq(check(&r, "/", "-f", "null", err), 0);
	ck_assert_int_eq(check(&r, NULL, "-version", NULL, err), 0);
	/* What ffmpeg reads of the system, and its devices. */
	ck_assert_int_eq(check(&r, media, "drawtext=fontfile=/usr/share/x.ttf",
	    "/dev/null", err), 0);
	ck_assert_int_eq(check(&r, media, "-init_hw_device",
	    "vaapi=va:/dev/dri/renderD129", err), 0);
	ck_assert_int_eq(check(&r, media, "-i", "/dev/sda", err), -1);
	/* Out: another file, "..", a link, a root the job did not declare,
	 * a relative path from the roots' top, a working directory. */
	ck_assert_int_eq(check(&r, media, "-i", "/etc/passwd", err), -1);
	ck_assert_str_eq(err, "argument 2 names /etc/passwd, outside the "
	    "roots of its path variables");
	snprintf(p, sizeof(p), "%s/../private/x", media);
	ck_assert_int_eq(check(&r, media, "-i", p, err), -1);
	snprintf(p, sizeof(p), "%s/nothere/../../private/x", media);
	ck_assert_int_eq(check(&r, media, "-i", p, err), -1);
	snprintf(p, sizeof(p), "%s/escape/x", media);
	ck_assert_int_eq(check(&r, media, "-i", p, err), -1);
	snprintf(p, sizeof(p), "%s/private/x", tmp);
	ck_assert_int_eq(check(&r, media, "-i", p, err), -1);
	ck_assert_int_eq(check(&r, media, "-i", "../private/x", err), -1);
	snprintf(p, sizeof(p), "drawtext=textfile=%s/private/x", tmp);
	ck_assert_int_eq(check(&r, media, "-vf", p, err), -1);
	ck_assert_int_eq(check(&r, media, "-i", "sub/../../private/x", err), -1);
	ck_assert_int_eq(check(&r, media, "-i", "escape/x", err), -1);
	ck_assert_int_eq(check(&r, media, "-r", "30000/1001", err), 0);
	/* From "/": names whose first part exists there are paths. */
	ck_assert_int_eq(check(&r, "/", "-i", "etc/passwd", err), -1);
	ck_assert_int_eq(check(&r, "/", "-r", "30000/1001", err), 0);
	ck_assert_int_eq(check(&r, "/", "-c:v", "libx264", err), 0);
	/* Filters that load code. */
	ck_assert_int_eq(check(&r, media, "-af", "volume=2,ladspa=f=/x.so:p=y",
	    err), -1);
	ck_assert(strstr(err, "ladspa filter") != NULL);
	ck_assert_int_eq(check(&r, media, "-vf", "frei0r@a=filter_name=x",
	    err), -1);
	ck_assert_int_eq(check(&r, media, "-metadata", "title=frei0r and lv2",
	    err), 0);
	snprintf(p, sizeof(p), "%s/other", tmp);
	ck_assert_int_eq(check(&r, p, "-i", "x", err), -1);
	ck_assert(strstr(err, "working directory") != NULL);
	snprintf(p, sizeof(p), "%s/..", media);
	ck_assert_int_eq(check(&r, p, "-i", "x", err), -1);
	snprintf(p, sizeof(p), "%s/escape", media);
	ck_assert_int_eq(check(&r, p, "-i", "x", err), -1);

	confine_rules_free(&r);
	strmap_free(&roots);
	strv_free(&vars);
	snprintf(p, sizeof(p), "rm -rf '%s'", tmp);
	ck_assert_int_eq(system(p), 0);
}
END_TEST

START_TEST(test_modes)
{
	ck_assert_int_eq(confine_mode_parse("best-effort"), CONFINE_BEST_EFFORT);
	ck_assert_int_eq(confine_mode_parse("require"), CONFINE_REQUIRE);
	ck_assert_int_eq(confine_mode_parse("off"), CONFINE_OFF);
	ck_assert_int_eq(confine_mode_parse("on"), -1);
	ck_assert_str_eq(confine_mode_name(CONFINE_REQUIRE), "require");
	setenv("DFFMPEG_NO_LANDLOCK", "1", 1);
	ck_assert_int_eq(confine_abi(), 0);
	unsetenv("DFFMPEG_NO_LANDLOCK");
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("confine");
	TCase	*tc = tcase_create("confine");

	tcase_add_test(tc, test_paths_of);
	tcase_add_test(tc, test_check);
	tcase_add_test(tc, test_modes);
	suite_add_tcase(s, tc);
	return s;
}
