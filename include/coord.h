/*
 * The coordinator's shared state and the functions its modules offer each
 * other.  The applet (src/applets/coordinator.c) holds the message
 * handlers, the uplink, the janitor and the wiring; the rooms are:
 *
 *   registry.h    workers and their state graph
 *   sched.h       placement, pure
 *   jobtab.h      unfinished jobs and the pending queue
 *   coord_out.c   signing and sending, and the store's group commit
 *   coord_jobs.c  the job lifecycle: transitions, placement, cancels, and
 *                 what a worker's loss or silence does to its jobs
 *   coord_presence.c  wills, goodbyes and the silence watch
 *   coord_workers.c   registrations, heartbeats and job reports
 *   coord_admin.c the operations of `dffmpeg admin`
 *   coord_docs.c  the documents of `query` and of the HTTP API
 *   coord_query.c the `query` message
 *   coord_logs.c  job logs: the batches workers send, and their pages
 *   coord_http.c  the dashboard, the HTTP API, /metrics and /health
 *   coord_metrics.c   the counters and histograms behind /metrics
 *
 * Store writes are deferred (store_defer) and flushed once per loop
 * iteration by coord_flush: a message handler validates before anything
 * is written, a lock held by another connection costs one short busy
 * timeout, and the batch is retried on a later turn.  Messages published
 * from a handler reach the socket only after that flush (libmosquitto
 * queues them while it is in its read callback); timer work flushes
 * before it publishes.
 */
#ifndef DFFMPEG_COORD_H
#define DFFMPEG_COORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "hmap.h"
#include "jobstate.h"
#include "jobtab.h"
#include "metrics.h"
#include "msg.h"
#include "registry.h"
#include "settings.h"

#define UNVERIFIED_PER_S	20	/* `unverified` notices a second */

struct event;
struct event_base;
struct keyring;
struct mqtt;
struct store;
struct job_row;
struct cJSON;
struct evbuffer;
struct http_server;

/* What /metrics tells beyond the state itself (coord_metrics.c).  Per
 * binary arrays are indexed by the binary's place in allowed_binaries
 * (one more: any other). */
#define OUTCOMES	3		/* completed, failed, canceled */
struct coord_stats {
	struct hist	 dispatch;	/* submit to first assignment */
	struct hist	 queue_wait;	/* time pending, per stay */
	struct hist	 commit;	/* the store's group commit */
	struct hist	*duration;	/* per binary: running to the end */
	uint64_t	*submitted;	/* per binary */
	uint64_t	*started;	/* per binary */
	uint64_t	*finished;	/* per binary x OUTCOMES */
	size_t		 nbin;		/* allowed binaries + 1 */
	uint64_t	 commit_failures;
	uint64_t	 connects;	/* to the broker, successful */
	uint64_t	 received[MT__COUNT];
	/* By reason and type: the verified type of a repeat, the claimed
	 * one of others (MT__COUNT: none that we know). */
	uint64_t	 dropped[ME__COUNT][MT__COUNT + 1];
};

/* The verified sender of an uplink message. */
struct sender {
	const char	*name;
	int		 role;
	uint8_t		 key[KEY_LEN];
	bool		 old_key;	/* key is its previous one (rotated) */
};

/* A will, held until it is clear that the broker is not shutting down. */
struct held_will {
	char		 name[NAME_MAX_LEN + 1];
	int		 role;
	char		 session[SESSION_BUF];
	int64_t		 epoch;
	int64_t		 arrived;	/* mono ms */
};

struct coord {
	struct event_base	*base;
	struct coord_conf	 conf;
	struct store		*store;
	struct keyring		*keyring;
	uint8_t			 master[KEY_LEN];
	struct mqtt		*mqtt;
	struct replay		*replay;
	char			 prefix[128];
	char			 sub[256];

	struct registry		 reg;
	struct jobtab		 jobs;

