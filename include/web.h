/*
 * Files of src/web/, built into the executable (scripts/embed.sh writes
 * their bytes as C arrays, NUL-terminated; _len leaves the NUL out).
 */
#ifndef DFFMPEG_WEB_H
#define DFFMPEG_WEB_H

#include <stddef.h>

extern const char	web_dashboard[];	/* dashboard.html */
extern const size_t	web_dashboard_len;

#endif
