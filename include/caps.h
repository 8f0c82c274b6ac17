/*
 * What a worker's ffmpeg can do: its version, the encoders, decoders,
 * hwaccels (hardware device types) and filters it lists, and the GPU
 * device nodes present (design §8).  A worker probes each configured
 * binary at start-up; the coordinator matches a job's requirements
 * (ffargs.h) against them.
 *
 * Every list is sorted (strcmp) and free of duplicates, so lookups are a
 * bsearch.  Encoder and decoder lists also hold the codec names that
 * ffmpeg accepts in their place ("-c:v h264" selects libx264): the
 * "(codec h264)" of each listing line.
 */
#ifndef DFFMPEG_CAPS_H
#define DFFMPEG_CAPS_H

#include <stdbool.h>
#include <stddef.h>

#include "ffargs.h"
#include "util.h"

enum caps_kind {
	CAPS_ENCODERS,
	CAPS_DECODERS,
	CAPS_HWACCELS,
	CAPS_FILTERS,
	CAPS__COUNT
};

#define CAPS_VERSION_LEN	128
#define CAPS_OUTPUT_MAX		(4 * 1024 * 1024)	/* one listing */
#define CAPS_TIMEOUT_MS		10000			/* one listing */
/* A whole probe (five listings and the hardware verification, hwcaps.h)
 * run off the loop. */
#define CAPS_PROBE_TIMEOUT_MS	(300 * 1000)
#define CAPS_WIRE_LIST_MAX	100000			/* names in one list */
#define CAPS_REASON_MAX		200	/* why verification dropped a name */

/* The listing probes a media server runs at start-up, whose output a
 * worker keeps so that the coordinator can answer them (design §11). */
enum caps_output_kind {
	CO_VERSION,	/* -version */
	CO_ENCODERS,	/* -encoders */
	CO_DECODERS,
	CO_HWACCELS,
	CO_FILTERS,
	CO__COUNT
};

/* What one listing printed, without -hide_banner: the banner is its
 * stderr. */
struct caps_output {
	bool		known;
	int		status;		/* exit status */
	struct buf	out;
	struct buf	err;
};

#define CAPS_ERR_MAX	(64 * 1024)	/* stderr kept of one listing */

struct caps {
	char		version[CAPS_VERSION_LEN];	/* "5.1.9-0+deb12u1" */
	struct strv	lists[CAPS__COUNT];
	struct strv	devices;	/* /dev/dri/renderD*, card*, /dev/nvidia* */
	/* What ffmpeg lists but verification dropped (hwcaps.h):
	 * "encoder h264_nvenc" -> "needs a working cuda device (...)". */
	struct strmap	failed;
	struct caps_output outputs[CO__COUNT];
};

/* "-version", "-encoders", ...; NULL if out of range. */
const char *caps_output_opt(enum caps_output_kind);
/* The kind of a listing option ("-hwaccels"), or -1. */
int	 caps_output_lookup(const char *opt);
/* The kind asked by a pure listing probe of binary: "ffmpeg -encoders",
 * alone or with -hide_banner before or after it (*hide says which); -1
 * for any other command line. */
int	 caps_output_args(const char *binary, int argc, char *const argv[],
	    bool *hide);

/* "encoders", "decoders", "hwaccels", "filters"; NULL if out of range. */
const char *caps_kind_name(enum caps_kind);

/*
 * Parse the output of `ffmpeg -hide_banner -<kind>` into out (which must
 * be empty).  -1, with out left empty, if text is not such a listing.
 */
int	 caps_parse(enum caps_kind, const char *text, struct strv *out);

/* The X of "ffmpeg version X ..." in -version output; -1 if absent. */
int	 caps_parse_version(const char *text, char *out, size_t outlen);

/* The device nodes under devdir ("/dev" normally) a job may need:
 * dri/renderD*, dri/card*, nvidia*.  Sorted; a missing directory is not
 * an error. */
void	 caps_scan_devices(const char *devdir, struct strv *out);