	struct event		*ev_tick;
	struct event		*ev_flush;	/* the group commit */
	struct event		*ev_will;	/* releases held wills */
	struct event		*ev_sig[3];
	bool			 in_handler;	/* publishes are queued */
	int64_t			 flush_warned;
	struct held_will	*wills;
	size_t			 nwills;
	int64_t			 started;	/* mono ms */
	int64_t			 last_purge;
	int64_t			 last_auth_warn;
	int64_t			 last_topic_warn;	/* mono ms */
	int64_t			 ident_version;	/* store_data_version seen */
	int64_t			 ident_checked;	/* mono ms of that look */
	int64_t			 unverified_window;	/* mono ms */
	int			 unverified_sent;	/* in that second */
	uint64_t		 dropped[ME__COUNT];
	uint64_t		 received;
	struct coord_stats	 stats;
	struct http_server	*http;		/* NULL: http.port 0 */
	struct hmap		 rates;		/* client -> submits a minute */
	bool			 stopping;	/* a signal asked us to stop */
	char			 store_error[160];	/* "": commits work */
	int64_t			 store_waiting;	/* mono ms: writes wait for a
						   locked database since */
};

/* ---- coord_out.c ---- */

/* Sign m for topic with key and publish it; returns the payload (owned)
 * so that it can be remembered as an answer, or NULL. */
char	*coord_publish(struct coord *, const char *topic, const uint8_t *key,
	    struct msg *, size_t *lenp);
/* Answer request req of s with m (cleared) and remember the answer. */
void	 coord_answer(struct coord *, const struct sender *,
	    const struct msg *req, struct msg *);
/* Send m (cleared) to the client process that submitted j. */
void	 coord_to_client(struct coord *, const struct cjob *, struct msg *);
/* The key of the client process that submitted j: the one its submit
 * was signed with (a rotated identity's old key for its grace period).
 * 0, or -1 if the identity is gone. */
int	 coord_client_key(struct coord *, const struct cjob *,
	    uint8_t key[KEY_LEN]);
/* s sent payload, which failed its MAC: tell s's downlink (signed with
 * the key held for s), at most UNVERIFIED_PER_S times a second. */
void	 coord_unverified(struct coord *, const struct sender *,
	    const void *payload, size_t len);
/* Sign m for a worker, stamped now, and publish it (m is kept). */
void	 coord_send_worker(struct coord *, const char *worker, struct msg *);
/* The same, clearing m. */
void	 coord_to_worker(struct coord *, const char *worker, struct msg *);
/* Ask for the deferred store writes to be flushed at the end of this
 * loop iteration. */
void	 coord_dirty(struct coord *);
/* Flush now; on a busy database retry shortly (nothing is lost). */
void	 coord_flush(struct coord *);

/* ---- coord_jobs.c ---- */

/*
 * The one place a job changes state: checks the edge against the graph,
 * records it, and keeps the queue and the worker's slot count right.
 * Returns -1 (and changes nothing) for an illegal edge.
 */
int	 coord_job_transition(struct coord *, struct cjob *, enum job_state,
	    const char *reason);
/* Move j to a terminal state and forget it (the store keeps it). */
void	 coord_job_end(struct coord *, struct cjob *, enum job_state,
	    const char *why);
/* Tell the client its job cannot run, and finish it as failed. */
void	 coord_job_fail(struct coord *, struct cjob *, const char *reason,
	    const char *text);
/* Cancel for the client or an administrator (may forget j). */
void	 coord_job_cancel(struct coord *, struct cjob *, const char *why);
/* (Re-)send the cancel of a canceling job to its worker. */
void	 coord_job_send_cancel(struct coord *, struct cjob *);
/* (Re-)send the assignment of an assigned job. */
void	 coord_job_send_assign(struct coord *, struct cjob *);
/* Tell the client where its job runs (its sealed key). */
void	 coord_job_send_accepted(struct coord *, struct cjob *);
/* Reserve w for j, send the assignment and tell the client. */
void	 coord_job_place(struct coord *, struct cjob *, struct cworker *);
/* Place every pending job that has a worker now, oldest first. */
void	 coord_schedule(struct coord *);
/*
 * No worker could ever meet j's needs (why).  Unless its client has a
 * local fallback, j is marked unplaceable (logged, and recorded with its
 * placement) and scheduled needing only the binary and its path
 * variables, so that the caller gets ffmpeg's own error text and status.
 * False if it cannot run even so.
 */
