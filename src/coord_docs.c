/*
 * What the coordinator tells about itself (design §11): the JSON
 * documents of `query` (dffmpeg client|admin status, worker list|show,
 * job list|show) and of the HTTP API (coord_http.c), one function each,
 * for every reader of them.  A job's log pages are in coord_logs.c.
 *
 * Documents carry "now" (ms since the epoch, the coordinator's clock) so
 * that readers compute ages without trusting their own clock.  A client
 * sees its own jobs only; an administrator sees every job.  Job lists are
 * newest first and paged: a page ends with "next", the cursor of the
 * following page (absent on the last one).  Every page fits one message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "caps.h"
#include "coord.h"
#include "hwcaps.h"
#include "log.h"
#include "mqtt.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define JOBS_PAGE_MAX		200	/* jobs in one page of a list */
#define STATUS_JOBS		20	/* recent jobs in the status */
#define COMMAND_MAX		200	/* of the command line in a summary */
#define TRANSITIONS_MAX		50	/* a worker's, newest */
#define WORKERS_PAGE_MAX	256	/* workers in one page */
#define STATUS_WORKERS_BYTES	(128 * 1024)	/* of the workers in status */
#define STATUS_QUEUE_MAX	100	/* pending jobs listed in status */

/* What an item adds to a document's JSON text. */
static size_t
json_size(const cJSON *o)
{
	char	*s = cJSON_PrintUnformatted(o);
	size_t	 n;

	if (s == NULL)
		fatalx("cJSON: out of memory");
	n = strlen(s);
	cJSON_free(s);
	return n + 1;
}

static void
add_time(cJSON *o, const char *name, int64_t ms)
{
	if (ms > 0)
		cJSON_AddNumberToObject(o, name, (double)ms);
	else
		cJSON_AddNullToObject(o, name);
}

static cJSON *
strv_json(const struct strv *sv)
{
	cJSON	*a = cJSON_CreateArray();
	size_t	 i;

	for (i = 0; i < sv->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(sv->v[i]));
	return a;
}

static cJSON *
strmap_json(const struct strmap *sm)
{
	cJSON	*o = cJSON_CreateObject();
	size_t	 i;

	for (i = 0; i < sm->n; i++)
		cJSON_AddStringToObject(o, sm->keys[i], sm->vals[i]);
	return o;
}

/* ---- workers ---- */

/* Names of list sv with (hw) or without a device type. */
static cJSON *
names_json(const struct strv *sv, bool hw)
{
	cJSON	*a = cJSON_CreateArray();
	size_t	 i;

	for (i = 0; i < sv->n; i++)
		if ((hw_type_of(sv->v[i]) != NULL) == hw)
			cJSON_AddItemToArray(a, cJSON_CreateString(sv->v[i]));
	return a;
}

struct wtrans {
	cJSON	*all;
	int	 n;
};

static int
add_transition(int64_t ts, const char *from, const char *to,
    const char *reason, void *arg)
{
	struct wtrans	*t = arg;
	cJSON		*o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "ts", (double)ts);
	cJSON_AddStringToObject(o, "from", from != NULL ? from : "");
	cJSON_AddStringToObject(o, "to", to != NULL ? to : "");
	if (reason != NULL)
		cJSON_AddStringToObject(o, "reason", reason);
	else
		cJSON_AddNullToObject(o, "reason");
	cJSON_AddItemToArray(t->all, o);
	t->n++;
	return 0;
}

