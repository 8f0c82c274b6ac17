/*
 * What the encoding (msg.c) and decoding (msg_decode.c) halves of the
 * control-message codec share: the field table and the MAC.  Private to
 * those two files.
 */
#ifndef DFFMPEG_MSG_INT_H
#define DFFMPEG_MSG_INT_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "msg.h"

#define MSG_VERSION	1
#define MAC_LEN		crypto_auth_hmacsha256_BYTES
#define INT_EXACT_MAX	9007199254740992.0	/* 2^53 */
#define MAP_KEY_MAX	256
#define SHORT_STR_MAX	1024
#define KEY_STR_MAX	256

enum field_kind { FK_STR, FK_INT, FK_BOOL, FK_STRV, FK_STRMAP, FK_JSON };

#define FF_NAME		0x1	/* string / elements: name_valid() charset */
#define FF_KEYNAME	0x2	/* map keys: name_valid() charset */

struct field_info {
	const char	*name;
	enum field_kind	 kind;
	size_t		 off;
	size_t		 maxlen;	/* of a string, element or map value */
	size_t		 maxn;		/* elements of an array or map */
	int		 flags;
};

extern const struct field_info msg_fields[F__COUNT];

#define FPTR(m, f, type)	((type *)((char *)(m) + msg_fields[f].off))

/* HMAC-SHA256 over topic || 0x00 || json. */
void	msg__mac(const char *topic, const char *json, size_t len,
	    const uint8_t key[KEY_LEN], uint8_t mac[MAC_LEN]);

#endif
