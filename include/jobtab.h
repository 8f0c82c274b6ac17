/*
 * The coordinator's unfinished jobs (design §6.1, §9): found by id
 * through a hash map, kept in submission order, and the pending ones also
 * in a FIFO queue of their own, so that scheduling walks only what waits.
 * A job leaves the table when it reaches a terminal state (the store keeps
 * its history).  The state itself is changed only by the coordinator's
 * job_transition, which keeps the queue in step (jobtab_requeue).
 */
#ifndef DFFMPEG_JOBTAB_H
#define DFFMPEG_JOBTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "bounds.h"
#include "ffargs.h"
#include "hmap.h"
#include "jobstate.h"
#include "msg.h"
#include "progress.h"
#include "util.h"

/* What the coordinator keeps of an unfinished job's log (coord_logs.c):
 * the batches stored, in order, with their sizes, for the size bound. */
struct cjob_log {
	int64_t		 next;		/* the batch expected next (1 first) */
	bool		 resync;	/* restored: take the next as it comes */
	int64_t		 bytes;		/* kept in the store */
	int64_t		*seqs;
	int64_t		*lens;
	size_t		 n;
	size_t		 cap;
};

struct cjob {
	char		 id[ID_BUF];
	char		 client[NAME_MAX_LEN + 1];
	char		 session[SESSION_BUF];
	int64_t		 epoch;		/* of its client's connection */
	int64_t		 will_epoch;	/* highest epoch whose will we took */
	char		 binary[NAME_MAX_LEN + 1];
	struct strv	 args;
	char		*cwd;
	struct strmap	 env;
	struct strv	 paths;
	struct ffreq	 req;		/* what it needs of a worker's ffmpeg */
	/* Set (why) when no worker could meet req and the client has no
	 * fallback: it runs on any worker with the binary and its paths, so
	 * that the caller gets ffmpeg's own error. */
	char		*unplaceable;
	struct strv	 hwtypes;	/* device types it uses (hwcaps.h) */
	enum job_state	 state;
	char		 worker[NAME_MAX_LEN + 1];
	uint8_t		 key[KEY_LEN];
	int64_t		 queued_at;	/* mono ms */
	int64_t		 assigned_at;
	/* For the metrics (mono ms; 0: not known, as after a restart). */
	int64_t		 submitted_at;
	int64_t		 started_at;
	bool		 dispatched;	/* assigned once already */
	int64_t		 assign_sent;
	struct msg	 assign;	/* re-sent until started/rejected */
	bool		 assigning;
	int64_t		 cancel_sent;	/* mono ms; re-sent while canceling */
	bool		 cancel_relay;	/* an administrator's: the client
					   still reads the last output */
	/* Since when (mono ms) its worker has said that a report for it is
	 * on the way (after a restart of ours); 0: none expected. */
	int64_t		 report_due;
	bool		 detached;	/* no client waits for it */
	bool		 client_old_key;	/* its client signs with the
					   identity's previous key */
	struct progress	 progress;	/* from its worker's heartbeats */
	struct cjob_log	 log;

	TAILQ_ENTRY(cjob) all;		/* every unfinished job */
	TAILQ_ENTRY(cjob) queue;	/* pending ones only */
	bool		 queued;
};

TAILQ_HEAD(cjob_list, cjob);

struct jobtab {
	struct hmap	 ids;
	struct cjob_list all;
	struct cjob_list pending;
	size_t		 n;
	size_t		 npending;
};

void		 jobtab_init(struct jobtab *);
/* Free every job. */
void		 jobtab_free(struct jobtab *);
/* A new, empty job (not in the table yet). */
struct cjob	*jobtab_job_new(void);
void		 jobtab_job_free(struct cjob *);
/* Take j (new or restored) into the table, and the queue if pending. */
void		 jobtab_add(struct jobtab *, struct cjob *);
struct cjob	*jobtab_find(const struct jobtab *, const char *id);
/* Take j out of the table and free it. */
void		 jobtab_forget(struct jobtab *, struct cjob *);
/* Keep the queue in step with j->state (after it changed): a job that
 * became pending goes to the back of the queue. */
void		 jobtab_requeue(struct jobtab *, struct cjob *);
/* Position of a pending job in the queue, 1 first; 0 if not queued. */
size_t		 jobtab_position(const struct jobtab *, const struct cjob *);

#define jobtab_first(t)		TAILQ_FIRST(&(t)->all)
#define jobtab_next(j)		TAILQ_NEXT((j), all)
#define jobtab_first_pending(t)	TAILQ_FIRST(&(t)->pending)
#define jobtab_next_pending(j)	TAILQ_NEXT((j), queue)

#endif
