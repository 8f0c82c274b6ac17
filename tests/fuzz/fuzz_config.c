/*
 * libFuzzer harness: the YAML configuration loader (config.c with the
 * key tables of settings.c).  The first byte picks the applet whose table
 * reads the rest as its configuration file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "settings.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cfg_key *const tables[] = {
		coord_conf_keys, worker_conf_keys, client_conf_keys
	};
	union {
		struct coord_conf	c;
		struct worker_conf	w;
		struct client_conf	k;
	} dst;
	const struct cfg_key	*t;
	char			 err[1024];

	if (size < 1)
		return 0;
	t = tables[data[0] % 3];
	memset(&dst, 0, sizeof(dst));
	config_parse("fuzz.yaml", (const char *)data + 1, size - 1, t, &dst,
	    err, sizeof(err));
	config_free(t, &dst);
	return 0;
}
