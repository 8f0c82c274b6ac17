/*
 * The SQLite store (migrations, identities and their key rotation, jobs
 * and their transitions, the job query and its pages, job logs and what a
 * job's end records, deferred writes against a second connection holding
 * the lock, the purge in batches, typed row fields) and identities/keys
 * (master key file, sealing, keyring) against real files in a private
 * temporary directory.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ident.h"
#include "msg.h"
#include "store.h"
#include "store_int.h"
#include "unit.h"
#include "util.h"

static char	tmpdir[64];
static char	dbpath[PATH_MAX];
static char	mkpath[PATH_MAX];

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/dffmpeg-store-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/state.db", tmpdir);
	snprintf(mkpath, sizeof(mkpath), "%s/master.key", tmpdir);
}

static void
teardown(void)
{
	static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
	char	p[PATH_MAX + 16];
	size_t	i;

	for (i = 0; i < nitems(sfx); i++) {
		snprintf(p, sizeof(p), "%s%s", dbpath, sfx[i]);
		unlink(p);
	}
	unlink(mkpath);
	rmdir(tmpdir);
}

static struct store *
open_db(void)
{
	struct store	*s;
	char		 err[512];

	s = store_open(dbpath, err, sizeof(err));
	ck_assert_msg(s != NULL, "store_open: %s", err);
	return s;
}

/* Run one SQL statement on the file through a separate raw connection. */
static void
raw_exec(const char *sql)
{
	sqlite3	*db;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void
raw_text(const char *sql, char *out, size_t outlen)
{
	sqlite3		*db;
	sqlite3_stmt	*st;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, outlen, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static int64_t
raw_int(const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	int64_t		 v;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

START_TEST(test_migrate_fresh_and_reopen)
{
	struct store	*s;
	char		 mode[16];

	ck_assert_int_ge(store_schema_latest(), 1);
	s = open_db();
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	store_close(s);

	raw_text("PRAGMA journal_mode", mode, sizeof(mode));
	ck_assert_str_eq(mode, "wal");
	raw_text("SELECT count(*) FROM sqlite_master WHERE name IN "
	    "('identities', 'jobs', 'job_transitions', 'workers', "
	    "'jobs_state', 'job_transitions_job')", mode, sizeof(mode));
	ck_assert_str_eq(mode, "6");
	raw_text("SELECT count(*) FROM sqlite_master WHERE name IN "
	    "('worker_transitions', 'jobs_updated', 'jobs_created', "
	    "'job_logs')", mode, sizeof(mode));
	ck_assert_str_eq(mode, "4");

	/* Re-opening migrates nothing (CREATE TABLE again would fail). */
	s = open_db();
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	store_close(s);
}
END_TEST

START_TEST(test_newer_schema_refused)
{
	struct store	*s;
	char		 sql[64], err[512] = "";

	s = open_db();
	store_close(s);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    store_schema_latest() + 1);
	raw_exec(sql);
	s = store_open(dbpath, err, sizeof(err));
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err, "newer") != NULL, "err: %s", err);
	ck_assert_msg(strstr(err, dbpath) != NULL, "err: %s", err);
}
END_TEST

static int
collect_names(const struct ident_row *r, void *arg)
{
	struct strv	*sv = arg;

	strv_push(sv, r->name);
	return 0;
}

static void
make_ident(struct ident_row *r, const char *name, int role)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->role = role;
	memset(r->sealed, 0xab, SEALED_KEY_MAX);
	r->sealed_len = SEALED_KEY_MAX;
	r->created = 1700000000123LL;
}

START_TEST(test_ident_rows)
{
	struct store	*s;
	struct ident_row r, got;
	struct strv	 names = { 0 };

	s = open_db();
	make_ident(&r, "w1", ROLE_WORKER);
	ck_assert_int_eq(store_ident_add(s, &r), 0);
	ck_assert_int_eq(store_ident_add(s, &r), 1);
	make_ident(&r, "c1", ROLE_CLIENT);
	r.sealed[0] = 0x11;
	ck_assert_int_eq(store_ident_add(s, &r), 0);

	ck_assert_int_eq(store_ident_get(s, "c1", &got), 0);
	ck_assert_str_eq(got.name, "c1");
	ck_assert_int_eq(got.role, ROLE_CLIENT);
	ck_assert_uint_eq(got.sealed_len, SEALED_KEY_MAX);
	ck_assert_mem_eq(got.sealed, r.sealed, SEALED_KEY_MAX);
	ck_assert_int_eq(got.created, 1700000000123LL);
	ck_assert_int_eq(store_ident_get(s, "nobody", &got), 1);

	ck_assert_int_eq(store_ident_list(s, collect_names, &names), 0);
	ck_assert_uint_eq(names.n, 2);
	ck_assert_str_eq(names.v[0], "c1");
	ck_assert_str_eq(names.v[1], "w1");
	strv_free(&names);

	ck_assert_int_eq(store_ident_remove(s, "w1"), 0);
	ck_assert_int_eq(store_ident_remove(s, "w1"), 1);
	ck_assert_int_eq(store_ident_get(s, "w1", &got), 1);
	ck_assert_int_eq(store_ident_list(s, collect_names, &names), 0);
	ck_assert_uint_eq(names.n, 1);
	strv_free(&names);
	store_close(s);
}
END_TEST

/* A row that does not fit its struct is refused, not truncated. */
START_TEST(test_ident_oversized_blob)
{
	struct store	*s;
	struct ident_row got;

	s = open_db();
	raw_exec("INSERT INTO identities (name, role, key_sealed, created) "
	    "VALUES ('big', 1, zeroblob(200), 0)");
	ck_assert_int_eq(store_ident_get(s, "big", &got), -1);
	raw_exec("INSERT INTO identities (name, role, key_sealed, created, "
	    "old_key_sealed, old_until) VALUES ('big-old', 1, zeroblob(72), "
	    "0, zeroblob(200), 5)");
	ck_assert_int_eq(store_ident_get(s, "big-old", &got), -1);
	store_close(s);
}
END_TEST

START_TEST(test_ident_rotate)
{
	struct store	*s;
	struct ident_row r, got;
	uint8_t		 fresh[SEALED_KEY_MAX], big[SEALED_KEY_MAX + 1];
	int64_t		 v;

	s = open_db();
	make_ident(&r, "w1", ROLE_WORKER);
	ck_assert_int_eq(store_ident_add(s, &r), 0);
	ck_assert_int_eq(store_ident_get(s, "w1", &got), 0);
	ck_assert_uint_eq(got.old_sealed_len, 0);
	ck_assert_int_eq(got.old_until, 0);

	memset(fresh, 0x22, sizeof(fresh));
	v = store_data_version(s);
	ck_assert_int_eq(store_ident_rotate(s, "w1", fresh, sizeof(fresh),
	    r.sealed, r.sealed_len, 1700000005000LL), 0);
	ck_assert_int_ne(store_data_version(s), v);
	ck_assert_int_eq(store_ident_get(s, "w1", &got), 0);
	ck_assert_str_eq(got.name, "w1");
	ck_assert_int_eq(got.role, ROLE_WORKER);
	ck_assert_int_eq(got.created, r.created);
	ck_assert_uint_eq(got.sealed_len, SEALED_KEY_MAX);
	ck_assert_mem_eq(got.sealed, fresh, SEALED_KEY_MAX);
	ck_assert_uint_eq(got.old_sealed_len, SEALED_KEY_MAX);
	ck_assert_mem_eq(got.old_sealed, r.sealed, SEALED_KEY_MAX);
	ck_assert_int_eq(got.old_until, 1700000005000LL);

	/* Without a grace period: no old key. */
	ck_assert_int_eq(store_ident_rotate(s, "w1", r.sealed, r.sealed_len,
	    NULL, 0, 0), 0);
	ck_assert_int_eq(store_ident_get(s, "w1", &got), 0);
	ck_assert_mem_eq(got.sealed, r.sealed, SEALED_KEY_MAX);
	ck_assert_uint_eq(got.old_sealed_len, 0);
	ck_assert_int_eq(got.old_until, 0);

	ck_assert_int_eq(store_ident_rotate(s, "nobody", fresh, sizeof(fresh),
	    NULL, 0, 0), 1);
	ck_assert_int_eq(store_ident_get(s, "nobody", &got), 1);
	/* Oversized keys are refused and change nothing. */
	memset(big, 0x33, sizeof(big));
	ck_assert_int_eq(store_ident_rotate(s, "w1", big, sizeof(big), NULL,
	    0, 0), -1);
	ck_assert_int_eq(store_ident_rotate(s, "w1", fresh, sizeof(fresh),
	    big, sizeof(big), 1), -1);
	ck_assert_int_eq(store_ident_get(s, "w1", &got), 0);
	ck_assert_mem_eq(got.sealed, r.sealed, SEALED_KEY_MAX);
	ck_assert_uint_eq(got.old_sealed_len, 0);
	store_close(s);
}
END_TEST

