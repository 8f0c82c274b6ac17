/*
 * libmosquitto on the libevent loop.  See mqtt.h for the contract.
 *
 * State: IDLE (no socket; the timer decides when to try again), CONNECTING
 * (socket open, CONNACK not yet received) and UP.  Whatever the library
 * does, mqtt__sync() afterwards makes the read/write events match its
 * socket and want_write(); a socket change always gets fresh events.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <mosquitto.h>
#include <sodium.h>
#include <mqtt_protocol.h>

#include "bounds.h"
#include "log.h"
#include "mqtt.h"
#include "mqtt_priv.h"
#include "settings.h"
#include "util.h"
#include "xmalloc.h"


static void	mqtt__sync(struct mqtt *);
static void	mqtt__cb_connect_v5(struct mosquitto *, void *, int, int,
		    const mosquitto_property *);
static void	mqtt__cb_disconnect_v5(struct mosquitto *, void *, int,
		    const mosquitto_property *);
static void	mqtt__cb_publish(struct mosquitto *, void *, int);
static void	mqtt__cb_subscribe(struct mosquitto *, void *, int, int,
		    const int *);
static void	mqtt__cb_message(struct mosquitto *, void *,
		    const struct mosquitto_message *);
static void	mqtt__cb_log(struct mosquitto *, void *, int, const char *);
static void	mqtt__drop(struct mqtt *, const char *);
static void	mqtt__disconnect(struct mqtt *);

static void
mqtt__schedule(struct mqtt *m)
{
	m->next_try = mono_ms() + m->backoff_ms;
	log_debug("mqtt: next connection attempt in %lld ms",
	    (long long)m->backoff_ms);
	m->backoff_ms *= 2;
	if (m->backoff_ms > BACKOFF_MAX_MS)
		m->backoff_ms = BACKOFF_MAX_MS;
}

/*
 * A connection problem is worth a warning, but a broker that stays away
 * must not fill the log: the same text is repeated at most every
 * ERR_REPEAT_MS, with the count of attempts in between.
 */
#define ERR_REPEAT_MS	30000

