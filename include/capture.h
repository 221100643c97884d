/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * capture.h - packet capture sessions (`vhswctl capture`).
 *
 * A session watches one port in one or both directions (monitor.h).  The
 * data plane (capture_burst, switch/dataplane/capture.c) runs the
 * session's filter on each frame (a tcpdump expression compiled by
 * libpcap's pcap_compile, converted to eBPF by librte_bpf and run by its
 * JIT or interpreter), copies the frames that match with rte_pcapng_copy
 * (a pcapng Enhanced Packet Block around at most 'copy_len' bytes, from
 * the session's own mempool) and puts them on the session's ring.  A
 * frame that cannot be copied at once (pool or ring full) is counted as
 * dropped, never waited for: forwarding never slows down for a capture.
 *
 * The control side (switch/control/capture_ctl.c) owns the sessions: the
 * `capture`, `capture/list` and `capture/stop` actions, one writer thread
 * per session that empties the ring into the pipe vhswctl passed with its
 * request (fd passing, rpc.h), and publication through the port's
 * monitor.  vhswd never opens a user's path.
 *
 * Thread-safety: capture_burst() runs on the data-plane thread(s) inside
 * their RCU read-side section; several may call it on one session at once
 * (multi-producer ring, atomic counters).  A session's read-only part is
 * set before it is published and freed only after it is unpublished and a
 * grace period passed.  Everything else here is control thread only.
 */
#ifndef VHSW_CAPTURE_H
#define VHSW_CAPTURE_H

#include <stdint.h>

#include <jansson.h>
#include <rte_common.h>
#include <rte_spinlock.h>

struct port;
struct port_monitor;
struct rte_bpf;
struct rte_mbuf;
struct rte_mempool;
struct rte_ring;
struct vhsw;
struct act_err;

#define CAPTURE_MAX_SESSIONS 16 /* running at once, all ports */
#define CAPTURE_MAX_FILTER 1024 /* bytes of a filter expression */
#define CAPTURE_MAX_INSNS 4096  /* instructions of a compiled filter */
#define CAPTURE_MIN_SNAPLEN 64
#define CAPTURE_MAX_SNAPLEN 262144 /* tcpdump's */
#define CAPTURE_RING 2048          /* frames between data plane and writer */

/* What the data plane sees of a session. */
struct capture {
	/* Set before publication, then read-only. */
	struct rte_bpf *bpf;     /* NULL: every frame */
	uint64_t (*jit)(void *); /* bpf's JIT code, or NULL: interpret */
	struct rte_mempool *mp;  /* the copies */
	struct rte_ring *ring;   /* to the writer (multi-producer) */
	uint32_t copy_len;       /* bytes kept of a frame */
	/* Set by the writer when it no longer takes frames. */
	uint32_t closed;
	/* Counters: atomic adds by the data planes, one per burst each. */
	uint64_t seen __rte_cache_aligned; /* offered to the filter */
	uint64_t matched; /* accepted by the filter (every frame without) */
	uint64_t dropped; /* accepted but not copied: pool or ring full */
};

/*
 * Offers the burst 'pkts' of port 'p', seen in direction 'dir'
 * (MONITOR_RX or MONITOR_TX) on queue 'q', to session 'c'.  The frames
 * stay the caller's.
 */
/*
 * Serialises rte_pcapng_copy() between threads (librte_pcapng 22.11's
 * clock base is not thread-safe; see capture.c).
 */
extern rte_spinlock_t capture_copy_lock;

void capture_burst(struct capture *c, const struct port *p, uint16_t q,
	struct rte_mbuf **pkts, uint16_t n, uint8_t dir);

/*
 * The control side (switch/control/capture_ctl.c), control thread only.
 */
/* Adds the sessions watching 'p' to the monitor being built for it
 * (vhsw_port_update_monitor). */
void capture_fill_monitor(
	struct vhsw *sw, const struct port *p, struct port_monitor *mon);
/* Port 'p' is going (already unpublished): its sessions end ("port
 * deleted"); their writers finish the files. */
void capture_port_gone(struct vhsw *sw, const struct port *p);
/* vhswd stops: every session ends, its file complete; waits for the
 * writers (each gives up on a reader stuck for more than ~1 s). */
void capture_fini(struct vhsw *sw);

/*
 * Compiles the tcpdump expression 'expr' (pcap_compile, for Ethernet
 * frames of 'snaplen' bytes), checks that every load of the program stays
 * at offsets librte_bpf checks correctly, converts it (rte_bpf_convert,
 * with its indexed loads mended) and loads it into c->bpf (and c->jit when
 * librte_bpf has a JIT).  0; -EINVAL for an expression to refuse, another
 * -errno for a failure of vhswd; 'err' says which and why.
 */
int capture_filter_compile(struct capture *c, const char *expr,
	uint32_t snaplen, char *err, size_t errlen);

/* The actions of `capture`, `capture/list`, `capture/stop` (ctl.h). */
json_t *act_capture(struct vhsw *sw, json_t *params, struct act_err *e);
json_t *act_capture_list(struct vhsw *sw, json_t *params, struct act_err *e);
json_t *act_capture_stop(struct vhsw *sw, json_t *params, struct act_err *e);

#endif /* VHSW_CAPTURE_H */
