/*
 * Control-message codec: signing, the decoder's check order, the type and
 * field tables, sealed job keys and the replay cache.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "unit.h"

#include "bounds.h"
#include "msg.h"
#include "util.h"
#include "xmalloc.h"

#define TOPIC_UP	"dffmpeg/coord/alice"
#define TOPIC_DOWN	"dffmpeg/worker/w1"

static uint8_t	key[KEY_LEN], key2[KEY_LEN];
static char	err[256];

static void
setup(void)
{
	randombytes_buf(key, sizeof(key));
	randombytes_buf(key2, sizeof(key2));
	err[0] = '\0';
}

/* Sign arbitrary JSON text the way msg_encode does. */
static char *
sign_raw(const char *topic, const char *json, const uint8_t *k, size_t *lenp)
{
	crypto_auth_hmacsha256_state	 st;
	uint8_t				 mac[crypto_auth_hmacsha256_BYTES];
	char				*b64, *out;

	crypto_auth_hmacsha256_init(&st, k, KEY_LEN);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)topic,
	    strlen(topic) + 1);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)json,
	    strlen(json));
	crypto_auth_hmacsha256_final(&st, mac);
	b64 = b64_encode(mac, sizeof(mac));
	xasprintf(&out, "%s\n%s", json, b64);
	free(b64);
	*lenp = strlen(out);
	return out;
}

/* Decode signed raw JSON on the uplink; any role may send it. */
static enum msg_err
decode_raw(const char *json, struct msg *m)
{
	enum msg_err	 e;
	char		*p;
	size_t		 len;

	p = sign_raw(TOPIC_UP, json, key, &len);
	e = msg_decode(TOPIC_UP, p, len, key, "alice", 0, now_ms(),
	    REPLAY_WINDOW_MS, m, err, sizeof(err));
	free(p);
	return e;
}

/* A raw envelope around body for type, signed now. */
static enum msg_err
decode_body(const char *type, const char *body, struct msg *m)
{
	enum msg_err	 e;
	char		*json;

	xasprintf(&json, "{\"v\":1,\"type\":\"%s\",\"id\":\"abcdefghijklmnopqrstuv\","
	    "\"from\":\"alice\",\"ts\":%lld,\"body\":%s}", type,
	    (long long)now_ms(), body);
	e = decode_raw(json, m);
	free(json);
	return e;
}

static void
make_submit(struct msg *m, const char *from)
{
	struct strv	args = { 0 };
	struct strmap	env = { 0 };
	struct strv	paths = { 0 };

	msg_init(m, MT_SUBMIT, from);
	msg_set_str(m, F_JOB, "job-1");
	msg_set_str(m, F_SESSION, "sess_1");
	msg_set_str(m, F_BINARY, "ffmpeg");
	strv_push(&args, "-i");
	strv_push(&args, "${Media}/a \"quoted\" \\ file.mkv");
	strv_push(&args, "");
	strv_push(&args, "h\xc3\xa9llo \xe2\x9c\x93 \xe6\x97\xa5\xf0\x9f\x8e\xac");
	strv_push(&args, "line1\nline2\r\t");
	strv_push(&args, "");
	msg_set_strv(m, F_ARGS, &args);
	strmap_set(&env, "LIBVA_DRIVER_NAME", "iHD");
	strmap_set(&env, "EMPTY", "");
	msg_set_strmap(m, F_ENV, &env);
	strv_push(&paths, "Media");
	msg_set_strv(m, F_PATHS, &paths);
	msg_set_str(m, F_CWD, "${Media}/shows");
	msg_set_bool(m, F_INTERACTIVE, true);
	strv_free(&args);
	strmap_free(&env);
	strv_free(&paths);
}

static enum msg_err
roundtrip(const struct msg *in, const char *topic, const char *from, int role,
    struct msg *out)
{
	enum msg_err	 e;
	char		*p;
	size_t		 len;

	p = msg_encode(in, topic, key, &len);
	ck_assert_uint_eq(strlen(p), len);
	e = msg_decode(topic, p, len, key, from, role, now_ms(),
	    REPLAY_WINDOW_MS, out, err, sizeof(err));
	free(p);
	return e;
}

START_TEST(test_submit_roundtrip)
{
	struct msg	in, out;
	size_t		i;

	make_submit(&in, "alice");
	ck_assert_int_eq(roundtrip(&in, TOPIC_UP, "alice", ROLE_CLIENT, &out),
	    ME_OK);
	ck_assert_int_eq(out.type, MT_SUBMIT);
	ck_assert_str_eq(out.id, in.id);
	ck_assert_str_eq(out.from, "alice");
	ck_assert_int_eq(out.ts, in.ts);
	ck_assert_str_eq(out.job, "job-1");
	ck_assert_str_eq(out.session, "sess_1");
	ck_assert_str_eq(out.binary, "ffmpeg");
	ck_assert_str_eq(out.cwd, "${Media}/shows");
	ck_assert_uint_eq(out.args.n, in.args.n);
	for (i = 0; i < in.args.n; i++)
		ck_assert_str_eq(out.args.v[i], in.args.v[i]);
	ck_assert_ptr_null(out.args.v[out.args.n]);
	ck_assert_uint_eq(out.env.n, 2);
	ck_assert_str_eq(strmap_get(&out.env, "LIBVA_DRIVER_NAME"), "iHD");
	ck_assert_str_eq(strmap_get(&out.env, "EMPTY"), "");
	ck_assert_uint_eq(out.paths.n, 1);
	ck_assert_str_eq(out.paths.v[0], "Media");
	ck_assert(out.interactive);
	ck_assert_uint_eq(out.present, FBIT(F_JOB) | FBIT(F_SESSION) |
	    FBIT(F_BINARY) | FBIT(F_ARGS) | FBIT(F_ENV) | FBIT(F_PATHS) |
	    FBIT(F_CWD) | FBIT(F_INTERACTIVE));
	msg_clear(&in);
	msg_clear(&out);
}
END_TEST

