/*
 * The coordinator's SQLite state: the connection, the table of every
 * statement, migrations and transactions.  The rows live in store_rows.c,
 * the writes that may be deferred in store_queue.c (internals shared
 * through include/store_int.h).
 *
 * One connection per process, every statement prepared once in
 * store_open.  The schema is versioned with PRAGMA user_version:
 * migrations[i] brings it from version i to i + 1 and runs in its own
 * IMMEDIATE transaction, re-reading the version first so that two
 * processes opening a fresh file at once do not both migrate.  A
 * migration, once released, is never edited: a change is a new entry.
 *
 * Functions that write several rows (job insert, transition) open their
 * own transaction unless the caller already holds one (store_begin), in
 * which case they join it and leave commit or rollback to the caller.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "bounds.h"
#include "log.h"
#include "store.h"
#include "store_int.h"
#include "util.h"
#include "xmalloc.h"

static const char *const migrations[] = {
	/* 0 -> 1: the initial schema. */
	"CREATE TABLE identities ("
	"  name TEXT PRIMARY KEY NOT NULL,"
	"  role INTEGER NOT NULL,"
	"  key_sealed BLOB NOT NULL,"
	"  created INTEGER NOT NULL"
	");"
	"CREATE TABLE jobs ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  client TEXT NOT NULL,"
	"  session TEXT NOT NULL,"
	"  binary TEXT NOT NULL,"
	"  args TEXT NOT NULL,"
	"  cwd TEXT,"
	"  env TEXT NOT NULL,"
	"  paths TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  worker TEXT NOT NULL DEFAULT '',"
	"  exit_code INTEGER NOT NULL DEFAULT 0,"
	"  exit_signal INTEGER NOT NULL DEFAULT 0,"
	"  reason TEXT,"
	"  key_sealed BLOB,"
	"  created INTEGER NOT NULL,"
	"  updated INTEGER NOT NULL"
	");"
	"CREATE INDEX jobs_state ON jobs(state);"
	"CREATE TABLE job_transitions ("
	"  id INTEGER PRIMARY KEY,"
	"  job TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	"  ts INTEGER NOT NULL,"
	"  from_state TEXT NOT NULL,"
	"  to_state TEXT NOT NULL,"
	"  reason TEXT"
	");"
	"CREATE INDEX job_transitions_job ON job_transitions(job);"
	"CREATE TABLE workers ("
	"  id TEXT PRIMARY KEY NOT NULL,"
	"  session TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  last_seen INTEGER NOT NULL"
	");",
	/* 1 -> 2: whether a job's process exited (its exit status is real),
	 * worker transitions, and indexes for the purge in batches. */
	"ALTER TABLE jobs ADD COLUMN exited INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX jobs_updated ON jobs(updated);"
	"CREATE TABLE worker_transitions ("
	"  id INTEGER PRIMARY KEY,"
	"  worker TEXT NOT NULL,"
	"  ts INTEGER NOT NULL,"
	"  from_state TEXT NOT NULL,"
	"  to_state TEXT NOT NULL,"
	"  reason TEXT"
	");"
	"CREATE INDEX worker_transitions_worker ON "
	"  worker_transitions(worker);"
	"CREATE INDEX worker_transitions_ts ON worker_transitions(ts);",
	/* 2 -> 3: what the operator surface shows of a job (detached, bytes,
	 * last progress, the log: batches in job_logs, then the rest the
	 * worker reported with its end), and an identity's previous key
	 * with the end of its grace period. */
	"ALTER TABLE jobs ADD COLUMN detached INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE jobs ADD COLUMN bytes_in INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE jobs ADD COLUMN bytes_out INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE jobs ADD COLUMN progress TEXT;"
	"ALTER TABLE jobs ADD COLUMN log_tail TEXT;"
	"ALTER TABLE jobs ADD COLUMN log_chunks INTEGER;"
	"ALTER TABLE jobs ADD COLUMN log_skipped INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX jobs_created ON jobs(created);"
	"CREATE TABLE job_logs ("
	"  job TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  ts INTEGER NOT NULL,"
	"  skipped INTEGER NOT NULL DEFAULT 0,"
	"  text TEXT NOT NULL,"
	"  PRIMARY KEY (job, seq)"
	") WITHOUT ROWID;"
	"ALTER TABLE identities ADD COLUMN old_key_sealed BLOB;"
	"ALTER TABLE identities ADD COLUMN old_until INTEGER NOT NULL "
	"  DEFAULT 0;",
};


