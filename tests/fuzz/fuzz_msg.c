/*
 * libFuzzer harness: control messages (msg_decode.c, msg.c).  The first
 * byte picks the way in: the input as it arrives from the broker (framing,
 * MAC, and the peeks a receiver makes before verifying), or the input as
 * the JSON of a message signed with the right key, so that the envelope
 * and body decoder behind the MAC are reached.  A message that decodes is
 * encoded again and must decode to the same type and id.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bounds.h"
#include "msg.h"
#include "util.h"
#include "xmalloc.h"

#define TOPIC	"dffmpeg/coord/fuzzer"

static const uint8_t key[KEY_LEN] = "0123456789abcdef0123456789abcdef";

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* json, signed as a sender would: "json\nbase64(HMAC)". */
static char *
sign(const uint8_t *json, size_t len, size_t *outlen)
{
	crypto_auth_hmacsha256_state	 st;
	uint8_t				 mac[crypto_auth_hmacsha256_BYTES];
	char				 b64[sodium_base64_ENCODED_LEN(
					    sizeof(mac),
					    sodium_base64_VARIANT_ORIGINAL)];
	char				*out;

	crypto_auth_hmacsha256_init(&st, key, KEY_LEN);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)TOPIC,
	    strlen(TOPIC) + 1);
	crypto_auth_hmacsha256_update(&st, json, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2base64(b64, sizeof(b64), mac, sizeof(mac),
	    sodium_base64_VARIANT_ORIGINAL);
	out = xmalloc(len + 1 + strlen(b64));
	memcpy(out, json, len);
	out[len] = '\n';
	memcpy(out + len + 1, b64, strlen(b64));
	*outlen = len + 1 + strlen(b64);
	return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg	 m, again;
	char		 err[256], from[NAME_MAX_LEN + 1], session[SESSION_BUF];
	char		*payload = NULL, *enc;
	const void	*in;
	size_t		 len, enclen;

	if (size < 1 || sodium_init() < 0)
		return 0;
	if (data[0] & 1) {
		payload = sign(data + 1, size - 1, &len);
		in = payload;
	} else {
		in = data + 1;
		len = size - 1;
		msg_peek_from(in, len, from, sizeof(from));
		msg_peek_session(in, len, session, sizeof(session));
		msg_peek_type(in, len);
	}
	/* No sender, role or clock checks: every type is decoded. */
	if (msg_decode(TOPIC, in, len, key, NULL, 0, 0, 0, &m, err,
	    sizeof(err)) == ME_OK) {
		enc = msg_encode(&m, TOPIC, key, &enclen);
		if (enc != NULL) {
			if (msg_decode(TOPIC, enc, enclen, key, NULL, 0, 0, 0,
			    &again, err, sizeof(err)) != ME_OK ||
			    again.type != m.type || strcmp(again.id, m.id) != 0)
				abort();
			msg_clear(&again);
			free(enc);
		}
		msg_clear(&m);
	}
	free(payload);
	return 0;
}
