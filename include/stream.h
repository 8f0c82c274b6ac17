/*
 * One end of a job's data plane: a reliable, ordered, flow-controlled
 * channel of sealed frames over MQTT (design §6.1 step 4).
 *
 * Sending: every frame but ack and ping gets the next sequence number and
 * is kept, sealed, until the peer acknowledges it.  The window bounds the
 * unacknowledged bytes and frames; when it is full the owner stops reading
 * its source (stream_full) and resumes on ops->writable.  After a
 * reconnect stream_resend publishes every unacknowledged frame again and
 * asks the peer to do the same (an ack flagged RESEND), since whatever the
 * peer sent before our subscription was renewed is lost.  Frames that stay
 * unacknowledged are all re-sent after a timeout that doubles up to 16 s,
 * except while the peer's last ack was flagged HOLDING; the timeout runs
 * from when our last frame reached the broker (ops->sending).
 *
 * Receiving: frames are opened, duplicates dropped, early frames held
 * (bounded) until the gap fills, and delivered in order.  The ack
 * announces the highest contiguous frame delivered, unless the owner holds
 * acks (stream_hold) because it cannot pass the data on yet: that is the
 * back-pressure that reaches the remote source.
 *
 * Liveness: a ping goes out after ping_ms without sending a fresh frame
 * (a new data frame or a control frame; resends do not count, so an end
 * busy retransmitting still pings); ops->lost is called after lost_ms
 * without a fresh frame from the peer.  Fresh means the peer cannot have
 * sent it before: a control frame whose counter (frame.h) is above the
 * highest seen, a data frame next in line, or a new early one.  Replayed
 * acks and pings or duplicate data frames, which anyone who can read the
 * topic could send, neither keep the peer alive nor change flow control
 * (RESEND, HOLDING); a duplicate is still acknowledged.
 *
 * Direction: frames are sealed with "<job>/out" (worker to client) or
 * "<job>/in" as associated data, so a frame copied back to its sender, or
 * to the other topic, does not open.
 */
#ifndef DFFMPEG_STREAM_H
#define DFFMPEG_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "frame.h"

struct event_base;
struct stream;

struct stream_ops {
	/* Publish one sealed frame; -1 if it could not be sent now. */
	int	(*publish)(void *arg, const uint8_t *buf, size_t len);
	/* The peer's next frame in order (never ack or ping). */
	void	(*deliver)(void *arg, enum frame_kind, const uint8_t *data,
		    size_t len);
	/* The window has room again. */
	void	(*writable)(void *arg);
	/* Nothing heard from the peer for lost_ms (may be NULL). */
	void	(*lost)(void *arg);
	/* Is the last frame we published still on its way to the broker
	 * (may be NULL)?  Meanwhile no ack is overdue: a resend would only
	 * queue behind it on a slow link. */
	bool	(*sending)(void *arg);
};

struct stream_params {
	size_t		window_bytes;	/* 0: STREAM_WINDOW_DEFAULT */
	size_t		window_frames;	/* 0: 512 */
	int		ping_ms;	/* 0: no pings */
	int		lost_ms;	/* 0: never lost */
};

/* worker_end: this end runs the process (sends "out", receives "in"). */
struct stream	*stream_new(struct event_base *, const uint8_t key[KEY_LEN],
		    const char *job, bool worker_end,
		    const struct stream_params *, const struct stream_ops *,
		    void *arg);
void		 stream_free(struct stream *);

/* Queue data of one kind, split into frames of FRAME_MAX_PAYLOAD.  Always
 * accepted (the window is advisory for the caller's reads). */
void		 stream_send(struct stream *, enum frame_kind, const void *,
		    size_t);
bool		 stream_full(const struct stream *);
/* Everything sent has been acknowledged. */
bool		 stream_drained(const struct stream *);
size_t		 stream_unacked(const struct stream *);

/* A sealed frame received from the peer; bad frames (not opening, or a
 * control frame without its counter) are counted and dropped. */
void		 stream_input(struct stream *, const uint8_t *, size_t);
/* Publish all unacknowledged frames again (after a reconnect). */
void		 stream_resend(struct stream *);
/* Hold acks (true) or release them and acknowledge what was delivered. */
void		 stream_hold(struct stream *, bool);
/* Send an ack now if one is owed. */
void		 stream_flush_ack(struct stream *);
/*
 * Seal a pause frame (frame.h) for the worker end of job: what the
 * proxy's stop watcher sends from a process of its own, with a counter of
 * its own (from 1, growing).  Returns the length, 0 if it does not fit.
 * The worker end delivers a fresh one as FK_PAUSE with one byte of flags.
 */
size_t		 stream_seal_pause(const uint8_t key[KEY_LEN], const char *job,
		    bool stopped, uint64_t counter, uint8_t *out,
		    size_t outcap);
/* Frames dropped as bad (authentication, format). */
uint64_t	 stream_bad_frames(const struct stream *);

#endif
