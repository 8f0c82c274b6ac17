/*
 * Own descriptors for inherited ones.  See ownfd.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ownfd.h"

enum ownfd_kind
ownfd_open(struct ownfd *o, int orig, bool for_write)
{
	struct stat	st;
	char		path[64];
	int		fd;

	o->fd = o->orig = orig;
	o->kind = OWNFD_NONE;
	o->pollable = false;
	if (fstat(orig, &st) == -1)
		return o->kind;
	if (S_ISFIFO(st.st_mode)) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", orig);
		fd = open(path, (for_write ? O_WRONLY : O_RDONLY) |
		    O_NONBLOCK | O_CLOEXEC);
		if (fd != -1) {
			o->fd = fd;
			o->kind = OWNFD_REOPENED;
			o->pollable = true;
			return o->kind;
		}
		/* No /proc, or a pipe whose reader is gone (ENXIO): use it
		 * as it is; a write then fails as it should. */
		o->kind = OWNFD_DIRECT;
		return o->kind;
	}
	if (S_ISSOCK(st.st_mode)) {
		o->kind = OWNFD_SOCKET;
		o->pollable = true;
		return o->kind;
	}
	o->kind = OWNFD_DIRECT;
	o->pollable = isatty(orig) != 0;
	return o->kind;
}

ssize_t
ownfd_read(const struct ownfd *o, void *buf, size_t len)
{
	ssize_t	n;

	if (o->kind != OWNFD_SOCKET)
		return read(o->fd, buf, len);
	n = recv(o->fd, buf, len, MSG_DONTWAIT);
	if (n == -1 && errno == ENOTSOCK)
		return read(o->fd, buf, len);
	return n;
}

ssize_t
ownfd_write(const struct ownfd *o, const void *buf, size_t len)
{
	if (o->kind != OWNFD_SOCKET)
		return write(o->fd, buf, len);
	/* No SIGPIPE either way: the caller sees EPIPE, as from a pipe. */
	return send(o->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void
ownfd_close(struct ownfd *o)
{
	if (o->kind == OWNFD_REOPENED && o->fd != o->orig)
		close(o->fd);
	o->fd = o->orig;
	o->kind = OWNFD_NONE;
}

const char *
ownfd_kind_name(enum ownfd_kind k)
{
	switch (k) {
	case OWNFD_REOPENED:
		return "own description of the pipe";
	case OWNFD_SOCKET:
		return "socket, per-call non-blocking";
	case OWNFD_DIRECT:
		return "as inherited";
	default:
		return "closed";
	}
}
