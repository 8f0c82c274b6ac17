/*
 * The coordinator's SQLite state.  One connection per process, every
 * statement prepared once in store_open.  The schema is versioned with
 * PRAGMA user_version: migrations[i] brings it from version i to i + 1 and
 * runs in its own IMMEDIATE transaction, re-reading the version first so
 * that two processes opening a fresh file at once do not both migrate.
 *
 * Functions that write several rows (job insert, transition) open their
 * own transaction unless the caller already holds one (store_begin), in
 * which case they join it and leave commit or rollback to the caller.
 *
 * Rows read back are checked against the fixed sizes of the row structs:
 * a value that does not fit is reported as corruption, never truncated.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "bounds.h"
#include "log.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define BUSY_TIMEOUT_MS	5000

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
};

#define JOB_COLUMNS \
	"id, client, session, binary, args, cwd, env, paths, state, worker, " \
	"exit_code, exit_signal, reason, key_sealed, created, updated"

enum stmt {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_DATA_VERSION,
	S_USER_VERSION,
	S_IDENT_ADD,
	S_IDENT_GET,
	S_IDENT_REMOVE,
	S_IDENT_LIST,
	S_JOB_INSERT,
	S_JOB_GET,
	S_JOB_MOVE,
	S_JOB_SET_EXIT,
	S_JOB_SET_KEY,
	S_JOB_LIST,
	S_TRANS_ADD,
	S_TRANS_LIST,
	S_JOB_PURGE,
	S_WORKER_SEEN,
	S__COUNT
};

/* What each statement is for (named in error messages) and its SQL.
 * State lists are bound as a JSON array and expanded with json_each so
 * that one prepared statement serves any list. */
static const struct {
	const char	*what;
	const char	*sql;
} stmts[S__COUNT] = {
	[S_BEGIN] = { "begin transaction", "BEGIN IMMEDIATE" },
	[S_COMMIT] = { "commit", "COMMIT" },
	[S_ROLLBACK] = { "rollback", "ROLLBACK" },
	[S_DATA_VERSION] = { "read data_version", "PRAGMA data_version" },
	[S_USER_VERSION] = { "read user_version", "PRAGMA user_version" },
	[S_IDENT_ADD] = { "add identity",
	    "INSERT INTO identities (name, role, key_sealed, created) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO NOTHING" },
	[S_IDENT_GET] = { "get identity",
	    "SELECT name, role, key_sealed, created FROM identities "
	    "WHERE name = ?1" },
	[S_IDENT_REMOVE] = { "remove identity",
	    "DELETE FROM identities WHERE name = ?1" },
	[S_IDENT_LIST] = { "list identities",
	    "SELECT name, role, key_sealed, created FROM identities "
	    "ORDER BY name" },
	[S_JOB_INSERT] = { "insert job",
	    "INSERT INTO jobs (" JOB_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, "
	    "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) "
	    "ON CONFLICT (id) DO NOTHING" },
	[S_JOB_GET] = { "get job",
	    "SELECT " JOB_COLUMNS " FROM jobs WHERE id = ?1" },
	[S_JOB_MOVE] = { "update job state",
	    "UPDATE jobs SET state = ?3, worker = COALESCE(?4, worker), "
	    "reason = COALESCE(?5, reason), updated = ?6 "
	    "WHERE id = ?1 AND state = ?2" },
	[S_JOB_SET_EXIT] = { "set job exit status",
	    "UPDATE jobs SET exit_code = ?2, exit_signal = ?3 WHERE id = ?1" },
	[S_JOB_SET_KEY] = { "set job key",
	    "UPDATE jobs SET key_sealed = ?2 WHERE id = ?1" },
	[S_JOB_LIST] = { "list jobs",
	    "SELECT " JOB_COLUMNS " FROM jobs WHERE ?1 IS NULL OR state IN "
	    "(SELECT value FROM json_each(?1)) ORDER BY created, rowid" },
	[S_TRANS_ADD] = { "record job transition",
	    "INSERT INTO job_transitions (job, ts, from_state, to_state, "
	    "reason) VALUES (?1, ?2, ?3, ?4, ?5)" },
	[S_TRANS_LIST] = { "list job transitions",
	    "SELECT ts, from_state, to_state, reason FROM job_transitions "
	    "WHERE job = ?1 ORDER BY id" },
	[S_JOB_PURGE] = { "purge jobs",
	    "DELETE FROM jobs WHERE updated < ?2 AND state IN "
	    "(SELECT value FROM json_each(?1))" },
	[S_WORKER_SEEN] = { "record worker",
	    "INSERT INTO workers (id, session, state, last_seen) "
	    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO UPDATE SET "
	    "session = excluded.session, state = excluded.state, "
	    "last_seen = excluded.last_seen" },
};

