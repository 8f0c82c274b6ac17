/*
 * What the operator surface reads and the end of a job writes: the job
 * query (filters, newest first, a cursor for the next page), job logs
 * (batches by sequence number, purged with their job by ON DELETE
 * CASCADE), and a job's end report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "jobstate.h"
#include "log.h"
#include "store.h"
#include "store_int.h"
#include "xmalloc.h"

int
store_job_set_end(struct store *s, const char *id, int64_t bytes_in,
    int64_t bytes_out, const char *progress, const char *log_tail,
    int64_t log_chunks, int64_t log_skipped)
{
	struct store_call	c;

	store__call_init(&c, S_JOB_SET_END);
	store__val_text(&c, id);
	store__val_int(&c, bytes_in);
	store__val_int(&c, bytes_out);
	store__val_text(&c, progress);
	store__val_text(&c, log_tail != NULL ? log_tail : "");
	store__val_int(&c, log_chunks);
	store__val_int(&c, log_skipped);
	return store__submit(s, &c) == -1 ? -1 : 0;
}

int
store_job_query(struct store *s, const struct job_filter *f,
    int (*cb)(const struct job_row *, void *), void *arg)
{
	sqlite3_stmt	*st = s->st[S_JOB_QUERY];
	struct job_row	 j;
	char		*states = NULL, *terminal;
	int		 rc;

	if (f->states != NULL &&
	    (states = store__states_json(f->states)) == NULL)
		return -1;
	if ((terminal = store__states_json(jobstate_terminal_names)) == NULL) {
		free(states);
		return -1;
	}
	store__bind_text(st, 1, states);
	if (f->since > 0)
		sqlite3_bind_int64(st, 2, f->since);
	store__bind_text(st, 3, terminal);
	store__bind_text(st, 4, f->client);
	store__bind_text(st, 5, f->worker);
	if (f->before_id != NULL) {
		sqlite3_bind_int64(st, 6, f->before_created);
		store__bind_text(st, 7, f->before_id);
	}
	sqlite3_bind_int(st, 8, f->limit > 0 ? f->limit : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (store__job_read(s, st, &j) != 0) {
			rc = SQLITE_ERROR;
			break;
		}
		rc = cb(&j, arg);
		store_job_clear(&j);
		if (rc != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		store__warn(s, store__stmts[S_JOB_QUERY].what);
	store__done(st);
	free(states);
	free(terminal);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_log_add(struct store *s, const char *job, int64_t seq, int64_t ts,
    int64_t skipped, const char *text)
{
	struct store_call	c;

	store__call_init(&c, S_LOG_ADD);
	store__val_text(&c, job);
	store__val_int(&c, seq);
	store__val_int(&c, ts);
	store__val_int(&c, skipped);
	store__val_text(&c, text);
	return store__submit(s, &c) == -1 ? -1 : 0;
}

int
store_log_drop(struct store *s, const char *job, int64_t seq)
{
	struct store_call	c;

	store__call_init(&c, S_LOG_DROP);
	store__val_text(&c, job);
	store__val_int(&c, seq);
	return store__submit(s, &c) == -1 ? -1 : 0;
}

int
store_log_list(struct store *s, const char *job, int64_t after,
    int (*cb)(int64_t, int64_t, int64_t, const char *, size_t, void *),
    void *arg)
{
	sqlite3_stmt	*st = s->st[S_LOG_LIST];
	const char	*text;
	int		 rc;

	store__bind_text(st, 1, job);
	sqlite3_bind_int64(st, 2, after);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		text = (const char *)sqlite3_column_text(st, 3);
		if (cb(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
		    sqlite3_column_int64(st, 2), text != NULL ? text : "",
		    (size_t)sqlite3_column_bytes(st, 3), arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		store__warn(s, store__stmts[S_LOG_LIST].what);
	store__done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_log_sizes(struct store *s, const char *job,
    int (*cb)(int64_t, int64_t, void *), void *arg)
{
	sqlite3_stmt	*st = s->st[S_LOG_SIZES];
	int		 rc;

	store__bind_text(st, 1, job);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (cb(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
		    arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		store__warn(s, store__stmts[S_LOG_SIZES].what);
	store__done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}