#define JOB_COLUMNS \
	"id, client, session, binary, args, cwd, env, paths, state, worker, " \
	"exit_code, exit_signal, reason, key_sealed, created, updated, " \
	"exited, detached, bytes_in, bytes_out, progress, log_tail, " \
	"log_chunks, log_skipped"

/* What each statement is for (named in error messages) and its SQL.
 * State lists are bound as a JSON array and expanded with json_each so
 * that one prepared statement serves any list.  Writes bind their
 * parameters in order ?1, ?2, ... (store_queue.c binds by position). */
const struct store_stmt_def store__stmts[S__COUNT] = {
	[S_BEGIN] = { "begin transaction", "BEGIN IMMEDIATE" },
	[S_COMMIT] = { "commit", "COMMIT" },
	[S_ROLLBACK] = { "rollback", "ROLLBACK" },
	[S_SAVEPOINT] = { "savepoint", "SAVEPOINT store_entry" },
	[S_RELEASE] = { "release savepoint", "RELEASE store_entry" },
	[S_ROLLBACK_TO] = { "roll back to savepoint",
	    "ROLLBACK TO store_entry" },
	[S_DATA_VERSION] = { "read data_version", "PRAGMA data_version" },
	[S_USER_VERSION] = { "read user_version", "PRAGMA user_version" },
	[S_IDENT_ADD] = { "add identity",
	    "INSERT INTO identities (name, role, key_sealed, created) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO NOTHING" },
	[S_IDENT_GET] = { "get identity",
	    "SELECT name, role, key_sealed, created, old_key_sealed, "
	    "old_until FROM identities WHERE name = ?1" },
	[S_IDENT_REMOVE] = { "remove identity",
	    "DELETE FROM identities WHERE name = ?1" },
	[S_IDENT_LIST] = { "list identities",
	    "SELECT name, role, key_sealed, created, old_key_sealed, "
	    "old_until FROM identities ORDER BY name" },
	[S_IDENT_ROTATE] = { "rotate identity key",
	    "UPDATE identities SET key_sealed = ?2, old_key_sealed = ?3, "
	    "old_until = ?4 WHERE name = ?1" },
	[S_JOB_INSERT] = { "insert job",
	    "INSERT INTO jobs (id, client, session, binary, args, cwd, env, "
	    "paths, state, worker, exit_code, exit_signal, reason, "
	    "key_sealed, created, updated, exited, detached) VALUES (?1, ?2, "
	    "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
	    "?17, ?18) ON CONFLICT (id) DO NOTHING" },
	[S_JOB_GET] = { "get job",
	    "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1" },
	[S_JOB_MOVE] = { "update job state",
	    "UPDATE jobs SET state = ?3, worker = COALESCE(?4, worker), "
	    "reason = COALESCE(?5, reason), updated = ?6 "
	    "WHERE id = ?1 AND state = ?2" },
	[S_JOB_SET_EXIT] = { "set job exit status",
	    "UPDATE jobs SET exit_code = ?2, exit_signal = ?3, exited = 1 "
	    "WHERE id = ?1" },
	[S_JOB_SET_KEY] = { "set job key",
	    "UPDATE jobs SET key_sealed = ?2 WHERE id = ?1" },
	[S_JOB_SET_ARGS] = { "set job arguments",
	    "UPDATE jobs SET args = ?2, env = ?3 WHERE id = ?1" },
	[S_JOB_LIST] = { "list jobs",
	    "SELECT " JOB_COLUMNS " FROM jobs WHERE ?1 IS NULL OR state IN "
	    "(SELECT value FROM json_each(?1)) ORDER BY created, rowid" },
	[S_TRANS_ADD] = { "record job transition",
	    "INSERT INTO job_transitions (job, ts, from_state, to_state, "
	    "reason) VALUES (?1, ?2, ?3, ?4, ?5)" },
	[S_TRANS_LIST] = { "list job transitions",
	    "SELECT ts, from_state, to_state, reason FROM job_transitions "
	    "WHERE job = ?1 ORDER BY id" },
	/* Walks jobs_updated from the oldest and stops after ?3 matches:
	 * the unary + keeps the planner off jobs_state, which would visit
	 * every terminal job, recent ones too, and sort them. */
	[S_JOB_PURGE] = { "purge jobs",
	    "DELETE FROM jobs WHERE rowid IN (SELECT rowid FROM jobs "
	    "WHERE updated < ?2 AND +state IN (SELECT value FROM "
	    "json_each(?1)) ORDER BY updated, rowid LIMIT ?3)" },
	[S_WORKER_SEEN] = { "record worker",
	    "INSERT INTO workers (id, session, state, last_seen) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE SET "
	    "session = excluded.session, state = excluded.state, "
	    "last_seen = excluded.last_seen" },
	[S_WTRANS_ADD] = { "record worker transition",
	    "INSERT INTO worker_transitions (worker, ts, from_state, "
	    "to_state, reason) VALUES (?1, ?2, ?3, ?4, ?5)" },
	[S_WTRANS_LIST] = { "list worker transitions",
	    "SELECT ts, from_state, to_state, reason FROM worker_transitions "
	    "WHERE worker = ?1 ORDER BY id" },
	[S_JOB_SET_END] = { "record job end",
	    "UPDATE jobs SET bytes_in = ?2, bytes_out = ?3, "
	    "progress = COALESCE(?4, progress), log_tail = ?5, "
	    "log_chunks = ?6, log_skipped = ?7 WHERE id = ?1" },
	/* Newest first, from a cursor (created, id) down; unfinished jobs
	 * always, finished ones updated since ?2.  NULL filters match
	 * everything. */
	[S_JOB_QUERY] = { "query jobs",
	    "SELECT " JOB_COLUMNS " FROM jobs WHERE "
	    "(?1 IS NULL OR state IN (SELECT value FROM json_each(?1))) AND "
	    "(?2 IS NULL OR updated >= ?2 OR state NOT IN (SELECT value FROM "
	    "json_each(?3))) AND (?4 IS NULL OR client = ?4) AND "
	    "(?5 IS NULL OR worker = ?5) AND (?6 IS NULL OR created < ?6 OR "
	    "(created = ?6 AND id < ?7)) ORDER BY created DESC, id DESC "
	    "LIMIT ?8" },
	[S_LOG_ADD] = { "add job log batch",
	    "INSERT INTO job_logs (job, seq, ts, skipped, text) "
	    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING" },
	[S_LOG_DROP] = { "drop job log batch",
	    "DELETE FROM job_logs WHERE job = ?1 AND seq = ?2" },
	[S_LOG_LIST] = { "list job log",
	    "SELECT seq, ts, skipped, text FROM job_logs WHERE job = ?1 AND "
	    "seq > ?2 ORDER BY seq" },
	[S_LOG_SIZES] = { "read job log sizes",
	    "SELECT seq, length(CAST(text AS BLOB)) FROM job_logs "
	    "WHERE job = ?1 ORDER BY seq" },
	[S_WORKER_REMOVE] = { "remove worker",
	    "DELETE FROM workers WHERE id = ?1" },
	[S_WTRANS_REMOVE] = { "remove worker transitions",
	    "DELETE FROM worker_transitions WHERE worker = ?1" },
	[S_WTRANS_PURGE] = { "purge worker transitions",
	    "DELETE FROM worker_transitions WHERE id IN (SELECT id FROM "
	    "worker_transitions WHERE ts < ?1 ORDER BY ts, id LIMIT ?2)" },
};

void
store__warn(struct store *s, const char *what)
{
	log_warnx("store %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

bool
store__is_busy(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

void
store__done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int
store__run(struct store *s, enum stmt i)
{
	sqlite3_stmt	*st = s->st[i];
	int		 rc;

	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store__warn(s, store__stmts[i].what);
		store__done(st);
		return -1;
	}
	store__done(st);
	return 0;
}

int
store__bind_text(sqlite3_stmt *st, int col, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, col);
	return sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC);
}

int
store__col_copy(sqlite3_stmt *st, int col, char *dst, size_t size)
{
	const unsigned char	*t = sqlite3_column_text(st, col);
	int			 n = sqlite3_column_bytes(st, col);

	if (t == NULL) {
		dst[0] = '\0';
		return 0;
	}
	if (n < 0 || (size_t)n >= size)
		return -1;
	memcpy(dst, t, (size_t)n);
	dst[n] = '\0';
	return 0;
}

char *
store__col_dup(sqlite3_stmt *st, int col)
{
	const unsigned char	*t = sqlite3_column_text(st, col);

	if (t == NULL)
		return NULL;
	return xstrndup((const char *)t, (size_t)sqlite3_column_bytes(st, col));
}

int
store__col_blob(sqlite3_stmt *st, int col, uint8_t *dst, size_t max,
    size_t *lenp)
{
	const void	*b = sqlite3_column_blob(st, col);
	int		 n = sqlite3_column_bytes(st, col);

	*lenp = 0;
	if (b == NULL || n == 0)
		return 0;
	if (n < 0 || (size_t)n > max)
		return -1;
	memcpy(dst, b, (size_t)n);
	*lenp = (size_t)n;
	return 0;
}

int
store__tx_begin(struct store *s, int *own)
{
	*own = 0;
	if (!sqlite3_get_autocommit(s->db))
		return 0;
	if (store__run(s, S_BEGIN) != 0)
		return -1;
	*own = 1;
	return 0;
}

int
store__tx_end(struct store *s, int own, int ok)
{
	if (!own)
		return ok ? 0 : -1;
	if (ok && store__run(s, S_COMMIT) == 0)
		return 0;
	if (!sqlite3_get_autocommit(s->db))
		store__run(s, S_ROLLBACK);
	return -1;
}

char *
store__states_json(const char *const *states)
{
	struct buf	 b = { 0 };
	size_t		 i;
	char		*out;

	buf_add(&b, "[", 1);
	for (i = 0; states[i] != NULL; i++) {
		if (!name_valid(states[i], 32)) {
			log_warnx("store: bad state name in list");
			buf_free(&b);
			return NULL;
		}
		if (i > 0)
			buf_add(&b, ",", 1);
		buf_add(&b, "\"", 1);
		buf_add(&b, states[i], strlen(states[i]));
		buf_add(&b, "\"", 1);
	}
	buf_add(&b, "]", 2);	/* with the NUL */
	out = xstrdup((const char *)buf_head(&b));
	buf_free(&b);
	return out;
}

static int
read_user_version(struct store *s, int *v)
{
	sqlite3_stmt	*st = s->st[S_USER_VERSION];

	if (sqlite3_step(st) != SQLITE_ROW) {
		store__warn(s, store__stmts[S_USER_VERSION].what);
		store__done(st);
		return -1;
	}
	*v = sqlite3_column_int(st, 0);
	store__done(st);
	return 0;
}

/* Bring the schema to version `target` (<= the latest). */
static int
migrate(struct store *s, int target, char *err, size_t errlen)
{
	char	 sql[64], *msg = NULL;
	int	 v;

	if (read_user_version(s, &v) != 0)
		goto sqlfail;
	if (v > store_schema_latest()) {
		snprintf(err, errlen, "%s: database schema version %d is newer "
		    "than this program's (%d); upgrade dffmpeg", s->path, v,
		    store_schema_latest());
		return -1;
	}
	while (v < target) {
		if (store__run(s, S_BEGIN) != 0)
			goto sqlfail;
		/* Another process may have migrated meanwhile. */
		if (read_user_version(s, &v) != 0)
			goto rollback;
		if (v >= target) {
			if (store__run(s, S_COMMIT) != 0)
				goto sqlfail;
			break;
		}
		if (v < 0) {
			snprintf(err, errlen, "%s: bad schema version %d",
			    s->path, v);
			store__run(s, S_ROLLBACK);
			return -1;
		}
		if (sqlite3_exec(s->db, migrations[v], NULL, NULL, &msg) !=
		    SQLITE_OK) {
			snprintf(err, errlen, "%s: migration to schema version "
			    "%d failed: %s", s->path, v + 1,
			    msg != NULL ? msg : sqlite3_errmsg(s->db));
			sqlite3_free(msg);
			store__run(s, S_ROLLBACK);
			return -1;
		}
		/* PRAGMA takes no parameters: the number is ours, not input. */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
			goto rollback;
		if (store__run(s, S_COMMIT) != 0)
			goto rollback;
		log_info("store %s: schema migrated to version %d", s->path,
		    v + 1);
		v++;
	}
	return 0;

rollback:
	snprintf(err, errlen, "%s: migration: %s", s->path,
	    sqlite3_errmsg(s->db));
	if (!sqlite3_get_autocommit(s->db))
		store__run(s, S_ROLLBACK);
	return -1;
sqlfail:
	snprintf(err, errlen, "%s: %s", s->path, sqlite3_errmsg(s->db));
	return -1;
}

static int
pragma_setup(struct store *s, char *err, size_t errlen)
{
	static const char *const pragmas[] = {
		"PRAGMA foreign_keys = ON",
		"PRAGMA synchronous = NORMAL",
	};
	sqlite3_stmt	*st = NULL;
	const char	*mode;
	size_t		 i;

	s->busy_ms = STORE_BUSY_TIMEOUT_MS;
	if (sqlite3_busy_timeout(s->db, s->busy_ms) != SQLITE_OK)
		goto fail;
	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st,
	    NULL) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW)
		goto fail;
	mode = (const char *)sqlite3_column_text(st, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0)
		log_warnx("store %s: journal mode is %s, not wal", s->path,
		    mode != NULL ? mode : "unknown");
	sqlite3_finalize(st);
	st = NULL;
	for (i = 0; i < nitems(pragmas); i++)
		if (sqlite3_exec(s->db, pragmas[i], NULL, NULL, NULL) !=
		    SQLITE_OK)
			goto fail;
	return 0;

