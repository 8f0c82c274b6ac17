/*
 * A job on a worker: spawning, the relay between its pipes and its
 * stream, its reports, linger and kill.  See wjob.h.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "bgtask.h"
#include "confine.h"
#include "frame.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "msg.h"
#include "node.h"
#include "paths.h"
#include "proc.h"
#include "sigfwd.h"
#include "stream.h"
#include "wjob.h"
#include "xmalloc.h"

extern char **environ;

static void	job_check_done(struct wjob *);

void
wjob_reject(struct node *node, const char *job, const char *reason,
    const char *text)
{
	struct msg	m;

	log_warnx("job %s rejected: %s", job, text);
	msg_init(&m, MT_REJECTED, node->name);
	msg_set_str(&m, F_JOB, job);
	msg_set_str(&m, F_REASON, reason);
	msg_set_str(&m, F_TEXT, text);
	node_send(node, &m, true);
	msg_clear(&m);
}

/* Send a job's answer or report to the coordinator, re-sent until acked. */
static void
job_report(struct wjob *j, struct msg *m)
{
	node_send(j->ctx->node, m, true);
	msg_clear(m);
}

/* The job is over: the worker takes it off its list and frees it. */
static void
job_gone(struct wjob *j)
{
	j->ctx->gone(j->ctx->arg, j);
}

/* ---- the data plane of a job ---- */

