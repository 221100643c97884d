/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tenant.c - a port's tenant controls as options (see tenant.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_malloc.h>

#include "policy.h"
#include "port.h"
#include "tenant.h"

#define TENANT_MIN_BURST_KB 64u
#define TENANT_MAX_RATE_MBPS 400000
#define TENANT_MAX_BURST_KB (1u << 20)
#define TENANT_MAX_STORM_PPS 100000000

/* Parses "MAC[,MAC]" or "any" into pol->macs.  0 or -1 with 'err' set. */
static int
parse_macs(const char *s, struct port_policy *pol, char *err, size_t errlen)
{
	char buf[512], *tok, *save;

	pol->n_macs = 0;
	if (strcmp(s, "any") == 0)
		return 0;
	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen,
			"allowed_macs: too long (at most %d MACs)",
			POLICY_MAX_MACS);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
		tok = strtok_r(NULL, ",", &save)) {
		struct rte_ether_addr a;

		if (rte_ether_unformat_addr(tok, &a) != 0 ||
			!rte_is_valid_assigned_ether_addr(&a)) {
			snprintf(err, errlen,
				"allowed_macs: '%s' is not a unicast MAC "
				"address",
				tok);
			return -1;
		}
		if (policy_add_mac(pol, &a) != 0) {
			snprintf(err, errlen, "allowed_macs: at most %d MACs",
				POLICY_MAX_MACS);
			return -1;
		}
	}
	if (pol->n_macs == 0) {
		snprintf(err, errlen,
			"allowed_macs: give MAC[,MAC] or 'any', not '%s'", s);
		return -1;
	}
	return 0;
}

/* Parses "IP[,IP]" or "any" into pol->ip4/ip6.  0 or -1 with 'err' set. */
static int
parse_ips(const char *s, struct port_policy *pol, char *err, size_t errlen)
{
	char buf[1024], *tok, *save;
	int n = 0;

	pol->n_ip4 = pol->n_ip6 = 0;
	if (strcmp(s, "any") == 0)
		return 0;
	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen,
			"allowed_ips: too long (at most %d of each family)",
			POLICY_MAX_IPS);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
		tok = strtok_r(NULL, ",", &save), n++) {
		if (pol->n_ip4 < POLICY_MAX_IPS &&
			inet_pton(AF_INET, tok, &pol->ip4[pol->n_ip4]) == 1) {
			pol->n_ip4++;
		} else if (pol->n_ip6 < POLICY_MAX_IPS &&
			inet_pton(AF_INET6, tok, pol->ip6[pol->n_ip6]) == 1) {
			pol->n_ip6++;
		} else {
			snprintf(err, errlen,
				"allowed_ips: '%s' is not an IPv4 or IPv6 "
				"address, or more than %d of a family",
				tok, POLICY_MAX_IPS);
			return -1;
		}
	}
	if (n == 0) {
		snprintf(err, errlen,
			"allowed_ips: give IP[,IP] or 'any', not '%s'", s);
		return -1;
	}
	return 0;
}

/* params[key] into *v when present: 0..max, else -1 with 'err' set. */
static int
get_uint(json_t *params, const char *key, uint32_t max, uint32_t *v, char *err,
	size_t errlen)
{
	json_t *j = json_object_get(params, key);

	if (!json_is_integer(j))
		return 0;
	if (json_integer_value(j) < 0 || json_integer_value(j) > max) {
		snprintf(err, errlen, "%s must be 0..%u", key, max);
		return -1;
	}
	*v = (uint32_t)json_integer_value(j);
	return 0;
}

static void
get_bool(json_t *params, const char *key, bool *v)
{
	json_t *j = json_object_get(params, key);

	if (json_is_boolean(j))
		*v = json_is_true(j);
}

/* The policer's burst at 'rate_mbps' without --burst: 100 ms, 64 KB at least. */
static uint32_t
default_burst_kb(uint32_t rate_mbps)
{
	if (rate_mbps == 0)
		return 0;
	return RTE_MAX(TENANT_MIN_BURST_KB,
		(uint32_t)((uint64_t)rate_mbps * 12500 / 1024));
}

/* True if 'pol' turns no control on. */
static bool
policy_is_off(const struct port_policy *pol)
{
	return !policy_checks_frames(pol) && !pol->isolated &&
		pol->max_macs == 0 && pol->storm_pps == 0 &&
		pol->rate_mbps == 0;
}

