/*
 * Identities and their keys.  Keys rest in the store sealed under the
 * master key (secretbox, random nonce: nonce || box), so a copy of the
 * database alone reveals nothing.  The master key file is raw 32 bytes,
 * mode 0600; anything else is refused rather than guessed at.
 *
 * The keyring is the coordinator's cache of open keys, sorted by name.
 * It is dropped (and wiped) whenever store_data_version() moves, which is
 * how an identity added or removed by `dffmpeg admin` in another process
 * becomes visible without a restart; it is re-read on the next lookup.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "bounds.h"
#include "ident.h"
#include "log.h"
#include "msg.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

_Static_assert(SEALED_KEY_MAX == crypto_secretbox_NONCEBYTES +
    crypto_secretbox_MACBYTES + KEY_LEN, "SEALED_KEY_MAX");
_Static_assert(KEY_LEN == crypto_secretbox_KEYBYTES, "KEY_LEN");

static int
master_create(const char *path, char *err, size_t errlen)
{
	uint8_t	 mk[KEY_LEN];
	ssize_t	 n;
	int	 fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1) {
		if (errno == EEXIST)	/* lost a race: load theirs */
			return 0;
		snprintf(err, errlen, "master key %s: cannot create: %s", path,
		    strerror(errno));
		return -1;
	}
	randombytes_buf(mk, sizeof(mk));
	do
		n = write(fd, mk, sizeof(mk));
	while (n == -1 && errno == EINTR);
	sodium_memzero(mk, sizeof(mk));
	if (n != (ssize_t)sizeof(mk) || fsync(fd) == -1) {
		snprintf(err, errlen, "master key %s: cannot write: %s", path,
		    n == -1 ? strerror(errno) : "short write");
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) == -1) {
		snprintf(err, errlen, "master key %s: %s", path,
		    strerror(errno));
		unlink(path);
		return -1;
	}
	log_info("created master key %s", path);
	return 0;
}

