/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_fwd.c - forwarding decisions through fake ports: unicast after
 * learning, flooding, no hairpin, VLAN separation with tag push/pop, runts,
 * TX-full drops, MTU, and no leaked mbufs in any of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_ether.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "fdb.h"
#include "fwd.h"
#include "port.h"
#include "ut_eal.h"

#define NPORTS 4
#define CAP 256

struct fake_port {
	struct port port;
	uint16_t accept; /* frames tx_burst takes per call */
	uint16_t n;
	struct rte_mbuf *got[CAP];
};

static struct rte_mempool *pool;
static struct rte_rcu_qsbr *qsv;

struct env {
	struct fdb *fdb;
	struct fwd_ctx ctx;
	struct port_table tbl;
	struct fake_port fp[NPORTS];
	unsigned int avail; /* pool level before the test */
};

static uint16_t
fake_rx(struct port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	return 0;
}

static uint16_t
fake_tx(struct port *p, struct rte_mbuf **pkts, uint16_t n)
{
	struct fake_port *f = (struct fake_port *)p;
	uint16_t k = RTE_MIN(n, f->accept), i;

	for (i = 0; i < k && f->n < CAP; i++)
		f->got[f->n++] = pkts[i];
	return i;
}

static uint16_t
fake_nrxq(const struct port *p)
{
	return 1;
}

static const struct port_ops fake_ops = {
	.rx_burst = fake_rx,
	.tx_burst = fake_tx,
	.n_rxq = fake_nrxq,
};

static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	int i;

	e->avail = rte_mempool_avail_count(pool);
	e->fdb = fdb_create("ut_fwd", 1024, qsv);
	if (e->fdb == NULL)
		return -1;
	fdb_set_clock(e->fdb, 1);
	for (i = 0; i < NPORTS; i++) {
		struct port *p = &e->fp[i].port;

		p->ops = &fake_ops;
		p->id = (uint16_t)i;
		p->mtu = 1500;
		snprintf(p->name, sizeof(p->name), "p%d", i);
		port_set_ready(p, true);
		e->fp[i].accept = UINT16_MAX;
		e->tbl.by_id[i] = p;
		e->tbl.ids[e->tbl.n++] = (uint16_t)i;
	}
	fwd_init(&e->ctx, e->fdb, pool);
	e->ctx.tbl = &e->tbl;
	*state = e;
	return 0;
}

/* Frees what the fake ports received and checks nothing leaked. */
static int
teardown(void **state)
{
	struct env *e = *state;
	int i;

	for (i = 0; i < NPORTS; i++)
		rte_pktmbuf_free_bulk(e->fp[i].got, e->fp[i].n);
	fdb_destroy(e->fdb);
	if (rte_mempool_avail_count(pool) != e->avail) {
		fprintf(stderr, "leaked %d mbufs\n",
			(int)e->avail - (int)rte_mempool_avail_count(pool));
		free(e);
		return -1;
	}
	free(e);
	return 0;
}

static const struct rte_ether_addr BCAST = {
	{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};

static struct rte_ether_addr
mac(int n)
{
	struct rte_ether_addr a = {{0x52, 0x54, 0x00, 0x00, 0x00, (uint8_t)n}};
	return a;
}

/* A frame of 'len' bytes, tagged with 'vlan' if non-zero. */
static struct rte_mbuf *
frame(struct rte_ether_addr src, struct rte_ether_addr dst, uint16_t vlan,
	uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	struct rte_ether_hdr *eh;
	char *d;

	assert_non_null(m);
	d = rte_pktmbuf_append(m, len);
	assert_non_null(d);
	memset(d, 0xab, len);
	if (len < RTE_ETHER_HDR_LEN)
		return m;
	eh = (struct rte_ether_hdr *)d;
	eh->src_addr = src;
	eh->dst_addr = dst;
	eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	if (vlan != 0) {
		struct rte_vlan_hdr *vh = (struct rte_vlan_hdr *)(eh + 1);

		eh->ether_type = RTE_BE16(RTE_ETHER_TYPE_VLAN);
		vh->vlan_tci = rte_cpu_to_be_16(vlan);
		vh->eth_proto = RTE_BE16(RTE_ETHER_TYPE_IPV4);
	}
	return m;
}

static void
send1(struct env *e, int port, struct rte_mbuf *m)
{
	fwd_input(&e->ctx, &e->fp[port].port, &m, 1);
	fwd_flush(&e->ctx);
}

/* VLAN id of a frame's 802.1Q tag, or -1 if untagged. */
static int
tag_of(struct rte_mbuf *m)
{
	struct rte_ether_hdr *eh = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);

	if (eh->ether_type != RTE_BE16(RTE_ETHER_TYPE_VLAN))
		return -1;
	return rte_be_to_cpu_16(((struct rte_vlan_hdr *)(eh + 1))->vlan_tci) &
		0xfff;
}

