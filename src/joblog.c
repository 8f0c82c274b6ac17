/*
 * A job's log on its way to the coordinator: segments, collapsed status
 * lines, bounded batches.  See joblog.h.
 */
#include <stdlib.h>
#include <string.h>

#include "joblog.h"
#include "xmalloc.h"

void
joblog_init(struct joblog *l)
{
	memset(l, 0, sizeof(*l));
	progress_init(&l->progress);
}

void
joblog_free(struct joblog *l)
{
	buf_free(&l->queue);
	buf_free(&l->partial);
	buf_free(&l->status);
}

/* Remove n bytes of b from offset at (at + n <= used). */
static void
queue_cut(struct buf *b, size_t at, size_t n)
{
	uint8_t	*p = b->data + b->off;

	memmove(p + at, p + at + n, buf_used(b) - at - n);
	b->len -= n;
}

/*
 * Append to the queue, dropping its oldest bytes beyond the bound: from
 * its front once the log's first batch is out, else those right after
 * the head (the banner and stream mapping), whose batch then goes first
 * and the drop is reported with the next one.
 */
static void
queue_add(struct joblog *l, const uint8_t *p, size_t len)
{
	size_t	over, keep, d;

	if (buf_used(&l->queue) + len > JOBLOG_QUEUE_MAX) {
		over = buf_used(&l->queue) + len - JOBLOG_QUEUE_MAX;
		keep = l->seq == 0 ? l->head : 0;
		d = buf_used(&l->queue) - keep;
		if (d > over)
			d = over;
		if (keep == 0)
			buf_drain(&l->queue, d);
		else
			queue_cut(&l->queue, keep, d);
		*(keep > 0 ? &l->skipped_mid : &l->skipped) += d;
		if ((over -= d) > 0) {
			/* The new bytes alone do not fit: their end does. */
			*(keep > 0 ? &l->skipped_mid : &l->skipped) += over;
			p += over;
			len -= over;
		}
	}
	buf_add(&l->queue, p, len);
	if (l->seq == 0 && l->skipped_mid == 0)
		l->head = buf_used(&l->queue) < JOBLOG_HEAD_MAX ?
		    buf_used(&l->queue) : JOBLOG_HEAD_MAX;
}

/* One whole segment of stderr, with its terminator (if any). */
static void
segment(struct joblog *l, const uint8_t *p, size_t len, bool status)
{
	size_t	body = len;

	if (body > 0 && (p[body - 1] == '\n' || p[body - 1] == '\r'))
		body--;
	if (status) {
		/* Rewritten in place: only the latest counts. */
		progress_line(&l->progress, (const char *)p, body);
		buf_drain(&l->status, buf_used(&l->status));
		buf_add(&l->status, p, len);
		return;
	}
	if (progress_line(&l->progress, (const char *)p, body)) {
		/* The final status line ("...\n") replaces the others. */
		buf_drain(&l->status, buf_used(&l->status));
	} else {
		progress_duration(&l->progress, (const char *)p, body);
		if (buf_used(&l->status) > 0) {
			queue_add(l, buf_head(&l->status),
			    buf_used(&l->status));
			buf_drain(&l->status, buf_used(&l->status));
		}
	}
	queue_add(l, p, len);
}

void
joblog_feed(struct joblog *l, const uint8_t *p, size_t len)
{
	const uint8_t	*end = p + len, *nl, *cr, *t;
	size_t		 n;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		cr = memchr(p, '\r', (size_t)(end - p));
		t = nl == NULL ? cr : cr == NULL ? nl : nl < cr ? nl : cr;
		n = t == NULL ? (size_t)(end - p) : (size_t)(t - p) + 1;
		if (buf_used(&l->partial) + n > JOBLOG_LINE_MAX) {
			/* A runaway segment: cut it where the bound is. */
			n = JOBLOG_LINE_MAX - buf_used(&l->partial);
			buf_add(&l->partial, p, n);
			segment(l, buf_head(&l->partial),
			    buf_used(&l->partial), false);
			buf_drain(&l->partial, buf_used(&l->partial));
			p += n;
			continue;
		}
		if (t == NULL) {
			buf_add(&l->partial, p, n);
			break;
		}
		if (buf_used(&l->partial) > 0) {
			buf_add(&l->partial, p, n);
			segment(l, buf_head(&l->partial),
			    buf_used(&l->partial), *t == '\r');
			buf_drain(&l->partial, buf_used(&l->partial));
		} else
			segment(l, p, n, *t == '\r');
		p += n;
	}
}

/* The largest n' <= n that does not end inside a UTF-8 sequence of p
 * (a lead byte's continuation bytes stay together); n if there is none
 * to keep whole. */
