/*
 * dffmpeg worker: registers with the coordinator, heartbeats, and runs the
 * jobs assigned to it.  Each job is a child process with pipes (no shell)
 * whose stdout and stderr are streamed as sealed frames to the client and
 * whose stdin is fed from the client's frames (design §6.1).
 *
 * A job's life here: assign -> subscribe P/job/<id>/in -> (SUBACK) spawn,
 * `started`, hello -> stream -> child exited and both pipes at EOF ->
 * exit frame and `finished` -> kept until the exit frame is acknowledged
 * (or a timeout), then forgotten.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "applet.h"
#include "bounds.h"
#include "caps.h"
#include "daemon.h"
#include "frame.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "msg.h"
#include "node.h"
#include "outbox.h"
#include "paths.h"
#include "proc.h"
#include "settings.h"
#include "stream.h"
#include "util.h"
#include "xmalloc.h"

#define STDIN_HIGH_WATER	(1024 * 1024)	/* hold acks above this */
#define LINGER_MS		30000		/* wait for the exit ack */
#define REGISTER_WARN_MS	10000

extern char **environ;

struct wjob;

struct worker {
	struct event_base	*base;
	struct worker_conf	 conf;
	struct pathmap		 pm;
	struct node		 node;
	struct wjob		**jobs;
	size_t			 njobs;
	bool			 registered;
	int64_t			 register_sent;
	int64_t			 register_warned;
	char			 register_id[ID_BUF];
	bool			 draining;	/* takes no new jobs */
	struct caps		 caps;		/* of the ffmpeg binary */
	bool			 caps_known;
	bool			 probed;	/* caps_stat is valid */
	struct stat		 caps_stat;	/* the binary when probed */
	struct strmap		 health;	/* variable -> "ok" | why */
	struct event		*ev_heartbeat;
	struct event		*ev_sig[3];
	bool			 exiting;
	bool			 stopping;	/* exit when idle */
	int			 stops;		/* SIGTERM/SIGINT received */
	int64_t			 stop_deadline;	/* mono ms */
	struct event		*ev_stop;
};

struct wjob {
	struct worker	*w;
	char		 id[ID_BUF];
	char		 binary[NAME_MAX_LEN + 1];
	char		*path;
	struct strv	 argv;
	char		*cwd;
	struct strv	 env;
	uint8_t		 key[KEY_LEN];
	int64_t		 grace;
	char		 topic_in[256];
	char		 topic_out[256];
	struct stream	*stream;

	pid_t		 pid;
	int		 fd_in, fd_out, fd_err;
	struct event	*ev_in, *ev_out, *ev_err;
	struct buf	 inbuf;
	bool		 stdin_eof;
	bool		 spawned;
	bool		 canceled;	/* before it was spawned */
	bool		 exited;
	int		 status;
	bool		 reported;
	struct buf	 errtail;
	uint64_t	 bytes_in, bytes_out;
	int64_t		 reported_at;
	struct event	*ev_kill;
	struct event	*ev_linger;
};

static void	worker_send_register(struct worker *);
static void	job_check_done(struct wjob *);
static void	job_free(struct wjob *);
static void	worker_maybe_exit(struct worker *);
static void	worker_check_health(struct worker *);
static void	worker_on_heartbeat(evutil_socket_t, short, void *);

static struct wjob *
job_find(struct worker *w, const char *id)
{
	size_t	i;

	for (i = 0; i < w->njobs; i++)
		if (strcmp(w->jobs[i]->id, id) == 0)
			return w->jobs[i];
	return NULL;
}

static void
job_remove(struct wjob *j)
{
	struct worker	*w = j->w;
	size_t		 i;

	for (i = 0; i < w->njobs; i++) {
		if (w->jobs[i] == j) {
			w->jobs[i] = w->jobs[--w->njobs];
			break;
		}
	}
	job_free(j);
	worker_maybe_exit(w);
}

static size_t
worker_running(const struct worker *w)
{
	size_t	i, n = 0;

	for (i = 0; i < w->njobs; i++)
		if (!w->jobs[i]->reported)
			n++;
	return n;
}

/* Send a job's answer or report to the coordinator, re-sent until acked. */
static void
job_report(struct wjob *j, struct msg *m)
{
	node_send(&j->w->node, m, true);
	msg_clear(m);
}

static void
job_reject(struct worker *w, const char *job, const char *reason,
    const char *text)
{
	struct msg	m;

	log_warnx("job %s rejected: %s", job, text);
	msg_init(&m, MT_REJECTED, w->node.name);
	msg_set_str(&m, F_JOB, job);
	msg_set_str(&m, F_REASON, reason);
	msg_set_str(&m, F_TEXT, text);
	node_send(&w->node, &m, true);
	msg_clear(&m);
}

