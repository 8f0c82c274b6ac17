/*
 * The `query` message: its subjects are a table of functions that build
 * the documents of coord_docs.c (and coord_logs.c), answered in a
 * `reply`; "probe" answers a listing option from the capability cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "caps.h"
#include "coord.h"
#include "log.h"
#include "mqtt.h"
#include "util.h"
#include "xmalloc.h"

/* ---- `query` ---- */

static void
reply_doc(struct coord *c, const struct sender *s, const struct msg *req,
    cJSON *doc, const char *err)
{
	struct msg	 m;
	char		*text;

	msg_init(&m, MT_REPLY, COORDINATOR_NAME);
	if (doc == NULL) {
		msg_set_int(&m, F_CODE, 1);
		msg_set_str(&m, F_TEXT, err);
		coord_answer(c, s, req, &m);
		return;
	}
	if ((text = cJSON_PrintUnformatted(doc)) == NULL)
		fatalx("cJSON: out of memory");
	cJSON_Delete(doc);
	/* Pages are sized to fit; this is the last line of defence. */
	if (strlen(text) > MSG_MAX_BYTES - 8192) {
		log_warnx("a %s answer of %zu bytes does not fit a message",
		    req->what, strlen(text));
		cJSON_free(text);
		msg_set_int(&m, F_CODE, 1);
		msg_set_str(&m, F_TEXT, "the answer is too large for one "
		    "message");
		coord_answer(c, s, req, &m);
		return;
	}
	msg_set_int(&m, F_CODE, 0);
	msg_set_str(&m, F_DATA, text);
	cJSON_free(text);
	coord_answer(c, s, req, &m);
}

typedef cJSON *(*query_fn)(struct coord *, const struct sender *,
    const struct msg *, const char *client, char *err, size_t errlen);

static const char *
target(const struct msg *req)
{
	return req->present & FBIT(F_TARGET) ? req->target : "";
}

static cJSON *
q_status(struct coord *c, const struct sender *s, const struct msg *req,
    const char *client, char *err, size_t errlen)
{
	(void)s;
	(void)req;
	(void)err;
	(void)errlen;
	return coord_doc_status(c, client);
}

static cJSON *
q_workers(struct coord *c, const struct sender *s, const struct msg *req,
    const char *client, char *err, size_t errlen)
{
	(void)s;
	(void)client;
	return coord_doc_workers(c, req->present & FBIT(F_CURSOR) ?
	    req->cursor : NULL, err, errlen);
}

static cJSON *
q_worker(struct coord *c, const struct sender *s, const struct msg *req,
    const char *client, char *err, size_t errlen)
{
	(void)s;
	return coord_doc_worker_show(c, target(req), client, err, errlen);
}

static cJSON *
q_jobs(struct coord *c, const struct sender *s, const struct msg *req,
    const char *client, char *err, size_t errlen)
{
	struct job_query	q;

	(void)s;
	memset(&q, 0, sizeof(q));
	q.states = req->present & FBIT(F_STATES) ? &req->states : NULL;
	q.window_ms = req->present & FBIT(F_WINDOW) ? req->window : 0;
	q.client = client != NULL ? client : req->present & FBIT(F_CLIENT) ?
	    req->client : NULL;
	q.worker = req->present & FBIT(F_WORKER) ? req->worker : NULL;
	q.cursor = req->present & FBIT(F_CURSOR) ? req->cursor : NULL;
	return coord_doc_jobs(c, &q, err, errlen);
}

static cJSON *
q_job(struct coord *c, const struct sender *s, const struct msg *req,
    const char *client, char *err, size_t errlen)
{
	(void)s;
	return coord_doc_job(c, target(req), client, err, errlen);
}

static cJSON *
q_logs(struct coord *c, const struct sender *s, const struct msg *req,
    const char *client, char *err, size_t errlen)
{
	(void)s;
	if (!name_valid(target(req), ID_LEN)) {
		snprintf(err, errlen, "no job '%s'", target(req));
		return NULL;
	}
	return coord_doc_logs(c, target(req), client,
	    req->present & FBIT(F_SEQ) ? req->seq : 0, err, errlen);
}

