/*
 * Background tasks (bgtask.h) on a real loop with real children: output
 * delivered once the child is gone, a failure's reason, a child that
 * sleeps past its deadline reported as a timeout and then reaped, a busy
 * key refused, the output bound, a crash, several tasks at once; and the
 * text form of a probe's caps (caps_encode/caps_decode), through a task
 * and against malformed replies.
 */
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "unit.h"

#include "bgtask.h"
#include "caps.h"
#include "util.h"
#include "xmalloc.h"

#define NTASKS	8

/* One loop for the whole file: proc.c binds its SIGCHLD event to the
 * first base it sees. */
static struct event_base	*base;
static struct bgtask_pool	*pool;

/* A task's parameters (read by the child) and result (set on the loop). */
struct task {
	int			 sleep_ms;
	size_t			 nbytes;
	int			 index;
	int			 calls;
	enum bgtask_status	 st;
	char			*out;
	size_t			 len;
	int64_t			 at;
};

static void
setup(void)
{
	base = event_base_new();
	pool = bgtask_pool_new(base);
}

static void
teardown(void)
{
	bgtask_pool_free(pool);
	event_base_free(base);
}

static void
on_done(void *arg, enum bgtask_status st, const char *out, size_t len)
{
	struct task	*t = arg;

	t->calls++;
	t->st = st;
	free(t->out);
	t->out = xmemdup(out, len + 1);
	t->len = len;
	t->at = mono_ms();
}

static void
task_clear(struct task *t)
{
	free(t->out);
	memset(t, 0, sizeof(*t));
}

/* Run the loop until cond(arg) or ms milliseconds passed. */
static bool
run_until(bool (*cond)(void *), void *arg, int ms)
{
	int64_t		end = mono_ms() + ms;
	struct timeval	tick = { 0, 10000 };

	while (!cond(arg)) {
		if (mono_ms() >= end)
			return false;
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
	return true;
}

static bool
task_done(void *arg)
{
	return ((struct task *)arg)->calls > 0;
}

static bool
all_done(void *arg)
{
	struct task	*t = arg;
	int		 i;

	for (i = 0; i < NTASKS; i++)
		if (t[i].calls == 0)
			return false;
	return true;
}

static bool
pool_empty(void *arg)
{
	(void)arg;
	return bgtask_count(pool) == 0;
}

static void
nap(int ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* No child of ours is left, reaped or not. */
static bool
no_children(void)
{
	return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD;
}

static int
work_hello(void *arg, struct buf *out)
{
	(void)arg;
	buf_add(out, "hello, loop", 11);
	return 0;
}

static int
work_fail(void *arg, struct buf *out)
{
	(void)arg;
	buf_add(out, "nope: no such thing", 19);
	return -1;
}

/* Sleep, then write "task N". */
static int
work_sleep(void *arg, struct buf *out)
{
	struct task	*t = arg;
	char		 s[32];

	nap(t->sleep_ms);
	snprintf(s, sizeof(s), "task %d", t->index);
	buf_add(out, s, strlen(s));
	return 0;
}

static int
work_bytes(void *arg, struct buf *out)
{
	struct task	*t = arg;
	size_t		 n = t->nbytes, chunk = 65536;
	char		*block = xmalloc(chunk);

	memset(block, 'x', chunk);
	while (n > 0) {
		size_t	k = n < chunk ? n : chunk;

		buf_add(out, block, k);
		n -= k;
	}
	free(block);
	return 0;
}

static int
work_crash(void *arg, struct buf *out)
{
	(void)arg;
	(void)out;
	raise(SIGTERM);
	return 0;
}

START_TEST(test_output)
{
	struct task	t = { 0 };
	char		err[256];

	ck_assert_int_eq(bgtask_start(pool, "hello", 5000, work_hello,
	    on_done, &t, err, sizeof(err)), 0);
	ck_assert(bgtask_busy(pool, "hello"));
	ck_assert_int_eq(t.calls, 0);	/* never from bgtask_start */
	ck_assert(run_until(task_done, &t, 5000));
	ck_assert_int_eq(t.st, BGTASK_OK);
	ck_assert_uint_eq(t.len, 11);
	ck_assert_str_eq(t.out, "hello, loop");
	/* Reported once the child was reaped: nothing left of it. */
	ck_assert(!bgtask_busy(pool, "hello"));
	ck_assert_uint_eq(bgtask_count(pool), 0);
	ck_assert(no_children());
	task_clear(&t);

	ck_assert_int_eq(bgtask_start(pool, "fail", 5000, work_fail,
	    on_done, &t, err, sizeof(err)), 0);
	ck_assert(run_until(task_done, &t, 5000));
	ck_assert_int_eq(t.st, BGTASK_FAILED);
	ck_assert_str_eq(t.out, "nope: no such thing");
	task_clear(&t);

	ck_assert_int_eq(bgtask_start(pool, "crash", 5000, work_crash,
	    on_done, &t, err, sizeof(err)), 0);
	ck_assert(run_until(task_done, &t, 5000));
	ck_assert_int_eq(t.st, BGTASK_ERROR);
	ck_assert(strstr(t.out, "signal 15") != NULL);
	ck_assert_int_eq(t.calls, 1);
	task_clear(&t);
}
END_TEST

/* A child sleeping past its deadline: TIMEOUT at the deadline, its key
 * busy until it is reaped, then free again. */
START_TEST(test_deadline)
{
	struct task	t = { 0 }, again = { 0 };
	char		err[256];
	int64_t		t0 = mono_ms();

	t.sleep_ms = 30000;
	ck_assert_int_eq(bgtask_start(pool, "mount:Slow", 300, work_sleep,
	    on_done, &t, err, sizeof(err)), 0);
	ck_assert_int_eq(bgtask_start(pool, "mount:Slow", 300, work_hello,
	    on_done, &again, err, sizeof(err)), -1);
	ck_assert(strstr(err, "has not ended") != NULL);
	ck_assert(run_until(task_done, &t, 5000));
	ck_assert_int_eq(t.st, BGTASK_TIMEOUT);
	ck_assert_str_eq(t.out, "no result within 300 ms");
	ck_assert(t.at - t0 >= 290 && t.at - t0 < 3000);
	ck_assert(run_until(pool_empty, NULL, 5000));
	ck_assert(!bgtask_busy(pool, "mount:Slow"));
	ck_assert(no_children());
	ck_assert_int_eq(t.calls, 1);
	ck_assert_int_eq(again.calls, 0);
	task_clear(&t);

	/* A child still running when the pool goes: killed, no callback. */
	t.sleep_ms = 30000;
	ck_assert_int_eq(bgtask_start(pool, "mount:Slow", 5000, work_sleep,
	    on_done, &t, err, sizeof(err)), 0);
	bgtask_pool_free(pool);
	pool = bgtask_pool_new(base);
	nap(200);
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG) > 0, 1);
	ck_assert(no_children());
	ck_assert_int_eq(t.calls, 0);
	task_clear(&t);
}
END_TEST

