/*
 * dffmpeg coordinator: the worker registry, the job queue and scheduler,
 * and the job state kept in SQLite.
 *
 * Every uplink message arrives on P/coord/<sender>, is verified with the
 * sender's key and role (msg_decode), checked against the replay cache and
 * dispatched through the handler table.  Answers go to the sender's
 * downlink and are remembered with the request id, so a repeated request
 * gets the same answer without being acted on twice.  The coordinator is
 * not on the data path: it hands out job keys and watches job states.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <sodium.h>

#include "applet.h"
#include "bounds.h"
#include "caps.h"
#include "daemon.h"
#include "ffargs.h"
#include "hmap.h"
#include "ident.h"
#include "jobstate.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "msg.h"
#include "settings.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define TICK_MS			250
#define ASSIGN_RESEND_MS	1000
#define WORKER_TIMEOUT_FACTOR	3	/* heartbeats missed: gone */
#define WORKER_TIMEOUT_SLACK_MS	2000
#define PURGE_INTERVAL_MS	(3600 * 1000)
#define AUTH_WARN_INTERVAL_MS	10000
/* After a restart, workers get this long to register before a job that
 * no registered worker can run is refused rather than queued. */
#define STARTUP_GRACE_MS	(3 * HEARTBEAT_DEFAULT * 1000)

struct cworker {
	char		 name[NAME_MAX_LEN + 1];
	char		 session[SESSION_BUF];
	bool		 online;
	bool		 registered;	/* has registered with this process */
	bool		 stale;		/* missed its heartbeats */
	bool		 drain_wanted;	/* an admin drained it */
	bool		 draining;
	struct strmap	 binaries;	/* name -> "ok" | "missing" */
	struct strmap	 health;	/* variable -> "ok" | reason */
	int		 max_jobs;	/* 0: unlimited */
	int		 weight;
	int		 active;
	int64_t		 last_assign;	/* mono ms */
	int64_t		 last_seen;	/* mono ms */
	int64_t		 interval;	/* its heartbeat period, ms */
	struct caps	 caps;		/* of its ffmpeg, as reported */
	bool		 caps_known;
};

struct cjob {
	char		 id[ID_BUF];
	char		 client[NAME_MAX_LEN + 1];
	char		 session[SESSION_BUF];
	char		 binary[NAME_MAX_LEN + 1];
	struct strv	 args;
	char		*cwd;
	struct strmap	 env;
	struct strv	 paths;
	struct ffreq	 req;		/* what it needs of a worker's ffmpeg */
	enum job_state	 state;
	char		 worker[NAME_MAX_LEN + 1];
	uint8_t		 key[KEY_LEN];
	int64_t		 queued_at;	/* mono ms */
	int64_t		 assigned_at;
	int64_t		 assign_sent;
	struct msg	 assign;	/* re-sent until started/rejected */
	bool		 assigning;
	int64_t		 cancel_sent;	/* mono ms; re-sent while canceling */
};

struct coord;
struct sender {
	const char	*name;
	int		 role;
	uint8_t		 key[KEY_LEN];
};

typedef void (*handler_fn)(struct coord *, const struct sender *,
    const struct msg *);

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

	struct cworker		**workers;
	size_t			 nworkers;
	struct hmap		 worker_names;	/* name -> struct cworker */
	struct cjob		**jobs;		/* not yet terminal, oldest first */
	size_t			 njobs;
	struct hmap		 job_ids;	/* id -> struct cjob */
	size_t			 npending;	/* jobs in the queue */

	struct event		*ev_tick;
	struct event		*ev_commit;	/* ends the open transaction */
	bool			 in_tx;
	struct event		*ev_sig[3];
	int64_t			 started;	/* mono ms */
	int64_t			 last_purge;
	int64_t			 last_auth_warn;
	uint64_t		 dropped[ME__COUNT];
	uint64_t		 received;
};

static void	coord_schedule(struct coord *);
static int	job_transition(struct coord *, struct cjob *, enum job_state,
		    const char *);

/* ---- the store ---- */

/*
 * Group commit for the messages of one loop iteration: the first message
 * opens a transaction and the commit runs once the iteration's callbacks
 * are done.  Answers published from a message handler are only queued
 * (libmosquitto is inside its read callback) and reach the socket on a
 * later turn of the loop, after the commit.  One transaction per burst of
 * messages instead of one per statement, each with its file locks and its
 * share of WAL checkpoints.  Timer work (coord_tick) publishes at once, so
 * it runs outside the group: each of its writes commits before the
 * message that follows it goes out.
 */
static void
coord_tx(struct coord *c)
{
	if (c->in_tx)
		return;
	if (store_begin(c->store) != 0)
		return;
	c->in_tx = true;
	event_active(c->ev_commit, EV_TIMEOUT, 0);
}

static void
coord_commit(evutil_socket_t fd, short what, void *arg)
{
	struct coord	*c = arg;

	(void)fd;
	(void)what;
	if (!c->in_tx)
		return;
	c->in_tx = false;
	if (store_commit(c->store) != 0) {
		log_warnx("the store did not commit; rolling back");
		store_rollback(c->store);
	}
}

/* ---- lookup ---- */

static struct cworker *
worker_find(struct coord *c, const char *name)
{
	return hmap_get(&c->worker_names, name);
}

static struct cjob *
job_find(struct coord *c, const char *id)
{
	return hmap_get(&c->job_ids, id);
}

/* Keep j (new or restored) among the unfinished jobs, in FIFO order. */
static void
job_add(struct coord *c, struct cjob *j)
{
	c->jobs = xreallocarray(c->jobs, c->njobs + 1, sizeof(*c->jobs));
	c->jobs[c->njobs++] = j;
	hmap_put(&c->job_ids, j->id, j);
	if (j->state == JS_PENDING)
		c->npending++;
}

static void
job_free(struct cjob *j)
{
	strv_free(&j->args);
	strv_free(&j->paths);
	strmap_free(&j->env);
	ffreq_free(&j->req);
	free(j->cwd);
	msg_clear(&j->assign);
	sodium_memzero(j->key, sizeof(j->key));
	free(j);
}

static void
job_forget(struct coord *c, struct cjob *j)
{
	size_t	i;

	hmap_del(&c->job_ids, j->id);
	if (j->state == JS_PENDING)
		c->npending--;
	for (i = 0; i < c->njobs; i++) {
		if (c->jobs[i] == j) {
			memmove(&c->jobs[i], &c->jobs[i + 1],
			    (c->njobs - i - 1) * sizeof(*c->jobs));
			c->njobs--;
			break;
		}
	}
	job_free(j);
}

/* Move j to a terminal state and forget it (the store keeps it). */
static void
job_end(struct coord *c, struct cjob *j, enum job_state to, const char *why)
{
	job_transition(c, j, to, why);
	job_forget(c, j);
}

