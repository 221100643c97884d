/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_stress.c - the thread rules under load.  Two real data-plane
 * threads (dp_start on lcores 1 and 2, busy polling; the fake ports'
 * queues are split between them, so both learn at once: two FDB writers,
 * and both send to every port) receive bursts from fake
 * ports with random source and destination MACs, so it learns, moves,
 * looks up (fdb_input_bulk through fwd_input), forwards and floods and
 * reports quiescent states, while this thread, the control thread, ages,
 * flushes, dumps, deletes and adds entries, changes the limit and the
 * clock, takes ports down and deletes and re-adds ports (the real
 * vhsw_port_detach/attach: a new port table, a grace period, a flush with
 * the statics).  Meant for the sanitizer build (tests/run.sh sanitize:
 * ThreadSanitizer plus -Dasserts=true), where a data race or a broken
 * thread or lock rule fails it; the normal build checks the same
 * invariants.
 *
 * Pass or fail does not depend on timing: the control thread's choices
 * come from a fixed seed, the run lasts VHSW_STRESS_SECONDS (default 3)
 * but never ends before both threads did a minimum of work, and every
 * check holds whatever the interleaving:
 *  - a full dump shows the static entries exactly as this thread made
 *    them (the data plane never changes a static entry), and no learned
 *    entry for a static MAC;
 *  - no entry names a detached port (once detached, a port is out of the
 *    published table after a grace period: nothing can learn on it);
 *  - the learned entries never exceed the limit;
 *  - at the end, with the loop stopped: per-port counts and the total
 *    agree with a dump, every entry is found by a lookup, and no mbuf
 *    leaked.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <rte_ether.h>
#include <rte_hash.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "dp.h"
#include "fdb.h"
#include "vhsw.h"
#include "ut_eal.h"

#define NPORTS 8       /* fake ports attached at most */
#define NMACS 12000    /* source/destination MACs: more than fit */
#define HOME_MACS 1000 /* a port's usual sources */
#define CAPACITY 8192  /* two FDB walk chunks */
#define MAX_STATICS 256
#define MIN_ITERS 3000   /* control-thread steps, at least */
#define MIN_FRAMES 50000 /* frames through the loop, at least */

struct fake_port {
	struct port port;
	uint64_t rng;   /* data-plane thread only */
	uint16_t home;  /* first MAC index of its usual sources */
	bool went_down; /* control thread: sync() reports it once */
};

struct stress {
	struct vhsw sw;
	struct ev_loop *loop;
	struct fdb *fdb;
	struct dp *dp;
	uint64_t rng; /* control thread */
	/* The statics as this thread made them: port by MAC, or NONE. */
	uint16_t static_port[NMACS];
	uint32_t n_statics;
	uint32_t limit;
	uint32_t clock;
	unsigned int attaches, detaches, downs;
};

struct dump_check {
	const struct stress *s;
	uint16_t port; /* the dump's filter */
	uint32_t statics, learned;
	uint32_t per_port[VHSW_MAX_PORTS];
	uint32_t bad;
	char why[160];
	/* Final dump only: the keys and ports seen. */
	struct fdb_key *keys;
	uint16_t *ports;
	uint32_t n_keys;
};

static struct rte_mempool *pool;
static struct rte_rcu_qsbr *qsv;
static uint64_t rx_frames; /* atomic: frames the fake ports made */

static uint64_t
rng_next(uint64_t *x)
{
	/* xorshift64* */
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dull;
}

static struct rte_ether_addr
mac_of(uint32_t i)
{
	struct rte_ether_addr a = {{0x02, 0x00, 0x5e, (uint8_t)(i >> 16),
		(uint8_t)(i >> 8), (uint8_t)i}};
	return a;
}

static uint32_t
mac_index(const struct rte_ether_addr *a)
{
	if (a->addr_bytes[0] != 0x02 || a->addr_bytes[1] != 0x00 ||
		a->addr_bytes[2] != 0x5e)
		return UINT32_MAX;
	return (uint32_t)a->addr_bytes[3] << 16 |
		(uint32_t)a->addr_bytes[4] << 8 | a->addr_bytes[5];
}

static struct fdb_key
key_of(uint32_t i)
{
	struct fdb_key k = {.mac = mac_of(i), .vlan = 0};
	return k;
}

/* ---- fake ports (rx/tx on the data-plane thread) ---- */

/* A burst of 60-byte frames: mostly from the port's own MACs (so most
 * sources hit), some from anywhere (moves); a few broadcast. */
