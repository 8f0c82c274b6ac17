/*
 * A job's progress (progress.c): ffmpeg's status lines for video and
 * audio, the input's Duration, -ss/-t/-to from the arguments, the percent
 * done, ffmpeg's time syntax, and the wire text and JSON members.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "progress.h"
#include "unit.h"
#include "util.h"

#define VIDEO_LINE	"frame=  120 fps= 60 q=28.0 size=     256kB " \
			"time=00:00:04.80 bitrate= 436.9kbits/s speed=2.39x    "
#define AUDIO_LINE	"size=     128kB time=00:00:08.00 " \
			"bitrate= 131.1kbits/s speed=  16x"
#define DURATION_LINE	"  Duration: 00:01:00.00, start: 0.000000, " \
			"bitrate: 1 kb/s"

static bool
line(struct progress *p, const char *s)
{
	return progress_line(p, s, strlen(s));
}

static void
duration(struct progress *p, const char *s)
{
	progress_duration(p, s, strlen(s));
}

static void
args(struct progress *p, char *const *argv)
{
	int	argc;

	for (argc = 0; argv[argc] != NULL; argc++)
		;
	progress_args(p, argc, argv);
}

START_TEST(test_init)
{
	struct progress	p;

	memset(&p, 0x55, sizeof(p));
	progress_init(&p);
	ck_assert(!p.known);
	ck_assert_int_eq(p.frame, -1);
	ck_assert_double_eq(p.fps, -1);
	ck_assert_double_eq(p.speed, -1);
	ck_assert_int_eq(p.out_time_ms, -1);
	ck_assert_int_eq(p.duration_ms, -1);
	ck_assert_int_eq(p.offset_ms, 0);
	ck_assert_int_eq(p.limit_ms, -1);
	ck_assert_double_eq(progress_percent(&p), -1);
}
END_TEST

START_TEST(test_line_video)
{
	struct progress	p;

	progress_init(&p);
	ck_assert(line(&p, VIDEO_LINE));
	ck_assert(p.known);
	ck_assert_int_eq(p.frame, 120);
	ck_assert_double_eq_tol(p.fps, 60, 1e-9);
	ck_assert_double_eq_tol(p.speed, 2.39, 1e-9);
	ck_assert_int_eq(p.out_time_ms, 4800);
	/* A status line says nothing of the input's length. */
	ck_assert_int_eq(p.duration_ms, -1);

	/* The next one replaces the values. */
	ck_assert(line(&p, "frame= 1500 fps=29.97 q=-1.0 Lsize=    1024kB "
	    "time=00:01:02.50 bitrate= 134.2kbits/s speed=1.01x"));
	ck_assert_int_eq(p.frame, 1500);
	ck_assert_double_eq_tol(p.fps, 29.97, 1e-9);
	ck_assert_double_eq_tol(p.speed, 1.01, 1e-9);
	ck_assert_int_eq(p.out_time_ms, 62500);
}
END_TEST

START_TEST(test_line_audio)
{
	struct progress	p;

	progress_init(&p);
	ck_assert(line(&p, AUDIO_LINE));
	ck_assert(p.known);
	ck_assert_int_eq(p.frame, -1);
	ck_assert_double_eq(p.fps, -1);
	ck_assert_double_eq_tol(p.speed, 16, 1e-9);
	ck_assert_int_eq(p.out_time_ms, 8000);
}
END_TEST

START_TEST(test_line_na)
{
	struct progress	p;

	progress_init(&p);
	ck_assert(line(&p, "frame=    0 fps=0.0 q=0.0 size=       0kB "
	    "time=N/A bitrate=N/A speed=N/A"));
	ck_assert(p.known);
	ck_assert_int_eq(p.frame, 0);
	ck_assert_double_eq(p.fps, 0);
	ck_assert_double_eq(p.speed, -1);
	ck_assert_int_eq(p.out_time_ms, -1);

	/* N/A speed forgets the last one; N/A time keeps the last one. */
	ck_assert(line(&p, VIDEO_LINE));
	ck_assert(line(&p, "size=N/A time=N/A bitrate=N/A speed=N/A"));
	ck_assert_double_eq(p.speed, -1);
	ck_assert_int_eq(p.out_time_ms, 4800);
	ck_assert_int_eq(p.frame, 120);

	/* A negative time (before the first packet) reads as 0. */
	ck_assert(line(&p, "size=       0kB time=-00:00:00.04 bitrate=N/A "
	    "speed=N/A"));
	ck_assert_int_eq(p.out_time_ms, 0);
}
END_TEST

