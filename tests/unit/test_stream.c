/*
 * The data-plane stream (stream.h): two ends on one real libevent loop,
 * joined by a fake network that can drop, duplicate and reorder frames or
 * refuse to publish.  Checks ordered exactly-once delivery with kinds
 * preserved, recovery by stream_resend and by the retransmission timer,
 * the window and its writable callback, held acks, bad frames and loss of
 * the peer, and that replayed acks, pings and data frames neither keep a
 * dead peer alive nor change flow control.
 *
 * The stream's timer ticks every 250 ms and retransmits after at least
 * 1 s, so the few tests that need the timer run the loop for a second or
 * two; the others pump the queues without waiting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <sodium.h>

/* More than two frames' worth, so that a chunk spans three frames. */
#define BIG_CHUNK	(2 * FRAME_MAX_PAYLOAD + 1000)

#include "unit.h"

#include "bounds.h"
#include "frame.h"
#include "stream.h"
#include "util.h"
#include "xmalloc.h"

struct pkt {
	uint8_t		*buf;
	size_t		 len;
};

struct queue {
	struct pkt	*v;
	size_t		 n;
	size_t		 cap;
};

/* One end: its stream, the frames it published that are still "in the
 * network", what the network does to them, and what it received. */
struct end {
	const char	*name;
	struct stream	*s;
	struct end	*peer;
	struct queue	 q;

	bool		 down;		/* publish returns -1 */
	bool		 cut;		/* the network loses all its frames */
	int		 drop_pct;
	int		 dup_pct;
	int		 reorder_pct;
	size_t		 drop_at;	/* lose its Nth published frame */
	bool		 leaving;	/* its last frame has not left yet */
	bool		 recording;	/* keep a copy of what it publishes */
	struct queue	 rec;

	size_t		 published;	/* frames handed to the network */
	size_t		 refused;	/* publish calls while down */
	struct buf	 got;		/* kind, u32 length, data per frame */
	size_t		 frames;
	int		 writable;
	int		 lost;
};

static struct event_base	*base;
static uint8_t			 key[KEY_LEN];
static char			 job[ID_BUF];
static uint64_t			 rng;
static struct end		 A, B;

static uint64_t
rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n == 0 ? 0 : rng % n;
}

static void
q_push(struct queue *q, const uint8_t *buf, size_t len)
{
	if (q->n == q->cap) {
		q->cap = q->cap ? q->cap * 2 : 64;
		q->v = xreallocarray(q->v, q->cap, sizeof(*q->v));
	}
	q->v[q->n].buf = xmemdup(buf, len);
	q->v[q->n].len = len;
	q->n++;
}

static void
q_clear(struct queue *q)
{
	size_t	i;

	for (i = 0; i < q->n; i++)
		free(q->v[i].buf);
	free(q->v);
	memset(q, 0, sizeof(*q));
}

/* Append one delivered (or expected) frame to a record. */
static void
record(struct buf *b, enum frame_kind kind, const uint8_t *data, size_t len)
{
	uint8_t	hdr[5];

	hdr[0] = (uint8_t)kind;
	hdr[1] = (uint8_t)(len >> 24);
	hdr[2] = (uint8_t)(len >> 16);
	hdr[3] = (uint8_t)(len >> 8);
	hdr[4] = (uint8_t)len;
	buf_add(b, hdr, sizeof(hdr));
	if (len > 0)
		buf_add(b, data, len);
}

static int
cb_publish(void *arg, const uint8_t *buf, size_t len)
{
	struct end	*e = arg;

	if (e->down) {
		e->refused++;
		return -1;
	}
	e->published++;
	if (e->recording)
		q_push(&e->rec, buf, len);
	if (e->drop_at != 0 && e->published == e->drop_at)
		return 0;		/* accepted, then lost on the way */
	q_push(&e->q, buf, len);
	return 0;
}

static void
cb_deliver(void *arg, enum frame_kind kind, const uint8_t *data, size_t len)
{
	struct end	*e = arg;

	ck_assert_msg(kind != FK_ACK && kind != FK_PING, "%s: got a %s",
	    e->name, frame_kind_name(kind));
	record(&e->got, kind, data, len);
	e->frames++;
}

static void
cb_writable(void *arg)
{
	((struct end *)arg)->writable++;
}

static void
cb_lost(void *arg)
{
	((struct end *)arg)->lost++;
}

static bool
cb_sending(void *arg)
{
	return ((struct end *)arg)->leaving;
}

static const struct stream_ops ops = {
	cb_publish, cb_deliver, cb_writable, cb_lost, cb_sending
};

static void
ends_open(const struct stream_params *pa, const struct stream_params *pb)
{
	memset(&A, 0, sizeof(A));
	memset(&B, 0, sizeof(B));
	A.name = "A";
	B.name = "B";
	A.peer = &B;
	B.peer = &A;
	A.s = stream_new(base, key, job, true, pa, &ops, &A);
	B.s = stream_new(base, key, job, false, pb, &ops, &B);
}

