/*
 * The commands the client and admin applets share, and the dispatcher
 * of both command tables.  See cli_cmds.h.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli_cmds.h"
#include "cli_show.h"
#include "config.h"
#include "msg.h"
#include "table.h"
#include "util.h"
#include "xmalloc.h"

#define FOLLOW_POLL_MS		500
#define WINDOW_DEFAULT_MS	(3600 * 1000)
#define PAGES_MAX		10000	/* of one list: a loop guard */

/* ---- dispatch and usage ---- */

void
cli_cmd_usage(const struct cli_env *env, const struct cli_cmd *c, FILE *f,
    bool full)
{
	fprintf(f, "usage: %s %s %s%s%s\n", env->prog, env->global, c->words,
	    *c->args != '\0' ? " " : "", c->args);
	if (!full)
		return;
	fprintf(f, "\n%c%s.\n", toupper((unsigned char)c->summary[0]),
	    c->summary + 1);
	fprintf(f, "\noptions:\n  -h, --help      show this help\n");
	if (c->options != NULL)
		fputs(c->options, f);
	if (env->global_help != NULL)
		fputs(env->global_help, f);
}

void
cli_usage(const struct cli_env *env, FILE *f)
{
	const struct cli_cmd	*c;

	fprintf(f, "usage: %s %s COMMAND [ARGS...]\n       %s COMMAND "
	    "--help\n\noptions:\n  -h, --help      show this help\n%s"
	    "\ncommands:\n", env->prog, env->global, env->prog,
	    env->global_help != NULL ? env->global_help : "");
	for (c = env->cmds; c < env->cmds + env->ncmds; c++)
		fprintf(f, "  %s%s%s\n      %s\n", c->words,
		    *c->args != '\0' ? " " : "", c->args, c->summary);
}

int
cli_usage_error(const struct cli_env *env, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "%s: ", env->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (env->cmd != NULL)
		cli_cmd_usage(env, env->cmd, stderr, false);
	return EXIT_USAGE;
}

/* Does words ("job list") start with argv's first n words? */
static bool
words_match(const char *words, int n, char **argv)
{
	const char	*w = words;
	size_t		 len;
	int		 i;

	for (i = 0; i < n; i++) {
		len = strlen(argv[i]);
		if (strncmp(w, argv[i], len) != 0 ||
		    (w[len] != ' ' && w[len] != '\0'))
			return false;
		w += len;
		if (*w == ' ')
			w++;
		else if (i + 1 < n)
			return false;
	}
	return true;
}

static int
nwords(const char *words)
{
	int	n = 1;

	for (; *words != '\0'; words++)
		n += *words == ' ';
	return n;
}

/* The commands of a group ("user"): its usage, to f. */
static void
group_usage(const struct cli_env *env, const char *group, FILE *f)
{
	const struct cli_cmd	*c;

	fprintf(f, "usage:\n");
	for (c = env->cmds; c < env->cmds + env->ncmds; c++)
		if (words_match(c->words, 1, (char **)&group))
			fprintf(f, "  %s %s %s%s%s\n      %s\n", env->prog,
			    env->global, c->words, *c->args != '\0' ? " " : "",
			    c->args, c->summary);
}

static bool
wants_help(int argc, char **argv)
{
	int	i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0)
			return true;
	return false;
}

int
cli_options(const struct cli_env *env, int argc, char **argv,
    const char **config, int *first)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int	ch;

	*config = NULL;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			*config = optarg;
			break;
		case 'h':
			cli_usage(env, stdout);
			return 0;
		default:
			fprintf(stderr, "%s: bad option or missing value: %s\n",
			    env->prog, argv[optind - 1]);
			cli_usage(env, stderr);
			return EXIT_USAGE;
		}
	}
	*first = optind;
	return -1;
}