START_TEST(test_big_args)
{
	struct strv	args = { 0 };
	struct msg	in, out;
	char		a[32];
	size_t		i;

	msg_init(&in, MT_SUBMIT, "alice");
	msg_set_str(&in, F_JOB, "j");
	msg_set_str(&in, F_SESSION, "s");
	msg_set_str(&in, F_BINARY, "ffprobe");
	for (i = 0; i < 4000; i++) {
		snprintf(a, sizeof(a), i % 7 == 0 ? "" : "arg\"%zu\xc3\xa9", i);
		strv_push(&args, a);
	}
	msg_set_strv(&in, F_ARGS, &args);
	ck_assert_int_eq(roundtrip(&in, TOPIC_UP, "alice", ROLE_CLIENT, &out),
	    ME_OK);
	ck_assert_uint_eq(out.args.n, 4000);
	for (i = 0; i < 4000; i++)
		ck_assert_str_eq(out.args.v[i], args.v[i]);
	strv_free(&args);
	msg_clear(&in);
	msg_clear(&out);
}
END_TEST

START_TEST(test_other_roundtrips)
{
	struct strmap	 health = { 0 }, bins = { 0 };
	struct strv	 running = { 0 };
	struct msg	 in, out;

	/* register: maps, arrays, ints, and "paths" as a map. */
	msg_init(&in, MT_REGISTER, "w1");
	msg_set_str(&in, F_SESSION, "s1");
	strmap_set(&health, "Media", "ok");
	strmap_set(&health, "Backup", "not mounted");
	msg_set_strmap(&in, F_PATH_HEALTH, &health);
	strmap_set(&bins, "ffmpeg", "7.1");
	msg_set_strmap(&in, F_BINARIES, &bins);
	strv_push(&running, "job-a");
	strv_push(&running, "job-b");
	msg_set_strv(&in, F_RUNNING, &running);
	msg_set_int(&in, F_MAX_JOBS, 4);
	msg_set_int(&in, F_WEIGHT, 9007199254740992LL);
	msg_set_str(&in, F_STATUS, "online");
	ck_assert_int_eq(roundtrip(&in, "dffmpeg/coord/w1", "w1", ROLE_WORKER,
	    &out), ME_OK);
	ck_assert_str_eq(strmap_get(&out.path_health, "Backup"), "not mounted");
	ck_assert_str_eq(strmap_get(&out.binaries, "ffmpeg"), "7.1");
	ck_assert_uint_eq(out.running.n, 2);
	ck_assert_str_eq(out.running.v[1], "job-b");
	ck_assert_int_eq(out.max_jobs, 4);
	ck_assert_int_eq(out.weight, 9007199254740992LL);
	ck_assert(!(out.present & FBIT(F_VERSION)));
	ck_assert(out.present & FBIT(F_PATH_HEALTH));
	ck_assert(!(out.present & FBIT(F_PATHS)));
	msg_clear(&in);
	msg_clear(&out);

	/* finished: negative code, signal, large counters. */
	msg_init(&in, MT_FINISHED, "w1");
	msg_set_str(&in, F_JOB, "job-a");
	msg_set_int(&in, F_CODE, -1);
	msg_set_int(&in, F_SIGNAL, 9);
	msg_set_int(&in, F_BYTES_OUT, 5000000000LL);
	msg_set_str(&in, F_TEXT, "Killed\n");
	/* Not allowed for finished: must not be encoded. */
	msg_set_str(&in, F_WORKER, "w1");
	ck_assert_int_eq(roundtrip(&in, "dffmpeg/coord/w1", "w1", ROLE_WORKER,
	    &out), ME_OK);
	ck_assert_int_eq(out.code, -1);
	ck_assert_int_eq(out.signal, 9);
	ck_assert_int_eq(out.bytes_out, 5000000000LL);
	ck_assert_str_eq(out.text, "Killed\n");
	ck_assert_ptr_null(out.worker);
	ck_assert(!(out.present & FBIT(F_BYTES_IN)));
	msg_clear(&in);
	msg_clear(&out);

	/* finished also goes down to the client. */
	msg_init(&in, MT_FINISHED, COORDINATOR_NAME);
	msg_set_str(&in, F_JOB, "job-a");
	msg_set_int(&in, F_CODE, 0);
	msg_set_int(&in, F_SIGNAL, 0);
	ck_assert_int_eq(roundtrip(&in, "dffmpeg/client/c/s", COORDINATOR_NAME,
	    ROLE_COORD, &out), ME_OK);
	msg_clear(&in);
	msg_clear(&out);

	/* cancel down to a worker with a grace. */
	msg_init(&in, MT_CANCEL, COORDINATOR_NAME);
	msg_set_str(&in, F_JOB, "job-a");
	msg_set_int(&in, F_GRACE, 2000);
	ck_assert_int_eq(roundtrip(&in, TOPIC_DOWN, COORDINATOR_NAME,
	    ROLE_COORD, &out), ME_OK);
	ck_assert_int_eq(out.grace, 2000);
	msg_clear(&in);
	msg_clear(&out);

	/* reply with arbitrary JSON data, kept compact. */
	msg_init(&in, MT_REPLY, COORDINATOR_NAME);
	msg_set_str(&in, F_REF, "r1");
	msg_set_str(&in, F_DATA, "{ \"jobs\" : [1, \"two\", null, {\"x\":true}] }");
	ck_assert_int_eq(roundtrip(&in, TOPIC_DOWN, NULL, ROLE_COORD, &out),
	    ME_OK);
	ck_assert_str_eq(out.data, "{\"jobs\":[1,\"two\",null,{\"x\":true}]}");
	msg_clear(&in);
	msg_clear(&out);

	/* data that is not JSON goes out as null. */
	msg_init(&in, MT_REPLY, COORDINATOR_NAME);
	msg_set_str(&in, F_REF, "r1");
	msg_set_str(&in, F_DATA, "{broken");
	ck_assert_int_eq(roundtrip(&in, TOPIC_DOWN, NULL, 0, &out), ME_OK);
	ck_assert_str_eq(out.data, "null");
	msg_clear(&in);
	msg_clear(&out);

	/* drain: no required fields, empty body. */
	msg_init(&in, MT_DRAIN, COORDINATOR_NAME);
	ck_assert_int_eq(roundtrip(&in, TOPIC_DOWN, NULL, ROLE_COORD, &out),
	    ME_OK);
	ck_assert_int_eq(out.type, MT_DRAIN);
	ck_assert_uint_eq(out.present, 0);
	msg_clear(&in);
	msg_clear(&out);

	strmap_free(&health);
	strmap_free(&bins);
	strv_free(&running);
}
END_TEST

