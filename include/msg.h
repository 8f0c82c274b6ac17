/*
 * Signed control messages (design §4.2, §5).  The replay cache is in
 * replay.h.
 *
 * Wire form: UTF-8 JSON, '\n', base64 HMAC-SHA256 over
 * topic || 0x00 || json, keyed with the identity key of the uplink sender
 * or the downlink recipient.  JSON envelope:
 *   {"v":1,"type":T,"id":ID,"from":NAME,"ts":MS,"body":{...}}
 *
 * Every type is one row of a const table giving its name, the roles that
 * may send it and the body fields it requires and allows.  Bodies decode
 * into one struct msg whose fields are typed; handlers never see JSON.
 * The `present` bitmask says which optional fields were in the body.
 */
#ifndef DFFMPEG_MSG_H
#define DFFMPEG_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "replay.h"
#include "util.h"

enum role {
	ROLE_CLIENT = 0x01,
	ROLE_WORKER = 0x02,
	ROLE_ADMIN = 0x04,
	ROLE_COORD = 0x08,	/* downlink: sent by the coordinator */
};

const char	*role_name(int);
int		 role_parse(const char *);	/* -1 if unknown */

enum msg_type {
	MT_REGISTER,
	MT_HEARTBEAT,
	MT_STARTED,
	MT_REJECTED,
	MT_FINISHED,
	MT_BYE,
	MT_GONE,
	MT_SUBMIT,
	MT_CANCEL,
	MT_QUERY,
	MT_ADMIN,
	MT_REGISTERED,
	MT_ACK,
	MT_REREGISTER,
	MT_ASSIGN,
	MT_DRAIN,
	MT_ACCEPTED,
	MT_QUEUED,
	MT_FAILED,
	MT_REFUSED,
	MT_REPLY,
	MT_UNVERIFIED,	/* one of yours did not verify with the key I hold */
	MT_LOG,		/* a batch of a job's stderr */
	MT__COUNT
};

/* Body fields.  F_* index the field table; the bit (1ULL << F_x) marks
 * presence. */
enum msg_field {
	F_SESSION,	/* str */
	F_JOB,		/* str: job id */
	F_REF,		/* str: id of the message answered */
	F_VERSION,	/* str */
	F_BINARY,	/* str */
	F_ARGS,		/* strv */
	F_CWD,		/* str */
	F_ENV,		/* strmap */
	F_PATHS,	/* strv: path variables a job uses */
	F_PATH_HEALTH,	/* strmap: variable -> "ok" | reason (register) */
	F_BINARIES,	/* strmap: name -> version (register) */
	F_RUNNING,	/* strv: job ids running on a worker */
	F_MAX_JOBS,	/* int */
	F_WEIGHT,	/* int */
	F_STATUS,	/* str: online | draining */
	F_PID,		/* int */
	F_CODE,		/* int: exit code, -1 if killed by a signal */
	F_SIGNAL,	/* int: signal number, 0 if exited */
	F_REASON,	/* str: short machine-readable reason */
	F_TEXT,		/* str: human-readable text / stderr tail */
	F_KEY,		/* str: sealed job key, base64 */
	F_WORKER,	/* str */
	F_POSITION,	/* int */
	F_INTERACTIVE,	/* bool */
	F_GRACE,	/* int: ms */
	F_BYTES_IN,	/* int */
	F_BYTES_OUT,	/* int */
	F_WHAT,		/* str: query subject / admin op */
	F_TARGET,	/* str: query/admin argument */
	F_DATA,		/* json: reply payload, kept as compact JSON text */
	F_STATE,	/* str: job state */
	F_INTERVAL,	/* int: a worker's heartbeat period, ms */
	F_ENCODERS,	/* strv: capabilities of a worker's ffmpeg */
	F_DECODERS,	/* strv */
	F_HWACCELS,	/* strv */
	F_FILTERS,	/* strv */
	F_DEVICES,	/* strv: device nodes */
	F_EPOCH,	/* int: the sender's MQTT connection epoch (1, 2, ...) */
	F_REPORTING,	/* strv: jobs whose report is still being re-sent */
	F_FALLBACK,	/* bool: the client has a local fallback (submit) */
	F_UNVERIFIED_CAPS, /* strmap: "encoder h264_nvenc" -> why it is not
			   offered (register) */
	F_DEVICE_SLOTS,	/* strmap: device type -> "N" jobs at once */
	F_PROBES,	/* json: the listing probes' output (register) */
	F_PROGRESS,	/* strmap: job id -> progress (progress.h) */
	F_SEQ,		/* int: a log batch's number; a query's log cursor */
	F_SKIPPED,	/* int: log bytes not shipped before this batch */
	F_DETACHED,	/* bool: a job nobody is attached to (submit) */
	F_STATES,	/* strv: query filter, job states */
	F_WINDOW,	/* int: query filter, ms back from now */
	F_CLIENT,	/* str: query filter, a client identity */
	F_CURSOR,	/* str: where the next page of a query starts */
	F_LOAD,		/* int: a worker host's 1-minute load average x 100 */
	F_CPUS,		/* int: its online CPUs */
	F__COUNT
};

#define FBIT(f)		(1ULL << (f))

struct msg {
	enum msg_type	 type;
	char		 id[ID_BUF];
	char		 from[NAME_MAX_LEN + 1];
	int64_t		 ts;
	uint64_t	 present;

