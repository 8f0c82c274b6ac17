/*
 * The configuration of each applet: key tables, value checks, and the work
 * that spans several keys once a file is loaded (identity key, broker
 * password file, master key beside the database).
 *
 * Checks on single values live in the tables so their errors carry
 * file:line:col; cross-key errors start with the config file's path.  Secret
 * strings are CFG_SECRET, so config_free wipes them on every path out.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "bounds.h"
#include "config.h"
#include "confine.h"
#include "http.h"
#include "log.h"
#include "mqtt.h"
#include "paths.h"
#include "settings.h"
#include "util.h"
#include "xmalloc.h"

#define SECRET_FILE_MAX	4096	/* bytes of a key or password file */

#define SECOND		1000LL
#define DAY		(24 * 3600 * SECOND)

static char	settings_file[PATH_BUF];

static const char *
str_of(const void *field)
{
	return *(char *const *)field;
}

/* The newest entry of a map: the one check callbacks judge (config.h). */
static void
map_last(const void *field, const char **k, const char **v)
{
	const struct strmap	*m = field;

	*k = m->keys[m->n - 1];
	*v = m->vals[m->n - 1];
}

static const char *
list_last(const void *field)
{
	const struct strv	*sv = field;

	return sv->v[sv->n - 1];
}

static bool
ident_valid(const char *s)
{
	size_t	i;

	if (!name_valid(s, NAME_MAX_LEN))
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return false;
	return true;
}

static bool
envname_valid(const char *s)
{
	return ident_valid(s) && !isdigit((unsigned char)*s);
}

static int
check_name(const void *field, char *err, size_t errlen)
{
	if (name_valid(str_of(field), NAME_MAX_LEN))
		return 0;
	snprintf(err, errlen, "must be 1 to %d characters of A-Z, a-z, 0-9, "
	    "'_', '-', '.'", NAME_MAX_LEN);
	return -1;
}

static int
check_log_level(const void *field, char *err, size_t errlen)
{
	enum log_level	level;

	if (log_level_parse(str_of(field), &level) == 0)
		return 0;
	snprintf(err, errlen, "must be one of error, warn, info, debug");
	return -1;
}

/* Topic prefixes end up in subscriptions: wildcards or empty levels at the
 * edges would make us listen to, or publish on, the wrong topics. */
static int
check_topic_prefix(const void *field, char *err, size_t errlen)
{
	const char	*s = str_of(field);
	size_t		 len = strlen(s);

	if (len == 0)
		snprintf(err, errlen, "must not be empty");
	else if (strpbrk(s, "+#") != NULL)
		snprintf(err, errlen, "must not contain '+' or '#'");
	else if (s[0] == '/' || s[len - 1] == '/')
		snprintf(err, errlen, "must not start or end with '/'");
	else
		return 0;
	return -1;
}

/* An identity key: base64 of KEY_LEN bytes (the value is not repeated:
 * it is a secret). */
static int
check_hmac_key(const void *field, char *err, size_t errlen)
{
	uint8_t	key[KEY_LEN];
	char	kerr[64];
	int	rc = key_parse(str_of(field), key, kerr, sizeof(kerr));

	sodium_memzero(key, sizeof(key));
	if (rc == 0)
		return 0;
	snprintf(err, errlen, "is not valid base64 of %d bytes (the key "
	    "`dffmpeg admin user add` printed)", KEY_LEN);
	return -1;
}

static int
check_confine(const void *field, char *err, size_t errlen)
{
	if (confine_mode_parse(str_of(field)) >= 0)
		return 0;
	snprintf(err, errlen, "must be one of best-effort, require, off");
	return -1;
}

/* An MQTT version dffmpeg speaks. */
static int
check_protocol(const void *field, char *err, size_t errlen)
{
	const char	*s = str_of(field);

	if (strcmp(s, "5") == 0 || strcmp(s, "3.1.1") == 0)
		return 0;
	snprintf(err, errlen, "must be 5 or 3.1.1");
	return -1;
}

