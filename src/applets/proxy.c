/*
 * The ffmpeg / ffprobe persona (design §6.2): a drop-in replacement for the
 * local binary.  It never interprets its arguments.  It submits them as a
 * job, relays stdin to the remote process and the remote stdout and stderr
 * byte for byte to its own, forwards signals, and exits with the remote
 * exit status (re-raising a fatal signal).  It writes nothing of its own
 * to stdout or stderr except one "dffmpeg: ..." line when the job cannot
 * run at all (exit 1); its log goes to log_file or syslog.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/event.h>
#include <sodium.h>

#include "applet.h"
#include "bounds.h"
#include "caps.h"
#include "frame.h"
#include "jobspec.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "msg.h"
#include "node.h"
#include "outbox.h"
#include "paths.h"
#include "proc.h"
#include "settings.h"
#include "sigfwd.h"
#include "sink.h"
#include "source.h"
#include "stopwatch.h"
#include "stream.h"
#include "util.h"
#include "xmalloc.h"

#define EARLY_FRAMES_MAX	64	/* frames before the job key */
#define OUT_HIGH_WATER		(256 * 1024)
#define SUBMIT_RESEND_MS	1000
#define STATUS_POLL_MS		3000
#define FINISHED_GRACE_MS	5000
#define LOST_CANCEL_MS		2000	/* wait for the cancel's ack */
#define TICK_MS			100
#define STOP_DELAY_MS		20	/* the forwarded TSTP goes out first */
#define NICE_CHECK_MS		1000

struct proxy {
	struct event_base	*base;
	struct client_conf	 conf;
	struct pathmap		 pm;
	struct node		 node;
	struct jobspec		 spec;
	char			 job[ID_BUF];
	char			 topic_out[256];
	char			 topic_in[256];
	uint64_t		 last_sent;	/* mqtt_published() of ours */
	int			 argc;
	char			**argv;		/* original, for the fallback */

	bool			 out_subscribed;
	int64_t			 started;	/* mono ms */
	int64_t			 next_submit;
	bool			 was_ready;	/* ready before: a reconnect */
	bool			 answered;
	bool			 accepted;
	uint8_t			 key[KEY_LEN];
	struct stream		*stream;
	uint8_t			*early[EARLY_FRAMES_MAX];
	size_t			 early_len[EARLY_FRAMES_MAX];
	size_t			 nearly;
	bool			 early_dropped;
	bool			 hello;

	struct source		 in;		/* stdin, once the remote runs */
	struct sink		 out[2];	/* stdout, stderr */
	bool			 exit_seen;
	int			 exit_code;
	int			 exit_sig;
	int64_t			 finished_at;	/* `finished` seen, mono ms */
	int64_t			 last_frame;	/* mono ms */
	int			 finished_code, finished_sig;
	bool			 closing;
	int64_t			 lost_at;	/* worker lost, cancel sent */
	int64_t			 queued_at;	/* first `queued`, mono ms */

	struct event		*ev_tick;
	struct event		*ev_sig[SIGFWD_MAX];
	struct event		*ev_stop;	/* stops us after a TSTP */
	struct stopwatch	 watch;		/* pauses the remote on SIGSTOP */
	struct event		*ev_watch;	/* starts it */
	int			 nice;		/* last sent to the remote */
	int64_t			 nice_checked;	/* mono ms */
	const char		*failure;	/* set: print and exit 1 */
	char			 failbuf[512];
	bool			 fallback;
	int			 probe;		/* caps_output_kind asked of the
						   coordinator, -1: none */
	bool			 hide_banner;
};

static void	(*caller_chld)(int) = SIG_ERR;

