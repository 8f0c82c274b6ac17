/*
 * loadgen — simulated workers and clients driving a running coordinator,
 * for bench/coord.sh (design §12).
 *
 *	loadgen dispatch -c COORD.yaml [--workers N] [--clients M]
 *	    (--rate R --duration S | --count K [--window W] [--duration S])
 *	    [--hold MS]
 *	loadgen heartbeat -c COORD.yaml [--workers N] [--duration S]
 *	    [--interval MS]
 *
 * One process, one libevent loop, one struct node (MQTT connection with
 * its will, signed uplink, verified downlink) per simulated identity.  The
 * identities sim-wNNNN (workers) and sim-cNNNN (clients) are created in
 * the coordinator's database under its master key, as `dffmpeg admin user
 * add` does, and the running coordinator finds them through its keyring;
 * identities left by an earlier run are reused (their keys unsealed).
 * Each connection uses the identity as its broker username and no
 * password: the bench's private broker is anonymous.
 *
 * Workers register like a real one (ffmpeg and ffprobe ok, path variable
 * Media healthy, unlimited slots, --interval ms between heartbeats, 5000
 * by default), heartbeat with a random phase, and answer every `assign` at
 * once with `started` and, --hold ms later (0 by default), `finished`
 * (code 0), both re-sent until acked: with a hold the coordinator carries
 * rate * hold running jobs.
 * Clients submit `ffmpeg -version` jobs round-robin: --rate jobs per
 * second for --duration seconds, or --count jobs as fast as they are
 * answered with at most --window unanswered (--duration then caps the
 * submitting).  A submit is sent again after 1 s without an answer, as the
 * proxy does.  A job id is "<run>.<index>": the worker that gets the
 * `assign` finds the time the client sent the `submit` in the same
 * process's table.
 *
 * Prints "ready ..." on stdout once every identity is connected and every
 * worker registered, then one "result ..." line of key=value pairs (times
 * in ms, CLOCK_MONOTONIC), then says goodbye on every connection.  Exits 0,
 * or 1 when the run could not be made (bad arguments or config, no
 * registration in time).
 */
#include <sys/resource.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <sodium.h>

#include "bounds.h"
#include "ident.h"
#include "log.h"
#include "loop.h"
#include "msg.h"
#include "node.h"
#include "settings.h"
#include "store.h"
#include "util.h"
#include "xmalloc.h"

#define TICK_DISPATCH_MS	1
#define TICK_IDLE_MS		50
#define RESEND_SCAN_US		50000
#define RESEND_US		1000000	/* a submit without an answer */
#define READY_TIMEOUT_US	60000000
#define DRAIN_TIMEOUT_US	10000000
#define SHUTDOWN_MS		3000
#define FD_PER_SIM		2	/* the socket and the loop's dup */

enum lg_mode { LG_DISPATCH, LG_HEARTBEAT };
enum lg_phase { PH_CONNECT, PH_RUN, PH_DRAIN, PH_STOP };
enum lg_outcome { OC_NONE, OC_QUEUED, OC_ACCEPTED, OC_REFUSED, OC_FAILED };

struct ljob {
	int64_t		 sent;		/* µs: the first submit */
	int64_t		 last;		/* µs: its latest copy */
	int64_t		 answered;	/* µs: accepted, refused or failed */
	int64_t		 assigned;	/* µs: the first assign at a worker */
	int		 client;
	enum lg_outcome	 outcome;
	bool		 finished;	/* `finished` reached the client */
};

/* A `finished` to send when due (FIFO: every job is held as long). */
struct hold {
	int64_t		 due;		/* µs */
	int		 sim;
	char		 job[ID_BUF];
};

struct lg;

struct sim {
	struct lg	*lg;
	struct node	 node;
	bool		 worker;
	bool		 ready;
	bool		 registered;
	struct event	*ev_beat;
	char		 beat_id[ID_BUF];	/* the latest heartbeat */
	int64_t		 beat_sent;		/* µs */
};

/* A growable array of latencies in µs. */
struct lat {
	int64_t		*v;
	size_t		 n;
	size_t		 cap;
};

