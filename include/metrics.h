/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * metrics.h - the switch's counters in Prometheus text format over HTTP.
 *
 * `vhswd --metrics-listen ADDR:PORT` serves GET and HEAD /metrics
 * (exposition format 0.0.4): every counter group of `vhswctl stats`, named
 * vhsw_<group>_<counter>_total with the counter's description as HELP,
 * per-port series labelled port="NAME", librte_vhost's per-queue counters
 * of ports with --queue-stats labelled queue="N", direction="rx"|"tx",
 * gauges for port state, the FDB's size and the data plane, and
 * vhsw_build_info.  Other paths get 404, other methods 405.
 *
 * libmicrohttpd runs inside the control thread's libev loop, without
 * threads of its own: its epoll fd (MHD_USE_EPOLL) is watched by an
 * ev_io and its timeouts by an ev_timer, and MHD_run() serves whatever is
 * ready without blocking.  So the page is built on the control thread,
 * which owns the ports and counters.  Clients are bounded: at most
 * METRICS_MAX_CONNS connections (METRICS_MAX_PER_IP from one address),
 * METRICS_TIMEOUT_S seconds idle, METRICS_MEMORY_LIMIT bytes of request
 * per connection; request bodies are refused; replies are written as the
 * client reads them, so a slow client costs memory, not the loop's time.
 *
 * Thread-safety: control thread only.
 */
#ifndef VHSW_METRICS_H
#define VHSW_METRICS_H

#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

struct vhsw;
struct metrics;

#define METRICS_MAX_CONNS 16
#define METRICS_MAX_PER_IP 8
#define METRICS_TIMEOUT_S 10
#define METRICS_MEMORY_LIMIT (32 * 1024)

/*
 * Parses "ADDR:PORT" (IPv4, [IPv6] or a host name such as localhost;
 * PORT 1-65535) into 'sa'.  0, or -1 with a message in 'err'.
 */
int metrics_parse_listen(const char *s, struct sockaddr_storage *sa,
	socklen_t *salen, char *err, size_t errlen);

/*
 * Listens on 'listen' ("ADDR:PORT") and serves /metrics from 'sw' on its
 * loop.  NULL with a message in 'err'.
 */
struct metrics *metrics_start(
	struct vhsw *sw, const char *listen, char *err, size_t errlen);
void metrics_stop(struct metrics *m);

/* Writes the exposition of 'sw' to 'f'.  0 or -1 (write error). */
int metrics_write(struct vhsw *sw, FILE *f);

#endif /* VHSW_METRICS_H */