/* ---- sending ---- */

/* Sign m for topic with key and publish it; returns the payload (owned)
 * so that it can be remembered as an answer, or NULL. */
static char *
coord_publish(struct coord *c, const char *topic, const uint8_t *key,
    struct msg *m, size_t *lenp)
{
	char	*payload;

	payload = msg_encode(m, topic, key, lenp);
	if (payload == NULL) {
		log_warnx("cannot encode a %s message", msg_type_name(m->type));
		return NULL;
	}
	if (mqtt_publish(c->mqtt, topic, payload, *lenp) == -1)
		log_debug("%s to %s not sent now (not connected)",
		    msg_type_name(m->type), topic);
	return payload;
}

static int
downlink_topic(struct coord *c, char *buf, size_t len, int role,
    const char *name, const char *session)
{
	if (role == ROLE_WORKER)
		return topic_fmt(buf, len, c->prefix, "worker/%s", name);
	if (session == NULL || !name_valid(session, ID_LEN))
		return -1;
	return topic_fmt(buf, len, c->prefix, "client/%s/%s", name, session);
}

/* Answer request req of sender with m (cleared here) and remember it. */
static void
coord_answer(struct coord *c, const struct sender *s, const struct msg *req,
    struct msg *m)
{
	char	 topic[256], *payload;
	size_t	 len;

	if (downlink_topic(c, topic, sizeof(topic), s->role, s->name,
	    req->session) == -1) {
		msg_clear(m);
		return;
	}
	if (!(m->present & FBIT(F_REF)) &&
	    (msg_types[m->type].required | msg_types[m->type].optional) &
	    FBIT(F_REF))
		msg_set_str(m, F_REF, req->id);
	payload = coord_publish(c, topic, s->key, m, &len);
	if (payload != NULL) {
		replay_answer(c->replay, req->id, topic, payload, len);
		free(payload);
	}
	msg_clear(m);
}

/* Send m (cleared here) to the client process that submitted j. */
static void
coord_to_client(struct coord *c, const struct cjob *j, struct msg *m)
{
	uint8_t	 key[KEY_LEN];
	char	 topic[256], *payload;
	size_t	 len;
	int	 role;

	if (keyring_lookup(c->keyring, j->client, key, &role) == -1 ||
	    downlink_topic(c, topic, sizeof(topic), ROLE_CLIENT, j->client,
	    j->session) == -1) {
		msg_clear(m);
		return;
	}
	payload = coord_publish(c, topic, key, m, &len);
	free(payload);
	sodium_memzero(key, sizeof(key));
	msg_clear(m);
}

/* Sign m for worker, stamped now, and publish it (m is kept). */
static void
coord_send_worker(struct coord *c, const char *worker, struct msg *m)
{
	uint8_t	 key[KEY_LEN];
	char	 topic[256], *payload;
	size_t	 len;
	int	 role;

	if (keyring_lookup(c->keyring, worker, key, &role) == -1 ||
	    downlink_topic(c, topic, sizeof(topic), ROLE_WORKER, worker,
	    NULL) == -1)
		return;
	m->ts = now_ms();
	payload = coord_publish(c, topic, key, m, &len);
	free(payload);
	sodium_memzero(key, sizeof(key));
}

static void
coord_to_worker(struct coord *c, const char *worker, struct msg *m)
{
	coord_send_worker(c, worker, m);
	msg_clear(m);
}

/* ---- job state ---- */

/*
 * The one place a job changes state: checks the edge against the graph,
 * records it in the store, and keeps the in-memory view and the worker's
 * slot count right.  Returns -1 (and changes nothing) for an illegal edge.
 */
static int
job_transition(struct coord *c, struct cjob *j, enum job_state to,
    const char *reason)
{
	struct cworker	*w;
	enum job_state	 from = j->state;
	bool		 held, holds;

	if (!jobstate_allowed(from, to)) {
		log_debug("job %s: ignored %s -> %s", j->id,
		    jobstate_name(from), jobstate_name(to));
		return -1;
	}
	if (store_job_transition(c->store, j->id, jobstate_name(from),
	    jobstate_name(to), to == JS_PENDING ? "" : j->worker, reason,
	    now_ms()) == -1)
		log_warnx("job %s: the store did not record %s -> %s", j->id,
		    jobstate_name(from), jobstate_name(to));
	log_info("job %s: %s -> %s%s%s", j->id, jobstate_name(from),
	    jobstate_name(to), reason != NULL ? ": " : "",
	    reason != NULL ? reason : "");
	held = from == JS_ASSIGNED || from == JS_RUNNING ||
	    from == JS_CANCELING;
	holds = to == JS_ASSIGNED || to == JS_RUNNING || to == JS_CANCELING;
	if (held && !holds && (w = worker_find(c, j->worker)) != NULL &&
	    w->active > 0)
		w->active--;
	if (from == JS_PENDING)
		c->npending--;
	if (to == JS_PENDING)
		c->npending++;
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
	return 0;
}

/* Tell the client its job cannot run, and finish it. */
static void
job_fail(struct coord *c, struct cjob *j, const char *reason,
    const char *text)
{
	struct msg	m;

	if (job_transition(c, j, JS_FAILED, text) == -1)
		return;
	msg_init(&m, MT_FAILED, COORDINATOR_NAME);
	msg_set_str(&m, F_JOB, j->id);
	msg_set_str(&m, F_REASON, reason);
	msg_set_str(&m, F_TEXT, text);
	coord_to_client(c, j, &m);
	job_forget(c, j);
}

/* ---- scheduling ---- */

/* Could worker w run job j, ignoring its current load? If not, why. */
static bool
worker_can_run(const struct cworker *w, const struct cjob *j, char *why,
    size_t whylen)
{
	const char	*v;
	size_t		 i;

	v = strmap_get(&w->binaries, j->binary);
	if (v == NULL || strcmp(v, "ok") != 0) {
		snprintf(why, whylen, "binary '%s'", j->binary);
		return false;
	}
	for (i = 0; i < j->paths.n; i++) {
		v = strmap_get(&w->health, j->paths.v[i]);
		if (v == NULL || strcmp(v, "ok") != 0) {
			snprintf(why, whylen, "%spath variable '%s'",
			    v == NULL ? "" : "a healthy ", j->paths.v[i]);
			return false;
		}
	}
	if (strcmp(j->binary, "ffmpeg") == 0) {
		if (!w->caps_known) {
			if (ffreq_empty(&j->req))
				return true;
			snprintf(why, whylen, "known ffmpeg capabilities");
			return false;
		}
		if (caps_missing(&w->caps, &j->req, why, whylen) != NULL)
			return false;
	}
	return true;
}

