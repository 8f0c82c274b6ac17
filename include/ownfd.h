/*
 * Our own way to a descriptor the process inherited (the proxy's stdin,
 * stdout and stderr).  Their open file descriptions are shared with the
 * caller and its other children, so their flags are not ours to change:
 * setting O_NONBLOCK on a shared pipe makes the caller's own writes fail
 * with EAGAIN, and stays set after we die.  Instead:
 *
 *   a pipe or FIFO  is opened afresh through /proc/self/fd/N, which gives
 *                   a new open file description of the same pipe, with
 *                   O_NONBLOCK of its own;
 *   a socket        is read and written with MSG_DONTWAIT, per call;
 *   anything else   (a terminal, a file, /dev/null) is used directly, as
 *                   it is: such descriptors do not block for long.
 *
 * The inherited descriptor is never changed or closed.
 */
#ifndef DFFMPEG_OWNFD_H
#define DFFMPEG_OWNFD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum ownfd_kind {
	OWNFD_NONE,		/* closed or unusable */
	OWNFD_REOPENED,		/* our own description of a pipe or FIFO */
	OWNFD_SOCKET,		/* the inherited socket, MSG_DONTWAIT */
	OWNFD_DIRECT,		/* the inherited descriptor, as it is */
};

struct ownfd {
	int		 fd;	/* what to read, write and poll */
	int		 orig;	/* the inherited descriptor */
	enum ownfd_kind	 kind;
	bool		 pollable;	/* may be watched by the loop */
};

/* Find our way to orig, for reading or for writing.  Returns the kind
 * (OWNFD_NONE if orig is not open). */
enum ownfd_kind	 ownfd_open(struct ownfd *, int orig, bool for_write);
ssize_t		 ownfd_read(const struct ownfd *, void *, size_t);
ssize_t		 ownfd_write(const struct ownfd *, const void *, size_t);
/* Close what we opened (never the inherited descriptor). */
void		 ownfd_close(struct ownfd *);
const char	*ownfd_kind_name(enum ownfd_kind);

#endif