/* An item of mqtt.hosts: host, host:port, [v6]:port or a socket path. */
static int
check_broker_addr(const void *field, char *err, size_t errlen)
{
	struct mqtt_endpoint	*ep = xcalloc(1, sizeof(*ep));
	int			 rc;

	rc = mqtt_endpoint_parse(list_last(field), 1883, ep, err, errlen);
	free(ep);
	return rc;
}

/* An absolute path. */
static int
check_abs_path_str(const void *field, char *err, size_t errlen)
{
	const char	*s = str_of(field);

	if (s[0] == '/')
		return 0;
	snprintf(err, errlen, "must be an absolute path");
	return -1;
}

/* An item of a list of absolute paths. */
static int
check_abs_path(const void *field, char *err, size_t errlen)
{
	const char	*s = list_last(field);

	if (s[0] == '/' && strlen(s) < PATH_BUF)
		return 0;
	snprintf(err, errlen, "item '%s' is not an absolute path", s);
	return -1;
}

/* A host name as a Host header carries it. */
static int
check_host_name(const void *field, char *err, size_t errlen)
{
	const char	*s = list_last(field);
	size_t		 i, n = strlen(s);

	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '.')
			break;
	if (n > 0 && n < 254 && i == n)
		return 0;
	snprintf(err, errlen, "item '%s' is not a host name", s);
	return -1;
}

/* An address or CIDR block, as the HTTP allow-list compares them. */
static int
check_allow(const void *field, char *err, size_t errlen)
{
	const char	*s = list_last(field);

	if (http_allow_item_valid(s))
		return 0;
	snprintf(err, errlen, "item '%s' is not an IP address or CIDR block",
	    s);
	return -1;
}

static int
check_binary_names(const void *field, char *err, size_t errlen)
{
	const struct strv	*sv = field;
	const char		*s = list_last(field);
	size_t			 i;

	if (!name_valid(s, NAME_MAX_LEN)) {
		snprintf(err, errlen, "item '%s' is not a valid binary name",
		    s);
		return -1;
	}
	/* "other" labels the binaries not listed, in the metrics. */
	if (strcmp(s, "other") == 0) {
		snprintf(err, errlen, "'other' is reserved");
		return -1;
	}
	for (i = 0; i + 1 < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0) {
			snprintf(err, errlen, "'%s' is listed twice", s);
			return -1;
		}
	return 0;
}

static int
check_env_names(const void *field, char *err, size_t errlen)
{
	const char	*s = list_last(field);

	if (envname_valid(s))
		return 0;
	snprintf(err, errlen, "item '%s' is not an environment variable name",
	    s);
	return -1;
}

/* binaries, fallback: binary name -> absolute path of an executable. */
static int
check_binary_map(const void *field, char *err, size_t errlen)
{
	const char	*k, *v;

	map_last(field, &k, &v);
	if (!name_valid(k, NAME_MAX_LEN))
		snprintf(err, errlen, "key '%s' is not a valid binary name", k);
	else if (v[0] != '/')
		snprintf(err, errlen, "entry '%s' must be an absolute path", k);
	else
		return 0;
	return -1;
}

/* paths: variable -> absolute local root (§7: ${Var} in job arguments). */
static int
check_path_map(const void *field, char *err, size_t errlen)
{
	const char	*k, *v;

	map_last(field, &k, &v);
	if (!ident_valid(k))
		snprintf(err, errlen, "variable '%s' must be 1 to %d "
		    "characters of A-Z, a-z, 0-9, '_'", k, NAME_MAX_LEN);
	else if (v[0] != '/' || strspn(v, "/") == strlen(v))
		snprintf(err, errlen,
		    "entry '%s' must be an absolute directory other than /", k);
	else
		return 0;
	return -1;
}

/* mounts: variable -> "mountpoint", "file:NAME" or both, comma-separated. */
static int
check_mounts(const void *field, char *err, size_t errlen)
{
	const char	*k, *v;

	map_last(field, &k, &v);
	if (!ident_valid(k)) {
		snprintf(err, errlen, "variable '%s' must be 1 to %d "
		    "characters of A-Z, a-z, 0-9, '_'", k, NAME_MAX_LEN);
		return -1;
	}
	return paths_check_spec(v, err, errlen);
}

