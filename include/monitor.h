/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * monitor.h - what watches a port's frames besides forwarding: packet
 * captures (capture.h, `vhswctl capture`) and mirrors (mirror.h, `vhswctl
 * mirror add`).
 *
 * A port that something watches has a struct port_monitor, built and
 * published by the control thread in port->monitor (RCU, as port->policy:
 * vhsw_port_update_monitor); a port nothing watches has NULL there, and
 * the data plane pays one predictable branch per received burst and one
 * per sent burst.
 *
 * Directions are the switch's view, as the port counters: MONITOR_RX sees
 * the frames the port's peer sent, right after they are received (before
 * any check, so also those then dropped); MONITOR_TX sees the frames handed
 * to the port for its peer, just before they are sent (VLAN tags already
 * pushed or popped; a frame then dropped for a full queue was seen).
 *
 * Thread-safety: monitor_rx/monitor_tx run on the data-plane thread that
 * polls or sends to the port, inside its RCU read-side section.  A struct
 * port_monitor is immutable once published; the control thread replaces
 * it and frees the old one after a grace period.  What it points to
 * (capture sessions) lives at least until then.
 */
#ifndef VHSW_MONITOR_H
#define VHSW_MONITOR_H

#include <stdint.h>

#include "port.h"

struct capture;
struct fwd_ctx;
struct rte_mbuf;

#define MONITOR_RX 1u
#define MONITOR_TX 2u
#define MONITOR_BOTH (MONITOR_RX | MONITOR_TX)
#define MONITOR_MAX_CAPTURES 8 /* sessions on one port */
#define MONITOR_MAX_MIRRORS 8  /* mirrors with one port as a source */

struct port_monitor {
	uint8_t dirs; /* union of every entry's directions */
	uint8_t n_capture;
	uint8_t n_mirror;
	struct {
		struct capture *cap;
		uint8_t dirs;
	} capture[MONITOR_MAX_CAPTURES];
	struct {
		uint16_t dst; /* the destination port's id */
		uint8_t dirs;
	} mirror[MONITOR_MAX_MIRRORS];
};

/*
 * The hooks: 'p' has a monitor ('mon', loaded by the caller); 'pkts' are
 * the burst the port received on queue 'q' (rx) or is about to send (tx).
 * The frames stay the caller's: captures copy what they keep, mirrors
 * take a reference.
 */
void monitor_rx(struct fwd_ctx *ctx, const struct port_monitor *mon,
	struct port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n);
void monitor_tx(struct fwd_ctx *ctx, const struct port_monitor *mon,
	struct port *p, struct rte_mbuf **pkts, uint16_t n);

#endif /* VHSW_MONITOR_H */
