/*
 * Start-up helpers of the long-running applets.  See daemon.h.
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>

#include "daemon.h"
#include "log.h"

static void
daemon_usage(FILE *f, const char *applet, const char *what, bool full)
{
	char	upper[32];
	size_t	i;

	for (i = 0; applet[i] != '\0' && i + 1 < sizeof(upper); i++)
		upper[i] = (char)toupper((unsigned char)applet[i]);
	upper[i] = '\0';
	fprintf(f, "usage: dffmpeg %s [-n] [-d] [-c FILE]\n", applet);
	if (!full)
		return;
	fprintf(f, "\n%s\n\noptions:\n"
	    "  -c, --config FILE  the config (default: the first of\n"
	    "                     $DFFMPEG_%s_CONFIG, ./dffmpeg-%s.yaml,\n"
	    "                     ~/.config/dffmpeg/%s.yaml, "
	    "/etc/dffmpeg/%s.yaml)\n"
	    "  -n, --check        check the config, print \"configuration "
	    "OK\" and exit\n"
	    "  -d, --debug        log at debug level\n"
	    "  -h, --help         show this help\n", what, upper, applet,
	    applet, applet);
}

int
daemon_getopt(int argc, char **argv, const char *applet, const char *what,
    struct daemon_opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'n' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int	ch;

	o->config = NULL;
	o->check_only = o->debug = false;
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "c:dhn", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 'd':
			o->debug = true;
			break;
		case 'n':
			o->check_only = true;
			break;
		case 'h':
			daemon_usage(stdout, applet, what, true);
			return 0;
		default:
			fprintf(stderr, "dffmpeg %s: bad option or missing "
			    "value: %s\n", applet, argv[optind - 1]);
			daemon_usage(stderr, applet, what, false);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "dffmpeg %s: unexpected argument '%s'\n",
		    applet, argv[optind]);
		daemon_usage(stderr, applet, what, false);
		return 2;
	}
	return -1;
}

void
daemon_logging(const char *ident, const char *file, const char *level,
    bool debug)
{
	enum log_level	l;

	if (file != NULL)
		log_init(ident, LOG_SINK_FILE, file);
	if (level != NULL && log_level_parse(level, &l) == 0)
		log_set_level(l);
	if (debug)
		log_set_level(LL_DEBUG);
}
