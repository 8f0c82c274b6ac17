/*
 * dffmpeg worker: registers with the coordinator, heartbeats, and runs the
 * jobs assigned to it (wjob.h: each job a child process whose stdout and
 * stderr are streamed as sealed frames to the client, design §6.1).
 *
 * Nothing here blocks the loop (design §6.3): the capability probe of the
 * ffmpeg binary and the health checks of the path variables' mounts run in
 * child processes with deadlines (wcheck.h), and registration, heartbeats
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
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "applet.h"
#include "bgtask.h"
#include "bounds.h"
#include "caps.h"
#include "confine.h"
#include "daemon.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "msg.h"
#include "node.h"
#include "outbox.h"
#include "paths.h"
#include "proc.h"
#include "progress.h"
#include "settings.h"
#include "stream.h"
#include "util.h"
#include "wjob.h"
#include "wcheck.h"
#include "xmalloc.h"

#define REGISTER_WARN_MS	10000
#define CONFLICT_RETRY_MS	2000	/* identity in use: register again */
#define CONFLICT_WARN_MS	30000
#define LOG_TICK_MS		250	/* jobs' log batches are due */

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
	struct wcheck		*checks;	/* probe and mount health */
	struct event		*ev_heartbeat;
	struct event		*ev_logs;
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

/* wjob_ctx.devices: the device nodes of the verified hardware. */
static const struct strv *
worker_devices(void *arg)
{
	struct worker		*w = arg;
	const struct caps	*caps = wcheck_caps(w->checks);

	return caps != NULL ? &caps->devices : NULL;
}

/* The worker's config and key must be out of every job's reach: say so
 * when a root (or a path jobs read) holds them. */
static void
worker_secrets_exposed(struct worker *w)
{
	struct confine_rules	 r;
	struct strv		 all = { 0 };
	const char		*files[2] = { settings_path(),
				    w->conf.hmac_key_file };
	size_t			 i, k;

	for (i = 0; i < w->conf.paths.n; i++)
		strv_push(&all, w->conf.paths.keys[i]);
	for (i = 0; i < w->conf.binaries.n; i++) {
		confine_rules_build(&r, &w->conf.paths, &all,
		    w->conf.binaries.vals[i], &w->conf.confine_read, NULL);
		for (k = 0; k < nitems(files); k++)
			if (confine_exposes(&r, files[k]) != NULL)
				log_warnx("%s holds this worker's key and lies "
				    "where jobs may read (a root of paths, "
				    "confine_read or the directory of %s): move "
				    "it", files[k], w->conf.binaries.vals[i]);
		confine_rules_free(&r);
	}
	strv_free(&all);
}

/* How jobs are confined here, said at start; -1 if they cannot be as
 * the configuration requires. */