static void
test_unicast_after_learning(void **state)
{
	struct env *e = *state;

	/* Unknown destination: flooded to every other port. */
	send1(e, 0, frame(mac(1), mac(2), 0, 64));
	assert_int_equal(e->fp[0].n, 0);
	assert_int_equal(e->fp[1].n, 1);
	assert_int_equal(e->fp[2].n, 1);
	assert_int_equal(e->fp[3].n, 1);
	assert_int_equal(e->fp[0].port.stats[0].flooded, 1);
	/* The reply is unicast: port 0 learned mac(1). */
	send1(e, 1, frame(mac(2), mac(1), 0, 64));
	assert_int_equal(e->fp[0].n, 1);
	assert_int_equal(e->fp[2].n, 1);
	assert_int_equal(e->fp[3].n, 1);
	/* And now the other direction too. */
	send1(e, 0, frame(mac(1), mac(2), 0, 64));
	assert_int_equal(e->fp[1].n, 2);
	assert_int_equal(e->fp[2].n, 1);
	assert_int_equal(e->fp[3].n, 1);
	assert_int_equal(e->fp[0].port.stats[0].rx_packets, 2);
	assert_int_equal(e->fp[0].port.stats[0].rx_bytes, 128);
	assert_int_equal(e->fp[1].port.stats[0].tx_packets, 2);
	assert_int_equal(e->fp[1].port.stats[0].tx_bytes, 128);
}

static void
test_broadcast_and_multicast_flood(void **state)
{
	struct env *e = *state;
	struct rte_ether_addr mcast = {{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}};

	send1(e, 2, frame(mac(3), mac(1), 0, 64)); /* learn mac(3) on 2 */
	send1(e, 0, frame(mac(1), BCAST, 0, 64));
	send1(e, 0, frame(mac(1), mcast, 0, 64));
	assert_int_equal(e->fp[0].n, 1); /* only the first, unknown unicast */
	assert_int_equal(e->fp[1].n, 3);
	assert_int_equal(e->fp[2].n, 2);
	assert_int_equal(e->fp[3].n, 3);
	/* Flooding shares one mbuf among destinations. */
	assert_ptr_equal(e->fp[1].got[2], e->fp[3].got[2]);
}

static void
test_no_hairpin(void **state)
{
	struct env *e = *state;
	int i;

	send1(e, 0, frame(mac(1), BCAST, 0, 64));
	send1(e, 0, frame(mac(2), BCAST, 0, 64));
	/* mac(2) is behind port 0 too: a frame to it stays there. */
	send1(e, 0, frame(mac(1), mac(2), 0, 64));
	for (i = 0; i < NPORTS; i++)
		assert_int_equal(e->fp[i].n, i == 0 ? 0 : 2);
	assert_int_equal(e->fp[0].port.stats[0].rx_dropped, 1);
	assert_int_equal(e->fp[0].port.stats[0].rx_no_dest, 1);
}

