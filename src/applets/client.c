/*
 * dffmpeg client: the command-line side of a client identity.
 *
 *   status, worker list|show, job list|show|logs|cancel|attach
 *	what the coordinator knows, limited to this client's own jobs
 *	(cli_cmds.h, shared with dffmpeg admin)
 *   submit [-b BINARY] [--detach] [--] ARGS...
 *	run a job through the cluster; --detach prints its id and returns
 *   translate [--cwd DIR] BINARY [ARGS...]
 *	print the job the proxy would submit, as JSON, without connecting
 *   run BINARY [ARGS...]
 *	run BINARY through the cluster (the same as the ffmpeg persona)
 *
 * The client's config (-c FILE or the search of config_find) gives the
 * identity, its key, the broker and the path variables.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "applet.h"
#include "cli.h"
#include "cli_cmds.h"
#include "jobspec.h"
#include "log.h"
#include "paths.h"
#include "settings.h"
#include "util.h"

struct client_ctx {
	const char		*config;
	struct client_conf	 conf;
	bool			 loaded;
};

static int
ctx_conf(struct client_ctx *ctx)
{
	char	err[1024];

	if (ctx->loaded)
		return 0;
	memset(&ctx->conf, 0, sizeof(ctx->conf));
	if (settings_load_client(ctx->config, &ctx->conf, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "dffmpeg client: %s\n", err);
		return -1;
	}
	ctx->loaded = true;
	return 0;
}

static int
client_connect(struct cli_env *env, struct cli *cli)
{
	struct client_ctx	*ctx = env->arg;
	char			 err[1024];

	if (ctx_conf(ctx) != 0)
		return -1;
	if (cli_open(cli, env->prog, &ctx->conf.mqtt, ctx->conf.client_id,
	    ctx->conf.key, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", env->prog, err);
		return -1;
	}
	return 0;
}

/* -h or --help in place of the BINARY (after it, they are the
 * binary's): this command's help. */
static bool
own_help(struct cli_env *env, int argc, char **argv)
{
	if (argc < 2 || (strcmp(argv[1], "-h") != 0 &&
	    strcmp(argv[1], "--help") != 0))
		return false;
	cli_cmd_usage(env, env->cmd, stdout, true);
	return true;
}

static int
cmd_translate(struct cli_env *env, int argc, char **argv)
{
	struct client_ctx	*ctx = env->arg;
	struct pathmap		 pm;
	struct jobspec		 js;
	const char		*cwd = NULL;
	char			 err[1024], *json;
	int			 i = 1;

	if (own_help(env, argc, argv))
		return 0;
	if (i < argc && strcmp(argv[i], "--cwd") == 0) {
		if (i + 1 >= argc)
			return cli_usage_error(env, "--cwd needs a directory");
		cwd = argv[i + 1];
		i += 2;
	} else if (i < argc && strncmp(argv[i], "--cwd=", 6) == 0) {
		cwd = argv[i] + 6;
		i++;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc)
		return cli_usage_error(env, "translate needs a BINARY");
	if (ctx_conf(ctx) != 0)
		return 1;
	if (pathmap_init(&pm, &ctx->conf.paths, err, sizeof(err)) == -1) {
		fprintf(stderr, "dffmpeg client: %s\n", err);
		return 1;
	}
	if (jobspec_build(&js, &pm, argv[i], argc - i - 1, argv + i + 1, cwd,
	    NULL, err, sizeof(err)) == -1) {
		fprintf(stderr, "dffmpeg client: %s\n", err);
		pathmap_free(&pm);
		return 1;
	}
	json = jobspec_json(&js, false);
	printf("%s\n", json);
	free(json);
	jobspec_free(&js);
	pathmap_free(&pm);
	return 0;
}

static int
run_proxy(struct client_ctx *ctx, int argc, char **argv)
{
	if (ctx->config != NULL)
		setenv("DFFMPEG_CLIENT_CONFIG", ctx->config, 1);
	return proxy_main(argc, argv);
}

static int
cmd_run(struct cli_env *env, int argc, char **argv)
{
	if (own_help(env, argc, argv))
		return 0;
	if (argc < 2)
		return cli_usage_error(env, "run needs a BINARY");
	return run_proxy(env->arg, argc - 1, argv + 1);
}

