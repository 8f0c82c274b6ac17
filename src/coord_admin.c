/*
 * The operations of `admin` messages (dffmpeg admin worker|job ...), one
 * row of a table each.  Drain and resume are what an administrator wants
 * of a worker: they are kept with the worker and re-sent until its
 * heartbeat shows it acted on them.  See coord.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "coord.h"
#include "hwcaps.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#define WANT_RESEND_MS	1000

typedef void (*admin_fn)(struct coord *, const struct sender *,
    const struct msg *);

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
send_want(struct coord *c, struct cworker *w)
{
	bool		drain = w->want == WANT_DRAIN;
	struct msg	m;

	w->want_sent = mono_ms();
	msg_init(&m, MT_DRAIN, COORDINATOR_NAME);
	msg_set_str(&m, F_STATUS, drain ? "draining" : "online");
	msg_set_str(&m, F_REASON, drain ? "drained by an administrator" :
	    "resumed by an administrator");
	coord_to_worker(c, w->name, &m);
}

void
coord_admin_resend(struct coord *c, struct cworker *w)
{
	if (w->want == WANT_RESUME && !w->reports_draining) {
		w->want = WANT_NONE;	/* done */
		return;
	}
	if ((w->want == WANT_DRAIN && !w->reports_draining) ||
	    (w->want == WANT_RESUME && w->reports_draining)) {
		/* Lost on the way, or it registered again since. */
		if (mono_ms() - w->want_sent >= WANT_RESEND_MS)
			send_want(c, w);
	}
}

