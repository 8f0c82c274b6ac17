/*
 * The log (log.c): a line per message, with the control characters of the
 * values in it written as \xNN, so that text from the network (a name, a
 * reason, an environment key) cannot start a forged line of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"

START_TEST(test_controls_escaped)
{
	char	path[] = "/tmp/dffmpeg-test-log.XXXXXX", buf[512];
	FILE	*f;
	int	fd;
	size_t	n;

	ck_assert_int_ne(fd = mkstemp(path), -1);
	close(fd);
	log_init("unit", LOG_SINK_FILE, path);
	log_set_level(LL_DEBUG);
	log_warnx("job %s: refused: %s", "j1", "x\n2026-01-01T00:00:00Z fake: "
	    "forged\r\x1b[31m");
	log_close();
	ck_assert_ptr_nonnull(f = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(path);
	/* One line, ending in the only newline. */
	ck_assert_ptr_eq(strchr(buf, '\n'), buf + n - 1);
	ck_assert(strstr(buf, "warn: job j1: refused: x\\x0a2026-01-01T00:00:00Z "
	    "fake: forged\\x0d\\x1b[31m\n") != NULL);
	log_init("unit", LOG_SINK_NONE, NULL);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("log");
	TCase	*tc = tcase_create("log");

	tcase_add_test(tc, test_controls_escaped);
	suite_add_tcase(s, tc);
	return s;
}
