/*
 * What an ffmpeg command line needs from the worker that runs it: the
 * encoders, forced decoders, hwaccels, hardware device types and filters it
 * names (design §8).  The coordinator compares these with each worker's
 * probed capabilities (caps.h).
 *
 * The parser follows ffmpeg's own split of the command line: options
 * apply to the next file, "-i X" opens input X, any other argument that is
 * not an option's value names an output.  Only ffmpeg's value-less options
 * (a table in ffargs.c) take no value; every other option, including the
 * AVOptions of codecs and formats, takes exactly one.
 */
#ifndef DFFMPEG_FFARGS_H
#define DFFMPEG_FFARGS_H

#include <stdbool.h>

#include "util.h"

/* At most this many names in each list of a struct ffreq. */
#define FFREQ_MAX_NAMES	256

struct ffreq {
	struct strv	encoders;	/* codecs selected for outputs, not "copy" */
	struct strv	decoders;	/* codecs forced for inputs */
	struct strv	hwaccels;	/* -hwaccel values but none/auto; nvdec
					   and cuvid read as cuda, as ffmpeg does */
	struct strv	hwdevices;	/* types of -init_hw_device (vaapi, qsv...),
					   -vaapi_device, -qsv_device */
	struct strv	filters;	/* filter names of every filtergraph */
};

/*
 * Fill out from argv (without argv[0]).  Each list holds unique names in
 * order of first use.  out is overwritten without being freed; release it
 * with ffreq_free.  Never fails: odd input yields fewer requirements.
 */
void	 ffargs_requirements(int argc, char *const argv[], struct ffreq *out);
void	 ffreq_free(struct ffreq *);
/* Does the command line need nothing in particular? */
bool	 ffreq_empty(const struct ffreq *);

/* Append the filter names of one filtergraph description to out (unique). */
void	 ffargs_graph_filters(const char *graph, struct strv *out);

#endif