cJSON *
coord_doc_worker(struct coord *c, const struct cworker *w, bool detail,
    const char *client)
{
	cJSON		*o = cJSON_CreateObject(), *slots, *s, *caps, *jobs;
	struct wtrans	 t;
	const struct cjob *j;
	size_t		 i;

	cJSON_AddStringToObject(o, "name", w->name);
	cJSON_AddStringToObject(o, "state", worker_state_name(w->state));
	add_time(o, "last_seen", w->heard);
	cJSON_AddNumberToObject(o, "running", w->active);
	cJSON_AddNumberToObject(o, "max_jobs", w->max_jobs);
	cJSON_AddNumberToObject(o, "weight", w->weight);
	if (w->version[0] != '\0')
		cJSON_AddStringToObject(o, "version", w->version);
	else
		cJSON_AddNullToObject(o, "version");
	if (w->caps_known && w->caps.version[0] != '\0')
		cJSON_AddStringToObject(o, "ffmpeg_version", w->caps.version);
	else
		cJSON_AddNullToObject(o, "ffmpeg_version");
	slots = cJSON_AddObjectToObject(o, "device_slots");
	for (i = 0; i < w->nslots; i++) {
		s = cJSON_AddObjectToObject(slots, w->slots[i].type);
		cJSON_AddNumberToObject(s, "used", w->slots[i].used);
		cJSON_AddNumberToObject(s, "max", w->slots[i].max);
	}
	cJSON_AddItemToObject(o, "paths", strmap_json(&w->health));
	cJSON_AddBoolToObject(o, "draining", w->reports_draining);
	if (w->load >= 0)
		cJSON_AddNumberToObject(o, "load", w->load / 100.0);
	else
		cJSON_AddNullToObject(o, "load");
	if (w->cpus > 0)
		cJSON_AddNumberToObject(o, "cpus", w->cpus);
	else
		cJSON_AddNullToObject(o, "cpus");
	/* The device types its ffmpeg was seen to use here. */
	cJSON_AddItemToObject(o, "device_types", w->caps_known ?
	    names_json(&w->caps.lists[CAPS_HWACCELS], false) :
	    cJSON_CreateArray());
	if (!detail)
		return o;
	if (client == NULL)
		cJSON_AddStringToObject(o, "session", w->session);
	cJSON_AddItemToObject(o, "binaries", strmap_json(&w->binaries));
	if (w->caps_known) {
		caps = cJSON_AddObjectToObject(o, "hardware");
		cJSON_AddItemToObject(caps, "device_types",
		    names_json(&w->caps.lists[CAPS_HWACCELS], false));
		cJSON_AddItemToObject(caps, "encoders",
		    names_json(&w->caps.lists[CAPS_ENCODERS], true));
		cJSON_AddItemToObject(caps, "decoders",
		    names_json(&w->caps.lists[CAPS_DECODERS], true));
		cJSON_AddItemToObject(caps, "filters",
		    names_json(&w->caps.lists[CAPS_FILTERS], true));
		cJSON_AddItemToObject(caps, "devices",
		    strv_json(&w->caps.devices));
		cJSON_AddItemToObject(caps, "not_offered",
		    strmap_json(&w->caps.failed));
	} else
		cJSON_AddNullToObject(o, "hardware");
	jobs = cJSON_AddArrayToObject(o, "jobs");
	for (j = jobtab_first(&c->jobs); j != NULL; j = jobtab_next(j))
		if (strcmp(j->worker, w->name) == 0 &&
		    !jobstate_terminal(j->state) && j->state != JS_PENDING &&
		    (client == NULL || strcmp(j->client, client) == 0))
			cJSON_AddItemToArray(jobs, cJSON_CreateString(j->id));
	t.all = cJSON_CreateArray();
	t.n = 0;
	store_worker_transitions(c->store, w->name, add_transition, &t);
	/* The newest ones. */
	while (t.n > TRANSITIONS_MAX) {
		cJSON_DeleteItemFromArray(t.all, 0);
		t.n--;
	}
	cJSON_AddItemToObject(o, "transitions", t.all);
	return o;
}

/*
 * The workers after the name `after` (NULL: from the first) in name order,
 * at most WORKERS_PAGE_MAX of them and `budget` bytes of JSON (one at
 * least); *next is set to the name to continue after when there are more
 * (else left empty).
 */
static cJSON *
workers_json(struct coord *c, const char *after, size_t budget,
    char next[NAME_MAX_LEN + 1])
{
	const struct cworker	*w, *last = NULL;
	cJSON			*a = cJSON_CreateArray(), *o;
	size_t			 i, n = 0, bytes = 0, size;

	next[0] = '\0';
	/* Registry order is arrival order; pages need a stable one.  The
	 * registry is small enough to walk once per worker in the page. */
	for (;;) {
		w = NULL;
		for (i = 0; i < c->reg.n; i++) {
			const struct cworker *v = c->reg.v[i];

			if ((last != NULL ? strcmp(v->name, last->name) > 0 :
			    after == NULL || strcmp(v->name, after) > 0) &&
			    (w == NULL || strcmp(v->name, w->name) < 0))
				w = v;
		}
		if (w == NULL)
			break;
		o = coord_doc_worker(c, w, false, NULL);
		size = json_size(o);
		if (n == WORKERS_PAGE_MAX || (n > 0 && bytes + size > budget)) {
			cJSON_Delete(o);
			snprintf(next, NAME_MAX_LEN + 1, "%s", last->name);
			break;
		}
		cJSON_AddItemToArray(a, o);
		bytes += size;
		last = w;
		n++;
	}
	return a;
}