struct store {
	sqlite3		*db;
	char		*path;
	sqlite3_stmt	*st[S__COUNT];
	/* Identity writes through this connection: PRAGMA data_version
	 * does not count them, store_data_version must. */
	int64_t		 local_changes;
};

static void
store_warn(struct store *s, const char *what)
{
	log_warnx("store %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
}

/* Step a statement that returns no rows; 0 or -1 (logged).  Resets it. */
static int
run(struct store *s, enum stmt i)
{
	sqlite3_stmt	*st = s->st[i];
	int		 rc;

	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_warn(s, stmts[i].what);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return -1;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return 0;
}

static void
done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static int
bind_text(sqlite3_stmt *st, int col, const char *s)
{
	if (s == NULL)
		return sqlite3_bind_null(st, col);
	return sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC);
}

/* Copy a text column into a fixed array; -1 if it does not fit. */
static int
col_copy(sqlite3_stmt *st, int col, char *dst, size_t size)
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

/* An owned copy of a text column, NULL for SQL NULL. */
static char *
col_dup(sqlite3_stmt *st, int col)
{
	const unsigned char	*t = sqlite3_column_text(st, col);

	if (t == NULL)
		return NULL;
	return xstrndup((const char *)t, (size_t)sqlite3_column_bytes(st, col));
}

/* Copy a blob column of at most max bytes; -1 if larger. */
static int
col_blob(sqlite3_stmt *st, int col, uint8_t *dst, size_t max, size_t *lenp)
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

/*
 * Internal transactions join one the caller holds.  tx_begin sets *own
 * when it opened one; tx_end commits (ok) or rolls back only in that case.
 */
static int
tx_begin(struct store *s, int *own)
{
	*own = 0;
	if (!sqlite3_get_autocommit(s->db))
		return 0;
	if (run(s, S_BEGIN) != 0)
		return -1;
	*own = 1;
	return 0;
}

static int
tx_end(struct store *s, int own, int ok)
{
	if (!own)
		return ok ? 0 : -1;
	if (ok && run(s, S_COMMIT) == 0)
		return 0;
	if (!sqlite3_get_autocommit(s->db))
		run(s, S_ROLLBACK);
	return -1;
}

/* A JSON array of the NULL-terminated state list, for json_each. */
static char *
states_json(const char *const *states)
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
		store_warn(s, stmts[S_USER_VERSION].what);
		done(st);
		return -1;
	}
	*v = sqlite3_column_int(st, 0);
	done(st);
	return 0;
}

