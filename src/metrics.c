/*
 * Histograms and the Prometheus text format: see metrics.h.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "metrics.h"
#include "xmalloc.h"

void
hist_init(struct hist *h, const double *le, size_t n)
{
	memset(h, 0, sizeof(*h));
	h->le = le;
	h->n = n;
	h->bucket = xcalloc(n + 1, sizeof(*h->bucket));
}

void
hist_free(struct hist *h)
{
	free(h->bucket);
	memset(h, 0, sizeof(*h));
}

void
hist_observe(struct hist *h, double v)
{
	size_t	i;

	if (h->bucket == NULL || isnan(v))
		return;
	if (v < 0)
		v = 0;
	for (i = 0; i < h->n && v > h->le[i]; i++)
		;
	h->bucket[i]++;
	h->sum += v;
	h->count++;
}

void
prom_family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* A value as Prometheus reads it: integers without a fraction. */
static void
add_value(struct evbuffer *b, double v)
{
	if (isinf(v))
		evbuffer_add_printf(b, "%s\n", v > 0 ? "+Inf" : "-Inf");
	else if (isnan(v))
		evbuffer_add_printf(b, "NaN\n");
	else if (v == floor(v) && fabs(v) < 1e15)
		evbuffer_add_printf(b, "%.0f\n", v);
	else
		evbuffer_add_printf(b, "%.9g\n", v);
}

void
prom_sample(struct evbuffer *b, const char *name, const char *labels,
    double v)
{
	if (labels != NULL && *labels != '\0')
		evbuffer_add_printf(b, "%s{%s} ", name, labels);
	else
		evbuffer_add_printf(b, "%s ", name);
	add_value(b, v);
}

void
prom_hist(struct evbuffer *b, const char *name, const char *labels,
    const struct hist *h)
{
	const char	*sep = labels != NULL && *labels != '\0' ? "," : "";
	uint64_t	 cum = 0;
	size_t		 i;

	if (labels == NULL)
		labels = "";
	for (i = 0; i <= h->n; i++) {
		cum += h->bucket != NULL ? h->bucket[i] : 0;
		if (i < h->n)
			evbuffer_add_printf(b, "%s_bucket{%s%sle=\"%.9g\"} "
			    "%llu\n", name, labels, sep, h->le[i],
			    (unsigned long long)cum);
		else
			evbuffer_add_printf(b, "%s_bucket{%s%sle=\"+Inf\"} "
			    "%llu\n", name, labels, sep,
			    (unsigned long long)cum);
	}
	if (*labels != '\0') {
		evbuffer_add_printf(b, "%s_sum{%s} ", name, labels);
		add_value(b, h->sum);
		evbuffer_add_printf(b, "%s_count{%s} %llu\n", name, labels,
		    (unsigned long long)h->count);
	} else {
		evbuffer_add_printf(b, "%s_sum ", name);
		add_value(b, h->sum);
		evbuffer_add_printf(b, "%s_count %llu\n", name,
		    (unsigned long long)h->count);
	}
}

char *
prom_labels(char *buf, size_t len, ...)
{
	va_list		 ap;
	const char	*k, *v;
	size_t		 o = 0;

	if (len == 0)
		return buf;
	buf[0] = '\0';
	va_start(ap, len);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (v == NULL)
			v = "";
		/* name="value", worst case every byte escaped */
		if (o + strlen(k) + 2 * strlen(v) + 5 > len) {
			buf[0] = '\0';
			break;
		}
		o += (size_t)snprintf(buf + o, len - o, "%s%s=\"",
		    o > 0 ? "," : "", k);
		for (; *v != '\0'; v++) {
			if (*v == '\\' || *v == '"') {
				buf[o++] = '\\';
				buf[o++] = *v;
			} else if (*v == '\n') {
				buf[o++] = '\\';
				buf[o++] = 'n';
			} else
				buf[o++] = *v;
		}
		buf[o++] = '"';
		buf[o] = '\0';
	}
	va_end(ap);
	return buf;
}