/* ---- the data plane of a job ---- */

static int
job_publish(void *arg, const uint8_t *buf, size_t len)
{
	struct wjob	*j = arg;

	return mqtt_publish(j->w->node.mqtt, j->topic_out, buf, len);
}

static void
job_pause_output(struct wjob *j, bool pause)
{
	if (j->ev_out != NULL) {
		if (pause)
			event_del(j->ev_out);
		else
			event_add(j->ev_out, NULL);
	}
	if (j->ev_err != NULL) {
		if (pause)
			event_del(j->ev_err);
		else
			event_add(j->ev_err, NULL);
	}
}

static void
job_writable(void *arg)
{
	job_pause_output(arg, false);
}

static void
job_close_stdin(struct wjob *j)
{
	if (j->ev_in != NULL) {
		event_free(j->ev_in);
		j->ev_in = NULL;
	}
	if (j->fd_in != -1) {
		close(j->fd_in);
		j->fd_in = -1;
	}
	buf_free(&j->inbuf);
}

/* Write what we can of the stdin buffer to the child. */
static void
job_flush_stdin(struct wjob *j)
{
	ssize_t	n;

	while (j->fd_in != -1 && buf_used(&j->inbuf) > 0) {
		n = write(j->fd_in, buf_head(&j->inbuf), buf_used(&j->inbuf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			event_add(j->ev_in, NULL);
			break;
		}
		if (n == -1) {
			/* The child closed its stdin (EPIPE): drop input. */
			log_debug("job %s: stdin: %s", j->id, strerror(errno));
			job_close_stdin(j);
			break;
		}
		j->bytes_in += (uint64_t)n;
		buf_drain(&j->inbuf, (size_t)n);
	}
	if (j->fd_in != -1 && buf_used(&j->inbuf) == 0) {
		event_del(j->ev_in);
		if (j->stdin_eof)
			job_close_stdin(j);
	}
	stream_hold(j->stream, buf_used(&j->inbuf) > STDIN_HIGH_WATER);
}

static void
job_on_stdin_writable(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	job_flush_stdin(arg);
}

/* Stop reading the child's stdout (or stderr) and close our end. */
static void
job_close_output(struct wjob *j, bool is_err)
{
	struct event	**ev = is_err ? &j->ev_err : &j->ev_out;
	int		 *fd = is_err ? &j->fd_err : &j->fd_out;

	if (*ev != NULL) {
		event_free(*ev);
		*ev = NULL;
	}
	if (*fd != -1) {
		close(*fd);
		*fd = -1;
	}
}

static const int forwardable[] = { SIGINT, SIGTERM, SIGQUIT, SIGHUP, SIGKILL,
    SIGUSR1, SIGUSR2, SIGCONT, SIGSTOP, SIGTSTP };

static void
job_deliver(void *arg, enum frame_kind kind, const uint8_t *data, size_t len)
{
	struct wjob	*j = arg;
	size_t		 i;

	switch (kind) {
	case FK_STDIN:
		if (j->fd_in == -1)
			return;
		buf_add(&j->inbuf, data, len);
		job_flush_stdin(j);
		break;
	case FK_STDIN_EOF:
		j->stdin_eof = true;
		job_flush_stdin(j);
		break;
	case FK_SIGNAL:
		if (len != 1 || !j->spawned || j->exited)
			return;
		for (i = 0; i < nitems(forwardable); i++) {
			if (forwardable[i] == data[0]) {
				log_info("job %s: forwarding signal %d", j->id,
				    data[0]);
				kill(j->pid, data[0]);
				return;
			}
		}
		log_debug("job %s: ignored signal %d", j->id, data[0]);
		break;
	case FK_CLOSED:
		/* Nobody reads that output on the client any more: close
		 * our end, and the child's next write fails with EPIPE. */
		if (len != 1 || (data[0] != 1 && data[0] != 2) ||
		    (data[0] == 1 ? j->fd_out : j->fd_err) == -1)
			break;
		job_close_output(j, data[0] == 2);
		log_info("job %s: the client's %s is closed", j->id,
		    data[0] == 1 ? "stdout" : "stderr");
		job_check_done(j);
		break;
	default:
		log_debug("job %s: unexpected %s frame", j->id,
		    frame_kind_name(kind));
		break;
	}
}

/*
 * Stop a job nobody will read any more (canceled, or its client is
 * gone): SIGTERM, SIGKILL after the grace, and stop relaying its output,
 * so that neither a child blocked on a full pipe nor output left in the
 * pipes after it exited keeps the job from ending and being reported.
 */
static void
job_stop(struct wjob *j, const char *why)
{
	if (!j->spawned) {
		j->canceled = true;	/* it never starts */
		return;
	}
	if (!j->exited && !event_pending(j->ev_kill, EV_TIMEOUT, NULL)) {
		log_info("job %s: %s; stopping it", j->id, why);
		kill(j->pid, SIGTERM);
		loop_arm(j->ev_kill, (int)j->grace);
	}
	job_close_output(j, false);
	job_close_output(j, true);
	job_check_done(j);
}

static void
job_lost(void *arg)
{
	struct wjob	*j = arg;

	if (!j->reported)
		job_stop(j, "nothing heard from the client");
}

static const struct stream_ops job_stream_ops = {
	job_publish,
	job_deliver,
	job_writable,
	job_lost,
};

static void
job_keep_tail(struct wjob *j, const uint8_t *data, size_t len)
{
	if (len >= STDERR_TAIL_MAX) {
		buf_drain(&j->errtail, buf_used(&j->errtail));
		buf_add(&j->errtail, data + len - STDERR_TAIL_MAX,
		    STDERR_TAIL_MAX);
		return;
	}
	if (buf_used(&j->errtail) + len > STDERR_TAIL_MAX)
		buf_drain(&j->errtail, buf_used(&j->errtail) + len -
		    STDERR_TAIL_MAX);
	buf_add(&j->errtail, data, len);
}

static void
job_on_output(evutil_socket_t fd, short what, void *arg)
{
	struct wjob	*j = arg;
	bool		 is_err = fd == j->fd_err;
	uint8_t		 buf[FRAME_MAX_PAYLOAD];
	ssize_t		 n;

	(void)what;
	n = read(fd, buf, sizeof(buf));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		job_close_output(j, is_err);
		job_check_done(j);
		return;
	}
	j->bytes_out += (uint64_t)n;
	if (is_err)
		job_keep_tail(j, buf, (size_t)n);
	stream_send(j->stream, is_err ? FK_STDERR : FK_STDOUT, buf, (size_t)n);
	if (stream_full(j->stream))
		job_pause_output(j, true);
}

