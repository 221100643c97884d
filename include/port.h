/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * port.h - the one port abstraction the forwarding core sees.
 *
 * Every kind of switch port (vhost-user, uplink ethdev, kernel exception
 * path, and the fake ports of the unit tests) is a struct port with an ops
 * table.  The forwarding core (fwd.h) and the data-plane loop (dp.h) only
 * ever call port->ops; they never know which kind of port they drive.
 *
 * Ports are numbered by a small id (0 .. VHSW_MAX_PORTS-1) that doubles as
 * the FDB's port number.  The control thread owns port structs: it creates
 * them, publishes them in a struct port_table (RCU), and frees them only
 * after an RCU grace period once they are unpublished.
 *
 * Thread-safety:
 *  - ops->rx_burst is called by the data-plane thread the queue is
 *    assigned to (never by two threads at once for one queue); tx_burst by
 *    any data-plane thread, concurrently (see port_ops).
 *  - 'ready' is written by whoever learns the peer's state (the vhost event
 *    thread or the control thread) and read lock-free by the data plane;
 *    anything that tears down what rx/tx_burst touch must clear 'ready' and
 *    wait for an RCU grace period first.
 *  - 'stats' are written by the data plane only, one block per data-plane
 *    thread (single writer each, naturally aligned 64-bit words), and read
 *    and summed by the control thread without locks (port_stats_read);
 *    "clearing" keeps a control-side baseline instead of writing them.
 *  - Everything else is owned by the control thread and immutable while the
 *    port is published, except where a field says otherwise.  To change
 *    'vlan' or 'mtu' at run time the control thread unpublishes the port
 *    (vhsw_port_reconfigure), changes them and publishes it again.
 */
#ifndef VHSW_PORT_H
#define VHSW_PORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_per_lcore.h>

#include "counters.h"

struct rte_mbuf;
struct port;
struct port_monitor;
struct port_policy;
typedef struct json_t json_t;

#define VHSW_MAX_PORTS 256
/* Data-plane threads (--lcores: every CPU after the first). */
#define VHSW_MAX_DP_THREADS 32
/* Receive queues of one port the data plane polls (max_rxq's bound). */
#define PORT_MAX_RXQ 16
#define PORT_RXQ_UNPINNED 0 /* rxq_pin[]: assigned by load */
#define VHSW_PORT_NONE UINT16_MAX
#define VHSW_NAME_MAX 32 /* including NUL */
#define VHSW_BURST 32
#define PORT_DEFAULT_MTU 1500
#define PORT_MIN_MTU 68
#define PORT_MAX_MTU 9710 /* largest frame librte_vhost handles: 9728 */

/*
 * Per-port counters, in the switch's view: rx = received from the port's
 * peer, tx = sent to it.  X(P, name, description) (counters.h) generates
 * the enum, the struct and the names and descriptions `vhswctl stats`
 * shows.
 */
#define PORT_STATS(X, P)                                                      \
	X(P, rx_packets, "frames received from the peer")                     \
	X(P, rx_bytes, "bytes received from the peer")                        \
	X(P, tx_packets, "frames sent to the peer")                           \
	X(P, tx_bytes, "bytes sent to the peer")                              \
	X(P, rx_dropped,                                                      \
		"received frames dropped: the sum of the rx_ reasons below")  \
	X(P, tx_dropped,                                                      \
		"frames for this port dropped: the sum of the tx_ reasons "   \
		"below")                                                      \
	X(P, flooded,                                                         \
		"received frames flooded (broadcast, multicast, unknown)")    \
	X(P, rx_runts, "received frames shorter than 14 bytes")               \
	X(P, rx_bad_vlan, "tagged frames received on an access port")         \
	X(P, rx_no_dest,                                                      \
		"received frames whose destination MAC is learned on this "   \
		"same port (not sent back to it)")                            \
	X(P, tx_oversize, "frames larger than the port MTU, not sent")        \
	X(P, tx_full,                                                         \
		"frames not sent: the peer's receive ring stayed full after " \
		"the retries (the peer does not keep up)")                    \
	X(P, tx_down,                                                         \
		"frames not sent: the port was not ready (no peer, peer "     \
		"gone, or its queues not enabled)")                           \
	X(P, tx_no_mbuf,                                                      \
		"frames not sent: no packet buffer (or headroom) for the "    \
		"copy a VLAN tag push or pop needs")                          \
	X(P, rx_spoofed_mac, "received frames from a source MAC not allowed") \
	X(P, rx_spoofed_arp,                                                  \
		"ARP packets claiming a MAC or IPv4 address not allowed")     \
	X(P, rx_spoofed_nd,                                                   \
		"neighbour solicitations or advertisements claiming an "      \
		"address not allowed")                                        \
	X(P, rx_dhcp_server, "DHCP or DHCPv6 server messages dropped")        \
	X(P, rx_mac_limit,                                                    \
		"received frames from new MACs dropped at max_macs")          \
	X(P, rx_storm_bcast, "broadcast frames over storm_limit_pps dropped") \
	X(P, rx_storm_mcast, "multicast frames over storm_limit_pps dropped") \
	X(P, rx_storm_unknown,                                                \
		"unknown unicast frames over storm_limit_pps dropped")        \
	X(P, rx_policed, "received frames over rate_limit dropped")           \
	X(P, rx_isolated, "frames from one isolated port to another dropped")

