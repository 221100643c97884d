/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * actions.h - one action per management command (switch/control/actions.c).
 *
 * The command table (ctl.h) names each command's action; actions.c binds
 * them, so a command without an action does not build.  act_call() checks
 * a request's params against the table and runs the action: the JSON-RPC
 * server (through vhsw_dispatch) and the --config loader (config.c) both
 * come here, so both accept exactly the same input.
 *
 * Thread-safety: control thread only.
 */
#ifndef VHSW_ACTIONS_H
#define VHSW_ACTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "ctl.h"

struct vhsw;

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
typedef json_t *(*act_fn)(struct vhsw *sw, json_t *params, struct act_err *e);

/*
 * Sets 'e' and returns NULL, so an action (here or in the modules that
 * own a command: mirror.c, capture_ctl.c) fails with
 * `return act_fail(e, code, ...)`.
 */
json_t *act_fail(struct act_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A name of a port or a mirror: 1-31 letters, digits, '_', '.' or '-'. */
bool act_name_ok(const char *name);

/*
 * Runs command 'id' with 'params' (checked against the command table
 * first): its result, or NULL with *code and 'msg' set.  The RPC server
 * and the config loader both come here.
 */
json_t *act_call(struct vhsw *sw, enum ctl_cmd_id id, json_t *params, int *code,
	char *msg, size_t msglen);

#endif /* VHSW_ACTIONS_H */
