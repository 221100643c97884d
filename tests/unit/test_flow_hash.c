/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_flow_hash.c - the flow hash that spreads frames over a multiqueue
 * peer's queues (flow_hash.h): the frames of one flow hash alike whatever
 * else differs, distinct flows spread evenly over 2..16 queues, the fields
 * that make a flow (MACs, VLAN ID, addresses, ports) and those that do
 * not (priority bits, fragments' ports), the NIC's RSS hash, and frames
 * that are truncated at every length or malformed.
 *
 * Each frame is an mbuf header around a heap buffer of exactly the
 * frame's length, so that test_flow_hash_asan (the same file built with
 * AddressSanitizer and UBSan, tests/unit/meson.build) catches any read
 * past rte_pktmbuf_data_len.  No EAL: the hash needs none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flow_hash.h"
#include "ut_frame.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_FRAG6 44

/* What a test frame carries. */
struct flow {
	uint8_t dst[6], src[6];
	int tags;        /* 0, 1 (802.1Q) or 2 (802.1ad + 802.1Q) */
	uint16_t tci[2]; /* priority and VLAN ID */
	int ipv;         /* 4, 6, or 0: an EtherType 0x88b5 payload */
	uint8_t proto;   /* PROTO_TCP, PROTO_UDP or another */
	uint32_t saddr;  /* IPv4, or the last word of an IPv6 address */
	uint32_t daddr;
	uint16_t sport, dport;
	uint8_t ihl;      /* IPv4 header words: 5 unless set */
	uint16_t frag;    /* IPv4 flags and fragment offset (host order) */
	bool frag6;       /* IPv6: a fragment header before the L4 header */
	uint8_t ttl;      /* not part of the flow */
	uint16_t payload; /* bytes after the L4 header, not part of the flow */
};

static void
build(struct frame *f, const struct flow *fl)
{
	uint32_t i;
	int t;

	f->n = 0;
	putn(f, fl->dst, 6);
	putn(f, fl->src, 6);
	for (t = 0; t < fl->tags; t++) {
		put16(f,
			fl->tags == 2 && t == 0 ? ETHERTYPE_QINQ
						: ETHERTYPE_VLAN);
		put16(f, fl->tci[t]);
	}
	if (fl->ipv == 4) {
		uint8_t ihl = fl->ihl ? fl->ihl : 5;

		put16(f, ETHERTYPE_IPV4);
		put8(f, (uint8_t)(0x40 | (ihl & 0xf)));
		put8(f, 0);        /* DSCP */
		put16(f, 0);       /* total length: not checked */
		put16(f, fl->ttl); /* identification: varies like the TTL */
		put16(f, fl->frag);
		put8(f, fl->ttl);
		put8(f, fl->proto);
		put16(f, 0); /* checksum */
		put32(f, fl->saddr);
		put32(f, fl->daddr);
		for (i = 5; i < ihl; i++)
			put32(f, 0x01010101); /* options (NOPs) */
	} else if (fl->ipv == 6) {
		put16(f, ETHERTYPE_IPV6);
		put32(f, 0x60000000);
		put16(f, 0); /* payload length */
		put8(f, fl->frag6 ? PROTO_FRAG6 : fl->proto);
		put8(f, fl->ttl); /* hop limit */
		put32(f, 0x20010db8);
		put32(f, 0);
		put32(f, 0);
		put32(f, fl->saddr);
		put32(f, 0x20010db8);
		put32(f, 0);
		put32(f, 0);
		put32(f, fl->daddr);
		if (fl->frag6) {
			put8(f, fl->proto);
			put8(f, 0);
			put16(f, 0x0001); /* offset 0, more fragments */
			put32(f, 0x12345678);
		}
	} else {
		put16(f, 0x88b5);
	}
	if (fl->ipv != 0 &&
		(fl->proto == PROTO_TCP || fl->proto == PROTO_UDP)) {
		put16(f, fl->sport);
		put16(f, fl->dport);
		put32(f, 0); /* rest of the UDP header, start of TCP's */
	}
	for (i = 0; i < fl->payload; i++)
		put8(f, (uint8_t)(i ^ fl->ttl));
}

/*
 * The hash of the first 'len' bytes of 'f', in an mbuf whose data is a
 * heap buffer of exactly 'len' bytes.
 */
