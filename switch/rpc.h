/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rpc.h - JSON-RPC 2.0 server on a unix stream socket, on the libev loop.
 *
 * One request per line.  Each complete line is parsed and handed to the
 * dispatch function, whose result or error goes back as one reply line.
 * Malformed JSON, a request that is not a JSON-RPC object, and lines over
 * CTL_MAX_REQUEST bytes get a JSON-RPC error reply (an oversized line also
 * closes the connection: the stream cannot be resynchronised).  Replies are
 * buffered and written as the client reads them, so a slow or stuck client
 * never blocks the loop; a client whose pending output passes a bound is
 * dropped.
 *
 * Thread-safety: control thread (the loop's thread) only.
 */
#ifndef VHSW_RPC_H
#define VHSW_RPC_H

#include <stddef.h>
#include <sys/types.h>

#include <ev.h>
#include <jansson.h>

struct rpc_server;

/*
 * Handles one request.  Returns the result (a new reference) or NULL with
 * *code and 'msg' set.
 */
typedef json_t *(*rpc_dispatch_fn)(void *arg, const char *method,
	json_t *params, int *code, char *msg, size_t msglen);

/*
 * Listens on 'path' (mode 'perm'), replacing a stale socket file.  Returns
 * NULL with a message in 'err'.
 */
struct rpc_server *rpc_server_create(struct ev_loop *loop, const char *path,
	mode_t perm, rpc_dispatch_fn fn, void *arg, char *err, size_t errlen);
/* Closes every connection and removes the socket file. */
void rpc_server_destroy(struct rpc_server *srv);

/* Counters, for tests and `stats`. */
struct rpc_stats {
	unsigned long requests;
	unsigned long errors;
	unsigned long clients; /* connected now */
};
void rpc_server_stats(const struct rpc_server *srv, struct rpc_stats *st);

#endif /* VHSW_RPC_H */
