/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_fdb.c - FDB: learn, lookup, move, VLANs, aging, limit with fair
 * eviction, static entries, flush, per-port rules (max_macs, port
 * security), MAC move damping; tables on transparent huge pages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "fdb.h"
#include "port.h"
#include "thpheap.h"
#include "vlog.h"
#include "ut_eal.h"

static struct rte_rcu_qsbr *qsv;

static struct fdb_key
key(uint32_t n, uint16_t vlan)
{
	struct fdb_key k = {
		.mac = {{0x52, 0x54, 0x00, (uint8_t)(n >> 16),
			(uint8_t)(n >> 8), (uint8_t)n}},
		.vlan = vlan,
	};
	return k;
}

static uint16_t
lookup(struct fdb *f, struct fdb_key k)
{
	const struct fdb_key *kp = &k;
	uint16_t port;

	fdb_lookup_bulk(f, &kp, 1, &port);
	return port;
}

static int
setup(void **state)
{
	struct fdb *f = fdb_create("ut_fdb", 1024, qsv);

	if (f == NULL)
		return -1;
	fdb_set_clock(f, 100);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fdb_destroy(*state);
	return 0;
}

static void
test_learn_lookup(void **state)
{
	struct fdb *f = *state;
	struct fdb_stats st;

	assert_int_equal(lookup(f, key(1, 0)), VHSW_PORT_NONE);
	fdb_learn(f, &(struct fdb_key){key(1, 0).mac, 0}, 3);
	assert_int_equal(lookup(f, key(1, 0)), 3);
	assert_int_equal(lookup(f, key(2, 0)), VHSW_PORT_NONE);
	/* A hit does not add an entry. */
	fdb_learn(f, &(struct fdb_key){key(1, 0).mac, 0}, 3);
	fdb_get_stats(f, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.learned, 1);
	assert_int_equal(fdb_port_entries(f, 3), 1);
}

static void
test_bulk(void **state)
{
	struct fdb *f = *state;
	struct fdb_key k[40];
	const struct fdb_key *kp[40];
	uint16_t ports[40];
	int i;

	for (i = 0; i < 40; i++) {
		k[i] = key((uint32_t)i + 10, 0);
		kp[i] = &k[i];
	}
	fdb_learn_bulk(f, kp, 20, 7); /* the first 20 on port 7 */
	fdb_lookup_bulk(f, kp, 40, ports);
	for (i = 0; i < 40; i++)
		assert_int_equal(ports[i], i < 20 ? 7 : VHSW_PORT_NONE);
}

/* Hashes as the data plane gives them. */
static void
hash_keys(const struct fdb_key **kp, uint32_t *h, uint32_t n)
{
	uint64_t w;
	uint32_t i;

	for (i = 0; i < n; i++) {
		memcpy(&w, kp[i], sizeof(w));
		h[i] = fdb_key_hash(w);
	}
}

/*
 * One burst: 32 sources and 32 destinations (64, the most one lookup
 * takes).  Destinations learned as sources in the same call are found, as
 * when learning ran before the lookup.
 */
static void
test_input_bulk(void **state)
{
	struct fdb *f = *state;
	struct fdb_key k[64];
	const struct fdb_key *kp[64];
	uint32_t h[64];
	uint16_t ports[32];
	int i;

	for (i = 0; i < 32; i++) {
		k[i] = key((uint32_t)i + 100, 0); /* sources */
		k[32 + i] =
			key((uint32_t)i * 2 + 100, 0); /* half are sources */
	}
	for (i = 0; i < 64; i++)
		kp[i] = &k[i];
	fdb_learn(f, &(struct fdb_key){key(200, 0).mac, 0}, 2);
	k[63] = key(200, 0);
	hash_keys(kp, h, 64);
	fdb_input_bulk(f, 5, kp, h, 32, 32, ports);
	for (i = 0; i < 31; i++)
		assert_int_equal(ports[i], i < 16 ? 5 : VHSW_PORT_NONE);
	assert_int_equal(ports[31], 2);
	/* Again: all sources known now, nothing is learned twice. */
	fdb_input_bulk(f, 5, kp, h, 32, 32, ports);
	assert_int_equal(ports[0], 5);
	assert_int_equal(fdb_port_entries(f, 5), 32);
	/* Sources only, destinations only. */
	fdb_input_bulk(f, 6, kp, h, 1, 0, NULL);
	assert_int_equal(lookup(f, k[0]), 6);
	fdb_input_bulk(f, 6, kp + 32, h + 32, 0, 32, ports);
	assert_int_equal(ports[0], 6);
	assert_int_equal(ports[1], 5);
}

