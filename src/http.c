/*
 * The HTTP server of the coordinator's operator surface (design §11), on
 * evhttp: see http.h.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "http.h"
#include "log.h"
#include "util.h"
#include "xmalloc.h"

#define QUERY_PARAMS_MAX	16

/* An allow item, parsed. */
struct net {
	int		 family;
	uint8_t		 addr[16];
	int		 bits;
};

struct http_server {
	struct evhttp		*http;
	const struct http_route	*routes;
	void			*arg;
	struct net		*allow;
	size_t			 nallow;
	struct strv		 hosts;		/* names of Host accepted */
	struct http_stat	 stats[HTTP_STATS_MAX];
	size_t			 nstats;
};

static int
net_parse(const char *s, struct net *n)
{
	char		 addr[INET6_ADDRSTRLEN], *end;
	const char	*slash = strchr(s, '/');
	size_t		 len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	long		 bits;
	int		 max;

	memset(n, 0, sizeof(*n));
	if (len == 0 || len >= sizeof(addr))
		return -1;
	memcpy(addr, s, len);
	addr[len] = '\0';
	if (inet_pton(AF_INET, addr, n->addr) == 1) {
		n->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, n->addr) == 1) {
		n->family = AF_INET6;
		max = 128;
	} else
		return -1;
	n->bits = max;
	if (slash != NULL) {
		if (!isdigit((unsigned char)slash[1]))
			return -1;
		errno = 0;
		bits = strtol(slash + 1, &end, 10);
		if (*end != '\0' || errno != 0 || bits > max)
			return -1;
		n->bits = (int)bits;
	}
	/* ::ffff:a.b.c.d/n is a.b.c.d/(n - 96), as peers are compared. */
	if (n->family == AF_INET6 && n->bits >= 96 && memcmp(n->addr,
	    "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		memmove(n->addr, n->addr + 12, 4);
		memset(n->addr + 4, 0, 12);
		n->family = AF_INET;
		n->bits -= 96;
	}
	return 0;
}

static bool
net_contains(const struct net *n, int family, const uint8_t *addr)
{
	int	full = n->bits / 8, rest = n->bits % 8;
	uint8_t	mask;

	if (n->family != family)
		return false;
	if (memcmp(n->addr, addr, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return (n->addr[full] & mask) == (addr[full] & mask);
}

/* An IPv4-mapped IPv6 address is the IPv4 address it maps. */
static void
addr_normalise(int *family, uint8_t addr[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff };

	if (*family == AF_INET6 && memcmp(addr, mapped, sizeof(mapped)) == 0) {
		memmove(addr, addr + 12, 4);
		*family = AF_INET;
	}
}

static bool
nets_allow(const struct net *nets, size_t n, int family, uint8_t addr[16])
{
	size_t	i;

	addr_normalise(&family, addr);
	for (i = 0; i < n; i++)
		if (net_contains(&nets[i], family, addr))
			return true;
	return false;
}

bool
http_allow_item_valid(const char *s)
{
	struct net	n;

	return net_parse(s, &n) == 0;
}

bool
http_allowed(const struct strv *allow, const char *text)
{
	struct net	n;
	uint8_t		addr[16];
	int		family;
	size_t		i;

	memset(addr, 0, sizeof(addr));
	if (inet_pton(AF_INET, text, addr) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, text, addr) == 1)
		family = AF_INET6;
	else
		return false;
	addr_normalise(&family, addr);
	for (i = 0; i < allow->n; i++)
		if (net_parse(allow->v[i], &n) == 0 &&
		    net_contains(&n, family, addr))
			return true;
	return false;
}

static void
count(struct http_server *h, const char *route, int status)
{
	size_t	i;

	for (i = 0; i < h->nstats; i++)
		if (h->stats[i].status == status &&
		    strcmp(h->stats[i].route, route) == 0) {
			h->stats[i].n++;
			return;
		}
	if (h->nstats < nitems(h->stats)) {
		h->stats[h->nstats].route = route;
		h->stats[h->nstats].status = status;
		h->stats[h->nstats++].n = 1;
	}
}

const struct http_stat *
http_stats(const struct http_server *h, size_t *n)
{
	*n = h->nstats;
	return h->stats;
}

/* ---- answers ---- */

void
http_header(struct http_req *r, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->req), name,
	    value);
}

static const char *
reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 413: return "Payload Too Large";
	case 503: return "Service Unavailable";
	default: return status < 500 ? "Error" : "Server Error";
	}
}