/* The least loaded online worker with a free slot that can run j. */
static struct cworker *
pick_worker(struct coord *c, const struct cjob *j)
{
	struct cworker	*best = NULL, *w;
	char		 why[128];
	size_t		 i;

	for (i = 0; i < c->nworkers; i++) {
		w = c->workers[i];
		if (!w->online || !w->registered || w->stale || w->draining)
			continue;
		if (w->max_jobs > 0 && w->active >= w->max_jobs)
			continue;
		if (!worker_can_run(w, j, why, sizeof(why)))
			continue;
		if (best == NULL ||
		    (int64_t)w->active * best->weight <
		    (int64_t)best->active * w->weight ||
		    ((int64_t)w->active * best->weight ==
		    (int64_t)best->active * w->weight &&
		    w->last_assign < best->last_assign))
			best = w;
	}
	return best;
}

/*
 * Could any registered worker ever run j?  If none is registered at all,
 * the answer is yes just after a start-up (workers are coming back) and
 * no afterwards; otherwise why names what the registered workers lack.
 * Draining workers count: they may be resumed.
 */
static bool
could_ever_run(struct coord *c, const struct cjob *j, char *why,
    size_t whylen)
{
	char	need[128];
	size_t	i;
	bool	any = false;

	snprintf(why, whylen, "no worker is registered");
	for (i = 0; i < c->nworkers; i++) {
		if (!c->workers[i]->online || !c->workers[i]->registered)
			continue;
		any = true;
		if (worker_can_run(c->workers[i], j, need, sizeof(need)))
			return true;
		snprintf(why, whylen, "no registered worker has %s", need);
	}
	return !any && mono_ms() - c->started < STARTUP_GRACE_MS;
}

/* (Re-)send the assignment: same id, signed afresh (see outbox.h). */
static void
job_send_assign(struct coord *c, struct cjob *j)
{
	if (!j->assigning)
		return;
	j->assign_sent = mono_ms();
	coord_send_worker(c, j->worker, &j->assign);
}

static void
job_send_accepted(struct coord *c, struct cjob *j)
{
	uint8_t		 ckey[KEY_LEN];
	struct msg	 m;
	char		*sealed;
	int		 role;

	if (keyring_lookup(c->keyring, j->client, ckey, &role) == -1)
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

/* Reserve w for j, send the assignment and tell the client. */
static void
job_place(struct coord *c, struct cjob *j, struct cworker *w)
{
	uint8_t		 wkey[KEY_LEN];
	struct msg	*m = &j->assign;
	char		*sealed;
	int		 role;

	if (keyring_lookup(c->keyring, w->name, wkey, &role) == -1)
		return;
	snprintf(j->worker, sizeof(j->worker), "%s", w->name);
	if (job_transition(c, j, JS_ASSIGNED, NULL) == -1) {
		sodium_memzero(wkey, sizeof(wkey));
		return;
	}
	w->active++;
	w->last_assign = mono_ms();
	j->assigned_at = mono_ms();

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
	free(sealed);
	j->assigning = true;
	job_send_assign(c, j);
	job_send_accepted(c, j);
}

/* Place every pending job that has a worker now, oldest first. */
static void
coord_schedule(struct coord *c)
{
	struct cworker	*w;
	size_t		 i;

	/* Called after every change that may free a slot: cheap when the
	 * queue is empty, which is the common case. */
	for (i = 0; i < c->njobs && c->npending > 0; i++) {
		if (c->jobs[i]->state != JS_PENDING)
			continue;
		if ((w = pick_worker(c, c->jobs[i])) != NULL)
			job_place(c, c->jobs[i], w);
	}
}

/* ---- handlers: clients ---- */

static bool
binary_allowed(struct coord *c, const char *binary)
{
	return strv_contains(&c->conf.allowed_binaries, binary);
}

/* Answer a submit for a job we already know (a re-sent submit). */
static void
submit_again(struct coord *c, const struct sender *s, const struct msg *req,
    struct cjob *j)
{
	struct msg	m;

	if (j->state == JS_PENDING) {
		msg_init(&m, MT_QUEUED, COORDINATOR_NAME);
		msg_set_str(&m, F_JOB, j->id);
		coord_answer(c, s, req, &m);
		return;
	}
	/* The session may be new if the client reconnected. */
	snprintf(j->session, sizeof(j->session), "%s", req->session);
	job_send_accepted(c, j);
}

static void
submit_finished(struct coord *c, const struct sender *s,
    const struct msg *req, const struct job_row *row)
{
	struct msg	m;

	/* The job ended while this client heard nothing: say how. */
	if (strcmp(row->state, "completed") == 0) {
		msg_init(&m, MT_FINISHED, COORDINATOR_NAME);
		msg_set_str(&m, F_JOB, row->id);
		msg_set_int(&m, F_CODE, row->exit_code);
		msg_set_int(&m, F_SIGNAL, row->exit_signal);
	} else {
		msg_init(&m, MT_FAILED, COORDINATOR_NAME);
		msg_set_str(&m, F_JOB, row->id);
		msg_set_str(&m, F_REASON, row->state);
		msg_set_str(&m, F_TEXT, row->reason != NULL ? row->reason :
		    row->state);
	}
	coord_answer(c, s, req, &m);
}

static void
refuse(struct coord *c, const struct sender *s, const struct msg *req,
    const char *reason, const char *text)
{
	struct msg	m;

	log_info("job %s from %s refused: %s", req->job, s->name, text);
	msg_init(&m, MT_REFUSED, COORDINATOR_NAME);
	msg_set_str(&m, F_JOB, req->job);
	msg_set_str(&m, F_REASON, reason);
	msg_set_str(&m, F_TEXT, text);
	coord_answer(c, s, req, &m);
}

static char *
json_strv(const struct strv *v)
{
	cJSON	*a = cJSON_CreateArray();
	char	*out;
	size_t	 i;

	for (i = 0; i < v->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v->v[i]));
	out = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	return out;
}

static char *
json_strmap(const struct strmap *m)
{
	cJSON	*o = cJSON_CreateObject();
	char	*out;
	size_t	 i;

	for (i = 0; i < m->n; i++)
		cJSON_AddStringToObject(o, m->keys[i], m->vals[i]);
	out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}

