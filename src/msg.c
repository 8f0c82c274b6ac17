/*
 * Signed control messages: the type and field tables, building messages,
 * the generic JSON encoder driven by the tables, HMAC signing and sealed
 * job keys.  Verifying and decoding is in msg_decode.c, the replay cache
 * in replay.c.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <sodium.h>

#include "bounds.h"
#include "log.h"
#include "msg.h"
#include "msg_int.h"
#include "progress.h"
#include "util.h"
#include "xmalloc.h"

static const char *const role_names[] = {
	"client", "worker", "admin", "coordinator"
};

const char *
role_name(int role)
{
	size_t	i;

	for (i = 0; i < nitems(role_names); i++)
		if (role == (1 << i))
			return role_names[i];
	return "unknown";
}

int
role_parse(const char *s)
{
	size_t	i;

	for (i = 0; i < nitems(role_names); i++)
		if (strcmp(s, role_names[i]) == 0)
			return 1 << i;
	return -1;
}

#define W	ROLE_WORKER
#define C	ROLE_CLIENT
#define A	ROLE_ADMIN
#define K	ROLE_COORD
#define B(f)	FBIT(F_##f)

const struct msg_type_info msg_types[MT__COUNT] = {
	/* Uplink. */
	[MT_REGISTER] = { "register", W, B(SESSION),
	    B(VERSION) | B(BINARIES) | B(PATH_HEALTH) | B(MAX_JOBS) |
	    B(WEIGHT) | B(STATUS) | B(RUNNING) | B(INTERVAL) | B(ENCODERS) |
	    B(DECODERS) | B(HWACCELS) | B(FILTERS) | B(DEVICES) | B(EPOCH) |
	    B(REPORTING) | B(UNVERIFIED_CAPS) | B(DEVICE_SLOTS) | B(PROBES) |
	    B(LOAD) | B(CPUS) },
	[MT_HEARTBEAT] = { "heartbeat", W, B(SESSION),
	    B(RUNNING) | B(PATH_HEALTH) | B(STATUS) | B(EPOCH) |
	    B(REPORTING) | B(PROGRESS) | B(LOAD) | B(CPUS) },
	/* started and finished also go down to the client. */
	[MT_STARTED] = { "started", W | K, B(JOB),
	    B(PID) | B(SESSION) | B(WORKER) },
	[MT_REJECTED] = { "rejected", W, B(JOB) | B(REASON), B(TEXT) },
	/* From a worker, text is the part of the job's log not shipped in
	 * `log` batches, seq the number of batches before it. */
	[MT_FINISHED] = { "finished", W | K, B(JOB) | B(CODE) | B(SIGNAL),
	    B(TEXT) | B(BYTES_IN) | B(BYTES_OUT) | B(SEQ) | B(SKIPPED) |
	    B(PROGRESS) },
	[MT_BYE] = { "bye", W | C, B(SESSION), B(EPOCH) },
	/* The will: built afresh for every connection, with its epoch. */
	[MT_GONE] = { "gone", W | C, B(SESSION) | B(EPOCH), 0 },
	[MT_SUBMIT] = { "submit", C, B(JOB) | B(SESSION) | B(BINARY) | B(ARGS),
	    B(CWD) | B(ENV) | B(PATHS) | B(INTERACTIVE) | B(EPOCH) |
	    B(FALLBACK) | B(DETACHED) },
	/* cancel also goes down to the worker, with a grace period. */
	[MT_CANCEL] = { "cancel", C | A | K, B(JOB),
	    B(REASON) | B(GRACE) | B(SESSION) },
	[MT_QUERY] = { "query", C | A, B(WHAT),
	    B(TARGET) | B(JOB) | B(SESSION) | B(STATES) | B(WINDOW) |
	    B(CLIENT) | B(WORKER) | B(CURSOR) | B(SEQ) },
	[MT_ADMIN] = { "admin", A, B(WHAT), B(TARGET) | B(SESSION) },

	/* Downlink. */
	[MT_REGISTERED] = { "registered", K, 0, B(REF) | B(SESSION) },
	/* The answer to a cancel says what became of the job. */
	[MT_ACK] = { "ack", K, B(REF), B(JOB) | B(CODE) | B(STATE) | B(TEXT) },
	[MT_REREGISTER] = { "reregister", K, 0, B(SESSION) | B(REASON) },
	[MT_ASSIGN] = { "assign", K, B(JOB) | B(BINARY) | B(ARGS) | B(KEY),
	    B(CWD) | B(ENV) | B(PATHS) | B(GRACE) | B(DETACHED) },
	[MT_DRAIN] = { "drain", K, 0, B(REASON) | B(STATUS) },
	[MT_ACCEPTED] = { "accepted", K, B(JOB) | B(KEY) | B(WORKER), 0 },
	[MT_QUEUED] = { "queued", K, B(JOB), B(POSITION) },
	[MT_FAILED] = { "failed", K, B(JOB) | B(REASON), B(TEXT) | B(CODE) },
	[MT_REFUSED] = { "refused", K, B(JOB) | B(REASON), B(TEXT) },
	[MT_REPLY] = { "reply", K, B(REF),
	    B(DATA) | B(JOB) | B(STATE) | B(CODE) | B(SIGNAL) | B(TEXT) |
	    B(WORKER) },
	/* Answers a message whose MAC failed, signed with the key the
	 * coordinator holds for the sender: a sender with another key
	 * cannot verify it either, and so learns that the keys differ. */
	[MT_UNVERIFIED] = { "unverified", K, 0, B(SESSION) },
	/* Uplink again (appended: the table is in enum order). */
	[MT_LOG] = { "log", W, B(JOB) | B(SEQ) | B(TEXT), B(SKIPPED) },
};

