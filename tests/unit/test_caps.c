/*
 * ffmpeg capabilities: parsing the listings captured from Debian 12's
 * ffmpeg 5.1 (tests/data), rejecting other text, lookups, removal,
 * matching a command line's requirements, device scanning, and one probe
 * of the real /usr/bin/ffmpeg when it is installed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#include "caps.h"
#include "ffargs.h"
#include "util.h"
#include "xmalloc.h"

#define REAL_FFMPEG	"/usr/bin/ffmpeg"

static char	*text[CAPS__COUNT], *version_text;
static struct caps c;

static char *
load(const char *what)
{
	const char	*dir = getenv("DFFMPEG_TESTDATA");
	char		*path, *t, err[256];
	size_t		 len;

	if (dir == NULL)
		dir = "tests/data";
	xasprintf(&path, "%s/ffmpeg-5.1-%s.txt", dir, what);
	ck_assert_msg(file_read(path, 1 << 20, &t, &len, err,
	    sizeof(err)) == 0, "%s", err);
	free(path);
	return t;
}

static void
setup(void)
{
	int	k;

	memset(&c, 0, sizeof(c));
	for (k = 0; k < CAPS__COUNT; k++)
		text[k] = load(caps_kind_name(k));
	version_text = load("version");
}

static void
teardown(void)
{
	int	k;

	for (k = 0; k < CAPS__COUNT; k++)
		free(text[k]);
	free(version_text);
	caps_free(&c);
}

/* Fill c from the fixtures. */
static void
parse_all(void)
{
	int	k;

	for (k = 0; k < CAPS__COUNT; k++)
		ck_assert_int_eq(caps_parse(k, text[k], &c.lists[k]), 0);
	ck_assert_int_eq(caps_parse_version(version_text, c.version,
	    sizeof(c.version)), 0);
}

static void
assert_sorted_unique(const struct strv *sv)
{
	size_t	i;

	for (i = 1; i < sv->n; i++)
		ck_assert_msg(strcmp(sv->v[i - 1], sv->v[i]) < 0,
		    "'%s' before '%s'", sv->v[i - 1], sv->v[i]);
	if (sv->n > 0)
		ck_assert_ptr_null(sv->v[sv->n]);
}

START_TEST(test_kind_names)
{
	ck_assert_str_eq(caps_kind_name(CAPS_ENCODERS), "encoders");
	ck_assert_str_eq(caps_kind_name(CAPS_DECODERS), "decoders");
	ck_assert_str_eq(caps_kind_name(CAPS_HWACCELS), "hwaccels");
	ck_assert_str_eq(caps_kind_name(CAPS_FILTERS), "filters");
	ck_assert_ptr_null(caps_kind_name(CAPS__COUNT));
}
END_TEST

