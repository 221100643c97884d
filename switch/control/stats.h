/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * stats.h - the `stats` reply: every counter group, emitted by one function.
 *
 * The reply holds one object per group: "ports" (one object per port),
 * "fdb", "dataplane" and "rpc".  A group has two lists, both
 * X(P, name, description) macros (counters.h):
 *  - counters: event counts, a uint64_t array indexed by the group's enum,
 *    defined beside the code that counts (PORT_STATS in port.h, DP_STATS in
 *    dp.h, FDB_STATS in fdb.h, RPC_STATS in rpc.h);
 *  - gauges: the other values shown with them (levels, settings, ratios:
 *    fdb.entries, dataplane.poll_mode), JSON values that stats.c fills in
 *    the order of the group's gauge list.
 * stats_group_json() emits any group, gauges first, in list order (as
 * VPP's error counters and OVS's pmd stats are emitted from their tables);
 * stats_group_describe() gives every key its description, so no key can
 * appear in `vhswctl stats` without one in `vhswctl stats --describe`.
 *
 * Thread-safety: control thread only.  Counters are read with relaxed
 * loads and cleared by recording a baseline (counters.h); the FDB's are
 * reset under its writer lock.
 */
#ifndef VHSW_STATS_H
#define VHSW_STATS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "counters.h"

struct port;
struct vhsw;

struct stats_group {
	const char *name; /* its key in the `stats` reply */
	const struct counter_desc *gauges;
	size_t n_gauges;
	const struct counter_desc *counters;
	size_t n_counters;
};

enum stats_group_id {
	STATS_PORTS, /* per port: counters only */
	STATS_FDB,
	STATS_DATAPLANE,
	STATS_RPC,
	STATS_GROUP_COUNT,
};

extern const struct stats_group stats_groups[STATS_GROUP_COUNT];

/*
 * The object {name: value} of group 'g': gauges[0..n_gauges) (references
 * stolen; NULL shows as null), then counters[0..n_counters), in list
 * order.  'gauges' may be NULL when the group has none.
 */
json_t *stats_group_json(const struct stats_group *g, json_t *const *gauges,
	const uint64_t *counters);
/* The object {name: description} of every gauge and counter of 'g'. */
json_t *stats_group_describe(const struct stats_group *g);

/* A port's counters since its last clear (`port show`, `stats`). */
json_t *stats_port_json(const struct port *p);
/* The `stats` reply, with 'only' (unless NULL) as the only port. */
json_t *stats_json(struct vhsw *sw, const struct port *only);
/*
 * `stats --clear`: the counters of 'only', or of every port, the FDB and
 * the data plane when 'only' is NULL.  (The management server's count
 * from start.)
 */
void stats_clear(struct vhsw *sw, struct port *only);
/* `stats --describe`: {group: {name: description}}; "ports" once. */
json_t *stats_describe(void);

#endif /* VHSW_STATS_H */
