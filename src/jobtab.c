/*
 * The table of unfinished jobs.  See jobtab.h.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "jobtab.h"
#include "xmalloc.h"

void
jobtab_init(struct jobtab *t)
{
	memset(t, 0, sizeof(*t));
	TAILQ_INIT(&t->all);
	TAILQ_INIT(&t->pending);
}

void
jobtab_free(struct jobtab *t)
{
	struct cjob	*j;

	while ((j = TAILQ_FIRST(&t->all)) != NULL)
		jobtab_forget(t, j);
	hmap_free(&t->ids);
}

struct cjob *
jobtab_job_new(void)
{
	struct cjob	*j = xcalloc(1, sizeof(*j));

	progress_init(&j->progress);
	j->log.next = 1;
	return j;
}

void
jobtab_job_free(struct cjob *j)
{
	strv_free(&j->args);
	strv_free(&j->paths);
	strmap_free(&j->env);
	ffreq_free(&j->req);
	free(j->cwd);
	free(j->unplaceable);
	strv_free(&j->hwtypes);
	free(j->log.seqs);
	free(j->log.lens);
	msg_clear(&j->assign);
	sodium_memzero(j->key, sizeof(j->key));
	free(j);
}

void
jobtab_add(struct jobtab *t, struct cjob *j)
{
	TAILQ_INSERT_TAIL(&t->all, j, all);
	hmap_put(&t->ids, j->id, j);
	t->n++;
	jobtab_requeue(t, j);
}

struct cjob *
jobtab_find(const struct jobtab *t, const char *id)
{
	return hmap_get(&t->ids, id);
}

void
jobtab_forget(struct jobtab *t, struct cjob *j)
{
	if (j->queued) {
		TAILQ_REMOVE(&t->pending, j, queue);
		j->queued = false;
		t->npending--;
	}
	TAILQ_REMOVE(&t->all, j, all);
	hmap_del(&t->ids, j->id);
	t->n--;
	jobtab_job_free(j);
}

void
jobtab_requeue(struct jobtab *t, struct cjob *j)
{
	bool	want = j->state == JS_PENDING;

	if (want == j->queued)
		return;
	if (want) {
		TAILQ_INSERT_TAIL(&t->pending, j, queue);
		t->npending++;
	} else {
		TAILQ_REMOVE(&t->pending, j, queue);
		t->npending--;
	}
	j->queued = want;
}

size_t
jobtab_position(const struct jobtab *t, const struct cjob *j)
{
	const struct cjob	*q;
	size_t			 pos = 1;

	if (!j->queued)
		return 0;
	TAILQ_FOREACH(q, &t->pending, queue) {
		if (q == j)
			return pos;
		pos++;
	}
	return 0;
}
