/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_ethport_txq.c - an ethdev port's transmit queues with several
 * data-plane threads (ethport.h): a queue per thread where the PMD has
 * enough, thread t on queue t % n, one queue for net_tap and for a PMD
 * that refuses more transmit than receive queues, and the lock that keeps
 * two threads sharing a queue out of rte_eth_tx_burst at the same time.
 *
 * The port is a real ethdev (net_null, which has per-queue counters);
 * rte_eth_dev_info_get and rte_eth_dev_configure are wrapped to play other
 * PMDs (-Wl,--wrap), and the queue's burst function is replaced by one
 * that notices two threads inside it at once.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "ethport.h"
#include "port.h"
#include "ut_eal.h"

static struct rte_mempool *pool;

/* Seams: the PMD the wrapped calls play. */
static uint16_t max_txq;        /* 0: net_null's own */
static const char *driver_name; /* NULL: net_null's own */
static bool refuse_unequal;     /* configure fails unless rx == tx */
static uint16_t configured_txq; /* what configure last got */

int __real_rte_eth_dev_info_get(
	uint16_t port_id, struct rte_eth_dev_info *info);
int __real_rte_eth_dev_configure(uint16_t port_id, uint16_t nb_rxq,
	uint16_t nb_txq, const struct rte_eth_conf *conf);

int
__wrap_rte_eth_dev_info_get(uint16_t port_id, struct rte_eth_dev_info *info)
{
	int ret = __real_rte_eth_dev_info_get(port_id, info);

	if (ret == 0 && max_txq != 0)
		info->max_tx_queues = max_txq;
	if (ret == 0 && driver_name != NULL)
		info->driver_name = driver_name;
	return ret;
}

int
__wrap_rte_eth_dev_configure(uint16_t port_id, uint16_t nb_rxq, uint16_t nb_txq,
	const struct rte_eth_conf *conf)
{
	if (refuse_unequal && nb_rxq != nb_txq)
		return -EINVAL;
	configured_txq = nb_txq;
	return __real_rte_eth_dev_configure(port_id, nb_rxq, nb_txq, conf);
}

static void
no_wake(void *arg)
{
	(void)arg;
}