void
http_reply_buffer(struct http_req *r, int status, const char *type,
    struct evbuffer *body)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->req);

	if (r->answered)
		return;
	r->answered = true;
	r->status = status;
	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-store, no-cache, "
	    "must-revalidate, max-age=0");
	evhttp_add_header(h, "Pragma", "no-cache");
	evhttp_add_header(h, "Expires", "0");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	if (evhttp_request_get_command(r->req) == EVHTTP_REQ_HEAD) {
		/* evhttp would send the body after the headers: the length
		 * alone, and no body. */
		char	len[32];

		snprintf(len, sizeof(len), "%zu", evbuffer_get_length(body));
		evhttp_add_header(h, "Content-Length", len);
		evbuffer_drain(body, evbuffer_get_length(body));
	}
	evhttp_send_reply(r->req, status, reason_phrase(status), body);
}

void
http_reply(struct http_req *r, int status, const char *type,
    const void *body, size_t len)
{
	struct evbuffer	*b = evbuffer_new();

	if (b == NULL)
		fatalx("evbuffer_new: out of memory");
	evbuffer_add(b, body, len);
	http_reply_buffer(r, status, type, b);
	evbuffer_free(b);
}

void
http_reply_json(struct http_req *r, int status, cJSON *doc)
{
	char		*text = cJSON_PrintUnformatted(doc);
	struct evbuffer	*b = evbuffer_new();

	cJSON_Delete(doc);
	if (text == NULL || b == NULL)
		fatalx("http: out of memory");
	evbuffer_add(b, text, strlen(text));
	evbuffer_add(b, "\n", 1);
	cJSON_free(text);
	http_reply_buffer(r, status, "application/json", b);
	evbuffer_free(b);
}

void
http_error(struct http_req *r, int status, const char *text)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "error", text);
	http_reply_json(r, status, o);
}

const char *
http_param(const struct http_req *r, const char *name)
{
	return strmap_get(&r->query, name);
}

/* ---- requests ---- */

/* Segment [s, s+len) of a path, %-decoded into out; -1 if it is too long
 * or decodes to something with a '/' or a NUL in it. */
static int
segment_decode(const char *s, size_t len, char *out, size_t outlen)
{
	char	raw[3 * 128], *dec;
	size_t	declen = 0;
	int	rc = -1;

	if (len == 0 || len >= sizeof(raw))
		return -1;
	memcpy(raw, s, len);
	raw[len] = '\0';
	if ((dec = evhttp_uridecode(raw, 0, &declen)) == NULL)
		return -1;
	if (declen < outlen && strlen(dec) == declen &&
	    strchr(dec, '/') == NULL) {
		memcpy(out, dec, declen + 1);
		rc = 0;
	}
	free(dec);
	return rc;
}

/* Whether path matches pattern; the '*' segments go to r->arg. */
static bool
route_match(const char *pattern, const char *path, struct http_req *r)
{
	const char	*p = pattern, *s = path, *pe, *se;
	size_t		 ncap = 0;

	for (;;) {
		if (*p != '/' || *s != '/')
			return *p == '\0' && *s == '\0';
		p++;
		s++;
		pe = p + strcspn(p, "/");
		se = s + strcspn(s, "/");
		if (pe - p == 1 && *p == '*') {
			if (ncap >= HTTP_CAPTURES || segment_decode(s,
			    (size_t)(se - s), r->arg[ncap], sizeof(r->arg[0])))
				return false;
			ncap++;
		} else if (pe - p != se - s || memcmp(p, s, (size_t)(pe - p)))
			return false;
		p = pe;
		s = se;
	}
}

static int
query_parse(const char *q, struct strmap *out)
{
	struct evkeyvalq	 kv;
	struct evkeyval		*e;
	size_t			 n = 0;

	if (q == NULL || *q == '\0')
		return 0;
	TAILQ_INIT(&kv);
	if (evhttp_parse_query_str(q, &kv) == -1)
		return -1;
	TAILQ_FOREACH(e, &kv, next) {
		if (++n > QUERY_PARAMS_MAX) {
			evhttp_clear_headers(&kv);
			return -1;
		}
		strmap_set(out, e->key, e->value);
	}
	evhttp_clear_headers(&kv);
	return 0;
}

