/*
 * Job logs on the coordinator (design §11): the `log` batches a worker
 * sends while a job runs, kept in the store in order and within
 * job_log_max, and the pages of `query logs` that read them back with the
 * rest of the log the worker reported with the job's end.
 *
 * Batches are taken in order only: one whose predecessor has not arrived
 * is not acknowledged, so the worker sends it again (it has one batch in
 * flight per job while the job runs, and sends what is left at its end,
 * so this happens around reconnects and ends).  The log's beginning (the
 * first batch, and those after it within the worker's JOBLOG_HEAD_MAX:
 * ffmpeg's banner and stream mapping, however the worker happened to cut
 * them) and the newest batch are always kept; beyond job_log_max the
 * oldest of the others are dropped, and a page marks the gap.  A page is
 * at most LOG_PAGE_BYTES of JSON text but for one batch or the rest (a
 * page holds at least one).  See coord.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "coord.h"
#include "joblog.h"
#include "log.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define LOG_SETTLE_MS		10000	/* a batch that late is lost */
#define LOG_HEAD_BATCHES	64	/* at most in the kept beginning */

static void
batch_ack(struct coord *c, const struct sender *s, const struct msg *req)
{
	struct msg	m;

	msg_init(&m, MT_ACK, COORDINATOR_NAME);
	msg_set_str(&m, F_JOB, req->job);
	coord_answer(c, s, req, &m);
}

static void
batch_push(struct cjob_log *l, int64_t seq, int64_t len)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->seqs = xreallocarray(l->seqs, l->cap, sizeof(*l->seqs));
		l->lens = xreallocarray(l->lens, l->cap, sizeof(*l->lens));
	}
	l->seqs[l->n] = seq;
	l->lens[l->n] = len;
	l->n++;
	l->bytes += len;
	l->next = seq + 1;
}

/* How many batches make the log's beginning: the first, and those that
 * follow it without a gap while the total stays within JOBLOG_HEAD_MAX
 * (and their number within LOG_HEAD_BATCHES). */
static size_t
batch_head(const struct cjob_log *l)
{
	int64_t	sum = l->n > 0 ? l->lens[0] : 0;
	size_t	h = l->n > 0 ? 1 : 0;

	while (h < l->n && h < LOG_HEAD_BATCHES &&
	    l->seqs[h] == l->seqs[h - 1] + 1 &&
	    sum + l->lens[h] <= JOBLOG_HEAD_MAX)
		sum += l->lens[h++];
	return h;
}

/* Keep a batch of j's log; beyond the bounds, drop the oldest batches
 * but the beginning and the newest. */
static void
batch_keep(struct coord *c, struct cjob *j, const struct msg *req)
{
	struct cjob_log	*l = &j->log;
	int64_t		 len = (int64_t)strlen(req->text);
	size_t		 h;

	l->next = req->seq + 1;
	if (c->conf.job_log_max == 0)
		return;
	store_log_add(c->store, j->id, req->seq, now_ms(),
	    req->present & FBIT(F_SKIPPED) ? req->skipped : 0, req->text);
	batch_push(l, req->seq, len);
	h = batch_head(l);
	while (l->n > h + 1 && (l->bytes > c->conf.job_log_max ||
	    l->n > LOG_BATCHES_MAX)) {
		store_log_drop(c->store, j->id, l->seqs[h]);
		l->bytes -= l->lens[h];
		memmove(l->seqs + h, l->seqs + h + 1,
		    (l->n - h - 1) * sizeof(*l->seqs));
		memmove(l->lens + h, l->lens + h + 1,
		    (l->n - h - 1) * sizeof(*l->lens));
		l->n--;
	}
	coord_dirty(c);
}

struct kept {
	int64_t	last;		/* highest seq kept */
	int64_t	bytes;
	int64_t	n;
};

static int
add_size(int64_t seq, int64_t len, void *arg)
{
	struct kept	*k = arg;

	k->last = seq;
	k->bytes += len;
	k->n++;
	return 0;
}

/*
 * A batch for a job that is not (any more) in the table: late, after the
 * job's end (its worker reports the end before its last batches are all
 * acknowledged).  It is kept if it is the next one of a job that ran on
 * s, is one of the batches the end report counted, and fits the bounds;
 * anything else is acknowledged and dropped, so that nothing is sent
 * again for ever.
 */