/* device_slots: device type -> jobs using it at once, 1 to 1000. */
static int
check_device_slots(const void *field, char *err, size_t errlen)
{
	const char	*k, *v;
	char		*end;
	long		 n;

	map_last(field, &k, &v);
	if (((const struct strmap *)field)->n > DEVSLOTS_MAX) {
		snprintf(err, errlen, "device_slots: at most %d device types",
		    DEVSLOTS_MAX);
		return -1;
	}
	if (!name_valid(k, DEVSLOT_TYPE_MAX)) {
		snprintf(err, errlen, "'%s' is not a device type name", k);
		return -1;
	}
	n = strtol(v, &end, 10);
	if (*v == '\0' || *end != '\0' || n < 1 || n > 1000) {
		snprintf(err, errlen, "device_slots: %s must be 1 to 1000", k);
		return -1;
	}
	return 0;
}

#define DIS(f)		offsetof(struct disable_conf, f)
static const struct cfg_key disable_keys[] = {
	{ "encoders", CFG_LIST, DIS(encoders), 0, 0, NULL, NULL, 0,
	    check_binary_names },
	{ "decoders", CFG_LIST, DIS(decoders), 0, 0, NULL, NULL, 0,
	    check_binary_names },
	{ "hwaccels", CFG_LIST, DIS(hwaccels), 0, 0, NULL, NULL, 0,
	    check_binary_names },
	{ "filters", CFG_LIST, DIS(filters), 0, 0, NULL, NULL, 0,
	    check_binary_names },
	{ NULL }
};
#undef DIS

#define TLS(f)		offsetof(struct tls_conf, f)
static const struct cfg_key tls_keys[] = {
	{ "ca_file", CFG_STRING, TLS(ca_file), 0, PATH_BUF },
	{ "ca_path", CFG_STRING, TLS(ca_path), 0, PATH_BUF },
	{ "cert_file", CFG_STRING, TLS(cert_file), 0, PATH_BUF },
	{ "key_file", CFG_STRING, TLS(key_file), 0, PATH_BUF },
	{ "insecure", CFG_BOOL, TLS(insecure), 0, 0, "false" },
	{ NULL }
};
#undef TLS

#define MQ(f)		offsetof(struct mqtt_conf, f)
static const struct cfg_key mqtt_keys[] = {
	{ "host", CFG_STRING, MQ(host), 0, PATH_BUF, "127.0.0.1" },
	{ "port", CFG_INT, MQ(port), 1, 65535, "1883" },
	{ "socket", CFG_STRING, MQ(socket), 0, PATH_BUF, NULL, NULL, 0,
	    check_abs_path_str },
	{ "hosts", CFG_LIST, MQ(hosts), 0, 0, NULL, NULL, 0,
	    check_broker_addr },
	{ "protocol", CFG_STRING, MQ(protocol), 0, 8, "5", NULL, 0,
	    check_protocol },
	{ "username", CFG_STRING, MQ(username), 0, 256 },
	{ "password", CFG_STRING, MQ(password), 0, 1024, NULL, NULL,
	    CFG_SECRET },
	{ "password_file", CFG_STRING, MQ(password_file), 0, PATH_BUF },
	{ "tls", CFG_SECTION, MQ(tls), 0, 0, NULL, tls_keys, CFG_PRESENCE },
	{ "topic_prefix", CFG_STRING, MQ(topic_prefix), 0, 128,
	    TOPIC_PREFIX_DEFAULT, NULL, 0, check_topic_prefix },
	/* libmosquitto refuses a keepalive below 5 s: never connecting
	 * would be the only symptom. */
	{ "keepalive", CFG_INT, MQ(keepalive), 5, 3600, "10" },
	{ "allow_unlimited_packets", CFG_BOOL, MQ(allow_unlimited_packets), 0,
	    0, "false" },
	{ NULL }
};
#undef MQ

