/*
 * Typed access to the JSON members of a job row (args, paths: arrays of
 * strings; env: an object of strings), so that callers of the store need
 * no JSON of their own.  Reading is strict: the text must be exactly one
 * JSON value of the expected shape, or nothing is taken from it.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

/* cJSON's output as an allocation of ours (freed with free()). */
static char *
json_print(cJSON *v)
{
	char	*t, *out;

	if (v == NULL || (t = cJSON_PrintUnformatted(v)) == NULL)
		fatalx("store: out of memory building JSON");
	out = xstrdup(t);
	cJSON_free(t);
	cJSON_Delete(v);
	return out;
}

static char *
strv_json(const struct strv *sv)
{
	cJSON	*a = cJSON_CreateArray(), *it;
	size_t	 i;

	for (i = 0; a != NULL && i < sv->n; i++) {
		if ((it = cJSON_CreateString(sv->v[i])) == NULL)
			fatalx("store: out of memory building JSON");
		cJSON_AddItemToArray(a, it);
	}
	return json_print(a);
}

void
store_row_set_args(struct job_row *j, const struct strv *sv)
{
	free(j->args);
	j->args = strv_json(sv);
}

void
store_row_set_paths(struct job_row *j, const struct strv *sv)
{
	free(j->paths);
	j->paths = strv_json(sv);
}

void
store_row_set_env(struct job_row *j, const struct strmap *m)
{
	cJSON	*o = cJSON_CreateObject(), *it;
	size_t	 i;

	for (i = 0; o != NULL && i < m->n; i++) {
		if ((it = cJSON_CreateString(m->vals[i])) == NULL)
			fatalx("store: out of memory building JSON");
		cJSON_AddItemToObject(o, m->keys[i], it);
	}
	free(j->env);
	j->env = json_print(o);
}

/* The whole text as one JSON value (nothing after it), or NULL. */
static cJSON *
json_parse(const char *text)
{
	return cJSON_ParseWithOpts(text, NULL, 1);
}

static int
json_strv(const char *text, struct strv *out)
{
	cJSON	*a, *it;

	if (text == NULL)
		return 0;
	if ((a = json_parse(text)) == NULL)
		return -1;
	if (!cJSON_IsArray(a))
		goto fail;
	/* All or nothing: check every element before taking any. */
	cJSON_ArrayForEach(it, a)
		if (!cJSON_IsString(it) || it->valuestring == NULL)
			goto fail;
	cJSON_ArrayForEach(it, a)
		strv_push(out, it->valuestring);
	cJSON_Delete(a);
	return 0;

fail:
	cJSON_Delete(a);
	return -1;
}

int
store_row_args(const struct job_row *j, struct strv *out)
{
	return json_strv(j->args, out);
}

int
store_row_paths(const struct job_row *j, struct strv *out)
{
	return json_strv(j->paths, out);
}

int
store_row_env(const struct job_row *j, struct strmap *out)
{
	cJSON	*o, *it;

	if (j->env == NULL)
		return 0;
	if ((o = json_parse(j->env)) == NULL)
		return -1;
	if (!cJSON_IsObject(o))
		goto fail;
	cJSON_ArrayForEach(it, o)
		if (it->string == NULL || !cJSON_IsString(it) ||
		    it->valuestring == NULL)
			goto fail;
	cJSON_ArrayForEach(it, o)
		strmap_set(out, it->string, it->valuestring);
	cJSON_Delete(o);
	return 0;

fail:
	cJSON_Delete(o);
	return -1;
}
