/*
 * dffmpeg admin: identities and keys, and the broker ACL.
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
#include "bounds.h"
#include "ident.h"
#include "log.h"
#include "loop.h"
#include "msg.h"
#include "node.h"
#include "settings.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define EXIT_USAGE	2
#define ADMIN_IDENTITY	"admin"		/* identity of operations over MQTT */
#define ASK_TIMEOUT_MS	10000

struct admin_ctx {
	const char		*config;	/* -c FILE, or NULL to search */
	struct coord_conf	 conf;
	bool			 loaded;
	struct store		*store;
};

struct admin_cmd {
	const char	*name;
	const char	*sub;		/* second word, or NULL */
	int		(*fn)(struct admin_ctx *, const struct admin_cmd *, int,
			    char **);
	const char	*usage;		/* arguments after the words */
	const char	*summary;
};

static int	cmd_user_add(struct admin_ctx *, const struct admin_cmd *,
		    int, char **);
static int	cmd_user_list(struct admin_ctx *, const struct admin_cmd *,
		    int, char **);
static int	cmd_user_remove(struct admin_ctx *, const struct admin_cmd *,
		    int, char **);
static int	cmd_mqtt_acl(struct admin_ctx *, const struct admin_cmd *,
		    int, char **);
static int	cmd_ask(struct admin_ctx *, const struct admin_cmd *,
		    int, char **);

