/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mirror.h - port mirrors (`vhswctl mirror add NAME --src PORT[,PORT]
 * --dst PORT`): every frame a source port receives or sends, as it is on
 * that port's wire, also goes to the destination port.
 *
 * Thread-safety: control thread only.  The data plane sees mirrors only
 * through the monitors (monitor.h) the control thread builds from them.
 */
#ifndef VHSW_MIRROR_H
#define VHSW_MIRROR_H

struct port;
struct port_monitor;
struct vhsw;

/*
 * Adds the mirrors that have 'p' as a source to the monitor being built
 * for it (vhsw_port_update_monitor).
 */
void mirror_fill_monitor(
	struct vhsw *sw, const struct port *p, struct port_monitor *mon);

#endif /* VHSW_MIRROR_H */
