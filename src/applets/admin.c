/*
 * dffmpeg admin: identities and keys, the broker ACL, and the cluster's
 * operations (status, workers, every client's jobs: cli_cmds.h).
 *
 * Works on the coordinator's own database file (from the coordinator's
 * config), next to a running coordinator: SQLite's WAL mode lets both
 * write, and the coordinator picks up identity changes by itself
 * (store_data_version).  A new key is printed once, alone on stdout, so
 * that KEY=$(dffmpeg admin user add w1 --role worker) captures exactly it;
 * everything else goes to stderr.
 *
 * Exit status: 0 done, 1 failed, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <event2/event.h>
#include <sodium.h>

#include "applet.h"
#include "cli.h"
#include "cli_cmds.h"
#include "bounds.h"
#include "config.h"
#include "ident.h"
#include "log.h"
#include "loop.h"
#include "msg.h"
#include "node.h"
#include "settings.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define ADMIN_IDENTITY	ADMIN_NAME	/* identity of operations over MQTT */
#define GRACE_DEFAULT_MS	(10 * 60 * 1000)

struct admin_ctx {
	const char		*config;	/* -c FILE, or NULL to search */
	struct coord_conf	 conf;
	bool			 loaded;
	struct store		*store;
};

static void __attribute__((format(printf, 1, 2)))
admin_err(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "dffmpeg admin: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Options of the local commands: -h is answered by cli_dispatch; the only
 * other option any of them takes is, per command, one with an argument.
 * Returns 0 with the positional arguments left at argv[optind..], or the
 * exit status of a usage error (printed).
 */
static int
cmd_getopt(struct cli_env *env, int argc, char **argv, const char *optname,
    int optch, char **optarg_out)
{
	struct option	 longopts[] = {
		{ optname != NULL ? optname : "", required_argument, NULL,
		  optch },
		{ NULL, 0, NULL, 0 },
	};
	char		 shortopts[8] = "";
	int		 ch;

	/* No '+': GNU getopt permutes, so "add NAME --role x" works too. */
	if (optname != NULL)
		snprintf(shortopts, sizeof(shortopts), "%c:", optch);
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, optname != NULL ?
	    longopts : longopts + 1, NULL)) != -1) {
		if (optname != NULL && ch == optch) {
			*optarg_out = optarg;
			continue;
		}
		return cli_usage_error(env, "%s: bad option or missing value: "
		    "%s", env->cmd->words, argv[optind - 1]);
	}
	return 0;
}

static int
ctx_conf(struct admin_ctx *ctx)
{
	char	err[1024];

	if (ctx->loaded)
		return 0;
	if (settings_load_coord(ctx->config, &ctx->conf, err,
	    sizeof(err)) != 0) {
		admin_err("%s", err);
		return -1;
	}
	ctx->loaded = true;
	if (ctx->conf.database == NULL || *ctx->conf.database == '\0') {
		admin_err("no database in the coordinator's config");
		return -1;
	}
	return 0;
}

static int
ctx_store(struct admin_ctx *ctx)
{
	char	err[1024];

	if (ctx->store != NULL)
		return 0;
	if (ctx_conf(ctx) != 0)
		return -1;
	if ((ctx->store = store_open(ctx->conf.database, err,
	    sizeof(err))) == NULL) {
		admin_err("%s", err);
		return -1;
	}
	return 0;
}

