/*
 * dffmpeg: one executable, dispatched busybox style.  The basename of
 * argv[0] selects an applet; "dffmpeg APPLET ARGS..." shifts; --help,
 * --list, --version and --install are built in.  Names that are not
 * applets go to the proxy persona, which serves ffmpeg, ffprobe and any
 * binary named in the client config, and exits 127 for anything else.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "applet.h"
#include "bounds.h"

static void
usage(FILE *f)
{
	size_t	i;

	fprintf(f, "usage: dffmpeg APPLET [ARGS...]\n"
	    "       dffmpeg ffmpeg|ffprobe [ARGS...]\n"
	    "       dffmpeg --help | --list | --version | --install [-f] DIR\n"
	    "\napplets:\n");
	for (i = 0; applets[i].name != NULL; i++)
		fprintf(f, "  %-12s %s\n", applets[i].name, applets[i].summary);
	fprintf(f, "\nA link to dffmpeg named ffmpeg or ffprobe runs that binary "
	    "on a worker of the cluster.\n");
}

/* Create DIR/ffmpeg and DIR/ffprobe pointing at this executable. */
static int
install_links(int argc, char **argv)
{
	static const char *const names[] = { "ffmpeg", "ffprobe" };
	char		 self[PATH_MAX], link[PATH_MAX];
	const char	*dir;
	bool		 force = false;
	struct stat	 st;
	ssize_t		 n;
	size_t		 i;
	int		 rc = 0;

	if (argc >= 1 && strcmp(argv[0], "-f") == 0) {
		force = true;
		argc--;
		argv++;
	}
	if (argc != 1) {
		fprintf(stderr, "usage: dffmpeg --install [-f] DIR\n");
		return 1;
	}
	dir = argv[0];
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "dffmpeg: %s: not a directory\n", dir);
		return 1;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1) {
		fprintf(stderr, "dffmpeg: cannot find own path: %s\n",
		    strerror(errno));
		return 1;
	}
	self[n] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((size_t)snprintf(link, sizeof(link), "%s/%s", dir,
		    names[i]) >= sizeof(link)) {
			fprintf(stderr, "dffmpeg: %s: path too long\n", dir);
			return 1;
		}
		if (lstat(link, &st) == 0) {
			if (!force) {
				fprintf(stderr, "dffmpeg: %s exists (use -f "
				    "to replace it)\n", link);
				rc = 1;
				continue;
			}
			if (unlink(link) == -1) {
				fprintf(stderr, "dffmpeg: %s: %s\n", link,
				    strerror(errno));
				rc = 1;
				continue;
			}
		}
		if (symlink(self, link) == -1) {
			fprintf(stderr, "dffmpeg: %s: %s\n", link,
			    strerror(errno));
			rc = 1;
			continue;
		}
		printf("%s -> %s\n", link, self);
	}
	return rc;
}

static int
builtin(int argc, char **argv)
{
	size_t	i;

	if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[0], "--version") == 0) {
		printf("dffmpeg %s\n", DFFMPEG_VERSION);
		return 0;
	}
	if (strcmp(argv[0], "--list") == 0) {
		for (i = 0; applets[i].name != NULL; i++)
			printf("%s\n", applets[i].name);
		printf("ffmpeg\nffprobe\n");
		return 0;
	}
	if (strcmp(argv[0], "--install") == 0)
		return install_links(argc - 1, argv + 1);
	fprintf(stderr, "dffmpeg: unknown option %s\n", argv[0]);
	usage(stderr);
	return 1;
}

int
main(int argc, char **argv)
{
	const struct applet	*a;
	char			*name;

	if (argc < 1 || argv[0] == NULL)
		return 1;
	name = basename(argv[0]);
	if (strcmp(name, "dffmpeg") == 0) {
		if (argc < 2) {
			usage(stderr);
			return 1;
		}
		if (argv[1][0] == '-')
			return builtin(argc - 1, argv + 1);
		argc--;
		argv++;
		name = argv[0];
	}
	if ((a = applet_find(name)) != NULL) {
		argv[0] = (char *)a->name;
		return a->main(argc, argv);
	}
	argv[0] = name;
	return proxy_main(argc, argv);
}
