/*
 * Numbers with units, as config values and command-line options take
 * them.  See units.h.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "units.h"
#include "util.h"

struct unit {
	const char	*unit;
	int64_t		 ms;	/* or bytes */
};

static const struct unit duration_units[] = {
	{ "ms", 1 },
	{ "s", 1000 },
	{ "", 1000 },		/* a bare number is seconds */
	{ "m", 60 * 1000 },
	{ "h", 60 * 60 * 1000 },
	{ "d", 24 * 60 * 60 * 1000 },
};

static const struct unit size_units[] = {
	{ "", 1 },
	{ "B", 1 },
	{ "k", 1024 }, { "K", 1024 }, { "KiB", 1024 },
	{ "M", 1024 * 1024 }, { "MiB", 1024 * 1024 },
	{ "G", 1024 * 1024 * 1024 }, { "GiB", 1024 * 1024 * 1024 },
};

/* A decimal number followed by one of the units; -1 if malformed. */
static int
parse_units(const char *s, const struct unit *units, size_t nunits,
    int64_t *out)
{
	const char	*p = s;
	int64_t		 n = 0;
	size_t		 i;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (n > (INT64_MAX - (*p - '0')) / 10)
			return -1;
		n = n * 10 + (*p - '0');
	}
	for (i = 0; i < nunits; i++) {
		if (strcmp(p, units[i].unit) != 0)
			continue;
		if (n > INT64_MAX / units[i].ms)
			return -1;
		*out = n * units[i].ms;
		return 0;
	}
	return -1;
}

int
units_duration(const char *s, int64_t *ms)
{
	return parse_units(s, duration_units, nitems(duration_units), ms);
}

int
units_size(const char *s, int64_t *bytes)
{
	return parse_units(s, size_units, nitems(size_units), bytes);
}

/* The largest unit that divides ms evenly: 90000 -> "90s", 7200000 -> "2h". */
void
units_format_duration(int64_t ms, char *out, size_t outlen)
{
	size_t	i, best = 0;

	for (i = 0; i < nitems(duration_units); i++) {
		if (*duration_units[i].unit == '\0')
			continue;
		if (ms != 0 && ms % duration_units[i].ms == 0)
			best = i;
	}
	snprintf(out, outlen, "%lld%s",
	    (long long)(ms / duration_units[best].ms),
	    duration_units[best].unit);
}
