/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * counters.h - reading and "clearing" single-writer 64-bit counters.
 *
 * The data plane is the only writer of its counters.  Other threads read
 * them with relaxed atomic loads and never write them: clearing records a
 * baseline that later reads subtract (as OVS does for PMD stats).
 *
 * Thread-safety: counters_read/counters_snapshot: any thread, but one
 * thread per baseline (the control thread).
 */
#ifndef VHSW_COUNTERS_H
#define VHSW_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

/* out[i] = cur[i] - base[i] for 'n' counters. */
static inline void
counters_read(const void *cur, const void *base, void *out, size_t n)
{
	const uint64_t *c = cur, *b = base;
	uint64_t *o = out;
	size_t i;

	for (i = 0; i < n; i++)
		o[i] = __atomic_load_n(&c[i], __ATOMIC_RELAXED) - b[i];
}

/* base[i] = cur[i]: the counters read as zero from now on. */
static inline void
counters_snapshot(const void *cur, void *base, size_t n)
{
	const uint64_t *c = cur;
	uint64_t *b = base;
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = __atomic_load_n(&c[i], __ATOMIC_RELAXED);
}

#endif /* VHSW_COUNTERS_H */