static uint32_t
hash_n(const struct frame *f, uint32_t len, uint64_t ol_flags, uint32_t rss)
{
	struct rte_mbuf m;
	uint8_t *buf;
	uint32_t h;

	assert_true(len <= f->n);
	buf = malloc(len ? len : 1);
	assert_non_null(buf);
	memcpy(buf, f->b, len);
	memset(&m, 0, sizeof(m));
	m.buf_addr = buf;
	m.data_off = 0;
	m.buf_len = (uint16_t)len;
	m.data_len = (uint16_t)len;
	m.pkt_len = len;
	m.nb_segs = 1;
	m.ol_flags = ol_flags;
	m.hash.rss = rss;
	h = flow_hash(&m);
	free(buf);
	return h;
}

static uint32_t
hash_flow(const struct flow *fl)
{
	struct frame f;

	build(&f, fl);
	return hash_n(&f, f.n, 0, 0);
}

static struct flow
base_flow(int ipv, uint8_t proto)
{
	struct flow fl = {
		.dst = {0x52, 0x54, 0, 0, 0, 0x01},
		.src = {0x52, 0x54, 0, 0, 0, 0x02},
		.ipv = ipv,
		.proto = proto,
		.saddr = 0x0a000001,
		.daddr = 0x0a000002,
		.sport = 1024,
		.dport = 80,
		.ttl = 64,
		.payload = 18,
	};

	return fl;
}

/* Frames of one flow: TTL, IP id, payload and length do not matter. */
static void
test_same_flow_same_hash(void **state)
{
	static const struct {
		int ipv;
		uint8_t proto;
	} kinds[] = {{4, PROTO_TCP}, {4, PROTO_UDP}, {6, PROTO_TCP},
		{6, PROTO_UDP}, {4, 47}, {0, 0}};
	unsigned int k;

	(void)state;
	for (k = 0; k < RTE_DIM(kinds); k++) {
		struct flow a = base_flow(kinds[k].ipv, kinds[k].proto);
		struct flow b = a;

		b.ttl = 3;
		b.payload = 200;
		assert_int_equal(hash_flow(&a), hash_flow(&b));
		/* The priority bits of a tag are not the flow's. */
		a.tags = b.tags = 1;
		a.tci[0] = 0x0064;
		b.tci[0] = 0xe064;
		assert_int_equal(hash_flow(&a), hash_flow(&b));
	}
}

/* Each field of the flow changes the hash. */
static void
test_fields_matter(void **state)
{
	struct flow a = base_flow(4, PROTO_TCP), b;
	uint32_t h = hash_flow(&a);

	(void)state;
	b = a;
	b.dst[5] = 0x09;
	assert_int_not_equal(h, hash_flow(&b));
	b = a;
	b.src[0] = 0x02;
	assert_int_not_equal(h, hash_flow(&b));
	b = a;
	b.saddr++;
	assert_int_not_equal(h, hash_flow(&b));
	b = a;
	b.daddr++;
	assert_int_not_equal(h, hash_flow(&b));
	b = a;
	b.sport++;
	assert_int_not_equal(h, hash_flow(&b));
	b = a;
	b.dport++;
	assert_int_not_equal(h, hash_flow(&b));
	b = a;
	b.proto = PROTO_UDP;
	assert_int_not_equal(h, hash_flow(&b));
	b = a;
	b.ipv = 6;
	assert_int_not_equal(h, hash_flow(&b));
	/* The VLAN ID, of either tag. */
	a.tags = b.tags = 2;
	a.tci[0] = b.tci[0] = 10;
	a.tci[1] = b.tci[1] = 20;
	h = hash_flow(&a);
	b.tci[1] = 21;
	assert_int_not_equal(h, hash_flow(&b));
	b.tci[1] = 20;
	b.tci[0] = 11;
	assert_int_not_equal(h, hash_flow(&b));
	/* IPv6 addresses and ports. */
	a = base_flow(6, PROTO_UDP);
	h = hash_flow(&a);
	b = a;
	b.saddr ^= 0x100;
	assert_int_not_equal(h, hash_flow(&b));
	b = a;
	b.daddr ^= 0x100;
	assert_int_not_equal(h, hash_flow(&b));
	b = a;
	b.dport = 53;
	assert_int_not_equal(h, hash_flow(&b));
}

/*
 * Fragments hash on the addresses only: the first fragment (with the
 * ports), later ones (without) and fragments of other flows between the
 * same hosts all alike; IPv4 options do not move the ports.
 */
