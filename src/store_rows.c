/*
 * The rows of the store: identities, jobs and their transitions, workers
 * and theirs, and the retention purge.  Writes the coordinator makes on
 * its loop go through store__submit (store_queue.c), so that they can be
 * deferred; the others run at once.
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
#include "store_int.h"
#include "util.h"
#include "xmalloc.h"

/* Rows the purge deletes per statement when asked for "all". */
#define PURGE_BATCH	1000

int
store_ident_add(struct store *s, const struct ident_row *r)
{
	sqlite3_stmt	*st = s->st[S_IDENT_ADD];

	if (r->sealed_len > SEALED_KEY_MAX)
		return -1;
	store__bind_text(st, 1, r->name);
	sqlite3_bind_int(st, 2, r->role);
	sqlite3_bind_blob(st, 3, r->sealed, (int)r->sealed_len,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, r->created);
	if (store__run(s, S_IDENT_ADD) != 0)
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
	if (store__col_copy(st, 0, r->name, sizeof(r->name)) != 0 ||
	    store__col_blob(st, 2, r->sealed, sizeof(r->sealed),
	    &r->sealed_len) != 0) {
		log_warnx("store %s: identity row too large (corrupt "
		    "database?)", s->path);
		return -1;
	}
	r->role = sqlite3_column_int(st, 1);
	r->created = sqlite3_column_int64(st, 3);
	if (sqlite3_column_type(st, 4) == SQLITE_BLOB &&
	    store__col_blob(st, 4, r->old_sealed, sizeof(r->old_sealed),
	    &r->old_sealed_len) != 0) {
		log_warnx("store %s: identity row too large (corrupt "
		    "database?)", s->path);
		return -1;
	}
	r->old_until = sqlite3_column_int64(st, 5);
	return 0;
}

int
store_ident_get(struct store *s, const char *name, struct ident_row *r)
{
	sqlite3_stmt	*st = s->st[S_IDENT_GET];
	int		 rc;

	store__bind_text(st, 1, name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		store__done(st);
		return 1;
	}
	if (rc != SQLITE_ROW) {
		store__warn(s, store__stmts[S_IDENT_GET].what);
		store__done(st);
		return -1;
	}
	rc = ident_read(s, st, r);
	store__done(st);
	return rc;
}

int
store_ident_remove(struct store *s, const char *name)
{
	store__bind_text(s->st[S_IDENT_REMOVE], 1, name);
	if (store__run(s, S_IDENT_REMOVE) != 0)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return 1;
	s->local_changes++;
	return 0;
}

int
store_ident_rotate(struct store *s, const char *name, const uint8_t *sealed,
    size_t len, const uint8_t *old_sealed, size_t old_len, int64_t old_until)
{
	sqlite3_stmt	*st = s->st[S_IDENT_ROTATE];

	if (len > SEALED_KEY_MAX || old_len > SEALED_KEY_MAX)
		return -1;
	store__bind_text(st, 1, name);
	sqlite3_bind_blob(st, 2, sealed, (int)len, SQLITE_STATIC);
	if (old_len > 0)
		sqlite3_bind_blob(st, 3, old_sealed, (int)old_len,
		    SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_int64(st, 4, old_until);
	if (store__run(s, S_IDENT_ROTATE) != 0)
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
			store__done(st);
			return -1;
		}
		if (cb(&r, arg) != 0) {
			store__done(st);
			return 0;
		}
	}
	if (rc != SQLITE_DONE) {
		store__warn(s, store__stmts[S_IDENT_LIST].what);
		store__done(st);
		return -1;
	}
	store__done(st);
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
	free(j->progress);
	free(j->log_tail);
	memset(j, 0, sizeof(*j));
}

int
store_job_insert(struct store *s, const struct job_row *j)
{
	struct store_call	c;

	if (j->key_sealed_len > SEALED_KEY_MAX)
		return -1;
	store__call_init(&c, S_JOB_INSERT);
	store__val_text(&c, j->id);
	store__val_text(&c, j->client);
	store__val_text(&c, j->session);
	store__val_text(&c, j->binary);
	store__val_text(&c, j->args != NULL ? j->args : "[]");
	store__val_text(&c, j->cwd);
	store__val_text(&c, j->env != NULL ? j->env : "{}");
	store__val_text(&c, j->paths != NULL ? j->paths : "[]");
	store__val_text(&c, j->state);
	store__val_text(&c, j->worker);
	store__val_int(&c, j->exit_code);
	store__val_int(&c, j->exit_signal);
	store__val_text(&c, j->reason);
	store__val_blob(&c, j->key_sealed_len > 0 ? j->key_sealed : NULL,
	    j->key_sealed_len);
	store__val_int(&c, j->created);
	store__val_int(&c, j->updated);
	store__val_int(&c, j->exited);
	store__val_int(&c, j->detached);
	/* The first transition, only if the row was inserted. */
	store__call_then(&c, S_TRANS_ADD);
	store__val_text(&c, j->id);
	store__val_int(&c, j->created);
	store__val_text(&c, "");
	store__val_text(&c, j->state);
	store__val_text(&c, j->reason);
	return store__submit(s, &c);
}