static int
cmd_user_add(struct cli_env *env, int argc, char **argv)
{
	struct admin_ctx	*ctx = env->arg;
	const char		*path, *name;
	char			*rolestr = NULL, *b64 = NULL, err[1024];
	uint8_t			 mk[KEY_LEN], key[KEY_LEN];
	struct stat		 st;
	bool			 existed;
	int			 role, rc;

	if ((rc = cmd_getopt(env, argc, argv, "role", 'r', &rolestr)) != 0)
		return rc;
	if (argc - optind != 1 || rolestr == NULL)
		return cli_usage_error(env, "user add needs NAME and --role");
	name = argv[optind];
	role = role_parse(rolestr);
	if (role != ROLE_CLIENT && role != ROLE_WORKER && role != ROLE_ADMIN) {
		admin_err("bad role '%s': use client, worker or admin",
		    rolestr);
		return EXIT_USAGE;
	}
	if (ctx_store(ctx) != 0)
		return 1;
	if ((path = ctx->conf.master_key_file) == NULL || *path == '\0') {
		admin_err("no master_key_file in the coordinator's config");
		return 1;
	}
	existed = stat(path, &st) == 0 || errno != ENOENT;
	if (ident_master_load(path, true, mk, err, sizeof(err)) != 0) {
		admin_err("%s", err);
		return 1;
	}
	if (!existed)
		admin_err("created master key %s (keep it with the database; "
		    "without it no key can be read)", path);
	rc = ident_add(ctx->store, mk, name, role, key, err, sizeof(err));
	sodium_memzero(mk, sizeof(mk));
	if (rc != 0) {
		admin_err("%s", err);
		return 1;
	}
	b64 = b64_encode(key, sizeof(key));
	sodium_memzero(key, sizeof(key));
	printf("%s\n", b64);
	rc = fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
	secret_free(b64, strlen(b64));
	if (rc != 0) {
		admin_err("writing the key: %s; remove '%s' and retry",
		    strerror(errno), name);
		return 1;
	}
	admin_err("added %s identity '%s'; its key (above) is not shown "
	    "again", role_name(role), name);
	return 0;
}

static int
print_ident(const struct ident_row *r, void *arg)
{
	const char	*role;
	char		 when[32];
	struct tm	 tm;
	time_t		 t = (time_t)(r->created / 1000);

	(void)arg;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	if ((role = role_name(r->role)) == NULL)
		role = "?";
	printf("%-24s %-7s %s\n", r->name, role, when);
	return 0;
}

static int
cmd_user_list(struct cli_env *env, int argc, char **argv)
{
	struct admin_ctx	*ctx = env->arg;
	int			 rc;

	if ((rc = cmd_getopt(env, argc, argv, NULL, 0, NULL)) != 0)
		return rc;
	if (argc != optind)
		return cli_usage_error(env, "user list takes no arguments");
	if (ctx_store(ctx) != 0)
		return 1;
	if (store_ident_list(ctx->store, print_ident, NULL) != 0) {
		admin_err("cannot list identities");
		return 1;
	}
	if (fflush(stdout) != 0) {
		admin_err("stdout: %s", strerror(errno));
		return 1;
	}
	return 0;
}

static int
cmd_user_remove(struct cli_env *env, int argc, char **argv)
{
	struct admin_ctx	*ctx = env->arg;
	struct ident_row	 row;
	const char		*name;
	int			 rc;

	if ((rc = cmd_getopt(env, argc, argv, NULL, 0, NULL)) != 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage_error(env, "user remove needs NAME");
	name = argv[optind];
	if (ctx_store(ctx) != 0)
		return 1;
	if ((rc = store_ident_get(ctx->store, name, &row)) == 0)
		rc = store_ident_remove(ctx->store, name);
	switch (rc) {
	case 0:
		printf("removed %s identity '%s'; the coordinator refuses its "
		    "key from now on\n", role_name(row.role), name);
		sodium_memzero(&row, sizeof(row));
		return 0;
	case 1:
		admin_err("no identity '%s'", name);
		return 1;
	default:
		admin_err("cannot remove identity '%s'", name);
		return 1;
	}
}

/* A prefix goes into topic filters and a line-based file. */
static bool
prefix_valid(const char *p)
{
	size_t	i;

	if (*p == '\0' || *p == '/')
		return false;
	for (i = 0; p[i] != '\0'; i++)
		if (p[i] == '+' || p[i] == '#' || p[i] <= ' ' || p[i] == 0x7f)
			return false;
	return p[i - 1] != '/';
}

static int
cmd_mqtt_acl(struct cli_env *env, int argc, char **argv)
{
	struct admin_ctx	*ctx = env->arg;
	char			*prefix = NULL;
	const char		*p;
	int			 rc;

	if ((rc = cmd_getopt(env, argc, argv, "prefix", 'p', &prefix)) != 0)
		return rc;
	if (argc != optind)
		return cli_usage_error(env, "mqtt-acl takes no arguments");
	if (prefix != NULL)
		p = prefix;
	else {
		if (ctx_conf(ctx) != 0)
			return 1;
		p = ctx->conf.mqtt.topic_prefix;
		if (p == NULL)
			p = TOPIC_PREFIX_DEFAULT;
	}
	if (!prefix_valid(p)) {
		admin_err("bad topic prefix '%s'", p);
		return 1;
	}
	printf(
	    "# mosquitto ACL for dffmpeg, topic prefix \"%s\".\n"
	    "# Generated by `dffmpeg admin mqtt-acl`; use it with\n"
	    "#   acl_file /etc/mosquitto/dffmpeg.acl\n"
	    "#   allow_anonymous false\n"
	    "#\n"
	    "# Each broker user is named after its dffmpeg identity (the\n"
	    "# client_id of a worker or client), so %%u below is that identity.\n"
	    "# The broker confines every user to its own uplink and downlinks;\n"
	    "# messages on them are also signed with the identity's key.\n"
	    "# MQTT client ids are the identity plus a random part drawn by\n"
	    "# each process, so no user can take over another's connection\n"
	    "# (do not set use_username_as_clientid).\n"
	    "\n"
	    "# Control uplink: only to the coordinator, only as oneself.\n"
	    "pattern write %s/coord/%%u\n"
	    "# Control downlink of a worker.\n"
	    "pattern read %s/worker/%%u\n"
	    "# Control downlinks of a client's processes (one per session).\n"
	    "pattern read %s/client/%%u/#\n"
	    "# Data plane: open to every authenticated user (a pattern, because\n"
	    "# `topic` lines before any `user` line apply to anonymous clients\n"
	    "# only); frames are sealed with a per-job key nobody else has.\n"
	    "pattern readwrite %s/job/#\n"
	    "\n"
	    "# The coordinator's broker user.  It must be named `coordinator`\n"
	    "# (a name no identity may take): it receives every uplink and\n"
	    "# sends every downlink.\n"
	    "# `dffmpeg admin worker|job ...` connects with the coordinator's\n"
	    "# credentials as the `admin` identity, hence readwrite.\n"
	    "user coordinator\n"
	    "topic readwrite %s/coord/#\n"
	    "topic readwrite %s/worker/#\n"
	    "topic readwrite %s/client/#\n",
	    p, p, p, p, p, p, p, p);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		admin_err("stdout: %s", strerror(errno));
		return 1;
	}
	return 0;
}