START_TEST(test_parse_fixtures)
{
	static const char *const enc[] = { "libx264", "aac", "ass",
	    "h264_vaapi", "h264_qsv", "libaom-av1", "pcm_s16le", "flac",
	    /* codec names that select an encoder: "(codec h264)" */
	    "h264", "hevc" };
	static const char *const dec[] = { "h264", "hevc", "aac", "ass",
	    "h264_cuvid", "h264_qsv", "libdav1d", "av1", "subrip" };
	static const char *const flt[] = { "scale", "format", "testsrc",
	    "nullsrc", "anullsrc", "sine", "color", "hwmap", "scale_vaapi",
	    "subtitles", "setparams", "volume", "ebur128", "thumbnail",
	    "null", "anull", "buffersink" };
	static const char *const hwa[] = { "vaapi", "cuda", "qsv", "vdpau",
	    "drm", "opencl", "vulkan" };
	size_t	i;
	int	k;

	parse_all();
	ck_assert_str_eq(c.version, "5.1.9-0+deb12u1");
	for (k = 0; k < CAPS__COUNT; k++)
		assert_sorted_unique(&c.lists[k]);
	for (i = 0; i < nitems(enc); i++)
		ck_assert_msg(caps_has(&c, CAPS_ENCODERS, enc[i]), "%s", enc[i]);
	for (i = 0; i < nitems(dec); i++)
		ck_assert_msg(caps_has(&c, CAPS_DECODERS, dec[i]), "%s", dec[i]);
	for (i = 0; i < nitems(flt); i++)
		ck_assert_msg(caps_has(&c, CAPS_FILTERS, flt[i]), "%s", flt[i]);
	for (i = 0; i < nitems(hwa); i++)
		ck_assert_msg(caps_has(&c, CAPS_HWACCELS, hwa[i]), "%s", hwa[i]);
	ck_assert_uint_eq(c.lists[CAPS_HWACCELS].n, nitems(hwa));

	/* Counts from the fixtures: one per listing line, plus the codec
	 * names not listed as an encoder or decoder of their own; the
	 * filters listing has 8 lines of title and legend. */
	ck_assert_uint_eq(c.lists[CAPS_ENCODERS].n, 225 + 18);
	ck_assert_uint_eq(c.lists[CAPS_DECODERS].n, 524 + 32);
	ck_assert_uint_eq(c.lists[CAPS_FILTERS].n, 535 - 8);

	/* Legends and flags are not names. */
	ck_assert(!caps_has(&c, CAPS_ENCODERS, "V....."));
	ck_assert(!caps_has(&c, CAPS_ENCODERS, "="));
	ck_assert(!caps_has(&c, CAPS_ENCODERS, "------"));
	ck_assert(!caps_has(&c, CAPS_FILTERS, "T.."));
	ck_assert(!caps_has(&c, CAPS_FILTERS, "="));
	ck_assert(!caps_has(&c, CAPS_FILTERS, "A->A"));
	ck_assert(!caps_has(&c, CAPS_HWACCELS, "Hardware"));
	ck_assert(!caps_has(&c, CAPS_ENCODERS, "libfdk_aac"));
	ck_assert(!caps_has(&c, CAPS_ENCODERS, "h264_cuvid"));
	ck_assert(!caps_has(&c, CAPS_DECODERS, "libx264"));
}
END_TEST

START_TEST(test_parse_other_versions)
{
	struct strv	sv;

	/* Two flag columns (ffmpeg 3), CRLF line ends, a banner first. */
	ck_assert_int_eq(caps_parse(CAPS_FILTERS,
	    "ffmpeg version 3.4\r\nFilters:\r\n  T. = Timeline support\r\n"
	    "  .S = Slice threading\r\n  A = Audio input/output\r\n"
	    " T. scale            V->V       Scale the input video.\r\n"
	    " .. testsrc          |->V       Generate test pattern.\r\n",
	    &sv), 0);
	ck_assert_uint_eq(sv.n, 2);
	ck_assert_str_eq(sv.v[0], "scale");
	ck_assert_str_eq(sv.v[1], "testsrc");
	strv_free(&sv);

	ck_assert_int_eq(caps_parse(CAPS_DECODERS,
	    "Decoders:\n V..... = Video\n ------\n"
	    " VFS..D h264   H.264\n V....D h264_cuvid  CUVID (codec h264)\n"
	    " A....D mp3float  MP3 (codec mp3)\n", &sv), 0);
	ck_assert_uint_eq(sv.n, 4);
	ck_assert_str_eq(sv.v[0], "h264");
	ck_assert_str_eq(sv.v[1], "h264_cuvid");
	ck_assert_str_eq(sv.v[2], "mp3");
	ck_assert_str_eq(sv.v[3], "mp3float");
	strv_free(&sv);

	/* No hwaccels at all is a valid listing. */
	ck_assert_int_eq(caps_parse(CAPS_HWACCELS,
	    "Hardware acceleration methods:\n\n", &sv), 0);
	ck_assert_uint_eq(sv.n, 0);
	strv_free(&sv);
}
END_TEST

