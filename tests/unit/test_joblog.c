/*
 * A job's stderr on its way to the coordinator (joblog.c): lines queued,
 * status lines collapsed, segments across feeds and cut at their bound,
 * the queue's bound and its skipped count, one batch in flight at a rate,
 * batches cut at a newline, text made valid UTF-8, the rest at the end,
 * and the progress read on the way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "joblog.h"
#include "unit.h"
#include "xmalloc.h"

#define T0		100000	/* mono ms of the first batch */
#define STATUS(t)	"frame=  120 fps= 60 q=28.0 size=     256kB " \
			"time=00:00:0" t " bitrate= 436.9kbits/s " \
			"speed=2.39x    "
#define DURATION_LINE	"  Duration: 00:01:00.00, start: 0.000000, " \
			"bitrate: 1 kb/s\n"
#define LINE_LEN	1024	/* of the numbered lines below */

static void
feed(struct joblog *l, const char *s)
{
	joblog_feed(l, (const uint8_t *)s, strlen(s));
}

/* Feed lines first .. first+n-1, each LINE_LEN bytes: "0042aaa...a\n". */
static void
feed_lines(struct joblog *l, int first, int n)
{
	char	line[LINE_LEN + 1];
	int	i;

	memset(line, 'a', LINE_LEN);
	line[LINE_LEN - 1] = '\n';
	for (i = first; i < first + n; i++) {
		memcpy(line, "0000", 4);
		line[0] = (char)('0' + i / 1000 % 10);
		line[1] = (char)('0' + i / 100 % 10);
		line[2] = (char)('0' + i / 10 % 10);
		line[3] = (char)('0' + i % 10);
		joblog_feed(l, (const uint8_t *)line, LINE_LEN);
	}
}

/* The next batch, which must be exactly want with seq and skipped; it is
 * then acknowledged under the message id "m<seq>". */
static void
expect_batch(struct joblog *l, int64_t now, const char *want,
    int64_t want_seq, uint64_t want_skipped)
{
	char		*s;
	int64_t		 seq = -1;
	uint64_t	 skipped = 99;

	s = joblog_next(l, now, &seq, &skipped);
	ck_assert_msg(s != NULL, "no batch at %lld", (long long)now);
	/* Long batches are only shown in part (check's messages are
	 * bounded). */
	ck_assert_msg(strcmp(s, want) == 0, "batch %lld: %zu bytes '%.200s', "
	    "want %zu bytes '%.200s'", (long long)seq, strlen(s), s,
	    strlen(want), want);
	ck_assert_int_eq(seq, want_seq);
	ck_assert_uint_eq(skipped, want_skipped);
	free(s);
	snprintf(l->inflight_id, sizeof(l->inflight_id), "m%d", (int)seq);
	joblog_acked(l, l->inflight_id);
}

static void
expect_none(struct joblog *l, int64_t now)
{
	char		*s;
	int64_t		 seq = -1;
	uint64_t	 skipped = 99;

	s = joblog_next(l, now, &seq, &skipped);
	ck_assert_msg(s == NULL, "batch at %lld: '%.200s'", (long long)now,
	    s);
	ck_assert_int_eq(seq, -1);
	ck_assert_uint_eq(skipped, 99);
}

START_TEST(test_lines)
{
	struct joblog	l;

	joblog_init(&l);
	expect_none(&l, T0);
	feed(&l, "ffmpeg version 6.0\n");
	feed(&l, "  built with gcc 12\n\n");
	expect_batch(&l, T0, "ffmpeg version 6.0\n  built with gcc 12\n\n", 1,
	    0);
	expect_none(&l, T0 + 5000);		/* nothing queued */
	/* Segments split anywhere across feeds. */
	feed(&l, "Inp");
	feed(&l, "ut #0, ");
	feed(&l, "mov\nOut");
	expect_batch(&l, T0 + 5000, "Input #0, mov\n", 2, 0);
	feed(&l, "put #0\n");
	expect_batch(&l, T0 + 6000, "Output #0\n", 3, 0);
	joblog_free(&l);
}
END_TEST