static int
migrate(struct store *s, char *err, size_t errlen)
{
	char	 sql[64], *msg = NULL;
	int	 v, latest = store_schema_latest();

	if (read_user_version(s, &v) != 0)
		goto sqlfail;
	if (v > latest) {
		snprintf(err, errlen, "%s: database schema version %d is newer "
		    "than this program's (%d); upgrade dffmpeg", s->path, v,
		    latest);
		return -1;
	}
	while (v < latest) {
		if (run(s, S_BEGIN) != 0)
			goto sqlfail;
		/* Another process may have migrated meanwhile. */
		if (read_user_version(s, &v) != 0)
			goto rollback;
		if (v >= latest) {
			if (run(s, S_COMMIT) != 0)
				goto sqlfail;
			break;
		}
		if (v < 0) {
			snprintf(err, errlen, "%s: bad schema version %d",
			    s->path, v);
			run(s, S_ROLLBACK);
			return -1;
		}
		if (sqlite3_exec(s->db, migrations[v], NULL, NULL, &msg) !=
		    SQLITE_OK) {
			snprintf(err, errlen, "%s: migration to schema version "
			    "%d failed: %s", s->path, v + 1,
			    msg != NULL ? msg : sqlite3_errmsg(s->db));
			sqlite3_free(msg);
			run(s, S_ROLLBACK);
			return -1;
		}
		/* PRAGMA takes no parameters: the number is ours, not input. */
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
			goto rollback;
		if (run(s, S_COMMIT) != 0)
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
		run(s, S_ROLLBACK);
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

	if (sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS) != SQLITE_OK)
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

struct store *
store_open(const char *path, char *err, size_t errlen)
{
	struct store	*s;
	size_t		 i;
	int		 rc;

	s = xcalloc(1, sizeof(*s));
	s->path = xstrdup(path);
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
	for (i = S_BEGIN; i <= S_USER_VERSION; i++) {
		if (sqlite3_prepare_v3(s->db, stmts[i].sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: preparing %s: %s", path,
			    stmts[i].what, sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	if (migrate(s, err, errlen) != 0)
		goto fail;
	for (; i < S__COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, stmts[i].sql, -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s: preparing %s: %s", path,
			    stmts[i].what, sqlite3_errmsg(s->db));
			goto fail;
		}
	}
	return s;

fail:
	store_close(s);
	return NULL;
}

void
store_close(struct store *s)
{
	size_t	i;

	if (s == NULL)
		return;
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
		store_warn(s, stmts[S_DATA_VERSION].what);
		done(st);
		return -1;
	}
	v = sqlite3_column_int64(st, 0);
	done(st);
	/* Both terms only grow, so the sum changes when either does. */
	return v + s->local_changes;
}

int
store_begin(struct store *s)
{
	return run(s, S_BEGIN);
}

int
store_commit(struct store *s)
{
	return run(s, S_COMMIT);
}

int
store_rollback(struct store *s)
{
	return run(s, S_ROLLBACK);
}

int
store_ident_add(struct store *s, const struct ident_row *r)
{
	sqlite3_stmt	*st = s->st[S_IDENT_ADD];

	if (r->sealed_len > SEALED_KEY_MAX)
		return -1;
	bind_text(st, 1, r->name);
	sqlite3_bind_int(st, 2, r->role);
	sqlite3_bind_blob(st, 3, r->sealed, (int)r->sealed_len,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, r->created);
	if (run(s, S_IDENT_ADD) != 0)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return 1;
	s->local_changes++;
	return 0;
}

static int
ident_read(struct store *s, sqlite3_stmt *st, struct ident_row *r)
{
	memset(r, 0, sizeof(*r));
	if (col_copy(st, 0, r->name, sizeof(r->name)) != 0 ||
	    col_blob(st, 2, r->sealed, sizeof(r->sealed),
	    &r->sealed_len) != 0) {
		log_warnx("store %s: identity row too large (corrupt "
		    "database?)", s->path);
		return -1;
	}
	r->role = sqlite3_column_int(st, 1);
	r->created = sqlite3_column_int64(st, 3);
	return 0;
}

int
store_ident_get(struct store *s, const char *name, struct ident_row *r)
{
	sqlite3_stmt	*st = s->st[S_IDENT_GET];
	int		 rc;

	bind_text(st, 1, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		done(st);
		return 1;
	}
	if (rc != SQLITE_ROW) {
		store_warn(s, stmts[S_IDENT_GET].what);
		done(st);
		return -1;
	}
	rc = ident_read(s, st, r);
	done(st);
	return rc;
}

int
store_ident_remove(struct store *s, const char *name)
{
	bind_text(s->st[S_IDENT_REMOVE], 1, name);
	if (run(s, S_IDENT_REMOVE) != 0)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return 1;
	s->local_changes++;
	return 0;
}

int
store_ident_list(struct store *s, int (*cb)(const struct ident_row *, void *),
    void *arg)
{
	sqlite3_stmt	*st = s->st[S_IDENT_LIST];
	struct ident_row r;
	int		 rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (ident_read(s, st, &r) != 0) {
			done(st);
			return -1;
		}
		if (cb(&r, arg) != 0) {
			done(st);
			return 0;
		}
	}
	if (rc != SQLITE_DONE) {
		store_warn(s, stmts[S_IDENT_LIST].what);
		done(st);
		return -1;
	}
	done(st);
	return 0;
}

