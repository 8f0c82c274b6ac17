/*
 * The job lifecycle on the coordinator: state transitions, placement,
 * cancels, and what a worker's loss, silence or report does to its jobs.
 * See coord.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "coord.h"
#include "ffargs.h"
#include "hwcaps.h"
#include "ident.h"
#include "log.h"
#include "sched.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

/* After a restart, workers get this long to register before a job that
 * no registered worker can run is refused rather than queued. */
#define STARTUP_GRACE_MS	(3 * HEARTBEAT_DEFAULT * 1000)

/* j takes (d 1) or gives back (d -1) one of w's job slots and the device
 * slots of the types it uses. */
static void
hold(struct cworker *w, const struct cjob *j, int d)
{
	struct devslot	*s;
	size_t		 i;

	if (w->active + d >= 0)
		w->active += d;
	for (i = 0; i < j->hwtypes.n; i++)
		if ((s = registry_slot(w, j->hwtypes.v[i])) != NULL &&
		    s->used + d >= 0)
			s->used += d;
}

/* Nothing of w's is held (its jobs are gone or counted again). */
static void
unhold_all(struct cworker *w)
{
	size_t	i;

	w->active = 0;
	for (i = 0; i < w->nslots; i++)
		w->slots[i].used = 0;
}

static bool
holds_slot(enum job_state s)
{
	return s == JS_ASSIGNED || s == JS_RUNNING || s == JS_CANCELING;
}

int
coord_job_transition(struct coord *c, struct cjob *j, enum job_state to,
    const char *reason)
{
	struct cworker	*w;
	enum job_state	 from = j->state;

	if (!jobstate_allowed(from, to)) {
		log_debug("job %s: ignored %s -> %s", j->id,
		    jobstate_name(from), jobstate_name(to));
		return -1;
	}
	coord_stats_transition(c, j, to);
	store_job_transition(c->store, j->id, jobstate_name(from),
	    jobstate_name(to), to == JS_PENDING ? "" : j->worker, reason,
	    now_ms());
	coord_dirty(c);
	log_info("job %s: %s -> %s%s%s", j->id, jobstate_name(from),
	    jobstate_name(to), reason != NULL ? ": " : "",
	    reason != NULL ? reason : "");
	if (holds_slot(from) && !holds_slot(to) &&
	    (w = registry_find(&c->reg, j->worker)) != NULL)
		hold(w, j, -1);
	j->state = to;
	if (to == JS_PENDING && from == JS_ASSIGNED) {
		uint8_t	sealed[SEALED_KEY_MAX];
		size_t	len;

		/* The worker it was taken from may still start it: a new
		 * key for the next placement keeps that copy's frames out
		 * of the client's stream (and the coordinator cancels it
		 * when it reports). */
		randombytes_buf(j->key, sizeof(j->key));
		len = ident_seal(c->master, j->key, sealed);
		store_job_set_key(c->store, j->id, sealed, len);
	}
	if (to == JS_PENDING) {
		j->worker[0] = '\0';
		j->queued_at = mono_ms();
		msg_clear(&j->assign);
		j->assigning = false;
	}
	jobtab_requeue(&c->jobs, j);
	return 0;
}

void
coord_job_end(struct coord *c, struct cjob *j, enum job_state to,
    const char *why)
{
	coord_job_transition(c, j, to, why);
	jobtab_forget(&c->jobs, j);
}

void
coord_job_fail(struct coord *c, struct cjob *j, const char *reason,
    const char *text)
{
	struct msg	m;

	if (coord_job_transition(c, j, JS_FAILED, text) == -1)
		return;
	msg_init(&m, MT_FAILED, COORDINATOR_NAME);
	msg_set_str(&m, F_JOB, j->id);
	msg_set_str(&m, F_REASON, reason);
	msg_set_str(&m, F_TEXT, text);
	coord_to_client(c, j, &m);
	jobtab_forget(&c->jobs, j);
}

void
coord_job_send_cancel(struct coord *c, struct cjob *j)
{
	struct msg	m;

	j->cancel_sent = mono_ms();
	msg_init(&m, MT_CANCEL, COORDINATOR_NAME);
	msg_set_str(&m, F_JOB, j->id);
	if (j->cancel_relay)
		msg_set_str(&m, F_REASON, "admin");
	coord_to_worker(c, j->worker, &m);
}

