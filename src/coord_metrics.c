/*
 * The coordinator's metrics (design §11): counters and histograms kept as
 * jobs move, and the text of /metrics, which reads everything else from
 * the state itself (the job table, the registry, the connection).
 *
 * Names follow Prometheus' conventions: the dffmpeg_ prefix, base units
 * (seconds), _total for counters.  Label values come from bounded sets:
 * binaries are those of allowed_binaries ("other" for the rest), states
 * and reasons are the program's own; worker names are identities the
 * administrator created.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "coord.h"
#include "http.h"
#include "mqtt.h"
#include "util.h"
#include "xmalloc.h"

#define LABELS_MAX	512

/* Upper bounds, in seconds. */
static const double dispatch_le[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
	2.5, 5, 10, 30
};
static const double wait_le[] = {
	0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600
};
static const double duration_le[] = {
	0.5, 1, 5, 10, 30, 60, 300, 600, 1800, 3600, 7200, 14400, 43200
};
static const double commit_le[] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 1
};

static const enum job_state outcomes[OUTCOMES] = {
	JS_COMPLETED, JS_FAILED, JS_CANCELED
};

/* Why a message was dropped, as a label. */
static const char *const drop_reasons[ME__COUNT] = {
	[ME_OK] = "ok",
	[ME_SIZE] = "size",
	[ME_FORMAT] = "format",
	[ME_MAC] = "signature",
	[ME_FROM] = "sender",
	[ME_ROLE] = "role",
	[ME_AGE] = "age",
	[ME_REPLAY] = "replay",
	[ME_UNKNOWN] = "unknown_identity",
};

void
coord_stats_init(struct coord *c)
{
	struct coord_stats	*st = &c->stats;
	size_t			 i;

	st->nbin = c->conf.allowed_binaries.n + 1;
	hist_init(&st->dispatch, dispatch_le, nitems(dispatch_le));
	hist_init(&st->queue_wait, wait_le, nitems(wait_le));
	hist_init(&st->commit, commit_le, nitems(commit_le));
	st->duration = xcalloc(st->nbin, sizeof(*st->duration));
	for (i = 0; i < st->nbin; i++)
		hist_init(&st->duration[i], duration_le, nitems(duration_le));
	st->submitted = xcalloc(st->nbin, sizeof(*st->submitted));
	st->started = xcalloc(st->nbin, sizeof(*st->started));
	st->finished = xcalloc(st->nbin * OUTCOMES, sizeof(*st->finished));
}

void
coord_stats_free(struct coord *c)
{
	struct coord_stats	*st = &c->stats;
	size_t			 i;

	hist_free(&st->dispatch);
	hist_free(&st->queue_wait);
	hist_free(&st->commit);
	for (i = 0; i < st->nbin && st->duration != NULL; i++)
		hist_free(&st->duration[i]);
	free(st->duration);
	free(st->submitted);
	free(st->started);
	free(st->finished);
	memset(st, 0, sizeof(*st));
}

static size_t
binary_index(const struct coord *c, const char *binary)
{
	const struct strv	*sv = &c->conf.allowed_binaries;
	size_t			 i;

	for (i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], binary) == 0)
			return i;
	return sv->n;
}

static const char *
binary_label(const struct coord *c, size_t i)
{
	return i < c->conf.allowed_binaries.n ? c->conf.allowed_binaries.v[i] :
	    "other";
}

void
coord_stats_submitted(struct coord *c, const struct cjob *j)
{
	if (c->stats.submitted != NULL)
		c->stats.submitted[binary_index(c, j->binary)]++;
}

void
coord_stats_transition(struct coord *c, struct cjob *j, enum job_state to)
{
	struct coord_stats	*st = &c->stats;
	int64_t			 now = mono_ms();
	size_t			 b = binary_index(c, j->binary), k;

	if (st->submitted == NULL)
		return;
	if (j->state == JS_PENDING && j->queued_at > 0)
		hist_observe(&st->queue_wait, (now - j->queued_at) / 1000.0);
	if (to == JS_ASSIGNED && !j->dispatched && j->submitted_at > 0) {
		j->dispatched = true;
		hist_observe(&st->dispatch, (now - j->submitted_at) / 1000.0);
	}
	if (to == JS_RUNNING) {
		st->started[b]++;
		j->started_at = now;
	}
	if (!jobstate_terminal(to))
		return;
	for (k = 0; k < OUTCOMES; k++)
		if (outcomes[k] == to)
			st->finished[b * OUTCOMES + k]++;
	if (j->started_at > 0)
		hist_observe(&st->duration[b], (now - j->started_at) / 1000.0);
}

/* ---- /metrics ---- */

/* A counter family with one sample per binary. */
static void
per_binary(struct coord *c, struct evbuffer *b, const char *name,
    const char *help, const uint64_t *v)
{
	char	l[LABELS_MAX];
	size_t	i;

	prom_family(b, name, "counter", help);
	for (i = 0; i < c->stats.nbin; i++)
		prom_sample(b, name, prom_labels(l, sizeof(l), "binary",
		    binary_label(c, i), NULL), (double)v[i]);
}

