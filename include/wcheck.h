/*
 * A worker's checks of itself, off the loop (design §6.3, §8): the
 * capability probe of its ffmpeg binary and the health of each path
 * variable's mount, each run in a child process with a deadline
 * (bgtask.h), their results cached here for registration, heartbeats and
 * assigns.
 *
 * wcheck_run (at start and every heartbeat) probes the binary again when
 * it changed (inode, size, mtime; one probe at a time) and checks every
 * variable (one child each, so a hung mount makes only its own variable
 * unhealthy).  A variable whose check is still stuck after its deadline
 * (in uninterruptible sleep, not yet reaped) is not checked again and
 * stays "mount check timed out after N ms" until the child is gone.
 * Before its first result a variable is "checking".
 *
 * The owner learns through ops: ready once the first probe and the first
 * check of every variable have a result (each bounded by its deadline);
 * reprobed when a later probe has a result; health when a variable's
 * health changed after its first result.  They are called from the loop,
 * or from wcheck_run when a child cannot even be started.
 */
#ifndef DFFMPEG_WCHECK_H
#define DFFMPEG_WCHECK_H

#include <stdbool.h>

#include "caps.h"
#include "util.h"

struct event_base;
struct pathmap;
struct worker_conf;

struct wcheck_ops {
	void	(*ready)(void *arg);
	void	(*reprobed)(void *arg);
	void	(*health)(void *arg);
};

struct wcheck;

/* conf and pm must outlive the wcheck. */
struct wcheck	*wcheck_new(struct event_base *, const struct worker_conf *,
		    const struct pathmap *, const struct wcheck_ops *,
		    void *arg);
/* Kills the children still running, without callbacks. */
void		 wcheck_free(struct wcheck *);
void		 wcheck_run(struct wcheck *);
/* The first thing a job of binary with args needs that this worker's
 * config disables ("encoder 'h264_nvenc'"), or NULL. */
const char	*wcheck_disabled(const struct wcheck *, const char *binary,
		    const struct strv *args, char *why, size_t whylen);
bool		 wcheck_ready(const struct wcheck *);
/* The last probe's result minus what the config disables; NULL while
 * unknown (no probe yet, or it failed). */
const struct caps *wcheck_caps(const struct wcheck *);
/* variable -> "ok" or why not, for every variable of pm. */
const struct strmap *wcheck_health(const struct wcheck *);

#endif