static int
job_publish(void *arg, const uint8_t *buf, size_t len)
{
	struct wjob	*j = arg;

	if (mqtt_publish(j->ctx->node->mqtt, j->topic_out, buf, len) != 0)
		return -1;
	j->last_sent = mqtt_published(j->ctx->node->mqtt);
	return 0;
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
	if (j->stream != NULL)
		stream_hold(j->stream,
		    buf_used(&j->inbuf) > WJOB_STDIN_HIGH_WATER);
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

/*
 * Give the job's process (every thread of it: on Linux a nice value is a
 * thread's) the client's nice value, but never a higher priority than the
 * worker's own.
 */
static void
job_renice(struct wjob *j, int nice)
{
	char		 path[64];
	struct dirent	*de;
	DIR		*d;
	int		 floor, n = 0;

	errno = 0;
	floor = getpriority(PRIO_PROCESS, 0);
	if (errno != 0)
		floor = 0;
	if (nice < floor)
		nice = floor;
	if (nice > 19)
		nice = 19;
	snprintf(path, sizeof(path), "/proc/%ld/task", (long)j->pid);
	if ((d = opendir(path)) == NULL) {
		setpriority(PRIO_PROCESS, (id_t)j->pid, nice);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (setpriority(PRIO_PROCESS, (id_t)atol(de->d_name),
		    nice) == 0)
			n++;
	}
	closedir(d);
	log_info("job %s: nice %d (%d threads)", j->id, nice, n);
}

static void
job_deliver(void *arg, enum frame_kind kind, const uint8_t *data, size_t len)
{
	struct wjob	*j = arg;

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
		if (sigfwd_find(data[0]) != NULL) {
			log_info("job %s: forwarding signal %d", j->id,
			    data[0]);
			kill(j->pid, data[0]);
			if (data[0] == SIGCONT)
				j->paused = false;
			return;
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
	case FK_NICE:
		if (len == 1 && j->spawned && !j->exited)
			job_renice(j, (int8_t)data[0]);
		break;
	case FK_PAUSE:
		/* The proxy is stopped (SIGSTOP, which it cannot forward
		 * itself), or runs again. */
		if (len != 1 || !j->spawned || j->exited ||
		    ((data[0] & FRAME_PAUSE_STOPPED) != 0) == j->paused)
			break;
		/* Being stopped (canceled, or its client gone): it must run
		 * to act on its SIGTERM, whatever the watcher says. */
		if (event_pending(j->ev_kill, EV_TIMEOUT, NULL))
			break;
		j->paused = !j->paused;
		log_info("job %s: the client is %s; %s the process", j->id,
		    j->paused ? "stopped" : "running again",
		    j->paused ? "pausing" : "resuming");
		kill(j->pid, j->paused ? SIGSTOP : SIGCONT);
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
void
wjob_stop(struct wjob *j, const char *why, bool relay)
{
	if (!j->spawned) {
		j->canceled = true;	/* it never starts */
		return;
	}
	if (!j->exited && !event_pending(j->ev_kill, EV_TIMEOUT, NULL)) {
		log_info("job %s: %s; stopping it", j->id, why);
		kill(j->pid, SIGTERM);
		/* A paused (stopped) process acts on it only once continued. */
		kill(j->pid, SIGCONT);
		j->paused = false;
		loop_arm(j->ev_kill, (int)j->grace);
	}
	/* A detached job's stderr still goes to its log: nothing blocks. */
	if (relay || j->detached)
		return;
	job_close_output(j, false);
	job_close_output(j, true);
	job_check_done(j);
}

static void
job_lost(void *arg)
{
	struct wjob	*j = arg;

	if (!j->reported)
		wjob_stop(j, "nothing heard from the client", false);
}

static bool
job_sending(void *arg)
{
	struct wjob	*j = arg;

	return !mqtt_delivered(j->ctx->node->mqtt, j->last_sent);
}

static const struct stream_ops job_stream_ops = {
	job_publish,
	job_deliver,
	job_writable,
	job_lost,
	job_sending,
};

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
		joblog_feed(&j->log, buf, (size_t)n);
	if (j->stream == NULL)
		return;		/* detached: stdout goes nowhere */
	stream_send(j->stream, is_err ? FK_STDERR : FK_STDOUT, buf, (size_t)n);
	if (stream_full(j->stream))
		job_pause_output(j, true);
}

/* Send a log batch (a `log` message, re-sent until acknowledged); text
 * is freed. */
static void
job_ship(struct wjob *j, char *text, int64_t seq, uint64_t skipped)
{
	struct msg	 m;

	msg_init(&m, MT_LOG, j->ctx->node->name);
	msg_set_str(&m, F_JOB, j->id);
	msg_set_int(&m, F_SEQ, seq);
	msg_set_str(&m, F_TEXT, text);
	if (skipped > 0)
		msg_set_int(&m, F_SKIPPED, (int64_t)skipped);
	free(text);
	snprintf(j->log.inflight_id, sizeof(j->log.inflight_id), "%s", m.id);
	job_report(j, &m);
}

void
wjob_ship_log(struct wjob *j, int64_t now)
{
	uint64_t	 skipped;
	int64_t		 seq;
	char		*text;

	if (j->ctx->ship_logs && !j->reported &&
	    (text = joblog_next(&j->log, now, &seq, &skipped)) != NULL)
		job_ship(j, text, seq, skipped);
}

void
wjob_acked(struct wjob *j, const char *id)
{
	joblog_acked(&j->log, id);
}

bool
wjob_progress(const struct wjob *j, char *out, size_t outlen)
{
	if (!j->log.progress.known)
		return false;
	progress_format(&j->log.progress, out, outlen);
	return true;
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
	if (j->stream != NULL && !stream_drained(j->stream) &&
	    mono_ms() - j->reported_at < WJOB_LINGER_MS) {
		loop_arm(j->ev_linger, 200);
		return;
	}
	log_debug("job %s: done", j->id);
	job_gone(j);
}

/* When the child has exited and its output is drained: exit frame and
 * `finished`, then linger until the client has the exit frame. */
static void
job_check_done(struct wjob *j)
{
	uint8_t		 ex[5];
	struct msg	 m;
	struct strmap	 prog = { 0 };
	uint64_t	 skipped;
	int64_t		 seq;
	int		 code, sig;
	char		*rest, ptext[PROGRESS_WIRE_MAX];

	if (j->reported || !j->exited || j->fd_out != -1 || j->fd_err != -1)
		return;
	j->reported = true;
	j->reported_at = mono_ms();
	job_close_stdin(j);
	code = WIFEXITED(j->status) ? WEXITSTATUS(j->status) : -1;
	sig = WIFSIGNALED(j->status) ? WTERMSIG(j->status) : 0;
	if (j->stream != NULL) {
		frame_exit_encode(ex, code, sig);
		stream_send(j->stream, FK_EXIT, ex, sizeof(ex));
	}

	msg_init(&m, MT_FINISHED, j->ctx->node->name);
	msg_set_str(&m, F_JOB, j->id);
	msg_set_int(&m, F_CODE, code);
	msg_set_int(&m, F_SIGNAL, sig);
	msg_set_int(&m, F_BYTES_IN, (int64_t)j->bytes_in);
	msg_set_int(&m, F_BYTES_OUT, (int64_t)j->bytes_out);
	/* What is left of the log goes now, as batches (the report comes
	 * after them, and counts them); not shipping, the report carries
	 * the end of it. */
	while (j->ctx->ship_logs && (rest = joblog_final(&j->log, mono_ms(),
	    &seq, &skipped)) != NULL)
		job_ship(j, rest, seq, skipped);
	rest = joblog_rest(&j->log, &seq, &skipped);
	if (rest != NULL)
		msg_set_str(&m, F_TEXT, rest);
	free(rest);
	msg_set_int(&m, F_SEQ, j->ctx->ship_logs ? seq : 0);
	if (skipped > 0)
		msg_set_int(&m, F_SKIPPED, (int64_t)skipped);
	if (wjob_progress(j, ptext, sizeof(ptext))) {
		strmap_set(&prog, j->id, ptext);
		msg_set_strmap(&m, F_PROGRESS, &prog);
		strmap_free(&prog);
	}
	job_report(j, &m);
	loop_arm(j->ev_linger, j->stream != NULL ? 200 : 0);
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

/* proc_spec.prepare: in the job's process, its Landlock ruleset. */
static int
job_prepare(void *arg, char *why, size_t whylen)
{
	struct wjob	*j = arg;

	return confine_apply(&j->rules, j->ctx->landlock_abi, why, whylen);
}

static void
job_spawn(struct wjob *j)
{
	struct proc_spec	 spec;
	struct msg		 m;
	char			 err[512];
	int			 fds[3];

	memset(&spec, 0, sizeof(spec));
	spec.path = j->path;
	spec.argv = j->argv.v;
	spec.envp = j->env.v;
	spec.cwd = j->cwd;
	if (j->ctx->confine != CONFINE_OFF && j->ctx->landlock_abi > 0) {
		spec.prepare = job_prepare;
		spec.prepare_arg = j;
	}
	if ((j->pid = proc_spawn(&spec, fds, err, sizeof(err))) == -1) {
		wjob_reject(j->ctx->node, j->id, "spawn", err);
		/* The rejection waits in the outbox; the job itself goes at
		 * the next linger tick. */
		j->reported = true;
		j->reported_at = mono_ms() - WJOB_LINGER_MS;
		loop_arm(j->ev_linger, 0);
		return;
	}
	j->spawned = true;
	j->fd_in = fds[0];
	j->fd_out = fds[1];
	j->fd_err = fds[2];
	j->ev_in = event_new(j->ctx->base, j->fd_in, EV_WRITE | EV_PERSIST,
	    job_on_stdin_writable, j);
	j->ev_out = event_new(j->ctx->base, j->fd_out, EV_READ | EV_PERSIST,
	    job_on_output, j);
	j->ev_err = event_new(j->ctx->base, j->fd_err, EV_READ | EV_PERSIST,
	    job_on_output, j);
	event_add(j->ev_out, NULL);
	event_add(j->ev_err, NULL);
	proc_watch(j->ctx->base, j->pid, job_on_exit, j);
	log_info("job %s: started %s (pid %ld)%s", j->id, j->path,
	    (long)j->pid, j->detached ? ", detached" : "");
	if (j->detached)
		job_close_stdin(j);	/* nobody sends any: EOF */

	msg_init(&m, MT_STARTED, j->ctx->node->name);
	msg_set_str(&m, F_JOB, j->id);
	msg_set_int(&m, F_PID, j->pid);
	msg_set_str(&m, F_SESSION, j->ctx->node->session);
	job_report(j, &m);
	if (j->stream != NULL)
		stream_send(j->stream, FK_HELLO, NULL, 0);
}

static void
job_on_subscribed(void *arg, const char *topic, bool ok)
{
	struct wjob	*j = arg;

	(void)topic;
	if (!ok) {
		wjob_reject(j->ctx->node, j->id, "subscribe",
		    "the broker refused the job's input topic (check its ACL)");
		job_gone(j);
		return;
	}
	if (j->canceled && !j->spawned) {
		wjob_reject(j->ctx->node, j->id, "canceled",
		    "canceled before it started");
		job_gone(j);
		return;
	}
	if (!j->spawned && !j->reported)
		job_spawn(j);
	else
		stream_resend(j->stream);
}

void
wjob_free(struct wjob *j)
{
	char	key[BGTASK_KEY_MAX];

	if (j->checking) {
		snprintf(key, sizeof(key), "confine %s", j->id);
		bgtask_cancel(j->ctx->tasks, key);
	}
	if (j->spawned && !j->exited) {
		kill(j->pid, SIGKILL);
		proc_unwatch(j->pid);
	}
	if (j->stream != NULL)
		mqtt_unsubscribe(j->ctx->node->mqtt, j->topic_in);
	job_close_stdin(j);
	job_close_output(j, false);
	job_close_output(j, true);
	event_free(j->ev_kill);
	event_free(j->ev_linger);
	stream_free(j->stream);
	strv_free(&j->argv);
	strv_free(&j->env);
	joblog_free(&j->log);
	free(j->path);
	free(j->cwd);
	confine_rules_free(&j->rules);
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
		/* libva loads <name>_drv_video.so from its driver path: a
		 * name with a path in it would load a client's library. */
		if (strcmp(env->keys[i], "LIBVA_DRIVER_NAME") == 0 &&
		    (!name_valid(env->vals[i], NAME_MAX_LEN) ||
		    strchr(env->vals[i], '.') != NULL)) {
			log_info("job %s: ignored LIBVA_DRIVER_NAME (not a "
			    "driver name)", j->id);
			continue;
		}
		xasprintf(&kv, "%s=%s", env->keys[i], env->vals[i]);
		strv_push(&j->env, kv);
		free(kv);
	}
}


/* Free what wjob_new built before the job existed for the worker. */
static void
job_discard(struct wjob *j)
{
	confine_rules_free(&j->rules);
	strv_free(&j->argv);
	strv_free(&j->env);
	free(j->path);
	free(j->cwd);
	sodium_memzero(j->key, sizeof(j->key));
	free(j);
}

struct wjob *
wjob_new(const struct wjob_ctx *ctx, const struct msg *m, const char *path)
{
	struct stream_params	 sp = { 0, 0, 2000, 15000 };
	struct node		*node = ctx->node;
	struct wjob		*j;
	char			 err[256], *arg;
	size_t			 i;

	j = xcalloc(1, sizeof(*j));
	j->ctx = ctx;
	j->fd_in = j->fd_out = j->fd_err = -1;
	snprintf(j->id, sizeof(j->id), "%s", m->job);
	snprintf(j->binary, sizeof(j->binary), "%s", m->binary);
	j->path = xstrdup(path);
	j->grace = m->present & FBIT(F_GRACE) ? m->grace : ctx->kill_grace;
	if (msg_open_key(node->key, m->key, j->key) == -1) {
		wjob_reject(node, m->job, "key", "the job key does not open");
		goto fail;
	}
	strv_push(&j->argv, m->binary);
	for (i = 0; i < m->args.n; i++) {
		arg = pathmap_expand(ctx->pm, &m->paths, m->args.v[i], err,
		    sizeof(err));
		if (arg == NULL) {
			wjob_reject(node, m->job, "path", err);
			goto fail;
		}
		strv_push(&j->argv, arg);
		free(arg);
	}
	if (m->cwd != NULL && m->cwd[0] != '\0') {
		j->cwd = pathmap_expand(ctx->pm, &m->paths, m->cwd, err,
		    sizeof(err));
		if (j->cwd == NULL) {
			wjob_reject(node, m->job, "path", err);
			goto fail;
		}
	} else
		/* Its client did not know its own (a deleted directory):
		 * not the worker's, where relative names would land. */
		j->cwd = xstrdup("/");
	confine_rules_build(&j->rules, &ctx->pm->roots, &m->paths, j->path,
	    ctx->confine_read, ctx->devices != NULL ?
	    ctx->devices(ctx->arg) : NULL);
	job_build_env(j, &m->env, ctx->forward_env);
	if (topic_fmt(j->topic_in, sizeof(j->topic_in), node->prefix,
	    "job/%s/in", j->id) == -1 || topic_fmt(j->topic_out,
	    sizeof(j->topic_out), node->prefix, "job/%s/out", j->id) == -1) {
		wjob_reject(node, m->job, "topic", "topic too long");
		goto fail;
	}
	j->ev_kill = loop_timer(ctx->base, false, job_on_kill, j);
	j->ev_linger = loop_timer(ctx->base, false, job_on_linger, j);
	joblog_init(&j->log);
	progress_args(&j->log.progress, (int)j->argv.n - 1, j->argv.v + 1);
	j->detached = (m->present & FBIT(F_DETACHED)) && m->detached;
	if (!j->detached)
		j->stream = stream_new(ctx->base, j->key, j->id, true, &sp,
		    &job_stream_ops, j);
	return j;
fail:
	job_discard(j);
	return NULL;
}

/* In a child process: whether the job's paths stay within its roots. */
static int
job_check_work(void *arg, struct buf *out)
{
	struct wjob	*j = arg;
	char		 why[PROC_WHY_MAX];

	if (confine_check(&j->rules, j->argv.v, j->cwd, why,
	    sizeof(why)) == 0)
		return 0;
	buf_add(out, why, strlen(why));
	return -1;
}

/* Its paths were checked: refuse it, or go on to start it. */
static void
job_checked(void *arg, enum bgtask_status st, const char *out, size_t len)
{
	struct wjob	*j = arg;

	(void)len;
	j->checking = false;
	if (st != BGTASK_OK) {
		log_warnx("job %s: refused: %s", j->id, st == BGTASK_TIMEOUT ?
		    "checking its paths timed out" : out);
		wjob_reject(j->ctx->node, j->id, "confine", st ==
		    BGTASK_TIMEOUT ? "checking its paths timed out (does a "
		    "file system not answer?)" : out);
		job_gone(j);
		return;
	}
	if (j->canceled) {
		wjob_reject(j->ctx->node, j->id, "canceled",
		    "canceled before it started");
		job_gone(j);
		return;
	}
	if (j->detached) {
		job_spawn(j);
		return;
	}
	mqtt_subscribe(j->ctx->node->mqtt, j->topic_in, job_on_subscribed, j);
}

void
wjob_start(struct wjob *j)
{
	char	key[BGTASK_KEY_MAX], err[256];

	log_info("job %s: assigned (%s, %zu arguments)", j->id, j->binary,
	    j->argv.n - 1);
	snprintf(key, sizeof(key), "confine %s", j->id);
	if (bgtask_start(j->ctx->tasks, key, CONFINE_CHECK_TIMEOUT_MS,
	    job_check_work, job_checked, j, err, sizeof(err)) == -1) {
		wjob_reject(j->ctx->node, j->id, "confine", err);
		job_gone(j);
		return;
	}
	j->checking = true;
}