START_TEST(test_tamper)
{
	struct msg	 in, out;
	char		*p, *nl;
	size_t		 len, i;
	const char	*pos[] = { "\"job-1\"", "\"ts\":", "\"v\":1" };

	make_submit(&in, "alice");
	p = msg_encode(&in, TOPIC_UP, key, &len);
	ck_assert_int_eq(msg_decode(TOPIC_UP, p, len, key, "alice",
	    ROLE_CLIENT, now_ms(), REPLAY_WINDOW_MS, &out, err, sizeof(err)),
	    ME_OK);
	msg_clear(&out);

	/* A byte of the JSON. */
	for (i = 0; i < nitems(pos); i++) {
		char	*q = strstr(p, pos[i]);

		ck_assert_ptr_nonnull(q);
		q[1] ^= 0x01;
		ck_assert_int_eq(msg_decode(TOPIC_UP, p, len, key, "alice",
		    ROLE_CLIENT, now_ms(), REPLAY_WINDOW_MS, &out, err,
		    sizeof(err)), ME_MAC);
		q[1] ^= 0x01;
	}

	/* A character of the MAC, still valid base64. */
	nl = strrchr(p, '\n');
	nl[1] = nl[1] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(msg_decode(TOPIC_UP, p, len, key, "alice",
	    ROLE_CLIENT, now_ms(), REPLAY_WINDOW_MS, &out, err, sizeof(err)),
	    ME_MAC);
	/* And not base64 at all. */
	nl[1] = '*';
	ck_assert_int_eq(msg_decode(TOPIC_UP, p, len, key, "alice",
	    ROLE_CLIENT, now_ms(), REPLAY_WINDOW_MS, &out, err, sizeof(err)),
	    ME_MAC);
	free(p);

	/* Another topic. */
	p = msg_encode(&in, TOPIC_UP, key, &len);
	ck_assert_int_eq(msg_decode("dffmpeg/coord/alicf", p, len, key, NULL,
	    ROLE_CLIENT, now_ms(), REPLAY_WINDOW_MS, &out, err, sizeof(err)),
	    ME_MAC);
	/* Another key. */
	ck_assert_int_eq(msg_decode(TOPIC_UP, p, len, key2, "alice",
	    ROLE_CLIENT, now_ms(), REPLAY_WINDOW_MS, &out, err, sizeof(err)),
	    ME_MAC);
	/* Truncated: the MAC line loses a character. */
	ck_assert_int_eq(msg_decode(TOPIC_UP, p, len - 1, key, "alice",
	    ROLE_CLIENT, now_ms(), REPLAY_WINDOW_MS, &out, err, sizeof(err)),
	    ME_MAC);
	ck_assert_str_eq(err, "malformed MAC");
	/* Four characters less still decode, to 30 bytes. */
	ck_assert_int_eq(msg_decode(TOPIC_UP, p, len - 4, key, "alice",
	    ROLE_CLIENT, now_ms(), REPLAY_WINDOW_MS, &out, err, sizeof(err)),
	    ME_MAC);
	ck_assert_str_eq(err, "malformed MAC");
	/* The error text never carries key material. */
	ck_assert_ptr_null(strstr(err, "key"));
	free(p);
	msg_clear(&in);
}
END_TEST

