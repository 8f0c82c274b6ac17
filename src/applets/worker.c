/*
 * dffmpeg worker: registers with the coordinator, heartbeats, and runs the
 * jobs assigned to it (wjob.h: each job a child process whose stdout and
 * stderr are streamed as sealed frames to the client, design §6.1).
 *
 * Nothing here blocks the loop (design §6.3): the capability probe of the
 * ffmpeg binary and the health checks of the path variables' mounts run in
 * child processes with deadlines (bgtask.h), and registration, heartbeats
 * and assigns use their cached results.  The first register waits for the
 * first probe and the first round of mount checks, so that the
 * coordinator learns this worker's capabilities and healthy paths at once;
 * the loop runs meanwhile.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "applet.h"
#include "bgtask.h"
#include "bounds.h"
#include "caps.h"
#include "daemon.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "msg.h"
#include "node.h"
#include "outbox.h"
#include "paths.h"
#include "proc.h"
#include "settings.h"
#include "stream.h"
#include "util.h"
#include "wjob.h"
#include "xmalloc.h"

#define REGISTER_WARN_MS	10000
#define CONFLICT_RETRY_MS	2000	/* identity in use: register again */
#define CONFLICT_WARN_MS	30000
#define PROBE_KEY		"probe"

struct worker;

/* The mount check of one path variable (index into pm.roots). */
struct pcheck {
	struct worker	*w;
	size_t		 i;
	bool		 done;		/* a first result came */
};

struct worker {
	struct event_base	*base;
	struct worker_conf	 conf;
	struct pathmap		 pm;
	struct node		 node;
	struct wjob_ctx		 jobctx;
	struct wjob		**jobs;
	size_t			 njobs;
	bool			 registered;
	int64_t			 register_sent;
	int64_t			 register_warned;
	int64_t			 conflict_warned;
	char			 register_id[ID_BUF];
	bool			 draining;	/* takes no new jobs */
	bool			 starting;	/* first probe or checks pending */
	struct bgtask_pool	*tasks;		/* the probe, mount checks */
	struct caps		 caps;		/* of the ffmpeg binary */
	bool			 caps_known;
	bool			 probed;	/* caps_stat is valid */
	bool			 probe_done;	/* the first probe has ended */
	struct stat		 caps_stat;	/* the binary when probed */
	struct strmap		 health;	/* variable -> "ok" | why */
	struct pcheck		*checks;	/* one per variable */
	struct event		*ev_heartbeat;
	struct event		*ev_reregister;	/* after a conflict */
	struct event		*ev_sig[3];
	bool			 exiting;
	bool			 stopping;	/* exit when idle */
	int			 stops;		/* SIGTERM/SIGINT received */
	int64_t			 stop_deadline;	/* mono ms */
	struct event		*ev_stop;
};

static void	worker_send_register(struct worker *);
static void	worker_send_heartbeat(struct worker *);
static void	worker_maybe_exit(struct worker *);

static struct wjob *
job_find(struct worker *w, const char *id)
{
	size_t	i;

	for (i = 0; i < w->njobs; i++)
		if (strcmp(w->jobs[i]->id, id) == 0)
			return w->jobs[i];
	return NULL;
}

static void
job_remove(struct worker *w, struct wjob *j)
{
	size_t	i;

	for (i = 0; i < w->njobs; i++) {
		if (w->jobs[i] == j) {
			w->jobs[i] = w->jobs[--w->njobs];
			break;
		}
	}
	wjob_free(j);
	worker_maybe_exit(w);
}

/* wjob_ctx.gone: the job's linger is over, or it could not start. */
static void
job_gone(void *arg, struct wjob *j)
{
	job_remove(arg, j);
}

static size_t
worker_running(const struct worker *w)
{
	size_t	i, n = 0;

	for (i = 0; i < w->njobs; i++)
		if (!w->jobs[i]->reported)
			n++;
	return n;
}