void
store_job_clear(struct job_row *j)
{
	free(j->args);
	free(j->cwd);
	free(j->env);
	free(j->paths);
	free(j->reason);
	memset(j, 0, sizeof(*j));
}

static int
trans_add(struct store *s, const char *id, int64_t ts, const char *from,
    const char *to, const char *reason)
{
	sqlite3_stmt	*st = s->st[S_TRANS_ADD];

	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, ts);
	bind_text(st, 3, from);
	bind_text(st, 4, to);
	bind_text(st, 5, reason);
	return run(s, S_TRANS_ADD);
}

int
store_job_insert(struct store *s, const struct job_row *j)
{
	sqlite3_stmt	*st = s->st[S_JOB_INSERT];
	int		 own, added;

	if (j->key_sealed_len > SEALED_KEY_MAX)
		return -1;
	if (tx_begin(s, &own) != 0)
		return -1;
	bind_text(st, 1, j->id);
	bind_text(st, 2, j->client);
	bind_text(st, 3, j->session);
	bind_text(st, 4, j->binary);
	bind_text(st, 5, j->args != NULL ? j->args : "[]");
	bind_text(st, 6, j->cwd);
	bind_text(st, 7, j->env != NULL ? j->env : "{}");
	bind_text(st, 8, j->paths != NULL ? j->paths : "[]");
	bind_text(st, 9, j->state);
	bind_text(st, 10, j->worker);
	sqlite3_bind_int(st, 11, j->exit_code);
	sqlite3_bind_int(st, 12, j->exit_signal);
	bind_text(st, 13, j->reason);
	if (j->key_sealed_len > 0)
		sqlite3_bind_blob(st, 14, j->key_sealed,
		    (int)j->key_sealed_len, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 14);
	sqlite3_bind_int64(st, 15, j->created);
	sqlite3_bind_int64(st, 16, j->updated);
	if (run(s, S_JOB_INSERT) != 0)
		goto fail;
	added = sqlite3_changes(s->db) > 0;
	if (added && trans_add(s, j->id, j->created, "", j->state,
	    j->reason) != 0)
		goto fail;
	if (tx_end(s, own, 1) != 0)
		return -1;
	return added ? 0 : 1;

fail:
	tx_end(s, own, 0);
	return -1;
}

static int
job_read(struct store *s, sqlite3_stmt *st, struct job_row *j)
{
	memset(j, 0, sizeof(*j));
	if (col_copy(st, 0, j->id, sizeof(j->id)) != 0 ||
	    col_copy(st, 1, j->client, sizeof(j->client)) != 0 ||
	    col_copy(st, 2, j->session, sizeof(j->session)) != 0 ||
	    col_copy(st, 3, j->binary, sizeof(j->binary)) != 0 ||
	    col_copy(st, 8, j->state, sizeof(j->state)) != 0 ||
	    col_copy(st, 9, j->worker, sizeof(j->worker)) != 0 ||
	    col_blob(st, 13, j->key_sealed, sizeof(j->key_sealed),
	    &j->key_sealed_len) != 0) {
		log_warnx("store %s: job row too large (corrupt database?)",
		    s->path);
		return -1;
	}
	j->args = col_dup(st, 4);
	j->cwd = col_dup(st, 5);
	j->env = col_dup(st, 6);
	j->paths = col_dup(st, 7);
	j->exit_code = sqlite3_column_int(st, 10);
	j->exit_signal = sqlite3_column_int(st, 11);
	j->reason = col_dup(st, 12);
	j->created = sqlite3_column_int64(st, 14);
	j->updated = sqlite3_column_int64(st, 15);
	return 0;
}

int
store_job_get(struct store *s, const char *id, struct job_row *j)
{
	sqlite3_stmt	*st = s->st[S_JOB_GET];
	int		 rc;

	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		done(st);
		return 1;
	}
	if (rc != SQLITE_ROW) {
		store_warn(s, stmts[S_JOB_GET].what);
		done(st);
		return -1;
	}
	rc = job_read(s, st, j);
	done(st);
	return rc;
}