static bool
peer_allowed(struct http_server *h, struct evhttp_request *req)
{
	struct evhttp_connection *con = evhttp_request_get_connection(req);
	const struct sockaddr	*sa;
	uint8_t			 addr[16];

	if (con == NULL || (sa = evhttp_connection_get_addr(con)) == NULL)
		return false;
	memset(addr, 0, sizeof(addr));
	if (sa->sa_family == AF_INET) {
		memcpy(addr, &((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr, 4);
		return nets_allow(h->allow, h->nallow, AF_INET, addr);
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(addr, &((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr, 16);
		return nets_allow(h->allow, h->nallow, AF_INET6, addr);
	}
	return false;
}

/*
 * Whether the Host a client asked for is this server: an IP address
 * (with a port or not), localhost, or a name of hosts.  A web page whose
 * name an attacker rebinds to 127.0.0.1 sends its own name: without this,
 * a browser on an allowed address would read the API for it.
 */
static bool
host_allowed(const struct http_server *h, const char *host)
{
	char		 name[256], bin[16];
	const char	*end;
	size_t		 len;

	if (host == NULL)		/* HTTP/1.0: no virtual hosts */
		return true;
	if (host[0] == '[') {		/* [IPv6]:port */
		if ((end = strchr(host, ']')) == NULL)
			return false;
		len = (size_t)(end - host - 1);
		if (len >= sizeof(name))
			return false;
		memcpy(name, host + 1, len);
		name[len] = '\0';
		return inet_pton(AF_INET6, name, bin) == 1;
	}
	len = strcspn(host, ":");
	if (len == 0 || len >= sizeof(name))
		return false;
	memcpy(name, host, len);
	name[len] = '\0';
	if (inet_pton(AF_INET, name, bin) == 1 ||
	    strcasecmp(name, "localhost") == 0)
		return true;
	for (len = 0; len < h->hosts.n; len++)
		if (strcasecmp(name, h->hosts.v[len]) == 0)
			return true;
	return false;
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct http_server		*h = arg;
	const struct evhttp_uri		*uri = evhttp_request_get_evhttp_uri(req);
	const struct http_route		*rt;
	const char			*path;
	struct http_req			 r;

	memset(&r, 0, sizeof(r));
	r.req = req;
	r.route = "other";
	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (!peer_allowed(h, req)) {
		http_error(&r, 403, "this address is not in http.allow");
		goto out;
	}
	if (!host_allowed(h, evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Host"))) {
		http_error(&r, 403, "this Host is not the coordinator's (a name "
		    "it answers to goes in http.hosts)");
		goto out;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		http_header(&r, "Allow", "GET, HEAD");
		http_error(&r, 405, "only GET and HEAD are served");
		goto out;
	}
	if (path == NULL || *path == '\0')
		path = "/";
	if (uri != NULL &&
	    query_parse(evhttp_uri_get_query(uri), &r.query) == -1) {
		http_error(&r, 400, "malformed query string");
		goto out;
	}
	for (rt = h->routes; rt->pattern != NULL; rt++) {
		memset(r.arg, 0, sizeof(r.arg));
		if (route_match(rt->pattern, path, &r)) {
			r.route = rt->pattern;
			rt->fn(&r, h->arg);
			break;
		}
	}
	if (rt->pattern == NULL)
		http_error(&r, 404, "no such page");
	if (!r.answered)
		http_error(&r, 500, "the route gave no answer");
out:
	count(h, r.route, r.status);
	strmap_free(&r.query);
}

struct http_server *
http_new(struct event_base *base, const char *addr, int port,
    const struct strv *allow, const struct strv *hosts,
    const struct http_route *routes, void *arg, char *err, size_t errlen)
{
	struct http_server	*h = xcalloc(1, sizeof(*h));
	size_t			 i;

	for (i = 0; hosts != NULL && i < hosts->n; i++)
		strv_push(&h->hosts, hosts->v[i]);
	h->routes = routes;
	h->arg = arg;
	h->allow = xcalloc(allow->n + 1, sizeof(*h->allow));
	for (i = 0; i < allow->n; i++) {
		if (net_parse(allow->v[i], &h->allow[i]) == -1) {
			snprintf(err, errlen, "http.allow: '%s' is not an IP "
			    "address or CIDR block", allow->v[i]);
			goto fail;
		}
	}
	h->nallow = allow->n;
	if ((h->http = evhttp_new(base)) == NULL) {
		snprintf(err, errlen, "evhttp_new failed");
		goto fail;
	}
	evhttp_set_max_headers_size(h->http, HTTP_HEADERS_MAX);
	evhttp_set_max_body_size(h->http, HTTP_BODY_MAX);
	evhttp_set_timeout(h->http, HTTP_TIMEOUT_S);
	/* Others are answered 405 by on_request, with an Allow header;
	 * evhttp itself would give 501 for them. */
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
	evhttp_set_gencb(h->http, on_request, h);
	if (evhttp_bind_socket_with_handle(h->http, addr, (ev_uint16_t)port) ==
	    NULL) {
		snprintf(err, errlen, "http: cannot listen on %s port %d: %s",
		    addr, port, strerror(errno));
		goto fail;
	}
	return h;
fail:
	http_free(h);
	return NULL;
}

void
http_free(struct http_server *h)
{
	if (h == NULL)
		return;
	if (h->http != NULL)
		evhttp_free(h->http);
	strv_free(&h->hosts);
	free(h->allow);
	free(h);
}
