/*
 * Confining a job to its paths: the check of its arguments and the
 * Landlock ruleset of its process.  See confine.h.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/landlock.h>

#include "confine.h"
#include "util.h"
#include "xmalloc.h"

/*
 * Landlock's access rights by the ABI that brought them (facts of the
 * kernel's interface; Debian 12's headers stop at ABI 2).
 */
#define LL_FS_EXECUTE		(1ULL << 0)
#define LL_FS_WRITE_FILE	(1ULL << 1)
#define LL_FS_READ_FILE		(1ULL << 2)
#define LL_FS_READ_DIR		(1ULL << 3)
#define LL_FS_ABI1		((1ULL << 13) - 1)	/* bits 0-12 */
#define LL_FS_REFER		(1ULL << 13)		/* ABI 2 */
#define LL_FS_TRUNCATE		(1ULL << 14)		/* ABI 3 */
#define LL_FS_IOCTL_DEV		(1ULL << 15)		/* ABI 5 */
#define LL_SCOPE_ABSTRACT_UNIX	(1ULL << 0)		/* ABI 6 */
#define LL_SCOPE_SIGNAL		(1ULL << 1)		/* ABI 6 */
/* The rights a rule on a file (not a directory) may carry. */
#define LL_FS_FILE		(LL_FS_EXECUTE | LL_FS_WRITE_FILE | \
				 LL_FS_READ_FILE | LL_FS_TRUNCATE | \
				 LL_FS_IOCTL_DEV)

struct ll_ruleset_attr {
	uint64_t	handled_access_fs;
	uint64_t	handled_access_net;	/* ABI 4 */
	uint64_t	scoped;			/* ABI 6 */
};

/* What ffmpeg reads to run: its libraries, data, fonts, certificates,
 * time zones, name resolution, and what the kernel tells of the host. */
static const char *const system_ro[] = {
	"/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin",
	"/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
	"/etc/alternatives", "/etc/fonts", "/etc/ssl", "/etc/ca-certificates",
	"/etc/localtime", "/etc/timezone", "/etc/nsswitch.conf", "/etc/hosts",
	"/etc/host.conf", "/etc/resolv.conf", "/etc/gai.conf",
	"/etc/services", "/etc/protocols", "/etc/OpenCL", "/etc/vulkan",
	"/etc/drirc", "/etc/vdpau_wrapper.cfg", "/proc/self",
	"/proc/cpuinfo", "/proc/meminfo", "/proc/stat", "/sys",
};
/* Devices every process may use. */
static const char *const system_dev[] = {
	"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
};

static const char *const mode_names[] = {
	[CONFINE_BEST_EFFORT] = "best-effort",
	[CONFINE_REQUIRE] = "require",
	[CONFINE_OFF] = "off",
};

