/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_fdb_mt.c - the FDB with several data-plane threads learning at
 * once.  Two writer threads, registered readers 0 and 1 of one RCU
 * variable that report a quiescent state after each burst, learn
 * overlapping and disjoint MAC sets on their own ports (the shared MACs
 * race and move between the two ports) while this thread, the control
 * thread, folds seen bits, ages, flushes and dumps.  Afterwards every MAC
 * is in the table exactly once, on a port that sent it, and the counters
 * add up.  The assertions hold for every interleaving: nothing here
 * depends on timing, every thread is joined before checking.  Run under
 * ThreadSanitizer by tests/run.sh sanitize.
 */
#include <pthread.h>
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
#include "ut_eal.h"

#define N_WRITERS 2
#define N_KEYS 5000   /* distinct MACs: writer 0 [0, 3000), 1 [2000, 5000) */
#define N_UNKNOWN 100 /* [N_KEYS, N_KEYS + N_UNKNOWN): never sent */
#define SRC_BURST 32
#define DST_BURST 8
#define CAPACITY 16384

static struct rte_rcu_qsbr *qsv;

/* Key n: MAC 52:54:00 + n, VLAN 10 * (n % 4). */
static struct fdb_key
key(uint32_t n)
{
	struct fdb_key k = {
		.mac = {{0x52, 0x54, 0x00, (uint8_t)(n >> 16),
			(uint8_t)(n >> 8), (uint8_t)n}},
		.vlan = (uint16_t)(10 * (n % 4)),
	};
	return k;
}

/* The n of key(n), or UINT32_MAX if 'k' is no such key. */
static uint32_t
key_index(const struct fdb_key *k)
{
	uint32_t n = (uint32_t)k->mac.addr_bytes[3] << 16 |
		(uint32_t)k->mac.addr_bytes[4] << 8 | k->mac.addr_bytes[5];
	struct fdb_key want = key(n);

	return memcmp(&want, k, sizeof(want)) == 0 ? n : UINT32_MAX;
}

/* A writer: a data-plane thread learning keys [first, first + n). */
struct writer {
	pthread_t thread;
	struct fdb *f;
	unsigned int id; /* RCU thread id */
	uint16_t port;
	uint32_t first, n;
	uint32_t rounds;
	uint64_t rng;
	pthread_barrier_t *start;
	unsigned int *running; /* writers not done yet */
	/*
	 * Unless NULL, rounds go on until the other writer has done 'rounds'
	 * too and the control thread has counted 'ctl_min' rounds of its own
	 * in 'ctl_iters', so all three overlap however they are scheduled.
	 */
	const unsigned int *ctl_iters;
	unsigned int ctl_min;
	const struct writer *peer;
	unsigned int done; /* rounds */
	/* What went wrong, checked by the control thread after the join. */
	uint32_t refused;     /* sources fdb_input_bulk said to drop */
	uint32_t bad_dst;     /* a destination on a port nobody sent it from */
	uint32_t unknown_hit; /* a never-sent destination found */
};

static uint32_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)(*s >> 32);
}

/* Which ports sent key n: bit p for port p. */
static uint32_t
senders(uint32_t n)
{
	return (n < 3000 ? 1u << 1 : 0) | (n >= 2000 ? 1u << 2 : 0);
}