int
store__job_read(struct store *s, sqlite3_stmt *st, struct job_row *j)
{
	memset(j, 0, sizeof(*j));
	if (store__col_copy(st, 0, j->id, sizeof(j->id)) != 0 ||
	    store__col_copy(st, 1, j->client, sizeof(j->client)) != 0 ||
	    store__col_copy(st, 2, j->session, sizeof(j->session)) != 0 ||
	    store__col_copy(st, 3, j->binary, sizeof(j->binary)) != 0 ||
	    store__col_copy(st, 8, j->state, sizeof(j->state)) != 0 ||
	    store__col_copy(st, 9, j->worker, sizeof(j->worker)) != 0 ||
	    store__col_blob(st, 13, j->key_sealed, sizeof(j->key_sealed),
	    &j->key_sealed_len) != 0) {
		log_warnx("store %s: job row too large (corrupt database?)",
		    s->path);
		return -1;
	}
	j->args = store__col_dup(st, 4);
	j->cwd = store__col_dup(st, 5);
	j->env = store__col_dup(st, 6);
	j->paths = store__col_dup(st, 7);
	j->exit_code = sqlite3_column_int(st, 10);
	j->exit_signal = sqlite3_column_int(st, 11);
	j->reason = store__col_dup(st, 12);
	j->created = sqlite3_column_int64(st, 14);
	j->updated = sqlite3_column_int64(st, 15);
	j->exited = sqlite3_column_int(st, 16) != 0;
	j->detached = sqlite3_column_int(st, 17) != 0;
	j->bytes_in = sqlite3_column_int64(st, 18);
	j->bytes_out = sqlite3_column_int64(st, 19);
	j->progress = store__col_dup(st, 20);
	j->log_tail = store__col_dup(st, 21);
	j->log_chunks = sqlite3_column_type(st, 22) == SQLITE_NULL ? -1 :
	    sqlite3_column_int64(st, 22);
	j->log_skipped = sqlite3_column_int64(st, 23);
	return 0;
}

int
store_job_get(struct store *s, const char *id, struct job_row *j)
{
	sqlite3_stmt	*st = s->st[S_JOB_GET];
	int		 rc;

	store__bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		store__done(st);
		return 1;
	}
	if (rc != SQLITE_ROW) {
		store__warn(s, store__stmts[S_JOB_GET].what);
		store__done(st);
		return -1;
	}
	rc = store__job_read(s, st, j);
	store__done(st);
	return rc;
}

int
store_job_transition(struct store *s, const char *id, const char *from,
    const char *to, const char *worker, const char *reason, int64_t ts)
{
	struct store_call	c;

	store__call_init(&c, S_JOB_MOVE);
	store__val_text(&c, id);
	store__val_text(&c, from);
	store__val_text(&c, to);
	store__val_text(&c, worker);
	store__val_text(&c, reason);
	store__val_int(&c, ts);
	/* Recorded only if the job was in state `from`. */
	store__call_then(&c, S_TRANS_ADD);
	store__val_text(&c, id);
	store__val_int(&c, ts);
	store__val_text(&c, from);
	store__val_text(&c, to);
	store__val_text(&c, reason);
	return store__submit(s, &c);
}

int
store_job_set_key(struct store *s, const char *id, const uint8_t *sealed,
    size_t len)
{
	struct store_call	c;

	store__call_init(&c, S_JOB_SET_KEY);
	store__val_text(&c, id);
	store__val_blob(&c, sealed, len);
	return store__submit(s, &c);
}

int
store_job_set_args(struct store *s, const char *id, const struct strv *args,
    const struct strmap *env)
{
	struct store_call	c;
	struct job_row		row;
	int			rc;

	memset(&row, 0, sizeof(row));
	store_row_set_args(&row, args);
	store_row_set_env(&row, env);
	store__call_init(&c, S_JOB_SET_ARGS);
	store__val_text(&c, id);
	store__val_text(&c, row.args);
	store__val_text(&c, row.env);
	rc = store__submit(s, &c);
	store_job_clear(&row);
	return rc;
}

int
store_job_set_exit(struct store *s, const char *id, int code, int sig)
{
	struct store_call	c;

	store__call_init(&c, S_JOB_SET_EXIT);
	store__val_text(&c, id);
	store__val_int(&c, code);
	store__val_int(&c, sig);
	return store__submit(s, &c);
}

int
store_job_list(struct store *s, const char *const *states,
    int (*cb)(const struct job_row *, void *), void *arg)
{
	sqlite3_stmt	*st = s->st[S_JOB_LIST];
	struct job_row	 j;
	char		*json = NULL;
	int		 rc, stop;

	if (states != NULL && (json = store__states_json(states)) == NULL)
		return -1;
	store__bind_text(st, 1, json);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (store__job_read(s, st, &j) != 0)
			goto fail;
		stop = cb(&j, arg);
		store_job_clear(&j);
		if (stop)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store__warn(s, store__stmts[S_JOB_LIST].what);
		goto fail;
	}
	store__done(st);
	free(json);
	return 0;