#undef W
#undef C
#undef A
#undef K
#undef B

#define S(f)	offsetof(struct msg, f)

const struct field_info msg_fields[F__COUNT] = {
	[F_SESSION] = { "session", FK_STR, S(session), NAME_MAX_LEN, 0,
	    FF_NAME },
	[F_JOB] = { "job", FK_STR, S(job), NAME_MAX_LEN, 0, FF_NAME },
	[F_REF] = { "ref", FK_STR, S(ref), NAME_MAX_LEN, 0, FF_NAME },
	[F_VERSION] = { "version", FK_STR, S(version), SHORT_STR_MAX, 0, 0 },
	[F_BINARY] = { "binary", FK_STR, S(binary), NAME_MAX_LEN, 0, FF_NAME },
	[F_ARGS] = { "args", FK_STRV, S(args), MSG_MAX_STR, MSG_MAX_ARGS, 0 },
	[F_CWD] = { "cwd", FK_STR, S(cwd), PATH_BUF - 1, 0, 0 },
	[F_ENV] = { "env", FK_STRMAP, S(env), MSG_MAX_STR, MSG_MAX_MAP, 0 },
	[F_PATHS] = { "paths", FK_STRV, S(paths), NAME_MAX_LEN, MSG_MAX_MAP,
	    FF_NAME },
	/* Same JSON name as F_PATHS: no type allows both. */
	[F_PATH_HEALTH] = { "paths", FK_STRMAP, S(path_health), SHORT_STR_MAX,
	    MSG_MAX_MAP, FF_KEYNAME },
	[F_BINARIES] = { "binaries", FK_STRMAP, S(binaries), SHORT_STR_MAX,
	    MSG_MAX_MAP, FF_KEYNAME },
	[F_RUNNING] = { "running", FK_STRV, S(running), NAME_MAX_LEN,
	    MSG_MAX_MAP, FF_NAME },
	[F_MAX_JOBS] = { "max_jobs", FK_INT, S(max_jobs), 0, 0, 0 },
	[F_WEIGHT] = { "weight", FK_INT, S(weight), 0, 0, 0 },
	[F_STATUS] = { "status", FK_STR, S(status), NAME_MAX_LEN, 0, FF_NAME },
	[F_PID] = { "pid", FK_INT, S(pid), 0, 0, 0 },
	[F_CODE] = { "code", FK_INT, S(code), 0, 0, 0 },
	[F_SIGNAL] = { "signal", FK_INT, S(signal), 0, 0, 0 },
	[F_REASON] = { "reason", FK_STR, S(reason), SHORT_STR_MAX, 0, 0 },
	[F_TEXT] = { "text", FK_STR, S(text), MSG_MAX_STR, 0, 0 },
	[F_KEY] = { "key", FK_STR, S(key), KEY_STR_MAX, 0, 0 },
	[F_WORKER] = { "worker", FK_STR, S(worker), NAME_MAX_LEN, 0, FF_NAME },
	[F_POSITION] = { "position", FK_INT, S(position), 0, 0, 0 },
	[F_INTERACTIVE] = { "interactive", FK_BOOL, S(interactive), 0, 0, 0 },
	[F_FALLBACK] = { "fallback", FK_BOOL, S(fallback), 0, 0, 0 },
	[F_UNVERIFIED_CAPS] = { "unverified", FK_STRMAP, S(unverified_caps),
	    SHORT_STR_MAX, MSG_MAX_ARGS, 0 },
	[F_DEVICE_SLOTS] = { "device_slots", FK_STRMAP, S(device_slots),
	    SHORT_STR_MAX, DEVSLOTS_MAX, FF_KEYNAME },
	[F_PROBES] = { "probes", FK_JSON, S(probes), MSG_MAX_BYTES, 0, 0 },
	[F_GRACE] = { "grace", FK_INT, S(grace), 0, 0, 0 },
	[F_BYTES_IN] = { "bytes_in", FK_INT, S(bytes_in), 0, 0, 0 },
	[F_BYTES_OUT] = { "bytes_out", FK_INT, S(bytes_out), 0, 0, 0 },
	[F_WHAT] = { "what", FK_STR, S(what), NAME_MAX_LEN, 0, FF_NAME },
	[F_TARGET] = { "target", FK_STR, S(target), SHORT_STR_MAX, 0, 0 },
	[F_DATA] = { "data", FK_JSON, S(data), MSG_MAX_BYTES, 0, 0 },
	[F_STATE] = { "state", FK_STR, S(state), NAME_MAX_LEN, 0, FF_NAME },
	[F_INTERVAL] = { "interval", FK_INT, S(interval), 0, 0, 0 },
	[F_ENCODERS] = { "encoders", FK_STRV, S(encoders), NAME_MAX_LEN,
	    MSG_MAX_ARGS, FF_NAME },
	[F_DECODERS] = { "decoders", FK_STRV, S(decoders), NAME_MAX_LEN,
	    MSG_MAX_ARGS, FF_NAME },
	[F_HWACCELS] = { "hwaccels", FK_STRV, S(hwaccels), NAME_MAX_LEN,
	    MSG_MAX_ARGS, FF_NAME },
	[F_FILTERS] = { "filters", FK_STRV, S(filters), NAME_MAX_LEN,
	    MSG_MAX_ARGS, FF_NAME },
	[F_DEVICES] = { "devices", FK_STRV, S(devices), SHORT_STR_MAX,
	    MSG_MAX_ARGS, 0 },
	[F_EPOCH] = { "epoch", FK_INT, S(epoch), 0, 0, 0 },
	[F_REPORTING] = { "reporting", FK_STRV, S(reporting), NAME_MAX_LEN,
	    MSG_MAX_MAP, FF_NAME },
	[F_PROGRESS] = { "progress", FK_STRMAP, S(progress), PROGRESS_WIRE_MAX,
	    MSG_MAX_MAP, FF_KEYNAME },
	[F_SEQ] = { "seq", FK_INT, S(seq), 0, 0, 0 },
	[F_SKIPPED] = { "skipped", FK_INT, S(skipped), 0, 0, 0 },
	[F_DETACHED] = { "detached", FK_BOOL, S(detached), 0, 0, 0 },
	[F_STATES] = { "states", FK_STRV, S(states), NAME_MAX_LEN, 16,
	    FF_NAME },
	[F_WINDOW] = { "window", FK_INT, S(window), 0, 0, 0 },
	[F_CLIENT] = { "client", FK_STR, S(client), NAME_MAX_LEN, 0, FF_NAME },
	[F_CURSOR] = { "cursor", FK_STR, S(cursor), SHORT_STR_MAX, 0, 0 },
	[F_LOAD] = { "load", FK_INT, S(load), 0, 0, 0 },
	[F_CPUS] = { "cpus", FK_INT, S(cpus), 0, 0, 0 },
};