/* One burst: 'ns' sources from 'idx', DST_BURST random destinations. */
static void
burst(struct writer *w, const uint32_t *idx, uint32_t ns)
{
	struct fdb_key k[SRC_BURST + DST_BURST];
	const struct fdb_key *kp[SRC_BURST + DST_BURST];
	uint32_t h[SRC_BURST + DST_BURST], d[DST_BURST];
	uint16_t ports[DST_BURST];
	uint32_t i, refused;
	uint64_t word;

	for (i = 0; i < ns; i++)
		k[i] = key(idx[i]);
	for (i = 0; i < DST_BURST; i++) {
		d[i] = rnd(&w->rng) % (N_KEYS + N_UNKNOWN);
		k[ns + i] = key(d[i]);
	}
	for (i = 0; i < ns + DST_BURST; i++) {
		kp[i] = &k[i];
		memcpy(&word, &k[i], sizeof(word));
		h[i] = fdb_key_hash(word);
	}
	refused = fdb_input_bulk(w->f, w->port, kp, h, ns, DST_BURST, ports);
	if (refused != 0)
		w->refused++;
	for (i = 0; i < DST_BURST; i++) {
		if (ports[i] == VHSW_PORT_NONE)
			continue;
		if (d[i] >= N_KEYS)
			w->unknown_hit++;
		else if (ports[i] >= 32 || !(senders(d[i]) & 1u << ports[i]))
			w->bad_dst++;
	}
}