void
coord_job_cancel(struct coord *c, struct cjob *j, const char *why)
{
	switch (j->state) {
	case JS_PENDING:
		coord_job_end(c, j, JS_CANCELED, why);
		break;
	case JS_ASSIGNED:
	case JS_RUNNING:
		if (coord_job_transition(c, j, JS_CANCELING, why) == -1)
			break;
		coord_job_send_cancel(c, j);
		break;
	default:
		break;
	}
}

void
coord_job_send_assign(struct coord *c, struct cjob *j)
{
	if (!j->assigning)
		return;
	j->assign_sent = mono_ms();
	coord_send_worker(c, j->worker, &j->assign);
}

void
coord_job_send_accepted(struct coord *c, struct cjob *j)
{
	uint8_t		 ckey[KEY_LEN];
	struct msg	 m;
	char		*sealed;

	if (coord_client_key(c, j, ckey) == -1)
		return;
	sealed = msg_seal_key(ckey, j->key);
	sodium_memzero(ckey, sizeof(ckey));
	msg_init(&m, MT_ACCEPTED, COORDINATOR_NAME);
	msg_set_str(&m, F_JOB, j->id);
	msg_set_str(&m, F_KEY, sealed);
	msg_set_str(&m, F_WORKER, j->worker);
	free(sealed);
	coord_to_client(c, j, &m);
}

void
coord_job_place(struct coord *c, struct cjob *j, struct cworker *w)
{
	uint8_t		 wkey[KEY_LEN];
	struct msg	*m = &j->assign;
	char		*sealed;
	int		 role;

	if (keyring_lookup(c->keyring, w->name, wkey, &role) == -1)
		return;
	snprintf(j->worker, sizeof(j->worker), "%s", w->name);
	if (coord_job_transition(c, j, JS_ASSIGNED, j->unplaceable) == -1) {
		sodium_memzero(wkey, sizeof(wkey));
		return;
	}
	hold(w, j, 1);
	w->last_assign = mono_ms();
	j->assigned_at = mono_ms();
	coord_job_log_reset(c, j);
	progress_init(&j->progress);

	sealed = msg_seal_key(wkey, j->key);
	sodium_memzero(wkey, sizeof(wkey));
	msg_clear(m);
	msg_init(m, MT_ASSIGN, COORDINATOR_NAME);
	msg_set_str(m, F_JOB, j->id);
	msg_set_str(m, F_BINARY, j->binary);
	msg_set_strv(m, F_ARGS, &j->args);
	if (j->cwd != NULL)
		msg_set_str(m, F_CWD, j->cwd);
	msg_set_strmap(m, F_ENV, &j->env);
	msg_set_strv(m, F_PATHS, &j->paths);
	msg_set_str(m, F_KEY, sealed);
	if (j->detached)
		msg_set_bool(m, F_DETACHED, true);
	free(sealed);
	j->assigning = true;
	coord_job_send_assign(c, j);
	coord_job_send_accepted(c, j);
}

static struct sched_job
sched_job_of(const struct cjob *j)
{
	struct sched_job	sj = { j->binary, &j->paths,
				    j->unplaceable != NULL ? NULL : &j->req,
				    &j->hwtypes };

	return sj;
}

void
coord_schedule(struct coord *c)
{
	struct cjob		*j, *next;
	struct cworker		*w;
	struct sched_job	 sj;
	struct client_load	 load;

	/* Called after every change that may free a slot: the queue is
	 * empty in the common case. */
	if (jobtab_first_pending(&c->jobs) == NULL)
		return;
	coord_limits_load(c, &load);
	for (j = jobtab_first_pending(&c->jobs); j != NULL; j = next) {
		next = jobtab_next_pending(j);
		/* Its client has limits.running jobs placed: it waits. */
		if (!coord_limits_may_place(c, &load, j->client))
			continue;
		sj = sched_job_of(j);
		if ((w = sched_pick(c->reg.v, c->reg.n, &sj)) != NULL) {
			coord_job_place(c, j, w);
			coord_limits_placed(c, &load, j->client);
		}
	}
	coord_limits_load_free(&load);
}