static void
mqtt__warn(struct mqtt *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
mqtt__warn(struct mqtt *m, const char *fmt, ...)
{
	char			 text[256];
	struct mqtt_peer	*p = &m->peers[m->cur];
	va_list			 ap;
	int64_t			 now = mono_ms();

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	m->attempt_reported = true;
	snprintf(m->last_err, sizeof(m->last_err), "%s", text);
	if (strcmp(text, p->last_err) == 0 &&
	    now - p->last_err_at < ERR_REPEAT_MS) {
		p->err_repeats++;
		log_debug("mqtt: %s", text);
		return;
	}
	if (p->err_repeats > 0 && strcmp(text, p->last_err) == 0)
		log_warnx("mqtt: %s (%u times since the last report)", text,
		    p->err_repeats + 1);
	else
		log_warnx("mqtt: %s", text);
	snprintf(p->last_err, sizeof(p->last_err), "%s", text);
	p->last_err_at = now;
	p->err_repeats = 0;
}

const char *
mqtt_where(const struct mqtt *m, char *buf, size_t len)
{
	return mqtt_endpoint_str(&m->peers[m->cur].ep, buf, len);
}

/*
 * An attempt failed.  MQTT 5 refused, or a connection the broker closed
 * before answering (RabbitMQ 3's MQTT plugin cannot read a version 5
 * CONNECT), is tried again at once in 3.1.1.  Otherwise the next address
 * is tried at the next tick, and the back-off grows once every address
 * has failed.
 */
static void
mqtt__failed(struct mqtt *m)
{
	struct mqtt_peer	*p = &m->peers[m->cur];

	if (p->protocol == MQTT_PROTOCOL_V5 && !m->fallback_now &&
	    (m->v5_refused || m->peer_closed)) {
		m->fallback_next = true;
		m->fallback_sticky = m->v5_refused;
		m->next_try = mono_ms();	/* the next tick */
		return;
	}
	m->fallback_next = false;
	if (m->npeers > 1 && ++m->tried < m->npeers) {
		m->cur = (m->cur + 1) % m->npeers;
		m->next_try = mono_ms();	/* the next tick */
		return;
	}
	m->tried = 0;
	if (m->npeers > 1)
		m->cur = (m->cur + 1) % m->npeers;
	mqtt__schedule(m);
}

/* Forget the socket's events; the library keeps (or has closed) the fd. */
static void
mqtt__unwatch(struct mqtt *m)
{
	if (m->ev_read != NULL) {
		event_free(m->ev_read);
		m->ev_read = NULL;
	}
	if (m->ev_write != NULL) {
		event_free(m->ev_write);
		m->ev_write = NULL;
	}
	m->write_armed = false;
	m->fd = -1;
	if (m->dupfd != -1) {
		close(m->dupfd);
		m->dupfd = -1;
	}
}

/* The connection is unusable: drop the events and try again later. */
static void
mqtt__drop(struct mqtt *m, const char *why)
{
	bool	was_up = m->up;

	m->up = false;
	m->delivered = m->published;	/* what is not acked is gone */
	mqtt__unwatch(m);
	mqtt_watch_reset(m);
	if (m->state == MQ_CLOSING) {
		/* Done for good: no tick may connect again. */
		m->state = MQ_IDLE;
		m->started = false;
		if (m->shutdown_done != NULL) {
			void (*done)(void *) = m->shutdown_done;

			m->shutdown_done = NULL;
			done(m->shutdown_arg);
		}
		return;
	}
	if (m->state == MQ_UP) {
		char	where[PATH_BUF + 16];

		log_warnx("mqtt: connection to the broker at %s lost: %s",
		    mqtt_where(m, where, sizeof(where)), why);
	} else if (m->state == MQ_CONNECTING && !m->attempt_reported) {
		/* (A refusal was reported by mqtt__cb_connect already.) */
		char	where[PATH_BUF + 16];

		if (m->peers[m->cur].protocol == MQTT_PROTOCOL_V5 &&
		    !m->fallback_now && (m->v5_refused || m->peer_closed))
			log_debug("mqtt: the broker at %s %s: trying MQTT 3.1.1",
			    mqtt_where(m, where, sizeof(where)), m->v5_refused ?
			    "refused MQTT 5" : "closed an MQTT 5 connection "
			    "unanswered");
		else
			mqtt__warn(m, "connecting to the broker at %s failed: "
			    "%s", mqtt_where(m, where, sizeof(where)), why);
	}
	if (m->state == MQ_CONNECTING)
		mqtt__failed(m);
	else {
		/* A lost node of a cluster: the next one is tried first. */
		m->tried = 0;
		m->cur = (m->cur + 1) % m->npeers;
		if (mono_ms() - m->up_since >= STABLE_MS)
			m->backoff_ms = BACKOFF_MIN_MS;
		mqtt__schedule(m);
	}
	m->state = MQ_IDLE;
	if (was_up && m->ops->disconnected != NULL)
		m->ops->disconnected(m->arg);
}

/* What a failed library call says, TLS failures with OpenSSL's reason. */
static const char *
mqtt__rc_text(struct mqtt *m, int rc)
{
	static char	buf[256];

	if (rc == MOSQ_ERR_ERRNO)
		return strerror(errno);
	if (rc != MOSQ_ERR_TLS)
		return mosquitto_strerror(rc);
	snprintf(buf, sizeof(buf), "TLS failed%s%s (check mqtt.tls and the "
	    "broker's certificate)", m->tls_err[0] != '\0' ? ": " : "",
	    m->tls_err);
	m->tls_err[0] = '\0';
	return buf;
}

/* Every connection gets its own epoch and a will signed for it. */
static void
mqtt__set_will(struct mqtt *m)
{
	char	*payload;
	size_t	 len;

	m->epoch++;
	if (m->will_fn == NULL)
		return;
	if ((payload = m->will_fn(m->will_arg, m->epoch, &len)) == NULL)
		return;		/* none for this connection */
	if (mosquitto_will_set(m->mosq, m->will_topic, (int)len, payload, 1,
	    false) != MOSQ_ERR_SUCCESS)
		log_warnx("mqtt: cannot set the will of connection %lld",
		    (long long)m->epoch);
	free(payload);
}

/* Everything a connection is set up with but its will and version. */
static int
mqtt__setup(struct mqtt *m, char *err, size_t errlen)
{
	const char	*capath = m->tls.ca_path;
	int		 rc;

	mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	if (m->username != NULL && mosquitto_username_pw_set(m->mosq,
	    m->username, m->password) != MOSQ_ERR_SUCCESS) {
		snprintf(err, errlen, "mqtt: cannot set the username");
		return -1;
	}
	if (m->tls.enabled) {
		if (m->tls.ca_file == NULL && capath == NULL)
			capath = "/etc/ssl/certs";
		rc = mosquitto_tls_set(m->mosq, m->tls.ca_file, capath,
		    m->tls.cert_file, m->tls.key_file, NULL);
		if (rc != MOSQ_ERR_SUCCESS) {
			snprintf(err, errlen, "mqtt tls: %s",
			    mosquitto_strerror(rc));
			return -1;
		}
		if (m->tls.insecure)
			mosquitto_tls_insecure_set(m->mosq, true);
	}
	mosquitto_connect_v5_callback_set(m->mosq, mqtt__cb_connect_v5);
	mosquitto_disconnect_v5_callback_set(m->mosq, mqtt__cb_disconnect_v5);
	mosquitto_publish_callback_set(m->mosq, mqtt__cb_publish);
	mosquitto_subscribe_callback_set(m->mosq, mqtt__cb_subscribe);
	mosquitto_message_callback_set(m->mosq, mqtt__cb_message);
	mosquitto_log_callback_set(m->mosq, mqtt__cb_log);
	return 0;
}

/*
 * Every connection after the first gets a client id of its own.  Sessions
 * are clean, so nothing is lost; and a broker may keep something under
 * the old id that the new connection must not meet: RabbitMQ 3's MQTT
 * plugin keeps a durable queue per client id on the node the client was
 * on, and while that node is down every connection with the id is
 * closed, on every node.
 */
static int
mqtt__renew(struct mqtt *m)
{
	char	rnd[ID_BUF], err[256];

	id_new(rnd);
	free(m->client_id);
	xasprintf(&m->client_id, "%s-%s", m->name, rnd);
	if (mosquitto_reinitialise(m->mosq, m->client_id, true, m) !=
	    MOSQ_ERR_SUCCESS) {
		mqtt__warn(m, "cannot set up a new connection");
		return -1;
	}
	if (mqtt__setup(m, err, sizeof(err)) != 0) {
		mqtt__warn(m, "%s", err);
		return -1;
	}
	return 0;
}

static void
mqtt__attempt(struct mqtt *m)
{
	struct mqtt_peer	*p = &m->peers[m->cur];
	char			 where[PATH_BUF + 16];
	int			 rc;

	m->attempt_reported = false;
	m->v5_refused = m->peer_closed = false;
	m->fallback_now = m->fallback_next;
	m->fallback_next = false;
	m->tls_err[0] = '\0';
	if (m->epoch > 0 && mqtt__renew(m) != 0) {
		m->state = MQ_IDLE;
		mqtt__schedule(m);
		return;
	}
	mqtt__set_will(m);
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION,
	    m->fallback_now ? MQTT_PROTOCOL_V311 : p->protocol);
	/* Always a full connect: the address may differ from the last. */
	rc = mosquitto_connect_async(m->mosq, p->ep.host, p->ep.port,
	    m->keepalive);
	/* After it: the library looks the name up before it returns, and a
	 * slow lookup must not count against the broker's CONNACK. */
	m->connect_began = mono_ms();
	if (rc != MOSQ_ERR_SUCCESS) {
		mqtt__warn(m, "cannot connect to the broker at %s: %s",
		    mqtt_where(m, where, sizeof(where)), mqtt__rc_text(m, rc));
		m->state = MQ_IDLE;
		mqtt__unwatch(m);
		mqtt__failed(m);
		return;
	}
	m->state = MQ_CONNECTING;
	mqtt__sync(m);
}

