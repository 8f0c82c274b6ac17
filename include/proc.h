/*
 * Spawning and supervising a child process with pipes (no shell).
 *
 * The child gets its own process group, dies with its parent
 * (PR_SET_PDEATHSIG), and has stdin/stdout/stderr connected to pipes whose
 * parent ends are non-blocking and close-on-exec.  An exec failure is
 * reported to the parent through a close-on-exec pipe, so proc_spawn
 * either returns a running child or an error naming the cause.
 */
#ifndef DFFMPEG_PROC_H
#define DFFMPEG_PROC_H

#include <stddef.h>
#include <sys/types.h>

struct event_base;

struct proc_spec {
	const char	*path;		/* executable (absolute) */
	char *const	*argv;		/* argv[0] included, NULL-terminated */
	char *const	*envp;		/* NULL-terminated */
	const char	*cwd;		/* NULL: inherit */
	/* Run in the child after chdir, just before exec (NULL: none);
	 * -1 refuses the exec with why as the reason. */
	int		(*prepare)(void *arg, char *why, size_t whylen);
	void		*prepare_arg;
};

#define PROC_WHY_MAX	512		/* of a prepare hook's reason */
#define PROC_E_PREPARE	(-1000000)	/* the prepare hook refused */

/* Returns the pid and fills fds (0: write to child's stdin, 1: read its
 * stdout, 2: read its stderr), or -1 with err filled. */
pid_t	proc_spawn(const struct proc_spec *, int fds[3], char *err,
	    size_t errlen);

typedef void (*proc_exit_cb)(pid_t, int status, void *arg);

/* Call cb once when pid exits (SIGCHLD on the loop of base). */
void	proc_watch(struct event_base *, pid_t, proc_exit_cb, void *arg);
void	proc_unwatch(pid_t);
/*
 * In a forked child that goes on in this program (no exec): it dies with
 * its parent, signals are at their defaults and unblocked, and every
 * descriptor above 2 but keep (-1: none) is closed, the log opened again.
 * -1 if the parent is gone already.
 */
int	proc_child_init(pid_t parent, int keep);
/* Die of sig, as a child did (default action, no core dump); does not
 * return. */
void	proc_die_of(int sig) __attribute__((noreturn));
/* Reap children now (also done on SIGCHLD). */
void	proc_reap(void);

#endif