START_TEST(test_line_not_status)
{
	static const char *const others[] = {
		"",
		"   ",
		"Stream mapping:",
		"  Stream #0:0 -> #0:0 (h264 (native) -> h264 (libx264))",
		DURATION_LINE,
		"[libx264 @ 0x5581] frame I:1     Avg QP:20.00  size: 1234",
		"frame=  120 fps= 60 q=28.0 size=     256kB",	/* no time= */
		"sizes=1 time=00:00:01.00",
		"Press [q] to stop, [?] for help",
		"video:1kB audio:0kB subtitle:0kB other streams:0kB "
		"global headers:0kB muxing overhead: 1.2%",
	};
	struct progress	p;
	size_t		i;

	progress_init(&p);
	for (i = 0; i < nitems(others); i++)
		ck_assert_msg(!line(&p, others[i]), "took '%s'", others[i]);
	ck_assert(!p.known);
	ck_assert_int_eq(p.frame, -1);
	ck_assert_int_eq(p.out_time_ms, -1);

	/* Only len bytes count: cut before "time=", it is no status. */
	ck_assert(!progress_line(&p, VIDEO_LINE, 46));
	ck_assert(!p.known);
}
END_TEST

START_TEST(test_duration)
{
	struct progress	p;

	progress_init(&p);
	duration(&p, "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'in.mp4':");
	ck_assert_int_eq(p.duration_ms, -1);
	duration(&p, DURATION_LINE);
	ck_assert_int_eq(p.duration_ms, 60000);
	/* The first input's only. */
	duration(&p, "  Duration: 00:02:03.45, start: 0.000000, "
	    "bitrate: 1 kb/s");
	ck_assert_int_eq(p.duration_ms, 60000);

	progress_init(&p);
	duration(&p, "  Duration: N/A, start: 0.000000, bitrate: N/A");
	ck_assert_int_eq(p.duration_ms, -1);
	duration(&p, "  Duration: 01:02:03.45, start: 0.000000, "
	    "bitrate: 1 kb/s");
	ck_assert_int_eq(p.duration_ms, 3723450);

	/* Only len bytes count. */
	progress_init(&p);
	progress_duration(&p, DURATION_LINE, 11);
	ck_assert_int_eq(p.duration_ms, -1);
}
END_TEST

START_TEST(test_args)
{
	char *const	ss_input[] = { "-ss", "10", "-i", "in.mp4", "-c",
	    "copy", "out.mp4", NULL };
	char *const	output_opts[] = { "-i", "in.mp4", "-ss", "5", "-t",
	    "00:00:20", "out.mp4", NULL };
	char *const	input_t[] = { "-t", "5", "-i", "in.mp4", "out.mp4",
	    NULL };
	char *const	two_inputs[] = { "-ss", "00:01:00", "-i", "a.mp4",
	    "-i", "b.wav", "-to", "90", "-map", "0:v", "-map", "1:a", "o.mkv",
	    NULL };
	char *const	t_and_to[] = { "-i", "a.mp4", "-t", "7", "-to", "30",
	    "o.mkv", NULL };
	char *const	bad_times[] = { "-ss", "abc", "-i", "a.mp4", "-t",
	    "-00:00:05", "o.mkv", NULL };
	struct progress	p;

	progress_init(&p);
	args(&p, ss_input);
	ck_assert_int_eq(p.offset_ms, 10000);
	ck_assert_int_eq(p.limit_ms, -1);

	/* After the last input, -ss is an output option. */
	progress_init(&p);
	args(&p, output_opts);
	ck_assert_int_eq(p.offset_ms, 0);
	ck_assert_int_eq(p.limit_ms, 20000);

	/* -t before an input limits the input, not the output. */
	progress_init(&p);
	args(&p, input_t);
	ck_assert_int_eq(p.offset_ms, 0);
	ck_assert_int_eq(p.limit_ms, -1);

	progress_init(&p);
	args(&p, two_inputs);
	ck_assert_int_eq(p.offset_ms, 60000);
	ck_assert_int_eq(p.limit_ms, 90000);

	progress_init(&p);
	args(&p, t_and_to);
	ck_assert_int_eq(p.limit_ms, 7000);

	progress_init(&p);
	args(&p, bad_times);
	ck_assert_int_eq(p.offset_ms, 0);
	ck_assert_int_eq(p.limit_ms, -1);

	/* A lone trailing option has no value. */
	progress_init(&p);
	progress_args(&p, 3, (char *const[]){ "-i", "a.mp4", "-t" });
	ck_assert_int_eq(p.limit_ms, -1);
	progress_args(&p, 0, NULL);
	ck_assert_int_eq(p.offset_ms, 0);
}
END_TEST