static void	proxy_try_finish(struct proxy *);
static void	proxy_maybe_submit(struct proxy *);
static void	proxy_fail(struct proxy *, bool, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* ---- outputs ---- */

static void
proxy_update_hold(struct proxy *p)
{
	if (p->stream != NULL)
		stream_hold(p->stream, sink_queued(&p->out[0]) +
		    sink_queued(&p->out[1]) > OUT_HIGH_WATER);
}

static void
output_broken(void *arg, int fd, int err)
{
	struct proxy	*p = arg;
	uint8_t		 which = fd == STDOUT_FILENO ? 1 : 2;

	log_warnx("%s: %s; discarding the rest", which == 1 ? "stdout" :
	    "stderr", strerror(err));
	/* The remote process must meet the same closed pipe a local one
	 * would. */
	if (p->stream != NULL && !p->exit_seen)
		stream_send(p->stream, FK_CLOSED, &which, 1);
}

static void
output_drained(void *arg)
{
	struct proxy	*p = arg;

	proxy_update_hold(p);
	proxy_try_finish(p);
}

static const struct sink_ops output_ops = {
	output_broken,
	output_drained,
};

static void
output_write(struct proxy *p, int idx, const uint8_t *data, size_t len)
{
	sink_write(&p->out[idx], data, len);
	proxy_update_hold(p);
}

/* ---- stdin ---- */

static void
stdin_data(void *arg, const uint8_t *data, size_t len)
{
	struct proxy	*p = arg;

	stream_send(p->stream, FK_STDIN, data, len);
}

static void
stdin_eof(void *arg)
{
	struct proxy	*p = arg;

	stream_send(p->stream, FK_STDIN_EOF, NULL, 0);
}

/* Hold stdin back while the window is full, and for good once the remote
 * process has exited. */
static bool
stdin_full(void *arg)
{
	struct proxy	*p = arg;

	return p->exit_seen || stream_full(p->stream);
}

static const struct source_ops stdin_ops = {
	stdin_data,
	stdin_eof,
	stdin_full,
};

/* ---- the data plane ---- */

static int
proxy_publish(void *arg, const uint8_t *buf, size_t len)
{
	struct proxy	*p = arg;

	if (mqtt_publish(p->node.mqtt, p->topic_in, buf, len) != 0)
		return -1;
	p->last_sent = mqtt_published(p->node.mqtt);
	return 0;
}

/* Our nice value goes to the remote process: at hello, and whenever it
 * changed (renice), checked every NICE_CHECK_MS. */
static void
proxy_send_nice(struct proxy *p, bool always)
{
	int8_t	v;
	int	n;

	p->nice_checked = mono_ms();
	errno = 0;
	n = getpriority(PRIO_PROCESS, 0);
	if (errno != 0 || (!always && n == p->nice))
		return;
	p->nice = n;
	v = (int8_t)n;
	stream_send(p->stream, FK_NICE, &v, 1);
	log_debug("job %s: nice %d", p->job, n);
}

static void
proxy_deliver(void *arg, enum frame_kind kind, const uint8_t *data,
    size_t len)
{
	struct proxy	*p = arg;

	switch (kind) {
	case FK_HELLO:
		if (!p->hello) {
			p->hello = true;
			proxy_send_nice(p, true);
			log_debug("job %s: the remote process runs", p->job);
			loop_arm(p->ev_watch, STOPWATCH_DELAY_MS);
			source_start(&p->in, p->base, STDIN_FILENO,
			    FRAME_MAX_PAYLOAD, &stdin_ops, p);
		}
		break;
	case FK_STDOUT:
		output_write(p, 0, data, len);
		break;
	case FK_STDERR:
		output_write(p, 1, data, len);
		break;
	case FK_EXIT:
		if (frame_exit_decode(data, len, &p->exit_code,
		    &p->exit_sig) == -1) {
			p->exit_code = 1;
			p->exit_sig = 0;
		}
		p->exit_seen = true;
		log_info("job %s: remote exit code %d signal %d", p->job,
		    p->exit_code, p->exit_sig);
		proxy_try_finish(p);
		break;
	default:
		break;
	}
}

static void
proxy_writable(void *arg)
{
	struct proxy	*p = arg;

	source_resume(&p->in);
}

/*
 * The worker stops the job when it stops hearing from us; when we stop
 * hearing from it, the job is as good as gone.  But a worker that is only
 * cut off or frozen keeps running it, and our clean disconnect fires no
 * will: cancel the job at the coordinator, which makes the worker stop it
 * when it is back.  The cancel is reliable; proxy_tick gives up when it is
 * acknowledged or after LOST_CANCEL_MS.
 */
static void
proxy_lost(void *arg)
{
	struct proxy	*p = arg;
	struct msg	 m;

	if (!p->hello || p->exit_seen || p->lost_at != 0 || p->closing)
		return;
	p->lost_at = mono_ms();
	log_warnx("job %s: lost contact with the worker; canceling the job",
	    p->job);
	msg_init(&m, MT_CANCEL, p->node.name);
	msg_set_str(&m, F_JOB, p->job);
	msg_set_str(&m, F_SESSION, p->node.session);
	node_send(&p->node, &m, true);
	msg_clear(&m);
}

static bool
proxy_sending(void *arg)
{
	struct proxy	*p = arg;

	return !mqtt_delivered(p->node.mqtt, p->last_sent);
}

static const struct stream_ops proxy_stream_ops = {
	proxy_publish,
	proxy_deliver,
	proxy_writable,
	proxy_lost,
	proxy_sending,
};

/* ---- ending ---- */

static void
proxy_closed(void *arg)
{
	struct proxy	*p = arg;

	event_base_loopexit(p->base, NULL);
}

static void
proxy_end(struct proxy *p)
{
	if (p->closing)
		return;
	p->closing = true;
	if (p->stream != NULL)
		stream_flush_ack(p->stream);
	node_shutdown(&p->node, false, proxy_closed, p);
}

/* The job cannot run: one line on stderr (or the fallback), exit 1. */
static void
proxy_fail(struct proxy *p, bool may_fallback, const char *fmt, ...)
{
	va_list	ap;

	if (p->failure != NULL || p->closing)
		return;
	va_start(ap, fmt);
	vsnprintf(p->failbuf, sizeof(p->failbuf), fmt, ap);
	va_end(ap);
	p->failure = p->failbuf;
	p->fallback = may_fallback && !p->hello &&
	    strmap_get(&p->conf.fallback, p->spec.binary) != NULL;
	log_warnx("job %s: %s", p->job, p->failure);
	proxy_end(p);
}

static void
proxy_try_finish(struct proxy *p)
{
	/* Once the worker is given up, late frames do not change the end:
	 * its exit would be our cancel's doing. */
	if (p->lost_at != 0)
		return;
	if (!p->exit_seen || sink_queued(&p->out[0]) > 0 ||
	    sink_queued(&p->out[1]) > 0)
		return;
	proxy_end(p);
}

/* ---- the control plane ---- */

static void
proxy_submit(struct proxy *p)
{
	struct msg	m;

	msg_init(&m, MT_SUBMIT, p->node.name);
	msg_set_str(&m, F_JOB, p->job);
	msg_set_str(&m, F_SESSION, p->node.session);
	msg_set_str(&m, F_BINARY, p->spec.binary);
	msg_set_strv(&m, F_ARGS, &p->spec.args);
	if (p->spec.cwd != NULL)
		msg_set_str(&m, F_CWD, p->spec.cwd);
	msg_set_strmap(&m, F_ENV, &p->spec.env);
	msg_set_strv(&m, F_PATHS, &p->spec.paths);
	msg_set_bool(&m, F_INTERACTIVE, isatty(STDIN_FILENO));
	/* Without a fallback a job no worker could run still runs, for
	 * ffmpeg's own error (design §6.2). */
	msg_set_bool(&m, F_FALLBACK, strmap_get(&p->conf.fallback,
	    p->spec.binary) != NULL);
	if (node_send(&p->node, &m, false) == -2)
		proxy_fail(p, false, "the command line is too long to send "
		    "(more than %d bytes)", MSG_MAX_BYTES);
	msg_clear(&m);
	p->next_submit = mono_ms() + (p->answered ? STATUS_POLL_MS :
	    SUBMIT_RESEND_MS);
}

static void
proxy_query(struct proxy *p)
{
	struct msg	m;

	msg_init(&m, MT_QUERY, p->node.name);
	msg_set_str(&m, F_WHAT, "probe");
	msg_set_str(&m, F_TARGET, caps_output_opt(p->probe));
	msg_set_str(&m, F_SESSION, p->node.session);
	node_send(&p->node, &m, false);
	msg_clear(&m);
	p->next_submit = mono_ms() + SUBMIT_RESEND_MS;
}

/* The coordinator's answer to a probe: its bytes and status as ours, or
 * (nobody has it) the probe runs as a job after all. */
static void
proxy_probe_answer(struct proxy *p, const struct msg *m)
{
	cJSON	*data = NULL, *out, *err;

	if ((m->present & FBIT(F_STATE)) && strcmp(m->state, "answered") == 0 &&
	    (m->present & FBIT(F_DATA)) && (m->present & FBIT(F_CODE)) &&
	    (data = cJSON_Parse(m->data)) != NULL &&
	    cJSON_IsString(out = cJSON_GetObjectItemCaseSensitive(data,
	    "stdout")) &&
	    cJSON_IsString(err = cJSON_GetObjectItemCaseSensitive(data,
	    "stderr"))) {
		log_info("job %s: %s answered from what %s printed", p->job,
		    caps_output_opt(p->probe), m->present & FBIT(F_WORKER) ?
		    m->worker : "a worker");
		p->answered = true;
		/* ffmpeg prints its banner before the listing. */
		if (!p->hide_banner)
			output_write(p, 1, (const uint8_t *)err->valuestring,
			    strlen(err->valuestring));
		output_write(p, 0, (const uint8_t *)out->valuestring,
		    strlen(out->valuestring));
		p->exit_seen = true;
		p->exit_code = m->code < 0 || m->code > 255 ? 1 : (int)m->code;
		p->exit_sig = 0;
		cJSON_Delete(data);
		proxy_try_finish(p);
		return;
	}
	cJSON_Delete(data);
	log_info("job %s: no answer to %s; running it", p->job,
	    caps_output_opt(p->probe));
	p->probe = -1;
	p->next_submit = 0;
	proxy_maybe_submit(p);
}

static void
proxy_maybe_submit(struct proxy *p)
{
	if (!p->node.ready || p->hello || p->closing || p->exit_seen ||
	    mono_ms() < p->next_submit)
		return;
	if (p->probe >= 0)
		proxy_query(p);
	else if (p->out_subscribed)
		proxy_submit(p);
}

static void
proxy_on_out_sub(void *arg, const char *topic, bool ok)
{
	struct proxy	*p = arg;

	(void)topic;
	if (!ok) {
		proxy_fail(p, true, "the broker refused the job's output "
		    "topic (check its ACL)");
		return;
	}
	p->out_subscribed = true;
	if (p->stream != NULL)
		stream_resend(p->stream);
	p->next_submit = 0;
	proxy_maybe_submit(p);
}

static void
proxy_ready(void *arg)
{
	struct proxy	*p = arg;
	bool		 reconnect = p->was_ready;

	p->was_ready = true;
	p->next_submit = 0;
	proxy_maybe_submit(p);
	/* After a reconnect a running job is announced again (same id, so
	 * the coordinator only answers `accepted` again, which
	 * proxy_accepted ignores): the coordinator learns the session's new
	 * connection.  Before hello proxy_maybe_submit re-sends it anyway. */
	if (reconnect && p->hello && !p->exit_seen && p->lost_at == 0 &&
	    !p->closing) {
		log_debug("job %s: reconnected; announcing the job again",
		    p->job);
		proxy_submit(p);
	}
	/* The stream is re-sent once the job's output topic is renewed
	 * (proxy_on_out_sub), so that the worker's answer is not lost. */
}

static void
proxy_accepted(struct proxy *p, const struct msg *m)
{
	struct stream_params	sp = { 0, 0, 2000, 15000 };
	uint8_t			key[KEY_LEN];
	size_t			i;

	p->answered = true;
	if (msg_open_key(p->node.key, m->key, key) == -1) {
		proxy_fail(p, false, "the job key from the coordinator does "
		    "not open");
		return;
	}
	if (p->accepted && (p->hello || sodium_memcmp(key, p->key,
	    KEY_LEN) == 0)) {
		sodium_memzero(key, sizeof(key));
		return;		/* a repeated answer */
	}
	if (p->accepted) {
		/* Placed again (taken back from a worker that did not start
		 * it): a new key, a new stream; what the new worker sent
		 * meanwhile failed the old key, so ask for it again. */
		log_info("job %s: placed again, now on %s", p->job, m->worker);
		stream_free(p->stream);
		p->stream = NULL;
		p->early_dropped = true;
	}
	memcpy(p->key, key, KEY_LEN);
	sodium_memzero(key, sizeof(key));
	p->accepted = true;
	log_info("job %s: accepted, runs on %s", p->job, m->worker);
	p->stream = stream_new(p->base, p->key, p->job, false, &sp,
	    &proxy_stream_ops, p);
	for (i = 0; i < p->nearly; i++) {
		stream_input(p->stream, p->early[i], p->early_len[i]);
		free(p->early[i]);
	}
	p->nearly = 0;
	if (p->early_dropped)
		stream_resend(p->stream);
}

static void
proxy_control(void *arg, const struct msg *m)
{
	struct proxy	*p = arg;

	if ((m->present & FBIT(F_JOB)) && strcmp(m->job, p->job) != 0)
		return;
	switch (m->type) {
	case MT_ACCEPTED:
		proxy_accepted(p, m);
		break;
	case MT_QUEUED:
		if (!p->answered)
			log_info("job %s: queued", p->job);
		p->answered = true;
		if (p->queued_at == 0 && !p->accepted)
			p->queued_at = mono_ms();
		break;
	case MT_REFUSED:
		proxy_fail(p, true, "%s", m->present & FBIT(F_TEXT) ?
		    m->text : m->reason);
		break;
	case MT_FAILED:
		proxy_fail(p, false, "%s", m->present & FBIT(F_TEXT) ?
		    m->text : m->reason);
		break;
	case MT_REPLY:
		if (p->probe >= 0 && !p->answered)
			proxy_probe_answer(p, m);
		break;
	case MT_FINISHED:
		if (p->finished_at == 0) {
			p->finished_at = mono_ms();
			p->finished_code = (int)m->code;
			p->finished_sig = (int)m->signal;
		}
		break;
	default:
		break;
	}
}

static void
proxy_data(void *arg, const char *topic, const uint8_t *payload, size_t len)
{
	struct proxy	*p = arg;

	if (strcmp(topic, p->topic_out) != 0 || len > FRAME_MAX_SEALED)
		return;
	p->last_frame = mono_ms();
	if (p->stream != NULL) {
		stream_input(p->stream, payload, len);
		return;
	}
	/* The worker can be faster than our `accepted`: keep a few. */
	if (p->nearly < EARLY_FRAMES_MAX) {
		p->early[p->nearly] = xmemdup(payload, len);
		p->early_len[p->nearly++] = len;
	} else
		p->early_dropped = true;
}

/* The connection is gone: both subscriptions must be renewed before
 * anything is sent again. */
static void
proxy_lost_broker(void *arg)
{
	struct proxy	*p = arg;

	p->out_subscribed = false;
}

static const struct node_ops proxy_node_ops = {
	proxy_ready,
	proxy_lost_broker,
	proxy_control,
	proxy_data,
};

/* Take back a job that does not run yet (its cancel leaves before our
 * clean disconnect completes: mqtt_shutdown waits for its PUBACK). */
static void
proxy_withdraw(struct proxy *p)
{
	struct msg	m;

	msg_init(&m, MT_CANCEL, p->node.name);
	msg_set_str(&m, F_JOB, p->job);
	msg_set_str(&m, F_SESSION, p->node.session);
	node_send(&p->node, &m, false);
	msg_clear(&m);
}

static void
proxy_tick(evutil_socket_t fd, short what, void *arg)
{
	struct proxy	*p = arg;
	int64_t		 now = mono_ms();

	(void)fd;
	(void)what;
	if (p->closing)
		return;
	if (p->lost_at != 0) {
		if (outbox_pending(p->node.outbox) == 0 ||
		    now - p->lost_at >= LOST_CANCEL_MS) {
			if (outbox_pending(p->node.outbox) > 0)
				log_warnx("job %s: the coordinator did not "
				    "acknowledge the cancel", p->job);
			else
				log_info("job %s: the coordinator "
				    "acknowledged the cancel", p->job);
			proxy_fail(p, false, "lost contact with the worker "
			    "running the job");
		}
		return;
	}
	if (!p->answered && now - p->started > p->conf.connect_timeout) {
		char	where[512];

		/* Say which it was: the broker, the key, or the coordinator
		 * behind. */
		if (mqtt_is_connected(p->node.mqtt) && p->node.mac_failed > 0)
			proxy_fail(p, true, "the coordinator holds another "
			    "hmac_key for '%s' (its answers do not verify with "
			    "ours)", p->node.name);
		else if (mqtt_is_connected(p->node.mqtt))
			proxy_fail(p, true, "no coordinator answered within "
			    "%lld ms (broker %s)",
			    (long long)p->conf.connect_timeout,
			    mqtt_conf_where(&p->conf.mqtt, where,
			    sizeof(where)));
		else
			proxy_fail(p, true, "%s", *mqtt_last_error(p->node.mqtt) ?
			    mqtt_last_error(p->node.mqtt) : "the broker did not "
			    "answer our connection");
		return;
	}
	if (p->queued_at != 0 && !p->accepted && strmap_get(&p->conf.fallback,
	    p->spec.binary) != NULL &&
	    now - p->queued_at >= p->conf.fallback_after) {
		proxy_withdraw(p);
		proxy_fail(p, true, "no worker took the job within %lld ms",
		    (long long)p->conf.fallback_after);
		return;
	}
	/* `finished` can overtake the stream (after a reconnect, the data
	 * is re-sent after it): only a stream that has gone quiet is over. */
	if (p->finished_at != 0 && !p->exit_seen &&
	    now - p->finished_at > FINISHED_GRACE_MS &&
	    now - p->last_frame > FINISHED_GRACE_MS) {
		log_warnx("job %s: finished, but its exit frame never came",
		    p->job);
		p->exit_seen = true;
		p->exit_code = p->finished_code;
		p->exit_sig = p->finished_sig;
		proxy_try_finish(p);
		return;
	}
	if (p->hello && !p->exit_seen && now - p->nice_checked >= NICE_CHECK_MS)
		proxy_send_nice(p, false);
	proxy_maybe_submit(p);
}

static void
proxy_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct proxy	*p = arg;
	const struct sigfwd *f = sigfwd_find((int)sig);
	uint8_t		 s = (uint8_t)sig;

	(void)what;
	log_info("job %s: signal %d", p->job, (int)sig);
	if (p->exit_seen)
		return;		/* the remote process is gone already */
	if (p->stream != NULL && p->hello)
		stream_send(p->stream, FK_SIGNAL, &s, 1);
	if (f == NULL || f->kind == SIGFWD_CONT)
		return;
	if (f->kind == SIGFWD_STOP) {
		/* Stop as a local process would, once the frame is out. */
		loop_arm(p->ev_stop, STOP_DELAY_MS);
		return;
	}
	if (p->stream != NULL && p->hello)
		return;
	/* Nothing runs yet: withdraw the job and die of the signal. */
	proxy_withdraw(p);
	p->exit_seen = true;
	p->exit_code = -1;
	p->exit_sig = (int)sig;
	proxy_end(p);
}