static void
make_job(struct job_row *j, const char *id, const char *state, int64_t ts)
{
	memset(j, 0, sizeof(*j));
	snprintf(j->id, sizeof(j->id), "%s", id);
	snprintf(j->client, sizeof(j->client), "c1");
	snprintf(j->session, sizeof(j->session), "sess");
	snprintf(j->binary, sizeof(j->binary), "ffmpeg");
	snprintf(j->state, sizeof(j->state), "%s", state);
	j->args = (char *)"[\"-version\"]";
	j->env = (char *)"{\"TMPDIR\":\"/tmp\"}";
	j->paths = (char *)"[\"Media\"]";
	j->created = j->updated = ts;
}

static int
collect_trans(int64_t ts, const char *from, const char *to,
    const char *reason, void *arg)
{
	struct strv	*sv = arg;
	char		 line[128];

	snprintf(line, sizeof(line), "%lld %s>%s %s", (long long)ts, from, to,
	    reason != NULL ? reason : "-");
	strv_push(sv, line);
	return 0;
}

START_TEST(test_job_insert_get)
{
	struct store	*s;
	struct job_row	 j, got;

	s = open_db();
	make_job(&j, "job1", "pending", 1000);
	j.key_sealed_len = SEALED_KEY_MAX;
	memset(j.key_sealed, 7, SEALED_KEY_MAX);
	ck_assert_int_eq(store_job_insert(s, &j), 0);
	ck_assert_int_eq(store_job_insert(s, &j), 1);

	ck_assert_int_eq(store_job_get(s, "job1", &got), 0);
	ck_assert_str_eq(got.id, "job1");
	ck_assert_str_eq(got.client, "c1");
	ck_assert_str_eq(got.session, "sess");
	ck_assert_str_eq(got.binary, "ffmpeg");
	ck_assert_str_eq(got.args, "[\"-version\"]");
	ck_assert_ptr_null(got.cwd);
	ck_assert_str_eq(got.env, "{\"TMPDIR\":\"/tmp\"}");
	ck_assert_str_eq(got.paths, "[\"Media\"]");
	ck_assert_str_eq(got.state, "pending");
	ck_assert_str_eq(got.worker, "");
	ck_assert_ptr_null(got.reason);
	ck_assert_uint_eq(got.key_sealed_len, SEALED_KEY_MAX);
	ck_assert_mem_eq(got.key_sealed, j.key_sealed, SEALED_KEY_MAX);
	ck_assert_int_eq(got.created, 1000);
	store_job_clear(&got);
	ck_assert_int_eq(store_job_get(s, "nope", &got), 1);

	ck_assert_int_eq(store_job_set_exit(s, "job1", -1, 9), 0);
	ck_assert_int_eq(store_job_set_exit(s, "nope", 0, 0), 1);
	ck_assert_int_eq(store_job_get(s, "job1", &got), 0);
	ck_assert_int_eq(got.exit_code, -1);
	ck_assert_int_eq(got.exit_signal, 9);
	store_job_clear(&got);
	store_close(s);
}
END_TEST

START_TEST(test_job_transition)
{
	struct store	*s;
	struct job_row	 j, got;
	struct strv	 tr = { 0 };

	s = open_db();
	make_job(&j, "job1", "pending", 1000);
	ck_assert_int_eq(store_job_insert(s, &j), 0);

	ck_assert_int_eq(store_job_transition(s, "job1", "pending", "assigned",
	    "w1", NULL, 2000), 0);
	/* Wrong `from`: nothing changes, nothing is recorded. */
	ck_assert_int_eq(store_job_transition(s, "job1", "pending", "running",
	    NULL, NULL, 2500), 1);
	ck_assert_int_eq(store_job_transition(s, "nope", "pending", "running",
	    NULL, NULL, 2500), 1);
	ck_assert_int_eq(store_job_transition(s, "job1", "assigned",
	    "running", NULL, NULL, 3000), 0);
	ck_assert_int_eq(store_job_transition(s, "job1", "running", "failed",
	    NULL, "worker lost", 4000), 0);
	ck_assert_int_eq(store_job_transition(s, "job1", "running",
	    "completed", NULL, NULL, 5000), 1);

	ck_assert_int_eq(store_job_get(s, "job1", &got), 0);
	ck_assert_str_eq(got.state, "failed");
	ck_assert_str_eq(got.worker, "w1");
	ck_assert_str_eq(got.reason, "worker lost");
	ck_assert_int_eq(got.updated, 4000);
	store_job_clear(&got);

	ck_assert_int_eq(store_job_transitions(s, "job1", collect_trans, &tr),
	    0);
	ck_assert_uint_eq(tr.n, 4);
	ck_assert_str_eq(tr.v[0], "1000 >pending -");
	ck_assert_str_eq(tr.v[1], "2000 pending>assigned -");
	ck_assert_str_eq(tr.v[2], "3000 assigned>running -");
	ck_assert_str_eq(tr.v[3], "4000 running>failed worker lost");
	strv_free(&tr);
	store_close(s);
}
END_TEST

/* Inside the caller's transaction a transition joins it. */
START_TEST(test_job_transition_joins_tx)
{
	struct store	*s;
	struct job_row	 j, got;
	struct strv	 tr = { 0 };

	s = open_db();
	make_job(&j, "job1", "pending", 1000);
	ck_assert_int_eq(store_job_insert(s, &j), 0);
	ck_assert_int_eq(store_begin(s), 0);
	ck_assert_int_eq(store_job_transition(s, "job1", "pending", "assigned",
	    "w1", NULL, 2000), 0);
	ck_assert_int_eq(store_rollback(s), 0);
	ck_assert_int_eq(store_job_get(s, "job1", &got), 0);
	ck_assert_str_eq(got.state, "pending");
	store_job_clear(&got);
	ck_assert_int_eq(store_job_transitions(s, "job1", collect_trans, &tr),
	    0);
	ck_assert_uint_eq(tr.n, 1);
	strv_free(&tr);
	store_close(s);
}
END_TEST

static int
collect_jobs(const struct job_row *j, void *arg)
{
	struct strv	*sv = arg;

	strv_push(sv, j->id);
	return 0;
}