static size_t
utf8_boundary(const uint8_t *p, size_t n)
{
	size_t	k = n, back = 0;

	/* Back over continuation bytes to the lead byte at k - 1 ... */
	while (k > 0 && back < 3 && (p[k] & 0xc0) == 0x80) {
		k--;
		back++;
	}
	return k > 0 && back > 0 ? k : n;
}

/* Owned UTF-8 text of len bytes at p. */
static char *
text_of(const uint8_t *p, size_t len)
{
	char	*s = xmalloc(len + 1);

	memcpy(s, p, len);
	s[len] = '\0';
	/* ffmpeg's stderr is not always UTF-8 (file names, tags); the
	 * message is.  NUL bytes become '?' too. */
	utf8_sanitize(s, len);
	return s;
}

/* Hand out the queue's next batch (the queue or the count of dropped
 * bytes is not empty). */
static char *
cut_batch(struct joblog *l, int64_t now, int64_t *seq, uint64_t *skipped)
{
	const uint8_t	*h = buf_head(&l->queue), *nl;
	size_t		 used = buf_used(&l->queue), n;
	char		*s;

	n = used < JOBLOG_BATCH_MAX ? used : JOBLOG_BATCH_MAX;
	if (l->seq == 0 && l->skipped_mid > 0)
		n = l->head;	/* the drop comes right after it */
	else if (n < used) {
		/* Whole lines where there are some, else whole characters. */
		for (nl = h + n; nl > h && nl[-1] != '\n'; nl--)
			;
		if (nl > h)
			n = (size_t)(nl - h);
		else
			n = utf8_boundary(h, n);
	}
	s = text_of(h, n);
	buf_drain(&l->queue, n);
	*seq = ++l->seq;
	*skipped = l->skipped;
	/* What was dropped after the head is said with the next batch. */
	l->skipped = l->skipped_mid;
	l->skipped_mid = 0;
	l->inflight = true;
	l->inflight_id[0] = '\0';
	l->last_sent = now;
	return s;
}

char *
joblog_next(struct joblog *l, int64_t now, int64_t *seq, uint64_t *skipped)
{
	size_t	used = buf_used(&l->queue);

	if (l->inflight || (used == 0 && l->skipped == 0))
		return NULL;
	if (used < JOBLOG_BATCH_MAX && l->last_sent != 0 &&
	    now - l->last_sent < JOBLOG_INTERVAL_MS)
		return NULL;
	return cut_batch(l, now, seq, skipped);
}

char *
joblog_final(struct joblog *l, int64_t now, int64_t *seq,
    uint64_t *skipped)
{
	/* The last status line and an unended segment join the queue. */
	if (buf_used(&l->partial) > 0) {
		progress_line(&l->progress, (const char *)buf_head(&l->partial),
		    buf_used(&l->partial));
		buf_add(&l->status, buf_head(&l->partial),
		    buf_used(&l->partial));
		buf_drain(&l->partial, buf_used(&l->partial));
	}
	if (buf_used(&l->status) > 0) {
		queue_add(l, buf_head(&l->status), buf_used(&l->status));
		buf_drain(&l->status, buf_used(&l->status));
	}
	if (buf_used(&l->queue) == 0 && l->skipped == 0 &&
	    l->skipped_mid == 0)
		return NULL;
	return cut_batch(l, now, seq, skipped);
}

void
joblog_acked(struct joblog *l, const char *id)
{
	if (l->inflight && strcmp(l->inflight_id, id) == 0)
		l->inflight = false;
}

char *
joblog_rest(struct joblog *l, int64_t *seq, uint64_t *skipped)
{
	struct buf	all = { 0 };
	size_t		used;
	char		*s = NULL;

	buf_add(&all, buf_head(&l->queue), buf_used(&l->queue));
	buf_add(&all, buf_head(&l->status), buf_used(&l->status));
	buf_add(&all, buf_head(&l->partial), buf_used(&l->partial));
	if (buf_used(&l->partial) > 0)
		progress_line(&l->progress, (const char *)buf_head(&l->partial),
		    buf_used(&l->partial));
	buf_drain(&l->queue, buf_used(&l->queue));
	buf_drain(&l->status, buf_used(&l->status));
	buf_drain(&l->partial, buf_used(&l->partial));
	used = buf_used(&all);
	if (used > JOBLOG_REST_MAX) {
		/* The last bytes, from the start of a character. */
		size_t	cut = used - JOBLOG_REST_MAX;

		while (cut < used &&
		    (buf_head(&all)[cut] & 0xc0) == 0x80 &&
		    cut - (used - JOBLOG_REST_MAX) < 3)
			cut++;
		l->skipped += cut;
		buf_drain(&all, cut);
	}
	if (buf_used(&all) > 0)
		s = text_of(buf_head(&all), buf_used(&all));
	buf_free(&all);
	*seq = l->seq;
	*skipped = l->skipped + l->skipped_mid;
	l->skipped = l->skipped_mid = 0;
	return s;
}
