/*
 * The signals that travel from the proxy to the remote process (design
 * §6.2), one table for both ends: every signal whose default action ends
 * or stops a process and that ffmpeg either handles (INT, TERM, QUIT,
 * XCPU: it finishes its output and exits 255) or leaves at the default
 * (the process dies or stops of it), so the caller sees what a local
 * ffmpeg would give.  SIGKILL and SIGSTOP cannot be caught by the proxy;
 * the worker still accepts them (a cancel, a pause).  SIGPIPE is not
 * forwarded: both the proxy and ffmpeg ignore it.
 */
#ifndef DFFMPEG_SIGFWD_H
#define DFFMPEG_SIGFWD_H

#include <stdbool.h>
#include <stddef.h>

enum sigfwd_kind {
	SIGFWD_END,	/* ends the process (or ffmpeg's handler does) */
	SIGFWD_STOP,	/* job control: stops it */
	SIGFWD_CONT,	/* continues it */
};

struct sigfwd {
	int			sig;
	enum sigfwd_kind	kind;
	bool			catchable;	/* the proxy catches and forwards it */
};

#define SIGFWD_MAX	24	/* rows the table may have */

extern const struct sigfwd sigfwd_table[];
extern const size_t sigfwd_count;

/* The row of sig, or NULL if it does not travel. */
const struct sigfwd *sigfwd_find(int sig);

#endif