START_TEST(test_status_collapsed)
{
	struct joblog	l;
	int64_t		seq;
	uint64_t	skipped;
	char		*s;

	joblog_init(&l);
	feed(&l, "Press [q] to stop, [?] for help\n");
	feed(&l, STATUS("1.00") "\r");
	feed(&l, STATUS("2.00") "\r" STATUS("3.00") "\r");
	ck_assert_int_eq(l.progress.out_time_ms, 3000);
	/* The status line waits for the next line that is not one. */
	expect_batch(&l, T0, "Press [q] to stop, [?] for help\n", 1, 0);
	feed(&l, STATUS("4.00") "\r[aac @ 0x1] Queue input is backward\n");
	ck_assert_int_eq(l.progress.out_time_ms, 4000);
	expect_batch(&l, T0 + 1000, STATUS("4.00") "\r"
	    "[aac @ 0x1] Queue input is backward\n", 2, 0);

	/* A status line split across feeds updates progress when whole. */
	feed(&l, "frame=  150 fps= 60 q=28.0 size=     300kB ti");
	ck_assert_int_eq(l.progress.frame, 120);
	feed(&l, "me=00:00:05.00 bitrate= 491.5kbits/s speed=2.4x    \r");
	ck_assert_int_eq(l.progress.frame, 150);
	ck_assert_int_eq(l.progress.out_time_ms, 5000);

	/* The final status line ends in '\n' and replaces the pending one. */
	feed(&l, STATUS("6.00") "\r");
	feed(&l, "frame=  200 fps= 60 q=-1.0 Lsize=     400kB "
	    "time=00:00:08.00 bitrate= 409.6kbits/s speed=2.5x    \n");
	ck_assert_int_eq(l.progress.frame, 200);
	ck_assert_int_eq(l.progress.out_time_ms, 8000);
	expect_batch(&l, T0 + 2000, "frame=  200 fps= 60 q=-1.0 Lsize=     "
	    "400kB time=00:00:08.00 bitrate= 409.6kbits/s speed=2.5x    \n", 3,
	    0);
	s = joblog_rest(&l, &seq, &skipped);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(seq, 3);

	/* "\r\n" reads as it was written. */
	feed(&l, "dos line\r\n");
	expect_batch(&l, T0 + 3000, "dos line\r\n", 4, 0);
	joblog_free(&l);
}
END_TEST

START_TEST(test_progress_duration)
{
	struct joblog	l;

	joblog_init(&l);
	ck_assert(!l.progress.known);
	feed(&l, "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'in.mp4':\n");
	feed(&l, DURATION_LINE);
	ck_assert_int_eq(l.progress.duration_ms, 60000);
	ck_assert_double_eq(progress_percent(&l.progress), -1);
	feed(&l, STATUS("4.80") "\r");
	ck_assert(l.progress.known);
	ck_assert_int_eq(l.progress.frame, 120);
	ck_assert_double_eq_tol(l.progress.fps, 60, 1e-9);
	ck_assert_double_eq_tol(l.progress.speed, 2.39, 1e-9);
	ck_assert_int_eq(l.progress.out_time_ms, 4800);
	ck_assert_double_eq_tol(progress_percent(&l.progress), 8, 1e-9);
	/* Only the first input's Duration counts. */
	feed(&l, "  Duration: 00:02:00.00, start: 0.000000, bitrate: 1 kb/s\n");
	ck_assert_int_eq(l.progress.duration_ms, 60000);
	/* Audio only: no frame or fps. */
	feed(&l, "size=     128kB time=00:00:09.00 bitrate= 131.1kbits/s "
	    "speed=  16x\r");
	ck_assert_int_eq(l.progress.out_time_ms, 9000);
	ck_assert_double_eq_tol(l.progress.speed, 16, 1e-9);
	ck_assert_double_eq_tol(progress_percent(&l.progress), 15, 1e-9);
	joblog_free(&l);
}
END_TEST

