/*
 * Presence on the coordinator (design §3.2, §6.3): wills held and judged
 * by session and connection epoch, goodbyes, and the silence watch that
 * makes a worker stale and then lost.  See coord.h.
 *
 * A will (`gone`) is evidence, not proof.  It is honoured once, only for
 * the sender's current session and connection epoch, and only after
 * WILL_HOLD_MS: a broker that shuts down publishes every client's will
 * just before it closes our own connection, and wills that arrive in that
 * moment are dropped (everyone re-announces itself after the reconnect).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "coord.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "util.h"
#include "xmalloc.h"

#define WILL_HOLD_MS		250
#define WILLS_MAX		4096

/* A client process is gone (its will, for the connection of epoch e, or
 * its bye: e = INT64_MAX): cancel the jobs it was waiting for. */
static void
client_gone(struct coord *c, const char *client, const char *session,
    int64_t e)
{
	struct cjob	*j, *next;

	for (j = jobtab_first(&c->jobs); j != NULL; j = next) {
		next = jobtab_next(j);
		if (strcmp(j->client, client) != 0 ||
		    strcmp(j->session, session) != 0 || j->detached)
			continue;
		if (e < j->epoch || e <= j->will_epoch) {
			log_info("job %s: ignored the will of an old connection "
			    "(%lld) of client %s", j->id, (long long)e, client);
			continue;
		}
		j->will_epoch = e;
		log_info("job %s: client %s went away", j->id, client);
		coord_job_cancel(c, j, "the client went away");
	}
}

void
coord_presence_bye(struct coord *c, const struct sender *s,
    const struct msg *req)
{
	struct cworker	*w;

	if (s->role != ROLE_WORKER) {
		client_gone(c, s->name, req->session, INT64_MAX);
		return;
	}
	w = registry_find(&c->reg, s->name);
	if (w != NULL && strcmp(w->session, req->session) == 0)
		coord_worker_gone(c, w, WS_OFFLINE, "it said goodbye");
	else
		log_debug("ignored the bye of an old session of %s", s->name);
}

/* A held will, now known not to come from a broker shutting down. */
static void
will_honour(struct coord *c, const struct held_will *h)
{
	struct cworker	*w;
	const char	*ignored = NULL;
	char		 why[96];

	if (h->role != ROLE_WORKER) {
		client_gone(c, h->name, h->session, h->epoch);
		return;
	}
	w = registry_find(&c->reg, h->name);
	if (w == NULL || strcmp(w->session, h->session) != 0)
		ignored = "an old session";
	else if (h->epoch < w->epoch)
		ignored = "an older connection than the current one";
	else if (h->epoch <= w->will_epoch)
		ignored = "already taken";
	else if (!worker_state_present(w->state))
		ignored = "the worker is already lost or offline";
	if (ignored != NULL) {
		log_info("ignored a will of worker %s (connection %lld): %s",
		    h->name, (long long)h->epoch, ignored);
		return;
	}
	w->will_epoch = h->epoch;
	snprintf(why, sizeof(why), "its connection dropped (will of "
	    "connection %lld)", (long long)h->epoch);
	coord_worker_gone(c, w, WS_LOST, why);
}

void
coord_presence_release(int fd, short what, void *arg)
{
	struct coord	*c = arg;
	int64_t		 now = mono_ms();
	size_t		 i = 0, n;

	(void)fd;
	(void)what;
	while (i < c->nwills && now - c->wills[i].arrived >= WILL_HOLD_MS)
		i++;
	n = i;
	for (i = 0; i < n; i++)
		will_honour(c, &c->wills[i]);
	memmove(c->wills, c->wills + n, (c->nwills - n) * sizeof(*c->wills));
	c->nwills -= n;
	if (c->nwills > 0)
		loop_arm(c->ev_will, (int)(WILL_HOLD_MS -
		    (now - c->wills[0].arrived)));
	coord_dirty(c);
}

void
coord_presence_gone(struct coord *c, const struct sender *s,
    const struct msg *req)
{
	struct held_will	*h;

	if (c->nwills >= WILLS_MAX) {
		log_warnx("too many wills at once; dropped the one of %s",
		    s->name);
		return;
	}
	c->wills = xreallocarray(c->wills, c->nwills + 1, sizeof(*c->wills));
	h = &c->wills[c->nwills++];
	snprintf(h->name, sizeof(h->name), "%s", s->name);
	h->role = s->role;
	snprintf(h->session, sizeof(h->session), "%s", req->session);
	h->epoch = req->epoch;
	h->arrived = mono_ms();
	if (!event_pending(c->ev_will, EV_TIMEOUT, NULL))
		loop_arm(c->ev_will, WILL_HOLD_MS);
}

/* Stale, then lost: silence counts whether the broker noticed or not. */
void
coord_presence_watch(struct coord *c, int64_t now)
{
	char	why[128];
	size_t	i;

	if (!mqtt_is_connected(c->mqtt))
		return;		/* our silence, not theirs */
	for (i = 0; i < c->reg.n; i++) {
		struct cworker	*w = c->reg.v[i];
		int64_t		 quiet = now - w->last_seen;
		int64_t		 lost = registry_lost_after(w,
				    c->conf.worker_timeout);

		if (w->state == WS_REGISTERING) {
			/* Restored: it has the start-up grace as well. */
			if (quiet > lost && now - c->started > lost)
				coord_worker_gone(c, w, WS_LOST, "it did not "
				    "report back after the coordinator "
				    "restarted");
			continue;
		}
		if (!worker_state_present(w->state))
			continue;
		if (quiet > lost) {
			snprintf(why, sizeof(why), "nothing heard for %lld ms "
			    "(worker_timeout %lld ms)", (long long)quiet,
			    (long long)lost);
			coord_worker_gone(c, w, WS_LOST, why);
		} else if (quiet > registry_stale_after(w) &&
		    w->state != WS_STALE)
			coord_worker_stale(c, w);
	}
}

void
coord_presence_connected(struct coord *c)
{
	int64_t	now = mono_ms();
	size_t	i;

	/* Nobody could reach us while we were away: silence is measured
	 * from now, and everyone gets a full timeout to show up again. */
	for (i = 0; i < c->reg.n; i++)
		c->reg.v[i]->last_seen = now;
}

void
coord_presence_disconnected(struct coord *c)
{
	if (c->nwills > 0) {
		log_warnx("the broker published %zu will%s just before our "
		    "connection dropped: a broker shutting down; ignored "
		    "(workers and clients announce themselves again)",
		    c->nwills, c->nwills == 1 ? "" : "s");
		c->nwills = 0;
		event_del(c->ev_will);
	}
	log_warnx("lost the broker; reconnecting");
}
