/*
 * Counters and histograms, and their text in the Prometheus exposition
 * format (version 0.0.4): a family is a "# HELP" and a "# TYPE" line
 * followed by its samples; label values are escaped here.
 */
#ifndef DFFMPEG_METRICS_H
#define DFFMPEG_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

/* A histogram with fixed upper bounds (seconds, ascending). */
struct hist {
	const double	*le;
	size_t		 n;
	uint64_t	*bucket;	/* n + 1: the last is +Inf */
	double		 sum;
	uint64_t	 count;
};

void	 hist_init(struct hist *, const double *le, size_t n);
void	 hist_free(struct hist *);
void	 hist_observe(struct hist *, double v);

/* "# HELP name help" and "# TYPE name type". */
void	 prom_family(struct evbuffer *, const char *name, const char *type,
	    const char *help);
/* A sample: name{labels} value; labels is prom_labels' text or NULL. */
void	 prom_sample(struct evbuffer *, const char *name, const char *labels,
	    double v);
/* The _bucket, _sum and _count samples of h, with labels (or NULL). */
void	 prom_hist(struct evbuffer *, const char *name, const char *labels,
	    const struct hist *);
/*
 * Label text from name, value pairs ending with NULL:
 * prom_labels(buf, len, "worker", w, "device", d, NULL) gives
 * worker="w",device="d" with the values escaped.  Returns buf ("" if it
 * does not fit).
 */
char	*prom_labels(char *buf, size_t len, ...);

#endif