static void
job_on_exit(pid_t pid, int status, void *arg)
{
	struct wjob	*j = arg;

	(void)pid;
	j->exited = true;
	j->status = status;
	if (event_pending(j->ev_kill, EV_TIMEOUT, NULL))
		event_del(j->ev_kill);
	if (WIFSIGNALED(status))
		log_info("job %s: killed by signal %d", j->id,
		    WTERMSIG(status));
	else
		log_info("job %s: exited with code %d", j->id,
		    WEXITSTATUS(status));
	/* Whatever is left in the pipes is read before the exit frame. */
	job_check_done(j);
}

static void
job_on_linger(evutil_socket_t fd, short what, void *arg)
{
	struct wjob	*j = arg;

	(void)fd;
	(void)what;
	if (!stream_drained(j->stream) &&
	    mono_ms() - j->reported_at < LINGER_MS) {
		loop_arm(j->ev_linger, 200);
		return;
	}
	log_debug("job %s: done", j->id);
	job_remove(j);
}

/* When the child has exited and its output is drained: exit frame and
 * `finished`, then linger until the client has the exit frame. */
static void
job_check_done(struct wjob *j)
{
	uint8_t		 ex[5];
	struct msg	 m;
	int		 code, sig;
	char		*tail;

	if (j->reported || !j->exited || j->fd_out != -1 || j->fd_err != -1)
		return;
	j->reported = true;
	j->reported_at = mono_ms();
	job_close_stdin(j);
	code = WIFEXITED(j->status) ? WEXITSTATUS(j->status) : -1;
	sig = WIFSIGNALED(j->status) ? WTERMSIG(j->status) : 0;
	frame_exit_encode(ex, code, sig);
	stream_send(j->stream, FK_EXIT, ex, sizeof(ex));

	msg_init(&m, MT_FINISHED, j->w->node.name);
	msg_set_str(&m, F_JOB, j->id);
	msg_set_int(&m, F_CODE, code);
	msg_set_int(&m, F_SIGNAL, sig);
	msg_set_int(&m, F_BYTES_IN, (int64_t)j->bytes_in);
	msg_set_int(&m, F_BYTES_OUT, (int64_t)j->bytes_out);
	if (buf_used(&j->errtail) > 0) {
		tail = xstrndup((const char *)buf_head(&j->errtail),
		    buf_used(&j->errtail));
		/* ffmpeg's stderr is not always UTF-8; messages are. */
		utf8_sanitize(tail, strlen(tail));
		msg_set_str(&m, F_TEXT, tail);
		free(tail);
	}
	job_report(j, &m);
	loop_arm(j->ev_linger, 200);
}

