/*
 * Replay cache of signed control messages (design §3.2, §4.2): the ids
 * seen within the window, each with the answer that was sent for it, so
 * that a duplicate is not acted on again but gets the same answer.
 * Bounded: past REPLAY_MAX entries the oldest is evicted.
 *
 * An id is the message's own, or, where messages of many senders share
 * one cache (the coordinator's), the sender's identity and the id
 * (replay_key): one identity's ids never silence another's messages.
 */
#ifndef DFFMPEG_REPLAY_H
#define DFFMPEG_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"

#define REPLAY_KEY_MAX	(NAME_MAX_LEN + 1 + ID_LEN)

/* "from/id" into key (REPLAY_KEY_MAX + 1 bytes). */
void		 replay_key(char *key, const char *from, const char *id);

struct replay;
struct replay	*replay_new(int64_t window_ms);
void		 replay_free(struct replay *);
/* True if id was seen; topic, payload and len (each may be NULL) are set
 * to the stored answer, NULL / 0 when none was recorded.  The pointers stay
 * valid until the entry expires or its answer is replaced. */
bool		 replay_seen(struct replay *, const char *id, const char **topic,
		    const char **payload, size_t *len);
void		 replay_add(struct replay *, const char *id, int64_t now);
/* Remember the answer to id (copied); ignored if id was never added. */
void		 replay_answer(struct replay *, const char *id, const char *topic,
		    const char *payload, size_t len);
void		 replay_expire(struct replay *, int64_t now);
size_t		 replay_count(const struct replay *);

#endif
