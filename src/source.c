/*
 * A byte source on an inherited descriptor.  See source.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "source.h"
#include "xmalloc.h"

static void
source__finish(struct source *s)
{
	if (s->done)
		return;
	s->done = true;
	if (s->ev != NULL) {
		event_free(s->ev);
		s->ev = NULL;
	}
	ownfd_close(&s->own);
	s->ops->eof(s->arg);
}

static void
source__read(struct source *s)
{
	ssize_t	n;

	if (s->done)
		return;
	if (s->ops->full(s->arg)) {
		if (s->poll)
			event_del(s->ev);
		return;		/* source_resume starts again */
	}
	n = ownfd_read(&s->own, s->buf, s->chunk);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return;
	if (n <= 0) {
		if (n == -1)
			log_debug("input: %s", strerror(errno));
		source__finish(s);
		return;
	}
	s->ops->data(s->arg, s->buf, (size_t)n);
	if (!s->poll && !s->done)
		event_active(s->ev, EV_TIMEOUT, 0);
}

static void
source__on_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	source__read(arg);
}

void
source_start(struct source *s, struct event_base *base, int fd,
    size_t chunk, const struct source_ops *ops, void *arg)
{
	memset(s, 0, sizeof(*s));
	s->base = base;
	s->ops = ops;
	s->arg = arg;
	s->chunk = chunk;
	s->buf = xmalloc(chunk);
	if (ownfd_open(&s->own, fd, false) == OWNFD_NONE) {
		source__finish(s);	/* closed: EOF at once */
		return;
	}
	log_debug("input: %s", ownfd_kind_name(s->own.kind));
	if (s->own.pollable) {
		s->ev = event_new(base, s->own.fd, EV_READ | EV_PERSIST,
		    source__on_event, s);
		if (event_add(s->ev, NULL) == 0) {
			s->poll = true;
			return;
		}
		event_free(s->ev);
	}
	s->ev = event_new(base, -1, 0, source__on_event, s);
	s->poll = false;
	event_active(s->ev, EV_TIMEOUT, 0);
}

void
source_resume(struct source *s)
{
	if (s->done || s->ev == NULL)
		return;
	if (s->poll)
		event_add(s->ev, NULL);
	else
		event_active(s->ev, EV_TIMEOUT, 0);
}

void
source_free(struct source *s)
{
	if (s->ev != NULL)
		event_free(s->ev);
	s->ev = NULL;
	ownfd_close(&s->own);
	free(s->buf);
	s->buf = NULL;
}
