/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhsw.h - the switch instance as the control thread sees it.
 *
 * struct vhsw ties together the libev loop, the port registry (by id), the
 * FDB, the data plane and the management server.  vhsw.c (libvhsw_control)
 * keeps the registry and publishes it to the data plane, turns port events
 * from other threads into sync() calls, runs the 1 Hz tick (FDB clock,
 * aging, stall watch) and dispatches JSON-RPC requests to the actions
 * (actions.h).
 *
 * Thread-safety: everything here runs on the control thread (the libev
 * loop's thread), except vhsw_wake(), which any thread may call.
 * vhsw_init() records its caller as the control thread, and debug builds
 * (-Dasserts=true) assert it in the port registry's functions.
 */
#ifndef VHSW_VHSW_H
#define VHSW_VHSW_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <ev.h>
#include <jansson.h>

#include "ctl.h"
#include "dp.h"
#include "fdb.h"
#include "port.h"

struct mirror_set;
struct capture_set;
struct paths;
struct rpc_server;
struct rte_mempool;
struct rte_rcu_qsbr;

struct vhsw {
	struct ev_loop *loop;
	ev_async wake; /* port events from other threads */
	ev_timer tick; /* 1 Hz: FDB clock and aging */
	ev_signal sigterm;
	ev_signal sigint;

	struct rte_mempool *pool;
	struct rte_rcu_qsbr *qsv;
	struct fdb *fdb;
	struct dp *dp;
	struct rpc_server *rpc;
	/* Where sockets and saved configs may go; NULL refuses them all. */
	const struct paths *paths;

	struct port *ports[VHSW_MAX_PORTS]; /* by id */
	uint32_t aging;                     /* seconds; 0: never */
	uint32_t clock;                     /* seconds since start */
	uint32_t rebalance_s; /* --rebalance-interval (dp_tick); 0: never */
	char config_path[PATH_MAX]; /* --config, for `config save` */
	/* The state directory and file (state.h); "" until state_open(). */
	char state_dir[PATH_MAX];
	char state_path[PATH_MAX];
	json_t *state_saved; /* what the file holds */
	bool state_dirty;    /* the last write failed: retry on the tick */
	struct mirror_set *mirrors;   /* mirror.c; NULL: none yet */
	struct capture_set *captures; /* capture_ctl.c; NULL until one */
};

int vhsw_init(struct vhsw *sw, struct ev_loop *loop, struct rte_mempool *pool,
	struct rte_rcu_qsbr *qsv, struct fdb *fdb, struct dp *dp);
void vhsw_fini(struct vhsw *sw);
void vhsw_wake(void *sw);
/* Runs the port classes' sync() for pending events. */
void vhsw_sync_ports(struct vhsw *sw);
struct port *vhsw_port_find(const struct vhsw *sw, const char *name);
/* Places 'p' in a free slot and publishes it.  0 or -ENOSPC. */
int vhsw_port_attach(struct vhsw *sw, struct port *p);
/*
 * Attaches a new port and installs its --mac static entry; on failure
 * destroys it and returns -errno with 'msg' set.
 */
int vhsw_port_add(struct vhsw *sw, struct port *p, char *msg, size_t msglen);
/*
 * Publishes 'pol' (NULL: none) as the tenant controls of 'p' and frees the
 * old ones after a grace period.
 */
void vhsw_port_set_policy(
	struct vhsw *sw, struct port *p, struct port_policy *pol);
/*
 * Builds the monitor of 'p' (monitor.h) from the capture sessions and
 * mirrors that watch it, publishes it (NULL when nothing does) and frees
 * the old one after a grace period.  Call after any change to them.
 * 0, or -ENOMEM with the old monitor kept.
 */
int vhsw_port_update_monitor(struct vhsw *sw, struct port *p);
/*
 * `port set --admin`: an administratively down port is kept out of the
 * published table (neither polled nor sent to) and loses its learned
 * entries; its peer stays connected.
 */
void vhsw_port_set_admin(struct vhsw *sw, struct port *p, bool down);
/*
 * A mirror's destination (mirror.h) is output-only: reachable by id in the
 * published table, neither polled nor flooded to; becoming one flushes
 * its learned entries.
 */
void vhsw_port_set_output_only(struct vhsw *sw, struct port *p, bool on);
/*
 * `port set --vlan/--mtu`: unpublishes 'p' for the change (the data plane
 * reads both per frame), applies the MTU to the device (port_class
 * set_mtu), moves the port to 'vlan' (its learned entries and static
 * entries of other VLANs go, its --mac entry follows) and publishes it
 * again.  0, or -1 with 'msg' set and nothing changed.
 */
int vhsw_port_reconfigure(struct vhsw *sw, struct port *p, uint16_t vlan,
	uint32_t mtu, char *msg, size_t msglen);
/*
 * `port set --rxq-affinity`: pins the receive queues of 'p' (port.h's
 * rxq_pin) and publishes the new assignment (queues that move change
 * threads across two grace periods, dp.h).
 */
void vhsw_port_set_rxq_pins(
	struct vhsw *sw, struct port *p, const uint16_t pins[PORT_MAX_RXQ]);
/* "0:3,1:4" for the pinned queues of 'p', or JSON null. */
json_t *vhsw_rxq_affinity_json(const struct port *p);
/* Unpublishes, flushes its FDB entries and destroys 'p'. */
void vhsw_port_detach(struct vhsw *sw, struct port *p);
/* The log type of the control thread's events and actions: vhsw.ctl. */
extern int vhsw_ctl_logtype;
/* JSON-RPC dispatch (rpc_dispatch_fn). */
json_t *vhsw_dispatch(void *sw, const char *method, json_t *params, int *code,
	char *msg, size_t msglen);

#endif /* VHSW_VHSW_H */
