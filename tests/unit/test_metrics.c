/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_metrics.c - `vhswd --metrics-listen ADDR:PORT` parsing (metrics.h).
 * The exposition itself is checked with real clients (curl, the
 * prometheus_client parser, promtool) in tests/integration/test_metrics.sh.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static int
parse(const char *s, struct sockaddr_storage *sa, char *err, size_t errlen)
{
	socklen_t len = 0;

	memset(sa, 0, sizeof(*sa));
	return metrics_parse_listen(s, sa, &len, err, errlen);
}

static void
test_parse_good(void **state)
{
	struct sockaddr_storage sa;
	const struct sockaddr_in *in = (const struct sockaddr_in *)&sa;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&sa;
	char err[256];

	(void)state;
	assert_int_equal(parse("127.0.0.1:9100", &sa, err, sizeof(err)), 0);
	assert_int_equal(sa.ss_family, AF_INET);
	assert_int_equal(ntohs(in->sin_port), 9100);
	assert_int_equal(ntohl(in->sin_addr.s_addr), INADDR_LOOPBACK);
	assert_int_equal(parse("0.0.0.0:1", &sa, err, sizeof(err)), 0);
	assert_int_equal(ntohs(in->sin_port), 1);
	assert_int_equal(parse("[::1]:65535", &sa, err, sizeof(err)), 0);
	assert_int_equal(sa.ss_family, AF_INET6);
	assert_int_equal(ntohs(in6->sin6_port), 65535);
	assert_true(IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr));
	assert_int_equal(parse("localhost:9478", &sa, err, sizeof(err)), 0);
	assert_true(sa.ss_family == AF_INET || sa.ss_family == AF_INET6);
}

static void
test_parse_bad(void **state)
{
	static const char *const bad[] = {"127.0.0.1", "127.0.0.1:", ":9100",
		"127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:9x",
		"127.0.0.1:-1", "127.0.0.1: 80", "::1:9100", "[::1]9100",
		"[::1", "[127.0.0.1]:80", "", ":"};
	struct sockaddr_storage sa;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (parse(bad[i], &sa, err, sizeof(err)) == 0)
			fail_msg("'%s' was accepted", bad[i]);
		/* The message names the option. */
		assert_non_null(strstr(err, "--metrics-listen"));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
	};

	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