START_TEST(test_job_list_purge)
{
	static const char *const terminal[] = { "completed", "failed",
	    "canceled", NULL };
	static const char *const active[] = { "running", "pending", NULL };
	struct store	*s;
	struct job_row	 j;
	struct strv	 ids = { 0 }, tr = { 0 };

	s = open_db();
	make_job(&j, "old-done", "completed", 100);
	ck_assert_int_eq(store_job_insert(s, &j), 0);
	make_job(&j, "old-run", "running", 200);
	ck_assert_int_eq(store_job_insert(s, &j), 0);
	make_job(&j, "new-fail", "failed", 5000);
	ck_assert_int_eq(store_job_insert(s, &j), 0);
	make_job(&j, "old-cancel", "canceled", 300);
	ck_assert_int_eq(store_job_insert(s, &j), 0);

	ck_assert_int_eq(store_job_list(s, NULL, collect_jobs, &ids), 0);
	ck_assert_uint_eq(ids.n, 4);
	ck_assert_str_eq(ids.v[0], "old-done");
	ck_assert_str_eq(ids.v[3], "new-fail");
	strv_free(&ids);
	ck_assert_int_eq(store_job_list(s, active, collect_jobs, &ids), 0);
	ck_assert_uint_eq(ids.n, 1);
	ck_assert_str_eq(ids.v[0], "old-run");
	strv_free(&ids);

	ck_assert_int_eq(store_job_purge(s, terminal, 1000), 2);
	ck_assert_int_eq(store_job_purge(s, terminal, 1000), 0);
	ck_assert_int_eq(store_job_list(s, NULL, collect_jobs, &ids), 0);
	ck_assert_uint_eq(ids.n, 2);
	ck_assert_str_eq(ids.v[0], "old-run");
	ck_assert_str_eq(ids.v[1], "new-fail");
	strv_free(&ids);
	/* Their transitions went with them. */
	ck_assert_int_eq(store_job_transitions(s, "old-done", collect_trans,
	    &tr), 0);
	ck_assert_uint_eq(tr.n, 0);
	ck_assert_int_eq(store_worker_seen(s, "w1", "sess", "online", 1), 0);
	ck_assert_int_eq(store_worker_seen(s, "w1", "sess2", "gone", 2), 0);
	store_close(s);
}
END_TEST

/* Deferred writes reach the file only at store_flush, all at once, with
 * the semantics of the direct calls. */
START_TEST(test_defer_flush)
{
	struct store	*s;
	struct job_row	 j, got;
	struct strv	 tr = { 0 };
	uint8_t		 key[SEALED_KEY_MAX];

	s = open_db();
	make_job(&j, "job1", "pending", 1000);
	ck_assert_int_eq(store_job_insert(s, &j), 0);
	ck_assert_uint_eq(store_pending(s), 0);

	store_defer(s, true);
	make_job(&j, "job2", "pending", 1100);
	ck_assert_int_eq(store_job_insert(s, &j), 0);
	ck_assert_int_eq(store_job_insert(s, &j), 0);	/* a duplicate */
	ck_assert_int_eq(store_job_transition(s, "job1", "pending", "assigned",
	    "w1", NULL, 2000), 0);
	/* From a state the job is no longer in when this runs. */
	ck_assert_int_eq(store_job_transition(s, "job1", "pending", "running",
	    NULL, NULL, 2100), 0);
	ck_assert_int_eq(store_job_transition(s, "nope", "pending", "running",
	    NULL, NULL, 2100), 0);
	memset(key, 0x5a, sizeof(key));
	ck_assert_int_eq(store_job_set_key(s, "job1", key, sizeof(key)), 0);
	ck_assert_int_eq(store_job_set_exit(s, "job2", 3, 0), 0);
	ck_assert_int_eq(store_worker_seen(s, "w1", "sess", "online", 2000),
	    0);
	ck_assert_int_eq(store_worker_transition(s, "w1", NULL, "online",
	    "registered", 2000), 0);
	ck_assert_uint_eq(store_pending(s), 9);

	/* Another connection, and this one's reads, see none of it. */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM jobs"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM job_transitions"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM workers"), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM worker_transitions"),
	    0);
	ck_assert_int_eq(store_job_get(s, "job2", &got), 1);
	ck_assert_int_eq(store_job_get(s, "job1", &got), 0);
	ck_assert_str_eq(got.state, "pending");
	store_job_clear(&got);

	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_uint_eq(store_pending(s), 0);
	ck_assert_int_eq(store_flush(s), 0);	/* empty */

	ck_assert_int_eq(raw_int("SELECT count(*) FROM jobs"), 2);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM workers"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM worker_transitions"),
	    1);
	/* One first transition for job2 despite the duplicate insert. */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM job_transitions "
	    "WHERE job = 'job2'"), 1);
	ck_assert_int_eq(store_job_transitions(s, "job1", collect_trans, &tr),
	    0);
	ck_assert_uint_eq(tr.n, 2);
	ck_assert_str_eq(tr.v[0], "1000 >pending -");
	ck_assert_str_eq(tr.v[1], "2000 pending>assigned -");
	strv_free(&tr);
	ck_assert_int_eq(store_job_get(s, "job1", &got), 0);
	ck_assert_str_eq(got.state, "assigned");
	ck_assert_str_eq(got.worker, "w1");
	ck_assert_uint_eq(got.key_sealed_len, sizeof(key));
	ck_assert_mem_eq(got.key_sealed, key, sizeof(key));
	ck_assert(!got.exited);
	store_job_clear(&got);
	ck_assert_int_eq(store_job_get(s, "job2", &got), 0);
	ck_assert(got.exited);
	ck_assert_int_eq(got.exit_code, 3);
	store_job_clear(&got);

	/* Off again: writes are direct and report "no change" again. */
	store_defer(s, false);
	ck_assert_int_eq(store_job_transition(s, "job1", "pending", "running",
	    NULL, NULL, 3000), 1);
	ck_assert_int_eq(store_job_insert(s, &j), 1);
	store_close(s);
}
END_TEST

/* What is still queued at store_close is written. */
START_TEST(test_defer_close_writes)
{
	struct store	*s;
	struct job_row	 j;

	s = open_db();
	store_defer(s, true);
	make_job(&j, "job1", "pending", 1000);
	ck_assert_int_eq(store_job_insert(s, &j), 0);
	store_close(s);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM jobs"), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM job_transitions"), 1);
}
END_TEST

/* Another connection holds the write lock: the flush gives up within its
 * short busy timeout, keeps the queue, and writes it exactly once later. */
START_TEST(test_defer_busy)
{
	static const char *const terminal[] = { "completed", NULL };
	struct store	*s;
	struct job_row	 j;
	sqlite3		*other;
	int64_t		 t0, took;
	char		 id[16];
	int		 i;

	s = open_db();
	store_set_busy_timeout(s, 20);
	store_defer(s, true);
	for (i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "job%d", i);
		make_job(&j, id, "pending", 1000 + i);
		ck_assert_int_eq(store_job_insert(s, &j), 0);
		ck_assert_int_eq(store_job_transition(s, id, "pending",
		    "assigned", "w1", NULL, 2000 + i), 0);
	}
	ck_assert_uint_eq(store_pending(s), 10);

	ck_assert_int_eq(sqlite3_open(dbpath, &other), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(other, "BEGIN IMMEDIATE; INSERT INTO "
	    "workers VALUES ('w9', 's', 'online', 1)", NULL, NULL, NULL),
	    SQLITE_OK);

	t0 = mono_ms();
	ck_assert_int_eq(store_flush(s), 1);
	took = mono_ms() - t0;
	ck_assert_msg(took < 1000, "store_flush took %lld ms",
	    (long long)took);
	ck_assert_uint_eq(store_pending(s), 10);
	ck_assert_int_eq(store_flush(s), 1);
	ck_assert_uint_eq(store_pending(s), 10);
	/* The purge runs at once: busy, it deletes nothing, quickly. */
	t0 = mono_ms();
	ck_assert_int_eq(store_job_purge_batch(s, terminal, 10000, 10), 0);
	ck_assert_int_lt(mono_ms() - t0, 1000);

	ck_assert_int_eq(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(other);

	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_uint_eq(store_pending(s), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM jobs"), 5);
	ck_assert_int_eq(raw_int("SELECT count(DISTINCT id) FROM jobs"), 5);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM jobs WHERE state = "
	    "'assigned'"), 5);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM job_transitions"), 10);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM workers"), 1);
	store_close(s);
}
END_TEST