static void
job_on_kill(evutil_socket_t fd, short what, void *arg)
{
	struct wjob	*j = arg;

	(void)fd;
	(void)what;
	if (j->spawned && !j->exited) {
		log_warnx("job %s: still running after the grace period; "
		    "killing it", j->id);
		kill(j->pid, SIGKILL);
	}
}

static void
job_spawn(struct wjob *j)
{
	struct proc_spec	 spec;
	struct msg		 m;
	char			 err[512];
	int			 fds[3];

	spec.path = j->path;
	spec.argv = j->argv.v;
	spec.envp = j->env.v;
	spec.cwd = j->cwd;
	if ((j->pid = proc_spawn(&spec, fds, err, sizeof(err))) == -1) {
		job_reject(j->w, j->id, "spawn", err);
		/* The rejection waits in the outbox; the job itself goes at
		 * the next linger tick. */
		j->reported = true;
		j->reported_at = mono_ms() - LINGER_MS;
		loop_arm(j->ev_linger, 0);
		return;
	}
	j->spawned = true;
	j->fd_in = fds[0];
	j->fd_out = fds[1];
	j->fd_err = fds[2];
	j->ev_in = event_new(j->w->base, j->fd_in, EV_WRITE | EV_PERSIST,
	    job_on_stdin_writable, j);
	j->ev_out = event_new(j->w->base, j->fd_out, EV_READ | EV_PERSIST,
	    job_on_output, j);
	j->ev_err = event_new(j->w->base, j->fd_err, EV_READ | EV_PERSIST,
	    job_on_output, j);
	event_add(j->ev_out, NULL);
	event_add(j->ev_err, NULL);
	proc_watch(j->w->base, j->pid, job_on_exit, j);
	log_info("job %s: started %s (pid %ld)", j->id, j->path,
	    (long)j->pid);

	msg_init(&m, MT_STARTED, j->w->node.name);
	msg_set_str(&m, F_JOB, j->id);
	msg_set_int(&m, F_PID, j->pid);
	msg_set_str(&m, F_SESSION, j->w->node.session);
	job_report(j, &m);
	stream_send(j->stream, FK_HELLO, NULL, 0);
}

static void
job_on_subscribed(void *arg, const char *topic, bool ok)
{
	struct wjob	*j = arg;

	(void)topic;
	if (!ok) {
		job_reject(j->w, j->id, "subscribe",
		    "the broker refused the job's input topic (check its ACL)");
		job_remove(j);
		return;
	}
	if (j->canceled && !j->spawned) {
		job_reject(j->w, j->id, "canceled", "canceled before it started");
		job_remove(j);
		return;
	}
	if (!j->spawned && !j->reported)
		job_spawn(j);
	else
		stream_resend(j->stream);
}

static void
job_free(struct wjob *j)
{
	if (j->spawned && !j->exited) {
		kill(j->pid, SIGKILL);
		proc_unwatch(j->pid);
	}
	/* Its reports stay in the outbox until the coordinator has them. */
	mqtt_unsubscribe(j->w->node.mqtt, j->topic_in);
	job_close_stdin(j);
	job_close_output(j, false);
	job_close_output(j, true);
	event_free(j->ev_kill);
	event_free(j->ev_linger);
	stream_free(j->stream);
	strv_free(&j->argv);
	strv_free(&j->env);
	buf_free(&j->errtail);
	free(j->path);
	free(j->cwd);
	sodium_memzero(j->key, sizeof(j->key));
	free(j);
}

/*
 * Environment of a job: ours, with the job's variables among those this
 * worker accepts (forward_env): a client must not be able to set, say,
 * LD_PRELOAD for a process on a worker.
 */
static void
job_build_env(struct wjob *j, const struct strmap *env,
    const struct strv *accepted)
{
	char	**e, *kv;
	size_t	  i, klen;
	bool	  overridden;

	for (e = environ; *e != NULL; e++) {
		overridden = false;
		for (i = 0; i < env->n; i++) {
			klen = strlen(env->keys[i]);
			if (strv_contains(accepted, env->keys[i]) &&
			    strncmp(*e, env->keys[i], klen) == 0 &&
			    (*e)[klen] == '=')
				overridden = true;
		}
		if (!overridden)
			strv_push(&j->env, *e);
	}
	for (i = 0; i < env->n; i++) {
		if (!strv_contains(accepted, env->keys[i])) {
			log_info("job %s: ignored variable %s (not in "
			    "forward_env)", j->id, env->keys[i]);
			continue;
		}
		xasprintf(&kv, "%s=%s", env->keys[i], env->vals[i]);
		strv_push(&j->env, kv);
		free(kv);
	}
}