bool
coord_could_run(struct coord *c, const struct cjob *j, char *why,
    size_t whylen)
{
	struct sched_job sj = sched_job_of(j);

	return sched_could_run(c->reg.v, c->reg.n, &sj,
	    mono_ms() - c->started < STARTUP_GRACE_MS, why, whylen);
}

bool
coord_relax(struct coord *c, struct cjob *j, bool fallback, const char *why)
{
	char	text[256], why2[160];

	if (fallback || j->unplaceable != NULL)
		return false;
	snprintf(text, sizeof(text), "unplaceable (%s): run anyway for "
	    "ffmpeg's own error", why);
	j->unplaceable = xstrdup(text);
	if (!coord_could_run(c, j, why2, sizeof(why2))) {
		free(j->unplaceable);
		j->unplaceable = NULL;
		return false;
	}
	log_warnx("job %s: %s", j->id, text);
	coord_schedule(c);
	return true;
}

/* Apply fn to every job placed on w (fn may forget the job it gets). */
static void
each_job_of(struct coord *c, const struct cworker *w,
    void (*fn)(struct coord *, struct cjob *, const void *), const void *arg)
{
	struct cjob	*j, *next;

	for (j = jobtab_first(&c->jobs); j != NULL; j = next) {
		next = jobtab_next(j);
		if (strcmp(j->worker, w->name) == 0)
			fn(c, j, arg);
	}
}

static void
gone_job(struct coord *c, struct cjob *j, const void *arg)
{
	const char	*why = arg;
	char		 text[256];

	switch (j->state) {
	case JS_ASSIGNED:
		coord_job_transition(c, j, JS_PENDING, why);
		break;
	case JS_RUNNING:
		snprintf(text, sizeof(text), "worker %s went away while "
		    "running the job (%s)", j->worker, why);
		coord_job_fail(c, j, "worker-lost", text);
		break;
	case JS_CANCELING:
		coord_job_end(c, j, JS_CANCELED, why);
		break;
	default:
		break;
	}
}

void
coord_worker_gone(struct coord *c, struct cworker *w, enum worker_state to,
    const char *why)
{
	if (registry_transition(&c->reg, w, to, why) == -1)
		return;
	each_job_of(c, w, gone_job, why);
	unhold_all(w);
	coord_schedule(c);
}

static void
stale_job(struct coord *c, struct cjob *j, const void *arg)
{
	(void)arg;
	if (j->state == JS_ASSIGNED)
		coord_job_transition(c, j, JS_PENDING, "the worker stopped "
		    "heartbeating");
}

void
coord_worker_stale(struct coord *c, struct cworker *w)
{
	char	why[96];

	snprintf(why, sizeof(why), "nothing heard for %lld ms",
	    (long long)(mono_ms() - w->last_seen));
	if (registry_transition(&c->reg, w, WS_STALE, why) == -1)
		return;
	each_job_of(c, w, stale_job, NULL);
	coord_schedule(c);
}

struct reconcile {
	struct cworker		*w;
	const struct strv	*running;
	const struct strv	*reporting;
};

static void
reconcile_job(struct coord *c, struct cjob *j, const void *arg)
{
	const struct reconcile	*r = arg;
	bool			 runs = strv_contains(r->running, j->id);

	bool			 due = r->reporting != NULL &&
	    strv_contains(r->reporting, j->id);

	if (!due)
		j->report_due = 0;
	else if (j->report_due == 0)
		j->report_due = mono_ms();
	/* Its report wins over any guess of ours: it is on the way. */
	if (runs || due || j->state == JS_ASSIGNED)
		return;
	if (j->state == JS_RUNNING)
		coord_job_fail(c, j, "worker-lost", "the worker no longer runs "
		    "the job");
	else if (j->state == JS_CANCELING)
		coord_job_end(c, j, JS_CANCELED, "the worker no longer runs "
		    "the job");
}

static void
count_job(struct coord *c, struct cjob *j, const void *arg)
{
	struct cworker	*w = registry_find(&c->reg, j->worker);

	(void)arg;
	if (w != NULL && holds_slot(j->state))
		hold(w, j, 1);
}