START_TEST(test_bound)
{
	struct task	t = { 0 };
	char		err[256];

	t.nbytes = BGTASK_OUTPUT_MAX;
	ck_assert_int_eq(bgtask_start(pool, "big", 20000, work_bytes,
	    on_done, &t, err, sizeof(err)), 0);
	ck_assert(run_until(task_done, &t, 20000));
	ck_assert_int_eq(t.st, BGTASK_OK);
	ck_assert_uint_eq(t.len, BGTASK_OUTPUT_MAX);
	ck_assert_uint_eq(strlen(t.out), BGTASK_OUTPUT_MAX);
	task_clear(&t);

	t.nbytes = BGTASK_OUTPUT_MAX + 1;
	ck_assert_int_eq(bgtask_start(pool, "big", 20000, work_bytes,
	    on_done, &t, err, sizeof(err)), 0);
	ck_assert(run_until(task_done, &t, 20000));
	ck_assert_int_eq(t.st, BGTASK_ERROR);
	ck_assert(strstr(t.out, "more than") != NULL);
	ck_assert(run_until(pool_empty, NULL, 5000));
	ck_assert(no_children());
	task_clear(&t);
}
END_TEST

/* Several at once: each gets its own output, and they run side by side
 * (not one after the other). */
START_TEST(test_several)
{
	struct task	t[NTASKS];
	char		err[256], key[32], want[32];
	int64_t		t0 = mono_ms();
	int		i;

	memset(t, 0, sizeof(t));
	for (i = 0; i < NTASKS; i++) {
		t[i].index = i;
		t[i].sleep_ms = 400 - 40 * i;
		snprintf(key, sizeof(key), "mount:V%d", i);
		ck_assert_int_eq(bgtask_start(pool, key, 5000, work_sleep,
		    on_done, &t[i], err, sizeof(err)), 0);
	}
	ck_assert_uint_eq(bgtask_count(pool), NTASKS);
	ck_assert(run_until(all_done, t, 10000));
	ck_assert(mono_ms() - t0 < 400 * NTASKS / 2);
	for (i = 0; i < NTASKS; i++) {
		snprintf(want, sizeof(want), "task %d", i);
		ck_assert_int_eq(t[i].st, BGTASK_OK);
		ck_assert_str_eq(t[i].out, want);
		ck_assert_int_eq(t[i].calls, 1);
		task_clear(&t[i]);
	}
	ck_assert_uint_eq(bgtask_count(pool), 0);
	ck_assert(no_children());
}
END_TEST

