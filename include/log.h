/*
 * One logging module for every process.  Messages go to stderr, to a file
 * or to syslog; the proxy persona never writes to stderr (its stderr belongs
 * to the remote ffmpeg).  Secrets must never be passed to these functions.
 */
#ifndef DFFMPEG_LOG_H
#define DFFMPEG_LOG_H

#include <stdarg.h>

enum log_level { LL_ERROR = 0, LL_WARN, LL_INFO, LL_DEBUG };

enum log_sink {
	LOG_SINK_STDERR, LOG_SINK_FILE, LOG_SINK_SYSLOG, LOG_SINK_NONE
};

/* Set where messages go.  For LOG_SINK_FILE, path is opened for appending;
 * on failure the sink falls back to syslog and -1 is returned. */
int	 log_init(const char *ident, enum log_sink sink, const char *path);
/*
 * Where a process that must not write to stderr logs without a log_file:
 * syslog when its socket exists, else the file NAME in the user's state
 * directory ($XDG_STATE_HOME/dffmpeg/, default ~/.local/state/dffmpeg/,
 * created 0700; over 8 MiB it is renamed NAME.1 first).  -1 (and no
 * logging) if neither is possible.
 */
int	 log_init_default(const char *ident, const char *name);
/* Open the sink of the last log_init again (a forked child that closed
 * every descriptor). */
int	 log_reopen(void);
void	 log_set_level(enum log_level);
enum log_level log_get_level(void);
int	 log_level_parse(const char *, enum log_level *);
void	 log_close(void);

/* log_warn and fatal append ": strerror(errno)"; the x variants do not. */
void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_msgv(enum log_level, const char *, va_list);
void	 fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