static cJSON *
doc_new(void)
{
	cJSON	*doc = cJSON_CreateObject();

	cJSON_AddNumberToObject(doc, "now", (double)now_ms());
	return doc;
}

cJSON *
coord_doc_workers(struct coord *c, const char *after, char *err,
    size_t errlen)
{
	cJSON	*doc;
	char	 next[NAME_MAX_LEN + 1];

	if (after != NULL && !name_valid(after, NAME_MAX_LEN)) {
		snprintf(err, errlen, "malformed cursor");
		return NULL;
	}
	doc = doc_new();
	cJSON_AddItemToObject(doc, "workers", workers_json(c, after,
	    WORKERS_PAGE_BYTES, next));
	if (next[0] != '\0')
		cJSON_AddStringToObject(doc, "next", next);
	return doc;
}

cJSON *
coord_doc_worker_show(struct coord *c, const char *name, const char *client,
    char *err, size_t errlen)
{
	const struct cworker	*w = registry_find(&c->reg, name);
	cJSON			*doc;

	if (w == NULL) {
		snprintf(err, errlen, "no worker '%s'", name);
		return NULL;
	}
	doc = doc_new();
	cJSON_AddItemToObject(doc, "worker", coord_doc_worker(c, w, true,
	    client));
	return doc;
}

/* ---- jobs ---- */

/* The command line, shortened: for tables. */
static void
add_command(cJSON *o, const char *binary, const struct strv *args)
{
	char	s[COMMAND_MAX + 4];
	size_t	i, len, n;

	len = 0;
	for (i = 0; i <= args->n && len <= COMMAND_MAX; i++) {
		const char *w = i == 0 ? binary : args->v[i - 1];

		if (i > 0)
			s[len++] = ' ';
		n = strlen(w);
		if (n > COMMAND_MAX + 1 - len)
			n = COMMAND_MAX + 1 - len;
		memcpy(s + len, w, n);
		len += n;
	}
	if (len > COMMAND_MAX) {
		/* Cut, not inside a UTF-8 sequence. */
		len = COMMAND_MAX;
		while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
			len--;
		memcpy(s + len, "...", 3);
		len += 3;
	}
	s[len] = '\0';
	cJSON_AddStringToObject(o, "command", s);
}

/* The summary of a job: its row, with what only the live job knows. */
static cJSON *
job_summary(struct coord *c, const struct job_row *row)
{
	cJSON			*o = cJSON_CreateObject(), *p;
	const struct cjob	*j = jobtab_find(&c->jobs, row->id);
	struct strv		 args = { 0 };
	struct progress		 prog;

	cJSON_AddStringToObject(o, "id", row->id);
	cJSON_AddStringToObject(o, "client", row->client);
	cJSON_AddStringToObject(o, "binary", row->binary);
	cJSON_AddStringToObject(o, "state", j != NULL ?
	    jobstate_name(j->state) : row->state);
	if ((j != NULL ? j->worker : row->worker)[0] != '\0')
		cJSON_AddStringToObject(o, "worker", j != NULL ? j->worker :
		    row->worker);
	else
		cJSON_AddNullToObject(o, "worker");
	add_time(o, "created", row->created);
	add_time(o, "updated", row->updated);
	cJSON_AddBoolToObject(o, "detached", row->detached);
	if (row->exited) {
		cJSON_AddNumberToObject(o, "exit_code", row->exit_code);
		cJSON_AddNumberToObject(o, "exit_signal", row->exit_signal);
	} else {
		cJSON_AddNullToObject(o, "exit_code");
		cJSON_AddNullToObject(o, "exit_signal");
	}
	if (row->reason != NULL)
		cJSON_AddStringToObject(o, "reason", row->reason);
	else
		cJSON_AddNullToObject(o, "reason");
	if (j != NULL && j->state == JS_PENDING)
		cJSON_AddNumberToObject(o, "queue_position",
		    (double)jobtab_position(&c->jobs, j));
	p = cJSON_AddObjectToObject(o, "progress");
	if (j != NULL && j->progress.known)
		progress_json(&j->progress, p);
	else if (row->progress != NULL &&
	    progress_parse(row->progress, &prog) == 0) {
		progress_json(&prog, p);
		/* The last status line is a frame short of the end. */
		if (strcmp(row->state, "completed") == 0 &&
		    cJSON_HasObjectItem(p, "percent"))
			cJSON_ReplaceItemInObject(p, "percent",
			    cJSON_CreateNumber(100));
	}
	if (store_row_args(row, &args) == 0)
		add_command(o, row->binary, &args);
	strv_free(&args);
	return o;
}

