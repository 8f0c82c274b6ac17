/*
 * ffmpeg command-line requirements: every entry of the Jellyfin corpus with
 * its requirements written out, then the parsing rules one by one.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "unit.h"

#include "ffargs.h"
#include "util.h"
#include "xmalloc.h"

#define MAXN	12
#define L(...)	{ __VA_ARGS__, NULL }

/* Expected requirements; each list in order of first use. */
struct want {
	const char	*enc[MAXN];
	const char	*dec[MAXN];
	const char	*hwa[MAXN];
	const char	*hwd[MAXN];
	const char	*flt[MAXN];
};

static void
check_list(const struct strv *got, const char *const *want, const char *what,
    const char *ctx)
{
	size_t	i;

	for (i = 0; want[i] != NULL; i++) {
		ck_assert_msg(i < got->n, "%s: %s: missing '%s' (got %zu)",
		    ctx, what, want[i], got->n);
		ck_assert_msg(strcmp(got->v[i], want[i]) == 0,
		    "%s: %s[%zu]: got '%s', want '%s'", ctx, what, i,
		    got->v[i], want[i]);
	}
	ck_assert_msg(got->n == i, "%s: %s: %zu names, want %zu (extra '%s')",
	    ctx, what, got->n, i, got->n > i ? got->v[i] : "");
	if (got->n > 0)
		ck_assert_ptr_null(got->v[got->n]);
}

static void
check_req(const struct ffreq *r, const struct want *w, const char *ctx)
{
	check_list(&r->encoders, w->enc, "encoders", ctx);
	check_list(&r->decoders, w->dec, "decoders", ctx);
	check_list(&r->hwaccels, w->hwa, "hwaccels", ctx);
	check_list(&r->hwdevices, w->hwd, "hwdevices", ctx);
	check_list(&r->filters, w->flt, "filters", ctx);
}

/* Parse a NULL-terminated argument list and compare with w. */
static void
expect_args(const struct want *w, ...)
{
	char		*argv[64], ctx[512];
	const char	*a;
	struct ffreq	 r;
	va_list		 ap;
	int		 argc = 0;
	size_t		 off = 0;

	va_start(ap, w);
	while ((a = va_arg(ap, const char *)) != NULL) {
		ck_assert_int_lt(argc, 63);
		argv[argc++] = (char *)a;
		off += snprintf(ctx + off, off < sizeof(ctx) ?
		    sizeof(ctx) - off : 0, "%s ", a);
		if (off >= sizeof(ctx))
			off = sizeof(ctx) - 1;
	}
	va_end(ap);
	argv[argc] = NULL;
	ffargs_requirements(argc, argv, &r);
	check_req(&r, w, ctx);
	ffreq_free(&r);
}

/* The corpus, in file order; marker is an argument of the entry. */
static const struct {
	const char	*marker;
	struct want	 want;
} corpus_want[] = {
	{ "-version", { { NULL } } },
	{ "-hwaccels", { { NULL } } },
	{ "nullsrc=s=1x1:d=10000", { .flt = L("nullsrc") } },
	/* ffprobe: not ffmpeg's syntax, but it must parse to something. */
	{ "-show_streams", { { NULL } } },
	{ "qsv=qs@va", {
		.enc = L("h264_qsv", "libfdk_aac"),
		.hwa = L("vaapi"),
		.hwd = L("vaapi", "qsv"),
		.flt = L("setparams", "scale_vaapi", "hwmap", "format",
		    "volume"),
	} },
	{ "file:/media/file.mkv", {
		.enc = L("libx264"),
		.flt = L("setparams", "scale", "format"),
	} },
	{ "h264_vaapi", {
		.enc = L("h264_vaapi"),
		.hwa = L("vaapi"),
		.hwd = L("vaapi"),
		.flt = L("setparams", "scale_vaapi", "hwmap", "format",
		    "subtitles"),
	} },
	{ "aac_at", { .enc = L("aac_at") } },
	{ "ass", { .enc = L("ass") } },
	{ "-dump_attachment:t", { { NULL } } },
	{ "image2", { .flt = L("scale", "thumbnail") } },
	{ "ebur128=framelog=verbose", { .flt = L("ebur128") } },
	{ "-show_frames", { { NULL } } },
};