static void
handle_submit(struct coord *c, const struct sender *s, const struct msg *req)
{
	struct job_row	 row;
	struct cjob	*j;
	struct cworker	*w;
	struct msg	 m;
	char		 why[160], text[256];
	size_t		 i;
	int		 rc;

	if (!name_valid(req->job, ID_LEN) || !name_valid(req->session, ID_LEN)) {
		log_debug("submit from %s: malformed job or session id",
		    s->name);
		return;
	}
	if ((j = job_find(c, req->job)) != NULL) {
		if (strcmp(j->client, s->name) != 0)
			refuse(c, s, req, "conflict", "job id already in use");
		else
			submit_again(c, s, req, j);
		return;
	}
	memset(&row, 0, sizeof(row));
	rc = store_job_get(c->store, req->job, &row);
	if (rc == 0) {
		if (strcmp(row.client, s->name) != 0)
			refuse(c, s, req, "conflict", "job id already in use");
		else
			submit_finished(c, s, req, &row);
		store_job_clear(&row);
		return;
	}
	if (!binary_allowed(c, req->binary)) {
		snprintf(text, sizeof(text), "binary '%s' is not allowed by "
		    "the coordinator", req->binary);
		refuse(c, s, req, "binary", text);
		return;
	}
	for (i = 0; i < req->paths.n; i++) {
		if (!name_valid(req->paths.v[i], NAME_MAX_LEN)) {
			refuse(c, s, req, "path", "malformed path variable");
			return;
		}
	}

	j = xcalloc(1, sizeof(*j));
	snprintf(j->id, sizeof(j->id), "%s", req->job);
	snprintf(j->client, sizeof(j->client), "%s", s->name);
	snprintf(j->session, sizeof(j->session), "%s", req->session);
	snprintf(j->binary, sizeof(j->binary), "%s", req->binary);
	for (i = 0; i < req->args.n; i++)
		strv_push(&j->args, req->args.v[i]);
	for (i = 0; i < req->paths.n; i++)
		strv_push(&j->paths, req->paths.v[i]);
	for (i = 0; i < req->env.n; i++)
		strmap_set(&j->env, req->env.keys[i], req->env.vals[i]);
	if (req->cwd != NULL)
		j->cwd = xstrdup(req->cwd);
	if (strcmp(j->binary, "ffmpeg") == 0)
		ffargs_requirements((int)j->args.n, j->args.v, &j->req);
	j->state = JS_PENDING;
	j->queued_at = mono_ms();
	randombytes_buf(j->key, sizeof(j->key));

	snprintf(row.id, sizeof(row.id), "%s", j->id);
	snprintf(row.client, sizeof(row.client), "%s", j->client);
	snprintf(row.session, sizeof(row.session), "%s", j->session);
	snprintf(row.binary, sizeof(row.binary), "%s", j->binary);
	row.args = json_strv(&j->args);
	row.cwd = j->cwd != NULL ? xstrdup(j->cwd) : NULL;
	row.env = json_strmap(&j->env);
	row.paths = json_strv(&j->paths);
	snprintf(row.state, sizeof(row.state), "%s", "pending");
	row.key_sealed_len = ident_seal(c->master, j->key, row.key_sealed);
	row.created = row.updated = now_ms();
	rc = store_job_insert(c->store, &row);
	store_job_clear(&row);
	if (rc != 0) {
		job_free(j);
		refuse(c, s, req, "store", "the coordinator cannot store the "
		    "job");
		return;
	}
	job_add(c, j);
	log_info("job %s: submitted by %s (%s, %zu arguments)", j->id,
	    s->name, j->binary, j->args.n);

	if ((w = pick_worker(c, j)) != NULL) {
		job_place(c, j, w);
		/* accepted was sent by job_place; remember it as the
		 * answer by re-sending it for a repeated request. */
		return;
	}
	if (!could_ever_run(c, j, why, sizeof(why))) {
		refuse(c, s, req, "unavailable", why);
		job_end(c, j, JS_FAILED, why);
		return;
	}
	msg_init(&m, MT_QUEUED, COORDINATOR_NAME);
	msg_set_str(&m, F_JOB, j->id);
	msg_set_int(&m, F_POSITION, (int64_t)c->npending);
	coord_answer(c, s, req, &m);
}

/* Tell the worker of j to stop it; re-sent by the janitor while the job
 * is canceling (the worker acts on the first copy it gets). */
static void
job_send_cancel(struct coord *c, struct cjob *j)
{
	struct msg	m;

	j->cancel_sent = mono_ms();
	msg_init(&m, MT_CANCEL, COORDINATOR_NAME);
	msg_set_str(&m, F_JOB, j->id);
	coord_to_worker(c, j->worker, &m);
}

/* Cancel a job on behalf of its client or an admin. */
static void
job_cancel(struct coord *c, struct cjob *j, const char *why)
{
	switch (j->state) {
	case JS_PENDING:
		job_end(c, j, JS_CANCELED, why);
		break;
	case JS_ASSIGNED:
	case JS_RUNNING:
		if (job_transition(c, j, JS_CANCELING, why) == -1)
			break;
		job_send_cancel(c, j);
		break;
	default:
		break;
	}
}

static void
handle_cancel(struct coord *c, const struct sender *s, const struct msg *req)
{
	struct cjob	*j = job_find(c, req->job);
	struct msg	 m;

	if (j != NULL && (s->role == ROLE_ADMIN ||
	    strcmp(j->client, s->name) == 0))
		job_cancel(c, j, s->role == ROLE_ADMIN ? "canceled by an "
		    "administrator" : "canceled by the client");
	msg_init(&m, MT_ACK, COORDINATOR_NAME);
	msg_set_str(&m, F_JOB, req->job);
	coord_answer(c, s, req, &m);
}

static void
client_gone(struct coord *c, const struct sender *s, const char *session)
{
	size_t	i = 0, n;

	while (i < c->njobs) {
		struct cjob *j = c->jobs[i];

		n = c->njobs;
		if (strcmp(j->client, s->name) == 0 &&
		    strcmp(j->session, session) == 0) {
			log_info("job %s: client %s went away", j->id,
			    s->name);
			job_cancel(c, j, "the client went away");
		}
		if (c->njobs == n)
			i++;
	}
}

/* ---- handlers: workers ---- */

/* A worker is gone: re-queue what it had not started, fail what it ran. */
static void
worker_lost(struct coord *c, struct cworker *w, const char *why)
{
	char	text[256];
	size_t	i = 0, n;

	if (!w->online)
		return;
	if (strcmp(why, "it said goodbye") == 0)
		log_info("worker %s is gone: %s", w->name, why);
	else
		log_warnx("worker %s is gone: %s", w->name, why);
	w->online = false;
	snprintf(text, sizeof(text), "worker %s went away while running the "
	    "job", w->name);
	while (i < c->njobs) {
		struct cjob *j = c->jobs[i];

		n = c->njobs;
		if (strcmp(j->worker, w->name) == 0) {
			if (j->state == JS_ASSIGNED)
				job_transition(c, j, JS_PENDING, why);
			else if (j->state == JS_RUNNING)
				job_fail(c, j, "worker-lost", text);
			else if (j->state == JS_CANCELING)
				job_end(c, j, JS_CANCELED, why);
		}
		if (c->njobs == n)
			i++;
	}
	w->active = 0;
	coord_schedule(c);
}