START_TEST(test_percent)
{
	char *const	ss_input[] = { "-ss", "10", "-i", "in.mp4", "out.mp4",
	    NULL };
	char *const	limit[] = { "-i", "in.mp4", "-t", "20", "out.mp4",
	    NULL };
	char *const	lavfi[] = { "-f", "lavfi", "-i",
	    "testsrc=size=320x240:rate=30", "-t", "5", "out.mp4", NULL };
	struct progress	p;

	/* Unknown until both a status line and a length were seen. */
	progress_init(&p);
	duration(&p, DURATION_LINE);
	ck_assert_double_eq(progress_percent(&p), -1);
	progress_init(&p);
	ck_assert(line(&p, VIDEO_LINE));
	ck_assert_double_eq(progress_percent(&p), -1);
	duration(&p, DURATION_LINE);
	ck_assert_double_eq_tol(progress_percent(&p), 8, 1e-9);

	/* A known length but no time yet. */
	progress_init(&p);
	duration(&p, DURATION_LINE);
	ck_assert(line(&p, "frame=    0 fps=0.0 q=0.0 size=       0kB "
	    "time=N/A bitrate=N/A speed=N/A"));
	ck_assert_double_eq(progress_percent(&p), -1);

	/* -ss before the input shortens what is left of it. */
	progress_init(&p);
	args(&p, ss_input);
	duration(&p, DURATION_LINE);
	ck_assert(line(&p, VIDEO_LINE));
	ck_assert_double_eq_tol(progress_percent(&p), 9.6, 1e-9);

	/* -t after the input cuts it. */
	progress_init(&p);
	args(&p, limit);
	duration(&p, DURATION_LINE);
	ck_assert(line(&p, VIDEO_LINE));
	ck_assert_double_eq_tol(progress_percent(&p), 24, 1e-9);

	/* Clipped to 100. */
	ck_assert(line(&p, "frame= 9999 fps=60 q=28.0 size=  256kB "
	    "time=00:00:25.00 bitrate= 436.9kbits/s speed=2x"));
	ck_assert_double_eq(progress_percent(&p), 100);

	/* A lavfi source has no Duration: the limit alone. */
	progress_init(&p);
	args(&p, lavfi);
	ck_assert(line(&p, "frame=   75 fps=0.0 q=28.0 size=  64kB "
	    "time=00:00:02.50 bitrate= 209.7kbits/s speed=4.9x"));
	ck_assert_double_eq_tol(progress_percent(&p), 50, 1e-9);

	/* No limit and no Duration: unknown. */
	progress_init(&p);
	ck_assert(line(&p, VIDEO_LINE));
	ck_assert_double_eq(progress_percent(&p), -1);
}
END_TEST