struct lg {
	enum lg_mode	 mode;
	enum lg_phase	 phase;
	int		 status;
	struct event_base *base;
	struct coord_conf conf;

	int		 nworkers;
	int		 nclients;
	struct sim	*sims;		/* workers, then clients */
	int		 nready;
	int		 nregistered;
	int		 nclosing;

	bool		 paced;
	double		 rate;
	int64_t		 duration_us;
	size_t		 count;		/* jobs to submit at most */
	int		 window;
	int		 interval_ms;
	int		 hold_ms;

	struct hold	*holds;		/* a ring */
	size_t		 hold_head;
	size_t		 hold_n;
	size_t		 hold_cap;

	char		 run[9];
	struct ljob	*jobs;
	size_t		 njobs;		/* submitted */
	size_t		 scan;		/* every job before it is answered */
	int		 inflight;
	int		 next_client;

	int64_t		 t_start;	/* µs: connecting began */
	int64_t		 t0;		/* µs: the run began */
	int64_t		 t_drain;
	int64_t		 t_scan;
	int64_t		 t_last_assign;
	struct event	*ev_tick;
	struct event	*ev_deadline;

	uint64_t	 resent;
	uint64_t	 accepted;
	uint64_t	 queued;
	uint64_t	 refused;
	uint64_t	 failed;
	uint64_t	 finished;
	uint64_t	 assigns;
	uint64_t	 dup_assigns;
	uint64_t	 foreign;
	uint64_t	 bad_keys;
	uint64_t	 beats;
	uint64_t	 reregisters;
	struct lat	 beat_lat;
	bool		 told_refusal;
};

static void	lg_stop(struct lg *);

static int64_t
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
lat_add(struct lat *l, int64_t us)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 1024;
		l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
	}
	l->v[l->n++] = us;
}

