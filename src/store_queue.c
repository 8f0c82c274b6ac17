/*
 * Writes of the store, run at once or deferred (store_defer).
 *
 * A write function fills a struct store_call (a statement, its values and
 * an optional follow-up statement that runs only when the first changed a
 * row) and hands it to store__submit.  Direct mode runs it at once, in
 * its own transaction when it has a follow-up.  Deferred mode copies it,
 * values and all, into one allocation at the tail of a FIFO; store_flush
 * later runs the entries with the very same code, in order, inside one
 * BEGIN IMMEDIATE ... COMMIT, so a deferred write means exactly what the
 * direct one would have.
 *
 * Invariants of the queue: entries are only removed by a flush that
 * committed or by one that failed for good (dropped, logged); a busy
 * database leaves every entry in place and nothing written (the whole
 * transaction is rolled back).  An entry with a follow-up runs inside a
 * savepoint, so a failing entry is skipped whole, never half-written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "util.h"
#include "xmalloc.h"

struct qent {
	struct qent	*next;
	size_t		 size;		/* of this allocation, for the bound */
	enum stmt	 st;
	enum stmt	 then;
	int		 n;
	int		 nthen;
	struct qval	 v[];		/* n + nthen, then their bytes */
};

/* How a call ended, for store_flush. */
enum outcome {
	OK_CHANGED,
	OK_UNCHANGED,
	FAIL_BUSY,	/* another connection holds the lock */
	FAIL_STMT,	/* this statement failed; the transaction is open */
	FAIL_TX,	/* the transaction is gone or the connection unusable */
};

void
store__call_init(struct store_call *c, enum stmt st)
{
	memset(c, 0, sizeof(*c));
	c->st = st;
	c->then = S_NONE;
}

void
store__call_then(struct store_call *c, enum stmt then)
{
	c->then = then;
}

static struct qval *
call_next(struct store_call *c)
{
	int	i = c->n + c->nthen;

	/* The calls are ours and fixed: more values is a programming error. */
	if (i >= CALL_MAX_VALS)
		fatalx("store: too many values for one statement");
	if (c->then == S_NONE)
		c->n++;
	else
		c->nthen++;
	return &c->v[i];
}

void
store__val_text(struct store_call *c, const char *t)
{
	struct qval	*v = call_next(c);

	if (t == NULL) {
		v->type = SQLITE_NULL;
		return;
	}
	v->type = SQLITE_TEXT;
	v->p = t;
	v->len = strlen(t);
}

void
store__val_int(struct store_call *c, int64_t i)
{
	struct qval	*v = call_next(c);

	v->type = SQLITE_INTEGER;
	v->i = i;
}

void
store__val_blob(struct store_call *c, const void *p, size_t len)
{
	struct qval	*v = call_next(c);

	if (p == NULL) {
		v->type = SQLITE_NULL;
		return;
	}
	v->type = SQLITE_BLOB;
	v->p = p;
	v->len = len;
}

static int
bind_vals(sqlite3_stmt *st, const struct qval *v, int n)
{
	int	i, rc = SQLITE_OK;

	for (i = 0; i < n && rc == SQLITE_OK; i++) {
		switch (v[i].type) {
		case SQLITE_INTEGER:
			rc = sqlite3_bind_int64(st, i + 1, v[i].i);
			break;
		case SQLITE_TEXT:
			rc = sqlite3_bind_text64(st, i + 1, v[i].p, v[i].len,
			    SQLITE_STATIC, SQLITE_UTF8);
			break;
		case SQLITE_BLOB:
			rc = sqlite3_bind_blob64(st, i + 1, v[i].p, v[i].len,
			    SQLITE_STATIC);
			break;
		default:
			rc = sqlite3_bind_null(st, i + 1);
			break;
		}
	}
	return rc;
}

/* Run one statement with its values; the error is logged with the
 * statement's purpose unless it is "busy" and quiet_busy is set. */
