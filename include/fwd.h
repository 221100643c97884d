/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fwd.h - the forwarding core: learn, look up, forward or flood a burst.
 *
 * fwd_input() takes a burst received on one port and, for every frame:
 * drops runts (< 14 bytes) and tagged frames on access ports; classifies
 * its VLAN (the access port's VLAN, else the 802.1Q tag or a tag the NIC
 * stripped into the mbuf, else 0); applies the port's tenant controls if
 * it has any (policy.h: policer, port security, storm control; isolation
 * when it forwards); learns (source MAC, VLAN) -> ingress port; looks up
 * (destination MAC, VLAN); and queues the frame on the destination port's
 * TX buffer, or on every other ready port of the VLAN when the
 * destination is broadcast, multicast or unknown.  A frame never goes back
 * out of its ingress port.  Flooding shares one mbuf between destinations
 * by reference count; a destination that needs the frame changed (a VLAN
 * tag pushed for a trunk, popped for an access port) gets its own copy.
 *
 * fwd_flush() sends every TX buffer in bursts, retries a bounded number of
 * times while the peer makes progress, then drops and counts the rest.
 * The data plane calls it once per loop iteration, before it reports an
 * RCU quiescent state, so no mbuf is ever held across a grace period.
 *
 * VLAN model (as OVS): a port with vlan 0 is a trunk carrying untagged
 * frames (VLAN 0) and every tagged VLAN; a port with vlan V is an access
 * port of V and exchanges untagged frames only.
 *
 * Thread-safety: a struct fwd_ctx belongs to one data-plane thread; nothing
 * in it is shared.  It reads the port table and the FDB lock-free.
 */
#ifndef VHSW_FWD_H
#define VHSW_FWD_H

#include <stdint.h>

#include "port.h"

struct fdb;
struct rte_mempool;

#define FWD_TXQ_SIZE (2 * VHSW_BURST)
#define FWD_TX_RETRIES 4

struct fwd_txq {
	uint16_t n;
	uint16_t queued; /* on the dirty list */
	struct rte_mbuf *pkts[FWD_TXQ_SIZE];
};

struct fwd_ctx {
	struct fdb *fdb;
	struct rte_mempool *pool; /* for per-destination copies */
	uint64_t hz;              /* TSC ticks a second */
	uint16_t thread; /* the data-plane thread: its block of port stats */
	const struct port_table *tbl; /* the table of this iteration */
	uint16_t n_dirty;             /* ports with queued frames */
	uint16_t dirty[VHSW_MAX_PORTS];
	struct fwd_txq txq[VHSW_MAX_PORTS];
};

void fwd_init(struct fwd_ctx *ctx, struct fdb *fdb, struct rte_mempool *pool);
/* Forwards 'n' frames received on 'in'.  Consumes all of them. */
void fwd_input(struct fwd_ctx *ctx, struct port *in, struct rte_mbuf **pkts,
	uint16_t n);
/* Sends every queued frame. */
void fwd_flush(struct fwd_ctx *ctx);
/*
 * Queues 'm' (a reference the caller gives away) unchanged on port 'dst'
 * for a mirror: sent with this iteration's frames, or dropped and counted
 * in the destination's tx_dropped if the port is gone or down.
 */
void fwd_mirror_put(struct fwd_ctx *ctx, uint16_t dst, struct rte_mbuf *m);

#endif /* VHSW_FWD_H */
