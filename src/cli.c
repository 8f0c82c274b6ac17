/*
 * Requests of the command-line applets to the coordinator.  See cli.h.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "cli.h"
#include "log.h"
#include "loop.h"
#include "mqtt.h"
#include "outbox.h"
#include "settings.h"
#include "util.h"
#include "xmalloc.h"

#define SUBMIT_RESEND_MS	1000

void
cli_err(const struct cli *c, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "%s: ", c->prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
cli_reply_free(struct cli_reply *r)
{
	free(r->text);
	free(r->state);
	free(r->worker);
	free(r->reason);
	cJSON_Delete(r->doc);
	memset(r, 0, sizeof(*r));
}

static char *
dup_field(const struct msg *m, enum msg_field f, char *s)
{
	return (m->present & FBIT(f)) && s != NULL ? xstrdup(s) : NULL;
}

static void
cli_control(void *arg, const struct msg *m)
{
	struct cli	*c = arg;
	struct cli_reply *r = &c->reply;

	if (c->got)
		return;
	if (!((c->want_ref[0] != '\0' && (m->present & FBIT(F_REF)) &&
	    strcmp(m->ref, c->want_ref) == 0) ||
	    (c->want_job[0] != '\0' && (m->present & FBIT(F_JOB)) &&
	    strcmp(m->job, c->want_job) == 0 && (m->type == MT_ACCEPTED ||
	    m->type == MT_QUEUED || m->type == MT_REFUSED))))
		return;
	memset(r, 0, sizeof(*r));
	r->type = m->type;
	r->has_code = (m->present & FBIT(F_CODE)) != 0;
	r->code = m->code;
	r->position = m->position;
	r->text = dup_field(m, F_TEXT, m->text);
	r->state = dup_field(m, F_STATE, m->state);
	r->worker = dup_field(m, F_WORKER, m->worker);
	r->reason = dup_field(m, F_REASON, m->reason);
	if ((m->present & FBIT(F_DATA)) && m->data != NULL)
		r->doc = cJSON_Parse(m->data);
	c->got = true;
	event_base_loopbreak(c->base);
}

static void
cli_ready(void *arg)
{
	struct cli	*c = arg;

	/* A submit waiting for the connection goes out now. */
	c->ready = true;
	event_base_loopbreak(c->base);
}

static const struct node_ops cli_node_ops = {
	cli_ready,
	NULL,
	cli_control,
	NULL,
};

static void
cli_on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct cli	*c = arg;

	(void)fd;
	(void)what;
	c->timed_out = true;
	event_base_loopbreak(c->base);
}

static void
cli_on_wake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(((struct cli *)arg)->base);
}

static void
cli_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct cli	*c = arg;

	(void)sig;
	(void)what;
	c->interrupted = true;
	event_base_loopbreak(c->base);
}

int
cli_open(struct cli *c, const char *prog, const struct mqtt_conf *conf,
    const char *name, const uint8_t key[KEY_LEN], char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->prog = prog;
	c->base = loop_new();
	mqtt_conf_where(conf, c->broker, sizeof(c->broker));
	if (node_init(&c->node, c->base, conf, name, key, true, &cli_node_ops,
	    c, err, errlen) != 0) {
		event_base_free(c->base);
		c->base = NULL;
		return -1;
	}
	c->ev_timeout = loop_timer(c->base, false, cli_on_timeout, c);
	c->ev_wake = loop_timer(c->base, false, cli_on_wake, c);
	c->ev_sig[0] = loop_signal(c->base, SIGINT, cli_on_signal, c);
	c->ev_sig[1] = loop_signal(c->base, SIGTERM, cli_on_signal, c);
	node_start(&c->node);
	return 0;
}

static void
cli_closed(void *arg)
{
	((struct cli *)arg)->closed = true;
}

void
cli_close(struct cli *c)
{
	if (c->base == NULL)
		return;
	/* Whatever is still queued for the coordinator leaves first. */
	c->closed = false;
	node_shutdown(&c->node, false, cli_closed, c);
	while (!c->closed)
		event_base_loop(c->base, EVLOOP_ONCE);
	event_free(c->ev_timeout);
	event_free(c->ev_wake);
	event_free(c->ev_sig[0]);
	event_free(c->ev_sig[1]);
	node_free(&c->node);
	cli_reply_free(&c->reply);
	event_base_free(c->base);
	c->base = NULL;
}