static void
worker_on_assign(struct worker *w, const struct msg *m)
{
	struct wjob	*j;
	const char	*path, *h;
	char		 err[256];
	size_t		 i;

	if (job_find(w, m->job) != NULL)
		return;		/* a repeated assign: `started` is pending */
	if (w->draining) {
		wjob_reject(&w->node, m->job, "draining",
		    "the worker is draining");
		return;
	}
	if (!name_valid(m->job, ID_LEN)) {
		wjob_reject(&w->node, m->job, "bad-job", "malformed job id");
		return;
	}
	if ((path = strmap_get(&w->conf.binaries, m->binary)) == NULL) {
		snprintf(err, sizeof(err), "binary '%s' is not configured on "
		    "worker %s", m->binary, w->node.name);
		wjob_reject(&w->node, m->job, "binary", err);
		return;
	}
	/* The cached health: a check of a hung mount never returns. */
	for (i = 0; i < m->paths.n; i++) {
		if ((h = strmap_get(&w->health, m->paths.v[i])) == NULL) {
			snprintf(err, sizeof(err), "path variable '%s' is not "
			    "configured on worker %s", m->paths.v[i],
			    w->node.name);
			wjob_reject(&w->node, m->job, "path", err);
			return;
		}
		if (strcmp(h, "ok") != 0) {
			snprintf(err, sizeof(err), "path variable '%s' is "
			    "unhealthy on worker %s: %s", m->paths.v[i],
			    w->node.name, h);
			wjob_reject(&w->node, m->job, "path", err);
			return;
		}
	}
	if ((j = wjob_new(&w->jobctx, m, path)) == NULL)
		return;
	w->jobs = xreallocarray(w->jobs, w->njobs + 1, sizeof(*w->jobs));
	w->jobs[w->njobs++] = j;
	wjob_start(j);
}

static void
worker_on_cancel(struct worker *w, const struct msg *m)
{
	struct wjob	*j = job_find(w, m->job);

	if (j == NULL) {
		/* Its assign never arrived (or it is long gone): say so, or
		 * the coordinator waits for it until we register again. */
		wjob_reject(&w->node, m->job, "unknown",
		    "no such job on this worker");
		return;
	}
	if (!j->reported) {
		if (m->present & FBIT(F_GRACE))
			j->grace = m->grace;
		wjob_stop(j, "canceled by the coordinator");
	}
}

/* ---- probes and mount checks, in child processes ---- */

/*
 * Start-up ends once the first probe and the first mount check of every
 * variable have a result (each bounded by its deadline): then register.
 */
static void
worker_maybe_start(struct worker *w)
{
	size_t	i;

	if (!w->starting || !w->probe_done)
		return;
	for (i = 0; i < w->pm.roots.n; i++)
		if (!w->checks[i].done)
			return;
	w->starting = false;
	log_debug("first probe and mount checks done");
	if (w->node.ready)
		worker_send_register(w);
}

/* In the child: probe, and write the caps as text (or why not). */
static int
worker_probe_work(void *arg, struct buf *out)
{
	struct worker	*w = arg;
	struct caps	 c;
	char		 err[512];
	int		 rc;

	if (caps_probe(strmap_get(&w->conf.binaries, "ffmpeg"), &c, err,
	    sizeof(err)) == -1) {
		buf_add(out, err, strlen(err));
		return -1;
	}
	if ((rc = caps_encode(&c, out, err, sizeof(err))) == -1) {
		buf_drain(out, buf_used(out));
		buf_add(out, err, strlen(err));
	}
	caps_free(&c);
	return rc;
}

/*
 * The probe's result: drop what the operator disabled, and tell the
 * coordinator (register again) unless this is the start-up's probe, whose
 * result the first register carries.
 */
