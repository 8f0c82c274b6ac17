/*
 * A running job's progress (design §11): what ffmpeg's status line says
 * (frame, fps, speed, out_time) and, when the input's duration is known,
 * how far along it is.
 *
 * The worker reads it from the job's stderr: progress_line() takes each
 * status line ("frame=  120 fps= 60 ... time=00:00:04.80 ... speed=2.4x",
 * or "size= ... time=... speed=..." for audio), progress_duration() the
 * input dump's "Duration: 00:01:00.00" line.  progress_args() adjusts the
 * duration for -ss before an input and -t/-to after the last one.
 *
 * On the wire (heartbeat and finished: job id -> this text) it is a short
 * list of key=value words, "frame=120 fps=60.00 speed=2.400
 * out_time_ms=4800 duration_ms=60000" (plain decimals, no exponents),
 * written by progress_format and read back, with every value checked, by
 * progress_parse.  Unknown values are left out.
 */
#ifndef DFFMPEG_PROGRESS_H
#define DFFMPEG_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROGRESS_WIRE_MAX	160	/* progress_format's longest text */

struct cJSON;

struct progress {
	bool	 known;		/* a status line was seen */
	int64_t	 frame;		/* -1: not given (audio only) */
	double	 fps;		/* -1: not given */
	double	 speed;		/* -1: not given ("N/A") */
	int64_t	 out_time_ms;	/* -1: not given */
	int64_t	 duration_ms;	/* -1: the input's length is not known */
	int64_t	 offset_ms;	/* -ss of the input (not on the wire) */
	int64_t	 limit_ms;	/* -t of the output, -1 if none (ditto) */
};

void	 progress_init(struct progress *);
/* One segment of stderr without its terminator.  Returns true if it was
 * a status line (p updated). */
bool	 progress_line(struct progress *, const char *, size_t);
/* A line of the input dump: takes the first "Duration: HH:MM:SS.xx". */
void	 progress_duration(struct progress *, const char *, size_t);
/* Read -ss (before an input) and -t/-to (after the last -i) from a
 * job's arguments, argv[0] being the first argument. */
void	 progress_args(struct progress *, int argc, char *const *argv);
/* Percent done (0..100), or -1 when it cannot be known. */
double	 progress_percent(const struct progress *);

/* The wire text (at most PROGRESS_WIRE_MAX bytes with its NUL). */
void	 progress_format(const struct progress *, char *, size_t);
/* Parse the wire text; 0, or -1 (p untouched) for anything malformed. */
int	 progress_parse(const char *, struct progress *);
/* Add the members of p to obj: frame, fps, speed, out_time_ms,
 * duration_ms, percent (those known). */
void	 progress_json(const struct progress *, struct cJSON *obj);

/* ffmpeg's time syntax: "[-][HH:]MM:SS[.frac]" or "S[.frac]" with an
 * optional unit suffix (s, ms, us).  0, or -1 if malformed. */
int	 progress_parse_time(const char *, int64_t *ms);

#endif
