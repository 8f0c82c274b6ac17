/*
 * The worker registry and its state graph.  See registry.h.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg.h"
#include "registry.h"
#include "xmalloc.h"

/* Silence past which a worker is taken out of placement, and the floor
 * of the default worker_timeout (a loaded host may skip a beat). */
#define STALE_SLACK_MS		1000
#define LOST_MIN_MS		5000

static const char *const state_names[WS__COUNT] = {
	[WS_REGISTERING] = "registering",
	[WS_ONLINE] = "online",
	[WS_DRAINING] = "draining",
	[WS_STALE] = "stale",
	[WS_LOST] = "lost",
	[WS_OFFLINE] = "offline",
};

#define E(to)	(1u << (to))

/* edges[from] has the bit of every state reachable from it. */
static const unsigned edges[WS__COUNT] = {
	[WS_REGISTERING] = E(WS_ONLINE) | E(WS_DRAINING) | E(WS_LOST) |
	    E(WS_OFFLINE),
	[WS_ONLINE] = E(WS_DRAINING) | E(WS_STALE) | E(WS_LOST) |
	    E(WS_OFFLINE),
	[WS_DRAINING] = E(WS_ONLINE) | E(WS_STALE) | E(WS_LOST) |
	    E(WS_OFFLINE),
	[WS_STALE] = E(WS_ONLINE) | E(WS_DRAINING) | E(WS_LOST) |
	    E(WS_OFFLINE),
	[WS_LOST] = E(WS_ONLINE) | E(WS_DRAINING) | E(WS_OFFLINE),
	[WS_OFFLINE] = E(WS_ONLINE) | E(WS_DRAINING),
};

#undef E

const char *
worker_state_name(enum worker_state s)
{
	if ((unsigned)s >= WS__COUNT)
		return "unknown";
	return state_names[s];
}

bool
worker_state_allowed(enum worker_state from, enum worker_state to)
{
	if ((unsigned)from >= WS__COUNT || (unsigned)to >= WS__COUNT)
		return false;
	return (edges[from] & (1u << to)) != 0;
}

bool
worker_state_present(enum worker_state s)
{
	return s == WS_ONLINE || s == WS_DRAINING || s == WS_STALE ||
	    s == WS_REGISTERING;
}

void
registry_init(struct registry *r, registry_record_fn record, void *arg)
{
	memset(r, 0, sizeof(*r));
	r->record = record;
	r->arg = arg;
}

static void
worker_free(struct cworker *w)
{
	caps_free(&w->caps);
	strmap_free(&w->binaries);
	strmap_free(&w->health);
	free(w);
}

void
registry_free(struct registry *r)
{
	size_t	i;

	for (i = 0; i < r->n; i++)
		worker_free(r->v[i]);
	free(r->v);
	hmap_free(&r->names);
	memset(r, 0, sizeof(*r));
}

struct cworker *
registry_find(const struct registry *r, const char *name)
{
	return hmap_get(&r->names, name);
}

struct cworker *
registry_add(struct registry *r, const char *name)
{
	struct cworker	*w = xcalloc(1, sizeof(*w));

	snprintf(w->name, sizeof(w->name), "%s", name);
	w->state = WS_REGISTERING;
	w->weight = 1;
	w->load = -1;
	w->interval = HEARTBEAT_DEFAULT * 1000;
	w->last_seen = mono_ms();
	r->v = xreallocarray(r->v, r->n + 1, sizeof(*r->v));
	r->v[r->n++] = w;
	hmap_put(&r->names, w->name, w);
	return w;
}

void
registry_remove(struct registry *r, struct cworker *w)
{
	size_t	i;

	hmap_del(&r->names, w->name);
	for (i = 0; i < r->n; i++) {
		if (r->v[i] == w) {
			memmove(&r->v[i], &r->v[i + 1],
			    (r->n - i - 1) * sizeof(*r->v));
			r->n--;
			break;
		}
	}
	worker_free(w);
}

int
registry_transition(struct registry *r, struct cworker *w,
    enum worker_state to, const char *reason)
{
	enum worker_state from = w->state;

	if (from == to)
		return 0;
	if (!worker_state_allowed(from, to)) {
		log_debug("worker %s: ignored %s -> %s", w->name,
		    worker_state_name(from), worker_state_name(to));
		return -1;
	}
	w->state = to;
	if (r->record != NULL)
		r->record(r->arg, w, from, to, reason);
	return 0;
}

enum worker_state
registry_reported_state(const struct cworker *w)
{
	return w->reports_draining || w->want == WANT_DRAIN ? WS_DRAINING :
	    WS_ONLINE;
}

/* The version its ffmpeg's -version printed, for the operator. */
static void
registry_ffmpeg_version(struct cworker *w)
{
	const struct caps_output	*o = &w->caps.outputs[CO_VERSION];
	char				*text;

	w->caps.version[0] = '\0';
	if (!o->known || buf_used(&o->out) == 0)
		return;
	text = xstrndup((const char *)buf_head(&o->out), buf_used(&o->out));
	if (caps_parse_version(text, w->caps.version,
	    sizeof(w->caps.version)) == -1)
		w->caps.version[0] = '\0';
	free(text);
}