static void
worker_on_probe(void *arg, enum bgtask_status st, const char *out,
    size_t len)
{
	static const size_t kinds[] = { CAPS_ENCODERS, CAPS_DECODERS,
	    CAPS_HWACCELS, CAPS_FILTERS };
	struct worker	*w = arg;
	const struct strv *disabled[] = { &w->conf.disable.encoders,
	    &w->conf.disable.decoders, &w->conf.disable.hwaccels,
	    &w->conf.disable.filters };
	const char	*bin = strmap_get(&w->conf.binaries, "ffmpeg");
	char		 err[512];
	size_t		 i;

	caps_free(&w->caps);
	w->caps_known = false;
	if (st != BGTASK_OK)
		snprintf(err, sizeof(err), "%s", out);
	else if (caps_decode(out, len, &w->caps, err, sizeof(err)) == 0)
		w->caps_known = true;
	else
		log_warnx("%s: the probe's result is malformed: %s", bin, err);
	if (!w->caps_known) {
		utf8_sanitize(err, strlen(err));
		log_warnx("cannot probe %s: %s; jobs that need particular "
		    "codecs or filters will not be placed here", bin, err);
	} else {
		for (i = 0; i < nitems(kinds); i++)
			caps_remove(&w->caps, kinds[i], disabled[i]);
		log_info("%s: ffmpeg %s, %zu encoders, %zu decoders, "
		    "%zu hwaccels, %zu filters, %zu devices", bin,
		    w->caps.version, w->caps.lists[CAPS_ENCODERS].n,
		    w->caps.lists[CAPS_DECODERS].n,
		    w->caps.lists[CAPS_HWACCELS].n,
		    w->caps.lists[CAPS_FILTERS].n, w->caps.devices.n);
	}
	if (!w->probe_done) {
		w->probe_done = true;
		worker_maybe_start(w);
	} else if (!w->starting && w->node.ready) {
		log_info("probed the changed ffmpeg binary; registering again");
		worker_send_register(w);
	}
}

/*
 * Probe the ffmpeg binary (encoders, decoders, hwaccels, filters, device
 * nodes) if it changed since the last probe, also after a failed one: a
 * broken binary is not worth a probe every heartbeat.  One probe at a
 * time; a change during a probe is seen by the next heartbeat after it.
 */
static void
worker_start_probe(struct worker *w)
{
	const char	*bin = strmap_get(&w->conf.binaries, "ffmpeg");
	struct stat	 st;
	char		 err[256];

	if (bin == NULL || bgtask_busy(w->tasks, PROBE_KEY))
		return;
	if (stat(bin, &st) == -1)
		memset(&st, 0, sizeof(st));
	if (w->probed && st.st_ino == w->caps_stat.st_ino &&
	    st.st_mtime == w->caps_stat.st_mtime &&
	    st.st_size == w->caps_stat.st_size)
		return;
	if (w->probed)
		log_info("the ffmpeg binary changed; probing it again");
	w->caps_stat = st;
	w->probed = true;
	if (bgtask_start(w->tasks, PROBE_KEY, CAPS_PROBE_TIMEOUT_MS,
	    worker_probe_work, worker_on_probe, w, err, sizeof(err)) == -1)
		worker_on_probe(w, BGTASK_ERROR, err, strlen(err));
}

/* A variable's health: cache it, log a change (as a first result only
 * if unhealthy), and tell the coordinator at once. */
static void
worker_set_health(struct worker *w, size_t i, const char *why)
{
	const char	*var = w->pm.roots.keys[i];
	const char	*old = strmap_get(&w->health, var);
	bool		 first = !w->checks[i].done;

	w->checks[i].done = true;
	if (first || strcmp(old, why) != 0) {
		if (strcmp(why, "ok") == 0) {
			if (!first)
				log_info("path variable %s is healthy again",
				    var);
		} else
			log_warnx("path variable %s is unhealthy: %s", var,
			    why);
		strmap_set(&w->health, var, why);
		if (!first)
			worker_send_heartbeat(w);
	}
	worker_maybe_start(w);
}

/* In the child: what paths_health says of one variable. */
static int
worker_check_work(void *arg, struct buf *out)
{
	const struct pcheck	*pc = arg;
	const struct worker	*w = pc->w;
	char			 why[PATH_BUF + 64];

	if (paths_health(w->pm.roots.vals[pc->i], strmap_get(&w->conf.mounts,
	    w->pm.roots.keys[pc->i]), why, sizeof(why)) == 0) {
		buf_add(out, "ok", 2);
		return 0;
	}
	buf_add(out, why, strlen(why));
	return -1;
}

