/*
 * Sealed data-plane frames (design §4.3) on P/job/<id>/in and /out.
 *
 * Layout (all integers big-endian):
 *   header  u8 version (1) | u8 kind | u16 reserved (0) | u64 seq | u64 ack
 *   nonce   24 bytes (random)
 *   box     XChaCha20-Poly1305-IETF(payload), 16-byte tag
 * The header and the job id are the associated data, so a frame cannot be
 * moved to another job or have its header altered.  seq is 0 for frames
 * that are not retransmitted (ack, ping); ack is the highest contiguous
 * seq the sender has received from its peer (0: none yet).
 *
 * Control frames (ack, ping) have a payload of exactly FRAME_CONTROL_LEN
 * bytes:  u8 flags | u64 counter.
 * flags (ack only; a ping sends 0):
 *   FRAME_CTL_RESEND   re-send everything unacknowledged (the sender's
 *                      subscription is new)
 *   FRAME_CTL_HOLDING  receiving, but holding acks back
 * counter starts at 1 and grows by one with every control frame a stream
 * end sends.  Being sealed it cannot be forged, so a receiver takes a
 * control frame as a sign of life, and its flags as current, only when
 * its counter is above the highest it has seen: a recorded ack or ping
 * replayed from the topic is stale.  Data frames need no counter: a
 * replayed one is a duplicate seq.  A control frame of any other length
 * is bad.
 *
 * A pause frame (FK_PAUSE) has the control layout too, seq 0 and ack 0,
 * but comes from a second sender, the proxy's stop watcher (stopwatch.h),
 * which has a counter of its own: the receiver keeps a separate highest
 * pause counter, and a fresh pause frame is a sign of life (the watcher
 * repeats it while the proxy is stopped).
 */
#ifndef DFFMPEG_FRAME_H
#define DFFMPEG_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "bounds.h"

enum frame_kind {
	FK_HELLO = 1,	/* worker -> client: subscribed, send stdin */
	FK_STDIN,
	FK_STDIN_EOF,
	FK_SIGNAL,	/* payload: u8 signal number */
	FK_STDOUT,
	FK_STDERR,
	FK_EXIT,	/* payload: i32 code, u8 signal (0: exited) */
	FK_ACK,
	FK_PING,
	FK_CLOSED,	/* client -> worker: the reader of the proxy's stdout
			   (payload u8 1) or stderr (2) is gone: close that
			   pipe so the remote process gets EPIPE, as a local
			   one would */
	FK_NICE,	/* client -> worker: i8, the proxy's nice value, for
			   the remote process (at hello and when it changes) */
	FK_PAUSE,	/* client -> worker, from the proxy's stop watcher:
			   control payload, flag FRAME_PAUSE_STOPPED set while
			   the proxy is stopped (pause the remote process),
			   clear once it runs again */
	FK__MAX
};

#define FRAME_VERSION		1
#define FRAME_HEADER_LEN	20
#define FRAME_NONCE_LEN		24
#define FRAME_TAG_LEN		16
#define FRAME_OVERHEAD	(FRAME_HEADER_LEN + FRAME_NONCE_LEN + FRAME_TAG_LEN)
#define FRAME_MAX_SEALED	(FRAME_OVERHEAD + FRAME_MAX_PAYLOAD)

#define FRAME_CONTROL_LEN	9	/* u8 flags, u64 counter */
#define FRAME_CTL_RESEND	0x01
#define FRAME_CTL_HOLDING	0x02
#define FRAME_PAUSE_STOPPED	0x01	/* pause frames */

struct frame {
	enum frame_kind	 kind;
	uint64_t	 seq;
	uint64_t	 ack;
	const uint8_t	*data;	/* frame_open: points into the caller's buf */
	size_t		 len;
};

const char	*frame_kind_name(enum frame_kind);

/*
 * Seal f for job into out (at least FRAME_OVERHEAD + f->len bytes).
 * Returns the sealed length, or 0 if f->len > FRAME_MAX_PAYLOAD, outcap is
 * too small, the kind is invalid or job is longer than NAME_MAX_LEN.
 * f->data must not overlap out.
 */
size_t	 frame_seal(const uint8_t key[KEY_LEN], const char *job,
	    const struct frame *f, uint8_t *out, size_t outcap);

/*
 * Open a sealed frame.  plain must hold FRAME_MAX_PAYLOAD bytes; on success
 * f->data points into it.  Returns 0, or -1 with err filled (too short, too
 * long, bad version or kind, authentication failure).
 */
int	 frame_open(const uint8_t key[KEY_LEN], const char *job,
	    const uint8_t *in, size_t inlen, struct frame *f, uint8_t *plain,
	    char *err, size_t errlen);

/* Control payload (ack, ping) helpers; decode returns -1 unless len is
 * exactly FRAME_CONTROL_LEN. */
void	 frame_control_encode(uint8_t out[FRAME_CONTROL_LEN], uint8_t flags,
	    uint64_t counter);
int	 frame_control_decode(const uint8_t *, size_t, uint8_t *flags,
	    uint64_t *counter);

/* Exit payload helpers. */
void	 frame_exit_encode(uint8_t out[5], int code, int sig);
int	 frame_exit_decode(const uint8_t *, size_t, int *code, int *sig);

#endif
