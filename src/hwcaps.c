/*
 * Hardware verification and its cache.  See hwcaps.h.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "bounds.h"
#include "ffrun.h"
#include "hwcaps.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#define HW_ERR_MAX	8192	/* stderr kept of one check */
#define CACHE_MAGIC	"dffmpeg-hwcaps 2"	/* new rules: a new number */
#define VERIFY_BUDGET_MS (CAPS_PROBE_TIMEOUT_MS - 60000)
#define OUT_OF_TIME	"verification ran out of time"
#define CACHE_MAX	(8 * 1024 * 1024)

/* The device types, and how each is checked. */
static const struct hwtype {
	const char	*type;
	bool		 drm;		/* initialised on a DRM render node */
	bool		 init;		/* ffmpeg can -init_hw_device it */
	const char	*upload;	/* -vf of a test encode; NULL: the
					   encoder takes frames in memory */
} hwtypes[] = {
	{ "cuda",		false,	true,	NULL },
	{ "vaapi",		true,	true,	"format=nv12,hwupload" },
	{ "qsv",		false,	true,	"format=nv12" },
	{ "drm",		true,	true,	NULL },
	{ "vulkan",		false,	true,	"format=nv12,hwupload" },
	{ "opencl",		false,	true,	NULL },
	{ "vdpau",		false,	true,	NULL },
	{ "videotoolbox",	false,	true,	NULL },
	{ "mediacodec",		false,	true,	NULL },
	{ "d3d11va",		false,	true,	NULL },
	{ "dxva2",		false,	true,	NULL },
	{ "v4l2m2m",		false,	false,	"format=yuv420p" },
	{ "amf",		false,	false,	NULL },
	{ "rkmpp",		false,	false,	NULL },
	{ "mmal",		false,	false,	NULL },
	{ "omx",		false,	false,	NULL },
};

/* A hardware decoder's codec (its name's prefix) and how to make a
 * one-frame sample of it with a software encoder. */
static const struct {
	const char	*prefix;	/* "h264" of h264_cuvid */
	const char	*encoder;
	const char	*format;
	const char	*size;
} samples[] = {
	{ "h264", "libx264", "h264", "256x256" },
	{ "hevc", "libx265", "hevc", "256x256" },
	{ "mpeg1", "mpeg1video", "mpeg1video", "256x256" },
	{ "mpeg2", "mpeg2video", "mpeg2video", "256x256" },
	{ "mpeg4", "mpeg4", "m4v", "256x256" },
	{ "h263", "h263", "h263", "352x288" },
	{ "mjpeg", "mjpeg", "mjpeg", "256x256" },
	{ "vp8", "libvpx", "ivf", "256x256" },
	{ "vp9", "libvpx-vp9", "ivf", "256x256" },
	{ "av1", "libaom-av1", "ivf", "256x256" },
};

/* Name suffix -> device type: the codecs and filters that need one. */
static const struct {
	const char	*suffix;
	const char	*type;
} suffixes[] = {
	{ "_nvenc", "cuda" }, { "_cuvid", "cuda" }, { "_cuda", "cuda" },
	{ "_npp", "cuda" }, { "_vaapi", "vaapi" }, { "_qsv", "qsv" },
	{ "_vulkan", "vulkan" }, { "_opencl", "opencl" },
	{ "_v4l2m2m", "v4l2m2m" }, { "_amf", "amf" },
	{ "_videotoolbox", "videotoolbox" }, { "_vt", "videotoolbox" },
	{ "_mediacodec", "mediacodec" }, { "_rkmpp", "rkmpp" },
	{ "_mmal", "mmal" }, { "_omx", "omx" },
};

const char *
hw_type_of(const char *name)
{
	size_t	i, n = strlen(name), l;

	for (i = 0; i < nitems(suffixes); i++) {
		l = strlen(suffixes[i].suffix);
		if (n > l && strcmp(name + n - l, suffixes[i].suffix) == 0)
			return suffixes[i].type;
	}
	return NULL;
}