#undef S

static const char *const err_names[ME__COUNT] = {
	[ME_OK] = "ok",
	[ME_SIZE] = "size",
	[ME_FORMAT] = "format",
	[ME_MAC] = "mac",
	[ME_FROM] = "from",
	[ME_ROLE] = "role",
	[ME_AGE] = "age",
	[ME_REPLAY] = "replay",
	[ME_UNKNOWN] = "unknown",
};

const char *
msg_err_name(enum msg_err e)
{
	if ((unsigned)e >= ME__COUNT)
		return "unknown";
	return err_names[e];
}

const char *
msg_type_name(enum msg_type t)
{
	if ((unsigned)t >= MT__COUNT)
		return "unknown";
	return msg_types[t].name;
}

int
msg_type_lookup(const char *s)
{
	int	t;

	for (t = 0; t < MT__COUNT; t++)
		if (strcmp(msg_types[t].name, s) == 0)
			return t;
	return -1;
}


void
msg_init(struct msg *m, enum msg_type type, const char *from)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	id_new(m->id);
	m->ts = now_ms();
	if (from != NULL)
		snprintf(m->from, sizeof(m->from), "%s", from);
}

void
msg_clear(struct msg *m)
{
	int	f;

	for (f = 0; f < F__COUNT; f++) {
		switch (msg_fields[f].kind) {
		case FK_STR:
		case FK_JSON:
			free(*FPTR(m, f, char *));
			break;
		case FK_STRV:
			strv_free(FPTR(m, f, struct strv));
			break;
		case FK_STRMAP:
			strmap_free(FPTR(m, f, struct strmap));
			break;
		case FK_INT:
		case FK_BOOL:
			break;
		}
	}
	memset(m, 0, sizeof(*m));
}