/* clang-format off */
enum port_stat_id {
	PORT_STATS(COUNTER_ENUM, PORT_STAT_)
	PORT_STAT_COUNT
};
/* clang-format on */

/* p->stats.rx_packets is p->stats.c[PORT_STAT_rx_packets]. */
struct port_stats {
	COUNTERS_UNION(PORT_STATS, PORT_STAT_COUNT);
} __rte_cache_aligned;

struct port_ops {
	/*
	 * Receive up to 'n' frames from the peer on queue 'q'.  Returns the
	 * number received; the caller owns them.
	 */
	uint16_t (*rx_burst)(
		struct port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n);
	/*
	 * Send up to 'n' frames to the peer.  Returns the number accepted, k;
	 * the port owns (and eventually frees) those, the caller keeps the
	 * rest.  On return pkts[0..k) are the accepted frames and pkts[k..n)
	 * the others, each part in the order the frames had (a port that
	 * spreads frames over several queues may regroup them, but never
	 * reorders two frames of one flow).
	 *
	 * Called by every data-plane thread, at the same time for one port:
	 * the kind makes that safe (a queue per thread, port_dp_thread(), or
	 * a lock per queue where threads outnumber queues).
	 */
	uint16_t (*tx_burst)(
		struct port *p, struct rte_mbuf **pkts, uint16_t n);
	/*
	 * Number of receive queues the data plane should poll now: queues
	 * [0, n_rxq) of those max_rxq counts.  Any thread.
	 */
	uint16_t (*n_rxq)(const struct port *p);
	/*
	 * The receive queues the port can ever have while it exists (a
	 * vhost-user port's configured queue pairs): every one of them is
	 * assigned to a data-plane thread, which polls it while it is below
	 * n_rxq.  Control thread.
	 */
	uint16_t (*max_rxq)(const struct port *p);
	/*
	 * Optional, for adaptive polling, per receive queue 'q' (< n_rxq):
	 * 'arm' makes the peer signal new frames on that queue on an fd it
	 * adds to the epoll set 'epfd' (edge-triggered, data.fd = the fd; the
	 * caller never reads it and closes the set after one sleep); '!arm'
	 * stops the signals ('epfd' unused).  0, or -ENOTSUP when the port
	 * has no such signal (the loop then wakes on a timer).  Called by the
	 * thread that polls 'q': two threads may arm different queues of one
	 * port at once.
	 */
	int (*intr_arm)(struct port *p, uint16_t q, int epfd, bool arm);
	/*
	 * Optional: the NUMA node of the port's memory (a vhost-user peer's
	 * rings, an ethdev's device), or -1 when unknown.  The assignment
	 * puts the port's queues on threads of that node when there are
	 * any.  Control thread.
	 */
	int (*numa_node)(const struct port *p);
};

/*
 * What a port kind gets to create a port besides its own parameters: the
 * keys every kind shares, checked by the caller.
 */
struct port_conf {
	const char *name;
	uint16_t vlan;
	uint32_t mtu; /* 0: not given (the kind's default) */
	bool has_mac;
	struct rte_ether_addr mac;
	/*
	 * The switch's policy for socket paths (paths.h); a kind that serves
	 * or connects to a socket calls it first.  0, or -errno with a
	 * message in 'err'.
	 */
	int (*check_socket)(
		const void *policy, const char *path, char *err, size_t errlen);
	const void *policy;
};