static void
test_fragments(void **state)
{
	struct flow a = base_flow(4, PROTO_UDP), b;
	uint32_t first, later;

	(void)state;
	a.frag = 0x2000; /* MF, offset 0: the first fragment */
	first = hash_flow(&a);
	b = a;
	b.frag = 0x00b9; /* last fragment, offset 185 */
	b.sport = 7;     /* bytes of the payload where ports would be */
	b.dport = 9;
	later = hash_flow(&b);
	assert_int_equal(first, later);
	b.frag = 0x20b9; /* MF and an offset */
	assert_int_equal(first, hash_flow(&b));
	/* Not a fragment: the ports count. */
	b.frag = 0x4000; /* DF only */
	assert_int_not_equal(first, hash_flow(&b));
	a.frag = 0x4000;
	b = a;
	b.ihl = 7; /* options before the UDP header */
	assert_int_equal(hash_flow(&a), hash_flow(&b));

	a = base_flow(6, PROTO_UDP);
	a.frag6 = true;
	b = a;
	b.sport = 7;
	assert_int_equal(hash_flow(&a), hash_flow(&b));
	b.frag6 = false;
	assert_int_not_equal(hash_flow(&a), hash_flow(&b));
}

/* The NIC's RSS hash, when the mbuf says it has one. */
static void
test_rss_hash(void **state)
{
	struct flow fl = base_flow(4, PROTO_TCP);
	struct frame f;

	(void)state;
	build(&f, &fl);
	assert_int_equal(0x12345678,
		hash_n(&f, f.n, RTE_MBUF_F_RX_RSS_HASH, 0x12345678));
	assert_int_equal(hash_n(&f, f.n, 0, 0), hash_n(&f, f.n, 0, 0x1234));
}

/*
 * Counts how 'nflows' flows made by 'vary' spread over 'nq' queues and
 * checks every queue gets its share within 'tol' percent (100: at least
 * one flow).
 */
static void
check_spread(void (*vary)(struct flow *, uint32_t), uint32_t nflows,
	uint32_t nq, uint32_t tol)
{
	uint32_t count[16] = {0}, i, q, fair = nflows / nq;

	assert_true(nq <= RTE_DIM(count));
	for (i = 0; i < nflows; i++) {
		struct flow fl = base_flow(4, PROTO_UDP);

		vary(&fl, i);
		q = flow_hash_pick(hash_flow(&fl), nq);
		assert_true(q < nq);
		count[q]++;
	}
	for (q = 0; q < nq; q++) {
		if (count[q] == 0 || count[q] * 100 < fair * (100 - tol) ||
			count[q] * 100 > fair * (100 + tol))
			fail_msg("%u flows over %u queues: queue %u got %u "
				 "(fair share %u, tolerance %u%%)",
				nflows, nq, q, count[q], fair, tol);
	}
}

/* testpmd's --txonly-multi-flow: the source address's third byte. */
static void
vary_saddr(struct flow *fl, uint32_t i)
{
	fl->saddr = 0xc612000a | (i & 0xff) << 8;
}

static void
vary_sport(struct flow *fl, uint32_t i)
{
	fl->sport = (uint16_t)(10000 + i);
}

/* Many hosts: a MAC and an address each (vhsw-pktgen's MAC pairs). */
static void
vary_hosts(struct flow *fl, uint32_t i)
{
	fl->src[4] = (uint8_t)(i >> 8);
	fl->src[5] = (uint8_t)i;
	fl->saddr = 0x0a000000 + i;
}

/*
 * Distinct flows spread evenly, also flows that differ in one byte only
 * (a CRC's high bits alone leave queues empty there when their count is
 * not a power of two).  256 flows over many queues are few per queue:
 * there every queue must get some.
 */
static void
test_distinct_flows_spread(void **state)
{
	uint32_t nq;

	(void)state;
	for (nq = 2; nq <= 16; nq++) {
		check_spread(vary_saddr, 256, nq, nq <= 4 ? 15 : 100);
		check_spread(vary_sport, 4096, nq, 20);
		check_spread(vary_hosts, 4096, nq, 20);
	}
}

/* flow_hash_pick: always within range, every queue reached. */
static void
test_pick(void **state)
{
	uint32_t n, q, i, h;
	bool seen[16];

	(void)state;
	for (n = 1; n <= 16; n++) {
		memset(seen, 0, sizeof(seen));
		for (i = 0; i < 4096; i++) {
			h = i * 0x01000193u;
			q = flow_hash_pick(h, n);
			assert_true(q < n);
			seen[q] = true;
			assert_true(flow_hash_pick(UINT32_MAX - i, n) < n);
		}
		for (q = 0; q < n; q++)
			assert_true(seen[q]);
	}
}

