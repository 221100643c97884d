/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rpc.h - JSON-RPC 2.0 server on a unix stream socket, on the libev loop.
 *
 * One request per line.  Each complete line is parsed and handed to the
 * dispatch function, whose result or error goes back as one reply line.
 * Malformed JSON, a request that is not a JSON-RPC object, and lines over
 * CTL_MAX_REQUEST bytes get a JSON-RPC error reply (the rest of an
 * oversized line is skipped).  Replies are buffered and written as the
 * client reads them, so a slow or stuck client never blocks the loop.
 *
 * Every client is untrusted, and none may lock the others out:
 *  - accept() never blocks (non-blocking listener, drained per wakeup);
 *  - at most max_clients connections; a new one evicts the client idle the
 *    longest, never the newcomer;
 *  - a client that completes no request (a half-written line counts as
 *    idle) and reads no reply for idle_timeout seconds is closed;
 *  - input is bounded by CTL_MAX_REQUEST per line; while a client has more
 *    than RPC_OUT_HIGH_WATER bytes of replies unread, its further requests
 *    wait (no reading); past RPC_MAX_PENDING_OUT it is dropped.
 *
 * A request may carry one file descriptor (SCM_RIGHTS, sent with the
 * request's first byte; ctl_call_fd), for the action that takes one
 * (rpc_take_fd: `capture` takes the pipe it writes to).  It belongs to the
 * request whose line holds the byte it came with.  More than one fd, or a
 * control message cut short: every fd received is closed and the request
 * fails.  An fd no action took is closed once its request is answered,
 * and the fds of a client that leaves are closed: none is ever leaked.
 *
 * Thread-safety: control thread (the loop's thread) only.
 */
#ifndef VHSW_RPC_H
#define VHSW_RPC_H

#include <stddef.h>
#include <sys/types.h>

#include <ev.h>
#include <jansson.h>

#include "counters.h"

struct rpc_server;

/*
 * Handles one request.  Returns the result (a new reference) or NULL with
 * *code and 'msg' set.
 */
typedef json_t *(*rpc_dispatch_fn)(void *arg, const char *method,
	json_t *params, int *code, char *msg, size_t msglen);

#define RPC_DEFAULT_IDLE_TIMEOUT 10.0 /* seconds */
#define RPC_DEFAULT_MAX_CLIENTS 128
#define RPC_OUT_HIGH_WATER (1u << 20)   /* stop reading past this */
#define RPC_MAX_PENDING_OUT (64u << 20) /* drop the client past this */

struct rpc_options {
	mode_t perm; /* of the socket file, set after bind whatever the umask */
	gid_t gid;   /* group of the socket file; (gid_t)-1: unchanged */
	/*
	 * A client that completes no request and reads no reply for this
	 * long is closed (a half-written line counts as idle).  0: default.
	 */
	double idle_timeout;
	/*
	 * Connections held at once; when full, a new connection evicts the
	 * client idle the longest.  0: default.
	 */
	unsigned int max_clients;
};

/*
 * Listens on 'path', replacing a stale socket file.  Returns NULL with a
 * message in 'err'.
 */
struct rpc_server *rpc_server_create(struct ev_loop *loop, const char *path,
	const struct rpc_options *opt, rpc_dispatch_fn fn, void *arg, char *err,
	size_t errlen);
/* Closes every connection and removes the socket file. */
void rpc_server_destroy(struct rpc_server *srv);

/* Counters (counters.h), since start, for tests and `stats`. */
#define RPC_STATS(X, P)                                                    \
	X(P, requests, "requests received, malformed ones too")            \
	X(P, errors, "requests that failed (malformed, unknown, refused)") \
	X(P, evictions, "idle connections closed to admit new ones")       \
	X(P, timeouts, "connections closed for idleness")                  \
	X(P, dropped, "connections closed: too many replies left unread")

/* clang-format off */
enum rpc_stat_id {
	RPC_STATS(COUNTER_ENUM, RPC_STAT_)
	RPC_STAT_COUNT
};
/* clang-format on */

struct rpc_stats {
	COUNTERS_UNION(RPC_STATS, RPC_STAT_COUNT);
	unsigned int clients; /* connected now */
};
void rpc_server_stats(const struct rpc_server *srv, struct rpc_stats *st);

/*
 * The request handler on its own (the server calls it per line; the fuzz
 * target calls it directly): parses one request line of 'len' bytes
 * (without its newline), checks the JSON-RPC envelope, calls 'fn' and
 * encodes the reply.  Returns 0 with *reply set to the reply line (no
 * newline; free() it) or to NULL for a notification, or -ENOMEM.  Counts
 * into 'st' (requests, errors).
 */
int rpc_handle_line(rpc_dispatch_fn fn, void *arg, const char *line, size_t len,
	struct rpc_stats *st, char **reply);

/*
 * The file descriptor that came with the request being dispatched: returns
 * it and makes it the caller's (it is open, close-on-exec), or -1 when the
 * request carried none or it was taken already.  Only inside the dispatch
 * function, on the control thread.
 */
int rpc_take_fd(void);

#endif /* VHSW_RPC_H */