static int
lat_cmp(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The q-quantile (nearest rank) of l in ms; l is sorted here.  -1 if
 * empty. */
static double
lat_ms(struct lat *l, double q)
{
	size_t	rank;

	if (l->n == 0)
		return -1;
	qsort(l->v, l->n, sizeof(*l->v), lat_cmp);
	rank = (size_t)(q * (double)l->n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > l->n)
		rank = l->n;
	return (double)l->v[rank - 1] / 1e3;
}

/* ---- the job table ---- */

/* The job of id if this run made it, else NULL. */
static struct ljob *
lg_job(struct lg *lg, const char *id)
{
	const char		*dot = strrchr(id, '.');
	char			*end;
	unsigned long long	 i;
	size_t			 tag = strlen(lg->run);

	if (dot == NULL || (size_t)(dot - id) != tag ||
	    strncmp(id, lg->run, tag) != 0 || dot[1] < '0' || dot[1] > '9')
		return NULL;
	errno = 0;
	i = strtoull(dot + 1, &end, 10);
	if (errno != 0 || *end != '\0' || i >= lg->njobs)
		return NULL;
	return &lg->jobs[i];
}

static void
lg_answered(struct lg *lg, struct ljob *j, enum lg_outcome oc)
{
	j->outcome = oc;
	j->answered = now_us();
	lg->inflight--;
}

/* ---- simulated clients ---- */

static void
client_submit(struct lg *lg, size_t idx)
{
	struct ljob	*j = &lg->jobs[idx];
	struct sim	*s = &lg->sims[lg->nworkers + j->client];
	struct msg	 m;
	struct strv	 args = { 0 }, paths = { 0 };
	struct strmap	 env = { 0 };
	char		 job[ID_BUF];

	snprintf(job, sizeof(job), "%s.%zu", lg->run, idx);
	strv_push(&args, "-version");
	msg_init(&m, MT_SUBMIT, s->node.name);
	msg_set_str(&m, F_JOB, job);
	msg_set_str(&m, F_SESSION, s->node.session);
	msg_set_str(&m, F_BINARY, "ffmpeg");
	msg_set_strv(&m, F_ARGS, &args);
	msg_set_str(&m, F_CWD, "/");
	msg_set_strmap(&m, F_ENV, &env);
	msg_set_strv(&m, F_PATHS, &paths);
	msg_set_bool(&m, F_INTERACTIVE, false);
	j->last = now_us();
	if (j->sent == 0)
		j->sent = j->last;
	/* Not connected: the resend scan tries again. */
	node_send(&s->node, &m, false);
	msg_clear(&m);
	strv_free(&args);
}

static void
lg_new_job(struct lg *lg)
{
	struct ljob	*j = &lg->jobs[lg->njobs];

	memset(j, 0, sizeof(*j));
	j->client = lg->next_client;
	lg->next_client = (lg->next_client + 1) % lg->nclients;
	lg->njobs++;
	lg->inflight++;
	client_submit(lg, lg->njobs - 1);
}

/* Send again every submit that has had no answer for RESEND_US. */
static void
lg_resend(struct lg *lg, int64_t now)
{
	size_t	i;

	if (now - lg->t_scan < RESEND_SCAN_US)
		return;
	lg->t_scan = now;
	while (lg->scan < lg->njobs && lg->jobs[lg->scan].answered != 0)
		lg->scan++;
	for (i = lg->scan; i < lg->njobs; i++) {
		if (lg->jobs[i].outcome == OC_NONE &&
		    now - lg->jobs[i].last >= RESEND_US) {
			lg->resent++;
			client_submit(lg, i);
		}
	}
}

static void
client_control(void *arg, const struct msg *m)
{
	struct sim	*s = arg;
	struct lg	*lg = s->lg;
	struct ljob	*j;
	uint8_t		 jk[KEY_LEN];

	if (!(m->present & FBIT(F_JOB)))
		return;
	if ((j = lg_job(lg, m->job)) == NULL) {
		lg->foreign++;
		return;
	}
	switch (m->type) {
	case MT_ACCEPTED:
		if (msg_open_key(s->node.key, m->key, jk) == -1)
			lg->bad_keys++;
		sodium_memzero(jk, sizeof(jk));
		if (j->outcome == OC_NONE || j->outcome == OC_QUEUED) {
			lg->accepted++;
			lg_answered(lg, j, OC_ACCEPTED);
		}
		break;
	case MT_QUEUED:
		if (j->outcome == OC_NONE) {
			lg->queued++;
			j->outcome = OC_QUEUED;
		}
		break;
	case MT_REFUSED:
	case MT_FAILED:
		if (!lg->told_refusal) {
			lg->told_refusal = true;
			log_warnx("job %s %s: %s", m->job,
			    msg_type_name(m->type), m->present & FBIT(F_TEXT) ?
			    m->text : m->reason);
		}
		if (j->outcome == OC_NONE || j->outcome == OC_QUEUED) {
			if (m->type == MT_REFUSED)
				lg->refused++;
			else
				lg->failed++;
			lg_answered(lg, j, m->type == MT_REFUSED ? OC_REFUSED :
			    OC_FAILED);
		}
		break;
	case MT_FINISHED:
		if (!j->finished) {
			j->finished = true;
			lg->finished++;
		}
		break;
	default:
		break;
	}
}

/* ---- simulated workers ---- */

static void
worker_register(struct sim *s)
{
	struct msg	m;
	struct strmap	bins = { 0 }, health = { 0 };
	struct strv	none = { 0 };

	strmap_set(&bins, "ffmpeg", "ok");
	strmap_set(&bins, "ffprobe", "ok");
	strmap_set(&health, "Media", "ok");
	msg_init(&m, MT_REGISTER, s->node.name);
	msg_set_str(&m, F_SESSION, s->node.session);
	msg_set_str(&m, F_VERSION, DFFMPEG_VERSION);
	msg_set_strmap(&m, F_BINARIES, &bins);
	msg_set_strmap(&m, F_PATH_HEALTH, &health);
	msg_set_int(&m, F_MAX_JOBS, 0);
	msg_set_int(&m, F_WEIGHT, 1);
	msg_set_int(&m, F_INTERVAL, s->lg->interval_ms);
	msg_set_str(&m, F_STATUS, "online");
	msg_set_strv(&m, F_RUNNING, &none);
	node_send(&s->node, &m, true);
	msg_clear(&m);
	strmap_free(&bins);
	strmap_free(&health);
}

static void
worker_beat(evutil_socket_t fd, short what, void *arg)
{
	struct sim	*s = arg;
	struct msg	 m;
	struct strmap	 health = { 0 };
	struct strv	 none = { 0 };

	(void)fd;
	(void)what;
	if (s->lg->phase == PH_STOP)
		return;
	loop_arm(s->ev_beat, s->lg->interval_ms);
	if (!s->node.ready)
		return;
	strmap_set(&health, "Media", "ok");
	msg_init(&m, MT_HEARTBEAT, s->node.name);
	msg_set_str(&m, F_SESSION, s->node.session);
	msg_set_strmap(&m, F_PATH_HEALTH, &health);
	msg_set_strv(&m, F_RUNNING, &none);
	msg_set_str(&m, F_STATUS, "online");
	snprintf(s->beat_id, sizeof(s->beat_id), "%s", m.id);
	s->beat_sent = now_us();
	if (node_send(&s->node, &m, false) == 0)
		s->lg->beats++;
	msg_clear(&m);
	strmap_free(&health);
}

static void
worker_report(struct sim *s, const char *job, enum msg_type type)
{
	struct msg	m;

	msg_init(&m, type, s->node.name);
	msg_set_str(&m, F_JOB, job);
	if (type == MT_STARTED) {
		msg_set_int(&m, F_PID, 1);
		msg_set_str(&m, F_SESSION, s->node.session);
	} else {
		msg_set_int(&m, F_CODE, 0);
		msg_set_int(&m, F_SIGNAL, 0);
		msg_set_int(&m, F_BYTES_IN, 0);
		msg_set_int(&m, F_BYTES_OUT, 0);
	}
	node_send(&s->node, &m, true);
	msg_clear(&m);
}

static void
hold_add(struct lg *lg, struct sim *s, const char *job)
{
	struct hold	*nh, *h;
	size_t		 i, ncap;

	if (lg->hold_n == lg->hold_cap) {
		ncap = lg->hold_cap ? lg->hold_cap * 2 : 1024;
		nh = xcalloc(ncap, sizeof(*nh));
		for (i = 0; i < lg->hold_n; i++)
			nh[i] = lg->holds[(lg->hold_head + i) % lg->hold_cap];
		free(lg->holds);
		lg->holds = nh;
		lg->hold_cap = ncap;
		lg->hold_head = 0;
	}
	h = &lg->holds[(lg->hold_head + lg->hold_n) % lg->hold_cap];
	h->due = now_us() + (int64_t)lg->hold_ms * 1000;
	h->sim = (int)(s - lg->sims);
	snprintf(h->job, sizeof(h->job), "%s", job);
	lg->hold_n++;
}

/* Send the `finished` of every held job that is due. */
static void
hold_run(struct lg *lg, int64_t now)
{
	struct hold	*h;

	while (lg->hold_n > 0) {
		h = &lg->holds[lg->hold_head];
		if (h->due > now)
			break;
		worker_report(&lg->sims[h->sim], h->job, MT_FINISHED);
		lg->hold_head = (lg->hold_head + 1) % lg->hold_cap;
		lg->hold_n--;
	}
}

static void
worker_assign(struct sim *s, const struct msg *m)
{
	struct lg	*lg = s->lg;
	struct ljob	*j = lg_job(lg, m->job);
	uint8_t		 jk[KEY_LEN];

	lg->assigns++;
	if (msg_open_key(s->node.key, m->key, jk) == -1)
		lg->bad_keys++;
	sodium_memzero(jk, sizeof(jk));
	if (j == NULL)
		lg->foreign++;
	else if (j->assigned != 0)
		lg->dup_assigns++;
	else {
		j->assigned = now_us();
		lg->t_last_assign = j->assigned;
	}
	worker_report(s, m->job, MT_STARTED);
	if (lg->hold_ms == 0)
		worker_report(s, m->job, MT_FINISHED);
	else
		hold_add(lg, s, m->job);
}

static void
worker_control(void *arg, const struct msg *m)
{
	struct sim	*s = arg;
	struct lg	*lg = s->lg;

	switch (m->type) {
	case MT_REGISTERED:
		if (s->registered)
			break;
		s->registered = true;
		lg->nregistered++;
		/* Real workers start at random times. */
		loop_arm(s->ev_beat, (int)randombytes_uniform(
		    (uint32_t)lg->interval_ms) + 1);
		break;
	case MT_REREGISTER:
		lg->reregisters++;
		worker_register(s);
		break;
	case MT_ASSIGN:
		worker_assign(s, m);
		break;
	case MT_ACK:
		if (s->beat_sent != 0 && strcmp(m->ref, s->beat_id) == 0) {
			lat_add(&lg->beat_lat, now_us() - s->beat_sent);
			s->beat_sent = 0;
		}
		break;
	default:
		break;
	}
}

static void
sim_ready(void *arg)
{
	struct sim	*s = arg;

	if (!s->ready) {
		s->ready = true;
		s->lg->nready++;
	}
	if (s->worker && !s->registered)
		worker_register(s);
}

static const struct node_ops worker_ops = {
	sim_ready, NULL, worker_control, NULL
};

static const struct node_ops client_ops = {
	sim_ready, NULL, client_control, NULL
};

/* ---- identities ---- */

/* The key of identity name: a new identity, or the one of an earlier run
 * if it has the same role. */
static int
sim_key(struct store *st, const uint8_t mk[KEY_LEN], const char *name,
    int role, uint8_t key[KEY_LEN], char *err, size_t errlen)
{
	struct ident_row	r;

	if (ident_add(st, mk, name, role, key, err, errlen) == 0)
		return 0;
	if (store_ident_get(st, name, &r) != 0)
		return -1;
	if (r.role != role) {
		snprintf(err, errlen, "identity %s exists with role %s", name,
		    role_name(r.role));
		return -1;
	}
	if (ident_unseal(mk, r.sealed, r.sealed_len, key) == -1) {
		snprintf(err, errlen, "the key of identity %s does not open "
		    "under the master key", name);
		return -1;
	}
	return 0;
}

static void
raise_nofile(int need)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("setrlimit");
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (rlim_t)need)
		log_warnx("%llu file descriptors for %d needed: connections "
		    "will fail", (unsigned long long)rl.rlim_cur, need);
}