fail:
	snprintf(err, errlen, "%s: setting up the connection: %s", s->path,
	    sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return -1;
}

static int
prepare_range(struct store *s, size_t from, size_t to, char *err,
    size_t errlen)
{
	size_t	i;

	for (i = from; i < to; i++) {
		if (sqlite3_prepare_v3(s->db, store__stmts[i].sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: preparing %s: %s", s->path,
			    store__stmts[i].what, sqlite3_errmsg(s->db));
			return -1;
		}
	}
	return 0;
}

/* Open the file and migrate it to `target`; prepare the statements on
 * the schema only if target is the latest (they need its columns). */
static struct store *
open_at(const char *path, int target, char *err, size_t errlen)
{
	struct store	*s;
	int		 rc;

	s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
	s->qtail = &s->qhead;
	rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open database: %s", path,
		    s->db != NULL ? sqlite3_errmsg(s->db) :
		    sqlite3_errstr(rc));
		goto fail;
	}
	sqlite3_extended_result_codes(s->db, 1);
	if (pragma_setup(s, err, errlen) != 0)
		goto fail;
	/* Statements on the schema can only be prepared once it exists. */
	if (prepare_range(s, S_BEGIN, S_USER_VERSION + 1, err, errlen) != 0)
		goto fail;
	if (migrate(s, target, err, errlen) != 0)
		goto fail;
	if (target == store_schema_latest() &&
	    prepare_range(s, S_USER_VERSION + 1, S__COUNT, err, errlen) != 0)
		goto fail;
	return s;

