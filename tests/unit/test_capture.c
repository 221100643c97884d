/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_capture.c - the filter and copy path of captures (capture.h):
 * tcpdump expressions compiled and run by librte_bpf (interpreter and
 * JIT) on frames built here, with the expected verdicts; the filters
 * refused because librte_bpf could read outside the frame; and
 * capture_burst's pcapng copies, counters and drops when the ring is full.
 */
#define ALLOW_EXPERIMENTAL_API 1

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <rte_bpf.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "capture.h"
#include "monitor.h"
#include "port.h"
#include "ut_eal.h"

static struct rte_mempool *pool;

/* An Ethernet + IPv4 frame from 10.0.0.1 to 10.0.0.2, with DF set:
 * protocol 'proto' (ICMP echo request, or TCP/UDP from port 1234 to
 * 'dport'), 'len' bytes in all. */
static struct rte_mbuf *
ip_frame(uint8_t proto, uint16_t dport, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	uint8_t f[256] = {0};
	char *d;

	assert_non_null(m);
	assert_true(len <= sizeof(f));
	memset(f, 0xff, 6);                           /* dst */
	memcpy(f + 6, "\x02\x00\x00\x00\x00\x01", 6); /* src */
	f[12] = 0x08;                                 /* IPv4 */
	f[14] = 0x45;                                 /* IHL 5 */
	f[20] = 0x40;                                 /* DF */
	f[23] = proto;
	memcpy(f + 26, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	if (proto == 1) {
		f[34] = 8; /* echo request */
	} else {
		f[34] = 1234 >> 8;
		f[35] = 1234 & 0xff;
		f[36] = (uint8_t)(dport >> 8);
		f[37] = (uint8_t)dport;
	}
	d = rte_pktmbuf_append(m, len);
	assert_non_null(d);
	memcpy(d, f, len);
	return m;
}

/* The verdict of 'expr' on 'm', by the interpreter and by the JIT. */
static bool
matches(const char *expr, struct rte_mbuf *m)
{
	struct capture c = {0};
	char err[512];
	uint64_t rc;
	void *ctx = m;

	if (capture_filter_compile(&c, expr, 262144, err, sizeof(err)) != 0)
		fail_msg("%s: %s", expr, err);
	assert_int_equal(rte_bpf_exec_burst(c.bpf, &ctx, &rc, 1), 1);
	if (c.jit != NULL)
		assert_int_equal(c.jit(m) != 0, rc != 0);
	rte_bpf_destroy(c.bpf);
	return rc != 0;
}

static void
test_filter_verdicts(void **state)
{
	struct rte_mbuf *icmp = ip_frame(1, 0, 98);
	struct rte_mbuf *tcp80 = ip_frame(6, 80, 60);
	struct rte_mbuf *udp53 = ip_frame(17, 53, 60);

	assert_true(matches("ip", icmp));
	assert_true(matches("icmp", icmp));
	assert_false(matches("tcp", icmp));
	assert_true(matches("dst host 10.0.0.2", icmp));
	assert_false(matches("src host 10.0.0.2", icmp));
	assert_true(matches("ether src 02:00:00:00:00:01", icmp));
	assert_true(matches("ether broadcast", icmp));
	/* Indexed loads (through the IP header's length): DPDK's
	 * converter indexes them by A; capture mends them to X. */
	assert_true(matches("icmp[icmptype] == icmp-echo", icmp));
	assert_false(matches("icmp[icmptype] == icmp-echoreply", icmp));
	assert_true(matches("tcp port 80", tcp80));
	assert_true(matches("tcp dst port 80 and src port 1234", tcp80));
	assert_false(matches("tcp port 443", tcp80));
	assert_false(matches("udp port 80", tcp80));
	assert_true(matches("udp port 53", udp53));
	assert_false(matches("udp port 54", udp53));
	/* Offsets past the frame: no match, no crash. */
	assert_false(matches("ether[5000] == 1", icmp));
	assert_false(matches("ether[65535] == 1", icmp));
	rte_pktmbuf_free(icmp);
	rte_pktmbuf_free(tcp80);
	rte_pktmbuf_free(udp53);
}

static void
test_filter_refused(void **state)
{
	static const char *const bad[] = {
		"ether hostt 1",            /* libpcap's syntax error */
		"ether[ether[0:4]] == 1",   /* a frame's bytes as offset */
		"ether[ether[0:4]:4] == 1", /* (these crashed librte_bpf) */
		"ether[4294967295] == 1",   /* an offset that wraps */
		NULL,
	};
	static const char *const good[] = {
		"vlan and tcp port 80",
		"ip[2:2] - ((ip[0]&0xf)<<2) - ((tcp[12]&0xf0)>>2) != 0",
		"tcp[tcpflags] & (tcp-syn|tcp-fin) != 0",
		"ip6 and udp port 546",
		"arp or (icmp and not host 10.0.0.9)",
		"ether[ether[0]] == 1", /* a byte: bounded */
		NULL,
	};
	struct capture c = {0};
	char err[512];
	int i;

	for (i = 0; bad[i] != NULL; i++) {
		err[0] = '\0';
		if (capture_filter_compile(
			    &c, bad[i], 262144, err, sizeof(err)) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
		assert_non_null(strstr(err, bad[i]));
		assert_null(c.bpf);
	}
	for (i = 0; good[i] != NULL; i++) {
		if (capture_filter_compile(
			    &c, good[i], 262144, err, sizeof(err)) != 0)
			fail_msg("refused '%s': %s", good[i], err);
		rte_bpf_destroy(c.bpf);
		c.bpf = NULL;
	}
}

/* A session's data-plane side, as capture_ctl.c makes it. */
static void
session_make(struct capture *c, const char *filter, unsigned int ring)
{
	char err[512];

	memset(c, 0, sizeof(*c));
	c->mp = pool;
	c->ring = rte_ring_create("ut_cap", ring, SOCKET_ID_ANY, RING_F_SC_DEQ);
	assert_non_null(c->ring);
	c->copy_len = 64;
	if (filter != NULL)
		assert_int_equal(
			capture_filter_compile(c, filter, 64, err, sizeof(err)),
			0);
}

static void
session_drop(struct capture *c)
{
	struct rte_mbuf *m;

	while (rte_ring_dequeue(c->ring, (void **)&m) == 0)
		rte_pktmbuf_free(m);
	rte_ring_free(c->ring);
	rte_bpf_destroy(c->bpf);
}

static void
test_burst_copies(void **state)
{
	struct port p = {.id = 3, .mtu = 1500};
	struct rte_mbuf *pkts[4], *m = NULL;
	struct capture c;
	uint32_t *epb;
	uint8_t *data;
	unsigned int i;

	session_make(&c, "tcp port 80", 64);
	pkts[0] = ip_frame(6, 80, 200);
	pkts[1] = ip_frame(17, 80, 60);
	pkts[2] = ip_frame(6, 80, 60);
	pkts[3] = ip_frame(1, 0, 98);
	capture_burst(&c, &p, 2, pkts, 4, MONITOR_TX);
	assert_int_equal(c.seen, 4);
	assert_int_equal(c.matched, 2);
	assert_int_equal(c.dropped, 0);
	assert_int_equal(rte_ring_count(c.ring), 2);
	/* The first: an EPB of 64 of its 200 bytes, outbound. */
	assert_int_equal(rte_ring_dequeue(c.ring, (void **)&m), 0);
	assert_int_equal(m->nb_segs, 1);
	epb = rte_pktmbuf_mtod(m, uint32_t *);
	assert_int_equal(epb[0], 6);                       /* EPB */
	assert_int_equal(epb[1], rte_pktmbuf_data_len(m)); /* length */
	assert_int_equal(epb[5], 64);                      /* captured */
	assert_int_equal(epb[6], 200);                     /* original */
	data = (uint8_t *)(epb + 7);
	assert_memory_equal(data, rte_pktmbuf_mtod(pkts[0], void *), 64);
	/* Options: flags (outbound), queue 2. */
	assert_int_equal(data[64], 2);
	assert_int_equal(*(uint32_t *)(data + 68), 2);
	assert_int_equal(*(uint32_t *)(data + 76), 2);
	rte_pktmbuf_free(m);
	/* The frames stay the caller's, unchanged. */
	for (i = 0; i < 4; i++) {
		assert_int_equal(rte_mbuf_refcnt_read(pkts[i]), 1);
		rte_pktmbuf_free(pkts[i]);
	}
	session_drop(&c);
}

static void
test_burst_drops_when_full(void **state)
{
	struct port p = {.id = 1, .mtu = 1500};
	struct rte_mbuf *pkts[32];
	struct capture c;
	unsigned int i;

	session_make(&c, NULL, 16); /* room for 15 */
	for (i = 0; i < 32; i++)
		pkts[i] = ip_frame(17, 53, 60);
	capture_burst(&c, &p, 0, pkts, 32, MONITOR_RX);
	assert_int_equal(c.seen, 32);
	assert_int_equal(c.matched, 32);
	assert_int_equal(c.dropped, 32 - 15);
	assert_int_equal(rte_ring_count(c.ring), 15);
	/* A session its writer closed takes nothing more. */
	c.closed = 1;
	capture_burst(&c, &p, 0, pkts, 32, MONITOR_RX);
	assert_int_equal(c.seen, 32);
	for (i = 0; i < 32; i++)
		rte_pktmbuf_free(pkts[i]);
	session_drop(&c);
	/* Every copy went back to the pool. */
	assert_int_equal(rte_mempool_in_use_count(pool), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_filter_verdicts),
		cmocka_unit_test(test_filter_refused),
		cmocka_unit_test(test_burst_copies),
		cmocka_unit_test(test_burst_drops_when_full),
	};

	if (ut_eal_init("capture") != 0)
		return 1;
	pool = rte_pktmbuf_pool_create("ut_capture", 1023, 0, 0,
		RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (pool == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
