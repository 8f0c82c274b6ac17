/*
 * The coordinator's HTTP surface (design §11): the dashboard, the JSON API
 * (the documents of `dffmpeg client|admin ... --json`, from the same
 * functions, in an administrator's view), /metrics and /health.  The
 * routes are the table below; http.c puts the allow-list, the limits and
 * the no-cache headers in front of every one of them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <sodium.h>

#include "coord.h"
#include "http.h"
#include "log.h"
#include "mqtt.h"
#include "units.h"
#include "util.h"
#include "web.h"
#include "xmalloc.h"

#define CSP_MAX		1024
#define STATES_MAX	8
#define JOBS_LIMIT_MAX	200	/* a page of a job list */
#define STORE_WAIT_UNHEALTHY_MS	30000	/* writes waiting: unhealthy */

/* The page's Content-Security-Policy: its own inline scripts (by hash)
 * and styles, requests to this origin, nothing else.  Should a value
 * ever slip past the page's escaping, no script of it runs. */
static char csp[CSP_MAX];

static void
csp_build(void)
{
	const char	*p = web_dashboard, *open, *body, *close;
	unsigned char	 h[crypto_hash_sha256_BYTES];
	char		 b64[sodium_base64_ENCODED_LEN(sizeof(h),
			    sodium_base64_VARIANT_ORIGINAL)];
	size_t		 o;

	o = (size_t)snprintf(csp, sizeof(csp), "default-src 'none'; "
	    "script-src");
	while ((open = strstr(p, "<script")) != NULL &&
	    (body = strchr(open, '>')) != NULL &&
	    (close = strstr(++body, "</script>")) != NULL) {
		crypto_hash_sha256(h, (const unsigned char *)body,
		    (unsigned long long)(close - body));
		sodium_bin2base64(b64, sizeof(b64), h, sizeof(h),
		    sodium_base64_VARIANT_ORIGINAL);
		if (o + strlen(b64) + 16 < sizeof(csp))
			o += (size_t)snprintf(csp + o, sizeof(csp) - o,
			    " 'sha256-%s'", b64);
		p = close;
	}
	snprintf(csp + o, sizeof(csp) - o, "; style-src 'unsafe-inline'; "
	    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
	    "form-action 'none'; frame-ancestors 'none'");
}

static void
r_dashboard(struct http_req *r, void *arg)
{
	(void)arg;
	http_header(r, "Content-Security-Policy", csp);
	http_header(r, "X-Frame-Options", "DENY");
	http_reply(r, 200, "text/html; charset=utf-8", web_dashboard,
	    web_dashboard_len);
}

/* A document, or err as a 404 (no such thing) or 400 (a bad question). */
static void
answer(struct http_req *r, cJSON *doc, const char *err, int status)
{
	if (doc == NULL)
		http_error(r, status, err);
	else
		http_reply_json(r, 200, doc);
}

static void
r_status(struct http_req *r, void *arg)
{
	coord_flush(arg);
	http_reply_json(r, 200, coord_doc_status(arg, NULL));
}

static void
r_workers(struct http_req *r, void *arg)
{
	char	err[160];

	answer(r, coord_doc_workers(arg, http_param(r, "cursor"), err,
	    sizeof(err)), err, 400);
}

static void
r_worker(struct http_req *r, void *arg)
{
	char	err[160];

	answer(r, coord_doc_worker_show(arg, r->arg[0], NULL, err,
	    sizeof(err)), err, 404);
}

/* ?state=running,failed&window=1h&client=C&worker=W&cursor=N&limit=N */
static void
r_jobs(struct http_req *r, void *arg)
{
	struct job_query	 q;
	struct strv		 states = { 0 };
	const char		*v;
	char			 err[160], *list, *s, *save = NULL;
	long			 limit;
	cJSON			*doc;

	memset(&q, 0, sizeof(q));
	if ((v = http_param(r, "state")) != NULL) {
		list = xstrdup(v);
		for (s = strtok_r(list, ",", &save); s != NULL;
		    s = strtok_r(NULL, ",", &save)) {
			if (jobstate_parse(s) < 0 || states.n >= STATES_MAX) {
				free(list);
				strv_free(&states);
				http_error(r, 400, "state: a list of job states "
				    "(pending, assigned, running, canceling, "
				    "completed, failed, canceled)");
				return;
			}
			strv_push(&states, s);
		}
		free(list);
		q.states = &states;
	}
	if ((v = http_param(r, "window")) != NULL &&
	    (units_duration(v, &q.window_ms) == -1 || q.window_ms <= 0)) {
		strv_free(&states);
		http_error(r, 400, "window: a duration such as 30m, 2h or 7d");
		return;
	}
	if ((v = http_param(r, "limit")) != NULL) {
		limit = strtol(v, &s, 10);
		if (*v == '\0' || *s != '\0' || limit < 1 ||
		    limit > JOBS_LIMIT_MAX) {
			strv_free(&states);
			http_error(r, 400, "limit: a number from 1 to 200");
			return;
		}
		q.limit = (int)limit;
	}
	q.client = http_param(r, "client");
	q.worker = http_param(r, "worker");
	q.cursor = http_param(r, "cursor");
	coord_flush(arg);
	doc = coord_doc_jobs(arg, &q, err, sizeof(err));
	strv_free(&states);
	answer(r, doc, err, 400);
}