void
coord_worker_strays(struct coord *c, struct cworker *w,
    const struct strv *running)
{
	struct cjob	*j;
	struct msg	 m;
	size_t		 i;

	for (i = 0; i < running->n; i++) {
		j = jobtab_find(&c->jobs, running->v[i]);
		if (j != NULL && strcmp(j->worker, w->name) == 0)
			continue;
		/* Failed or taken back while it could not hear us (its will
		 * fired, it hung): both sides must agree again. */
		log_warnx("worker %s runs job %s which is no longer its own; "
		    "canceling it", w->name, running->v[i]);
		msg_init(&m, MT_CANCEL, COORDINATOR_NAME);
		msg_set_str(&m, F_JOB, running->v[i]);
		coord_to_worker(c, w->name, &m);
	}
}

void
coord_worker_reconcile(struct coord *c, struct cworker *w,
    const struct strv *running, const struct strv *reporting)
{
	struct reconcile	 r = { w, running, reporting };

	coord_worker_strays(c, w, running);
	/* End what it no longer runs first (releasing their slots), then
	 * count what is left afresh. */
	each_job_of(c, w, reconcile_job, &r);
	unhold_all(w);
	each_job_of(c, w, count_job, NULL);
}

void
coord_worker_record(void *arg, const struct cworker *w,
    enum worker_state from, enum worker_state to, const char *reason)
{
	struct coord	*c = arg;
	bool		 bad = to == WS_LOST || to == WS_STALE;

	if (bad)
		log_warnx("worker %s: %s -> %s%s%s", w->name,
		    worker_state_name(from), worker_state_name(to),
		    reason != NULL ? ": " : "", reason != NULL ? reason : "");
	else
		log_info("worker %s: %s -> %s%s%s", w->name,
		    worker_state_name(from), worker_state_name(to),
		    reason != NULL ? ": " : "", reason != NULL ? reason : "");
	store_worker_transition(c->store, w->name, worker_state_name(from),
	    worker_state_name(to), reason, now_ms());
	store_worker_seen(c->store, w->name, w->session, worker_state_name(to),
	    now_ms());
	coord_dirty(c);
}

/* Rebuild an unfinished job from the store after a restart. */
int
coord_job_restore(const struct job_row *row, void *arg)
{
	struct coord	*c = arg;
	struct cjob	*j;
	struct cworker	*w;
	int		 st = jobstate_parse(row->state);

	if (st < 0 || jobstate_terminal(st))
		return 0;
	j = jobtab_job_new();
	if (ident_unseal(c->master, row->key_sealed, row->key_sealed_len,
	    j->key) == -1 || store_row_args(row, &j->args) == -1 ||
	    store_row_paths(row, &j->paths) == -1 ||
	    store_row_env(row, &j->env) == -1) {
		log_warnx("job %s: its row does not decode; dropping it",
		    row->id);
		jobtab_job_free(j);
		return 0;
	}
	snprintf(j->id, sizeof(j->id), "%s", row->id);
	snprintf(j->client, sizeof(j->client), "%s", row->client);
	snprintf(j->session, sizeof(j->session), "%s", row->session);
	snprintf(j->binary, sizeof(j->binary), "%s", row->binary);
	snprintf(j->worker, sizeof(j->worker), "%s", row->worker);
	j->state = (enum job_state)st;
	j->detached = row->detached;
	if (row->progress != NULL &&
	    progress_parse(row->progress, &j->progress) != 0)
		progress_init(&j->progress);
	coord_job_log_restore(c, j);
	if (row->cwd != NULL)
		j->cwd = xstrdup(row->cwd);
	if (strcmp(j->binary, "ffmpeg") == 0) {
		ffargs_requirements((int)j->args.n, j->args.v, &j->req);
		hw_types_of(&j->req, &j->hwtypes);
	}
	j->queued_at = j->assigned_at = mono_ms();
	jobtab_add(&c->jobs, j);
	/* Its worker is expected to report back; until it registers it
	 * counts as registering, and times out like any other. */
	if (j->state == JS_PENDING || j->worker[0] == '\0')
		return 0;
	if ((w = registry_find(&c->reg, j->worker)) == NULL)
		w = registry_add(&c->reg, j->worker);
	hold(w, j, 1);
	return 0;
}