void
hw_types_of(const struct ffreq *req, struct strv *out)
{
	const struct strv *named[] = { &req->hwaccels, &req->hwdevices };
	const struct strv *used[] = { &req->encoders, &req->decoders,
	    &req->filters };
	const char	*t;
	size_t		 i, j;

	for (i = 0; i < nitems(named); i++)
		for (j = 0; j < named[i]->n; j++)
			if (!strv_contains(out, named[i]->v[j]))
				strv_push(out, named[i]->v[j]);
	for (i = 0; i < nitems(used); i++)
		for (j = 0; j < used[i]->n; j++)
			if ((t = hw_type_of(used[i]->v[j])) != NULL &&
			    !strv_contains(out, t))
				strv_push(out, t);
}

const char *
hw_kind_noun(enum caps_kind k)
{
	static const char *const nouns[CAPS__COUNT] = { "encoder", "decoder",
	    "hwaccel", "filter" };

	return (unsigned)k < CAPS__COUNT ? nouns[k] : "capability";
}

static const struct hwtype *
hwtype_find(const char *type)
{
	size_t	i;

	for (i = 0; i < nitems(hwtypes); i++)
		if (strcmp(hwtypes[i].type, type) == 0)
			return &hwtypes[i];
	return NULL;
}

/* One verified device type: the -init_hw_device value that worked. */
struct verified {
	struct strmap	 init;		/* type -> "TYPE=hw[:NODE]" */
	struct strmap	 why;		/* type -> why it failed */
};

static void
fail(struct caps *c, enum caps_kind k, const char *name, const char *why)
{
	char	key[NAME_MAX_LEN + 16], text[CAPS_REASON_MAX + 1];
	size_t	i;

	snprintf(key, sizeof(key), "%s %s", hw_kind_noun(k), name);
	snprintf(text, sizeof(text), "%s", why[0] != '\0' ? why : "failed");
	for (i = 0; text[i] != '\0'; i++)
		if (text[i] < ' ' || text[i] > '~')
			text[i] = '?';
	strmap_set(&c->failed, key, text);
}

/* The whole verification ends before the probe's own deadline. */
static int64_t	verify_deadline;

/* Run path with args; 0 if it exited 0, else -1 with why. */
static int
check(const char *path, char **argv, int timeout_ms, char *why,
    size_t whylen)
{
	struct ffrun	r;
	char		err[256];
	int		rc = 0;

	argv[0] = (char *)path;
	if (mono_ms() >= verify_deadline) {
		snprintf(why, whylen, OUT_OF_TIME);
		return -1;
	}
	if (timeout_ms > verify_deadline - mono_ms())
		timeout_ms = (int)(verify_deadline - mono_ms());
	if (ffrun(path, argv, timeout_ms, 1024 * 1024, HW_ERR_MAX, &r, err,
	    sizeof(err)) == -1) {
		snprintf(why, whylen, "%.150s", err);
		rc = -1;
	} else if (!ffrun_ok(&r)) {
		ffrun_reason(&r, why, whylen);
		rc = -1;
	}
	ffrun_free(&r);
	return rc;
}

/* Initialise one device type: on each render node (DRM types) or once. */
static void
verify_type(const char *path, const struct caps *c, const char *type,
    struct verified *v)
{
	const struct hwtype *t = hwtype_find(type);
	char		 dev[PATH_BUF + 64], why[CAPS_REASON_MAX + 1];
	char		*argv[] = { NULL, "-hide_banner", "-v", "error",
			    "-init_hw_device", dev, "-f", "lavfi", "-i",
			    "nullsrc=s=64x64:d=0.04", "-frames:v", "1", "-f",
			    "null", "-", NULL };
	size_t		 i;
	bool		 tried = false;

