/*
 * The table of forwarded signals.  See sigfwd.h.
 */
#include <signal.h>

#include "sigfwd.h"
#include "util.h"

const struct sigfwd sigfwd_table[] = {
	{ SIGHUP, SIGFWD_END, true },
	{ SIGINT, SIGFWD_END, true },
	{ SIGQUIT, SIGFWD_END, true },
	{ SIGTERM, SIGFWD_END, true },
	{ SIGUSR1, SIGFWD_END, true },
	{ SIGUSR2, SIGFWD_END, true },
	{ SIGALRM, SIGFWD_END, true },
	{ SIGXCPU, SIGFWD_END, true },
	{ SIGXFSZ, SIGFWD_END, true },
	{ SIGVTALRM, SIGFWD_END, true },
	{ SIGPROF, SIGFWD_END, true },
	{ SIGTSTP, SIGFWD_STOP, true },
	/* Sent by the kernel for a background read or write of the
	 * terminal, which a handler would make restart for ever: left at
	 * their default, they stop the proxy as they stop a local ffmpeg. */
	{ SIGTTIN, SIGFWD_STOP, false },
	{ SIGTTOU, SIGFWD_STOP, false },
	{ SIGCONT, SIGFWD_CONT, true },
	{ SIGKILL, SIGFWD_END, false },
	{ SIGSTOP, SIGFWD_STOP, false },
};

const size_t sigfwd_count = nitems(sigfwd_table);

_Static_assert(nitems(sigfwd_table) <= SIGFWD_MAX, "SIGFWD_MAX too small");

const struct sigfwd *
sigfwd_find(int sig)
{
	size_t	i;

	for (i = 0; i < sigfwd_count; i++)
		if (sigfwd_table[i].sig == sig)
			return &sigfwd_table[i];
	return NULL;
}
