/*
 * The coordinator's SQLite state (design §10): one file in WAL mode,
 * schema versioned by PRAGMA user_version with forward migrations in code,
 * prepared statements only.  The admin applet opens the same file; the
 * coordinator notices its changes through store_data_version().
 *
 * Functions return 0 on success, -1 on an SQLite error (logged at warn,
 * with the statement's purpose), and where stated 1 for "not found" /
 * "no change".
 *
 * Deferred writes (store_defer): the coordinator must not wait on SQLite
 * in its loop.  With deferred mode on, the writes it makes on the loop
 * (marked "deferrable" below) are queued in memory with copies of their
 * values and return 0 at once; store_flush writes the queue in one
 * transaction on a later turn, and with a short busy timeout
 * (store_set_busy_timeout) a lock held by another connection costs one
 * attempt, not a stall.  Reads (store_job_get, the lists) see only what
 * is in the database, never the queue, and a deferred write is durable
 * only once store_flush has returned 0.
 */
#ifndef DFFMPEG_STORE_H
#define DFFMPEG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"

#define SEALED_KEY_MAX	(24 + 16 + KEY_LEN)	/* nonce || secretbox */

/* Bounds of the deferred queue: reaching either makes the next deferred
 * write flush synchronously (with the normal busy timeout) first. */
#define STORE_QUEUE_MAX		100000
#define STORE_QUEUE_MAX_BYTES	(256 * 1024 * 1024)
/* The busy timeout a connection starts with (ms). */
#define STORE_BUSY_TIMEOUT_MS	5000

struct strv;
struct strmap;

struct store;

/* Open (creating if absent) and migrate to the current schema.  Returns
 * NULL with err filled on failure (cannot open, newer schema than this
 * program knows, migration failed). */
struct store	*store_open(const char *path, char *err, size_t errlen);
/* Writes what is still queued (waiting up to STORE_BUSY_TIMEOUT_MS for a
 * lock; what cannot be written is logged as dropped), then closes. */
void		 store_close(struct store *);
int		 store_schema_version(struct store *);
/* The newest schema version this program knows. */
int		 store_schema_latest(void);
/* Changes when another connection commits (PRAGMA data_version) and when
 * identities are added or removed through this one; compare for equality
 * only.  -1 on error. */
int64_t		 store_data_version(struct store *);
int		 store_begin(struct store *);
int		 store_commit(struct store *);
int		 store_rollback(struct store *);

/* How long a statement waits for another connection's lock before it
 * fails as busy (sqlite3_busy_timeout); STORE_BUSY_TIMEOUT_MS at open. */
void		 store_set_busy_timeout(struct store *, int ms);

/*
 * Turn deferred mode on or off.  While on, the deferrable writes below
 * queue a copy of their statement and values and return 0 (they cannot
 * report "not found" / "no change": that is decided when the queue is
 * written, with the same semantics as a direct call).  They return -1
 * only for a value refused before queueing (a sealed key over
 * SEALED_KEY_MAX) or when the queue is at its bound and the synchronous
 * flush that makes room found the database still busy (the write is then
 * dropped, logged).  Turning deferred mode off writes nothing: call
 * store_flush first, or later direct writes overtake what is queued.
 * Identity writes and the purge always run at once.
 */
void		 store_defer(struct store *, bool on);
/*
 * Write the queue, in order, in one BEGIN IMMEDIATE ... COMMIT.
 * 0: written (or empty); a statement that fails on its own (a constraint)
 *    was logged and skipped, the rest committed.
 * 1: the database is busy (another connection holds the write lock): the
 *    queue is kept intact for a later call and nothing was written.
 * -1: another error (logged with the statement's purpose): the
 *    transaction is rolled back and the queue dropped, with a log line
 *    saying how many statements of which kind were lost.  Also -1 (queue
 *    kept) when called inside a transaction of the caller's.
 */
int		 store_flush(struct store *);
/* Statements queued and not yet written. */
size_t		 store_pending(const struct store *);

/* Identities. */
struct ident_row {
	char	 name[NAME_MAX_LEN + 1];
	int	 role;				/* enum role */
	uint8_t	 sealed[SEALED_KEY_MAX];	/* key sealed under master */
	size_t	 sealed_len;
	int64_t	 created;			/* ms */
	/* The key it had before its last rotation, valid until old_until
	 * (ms; 0 and old_len 0: none). */
	uint8_t	 old_sealed[SEALED_KEY_MAX];
	size_t	 old_sealed_len;
	int64_t	 old_until;
};

