/*
 * What one client identity may have and do (the coordinator's `limits`):
 * jobs placed at once (more wait in the queue), jobs waiting (more are
 * refused), submits a minute and the bytes of a job's arguments (both
 * refused beyond).  A refusal says which limit, with its value, so that
 * the caller's "dffmpeg:" line tells the operator what to raise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coord.h"
#include "hmap.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#define RATE_WINDOW_MS	60000

/* A client's submits in the current minute. */
struct client_rate {
	char	 name[NAME_MAX_LEN + 1];
	int64_t	 window;	/* mono ms it began */
	int	 n;
};

static bool
holds_slot(enum job_state s)
{
	return s == JS_ASSIGNED || s == JS_RUNNING || s == JS_CANCELING;
}

static size_t
job_bytes(const struct msg *req)
{
	size_t	n = 0, i;

	for (i = 0; i < req->args.n; i++)
		n += strlen(req->args.v[i]) + 1;
	for (i = 0; i < req->env.n; i++)
		n += strlen(req->env.keys[i]) + strlen(req->env.vals[i]) + 2;
	return n;
}

int
coord_limits_submit(struct coord *c, const char *client,
    const struct msg *req, char *text, size_t textlen)
{
	const struct limits_conf	*l = &c->conf.limits;
	const struct cjob		*j;
	struct client_rate		*r;
	int64_t				 now = mono_ms();
	size_t				 bytes;
	int				 queued = 0;

	if (l->argument_bytes > 0 &&
	    (bytes = job_bytes(req)) > (size_t)l->argument_bytes) {
		snprintf(text, textlen, "its arguments and environment are %zu "
		    "bytes, more than the coordinator's limits.argument_bytes "
		    "(%lld)", bytes, (long long)l->argument_bytes);
		return -1;
	}
	if (l->queued > 0) {
		for (j = jobtab_first_pending(&c->jobs); j != NULL;
		    j = jobtab_next_pending(j))
			if (strcmp(j->client, client) == 0)
				queued++;
		if (queued >= l->queued) {
			snprintf(text, textlen, "client %s has %d jobs waiting, "
			    "the coordinator's limits.queued", client, queued);
			return -1;
		}
	}
	if (l->submits_per_minute > 0) {
		if ((r = hmap_get(&c->rates, client)) == NULL) {
			r = xcalloc(1, sizeof(*r));
			snprintf(r->name, sizeof(r->name), "%s", client);
			r->window = now;
			hmap_put(&c->rates, r->name, r);
		}
		if (now - r->window >= RATE_WINDOW_MS) {
			r->window = now;
			r->n = 0;
		}
		if (r->n >= l->submits_per_minute) {
			snprintf(text, textlen, "client %s submitted %d jobs in "
			    "the last minute, the coordinator's "
			    "limits.submits_per_minute", client, r->n);
			return -1;
		}
		r->n++;
	}
	return 0;
}

void
coord_limits_free(struct coord *c)
{
	size_t	i;

	/* A deleted entry's value is NULL. */
	for (i = 0; i < c->rates.cap; i++)
		free(c->rates.slots[i].val);
	hmap_free(&c->rates);
}

/* The entry of client in load (added with 0 jobs). */
static struct client_active *
load_of(struct client_load *load, const char *client)
{
	size_t	i;

	for (i = 0; i < load->n; i++)
		if (strcmp(load->v[i].client, client) == 0)
			return &load->v[i];
	load->v = xreallocarray(load->v, load->n + 1, sizeof(*load->v));
	load->v[load->n].client = client;
	load->v[load->n].active = 0;
	return &load->v[load->n++];
}

bool
coord_limits_may_place(struct coord *c, struct client_load *load,
    const char *client)
{
	return c->conf.limits.running <= 0 ||
	    load_of(load, client)->active < c->conf.limits.running;
}

void
coord_limits_placed(struct coord *c, struct client_load *load,
    const char *client)
{
	if (c->conf.limits.running > 0)
		load_of(load, client)->active++;
}

void
coord_limits_load(struct coord *c, struct client_load *out)
{
	const struct cjob	*j;

	memset(out, 0, sizeof(*out));
	if (c->conf.limits.running <= 0)
		return;
	for (j = jobtab_first(&c->jobs); j != NULL; j = jobtab_next(j))
		if (holds_slot(j->state))
			load_of(out, j->client)->active++;
}

bool
coord_limits_running_full(struct coord *c, const char *client)
{
	const struct cjob	*j;
	int			 n = 0;

	if (c->conf.limits.running <= 0)
		return false;
	for (j = jobtab_first(&c->jobs); j != NULL; j = jobtab_next(j))
		if (holds_slot(j->state) && strcmp(j->client, client) == 0)
			n++;
	return n >= c->conf.limits.running;
}

void
coord_limits_load_free(struct client_load *load)
{
	free(load->v);
	memset(load, 0, sizeof(*load));
}