#define HT(f)		offsetof(struct http_conf, f)
static const struct cfg_key http_keys[] = {
	{ "listen", CFG_STRING, HT(listen), 0, 256, "127.0.0.1" },
	/* 0: no HTTP server. */
	{ "port", CFG_INT, HT(port), 0, 65535, "8000" },
	{ "allow", CFG_LIST, HT(allow), 0, 0, "['127.0.0.1', '::1']", NULL, 0,
	    check_allow },
	{ "hosts", CFG_LIST, HT(hosts), 0, 0, NULL, NULL, 0, check_host_name },
	{ NULL }
};
#undef HT

#define LOG_KEYS(type)							\
	{ "log_file", CFG_STRING, offsetof(type, log_file), 0, PATH_BUF }, \
	{ "log_level", CFG_STRING, offsetof(type, log_level), 0, 16, "info", \
	    NULL, 0, check_log_level }

/* What callers of ffmpeg set for it: hardware drivers, the time zone of
 * drawtext's localtime, ffmpeg's own log colours, its temporary files.
 * The same default on both sides: a variable travels only when the
 * client sends it and the worker accepts it. */
#define FORWARD_ENV_DEFAULT \
	"[LIBVA_DRIVER_NAME, NEOReadDebugKeys, EnableExtendedVaFormats, " \
	"AMD_DEBUG, TMPDIR, TZ, AV_LOG_FORCE_NOCOLOR, AV_LOG_FORCE_COLOR, " \
	"AV_LOG_FORCE_256COLOR]"

#define LI(f)		offsetof(struct limits_conf, f)
static const struct cfg_key limits_keys[] = {
	{ "running", CFG_INT, LI(running), 0, 100000, "64" },
	{ "queued", CFG_INT, LI(queued), 0, 1000000, "256" },
	{ "submits_per_minute", CFG_INT, LI(submits_per_minute), 0, 1000000,
	    "3000" },
	{ "argument_bytes", CFG_SIZE, LI(argument_bytes), 0, MSG_MAX_BYTES,
	    "256KiB" },
	{ NULL }
};
#undef LI

#define CO(f)		offsetof(struct coord_conf, f)
const struct cfg_key coord_conf_keys[] = {
	{ "database", CFG_STRING, CO(database), 0, PATH_BUF, NULL, NULL,
	    CFG_REQUIRED },
	{ "master_key_file", CFG_STRING, CO(master_key_file), 0, PATH_BUF },
	{ "mqtt", CFG_SECTION, CO(mqtt), 0, 0, NULL, mqtt_keys },
	{ "http", CFG_SECTION, CO(http), 0, 0, NULL, http_keys },
	{ "allowed_binaries", CFG_LIST, CO(allowed_binaries), 0, 0,
	    "[ffmpeg, ffprobe]", NULL, 0, check_binary_names },
	{ "replay_window", CFG_DURATION, CO(replay_window), SECOND,
	    3600 * SECOND, "30s" },
	{ "assign_timeout", CFG_DURATION, CO(assign_timeout), 100,
	    3600 * SECOND, "10s" },
	{ "queue_timeout", CFG_DURATION, CO(queue_timeout), 0, DAY, "30s" },
	{ "job_retention", CFG_DURATION, CO(job_retention), 0, 3650 * DAY,
	    "7d" },
	/* 0: three of the worker's own heartbeat intervals. */
	{ "worker_timeout", CFG_DURATION, CO(worker_timeout), 0, DAY, "0" },
	{ "limits", CFG_SECTION, CO(limits), 0, 0, NULL, limits_keys },
	/* 0: keep no logs (the rest reported with a job's end aside). */
	{ "job_log_max", CFG_SIZE, CO(job_log_max), 0, 64 * 1024 * 1024,
	    "256KiB" },
	LOG_KEYS(struct coord_conf),
	{ NULL }
};
#undef CO