static void
worker_on_assign(struct worker *w, const struct msg *m)
{
	struct stream_params	 sp = { 0, 0, 2000, 15000 };
	struct wjob		*j;
	const char		*path;
	char			 err[256], *arg;
	size_t			 i;

	if (job_find(w, m->job) != NULL)
		return;		/* a repeated assign: `started` is pending */
	if (w->draining) {
		job_reject(w, m->job, "draining", "the worker is draining");
		return;
	}
	if (!name_valid(m->job, ID_LEN)) {
		job_reject(w, m->job, "bad-job", "malformed job id");
		return;
	}
	if ((path = strmap_get(&w->conf.binaries, m->binary)) == NULL) {
		snprintf(err, sizeof(err), "binary '%s' is not configured on "
		    "worker %s", m->binary, w->node.name);
		job_reject(w, m->job, "binary", err);
		return;
	}
	worker_check_health(w);
	for (i = 0; i < m->paths.n; i++) {
		const char *h = strmap_get(&w->health, m->paths.v[i]);

		if (h == NULL) {
			snprintf(err, sizeof(err), "path variable '%s' is not "
			    "configured on worker %s", m->paths.v[i],
			    w->node.name);
			job_reject(w, m->job, "path", err);
			return;
		}
		if (strcmp(h, "ok") != 0) {
			snprintf(err, sizeof(err), "path variable '%s' is "
			    "unhealthy on worker %s: %s", m->paths.v[i],
			    w->node.name, h);
			job_reject(w, m->job, "path", err);
			return;
		}
	}
	j = xcalloc(1, sizeof(*j));
	j->w = w;
	j->fd_in = j->fd_out = j->fd_err = -1;
	snprintf(j->id, sizeof(j->id), "%s", m->job);
	snprintf(j->binary, sizeof(j->binary), "%s", m->binary);
	j->path = xstrdup(path);
	j->grace = m->present & FBIT(F_GRACE) ? m->grace : w->conf.kill_grace;
	if (msg_open_key(w->node.key, m->key, j->key) == -1) {
		job_reject(w, m->job, "key", "the job key does not open");
		goto fail;
	}
	strv_push(&j->argv, m->binary);
	for (i = 0; i < m->args.n; i++) {
		arg = pathmap_expand(&w->pm, &m->paths, m->args.v[i], err,
		    sizeof(err));
		if (arg == NULL) {
			job_reject(w, m->job, "path", err);
			goto fail;
		}
		strv_push(&j->argv, arg);
		free(arg);
	}
	if (m->cwd != NULL && m->cwd[0] != '\0') {
		j->cwd = pathmap_expand(&w->pm, &m->paths, m->cwd, err,
		    sizeof(err));
		if (j->cwd == NULL) {
			job_reject(w, m->job, "path", err);
			goto fail;
		}
	}
	job_build_env(j, &m->env, &w->conf.forward_env);
	if (topic_fmt(j->topic_in, sizeof(j->topic_in), w->node.prefix,
	    "job/%s/in", j->id) == -1 || topic_fmt(j->topic_out,
	    sizeof(j->topic_out), w->node.prefix, "job/%s/out", j->id) == -1) {
		job_reject(w, m->job, "topic", "topic too long");
		goto fail;
	}
	j->ev_kill = loop_timer(w->base, false, job_on_kill, j);
	j->ev_linger = loop_timer(w->base, false, job_on_linger, j);
	j->stream = stream_new(w->base, j->key, j->id, true, &sp,
	    &job_stream_ops, j);
	w->jobs = xreallocarray(w->jobs, w->njobs + 1, sizeof(*w->jobs));
	w->jobs[w->njobs++] = j;
	log_info("job %s: assigned (%s, %zu arguments)", j->id, j->binary,
	    m->args.n);
	mqtt_subscribe(w->node.mqtt, j->topic_in, job_on_subscribed, j);
	return;
fail:
	strv_free(&j->argv);
	strv_free(&j->env);
	free(j->path);
	free(j->cwd);
	sodium_memzero(j->key, sizeof(j->key));
	free(j);
}

static void
worker_on_cancel(struct worker *w, const struct msg *m)
{
	struct wjob	*j = job_find(w, m->job);

	if (j == NULL) {
		/* Its assign never arrived (or it is long gone): say so, or
		 * the coordinator waits for it until we register again. */
		job_reject(w, m->job, "unknown", "no such job on this worker");
		return;
	}
	if (!j->reported) {
		if (m->present & FBIT(F_GRACE))
			j->grace = m->grace;
		job_stop(j, "canceled by the coordinator");
	}
}