static const struct {
	const char	*what;
	query_fn	 fn;
} queries[] = {
	{ "status", q_status },
	{ "workers", q_workers },
	{ "worker", q_worker },
	{ "jobs", q_jobs },
	{ "job", q_job },
	{ "logs", q_logs },
};

/* How many names w's ffmpeg lists: "the most capable" worker. */
static size_t
caps_size(const struct cworker *w)
{
	size_t	n = 0;
	int	k;

	for (k = 0; k < CAPS__COUNT; k++)
		n += w->caps.lists[k].n;
	return n;
}

/* A listing probe ("-encoders"), answered from a worker's output. */
static void
query_probe(struct coord *c, const struct sender *s, const struct msg *req)
{
	const struct cworker	*best = NULL, *w;
	const struct caps_output *o;
	const char		*bin;
	struct msg		 m;
	cJSON			*data;
	char			*text, *out, *err;
	size_t			 i;
	int			 k = -1;

	if (req->present & FBIT(F_TARGET))
		k = caps_output_lookup(req->target);
	for (i = 0; k >= 0 && i < c->reg.n; i++) {
		w = c->reg.v[i];
		bin = strmap_get(&w->binaries, "ffmpeg");
		if (!worker_state_present(w->state) || w->state == WS_STALE ||
		    !w->caps_known || !w->caps.outputs[k].known ||
		    bin == NULL || strcmp(bin, "ok") != 0)
			continue;
		if (best == NULL || caps_size(w) > caps_size(best) ||
		    (caps_size(w) == caps_size(best) &&
		    strcmp(w->name, best->name) < 0))
			best = w;
	}
	msg_init(&m, MT_REPLY, COORDINATOR_NAME);
	if (best == NULL) {
		msg_set_str(&m, F_STATE, "unknown");
		coord_answer(c, s, req, &m);
		return;
	}
	o = &best->caps.outputs[k];
	out = xmalloc(buf_used(&o->out) + 1);
	err = xmalloc(buf_used(&o->err) + 1);
	if (buf_used(&o->out) > 0)
		memcpy(out, buf_head(&o->out), buf_used(&o->out));
	out[buf_used(&o->out)] = '\0';
	if (buf_used(&o->err) > 0)
		memcpy(err, buf_head(&o->err), buf_used(&o->err));
	err[buf_used(&o->err)] = '\0';
	data = cJSON_CreateObject();
	cJSON_AddStringToObject(data, "stdout", out);
	cJSON_AddStringToObject(data, "stderr", err);
	text = cJSON_PrintUnformatted(data);
	cJSON_Delete(data);
	free(out);
	free(err);
	msg_set_str(&m, F_STATE, "answered");
	msg_set_int(&m, F_CODE, o->status);
	msg_set_str(&m, F_WORKER, best->name);
	msg_set_str(&m, F_DATA, text);
	free(text);
	coord_answer(c, s, req, &m);
}

void
coord_query(struct coord *c, const struct sender *s, const struct msg *req)
{
	/* A client sees its own jobs; an administrator everyone's. */
	const char	*client = s->role == ROLE_ADMIN ? NULL : s->name;
	char		 err[256], text[300];
	size_t		 i;

	if (strcmp(req->what, "probe") == 0) {
		query_probe(c, s, req);
		return;
	}
	for (i = 0; i < nitems(queries); i++) {
		if (strcmp(req->what, queries[i].what) == 0) {
			err[0] = '\0';
			reply_doc(c, s, req, queries[i].fn(c, s, req, client,
			    err, sizeof(err)), err);
			return;
		}
	}
	snprintf(text, sizeof(text), "unknown query '%s'", req->what);
	reply_doc(c, s, req, NULL, text);
}
