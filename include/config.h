/*
 * Table-driven YAML configuration (libyaml document API).
 *
 * A config file is a YAML mapping described by a const table of struct
 * cfg_key rows: name, type, where the value goes (offset into the caller's
 * struct), bounds and default.  Every error names the file, line and column
 * (1-based) of the offending node: unknown keys, duplicate keys, wrong
 * types (a sequence where a string is expected, "abc" for an integer), and
 * bad values (out of bounds, failed check).  Defaults are applied for keys
 * that are absent; a key with a null value ("key:", "key: ~") counts as
 * absent, except that a required key must have a value.
 */
#ifndef DFFMPEG_CONFIG_H
#define DFFMPEG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cfg_type {
	CFG_STRING,	/* char * (owned); max = length limit if > 0 */
	CFG_INT,	/* int, min..max */
	CFG_BOOL,	/* bool: true/false/yes/no/on/off */
	CFG_DURATION,	/* int64_t milliseconds: "500ms", "30s", "5m", "2h",
			   "7d", or a bare number of seconds; min..max in ms */
	CFG_SIZE,	/* int64_t bytes: "65536", "256KiB" (k, K), "16MiB"
			   (M), "1GiB" (G); min..max in bytes */
	CFG_MAP,	/* struct strmap: mapping of scalar to scalar */
	CFG_LIST,	/* struct strv: sequence of scalars (a single scalar
			   is accepted as a one-element list) */
	CFG_SECTION,	/* nested mapping described by sub */
};

#define CFG_REQUIRED	0x01	/* absence is an error */
#define CFG_PRESENCE	0x02	/* CFG_SECTION: the struct at off starts with
				   a bool set when the section is present; a
				   scalar true/false is accepted instead of a
				   mapping and only sets that bool */
#define CFG_SECRET	0x04	/* CFG_STRING: wiped before it is freed */

#define CFG_MAX_FILE	(1024 * 1024)	/* bytes of one config file */
#define CFG_DEPTH_MAX	16		/* nesting of its collections */
#define CFG_MAX_ENTRIES	1024		/* entries of one CFG_MAP/CFG_LIST */

struct cfg_key {
	const char		*name;
	enum cfg_type		 type;
	size_t			 off;
	long long		 min;
	long long		 max;
	/* Default as YAML text, read by the same code as the file: a
	 * scalar, or a flow collection for CFG_MAP ("{a: /x}") and CFG_LIST
	 * ("[a, b]").  NULL: none (the field stays zero; a section's own
	 * defaults still apply). */
	const char		*def;
	const struct cfg_key	*sub;	/* CFG_SECTION: its keys */
	unsigned		 flags;
	/* Optional extra validation of the parsed value; on failure fill
	 * err and return -1.  The caller prefixes the location and the
	 * quoted key name, so write a predicate: "must be an absolute path".
	 * For CFG_MAP and CFG_LIST it runs after each entry is added (the
	 * newest entry is the one to judge; the error points at it). */
	int		       (*check)(const void *field, char *err,
				    size_t errlen);
};

/*
 * Parse path into dst (zeroed by the caller) according to table.  Returns 0,
 * or -1 with err holding "path:line:col: message" (or "path: message" when
 * there is no node to point at, e.g. a missing required key or I/O error).
 * On failure dst may be partly filled: free it with config_free.
 */
int	 config_load(const char *path, const struct cfg_key *table, void *dst,
	    char *err, size_t errlen);

/* Same, from a string; name is used in error messages. */
int	 config_parse(const char *name, const char *text, size_t len,
	    const struct cfg_key *table, void *dst, char *err, size_t errlen);

/* Apply defaults of table to dst without reading any file; required keys
 * are left empty. */
int	 config_defaults(const struct cfg_key *table, void *dst, char *err,
	    size_t errlen);

/* Free every allocation config_load made in dst. */
void	 config_free(const struct cfg_key *table, void *dst);

/*
 * Find the config file of an applet, in this order: explicit (from -c),
 * $DFFMPEG_<APPLET>_CONFIG, ./dffmpeg-<applet>.yaml,
 * ~/.config/dffmpeg/<applet>.yaml, /etc/dffmpeg/<applet>.yaml.  An
 * explicit path or environment variable is used even if it does not exist
 * (so the error names it).  Returns 0 with out filled, or -1 with err
 * listing the places searched.
 */
int	 config_find(const char *applet, const char *explicit, char *out,
	    size_t outlen, char *err, size_t errlen);

/* Parse a duration as CFG_DURATION does; -1 if malformed. */
int	 config_parse_duration(const char *, int64_t *ms);

#endif