static uint16_t
fake_rx(struct port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	struct fake_port *f = (struct fake_port *)p;
	struct rte_ether_hdr *eth;
	uint32_t src, dst;
	uint64_t r;
	uint16_t i;

	if (rte_pktmbuf_alloc_bulk(pool, pkts, n) != 0)
		return 0;
	for (i = 0; i < n; i++) {
		r = rng_next(&f->rng);
		src = (r & 7) != 0 ? f->home + (uint32_t)(r >> 8) % HOME_MACS
				   : (uint32_t)(r >> 8) % NMACS;
		dst = (uint32_t)(r >> 32) % NMACS;
		eth = rte_pktmbuf_mtod(pkts[i], struct rte_ether_hdr *);
		eth->src_addr = mac_of(src);
		if (((r >> 24) & 15) == 0)
			memset(&eth->dst_addr, 0xff, sizeof(eth->dst_addr));
		else
			eth->dst_addr = mac_of(dst);
		eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
		pkts[i]->data_len = 60;
		pkts[i]->pkt_len = 60;
	}
	__atomic_fetch_add(&rx_frames, n, __ATOMIC_RELAXED);
	return n;
}

static uint16_t
fake_tx(struct port *p, struct rte_mbuf **pkts, uint16_t n)
{
	rte_pktmbuf_free_bulk(pkts, n);
	return n;
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

static bool
fake_sync(struct port *p)
{
	struct fake_port *f = (struct fake_port *)p;
	bool down = f->went_down;

	f->went_down = false;
	return down;
}

static void
fake_destroy(struct port *p)
{
	rte_free(p);
}

static const struct port_class fake_class = {
	.type = "fake",
	.sync = fake_sync,
	.destroy = fake_destroy,
};

/* ---- control side ---- */

static unsigned int
n_attached(const struct stress *s)
{
	unsigned int n = 0, i;

	for (i = 0; i < VHSW_MAX_PORTS; i++)
		n += s->sw.ports[i] != NULL;
	return n;
}

/* A random attached port, or NULL if none. */
static struct port *
random_port(struct stress *s)
{
	unsigned int k = (unsigned int)(rng_next(&s->rng) % NPORTS), i;

	for (i = 0; i < NPORTS; i++) {
		if (s->sw.ports[(k + i) % NPORTS] != NULL)
			return s->sw.ports[(k + i) % NPORTS];
	}
	return NULL;
}

static void
attach_port(struct stress *s)
{
	struct fake_port *f =
		rte_zmalloc("fake_port", sizeof(*f), RTE_CACHE_LINE_SIZE);
	struct port *p = &f->port;

	assert_non_null(f);
	p->ops = &fake_ops;
	p->cls = &fake_class;
	p->mtu = 1500;
	snprintf(p->name, sizeof(p->name), "f%u", s->attaches);
	f->rng = 0x9e3779b97f4a7c15ull * (s->attaches + 1);
	assert_int_equal(vhsw_port_attach(&s->sw, p), 0);
	assert_true(p->id < NPORTS);
	f->home = (uint16_t)(p->id * (NMACS - HOME_MACS) / (NPORTS - 1));
	/* 'home' is read by the loop only once the port is ready. */
	port_set_ready(p, true);
	s->attaches++;
}

/* Forgets the statics of 'port' (after a flush with statics). */
static void
forget_statics(struct stress *s, uint16_t port)
{
	uint32_t i;

	for (i = 0; i < NMACS; i++) {
		if (s->static_port[i] == port) {
			s->static_port[i] = VHSW_PORT_NONE;
			s->n_statics--;
		}
	}
}

#define BAD(c, ...)                                                        \
	do {                                                               \
		if ((c)->bad++ == 0)                                       \
			snprintf((c)->why, sizeof((c)->why), __VA_ARGS__); \
	} while (0)

/* Runs under the FDB lock: records violations, never fails here. */
static void
check_entry(const struct fdb_entry_info *e, void *arg)
{
	struct dump_check *c = arg;
	const struct stress *s = c->s;
	uint32_t i = mac_index(&e->key.mac);

	if (i >= NMACS || e->key.vlan != 0) {
		BAD(c, "foreign key in the table");
		return;
	}
	if (c->port != VHSW_PORT_NONE && e->port != c->port)
		BAD(c, "dump of port %u shows port %u", c->port, e->port);
	if (e->port >= VHSW_MAX_PORTS || s->sw.ports[e->port] == NULL)
		BAD(c, "MAC %u on port %u, which is detached", i, e->port);
	else
		c->per_port[e->port]++;
	if (e->is_static) {
		c->statics++;
		if (s->static_port[i] != e->port)
			BAD(c, "static MAC %u on port %u, made on %u", i,
				e->port, s->static_port[i]);
	} else {
		c->learned++;
		if (s->static_port[i] != VHSW_PORT_NONE)
			BAD(c, "MAC %u learned on port %u but static on %u", i,
				e->port, s->static_port[i]);
	}
	if (c->keys != NULL && c->n_keys < CAPACITY) {
		c->keys[c->n_keys] = e->key;
		c->ports[c->n_keys++] = e->port;
	}
}

static void
dump_and_check(struct stress *s, uint16_t port, struct dump_check *c)
{
	struct dump_check none = {0};

	if (c == NULL)
		c = &none;
	c->s = s;
	c->port = port;
	fdb_dump(s->fdb, port, check_entry, c);
	if (c->bad != 0)
		fail_msg("%u bad entries; first: %s", c->bad, c->why);
	if (port == VHSW_PORT_NONE)
		assert_int_equal(c->statics, s->n_statics);
}

/* The counts are consistent and the learned entries within the limit. */
static void
check_stats(struct stress *s)
{
	struct fdb_stats st;

	fdb_get_stats(s->fdb, &st);
	assert_int_equal(st.limit, s->limit);
	assert_true(st.entries >= s->n_statics);
	if (st.entries - s->n_statics > s->limit)
		fail_msg("%u learned entries, limit %u",
			st.entries - s->n_statics, s->limit);
}

static void
stress_step(struct stress *s)
{
	uint64_t r = rng_next(&s->rng);
	uint32_t i = (uint32_t)(r >> 16) % NMACS;
	struct fdb_key k = key_of(i);
	struct port_stats ps;
	struct dp_stats ds;
	struct port *p;
	uint16_t id;
	int ret;

	switch (r % 16) {
	case 0:
	case 1:
		fdb_set_clock(s->fdb, ++s->clock);
		fdb_age(s->fdb, 1 + (uint32_t)(r >> 8) % 3);
		break;
	case 2:
		id = (uint16_t)((r >> 8) % NPORTS);
		ret = (int)fdb_flush(s->fdb, id, false);
		if (s->sw.ports[id] == NULL)
			assert_int_equal(ret, 0);
		break;
	case 3:
		dump_and_check(s, VHSW_PORT_NONE, NULL);
		break;
	case 4:
		dump_and_check(s, (uint16_t)((r >> 8) % NPORTS), NULL);
		break;
	case 5:
	case 6:
		ret = fdb_del(s->fdb, &k);
		if (s->static_port[i] != VHSW_PORT_NONE) {
			assert_int_equal(ret, 0);
			s->static_port[i] = VHSW_PORT_NONE;
			s->n_statics--;
		}
		break;
	case 7:
	case 8:
		p = random_port(s);
		if (p == NULL || s->n_statics >= MAX_STATICS)
			break;
		ret = fdb_add_static(s->fdb, &k, p->id);
		/* -ENOSPC: the cuckoo table had no place; the MAC is gone. */
		if (ret != 0)
			assert_int_equal(ret, -ENOSPC);
		if (s->static_port[i] != VHSW_PORT_NONE)
			s->n_statics--;
		s->static_port[i] = ret == 0 ? p->id : VHSW_PORT_NONE;
		s->n_statics += ret == 0;
		break;
	case 9:
		s->limit = 64 + (uint32_t)(r >> 8) % (CAPACITY - 63);
		assert_int_equal(fdb_set_limit(s->fdb, s->limit), 0);
		check_stats(s);
		break;
	case 10:
		/* Delete a port: no entry may name it afterwards. */
		if (n_attached(s) <= 2)
			break;
		p = random_port(s);
		id = p->id;
		vhsw_port_detach(&s->sw, p);
		forget_statics(s, id);
		s->detaches++;
		assert_int_equal(fdb_port_entries(s->fdb, id), 0);
		dump_and_check(s, id, NULL);
		break;
	case 11:
		if (n_attached(s) < NPORTS)
			attach_port(s);
		break;
	case 12:
		p = random_port(s);
		if (p != NULL) {
			fdb_flush(s->fdb, p->id, true);
			forget_statics(s, p->id);
		}
		break;
	case 13:
		/* The peer went away and came back: flushed by sync. */
		p = random_port(s);
		if (p == NULL)
			break;
		((struct fake_port *)p)->went_down = true;
		port_set_ready(p, false);
		vhsw_sync_ports(&s->sw);
		port_set_ready(p, true);
		s->downs++;
		break;
	case 14:
		check_stats(s);
		dp_get_stats(s->dp, &ds);
		p = random_port(s);
		if (p != NULL)
			port_stats_read(p, &ps);
		if (((r >> 8) & 15) == 0)
			fdb_clear_stats(s->fdb);
		break;
	default:
		fdb_set_clock(s->fdb, ++s->clock);
		break;
	}
}

static const unsigned int dp_lcores[] = {1, 2};

static int
setup(void **state)
{
	struct stress *s = calloc(1, sizeof(*s));
	unsigned int i;

	if (s == NULL)
		return -1;
	s->loop = ev_loop_new(EVFLAG_AUTO);
	s->fdb = fdb_create("st_fdb", CAPACITY, qsv);
	if (s->loop == NULL || s->fdb == NULL)
		return -1;
	s->dp = dp_create(s->fdb, pool, qsv, DP_POLL_BUSY);
	if (s->dp == NULL || dp_set_lcores(s->dp, dp_lcores, NULL, 2) != 0)
		return -1;
	vhsw_init(&s->sw, s->loop, pool, qsv, s->fdb, s->dp);
	s->sw.aging = 2;
	s->clock = 1;
	s->limit = FDB_DEFAULT_LIMIT < CAPACITY ? FDB_DEFAULT_LIMIT : CAPACITY;
	s->rng = 0x5eed;
	for (i = 0; i < NMACS; i++)
		s->static_port[i] = VHSW_PORT_NONE;
	*state = s;
	return 0;
}

static int
teardown(void **state)
{
	struct stress *s = *state;

	vhsw_fini(&s->sw);
	dp_destroy(s->dp);
	fdb_destroy(s->fdb);
	ev_loop_destroy(s->loop);
	free(s);
	return 0;
}

static unsigned int
stress_seconds(void)
{
	const char *e = getenv("VHSW_STRESS_SECONDS");

	return e != NULL ? (unsigned int)strtoul(e, NULL, 10) : 3;
}

static void
test_concurrent_control(void **state)
{
	struct stress *s = *state;
	unsigned int avail = rte_mempool_avail_count(pool), n, iters, i;
	struct dp_stats ds;
	struct dump_check c = {0};
	const struct fdb_key *kp[RTE_HASH_LOOKUP_BULK_MAX];
	uint16_t got[RTE_HASH_LOOKUP_BULK_MAX];
	struct fdb_stats st;
	time_t end;

	for (i = 0; i < NPORTS; i++)
		attach_port(s);
	assert_int_equal(dp_start(s->dp), 0);
	end = time(NULL) + stress_seconds();
	for (iters = 0; iters < MIN_ITERS ||
		__atomic_load_n(&rx_frames, __ATOMIC_RELAXED) < MIN_FRAMES ||
		time(NULL) < end;
		iters++)
		stress_step(s);
	dp_stop(s->dp);
	print_message("%u control steps, %lu frames, %u ports attached, "
		      "%u deleted, %u taken down\n",
		iters,
		(unsigned long)__atomic_load_n(&rx_frames, __ATOMIC_RELAXED),
		s->attaches, s->detaches, s->downs);
	assert_true(s->detaches > 0 && s->downs > 0);
	/* Both data-plane threads forwarded: the ports were split. */
	for (i = 0; i < 2; i++) {
		dp_get_thread_stats(s->dp, (uint16_t)i, &ds);
		print_message("data-plane thread %u: %lu frames\n", i,
			(unsigned long)ds.packets);
		assert_true(ds.packets > 0);
	}

	/* Quiet now: everything must add up exactly. */
	c.keys = calloc(CAPACITY, sizeof(*c.keys));
	c.ports = calloc(CAPACITY, sizeof(*c.ports));
	assert_true(c.keys != NULL && c.ports != NULL);
	dump_and_check(s, VHSW_PORT_NONE, &c);
	fdb_get_stats(s->fdb, &st);
	assert_int_equal(st.entries, c.statics + c.learned);
	assert_true(c.learned <= s->limit);
	for (i = 0; i < VHSW_MAX_PORTS; i++)
		assert_int_equal(
			fdb_port_entries(s->fdb, (uint16_t)i), c.per_port[i]);
	for (i = 0; i < c.n_keys; i += n) {
		uint32_t k;

		n = RTE_MIN(c.n_keys - i, (unsigned int)RTE_DIM(kp));
		for (k = 0; k < n; k++)
			kp[k] = &c.keys[i + k];
		fdb_lookup_bulk(s->fdb, kp, n, got);
		for (k = 0; k < n; k++)
			assert_int_equal(got[k], c.ports[i + k]);
	}
	free(c.keys);
	free(c.ports);
	assert_int_equal(rte_mempool_avail_count(pool), avail);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_concurrent_control, setup, teardown),
	};

	if (ut_eal_init_n("stress", 3) != 0 || rte_lcore_count() < 3)
		return 1;
	pool = rte_pktmbuf_pool_create(
		"st_pool", 4095, 128, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	qsv = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(2), 64);
	if (pool == NULL || qsv == NULL || rte_rcu_qsbr_init(qsv, 2) != 0)
		return 1;
	return cmocka_run_group_tests_name("stress", tests, NULL, NULL);
}
