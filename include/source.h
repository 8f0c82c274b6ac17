/*
 * A byte source on a descriptor the process was given (the proxy's
 * stdin), the counterpart of sink.h: read as soon as data is there (no
 * line buffering) through our own way to the descriptor (ownfd.h), on the
 * loop where the descriptor can be polled, chunk by chunk otherwise
 * (regular files, /dev/null are always readable).  The owner can hold the
 * reading back (ops->full) and resume it; a closed descriptor gives EOF at
 * once.
 */
#ifndef DFFMPEG_SOURCE_H
#define DFFMPEG_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ownfd.h"

struct event;
struct event_base;

struct source_ops {
	void	(*data)(void *arg, const uint8_t *, size_t);
	/* End of input (or a read error): called once, nothing follows. */
	void	(*eof)(void *arg);
	/* True while the owner cannot take more: reading pauses until
	 * source_resume. */
	bool	(*full)(void *arg);
};

struct source {
	struct event_base	*base;
	struct ownfd		 own;
	struct event		*ev;
	bool			 poll;
	bool			 done;
	uint8_t			*buf;
	size_t			 chunk;
	const struct source_ops	*ops;
	void			*arg;
};

/* Start reading fd in chunks of at most chunk bytes. */
void	 source_start(struct source *, struct event_base *, int fd,
	    size_t chunk, const struct source_ops *, void *arg);
/* Read again after ops->full said no. */
void	 source_resume(struct source *);
/* Stop reading and free; the descriptor stays open and as it was. */
void	 source_free(struct source *);

#endif