/* ---- the control plane ---- */

/*
 * Probe what the configured ffmpeg can do (encoders, decoders, hwaccels,
 * filters, device nodes) and drop what the operator disabled.  This blocks
 * for the few hundred milliseconds the probes take: it runs at start-up
 * and when the binary changes.  Returns true if anything was probed.
 */
static bool
worker_probe(struct worker *w)
{
	static const size_t kinds[] = { CAPS_ENCODERS, CAPS_DECODERS,
	    CAPS_HWACCELS, CAPS_FILTERS };
	const struct strv *disabled[] = { &w->conf.disable.encoders,
	    &w->conf.disable.decoders, &w->conf.disable.hwaccels,
	    &w->conf.disable.filters };
	const char	*bin = strmap_get(&w->conf.binaries, "ffmpeg");
	struct stat	 st;
	char		 err[512];
	size_t		 i;

	if (bin == NULL)
		return false;
	if (stat(bin, &st) == -1)
		memset(&st, 0, sizeof(st));
	/* Probe again only when the binary changed, also after a failed
	 * probe: a broken binary is not worth a probe every heartbeat. */
	if (w->probed && st.st_ino == w->caps_stat.st_ino &&
	    st.st_mtime == w->caps_stat.st_mtime &&
	    st.st_size == w->caps_stat.st_size)
		return false;
	w->caps_stat = st;
	w->probed = true;
	caps_free(&w->caps);
	w->caps_known = false;
	if (caps_probe(bin, &w->caps, err, sizeof(err)) == -1) {
		log_warnx("cannot probe %s: %s; jobs that need particular "
		    "codecs or filters will not be placed here", bin, err);
		return true;
	}
	for (i = 0; i < nitems(kinds); i++)
		caps_remove(&w->caps, kinds[i], disabled[i]);
	w->caps_known = true;
	log_info("%s: ffmpeg %s, %zu encoders, %zu decoders, %zu hwaccels, "
	    "%zu filters, %zu devices", bin, w->caps.version,
	    w->caps.lists[CAPS_ENCODERS].n, w->caps.lists[CAPS_DECODERS].n,
	    w->caps.lists[CAPS_HWACCELS].n, w->caps.lists[CAPS_FILTERS].n,
	    w->caps.devices.n);
	return true;
}

/* Check every path variable; log the ones whose health changed. */
static void
worker_check_health(struct worker *w)
{
	const char	*root, *old;
	char		 why[PATH_BUF + 64];
	size_t		 i;

	for (i = 0; i < w->pm.roots.n; i++) {
		root = w->pm.roots.vals[i];
		if (paths_health(root, strmap_get(&w->conf.mounts,
		    w->pm.roots.keys[i]), why, sizeof(why)) == 0)
			snprintf(why, sizeof(why), "ok");
		old = strmap_get(&w->health, w->pm.roots.keys[i]);
		if (old != NULL && strcmp(old, why) == 0)
			continue;
		if (strcmp(why, "ok") == 0) {
			if (old != NULL)
				log_info("path variable %s is healthy again",
				    w->pm.roots.keys[i]);
		} else
			log_warnx("path variable %s is unhealthy: %s",
			    w->pm.roots.keys[i], why);
		strmap_set(&w->health, w->pm.roots.keys[i], why);
	}
}

static void
worker_fill_state(struct worker *w, struct msg *m)
{
	struct strv	running = { 0 };
	size_t		i;

	for (i = 0; i < w->njobs; i++)
		if (!w->jobs[i]->reported)
			strv_push(&running, w->jobs[i]->id);
	msg_set_strv(m, F_RUNNING, &running);
	strv_free(&running);
	msg_set_str(m, F_STATUS, w->draining ? "draining" : "online");
}