/* True once the other threads have done what 'w' waits for. */
static bool
peers_done(const struct writer *w)
{
	if (w->peer == NULL)
		return true;
	return __atomic_load_n(&w->peer->done, __ATOMIC_RELAXED) >= w->rounds &&
		__atomic_load_n(w->ctl_iters, __ATOMIC_RELAXED) >= w->ctl_min;
}

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	uint32_t *idx = malloc(w->n * sizeof(*idx));
	uint32_t r, i, j, t;

	rte_rcu_qsbr_thread_register(qsv, w->id);
	rte_rcu_qsbr_thread_online(qsv, w->id);
	pthread_barrier_wait(w->start);
	for (r = 0; idx != NULL && (r < w->rounds || !peers_done(w)); r++) {
		/* Each round in another order. */
		for (i = 0; i < w->n; i++)
			idx[i] = w->first + i;
		for (i = w->n - 1; i > 0; i--) {
			j = rnd(&w->rng) % (i + 1);
			t = idx[i];
			idx[i] = idx[j];
			idx[j] = t;
		}
		for (i = 0; i < w->n; i += SRC_BURST) {
			burst(w, idx + i,
				RTE_MIN(w->n - i, (uint32_t)SRC_BURST));
			rte_rcu_qsbr_quiescent(qsv, w->id);
		}
		__atomic_store_n(&w->done, r + 1, __ATOMIC_RELAXED);
	}
	rte_rcu_qsbr_thread_offline(qsv, w->id);
	rte_rcu_qsbr_thread_unregister(qsv, w->id);
	free(idx);
	__atomic_fetch_sub(w->running, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Writer 0 on port 1: [0, 3000); writer 1 on port 2: [2000, 5000). */
static void
writers_init(struct writer *w, struct fdb *f, uint32_t rounds,
	pthread_barrier_t *start, unsigned int *running, uint64_t seed,
	const unsigned int *ctl_iters, unsigned int ctl_min)
{
	unsigned int i;

	for (i = 0; i < N_WRITERS; i++) {
		w[i] = (struct writer){
			.f = f,
			.id = i,
			.port = (uint16_t)(i + 1),
			.first = i * 2000,
			.n = 3000,
			.rounds = rounds,
			.rng = seed * 2654435761u + i + 1,
			.start = start,
			.running = running,
			.ctl_iters = ctl_iters,
			.ctl_min = ctl_min,
			.peer = ctl_iters != NULL ? &w[(i + 1) % N_WRITERS]
						  : NULL,
		};
	}
}

/* Starts the writers; they begin with the caller (the barrier). */
static void
writers_start(struct writer *w, pthread_barrier_t *start, unsigned int *running)
{
	unsigned int i;

	assert_int_equal(pthread_barrier_init(start, NULL, N_WRITERS + 1), 0);
	*running = N_WRITERS;
	for (i = 0; i < N_WRITERS; i++)
		assert_int_equal(
			pthread_create(&w[i].thread, NULL, writer_main, &w[i]),
			0);
	pthread_barrier_wait(start);
}

static void
writers_join(struct writer *w, pthread_barrier_t *start)
{
	unsigned int i;

	for (i = 0; i < N_WRITERS; i++) {
		assert_int_equal(pthread_join(w[i].thread, NULL), 0);
		assert_int_equal(w[i].refused, 0);
		assert_int_equal(w[i].bad_dst, 0);
		assert_int_equal(w[i].unknown_hit, 0);
	}
	pthread_barrier_destroy(start);
}

static bool
writers_running(const unsigned int *running)
{
	return __atomic_load_n(running, __ATOMIC_ACQUIRE) > 0;
}

/* What a dump found. */
struct census {
	uint8_t count[N_KEYS];
	uint16_t port[N_KEYS];
	uint32_t per_port[VHSW_MAX_PORTS];
	uint32_t n;
	uint32_t bad; /* not a key sent, or on a port that did not send it */
};

static void
census_cb(const struct fdb_entry_info *e, void *arg)
{
	struct census *c = arg;
	uint32_t n = key_index(&e->key);

	c->n++;
	if (n >= N_KEYS || e->is_static || e->port >= 32 ||
		!(senders(n) & 1u << e->port)) {
		c->bad++;
		return;
	}
	if (c->count[n] < UINT8_MAX)
		c->count[n]++;
	c->port[n] = e->port;
	c->per_port[e->port]++;
}

static void
census_take(struct fdb *f, struct census *c)
{
	memset(c, 0, sizeof(*c));
	fdb_dump(f, VHSW_PORT_NONE, census_cb, c);
}

/*
 * The table after the writers are done, with 'removed' entries taken out
 * by aging and flushing on the way: every key exactly once, on a port that
 * sent it (the disjoint ones on their only sender), lookups agree with the
 * dump, the per-port counts add up, and each learning event is one key
 * inserted or reinserted after a removal.
 */
static void
check_table(struct fdb *f, uint32_t removed, uint32_t aged)
{
	struct census *c = calloc(1, sizeof(*c));
	const struct fdb_key *kp[64];
	struct fdb_key k[64];
	uint16_t ports[64];
	struct fdb_stats st;
	uint32_t n, i, m;

	assert_non_null(c);
	census_take(f, c);
	assert_int_equal(c->bad, 0);
	assert_int_equal(c->n, N_KEYS);
	for (n = 0; n < N_KEYS; n++)
		assert_int_equal(c->count[n], 1);
	for (n = 0; n < N_KEYS; n += m) {
		m = RTE_MIN(N_KEYS - n, 64u);
		for (i = 0; i < m; i++) {
			k[i] = key(n + i);
			kp[i] = &k[i];
		}
		fdb_lookup_bulk(f, kp, m, ports);
		for (i = 0; i < m; i++)
			assert_int_equal(ports[i], c->port[n + i]);
	}
	assert_int_equal(c->per_port[1] + c->per_port[2], N_KEYS);
	for (i = 1; i <= 2; i++) {
		assert_int_equal(
			fdb_port_entries(f, (uint16_t)i), c->per_port[i]);
		assert_int_equal(
			fdb_port_learned(f, (uint16_t)i), c->per_port[i]);
	}
	assert_true(c->per_port[1] >= 2000 && c->per_port[2] >= 2000);
	fdb_get_stats(f, &st);
	assert_int_equal(st.entries, N_KEYS);
	assert_int_equal(st.learned, N_KEYS + removed);
	assert_int_equal(st.aged, aged);
	assert_int_equal(st.evicted, 0);
	free(c);
}

static int
setup(void **state)
{
	struct fdb *f = fdb_create("ut_fdb_mt", CAPACITY, qsv);

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

/*
 * Learning races without removals: both writers go over their sets four
 * times in different orders, the 1000 shared MACs moving between ports 1
 * and 2 (and freezing once they move too often); meanwhile the control
 * thread folds seen bits, ages (nothing is old enough), dumps, reads the
 * counters and drains the event ring.  Each MAC is learned exactly once.
 */
static void
test_learn_races(void **state)
{
	struct fdb *f = *state;
	struct writer w[N_WRITERS];
	pthread_barrier_t start;
	unsigned int running;
	struct census *c = calloc(1, sizeof(*c));
	struct fdb_stats st;
	unsigned int iters = 0;

	assert_non_null(c);
	/* Two moves a second: the shared MACs freeze too. */
	assert_int_equal(fdb_set_move_limit(f, 2), 0);
	writers_init(w, f, 4, &start, &running, 1, &iters, 10);
	writers_start(w, &start, &running);
	while (writers_running(&running)) {
		fdb_set_clock(f, 100); /* folds the seen bits */
		assert_int_equal(fdb_age(f, 300), 0);
		census_take(f, c);
		assert_int_equal(c->bad, 0);
		fdb_get_stats(f, &st);
		assert_true(st.entries <= N_KEYS);
		assert_int_equal(st.learn_fails, 0);
		assert_int_equal(
			fdb_port_entries(f, 3) + fdb_port_entries(f, 0), 0);
		fdb_log_events(f, NULL, NULL);
		__atomic_store_n(&iters, iters + 1, __ATOMIC_RELAXED);
	}
	writers_join(w, &start);
	check_table(f, 0, 0);
	fdb_get_stats(f, &st);
	assert_int_equal(st.learned, N_KEYS);
	assert_int_equal(st.learn_fails, 0);
	/* The second sender of each shared MAC moved it, or tried to. */
	assert_true(st.moves >= 1000);
	free(c);
}

/*
 * Learning while the control thread removes: the clock advances a second
 * per round of the control thread, aging removes what was not seen in the
 * last two seconds and the writers' ports are flushed in turn.  Then both
 * writers go over their sets once more, without removals: every MAC is
 * back, once, and learning counted each insertion (the first ones and
 * those after a removal).
 */
static void
test_learn_with_aging_and_flush(void **state)
{
	struct fdb *f = *state;
	struct writer w[N_WRITERS];
	pthread_barrier_t start;
	unsigned int running;
	uint32_t removed = 0, aged = 0, n, now = 100;
	unsigned int iters = 0, busy = 0;
	struct fdb_stats st;

	/* The writers go on until 30 rounds here have removed entries. */
	writers_init(w, f, 4, &start, &running, 2, &busy, 30);
	writers_start(w, &start, &running);
	while (writers_running(&running)) {
		fdb_set_clock(f, ++now);
		n = fdb_age(f, 2);
		aged += n;
		if (iters % 3 == 2)
			n += fdb_flush(f, (uint16_t)(1 + iters / 3 % 2), false);
		removed += n;
		if (n > 0)
			__atomic_store_n(&busy, busy + 1, __ATOMIC_RELAXED);
		iters++;
	}
	writers_join(w, &start);
	/*
	 * Each entry is an insertion not yet removed.  Learning may have
	 * failed meanwhile (a writer preempted between two quiescent states
	 * holds back the reuse of every slot freed since), but that never
	 * evicts.
	 */
	fdb_get_stats(f, &st);
	assert_int_equal(st.evicted, 0);
	assert_int_equal(st.learned - removed, st.entries);
	assert_true(removed > 0);

	writers_init(w, f, 1, &start, &running, 3, NULL, 0);
	writers_start(w, &start, &running);
	while (writers_running(&running))
		fdb_set_clock(f, now); /* folds, the clock stays */
	writers_join(w, &start);
	check_table(f, removed, aged);
}

/*
 * Eviction from both threads: a limit of 3000 learned entries and 6000
 * disjoint MACs (the shared ones left out), each writer twice over its
 * set.  The table ends full, each entry once on its sender's port, and
 * each insertion beyond the limit evicted one entry.  No learning fails:
 * the capacity leaves room for every slot that waits for a grace period.
 */
static void
test_evict_races(void **state)
{
	struct fdb *f = *state;
	struct writer w[N_WRITERS];
	pthread_barrier_t start;
	unsigned int running, i;
	struct census *c = calloc(1, sizeof(*c));
	struct fdb_stats st;

	assert_non_null(c);
	assert_int_equal(fdb_set_limit(f, 3000), 0);
	/*
	 * A fixed number of rounds: at most 5000 evictions, so the slots
	 * waiting for a grace period never fill the free ones however long a
	 * writer is preempted between quiescent states.
	 */
	writers_init(w, f, 2, &start, &running, 4, NULL, 0);
	/* [0, 2000) on port 1, [3000, 5000) on port 2. */
	w[0].n = 2000;
	w[1].first = 3000;
	w[1].n = 2000;
	writers_start(w, &start, &running);
	while (writers_running(&running)) {
		fdb_set_clock(f, 100);
		fdb_get_stats(f, &st);
		assert_true(st.entries <= 3000);
	}
	writers_join(w, &start);
	census_take(f, c);
	fdb_get_stats(f, &st);
	assert_int_equal(c->bad, 0);
	assert_int_equal(c->n, 3000);
	for (i = 0; i < N_KEYS; i++)
		assert_true(c->count[i] <= 1);
	assert_int_equal(st.entries, 3000);
	assert_int_equal(st.learn_fails, 0);
	assert_int_equal(st.learned - st.evicted, 3000);
	assert_true(st.learned >= 4000);
	assert_int_equal(c->per_port[1] + c->per_port[2], 3000);
	for (i = 1; i <= 2; i++)
		assert_int_equal(
			fdb_port_learned(f, (uint16_t)i), c->per_port[i]);
	free(c);
}

/*
 * A reader that fills the table to its capacity and goes on learning new
 * MACs: each one evicts, and the slot the eviction frees waits for a grace
 * period that this very thread has not reported yet.  Learning must still
 * succeed (the table has spare slots for that).
 */
static void
test_reader_learns_at_capacity(void **state)
{
	struct fdb *f = fdb_create("ut_fdb_mt_cap", 1024, qsv);
	const struct fdb_key *kp[SRC_BURST];
	struct fdb_key k[SRC_BURST];
	struct fdb_stats st;
	uint32_t n, i;

	(void)state;
	assert_non_null(f);
	fdb_set_clock(f, 100);
	assert_int_equal(fdb_set_limit(f, 1024), 0);
	rte_rcu_qsbr_thread_register(qsv, 0);
	rte_rcu_qsbr_thread_online(qsv, 0);
	for (n = 0; n < 4 * 1024; n += SRC_BURST) {
		for (i = 0; i < SRC_BURST; i++) {
			k[i] = key(n + i);
			kp[i] = &k[i];
		}
		fdb_learn_bulk(f, kp, SRC_BURST, 1);
		rte_rcu_qsbr_quiescent(qsv, 0);
	}
	rte_rcu_qsbr_thread_offline(qsv, 0);
	rte_rcu_qsbr_thread_unregister(qsv, 0);
	fdb_get_stats(f, &st);
	assert_int_equal(st.learn_fails, 0);
	assert_int_equal(st.entries, 1024);
	assert_int_equal(st.learned, 4 * 1024);
	assert_int_equal(st.evicted, 3 * 1024);
	fdb_destroy(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_learn_races, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_learn_with_aging_and_flush, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_evict_races, setup, teardown),
		cmocka_unit_test(test_reader_learns_at_capacity),
	};

	/* Threads of this process may run on every CPU it is allowed. */
	if (ut_eal_init2("fdb_mt") != 0)
		return 1;
	rte_log_set_level_pattern("vhsw.*", RTE_LOG_ERR);
	qsv = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(N_WRITERS), 64);
	if (qsv == NULL || rte_rcu_qsbr_init(qsv, N_WRITERS) != 0)
		return 1;
	return cmocka_run_group_tests_name("fdb_mt", tests, NULL, NULL);
}
