/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_policy.c - a port's tenant controls on the data path (policy.h):
 * policy_check() on real frames built byte by byte (source MAC, ARP, IPv6
 * neighbour discovery with its options and extension headers, DHCP and
 * DHCPv6 servers, 802.1Q tags, runts), the storm buckets on a synthetic
 * clock, and the srTCM policer's burst and refill.  The EAL is up only
 * for librte_meter (its profile reads the TSC rate).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_meter.h>

#include "policy.h"
#include "ut_eal.h"
#include "ut_frame.h"

/* The peer's MAC and addresses, and others it must not claim. */
static const uint8_t MAC_OK[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t MAC_BAD[6] = {0x02, 0, 0, 0, 0, 0x0b};
static const uint8_t MAC_BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t MAC_ZERO[6];
#define IP4_OK "10.0.0.10"
#define IP4_BAD "10.0.0.11"
#define IP6_OK "2001:db8::10"
#define IP6_BAD "2001:db8::11"
#define LL_OK "fe80::ff:fe00:a"  /* EUI-64 of MAC_OK */
#define LL_BAD "fe80::ff:fe00:b" /* EUI-64 of MAC_BAD */

#define ETHERTYPE_ARP 0x0806
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd

static void
put_ip4(struct frame *f, const char *s)
{
	uint8_t a[4];

	assert_int_equal(inet_pton(AF_INET, s, a), 1);
	putn(f, a, 4);
}

static void
put_ip6(struct frame *f, const char *s)
{
	uint8_t a[16];

	assert_int_equal(inet_pton(AF_INET6, s, a), 1);
	putn(f, a, 16);
}

/*
 * Starts 'f' with an Ethernet header from 'src' and 'ntags' 802.1Q tags
 * (VLAN 100, 200, ...; the first one 802.1ad when there are two).
 */
static void
eth(struct frame *f, const uint8_t *dst, const uint8_t *src, uint16_t type,
	int ntags)
{
	int i;

	f->n = 0;
	putn(f, dst, 6);
	putn(f, src, 6);
	for (i = 0; i < ntags; i++) {
		put16(f, i == 0 && ntags > 1 ? 0x88a8 : 0x8100);
		put16(f, (uint16_t)(100 * (i + 1)));
	}
	put16(f, type);
}

/* Ethernet/IPv4 ARP 'op' from 'sha'/'spa' about 'tpa'. */
static void
arp(struct frame *f, int ntags, uint16_t op, const uint8_t *sha,
	const char *spa, const char *tpa)
{
	eth(f, MAC_BCAST, MAC_OK, ETHERTYPE_ARP, ntags);
	put16(f, 1);      /* htype Ethernet */
	put16(f, 0x0800); /* ptype IPv4 */
	put8(f, 6);
	put8(f, 4);
	put16(f, op);
	putn(f, sha, 6);
	put_ip4(f, spa);
	putn(f, op == 1 ? MAC_ZERO : MAC_BCAST, 6);
	put_ip4(f, tpa);
}

/*
 * A BOOTP reply in UDP from 'sport' in IPv4 with fragment field 'frag' and
 * 'opt_words' words of IPv4 options.
 */
static void
ipv4_udp(struct frame *f, int ntags, const char *src, const char *dst,
	uint16_t sport, uint16_t dport, uint16_t frag, int opt_words)
{
	int i;

	eth(f, MAC_BCAST, MAC_OK, ETHERTYPE_IPV4, ntags);
	put8(f, (uint8_t)(0x45 + opt_words));
	put8(f, 0);
	put16(f, (uint16_t)(20 + 4 * opt_words + 8 + 240));
	put16(f, 1);    /* id */
	put16(f, frag); /* flags and fragment offset */
	put8(f, 64);
	put8(f, 17); /* UDP */
	put16(f, 0);
	put_ip4(f, src);
	put_ip4(f, dst);
	for (i = 0; i < opt_words; i++)
		put32(f, 0x01010101); /* NOPs */
	put16(f, sport);
	put16(f, dport);
	put16(f, 8 + 240);
	put16(f, 0);
	/* A BOOTP reply: op 2, then zeros up to the magic cookie. */
	put8(f, 2);
	for (i = 1; i < 236; i++)
		put8(f, 0);
	put32(f, 0x63825363);
}

/* IPv6 header from 'src'; the caller writes what 'nh' announces. */
static void
ipv6(struct frame *f, int ntags, const char *src, const char *dst, uint8_t nh)
{
	eth(f, MAC_BCAST, MAC_OK, ETHERTYPE_IPV6, ntags);
	put32(f, 0x60000000); /* version, class, flow */
	put16(f, 0);          /* payload length: not read */
	put8(f, nh);
	put8(f, 255);
	put_ip6(f, src);
	put_ip6(f, dst);
}

/* An 8-byte hop-by-hop or destination options header: padding only. */
static void
ext_opts(struct frame *f, uint8_t nh)
{
	put8(f, nh);
	put8(f, 0);
	put16(f, 0x0104); /* PadN, 4 bytes */
	put32(f, 0);
}

/* A fragment header at fragment offset 'offset' (8-byte units). */
static void
ext_frag(struct frame *f, uint8_t nh, uint16_t offset, bool more)
{
	put8(f, nh);
	put8(f, 0);
	put16(f, (uint16_t)(offset << 3 | (more ? 1 : 0)));
	put32(f, 0x12345678); /* identification */
}

/* ICMPv6 NS or NA for 'target', without options. */
static void
nd_body(struct frame *f, uint8_t type, const char *target)
{
	put8(f, type);
	put8(f, 0);
	put16(f, 0);
	put32(f, type == 136 ? 0x20000000 : 0); /* NA: override */
	put_ip6(f, target);
}

/* An 8-byte ND option whose length field says 'units' (of 8 bytes). */
static void
nd_opt(struct frame *f, uint8_t type, uint8_t units, const uint8_t *mac)
{
	put8(f, type);
	put8(f, units);
	putn(f, mac, 6);
}

/* A link-layer address option (1 SLLA, 2 TLLA) of 'mac'. */
static void
nd_lla(struct frame *f, uint8_t type, const uint8_t *mac)
{
	nd_opt(f, type, 1, mac);
}

/* NS from 'src' for 'target', with an SLLA of 'slla' unless NULL. */
static void
nd_ns(struct frame *f, int ntags, const char *src, const char *target,
	const uint8_t *slla)
{
	ipv6(f, ntags, src, "ff02::1:ff00:10", 58);
	nd_body(f, 135, target);
	if (slla != NULL)
		nd_lla(f, 1, slla);
}

/* NA for 'target', with a TLLA of 'tlla' unless NULL. */
static void
nd_na(struct frame *f, int ntags, const char *target, const uint8_t *tlla)
{
	ipv6(f, ntags, target, "ff02::1", 58);
	nd_body(f, 136, target);
	if (tlla != NULL)
		nd_lla(f, 2, tlla);
}

/* A DHCPv6 message in UDP from 'sport' (an Advertise from a server). */
static void
dhcp6_udp(struct frame *f, uint16_t sport, uint16_t dport)
{
	put16(f, sport);
	put16(f, dport);
	put16(f, 12);
	put16(f, 0);
	put32(f, 0x02001234); /* Advertise, transaction id */
}

static void
pol_init(struct port_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->dhcp_server = true;
}

static void
pol_mac(struct port_policy *p, const uint8_t *mac)
{
	struct rte_ether_addr a;

	memcpy(a.addr_bytes, mac, 6);
	assert_int_equal(policy_add_mac(p, &a), 0);
}

static void
pol_ip(struct port_policy *p, const char *s)
{
	if (strchr(s, ':') != NULL)
		assert_int_equal(inet_pton(AF_INET6, s, p->ip6[p->n_ip6++]), 1);
	else
		assert_int_equal(inet_pton(AF_INET, s, &p->ip4[p->n_ip4++]), 1);
}

/* The policy of a peer with MAC_OK, IP4_OK and IP6_OK, no DHCP server. */
static void
pol_full(struct port_policy *p)
{
	pol_init(p);
	pol_mac(p, MAC_OK);
	pol_ip(p, IP4_OK);
	pol_ip(p, IP6_OK);
	p->dhcp_server = false;
}

#define CHECK(pol, f, verdict) \
	assert_int_equal(policy_check(pol, (f)->b, (f)->n), verdict)

static void
test_src_mac(void **state)
{
	struct port_policy p, any;
	struct frame f;
	uint32_t n;

	pol_init(&p);
	pol_mac(&p, MAC_OK);
	assert_true(policy_checks_frames(&p));
	eth(&f, MAC_BCAST, MAC_OK, 0x88b5, 0);
	putn(&f, MAC_ZERO, 6);
	CHECK(&p, &f, POLICY_PASS);
	eth(&f, MAC_BCAST, MAC_BAD, 0x88b5, 0);
	putn(&f, MAC_ZERO, 6);
	CHECK(&p, &f, POLICY_DROP_SRC_MAC);
	/* A second allowed MAC. */
	pol_mac(&p, MAC_BAD);
	CHECK(&p, &f, POLICY_PASS);
	/* allowed_macs any: only the other checks. */
	pol_init(&any);
	any.dhcp_server = false;
	CHECK(&any, &f, POLICY_PASS);

	/* Runts: no source MAC to check, dropped; 14 bytes are a frame. */
	eth(&f, MAC_BCAST, MAC_OK, 0x88b5, 0);
	assert_int_equal(f.n, 14);
	CHECK(&p, &f, POLICY_PASS);
	for (n = 0; n < 14; n++) {
		assert_int_equal(policy_check(&p, f.b, n), POLICY_DROP_SRC_MAC);
		assert_int_equal(
			policy_check(&any, f.b, n), POLICY_DROP_SRC_MAC);
	}
}

static void
test_checks_frames(void **state)
{
	struct port_policy p;

	pol_init(&p);
	assert_false(policy_checks_frames(&p));
	p.isolated = true;
	p.max_macs = 4;
	p.storm_pps = 100;
	p.rate_mbps = 10;
	assert_false(policy_checks_frames(&p));
	p.dhcp_server = false;
	assert_true(policy_checks_frames(&p));
	pol_init(&p);
	pol_ip(&p, IP4_OK);
	assert_true(policy_checks_frames(&p));
	pol_init(&p);
	pol_ip(&p, IP6_OK);
	assert_true(policy_checks_frames(&p));
}

static void
test_arp(void **state)
{
	struct port_policy p, ip_only, other;
	struct frame f;
	uint32_t n;
	uint16_t op;

	pol_full(&p);
	for (op = 1; op <= 2; op++) {
		arp(&f, 0, op, MAC_OK, IP4_OK, "10.0.0.1");
		CHECK(&p, &f, POLICY_PASS);
		/* Gratuitous: sender and target the same address. */
		arp(&f, 0, op, MAC_OK, IP4_OK, IP4_OK);
		CHECK(&p, &f, POLICY_PASS);
		arp(&f, 0, op, MAC_OK, IP4_BAD, IP4_BAD);
		CHECK(&p, &f, POLICY_DROP_ARP);
		/* Spoofed sender MAC (the Ethernet source is allowed). */
		arp(&f, 0, op, MAC_BAD, IP4_OK, "10.0.0.1");
		CHECK(&p, &f, POLICY_DROP_ARP);
		/* Spoofed sender IP. */
		arp(&f, 0, op, MAC_OK, IP4_BAD, "10.0.0.1");
		CHECK(&p, &f, POLICY_DROP_ARP);
	}
	/* A probe (RFC 5227) claims nothing, for whatever target. */
	arp(&f, 0, 1, MAC_OK, "0.0.0.0", IP4_BAD);
	CHECK(&p, &f, POLICY_PASS);
	arp(&f, 0, 1, MAC_BAD, "0.0.0.0", IP4_OK);
	CHECK(&p, &f, POLICY_DROP_ARP);

	/* Ethernet padding after the 28 bytes is fine. */
	arp(&f, 0, 2, MAC_OK, IP4_OK, "10.0.0.1");
	while (f.n < 60)
		put8(&f, 0);
	CHECK(&p, &f, POLICY_PASS);

	/* Not Ethernet/IPv4: htype, ptype, hlen, plen. */
	arp(&f, 0, 1, MAC_OK, IP4_OK, "10.0.0.1");
	f.b[15] = 6; /* IEEE 802 */
	CHECK(&p, &f, POLICY_DROP_ARP);
	arp(&f, 0, 1, MAC_OK, IP4_OK, "10.0.0.1");
	f.b[16] = 0x86, f.b[17] = 0xdd;
	CHECK(&p, &f, POLICY_DROP_ARP);
	arp(&f, 0, 1, MAC_OK, IP4_OK, "10.0.0.1");
	f.b[18] = 8;
	CHECK(&p, &f, POLICY_DROP_ARP);
	arp(&f, 0, 1, MAC_OK, IP4_OK, "10.0.0.1");
	f.b[19] = 16;
	CHECK(&p, &f, POLICY_DROP_ARP);

	/* Truncated anywhere in its 28 bytes. */
	arp(&f, 0, 2, MAC_OK, IP4_OK, "10.0.0.1");
	for (n = 14; n < 14 + 28; n++)
		assert_int_equal(policy_check(&p, f.b, n), POLICY_DROP_ARP);

	/* allowed_ips only: the sender MAC is not checked, its IP is. */
	pol_init(&ip_only);
	pol_ip(&ip_only, IP4_OK);
	arp(&f, 0, 2, MAC_BAD, IP4_OK, "10.0.0.1");
	CHECK(&ip_only, &f, POLICY_PASS);
	arp(&f, 0, 2, MAC_BAD, IP4_BAD, "10.0.0.1");
	CHECK(&ip_only, &f, POLICY_DROP_ARP);

	/* Only IPv6 addresses or DHCP: ARP is nobody's concern. */
	pol_init(&other);
	pol_ip(&other, IP6_OK);
	other.dhcp_server = false;
	arp(&f, 0, 2, MAC_BAD, IP4_BAD, "10.0.0.1");
	f.b[15] = 6;
	CHECK(&other, &f, POLICY_PASS);
	assert_int_equal(policy_check(&other, f.b, 20), POLICY_PASS);
}

static void
test_nd_ns(void **state)
{
	struct port_policy p, mac_only;
	struct frame f;
	uint32_t n;

	pol_full(&p);
	/* Resolving another address is fine; the SLLA must be allowed. */
	nd_ns(&f, 0, IP6_OK, IP6_BAD, MAC_OK);
	CHECK(&p, &f, POLICY_PASS);
	nd_ns(&f, 0, IP6_OK, IP6_BAD, MAC_BAD);
	CHECK(&p, &f, POLICY_DROP_ND);
	nd_ns(&f, 0, IP6_OK, IP6_BAD, NULL);
	CHECK(&p, &f, POLICY_PASS);
	/* Duplicate address detection: from ::, for any target. */
	nd_ns(&f, 0, "::", IP6_BAD, NULL);
	CHECK(&p, &f, POLICY_PASS);
	/* The source address is claimed (with its SLLA), as ARP's sender. */
	nd_ns(&f, 0, IP6_BAD, IP6_OK, MAC_OK);
	CHECK(&p, &f, POLICY_DROP_ND);
	nd_ns(&f, 0, LL_OK, "fe80::1", MAC_OK);
	CHECK(&p, &f, POLICY_PASS);
	nd_ns(&f, 0, LL_BAD, "fe80::1", MAC_OK);
	CHECK(&p, &f, POLICY_DROP_ND);

	/* Another option first (a nonce), then the SLLA. */
	nd_ns(&f, 0, IP6_OK, IP6_BAD, NULL);
	nd_opt(&f, 14, 1, MAC_ZERO);
	nd_lla(&f, 1, MAC_BAD);
	CHECK(&p, &f, POLICY_DROP_ND);
	f.b[f.n - 1] = MAC_OK[5];
	CHECK(&p, &f, POLICY_PASS);

	/* Malformed options: length 0, or running off the packet. */
	nd_ns(&f, 0, IP6_OK, IP6_BAD, NULL);
	nd_opt(&f, 1, 0, MAC_OK);
	CHECK(&p, &f, POLICY_DROP_ND);
	nd_ns(&f, 0, IP6_OK, IP6_BAD, NULL);
	nd_opt(&f, 1, 2, MAC_OK);
	CHECK(&p, &f, POLICY_DROP_ND);
	nd_ns(&f, 0, IP6_OK, IP6_BAD, MAC_OK);
	assert_int_equal(policy_check(&p, f.b, f.n - 1), POLICY_DROP_ND);

	/* Truncated before the end of the target: 14 + 40 + 24 bytes. */
	nd_ns(&f, 0, IP6_OK, IP6_BAD, MAC_OK);
	for (n = 14 + 40 + 1; n < 14 + 40 + 24; n++)
		assert_int_equal(policy_check(&p, f.b, n), POLICY_DROP_ND);

	/* allowed_macs only: any source address, the SLLA checked. */
	pol_init(&mac_only);
	pol_mac(&mac_only, MAC_OK);
	nd_ns(&f, 0, IP6_BAD, IP6_OK, MAC_OK);
	CHECK(&mac_only, &f, POLICY_PASS);
	nd_ns(&f, 0, IP6_BAD, IP6_OK, MAC_BAD);
	CHECK(&mac_only, &f, POLICY_DROP_ND);

	/* Other ICMPv6 (an echo request) is not neighbour discovery. */
	ipv6(&f, 0, IP6_BAD, IP6_OK, 58);
	put16(&f, 0x8000);
	CHECK(&p, &f, POLICY_PASS);
}

static void
test_nd_na(void **state)
{
	struct port_policy p, mac_only, ip_only;
	struct frame f;
	uint32_t n;

	pol_full(&p);
	nd_na(&f, 0, IP6_OK, MAC_OK);
	CHECK(&p, &f, POLICY_PASS);
	nd_na(&f, 0, IP6_OK, NULL);
	CHECK(&p, &f, POLICY_PASS);
	nd_na(&f, 0, IP6_BAD, MAC_OK);
	CHECK(&p, &f, POLICY_DROP_ND);
	nd_na(&f, 0, IP6_OK, MAC_BAD);
	CHECK(&p, &f, POLICY_DROP_ND);
	/* The EUI-64 link-local address of an allowed MAC, and only that. */
	nd_na(&f, 0, LL_OK, MAC_OK);
	CHECK(&p, &f, POLICY_PASS);
	nd_na(&f, 0, LL_BAD, MAC_OK);
	CHECK(&p, &f, POLICY_DROP_ND);
	nd_na(&f, 0, "fe81::ff:fe00:a", MAC_OK);
	CHECK(&p, &f, POLICY_DROP_ND);
	nd_na(&f, 0, "fe80::2ff:fe00:a", MAC_OK); /* U/L bit not flipped */
	CHECK(&p, &f, POLICY_DROP_ND);
	pol_mac(&p, MAC_BAD);
	nd_na(&f, 0, LL_BAD, MAC_BAD);
	CHECK(&p, &f, POLICY_PASS);
	pol_full(&p);

	/* Malformed options and truncation. */
	nd_na(&f, 0, IP6_OK, NULL);
	nd_opt(&f, 2, 0, MAC_OK);
	CHECK(&p, &f, POLICY_DROP_ND);
	nd_na(&f, 0, IP6_OK, NULL);
	nd_opt(&f, 2, 3, MAC_OK);
	nd_opt(&f, 0, 0, MAC_OK);
	CHECK(&p, &f, POLICY_DROP_ND);
	nd_na(&f, 0, IP6_OK, MAC_OK);
	for (n = 14 + 40 + 1; n < 14 + 40 + 24; n++)
		assert_int_equal(policy_check(&p, f.b, n), POLICY_DROP_ND);
	/* Just the ICMPv6 type byte left. */
	assert_int_equal(policy_check(&p, f.b, 14 + 40 + 1), POLICY_DROP_ND);

	/* allowed_macs only: any target, the TLLA checked. */
	pol_init(&mac_only);
	pol_mac(&mac_only, MAC_OK);
	nd_na(&f, 0, IP6_BAD, MAC_OK);
	CHECK(&mac_only, &f, POLICY_PASS);
	nd_na(&f, 0, IP6_BAD, MAC_BAD);
	CHECK(&mac_only, &f, POLICY_DROP_ND);

	/*
	 * allowed_ips only: any TLLA; no MAC to derive a link-local address
	 * from, so only the listed ones.
	 */
	pol_init(&ip_only);
	pol_ip(&ip_only, IP6_OK);
	nd_na(&f, 0, IP6_OK, MAC_BAD);
	CHECK(&ip_only, &f, POLICY_PASS);
	nd_na(&f, 0, IP6_BAD, MAC_OK);
	CHECK(&ip_only, &f, POLICY_DROP_ND);
	nd_na(&f, 0, LL_OK, MAC_OK);
	CHECK(&ip_only, &f, POLICY_DROP_ND);
	/* An IPv4-only allowed_ips leaves IPv6 alone. */
	pol_init(&ip_only);
	pol_ip(&ip_only, IP4_OK);
	nd_na(&f, 0, IP6_BAD, MAC_BAD);
	CHECK(&ip_only, &f, POLICY_PASS);
}

static void
test_ipv6_extension_headers(void **state)
{
	struct port_policy p, dhcp_only;
	struct frame f;
	int i;

	pol_full(&p);
	/* Destination options, hop-by-hop then destination options. */
	ipv6(&f, 0, IP6_BAD, "ff02::1", 60);
	ext_opts(&f, 58);
	nd_body(&f, 136, IP6_BAD);
	CHECK(&p, &f, POLICY_DROP_ND);
	ipv6(&f, 0, IP6_OK, "ff02::1", 0);
	ext_opts(&f, 60);
	ext_opts(&f, 58);
	nd_body(&f, 136, IP6_BAD);
	CHECK(&p, &f, POLICY_DROP_ND);
	ipv6(&f, 0, IP6_OK, "ff02::1", 0);
	ext_opts(&f, 60);
	ext_opts(&f, 58);
	nd_body(&f, 136, IP6_OK);
	nd_lla(&f, 2, MAC_OK);
	CHECK(&p, &f, POLICY_PASS);
	f.b[f.n - 1] = MAC_BAD[5];
	CHECK(&p, &f, POLICY_DROP_ND);
	/* A routing header (8 bytes) and an AH (12). */
	ipv6(&f, 0, IP6_OK, "ff02::1", 43);
	put32(&f, 0x33000400); /* routing: next AH, type 4, 0 left */
	put32(&f, 0);
	put32(&f, 0x3a010000); /* AH: next ICMPv6, 3 words */
	put32(&f, 1);          /* SPI */
	put32(&f, 1);          /* sequence */
	nd_body(&f, 135, IP6_OK);
	nd_lla(&f, 1, MAC_BAD);
	CHECK(&p, &f, POLICY_DROP_ND);

	/* A first fragment is looked into; a later one has no header. */
	ipv6(&f, 0, IP6_OK, "ff02::1", 44);
	ext_frag(&f, 58, 0, true);
	nd_body(&f, 136, IP6_BAD);
	CHECK(&p, &f, POLICY_DROP_ND);
	ipv6(&f, 0, IP6_OK, "ff02::1", 44);
	ext_frag(&f, 58, 3, false);
	nd_body(&f, 136, IP6_BAD);
	CHECK(&p, &f, POLICY_PASS);

	/* Eight headers are followed; a ninth is too many. */
	ipv6(&f, 0, IP6_OK, "ff02::1", 60);
	for (i = 0; i < 7; i++)
		ext_opts(&f, 60);
	ext_opts(&f, 58);
	nd_body(&f, 136, IP6_BAD);
	CHECK(&p, &f, POLICY_DROP_ND);
	f.b[f.n - 1] = 0x10; /* target IP6_OK */
	CHECK(&p, &f, POLICY_PASS);
	ipv6(&f, 0, IP6_OK, "ff02::1", 60);
	for (i = 0; i < 8; i++)
		ext_opts(&f, 60);
	ext_opts(&f, 17);
	put32(&f, 1234 << 16 | 80); /* UDP ports */
	put32(&f, 8 << 16);
	CHECK(&p, &f, POLICY_DROP_ND);

	/* A chain that runs off the packet, or ends with it: nothing. */
	ipv6(&f, 0, IP6_OK, "ff02::1", 60);
	ext_opts(&f, 58);
	f.b[f.n - 7] = 5; /* 48 bytes, 8 present */
	nd_body(&f, 136, IP6_BAD);
	CHECK(&p, &f, POLICY_PASS);
	ipv6(&f, 0, IP6_OK, "ff02::1", 60);
	ext_opts(&f, 58);
	CHECK(&p, &f, POLICY_PASS);

	/* DHCPv6 behind options; a long chain where only DHCP is checked. */
	pol_init(&dhcp_only);
	dhcp_only.dhcp_server = false;
	ipv6(&f, 0, "fe80::1", "fe80::2", 60);
	ext_opts(&f, 17);
	dhcp6_udp(&f, 547, 546);
	CHECK(&dhcp_only, &f, POLICY_DROP_DHCP);
	CHECK(&p, &f, POLICY_DROP_DHCP);
	ipv6(&f, 0, "fe80::1", "fe80::2", 60);
	for (i = 0; i < 9; i++)
		ext_opts(&f, i < 8 ? 60 : 17);
	dhcp6_udp(&f, 546, 547);
	CHECK(&dhcp_only, &f, POLICY_DROP_DHCP);
}

static void
test_dhcp(void **state)
{
	struct port_policy p, on;
	struct frame f;

	pol_init(&p);
	p.dhcp_server = false;
	pol_init(&on);
	on.dhcp_server = true;
	pol_mac(&on, MAC_OK);

	ipv4_udp(&f, 0, "10.0.0.1", "255.255.255.255", 67, 68, 0, 0);
	CHECK(&p, &f, POLICY_DROP_DHCP);
	CHECK(&on, &f, POLICY_PASS);
	/* A client's request. */
	ipv4_udp(&f, 0, "0.0.0.0", "255.255.255.255", 68, 67, 0, 0);
	CHECK(&p, &f, POLICY_PASS);
	/* IPv4 options before the UDP header. */
	ipv4_udp(&f, 0, "10.0.0.1", "255.255.255.255", 67, 68, 0, 2);
	CHECK(&p, &f, POLICY_DROP_DHCP);
	/* A first fragment (MF) is checked; later ones carry no header. */
	ipv4_udp(&f, 0, "10.0.0.1", "255.255.255.255", 67, 68, 0x2000, 0);
	CHECK(&p, &f, POLICY_DROP_DHCP);
	ipv4_udp(&f, 0, "10.0.0.1", "255.255.255.255", 67, 68, 0x0001, 0);
	CHECK(&p, &f, POLICY_PASS);
	ipv4_udp(&f, 0, "10.0.0.1", "255.255.255.255", 67, 68, 0x2010, 0);
	CHECK(&p, &f, POLICY_PASS);
	/* Too short for a UDP header, or a header length below 20. */
	ipv4_udp(&f, 0, "10.0.0.1", "255.255.255.255", 67, 68, 0, 0);
	assert_int_equal(policy_check(&p, f.b, 14 + 20 + 7), POLICY_PASS);
	assert_int_equal(policy_check(&p, f.b, 14 + 20 + 8), POLICY_DROP_DHCP);
	f.b[14] = 0x44;
	CHECK(&p, &f, POLICY_PASS);
	/* Not UDP. */
	ipv4_udp(&f, 0, "10.0.0.1", "255.255.255.255", 67, 68, 0, 0);
	f.b[14 + 9] = 6;
	CHECK(&p, &f, POLICY_PASS);

	/* DHCPv6: the server port is 547. */
	ipv6(&f, 0, "fe80::1", "fe80::2", 17);
	dhcp6_udp(&f, 547, 546);
	CHECK(&p, &f, POLICY_DROP_DHCP);
	CHECK(&on, &f, POLICY_PASS);
	ipv6(&f, 0, "fe80::1", "ff02::1:2", 17);
	dhcp6_udp(&f, 546, 547);
	CHECK(&p, &f, POLICY_PASS);
	ipv6(&f, 0, "fe80::1", "fe80::2", 17);
	dhcp6_udp(&f, 547, 546);
	assert_int_equal(policy_check(&p, f.b, 14 + 40 + 7), POLICY_PASS);
}

static void
test_vlan_tagged(void **state)
{
	struct port_policy p;
	struct frame f;
	int t;

	pol_full(&p);
	for (t = 1; t <= 2; t++) {
		eth(&f, MAC_BCAST, MAC_BAD, 0x88b5, t);
		CHECK(&p, &f, POLICY_DROP_SRC_MAC);
		arp(&f, t, 1, MAC_OK, IP4_OK, "10.0.0.1");
		CHECK(&p, &f, POLICY_PASS);
		arp(&f, t, 1, MAC_OK, IP4_BAD, "10.0.0.1");
		CHECK(&p, &f, POLICY_DROP_ARP);
		assert_int_equal(
			policy_check(&p, f.b, f.n - 1), POLICY_DROP_ARP);
		nd_na(&f, t, IP6_OK, MAC_OK);
		CHECK(&p, &f, POLICY_PASS);
		nd_na(&f, t, IP6_BAD, MAC_OK);
		CHECK(&p, &f, POLICY_DROP_ND);
		nd_ns(&f, t, IP6_OK, IP6_BAD, MAC_BAD);
		CHECK(&p, &f, POLICY_DROP_ND);
		ipv4_udp(&f, t, "10.0.0.1", "255.255.255.255", 67, 68, 0, 0);
		CHECK(&p, &f, POLICY_DROP_DHCP);
		ipv6(&f, t, "fe80::1", "fe80::2", 17);
		dhcp6_udp(&f, 547, 546);
		CHECK(&p, &f, POLICY_DROP_DHCP);
	}
	/* A tag cut short: no ethertype to act on. */
	eth(&f, MAC_BCAST, MAC_OK, 0x8100, 0);
	put16(&f, 100);
	CHECK(&p, &f, POLICY_PASS);
}

/* Packets storm class 'c' lets through at 'now', up to 'max'. */
static unsigned int
storm_drain(struct port_policy *p, enum policy_storm c, uint64_t now,
	uint64_t hz, unsigned int max)
{
	unsigned int n = 0;

	while (n < max && policy_storm_take(p, c, now, hz))
		n++;
	return n;
}

static void
test_storm_window(void **state)
{
	const uint64_t hz = 1000000, t0 = 5 * hz; /* a 1 MHz clock */
	struct port_policy p;

	pol_init(&p);
	p.storm_pps = 1000; /* a bucket of 100 */
	assert_int_equal(policy_prepare(&p, hz), 0);
	assert_int_equal(
		storm_drain(&p, POLICY_STORM_BCAST, t0, hz, 1000), 100);
	assert_int_equal(storm_drain(&p, POLICY_STORM_BCAST, t0, hz, 1000), 0);
	/* Each class has its own bucket. */
	assert_int_equal(
		storm_drain(&p, POLICY_STORM_MCAST, t0, hz, 1000), 100);
	assert_int_equal(
		storm_drain(&p, POLICY_STORM_UNKNOWN, t0, hz, 1000), 100);
	/* 1 ms is one packet; 10 ms ten; half a millisecond nothing yet. */
	assert_int_equal(
		storm_drain(&p, POLICY_STORM_BCAST, t0 + 500, hz, 1000), 0);
	assert_int_equal(
		storm_drain(&p, POLICY_STORM_BCAST, t0 + 1000, hz, 1000), 1);
	assert_int_equal(
		storm_drain(&p, POLICY_STORM_BCAST, t0 + 11000, hz, 1000), 10);
	/* A clock that steps back refills nothing. */
	assert_int_equal(storm_drain(&p, POLICY_STORM_BCAST, t0, hz, 1000), 0);
	/* Over a second: 1000 packets arrive, 100 fit, whatever the gap. */
	assert_int_equal(
		storm_drain(&p, POLICY_STORM_BCAST, t0 + 2 * hz, hz, 1000),
		100);
	assert_int_equal(storm_drain(&p, POLICY_STORM_BCAST,
				 t0 + 2 * hz + (UINT64_C(1) << 62), hz, 1000),
		100);
	/* At the rate, sustained: one packet every millisecond. */
	{
		uint64_t t = t0 + 3 * hz + (UINT64_C(1) << 62);
		unsigned int n = 0;
		int i;

		storm_drain(&p, POLICY_STORM_MCAST, t, hz, 1000);
		for (i = 1; i <= 5000; i++)
			n += storm_drain(
				&p, POLICY_STORM_MCAST, t + i * 100, hz, 1000);
		assert_int_equal(n, 500); /* 0.5 s at 1000 pps */
	}
	/* prepare fills the buckets again. */
	assert_int_equal(policy_prepare(&p, hz), 0);
	assert_int_equal(
		storm_drain(&p, POLICY_STORM_BCAST, t0, hz, 1000), 100);
}

static void
test_storm_low_rate(void **state)
{
	const uint64_t hz = 3000000000ull, t0 = 7 * hz;
	struct port_policy p;

	pol_init(&p);
	p.storm_pps = 10; /* below the smallest bucket, 32 */
	assert_int_equal(policy_prepare(&p, hz), 0);
	assert_int_equal(storm_drain(&p, POLICY_STORM_BCAST, t0, hz, 1000), 32);
	assert_int_equal(
		storm_drain(&p, POLICY_STORM_BCAST, t0 + hz, hz, 1000), 10);
	/* After a long quiet spell the whole bucket, not a second's worth. */
	assert_int_equal(
		storm_drain(&p, POLICY_STORM_BCAST, t0 + 100 * hz, hz, 1000),
		32);
	assert_int_equal(storm_drain(&p, POLICY_STORM_BCAST, t0 + 103 * hz + 1,
				 hz, 1000),
		30);
}

static void
test_storm_no_overflow(void **state)
{
	const uint64_t hz = 5000000000ull; /* a fast TSC */
	struct port_policy p;
	struct policy_bucket *b;

	/* The largest rate tenant.c accepts, after the longest gap. */
	pol_init(&p);
	p.storm_pps = 100000000;
	assert_int_equal(policy_prepare(&p, hz), 0);
	assert_true(p.storm_cap / hz == 10000000);
	b = &p.dp.storm[POLICY_STORM_BCAST];
	b->tokens = 0;
	b->last = 1;
	assert_true(policy_storm_take(&p, POLICY_STORM_BCAST, UINT64_MAX, hz));
	assert_true(b->tokens == p.storm_cap - hz);
	/* Half the fill time: half the bucket. */
	b->tokens = 0;
	b->last = 1000;
	assert_true(policy_storm_take(
		&p, POLICY_STORM_BCAST, 1000 + p.storm_fill / 2, hz));
	assert_true(b->tokens / hz >= 4999999 && b->tokens / hz <= 5000001);
}

static void
test_meter(void **state)
{
	const uint64_t hz = rte_get_tsc_hz();
	struct port_policy p;
	uint64_t t;
	int i, green;

	pol_init(&p);
	p.rate_mbps = 8; /* 1 MB/s */
	p.burst_kb = 64;
	assert_int_equal(policy_prepare(&p, hz), 0);
	t = p.dp.meter.time;

	/* The burst: 65536 bytes are 43 frames of 1500 bytes. */
	for (i = 0, green = 0; i < 100; i++) {
		enum rte_color c = rte_meter_srtcm_color_blind_check(
			&p.dp.meter, &p.meter_profile, t, 1500);

		assert_true(c == RTE_COLOR_GREEN || c == RTE_COLOR_RED);
		green += c == RTE_COLOR_GREEN;
	}
	assert_int_equal(green, 43);
	/* 65536 - 43 x 1500 bytes are left, and nothing more. */
	assert_int_equal(rte_meter_srtcm_color_blind_check(
				 &p.dp.meter, &p.meter_profile, t, 1036),
		RTE_COLOR_GREEN);
	assert_int_equal(rte_meter_srtcm_color_blind_check(
				 &p.dp.meter, &p.meter_profile, t, 1),
		RTE_COLOR_RED);
	/* 3.5 ms at 1 MB/s: 3500 bytes, two frames. */
	t += hz * 35 / 10000;
	for (i = 0, green = 0; i < 10; i++)
		green += rte_meter_srtcm_color_blind_check(&p.dp.meter,
				 &p.meter_profile, t, 1500) == RTE_COLOR_GREEN;
	assert_int_equal(green, 2);
	/* Small frames use up what is left (500 bytes). */
	assert_int_equal(rte_meter_srtcm_color_blind_check(
				 &p.dp.meter, &p.meter_profile, t, 500),
		RTE_COLOR_GREEN);
	assert_int_equal(rte_meter_srtcm_color_blind_check(
				 &p.dp.meter, &p.meter_profile, t, 64),
		RTE_COLOR_RED);
	/* A long pause refills the burst, not more. */
	t += 1000 * hz;
	for (i = 0, green = 0; i < 100; i++)
		green += rte_meter_srtcm_color_blind_check(&p.dp.meter,
				 &p.meter_profile, t, 1500) == RTE_COLOR_GREEN;
	assert_int_equal(green, 43);

	/* prepare starts the meter full again. */
	assert_int_equal(policy_prepare(&p, hz), 0);
	assert_int_equal(rte_meter_srtcm_color_blind_check(&p.dp.meter,
				 &p.meter_profile, p.dp.meter.time, 65536),
		RTE_COLOR_GREEN);
	assert_int_equal(rte_meter_srtcm_color_blind_check(&p.dp.meter,
				 &p.meter_profile, p.dp.meter.time, 1),
		RTE_COLOR_RED);

	/* The largest rate and burst tenant.c accepts. */
	p.rate_mbps = 400000;
	p.burst_kb = 1u << 20;
	assert_int_equal(policy_prepare(&p, hz), 0);
	/* A rate without a burst is refused (tenant.c always sets one). */
	p.burst_kb = 0;
	assert_int_equal(policy_prepare(&p, hz), -EINVAL);
}

/*
 * A burst metered at once (policy_meter_all) colours and charges exactly
 * as srTCM does frame by frame: compared over bursts of every size at
 * times that leave the bucket full, partly full and empty.
 */
static void
test_meter_burst(void **state)
{
	const uint64_t hz = rte_get_tsc_hz();
	struct port_policy a, b;
	uint64_t t;
	int r, i, ga, gb;

	pol_init(&a);
	a.rate_mbps = 8; /* 1 MB/s */
	a.burst_kb = 64;
	assert_int_equal(policy_prepare(&a, hz), 0);
	b = a;
	t = a.dp.meter.time;
	for (r = 0; r < 400; r++) {
		int n = 1 + r % 32, len = 64 + (r * 37) % 1450;

		t += hz / 1000 * (uint64_t)(r % 7); /* 0-6 ms */
		for (i = 0, ga = 0; i < n; i++)
			ga += rte_meter_srtcm_color_blind_check(&a.dp.meter,
				      &a.meter_profile, t,
				      (uint32_t)len) == RTE_COLOR_GREEN;
		if (policy_meter_all(&b, t, (uint64_t)n * (uint64_t)len)) {
			gb = n;
		} else {
			for (i = 0, gb = 0; i < n; i++)
				gb += rte_meter_srtcm_color_blind_check(
					      &b.dp.meter, &b.meter_profile, t,
					      (uint32_t)len) == RTE_COLOR_GREEN;
		}
		assert_int_equal(ga, gb);
		assert_true(a.dp.meter.tc == b.dp.meter.tc);
		assert_true(a.dp.meter.time == b.dp.meter.time);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_src_mac),
		cmocka_unit_test(test_checks_frames),
		cmocka_unit_test(test_arp),
		cmocka_unit_test(test_nd_ns),
		cmocka_unit_test(test_nd_na),
		cmocka_unit_test(test_ipv6_extension_headers),
		cmocka_unit_test(test_dhcp),
		cmocka_unit_test(test_vlan_tagged),
		cmocka_unit_test(test_storm_window),
		cmocka_unit_test(test_storm_low_rate),
		cmocka_unit_test(test_storm_no_overflow),
		cmocka_unit_test(test_meter),
		cmocka_unit_test(test_meter_burst),
	};

	if (ut_eal_init("policy") != 0)
		return 1;
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
