/*
 * A byte sink on a descriptor the process was given (the proxy's stdout
 * and stderr): data is written as it comes, straight from the caller's
 * buffer when nothing is queued, and what the descriptor does not take now
 * waits for a write event, so that a slow reader never stalls the loop.
 * A reader that went away (EPIPE or another write error) makes the sink
 * broken: it discards from then on and tells its owner once, so that the
 * remote process can meet the same closed pipe a local one would.
 *
 * The descriptor itself is never changed: the sink writes through its own
 * way to it (ownfd.h), non-blocking for pipes and sockets.
 */
#ifndef DFFMPEG_SINK_H
#define DFFMPEG_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ownfd.h"
#include "util.h"

struct event;
struct event_base;

struct sink_ops {
	/* The reader is gone (once); what follows is discarded. */
	void	(*broken)(void *arg, int fd, int err);
	/* Queued bytes were written (the queue may now be empty). */
	void	(*drained)(void *arg);
};

struct sink {
	struct event_base	*base;
	int			 fd;		/* the inherited one */
	struct ownfd		 own;		/* how we write to it */
	struct buf		 b;
	struct event		*ev;
	bool			 broken;
	uint8_t			 last;		/* last byte written, 0: none */
	const struct sink_ops	*ops;
	void			*arg;
};

void	 sink_init(struct sink *, struct event_base *, int fd,
	    const struct sink_ops *, void *arg);
/* Write data, or queue what cannot be written now. */
void	 sink_write(struct sink *, const uint8_t *, size_t);
/* Bytes waiting for the descriptor. */
size_t	 sink_queued(const struct sink *);
/* Free; the inherited descriptor stays open and as it was. */
void	 sink_free(struct sink *);

#endif
