/*
 * The dispatch tables: the applet table behind main.c, and the message
 * type table that decides which role may send what (design §4.1, §5).
 */
#include <stdio.h>
#include <string.h>

#include "unit.h"

#include "applet.h"
#include "msg.h"
#include "util.h"

static const struct {
	const char	*name;
	int		(*main)(int, char **);
} want_applets[] = {
	{ "coordinator", coordinator_main },
	{ "worker", worker_main },
	{ "client", client_main },
	{ "admin", admin_main },
};

START_TEST(test_applet_table)
{
	size_t	i, j, n;

	for (n = 0; applets[n].name != NULL; n++) {
		ck_assert_msg(applets[n].name[0] != '\0', "row %zu: no name",
		    n);
		ck_assert_msg(applets[n].main != NULL, "%s: no main",
		    applets[n].name);
		ck_assert_msg(applets[n].summary != NULL &&
		    applets[n].summary[0] != '\0', "%s: no summary",
		    applets[n].name);
		for (j = 0; j < n; j++)
			ck_assert_str_ne(applets[n].name, applets[j].name);
		ck_assert_ptr_eq(applet_find(applets[n].name), &applets[n]);
	}
	/* The terminating row is all NULL. */
	ck_assert_ptr_null(applets[n].main);
	ck_assert_ptr_null(applets[n].summary);
	ck_assert_uint_eq(n, nitems(want_applets));
	for (i = 0; i < nitems(want_applets); i++) {
		const struct applet *a = applet_find(want_applets[i].name);

		ck_assert_msg(a != NULL, "%s not found", want_applets[i].name);
		ck_assert_str_eq(a->name, want_applets[i].name);
		ck_assert_msg(a->main == want_applets[i].main,
		    "%s: wrong main", a->name);
	}
}
END_TEST

START_TEST(test_applet_unknown)
{
	static const char *const unknown[] = { "", "Client", "clients",
	    "client ", "coord", "ffmpeg", "ffprobe", "proxy", "dffmpeg",
	    "--help", "admi", "workerx" };
	size_t	i;

	for (i = 0; i < nitems(unknown); i++)
		ck_assert_msg(applet_find(unknown[i]) == NULL,
		    "'%s' found", unknown[i]);
	ck_assert_int_eq(EXIT_NOT_FOUND, 127);
}
END_TEST

#define W	ROLE_WORKER
#define C	ROLE_CLIENT
#define A	ROLE_ADMIN
#define K	ROLE_COORD

/* Who sends each type, from design §5: the uplink table's role column,
 * plus ROLE_COORD for every type that also goes down. */
static const struct {
	enum msg_type	 type;
	const char	*name;
	int		 roles;
} want_types[] = {
	{ MT_REGISTER, "register", W },
	{ MT_HEARTBEAT, "heartbeat", W },
	{ MT_STARTED, "started", W | K },
	{ MT_REJECTED, "rejected", W },
	{ MT_FINISHED, "finished", W | K },
	{ MT_BYE, "bye", W | C },
	{ MT_GONE, "gone", W | C },
	{ MT_SUBMIT, "submit", C },
	{ MT_CANCEL, "cancel", C | A | K },
	{ MT_QUERY, "query", C | A },
	{ MT_ADMIN, "admin", A },
	{ MT_REGISTERED, "registered", K },
	{ MT_ACK, "ack", K },
	{ MT_REREGISTER, "reregister", K },
	{ MT_ASSIGN, "assign", K },
	{ MT_DRAIN, "drain", K },
	{ MT_ACCEPTED, "accepted", K },
	{ MT_QUEUED, "queued", K },
	{ MT_FAILED, "failed", K },
	{ MT_REFUSED, "refused", K },
	{ MT_REPLY, "reply", K },
	{ MT_UNVERIFIED, "unverified", K },
	{ MT_LOG, "log", W },		/* design §11: job logs */
};

/* The downlink list of design §5, and the answer to a message whose MAC
 * failed (§6.2: a key mismatch gets its own line). */
static const char *const downlink[] = { "registered", "ack", "reregister",
    "assign", "cancel", "drain", "accepted", "queued", "started", "finished",
    "failed", "refused", "reply", "unverified" };