int
cli_dispatch(struct cli_env *env, int argc, char **argv)
{
	const struct cli_cmd	*c, *found = NULL;
	bool			 group = false;
	int			 n;

	if (argc == 0) {
		cli_usage(env, stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0) {
		cli_usage(env, stdout);
		return 0;
	}
	for (c = env->cmds; c < env->cmds + env->ncmds; c++) {
		n = nwords(c->words);
		if (words_match(c->words, 1, argv))
			group = true;
		if (n <= argc && words_match(c->words, n, argv) &&
		    (found == NULL || n > nwords(found->words)))
			found = c;
	}
	if (found == NULL) {
		if (group && (argc == 1 || wants_help(argc, argv) ||
		    strcmp(argv[1], "-h") == 0 ||
		    strcmp(argv[1], "--help") == 0)) {
			/* "admin user": that group's usage. */
			bool	help = argc > 1;

			if (!help)
				fprintf(stderr, "%s: '%s' needs a command\n",
				    env->prog, argv[0]);
			group_usage(env, argv[0], help ? stdout : stderr);
			return help ? 0 : EXIT_USAGE;
		}
		if (group)
			fprintf(stderr, "%s: unknown command '%s %s'\n",
			    env->prog, argv[0], argv[1]);
		else
			fprintf(stderr, "%s: unknown command '%s'\n",
			    env->prog, argv[0]);
		if (group)
			group_usage(env, argv[0], stderr);
		else
			cli_usage(env, stderr);
		return EXIT_USAGE;
	}
	env->cmd = found;
	n = nwords(found->words) - 1;
	if (!(found->flags & CLI_OWN_HELP) && wants_help(argc - n, argv + n)) {
		cli_cmd_usage(env, found, stdout, true);
		return 0;
	}
	return found->run(env, argc - n, argv + n);
}

/* ---- options ---- */

enum {
	OPT_JSON = 1000,
	OPT_ALL,
	OPT_STATE,
	OPT_WINDOW,
	OPT_WORKER,
	OPT_CLIENT,
};

struct opts {
	bool		 json;
	bool		 all;
	bool		 follow;
	char		*states;
	char		*window;
	char		*worker;
	char		*client;
	char		*arg;		/* the one positional argument */
};

/*
 * Parse argv with the options of longopts (and -f where allowed); exactly
 * nargs positional arguments (0 or 1).  Returns 0, or the exit status of a
 * usage error (printed).
 */
static int
parse(struct cli_env *env, int argc, char **argv, const struct option *lo,
    const char *so, int nargs, struct opts *o)
{
	int	ch;

	memset(o, 0, sizeof(*o));
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		switch (ch) {
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_ALL:
			o->all = true;
			break;
		case 'f':
			o->follow = true;
			break;
		case OPT_STATE:
			o->states = optarg;
			break;
		case OPT_WINDOW:
			o->window = optarg;
			break;
		case OPT_WORKER:
			o->worker = optarg;
			break;
		case OPT_CLIENT:
			o->client = optarg;
			break;
		default:
			return cli_usage_error(env, "%s: bad option or missing "
			    "value: %s", env->cmd->words, argv[optind - 1]);
		}
	}
	if (argc - optind != nargs)
		return cli_usage_error(env, "%s takes %s", env->cmd->words,
		    nargs == 0 ? "no arguments" : "one argument");
	if (nargs == 1)
		o->arg = argv[optind];
	return 0;
}

static const struct option no_opts[] = {
	{ NULL, 0, NULL, 0 },
};

static const struct option json_opts[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ NULL, 0, NULL, 0 },
};

/* Connect and ask one query; the document, or NULL (printed; *rc set). */
static cJSON *
ask(struct cli_env *env, struct cli *cli, struct msg *req, int *rc)
{
	cJSON	*doc;
	int	 r;

	r = cli_query(cli, req, &doc);
	if (r == 0)
		return doc;
	*rc = r == -2 ? EXIT_INTR : 1;
	(void)env;
	return NULL;
}

static void
query_init(struct msg *m, const struct cli *cli, const char *what,
    const char *target)
{
	msg_init(m, MT_QUERY, cli->node.name);
	msg_set_str(m, F_WHAT, what);
	if (target != NULL)
		msg_set_str(m, F_TARGET, target);
}

/* One document, shown by show or as JSON. */
static int
simple(struct cli_env *env, int argc, char **argv, int nargs,
    const char *what, void (*show)(FILE *, const cJSON *, bool))
{
	struct opts	 o;
	struct cli	 cli;
	struct msg	 m;
	cJSON		*doc;
	int		 rc;

	if ((rc = parse(env, argc, argv, json_opts, "", nargs, &o)) != 0)
		return rc;
	if (env->connect(env, &cli) != 0)
		return 1;
	rc = 0;
	query_init(&m, &cli, what, o.arg);
	if ((doc = ask(env, &cli, &m, &rc)) != NULL) {
		if (o.json)
			cli_show_json(stdout, doc);
		else
			show(stdout, doc, table_want_color(stdout));
		cJSON_Delete(doc);
	}
	cli_close(&cli);
	return rc;
}

