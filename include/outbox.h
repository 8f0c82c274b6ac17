/*
 * Control messages that must be acknowledged by the application (design
 * §3.2): each is published now and again, with the same id and bytes,
 * until outbox_done() is called for its id (the answer arrived) or it is
 * dropped.  After a reconnect everything pending goes out at once.
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

struct outbox	*outbox_new(struct event_base *, struct mqtt *);
void		 outbox_free(struct outbox *);
/* Take ownership of payload and publish it until outbox_done(id). */
void		 outbox_add(struct outbox *, const char *id, const char *topic,
		    char *payload, size_t len);
/* The answer for id arrived: stop sending it.  Returns true if it was
 * pending. */
bool		 outbox_done(struct outbox *, const char *id);
/* Publish everything pending now (after a reconnect). */
void		 outbox_flush(struct outbox *);
size_t		 outbox_pending(const struct outbox *);

#endif