/* Create (or find) the identities and set up one node for each. */
static int
lg_sims(struct lg *lg, char *err, size_t errlen)
{
	struct store		*st;
	struct mqtt_conf	 mc;
	struct sim		*s;
	uint8_t			 mk[KEY_LEN], key[KEY_LEN];
	char			 name[NAME_MAX_LEN + 1];
	int			 i, n = lg->nworkers + lg->nclients, ok, rc = -1;

	if (ident_master_load(lg->conf.master_key_file, false, mk, err,
	    errlen) == -1)
		return -1;
	if ((st = store_open(lg->conf.database, err, errlen)) == NULL)
		goto out;
	lg->sims = xcalloc((size_t)n, sizeof(*lg->sims));
	/* One transaction: the coordinator reloads its keyring once. */
	if (store_begin(st) == -1) {
		snprintf(err, errlen, "cannot begin a transaction");
		goto out;
	}
	for (i = 0; i < n; i++) {
		s = &lg->sims[i];
		s->lg = lg;
		s->worker = i < lg->nworkers;
		snprintf(name, sizeof(name), s->worker ? "sim-w%04d" :
		    "sim-c%04d", s->worker ? i + 1 : i - lg->nworkers + 1);
		if (sim_key(st, mk, name, s->worker ? ROLE_WORKER :
		    ROLE_CLIENT, key, err, errlen) == -1) {
			store_rollback(st);
			goto out;
		}
		mc = lg->conf.mqtt;
		mc.username = name;
		mc.password = NULL;
		ok = node_init(&s->node, lg->base, &mc, name, key, !s->worker,
		    s->worker ? &worker_ops : &client_ops, s, err, errlen);
		sodium_memzero(key, sizeof(key));
		if (ok == -1) {
			store_rollback(st);
			goto out;
		}
		if (s->worker)
			s->ev_beat = loop_timer(lg->base, false, worker_beat, s);
	}
	if (store_commit(st) == -1) {
		snprintf(err, errlen, "cannot commit the identities");
		goto out;
	}
	rc = 0;
out:
	if (st != NULL)
		store_close(st);
	sodium_memzero(mk, sizeof(mk));
	return rc;
}