/*
 * Every page of a list: build(m, arg) fills each request (a `query`),
 * which then gets the cursor of the page before; the `key` arrays of the
 * later pages join the first page's document, which is returned without
 * its "next" (NULL, with *rc set, on failure).
 */
static cJSON *
all_pages(struct cli_env *env, struct cli *cli, const char *key,
    void (*build)(struct msg *, const struct cli *, void *), void *arg,
    int *rc)
{
	struct msg	 m;
	cJSON		*doc, *all = NULL, *item, *next;
	char		*cursor = NULL;
	int		 pages = 0;

	do {
		build(&m, cli, arg);
		if (cursor != NULL)
			msg_set_str(&m, F_CURSOR, cursor);
		free(cursor);
		cursor = NULL;
		if ((doc = ask(env, cli, &m, rc)) == NULL) {
			cJSON_Delete(all);
			return NULL;
		}
		next = cJSON_GetObjectItem(doc, "next");
		if (cJSON_IsString(next))
			cursor = xstrdup(next->valuestring);
		if (all == NULL) {
			all = doc;
			continue;
		}
		while ((item = cJSON_DetachItemFromArray(
		    cJSON_GetObjectItem(doc, key), 0)) != NULL)
			cJSON_AddItemToArray(cJSON_GetObjectItem(all, key), item);
		cJSON_Delete(doc);
	} while (cursor != NULL && ++pages < PAGES_MAX);
	free(cursor);
	cJSON_DeleteItemFromObject(all, "next");
	return all;
}

static void
build_workers(struct msg *m, const struct cli *cli, void *arg)
{
	(void)arg;
	query_init(m, cli, "workers", NULL);
}

int
cli_cmd_status(struct cli_env *env, int argc, char **argv)
{
	return simple(env, argc, argv, 0, "status", cli_show_status);
}

int
cli_cmd_worker_list(struct cli_env *env, int argc, char **argv)
{
	struct opts	 o;
	struct cli	 cli;
	cJSON		*doc;
	int		 rc;

	if ((rc = parse(env, argc, argv, json_opts, "", 0, &o)) != 0)
		return rc;
	if (env->connect(env, &cli) != 0)
		return 1;
	if ((doc = all_pages(env, &cli, "workers", build_workers, NULL,
	    &rc)) != NULL) {
		if (o.json)
			cli_show_json(stdout, doc);
		else
			cli_show_workers(stdout, doc, table_want_color(stdout));
		cJSON_Delete(doc);
	}
	cli_close(&cli);
	return rc;
}

int
cli_cmd_worker_show(struct cli_env *env, int argc, char **argv)
{
	return simple(env, argc, argv, 1, "worker", cli_show_worker);
}

int
cli_cmd_job_show(struct cli_env *env, int argc, char **argv)
{
	return simple(env, argc, argv, 1, "job", cli_show_job);
}

/* "a,b" into the list of states. */
static void
split_states(const char *s, struct strv *out)
{
	const char	*p = s, *comma;

	while (*p != '\0') {
		comma = strchr(p, ',');
		if (comma == NULL)
			comma = p + strlen(p);
		if (comma > p)
			strv_pushn(out, p, (size_t)(comma - p));
		p = *comma == ',' ? comma + 1 : comma;
	}
}

struct jobs_filter {
	struct opts	*o;
	struct strv	 states;
	int64_t		 window;
};

static void
build_jobs(struct msg *m, const struct cli *cli, void *arg)
{
	struct jobs_filter	*f = arg;

	query_init(m, cli, "jobs", NULL);
	if (f->states.n > 0)
		msg_set_strv(m, F_STATES, &f->states);
	if (!f->o->all)
		msg_set_int(m, F_WINDOW, f->window);
	if (f->o->worker != NULL)
		msg_set_str(m, F_WORKER, f->o->worker);
	if (f->o->client != NULL)
		msg_set_str(m, F_CLIENT, f->o->client);
}

