/*
 * Building a job from a command line.  See jobspec.h.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "jobspec.h"
#include "xmalloc.h"

int
jobspec_build(struct jobspec *js, const struct pathmap *pm,
    const char *binary, int argc, char *const *argv, const char *cwd,
    const struct strv *forward_env, char *err, size_t errlen)
{
	char		 here[PATH_MAX], *s;
	struct strv	 cwdvars = { 0 };
	const char	*v;
	size_t		 i;
	int		 k;

	memset(js, 0, sizeof(*js));
	if (strlen(binary) > NAME_MAX_LEN) {
		snprintf(err, errlen, "binary name too long");
		return -1;
	}
	if (argc > MSG_MAX_ARGS) {
		snprintf(err, errlen, "too many arguments (%d, at most %d)",
		    argc, MSG_MAX_ARGS);
		return -1;
	}
	snprintf(js->binary, sizeof(js->binary), "%s", binary);
	for (k = 0; k < argc; k++) {
		if (!utf8_valid(argv[k], strlen(argv[k]))) {
			snprintf(err, errlen, "argument %d is not valid UTF-8; "
			    "it cannot be sent to a worker", k + 1);
			jobspec_free(js);
			return -1;
		}
		s = pathmap_rewrite(pm, argv[k], &js->paths);
		strv_push(&js->args, s);
		free(s);
	}
	if (cwd == NULL && getcwd(here, sizeof(here)) != NULL)
		cwd = here;
	/* A working directory that cannot travel, or that no path variable
	 * maps, is left out: the remote process then starts in "/" (a
	 * worker refuses a directory outside the roots of a job's
	 * variables). */
	if (cwd != NULL && utf8_valid(cwd, strlen(cwd))) {
		s = pathmap_rewrite(pm, cwd, &cwdvars);
		if (strncmp(s, "${", 2) == 0) {
			js->cwd = s;
			for (k = 0; k < (int)cwdvars.n; k++)
				if (!strv_contains(&js->paths, cwdvars.v[k]))
					strv_push(&js->paths, cwdvars.v[k]);
		} else
			free(s);
		strv_free(&cwdvars);
	}
	for (i = 0; forward_env != NULL && i < forward_env->n; i++)
		if ((v = getenv(forward_env->v[i])) != NULL &&
		    utf8_valid(v, strlen(v)))
			strmap_set(&js->env, forward_env->v[i], v);
	return 0;
}

void
jobspec_free(struct jobspec *js)
{
	strv_free(&js->args);
	strv_free(&js->paths);
	strmap_free(&js->env);
	free(js->cwd);
	js->cwd = NULL;
}

char *
jobspec_json(const struct jobspec *js, bool pretty)
{
	cJSON	*o = cJSON_CreateObject(), *a, *p;
	char	*out;
	size_t	 i;

	cJSON_AddStringToObject(o, "binary", js->binary);
	a = cJSON_AddArrayToObject(o, "args");
	for (i = 0; i < js->args.n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(js->args.v[i]));
	if (js->cwd != NULL)
		cJSON_AddStringToObject(o, "cwd", js->cwd);
	else
		cJSON_AddNullToObject(o, "cwd");
	p = cJSON_AddArrayToObject(o, "paths");
	for (i = 0; i < js->paths.n; i++)
		cJSON_AddItemToArray(p, cJSON_CreateString(js->paths.v[i]));
	out = pretty ? cJSON_Print(o) : cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return out;
}
