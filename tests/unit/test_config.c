/*
 * Unit tests of the YAML config loader (config.c) and the applets' settings
 * (settings.c): exact error locations and messages, defaults, durations,
 * sizes, the example configs of the design, identity keys and the search
 * order.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

#include "bounds.h"
#include "config.h"
#include "settings.h"
#include "util.h"
#include "xmalloc.h"

static char	errbuf[1024];
static char	tmpdir[PATH_BUF];

/* Parse text with table into dst; the error (if any) lands in errbuf. */
static int
parse(const struct cfg_key *table, void *dst, const char *text)
{
	errbuf[0] = '\0';
	return config_parse("t.yaml", text, strlen(text), table, dst, errbuf,
	    sizeof(errbuf));
}

/* Expect text to fail against the worker table with exactly msg. */
static void
worker_fails(const char *text, const char *msg)
{
	struct worker_conf	w = { 0 };

	ck_assert_msg(parse(worker_conf_keys, &w, text) == -1,
	    "accepted: %s", text);
	ck_assert_str_eq(errbuf, msg);
	config_free(worker_conf_keys, &w);
}

static void
tmp_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/dffmpeg-test-config.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
tmp_teardown(void)
{
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Write text to tmpdir/name; returns the path (static, one at a time). */
static const char *
tmp_write(const char *name, const char *text)
{
	static char	 path[PATH_BUF * 2];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	return path;
}

static char *
key_new(uint8_t raw[KEY_LEN])
{
	randombytes_buf(raw, KEY_LEN);
	return b64_encode(raw, KEY_LEN);
}

/* A test table exercising what the applets' tables do not. */
struct inner {
	char	*need;
	int	 n;
};

struct outer {
	char		*name;
	struct inner	 sect;
	struct strv	 list;
};

static const struct cfg_key inner_keys[] = {
	{ "need", CFG_STRING, offsetof(struct inner, need), 0, 4, NULL, NULL,
	    CFG_REQUIRED },
	{ "n", CFG_INT, offsetof(struct inner, n), 0, 0, "-7" },
	{ NULL }
};

static const struct cfg_key outer_keys[] = {
	{ "name", CFG_STRING, offsetof(struct outer, name), 0, 0, "x" },
	{ "sect", CFG_SECTION, offsetof(struct outer, sect), 0, 0, NULL,
	    inner_keys },
	{ "list", CFG_LIST, offsetof(struct outer, list), 0, 0, "[a, b]" },
	{ NULL }
};

START_TEST(unknown_key)
{
	worker_fails("client_id: w\nfoo: 1\n", "t.yaml:2:1: unknown key 'foo'");
	worker_fails("client_id: w\nmqtt:\n  port: 1\n  hots: x\n",
	    "t.yaml:4:3: unknown key 'hots' in mqtt");
	worker_fails("client_id: w\nmqtt: {tls: {cafile: /x}}\n",
	    "t.yaml:2:14: unknown key 'cafile' in mqtt.tls");
	worker_fails("client_id: w\n[a]: 1\n",
	    "t.yaml:2:1: keys must be scalars");
	worker_fails("client_id: w\nmqtt: {? {a: 1} : 2}\n",
	    "t.yaml:2:10: keys in mqtt must be scalars");
}
END_TEST

/* A file holding a key that others may read is fixed (o-rwx). */
START_TEST(secret_mode)
{
	struct worker_conf	 w;
	struct stat		 st;
	uint8_t			 raw[KEY_LEN];
	char			 text[256], *b64 = key_new(raw);
	const char		*cfg;

	snprintf(text, sizeof(text), "client_id: w\nhmac_key: %s\n", b64);
	free(b64);
	cfg = tmp_write("w.yaml", text);
	ck_assert_int_eq(chmod(cfg, 0644), 0);
	ck_assert_int_eq(settings_load_worker(cfg, &w, errbuf, sizeof(errbuf)),
	    0);
	settings_free_worker(&w);
	ck_assert_int_eq(stat(cfg, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0640);
}
END_TEST

/* Nesting is bounded before libyaml loads (its cost grows with depth);
 * a FIFO is not read (it would block). */
START_TEST(depth_and_fifo)
{
	char	text[4096], path[PATH_BUF + 16];
	size_t	o;
	int	i;
	struct worker_conf	w = { 0 };

	o = (size_t)snprintf(text, sizeof(text), "client_id: w\nx: ");
	for (i = 0; i < 1000; i++)
		text[o++] = '[';
	text[o] = '\0';
	worker_fails(text, "t.yaml:2:19: nested deeper than 16 levels");
	/* 16 levels (the top mapping and 15 lists) are fine, and then
	 * it is an unknown key. */
	o = (size_t)snprintf(text, sizeof(text), "client_id: w\nx: ");
	for (i = 0; i < 15; i++)
		text[o++] = '[';
	for (i = 0; i < 15; i++)
		text[o++] = ']';
	text[o] = '\0';
	worker_fails(text, "t.yaml:2:1: unknown key 'x'");
	snprintf(path, sizeof(path), "%s/fifo.yaml", tmpdir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	ck_assert_int_eq(config_load(path, worker_conf_keys, &w, errbuf,
	    sizeof(errbuf)), -1);
	ck_assert(strstr(errbuf, "not a regular file") != NULL);
	config_free(worker_conf_keys, &w);
	unlink(path);
}
END_TEST

START_TEST(wrong_type)
{
	worker_fails("client_id: w\nmqtt: 5\n",
	    "t.yaml:2:7: 'mqtt' must be a mapping");
	worker_fails("client_id: w\nmqtt: [a]\n",
	    "t.yaml:2:7: 'mqtt' must be a mapping");
	worker_fails("client_id: w\npaths: [a, b]\n",
	    "t.yaml:2:8: 'paths' must be a mapping");
	worker_fails("client_id: [a, b]\n",
	    "t.yaml:1:12: 'client_id' must be a string");
	worker_fails("client_id: w\nmqtt: {port: {a: 1}}\n",
	    "t.yaml:2:14: 'port' must be an integer");
	worker_fails("client_id: w\npaths: {A: [/a]}\n",
	    "t.yaml:2:12: values of 'paths' must be scalars");
	worker_fails("client_id: w\nmqtt: {tls: 5}\n",
	    "t.yaml:2:13: 'tls' must be a mapping or a boolean");
}
END_TEST

START_TEST(wrong_type_list)
{
	struct client_conf	c = { 0 };

	ck_assert_int_eq(parse(client_conf_keys, &c,
	    "client_id: c\nbinaries: {a: b}\n"), -1);
	ck_assert_str_eq(errbuf, "t.yaml:2:11: 'binaries' must be a list");
	config_free(client_conf_keys, &c);
	ck_assert_int_eq(parse(client_conf_keys, &c,
	    "client_id: c\nforward_env:\n  - A\n  - [B]\n"), -1);
	ck_assert_str_eq(errbuf, "t.yaml:4:5: items of 'forward_env' must be "
	    "scalars");
	config_free(client_conf_keys, &c);
}
END_TEST

START_TEST(bad_integer)
{
	worker_fails("client_id: w\nweight: abc\n",
	    "t.yaml:2:9: 'weight' must be an integer");
	worker_fails("client_id: w\nweight: 1.5\n",
	    "t.yaml:2:9: 'weight' must be an integer");
	worker_fails("client_id: w\nweight: ' 3'\n",
	    "t.yaml:2:9: 'weight' must be an integer");
	worker_fails("client_id: w\nweight: 99999999999999999999\n",
	    "t.yaml:2:9: 'weight' must be between 1 and 1000");
}
END_TEST

START_TEST(out_of_range)
{
	worker_fails("client_id: w\nmqtt:\n  port: 70000\n",
	    "t.yaml:3:9: 'port' must be between 1 and 65535");
	worker_fails("client_id: w\nmqtt: {port: 0}\n",
	    "t.yaml:2:14: 'port' must be between 1 and 65535");
	worker_fails("client_id: w\nmqtt: {keepalive: 2}\n",
	    "t.yaml:2:19: 'keepalive' must be between 5 and 3600");
	worker_fails("client_id: w\nmax_jobs: -1\n",
	    "t.yaml:2:11: 'max_jobs' must be between 0 and 1000");
	worker_fails("client_id: w\nregistration_interval: 2h\n",
	    "t.yaml:2:24: 'registration_interval' must be between 100ms "
	    "and 1h");
}
END_TEST

START_TEST(bad_duration)
{
	worker_fails("client_id: w\nkill_grace: 5x\n",
	    "t.yaml:2:13: 'kill_grace' must be a duration (e.g. 500ms, 30s, "
	    "5m, 2h, 7d)");
	worker_fails("client_id: w\nkill_grace: -1s\n",
	    "t.yaml:2:13: 'kill_grace' must be a duration (e.g. 500ms, 30s, "
	    "5m, 2h, 7d)");
}
END_TEST

START_TEST(bad_bool)
{
	worker_fails("client_id: w\nmqtt:\n  tls:\n    insecure: maybe\n",
	    "t.yaml:4:15: 'insecure' must be a boolean (true/false, yes/no, "
	    "on/off)");
}
END_TEST

START_TEST(syntax_error)
{
	worker_fails("client_id: w\nmqtt: {host: x\n",
	    "t.yaml:3:1: did not find expected ',' or '}' while parsing a "
	    "flow mapping");
	worker_fails("client_id: w\n  weight: 2\n",
	    "t.yaml:2:9: mapping values are not allowed in this context");
	worker_fails("client_id: 'w\n",
	    "t.yaml:2:1: found unexpected end of stream while scanning a "
	    "quoted scalar");
	worker_fails("client_id: w\n---\nweight: 2\n",
	    "t.yaml:3:1: only one YAML document is allowed");
}
END_TEST

START_TEST(duplicate_key)
{
	worker_fails("client_id: a\nweight: 2\nclient_id: b\n",
	    "t.yaml:3:1: duplicate key 'client_id'");
	worker_fails("client_id: a\nmqtt: {port: 1, port: 2}\n",
	    "t.yaml:2:17: duplicate key 'port' in mqtt");
	worker_fails("client_id: a\npaths: {A: /a, A: /b}\n",
	    "t.yaml:2:16: duplicate key 'A' in paths");
	worker_fails("client_id: a\nclient_id:\n",
	    "t.yaml:2:1: duplicate key 'client_id'");
}
END_TEST

START_TEST(missing_required)
{
	struct outer	o = { 0 };

	worker_fails("weight: 2\n", "t.yaml: missing required key 'client_id'");
	worker_fails("client_id:\n",
	    "t.yaml:1:11: 'client_id' must have a value");
	/* Required inside an absent section, and inside a present one. */
	ck_assert_int_eq(parse(outer_keys, &o, "name: y\n"), -1);
	ck_assert_str_eq(errbuf, "t.yaml: missing required key 'need' in sect");
	config_free(outer_keys, &o);
	ck_assert_int_eq(parse(outer_keys, &o, "name: y\nsect:\n  n: 1\n"),
	    -1);
	ck_assert_str_eq(errbuf,
	    "t.yaml:3:3: missing required key 'need' in sect");
	config_free(outer_keys, &o);
	ck_assert_int_eq(parse(outer_keys, &o, "sect: {need: abcde}\n"), -1);
	ck_assert_str_eq(errbuf,
	    "t.yaml:1:14: 'need' must be at most 4 characters");
	config_free(outer_keys, &o);
}
END_TEST

START_TEST(not_a_mapping)
{
	worker_fails("", "t.yaml: empty configuration");
	worker_fails("# only a comment\n", "t.yaml: empty configuration");
	worker_fails("~\n", "t.yaml: empty configuration");
	worker_fails("- a\n- b\n",
	    "t.yaml:1:1: the top level must be a mapping of keys");
	worker_fails("\nhello\n",
	    "t.yaml:2:1: the top level must be a mapping of keys");
}
END_TEST

START_TEST(bad_values)
{
	worker_fails("client_id: a b\n", "t.yaml:1:12: 'client_id' must be 1 "
	    "to 64 characters of A-Z, a-z, 0-9, '_', '-', '.'");
	worker_fails("client_id: \"a\\0b\"\n",
	    "t.yaml:1:12: 'client_id' must not contain NUL characters");
	worker_fails("client_id: w\nmqtt: {topic_prefix: 'a/+'}\n",
	    "t.yaml:2:22: 'topic_prefix' must not contain '+' or '#'");
	worker_fails("client_id: w\nmqtt: {topic_prefix: 'a/'}\n",
	    "t.yaml:2:22: 'topic_prefix' must not start or end with '/'");
	worker_fails("client_id: w\nmqtt: {topic_prefix: ''}\n",
	    "t.yaml:2:22: 'topic_prefix' must not be empty");
	worker_fails("client_id: w\nlog_level: loud\n",
	    "t.yaml:2:12: 'log_level' must be one of error, warn, info, debug");
	worker_fails("client_id: w\npaths:\n  Media: /m\n  Me-dia: /x\n",
	    "t.yaml:4:3: 'paths' variable 'Me-dia' must be 1 to 64 "
	    "characters of A-Z, a-z, 0-9, '_'");
	worker_fails("client_id: w\npaths: {Media: mnt/media}\n",
	    "t.yaml:2:9: 'paths' entry 'Media' must be an absolute directory "
	    "other than /");
	worker_fails("client_id: w\npaths: {Media: /}\n",
	    "t.yaml:2:9: 'paths' entry 'Media' must be an absolute directory "
	    "other than /");
	worker_fails("client_id: w\nbinaries: {ffmpeg: ffmpeg}\n",
	    "t.yaml:2:12: 'binaries' entry 'ffmpeg' must be an absolute path");
	worker_fails("client_id: w\npaths: {Media: }\n",
	    "t.yaml:2:16: 'paths' has no value for 'Media'");
}
END_TEST

START_TEST(coord_bad_values)
{
	struct coord_conf	c = { 0 };

	ck_assert_int_eq(parse(coord_conf_keys, &c, "database: /d\nhttp:\n"
	    "  allow: [10.0.0.0/8, 'fe80::/10', 10.0.0.0/33]\n"), -1);
	ck_assert_str_eq(errbuf, "t.yaml:3:36: 'allow' item '10.0.0.0/33' is "
	    "not an IP address or CIDR block");
	config_free(coord_conf_keys, &c);
	ck_assert_int_eq(parse(coord_conf_keys, &c,
	    "database: /d\nallowed_binaries: [ffmpeg, ../sh]\n"), -1);
	ck_assert_str_eq(errbuf, "t.yaml:2:28: 'allowed_binaries' item '../sh' "
	    "is not a valid binary name");
	config_free(coord_conf_keys, &c);
}
END_TEST

START_TEST(defaults_worker)
{
	struct worker_conf	w = { 0 };

	ck_assert_int_eq(parse(worker_conf_keys, &w, "client_id: w1\n"
	    "mqtt:\n"), 0);
	ck_assert_str_eq(w.client_id, "w1");
	ck_assert_str_eq(w.mqtt.host, "127.0.0.1");
	ck_assert_int_eq(w.mqtt.port, 1883);
	ck_assert_int_eq(w.mqtt.keepalive, 10);
	ck_assert_str_eq(w.mqtt.topic_prefix, "dffmpeg");
	ck_assert_ptr_null(w.mqtt.username);
	ck_assert(!w.mqtt.tls.enabled);
	ck_assert(!w.mqtt.tls.insecure);
	ck_assert_uint_eq(w.binaries.n, 2);
	ck_assert_str_eq(strmap_get(&w.binaries, "ffmpeg"), "/usr/bin/ffmpeg");
	ck_assert_str_eq(strmap_get(&w.binaries, "ffprobe"),
	    "/usr/bin/ffprobe");
	ck_assert_uint_eq(w.paths.n, 0);
	ck_assert_int_eq(w.max_jobs, 0);
	ck_assert_int_eq(w.weight, 1);
	ck_assert_int_eq(w.registration_interval, 5000);
	ck_assert_int_eq(w.kill_grace, 2000);
	ck_assert_ptr_null(w.log_file);
	ck_assert_str_eq(w.log_level, "info");
	config_free(worker_conf_keys, &w);
	ck_assert_ptr_null(w.client_id);
	ck_assert_uint_eq(w.binaries.n, 0);
}
END_TEST

START_TEST(defaults_coord_client)
{
	struct coord_conf	c = { 0 };
	struct client_conf	cl = { 0 };
	struct outer		o = { 0 };

	ck_assert_int_eq(config_defaults(coord_conf_keys, &c, errbuf,
	    sizeof(errbuf)), 0);
	ck_assert_ptr_null(c.database);
	ck_assert_str_eq(c.http.listen, "127.0.0.1");
	ck_assert_int_eq(c.http.port, 8000);
	ck_assert_uint_eq(c.http.allow.n, 2);
	ck_assert_str_eq(c.http.allow.v[0], "127.0.0.1");
	ck_assert_str_eq(c.http.allow.v[1], "::1");
	ck_assert_uint_eq(c.allowed_binaries.n, 2);
	ck_assert_str_eq(c.allowed_binaries.v[1], "ffprobe");
	ck_assert_int_eq(c.replay_window, 30000);
	ck_assert_int_eq(c.assign_timeout, 10000);
	ck_assert_int_eq(c.queue_timeout, 30000);
	ck_assert_int_eq(c.job_retention, 7LL * 24 * 3600 * 1000);
	ck_assert_str_eq(c.mqtt.topic_prefix, "dffmpeg");
	config_free(coord_conf_keys, &c);

	ck_assert_int_eq(parse(client_conf_keys, &cl, "client_id: c\n"), 0);
	ck_assert_uint_eq(cl.binaries.n, 2);
	ck_assert_uint_eq(cl.forward_env.n, 9);
	ck_assert_str_eq(cl.forward_env.v[0], "LIBVA_DRIVER_NAME");
	ck_assert_str_eq(cl.forward_env.v[4], "TMPDIR");
	ck_assert_str_eq(cl.forward_env.v[5], "TZ");
	ck_assert_uint_eq(cl.fallback.n, 0);
	ck_assert_int_eq(cl.connect_timeout, 5000);
	ck_assert_int_eq(cl.fallback_after, 2000);
	config_free(client_conf_keys, &cl);

	/* An explicit empty list is not replaced by the default. */
	ck_assert_int_eq(parse(outer_keys, &o, "sect: {need: a}\nlist: []\n"),
	    0);
	ck_assert_uint_eq(o.list.n, 0);
	ck_assert_str_eq(o.name, "x");
	ck_assert_int_eq(o.sect.n, -7);
	config_free(outer_keys, &o);
}
END_TEST

START_TEST(flow_and_values)
{
	struct worker_conf	w = { 0 };
	struct client_conf	c = { 0 };

	ck_assert_int_eq(parse(worker_conf_keys, &w,
	    "client_id: w\n"
	    "mqtt: {host: 10.1.2.3, port: 1884, username: u, password: p,\n"
	    "  tls: {ca_file: /ca.pem, insecure: YES}, topic_prefix: a/b,\n"
	    "  keepalive: 30}\n"
	    "paths: {Media: /mnt/media, TV_2: /mnt/tv}\n"
	    "max_jobs: 4\nweight: 3\nregistration_interval: 500ms\n"
	    "kill_grace: 1m\nlog_file: /var/log/w.log\nlog_level: debug\n"),
	    0);
	ck_assert_str_eq(w.mqtt.host, "10.1.2.3");
	ck_assert_int_eq(w.mqtt.port, 1884);
	ck_assert_str_eq(w.mqtt.username, "u");
	ck_assert_str_eq(w.mqtt.password, "p");
	ck_assert(w.mqtt.tls.enabled);
	ck_assert(w.mqtt.tls.insecure);
	ck_assert_str_eq(w.mqtt.tls.ca_file, "/ca.pem");
	ck_assert_str_eq(w.mqtt.topic_prefix, "a/b");
	ck_assert_int_eq(w.mqtt.keepalive, 30);
	ck_assert_uint_eq(w.paths.n, 2);
	ck_assert_str_eq(strmap_get(&w.paths, "TV_2"), "/mnt/tv");
	ck_assert_int_eq(w.max_jobs, 4);
	ck_assert_int_eq(w.weight, 3);
	ck_assert_int_eq(w.registration_interval, 500);
	ck_assert_int_eq(w.kill_grace, 60000);
	ck_assert_str_eq(w.log_level, "debug");
	config_free(worker_conf_keys, &w);

	/* tls as a bare boolean; a single scalar as a list. */
	ck_assert_int_eq(parse(client_conf_keys, &c, "client_id: c\n"
	    "mqtt: {tls: on}\nbinaries: ffmpeg\nforward_env: []\n"
	    "fallback: {ffmpeg: /usr/lib/jellyfin-ffmpeg/ffmpeg}\n"), 0);
	ck_assert(c.mqtt.tls.enabled);
	ck_assert(!c.mqtt.tls.insecure);
	ck_assert_uint_eq(c.binaries.n, 1);
	ck_assert_str_eq(c.binaries.v[0], "ffmpeg");
	ck_assert_ptr_null(c.binaries.v[1]);
	ck_assert_uint_eq(c.forward_env.n, 0);
	ck_assert_str_eq(strmap_get(&c.fallback, "ffmpeg"),
	    "/usr/lib/jellyfin-ffmpeg/ffmpeg");
	config_free(client_conf_keys, &c);

	ck_assert_int_eq(parse(client_conf_keys, &c,
	    "client_id: c\nmqtt: {tls: Off}\n"), 0);
	ck_assert(!c.mqtt.tls.enabled);
	config_free(client_conf_keys, &c);
}
END_TEST

START_TEST(durations)
{
	static const struct {
		const char	*text;
		int		 rc;
		int64_t		 ms;
	} cases[] = {
		{ "500ms", 0, 500 },
		{ "30s", 0, 30000 },
		{ "5m", 0, 300000 },
		{ "2h", 0, 7200000 },
		{ "7d", 0, 604800000 },
		{ "45", 0, 45000 },
		{ "0", 0, 0 },
		{ "", -1, 0 },
		{ "s", -1, 0 },
		{ "5x", -1, 0 },
		{ "-1", -1, 0 },
		{ "5 s", -1, 0 },
		{ "1.5s", -1, 0 },
		{ "5ms5", -1, 0 },
		{ "5S", -1, 0 },
		{ "99999999999999999999", -1, 0 },
		{ "9223372036854775807d", -1, 0 },
	};
	size_t	i;
	int64_t	ms;

	for (i = 0; i < nitems(cases); i++) {
		ms = -42;
		ck_assert_msg(config_parse_duration(cases[i].text, &ms) ==
		    cases[i].rc, "'%s'", cases[i].text);
		if (cases[i].rc == 0)
			ck_assert_msg(ms == cases[i].ms, "'%s'", cases[i].text);
		else
			ck_assert_msg(ms == -42, "'%s'", cases[i].text);
	}
}
END_TEST

/* CFG_SIZE: a byte count with an optional binary unit. */
struct sizes {
	int64_t	any;
	int64_t	bounded;
};

static const struct cfg_key size_keys[] = {
	{ "any", CFG_SIZE, offsetof(struct sizes, any), 0, 0, "4KiB" },
	{ "bounded", CFG_SIZE, offsetof(struct sizes, bounded), 1024,
	    16 * 1024 * 1024, "64k" },
	{ NULL }
};

START_TEST(sizes)
{
	static const struct {
		const char	*text;
		int64_t		 bytes;
	} good[] = {
		{ "65536", 65536 },
		{ "0", 0 },
		{ "12B", 12 },
		{ "256KiB", 256 * 1024 },
		{ "256k", 256 * 1024 },
		{ "256K", 256 * 1024 },
		{ "16MiB", 16 * 1024 * 1024 },
		{ "16M", 16 * 1024 * 1024 },
		{ "1G", 1024 * 1024 * 1024 },
		{ "3GiB", 3LL * 1024 * 1024 * 1024 },
		{ "'8k'", 8192 },
	};
	struct sizes	z;
	char		text[64];
	size_t		i;

	for (i = 0; i < nitems(good); i++) {
		memset(&z, 0, sizeof(z));
		snprintf(text, sizeof(text), "any: %s\n", good[i].text);
		ck_assert_msg(parse(size_keys, &z, text) == 0, "%s: %s",
		    good[i].text, errbuf);
		ck_assert_msg(z.any == good[i].bytes, "%s: %lld",
		    good[i].text, (long long)z.any);
		ck_assert_int_eq(z.bounded, 64 * 1024);	/* the default */
	}
	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(parse(size_keys, &z, "bounded: 1024\n"), 0);
	ck_assert_int_eq(z.any, 4096);
	ck_assert_int_eq(z.bounded, 1024);
	ck_assert_int_eq(parse(size_keys, &z, "bounded: 16MiB\nany:\n"), 0);
	ck_assert_int_eq(z.bounded, 16 * 1024 * 1024);
	ck_assert_int_eq(z.any, 4096);
}
END_TEST

START_TEST(bad_size)
{
	static const char *const malformed[] = {
		"1.5M", "-1", "5 MiB", "1KB", "1mib", "1Gi", "1T", "k", "MiB",
		"0x10", "''", "1e6", "99999999999999999999",
		"9223372036854775807K", "9007199254740992G",
	};
	struct sizes		z = { 0 };
	struct coord_conf	c = { 0 };
	char			text[64], want[160];
	size_t			i;

	for (i = 0; i < nitems(malformed); i++) {
		snprintf(text, sizeof(text), "any: %s\n", malformed[i]);
		ck_assert_msg(parse(size_keys, &z, text) == -1, "accepted %s",
		    malformed[i]);
		ck_assert_str_eq(errbuf, "t.yaml:1:6: 'any' must be a size "
		    "(e.g. 65536, 256KiB, 16MiB)");
	}
	ck_assert_int_eq(parse(size_keys, &z, "any: 1k\nbounded: 1023\n"),
	    -1);
	snprintf(want, sizeof(want), "t.yaml:%d:10: 'bounded' must be between "
	    "1024 and %d bytes", 2, 16 * 1024 * 1024);
	ck_assert_str_eq(errbuf, want);
	snprintf(want, sizeof(want), "t.yaml:%d:10: 'bounded' must be between "
	    "1024 and %d bytes", 1, 16 * 1024 * 1024);
	ck_assert_int_eq(parse(size_keys, &z, "bounded: 16385k\n"), -1);
	ck_assert_str_eq(errbuf, want);
	ck_assert_int_eq(parse(size_keys, &z, "bounded: 1G\n"), -1);
	ck_assert_str_eq(errbuf, want);
	ck_assert_int_eq(parse(size_keys, &z, "any: [1k]\n"), -1);
	ck_assert_str_eq(errbuf, "t.yaml:1:6: 'any' must be a size");
	ck_assert_int_eq(parse(size_keys, &z, "any: {a: 1}\n"), -1);
	ck_assert_str_eq(errbuf, "t.yaml:1:6: 'any' must be a size");

	/* The coordinator's job_log_max: 0 (keep none) up to 64 MiB. */
	ck_assert_int_eq(config_defaults(coord_conf_keys, &c, errbuf,
	    sizeof(errbuf)), 0);
	ck_assert_int_eq(c.job_log_max, 256 * 1024);
	config_free(coord_conf_keys, &c);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(parse(coord_conf_keys, &c, "database: /d\n"
	    "job_log_max: 0\n"), 0);
	ck_assert_int_eq(c.job_log_max, 0);
	config_free(coord_conf_keys, &c);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(parse(coord_conf_keys, &c, "database: /d\n"
	    "job_log_max: 64MiB\n"), 0);
	ck_assert_int_eq(c.job_log_max, 64 * 1024 * 1024);
	config_free(coord_conf_keys, &c);
	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(parse(coord_conf_keys, &c, "database: /d\n"
	    "job_log_max: 65MiB\n"), -1);
	ck_assert_str_eq(errbuf, "t.yaml:2:14: 'job_log_max' must be between "
	    "0 and 67108864 bytes");
	config_free(coord_conf_keys, &c);
}
END_TEST

START_TEST(example_configs)
{
	struct coord_conf	co;
	struct worker_conf	w;
	struct client_conf	c;
	uint8_t			raw[KEY_LEN];
	char			*key, *text;
	const char		*p;

	p = tmp_write("dffmpeg-coordinator.yaml",
	    "# dffmpeg-coordinator.yaml\n"
	    "database: /var/lib/dffmpeg/coordinator.db\n"
	    "mqtt: {host: 127.0.0.1, port: 1883}\n"
	    "http: {listen: 127.0.0.1, port: 8000}\n");
	ck_assert_msg(settings_load_coord(p, &co, errbuf, sizeof(errbuf)) == 0,
	    "%s", errbuf);
	ck_assert_str_eq(settings_path(), p);
	ck_assert_str_eq(co.database, "/var/lib/dffmpeg/coordinator.db");
	ck_assert_str_eq(co.master_key_file, "/var/lib/dffmpeg/master.key");
	ck_assert_str_eq(co.mqtt.host, "127.0.0.1");
	ck_assert_int_eq(co.http.port, 8000);
	ck_assert_str_eq(co.log_level, "info");
	settings_free_coord(&co);
	ck_assert_ptr_null(co.database);

	key = key_new(raw);
	xasprintf(&text,
	    "# dffmpeg-worker.yaml\n"
	    "client_id: worker01\n"
	    "hmac_key: \"%s\"\n"
	    "mqtt: {host: 127.0.0.1, port: 1883}\n"
	    "binaries: {ffmpeg: /usr/bin/ffmpeg, ffprobe: /usr/bin/ffprobe}\n"
	    "paths: {Media: /mnt/media}\n", key);
	p = tmp_write("dffmpeg-worker.yaml", text);
	free(text);
	ck_assert_msg(settings_load_worker(p, &w, errbuf, sizeof(errbuf)) == 0,
	    "%s", errbuf);
	ck_assert_str_eq(w.client_id, "worker01");
	ck_assert_mem_eq(w.key, raw, KEY_LEN);
	ck_assert_str_eq(strmap_get(&w.paths, "Media"), "/mnt/media");
	ck_assert_uint_eq(w.binaries.n, 2);
	settings_free_worker(&w);

	xasprintf(&text,
	    "# dffmpeg-client.yaml\n"
	    "client_id: jellyfin\n"
	    "hmac_key: \"%s\"\n"
	    "mqtt: {host: 127.0.0.1, port: 1883}\n"
	    "paths: {Media: /media}\n", key);
	p = tmp_write("dffmpeg-client.yaml", text);
	free(text);
	ck_assert_msg(settings_load_client(p, &c, errbuf, sizeof(errbuf)) == 0,
	    "%s", errbuf);
	ck_assert_str_eq(c.client_id, "jellyfin");
	ck_assert_mem_eq(c.key, raw, KEY_LEN);
	ck_assert_str_eq(strmap_get(&c.paths, "Media"), "/media");
	settings_free_client(&c);
	free(key);

	p = tmp_write("relative.yaml", "database: state.db\n");
	ck_assert_int_eq(settings_load_coord(p, &co, errbuf, sizeof(errbuf)),
	    0);
	ck_assert_str_eq(co.master_key_file, "master.key");
	settings_free_coord(&co);
	p = tmp_write("explicit.yaml", "database: /a/b.db\n"
	    "master_key_file: /k/m.key\n");
	ck_assert_int_eq(settings_load_coord(p, &co, errbuf, sizeof(errbuf)),
	    0);
	ck_assert_str_eq(co.master_key_file, "/k/m.key");
	settings_free_coord(&co);
}
END_TEST

START_TEST(identity_keys)
{
	struct worker_conf	 w;
	struct client_conf	 c;
	uint8_t			 raw[KEY_LEN];
	char			 keypath[PATH_BUF * 2], want[PATH_BUF * 3];
	char			*key, *text, *cfg;

	key = key_new(raw);
	snprintf(keypath, sizeof(keypath), "%s/worker.key", tmpdir);
	tmp_write("worker.key", key);

	/* Both set. */
	xasprintf(&text, "client_id: w\nhmac_key: '%s'\nhmac_key_file: %s\n",
	    key, keypath);
	cfg = xstrdup(tmp_write("w.yaml", text));
	free(text);
	ck_assert_int_eq(settings_load_worker(cfg, &w, errbuf, sizeof(errbuf)),
	    -1);
	snprintf(want, sizeof(want), "%s: set either hmac_key or "
	    "hmac_key_file, not both", cfg);
	ck_assert_str_eq(errbuf, want);

	/* Neither set. */
	tmp_write("w.yaml", "client_id: w\n");
	ck_assert_int_eq(settings_load_worker(cfg, &w, errbuf, sizeof(errbuf)),
	    -1);
	snprintf(want, sizeof(want), "%s: missing hmac_key or hmac_key_file",
	    cfg);
	ck_assert_str_eq(errbuf, want);

	/* A bad key is named, with its place, but never printed. */
	tmp_write("w.yaml",
	    "client_id: w\nhmac_key: c2VjcmV0LXRvby1zaG9ydA==\n");
	ck_assert_int_eq(settings_load_worker(cfg, &w, errbuf, sizeof(errbuf)),
	    -1);
	snprintf(want, sizeof(want), "%s:2:11: 'hmac_key' is not valid base64 "
	    "of 32 bytes (the key `dffmpeg admin user add` printed)", cfg);
	ck_assert_str_eq(errbuf, want);
	ck_assert_ptr_null(strstr(errbuf, "c2VjcmV0"));
	ck_assert_ptr_null(w.hmac_key);

	/* A key file, with a trailing newline. */
	xasprintf(&text, "%s\n", key);
	tmp_write("worker.key", text);
	free(text);
	xasprintf(&text, "client_id: w\nhmac_key_file: %s\n", keypath);
	tmp_write("w.yaml", text);
	free(text);
	ck_assert_msg(settings_load_worker(cfg, &w, errbuf, sizeof(errbuf)) ==
	    0, "%s", errbuf);
	ck_assert_mem_eq(w.key, raw, KEY_LEN);
	settings_free_worker(&w);
	ck_assert_ptr_null(w.hmac_key_file);

	/* A bad key file, and a missing one. */
	tmp_write("worker.key", "not a key\n");
	ck_assert_int_eq(settings_load_worker(cfg, &w, errbuf, sizeof(errbuf)),
	    -1);
	snprintf(want, sizeof(want), "%s: hmac_key_file %s: key is not valid "
	    "base64 of 32 bytes", cfg, keypath);
	ck_assert_str_eq(errbuf, want);
	unlink(keypath);
	ck_assert_int_eq(settings_load_worker(cfg, &w, errbuf, sizeof(errbuf)),
	    -1);
	snprintf(want, sizeof(want), "%s: hmac_key_file: %s: No such file or "
	    "directory", cfg, keypath);
	ck_assert_str_eq(errbuf, want);

	/* The client follows the same rules. */
	tmp_write("w.yaml", "client_id: c\n");
	ck_assert_int_eq(settings_load_client(cfg, &c, errbuf, sizeof(errbuf)),
	    -1);
	snprintf(want, sizeof(want), "%s: missing hmac_key or hmac_key_file",
	    cfg);
	ck_assert_str_eq(errbuf, want);

	/* Errors inside the file carry its path. */
	tmp_write("w.yaml", "client_id: c\nbogus: 1\n");
	ck_assert_int_eq(settings_load_client(cfg, &c, errbuf, sizeof(errbuf)),
	    -1);
	snprintf(want, sizeof(want), "%s:2:1: unknown key 'bogus'", cfg);
	ck_assert_str_eq(errbuf, want);
	free(cfg);
	free(key);
}
END_TEST

START_TEST(password_file)
{
	struct worker_conf	 w;
	uint8_t			 raw[KEY_LEN];
	char			 pwpath[PATH_BUF * 2], want[PATH_BUF * 3];
	char			*key, *text, *cfg;

	key = key_new(raw);
	snprintf(pwpath, sizeof(pwpath), "%s/pw", tmpdir);
	tmp_write("pw", "s3cret\r\n");
	xasprintf(&text, "client_id: w\nhmac_key: %s\n"
	    "mqtt: {username: w, password_file: %s}\n", key, pwpath);
	cfg = xstrdup(tmp_write("w.yaml", text));
	free(text);
	ck_assert_msg(settings_load_worker(cfg, &w, errbuf, sizeof(errbuf)) ==
	    0, "%s", errbuf);
	ck_assert_str_eq(w.mqtt.password, "s3cret");
	settings_free_worker(&w);

	xasprintf(&text, "client_id: w\nhmac_key: %s\n"
	    "mqtt: {password: x, password_file: %s}\n", key, pwpath);
	tmp_write("w.yaml", text);
	free(text);
	ck_assert_int_eq(settings_load_worker(cfg, &w, errbuf, sizeof(errbuf)),
	    -1);
	snprintf(want, sizeof(want), "%s: set either mqtt.password or "
	    "mqtt.password_file, not both", cfg);
	ck_assert_str_eq(errbuf, want);

	unlink(pwpath);
	xasprintf(&text, "client_id: w\nhmac_key: %s\n"
	    "mqtt: {password_file: %s}\n", key, pwpath);
	tmp_write("w.yaml", text);
	free(text);
	ck_assert_int_eq(settings_load_worker(cfg, &w, errbuf, sizeof(errbuf)),
	    -1);
	snprintf(want, sizeof(want), "%s: mqtt.password_file: %s: No such file "
	    "or directory", cfg, pwpath);
	ck_assert_str_eq(errbuf, want);
	free(cfg);
	free(key);
}
END_TEST

START_TEST(find_order)
{
	struct worker_conf	 w;
	char			 out[PATH_BUF], want[PATH_BUF * 3];
	char			 cwd[PATH_BUF], home[PATH_BUF + 16];
	char			*oldhome;

	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	oldhome = getenv("HOME") ? xstrdup(getenv("HOME")) : NULL;
	ck_assert_int_eq(chdir(tmpdir), 0);
	snprintf(home, sizeof(home), "%s/home", tmpdir);
	setenv("HOME", home, 1);
	unsetenv("DFFMPEG_WORKER_CONFIG");

	/* Nothing anywhere (unless this machine has /etc/dffmpeg). */
	if (access("/etc/dffmpeg/worker.yaml", F_OK) != 0) {
		ck_assert_int_eq(config_find("worker", NULL, out, sizeof(out),
		    errbuf, sizeof(errbuf)), -1);
		snprintf(want, sizeof(want), "no worker config found (tried "
		    "$DFFMPEG_WORKER_CONFIG, ./dffmpeg-worker.yaml, "
		    "%s/.config/dffmpeg/worker.yaml, /etc/dffmpeg/worker.yaml; "
		    "use -c FILE)", home);
		ck_assert_str_eq(errbuf, want);
	}

	ck_assert_int_eq(mkdir(home, 0700), 0);
	snprintf(want, sizeof(want), "%s/.config", home);
	ck_assert_int_eq(mkdir(want, 0700), 0);
	snprintf(want, sizeof(want), "%s/.config/dffmpeg", home);
	ck_assert_int_eq(mkdir(want, 0700), 0);
	tmp_write("home/.config/dffmpeg/worker.yaml", "client_id: home\n");
	ck_assert_int_eq(config_find("worker", NULL, out, sizeof(out), errbuf,
	    sizeof(errbuf)), 0);
	snprintf(want, sizeof(want), "%s/.config/dffmpeg/worker.yaml", home);
	ck_assert_str_eq(out, want);

	tmp_write("dffmpeg-worker.yaml", "client_id: cwd\n");
	ck_assert_int_eq(config_find("worker", NULL, out, sizeof(out), errbuf,
	    sizeof(errbuf)), 0);
	ck_assert_str_eq(out, "./dffmpeg-worker.yaml");

	/* The environment wins, even for a file that does not exist. */
	setenv("DFFMPEG_WORKER_CONFIG", "/nonexistent/env.yaml", 1);
	ck_assert_int_eq(config_find("worker", NULL, out, sizeof(out), errbuf,
	    sizeof(errbuf)), 0);
	ck_assert_str_eq(out, "/nonexistent/env.yaml");
	/* ... but only the applet's own variable. */
	ck_assert_int_eq(config_find("client", NULL, out, sizeof(out), errbuf,
	    sizeof(errbuf)), access("/etc/dffmpeg/client.yaml", F_OK) == 0 ?
	    0 : -1);
	ck_assert_int_eq(settings_load_worker(NULL, &w, errbuf,
	    sizeof(errbuf)), -1);
	ck_assert_str_eq(errbuf,
	    "/nonexistent/env.yaml: No such file or directory");
	ck_assert_str_eq(settings_path(), "/nonexistent/env.yaml");

	/* An explicit path beats everything. */
	ck_assert_int_eq(config_find("worker", "/x/explicit.yaml", out,
	    sizeof(out), errbuf, sizeof(errbuf)), 0);
	ck_assert_str_eq(out, "/x/explicit.yaml");
	ck_assert_int_eq(config_find("worker", "/x/explicit.yaml", out, 8,
	    errbuf, sizeof(errbuf)), -1);

	unsetenv("DFFMPEG_WORKER_CONFIG");
	ck_assert_int_eq(settings_load_worker(NULL, &w, errbuf,
	    sizeof(errbuf)), -1);
	ck_assert_str_eq(errbuf, "./dffmpeg-worker.yaml: missing hmac_key or "
	    "hmac_key_file");

	if (oldhome != NULL)
		setenv("HOME", oldhome, 1);
	else
		unsetenv("HOME");
	free(oldhome);
	ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

START_TEST(file_errors)
{
	struct worker_conf	 w = { 0 };
	char			 want[PATH_BUF * 3], *big;
	const char		*p;

	p = tmp_write("big.yaml", "");
	big = xmalloc(CFG_MAX_FILE + 2);
	memset(big, '#', CFG_MAX_FILE + 1);
	big[CFG_MAX_FILE + 1] = '\0';
	p = tmp_write("big.yaml", big);
	free(big);
	ck_assert_int_eq(config_load(p, worker_conf_keys, &w, errbuf,
	    sizeof(errbuf)), -1);
	snprintf(want, sizeof(want), "%s: larger than %d bytes", p,
	    CFG_MAX_FILE);
	ck_assert_str_eq(errbuf, want);

	p = tmp_write("bad-utf8.yaml", "client_id: \xff\xfe\n");
	ck_assert_int_eq(config_load(p, worker_conf_keys, &w, errbuf,
	    sizeof(errbuf)), -1);
	snprintf(want, sizeof(want), "%s: byte 11: invalid leading UTF-8 "
	    "octet", p);
	ck_assert_str_eq(errbuf, want);
	config_free(worker_conf_keys, &w);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("config");
	TCase	*tc = tcase_create("config");
	TCase	*ts = tcase_create("settings");

	tcase_add_test(tc, unknown_key);
	tcase_add_test(tc, wrong_type);
	tcase_add_test(tc, wrong_type_list);
	tcase_add_test(tc, bad_integer);
	tcase_add_test(tc, out_of_range);
	tcase_add_test(tc, bad_duration);
	tcase_add_test(tc, bad_bool);
	tcase_add_test(tc, syntax_error);
	tcase_add_test(tc, duplicate_key);
	tcase_add_test(tc, missing_required);
	tcase_add_test(tc, not_a_mapping);
	tcase_add_test(tc, bad_values);
	tcase_add_test(tc, coord_bad_values);
	tcase_add_test(tc, defaults_worker);
	tcase_add_test(tc, defaults_coord_client);
	tcase_add_test(tc, flow_and_values);
	tcase_add_test(tc, durations);
	tcase_add_test(tc, sizes);
	tcase_add_test(tc, bad_size);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(ts, tmp_setup, tmp_teardown);
	tcase_add_test(ts, example_configs);
	tcase_add_test(ts, identity_keys);
	tcase_add_test(ts, password_file);
	tcase_add_test(ts, find_order);
	tcase_add_test(ts, file_errors);
	tcase_add_test(ts, depth_and_fifo);
	tcase_add_test(ts, secret_mode);
	suite_add_tcase(s, ts);
	return s;
}