static void
jobs_metrics(struct coord *c, struct evbuffer *b)
{
	struct coord_stats	*st = &c->stats;
	const struct cjob	*j;
	uint64_t		*n;
	char			 l[LABELS_MAX];
	size_t			 i, k;
	int			 s;

	/* Unfinished jobs by state and binary, every pair present. */
	n = xcalloc(st->nbin * JS__COUNT, sizeof(*n));
	for (j = jobtab_first(&c->jobs); j != NULL; j = jobtab_next(j))
		n[binary_index(c, j->binary) * JS__COUNT + j->state]++;
	prom_family(b, "dffmpeg_jobs", "gauge",
	    "Unfinished jobs by state and binary.");
	for (i = 0; i < st->nbin; i++)
		for (s = 0; s < JS__COUNT; s++)
			if (!jobstate_terminal(s))
				prom_sample(b, "dffmpeg_jobs", prom_labels(l,
				    sizeof(l), "state", jobstate_name(s),
				    "binary", binary_label(c, i), NULL),
				    (double)n[i * JS__COUNT + s]);
	free(n);

	per_binary(c, b, "dffmpeg_jobs_submitted_total",
	    "Jobs accepted from clients.", st->submitted);
	per_binary(c, b, "dffmpeg_jobs_started_total",
	    "Jobs whose process started on a worker.", st->started);
	prom_family(b, "dffmpeg_jobs_finished_total", "counter",
	    "Jobs that ended, by outcome.");
	for (i = 0; i < st->nbin; i++)
		for (k = 0; k < OUTCOMES; k++)
			prom_sample(b, "dffmpeg_jobs_finished_total",
			    prom_labels(l, sizeof(l), "binary",
			    binary_label(c, i), "outcome",
			    jobstate_name(outcomes[k]), NULL),
			    (double)st->finished[i * OUTCOMES + k]);

	prom_family(b, "dffmpeg_queue_depth", "gauge",
	    "Jobs waiting for a worker.");
	prom_sample(b, "dffmpeg_queue_depth", NULL, (double)c->jobs.npending);
	prom_family(b, "dffmpeg_queue_wait_seconds", "histogram",
	    "Time a job spent in the queue, per stay.");
	prom_hist(b, "dffmpeg_queue_wait_seconds", NULL, &st->queue_wait);
	prom_family(b, "dffmpeg_dispatch_latency_seconds", "histogram",
	    "Time from a job's submit to its first assignment.");
	prom_hist(b, "dffmpeg_dispatch_latency_seconds", NULL, &st->dispatch);
	prom_family(b, "dffmpeg_job_duration_seconds", "histogram",
	    "Time from a job's start on a worker to its end.");
	for (i = 0; i < st->nbin; i++)
		prom_hist(b, "dffmpeg_job_duration_seconds", prom_labels(l,
		    sizeof(l), "binary", binary_label(c, i), NULL),
		    &st->duration[i]);
}

/* Per-worker gauges: a value, or NAN when the worker did not say. */
static double
w_running(const struct cworker *w)
{
	return w->active;
}

static double
w_slots(const struct cworker *w)
{
	return w->max_jobs;
}

static double
w_load(const struct cworker *w)
{
	return w->load >= 0 ? w->load / 100.0 : NAN;
}

static double
w_cpus(const struct cworker *w)
{
	return w->cpus > 0 ? w->cpus : NAN;
}

static double
w_last_seen(const struct cworker *w)
{
	return w->heard > 0 ? w->heard / 1000.0 : NAN;
}

static const struct {
	const char	*name;
	const char	*help;
	double		(*value)(const struct cworker *);
} worker_gauges[] = {
	{ "dffmpeg_worker_running_jobs",
	    "Jobs holding one of a worker's slots.", w_running },
	{ "dffmpeg_worker_slots",
	    "Jobs a worker takes at once (0: no limit).", w_slots },
	{ "dffmpeg_worker_load",
	    "A worker host's 1-minute load average, as it last told.", w_load },
	{ "dffmpeg_worker_cpus", "A worker host's online CPUs.", w_cpus },
	{ "dffmpeg_worker_last_seen_timestamp_seconds",
	    "When a worker's last message arrived (Unix time).", w_last_seen },
};

/* The device slots of each worker: their limit (used false) or use. */
static void
device_slots(struct coord *c, struct evbuffer *b, bool used)
{
	const char		*name = used ?
				    "dffmpeg_worker_device_slots_used" :
				    "dffmpeg_worker_device_slots";
	const struct cworker	*w;
	char			 l[LABELS_MAX];
	size_t			 i, k;

	prom_family(b, name, "gauge", used ? "Jobs running on a worker's "
	    "device type." : "Jobs a worker runs at once on a device type.");
	for (i = 0; i < c->reg.n; i++)
		for (w = c->reg.v[i], k = 0; k < w->nslots; k++)
			prom_sample(b, name, prom_labels(l, sizeof(l), "worker",
			    w->name, "device", w->slots[k].type, NULL),
			    used ? w->slots[k].used : w->slots[k].max);
}