/* Before CONNACK: did the broker end a connection it had accepted? */
static bool
mqtt__closed_by_peer(int fd)
{
	int		err = 0;
	socklen_t	len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		return false;
	return err == 0 || err == ECONNRESET || err == EPIPE;
}

static void
mqtt__on_read(evutil_socket_t fd, short what, void *arg)
{
	struct mqtt	*m = arg;
	struct pollfd	 pfd;
	int		 rc;

	(void)what;
	if (m->state == MQ_CONNECTING) {
		/* Before CONNACK a dead socket must not spin the loop.  (Linux
		 * reports POLLIN with a closed or reset socket, so this is a
		 * last defence: the library's read sees those.) */
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, 0) == 1 &&
		    (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) &&
		    !(pfd.revents & POLLIN)) {
			m->peer_closed = mqtt__closed_by_peer(fd);
			mqtt__drop(m, "socket closed before CONNACK");
			return;
		}
	}
	/* Bytes in the middle of a large packet count as signs of life. */
	m->last_in = mono_ms();
	rc = mosquitto_loop_read(m->mosq, 1);
	if (rc == MOSQ_ERR_CONN_LOST && m->state == MQ_CONNECTING)
		m->peer_closed = true;
	if (rc != MOSQ_ERR_SUCCESS && mosquitto_socket(m->mosq) == -1) {
		mqtt__drop(m, mqtt__rc_text(m, rc));
		return;
	}
	mqtt__sync(m);
}

