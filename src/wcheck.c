/*
 * A worker's capability probe and mount checks in child processes.  See
 * wcheck.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bgtask.h"
#include "bounds.h"
#include "caps.h"
#include "ffargs.h"
#include "hwcaps.h"
#include "log.h"
#include "paths.h"
#include "settings.h"
#include "wcheck.h"
#include "xmalloc.h"

#define PROBE_KEY	"probe"

/* The mount check of one path variable (index into pm->roots). */
struct pcheck {
	struct wcheck	*w;
	size_t		 i;
	bool		 done;		/* a first result came */
};

struct wcheck {
	const struct worker_conf *conf;
	const struct pathmap	*pm;
	const struct wcheck_ops	*ops;
	void			*arg;
	struct bgtask_pool	*tasks;
	bool			 ready;
	struct caps		 caps;		/* of the ffmpeg binary */
	struct caps		 disabled;	/* the config's disable lists */
	bool			 caps_known;
	bool			 probed;	/* caps_stat is valid */
	bool			 probe_done;	/* the first probe has ended */
	struct stat		 caps_stat;	/* the binary when probed */
	struct strmap		 health;	/* variable -> "ok" | why */
	struct pcheck		*checks;	/* one per variable */
};

/* Ready once the first probe and the first check of every variable have
 * a result. */
static void
check_maybe_ready(struct wcheck *w)
{
	size_t	i;

	if (w->ready || !w->probe_done)
		return;
	for (i = 0; i < w->pm->roots.n; i++)
		if (!w->checks[i].done)
			return;
	w->ready = true;
	log_debug("first probe and mount checks done");
	w->ops->ready(w->arg);
}

/* In the child: probe and verify (or take both from the cache), and
 * write the caps as text (or why not). */
static int
probe_work(void *arg, struct buf *out)
{
	struct wcheck	*w = arg;
	const char	*bin = strmap_get(&w->conf->binaries, "ffmpeg");
	struct strv	 devices = { 0 };
	struct caps	 c;
	char		 err[512];
	int64_t		 t0 = mono_ms();
	int		 rc;

	caps_scan_devices("/dev", &devices);
	rc = hw_cache_load(bin, &devices, &c);
	strv_free(&devices);
	if (rc == 0)
		log_info("%s: capabilities and hardware verification from the "
		    "cache", bin);
	else if (caps_probe(bin, &c, err, sizeof(err)) == -1) {
		buf_add(out, err, strlen(err));
		return -1;
	} else {
		hw_verify(bin, &c);
		log_info("%s: probed and verified in %lld ms", bin,
		    (long long)(mono_ms() - t0));
		hw_cache_store(bin, &c);
	}
	if ((rc = caps_encode(&c, out, err, sizeof(err))) == -1) {
		buf_drain(out, buf_used(out));
		buf_add(out, err, strlen(err));
	}
	caps_free(&c);
	return rc;
}

/* Put back what verification dropped but the operator forces on. */
static void
force_on(struct caps *c, enum caps_kind k, const struct strv *names)
{
	struct strv	 list = { 0 };
	char		 key[NAME_MAX_LEN + 16];
	const char	*why;
	size_t		 i;

	for (i = 0; i < names->n; i++) {
		snprintf(key, sizeof(key), "%s %s", hw_kind_noun(k),
		    names->v[i]);
		if ((why = strmap_get(&c->failed, key)) == NULL)
			continue;
		log_info("%s: forced on by the config (verification: %s)",
		    key, why);
		strmap_del(&c->failed, key);
		strv_push(&list, names->v[i]);
	}
	if (list.n == 0)
		return;
	for (i = 0; i < c->lists[k].n; i++)
		strv_push(&list, c->lists[k].v[i]);
	caps_set(c, k, &list);
	strv_free(&list);
}

/* The probe's result: put back what the operator forces on, drop what
 * it disables. */
