/*
 * dffmpeg client: the command-line side of a client identity.
 *
 *   dffmpeg client [-c FILE] translate [--cwd DIR] BINARY [ARGS...]
 *	print the job the proxy would submit, as JSON, without connecting
 *   dffmpeg client [-c FILE] run BINARY [ARGS...]
 *	run BINARY through the cluster (the same as the ffmpeg persona)
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "applet.h"
#include "jobspec.h"
#include "log.h"
#include "paths.h"
#include "settings.h"
#include "util.h"

struct client_cmd {
	const char	*name;
	int		(*fn)(const char *cfg, int, char **);
	const char	*usage;
};

static int
cmd_translate(const char *cfg, int argc, char **argv)
{
	struct client_conf	 conf;
	struct pathmap		 pm;
	struct jobspec		 js;
	const char		*cwd = NULL;
	char			 err[1024], *json;
	int			 i = 1;

	if (i < argc && strcmp(argv[i], "--cwd") == 0) {
		if (i + 1 >= argc) {
			fprintf(stderr, "dffmpeg client translate: --cwd "
			    "needs a directory\n");
			return 2;
		}
		cwd = argv[i + 1];
		i += 2;
	} else if (i < argc && strncmp(argv[i], "--cwd=", 6) == 0) {
		cwd = argv[i] + 6;
		i++;
	}
	if (i < argc && strcmp(argv[i], "--") == 0)
		i++;
	if (i >= argc) {
		fprintf(stderr, "usage: dffmpeg client translate [--cwd DIR] "
		    "BINARY [ARGS...]\n");
		return 2;
	}
	memset(&conf, 0, sizeof(conf));
	if (settings_load_client(cfg, &conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "dffmpeg client: %s\n", err);
		return 1;
	}
	if (pathmap_init(&pm, &conf.paths, err, sizeof(err)) == -1) {
		fprintf(stderr, "dffmpeg client: %s\n", err);
		settings_free_client(&conf);
		return 1;
	}
	if (jobspec_build(&js, &pm, argv[i], argc - i - 1, argv + i + 1, cwd,
	    NULL, err, sizeof(err)) == -1) {
		fprintf(stderr, "dffmpeg client: %s\n", err);
		pathmap_free(&pm);
		settings_free_client(&conf);
		return 1;
	}
	json = jobspec_json(&js, false);
	printf("%s\n", json);
	free(json);
	jobspec_free(&js);
	pathmap_free(&pm);
	settings_free_client(&conf);
	return 0;
}

static int
cmd_run(const char *cfg, int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: dffmpeg client run BINARY [ARGS...]\n");
		return 2;
	}
	if (cfg != NULL)
		setenv("DFFMPEG_CLIENT_CONFIG", cfg, 1);
	return proxy_main(argc - 1, argv + 1);
}

static const struct client_cmd cmds[] = {
	{ "translate", cmd_translate, "translate [--cwd DIR] BINARY [ARGS...]" },
	{ "run", cmd_run, "run BINARY [ARGS...]" },
};

static void
client_usage(FILE *f)
{
	size_t	i;

	for (i = 0; i < nitems(cmds); i++)
		fprintf(f, "%s dffmpeg client [-c FILE] %s\n",
		    i == 0 ? "usage:" : "      ", cmds[i].usage);
}

int
client_main(int argc, char **argv)
{
	const char	*cfg = NULL;
	size_t		 i;
	int		 ch;

	/* Stop at the first non-option: the command's own arguments (an
	 * ffmpeg command line) must not be parsed here. */
	while ((ch = getopt(argc, argv, "+c:h")) != -1) {
		switch (ch) {
		case 'c':
			cfg = optarg;
			break;
		case 'h':
			client_usage(stdout);
			return 0;
		default:
			client_usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		client_usage(stderr);
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	log_init("dffmpeg-client", LOG_SINK_STDERR, NULL);
	for (i = 0; i < nitems(cmds); i++)
		if (strcmp(argv[0], cmds[i].name) == 0)
			return cmds[i].fn(cfg, argc, argv);
	fprintf(stderr, "dffmpeg client: unknown command %s\n", argv[0]);
	client_usage(stderr);
	return 2;
}
