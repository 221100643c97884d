/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_stats.c - counter groups: the X-macro generators and baselines
 * (counters.h), the one emitter of every group and its descriptions
 * (stats.h).  The `stats` reply of a live switch against `stats --describe`
 * is checked in test_ctl.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "counters.h"
#include "dp.h"
#include "fdb.h"
#include "port.h"
#include "rpc.h"
#include "stats.h"

#define T_STATS(X, P)                             \
	X(P, hits, "lookups that found an entry") \
	X(P, misses, "lookups that found none")   \
	X(P, drops, "frames dropped")

/* clang-format off */
enum t_stat_id { T_STATS(COUNTER_ENUM, T_STAT_) T_STAT_COUNT };
/* clang-format on */

struct t_stats {
	COUNTERS_UNION(T_STATS, T_STAT_COUNT);
};

static const struct counter_desc t_counters[] = {T_STATS(COUNTER_DESC, )};
static const struct counter_desc t_gauges[] = {
	{"mode", "how it runs"},
	{"level", "how full it is"},
};
static const struct stats_group t_group = {
	.name = "t",
	.gauges = t_gauges,
	.n_gauges = 2,
	.counters = t_counters,
	.n_counters = T_STAT_COUNT,
};

static void
test_generators(void **state)
{
	struct t_stats s = {0};

	assert_int_equal(T_STAT_COUNT, 3);
	assert_int_equal(sizeof(s), T_STAT_COUNT * sizeof(uint64_t));
	/* The named fields are the array's words, in list order. */
	s.hits = 1;
	s.misses = 2;
	s.drops = 3;
	assert_int_equal(s.c[T_STAT_hits], 1);
	assert_int_equal(s.c[T_STAT_misses], 2);
	assert_int_equal(s.c[T_STAT_drops], 3);
	assert_string_equal(t_counters[T_STAT_misses].name, "misses");
	assert_string_equal(t_counters[T_STAT_drops].desc, "frames dropped");
	/* The real groups keep their field names over their arrays. */
	assert_int_equal(offsetof(struct port_stats, c[PORT_STAT_flooded]),
		offsetof(struct port_stats, flooded));
	assert_int_equal(offsetof(struct dp_stats, c[DP_STAT_stalls]),
		offsetof(struct dp_stats, stalls));
	assert_int_equal(offsetof(struct fdb_stats, c[FDB_STAT_learn_fails]),
		offsetof(struct fdb_stats, learn_fails));
	assert_int_equal(offsetof(struct rpc_stats, c[RPC_STAT_timeouts]),
		offsetof(struct rpc_stats, timeouts));
}

static void
test_baseline(void **state)
{
	struct t_stats cur = {0}, base = {0}, out;

	cur.hits = 10;
	cur.drops = 4;
	counters_snapshot(cur.c, base.c, T_STAT_COUNT);
	cur.hits += 5;
	counters_read(cur.c, base.c, out.c, T_STAT_COUNT);
	assert_int_equal(out.hits, 5);
	assert_int_equal(out.misses, 0);
	assert_int_equal(out.drops, 0);
	assert_int_equal(cur.hits, 15); /* clearing never writes 'cur' */
}

/* Keys of 'o' in order, joined by spaces. */
static void
keys(json_t *o, char *buf, size_t len)
{
	const char *k;
	json_t *v;
	size_t n = 0;

	buf[0] = '\0';
	json_object_foreach(o, k, v)
	{
		n += (size_t)snprintf(
			buf + n, len - n, "%s%s", n ? " " : "", k);
		assert_true(n < len);
	}
}

static void
test_group_json(void **state)
{
	const uint64_t vals[T_STAT_COUNT] = {7, 0, UINT32_MAX + 1ULL};
	json_t *gauges[2] = {json_string("fast"), NULL};
	json_t *o = stats_group_json(&t_group, gauges, vals);
	char buf[256];

	keys(o, buf, sizeof(buf));
	assert_string_equal(buf, "mode level hits misses drops");
	assert_string_equal(
		json_string_value(json_object_get(o, "mode")), "fast");
	assert_true(json_is_null(json_object_get(o, "level")));
	assert_true(json_is_integer(json_object_get(o, "misses")));
	assert_int_equal(json_integer_value(json_object_get(o, "hits")), 7);
	assert_int_equal(json_integer_value(json_object_get(o, "misses")), 0);
	assert_int_equal(json_integer_value(json_object_get(o, "drops")),
		UINT32_MAX + 1ULL);
	json_decref(o);

	o = stats_group_describe(&t_group);
	keys(o, buf, sizeof(buf));
	assert_string_equal(buf, "mode level hits misses drops");
	assert_string_equal(json_string_value(json_object_get(o, "level")),
		"how full it is");
	assert_string_equal(json_string_value(json_object_get(o, "misses")),
		"lookups that found none");
	json_decref(o);

	/* Counters only (the ports). */
	o = stats_group_json(&stats_groups[STATS_PORTS], NULL,
		(const uint64_t[PORT_STAT_COUNT]){[PORT_STAT_tx_bytes] = 9});
	assert_int_equal(json_object_size(o), PORT_STAT_COUNT);
	assert_int_equal(json_integer_value(json_object_get(o, "tx_bytes")), 9);
	assert_int_equal(
		json_integer_value(json_object_get(o, "rx_packets")), 0);
	json_decref(o);
}

/* Every key of every group has a description; no name twice. */
static void
test_groups_described(void **state)
{
	static const size_t n_counters[STATS_GROUP_COUNT] = {
		[STATS_PORTS] = PORT_STAT_COUNT,
		[STATS_FDB] = FDB_STAT_COUNT,
		[STATS_DATAPLANE] = DP_STAT_COUNT,
		[STATS_RPC] = RPC_STAT_COUNT,
	};
	static const char *const names[STATS_GROUP_COUNT] = {
		"ports", "fdb", "dataplane", "rpc"};
	const struct stats_group *g;
	json_t *d = stats_describe(), *gd, *o, *none[8] = {NULL};
	uint64_t zero[64] = {0};
	const char *k;
	json_t *v;
	int i;

	assert_int_equal(json_object_size(d), STATS_GROUP_COUNT);
	for (i = 0; i < STATS_GROUP_COUNT; i++) {
		g = &stats_groups[i];
		assert_string_equal(g->name, names[i]);
		assert_int_equal(g->n_counters, n_counters[i]);
		assert_true(g->n_counters <= 64);
		gd = json_object_get(d, g->name);
		assert_non_null(gd);
		/* Distinct names: each is one key. */
		assert_int_equal(
			json_object_size(gd), g->n_gauges + g->n_counters);
		json_object_foreach(gd, k, v)
		{
			assert_true(json_is_string(v));
			if (strlen(json_string_value(v)) < 8)
				fail_msg("%s.%s: no real description", g->name,
					k);
		}
		/* What the group shows is what it describes. */
		assert_true(g->n_gauges <= 8);
		o = stats_group_json(g, none, zero);
		json_object_foreach(o, k, v)
		{
			if (!json_is_string(json_object_get(gd, k)))
				fail_msg("%s.%s undescribed", g->name, k);
		}
		assert_int_equal(json_object_size(o), json_object_size(gd));
		json_decref(o);
	}
	json_decref(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generators),
		cmocka_unit_test(test_baseline),
		cmocka_unit_test(test_group_json),
		cmocka_unit_test(test_groups_described),
	};

	return cmocka_run_group_tests_name("stats", tests, NULL, NULL);
}