START_TEST(test_from_and_role)
{
	struct msg	 in, out;

	make_submit(&in, "alice");
	ck_assert_int_eq(roundtrip(&in, TOPIC_UP, "bob", ROLE_CLIENT, &out),
	    ME_FROM);
	ck_assert_ptr_null(out.job);
	/* A worker sending submit. */
	ck_assert_int_eq(roundtrip(&in, TOPIC_UP, "alice", ROLE_WORKER, &out),
	    ME_ROLE);
	ck_assert_ptr_nonnull(strstr(err, "submit"));
	/* An admin sending submit. */
	ck_assert_int_eq(roundtrip(&in, TOPIC_UP, "alice", ROLE_ADMIN, &out),
	    ME_ROLE);
	/* role 0 skips the check. */
	ck_assert_int_eq(roundtrip(&in, TOPIC_UP, "alice", 0, &out), ME_OK);
	msg_clear(&out);
	msg_clear(&in);

	/* A client sending register. */
	msg_init(&in, MT_REGISTER, "alice");
	msg_set_str(&in, F_SESSION, "s");
	ck_assert_int_eq(roundtrip(&in, TOPIC_UP, "alice", ROLE_CLIENT, &out),
	    ME_ROLE);
	ck_assert_int_eq(roundtrip(&in, TOPIC_UP, "alice",
	    ROLE_CLIENT | ROLE_ADMIN, &out), ME_ROLE);
	ck_assert_int_eq(roundtrip(&in, TOPIC_UP, "alice", ROLE_WORKER, &out),
	    ME_OK);
	msg_clear(&out);
	msg_clear(&in);

	/* A client posing as the coordinator (assign). */
	msg_init(&in, MT_ASSIGN, "alice");
	ck_assert_int_eq(roundtrip(&in, TOPIC_UP, "alice", ROLE_CLIENT, &out),
	    ME_ROLE);
	msg_clear(&in);
}
END_TEST

START_TEST(test_age)
{
	struct msg	 in, out;
	char		*p;
	size_t		 len;
	int64_t		 now = now_ms();

	make_submit(&in, "alice");
	in.ts = now - 31000;
	p = msg_encode(&in, TOPIC_UP, key, &len);
	ck_assert_int_eq(msg_decode(TOPIC_UP, p, len, key, "alice",
	    ROLE_CLIENT, now, 30000, &out, err, sizeof(err)), ME_AGE);
	/* window 0 skips the check. */
	ck_assert_int_eq(msg_decode(TOPIC_UP, p, len, key, "alice",
	    ROLE_CLIENT, now, 0, &out, err, sizeof(err)), ME_OK);
	msg_clear(&out);
	/* Just inside the window. */
	ck_assert_int_eq(msg_decode(TOPIC_UP, p, len, key, "alice",
	    ROLE_CLIENT, now, 31000, &out, err, sizeof(err)), ME_OK);
	msg_clear(&out);
	free(p);

	/* From the future. */
	in.ts = now + 31000;
	p = msg_encode(&in, TOPIC_UP, key, &len);
	ck_assert_int_eq(msg_decode(TOPIC_UP, p, len, key, "alice",
	    ROLE_CLIENT, now, 30000, &out, err, sizeof(err)), ME_AGE);
	free(p);
	msg_clear(&in);

	/* gone, the will, is exempt. */
	msg_init(&in, MT_GONE, "alice");
	msg_set_str(&in, F_SESSION, "s1");
	in.ts = now - 3600 * 1000;
	p = msg_encode(&in, TOPIC_UP, key, &len);
	ck_assert_int_eq(msg_decode(TOPIC_UP, p, len, key, "alice",
	    ROLE_CLIENT, now, 30000, &out, err, sizeof(err)), ME_OK);
	ck_assert_str_eq(out.session, "s1");
	msg_clear(&out);
	free(p);
	msg_clear(&in);

	/* bye is not. */
	msg_init(&in, MT_BYE, "alice");
	msg_set_str(&in, F_SESSION, "s1");
	in.ts = now - 3600 * 1000;
	p = msg_encode(&in, TOPIC_UP, key, &len);
	ck_assert_int_eq(msg_decode(TOPIC_UP, p, len, key, "alice",
	    ROLE_CLIENT, now, 30000, &out, err, sizeof(err)), ME_AGE);
	free(p);
	msg_clear(&in);
}
END_TEST

START_TEST(test_size)
{
	struct msg	 out;
	char		*p, from[NAME_MAX_LEN + 1];
	size_t		 len = MSG_MAX_BYTES + 1;

	p = xmalloc(len);
	memset(p, 'x', len);
	p[len - 50] = '\n';
	ck_assert_int_eq(msg_decode(TOPIC_UP, p, len, key, NULL, 0, now_ms(),
	    REPLAY_WINDOW_MS, &out, err, sizeof(err)), ME_SIZE);
	ck_assert_int_eq(msg_peek_from(p, len, from, sizeof(from)), ME_SIZE);
	/* One byte less gets past the size check (and fails the MAC). */
	ck_assert_int_eq(msg_decode(TOPIC_UP, p, len - 1, key, NULL, 0,
	    now_ms(), REPLAY_WINDOW_MS, &out, err, sizeof(err)), ME_MAC);
	free(p);

	/* No MAC line at all. */
	ck_assert_int_eq(msg_decode(TOPIC_UP, "{}", 2, key, NULL, 0,
	    now_ms(), REPLAY_WINDOW_MS, &out, err, sizeof(err)), ME_FORMAT);
	ck_assert_int_eq(msg_decode(TOPIC_UP, "", 0, key, NULL, 0,
	    now_ms(), REPLAY_WINDOW_MS, &out, err, sizeof(err)), ME_FORMAT);
}
END_TEST