int
tenant_parse(json_t *params, const struct port_policy *cur,
	const struct rte_ether_addr *mac, struct port_policy **out, char *err,
	size_t errlen)
{
	const char *macs = json_string_value(
			   json_object_get(params, "allowed_macs")),
		   *ips = json_string_value(
			   json_object_get(params, "allowed_ips")),
		   *action = json_string_value(
			   json_object_get(params, "mac_limit_action"));
	json_t *burst = json_object_get(params, "burst");
	struct port_policy pol;

	*out = NULL;
	if (cur != NULL) {
		memcpy(&pol, cur, sizeof(pol));
	} else {
		memset(&pol, 0, sizeof(pol));
		pol.dhcp_server = true;
		if (mac != NULL) {
			policy_add_mac(&pol, mac);
		}
	}
	if ((macs != NULL && parse_macs(macs, &pol, err, errlen) != 0) ||
		(ips != NULL && parse_ips(ips, &pol, err, errlen) != 0) ||
		get_uint(params, "max_macs", UINT32_MAX, &pol.max_macs, err,
			errlen) != 0 ||
		get_uint(params, "storm_limit_pps", TENANT_MAX_STORM_PPS,
			&pol.storm_pps, err, errlen) != 0 ||
		get_uint(params, "rate_limit", TENANT_MAX_RATE_MBPS,
			&pol.rate_mbps, err, errlen) != 0 ||
		get_uint(params, "burst", TENANT_MAX_BURST_KB, &pol.burst_kb,
			err, errlen) != 0)
		return -1;
	if (action != NULL) {
		if (strcmp(action, "drop") != 0 &&
			strcmp(action, "forward") != 0) {
			snprintf(err, errlen,
				"mac_limit_action must be drop or forward, not "
				"'%s'",
				action);
			return -1;
		}
		pol.limit_forward = strcmp(action, "forward") == 0;
	}
	get_bool(params, "dhcp_server", &pol.dhcp_server);
	get_bool(params, "isolated", &pol.isolated);
	if (json_is_integer(burst)) {
		if (pol.rate_mbps == 0 && pol.burst_kb != 0) {
			snprintf(err, errlen,
				"burst needs rate_limit (the policer is off)");
			return -1;
		}
		pol.burst_given = pol.burst_kb != 0;
	}
	/* A given burst stays; a derived one follows the rate. */
	if (pol.rate_mbps == 0)
		pol.burst_given = false;
	if (!pol.burst_given)
		pol.burst_kb = default_burst_kb(pol.rate_mbps);
	if (policy_is_off(&pol))
		return 0;
	*out = rte_zmalloc("port_policy", sizeof(pol), RTE_CACHE_LINE_SIZE);
	if (*out == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(*out, &pol, sizeof(pol));
	if (policy_prepare(*out, rte_get_tsc_hz()) != 0) {
		snprintf(err, errlen, "cannot set up the policer");
		rte_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* "a,b,c" of the allowed MACs, or "any". */
static json_t *
macs_json(const struct port_policy *pol)
{
	char buf[POLICY_MAX_MACS * RTE_ETHER_ADDR_FMT_SIZE] = "any";
	size_t n = 0;
	uint8_t i;

	for (i = 0; i < pol->n_macs; i++) {
		if (i > 0)
			buf[n++] = ',';
		port_mac_format(buf + n, sizeof(buf) - n, &pol->macs[i]);
		n += strlen(buf + n);
	}
	return json_string(buf);
}

static json_t *
ips_json(const struct port_policy *pol)
{
	char buf[POLICY_MAX_IPS * 2 * (INET6_ADDRSTRLEN + 1)] = "any";
	size_t n = 0;
	uint8_t i;

	for (i = 0; i < pol->n_ip4; i++) {
		if (n > 0)
			buf[n++] = ',';
		inet_ntop(AF_INET, &pol->ip4[i], buf + n, sizeof(buf) - n);
		n += strlen(buf + n);
	}
	for (i = 0; i < pol->n_ip6; i++) {
		if (n > 0)
			buf[n++] = ',';
		inet_ntop(AF_INET6, pol->ip6[i], buf + n, sizeof(buf) - n);
		n += strlen(buf + n);
	}
	return json_string(buf);
}

void
tenant_json(const struct port_policy *pol, const struct rte_ether_addr *mac,
	json_t *o, bool all)
{
	static const struct port_policy none = {.dhcp_server = true};
	bool default_macs;

	if (pol == NULL)
		pol = &none;
	default_macs = mac != NULL
		? pol->n_macs == 1 && rte_is_same_ether_addr(&pol->macs[0], mac)
		: pol->n_macs == 0;
	if (all || !default_macs)
		json_object_set_new(o, "allowed_macs", macs_json(pol));
	if (all || pol->n_ip4 || pol->n_ip6)
		json_object_set_new(o, "allowed_ips", ips_json(pol));
	if (all || !pol->dhcp_server)
		json_object_set_new(
			o, "dhcp_server", json_boolean(pol->dhcp_server));
	if (all || pol->max_macs)
		json_object_set_new(o, "max_macs", json_integer(pol->max_macs));
	if (all || pol->limit_forward)
		json_object_set_new(o, "mac_limit_action",
			json_string(pol->limit_forward ? "forward" : "drop"));
	if (all || pol->storm_pps)
		json_object_set_new(
			o, "storm_limit_pps", json_integer(pol->storm_pps));
	if (all || pol->isolated)
		json_object_set_new(o, "isolated", json_boolean(pol->isolated));
	if (all || pol->rate_mbps)
		json_object_set_new(
			o, "rate_limit", json_integer(pol->rate_mbps));
	if (all || pol->burst_given)
		json_object_set_new(o, "burst", json_integer(pol->burst_kb));
}

void
tenant_free(struct port_policy *pol)
{
	rte_free(pol);
}