int
ident_master_load(const char *path, bool create, uint8_t mk[KEY_LEN],
    char *err, size_t errlen)
{
	struct stat	 st;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) == -1 &&
	    errno == ENOENT && create) {
		if (master_create(path, err, errlen) != 0)
			return -1;
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd == -1) {
		snprintf(err, errlen, "master key %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "master key %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "master key %s: not a regular file",
		    path);
		goto fail;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errlen, "master key %s: mode %04o gives access "
		    "to group or others; chmod 600 it", path,
		    (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if (st.st_size != KEY_LEN) {
		snprintf(err, errlen, "master key %s: is %lld bytes, must be "
		    "exactly %d", path, (long long)st.st_size, KEY_LEN);
		goto fail;
	}
	do
		n = read(fd, mk, KEY_LEN);
	while (n == -1 && errno == EINTR);
	if (n != KEY_LEN) {
		snprintf(err, errlen, "master key %s: cannot read: %s", path,
		    n == -1 ? strerror(errno) : "short read");
		sodium_memzero(mk, KEY_LEN);
		goto fail;
	}
	close(fd);
	return 0;

fail:
	close(fd);
	return -1;
}

size_t
ident_seal(const uint8_t mk[KEY_LEN], const uint8_t key[KEY_LEN],
    uint8_t *out)
{
	randombytes_buf(out, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(out + crypto_secretbox_NONCEBYTES, key, KEY_LEN,
	    out, mk);
	return SEALED_KEY_MAX;
}

int
ident_unseal(const uint8_t mk[KEY_LEN], const uint8_t *in, size_t len,
    uint8_t key[KEY_LEN])
{
	if (len != SEALED_KEY_MAX)
		return -1;
	if (crypto_secretbox_open_easy(key, in + crypto_secretbox_NONCEBYTES,
	    len - crypto_secretbox_NONCEBYTES, in, mk) != 0) {
		sodium_memzero(key, KEY_LEN);
		return -1;
	}
	return 0;
}

static bool
role_valid(int role)
{
	return role == ROLE_CLIENT || role == ROLE_WORKER || role == ROLE_ADMIN;
}

int
ident_add(struct store *s, const uint8_t mk[KEY_LEN], const char *name,
    int role, uint8_t key_out[KEY_LEN], char *err, size_t errlen)
{
	struct ident_row	 r;
	uint8_t			 key[KEY_LEN];
	int			 rc;

	if (!name_valid(name, NAME_MAX_LEN)) {
		snprintf(err, errlen, "bad identity name '%.*s': use 1 to %d "
		    "of A-Z a-z 0-9 _ . -", NAME_MAX_LEN, name, NAME_MAX_LEN);
		return -1;
	}
	if (strcmp(name, COORDINATOR_NAME) == 0) {
		snprintf(err, errlen, "identity name '%s' is reserved", name);
		return -1;
	}
	/* The admin commands speak as it: with another role they could not. */
	if (strcmp(name, ADMIN_NAME) == 0 && role != ROLE_ADMIN) {
		snprintf(err, errlen, "identity name '%s' is reserved for the "
		    "admin commands (role admin)", name);
		return -1;
	}
	if (!role_valid(role)) {
		snprintf(err, errlen, "bad role %d", role);
		return -1;
	}
	memset(&r, 0, sizeof(r));
	memcpy(r.name, name, strlen(name) + 1);
	r.role = role;
	r.created = now_ms();
	randombytes_buf(key, sizeof(key));
	r.sealed_len = ident_seal(mk, key, r.sealed);
	rc = store_ident_add(s, &r);
	if (rc != 0) {
		sodium_memzero(key, sizeof(key));
		if (rc == 1)
			snprintf(err, errlen, "identity '%s' already exists",
			    name);
		else
			snprintf(err, errlen, "cannot store identity '%s'",
			    name);
		return -1;
	}
	memcpy(key_out, key, KEY_LEN);
	sodium_memzero(key, sizeof(key));
	return 0;
}

int
ident_rotate(struct store *s, const uint8_t mk[KEY_LEN], const char *name,
    int64_t grace_ms, uint8_t key_out[KEY_LEN], char *err, size_t errlen)
{
	struct ident_row	 r;
	uint8_t			 key[KEY_LEN], cur[KEY_LEN];
	uint8_t			 sealed[SEALED_KEY_MAX];
	size_t			 len;
	int			 rc;

	if ((rc = store_ident_get(s, name, &r)) != 0) {
		snprintf(err, errlen, rc == 1 ? "no identity '%s'" :
		    "cannot read identity '%s'", name);
		return -1;
	}
	/* The current key must open: it is the one that stays valid. */
	if (ident_unseal(mk, r.sealed, r.sealed_len, cur) != 0) {
		snprintf(err, errlen, "the key of '%s' does not open with this "
		    "master key", name);
		sodium_memzero(&r, sizeof(r));
		return -1;
	}
	sodium_memzero(cur, sizeof(cur));
	randombytes_buf(key, sizeof(key));
	len = ident_seal(mk, key, sealed);
	/* With no grace the old key is kept too, already expired: `user
	 * show` can tell when it stopped working. */
	rc = store_ident_rotate(s, name, sealed, len, r.sealed, r.sealed_len,
	    now_ms() + grace_ms);
	sodium_memzero(&r, sizeof(r));
	if (rc != 0) {
		sodium_memzero(key, sizeof(key));
		snprintf(err, errlen, rc == 1 ? "no identity '%s'" :
		    "cannot store the new key of '%s'", name);
		return -1;
	}
	memcpy(key_out, key, KEY_LEN);
	sodium_memzero(key, sizeof(key));
	return 0;
}

#define FP_LEN	16

struct spoke {
	char	 name[NAME_MAX_LEN + 1];
	uint8_t	 fp[FP_LEN];
};

struct keyent {
	char	 name[NAME_MAX_LEN + 1];
	int	 role;
	uint8_t	 key[KEY_LEN];
	uint8_t	 old[KEY_LEN];	/* its previous key, until old_until */
	int64_t	 old_until;	/* ms since the epoch; 0: none */
};

struct keyring {
	struct store	*store;
	uint8_t		 mk[KEY_LEN];
	bool		 loaded;
	int64_t		 version;	/* store_data_version at load */
	int64_t		 checked;	/* mono ms of the last version check */
	/* Sorted by name: the store lists by name in SQLite's BINARY
	 * collation, which is strcmp order.  Not qsorted here, which would
	 * leave copies of keys in its scratch memory. */
	struct keyent	*ents;
	size_t		 n;
	size_t		 cap;
	/* The key each identity last spoke with (a hash of it), kept across
	 * reloads (a rotation is one): during a rotation's grace period it
	 * is answered with the key it uses. */
	struct spoke	*spoke;
	size_t		 nspoke;
};

static void
keyring_drop(struct keyring *kr)
{
	if (kr->ents != NULL)
		sodium_memzero(kr->ents, kr->cap * sizeof(*kr->ents));
	free(kr->ents);
	kr->ents = NULL;
	kr->n = kr->cap = 0;
	kr->loaded = false;
}

static int
keyring_add_row(const struct ident_row *r, void *arg)
{
	struct keyring	*kr = arg;
	struct keyent	*e, *nents;
	size_t		 ncap;

	if (kr->n == kr->cap) {
		/* Grow by copying so no stale key is left in freed memory. */
		ncap = kr->cap ? kr->cap * 2 : 16;
		nents = xcalloc(ncap, sizeof(*nents));
		if (kr->n > 0)
			memcpy(nents, kr->ents, kr->n * sizeof(*nents));
		if (kr->ents != NULL)
			sodium_memzero(kr->ents, kr->cap * sizeof(*kr->ents));
		free(kr->ents);
		kr->ents = nents;
		kr->cap = ncap;
	}
	e = &kr->ents[kr->n];
	if (ident_unseal(kr->mk, r->sealed, r->sealed_len, e->key) != 0) {
		log_warnx("identity %s: key does not open under the master "
		    "key; ignored", r->name);
		return 0;
	}
	e->old_until = 0;
	if (r->old_sealed_len > 0 && r->old_until > now_ms() &&
	    ident_unseal(kr->mk, r->old_sealed, r->old_sealed_len,
	    e->old) == 0)
		e->old_until = r->old_until;
	memcpy(e->name, r->name, sizeof(e->name));
	e->role = r->role;
	kr->n++;
	return 0;
}

static int
keyring_load(struct keyring *kr, bool force)
{
	int64_t	v, now = mono_ms();

	/* The version check is a read transaction: not on every message.
	 * A removal made by `dffmpeg admin` shows within KEYRING_CHECK_MS;
	 * an addition at once (a miss forces the check). */
	if (kr->loaded && !force && now - kr->checked < KEYRING_CHECK_MS)
		return 0;
	kr->checked = now;
	if ((v = store_data_version(kr->store)) == -1)
		return -1;
	if (kr->loaded && v == kr->version)
		return 0;
	keyring_drop(kr);
	if (store_ident_list(kr->store, keyring_add_row, kr) != 0) {
		keyring_drop(kr);
		return -1;
	}
	kr->version = v;
	kr->loaded = true;
	log_debug("keyring: %zu identities loaded", kr->n);
	return 0;
}

struct keyring *
keyring_new(struct store *s, const uint8_t mk[KEY_LEN])
{
	struct keyring	*kr;

	kr = xcalloc(1, sizeof(*kr));
	kr->store = s;
	memcpy(kr->mk, mk, KEY_LEN);
	return kr;
}

void
keyring_free(struct keyring *kr)
{
	if (kr == NULL)
		return;
	keyring_drop(kr);
	free(kr->spoke);
	sodium_memzero(kr->mk, sizeof(kr->mk));
	free(kr);
}

static int
keyent_cmp(const void *a, const void *b)
{
	return strcmp(a, ((const struct keyent *)b)->name);
}

static const struct keyent *
keyring_find(struct keyring *kr, const char *name)
{
	const struct keyent	*e;

	/* If only the version check fails, the last copy still serves. */
	if (keyring_load(kr, false) != 0 && !kr->loaded)
		return NULL;
	e = kr->n == 0 ? NULL : bsearch(name, kr->ents, kr->n,
	    sizeof(*kr->ents), keyent_cmp);
	if (e == NULL && keyring_load(kr, true) == 0 && kr->n > 0)
		e = bsearch(name, kr->ents, kr->n, sizeof(*kr->ents),
		    keyent_cmp);
	return e;
}

static void
fingerprint(const uint8_t key[KEY_LEN], uint8_t fp[FP_LEN])
{
	crypto_generichash(fp, FP_LEN, key, KEY_LEN, NULL, 0);
}

static struct spoke *
spoke_find(struct keyring *kr, const char *name)
{
	size_t	i;

	for (i = 0; i < kr->nspoke; i++)
		if (strcmp(kr->spoke[i].name, name) == 0)
			return &kr->spoke[i];
	return NULL;
}

int
keyring_lookup(struct keyring *kr, const char *name, uint8_t key[KEY_LEN],
    int *role)
{
	const struct keyent	*e;
	const struct spoke	*sp;
	uint8_t			 fp[FP_LEN];

	if ((e = keyring_find(kr, name)) == NULL)
		return -1;
	memcpy(key, e->key, KEY_LEN);
	/* Within a grace period: the old key, unless it was heard with the
	 * new one (it does not know that one before it is restarted). */
	if (e->old_until > now_ms()) {
		fingerprint(e->key, fp);
		sp = spoke_find(kr, name);
		if (sp == NULL || memcmp(sp->fp, fp, FP_LEN) != 0)
			memcpy(key, e->old, KEY_LEN);
		sodium_memzero(fp, sizeof(fp));
	}
	if (role != NULL)
		*role = e->role;
	return 0;
}

int
keyring_keys(struct keyring *kr, const char *name, uint8_t key[KEY_LEN],
    uint8_t old[KEY_LEN], bool *has_old, int64_t *until, int *role)
{
	const struct keyent	*e;

	if ((e = keyring_find(kr, name)) == NULL)
		return -1;
	memcpy(key, e->key, KEY_LEN);
	*has_old = e->old_until > now_ms();
	*until = e->old_until;
	if (*has_old)
		memcpy(old, e->old, KEY_LEN);
	if (role != NULL)
		*role = e->role;
	return 0;
}

void
keyring_used(struct keyring *kr, const char *name, const uint8_t key[KEY_LEN])
{
	struct spoke	*sp;

	if ((sp = spoke_find(kr, name)) == NULL) {
		kr->spoke = xreallocarray(kr->spoke, kr->nspoke + 1,
		    sizeof(*kr->spoke));
		sp = &kr->spoke[kr->nspoke++];
		snprintf(sp->name, sizeof(sp->name), "%s", name);
	}
	fingerprint(key, sp->fp);
}