START_TEST(test_parse_time)
{
	static const struct {
		const char	*text;
		int64_t		 ms;
	} good[] = {
		{ "01:02:03.5", 3723500 },
		{ "00:00:04.80", 4800 },
		{ "02:03", 123000 },
		{ "90", 90000 },
		{ "0", 0 },
		{ "1.5", 1500 },
		{ "500ms", 500 },
		{ "2s", 2000 },
		{ "1.25s", 1250 },
		{ "250000us", 250 },
		{ "-00:00:01", -1000 },
		{ "-2.5", -2500 },
		{ "100:00:00", 360000000 },
	};
	static const char *const bad[] = {
		"1:60", "01:60:00", "abc", "", "1::2", "-", "--1", ":1", "1:",
		"1:2:3:4", ".5", "5x", "1:02ms", " 1", "1 ", "+1", "1,5",
		"1.5.2", "00:00:01s", "N/A",
	};
	size_t	i;
	int64_t	ms;

	for (i = 0; i < nitems(good); i++) {
		ms = 42;
		ck_assert_msg(progress_parse_time(good[i].text, &ms) == 0,
		    "refused '%s'", good[i].text);
		ck_assert_msg(ms == good[i].ms, "'%s': %lld, want %lld",
		    good[i].text, (long long)ms, (long long)good[i].ms);
	}
	for (i = 0; i < nitems(bad); i++)
		ck_assert_msg(progress_parse_time(bad[i], &ms) == -1,
		    "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(test_format_parse)
{
	struct progress	p, q;
	char		wire[PROGRESS_WIRE_MAX];

	progress_init(&p);
	duration(&p, DURATION_LINE);
	ck_assert(line(&p, VIDEO_LINE));
	progress_format(&p, wire, sizeof(wire));
	ck_assert_str_eq(wire, "frame=120 fps=60.00 speed=2.390 "
	    "out_time_ms=4800 duration_ms=60000");
	memset(&q, 0x55, sizeof(q));
	ck_assert_int_eq(progress_parse(wire, &q), 0);
	ck_assert(q.known);
	ck_assert_int_eq(q.frame, 120);
	ck_assert_double_eq_tol(q.fps, 60, 1e-9);
	ck_assert_double_eq_tol(q.speed, 2.39, 1e-9);
	ck_assert_int_eq(q.out_time_ms, 4800);
	ck_assert_int_eq(q.duration_ms, 60000);
	ck_assert_int_eq(q.offset_ms, 0);
	ck_assert_int_eq(q.limit_ms, -1);
	ck_assert_double_eq_tol(progress_percent(&q), 8, 1e-9);

	/* Audio: what is not known is left out. */
	progress_init(&p);
	ck_assert(line(&p, AUDIO_LINE));
	progress_format(&p, wire, sizeof(wire));
	ck_assert_str_eq(wire, "speed=16.000 out_time_ms=8000");
	ck_assert_int_eq(progress_parse(wire, &q), 0);
	ck_assert_int_eq(q.frame, -1);
	ck_assert_double_eq(q.fps, -1);
	ck_assert_double_eq_tol(q.speed, 16, 1e-9);
	ck_assert_int_eq(q.out_time_ms, 8000);
	ck_assert_int_eq(q.duration_ms, -1);

	/* The wire carries the output's length: after -ss, cut by -t. */
	progress_init(&p);
	duration(&p, DURATION_LINE);
	p.offset_ms = 10000;
	progress_format(&p, wire, sizeof(wire));
	ck_assert_str_eq(wire, "duration_ms=50000");
	p.limit_ms = 20000;
	progress_format(&p, wire, sizeof(wire));
	ck_assert_str_eq(wire, "duration_ms=20000");

	/* Nothing known: an empty text, which parses. */
	progress_init(&p);
	progress_format(&p, wire, sizeof(wire));
	ck_assert_str_eq(wire, "");
	ck_assert_int_eq(progress_parse("", &q), 0);
	ck_assert(q.known);
	ck_assert_int_eq(q.frame, -1);
	ck_assert_int_eq(q.out_time_ms, -1);

	/* ffmpeg prints fast rates with an exponent ("%4.3g"); the wire
	 * form never has one, and reads back. */
	progress_init(&p);
	ck_assert(line(&p, "frame= 5000 fps=1234 q=-1.0 size=    1024kB "
	    "time=00:03:20.00 bitrate=  41.9kbits/s speed=1.23e+03x    "));
	ck_assert_double_eq_tol(p.fps, 1234, 1e-9);
	ck_assert_double_eq_tol(p.speed, 1230, 1e-9);
	progress_format(&p, wire, sizeof(wire));
	ck_assert_str_eq(wire, "frame=5000 fps=1234.00 speed=1230.000 "
	    "out_time_ms=200000");
	ck_assert_int_eq(progress_parse(wire, &q), 0);
	ck_assert_double_eq_tol(q.speed, 1230, 1e-9);

	/* The largest values still fit. */
	progress_init(&p);
	p.known = true;
	p.frame = (1LL << 50) - 1;
	p.fps = 1e7;
	p.speed = 1e7;
	p.out_time_ms = 3153600000000LL;
	p.duration_ms = 3153600000000LL;
	progress_format(&p, wire, sizeof(wire));
	ck_assert_str_eq(wire, "frame=1125899906842623 fps=10000000.00 "
	    "speed=10000000.000 out_time_ms=3153600000000 "
	    "duration_ms=3153600000000");
	ck_assert_int_eq(progress_parse(wire, &q), 0);
	ck_assert_double_eq_tol(q.fps, 1e7, 1e-9);
	ck_assert_int_eq(q.frame, (1LL << 50) - 1);
	ck_assert_int_eq(q.duration_ms, 3153600000000LL);
}
END_TEST

static bool
same(const struct progress *a, const struct progress *b)
{
	return a->known == b->known && a->frame == b->frame &&
	    a->fps == b->fps && a->speed == b->speed &&
	    a->out_time_ms == b->out_time_ms &&
	    a->duration_ms == b->duration_ms &&
	    a->offset_ms == b->offset_ms && a->limit_ms == b->limit_ms;
}

START_TEST(test_parse_malformed)
{
	static const char *const bad[] = {
		"frame=120 bogus=1",
		"Frame=120",
		"frame120",
		"frame=",
		"=120",
		"frame=-1",
		"frame=1.5",
		"frame=12a",
		"frame=0x10",
		"fps=abc",
		"fps=-2",
		"fps=1e3",
		"speed=2.39x",
		"speed=nan",
		"out_time_ms=1.5",
		"out_time_ms=-5",
		"duration_ms=0",
		"frame=120  fps=60",
		" frame=120",
		"frame=120\tfps=60",
		"frame=99999999999999999999",
		"duration_ms=9999999999999999",
	};
	struct progress	q, keep;
	char		long_text[PROGRESS_WIRE_MAX + 16];
	size_t		i, n;

	progress_init(&keep);
	keep.frame = 7;
	keep.out_time_ms = 77;
	for (i = 0; i < nitems(bad); i++) {
		q = keep;
		ck_assert_msg(progress_parse(bad[i], &q) == -1, "accepted '%s'",
		    bad[i]);
		ck_assert_msg(same(&q, &keep), "'%s' touched the progress",
		    bad[i]);
	}

	/* Valid words, but one byte too long in all. */
	n = 0;
	while (n + 8 < PROGRESS_WIRE_MAX - 1)
		n += (size_t)snprintf(long_text + n, sizeof(long_text) - n,
		    "%sframe=1", n > 0 ? " " : "");
	for (; n < PROGRESS_WIRE_MAX - 1; n++)
		long_text[n] = '1';
	long_text[n] = '\0';
	ck_assert_uint_eq(strlen(long_text), PROGRESS_WIRE_MAX - 1);
	ck_assert_int_eq(progress_parse(long_text, &q), 0);
	long_text[n++] = '1';
	long_text[n] = '\0';
	q = keep;
	ck_assert_int_eq(progress_parse(long_text, &q), -1);
	ck_assert_int_eq(q.frame, 7);
}
END_TEST

static double
num(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	ck_assert_msg(cJSON_IsNumber(v), "no number '%s'", key);
	return v->valuedouble;
}

START_TEST(test_json)
{
	struct progress	 p;
	cJSON		*o;

	progress_init(&p);
	duration(&p, DURATION_LINE);
	ck_assert(line(&p, VIDEO_LINE));
	o = cJSON_CreateObject();
	progress_json(&p, o);
	ck_assert_int_eq(cJSON_GetArraySize(o), 6);
	ck_assert_double_eq(num(o, "frame"), 120);
	ck_assert_double_eq_tol(num(o, "fps"), 60, 1e-9);
	ck_assert_double_eq_tol(num(o, "speed"), 2.39, 1e-9);
	ck_assert_double_eq(num(o, "out_time_ms"), 4800);
	ck_assert_double_eq(num(o, "duration_ms"), 60000);
	ck_assert_double_eq_tol(num(o, "percent"), 8, 1e-9);
	cJSON_Delete(o);

	/* Percent to one decimal; the duration is the output's. */
	progress_init(&p);
	p.offset_ms = 30000;
	duration(&p, DURATION_LINE);
	ck_assert(line(&p, AUDIO_LINE));
	o = cJSON_CreateObject();
	progress_json(&p, o);
	ck_assert_int_eq(cJSON_GetArraySize(o), 4);
	ck_assert_ptr_null(cJSON_GetObjectItem(o, "frame"));
	ck_assert_ptr_null(cJSON_GetObjectItem(o, "fps"));
	ck_assert_double_eq_tol(num(o, "speed"), 16, 1e-9);
	ck_assert_double_eq(num(o, "out_time_ms"), 8000);
	ck_assert_double_eq(num(o, "duration_ms"), 30000);
	ck_assert_double_eq_tol(num(o, "percent"), 26.7, 1e-9);
	cJSON_Delete(o);

	/* Nothing seen: no members at all. */
	progress_init(&p);
	duration(&p, DURATION_LINE);
	o = cJSON_CreateObject();
	progress_json(&p, o);
	ck_assert_int_eq(cJSON_GetArraySize(o), 0);
	cJSON_Delete(o);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("progress");
	TCase	*tc = tcase_create("progress");

	tcase_add_test(tc, test_init);
	tcase_add_test(tc, test_line_video);
	tcase_add_test(tc, test_line_audio);
	tcase_add_test(tc, test_line_na);
	tcase_add_test(tc, test_line_not_status);
	tcase_add_test(tc, test_duration);
	tcase_add_test(tc, test_args);
	tcase_add_test(tc, test_percent);
	tcase_add_test(tc, test_parse_time);
	tcase_add_test(tc, test_format_parse);
	tcase_add_test(tc, test_parse_malformed);
	tcase_add_test(tc, test_json);
	suite_add_tcase(s, tc);
	return s;
}