/* A statement that fails on its own is skipped; the rest is written. */
START_TEST(test_defer_skip_failed)
{
	struct store	*s;
	struct job_row	 j;

	s = open_db();
	store_defer(s, true);
	make_job(&j, "job1", "pending", 1000);
	ck_assert_int_eq(store_job_insert(s, &j), 0);
	/* NOT NULL to_state: fails when it runs. */
	ck_assert_int_eq(store_job_transition(s, "job1", "pending", NULL,
	    NULL, NULL, 1500), 0);
	ck_assert_int_eq(store_worker_transition(s, "w1", "", NULL, NULL,
	    1500), 0);
	ck_assert_int_eq(store_job_transition(s, "job1", "pending",
	    "assigned", "w1", NULL, 2000), 0);
	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_uint_eq(store_pending(s), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM job_transitions"), 2);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM worker_transitions"),
	    0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM jobs WHERE state = "
	    "'assigned'"), 1);
	store_close(s);
}
END_TEST

/* At the bound the next deferred write flushes synchronously first,
 * waiting the normal busy timeout, not the short one. */
START_TEST(test_defer_bound)
{
	struct store	*s;
	sqlite3		*other;
	int64_t		 t0;
	size_t		 i;

	s = open_db();
	store_set_busy_timeout(s, 20);
	store_defer(s, true);
	for (i = 0; i < STORE_QUEUE_MAX; i++)
		ck_assert_int_eq(store_worker_transition(s, "w1", "a", "b",
		    NULL, (int64_t)i), 0);
	ck_assert_uint_eq(store_pending(s), STORE_QUEUE_MAX);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM worker_transitions"),
	    0);

	/* Locked for longer than the normal busy timeout: the write that
	 * does not fit is refused, the queue kept. */
	ck_assert_int_eq(sqlite3_open(dbpath, &other), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(other, "BEGIN IMMEDIATE; INSERT INTO "
	    "workers VALUES ('w9', 's', 'online', 1)", NULL, NULL, NULL),
	    SQLITE_OK);
	t0 = mono_ms();
	ck_assert_int_eq(store_worker_transition(s, "w1", "b", "x", NULL,
	    (int64_t)i), -1);
	ck_assert_int_ge(mono_ms() - t0, STORE_BUSY_TIMEOUT_MS - 100);
	ck_assert_uint_eq(store_pending(s), STORE_QUEUE_MAX);
	ck_assert_int_eq(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(other);

	/* Free again: written synchronously, then the new one queued. */
	ck_assert_int_eq(store_worker_transition(s, "w1", "b", "c", NULL,
	    (int64_t)i), 0);
	ck_assert_uint_eq(store_pending(s), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM worker_transitions"),
	    STORE_QUEUE_MAX);
	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM worker_transitions"),
	    STORE_QUEUE_MAX + 1);
	store_close(s);
}
END_TEST

START_TEST(test_purge_batch)
{
	static const char *const terminal[] = { "completed", "failed",
	    "canceled", NULL };
	static const int64_t order[] = { 300, 100, 500, 200, 400 };
	struct store	*s;
	struct job_row	 j;
	struct strv	 ids = { 0 }, tr = { 0 };
	char		 id[16];
	size_t		 i;

	s = open_db();
	for (i = 0; i < nitems(order); i++) {
		snprintf(id, sizeof(id), "done%lld", (long long)order[i]);
		make_job(&j, id, "pending", order[i] - 50);
		ck_assert_int_eq(store_job_insert(s, &j), 0);
		ck_assert_int_eq(store_job_transition(s, id, "pending",
		    "completed", NULL, NULL, order[i]), 0);
	}
	make_job(&j, "active", "running", 10);
	ck_assert_int_eq(store_job_insert(s, &j), 0);
	make_job(&j, "recent", "failed", 5000);
	ck_assert_int_eq(store_job_insert(s, &j), 0);
	ck_assert_int_eq(store_worker_transition(s, "w1", NULL, "online",
	    NULL, 10), 0);
	ck_assert_int_eq(store_worker_transition(s, "w1", "online", "stale",
	    "missed heartbeats", 20), 0);
	ck_assert_int_eq(store_worker_transition(s, "w1", "stale", "online",
	    NULL, 2000), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM job_transitions"), 12);

	ck_assert_int_eq(store_job_purge_batch(s, terminal, 1000, 0), -1);
	/* Oldest first, at most `limit` a call. */
	ck_assert_int_eq(store_job_purge_batch(s, terminal, 1000, 2), 2);
	ck_assert_int_eq(store_job_get(s, "done100", &j), 1);
	ck_assert_int_eq(store_job_get(s, "done200", &j), 1);
	ck_assert_int_eq(store_job_get(s, "done300", &j), 0);
	store_job_clear(&j);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM job_transitions WHERE "
	    "job IN ('done100', 'done200')"), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM job_transitions"), 8);
	ck_assert_int_eq(store_job_purge_batch(s, terminal, 1000, 2), 2);
	ck_assert_int_eq(store_job_get(s, "done500", &j), 0);
	store_job_clear(&j);
	/* The last old job, then the oldest worker transition. */
	ck_assert_int_eq(store_job_purge_batch(s, terminal, 1000, 2), 2);
	ck_assert_int_eq(store_job_purge_batch(s, terminal, 1000, 2), 1);
	ck_assert_int_eq(store_job_purge_batch(s, terminal, 1000, 2), 0);

	ck_assert_int_eq(store_job_list(s, NULL, collect_jobs, &ids), 0);
	ck_assert_uint_eq(ids.n, 2);
	ck_assert_str_eq(ids.v[0], "active");
	ck_assert_str_eq(ids.v[1], "recent");
	strv_free(&ids);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM job_transitions"), 2);
	ck_assert_int_eq(store_worker_transitions(s, "w1", collect_trans, &tr),
	    0);
	ck_assert_uint_eq(tr.n, 1);
	ck_assert_str_eq(tr.v[0], "2000 stale>online -");
	strv_free(&tr);

	/* The unbounded purge takes worker transitions too, and counts jobs. */
	ck_assert_int_eq(store_job_purge(s, terminal, 6000), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM worker_transitions"),
	    0);
	store_close(s);
}
END_TEST

START_TEST(test_worker_transitions)
{
	struct store	*s;
	struct strv	 tr = { 0 };

	s = open_db();
	ck_assert_int_eq(store_worker_transition(s, "w1", NULL, "online",
	    "registered", 100), 0);
	ck_assert_int_eq(store_worker_transition(s, "w2", "", "online", NULL,
	    150), 0);
	ck_assert_int_eq(store_worker_transition(s, "w1", "online", "gone",
	    "will", 200), 0);
	ck_assert_int_eq(store_worker_transitions(s, "w1", collect_trans, &tr),
	    0);
	ck_assert_uint_eq(tr.n, 2);
	ck_assert_str_eq(tr.v[0], "100 >online registered");
	ck_assert_str_eq(tr.v[1], "200 online>gone will");
	strv_free(&tr);
	ck_assert_int_eq(store_worker_transitions(s, "w3", collect_trans, &tr),
	    0);
	ck_assert_uint_eq(tr.n, 0);
	store_close(s);
}
END_TEST

/* A file of schema version 1 (as the previous code created it) keeps its
 * jobs, which read as not exited. */
