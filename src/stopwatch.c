/*
 * The proxy's stop watcher.  See stopwatch.h.
 *
 * The child keeps the proxy's memory (configuration, job key) but none of
 * its descriptors, and never touches the proxy's loop or broker
 * connection: it builds a loop and, on the first stop, a connection of
 * its own.  Its only way out is _exit, so nothing of the parent's state
 * is freed twice.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "frame.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "proc.h"
#include "stopwatch.h"
#include "stream.h"
#include "util.h"

#define SHUTDOWN_MS	500

struct watch {
	struct event_base	*base;
	struct mqtt		*mqtt;
	struct event		*ev_pipe;
	const struct mqtt_conf	*conf;
	const char		*name;
	const uint8_t		*key;
	const char		*job;
	char			 topic[256];
	pid_t			 parent;
	int			 statfd;
	bool			 started;	/* the connection */
	bool			 stopped;	/* the proxy, as last seen */
	bool			 told;		/* the worker knows it */
	int64_t			 told_at;
	uint64_t		 counter;
};

/* The state letter of /proc/PID/stat: 'T' stopped, 't' traced, ... */
static int
watch_state(struct watch *w)
{
	char		 buf[512];
	const char	*p;
	ssize_t		 n;

	n = pread(w->statfd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* The command name is in parentheses and may hold anything. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ' || p[2] == '\0')
		return -1;
	return (unsigned char)p[2];
}

static void
watch_send(struct watch *w)
{
	uint8_t	buf[FRAME_OVERHEAD + FRAME_CONTROL_LEN];
	size_t	len;

	len = stream_seal_pause(w->key, w->job, w->stopped, ++w->counter,
	    buf, sizeof(buf));
	if (len == 0 || mqtt_publish(w->mqtt, w->topic, buf, len) == -1)
		return;		/* not connected yet: on a later poll */
	if (!w->told)
		log_info("job %s: the proxy %s; %s the remote process",
		    w->job, w->stopped ? "is stopped" : "runs again",
		    w->stopped ? "pausing" : "resuming");
	w->told = true;
	w->told_at = mono_ms();
}

/* Tell the worker what it does not know yet, or repeat a stop. */
static void
watch_act(struct watch *w)
{
	if (w->mqtt != NULL && mqtt_is_connected(w->mqtt) && (!w->told ||
	    (w->stopped && mono_ms() - w->told_at >= STOPWATCH_REPEAT_MS)))
		watch_send(w);
}

static void
watch_connected(void *arg)
{
	struct watch	*w = arg;

	w->told = false;	/* whatever was sent may be lost: again */
	watch_act(w);
}

static void
watch_ignore(void *arg)
{
	(void)arg;
}

static void
watch_message(void *arg, const char *topic, const uint8_t *payload,
    size_t len)
{
	(void)arg;
	(void)topic;
	(void)payload;
	(void)len;
}

static const struct mqtt_ops watch_mqtt_ops = {
	watch_connected,
	watch_ignore,
	watch_message,
};

static void
watch_poll(evutil_socket_t fd, short what, void *arg)
{
	struct watch	*w = arg;
	char		 err[256];
	int		 st;
	bool		 stopped;

	(void)fd;
	(void)what;
	if ((st = watch_state(w)) == -1 || getppid() != w->parent) {
		event_base_loopbreak(w->base);
		return;
	}
	stopped = st == 'T';
	if (stopped != w->stopped) {
		w->stopped = stopped;
		/* A stop so short that the worker never heard of it needs
		 * no resume. */
		w->told = !stopped && !w->started;
	}
	if (w->stopped && !w->started) {
		/* The connection (and its timer) only from the first stop:
		 * until then the watcher costs one read every poll. */
		w->started = true;
		if ((w->mqtt = mqtt_new(w->base, w->conf, w->name,
		    &watch_mqtt_ops, w, err, sizeof(err))) == NULL)
			log_warnx("job %s: stop watcher: %s", w->job, err);
		else
			mqtt_start(w->mqtt);
	}
	watch_act(w);
}

static void
watch_done(void *arg)
{
	struct watch	*w = arg;

	event_base_loopbreak(w->base);
}

/* The proxy closed the pipe (or died): leave. */
static void
watch_pipe(evutil_socket_t fd, short what, void *arg)
{
	struct watch	*w = arg;
	char		 c;

	(void)what;
	if (read(fd, &c, 1) == -1 && (errno == EINTR || errno == EAGAIN))
		return;
	event_del(w->ev_pipe);		/* at EOF for good */
	if (w->mqtt != NULL)
		mqtt_shutdown(w->mqtt, SHUTDOWN_MS, watch_done, w);
	else
		event_base_loopbreak(w->base);
}

static void __attribute__((noreturn))
watch_main(struct watch *w, int rfd)
{
	char		 path[64];
	struct event	*ev_poll;
	int		 null;

	/* Out of the caller's process group: a stop of the whole group
	 * (Ctrl-Z, kill -STOP -PGID) must leave the watcher running. */
	setpgid(0, 0);
	if (proc_child_init(w->parent, rfd) == -1)
		_exit(0);
	/* The caller's descriptors 0-2 must not stay open here. */
	if ((null = open("/dev/null", O_RDWR)) == -1 || dup2(null, 0) == -1 ||
	    dup2(null, 1) == -1 || dup2(null, 2) == -1)
		_exit(0);
	if (null > 2 && null != rfd)
		close(null);
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)w->parent);
	if ((w->statfd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		log_warn("job %s: stop watcher: %s", w->job, path);
		_exit(0);
	}
	w->base = loop_new_precise();
	w->ev_pipe = event_new(w->base, rfd, EV_READ | EV_PERSIST, watch_pipe,
	    w);
	event_add(w->ev_pipe, NULL);
	ev_poll = loop_timer(w->base, true, watch_poll, w);
	loop_arm(ev_poll, STOPWATCH_POLL_MS);
	event_base_dispatch(w->base);
	_exit(0);
}

int
stopwatch_start(struct stopwatch *sw, const struct mqtt_conf *conf,
    const char *name, const char *prefix, const uint8_t key[KEY_LEN],
    const char *job)
{
	struct watch	w;
	sigset_t	all, old;
	int		p[2];
	pid_t		pid;

	memset(&w, 0, sizeof(w));
	w.conf = conf;
	w.name = name;
	w.key = key;
	w.job = job;
	w.parent = getpid();
	w.told = true;
	if (topic_fmt(w.topic, sizeof(w.topic), prefix, "job/%s/in",
	    job) == -1) {
		log_warnx("job %s: stop watcher: the topic is too long", job);
		return -1;
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		log_warn("stop watcher: pipe");
		return -1;
	}
	/* Blocked until the child has reset the handlers it inherits (they
	 * would write into the loop's signal pipe, shared with us). */
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	if ((pid = fork()) == -1) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		log_warn("stop watcher: fork");
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0)
		watch_main(&w, p[0]);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(p[0]);
	sw->pid = pid;
	sw->fd = p[1];
	log_debug("job %s: stop watcher %ld", job, (long)pid);
	return 0;
}

void
stopwatch_end(struct stopwatch *sw)
{
	if (sw->pid <= 0)
		return;
	/* Its connection has no will and nothing in flight worth a clean
	 * goodbye: end it at once rather than make the caller wait. */
	close(sw->fd);
	kill(sw->pid, SIGKILL);
	while (waitpid(sw->pid, NULL, 0) == -1 && errno == EINTR)
		;
	sw->pid = 0;
	sw->fd = -1;
}