static void
test_move(void **state)
{
	struct fdb *f = *state;
	struct fdb_key k = key(5, 0);
	struct fdb_stats st;

	fdb_learn(f, &k, 1);
	fdb_learn(f, &k, 2);
	assert_int_equal(lookup(f, k), 2);
	assert_int_equal(fdb_port_entries(f, 1), 0);
	assert_int_equal(fdb_port_entries(f, 2), 1);
	fdb_get_stats(f, &st);
	assert_int_equal(st.moves, 1);
	assert_int_equal(st.entries, 1);
}

static void
test_vlans_are_separate(void **state)
{
	struct fdb *f = *state;
	struct fdb_key a = key(9, 10), b = key(9, 20);

	fdb_learn(f, &a, 1);
	fdb_learn(f, &b, 2);
	assert_int_equal(lookup(f, a), 1);
	assert_int_equal(lookup(f, b), 2);
	assert_int_equal(lookup(f, key(9, 0)), VHSW_PORT_NONE);
}

static void
test_aging(void **state)
{
	struct fdb *f = *state;
	struct fdb_key old = key(1, 0), fresh = key(2, 0);
	struct fdb_stats st;

	fdb_learn(f, &old, 1);
	fdb_learn(f, &fresh, 1);
	fdb_set_clock(f, 104);
	fdb_learn(f, &fresh, 1); /* refreshed at 104 */
	assert_int_equal(fdb_age(f, 5), 0);
	fdb_set_clock(f, 105);
	assert_int_equal(fdb_age(f, 5), 1); /* old: seen at 100 */
	assert_int_equal(lookup(f, old), VHSW_PORT_NONE);
	assert_int_equal(lookup(f, fresh), 1);
	fdb_set_clock(f, 109);
	assert_int_equal(fdb_age(f, 5), 1);
	fdb_get_stats(f, &st);
	assert_int_equal(st.aged, 2);
	assert_int_equal(st.entries, 0);
}

static void
test_limit_evicts_from_biggest_port(void **state)
{
	struct fdb *f = *state;
	struct fdb_stats st;
	struct fdb_key k;
	uint32_t i;

	assert_int_equal(fdb_set_limit(f, 10), 0);
	for (i = 0; i < 7; i++) { /* port 1: the flooder, learned first */
		k = key(100 + i, 0);
		fdb_learn(f, &k, 1);
	}
	for (i = 0; i < 3; i++) {
		k = key(200 + i, 0);
		fdb_learn(f, &k, 2);
	}
	/* Full: a new MAC on port 3 evicts port 1's oldest entry. */
	k = key(300, 0);
	fdb_learn(f, &k, 3);
	assert_int_equal(lookup(f, k), 3);
	assert_int_equal(lookup(f, key(100, 0)), VHSW_PORT_NONE);
	assert_int_equal(lookup(f, key(101, 0)), 1);
	assert_int_equal(fdb_port_entries(f, 1), 6);
	assert_int_equal(fdb_port_entries(f, 2), 3);
	/* Port 2's entries survive however much port 1 floods. */
	for (i = 0; i < 50; i++) {
		k = key(1000 + i, 0);
		fdb_learn(f, &k, 1);
	}
	assert_int_equal(fdb_port_entries(f, 2), 3);
	assert_int_equal(fdb_port_entries(f, 3), 1);
	fdb_get_stats(f, &st);
	assert_int_equal(st.entries, 10);
	assert_int_equal(st.evicted, 51);
	/* Lowering the limit evicts down to it. */
	assert_int_equal(fdb_set_limit(f, 4), 0);
	fdb_get_stats(f, &st);
	assert_int_equal(st.entries, 4);
	assert_int_equal(fdb_set_limit(f, 0), -EINVAL);
	assert_int_equal(fdb_set_limit(f, fdb_capacity(f) + 1), -EINVAL);
}

