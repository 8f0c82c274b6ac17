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

#include "coord.h"
#include "log.h"
#include "store.h"
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
		admin_reply(c, s, req, 1, "no worker '%s' is registered",
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

/* Forget a worker that is not connected (its record and history). */
static void
admin_worker_remove(struct coord *c, const struct sender *s,
    const struct msg *req)
{
	struct cworker	*w;
	const char	*name = req->present & FBIT(F_TARGET) ? req->target :
			    "";

	if ((w = registry_find(&c->reg, name)) == NULL) {
		admin_reply(c, s, req, 1, "no worker '%s'", name);
		return;
	}
	if (w->state != WS_OFFLINE && w->state != WS_LOST &&
	    w->state != WS_REGISTERING) {
		admin_reply(c, s, req, 1, "worker %s is %s: stop it first "
		    "(SIGTERM: it finishes its jobs and goes offline), then "
		    "remove it", w->name, worker_state_name(w->state));
		return;
	}
	if (w->active > 0) {
		admin_reply(c, s, req, 1, "worker %s still holds %d job%s",
		    w->name, w->active, w->active == 1 ? "" : "s");
		return;
	}
	log_info("worker %s: removed by %s (was %s)", w->name, s->name,
	    worker_state_name(w->state));
	store_worker_remove(c->store, w->name);
	coord_dirty(c);
	admin_reply(c, s, req, 0, "removed worker %s (it was %s)", w->name,
	    worker_state_name(w->state));
	registry_remove(&c->reg, w);
}

static const struct {
	const char	*what;
	admin_fn	 fn;
} admin_ops[] = {
	{ "drain", admin_do_drain },
	{ "resume", admin_do_resume },
	{ "worker-remove", admin_worker_remove },
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
