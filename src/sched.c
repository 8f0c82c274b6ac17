/*
 * Placement.  See sched.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "caps.h"
#include "sched.h"

bool
sched_can_run(const struct cworker *w, const struct sched_job *j, char *why,
    size_t whylen)
{
	const char	*v;
	size_t		 i;

	v = strmap_get(&w->binaries, j->binary);
	if (v == NULL || strcmp(v, "ok") != 0) {
		snprintf(why, whylen, "binary '%s'", j->binary);
		return false;
	}
	for (i = 0; j->paths != NULL && i < j->paths->n; i++) {
		v = strmap_get(&w->health, j->paths->v[i]);
		if (v == NULL || strcmp(v, "ok") != 0) {
			snprintf(why, whylen, "%spath variable '%s'",
			    v == NULL ? "" : "a healthy ", j->paths->v[i]);
			return false;
		}
	}
	if (strcmp(j->binary, "ffmpeg") != 0 || j->req == NULL)
		return true;
	if (!w->caps_known) {
		if (ffreq_empty(j->req))
			return true;
		snprintf(why, whylen, "known ffmpeg capabilities");
		return false;
	}
	return caps_missing(&w->caps, j->req, why, whylen) == NULL;
}

/* Has w a device slot free for every type j uses that w limits? */
static bool
slots_free(const struct cworker *w, const struct sched_job *j)
{
	size_t	i, k;

	for (i = 0; j->hwtypes != NULL && i < j->hwtypes->n; i++)
		for (k = 0; k < w->nslots; k++)
			if (strcmp(w->slots[k].type, j->hwtypes->v[i]) == 0 &&
			    w->slots[k].used >= w->slots[k].max)
				return false;
	return true;
}

/* Is a lighter than b (active / weight, then least recently assigned)? */
static bool
lighter(const struct cworker *a, const struct cworker *b)
{
	int64_t	la = (int64_t)a->active * b->weight;
	int64_t	lb = (int64_t)b->active * a->weight;

	return la < lb || (la == lb && a->last_assign < b->last_assign);
}

struct cworker *
sched_pick(struct cworker *const *ws, size_t n, const struct sched_job *j)
{
	struct cworker	*best = NULL;
	char		 why[160];
	size_t		 i;

	for (i = 0; i < n; i++) {
		struct cworker *w = ws[i];

		if (w->state != WS_ONLINE)
			continue;
		if (w->max_jobs > 0 && w->active >= w->max_jobs)
			continue;
		if (!slots_free(w, j))
			continue;
		if (!sched_can_run(w, j, why, sizeof(why)))
			continue;
		if (best == NULL || lighter(w, best))
			best = w;
	}
	return best;
}

bool
sched_could_run(struct cworker *const *ws, size_t n,
    const struct sched_job *j, bool waiting, char *why, size_t whylen)
{
	char	need[160];
	size_t	i;
	bool	any = false;

	snprintf(why, whylen, "no worker is registered");
	for (i = 0; i < n; i++) {
		enum worker_state s = ws[i]->state;

		if (s != WS_ONLINE && s != WS_DRAINING && s != WS_STALE)
			continue;
		any = true;
		if (sched_can_run(ws[i], j, need, sizeof(need)))
			return true;
		snprintf(why, whylen, "no registered worker has %s", need);
	}
	return !any && waiting;
}
