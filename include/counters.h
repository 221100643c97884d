/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * counters.h - groups of 64-bit counters defined once, in an X-macro, and
 * read and "cleared" without writing the writer's memory.
 *
 * A group (the per-port counters, the data-plane loop's, the FDB's, the
 * management server's) is a list X(P, name, description), as VPP's
 * foreach_*_error lists.  From that one list come the enum of indices
 * (COUNTER_ENUM with the prefix P), the struct members (COUNTERS_UNION:
 * named uint64_t fields over an array indexed by the enum, so the writer
 * keeps plain stores to a field while readers walk the array) and the
 * name/description table (COUNTER_DESC) that switch/control/stats.c emits as JSON
 * for `vhswctl stats` and `vhswctl stats --describe`:
 *
 *   #define FOO_STATS(X, P)                             \
 *           X(P, hits, "lookups that found an entry")   \
 *           X(P, misses, "lookups that found none")
 *   enum foo_stat_id { FOO_STATS(COUNTER_ENUM, FOO_STAT_) FOO_STAT_COUNT };
 *   struct foo_stats { COUNTERS_UNION(FOO_STATS, FOO_STAT_COUNT); };
 *   static const struct counter_desc foo_descs[] = {FOO_STATS(COUNTER_DESC, )};
 *
 * The data plane is the only writer of its counters (the FDB's and the
 * management server's are written under their owners' locks or thread).
 * Other threads read them with relaxed atomic loads and never write them:
 * clearing records a baseline that later reads subtract (as OVS does for
 * PMD stats).
 *
 * Thread-safety: counters_read/counters_snapshot: any thread, but one
 * thread per baseline (the control thread).
 */
#ifndef VHSW_COUNTERS_H
#define VHSW_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

/* A counter (or another value shown with the counters) as users see it. */
struct counter_desc {
	const char *name; /* the JSON key */
	const char *desc; /* one line, for `vhswctl stats --describe` */
};

/* Generators for an X(P, name, description) list. */
#define COUNTER_ENUM(P, name, desc) P##name,
#define COUNTER_FIELD(P, name, desc) uint64_t name;
#define COUNTER_DESC(P, name, desc) {#name, desc},

/*
 * The counters of LIST as struct members: LIST's names as fields, the same
 * words as c[0..n), indexed by the enum.
 */
#define COUNTERS_UNION(LIST, n)               \
	union {                               \
		struct {                      \
			LIST(COUNTER_FIELD, ) \
		};                            \
		uint64_t c[n];                \
	}

/* out[i] = cur[i] - base[i] for 'n' counters. */
static inline void
counters_read(
	const uint64_t *cur, const uint64_t *base, uint64_t *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = __atomic_load_n(&cur[i], __ATOMIC_RELAXED) - base[i];
}

/* base[i] = cur[i]: the counters read as zero from now on. */
static inline void
counters_snapshot(const uint64_t *cur, uint64_t *base, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		base[i] = __atomic_load_n(&cur[i], __ATOMIC_RELAXED);
}

#endif /* VHSW_COUNTERS_H */