static void
proxy_on_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	raise(SIGSTOP);
}

static void
proxy_on_watch(evutil_socket_t fd, short what, void *arg)
{
	struct proxy	*p = arg;

	(void)fd;
	(void)what;
	if (!p->exit_seen && !p->closing)
		stopwatch_start(&p->watch, &p->conf.mqtt, p->conf.client_id,
		    p->node.prefix, p->key, p->job);
}

static void
proxy_exec_fallback(struct proxy *p)
{
	const char	*path = strmap_get(&p->conf.fallback, p->spec.binary);
	char		**argv;
	int		  i;

	log_warnx("job %s: running the local fallback %s instead: %s",
	    p->job, path, p->failure);
	argv = xcalloc((size_t)p->argc + 2, sizeof(*argv));
	argv[0] = p->spec.binary;
	for (i = 0; i < p->argc; i++)
		argv[i + 1] = p->argv[i];
	signal(SIGPIPE, SIG_DFL);	/* as a local ffmpeg would start */
	if (caller_chld != SIG_ERR)
		signal(SIGCHLD, caller_chld);
	execv(path, argv);
	fprintf(stderr, "dffmpeg: %s; the fallback %s failed: %s\n",
	    p->failure, path, strerror(errno));
	exit(1);
}

static void
proxy_cleanup(struct proxy *p)
{
	size_t	i;
	int	k;

	stopwatch_end(&p->watch);
	for (k = 0; k < 2; k++)
		sink_free(&p->out[k]);
	source_free(&p->in);
	for (i = 0; i < p->nearly; i++)
		free(p->early[i]);
	for (k = 0; k < SIGFWD_MAX; k++)
		if (p->ev_sig[k] != NULL)
			event_free(p->ev_sig[k]);
	if (p->ev_stop != NULL)
		event_free(p->ev_stop);
	if (p->ev_watch != NULL)
		event_free(p->ev_watch);
	if (p->ev_tick != NULL)
		event_free(p->ev_tick);
	stream_free(p->stream);
	node_free(&p->node);
	jobspec_free(&p->spec);
	pathmap_free(&p->pm);
	sodium_memzero(p->key, sizeof(p->key));
	if (p->base != NULL)
		event_base_free(p->base);
}