/* ---- a probe's caps through a task ---- */

static void
caps_fake(struct caps *c)
{
	static const char *const enc[] = { "aac", "h264", "libx264", NULL };
	static const char *const flt[] = { "scale", "scale_vaapi", NULL };
	size_t	i;

	memset(c, 0, sizeof(*c));
	snprintf(c->version, sizeof(c->version), "5.1.6-0+deb12u1");
	for (i = 0; enc[i] != NULL; i++) {
		strv_push(&c->lists[CAPS_ENCODERS], enc[i]);
		strv_push(&c->lists[CAPS_DECODERS], enc[i]);
	}
	strv_push(&c->lists[CAPS_HWACCELS], "vaapi");
	for (i = 0; flt[i] != NULL; i++)
		strv_push(&c->lists[CAPS_FILTERS], flt[i]);
	strv_push(&c->devices, "/dev/dri/renderD128");
}

static int
work_caps(void *arg, struct buf *out)
{
	struct caps	c;
	char		err[256];
	int		rc;

	(void)arg;
	caps_fake(&c);
	rc = caps_encode(&c, out, err, sizeof(err));
	caps_free(&c);
	return rc;
}

START_TEST(test_caps_reply)
{
	struct task	t = { 0 };
	struct caps	c, want;
	char		err[256];
	size_t		k;

	ck_assert_int_eq(bgtask_start(pool, "probe", 5000, work_caps,
	    on_done, &t, err, sizeof(err)), 0);
	ck_assert(run_until(task_done, &t, 5000));
	ck_assert_int_eq(t.st, BGTASK_OK);
	ck_assert_int_eq(caps_decode(t.out, t.len, &c, err, sizeof(err)), 0);
	caps_fake(&want);
	ck_assert_str_eq(c.version, want.version);
	for (k = 0; k < CAPS__COUNT; k++) {
		ck_assert_uint_eq(c.lists[k].n, want.lists[k].n);
		for (size_t i = 0; i < want.lists[k].n; i++)
			ck_assert_str_eq(c.lists[k].v[i], want.lists[k].v[i]);
	}
	ck_assert_uint_eq(c.devices.n, 1);
	ck_assert_str_eq(c.devices.v[0], "/dev/dri/renderD128");
	ck_assert(caps_has(&c, CAPS_ENCODERS, "libx264"));
	caps_free(&c);
	caps_free(&want);
	task_clear(&t);
}
END_TEST