fail:
	store_close(s);
	return NULL;
}

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	return open_at(path, store_schema_latest(), err, errlen);
}

int
store__create_at(const char *path, int version, char *err, size_t errlen)
{
	struct store	*s;

	if (version < 0 || version > store_schema_latest()) {
		snprintf(err, errlen, "no schema version %d", version);
		return -1;
	}
	if ((s = open_at(path, version, err, errlen)) == NULL)
		return -1;
	store_close(s);
	return 0;
}

void
store_close(struct store *s)
{
	size_t	i;

	if (s == NULL)
		return;
	if (s->st[S__COUNT - 1] != NULL)
		store__queue_drain(s);
	for (i = 0; i < S__COUNT; i++)
		sqlite3_finalize(s->st[i]);
	if (s->db != NULL && sqlite3_close(s->db) != SQLITE_OK)
		log_warnx("store %s: close: %s", s->path,
		    sqlite3_errmsg(s->db));
	free(s->path);
	free(s);
}

int
store_schema_latest(void)
{
	return (int)nitems(migrations);
}

int
store_schema_version(struct store *s)
{
	int	v;

	if (read_user_version(s, &v) != 0)
		return -1;
	return v;
}

int64_t
store_data_version(struct store *s)
{
	sqlite3_stmt	*st = s->st[S_DATA_VERSION];
	int64_t		 v;

	if (sqlite3_step(st) != SQLITE_ROW) {
		store__warn(s, store__stmts[S_DATA_VERSION].what);
		store__done(st);
		return -1;
	}
	v = sqlite3_column_int64(st, 0);
	store__done(st);
	/* Both terms only grow, so the sum changes when either does. */
	return v + s->local_changes;
}

int
store_begin(struct store *s)
{
	return store__run(s, S_BEGIN);
}

int
store_commit(struct store *s)
{
	return store__run(s, S_COMMIT);
}

int
store_rollback(struct store *s)
{
	return store__run(s, S_ROLLBACK);
}

void
store_set_busy_timeout(struct store *s, int ms)
{
	if (ms < 0)
		ms = 0;
	s->busy_ms = ms;
	sqlite3_busy_timeout(s->db, ms);
}