/*
 * Every frame kind cut at every length: the hash reads nothing past the
 * data (ASan build), is the same each time, and a frame cut inside a field
 * hashes like one cut just before that field.
 */
static void
test_truncated(void **state)
{
	struct flow kinds[6];
	unsigned int k;
	struct frame f;
	uint32_t len;

	(void)state;
	kinds[0] = base_flow(4, PROTO_TCP);
	kinds[1] = base_flow(6, PROTO_UDP);
	kinds[2] = base_flow(4, PROTO_UDP);
	kinds[2].tags = 2;
	kinds[2].tci[0] = 10;
	kinds[2].tci[1] = 20;
	kinds[3] = base_flow(6, PROTO_TCP);
	kinds[3].tags = 1;
	kinds[3].tci[0] = 30;
	kinds[4] = base_flow(4, PROTO_UDP);
	kinds[4].ihl = 15;
	kinds[5] = base_flow(6, PROTO_UDP);
	kinds[5].frag6 = true;
	for (k = 0; k < RTE_DIM(kinds); k++) {
		kinds[k].payload = 0;
		build(&f, &kinds[k]);
		for (len = 0; len <= f.n; len++)
			assert_int_equal(
				hash_n(&f, len, 0, 0), hash_n(&f, len, 0, 0));
	}
	/* An IPv4 header cut short: the hash of its L2 part. */
	build(&f, &kinds[0]);
	assert_int_equal(hash_n(&f, 14, 0, 0), hash_n(&f, 14 + 19, 0, 0));
	/* Ports cut short: the addresses only. */
	assert_int_equal(hash_n(&f, 34, 0, 0), hash_n(&f, 34 + 3, 0, 0));
	assert_int_not_equal(hash_n(&f, 34, 0, 0), hash_n(&f, 34 + 4, 0, 0));
}

/*
 * Malformed headers: an IPv4 IHL below 5 (no ports) or past the frame,
 * tags without room for their TCI, more tags than are read, and random
 * bytes behind every EtherType the hash parses.
 */
static void
test_malformed(void **state)
{
	static const uint16_t types[] = {ETHERTYPE_IPV4, ETHERTYPE_IPV6,
		ETHERTYPE_VLAN, ETHERTYPE_QINQ, 0x88b5};
	struct flow a = base_flow(4, PROTO_TCP), b;
	struct frame f;
	uint32_t i, len;

	(void)state;
	/* IHL 2: a broken header; its ports do not count. */
	a.ihl = 2;
	b = a;
	b.sport = 7;
	assert_int_equal(hash_flow(&a), hash_flow(&b));
	/* IHL 15 on a frame that ends before the options do. */
	a = base_flow(4, PROTO_TCP);
	a.ihl = 15;
	a.payload = 0;
	build(&f, &a);
	f.n = 14 + 24;
	assert_int_equal(hash_n(&f, f.n, 0, 0), hash_n(&f, f.n, 0, 0));
	/* Three tags: the third is the "EtherType" after two. */
	a = base_flow(4, PROTO_TCP);
	a.tags = 2;
	build(&f, &a);
	memmove(f.b + 22, f.b + 18, f.n - 18);
	f.b[18] = 0x81;
	f.b[19] = 0x00;
	f.b[20] = 0x00;
	f.b[21] = 0x05;
	f.n += 4;
	for (len = 0; len <= f.n; len++)
		hash_n(&f, len, 0, 0);
	/* Random bytes after each EtherType, at every short length. */
	srand(16);
	for (i = 0; i < 20000; i++) {
		uint16_t t = types[i % RTE_DIM(types)];
		uint32_t j;

		f.n = (uint32_t)(rand() % 96);
		for (j = 0; j < f.n; j++)
			f.b[j] = (uint8_t)rand();
		if (f.n >= 14) {
			f.b[12] = (uint8_t)(t >> 8);
			f.b[13] = (uint8_t)t;
		}
		if (f.n >= 18 && (i & 1)) {
			f.b[16] =
				(uint8_t)(types[(i / 2) % RTE_DIM(types)] >> 8);
			f.b[17] = (uint8_t)types[(i / 2) % RTE_DIM(types)];
		}
		if (f.n >= 15 && t == ETHERTYPE_IPV4)
			f.b[14] = (uint8_t)(0x40 | (f.b[14] & 0xf));
		hash_n(&f, f.n, 0, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_flow_same_hash),
		cmocka_unit_test(test_fields_matter),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_rss_hash),
		cmocka_unit_test(test_distinct_flows_spread),
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