/* 0 added, 1 already exists, -1 error. */
int	 store_ident_add(struct store *, const struct ident_row *);
/* 0 found, 1 not found, -1 error. */
int	 store_ident_get(struct store *, const char *name, struct ident_row *);
/* 0 removed, 1 not found, -1 error. */
int	 store_ident_remove(struct store *, const char *name);
/* Give an identity a new key, keeping the current one as its old key
 * until old_until (ms; 0: none): 0, 1 not found, -1 error. */
int	 store_ident_rotate(struct store *, const char *name,
	    const uint8_t *sealed, size_t len, const uint8_t *old_sealed,
	    size_t old_len, int64_t old_until);
/* Calls cb for each identity ordered by name; stops if cb returns != 0.
 * The row is valid only during the call. */
int	 store_ident_list(struct store *,
	    int (*cb)(const struct ident_row *, void *), void *arg);

/* Jobs.  Strings are owned by the row (store_job_clear frees them);
 * args/env/paths are JSON text (see store_row_set_args and friends). */
struct job_row {
	char	 id[ID_BUF];
	char	 client[NAME_MAX_LEN + 1];
	char	 session[SESSION_BUF];
	char	 binary[NAME_MAX_LEN + 1];
	char	*args;		/* JSON array of strings */
	char	*cwd;		/* may be NULL */
	char	*env;		/* JSON object */
	char	*paths;		/* JSON array of variable names */
	char	 state[16];
	char	 worker[NAME_MAX_LEN + 1];	/* "" if none */
	int	 exit_code;
	int	 exit_signal;
	bool	 exited;	/* exit_code/exit_signal are the process's */
	char	*reason;	/* may be NULL */
	uint8_t	 key_sealed[SEALED_KEY_MAX];	/* job key under master */
	size_t	 key_sealed_len;
	int64_t	 created;
	int64_t	 updated;
	bool	 detached;	/* nobody attached: runs without a client */
	int64_t	 bytes_in;	/* stdin bytes the process read */
	int64_t	 bytes_out;	/* stdout and stderr bytes it wrote */
	char	*progress;	/* last progress, wire form (progress.h) */
	char	*log_tail;	/* the log's rest, reported with its end */
	int64_t	 log_chunks;	/* batches before log_tail; -1: not ended */
	int64_t	 log_skipped;	/* bytes of the rest that were dropped */
};

void	 store_job_clear(struct job_row *);

/*
 * Typed access to the JSON members of a row.  The setters replace (and
 * free) args, paths or env with the JSON of the list or map.  The readers
 * append to the caller's list or map, and only if the text is exactly a
 * JSON array of strings (args, paths) or an object whose values are all
 * strings (env): 0, or -1 (out untouched) for anything else.  A NULL
 * member reads as empty.
 */
void	 store_row_set_args(struct job_row *, const struct strv *);
void	 store_row_set_paths(struct job_row *, const struct strv *);
void	 store_row_set_env(struct job_row *, const struct strmap *);
int	 store_row_args(const struct job_row *, struct strv *);
int	 store_row_paths(const struct job_row *, struct strv *);
int	 store_row_env(const struct job_row *, struct strmap *);

/* Deferrable.  0 inserted, 1 a job with that id exists, -1 error.  Also
 * records the first transition ("" -> state), only if the job row was
 * inserted. */
int	 store_job_insert(struct store *, const struct job_row *);
/* 0 found, 1 not found, -1 error. */
int	 store_job_get(struct store *, const char *id, struct job_row *);
/*
 * Deferrable.  Move a job from state `from` to `to` and record the
 * transition (job, ts, from, to, reason) in one transaction.  worker (if
 * not NULL) is set too.
 * 0 done, 1 the job is not in state `from` (nothing changed), -1 error.
 * The legality of the edge is the caller's business (see jobstate.h).
 */
int	 store_job_transition(struct store *, const char *id, const char *from,
	    const char *to, const char *worker, const char *reason, int64_t ts);
/* Deferrable.  Replace the sealed key of a job (a new placement gets a new
 * key): 0, 1 no such job, -1 error. */
int	 store_job_set_key(struct store *, const char *id,
	    const uint8_t *sealed, size_t len);
/* Deferrable.  Replace a job's arguments and environment (a refused
 * job keeps a summary of them): 0, 1 no such job, -1 error. */
