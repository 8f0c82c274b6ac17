/*
 * The data-plane channel of one job end.  See stream.h.
 *
 * Sent frames are kept sealed in a FIFO (oldest first) until acknowledged;
 * the ack field of every outgoing frame carries our receive position, so a
 * separate ack frame is only sent when nothing else is going out.  Early
 * frames of the peer are kept sealed in a small array until the gap is
 * filled.
 *
 * Freshness (frame.h): only a frame the peer cannot have sent before
 * proves that it is alive, since anyone on the broker can replay old
 * ones.  That is a control frame whose counter is above ctl_heard, a data
 * frame next in line, or an early frame not held yet.  Only those move
 * last_heard, and only a fresh ack changes the flow-control state
 * (RESEND, HOLDING); a stale frame still carries a valid cumulative ack
 * and a duplicate still gets an ack back.  For the same reason the ping
 * timer runs from the last fresh frame we sent (last_fresh): resends are
 * stale to the peer and must not keep us from pinging.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "log.h"
#include "stream.h"
#include "util.h"
#include "xmalloc.h"

#define WINDOW_FRAMES_DEFAULT	512
#define EARLY_MAX		64	/* out-of-order frames held */
#define RTO_MIN_MS		1000
#define RTO_MAX_MS		16000
#define RESEND_MIN_MS		500
#define STALL_MS		2000	/* a tick this late: we were stopped */

struct sent {
	uint64_t	 seq;
	uint8_t		*buf;	/* sealed frame, ack field patched on resend */
	size_t		 len;
	size_t		 plain;	/* payload bytes, for the window */
};

struct early {
	uint64_t	 seq;
	uint8_t		*buf;
	size_t		 len;
};

struct stream {
	struct event_base	*base;
	uint8_t			 key[KEY_LEN];
	char			 job[ID_BUF];
	char			 ad_send[ID_BUF + 4];	/* "<job>/out" or "/in" */
	char			 ad_recv[ID_BUF + 4];
	struct stream_params	 p;
	const struct stream_ops	*ops;
	void			*arg;

	/* sending */
	uint64_t		 next_seq;
	struct sent		*sent;		/* ring of unacked frames */
	size_t			 nsent, sent_head, sent_cap;
	size_t			 unacked_bytes;
	bool			 was_full;
	bool			 peer_holding;	/* its last ack said so */
	int64_t			 resend_asked;	/* mono ms of the last RESEND */
	int64_t			 last_fresh;	/* new data or control frame */
	uint64_t		 ctl_sent;	/* counter of our last control
						   frame */
	int64_t			 last_progress;	/* ack moved or first send */
	int			 rto;

	/* receiving */
	uint64_t		 delivered;	/* highest contiguous seq */
	uint64_t		 announced;	/* last ack we sent */
	bool			 hold;
	struct early		 early[EARLY_MAX];
	size_t			 nearly;
	int64_t			 last_heard;	/* last fresh frame */
	uint64_t		 ctl_heard;	/* highest control counter */
	uint64_t		 pause_heard;	/* highest pause counter */
	int64_t			 last_tick;	/* mono ms of stream__tick */
	uint64_t		 bad;

	struct event		*ev_ack;	/* deferred ack */
	struct event		*ev_tick;
	uint8_t			*scratch;	/* FRAME_MAX_PAYLOAD */
};

static void	stream__tick(evutil_socket_t, short, void *);
static void	stream__ack_cb(evutil_socket_t, short, void *);

struct stream *
stream_new(struct event_base *base, const uint8_t key[KEY_LEN],
    const char *job, bool worker_end, const struct stream_params *p,
    const struct stream_ops *ops, void *arg)
{
	struct stream	*s = xcalloc(1, sizeof(*s));
	struct timeval	 tv = { 0, 250 * 1000 };

	s->base = base;
	memcpy(s->key, key, KEY_LEN);
	snprintf(s->job, sizeof(s->job), "%s", job);
	snprintf(s->ad_send, sizeof(s->ad_send), "%s/%s", s->job,
	    worker_end ? "out" : "in");
	snprintf(s->ad_recv, sizeof(s->ad_recv), "%s/%s", s->job,
	    worker_end ? "in" : "out");
	if (p != NULL)
		s->p = *p;
	if (s->p.window_bytes == 0)
		s->p.window_bytes = STREAM_WINDOW_DEFAULT;
	if (s->p.window_frames == 0)
		s->p.window_frames = WINDOW_FRAMES_DEFAULT;
	s->ops = ops;
	s->arg = arg;
	s->next_seq = 1;
	s->rto = RTO_MIN_MS;
	s->last_fresh = s->last_heard = s->last_progress = mono_ms();
	s->last_tick = s->last_heard;
	s->scratch = xmalloc(FRAME_MAX_PAYLOAD);
	s->ev_ack = event_new(base, -1, 0, stream__ack_cb, s);
	s->ev_tick = event_new(base, -1, EV_PERSIST, stream__tick, s);
	event_add(s->ev_tick, &tv);
	return s;
}