START_TEST(test_migrate_from_v1)
{
	struct store	*s;
	struct job_row	 got;
	char		 err[512];

	ck_assert_int_ge(store_schema_latest(), 2);
	ck_assert_msg(store__create_at(dbpath, 1, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(raw_int("PRAGMA user_version"), 1);
	raw_exec("INSERT INTO jobs (id, client, session, binary, args, env, "
	    "paths, state, exit_code, created, updated) VALUES ('old', 'c1', "
	    "'sess', 'ffmpeg', '[\"-version\"]', '{}', '[]', 'completed', 0, "
	    "100, 200)");
	raw_exec("INSERT INTO job_transitions (job, ts, from_state, to_state) "
	    "VALUES ('old', 100, '', 'completed')");

	s = open_db();
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	ck_assert_int_eq(store_job_get(s, "old", &got), 0);
	ck_assert_str_eq(got.state, "completed");
	ck_assert_str_eq(got.args, "[\"-version\"]");
	ck_assert_int_eq(got.updated, 200);
	ck_assert(!got.exited);
	store_job_clear(&got);
	ck_assert_int_eq(store_job_set_exit(s, "old", 0, 0), 0);
	ck_assert_int_eq(store_job_get(s, "old", &got), 0);
	ck_assert(got.exited);
	store_job_clear(&got);
	ck_assert_int_eq(store_worker_transition(s, "w1", NULL, "online", NULL,
	    1), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM job_transitions"), 1);
	store_close(s);
}
END_TEST

/* A file of schema version 2 keeps its rows; the new columns read as
 * their defaults (no log yet: log_chunks -1; no old key). */
START_TEST(test_migrate_from_v2)
{
	struct store	*s;
	struct job_row	 got;
	struct ident_row r;
	struct strv	 tr = { 0 }, ids = { 0 };
	struct job_filter f = { 0 };
	char		 err[512];

	ck_assert_int_ge(store_schema_latest(), 3);
	ck_assert_msg(store__create_at(dbpath, 2, err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(raw_int("PRAGMA user_version"), 2);
	raw_exec("INSERT INTO identities (name, role, key_sealed, created) "
	    "VALUES ('w1', 2, x'0102030405', 77)");
	raw_exec("INSERT INTO jobs (id, client, session, binary, args, env, "
	    "paths, state, worker, exit_code, exit_signal, reason, created, "
	    "updated, exited) VALUES ('old', 'c1', 'sess', 'ffmpeg', "
	    "'[\"-version\"]', '{}', '[]', 'failed', 'w1', 1, 0, 'boom', 100, "
	    "200, 1)");
	raw_exec("INSERT INTO job_transitions (job, ts, from_state, to_state) "
	    "VALUES ('old', 100, '', 'failed')");
	raw_exec("INSERT INTO worker_transitions (worker, ts, from_state, "
	    "to_state, reason) VALUES ('w1', 50, '', 'online', 'registered')");

	s = open_db();
	ck_assert_int_eq(store_schema_version(s), store_schema_latest());
	ck_assert_int_eq(store_job_get(s, "old", &got), 0);
	ck_assert_str_eq(got.state, "failed");
	ck_assert_str_eq(got.worker, "w1");
	ck_assert_str_eq(got.reason, "boom");
	ck_assert_str_eq(got.args, "[\"-version\"]");
	ck_assert_int_eq(got.exit_code, 1);
	ck_assert(got.exited);
	ck_assert_int_eq(got.created, 100);
	ck_assert_int_eq(got.updated, 200);
	ck_assert(!got.detached);
	ck_assert_int_eq(got.bytes_in, 0);
	ck_assert_int_eq(got.bytes_out, 0);
	ck_assert_ptr_null(got.progress);
	ck_assert_ptr_null(got.log_tail);
	ck_assert_int_eq(got.log_chunks, -1);
	ck_assert_int_eq(got.log_skipped, 0);
	store_job_clear(&got);

	ck_assert_int_eq(store_ident_get(s, "w1", &r), 0);
	ck_assert_int_eq(r.role, ROLE_WORKER);
	ck_assert_uint_eq(r.sealed_len, 5);
	ck_assert_mem_eq(r.sealed, "\x01\x02\x03\x04\x05", 5);
	ck_assert_int_eq(r.created, 77);
	ck_assert_uint_eq(r.old_sealed_len, 0);
	ck_assert_int_eq(r.old_until, 0);

	ck_assert_int_eq(store_job_transitions(s, "old", collect_trans, &tr),
	    0);
	ck_assert_uint_eq(tr.n, 1);
	ck_assert_str_eq(tr.v[0], "100 >failed -");
	strv_free(&tr);
	ck_assert_int_eq(store_worker_transitions(s, "w1", collect_trans, &tr),
	    0);
	ck_assert_uint_eq(tr.n, 1);
	ck_assert_str_eq(tr.v[0], "50 >online registered");
	strv_free(&tr);

	/* The old job takes the new kinds of rows. */
	ck_assert_int_eq(store_log_add(s, "old", 1, 150, 0, "log\n"), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM job_logs"), 1);
	ck_assert_int_eq(store_job_query(s, &f, collect_jobs, &ids), 0);
	ck_assert_uint_eq(ids.n, 1);
	ck_assert_str_eq(ids.v[0], "old");
	strv_free(&ids);
	store_close(s);
}
END_TEST

/* Jobs for the query tests: id, state, created, updated, client, worker. */
static void
add_job(struct store *s, const char *id, const char *state, int64_t created,
    int64_t updated, const char *client, const char *worker)
{
	struct job_row	j;

	make_job(&j, id, state, created);
	j.updated = updated;
	snprintf(j.client, sizeof(j.client), "%s", client);
	snprintf(j.worker, sizeof(j.worker), "%s", worker);
	ck_assert_int_eq(store_job_insert(s, &j), 0);
}

/* Run a query; the ids it gave, joined with ' '. */
static void
query(struct store *s, const struct job_filter *f, const char *want)
{
	struct strv	ids = { 0 };
	char		got[256] = "";
	size_t		i;

	ck_assert_int_eq(store_job_query(s, f, collect_jobs, &ids), 0);
	for (i = 0; i < ids.n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
		    i > 0 ? " " : "", ids.v[i]);
	ck_assert_str_eq(got, want);
	strv_free(&ids);
}

static int
first_only(const struct job_row *j, void *arg)
{
	strv_push(arg, j->id);
	return 1;
}

START_TEST(test_job_query)
{
	static const char *const active[] = { "running", "pending", NULL };
	static const char *const done[] = { "completed", NULL };
	static const char *const bad[] = { "no such", NULL };
	struct store		*s;
	struct job_filter	 f;
	struct strv		 ids = { 0 };

	s = open_db();
	add_job(s, "a", "completed", 100, 150, "c1", "w1");
	add_job(s, "b", "running", 200, 200, "c2", "w1");
	add_job(s, "c", "failed", 300, 5000, "c1", "w2");
	add_job(s, "d", "pending", 400, 400, "c1", "");
	add_job(s, "e", "canceled", 500, 600, "c2", "w2");
	add_job(s, "f", "assigned", 50, 60, "c3", "w3");

	/* Newest first. */
	memset(&f, 0, sizeof(f));
	query(s, &f, "e d c b a f");
	f.states = active;
	query(s, &f, "d b");
	f.states = done;
	query(s, &f, "a");

	/* Finished jobs updated since; unfinished ones however old. */
	memset(&f, 0, sizeof(f));
	f.since = 1000;
	query(s, &f, "d c b f");
	f.since = 600;
	query(s, &f, "e d c b f");
	f.states = done;
	query(s, &f, "");

	memset(&f, 0, sizeof(f));
	f.client = "c1";
	query(s, &f, "d c a");
	f.since = 1000;
	query(s, &f, "d c");
	memset(&f, 0, sizeof(f));
	f.worker = "w2";
	query(s, &f, "e c");
	f.worker = "";
	query(s, &f, "d");
	f.worker = "nobody";
	query(s, &f, "");

	memset(&f, 0, sizeof(f));
	f.limit = 2;
	query(s, &f, "e d");
	f.before_created = 400;
	f.before_id = "d";
	query(s, &f, "c b");
	f.limit = 0;
	query(s, &f, "c b a f");

	/* The callback stops it. */
	memset(&f, 0, sizeof(f));
	ck_assert_int_eq(store_job_query(s, &f, first_only, &ids), 0);
	ck_assert_uint_eq(ids.n, 1);
	ck_assert_str_eq(ids.v[0], "e");
	strv_free(&ids);

	f.states = bad;
	ck_assert_int_eq(store_job_query(s, &f, collect_jobs, &ids), -1);
	ck_assert_uint_eq(ids.n, 0);
	store_close(s);
}
END_TEST

struct page {
	struct strv	ids;
	int64_t		last_created;
	char		last_id[ID_BUF];
	int		rows;
};

static int
collect_page(const struct job_row *j, void *arg)
{
	struct page	*p = arg;

	strv_push(&p->ids, j->id);
	p->last_created = j->created;
	snprintf(p->last_id, sizeof(p->last_id), "%s", j->id);
	p->rows++;
	return 0;
}

/* Walking pages from the cursor of the last row returns each job once,
 * in order, even across jobs created in the same millisecond. */
START_TEST(test_job_query_pages)
{
	static const char *const want[] = { "late", "s7", "s6", "s5", "s4",
	    "s3", "s2", "s1", "early2", "early1" };
	static const char *const active[] = { "running", NULL };
	struct store		*s;
	struct job_filter	 f;
	struct page		 p;
	char			 id[16];
	int			 i, pages, limit;

	s = open_db();
	add_job(s, "early1", "completed", 900, 900, "c1", "w1");
	add_job(s, "early2", "running", 900, 900, "c1", "w1");
	/* Inserted out of id order on purpose. */
	for (i = 7; i >= 1; i -= 2) {
		snprintf(id, sizeof(id), "s%d", i);
		add_job(s, id, i % 3 ? "running" : "failed", 1000, 1000, "c1",
		    "w1");
	}
	for (i = 2; i <= 6; i += 2) {
		snprintf(id, sizeof(id), "s%d", i);
		add_job(s, id, "running", 1000, 1000, "c1", "w1");
	}
	add_job(s, "late", "pending", 1100, 1100, "c1", "");

	for (limit = 1; limit <= 4; limit++) {
		memset(&f, 0, sizeof(f));
		memset(&p, 0, sizeof(p));
		f.limit = limit;
		for (pages = 0; pages < 20; pages++) {
			p.rows = 0;
			ck_assert_int_eq(store_job_query(s, &f, collect_page,
			    &p), 0);
			ck_assert_int_le(p.rows, limit);
			if (p.rows == 0)
				break;
			f.before_created = p.last_created;
			f.before_id = p.last_id;
		}
		ck_assert_int_eq(pages, (nitems(want) + limit - 1) / limit);
		ck_assert_uint_eq(p.ids.n, nitems(want));
		for (i = 0; i < (int)nitems(want); i++)
			ck_assert_str_eq(p.ids.v[i], want[i]);
		strv_free(&p.ids);
	}

	/* Pages of a filtered query. */
	memset(&f, 0, sizeof(f));
	memset(&p, 0, sizeof(p));
	f.states = active;
	f.limit = 2;
	f.before_created = 1000;
	f.before_id = "s5";
	ck_assert_int_eq(store_job_query(s, &f, collect_page, &p), 0);
	ck_assert_uint_eq(p.ids.n, 2);
	ck_assert_str_eq(p.ids.v[0], "s4");
	ck_assert_str_eq(p.ids.v[1], "s2");
	strv_free(&p.ids);
	store_close(s);
}
END_TEST

START_TEST(test_job_end)
{
	struct store	*s;
	struct job_row	 j, got;

	s = open_db();
	make_job(&j, "job1", "running", 1000);
	j.detached = true;
	ck_assert_int_eq(store_job_insert(s, &j), 0);
	ck_assert_int_eq(store_job_get(s, "job1", &got), 0);
	ck_assert(got.detached);
	ck_assert_int_eq(got.bytes_in, 0);
	ck_assert_int_eq(got.bytes_out, 0);
	ck_assert_ptr_null(got.progress);
	ck_assert_ptr_null(got.log_tail);
	ck_assert_int_eq(got.log_chunks, -1);
	ck_assert_int_eq(got.log_skipped, 0);
	store_job_clear(&got);

	ck_assert_int_eq(store_job_set_end(s, "job1", 1234567890123LL, 4567,
	    "frame=200 out_time_ms=8000 duration_ms=8000", "last words\n", 3,
	    99), 0);
	ck_assert_int_eq(store_job_get(s, "job1", &got), 0);
	ck_assert_int_eq(got.bytes_in, 1234567890123LL);
	ck_assert_int_eq(got.bytes_out, 4567);
	ck_assert_str_eq(got.progress,
	    "frame=200 out_time_ms=8000 duration_ms=8000");
	ck_assert_str_eq(got.log_tail, "last words\n");
	ck_assert_int_eq(got.log_chunks, 3);
	ck_assert_int_eq(got.log_skipped, 99);
	ck_assert_str_eq(got.state, "running");
	store_job_clear(&got);

	/* No progress in the report: the last one stays. */
	ck_assert_int_eq(store_job_set_end(s, "job1", 1, 2, NULL, "", 0, 0),
	    0);
	ck_assert_int_eq(store_job_get(s, "job1", &got), 0);
	ck_assert_str_eq(got.progress,
	    "frame=200 out_time_ms=8000 duration_ms=8000");
	ck_assert_int_eq(got.bytes_in, 1);
	ck_assert_int_eq(got.bytes_out, 2);
	ck_assert_str_eq(got.log_tail, "");
	ck_assert_int_eq(got.log_chunks, 0);
	ck_assert_int_eq(got.log_skipped, 0);
	store_job_clear(&got);

	/* Deferred like the other writes of the loop. */
	store_defer(s, true);
	ck_assert_int_eq(store_job_set_end(s, "job1", 5, 6, "frame=300", "t",
	    7, 8), 0);
	ck_assert_uint_eq(store_pending(s), 1);
	ck_assert_int_eq(store_job_get(s, "job1", &got), 0);
	ck_assert_int_eq(got.bytes_in, 1);
	store_job_clear(&got);
	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_int_eq(store_job_get(s, "job1", &got), 0);
	ck_assert_str_eq(got.progress, "frame=300");
	ck_assert_int_eq(got.bytes_in, 5);
	ck_assert_int_eq(got.bytes_out, 6);
	ck_assert_str_eq(got.log_tail, "t");
	ck_assert_int_eq(got.log_chunks, 7);
	ck_assert_int_eq(got.log_skipped, 8);
	store_job_clear(&got);
	store_close(s);
}
END_TEST

static int
collect_log(int64_t seq, int64_t ts, int64_t skipped, const char *text,
    size_t len, void *arg)
{
	struct strv	*sv = arg;
	char		 line[128];

	ck_assert_uint_eq(strlen(text), len);
	snprintf(line, sizeof(line), "%lld %lld %lld %s", (long long)seq,
	    (long long)ts, (long long)skipped, text);
	strv_push(sv, line);
	return 0;
}

static int
collect_log_first(int64_t seq, int64_t ts, int64_t skipped,
    const char *text, size_t len, void *arg)
{
	collect_log(seq, ts, skipped, text, len, arg);
	return 1;
}

static int
collect_sizes(int64_t seq, int64_t len, void *arg)
{
	struct strv	*sv = arg;
	char		 line[64];

	snprintf(line, sizeof(line), "%lld:%lld", (long long)seq,
	    (long long)len);
	strv_push(sv, line);
	return 0;
}

START_TEST(test_job_log)
{
	static const char *const terminal[] = { "completed", "failed",
	    "canceled", NULL };
	struct store	*s;
	struct job_row	 j;
	struct strv	 sv = { 0 };

	s = open_db();
	make_job(&j, "j1", "running", 1000);
	ck_assert_int_eq(store_job_insert(s, &j), 0);
	make_job(&j, "j2", "completed", 1000);
	ck_assert_int_eq(store_job_insert(s, &j), 0);

	/* Added out of order; listed by seq.  A repeated seq is ignored. */
	ck_assert_int_eq(store_log_add(s, "j1", 1, 10, 0, "one\n"), 0);
	ck_assert_int_eq(store_log_add(s, "j1", 3, 30, 512, "three\n"), 0);
	ck_assert_int_eq(store_log_add(s, "j1", 2, 20, 0, "caf\xc3\xa9\n"),
	    0);
	ck_assert_int_eq(store_log_add(s, "j1", 2, 25, 1, "again\n"), 0);
	ck_assert_int_eq(store_log_add(s, "j2", 1, 40, 0, "other\n"), 0);

	ck_assert_int_eq(store_log_list(s, "j1", 0, collect_log, &sv), 0);
	ck_assert_uint_eq(sv.n, 3);
	ck_assert_str_eq(sv.v[0], "1 10 0 one\n");
	ck_assert_str_eq(sv.v[1], "2 20 0 caf\xc3\xa9\n");
	ck_assert_str_eq(sv.v[2], "3 30 512 three\n");
	strv_free(&sv);
	ck_assert_int_eq(store_log_list(s, "j1", 1, collect_log, &sv), 0);
	ck_assert_uint_eq(sv.n, 2);
	ck_assert_str_eq(sv.v[0], "2 20 0 caf\xc3\xa9\n");
	strv_free(&sv);
	ck_assert_int_eq(store_log_list(s, "j1", 3, collect_log, &sv), 0);
	ck_assert_uint_eq(sv.n, 0);
	ck_assert_int_eq(store_log_list(s, "nope", 0, collect_log, &sv), 0);
	ck_assert_uint_eq(sv.n, 0);
	ck_assert_int_eq(store_log_list(s, "j1", 0, collect_log_first, &sv),
	    0);
	ck_assert_uint_eq(sv.n, 1);
	strv_free(&sv);

	/* Sizes in bytes, not characters. */
	ck_assert_int_eq(store_log_sizes(s, "j1", collect_sizes, &sv), 0);
	ck_assert_uint_eq(sv.n, 3);
	ck_assert_str_eq(sv.v[0], "1:4");
	ck_assert_str_eq(sv.v[1], "2:6");
	ck_assert_str_eq(sv.v[2], "3:6");
	strv_free(&sv);

	ck_assert_int_eq(store_log_drop(s, "j1", 1), 0);
	ck_assert_int_eq(store_log_drop(s, "j1", 9), 0);
	ck_assert_int_eq(store_log_list(s, "j1", 0, collect_log, &sv), 0);
	ck_assert_uint_eq(sv.n, 2);
	ck_assert_str_eq(sv.v[0], "2 20 0 caf\xc3\xa9\n");
	strv_free(&sv);
	ck_assert_int_eq(store_log_sizes(s, "j1", collect_sizes, &sv), 0);
	ck_assert_uint_eq(sv.n, 2);
	ck_assert_str_eq(sv.v[0], "2:6");
	strv_free(&sv);

	/* Deferred: written at the flush. */
	store_defer(s, true);
	ck_assert_int_eq(store_log_add(s, "j1", 4, 50, 0, "four\n"), 0);
	ck_assert_int_eq(store_log_drop(s, "j1", 2), 0);
	ck_assert_int_eq(store_log_list(s, "j1", 3, collect_log, &sv), 0);
	ck_assert_uint_eq(sv.n, 0);
	ck_assert_int_eq(store_flush(s), 0);
	ck_assert_int_eq(store_log_list(s, "j1", 0, collect_log, &sv), 0);
	ck_assert_uint_eq(sv.n, 2);
	ck_assert_str_eq(sv.v[0], "3 30 512 three\n");
	ck_assert_str_eq(sv.v[1], "4 50 0 four\n");
	strv_free(&sv);
	store_defer(s, false);

	/* Purging a job takes its log with it (ON DELETE CASCADE). */
	ck_assert_int_eq(raw_int("SELECT count(*) FROM job_logs"), 3);
	ck_assert_int_eq(store_job_purge(s, terminal, 2000), 1);
	ck_assert_int_eq(store_job_get(s, "j2", &j), 1);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM job_logs WHERE job = "
	    "'j2'"), 0);
	ck_assert_int_eq(raw_int("SELECT count(*) FROM job_logs"), 2);
	ck_assert_int_eq(store_log_list(s, "j2", 0, collect_log, &sv), 0);
	ck_assert_uint_eq(sv.n, 0);
	store_close(s);
}
END_TEST

START_TEST(test_row_typed)
{
	static const char *const bad_list[] = {
		"", "not json", "[\"a\"] x", "[\"a\", 1]", "[\"a\", null]",
		"[[\"a\"]]", "{\"a\": \"b\"}", "\"a\"", "[\"a\"",
	};
	static const char *const bad_map[] = {
		"", "{", "[\"a\"]", "{\"a\": 1}", "{\"a\": \"b\", \"c\": {}}",
		"{\"a\": \"b\"} {}", "null",
	};
	struct store	*s;
	struct job_row	 j, got;
	struct strv	 args = { 0 }, paths = { 0 }, out = { 0 };
	struct strmap	 env = { 0 }, mout = { 0 };
	size_t		 i;

	strv_push(&args, "-i");
	strv_push(&args, "in put \"quoted\" \\ back");
	strv_push(&args, "");
	strv_push(&args, "caf\xc3\xa9\n\ttab");
	strv_push(&paths, "Media");
	strmap_set(&env, "TMPDIR", "/tmp");
	strmap_set(&env, "EMPTY", "");
	strmap_set(&env, "Q", "a=\"b\"");

	memset(&j, 0, sizeof(j));
	store_row_set_args(&j, &args);
	store_row_set_args(&j, &args);	/* replaces, no leak */
	store_row_set_paths(&j, &paths);
	store_row_set_env(&j, &env);
	ck_assert_str_eq(j.paths, "[\"Media\"]");

	s = open_db();
	snprintf(j.id, sizeof(j.id), "job1");
	snprintf(j.state, sizeof(j.state), "pending");
	ck_assert_int_eq(store_job_insert(s, &j), 0);
	store_job_clear(&j);
	ck_assert_int_eq(store_job_get(s, "job1", &got), 0);
	store_close(s);

	ck_assert_int_eq(store_row_args(&got, &out), 0);
	ck_assert_uint_eq(out.n, args.n);
	for (i = 0; i < args.n; i++)
		ck_assert_str_eq(out.v[i], args.v[i]);
	strv_free(&out);
	ck_assert_int_eq(store_row_paths(&got, &out), 0);
	ck_assert_uint_eq(out.n, 1);
	ck_assert_str_eq(out.v[0], "Media");
	strv_free(&out);
	ck_assert_int_eq(store_row_env(&got, &mout), 0);
	ck_assert_uint_eq(mout.n, env.n);
	for (i = 0; i < env.n; i++)
		ck_assert_str_eq(strmap_get(&mout, env.keys[i]), env.vals[i]);
	strmap_free(&mout);
	store_job_clear(&got);

	/* Empty lists and maps, and NULL members. */
	strv_free(&args);
	strmap_free(&env);
	store_row_set_args(&j, &args);
	store_row_set_env(&j, &env);
	ck_assert_str_eq(j.args, "[]");
	ck_assert_str_eq(j.env, "{}");
	ck_assert_int_eq(store_row_args(&j, &out), 0);
	ck_assert_int_eq(store_row_env(&j, &mout), 0);
	ck_assert_int_eq(store_row_paths(&j, &out), 0);	/* NULL */
	ck_assert_uint_eq(out.n, 0);
	ck_assert_uint_eq(mout.n, 0);
	store_job_clear(&j);

	/* Malformed text is refused and the output left alone. */
	strv_push(&out, "kept");
	strmap_set(&mout, "kept", "1");
	for (i = 0; i < nitems(bad_list); i++) {
		j.args = (char *)bad_list[i];
		ck_assert_msg(store_row_args(&j, &out) == -1, "accepted %s",
		    bad_list[i]);
		ck_assert_uint_eq(out.n, 1);
	}
	for (i = 0; i < nitems(bad_map); i++) {
		j.env = (char *)bad_map[i];
		ck_assert_msg(store_row_env(&j, &mout) == -1, "accepted %s",
		    bad_map[i]);
		ck_assert_uint_eq(mout.n, 1);
	}
	strv_free(&out);
	strmap_free(&mout);
	strv_free(&paths);
}
END_TEST

START_TEST(test_master_key)
{
	uint8_t		 mk[KEY_LEN], mk2[KEY_LEN], zero[KEY_LEN] = { 0 };
	char		 err[512] = "";
	struct stat	 st;
	int		 fd;

	ck_assert_int_eq(ident_master_load(mkpath, false, mk, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, mkpath) != NULL, "err: %s", err);

	ck_assert_int_eq(ident_master_load(mkpath, true, mk, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(stat(mkpath, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_int_eq(st.st_size, KEY_LEN);
	ck_assert_mem_ne(mk, zero, KEY_LEN);

	ck_assert_int_eq(ident_master_load(mkpath, true, mk2, err,
	    sizeof(err)), 0);
	ck_assert_mem_eq(mk, mk2, KEY_LEN);

	ck_assert_int_eq(chmod(mkpath, 0644), 0);
	err[0] = '\0';
	ck_assert_int_eq(ident_master_load(mkpath, true, mk2, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, mkpath) != NULL, "err: %s", err);
	ck_assert_int_eq(chmod(mkpath, 0600), 0);

	/* Not exactly 32 bytes. */
	ck_assert_int_eq(unlink(mkpath), 0);
	fd = open(mkpath, O_WRONLY | O_CREAT | O_EXCL, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "short", 5), 5);
	close(fd);
	err[0] = '\0';
	ck_assert_int_eq(ident_master_load(mkpath, true, mk2, err,
	    sizeof(err)), -1);
	ck_assert_msg(strstr(err, "32") != NULL, "err: %s", err);
}
END_TEST

START_TEST(test_seal_unseal)
{
	uint8_t	mk[KEY_LEN], other[KEY_LEN], key[KEY_LEN], out[KEY_LEN];
	uint8_t	box[SEALED_KEY_MAX], box2[SEALED_KEY_MAX];
	size_t	n;

	randombytes_buf(mk, sizeof(mk));
	randombytes_buf(other, sizeof(other));
	randombytes_buf(key, sizeof(key));
	n = ident_seal(mk, key, box);
	ck_assert_uint_eq(n, SEALED_KEY_MAX);
	ck_assert_int_eq(ident_unseal(mk, box, n, out), 0);
	ck_assert_mem_eq(out, key, KEY_LEN);
	/* Random nonce: sealing twice differs. */
	ident_seal(mk, key, box2);
	ck_assert_mem_ne(box, box2, SEALED_KEY_MAX);

	ck_assert_int_eq(ident_unseal(other, box, n, out), -1);
	ck_assert_int_eq(ident_unseal(mk, box, n - 1, out), -1);
	box[n - 1] ^= 1;
	ck_assert_int_eq(ident_unseal(mk, box, n, out), -1);
}
END_TEST

START_TEST(test_ident_add_lookup)
{
	struct store	*s;
	struct keyring	*kr;
	uint8_t		 mk[KEY_LEN], key[KEY_LEN], got[KEY_LEN];
	char		 err[512];
	int		 role = 0;

	randombytes_buf(mk, sizeof(mk));
	s = open_db();
	kr = keyring_new(s, mk);
	ck_assert_int_eq(keyring_lookup(kr, "w1", got, &role), -1);

	ck_assert_int_eq(ident_add(s, mk, "w1", ROLE_WORKER, key, err,
	    sizeof(err)), 0);
	/* Added through the keyring's own connection: seen too. */
	ck_assert_int_eq(keyring_lookup(kr, "w1", got, &role), 0);
	ck_assert_mem_eq(got, key, KEY_LEN);
	ck_assert_int_eq(role, ROLE_WORKER);

	ck_assert_int_eq(ident_add(s, mk, "w1", ROLE_CLIENT, key, err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "identity 'w1' already exists");
	ck_assert_int_eq(ident_add(s, mk, COORDINATOR_NAME, ROLE_ADMIN, key,
	    err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, "reserved") != NULL, "err: %s", err);
	ck_assert_int_eq(ident_add(s, mk, "bad/name", ROLE_CLIENT, key, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(ident_add(s, mk, "", ROLE_CLIENT, key, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(ident_add(s, mk, "x", ROLE_COORD, key, err,
	    sizeof(err)), -1);
	ck_assert_int_eq(keyring_lookup(kr, "x", got, &role), -1);

	/* A key sealed under another master key is not served. */
	{
		uint8_t	other[KEY_LEN];

		randombytes_buf(other, sizeof(other));
		ck_assert_int_eq(ident_add(s, other, "alien", ROLE_CLIENT,
		    key, err, sizeof(err)), 0);
		ck_assert_int_eq(keyring_lookup(kr, "alien", got, &role), -1);
		ck_assert_int_eq(keyring_lookup(kr, "w1", got, &role), 0);
	}
	keyring_free(kr);
	store_close(s);
}
END_TEST

START_TEST(test_keyring_second_connection)
{
	struct store	*a, *b;
	struct keyring	*kr;
	uint8_t		 mk[KEY_LEN], key[KEY_LEN], got[KEY_LEN];
	char		 err[512];
	int		 role = 0;

	randombytes_buf(mk, sizeof(mk));
	a = open_db();
	b = open_db();
	ck_assert_int_eq(ident_add(a, mk, "c0", ROLE_CLIENT, key, err,
	    sizeof(err)), 0);
	kr = keyring_new(a, mk);
	ck_assert_int_eq(keyring_lookup(kr, "c0", got, &role), 0);
	ck_assert_int_eq(keyring_lookup(kr, "w1", got, &role), -1);

	ck_assert_int_eq(ident_add(b, mk, "w1", ROLE_WORKER, key, err,
	    sizeof(err)), 0);
	ck_assert_int_eq(keyring_lookup(kr, "w1", got, &role), 0);
	ck_assert_mem_eq(got, key, KEY_LEN);
	ck_assert_int_eq(role, ROLE_WORKER);

	ck_assert_int_eq(store_ident_remove(b, "w1"), 0);
	usleep((KEYRING_CHECK_MS + 50) * 1000);	/* removals show this late */
	ck_assert_int_eq(keyring_lookup(kr, "w1", got, &role), -1);
	ck_assert_int_eq(keyring_lookup(kr, "c0", got, &role), 0);
	ck_assert_int_eq(role, ROLE_CLIENT);

	keyring_free(kr);
	store_close(b);
	store_close(a);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("store");
	TCase	*tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_migrate_fresh_and_reopen);
	tcase_add_test(tc, test_newer_schema_refused);
	tcase_add_test(tc, test_ident_rows);
	tcase_add_test(tc, test_ident_oversized_blob);
	tcase_add_test(tc, test_ident_rotate);
	tcase_add_test(tc, test_job_insert_get);
	tcase_add_test(tc, test_job_transition);
	tcase_add_test(tc, test_job_transition_joins_tx);
	tcase_add_test(tc, test_job_list_purge);
	tcase_add_test(tc, test_defer_flush);
	tcase_add_test(tc, test_defer_close_writes);
	tcase_add_test(tc, test_defer_busy);
	tcase_add_test(tc, test_defer_skip_failed);
	tcase_add_test(tc, test_defer_bound);
	tcase_add_test(tc, test_purge_batch);
	tcase_add_test(tc, test_worker_transitions);
	tcase_add_test(tc, test_migrate_from_v1);
	tcase_add_test(tc, test_migrate_from_v2);
	tcase_add_test(tc, test_job_query);
	tcase_add_test(tc, test_job_query_pages);
	tcase_add_test(tc, test_job_end);
	tcase_add_test(tc, test_job_log);
	tcase_add_test(tc, test_row_typed);
	tcase_add_test(tc, test_master_key);
	tcase_add_test(tc, test_seal_unseal);
	tcase_add_test(tc, test_ident_add_lookup);
	tcase_add_test(tc, test_keyring_second_connection);
	suite_add_tcase(s, tc);
	return s;
}
