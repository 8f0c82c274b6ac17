/*
 * Control messages that must be acknowledged by the application (design
 * §3.2): each is published now and again, with the same id, until
 * outbox_done() is called for its id (the answer arrived).  Every copy is
 * signed afresh with the current time, so a message that waits out a long
 * coordinator outage is not refused as too old when it finally arrives;
 * the unchanged id keeps the receiver from acting on it twice.  After a
 * reconnect everything pending goes out at once.
 */
#ifndef DFFMPEG_OUTBOX_H
#define DFFMPEG_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"

struct event_base;
struct mqtt;
struct outbox;

struct msg;

/* Messages are signed with key (copied; wiped by outbox_free). */
struct outbox	*outbox_new(struct event_base *, struct mqtt *,
		    const uint8_t key[KEY_LEN]);
void		 outbox_free(struct outbox *);
/* Take over the fields of m (it is left empty) and publish it on topic
 * until outbox_done(m->id). */
void		 outbox_add(struct outbox *, const char *topic, struct msg *);
/* The answer for id arrived: stop sending it.  Returns true if it was
 * pending. */
bool		 outbox_done(struct outbox *, const char *id);
/* Publish everything pending now (after a reconnect). */
void		 outbox_flush(struct outbox *);
size_t		 outbox_pending(const struct outbox *);
/* Add to out (once each) the jobs that pending messages are about: the
 * reports a worker is still re-sending. */
struct strv;
void		 outbox_pending_jobs(const struct outbox *, struct strv *out);

#endif
