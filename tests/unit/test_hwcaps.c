/*
 * Hardware truth (hwcaps.h): the codec and filter -> device type table,
 * its agreement with the hardware the Jellyfin corpus lines initialise,
 * why a failed check failed (ffrun_reason on ffmpeg's own error texts),
 * and ffrun itself on real child processes.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "unit.h"

#include "ffargs.h"
#include "ffrun.h"
#include "hwcaps.h"
#include "util.h"
#include "xmalloc.h"

START_TEST(test_table)
{
	static const struct {
		const char	*name;
		const char	*type;
	} cases[] = {
		{ "h264_nvenc", "cuda" }, { "hevc_nvenc", "cuda" },
		{ "av1_nvenc", "cuda" }, { "h264_cuvid", "cuda" },
		{ "scale_cuda", "cuda" }, { "scale_npp", "cuda" },
		{ "hwupload_cuda", "cuda" }, { "yadif_cuda", "cuda" },
		{ "h264_vaapi", "vaapi" }, { "scale_vaapi", "vaapi" },
		{ "tonemap_vaapi", "vaapi" }, { "h264_qsv", "qsv" },
		{ "vpp_qsv", "qsv" }, { "hevc_qsv", "qsv" },
		{ "tonemap_opencl", "opencl" }, { "scale_vulkan", "vulkan" },
		{ "h264_v4l2m2m", "v4l2m2m" }, { "h264_amf", "amf" },
		{ "hevc_videotoolbox", "videotoolbox" },
		{ "scale_vt", "videotoolbox" }, { "h264_rkmpp", "rkmpp" },
		{ "libx264", NULL }, { "h264", NULL }, { "aac", NULL },
		{ "scale", NULL }, { "hwupload", NULL }, { "hwmap", NULL },
		{ "format", NULL }, { "libfdk_aac", NULL }, { "_cuda", NULL },
		{ "", NULL },
	};
	size_t	i;

	for (i = 0; i < nitems(cases); i++) {
		const char *t = hw_type_of(cases[i].name);

		if (cases[i].type == NULL)
			ck_assert_msg(t == NULL, "%s: %s", cases[i].name, t);
		else
			ck_assert_msg(t != NULL && strcmp(t, cases[i].type) == 0,
			    "%s: %s, want %s", cases[i].name, t ? t : "NULL",
			    cases[i].type);
	}
	ck_assert_str_eq(hw_kind_noun(CAPS_ENCODERS), "encoder");
	ck_assert_str_eq(hw_kind_noun(CAPS_FILTERS), "filter");
}
END_TEST

/*
 * Every hardware encoder, decoder and filter a corpus line asks for needs
 * a device type the same line initialises (-hwaccel, -init_hw_device):
 * the table reads Jellyfin's hardware lines as they are meant.  At least
 * one line must have hardware, or the test proves nothing.
 */
START_TEST(test_corpus)
{
	const char	*path = getenv("DFFMPEG_CORPUS");
	const struct strv *lists[3];
	cJSON		*corpus, *e, *av, *a;
	struct ffreq	 r;
	char		*text, err[256], **argv;
	size_t		 len, i, l, hw = 0;
	int		 argc, k;

	if (path == NULL)
		path = "tests/corpus/jellyfin-sample.json";
	ck_assert_msg(file_read(path, 4 << 20, &text, &len, err,
	    sizeof(err)) == 0, "%s", err);
	corpus = cJSON_ParseWithLength(text, len);
	free(text);
	ck_assert(cJSON_IsArray(corpus));
	cJSON_ArrayForEach(e, corpus) {
		av = cJSON_GetObjectItemCaseSensitive(e, "argv");
		ck_assert(cJSON_IsArray(av));
		argc = cJSON_GetArraySize(av);
		argv = xcalloc((size_t)argc + 1, sizeof(*argv));
		k = 0;
		cJSON_ArrayForEach(a, av)
			argv[k++] = a->valuestring;
		ffargs_requirements(argc, argv, &r);
		lists[0] = &r.encoders;
		lists[1] = &r.decoders;
		lists[2] = &r.filters;
		for (l = 0; l < nitems(lists); l++) {
			for (i = 0; i < lists[l]->n; i++) {
				const char *t = hw_type_of(lists[l]->v[i]);

				if (t == NULL)
					continue;
				hw++;
				ck_assert_msg(strv_contains(&r.hwaccels, t) ||
				    strv_contains(&r.hwdevices, t),
				    "%s needs %s, which its line does not "
				    "initialise", lists[l]->v[i], t);
			}
		}
		ffreq_free(&r);
		free(argv);
	}
	cJSON_Delete(corpus);
	ck_assert_msg(hw >= 3, "only %zu hardware names in the corpus", hw);
}
END_TEST

/* A finished run with stderr text and an exit status, as ffrun leaves it. */
static void
fake_run(struct ffrun *r, const char *err, int code)
{
	memset(r, 0, sizeof(*r));
	buf_add(&r->err, err, strlen(err));
	r->status = code << 8;		/* WIFEXITED, WEXITSTATUS code */
}