/* A setter used with the wrong kind is a bug in the caller. */
static void
field_check(enum msg_field f, enum field_kind kind, enum field_kind alt,
    const char *fn)
{
	if ((unsigned)f >= F__COUNT ||
	    (msg_fields[f].kind != kind && msg_fields[f].kind != alt))
		fatalx("%s: field %d has another type", fn, (int)f);
}

void
msg_set_str(struct msg *m, enum msg_field f, const char *s)
{
	char	**p;

	field_check(f, FK_STR, FK_JSON, __func__);
	p = FPTR(m, f, char *);
	free(*p);
	*p = xstrdup(s != NULL ? s : "");
	m->present |= FBIT(f);
}

void
msg_set_int(struct msg *m, enum msg_field f, int64_t v)
{
	field_check(f, FK_INT, FK_INT, __func__);
	*FPTR(m, f, int64_t) = v;
	m->present |= FBIT(f);
}

void
msg_stamp_epoch(struct msg *m, int64_t epoch)
{
	if ((msg_types[m->type].required | msg_types[m->type].optional) &
	    FBIT(F_EPOCH))
		msg_set_int(m, F_EPOCH, epoch);
}

void
msg_set_bool(struct msg *m, enum msg_field f, bool v)
{
	field_check(f, FK_BOOL, FK_BOOL, __func__);
	*FPTR(m, f, bool) = v;
	m->present |= FBIT(f);
}

void
msg_set_strv(struct msg *m, enum msg_field f, const struct strv *sv)
{
	struct strv	*p;
	size_t		 i;

	field_check(f, FK_STRV, FK_STRV, __func__);
	p = FPTR(m, f, struct strv);
	strv_free(p);
	for (i = 0; sv != NULL && i < sv->n; i++)
		strv_push(p, sv->v[i]);
	m->present |= FBIT(f);
}

void
msg_set_strmap(struct msg *m, enum msg_field f, const struct strmap *sm)
{
	struct strmap	*p;
	size_t		 i;

	field_check(f, FK_STRMAP, FK_STRMAP, __func__);
	p = FPTR(m, f, struct strmap);
	strmap_free(p);
	for (i = 0; sm != NULL && i < sm->n; i++)
		strmap_set(p, sm->keys[i], sm->vals[i]);
	m->present |= FBIT(f);
}

/* cJSON reports allocation failure with NULL; treat it like xmalloc. */
static cJSON *
jcheck(cJSON *j)
{
	if (j == NULL)
		fatalx("cJSON: out of memory");
	return j;
}

static void
jadd(cJSON *obj, const char *name, cJSON *item)
{
	cJSON_AddItemToObject(obj, name, jcheck(item));
}

/*
 * cJSON prints large doubles with 15 significant digits when that is
 * "close enough", which is not exact for integers; print them ourselves.
 */
static cJSON *
json_new_int(int64_t v)
{
	char	buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	return jcheck(cJSON_CreateRaw(buf));
}

static cJSON *
field_encode(const struct msg *m, int f)
{
	const struct strv	*sv;
	const struct strmap	*sm;
	cJSON			*j, *data;
	const char		*s;
	size_t			 i;

	switch (msg_fields[f].kind) {
	case FK_STR:
		s = *FPTR(m, f, char *const);
		return jcheck(cJSON_CreateString(s != NULL ? s : ""));
	case FK_INT:
		return json_new_int(*FPTR(m, f, const int64_t));
	case FK_BOOL:
		return jcheck(cJSON_CreateBool(*FPTR(m, f, const bool)));
	case FK_STRV:
		sv = FPTR(m, f, const struct strv);
		j = jcheck(cJSON_CreateArray());
		for (i = 0; i < sv->n; i++)
			cJSON_AddItemToArray(j,
			    jcheck(cJSON_CreateString(sv->v[i])));
		return j;
	case FK_STRMAP:
		sm = FPTR(m, f, const struct strmap);
		j = jcheck(cJSON_CreateObject());
		for (i = 0; i < sm->n; i++)
			jadd(j, sm->keys[i], cJSON_CreateString(sm->vals[i]));
		return j;
	case FK_JSON:
		s = *FPTR(m, f, char *const);
		if (s != NULL && (data = cJSON_Parse(s)) != NULL)
			return data;
		return jcheck(cJSON_CreateNull());
	}
	return jcheck(cJSON_CreateNull());
}