static const struct admin_cmd admin_cmds[] = {
	{ "user", "add", cmd_user_add, "NAME --role client|worker|admin",
	  "create an identity and print its key (shown once)" },
	{ "user", "list", cmd_user_list, "",
	  "list identities: NAME ROLE CREATED (UTC)" },
	{ "user", "remove", cmd_user_remove, "NAME",
	  "delete an identity; the coordinator forgets it at once" },
	{ "worker", "list", cmd_ask, "",
	    "list the workers the coordinator knows" },
	{ "worker", "show", cmd_ask, "NAME",
	    "a worker's state, device slots, verified hardware, and what "
	    "failed verification and why" },
	{ "worker", "drain", cmd_ask, "NAME",
	    "stop placing jobs on a worker; its running jobs finish" },
	{ "worker", "resume", cmd_ask, "NAME",
	    "let a drained worker take jobs again" },
	{ "job", "cancel", cmd_ask, "JOB",
	    "cancel a job (its remote process gets SIGTERM, then SIGKILL)" },
	{ "mqtt-acl", NULL, cmd_mqtt_acl, "[-p PREFIX]",
	  "print the mosquitto ACL file for the topic prefix" },
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

static void
cmd_usage(FILE *f, const struct admin_cmd *c)
{
	fprintf(f, "usage: dffmpeg admin [-c FILE] %s%s%s%s%s\n", c->name,
	    c->sub != NULL ? " " : "", c->sub != NULL ? c->sub : "",
	    *c->usage != '\0' ? " " : "", c->usage);
}

static void
admin_usage(FILE *f)
{
	const struct admin_cmd	*c;
	char			 words[64];

	fprintf(f, "usage: dffmpeg admin [-c FILE] COMMAND [ARGS...]\n"
	    "       dffmpeg admin --help\n\n"
	    "  -c FILE   the coordinator's config (for database and "
	    "master_key_file)\n\ncommands:\n");
	for (c = admin_cmds; c < admin_cmds + nitems(admin_cmds); c++) {
		snprintf(words, sizeof(words), "%s%s%s", c->name,
		    c->sub != NULL ? " " : "", c->sub != NULL ? c->sub : "");
		fprintf(f, "  %s%s%s\n      %s\n", words,
		    *c->usage != '\0' ? " " : "", c->usage, c->summary);
	}
}

/*
 * Options of a command: the only ones any command takes are -h and, per
 * command, one option with an argument.  Returns -1 after printing usage
 * (status in *rc), 0 otherwise with the positional arguments left at
 * argv[optind..].
 */
static int
cmd_getopt(int argc, char **argv, const struct admin_cmd *c,
    const char *optname, int optch, char **optarg_out, int *rc)
{
	struct option	 longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ optname != NULL ? optname : "help", required_argument, NULL,
		  optch },
		{ NULL, 0, NULL, 0 },
	};
	char		 shortopts[8];
	int		 ch;

	/* No '+': GNU getopt permutes, so "add NAME --role x" works too. */
	if (optname != NULL)
		snprintf(shortopts, sizeof(shortopts), "h%c:", optch);
	else {
		snprintf(shortopts, sizeof(shortopts), "h");
		longopts[1] = longopts[2];
	}
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shortopts, longopts,
	    NULL)) != -1) {
		if (ch == 'h') {
			cmd_usage(stdout, c);
			printf("\n%s\n", c->summary);
			*rc = 0;
			return -1;
		}
		if (optname != NULL && ch == optch) {
			*optarg_out = optarg;
			continue;
		}
		admin_err("%s: bad option %s", argv[0], argv[optind - 1]);
		cmd_usage(stderr, c);
		*rc = EXIT_USAGE;
		return -1;
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
cmd_user_add(struct admin_ctx *ctx, const struct admin_cmd *c, int argc,
    char **argv)
{
	const char		*path, *name;
	char			*rolestr = NULL, *b64 = NULL, err[1024];
	uint8_t			 mk[KEY_LEN], key[KEY_LEN];
	struct stat		 st;
	bool			 existed;
	int			 role, rc;

	if (cmd_getopt(argc, argv, c, "role", 'r', &rolestr, &rc) != 0)
		return rc;
	if (argc - optind != 1 || rolestr == NULL) {
		admin_err("user add needs NAME and --role");
		cmd_usage(stderr, c);
		return EXIT_USAGE;
	}
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
cmd_user_list(struct admin_ctx *ctx, const struct admin_cmd *c, int argc,
    char **argv)
{
	int			 rc;

	if (cmd_getopt(argc, argv, c, NULL, 0, NULL, &rc) != 0)
		return rc;
	if (argc != optind) {
		cmd_usage(stderr, c);
		return EXIT_USAGE;
	}
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
cmd_user_remove(struct admin_ctx *ctx, const struct admin_cmd *c, int argc,
    char **argv)
{
	const char		*name;
	int			 rc;

	if (cmd_getopt(argc, argv, c, NULL, 0, NULL, &rc) != 0)
		return rc;
	if (argc - optind != 1) {
		cmd_usage(stderr, c);
		return EXIT_USAGE;
	}
	name = argv[optind];
	if (ctx_store(ctx) != 0)
		return 1;
	switch (store_ident_remove(ctx->store, name)) {
	case 0:
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
cmd_mqtt_acl(struct admin_ctx *ctx, const struct admin_cmd *c, int argc,
    char **argv)
{
	char			*prefix = NULL;
	const char		*p;
	int			 rc;

	if (cmd_getopt(argc, argv, c, "prefix", 'p', &prefix, &rc) != 0)
		return rc;
	if (argc != optind) {
		cmd_usage(stderr, c);
		return EXIT_USAGE;
	}
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
 * `admin` messages.  They use the identity `admin` (role admin), created
 * in the coordinator's database on first use, and the coordinator's
 * broker credentials: whoever can run this can read that config anyway.
 */
struct ask {
	struct event_base	*base;
	struct node		 node;
	struct msg		 req;		/* until sent */
	char			 id[ID_BUF];
	struct event		*ev_timeout;
	int			 rc;
	bool			 sent;
	bool			 answered;
};

static void
ask_ready(void *arg)
{
	struct ask	*a = arg;

	/* Re-sent by the outbox (after reconnects too) until the reply
	 * (ref == id) arrives. */
	if (a->sent)
		return;
	a->sent = true;
	snprintf(a->id, sizeof(a->id), "%s", a->req.id);
	msg_set_str(&a->req, F_SESSION, a->node.session);
	node_send(&a->node, &a->req, true);
}

static void
ask_closed(void *arg)
{
	struct ask	*a = arg;

	event_base_loopexit(a->base, NULL);
}

static void
ask_control(void *arg, const struct msg *m)
{
	struct ask	*a = arg;
	size_t		 len;

	if (m->type != MT_REPLY || strcmp(m->ref, a->id) != 0 ||
	    a->answered)
		return;
	a->answered = true;
	a->rc = m->present & FBIT(F_CODE) ? (int)m->code : 0;
	if (m->present & FBIT(F_TEXT)) {
		len = strlen(m->text);
		fprintf(a->rc == 0 ? stdout : stderr, "%s%s%s",
		    a->rc == 0 ? "" : "dffmpeg admin: ", m->text,
		    len > 0 && m->text[len - 1] == '\n' ? "" : "\n");
	}
	node_shutdown(&a->node, false, ask_closed, a);
}

static void
ask_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct ask	*a = arg;

	(void)fd;
	(void)what;
	admin_err("no answer from the coordinator within %d s (is it "
	    "running, and the broker at %s reachable?)", ASK_TIMEOUT_MS / 1000,
	    a->node.mqtt != NULL ? "the configured address" : "?");
	a->rc = 1;
	event_base_loopexit(a->base, NULL);
}

static const struct node_ops ask_ops = {
	ask_ready,
	NULL,
	ask_control,
	NULL,
};

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

static int
cmd_ask(struct admin_ctx *ctx, const struct admin_cmd *c, int argc,
    char **argv)
{
	struct ask	 a;
	uint8_t		 key[KEY_LEN];
	char		 err[1024];
	const char	*what;
	int		 rc;

	if (cmd_getopt(argc, argv, c, NULL, 0, NULL, &rc) != 0)
		return rc;
	if (argc - optind != (strcmp(c->sub, "list") == 0 ? 0 : 1)) {
		cmd_usage(stderr, c);
		return EXIT_USAGE;
	}
	what = strcmp(c->name, "job") == 0 ? "cancel" :
	    strcmp(c->sub, "list") == 0 ? "workers" :
	    strcmp(c->sub, "show") == 0 ? "worker-show" : c->sub;
	if (admin_key(ctx, key) != 0)
		return 1;
	memset(&a, 0, sizeof(a));
	a.base = loop_new();
	a.rc = 1;
	msg_init(&a.req, MT_ADMIN, ADMIN_IDENTITY);
	msg_set_str(&a.req, F_WHAT, what);
	if (argc - optind == 1)
		msg_set_str(&a.req, F_TARGET, argv[optind]);
	if (node_init(&a.node, a.base, &ctx->conf.mqtt, ADMIN_IDENTITY, key,
	    true, &ask_ops, &a, err, sizeof(err)) != 0) {
		admin_err("%s", err);
		sodium_memzero(key, sizeof(key));
		msg_clear(&a.req);
		event_base_free(a.base);
		return 1;
	}
	sodium_memzero(key, sizeof(key));
	a.ev_timeout = loop_timer(a.base, false, ask_timeout, &a);
	loop_arm(a.ev_timeout, ASK_TIMEOUT_MS);
	node_start(&a.node);
	event_base_dispatch(a.base);
	event_free(a.ev_timeout);
	node_free(&a.node);
	msg_clear(&a.req);
	event_base_free(a.base);
	return a.rc;
}

static const struct admin_cmd *
cmd_find(int argc, char **argv, int *words)
{
	size_t	i;

	for (i = 0; i < nitems(admin_cmds); i++) {
		if (strcmp(admin_cmds[i].name, argv[0]) != 0)
			continue;
		if (admin_cmds[i].sub == NULL) {
			*words = 1;
			return &admin_cmds[i];
		}
		if (argc >= 2 && strcmp(admin_cmds[i].sub, argv[1]) == 0) {
			*words = 2;
			return &admin_cmds[i];
		}
	}
	return NULL;
}

int
admin_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct admin_ctx	 ctx;
	const struct admin_cmd	*c;
	int			 ch, words, rc;

	memset(&ctx, 0, sizeof(ctx));
	if (sodium_init() < 0) {
		admin_err("cannot initialise libsodium");
		return 1;
	}
	umask(077);	/* the database and the master key it may create */
	log_init("dffmpeg admin", LOG_SINK_STDERR, NULL);
	log_set_level(LL_WARN);

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			ctx.config = optarg;
			break;
		case 'h':
			admin_usage(stdout);
			return 0;
		default:
			admin_err("bad option %s", argv[optind - 1]);
			admin_usage(stderr);
			return EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		admin_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0) {
		admin_usage(stdout);
		return 0;
	}
	if ((c = cmd_find(argc, argv, &words)) == NULL) {
		if (argc >= 2)
			admin_err("unknown command '%s %s'", argv[0], argv[1]);
		else
			admin_err("unknown command '%s'", argv[0]);
		admin_usage(stderr);
		return EXIT_USAGE;
	}
	rc = c->fn(&ctx, c, argc - (words - 1), argv + (words - 1));
	store_close(ctx.store);
	if (ctx.loaded)
		settings_free_coord(&ctx.conf);
	return rc;
}
