/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * policy.h - a port's tenant controls: port security (allowed source MACs,
 * ARP and IPv6 neighbour discovery anti-spoofing, DHCP server blocking),
 * isolation, the per-port learning limit, storm control and ingress
 * policing.
 *
 * A struct port_policy is built by the control thread from a port's
 * options (`port add`, `port set`, the config file), published in the
 * port (port->policy, an RCU-protected pointer) and never changed while
 * published except for its data-plane state; `port set` publishes a new
 * one and frees the old after a grace period.  A port without tenant
 * controls has no policy, and the data plane pays one predictable branch
 * per burst for it.
 *
 * policy_check() is a pure function of the policy and the frame's bytes
 * (unit-tested and fuzzed without DPDK devices); the storm and rate checks
 * keep token-bucket and srTCM meter state in the policy (librte_meter).
 *
 * Thread-safety: the configuration part is written by the control thread
 * before publication and read by the data plane; 'dp' is written by the
 * one data-plane thread that polls the port.  policy_check(): any thread.
 */
#ifndef VHSW_POLICY_H
#define VHSW_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_meter.h>
#include <rte_spinlock.h>

#define POLICY_MAX_MACS 8
#define POLICY_MAX_IPS 8

/* What policy_check() found wrong with a frame. */
enum policy_verdict {
	POLICY_PASS,
	POLICY_DROP_SRC_MAC, /* source MAC not allowed */
	POLICY_DROP_ARP,     /* ARP sender MAC or IPv4 address not allowed */
	POLICY_DROP_ND,      /* neighbour discovery address not allowed */
	POLICY_DROP_DHCP,    /* a DHCP or DHCPv6 server message */
};

/* Storm control classes, each with its own token bucket. */
enum policy_storm {
	POLICY_STORM_BCAST,
	POLICY_STORM_MCAST,
	POLICY_STORM_UNKNOWN, /* unknown unicast (flooded) */
	POLICY_STORM_COUNT,
};

struct policy_bucket {
	uint64_t tokens; /* packets x TSC hz */
	uint64_t last;   /* TSC of the last refill */
};

struct port_policy {
	/* Configuration: immutable while published. */
	uint8_t n_macs;     /* 0: any source MAC */
	uint8_t n_ip4;      /* 0: any IPv4 address (ARP) */
	uint8_t n_ip6;      /* 0: any IPv6 address (ND) */
	bool dhcp_server;   /* false: drop DHCP/DHCPv6 server messages */
	bool isolated;      /* never forward to another isolated port */
	bool limit_forward; /* at max_macs: forward without learning */
	uint32_t max_macs;  /* learned entries of the port; 0: no limit */
	uint32_t storm_pps; /* per class; 0: no storm control */
	uint32_t rate_mbps; /* ingress policing; 0: none */
	uint32_t burst_kb;  /* the policer's burst (0 without a rate) */
	bool burst_given;   /* burst_kb set, not derived from the rate */
	struct rte_ether_addr macs[POLICY_MAX_MACS];
	uint64_t mac_words[POLICY_MAX_MACS]; /* the same as words */
	uint32_t ip4[POLICY_MAX_IPS];        /* network byte order */
	uint8_t ip6[POLICY_MAX_IPS][16];     /* network byte order */
	uint64_t storm_cap;                  /* bucket size, packets x hz */
	uint64_t storm_fill; /* TSC ticks to fill an empty one */
	struct rte_meter_srtcm_profile meter_profile;

	/*
	 * Data-plane state.  Several data-plane threads may poll queues of
	 * one port: whoever processes a burst of the port holds 'lock' for
	 * it (fwd.c), so the meter and the buckets see one writer at a time.
	 */
	struct {
		rte_spinlock_t lock;
		struct rte_meter_srtcm meter;
		struct policy_bucket storm[POLICY_STORM_COUNT];
	} dp __rte_cache_aligned;
};

/* A MAC as one word, for compares without a call to memcmp. */
static inline uint64_t
policy_mac_word(const uint8_t *mac)
{
	uint32_t lo;
	uint16_t hi;

	memcpy(&lo, mac, sizeof(lo));
	memcpy(&hi, mac + sizeof(lo), sizeof(hi));
	return (uint64_t)lo | (uint64_t)hi << 32;
}

/* Whether MAC word 'w' (policy_mac_word) may be a source. */
static inline bool
policy_word_allowed(const struct port_policy *pol, uint64_t w)
{
	uint8_t i;

	if (pol->n_macs == 0)
		return true;
	for (i = 0; i < pol->n_macs; i++)
		if (pol->mac_words[i] == w)
			return true;
	return false;
}

static inline bool
policy_mac_allowed(const struct port_policy *pol, const uint8_t *mac)
{
	return policy_word_allowed(pol, policy_mac_word(mac));
}

/*
 * IPv4 packet 'p' of 'len' bytes: a DHCP server message (UDP from port
 * 67, in a first fragment) is dropped when the policy blocks them.
 */