static enum outcome
exec_one(struct store *s, enum stmt i, const struct qval *v, int n,
    bool quiet_busy)
{
	sqlite3_stmt	*st = s->st[i];
	int		 rc;

	if ((rc = bind_vals(st, v, n)) == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
		store__done(st);
		return sqlite3_changes(s->db) > 0 ? OK_CHANGED : OK_UNCHANGED;
	}
	if (!quiet_busy || !store__is_busy(rc))
		store__warn(s, store__stmts[i].what);
	store__done(st);
	if (store__is_busy(rc))
		return FAIL_BUSY;
	/* A constraint rolls back the statement; I/O errors, a full disk
	 * or an interrupt may roll back the whole transaction. */
	if (sqlite3_get_autocommit(s->db))
		return FAIL_TX;
	return FAIL_STMT;
}

/* A call's statement, then its follow-up if the first changed a row. */
static enum outcome
exec_call(struct store *s, enum stmt st, enum stmt then,
    const struct qval *v, int n, int nthen, bool quiet_busy)
{
	enum outcome	o;

	o = exec_one(s, st, v, n, quiet_busy);
	if (o != OK_CHANGED || then == S_NONE)
		return o;
	o = exec_one(s, then, v + n, nthen, quiet_busy);
	return o == OK_UNCHANGED ? OK_CHANGED : o;
}

static int
submit_now(struct store *s, const struct store_call *c)
{
	enum outcome	o;
	int		 own = 0;

	if (c->then != S_NONE && store__tx_begin(s, &own) != 0)
		return -1;
	o = exec_call(s, c->st, c->then, c->v, c->n, c->nthen, false);
	if (o != OK_CHANGED && o != OK_UNCHANGED) {
		store__tx_end(s, own, 0);
		return -1;
	}
	if (store__tx_end(s, own, 1) != 0)
		return -1;
	return o == OK_CHANGED ? 0 : 1;
}

static void
enqueue(struct store *s, const struct store_call *c)
{
	struct qent	*e;
	size_t		 size, i, nv = (size_t)(c->n + c->nthen);
	char		*bytes;

	size = sizeof(*e) + nv * sizeof(e->v[0]);
	for (i = 0; i < nv; i++)
		if (c->v[i].type == SQLITE_TEXT || c->v[i].type == SQLITE_BLOB)
			size += c->v[i].len + 1;
	e = xmalloc(size);
	e->next = NULL;
	e->size = size;
	e->st = c->st;
	e->then = c->then;
	e->n = c->n;
	e->nthen = c->nthen;
	bytes = (char *)&e->v[nv];
	for (i = 0; i < nv; i++) {
		e->v[i] = c->v[i];
		if (c->v[i].type != SQLITE_TEXT && c->v[i].type != SQLITE_BLOB)
			continue;
		if (c->v[i].len > 0)
			memcpy(bytes, c->v[i].p, c->v[i].len);
		bytes[c->v[i].len] = '\0';
		e->v[i].p = bytes;
		bytes += c->v[i].len + 1;
	}
	*s->qtail = e;
	s->qtail = &e->next;
	s->qlen++;
	s->qbytes += size;
}

static void
queue_free(struct store *s)
{
	struct qent	*e, *next;

	for (e = s->qhead; e != NULL; e = next) {
		next = e->next;
		free(e);
	}
	s->qhead = NULL;
	s->qtail = &s->qhead;
	s->qlen = 0;
	s->qbytes = 0;
}

/* The queue is lost: say how many statements of which kind. */
static void
queue_drop(struct store *s, const char *why)
{
	size_t		 count[S__COUNT] = { 0 }, i;
	struct qent	*e;

	if (s->qlen == 0)
		return;
	for (e = s->qhead; e != NULL; e = e->next)
		count[e->st]++;
	log_error("store %s: %s: %zu deferred writes dropped", s->path, why,
	    s->qlen);
	for (i = 0; i < S__COUNT; i++)
		if (count[i] > 0)
			log_error("store %s: dropped: %zu x %s", s->path,
			    count[i], store__stmts[i].what);
	queue_free(s);
}

/* A fatal error inside the flush's transaction: roll back, drop. */
static int
flush_fail(struct store *s, const char *why)
{
	if (!sqlite3_get_autocommit(s->db))
		store__run(s, S_ROLLBACK);
	queue_drop(s, why);
	return -1;
}

/* A busy database inside the flush's transaction: undo, keep all. */
static int
flush_busy(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		store__run(s, S_ROLLBACK);
	log_debug("store %s: database busy, %zu writes kept for later",
	    s->path, s->qlen);
	return 1;
}

static bool
failed(enum outcome o)
{
	return o == FAIL_BUSY || o == FAIL_STMT || o == FAIL_TX;
}