static cJSON *
load_corpus(void)
{
	const char	*path = getenv("DFFMPEG_CORPUS");
	char		*text, err[256];
	size_t		 len;
	cJSON		*j;

	if (path == NULL)
		path = "tests/corpus/jellyfin-sample.json";
	ck_assert_msg(file_read(path, 4 << 20, &text, &len, err,
	    sizeof(err)) == 0, "%s", err);
	j = cJSON_ParseWithLength(text, len);
	free(text);
	ck_assert_msg(cJSON_IsArray(j), "%s: not a JSON array", path);
	return j;
}

START_TEST(test_corpus)
{
	cJSON		*corpus, *e, *argvj, *a;
	char		**argv, ctx[64];
	struct ffreq	 r;
	int		 argc, i, k = 0;
	bool		 marked;

	corpus = load_corpus();
	ck_assert_msg(cJSON_GetArraySize(corpus) == (int)nitems(corpus_want),
	    "corpus has %d entries, the test expects %zu: write the "
	    "requirements of the new ones here",
	    cJSON_GetArraySize(corpus), nitems(corpus_want));
	cJSON_ArrayForEach(e, corpus) {
		argvj = cJSON_GetObjectItemCaseSensitive(e, "argv");
		ck_assert(cJSON_IsArray(argvj));
		argc = cJSON_GetArraySize(argvj);
		argv = xcalloc(argc + 1, sizeof(*argv));
		i = 0;
		marked = false;
		cJSON_ArrayForEach(a, argvj) {
			ck_assert(cJSON_IsString(a));
			argv[i++] = a->valuestring;
			if (strcmp(a->valuestring, corpus_want[k].marker) == 0)
				marked = true;
		}
		snprintf(ctx, sizeof(ctx), "corpus entry %d", k);
		ck_assert_msg(marked, "%s lacks '%s': the corpus changed order",
		    ctx, corpus_want[k].marker);
		ffargs_requirements(argc, argv, &r);
		check_req(&r, &corpus_want[k].want, ctx);
		ffreq_free(&r);
		free(argv);
		k++;
	}
	cJSON_Delete(corpus);
}
END_TEST

START_TEST(test_decoder_before_input)
{
	struct want	w = { .enc = L("libx264"), .dec = L("h264_cuvid") };
	struct want	w2 = { .dec = L("h264_qsv", "hevc_qsv"),
			    .enc = L("hevc_qsv") };

	expect_args(&w, "-c:v", "h264_cuvid", "-i", "in.mkv", "-c:v",
	    "libx264", "out.mp4", NULL);
	expect_args(&w2, "-c:v", "h264_qsv", "-i", "a.mkv", "-vcodec",
	    "hevc_qsv", "-i", "b.mkv", "-c:v", "hevc_qsv", "out.mkv", NULL);
}
END_TEST

START_TEST(test_two_outputs)
{
	struct want	w = {
		.enc = L("libx264", "aac", "libvpx-vp9", "libopus"),
	};

	expect_args(&w, "-i", "in.mkv", "-c:v", "libx264", "-c:a", "aac",
	    "a.mp4", "-c:v", "libvpx-vp9", "-c:a", "libopus", "b.webm", NULL);
}
END_TEST

START_TEST(test_codec_spellings)
{
	struct want	w = {
		.enc = L("e1", "e2", "e3", "e4", "e5", "e6", "e7", "e8", "e9"),
	};

	expect_args(&w, "-i", "in", "-c", "e1", "-codec", "e2", "-c:v", "e3",
	    "-c:a:0", "e4", "-codec:v:0", "e5", "-vcodec", "e6", "-acodec",
	    "e7", "-scodec", "e8", "-dcodec", "e9", "out.mkv", NULL);
}
END_TEST

