/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_frame.c - libFuzzer target: a frame's bytes, as a peer sends them,
 * through port security (policy_check() in switch/dataplane/policy.c)
 * under eight policies, from none to the largest lists.
 *
 * Input: [flags (1 byte)] [the frame].  Flags bit 3 writes allowed MAC
 * number bits 4-6 as the frame's source, so that inputs get past the
 * first check without having to find it; bits 0-2 pick the policy that a
 * second call must agree with (policy_check() is pure), and the inline
 * fast path must agree with policy_check_full().  Every policy's
 * verdict must be one its configuration can give (no DHCP drop with
 * dhcp_server on, no ARP drop without MACs or IPv4 addresses, ...), and a
 * stricter policy must drop whatever a laxer one drops.  The frame is
 * copied to a buffer of exactly its length (ASan catches a read past it);
 * anything else wrong aborts.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

enum {
	P_NONE,  /* no per-frame control */
	P_DHCP,  /* DHCP servers only */
	P_MACS,  /* one allowed MAC */
	P_IP4,   /* IPv4 addresses only */
	P_IP6,   /* IPv6 addresses only */
	P_ADDRS, /* MAC, IPv4 and IPv6 */
	P_FULL,  /* P_ADDRS and no DHCP server */
	P_MAX,   /* eight of each list, no DHCP server */
	P_COUNT,
};

/*
 * Pairs (laxer, stricter): what the first drops the second drops too.
 * Not P_IP6 and P_ADDRS: an allowed MAC also allows its EUI-64 link-local
 * address.
 */
static const int chain[][2] = {
	{P_DHCP, P_FULL},
	{P_MACS, P_ADDRS},
	{P_IP4, P_ADDRS},
	{P_ADDRS, P_FULL},
};

static struct port_policy pols[P_COUNT];

static void
add_mac(struct port_policy *p, uint8_t last)
{
	struct rte_ether_addr mac = {{0x02, 0, 0, 0, 0, last}};

	policy_add_mac(p, &mac);
}

static void
add_ip(struct port_policy *p, const char *s)
{
	int ok = strchr(s, ':') != NULL
		? inet_pton(AF_INET6, s, p->ip6[p->n_ip6++])
		: inet_pton(AF_INET, s, &p->ip4[p->n_ip4++]);

	if (ok != 1)
		abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char ip[64];
	int i;

	for (i = 0; i < P_COUNT; i++)
		pols[i].dhcp_server = true;
	pols[P_DHCP].dhcp_server = false;
	add_mac(&pols[P_MACS], 0x0a);
	add_ip(&pols[P_IP4], "10.0.0.10");
	add_ip(&pols[P_IP6], "2001:db8::10");
	add_mac(&pols[P_ADDRS], 0x0a);
	add_ip(&pols[P_ADDRS], "10.0.0.10");
	add_ip(&pols[P_ADDRS], "2001:db8::10");
	pols[P_FULL] = pols[P_ADDRS];
	pols[P_FULL].dhcp_server = false;
	for (i = 0; i < POLICY_MAX_MACS; i++)
		add_mac(&pols[P_MAX], (uint8_t)(0x0a + i));
	for (i = 0; i < POLICY_MAX_IPS; i++) {
		snprintf(ip, sizeof(ip), "10.0.0.%d", 10 + i);
		add_ip(&pols[P_MAX], ip);
		snprintf(ip, sizeof(ip), "2001:db8::%x", 0x10 + i);
		add_ip(&pols[P_MAX], ip);
	}
	pols[P_MAX].dhcp_server = false;
	return 0;
}

/* Aborts unless verdict 'v' of 'p' on a frame of 'len' bytes is possible. */
static void
check_verdict(const struct port_policy *p, enum policy_verdict v, uint32_t len)
{
	if (v > POLICY_DROP_DHCP)
		abort();
	if (len < RTE_ETHER_HDR_LEN) {
		if (v != POLICY_DROP_SRC_MAC)
			abort();
		return;
	}
	if ((v == POLICY_DROP_SRC_MAC && p->n_macs == 0) ||
		(v == POLICY_DROP_ARP && p->n_macs == 0 && p->n_ip4 == 0) ||
		(v == POLICY_DROP_ND && p->n_macs == 0 && p->n_ip6 == 0) ||
		(v == POLICY_DROP_DHCP && p->dhcp_server) ||
		(v != POLICY_PASS && !policy_checks_frames(p)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum policy_verdict v[P_COUNT];
	uint8_t flags, *frame;
	uint32_t len;
	size_t i;

	if (size < 1 || size > 65536)
		return 0;
	flags = data[0];
	len = (uint32_t)(size - 1);
	frame = malloc(len ? len : 1);
	if (frame == NULL)
		abort();
	memcpy(frame, data + 1, len);
	if ((flags & 8) && len >= 12)
		memcpy(frame + 6, pols[P_MAX].macs[flags >> 4 & 7].addr_bytes,
			6);

	for (i = 0; i < P_COUNT; i++) {
		v[i] = policy_check(&pols[i], frame, len);
		check_verdict(&pols[i], v[i], len);
		/* The inline fast path settles frames as the full checks do. */
		if (policy_check_full(&pols[i], frame, len) != v[i])
			abort();
	}
	if (policy_check(&pols[flags & 7], frame, len) != v[flags & 7])
		abort();
	for (i = 0; i < sizeof(chain) / sizeof(chain[0]); i++)
		if (v[chain[i][0]] != POLICY_PASS &&
			v[chain[i][1]] == POLICY_PASS)
			abort();
	free(frame);
	return 0;
}
