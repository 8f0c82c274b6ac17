/*
 * Placement (sched.h): candidates by state, binary, path health, slots
 * and capabilities; least loaded by active / weight; round robin on ties;
 * the refusal reason naming what the registered workers lack; waiting
 * for workers after a restart.
 */
#include <stdio.h>
#include <string.h>

#include "unit.h"

#include "caps.h"
#include "ffargs.h"
#include "registry.h"
#include "sched.h"
#include "util.h"

static struct registry	reg;

static struct cworker *
mk(const char *name, enum worker_state st, int active, int weight)
{
	struct cworker	*w = registry_add(&reg, name);

	w->state = st;
	w->active = active;
	w->weight = weight;
	strmap_set(&w->binaries, "ffmpeg", "ok");
	strmap_set(&w->binaries, "ffprobe", "ok");
	strmap_set(&w->health, "Media", "ok");
	return w;
}

static void
setup(void)
{
	registry_init(&reg, NULL, NULL);
}

static void
teardown(void)
{
	registry_free(&reg);
}

static struct strv	media;

static struct sched_job
job(const char *binary, const struct ffreq *req)
{
	struct sched_job	j = { binary, &media, req };

	return j;
}

START_TEST(test_least_loaded)
{
	struct sched_job	j;
	struct cworker		*a, *b, *c;

	strv_push(&media, "Media");
	a = mk("a", WS_ONLINE, 3, 1);
	b = mk("b", WS_ONLINE, 1, 1);
	c = mk("c", WS_ONLINE, 2, 1);
	j = job("ffprobe", NULL);
	ck_assert_ptr_eq(sched_pick(reg.v, reg.n, &j), b);
	/* Weights: 3 jobs on weight 4 (0.75) beat 1 on weight 1. */
	a->weight = 4;
	ck_assert_ptr_eq(sched_pick(reg.v, reg.n, &j), a);
	(void)c;
	strv_free(&media);
}
END_TEST

START_TEST(test_round_robin)
{
	struct sched_job	 j;
	struct cworker		*w;
	int			 picks[3] = { 0, 0, 0 };
	int			 i;
	int64_t			 t = 1;

	strv_push(&media, "Media");
	mk("a", WS_ONLINE, 0, 1);
	mk("b", WS_ONLINE, 0, 1);
	mk("c", WS_ONLINE, 0, 1);
	j = job("ffmpeg", NULL);
	/* Equal load: the least recently assigned takes the next. */
	for (i = 0; i < 9; i++) {
		w = sched_pick(reg.v, reg.n, &j);
		ck_assert_ptr_nonnull(w);
		w->last_assign = t++;
		picks[w->name[0] - 'a']++;
	}
	ck_assert_int_eq(picks[0], 3);
	ck_assert_int_eq(picks[1], 3);
	ck_assert_int_eq(picks[2], 3);
	strv_free(&media);
}
END_TEST

START_TEST(test_states_and_slots)
{
	struct sched_job	 j;
	struct cworker		*a, *b;
	enum worker_state	 st;
	char			 why[160];

	strv_push(&media, "Media");
	a = mk("a", WS_ONLINE, 2, 1);
	b = mk("b", WS_ONLINE, 0, 1);
	j = job("ffmpeg", NULL);
	/* Only an online worker is a candidate. */
	for (st = 0; st < WS__COUNT; st++) {
		b->state = st;
		ck_assert_ptr_eq(sched_pick(reg.v, reg.n, &j),
		    st == WS_ONLINE ? b : a);
	}
	b->state = WS_ONLINE;
	/* A full worker is skipped, unlimited (0) never is. */
	b->max_jobs = 1;
	b->active = 1;
	ck_assert_ptr_eq(sched_pick(reg.v, reg.n, &j), a);
	a->max_jobs = 2;
	ck_assert_ptr_null(sched_pick(reg.v, reg.n, &j));
	/* ...but both could run it: it waits. */
	ck_assert(sched_could_run(reg.v, reg.n, &j, false, why, sizeof(why)));
	/* A draining or stale worker may come back: still could. */
	a->state = WS_DRAINING;
	b->state = WS_STALE;
	ck_assert(sched_could_run(reg.v, reg.n, &j, false, why, sizeof(why)));
	/* Lost and offline ones cannot. */
	a->state = WS_LOST;
	b->state = WS_OFFLINE;
	ck_assert(!sched_could_run(reg.v, reg.n, &j, false, why,
	    sizeof(why)));
	ck_assert_str_eq(why, "no worker is registered");
	/* Just after a restart, workers may be on their way. */
	ck_assert(sched_could_run(reg.v, reg.n, &j, true, why, sizeof(why)));
	strv_free(&media);
}
END_TEST

