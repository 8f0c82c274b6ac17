/*
 * The command-line applets' side of the cluster (dffmpeg client and
 * dffmpeg admin): one connection to the broker as an identity, and
 * requests to the coordinator answered on the process's own downlink.
 *
 * The calls look synchronous: each runs the libevent loop until its
 * answer arrives, the time limit passes, or SIGINT/SIGTERM (Ctrl-C)
 * interrupts it, so a command reads as the sequence of requests it makes
 * (pages of a list, a log followed until the job ends).  Requests are
 * re-sent until answered, across reconnects.  When nothing answers, the
 * error names the cause: the broker unreachable or refusing us, the
 * coordinator holding another key for the identity, or no coordinator.
 *
 * Return values: 0 answered, -1 failed (the reason printed on stderr as
 * "<prog>: ...", unless quiet is set: a caller that keeps trying says
 * so itself), -2 interrupted by a signal (nothing printed).
 */
#ifndef DFFMPEG_CLI_H
#define DFFMPEG_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "bounds.h"
#include "msg.h"
#include "node.h"

#define CLI_TIMEOUT_MS	10000	/* for each answer */

struct cJSON;
struct event;
struct event_base;
struct mqtt_conf;

/* The parts of an answer a command reads. */
struct cli_reply {
	enum msg_type	 type;
	bool		 has_code;
	int64_t		 code;
	int64_t		 position;
	char		*text;
	char		*state;
	char		*worker;
	char		*reason;
	struct cJSON	*doc;		/* the data, parsed; NULL if none */
};

struct cli {
	const char		*prog;	/* "dffmpeg client": error prefix */
	struct event_base	*base;
	struct node		 node;
	struct event		*ev_timeout;
	struct event		*ev_wake;
	struct event		*ev_sig[2];
	char			 broker[512];
	bool			 interrupted;
	bool			 closed;
	bool			 ready;		/* connected and subscribed */
	bool			 quiet;		/* silence is the caller's to
						   report */
	bool			 timed_out;
	/* The answer being waited for: by ref, or by job. */
	char			 want_ref[ID_BUF];
	char			 want_job[ID_BUF];
	bool			 got;
	struct cli_reply	 reply;
};

/* Connect as name with key (not waiting for the connection yet).
 * Returns 0 or -1 with err. */
int	 cli_open(struct cli *, const char *prog, const struct mqtt_conf *,
	    const char *name, const uint8_t key[KEY_LEN], char *err,
	    size_t errlen);
void	 cli_close(struct cli *);
/* Send req (cleared) until its answer (ref == req's id) arrives. */
int	 cli_request(struct cli *, struct msg *req, struct cli_reply *);
/* A `query`: req is a query message; *doc is the answer's document
 * (owned) when its code is 0; a non-zero code prints its text and
 * returns -1. */
int	 cli_query(struct cli *, struct msg *req, struct cJSON **doc);
/* A `submit` (answered by job, not by ref: accepted, queued or refused). */
int	 cli_submit(struct cli *, struct msg *req, struct cli_reply *);
/* Let the loop run for ms (the connection stays alive); -2 if
 * interrupted. */
int	 cli_sleep(struct cli *, int ms);
void	 cli_reply_free(struct cli_reply *);
void	 cli_err(const struct cli *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#endif
