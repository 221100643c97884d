/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_tenant.c - a port's tenant controls as options (tenant.h): parsing
 * lists, 'any', limits and errors with their messages; `port set` over a
 * current policy; --mac as the default allowed MAC; no policy when no
 * control is on; the policer's burst; and that what tenant_json() saves
 * parses back to the same configuration, for every combination of values.
 * The EAL is up for rte_malloc and the TSC rate.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>
#include <rte_ether.h>

#include "policy.h"
#include "tenant.h"
#include "ut_eal.h"

static const struct rte_ether_addr PORT_MAC = {
	.addr_bytes = {0x02, 0, 0, 0, 0, 0x01}};

/*
 * tenant_parse() of the JSON object 'text' over 'cur' with --mac 'mac'.
 * Returns its result; the message in 'err' (cleared first).
 */
static int
parse(const char *text, const struct port_policy *cur,
	const struct rte_ether_addr *mac, struct port_policy **out, char *err,
	size_t errlen)
{
	json_t *params = json_loads(text, 0, NULL);
	int r;

	assert_non_null(params);
	err[0] = '\0';
	r = tenant_parse(params, cur, mac, out, err, errlen);
	json_decref(params);
	if (r != 0)
		assert_null(*out);
	return r;
}

/* parse() that must succeed. */
static struct port_policy *
parse_ok(const char *text, const struct port_policy *cur,
	const struct rte_ether_addr *mac)
{
	struct port_policy *pol;
	char err[256];

	if (parse(text, cur, mac, &pol, err, sizeof(err)) != 0)
		fail_msg("%s: %s", text, err);
	return pol;
}

/* parse() that must fail with a message containing 'msg'. */
static void
parse_err(const char *text, const struct port_policy *cur, const char *msg)
{
	struct port_policy *pol;
	char err[256];

	assert_int_equal(parse(text, cur, NULL, &pol, err, sizeof(err)), -1);
	if (strstr(err, msg) == NULL)
		fail_msg("%s: '%s' does not say '%s'", text, err, msg);
}

static void
assert_ip4(const struct port_policy *pol, int i, const char *s)
{
	uint32_t a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	assert_true(i < pol->n_ip4);
	assert_true(pol->ip4[i] == a);
}

static void
assert_ip6(const struct port_policy *pol, int i, const char *s)
{
	uint8_t a[16];

	assert_int_equal(inet_pton(AF_INET6, s, a), 1);
	assert_true(i < pol->n_ip6);
	assert_memory_equal(pol->ip6[i], a, 16);
}

static void
assert_mac(const struct port_policy *pol, int i, const char *s)
{
	struct rte_ether_addr a;

	assert_int_equal(rte_ether_unformat_addr(s, &a), 0);
	assert_true(i < pol->n_macs);
	assert_true(rte_is_same_ether_addr(&pol->macs[i], &a));
}

/*
 * True if 'a' and 'b' configure the same controls (NULL: none); the
 * data-plane state and what policy_prepare() derives are not compared.
 */
static bool
same_config(const struct port_policy *a, const struct port_policy *b)
{
	static const struct port_policy none = {.dhcp_server = true};

	if (a == NULL)
		a = &none;
	if (b == NULL)
		b = &none;
	return a->n_macs == b->n_macs &&
		memcmp(a->macs, b->macs, a->n_macs * sizeof(a->macs[0])) == 0 &&
		a->n_ip4 == b->n_ip4 &&
		memcmp(a->ip4, b->ip4, a->n_ip4 * sizeof(a->ip4[0])) == 0 &&
		a->n_ip6 == b->n_ip6 &&
		memcmp(a->ip6, b->ip6, a->n_ip6 * sizeof(a->ip6[0])) == 0 &&
		a->dhcp_server == b->dhcp_server &&
		a->isolated == b->isolated &&
		a->limit_forward == b->limit_forward &&
		a->max_macs == b->max_macs && a->storm_pps == b->storm_pps &&
		a->rate_mbps == b->rate_mbps && a->burst_kb == b->burst_kb &&
		a->burst_given == b->burst_given;
}