int
cli_cmd_job_list(struct cli_env *env, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "window", required_argument, NULL, OPT_WINDOW },
		{ "worker", required_argument, NULL, OPT_WORKER },
		{ "client", required_argument, NULL, OPT_CLIENT },
		{ NULL, 0, NULL, 0 },
	};
	struct opts		 o;
	struct cli		 cli;
	struct jobs_filter	 f;
	cJSON			*doc;
	int			 rc;

	if ((rc = parse(env, argc, argv, lo, "", 0, &o)) != 0)
		return rc;
	memset(&f, 0, sizeof(f));
	f.o = &o;
	f.window = WINDOW_DEFAULT_MS;
	if (o.window != NULL && (config_parse_duration(o.window,
	    &f.window) != 0 || f.window <= 0))
		return cli_usage_error(env, "--window %s: not a duration "
		    "longer than 0 (30s, 10m, 2h, 7d)", o.window);
	if (o.client != NULL && !env->admin)
		return cli_usage_error(env, "--client: a client sees only "
		    "its own jobs");
	if (o.states != NULL)
		split_states(o.states, &f.states);
	if (env->connect(env, &cli) != 0) {
		strv_free(&f.states);
		return 1;
	}
	if ((doc = all_pages(env, &cli, "jobs", build_jobs, &f, &rc)) != NULL) {
		if (o.json)
			cli_show_json(stdout, doc);
		else
			cli_show_jobs(stdout, cJSON_GetObjectItem(doc, "jobs"),
			    (int64_t)cJSON_GetNumberValue(
			    cJSON_GetObjectItem(doc, "now")),
			    table_want_color(stdout));
		cJSON_Delete(doc);
	}
	strv_free(&f.states);
	cli_close(&cli);
	return rc;
}

/*
 * Print a job's log from the start to f.  follow: until the job ends,
 * polling, and waiting out a coordinator that does not answer (a
 * restart); otherwise what there is now.  *last gets the last page (for
 * the exit status), owned.  attach: Ctrl-C cancels the job once, and
 * following goes on until it ends.  Returns 0 or an exit status.
 */
static int
read_log(struct cli_env *env, struct cli *cli, const char *id, FILE *f,
    bool follow, bool attach, cJSON **last)
{
	struct cli_reply reply;
	struct msg	 m;
	cJSON		*doc, *text, *next;
	int64_t		 cursor = 0;
	bool		 done = false, canceled = false, waiting = false;
	int		 rc = 0, r;

	*last = NULL;
	cli->quiet = follow;
	while (!done) {
		query_init(&m, cli, "logs", id);
		msg_set_int(&m, F_SEQ, cursor);
		r = cli_query(cli, &m, &doc);
		if (r == -2 && attach && !canceled) {
			/* Ctrl-C: cancel it, and show how it ends. */
			canceled = true;
			cli->interrupted = false;
			fprintf(stderr, "%s: canceling job %s (Ctrl-C again "
			    "to stop watching)\n", env->prog, id);
			msg_init(&m, MT_CANCEL, cli->node.name);
			msg_set_str(&m, F_JOB, id);
			if (cli_request(cli, &m, &reply) == 0 &&
			    reply.has_code && reply.code != 0)
				cli_err(cli, "job %s: %s", id, reply.text !=
				    NULL ? reply.text : "not canceled");
			cli_reply_free(&reply);
			continue;
		}
		if (r == -1 && follow && cli->timed_out) {
			/* The coordinator is away (a restart): wait. */
			if (!waiting)
				fprintf(stderr, "%s: no answer from the "
				    "coordinator; still waiting (Ctrl-C to "
				    "stop)\n", env->prog);
			waiting = true;
			if (cli_sleep(cli, FOLLOW_POLL_MS) == -2 && !attach) {
				rc = EXIT_INTR;
				break;
			}
			continue;
		}
		if (r != 0) {
			rc = r == -2 ? EXIT_INTR : 1;
			break;
		}
		waiting = false;
		text = cJSON_GetObjectItem(doc, "text");
		next = cJSON_GetObjectItem(doc, "next");
		if (!cJSON_IsNumber(next)) {
			cli_err(cli, "a page of the log without a cursor");
			cJSON_Delete(doc);
			rc = 1;
			break;
		}
		if (cJSON_IsString(text) && *text->valuestring != '\0') {
			cli_show_text(f, text->valuestring);
			fflush(f);
		}
		done = cJSON_IsTrue(cJSON_GetObjectItem(doc, "done"));
		cursor = (int64_t)next->valuedouble;
		cJSON_Delete(*last);
		*last = doc;
		if (done || (!follow && (!cJSON_IsString(text) ||
		    *text->valuestring == '\0')))
			break;
		if (!cJSON_IsString(text) || *text->valuestring == '\0') {
			r = cli_sleep(cli, FOLLOW_POLL_MS);
			if (r == -2 && attach && !canceled)
				continue;	/* the next query cancels */
			if (r == -2) {
				rc = EXIT_INTR;
				break;
			}
		}
	}
	cli->quiet = false;
	return rc;
}

