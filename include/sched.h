/*
 * Placement (design §8), pure: from the registry's workers and what a job
 * needs, which worker takes it now, and whether any could ever.  No I/O,
 * no clock: the caller passes everything in, so every rule is unit-tested.
 *
 *   candidates   online workers (not draining, stale, lost or offline)
 *                that have the binary, every path variable the job uses
 *                healthy, a free slot (max_jobs, 0 unlimited) and every
 *                capability the job needs (ffmpeg only: caps.h), and a
 *                free device slot of every device type it uses that the
 *                worker limits (device_slots)
 *   choice       the lowest active / weight; ties go to the worker
 *                assigned to least recently (round robin)
 */
#ifndef DFFMPEG_SCHED_H
#define DFFMPEG_SCHED_H

#include <stdbool.h>
#include <stddef.h>

#include "ffargs.h"
#include "registry.h"
#include "util.h"

struct sched_job {
	const char		*binary;
	const struct strv	*paths;		/* path variables it uses */
	const struct ffreq	*req;		/* NULL: needs nothing */
	const struct strv	*hwtypes;	/* device types it uses, for
						   device slots (NULL: none) */
};

/*
 * Could w run j, load and state aside?  If not, why names the first thing
 * it lacks ("binary 'x'", "a healthy path variable 'Media'", "encoder
 * 'h264_nvenc'", ...).
 */
bool		 sched_can_run(const struct cworker *w,
		    const struct sched_job *j, char *why, size_t whylen);
/* The candidate that takes j now, or NULL. */
struct cworker	*sched_pick(struct cworker *const *ws, size_t n,
		    const struct sched_job *j);
/*
 * Could any registered worker (online, draining or stale: a drained one
 * may be resumed) ever run j?  If none is registered at all, the answer is
 * `waiting` (workers may be coming back after a coordinator restart) with
 * why "no worker is registered"; otherwise why names what they lack.
 */
bool		 sched_could_run(struct cworker *const *ws, size_t n,
		    const struct sched_job *j, bool waiting, char *why,
		    size_t whylen);

#endif