static void
test_off_is_null(void **state)
{
	struct port_policy *pol;

	assert_null(parse_ok("{}", NULL, NULL));
	/* Every key at its "off" value. */
	assert_null(parse_ok("{\"allowed_macs\": \"any\", \"allowed_ips\": "
			     "\"any\", \"dhcp_server\": true, \"max_macs\": 0, "
			     "\"mac_limit_action\": \"drop\", "
			     "\"storm_limit_pps\": 0, \"isolated\": false, "
			     "\"rate_limit\": 0, \"burst\": 0}",
		NULL, NULL));
	/* --mac 'any': nothing. */
	assert_null(parse_ok("{\"allowed_macs\": \"any\"}", NULL, &PORT_MAC));
	/* Turning the last control off at run time. */
	pol = parse_ok("{\"isolated\": true}", NULL, NULL);
	assert_non_null(pol);
	assert_true(pol->isolated);
	assert_null(parse_ok("{\"isolated\": false}", pol, NULL));
	tenant_free(pol);
	tenant_free(NULL);
}

static void
test_lists(void **state)
{
	struct port_policy *pol;

	pol = parse_ok("{\"allowed_macs\": "
		       "\"02:00:00:00:00:0a,02:00:00:00:00:0B\", "
		       "\"allowed_ips\": \"10.0.0.10,2001:db8::10,"
		       "10.0.0.11,fe80::1\"}",
		NULL, NULL);
	assert_non_null(pol);
	assert_int_equal(pol->n_macs, 2);
	assert_mac(pol, 0, "02:00:00:00:00:0a");
	assert_mac(pol, 1, "02:00:00:00:00:0b");
	assert_int_equal(pol->n_ip4, 2);
	assert_ip4(pol, 0, "10.0.0.10");
	assert_ip4(pol, 1, "10.0.0.11");
	assert_int_equal(pol->n_ip6, 2);
	assert_ip6(pol, 0, "2001:db8::10");
	assert_ip6(pol, 1, "fe80::1");
	assert_true(pol->dhcp_server);
	assert_false(pol->isolated);
	tenant_free(pol);

	/* Eight of each: the most. */
	pol = parse_ok("{\"allowed_macs\": \"02:00:00:00:00:01,"
		       "02:00:00:00:00:02,02:00:00:00:00:03,02:00:00:00:00:04,"
		       "02:00:00:00:00:05,02:00:00:00:00:06,02:00:00:00:00:07,"
		       "02:00:00:00:00:08\", \"allowed_ips\": \"10.0.0.1,"
		       "10.0.0.2,10.0.0.3,10.0.0.4,10.0.0.5,10.0.0.6,10.0.0.7,"
		       "10.0.0.8,::1,::2,::3,::4,::5,::6,::7,"
		       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\"}",
		NULL, NULL);
	assert_int_equal(pol->n_macs, 8);
	assert_mac(pol, 7, "02:00:00:00:00:08");
	assert_int_equal(pol->n_ip4, 8);
	assert_int_equal(pol->n_ip6, 8);
	assert_ip6(pol, 7, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	tenant_free(pol);

	/* The other keys. */
	pol = parse_ok("{\"dhcp_server\": false, \"max_macs\": 4294967295, "
		       "\"mac_limit_action\": \"forward\", "
		       "\"storm_limit_pps\": 100000000, \"isolated\": true, "
		       "\"rate_limit\": 400000, \"burst\": 1048576}",
		NULL, NULL);
	assert_false(pol->dhcp_server);
	assert_true(pol->max_macs == UINT32_MAX);
	assert_true(pol->limit_forward);
	assert_int_equal(pol->storm_pps, 100000000);
	assert_true(pol->isolated);
	assert_int_equal(pol->rate_mbps, 400000);
	assert_int_equal(pol->burst_kb, 1048576);
	assert_int_equal(pol->n_macs, 0);
	assert_int_equal(pol->n_ip4 + pol->n_ip6, 0);
	/* Ready to publish: buckets full, policer at its burst. */
	assert_true(pol->storm_cap != 0 &&
		pol->dp.storm[POLICY_STORM_BCAST].tokens == pol->storm_cap);
	assert_true(pol->meter_profile.cbs == 1048576ull * 1024);
	assert_true(pol->dp.meter.tc == 1048576ull * 1024);
	tenant_free(pol);
}

static void
test_errors(void **state)
{
	char buf[1200];
	int i, n;

	parse_err("{\"allowed_macs\": \"zz\"}", NULL,
		"allowed_macs: 'zz' is not a unicast MAC address");
	parse_err("{\"allowed_macs\": \"02:00:00:00:00:01,01:00:5e:00:00:01\"}",
		NULL, "'01:00:5e:00:00:01' is not a unicast MAC");
	parse_err("{\"allowed_macs\": \"00:00:00:00:00:00\"}", NULL,
		"not a unicast MAC");
	parse_err("{\"allowed_macs\": \"02:00:00:00:00:01 \"}", NULL,
		"not a unicast MAC");
	parse_err("{\"allowed_macs\": \"\"}", NULL,
		"allowed_macs: give MAC[,MAC] or 'any'");
	parse_err("{\"allowed_macs\": \",,\"}", NULL,
		"allowed_macs: give MAC[,MAC] or 'any', not ',,'");
	parse_err("{\"allowed_macs\": \"02:00:00:00:00:01,02:00:00:00:00:02,"
		  "02:00:00:00:00:03,02:00:00:00:00:04,02:00:00:00:00:05,"
		  "02:00:00:00:00:06,02:00:00:00:00:07,02:00:00:00:00:08,"
		  "02:00:00:00:00:09\"}",
		NULL, "allowed_macs: at most 8 MACs");
	parse_err("{\"allowed_ips\": \"10.0.0.1/24\"}", NULL,
		"allowed_ips: '10.0.0.1/24' is not an IPv4 or IPv6 address");
	parse_err("{\"allowed_ips\": \"10.0.0.1,any\"}", NULL,
		"'any' is not an IPv4 or IPv6 address");
	parse_err("{\"allowed_ips\": \"1.1.1.1,1.1.1.2,1.1.1.3,1.1.1.4,"
		  "1.1.1.5,1.1.1.6,1.1.1.7,1.1.1.8,1.1.1.9\"}",
		NULL,
		"'1.1.1.9' is not an IPv4 or IPv6 address, or more than 8");
	parse_err("{\"allowed_ips\": \"\"}", NULL,
		"allowed_ips: give IP[,IP] or 'any'");
	parse_err("{\"max_macs\": -1}", NULL, "max_macs must be 0..4294967295");
	parse_err("{\"max_macs\": 4294967296}", NULL, "max_macs must be 0..");
	parse_err("{\"storm_limit_pps\": 100000001}", NULL,
		"storm_limit_pps must be 0..100000000");
	parse_err("{\"rate_limit\": 400001}", NULL,
		"rate_limit must be 0..400000");
	parse_err("{\"rate_limit\": -5}", NULL, "rate_limit must be 0..");
	parse_err("{\"rate_limit\": 10, \"burst\": 1048577}", NULL,
		"burst must be 0..1048576");
	parse_err("{\"burst\": 100}", NULL, "burst needs rate_limit");
	parse_err("{\"isolated\": true, \"rate_limit\": 0, \"burst\": 100}",
		NULL, "burst needs rate_limit");
	parse_err("{\"mac_limit_action\": \"flood\"}", NULL,
		"mac_limit_action must be drop or forward, not 'flood'");

	/* Longer than the parser's buffer: refused, not cut short. */
	n = snprintf(buf, sizeof(buf), "{\"allowed_ips\": \"");
	for (i = 0; i < 1030; i++)
		buf[n++] = ',';
	snprintf(buf + n, sizeof(buf) - (size_t)n, "10.0.0.12\"}");
	parse_err(buf, NULL, "allowed_ips: too long");
	memcpy(buf, "{\"allowed_macs\":", 16);
	parse_err(buf, NULL, "allowed_macs: too long");
}

static void
test_default_mac(void **state)
{
	struct port_policy *pol;

	/* port add --mac: that MAC only. */
	pol = parse_ok("{}", NULL, &PORT_MAC);
	assert_non_null(pol);
	assert_int_equal(pol->n_macs, 1);
	assert_true(rte_is_same_ether_addr(&pol->macs[0], &PORT_MAC));
	tenant_free(pol);
	/* allowed_macs replaces it. */
	pol = parse_ok(
		"{\"allowed_macs\": \"02:00:00:00:00:0a\"}", NULL, &PORT_MAC);
	assert_int_equal(pol->n_macs, 1);
	assert_mac(pol, 0, "02:00:00:00:00:0a");
	tenant_free(pol);
	pol = parse_ok("{\"allowed_macs\": \"any\", \"isolated\": true}", NULL,
		&PORT_MAC);
	assert_int_equal(pol->n_macs, 0);
	tenant_free(pol);
}

static void
test_port_set(void **state)
{
	struct port_policy *cur, *pol;

	cur = parse_ok("{\"allowed_macs\": \"02:00:00:00:00:0a\", "
		       "\"allowed_ips\": \"10.0.0.10,2001:db8::10\", "
		       "\"dhcp_server\": false, \"max_macs\": 5, "
		       "\"mac_limit_action\": \"forward\", "
		       "\"storm_limit_pps\": 1000, \"isolated\": true, "
		       "\"rate_limit\": 100}",
		NULL, NULL);
	assert_non_null(cur);

	/* Nothing given: the same, as a new policy. */
	pol = parse_ok("{}", cur, NULL);
	assert_ptr_not_equal(pol, cur);
	assert_true(same_config(pol, cur));
	tenant_free(pol);

	/* One key changes; the others keep their values. */
	pol = parse_ok("{\"isolated\": false}", cur, NULL);
	assert_false(pol->isolated);
	pol->isolated = true;
	assert_true(same_config(pol, cur));
	tenant_free(pol);

	pol = parse_ok("{\"allowed_ips\": \"10.0.0.20\"}", cur, NULL);
	assert_int_equal(pol->n_ip4, 1);
	assert_ip4(pol, 0, "10.0.0.20");
	assert_int_equal(pol->n_ip6, 0); /* the list is replaced whole */
	assert_int_equal(pol->n_macs, 1);
	tenant_free(pol);

	pol = parse_ok("{\"allowed_ips\": \"any\", \"allowed_macs\": \"any\"}",
		cur, NULL);
	assert_int_equal(pol->n_macs + pol->n_ip4 + pol->n_ip6, 0);
	assert_int_equal(pol->max_macs, 5);
	assert_true(pol->limit_forward);
	tenant_free(pol);

	pol = parse_ok(
		"{\"mac_limit_action\": \"drop\", \"max_macs\": 0}", cur, NULL);
	assert_false(pol->limit_forward);
	assert_int_equal(pol->max_macs, 0);
	assert_int_equal(pol->storm_pps, 1000);
	tenant_free(pol);

	/* A refused change leaves nothing (cur is the caller's). */
	parse_err("{\"isolated\": false, \"max_macs\": -3}", cur, "max_macs");
	assert_true(cur->isolated);

	/* Everything off: no policy. */
	assert_null(parse_ok("{\"allowed_macs\": \"any\", \"allowed_ips\": "
			     "\"any\", \"dhcp_server\": true, \"max_macs\": 0, "
			     "\"storm_limit_pps\": 0, \"isolated\": false, "
			     "\"rate_limit\": 0}",
		cur, NULL));
	tenant_free(cur);

	/* Over no policy: the defaults, never --mac's (port set has none). */
	pol = parse_ok("{\"isolated\": true}", NULL, NULL);
	assert_int_equal(pol->n_macs, 0);
	assert_true(pol->dhcp_server);
	tenant_free(pol);
}

static void
test_burst(void **state)
{
	struct port_policy *a, *b;

	/* Derived: 100 ms at the rate, 64 KB at least. */
	a = parse_ok("{\"rate_limit\": 100}", NULL, NULL);
	assert_int_equal(a->burst_kb, 1220); /* 1250000 bytes */
	assert_false(a->burst_given);
	assert_true(a->meter_profile.cbs == 1220 * 1024);
	b = parse_ok("{\"rate_limit\": 1}", NULL, NULL);
	assert_int_equal(b->burst_kb, 64);
	tenant_free(b);
	/* ... and it follows the rate. */
	b = parse_ok("{\"rate_limit\": 10000}", a, NULL);
	assert_int_equal(b->burst_kb, 122070);
	assert_true(b->meter_profile.cbs == 122070 * 1024);
	tenant_free(a);

	/* Given: it stays when the rate changes, until set to 0. */
	a = parse_ok("{\"burst\": 500}", b, NULL);
	tenant_free(b);
	assert_int_equal(a->burst_kb, 500);
	assert_true(a->burst_given);
	b = parse_ok("{\"rate_limit\": 20}", a, NULL);
	assert_int_equal(b->burst_kb, 500);
	assert_int_equal(b->rate_mbps, 20);
	tenant_free(a);
	a = parse_ok("{\"burst\": 0}", b, NULL);
	assert_int_equal(a->burst_kb, 244); /* 100 ms at 20 Mbit/s */
	assert_false(a->burst_given);
	tenant_free(b);

	/* The policer off drops the burst, given or not. */
	b = parse_ok("{\"burst\": 700, \"isolated\": true}", a, NULL);
	tenant_free(a);
	a = parse_ok("{\"rate_limit\": 0}", b, NULL);
	assert_int_equal(a->burst_kb, 0);
	assert_false(a->burst_given);
	tenant_free(b);
	b = parse_ok("{\"rate_limit\": 50}", a, NULL);
	assert_int_equal(b->burst_kb, 610);
	tenant_free(b);
	parse_err("{\"burst\": 100}", a, "burst needs rate_limit");
	tenant_free(a);
}

static void
test_json_all(void **state)
{
	struct port_policy *pol;
	json_t *o = json_object();

	/* port show: every key, also for a port without controls. */
	tenant_json(NULL, NULL, o, true);
	assert_string_equal(
		json_string_value(json_object_get(o, "allowed_macs")), "any");
	assert_string_equal(
		json_string_value(json_object_get(o, "allowed_ips")), "any");
	assert_true(json_is_true(json_object_get(o, "dhcp_server")));
	assert_int_equal(json_integer_value(json_object_get(o, "max_macs")), 0);
	assert_string_equal(
		json_string_value(json_object_get(o, "mac_limit_action")),
		"drop");
	assert_int_equal(
		json_integer_value(json_object_get(o, "storm_limit_pps")), 0);
	assert_true(json_is_false(json_object_get(o, "isolated")));
	assert_int_equal(
		json_integer_value(json_object_get(o, "rate_limit")), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "burst")), 0);
	assert_int_equal(json_object_size(o), 9);
	json_decref(o);

	pol = parse_ok("{\"allowed_macs\": \"02:00:00:00:00:0A,"
		       "02:00:00:00:00:0b\", \"allowed_ips\": \"2001:db8::10,"
		       "10.0.0.10\", \"rate_limit\": 100}",
		NULL, NULL);
	o = json_object();
	tenant_json(pol, NULL, o, true);
	assert_string_equal(
		json_string_value(json_object_get(o, "allowed_macs")),
		"02:00:00:00:00:0a,02:00:00:00:00:0b"); /* as `ip link` */
	/* IPv4 first, then IPv6. */
	assert_string_equal(
		json_string_value(json_object_get(o, "allowed_ips")),
		"10.0.0.10,2001:db8::10");
	assert_int_equal(json_integer_value(json_object_get(o, "burst")), 1220);
	json_decref(o);

	/* Saved: only what differs from a port's defaults. */
	o = json_object();
	tenant_json(NULL, NULL, o, false);
	assert_int_equal(json_object_size(o), 0);
	tenant_json(NULL, &PORT_MAC, o, false);
	assert_string_equal(
		json_string_value(json_object_get(o, "allowed_macs")), "any");
	json_decref(o);
	o = json_object();
	tenant_json(pol, NULL, o, false);
	assert_int_equal(json_object_size(o), 3); /* macs, ips, rate */
	json_decref(o);
	tenant_free(pol);
	pol = parse_ok("{}", NULL, &PORT_MAC);
	o = json_object();
	tenant_json(pol, &PORT_MAC, o, false);
	assert_int_equal(json_object_size(o), 0);
	json_decref(o);
	tenant_free(pol);
}