/*
 * A registered worker stopped heartbeating but its connection is alive
 * (its will has not fired): place nothing more there and re-queue what it
 * has not started, but leave its running jobs alone.  If it is really
 * gone, its will follows (the broker's keepalive); its next heartbeat
 * makes it a candidate again.
 */
static void
worker_stale(struct coord *c, struct cworker *w)
{
	size_t	i;

	log_warnx("worker %s stopped heartbeating; placing nothing there "
	    "until it does again", w->name);
	w->stale = true;
	for (i = 0; i < c->njobs; i++) {
		struct cjob *j = c->jobs[i];

		if (strcmp(j->worker, w->name) == 0 && j->state == JS_ASSIGNED)
			job_transition(c, j, JS_PENDING, "the worker stopped "
			    "heartbeating");
	}
	coord_schedule(c);
}

static void
worker_update(struct cworker *w, const struct msg *m)
{
	size_t	i;

	if (m->present & FBIT(F_BINARIES)) {
		strmap_free(&w->binaries);
		for (i = 0; i < m->binaries.n; i++)
			strmap_set(&w->binaries, m->binaries.keys[i],
			    m->binaries.vals[i]);
	}
	if (m->present & FBIT(F_PATH_HEALTH)) {
		strmap_free(&w->health);
		for (i = 0; i < m->path_health.n; i++)
			strmap_set(&w->health, m->path_health.keys[i],
			    m->path_health.vals[i]);
	}
	if (m->present & FBIT(F_MAX_JOBS))
		w->max_jobs = m->max_jobs < 0 || m->max_jobs > INT_MAX ? 0 :
		    (int)m->max_jobs;
	if (m->present & FBIT(F_WEIGHT))
		w->weight = m->weight < 1 || m->weight > 1000 ? 1 :
		    (int)m->weight;
	if (m->present & FBIT(F_STATUS))
		w->draining = strcmp(m->status, "draining") == 0;
	if (m->present & FBIT(F_ENCODERS)) {
		caps_free(&w->caps);
		caps_set(&w->caps, CAPS_ENCODERS, &m->encoders);
		caps_set(&w->caps, CAPS_DECODERS, &m->decoders);
		caps_set(&w->caps, CAPS_HWACCELS, &m->hwaccels);
		caps_set(&w->caps, CAPS_FILTERS, &m->filters);
		w->caps_known = true;
	} else if (m->type == MT_REGISTER) {
		caps_free(&w->caps);
		w->caps_known = false;
	}
	if (m->present & FBIT(F_INTERVAL) && m->interval >= 100 &&
	    m->interval <= 3600 * 1000)
		w->interval = m->interval;
	w->last_seen = mono_ms();
}

/* Make our view of w's jobs agree with the list it reports running. */
static void
worker_reconcile(struct coord *c, struct cworker *w, const struct strv *running)
{
	struct cjob	*j;
	struct msg	 m;
	size_t		 i = 0, n;

	for (i = 0; i < running->n; i++) {
		j = job_find(c, running->v[i]);
		if (j == NULL || strcmp(j->worker, w->name) != 0) {
			log_warnx("worker %s runs job %s which is not its "
			    "own; canceling it", w->name, running->v[i]);
			msg_init(&m, MT_CANCEL, COORDINATOR_NAME);
			msg_set_str(&m, F_JOB, running->v[i]);
			coord_to_worker(c, w->name, &m);
		}
	}
	w->active = 0;
	i = 0;
	while (i < c->njobs) {
		j = c->jobs[i];
		n = c->njobs;
		if (strcmp(j->worker, w->name) == 0) {
			if (j->state == JS_RUNNING &&
			    !strv_contains(running, j->id))
				job_fail(c, j, "worker-lost", "the worker no "
				    "longer runs the job");
			else if (j->state == JS_CANCELING &&
			    !strv_contains(running, j->id)) {
				job_end(c, j, JS_CANCELED,
				    "the worker no longer runs the job");
			} else
				w->active++;
		}
		if (c->njobs == n)
			i++;
	}
}

static struct cworker *
worker_add(struct coord *c, const char *name)
{
	struct cworker	*w = xcalloc(1, sizeof(*w));

	snprintf(w->name, sizeof(w->name), "%s", name);
	w->weight = 1;
	w->interval = HEARTBEAT_DEFAULT * 1000;
	w->last_seen = mono_ms();
	c->workers = xreallocarray(c->workers, c->nworkers + 1,
	    sizeof(*c->workers));
	c->workers[c->nworkers++] = w;
	hmap_put(&c->worker_names, w->name, w);
	return w;
}

static void
handle_register(struct coord *c, const struct sender *s, const struct msg *req)
{
	struct cworker	*w = worker_find(c, s->name);
	struct msg	 m;

	if (w == NULL)
		w = worker_add(c, s->name);
	if (strcmp(w->session, req->session) != 0)
		log_info("worker %s registered (session %s)", w->name,
		    req->session);
	snprintf(w->session, sizeof(w->session), "%s", req->session);
	w->online = true;
	w->registered = true;
	w->stale = false;
	worker_update(w, req);
	worker_reconcile(c, w, &req->running);
	store_worker_seen(c->store, w->name, w->session,
	    w->draining ? "draining" : "online", now_ms());
	msg_init(&m, MT_REGISTERED, COORDINATOR_NAME);
	msg_set_str(&m, F_SESSION, w->session);
	coord_answer(c, s, req, &m);
	coord_schedule(c);
}

static void
handle_heartbeat(struct coord *c, const struct sender *s,
    const struct msg *req)
{
	struct cworker	*w = worker_find(c, s->name);
	struct msg	 m;

	if (w == NULL || !w->online || strcmp(w->session, req->session) != 0) {
		msg_init(&m, MT_REREGISTER, COORDINATOR_NAME);
		msg_set_str(&m, F_SESSION, req->session);
		coord_answer(c, s, req, &m);
		return;
	}
	if (w->stale)
		log_info("worker %s is heartbeating again", w->name);
	w->stale = false;
	worker_update(w, req);
	if (w->drain_wanted && !w->draining) {
		/* Our drain was lost: say it again. */
		w->draining = true;
		msg_init(&m, MT_DRAIN, COORDINATOR_NAME);
		msg_set_str(&m, F_STATUS, "draining");
		msg_set_str(&m, F_REASON, "drained by an administrator");
		coord_to_worker(c, w->name, &m);
	}
	msg_init(&m, MT_ACK, COORDINATOR_NAME);
	coord_answer(c, s, req, &m);
	coord_schedule(c);
}

