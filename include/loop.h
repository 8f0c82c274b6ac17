/*
 * The one libevent loop of a process: created once, with libevent's own
 * logging routed through log.c and SIGPIPE ignored (a closed pipe is an
 * EPIPE from write, handled where it happens).
 */
#ifndef DFFMPEG_LOOP_H
#define DFFMPEG_LOOP_H

#include <stdbool.h>

struct event_base;
struct event;

struct event_base	*loop_new(void);
/* One whose timers wake exactly once, on time (a timerfd), for a process
 * that does little but wait for a short timer. */
struct event_base	*loop_new_precise(void);
/* A persistent signal event; returns it so it can be freed. */
struct event		*loop_signal(struct event_base *, int sig,
			    void (*cb)(int, short, void *), void *arg);
/* A one-shot or persistent timer, not yet armed. */
struct event		*loop_timer(struct event_base *, bool persist,
			    void (*cb)(int, short, void *), void *arg);
/* Arm a timer for ms milliseconds. */
void			 loop_arm(struct event *, int ms);
/* Tune malloc for a process that moves frames of FRAME_MAX_PAYLOAD bytes:
 * keep freed memory instead of returning it (and asking for it again) on
 * every frame. */
void			 loop_tune_malloc(void);

#endif
