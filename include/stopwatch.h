/*
 * The proxy's stop watcher (design §6.2): SIGSTOP cannot be caught, so a
 * stopped proxy cannot tell the worker anything itself.  Once the remote
 * process has run for STOPWATCH_DELAY_MS, the proxy forks this small
 * watcher (the shortest jobs, -version and most probes, are over by then
 * and never pay for the fork).  It lives in a process
 * group of its own (a stop of the caller's group, or the terminal's
 * signals, do not reach it), holds none of the proxy's descriptors, and
 * reads the proxy's state from /proc every STOPWATCH_POLL_MS.  When the
 * proxy is stopped it connects to the broker (lazily: most jobs never see
 * a stop) and sends a sealed pause frame to the worker, which stops the
 * remote process; it repeats the frame while the stop lasts (the worker
 * takes it as a sign of life) and sends a resume when the proxy runs
 * again.  It dies with the proxy, and ends when the proxy closes its pipe
 * or kills it at the end.
 */
#ifndef DFFMPEG_STOPWATCH_H
#define DFFMPEG_STOPWATCH_H

#include <stdint.h>
#include <sys/types.h>

#include "bounds.h"

#define STOPWATCH_DELAY_MS	200	/* after the remote process starts */
#define STOPWATCH_POLL_MS	100
#define STOPWATCH_REPEAT_MS	2000	/* pause frames while stopped */

struct mqtt_conf;

struct stopwatch {
	pid_t	pid;	/* 0: not running */
	int	fd;	/* our end of its pipe */
};

/* Fork the watcher for job (its data-plane key and topic prefix); name is
 * the MQTT identity.  -1 (logged) if it cannot be started. */
int	stopwatch_start(struct stopwatch *, const struct mqtt_conf *,
	    const char *name, const char *prefix, const uint8_t key[KEY_LEN],
	    const char *job);
/* End it (SIGKILL: its connection has no will) and reap it. */
void	stopwatch_end(struct stopwatch *);

#endif