START_TEST(test_copy_ignored)
{
	struct want	none = { { NULL } };
	struct want	w = { .enc = L("aac") };

	expect_args(&none, "-i", "in", "-c", "copy", "out.mkv", NULL);
	expect_args(&w, "-c:v", "copy", "-i", "in", "-vcodec", "copy",
	    "-c:a", "aac", "-codec:s", "copy", "out.mkv", NULL);
}
END_TEST

START_TEST(test_filter_quoting)
{
	struct want	w1 = { .flt = L("scale", "format") };
	struct want	w2 = { .flt = L("subtitles", "hwmap") };
	struct want	w3 = { .flt = L("drawtext", "fade") };

	expect_args(&w1, "-i", "in", "-vf", "scale=trunc(min(max(iw\\,ih*a)"
	    "\\,min(1280\\,720*a))/2)*2:-2,format=yuv420p", "out", NULL);
	expect_args(&w2, "-i", "in", "-vf",
	    "subtitles=f='/media/a, b.mkv':si=0,hwmap", "out", NULL);
	/* Quotes and escapes protect ';', '[' and ']' too. */
	expect_args(&w3, "-i", "in", "-vf",
	    "drawtext=text='a;b[c]d,e':x=1\\;2 , fade=in:0:30", "out", NULL);
}
END_TEST

START_TEST(test_filter_complex)
{
	struct want	w1 = { .flt = L("scale", "format") };
	struct want	w2 = { .flt = L("split", "scale", "overlay",
			    "aresample") };
	struct want	w3 = { .flt = L("scale", "null") };

	expect_args(&w1, "-i", "in", "-filter_complex",
	    "[0:v]scale=640:-2[v];[v]format=yuv420p[out]", "-map", "[out]",
	    "out.mp4", NULL);
	expect_args(&w2, "-i", "in", "-lavfi",
	    " [0:v] split [a][b] ; [a] scale@small = 320:240 [s] ;"
	    "\n[b][s]overlay[v]", "-filter:a:0", "aresample=48000",
	    "out.mp4", NULL);
	/* A leading sws_flags is not a filter. */
	expect_args(&w3, "-i", "in", "-filter:v",
	    "sws_flags=bicubic;scale=1:1,null", "out.mp4", NULL);
}
END_TEST

START_TEST(test_filter_files_ignored)
{
	struct want	none = { { NULL } };
	struct want	w = { .enc = L("libx264") };

	expect_args(&none, "-i", "in", "-filter_complex_script", "g.txt",
	    "-filter_script:v", "f.txt", "-/vf", "v.txt", "out", NULL);
	expect_args(&w, "-filter_complex_script", "scale=1:1", "-i", "in",
	    "-c:v", "libx264", "out", NULL);
}
END_TEST

START_TEST(test_lavfi_input)
{
	struct want	w = {
		.enc = L("libx264", "aac"),
		.flt = L("testsrc", "sine", "anullsrc", "color"),
	};
	struct want	w2 = { .flt = L("color") };

	expect_args(&w, "-f", "lavfi", "-i", "testsrc=d=1:s=320x240",
	    "-f", "lavfi", "-i", "sine=f=440:d=1", "-f", "lavfi", "-i",
	    "anullsrc", "-f", "lavfi", "-i", "color=c=red[out0]",
	    "-c:v", "libx264", "-c:a", "aac", "out.mp4", NULL);
	/* -f lavfi belongs to one input only. */
	expect_args(&w2, "-f", "lavfi", "-i", "color=c=red", "-i",
	    "nullsrc.mkv", "-f", "lavfi", "out", NULL);
}
END_TEST

/* Every value-less option of ffmpeg 5-8 (ffmpeg_opt.c, opt_common.h). */
static const char *const bools[] = {
	"accurate_seek", "an", "auto_conversion_filters", "autorotate",
	"autoscale", "benchmark", "benchmark_all", "bitexact", "copy_unknown",
	"copyinkf", "copyts", "debug_ts", "display_hflip", "display_vflip",
	"dn", "dump", "find_stream_info", "fix_sub_duration",
	"fix_sub_duration_heartbeat", "force_fps", "hex", "hide_banner",
	"ignore_unknown", "n", "print_graphs", "psnr", "qphist", "re",
	"recast_media", "shortest", "sn", "start_at_zero", "stats", "stdin",
	"vn", "xerror", "y",
};
static const char *const funcs[] = { "report", "vstats" };

