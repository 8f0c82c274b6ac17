/*
 * libFuzzer harness: data-plane frames and the stream state machine
 * (frame.c, stream.c).  The input is a series of records; each is either
 * raw bytes handed to the stream as they would arrive from the broker, or
 * a frame that the harness seals with the job's key (kind, sequence and
 * payload from the input), so that what lies behind the authentication
 * (ordering, acknowledgements, control payloads, windows) is reached.
 * Both ends of a stream are exercised.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "frame.h"
#include "stream.h"

#define JOB	"fuzzjob"

static const uint8_t key[KEY_LEN] = "fedcba9876543210fedcba9876543210";

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static size_t	delivered;

static int
publish(void *arg, const uint8_t *buf, size_t len)
{
	(void)arg;
	(void)buf;
	(void)len;
	return 0;
}

static void
deliver(void *arg, enum frame_kind kind, const uint8_t *data, size_t len)
{
	(void)arg;
	(void)kind;
	(void)data;
	delivered += len;
}

static void
writable(void *arg)
{
	(void)arg;
}

static const struct stream_ops ops = { publish, deliver, writable, NULL };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct event_base	*base;
	static uint8_t			 sealed[FRAME_MAX_SEALED];
	struct stream_params		 sp = { 64 * 1024, 64, 0, 0 };
	struct stream			*s;
	struct frame			 f;
	size_t				 n, len;

	if (base == NULL) {
		if (sodium_init() < 0 || (base = event_base_new()) == NULL)
			abort();
	}
	if (size < 1)
		return 0;
	s = stream_new(base, key, JOB, data[0] & 1, &sp, &ops, NULL);
	data++;
	size--;
	/* Records: u8 type, u16 length, bytes. */
	while (size >= 3) {
		n = (size_t)data[1] << 8 | data[2];
		if (n > size - 3)
			n = size - 3;
		if (data[0] & 1 && n >= 9) {
			memset(&f, 0, sizeof(f));
			f.kind = (enum frame_kind)(data[3] % (FK__MAX + 1));
			f.seq = (uint64_t)data[4] << 24 | (uint64_t)data[5] << 16 |
			    (uint64_t)data[6] << 8 | data[7];
			f.data = data + 9;
			f.len = n - 6;
			len = frame_seal(key, JOB, &f, sealed, sizeof(sealed));
			if (len > 0)
				stream_input(s, sealed, len);
		} else
			stream_input(s, data + 3, n);
		if (data[0] & 2)
			stream_send(s, FK_STDOUT, data + 3, n);
		if (data[0] & 4)
			stream_resend(s);
		if (data[0] & 8)
			stream_flush_ack(s);
		data += 3 + n;
		size -= 3 + n;
	}
	stream_free(s);
	return 0;
}