static void
worker_on_check(void *arg, enum bgtask_status st, const char *out,
    size_t len)
{
	struct pcheck	*pc = arg;
	char		 why[PATH_BUF + 64];

	(void)len;
	switch (st) {
	case BGTASK_OK:
		snprintf(why, sizeof(why), "ok");
		break;
	case BGTASK_FAILED:
		snprintf(why, sizeof(why), "%s", out[0] != '\0' ? out :
		    "unhealthy");
		break;
	case BGTASK_TIMEOUT:
		snprintf(why, sizeof(why), "mount check timed out after %d ms",
		    PATHS_CHECK_TIMEOUT_MS);
		break;
	default:
		snprintf(why, sizeof(why), "mount check failed: %s", out);
		break;
	}
	utf8_sanitize(why, strlen(why));
	worker_set_health(pc->w, pc->i, why);
}

/*
 * Check every path variable's mount, one child each, so that one hung
 * mount makes only its own variable unhealthy.  A variable whose previous
 * check is still stuck (killed at its deadline, not yet reaped: the kernel
 * holds it) is not checked again; it stays "timed out" until the child
 * is gone.
 */
static void
worker_start_checks(struct worker *w)
{
	char	key[BGTASK_KEY_MAX], err[256], why[320];
	size_t	i;

	for (i = 0; i < w->pm.roots.n; i++) {
		snprintf(key, sizeof(key), "mount:%s", w->pm.roots.keys[i]);
		if (bgtask_busy(w->tasks, key))
			continue;
		if (bgtask_start(w->tasks, key, PATHS_CHECK_TIMEOUT_MS,
		    worker_check_work, worker_on_check, &w->checks[i], err,
		    sizeof(err)) == -1) {
			snprintf(why, sizeof(why), "cannot check: %s", err);
			worker_set_health(w, i, why);
		}
	}
}

/* ---- the control plane ---- */

static void
worker_fill_state(struct worker *w, struct msg *m)
{
	struct strv	running = { 0 };
	size_t		i;

	struct strv	reporting = { 0 }, pending = { 0 };

	for (i = 0; i < w->njobs; i++)
		if (!w->jobs[i]->reported)
			strv_push(&running, w->jobs[i]->id);
	/* Reports still on their way: after a restart of the coordinator
	 * they, not its guesses, say how those jobs ended. */
	outbox_pending_jobs(w->node.outbox, &pending);
	for (i = 0; i < pending.n; i++)
		if (!strv_contains(&running, pending.v[i]))
			strv_push(&reporting, pending.v[i]);
	msg_set_strv(m, F_RUNNING, &running);
	msg_set_strv(m, F_REPORTING, &reporting);
	strv_free(&running);
	strv_free(&reporting);
	strv_free(&pending);
	msg_set_str(m, F_STATUS, w->draining ? "draining" : "online");
}

static void
worker_send_register(struct worker *w)
{
	struct msg	m;
	struct strmap	bins = { 0 };
	size_t		i;

	if (w->starting)
		return;		/* worker_maybe_start registers */
	if (w->register_id[0] != '\0')
		outbox_done(w->node.outbox, w->register_id);
	msg_init(&m, MT_REGISTER, w->node.name);
	msg_set_str(&m, F_SESSION, w->node.session);
	msg_set_str(&m, F_VERSION, DFFMPEG_VERSION);
	for (i = 0; i < w->conf.binaries.n; i++)
		strmap_set(&bins, w->conf.binaries.keys[i],
		    access(w->conf.binaries.vals[i], X_OK) == 0 ? "ok" :
		    "missing");
	msg_set_strmap(&m, F_BINARIES, &bins);
	msg_set_strmap(&m, F_PATH_HEALTH, &w->health);
	msg_set_int(&m, F_MAX_JOBS, w->conf.max_jobs);
	msg_set_int(&m, F_WEIGHT, w->conf.weight);
	msg_set_int(&m, F_INTERVAL, w->conf.registration_interval);
	if (w->caps_known) {
		msg_set_strv(&m, F_ENCODERS, &w->caps.lists[CAPS_ENCODERS]);
		msg_set_strv(&m, F_DECODERS, &w->caps.lists[CAPS_DECODERS]);
		msg_set_strv(&m, F_HWACCELS, &w->caps.lists[CAPS_HWACCELS]);
		msg_set_strv(&m, F_FILTERS, &w->caps.lists[CAPS_FILTERS]);
		msg_set_strv(&m, F_DEVICES, &w->caps.devices);
	}
	worker_fill_state(w, &m);
	snprintf(w->register_id, sizeof(w->register_id), "%s", m.id);
	w->registered = false;
	w->register_sent = mono_ms();
	node_send(&w->node, &m, true);
	msg_clear(&m);
	strmap_free(&bins);
}