static void
batch_late(struct coord *c, const struct sender *s, const struct msg *req)
{
	struct job_row	row;
	struct kept	k = { 0, 0, 0 };
	int64_t		len = (int64_t)strlen(req->text);
	int		st;

	memset(&row, 0, sizeof(row));
	if (store_job_get(c->store, req->job, &row) != 0 ||
	    strcmp(row.worker, s->name) != 0 || c->conf.job_log_max == 0 ||
	    (row.log_chunks >= 0 && req->seq > row.log_chunks)) {
		store_job_clear(&row);
		batch_ack(c, s, req);	/* nothing to keep it for */
		return;
	}
	st = jobstate_parse(row.state);
	store_job_clear(&row);
	/* Not ended yet (placed elsewhere, say), or its writes not settled:
	 * it comes again. */
	if (st < 0 || !jobstate_terminal(st) || store_pending(c->store) > 0 ||
	    store_log_sizes(c->store, req->job, add_size, &k) != 0)
		return;
	if (req->seq > k.last + 1)
		return;		/* its predecessor is still on the way */
	if (req->seq == k.last + 1 && k.bytes + len <= c->conf.job_log_max &&
	    k.n < LOG_BATCHES_MAX) {
		store_log_add(c->store, req->job, req->seq, now_ms(),
		    req->present & FBIT(F_SKIPPED) ? req->skipped : 0,
		    req->text);
		coord_dirty(c);
	}
	batch_ack(c, s, req);
}

void
coord_job_log(struct coord *c, const struct sender *s, const struct msg *req)
{
	struct cjob	*j;

	if (!name_valid(req->job, ID_LEN) || req->seq < 1) {
		log_debug("log from %s: malformed job id or sequence number",
		    s->name);
		return;
	}
	if (strlen(req->text) > JOBLOG_BATCH_MAX) {
		/* Not what a worker sends: dropped, and not asked again. */
		log_debug("log from %s: a batch of %zu bytes for job %s; "
		    "dropped", s->name, strlen(req->text), req->job);
		batch_ack(c, s, req);
		return;
	}
	if ((j = jobtab_find(&c->jobs, req->job)) == NULL ||
	    strcmp(j->worker, s->name) != 0) {
		batch_late(c, s, req);
		return;
	}
	/* After a restart of ours, the worker's batch in flight follows
	 * batches that were acknowledged, and so kept, or dropped for
	 * job_log_max: it is the next one, whatever the store says. */
	if (j->log.resync && req->seq > j->log.next)
		j->log.next = req->seq;
	j->log.resync = false;
	if (req->seq > j->log.next) {
		log_debug("job %s: log batch %lld before %lld; waiting for it",
		    j->id, (long long)req->seq, (long long)j->log.next);
		return;
	}
	if (req->seq == j->log.next)
		batch_keep(c, j, req);
	batch_ack(c, s, req);
}

static int
restore_size(int64_t seq, int64_t len, void *arg)
{
	batch_push(arg, seq, len);
	return 0;
}

void
coord_job_log_restore(struct coord *c, struct cjob *j)
{
	store_log_sizes(c->store, j->id, restore_size, &j->log);
	j->log.resync = true;
}

void
coord_job_log_reset(struct coord *c, struct cjob *j)
{
	struct cjob_log	*l = &j->log;
	size_t		 i;

	for (i = 0; i < l->n; i++)
		store_log_drop(c->store, j->id, l->seqs[i]);
	if (l->n > 0)
		coord_dirty(c);
	l->n = 0;
	l->bytes = 0;
	l->next = 1;
	l->resync = false;
}

/* ---- pages of `query logs` ---- */

/* What a text costs in JSON, at most: control characters as \uXXXX. */
static size_t
json_cost(const char *s, size_t len)
{
	size_t	i, n = 2;

	for (i = 0; i < len; i++)
		n += (unsigned char)s[i] < 0x20 || s[i] == '"' ||
		    s[i] == '\\' ? 6 : 1;
	return n;
}

struct page {
	struct buf	 text;
	size_t		 cost;
	int64_t		 last;		/* the last batch in the page */
	int64_t		 expect;	/* the batch that should come next */
	bool		 full;
};

