/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl_client.h - the management client of vhswctl and vhsw-cni: connects
 * to vhswd's control socket and makes JSON-RPC calls (see ctl.h).
 *
 * Thread-safety: plain blocking calls for one thread; a client is used by
 * one thread at a time.  No global state.
 */
#ifndef VHSW_CTL_CLIENT_H
#define VHSW_CTL_CLIENT_H

#include "ctl.h"

/* The socket path to use: 'opt' if set, else $VHSW_CTL, else default. */
const char *ctl_socket_path(const char *opt);

/* A connection to the daemon. */
struct ctl_client;

/* Connects; NULL with a message in 'err' when the daemon is unreachable. */
struct ctl_client *ctl_connect(const char *path, char *err, size_t errlen);
void ctl_close(struct ctl_client *c);

enum ctl_call_status {
	CTL_OK,       /* *result holds the result */
	CTL_ERROR,    /* the daemon replied with an error: code, message */
	CTL_IO_ERROR, /* lost the connection or a malformed reply */
};

/*
 * Sends one request and waits for its reply.  On CTL_OK the caller owns
 * *result; on CTL_ERROR 'err' holds the daemon's message and *code its code.
 */
enum ctl_call_status ctl_call(struct ctl_client *c, const char *method,
	json_t *params, json_t **result, int *code, char *err, size_t errlen);
/*
 * ctl_call() that also passes the file descriptor 'fd' (SCM_RIGHTS, with
 * the request's first byte) for a command that takes one (`capture`: the
 * pipe vhswd writes to).  The caller keeps its own copy of 'fd'.
 */
enum ctl_call_status ctl_call_fd(struct ctl_client *c, const char *method,
	json_t *params, int fd, json_t **result, int *code, char *err,
	size_t errlen);

#endif /* VHSW_CTL_CLIENT_H */