static void
test_static(void **state)
{
	struct fdb *f = *state;
	struct fdb_key k = key(42, 0);
	struct fdb_stats st;

	assert_int_equal(fdb_add_static(f, &k, 5), 0);
	fdb_learn(f, &k, 6); /* never moves a static entry */
	assert_int_equal(lookup(f, k), 5);
	fdb_set_clock(f, 100000);
	assert_int_equal(fdb_age(f, 1), 0); /* never ages */
	assert_int_equal(fdb_flush(f, 5, false), 0);
	assert_int_equal(lookup(f, k), 5);
	/* Does not count against the learned limit. */
	assert_int_equal(fdb_set_limit(f, 1), 0);
	fdb_learn(f, &(struct fdb_key){key(43, 0).mac, 0}, 6);
	assert_int_equal(lookup(f, k), 5);
	assert_int_equal(lookup(f, key(43, 0)), 6);
	fdb_get_stats(f, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(fdb_flush(f, 5, true), 1);
	assert_int_equal(lookup(f, k), VHSW_PORT_NONE);
	/* A static entry replaces a learned one. */
	assert_int_equal(
		fdb_add_static(f, &(struct fdb_key){key(43, 0).mac, 0}, 7), 0);
	assert_int_equal(lookup(f, key(43, 0)), 7);
	assert_int_equal(fdb_del(f, &(struct fdb_key){key(43, 0).mac, 0}), 0);
	assert_int_equal(
		fdb_del(f, &(struct fdb_key){key(43, 0).mac, 0}), -ENOENT);
}

static void
test_flush(void **state)
{
	struct fdb *f = *state;
	struct fdb_key k;
	uint32_t i;

	for (i = 0; i < 300; i++) {
		k = key(i, 0);
		fdb_learn(f, &k, (uint16_t)(i % 3));
	}
	assert_int_equal(fdb_flush(f, 1, false), 100);
	assert_int_equal(fdb_port_entries(f, 1), 0);
	assert_int_equal(fdb_port_entries(f, 0), 100);
	assert_int_equal(lookup(f, key(1, 0)), VHSW_PORT_NONE);
	assert_int_equal(lookup(f, key(2, 0)), 2);
	assert_int_equal(fdb_flush(f, VHSW_PORT_NONE, false), 200);
	/* Slots are reused after the grace period: the table refills. */
	for (i = 0; i < 300; i++) {
		k = key(i + 5000, 0);
		fdb_learn(f, &k, 4);
	}
	assert_int_equal(fdb_port_entries(f, 4), 300);
}

/*
 * Sources key(first) .. key(first + n - 1) seen on 'port' in one burst (n
 * <= 32).  Returns fdb_input_bulk's mask of refused sources.
 */
static uint32_t
input(struct fdb *f, uint16_t port, uint32_t first, uint32_t n)
{
	struct fdb_key k[32];
	const struct fdb_key *kp[32];
	uint32_t h[32], i;

	for (i = 0; i < n; i++) {
		k[i] = key(first + i, 0);
		kp[i] = &k[i];
	}
	hash_keys(kp, h, n);
	return fdb_input_bulk(f, port, kp, h, n, 0, NULL);
}

/*
 * max_macs with the drop action: exactly the new sources beyond the limit
 * are refused; static entries do not count; known sources are refreshed;
 * a MAC moving to the full port is refused too.
 */
static void
test_max_macs_drop(void **state)
{
	struct fdb *f = *state;
	struct fdb_key st50 = key(50, 0), k;
	struct fdb_stats st;

	fdb_set_port_rules(f, 1, 3, false, false);
	assert_int_equal(fdb_add_static(f, &st50, 1), 0);
	/* Sources 1..5: 1, 2, 3 learned, 4 and 5 refused (bits 3, 4). */
	assert_int_equal(input(f, 1, 1, 5), 0x18);
	assert_int_equal(fdb_port_learned(f, 1), 3);
	assert_int_equal(fdb_port_entries(f, 1), 4);
	assert_int_equal(lookup(f, key(3, 0)), 1);
	assert_int_equal(lookup(f, key(4, 0)), VHSW_PORT_NONE);
	/* The static source passes, the learned ones are refreshed. */
	assert_int_equal(input(f, 1, 50, 1), 0);
	fdb_set_clock(f, 104);
	assert_int_equal(input(f, 1, 1, 5), 0x18);
	fdb_set_clock(f, 105);
	assert_int_equal(fdb_age(f, 5), 0); /* seen at 104, not 100 */
	assert_int_equal(fdb_port_learned(f, 1), 3);
	/* A MAC of port 2 moving to the full port: refused, stays. */
	k = key(9, 0);
	fdb_learn(f, &k, 2);
	assert_int_equal(input(f, 1, 9, 1), 0x1);
	assert_int_equal(lookup(f, k), 2);
	fdb_get_stats(f, &st);
	assert_int_equal(st.limit_refused, 5);
	assert_int_equal(st.learned, 4);
	assert_int_equal(st.moves, 0);
	/* Room again: the next new source is learned. */
	k = key(1, 0);
	assert_int_equal(fdb_del(f, &k), 0);
	assert_int_equal(input(f, 1, 4, 2), 0x2);
	assert_int_equal(lookup(f, key(4, 0)), 1);
	/* Other ports are not limited. */
	assert_int_equal(input(f, 2, 100, 32), 0);
	assert_int_equal(fdb_port_learned(f, 2), 33);
}

/* max_macs with the forward action: nothing refused, nothing new learned. */
static void
test_max_macs_forward(void **state)
{
	struct fdb *f = *state;
	struct fdb_key k = key(9, 0);
	struct fdb_stats st;

	fdb_set_port_rules(f, 1, 2, true, false);
	assert_int_equal(input(f, 1, 1, 4), 0);
	assert_int_equal(fdb_port_learned(f, 1), 2);
	assert_int_equal(lookup(f, key(2, 0)), 1);
	assert_int_equal(lookup(f, key(3, 0)), VHSW_PORT_NONE);
	assert_int_equal(lookup(f, key(4, 0)), VHSW_PORT_NONE);
	fdb_learn(f, &k, 2);
	assert_int_equal(input(f, 1, 9, 1), 0);
	assert_int_equal(lookup(f, k), 2);
	fdb_get_stats(f, &st);
	assert_int_equal(st.limit_refused, 3);
	assert_int_equal(st.learned, 3);
	/* Without a limit the port learns again. */
	fdb_set_port_rules(f, 1, 0, false, false);
	assert_int_equal(input(f, 1, 1, 4), 0);
	assert_int_equal(fdb_port_learned(f, 1), 4);
}

/*
 * The table's limit and its fair eviction work as before beside a port's
 * max_macs; lowering max_macs removes the port's oldest entries.
 */
static void
test_max_macs_with_table_limit(void **state)
{
	struct fdb *f = *state;
	struct fdb_stats st;

	assert_int_equal(fdb_set_limit(f, 10), 0);
	fdb_set_port_rules(f, 1, 4, false, false);
	assert_int_equal(input(f, 2, 100, 8), 0);
	assert_int_equal(input(f, 1, 1, 2), 0); /* full table */
	/* Port 1 may learn 2 more, each evicting from port 2 (biggest). */
	assert_int_equal(input(f, 1, 3, 3), 0x4);
	assert_int_equal(fdb_port_learned(f, 1), 4);
	assert_int_equal(fdb_port_learned(f, 2), 6);
	assert_int_equal(lookup(f, key(100, 0)), VHSW_PORT_NONE);
	assert_int_equal(lookup(f, key(101, 0)), VHSW_PORT_NONE);
	assert_int_equal(lookup(f, key(102, 0)), 2);
	/* Port 3's new MAC evicts from port 2, still the biggest. */
	assert_int_equal(input(f, 3, 200, 1), 0);
	assert_int_equal(fdb_port_learned(f, 2), 5);
	fdb_get_stats(f, &st);
	assert_int_equal(st.evicted, 3);
	assert_int_equal(st.limit_refused, 1);
	assert_int_equal(st.entries, 10);
	/* Lowering port 2's max_macs keeps its newest entries. */
	fdb_set_port_rules(f, 2, 2, false, false);
	assert_int_equal(fdb_port_learned(f, 2), 2);
	assert_int_equal(lookup(f, key(105, 0)), VHSW_PORT_NONE);
	assert_int_equal(lookup(f, key(106, 0)), 2);
	assert_int_equal(lookup(f, key(107, 0)), 2);
	fdb_get_stats(f, &st);
	assert_int_equal(st.evicted, 6);
}

/*
 * A port with port security never takes over a MAC learned on another
 * port; it learns its own new MACs, and they may move away.
 */
static void
test_secure_port(void **state)
{
	struct fdb *f = *state;
	struct fdb_key x = key(1, 0), y = key(2, 0);
	struct fdb_stats st;

	fdb_set_port_rules(f, 2, 0, false, true);
	fdb_learn(f, &x, 1);
	assert_int_equal(input(f, 2, 1, 1), 0); /* forwarded, not moved */
	assert_int_equal(lookup(f, x), 1);
	assert_int_equal(input(f, 2, 1, 1), 0);
	assert_int_equal(lookup(f, x), 1);
	fdb_learn(f, &y, 2);
	assert_int_equal(lookup(f, y), 2);
	fdb_learn(f, &y, 3);
	assert_int_equal(lookup(f, y), 3);
	fdb_get_stats(f, &st);
	assert_int_equal(st.secure_refused, 2);
	assert_int_equal(st.moves, 1);
	/* Without port security the port takes the MAC over. */
	fdb_set_port_rules(f, 2, 0, false, false);
	fdb_learn(f, &x, 2);
	assert_int_equal(lookup(f, x), 2);
}

/*
 * Deleting a port (a flush with its static entries) resets its rules, so
 * a new port with the same id starts without them; a flush of learned
 * entries only (link down) keeps them.
 */
static void
test_flush_resets_rules(void **state)
{
	struct fdb *f = *state;
	struct fdb_key s = key(50, 0), x = key(60, 0);

	fdb_set_port_rules(f, 1, 1, false, true);
	assert_int_equal(fdb_add_static(f, &s, 1), 0);
	assert_int_equal(input(f, 1, 1, 2), 0x2);
	assert_int_equal(fdb_flush(f, 1, false), 1);
	assert_int_equal(input(f, 1, 1, 2), 0x2); /* still max 1 */
	assert_int_equal(fdb_flush(f, 1, true), 2);
	assert_int_equal(lookup(f, s), VHSW_PORT_NONE);
	assert_int_equal(input(f, 1, 1, 5), 0);
	assert_int_equal(fdb_port_learned(f, 1), 5);
	fdb_learn(f, &x, 2);
	fdb_learn(f, &x, 1); /* not secure any more */
	assert_int_equal(lookup(f, x), 1);
	/* A port without entries is reset too. */
	fdb_set_port_rules(f, 7, 1, false, false);
	assert_int_equal(fdb_flush(f, 7, true), 0);
	assert_int_equal(input(f, 7, 100, 3), 0);
}

struct dump_count {
	int n, statics, frozen;
	uint32_t max_age;
};

static void
count_cb(const struct fdb_entry_info *e, void *arg)
{
	struct dump_count *c = arg;

	c->n++;
	c->statics += e->is_static;
	c->frozen += e->frozen;
	if (e->age > c->max_age)
		c->max_age = e->age;
}

/* How many entries a dump shows frozen. */
static int
n_frozen(struct fdb *f)
{
	struct dump_count c = {0};

	fdb_dump(f, VHSW_PORT_NONE, count_cb, &c);
	return c.frozen;
}

static uint64_t
move_frozen(struct fdb *f)
{
	struct fdb_stats st;

	fdb_get_stats(f, &st);
	return st.move_frozen;
}

/*
 * A MAC may move 'limit' times in a second; one move more freezes it on
 * the port it had when the second began, for FDB_MOVE_FREEZE_S seconds,
 * after which it moves again.
 */
static void
test_move_damping(void **state)
{
	struct fdb *f = *state;
	struct fdb_key x = key(1, 0), y = key(2, 0);
	struct fdb_stats st;
	uint32_t t;

	assert_int_equal(fdb_get_move_limit(f), FDB_DEFAULT_MOVE_LIMIT);
	assert_int_equal(fdb_set_move_limit(f, 3), 0);
	assert_int_equal(fdb_get_move_limit(f), 3);
	fdb_learn(f, &x, 1); /* at 100 */
	fdb_learn(f, &x, 2);
	fdb_learn(f, &x, 3);
	fdb_learn(f, &x, 2); /* 3 moves: all done */
	assert_int_equal(lookup(f, x), 2);
	assert_int_equal(n_frozen(f), 0);
	assert_int_equal(input(f, 3, 1, 1), 0); /* the 4th: forwarded */
	assert_int_equal(lookup(f, x), 1);      /* back where it began */
	assert_int_equal(fdb_port_learned(f, 1), 1);
	assert_int_equal(fdb_port_learned(f, 2), 0);
	assert_int_equal(n_frozen(f), 1);
	fdb_get_stats(f, &st);
	assert_int_equal(st.moves, 3);
	assert_int_equal(st.move_frozen, 1);
	/* Frozen until 105: no port takes it; its own port refreshes it. */
	for (t = 101; t < 100 + FDB_MOVE_FREEZE_S; t++) {
		fdb_set_clock(f, t);
		assert_int_equal(input(f, 2, 1, 1), 0);
		assert_int_equal(lookup(f, x), 1);
		fdb_learn(f, &x, 1);
	}
	fdb_set_clock(f, 100 + FDB_MOVE_FREEZE_S);
	assert_int_equal(fdb_age(f, 2), 0);
	assert_int_equal(move_frozen(f), 1 + FDB_MOVE_FREEZE_S - 1);
	assert_int_equal(n_frozen(f), 0);
	fdb_learn(f, &x, 2);
	assert_int_equal(lookup(f, x), 2);
	/* No move in 106: x begins second 107 on port 2, its new home. */
	fdb_set_clock(f, 107);
	fdb_learn(f, &x, 3);
	fdb_learn(f, &x, 1);
	fdb_learn(f, &x, 3);
	assert_int_equal(lookup(f, x), 3);
	fdb_learn(f, &x, 1);
	assert_int_equal(lookup(f, x), 2);
	fdb_get_stats(f, &st);
	assert_int_equal(st.moves, 7);
	assert_int_equal(st.move_frozen, FDB_MOVE_FREEZE_S + 1);
	assert_int_equal(
		fdb_set_move_limit(f, FDB_MAX_MOVE_LIMIT + 1), -EINVAL);
	assert_int_equal(fdb_get_move_limit(f), 3);
	/* A flap across a tick of the clock is one: y goes home to port 1. */
	fdb_set_clock(f, 200);
	fdb_learn(f, &y, 1);
	fdb_learn(f, &y, 2);
	fdb_set_clock(f, 201);
	fdb_learn(f, &y, 3);
	fdb_learn(f, &y, 2);
	fdb_learn(f, &y, 3);
	assert_int_equal(lookup(f, y), 3);
	fdb_learn(f, &y, 2);
	assert_int_equal(lookup(f, y), 1);
}

/*
 * With the default limit: a MAC moving once a second (a VM migrating back
 * and forth) is never frozen; FDB_DEFAULT_MOVE_LIMIT moves in one second
 * are fine, one more is not.  A limit of 0 turns damping off.
 */
static void
test_move_damping_default(void **state)
{
	struct fdb *f = *state;
	struct fdb_key x = key(1, 0), y = key(2, 0);
	uint32_t i;

	fdb_learn(f, &x, 1);
	for (i = 1; i <= 30; i++) {
		fdb_set_clock(f, 100 + i);
		fdb_learn(f, &x, (uint16_t)(1 + i % 2));
		assert_int_equal(lookup(f, x), 1 + i % 2);
	}
	assert_int_equal(move_frozen(f), 0);
	/* At 131, x begins the second on port 1. */
	fdb_set_clock(f, 131);
	for (i = 1; i <= FDB_DEFAULT_MOVE_LIMIT; i++) {
		fdb_learn(f, &x, (uint16_t)(1 + i % 2 + 4));
		assert_int_equal(lookup(f, x), 1 + i % 2 + 4);
	}
	assert_int_equal(move_frozen(f), 0);
	fdb_learn(f, &x, 7);
	assert_int_equal(lookup(f, x), 1);
	assert_int_equal(move_frozen(f), 1);
	/* Off: frozen entries move, and any number of moves is fine. */
	assert_int_equal(fdb_set_move_limit(f, 0), 0);
	fdb_learn(f, &y, 1);
	for (i = 1; i <= 50; i++) {
		fdb_learn(f, &x, (uint16_t)(1 + i % 2));
		fdb_learn(f, &y, (uint16_t)(1 + i % 2));
		assert_int_equal(lookup(f, x), 1 + i % 2);
		assert_int_equal(lookup(f, y), 1 + i % 2);
	}
	assert_int_equal(move_frozen(f), 1);
	assert_int_equal(n_frozen(f), 0);
}

/*
 * A frozen MAC stays where it is when the port it began the second on
 * cannot take it back: the port was deleted (its id may be reused) or is
 * at its max_macs.
 */
static void
test_move_damping_no_way_home(void **state)
{
	struct fdb *f = *state;
	struct fdb_key x = key(1, 0), y = key(2, 0);

	assert_int_equal(fdb_set_move_limit(f, 1), 0);
	fdb_learn(f, &x, 1);
	fdb_learn(f, &x, 2);
	assert_int_equal(fdb_flush(f, 1, true), 0); /* port 1 deleted */
	fdb_learn(f, &x, 3);
	assert_int_equal(lookup(f, x), 2);
	assert_int_equal(move_frozen(f), 1);
	/* Next: port 1 is back (a new port), with max_macs 1. */
	fdb_set_clock(f, 200);
	fdb_set_port_rules(f, 1, 1, false, false);
	fdb_learn(f, &x, 1);
	assert_int_equal(lookup(f, x), 1);
	fdb_set_clock(f, 201);
	fdb_learn(f, &x, 2); /* begins the second on port 1 */
	fdb_learn(f, &y, 1); /* port 1 is full now */
	fdb_learn(f, &x, 3);
	assert_int_equal(lookup(f, x), 2);
	assert_int_equal(fdb_port_learned(f, 1), 1);
	assert_int_equal(move_frozen(f), 2);
	assert_int_equal(n_frozen(f), 1);
}

/* Lines of 'log' that contain 'what'. */
static int
count_lines(const char *log, const char *what)
{
	const char *p = log, *nl, *hit;
	int n = 0;

	while ((nl = strchr(p, '\n')) != NULL) {
		hit = strstr(p, what);
		n += hit != NULL && hit < nl;
		p = nl + 1;
	}
	return n;
}

static const char *
test_port_name(uint16_t port, void *arg)
{
	static const char *const names[] = {"p0", "p1", "p2", "p3"};

	(void)arg;
	return port < 4 ? names[port] : NULL;
}

/*
 * Learning logs nothing itself (it runs on the data plane): moves and
 * freezes are recorded and fdb_log_events writes them with the ports'
 * names.  Between two drains, at most a few of each kind are recorded; the
 * rest are counted and reported in one note.
 */
static void
test_freeze_log(void **state)
{
	struct fdb *f = *state;
	char *log = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&log, &len);
	struct fdb_key k;
	uint32_t i;

	assert_non_null(mem);
	assert_int_equal(fdb_set_move_limit(f, 1), 0);
	rte_openlog_stream(mem);
	for (i = 0; i < 5; i++) {
		k = key(i, 0);
		fdb_learn(f, &k, 1);
		fdb_learn(f, &k, 2);
		fdb_learn(f, &k, 3); /* frozen */
	}
	fflush(mem);
	assert_int_equal(len, 0); /* nothing from learning itself */
	fdb_log_events(f, test_port_name, NULL);
	fdb_log_events(f, test_port_name, NULL); /* nothing new */
	fflush(mem);
	assert_int_equal(move_frozen(f), 5);
	assert_int_equal(count_lines(log, "moved from port p1 to port p2"), 5);
	assert_int_equal(count_lines(log, "frozen on port p1"), 5);
	assert_int_equal(count_lines(log,
				 "00:03 vlan 0 moved more than 1 "
				 "times in a second (last to port p3): "
				 "frozen on port p1 for 5 s"),
		1);

	/* A MAC flapping between two ports: two lines, with counts. */
	assert_int_equal(fdb_set_move_limit(f, 0), 0);
	k = key(100, 0);
	fdb_learn(f, &k, 1);
	for (i = 0; i < 20; i++)
		fdb_learn(f, &k, 2 - (i & 1)); /* 2, 1, 2, ... */
	fdb_log_events(f, test_port_name, NULL);
	fflush(mem);
	assert_int_equal(count_lines(log,
				 ":64 vlan 0 moved from port p1 to port p2 "
				 "(10 times)"),
		1);
	assert_int_equal(count_lines(log,
				 ":64 vlan 0 moved from port p2 to port p1 "
				 "(10 times)"),
		1);

	/* 20 MACs moving once: 8 recorded, the rest counted. */
	for (i = 0; i < 20; i++) {
		k = key(0x100 + i, 0);
		fdb_learn(f, &k, 1);
		fdb_learn(f, &k, 2);
	}
	fdb_log_events(f, test_port_name, NULL);
	vlog_flush_at(vlog_now_ns() + 3600ULL * 1000000000ULL);
	rte_openlog_stream(NULL);
	fclose(mem);
	/* The moves' rate limit has a burst of 10: 5 + 2 + 3 lines, then 5
	 * suppressed and 12 not recorded. */
	assert_int_equal(count_lines(log, ":01:0"), 3);
	assert_int_equal(count_lines(log, "17 lines suppressed"), 1);
	assert_int_equal(count_lines(log, "12 more MAC moves not recorded"), 1);
	free(log);
}