START_TEST(test_valueless)
{
	struct want	w = { .enc = L("libx264"), .dec = L("h264") };
	char		opt[64], noopt[64];
	size_t		i;

	for (i = 0; i < nitems(bools); i++) {
		snprintf(opt, sizeof(opt), "-%s", bools[i]);
		snprintf(noopt, sizeof(noopt), "-no%s", bools[i]);
		expect_args(&w, opt, "-c:v", "h264", "-i", "in", opt, "-c:v",
		    "libx264", "out.mp4", NULL);
		expect_args(&w, noopt, "-c:v", "h264", "-i", "in", noopt,
		    "-c:v", "libx264", "out.mp4", NULL);
		/* With a stream specifier. */
		snprintf(opt, sizeof(opt), "-%s:v", bools[i]);
		expect_args(&w, opt, "-c:v", "h264", "-i", "in", "-c:v",
		    "libx264", "out.mp4", NULL);
	}
	for (i = 0; i < nitems(funcs); i++) {
		snprintf(opt, sizeof(opt), "-%s", funcs[i]);
		expect_args(&w, opt, "-c:v", "h264", "-i", "in", "-c:v",
		    "libx264", "out.mp4", NULL);
	}
}
END_TEST

START_TEST(test_value_options)
{
	struct want	w = { .enc = L("libx264"), .dec = L("h264") };
	struct want	none = { { NULL } };

	/* "no" only negates booleans; -report and -vstats have no "no", so
	 * "-noreport" is some other option, with a value. */
	expect_args(&none, "-i", "in", "-c:v", "libx264", "-noreport",
	    "out.mp4", NULL);
	/* Unknown options and AVOptions take one value, even "-1". */
	expect_args(&w, "-sseof", "-1", "-c:v", "h264", "-i", "in",
	    "-preset", "veryfast", "-x264-params", "-c:v", "-c:v", "libx264",
	    "out.mp4", NULL);
	/* Options printed without "<arg>" by -h full still take one. */
	expect_args(&w, "-filter_threads", "2", "-vsync", "0", "-c:v", "h264",
	    "-i", "in", "-fps_mode", "passthrough", "-thread_queue_size",
	    "512", "-c:v", "libx264", "out.mp4", NULL);
	/* Informational options take (and ignore) one argument. */
	expect_args(&w, "-h", "full", "-c:v", "h264", "-i", "in", "-c:v",
	    "libx264", "out.mp4", NULL);
}
END_TEST

START_TEST(test_autorotate)
{
	struct want	w = { .enc = L("libx264") };
	struct want	w0 = { .enc = L("libx264") };

	/* ffmpeg 5/6 take a value; 7 does not. */
	expect_args(&w, "-autorotate", "0", "-i", "in", "-autoscale", "1",
	    "-c:v", "libx264", "out.mp4", NULL);
	expect_args(&w, "-autorotate", "-i", "in", "-autoscale", "-c:v",
	    "libx264", "out.mp4", NULL);
	expect_args(&w0, "-noautorotate", "-i", "in", "-noautoscale",
	    "-c:v", "libx264", "out.mp4", NULL);
}
END_TEST

START_TEST(test_special_files)
{
	struct want	w = { .enc = L("libx264", "aac", "flac") };
	struct want	w2 = { .enc = L("libx264") };

	/* "-", "pipe:1" and "" are files. */
	expect_args(&w, "-i", "-", "-c:v", "libx264", "-f", "mpegts", "-",
	    "-c:a", "aac", "pipe:1", "-c:a", "flac", "", NULL);
	/* After "--" the next argument is a file even with a dash. */
	expect_args(&w2, "-i", "in", "-c:v", "libx264", "--", "-out.mp4",
	    NULL);
	/* -dump_attachment takes the empty string as its value. */
	expect_args(&w2, "-dump_attachment:t", "", "-i", "in", "-c:v",
	    "libx264", "out", NULL);
}
END_TEST