struct jobs_page {
	struct coord	*c;
	cJSON		*jobs;
	int		 n;
	int		 limit;
	size_t		 bytes;		/* of JSON so far */
	bool		 more;		/* a row beyond the page */
	int64_t		 last_created;
	char		 last_id[ID_BUF];
};

static int
add_job(const struct job_row *row, void *arg)
{
	struct jobs_page	*p = arg;
	cJSON			*o;
	size_t			 size;

	if (p->n == p->limit) {
		p->more = true;	/* one more than fits: there is a next page */
		return 1;
	}
	/* Arguments come from clients: a page is bounded in bytes too. */
	o = job_summary(p->c, row);
	size = json_size(o);
	if (p->n > 0 && p->bytes + size > JOBS_PAGE_BYTES) {
		cJSON_Delete(o);
		p->more = true;
		return 1;
	}
	cJSON_AddItemToArray(p->jobs, o);
	p->bytes += size;
	p->n++;
	p->last_created = row->created;
	snprintf(p->last_id, sizeof(p->last_id), "%s", row->id);
	return 0;
}

/* A cursor is "<created ms>:<job id>" of the last job of a page. */
static int
cursor_parse(const char *s, int64_t *created, char *id, size_t idlen)
{
	char		*end;
	long long	 v;

	v = strtoll(s, &end, 10);
	if (end == s || *end != ':' || v < 0 || !name_valid(end + 1, ID_LEN))
		return -1;
	*created = v;
	snprintf(id, idlen, "%s", end + 1);
	return 0;
}

cJSON *
coord_doc_jobs(struct coord *c, const struct job_query *q, char *err,
    size_t errlen)
{
	struct job_filter	 f;
	struct jobs_page	 p;
	const char		*states[17];
	char			 cid[ID_BUF], next[64];
	cJSON			*doc;
	size_t			 i;

	memset(&f, 0, sizeof(f));
	if (q->states != NULL && q->states->n > 0) {
		if (q->states->n >= nitems(states)) {
			snprintf(err, errlen, "too many states");
			return NULL;
		}
		for (i = 0; i < q->states->n; i++) {
			if (jobstate_parse(q->states->v[i]) < 0) {
				snprintf(err, errlen, "unknown job state '%s' "
				    "(pending, assigned, running, canceling, "
				    "completed, failed, canceled)",
				    q->states->v[i]);
				return NULL;
			}
			states[i] = q->states->v[i];
		}
		states[i] = NULL;
		f.states = states;
	}
	if (q->window_ms > 0)
		f.since = now_ms() - q->window_ms;
	f.client = q->client;
	f.worker = q->worker;
	if (q->cursor != NULL) {
		if (cursor_parse(q->cursor, &f.before_created, cid,
		    sizeof(cid)) != 0) {
			snprintf(err, errlen, "malformed cursor");
			return NULL;
		}
		f.before_id = cid;
	}
	memset(&p, 0, sizeof(p));
	p.c = c;
	p.limit = q->limit > 0 && q->limit < JOBS_PAGE_MAX ? q->limit :
	    JOBS_PAGE_MAX;
	f.limit = p.limit + 1;
	doc = doc_new();
	p.jobs = cJSON_AddArrayToObject(doc, "jobs");
	if (store_job_query(c->store, &f, add_job, &p) != 0) {
		cJSON_Delete(doc);
		snprintf(err, errlen, "the coordinator's database failed "
		    "(see its log)");
		return NULL;
	}
	if (p.more) {
		snprintf(next, sizeof(next), "%lld:%s",
		    (long long)p.last_created, p.last_id);
		cJSON_AddStringToObject(doc, "next", next);
	}
	return doc;
}

static int
add_job_transition(int64_t ts, const char *from, const char *to,
    const char *reason, void *arg)
{
	return add_transition(ts, from, to, reason, arg);
}