int
cli_cmd_job_logs(struct cli_env *env, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "follow", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts	 o;
	struct cli	 cli;
	cJSON		*last = NULL;
	FILE		*mem;
	char		*text = NULL;
	size_t		 len = 0;
	int		 rc;

	if ((rc = parse(env, argc, argv, lo, "f", 1, &o)) != 0)
		return rc;
	if (o.json && o.follow)
		return cli_usage_error(env, "--json and --follow do not go "
		    "together");
	if (env->connect(env, &cli) != 0)
		return 1;
	if (!o.json) {
		rc = read_log(env, &cli, o.arg, stdout, o.follow, false, &last);
	} else if ((mem = open_memstream(&text, &len)) != NULL) {
		rc = read_log(env, &cli, o.arg, mem, false, false, &last);
		fclose(mem);
		if (rc == 0 && last != NULL) {
			cJSON_ReplaceItemInObject(last, "text",
			    cJSON_CreateString(text != NULL ? text : ""));
			cJSON_DeleteItemFromObject(last, "next");
			cli_show_json(stdout, last);
		}
		free(text);
	} else
		rc = 1;
	cJSON_Delete(last);
	cli_close(&cli);
	return rc;
}

int
cli_cmd_job_attach(struct cli_env *env, int argc, char **argv)
{
	struct opts	 o;
	struct cli	 cli;
	cJSON		*last = NULL, *reason;
	int		 rc;

	if ((rc = parse(env, argc, argv, no_opts, "", 1, &o)) != 0)
		return rc;
	if (env->connect(env, &cli) != 0)
		return 1;
	rc = read_log(env, &cli, o.arg, stderr, true, true, &last);
	if (rc == 0 && last != NULL) {
		rc = cli_show_exit_status(last);
		reason = cJSON_GetObjectItem(last, "reason");
		if (!cJSON_IsNumber(cJSON_GetObjectItem(last, "exit_code")) &&
		    cJSON_IsString(reason))
			cli_err(&cli, "job %s did not run to its end: %s", o.arg,
			    reason->valuestring);
	}
	cJSON_Delete(last);
	cli_close(&cli);
	return rc;
}

int
cli_cmd_job_cancel(struct cli_env *env, int argc, char **argv)
{
	struct opts		 o;
	struct cli		 cli;
	struct cli_reply	 r;
	struct msg		 m;
	int			 rc;

	if ((rc = parse(env, argc, argv, no_opts, "", 1, &o)) != 0)
		return rc;
	if (!name_valid(o.arg, ID_LEN))
		return cli_usage_error(env, "'%s' is not a job id", o.arg);
	if (env->connect(env, &cli) != 0)
		return 1;
	msg_init(&m, MT_CANCEL, cli.node.name);
	msg_set_str(&m, F_JOB, o.arg);
	if ((rc = cli_request(&cli, &m, &r)) != 0)
		rc = rc == -2 ? EXIT_INTR : 1;
	else if (!r.has_code) {
		cli_err(&cli, "the coordinator did not say what became of the "
		    "job (is it older than this client?)");
		rc = 1;
	} else if (r.code != 0) {
		cli_err(&cli, "job %s: %s%s%s%s", o.arg, r.text != NULL ?
		    r.text : "not canceled", r.state != NULL ? " (" : "",
		    r.state != NULL ? r.state : "", r.state != NULL ? ")" : "");
		rc = 1;
	} else
		printf("job %s: %s\n", o.arg, r.state != NULL ? r.state :
		    "canceling");
	cli_reply_free(&r);
	cli_close(&cli);
	return rc;
}