/* Send a detached job and print its id. */
static int
submit_detached(struct cli_env *env, const char *binary, int argc,
    char **argv)
{
	struct client_ctx	*ctx = env->arg;
	struct cli_reply	 r;
	struct pathmap		 pm;
	struct jobspec		 js;
	struct cli		 cli;
	struct msg		 m;
	char			 err[1024], job[ID_BUF];
	int			 rc;

	if (ctx_conf(ctx) != 0)
		return 1;
	/* Which binaries may run is the coordinator's to say
	 * (allowed_binaries): its refusal names them. */
	if (pathmap_init(&pm, &ctx->conf.paths, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s: %s\n", env->prog, err);
		return 1;
	}
	rc = jobspec_build(&js, &pm, binary, argc, argv, NULL,
	    &ctx->conf.forward_env, err, sizeof(err));
	pathmap_free(&pm);
	if (rc == -1) {
		fprintf(stderr, "%s: %s\n", env->prog, err);
		return 1;
	}
	if (client_connect(env, &cli) != 0) {
		jobspec_free(&js);
		return 1;
	}
	id_new(job);
	msg_init(&m, MT_SUBMIT, cli.node.name);
	msg_set_str(&m, F_JOB, job);
	msg_set_str(&m, F_BINARY, js.binary);
	msg_set_strv(&m, F_ARGS, &js.args);
	if (js.cwd != NULL)
		msg_set_str(&m, F_CWD, js.cwd);
	msg_set_strmap(&m, F_ENV, &js.env);
	msg_set_strv(&m, F_PATHS, &js.paths);
	msg_set_bool(&m, F_INTERACTIVE, false);
	msg_set_bool(&m, F_FALLBACK, false);
	msg_set_bool(&m, F_DETACHED, true);
	jobspec_free(&js);
	if ((rc = cli_submit(&cli, &m, &r)) != 0)
		rc = rc == -2 ? EXIT_INTR : 1;
	else if (r.type == MT_REFUSED) {
		cli_err(&cli, "job refused: %s", r.text != NULL ? r.text :
		    r.reason != NULL ? r.reason : "?");
		rc = 1;
	} else {
		printf("%s\n", job);
		if (fflush(stdout) != 0)
			rc = 1;
	}
	cli_reply_free(&r);
	cli_close(&cli);
	return rc;
}

static int
cmd_submit(struct cli_env *env, int argc, char **argv)
{
	const char	*binary = "ffmpeg";
	bool		 detach = false;
	int		 i;

	/* Our options come first; the rest is the binary's command line. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			cli_cmd_usage(env, env->cmd, stdout, true);
			return 0;
		} else if (strcmp(argv[i], "--detach") == 0)
			detach = true;
		else if (strcmp(argv[i], "-b") == 0 ||
		    strcmp(argv[i], "--binary") == 0) {
			if (++i >= argc)
				return cli_usage_error(env, "%s needs a "
				    "binary name", argv[i - 1]);
			binary = argv[i];
		} else if (strncmp(argv[i], "--binary=", 9) == 0)
			binary = argv[i] + 9;
		else if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		} else
			break;
	}
	if (i >= argc)
		return cli_usage_error(env, "submit needs the binary's "
		    "arguments");
	if (detach)
		return submit_detached(env, binary, argc - i, argv + i);
	/* Attached: the proxy runs it, stdin, stdout and status included,
	 * for a binary it serves. */
	if (ctx_conf(env->arg) != 0)
		return 1;
	if (!strv_contains(&((struct client_ctx *)env->arg)->conf.binaries,
	    binary))
		return cli_usage_error(env, "binary '%s' is not one of this "
		    "client's binaries (its config's `binaries`)", binary);
	argv[i - 1] = (char *)binary;
	return run_proxy(env->arg, argc - i + 1, argv + i - 1);
}

static const struct cli_cmd client_cmds[] = {
	CLI_CMD_STATUS,
	CLI_CMD_WORKER_LIST,
	CLI_CMD_WORKER_SHOW,
	CLI_CMD_JOB_LIST,
	CLI_CMD_JOB_SHOW,
	CLI_CMD_JOB_LOGS,
	CLI_CMD_JOB_CANCEL,
	CLI_CMD_JOB_ATTACH,
	{ "submit", "[-b BINARY] [--detach] [--] ARGS...",
	  "run a job on the cluster with the paths mapped as the ffmpeg link "
	  "maps them; attached, its output and exit status are this "
	  "command's",
	  "  -b, --binary B  the binary to run (default ffmpeg)\n"
	  "  --detach        print the job's id and return at once; the job "
	  "runs with\n                  nobody attached (stdin empty, stdout "
	  "discarded unless the\n                  arguments write to a "
	  "file); follow it with job logs -f\n                  or job "
	  "attach\n"
	  "  --              end of these options: what follows is the "
	  "binary's\n", cmd_submit, CLI_OWN_HELP },
	{ "translate", "[--cwd DIR] BINARY [ARGS...]",
	  "print the job the ffmpeg link would submit, as JSON, without "
	  "connecting",
	  "  --cwd DIR       the working directory to map (default: this "
	  "one)\n", cmd_translate, CLI_OWN_HELP },
	{ "run", "BINARY [ARGS...]",
	  "run BINARY through the cluster, exactly as the ffmpeg link does",
	  NULL, cmd_run, CLI_OWN_HELP },
};

int
client_main(int argc, char **argv)
{
	struct client_ctx	 ctx;
	struct cli_env		 env;
	int			 first, rc;

	memset(&ctx, 0, sizeof(ctx));
	memset(&env, 0, sizeof(env));
	env.prog = "dffmpeg client";
	env.global = "[-c FILE]";
	env.global_help = "  -c, --config F  the client's config (default: "
	    "$DFFMPEG_CLIENT_CONFIG,\n                  ./dffmpeg-client.yaml, "
	    "~/.config/dffmpeg/client.yaml,\n                  "
	    "/etc/dffmpeg/client.yaml)\n";
	env.cmds = client_cmds;
	env.ncmds = nitems(client_cmds);
	env.connect = client_connect;
	env.arg = &ctx;
	if ((rc = cli_options(&env, argc, argv, &ctx.config, &first)) != -1)
		return rc;
	if (sodium_init() < 0)
		return 1;
	log_init("dffmpeg-client", LOG_SINK_STDERR, NULL);
	log_set_level(LL_ERROR);
	rc = cli_dispatch(&env, argc - first, argv + first);
	if (ctx.loaded)
		settings_free_client(&ctx.conf);
	return rc;
}