static void
test_vlan_separation(void **state)
{
	struct env *e = *state;

	e->fp[0].port.vlan = 10; /* access 10 */
	e->fp[1].port.vlan = 10; /* access 10 */
	e->fp[2].port.vlan = 20; /* access 20 */
	/* fp[3] is a trunk. */
	send1(e, 0, frame(mac(1), BCAST, 0, 64));
	assert_int_equal(e->fp[1].n, 1);
	assert_int_equal(tag_of(e->fp[1].got[0]), -1);
	assert_int_equal(e->fp[2].n, 0);
	assert_int_equal(e->fp[3].n, 1);
	assert_int_equal(tag_of(e->fp[3].got[0]), 10); /* tag pushed */
	assert_int_equal(rte_pktmbuf_pkt_len(e->fp[3].got[0]), 68);
	/* Tagged VLAN 20 from the trunk: only the VLAN 20 port, untagged. */
	send1(e, 3, frame(mac(4), BCAST, 20, 68));
	assert_int_equal(e->fp[0].n, 0);
	assert_int_equal(e->fp[1].n, 1);
	assert_int_equal(e->fp[2].n, 1);
	assert_int_equal(tag_of(e->fp[2].got[0]), -1);
	assert_int_equal(rte_pktmbuf_pkt_len(e->fp[2].got[0]), 64);
	/* Same MAC, other VLAN: learned separately, unicast within VLAN. */
	send1(e, 3, frame(mac(1), mac(9), 20, 68));
	send1(e, 2, frame(mac(5), mac(1), 0, 64));
	assert_int_equal(e->fp[3].n, 2);
	assert_int_equal(tag_of(e->fp[3].got[1]), 20);
	assert_int_equal(e->fp[0].n, 0);
	/* A tagged frame on an access port is dropped. */
	send1(e, 0, frame(mac(1), BCAST, 10, 68));
	assert_int_equal(e->fp[0].port.stats[0].rx_bad_vlan, 1);
	assert_int_equal(e->fp[0].port.stats[0].rx_dropped, 1);
	assert_int_equal(e->fp[1].n, 1);
}

/* netvsc strips VLAN tags into the mbuf (RTE_MBUF_F_RX_VLAN_STRIPPED). */
static void
test_stripped_vlan_from_trunk(void **state)
{
	struct env *e = *state;
	struct rte_mbuf *m;

	e->fp[0].port.vlan = 10;
	e->fp[1].port.vlan = 20;
	/* fp[2] is the uplink-like trunk the frame arrives on; fp[3] a trunk. */
	m = frame(mac(7), BCAST, 0, 64);
	m->ol_flags |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
	m->vlan_tci = 10;
	send1(e, 2, m);
	assert_int_equal(e->fp[0].n, 1); /* VLAN 10 access port, untagged */
	assert_int_equal(tag_of(e->fp[0].got[0]), -1);
	assert_int_equal(e->fp[1].n, 0); /* not VLAN 20 */
	assert_int_equal(e->fp[3].n, 1); /* the other trunk: tag restored */
	assert_int_equal(tag_of(e->fp[3].got[0]), 10);
	/* Learned in VLAN 10: the reply from the access port is unicast. */
	send1(e, 0, frame(mac(1), mac(7), 0, 64));
	assert_int_equal(e->fp[2].n, 1);
	assert_int_equal(tag_of(e->fp[2].got[0]), 10);
	assert_int_equal(e->fp[3].n, 1);
	/* A stripped priority tag (VLAN 0) is untagged traffic. */
	m = frame(mac(8), BCAST, 0, 64);
	m->ol_flags |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
	m->vlan_tci = 0x2000; /* PCP 1, VID 0 */
	send1(e, 2, m);
	assert_int_equal(e->fp[0].n, 1);
	assert_int_equal(e->fp[3].n, 2);
	assert_int_equal(tag_of(e->fp[3].got[1]), -1);
}