static void
test_dump(void **state)
{
	struct fdb *f = *state;
	struct dump_count c = {0};
	struct fdb_key k = key(1, 0), s = key(2, 0);

	fdb_learn(f, &k, 1);
	fdb_add_static(f, &s, 2);
	fdb_set_clock(f, 103);
	fdb_dump(f, VHSW_PORT_NONE, count_cb, &c);
	assert_int_equal(c.n, 2);
	assert_int_equal(c.statics, 1);
	assert_int_equal(c.max_age, 3);
	memset(&c, 0, sizeof(c));
	fdb_dump(f, 2, count_cb, &c);
	assert_int_equal(c.n, 1);
}

/*
 * A source seen on its port only sets a bit; aging and dump count it as
 * seen now before the clock folds it, and the clock folds it as seen at
 * the time it had when the frame came.
 */
static void
test_seen_between_ticks(void **state)
{
	struct fdb *f = *state;
	struct fdb_key k = key(1, 0);
	struct dump_count c = {0};

	fdb_learn(f, &k, 1); /* inserted at 100 */
	fdb_set_clock(f, 130);
	fdb_learn(f, &k, 1); /* seen at 130: a bit only */
	assert_int_equal(fdb_age(f, 30), 0);
	fdb_dump(f, VHSW_PORT_NONE, count_cb, &c);
	assert_int_equal(c.max_age, 0);
	fdb_set_clock(f, 140); /* folds: seen = 130 */
	memset(&c, 0, sizeof(c));
	fdb_dump(f, VHSW_PORT_NONE, count_cb, &c);
	assert_int_equal(c.max_age, 10);
	fdb_set_clock(f, 159);
	assert_int_equal(fdb_age(f, 30), 0);
	fdb_set_clock(f, 160);
	assert_int_equal(fdb_age(f, 30), 1);
}

