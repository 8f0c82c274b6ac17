/*
 * Run a binary to completion and keep what it printed: the worker's probes
 * of its ffmpeg (listings, hardware checks).  Blocking, so it is called in
 * a child process off the loop (bgtask.h).  stdin is /dev/null (through
 * proc_spawn's pipe, closed at once); stdout and stderr are captured up to
 * their bounds; the run is killed at its deadline.
 */
#ifndef DFFMPEG_FFRUN_H
#define DFFMPEG_FFRUN_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct ffrun {
	struct buf	out;		/* stdout, at most out_max bytes */
	struct buf	err;		/* stderr, its first err_max bytes */
	int		status;		/* as from waitpid */
};

/*
 * Run argv (argv[0] is path) with at most timeout_ms.  0 when it ran to
 * its end, whatever its exit status; -1 with why in err (it could not be
 * started, ran out of time, or printed more than out_max on stdout: then
 * it was killed).  r is filled either way and freed with ffrun_free.
 */
int	 ffrun(const char *path, char *const argv[], int timeout_ms,
	    size_t out_max, size_t err_max, struct ffrun *r, char *err,
	    size_t errlen);
void	 ffrun_free(struct ffrun *);
/* Did it exit with status 0? */
bool	 ffrun_ok(const struct ffrun *);
/*
 * The line of its stderr that says why it failed, in buf (printable,
 * truncated): the first message a library context printed ("[AVHWDevice-
 * Context @ 0x..] Cannot load libcuda.so.1" without its "[... @ ...] "),
 * else the reason of "Failed to set value ... : REASON", else the last
 * line; "exit status N" or "killed by signal N" when it printed nothing.
 */
const char *ffrun_reason(const struct ffrun *, char *buf, size_t buflen);

#endif
