/*
 * A byte sink on an inherited descriptor.  See sink.h.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "sink.h"

static void	sink__on_writable(evutil_socket_t, short, void *);

void
sink_init(struct sink *s, struct event_base *base, int fd,
    const struct sink_ops *ops, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->base = base;
	s->fd = fd;
	s->ops = ops;
	s->arg = arg;
	ownfd_open(&s->own, fd, true);
}

void
sink_free(struct sink *s)
{
	if (s->ev != NULL)
		event_free(s->ev);
	s->ev = NULL;
	buf_free(&s->b);
	ownfd_close(&s->own);
}

size_t
sink_queued(const struct sink *s)
{
	return buf_used(&s->b);
}

/* Write what can be written now; the rest waits for the write event. */
static void
sink__flush(struct sink *s)
{
	ssize_t	n;

	while (buf_used(&s->b) > 0) {
		n = ownfd_write(&s->own, buf_head(&s->b), buf_used(&s->b));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == -1) {
			int	err = errno;

			s->broken = true;
			buf_drain(&s->b, buf_used(&s->b));
			if (s->ops->broken != NULL)
				s->ops->broken(s->arg, s->fd, err);
			break;
		}
		s->last = buf_head(&s->b)[n - 1];
		buf_drain(&s->b, (size_t)n);
	}
}

static void
sink__arm(struct sink *s)
{
	if (buf_used(&s->b) == 0)
		return;
	if (s->ev == NULL)
		s->ev = event_new(s->base, s->own.fd, EV_WRITE,
		    sink__on_writable, s);
	event_add(s->ev, NULL);
}

static void
sink__on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct sink	*s = arg;

	(void)fd;
	(void)what;
	sink__flush(s);
	sink__arm(s);
	if (s->ops->drained != NULL)
		s->ops->drained(s->arg);
}

void
sink_write(struct sink *s, const uint8_t *data, size_t len)
{
	ssize_t	n;

	if (s->broken)
		return;
	/* Nothing queued: write straight from the caller, queue the rest. */
	while (buf_used(&s->b) == 0 && len > 0) {
		n = ownfd_write(&s->own, data, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;		/* EAGAIN or an error: see flush */
		s->last = data[n - 1];
		data += n;
		len -= (size_t)n;
	}
	buf_add(&s->b, data, len);
	if (len > 0)
		sink__flush(s);
	sink__arm(s);
}