int
confine_mode_parse(const char *s)
{
	size_t	i;

	for (i = 0; i < nitems(mode_names); i++)
		if (strcmp(s, mode_names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
confine_mode_name(enum confine_mode m)
{
	return (size_t)m < nitems(mode_names) ? mode_names[m] : "?";
}

void
confine_rules_build(struct confine_rules *r, const struct strmap *roots,
    const struct strv *vars, const char *binary, const struct strv *extra,
    const struct strv *devices)
{
	const char	*root;
	char		*dir, *slash, real[PATH_MAX];
	size_t		 i;

	memset(r, 0, sizeof(*r));
	for (i = 0; i < vars->n; i++)
		if ((root = strmap_get(roots, vars->v[i])) != NULL &&
		    !strv_contains(&r->rw, root))
			strv_push(&r->rw, root);
	for (i = 0; i < nitems(system_ro); i++)
		strv_push(&r->ro, system_ro[i]);
	/* The binary's directory, as named and as it resolves (a link to
	 * a build elsewhere). */
	for (i = 0; binary != NULL && binary[0] == '/' && i < 2; i++) {
		if (i == 1 && realpath(binary, real) == NULL)
			break;
		dir = xstrdup(i == 0 ? binary : real);
		if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
			*slash = '\0';
			if (!strv_contains(&r->ro, dir))
				strv_push(&r->ro, dir);
		}
		free(dir);
	}
	for (i = 0; extra != NULL && i < extra->n; i++)
		strv_push(&r->ro, extra->v[i]);
	for (i = 0; i < nitems(system_dev); i++)
		strv_push(&r->dev, system_dev[i]);
	for (i = 0; devices != NULL && i < devices->n; i++)
		strv_push(&r->dev, devices->v[i]);
	/* Drivers list the directory of the render nodes. */
	if (devices != NULL && devices->n > 0)
		strv_push(&r->dev, "/dev/dri");
}

void
confine_rules_free(struct confine_rules *r)
{
	strv_free(&r->rw);
	strv_free(&r->ro);
	strv_free(&r->dev);
}

/* ---- the paths of an argument ---- */

/* Where a path may begin inside an argument: after one of these (and
 * blanks, which filter syntax skips). */
static bool
path_boundary(char c)
{
	return c == '=' || c == ':' || c == ',' || c == '|' || c == ';' ||
	    c == '\'' || c == '"' || c == '[' || c == ']';
}

/* A path begins at s: "/", "\/" (an escaped one), "./" or "..". */
static bool
path_start(const char *s)
{
	if (s[0] == '\\' && s[1] == '/')
		return true;
	if (s[0] == '.' && s[1] == '/')
		return true;
	return s[0] == '/' || (s[0] == '.' && s[1] == '.' &&
	    (s[2] == '/' || s[2] == '\0' || path_boundary(s[2])));
}

/* A network URL (scheme://) other than file://. */
static bool
is_url(const char *s)
{
	const char	*p = s;

	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return false;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
	    (*p >= '0' && *p <= '9') || *p == '+' || *p == '.' || *p == '-')
		p++;
	return strncmp(p, "://", 3) == 0 && strncasecmp(s, "file:", 5) != 0;
}

/*
 * The path starting at s, up to the closing quote when it follows one
 * (quote), else up to the next separator; backslash escapes are undone.
 * Returns where it ended.
 */
static const char *
path_take(const char *s, char quote, struct strv *out)
{
	struct buf	b = { 0 };
	const char	*p;

	for (p = s; *p != '\0'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			p++;
			buf_add(&b, p, 1);
			continue;
		}
		if (quote != 0 ? *p == quote : (*p == ':' || *p == ',' ||
		    *p == '|' || *p == ';' || *p == '\'' || *p == '"'))
			break;
		buf_add(&b, p, 1);
	}
	buf_add(&b, "", 1);
	strv_push(out, (const char *)buf_head(&b));
	buf_free(&b);
	return p;
}

void
confine_paths_of(const char *arg, struct strv *out)
{
	const char	*p = arg, *q;
	char		 quote, prev = 0;
	bool		 at_boundary = true;

	if (strcmp(arg, "-") == 0 || strncmp(arg, "pipe:", 5) == 0)
		return;
	/* ffmpeg's file protocol takes what follows "file:" as the name:
	 * "file://etc/x" is //etc/x. */
	if (strncasecmp(p, "file:", 5) == 0)
		p += 5;
	/* A name that starts the argument runs to its end: file names may
	 * hold any of the separators.  Then the paths inside it (a URL's
	 * own path is the server's, but a list may go on after it). */
	if (!is_url(arg) && path_start(p)) {
		strv_push(out, p);
		at_boundary = false;
		prev = *p++;
	}
	for (; *p != '\0'; prev = *p++) {
		if (at_boundary) {
			for (q = p; *q == ' ' || *q == '\t'; q++)
				;
			if (prev == ':' && q == p && p[0] == '/' &&
			    p[1] == '/') {
				/* scheme://host */
				at_boundary = false;
				continue;
			}
			if (path_start(q)) {
				quote = prev == '\'' || prev == '"' ? prev : 0;
				p = path_take(q, quote, out);
				if (*p == '\0')
					break;
				at_boundary = path_boundary(*p);
				continue;
			}
		}
		if (*p == '\\' && p[1] != '\0') {
			prev = *p++;
			at_boundary = false;
			continue;
		}
		at_boundary = path_boundary(*p);
	}
}

/* ---- resolving ---- */

/*
 * path made absolute (against cwd), with its symbolic links resolved as
 * far as it exists and the rest (what does not exist yet, an output)
 * cleaned of "." and "..".  -1 if it is too long.
 */