	if (t == NULL) {
		strmap_set(&v->why, type, "not a device type dffmpeg knows "
		    "how to check");
		return;
	}
	for (i = 0; t->drm && i < c->devices.n; i++) {
		if (strncmp(c->devices.v[i], "/dev/dri/renderD", 16) != 0)
			continue;
		tried = true;
		snprintf(dev, sizeof(dev), "%s=hw:%s", type, c->devices.v[i]);
		if (check(path, argv, HW_INIT_TIMEOUT_MS, why,
		    sizeof(why)) == 0) {
			strmap_set(&v->init, type, dev);
			return;
		}
	}
	if (t->drm) {
		strmap_set(&v->why, type, tried ? why :
		    "no render node in /dev/dri");
		return;
	}
	snprintf(dev, sizeof(dev), "%s=hw", type);
	if (check(path, argv, HW_INIT_TIMEOUT_MS, why, sizeof(why)) == 0)
		strmap_set(&v->init, type, dev);
	else
		strmap_set(&v->why, type, why);
}

/* A check's command line: "-hide_banner -v error", [the device], what
 * the caller adds, then one frame to nowhere. */
struct cmd {
	char	*v[32];
	int	 n;
	char	 init[PATH_BUF + 64];
};

static void
cmd_add(struct cmd *c, ...)
{
	va_list	 ap;
	char	*a;

	va_start(ap, c);
	while ((a = va_arg(ap, char *)) != NULL && c->n < (int)nitems(c->v) - 1)
		c->v[c->n++] = a;
	va_end(ap);
	c->v[c->n] = NULL;
}

static void
cmd_start(struct cmd *c, const char *init, bool filter_device)
{
	c->n = 1;		/* argv[0] is set by check() */
	cmd_add(c, "-hide_banner", "-v", "error", NULL);
	if (init == NULL)
		return;
	snprintf(c->init, sizeof(c->init), "%s", init);
	cmd_add(c, "-init_hw_device", c->init, NULL);
	if (filter_device)
		cmd_add(c, "-filter_hw_device", "hw", NULL);
}

static int
cmd_run(const char *path, struct cmd *c, char *why, size_t whylen)
{
	cmd_add(c, "-frames:v", "1", "-f", "null", "-", NULL);
	return check(path, c->v, HW_ENCODE_TIMEOUT_MS, why, whylen);
}

/* Encode one frame with a hardware encoder of a verified type. */
static int
test_encode(const char *path, const char *enc, const struct hwtype *t,
    const char *init, char *why, size_t whylen)
{
	struct cmd	c;

	cmd_start(&c, init, true);
	cmd_add(&c, "-f", "lavfi", "-i", "testsrc=size=256x256:rate=25", NULL);
	if (t->upload != NULL)
		cmd_add(&c, "-vf", t->upload, NULL);
	cmd_add(&c, "-c:v", enc, NULL);
	return cmd_run(path, &c, why, whylen);
}

/*
 * Decode one frame with a hardware decoder: of a sample its codec's
 * software encoder makes (once per codec, in dir).  0, or -1 with why.
 */
static int
test_decode(const char *path, const struct caps *caps, const char *dec,
    const char *init, const char *dir, char *why, size_t whylen)
{
	struct cmd	 c;
	char		 file[PATH_BUF + 64], src[64];
	size_t		 i, pl;

	for (i = 0; i < nitems(samples); i++) {
		pl = strlen(samples[i].prefix);
		if (strncmp(dec, samples[i].prefix, pl) == 0 && dec[pl] == '_')
			break;
	}
	if (i == nitems(samples) ||
	    !caps_has(caps, CAPS_ENCODERS, samples[i].encoder)) {
		snprintf(why, whylen, "no encoder here makes a sample to "
		    "test it with");
		return -1;
	}
	snprintf(file, sizeof(file), "%s/%s.%s", dir, samples[i].prefix,
	    samples[i].format);
	if (access(file, R_OK) != 0) {
		snprintf(src, sizeof(src), "testsrc=size=%s:rate=25",
		    samples[i].size);
		cmd_start(&c, NULL, false);
		cmd_add(&c, "-f", "lavfi", "-i", src, "-frames:v", "1", "-c:v",
		    samples[i].encoder, "-f", samples[i].format, "-y", file,
		    NULL);
		if (check(path, c.v, HW_ENCODE_TIMEOUT_MS, why, whylen) == -1) {
			unlink(file);	/* the next decoder tries again */
			return -1;
		}
	}
	cmd_start(&c, init, false);
	cmd_add(&c, "-c:v", dec, "-i", file, NULL);
	return cmd_run(path, &c, why, whylen);
}

