/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * capture.c - capture sessions, the data-plane side (see capture.h).
 *
 * Per burst: one TSC read, the filter over the burst (JIT or interpreter),
 * one rte_pcapng_copy per frame that matches, one multi-producer enqueue,
 * and three relaxed atomic adds.  No syscall, no wait.
 *
 * One lock: librte_pcapng 22.11 turns the TSC into nanoseconds with a
 * clock base it advances in place (pcapng_tsc_to_ns writes two globals
 * without atomics), so two data-plane threads copying at once could read
 * a base torn between its seconds and its cycles and stamp a frame a
 * second off.  capture_copy_lock serialises the copies (and the control
 * thread's first one, pcapng_clock_warm); it is taken only while frames
 * of a captured port match.
 */
#define ALLOW_EXPERIMENTAL_API 1 /* rte_pcapng_copy (22.11) */

#include <rte_bpf.h>
#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_pcapng.h>
#include <rte_ring.h>
#include <rte_spinlock.h>

#include "capture.h"
#include "monitor.h"
#include "port.h"

#define CAPTURE_CHUNK VHSW_BURST

rte_spinlock_t capture_copy_lock = RTE_SPINLOCK_INITIALIZER;

void
capture_burst(struct capture *c, const struct port *p, uint16_t q,
	struct rte_mbuf **pkts, uint16_t n, uint8_t dir)
{
	enum rte_pcapng_direction d = dir == MONITOR_RX
		? RTE_PCAPNG_DIRECTION_IN
		: RTE_PCAPNG_DIRECTION_OUT;
	struct rte_mbuf *copies[CAPTURE_CHUNK], *mc;
	uint64_t rc[CAPTURE_CHUNK], matched = 0, dropped = 0, ts;
	uint16_t done, m, i, k, e;
	bool locked;

	if (__atomic_load_n(&c->closed, __ATOMIC_RELAXED))
		return;
	ts = rte_get_tsc_cycles();
	for (done = 0; done < n; done += m) {
		m = RTE_MIN(n - done, CAPTURE_CHUNK);
		if (c->jit != NULL)
			for (i = 0; i < m; i++)
				rc[i] = c->jit(pkts[done + i]);
		else if (c->bpf != NULL)
			rte_bpf_exec_burst(c->bpf, (void **)&pkts[done], rc, m);
		k = 0;
		locked = false;
		for (i = 0; i < m; i++) {
			/* pcap_offline_filter's rule: 0 rejects. */
			if (c->bpf != NULL && rc[i] == 0)
				continue;
			matched++;
			if (!locked) {
				rte_spinlock_lock(&capture_copy_lock);
				locked = true;
			}
			mc = rte_pcapng_copy(p->id, q, pkts[done + i], c->mp,
				c->copy_len, ts, d);
			if (unlikely(mc == NULL)) {
				dropped++;
				continue;
			}
			copies[k++] = mc;
		}
		if (locked)
			rte_spinlock_unlock(&capture_copy_lock);
		if (k == 0)
			continue;
		e = (uint16_t)rte_ring_mp_enqueue_burst(
			c->ring, (void **)copies, k, NULL);
		if (unlikely(e < k)) {
			rte_pktmbuf_free_bulk(&copies[e], k - e);
			dropped += k - e;
		}
	}
	__atomic_fetch_add(&c->seen, n, __ATOMIC_RELAXED);
	if (matched != 0)
		__atomic_fetch_add(&c->matched, matched, __ATOMIC_RELAXED);
	if (dropped != 0)
		__atomic_fetch_add(&c->dropped, dropped, __ATOMIC_RELAXED);
}