static int
worker_confine(struct worker *w)
{
	enum confine_mode	mode = confine_mode_parse(w->conf.confine);
	int			abi = confine_abi();

	w->jobctx.confine = mode;
	w->jobctx.landlock_abi = abi;
	w->jobctx.confine_read = &w->conf.confine_read;
	if (mode == CONFINE_OFF)
		log_warnx("confine: off: jobs run without Landlock (their "
		    "arguments are still checked against their roots)");
	else if (abi > 0)
		log_info("jobs are confined to their roots with Landlock "
		    "(ABI %d)", abi);
	else if (mode == CONFINE_REQUIRE) {
		log_warnx("confine: require, but this kernel offers no "
		    "Landlock (Linux 5.13 or later, with landlock among its "
		    "LSMs): refusing to run");
		return -1;
	} else
		log_warnx("this kernel offers no Landlock: jobs run "
		    "unconfined beyond the checks of their arguments (set "
		    "confine: require to refuse to run without it)");
	worker_secrets_exposed(w);
	return 0;
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
	/* Placed here although it lacks what the job needs (for ffmpeg's own
	 * error), but the operator withholds it: say so instead. */
	if (wcheck_disabled(w->checks, m->binary, &m->args, err,
	    sizeof(err)) != NULL) {
		char	text[384];

		snprintf(text, sizeof(text), "%s is disabled on worker %s", err,
		    w->node.name);
		wjob_reject(&w->node, m->job, "disabled", text);
		return;
	}
	/* The cached health: a check of a hung mount never returns. */
	for (i = 0; i < m->paths.n; i++) {
		if ((h = strmap_get(wcheck_health(w->checks),
		    m->paths.v[i])) == NULL) {
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
		/* An administrator's cancel is a kill its client watches;
		 * any other means nobody reads the job any more. */
		wjob_stop(j, "canceled by the coordinator",
		    (m->present & FBIT(F_REASON)) &&
		    strcmp(m->reason, "admin") == 0);
	}
}

/* ---- the control plane ---- */

static void
worker_fill_state(struct worker *w, struct msg *m)
{
	struct strv	running = { 0 };
	size_t		i;
	double		load[1];
	long		cpus;

	struct strv	reporting = { 0 }, pending = { 0 };
	struct strmap	progress = { 0 };
	char		ptext[PROGRESS_WIRE_MAX];

	for (i = 0; i < w->njobs; i++) {
		if (w->jobs[i]->reported)
			continue;
		strv_push(&running, w->jobs[i]->id);
		if (wjob_progress(w->jobs[i], ptext, sizeof(ptext)))
			strmap_set(&progress, w->jobs[i]->id, ptext);
	}
	/* Reports still on their way: after a restart of the coordinator
	 * they, not its guesses, say how those jobs ended. */
	outbox_pending_jobs(w->node.outbox, &pending);
	for (i = 0; i < pending.n; i++)
		if (!strv_contains(&running, pending.v[i]))
			strv_push(&reporting, pending.v[i]);
	msg_set_strv(m, F_RUNNING, &running);
	msg_set_strv(m, F_REPORTING, &reporting);
	if (m->type == MT_HEARTBEAT && progress.n > 0)
		msg_set_strmap(m, F_PROGRESS, &progress);
	strmap_free(&progress);
	strv_free(&running);
	strv_free(&reporting);
	strv_free(&pending);
	msg_set_str(m, F_STATUS, w->draining ? "draining" : "online");
	/* The host's load, for the operators' view (both are read from
	 * /proc, without blocking). */
	if (getloadavg(load, 1) == 1 && load[0] >= 0)
		msg_set_int(m, F_LOAD, (int64_t)(load[0] * 100 + 0.5));
	if ((cpus = sysconf(_SC_NPROCESSORS_ONLN)) > 0)
		msg_set_int(m, F_CPUS, cpus);
}

static void
worker_send_register(struct worker *w)
{
	struct msg	m;
	struct strmap	bins = { 0 };
	const struct caps *caps;
	char		*probes;
	size_t		i;

	if (!wcheck_ready(w->checks))
		return;		/* worker_checked registers */
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
	msg_set_strmap(&m, F_PATH_HEALTH, wcheck_health(w->checks));
	msg_set_int(&m, F_MAX_JOBS, w->conf.max_jobs);
	msg_set_int(&m, F_WEIGHT, w->conf.weight);
	msg_set_int(&m, F_INTERVAL, w->conf.registration_interval);
	msg_set_strmap(&m, F_DEVICE_SLOTS, &w->conf.device_slots);
	if ((caps = wcheck_caps(w->checks)) != NULL) {
		msg_set_strv(&m, F_ENCODERS, &caps->lists[CAPS_ENCODERS]);
		msg_set_strv(&m, F_DECODERS, &caps->lists[CAPS_DECODERS]);
		msg_set_strv(&m, F_HWACCELS, &caps->lists[CAPS_HWACCELS]);
		msg_set_strv(&m, F_FILTERS, &caps->lists[CAPS_FILTERS]);
		msg_set_strv(&m, F_DEVICES, &caps->devices);
		msg_set_strmap(&m, F_UNVERIFIED_CAPS, &caps->failed);
		if ((probes = caps_outputs_json(caps)) != NULL) {
			msg_set_str(&m, F_PROBES, probes);
			free(probes);
		}
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
	msg_set_strmap(&m, F_PATH_HEALTH, wcheck_health(w->checks));
	worker_fill_state(w, &m);
	node_send(&w->node, &m, false);
	msg_clear(&m);
}

/* wcheck_ops: the first probe and mount checks are done (start-up). */
static void
worker_checked(void *arg)
{
	struct worker	*w = arg;

	if (w->node.ready)
		worker_send_register(w);
}

/* wcheck_ops: the probe of a changed binary has a result. */
static void
worker_reprobed(void *arg)
{
	struct worker	*w = arg;

	if (!w->node.ready)
		return;		/* worker_ready registers */
	log_info("probed the changed ffmpeg binary; registering again");
	worker_send_register(w);
}

/* wcheck_ops: a variable's health changed: tell the coordinator now. */
static void
worker_health(void *arg)
{
	worker_send_heartbeat(arg);
}

static const struct wcheck_ops worker_check_ops = {
	worker_checked,
	worker_reprobed,
	worker_health,
};

/* Start this round's mount checks (and a probe if the binary changed);
 * the heartbeat carries the results of the previous ones. */
static void
worker_on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	int64_t		 now = mono_ms();

	(void)fd;
	(void)what;
	wcheck_run(w->checks);
	if (!w->node.ready || !wcheck_ready(w->checks))
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

/* The log batches that are due, one job after the other. */
static void
worker_on_logs(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	int64_t		 now = mono_ms();
	size_t		 i;

	(void)fd;
	(void)what;
	if (!w->node.ready || !w->registered)
		return;
	for (i = 0; i < w->njobs; i++)
		wjob_ship_log(w->jobs[i], now);
}

static void
worker_ready(void *arg)
{
	struct worker	*w = arg;
	size_t		 i;

	worker_send_register(w);
	for (i = 0; i < w->njobs; i++)
		if (w->jobs[i]->stream != NULL)
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
	struct wjob	*j;

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
		/* Of a log batch: the job may send its next one, at once
		 * if a whole batch waits. */
		if ((m->present & FBIT(F_JOB)) &&
		    (j = job_find(w, m->job)) != NULL) {
			wjob_acked(j, m->ref);
			wjob_ship_log(j, mono_ms());
		}
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
		if (w->jobs[i]->stream != NULL &&
		    strcmp(w->jobs[i]->topic_in, topic) == 0) {
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
				wjob_stop(j, "the worker is stopping", false);
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
	char		 err[1024], where[512];
	struct daemon_opts opts;
	int		 rc, i;

	if ((rc = daemon_getopt(argc, argv, "worker",
	    "Run a worker: it registers with the coordinator, reports what "
	    "its ffmpeg can\ndo and runs the jobs placed on it.  SIGTERM "
	    "drains it (running jobs finish,\nthen it exits); a second "
	    "SIGTERM cancels them.", &opts)) != -1)
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
	w.checks = wcheck_new(w.base, &w.conf, &w.pm, &worker_check_ops, &w);
	w.jobctx.base = w.base;
	w.jobctx.node = &w.node;
	w.jobctx.pm = &w.pm;
	w.jobctx.forward_env = &w.conf.forward_env;
	w.jobctx.kill_grace = w.conf.kill_grace;
	w.jobctx.ship_logs = w.conf.ship_logs;
	w.jobctx.gone = job_gone;
	w.jobctx.arg = &w;
	w.jobctx.devices = worker_devices;
	w.jobctx.tasks = bgtask_pool_new(w.base);
	if (worker_confine(&w) == -1)
		fatalx("no Landlock, and confine: require");
	/* Registering waits for the first results; the loop does not. */
	wcheck_run(w.checks);
	if (node_init(&w.node, w.base, &w.conf.mqtt, w.conf.client_id,
	    w.conf.key, false, &worker_node_ops, &w, err, sizeof(err)) == -1)
		fatalx("%s", err);
	w.ev_heartbeat = loop_timer(w.base, true, worker_on_heartbeat, &w);
	w.ev_reregister = loop_timer(w.base, false, worker_on_reregister, &w);
	loop_arm(w.ev_heartbeat, (int)w.conf.registration_interval);
	w.ev_logs = loop_timer(w.base, true, worker_on_logs, &w);
	loop_arm(w.ev_logs, LOG_TICK_MS);
	w.ev_sig[0] = loop_signal(w.base, SIGTERM, worker_on_signal, &w);
	w.ev_sig[1] = loop_signal(w.base, SIGINT, worker_on_signal, &w);
	w.ev_sig[2] = loop_signal(w.base, SIGHUP, worker_on_signal, &w);
	log_info("worker %s starting (broker %s)", w.conf.client_id,
	    mqtt_conf_where(&w.conf.mqtt, where, sizeof(where)));
	node_start(&w.node);
	event_base_dispatch(w.base);

	/* A job's check still running is canceled as the job goes. */
	while (w.njobs > 0)
		job_remove(&w, w.jobs[0]);
	bgtask_pool_free(w.jobctx.tasks);
	free(w.jobs);
	for (i = 0; i < 3; i++)
		event_free(w.ev_sig[i]);
	if (w.ev_stop != NULL)
		event_free(w.ev_stop);
	event_free(w.ev_heartbeat);
	event_free(w.ev_logs);
	event_free(w.ev_reregister);
	wcheck_free(w.checks);
	node_free(&w.node);
	pathmap_free(&w.pm);
	settings_free_worker(&w.conf);
	event_base_free(w.base);
	log_info("worker stopped");
	return 0;
}
