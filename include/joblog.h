/*
 * A job's log on its way from the worker to the coordinator (design §11):
 * the job's stderr in bounded batches while it runs, then the rest in its
 * `finished` report.
 *
 * joblog_feed takes stderr as the process writes it.  Complete lines
 * ('\n') are queued for shipping.  Status lines ('\r'-terminated, which
 * ffmpeg rewrites in place several times a second) are collapsed: only
 * the latest is kept, and it is queued just before the next line that is
 * not itself a status line, so the log reads as a terminal showed it
 * without hundreds of intermediate updates.  Each status line also
 * updates the job's progress (progress.h); the input dump's "Duration:"
 * gives its length.
 *
 * Bounds: a segment without a terminator is cut at JOBLOG_LINE_MAX; the
 * queue holds at most JOBLOG_QUEUE_MAX bytes, dropping its oldest bytes
 * (counted in `skipped`, reported with the next batch) when a job writes
 * faster than its batches are acknowledged.  Until the first batch is out,
 * the log's first JOBLOG_HEAD_MAX bytes (ffmpeg's banner, input dump and
 * stream mapping) are not dropped: what goes is what follows them, and
 * the first batch is then that head alone, the drop reported with the
 * second.  joblog_next hands out one batch of at most JOBLOG_BATCH_MAX
 * bytes, at most one every JOBLOG_INTERVAL_MS unless a whole batch is
 * waiting, and never while the previous one is unacknowledged: one batch
 * in flight per job while it runs.  At its end joblog_final hands out
 * what is left at once, in as many batches as it takes.
 */
#ifndef DFFMPEG_JOBLOG_H
#define DFFMPEG_JOBLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "progress.h"
#include "util.h"

#define JOBLOG_QUEUE_MAX	(256 * 1024)
#define JOBLOG_LINE_MAX		(8 * 1024)
#define JOBLOG_HEAD_MAX		(16 * 1024)
#define JOBLOG_INTERVAL_MS	1000

struct joblog {
	struct buf	 queue;		/* complete text, not yet shipped */
	struct buf	 partial;	/* a segment still being written */
	struct buf	 status;	/* the latest status line, with its \r */
	uint64_t	 skipped;	/* bytes dropped since the last batch */
	uint64_t	 skipped_mid;	/* dropped after the head (seq 0) */
	size_t		 head;		/* protected bytes at the queue's
					   front while seq is 0 */
	int64_t		 seq;		/* batches handed out (1, 2, ...) */
	bool		 inflight;	/* the last one is unacknowledged */
	char		 inflight_id[ID_BUF];
	int64_t		 last_sent;	/* mono ms */
	struct progress	 progress;
};

void	 joblog_init(struct joblog *);
void	 joblog_free(struct joblog *);
void	 joblog_feed(struct joblog *, const uint8_t *, size_t);
/*
 * The next batch to send at now (mono ms), or NULL: an owned,
 * NUL-terminated, valid UTF-8 text with its sequence number (*seq) and
 * the bytes dropped before it (*skipped).  The batch counts as in flight
 * until joblog_acked; the caller records its message id in inflight_id.
 */
char	*joblog_next(struct joblog *, int64_t now, int64_t *seq,
	    uint64_t *skipped);
/*
 * At the end of the job, when batches are shipped: the next of the
 * batches that carry everything left (the queue, then the last status
 * line and an unended segment), whatever is in flight and whatever the
 * time; NULL once nothing is left.  At most JOBLOG_QUEUE_MAX bytes in
 * all.
 */
char	*joblog_final(struct joblog *, int64_t now, int64_t *seq,
	    uint64_t *skipped);
/* The coordinator has the batch whose message id is id (others are
 * ignored). */
void	 joblog_acked(struct joblog *, const char *id);
/*
 * At the end of the job, when batches are not shipped (or after
 * joblog_final, for what it left: nothing): everything not handed out yet
 * (queue, the last status line, an unterminated segment), the last
 * JOBLOG_REST_MAX bytes of it, as owned valid UTF-8 (NULL if empty);
 * *skipped as for joblog_next and *seq the number of batches handed out
 * before it.
 */
char	*joblog_rest(struct joblog *, int64_t *seq, uint64_t *skipped);

#endif