static void
worker_send_heartbeat(struct worker *w)
{
	struct msg	m;

	if (!w->node.ready || !w->registered)
		return;
	msg_init(&m, MT_HEARTBEAT, w->node.name);
	msg_set_str(&m, F_SESSION, w->node.session);
	msg_set_strmap(&m, F_PATH_HEALTH, &w->health);
	worker_fill_state(w, &m);
	node_send(&w->node, &m, false);
	msg_clear(&m);
}

/* Start this round's mount checks (and a probe if the binary changed);
 * the heartbeat carries the results of the previous ones. */
static void
worker_on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	int64_t		 now = mono_ms();

	(void)fd;
	(void)what;
	worker_start_checks(w);
	worker_start_probe(w);
	if (!w->node.ready || w->starting)
		return;
	if (!w->registered) {
		if (now - w->register_sent >= REGISTER_WARN_MS &&
		    now - w->register_warned >= 3 * REGISTER_WARN_MS) {
			w->register_warned = now;
			log_warnx("the coordinator has not answered our "
			    "registration for %lld s: is it running, and "
			    "does it know worker '%s' with this hmac_key?",
			    (long long)((now - w->register_sent) / 1000),
			    w->node.name);
		}
		return;
	}
	worker_send_heartbeat(w);
}

static void
worker_ready(void *arg)
{
	struct worker	*w = arg;
	size_t		 i;

	worker_send_register(w);
	for (i = 0; i < w->njobs; i++)
		stream_resend(w->jobs[i]->stream);
}

/*
 * Another process uses our identity (session is its session, or NULL when
 * the coordinator refused ours for that reason): an error an operator must
 * fix, said now and then.
 */
static void
worker_conflict(struct worker *w, const char *session)
{
	int64_t	now = mono_ms();

	if (now - w->conflict_warned < CONFLICT_WARN_MS)
		return;
	w->conflict_warned = now;
	log_warnx("another process is worker '%s'%s%s%s: each worker needs an "
	    "identity of its own (dffmpeg admin user add NAME --role worker)",
	    w->node.name, session != NULL ? " (session " : "",
	    session != NULL ? session : "", session != NULL ? ")" : "");
}

static void
worker_on_reregister(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker_send_register(arg);
}