int
store_job_transition(struct store *s, const char *id, const char *from,
    const char *to, const char *worker, const char *reason, int64_t ts)
{
	sqlite3_stmt	*st = s->st[S_JOB_MOVE];
	int		 own;

	if (tx_begin(s, &own) != 0)
		return -1;
	bind_text(st, 1, id);
	bind_text(st, 2, from);
	bind_text(st, 3, to);
	bind_text(st, 4, worker);
	bind_text(st, 5, reason);
	sqlite3_bind_int64(st, 6, ts);
	if (run(s, S_JOB_MOVE) != 0)
		goto fail;
	if (sqlite3_changes(s->db) == 0) {
		if (tx_end(s, own, 1) != 0)
			return -1;
		return 1;
	}
	if (trans_add(s, id, ts, from, to, reason) != 0)
		goto fail;
	return tx_end(s, own, 1);

fail:
	tx_end(s, own, 0);
	return -1;
}

int
store_job_set_key(struct store *s, const char *id, const uint8_t *sealed,
    size_t len)
{
	sqlite3_stmt	*st = s->st[S_JOB_SET_KEY];

	bind_text(st, 1, id);
	sqlite3_bind_blob(st, 2, sealed, (int)len, SQLITE_TRANSIENT);
	if (run(s, S_JOB_SET_KEY) != 0)
		return -1;
	return sqlite3_changes(s->db) == 0 ? 1 : 0;
}

int
store_job_set_exit(struct store *s, const char *id, int code, int sig)
{
	sqlite3_stmt	*st = s->st[S_JOB_SET_EXIT];

	bind_text(st, 1, id);
	sqlite3_bind_int(st, 2, code);
	sqlite3_bind_int(st, 3, sig);
	if (run(s, S_JOB_SET_EXIT) != 0)
		return -1;
	return sqlite3_changes(s->db) == 0 ? 1 : 0;
}

int
store_job_list(struct store *s, const char *const *states,
    int (*cb)(const struct job_row *, void *), void *arg)
{
	sqlite3_stmt	*st = s->st[S_JOB_LIST];
	struct job_row	 j;
	char		*json = NULL;
	int		 rc, stop;

	if (states != NULL && (json = states_json(states)) == NULL)
		return -1;
	bind_text(st, 1, json);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (job_read(s, st, &j) != 0)
			goto fail;
		stop = cb(&j, arg);
		store_job_clear(&j);
		if (stop)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_warn(s, stmts[S_JOB_LIST].what);
		goto fail;
	}
	done(st);
	free(json);
	return 0;

fail:
	done(st);
	free(json);
	return -1;
}

int
store_job_transitions(struct store *s, const char *id,
    int (*cb)(int64_t, const char *, const char *, const char *, void *),
    void *arg)
{
	sqlite3_stmt	*st = s->st[S_TRANS_LIST];
	int		 rc;

	bind_text(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cb(sqlite3_column_int64(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2),
		    (const char *)sqlite3_column_text(st, 3), arg) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store_warn(s, stmts[S_TRANS_LIST].what);
		done(st);
		return -1;
	}
	done(st);
	return 0;
}

int
store_job_purge(struct store *s, const char *const *terminal, int64_t before)
{
	sqlite3_stmt	*st = s->st[S_JOB_PURGE];
	char		*json;
	int		 rc;

	if ((json = states_json(terminal)) == NULL)
		return -1;
	bind_text(st, 1, json);
	sqlite3_bind_int64(st, 2, before);
	rc = run(s, S_JOB_PURGE);
	free(json);
	if (rc != 0)
		return -1;
	/* Transitions go with their job (ON DELETE CASCADE). */
	return sqlite3_changes(s->db);
}

int
store_worker_seen(struct store *s, const char *id, const char *session,
    const char *state, int64_t ts)
{
	sqlite3_stmt	*st = s->st[S_WORKER_SEEN];

	bind_text(st, 1, id);
	bind_text(st, 2, session != NULL ? session : "");
	bind_text(st, 3, state);
	sqlite3_bind_int64(st, 4, ts);
	return run(s, S_WORKER_SEEN);
}