START_TEST(test_format)
{
	static const struct {
		const char	*type;
		const char	*body;
	} bad[] = {
		/* missing required */
		{ "submit", "{\"job\":\"j\",\"session\":\"s\",\"binary\":\"ffmpeg\"}" },
		{ "ack", "{}" },
		/* unknown field */
		{ "submit", "{\"job\":\"j\",\"session\":\"s\",\"binary\":\"ffmpeg\","
		    "\"args\":[],\"x\":1}" },
		/* allowed for another type only */
		{ "query", "{\"what\":\"jobs\",\"key\":\"k\"}" },
		/* "paths" is an array in submit, not a map */
		{ "submit", "{\"job\":\"j\",\"session\":\"s\",\"binary\":\"ffmpeg\","
		    "\"args\":[],\"paths\":{\"Media\":\"ok\"}}" },
		/* wrong types */
		{ "submit", "{\"job\":\"j\",\"session\":\"s\",\"binary\":\"ffmpeg\","
		    "\"args\":\"-i x\"}" },
		{ "submit", "{\"job\":1,\"session\":\"s\",\"binary\":\"ffmpeg\","
		    "\"args\":[]}" },
		{ "submit", "{\"job\":\"j\",\"session\":\"s\",\"binary\":\"ffmpeg\","
		    "\"args\":[1]}" },
		{ "submit", "{\"job\":\"j\",\"session\":\"s\",\"binary\":\"ffmpeg\","
		    "\"args\":[],\"interactive\":\"yes\"}" },
		{ "submit", "{\"job\":\"j\",\"session\":\"s\",\"binary\":\"ffmpeg\","
		    "\"args\":[],\"env\":{\"A\":1}}" },
		{ "started", "{\"job\":\"j\",\"pid\":1.5}" },
		{ "started", "{\"job\":\"j\",\"pid\":\"12\"}" },
		{ "started", "{\"job\":\"j\",\"pid\":1e300}" },
		{ "started", "{\"job\":\"j\",\"pid\":true}" },
		{ "started", "{\"job\":\"j\",\"pid\":9007199254740994}" },
		{ "started", "{\"job\":\"j\",\"pid\":-9007199254740994}" },
		/* duplicate map key, empty map key */
		{ "submit", "{\"job\":\"j\",\"session\":\"s\",\"binary\":\"ffmpeg\","
		    "\"args\":[],\"env\":{\"A\":\"1\",\"A\":\"2\"}}" },
		{ "submit", "{\"job\":\"j\",\"session\":\"s\",\"binary\":\"ffmpeg\","
		    "\"args\":[],\"env\":{\"\":\"1\"}}" },
		/* duplicate field */
		{ "started", "{\"job\":\"j\",\"job\":\"k\"}" },
		/* names with a bad charset or length */
		{ "started", "{\"job\":\"a/b\"}" },
		{ "started", "{\"job\":\"\"}" },
		{ "started", "{\"job\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaa\"}" },
		/* NUL inside a string */
		{ "submit", "{\"job\":\"j\",\"session\":\"s\",\"binary\":\"ffmpeg\","
		    "\"args\":[\"a\\u0000b\"]}" },
		/* invalid UTF-8 */
		{ "submit", "{\"job\":\"j\",\"session\":\"s\",\"binary\":\"ffmpeg\","
		    "\"args\":[\"\xc3\x28\"]}" },
		{ "submit", "{\"job\":\"j\",\"session\":\"s\",\"binary\":\"ffmpeg\","
		    "\"args\":[\"\xed\xa0\x80\"]}" },
		{ "submit", "{\"job\":\"j\",\"session\":\"s\",\"binary\":\"ffmpeg\","
		    "\"args\":[\"\xc0\xaf\"]}" },
		/* body not an object */
		{ "drain", "[]" },
		{ "drain", "null" },
	};
	struct msg	out;
	size_t		i;

	for (i = 0; i < nitems(bad); i++) {
		err[0] = '\0';
		ck_assert_msg(decode_body(bad[i].type, bad[i].body, &out) ==
		    ME_FORMAT, "case %zu accepted: %s", i, bad[i].body);
		ck_assert(err[0] != '\0');
		ck_assert_ptr_null(out.job);
		ck_assert_ptr_null(out.args.v);
	}

	ck_assert_int_eq(decode_body("submit", "{\"job\":\"j\",\"session\":\"s\","
	    "\"binary\":\"ffmpeg\",\"args\":[],\"zz\":1}", &out), ME_FORMAT);
	ck_assert_str_eq(err, "unexpected field 'zz' in submit");
	ck_assert_int_eq(decode_body("submit", "{\"job\":\"j\",\"session\":\"s\","
	    "\"binary\":\"ffmpeg\"}", &out), ME_FORMAT);
	ck_assert_str_eq(err, "missing field 'args' in submit");

	/* Escaped backslash then "u0000" is an ordinary string. */
	ck_assert_int_eq(decode_body("submit", "{\"job\":\"j\",\"session\":\"s\","
	    "\"binary\":\"ffmpeg\",\"args\":[\"a\\\\u0000b\"]}", &out), ME_OK);
	ck_assert_str_eq(out.args.v[0], "a\\u0000b");
	msg_clear(&out);

	/* Surrogate pairs decode to UTF-8; integral doubles are ints. */
	ck_assert_int_eq(decode_body("started", "{\"job\":\"j\",\"pid\":12.0,"
	    "\"session\":\"s\"}", &out), ME_OK);
	ck_assert_int_eq(out.pid, 12);
	msg_clear(&out);
	ck_assert_int_eq(decode_body("rejected", "{\"job\":\"j\",\"reason\":"
	    "\"\\ud83c\\udfac\"}", &out), ME_OK);
	ck_assert_str_eq(out.reason, "\xf0\x9f\x8e\xac");
	msg_clear(&out);
}
END_TEST