bool	 coord_relax(struct coord *, struct cjob *, bool fallback,
	    const char *why);
/* Whether a job no worker can take now should wait (or is refused, with
 * why). */
bool	 coord_could_run(struct coord *, const struct cjob *, char *why,
	    size_t whylen);
/* The worker is gone (will, silence, bye: to is lost or offline):
 * re-queue what it had not started, fail what it ran. */
void	 coord_worker_gone(struct coord *, struct cworker *,
	    enum worker_state to, const char *why);
/* It stopped heartbeating: place nothing there, re-queue what it has not
 * started, leave its running jobs alone. */
void	 coord_worker_stale(struct coord *, struct cworker *);
/* Make our view of w's jobs agree with what it reports running, and with
 * the reports it still has on the way. */
void	 coord_worker_reconcile(struct coord *, struct cworker *,
	    const struct strv *running, const struct strv *reporting);
/* Rebuild an unfinished job from its row after a restart (a callback of
 * store_job_list; arg is the coordinator); its worker, if any, is added
 * to the registry as registering. */
int	 coord_job_restore(const struct job_row *, void *arg);
/* Cancel on w the jobs it runs that are not its own (any more). */
void	 coord_worker_strays(struct coord *, struct cworker *,
	    const struct strv *running);
/* A change of w's state, as the registry records it. */
void	 coord_worker_record(void *arg, const struct cworker *,
	    enum worker_state from, enum worker_state to, const char *reason);

/* ---- coord_workers.c: the handlers of what workers send ---- */

void	 coord_worker_register(struct coord *, const struct sender *,
	    const struct msg *);
/* Also takes the progress of the worker's jobs. */
void	 coord_worker_heartbeat(struct coord *, const struct sender *,
	    const struct msg *);
void	 coord_report_started(struct coord *, const struct sender *,
	    const struct msg *);
void	 coord_report_rejected(struct coord *, const struct sender *,
	    const struct msg *);
/* Also records the job's byte counts, last progress and the rest of its
 * log, for a job that ended without it too. */
void	 coord_report_finished(struct coord *, const struct sender *,
	    const struct msg *);

/* ---- coord_presence.c ---- */

/* A will: held, then judged (see coord_presence.c). */
void	 coord_presence_gone(struct coord *, const struct sender *,
	    const struct msg *);
/* A clean goodbye of a worker or client process. */
void	 coord_presence_bye(struct coord *, const struct sender *,
	    const struct msg *);
/* The timer that honours the wills held long enough. */
void	 coord_presence_release(int fd, short what, void *arg);
/* We are connected (again): silence is counted from now. */
void	 coord_presence_connected(struct coord *);
/* Our own connection dropped: the wills held were the broker's. */
void	 coord_presence_disconnected(struct coord *);
/* Stale, then lost: the silence of each worker. */
void	 coord_presence_watch(struct coord *, int64_t now);

/* ---- coord_admin.c ---- */

/* An `admin` message: look its operation up in the table and run it. */
void	 coord_admin(struct coord *, const struct sender *,
	    const struct msg *);
/* Re-send a drain or resume the worker has not acted on yet. */
void	 coord_admin_resend(struct coord *, struct cworker *);

/* ---- coord_query.c, coord_docs.c ---- */

/* A `query`: look its subject up in the table and answer with a `reply`
 * whose data is the document, or code 1 and text saying why not.
 * "probe" with target a listing option ("-encoders"): the output that
 * option printed on the most capable present worker with ffmpeg (most
 * names listed, then the first name), as a `reply` with state
 * "answered", code the exit status, worker, and data {"stdout",
 * "stderr"}; state "unknown" when no worker has it. */