START_TEST(test_msg_names)
{
	int	t, u;

	for (t = 0; t < MT__COUNT; t++) {
		const char *n = msg_types[t].name;

		ck_assert_msg(n != NULL && n[0] != '\0', "type %d: no name",
		    t);
		ck_assert_str_eq(msg_type_name(t), n);
		ck_assert_int_eq(msg_type_lookup(n), t);
		for (u = 0; u < t; u++)
			ck_assert_msg(strcmp(n, msg_types[u].name) != 0,
			    "types %d and %d are both '%s'", u, t, n);
		ck_assert_msg(msg_types[t].roles != 0, "%s: nobody may send it",
		    n);
		ck_assert_msg((msg_types[t].roles &
		    ~(W | C | A | K)) == 0, "%s: stray role bits", n);
		/* required and optional fields do not overlap and exist */
		ck_assert((msg_types[t].required & msg_types[t].optional) == 0);
		ck_assert(((msg_types[t].required | msg_types[t].optional) >>
		    F__COUNT) == 0);
	}
	ck_assert_int_eq(msg_type_lookup(""), -1);
	ck_assert_int_eq(msg_type_lookup("Submit"), -1);
	ck_assert_int_eq(msg_type_lookup("submit "), -1);
	ck_assert_int_eq(msg_type_lookup("unknown"), -1);
	ck_assert_ptr_nonnull(msg_type_name(MT__COUNT));
	ck_assert_int_eq(msg_type_lookup(msg_type_name(MT__COUNT)), -1);
}
END_TEST

START_TEST(test_msg_roles)
{
	size_t	i;
	int	t;

	ck_assert_uint_eq(nitems(want_types), MT__COUNT);
	for (i = 0; i < nitems(want_types); i++) {
		t = want_types[i].type;
		ck_assert_str_eq(msg_types[t].name, want_types[i].name);
		ck_assert_msg(msg_types[t].roles == want_types[i].roles,
		    "%s: roles %#x, want %#x", want_types[i].name,
		    msg_types[t].roles, want_types[i].roles);
	}
	/* Downlink types are sent by the coordinator, and only they. */
	for (t = 0; t < MT__COUNT; t++) {
		bool down = false;

		for (i = 0; i < nitems(downlink); i++)
			down = down || strcmp(downlink[i],
			    msg_types[t].name) == 0;
		ck_assert_msg(((msg_types[t].roles & K) != 0) == down,
		    "%s: coordinator may send it: %d", msg_types[t].name,
		    (msg_types[t].roles & K) != 0);
	}
	for (i = 0; i < nitems(downlink); i++)
		ck_assert_msg(msg_type_lookup(downlink[i]) >= 0, "%s missing",
		    downlink[i]);
	/* The security-relevant ones, spelled out. */
	ck_assert_int_eq(msg_types[MT_SUBMIT].roles, ROLE_CLIENT);
	ck_assert_int_eq(msg_types[MT_REGISTER].roles, ROLE_WORKER);
	ck_assert_int_eq(msg_types[MT_HEARTBEAT].roles, ROLE_WORKER);
	ck_assert_int_eq(msg_types[MT_ADMIN].roles, ROLE_ADMIN);
	ck_assert_int_eq(msg_types[MT_ASSIGN].roles, ROLE_COORD);
}
END_TEST

#undef W
#undef C
#undef A
#undef K

START_TEST(test_role_names)
{
	static const int roles[] = { ROLE_CLIENT, ROLE_WORKER, ROLE_ADMIN,
	    ROLE_COORD };
	size_t	i;

	for (i = 0; i < nitems(roles); i++)
		ck_assert_int_eq(role_parse(role_name(roles[i])), roles[i]);
	ck_assert_str_eq(role_name(ROLE_CLIENT), "client");
	ck_assert_str_eq(role_name(ROLE_WORKER), "worker");
	ck_assert_str_eq(role_name(ROLE_ADMIN), "admin");
	ck_assert_int_eq(role_parse("root"), -1);
	ck_assert_int_eq(role_parse(""), -1);
	ck_assert_int_eq(role_parse(role_name(ROLE_CLIENT | ROLE_WORKER)), -1);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("dispatch");
	TCase	*tc = tcase_create("dispatch");

	tcase_add_test(tc, test_applet_table);
	tcase_add_test(tc, test_applet_unknown);
	tcase_add_test(tc, test_msg_names);
	tcase_add_test(tc, test_msg_roles);
	tcase_add_test(tc, test_role_names);
	suite_add_tcase(s, tc);
	return s;
}