START_TEST(test_runaway_segment)
{
	struct joblog	 l;
	char		*big, *s, *want;
	int64_t		 seq;
	uint64_t	 skipped;

	joblog_init(&l);
	big = xmalloc(JOBLOG_LINE_MAX + 11);
	memset(big, 'x', JOBLOG_LINE_MAX + 10);
	big[JOBLOG_LINE_MAX + 10] = '\0';
	/* No terminator yet: the first JOBLOG_LINE_MAX bytes are a segment. */
	feed(&l, big);
	big[JOBLOG_LINE_MAX] = '\0';
	expect_batch(&l, T0, big, 1, 0);
	s = joblog_rest(&l, &seq, &skipped);
	ck_assert_str_eq(s, "xxxxxxxxxx");
	ck_assert_int_eq(seq, 1);
	ck_assert_uint_eq(skipped, 0);
	free(s);

	/* The rest of a cut segment, then its terminator. */
	memset(big, 'y', JOBLOG_LINE_MAX);
	feed(&l, "yyy");
	feed(&l, big);
	feed(&l, "!\n");
	xasprintf(&want, "yyy%s!\n", big);
	expect_batch(&l, T0 + 1000, want, 2, 0);
	free(want);

	/* A line of exactly JOBLOG_LINE_MAX bytes is not cut. */
	memset(big, 'z', JOBLOG_LINE_MAX - 1);
	big[JOBLOG_LINE_MAX - 1] = '\n';
	feed(&l, big);
	expect_batch(&l, T0 + 2000, big, 3, 0);
	free(big);
	joblog_free(&l);
}
END_TEST

START_TEST(test_rate_and_inflight)
{
	struct joblog	 l;
	char		*s;
	int64_t		 seq;
	uint64_t	 skipped;

	joblog_init(&l);
	feed(&l, "one\n");
	s = joblog_next(&l, T0, &seq, &skipped);
	ck_assert_str_eq(s, "one\n");
	ck_assert_int_eq(seq, 1);
	free(s);
	snprintf(l.inflight_id, sizeof(l.inflight_id), "msg-1");

	/* In flight: nothing else, however long it takes. */
	feed(&l, "two\n");
	expect_none(&l, T0 + 60000);
	joblog_acked(&l, "msg-2");		/* not the one in flight */
	expect_none(&l, T0 + 60000);
	joblog_acked(&l, "msg-1");
	expect_batch(&l, T0 + 60000, "two\n", 2, 0);

	/* At most one every JOBLOG_INTERVAL_MS... */
	feed(&l, "three\n");
	expect_none(&l, T0 + 60000 + JOBLOG_INTERVAL_MS - 1);
	expect_batch(&l, T0 + 60000 + JOBLOG_INTERVAL_MS, "three\n", 3, 0);
	/* ... unless a whole batch is waiting. */
	feed_lines(&l, 0, JOBLOG_BATCH_MAX / LINE_LEN);
	s = joblog_next(&l, T0 + 60000 + JOBLOG_INTERVAL_MS + 1, &seq,
	    &skipped);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(strlen(s), JOBLOG_BATCH_MAX);
	ck_assert_int_eq(seq, 4);
	free(s);
	/* An acknowledgement carries the id the caller recorded. */
	snprintf(l.inflight_id, sizeof(l.inflight_id), "msg-4");
	feed(&l, "five\n");
	joblog_acked(&l, "m4");
	expect_none(&l, T0 + 70000);
	joblog_acked(&l, "msg-4");
	expect_batch(&l, T0 + 70000, "five\n", 5, 0);
	joblog_free(&l);
}
END_TEST

