/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * flow_hash.h - a frame's flow hash, to spread frames over the queues of a
 * multiqueue peer (vport.c) so that each queue, and the vCPU behind it,
 * gets its share while the frames of one flow keep their order on one
 * queue.
 *
 * The NIC's RSS hash when the mbuf has one (RTE_MBUF_F_RX_RSS_HASH), else
 * a CRC32-C (rte_hash_crc_*, the SSE4.2/ARMv8 instruction where the CPU
 * has it) of: the destination and source MACs; the VLAN IDs of up to two tags
 * (802.1Q, 802.1ad) and the EtherType after them; for IPv4 and IPv6 the
 * protocol and the source and destination addresses; and for TCP and UDP
 * the ports, unless the packet is a fragment (an IPv4 fragment, or an
 * IPv6 packet whose next header is a fragment header): fragments of one
 * datagram, the first with the ports and the rest without, must hash
 * alike.  IPv6 extension headers are not walked: such packets hash on the
 * addresses, which is still the same for every packet of the flow.
 *
 * Frames are untrusted: every read is checked against the first segment's
 * length (rte_pktmbuf_data_len) first; a truncated or malformed header
 * ends the hash at the last field that was complete.  Only the first
 * segment is read.
 *
 * flow_hash_pick() maps a hash to one of n queues: equal shares for any
 * n (the unit test checks 2 to 16).
 *
 * Thread-safety: pure functions of the frame's bytes; any thread.
 */
#ifndef VHSW_FLOW_HASH_H
#define VHSW_FLOW_HASH_H

#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_hash_crc.h>
#include <rte_ip.h>
#include <rte_mbuf.h>

#define FLOW_HASH_SEED 0x9e3779b9u
#define FLOW_HASH_MAX_TAGS 2

/* The 4 or 8 bytes at 'p' as a word, at any alignment. */
static inline uint32_t
flow_hash_load32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t
flow_hash_load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The ports of a TCP or UDP header at 'off', if they are in the frame. */
static inline uint32_t
flow_hash_l4(
	const uint8_t *p, uint32_t len, uint32_t off, uint8_t proto, uint32_t h)
{
	if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && off <= len &&
		len - off >= 4)
		h = rte_hash_crc_4byte(flow_hash_load32(p + off), h);
	return h;
}

static inline uint32_t
flow_hash_ipv4(const uint8_t *p, uint32_t len, uint32_t off, uint32_t h)
{
	const uint32_t hl = sizeof(struct rte_ipv4_hdr);
	uint16_t frag;
	uint32_t ihl;
	uint8_t proto;

	if (off > len || len - off < hl)
		return h;
	proto = p[off + offsetof(struct rte_ipv4_hdr, next_proto_id)];
	/* src_addr and dst_addr: 8 bytes at offset 12. */
	h = rte_hash_crc_8byte(flow_hash_load64(p + off +
				       offsetof(struct rte_ipv4_hdr, src_addr)),
		h ^ proto);
	ihl = (uint32_t)(p[off] & RTE_IPV4_HDR_IHL_MASK) *
		RTE_IPV4_IHL_MULTIPLIER;
	memcpy(&frag, p + off + offsetof(struct rte_ipv4_hdr, fragment_offset),
		sizeof(frag));
	frag = rte_be_to_cpu_16(frag);
	if (ihl < hl ||
		(frag & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0)
		return h; /* malformed, or a fragment: addresses only */
	return flow_hash_l4(p, len, off + ihl, proto, h);
}

static inline uint32_t
flow_hash_ipv6(const uint8_t *p, uint32_t len, uint32_t off, uint32_t h)
{
	const uint32_t hl = sizeof(struct rte_ipv6_hdr);
	uint8_t proto;
	uint32_t i;

	if (off > len || len - off < hl)
		return h;
	proto = p[off + offsetof(struct rte_ipv6_hdr, proto)];
	/* src_addr and dst_addr: 32 bytes at offset 8. */
	h ^= proto;
	for (i = 0; i < 32; i += 8)
		h = rte_hash_crc_8byte(
			flow_hash_load64(p + off +
				offsetof(struct rte_ipv6_hdr, src_addr) + i),
			h);
	/* A fragment header (44), like any extension header: no ports. */
	return flow_hash_l4(p, len, off + hl, proto, h);
}

/*
 * The hash of 'm''s flow.  Any frame, of any length, from anyone: reads
 * nothing past rte_pktmbuf_data_len(m).
 */
static inline uint32_t
flow_hash(const struct rte_mbuf *m)
{
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t len = rte_pktmbuf_data_len(m);
	uint32_t off = 2 * RTE_ETHER_ADDR_LEN, h = FLOW_HASH_SEED, i;
	uint16_t type;
	int tags;

	if (m->ol_flags & RTE_MBUF_F_RX_RSS_HASH)
		return m->hash.rss;
	if (len < RTE_ETHER_HDR_LEN) {
		/* A runt: its bytes (rte_hash_crc() would read them as
		 * possibly unaligned words). */
		for (i = 0; i < len; i++)
			h = rte_hash_crc_1byte(p[i], h);
		return h;
	}
	/* Destination and source MAC: 12 bytes. */
	h = rte_hash_crc_8byte(flow_hash_load64(p), h);
	h = rte_hash_crc_4byte(flow_hash_load32(p + 8), h);
	memcpy(&type, p + off, sizeof(type));
	off += sizeof(type);
	for (tags = 0; tags < FLOW_HASH_MAX_TAGS &&
		(type == RTE_BE16(RTE_ETHER_TYPE_VLAN) ||
			type == RTE_BE16(RTE_ETHER_TYPE_QINQ));
		tags++) {
		uint16_t tci;

		if (len - off < sizeof(struct rte_vlan_hdr))
			return rte_hash_crc_4byte(type, h);
		memcpy(&tci, p + off, sizeof(tci));
		/* The VLAN ID, not the priority bits. */
		h = rte_hash_crc_4byte(tci & RTE_BE16(0x0fff), h);
		memcpy(&type, p + off + sizeof(tci), sizeof(type));
		off += sizeof(struct rte_vlan_hdr);
	}
	h = rte_hash_crc_4byte(type, h);
	if (type == RTE_BE16(RTE_ETHER_TYPE_IPV4))
		return flow_hash_ipv4(p, len, off, h);
	if (type == RTE_BE16(RTE_ETHER_TYPE_IPV6))
		return flow_hash_ipv6(p, len, off, h);
	return h;
}

/*
 * One of 'n' (>= 1) queues for hash 'h': 0 .. n - 1.  The CRC is linear:
 * flows that differ in a few bits (testpmd's multi-flow mode varies one
 * byte of the source address) give hashes that differ only in a subspace,
 * which the high bits alone would spread unevenly over a count of queues
 * that is not a power of two (up to leaving some empty).  Murmur3's 32-bit
 * finaliser mixes every bit into the high ones first; multiply-shift then
 * picks the queue without a division.
 */
static inline uint32_t
flow_hash_pick(uint32_t h, uint32_t n)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	h ^= h >> 16;
	return (uint32_t)(((uint64_t)h * n) >> 32);
}

#endif /* VHSW_FLOW_HASH_H */
