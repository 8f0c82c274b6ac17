/*
 * dffmpeg coordinator: the clients' message handlers, the handler table,
 * the uplink, the janitor and the wiring of the modules named in coord.h.
 *
 * Every uplink message arrives on P/coord/<sender>, is verified with the
 * sender's key and role (msg_decode), checked against the replay cache and
 * dispatched through the handler table.  Answers go to the sender's
 * downlink and are remembered with the request id, so a repeated request
 * gets the same answer without being acted on twice.  The coordinator is
 * not on the data path: it hands out job keys and watches job states.
 *
 * Presence (wills, goodbyes, silence) is in coord_presence.c, what
 * workers send in coord_workers.c.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/event.h>
#include <sodium.h>

#include "applet.h"
#include "coord.h"
#include "daemon.h"
#include "ffargs.h"
#include "hwcaps.h"
#include "ident.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define TICK_MS			250
#define ASSIGN_RESEND_MS	1000
#define REPORT_WAIT_MS		60000	/* for a report a worker announced */
#define PURGE_INTERVAL_MS	(3600 * 1000)
#define PURGE_BATCH		500
#define AUTH_WARN_INTERVAL_MS	10000
#define BUSY_TIMEOUT_MS		20
#define FORGET_CHECK_MS		10000
#define STOP_DELAY_MS		100	/* from a stop signal to the exit */
#define REFUSED_SUMMARY		512	/* bytes of a refused job's command */

typedef void (*handler_fn)(struct coord *, const struct sender *,
    const struct msg *);

/* ---- handlers: clients ---- */

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

/* A re-sent submit of a job we hold: a retry, or the client announcing a
 * new connection (its session and epoch). */
static void
submit_again(struct coord *c, const struct sender *s, const struct msg *req,
    struct cjob *j)
{
	struct msg	m;

	if (req->epoch >= j->epoch || strcmp(j->session, req->session) != 0) {
		snprintf(j->session, sizeof(j->session), "%s", req->session);
		j->epoch = req->epoch;
		j->client_old_key = s->old_key;
	}
	if (j->state == JS_PENDING) {
		msg_init(&m, MT_QUEUED, COORDINATOR_NAME);
		msg_set_str(&m, F_JOB, j->id);
		msg_set_int(&m, F_POSITION,
		    (int64_t)jobtab_position(&c->jobs, j));
		coord_answer(c, s, req, &m);
		return;
	}
	coord_job_send_accepted(c, j);
}

/* A re-sent submit of a job that has ended while the client heard
 * nothing: say how.  A process that exited is reported with its status
 * (whatever it was); only a job that never got that far has failed. */