/* A submit body with n empty arguments. */
static char *
args_body(size_t n)
{
	char	*body, *p;
	size_t	 i;

	body = xmalloc(100 + n * 3);
	p = body + sprintf(body, "{\"job\":\"j\",\"session\":\"s\","
	    "\"binary\":\"ffmpeg\",\"args\":[");
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s\"\"", i ? "," : "");
	strcpy(p, "]}");
	return body;
}

START_TEST(test_too_many)
{
	struct msg	 out;
	char		*body;

	body = args_body(MSG_MAX_ARGS + 1);
	ck_assert_int_eq(decode_body("submit", body, &out), ME_FORMAT);
	free(body);
	body = args_body(MSG_MAX_ARGS);
	ck_assert_int_eq(decode_body("submit", body, &out), ME_OK);
	ck_assert_uint_eq(out.args.n, MSG_MAX_ARGS);
	msg_clear(&out);
	free(body);
}
END_TEST

START_TEST(test_envelope)
{
	static const char *const bad[] = {
		"not json",
		"[1,2]",
		"{\"v\":1,\"type\":\"drain\",\"id\":\"i1\",\"from\":\"alice\","
		    "\"ts\":%lld,\"body\":{}} trailing",
		"{\"v\":2,\"type\":\"drain\",\"id\":\"i1\",\"from\":\"alice\","
		    "\"ts\":%lld,\"body\":{}}",
		"{\"v\":1,\"type\":\"nope\",\"id\":\"i1\",\"from\":\"alice\","
		    "\"ts\":%lld,\"body\":{}}",
		"{\"v\":1,\"type\":\"drain\",\"id\":\"i1\",\"from\":\"alice\","
		    "\"ts\":%lld,\"body\":{},\"extra\":0}",
		"{\"v\":1,\"type\":\"drain\",\"id\":\"i1\",\"from\":\"alice\","
		    "\"ts\":%lld}",
		"{\"v\":1,\"type\":\"drain\",\"id\":\"i1\",\"id\":\"i2\","
		    "\"from\":\"alice\",\"ts\":%lld,\"body\":{}}",
		"{\"v\":1,\"type\":\"drain\",\"id\":\"i/1\",\"from\":\"alice\","
		    "\"ts\":%lld,\"body\":{}}",
		"{\"v\":1,\"type\":\"drain\",\"id\":\"abcdefghijklmnopqrstuvw\","
		    "\"from\":\"alice\",\"ts\":%lld,\"body\":{}}",
		"{\"v\":1,\"type\":\"drain\",\"id\":\"i1\",\"from\":\"al ice\","
		    "\"ts\":%lld,\"body\":{}}",
		"{\"v\":1,\"type\":\"drain\",\"id\":\"i1\",\"from\":\"alice\","
		    "\"ts\":\"%lld\",\"body\":{}}",
		"{\"v\":1,\"type\":\"drain\",\"id\":\"i1\",\"from\":\"alice\","
		    "\"ts\":%lld.5,\"body\":{}}",
	};
	const char	*good = "{\"v\":1,\"type\":\"drain\",\"id\":\"i1\","
	    "\"from\":\"alice\",\"ts\":%lld,\"body\":{}}  ";
	struct msg	 out;
	char		 json[512];
	size_t		 i;

	for (i = 0; i < nitems(bad); i++) {
		snprintf(json, sizeof(json), bad[i], (long long)now_ms());
		ck_assert_msg(decode_raw(json, &out) == ME_FORMAT,
		    "accepted %s", json);
	}
	snprintf(json, sizeof(json), good, (long long)now_ms());
	ck_assert_int_eq(decode_raw(json, &out), ME_OK);
	ck_assert_str_eq(out.id, "i1");
	msg_clear(&out);
}
END_TEST

START_TEST(test_peek_from)
{
	struct msg	 in;
	char		 from[NAME_MAX_LEN + 1], small[4], *p;
	size_t		 len;

	make_submit(&in, "alice");
	p = msg_encode(&in, TOPIC_UP, key, &len);
	ck_assert_int_eq(msg_peek_from(p, len, from, sizeof(from)), ME_OK);
	ck_assert_str_eq(from, "alice");
	ck_assert_int_eq(msg_peek_from(p, len, small, sizeof(small)),
	    ME_FORMAT);
	free(p);
	msg_clear(&in);

	p = sign_raw(TOPIC_UP, "{\"from\":\"a/b\"}", key, &len);
	ck_assert_int_eq(msg_peek_from(p, len, from, sizeof(from)), ME_FORMAT);
	free(p);
	p = sign_raw(TOPIC_UP, "{\"from\":7}", key, &len);
	ck_assert_int_eq(msg_peek_from(p, len, from, sizeof(from)), ME_FORMAT);
	free(p);
	ck_assert_int_eq(msg_peek_from("{\"from\":\"x\"}", 12, from,
	    sizeof(from)), ME_FORMAT);

	/* The type it claims, for the metrics of dropped messages. */
	p = sign_raw(TOPIC_UP, "{\"type\":\"heartbeat\"}", key, &len);
	ck_assert_int_eq(msg_peek_type(p, len), MT_HEARTBEAT);
	free(p);
	p = sign_raw(TOPIC_UP, "{\"type\":\"bogus\"}", key, &len);
	ck_assert_int_eq(msg_peek_type(p, len), -1);
	free(p);
	p = sign_raw(TOPIC_UP, "{\"type\":[1]}", key, &len);
	ck_assert_int_eq(msg_peek_type(p, len), -1);
	free(p);
	ck_assert_int_eq(msg_peek_type("junk", 4), -1);
}
END_TEST