START_TEST(test_refusal_reasons)
{
	struct sched_job	 j;
	struct cworker		*a;
	struct ffreq		 req;
	struct strv		 encs = { 0 };
	char			 why[160];
	const char		*args[] = { "-i", "in.mkv", "-c:v", "h264_nvenc",
				    "out.mp4" };

	strv_push(&media, "Media");
	a = mk("a", WS_ONLINE, 0, 1);
	/* Binary. */
	j = job("ffplay", NULL);
	ck_assert(!sched_can_run(a, &j, why, sizeof(why)));
	ck_assert_str_eq(why, "binary 'ffplay'");
	ck_assert(!sched_could_run(reg.v, reg.n, &j, true, why, sizeof(why)));
	ck_assert_str_eq(why, "no registered worker has binary 'ffplay'");
	strmap_set(&a->binaries, "ffprobe", "missing");
	j = job("ffprobe", NULL);
	ck_assert(!sched_can_run(a, &j, why, sizeof(why)));
	/* Path variables: missing, then unhealthy. */
	strv_push(&media, "Archive");
	j = job("ffmpeg", NULL);
	ck_assert(!sched_can_run(a, &j, why, sizeof(why)));
	ck_assert_str_eq(why, "path variable 'Archive'");
	strmap_set(&a->health, "Archive", "mount check timed out");
	ck_assert(!sched_can_run(a, &j, why, sizeof(why)));
	ck_assert_str_eq(why, "a healthy path variable 'Archive'");
	strmap_set(&a->health, "Archive", "ok");
	ck_assert(sched_can_run(a, &j, why, sizeof(why)));
	/* Capabilities: unknown, then missing, then present. */
	memset(&req, 0, sizeof(req));
	ffargs_requirements((int)nitems(args), (char **)args, &req);
	j = job("ffmpeg", &req);
	ck_assert(!sched_can_run(a, &j, why, sizeof(why)));
	ck_assert_str_eq(why, "known ffmpeg capabilities");
	strv_push(&encs, "libx264");
	caps_set(&a->caps, CAPS_ENCODERS, &encs);
	a->caps_known = true;
	ck_assert(!sched_can_run(a, &j, why, sizeof(why)));
	ck_assert_str_eq(why, "encoder 'h264_nvenc', which needs a working "
	    "cuda device");
	ck_assert_ptr_null(sched_pick(reg.v, reg.n, &j));
	strv_push(&encs, "h264_nvenc");
	caps_set(&a->caps, CAPS_ENCODERS, &encs);
	ck_assert(sched_can_run(a, &j, why, sizeof(why)));
	ck_assert_ptr_eq(sched_pick(reg.v, reg.n, &j), a);
	/* ffprobe needs no capabilities. */
	strmap_set(&a->binaries, "ffprobe", "ok");
	j = job("ffprobe", &req);
	ck_assert(sched_can_run(a, &j, why, sizeof(why)));
	ffreq_free(&req);
	strv_free(&encs);
	strv_free(&media);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("sched");
	TCase	*tc = tcase_create("sched");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_least_loaded);
	tcase_add_test(tc, test_round_robin);
	tcase_add_test(tc, test_states_and_slots);
	tcase_add_test(tc, test_refusal_reasons);
	suite_add_tcase(s, tc);
	return s;
}