/* ---- the run ---- */

static void
lg_print(struct lg *lg)
{
	struct lat	 assign = { 0 }, accept = { 0 };
	struct rusage	 ru;
	double		 span, cpu = 0;
	size_t		 i, nassigned = 0;

	if (getrusage(RUSAGE_SELF, &ru) == 0)
		cpu = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
		    ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
	if (lg->mode == LG_HEARTBEAT) {
		printf("result mode=heartbeat workers=%d registered=%d "
		    "beats=%" PRIu64 " acks=%zu reregisters=%" PRIu64 " "
		    "ack_p50_ms=%.3f ack_p99_ms=%.3f ack_max_ms=%.3f "
		    "elapsed_ms=%.0f loadgen_cpu_ms=%.0f\n", lg->nworkers,
		    lg->nregistered, lg->beats, lg->beat_lat.n,
		    lg->reregisters, lat_ms(&lg->beat_lat, 0.5),
		    lat_ms(&lg->beat_lat, 0.99), lat_ms(&lg->beat_lat, 1),
		    (now_us() - lg->t0) / 1e3, cpu);
		fflush(stdout);
		return;
	}
	for (i = 0; i < lg->njobs; i++) {
		if (lg->jobs[i].assigned != 0) {
			nassigned++;
			lat_add(&assign, lg->jobs[i].assigned -
			    lg->jobs[i].sent);
		}
		if (lg->jobs[i].outcome == OC_ACCEPTED)
			lat_add(&accept, lg->jobs[i].answered -
			    lg->jobs[i].sent);
	}
	span = nassigned > 0 ? (lg->t_last_assign - lg->t0) / 1e6 : 0;
	printf("result mode=dispatch workers=%d clients=%d submitted=%zu "
	    "assigned=%zu accepted=%" PRIu64 " queued=%" PRIu64 " "
	    "refused=%" PRIu64 " failed=%" PRIu64 " finished=%" PRIu64 " "
	    "resent=%" PRIu64 " dup_assigns=%" PRIu64 " foreign=%" PRIu64 " "
	    "bad_keys=%" PRIu64 " span_ms=%.0f jobs_per_s=%.0f "
	    "assign_p50_ms=%.3f assign_p99_ms=%.3f assign_max_ms=%.3f "
	    "accept_p50_ms=%.3f accept_p99_ms=%.3f accept_max_ms=%.3f "
	    "loadgen_cpu_ms=%.0f\n", lg->nworkers, lg->nclients, lg->njobs,
	    nassigned, lg->accepted, lg->queued, lg->refused, lg->failed,
	    lg->finished, lg->resent, lg->dup_assigns, lg->foreign,
	    lg->bad_keys, span * 1e3, span > 0 ? nassigned / span : 0,
	    lat_ms(&assign, 0.5), lat_ms(&assign, 0.99), lat_ms(&assign, 1),
	    lat_ms(&accept, 0.5), lat_ms(&accept, 0.99), lat_ms(&accept, 1),
	    cpu);
	fflush(stdout);
	free(assign.v);
	free(accept.v);
}