START_TEST(test_parse_garbage)
{
	static const char *const junk[] = {
		"", "\n", "hello world\n", "Encoders:\n", "Encoders:\n ------\n",
		"Encoders:\n ------\n V....D\n", "Decoders:\n V.... x\n",
		"Filters:\n", "Filters:\n  T.. = Timeline support\n",
		"Hardware acceleration methods", "vaapi\ncuda\n",
		"\xff\xfe\x00",
	};
	struct strv	sv;
	char		v[16];
	size_t		i;
	int		k;

	for (i = 0; i < nitems(junk); i++)
		for (k = 0; k < CAPS__COUNT; k++) {
			ck_assert_msg(caps_parse(k, junk[i], &sv) == -1,
			    "%s accepted '%s'", caps_kind_name(k), junk[i]);
			ck_assert_uint_eq(sv.n, 0);
			ck_assert_ptr_null(sv.v);
		}
	/* One kind's listing is not another's. */
	for (k = 0; k < CAPS__COUNT; k++) {
		int	j;

		for (j = 0; j < CAPS__COUNT; j++) {
			if (j == k)
				continue;
			ck_assert_msg(caps_parse(k, text[j], &sv) == -1,
			    "%s listing taken for %s", caps_kind_name(j),
			    caps_kind_name(k));
		}
	}
	ck_assert_int_eq(caps_parse(CAPS__COUNT, text[0], &sv), -1);

	ck_assert_int_eq(caps_parse_version("", v, sizeof(v)), -1);
	ck_assert_int_eq(caps_parse_version("ffmpeg version\n", v,
	    sizeof(v)), -1);
	ck_assert_int_eq(caps_parse_version(text[CAPS_ENCODERS], v,
	    sizeof(v)), -1);
	/* Too long for the buffer. */
	ck_assert_int_eq(caps_parse_version(version_text, v, 8), -1);
	ck_assert_int_eq(caps_parse_version("ffmpeg version n7.1-2 x", v,
	    sizeof(v)), 0);
	ck_assert_str_eq(v, "n7.1-2");
}
END_TEST

START_TEST(test_remove)
{
	struct strv	names = { 0 };
	size_t		n, ndec;
	const char	*first, *last;

	parse_all();
	ndec = c.lists[CAPS_DECODERS].n;
	n = c.lists[CAPS_ENCODERS].n;
	first = c.lists[CAPS_ENCODERS].v[0];
	last = c.lists[CAPS_ENCODERS].v[n - 1];
	strv_push(&names, first);
	strv_push(&names, "libx264");
	strv_push(&names, "not-an-encoder");
	strv_push(&names, last);
	strv_push(&names, "libx264");
	caps_remove(&c, CAPS_ENCODERS, &names);
	ck_assert_uint_eq(c.lists[CAPS_ENCODERS].n, n - 3);
	ck_assert(!caps_has(&c, CAPS_ENCODERS, "libx264"));
	ck_assert(!caps_has(&c, CAPS_ENCODERS, names.v[0]));
	ck_assert(!caps_has(&c, CAPS_ENCODERS, names.v[3]));
	ck_assert(caps_has(&c, CAPS_ENCODERS, "libx265"));
	/* Other kinds are untouched. */
	ck_assert_uint_eq(c.lists[CAPS_DECODERS].n, ndec);
	assert_sorted_unique(&c.lists[CAPS_ENCODERS]);
	strv_free(&names);

	/* Removing everything leaves an empty, usable list. */
	strv_push(&names, "vaapi");
	strv_push(&names, "cuda");
	strv_push(&names, "qsv");
	strv_push(&names, "vdpau");
	strv_push(&names, "drm");
	strv_push(&names, "opencl");
	strv_push(&names, "vulkan");
	caps_remove(&c, CAPS_HWACCELS, &names);
	ck_assert_uint_eq(c.lists[CAPS_HWACCELS].n, 0);
	ck_assert(!caps_has(&c, CAPS_HWACCELS, "vaapi"));
	caps_remove(&c, CAPS_HWACCELS, &names);
	strv_free(&names);
	ck_assert(!caps_has(&c, CAPS__COUNT, "libx264"));
}
END_TEST

