/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * capture.h - packet capture sessions (`vhswctl capture`): the data-plane
 * side.
 *
 * A session watches one port in one or both directions (monitor.h).  The
 * data plane runs its filter on each frame and copies the ones that match
 * into the session's ring; whatever cannot be copied at once (ring or
 * pool full) is counted as dropped, never waited for.
 *
 * Thread-safety: capture_burst() is called by the data plane only.
 */
#ifndef VHSW_CAPTURE_H
#define VHSW_CAPTURE_H

#include <stdint.h>

struct capture;
struct port;
struct rte_mbuf;

/*
 * Offers the burst 'pkts' of port 'p', seen in direction 'dir'
 * (MONITOR_RX or MONITOR_TX) on queue 'q', to session 'c'.
 */
void capture_burst(struct capture *c, const struct port *p, uint16_t q,
	struct rte_mbuf **pkts, uint16_t n, uint8_t dir);

/*
 * The control side (switch/control/capture_ctl.c), control thread only:
 * adds the sessions watching 'p' to the monitor being built for it
 * (vhsw_port_update_monitor).
 */
struct port_monitor;
struct vhsw;
void capture_fill_monitor(
	struct vhsw *sw, const struct port *p, struct port_monitor *mon);

#endif /* VHSW_CAPTURE_H */