static int
resolve(const char *path, const char *cwd, char out[PATH_MAX])
{
	char	 full[PATH_MAX], tail[PATH_MAX], real[PATH_MAX], *slash;
	char	*comp, *save = NULL;
	size_t	 len;
	int	 n;

	if (path[0] == '/')
		n = snprintf(full, sizeof(full), "%s", path);
	else
		n = snprintf(full, sizeof(full), "%s/%s", cwd, path);
	if (n < 0 || (size_t)n >= sizeof(full))
		return -1;
	/* The longest prefix that exists, resolved. */
	tail[0] = '\0';
	while (realpath(full, real) == NULL) {
		if ((slash = strrchr(full, '/')) == NULL)
			return -1;
		n = snprintf(out, PATH_MAX, "%s%s%s", slash + 1,
		    tail[0] != '\0' ? "/" : "", tail);
		if (n < 0 || n >= PATH_MAX)
			return -1;
		memcpy(tail, out, (size_t)n + 1);
		if (slash == full) {
			snprintf(real, sizeof(real), "/");
			break;
		}
		*slash = '\0';
	}
	/* The rest, component by component. */
	snprintf(out, PATH_MAX, "%s", real);
	for (comp = strtok_r(tail, "/", &save); comp != NULL;
	    comp = strtok_r(NULL, "/", &save)) {
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			if ((slash = strrchr(out, '/')) != NULL)
				*(slash == out ? slash + 1 : slash) = '\0';
			continue;
		}
		len = strlen(out);
		n = snprintf(out + len, PATH_MAX - len, "%s%s",
		    len > 0 && out[len - 1] == '/' ? "" : "/", comp);
		if (n < 0 || (size_t)n >= PATH_MAX - len)
			return -1;
	}
	return 0;
}

/* Whether resolved path p is dir or beneath it (dir resolved too). */
static bool
beneath(const char *p, const char *dir)
{
	char	real[PATH_MAX];
	size_t	len;

	if (realpath(dir, real) == NULL)
		return false;
	len = strlen(real);
	if (len == 1)		/* "/" holds everything */
		return true;
	return strncmp(p, real, len) == 0 && (p[len] == '\0' || p[len] == '/');
}

/* A device node an argument may name whether or not it exists or was
 * verified here: ffmpeg's own error is the answer to a missing one, and
 * Landlock lets the job's process use the verified ones only. */
static bool
device_name(const char *p)
{
	return strncmp(p, "/dev/dri/", 9) == 0 ||
	    strncmp(p, "/dev/nvidia", 11) == 0;
}

static bool
beneath_any(const char *p, const struct strv *dirs)
{
	size_t	i;

	for (i = 0; i < dirs->n; i++)
		if (beneath(p, dirs->v[i]))
			return true;
	return false;
}

/*
 * Filters that load code from a file the job names (LADSPA, frei0r and
 * LV2 plugins): a client could write a library into its root and have
 * ffmpeg map it, and Landlock does not govern mapping code.  A filter
 * name stands after the start, ',', ';', ']' or blanks, before its
 * options ('=' or '@', an instance name): without options none loads
 * anything.
 */
static const char *
code_filter(const char *arg)
{
	static const char *const names[] = { "ladspa", "frei0r", "lv2" };
	const char	*p;
	size_t		 i, n;

	for (i = 0; i < nitems(names); i++) {
		n = strlen(names[i]);
		for (p = arg; (p = strstr(p, names[i])) != NULL; p += n) {
			if (p > arg && strchr(",;] \t", p[-1]) == NULL)
				continue;
			if (p[n] == '=' || p[n] == '@')
				return names[i];
		}
	}
	return NULL;
}

/*
 * A relative name worth resolving: one with a directory in it, or one
 * that exists where the job runs.  From "/" (a client whose working
 * directory no root maps) only one whose first part exists: "30000/1001"
 * or "scale=iw/2" there are no files.
 */
static bool
relative_name(const char *arg, const char *cwd)
{
	char		 first[PATH_MAX];
	struct stat	 st;
	size_t		 n;

	if (arg[0] == '\0' || arg[0] == '-' || arg[0] == '/' || is_url(arg) ||
	    strncmp(arg, "pipe:", 5) == 0 || strncasecmp(arg, "file:", 5) == 0)
		return false;
	n = strcspn(arg, "/");
	if (snprintf(first, sizeof(first), "%s/%.*s", cwd, (int)n, arg) >=
	    (int)sizeof(first))
		return true;
	if (lstat(first, &st) == 0)
		return true;
	return arg[n] == '/' && strcmp(cwd, "/") != 0;
}

const char *
confine_exposes(const struct confine_rules *r, const char *file)
{
	char	real[PATH_MAX];

	if (file == NULL || file[0] == '\0' || realpath(file, real) == NULL)
		return NULL;
	if (beneath_any(real, &r->rw) || beneath_any(real, &r->ro))
		return file;
	return NULL;
}

