/*
 * The coordinator's SQLite state (design §10): one file in WAL mode,
 * schema versioned by PRAGMA user_version with forward migrations in code,
 * prepared statements only.  The admin applet opens the same file; the
 * coordinator notices its changes through store_data_version().
 *
 * Functions return 0 on success, -1 on an SQLite error (logged at warn,
 * with the statement's purpose), and where stated 1 for "not found" /
 * "no change".
 */
#ifndef DFFMPEG_STORE_H
#define DFFMPEG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"

#define SEALED_KEY_MAX	(24 + 16 + KEY_LEN)	/* nonce || secretbox */

struct store;

/* Open (creating if absent) and migrate to the current schema.  Returns
 * NULL with err filled on failure (cannot open, newer schema than this
 * program knows, migration failed). */
struct store	*store_open(const char *path, char *err, size_t errlen);
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

/* Identities. */
struct ident_row {
	char	 name[NAME_MAX_LEN + 1];
	int	 role;				/* enum role */
	uint8_t	 sealed[SEALED_KEY_MAX];	/* key sealed under master */
	size_t	 sealed_len;
	int64_t	 created;			/* ms */
};

/* 0 added, 1 already exists, -1 error. */
int	 store_ident_add(struct store *, const struct ident_row *);
/* 0 found, 1 not found, -1 error. */
int	 store_ident_get(struct store *, const char *name, struct ident_row *);
/* 0 removed, 1 not found, -1 error. */
int	 store_ident_remove(struct store *, const char *name);
/* Calls cb for each identity ordered by name; stops if cb returns != 0.
 * The row is valid only during the call. */
int	 store_ident_list(struct store *,
	    int (*cb)(const struct ident_row *, void *), void *arg);

/* Jobs.  Strings are owned by the row (store_job_clear frees them);
 * args/env/paths are JSON text. */
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
	char	*reason;	/* may be NULL */
	uint8_t	 key_sealed[SEALED_KEY_MAX];	/* job key under master */
	size_t	 key_sealed_len;
	int64_t	 created;
	int64_t	 updated;
};

void	 store_job_clear(struct job_row *);
/* 0 inserted, 1 a job with that id exists, -1 error.  Also records the
 * first transition ("" -> state). */
int	 store_job_insert(struct store *, const struct job_row *);
/* 0 found, 1 not found, -1 error. */
int	 store_job_get(struct store *, const char *id, struct job_row *);
/*
 * Move a job from state `from` to `to` and record the transition (job, ts,
 * from, to, reason) in one transaction.  worker (if not NULL) is set too.
 * 0 done, 1 the job is not in state `from` (nothing changed), -1 error.
 * The legality of the edge is the caller's business (see jobstate.h).
 */
int	 store_job_transition(struct store *, const char *id, const char *from,
	    const char *to, const char *worker, const char *reason, int64_t ts);
/* Replace the sealed key of a job (a new placement gets a new key): 0, 1
 * no such job, -1 error. */
int	 store_job_set_key(struct store *, const char *id,
	    const uint8_t *sealed, size_t len);
/* Record the exit status of a job: 0, 1 no such job, -1 error. */
int	 store_job_set_exit(struct store *, const char *id, int code, int sig);
/* Jobs in one of the states of the NULL-terminated list (NULL: all),
 * oldest first.  The row passed to cb is cleared after the call. */
int	 store_job_list(struct store *, const char *const *states,
	    int (*cb)(const struct job_row *, void *), void *arg);
/* The recorded transitions of a job, oldest first. */
int	 store_job_transitions(struct store *, const char *id,
	    int (*cb)(int64_t ts, const char *from, const char *to,
	    const char *reason, void *), void *arg);
/* Delete terminal jobs (and their transitions) last updated before ts.
 * Returns the number deleted or -1. */
int	 store_job_purge(struct store *, const char *const *terminal,
	    int64_t before);

/* Workers last seen (the registry itself lives in memory). */
int	 store_worker_seen(struct store *, const char *id, const char *session,
	    const char *state, int64_t ts);

#endif
