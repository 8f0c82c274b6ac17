/*
 * Data-plane frames: sealing round trips, every kind of tampering, size
 * limits and the exit payload.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "unit.h"

#include "bounds.h"
#include "frame.h"
#include "util.h"
#include "xmalloc.h"

#define JOB	"Zm9vYmFyYmF6cXV4cXV1eA"

static uint8_t	 key[KEY_LEN], key2[KEY_LEN];
static uint8_t	*data, *sealed, *plain;
static char	 err[128];

static void
setup(void)
{
	randombytes_buf(key, sizeof(key));
	randombytes_buf(key2, sizeof(key2));
	data = xmalloc(FRAME_MAX_PAYLOAD + 1);
	randombytes_buf(data, FRAME_MAX_PAYLOAD + 1);
	sealed = xmalloc(FRAME_MAX_SEALED + 64);
	plain = xmalloc(FRAME_MAX_PAYLOAD);
	err[0] = '\0';
}

static void
teardown(void)
{
	free(data);
	free(sealed);
	free(plain);
}

/* Seal len bytes of data as kind; returns the sealed length. */
static size_t
seal(enum frame_kind kind, size_t len)
{
	struct frame	f = { kind, 7, 3, data, len };

	return frame_seal(key, JOB, &f, sealed, FRAME_MAX_SEALED + 64);
}

static int
open_frame(const uint8_t *k, const char *job, size_t len, struct frame *f)
{
	return frame_open(k, job, sealed, len, f, plain, err, sizeof(err));
}

START_TEST(test_kinds)
{
	struct frame	f;
	size_t		n;
	int		k;

	for (k = FK_HELLO; k < FK__MAX; k++) {
		n = seal(k, 100);
		ck_assert_uint_eq(n, FRAME_OVERHEAD + 100);
		ck_assert_uint_eq(sealed[0], FRAME_VERSION);
		ck_assert_uint_eq(sealed[1], k);
		ck_assert_int_eq(open_frame(key, JOB, n, &f), 0);
		ck_assert_int_eq(f.kind, k);
		ck_assert_uint_eq(f.seq, 7);
		ck_assert_uint_eq(f.ack, 3);
		ck_assert_uint_eq(f.len, 100);
		ck_assert_ptr_eq(f.data, plain);
		ck_assert_mem_eq(f.data, data, 100);
		ck_assert_str_ne(frame_kind_name(k), "unknown");
	}
	ck_assert_str_eq(frame_kind_name(FK_STDIN_EOF), "stdin_eof");
	ck_assert_str_eq(frame_kind_name(FK__MAX), "unknown");
	ck_assert_str_eq(frame_kind_name(0), "unknown");
}
END_TEST

START_TEST(test_sizes)
{
	struct frame	f = { FK_STDOUT, UINT64_MAX, UINT64_MAX - 1, data, 0 };
	size_t		n;

	/* Empty payload, extreme header values. */
	n = frame_seal(key, JOB, &f, sealed, FRAME_OVERHEAD);
	ck_assert_uint_eq(n, FRAME_OVERHEAD);
	ck_assert_int_eq(open_frame(key, JOB, n, &f), 0);
	ck_assert_uint_eq(f.len, 0);
	ck_assert_uint_eq(f.seq, UINT64_MAX);
	ck_assert_uint_eq(f.ack, UINT64_MAX - 1);

	/* The largest payload. */
	n = seal(FK_STDOUT, FRAME_MAX_PAYLOAD);
	ck_assert_uint_eq(n, FRAME_MAX_SEALED);
	ck_assert_int_eq(open_frame(key, JOB, n, &f), 0);
	ck_assert_uint_eq(f.len, FRAME_MAX_PAYLOAD);
	ck_assert_mem_eq(f.data, data, FRAME_MAX_PAYLOAD);

	/* One more is refused, as is a short output buffer. */
	ck_assert_uint_eq(seal(FK_STDOUT, FRAME_MAX_PAYLOAD + 1), 0);
	f.kind = FK_STDERR;
	f.data = data;
	f.len = 10;
	ck_assert_uint_eq(frame_seal(key, JOB, &f, sealed,
	    FRAME_OVERHEAD + 9), 0);
	/* Invalid kinds and an overlong job id. */
	f.kind = 0;
	ck_assert_uint_eq(frame_seal(key, JOB, &f, sealed, FRAME_MAX_SEALED),
	    0);
	f.kind = FK__MAX;
	ck_assert_uint_eq(frame_seal(key, JOB, &f, sealed, FRAME_MAX_SEALED),
	    0);
	f.kind = FK_STDERR;
	ck_assert_uint_eq(frame_seal(key, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &f, sealed,
	    FRAME_MAX_SEALED), 0);
}
END_TEST