	char		*session;
	char		*job;
	char		*ref;
	char		*version;
	char		*binary;
	struct strv	 args;
	char		*cwd;
	struct strmap	 env;
	struct strv	 paths;
	struct strmap	 path_health;
	struct strmap	 binaries;
	struct strv	 running;
	int64_t		 max_jobs;
	int64_t		 weight;
	char		*status;
	int64_t		 pid;
	int64_t		 code;
	int64_t		 signal;
	char		*reason;
	char		*text;
	char		*key;
	char		*worker;
	int64_t		 position;
	bool		 interactive;
	bool		 fallback;
	struct strmap	 unverified_caps;
	struct strmap	 device_slots;
	char		*probes;
	int64_t		 grace;
	int64_t		 bytes_in;
	int64_t		 bytes_out;
	char		*what;
	char		*target;
	char		*data;
	char		*state;
	int64_t		 interval;
	struct strv	 encoders;
	struct strv	 decoders;
	struct strv	 hwaccels;
	struct strv	 filters;
	struct strv	 devices;
	int64_t		 epoch;
	struct strv	 reporting;
	struct strmap	 progress;
	int64_t		 seq;
	int64_t		 skipped;
	bool		 detached;
	struct strv	 states;
	int64_t		 window;
	char		*client;
	char		*cursor;
	int64_t		 load;
	int64_t		 cpus;
};

/* One row per type. */
struct msg_type_info {
	const char	*name;
	int		 roles;		/* senders allowed */
	uint64_t	 required;	/* FBIT()s that must be present */
	uint64_t	 optional;	/* FBIT()s that may be present */
};

extern const struct msg_type_info msg_types[MT__COUNT];

const char	*msg_type_name(enum msg_type);
int		 msg_type_lookup(const char *);	/* -1 if unknown */

/* Why a message was dropped; index for metrics. */
enum msg_err {
	ME_OK,
	ME_SIZE,
	ME_FORMAT,	/* not JSON, missing/extra fields, wrong types */
	ME_MAC,
	ME_FROM,
	ME_ROLE,
	ME_AGE,
	ME_REPLAY,
	ME_UNKNOWN,	/* unknown sender identity */
	ME__COUNT
};
const char	*msg_err_name(enum msg_err);

/* Start a message: zero it, set type, a fresh id, ts = now, from. */
void	 msg_init(struct msg *, enum msg_type, const char *from);
/* Free the fields of a message (not the struct). */
void	 msg_clear(struct msg *);

/* Setters that copy and mark the field present. */
void	 msg_set_str(struct msg *, enum msg_field, const char *);
void	 msg_set_int(struct msg *, enum msg_field, int64_t);
void	 msg_set_bool(struct msg *, enum msg_field, bool);
/* Set F_EPOCH if m's type carries it (the sender's connection epoch). */
void	 msg_stamp_epoch(struct msg *, int64_t epoch);
void	 msg_set_strv(struct msg *, enum msg_field, const struct strv *);
void	 msg_set_strmap(struct msg *, enum msg_field, const struct strmap *);

/*
 * Encode and sign m for topic.  Fields not in the type's required|optional
 * set are not encoded.  Returns the payload (owned) and its length.
 */
char	*msg_encode(const struct msg *, const char *topic,
	    const uint8_t key[KEY_LEN], size_t *lenp);

/*
 * Split a payload into its JSON part and MAC, without verifying: gives the
 * caller the envelope's `from` to look the key up (uplink).  Returns
 * ME_OK or ME_SIZE / ME_FORMAT.
 */
enum msg_err msg_peek_from(const void *payload, size_t len, char *from,
	    size_t fromlen);
/* The same for the body's session (to address an answer to a message
 * that did not verify). */
enum msg_err msg_peek_session(const void *payload, size_t len,
	    char *session, size_t sessionlen);
/* The type an unverified message claims, or -1 (also for one larger than
 * MSG_PEEK_TYPE_MAX: not worth parsing). */
#define MSG_PEEK_TYPE_MAX	(64 * 1024)
int	 msg_peek_type(const void *payload, size_t len);

/*
 * Verify and decode payload received on topic with key.  Checks, in order:
 * size <= MSG_MAX_BYTES, framing, MAC, JSON envelope, `from` equals
 * expect_from (if not NULL), the sender role is allowed for the type
 * (role 0 skips this), |now - ts| <= window_ms (window_ms 0 skips; MT_GONE
 * is exempt), body fields present and well typed.  Returns ME_OK with m
 * filled (msg_clear it), or the reason with err filled and m cleared.
 * Integers must be integral and |n| <= 2^53 (exact as a JSON double).
 */
enum msg_err msg_decode(const char *topic, const void *payload, size_t len,
	    const uint8_t key[KEY_LEN], const char *expect_from, int role,
	    int64_t now, int64_t window_ms, struct msg *m, char *err,
	    size_t errlen);

/*
 * Job keys travel sealed (secretbox) under a key derived from the
 * recipient's identity key.  msg_seal_key returns owned base64;
 * msg_open_key returns 0 or -1.
 */
char	*msg_seal_key(const uint8_t idkey[KEY_LEN],
	    const uint8_t jobkey[KEY_LEN]);
int	 msg_open_key(const uint8_t idkey[KEY_LEN], const char *sealed,
	    uint8_t jobkey[KEY_LEN]);

#endif