/* caps_missing for an argument list (NULL-terminated). */
static const char *
missing(char *buf, size_t len, char *const *argv)
{
	struct ffreq	 r;
	const char	*m;
	int		 argc = 0;

	while (argv[argc] != NULL)
		argc++;
	ffargs_requirements(argc, argv, &r);
	m = caps_missing(&c, &r, buf, len);
	ffreq_free(&r);
	return m;
}

/* caps_listed: what a worker's disable lists withhold from a job. */
START_TEST(test_listed)
{
	struct caps	 dis;
	struct strv	 names = { 0 };
	struct ffreq	 r;
	char		 buf[128];
	char *const	 x264[] = { "-i", "in", "-vf", "scale=640:-2", "-c:v",
	    "libx264", "out", NULL };
	char *const	 cuda[] = { "-init_hw_device", "cuda=gpu", "-i", "in",
	    "out", NULL };

	memset(&dis, 0, sizeof(dis));
	strv_push(&names, "libx264");
	caps_set(&dis, CAPS_ENCODERS, &names);
	strv_free(&names);
	strv_push(&names, "cuda");
	caps_set(&dis, CAPS_HWACCELS, &names);
	strv_free(&names);
	ffargs_requirements(7, x264, &r);
	ck_assert_str_eq(caps_listed(&dis, &r, buf, sizeof(buf)),
	    "encoder 'libx264'");
	ffreq_free(&r);
	ffargs_requirements(5, cuda, &r);
	ck_assert_str_eq(caps_listed(&dis, &r, buf, sizeof(buf)),
	    "hardware device 'cuda'");
	ffreq_free(&r);
	/* Nothing disabled that the job needs: NULL; empty lists too. */
	ffargs_requirements(3, (char *const[]){ "-i", "in", "out", NULL }, &r);
	ck_assert_ptr_null(caps_listed(&dis, &r, buf, sizeof(buf)));
	ffreq_free(&r);
	caps_free(&dis);
	ffargs_requirements(7, x264, &r);
	ck_assert_ptr_null(caps_listed(&dis, &r, buf, sizeof(buf)));
	ffreq_free(&r);
}
END_TEST

