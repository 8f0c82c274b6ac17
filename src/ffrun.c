/*
 * Run a binary and keep its output.  See ffrun.h.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ffrun.h"
#include "proc.h"

extern char	**environ;

static void
kill_wait(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
}

/* Wait for pid until deadline; 0 with *status, or -1 at the deadline. */
static int
reap(pid_t pid, int64_t deadline, int *status)
{
	struct timespec	nap = { 0, 5 * 1000 * 1000 };
	pid_t		w;

	for (;;) {
		w = waitpid(pid, status, WNOHANG);
		if (w == pid)
			return 0;
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1) {
			/* Reaped elsewhere (SIGCHLD ignored): judge by output. */
			*status = 0;
			return 0;
		}
		if (mono_ms() >= deadline)
			return -1;
		nanosleep(&nap, NULL);
	}
}

int
ffrun(const char *path, char *const argv[], int timeout_ms, size_t out_max,
    size_t err_max, struct ffrun *r, char *err, size_t errlen)
{
	struct proc_spec spec = { path, argv, environ, NULL };
	struct pollfd	 pfd[2];
	char		 chunk[16384];
	int		 fds[3], i, nopen;
	int64_t		 deadline, left;
	ssize_t		 n;
	pid_t		 pid;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if ((pid = proc_spawn(&spec, fds, err, errlen)) == -1)
		return -1;
	close(fds[0]);
	deadline = mono_ms() + timeout_ms;
	pfd[0].fd = fds[1];
	pfd[1].fd = fds[2];
	pfd[0].events = pfd[1].events = POLLIN;
	nopen = 2;
	while (nopen > 0) {
		if ((left = deadline - mono_ms()) <= 0)
			goto timeout;
		if (poll(pfd, 2, (int)left) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "poll: %s", strerror(errno));
			goto fail;
		}
		for (i = 0; i < 2; i++) {
			struct buf *b = i == 0 ? &r->out : &r->err;
			size_t	    max = i == 0 ? out_max : err_max;

			if (pfd[i].fd == -1 || pfd[i].revents == 0)
				continue;
			n = read(pfd[i].fd, chunk, sizeof(chunk));
			if (n == -1 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				nopen--;
				continue;
			}
			if (i == 0 && buf_used(b) + (size_t)n > max) {
				snprintf(err, errlen, "more than %zu bytes of "
				    "output", max);
				goto fail;
			}
			/* stderr: its head says why; the rest is dropped. */
			if (buf_used(b) < max)
				buf_add(b, chunk, (size_t)n < max - buf_used(b) ?
				    (size_t)n : max - buf_used(b));
		}
	}
	if (reap(pid, deadline, &r->status) == -1)
		goto timeout;	/* (killed and reaped below) */
	return 0;
timeout:
	snprintf(err, errlen, "no answer within %d ms", timeout_ms);
fail:
	for (i = 0; i < 2; i++)
		if (pfd[i].fd != -1)
			close(pfd[i].fd);
	if (pid != -1)
		kill_wait(pid);
	return -1;
}

void
ffrun_free(struct ffrun *r)
{
	buf_free(&r->out);
	buf_free(&r->err);
}

bool
ffrun_ok(const struct ffrun *r)
{
	return r->status != -1 && WIFEXITED(r->status) &&
	    WEXITSTATUS(r->status) == 0;
}

/* Copy one line into buf, printable. */
static const char *
line_to(const char *s, size_t n, char *buf, size_t buflen)
{
	size_t	i;

	if (n >= buflen)
		n = buflen - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	utf8_sanitize(buf, n);
	for (i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20)
			buf[i] = ' ';
	return buf;
}

const char *
ffrun_reason(const struct ffrun *r, char *buf, size_t buflen)
{
	const char	*p = (const char *)buf_head(&r->err);
	const char	*end = p + buf_used(&r->err), *l, *e, *q;
	const char	*last = NULL, *failed = NULL;
	size_t		 lastlen = 0, failedlen = 0;
	static const char set[] = "Failed to set value ";

	for (l = p; l < end; l = e + 1) {
		if ((e = memchr(l, '\n', (size_t)(end - l))) == NULL)
			e = end;
		if (e == l)
			continue;
		/* "[AVHWDeviceContext @ 0x55..] Cannot load libcuda.so.1" */
		if (*l == '[' && (q = memchr(l, ']', (size_t)(e - l))) != NULL &&
		    q + 2 < e && memmem(l, (size_t)(q - l), " @ ", 3) != NULL)
			return line_to(q + 2, (size_t)(e - q - 2), buf, buflen);
		if (failed == NULL && (size_t)(e - l) > sizeof(set) &&
		    memcmp(l, set, sizeof(set) - 1) == 0 &&
		    (q = memmem(l, (size_t)(e - l), "': ", 3)) != NULL) {
			failed = q + 3;
			failedlen = (size_t)(e - failed);
		}
		last = l;
		lastlen = (size_t)(e - l);
	}
	if (failed != NULL)
		return line_to(failed, failedlen, buf, buflen);
	if (last != NULL)
		return line_to(last, lastlen, buf, buflen);
	if (r->status != -1 && WIFSIGNALED(r->status))
		snprintf(buf, buflen, "killed by signal %d", WTERMSIG(r->status));
	else
		snprintf(buf, buflen, "exit status %d", r->status == -1 ? -1 :
		    WEXITSTATUS(r->status));
	return buf;
}
