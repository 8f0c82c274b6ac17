/*
 * Named limits and defaults shared by every module.  Anything that comes
 * from the network or a file is checked against one of these before memory
 * is allocated for it.
 */
#ifndef DFFMPEG_BOUNDS_H
#define DFFMPEG_BOUNDS_H

#define DFFMPEG_VERSION		"0.1.0"

#define KEY_LEN			32	/* identity, job and master keys */
#define NAME_MAX_LEN		64	/* identity names, worker ids, variables */
#define ID_LEN			22	/* 128-bit id, base64url, no padding */
#define ID_BUF			(ID_LEN + 1)
#define SESSION_BUF		ID_BUF
#define PATH_BUF		4096

#define DEVSLOT_TYPE_MAX	15	/* a device type's name */
#define DEVSLOTS_MAX		8	/* device types with slots */
#define MSG_MAX_BYTES		(512 * 1024)	/* one control message */
#define MSG_MAX_ARGS		4096		/* elements of a job's argv */
#define MSG_MAX_MAP		1024		/* entries of a JSON map */
#define MSG_MAX_STR		(256 * 1024)	/* one string field */
#define STDERR_TAIL_MAX		(64 * 1024)

#define FRAME_MAX_PAYLOAD	(256 * 1024)	/* plain bytes in one frame */
#define PIPE_SIZE		(1024 * 1024)	/* a job's stdout/stderr pipes */
#define STREAM_WINDOW_DEFAULT	(4 * 1024 * 1024)

/* Job logs (joblog.h, coord_logs.c) and the pages of queries. */
#define JOBLOG_BATCH_MAX	(32 * 1024)	/* one `log` batch */
#define JOBLOG_REST_MAX		STDERR_TAIL_MAX	/* the rest, in `finished` */
#define LOG_BATCHES_MAX		4096		/* kept per job */
#define LOG_PAGE_BYTES		(192 * 1024)	/* of a `logs` page */
#define JOBS_PAGE_BYTES		(256 * 1024)	/* of a `jobs` page */
#define WORKERS_PAGE_BYTES	(256 * 1024)	/* of a `workers` page */
#define DOC_BYTES_MAX		(400 * 1024)	/* of any other answer */

#define REPLAY_WINDOW_MS	30000
#define RETRY_INITIAL_MS	500
#define RETRY_MAX_MS		5000

#define TOPIC_PREFIX_DEFAULT	"dffmpeg"
#define HEARTBEAT_DEFAULT	5	/* seconds */

#define COORDINATOR_NAME	"coordinator"	/* the `from` of downlink messages */
#define ADMIN_NAME		"admin"		/* the identity of `dffmpeg admin`
						   operations over MQTT */

#endif
