/*
 * Child processes: fork/exec with pipes and exit notification through a
 * SIGCHLD event on the loop.  See proc.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "bounds.h"
#include "log.h"
#include "proc.h"
#include "xmalloc.h"

struct proc_watch {
	pid_t		 pid;
	proc_exit_cb	 cb;
	void		*arg;
};

static struct proc_watch	*watches;
static size_t			 nwatches;
static struct event		*ev_chld;

static int
set_nonblock_cloexec(int fd)
{
	int	fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

int
proc_child_init(pid_t parent, int keep)
{
	sigset_t	none;
	long		i, max;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		return -1;
	for (i = 1; i < NSIG; i++)
		signal((int)i, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* The broker connection, the loop's descriptors and other children's
	 * pipes are not the child's. */
	if (keep < 3) {
		if (close_range(3, ~0U, 0) == 0)
			goto closed;
	} else if ((keep == 3 || close_range(3, (unsigned)keep - 1, 0) == 0) &&
	    close_range((unsigned)keep + 1, ~0U, 0) == 0)
		goto closed;
	if ((max = sysconf(_SC_OPEN_MAX)) < 0 || max > 65536)
		max = 65536;
	for (i = 3; i < max; i++)
		if (i != keep)
			close((int)i);
closed:
	/* The log's descriptor went with the others: open it again before
	 * its number is reused. */
	log_reopen();
	return 0;
}

/* In the child: only async-signal-safe calls until exec, but for the
 * prepare hook (the processes that spawn are single-threaded). */
static void __attribute__((noreturn))
child(const struct proc_spec *spec, int in[2], int out[2], int errp[2],
    int report, pid_t parent)
{
	char	why[PROC_WHY_MAX];
	int	e, i;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	for (i = 1; i < NSIG; i++)
		signal(i, SIG_DFL);
	{
		sigset_t	all;

		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
	}
	if (dup2(in[0], 0) == -1 || dup2(out[1], 1) == -1 ||
	    dup2(errp[1], 2) == -1)
		goto fail;
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
	close(errp[0]);
	close(errp[1]);
	/* Nothing of ours beyond 0-2 reaches the child: not the broker
	 * connection, not the other jobs' pipes. */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == -1)
		for (i = 3; i < 4096; i++)
			fcntl(i, F_SETFD, FD_CLOEXEC);
	if (spec->cwd != NULL && chdir(spec->cwd) == -1) {
		e = -errno;	/* negative: the working directory failed */
		goto report;
	}
	why[0] = '\0';
	if (spec->prepare != NULL &&
	    spec->prepare(spec->prepare_arg, why, sizeof(why)) == -1) {
		e = PROC_E_PREPARE;	/* why follows */
		goto report;
	}
	execve(spec->path, spec->argv, spec->envp);
fail:
	e = errno;
report:
	if (write(report, &e, sizeof(e)) == -1 ||
	    (e == PROC_E_PREPARE && write(report, why, strlen(why)) == -1)) {
		/* the parent will see EOF and an exit code */
	}
	_exit(127);
}

pid_t
proc_spawn(const struct proc_spec *spec, int fds[3], char *err, size_t errlen)
{
	int	in[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int	rep[2] = { -1, -1 }, e = 0;
	pid_t	pid, parent = getpid();
	ssize_t	n, m;
	char	why[PROC_WHY_MAX];
	size_t	wlen = 0;

	if (pipe(in) == -1 || pipe(out) == -1 || pipe(errp) == -1 ||
	    pipe2(rep, O_CLOEXEC) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto fail;
	}
	if (pid == 0)
		child(spec, in, out, errp, rep[1], parent);
	close(rep[1]);
	rep[1] = -1;
	do
		n = read(rep[0], &e, sizeof(e));
	while (n == -1 && errno == EINTR);
	while (n == (ssize_t)sizeof(e) && e == PROC_E_PREPARE &&
	    wlen < sizeof(why) - 1 && ((m = read(rep[0], why + wlen,
	    sizeof(why) - 1 - wlen)) > 0 || (m == -1 && errno == EINTR)))
		wlen += m > 0 ? (size_t)m : 0;
	why[wlen] = '\0';
	close(rep[0]);
	rep[0] = -1;
	if (n == (ssize_t)sizeof(e)) {
		if (e == PROC_E_PREPARE)
			snprintf(err, errlen, "%s", why);
		else if (e < 0)
			snprintf(err, errlen, "working directory %s: %s",
			    spec->cwd, strerror(-e));
		else
			snprintf(err, errlen, "%s: %s", spec->path,
			    strerror(e));
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		goto fail;
	}
	close(in[0]);
	close(out[1]);
	close(errp[1]);
	fds[0] = in[1];
	fds[1] = out[0];
	fds[2] = errp[0];
	set_nonblock_cloexec(fds[0]);
	set_nonblock_cloexec(fds[1]);
	set_nonblock_cloexec(fds[2]);
	/* Bigger pipes: fewer, larger reads of a fast producer.  Best
	 * effort (the system limit may be lower). */
	fcntl(fds[1], F_SETPIPE_SZ, PIPE_SIZE);
	fcntl(fds[2], F_SETPIPE_SZ, PIPE_SIZE);
	return pid;
fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] != -1)
			close(in[i]);
		if (out[i] != -1)
			close(out[i]);
		if (errp[i] != -1)
			close(errp[i]);
		if (rep[i] != -1)
			close(rep[i]);
	}
	return -1;
}

void
proc_reap(void)
{
	pid_t	pid;
	int	status;
	size_t	i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < nwatches; i++) {
			if (watches[i].pid == pid) {
				struct proc_watch w = watches[i];

				watches[i] = watches[--nwatches];
				w.cb(pid, status, w.arg);
				break;
			}
		}
	}
}

static void
on_sigchld(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	proc_reap();
}

void
proc_watch(struct event_base *base, pid_t pid, proc_exit_cb cb, void *arg)
{
	if (ev_chld == NULL) {
		ev_chld = evsignal_new(base, SIGCHLD, on_sigchld, NULL);
		event_add(ev_chld, NULL);
	}
	watches = xreallocarray(watches, nwatches + 1, sizeof(*watches));
	watches[nwatches].pid = pid;
	watches[nwatches].cb = cb;
	watches[nwatches].arg = arg;
	nwatches++;
	/* It may have exited before the watch existed. */
	proc_reap();
}

void
proc_unwatch(pid_t pid)
{
	size_t	i;

	for (i = 0; i < nwatches; i++) {
		if (watches[i].pid == pid) {
			watches[i] = watches[--nwatches];
			return;
		}
	}
}

void
proc_die_of(int sig)
{
	struct rlimit	 rl = { 0, 0 };
	sigset_t	 set;

	setrlimit(RLIMIT_CORE, &rl);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	_exit(128 + sig);
}
