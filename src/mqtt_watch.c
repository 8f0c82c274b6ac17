/*
 * What a process checks about its broker (see mqtt.h): the loopback probe
 * that finds a hung broker, and topics that a broker rewrote.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/sockios.h>	/* SIOCOUTQ */
#include <netinet/in.h>
#include <linux/tcp.h>		/* tcpi_bytes_acked: not in glibc's */

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>

#include "log.h"
#include "mqtt_priv.h"
#include "util.h"
#include "xmalloc.h"

/* The bytes of ours the next hop (the broker's host, or a proxy) has
 * acknowledged on this TCP connection, or -1 where that is not known (a
 * unix socket). */
static int64_t
mqtt__acked(const struct mqtt *m)
{
	struct tcp_info	ti;
	socklen_t	len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (m->dupfd == -1 || getsockopt(m->dupfd, IPPROTO_TCP, TCP_INFO, &ti,
	    &len) != 0 || len < offsetof(struct tcp_info, tcpi_bytes_acked) +
	    sizeof(ti.tcpi_bytes_acked))
		return -1;
	return (int64_t)ti.tcpi_bytes_acked;
}

/* Is something of ours still on its way: in the library, or sent and not
 * yet acknowledged by the next TCP hop (the broker's host, or a proxy)? */
static bool
mqtt__sending(const struct mqtt *m)
{
	int	queued = 0;

	if (mosquitto_want_write(m->mosq))
		return true;
	return m->dupfd != -1 && ioctl(m->dupfd, SIOCOUTQ, &queued) == 0 &&
	    queued > 0;
}

static void
mqtt__probe_send(struct mqtt *m, int64_t now)
{
	id_new(m->probe_token);
	m->probe_sent = now;
	m->probe_acked = mqtt__acked(m);
	if (mqtt_publish(m, m->probe_topic, m->probe_token,
	    strlen(m->probe_token)) != 0)
		m->probe_token[0] = '\0';
}

/*
 * Keepalive notices a hung broker only after up to twice mqtt.keepalive.
 * A probe published to a topic only we subscribe to makes the broker
 * answer within a round trip: with its PUBACK, and through its routing
 * with the probe itself (either will do as a sign of life).  The first goes PROBE_PROVE_MS after CONNACK (a short
 * job's proxy is gone by then and sends none), to prove that probes work
 * with this broker: if it does not come back, this connection does
 * without.  Then one goes whenever nothing else has come for a while.
 * When nothing at all, the probe or anything else, has come for
 * PROBE_TIMEOUT_MS after one went, the connection is shut down, so that
 * the next address is tried: unless we are sending more than the link
 * carries at once (a large packet on a slow link, the probe queued behind
 * it) and the next TCP hop keeps acknowledging what we send, for up to
 * twice the keepalive (a proxy in front of a hung broker acknowledges
 * until its buffers are full).  (Job
 * topics are open to every broker user under the shipped ACL:
 * P/job/<random id>/probe.)
 */
void
mqtt_watch_tick(struct mqtt *m, int64_t now)
{
	char	where[PATH_BUF + 16];
	int64_t	acked;

	if (now - m->last_tick > 1000) {
		/* Our loop stalled: the answer may be waiting unread. */
		if (m->probe_token[0] != '\0')
			m->probe_sent = now;
		return;
	}
	if (!m->probe_ok)
		return;
	if (m->probe_token[0] != '\0') {
		if (now - m->probe_sent < PROBE_TIMEOUT_MS)
			return;
		if (m->probe_proven && m->last_in > m->probe_sent) {
			/* Late behind other traffic: the broker lives. */
			m->probe_token[0] = '\0';
			return;
		}
		if (m->probe_acked >= 0 && mqtt__sending(m) &&
		    now - m->last_in < 2000 * (int64_t)m->keepalive &&
		    (acked = mqtt__acked(m)) > m->probe_acked) {
			/* Slow, not hung: wait for the rest. */
			log_debug("mqtt: our probe is late, but what we send "
			    "is still taken (%lld bytes since): waiting",
			    (long long)(acked - m->probe_acked));
			m->probe_sent = now;
			m->probe_acked = acked;
			return;
		}
		if (!m->probe_proven) {
			log_debug("mqtt: the broker at %s did not pass our "
			    "probe back; relying on keepalive alone",
			    mqtt_where(m, where, sizeof(where)));
			m->probe_ok = false;
			return;
		}
		log_warnx("mqtt: the broker at %s passed nothing back for "
		    "%lld ms, not even our own probe: taking it for hung",
		    mqtt_where(m, where, sizeof(where)),
		    (long long)(now - m->last_in));
		m->probe_token[0] = '\0';
		/* The library's socket too: its next read sees the end. */
		if (m->dupfd != -1)
			shutdown(m->dupfd, SHUT_RDWR);
		return;
	}
	if (!m->probe_proven ? now - m->up_since >= PROBE_PROVE_MS :
	    now - m->last_in >= PROBE_IDLE_MS && now - m->probe_sent >=
	    PROBE_IDLE_MS)
		mqtt__probe_send(m, now);
}