static void
mqtt__on_write(evutil_socket_t fd, short what, void *arg)
{
	struct mqtt	*m = arg;
	int		 rc;

	(void)fd;
	(void)what;
	rc = mosquitto_loop_write(m->mosq, 1);
	if (rc != MOSQ_ERR_SUCCESS && mosquitto_socket(m->mosq) == -1) {
		mqtt__drop(m, mqtt__rc_text(m, rc));
		return;
	}
	mqtt__sync(m);
}

/* Make the events match the library's socket and write interest. */
static void
mqtt__sync(struct mqtt *m)
{
	int	fd;
	bool	want;

	if (m->state == MQ_IDLE)
		return;
	fd = mosquitto_socket(m->mosq);
	if (fd == -1) {
		mqtt__drop(m, "socket closed");
		return;
	}
	if (fd != m->fd) {
		mqtt__unwatch(m);
		/* The events watch a duplicate: the library closes its
		 * socket on errors before we can remove the events, and
		 * epoll must not be left with a closed descriptor. */
		if ((m->dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1) {
			log_warn("mqtt: dup");
			return;
		}
		m->fd = fd;
		m->ev_read = event_new(m->base, m->dupfd, EV_READ | EV_PERSIST,
		    mqtt__on_read, m);
		m->ev_write = event_new(m->base, m->dupfd,
		    EV_WRITE | EV_PERSIST, mqtt__on_write, m);
		event_add(m->ev_read, NULL);
	}
	want = mosquitto_want_write(m->mosq);
	if (want && !m->write_armed) {
		event_add(m->ev_write, NULL);
		m->write_armed = true;
	} else if (!want && m->write_armed) {
		event_del(m->ev_write);
		m->write_armed = false;
	}
}


static void
mqtt__on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct mqtt	*m = arg;
	int64_t		 now = mono_ms();
	int		 rc;

	(void)fd;
	(void)what;
	switch (m->state) {
	case MQ_IDLE:
		if (m->started && m->shutdown_done == NULL &&
		    now >= m->next_try)
			mqtt__attempt(m);
		break;
	case MQ_CONNECTING:
		if (now - m->connect_began > CONNACK_TIMEOUT_MS) {
			mqtt__drop(m, "no CONNACK in time");
			break;
		}
		/* FALLTHROUGH */
	case MQ_UP:
	case MQ_CLOSING:
		if (m->state == MQ_UP)
			mqtt_watch_tick(m, now);
		if (m->state == MQ_CLOSING && m->disconnect_pending &&
		    (m->delivered == m->published ||
		    now >= m->shutdown_deadline - 500))
			mqtt__disconnect(m);
		if (m->state == MQ_IDLE)
			break;		/* the socket is gone: nothing to keep */
		if (m->state == MQ_CLOSING && now >= m->shutdown_deadline) {
			mqtt__drop(m, "shutdown timed out");
			break;
		}
		rc = mosquitto_loop_misc(m->mosq);
		if (rc != MOSQ_ERR_SUCCESS && mosquitto_socket(m->mosq) == -1) {
			mqtt__drop(m, "keepalive timed out");
			break;
		}
		mqtt__sync(m);
		break;
	}
	m->last_tick = now;
}

