/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * monitor.c - the data-plane hooks of captures and mirrors (see monitor.h).
 */
#include <rte_mbuf.h>

#include "capture.h"
#include "fwd.h"
#include "monitor.h"

static void
watch(struct fwd_ctx *ctx, const struct port_monitor *mon, struct port *p,
	uint16_t q, struct rte_mbuf **pkts, uint16_t n, uint8_t dir)
{
	uint16_t i, k;

	for (i = 0; i < mon->n_capture; i++)
		if (mon->capture[i].dirs & dir)
			capture_burst(mon->capture[i].cap, p, q, pkts, n, dir);
	for (i = 0; i < mon->n_mirror; i++) {
		if (!(mon->mirror[i].dirs & dir))
			continue;
		for (k = 0; k < n; k++) {
			/* The frame as it is on the source port's wire:
			 * shared, never changed. */
			rte_mbuf_refcnt_update(pkts[k], 1);
			fwd_mirror_put(ctx, mon->mirror[i].dst, pkts[k]);
		}
	}
}

void
monitor_rx(struct fwd_ctx *ctx, const struct port_monitor *mon, struct port *p,
	uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	if (mon->dirs & MONITOR_RX)
		watch(ctx, mon, p, q, pkts, n, MONITOR_RX);
}

void
monitor_tx(struct fwd_ctx *ctx, const struct port_monitor *mon, struct port *p,
	struct rte_mbuf **pkts, uint16_t n)
{
	if (mon->dirs & MONITOR_TX)
		watch(ctx, mon, p, 0, pkts, n, MONITOR_TX);
}