void	 coord_query(struct coord *, const struct sender *,
	    const struct msg *);

/* What a job list asks for; NULL and 0 members match everything. */
struct job_query {
	const struct strv *states;
	int64_t		 window_ms;	/* finished within, back from now */
	const char	*client;
	const char	*worker;
	const char	*cursor;	/* "next" of the previous page */
	int		 limit;		/* 0: a full page */
};

/* The documents (owned; cJSON_Delete).  client, where given, restricts
 * them to that client's jobs; NULL is an administrator's view.  Those
 * with an err return NULL with it filled when there is no such thing. */
struct cJSON *coord_doc_status(struct coord *, const char *client);
struct cJSON *coord_doc_worker(struct coord *, const struct cworker *,
	    bool detail, const char *client);
struct cJSON *coord_doc_jobs(struct coord *, const struct job_query *,
	    char *err, size_t errlen);
struct cJSON *coord_doc_job(struct coord *, const char *id,
	    const char *client, char *err, size_t errlen);
/* {"workers": [...], "next"?}: a page of workers by name, after `after`
 * (NULL: from the first). */
struct cJSON *coord_doc_workers(struct coord *, const char *after,
	    char *err, size_t errlen);
/* {"worker": coord_doc_worker(detail)}. */
struct cJSON *coord_doc_worker_show(struct coord *, const char *name,
	    const char *client, char *err, size_t errlen);

/* ---- coord_logs.c ---- */

/* A `log` batch from a worker. */
void	 coord_job_log(struct coord *, const struct sender *,
	    const struct msg *);
/* After a restart: what the store holds of j's log. */
void	 coord_job_log_restore(struct coord *, struct cjob *);
/* j is placed again: what an earlier worker sent of its log goes (a new
 * worker numbers its batches from 1). */
void	 coord_job_log_reset(struct coord *, struct cjob *);
/* The page of a job's log after batch `after` (0: from the start):
 * {"id", "state", "text", "next": the cursor of the next page, "done":
 * true once the job has ended and its whole log was returned, with
 * "exit_code" and "exit_signal" then, or "reason" when its process did not
 * run to its end}. */
struct cJSON *coord_doc_logs(struct coord *, const char *id,
	    const char *client, int64_t after, char *err, size_t errlen);

/* ---- coord_metrics.c ---- */

void	 coord_stats_init(struct coord *);
void	 coord_stats_free(struct coord *);
/* A job was accepted (its submit). */
void	 coord_stats_submitted(struct coord *, const struct cjob *);
/* j moves from its state to `to` (called before it does). */
void	 coord_stats_transition(struct coord *, struct cjob *,
	    enum job_state to);
/* The text of /metrics. */
void	 coord_metrics(struct coord *, struct evbuffer *);

/* ---- coord_limits.c ---- */

/* Jobs of one client holding a worker's slot. */
struct client_active {
	const char	*client;
	int		 active;
};
struct client_load {
	struct client_active *v;
	size_t		 n;
};
/* Whether client may submit req now; -1 with text saying which limit
 * it meets. */
int	 coord_limits_submit(struct coord *, const char *client,
	    const struct msg *req, char *text, size_t textlen);
/* The jobs of each client that hold slots (for limits.running). */
void	 coord_limits_load(struct coord *, struct client_load *);
bool	 coord_limits_may_place(struct coord *, struct client_load *,
	    const char *client);
void	 coord_limits_placed(struct coord *, struct client_load *,
	    const char *client);
void	 coord_limits_load_free(struct client_load *);
/* Whether client has limits.running jobs holding slots. */
bool	 coord_limits_running_full(struct coord *, const char *client);
void	 coord_limits_free(struct coord *);

/* ---- coord_http.c ---- */

/* Serve http.listen:http.port (nothing when the port is 0); -1 with err
 * if it cannot. */
int	 coord_http_start(struct coord *, char *err, size_t errlen);
void	 coord_http_stop(struct coord *);

#endif