/*
 * The CONNACK of MQTT 5 says how large a packet the broker takes (its
 * max_packet_size): a broker without one relays whatever anyone publishes,
 * and libmosquitto allocates a whole packet before we see its size.  Such
 * a broker is refused unless mqtt.allow_unlimited_packets says otherwise.
 * A broker that speaks only MQTT 3.1.1 cannot say: it is used with a
 * warning, once.
 */
static void
mqtt__cb_connect_v5(struct mosquitto *mosq, void *arg, int rc, int flags,
    const mosquitto_property *props)
{
	struct mqtt		*m = arg;
	struct mqtt_peer	*p = &m->peers[m->cur];
	int			 proto = m->fallback_now ? MQTT_PROTOCOL_V311 :
				    p->protocol;
	char			 where[PATH_BUF + 16];
	uint32_t		 max = 0;
	size_t			 i;

	(void)mosq;
	(void)flags;
	if (rc != 0 && proto == MQTT_PROTOCOL_V5 &&
	    (rc == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION ||
	    rc == CONNACK_REFUSED_PROTOCOL_VERSION)) {
		/* The library closes the socket; 3.1.1 follows at once. */
		m->v5_refused = true;
		return;
	}
	if (rc != 0) {
		mqtt__warn(m, "the broker at %s refused the connection of "
		    "%s: %s", mqtt_where(m, where, sizeof(where)),
		    m->name, proto == MQTT_PROTOCOL_V5 ?
		    mosquitto_reason_string(rc) : mosquitto_connack_string(rc));
		/* The library closes the socket; mqtt__sync notices. */
		m->backoff_ms = BACKOFF_MAX_MS;
		return;
	}
	if (rc == 0 && m->fallback_now) {
		/* Refused in so many words: later connections to it start in
		 * 3.1.1.  Closed unanswered: maybe for another reason (a
		 * restart, a connection limit), so 5 is tried again next
		 * time, and the broker's packet limit with it. */
		if (m->fallback_sticky)
			p->protocol = MQTT_PROTOCOL_V311;
		if (!p->v311_said)
			log_warnx("mqtt: the broker at %s %s and took 3.1.1 "
			    "(mqtt.protocol: 3.1.1 says so and saves the "
			    "attempt)", mqtt_where(m, where, sizeof(where)),
			    m->fallback_sticky ? "refused MQTT 5" : "closed an "
			    "MQTT 5 connection unanswered: it may speak only "
			    "3.1.1,");
		p->v311_said = true;
	}
	if (proto == MQTT_PROTOCOL_V5 && !m->allow_unlimited &&
	    mosquitto_property_read_int32(props, MQTT_PROP_MAXIMUM_PACKET_SIZE,
	    &max, false) == NULL) {
		mqtt__warn(m, "the broker at %s sets no maximum packet size "
		    "(max_packet_size in mosquitto.conf): anyone who may "
		    "publish could make this process allocate all it sends; "
		    "not using it (mqtt.allow_unlimited_packets: true accepts "
		    "it)", mqtt_where(m, where, sizeof(where)));
		m->backoff_ms = BACKOFF_MAX_MS;
		mosquitto_disconnect(m->mosq);
		return;
	}
	if (proto != MQTT_PROTOCOL_V5 && !m->allow_unlimited &&
	    !m->v311_warned) {
		m->v311_warned = true;
		log_warnx("mqtt: MQTT 3.1.1 cannot tell the broker's packet "
		    "size limit: make sure it has one (max_packet_size)");
	}
	if (max > 0 && max < PACKET_NEED)
		log_warnx("mqtt: the broker at %s takes packets of at most %u "
		    "bytes, and dffmpeg sends up to %d: raise its "
		    "max_packet_size", mqtt_where(m, where, sizeof(where)),
		    (unsigned)max, PACKET_NEED);
	else if (max > 0)
		log_debug("mqtt: the broker takes packets of up to %u bytes",
		    (unsigned)max);
	log_info("mqtt: connected to %s as %s (connection %lld)",
	    mqtt_where(m, where, sizeof(where)), m->client_id,
	    (long long)m->epoch);
	m->last_err[0] = '\0';
	m->state = MQ_UP;
	m->up = true;
	m->delivered = m->published;
	m->up_since = mono_ms();
	m->tried = 0;
	mqtt_watch_reset(m);
	for (i = 0; i < m->nsubs; i++) {
		if (mosquitto_subscribe(m->mosq, &m->subs[i].mid,
		    m->subs[i].topic, 1) != MOSQ_ERR_SUCCESS)
			m->subs[i].mid = -1;
	}
	if (m->ops->connected != NULL)
		m->ops->connected(m->arg);
}