/* The values each key takes in the round trip; NULL: not given. */
static const char *const rt_macs[] = {NULL, "\"any\"", "\"02:00:00:00:00:01\"",
	"\"02:00:00:00:00:0a\"", "\"02:00:00:00:00:0a,02:00:00:00:00:0b\""};
static const char *const rt_ips[] = {NULL, "\"any\"", "\"10.0.0.10\"",
	"\"10.0.0.10,2001:db8::10,10.0.0.11\"", "\"fe80::1\""};
static const char *const rt_bools[] = {NULL, "false", "true"};
static const char *const rt_max[] = {NULL, "0", "5"};
static const char *const rt_action[] = {NULL, "\"drop\"", "\"forward\""};
static const char *const rt_storm[] = {NULL, "0", "1000"};
static const char *const rt_rate[] = {NULL, "0", "100"};
static const char *const rt_burst[] = {NULL, "0", "300"};

struct rt_key {
	const char *name;
	const char *const *values;
	unsigned int n;
};

#define RT_KEY(name, v)             \
	{                           \
		name, v, RTE_DIM(v) \
	}
static const struct rt_key rt_keys[] = {
	RT_KEY("allowed_macs", rt_macs),
	RT_KEY("allowed_ips", rt_ips),
	RT_KEY("dhcp_server", rt_bools),
	RT_KEY("max_macs", rt_max),
	RT_KEY("mac_limit_action", rt_action),
	RT_KEY("storm_limit_pps", rt_storm),
	RT_KEY("isolated", rt_bools),
	RT_KEY("rate_limit", rt_rate),
	RT_KEY("burst", rt_burst),
};

