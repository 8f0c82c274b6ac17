/*
 * Confinement of a job to its paths (the worker's side of design §4.4).
 *
 * Two layers.  Before a job starts, confine_check reads its arguments and
 * working directory for paths (after the path variables were expanded)
 * and refuses the job, naming the path, when one lies outside the roots
 * of the variables the job declared, once symbolic links and ".." are
 * resolved; system files ffmpeg reads (fonts, certificates, its
 * libraries) and the devices of verified hardware may be named too.  Its
 * resolving can block on a file system that does not answer, so the
 * worker runs it in a child process with a deadline (bgtask.h).
 *
 * Then, in the job's own process just before it executes ffmpeg,
 * confine_apply installs a Landlock ruleset: read and write beneath the
 * declared roots (and the hardware's device nodes), read and execute
 * beneath what ffmpeg needs to run, nothing else, whatever the arguments,
 * filters, playlists or concat lists make it open.  Landlock is Linux's
 * unprivileged sandbox (5.13 and later, when the kernel enables it);
 * confine_abi says whether this kernel has it.
 */
#ifndef DFFMPEG_CONFINE_H
#define DFFMPEG_CONFINE_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

enum confine_mode {
	CONFINE_BEST_EFFORT,	/* Landlock where the kernel has it */
	CONFINE_REQUIRE,	/* no Landlock, no jobs */
	CONFINE_OFF		/* no Landlock (arguments are still checked) */
};

/* "best-effort", "require", "off"; -1 for anything else. */
int	 confine_mode_parse(const char *);
const char *confine_mode_name(enum confine_mode);

#define CONFINE_CHECK_TIMEOUT_MS	3000	/* of confine_check, off the loop */

/* What a job's process may touch. */
struct confine_rules {
	struct strv	 rw;	/* read and write beneath: the roots */
	struct strv	 ro;	/* read and execute beneath */
	struct strv	 dev;	/* device nodes: read and write */
};

/* The read-only system paths ffmpeg needs, those of binary (its
 * directory) and extra (the worker's confine_read), the device nodes of
 * devices, and the roots of the variables in vars (from roots). */
void	 confine_rules_build(struct confine_rules *, const struct strmap *roots,
	    const struct strv *vars, const char *binary,
	    const struct strv *extra, const struct strv *devices);
void	 confine_rules_free(struct confine_rules *);

/*
 * The paths that argument arg names: the argument itself when it is a
 * file name or file: URL, and the paths inside it after '=', ':', ',',
 * '|' or a quote (filter options, concat: lists); not network URLs, "-"
 * or pipe:.  Appended to out, unescaped.
 */
void	 confine_paths_of(const char *arg, struct strv *out);

/*
 * Whether argv (argv[0] is the binary's name) and cwd stay within rules:
 * every path an argument names, resolved against cwd, lies beneath one
 * of rw, ro or dev, and cwd beneath rw (or is "/").  0, or -1 with err
 * naming the first path that does not.  Blocks as long as the file
 * systems do.
 */
int	 confine_check(const struct confine_rules *, char *const *argv,
	    const char *cwd, char *err, size_t errlen);

/* file, if a job under rules could read it (NULL if not). */
const char *confine_exposes(const struct confine_rules *, const char *file);

/* The Landlock ABI version of this kernel, 0 if it has none (or the
 * environment variable DFFMPEG_NO_LANDLOCK is set: for tests). */
int	 confine_abi(void);

/* In the job's child before exec: restrict this process and what it
 * executes to rules.  0, or -1 with err. */
int	 confine_apply(const struct confine_rules *, int abi, char *err,
	    size_t errlen);

#endif
