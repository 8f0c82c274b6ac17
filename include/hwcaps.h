/*
 * Hardware truth (design §8): ffmpeg lists the hardware encoders, decoders,
 * filters and device types it was built with, whether or not this machine
 * has the hardware.  A worker offers only what it verified.
 *
 * The table: a codec or filter name's suffix names the device type it
 * needs (_nvenc, _cuvid, _cuda, _npp: cuda; _vaapi: vaapi; _qsv: qsv;
 * _vulkan, _opencl, _v4l2m2m, _amf, _videotoolbox/_vt, _mediacodec, _rkmpp,
 * _mmal, _omx); everything else is software and stays as listed.
 *
 * hw_verify, run in the probe's child process (it blocks), then checks:
 *   device types   each type ffmpeg lists is initialised
 *                  (-init_hw_device TYPE, on each DRM render node for
 *                  vaapi and drm) with a deadline; a type that fails
 *                  is dropped from the hwaccels list, with ffmpeg's reason
 *                  ("cuda: Cannot load libcuda.so.1");
 *   encoders       a hardware encoder whose type is verified must encode
 *                  one frame; the others are dropped;
 *   decoders       likewise decode one frame of a sample that the
 *                  codec's software encoder makes (once per codec, in a
 *                  temporary directory); without such an encoder the
 *                  decoder is dropped;
 *   filters        offered when their type is verified, dropped when not.
 * Types ffmpeg cannot initialise itself (v4l2m2m, amf, rkmpp, ...) are
 * verified by their codecs' test encodes and decodes alone; their filters
 * are dropped (an operator can force them on).  Every dropped name
 * is recorded in caps->failed ("encoder h264_nvenc" -> why).
 *
 * The cache: a verification takes seconds to minutes on a machine with
 * hardware, so its result (the whole caps) is kept in a file under the
 * user's cache directory ($XDG_CACHE_HOME/dffmpeg, else ~/.cache/dffmpeg),
 * keyed by the binary's identity (path, device, inode, size, mtime) and
 * the device nodes present: a restart reuses it, a new binary or a new GPU
 * verifies again.
 */
#ifndef DFFMPEG_HWCAPS_H
#define DFFMPEG_HWCAPS_H

#include <stdbool.h>
#include <stddef.h>

#include "caps.h"

#define HW_INIT_TIMEOUT_MS	10000	/* one device initialisation */
#define HW_ENCODE_TIMEOUT_MS	20000	/* one test encode */

/* The device type name needs ("cuda", "vaapi", ...), or NULL: software. */
const char	*hw_type_of(const char *name);
/* "encoder", "decoder", "hwaccel", "filter". */
const char	*hw_kind_noun(enum caps_kind);

/* The device types a job needs (its -hwaccel and -init_hw_device types,
 * and those of its hardware codecs and filters), appended to out once
 * each. */
void		 hw_types_of(const struct ffreq *, struct strv *out);

/* Verify c (a fresh caps_probe of path) in place; see above. */
void		 hw_verify(const char *path, struct caps *c);

/*
 * The cached caps of binary path with the device nodes devices, into c:
 * 0 when the cache holds them, -1 when not (missing, another identity,
 * unreadable).  hw_cache_store keeps c for the next start; failures to
 * write are logged and otherwise ignored.
 */
int		 hw_cache_load(const char *path, const struct strv *devices,
		    struct caps *c);
void		 hw_cache_store(const char *path, const struct caps *c);

#endif