/* What fdb_pages() must say here: EAL runs --no-huge in these tests. */
static const char *
expected_pages(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (rte_eal_has_hugepages())
		return "hugepages";
	if (f != NULL) {
		if (fgets(buf, sizeof(buf), f) == NULL)
			buf[0] = '\0';
		fclose(f);
	}
	return strstr(buf, "[always]") || strstr(buf, "[madvise]")
		? "transparent-hugepages"
		: "4k";
}

/*
 * The THP heap is sized from the capacity; a table that did not fit would
 * silently fall back to 4 KiB pages.  Small, default and benchmark sizes
 * must all fit, and the full table must be usable.
 */
static void
test_tables_on_thp(void **state)
{
	static const uint32_t caps[] = {8, 1024, 81920, 1375000};
	const char *want = expected_pages();
	unsigned int i;
	uint32_t k, n;

	(void)state;
	for (i = 0; i < RTE_DIM(caps); i++) {
		struct fdb *f = fdb_create("ut_fdb_thp", caps[i], qsv);

		assert_non_null(f);
		assert_string_equal(fdb_pages(f), want);
		fdb_set_clock(f, 1);
		n = caps[i] * 4 / 5; /* cuckoo headroom, as vhswd sizes it */
		assert_int_equal(fdb_set_limit(f, n), 0);
		for (k = 0; k < n; k++)
			fdb_learn(f, &(struct fdb_key){key(k, 0).mac, 0},
				(uint16_t)(k % 7));
		for (k = 0; k < n; k += 97)
			assert_int_equal(lookup(f, key(k, 0)), k % 7);
		fdb_destroy(f); /* the heap goes too: the name is reusable */
	}
}