static inline enum policy_verdict
policy_check_ipv4(const struct port_policy *pol, const uint8_t *p, uint32_t len)
{
	uint32_t ihl;
	uint16_t w;

	if (pol->dhcp_server || len < 20 || (p[0] >> 4) != 4 || p[9] != 17)
		return POLICY_PASS;
	ihl = (uint32_t)(p[0] & 0xf) * 4;
	memcpy(&w, p + 6, sizeof(w)); /* flags and fragment offset */
	if (ihl < 20 || len < ihl || (w & RTE_BE16(0x1fff)) != 0 ||
		len - ihl < 8)
		return POLICY_PASS;
	memcpy(&w, p + ihl, sizeof(w)); /* UDP source port */
	return w == RTE_BE16(67) ? POLICY_DROP_DHCP : POLICY_PASS;
}

/*
 * The policer on a whole burst of 'bytes' at TSC 'now': when its committed
 * bucket holds them all, every frame is green (as srTCM would colour them
 * one by one), the bucket pays for them and the answer is true; otherwise
 * nothing is charged and the frames must be metered one by one
 * (rte_meter_srtcm_color_blind_check, at the same 'now').  Data plane.
 */
static inline bool
policy_meter_all(struct port_policy *pol, uint64_t now, uint64_t bytes)
{
	/* Metering nothing only refills the buckets. */
	rte_meter_srtcm_color_blind_check(
		&pol->dp.meter, &pol->meter_profile, now, 0);
	if (pol->dp.meter.tc < bytes)
		return false;
	pol->dp.meter.tc -= bytes;
	return true;
}

/* policy_check() of any frame, out of line. */
enum policy_verdict policy_check_full(
	const struct port_policy *pol, const uint8_t *frame, uint32_t len);

/*
 * Checks port security on one frame of 'len' bytes as received (802.1Q
 * tags are skipped): its source MAC, the addresses an ARP packet or an
 * IPv6 neighbour solicitation or advertisement claims, and DHCP server
 * messages.  IPv6 link-local addresses derived from an allowed MAC
 * (EUI-64) are allowed with it.  Untagged IPv4 and frames no check
 * concerns are settled inline; the rest go to policy_check_full().
 * 'src_word' is the frame's source MAC as policy_mac_word() reads it
 * (the forwarding core has it at hand).
 */
static inline enum policy_verdict
policy_check_src(const struct port_policy *pol, const uint8_t *frame,
	uint32_t len, uint64_t src_word)
{
	uint16_t type;

	if (unlikely(len < RTE_ETHER_HDR_LEN) ||
		!policy_word_allowed(pol, src_word))
		return POLICY_DROP_SRC_MAC;
	memcpy(&type, frame + 2 * RTE_ETHER_ADDR_LEN, sizeof(type));
	if (likely(type == RTE_BE16(RTE_ETHER_TYPE_IPV4)))
		return policy_check_ipv4(pol, frame + RTE_ETHER_HDR_LEN,
			len - RTE_ETHER_HDR_LEN);
	if (type == RTE_BE16(RTE_ETHER_TYPE_ARP) ||
		type == RTE_BE16(RTE_ETHER_TYPE_IPV6) ||
		type == RTE_BE16(RTE_ETHER_TYPE_VLAN) ||
		type == RTE_BE16(RTE_ETHER_TYPE_QINQ))
		return policy_check_full(pol, frame, len);
	return POLICY_PASS;
}

/* policy_check_src() when the caller has not read the source MAC yet. */
static inline enum policy_verdict
policy_check(const struct port_policy *pol, const uint8_t *frame, uint32_t len)
{
	if (unlikely(len < RTE_ETHER_HDR_LEN))
		return POLICY_DROP_SRC_MAC;
	return policy_check_src(
		pol, frame, len, policy_mac_word(frame + RTE_ETHER_ADDR_LEN));
}

/*
 * Adds 'mac' to the allowed source MACs.  0, or -ENOSPC past
 * POLICY_MAX_MACS.  Control thread, before publication.
 */
int policy_add_mac(struct port_policy *pol, const struct rte_ether_addr *mac);

/* True if the policy does any per-frame check (policy_check). */
static inline bool
policy_checks_frames(const struct port_policy *pol)
{
	return pol->n_macs || pol->n_ip4 || pol->n_ip6 || !pol->dhcp_server;
}

/*
 * Prepares the data-plane state (meter, buckets) for 'hz' TSC ticks a
 * second.  Control thread, before publication.  0 or -EINVAL.
 */
int policy_prepare(struct port_policy *pol, uint64_t hz);

/*
 * Takes one packet from storm class 'c' at TSC 'now': true if it may pass.
 * Data plane.
 */
bool policy_storm_take(struct port_policy *pol, enum policy_storm c,
	uint64_t now, uint64_t hz);

#endif /* VHSW_POLICY_H */
