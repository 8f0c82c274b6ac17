/*
 * Internals shared by the files of the store (store.c: connection,
 * statements, migrations, transactions; store_queue.c: writes run now or
 * deferred; store_rows.c: identities, jobs, workers; store_logs.c: job
 * logs, the job query and what a job's end records; store_json.c: typed
 * row fields).  Nothing outside those files includes this header except
 * the store's unit test, which uses store__create_at() to build databases
 * of an older schema version.  Names are store__verb_object.
 */
#ifndef DFFMPEG_STORE_INT_H
#define DFFMPEG_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store.h"

/* Every statement of the store, prepared once in store_open.  The order
 * matters in one place: those up to S_USER_VERSION do not depend on the
 * schema and are prepared before migrating. */
enum stmt {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
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
	S_JOB_SET_ARGS,
	S_JOB_LIST,
	S_TRANS_ADD,
	S_TRANS_LIST,
	S_JOB_PURGE,
	S_WORKER_SEEN,
	S_WTRANS_ADD,
	S_WTRANS_LIST,
	S_WTRANS_PURGE,
	S_IDENT_ROTATE,
	S_JOB_SET_END,
	S_JOB_QUERY,
	S_LOG_ADD,
	S_LOG_DROP,
	S_LOG_LIST,
	S_LOG_SIZES,
	S_WORKER_REMOVE,
	S_WTRANS_REMOVE,
	S__COUNT
};
#define S_NONE	S__COUNT

struct store_stmt_def {
	const char	*what;	/* named in error messages */
	const char	*sql;
};
extern const struct store_stmt_def store__stmts[S__COUNT];

/* One bound value of a write.  Text and blob point at the caller's bytes
 * for a write run at once, at the queue entry's own copy once deferred. */
struct qval {
	int		 type;	/* SQLITE_NULL, _INTEGER, _TEXT or _BLOB */
	int64_t		 i;
	const void	*p;
	size_t		 len;	/* text without its NUL, or blob */
};

#define CALL_MAX_VALS	24

/*
 * A write: statement st with values v[0..n), and optionally a follow-up
 * statement `then` with values v[n..n+nthen) that runs only when st
 * changed a row (a job's first transition after its insert, a
 * transition's record after its UPDATE).  Built on the stack by a write
 * function, then run at once or copied to the queue by store__submit.
 */
struct store_call {
	enum stmt	 st;
	enum stmt	 then;
	int		 n;
	int		 nthen;
	struct qval	 v[CALL_MAX_VALS];
};

struct qent;

struct store {
	sqlite3		*db;
	char		*path;
	sqlite3_stmt	*st[S__COUNT];
	/* Identity writes through this connection: PRAGMA data_version
	 * does not count them, store_data_version must. */
	int64_t		 local_changes;
	int		 busy_ms;
	/* Deferred writes (store_defer): a FIFO of copies of calls. */
	bool		 deferred;
	struct qent	*qhead;
	struct qent	**qtail;
	size_t		 qlen;
	size_t		 qbytes;
};

/* store.c */
void	 store__warn(struct store *, const char *what);
/* Step a statement that returns no rows; 0 or -1 (logged).  Resets it. */
int	 store__run(struct store *, enum stmt);
/* Reset a statement and clear its bindings. */
void	 store__done(sqlite3_stmt *);
int	 store__bind_text(sqlite3_stmt *, int col, const char *);
/* Copy a text column into a fixed array; -1 if it does not fit. */
int	 store__col_copy(sqlite3_stmt *, int col, char *dst, size_t size);
/* An owned copy of a text column, NULL for SQL NULL. */
char	*store__col_dup(sqlite3_stmt *, int col);
/* Copy a blob column of at most max bytes; -1 if larger. */
int	 store__col_blob(sqlite3_stmt *, int col, uint8_t *dst, size_t max,
	    size_t *lenp);
/* Join the caller's transaction or open one (*own set); tx_end commits
 * (ok) or rolls back only the one it opened. */
int	 store__tx_begin(struct store *, int *own);
int	 store__tx_end(struct store *, int own, int ok);
/* A JSON array of a NULL-terminated state list, for json_each; owned.
 * NULL (logged) if a name is not a plain word. */
char	*store__states_json(const char *const *);
/* store_rows.c: a row of JOB_COLUMNS (owned strings: store_job_clear). */
int	 store__job_read(struct store *, sqlite3_stmt *, struct job_row *);
/* Is an SQLite result code "another connection holds the lock"? */
bool	 store__is_busy(int rc);
/* Create or migrate the file at path to exactly schema version `version`
 * (at most the latest), then close it.  For tests of the migrations. */
int	 store__create_at(const char *path, int version, char *err,
	    size_t errlen);

/* store_queue.c */
void	 store__call_init(struct store_call *, enum stmt);
/* The values added after this belong to the follow-up statement. */
void	 store__call_then(struct store_call *, enum stmt);
void	 store__val_text(struct store_call *, const char *);	/* NULL ok */
void	 store__val_int(struct store_call *, int64_t);
void	 store__val_blob(struct store_call *, const void *, size_t);
/* Run a call now (0 it changed a row, 1 it did not, -1 error, logged),
 * or in deferred mode append a copy to the queue (0, or -1 when the queue
 * is full and could not be written). */
int	 store__submit(struct store *, const struct store_call *);
/* Write what is pending with the normal busy timeout and free the rest
 * (store_close). */
void	 store__queue_drain(struct store *);

#endif
