/*
 * The job state graph (design §9), in one place:
 *
 *   pending -> assigned -> running -> completed | failed | canceled
 *                                  \-> canceling -> canceled
 *
 * plus the edges for re-queueing (assigned -> pending), giving up
 * (pending/assigned -> failed) and early cancellation.  Terminal states
 * have no way out, so a late or duplicate report cannot revive a job.
 */
#ifndef DFFMPEG_JOBSTATE_H
#define DFFMPEG_JOBSTATE_H

#include <stdbool.h>

enum job_state {
	JS_PENDING,
	JS_ASSIGNED,
	JS_RUNNING,
	JS_CANCELING,
	JS_COMPLETED,
	JS_FAILED,
	JS_CANCELED,
	JS__COUNT
};

const char	*jobstate_name(enum job_state);
int		 jobstate_parse(const char *);	/* -1 if unknown */
bool		 jobstate_terminal(enum job_state);
/* Is from -> to an edge of the graph? */
bool		 jobstate_allowed(enum job_state from, enum job_state to);
/* NULL-terminated names of the terminal states. */
extern const char *const jobstate_terminal_names[];

#endif