#define WO(f)		offsetof(struct worker_conf, f)
const struct cfg_key worker_conf_keys[] = {
	{ "client_id", CFG_STRING, WO(client_id), 0, 0, NULL, NULL,
	    CFG_REQUIRED, check_name },
	{ "hmac_key", CFG_STRING, WO(hmac_key), 0, 256, NULL, NULL,
	    CFG_SECRET, check_hmac_key },
	{ "hmac_key_file", CFG_STRING, WO(hmac_key_file), 0, PATH_BUF },
	{ "mqtt", CFG_SECTION, WO(mqtt), 0, 0, NULL, mqtt_keys },
	{ "binaries", CFG_MAP, WO(binaries), 0, 0,
	    "{ffmpeg: /usr/bin/ffmpeg, ffprobe: /usr/bin/ffprobe}", NULL, 0,
	    check_binary_map },
	{ "paths", CFG_MAP, WO(paths), 0, 0, NULL, NULL, 0, check_path_map },
	{ "mounts", CFG_MAP, WO(mounts), 0, 0, NULL, NULL, 0, check_mounts },
	{ "forward_env", CFG_LIST, WO(forward_env), 0, 0,
	    FORWARD_ENV_DEFAULT, NULL, 0, check_env_names },
	{ "disable", CFG_SECTION, WO(disable), 0, 0, NULL, disable_keys },
	{ "enable", CFG_SECTION, WO(enable), 0, 0, NULL, disable_keys },
	{ "device_slots", CFG_MAP, WO(device_slots), 0, 0, NULL, NULL, 0,
	    check_device_slots },
	{ "max_jobs", CFG_INT, WO(max_jobs), 0, 1000, "0" },
	{ "weight", CFG_INT, WO(weight), 1, 1000, "1" },
	{ "registration_interval", CFG_DURATION, WO(registration_interval),
	    100, 3600 * SECOND, "5s" },
	{ "kill_grace", CFG_DURATION, WO(kill_grace), 0, 3600 * SECOND,
	    "2s" },
	{ "ship_logs", CFG_BOOL, WO(ship_logs), 0, 0, "true" },
	{ "confine", CFG_STRING, WO(confine), 0, 16, "best-effort", NULL, 0,
	    check_confine },
	{ "confine_read", CFG_LIST, WO(confine_read), 0, 0, NULL, NULL, 0,
	    check_abs_path },
	LOG_KEYS(struct worker_conf),
	{ NULL }
};
#undef WO

#define CL(f)		offsetof(struct client_conf, f)
const struct cfg_key client_conf_keys[] = {
	{ "client_id", CFG_STRING, CL(client_id), 0, 0, NULL, NULL,
	    CFG_REQUIRED, check_name },
	{ "hmac_key", CFG_STRING, CL(hmac_key), 0, 256, NULL, NULL,
	    CFG_SECRET, check_hmac_key },
	{ "hmac_key_file", CFG_STRING, CL(hmac_key_file), 0, PATH_BUF },
	{ "mqtt", CFG_SECTION, CL(mqtt), 0, 0, NULL, mqtt_keys },
	{ "paths", CFG_MAP, CL(paths), 0, 0, NULL, NULL, 0, check_path_map },
	{ "binaries", CFG_LIST, CL(binaries), 0, 0, "[ffmpeg, ffprobe]", NULL,
	    0, check_binary_names },
	{ "forward_env", CFG_LIST, CL(forward_env), 0, 0,
	    FORWARD_ENV_DEFAULT, NULL, 0, check_env_names },
	{ "fallback", CFG_MAP, CL(fallback), 0, 0, NULL, NULL, 0,
	    check_binary_map },
	{ "connect_timeout", CFG_DURATION, CL(connect_timeout), 100,
	    3600 * SECOND, "5s" },
	/* With a fallback: how long a queued job may wait for a worker. */
	{ "fallback_after", CFG_DURATION, CL(fallback_after), 0,
	    3600 * SECOND, "2s" },
	LOG_KEYS(struct client_conf),
	{ NULL }
};
#undef CL

/* Read a one-line secret file; the trailing newline is not part of it. */
static int
secret_read(const char *path, char **out, char *err, size_t errlen)
{
	char	*text;
	size_t	 len;

	if (file_read(path, SECRET_FILE_MAX, &text, &len, err, errlen) != 0)
		return -1;
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	*out = text;
	return 0;
}