static void
ends_close(void)
{
	stream_free(A.s);
	stream_free(B.s);
	A.s = B.s = NULL;
	q_clear(&A.q);
	q_clear(&B.q);
	q_clear(&A.rec);
	q_clear(&B.rec);
	buf_free(&A.got);
	buf_free(&B.got);
}

static void
setup(void)
{
	base = event_base_new();
	randombytes_buf(key, sizeof(key));
	id_new(job);
	rng = 0x9e3779b97f4a7c15ULL;
}

static void
teardown(void)
{
	ends_close();
	event_base_free(base);
	base = NULL;
}

/* Move one frame of e across the network; false if it had none. */
static bool
step(struct end *e)
{
	struct pkt	p;
	size_t		i = 0;

	if (e->q.n == 0)
		return false;
	if (e->reorder_pct > 0 && (int)rnd(100) < e->reorder_pct)
		i = (size_t)rnd(e->q.n);
	p = e->q.v[i];
	memmove(&e->q.v[i], &e->q.v[i + 1], (e->q.n - i - 1) * sizeof(p));
	e->q.n--;
	if (e->cut || (e->drop_pct > 0 && (int)rnd(100) < e->drop_pct)) {
		free(p.buf);
		return true;
	}
	if (e->dup_pct > 0 && (int)rnd(100) < e->dup_pct)
		q_push(&e->q, p.buf, p.len);	/* arrives again later */
	stream_input(e->peer->s, p.buf, p.len);
	free(p.buf);
	return true;
}

/* Deliver everything in flight (and what that causes) and run whatever
 * the loop has ready, without waiting.  At most max frames; 0: all. */
