/*
 * The job state graph as a table.  See jobstate.h.
 */
#include <string.h>

#include "jobstate.h"

#define B(s)	(1u << (s))

static const struct {
	const char	*name;
	unsigned	 next;		/* states reachable in one step */
} states[JS__COUNT] = {
	[JS_PENDING] = { "pending",
	    B(JS_ASSIGNED) | B(JS_FAILED) | B(JS_CANCELED) },
	[JS_ASSIGNED] = { "assigned",
	    B(JS_RUNNING) | B(JS_PENDING) | B(JS_FAILED) | B(JS_CANCELING) |
	    B(JS_CANCELED) },
	[JS_RUNNING] = { "running",
	    B(JS_COMPLETED) | B(JS_FAILED) | B(JS_CANCELING) },
	[JS_CANCELING] = { "canceling", B(JS_CANCELED) },
	[JS_COMPLETED] = { "completed", 0 },
	[JS_FAILED] = { "failed", 0 },
	[JS_CANCELED] = { "canceled", 0 },
};

const char *const jobstate_terminal_names[] = {
	"completed", "failed", "canceled", NULL
};

const char *
jobstate_name(enum job_state s)
{
	return s < JS__COUNT ? states[s].name : "?";
}

int
jobstate_parse(const char *name)
{
	int	i;

	for (i = 0; i < JS__COUNT; i++)
		if (strcmp(states[i].name, name) == 0)
			return i;
	return -1;
}

bool
jobstate_terminal(enum job_state s)
{
	return s < JS__COUNT && states[s].next == 0;
}

bool
jobstate_allowed(enum job_state from, enum job_state to)
{
	return from < JS__COUNT && to < JS__COUNT &&
	    (states[from].next & B(to)) != 0;
}