static void
probe_result(void *arg, enum bgtask_status st, const char *out,
    size_t len)
{
	static const size_t kinds[] = { CAPS_ENCODERS, CAPS_DECODERS,
	    CAPS_HWACCELS, CAPS_FILTERS };
	struct wcheck	*w = arg;
	const struct strv *disabled[] = { &w->conf->disable.encoders,
	    &w->conf->disable.decoders, &w->conf->disable.hwaccels,
	    &w->conf->disable.filters };
	const struct strv *enabled[] = { &w->conf->enable.encoders,
	    &w->conf->enable.decoders, &w->conf->enable.hwaccels,
	    &w->conf->enable.filters };
	const char	*bin = strmap_get(&w->conf->binaries, "ffmpeg");
	char		 err[512];
	size_t		 i;

	caps_free(&w->caps);
	w->caps_known = false;
	if (st != BGTASK_OK)
		snprintf(err, sizeof(err), "%s", out);
	else if (caps_decode(out, len, &w->caps, err, sizeof(err)) == 0)
		w->caps_known = true;
	else
		log_warnx("%s: the probe's result is malformed: %s", bin, err);
	if (!w->caps_known) {
		utf8_sanitize(err, strlen(err));
		log_warnx("cannot probe %s: %s; jobs that need particular "
		    "codecs or filters will not be placed here", bin, err);
	} else {
		for (i = 0; i < nitems(kinds); i++) {
			force_on(&w->caps, kinds[i], enabled[i]);
			caps_remove(&w->caps, kinds[i], disabled[i]);
		}
		log_info("%s: ffmpeg %s, %zu encoders, %zu decoders, "
		    "%zu hwaccels, %zu filters, %zu devices", bin,
		    w->caps.version, w->caps.lists[CAPS_ENCODERS].n,
		    w->caps.lists[CAPS_DECODERS].n,
		    w->caps.lists[CAPS_HWACCELS].n,
		    w->caps.lists[CAPS_FILTERS].n, w->caps.devices.n);
	}
	w->probe_done = true;
	if (w->ready)
		w->ops->reprobed(w->arg);
	else
		check_maybe_ready(w);	/* ready carries this result */
}

/*
 * Probe the ffmpeg binary (encoders, decoders, hwaccels, filters, device
 * nodes) if it changed since the last probe, also after a failed one: a
 * broken binary is not worth a probe every heartbeat.  One probe at a
 * time; a change during a probe is seen by the next heartbeat after it.
 */
static void
probe_start(struct wcheck *w)
{
	const char	*bin = strmap_get(&w->conf->binaries, "ffmpeg");
	struct stat	 st;
	char		 err[256];

	if (bin == NULL || bgtask_busy(w->tasks, PROBE_KEY))
		return;
	if (stat(bin, &st) == -1)
		memset(&st, 0, sizeof(st));
	if (w->probed && st.st_ino == w->caps_stat.st_ino &&
	    st.st_mtime == w->caps_stat.st_mtime &&
	    st.st_size == w->caps_stat.st_size)
		return;
	if (w->probed)
		log_info("the ffmpeg binary changed; probing it again");
	w->caps_stat = st;
	w->probed = true;
	if (bgtask_start(w->tasks, PROBE_KEY, CAPS_PROBE_TIMEOUT_MS,
	    probe_work, probe_result, w, err, sizeof(err)) == -1)
		probe_result(w, BGTASK_ERROR, err, strlen(err));
}

/* A variable's health: cache it, log a change (as a first result only
 * if unhealthy), and tell the owner. */
static void
health_set(struct wcheck *w, size_t i, const char *why)
{
	const char	*var = w->pm->roots.keys[i];
	const char	*old = strmap_get(&w->health, var);
	bool		 first = !w->checks[i].done;

	w->checks[i].done = true;
	if (first || strcmp(old, why) != 0) {
		if (strcmp(why, "ok") == 0) {
			if (!first)
				log_info("path variable %s is healthy again",
				    var);
		} else
			log_warnx("path variable %s is unhealthy: %s", var,
			    why);
		strmap_set(&w->health, var, why);
		if (!first)
			w->ops->health(w->arg);
	}
	check_maybe_ready(w);
}

/* In the child: what paths_health says of one variable. */
static int
check_work(void *arg, struct buf *out)
{
	const struct pcheck	*pc = arg;
	const struct wcheck	*w = pc->w;
	char			 why[PATH_BUF + 64];

	if (paths_health(w->pm->roots.vals[pc->i], strmap_get(&w->conf->mounts,
	    w->pm->roots.keys[pc->i]), why, sizeof(why)) == 0) {
		buf_add(out, "ok", 2);
		return 0;
	}
	buf_add(out, why, strlen(why));
	return -1;
}