static void
worker_send_register(struct worker *w)
{
	struct msg	m;
	struct strmap	bins = { 0 };
	size_t		i;

	if (w->register_id[0] != '\0')
		outbox_done(w->node.outbox, w->register_id);
	msg_init(&m, MT_REGISTER, w->node.name);
	msg_set_str(&m, F_SESSION, w->node.session);
	msg_set_str(&m, F_VERSION, DFFMPEG_VERSION);
	for (i = 0; i < w->conf.binaries.n; i++)
		strmap_set(&bins, w->conf.binaries.keys[i],
		    access(w->conf.binaries.vals[i], X_OK) == 0 ? "ok" :
		    "missing");
	worker_check_health(w);
	msg_set_strmap(&m, F_BINARIES, &bins);
	msg_set_strmap(&m, F_PATH_HEALTH, &w->health);
	msg_set_int(&m, F_MAX_JOBS, w->conf.max_jobs);
	msg_set_int(&m, F_WEIGHT, w->conf.weight);
	msg_set_int(&m, F_INTERVAL, w->conf.registration_interval);
	if (w->caps_known) {
		msg_set_strv(&m, F_ENCODERS, &w->caps.lists[CAPS_ENCODERS]);
		msg_set_strv(&m, F_DECODERS, &w->caps.lists[CAPS_DECODERS]);
		msg_set_strv(&m, F_HWACCELS, &w->caps.lists[CAPS_HWACCELS]);
		msg_set_strv(&m, F_FILTERS, &w->caps.lists[CAPS_FILTERS]);
		msg_set_strv(&m, F_DEVICES, &w->caps.devices);
	}
	worker_fill_state(w, &m);
	snprintf(w->register_id, sizeof(w->register_id), "%s", m.id);
	w->registered = false;
	w->register_sent = mono_ms();
	node_send(&w->node, &m, true);
	msg_clear(&m);
	strmap_free(&bins);
}

static void
worker_on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;
	struct msg	 m;
	int64_t		 now = mono_ms();

	(void)fd;
	(void)what;
	if (!w->node.ready)
		return;
	if (worker_probe(w)) {
		log_info("the ffmpeg binary changed; registering again");
		worker_send_register(w);
		return;
	}
	if (!w->registered) {
		if (now - w->register_sent >= REGISTER_WARN_MS &&
		    now - w->register_warned >= 3 * REGISTER_WARN_MS) {
			w->register_warned = now;
			log_warnx("the coordinator has not answered our "
			    "registration for %lld s: is it running, and "
			    "does it know worker '%s' with this hmac_key?",
			    (long long)((now - w->register_sent) / 1000),
			    w->node.name);
		}
		return;
	}
	worker_check_health(w);
	msg_init(&m, MT_HEARTBEAT, w->node.name);
	msg_set_str(&m, F_SESSION, w->node.session);
	msg_set_strmap(&m, F_PATH_HEALTH, &w->health);
	worker_fill_state(w, &m);
	node_send(&w->node, &m, false);
	msg_clear(&m);
}

static void
worker_ready(void *arg)
{
	struct worker	*w = arg;
	size_t		 i;

	worker_send_register(w);
	for (i = 0; i < w->njobs; i++)
		stream_resend(w->jobs[i]->stream);
}

static void
worker_control(void *arg, const struct msg *m)
{
	struct worker	*w = arg;

	switch (m->type) {
	case MT_REGISTERED:
		if (!w->registered)
			log_info("registered with the coordinator as %s",
			    w->node.name);
		w->registered = true;
		break;
	case MT_REREGISTER:
		worker_send_register(w);
		break;
	case MT_ASSIGN:
		worker_on_assign(w, m);
		break;
	case MT_CANCEL:
		worker_on_cancel(w, m);
		break;
	case MT_DRAIN:
		/* From `dffmpeg admin worker drain|resume`: stop (or start
		 * again) taking jobs, without exiting. */
		if (w->stopping)
			break;
		if (m->present & FBIT(F_STATUS) &&
		    strcmp(m->status, "online") == 0) {
			if (w->draining)
				log_info("resumed by the coordinator");
			w->draining = false;
		} else {
			if (!w->draining)
				log_info("draining on request of the "
				    "coordinator");
			w->draining = true;
		}
		worker_on_heartbeat(-1, 0, w);
		break;
	case MT_ACK:
		break;
	default:
		log_debug("ignored a %s message", msg_type_name(m->type));
		break;
	}
}

static void
worker_data(void *arg, const char *topic, const uint8_t *payload, size_t len)
{
	struct worker	*w = arg;
	size_t		 i;

	for (i = 0; i < w->njobs; i++) {
		if (strcmp(w->jobs[i]->topic_in, topic) == 0) {
			stream_input(w->jobs[i]->stream, payload, len);
			return;
		}
	}
}

static const struct node_ops worker_node_ops = {
	worker_ready,
	NULL,
	worker_control,
	worker_data,
};

static void
worker_closed(void *arg)
{
	struct worker	*w = arg;

	event_base_loopexit(w->base, NULL);
}

/*
 * Exit once draining and idle: no job left and every report (`finished`)
 * acknowledged by the coordinator, or the stop deadline passed.
 */
static void
worker_maybe_exit(struct worker *w)
{
	if (!w->stopping || w->exiting)
		return;
	if (w->njobs > 0 && mono_ms() < w->stop_deadline)
		return;
	/* Reports wait for the coordinator, unless it never answered us. */
	if (outbox_pending(w->node.outbox) > 0 && w->node.ready &&
	    w->registered && mono_ms() < w->stop_deadline)
		return;
	w->exiting = true;	/* job_remove calls back here */
	while (w->njobs > 0)
		job_remove(w->jobs[0]);
	log_info("no jobs left; exiting");
	node_shutdown(&w->node, true, worker_closed, w);
}

