/*
 * Background tasks in forked children.  See bgtask.h.
 *
 * A task is finished (done called) by whichever comes first: the child
 * exited with the pipe at EOF, too much output, a read error, or the
 * deadline.  It is forgotten only once its child is reaped; until then it
 * stays in the pool with its key busy.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "bgtask.h"
#include "loop.h"
#include "proc.h"
#include "util.h"
#include "xmalloc.h"

#define READ_CHUNK	65536

struct bgtask {
	struct bgtask_pool	*pool;
	char			 key[BGTASK_KEY_MAX];
	pid_t			 pid;
	int			 fd;		/* read end; -1 when closed */
	struct event		*ev_read;
	struct event		*ev_deadline;
	int			 deadline_ms;
	char			*data;		/* NUL-terminated when len > 0 */
	size_t			 len, cap;
	bool			 eof;
	bool			 exited;
	int			 status;
	bool			 finished;	/* done has been called */
	bgtask_done_fn		 done;
	void			*arg;
};

struct bgtask_pool {
	struct event_base	*base;
	struct bgtask		**v;
	size_t			  n;
};

struct bgtask_pool *
bgtask_pool_new(struct event_base *base)
{
	struct bgtask_pool	*p = xcalloc(1, sizeof(*p));

	p->base = base;
	return p;
}

static void
task_close_pipe(struct bgtask *t)
{
	if (t->ev_read != NULL) {
		event_free(t->ev_read);
		t->ev_read = NULL;
	}
	if (t->fd != -1) {
		close(t->fd);
		t->fd = -1;
	}
}

static void
task_free(struct bgtask *t)
{
	task_close_pipe(t);
	if (t->ev_deadline != NULL)
		event_free(t->ev_deadline);
	free(t->data);
	free(t);
}

static void
task_remove(struct bgtask *t)
{
	struct bgtask_pool	*p = t->pool;
	size_t			 i;

	for (i = 0; i < p->n; i++) {
		if (p->v[i] == t) {
			p->v[i] = p->v[--p->n];
			return;
		}
	}
}

void
bgtask_pool_free(struct bgtask_pool *p)
{
	size_t	i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++) {
		if (!p->v[i]->exited) {
			kill(p->v[i]->pid, SIGKILL);
			proc_unwatch(p->v[i]->pid);
		}
		task_free(p->v[i]);
	}
	free(p->v);
	free(p);
}

void
bgtask_cancel(struct bgtask_pool *p, const char *key)
{
	struct bgtask	*t;
	size_t		 i;

	for (i = 0; i < p->n; i++) {
		t = p->v[i];
		if (t->finished || strcmp(t->key, key) != 0)
			continue;
		t->finished = true;	/* done is not called */
		event_del(t->ev_deadline);
		task_close_pipe(t);
		if (t->exited) {
			task_remove(t);
			task_free(t);
		} else
			kill(t->pid, SIGKILL);	/* freed once reaped */
		return;
	}
}

bool
bgtask_busy(const struct bgtask_pool *p, const char *key)
{
	size_t	i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->v[i]->key, key) == 0)
			return true;
	return false;
}

size_t
bgtask_count(const struct bgtask_pool *p)
{
	return p->n;
}

/*
 * Call done once.  A task whose child has been reaped leaves the pool
 * before the call (so that done may start the next task of the same key);
 * one whose child still lives stays, killed, until proc_watch reaps it.
 */
static void
task_finish(struct bgtask *t, enum bgtask_status st, const char *why)
{
	const char	*out = why;
	size_t		 len = strlen(why);

	t->finished = true;
	event_del(t->ev_deadline);
	task_close_pipe(t);
	if (st == BGTASK_OK || st == BGTASK_FAILED) {
		out = t->data != NULL ? t->data : "";
		len = t->len;
	}
	if (t->exited)
		task_remove(t);
	else
		kill(t->pid, SIGKILL);
	t->done(t->arg, st, out, len);
	if (t->exited)
		task_free(t);
}

/* The child has exited and its pipe is at EOF: judge by the exit. */
static void
task_check_end(struct bgtask *t)
{
	char	why[64];

	if (t->finished || !t->exited || !t->eof)
		return;
	if (WIFEXITED(t->status) && WEXITSTATUS(t->status) == 0) {
		task_finish(t, BGTASK_OK, "");
		return;
	}
	if (WIFEXITED(t->status) && WEXITSTATUS(t->status) == 1) {
		task_finish(t, BGTASK_FAILED, "");
		return;
	}
	if (WIFSIGNALED(t->status))
		snprintf(why, sizeof(why), "the task was killed by signal %d",
		    WTERMSIG(t->status));
	else
		snprintf(why, sizeof(why), "the task exited with status %d",
		    WEXITSTATUS(t->status));
	task_finish(t, BGTASK_ERROR, why);
}

