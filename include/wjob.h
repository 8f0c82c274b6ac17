/*
 * A job on a worker (design §6.1): its child process (no shell), whose
 * stdout and stderr are streamed as sealed frames to the client and whose
 * stdin is fed from the client's frames, and its reports to the
 * coordinator (`started`, `finished`, `rejected`).
 *
 * Life: wjob_new (from an assign the worker has accepted) -> wjob_start
 * subscribes P/job/<id>/in -> on the SUBACK: spawn, `started`, hello ->
 * stream; signals are forwarded -> child exited and both pipes at EOF ->
 * exit frame and `finished` (reported) -> kept until the client has the
 * exit frame (or WJOB_LINGER_MS) -> ctx->gone.
 *
 * A detached job (submit --detach) has no client: no data plane, stdin at
 * EOF, stdout discarded; it is spawned at once and gone once reported.
 * Every job's stderr also goes to the coordinator (joblog.h): batches
 * while it runs (wjob_ship_log, called by the worker's timer), the rest
 * with `finished`; its progress rides on the heartbeat.
 *
 * The worker owns the list of its jobs.  A job says it is over through
 * ctx->gone, always from a loop callback, never from a wjob_* call: the
 * worker then takes it off its list and calls wjob_free.  Reports stay in
 * the node's outbox after wjob_free, until the coordinator has them.
 */
#ifndef DFFMPEG_WJOB_H
#define DFFMPEG_WJOB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bounds.h"
#include "confine.h"
#include "joblog.h"
#include "util.h"

struct bgtask_pool;

#define WJOB_STDIN_HIGH_WATER	(1024 * 1024)	/* hold acks above this */
#define WJOB_LINGER_MS		30000		/* wait for the exit ack */

struct event;
struct event_base;
struct msg;
struct node;
struct pathmap;
struct stream;
struct wjob;

/* What the jobs of one worker share; outlives them. */
struct wjob_ctx {
	struct event_base	*base;
	struct node		*node;
	const struct pathmap	*pm;
	const struct strv	*forward_env;	/* variables a job may set */
	int64_t			 kill_grace;	/* ms, unless the job says */
	bool			 ship_logs;	/* `log` batches while it runs */
	struct bgtask_pool	*tasks;		/* the checks of its paths */
	enum confine_mode	 confine;
	int			 landlock_abi;	/* 0: none */
	const struct strv	*confine_read;	/* more read-only paths */
	/* The device nodes of the verified hardware (may be NULL). */
	const struct strv	*(*devices)(void *arg);
	void			(*gone)(void *arg, struct wjob *);
	void			*arg;
};

/*
 * The applet reads id, reported, grace (and sets it from a cancel),
 * topic_in and stream; the rest belongs to wjob.c.
 */
struct wjob {
	const struct wjob_ctx	*ctx;
	char		 id[ID_BUF];
	char		 binary[NAME_MAX_LEN + 1];
	bool		 reported;	/* `finished` (or rejected): not running */
	int64_t		 grace;		/* SIGTERM to SIGKILL, ms */
	char		 topic_in[256];
	char		 topic_out[256];
	uint64_t	 last_sent;	/* mqtt_published() of our last */
	struct stream	*stream;

	char		*path;
	struct strv	 argv;
	char		*cwd;
	struct strv	 env;
	uint8_t		 key[KEY_LEN];
	pid_t		 pid;
	int		 fd_in, fd_out, fd_err;
	struct event	*ev_in, *ev_out, *ev_err;
	struct buf	 inbuf;
	bool		 stdin_eof;
	bool		 spawned;
	bool		 canceled;	/* before it was spawned */
	bool		 exited;
	bool		 paused;	/* by the proxy's stop watcher */
	bool		 detached;	/* no client: no data plane */
	int		 status;
	struct joblog	 log;		/* its stderr, for the coordinator */
	uint64_t	 bytes_in, bytes_out;
	int64_t		 reported_at;
	struct event	*ev_kill;
	struct event	*ev_linger;
	struct confine_rules rules;	/* what its process may touch */
	bool		 checking;	/* confine_check runs */
};

/*
 * A job from an assign whose worker-level checks passed (not draining,
 * valid id, binary configured at path, path variables healthy): opens the
 * job key, expands the job's path variables in its arguments and cwd, and
 * builds its environment.  Returns NULL if the job cannot be run here, its
 * rejection already sent.
 */
struct wjob	*wjob_new(const struct wjob_ctx *, const struct msg *assign,
		    const char *path);
/* Subscribe to the job's input; the rest follows from the SUBACK. */
void		 wjob_start(struct wjob *);
/* Kills a child still running. */
void		 wjob_free(struct wjob *);
/*
 * Stop a job: SIGTERM, SIGKILL after its grace.  With relay (an
 * administrator's cancel: the client still reads) its output goes on to
 * the end, as a local ffmpeg's last lines would; otherwise (nobody will
 * read it any more: its client is gone) it is no longer relayed.  A job
 * not yet spawned never starts.
 */
void		 wjob_stop(struct wjob *, const char *why, bool relay);
/* Send the job's next log batch if one is due (at most one in flight). */
void		 wjob_ship_log(struct wjob *, int64_t now);
/* The coordinator acknowledged message id about this job. */
void		 wjob_acked(struct wjob *, const char *id);
/* The job's progress in wire form (progress.h); false if none yet. */
bool		 wjob_progress(const struct wjob *, char *, size_t);
/* Tell the coordinator that job will not run here (reliable). */
void		 wjob_reject(struct node *, const char *job, const char *reason,
		    const char *text);

#endif
