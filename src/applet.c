/*
 * The applet table: one row per applet.
 */
#include <stddef.h>
#include <string.h>

#include "applet.h"

const struct applet applets[] = {
	{ "coordinator", coordinator_main,
	    "run the coordinator: worker registry, job queue, scheduler, state" },
	{ "worker", worker_main, "run a worker: run jobs on this node" },
	{ "client", client_main, "status, workers, jobs; submit, translate, run" },
	{ "admin", admin_main, "manage identities and operate the cluster" },
	{ NULL, NULL, NULL }
};

const struct applet *
applet_find(const char *name)
{
	size_t	i;

	for (i = 0; applets[i].name != NULL; i++)
		if (strcmp(applets[i].name, name) == 0)
			return &applets[i];
	return NULL;
}
