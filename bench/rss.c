/*
 * rss — run one command and say what it cost, for bench/run.sh.
 *
 *	rss [-c] [-o file] command [arg ...]
 *
 * Forks and execs the command, waits for it with wait4() and prints one
 * line of "key=value" pairs to file (default stderr):
 *
 *	status=0 wall_ms=1.234 cpu_ms=0.987 rss_kib=1600 bytes=0 ttfb_ms=-1
 *	    hash=-
 *
 * (one line).
 *
 * rss_kib is the child's ru_maxrss (its own peak, not ours); cpu_ms is its
 * user plus system time.  With -c the
 * child's stdout is a pipe that rss reads itself: it counts the bytes,
 * hashes them (a fast non-cryptographic 64-bit hash, independent of how
 * reads chunk the stream, so equal hashes mean equal bytes for a bench's
 * purposes) and notes the time from just before fork() to the first
 * byte.  Without -c the child inherits stdout.  Times are CLOCK_MONOTONIC.
 * Exits 0 unless rss itself failed; the child's status is in the line.
 */

#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RSS_BUF	(256 * 1024)

struct hash {
	uint64_t	h;
	unsigned char	tail[8];
	size_t		ntail;
};

static double
now_msf(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
hash_word(struct hash *hs, uint64_t w)
{
	hs->h ^= w;
	hs->h *= 0x9e3779b97f4a7c15ULL;
	hs->h ^= hs->h >> 29;
}

/* Whole 8-byte words only; a partial word waits in tail for the next call. */
static void
hash_update(struct hash *hs, const unsigned char *p, size_t n)
{
	uint64_t	w;

	while (hs->ntail != 0 && n > 0) {
		hs->tail[hs->ntail++] = *p++;
		n--;
		if (hs->ntail == 8) {
			memcpy(&w, hs->tail, 8);
			hash_word(hs, w);
			hs->ntail = 0;
		}
	}
	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		hash_word(hs, w);
	}
	memcpy(hs->tail, p, n);
	hs->ntail += n;
}

static uint64_t
hash_final(struct hash *hs, uint64_t len)
{
	uint64_t	w = 0;

	if (hs->ntail != 0) {
		memcpy(&w, hs->tail, hs->ntail);
		hash_word(hs, w);
	}
	hash_word(hs, len);
	return hs->h;
}

static double
tv_ms(const struct timeval *tv)
{
	return tv->tv_sec * 1e3 + tv->tv_usec / 1e3;
}

static void
usage(void)
{
	fprintf(stderr, "usage: rss [-c] [-o file] command [arg ...]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct hash	 hs = { .h = 0xcbf29ce484222325ULL };
	struct rusage	 ru;
	unsigned char	*buf = NULL;
	const char	*outpath = NULL;
	FILE		*out = stderr;
	double		 t0, t1, ttfb = -1;
	uint64_t	 bytes = 0;
	ssize_t		 n;
	pid_t		 pid;
	int		 ch, consume = 0, fds[2] = { -1, -1 }, status;

	while ((ch = getopt(argc, argv, "+co:")) != -1) {
		switch (ch) {
		case 'c':
			consume = 1;
			break;
		case 'o':
			outpath = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();

	if (consume) {
		if (pipe(fds) == -1) {
			perror("rss: pipe");
			return 1;
		}
		if ((buf = malloc(RSS_BUF)) == NULL) {
			perror("rss: malloc");
			return 1;
		}
	}

	t0 = now_msf();
	if ((pid = fork()) == -1) {
		perror("rss: fork");
		return 1;
	}
	if (pid == 0) {
		if (consume) {
			if (dup2(fds[1], STDOUT_FILENO) == -1)
				_exit(126);
			close(fds[0]);
			close(fds[1]);
		}
		execvp(argv[0], argv);
		fprintf(stderr, "rss: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}

	if (consume) {
		close(fds[1]);
		for (;;) {
			n = read(fds[0], buf, RSS_BUF);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			if (bytes == 0)
				ttfb = now_msf() - t0;
			bytes += n;
			hash_update(&hs, buf, n);
		}
		close(fds[0]);
	}

	while (wait4(pid, &status, 0, &ru) == -1) {
		if (errno != EINTR) {
			perror("rss: wait4");
			return 1;
		}
	}
	t1 = now_msf();

	if (outpath != NULL && (out = fopen(outpath, "w")) == NULL) {
		perror(outpath);
		return 1;
	}
	fprintf(out, "status=%d wall_ms=%.3f cpu_ms=%.3f rss_kib=%ld bytes=%"
	    PRIu64 " ttfb_ms=%.3f hash=", WIFEXITED(status) ?
	    WEXITSTATUS(status) : 128 + WTERMSIG(status), t1 - t0,
	    tv_ms(&ru.ru_utime) + tv_ms(&ru.ru_stime), ru.ru_maxrss, bytes,
	    ttfb);
	if (consume)
		fprintf(out, "%016" PRIx64 "\n", hash_final(&hs, bytes));
	else
		fprintf(out, "-\n");
	if (out != stderr)
		fclose(out);
	free(buf);
	return 0;
}
