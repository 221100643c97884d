/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_rxq_assign.c - the receive-queue assignment of the data plane
 * (dp.h): every queue on exactly one thread, a multiqueue port spread,
 * pins honoured, queues kept where they are when ports come and go,
 * rebalancing by measured load only when it pays, the NUMA preference,
 * and a queue never listed for two threads in a published table.  The
 * threads are not started: dp_set_ports() publishes and its grace periods
 * pass at once (no reader is online).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "dp.h"
#include "ut_eal.h"

#define NTHREADS 3

static struct rte_rcu_qsbr *qsv;

struct fake {
	struct port port;
	uint16_t nq;
	int node;
};

static uint16_t
fake_rx(struct port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	return 0;
}

static uint16_t
fake_tx(struct port *p, struct rte_mbuf **pkts, uint16_t n)
{
	return 0;
}

static uint16_t
fake_nrxq(const struct port *p)
{
	return ((const struct fake *)p)->nq;
}

static int
fake_node(const struct port *p)
{
	return ((const struct fake *)p)->node;
}

static const struct port_ops fake_ops = {
	.rx_burst = fake_rx,
	.tx_burst = fake_tx,
	.n_rxq = fake_nrxq,
	.max_rxq = fake_nrxq,
	.numa_node = fake_node,
};

struct env {
	struct dp *dp;
	struct fake f[8];
	struct port *by_id[VHSW_MAX_PORTS];
};

static int
setup(void **state)
{
	static const unsigned int lcores[NTHREADS] = {0, 0, 0};
	static const int cpus[NTHREADS] = {4, 5, 6};
	struct env *e = calloc(1, sizeof(*e));
	int i;

	if (e == NULL)
		return -1;
	e->dp = dp_create(NULL, NULL, qsv, DP_POLL_BUSY);
	if (e->dp == NULL || dp_set_lcores(e->dp, lcores, cpus, NTHREADS) != 0)
		return -1;
	for (i = 0; i < 8; i++) {
		e->f[i].port.ops = &fake_ops;
		e->f[i].port.id = (uint16_t)i;
		e->f[i].nq = 1;
		e->f[i].node = -1;
		snprintf(
			e->f[i].port.name, sizeof(e->f[i].port.name), "f%d", i);
	}
	*state = e;
	return 0;
}

static int
teardown(void **state)
{
	struct env *e = *state;

	dp_destroy(e->dp);
	free(e);
	return 0;
}

static void
publish(struct env *e, int n)
{
	int i;

	memset(e->by_id, 0, sizeof(e->by_id));
	for (i = 0; i < n; i++)
		e->by_id[i] = &e->f[i].port;
	dp_set_ports(e->dp, e->by_id);
}

/* The thread polling (port, q) in the published table; -1 if none.  Fails
 * if two threads list it. */
static int
thread_of(const struct env *e, uint16_t port, uint16_t q)
{
	const struct dp_rxq *rq;
	int t, found = -1;
	uint16_t k, n;

	for (t = 0; t < NTHREADS; t++) {
		rq = dp_thread_rxqs(e->dp, (uint16_t)t, &n);
		for (k = 0; k < n; k++)
			if (rq[k].port == port && rq[k].queue == q) {
				assert_int_equal(found, -1);
				found = t;
			}
	}
	return found;
}

/* Every queue of the first 'n' ports on one thread, and nothing else. */
static void
check_complete(const struct env *e, int n)
{
	uint16_t k, cnt, total = 0, want = 0;
	int i, q, t;

	for (i = 0; i < n; i++)
		for (q = 0; q < e->f[i].nq; q++) {
			assert_true(
				thread_of(e, (uint16_t)i, (uint16_t)q) >= 0);
			want++;
		}
	for (t = 0; t < NTHREADS; t++) {
		dp_thread_rxqs(e->dp, (uint16_t)t, &cnt);
		total += cnt;
		(void)k;
	}
	assert_int_equal(total, want);
}

/* Three ports of two queues each over three threads: spread, and each
 * port's two queues on two threads. */
static void
test_spread(void **state)
{
	struct env *e = *state;
	uint16_t per[NTHREADS] = {0}, n;
	int i, t;

	for (i = 0; i < 3; i++)
		e->f[i].nq = 2;
	publish(e, 3);
	check_complete(e, 3);
	for (i = 0; i < 3; i++)
		assert_int_not_equal(thread_of(e, (uint16_t)i, 0),
			thread_of(e, (uint16_t)i, 1));
	for (t = 0; t < NTHREADS; t++) {
		dp_thread_rxqs(e->dp, (uint16_t)t, &n);
		per[t] = n;
		assert_int_equal(per[t], 2);
	}
}

