/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mirror.h - port mirrors (`vhswctl mirror add NAME --src PORT[,PORT]
 * --dst PORT [--direction rx|tx|both]`): every frame a source port
 * receives (rx: as its peer sent it) or sends (tx: as its peer gets it,
 * VLAN tags pushed or popped), unchanged, also goes to the destination
 * port.  As OVS's Mirror with output_port (vswitchd/vswitch.xml,
 * ofproto/ofproto-dpif-mirror.c).
 *
 * The destination is an output-only port while a mirror sends to it
 * (port->output_only): it stays in the published table's by_id[] so that
 * mirrored frames reach it (fwd_mirror_put), but not in ids[], so the data
 * plane neither polls it (what its peer sends is dropped unread, nothing
 * is learned from it) nor floods to it; its learned FDB entries are
 * flushed when it becomes one, and static entries to it are refused (a
 * port with --mac or a static entry cannot become one), so no unicast
 * reaches it either.
 *
 * Rules: names as port names and unique; every port exists; a destination
 * is no source of any mirror and a source no destination (no chains, no
 * loops); at most MONITOR_MAX_MIRRORS mirrors per source port and
 * MIRROR_MAX mirrors in all.
 *
 * Removing a port (port del, uplink del) removes it from every mirror
 * first, as OVS does: a mirror that loses its destination or its last
 * source is deleted (logged); the sources' monitors are rebuilt before the
 * port is unpublished, so no mirror entry ever names a port id the data
 * plane could see reused.
 *
 * Mirrors are saved in the configuration as "mirrors": [{"name", "src":
 * [PORT, ...], "dst", "direction"}] (config.c) and restored after the
 * ports (CONFIG_PART_MIRRORS).
 *
 * Thread-safety: control thread only.  The data plane sees mirrors only
 * through the monitors (monitor.h) the control thread builds from them.
 */
#ifndef VHSW_MIRROR_H
#define VHSW_MIRROR_H

#include <stdbool.h>

#include <jansson.h>

struct act_err;
struct port;
struct port_monitor;
struct vhsw;

#define MIRROR_MAX 32 /* mirrors in all (OVS: MAX_MIRRORS) */

/*
 * Adds the mirrors that have 'p' as a source to the monitor being built
 * for it (vhsw_port_update_monitor).
 */
void mirror_fill_monitor(
	struct vhsw *sw, const struct port *p, struct port_monitor *mon);

/*
 * 'p' is about to be unpublished for good (vhsw_port_detach): takes it out
 * of every mirror, deletes the mirrors it leaves without destination or
 * sources, and rebuilds the monitors of their sources.
 */
void mirror_port_removed(struct vhsw *sw, struct port *p);

/* Whether 'p' is the destination of a mirror (static entries refused). */
bool mirror_is_dst(const struct vhsw *sw, const struct port *p);

/* The mirrors as saved in a configuration: a new array (config_dump). */
json_t *mirror_dump(const struct vhsw *sw);

/* Frees every mirror without touching the ports (vhsw_fini). */
void mirror_fini(struct vhsw *sw);

/* The actions of `mirror add|del|list` (ctl.h), bound in actions.c. */
json_t *act_mirror_add(struct vhsw *sw, json_t *params, struct act_err *e);
json_t *act_mirror_del(struct vhsw *sw, json_t *params, struct act_err *e);
json_t *act_mirror_list(struct vhsw *sw, json_t *params, struct act_err *e);

#endif /* VHSW_MIRROR_H */
