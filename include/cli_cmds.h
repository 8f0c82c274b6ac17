/*
 * The commands of the command-line applets, as tables: dffmpeg client
 * and dffmpeg admin each have a table of struct cli_cmd rows, and share
 * the rows of the operations both offer (status, worker list|show, job
 * list|show|logs|cancel|attach) through the CLI_CMD_* initialisers below,
 * so that both run the same code and print the same documents.
 *
 * cli_dispatch finds a command by its words ("job list"), answers -h and
 * --help anywhere before a "--" with that command's usage and options,
 * prints the usage of a group for an incomplete command ("admin user"),
 * and runs it.  Commands connect to the cluster only once their
 * arguments are known to be right, through the applet's env->connect.
 *
 * Exit status: 0 done, 1 failed, 2 usage error, 130 interrupted; `job
 * attach` exits with the job's own status.
 */
#ifndef DFFMPEG_CLI_CMDS_H
#define DFFMPEG_CLI_CMDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define EXIT_USAGE	2
#define EXIT_INTR	130

struct cli;
struct cli_env;

#define CLI_OWN_HELP	0x1	/* the command reads -h itself (submit) */

struct cli_cmd {
	const char	*words;		/* "job list" */
	const char	*args;		/* what follows the words */
	const char	*summary;	/* one line */
	const char	*options;	/* one "  -x, --long  text" per line */
	/* argv[0] is the command's last word, argv[1..] its arguments. */
	int		(*run)(struct cli_env *, int argc, char **argv);
	unsigned	 flags;
};

/* What a command needs of its applet. */
struct cli_env {
	const char		*prog;		/* "dffmpeg client" */
	const char		*global;	/* "[-c FILE]" in usages */
	const char		*global_help;	/* its options explained */
	bool			 admin;		/* sees every client's jobs */
	const struct cli_cmd	*cmds;
	size_t			 ncmds;
	const struct cli_cmd	*cmd;		/* the one running */
	/* Open the connection (loads what it needs); -1, printed, if it
	 * cannot. */
	int			(*connect)(struct cli_env *, struct cli *);
	void			*arg;
};

/*
 * The applet's own options, before its command: -c/--config FILE and
 * -h/--help (parsing stops at the command, whose arguments may be an
 * ffmpeg command line).  Returns -1 with *config (NULL if not given) and
 * *first, the index of the command in argv; or the status to exit with
 * after the help or a usage error.
 */
int	 cli_options(const struct cli_env *, int argc, char **argv,
	    const char **config, int *first);
int	 cli_dispatch(struct cli_env *, int argc, char **argv);
/* The applet's usage: every command with its summary. */
void	 cli_usage(const struct cli_env *, FILE *);
/* One command's usage line (and, with full, its summary and options). */
void	 cli_cmd_usage(const struct cli_env *, const struct cli_cmd *, FILE *,
	    bool full);
/* A usage error of the running command: message, its usage; returns
 * EXIT_USAGE. */
int	 cli_usage_error(const struct cli_env *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

int	 cli_cmd_status(struct cli_env *, int, char **);
int	 cli_cmd_worker_list(struct cli_env *, int, char **);
int	 cli_cmd_worker_show(struct cli_env *, int, char **);
int	 cli_cmd_job_list(struct cli_env *, int, char **);
int	 cli_cmd_job_show(struct cli_env *, int, char **);
int	 cli_cmd_job_logs(struct cli_env *, int, char **);
int	 cli_cmd_job_cancel(struct cli_env *, int, char **);
int	 cli_cmd_job_attach(struct cli_env *, int, char **);

#define CLI_OPT_JSON \
	"  --json          print the coordinator's JSON document instead of " \
	"a table\n"

#define CLI_CMD_STATUS { "status", "[--json]", \
	"workers, the queue and recent jobs at a glance", CLI_OPT_JSON, \
	cli_cmd_status, 0 }
#define CLI_CMD_WORKER_LIST { "worker list", "[--json]", \
	"workers: state, last seen, running/slots, weight, version, path " \
	"health", CLI_OPT_JSON, cli_cmd_worker_list, 0 }
#define CLI_CMD_WORKER_SHOW { "worker show", "NAME [--json]", \
	"one worker: state, slots, verified hardware, what failed " \
	"verification and why, recent state changes", CLI_OPT_JSON, \
	cli_cmd_worker_show, 0 }
#define CLI_CMD_JOB_LIST { "job list", "[--all] [--state S[,S...]] " \
	"[--window D] [--worker NAME] [--client NAME] [--json]", \
	"jobs, newest first: unfinished ones and those that ended within " \
	"the window", \
	"  --all           every job the coordinator keeps (no window)\n" \
	"  --state S,...   only jobs in these states (pending, assigned, " \
	"running,\n                  canceling, completed, failed, " \
	"canceled)\n" \
	"  --window D      jobs that ended within D (30s, 10m, 2h, 7d; " \
	"default 1h)\n" \
	"  --worker NAME   only jobs placed on that worker\n" \
	"  --client NAME   only that client's jobs (administrators; a " \
	"client sees\n                  only its own anyway)\n" \
	CLI_OPT_JSON, cli_cmd_job_list, 0 }
#define CLI_CMD_JOB_SHOW { "job show", "ID [--json]", \
	"one job: command, cwd, placement, progress, exit status, bytes, " \
	"every state change with its time and reason", CLI_OPT_JSON, \
	cli_cmd_job_show, 0 }
#define CLI_CMD_JOB_LOGS { "job logs", "[-f] [--json] ID", \
	"a job's log (its stderr, status lines collapsed to the latest)", \
	"  -f, --follow    keep printing as the job writes, until it ends\n" \
	"  --json          print {\"id\", \"state\", \"text\", \"done\", " \
	"...} (not with -f)\n", cli_cmd_job_logs, 0 }
#define CLI_CMD_JOB_CANCEL { "job cancel", "ID", \
	"cancel a job: its process gets SIGTERM, then SIGKILL after the " \
	"worker's kill_grace", NULL, cli_cmd_job_cancel, 0 }
#define CLI_CMD_JOB_ATTACH { "job attach", "ID", \
	"follow a job's log on stderr and exit with the job's status; " \
	"Ctrl-C cancels the job (a second one stops watching)", NULL, \
	cli_cmd_job_attach, 0 }

#endif