/* The params object of combination 'i' (mixed radix over rt_keys). */
static void
rt_params(unsigned int i, char *buf, size_t len)
{
	size_t n = 0;
	unsigned int k;

	n += (size_t)snprintf(buf + n, len - n, "{");
	for (k = 0; k < RTE_DIM(rt_keys); k++) {
		const char *v = rt_keys[k].values[i % rt_keys[k].n];

		i /= rt_keys[k].n;
		if (v != NULL)
			n += (size_t)snprintf(buf + n, len - n, "%s\"%s\": %s",
				n > 1 ? ", " : "", rt_keys[k].name, v);
	}
	snprintf(buf + n, len - n, "}");
}

/*
 * What a saved configuration of 'pol' on a port with 'mac' gives back: a
 * new port added with the saved keys and 'mac'.
 */
static void
assert_round_trip(const struct port_policy *pol,
	const struct rte_ether_addr *mac, const char *what)
{
	struct port_policy *back;
	json_t *o = json_object();
	char err[256];

	tenant_json(pol, mac, o, false);
	if (tenant_parse(o, NULL, mac, &back, err, sizeof(err)) != 0)
		fail_msg("%s: saved as %s: %s", what,
			json_dumps(o, JSON_COMPACT), err);
	if (!same_config(pol, back))
		fail_msg("%s: saved as %s, read back differently", what,
			json_dumps(o, JSON_COMPACT));
	/* NULL exactly when nothing is on. */
	assert_true((pol == NULL) == (back == NULL));
	tenant_free(back);
	json_decref(o);
}