static void
r_job(struct http_req *r, void *arg)
{
	char	err[160];

	/* What the store has not got yet is part of the answer. */
	coord_flush(arg);
	answer(r, coord_doc_job(arg, r->arg[0], NULL, err, sizeof(err)), err,
	    404);
}

/* ?after=N: the batches after the cursor "next" of the previous page. */
static void
r_logs(struct http_req *r, void *arg)
{
	const char	*v = http_param(r, "after");
	char		 err[160], *end;
	long long	 after = 0;

	if (v != NULL) {
		after = strtoll(v, &end, 10);
		if (*v == '\0' || *end != '\0' || after < 0) {
			http_error(r, 400, "after: the \"next\" of the page "
			    "before");
			return;
		}
	}
	if (!name_valid(r->arg[0], ID_LEN)) {
		http_error(r, 404, "no such job");
		return;
	}
	coord_flush(arg);
	answer(r, coord_doc_logs(arg, r->arg[0], NULL, after, err,
	    sizeof(err)), err, 404);
}

static void
r_metrics(struct http_req *r, void *arg)
{
	struct evbuffer	*b = evbuffer_new();

	if (b == NULL)
		fatalx("evbuffer_new: out of memory");
	coord_metrics(arg, b);
	http_reply_buffer(r, 200, "text/plain; version=0.0.4; charset=utf-8",
	    b);
	evbuffer_free(b);
}

/* 200 while the coordinator can do its work; 503 with the reason while
 * it stops, or while its broker or its database fails it. */
static void
r_health(struct http_req *r, void *arg)
{
	struct coord	*c = arg;
	cJSON		*o = cJSON_CreateObject();
	char		 why[256];
	const char	*err;

	why[0] = '\0';
	if (c->stopping)
		snprintf(why, sizeof(why), "shutting down");
	else if (!mqtt_is_connected(c->mqtt)) {
		err = mqtt_last_error(c->mqtt);
		snprintf(why, sizeof(why), "not connected to the broker%s%s",
		    err != NULL && *err != '\0' ? ": " : "",
		    err != NULL ? err : "");
	} else if (c->store_error[0] != '\0')
		snprintf(why, sizeof(why), "%s", c->store_error);
	else if (c->store_waiting > 0 &&
	    mono_ms() - c->store_waiting > STORE_WAIT_UNHEALTHY_MS)
		snprintf(why, sizeof(why), "writes have waited %lld s for the "
		    "database (locked by another connection?)",
		    (long long)((mono_ms() - c->store_waiting) / 1000));
	cJSON_AddStringToObject(o, "status", why[0] == '\0' ? "ok" :
	    "unavailable");
	if (why[0] != '\0')
		cJSON_AddStringToObject(o, "reason", why);
	cJSON_AddStringToObject(o, "version", DFFMPEG_VERSION);
	cJSON_AddNumberToObject(o, "uptime_ms",
	    (double)(mono_ms() - c->started));
	cJSON_AddBoolToObject(o, "broker_connected",
	    mqtt_is_connected(c->mqtt));
	http_reply_json(r, why[0] == '\0' ? 200 : 503, o);
}

static const struct http_route routes[] = {
	{ "/", r_dashboard },
	{ "/health", r_health },
	{ "/metrics", r_metrics },
	{ "/api/v1/status", r_status },
	{ "/api/v1/workers", r_workers },
	{ "/api/v1/workers/*", r_worker },
	{ "/api/v1/jobs", r_jobs },
	{ "/api/v1/jobs/*", r_job },
	{ "/api/v1/jobs/*/logs", r_logs },
	{ NULL, NULL }
};

int
coord_http_start(struct coord *c, char *err, size_t errlen)
{
	const struct http_conf	*h = &c->conf.http;

	if (h->port == 0)
		return 0;
	csp_build();
	c->http = http_new(c->base, h->listen, h->port, &h->allow, &h->hosts,
	    routes, c, err, errlen);
	if (c->http == NULL)
		return -1;
	log_info("dashboard, API and metrics on http://%s%s%s:%d/",
	    strchr(h->listen, ':') != NULL ? "[" : "", h->listen,
	    strchr(h->listen, ':') != NULL ? "]" : "", h->port);
	return 0;
}

void
coord_http_stop(struct coord *c)
{
	http_free(c->http);
	c->http = NULL;
}