/* The job a worker reports on, if it is that worker's. */
static struct cjob *
worker_job(struct coord *c, const struct sender *s, const char *id)
{
	struct cjob	*j = job_find(c, id);

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

static void
handle_started(struct coord *c, const struct sender *s, const struct msg *req)
{
	struct cjob	*j = worker_job(c, s, req->job);
	struct msg	 m;

	if (j != NULL && j->state == JS_ASSIGNED) {
		job_transition(c, j, JS_RUNNING, NULL);
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

static void
handle_rejected(struct coord *c, const struct sender *s,
    const struct msg *req)
{
	struct cjob	*j = worker_job(c, s, req->job);
	char		 text[512];

	if (j != NULL && j->state == JS_ASSIGNED &&
	    strcmp(req->reason, "draining") == 0) {
		struct cworker *w = worker_find(c, s->name);

		if (w != NULL)
			w->draining = true;
		job_transition(c, j, JS_PENDING, "the worker is draining");
	} else if (j != NULL && j->state == JS_ASSIGNED) {
		snprintf(text, sizeof(text), "worker %s cannot run the job: "
		    "%s", s->name, req->present & FBIT(F_TEXT) ? req->text :
		    req->reason);
		job_fail(c, j, req->reason, text);
	} else if (j != NULL && j->state == JS_CANCELING)
		job_end(c, j, JS_CANCELED, "rejected by the worker");
	ack(c, s, req);
}

static void
handle_finished(struct coord *c, const struct sender *s,
    const struct msg *req)
{
	struct cjob	*j = worker_job(c, s, req->job);
	struct msg	 m;
	char		 reason[64];

	if (j == NULL) {
		ack(c, s, req);
		return;
	}
	store_job_set_exit(c->store, j->id, (int)req->code, (int)req->signal);
	if (req->signal != 0)
		snprintf(reason, sizeof(reason), "killed by signal %lld",
		    (long long)req->signal);
	else
		snprintf(reason, sizeof(reason), "exited with code %lld",
		    (long long)req->code);
	if (j->state == JS_ASSIGNED)
		job_transition(c, j, JS_RUNNING, "finished before started");
	if (j->state == JS_CANCELING)
		job_transition(c, j, JS_CANCELED, reason);
	else
		job_transition(c, j, req->code == 0 && req->signal == 0 ?
		    JS_COMPLETED : JS_FAILED, reason);
	msg_init(&m, MT_FINISHED, COORDINATOR_NAME);
	msg_set_str(&m, F_JOB, j->id);
	msg_set_int(&m, F_CODE, req->code);
	msg_set_int(&m, F_SIGNAL, req->signal);
	coord_to_client(c, j, &m);
	job_forget(c, j);
	ack(c, s, req);
	coord_schedule(c);
}

static void
handle_bye(struct coord *c, const struct sender *s, const struct msg *req)
{
	struct cworker	*w;

	if (s->role == ROLE_WORKER) {
		w = worker_find(c, s->name);
		if (w != NULL && strcmp(w->session, req->session) == 0)
			worker_lost(c, w, req->type == MT_GONE ?
			    "its connection dropped" : "it said goodbye");
		else
			log_debug("ignored %s of an old session of %s",
			    msg_type_name(req->type), s->name);
		return;
	}
	client_gone(c, s, req->session);
}

/* ---- handlers: administrators ---- */

static void
admin_reply(struct coord *c, const struct sender *s, const struct msg *req,
    int code, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
admin_reply(struct coord *c, const struct sender *s, const struct msg *req,
    int code, const char *fmt, ...)
{
	struct msg	 m;
	char		*text;
	va_list		 ap;
	int		 n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > MSG_MAX_STR - 1)
		text[MSG_MAX_STR - 1] = '\0';	/* a field's limit */
	msg_init(&m, MT_REPLY, COORDINATOR_NAME);
	msg_set_int(&m, F_CODE, code);
	msg_set_str(&m, F_TEXT, text);
	free(text);
	coord_answer(c, s, req, &m);
}

static void
admin_drain(struct coord *c, const struct sender *s, const struct msg *req,
    bool drain)
{
	struct cworker	*w;
	struct msg	 m;

	if (!(req->present & FBIT(F_TARGET)) ||
	    (w = worker_find(c, req->target)) == NULL || !w->registered) {
		admin_reply(c, s, req, 1, "no worker named '%s' is registered",
		    req->present & FBIT(F_TARGET) ? req->target : "");
		return;
	}
	w->draining = w->drain_wanted = drain;
	msg_init(&m, MT_DRAIN, COORDINATOR_NAME);
	msg_set_str(&m, F_STATUS, drain ? "draining" : "online");
	msg_set_str(&m, F_REASON, drain ? "drained by an administrator" :
	    "resumed by an administrator");
	coord_to_worker(c, w->name, &m);
	log_info("worker %s: %s by %s", w->name, drain ? "drained" :
	    "resumed", s->name);
	if (!drain)
		coord_schedule(c);
	admin_reply(c, s, req, 0, "worker %s %s (%d job%s running)", w->name,
	    drain ? "is draining" : "takes jobs again", w->active,
	    w->active == 1 ? "" : "s");
}

static void
admin_workers(struct coord *c, const struct sender *s, const struct msg *req)
{
	struct buf	 b = { 0 };
	char		 line[256], nul = '\0';
	size_t		 i;
	int		 n;

	for (i = 0; i < c->nworkers; i++) {
		struct cworker	*w = c->workers[i];
		char		 slots[16] = "-";

		if (w->max_jobs > 0)
			snprintf(slots, sizeof(slots), "%d", w->max_jobs);
		n = snprintf(line, sizeof(line), "%-20s %-9s jobs %d/%s "
		    "weight %d\n", w->name, !w->online ? "offline" :
		    w->draining ? "draining" : "online", w->active, slots,
		    w->weight);
		buf_add(&b, line, (size_t)n);
	}
	buf_add(&b, &nul, 1);
	admin_reply(c, s, req, 0, "%s", (char *)b.data);
	buf_free(&b);
}

static void
admin_do_drain(struct coord *c, const struct sender *s, const struct msg *req)
{
	admin_drain(c, s, req, true);
}

static void
admin_do_resume(struct coord *c, const struct sender *s,
    const struct msg *req)
{
	admin_drain(c, s, req, false);
}

static void
admin_cancel(struct coord *c, const struct sender *s, const struct msg *req)
{
	struct cjob	*j;

	if (!(req->present & FBIT(F_TARGET)) ||
	    (j = job_find(c, req->target)) == NULL) {
		admin_reply(c, s, req, 1, "no unfinished job '%s'",
		    req->present & FBIT(F_TARGET) ? req->target : "");
		return;
	}
	job_cancel(c, j, "canceled by an administrator");
	/* job_cancel may have finished (and freed) the job. */
	j = job_find(c, req->target);
	admin_reply(c, s, req, 0, "job %s: %s", req->target,
	    jobstate_name(j != NULL ? j->state : JS_CANCELED));
}

/* The operations of `admin` messages (dffmpeg admin worker|job ...). */
static const struct {
	const char	*what;
	handler_fn	 fn;
} admin_ops[] = {
	{ "drain", admin_do_drain },
	{ "resume", admin_do_resume },
	{ "workers", admin_workers },
	{ "cancel", admin_cancel },
};

static void
handle_admin(struct coord *c, const struct sender *s, const struct msg *req)
{
	size_t	i;

	for (i = 0; i < nitems(admin_ops); i++) {
		if (strcmp(req->what, admin_ops[i].what) == 0) {
			admin_ops[i].fn(c, s, req);
			return;
		}
	}
	admin_reply(c, s, req, 2, "unknown operation '%s'", req->what);
}

static const struct {
	enum msg_type	 type;
	handler_fn	 fn;
} handlers[] = {
	{ MT_REGISTER, handle_register },
	{ MT_HEARTBEAT, handle_heartbeat },
	{ MT_STARTED, handle_started },
	{ MT_REJECTED, handle_rejected },
	{ MT_FINISHED, handle_finished },
	{ MT_BYE, handle_bye },
	{ MT_GONE, handle_bye },
	{ MT_SUBMIT, handle_submit },
	{ MT_CANCEL, handle_cancel },
	{ MT_ADMIN, handle_admin },
};

/* ---- the uplink ---- */

static void
coord_drop(struct coord *c, enum msg_err e, const char *sender,
    const char *why)
{
	int64_t	now = mono_ms();

	c->dropped[e]++;
	/* These point at a configuration problem: say so, now and then. */
	if ((e == ME_MAC || e == ME_UNKNOWN || e == ME_AGE || e == ME_ROLE) &&
	    now - c->last_auth_warn >= AUTH_WARN_INTERVAL_MS) {
		c->last_auth_warn = now;
		log_warnx("refused a message from '%s': %s%s", sender, why,
		    e == ME_MAC ? " (is it configured with the key that "
		    "`dffmpeg admin user add` printed?)" :
		    e == ME_AGE ? " (are the clocks of both hosts right?)" :
		    e == ME_ROLE ? " (does the identity have the right "
		    "role?)" : "");
		return;
	}
	log_debug("dropped a message from '%s': %s", sender, why);
}

static void
coord_message(void *arg, const char *topic, const uint8_t *payload,
    size_t len)
{
	struct coord	*c = arg;
	struct sender	 s;
	struct msg	 m;
	const char	*name = topic_last(topic), *atopic, *apayload;
	char		 err[256];
	size_t		 alen, i;
	enum msg_err	 e;

	c->received++;
	coord_tx(c);
	if (!name_valid(name, NAME_MAX_LEN) || len > MSG_MAX_BYTES) {
		coord_drop(c, ME_FORMAT, "?", "malformed topic or size");
		return;
	}
	memset(&s, 0, sizeof(s));
	s.name = name;
	if (keyring_lookup(c->keyring, name, s.key, &s.role) == -1) {
		coord_drop(c, ME_UNKNOWN, name, "unknown identity");
		return;
	}
	e = msg_decode(topic, payload, len, s.key, name, s.role, now_ms(),
	    c->conf.replay_window, &m, err, sizeof(err));
	if (e != ME_OK) {
		coord_drop(c, e, name, err);
		goto out;
	}
	if (replay_seen(c->replay, m.id, &atopic, &apayload, &alen)) {
		c->dropped[ME_REPLAY]++;
		if (atopic != NULL)
			mqtt_publish(c->mqtt, atopic, apayload, alen);
		msg_clear(&m);
		goto out;
	}
	replay_add(c->replay, m.id, now_ms());
	for (i = 0; i < nitems(handlers); i++) {
		if (handlers[i].type == m.type) {
			handlers[i].fn(c, &s, &m);
			break;
		}
	}
	if (i == nitems(handlers))
		log_debug("no handler for %s from %s", msg_type_name(m.type),
		    name);
	msg_clear(&m);
out:
	sodium_memzero(s.key, sizeof(s.key));
}

static void
coord_connected(void *arg)
{
	(void)arg;
}

static void
coord_disconnected(void *arg)
{
	(void)arg;
	log_warnx("lost the broker; reconnecting");
}

static const struct mqtt_ops coord_mqtt_ops = {
	coord_connected,
	coord_disconnected,
	coord_message,
};

/* ---- timers ---- */

static void
coord_tick(evutil_socket_t fd, short what, void *arg)
{
	struct coord	*c = arg;
	int64_t		 now = mono_ms();
	char		 text[256];
	size_t		 i = 0, n;

	(void)fd;
	(void)what;
	coord_commit(-1, 0, c);
	for (i = 0; i < c->nworkers; i++) {
		struct cworker *w = c->workers[i];

		if (!w->online || w->stale || now - w->last_seen <=
		    WORKER_TIMEOUT_FACTOR * w->interval +
		    WORKER_TIMEOUT_SLACK_MS)
			continue;
		if (w->registered)
			worker_stale(c, w);
		else
			worker_lost(c, w, "it did not report back after the "
			    "coordinator restarted");
	}
	i = 0;
	while (i < c->njobs) {
		struct cjob *j = c->jobs[i];

		n = c->njobs;
		if (j->state == JS_CANCELING &&
		    now - j->cancel_sent >= ASSIGN_RESEND_MS * 2)
			job_send_cancel(c, j);
		if (j->state == JS_ASSIGNED) {
			if (now - j->assigned_at > c->conf.assign_timeout)
				job_transition(c, j, JS_PENDING,
				    "the worker did not start the job in time");
			else if (now - j->assign_sent >= ASSIGN_RESEND_MS)
				job_send_assign(c, j);
		} else if (j->state == JS_PENDING &&
		    now - j->queued_at > c->conf.queue_timeout) {
			snprintf(text, sizeof(text), "no worker could take the "
			    "job within %lld s",
			    (long long)(c->conf.queue_timeout / 1000));
			job_fail(c, j, "timeout", text);
		}
		if (c->njobs == n)
			i++;
	}
	coord_schedule(c);
	replay_expire(c->replay, now_ms());
	if (now - c->last_purge >= PURGE_INTERVAL_MS) {
		c->last_purge = now;
		n = (size_t)store_job_purge(c->store, jobstate_terminal_names,
		    now_ms() - c->conf.job_retention);
		if ((int)n > 0)
			log_info("purged %zu finished jobs", n);
	}
}

static void
coord_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct coord	*c = arg;

	(void)what;
	if (sig == SIGHUP) {
		log_info("SIGHUP: nothing to reload; ignored");
		return;
	}
	log_info("signal %d: stopping", (int)sig);
	event_base_loopexit(c->base, NULL);
}

/* Rebuild the in-memory jobs from the store after a restart. */
static int
load_job(const struct job_row *row, void *arg)
{
	struct coord	*c = arg;
	struct cjob	*j;
	cJSON		*a, *it;
	int		 st = jobstate_parse(row->state);

	if (st < 0 || jobstate_terminal(st))
		return 0;
	j = xcalloc(1, sizeof(*j));
	if (ident_unseal(c->master, row->key_sealed, row->key_sealed_len,
	    j->key) == -1) {
		log_warnx("job %s: its key does not open; dropping it", row->id);
		free(j);
		return 0;
	}
	snprintf(j->id, sizeof(j->id), "%s", row->id);
	snprintf(j->client, sizeof(j->client), "%s", row->client);
	snprintf(j->session, sizeof(j->session), "%s", row->session);
	snprintf(j->binary, sizeof(j->binary), "%s", row->binary);
	snprintf(j->worker, sizeof(j->worker), "%s", row->worker);
	j->state = (enum job_state)st;
	if (row->cwd != NULL)
		j->cwd = xstrdup(row->cwd);
	if ((a = cJSON_Parse(row->args)) != NULL) {
		cJSON_ArrayForEach(it, a)
			if (cJSON_IsString(it))
				strv_push(&j->args, it->valuestring);
		cJSON_Delete(a);
	}
	if ((a = cJSON_Parse(row->paths)) != NULL) {
		cJSON_ArrayForEach(it, a)
			if (cJSON_IsString(it))
				strv_push(&j->paths, it->valuestring);
		cJSON_Delete(a);
	}
	if ((a = cJSON_Parse(row->env)) != NULL) {
		cJSON_ArrayForEach(it, a)
			if (cJSON_IsString(it))
				strmap_set(&j->env, it->string,
				    it->valuestring);
		cJSON_Delete(a);
	}
	if (strcmp(j->binary, "ffmpeg") == 0)
		ffargs_requirements((int)j->args.n, j->args.v, &j->req);
	j->queued_at = j->assigned_at = mono_ms();
	job_add(c, j);
	return 0;
}

int
coordinator_main(int argc, char **argv)
{
	struct coord	 c;
	char		 err[1024], cid[256];
	struct daemon_opts opts;
	size_t		 i;
	int		 rc;

	if ((rc = daemon_getopt(argc, argv, "dffmpeg coordinator [-n] [-d] "
	    "[-c FILE]", &opts)) != -1)
		return rc;
	if (sodium_init() < 0)
		fatalx("libsodium failed to initialise");
	/* The database holds job arguments and environments. */
	umask(077);
	log_init("dffmpeg-coordinator", LOG_SINK_STDERR, NULL);
	memset(&c, 0, sizeof(c));
	if (settings_load_coord(opts.config, &c.conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "dffmpeg coordinator: %s\n", err);
		return 1;
	}
	if (opts.check_only) {
		printf("configuration OK\n");
		settings_free_coord(&c.conf);
		return 0;
	}
	daemon_logging("dffmpeg-coordinator", c.conf.log_file,
	    c.conf.log_level, opts.debug);

	if (ident_master_load(c.conf.master_key_file, true, c.master, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	if ((c.store = store_open(c.conf.database, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	c.keyring = keyring_new(c.store, c.master);
	c.replay = replay_new(c.conf.replay_window);
	snprintf(c.prefix, sizeof(c.prefix), "%s", c.conf.mqtt.topic_prefix);
	store_job_list(c.store, NULL, load_job, &c);
	if (c.njobs > 0)
		log_info("%zu unfinished jobs restored from %s", c.njobs,
		    c.conf.database);
	/* The workers of restored jobs are expected to report back (their
	 * heartbeats get `reregister`); one that does not times out like
	 * any other, and its jobs are re-queued or failed then. */
	for (i = 0; i < c.njobs; i++) {
		struct cworker *w;

		if (c.jobs[i]->worker[0] == '\0')
			continue;
		if ((w = worker_find(&c, c.jobs[i]->worker)) == NULL) {
			w = worker_add(&c, c.jobs[i]->worker);
			w->online = true;
		}
		w->active++;
	}

	c.base = loop_new();
	snprintf(cid, sizeof(cid), "%s-coord", c.prefix);
	c.mqtt = mqtt_new(c.base, &c.conf.mqtt, cid, &coord_mqtt_ops, &c, err,
	    sizeof(err));
	if (c.mqtt == NULL)
		fatalx("%s", err);
	topic_fmt(c.sub, sizeof(c.sub), c.prefix, "coord/+");
	mqtt_subscribe(c.mqtt, c.sub, NULL, NULL);
	c.ev_commit = loop_timer(c.base, false, coord_commit, &c);
	c.ev_tick = loop_timer(c.base, true, coord_tick, &c);
	loop_arm(c.ev_tick, TICK_MS);
	c.ev_sig[0] = loop_signal(c.base, SIGTERM, coord_on_signal, &c);
	c.ev_sig[1] = loop_signal(c.base, SIGINT, coord_on_signal, &c);
	c.ev_sig[2] = loop_signal(c.base, SIGHUP, coord_on_signal, &c);
	c.started = mono_ms();
	c.last_purge = mono_ms() - PURGE_INTERVAL_MS + 60000;
	log_info("coordinator starting (broker %s:%d, database %s)",
	    c.conf.mqtt.host, c.conf.mqtt.port, c.conf.database);
	mqtt_start(c.mqtt);
	event_base_dispatch(c.base);

	for (i = 0; i < c.njobs; i++)
		job_free(c.jobs[i]);
	free(c.jobs);
	for (i = 0; i < c.nworkers; i++) {
		caps_free(&c.workers[i]->caps);
		strmap_free(&c.workers[i]->binaries);
		strmap_free(&c.workers[i]->health);
		free(c.workers[i]);
	}
	free(c.workers);
	hmap_free(&c.worker_names);
	hmap_free(&c.job_ids);
	coord_commit(-1, 0, &c);
	event_free(c.ev_commit);
	event_free(c.ev_tick);
	for (i = 0; i < nitems(c.ev_sig); i++)
		event_free(c.ev_sig[i]);
	mqtt_free(c.mqtt);
	replay_free(c.replay);
	keyring_free(c.keyring);
	store_close(c.store);
	sodium_memzero(c.master, sizeof(c.master));
	settings_free_coord(&c.conf);
	event_base_free(c.base);
	log_info("coordinator stopped");
	return 0;
}