/* Adding and removing ports keeps the others' queues where they are. */
static void
test_stable(void **state)
{
	struct env *e = *state;
	int before[4], i;

	publish(e, 4);
	for (i = 0; i < 4; i++)
		before[i] = thread_of(e, (uint16_t)i, 0);
	publish(e, 6);
	check_complete(e, 6);
	for (i = 0; i < 4; i++)
		assert_int_equal(thread_of(e, (uint16_t)i, 0), before[i]);
	publish(e, 3);
	check_complete(e, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(thread_of(e, (uint16_t)i, 0), before[i]);
	assert_int_equal(thread_of(e, 3, 0), -1);
}

/* Pins: by CPU; a CPU without a thread leaves the queue to the load. */
static void
test_pins(void **state)
{
	struct env *e = *state;

	e->f[0].nq = 2;
	e->f[0].port.rxq_pin[0] = 6 + 1; /* CPU 6: thread 2 */
	e->f[0].port.rxq_pin[1] = 6 + 1;
	e->f[1].port.rxq_pin[0] = 9 + 1; /* no thread on CPU 9 */
	publish(e, 3);
	check_complete(e, 3);
	assert_int_equal(dp_thread_of_cpu(e->dp, 6), 2);
	assert_int_equal(thread_of(e, 0, 0), 2);
	assert_int_equal(thread_of(e, 0, 1), 2);
	assert_true(thread_of(e, 1, 0) >= 0);
	/* Re-pin at run time: the queue moves, nothing is lost. */
	e->f[0].port.rxq_pin[1] = 4 + 1;
	dp_set_ports(e->dp, e->by_id);
	assert_int_equal(thread_of(e, 0, 1), 0);
	check_complete(e, 3);
	/* A forced rebalance never moves a pinned queue. */
	dp_rebalance(e->dp, true);
	assert_int_equal(thread_of(e, 0, 0), 2);
	assert_int_equal(thread_of(e, 0, 1), 0);
}

/* Adds 'cycles' to the load of (port, q), as a thread polling it does. */
static void
load(struct env *e, int port, int q, uint64_t cycles)
{
	e->f[port].port.rxq_load[q].cycles += cycles;
}

/*
 * Rebalancing: three busy queues placed on one thread (pins), then
 * unpinned, move apart when their measured load says so; with equal
 * threads a rebalance that gains nothing moves nothing.
 */
static void
test_rebalance(void **state)
{
	struct env *e = *state;
	int i;

	for (i = 0; i < 3; i++)
		e->f[i].port.rxq_pin[0] = 4 + 1;
	publish(e, 4);
	for (i = 0; i < 3; i++)
		assert_int_equal(thread_of(e, (uint16_t)i, 0), 0);
	for (i = 0; i < 3; i++)
		e->f[i].port.rxq_pin[0] = PORT_RXQ_UNPINNED;
	dp_set_ports(e->dp, e->by_id); /* unpinned queues stay put */
	for (i = 0; i < 3; i++)
		assert_int_equal(thread_of(e, (uint16_t)i, 0), 0);
	dp_tick(e->dp, 0);
	for (i = 0; i < 3; i++)
		load(e, i, 0, 1000000);
	dp_tick(e->dp, 0);
	assert_true(dp_rebalance(e->dp, false));
	assert_int_not_equal(thread_of(e, 0, 0), thread_of(e, 1, 0));
	assert_int_not_equal(thread_of(e, 1, 0), thread_of(e, 2, 0));
	assert_int_not_equal(thread_of(e, 0, 0), thread_of(e, 2, 0));
	check_complete(e, 4);
	assert_int_equal(e->dp->rebalances, 1);
	/* Balanced now: the same loads again gain nothing. */
	for (i = 0; i < 3; i++)
		load(e, i, 0, 1000000);
	dp_tick(e->dp, 0);
	assert_false(dp_rebalance(e->dp, false));
	assert_int_equal(e->dp->rebalances, 1);
}

/* A port whose memory is on node 1 goes to the thread on node 1. */
static void
test_numa(void **state)
{
	struct env *e = *state;
	int i;

	e->dp->threads[2]->socket = 1; /* the others are on node 0 */
	for (i = 0; i < 4; i++)
		e->f[i].node = 1;
	e->f[0].nq = 2;
	publish(e, 4);
	check_complete(e, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(thread_of(e, (uint16_t)i, 0), 2);
	assert_int_equal(thread_of(e, 0, 1), 2);
	/* Unknown or a node without threads: any thread. */
	e->f[4].node = -1;
	e->f[5].node = 3;
	publish(e, 6);
	check_complete(e, 6);
	assert_int_not_equal(thread_of(e, 4, 0), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_spread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pins, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_rebalance, setup, teardown),
		cmocka_unit_test_setup_teardown(test_numa, setup, teardown),
	};

	if (ut_eal_init("rxq_assign") != 0)
		return 1;
	qsv = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(NTHREADS), 64);
	if (qsv == NULL || rte_rcu_qsbr_init(qsv, NTHREADS) != 0)
		return 1;
	return cmocka_run_group_tests_name("rxq_assign", tests, NULL, NULL);
}