/*
 * A port kind (vhost-user, kernel, uplink), as OVS's netdev_class: it owns
 * everything about its ports on the control side, from its parameters to
 * its saved form, and is found by its type name in one registry
 * (port_class_register/port_class_find).  The switch knows no kind by
 * name.  Control thread only.
 */
struct port_class {
	const char *type; /* "vhost-user", ... */
	/*
	 * The kind has one port, of this name (the uplink), made by its own
	 * command ("<fixed_name>/add") and saved under its own key of the
	 * configuration; NULL: `port add NAME TYPE` makes the kind's ports,
	 * saved in "ports".
	 */
	const char *fixed_name;
	/*
	 * Creates a port from 'conf' and the kind's own keys in 'params'
	 * (their JSON types are already checked against the command table,
	 * ctl.h).  NULL with a message in 'err', which the caller prefixes
	 * with the port's name.
	 */
	struct port *(*create)(const struct port_conf *conf, json_t *params,
		char *err, size_t errlen);
	/*
	 * Brings the port's control-side view up to date with events its peer
	 * caused.  Returns true if the port went down since the last call.
	 */
	bool (*sync)(struct port *p);
	/* Adds kind-specific fields to a `port show` object. */
	void (*describe)(const struct port *p, json_t *obj, bool detail);
	/*
	 * Optional: the peer's per-queue counters now, an array of objects
	 * {"vring": N, "queue": N, "direction": "rx"|"tx", NAME: count...}
	 * (rx = received from the peer), or NULL when there are none (no
	 * peer, or the kind keeps none).  For `port show`, telemetry and
	 * /metrics.
	 */
	json_t *(*queue_stats)(const struct port *p);
	/* Optional: the result of the kind's own show command (`uplink show`,
	 * a new object); the caller adds "stats". */
	json_t *(*show)(const struct port *p);
	/*
	 * Adds the kind's own keys to a saved port object: what create()
	 * takes back to make the same port.
	 */
	void (*save)(const struct port *p, json_t *obj);
	/*
	 * Optional: the port is being removed for good (`port del`), not
	 * closed with the switch; destroy() follows.  What outlives the
	 * switch on purpose (a kernel port's persistent interface) goes then.
	 */
	void (*remove)(struct port *p);
	/* Frees the port; it is unpublished and past a grace period. */
	void (*destroy)(struct port *p);
	/*
	 * Optional: applies a new MTU to the device (`port set --mtu`) while
	 * the port is unpublished; the caller then sets p->mtu.  0, or -1
	 * with a message in 'err'.  Without it only p->mtu changes.
	 */
	int (*set_mtu)(struct port *p, uint32_t mtu, char *err, size_t errlen);
};

struct port {
	/* Read by the data plane. */
	const struct port_ops *ops;
	void *priv;     /* the port kind's own state */
	uint16_t id;    /* slot in the port table and FDB port number */
	uint16_t vlan;  /* 0: trunk (untagged + all tags); else access */
	uint32_t mtu;   /* largest L3 payload sent to the peer */
	uint32_t ready; /* peer connected and queues usable (atomic) */
	/* Tenant controls (policy.h), or NULL: RCU-protected, replaced by
	 * the control thread (vhsw_port_set_policy). */
	struct port_policy *policy;
	/* Captures and mirrors watching the port (monitor.h), or NULL:
	 * RCU-protected, replaced by the control thread
	 * (vhsw_port_update_monitor). */
	struct port_monitor *monitor;

	/* Written by the data plane only: one block per data-plane thread
	 * (port_dp_thread()), each with a single writer; readers sum them. */
	struct port_stats stats[VHSW_MAX_DP_THREADS];

	/*
	 * Load of each receive queue: TSC cycles spent receiving and
	 * forwarding its bursts, and its frames.  Written by the one thread
	 * polling the queue (relaxed atomic stores; a queue moves to another
	 * thread only across grace periods), read by the control thread for
	 * the assignment (dp.h) and `dataplane show`.
	 */
	struct port_rxq_load {
		uint64_t cycles;
		uint64_t packets;
	} rxq_load[PORT_MAX_RXQ];