static void
test_runts_dropped(void **state)
{
	struct env *e = *state;
	int i;

	send1(e, 0, frame(mac(1), BCAST, 0, 13));
	for (i = 1; i < NPORTS; i++)
		assert_int_equal(e->fp[i].n, 0);
	assert_int_equal(e->fp[0].port.stats[0].rx_runts, 1);
	assert_int_equal(e->fp[0].port.stats[0].rx_dropped, 1);
	assert_int_equal(e->fp[0].port.stats[0].rx_packets, 1);
	/* Exactly 14 bytes is a valid (empty) frame. */
	send1(e, 0, frame(mac(1), BCAST, 0, 14));
	assert_int_equal(e->fp[1].n, 1);
}

static void
test_tx_full_drops_and_counts(void **state)
{
	struct env *e = *state;
	struct rte_mbuf *pkts[VHSW_BURST];
	int i;

	send1(e, 1, frame(mac(2), BCAST, 0, 64)); /* learn mac(2) on 1 */
	e->fp[1].accept = 5;
	for (i = 0; i < VHSW_BURST; i++)
		pkts[i] = frame(mac(1), mac(2), 0, 64);
	fwd_input(&e->ctx, &e->fp[0].port, pkts, VHSW_BURST);
	fwd_flush(&e->ctx);
	/* 5 per try: the first call and FWD_TX_RETRIES retries. */
	assert_int_equal(
		e->fp[1].port.stats[0].tx_packets, 5 * (1 + FWD_TX_RETRIES));
	assert_int_equal(e->fp[1].port.stats[0].tx_dropped,
		VHSW_BURST - 5 * (1 + FWD_TX_RETRIES));
	assert_int_equal(e->fp[1].port.stats[0].tx_full,
		VHSW_BURST - 5 * (1 + FWD_TX_RETRIES));
	/* A port that takes nothing: no endless retry, all dropped. */
	e->fp[1].accept = 0;
	send1(e, 0, frame(mac(1), mac(2), 0, 64));
	assert_int_equal(e->fp[1].port.stats[0].tx_dropped,
		VHSW_BURST - 5 * (1 + FWD_TX_RETRIES) + 1);
	assert_int_equal(e->fp[1].port.stats[0].tx_full,
		VHSW_BURST - 5 * (1 + FWD_TX_RETRIES) + 1);
	assert_int_equal(e->fp[1].port.stats[0].tx_down, 0);
}

static void
test_down_port_not_flooded(void **state)
{
	struct env *e = *state;

	port_set_ready(&e->fp[2].port, false);
	send1(e, 0, frame(mac(1), BCAST, 0, 64));
	assert_int_equal(e->fp[2].n, 0);
	assert_int_equal(e->fp[1].n, 1);
	/* Unicast to a learned port that went down is dropped, counted. */
	port_set_ready(&e->fp[2].port, true);
	send1(e, 2, frame(mac(3), BCAST, 0, 64));
	port_set_ready(&e->fp[2].port, false);
	send1(e, 0, frame(mac(1), mac(3), 0, 64));
	assert_int_equal(e->fp[2].port.stats[0].tx_dropped, 1);
	assert_int_equal(e->fp[2].port.stats[0].tx_down, 1);
	assert_int_equal(e->fp[2].port.stats[0].tx_full, 0);
}

static void
test_mtu(void **state)
{
	struct env *e = *state;

	e->fp[1].port.mtu = 1500;
	e->fp[2].port.mtu = 9000;
	e->fp[3].port.mtu = 9000;
	send1(e, 0, frame(mac(1), BCAST, 0, 1514)); /* 1500 of payload */
	assert_int_equal(e->fp[1].n, 1);
	send1(e, 0, frame(mac(1), BCAST, 0, 1515));
	assert_int_equal(e->fp[1].n, 1);
	assert_int_equal(e->fp[1].port.stats[0].tx_oversize, 1);
	assert_int_equal(e->fp[1].port.stats[0].tx_dropped, 1);
	assert_int_equal(e->fp[2].n, 2);
	/* Never truncated. */
	assert_int_equal(rte_pktmbuf_pkt_len(e->fp[2].got[1]), 1515);
}