void
stream_free(struct stream *s)
{
	size_t	i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nsent; i++)
		free(s->sent[(s->sent_head + i) % s->sent_cap].buf);
	free(s->sent);
	for (i = 0; i < s->nearly; i++)
		free(s->early[i].buf);
	event_free(s->ev_ack);
	event_free(s->ev_tick);
	sodium_memzero(s->key, sizeof(s->key));
	free(s->scratch);
	free(s);
}

/* The ack field lives at bytes 12..19 of the header, which is associated
 * data: re-sealing is needed to change it, so resends carry the ack of
 * their first transmission.  That is harmless: acks are cumulative and the
 * next fresh frame or ack frame carries the current one.  fresh: the peer
 * has not seen this frame before (not a resend). */
static int
stream__publish(struct stream *s, const uint8_t *buf, size_t len, bool fresh)
{
	if (fresh)
		s->last_fresh = mono_ms();
	return s->ops->publish(s->arg, buf, len);
}

/* An ack or a ping, with the next control counter. */
static void
stream__send_control(struct stream *s, enum frame_kind kind, uint8_t flags)
{
	uint8_t		buf[FRAME_OVERHEAD + FRAME_CONTROL_LEN];
	uint8_t		payload[FRAME_CONTROL_LEN];
	struct frame	f = { kind, 0, s->delivered, payload, sizeof(payload) };
	size_t		len;

	if (!s->hold)
		s->announced = s->delivered;
	else
		f.ack = s->announced;
	if (kind != FK_ACK)
		flags = 0;
	else if (s->hold)
		flags |= FRAME_CTL_HOLDING;
	frame_control_encode(payload, flags, ++s->ctl_sent);
	len = frame_seal(s->key, s->ad_send, &f, buf, sizeof(buf));
	if (len > 0)
		stream__publish(s, buf, len, true);
}

static uint64_t
stream__ack_value(struct stream *s)
{
	if (!s->hold)
		s->announced = s->delivered;
	return s->announced;
}

void
stream_send(struct stream *s, enum frame_kind kind, const void *data,
    size_t len)
{
	const uint8_t	*p = data;
	size_t		 chunk;

	do {
		struct frame	 f;
		struct sent	*e;

		chunk = len > FRAME_MAX_PAYLOAD ? FRAME_MAX_PAYLOAD : len;
		if (s->nsent == s->sent_cap) {
			size_t	ncap = s->sent_cap ? s->sent_cap * 2 : 64;
			struct sent *n = xcalloc(ncap, sizeof(*n));
			size_t	i;

			for (i = 0; i < s->nsent; i++)
				n[i] = s->sent[(s->sent_head + i) %
				    s->sent_cap];
			free(s->sent);
			s->sent = n;
			s->sent_cap = ncap;
			s->sent_head = 0;
		}
		e = &s->sent[(s->sent_head + s->nsent) % s->sent_cap];
		f.kind = kind;
		f.seq = s->next_seq++;
		f.ack = stream__ack_value(s);
		f.data = p;
		f.len = chunk;
		e->seq = f.seq;
		e->plain = chunk;
		e->buf = xmalloc(FRAME_OVERHEAD + chunk);
		e->len = frame_seal(s->key, s->ad_send, &f, e->buf,
		    FRAME_OVERHEAD + chunk);
		if (s->nsent == 0)
			s->last_progress = mono_ms();
		s->nsent++;
		s->unacked_bytes += chunk;
		/* A fresh frame carries the ack: no separate one needed. */
		if (event_pending(s->ev_ack, EV_TIMEOUT, NULL) &&
		    s->announced == s->delivered)
			event_del(s->ev_ack);
		stream__publish(s, e->buf, e->len, true);
		p += chunk;
		len -= chunk;
	} while (len > 0);
	if (stream_full(s))
		s->was_full = true;
}

bool
stream_full(const struct stream *s)
{
	return s->unacked_bytes >= s->p.window_bytes ||
	    s->nsent >= s->p.window_frames;
}

bool
stream_drained(const struct stream *s)
{
	return s->nsent == 0;
}

size_t
stream_unacked(const struct stream *s)
{
	return s->unacked_bytes;
}

