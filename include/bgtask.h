/*
 * Background tasks: a function run in a forked child process with a
 * deadline, whose result reaches the loop as one callback.
 *
 * The loop must never block, but some work can: a slow binary (capability
 * probes), or a stat() on a mount whose server is gone, which sleeps in the
 * kernel for ever.  Such work runs in a child forked from the loop's
 * process.  The child runs the work function, writes what it produced to a
 * pipe and _exits.  It touches nothing of the parent's: every descriptor
 * but the pipe and 0-2 is closed in it (so it cannot keep the broker
 * connection open), signal dispositions and the mask are reset (libevent's
 * handlers would write to the parent's signal socket), and it dies with
 * the parent (PR_SET_PDEATHSIG).  The work function must not log or use
 * the loop; it reports through its output.
 *
 * The parent reads the pipe with a read event, at most BGTASK_OUTPUT_MAX
 * bytes, and calls done exactly once, never from bgtask_start itself:
 *
 *   BGTASK_OK       the work returned 0; out is what it wrote
 *   BGTASK_FAILED   the work returned -1; out is what it wrote (its reason)
 *   BGTASK_TIMEOUT  no result within the deadline; the child is SIGKILLed
 *   BGTASK_ERROR    anything else (the child crashed, wrote too much, ...);
 *                   out says what
 *
 * OK and FAILED are reported only once the child has exited and the pipe
 * is at EOF, so nothing of the child's output is lost.  out is always
 * NUL-terminated (len excludes the NUL) and valid only during the call.
 * done may start tasks; it must not free the pool.
 *
 * Children are reaped through proc_watch (proc.h), whose SIGCHLD event
 * reaps every child of the process.  A child killed at its deadline may not
 * die at once: in uninterruptible sleep (a hung NFS or FUSE mount) SIGKILL
 * waits until the kernel lets go.  Until the child is reaped its key stays
 * busy and bgtask_start refuses the key, so that checks of one thing never
 * pile up stuck children.
 */
#ifndef DFFMPEG_BGTASK_H
#define DFFMPEG_BGTASK_H

#include <stdbool.h>
#include <stddef.h>

struct buf;
struct event_base;

#define BGTASK_OUTPUT_MAX	(4 * 1024 * 1024)	/* one task's result */
#define BGTASK_KEY_MAX		128

enum bgtask_status {
	BGTASK_OK,
	BGTASK_FAILED,
	BGTASK_TIMEOUT,
	BGTASK_ERROR
};

/* Runs in the child: append the result (or the reason for -1) to out. */
typedef int	(*bgtask_work_fn)(void *arg, struct buf *out);
/* Runs on the loop, once per started task. */
typedef void	(*bgtask_done_fn)(void *arg, enum bgtask_status,
		    const char *out, size_t len);

struct bgtask_pool;

struct bgtask_pool	*bgtask_pool_new(struct event_base *);
/* Kill the children still running and forget them, without callbacks. */
void			 bgtask_pool_free(struct bgtask_pool *);

/*
 * Fork a child that runs work(arg), with a deadline of deadline_ms from
 * now.  key names what the task works on (1..BGTASK_KEY_MAX-1 bytes).
 * Returns 0, or -1 with err filled (the key is busy, or no pipe or fork)
 * and done will not be called.
 */
int	 bgtask_start(struct bgtask_pool *, const char *key, int deadline_ms,
	    bgtask_work_fn work, bgtask_done_fn done, void *arg, char *err,
	    size_t errlen);
/* Forget the unfinished task of key: its child is killed and done is
 * not called (its argument may be freed now). */
void	 bgtask_cancel(struct bgtask_pool *, const char *key);
/* A task with this key has been started and its child not yet reaped. */
bool	 bgtask_busy(const struct bgtask_pool *, const char *key);
/* Children not yet reaped (including those whose done has run). */
size_t	 bgtask_count(const struct bgtask_pool *);

#endif