static void
pump_n(size_t max)
{
	size_t	n = 0;
	bool	moved;

	do {
		moved = false;
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (step(&A)) {
			moved = true;
			n++;
		}
		if (step(&B)) {
			moved = true;
			n++;
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
		ck_assert_msg(n < 10000000, "the network never goes quiet");
	} while ((moved || A.q.n > 0 || B.q.n > 0) && (max == 0 || n < max));
}

static void
pump(void)
{
	pump_n(0);
}

static void
nap(void)
{
	struct timespec	ts = { 0, 2 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* Run the loop and the network in real time until pred() or ms passed;
 * returns pred(). */
static bool
run_until(int64_t ms, bool (*pred)(void))
{
	int64_t	end = mono_ms() + ms;

	while (!(pred != NULL && pred()) && mono_ms() < end) {
		pump();
		nap();
	}
	pump();
	return pred != NULL && pred();
}

static bool
never(void)
{
	return false;
}

/* ---- traffic ---- */

/* Send n chunks of varied sizes, kinds among kinds[0..nk), recording what
 * the peer must see.  between: frames to pump after each chunk (0: none).
 * Returns the total payload bytes. */
static size_t
send_chunks(struct end *e, struct buf *want, size_t *want_frames, int n,
    const enum frame_kind *kinds, size_t nk, size_t between)
{
	static const size_t	 sizes[] = { 0, 1, 1, 2, 17, 100, 1000, 4096,
				    9000, FRAME_MAX_PAYLOAD - 1,
				    FRAME_MAX_PAYLOAD, FRAME_MAX_PAYLOAD + 1,
				    BIG_CHUNK };
	uint8_t			*data;
	size_t			 total = 0, len, off, c;
	enum frame_kind		 kind;
	int			 i;

	data = xmalloc(BIG_CHUNK);
	for (i = 0; i < n; i++) {
		len = sizes[rnd(nitems(sizes))];
		/* Big chunks are rare so that the test stays quick. */
		if (len > 9000 && rnd(8) != 0)
			len = 1 + rnd(300);
		kind = kinds[rnd(nk)];
		for (off = 0; off < len; off++)
			data[off] = (uint8_t)rnd(256);
		stream_send(e->s, kind, data, len);
		off = 0;
		do {
			c = len - off > FRAME_MAX_PAYLOAD ? FRAME_MAX_PAYLOAD :
			    len - off;
			record(want, kind, data + off, c);
			(*want_frames)++;
			off += c;
		} while (off < len);
		total += len;
		if (between > 0)
			pump_n(1 + rnd(between));
	}
	free(data);
	return total;
}

static void
check_got(const struct end *e, const struct buf *want, size_t want_frames)
{
	size_t	i, n;

	ck_assert_msg(e->frames == want_frames, "%s: %zu frames delivered, "
	    "want %zu", e->name, e->frames, want_frames);
	n = buf_used(&e->got) < buf_used(want) ? buf_used(&e->got) :
	    buf_used(want);
	for (i = 0; i < n; i++)
		if (buf_head(&e->got)[i] != buf_head(want)[i])
			break;
	ck_assert_msg(i == n && buf_used(&e->got) == buf_used(want),
	    "%s: delivered record differs at byte %zu (got %zu, want %zu)",
	    e->name, i, buf_used(&e->got), buf_used(want));
}

static const enum frame_kind out_kinds[] = { FK_STDOUT, FK_STDERR };
static const enum frame_kind in_kinds[] = { FK_STDIN, FK_SIGNAL };

/* ---- tests ---- */

START_TEST(test_clean)
{
	struct buf	wa = { 0 }, wb = { 0 };
	size_t		fa = 0, fb = 0;

	ends_open(NULL, NULL);
	send_chunks(&A, &wb, &fb, 300, out_kinds, 2, 3);
	send_chunks(&B, &wa, &fa, 50, in_kinds, 2, 2);
	pump();
	check_got(&B, &wb, fb);
	check_got(&A, &wa, fa);
	ck_assert(stream_drained(A.s));
	ck_assert(stream_drained(B.s));
	ck_assert_uint_eq(stream_unacked(A.s), 0);
	ck_assert_uint_eq(stream_bad_frames(A.s), 0);
	ck_assert_uint_eq(stream_bad_frames(B.s), 0);
	/* Exactly one frame per chunk piece went out (acks aside). */
	ck_assert_uint_ge(A.published, fb);
	buf_free(&wa);
	buf_free(&wb);
}
END_TEST

static struct buf	*fw_a, *fw_b;
static size_t		 ff_a, ff_b;

static bool
all_through(void)
{
	return A.frames == ff_a && B.frames == ff_b &&
	    buf_used(&A.got) == buf_used(fw_a) &&
	    buf_used(&B.got) == buf_used(fw_b) &&
	    stream_drained(A.s) && stream_drained(B.s);
}

/* Drops, duplicates and reordering in both directions; lost frames are
 * recovered by stream_resend on both sides (as after a reconnect). */
START_TEST(test_faults)
{
	struct buf	wa = { 0 }, wb = { 0 };
	size_t		fa = 0, fb = 0;
	int		rounds;

	ends_open(NULL, NULL);
	A.drop_pct = B.drop_pct = 15;
	A.dup_pct = B.dup_pct = 20;
	A.reorder_pct = B.reorder_pct = 40;
	send_chunks(&A, &wb, &fb, 200, out_kinds, 2, 4);
	send_chunks(&B, &wa, &fa, 40, in_kinds, 2, 4);
	fw_a = &wa;
	fw_b = &wb;
	ff_a = fa;
	ff_b = fb;
	pump();
	for (rounds = 0; rounds < 300 && !all_through(); rounds++) {
		stream_resend(A.s);
		stream_resend(B.s);
		pump();
	}
	ck_assert_msg(all_through(), "not through after %d resend rounds: "
	    "B has %zu/%zu frames, A %zu/%zu, unacked A %zu B %zu", rounds,
	    B.frames, fb, A.frames, fa, stream_unacked(A.s),
	    stream_unacked(B.s));
	check_got(&B, &wb, fb);
	check_got(&A, &wa, fa);
	ck_assert_uint_eq(stream_bad_frames(A.s), 0);
	ck_assert_uint_eq(stream_bad_frames(B.s), 0);
	buf_free(&wa);
	buf_free(&wb);
}
END_TEST

/* The same without any resend: duplicates and reordering only, which the
 * receiver must sort out by itself. */
START_TEST(test_dup_reorder)
{
	struct buf	wa = { 0 }, wb = { 0 };
	size_t		fa = 0, fb = 0;

	ends_open(NULL, NULL);
	A.dup_pct = B.dup_pct = 30;
	A.reorder_pct = B.reorder_pct = 60;
	/* At most a few frames in flight: the receiver holds a bounded
	 * number of early frames. */
	send_chunks(&A, &wb, &fb, 300, out_kinds, 2, 8);
	send_chunks(&B, &wa, &fa, 60, in_kinds, 2, 8);
	pump();
	check_got(&B, &wb, fb);
	check_got(&A, &wa, fa);
	ck_assert(stream_drained(A.s));
	ck_assert(stream_drained(B.s));
	buf_free(&wa);
	buf_free(&wb);
}
END_TEST

static bool
b_has_three(void)
{
	return B.frames == 3;
}

/* One frame lost and nothing else said: only the timer can recover it. */
START_TEST(test_timer_recovery)
{
	struct buf	wb = { 0 };
	size_t		fb = 0;
	int64_t		t0;
	uint8_t		x[3] = { 'a', 'b', 'c' };

	ends_open(NULL, NULL);
	A.drop_at = 2;
	t0 = mono_ms();
	stream_send(A.s, FK_STDOUT, &x[0], 1);
	stream_send(A.s, FK_STDERR, &x[1], 1);
	stream_send(A.s, FK_STDOUT, &x[2], 1);
	record(&wb, FK_STDOUT, &x[0], 1);
	record(&wb, FK_STDERR, &x[1], 1);
	record(&wb, FK_STDOUT, &x[2], 1);
	fb = 3;
	pump();
	ck_assert_uint_eq(B.frames, 1);
	ck_assert(!stream_drained(A.s));
	ck_assert_msg(run_until(2500, b_has_three), "not recovered by the "
	    "timer: B has %zu frames", B.frames);
	ck_assert_msg(mono_ms() - t0 >= 900, "re-sent after %lld ms, before "
	    "the minimum timeout", (long long)(mono_ms() - t0));
	check_got(&B, &wb, fb);
	pump();
	ck_assert(stream_drained(A.s));
	buf_free(&wb);
}
END_TEST

/* The same while the last frame is still on its way out (a slow link):
 * no ack is overdue until it has left, then the timer recovers. */
START_TEST(test_timer_waits_while_leaving)
{
	struct buf	wb = { 0 };
	int64_t		t1;
	uint8_t		x[3] = { 'a', 'b', 'c' };
	size_t		i;

	ends_open(NULL, NULL);
	A.drop_at = 2;
	A.leaving = true;
	for (i = 0; i < 3; i++) {
		stream_send(A.s, i == 1 ? FK_STDERR : FK_STDOUT, &x[i], 1);
		record(&wb, i == 1 ? FK_STDERR : FK_STDOUT, &x[i], 1);
	}
	pump();
	ck_assert_uint_eq(B.frames, 1);
	ck_assert_msg(!run_until(2500, b_has_three), "re-sent while the "
	    "last frame was still leaving");
	A.leaving = false;
	t1 = mono_ms();
	ck_assert_msg(run_until(2500, b_has_three), "not recovered once it "
	    "had left: B has %zu frames", B.frames);
	ck_assert_msg(mono_ms() - t1 >= 900, "re-sent %lld ms after it had "
	    "left, before the minimum timeout", (long long)(mono_ms() - t1));
	check_got(&B, &wb, 3);
	pump();
	ck_assert(stream_drained(A.s));
	buf_free(&wb);
}
END_TEST

START_TEST(test_window)
{
	struct stream_params	p = { 10000, 0, 0, 0 };
	struct stream_params	pf = { 0, 4, 0, 0 };
	uint8_t			data[4000];
	int			i;

	memset(data, 'w', sizeof(data));
	ends_open(&p, NULL);
	ck_assert(!stream_full(A.s));
	stream_send(A.s, FK_STDOUT, data, sizeof(data));
	stream_send(A.s, FK_STDOUT, data, sizeof(data));
	ck_assert(!stream_full(A.s));
	ck_assert_uint_eq(stream_unacked(A.s), 8000);
	stream_send(A.s, FK_STDERR, data, sizeof(data));
	ck_assert(stream_full(A.s));
	ck_assert_uint_eq(stream_unacked(A.s), 12000);
	ck_assert(!stream_drained(A.s));
	ck_assert_int_eq(A.writable, 0);
	pump();
	ck_assert_uint_eq(B.frames, 3);
	ck_assert(!stream_full(A.s));
	ck_assert(stream_drained(A.s));
	ck_assert_uint_eq(stream_unacked(A.s), 0);
	ck_assert_int_eq(A.writable, 1);
	/* Not full again: no further writable calls. */
	stream_send(A.s, FK_STDOUT, data, 10);
	pump();
	ck_assert_int_eq(A.writable, 1);
	ends_close();

	/* The frame limit counts frames, whatever their size. */
	ends_open(&pf, NULL);
	for (i = 0; i < 3; i++)
		stream_send(A.s, FK_STDOUT, data, 1);
	ck_assert(!stream_full(A.s));
	stream_send(A.s, FK_STDOUT, data, 0);
	ck_assert(stream_full(A.s));
	/* Acks come back one at a time: the window opens at the first. */
	pump_n(1);
	pump();
	ck_assert(!stream_full(A.s));
	ck_assert_int_eq(A.writable, 1);
	ck_assert_uint_eq(B.frames, 4);
}
END_TEST

START_TEST(test_hold)
{
	struct stream_params	p = { 10000, 0, 0, 0 };
	struct stream_params	pb = { 0, 0, 100, 0 };
	uint8_t			data[4000];
	size_t			sent;
	int			i;

	memset(data, 'h', sizeof(data));
	/* B pings while holding: its pings must not acknowledge either. */
	ends_open(&p, &pb);
	stream_hold(B.s, true);
	pump();
	for (i = 0; i < 3; i++)
		stream_send(A.s, FK_STDOUT, data, sizeof(data));
	ck_assert(stream_full(A.s));
	pump();
	/* B has the data but acknowledges none of it. */
	ck_assert_uint_eq(B.frames, 3);
	ck_assert(stream_full(A.s));
	ck_assert_uint_eq(stream_unacked(A.s), 12000);
	ck_assert_int_eq(A.writable, 0);
	/* Nor do B's own frames, which carry its receive position. */
	stream_flush_ack(B.s);
	stream_send(B.s, FK_STDIN, "q", 1);
	pump();
	ck_assert(stream_full(A.s));
	ck_assert_uint_eq(A.frames, 1);
	/* Held acks are not loss: A does not retransmit meanwhile. */
	sent = A.published;
	run_until(1400, never);
	ck_assert_msg(A.published == sent, "A sent %zu frames to a "
	    "holding peer", A.published - sent);
	ck_assert(stream_full(A.s));
	ck_assert_int_eq(A.writable, 0);
	ck_assert_uint_eq(B.frames, 3);

	stream_hold(B.s, false);
	pump();
	ck_assert(!stream_full(A.s));
	ck_assert(stream_drained(A.s));
	ck_assert_int_eq(A.writable, 1);
	ck_assert_uint_eq(B.frames, 3);
}
END_TEST

static bool
b_has_one(void)
{
	return B.frames == 1;
}

static bool
b_has_two(void)
{
	return B.frames == 2;
}

/*
 * A peer that held its acks and released them without having received
 * anything in between is no longer holding: frames lost after that must
 * still be recovered by the timer (its pings prove it is alive).
 */
START_TEST(test_hold_release_idle)
{
	struct stream_params	pb = { 0, 0, 100, 0 };
	uint8_t			x = 'x';

	ends_open(NULL, &pb);
	stream_hold(B.s, true);
	pump();
	stream_hold(B.s, false);
	pump();
	A.drop_at = A.published + 1;
	stream_send(A.s, FK_STDOUT, &x, 1);
	pump();
	ck_assert_uint_eq(B.frames, 0);
	ck_assert_msg(run_until(2600, b_has_one), "a frame lost after the "
	    "peer released its hold was never re-sent (B has %zu frames, A "
	    "%zu unacked bytes)", B.frames, stream_unacked(A.s));
	pump();
	ck_assert(stream_drained(A.s));
}
END_TEST

START_TEST(test_bad_frames)
{
	uint8_t		 other[KEY_LEN], buf[FRAME_OVERHEAD + 16];
	uint8_t		 junk[FRAME_OVERHEAD + 16];
	char		 other_job[ID_BUF], ad[ID_BUF + 4];
	struct frame	 f = { FK_STDOUT, 1, 0, (const uint8_t *)"forged", 6 };
	struct buf	 want = { 0 };
	size_t		 len;
	uint8_t		 y = 'y';

	ends_open(NULL, NULL);
	randombytes_buf(other, sizeof(other));
	do
		id_new(other_job);
	while (strcmp(other_job, job) == 0);

	/* Another key, right job. */
	len = frame_seal(other, job, &f, buf, sizeof(buf));
	ck_assert_uint_gt(len, 0);
	stream_input(B.s, buf, len);
	ck_assert_uint_eq(stream_bad_frames(B.s), 1);
	/* Right key, another job. */
	len = frame_seal(key, other_job, &f, buf, sizeof(buf));
	ck_assert_uint_gt(len, 0);
	stream_input(B.s, buf, len);
	ck_assert_uint_eq(stream_bad_frames(B.s), 2);
	/* A good frame cut short, a flipped bit, garbage, nothing. */
	len = frame_seal(key, job, &f, buf, sizeof(buf));
	stream_input(B.s, buf, len - 1);
	ck_assert_uint_eq(stream_bad_frames(B.s), 3);
	buf[len - 1] ^= 0x01;
	stream_input(B.s, buf, len);
	ck_assert_uint_eq(stream_bad_frames(B.s), 4);
	randombytes_buf(junk, sizeof(junk));
	stream_input(B.s, junk, sizeof(junk));
	ck_assert_uint_eq(stream_bad_frames(B.s), 5);
	stream_input(B.s, junk, 0);
	ck_assert_uint_eq(stream_bad_frames(B.s), 6);
	/* Sealed for the other direction, as B's own frames are: a frame
	 * copied back to its sender does not open. */
	snprintf(ad, sizeof(ad), "%s/in", job);
	len = frame_seal(key, ad, &f, buf, sizeof(buf));
	ck_assert_uint_gt(len, 0);
	stream_input(B.s, buf, len);
	ck_assert_uint_eq(stream_bad_frames(B.s), 7);
	ck_assert_uint_eq(B.frames, 0);
	/* None of them moved B's receive position, nor made it answer. */
	pump();
	ck_assert_uint_eq(B.published, 0);

	/* The real seq 1 still gets through, once. */
	stream_send(A.s, FK_STDERR, &y, 1);
	record(&want, FK_STDERR, &y, 1);
	pump();
	check_got(&B, &want, 1);
	ck_assert(stream_drained(A.s));
	ck_assert_uint_eq(stream_bad_frames(B.s), 7);
	ck_assert_uint_eq(stream_bad_frames(A.s), 0);
	buf_free(&want);
}
END_TEST

START_TEST(test_disconnected)
{
	struct buf	wb = { 0 };
	size_t		fb = 0, sent, before;

	ends_open(NULL, NULL);
	/* A cannot publish: frames are kept, then re-sent after the
	 * reconnect. */
	A.down = true;
	send_chunks(&A, &wb, &fb, 20, out_kinds, 2, 0);
	ck_assert_uint_gt(A.refused, 0);
	ck_assert_uint_eq(A.q.n, 0);
	pump();
	ck_assert_uint_eq(B.frames, 0);
	A.down = false;
	stream_resend(A.s);
	pump();
	check_got(&B, &wb, fb);
	ck_assert(stream_drained(A.s));

	/* B's subscription was lost for a while: everything A sent then
	 * is gone; B's resend asks A for it again. */
	A.cut = true;
	before = B.frames;
	send_chunks(&A, &wb, &fb, 20, out_kinds, 2, 0);
	pump();
	A.cut = false;
	ck_assert_uint_eq(B.frames, before);
	ck_assert(!stream_drained(A.s));
	stream_resend(B.s);
	pump();
	check_got(&B, &wb, fb);
	ck_assert(stream_drained(A.s));

	/* B cannot publish its acks: A stays unacknowledged until B is
	 * back and re-sends. */
	B.down = true;
	sent = fb;
	send_chunks(&A, &wb, &fb, 5, out_kinds, 2, 0);
	pump();
	check_got(&B, &wb, fb);
	ck_assert_uint_gt(fb, sent);
	ck_assert(!stream_drained(A.s));
	B.down = false;
	stream_resend(B.s);
	pump();
	ck_assert(stream_drained(A.s));
	check_got(&B, &wb, fb);
	buf_free(&wb);
}
END_TEST

static bool
a_lost(void)
{
	return A.lost > 0;
}

START_TEST(test_lost)
{
	struct stream_params	p = { 0, 0, 100, 500 };

	ends_open(&p, &p);
	/* Both ping: nobody is lost. */
	run_until(800, never);
	ck_assert_int_eq(A.lost, 0);
	ck_assert_int_eq(B.lost, 0);
	ck_assert_uint_gt(A.published, 0);
	ck_assert_uint_gt(B.published, 0);
	/* B goes silent (its frames are lost): A notices, B does not. */
	B.cut = true;
	ck_assert_msg(run_until(1500, a_lost), "lost never called");
	ck_assert_int_eq(B.lost, 0);
}
END_TEST

/* ---- replays: what anyone reading the topic could send ---- */

/* Play everything e recorded to its peer again. */
static void
replay(struct end *e)
{
	size_t	i;

	for (i = 0; i < e->rec.n; i++)
		stream_input(e->peer->s, e->rec.v[i].buf, e->rec.v[i].len);
}

/* Run the loop for ms, replaying e's recording to its peer every 100 ms
 * (e's own frames are cut); stops early once A is lost. */
static void
run_replaying(struct end *e, int64_t ms)
{
	int64_t	end = mono_ms() + ms, next = 0;

	while (A.lost == 0 && mono_ms() < end) {
		if (mono_ms() >= next) {
			replay(e);
			next = mono_ms() + 100;
		}
		pump();
		nap();
	}
	pump();
}

/*
 * Recorded acks and pings (with and without RESEND and HOLDING) of a peer
 * that has gone do not keep it alive; while it was there, its fresh pings
 * did.
 */
START_TEST(test_replayed_control)
{
	struct stream_params	pa = { 0, 0, 0, 600 };
	struct stream_params	pb = { 0, 0, 100, 0 };
	int64_t			t0;

	ends_open(&pa, &pb);
	B.recording = true;
	stream_hold(B.s, true);
	stream_hold(B.s, false);
	stream_resend(B.s);
	run_until(1500, never);
	ck_assert_msg(A.lost == 0, "lost while the peer pinged");
	ck_assert_uint_gt(B.rec.n, 5);
	B.recording = false;
	B.cut = true;
	t0 = mono_ms();
	run_replaying(&B, 2500);
	ck_assert_msg(A.lost > 0, "replayed acks and pings kept a silent "
	    "peer alive for %lld ms", (long long)(mono_ms() - t0));
	ck_assert_msg(mono_ms() - t0 < 1500, "lost only after %lld ms",
	    (long long)(mono_ms() - t0));
	ck_assert_uint_eq(stream_bad_frames(A.s), 0);
}
END_TEST

/* Replayed data frames are duplicates: acknowledged, not signs of life. */
START_TEST(test_replayed_data)
{
	struct stream_params	pa = { 0, 0, 0, 600 };
	size_t			i, acks;
	uint8_t			x = 'd';

	ends_open(&pa, NULL);
	B.recording = true;
	for (i = 0; i < 5; i++)
		stream_send(B.s, FK_STDIN, &x, 1);
	pump();
	ck_assert_uint_eq(A.frames, 5);
	ck_assert(stream_drained(B.s));
	B.recording = false;
	B.cut = true;
	acks = A.published;
	run_replaying(&B, 2500);
	ck_assert_msg(A.lost > 0, "replayed data frames kept a silent peer "
	    "alive");
	ck_assert_uint_eq(A.frames, 5);
	ck_assert_msg(A.published > acks, "duplicates were not acknowledged");
}
END_TEST

/*
 * A replayed ack flagged RESEND makes no resend, a replayed HOLDING does
 * not stop the retransmission timer; the same flags sent fresh do work.
 */
START_TEST(test_replayed_flags)
{
	struct queue	resend = { 0 }, holding = { 0 };
	size_t		sent;
	uint8_t		x = 'r';
	struct timespec	ts = { 0, 600 * 1000 * 1000 };

	ends_open(NULL, NULL);
	/* B holds: A's frames stay unacknowledged, no timer resends. */
	B.recording = true;
	stream_hold(B.s, true);
	pump();
	ck_assert_uint_eq(B.rec.n, 1);
	q_push(&holding, B.rec.v[0].buf, B.rec.v[0].len);
	stream_send(A.s, FK_STDOUT, &x, 1);
	pump();
	ck_assert(!stream_drained(A.s));
	q_clear(&B.rec);
	stream_resend(B.s);
	ck_assert_uint_eq(B.rec.n, 1);
	q_push(&resend, B.rec.v[0].buf, B.rec.v[0].len);
	sent = A.published;
	pump();
	ck_assert_uint_eq(A.published, sent + 1);	/* the fresh RESEND */
	B.recording = false;

	/* Past the RESEND rate limit: the replay must be ignored for being
	 * stale, not for being early. */
	nanosleep(&ts, NULL);
	sent = A.published;
	stream_input(A.s, resend.v[0].buf, resend.v[0].len);
	pump();
	ck_assert_msg(A.published == sent, "a replayed RESEND made A send "
	    "%zu frames", A.published - sent);
	stream_resend(B.s);
	pump();
	ck_assert_uint_eq(A.published, sent + 1);

	/* B lets go; its old HOLDING, replayed, must not stop A's timer. */
	stream_hold(B.s, false);
	pump();
	ck_assert(stream_drained(A.s));
	stream_input(A.s, holding.v[0].buf, holding.v[0].len);
	A.drop_at = A.published + 1;
	stream_send(A.s, FK_STDOUT, &x, 1);
	pump();
	ck_assert_uint_eq(B.frames, 1);
	ck_assert_msg(run_until(2600, b_has_two), "a replayed HOLDING "
	    "stopped the retransmission timer");
	ck_assert_uint_eq(stream_bad_frames(A.s), 0);
	q_clear(&resend);
	q_clear(&holding);
}
END_TEST

/*
 * An end busy retransmitting (its peer holds acks and keeps asking for a
 * resend, as after reconnects) still pings: its resends are duplicates to
 * the peer, which would otherwise take it for lost.
 */
START_TEST(test_busy_pings)
{
	struct stream_params	pa = { 0, 0, 1000, 0 };
	struct stream_params	pb = { 0, 0, 0, 2500 };
	uint8_t			data[1000];
	int64_t			end, next = 0;
	size_t			sent;

	memset(data, 'b', sizeof(data));
	ends_open(&pa, &pb);
	stream_hold(B.s, true);
	pump();
	stream_send(A.s, FK_STDOUT, data, sizeof(data));
	pump();
	ck_assert(!stream_drained(A.s));
	sent = A.published;
	end = mono_ms() + 4000;
	while (mono_ms() < end) {
		if (mono_ms() >= next) {
			stream_resend(B.s);
			next = mono_ms() + 300;
		}
		pump();
		nap();
	}
	ck_assert_msg(A.published - sent >= 4, "A re-sent only %zu frames",
	    A.published - sent);
	ck_assert_msg(B.lost == 0, "an end busy retransmitting was taken for "
	    "lost");
}
END_TEST

/* Control frames without their counter are bad frames. */
/*
 * Pause frames of the proxy's stop watcher (a sender beside the client
 * end, with its own counter): a fresh one reaches the worker end with its
 * flags and keeps the client alive while the client itself is silent; a
 * replayed or overtaken one does neither; one sealed for another job
 * does not open and counts as bad.
 */
START_TEST(test_pause_frames)
{
	struct stream_params	pa = { 0, 0, 0, 600 };
	uint8_t			buf[FRAME_OVERHEAD + FRAME_CONTROL_LEN];
	uint8_t			expect_buf[2] = { FRAME_PAUSE_STOPPED, 0 };
	struct buf		expect = { 0 };
	size_t			len, len1;
	uint8_t			first[sizeof(buf)];
	uint64_t		c;
	int64_t			end;

	ends_open(&pa, NULL);
	B.cut = true;		/* the client end is stopped: says nothing */
	len1 = stream_seal_pause(key, job, true, 1, first, sizeof(first));
	ck_assert_uint_eq(len1, sizeof(first));
	stream_input(A.s, first, len1);
	record(&expect, FK_PAUSE, expect_buf, 1);
	/* Fresh pause frames every 200 ms keep A from losing B for 1.5 s. */
	end = mono_ms() + 1500;
	for (c = 2; mono_ms() < end; c++) {
		len = stream_seal_pause(key, job, true, c, buf, sizeof(buf));
		stream_input(A.s, buf, len);
		record(&expect, FK_PAUSE, expect_buf, 1);
		run_until(200, a_lost);
	}
	ck_assert_int_eq(A.lost, 0);
	/* The first one again, and an older counter: dropped. */
	stream_input(A.s, first, len1);
	len = stream_seal_pause(key, job, false, c - 2, buf, sizeof(buf));
	stream_input(A.s, buf, len);
	/* A resume with a new counter: delivered. */
	len = stream_seal_pause(key, job, false, c, buf, sizeof(buf));
	stream_input(A.s, buf, len);
	record(&expect, FK_PAUSE, expect_buf + 1, 1);
	ck_assert_uint_eq(buf_used(&A.got), buf_used(&expect));
	ck_assert_mem_eq(buf_head(&A.got), buf_head(&expect), buf_used(&expect));
	ck_assert_uint_eq(stream_bad_frames(A.s), 0);
	/* Replays alone do not keep B alive. */
	end = mono_ms() + 1500;
	while (A.lost == 0 && mono_ms() < end) {
		stream_input(A.s, first, len1);
		stream_input(A.s, buf, len);
		run_until(100, a_lost);
	}
	ck_assert_msg(A.lost > 0, "replayed pause frames kept B alive");
	/* Sealed for another job: does not open. */
	len = stream_seal_pause(key, "other", true, c + 1, buf, sizeof(buf));
	stream_input(A.s, buf, len);
	ck_assert_uint_eq(stream_bad_frames(A.s), 1);
	buf_free(&expect);
}
END_TEST

START_TEST(test_short_control)
{
	uint8_t		 buf[FRAME_OVERHEAD + FRAME_CONTROL_LEN + 1];
	uint8_t		 payload[FRAME_CONTROL_LEN + 1] = { 0 };
	struct frame	 f = { FK_PING, 0, 0, payload, 0 };
	char		 ad[ID_BUF + 4];
	size_t		 len, n;
	static const size_t sizes[] = { 0, 1, FRAME_CONTROL_LEN - 1,
				    FRAME_CONTROL_LEN + 1 };

	ends_open(NULL, NULL);
	snprintf(ad, sizeof(ad), "%s/in", job);	/* as B sends to A */
	for (n = 0; n < nitems(sizes); n++) {
		f.kind = n % 2 ? FK_ACK : FK_PING;
		f.len = sizes[n];
		len = frame_seal(key, ad, &f, buf, sizeof(buf));
		ck_assert_uint_gt(len, 0);
		stream_input(A.s, buf, len);
		ck_assert_uint_eq(stream_bad_frames(A.s), n + 1);
	}
	/* Right size: accepted. */
	frame_control_encode(payload, 0, 1);
	f.kind = FK_PING;
	f.len = FRAME_CONTROL_LEN;
	len = frame_seal(key, ad, &f, buf, sizeof(buf));
	stream_input(A.s, buf, len);
	ck_assert_uint_eq(stream_bad_frames(A.s), nitems(sizes));
	/* A data frame without a sequence number is bad as well. */
	f.kind = FK_STDIN;
	f.len = 1;
	len = frame_seal(key, ad, &f, buf, sizeof(buf));
	stream_input(A.s, buf, len);
	ck_assert_uint_eq(stream_bad_frames(A.s), nitems(sizes) + 1);
	ck_assert_uint_eq(A.frames, 0);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("stream");
	TCase	*tc = tcase_create("stream");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_clean);
	tcase_add_test(tc, test_faults);
	tcase_add_test(tc, test_dup_reorder);
	tcase_add_test(tc, test_timer_recovery);
	tcase_add_test(tc, test_timer_waits_while_leaving);
	tcase_add_test(tc, test_window);
	tcase_add_test(tc, test_hold);
	tcase_add_test(tc, test_hold_release_idle);
	tcase_add_test(tc, test_bad_frames);
	tcase_add_test(tc, test_disconnected);
	tcase_add_test(tc, test_lost);
	tcase_add_test(tc, test_replayed_control);
	tcase_add_test(tc, test_replayed_data);
	tcase_add_test(tc, test_replayed_flags);
	tcase_add_test(tc, test_busy_pings);
	tcase_add_test(tc, test_short_control);
	tcase_add_test(tc, test_pause_frames);
	suite_add_tcase(s, tc);
	return s;
}
