/*
 * Sealed data-plane frames: XChaCha20-Poly1305-IETF with a random nonce
 * per frame, the 20-byte header and the job id as associated data.
 *
 * frame_open checks every size before touching the cipher, and only a
 * frame that authenticates is handed back, so callers never see plaintext
 * from a forged or altered frame.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "bounds.h"
#include "frame.h"

static const char *const kind_names[FK__MAX] = {
	[FK_HELLO] = "hello",
	[FK_STDIN] = "stdin",
	[FK_STDIN_EOF] = "stdin_eof",
	[FK_SIGNAL] = "signal",
	[FK_STDOUT] = "stdout",
	[FK_STDERR] = "stderr",
	[FK_EXIT] = "exit",
	[FK_ACK] = "ack",
	[FK_PING] = "ping",
	[FK_CLOSED] = "closed",
	[FK_NICE] = "nice",
	[FK_PAUSE] = "pause",
};

/* Longest job id bound into the associated data. */
#define FRAME_JOB_MAX	NAME_MAX_LEN

const char *
frame_kind_name(enum frame_kind k)
{
	if (k < FK_HELLO || k >= FK__MAX)
		return "unknown";
	return kind_names[k];
}

static void
put64(uint8_t *p, uint64_t v)
{
	int	i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* ad = header || job id; returns its length, 0 if the id is too long. */
static size_t
frame_ad(const uint8_t *hdr, const char *job,
    uint8_t ad[FRAME_HEADER_LEN + FRAME_JOB_MAX])
{
	size_t	jlen;

	if (job == NULL || (jlen = strnlen(job, FRAME_JOB_MAX + 1)) >
	    FRAME_JOB_MAX)
		return 0;
	memcpy(ad, hdr, FRAME_HEADER_LEN);
	memcpy(ad + FRAME_HEADER_LEN, job, jlen);
	return FRAME_HEADER_LEN + jlen;
}

size_t
frame_seal(const uint8_t key[KEY_LEN], const char *job, const struct frame *f,
    uint8_t *out, size_t outcap)
{
	uint8_t			 ad[FRAME_HEADER_LEN + FRAME_JOB_MAX];
	uint8_t			*hdr = out, *nonce = out + FRAME_HEADER_LEN;
	unsigned long long	 clen;
	size_t			 adlen;

	if (f->kind < FK_HELLO || f->kind >= FK__MAX ||
	    f->len > FRAME_MAX_PAYLOAD || outcap < FRAME_OVERHEAD + f->len ||
	    (f->len > 0 && f->data == NULL))
		return 0;

	hdr[0] = FRAME_VERSION;
	hdr[1] = (uint8_t)f->kind;
	hdr[2] = hdr[3] = 0;
	put64(hdr + 4, f->seq);
	put64(hdr + 12, f->ack);
	if ((adlen = frame_ad(hdr, job, ad)) == 0)
		return 0;
	randombytes_buf(nonce, FRAME_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    out + FRAME_HEADER_LEN + FRAME_NONCE_LEN, &clen, f->data, f->len,
	    ad, adlen, NULL, nonce, key);
	return FRAME_HEADER_LEN + FRAME_NONCE_LEN + (size_t)clen;
}

int
frame_open(const uint8_t key[KEY_LEN], const char *job, const uint8_t *in,
    size_t inlen, struct frame *f, uint8_t *plain, char *err, size_t errlen)
{
	uint8_t			 ad[FRAME_HEADER_LEN + FRAME_JOB_MAX];
	const uint8_t		*c = in + FRAME_HEADER_LEN + FRAME_NONCE_LEN;
	unsigned long long	 plen;
	size_t			 adlen;

	memset(f, 0, sizeof(*f));
	if (in == NULL || inlen < FRAME_OVERHEAD) {
		snprintf(err, errlen, "frame too short (%zu bytes)", inlen);
		return -1;
	}
	if (inlen > FRAME_MAX_SEALED) {
		snprintf(err, errlen, "frame too long (%zu bytes)", inlen);
		return -1;
	}
	if (in[0] != FRAME_VERSION) {
		snprintf(err, errlen, "frame version %u", in[0]);
		return -1;
	}
	if (in[1] < FK_HELLO || in[1] >= FK__MAX) {
		snprintf(err, errlen, "frame kind %u", in[1]);
		return -1;
	}
	if (in[2] != 0 || in[3] != 0) {
		snprintf(err, errlen, "frame reserved bits set");
		return -1;
	}
	if ((adlen = frame_ad(in, job, ad)) == 0) {
		snprintf(err, errlen, "job id too long");
		return -1;
	}
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &plen, NULL, c,
	    inlen - FRAME_HEADER_LEN - FRAME_NONCE_LEN, ad, adlen,
	    in + FRAME_HEADER_LEN, key) != 0) {
		snprintf(err, errlen, "frame does not authenticate");
		return -1;
	}
	f->kind = in[1];
	f->seq = get64(in + 4);
	f->ack = get64(in + 12);
	f->data = plain;
	f->len = (size_t)plen;
	return 0;
}

void
frame_control_encode(uint8_t out[FRAME_CONTROL_LEN], uint8_t flags,
    uint64_t counter)
{
	out[0] = flags;
	put64(out + 1, counter);
}

int
frame_control_decode(const uint8_t *p, size_t len, uint8_t *flags,
    uint64_t *counter)
{
	if (p == NULL || len != FRAME_CONTROL_LEN)
		return -1;
	*flags = p[0];
	*counter = get64(p + 1);
	return 0;
}

void
frame_exit_encode(uint8_t out[5], int code, int sig)
{
	uint32_t	u = (uint32_t)(int32_t)code;

	out[0] = (uint8_t)(u >> 24);
	out[1] = (uint8_t)(u >> 16);
	out[2] = (uint8_t)(u >> 8);
	out[3] = (uint8_t)u;
	out[4] = (uint8_t)sig;
}

int
frame_exit_decode(const uint8_t *p, size_t len, int *code, int *sig)
{
	uint32_t	u;

	if (p == NULL || len != 5)
		return -1;
	u = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
	*code = (int)(int32_t)u;
	*sig = p[4];
	return 0;
}
