/*
 * Broker addresses: "host", "host:port", "[v6]:port" or "/unix/socket",
 * one from mqtt.host/port/socket or several from mqtt.hosts; and topics.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt.h"
#include "settings.h"

static int
port_parse(const char *s, int *port)
{
	long	v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s) || (v = v * 10 + (*s - '0')) >
		    65535)
			return -1;
	}
	if (v < 1)
		return -1;
	*port = (int)v;
	return 0;
}

int
mqtt_endpoint_parse(const char *s, int defport, struct mqtt_endpoint *ep,
    char *err, size_t errlen)
{
	const char	*colon, *end, *p;
	size_t		 len;

	memset(ep, 0, sizeof(*ep));
	for (p = s; *p != '\0'; p++) {
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p)) {
			snprintf(err, errlen, "must not contain blanks");
			return -1;
		}
	}
	if (s[0] == '/') {		/* a unix socket */
		if (strlen(s) >= sizeof(ep->host))
			goto toolong;
		snprintf(ep->host, sizeof(ep->host), "%s", s);
		return 0;
	}
	ep->port = defport;
	if (s[0] == '[') {		/* [v6] or [v6]:port */
		if ((end = strchr(s, ']')) == NULL || end == s + 1) {
			snprintf(err, errlen, "must be [address]:port");
			return -1;
		}
		s++;
		len = (size_t)(end - s);
		if (end[1] != '\0' && (end[1] != ':' ||
		    port_parse(end + 2, &ep->port) != 0))
			goto badport;
	} else if ((colon = strchr(s, ':')) != NULL &&
	    strchr(colon + 1, ':') == NULL) {	/* host:port */
		len = (size_t)(colon - s);
		if (port_parse(colon + 1, &ep->port) != 0)
			goto badport;
	} else				/* a name, or a bare v6 address */
		len = strlen(s);
	if (len == 0) {
		snprintf(err, errlen, "must name a host");
		return -1;
	}
	if (len >= sizeof(ep->host))
		goto toolong;
	memcpy(ep->host, s, len);
	ep->host[len] = '\0';
	return 0;
badport:
	snprintf(err, errlen, "must end in a port from 1 to 65535 "
	    "(host:port)");
	return -1;
toolong:
	snprintf(err, errlen, "is too long");
	return -1;
}

size_t
mqtt_endpoints(const struct mqtt_conf *conf, struct mqtt_endpoint *eps,
    size_t max)
{
	char	err[128];
	size_t	i, n = 0;

	for (i = 0; i < conf->hosts.n && n < max; i++) {
		if (mqtt_endpoint_parse(conf->hosts.v[i], conf->port, &eps[n],
		    err, sizeof(err)) == 0)
			n++;
	}
	if (n > 0 || max == 0)
		return n;
	snprintf(eps[0].host, sizeof(eps[0].host), "%s",
	    conf->host != NULL ? conf->host : "127.0.0.1");
	eps[0].port = eps[0].host[0] == '/' ? 0 : conf->port;
	return 1;
}

const char *
mqtt_endpoint_str(const struct mqtt_endpoint *ep, char *buf, size_t len)
{
	if (ep->port == 0)
		snprintf(buf, len, "%s", ep->host);
	else if (strchr(ep->host, ':') != NULL)
		snprintf(buf, len, "[%s]:%d", ep->host, ep->port);
	else
		snprintf(buf, len, "%s:%d", ep->host, ep->port);
	return buf;
}

const char *
mqtt_conf_where(const struct mqtt_conf *conf, char *buf, size_t len)
{
	struct mqtt_endpoint	*eps;
	char			 one[PATH_BUF + 16];
	size_t			 i, n, off = 0;

	eps = calloc(MQTT_HOSTS_MAX, sizeof(*eps));
	if (eps == NULL) {
		snprintf(buf, len, "?");
		return buf;
	}
	n = mqtt_endpoints(conf, eps, MQTT_HOSTS_MAX);
	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++) {
		int	w = snprintf(buf + off, len - off, "%s%s",
			    i > 0 ? ", " : "",
			    mqtt_endpoint_str(&eps[i], one, sizeof(one)));

		if (w < 0)
			break;
		off += (size_t)w;
	}
	free(eps);
	return buf;
}

int
topic_fmt(char *buf, size_t len, const char *prefix, const char *fmt, ...)
{
	va_list	ap;
	int	n, m;

	n = snprintf(buf, len, "%s/", prefix);
	if (n < 0 || (size_t)n >= len)
		return -1;
	va_start(ap, fmt);
	m = vsnprintf(buf + n, len - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)m >= len - (size_t)n)
		return -1;
	return 0;
}

const char *
topic_last(const char *topic)
{
	const char	*p = strrchr(topic, '/');

	return p != NULL ? p + 1 : topic;
}