/*
 * A file that holds a secret (what: "a key") must not be readable by
 * others: such a file is fixed (others lose every access) with a warning
 * saying so, or refused when it cannot be.
 */
int
settings_secret_mode(const char *path, const char *what, char *err,
    size_t errlen)
{
	struct stat	st;
	mode_t		fixed;
	int		fd;

	/* The file itself, not what a link swapped in meanwhile points to:
	 * looked at and changed through one descriptor.  One that cannot be
	 * opened is for its reader to report; one that is no regular file
	 * (a FIFO) is refused there. */
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		if (errno == ELOOP && stat(path, &st) == 0 &&
		    S_ISREG(st.st_mode) && (st.st_mode & S_IRWXO) != 0) {
			snprintf(err, errlen, "%s holds %s and is a symbolic "
			    "link to a file readable by others; chmod o-rwx "
			    "that file", path, what);
			return -1;
		}
		return 0;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & S_IRWXO) == 0) {
		close(fd);
		return 0;
	}
	fixed = st.st_mode & 07770;
	if (fchmod(fd, fixed) == -1) {
		snprintf(err, errlen, "%s holds %s and is readable by others "
		    "(mode %04o); chmod o-rwx it (%s)", path, what,
		    (unsigned)(st.st_mode & 07777), strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	log_warnx("%s holds %s and was readable by others: its mode is now "
	    "%04o (was %04o)", path, what, (unsigned)fixed,
	    (unsigned)(st.st_mode & 07777));
	return 0;
}

/*
 * Read password_file; with a password but no username, the broker user
 * is the identity (the shipped ACL names users after identities).
 */
static int
mqtt_finish(const char *file, struct mqtt_conf *mq, const char *identity,
    char *err, size_t errlen)
{
	char	ferr[PATH_BUF + 64];

	if (mq->hosts.n > 0 && mq->socket != NULL) {
		snprintf(err, errlen, "%s: set either mqtt.hosts or "
		    "mqtt.socket, not both", file);
		return -1;
	}
	if (mq->hosts.n > MQTT_HOSTS_MAX) {
		snprintf(err, errlen, "%s: mqtt.hosts lists %zu addresses; at "
		    "most %d", file, mq->hosts.n, MQTT_HOSTS_MAX);
		return -1;
	}
	/* A unix socket is the host libmosquitto is given (port 0). */
	if (mq->socket != NULL) {
		free(mq->host);
		mq->host = xstrdup(mq->socket);
	}
	if ((mq->password != NULL || mq->password_file != NULL) &&
	    mq->username == NULL)
		mq->username = xstrdup(identity);
	if (mq->password_file == NULL)
		return mq->password == NULL ? 0 : settings_secret_mode(file,
		    "a broker password", err, errlen);
	if (settings_secret_mode(mq->password_file, "a broker password", err,
	    errlen) != 0)
		return -1;
	if (mq->password != NULL) {
		snprintf(err, errlen, "%s: set either mqtt.password or "
		    "mqtt.password_file, not both", file);
		return -1;
	}
	if (secret_read(mq->password_file, &mq->password, ferr,
	    sizeof(ferr)) != 0) {
		snprintf(err, errlen, "%s: mqtt.password_file: %s", file, ferr);
		return -1;
	}
	return 0;
}

/* Exactly one of hmac_key and hmac_key_file; decode it into key. */
static int
identity_finish(const char *file, const char *b64, const char *keyfile,
    uint8_t key[KEY_LEN], char *err, size_t errlen)
{
	char	*text, ferr[PATH_BUF + 64];
	size_t	 len;
	int	 rc;

	if (b64 != NULL && keyfile != NULL) {
		snprintf(err, errlen,
		    "%s: set either hmac_key or hmac_key_file, not both", file);
		return -1;
	}
	if (b64 == NULL && keyfile == NULL) {
		snprintf(err, errlen, "%s: missing hmac_key or hmac_key_file",
		    file);
		return -1;
	}
	if (settings_secret_mode(b64 != NULL ? file : keyfile,
	    "an identity key", err, errlen) != 0)
		return -1;
	if (b64 != NULL) {
		if (key_parse(b64, key, ferr, sizeof(ferr)) == 0)
			return 0;
		snprintf(err, errlen, "%s: hmac_key is not valid base64 of %d "
		    "bytes", file, KEY_LEN);
		return -1;
	}
	if (file_read(keyfile, SECRET_FILE_MAX, &text, &len, ferr,
	    sizeof(ferr)) != 0) {
		snprintf(err, errlen, "%s: hmac_key_file: %s", file, ferr);
		return -1;
	}
	rc = key_parse(text, key, ferr, sizeof(ferr));
	secret_free(text, len);
	if (rc != 0) {
		snprintf(err, errlen, "%s: hmac_key_file %s: key is not valid "
		    "base64 of %d bytes", file, keyfile, KEY_LEN);
		return -1;
	}
	return 0;
}

static int
settings_read(const char *applet, const char *explicit,
    const struct cfg_key *table, void *dst, char *err, size_t errlen)
{
	settings_file[0] = '\0';
	if (config_find(applet, explicit, settings_file, sizeof(settings_file),
	    err, errlen) != 0)
		return -1;
	return config_load(settings_file, table, dst, err, errlen);
}

int
settings_load_coord(const char *explicit, struct coord_conf *c, char *err,
    size_t errlen)
{
	const char	*slash;

	memset(c, 0, sizeof(*c));
	if (settings_read("coordinator", explicit, coord_conf_keys, c, err,
	    errlen) != 0)
		goto fail;
	if (mqtt_finish(settings_file, &c->mqtt, COORDINATOR_NAME, err,
	    errlen) != 0)
		goto fail;
	if (c->master_key_file == NULL) {
		if ((slash = strrchr(c->database, '/')) == NULL)
			c->master_key_file = xstrdup("master.key");
		else
			xasprintf(&c->master_key_file, "%.*s/master.key",
			    (int)(slash - c->database), c->database);
	}
	return 0;
fail:
	settings_free_coord(c);
	return -1;
}

int
settings_load_worker(const char *explicit, struct worker_conf *w, char *err,
    size_t errlen)
{
	memset(w, 0, sizeof(*w));
	if (settings_read("worker", explicit, worker_conf_keys, w, err,
	    errlen) != 0)
		goto fail;
	if (mqtt_finish(settings_file, &w->mqtt, w->client_id, err,
	    errlen) != 0)
		goto fail;
	if (identity_finish(settings_file, w->hmac_key, w->hmac_key_file,
	    w->key, err, errlen) != 0)
		goto fail;
	for (size_t i = 0; i < w->mounts.n; i++) {
		if (strmap_get(&w->paths, w->mounts.keys[i]) == NULL) {
			snprintf(err, errlen, "%s: mounts: '%s' is not a "
			    "variable of paths", settings_file,
			    w->mounts.keys[i]);
			goto fail;
		}
	}
	return 0;
fail:
	settings_free_worker(w);
	return -1;
}

int
settings_load_client(const char *explicit, struct client_conf *c, char *err,
    size_t errlen)
{
	memset(c, 0, sizeof(*c));
	if (settings_read("client", explicit, client_conf_keys, c, err,
	    errlen) != 0)
		goto fail;
	if (mqtt_finish(settings_file, &c->mqtt, c->client_id, err,
	    errlen) != 0)
		goto fail;
	if (identity_finish(settings_file, c->hmac_key, c->hmac_key_file,
	    c->key, err, errlen) != 0)
		goto fail;
	return 0;
fail:
	settings_free_client(c);
	return -1;
}

void
settings_free_coord(struct coord_conf *c)
{
	config_free(coord_conf_keys, c);
	sodium_memzero(c, sizeof(*c));
}

void
settings_free_worker(struct worker_conf *w)
{
	config_free(worker_conf_keys, w);
	sodium_memzero(w, sizeof(*w));
}

void
settings_free_client(struct client_conf *c)
{
	config_free(client_conf_keys, c);
	sodium_memzero(c, sizeof(*c));
}

const char *
settings_path(void)
{
	return settings_file;
}