START_TEST(test_missing)
{
	char		 buf[128], tiny[10];
	struct strv	 names = { 0 };
	char *const	 ok[] = { "-init_hw_device",
	    "vaapi=va:/dev/dri/renderD128", "-hwaccel", "vaapi",
	    "-c:v", "h264", "-i", "in.mkv", "-c:v", "h264_vaapi",
	    "-vf", "setparams=colorspace=bt709,scale_vaapi=format=nv12,"
	    "hwmap,format=nv12,subtitles=f='a.mkv',hwmap,format=vaapi",
	    "-c:a", "aac", "out.m3u8", NULL };
	char *const	 fdk[] = { "-i", "in", "-c:v", "h264_qsv", "-c:a",
	    "libfdk_aac", "-af", "volume=2", "out", NULL };
	char *const	 amf[] = { "-i", "in", "-c:v", "h264_amf", "-c:a",
	    "libfdk_aac", "out", NULL };
	char *const	 dec[] = { "-c:v", "h264_rkmpp", "-i", "in", "-c:v",
	    "h264_amf", "out", NULL };
	char *const	 npp[] = { "-i", "in", "-vf", "scale_npp=1280:720",
	    "out", NULL };
	char *const	 cuda[] = { "-hwaccel", "cuda", "-init_hw_device",
	    "qsv=hw", "-i", "in", "out", NULL };
	char *const	 qsv[] = { "-init_hw_device", "qsv=hw", "-i", "in",
	    "out", NULL };
	char *const	 alias[] = { "-i", "in", "-c:v", "hevc", "-c:a", "mp3",
	    "out", NULL };

	parse_all();
	ck_assert_ptr_null(missing(buf, sizeof(buf), ok));
	ck_assert_ptr_null(missing(buf, sizeof(buf), alias));
	ck_assert_ptr_eq(missing(buf, sizeof(buf), fdk), buf);
	ck_assert_str_eq(buf, "encoder 'libfdk_aac'");
	/* The first unmet requirement in argument order. */
	ck_assert_str_eq(missing(buf, sizeof(buf), amf),
	    "encoder 'h264_amf', which needs a working amf device");
	/* Encoders are checked before decoders. */
	ck_assert_str_eq(missing(buf, sizeof(buf), dec),
	    "encoder 'h264_amf', which needs a working amf device");
	ck_assert_str_eq(missing(buf, sizeof(buf), npp),
	    "filter 'scale_npp', which needs a working cuda device");
	ck_assert_ptr_null(missing(buf, sizeof(buf), cuda));

	strv_push(&names, "cuda");
	caps_remove(&c, CAPS_HWACCELS, &names);
	strv_free(&names);
	ck_assert_str_eq(missing(buf, sizeof(buf), cuda),
	    "a working cuda device (hwaccel 'cuda')");
	ck_assert_ptr_null(missing(buf, sizeof(buf), qsv));
	strv_push(&names, "qsv");
	caps_remove(&c, CAPS_HWACCELS, &names);
	strv_free(&names);
	ck_assert_str_eq(missing(buf, sizeof(buf), qsv),
	    "a working qsv device (hardware device 'qsv')");

	/* A decoder alone. */
	{
		char *const	d[] = { "-c:v", "h264_rkmpp", "-i", "in",
		    "out", NULL };

		ck_assert_str_eq(missing(buf, sizeof(buf), d),
		    "decoder 'h264_rkmpp', which needs a working rkmpp "
		    "device");
	}
	/* A short buffer is truncated, not overrun. */
	ck_assert_ptr_eq(missing(tiny, sizeof(tiny), npp), tiny);
	ck_assert_str_eq(tiny, "filter 's");

	/* Nothing probed: everything is missing. */
	caps_free(&c);
	ck_assert_str_eq(missing(buf, sizeof(buf), ok),
	    "encoder 'h264_vaapi', which needs a working vaapi device");
}
END_TEST

static void
touch(const char *dir, const char *name)
{
	char	*p;
	FILE	*f;

	xasprintf(&p, "%s/%s", dir, name);
	ck_assert_ptr_nonnull(f = fopen(p, "w"));
	fclose(f);
	free(p);
}

static void
rm(const char *dir, const char *name)
{
	char	*p;

	xasprintf(&p, "%s/%s", dir, name);
	ck_assert_int_eq(remove(p), 0);
	free(p);
}

START_TEST(test_scan_devices)
{
	static const char *const files[] = { "dri/renderD129",
	    "dri/renderD128", "dri/card0", "dri/by-path", "nvidia0",
	    "nvidiactl", "nvidia-uvm", "null", "video0", "card1" };
	char		 tmpl[] = "/tmp/dffmpeg-caps-XXXXXX", *dri;
	struct strv	 sv = { 0 };
	size_t		 i;

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	xasprintf(&dri, "%s/dri", tmpl);
	ck_assert_int_eq(mkdir(dri, 0700), 0);
	for (i = 0; i < nitems(files); i++)
		touch(tmpl, files[i]);

	caps_scan_devices(tmpl, &sv);
	ck_assert_uint_eq(sv.n, 6);
	{
		const char *const want[] = { "dri/card0", "dri/renderD128",
		    "dri/renderD129", "nvidia-uvm", "nvidia0", "nvidiactl" };
		char	*p;

		for (i = 0; i < nitems(want); i++) {
			xasprintf(&p, "%s/%s", tmpl, want[i]);
			ck_assert_str_eq(sv.v[i], p);
			free(p);
		}
	}
	strv_free(&sv);

	for (i = 0; i < nitems(files); i++)
		rm(tmpl, files[i]);
	ck_assert_int_eq(rmdir(dri), 0);
	free(dri);
	/* No dri directory, no nvidia nodes: nothing, and no error. */
	caps_scan_devices(tmpl, &sv);
	ck_assert_uint_eq(sv.n, 0);
	ck_assert_int_eq(rmdir(tmpl), 0);
	caps_scan_devices("/nonexistent-dffmpeg", &sv);
	ck_assert_uint_eq(sv.n, 0);
}
END_TEST