START_TEST(test_batch_cut_at_newline)
{
	struct joblog	 l;
	char		*s;
	int64_t		 seq;
	uint64_t	 skipped;
	size_t		 i;

	joblog_init(&l);
	/* 40 lines of 1000 bytes: a batch takes the 32 whole lines. */
	for (i = 0; i < 40; i++) {
		char	line[1001];

		memset(line, 'a' + (int)(i % 26), 999);
		line[999] = '\n';
		line[1000] = '\0';
		feed(&l, line);
	}
	s = joblog_next(&l, T0, &seq, &skipped);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(strlen(s), 32000);
	ck_assert_int_eq(s[31999], '\n');
	ck_assert_int_eq(s[31998], 'a' + 31 % 26);
	ck_assert_int_eq(seq, 1);
	free(s);
	snprintf(l.inflight_id, sizeof(l.inflight_id), "m1");
	joblog_acked(&l, "m1");
	/* What is left is less than a batch: the interval applies. */
	expect_none(&l, T0 + 1);
	s = joblog_next(&l, T0 + JOBLOG_INTERVAL_MS, &seq, &skipped);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(strlen(s), 8000);
	ck_assert_int_eq(s[0], 'a' + 32 % 26);
	ck_assert_int_eq(s[7999], '\n');
	ck_assert_int_eq(seq, 2);
	free(s);
	joblog_free(&l);

	/* No newline in the first JOBLOG_BATCH_MAX bytes: cut there. */
	joblog_init(&l);
	for (i = 0; i < 5; i++) {
		char	*seg = xmalloc(JOBLOG_LINE_MAX + 1);

		memset(seg, 'A' + (int)i, JOBLOG_LINE_MAX);
		seg[JOBLOG_LINE_MAX] = '\0';
		feed(&l, seg);
		free(seg);
	}
	feed(&l, "\n");
	s = joblog_next(&l, T0, &seq, &skipped);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(strlen(s), JOBLOG_BATCH_MAX);
	ck_assert_int_eq(s[JOBLOG_BATCH_MAX - 1], 'D');
	free(s);
	joblog_free(&l);
}
END_TEST

START_TEST(test_queue_bound)
{
	struct joblog	 l;
	char		*s;
	int64_t		 seq;
	uint64_t	 skipped;
	int		 n = 300;

	joblog_init(&l);
	/* 300 KiB of lines before the first batch: the head (the first
	 * JOBLOG_HEAD_MAX bytes, 16 lines) stays, the 44 lines after it go,
	 * and the head is the first batch, alone. */
	feed_lines(&l, 0, n);
	s = joblog_next(&l, T0, &seq, &skipped);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(seq, 1);
	ck_assert_uint_eq(skipped, 0);
	ck_assert_uint_eq(strlen(s), JOBLOG_HEAD_MAX);
	ck_assert_int_eq(strncmp(s, "0000aaa", 7), 0);
	ck_assert_int_eq(strncmp(s + JOBLOG_HEAD_MAX - LINE_LEN, "0015aaa", 7),
	    0);
	free(s);
	snprintf(l.inflight_id, sizeof(l.inflight_id), "m1");
	joblog_acked(&l, "m1");
	/* The drop is said with the second batch, which goes on after it
	 * (the first line kept is 16 + 44 = 60). */
	s = joblog_next(&l, T0 + 1, &seq, &skipped);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(seq, 2);
	ck_assert_uint_eq(skipped, (uint64_t)n * LINE_LEN - JOBLOG_QUEUE_MAX);
	ck_assert_uint_eq(strlen(s), JOBLOG_BATCH_MAX);
	ck_assert_int_eq(strncmp(s, "0060aaa", 7), 0);
	free(s);
	snprintf(l.inflight_id, sizeof(l.inflight_id), "m2");
	joblog_acked(&l, "m2");

	/* Once the head is out, what is dropped is the oldest, said with the
	 * batch after the one in flight.  The queue holds lines 124..299
	 * (176 KiB); 200 KiB more is 120 lines over. */
	s = joblog_next(&l, T0 + 2, &seq, &skipped);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(seq, 3);
	ck_assert_uint_eq(skipped, 0);
	ck_assert_int_eq(strncmp(s, "0092aaa", 7), 0);
	free(s);
	feed_lines(&l, 1000, 100);
	feed_lines(&l, 2000, 100);
	expect_none(&l, T0 + 3);
	snprintf(l.inflight_id, sizeof(l.inflight_id), "m3");
	joblog_acked(&l, "m3");
	s = joblog_next(&l, T0 + 3, &seq, &skipped);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(seq, 4);
	ck_assert_uint_eq(skipped, 120 * LINE_LEN);
	ck_assert_int_eq(strncmp(s, "0244aaa", 7), 0);
	free(s);
	joblog_free(&l);
}
END_TEST

