/*
 * A small HTTP server on the process's libevent loop (evhttp): a table of
 * routes, an address allow-list in front of every route, bounded
 * requests, timeouts for slow clients, and responses that no cache keeps.
 * It serves GET and HEAD only; a request takes what it needs from memory
 * or from short SQLite statements, so no route can block the loop.
 *
 * The coordinator's routes are in coord_http.c.
 */
#ifndef DFFMPEG_HTTP_H
#define DFFMPEG_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define HTTP_HEADERS_MAX	(8 * 1024)	/* request line and headers */
#define HTTP_BODY_MAX		1024		/* a GET has none */
#define HTTP_TIMEOUT_S		10		/* of a connection that sends
						   or takes nothing */
#define HTTP_CAPTURES		2		/* '*' segments of a pattern */
#define HTTP_STATS_MAX		64		/* (route, status) counters */

struct event_base;
struct evbuffer;
struct evhttp_request;
struct http_server;
struct cJSON;

/* One request, as a route sees it. */
struct http_req {
	struct evhttp_request	*req;
	const char		*route;		/* the route's name */
	/* The path segments that matched a pattern's '*' (decoded). */
	char			 arg[HTTP_CAPTURES][128];
	struct strmap		 query;		/* decoded query parameters */
	bool			 answered;
	int			 status;
};

typedef void (*http_fn)(struct http_req *, void *arg);

/*
 * A route: pattern is a path whose segments are literal or "*" (any one
 * non-empty segment, captured in arg[]); it labels the route's answers in
 * the metrics.
 */
struct http_route {
	const char	*pattern;
	http_fn		 fn;
};

/* Counts of answers by route and status. */
struct http_stat {
	const char	*route;
	int		 status;
	uint64_t	 n;
};

/*
 * Listen on addr:port and serve routes (a table ending with a NULL
 * pattern, kept by the caller) to the addresses of allow (IP addresses or
 * CIDR blocks; others get 403) that ask for this server by an IP address,
 * localhost or a name of hosts in their Host header (others get 403: DNS
 * rebinding).  NULL with err filled if the address cannot be bound or an
 * allow item is not an address.
 */
struct http_server *http_new(struct event_base *, const char *addr, int port,
	    const struct strv *allow, const struct strv *hosts,
	    const struct http_route *, void *arg, char *err, size_t errlen);
void	 http_free(struct http_server *);
/* The answers given so far; n entries. */
const struct http_stat *http_stats(const struct http_server *, size_t *n);

/* Whether s is an IP address or CIDR block (an allow item). */
bool	 http_allow_item_valid(const char *s);
/* Whether addr (text form) is inside one of the allow items. */
bool	 http_allowed(const struct strv *allow, const char *addr);

/*
 * Answers (once per request).  Every answer carries no-cache headers and
 * nosniff; body is copied; HEAD gets the headers alone, with the length
 * the body would have had.
 */
void	 http_reply(struct http_req *, int status, const char *type,
	    const void *body, size_t len);
/* body (moved: the buffer is emptied). */
void	 http_reply_buffer(struct http_req *, int status, const char *type,
	    struct evbuffer *body);
/* doc as JSON text (doc is deleted). */
void	 http_reply_json(struct http_req *, int status, struct cJSON *doc);
/* {"error": text} with status. */
void	 http_error(struct http_req *, int status, const char *text);
/* Add a header to the answer about to be sent. */
void	 http_header(struct http_req *, const char *name, const char *value);
/* A query parameter, or NULL. */
const char *http_param(const struct http_req *, const char *name);

#endif