uint64_t
stream_bad_frames(const struct stream *s)
{
	return s->bad;
}

static void
stream__acked(struct stream *s, uint64_t ack)
{
	bool	progressed = false;

	while (s->nsent > 0 && s->sent[s->sent_head].seq <= ack) {
		struct sent *e = &s->sent[s->sent_head];

		s->unacked_bytes -= e->plain;
		free(e->buf);
		e->buf = NULL;
		s->sent_head = (s->sent_head + 1) % s->sent_cap;
		s->nsent--;
		progressed = true;
	}
	if (!progressed)
		return;
	s->last_progress = mono_ms();
	s->rto = RTO_MIN_MS;
	if (s->was_full && !stream_full(s)) {
		s->was_full = false;
		if (s->ops->writable != NULL)
			s->ops->writable(s->arg);
	}
}

static void
stream__schedule_ack(struct stream *s)
{
	struct timeval	tv = { 0, 0 };

	if (s->hold || s->announced == s->delivered)
		return;
	if (!event_pending(s->ev_ack, EV_TIMEOUT, NULL))
		event_add(s->ev_ack, &tv);
}

static void
stream__ack_cb(evutil_socket_t fd, short what, void *arg)
{
	struct stream	*s = arg;

	(void)fd;
	(void)what;
	if (!s->hold && s->announced != s->delivered)
		stream__send_control(s, FK_ACK, 0);
}

void
stream_flush_ack(struct stream *s)
{
	if (event_pending(s->ev_ack, EV_TIMEOUT, NULL))
		event_del(s->ev_ack);
	if (!s->hold && s->announced != s->delivered)
		stream__send_control(s, FK_ACK, 0);
}

void
stream_hold(struct stream *s, bool hold)
{
	if (hold == s->hold)
		return;
	s->hold = hold;
	/* Either way the peer must hear it at once: a hold so that it does
	 * not take silence for loss, a release so that it stops waiting
	 * (its retransmission timer is off while we hold). */
	stream__send_control(s, FK_ACK, 0);
}

static void
stream__resend_all(struct stream *s)
{
	size_t	i;

	for (i = 0; i < s->nsent; i++) {
		struct sent *e = &s->sent[(s->sent_head + i) % s->sent_cap];

		if (stream__publish(s, e->buf, e->len, false) == -1)
			break;
	}
	s->last_progress = mono_ms();
}

static bool
stream__bad(struct stream *s, const char *why)
{
	s->bad++;
	log_debug("job %s: dropped frame: %s", s->job, why);
	return false;
}

/* An opened ack or ping.  Its cumulative ack is always true (the peer
 * sent it once), so it is applied even from a stale frame; the rest only
 * from a fresh one. */
static bool
stream__control(struct stream *s, const struct frame *f)
{
	uint8_t		flags;
	uint64_t	counter;

	if (f->seq != 0 ||
	    frame_control_decode(f->data, f->len, &flags, &counter) == -1)
		return stream__bad(s, "malformed control frame");
	stream__acked(s, f->ack);
	if (counter <= s->ctl_heard)
		return true;		/* replayed, or overtaken */
	s->ctl_heard = counter;
	s->last_heard = mono_ms();
	if (f->kind != FK_ACK)
		return true;
	s->peer_holding = (flags & FRAME_CTL_HOLDING) != 0;
	/* At most twice a second, so that a peer whose connection flaps
	 * does not make us send the whole window again and again. */
	if ((flags & FRAME_CTL_RESEND) &&
	    mono_ms() - s->resend_asked >= RESEND_MIN_MS) {
		s->resend_asked = mono_ms();
		stream__resend_all(s);
	}
	return true;
}

/* An opened pause frame from the peer's stop watcher: delivered (flags
 * only) when fresh by the watcher's own counter, which also makes it a
 * sign of life. */
static bool
stream__pause(struct stream *s, const struct frame *f)
{
	uint8_t		flags;
	uint64_t	counter;

	if (f->seq != 0 ||
	    frame_control_decode(f->data, f->len, &flags, &counter) == -1)
		return stream__bad(s, "malformed pause frame");
	if (counter <= s->pause_heard)
		return true;
	s->pause_heard = counter;
	s->last_heard = mono_ms();
	s->ops->deliver(s->arg, FK_PAUSE, &flags, 1);
	return true;
}

