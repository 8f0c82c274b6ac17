/*
 * Start-up helpers of the long-running applets.  See daemon.h.
 */
#include <getopt.h>
#include <stdio.h>

#include "daemon.h"
#include "log.h"

int
daemon_getopt(int argc, char **argv, const char *usage,
    struct daemon_opts *o)
{
	int	ch;

	o->config = NULL;
	o->check_only = o->debug = false;
	optind = 1;
	while ((ch = getopt(argc, argv, "c:dhn")) != -1) {
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
			printf("usage: %s\n", usage);
			return 0;
		default:
			fprintf(stderr, "usage: %s\n", usage);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: %s\n", usage);
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
