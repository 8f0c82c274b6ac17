/*
 * The job state graph (design §9, jobstate.h): exactly the listed edges
 * are allowed, every other (from, to) pair is refused, terminal states
 * have no way out, and names parse back.
 */
#include <stdio.h>
#include <string.h>

#include "unit.h"

#include "jobstate.h"
#include "util.h"

/*
 * The expected graph, written out independently of src/jobstate.c:
 *   pending -> assigned -> running -> completed | failed
 *   running -> canceling -> canceled ("canceling between running and
 *     canceled": a running job is canceled through canceling)
 *   assigned -> pending			re-queueing
 *   pending | assigned -> failed		giving up
 *   pending -> canceled, assigned -> canceling | canceled	early cancel
 */
static const struct {
	enum job_state	from;
	enum job_state	to;
} edges[] = {
	{ JS_PENDING, JS_ASSIGNED },
	{ JS_PENDING, JS_FAILED },
	{ JS_PENDING, JS_CANCELED },
	{ JS_ASSIGNED, JS_RUNNING },
	{ JS_ASSIGNED, JS_PENDING },
	{ JS_ASSIGNED, JS_FAILED },
	{ JS_ASSIGNED, JS_CANCELING },
	{ JS_ASSIGNED, JS_CANCELED },
	{ JS_RUNNING, JS_COMPLETED },
	{ JS_RUNNING, JS_FAILED },
	{ JS_RUNNING, JS_CANCELING },
	{ JS_CANCELING, JS_CANCELED },
};

static const char *const names[JS__COUNT] = {
	[JS_PENDING] = "pending",
	[JS_ASSIGNED] = "assigned",
	[JS_RUNNING] = "running",
	[JS_CANCELING] = "canceling",
	[JS_COMPLETED] = "completed",
	[JS_FAILED] = "failed",
	[JS_CANCELED] = "canceled",
};

static bool
is_edge(int from, int to)
{
	size_t	i;

	for (i = 0; i < nitems(edges); i++)
		if ((int)edges[i].from == from && (int)edges[i].to == to)
			return true;
	return false;
}

static bool
is_terminal(int s)
{
	return s == JS_COMPLETED || s == JS_FAILED || s == JS_CANCELED;
}

START_TEST(test_matrix)
{
	int	from, to, allowed = 0;

	for (from = 0; from < JS__COUNT; from++) {
		for (to = 0; to < JS__COUNT; to++) {
			bool got = jobstate_allowed(from, to);

			ck_assert_msg(got == is_edge(from, to),
			    "%s -> %s: %s, want %s", names[from], names[to],
			    got ? "allowed" : "refused",
			    is_edge(from, to) ? "allowed" : "refused");
			allowed += got;
		}
	}
	ck_assert_int_eq(allowed, (int)nitems(edges));
	/* No self-loops: a duplicate report is not a transition. */
	for (from = 0; from < JS__COUNT; from++)
		ck_assert(!jobstate_allowed(from, from));
}
END_TEST

START_TEST(test_out_of_range)
{
	int	s;

	for (s = 0; s < JS__COUNT; s++) {
		ck_assert(!jobstate_allowed(s, JS__COUNT));
		ck_assert(!jobstate_allowed(JS__COUNT, s));
		ck_assert(!jobstate_allowed(s, (enum job_state)-1));
		ck_assert(!jobstate_allowed((enum job_state)-1, s));
	}
	ck_assert(!jobstate_terminal(JS__COUNT));
	ck_assert_ptr_nonnull(jobstate_name(JS__COUNT));
	ck_assert_int_eq(jobstate_parse(jobstate_name(JS__COUNT)), -1);
}
END_TEST

START_TEST(test_terminal)
{
	int	s, to, n = 0;

	for (s = 0; s < JS__COUNT; s++) {
		ck_assert_msg(jobstate_terminal(s) == is_terminal(s),
		    "%s terminal: %d", names[s], jobstate_terminal(s));
		if (!is_terminal(s))
			continue;
		for (to = 0; to < JS__COUNT; to++)
			ck_assert_msg(!jobstate_allowed(s, to),
			    "terminal %s -> %s allowed", names[s], names[to]);
	}
	/* jobstate_terminal_names lists exactly the terminal states. */
	for (n = 0; jobstate_terminal_names[n] != NULL; n++) {
		int st = jobstate_parse(jobstate_terminal_names[n]);

		ck_assert_msg(st >= 0 && is_terminal(st), "'%s' listed as "
		    "terminal", jobstate_terminal_names[n]);
	}
	ck_assert_int_eq(n, 3);
}
END_TEST

/* Every state but the terminal ones leads to a terminal state, and every
 * state is reachable from pending: the graph has no dead ends. */
START_TEST(test_reachability)
{
	bool	reach[JS__COUNT] = { 0 }, changed;
	int	s, to;

	reach[JS_PENDING] = true;
	do {
		changed = false;
		for (s = 0; s < JS__COUNT; s++)
			for (to = 0; to < JS__COUNT; to++)
				if (reach[s] && !reach[to] &&
				    jobstate_allowed(s, to))
					reach[to] = changed = true;
	} while (changed);
	for (s = 0; s < JS__COUNT; s++)
		ck_assert_msg(reach[s], "%s unreachable", names[s]);
	for (s = 0; s < JS__COUNT; s++) {
		bool out = false;

		for (to = 0; to < JS__COUNT; to++)
			out = out || jobstate_allowed(s, to);
		ck_assert_msg(out != is_terminal(s), "%s: way out %d", names[s],
		    out);
	}
}
END_TEST

START_TEST(test_names)
{
	static const char *const bad[] = { "", "Pending", "pending ",
	    "cancelled", "done", "?", "unknown" };
	int	s, t;
	size_t	i;

	for (s = 0; s < JS__COUNT; s++) {
		ck_assert_str_eq(jobstate_name(s), names[s]);
		ck_assert_int_eq(jobstate_parse(names[s]), s);
		for (t = 0; t < s; t++)
			ck_assert_str_ne(jobstate_name(s), jobstate_name(t));
	}
	for (i = 0; i < nitems(bad); i++)
		ck_assert_msg(jobstate_parse(bad[i]) == -1, "'%s' parsed",
		    bad[i]);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("jobstate");
	TCase	*tc = tcase_create("jobstate");

	tcase_add_test(tc, test_matrix);
	tcase_add_test(tc, test_out_of_range);
	tcase_add_test(tc, test_terminal);
	tcase_add_test(tc, test_reachability);
	tcase_add_test(tc, test_names);
	suite_add_tcase(s, tc);
	return s;
}
