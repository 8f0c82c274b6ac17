/*
 * Shared scaffolding for the Check unit tests: each test_*.c defines
 * make_suite() and includes this header once for main().
 */
#ifndef DFFMPEG_UNIT_H
#define DFFMPEG_UNIT_H

#include <stdlib.h>

#include <check.h>
#include <sodium.h>

#include "log.h"

static Suite	*make_suite(void);

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	if (sodium_init() < 0)
		return 1;
	log_init("unit", LOG_SINK_NONE, NULL);
	sr = srunner_create(make_suite());
	/* No fork: valgrind and ASan then see every allocation. */
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