START_TEST(test_reason)
{
	static const struct {
		const char	*err;
		const char	*want;
	} cases[] = {
		/* ffmpeg 5.1 on a machine without the hardware. */
		{ "[AVHWDeviceContext @ 0x562d01ffb980] Cannot load "
		    "libcuda.so.1\n[AVHWDeviceContext @ 0x562d01ffb980] Could "
		    "not dynamically load CUDA\nDevice creation failed: -1.\n"
		    "Failed to set value 'cuda' for option 'init_hw_device': "
		    "Operation not permitted\nError parsing global options: "
		    "Operation not permitted\n", "Cannot load libcuda.so.1" },
		{ "Device creation failed: -542398533.\nFailed to set value "
		    "'vaapi' for option 'init_hw_device': Generic error in an "
		    "external library\nError parsing global options: Generic "
		    "error in an external library\n",
		    "Generic error in an external library" },
		{ "[h264_nvenc @ 0x55] OpenEncodeSessionEx failed: "
		    "unsupported device (2): (no details)\n",
		    "OpenEncodeSessionEx failed: unsupported device (2): (no "
		    "details)" },
		{ "Unknown encoder 'x'\n", "Unknown encoder 'x'" },
		{ "first\nlast line\r\n", "last line " },
		{ "", "exit status 1" },
	};
	struct ffrun	r;
	char		buf[256], tiny[8];
	size_t		i;

	for (i = 0; i < nitems(cases); i++) {
		fake_run(&r, cases[i].err, 1);
		ck_assert_str_eq(ffrun_reason(&r, buf, sizeof(buf)),
		    cases[i].want);
		ck_assert(!ffrun_ok(&r));
		ffrun_free(&r);
	}
	fake_run(&r, "Cannot\x01 do\n", 0);
	ck_assert(ffrun_ok(&r));
	ck_assert_str_eq(ffrun_reason(&r, buf, sizeof(buf)), "Cannot  do");
	ck_assert_str_eq(ffrun_reason(&r, tiny, sizeof(tiny)), "Cannot ");
	ffrun_free(&r);
}
END_TEST

START_TEST(test_run)
{
	char		*ok[] = { "/bin/sh", "-c", "printf out; printf 'e1\\ne2' "
			    ">&2; exit 3", NULL };
	char		*slow[] = { "/bin/sh", "-c", "sleep 5", NULL };
	char		*loud[] = { "/bin/sh", "-c", "head -c 100000 "
			    "/dev/zero", NULL };
	char		*chatty[] = { "/bin/sh", "-c", "head -c 100000 "
			    "/dev/zero >&2", NULL };
	char		 err[256], why[64];
	struct ffrun	 r;

	ck_assert_int_eq(ffrun("/bin/sh", ok, 5000, 1024, 1024, &r, err,
	    sizeof(err)), 0);
	ck_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 3);
	ck_assert(!ffrun_ok(&r));
	ck_assert_uint_eq(buf_used(&r.out), 3);
	ck_assert_mem_eq(buf_head(&r.out), "out", 3);
	ck_assert_str_eq(ffrun_reason(&r, why, sizeof(why)), "e2");
	ffrun_free(&r);

	ck_assert_int_eq(ffrun("/bin/sh", slow, 200, 1024, 1024, &r, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "no answer within 200 ms");
	ffrun_free(&r);

	ck_assert_int_eq(ffrun("/bin/sh", loud, 5000, 1000, 1024, &r, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "more than 1000 bytes of output");
	ffrun_free(&r);

	/* stderr is cut at its bound, and the run goes on to its end. */
	ck_assert_int_eq(ffrun("/bin/sh", chatty, 5000, 1000, 500, &r, err,
	    sizeof(err)), 0);
	ck_assert(ffrun_ok(&r));
	ck_assert_uint_eq(buf_used(&r.err), 500);
	ffrun_free(&r);
}
END_TEST

/* Which command lines the coordinator answers without a job. */
START_TEST(test_probe_args)
{
	char	*enc[] = { "-encoders" }, *hb1[] = { "-hide_banner", "-filters" };
	char	*hb2[] = { "-version", "-hide_banner" }, *two[] = { "-version",
		    "-encoders" }, *other[] = { "-codecs" }, *v[] = { "-v",
		    "error" };
	bool	 hide;

	ck_assert_int_eq(caps_output_args("ffmpeg", 1, enc, &hide),
	    CO_ENCODERS);
	ck_assert(!hide);
	ck_assert_int_eq(caps_output_args("ffmpeg", 2, hb1, &hide), CO_FILTERS);
	ck_assert(hide);
	ck_assert_int_eq(caps_output_args("ffmpeg", 2, hb2, &hide), CO_VERSION);
	ck_assert(hide);
	ck_assert_int_eq(caps_output_args("ffmpeg", 2, two, &hide), -1);
	ck_assert_int_eq(caps_output_args("ffmpeg", 1, other, &hide), -1);
	ck_assert_int_eq(caps_output_args("ffmpeg", 2, v, &hide), -1);
	ck_assert_int_eq(caps_output_args("ffmpeg", 0, enc, &hide), -1);
	ck_assert_int_eq(caps_output_args("ffprobe", 1, enc, &hide), -1);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("hwcaps");
	TCase	*tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_table);
	tcase_add_test(tc, test_corpus);
	tcase_add_test(tc, test_reason);
	tcase_add_test(tc, test_run);
	tcase_add_test(tc, test_probe_args);
	suite_add_tcase(s, tc);
	return s;
}
