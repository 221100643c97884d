/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhsw.h - the switch instance as the control thread sees it.
 *
 * struct vhsw ties together the libev loop, the port registry (by id), the
 * FDB, the data plane and the management server.  The actions (one per
 * command of ctl.h) serve the JSON-RPC methods and the config loader alike.
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
	char config_path[PATH_MAX];         /* --config, for `config save` */
};

/* Why an action failed: a JSON-RPC error code and a message. */
struct act_err {
	int code;
	char *msg;
	size_t len;
};

/*
 * An action (actions.c, one per command of ctl.h): the result (a new
 * reference), or NULL with 'e' set.
 */
typedef json_t *(*vhsw_action_fn)(
	struct vhsw *sw, json_t *params, struct act_err *e);

/*
 * Runs command 'id' with 'params' (checked against the command table
 * first): its result, or NULL with *code and 'msg' set.  The RPC server
 * and the config loader both come here.
 */
json_t *vhsw_call(struct vhsw *sw, enum ctl_cmd_id id, json_t *params,
	int *code, char *msg, size_t msglen);

/* control.c */
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
/* Unpublishes, flushes its FDB entries and destroys 'p'. */
void vhsw_port_detach(struct vhsw *sw, struct port *p);
/* JSON-RPC dispatch (rpc_dispatch_fn). */
json_t *vhsw_dispatch(void *sw, const char *method, json_t *params, int *code,
	char *msg, size_t msglen);

/* config_read.c */
/* Reads and checks the syntax of a config file.  NULL with 'err' set. */
json_t *config_read(const char *path, char *err, size_t errlen);
/* The same for a buffer; 'name' stands for the file in messages. */
json_t *config_parse(const char *buf, size_t len, const char *name, char *err,
	size_t errlen);
/* The uplink devargs a config names, or NULL. */
const char *config_uplink_devargs(json_t *cfg);
/* The learned-entry limit a config asks for (for sizing the FDB). */
uint32_t config_fdb_limit(json_t *cfg);
/* config.c */
/* Applies a config read by config_read().  0 or -1 with 'err' set. */
int config_apply(struct vhsw *sw, const char *path, json_t *cfg, char *err,
	size_t errlen);
/* The running configuration. */
json_t *config_dump(const struct vhsw *sw);
/* Writes config_dump() to 'path' atomically.  0 or -1 with 'err' set. */
int config_save(
	const struct vhsw *sw, const char *path, char *err, size_t errlen);

#endif /* VHSW_VHSW_H */