/*
 * Operations on the running cluster go to the coordinator as signed
 * `query`, `cancel` and `admin` messages.  They use the identity `admin`
 * (role admin), created in the coordinator's database on first use, and
 * the coordinator's broker credentials: whoever can run this can read
 * that config anyway.
 */
/* The key of the admin identity, created if it does not exist yet. */
static int
admin_key(struct admin_ctx *ctx, uint8_t key[KEY_LEN])
{
	struct ident_row	 row;
	uint8_t			 mk[KEY_LEN];
	char			 err[1024];
	int			 rc;

	if (ctx_store(ctx) != 0)
		return -1;
	if (ident_master_load(ctx->conf.master_key_file, true, mk, err,
	    sizeof(err)) != 0) {
		admin_err("%s", err);
		return -1;
	}
	rc = store_ident_get(ctx->store, ADMIN_IDENTITY, &row);
	if (rc == 1) {
		rc = ident_add(ctx->store, mk, ADMIN_IDENTITY, ROLE_ADMIN, key,
		    err, sizeof(err));
		if (rc != 0)
			admin_err("%s", err);
	} else if (rc == 0 && row.role != ROLE_ADMIN) {
		admin_err("identity '%s' exists but is not an admin",
		    ADMIN_IDENTITY);
		rc = -1;
	} else if (rc == 0 && ident_unseal(mk, row.sealed, row.sealed_len,
	    key) != 0) {
		admin_err("the key of '%s' does not open with %s",
		    ADMIN_IDENTITY, ctx->conf.master_key_file);
		rc = -1;
	}
	sodium_memzero(mk, sizeof(mk));
	return rc == 0 ? 0 : -1;
}

/* Local date and time of ms since the epoch, with its zone. */
static void
local_time(int64_t ms, char *out, size_t len)
{
	time_t		t = (time_t)(ms / 1000);
	struct tm	tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(out, len, "?");
}