static void
lg_closed(void *arg)
{
	struct sim	*s = arg;

	if (--s->lg->nclosing == 0)
		event_base_loopexit(s->lg->base, NULL);
}

static void
lg_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct lg	*lg = arg;

	(void)fd;
	(void)what;
	log_warnx("%d connections still closing; leaving", lg->nclosing);
	event_base_loopexit(lg->base, NULL);
}

/* Report, then close every connection with a goodbye. */
static void
lg_stop(struct lg *lg)
{
	int	i, n = lg->nworkers + lg->nclients;

	lg->phase = PH_STOP;
	event_del(lg->ev_tick);
	if (lg->status == 0)
		lg_print(lg);
	lg->nclosing = n;
	lg->ev_deadline = loop_timer(lg->base, false, lg_deadline, lg);
	loop_arm(lg->ev_deadline, SHUTDOWN_MS);
	for (i = 0; i < n; i++) {
		if (lg->sims[i].ev_beat != NULL)
			event_del(lg->sims[i].ev_beat);
		node_shutdown(&lg->sims[i].node, true, lg_closed,
		    &lg->sims[i]);
	}
}

static void
lg_dispatch(struct lg *lg, int64_t now)
{
	int64_t	elapsed = now - lg->t0;
	size_t	want;

	if (lg->phase == PH_RUN) {
		if (lg->paced)
			want = (size_t)(lg->rate * (double)elapsed / 1e6) + 1;
		else
			want = lg->njobs + (size_t)(lg->inflight < lg->window ?
			    lg->window - lg->inflight : 0);
		if (want > lg->count)
			want = lg->count;
		while (lg->njobs < want)
			lg_new_job(lg);
		if (lg->njobs == lg->count || elapsed >= lg->duration_us) {
			lg->phase = PH_DRAIN;
			lg->t_drain = now;
		}
	}
	lg_resend(lg, now);
	hold_run(lg, now);
	if (lg->phase == PH_DRAIN && ((lg->inflight == 0 &&
	    lg->finished >= lg->accepted) || now - lg->t_drain >=
	    DRAIN_TIMEOUT_US + (int64_t)lg->hold_ms * 1000))
		lg_stop(lg);
}

