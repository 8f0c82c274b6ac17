/*
 * The job a client submits: binary, arguments and working directory with
 * local roots rewritten to path variables, the variables used, and the
 * forwarded environment.  Shared by the proxy persona and `client
 * translate`, so that translate prints exactly what the proxy would send.
 */
#ifndef DFFMPEG_JOBSPEC_H
#define DFFMPEG_JOBSPEC_H

#include "bounds.h"
#include "paths.h"
#include "util.h"

struct jobspec {
	char		 binary[NAME_MAX_LEN + 1];
	struct strv	 args;
	char		*cwd;		/* NULL if unknown */
	struct strv	 paths;		/* variables used */
	struct strmap	 env;
};

/* cwd NULL: the process's working directory.  forward_env NULL: no
 * environment.  Returns 0 or -1 with err. */
int	 jobspec_build(struct jobspec *, const struct pathmap *,
	    const char *binary, int argc, char *const *argv, const char *cwd,
	    const struct strv *forward_env, char *err, size_t errlen);
void	 jobspec_free(struct jobspec *);
/* {"binary", "args", "cwd", "paths"} as JSON text (owned). */
char	*jobspec_json(const struct jobspec *, bool pretty);

#endif