static void
worker_on_stop_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	worker_maybe_exit(arg);
}

/*
 * SIGTERM or SIGINT: the first drains (no new jobs, running ones finish,
 * then exit); the second cancels the running jobs (SIGTERM, SIGKILL after
 * kill_grace), reports them and exits.  SIGHUP is ignored.
 */
static void
worker_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct worker	*w = arg;
	struct wjob	*j;
	size_t		 i;

	(void)what;
	if (sig == SIGHUP) {
		log_info("SIGHUP: nothing to reload; ignored");
		return;
	}
	w->stops++;
	w->draining = true;
	if (w->stops == 1) {
		log_info("signal %d: draining (%zu jobs running); send it "
		    "again to cancel them", (int)sig, worker_running(w));
		w->stopping = true;
		/* No deadline while jobs run: they may take hours. */
		w->stop_deadline = INT64_MAX;
		worker_on_heartbeat(-1, 0, w);
	} else {
		log_info("signal %d: canceling %zu jobs", (int)sig,
		    worker_running(w));
		for (i = 0; i < w->njobs; i++) {
			j = w->jobs[i];
			if (!j->reported)
				job_stop(j, "the worker is stopping");
		}
		w->stop_deadline = mono_ms() + w->conf.kill_grace + 3000;
	}
	if (w->njobs == 0)
		w->stop_deadline = mono_ms() + 2000;	/* reports only */
	if (w->ev_stop == NULL) {
		w->ev_stop = loop_timer(w->base, true, worker_on_stop_tick, w);
		loop_arm(w->ev_stop, 100);
	}
	worker_maybe_exit(w);
}

int
worker_main(int argc, char **argv)
{
	struct worker	 w;
	char		 err[1024];
	struct daemon_opts opts;
	int		 rc, i;

	if ((rc = daemon_getopt(argc, argv, "dffmpeg worker [-n] [-d] "
	    "[-c FILE]", &opts)) != -1)
		return rc;
	if (sodium_init() < 0)
		fatalx("libsodium failed to initialise");
	log_init("dffmpeg-worker", LOG_SINK_STDERR, NULL);
	memset(&w, 0, sizeof(w));
	if (settings_load_worker(opts.config, &w.conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "dffmpeg worker: %s\n", err);
		return 1;
	}
	if (pathmap_init(&w.pm, &w.conf.paths, err, sizeof(err)) == -1) {
		fprintf(stderr, "dffmpeg worker: %s\n", err);
		settings_free_worker(&w.conf);
		return 1;
	}
	if (opts.check_only) {
		printf("configuration OK\n");
		pathmap_free(&w.pm);
		settings_free_worker(&w.conf);
		return 0;
	}
	daemon_logging("dffmpeg-worker", w.conf.log_file, w.conf.log_level,
	    opts.debug);

	worker_probe(&w);
	loop_tune_malloc();
	w.base = loop_new();
	if (node_init(&w.node, w.base, &w.conf.mqtt, w.conf.client_id,
	    w.conf.key, false, &worker_node_ops, &w, err, sizeof(err)) == -1)
		fatalx("%s", err);
	w.ev_heartbeat = loop_timer(w.base, true, worker_on_heartbeat, &w);
	loop_arm(w.ev_heartbeat, (int)w.conf.registration_interval);
	w.ev_sig[0] = loop_signal(w.base, SIGTERM, worker_on_signal, &w);
	w.ev_sig[1] = loop_signal(w.base, SIGINT, worker_on_signal, &w);
	w.ev_sig[2] = loop_signal(w.base, SIGHUP, worker_on_signal, &w);
	log_info("worker %s starting (broker %s:%d)", w.conf.client_id,
	    w.conf.mqtt.host, w.conf.mqtt.port);
	node_start(&w.node);
	event_base_dispatch(w.base);

	while (w.njobs > 0)
		job_remove(w.jobs[0]);
	free(w.jobs);
	for (i = 0; i < 3; i++)
		event_free(w.ev_sig[i]);
	if (w.ev_stop != NULL)
		event_free(w.ev_stop);
	event_free(w.ev_heartbeat);
	node_free(&w.node);
	strmap_free(&w.health);
	caps_free(&w.caps);
	pathmap_free(&w.pm);
	settings_free_worker(&w.conf);
	event_base_free(w.base);
	log_info("worker stopped");
	return 0;
}
