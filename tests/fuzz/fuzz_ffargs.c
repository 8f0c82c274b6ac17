/*
 * libFuzzer harness: reading ffmpeg's arguments (ffargs.c, progress.c)
 * and the path rewriting between a client and a worker (paths.c), with
 * the paths the confinement check finds in them (confine.c).  The input
 * is a command line, its arguments separated by NUL bytes.  Rewriting an
 * argument for the client's roots and expanding it for the same roots
 * must give the argument back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "confine.h"
#include "ffargs.h"
#include "paths.h"
#include "progress.h"
#include "util.h"
#include "xmalloc.h"

#define ARGS_MAX	64

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pathmap	 pm;
	static bool		 ready;
	struct strmap		 roots = { 0 };
	struct strv		 used = { 0 }, found = { 0 };
	struct ffreq		 req;
	struct progress		 prog;
	char			*copy, *argv[ARGS_MAX + 1], *p, *rw, *ex;
	char			 err[256];
	int			 argc = 0, i;

	if (!ready) {
		strmap_set(&roots, "Media", "/media");
		strmap_set(&roots, "Cache", "/var/cache/jellyfin");
		strmap_set(&roots, "Deep", "/media/library/deep");
		if (pathmap_init(&pm, &roots, err, sizeof(err)) == -1)
			abort();
		strmap_free(&roots);
		ready = true;
	}
	copy = xmalloc(size + 1);
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (p = copy; argc < ARGS_MAX && p <= copy + size;
	    p += strlen(p) + 1)
		argv[argc++] = p;
	argv[argc] = NULL;

	ffargs_requirements(argc, argv, &req);
	ffreq_free(&req);
	progress_init(&prog);
	progress_args(&prog, argc, argv);
	for (i = 0; i < argc; i++) {
		confine_paths_of(argv[i], &found);
		rw = pathmap_rewrite(&pm, argv[i], &used);
		ex = pathmap_expand(&pm, &used, rw, err, sizeof(err));
		if (ex == NULL || strcmp(ex, argv[i]) != 0)
			abort();
		free(rw);
		free(ex);
	}
	strv_free(&used);
	strv_free(&found);
	free(copy);
	return 0;
}