cJSON *
coord_doc_job(struct coord *c, const char *id, const char *client,
    char *err, size_t errlen)
{
	struct job_row	 row;
	struct strv	 args = { 0 }, paths = { 0 };
	struct strmap	 env = { 0 };
	struct wtrans	 t;
	cJSON		*doc, *o;
	char		*text;
	size_t		 len;

	memset(&row, 0, sizeof(row));
	if (!name_valid(id, ID_LEN) || store_job_get(c->store, id, &row) != 0 ||
	    (client != NULL && strcmp(row.client, client) != 0)) {
		store_job_clear(&row);
		snprintf(err, errlen, "no job '%s'", id);
		return NULL;
	}
	doc = doc_new();
	o = job_summary(c, &row);
	cJSON_AddItemToObject(doc, "job", o);
	store_row_args(&row, &args);
	store_row_paths(&row, &paths);
	store_row_env(&row, &env);
	cJSON_AddItemToObject(o, "args", strv_json(&args));
	if (row.cwd != NULL)
		cJSON_AddStringToObject(o, "cwd", row.cwd);
	else
		cJSON_AddNullToObject(o, "cwd");
	cJSON_AddItemToObject(o, "paths", strv_json(&paths));
	cJSON_AddItemToObject(o, "env", strmap_json(&env));
	cJSON_AddNumberToObject(o, "bytes_in", (double)row.bytes_in);
	cJSON_AddNumberToObject(o, "bytes_out", (double)row.bytes_out);
	t.all = cJSON_AddArrayToObject(o, "transitions");
	t.n = 0;
	store_job_transitions(c->store, id, add_job_transition, &t);
	/* Arguments come from the client: a page must still fit. */
	text = cJSON_PrintUnformatted(doc);
	len = text != NULL ? strlen(text) : 0;
	cJSON_free(text);
	if (len > DOC_BYTES_MAX) {
		cJSON_ReplaceItemInObject(o, "args", cJSON_CreateArray());
		cJSON_ReplaceItemInObject(o, "env", cJSON_CreateObject());
		cJSON_AddBoolToObject(o, "args_omitted", true);
	}
	strv_free(&args);
	strv_free(&paths);
	strmap_free(&env);
	store_job_clear(&row);
	return doc;
}

/* ---- the status ---- */

cJSON *
coord_doc_status(struct coord *c, const char *client)
{
	struct job_query	 q;
	const struct cjob	*j;
	cJSON			*doc, *queue, *o, *counts, *jobs, *recent;
	char			 err[128], next[NAME_MAX_LEN + 1];
	int			 n[JS__COUNT] = { 0 };
	int			 k;
	size_t			 pos, shown = 0;

	doc = doc_new();
	cJSON_AddStringToObject(doc, "version", DFFMPEG_VERSION);
	cJSON_AddNumberToObject(doc, "uptime_ms",
	    (double)(mono_ms() - c->started));
	cJSON_AddBoolToObject(doc, "broker_connected",
	    mqtt_is_connected(c->mqtt));
	cJSON_AddItemToObject(doc, "workers", workers_json(c, NULL,
	    STATUS_WORKERS_BYTES, next));
	cJSON_AddNumberToObject(doc, "workers_total", (double)c->reg.n);
	queue = cJSON_AddArrayToObject(doc, "queue");
	pos = 0;
	for (j = jobtab_first_pending(&c->jobs); j != NULL;
	    j = jobtab_next_pending(j)) {
		pos++;
		if (client != NULL && strcmp(j->client, client) != 0)
			continue;
		/* The head of the queue; queue_total says how long it is. */
		if (++shown > STATUS_QUEUE_MAX)
			continue;
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", j->id);
		cJSON_AddStringToObject(o, "client", j->client);
		cJSON_AddStringToObject(o, "binary", j->binary);
		cJSON_AddNumberToObject(o, "position", (double)pos);
		cJSON_AddNumberToObject(o, "waiting_ms",
		    (double)(mono_ms() - j->queued_at));
		cJSON_AddItemToArray(queue, o);
	}
	cJSON_AddNumberToObject(doc, "queue_total", (double)shown);
	for (j = jobtab_first(&c->jobs); j != NULL; j = jobtab_next(j))
		if (client == NULL || strcmp(j->client, client) == 0)
			n[j->state]++;
	counts = cJSON_AddObjectToObject(doc, "unfinished");
	for (k = 0; k < JS__COUNT; k++)
		if (!jobstate_terminal(k))
			cJSON_AddNumberToObject(counts, jobstate_name(k), n[k]);
	memset(&q, 0, sizeof(q));
	q.client = client;
	q.limit = STATUS_JOBS;
	jobs = coord_doc_jobs(c, &q, err, sizeof(err));
	recent = jobs != NULL ? cJSON_DetachItemFromObject(jobs, "jobs") :
	    cJSON_CreateArray();
	cJSON_AddItemToObject(doc, "jobs", recent);
	cJSON_Delete(jobs);
	return doc;
}
