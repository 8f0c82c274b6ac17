/*
 * Broker addresses (mqtt_addr.c): host, host:port, [v6]:port, a bare v6
 * address and a socket path parse to host and port; a bad port, an empty
 * host, blanks and an unclosed bracket are refused with a predicate; a
 * config's list, or its host/port or socket when it has none, gives the
 * addresses, and they print back as written.
 */
#include <string.h>

#include "mqtt.h"
#include "settings.h"
#include "unit.h"

static void
ok(const char *s, const char *host, int port)
{
	struct mqtt_endpoint	*ep = calloc(1, sizeof(*ep));
	char			 err[128] = "";

	ck_assert_ptr_nonnull(ep);
	ck_assert_msg(mqtt_endpoint_parse(s, 1883, ep, err, sizeof(err)) == 0,
	    "%s: %s", s, err);
	ck_assert_str_eq(ep->host, host);
	ck_assert_int_eq(ep->port, port);
	free(ep);
}

static void
bad(const char *s, const char *why)
{
	struct mqtt_endpoint	*ep = calloc(1, sizeof(*ep));
	char			 err[128] = "";

	ck_assert_ptr_nonnull(ep);
	ck_assert_msg(mqtt_endpoint_parse(s, 1883, ep, err, sizeof(err)) == -1,
	    "accepted %s", s);
	ck_assert_msg(strstr(err, why) != NULL, "%s: %s", s, err);
	free(ep);
}

START_TEST(test_parse)
{
	ok("mq1.lan", "mq1.lan", 1883);
	ok("mq1.lan:8883", "mq1.lan", 8883);
	ok("10.0.0.5:1", "10.0.0.5", 1);
	ok("[::1]:65535", "::1", 65535);
	ok("[fe80::1]", "fe80::1", 1883);
	ok("fe80::1", "fe80::1", 1883);		/* bare v6: no port */
	ok("/run/mosquitto/mqtt.sock", "/run/mosquitto/mqtt.sock", 0);
	bad("a:0", "port from 1 to 65535");
	bad("a:65536", "port from 1 to 65535");
	bad("a:", "port from 1 to 65535");
	bad("a:12x", "port from 1 to 65535");
	bad("a:99999999999999999999", "port from 1 to 65535");
	bad(":1883", "must name a host");
	bad("", "must name a host");
	bad("a b", "blanks");
	bad("a\tb:1", "blanks");
	bad("[::1", "[address]:port");
	bad("[]:1", "[address]:port");
	bad("[::1]x", "port from 1 to 65535");
}
END_TEST

START_TEST(test_conf)
{
	struct mqtt_conf	 conf;
	struct mqtt_endpoint	 eps[MQTT_HOSTS_MAX];
	char			 buf[512];
	size_t			 n;

	memset(&conf, 0, sizeof(conf));
	conf.host = "broker";
	conf.port = 1884;
	n = mqtt_endpoints(&conf, eps, MQTT_HOSTS_MAX);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(mqtt_conf_where(&conf, buf, sizeof(buf)),
	    "broker:1884");
	conf.host = "/tmp/s.sock";
	ck_assert_str_eq(mqtt_conf_where(&conf, buf, sizeof(buf)),
	    "/tmp/s.sock");
	strv_push(&conf.hosts, "a");
	strv_push(&conf.hosts, "b:2");
	strv_push(&conf.hosts, "[::1]:3");
	n = mqtt_endpoints(&conf, eps, MQTT_HOSTS_MAX);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(eps[0].port, 1884);	/* mqtt.port */
	ck_assert_str_eq(mqtt_conf_where(&conf, buf, sizeof(buf)),
	    "a:1884, b:2, [::1]:3");
	/* At most max; a short buffer is cut, not overrun. */
	ck_assert_uint_eq(mqtt_endpoints(&conf, eps, 2), 2);
	ck_assert_str_eq(mqtt_conf_where(&conf, buf, 8), "a:1884,");
	strv_free(&conf.hosts);
}
END_TEST

static Suite *
make_suite(void)
{
	Suite	*s = suite_create("mqtt_addr");
	TCase	*tc = tcase_create("mqtt_addr");

	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_conf);
	suite_add_tcase(s, tc);
	return s;
}