START_TEST(test_truncated_oversize)
{
	struct frame	f;
	size_t		n = seal(FK_STDIN, 10);

	ck_assert_int_eq(open_frame(key, JOB, n, &f), 0);
	ck_assert_int_eq(open_frame(key, JOB, n - 1, &f), -1);
	ck_assert_int_eq(open_frame(key, JOB, FRAME_OVERHEAD - 1, &f), -1);
	ck_assert_ptr_nonnull(strstr(err, "short"));
	ck_assert_int_eq(open_frame(key, JOB, 0, &f), -1);
	ck_assert_int_eq(frame_open(key, JOB, NULL, 0, &f, plain, err,
	    sizeof(err)), -1);

	n = seal(FK_STDOUT, FRAME_MAX_PAYLOAD);
	ck_assert_int_eq(open_frame(key, JOB, n + 1, &f), -1);
	ck_assert_ptr_nonnull(strstr(err, "long"));
	ck_assert_int_eq(open_frame(key, JOB, n + 64, &f), -1);
}
END_TEST

START_TEST(test_tamper)
{
	struct frame	 f;
	size_t		 n = seal(FK_STDERR, 64), i;
	/* One byte of each part: header fields, nonce, ciphertext, tag. */
	static const size_t pos[] = {
		4, 11, 12, 19,				/* seq, ack */
		FRAME_HEADER_LEN, FRAME_HEADER_LEN + 23,	/* nonce */
		FRAME_HEADER_LEN + FRAME_NONCE_LEN,	/* ciphertext */
		FRAME_HEADER_LEN + FRAME_NONCE_LEN + 63,
		FRAME_HEADER_LEN + FRAME_NONCE_LEN + 64,	/* tag */
		FRAME_HEADER_LEN + FRAME_NONCE_LEN + 64 + 15,
	};

	for (i = 0; i < nitems(pos); i++) {
		ck_assert_uint_lt(pos[i], n);
		sealed[pos[i]] ^= 0x40;
		ck_assert_int_eq(open_frame(key, JOB, n, &f), -1);
		ck_assert_ptr_nonnull(strstr(err, "authenticate"));
		sealed[pos[i]] ^= 0x40;
	}
	/* Another valid kind: authentication catches it. */
	sealed[1] = FK_STDOUT;
	ck_assert_int_eq(open_frame(key, JOB, n, &f), -1);
	sealed[1] = FK_STDERR;
	/* Caught by the header checks. */
	sealed[0] = 2;
	ck_assert_int_eq(open_frame(key, JOB, n, &f), -1);
	ck_assert_ptr_nonnull(strstr(err, "version"));
	sealed[0] = FRAME_VERSION;
	sealed[1] = FK__MAX;
	ck_assert_int_eq(open_frame(key, JOB, n, &f), -1);
	ck_assert_ptr_nonnull(strstr(err, "kind"));
	sealed[1] = 0;
	ck_assert_int_eq(open_frame(key, JOB, n, &f), -1);
	sealed[1] = FK_STDERR;
	sealed[3] = 1;
	ck_assert_int_eq(open_frame(key, JOB, n, &f), -1);
	ck_assert_ptr_nonnull(strstr(err, "reserved"));
	sealed[3] = 0;

	/* Another job, another key. */
	ck_assert_int_eq(open_frame(key, "Zm9vYmFyYmF6cXV4cXV1eB", n, &f), -1);
	ck_assert_int_eq(open_frame(key, "", n, &f), -1);
	ck_assert_int_eq(open_frame(key2, JOB, n, &f), -1);

	/* Untouched, it still opens. */
	ck_assert_int_eq(open_frame(key, JOB, n, &f), 0);
	ck_assert_mem_eq(f.data, data, 64);
}
END_TEST