void
msg__mac(const char *topic, const char *json, size_t len,
    const uint8_t key[KEY_LEN], uint8_t mac[MAC_LEN])
{
	crypto_auth_hmacsha256_state	st;

	crypto_auth_hmacsha256_init(&st, key, KEY_LEN);
	/* The NUL terminator is the 0x00 separator. */
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)topic,
	    strlen(topic) + 1);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)json, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

char *
msg_encode(const struct msg *m, const char *topic, const uint8_t key[KEY_LEN],
    size_t *lenp)
{
	const struct msg_type_info	*ti = &msg_types[m->type];
	cJSON				*root, *body;
	uint64_t			 want;
	uint8_t				 mac[MAC_LEN];
	char				*json, *b64, *out;
	size_t				 jlen, blen, len;
	int				 f;

	root = jcheck(cJSON_CreateObject());
	jadd(root, "v", cJSON_CreateNumber(MSG_VERSION));
	jadd(root, "type", cJSON_CreateString(ti->name));
	jadd(root, "id", cJSON_CreateString(m->id));
	jadd(root, "from", cJSON_CreateString(m->from));
	jadd(root, "ts", json_new_int(m->ts));
	body = jcheck(cJSON_CreateObject());
	/* Required fields go out even when unset so the receiver names them. */
	want = ti->required | (ti->optional & m->present);
	for (f = 0; f < F__COUNT; f++)
		if (want & FBIT(f))
			jadd(body, msg_fields[f].name, field_encode(m, f));
	cJSON_AddItemToObject(root, "body", body);

	json = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (json == NULL)
		fatalx("cJSON: out of memory");
	jlen = strlen(json);

	msg__mac(topic, json, jlen, key, mac);
	b64 = b64_encode(mac, sizeof(mac));
	blen = strlen(b64);

	len = jlen + 1 + blen;
	out = xmalloc(len + 1);
	memcpy(out, json, jlen);
	out[jlen] = '\n';
	memcpy(out + jlen + 1, b64, blen + 1);
	cJSON_free(json);
	free(b64);
	if (len > MSG_MAX_BYTES)
		log_warnx("%s message %s is %zu bytes, over the limit",
		    ti->name, m->id, len);
	if (lenp != NULL)
		*lenp = len;
	return out;
}

#define SEAL_CONTEXT	"dffmpeg job key v1"
#define SEALED_LEN \
	(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + KEY_LEN)

static void
seal_derive(const uint8_t idkey[KEY_LEN], uint8_t out[KEY_LEN])
{
	crypto_generichash(out, KEY_LEN, (const uint8_t *)SEAL_CONTEXT,
	    strlen(SEAL_CONTEXT), idkey, KEY_LEN);
}

char *
msg_seal_key(const uint8_t idkey[KEY_LEN], const uint8_t jobkey[KEY_LEN])
{
	uint8_t	 k[KEY_LEN], box[SEALED_LEN];
	char	*out;

	seal_derive(idkey, k);
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, jobkey,
	    KEY_LEN, box, k);
	sodium_memzero(k, sizeof(k));
	out = b64_encode(box, sizeof(box));
	return out;
}

int
msg_open_key(const uint8_t idkey[KEY_LEN], const char *sealed,
    uint8_t jobkey[KEY_LEN])
{
	uint8_t	k[KEY_LEN], box[SEALED_LEN + 4];
	size_t	len;
	int	rv;

	if (sealed == NULL || b64_decode(sealed, strlen(sealed), box,
	    sizeof(box), &len) != 0 || len != SEALED_LEN)
		return -1;
	seal_derive(idkey, k);
	rv = crypto_secretbox_open_easy(jobkey, box + crypto_secretbox_NONCEBYTES,
	    SEALED_LEN - crypto_secretbox_NONCEBYTES, box, k);
	sodium_memzero(k, sizeof(k));
	return rv == 0 ? 0 : -1;
}
