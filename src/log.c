/*
 * Logging: levels, one sink per process.  A line is written with a single
 * write(2) so that concurrent processes sharing a log file do not interleave
 * within a line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static const char	*log_ident = "dffmpeg";
static enum log_sink	 log_sink = LOG_SINK_STDERR;
static enum log_level	 log_level = LL_INFO;
static int		 log_fd = -1;
static char		 log_path[PATH_MAX];	/* LOG_SINK_FILE */

#define SYSLOG_SOCKET	"/dev/log"
#define DEFAULT_LOG_MAX	(8 * 1024 * 1024)

static const char *const level_names[] = { "error", "warn", "info", "debug" };

int
log_init(const char *ident, enum log_sink sink, const char *path)
{
	log_close();
	log_ident = ident;
	log_sink = sink;
	if (sink == LOG_SINK_FILE) {
		if (path != log_path)
			snprintf(log_path, sizeof(log_path), "%s", path);
		log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0640);
		if (log_fd == -1) {
			log_sink = LOG_SINK_SYSLOG;
			openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
			syslog(LOG_WARNING, "cannot open log file %s: %s", path,
			    strerror(errno));
			return -1;
		}
	} else if (sink == LOG_SINK_SYSLOG)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	return 0;
}

int
log_init_default(const char *ident, const char *name)
{
	char		 path[PATH_MAX];
	struct stat	 st;

	if (stat(SYSLOG_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode))
		return log_init(ident, LOG_SINK_SYSLOG, NULL);
	if (xdg_file("XDG_STATE_HOME", ".local/state", name, path,
	    sizeof(path)) == -1) {
		log_init(ident, LOG_SINK_NONE, NULL);
		return -1;
	}
	/* Kept to two generations of at most DEFAULT_LOG_MAX bytes. */
	if (stat(path, &st) == 0 && st.st_size > DEFAULT_LOG_MAX) {
		char	old[PATH_MAX + 2];

		snprintf(old, sizeof(old), "%s.1", path);
		rename(path, old);
	}
	if (log_init(ident, LOG_SINK_FILE, path) == -1) {
		log_init(ident, LOG_SINK_NONE, NULL);
		return -1;
	}
	return 0;
}

int
log_reopen(void)
{
	return log_init(log_ident, log_sink, log_path);
}

void
log_close(void)
{
	if (log_fd != -1)
		close(log_fd);
	log_fd = -1;
	if (log_sink == LOG_SINK_SYSLOG)
		closelog();
}

void
log_set_level(enum log_level l)
{
	log_level = l;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

int
log_level_parse(const char *s, enum log_level *out)
{
	size_t	i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/*
 * Copy s into out (outlen > 0) with control characters as \xNN: a value
 * that came from the network (an environment key, a reason, a name) must
 * not start a line of its own in the log.  Returns the length written.
 */
static size_t
escape_controls(const char *s, char *out, size_t outlen)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 o = 0;
	unsigned char		 c;

	for (; (c = (unsigned char)*s) != '\0' && o + 1 < outlen; s++) {
		if (c >= 0x20 && c != 0x7f) {
			out[o++] = (char)c;
			continue;
		}
		if (o + 4 >= outlen)
			break;
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	out[o] = '\0';
	return o;
}

void
log_msgv(enum log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char		 line[2048], msg[1536];
	struct timespec	 ts;
	struct tm	 tm;
	int		 n, fd, saved = errno;

	if (level > log_level || log_sink == LOG_SINK_NONE)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_sink == LOG_SINK_SYSLOG) {
		escape_controls(msg, line, sizeof(line));
		syslog(prio[level], "%s", line);
		errno = saved;
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld] %s: ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_ident,
	    (long)getpid(), level_names[level]);
	if (n < 0 || (size_t)n >= sizeof(line) - 1)
		n = 0;
	n += (int)escape_controls(msg, line + n, sizeof(line) - (size_t)n - 1);
	line[n++] = '\n';
	fd = log_sink == LOG_SINK_FILE ? log_fd : STDERR_FILENO;
	if (write(fd, line, (size_t)n) == -1) {
		/* nowhere left to report it */
	}
	errno = saved;
}

static void
log_line(enum log_level level, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_msgv(level, fmt, ap);
	va_end(ap);
}

/* Format fmt, then append strerror of the errno saved on entry. */
static void
log_errno(enum log_level level, const char *fmt, va_list ap)
{
	char	buf[1536];
	int	saved = errno;

	if (level > log_level)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	log_line(level, "%s: %s", buf, strerror(saved));
	errno = saved;
}

#define LOG_FN(name, level)					\
void								\
name(const char *fmt, ...)					\
{								\
	va_list	ap;						\
								\
	va_start(ap, fmt);					\
	log_msgv(level, fmt, ap);				\
	va_end(ap);						\
}

LOG_FN(log_error, LL_ERROR)
LOG_FN(log_warnx, LL_WARN)
LOG_FN(log_info, LL_INFO)
LOG_FN(log_debug, LL_DEBUG)

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_errno(LL_WARN, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_errno(LL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_msgv(LL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