START_TEST(test_caps_malformed)
{
	static const char *const bad[] = {
		"",
		"dffmpeg-caps 2\n",
		"dffmpeg-caps 1\nversion 5\nencoders 1\naac\n",
		"dffmpeg-caps 1\nversion 5\nencoders 0\ndecoders 0\n"
		    "hwaccels 0\nfilters 0\ndevices 0\nend",
		"dffmpeg-caps 1\nversion 5\nencoders 0\ndecoders 0\n"
		    "hwaccels 0\nfilters 0\ndevices 0\nend\nmore\n",
		"dffmpeg-caps 1\nversion \nencoders 0\ndecoders 0\n"
		    "hwaccels 0\nfilters 0\ndevices 0\nend\n",
		"dffmpeg-caps 1\nversion 5\nencoders 01\naac\ndecoders 0\n"
		    "hwaccels 0\nfilters 0\ndevices 0\nend\n",
		"dffmpeg-caps 1\nversion 5\nencoders 2\naac\n\ndecoders 0\n"
		    "hwaccels 0\nfilters 0\ndevices 0\nend\n",
		"dffmpeg-caps 1\nversion 5\nencoders 2\nh264\naac\n"
		    "decoders 0\nhwaccels 0\nfilters 0\ndevices 0\nend\n",
		"dffmpeg-caps 1\nversion 5\nencoders 1\na b\ndecoders 0\n"
		    "hwaccels 0\nfilters 0\ndevices 0\nend\n",
		"dffmpeg-caps 1\nversion 5\ndecoders 0\nencoders 0\n"
		    "hwaccels 0\nfilters 0\ndevices 0\nend\n",
		"dffmpeg-caps 1\nversion 5\nencoders 999999\n",
		"dffmpeg-caps 1\nversion 5\nencoders -1\n",
		/* The failed section: missing, a bad kind, no reason, a
		 * control character in the reason, a count too high. */
		"dffmpeg-caps 1\nversion 5\nencoders 0\ndecoders 0\n"
		    "hwaccels 0\nfilters 0\ndevices 0\nend\n",
		"dffmpeg-caps 1\nversion 5\nencoders 0\ndecoders 0\n"
		    "hwaccels 0\nfilters 0\ndevices 0\nfailed 1\n"
		    "codec x why\nend\n",
		"dffmpeg-caps 1\nversion 5\nencoders 0\ndecoders 0\n"
		    "hwaccels 0\nfilters 0\ndevices 0\nfailed 1\n"
		    "encoder x\nend\n",
		"dffmpeg-caps 1\nversion 5\nencoders 0\ndecoders 0\n"
		    "hwaccels 0\nfilters 0\ndevices 0\nfailed 1\n"
		    "encoder x a\tb\nend\n",
		"dffmpeg-caps 1\nversion 5\nencoders 0\ndecoders 0\n"
		    "hwaccels 0\nfilters 0\ndevices 0\nfailed 2\n"
		    "encoder x why\nend\n",
		/* Outputs: a length past the end, an unknown option, one
		 * twice, a missing newline after the bytes. */
		"dffmpeg-caps 1\nversion 5\nencoders 0\ndecoders 0\n"
		    "hwaccels 0\nfilters 0\ndevices 0\nfailed 0\n"
		    "outputs 1\noutput -version 0 99 0\nabc\nend\n",
		"dffmpeg-caps 1\nversion 5\nencoders 0\ndecoders 0\n"
		    "hwaccels 0\nfilters 0\ndevices 0\nfailed 0\n"
		    "outputs 1\noutput -codecs 0 1 0\nx\nend\n",
		"dffmpeg-caps 1\nversion 5\nencoders 0\ndecoders 0\n"
		    "hwaccels 0\nfilters 0\ndevices 0\nfailed 0\n"
		    "outputs 2\noutput -version 0 1 0\nx\n"
		    "output -version 0 1 0\nx\nend\n",
		"dffmpeg-caps 1\nversion 5\nencoders 0\ndecoders 0\n"
		    "hwaccels 0\nfilters 0\ndevices 0\nfailed 0\n"
		    "outputs 1\noutput -version 0 1 0\nxyend\n",
		NULL
	};
	const char	*good = "dffmpeg-caps 1\nversion 5\nencoders 1\naac\n"
			    "decoders 0\nhwaccels 0\nfilters 0\ndevices 0\n"
			    "failed 1\nencoder h264_nvenc needs a working "
			    "cuda device (Cannot load libcuda.so.1)\n"
			    "outputs 1\noutput -hwaccels 0 5 3\nout\n\nerr\n"
			    "end\n";
	struct caps	c;
	struct buf	b = { 0 };
	char		err[256];
	size_t		i;

	ck_assert_int_eq(caps_decode(good, strlen(good), &c, err,
	    sizeof(err)), 0);
	ck_assert(caps_has(&c, CAPS_ENCODERS, "aac"));
	ck_assert_str_eq(strmap_get(&c.failed, "encoder h264_nvenc"),
	    "needs a working cuda device (Cannot load libcuda.so.1)");
	ck_assert(c.outputs[CO_HWACCELS].known && !c.outputs[CO_VERSION].known);
	ck_assert_uint_eq(buf_used(&c.outputs[CO_HWACCELS].out), 5);
	ck_assert_mem_eq(buf_head(&c.outputs[CO_HWACCELS].out), "out\n\n", 5);
	ck_assert_mem_eq(buf_head(&c.outputs[CO_HWACCELS].err), "err", 3);
	/* And back: the same text. */
	ck_assert_int_eq(caps_encode(&c, &b, err, sizeof(err)), 0);
	ck_assert_uint_eq(buf_used(&b), strlen(good));
	ck_assert_mem_eq(buf_head(&b), good, strlen(good));
	buf_drain(&b, buf_used(&b));
	caps_free(&c);
	for (i = 0; bad[i] != NULL; i++) {
		err[0] = '\0';
		if (caps_decode(bad[i], strlen(bad[i]), &c, err,
		    sizeof(err)) != -1)
			ck_abort_msg("accepted malformed reply %zu", i);
		ck_assert(err[0] != '\0');
		ck_assert_uint_eq(c.lists[CAPS_ENCODERS].n, 0);
	}
	/* A NUL inside a line, and a truncated reply. */
	ck_assert_int_eq(caps_decode("dffmpeg-caps 1\0\n", 16, &c, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(caps_decode(good, strlen(good) - 1, &c, err,
	    sizeof(err)), -1);
	/* What cannot be parsed back is not written. */
	caps_fake(&c);
	strv_push(&c.lists[CAPS_FILTERS], "bad name");
	ck_assert_int_eq(caps_encode(&c, &b, err, sizeof(err)), -1);
	caps_free(&c);
	buf_free(&b);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("bgtask");
	TCase	*tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_output);
	tcase_add_test(tc, test_deadline);
	tcase_add_test(tc, test_bound);
	tcase_add_test(tc, test_several);
	tcase_add_test(tc, test_caps_reply);
	tcase_add_test(tc, test_caps_malformed);
	suite_add_tcase(s, tc);
	return s;
}