int
confine_check(const struct confine_rules *r, char *const *argv,
    const char *cwd, char *err, size_t errlen)
{
	const char	*code;
	struct strv	 paths = { 0 };
	struct stat	 st;
	char		 res[PATH_MAX];
	size_t		 i;
	int		 a, rc = -1;

	/* The job's process opens each root for its ruleset just before it
	 * executes, while the worker waits: a root that does not answer
	 * stops the job here, off the loop, instead. */
	for (i = 0; i < r->rw.n; i++)
		(void)stat(r->rw.v[i], &st);
	if (cwd == NULL || strcmp(cwd, "/") == 0)
		cwd = "/";
	else if (resolve(cwd, "/", res) == -1 || !beneath_any(res, &r->rw)) {
		snprintf(err, errlen, "its working directory %s is outside "
		    "the roots of its path variables", cwd);
		return -1;
	}
	for (a = 1; argv[a] != NULL; a++) {
		if ((code = code_filter(argv[a])) != NULL) {
			snprintf(err, errlen, "argument %d uses the %s filter, "
			    "which loads code from a file: not on this worker",
			    a, code);
			goto out;
		}
		strv_free(&paths);
		confine_paths_of(argv[a], &paths);
		if (relative_name(argv[a], cwd) &&
		    !strv_contains(&paths, argv[a]))
			strv_push(&paths, argv[a]);
		for (i = 0; i < paths.n; i++) {
			if (resolve(paths.v[i], cwd, res) == -1) {
				snprintf(err, errlen, "argument %d names a "
				    "path too long: %.64s...", a, paths.v[i]);
				goto out;
			}
			if (!beneath_any(res, &r->rw) &&
			    !beneath_any(res, &r->ro) &&
			    !beneath_any(res, &r->dev) && !device_name(res)) {
				snprintf(err, errlen, "argument %d names %s, "
				    "outside the roots of its path variables",
				    a, res);
				goto out;
			}
		}
	}
	rc = 0;
out:
	strv_free(&paths);
	return rc;
}

/* ---- Landlock ---- */

int
confine_abi(void)
{
	long	abi;

	if (getenv("DFFMPEG_NO_LANDLOCK") != NULL)
		return 0;
	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	return abi < 0 ? 0 : (int)abi;
}

static uint64_t
fs_rights(int abi)
{
	uint64_t	r = LL_FS_ABI1;

	if (abi >= 2)
		r |= LL_FS_REFER;
	if (abi >= 3)
		r |= LL_FS_TRUNCATE;
	if (abi >= 5)
		r |= LL_FS_IOCTL_DEV;
	return r;
}

/* Allow access beneath path (skipped if it does not exist). */
static int
add_rule(int ruleset, const char *path, uint64_t access, uint64_t handled,
    char *err, size_t errlen)
{
	struct landlock_path_beneath_attr	pb;
	struct stat				st;
	int					fd, rc;

	if ((fd = open(path, O_PATH | O_CLOEXEC)) == -1)
		return errno == ENOENT || errno == ENOTDIR || errno == EACCES ?
		    0 : (snprintf(err, errlen, "%s: %s", path,
		    strerror(errno)), -1);
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
		access &= LL_FS_FILE;
	memset(&pb, 0, sizeof(pb));
	pb.allowed_access = access & handled;
	pb.parent_fd = fd;
	rc = (int)syscall(SYS_landlock_add_rule, ruleset,
	    LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	if (rc == -1)
		snprintf(err, errlen, "landlock rule for %s: %s", path,
		    strerror(errno));
	close(fd);
	return rc == -1 ? -1 : 0;
}

int
confine_apply(const struct confine_rules *r, int abi, char *err,
    size_t errlen)
{
	struct ll_ruleset_attr	 attr;
	uint64_t		 handled = fs_rights(abi);
	uint64_t		 ro = LL_FS_READ_FILE | LL_FS_READ_DIR |
				    LL_FS_EXECUTE;
	uint64_t		 dev = LL_FS_READ_FILE | LL_FS_WRITE_FILE |
				    LL_FS_READ_DIR | LL_FS_TRUNCATE |
				    LL_FS_IOCTL_DEV;
	size_t			 size, i;
	int			 fd, rc = -1;

	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = handled;
	size = sizeof(attr.handled_access_fs);
	if (abi >= 4)
		size = offsetof(struct ll_ruleset_attr, scoped);
	if (abi >= 6) {
		/* Nor may it signal or reach processes outside its
		 * sandbox (the worker). */
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
		size = sizeof(attr);
	}
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (fd == -1) {
		snprintf(err, errlen, "landlock: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < r->rw.n; i++)
		if (add_rule(fd, r->rw.v[i], handled & ~LL_FS_EXECUTE,
		    handled, err, errlen) == -1)
			goto out;
	for (i = 0; i < r->ro.n; i++)
		if (add_rule(fd, r->ro.v[i], ro, handled, err, errlen) == -1)
			goto out;
	for (i = 0; i < r->dev.n; i++)
		if (add_rule(fd, r->dev.v[i], dev, handled, err, errlen) == -1)
			goto out;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
	    syscall(SYS_landlock_restrict_self, fd, 0) == -1) {
		snprintf(err, errlen, "landlock: %s", strerror(errno));
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}
