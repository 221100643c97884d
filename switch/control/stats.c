/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stats.c - the `stats` reply from the counter groups (see stats.h).
 */
#include <rte_common.h>
#include <rte_mempool.h>

#include "rpc.h"
#include "stats.h"
#include "vhsw.h"

/*
 * Gauges: the values shown with a group's counters that are not event
 * counts.  X(P, name, description), as the counter lists.
 */
#define FDB_GAUGES(X, P)                                                    \
	X(P, entries, "MAC entries in the table, learned and static")       \
	X(P, limit, "most learned entries the table holds (fdb set limit)") \
	X(P, aging, "seconds a learned entry lives unseen; 0: forever")     \
	X(P, pages,                                                         \
		"what backs the tables: hugepages, transparent-hugepages"   \
		" or 4k")
#define DP_GAUGES(X, P)                                                      \
	X(P, poll_mode, "busy or adaptive (vhswd --poll-mode)")              \
	X(P, cycles_per_packet, "busy_cycles / packets")                     \
	X(P, mbufs_in_use, "packet buffers in use (a leak: a rising floor)") \
	X(P, idle_us, "idle time before an adaptive sleep now, microseconds")
#define RPC_GAUGES(X, P) X(P, clients, "management connections open now")

/* clang-format off */
enum fdb_gauge_id { FDB_GAUGES(COUNTER_ENUM, FDB_GAUGE_) FDB_GAUGE_COUNT };
enum dp_gauge_id { DP_GAUGES(COUNTER_ENUM, DP_GAUGE_) DP_GAUGE_COUNT };
enum rpc_gauge_id { RPC_GAUGES(COUNTER_ENUM, RPC_GAUGE_) RPC_GAUGE_COUNT };
/* clang-format on */

static const struct counter_desc port_counters[] = {PORT_STATS(COUNTER_DESC, )};
static const struct counter_desc fdb_gauges[] = {FDB_GAUGES(COUNTER_DESC, )};
static const struct counter_desc fdb_counters[] = {FDB_STATS(COUNTER_DESC, )};
static const struct counter_desc dp_gauges[] = {DP_GAUGES(COUNTER_DESC, )};
static const struct counter_desc dp_counters[] = {DP_STATS(COUNTER_DESC, )};
static const struct counter_desc rpc_gauges[] = {RPC_GAUGES(COUNTER_DESC, )};
static const struct counter_desc rpc_counters[] = {RPC_STATS(COUNTER_DESC, )};

#define GROUP(n, g, c)                                                         \
	{                                                                      \
		.name = n, .gauges = g, .n_gauges = RTE_DIM(g), .counters = c, \
		.n_counters = RTE_DIM(c)                                       \
	}
const struct stats_group stats_groups[STATS_GROUP_COUNT] = {
	[STATS_PORTS] = {.name = "ports",
		.counters = port_counters,
		.n_counters = RTE_DIM(port_counters)},
	[STATS_FDB] = GROUP("fdb", fdb_gauges, fdb_counters),
	[STATS_DATAPLANE] = GROUP("dataplane", dp_gauges, dp_counters),
	[STATS_RPC] = GROUP("rpc", rpc_gauges, rpc_counters),
};
#undef GROUP

json_t *
stats_group_json(const struct stats_group *g, json_t *const *gauges,
	const uint64_t *counters)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < g->n_gauges; i++)
		json_object_set_new(o, g->gauges[i].name,
			gauges[i] != NULL ? gauges[i] : json_null());
	for (i = 0; i < g->n_counters; i++)
		json_object_set_new(o, g->counters[i].name,
			json_integer((json_int_t)counters[i]));
	return o;
}

json_t *
stats_group_describe(const struct stats_group *g)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < g->n_gauges; i++)
		json_object_set_new(
			o, g->gauges[i].name, json_string(g->gauges[i].desc));
	for (i = 0; i < g->n_counters; i++)
		json_object_set_new(o, g->counters[i].name,
			json_string(g->counters[i].desc));
	return o;
}

json_t *
stats_port_json(const struct port *p)
{
	struct port_stats st;

	port_stats_read(p, &st);
	return stats_group_json(&stats_groups[STATS_PORTS], NULL, st.c);
}

static json_t *
fdb_json(struct vhsw *sw)
{
	json_t *g[FDB_GAUGE_COUNT] = {NULL};
	struct fdb_stats st;

	fdb_get_stats(sw->fdb, &st);
	g[FDB_GAUGE_entries] = json_integer(st.entries);
	g[FDB_GAUGE_limit] = json_integer(st.limit);
	g[FDB_GAUGE_aging] = json_integer(sw->aging);
	g[FDB_GAUGE_pages] = json_string(fdb_pages(sw->fdb));
	return stats_group_json(&stats_groups[STATS_FDB], g, st.c);
}

static json_t *
dp_json(struct vhsw *sw)
{
	json_t *g[DP_GAUGE_COUNT] = {NULL};
	struct dp_stats st;

	dp_get_stats(sw->dp, &st);
	g[DP_GAUGE_poll_mode] =
		json_string(dp_poll_mode_name(dp_get_poll_mode(sw->dp)));
	g[DP_GAUGE_cycles_per_packet] = json_real(
		st.packets ? (double)st.busy_cycles / (double)st.packets : 0.0);
	g[DP_GAUGE_mbufs_in_use] =
		json_integer(rte_mempool_in_use_count(sw->pool));
	g[DP_GAUGE_idle_us] = json_integer(dp_get_idle_us(sw->dp));
	return stats_group_json(&stats_groups[STATS_DATAPLANE], g, st.c);
}

static json_t *
rpc_json(struct vhsw *sw)
{
	json_t *g[RPC_GAUGE_COUNT] = {NULL};
	struct rpc_stats st;

	rpc_server_stats(sw->rpc, &st);
	g[RPC_GAUGE_clients] = json_integer(st.clients);
	return stats_group_json(&stats_groups[STATS_RPC], g, st.c);
}

json_t *
stats_json(struct vhsw *sw, const struct port *only)
{
	json_t *r = json_object(), *ports = json_object();
	const struct port *p;
	int i;

	for (i = 0; i < VHSW_MAX_PORTS; i++) {
		p = sw->ports[i];
		if (p != NULL && (only == NULL || only == p))
			json_object_set_new(ports, p->name, stats_port_json(p));
	}
	json_object_set_new(r, stats_groups[STATS_PORTS].name, ports);
	json_object_set_new(r, stats_groups[STATS_FDB].name, fdb_json(sw));
	json_object_set_new(r, stats_groups[STATS_DATAPLANE].name, dp_json(sw));
	if (sw->rpc != NULL)
		json_object_set_new(
			r, stats_groups[STATS_RPC].name, rpc_json(sw));
	return r;
}

void
stats_clear(struct vhsw *sw, struct port *only)
{
	int i;

	for (i = 0; i < VHSW_MAX_PORTS; i++)
		if (sw->ports[i] != NULL &&
			(only == NULL || sw->ports[i] == only))
			port_stats_clear(sw->ports[i]);
	if (only == NULL) {
		dp_clear_stats(sw->dp);
		fdb_clear_stats(sw->fdb);
	}
}

json_t *
stats_describe(void)
{
	json_t *r = json_object();
	int i;

	for (i = 0; i < STATS_GROUP_COUNT; i++)
		json_object_set_new(r, stats_groups[i].name,
			stats_group_describe(&stats_groups[i]));
	return r;
}