static void
mqtt__cb_publish(struct mosquitto *mosq, void *arg, int mid)
{
	struct mqtt	*m = arg;

	(void)mosq;
	(void)mid;
	m->last_in = mono_ms();		/* the broker is alive */
	/* QoS 1 acknowledgements come in the order of the publishes. */
	if (m->delivered < m->published)
		m->delivered++;
	if (m->disconnect_pending && m->delivered == m->published) {
		/* Inside the library: mqtt__on_read syncs the events after. */
		m->disconnect_pending = false;
		mosquitto_disconnect(m->mosq);
	}
}

static void
mqtt__cb_disconnect(struct mosquitto *mosq, void *arg, int rc)
{
	struct mqtt	*m = arg;

	(void)mosq;
	/* Only note it: the socket check in mqtt__sync does the work, so
	 * that events are never freed inside the library's callback. */
	log_debug("mqtt: %s disconnected (%d)", m->client_id, rc);
}

/* MQTT 5: the broker may say why it closes the connection. */
static void
mqtt__cb_disconnect_v5(struct mosquitto *mosq, void *arg, int rc,
    const mosquitto_property *props)
{
	struct mqtt	*m = arg;

	(void)props;
	if (m->peers[m->cur].protocol == MQTT_PROTOCOL_V5 &&
	    !m->fallback_now && rc >= 0x80)
		log_warnx("mqtt: the broker closed the connection of %s: %s",
		    m->client_id, mosquitto_reason_string(rc));
	mqtt__cb_disconnect(mosq, arg, rc);
}

static void
mqtt__cb_subscribe(struct mosquitto *mosq, void *arg, int mid, int nqos,
    const int *granted)
{
	struct mqtt	*m = arg;
	size_t		 i;
	bool		 ok = nqos > 0 && granted[0] <= 2;

	(void)mosq;
	for (i = 0; i < m->nsubs; i++) {
		if (m->subs[i].mid != mid)
			continue;
		/* Spent: message ids wrap at 65535 and are shared with
		 * publishes, so a later SUBACK may carry this one again. */
		m->subs[i].mid = -1;
		if (!ok)
			log_warnx("mqtt: subscription to %s refused by the "
			    "broker", m->subs[i].topic);
		if (m->subs[i].cb != NULL)
			m->subs[i].cb(m->subs[i].arg, m->subs[i].topic, ok);
		return;
	}
}


static void
mqtt__cb_message(struct mosquitto *mosq, void *arg,
    const struct mosquitto_message *msg)
{
	struct mqtt	*m = arg;

	(void)mosq;
	if (msg->payloadlen < 0 || msg->topic == NULL)
		return;
	/* Our probes, and topics a broker rewrote, stop here. */
	if (mqtt_watch_filter(m, msg->topic, msg->payload,
	    (size_t)msg->payloadlen))
		return;
	/* dffmpeg never retains: a retained message is someone else's,
	 * stored to be replayed to every new subscriber. */
	if (msg->retain) {
		log_debug("mqtt: ignored a retained message on %s", msg->topic);
		return;
	}
	m->ops->message(m->arg, msg->topic, msg->payload,
	    (size_t)msg->payloadlen);
}