	/* Control thread only. */
	struct port_stats stats_base; /* values at the last `stats --clear` */
	/* `port set --rxq-affinity`: 1 + the CPU each receive queue is
	 * pinned to, or PORT_RXQ_UNPINNED (0: assigned by load). */
	uint16_t rxq_pin[PORT_MAX_RXQ];
	const struct port_class *cls;
	char name[VHSW_NAME_MAX];
	bool has_mac; /* the peer's MAC, installed as a static FDB entry */
	struct rte_ether_addr mac;
	/* `port set --admin down`: kept out of the published table. */
	bool admin_down;
	/* Out of the published table while vlan or mtu change. */
	bool hidden;
	/* A mirror's destination (mirror.h): in the published table's
	 * by_id[] only, so it is neither polled nor flooded to. */
	bool output_only;
};

/*
 * The data-plane thread the caller runs on, 0 .. port_dp_threads() - 1
 * (0 on any other thread).  For port kinds that keep a transmit queue per
 * thread.
 */
RTE_DECLARE_PER_LCORE(uint16_t, port_dp_thread_idx);

static inline uint16_t
port_dp_thread(void)
{
	return RTE_PER_LCORE(port_dp_thread_idx);
}

/*
 * How many data-plane threads run (1 .. VHSW_MAX_DP_THREADS): set once at
 * start, before any port is created (port_set_dp_threads), so a kind can
 * size its transmit queues.  Any thread.
 */
uint16_t port_dp_threads(void);
void port_set_dp_threads(uint16_t n);
/* The data-plane loop: marks its thread as data-plane thread 'idx'. */
void port_set_dp_thread(uint16_t idx);

static inline bool
port_is_ready(const struct port *p)
{
	return __atomic_load_n(&p->ready, __ATOMIC_ACQUIRE) != 0;
}

static inline void
port_set_ready(struct port *p, bool ready)
{
	__atomic_store_n(&p->ready, ready ? 1 : 0, __ATOMIC_RELEASE);
}

/*
 * The set of ports the data plane polls and forwards to.  Immutable once
 * published; the control thread publishes the spare one and reuses the old
 * one after an RCU grace period (see dp.h).
 */
struct port_table {
	struct port *by_id[VHSW_MAX_PORTS]; /* NULL where no port */
	uint16_t n;                         /* entries used in 'ids' */
	/* The ports polled and flooded to, in order: all of by_id[] but
	 * output-only ones (mirror destinations). */
	uint16_t ids[VHSW_MAX_PORTS];
};

/*
 * The receive queues of 'p' that are assigned to data-plane threads: its
 * max_rxq (or n_rxq), 1 .. PORT_MAX_RXQ.  Control thread.
 */
static inline uint16_t
port_rxq_bound(const struct port *p)
{
	uint16_t n =
		p->ops->max_rxq != NULL ? p->ops->max_rxq(p) : p->ops->n_rxq(p);

	return RTE_MIN(RTE_MAX(n, (uint16_t)1), (uint16_t)PORT_MAX_RXQ);
}

/* "52:54:00:00:00:01": lower case, as `ip link` prints MACs. */
static inline void
port_mac_format(char *buf, size_t len, const struct rte_ether_addr *a)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", a->addr_bytes[0],
		a->addr_bytes[1], a->addr_bytes[2], a->addr_bytes[3],
		a->addr_bytes[4], a->addr_bytes[5]);
}

/* Counters as the user sees them: since the last clear.  Control thread. */
void port_stats_read(const struct port *p, struct port_stats *out);
void port_stats_clear(struct port *p);

/*
 * Sets the shared keys of a new port from 'conf' (name, VLAN, MTU, or
 * 'def_mtu' when not given, MAC).  For the kinds' create().
 */
void port_set_conf(
	struct port *p, const struct port_conf *conf, uint32_t def_mtu);

/*
 * The registry of port kinds.  Each kind's module registers its classes
 * when it is initialised (vport_init, ethport_init).  0, -EEXIST (another
 * class of that type) or -ENOSPC.  Control thread.
 */
int port_class_register(const struct port_class *cls);
/* The class of 'type', or NULL. */
const struct port_class *port_class_find(const char *type);
/* The i-th registered class, or NULL past the last one. */
const struct port_class *port_class_get(int i);

#endif /* VHSW_PORT_H */