/* Run one entry inside the flush's transaction; one with a follow-up in
 * a savepoint, so that when it fails on its own neither half remains. */
static enum outcome
flush_entry(struct store *s, const struct qent *e)
{
	enum outcome	o;

	if (e->then == S_NONE)
		return exec_call(s, e->st, e->then, e->v, e->n, 0, true);
	o = exec_one(s, S_SAVEPOINT, NULL, 0, true);
	if (failed(o))
		return o == FAIL_BUSY ? FAIL_BUSY : FAIL_TX;
	o = exec_call(s, e->st, e->then, e->v, e->n, e->nthen, true);
	if (o == FAIL_BUSY || o == FAIL_TX)
		return o;
	if (o == FAIL_STMT && failed(exec_one(s, S_ROLLBACK_TO, NULL, 0,
	    true)))
		return FAIL_TX;
	if (failed(exec_one(s, S_RELEASE, NULL, 0, true)))
		return FAIL_TX;
	return o;
}

/* BEGIN or COMMIT of the flush (busy is not an error worth a warning). */
static enum outcome
flush_step(struct store *s, enum stmt i)
{
	return exec_one(s, i, NULL, 0, true);
}

int
store_flush(struct store *s)
{
	struct qent	*e;
	enum outcome	 o, rc;
	size_t		 skipped = 0;

	if (s->qhead == NULL)
		return 0;
	if (!sqlite3_get_autocommit(s->db)) {
		log_warnx("store %s: flush inside a transaction refused "
		    "(%zu writes kept)", s->path, s->qlen);
		return -1;
	}
	if ((rc = flush_step(s, S_BEGIN)) == FAIL_BUSY)
		return flush_busy(s);
	if (failed(rc))
		return flush_fail(s, store__stmts[S_BEGIN].what);
	for (e = s->qhead; e != NULL; e = e->next) {
		o = flush_entry(s, e);
		if (o == FAIL_BUSY)
			return flush_busy(s);
		if (o == FAIL_TX)
			return flush_fail(s, store__stmts[e->st].what);
		if (o == FAIL_STMT) {
			log_warnx("store %s: deferred write skipped: %s",
			    s->path, store__stmts[e->st].what);
			skipped++;
		}
	}
	if ((rc = flush_step(s, S_COMMIT)) == FAIL_BUSY)
		return flush_busy(s);
	if (failed(rc))
		return flush_fail(s, store__stmts[S_COMMIT].what);
	if (skipped > 0)
		log_warnx("store %s: %zu of %zu deferred writes skipped",
		    s->path, skipped, s->qlen);
	queue_free(s);
	return 0;
}

/*
 * The queue is full: the database has been busy or failing for a long
 * while.  Write it now, waiting as long as a direct call would, instead
 * of growing without limit.  0 if there is room afterwards.
 */
static int
queue_make_room(struct store *s)
{
	int	rc;

	log_error("store %s: %zu deferred writes (%zu bytes) pending; "
	    "writing them now, waiting up to %d ms for the database",
	    s->path, s->qlen, s->qbytes, STORE_BUSY_TIMEOUT_MS);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	rc = store_flush(s);
	sqlite3_busy_timeout(s->db, s->busy_ms);
	if (rc == 1)
		log_error("store %s: the database is still busy", s->path);
	/* Written or dropped, the queue is empty; refused, it is not. */
	return s->qlen == 0 ? 0 : -1;
}

int
store__submit(struct store *s, const struct store_call *c)
{
	if (!s->deferred)
		return submit_now(s, c);
	if ((s->qlen >= STORE_QUEUE_MAX || s->qbytes >= STORE_QUEUE_MAX_BYTES)
	    && queue_make_room(s) != 0) {
		log_error("store %s: deferred write dropped: %s", s->path,
		    store__stmts[c->st].what);
		return -1;
	}
	enqueue(s, c);
	return 0;
}

void
store__queue_drain(struct store *s)
{
	if (s->qhead == NULL)
		return;
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	if (store_flush(s) == 1)
		queue_drop(s, "database busy at close");
	queue_free(s);
}

void
store_defer(struct store *s, bool on)
{
	s->deferred = on;
}

size_t
store_pending(const struct store *s)
{
	return s->qlen;
}
