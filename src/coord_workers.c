/*
 * The coordinator's handlers of what workers send: registrations,
 * heartbeats (with their jobs' progress), and the reports of their jobs
 * (started, rejected, finished).  See coord.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord.h"
#include "log.h"
#include "progress.h"
#include "store.h"
#include "util.h"

#define CONFLICT_WARN_MS	30000

/*
 * Two processes claiming one identity: a register from a new session while
 * the current one is alive.  The first keeps it; the other is told so and
 * tries again later (it takes over once the first is gone).
 */
static bool
register_conflict(struct cworker *w, const char *session)
{
	int64_t	now = mono_ms();

	if (w->session[0] == '\0' || strcmp(w->session, session) == 0 ||
	    !worker_state_present(w->state) || w->state == WS_REGISTERING ||
	    now - w->last_seen > registry_stale_after(w))
		return false;
	if (now - w->conflict_warned >= CONFLICT_WARN_MS) {
		w->conflict_warned = now;
		log_warnx("two processes claim worker identity '%s' (sessions "
		    "%s and %s): each worker needs its own identity; keeping "
		    "%s", w->name, w->session, session, w->session);
	}
	return true;
}

void
coord_worker_register(struct coord *c, const struct sender *s,
    const struct msg *req)
{
	struct cworker	*w = registry_find(&c->reg, s->name);
	struct msg	 m;

	if (w == NULL)
		w = registry_add(&c->reg, s->name);
	if (register_conflict(w, req->session)) {
		msg_init(&m, MT_REREGISTER, COORDINATOR_NAME);
		msg_set_str(&m, F_SESSION, req->session);
		msg_set_str(&m, F_REASON, "conflict");
		coord_answer(c, s, req, &m);
		return;
	}
	if (strcmp(w->session, req->session) != 0) {
		log_info("worker %s registered (session %s)", w->name,
		    req->session);
		snprintf(w->session, sizeof(w->session), "%s", req->session);
		w->epoch = w->will_epoch = 0;
	}
	/* The answer first: the worker acts on nothing (such as the cancels
	 * of the reconciliation) before its registration is accepted. */
	msg_init(&m, MT_REGISTERED, COORDINATOR_NAME);
	msg_set_str(&m, F_SESSION, req->session);
	coord_answer(c, s, req, &m);
	registry_update(w, req, mono_ms());
	registry_transition(&c->reg, w, registry_reported_state(w),
	    "registered");
	coord_worker_reconcile(c, w, &req->running, &req->reporting);
	store_worker_seen(c->store, w->name, w->session,
	    worker_state_name(w->state), now_ms());
	coord_dirty(c);
	coord_admin_resend(c, w);
	coord_schedule(c);
}

/* The progress a worker reports of its jobs (job id -> wire text). */
static void
take_progress(struct coord *c, const struct sender *s,
    const struct strmap *progress)
{
	struct cjob	*j;
	struct progress	 p;
	size_t		 i;

	for (i = 0; i < progress->n; i++) {
		j = jobtab_find(&c->jobs, progress->keys[i]);
		if (j == NULL || strcmp(j->worker, s->name) != 0)
			continue;
		if (progress_parse(progress->vals[i], &p) != 0) {
			log_debug("job %s: malformed progress from %s", j->id,
			    s->name);
			continue;
		}
		j->progress = p;
	}
}

void
coord_worker_heartbeat(struct coord *c, const struct sender *s,
    const struct msg *req)
{
	struct cworker	*w = registry_find(&c->reg, s->name);
	struct msg	 m;

	if (w == NULL || strcmp(w->session, req->session) != 0 ||
	    !worker_state_present(w->state) || w->state == WS_REGISTERING) {
		/* Unknown to us, declared lost, or another process: what
		 * was decided meanwhile is settled by its registration. */
		msg_init(&m, MT_REREGISTER, COORDINATOR_NAME);
		msg_set_str(&m, F_SESSION, req->session);
		if (w != NULL && w->state == WS_LOST &&
		    strcmp(w->session, req->session) == 0)
			msg_set_str(&m, F_REASON, "lost");
		coord_answer(c, s, req, &m);
		return;
	}
	registry_update(w, req, mono_ms());
	take_progress(c, s, &req->progress);
	registry_transition(&c->reg, w, registry_reported_state(w),
	    w->state == WS_STALE ? "heartbeating again" : w->reports_draining ?
	    "it reports draining" : "it takes jobs again");
	coord_worker_strays(c, w, &req->running);
	coord_admin_resend(c, w);
	msg_init(&m, MT_ACK, COORDINATOR_NAME);
	coord_answer(c, s, req, &m);
	coord_schedule(c);
}

/* The job a worker reports on, if it is that worker's. */
static struct cjob *
worker_job(struct coord *c, const struct sender *s, const char *id)
{
	struct cjob	*j = jobtab_find(&c->jobs, id);

	if (j == NULL || strcmp(j->worker, s->name) != 0)
		return NULL;
	return j;
}

static void
ack(struct coord *c, const struct sender *s, const struct msg *req)
{
	struct msg	m;

	msg_init(&m, MT_ACK, COORDINATOR_NAME);
	msg_set_str(&m, F_JOB, req->job);
	coord_answer(c, s, req, &m);
}