static void
admin_drain(struct coord *c, const struct sender *s, const struct msg *req,
    bool drain)
{
	struct cworker	*w;

	if (!(req->present & FBIT(F_TARGET)) ||
	    (w = registry_find(&c->reg, req->target)) == NULL ||
	    w->state == WS_REGISTERING || w->state == WS_OFFLINE) {
		admin_reply(c, s, req, 1, "no worker named '%s' is registered",
		    req->present & FBIT(F_TARGET) ? req->target : "");
		return;
	}
	w->want = drain ? WANT_DRAIN : WANT_RESUME;
	send_want(c, w);
	log_info("worker %s: %s by %s", w->name, drain ? "drained" :
	    "resumed", s->name);
	if (w->state == WS_ONLINE || w->state == WS_DRAINING)
		registry_transition(&c->reg, w, drain ? WS_DRAINING :
		    registry_reported_state(w), drain ? "drained by an "
		    "administrator" : "resumed by an administrator");
	if (!drain)
		coord_schedule(c);
	admin_reply(c, s, req, 0, "worker %s %s (%d job%s running)", w->name,
	    drain ? "is draining" : "takes jobs again", w->active,
	    w->active == 1 ? "" : "s");
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

/* " cuda 1/3 vaapi 0/2": a worker's device slots in use. */
static void
add_slots(struct buf *b, const struct cworker *w)
{
	char	part[64];
	size_t	i;
	int	n;

	for (i = 0; i < w->nslots; i++) {
		n = snprintf(part, sizeof(part), " %s %d/%d", w->slots[i].type,
		    w->slots[i].used, w->slots[i].max);
		buf_add(b, part, (size_t)n);
	}
}

static void
admin_workers(struct coord *c, const struct sender *s, const struct msg *req)
{
	struct buf	 b = { 0 };
	char		 line[256], nul = '\0';
	size_t		 i;
	int		 n;

	for (i = 0; i < c->reg.n; i++) {
		struct cworker	*w = c->reg.v[i];
		char		 slots[16] = "-";

		if (w->max_jobs > 0)
			snprintf(slots, sizeof(slots), "%d", w->max_jobs);
		n = snprintf(line, sizeof(line), "%-20s %-11s jobs %d/%s "
		    "weight %d", w->name, worker_state_name(w->state),
		    w->active, slots, w->weight);
		buf_add(&b, line, (size_t)n);
		if (w->nslots > 0) {
			buf_add(&b, " slots", 6);
			add_slots(&b, w);
		}
		buf_add(&b, "\n", 1);
	}
	buf_add(&b, &nul, 1);
	admin_reply(c, s, req, 0, "%s", (char *)b.data);
	buf_free(&b);
}

/* One line "LABEL: a b c" of the names of list k with (hw) or without a
 * device type; "-" for none. */
static void
add_names(struct buf *b, const char *label, const struct strv *sv, bool hw)
{
	size_t	i;
	bool	any = false;

	buf_add(b, label, strlen(label));
	for (i = 0; i < sv->n; i++) {
		if ((hw_type_of(sv->v[i]) != NULL) != hw)
			continue;
		buf_add(b, " ", 1);
		buf_add(b, sv->v[i], strlen(sv->v[i]));
		any = true;
	}
	buf_add(b, any ? "\n" : " -\n", any ? 1 : 3);
}

/* Everything the coordinator knows of one worker's hardware. */
static void
admin_worker_show(struct coord *c, const struct sender *s,
    const struct msg *req)
{
	struct cworker	*w;
	struct buf	 b = { 0 };
	char		 line[512], nul = '\0';
	size_t		 i;
	int		 n;

	if (!(req->present & FBIT(F_TARGET)) ||
	    (w = registry_find(&c->reg, req->target)) == NULL) {
		admin_reply(c, s, req, 1, "no worker '%s'",
		    req->present & FBIT(F_TARGET) ? req->target : "");
		return;
	}
	n = snprintf(line, sizeof(line), "worker %s: %s, %d job%s running, "
	    "max_jobs %d, weight %d\n", w->name, worker_state_name(w->state),
	    w->active, w->active == 1 ? "" : "s", w->max_jobs, w->weight);
	buf_add(&b, line, (size_t)n);
	buf_add(&b, "device slots:", 13);
	add_slots(&b, w);
	buf_add(&b, w->nslots == 0 ? " -\n" : "\n", w->nslots == 0 ? 3 : 1);
	if (!w->caps_known) {
		buf_add(&b, "capabilities: not known (no probe result)\n",
		    43);
	} else {
		add_names(&b, "verified device types:",
		    &w->caps.lists[CAPS_HWACCELS], false);
		add_names(&b, "hardware encoders:",
		    &w->caps.lists[CAPS_ENCODERS], true);
		add_names(&b, "hardware decoders:",
		    &w->caps.lists[CAPS_DECODERS], true);
		add_names(&b, "hardware filters:",
		    &w->caps.lists[CAPS_FILTERS], true);
		n = snprintf(line, sizeof(line), "device nodes:");
		buf_add(&b, line, (size_t)n);
		for (i = 0; i < w->caps.devices.n; i++) {
			buf_add(&b, " ", 1);
			buf_add(&b, w->caps.devices.v[i],
			    strlen(w->caps.devices.v[i]));
		}
		buf_add(&b, w->caps.devices.n == 0 ? " -\n" : "\n",
		    w->caps.devices.n == 0 ? 3 : 1);
		n = snprintf(line, sizeof(line), "not offered (%zu):\n",
		    w->caps.failed.n);
		buf_add(&b, line, (size_t)n);
		for (i = 0; i < w->caps.failed.n; i++) {
			n = snprintf(line, sizeof(line), "  %s: %s\n",
			    w->caps.failed.keys[i], w->caps.failed.vals[i]);
			buf_add(&b, line, (size_t)n < sizeof(line) ? (size_t)n :
			    sizeof(line) - 1);
		}
	}
	buf_add(&b, &nul, 1);
	admin_reply(c, s, req, 0, "%s", (char *)b.data);
	buf_free(&b);
}

static void
admin_cancel(struct coord *c, const struct sender *s, const struct msg *req)
{
	struct cjob	*j;

	if (!(req->present & FBIT(F_TARGET)) ||
	    (j = jobtab_find(&c->jobs, req->target)) == NULL) {
		admin_reply(c, s, req, 1, "no unfinished job '%s'",
		    req->present & FBIT(F_TARGET) ? req->target : "");
		return;
	}
	j->cancel_relay = true;
	coord_job_cancel(c, j, "canceled by an administrator");
	/* coord_job_cancel may have finished (and freed) the job. */
	j = jobtab_find(&c->jobs, req->target);
	admin_reply(c, s, req, 0, "job %s: %s", req->target,
	    jobstate_name(j != NULL ? j->state : JS_CANCELED));
}

static const struct {
	const char	*what;
	admin_fn	 fn;
} admin_ops[] = {
	{ "drain", admin_do_drain },
	{ "resume", admin_do_resume },
	{ "workers", admin_workers },
	{ "worker-show", admin_worker_show },
	{ "cancel", admin_cancel },
};

void
coord_admin(struct coord *c, const struct sender *s, const struct msg *req)
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

void
coord_query(struct coord *c, const struct sender *s, const struct msg *req)
{
	const struct cworker	*best = NULL, *w;
	const struct caps_output *o;
	const char		*bin;
	struct msg		 m;
	cJSON			*data;
	char			*text, *out, *err;
	size_t			 i;
	int			 k = -1;

	if (strcmp(req->what, "probe") == 0 &&
	    (req->present & FBIT(F_TARGET)))
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