START_TEST(test_probe_real)
{
	char	err[256] = "";
	int	k;

	if (access(REAL_FFMPEG, X_OK) != 0) {
		fprintf(stderr, "test_probe_real: skipped, no %s\n",
		    REAL_FFMPEG);
		return;
	}
	ck_assert_msg(caps_probe(REAL_FFMPEG, &c, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert(c.version[0] != '\0');
	for (k = 0; k < CAPS__COUNT; k++)
		assert_sorted_unique(&c.lists[k]);
	assert_sorted_unique(&c.devices);
	ck_assert_uint_gt(c.lists[CAPS_ENCODERS].n, 10);
	ck_assert_uint_gt(c.lists[CAPS_DECODERS].n, 10);
	ck_assert_uint_gt(c.lists[CAPS_FILTERS].n, 10);
	ck_assert(caps_has(&c, CAPS_FILTERS, "null"));
	ck_assert(caps_has(&c, CAPS_FILTERS, "format"));
	ck_assert(caps_has(&c, CAPS_ENCODERS, "rawvideo"));
	ck_assert(caps_has(&c, CAPS_DECODERS, "rawvideo"));
	caps_free(&c);

	/* Looked up in PATH by name: the same binary on CI. */
	if (access("/usr/bin/ffmpeg", X_OK) == 0 && getenv("PATH") != NULL &&
	    strstr(getenv("PATH"), "/usr/bin") != NULL) {
		ck_assert_msg(caps_probe("ffmpeg", &c, err, sizeof(err)) == 0,
		    "%s", err);
		caps_free(&c);
	}
}
END_TEST

START_TEST(test_probe_fail)
{
	char	err[256];

	err[0] = '\0';
	ck_assert_int_eq(caps_probe("/nonexistent/ffmpeg", &c, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "/nonexistent/ffmpeg") != NULL, "%s", err);
	ck_assert_uint_eq(c.lists[CAPS_ENCODERS].n, 0);

	err[0] = '\0';
	ck_assert_int_eq(caps_probe("dffmpeg-no-such-binary", &c, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "not found") != NULL, "%s", err);

	/* Exits 1. */
	if (access("/bin/false", X_OK) == 0) {
		err[0] = '\0';
		ck_assert_int_eq(caps_probe("/bin/false", &c, err,
		    sizeof(err)), -1);
		ck_assert_msg(strstr(err, "exit status 1") != NULL, "%s", err);
	}
	/* Exits 0 but prints no listing. */
	if (access("/bin/echo", X_OK) == 0) {
		err[0] = '\0';
		ck_assert_int_eq(caps_probe("/bin/echo", &c, err,
		    sizeof(err)), -1);
		ck_assert_msg(strstr(err, "version") != NULL, "%s", err);
	}
	ck_assert(c.version[0] == '\0');
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("caps");
	TCase	*tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_kind_names);
	tcase_add_test(tc, test_parse_fixtures);
	tcase_add_test(tc, test_parse_other_versions);
	tcase_add_test(tc, test_parse_garbage);
	tcase_add_test(tc, test_remove);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_listed);
	tcase_add_test(tc, test_scan_devices);
	tcase_add_test(tc, test_probe_real);
	tcase_add_test(tc, test_probe_fail);
	suite_add_tcase(s, tc);
	return s;
}
