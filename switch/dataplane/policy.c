/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * policy.c - a port's tenant controls on the data path (see policy.h).
 *
 * The frame checks read the bytes as received and never trust a length
 * field without checking it against the frame: a truncated ARP or ICMPv6
 * packet whose addresses a check needs is dropped, one that no check
 * concerns is passed.
 */
#include <errno.h>
#include <string.h>

#include <rte_byteorder.h>

#include "policy.h"

#define ETH_HLEN 14
#define VLAN_HLEN 4
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806
#define ETHERTYPE_IPV6 0x86dd
#define ARP_LEN 28 /* Ethernet/IPv4 ARP */
#define IPV6_HLEN 40
#define IPV6_MAX_EXT 8 /* extension headers walked before ICMPv6 or UDP */
#define PROTO_HOPOPTS 0
#define PROTO_UDP 17
#define PROTO_ROUTING 43
#define PROTO_FRAGMENT 44
#define PROTO_AH 51
#define PROTO_DSTOPTS 60
#define PROTO_ICMPV6 58
#define ND_NS 135
#define ND_NA 136
#define ND_OPT_SLLA 1
#define ND_OPT_TLLA 2
#define DHCP6_SERVER_PORT 547

static inline uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool
ip4_allowed(const struct port_policy *pol, const uint8_t *ip)
{
	uint32_t a;
	uint8_t i;

	if (pol->n_ip4 == 0)
		return true;
	memcpy(&a, ip, sizeof(a));
	for (i = 0; i < pol->n_ip4; i++)
		if (pol->ip4[i] == a)
			return true;
	return false;
}

/* fe80::/64 with the modified EUI-64 interface id of 'mac'. */
static bool
is_eui64_link_local(const uint8_t *ip, const uint8_t *mac)
{
	static const uint8_t prefix[8] = {0xfe, 0x80};
	uint8_t id[8] = {mac[0] ^ 0x02, mac[1], mac[2], 0xff, 0xfe, mac[3],
		mac[4], mac[5]};

	return memcmp(ip, prefix, 8) == 0 && memcmp(ip + 8, id, 8) == 0;
}

static bool
ip6_allowed(const struct port_policy *pol, const uint8_t *ip)
{
	uint8_t i;

	if (pol->n_ip6 == 0)
		return true;
	for (i = 0; i < pol->n_ip6; i++)
		if (memcmp(pol->ip6[i], ip, 16) == 0)
			return true;
	for (i = 0; i < pol->n_macs; i++)
		if (is_eui64_link_local(ip, pol->macs[i].addr_bytes))
			return true;
	return false;
}

/* ARP for Ethernet and IPv4: the sender's MAC and IPv4 address. */
static enum policy_verdict
check_arp(const struct port_policy *pol, const uint8_t *p, uint32_t len)
{
	static const uint8_t sender_ip_zero[4];

	if (pol->n_macs == 0 && pol->n_ip4 == 0)
		return POLICY_PASS;
	/* htype 1, ptype IPv4, hlen 6, plen 4: anything else is dropped. */
	if (len < ARP_LEN || be16(p) != 1 || be16(p + 2) != ETHERTYPE_IPV4 ||
		p[4] != 6 || p[5] != 4)
		return POLICY_DROP_ARP;
	if (!policy_mac_allowed(pol, p + 8))
		return POLICY_DROP_ARP;
	/* 0.0.0.0: an address probe (RFC 5227), which claims nothing. */
	if (memcmp(p + 14, sender_ip_zero, 4) != 0 && !ip4_allowed(pol, p + 14))
		return POLICY_DROP_ARP;
	return POLICY_PASS;
}

/*
 * ICMPv6 neighbour solicitation (its IPv6 source address, unless
 * unspecified, and its source link-layer option) and advertisement (its
 * target address and target link-layer option) at offset 'off' of the
 * IPv6 packet 'ip6' of 'len' bytes.  Receivers of a solicitation map its
 * source address to its source link-layer address, as they do an ARP
 * sender's.
 */
static enum policy_verdict
check_nd(const struct port_policy *pol, const uint8_t *ip6, uint32_t off,
	uint32_t len)
{
	static const uint8_t unspecified[16];
	const uint8_t *p = ip6 + off;

	len -= off;
	if (len < 24) /* type, code, checksum, flags, target */
		return POLICY_DROP_ND;
	if (p[0] == ND_NA && !ip6_allowed(pol, p + 8))
		return POLICY_DROP_ND;
	/* From ::, duplicate address detection, which claims nothing. */
	if (p[0] == ND_NS && memcmp(ip6 + 8, unspecified, 16) != 0 &&
		!ip6_allowed(pol, ip6 + 8))
		return POLICY_DROP_ND;
	for (off = 24; off + 2 <= len;) {
		uint32_t olen = (uint32_t)p[off + 1] * 8;

		if (olen == 0 || off + olen > len)
			return POLICY_DROP_ND; /* malformed options */
		if (((p[0] == ND_NS && p[off] == ND_OPT_SLLA) ||
			    (p[0] == ND_NA && p[off] == ND_OPT_TLLA)) &&
			(olen < 8 || !policy_mac_allowed(pol, p + off + 2)))
			return POLICY_DROP_ND;
		off += olen;
	}
	return POLICY_PASS;
}

/* UDP from a DHCP (67) or DHCPv6 (547) server port. */
static bool
is_dhcp_server(const uint8_t *udp, uint32_t len, uint16_t server_port)
{
	return len >= 8 && be16(udp) == server_port;
}

/*
 * Finds the upper-layer header of the IPv6 packet 'p' of 'len' bytes
 * behind its extension headers: its offset in *off and protocol in *nh.
 * 0; 1 if there is none to look at (a later fragment, or a chain that runs
 * off the packet, which no receiver parses either); -1 if the chain is
 * longer than IPV6_MAX_EXT headers.
 */