static void
check_result(void *arg, enum bgtask_status st, const char *out,
    size_t len)
{
	struct pcheck	*pc = arg;
	char		 why[PATH_BUF + 64];

	(void)len;
	switch (st) {
	case BGTASK_OK:
		snprintf(why, sizeof(why), "ok");
		break;
	case BGTASK_FAILED:
		snprintf(why, sizeof(why), "%s", out[0] != '\0' ? out :
		    "unhealthy");
		break;
	case BGTASK_TIMEOUT:
		snprintf(why, sizeof(why), "mount check timed out after %d ms",
		    PATHS_CHECK_TIMEOUT_MS);
		break;
	default:
		snprintf(why, sizeof(why), "mount check failed: %s", out);
		break;
	}
	utf8_sanitize(why, strlen(why));
	health_set(pc->w, pc->i, why);
}

/*
 * Check every path variable's mount, one child each, so that one hung
 * mount makes only its own variable unhealthy.  A variable whose previous
 * check is still stuck (killed at its deadline, not yet reaped: the kernel
 * holds it) is not checked again; it stays "timed out" until the child
 * is gone.
 */
static void
checks_start(struct wcheck *w)
{
	char	key[BGTASK_KEY_MAX], err[256], why[320];
	size_t	i;

	for (i = 0; i < w->pm->roots.n; i++) {
		snprintf(key, sizeof(key), "mount:%s", w->pm->roots.keys[i]);
		if (bgtask_busy(w->tasks, key))
			continue;
		if (bgtask_start(w->tasks, key, PATHS_CHECK_TIMEOUT_MS,
		    check_work, check_result, &w->checks[i], err,
		    sizeof(err)) == -1) {
			snprintf(why, sizeof(why), "cannot check: %s", err);
			health_set(w, i, why);
		}
	}
}

struct wcheck *
wcheck_new(struct event_base *base, const struct worker_conf *conf,
    const struct pathmap *pm, const struct wcheck_ops *ops, void *arg)
{
	struct wcheck	*w = xcalloc(1, sizeof(*w));
	size_t		 i;

	w->conf = conf;
	w->pm = pm;
	w->ops = ops;
	w->arg = arg;
	w->tasks = bgtask_pool_new(base);
	w->checks = xcalloc(pm->roots.n + 1, sizeof(*w->checks));
	for (i = 0; i < pm->roots.n; i++) {
		w->checks[i].w = w;
		w->checks[i].i = i;
		strmap_set(&w->health, pm->roots.keys[i], "checking");
	}
	w->probe_done = strmap_get(&conf->binaries, "ffmpeg") == NULL;
	caps_set(&w->disabled, CAPS_ENCODERS, &conf->disable.encoders);
	caps_set(&w->disabled, CAPS_DECODERS, &conf->disable.decoders);
	caps_set(&w->disabled, CAPS_HWACCELS, &conf->disable.hwaccels);
	caps_set(&w->disabled, CAPS_FILTERS, &conf->disable.filters);
	return w;
}

void
wcheck_free(struct wcheck *w)
{
	if (w == NULL)
		return;
	bgtask_pool_free(w->tasks);
	free(w->checks);
	strmap_free(&w->health);
	caps_free(&w->caps);
	caps_free(&w->disabled);
	free(w);
}

void
wcheck_run(struct wcheck *w)
{
	checks_start(w);
	probe_start(w);
	check_maybe_ready(w);
}

const char *
wcheck_disabled(const struct wcheck *w, const char *binary,
    const struct strv *args, char *why, size_t whylen)
{
	struct ffreq	 req;
	const char	*hit;

	if (strcmp(binary, "ffmpeg") != 0)
		return NULL;
	memset(&req, 0, sizeof(req));
	ffargs_requirements((int)args->n, args->v, &req);
	hit = caps_listed(&w->disabled, &req, why, whylen);
	ffreq_free(&req);
	return hit;
}

bool
wcheck_ready(const struct wcheck *w)
{
	return w->ready;
}

const struct caps *
wcheck_caps(const struct wcheck *w)
{
	return w->caps_known ? &w->caps : NULL;
}

const struct strmap *
wcheck_health(const struct wcheck *w)
{
	return &w->health;
}