fail:
	store__done(st);
	free(json);
	return -1;
}

/* Transitions of one job or one worker (the two lists read alike). */
static int
trans_list(struct store *s, enum stmt i, const char *key,
    int (*cb)(int64_t, const char *, const char *, const char *, void *),
    void *arg)
{
	sqlite3_stmt	*st = s->st[i];
	int		 rc;

	store__bind_text(st, 1, key);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cb(sqlite3_column_int64(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2),
		    (const char *)sqlite3_column_text(st, 3), arg) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		store__warn(s, store__stmts[i].what);
		store__done(st);
		return -1;
	}
	store__done(st);
	return 0;
}

int
store_job_transitions(struct store *s, const char *id,
    int (*cb)(int64_t, const char *, const char *, const char *, void *),
    void *arg)
{
	return trans_list(s, S_TRANS_LIST, id, cb, arg);
}

/*
 * One DELETE of at most `limit` rows.  Returns the number deleted, -1 on
 * an error (logged), or -2 if the database is busy (logged at debug).
 */
static int
purge_step(struct store *s, enum stmt i, const char *json, int64_t before,
    int limit)
{
	sqlite3_stmt	*st = s->st[i];
	int		 col = 1, rc;

	if (json != NULL)
		store__bind_text(st, col++, json);
	sqlite3_bind_int64(st, col++, before);
	sqlite3_bind_int(st, col, limit);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		if (store__is_busy(rc))
			log_debug("store %s: %s: database busy", s->path,
			    store__stmts[i].what);
		else
			store__warn(s, store__stmts[i].what);
		store__done(st);
		return store__is_busy(rc) ? -2 : -1;
	}
	store__done(st);
	return sqlite3_changes(s->db);
}

/* Jobs, then worker transitions with the rest of the budget; the counts
 * in *jobs and *wtrans.  0, -1 error, -2 busy (nothing more deleted). */
static int
purge_batch(struct store *s, const char *json, int64_t before, int limit,
    int *jobs, int *wtrans)
{
	*jobs = *wtrans = 0;
	/* Transitions go with their job (ON DELETE CASCADE). */
	if ((*jobs = purge_step(s, S_JOB_PURGE, json, before, limit)) < 0) {
		int	rc = *jobs;

		*jobs = 0;
		return rc;
	}
	if (*jobs >= limit)
		return 0;
	*wtrans = purge_step(s, S_WTRANS_PURGE, NULL, before, limit - *jobs);
	if (*wtrans < 0) {
		int	rc = *wtrans;

		*wtrans = 0;
		return rc;
	}
	return 0;
}

int
store_job_purge_batch(struct store *s, const char *const *terminal,
    int64_t before, int limit)
{
	char	*json;
	int	 jobs, wtrans, rc;

	if (limit <= 0) {
		log_warnx("store %s: purge with a limit of %d", s->path, limit);
		return -1;
	}
	if ((json = store__states_json(terminal)) == NULL)
		return -1;
	rc = purge_batch(s, json, before, limit, &jobs, &wtrans);
	free(json);
	if (rc == -1)
		return -1;
	return jobs + wtrans;
}

int
store_job_purge(struct store *s, const char *const *terminal, int64_t before)
{
	char	*json;
	int	 jobs, wtrans, total = 0, rc;

	if ((json = store__states_json(terminal)) == NULL)
		return -1;
	do {
		rc = purge_batch(s, json, before, PURGE_BATCH, &jobs, &wtrans);
		total += jobs;
	} while (rc == 0 && jobs + wtrans == PURGE_BATCH);
	free(json);
	return rc == 0 ? total : -1;
}

int
store_worker_seen(struct store *s, const char *id, const char *session,
    const char *state, int64_t ts)
{
	struct store_call	c;

	store__call_init(&c, S_WORKER_SEEN);
	store__val_text(&c, id);
	store__val_text(&c, session != NULL ? session : "");
	store__val_text(&c, state);
	store__val_int(&c, ts);
	return store__submit(s, &c) == -1 ? -1 : 0;
}

int
store_worker_remove(struct store *s, const char *id)
{
	struct store_call	c;

	store__call_init(&c, S_WORKER_REMOVE);
	store__val_text(&c, id);
	if (store__submit(s, &c) == -1)
		return -1;
	store__call_init(&c, S_WTRANS_REMOVE);
	store__val_text(&c, id);
	return store__submit(s, &c) == -1 ? -1 : 0;
}

int
store_worker_transition(struct store *s, const char *worker,
    const char *from, const char *to, const char *reason, int64_t ts)
{
	struct store_call	c;

	store__call_init(&c, S_WTRANS_ADD);
	store__val_text(&c, worker);
	store__val_int(&c, ts);
	store__val_text(&c, from != NULL ? from : "");
	store__val_text(&c, to);
	store__val_text(&c, reason);
	return store__submit(s, &c) == -1 ? -1 : 0;
}

int
store_worker_transitions(struct store *s, const char *worker,
    int (*cb)(int64_t, const char *, const char *, const char *, void *),
    void *arg)
{
	return trans_list(s, S_WTRANS_LIST, worker, cb, arg);
}