static void
mqtt__cb_log(struct mosquitto *mosq, void *arg, int level, const char *str)
{
	struct mqtt	*m = arg;
	const char	*p;

	(void)mosq;
	if (!(level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)))
		return;
	log_debug("libmosquitto: %s", str);
	/* "OpenSSL Error[0]: error:0A000086:SSL routines::certificate
	 * verify failed": the reason of the next MOSQ_ERR_TLS. */
	if (strncmp(str, "OpenSSL Error", 13) == 0 &&
	    (p = strstr(str, ": ")) != NULL) {
		const char *q = strrchr(p, ':');

		snprintf(m->tls_err, sizeof(m->tls_err), "%s",
		    q != NULL && q[1] != '\0' ? q + 1 : p + 2);
	}
}

struct mqtt *
mqtt_new(struct event_base *base, const struct mqtt_conf *conf,
    const char *name, const struct mqtt_ops *ops, void *arg,
    char *err, size_t errlen)
{
	static bool		 lib_ready;
	struct mqtt		*m;
	struct mqtt_endpoint	*eps;
	char			 rnd[ID_BUF];
	struct timeval		 tv = { 0, 100 * 1000 };
	size_t			 i;
	int			 protocol;

	if (!lib_ready) {
		mosquitto_lib_init();
		lib_ready = true;
	}
	m = xcalloc(1, sizeof(*m));
	m->base = base;
	m->ops = ops;
	m->arg = arg;
	m->fd = m->dupfd = -1;
	protocol = conf->protocol != NULL &&
	    strcmp(conf->protocol, "3.1.1") == 0 ? MQTT_PROTOCOL_V311 :
	    MQTT_PROTOCOL_V5;
	eps = xcalloc(MQTT_HOSTS_MAX, sizeof(*eps));
	m->npeers = mqtt_endpoints(conf, eps, MQTT_HOSTS_MAX);
	m->peers = xcalloc(m->npeers, sizeof(*m->peers));
	for (i = 0; i < m->npeers; i++) {
		m->peers[i].ep = eps[i];
		m->peers[i].protocol = protocol;
	}
	free(eps);
	m->keepalive = conf->keepalive;
	/* Unguessable: a broker drops the older of two connections with
	 * one client id, so a predictable id would let any broker user
	 * kick us off (and make the broker publish our will). */
	m->name = xstrdup(name);
	id_new(rnd);
	xasprintf(&m->client_id, "%s-%s", name, rnd);
	m->backoff_ms = BACKOFF_MIN_MS;
	m->allow_unlimited = conf->allow_unlimited_packets;
	m->username = conf->username != NULL ? xstrdup(conf->username) : NULL;
	m->password = conf->password != NULL ? xstrdup(conf->password) : NULL;
	m->tls.enabled = conf->tls.enabled;
	m->tls.insecure = conf->tls.insecure;
#define DUP(f)	m->tls.f = conf->tls.f != NULL ? xstrdup(conf->tls.f) : NULL
	DUP(ca_file);
	DUP(ca_path);
	DUP(cert_file);
	DUP(key_file);
#undef DUP
	if ((m->mosq = mosquitto_new(m->client_id, true, m)) == NULL) {
		snprintf(err, errlen, "mosquitto_new: %s", strerror(errno));
		goto fail;
	}
	if (mqtt__setup(m, err, errlen) != 0)
		goto fail;
	mqtt_watch_init(m, conf->topic_prefix != NULL ? conf->topic_prefix :
	    TOPIC_PREFIX_DEFAULT);
	/* 100 ms: keepalive checks and reconnect attempts stay prompt. */
	m->ev_tick = event_new(base, -1, EV_PERSIST, mqtt__on_tick, m);
	event_add(m->ev_tick, &tv);
	return m;
fail:
	mqtt_free(m);
	return NULL;
}

void
mqtt_free(struct mqtt *m)
{
	size_t	i;

	if (m == NULL)
		return;
	mqtt__unwatch(m);
	if (m->ev_tick != NULL)
		event_free(m->ev_tick);
	if (m->mosq != NULL)
		mosquitto_destroy(m->mosq);
	for (i = 0; i < m->nsubs; i++)
		free(m->subs[i].topic);
	free(m->subs);
	free(m->peers);
	free(m->probe_topic);
	free(m->probe_alt);
	free(m->name);
	free(m->client_id);
	free(m->username);
	if (m->password != NULL) {
		sodium_memzero(m->password, strlen(m->password));
		free(m->password);
	}
	free(m->tls.ca_file);
	free(m->tls.ca_path);
	free(m->tls.cert_file);
	free(m->tls.key_file);
	free(m->will_topic);
	free(m);
}