/* The session of a message signed with another key: read all the same
 * (the coordinator addresses its `unverified` answer with it), but only
 * a valid id. */
START_TEST(test_peek_session)
{
	static const uint8_t other[KEY_LEN] = { 7 };
	struct msg	 in, out;
	char		 session[SESSION_BUF], small[4], ebuf[128], *p;
	size_t		 len;

	make_submit(&in, "alice");
	p = msg_encode(&in, TOPIC_UP, other, &len);
	ck_assert_int_eq(msg_decode(TOPIC_UP, p, len, key, "alice", 0, 0, 0,
	    &out, ebuf, sizeof(ebuf)), ME_MAC);
	ck_assert_int_eq(msg_peek_session(p, len, session, sizeof(session)),
	    ME_OK);
	ck_assert_str_eq(session, in.session);
	ck_assert_int_eq(msg_peek_session(p, len, small, sizeof(small)),
	    ME_FORMAT);
	free(p);
	msg_clear(&in);

	p = sign_raw(TOPIC_UP, "{\"body\":{\"session\":\"../x\"}}", key,
	    &len);
	ck_assert_int_eq(msg_peek_session(p, len, session, sizeof(session)),
	    ME_FORMAT);
	free(p);
	p = sign_raw(TOPIC_UP, "{\"session\":\"abc\"}", key, &len);
	ck_assert_int_eq(msg_peek_session(p, len, session, sizeof(session)),
	    ME_FORMAT);
	free(p);
	p = sign_raw(TOPIC_UP, "{\"body\":7}", key, &len);
	ck_assert_int_eq(msg_peek_session(p, len, session, sizeof(session)),
	    ME_FORMAT);
	free(p);
}
END_TEST

START_TEST(test_tables)
{
	uint64_t	allowed;
	int		t;

	for (t = 0; t < MT__COUNT; t++) {
		ck_assert_ptr_nonnull(msg_types[t].name);
		ck_assert_int_eq(msg_type_lookup(msg_types[t].name), t);
		ck_assert_str_eq(msg_type_name(t), msg_types[t].name);
		ck_assert_int_ne(msg_types[t].roles, 0);
		ck_assert_uint_eq(msg_types[t].required &
		    msg_types[t].optional, 0);
		allowed = msg_types[t].required | msg_types[t].optional;
		ck_assert_uint_eq(allowed & ~(FBIT(F__COUNT) - 1), 0);
		/* Both serialise as "paths". */
		ck_assert(!((allowed & FBIT(F_PATHS)) &&
		    (allowed & FBIT(F_PATH_HEALTH))));
	}
	ck_assert_int_eq(msg_type_lookup("nope"), -1);
	ck_assert_int_eq(msg_types[MT_SUBMIT].roles, ROLE_CLIENT);
	ck_assert_int_eq(msg_types[MT_CANCEL].roles,
	    ROLE_CLIENT | ROLE_ADMIN | ROLE_COORD);
	ck_assert(msg_types[MT_FINISHED].roles & ROLE_COORD);
	ck_assert(msg_types[MT_STARTED].optional & FBIT(F_WORKER));

	ck_assert_int_eq(role_parse("client"), ROLE_CLIENT);
	ck_assert_int_eq(role_parse("worker"), ROLE_WORKER);
	ck_assert_int_eq(role_parse("admin"), ROLE_ADMIN);
	ck_assert_int_eq(role_parse("coordinator"), ROLE_COORD);
	ck_assert_int_eq(role_parse("root"), -1);
	ck_assert_str_eq(role_name(ROLE_ADMIN), "admin");
	ck_assert_str_eq(role_name(ROLE_COORD), "coordinator");
	ck_assert_str_eq(msg_err_name(ME_MAC), "mac");
	ck_assert_str_eq(msg_err_name(ME_UNKNOWN), "unknown");
}
END_TEST

START_TEST(test_job_key)
{
	uint8_t	 jk[KEY_LEN], got[KEY_LEN];
	char	*s, *s2;

	randombytes_buf(jk, sizeof(jk));
	s = msg_seal_key(key, jk);
	ck_assert_int_eq(msg_open_key(key, s, got), 0);
	ck_assert_mem_eq(got, jk, KEY_LEN);
	/* Fresh nonce each time. */
	s2 = msg_seal_key(key, jk);
	ck_assert_str_ne(s, s2);
	ck_assert_int_eq(msg_open_key(key2, s, got), -1);
	ck_assert_int_eq(msg_open_key(key, "", got), -1);
	ck_assert_int_eq(msg_open_key(key, "AAAA", got), -1);
	ck_assert_int_eq(msg_open_key(key, NULL, got), -1);
	/* Tampered. */
	s[10] = s[10] == 'A' ? 'B' : 'A';
	ck_assert_int_eq(msg_open_key(key, s, got), -1);
	/* One decoded byte too many. */
	free(s);
	xasprintf(&s, "%.*sAAAA", (int)strlen(s2) - 4, s2);
	ck_assert_int_eq(msg_open_key(key, s, got), -1);
	free(s);
	free(s2);
}
END_TEST

