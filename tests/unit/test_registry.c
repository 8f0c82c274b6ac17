/*
 * The worker registry (registry.h): exactly the listed edges of the state
 * graph are allowed and every change is recorded once with its reason;
 * updates from register/heartbeat; silence thresholds; lookups.
 */
#include <stdio.h>
#include <string.h>

#include "unit.h"

#include "msg.h"
#include "registry.h"
#include "util.h"

/* The expected graph, written out independently of src/registry.c. */
static const struct {
	enum worker_state	from;
	enum worker_state	to;
} edges[] = {
	{ WS_REGISTERING, WS_ONLINE },
	{ WS_REGISTERING, WS_DRAINING },
	{ WS_REGISTERING, WS_LOST },
	{ WS_REGISTERING, WS_OFFLINE },
	{ WS_ONLINE, WS_DRAINING },
	{ WS_ONLINE, WS_STALE },
	{ WS_ONLINE, WS_LOST },
	{ WS_ONLINE, WS_OFFLINE },
	{ WS_DRAINING, WS_ONLINE },
	{ WS_DRAINING, WS_STALE },
	{ WS_DRAINING, WS_LOST },
	{ WS_DRAINING, WS_OFFLINE },
	{ WS_STALE, WS_ONLINE },
	{ WS_STALE, WS_DRAINING },
	{ WS_STALE, WS_LOST },
	{ WS_STALE, WS_OFFLINE },
	{ WS_LOST, WS_ONLINE },
	{ WS_LOST, WS_DRAINING },
	{ WS_LOST, WS_OFFLINE },
	{ WS_OFFLINE, WS_ONLINE },
	{ WS_OFFLINE, WS_DRAINING },
};

static bool
expected(enum worker_state f, enum worker_state t)
{
	size_t	i;

	for (i = 0; i < nitems(edges); i++)
		if (edges[i].from == f && edges[i].to == t)
			return true;
	return false;
}

struct rec {
	int			n;
	enum worker_state	from, to;
	char			reason[64];
};

static void
record(void *arg, const struct cworker *w, enum worker_state from,
    enum worker_state to, const char *reason)
{
	struct rec	*r = arg;

	(void)w;
	r->n++;
	r->from = from;
	r->to = to;
	snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason : "");
}

START_TEST(test_graph)
{
	struct registry	 reg;
	struct rec	 r;
	struct cworker	*w;
	int		 f, t;

	for (f = 0; f < WS__COUNT; f++) {
		for (t = 0; t < WS__COUNT; t++) {
			memset(&r, 0, sizeof(r));
			registry_init(&reg, record, &r);
			w = registry_add(&reg, "w1");
			ck_assert_int_eq(w->state, WS_REGISTERING);
			w->state = f;
			if (f == t) {
				ck_assert_int_eq(registry_transition(&reg, w,
				    t, "same"), 0);
				ck_assert_int_eq(r.n, 0);
			} else if (expected(f, t)) {
				ck_assert_msg(worker_state_allowed(f, t),
				    "%s -> %s refused", worker_state_name(f),
				    worker_state_name(t));
				ck_assert_int_eq(registry_transition(&reg, w,
				    t, "why"), 0);
				ck_assert_int_eq(w->state, t);
				ck_assert_int_eq(r.n, 1);
				ck_assert_int_eq(r.from, f);
				ck_assert_int_eq(r.to, t);
				ck_assert_str_eq(r.reason, "why");
			} else {
				ck_assert_msg(!worker_state_allowed(f, t),
				    "%s -> %s allowed", worker_state_name(f),
				    worker_state_name(t));
				ck_assert_int_eq(registry_transition(&reg, w,
				    t, "why"), -1);
				ck_assert_int_eq(w->state, f);
				ck_assert_int_eq(r.n, 0);
			}
			registry_free(&reg);
		}
	}
	/* Nothing comes back to registering. */
	for (f = 0; f < WS__COUNT; f++)
		ck_assert(!worker_state_allowed(f, WS_REGISTERING));
	ck_assert(!worker_state_allowed(WS__COUNT, WS_ONLINE));
	ck_assert_str_eq(worker_state_name(WS__COUNT), "unknown");
}
END_TEST