START_TEST(test_trailing)
{
	struct want	w = { .enc = L("libx264") };
	struct want	none = { { NULL } };

	expect_args(&w, "-i", "in", "-c:v", "libx264", "out.mp4", "-c:v",
	    "libx265", NULL);
	expect_args(&none, "-c:v", NULL);
	expect_args(&none, "-i", NULL);
	expect_args(&none, "-c:v", "h264", "-i", NULL);
	expect_args(&none, NULL);
}
END_TEST

START_TEST(test_hw)
{
	struct want	w = {
		.hwa = L("cuda", "vaapi"),
		.hwd = L("vaapi", "qsv", "cuda", "opencl", "vulkan"),
	};
	struct want	w2 = { .hwd = L("vaapi", "qsv") };

	expect_args(&w,
	    "-init_hw_device", "vaapi=va:/dev/dri/renderD128,driver=iHD",
	    "-init_hw_device", "qsv=qs@va",
	    "-init_hw_device", "cuda",
	    "-init_hw_device", "cuda:0",
	    "-init_hw_device", "opencl=ocl:0.0",
	    "-init_hw_device", "vulkan,debug=1",
	    "-init_hw_device", "list",
	    "-hwaccel", "nvdec", "-i", "a",
	    "-hwaccel", "none", "-i", "b",
	    "-hwaccel", "auto", "-i", "c",
	    "-hwaccel:v", "vaapi", "-i", "d",
	    "-hwaccel", "cuvid", "-i", "e", "out", NULL);
	expect_args(&w2, "-vaapi_device", "/dev/dri/renderD128",
	    "-qsv_device", "/dev/dri/renderD128", "-i", "in", "out", NULL);
}
END_TEST

START_TEST(test_graph_odd)
{
	static const char *const odd[] = {
		"", " ", ",", ";;", "[", "]", "[[[", "]]]", "\\", "'", "=",
		"scale='unterminated", "a\\", "[in", "[a]=x", "x=[", "@",
		"scale,,format", "sws_flags=x", "sws_flags=x;", "\xff\xfe",
	};
	struct strv	sv = { 0 };
	size_t		i;

	for (i = 0; i < nitems(odd); i++)
		ffargs_graph_filters(odd[i], &sv);
	/* Only real names come out, each once. */
	for (i = 0; i < sv.n; i++)
		ck_assert_msg(strchr("[]=,;@", sv.v[i][0]) == NULL,
		    "odd name '%s'", sv.v[i]);
	ck_assert(strv_contains(&sv, "scale"));
	ck_assert(strv_contains(&sv, "format"));
	strv_free(&sv);

	ffargs_graph_filters("scale, scale ,scale@x", &sv);
	ck_assert_uint_eq(sv.n, 1);
	/* Appends to what is there. */
	ffargs_graph_filters("null", &sv);
	ck_assert_uint_eq(sv.n, 2);
	ck_assert_str_eq(sv.v[1], "null");
	strv_free(&sv);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("ffargs");
	TCase	*tc = tcase_create("core");

	tcase_add_test(tc, test_corpus);
	tcase_add_test(tc, test_decoder_before_input);
	tcase_add_test(tc, test_two_outputs);
	tcase_add_test(tc, test_codec_spellings);
	tcase_add_test(tc, test_copy_ignored);
	tcase_add_test(tc, test_filter_quoting);
	tcase_add_test(tc, test_filter_complex);
	tcase_add_test(tc, test_filter_files_ignored);
	tcase_add_test(tc, test_lavfi_input);
	tcase_add_test(tc, test_valueless);
	tcase_add_test(tc, test_value_options);
	tcase_add_test(tc, test_autorotate);
	tcase_add_test(tc, test_special_files);
	tcase_add_test(tc, test_trailing);
	tcase_add_test(tc, test_hw);
	tcase_add_test(tc, test_graph_odd);
	suite_add_tcase(s, tc);
	return s;
}