static void
worker_control(void *arg, const struct msg *m)
{
	struct worker	*w = arg;

	/* Both processes of an identity that is used twice get every
	 * downlink message: only answers naming our session are ours, and
	 * nothing is acted on before our registration was accepted. */
	if ((m->type == MT_REGISTERED || m->type == MT_REREGISTER) &&
	    (m->present & FBIT(F_SESSION)) &&
	    strcmp(m->session, w->node.session) != 0) {
		/* Its registration accepted, or refused because of us. */
		if (m->type == MT_REGISTERED || (m->present & FBIT(F_REASON) &&
		    strcmp(m->reason, "conflict") == 0))
			worker_conflict(w, m->session);
		return;
	}
	if (!w->registered && m->type != MT_REGISTERED &&
	    m->type != MT_REREGISTER) {
		log_debug("ignored a %s before our registration was accepted",
		    msg_type_name(m->type));
		return;
	}
	switch (m->type) {
	case MT_REGISTERED:
		if (!w->registered)
			log_info("registered with the coordinator as %s",
			    w->node.name);
		w->registered = true;
		break;
	case MT_REREGISTER:
		if (m->present & FBIT(F_REASON) &&
		    strcmp(m->reason, "conflict") == 0) {
			worker_conflict(w, NULL);
			loop_arm(w->ev_reregister, CONFLICT_RETRY_MS);
			break;
		}
		if (m->present & FBIT(F_REASON) &&
		    strcmp(m->reason, "lost") == 0)
			log_warnx("the coordinator took this worker for lost "
			    "(its jobs here were failed); registering again");
		worker_send_register(w);
		break;
	case MT_ASSIGN:
		worker_on_assign(w, m);
		break;
	case MT_CANCEL:
		worker_on_cancel(w, m);
		break;
	case MT_DRAIN:
		/* From `dffmpeg admin worker drain|resume`: stop (or start
		 * again) taking jobs, without exiting. */
		if (w->stopping)
			break;
		if (m->present & FBIT(F_STATUS) &&
		    strcmp(m->status, "online") == 0) {
			if (w->draining)
				log_info("resumed by the coordinator");
			w->draining = false;
		} else {
			if (!w->draining)
				log_info("draining on request of the "
				    "coordinator");
			w->draining = true;
		}
		worker_send_heartbeat(w);
		break;
	case MT_ACK:
		break;
	default:
		log_debug("ignored a %s message", msg_type_name(m->type));
		break;
	}
}

static void
worker_data(void *arg, const char *topic, const uint8_t *payload, size_t len)
{
	struct worker	*w = arg;
	size_t		 i;

	for (i = 0; i < w->njobs; i++) {
		if (strcmp(w->jobs[i]->topic_in, topic) == 0) {
			stream_input(w->jobs[i]->stream, payload, len);
			return;
		}
	}
}

static const struct node_ops worker_node_ops = {
	worker_ready,
	NULL,
	worker_control,
	worker_data,
};

static void
worker_closed(void *arg)
{
	struct worker	*w = arg;

	event_base_loopexit(w->base, NULL);
}

/*
 * Exit once draining and idle: no job left and every report (`finished`)
 * acknowledged by the coordinator, or the stop deadline passed.
 */
static void
worker_maybe_exit(struct worker *w)
{
	if (!w->stopping || w->exiting)
		return;
	if (w->njobs > 0 && mono_ms() < w->stop_deadline)
		return;
	/* Reports wait for the coordinator, unless it never answered us. */
	if (outbox_pending(w->node.outbox) > 0 && w->node.ready &&
	    w->registered && mono_ms() < w->stop_deadline)
		return;
	w->exiting = true;	/* job_remove calls back here */
	while (w->njobs > 0)
		job_remove(w, w->jobs[0]);
	log_info("no jobs left; exiting");
	node_shutdown(&w->node, true, worker_closed, w);
}

static void
worker_on_stop_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker_maybe_exit(arg);
}

/*
 * SIGTERM or SIGINT: the first drains (no new jobs, running ones finish,
 * then exit); the second cancels the running jobs (SIGTERM, SIGKILL after
 * kill_grace), reports them and exits.  SIGHUP is ignored.
 */
static void
worker_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct worker	*w = arg;
	struct wjob	*j;
	size_t		 i;

	(void)what;
	if (sig == SIGHUP) {
		log_info("SIGHUP: nothing to reload; ignored");
		return;
	}
	w->stops++;
	w->draining = true;
	if (w->stops == 1) {
		log_info("signal %d: draining (%zu jobs running); send it "
		    "again to cancel them", (int)sig, worker_running(w));
		w->stopping = true;
		/* No deadline while jobs run: they may take hours. */
		w->stop_deadline = INT64_MAX;
		worker_send_heartbeat(w);
	} else {
		log_info("signal %d: canceling %zu jobs", (int)sig,
		    worker_running(w));
		for (i = 0; i < w->njobs; i++) {
			j = w->jobs[i];
			if (!j->reported)
				wjob_stop(j, "the worker is stopping");
		}
		w->stop_deadline = mono_ms() + w->conf.kill_grace + 3000;
	}
	if (w->njobs == 0)
		w->stop_deadline = mono_ms() + 2000;	/* reports only */
	if (w->ev_stop == NULL) {
		w->ev_stop = loop_timer(w->base, true, worker_on_stop_tick, w);
		loop_arm(w->ev_stop, 100);
	}
	worker_maybe_exit(w);
}