/*
 * Run binary (a path, or a name looked up in PATH) with -hide_banner and
 * -version, -encoders, -decoders, -hwaccels, -filters, each bounded by
 * CAPS_OUTPUT_MAX and CAPS_TIMEOUT_MS, and scan /dev.  Blocks: meant for
 * start-up.  Returns 0, or -1 with err filled and c emptied.
 */
int	 caps_probe(const char *binary, struct caps *c, char *err,
	    size_t errlen);

/*
 * The caps as text (src/capswire.c), to hand a probe's result from a child
 * process to the loop: "dffmpeg-caps 1", "version V", then for encoders,
 * decoders, hwaccels, filters and devices (in that order) a line "KIND N"
 * followed by N lines of one name each in strictly increasing strcmp
 * order, then "failed N" and N lines "KIND NAME REASON" (KIND one of
 * encoder, decoder, hwaccel, filter; REASON printable ASCII, at most
 * CAPS_REASON_MAX bytes), then "outputs N" and N entries "output OPT
 * STATUS OUTLEN ERRLEN" followed by OUTLEN bytes of stdout, ERRLEN bytes
 * of stderr and '\n' (OPT a caps_output_opt, each once; OUTLEN at most
 * CAPS_OUTPUT_MAX, ERRLEN at most CAPS_ERR_MAX), then "end"; every line
 * ends in '\n'.  A name (and the version)
 * is printable ASCII without spaces: 1 to NAME_MAX_LEN bytes in the four
 * lists, up to PATH_BUF - 1 for devices and the version's buffer.
 * caps_encode appends to out and returns 0, or -1 with err for caps that
 * cannot be written so.  caps_decode parses text strictly (anything else,
 * or more than CAPS_WIRE_LIST_MAX names in a list, is -1 with err and c
 * left empty); c need not be initialised.
 */
struct buf;
int	 caps_encode(const struct caps *, struct buf *out, char *err,
	    size_t errlen);
int	 caps_decode(const char *text, size_t len, struct caps *c, char *err,
	    size_t errlen);

/*
 * The outputs as the JSON of a register message's `probes` field:
 * {"-encoders": {"status": 0, "stdout": "...", "stderr": "..."}, ...},
 * only those that are UTF-8 text without NUL; owned, NULL if none.
 * caps_outputs_parse reads it back into c->outputs (known options only,
 * each once, within the listing bounds); -1 (c->outputs left empty) if it
 * is anything else.
 */
char	*caps_outputs_json(const struct caps *);
int	 caps_outputs_parse(const char *json, struct caps *c);

bool	 caps_has(const struct caps *, enum caps_kind, const char *name);
/* Drop names from a list (an operator disabled them). */
void	 caps_remove(struct caps *, enum caps_kind, const struct strv *names);
void	 caps_free(struct caps *);
/* Replace one list with a sorted, de-duplicated copy of names (as
 * reported by a worker: not trusted to be sorted). */
void	 caps_set(struct caps *, enum caps_kind, const struct strv *names);

/*
 * The first requirement of req that c does not meet, written to buf as
 * "encoder 'libfdk_aac'", "decoder 'x'", "filter 'zscale'", naming the
 * device type a hardware one needs ("encoder 'h264_nvenc', which needs a
 * working cuda device", hwcaps.h), or for a device type "a working cuda
 * device (hwaccel 'cuda')" or "... (hardware device 'qsv')" (truncated to
 * buflen, which must not be 0), and buf returned; NULL if c meets them
 * all.  Device types are checked against the hwaccels list: ffmpeg's list
 * of device types, less those that failed verification.
 */
const char *caps_missing(const struct caps *c, const struct ffreq *req,
	    char *buf, size_t buflen);
/* The other way round: the first requirement of req that c lists (a
 * worker's disabled names), or NULL. */
const char *caps_listed(const struct caps *c, const struct ffreq *req,
	    char *buf, size_t buflen);

#endif