void
coord_report_started(struct coord *c, const struct sender *s,
    const struct msg *req)
{
	struct cjob	*j = worker_job(c, s, req->job);
	struct msg	 m;

	if (j != NULL && j->state == JS_ASSIGNED) {
		coord_job_transition(c, j, JS_RUNNING, NULL);
		msg_clear(&j->assign);
		j->assigning = false;
	} else if (j == NULL) {
		/* It was taken back (assign timeout, stale worker) or has
		 * ended: this copy must not run. */
		log_warnx("job %s started on %s, which no longer has it; "
		    "canceling that copy", req->job, s->name);
		msg_init(&m, MT_CANCEL, COORDINATOR_NAME);
		msg_set_str(&m, F_JOB, req->job);
		coord_to_worker(c, s->name, &m);
	}
	ack(c, s, req);
}

void
coord_report_rejected(struct coord *c, const struct sender *s,
    const struct msg *req)
{
	struct cjob	*j = worker_job(c, s, req->job);
	char		 text[512];

	if (j != NULL && j->state == JS_ASSIGNED &&
	    strcmp(req->reason, "draining") == 0) {
		struct cworker *w = registry_find(&c->reg, s->name);

		if (w != NULL) {
			w->reports_draining = true;
			registry_transition(&c->reg, w, WS_DRAINING,
			    "it reports draining");
		}
		coord_job_transition(c, j, JS_PENDING, "the worker is "
		    "draining");
	} else if (j != NULL && j->state == JS_ASSIGNED) {
		snprintf(text, sizeof(text), "worker %s cannot run the job: "
		    "%s", s->name, req->present & FBIT(F_TEXT) ? req->text :
		    req->reason);
		coord_job_fail(c, j, req->reason, text);
	} else if (j != NULL && j->state == JS_CANCELING)
		coord_job_end(c, j, JS_CANCELED, "rejected by the worker");
	ack(c, s, req);
	coord_schedule(c);
}

/* What a job's end report says beyond its status: bytes, the last
 * progress, the rest of its log. */
static void
finished_record(struct coord *c, const char *id, const struct msg *req)
{
	const char	*prog = strmap_get(&req->progress, id);
	const char	*rest = req->present & FBIT(F_TEXT) ? req->text : NULL;
	struct progress	 p;

	if (prog != NULL && progress_parse(prog, &p) != 0)
		prog = NULL;
	if (rest != NULL && strlen(rest) > JOBLOG_REST_MAX) {
		/* Not what a worker sends: not kept. */
		log_debug("job %s: a rest of its log of %zu bytes; dropped",
		    id, strlen(rest));
		rest = NULL;
	}
	store_job_set_end(c->store, id,
	    req->present & FBIT(F_BYTES_IN) ? req->bytes_in : 0,
	    req->present & FBIT(F_BYTES_OUT) ? req->bytes_out : 0, prog,
	    rest, req->present & FBIT(F_SEQ) && req->seq >= 0 ? req->seq : 0,
	    req->present & FBIT(F_SKIPPED) ? req->skipped : 0);
}

/* The end report of a job that ended without it (its worker was taken
 * for lost, say): its log and counts are still worth keeping. */
static void
finished_late(struct coord *c, const struct sender *s,
    const struct msg *req)
{
	struct job_row	row;

	memset(&row, 0, sizeof(row));
	if (name_valid(req->job, ID_LEN) &&
	    store_job_get(c->store, req->job, &row) == 0 &&
	    strcmp(row.worker, s->name) == 0 && row.log_chunks < 0)
		finished_record(c, req->job, req);
	store_job_clear(&row);
}

void
coord_report_finished(struct coord *c, const struct sender *s,
    const struct msg *req)
{
	struct cjob	*j = worker_job(c, s, req->job);
	struct msg	 m;
	char		 reason[64];

	if (j == NULL) {
		finished_late(c, s, req);
		ack(c, s, req);
		return;
	}
	store_job_set_exit(c->store, j->id, (int)req->code, (int)req->signal);
	finished_record(c, j->id, req);
	if (req->signal != 0)
		snprintf(reason, sizeof(reason), "killed by signal %lld",
		    (long long)req->signal);
	else
		snprintf(reason, sizeof(reason), "exited with code %lld",
		    (long long)req->code);
	if (j->state == JS_ASSIGNED)
		coord_job_transition(c, j, JS_RUNNING, "finished before "
		    "started");
	if (j->state == JS_CANCELING)
		coord_job_transition(c, j, JS_CANCELED, reason);
	else
		coord_job_transition(c, j, req->code == 0 && req->signal == 0 ?
		    JS_COMPLETED : JS_FAILED, reason);
	msg_init(&m, MT_FINISHED, COORDINATOR_NAME);
	msg_set_str(&m, F_JOB, j->id);
	msg_set_int(&m, F_CODE, req->code);
	msg_set_int(&m, F_SIGNAL, req->signal);
	coord_to_client(c, j, &m);
	jobtab_forget(&c->jobs, j);
	ack(c, s, req);
	coord_schedule(c);
}
