/*
 * What the long-running applets (coordinator, worker) share at start-up:
 * the options [-d] [-n] [-c FILE] [-h] and where their log goes.
 */
#ifndef DFFMPEG_DAEMON_H
#define DFFMPEG_DAEMON_H

#include <stdbool.h>

struct daemon_opts {
	const char	*config;	/* -c FILE, or NULL to search */
	bool		 check_only;	/* -n: check the config and exit */
	bool		 debug;		/* -d: log at debug level */
};

/* Parse the options (-c/--config, -n/--check, -d/--debug, -h/--help) of
 * applet ("worker"), whose help says what it does.  Returns -1 to go on,
 * or the status to exit with (0 after -h, 2 after a usage error). */
int	 daemon_getopt(int argc, char **argv, const char *applet,
	    const char *what, struct daemon_opts *);
/* Log to file (stderr if NULL) at level (a log_level name, or NULL for
 * info), or at debug level with -d. */
void	 daemon_logging(const char *ident, const char *file,
	    const char *level, bool debug);

#endif