START_TEST(test_names_and_lookup)
{
	static const char *const names[WS__COUNT] = { "registering",
	    "online", "draining", "stale", "lost", "offline" };
	struct registry	 reg;
	struct cworker	*a, *b;
	char		 name[16];
	int		 s, i;

	for (s = 0; s < WS__COUNT; s++)
		ck_assert_str_eq(worker_state_name(s), names[s]);
	ck_assert(worker_state_present(WS_ONLINE));
	ck_assert(worker_state_present(WS_STALE));
	ck_assert(!worker_state_present(WS_LOST));
	ck_assert(!worker_state_present(WS_OFFLINE));
	registry_init(&reg, NULL, NULL);
	for (i = 0; i < 200; i++) {
		snprintf(name, sizeof(name), "w%d", i);
		registry_add(&reg, name);
	}
	a = registry_find(&reg, "w17");
	ck_assert_ptr_nonnull(a);
	ck_assert_str_eq(a->name, "w17");
	registry_remove(&reg, a);
	ck_assert_ptr_null(registry_find(&reg, "w17"));
	ck_assert_uint_eq(reg.n, 199);
	b = registry_find(&reg, "w199");
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_eq(reg.v[reg.n - 1], b);
	registry_free(&reg);
}
END_TEST

START_TEST(test_update)
{
	struct registry	 reg;
	struct cworker	*w;
	struct msg	 m;
	struct strv	 encs = { 0 };
	struct strmap	 health = { 0 };

	registry_init(&reg, NULL, NULL);
	w = registry_add(&reg, "w1");
	msg_init(&m, MT_REGISTER, "w1");
	msg_set_str(&m, F_SESSION, "s1");
	msg_set_int(&m, F_MAX_JOBS, 4);
	msg_set_int(&m, F_WEIGHT, 0);		/* out of range: 1 */
	msg_set_int(&m, F_INTERVAL, 2000);
	msg_set_int(&m, F_EPOCH, 3);
	msg_set_str(&m, F_STATUS, "draining");
	strv_push(&encs, "libx264");
	msg_set_strv(&m, F_ENCODERS, &encs);
	strmap_set(&health, "Media", "ok");
	msg_set_strmap(&m, F_PATH_HEALTH, &health);
	registry_update(w, &m, 1234);
	ck_assert_int_eq(w->max_jobs, 4);
	ck_assert_int_eq(w->weight, 1);
	ck_assert_int_eq(w->interval, 2000);
	ck_assert_int_eq(w->epoch, 3);
	ck_assert(w->reports_draining);
	ck_assert_int_eq(registry_reported_state(w), WS_DRAINING);
	ck_assert(w->caps_known);
	ck_assert(caps_has(&w->caps, CAPS_ENCODERS, "libx264"));
	ck_assert_str_eq(strmap_get(&w->health, "Media"), "ok");
	ck_assert_int_eq(w->last_seen, 1234);
	msg_clear(&m);
	/* An older epoch does not go back; a register without caps forgets
	 * them. */
	msg_init(&m, MT_REGISTER, "w1");
	msg_set_str(&m, F_SESSION, "s1");
	msg_set_int(&m, F_EPOCH, 2);
	msg_set_str(&m, F_STATUS, "online");
	registry_update(w, &m, 2000);
	ck_assert_int_eq(w->epoch, 3);
	ck_assert(!w->caps_known);
	ck_assert_int_eq(registry_reported_state(w), WS_ONLINE);
	/* An administrator's drain holds whatever the worker says. */
	w->want = WANT_DRAIN;
	ck_assert_int_eq(registry_reported_state(w), WS_DRAINING);
	msg_clear(&m);
	/* Silence: stale before lost; lost never before 5 s by default. */
	w->interval = 1000;
	ck_assert_int_lt(registry_stale_after(w), registry_lost_after(w, 0));
	ck_assert_int_eq(registry_lost_after(w, 0), 5000);
	w->interval = 5000;
	ck_assert_int_eq(registry_lost_after(w, 0), 15000);
	ck_assert_int_eq(registry_lost_after(w, 42000), 42000);
	strv_free(&encs);
	strmap_free(&health);
	registry_free(&reg);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("registry");
	TCase	*tc = tcase_create("registry");

	tcase_add_test(tc, test_graph);
	tcase_add_test(tc, test_names_and_lookup);
	tcase_add_test(tc, test_update);
	suite_add_tcase(s, tc);
	return s;
}