int
proxy_main(int argc, char **argv)
{
	struct proxy	 p;
	char		 err[1024];
	const char	*name = argv[0];
	size_t		 i;
	int		 k, code, sig;
	bool		 known = strcmp(name, "ffmpeg") == 0 ||
			    strcmp(name, "ffprobe") == 0;

	memset(&p, 0, sizeof(p));
	/* A caller that ignores SIGCHLD passes that on through exec; our
	 * stop watcher must stay ours to reap (and to kill) until we do.
	 * The fallback gets the caller's disposition back. */
	caller_chld = signal(SIGCHLD, SIG_DFL);
	if (sodium_init() < 0) {
		fprintf(stderr, "dffmpeg: libsodium failed to initialise\n");
		return 1;
	}
	log_init("dffmpeg-proxy", LOG_SINK_NONE, NULL);
	if (settings_load_client(NULL, &p.conf, err, sizeof(err)) == -1) {
		if (!known) {
			fprintf(stderr, "dffmpeg: %s: applet not found\n",
			    name);
			return EXIT_NOT_FOUND;
		}
		fprintf(stderr, "dffmpeg: %s\n", err);
		return 1;
	}
	if (!known && !strv_contains(&p.conf.binaries, name)) {
		fprintf(stderr, "dffmpeg: %s: applet not found\n", name);
		settings_free_client(&p.conf);
		return EXIT_NOT_FOUND;
	}
	if (p.conf.log_file != NULL)
		log_init("dffmpeg-proxy", LOG_SINK_FILE, p.conf.log_file);
	else
		log_init_default("dffmpeg-proxy", "proxy.log");
	if (p.conf.log_level != NULL) {
		enum log_level	level;

		if (log_level_parse(p.conf.log_level, &level) == 0)
			log_set_level(level);
	}
	p.argc = argc - 1;
	p.argv = argv + 1;
	if (pathmap_init(&p.pm, &p.conf.paths, err, sizeof(err)) == -1 ||
	    jobspec_build(&p.spec, &p.pm, name, argc - 1, argv + 1, NULL,
	    &p.conf.forward_env, err, sizeof(err)) == -1) {
		fprintf(stderr, "dffmpeg: %s\n", err);
		proxy_cleanup(&p);
		settings_free_client(&p.conf);
		return 1;
	}
	id_new(p.job);
	p.probe = caps_output_args(p.spec.binary, p.argc, p.argv,
	    &p.hide_banner);
	loop_tune_malloc();
	p.base = loop_new();
	if (node_init(&p.node, p.base, &p.conf.mqtt, p.conf.client_id,
	    p.conf.key, true, &proxy_node_ops, &p, err, sizeof(err)) == -1) {
		fprintf(stderr, "dffmpeg: %s\n", err);
		proxy_cleanup(&p);
		settings_free_client(&p.conf);
		return 1;
	}
	topic_fmt(p.topic_out, sizeof(p.topic_out), p.node.prefix,
	    "job/%s/out", p.job);
	topic_fmt(p.topic_in, sizeof(p.topic_in), p.node.prefix,
	    "job/%s/in", p.job);
	log_info("job %s: %s with %d arguments", p.job, name, argc - 1);
	sink_init(&p.out[0], p.base, STDOUT_FILENO, &output_ops, &p);
	sink_init(&p.out[1], p.base, STDERR_FILENO, &output_ops, &p);
	mqtt_subscribe(p.node.mqtt, p.topic_out, proxy_on_out_sub, &p);
	for (i = 0, k = 0; i < sigfwd_count; i++)
		if (sigfwd_table[i].catchable)
			p.ev_sig[k++] = loop_signal(p.base, sigfwd_table[i].sig,
			    proxy_on_signal, &p);
	p.ev_stop = loop_timer(p.base, false, proxy_on_stop, &p);
	p.ev_watch = loop_timer(p.base, false, proxy_on_watch, &p);
	p.ev_tick = loop_timer(p.base, true, proxy_tick, &p);
	loop_arm(p.ev_tick, TICK_MS);
	p.started = mono_ms();
	node_start(&p.node);
	event_base_dispatch(p.base);

	code = p.exit_code;
	sig = p.exit_sig;
	if (p.failure != NULL) {
		if (p.fallback)
			proxy_exec_fallback(&p);
		/* On a line of its own, even after remote progress output. */
		fprintf(stderr, "%sdffmpeg: %s\n", p.out[1].last != '\0' &&
		    p.out[1].last != '\n' ? "\n" : "", p.failure);
		code = 1;
		sig = 0;
	}
	proxy_cleanup(&p);
	settings_free_client(&p.conf);
	log_close();
	if (sig > 0)
		proc_die_of(sig);	/* as the remote process did */
	return code < 0 ? 1 : code;
}
