/*
 * The coordinator's worker registry (design §3.2, §6.3, §8): every worker
 * it knows, with one state and one place where the state changes.
 *
 *   registering  known from the store or an old session, not yet
 *                registered with this coordinator process
 *   online       registered, heartbeating, takes jobs
 *   draining     registered, heartbeating, takes no new jobs
 *   stale        missed its heartbeats while its connection looks alive:
 *                placed nothing, its jobs left alone
 *   lost         its will fired, or it stayed silent past worker_timeout:
 *                its running jobs were failed
 *   offline      said goodbye (bye), or was removed
 *
 * registry_transition() checks each change against the graph and hands
 * it, with its reason, to the record callback (the coordinator logs and
 * stores it), like the job graph of jobstate.h.  Presence evidence kept
 * per worker: its session, its connection epoch (from every message that
 * carries one) and the highest epoch whose will was honoured, so that a
 * will is acted on once, and only for the connection it was made for.
 */
#ifndef DFFMPEG_REGISTRY_H
#define DFFMPEG_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "caps.h"
#include "hmap.h"
#include "util.h"

struct msg;

enum worker_state {
	WS_REGISTERING,
	WS_ONLINE,
	WS_DRAINING,
	WS_STALE,
	WS_LOST,
	WS_OFFLINE,
	WS__COUNT
};

/* What an administrator asked of a worker, re-sent until it reports it. */
enum worker_want {
	WANT_NONE,
	WANT_DRAIN,
	WANT_RESUME,
};

/* Jobs that use one device type on a worker at once (device_slots). */
struct devslot {
	char		 type[DEVSLOT_TYPE_MAX + 1];
	int		 max;
	int		 used;	/* jobs holding a slot that use the type */
};

struct cworker {
	char		 name[NAME_MAX_LEN + 1];
	enum worker_state state;
	char		 session[SESSION_BUF];
	int64_t		 epoch;		/* its connection, as last reported */
	int64_t		 will_epoch;	/* highest epoch whose will we took */
	bool		 reports_draining;	/* its own word (SIGTERM too) */
	enum worker_want want;
	int64_t		 want_sent;	/* mono ms */
	char		 version[32];	/* of its dffmpeg, "" unknown */
	struct strmap	 binaries;	/* name -> "ok" | "missing" */
	struct strmap	 health;	/* variable -> "ok" | reason */
	int		 max_jobs;	/* 0: unlimited */
	int		 weight;
	int		 active;	/* jobs holding one of its slots */
	struct devslot	 slots[DEVSLOTS_MAX];
	size_t		 nslots;
	int64_t		 last_assign;	/* mono ms */
	int64_t		 last_seen;	/* mono ms: its last message */
	int64_t		 heard;		/* wall ms of it; 0: not yet */
	int64_t		 interval;	/* its heartbeat period, ms */
	int		 load;		/* its host's load average x 100;
					   -1: not told */
	int		 cpus;		/* 0: not told */
	struct caps	 caps;		/* of its ffmpeg, as reported */
	bool		 caps_known;
	/* Two processes with one identity: the session it replaced. */
	char		 prev_session[SESSION_BUF];
	int64_t		 replaced_at;	/* mono ms */
	int64_t		 conflict_warned;
};

typedef void (*registry_record_fn)(void *arg, const struct cworker *,
    enum worker_state from, enum worker_state to, const char *reason);

struct registry {
	struct cworker		**v;	/* in the order they became known */
	size_t			  n;
	struct hmap		  names;
	registry_record_fn	  record;
	void			 *arg;
};

const char	*worker_state_name(enum worker_state);
bool		 worker_state_allowed(enum worker_state, enum worker_state);
/* Connected as far as we know (its jobs are not failed for silence). */
bool		 worker_state_present(enum worker_state);

void		 registry_init(struct registry *, registry_record_fn, void *);
void		 registry_free(struct registry *);
struct cworker	*registry_find(const struct registry *, const char *name);
/* A new worker in state registering. */
struct cworker	*registry_add(struct registry *, const char *name);
/* Forget a worker (it must hold no jobs). */
void		 registry_remove(struct registry *, struct cworker *);
/*
 * Move w to state to, recording the change with reason.  Returns 0, or -1
 * (nothing changed) for an edge the graph does not have; a move to the
 * state it is in is a no-op returning 0.
 */
int		 registry_transition(struct registry *, struct cworker *,
		    enum worker_state to, const char *reason);
/* The state its own report asks for: online or draining. */
enum worker_state registry_reported_state(const struct cworker *);
/* Take what a register or heartbeat says of w (capabilities, health,
 * slots, weight, status, epoch); last_seen becomes now. */
/* Replace w's device slots by a register's device_slots (type -> "N"),
 * keeping the counts of types it keeps. */
void		 registry_set_slots(struct cworker *, const struct strmap *);
/* w's slots of a device type, or NULL: no limit. */
struct devslot	*registry_slot(struct cworker *, const char *type);
void		 registry_update(struct cworker *, const struct msg *,
		    int64_t now);
/* The silence after which w counts as stale, and as lost: timeout_ms
 * (the coordinator's worker_timeout, 0 for three heartbeats) and the
 * worker's own interval. */
int64_t		 registry_stale_after(const struct cworker *);
int64_t		 registry_lost_after(const struct cworker *,
		    int64_t timeout_ms);

#endif