static void
lg_tick(evutil_socket_t fd, short what, void *arg)
{
	struct lg	*lg = arg;
	int64_t		 now = now_us();
	int		 n = lg->nworkers + lg->nclients;

	(void)fd;
	(void)what;
	switch (lg->phase) {
	case PH_CONNECT:
		if (lg->nready == n && lg->nregistered == lg->nworkers) {
			lg->phase = PH_RUN;
			lg->t0 = now;
			printf("ready workers=%d clients=%d ms=%.0f\n",
			    lg->nworkers, lg->nclients,
			    (now - lg->t_start) / 1e3);
			fflush(stdout);
		} else if (now - lg->t_start > READY_TIMEOUT_US) {
			log_warnx("%d of %d identities connected, %d of %d "
			    "workers registered: giving up", lg->nready, n,
			    lg->nregistered, lg->nworkers);
			lg->status = 1;
			lg_stop(lg);
		}
		break;
	case PH_RUN:
	case PH_DRAIN:
		if (lg->mode == LG_DISPATCH)
			lg_dispatch(lg, now);
		else if (now - lg->t0 >= lg->duration_us)
			lg_stop(lg);
		break;
	case PH_STOP:
		break;
	}
}

static void
lg_free(struct lg *lg)
{
	int	i;

	for (i = 0; lg->sims != NULL && i < lg->nworkers + lg->nclients;
	    i++) {
		if (lg->sims[i].ev_beat != NULL)
			event_free(lg->sims[i].ev_beat);
		if (lg->sims[i].node.mqtt != NULL)
			node_free(&lg->sims[i].node);
	}
	free(lg->sims);
	free(lg->jobs);
	free(lg->beat_lat.v);
	free(lg->holds);
	if (lg->ev_tick != NULL)
		event_free(lg->ev_tick);
	if (lg->ev_deadline != NULL)
		event_free(lg->ev_deadline);
	settings_free_coord(&lg->conf);
	if (lg->base != NULL)
		event_base_free(lg->base);
}

static void
usage(void)
{
	fprintf(stderr, "usage: loadgen dispatch -c COORD.yaml [--workers N] "
	    "[--clients M]\n\t(--rate R --duration S | --count K [--window W] "
	    "[--duration S]) [--hold MS]\n"
	    "       loadgen heartbeat -c COORD.yaml [--workers N] "
	    "[--duration S] [--interval MS]\n");
	exit(2);
}