static void
page_add(struct page *p, const char *s, size_t len)
{
	buf_add(&p->text, s, len);
	p->cost += json_cost(s, len);
}

static void
page_note(struct page *p, const char *fmt, long long n)
{
	char	line[160];
	int	k;

	k = snprintf(line, sizeof(line), fmt, n);
	if (k > 0 && (size_t)k < sizeof(line))
		page_add(p, line, (size_t)k);
}

static int
page_batch(int64_t seq, int64_t ts, int64_t skipped, const char *text,
    size_t len, void *arg)
{
	struct page	*p = arg;

	(void)ts;
	if (p->cost > 0 && p->cost + json_cost(text, len) > LOG_PAGE_BYTES) {
		p->full = true;
		return 1;
	}
	if (seq > p->expect)
		page_note(p, "\n[dffmpeg: %lld batches of this log were "
		    "dropped (job_log_max)]\n", (long long)(seq - p->expect));
	if (skipped > 0)
		page_note(p, "\n[dffmpeg: the worker dropped %lld bytes of "
		    "this log here]\n", (long long)skipped);
	page_add(p, text, len);
	p->last = seq;
	p->expect = seq + 1;
	return 0;
}

cJSON *
coord_doc_logs(struct coord *c, const char *id, const char *client,
    int64_t after, char *err, size_t errlen)
{
	struct job_row	 row;
	struct page	 p;
	cJSON		*doc;
	char		*text;
	bool		 terminal, done = false;
	int		 st;

	memset(&row, 0, sizeof(row));
	if (store_job_get(c->store, id, &row) != 0 ||
	    (client != NULL && strcmp(row.client, client) != 0)) {
		store_job_clear(&row);
		snprintf(err, errlen, "no job '%s'", id);
		return NULL;
	}
	if (after < 0)
		after = 0;
	memset(&p, 0, sizeof(p));
	p.last = after;
	p.expect = after + 1;
	st = jobstate_parse(row.state);
	terminal = st >= 0 && jobstate_terminal(st);
	if (terminal && row.log_chunks >= 0 && after > row.log_chunks)
		done = true;		/* the rest was on an earlier page */
	else
		store_log_list(c->store, id, after, page_batch, &p);
	if (!terminal || done || p.full)
		;
	else if (row.log_chunks < 0)
		done = true;		/* it ended without a report */
	else if (row.log_tail != NULL && p.cost > 0 && p.cost +
	    json_cost(row.log_tail, strlen(row.log_tail)) > LOG_PAGE_BYTES)
		;			/* the rest on a page of its own */
	else if (p.last >= row.log_chunks ||
	    now_ms() - row.updated > LOG_SETTLE_MS) {
		/* Every batch is in, or the missing ones will not come. */
		if (row.log_chunks > p.last && c->conf.job_log_max > 0)
			page_note(&p, "\n[dffmpeg: %lld batches of this log "
			    "never arrived]\n",
			    (long long)(row.log_chunks - p.last));
		if (row.log_skipped > 0)
			page_note(&p, "\n[dffmpeg: the worker dropped %lld "
			    "bytes of this log here]\n",
			    (long long)row.log_skipped);
		if (row.log_tail != NULL)
			page_add(&p, row.log_tail, strlen(row.log_tail));
		p.last = row.log_chunks + 1;
		done = true;
	}
	text = xmalloc(buf_used(&p.text) + 1);
	if (buf_used(&p.text) > 0)
		memcpy(text, buf_head(&p.text), buf_used(&p.text));
	text[buf_used(&p.text)] = '\0';
	buf_free(&p.text);
	doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "id", row.id);
	cJSON_AddStringToObject(doc, "state", row.state);
	cJSON_AddStringToObject(doc, "text", text);
	cJSON_AddNumberToObject(doc, "next", (double)p.last);
	cJSON_AddBoolToObject(doc, "done", done);
	if (done && row.exited) {
		cJSON_AddNumberToObject(doc, "exit_code", row.exit_code);
		cJSON_AddNumberToObject(doc, "exit_signal", row.exit_signal);
	} else if (done && row.reason != NULL)
		cJSON_AddStringToObject(doc, "reason", row.reason);
	free(text);
	store_job_clear(&row);
	return doc;
}