void
registry_update(struct cworker *w, const struct msg *m, int64_t now)
{
	size_t	i;

	if (m->present & FBIT(F_BINARIES)) {
		strmap_free(&w->binaries);
		for (i = 0; i < m->binaries.n; i++)
			strmap_set(&w->binaries, m->binaries.keys[i],
			    m->binaries.vals[i]);
	}
	if (m->present & FBIT(F_VERSION))
		snprintf(w->version, sizeof(w->version), "%s", m->version);
	if (m->present & FBIT(F_PATH_HEALTH)) {
		strmap_free(&w->health);
		for (i = 0; i < m->path_health.n; i++)
			strmap_set(&w->health, m->path_health.keys[i],
			    m->path_health.vals[i]);
	}
	if (m->type == MT_REGISTER)
		registry_set_slots(w, &m->device_slots);
	if (m->present & FBIT(F_MAX_JOBS))
		w->max_jobs = m->max_jobs < 0 || m->max_jobs > INT_MAX ? 0 :
		    (int)m->max_jobs;
	if (m->present & FBIT(F_WEIGHT))
		w->weight = m->weight < 1 || m->weight > 1000 ? 1 :
		    (int)m->weight;
	if (m->present & FBIT(F_LOAD))
		w->load = m->load < 0 || m->load > 1000000 ? -1 : (int)m->load;
	if (m->present & FBIT(F_CPUS))
		w->cpus = m->cpus < 0 || m->cpus > 1000000 ? 0 : (int)m->cpus;
	if (m->present & FBIT(F_STATUS))
		w->reports_draining = strcmp(m->status, "draining") == 0;
	if (m->present & FBIT(F_ENCODERS)) {
		caps_free(&w->caps);
		caps_set(&w->caps, CAPS_ENCODERS, &m->encoders);
		caps_set(&w->caps, CAPS_DECODERS, &m->decoders);
		caps_set(&w->caps, CAPS_HWACCELS, &m->hwaccels);
		caps_set(&w->caps, CAPS_FILTERS, &m->filters);
		for (i = 0; i < m->devices.n; i++)
			strv_push(&w->caps.devices, m->devices.v[i]);
		if ((m->present & FBIT(F_PROBES)) &&
		    caps_outputs_parse(m->probes, &w->caps) == -1)
			log_debug("worker %s: malformed probe outputs", w->name);
		registry_ffmpeg_version(w);
		for (i = 0; i < m->unverified_caps.n; i++)
			strmap_set(&w->caps.failed, m->unverified_caps.keys[i],
			    m->unverified_caps.vals[i]);
		w->caps_known = true;
	} else if (m->type == MT_REGISTER) {
		caps_free(&w->caps);
		w->caps_known = false;
	}
	if (m->present & FBIT(F_INTERVAL) && m->interval >= 100 &&
	    m->interval <= 3600 * 1000)
		w->interval = m->interval;
	if (m->present & FBIT(F_EPOCH) && m->epoch > w->epoch)
		w->epoch = m->epoch;
	w->last_seen = now;
	w->heard = now_ms();
}

void
registry_set_slots(struct cworker *w, const struct strmap *slots)
{
	struct devslot	old[DEVSLOTS_MAX];
	size_t		nold = w->nslots, i, j;
	long		n;

	memcpy(old, w->slots, sizeof(old));
	w->nslots = 0;
	for (i = 0; i < slots->n && w->nslots < DEVSLOTS_MAX; i++) {
		struct devslot *d = &w->slots[w->nslots];

		n = strtol(slots->vals[i], NULL, 10);
		if (!name_valid(slots->keys[i], DEVSLOT_TYPE_MAX) || n < 1 ||
		    n > 1000)
			continue;
		snprintf(d->type, sizeof(d->type), "%s", slots->keys[i]);
		d->max = (int)n;
		d->used = 0;
		/* Jobs already holding one keep counting. */
		for (j = 0; j < nold; j++)
			if (strcmp(old[j].type, d->type) == 0)
				d->used = old[j].used;
		w->nslots++;
	}
}

struct devslot *
registry_slot(struct cworker *w, const char *type)
{
	size_t	i;

	for (i = 0; i < w->nslots; i++)
		if (strcmp(w->slots[i].type, type) == 0)
			return &w->slots[i];
	return NULL;
}

int64_t
registry_stale_after(const struct cworker *w)
{
	return w->interval + w->interval / 2 + STALE_SLACK_MS;
}

int64_t
registry_lost_after(const struct cworker *w, int64_t timeout_ms)
{
	int64_t	t = 3 * w->interval;

	if (timeout_ms > 0)
		return timeout_ms;
	return t < LOST_MIN_MS ? LOST_MIN_MS : t;
}