START_TEST(test_replay)
{
	struct replay	*r = replay_new(1000);
	const char	*topic, *payload;
	size_t		 len, i;
	char		 id[ID_BUF];

	ck_assert(!replay_seen(r, "a", &topic, &payload, &len));
	replay_add(r, "a", 10000);
	ck_assert(replay_seen(r, "a", &topic, &payload, &len));
	ck_assert_ptr_null(topic);
	ck_assert_ptr_null(payload);
	ck_assert_uint_eq(replay_count(r), 1);

	replay_answer(r, "a", "t/a", "ans\0wer", 7);
	ck_assert(replay_seen(r, "a", &topic, &payload, &len));
	ck_assert_str_eq(topic, "t/a");
	ck_assert_uint_eq(len, 7);
	ck_assert_mem_eq(payload, "ans\0wer", 7);
	replay_answer(r, "a", "t/b", "x", 1);
	ck_assert(replay_seen(r, "a", &topic, NULL, &len));
	ck_assert_str_eq(topic, "t/b");
	ck_assert_uint_eq(len, 1);

	/* Re-adding keeps the first-seen time and the answer. */
	replay_add(r, "a", 11500);
	ck_assert_uint_eq(replay_count(r), 1);
	ck_assert(replay_seen(r, "a", &topic, NULL, NULL));
	ck_assert_str_eq(topic, "t/b");

	/* An answer for an unknown id is not stored. */
	replay_answer(r, "b", "t", "y", 1);
	ck_assert(!replay_seen(r, "b", NULL, NULL, NULL));

	replay_add(r, "b", 11000);
	replay_expire(r, 12000);	/* a is 2000 old: kept */
	ck_assert_uint_eq(replay_count(r), 2);
	replay_expire(r, 12001);	/* a goes, b stays */
	ck_assert(!replay_seen(r, "a", NULL, NULL, NULL));
	ck_assert(replay_seen(r, "b", NULL, NULL, NULL));
	ck_assert_uint_eq(replay_count(r), 1);

	/* Enough ids to grow the table several times. */
	for (i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "id%zu", i);
		replay_add(r, id, 20000 + (int64_t)i);
		if (i % 3 == 0)
			replay_answer(r, id, "t", id, strlen(id));
	}
	ck_assert_uint_eq(replay_count(r), 5001);
	for (i = 0; i < 5000; i++) {
		snprintf(id, sizeof(id), "id%zu", i);
		ck_assert(replay_seen(r, id, NULL, &payload, &len));
		if (i % 3 == 0)
			ck_assert_mem_eq(payload, id, len);
		else
			ck_assert_ptr_null(payload);
	}
	replay_expire(r, 22000 + 2500);	/* drops b and id0..id2499 */
	ck_assert_uint_eq(replay_count(r), 2500);
	ck_assert(!replay_seen(r, "id2499", NULL, NULL, NULL));
	ck_assert(replay_seen(r, "id2500", NULL, NULL, NULL));
	replay_free(r);
	replay_free(NULL);

	/* Keyed by sender: one identity's id does not silence another's. */
	{
		char	ka[REPLAY_KEY_MAX + 1], kb[REPLAY_KEY_MAX + 1];

		r = replay_new(1000);
		replay_key(ka, "alice", "x1");
		replay_key(kb, "bob", "x1");
		ck_assert_str_eq(ka, "alice/x1");
		replay_add(r, ka, 1);
		ck_assert(replay_seen(r, ka, NULL, NULL, NULL));
		ck_assert(!replay_seen(r, kb, NULL, NULL, NULL));
		replay_free(r);
	}
}
END_TEST

START_TEST(test_setters)
{
	struct msg	 m;
	struct strv	 sv = { 0 };

	msg_init(&m, MT_QUERY, "alice");
	ck_assert_int_eq(strlen(m.id), ID_LEN);
	ck_assert(m.ts > 0);
	ck_assert_str_eq(m.from, "alice");
	msg_set_str(&m, F_WHAT, "jobs");
	msg_set_str(&m, F_WHAT, "job");
	ck_assert_str_eq(m.what, "job");
	strv_push(&sv, "x");
	msg_set_strv(&m, F_ARGS, &sv);
	msg_set_strv(&m, F_ARGS, &sv);
	ck_assert_uint_eq(m.args.n, 1);
	ck_assert_uint_eq(m.present, FBIT(F_WHAT) | FBIT(F_ARGS));
	strv_free(&sv);
	msg_clear(&m);
	ck_assert_ptr_null(m.what);
	ck_assert_uint_eq(m.present, 0);
	msg_clear(&m);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("msg");
	TCase	*tc = tcase_create("msg");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_submit_roundtrip);
	tcase_add_test(tc, test_big_args);
	tcase_add_test(tc, test_other_roundtrips);
	tcase_add_test(tc, test_tamper);
	tcase_add_test(tc, test_from_and_role);
	tcase_add_test(tc, test_age);
	tcase_add_test(tc, test_size);
	tcase_add_test(tc, test_format);
	tcase_add_test(tc, test_too_many);
	tcase_add_test(tc, test_envelope);
	tcase_add_test(tc, test_peek_from);
	tcase_add_test(tc, test_peek_session);
	tcase_add_test(tc, test_tables);
	tcase_add_test(tc, test_job_key);
	tcase_add_test(tc, test_replay);
	tcase_add_test(tc, test_setters);
	suite_add_tcase(s, tc);
	return s;
}