/* Open and deliver one frame; returns false if it was bad. */
static bool
stream__accept(struct stream *s, const uint8_t *buf, size_t len,
    bool *stored)
{
	struct frame	f;
	char		err[128];
	size_t		i;

	*stored = false;
	if (frame_open(s->key, s->ad_recv, buf, len, &f, s->scratch, err,
	    sizeof(err)) == -1)
		return stream__bad(s, err);
	if (f.kind == FK_ACK || f.kind == FK_PING)
		return stream__control(s, &f);
	if (f.kind == FK_PAUSE)
		return stream__pause(s, &f);
	if (f.seq == 0)
		return stream__bad(s, "data frame without a sequence number");
	stream__acked(s, f.ack);
	if (f.seq <= s->delivered) {
		/* A duplicate: the peer may have missed our ack.  Not a sign
		 * of life: it may be a replay. */
		if (!s->hold)
			stream__send_control(s, FK_ACK, 0);
		return true;
	}
	if (f.seq != s->delivered + 1) {
		for (i = 0; i < s->nearly; i++)
			if (s->early[i].seq == f.seq)
				return true;
		/* Only a frame we keep is fresh: one we cannot keep may
		 * come again and again while the gap stays open. */
		if (s->nearly < EARLY_MAX) {
			s->early[s->nearly].seq = f.seq;
			s->early[s->nearly].buf = xmemdup(buf, len);
			s->early[s->nearly].len = len;
			s->nearly++;
			*stored = true;
			s->last_heard = mono_ms();
		}
		return true;
	}
	s->last_heard = mono_ms();
	s->delivered = f.seq;
	s->ops->deliver(s->arg, f.kind, f.data, f.len);
	return true;
}

void
stream_input(struct stream *s, const uint8_t *buf, size_t len)
{
	bool	stored, again;
	size_t	i;

	if (!stream__accept(s, buf, len, &stored))
		return;
	/* Early frames that have become next in line. */
	do {
		again = false;
		for (i = 0; i < s->nearly; i++) {
			if (s->early[i].seq != s->delivered + 1)
				continue;
			{
				struct early e = s->early[i];

				s->early[i] = s->early[--s->nearly];
				stream__accept(s, e.buf, e.len, &stored);
				free(e.buf);
			}
			again = true;
			break;
		}
	} while (again);
	stream__schedule_ack(s);
}

size_t
stream_seal_pause(const uint8_t key[KEY_LEN], const char *job, bool stopped,
    uint64_t counter, uint8_t *out, size_t outcap)
{
	uint8_t		payload[FRAME_CONTROL_LEN];
	struct frame	f = { FK_PAUSE, 0, 0, payload, sizeof(payload) };
	char		ad[ID_BUF + 4];

	if (snprintf(ad, sizeof(ad), "%s/in", job) >= (int)sizeof(ad))
		return 0;
	frame_control_encode(payload, stopped ? FRAME_PAUSE_STOPPED : 0,
	    counter);
	return frame_seal(key, ad, &f, out, outcap);
}

void
stream_resend(struct stream *s)
{
	stream__resend_all(s);
	/* Our subscription is new: what the peer sent meanwhile is lost,
	 * so ask it to send again what we have not acknowledged. */
	stream__send_control(s, FK_ACK, FRAME_CTL_RESEND);
}

static void
stream__tick(evutil_socket_t fd, short what, void *arg)
{
	struct stream	*s = arg;
	int64_t		 now = mono_ms();

	(void)fd;
	(void)what;
	/* A tick long overdue means this process did not run (stopped, or
	 * its host suspended): the peer gets a fresh lost_ms from now, since
	 * what it sent meanwhile is still waiting to be read. */
	if (now - s->last_tick > STALL_MS)
		s->last_heard = now;
	s->last_tick = now;
	if (stream_full(s))
		s->was_full = true;
	if (s->nsent > 0 && s->ops->sending != NULL && s->ops->sending(s->arg))
		s->last_progress = now;		/* not even gone yet */
	if (s->nsent > 0 && !s->peer_holding &&
	    now - s->last_progress >= s->rto) {
		log_debug("job %s: no ack for %d ms; re-sending %zu frames "
		    "from %llu", s->job, s->rto, s->nsent,
		    (unsigned long long)s->sent[s->sent_head].seq);
		stream__resend_all(s);
		s->rto = s->rto * 2 > RTO_MAX_MS ? RTO_MAX_MS : s->rto * 2;
	}
	if (s->p.ping_ms > 0 && now - s->last_fresh >= s->p.ping_ms)
		stream__send_control(s, FK_PING, 0);
	if (s->p.lost_ms > 0 && now - s->last_heard >= s->p.lost_ms &&
	    s->ops->lost != NULL) {
		s->last_heard = now;
		s->ops->lost(s->arg);
	}
}