static int
cmd_user_show(struct cli_env *env, int argc, char **argv)
{
	struct admin_ctx	*ctx = env->arg;
	struct ident_row	 row;
	char			 when[64];
	int			 rc;

	if ((rc = cmd_getopt(env, argc, argv, NULL, 0, NULL)) != 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage_error(env, "user show needs NAME");
	if (ctx_store(ctx) != 0)
		return 1;
	if ((rc = store_ident_get(ctx->store, argv[optind], &row)) != 0) {
		admin_err(rc == 1 ? "no identity '%s'" : "cannot read identity "
		    "'%s'", argv[optind]);
		return 1;
	}
	printf("name      %s\nrole      %s\n", row.name, role_name(row.role));
	local_time(row.created, when, sizeof(when));
	printf("created   %s\n", when);
	if (row.old_sealed_len > 0 && row.old_until > now_ms()) {
		local_time(row.old_until, when, sizeof(when));
		printf("key       rotated; the previous key works until %s\n",
		    when);
	} else if (row.old_sealed_len > 0) {
		local_time(row.old_until, when, sizeof(when));
		printf("key       rotated; the previous key stopped working "
		    "at %s\n", when);
	} else
		printf("key       as created\n");
	sodium_memzero(&row, sizeof(row));
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
cmd_user_rotate_key(struct cli_env *env, int argc, char **argv)
{
	struct admin_ctx	*ctx = env->arg;
	uint8_t			 mk[KEY_LEN], key[KEY_LEN];
	int64_t			 grace = GRACE_DEFAULT_MS;
	char			*gracestr = NULL, *b64, err[1024], when[64];
	int			 rc;

	if ((rc = cmd_getopt(env, argc, argv, "grace", 'g', &gracestr)) != 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage_error(env, "user rotate-key needs NAME");
	if (gracestr != NULL && (config_parse_duration(gracestr, &grace) != 0 ||
	    grace > 30LL * 24 * 3600 * 1000))
		return cli_usage_error(env, "--grace %s: not a duration up to "
		    "30d (0, 90s, 10m, 2h)", gracestr);
	if (ctx_store(ctx) != 0)
		return 1;
	if (ident_master_load(ctx->conf.master_key_file, false, mk, err,
	    sizeof(err)) != 0) {
		admin_err("%s", err);
		return 1;
	}
	rc = ident_rotate(ctx->store, mk, argv[optind], grace, key, err,
	    sizeof(err));
	sodium_memzero(mk, sizeof(mk));
	if (rc != 0) {
		admin_err("%s", err);
		return 1;
	}
	b64 = b64_encode(key, sizeof(key));
	sodium_memzero(key, sizeof(key));
	printf("%s\n", b64);
	rc = fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
	secret_free(b64, strlen(b64));
	if (rc != 0) {
		admin_err("writing the key: %s; rotate it again", strerror(errno));
		return 1;
	}
	if (grace > 0) {
		local_time(now_ms() + grace, when, sizeof(when));
		admin_err("new key for '%s' (above; not shown again); the old "
		    "one works until %s", argv[optind], when);
	} else
		admin_err("new key for '%s' (above; not shown again); the old "
		    "one no longer works", argv[optind]);
	return 0;
}

static int
admin_connect(struct cli_env *env, struct cli *cli)
{
	struct admin_ctx	*ctx = env->arg;
	uint8_t			 key[KEY_LEN];
	char			 err[1024];
	int			 rc;

	if (admin_key(ctx, key) != 0)
		return -1;
	rc = cli_open(cli, env->prog, &ctx->conf.mqtt, ADMIN_IDENTITY, key,
	    err, sizeof(err));
	sodium_memzero(key, sizeof(key));
	if (rc != 0)
		admin_err("%s", err);
	return rc;
}

/* An `admin` operation on a worker: drain, resume, remove. */
static int
worker_op(struct cli_env *env, int argc, char **argv, const char *op)
{
	struct cli_reply	 r;
	struct cli		 cli;
	struct msg		 m;
	size_t			 len;
	int			 rc;

	if ((rc = cmd_getopt(env, argc, argv, NULL, 0, NULL)) != 0)
		return rc;
	if (argc - optind != 1)
		return cli_usage_error(env, "%s needs the worker's NAME",
		    env->cmd->words);
	if (admin_connect(env, &cli) != 0)
		return 1;
	msg_init(&m, MT_ADMIN, ADMIN_IDENTITY);
	msg_set_str(&m, F_WHAT, op);
	msg_set_str(&m, F_TARGET, argv[optind]);
	if ((rc = cli_request(&cli, &m, &r)) != 0)
		rc = rc == -2 ? EXIT_INTR : 1;
	else {
		rc = r.has_code ? (int)r.code : 0;
		if (r.text != NULL) {
			len = strlen(r.text);
			fprintf(rc == 0 ? stdout : stderr, "%s%s%s",
			    rc == 0 ? "" : "dffmpeg admin: ", r.text,
			    len > 0 && r.text[len - 1] == '\n' ? "" : "\n");
		}
		rc = rc == 0 ? 0 : 1;
	}
	cli_reply_free(&r);
	cli_close(&cli);
	return rc;
}

static int
cmd_worker_drain(struct cli_env *env, int argc, char **argv)
{
	return worker_op(env, argc, argv, "drain");
}

static int
cmd_worker_resume(struct cli_env *env, int argc, char **argv)
{
	return worker_op(env, argc, argv, "resume");
}

static int
cmd_worker_remove(struct cli_env *env, int argc, char **argv)
{
	return worker_op(env, argc, argv, "worker-remove");
}

static const struct cli_cmd admin_cmds[] = {
	CLI_CMD_STATUS,
	{ "user add", "NAME --role client|worker|admin",
	  "create an identity and print its key (shown once)",
	  "  -r, --role R    client (a media server), worker (an encoding "
	  "node) or\n                  admin\n", cmd_user_add, 0 },
	{ "user list", "", "list identities: NAME ROLE CREATED (UTC)", NULL,
	  cmd_user_list, 0 },
	{ "user show", "NAME", "an identity: its role, when it was created, "
	  "and until when its previous key still works", NULL, cmd_user_show,
	  0 },
	{ "user remove", "NAME", "delete an identity; the coordinator "
	  "forgets it at once", NULL, cmd_user_remove, 0 },
	{ "user rotate-key", "NAME [--grace DURATION]", "give an identity a "
	  "new key and print it (shown once); the old one keeps working for "
	  "the grace period",
	  "  -g, --grace D   how long the old key still works (default 10m; "
	  "0: not at\n                  all); the coordinator logs each use "
	  "of it\n", cmd_user_rotate_key, 0 },
	CLI_CMD_WORKER_LIST,
	CLI_CMD_WORKER_SHOW,
	{ "worker drain", "NAME", "stop placing jobs on a worker; its "
	  "running jobs finish", NULL, cmd_worker_drain, 0 },
	{ "worker resume", "NAME", "let a drained worker take jobs again",
	  NULL, cmd_worker_resume, 0 },
	{ "worker remove", "NAME", "forget a worker that is offline or lost "
	  "(its record and history)", NULL, cmd_worker_remove, 0 },
	CLI_CMD_JOB_LIST,
	CLI_CMD_JOB_SHOW,
	CLI_CMD_JOB_LOGS,
	CLI_CMD_JOB_CANCEL,
	CLI_CMD_JOB_ATTACH,
	{ "mqtt-acl", "[-p PREFIX]", "print the mosquitto ACL file for the "
	  "topic prefix",
	  "  -p, --prefix P  the topic prefix (default: the config's "
	  "mqtt.topic_prefix)\n", cmd_mqtt_acl, 0 },
};

int
admin_main(int argc, char **argv)
{
	struct admin_ctx	 ctx;
	struct cli_env		 env;
	int			 first, rc;

	memset(&ctx, 0, sizeof(ctx));
	memset(&env, 0, sizeof(env));
	env.prog = "dffmpeg admin";
	env.global = "[-c FILE]";
	env.global_help = "  -c, --config F  the coordinator's config (its "
	    "database, master_key_file\n                  and broker); "
	    "default: $DFFMPEG_COORDINATOR_CONFIG,\n                  "
	    "./dffmpeg-coordinator.yaml, ~/.config/dffmpeg/coordinator.yaml,"
	    "\n                  /etc/dffmpeg/coordinator.yaml\n";
	env.admin = true;
	env.cmds = admin_cmds;
	env.ncmds = nitems(admin_cmds);
	env.connect = admin_connect;
	env.arg = &ctx;
	if ((rc = cli_options(&env, argc, argv, &ctx.config, &first)) != -1)
		return rc;
	if (sodium_init() < 0) {
		admin_err("cannot initialise libsodium");
		return 1;
	}
	umask(077);	/* the database and the master key it may create */
	log_init("dffmpeg admin", LOG_SINK_STDERR, NULL);
	log_set_level(LL_ERROR);

	rc = cli_dispatch(&env, argc - first, argv + first);
	store_close(ctx.store);
	if (ctx.loaded)
		settings_free_coord(&ctx.conf);
	return rc;
}