static void
test_many_bursts(void **state)
{
	struct env *e = *state;
	struct rte_mbuf *pkts[100];
	int i;

	send1(e, 1, frame(mac(2), BCAST, 0, 64));
	/* More than a TX buffer holds in one call: sent in chunks. */
	for (i = 0; i < 100; i++)
		pkts[i] = frame(mac(1), mac(2), 0, 64);
	fwd_input(&e->ctx, &e->fp[0].port, pkts, 100);
	fwd_flush(&e->ctx);
	assert_int_equal(e->fp[1].port.stats[0].tx_packets, 100);
	assert_int_equal(e->fp[0].port.stats[0].rx_packets, 100);
	assert_int_equal(e->fp[2].n, 1);
}

/* Runs of equal keys are looked up once; every frame still goes right. */
static void
test_mixed_burst(void **state)
{
	struct env *e = *state;
	struct rte_mbuf *pkts[7];
	static const int dst[7] = {2, 2, 3, 2, 3, 3, 9};
	int i;

	send1(e, 1, frame(mac(2), BCAST, 0, 64)); /* mac(2) behind port 1 */
	send1(e, 2, frame(mac(3), BCAST, 0, 64)); /* mac(3) behind port 2 */
	for (i = 0; i < 7; i++)
		pkts[i] = frame(mac(i % 2 ? 1 : 5), mac(dst[i]), 0, 64);
	fwd_input(&e->ctx, &e->fp[0].port, pkts, 7);
	fwd_flush(&e->ctx);
	/* port 1: bcast from port 2, 3 unicast, 1 flood (mac(9) unknown) */
	assert_int_equal(e->fp[1].n, 1 + 3 + 1);
	assert_int_equal(e->fp[2].n, 1 + 3 + 1);
	assert_int_equal(e->fp[3].n, 2 + 1);
	/* Both alternating sources were learned on port 0. */
	send1(e, 1, frame(mac(2), mac(1), 0, 64));
	send1(e, 1, frame(mac(2), mac(5), 0, 64));
	assert_int_equal(
		e->fp[0].n, 2 + 2); /* the two broadcasts, then these */
	assert_int_equal(e->fp[3].n, 3);
}

/* A VLAN push needs a private copy; with no buffer left it is counted. */
static void
test_no_mbuf_for_copy(void **state)
{
	struct env *e = *state;
	struct rte_mempool *empty;

	empty = rte_pktmbuf_pool_create(
		"ut_empty", 1, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	assert_non_null(empty);
	assert_non_null(rte_pktmbuf_alloc(empty)); /* now it is empty */
	e->ctx.pool = empty;
	e->fp[0].port.vlan = 10; /* access 10; fp[2], fp[3] are trunks */
	e->fp[1].port.vlan = 20;
	send1(e, 0, frame(mac(1), BCAST, 0, 64));
	/* Two trunks share the frame: each needs a tagged copy. */
	assert_int_equal(e->fp[2].n, 0);
	assert_int_equal(e->fp[3].n, 0);
	assert_int_equal(e->fp[2].port.stats[0].tx_no_mbuf, 1);
	assert_int_equal(e->fp[3].port.stats[0].tx_dropped, 1);
	e->ctx.pool = pool;
	/* The mbuf taken to empty the pool is its own; not the test pool. */
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_unicast_after_learning),
		T(test_broadcast_and_multicast_flood),
		T(test_no_hairpin),
		T(test_vlan_separation),
		T(test_stripped_vlan_from_trunk),
		T(test_runts_dropped),
		T(test_tx_full_drops_and_counts),
		T(test_down_port_not_flooded),
		T(test_mtu),
		T(test_no_mbuf_for_copy),
		T(test_many_bursts),
		T(test_mixed_burst),
	};
#undef T

	if (ut_eal_init("fwd") != 0)
		return 1;
	pool = rte_pktmbuf_pool_create(
		"ut_pool", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	qsv = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(1), 64);
	if (pool == NULL || qsv == NULL || rte_rcu_qsbr_init(qsv, 1) != 0)
		return 1;
	return cmocka_run_group_tests_name("fwd", tests, NULL, NULL);
}
