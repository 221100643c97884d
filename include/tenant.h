/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tenant.h - a port's tenant controls as options: parsing the keys of
 * `port add` and `port set` (CTL_TENANT_PARAMS in ctl.h) into a struct
 * port_policy (policy.h), and showing and saving them.
 *
 * The keys: allowed_macs ("MAC[,MAC]" or "any"), allowed_ips ("IP[,IP]",
 * IPv4 and IPv6, or "any"), dhcp_server (bool), max_macs, mac_limit_action
 * ("drop" or "forward"), storm_limit_pps, isolated (bool), rate_limit
 * (Mbit/s) and burst (KB; needs a rate; without it 100 ms at the rate,
 * which follows the rate when `port set` changes it).  A port with --mac
 * and no allowed_macs allows that MAC only.
 *
 * Thread-safety: control thread only.
 */
#ifndef VHSW_TENANT_H
#define VHSW_TENANT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <rte_ether.h>

struct port_policy;

/*
 * Builds a port's policy from the tenant keys in 'params' over 'cur' (the
 * port's current policy for `port set`; NULL for `port add`, where 'mac',
 * the port's --mac or NULL, is the default allowed MAC).  *out is a new
 * policy ready to publish, or NULL when no control is on.  0, or -1 with a
 * message in 'err'.
 */
int tenant_parse(json_t *params, const struct port_policy *cur,
	const struct rte_ether_addr *mac, struct port_policy **out, char *err,
	size_t errlen);

/*
 * Adds the tenant keys of 'pol' (NULL: none on) to 'o': every key for
 * `port show` ('all'), or the ones that differ from the defaults of a port
 * with MAC 'mac' (NULL: none) for a saved configuration, so that
 * tenant_parse() of the saved object gives the same policy.
 */
void tenant_json(const struct port_policy *pol,
	const struct rte_ether_addr *mac, json_t *o, bool all);

/* Frees a policy no data plane can reach any more.  NULL is fine. */
void tenant_free(struct port_policy *pol);

#endif /* VHSW_TENANT_H */
