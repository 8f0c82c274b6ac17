/*
 * Identities and their keys (design §4.1).  Each identity has a random
 * 32-byte key; the coordinator stores it sealed (secretbox, random nonce)
 * under a master key read from a 0600 file that is created on first use.
 * The keyring answers "what is the key and role of NAME" for every
 * incoming message, re-reading the store when another process (the admin
 * applet) has changed it.
 */
#ifndef DFFMPEG_IDENT_H
#define DFFMPEG_IDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"

struct store;

/* Load the master key from path; if absent and create is set, create it
 * (directories are not created) with mode 0600.  Refuses a file readable
 * by group or others.  Returns 0 or -1 with err filled. */
int	 ident_master_load(const char *path, bool create,
	    uint8_t mk[KEY_LEN], char *err, size_t errlen);

/* Seal key under mk into out (SEALED_KEY_MAX bytes); returns its length. */
size_t	 ident_seal(const uint8_t mk[KEY_LEN], const uint8_t key[KEY_LEN],
	    uint8_t *out);
/* 0, or -1 if the box does not open (wrong master key, corruption). */
int	 ident_unseal(const uint8_t mk[KEY_LEN], const uint8_t *in, size_t len,
	    uint8_t key[KEY_LEN]);

/* Create identity name with a fresh key; the key is copied to key_out.
 * Returns 0, or -1 with err filled (bad name, reserved name, exists). */
int	 ident_add(struct store *, const uint8_t mk[KEY_LEN], const char *name,
	    int role, uint8_t key_out[KEY_LEN], char *err, size_t errlen);

/* Give identity name a fresh key (copied to key_out); its current key
 * stays valid for grace_ms more (0: not at all).  Returns 0, or -1 with
 * err filled (no such identity, master key does not open it). */
int	 ident_rotate(struct store *, const uint8_t mk[KEY_LEN],
	    const char *name, int64_t grace_ms, uint8_t key_out[KEY_LEN],
	    char *err, size_t errlen);

/* A removed identity is still accepted for up to this long. */
#define KEYRING_CHECK_MS	100

struct keyring;
struct keyring	*keyring_new(struct store *, const uint8_t mk[KEY_LEN]);
void		 keyring_free(struct keyring *);
/*
 * 0 with key and role filled, or -1 if the identity does not exist (or its
 * key does not open).  The key is the one to sign for name with: during
 * the grace period of a rotation, its previous key unless name was last
 * heard with its new one (keyring_used); its current key otherwise.
 */
int		 keyring_lookup(struct keyring *, const char *name,
		    uint8_t key[KEY_LEN], int *role);
/* The keys to verify name's messages with: its current key, and its
 * previous one while the grace period of a rotation lasts (*has_old,
 * *until: ms since the epoch).  0 or -1 as keyring_lookup. */
int		 keyring_keys(struct keyring *, const char *name,
		    uint8_t key[KEY_LEN], uint8_t old[KEY_LEN], bool *has_old,
		    int64_t *until, int *role);
/* A message of name verified with key: what keyring_lookup returns for it
 * while a grace period lasts. */
void		 keyring_used(struct keyring *, const char *name,
		    const uint8_t key[KEY_LEN]);

#endif