void
mqtt_set_will(struct mqtt *m, const char *topic, mqtt_will_fn fn, void *arg)
{
	free(m->will_topic);
	m->will_topic = xstrdup(topic);
	m->will_fn = fn;
	m->will_arg = arg;
}

int64_t
mqtt_epoch(const struct mqtt *m)
{
	return m->epoch;
}

const char *
mqtt_last_error(const struct mqtt *m)
{
	return m->last_err;
}

void
mqtt_start(struct mqtt *m)
{
	m->started = true;
	mqtt__attempt(m);
}

void
mqtt_subscribe(struct mqtt *m, const char *topic, mqtt_sub_cb cb, void *arg)
{
	struct mqtt_sub	*s;

	m->subs = xreallocarray(m->subs, m->nsubs + 1, sizeof(*m->subs));
	s = &m->subs[m->nsubs++];
	if (strchr(topic, '.') != NULL)
		m->dotted++;
	s->topic = xstrdup(topic);
	s->cb = cb;
	s->arg = arg;
	s->mid = -1;
	if (m->state == MQ_UP &&
	    mosquitto_subscribe(m->mosq, &s->mid, topic, 1) == MOSQ_ERR_SUCCESS)
		mqtt__sync(m);
}

void
mqtt_unsubscribe(struct mqtt *m, const char *topic)
{
	size_t	i;

	for (i = 0; i < m->nsubs; i++) {
		if (strcmp(m->subs[i].topic, topic) != 0)
			continue;
		if (strchr(topic, '.') != NULL)
			m->dotted--;
		free(m->subs[i].topic);
		m->subs[i] = m->subs[--m->nsubs];
		if (m->state == MQ_UP) {
			mosquitto_unsubscribe(m->mosq, NULL, topic);
			mqtt__sync(m);
		}
		return;
	}
}

int
mqtt_publish(struct mqtt *m, const char *topic, const void *payload,
    size_t len)
{
	int	rc;

	if (m->state != MQ_UP || !m->up)
		return -1;
	rc = mosquitto_publish(m->mosq, NULL, topic, (int)len, payload, 1,
	    false);
	if (rc == MOSQ_ERR_SUCCESS)
		m->published++;
	if (rc != MOSQ_ERR_SUCCESS) {
		log_debug("mqtt: publish to %s: %s", topic,
		    mosquitto_strerror(rc));
		mqtt__sync(m);
		return -1;
	}
	mqtt__sync(m);
	return 0;
}

bool
mqtt_is_connected(const struct mqtt *m)
{
	return m->state == MQ_UP && m->up;
}

uint64_t
mqtt_published(const struct mqtt *m)
{
	return m->published;
}

bool
mqtt_delivered(const struct mqtt *m, uint64_t n)
{
	return n <= m->delivered;
}

/* Send DISCONNECT (once); the socket check in mqtt__sync finishes. */
static void
mqtt__disconnect(struct mqtt *m)
{
	if (!m->disconnect_pending)
		return;
	m->disconnect_pending = false;
	mosquitto_disconnect(m->mosq);
	mqtt__sync(m);
}

void
mqtt_shutdown(struct mqtt *m, int timeout_ms, void (*done)(void *), void *arg)
{
	if (m->state == MQ_CLOSING || m->shutdown_done != NULL)
		return;		/* already on its way out */
	m->shutdown_done = done;
	m->shutdown_arg = arg;
	m->shutdown_deadline = mono_ms() + timeout_ms;
	if (m->state != MQ_UP) {
		m->state = MQ_CLOSING;
		mqtt__drop(m, "shutdown");
		return;
	}
	m->state = MQ_CLOSING;
	m->disconnect_pending = true;
	if (m->delivered == m->published)
		mqtt__disconnect(m);
}

