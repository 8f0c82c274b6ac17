/*
 * The applets of the one executable.  main.c dispatches on the basename of
 * argv[0] or on the first argument; each applet lives in one file of
 * src/applets/ and exports only its entry point.  argv[0] of the call is
 * the applet name.
 */
#ifndef DFFMPEG_APPLET_H
#define DFFMPEG_APPLET_H

#define EXIT_NOT_FOUND	127

struct applet {
	const char	*name;
	int		(*main)(int, char **);
	const char	*summary;
};

int	coordinator_main(int, char **);
int	worker_main(int, char **);
int	client_main(int, char **);
int	admin_main(int, char **);
/* The ffmpeg/ffprobe persona: argv[0] is the binary name, the rest are
 * its arguments, never interpreted. Returns EXIT_NOT_FOUND for a name the
 * client config does not serve. */
int	proxy_main(int, char **);

extern const struct applet applets[];

/* The applet named name, or NULL. */
const struct applet *applet_find(const char *name);

#endif
