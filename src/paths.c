/*
 * Path variables: rewriting local roots to ${Var} and back.  See paths.h.
 * Nothing here touches the file system: symlinks are not resolved and
 * nothing needs to exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paths.h"
#include "util.h"
#include "xmalloc.h"

/* Characters that may precede a root or follow one (besides '/'). */
static const char delims[] = ":|='\",; \t()[]{}\\<>";

bool
pathmap_var_valid(const char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if (!(s[i] == '_' || (s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return i > 0 && i <= 64;
}

static const struct pathmap *sort_pm;

static int
by_length(const void *a, const void *b)
{
	size_t	la = strlen(sort_pm->roots.vals[*(const size_t *)a]);
	size_t	lb = strlen(sort_pm->roots.vals[*(const size_t *)b]);

	return la < lb ? 1 : la > lb ? -1 : 0;
}

int
pathmap_init(struct pathmap *pm, const struct strmap *conf, char *err,
    size_t errlen)
{
	size_t	i, len;
	char	*root;

	memset(pm, 0, sizeof(*pm));
	for (i = 0; i < conf->n; i++) {
		if (!pathmap_var_valid(conf->keys[i])) {
			snprintf(err, errlen, "path variable '%s': only "
			    "letters, digits and '_' are allowed",
			    conf->keys[i]);
			goto fail;
		}
		root = xstrdup(conf->vals[i]);
		len = strlen(root);
		while (len > 1 && root[len - 1] == '/')
			root[--len] = '\0';
		if (root[0] != '/' || len < 2) {
			snprintf(err, errlen, "path variable '%s': root '%s' "
			    "must be an absolute directory other than /",
			    conf->keys[i], conf->vals[i]);
			free(root);
			goto fail;
		}
		strmap_set(&pm->roots, conf->keys[i], root);
		free(root);
	}
	pm->order = xcalloc(pm->roots.n, sizeof(*pm->order));
	for (i = 0; i < pm->roots.n; i++)
		pm->order[i] = i;
	sort_pm = pm;
	qsort(pm->order, pm->roots.n, sizeof(*pm->order), by_length);
	sort_pm = NULL;
	return 0;
fail:
	pathmap_free(pm);
	return -1;
}

void
pathmap_free(struct pathmap *pm)
{
	strmap_free(&pm->roots);
	free(pm->order);
	pm->order = NULL;
}

static bool
is_delim(char c)
{
	return c != '\0' && strchr(delims, c) != NULL;
}

char *
pathmap_rewrite(const struct pathmap *pm, const char *arg, struct strv *used)
{
	struct buf	 out = { 0 };
	const char	*p = arg;
	size_t		 k;
	char		 nul = '\0';

	while (*p != '\0') {
		bool	at_start = p == arg || is_delim(p[-1]);

		if (p[0] == '$' && p[1] == '{') {
			buf_add(&out, "$${", 3);
			p += 2;
			continue;
		}
		if (at_start && *p == '/') {
			for (k = 0; k < pm->roots.n; k++) {
				size_t	     i = pm->order[k];
				const char  *root = pm->roots.vals[i];
				size_t	     len = strlen(root);
				char	     after = p[len];

				if (strncmp(p, root, len) != 0)
					continue;
				if (after != '\0' && after != '/' &&
				    !is_delim(after))
					continue;
				buf_add(&out, "${", 2);
				buf_add(&out, pm->roots.keys[i],
				    strlen(pm->roots.keys[i]));
				buf_add(&out, "}", 1);
				if (used != NULL &&
				    !strv_contains(used, pm->roots.keys[i]))
					strv_push(used, pm->roots.keys[i]);
				p += len;
				break;
			}
			if (k < pm->roots.n)
				continue;
		}
		buf_add(&out, p, 1);
		p++;
	}
	buf_add(&out, &nul, 1);
	return (char *)out.data;
}

char *
pathmap_expand(const struct pathmap *pm, const struct strv *allowed,
    const char *arg, char *err, size_t errlen)
{
	struct buf	 out = { 0 };
	const char	*p = arg, *end, *root;
	char		 name[80], nul = '\0';
	size_t		 n;

	while (*p != '\0') {
		if (p[0] == '$' && p[1] == '$' && p[2] == '{') {
			buf_add(&out, "${", 2);
			p += 3;
			continue;
		}
		if (p[0] == '$' && p[1] == '{' &&
		    (end = strchr(p + 2, '}')) != NULL &&
		    (n = (size_t)(end - (p + 2))) < sizeof(name)) {
			memcpy(name, p + 2, n);
			name[n] = '\0';
			if (strv_contains(allowed, name)) {
				if ((root = strmap_get(&pm->roots, name)) ==
				    NULL) {
					snprintf(err, errlen, "path variable "
					    "'%s' is not configured here",
					    name);
					free(out.data);
					return NULL;
				}
				buf_add(&out, root, strlen(root));
				p = end + 1;
				continue;
			}
		}
		buf_add(&out, p, 1);
		p++;
	}
	buf_add(&out, &nul, 1);
	return (char *)out.data;
}
