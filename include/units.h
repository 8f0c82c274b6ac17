/*
 * Numbers with units, as config values and command-line options take
 * them: durations ("500ms", "30s", "5m", "2h", "7d", a bare number of
 * seconds) and sizes ("65536", "256KiB" or "256k"/"256K", "16MiB" or
 * "16M", "1GiB" or "1G").  A decimal number without sign or fraction,
 * then the unit; 0 with the value, or -1 if malformed or past INT64_MAX.
 */
#ifndef DFFMPEG_UNITS_H
#define DFFMPEG_UNITS_H

#include <stddef.h>
#include <stdint.h>

int	 units_duration(const char *, int64_t *ms);
int	 units_size(const char *, int64_t *bytes);
/* The largest unit that divides ms evenly: 90000 -> "90s", 7200000 ->
 * "2h". */
void	 units_format_duration(int64_t ms, char *out, size_t outlen);

#endif