static long
num_arg(const char *opt, const char *s, long min, long max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "loadgen: --%s: want %ld..%ld, not '%s'\n",
		    opt, min, max, s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "workers", required_argument, NULL, 'w' },
		{ "clients", required_argument, NULL, 'k' },
		{ "rate", required_argument, NULL, 'r' },
		{ "duration", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "window", required_argument, NULL, 'W' },
		{ "interval", required_argument, NULL, 'i' },
		{ "hold", required_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lg	 lg;
	const char	*cfg = NULL;
	char		 err[1024], id[ID_BUF];
	long		 duration = -1;
	int		 ch, i;

	if (argc < 2)
		usage();
	memset(&lg, 0, sizeof(lg));
	if (strcmp(argv[1], "dispatch") == 0)
		lg.mode = LG_DISPATCH;
	else if (strcmp(argv[1], "heartbeat") == 0)
		lg.mode = LG_HEARTBEAT;
	else
		usage();
	lg.nworkers = lg.mode == LG_DISPATCH ? 10 : 1000;
	lg.nclients = lg.mode == LG_DISPATCH ? 10 : 0;
	lg.window = 256;
	lg.interval_ms = HEARTBEAT_DEFAULT * 1000;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cfg = optarg;
			break;
		case 'w':
			lg.nworkers = (int)num_arg("workers", optarg, 1, 9999);
			break;
		case 'k':
			lg.nclients = (int)num_arg("clients", optarg, 0, 9999);
			break;
		case 'r':
			lg.rate = (double)num_arg("rate", optarg, 1, 1000000);
			lg.paced = true;
			break;
		case 'd':
			duration = num_arg("duration", optarg, 1, 3600);
			break;
		case 'n':
			lg.count = (size_t)num_arg("count", optarg, 1,
			    10000000);
			break;
		case 'W':
			lg.window = (int)num_arg("window", optarg, 1, 1000000);
			break;
		case 'h':
			lg.hold_ms = (int)num_arg("hold", optarg, 0, 3600000);
			break;
		case 'i':
			lg.interval_ms = (int)num_arg("interval", optarg, 100,
			    3600000);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || cfg == NULL)
		usage();
	if (lg.mode == LG_DISPATCH) {
		if (lg.nclients < 1 || (lg.paced == (lg.count > 0)) ||
		    (lg.paced && duration < 0))
			usage();
		if (lg.paced)
			lg.count = (size_t)(lg.rate * (double)duration) + 1;
		lg.duration_us = (duration > 0 ? duration : 3600) * 1000000LL;
	} else {
		lg.nclients = 0;
		lg.duration_us = (duration > 0 ? duration : 30) * 1000000LL;
	}

	if (sodium_init() < 0)
		fatalx("libsodium failed to initialise");
	log_init("loadgen", LOG_SINK_STDERR, NULL);
	log_set_level(LL_WARN);
	if (settings_load_coord(cfg, &lg.conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "loadgen: %s\n", err);
		return 1;
	}
	if (lg.mode == LG_DISPATCH)
		lg.jobs = xcalloc(lg.count, sizeof(*lg.jobs));
	raise_nofile(FD_PER_SIM * (lg.nworkers + lg.nclients) + 64);
	id_new(id);
	memcpy(lg.run, id, sizeof(lg.run) - 1);
	lg.base = loop_new();
	if (lg_sims(&lg, err, sizeof(err)) == -1) {
		fprintf(stderr, "loadgen: %s\n", err);
		lg_free(&lg);
		return 1;
	}
	lg.ev_tick = loop_timer(lg.base, true, lg_tick, &lg);
	loop_arm(lg.ev_tick, lg.mode == LG_DISPATCH ? TICK_DISPATCH_MS :
	    TICK_IDLE_MS);
	lg.t_start = now_us();
	for (i = 0; i < lg.nworkers + lg.nclients; i++)
		node_start(&lg.sims[i].node);
	event_base_dispatch(lg.base);
	i = lg.status;
	lg_free(&lg);
	return i;
}