START_TEST(test_utf8)
{
	static const uint8_t	raw[] = "caf\xc3\xa9 \xff\xfe ok\x00!\xe2\x82\n"
	    "\xe2\x82\xac 5\r\n";
	struct joblog		l;

	joblog_init(&l);
	joblog_feed(&l, raw, sizeof(raw) - 1);
	expect_batch(&l, T0, "caf\xc3\xa9 ?? ok?!??\n\xe2\x82\xac 5\r\n", 1,
	    0);
	joblog_free(&l);
}
END_TEST

START_TEST(test_rest)
{
	struct joblog	 l;
	char		*s;
	int64_t		 seq = -1;
	uint64_t	 skipped = 99;

	joblog_init(&l);
	s = joblog_rest(&l, &seq, &skipped);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(seq, 0);
	ck_assert_uint_eq(skipped, 0);

	/* The queue, the last status line and the partial segment. */
	feed(&l, "shipped\n");
	s = joblog_next(&l, T0, &seq, &skipped);
	free(s);
	feed(&l, "queued\n" STATUS("1.00") "\r" STATUS("2.00") "\r");
	feed(&l, "frame=  130 fps= 60 q=28.0 size=     270kB "
	    "time=00:00:07.00 bit");
	s = joblog_rest(&l, &seq, &skipped);
	ck_assert_str_eq(s, "queued\n" STATUS("2.00") "\r"
	    "frame=  130 fps= 60 q=28.0 size=     270kB time=00:00:07.00 bit");
	ck_assert_int_eq(seq, 1);		/* the one in flight */
	ck_assert_uint_eq(skipped, 0);
	free(s);
	/* The unterminated status line counted for the progress. */
	ck_assert_int_eq(l.progress.frame, 130);
	ck_assert_int_eq(l.progress.out_time_ms, 7000);
	/* Everything was handed out. */
	s = joblog_rest(&l, &seq, &skipped);
	ck_assert_ptr_null(s);
	joblog_free(&l);

	/* Sanitized like the batches. */
	joblog_init(&l);
	joblog_feed(&l, (const uint8_t *)"a\xff\0b", 4);
	s = joblog_rest(&l, &seq, &skipped);
	ck_assert_str_eq(s, "a??b");
	ck_assert_int_eq(seq, 0);
	free(s);
	joblog_free(&l);

	/* The last JOBLOG_REST_MAX bytes; skipped counts all the others. */
	joblog_init(&l);
	feed_lines(&l, 0, 300);
	feed(&l, "end");
	s = joblog_rest(&l, &seq, &skipped);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(strlen(s), JOBLOG_REST_MAX);
	ck_assert_uint_eq(skipped, 300 * LINE_LEN + 3 - JOBLOG_REST_MAX);
	ck_assert_int_eq(seq, 0);
	/* 64 lines minus the 3 bytes of "end": line 236 from its 4th. */
	ck_assert_int_eq(strncmp(s, "6aaa", 4), 0);
	ck_assert_str_eq(s + JOBLOG_REST_MAX - 8, "aaaa\nend");
	free(s);
	joblog_free(&l);
}
END_TEST