static void
worker_metrics(struct coord *c, struct evbuffer *b)
{
	char		 l[LABELS_MAX];
	size_t		 i, g;
	uint64_t	 n[WS__COUNT] = { 0 };
	double		 v;
	int		 s;

	for (i = 0; i < c->reg.n; i++)
		n[c->reg.v[i]->state]++;
	prom_family(b, "dffmpeg_workers", "gauge", "Workers by state.");
	for (s = 0; s < WS__COUNT; s++)
		prom_sample(b, "dffmpeg_workers", prom_labels(l, sizeof(l),
		    "state", worker_state_name(s), NULL), (double)n[s]);
	for (g = 0; g < nitems(worker_gauges); g++) {
		prom_family(b, worker_gauges[g].name, "gauge",
		    worker_gauges[g].help);
		for (i = 0; i < c->reg.n; i++)
			if (!isnan(v = worker_gauges[g].value(c->reg.v[i])))
				prom_sample(b, worker_gauges[g].name,
				    prom_labels(l, sizeof(l), "worker",
				    c->reg.v[i]->name, NULL), v);
	}
	device_slots(c, b, false);
	device_slots(c, b, true);
}

static void
transport_metrics(struct coord *c, struct evbuffer *b)
{
	const struct http_stat	*hs;
	char			 l[LABELS_MAX], code[8];
	size_t			 i, t, n;

	prom_family(b, "dffmpeg_messages_received_total", "counter",
	    "Verified messages by type.");
	for (i = 0; i < MT__COUNT; i++)
		if (msg_types[i].roles & (ROLE_CLIENT | ROLE_WORKER |
		    ROLE_ADMIN))
			prom_sample(b, "dffmpeg_messages_received_total",
			    prom_labels(l, sizeof(l), "type",
			    msg_type_name((enum msg_type)i), NULL),
			    (double)c->stats.received[i]);
	prom_family(b, "dffmpeg_messages_dropped_total", "counter",
	    "Messages dropped, by reason and type (the type a message that "
	    "failed its checks claims; replay: repeats answered again).");
	for (i = ME_OK + 1; i < ME__COUNT; i++)
		for (t = 0; t <= MT__COUNT; t++)
			if (c->stats.dropped[i][t] > 0 || t == MT__COUNT)
				prom_sample(b, "dffmpeg_messages_dropped_total",
				    prom_labels(l, sizeof(l), "reason",
				    drop_reasons[i], "type", t < MT__COUNT ?
				    msg_type_name((enum msg_type)t) : "unknown",
				    NULL), (double)c->stats.dropped[i][t]);
	prom_family(b, "dffmpeg_mqtt_connected", "gauge",
	    "Whether the coordinator is connected to its broker.");
	prom_sample(b, "dffmpeg_mqtt_connected", NULL,
	    mqtt_is_connected(c->mqtt) ? 1 : 0);
	prom_family(b, "dffmpeg_mqtt_reconnects_total", "counter",
	    "Connections to the broker after the first.");
	prom_sample(b, "dffmpeg_mqtt_reconnects_total", NULL,
	    c->stats.connects > 1 ? (double)(c->stats.connects - 1) : 0);
	prom_family(b, "dffmpeg_store_commit_seconds", "histogram",
	    "Time of the database's group commits.");
	prom_hist(b, "dffmpeg_store_commit_seconds", NULL, &c->stats.commit);
	prom_family(b, "dffmpeg_store_commit_failures_total", "counter",
	    "Group commits that failed (the log names the writes lost).");
	prom_sample(b, "dffmpeg_store_commit_failures_total", NULL,
	    (double)c->stats.commit_failures);
	if (c->http == NULL)
		return;
	prom_family(b, "dffmpeg_http_requests_total", "counter",
	    "HTTP requests answered, by route and status.");
	hs = http_stats(c->http, &n);
	for (i = 0; i < n; i++) {
		snprintf(code, sizeof(code), "%d", hs[i].status);
		prom_sample(b, "dffmpeg_http_requests_total", prom_labels(l,
		    sizeof(l), "route", hs[i].route, "code", code, NULL),
		    (double)hs[i].n);
	}
}

void
coord_metrics(struct coord *c, struct evbuffer *b)
{
	char	l[LABELS_MAX];

	prom_family(b, "dffmpeg_build_info", "gauge",
	    "The coordinator's version, as a label.");
	prom_sample(b, "dffmpeg_build_info", prom_labels(l, sizeof(l),
	    "version", DFFMPEG_VERSION, NULL), 1);
	prom_family(b, "process_start_time_seconds", "gauge",
	    "When the coordinator started (Unix time).");
	prom_sample(b, "process_start_time_seconds", NULL,
	    (double)((now_ms() - (mono_ms() - c->started)) / 1000));
	jobs_metrics(c, b);
	worker_metrics(c, b);
	transport_metrics(c, b);
}