/* Why nothing answered, as precisely as we can tell. */
static void
cli_silence(struct cli *c)
{
	if (c->node.mac_failed > 0)
		cli_err(c, "the coordinator holds another key for '%s' (its "
		    "answers do not verify with ours)", c->node.name);
	else if (mqtt_is_connected(c->node.mqtt))
		cli_err(c, "no coordinator answered within %d s (broker %s)",
		    CLI_TIMEOUT_MS / 1000, c->broker);
	else if (*mqtt_last_error(c->node.mqtt) != '\0')
		cli_err(c, "%s", mqtt_last_error(c->node.mqtt));
	else
		cli_err(c, "the broker at %s did not answer our connection",
		    c->broker);
}

/* Run the loop until the answer, the time limit or a signal. */
static int
cli_wait(struct cli *c, struct msg *resend, int64_t every)
{
	int64_t	deadline = mono_ms() + CLI_TIMEOUT_MS, now, next = 0;

	c->timed_out = false;
	while (!c->got && !c->interrupted && !c->timed_out) {
		now = mono_ms();
		if (now >= deadline)
			break;
		if (resend != NULL) {
			if (c->node.ready && now >= next) {
				resend->ts = now_ms();
				node_send(&c->node, resend, false);
				next = now + every;
			}
			loop_arm(c->ev_timeout, (int)(deadline - now < every ?
			    deadline - now : every));
		} else
			loop_arm(c->ev_timeout, (int)(deadline - now));
		event_base_dispatch(c->base);
		if (c->timed_out && resend != NULL && mono_ms() < deadline)
			c->timed_out = false;	/* time to send it again */
	}
	event_del(c->ev_timeout);
	if (c->got)
		return 0;
	if (c->interrupted)
		return -2;
	if (!c->quiet)
		cli_silence(c);
	return -1;
}

static void
cli_take(struct cli *c, struct cli_reply *out)
{
	*out = c->reply;
	memset(&c->reply, 0, sizeof(c->reply));
	c->got = false;
	c->want_ref[0] = c->want_job[0] = '\0';
}

int
cli_request(struct cli *c, struct msg *req, struct cli_reply *out)
{
	int	rc;

	memset(out, 0, sizeof(*out));
	cli_reply_free(&c->reply);
	c->got = false;
	c->want_job[0] = '\0';
	snprintf(c->want_ref, sizeof(c->want_ref), "%s", req->id);
	msg_set_str(req, F_SESSION, c->node.session);
	if (node_send(&c->node, req, true) == -2) {
		cli_err(c, "the request is too large to send");
		msg_clear(req);
		return -1;
	}
	msg_clear(req);
	rc = cli_wait(c, NULL, 0);
	/* Answered or not: stop sending it. */
	outbox_done(c->node.outbox, c->want_ref);
	if (rc == 0)
		cli_take(c, out);
	c->want_ref[0] = '\0';
	return rc;
}

int
cli_query(struct cli *c, struct msg *req, struct cJSON **doc)
{
	struct cli_reply	r;
	int			rc;

	*doc = NULL;
	if ((rc = cli_request(c, req, &r)) != 0)
		return rc;
	if (r.has_code && r.code != 0) {
		cli_err(c, "%s", r.text != NULL ? r.text : "refused");
		cli_reply_free(&r);
		return -1;
	}
	if (r.doc == NULL) {
		cli_err(c, "the coordinator's answer has no document (is it "
		    "older than this client?)");
		cli_reply_free(&r);
		return -1;
	}
	*doc = r.doc;
	r.doc = NULL;
	cli_reply_free(&r);
	return 0;
}

int
cli_submit(struct cli *c, struct msg *req, struct cli_reply *out)
{
	int	rc;

	memset(out, 0, sizeof(*out));
	cli_reply_free(&c->reply);
	c->got = false;
	c->want_ref[0] = '\0';
	snprintf(c->want_job, sizeof(c->want_job), "%s", req->job);
	msg_set_str(req, F_SESSION, c->node.session);
	/* Answered by job: re-sent (same id) until one arrives. */
	rc = cli_wait(c, req, SUBMIT_RESEND_MS);
	msg_clear(req);
	if (rc == 0)
		cli_take(c, out);
	c->want_job[0] = '\0';
	return rc;
}

int
cli_sleep(struct cli *c, int ms)
{
	if (c->interrupted)
		return -2;
	loop_arm(c->ev_wake, ms);
	event_base_dispatch(c->base);
	event_del(c->ev_wake);
	return c->interrupted ? -2 : 0;
}