static void
task_on_read(evutil_socket_t fd, short what, void *arg)
{
	struct bgtask	*t = arg;
	char		 chunk[READ_CHUNK], why[128];
	ssize_t		 n;

	(void)what;
	n = read(fd, chunk, sizeof(chunk));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1) {
		snprintf(why, sizeof(why), "reading the task's result: %s",
		    strerror(errno));
		task_finish(t, BGTASK_ERROR, why);
		return;
	}
	if (n == 0) {
		t->eof = true;
		task_close_pipe(t);
		task_check_end(t);
		return;
	}
	/* Bound first, then grow (by doubling, up to the bound). */
	if ((size_t)n > BGTASK_OUTPUT_MAX - t->len) {
		snprintf(why, sizeof(why), "the task wrote more than %d bytes",
		    BGTASK_OUTPUT_MAX);
		task_finish(t, BGTASK_ERROR, why);
		return;
	}
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t	cap = t->cap > 0 ? t->cap : READ_CHUNK;

		while (cap < t->len + (size_t)n + 1)
			cap *= 2;
		if (cap > BGTASK_OUTPUT_MAX + 1)
			cap = BGTASK_OUTPUT_MAX + 1;
		t->data = xrealloc(t->data, cap);
		t->cap = cap;
	}
	memcpy(t->data + t->len, chunk, (size_t)n);
	t->len += (size_t)n;
	t->data[t->len] = '\0';
}

static void
task_on_exit(pid_t pid, int status, void *arg)
{
	struct bgtask	*t = arg;

	(void)pid;
	t->exited = true;
	t->status = status;
	if (t->finished) {
		/* Killed at its deadline (or for its output), reaped now. */
		task_remove(t);
		task_free(t);
		return;
	}
	task_check_end(t);
}

static void
task_on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct bgtask	*t = arg;
	char		 why[64];

	(void)fd;
	(void)what;
	snprintf(why, sizeof(why), "no result within %d ms", t->deadline_ms);
	task_finish(t, BGTASK_TIMEOUT, why);
}

static void __attribute__((noreturn))
child(int fd, pid_t parent, bgtask_work_fn work, void *arg)
{
	struct buf	 out = { 0 };
	const uint8_t	*p;
	size_t		 left;
	ssize_t		 n;
	int		 rc;

	if (proc_child_init(parent, fd) == -1)
		_exit(2);
	rc = work(arg, &out);
	p = buf_head(&out);
	left = buf_used(&out);
	while (left > 0) {
		n = write(fd, p, left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(2);
		p += n;
		left -= (size_t)n;
	}
	buf_free(&out);
	_exit(rc == 0 ? 0 : 1);
}

int
bgtask_start(struct bgtask_pool *p, const char *key, int deadline_ms,
    bgtask_work_fn work, bgtask_done_fn done, void *arg, char *err,
    size_t errlen)
{
	struct bgtask	*t;
	int		 fds[2];
	pid_t		 pid, parent = getpid();

	if (key[0] == '\0' || strlen(key) >= BGTASK_KEY_MAX) {
		snprintf(err, errlen, "bad task key");
		return -1;
	}
	if (bgtask_busy(p, key)) {
		snprintf(err, errlen, "%s: the previous task has not ended",
		    key);
		return -1;
	}
	if (pipe2(fds, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		child(fds[1], parent, work, arg);
	}
	close(fds[1]);
	fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);

	t = xcalloc(1, sizeof(*t));
	t->pool = p;
	snprintf(t->key, sizeof(t->key), "%s", key);
	t->pid = pid;
	t->fd = fds[0];
	t->deadline_ms = deadline_ms;
	t->done = done;
	t->arg = arg;
	t->ev_read = event_new(p->base, t->fd, EV_READ | EV_PERSIST,
	    task_on_read, t);
	event_add(t->ev_read, NULL);
	t->ev_deadline = loop_timer(p->base, false, task_on_deadline, t);
	loop_arm(t->ev_deadline, deadline_ms);
	p->v = xreallocarray(p->v, p->n + 1, sizeof(*p->v));
	p->v[p->n++] = t;
	/* It may be reaped right here; done waits for EOF on the loop. */
	proc_watch(p->base, pid, task_on_exit, t);
	return 0;
}