static void
test_thpheap(void **state)
{
	struct thpheap *t;
	void *p;

	(void)state;
	if (strcmp(expected_pages(), "transparent-hugepages") != 0) {
		/* EAL hugepages or THP "never": the heap refuses. */
		assert_null(thpheap_create("ut_thp", 4u << 20));
		return;
	}
	t = thpheap_create("ut_thp", 3u << 20); /* rounds up to 4 MiB */
	assert_non_null(t);
	/* Same name twice: DPDK refuses, we clean up. */
	assert_null(thpheap_create("ut_thp", 4u << 20));
	p = rte_malloc_socket("ut", 3u << 20, 64, thpheap_socket(t));
	assert_non_null(p);
	memset(p, 0xa5, 3u << 20);
	/* Nothing is taken from the EAL heap, nothing beyond the size. */
	assert_null(rte_malloc_socket("ut", 2u << 20, 64, thpheap_socket(t)));
	rte_free(p);
	thpheap_destroy(t);
	t = thpheap_create("ut_thp", 4u << 20);
	assert_non_null(t);
	thpheap_destroy(t);
	thpheap_destroy(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_learn_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bulk, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_input_bulk, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_seen_between_ticks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_vlans_are_separate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aging, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_limit_evicts_from_biggest_port, setup, teardown),
		cmocka_unit_test_setup_teardown(test_static, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_max_macs_drop, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_max_macs_forward, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_max_macs_with_table_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_secure_port, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_flush_resets_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_move_damping, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_move_damping_default, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_move_damping_no_way_home, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_freeze_log, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dump, setup, teardown),
		cmocka_unit_test(test_tables_on_thp),
		cmocka_unit_test(test_thpheap),
	};

	if (ut_eal_init("fdb") != 0)
		return 1;
	qsv = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(1), 64);
	rte_rcu_qsbr_init(qsv, 1);
	return cmocka_run_group_tests_name("fdb", tests, NULL, NULL);
}
