/*
 * Replay cache of signed control messages (design §3.2, §4.2): the ids
 * seen within the window, each with the answer that was sent for it, so
 * that a duplicate is not acted on again but gets the same answer.
 * Bounded: past REPLAY_MAX entries the oldest is evicted.
 */
#ifndef DFFMPEG_REPLAY_H
#define DFFMPEG_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