static void
test_json_round_trip(void **state)
{
	const struct rte_ether_addr *macs[] = {NULL, &PORT_MAC};
	struct port_policy *pol, *cur[2] = {NULL, NULL};
	unsigned int i, total = 1, k, m, added = 0, refused = 0;
	char params[512], err[256];

	for (k = 0; k < RTE_DIM(rt_keys); k++)
		total *= rt_keys[k].n;
	for (i = 0; i < total; i++) {
		bool burst, rate;

		rt_params(i, params, sizeof(params));
		burst = strstr(params, "\"burst\": 300") != NULL;
		rate = strstr(params, "\"rate_limit\": 100") != NULL;
		for (m = 0; m < RTE_DIM(macs); m++) {
			/* port add with these keys, then save and load. */
			if (parse(params, NULL, macs[m], &pol, err,
				    sizeof(err)) != 0) {
				assert_true(burst && !rate);
				refused++;
			} else {
				assert_false(burst && !rate);
				assert_round_trip(pol, macs[m], params);
				tenant_free(pol);
				added++;
			}
			/*
			 * port set with them over what the previous sets
			 * left, then save and load.
			 */
			if (parse(params, cur[m], NULL, &pol, err,
				    sizeof(err)) != 0) {
				assert_string_equal(err,
					"burst needs rate_limit (the "
					"policer is off)");
				continue;
			}
			assert_round_trip(pol, macs[m], params);
			tenant_free(cur[m]);
			cur[m] = pol;
		}
	}
	print_message("%u combinations: %u ports added, %u refused\n", total,
		added, refused);
	assert_true(added > refused);
	tenant_free(cur[0]);
	tenant_free(cur[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off_is_null),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_default_mac),
		cmocka_unit_test(test_port_set),
		cmocka_unit_test(test_burst),
		cmocka_unit_test(test_json_all),
		cmocka_unit_test(test_json_round_trip),
	};

	if (ut_eal_init("tenant") != 0)
		return 1;
	return cmocka_run_group_tests_name("tenant", tests, NULL, NULL);
}