static void
submit_finished(struct coord *c, const struct sender *s,
    const struct msg *req, const struct job_row *row)
{
	struct msg	m;

	if (row->exited) {
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

/* Validate a new submit; 0, or -1 with the refusal sent. */
static int
submit_check(struct coord *c, const struct sender *s, const struct msg *req)
{
	char	text[256];
	size_t	i;

	if (!strv_contains(&c->conf.allowed_binaries, req->binary)) {
		snprintf(text, sizeof(text), "binary '%s' is not allowed by "
		    "the coordinator", req->binary);
		refuse(c, s, req, "binary", text);
		return -1;
	}
	for (i = 0; i < req->paths.n; i++) {
		if (!name_valid(req->paths.v[i], NAME_MAX_LEN)) {
			refuse(c, s, req, "path", "malformed path variable");
			return -1;
		}
	}
	if (coord_limits_submit(c, s->name, req, text, sizeof(text)) == -1) {
		refuse(c, s, req, "limit", text);
		return -1;
	}
	return 0;
}

static struct cjob *
job_from_submit(const struct sender *s, const struct msg *req)
{
	struct cjob	*j = jobtab_job_new();
	size_t		 i;

	snprintf(j->id, sizeof(j->id), "%s", req->job);
	snprintf(j->client, sizeof(j->client), "%s", s->name);
	snprintf(j->session, sizeof(j->session), "%s", req->session);
	j->epoch = req->epoch;
	snprintf(j->binary, sizeof(j->binary), "%s", req->binary);
	for (i = 0; i < req->args.n; i++)
		strv_push(&j->args, req->args.v[i]);
	for (i = 0; i < req->paths.n; i++)
		strv_push(&j->paths, req->paths.v[i]);
	for (i = 0; i < req->env.n; i++)
		strmap_set(&j->env, req->env.keys[i], req->env.vals[i]);
	if (req->cwd != NULL)
		j->cwd = xstrdup(req->cwd);
	if (strcmp(j->binary, "ffmpeg") == 0) {
		ffargs_requirements((int)j->args.n, j->args.v, &j->req);
		hw_types_of(&j->req, &j->hwtypes);
	}
	j->detached = (req->present & FBIT(F_DETACHED)) && req->detached;
	j->client_old_key = s->old_key;
	j->state = JS_PENDING;
	j->queued_at = j->submitted_at = mono_ms();
	randombytes_buf(j->key, sizeof(j->key));
	return j;
}

static void
job_store_new(struct coord *c, const struct cjob *j)
{
	struct job_row	row;

	memset(&row, 0, sizeof(row));
	snprintf(row.id, sizeof(row.id), "%s", j->id);
	snprintf(row.client, sizeof(row.client), "%s", j->client);
	snprintf(row.session, sizeof(row.session), "%s", j->session);
	snprintf(row.binary, sizeof(row.binary), "%s", j->binary);
	store_row_set_args(&row, &j->args);
	store_row_set_env(&row, &j->env);
	store_row_set_paths(&row, &j->paths);
	row.cwd = j->cwd != NULL ? xstrdup(j->cwd) : NULL;
	snprintf(row.state, sizeof(row.state), "%s", "pending");
	row.key_sealed_len = ident_seal(c->master, j->key, row.key_sealed);
	row.created = row.updated = now_ms();
	row.detached = j->detached;
	store_job_insert(c->store, &row);
	store_job_clear(&row);
	coord_dirty(c);
}

/* A refused job keeps a summary of its command line, not all of it: a
 * client must not fill the database through refusals. */
static void
job_forget_args(struct coord *c, const struct cjob *j)
{
	struct strv	 args = { 0 };
	struct strmap	 env = { 0 };
	char		 summary[REFUSED_SUMMARY + 8];
	size_t		 i, len = 0, n;

	/* The command joined by blanks, a few bytes beyond the bound: the
	 * byte after a cut says whether the cut splits a character. */
	for (i = 0; i < j->args.n && len < sizeof(summary) - 1; i++) {
		if (i > 0)
			summary[len++] = ' ';
		n = strlen(j->args.v[i]);
		if (n > sizeof(summary) - 1 - len)
			n = sizeof(summary) - 1 - len;
		memcpy(summary + len, j->args.v[i], n);
		len += n;
	}
	summary[len] = '\0';
	if (len > REFUSED_SUMMARY) {
		len = REFUSED_SUMMARY;
		while (len > 0 && ((unsigned char)summary[len] & 0xc0) == 0x80)
			len--;
		memcpy(summary + len, "...", 4);
	}
	strv_push(&args, summary);
	store_job_set_args(c->store, j->id, &args, &env);
	strv_free(&args);
}

static void
handle_submit(struct coord *c, const struct sender *s, const struct msg *req)
{
	struct job_row	 row;
	struct cjob	*j;
	struct msg	 m;
	char		 why[160];
	int		 rc;

	if (!name_valid(req->job, ID_LEN) || !name_valid(req->session, ID_LEN)) {
		log_debug("submit from %s: malformed job or session id",
		    s->name);
		return;
	}
	if ((j = jobtab_find(&c->jobs, req->job)) != NULL) {
		if (strcmp(j->client, s->name) != 0)
			refuse(c, s, req, "conflict", "job id already in use");
		else
			submit_again(c, s, req, j);
		return;
	}
	memset(&row, 0, sizeof(row));
	if ((rc = store_job_get(c->store, req->job, &row)) == 0) {
		if (strcmp(row.client, s->name) != 0)
			refuse(c, s, req, "conflict", "job id already in use");
		else if (jobstate_parse(row.state) >= 0 &&
		    jobstate_terminal(jobstate_parse(row.state)))
			submit_finished(c, s, req, &row);
		/* else: its end is not on disk yet; the client asks again. */
		store_job_clear(&row);
		return;
	}
	if (rc == -1 || submit_check(c, s, req) == -1)
		return;

	j = job_from_submit(s, req);
	job_store_new(c, j);
	jobtab_add(&c->jobs, j);
	coord_stats_submitted(c, j);
	log_info("job %s: submitted by %s (%s, %zu arguments%s)", j->id,
	    s->name, j->binary, j->args.n, j->detached ? ", detached" : "");
	coord_schedule(c);
	if (j->state != JS_PENDING)
		return;		/* placed: `accepted` is its answer */
	if (!coord_could_run(c, j, why, sizeof(why))) {
		if (!coord_relax(c, j, (req->present & FBIT(F_FALLBACK)) &&
		    req->fallback, why)) {
			refuse(c, s, req, "unavailable", why);
			job_forget_args(c, j);
			coord_job_end(c, j, JS_FAILED, why);
			return;
		}
		if (j->state != JS_PENDING)
			return;		/* placed after all */
	}
	msg_init(&m, MT_QUEUED, COORDINATOR_NAME);
	msg_set_str(&m, F_JOB, j->id);
	msg_set_int(&m, F_POSITION, (int64_t)jobtab_position(&c->jobs, j));
	coord_answer(c, s, req, &m);
}

static void
handle_cancel(struct coord *c, const struct sender *s, const struct msg *req)
{
	struct cjob	*j = jobtab_find(&c->jobs, req->job);
	struct msg	 m;
	struct job_row	 row;

	msg_init(&m, MT_ACK, COORDINATOR_NAME);
	msg_set_str(&m, F_JOB, req->job);
	if (j != NULL && s->role != ROLE_ADMIN &&
	    strcmp(j->client, s->name) != 0)
		j = NULL;	/* not its job: as if there were none */
	if (j != NULL) {
		/* From anyone but the process that waits for the job (an
		 * administrator, `client job cancel`): its output goes on to
		 * the end, as a local ffmpeg's after a kill. */
		if (s->role == ROLE_ADMIN || !(req->present & FBIT(F_SESSION)) ||
		    strcmp(req->session, j->session) != 0)
			j->cancel_relay = true;
		coord_job_cancel(c, j, s->role == ROLE_ADMIN ? "canceled by "
		    "an administrator" : "canceled by the client");
		/* coord_job_cancel may have finished (and freed) the job. */
		j = jobtab_find(&c->jobs, req->job);
		msg_set_int(&m, F_CODE, 0);
		msg_set_str(&m, F_STATE, jobstate_name(j != NULL ? j->state :
		    JS_CANCELED));
	} else {
		memset(&row, 0, sizeof(row));
		if (name_valid(req->job, ID_LEN) &&
		    store_job_get(c->store, req->job, &row) == 0 &&
		    (s->role == ROLE_ADMIN || strcmp(row.client, s->name) == 0)) {
			msg_set_int(&m, F_CODE, 1);
			msg_set_str(&m, F_STATE, row.state);
			msg_set_str(&m, F_TEXT, "the job has already ended");
		} else {
			msg_set_int(&m, F_CODE, 1);
			msg_set_str(&m, F_TEXT, "no such job");
		}
		store_job_clear(&row);
	}
	coord_answer(c, s, req, &m);
}

static void
handle_admin(struct coord *c, const struct sender *s, const struct msg *req)
{
	coord_admin(c, s, req);
}

static void
handle_query(struct coord *c, const struct sender *s, const struct msg *req)
{
	coord_query(c, s, req);
}

static const struct {
	enum msg_type	 type;
	handler_fn	 fn;
} handlers[] = {
	{ MT_REGISTER, coord_worker_register },
	{ MT_HEARTBEAT, coord_worker_heartbeat },
	{ MT_STARTED, coord_report_started },
	{ MT_REJECTED, coord_report_rejected },
	{ MT_FINISHED, coord_report_finished },
	{ MT_BYE, coord_presence_bye },
	{ MT_GONE, coord_presence_gone },
	{ MT_SUBMIT, handle_submit },
	{ MT_CANCEL, handle_cancel },
	{ MT_ADMIN, handle_admin },
	{ MT_QUERY, handle_query },
	{ MT_LOG, coord_job_log },
};

/* ---- the uplink ---- */

static void
coord_drop(struct coord *c, enum msg_err e, const char *sender,
    const char *why, const void *payload, size_t len)
{
	int64_t	now = mono_ms();
	int	type = msg_peek_type(payload, len);

	c->dropped[e]++;
	c->stats.dropped[e][type >= 0 ? type : MT__COUNT]++;
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
coord_dispatch(struct coord *c, const struct sender *s, const struct msg *m)
{
	size_t	i;

	for (i = 0; i < nitems(handlers); i++) {
		if (handlers[i].type == m->type) {
			handlers[i].fn(c, s, m);
			return;
		}
	}
	log_debug("no handler for %s from %s", msg_type_name(m->type),
	    s->name);
}

/*
 * Whether the replay cache holds a type's ids.  A will is judged by its
 * epoch, never silenced by the cache.  A query changes nothing: asked
 * again, it is answered afresh, and its answers (up to a message each)
 * are not kept.  A log batch is told apart by its number: one left
 * unacknowledged on purpose (its predecessor has not arrived) must be
 * looked at again when it is sent again, with the same id.
 */
static bool
remembered(enum msg_type t)
{
	return t != MT_GONE && t != MT_QUERY && t != MT_LOG;
}

static void
coord_message(void *arg, const char *topic, const uint8_t *payload,
    size_t len)
{
	struct coord	*c = arg;
	struct sender	 s;
	struct msg	 m;
	const char	*name = topic_last(topic), *atopic, *apayload;
	uint8_t		 old[KEY_LEN];
	char		 err[256], rkey[REPLAY_KEY_MAX + 1];
	size_t		 alen;
	int64_t		 until;
	bool		 has_old;
	enum msg_err	 e;

	c->received++;
	/* "P/coord/NAME" ("#" also matches "P/coord" itself) has no level
	 * after NAME, unless the broker maps MQTT's '/' to AMQP's '.' and
	 * back (RabbitMQ's MQTT plugin). */
	if (strncmp(topic, c->sub, strlen(c->sub) - 1) != 0) {
		coord_drop(c, ME_FORMAT, "?", "malformed topic", payload, len);
		return;
	}
	if (strchr(topic + strlen(c->sub) - 1, '/') != NULL) {
		if (mono_ms() - c->last_topic_warn >= AUTH_WARN_INTERVAL_MS) {
			c->last_topic_warn = mono_ms();
			log_warnx("a message came on %s, a level deeper than "
			    "dffmpeg publishes: the broker turns '.' into '/' "
			    "(RabbitMQ's MQTT plugin does), so identities and "
			    "mqtt.topic_prefix must not contain '.' with it",
			    topic);
		}
		coord_drop(c, ME_FORMAT, "?", "topic rewritten by the broker",
		    payload, len);
		return;
	}
	if (!name_valid(name, NAME_MAX_LEN) || len > MSG_MAX_BYTES) {
		coord_drop(c, ME_FORMAT, "?", "malformed topic or size", payload,
		    len);
		return;
	}
	memset(&s, 0, sizeof(s));
	s.name = name;
	if (keyring_keys(c->keyring, name, s.key, old, &has_old, &until,
	    &s.role) == -1) {
		coord_drop(c, ME_UNKNOWN, name, "unknown identity", payload, len);
		return;
	}
	e = msg_decode(topic, payload, len, s.key, name, s.role, now_ms(),
	    c->conf.replay_window, &m, err, sizeof(err));
	if (e == ME_MAC && has_old && msg_decode(topic, payload, len, old, name,
	    s.role, now_ms(), c->conf.replay_window, &m, err,
	    sizeof(err)) == ME_OK) {
		/* Rotated: the old key works for its grace, and is answered
		 * with, but every use is worth a line. */
		e = ME_OK;
		memcpy(s.key, old, sizeof(s.key));
		s.old_key = true;
		log_info("'%s' used its previous key (%s; it works for %lld s "
		    "more)", name, msg_type_name(m.type),
		    (long long)((until - now_ms()) / 1000));
	}
	if (e == ME_OK)
		keyring_used(c->keyring, name, s.key);
	sodium_memzero(old, sizeof(old));
	if (e != ME_OK) {
		coord_drop(c, e, name, err, payload, len);
		if (e == ME_MAC)
			coord_unverified(c, &s, payload, len);
		goto out;
	}
	replay_key(rkey, name, m.id);
	if (remembered(m.type) &&
	    replay_seen(c->replay, rkey, &atopic, &apayload, &alen)) {
		c->dropped[ME_REPLAY]++;
		c->stats.dropped[ME_REPLAY][m.type]++;
		log_debug("a repeated %s from %s: answered again",
		    msg_type_name(m.type), name);
		if (atopic != NULL)
			mqtt_publish(c->mqtt, atopic, apayload, alen);
		msg_clear(&m);
		goto out;
	}
	c->stats.received[m.type]++;
	if (remembered(m.type))
		replay_add(c->replay, rkey, now_ms());
	c->in_handler = true;
	coord_dispatch(c, &s, &m);
	c->in_handler = false;
	msg_clear(&m);
	coord_dirty(c);
out:
	sodium_memzero(s.key, sizeof(s.key));
}

static void
coord_connected(void *arg)
{
	struct coord	*c = arg;

	c->stats.connects++;
	coord_presence_connected(c);
}

static void
coord_disconnected(void *arg)
{
	coord_presence_disconnected(arg);
}

static const struct mqtt_ops coord_mqtt_ops = {
	coord_connected,
	coord_disconnected,
	coord_message,
};

/* ---- timers ---- */

static void
watch_jobs(struct coord *c, int64_t now)
{
	struct cjob	*j, *next;
	char		 text[256];

	for (j = jobtab_first(&c->jobs); j != NULL; j = next) {
		next = jobtab_next(j);
		if (j->state == JS_CANCELING &&
		    now - j->cancel_sent >= ASSIGN_RESEND_MS * 2)
			coord_job_send_cancel(c, j);
		if (j->state == JS_ASSIGNED) {
			if (now - j->assigned_at > c->conf.assign_timeout)
				coord_job_transition(c, j, JS_PENDING,
				    "the worker did not start the job in time");
			else if (now - j->assign_sent >= ASSIGN_RESEND_MS)
				coord_job_send_assign(c, j);
		} else if (j->state == JS_PENDING &&
		    now - j->queued_at > c->conf.queue_timeout) {
			if (coord_limits_running_full(c, j->client))
				snprintf(text, sizeof(text), "client %s has "
				    "limits.running (%d) jobs running, and the "
				    "job waited %lld s", j->client,
				    c->conf.limits.running, (long long)
				    (c->conf.queue_timeout / 1000));
			else
				snprintf(text, sizeof(text), "no worker could "
				    "take the job within %lld s", (long long)
				    (c->conf.queue_timeout / 1000));
			coord_job_fail(c, j, "timeout", text);
		} else if (j->state == JS_RUNNING && j->report_due != 0 &&
		    now - j->report_due > REPORT_WAIT_MS)
			coord_job_fail(c, j, "worker-lost", "the report the "
			    "worker announced never came");
	}
}

/* Retention: a small batch per tick until nothing old is left. */
static void
purge(struct coord *c, int64_t now)
{
	int	n;

	if (now - c->last_purge < PURGE_INTERVAL_MS ||
	    store_pending(c->store) > 0)
		return;
	n = store_job_purge_batch(c->store, jobstate_terminal_names,
	    now_ms() - c->conf.job_retention, PURGE_BATCH);
	if (n > 0)
		log_info("purged %d finished jobs", n);
	if (n < PURGE_BATCH)
		c->last_purge = now;
}

/* A worker whose identity was removed (dffmpeg admin user remove) is
 * forgotten once it is not connected and holds no job.  Looked at when
 * the database changed (another process removes identities), and every
 * FORGET_CHECK_MS for a worker that was still connected then. */
static void
forget_removed(struct coord *c, int64_t now)
{
	struct ident_row row;
	struct cworker	*w;
	int64_t		 v = store_data_version(c->store);
	size_t		 i;

	if (v == -1 || (v == c->ident_version &&
	    now - c->ident_checked < FORGET_CHECK_MS))
		return;
	c->ident_version = v;
	c->ident_checked = now;
	for (i = c->reg.n; i-- > 0;) {
		w = c->reg.v[i];
		if (w->active > 0 || (w->state != WS_LOST &&
		    w->state != WS_OFFLINE && w->state != WS_REGISTERING) ||
		    store_ident_get(c->store, w->name, &row) != 1)
			continue;
		log_info("worker %s: its identity was removed; forgetting it",
		    w->name);
		store_worker_remove(c->store, w->name);
		registry_remove(&c->reg, w);
		coord_dirty(c);
	}
	sodium_memzero(&row, sizeof(row));
}

static void
coord_tick(evutil_socket_t fd, short what, void *arg)
{
	struct coord	*c = arg;
	int64_t		 now = mono_ms();

	(void)fd;
	(void)what;
	coord_flush(c);
	coord_presence_watch(c, now);
	forget_removed(c, now);
	watch_jobs(c, now);
	coord_schedule(c);
	replay_expire(c->replay, now_ms());
	coord_flush(c);
	purge(c, now);
}

static void
coord_on_flush(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	coord_flush(arg);
}

static const char *const db_suffixes[] = { "", "-wal", "-shm" };

static const struct timeval stop_delay = { 0, STOP_DELAY_MS * 1000 };

static void
coord_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct coord	*c = arg;

	(void)what;
	if (sig == SIGHUP) {
		log_info("SIGHUP: nothing to reload; ignored");
		return;
	}
	if (c->stopping) {
		event_base_loopbreak(c->base);
		return;
	}
	/* A moment for what is on its way out (answers, /health's 503). */
	log_info("signal %d: stopping", (int)sig);
	c->stopping = true;
	event_base_loopexit(c->base, &stop_delay);
}

/* ---- start-up ---- */

static void
coord_free(struct coord *c)
{
	size_t	i;

	coord_http_stop(c);
	coord_limits_free(c);
	jobtab_free(&c->jobs);
	registry_free(&c->reg);
	coord_flush(c);
	coord_stats_free(c);
	if (store_pending(c->store) > 0)
		log_warnx("%zu writes could not reach the database",
		    store_pending(c->store));
	free(c->wills);
	event_free(c->ev_flush);
	event_free(c->ev_will);
	event_free(c->ev_tick);
	for (i = 0; i < nitems(c->ev_sig); i++)
		event_free(c->ev_sig[i]);
	mqtt_free(c->mqtt);
	replay_free(c->replay);
	keyring_free(c->keyring);
	store_close(c->store);
	sodium_memzero(c->master, sizeof(c->master));
	settings_free_coord(&c->conf);
	event_base_free(c->base);
}

int
coordinator_main(int argc, char **argv)
{
	struct coord	 c;
	char		 err[1024], cid[256], where[512];
	struct daemon_opts opts;
	int		 rc;

	if ((rc = daemon_getopt(argc, argv, "coordinator",
	    "Run the coordinator: it keeps the job queue and the worker "
	    "registry in its\ndatabase, places jobs on workers and answers "
	    "the client and admin commands.\nIt logs to stderr unless the "
	    "config names a log_file; SIGTERM stops it.", &opts)) != -1)
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
	/* It holds the sealed keys and every job's arguments; SQLite gives
	 * its journal files the database's mode. */
	for (size_t k = 0; k < nitems(db_suffixes); k++) {
		char	dbf[PATH_BUF + 8];

		snprintf(dbf, sizeof(dbf), "%s%s", c.conf.database,
		    db_suffixes[k]);
		if (settings_secret_mode(dbf, "identities and job arguments",
		    err, sizeof(err)) == -1)
			fatalx("%s", err);
	}
	if ((c.store = store_open(c.conf.database, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	c.keyring = keyring_new(c.store, c.master);
	c.replay = replay_new(c.conf.replay_window);
	snprintf(c.prefix, sizeof(c.prefix), "%s", c.conf.mqtt.topic_prefix);
	registry_init(&c.reg, coord_worker_record, &c);
	jobtab_init(&c.jobs);
	store_job_list(c.store, NULL, coord_job_restore, &c);
	if (c.jobs.n > 0)
		log_info("%zu unfinished jobs restored from %s", c.jobs.n,
		    c.conf.database);
	/* From here on writes go out once per loop iteration. */
	store_set_busy_timeout(c.store, BUSY_TIMEOUT_MS);
	store_defer(c.store, true);

	c.base = loop_new();
	coord_stats_init(&c);
	if (coord_http_start(&c, err, sizeof(err)) == -1)
		fatalx("%s", err);
	snprintf(cid, sizeof(cid), "%s-coord", c.prefix);
	c.mqtt = mqtt_new(c.base, &c.conf.mqtt, cid, &coord_mqtt_ops, &c, err,
	    sizeof(err));
	if (c.mqtt == NULL)
		fatalx("%s", err);
	/* "#", not "+": a name whose '.' a broker turned into '/' is then
	 * seen, and explained (coord_message). */
	topic_fmt(c.sub, sizeof(c.sub), c.prefix, "coord/#");
	mqtt_subscribe(c.mqtt, c.sub, NULL, NULL);
	c.ev_flush = loop_timer(c.base, false, coord_on_flush, &c);
	c.ev_will = loop_timer(c.base, false, coord_presence_release, &c);
	c.ev_tick = loop_timer(c.base, true, coord_tick, &c);
	loop_arm(c.ev_tick, TICK_MS);
	c.ev_sig[0] = loop_signal(c.base, SIGTERM, coord_on_signal, &c);
	c.ev_sig[1] = loop_signal(c.base, SIGINT, coord_on_signal, &c);
	c.ev_sig[2] = loop_signal(c.base, SIGHUP, coord_on_signal, &c);
	c.started = mono_ms();
	c.last_purge = mono_ms() - PURGE_INTERVAL_MS + 60000;
	log_info("coordinator starting (broker %s, database %s)",
	    mqtt_conf_where(&c.conf.mqtt, where, sizeof(where)),
	    c.conf.database);
	mqtt_start(c.mqtt);
	event_base_dispatch(c.base);

	coord_free(&c);
	log_info("coordinator stopped");
	return 0;
}
