/*
 * Path variables: rewriting local roots to ${Var} and back.  See paths.h.
 * Nothing here touches the file system: symlinks are not resolved and
 * nothing needs to exist.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
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
				char	     after;

				if (strncmp(p, root, len) != 0)
					continue;
				after = p[len];	/* p holds at least len bytes */
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

/* Call fn for each comma-separated check of spec; stops at the first
 * failure. */
static int
spec_walk(const char *spec, int (*fn)(const char *, size_t, void *),
    void *arg)
{
	const char	*p = spec, *end;
	size_t		 n;

	while (*p != '\0') {
		end = strchr(p, ',');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		while (n > 0 && *p == ' ') {
			p++;
			n--;
		}
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (fn(p, n, arg) == -1)
			return -1;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return 0;
}

struct spec_ctx {
	const char	*root;
	char		*msg;
	size_t		 msglen;
};

static int
spec_syntax(const char *c, size_t n, void *arg)
{
	struct spec_ctx	*x = arg;

	if (n == 10 && strncmp(c, "mountpoint", 10) == 0)
		return 0;
	if (n > 5 && strncmp(c, "file:", 5) == 0 && c[5] != '/' &&
	    memchr(c + 5, '\0', n - 5) == NULL)
		return 0;
	snprintf(x->msg, x->msglen, "check '%.*s' is neither 'mountpoint' "
	    "nor 'file:NAME' (NAME relative to the root)", (int)n, c);
	return -1;
}

int
paths_check_spec(const char *spec, char *err, size_t errlen)
{
	struct spec_ctx	x = { NULL, err, errlen };

	if (*spec == '\0') {
		snprintf(err, errlen, "no checks given");
		return -1;
	}
	return spec_walk(spec, spec_syntax, &x);
}

static int
spec_run(const char *c, size_t n, void *arg)
{
	struct spec_ctx	*x = arg;
	struct stat	 st, up;
	char		 path[PATH_BUF];

	if (n == 10 && strncmp(c, "mountpoint", 10) == 0) {
		snprintf(path, sizeof(path), "%s/..", x->root);
		if (stat(x->root, &st) == -1 || stat(path, &up) == -1) {
			snprintf(x->msg, x->msglen, "%s: %s", x->root,
			    strerror(errno));
			return -1;
		}
		if (st.st_dev == up.st_dev && st.st_ino != up.st_ino) {
			snprintf(x->msg, x->msglen, "%s is not a mount point",
			    x->root);
			return -1;
		}
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%.*s", x->root, (int)n - 5, c + 5);
	if (access(path, F_OK) == -1) {
		snprintf(x->msg, x->msglen, "sentinel %s is missing", path);
		return -1;
	}
	return 0;
}

int
paths_health(const char *root, const char *spec, char *why, size_t whylen)
{
	struct spec_ctx	x = { root, why, whylen };
	struct stat	st;

	if (stat(root, &st) == -1) {
		snprintf(why, whylen, "%s: %s", root, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "%s is not a directory", root);
		return -1;
	}
	if (spec == NULL)
		return 0;
	return spec_walk(spec, spec_run, &x);
}
