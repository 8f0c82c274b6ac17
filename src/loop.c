/*
 * The event loop shared by every applet.  See loop.h.
 */
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>

#include <event2/event.h>

#include "frame.h"
#include "log.h"
#include "loop.h"

static void
loop__log(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_WARN)
		log_warnx("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

static void
loop__fatal(int err)
{
	fatalx("libevent fatal error %d", err);
}

static struct event_base *
loop__new(bool precise)
{
	struct event_base	*base = NULL;
	struct event_config	*cfg;

	event_set_log_callback(loop__log);
	event_set_fatal_callback(loop__fatal);
	signal(SIGPIPE, SIG_IGN);
	if ((cfg = event_config_new()) != NULL) {
		if (precise)
			event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
		base = event_base_new_with_config(cfg);
		event_config_free(cfg);
	}
	if (base == NULL)
		fatalx("cannot create the event loop");
	return base;
}

struct event_base *
loop_new(void)
{
	return loop__new(false);
}

struct event_base *
loop_new_precise(void)
{
	return loop__new(true);
}

struct event *
loop_signal(struct event_base *base, int sig, void (*cb)(int, short, void *),
    void *arg)
{
	struct event	*ev = evsignal_new(base, sig, cb, arg);

	event_add(ev, NULL);
	return ev;
}

struct event *
loop_timer(struct event_base *base, bool persist,
    void (*cb)(int, short, void *), void *arg)
{
	return event_new(base, -1, persist ? EV_PERSIST : 0, cb, arg);
}

void
loop_arm(struct event *ev, int ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };

	event_add(ev, &tv);
}

void
loop_tune_malloc(void)
{
	mallopt(M_MMAP_THRESHOLD, 2 * FRAME_MAX_SEALED);
	mallopt(M_TRIM_THRESHOLD, 8 * FRAME_MAX_SEALED);
}