static int
setup(void **state)
{
	(void)state;
	max_txq = 0;
	driver_name = NULL;
	refuse_unequal = false;
	configured_txq = 0;
	port_set_dp_thread(0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	port_set_dp_threads(1);
	port_set_dp_thread(0);
	return 0;
}

/* An uplink on a new net_null device; its ethdev port id in *id. */
static struct port *
make(uint16_t *id)
{
	static unsigned int seq;
	char devargs[32], err[256] = "";
	struct ethport_params ep = {
		.kind = ETHPORT_UPLINK, .name = ETHPORT_UPLINK_NAME};
	struct port *p;

	snprintf(devargs, sizeof(devargs), "net_null%u", seq++);
	ep.devargs = devargs;
	p = ethport_create(&ep, err, sizeof(err));
	if (p == NULL)
		fail_msg("%s", err);
	assert_int_equal(rte_eth_dev_get_port_by_name(devargs, id), 0);
	return p;
}

static int
tx_queues(const struct port *p)
{
	json_t *o = ethport_uplink_json(p);
	int n = (int)json_integer_value(json_object_get(o, "tx_queues"));

	json_decref(o);
	return n;
}

/* Sends 'n' frames as data-plane thread 't'; all must be accepted. */
static void
send_as(struct port *p, uint16_t t, uint16_t n)
{
	struct rte_mbuf *m[64];

	assert_true(n <= RTE_DIM(m));
	port_set_dp_thread(t);
	assert_int_equal(rte_pktmbuf_alloc_bulk(pool, m, n), 0);
	assert_int_equal(p->ops->tx_burst(p, m, n), n);
}

static uint64_t
queue_out(uint16_t id, uint16_t q)
{
	struct rte_eth_stats st;

	assert_int_equal(rte_eth_stats_get(id, &st), 0);
	return st.q_opackets[q];
}

/* As many threads as the PMD has queues, or fewer: one queue each. */
static void
test_queue_per_thread(void **state)
{
	struct port *p;
	uint16_t id, t;

	(void)state;
	port_set_dp_threads(4);
	p = make(&id);
	assert_int_equal(tx_queues(p), 4);
	assert_int_equal(configured_txq, 4);
	for (t = 0; t < 4; t++)
		send_as(p, t, (uint16_t)(8 + t));
	for (t = 0; t < 4; t++)
		assert_int_equal(queue_out(id, t), 8 + t);
	p->cls->destroy(p);
}

/* More threads than queues: thread t on queue t % n. */
static void
test_fewer_queues(void **state)
{
	struct port *p;
	uint16_t id;

	(void)state;
	port_set_dp_threads(3);
	max_txq = 2;
	p = make(&id);
	assert_int_equal(tx_queues(p), 2);
	send_as(p, 0, 5);
	send_as(p, 1, 7);
	send_as(p, 2, 11);
	assert_int_equal(queue_out(id, 0), 5 + 11);
	assert_int_equal(queue_out(id, 1), 7);
	p->cls->destroy(p);
}

/* net_tap: one queue whatever it offers; a PMD refusing more TX than RX
 * queues: one queue, and the port still comes up. */
static void
test_one_queue(void **state)
{
	struct port *p;
	uint16_t id;

	(void)state;
	port_set_dp_threads(4);
	driver_name = "net_tap";
	p = make(&id);
	assert_int_equal(tx_queues(p), 1);
	assert_int_equal(configured_txq, 1);
	p->cls->destroy(p);

	driver_name = NULL;
	refuse_unequal = true;
	p = make(&id);
	assert_int_equal(tx_queues(p), 1);
	send_as(p, 3, 9);
	assert_int_equal(queue_out(id, 0), 9);
	p->cls->destroy(p);
}

/*
 * Two threads sharing the one queue: the queue's burst function, replaced
 * by one that stays inside a while, must never see both at once.
 */
static uint32_t inside, overlaps, bursts, senders_done;
static eth_tx_burst_t real_tx;

static uint16_t
checking_tx(void *txq, struct rte_mbuf **pkts, uint16_t n)
{
	uint64_t until = rte_get_tsc_cycles() + rte_get_tsc_hz() / 200000;

	if (__atomic_exchange_n(&inside, 1, __ATOMIC_ACQUIRE) != 0)
		__atomic_fetch_add(&overlaps, 1, __ATOMIC_RELAXED);
	while (rte_get_tsc_cycles() < until) /* 5 us inside */
		rte_pause();
	__atomic_fetch_add(&bursts, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&inside, 0, __ATOMIC_RELEASE);
	return real_tx(txq, pkts, n);
}

#define SHARED_BURSTS 2000

static int
sender(void *arg)
{
	struct port *p = arg;
	struct rte_mbuf *m[4];
	int i;

	/* The thread index of the lcore: 0 on the main one, 1 here. */
	port_set_dp_thread(
		(uint16_t)(rte_lcore_id() == rte_get_main_lcore() ? 0 : 1));
	for (i = 0; i < SHARED_BURSTS; i++) {
		if (rte_pktmbuf_alloc_bulk(pool, m, RTE_DIM(m)) != 0)
			return -1;
		if (p->ops->tx_burst(p, m, RTE_DIM(m)) != RTE_DIM(m))
			return -1;
	}
	/* What TSan sees of the end (the EAL's wait is not instrumented). */
	__atomic_fetch_add(&senders_done, 1, __ATOMIC_RELEASE);
	return 0;
}

static void
test_shared_queue_locked(void **state)
{
	unsigned int worker = rte_get_next_lcore(-1, 1, 0);
	struct port *p;
	uint16_t id;
	int ret;

	(void)state;
	assert_true(worker < RTE_MAX_LCORE);
	port_set_dp_threads(2);
	max_txq = 1;
	p = make(&id);
	assert_int_equal(tx_queues(p), 1);
	real_tx = rte_eth_fp_ops[id].tx_pkt_burst;
	rte_eth_fp_ops[id].tx_pkt_burst = checking_tx;
	overlaps = bursts = senders_done = 0;
	assert_int_equal(rte_eal_remote_launch(sender, p, worker), 0);
	ret = sender(p);
	assert_int_equal(rte_eal_wait_lcore(worker), 0);
	assert_int_equal(ret, 0);
	assert_int_equal(__atomic_load_n(&senders_done, __ATOMIC_ACQUIRE), 2);
	assert_int_equal(bursts, 2 * SHARED_BURSTS);
	assert_int_equal(overlaps, 0);
	assert_int_equal(queue_out(id, 0), 2 * SHARED_BURSTS * 4);
	rte_eth_fp_ops[id].tx_pkt_burst = real_tx;
	p->cls->destroy(p);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_queue_per_thread),
		T(test_fewer_queues),
		T(test_one_queue),
		T(test_shared_queue_locked),
	};
#undef T

	if (ut_eal_init2("ethport_txq") != 0)
		return 1;
	pool = rte_pktmbuf_pool_create(
		"ut_pool", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (pool == NULL || ethport_init(pool, no_wake, NULL, NULL) != 0)
		return 1;
	return cmocka_run_group_tests_name("ethport_txq", tests, NULL, NULL);
}
