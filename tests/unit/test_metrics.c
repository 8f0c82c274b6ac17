/*
 * The Prometheus text (metrics.c) and the HTTP allow-list (http.c):
 * histogram buckets are cumulative with +Inf equal to the count, label
 * values are escaped, integers print without a fraction; addresses match
 * their CIDR blocks, IPv4-mapped IPv6 addresses count as IPv4, and
 * anything that is not an address matches nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "http.h"
#include "metrics.h"
#include "unit.h"

/* b's text as an owned string. */
static char *
text(struct evbuffer *b)
{
	size_t	 n = evbuffer_get_length(b);
	char	*s = malloc(n + 1);

	ck_assert_ptr_nonnull(s);
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	return s;
}

START_TEST(test_hist)
{
	static const double	 le[] = { 0.1, 1, 10 };
	struct hist		 h;
	struct evbuffer		*b = evbuffer_new();
	char			*s;

	hist_init(&h, le, 3);
	hist_observe(&h, 0.05);
	hist_observe(&h, 0.1);		/* le is inclusive */
	hist_observe(&h, 5);
	hist_observe(&h, 50);
	hist_observe(&h, -1);		/* clamped to 0 */
	ck_assert_uint_eq(h.count, 5);
	prom_hist(b, "x_seconds", "binary=\"ffmpeg\"", &h);
	s = text(b);
	ck_assert_str_eq(s,
	    "x_seconds_bucket{binary=\"ffmpeg\",le=\"0.1\"} 3\n"
	    "x_seconds_bucket{binary=\"ffmpeg\",le=\"1\"} 3\n"
	    "x_seconds_bucket{binary=\"ffmpeg\",le=\"10\"} 4\n"
	    "x_seconds_bucket{binary=\"ffmpeg\",le=\"+Inf\"} 5\n"
	    "x_seconds_sum{binary=\"ffmpeg\"} 55.15\n"
	    "x_seconds_count{binary=\"ffmpeg\"} 5\n");
	free(s);
	hist_free(&h);
	hist_init(&h, le, 1);
	prom_hist(b, "y", NULL, &h);
	s = text(b);
	ck_assert_str_eq(s, "y_bucket{le=\"0.1\"} 0\ny_bucket{le=\"+Inf\"} 0\n"
	    "y_sum 0\ny_count 0\n");
	free(s);
	hist_free(&h);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_labels_and_values)
{
	struct evbuffer	*b = evbuffer_new();
	char		 l[64], small[8], *s;

	prom_labels(l, sizeof(l), "worker", "a\"b\\c\nd", "device", "vaapi",
	    NULL);
	ck_assert_str_eq(l, "worker=\"a\\\"b\\\\c\\nd\",device=\"vaapi\"");
	/* What does not fit is left out whole. */
	prom_labels(small, sizeof(small), "worker", "toolongname", NULL);
	ck_assert_str_eq(small, "");
	prom_family(b, "m_total", "counter", "Things.");
	prom_sample(b, "m_total", l, 12);
	prom_sample(b, "m_total", NULL, 0.25);
	prom_sample(b, "g", "", 1e20);
	s = text(b);
	ck_assert_str_eq(s, "# HELP m_total Things.\n# TYPE m_total counter\n"
	    "m_total{worker=\"a\\\"b\\\\c\\nd\",device=\"vaapi\"} 12\n"
	    "m_total 0.25\ng 1e+20\n");
	free(s);
	evbuffer_free(b);
}
END_TEST

START_TEST(test_allow)
{
	struct strv	allow = { 0 };

	strv_push(&allow, "127.0.0.1");
	strv_push(&allow, "10.1.0.0/16");
	strv_push(&allow, "192.168.1.128/25");
	strv_push(&allow, "fd00::/8");
	ck_assert(http_allowed(&allow, "127.0.0.1"));
	ck_assert(!http_allowed(&allow, "127.0.0.2"));
	ck_assert(http_allowed(&allow, "10.1.255.3"));
	ck_assert(!http_allowed(&allow, "10.2.0.1"));
	ck_assert(http_allowed(&allow, "192.168.1.200"));
	ck_assert(!http_allowed(&allow, "192.168.1.127"));
	ck_assert(http_allowed(&allow, "::ffff:127.0.0.1"));
	ck_assert(http_allowed(&allow, "fd12::1"));
	ck_assert(!http_allowed(&allow, "fe80::1"));
	ck_assert(!http_allowed(&allow, "::1"));
	ck_assert(!http_allowed(&allow, "localhost"));
	ck_assert(!http_allowed(&allow, ""));
	strv_free(&allow);
	/* /0 is everyone of a family. */
	strv_push(&allow, "0.0.0.0/0");
	ck_assert(http_allowed(&allow, "203.0.113.9"));
	ck_assert(!http_allowed(&allow, "2001:db8::1"));
	strv_free(&allow);
	/* An IPv4-mapped block is the IPv4 block. */
	strv_push(&allow, "::ffff:10.0.0.0/104");
	ck_assert(http_allowed(&allow, "10.1.2.3"));
	ck_assert(http_allowed(&allow, "::ffff:10.9.9.9"));
	ck_assert(!http_allowed(&allow, "11.0.0.1"));
	strv_free(&allow);
	/* Nothing allowed, nothing served. */
	ck_assert(!http_allowed(&allow, "127.0.0.1"));
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("metrics");
	TCase	*tc = tcase_create("metrics");

	tcase_add_test(tc, test_hist);
	tcase_add_test(tc, test_labels_and_values);
	tcase_add_test(tc, test_allow);
	suite_add_tcase(s, tc);
	return s;
}
