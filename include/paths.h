/*
 * Path variables (design §7).  A client maps local roots to variables and
 * rewrites every occurrence of a root inside an argument to ${Var}; a
 * worker expands ${Var} back to its own root, but only for variables the
 * job declares.
 *
 * An occurrence counts only on directory boundaries: the character before
 * it is the start of the argument or a delimiter (':', '|', '=', quotes,
 * ',', ';', whitespace, brackets, '\\'), and the character after it is the
 * end, '/', or such a delimiter.  Longer roots win.  A literal "${" in an
 * argument is escaped as "$${" so that expansion gives it back.
 */
#ifndef DFFMPEG_PATHS_H
#define DFFMPEG_PATHS_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct pathmap {
	struct strmap	 roots;		/* variable -> root, no trailing '/' */
	size_t		*order;		/* indexes, longest root first */
};

/* Build from a config map; -1 with err for a root that is not absolute
 * or is "/", or a variable name that is not [A-Za-z0-9_]+. */
int	 pathmap_init(struct pathmap *, const struct strmap *, char *err,
	    size_t errlen);
void	 pathmap_free(struct pathmap *);

/* Rewrite one argument; returns an owned string and adds the variables it
 * used to *used (once each). */
char	*pathmap_rewrite(const struct pathmap *, const char *arg,
	    struct strv *used);

/* Expand ${Var} for the variables in allowed (using pm's roots) and
 * unescape "$${".  Returns an owned string, or NULL with err naming a
 * variable that is allowed but has no root here. */
char	*pathmap_expand(const struct pathmap *, const struct strv *allowed,
	    const char *arg, char *err, size_t errlen);

bool	 pathmap_var_valid(const char *);

/*
 * Health of a worker's path variable.  spec lists checks, comma-separated:
 * "mountpoint" (root must be a mount point: on another device than its
 * parent) and "file:NAME" (NAME, relative to root, must exist: a sentinel
 * kept on the mounted file system).  Every root must be a directory.
 * paths_health returns 0, or -1 with why filled.  It blocks for as long
 * as the file system does (for ever on a hung NFS or FUSE mount): a
 * daemon runs it in a child process (bgtask.h), bounded by
 * PATHS_CHECK_TIMEOUT_MS.
 */
#define PATHS_CHECK_TIMEOUT_MS	3000	/* one check, run off the loop */

int	 paths_check_spec(const char *spec, char *err, size_t errlen);
int	 paths_health(const char *root, const char *spec, char *why,
	    size_t whylen);

#endif