/* Drop names[i] from list k of c (i is kept valid for the caller). */
static void
drop(struct caps *c, enum caps_kind k, const char *name)
{
	struct strv	one = { 0 };

	strv_push(&one, name);
	caps_remove(c, k, &one);
	strv_free(&one);
}

static void
remove_samples(const char *dir)
{
	char	file[PATH_BUF + 64];
	size_t	i;

	for (i = 0; i < nitems(samples); i++) {
		snprintf(file, sizeof(file), "%s/%s.%s", dir,
		    samples[i].prefix, samples[i].format);
		unlink(file);
	}
	rmdir(dir);
}

void
hw_verify(const char *path, struct caps *c)
{
	struct verified	 v = { { 0 }, { 0 } };
	struct strv	 names = { 0 };
	const struct hwtype *t;
	const char	*type, *init, *why;
	char		 text[CAPS_REASON_MAX + 1], ewhy[160];
	char		 dir[PATH_BUF];
	size_t		 i;
	int		 k;

	verify_deadline = mono_ms() + VERIFY_BUDGET_MS;
	/* Where the decoders' samples are made (removed at the end). */
	snprintf(dir, sizeof(dir), "%s/dffmpeg-hw.XXXXXX",
	    getenv("TMPDIR") != NULL && getenv("TMPDIR")[0] == '/' ?
	    getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		dir[0] = '\0';

	/* Device types. */
	for (i = 0; i < c->lists[CAPS_HWACCELS].n; i++)
		strv_push(&names, c->lists[CAPS_HWACCELS].v[i]);
	for (i = 0; i < names.n; i++) {
		verify_type(path, c, names.v[i], &v);
		if ((why = strmap_get(&v.why, names.v[i])) != NULL) {
			log_info("%s: %s", names.v[i], why);
			fail(c, CAPS_HWACCELS, names.v[i], why);
			drop(c, CAPS_HWACCELS, names.v[i]);
		} else
			log_info("%s: verified (%s)", names.v[i],
			    strmap_get(&v.init, names.v[i]));
	}
	strv_free(&names);

	/* Codecs and filters that need a device. */
	for (k = 0; k < CAPS__COUNT; k++) {
		if (k == CAPS_HWACCELS)
			continue;
		for (i = 0; i < c->lists[k].n; i++)
			if (hw_type_of(c->lists[k].v[i]) != NULL)
				strv_push(&names, c->lists[k].v[i]);
		for (i = 0; i < names.n; i++) {
			type = hw_type_of(names.v[i]);
			t = hwtype_find(type);
			init = strmap_get(&v.init, type);
			if (t != NULL && t->init && init == NULL) {
				why = strmap_get(&v.why, type);
				snprintf(text, sizeof(text), "needs a working "
				    "%s device (%s)", type, why != NULL ? why :
				    "ffmpeg lists no such device type");
			} else if (t == NULL || (!t->init &&
			    k == CAPS_FILTERS))
				snprintf(text, sizeof(text), "needs a %s "
				    "device, which cannot be verified here",
				    type);
			else if (k == CAPS_ENCODERS && test_encode(path,
			    names.v[i], t, init, ewhy, sizeof(ewhy)) == -1)
				snprintf(text, sizeof(text), "a test encode "
				    "failed: %s", ewhy);
			else if (k == CAPS_DECODERS && (dir[0] == '\0' ||
			    test_decode(path, c, names.v[i], init, dir, ewhy,
			    sizeof(ewhy)) == -1))
				snprintf(text, sizeof(text), "a test decode "
				    "failed: %s", dir[0] == '\0' ? "no "
				    "directory for its sample" : ewhy);
			else
				continue;	/* verified */
			fail(c, (enum caps_kind)k, names.v[i], text);
			drop(c, (enum caps_kind)k, names.v[i]);
		}
		strv_free(&names);
	}
	strmap_free(&v.init);
	strmap_free(&v.why);
	if (dir[0] != '\0')
		remove_samples(dir);
}

/* ---- the cache ---- */

/* The cache file of path, and the identity line it must start with. */
static int
cache_names(const char *path, const struct strv *devices, char *file,
    size_t filelen, struct buf *key)
{
	struct stat	st;
	char		name[96], line[PATH_BUF + 128];
	unsigned char	h[16];
	size_t		i;

	if (stat(path, &st) == -1)
		return -1;
	crypto_generichash(h, sizeof(h), (const unsigned char *)path,
	    strlen(path), NULL, 0);
	snprintf(name, sizeof(name), "hwcaps-");
	for (i = 0; i < sizeof(h); i++)
		snprintf(name + 7 + 2 * i, 3, "%02x", h[i]);
	if (xdg_file("XDG_CACHE_HOME", ".cache", name, file, filelen) == -1)
		return -1;
	snprintf(line, sizeof(line), "%s %s %llu %llu %lld %lld\n",
	    CACHE_MAGIC, path, (unsigned long long)st.st_dev,
	    (unsigned long long)st.st_ino, (long long)st.st_size,
	    (long long)st.st_mtime);
	buf_add(key, line, strlen(line));
	buf_add(key, "devices", 7);
	for (i = 0; i < devices->n; i++) {
		buf_add(key, " ", 1);
		buf_add(key, devices->v[i], strlen(devices->v[i]));
	}
	buf_add(key, "\n", 1);
	return 0;
}

int
hw_cache_load(const char *path, const struct strv *devices, struct caps *c)
{
	struct buf	 key = { 0 };
	char		 file[PATH_BUF], err[256], *text = NULL;
	size_t		 len, klen;
	int		 rc = -1;

	memset(c, 0, sizeof(*c));
	if (cache_names(path, devices, file, sizeof(file), &key) == -1 ||
	    file_read(file, CACHE_MAX, &text, &len, err, sizeof(err)) == -1)
		goto out;
	klen = buf_used(&key);
	if (len < klen || memcmp(text, buf_head(&key), klen) != 0) {
		log_info("%s: its cached verification is of another binary "
		    "or other devices; verifying again", path);
		goto out;
	}
	if (caps_decode(text + klen, len - klen, c, err, sizeof(err)) == -1) {
		log_warnx("%s: ignoring its cached verification: %s", file,
		    err);
		goto out;
	}
	rc = 0;
out:
	free(text);
	buf_free(&key);
	return rc;
}

void
hw_cache_store(const char *path, const struct caps *c)
{
	struct buf	 key = { 0 }, body = { 0 };
	char		 file[PATH_BUF], tmp[PATH_BUF + 8], err[256];
	const uint8_t	*p;
	size_t		 left;
	ssize_t		 n;
	int		 fd;

	/* A check that ran out of time says nothing lasting. */
	for (left = 0; left < c->failed.n; left++)
		if (strstr(c->failed.vals[left], "no answer within") != NULL ||
		    strstr(c->failed.vals[left], OUT_OF_TIME) != NULL) {
			log_info("%s: a check timed out; not caching the "
			    "verification", path);
			goto out;
		}
	if (cache_names(path, &c->devices, file, sizeof(file), &key) == -1 ||
	    caps_encode(c, &body, err, sizeof(err)) == -1)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		log_warn("cannot write %s", tmp);
		goto out;
	}
	buf_add(&key, buf_head(&body), buf_used(&body));
	for (p = buf_head(&key), left = buf_used(&key); left > 0;
	    p += n, left -= (size_t)n)
		if ((n = write(fd, p, left)) <= 0)
			break;
	if (close(fd) == -1 || left > 0 || rename(tmp, file) == -1) {
		log_warn("cannot write %s", file);
		unlink(tmp);
	}
out:
	buf_free(&key);
	buf_free(&body);
}