START_TEST(test_nonce_fresh)
{
	uint8_t	first[FRAME_OVERHEAD];
	size_t	n = seal(FK_PING, 0);

	memcpy(first, sealed, n);
	ck_assert_uint_eq(seal(FK_PING, 0), n);
	ck_assert_mem_eq(first, sealed, FRAME_HEADER_LEN);
	ck_assert(memcmp(first + FRAME_HEADER_LEN, sealed + FRAME_HEADER_LEN,
	    FRAME_NONCE_LEN) != 0);
}
END_TEST

START_TEST(test_exit)
{
	static const int cases[][2] = {
		{ 0, 0 }, { 1, 0 }, { 255, 0 }, { -1, 9 }, { -1, 15 },
		{ INT_MAX, 0 }, { INT_MIN, 0 }, { 256, 64 }, { -2, 255 },
	};
	struct frame	f;
	uint8_t		p[5];
	size_t		i, n;
	int		code, sig;

	for (i = 0; i < nitems(cases); i++) {
		frame_exit_encode(p, cases[i][0], cases[i][1]);
		f.kind = FK_EXIT;
		f.seq = f.ack = 1;
		f.data = p;
		f.len = sizeof(p);
		n = frame_seal(key, JOB, &f, sealed, FRAME_MAX_SEALED);
		ck_assert_int_eq(open_frame(key, JOB, n, &f), 0);
		ck_assert_int_eq(frame_exit_decode(f.data, f.len, &code, &sig),
		    0);
		ck_assert_int_eq(code, cases[i][0]);
		ck_assert_int_eq(sig, cases[i][1]);
	}
	frame_exit_encode(p, 0x01020304, 5);
	ck_assert_mem_eq(p, "\x01\x02\x03\x04\x05", 5);
	frame_exit_encode(p, -2, 0);
	ck_assert_mem_eq(p, "\xff\xff\xff\xfe\x00", 5);
	ck_assert_int_eq(frame_exit_decode(p, 4, &code, &sig), -1);
	ck_assert_int_eq(frame_exit_decode(p, 6, &code, &sig), -1);
	ck_assert_int_eq(frame_exit_decode(NULL, 5, &code, &sig), -1);
}
END_TEST

START_TEST(test_control)
{
	uint8_t		p[FRAME_CONTROL_LEN + 1];
	uint8_t		flags;
	uint64_t	counter;

	frame_control_encode(p, FRAME_CTL_RESEND | FRAME_CTL_HOLDING,
	    0x0102030405060708ULL);
	ck_assert_mem_eq(p, "\x03\x01\x02\x03\x04\x05\x06\x07\x08",
	    FRAME_CONTROL_LEN);
	ck_assert_int_eq(frame_control_decode(p, FRAME_CONTROL_LEN, &flags,
	    &counter), 0);
	ck_assert_uint_eq(flags, 3);
	ck_assert_uint_eq(counter, 0x0102030405060708ULL);
	frame_control_encode(p, 0, UINT64_MAX);
	ck_assert_int_eq(frame_control_decode(p, FRAME_CONTROL_LEN, &flags,
	    &counter), 0);
	ck_assert_uint_eq(flags, 0);
	ck_assert_uint_eq(counter, UINT64_MAX);
	/* Exactly nine bytes: the old one-byte ack is refused. */
	ck_assert_int_eq(frame_control_decode(p, 0, &flags, &counter), -1);
	ck_assert_int_eq(frame_control_decode(p, 1, &flags, &counter), -1);
	ck_assert_int_eq(frame_control_decode(p, FRAME_CONTROL_LEN - 1,
	    &flags, &counter), -1);
	ck_assert_int_eq(frame_control_decode(p, FRAME_CONTROL_LEN + 1,
	    &flags, &counter), -1);
	ck_assert_int_eq(frame_control_decode(NULL, FRAME_CONTROL_LEN,
	    &flags, &counter), -1);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("frame");
	TCase	*tc = tcase_create("frame");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_kinds);
	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_truncated_oversize);
	tcase_add_test(tc, test_tamper);
	tcase_add_test(tc, test_nonce_fresh);
	tcase_add_test(tc, test_exit);
	tcase_add_test(tc, test_control);
	suite_add_tcase(s, tc);
	return s;
}