int
worker_main(int argc, char **argv)
{
	struct worker	 w;
	char		 err[1024];
	struct daemon_opts opts;
	int		 rc, i;

	if ((rc = daemon_getopt(argc, argv, "dffmpeg worker [-n] [-d] "
	    "[-c FILE]", &opts)) != -1)
		return rc;
	if (sodium_init() < 0)
		fatalx("libsodium failed to initialise");
	log_init("dffmpeg-worker", LOG_SINK_STDERR, NULL);
	memset(&w, 0, sizeof(w));
	if (settings_load_worker(opts.config, &w.conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "dffmpeg worker: %s\n", err);
		return 1;
	}
	if (pathmap_init(&w.pm, &w.conf.paths, err, sizeof(err)) == -1) {
		fprintf(stderr, "dffmpeg worker: %s\n", err);
		settings_free_worker(&w.conf);
		return 1;
	}
	if (opts.check_only) {
		printf("configuration OK\n");
		pathmap_free(&w.pm);
		settings_free_worker(&w.conf);
		return 0;
	}
	daemon_logging("dffmpeg-worker", w.conf.log_file, w.conf.log_level,
	    opts.debug);

	loop_tune_malloc();
	w.base = loop_new();
	w.tasks = bgtask_pool_new(w.base);
	w.checks = xcalloc(w.pm.roots.n + 1, sizeof(*w.checks));
	for (i = 0; i < (int)w.pm.roots.n; i++) {
		w.checks[i].w = &w;
		w.checks[i].i = (size_t)i;
		strmap_set(&w.health, w.pm.roots.keys[i], "checking");
	}
	w.jobctx.base = w.base;
	w.jobctx.node = &w.node;
	w.jobctx.pm = &w.pm;
	w.jobctx.forward_env = &w.conf.forward_env;
	w.jobctx.kill_grace = w.conf.kill_grace;
	w.jobctx.gone = job_gone;
	w.jobctx.arg = &w;
	/* Registering waits for these; the loop does not. */
	w.starting = true;
	w.probe_done = strmap_get(&w.conf.binaries, "ffmpeg") == NULL;
	worker_start_probe(&w);
	worker_start_checks(&w);
	if (node_init(&w.node, w.base, &w.conf.mqtt, w.conf.client_id,
	    w.conf.key, false, &worker_node_ops, &w, err, sizeof(err)) == -1)
		fatalx("%s", err);
	w.ev_heartbeat = loop_timer(w.base, true, worker_on_heartbeat, &w);
	w.ev_reregister = loop_timer(w.base, false, worker_on_reregister, &w);
	loop_arm(w.ev_heartbeat, (int)w.conf.registration_interval);
	w.ev_sig[0] = loop_signal(w.base, SIGTERM, worker_on_signal, &w);
	w.ev_sig[1] = loop_signal(w.base, SIGINT, worker_on_signal, &w);
	w.ev_sig[2] = loop_signal(w.base, SIGHUP, worker_on_signal, &w);
	log_info("worker %s starting (broker %s:%d)", w.conf.client_id,
	    w.conf.mqtt.host, w.conf.mqtt.port);
	node_start(&w.node);
	worker_maybe_start(&w);
	event_base_dispatch(w.base);

	while (w.njobs > 0)
		job_remove(&w, w.jobs[0]);
	free(w.jobs);
	for (i = 0; i < 3; i++)
		event_free(w.ev_sig[i]);
	if (w.ev_stop != NULL)
		event_free(w.ev_stop);
	event_free(w.ev_heartbeat);
	event_free(w.ev_reregister);
	bgtask_pool_free(w.tasks);
	free(w.checks);
	node_free(&w.node);
	strmap_free(&w.health);
	caps_free(&w.caps);
	pathmap_free(&w.pm);
	settings_free_worker(&w.conf);
	event_base_free(w.base);
	log_info("worker stopped");
	return 0;
}
