/*
 * The configuration of each applet: the structs, the key tables that fill
 * them, and loading with the search order of config_find plus the checks
 * that span several keys (hmac_key or hmac_key_file, password_file, ...).
 * The admin applet reads the coordinator's file.
 */
#ifndef DFFMPEG_SETTINGS_H
#define DFFMPEG_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "bounds.h"
#include "config.h"
#include "util.h"

struct tls_conf {
	bool	 enabled;	/* first member: CFG_PRESENCE */
	char	*ca_file;
	char	*ca_path;
	char	*cert_file;
	char	*key_file;
	bool	 insecure;	/* skip hostname verification */
};

struct mqtt_conf {
	char		*host;		/* "/…" is a unix socket path */
	int		 port;
	char		*socket;	/* a unix socket: replaces host */
	struct strv	 hosts;		/* nodes of one cluster: replace
					   host, port and socket */
	char		*protocol;	/* "5" or "3.1.1" */
	char		*username;
	char		*password;	/* secret; from password_file if set */
	char		*password_file;
	struct tls_conf	 tls;
	char		*topic_prefix;
	int		 keepalive;	/* seconds */
	/* Accept a broker that announces no maximum packet size (MQTT 5):
	 * anyone who may publish to us could make us allocate anything. */
	bool		 allow_unlimited_packets;
};

struct http_conf {
	char		*listen;
	int		 port;
	struct strv	 allow;		/* allowed client addresses/CIDRs */
	struct strv	 hosts;		/* names clients may call it by */
};

/* What one client identity may have and do (0: no limit). */
struct limits_conf {
	int		 running;	/* jobs placed at once; more wait */
	int		 queued;	/* jobs waiting; more are refused */
	int		 submits_per_minute;
	int64_t		 argument_bytes;	/* of a job's args and env */
};

struct coord_conf {
	char		*database;
	char		*master_key_file;	/* default: beside database */
	struct mqtt_conf mqtt;
	struct http_conf http;
	struct strv	 allowed_binaries;
	int64_t		 replay_window;		/* ms */
	int64_t		 assign_timeout;	/* ms */
	int64_t		 queue_timeout;		/* ms */
	int64_t		 job_retention;		/* ms */
	int64_t		 worker_timeout;	/* ms; 0: 3 heartbeats */
	int64_t		 job_log_max;		/* bytes of a job's log kept */
	struct limits_conf limits;		/* per client identity */
	char		*log_file;
	char		*log_level;
};

/* Capabilities an operator turns off on a worker (a broken GPU, say). */
/* Lists of capability names (disable: withheld; enable: forced on). */
struct disable_conf {
	struct strv	 encoders;
	struct strv	 decoders;
	struct strv	 hwaccels;
	struct strv	 filters;
};

struct worker_conf {
	char		*client_id;
	char		*hmac_key;		/* secret */
	char		*hmac_key_file;
	struct mqtt_conf mqtt;
	struct strmap	 binaries;		/* name -> executable path */
	struct strmap	 paths;			/* variable -> local root */
	struct strmap	 mounts;		/* variable -> health checks */
	struct strv	 forward_env;		/* variables a job may set */
	struct disable_conf disable;
	struct disable_conf enable;		/* offered though unverified */
	struct strmap	 device_slots;		/* type -> "N" jobs at once */
	int		 max_jobs;		/* 0: unlimited */
	int		 weight;
	int64_t		 registration_interval;	/* heartbeat period, ms */
	int64_t		 kill_grace;		/* ms */
	bool		 ship_logs;		/* jobs' stderr to the
						   coordinator as they run */
	char		*confine;		/* confine.h: best-effort,
						   require, off */
	struct strv	 confine_read;		/* more read-only paths */
	char		*log_file;
	char		*log_level;
	uint8_t		 key[KEY_LEN];		/* decoded identity key */
};

struct client_conf {
	char		*client_id;
	char		*hmac_key;
	char		*hmac_key_file;
	struct mqtt_conf mqtt;
	struct strmap	 paths;
	struct strv	 binaries;	/* names served by the proxy */
	struct strv	 forward_env;
	struct strmap	 fallback;	/* binary -> local executable */
	int64_t		 connect_timeout;	/* ms */
	int64_t		 fallback_after;	/* ms queued before the fallback */
	char		*log_file;
	char		*log_level;
	uint8_t		 key[KEY_LEN];
};

extern const struct cfg_key coord_conf_keys[];
extern const struct cfg_key worker_conf_keys[];
extern const struct cfg_key client_conf_keys[];

/*
 * Find (config_find with the applet's name: "coordinator", "worker",
 * "client") and load a config, apply defaults and the cross-key checks,
 * decode the identity key.  Returns 0 or -1 with err filled (on failure the
 * struct is already freed).  The *_free functions wipe secrets.
 */
int	 settings_load_coord(const char *explicit, struct coord_conf *,
	    char *err, size_t errlen);
int	 settings_load_worker(const char *explicit, struct worker_conf *,
	    char *err, size_t errlen);
int	 settings_load_client(const char *explicit, struct client_conf *,
	    char *err, size_t errlen);
void	 settings_free_coord(struct coord_conf *);
/* path holds a secret (what): fixed with a warning when others may read
 * it, -1 with err when it cannot be. */
int	 settings_secret_mode(const char *path, const char *what, char *err,
	    size_t errlen);
void	 settings_free_worker(struct worker_conf *);
void	 settings_free_client(struct client_conf *);

/* The file the last settings_load_* used (found or not), "" before any. */
const char *settings_path(void);

#endif