/* The probe subscription: without it (a broker's ACL), no probes. */
static void
mqtt__probe_sub(void *arg, const char *topic, bool ok)
{
	struct mqtt	*m = arg;

	(void)topic;
	m->probe_ok = ok;
	m->last_in = mono_ms();
}

void
mqtt_watch_init(struct mqtt *m, const char *prefix)
{
	char	rnd[ID_BUF], *p;

	id_new(rnd);
	xasprintf(&m->probe_topic, "%s/job/%s/probe", prefix, rnd);
	mqtt_subscribe(m, m->probe_topic, mqtt__probe_sub, m);
	if (strchr(m->probe_topic, '.') != NULL) {
		m->probe_alt = xstrdup(m->probe_topic);
		for (p = m->probe_alt; (p = strchr(p, '.')) != NULL; p++)
			*p = '/';
	}
}

void
mqtt_watch_reset(struct mqtt *m)
{
	m->probe_ok = m->probe_proven = false;	/* until its SUBACK */
	m->probe_token[0] = '\0';
	m->last_in = mono_ms();
}

/*
 * Is topic one of ours that the broker rewrote?  RabbitMQ's MQTT plugin
 * routes by AMQP keys, where '.' separates words: it turns '/' into '.'
 * and back, so a '.' inside a level comes out as '/'.  Such a topic
 * matches no subscription as written, but one with its '.' read as '/'.
 */
static bool
mqtt__rewritten(const struct mqtt *m, const char *topic)
{
	char	buf[PATH_BUF];
	bool	match;
	size_t	i;
	char	*p;

	/* Only a '.' we subscribed with can come back as '/' (and the data
	 * path, where no topic has one, pays nothing more). */
	if (m->dotted == 0)
		return false;
	for (i = 0; i < m->nsubs; i++) {
		if (mosquitto_topic_matches_sub(m->subs[i].topic, topic,
		    &match) == MOSQ_ERR_SUCCESS && match)
			return false;
	}
	for (i = 0; i < m->nsubs; i++) {
		if (strchr(m->subs[i].topic, '.') == NULL ||
		    strlen(m->subs[i].topic) >= sizeof(buf))
			continue;
		snprintf(buf, sizeof(buf), "%s", m->subs[i].topic);
		for (p = buf; (p = strchr(p, '.')) != NULL; p++)
			*p = '/';
		if (mosquitto_topic_matches_sub(buf, topic, &match) ==
		    MOSQ_ERR_SUCCESS && match)
			return true;
	}
	return false;
}

bool
mqtt_watch_filter(struct mqtt *m, const char *topic, const void *payload,
    size_t len)
{
	m->last_in = mono_ms();
	if (strcmp(topic, m->probe_topic) == 0 ||
	    (m->probe_alt != NULL && strcmp(topic, m->probe_alt) == 0)) {
		if (m->probe_token[0] != '\0' &&
		    len == strlen(m->probe_token) &&
		    memcmp(payload, m->probe_token, len) == 0) {
			m->probe_token[0] = '\0';
			m->probe_proven = true;
		}
		return true;
	}
	if (!mqtt__rewritten(m, topic))
		return false;
	if (!m->rewrite_warned)
		log_warnx("mqtt: a message came on %s: the broker turns '.' "
		    "into '/' (RabbitMQ's MQTT plugin does), so identities and "
		    "mqtt.topic_prefix must not contain '.' with it", topic);
	m->rewrite_warned = true;
	return true;
}