START_TEST(test_final)
{
	struct joblog	 l;
	struct buf	 want = { 0 }, got = { 0 };
	char		 line[LINE_LEN + 1], *s;
	int64_t		 seq, last;
	uint64_t	 skipped;
	int		 i;
	static const char status[] = "frame=  1 fps=0.0 q=0.0 size=0kB "
	    "time=00:00:00.04 bitrate=N/A speed=1x    \r";

	joblog_init(&l);
	/* A batch in flight, then 100 KiB of lines, a status line and an
	 * unended segment: at the end everything goes at once, in order,
	 * whatever is in flight and whatever the time. */
	feed_lines(&l, 0, 1);
	s = joblog_next(&l, T0, &seq, &skipped);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(seq, 1);
	free(s);
	feed_lines(&l, 1, 100);
	feed(&l, status);
	feed(&l, "no newline");
	expect_none(&l, T0 + 1);
	memset(line, 'a', LINE_LEN);
	line[LINE_LEN - 1] = '\n';
	for (i = 1; i <= 100; i++) {
		line[0] = (char)('0' + i / 1000 % 10);
		line[1] = (char)('0' + i / 100 % 10);
		line[2] = (char)('0' + i / 10 % 10);
		line[3] = (char)('0' + i % 10);
		buf_add(&want, line, LINE_LEN);
	}
	buf_add(&want, status, strlen(status));
	buf_add(&want, "no newline", 10);
	last = 1;
	while ((s = joblog_final(&l, T0 + 1, &seq, &skipped)) != NULL) {
		ck_assert_int_eq(seq, last + 1);
		ck_assert_uint_eq(skipped, 0);
		ck_assert_uint_le(strlen(s), JOBLOG_BATCH_MAX);
		buf_add(&got, s, strlen(s));
		last = seq;
		free(s);
	}
	ck_assert_int_eq(last, 5);	/* 4 batches for 100 KiB and more */
	ck_assert_uint_eq(buf_used(&got), buf_used(&want));
	ck_assert(memcmp(buf_head(&got), buf_head(&want),
	    buf_used(&want)) == 0);
	/* Nothing is left for the report but the count. */
	s = joblog_rest(&l, &seq, &skipped);
	ck_assert_ptr_null(s);
	ck_assert_int_eq(seq, 5);
	ck_assert_uint_eq(skipped, 0);
	buf_free(&want);
	buf_free(&got);
	joblog_free(&l);
}
END_TEST

/* A batch without a newline to end at is cut between two characters. */
START_TEST(test_cut_between_characters)
{
	struct joblog	 l;
	char		*s, *t;
	int64_t		 seq;
	uint64_t	 skipped;
	int		 i;

	joblog_init(&l);
	feed(&l, "x");
	for (i = 0; i < 20000; i++)
		feed(&l, "\xc3\xa9");	/* é: 40 KiB in all */
	feed(&l, "\n");
	s = joblog_next(&l, T0, &seq, &skipped);
	ck_assert_ptr_nonnull(s);
	/* 1 + 2k bytes, not the 32768 that would split a character. */
	ck_assert_uint_eq(strlen(s), JOBLOG_BATCH_MAX - 1);
	ck_assert_ptr_null(strchr(s, '?'));
	snprintf(l.inflight_id, sizeof(l.inflight_id), "m1");
	joblog_acked(&l, "m1");
	t = joblog_next(&l, T0 + JOBLOG_INTERVAL_MS, &seq, &skipped);
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_null(strchr(t, '?'));
	ck_assert_uint_eq(strlen(s) + strlen(t), 1 + 40000 + 1);
	free(s);
	free(t);
	joblog_free(&l);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("joblog");
	TCase	*tc = tcase_create("joblog");

	tcase_add_test(tc, test_lines);
	tcase_add_test(tc, test_status_collapsed);
	tcase_add_test(tc, test_progress_duration);
	tcase_add_test(tc, test_runaway_segment);
	tcase_add_test(tc, test_rate_and_inflight);
	tcase_add_test(tc, test_batch_cut_at_newline);
	tcase_add_test(tc, test_queue_bound);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_rest);
	tcase_add_test(tc, test_final);
	tcase_add_test(tc, test_cut_between_characters);
	suite_add_tcase(s, tc);
	return s;
}