int	 store_job_set_args(struct store *, const char *id,
	    const struct strv *args, const struct strmap *env);
/* Deferrable.  Record the exit status of a job's process (and that it
 * exited): 0, 1 no such job, -1 error. */
int	 store_job_set_exit(struct store *, const char *id, int code, int sig);
/* Jobs in one of the states of the NULL-terminated list (NULL: all),
 * oldest first.  The row passed to cb is cleared after the call. */
int	 store_job_list(struct store *, const char *const *states,
	    int (*cb)(const struct job_row *, void *), void *arg);
/* The recorded transitions of a job, oldest first. */
int	 store_job_transitions(struct store *, const char *id,
	    int (*cb)(int64_t ts, const char *from, const char *to,
	    const char *reason, void *), void *arg);
/* Delete terminal jobs (and their transitions) last updated before ts,
 * and worker transitions older than ts, in as many batches as it takes.
 * Returns the number of jobs deleted or -1. */
int	 store_job_purge(struct store *, const char *const *terminal,
	    int64_t before);
/*
 * One bounded step of the purge, for the coordinator's loop: delete at
 * most `limit` (> 0) rows in all, first terminal jobs last updated before
 * `before`, oldest first (their job transitions go with them, ON DELETE
 * CASCADE), then with what is left of the budget worker transitions older
 * than `before`, oldest first.  Returns the number of jobs and worker
 * transitions deleted: `limit` means there may be more, call again later.
 * Runs at once even in deferred mode (its count is needed); a busy
 * database deletes nothing and returns 0 (logged at debug), -1 on another
 * error.
 */
int	 store_job_purge_batch(struct store *, const char *const *terminal,
	    int64_t before, int limit);

/*
 * Deferrable.  What a job's end report says: byte counts, its last
 * progress (NULL keeps what is there), the rest of its log and how many
 * batches came before it, and the bytes of the rest that were dropped.
 */
int	 store_job_set_end(struct store *, const char *id, int64_t bytes_in,
	    int64_t bytes_out, const char *progress, const char *log_tail,
	    int64_t log_chunks, int64_t log_skipped);

/* Jobs for the operator surface, newest first. */
struct job_filter {
	const char *const *states;	/* NULL: any */
	int64_t		 since;		/* finished jobs updated since (ms);
					   0: all */
	const char	*client;	/* NULL: any */
	const char	*worker;	/* NULL: any */
	int64_t		 before_created;	/* cursor: 0 none */
	const char	*before_id;
	int		 limit;
};
/* Calls cb for each matching job; stops when cb returns != 0.  0 or -1. */
int	 store_job_query(struct store *, const struct job_filter *,
	    int (*cb)(const struct job_row *, void *), void *arg);

/* Deferrable.  One batch of a job's log (a repeated seq is ignored). */
int	 store_log_add(struct store *, const char *job, int64_t seq,
	    int64_t ts, int64_t skipped, const char *text);
/* Deferrable.  Drop one batch (the log's size bound). */
int	 store_log_drop(struct store *, const char *job, int64_t seq);
/* The batches of a job after seq, in order; stops when cb returns != 0.
 * 0 or -1. */
int	 store_log_list(struct store *, const char *job, int64_t after,
	    int (*cb)(int64_t seq, int64_t ts, int64_t skipped,
	    const char *text, size_t len, void *), void *arg);
/* The sequence numbers and byte sizes of a job's batches, in order. */
int	 store_log_sizes(struct store *, const char *job,
	    int (*cb)(int64_t seq, int64_t len, void *), void *arg);

/* Deferrable.  Workers last seen (the registry itself lives in memory). */
int	 store_worker_seen(struct store *, const char *id, const char *session,
	    const char *state, int64_t ts);
/* Deferrable.  Forget a worker: its row and its recorded transitions. */
int	 store_worker_remove(struct store *, const char *id);
/* Deferrable.  Record a worker's state change (from "" or NULL for its
 * first state): 0 or -1. */
int	 store_worker_transition(struct store *, const char *worker,
	    const char *from, const char *to, const char *reason, int64_t ts);
/* The recorded transitions of a worker, oldest first; stops when cb
 * returns != 0.  reason may be NULL.  0 or -1. */
int	 store_worker_transitions(struct store *, const char *worker,
	    int (*cb)(int64_t ts, const char *from, const char *to,
	    const char *reason, void *), void *arg);

#endif