static int
ipv6_upper(const uint8_t *p, uint32_t len, uint32_t *off, uint8_t *nh)
{
	uint32_t hlen;
	int i;

	*off = IPV6_HLEN;
	*nh = p[6];
	for (i = 0; i <= IPV6_MAX_EXT; i++) {
		if (*nh != PROTO_HOPOPTS && *nh != PROTO_ROUTING &&
			*nh != PROTO_FRAGMENT && *nh != PROTO_AH &&
			*nh != PROTO_DSTOPTS)
			return 0;
		if (i == IPV6_MAX_EXT)
			break;
		if (len - *off < 8)
			return 1;
		if (*nh == PROTO_FRAGMENT) {
			/* Only a first fragment carries the upper header. */
			if ((be16(p + *off + 2) & 0xfff8) != 0)
				return 1;
			hlen = 8;
		} else if (*nh == PROTO_AH) {
			hlen = ((uint32_t)p[*off + 1] + 2) * 4;
		} else {
			hlen = ((uint32_t)p[*off + 1] + 1) * 8;
		}
		if (hlen > len - *off)
			return 1;
		*nh = p[*off];
		*off += hlen;
	}
	return -1;
}

static enum policy_verdict
check_ipv6(const struct port_policy *pol, const uint8_t *p, uint32_t len)
{
	bool nd = pol->n_macs || pol->n_ip6;
	uint32_t off;
	uint8_t nh;
	int r;

	if (len < IPV6_HLEN || (p[0] >> 4) != 6 || (!nd && pol->dhcp_server))
		return POLICY_PASS;
	/*
	 * Receivers act on neighbour discovery and DHCPv6 behind hop-by-hop,
	 * routing and destination options headers, so these are skipped; a
	 * chain too long to follow may hide either and is dropped.
	 */
	r = ipv6_upper(p, len, &off, &nh);
	if (r < 0)
		return nd ? POLICY_DROP_ND : POLICY_DROP_DHCP;
	if (r > 0)
		return POLICY_PASS;
	if (nd && nh == PROTO_ICMPV6 && off < len &&
		(p[off] == ND_NS || p[off] == ND_NA))
		return check_nd(pol, p, off, len);
	if (nh == PROTO_UDP && !pol->dhcp_server &&
		is_dhcp_server(p + off, len - off, DHCP6_SERVER_PORT))
		return POLICY_DROP_DHCP;
	return POLICY_PASS;
}

enum policy_verdict
policy_check_full(
	const struct port_policy *pol, const uint8_t *frame, uint32_t len)
{
	uint32_t off = ETH_HLEN;
	uint16_t type;

	if (len < ETH_HLEN)
		return POLICY_DROP_SRC_MAC;
	if (!policy_mac_allowed(pol, frame + RTE_ETHER_ADDR_LEN))
		return POLICY_DROP_SRC_MAC;
	type = be16(frame + 12);
	while ((type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ) &&
		len >= off + VLAN_HLEN) {
		type = be16(frame + off + 2);
		off += VLAN_HLEN;
	}
	switch (type) {
	case ETHERTYPE_ARP:
		return check_arp(pol, frame + off, len - off);
	case ETHERTYPE_IPV4:
		return policy_check_ipv4(pol, frame + off, len - off);
	case ETHERTYPE_IPV6:
		return check_ipv6(pol, frame + off, len - off);
	}
	return POLICY_PASS;
}

int
policy_add_mac(struct port_policy *pol, const struct rte_ether_addr *mac)
{
	if (pol->n_macs == POLICY_MAX_MACS)
		return -ENOSPC;
	pol->macs[pol->n_macs] = *mac;
	pol->mac_words[pol->n_macs] = policy_mac_word(mac->addr_bytes);
	pol->n_macs++;
	return 0;
}

int
policy_prepare(struct port_policy *pol, uint64_t hz)
{
	struct rte_meter_srtcm_params mp;
	uint64_t burst, i;

	memset(&pol->dp, 0, sizeof(pol->dp));
	rte_spinlock_init(&pol->dp.lock);
	if (pol->storm_pps != 0) {
		/* A tenth of a second of packets, at least a burst. */
		burst = RTE_MAX((uint64_t)pol->storm_pps / 10, (uint64_t)32);
		pol->storm_cap = burst * hz;
		pol->storm_fill = burst * hz / pol->storm_pps + 1;
		for (i = 0; i < POLICY_STORM_COUNT; i++)
			pol->dp.storm[i].tokens = pol->storm_cap;
	}
	if (pol->rate_mbps != 0) {
		mp.cir = (uint64_t)pol->rate_mbps * 1000000 / 8; /* bytes/s */
		mp.cbs = (uint64_t)pol->burst_kb * 1024;
		mp.ebs = 0;
		if (rte_meter_srtcm_profile_config(&pol->meter_profile, &mp) !=
				0 ||
			rte_meter_srtcm_config(
				&pol->dp.meter, &pol->meter_profile) != 0)
			return -EINVAL;
	}
	return 0;
}

bool
policy_storm_take(
	struct port_policy *pol, enum policy_storm c, uint64_t now, uint64_t hz)
{
	struct policy_bucket *b = &pol->dp.storm[c];
	uint64_t add;

	if (now > b->last) {
		/* storm_fill fills any bucket; longer would overflow. */
		add = RTE_MIN(now - b->last, pol->storm_fill) * pol->storm_pps;
		b->tokens = pol->storm_cap - b->tokens > add ? b->tokens + add
							     : pol->storm_cap;
		b->last = now;
	}
	if (b->tokens < hz)
		return false;
	b->tokens -= hz;
	return true;
}
