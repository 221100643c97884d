/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vport.c - vhost-user ports (see vport.h for the design and threads).
 *
 * Each vport sits in a small registry (socket path -> vport) that the
 * librte_vhost callbacks search by rte_vhost_get_ifname(vid).  One mutex,
 * vport_lock, protects the registry and the fields the callbacks write; the
 * data plane never takes it.  The control thread holds it while it reads the
 * device (mem table, vrings), so destroy_device waits for that read to end
 * before librte_vhost frees the device.  The vring counters are read
 * without it (vring_stats: librte_vhost's lock order would deadlock);
 * 'stats_readers' keeps the device alive for them instead.
 *
 * Several data-plane threads use one vport at once (port.h): each receive
 * queue q is polled by one thread, which also quiets and arms the vrings
 * of queue pair q (2q and 2q + 1) and nothing else, so no two threads
 * ever set the notifications of one vring; any thread sends (tx_burst),
 * librte_vhost serialising the threads that enqueue to one vring (see
 * vport_tx_burst).  What the data plane writes in the port is either per
 * queue (quiet_gen[q], its poller only) or per thread (dp[t], thread t
 * only): no shared word is written on the data path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <pwd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <linux/userfaultfd.h>

#include <jansson.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_vhost.h>

#include "flow_hash.h"
#include "vfault.h"
#include "vguard.h"
#include "virtio_names.h"
#include "vlog.h"
#include "vport.h"

RTE_LOG_REGISTER(vport_logtype, vhsw.vhost, INFO);
#define VPORT_PREFIX "vhswd: vhost: "
#define VLOG(level, fmt, ...)                                          \
	rte_log(RTE_LOG_##level, vport_logtype, VPORT_PREFIX fmt "\n", \
		##__VA_ARGS__)
/* A line a peer can cause: through the port's rate limit. */
#define PLOG(v, level, fmt, ...)                                  \
	vlog_rl_log(&(v)->log_rl, vport_logtype, RTE_LOG_##level, \
		VPORT_PREFIX, "port %s: " fmt, (v)->port.name, ##__VA_ARGS__)

/*
 * A peer may send this many messages in a burst, and this many a second
 * after that (a QEMU guest with 16 queue pairs sends ~250 to start; IOTLB
 * updates under a vIOMMU come in thousands).  More is a flood: the peer is
 * disconnected.
 */
#define VPORT_MSG_BURST 8192ULL
#define VPORT_MSG_RATE 8192ULL
/*
 * The event lines a port's peers cause (connected, reset, disconnected,
 * refused): 20 at once, then one a second; a peer that reconnects in a
 * loop cannot fill the disk.
 */
#define VPORT_LOG_BURST 20
#define VPORT_LOG_INTERVAL_MS 1000

/*
 * Postcopy (a --postcopy port that is a migration destination): after a
 * memory table, librte_vhost replies with its mapping addresses and reads
 * QEMU's acknowledgement at once, on the connection socket that vhswd keeps
 * non-blocking.  For that one exchange the socket blocks, for at most this
 * long each way (the vhost-events thread waits meanwhile).
 */
#define VPORT_POSTCOPY_ACK_MS 2000
/*
 * A thread of the switch that waits this long in one fault on a postcopy
 * peer's memory (wchan handle_userfault, no context switch meanwhile) is
 * freed: the switch unregisters that peer's memory from the userfaultfd
 * (the thread then reads zeros where the page was missing) and drops it.
 * The destination QEMU resolves a fault in milliseconds; one that does not
 * within seconds has lost its source or died, or never meant to.
 */
#define VPORT_POSTCOPY_STALL_S 5

#define VPORT_MAX_REGIONS 8
#define VPORT_MAX_VRINGS (2 * VPORT_MAX_QUEUES)
#define VPORT_MAX_VRING_STATS 64 /* librte_vhost 22.11 has 18 per vring */

/* Offloads the switch does not perform end to end (see vport.h). */
#define VPORT_UNSUPPORTED_FEATURES                                             \
	((1ULL << VIRTIO_NET_F_HOST_TSO4) | (1ULL << VIRTIO_NET_F_HOST_TSO6) | \
		(1ULL << VIRTIO_NET_F_HOST_ECN) |                              \
		(1ULL << VIRTIO_NET_F_HOST_UFO) |                              \
		(1ULL << VIRTIO_NET_F_CSUM) |                                  \
		(1ULL << VIRTIO_NET_F_GUEST_CSUM) |                            \
		(1ULL << VIRTIO_NET_F_GUEST_TSO4) |                            \
		(1ULL << VIRTIO_NET_F_GUEST_TSO6) |                            \
		(1ULL << VIRTIO_NET_F_GUEST_ECN) |                             \
		(1ULL << VIRTIO_NET_F_GUEST_UFO))

/* Why the control thread must drop a peer ('faulted'). */
enum {
	VPORT_DROP_NONE,
	VPORT_DROP_FAULT,       /* its memory raised SIGBUS */
	VPORT_DROP_STALL,       /* one of its fds blocked the data plane */
	VPORT_DROP_SLAVE_FULL,  /* it does not read the slave channel */
	VPORT_DROP_SLAVE_STALL, /* ... which then blocked the data plane */
	VPORT_DROP_POSTCOPY,    /* a fault in its memory was never resolved */
};

/*
 * A peer whose slave (back-end) channel holds half a send buffer of
 * messages it has not read, at every look (vport_sync, at least 1 Hz) for
 * this long, is dropped.  An IOTLB miss request is 44 bytes (about 1 KiB
 * of buffer with its overhead); QEMU answers each at once.
 */
#define VPORT_SLAVE_FULL_MS 1000

enum {
	VEV_NEW = 1u << 0,
	VEV_DESTROY = 1u << 1,
	VEV_VRING = 1u << 2,
};

struct vport_region {
	uint64_t guest_phys_addr;
	uint64_t size;
	uint64_t userspace_addr; /* the peer's virtual address */
	uint64_t host_addr;      /* where the switch mapped it */
	uint64_t mmap_offset;
};

struct vport_vring {
	uint16_t size;
	int kickfd;
	int callfd;
	bool enabled;
};

/*
 * A data-plane thread's own part of a vport, written by that thread only,
 * read by the vhost-events thread (vport_wait_dp).
 */
struct vport_dp {
	/*
	 * Nesting depth of the thread's calls into librte_vhost that take a
	 * vring's access lock with a spinning rte_spinlock_lock (enqueue,
	 * rte_vhost_enable_guest_notification; dequeue only tries it).  A
	 * word per thread, not one shared counter: the TX path marks every
	 * burst, and an atomic add on a line all threads write would cost a
	 * cache-line transfer per burst between the threads.
	 */
	uint32_t in_vhost;
} __rte_cache_aligned;

/*
 * The peer's enabled receive queues (even vrings) as one 64-bit word, so
 * that the data plane reads a consistent set with one atomic load while
 * librte_vhost's callback changes it: bits 0-3 hold their count minus
 * one, nibble i + 1 (bits 4i + 4 .. 4i + 7) the i-th enabled queue for
 * i < 15; the 16th, present only when all 16 are enabled, is queue 15.
 * No queue enabled encodes as queue 0 alone: librte_vhost's enqueue
 * checks vq->enabled under the vring's lock and takes nothing then.
 */
#define VPORT_TXMAP_COUNT(map) ((uint32_t)((map)&0xf) + 1)
_Static_assert(VPORT_MAX_QUEUES <= 16, "txmap holds 16 queues of 4 bits");

/* The i-th queue of 'map' (i < VPORT_TXMAP_COUNT(map)). */
static inline uint16_t
vport_txmap_queue(uint64_t map, uint32_t i)
{
	return i < 15 ? (uint16_t)((map >> (4 * i + 4)) & 0xf) : 15;
}

/* What a port's peer did towards a live migration (under vport_lock). */
struct vport_migration {
	bool logging; /* VHOST_F_LOG_ALL negotiated now */
	bool left;    /* the device stopped while logging: the guest left */
	uint64_t log_size;       /* bytes of the shared dirty log, 0: none */
	uint64_t log_on_ns;      /* when logging last turned on */
	uint64_t log_ms;         /* how long the last logging lasted */
	uint64_t log_sessions;   /* times logging turned on */
	uint64_t announces;      /* SEND_RARP requests */
	uint8_t announce_mac[6]; /* the MAC of the last one */
};

struct vport {
	struct port port; /* first: a struct port * is a struct vport * */

	/* Set at creation, read-only afterwards. */
	char socket[VPORT_SOCKET_MAX + 1];
	bool client;
	uint16_t queues;
	bool set_owner;
	uid_t uid;
	gid_t gid;
	mode_t perm;
	bool registered;
	bool queue_stats; /* librte_vhost counts per vring */
	bool iommu;       /* RTE_VHOST_USER_IOMMU_SUPPORT */
	bool postcopy;    /* RTE_VHOST_USER_POSTCOPY_SUPPORT */

	/* Read by the data plane once 'ready' is set; written before. */
	int vid;
	uint16_t nr_qp;     /* atomic: the control thread updates it while
			     * the port is ready (vport_sync) */
	uint32_t ready_gen; /* atomic; bumped each time the control thread
			     * (re)reads a running device */
	/*
	 * The peer's enabled receive queues, which frames to it are spread
	 * over (VPORT_TXMAP_*): rebuilt by the vhost-events thread under
	 * vport_lock, read by any data-plane thread with one atomic load.
	 */
	uint64_t txmap;

	/*
	 * Per receive queue, written only by the thread that polls it: the
	 * ready_gen whose vrings of that queue pair it last quieted.  Atomic
	 * (relaxed) because a queue may move to another thread.
	 */
	uint32_t quiet_gen[VPORT_MAX_QUEUES];

	/* Under vport_lock. */
	uint32_t stats_readers; /* control thread in vring_stats (no lock) */
	bool alive;             /* librte_vhost reports the device running */
	bool connected;         /* a peer holds the socket */
	uint32_t pending;       /* VEV_* not yet seen by the control thread */
	uint32_t vring_enabled[VPORT_MAX_VRINGS];

	/* Control thread: snapshot for `port show`. */
	uint64_t features;
	uint32_t n_regions;
	struct vport_region regions[VPORT_MAX_REGIONS];
	uint16_t n_vrings;
	struct vport_vring vrings[VPORT_MAX_VRINGS];
	uint16_t peer_mtu;
	uint64_t resets; /* times the device stopped (peer gone or reset) */

	/* The peer's connection, under vport_lock (vhost-events thread). */
	int conn_fd; /* our dup of librte_vhost's socket; -1: none */
	struct vguard_conn guard;
	uint64_t msg_tokens;
	uint64_t msg_last_ns;
	uint64_t disconnects; /* peers this port lost */
	uint64_t refused;     /* connections refused (socket in use) */
	uint64_t violations;  /* peers dropped for breaking the rules */
	char last_error[256]; /* why the last peer was refused or dropped */
	bool blamed;          /* last_error is about the current peer */
	bool ran; /* the device ran during this connection (reset if again) */
	struct vlog_rl log_rl; /* PLOG */
	/*
	 * Live migration as the peer drives it (docs/qemu.md): a source QEMU
	 * turns dirty-page logging on (SET_LOG_BASE, then SET_FEATURES with
	 * VHOST_F_LOG_ALL) and stops the device for the last pass; a
	 * destination QEMU asks for a RARP announcement (SEND_RARP) when its
	 * guest cannot announce itself.
	 */
	struct vport_migration mig;
	/*
	 * The slave channel (SET_SLAVE_REQ_FD), on which librte_vhost's
	 * data-plane calls send IOTLB miss requests: our duplicate (to
	 * watch and shut it down), librte_vhost's fd number (the stall
	 * watch), and since when it has been found full (vport_sync; 0:
	 * not full).
	 */
	int slave_fd;
	int slave_req_fd;
	uint64_t slave_full_ns;
	bool conn_blocking; /* conn_fd blocks for a postcopy memory table */
	/*
	 * Postcopy, from POSTCOPY_ADVISE to POSTCOPY_END or the end of the
	 * connection: our dup of the userfaultfd librte_vhost gave the peer,
	 * and the mappings registered with it (for postcopy_watch).
	 */
	int uffd;
	uint32_t pc_n; /* mappings librte_vhost made */
	struct uffdio_range pc_map[VPORT_MAX_REGIONS]; /* and registered */

	/* Written in signal context (vfault hook) or by the stall watch:
	 * atomics only. */
	uint32_t faulted; /* VPORT_DROP_*: drop the peer */
	int stall_fd;
	uint32_t fault_tag;
	uint64_t fault_offset;
	uint64_t mem_faults;

	/* Per data-plane thread (port_dp_thread()), each its own line. */
	struct vport_dp dp[VHSW_MAX_DP_THREADS];
};

static pthread_mutex_t vport_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t vport_readers_done = PTHREAD_COND_INITIALIZER;
static struct vport *registry[VHSW_MAX_PORTS];
static struct rte_mempool *vport_pool;
static bool (*vport_grace)(void *, unsigned int); /* RCU grace period */
static void *vport_grace_arg;
static void (*vport_notify)(void *);
static void *vport_notify_arg;

static const struct port_class vport_class;

struct vport_params {
	const char *name;
	const char *socket;
	bool client;     /* connect to 'socket' instead of listening */
	uint16_t queues; /* queue pairs offered (1 = no multiqueue) */
	bool set_owner;
	uid_t uid;
	gid_t gid;        /* (gid_t)-1: unchanged */
	mode_t perm;      /* 0: leave as created */
	bool queue_stats; /* RTE_VHOST_USER_NET_STATS_ENABLE */
	bool iommu;       /* RTE_VHOST_USER_IOMMU_SUPPORT */
	bool postcopy;    /* RTE_VHOST_USER_POSTCOPY_SUPPORT */
};

/* Data plane. */

/*
 * Thread 't' enters or leaves a librte_vhost call that may spin on a vring
 * lock (struct vport_dp).  Single writer: a plain increment published with
 * a relaxed store; the waiter only needs to see it within its one-second
 * patience, and it polls every 10 ms.
 */
static inline void
vport_dp_enter(struct vport_dp *dp)
{
	__atomic_store_n(&dp->in_vhost, dp->in_vhost + 1, __ATOMIC_RELAXED);
}

static inline void
vport_dp_leave(struct vport_dp *dp)
{
	__atomic_store_n(&dp->in_vhost, dp->in_vhost - 1, __ATOMIC_RELAXED);
}

/*
 * Turns guest notifications off on the vrings of queue pair 'q': the data
 * plane polls, and a peer asked to kick makes a system call per burst.
 * The thread polling queue 0 also quiets any vring past the last pair.
 * librte_vhost keeps the setting for vrings that are not ready yet.  Only
 * the thread that polls 'q' calls this, so no other thread toggles these
 * vrings meanwhile (an arm of queue 1 cannot be undone by queue 0's
 * quieting, as it could when one thread quieted every vring).
 */
static void
vport_quiet(struct vport *v, uint16_t q, uint32_t gen)
{
	struct vport_dp *dp = &v->dp[port_dp_thread()];
	uint16_t i, n;

	vport_dp_enter(dp);
	rte_vhost_enable_guest_notification(v->vid, (uint16_t)(2 * q), 0);
	rte_vhost_enable_guest_notification(v->vid, (uint16_t)(2 * q + 1), 0);
	if (q == 0) {
		n = (uint16_t)RTE_MIN(
			rte_vhost_get_vring_num(v->vid), VPORT_MAX_VRINGS);
		i = (uint16_t)(2 *
			__atomic_load_n(&v->nr_qp, __ATOMIC_RELAXED));
		for (; i < n; i++)
			rte_vhost_enable_guest_notification(v->vid, i, 0);
	}
	vport_dp_leave(dp);
	__atomic_store_n(&v->quiet_gen[q], gen, __ATOMIC_RELAXED);
}

/* vport_quiet() once per device the control thread (re)read. */
static inline void
vport_quiet_new(struct vport *v, uint16_t q)
{
	uint32_t gen = __atomic_load_n(&v->ready_gen, __ATOMIC_ACQUIRE);

	if (unlikely(
		    gen != __atomic_load_n(&v->quiet_gen[q], __ATOMIC_RELAXED)))
		vport_quiet(v, q, gen);
}

static uint16_t
vport_rx_burst(struct port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	struct vport *v = (struct vport *)p;

	if (unlikely(q >= VPORT_MAX_QUEUES))
		return 0;
	vport_quiet_new(v, q);
	/* Odd virtqueues are the peer's TX queues. */
	return rte_vhost_dequeue_burst(v->vid, q * 2 + 1, vport_pool, pkts, n);
}

/* Frames one vport_tx_spread() call sorts (the caller retries the rest). */
#define VPORT_TX_SPREAD_MAX (2 * VHSW_BURST)

/*
 * Sends pkts[0..n) spread over the peer's enabled receive queues in 'map'
 * by flow hash: frames of one flow go to one queue, in their order.
 * Groups the frames by queue (a counting sort, stable), enqueues each
 * group, and leaves the accepted frames of every queue first in pkts and
 * the others after them, each in their order (port.h's contract: a flow's
 * frames are never reordered, since each queue takes a prefix of its
 * group).  Returns the number accepted.
 */
static uint16_t
vport_tx_spread(
	struct vport *v, uint64_t map, struct rte_mbuf **pkts, uint16_t n)
{
	struct rte_mbuf *sorted[VPORT_TX_SPREAD_MAX];
	uint16_t start[VPORT_MAX_QUEUES + 1], sent[VPORT_MAX_QUEUES];
	uint8_t which[VPORT_TX_SPREAD_MAX];
	uint32_t nq = VPORT_TXMAP_COUNT(map), i;
	uint16_t pos[VPORT_MAX_QUEUES], k = 0, r;

	n = RTE_MIN(n, (uint16_t)VPORT_TX_SPREAD_MAX);
	memset(start, 0, sizeof(start));
	for (i = 0; i < n; i++) {
		which[i] = (uint8_t)flow_hash_pick(flow_hash(pkts[i]), nq);
		start[which[i] + 1]++;
	}
	for (i = 0; i < nq; i++) {
		start[i + 1] += start[i];
		pos[i] = start[i];
	}
	for (i = 0; i < n; i++)
		sorted[pos[which[i]]++] = pkts[i];
	for (i = 0; i < nq; i++) {
		sent[i] = 0;
		if (start[i + 1] > start[i])
			sent[i] = rte_vhost_enqueue_burst(v->vid,
				(uint16_t)(2 * vport_txmap_queue(map, i)),
				sorted + start[i],
				(uint16_t)(start[i + 1] - start[i]));
		k = (uint16_t)(k + sent[i]);
	}
	/* Accepted first, then the rest; pkts[n..) stay where they are. */
	for (i = 0, r = 0; i < nq; i++) {
		memcpy(pkts + r, sorted + start[i], sent[i] * sizeof(*pkts));
		r = (uint16_t)(r + sent[i]);
	}
	for (i = 0; i < nq; i++) {
		uint16_t left = (uint16_t)(start[i + 1] - start[i] - sent[i]);

		memcpy(pkts + r, sorted + start[i] + sent[i],
			left * sizeof(*pkts));
		r = (uint16_t)(r + left);
	}
	return k;
}

/*
 * Any data-plane thread, several at once.  Two threads enqueueing to one
 * vring are serialised by librte_vhost itself: in DPDK 22.11
 * rte_vhost_enqueue_burst -> virtio_dev_rx (lib/vhost/virtio_net.c) holds
 * vq->access_lock (rte_spinlock_lock) around the whole copy into the ring
 * and the used-index update, and checks vq->enabled under it.  So the
 * switch keeps no TX lock of its own.  OVS keeps one per txq
 * (netdev_dpdk_vhost_send, tx_q[qid].tx_lock) because its transmit queue
 * ids are its own (XPS: a thread's qid is mapped onto the peer's enabled
 * queues) and older librte_vhost versions did not lock in enqueue; here
 * the vring is chosen per flow, and a second lock around librte_vhost's
 * would only add an atomic per burst.  Two threads on one vring contend
 * on that lock like they would on ours.
 */
static uint16_t
vport_tx_burst(struct port *p, struct rte_mbuf **pkts, uint16_t n)
{
	struct vport *v = (struct vport *)p;
	uint64_t map = __atomic_load_n(&v->txmap, __ATOMIC_RELAXED);
	struct vport_dp *dp = &v->dp[port_dp_thread()];
	uint16_t sent;

	vport_dp_enter(dp);
	/* One enabled queue (the common peer): no hashing at all.  Even
	 * vrings are the peer's RX queues; rte_vhost copies into the
	 * peer's buffers and leaves the mbufs to us. */
	if (likely(VPORT_TXMAP_COUNT(map) == 1))
		sent = rte_vhost_enqueue_burst(v->vid,
			(uint16_t)(2 * vport_txmap_queue(map, 0)), pkts, n);
	else
		sent = vport_tx_spread(v, map, pkts, n);
	vport_dp_leave(dp);
	rte_pktmbuf_free_bulk(pkts, sent);
	return sent;
}

static uint16_t
vport_n_rxq(const struct port *p)
{
	return __atomic_load_n(
		&((const struct vport *)p)->nr_qp, __ATOMIC_RELAXED);
}

/*
 * Adaptive polling, by the thread that polls queue 'q': with 'arm', asks
 * the peer to kick when it adds frames to its TX queue q, drains that
 * queue's kick eventfd and adds it to 'epfd' (edge-triggered, so the
 * caller never reads it); without, turns the notifications off again
 * ('epfd' unused).  Touches only vring 2q + 1, which no other thread
 * toggles.  The kick fd comes fresh from librte_vhost each time: the
 * device cannot be destroyed while the (RCU-online) data plane runs this.
 */
static int
vport_intr_arm(struct port *p, uint16_t q, int epfd, bool arm)
{
	struct vport *v = (struct vport *)p;
	uint16_t vq = (uint16_t)(q * 2 + 1);
	struct rte_vhost_vring vr;
	struct vport_dp *dp;
	struct epoll_event ev;
	struct iovec iov;
	eventfd_t cnt;

	if (q >= VPORT_MAX_QUEUES)
		return -EINVAL;
	vport_quiet_new(v, q); /* then only the TX queue kicks */
	dp = &v->dp[port_dp_thread()];
	vport_dp_enter(dp);
	rte_vhost_enable_guest_notification(v->vid, vq, arm);
	vport_dp_leave(dp);
	if (arm && rte_vhost_get_vhost_vring(v->vid, vq, &vr) == 0 &&
		vr.kickfd >= 0) {
		/*
		 * Kicks counted while we polled would wake the sleep at once.
		 * RWF_NOWAIT: the peer shares the eventfd's file flags and
		 * may have made it blocking; this read never waits.
		 */
		iov.iov_base = &cnt;
		iov.iov_len = sizeof(cnt);
		(void)preadv2(vr.kickfd, &iov, 1, -1, RWF_NOWAIT);
		ev.events = EPOLLIN | EPOLLET;
		ev.data.fd = vr.kickfd;
		epoll_ctl(epfd, EPOLL_CTL_ADD, vr.kickfd, &ev);
	}
	return 0;
}

static uint16_t
vport_max_rxq(const struct port *p)
{
	return ((const struct vport *)p)->queues;
}

/* The NUMA node of the peer's memory (librte_vhost), -1 without a peer.
 * Control thread (the queue assignment, dp.h). */
static int
vport_numa_node(const struct port *p)
{
	const struct vport *v = (const struct vport *)p;
	int node = -1;

	pthread_mutex_lock(&vport_lock);
	if (v->alive)
		node = rte_vhost_get_numa_node(v->vid);
	pthread_mutex_unlock(&vport_lock);
	return node < 0 ? -1 : node;
}

static const struct port_ops vport_ops = {
	.rx_burst = vport_rx_burst,
	.tx_burst = vport_tx_burst,
	.n_rxq = vport_n_rxq,
	.max_rxq = vport_max_rxq,
	.intr_arm = vport_intr_arm,
	.numa_node = vport_numa_node,
};

/* librte_vhost callbacks (vhost-events thread). */

/* Finds the vport serving 'vid'.  Caller holds vport_lock. */
static struct vport *
find_by_vid__(int vid)
{
	char path[PATH_MAX];
	int i;

	if (rte_vhost_get_ifname(vid, path, sizeof(path)) != 0)
		return NULL;
	for (i = 0; i < VHSW_MAX_PORTS; i++)
		if (registry[i] != NULL &&
			strcmp(registry[i]->socket, path) == 0)
			return registry[i];
	return NULL;
}

static void
record__(struct vport *v, uint32_t ev)
{
	v->pending |= ev;
}

/*
 * Waits (vport_lock held, released while waiting) up to 'ms' for the
 * control thread to finish reading v's vring counters (vport_queue_stats).
 * True if it did.
 */
static bool
wait_stats_readers__(struct vport *v, unsigned int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (v->stats_readers > 0)
		if (pthread_cond_timedwait(
			    &vport_readers_done, &vport_lock, &ts) == ETIMEDOUT)
			return v->stats_readers == 0;
	return true;
}

/* Whether some data-plane thread is inside a lock-taking librte_vhost
 * call on v's device (struct vport_dp). */
static bool
vport_dp_in_vhost(const struct vport *v)
{
	int t;

	for (t = 0; t < VHSW_MAX_DP_THREADS; t++)
		if (__atomic_load_n(&v->dp[t].in_vhost, __ATOMIC_RELAXED) != 0)
			return true;
	return false;
}

/*
 * Waits until the data plane no longer uses v's device (an RCU grace
 * period of every data-plane thread).  One exception: librte_vhost calls
 * destroy_device while it holds every vring lock of the device
 * (SET_MEM_TABLE, SET_FEATURES on a running device), and the calls the
 * data plane makes that spin on such a lock (rte_vhost_enqueue_burst;
 * rte_vhost_enable_guest_notification, to quiet and arm the vrings) would
 * then never return.  If at every look for a second some thread is inside
 * one of them for this device, that thread waits for us: it touches
 * nothing of the device until the lock is free, and librte_vhost does not
 * free the vrings on those paths, so we stop waiting.  With several
 * threads the condition is "some thread", not "the same thread": a grace
 * period needs them all, and each marks itself (vport_dp), so one
 * thread's return cannot hide another that is stuck, as a single shared
 * flag would.  No vport_lock held.
 */
static void
vport_wait_dp(struct vport *v)
{
	unsigned int stuck_ms = 0;

	while (!vport_grace(vport_grace_arg, 10)) {
		if (!vport_dp_in_vhost(v)) {
			stuck_ms = 0;
			continue;
		}
		stuck_ms += 10;
		if (stuck_ms >= 1000) {
			VLOG(WARNING,
				"port %s: the data plane waits for a vring "
				"lock held while the device stops; not "
				"waiting for it",
				v->port.name);
			return;
		}
	}
}

static int
on_new_device(int vid)
{
	struct vport *v;

	pthread_mutex_lock(&vport_lock);
	v = find_by_vid__(vid);
	if (v != NULL) {
		v->vid = vid;
		v->alive = true;
		v->connected = true;
		record__(v, VEV_NEW);
	}
	pthread_mutex_unlock(&vport_lock);
	if (v != NULL)
		vport_notify(vport_notify_arg);
	return 0;
}

static void
on_destroy_device(int vid)
{
	struct vport *v;

	pthread_mutex_lock(&vport_lock);
	v = find_by_vid__(vid);
	if (v != NULL && v->alive && v->vid == vid) {
		v->alive = false;
		port_set_ready(&v->port, false);
		record__(v, VEV_DESTROY);
		/* librte_vhost may hold the vring locks the reader waits
		 * for (see vport_wait_dp); it frees nothing on those paths,
		 * and destroy_connection waits again before the free. */
		wait_stats_readers__(v, 1000);
	} else {
		v = NULL;
	}
	pthread_mutex_unlock(&vport_lock);
	/*
	 * librte_vhost frees the vrings when we return: wait until the data
	 * plane has finished any burst it started on this device.
	 */
	if (v != NULL) {
		vport_wait_dp(v);
		vport_notify(vport_notify_arg);
	} else {
		vport_grace(vport_grace_arg, 0);
	}
}

/*
 * Publishes the peer's enabled receive queues (the even vrings in
 * vring_enabled[]) as the data plane's txmap.  Caller holds vport_lock.
 */
static void
txmap_update__(struct vport *v)
{
	uint64_t map = 0;
	uint32_t q, n = 0;

	for (q = 0; q < VPORT_MAX_QUEUES; q++) {
		if (!v->vring_enabled[2 * q])
			continue;
		if (n < 15)
			map |= (uint64_t)q << (4 * n + 4);
		n++;
	}
	if (n > 0)
		map |= n - 1;
	/* A single word: threads see the old set or the new one. */
	__atomic_store_n(&v->txmap, map, __ATOMIC_RELAXED);
}

/*
 * librte_vhost calls this when a vring becomes ready or stops being
 * (vq_is_ready: rings mapped, kick and call fds set, enabled), with every
 * vring lock of the device held when a SET_* message caused it: record
 * and return, no waiting.  An even vring (a receive queue of the peer)
 * joins or leaves the set frames to the peer are spread over at once;
 * until a data-plane thread sees the new set it may still pick the
 * disabled vring, whose enqueue then takes nothing (librte_vhost checks
 * vq->enabled under the vring's lock) and the caller retries or drops.
 */
static int
on_vring_state_changed(int vid, uint16_t queue_id, int enable)
{
	struct vport *v;

	pthread_mutex_lock(&vport_lock);
	v = find_by_vid__(vid);
	if (v != NULL && v->vid == vid && queue_id < VPORT_MAX_VRINGS) {
		v->vring_enabled[queue_id] = enable != 0;
		if ((queue_id & 1) == 0)
			txmap_update__(v);
		record__(v, VEV_VRING);
		PLOG(v, DEBUG, "vring %u %s", queue_id,
			enable ? "enabled" : "disabled");
	}
	pthread_mutex_unlock(&vport_lock);
	if (v != NULL)
		vport_notify(vport_notify_arg);
	return 0;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * Follows a live migration through the messages that drive it (accepted
 * by vguard; vhost-events thread, vport_lock held): the event log gets a
 * line for each step and `port show` the state (vport_show).  librte_vhost
 * does the work itself: with VHOST_F_LOG_ALL it marks every guest page it
 * writes (receive buffers, used rings) in the shared log, and on SEND_RARP
 * it injects a RARP broadcast from the guest's MAC at the next dequeue.
 */
static void
track_migration__(struct vport *v, const struct vguard_msg *m)
{
	struct vport_migration *g = &v->mig;
	const uint8_t *mac;
	bool on;

	switch (m->request) {
	case VGUARD_SET_LOG_BASE:
		g->log_size = m->payload.log.mmap_size;
		PLOG(v, INFO,
			"dirty log: the peer shares a %" PRIu64
			" KiB log of the guest pages the switch writes",
			(g->log_size + 1023) / 1024);
		break;
	case VGUARD_SET_FEATURES:
		on = (m->payload.u64 & (1ULL << VHOST_F_LOG_ALL)) != 0;
		if (on == g->logging)
			break;
		g->logging = on;
		if (on) {
			g->log_on_ns = now_ns();
			g->log_sessions++;
			g->left = false;
			PLOG(v, INFO,
				"live migration: the peer turned dirty-page "
				"logging on (its guest is being copied to "
				"another host or process)");
		} else {
			g->log_ms = (now_ns() - g->log_on_ns) / 1000000;
			PLOG(v, INFO,
				"live migration: dirty-page logging off after "
				"%" PRIu64 " ms%s",
				g->log_ms,
				g->left ? ""
					: " (the migration was cancelled or "
					  "failed: the guest stays here)");
		}
		break;
	case VGUARD_SEND_RARP:
		mac = (const uint8_t *)&m->payload.u64;
		memcpy(g->announce_mac, mac, sizeof(g->announce_mac));
		g->announces++;
		PLOG(v, INFO,
			"live migration: the peer asks the switch to announce "
			"%02x:%02x:%02x:%02x:%02x:%02x (RARP): its guest "
			"arrived here",
			mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
		break;
	default:
		break;
	}
}

/*
 * Records why the port's peer was refused or dropped (`port show`
 * last_error) and logs it through the port's rate limit (a peer that
 * reconnects in a loop cannot flood the log).  Caller holds vport_lock.
 */
static void
blame__(struct vport *v, const char *why)
{
	snprintf(v->last_error, sizeof(v->last_error), "%s", why);
	v->blamed = true;
	PLOG(v, WARNING, "%s", why);
}

/* The peer broke a rule and is being dropped: blame__ and count it.
 * Caller holds vport_lock. */
static void __rte_format_printf(2, 3)
	violation__(struct vport *v, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	int n;

	n = snprintf(why, sizeof(why), "peer dropped: ");
	va_start(ap, fmt);
	vsnprintf(why + n, sizeof(why) - (size_t)n, fmt, ap);
	va_end(ap);
	blame__(v, why);
	v->violations++;
}

/* Whether fd is the unix stream socket of a connection to 'path'. */
static bool
is_conn_socket(int fd, const char *path, bool client)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa), ilen = sizeof(int);
	int listening = 0;
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
		return false;
	memset(&sa, 0, sizeof(sa));
	if ((client ? getpeername(fd, (struct sockaddr *)&sa, &len)
		    : getsockname(fd, (struct sockaddr *)&sa, &len)) != 0 ||
		sa.sun_family != AF_UNIX ||
		len <= offsetof(struct sockaddr_un, sun_path) ||
		strncmp(sa.sun_path, path, sizeof(sa.sun_path)) != 0)
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ilen) != 0)
		return false;
	return !listening;
}

/*
 * Finds the socket librte_vhost just accepted (or connected) for 'v' and
 * returns a duplicate of it, or -1.  librte_vhost does not hand the fd to
 * its callbacks; the new connection is the only connected socket with the
 * port's path that is not already the port's (one peer per port).  The
 * duplicate lets the switch check the socket and shut the connection down
 * without racing librte_vhost's close of the original.
 */
static int
conn_fd_find(const struct vport *v)
{
	struct dirent *de;
	int fd, dup_fd = -1;
	DIR *d;

	d = opendir("/proc/self/fd");
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		fd = atoi(de->d_name);
		if (de->d_name[0] == '.' || fd == dirfd(d) ||
			!is_conn_socket(fd, v->socket, v->client))
			continue;
		dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		/* Still the same socket (not closed and reused meanwhile). */
		if (dup_fd >= 0 &&
			!is_conn_socket(dup_fd, v->socket, v->client)) {
			close(dup_fd);
			dup_fd = -1;
			continue;
		}
		break;
	}
	closedir(d);
	return dup_fd;
}

/* Whether the peer on our duplicate of its socket has not hung up. */
static bool
peer_still_there(int fd)
{
	char c;

	if (fd < 0)
		return false;
	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) < 0 &&
		(errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Closes the fds that came with a refused message. */
static void
close_msg_fds(struct vguard_msg_ctx *ctx)
{
	int i;

	for (i = 0; i < ctx->fd_num && i < VGUARD_MAX_FDS; i++) {
		if (ctx->fds[i] >= 0)
			close(ctx->fds[i]);
		ctx->fds[i] = -1;
	}
	ctx->fd_num = 0;
}

/* Whether the peer may send another message now (token bucket). */
static bool
msg_allowed__(struct vport *v)
{
	uint64_t now = now_ns();
	uint64_t add = (now - v->msg_last_ns) * VPORT_MSG_RATE / 1000000000ULL;

	if (add > 0) {
		v->msg_tokens = RTE_MIN(v->msg_tokens + add, VPORT_MSG_BURST);
		v->msg_last_ns = now;
	}
	if (v->msg_tokens == 0)
		return false;
	v->msg_tokens--;
	return true;
}

/* Whether a reply to the peer can be written without blocking. */
static bool
peer_reads__(const struct vport *v)
{
	struct pollfd pfd = {.fd = v->conn_fd, .events = POLLOUT};

	if (v->conn_fd < 0)
		return true;
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLOUT);
}

/*
 * The peer's slave channel arrived (SET_SLAVE_REQ_FD, checked: a socket).
 * librte_vhost's data-plane calls write IOTLB miss requests to it with a
 * plain sendmsg (vhost_user_iotlb_miss, no MSG_DONTWAIT): made
 * non-blocking, a peer that does not read it costs it the requests
 * (librte_vhost logs the failure and asks again at the next poll) instead
 * of stopping a data-plane thread.  The flag is on the open file, which
 * only we hold when the peer closed its copy after sending it, as QEMU
 * does (a socketpair: the peer's end is another file, its flags its own);
 * librte_vhost reads it only for replies to requests a net device never
 * sends (config change, host notifier).  A peer that does not read it is
 * dropped by vport_sync once it stayed half full for a second, and the
 * channel shut down; one that also kept a copy and cleared the flag makes
 * the sender wait until then (the stall watch, vport_stalled_on, frees a
 * data-plane thread after a second too).  Caller holds vport_lock.
 */
static void
slave_channel_set__(struct vport *v, int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (v->slave_fd >= 0)
		close(v->slave_fd);
	v->slave_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	v->slave_req_fd = fd;
	v->slave_full_ns = 0;
}

/* Closes our side of the slave channel.  Caller holds vport_lock. */
static void
slave_channel_close__(struct vport *v)
{
	if (v->slave_fd >= 0)
		close(v->slave_fd);
	v->slave_fd = -1;
	v->slave_req_fd = -1;
	v->slave_full_ns = 0;
}

/*
 * Whether the peer leaves half the slave channel's send buffer unread
 * (SIOCOUTQ: the bytes, with their overhead, the peer has not read).
 */
static bool
slave_channel_full(int fd)
{
	int outq = 0, sndbuf = 0;
	socklen_t len = sizeof(sndbuf);

	if (ioctl(fd, SIOCOUTQ, &outq) != 0 ||
		getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) != 0)
		return false;
	return sndbuf > 0 && outq >= sndbuf / 2;
}

/*
 * Ends postcopy for 'v': unregisters its memory from the userfaultfd
 * (which wakes any thread waiting in a fault there: it then finds the page,
 * or a new zero page where none arrived) and closes our dup.  Before
 * librte_vhost unmaps the memory, so that no woken thread retries an
 * access to an address that is gone.  Caller holds vport_lock.
 */
static void
postcopy_release__(struct vport *v)
{
	uint32_t i;

	if (v->uffd < 0)
		return;
	for (i = 0; i < v->pc_n; i++)
		if (ioctl(v->uffd, UFFDIO_UNREGISTER, &v->pc_map[i]) != 0)
			VLOG(WARNING,
				"port %s: cannot unregister region %u from "
				"the userfaultfd: %s",
				v->port.name, i, strerror(errno));
	close(v->uffd);
	v->uffd = -1;
}

/* The sum of the context switches of thread 'tid' of this process. */
static uint64_t
task_switches(pid_t tid)
{
	char path[64], line[128];
	uint64_t n = 0, sum = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "re");
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "voluntary_ctxt_switches: %" SCNu64, &n) ==
				1 ||
			sscanf(line, "nonvoluntary_ctxt_switches: %" SCNu64,
				&n) == 1)
			sum += n;
	fclose(f);
	return sum;
}

/* A thread of this process waiting in a userfaultfd fault; 0 if none. */
static pid_t
task_in_userfault(void)
{
	char path[300], wchan[64];
	struct dirent *d;
	pid_t tid = 0;
	ssize_t n;
	DIR *dir;
	int fd;

	dir = opendir("/proc/self/task");
	if (dir == NULL)
		return 0;
	while (tid == 0 && (d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/wchan",
			d->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, wchan, sizeof(wchan) - 1);
		close(fd);
		if (n > 0) {
			wchan[n] = '\0';
			if (strcmp(wchan, "handle_userfault") == 0)
				tid = (pid_t)atoi(d->d_name);
		}
	}
	closedir(dir);
	return tid;
}

/*
 * The postcopy watch: a thread of its own (not the control thread, which
 * may itself be waiting for the stuck data plane, in a grace period).
 * Once a second while some port is in postcopy, it looks for a thread of
 * the switch waiting in a userfaultfd fault; one that has waited there
 * VPORT_POSTCOPY_STALL_S seconds without being scheduled (same context
 * switch count) frees itself: every port in postcopy stops being polled,
 * unregisters its memory (which wakes the waiter) and is marked for the
 * control thread to drop its peer.  Which peer's memory holds the page is
 * not known; normally one port is in postcopy.
 */
static void *
postcopy_watch(void *arg)
{
	uint32_t stuck_s = 0, i;
	pid_t tid, last = 0;
	uint64_t sw, last_sw = 0;
	bool any, fired;

	(void)arg;
	for (;;) {
		sleep(1);
		pthread_mutex_lock(&vport_lock);
		for (i = 0, any = false; i < VHSW_MAX_PORTS && !any; i++)
			any = registry[i] != NULL && registry[i]->uffd >= 0;
		pthread_mutex_unlock(&vport_lock);
		tid = any ? task_in_userfault() : 0;
		sw = tid != 0 ? task_switches(tid) : 0;
		if (tid == 0 || tid != last || sw != last_sw) {
			last = tid;
			last_sw = sw;
			stuck_s = 0;
			continue;
		}
		if (++stuck_s < VPORT_POSTCOPY_STALL_S)
			continue;
		stuck_s = 0;
		fired = false;
		pthread_mutex_lock(&vport_lock);
		for (i = 0; i < VHSW_MAX_PORTS; i++) {
			struct vport *v = registry[i];

			if (v == NULL || v->uffd < 0)
				continue;
			/* Off the data plane first, as the other drops. */
			port_set_ready(&v->port, false);
			postcopy_release__(v);
			__atomic_store_n(&v->faulted, VPORT_DROP_POSTCOPY,
				__ATOMIC_RELEASE);
			fired = true;
		}
		pthread_mutex_unlock(&vport_lock);
		if (fired) {
			VLOG(WARNING,
				"thread %d waited %d s in a postcopy fault; "
				"letting go of the postcopy peers",
				(int)tid, VPORT_POSTCOPY_STALL_S);
			vport_notify(vport_notify_arg);
		}
	}
	return NULL;
}

/* Starts the postcopy watch (once).  Caller holds vport_lock. */
static int
postcopy_watch_start__(void)
{
	static bool started;
	pthread_t th;
	int ret;

	if (started)
		return 0;
	ret = pthread_create(&th, NULL, postcopy_watch, NULL);
	if (ret != 0)
		return -ret;
	pthread_setname_np(th, "vhsw-pcwatch");
	pthread_detach(th);
	started = true;
	return 0;
}

/*
 * Makes the connection socket block, with timeouts (a postcopy memory
 * table), or non-blocking again.  Caller holds vport_lock.
 */
static void
conn_set_blocking__(struct vport *v, bool on)
{
	struct timeval tv = {0};
	int fl;

	if (v->conn_fd < 0 || v->conn_blocking == on)
		return;
	if (on) {
		tv.tv_sec = VPORT_POSTCOPY_ACK_MS / 1000;
		tv.tv_usec = (VPORT_POSTCOPY_ACK_MS % 1000) * 1000;
	}
	setsockopt(v->conn_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(v->conn_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	fl = fcntl(v->conn_fd, F_GETFL);
	if (fl >= 0)
		fcntl(v->conn_fd, F_SETFL,
			on ? fl & ~O_NONBLOCK : fl | O_NONBLOCK);
	v->conn_blocking = on;
}

/*
 * librte_vhost's pre-message handler (vhost-events thread, queue locks
 * held for SET_* requests).  A message that breaks the rules is answered
 * by dropping the peer: its fds are closed, the reply-ack request cleared
 * (so that librte_vhost closes the connection instead of answering), and
 * librte_vhost never acts on it.
 */
static enum rte_vhost_msg_result
on_message(int vid, void *msg)
{
	struct vguard_msg_ctx *ctx = msg;
	struct vguard_msg *m = &ctx->msg;
	char why[224];
	struct vport *v;
	bool reset = false;
	int i, ret = 0;

	pthread_mutex_lock(&vport_lock);
	v = find_by_vid__(vid);
	if (v == NULL || v->vid != vid) {
		pthread_mutex_unlock(&vport_lock);
		close_msg_fds(ctx);
		return RTE_VHOST_MSG_RESULT_ERR;
	}
	conn_set_blocking__(v, false); /* a postcopy table that failed */
	if (!msg_allowed__(v)) {
		snprintf(why, sizeof(why),
			"message flood (more than %llu a second)",
			VPORT_MSG_RATE);
		ret = -EBUSY;
	} else if (vguard_wants_reply(m) && !peer_reads__(v)) {
		snprintf(why, sizeof(why),
			"the peer does not read the switch's replies");
		ret = -EBUSY;
	} else {
		ret = vguard_check(&v->guard, m, ctx->fds, ctx->fd_num,
			vguard_probe_fd, why, sizeof(why));
	}
	if (ret != 0) {
		violation__(v, "%s", why);
		pthread_mutex_unlock(&vport_lock);
		close_msg_fds(ctx);
		m->flags &= ~VGUARD_NEED_REPLY;
		return RTE_VHOST_MSG_RESULT_ERR;
	}
	track_migration__(v, m);
	/* Notification fds must never block the switch. */
	if (m->request == VGUARD_SET_VRING_KICK ||
		m->request == VGUARD_SET_VRING_CALL ||
		m->request == VGUARD_SET_VRING_ERR ||
		m->request == VGUARD_SET_LOG_FD)
		for (i = 0; i < ctx->fd_num; i++)
			fcntl(ctx->fds[i], F_SETFL,
				fcntl(ctx->fds[i], F_GETFL) | O_NONBLOCK);
	if (m->request == VGUARD_SET_SLAVE_REQ_FD)
		slave_channel_set__(v, ctx->fds[0]);
	/*
	 * A shrink-proof memfd cannot SIGBUS: seal it where the peer allows
	 * sealing (QEMU's memfd backend already does).  Announce the files to
	 * vfault: librte_vhost reads the rings as soon as it has mapped them,
	 * before on_message_done registers the ranges.
	 */
	if (m->request == VGUARD_SET_MEM_TABLE ||
		m->request == VGUARD_SET_LOG_BASE) {
		for (i = 0; i < ctx->fd_num; i++) {
			struct stat st;

			if (m->request == VGUARD_SET_MEM_TABLE)
				fcntl(ctx->fds[i], F_ADD_SEALS, F_SEAL_SHRINK);
			if (fstat(ctx->fds[i], &st) == 0)
				vfault_expect(v, st.st_dev, st.st_ino);
		}
	}
	/* librte_vhost unmaps the current table first. */
	if (m->request == VGUARD_SET_MEM_TABLE ||
		m->request == VGUARD_RESET_OWNER)
		v->pc_n = 0;
	/* librte_vhost reads QEMU's ack to a postcopy table itself. */
	if (m->request == VGUARD_SET_MEM_TABLE &&
		v->guard.postcopy == VGUARD_PC_LISTENING)
		conn_set_blocking__(v, true);
	/* Every page arrived: no fault must wait on the peer any more. */
	if (m->request == VGUARD_POSTCOPY_END)
		postcopy_release__(v);
	if (m->request >= VGUARD_POSTCOPY_ADVISE &&
		m->request <= VGUARD_POSTCOPY_END)
		PLOG(v, INFO, "postcopy: %s", vguard_request_name(m->request));
	/* RESET_OWNER unmaps the memory without destroy_device first:
	 * stop the data plane, as destroy_device would. */
	if (m->request == VGUARD_RESET_OWNER && v->alive) {
		v->alive = false;
		port_set_ready(&v->port, false);
		v->pending |= VEV_DESTROY;
		reset = true;
	}
	pthread_mutex_unlock(&vport_lock);
	if (reset) {
		vport_wait_dp(v);
		vfault_remove(v);
		vport_notify(vport_notify_arg);
	}
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

/* Registers the device's mappings with vfault.  Caller holds vport_lock. */
static void
register_memory__(struct vport *v)
{
	struct rte_vhost_memory *mem = NULL;
	uint64_t log_base = 0, log_size = 0;
	uint32_t i;

	vfault_remove(v);
	v->pc_n = 0;
	if (rte_vhost_get_mem_table(v->vid, &mem) == 0) {
		for (i = 0; i < mem->nregions; i++) {
			const struct rte_vhost_mem_region *r = &mem->regions[i];

			if (i < VPORT_MAX_REGIONS && r->mmap_addr != NULL) {
				v->pc_map[v->pc_n].start =
					(uintptr_t)r->mmap_addr;
				v->pc_map[v->pc_n++].len = r->mmap_size;
			}

			if (r->mmap_addr != NULL && r->mmap_size != 0 &&
				vfault_add(v, i, (uintptr_t)r->mmap_addr,
					r->mmap_size, 0) != 0)
				VLOG(ERR, "port %s: cannot guard region %u",
					v->port.name, i);
		}
		free(mem);
	}
	if (rte_vhost_get_log_base(v->vid, &log_base, &log_size) == 0 &&
		log_base != 0 && log_size != 0)
		vfault_add(v, VGUARD_MAX_FDS, (uintptr_t)log_base, log_size, 0);
}

/* librte_vhost's post-message handler (vhost-events thread). */
static enum rte_vhost_msg_result
on_message_done(int vid, void *msg)
{
	const struct vguard_msg_ctx *ctx = msg;
	struct vport *v;

	/*
	 * Wake the data plane, which may sleep until the guest kicks, for
	 * work the guest need not kick for: librte_vhost injects a RARP at
	 * the next dequeue from the peer's first TX vring (SEND_RARP), and an
	 * IOTLB update answers a miss of a thread that then took nothing from
	 * a ring whose descriptors are already posted.
	 */
	if (ctx->msg.request == VGUARD_SEND_RARP ||
		ctx->msg.request == VGUARD_IOTLB_MSG) {
		vport_notify(vport_notify_arg);
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	}
	if (ctx->msg.request == VGUARD_POSTCOPY_ADVISE && ctx->fd_num == 1) {
		/* The userfaultfd just sent to the peer: keep a dup to
		 * unregister our mappings from it (postcopy_release__). */
		pthread_mutex_lock(&vport_lock);
		v = find_by_vid__(vid);
		if (v != NULL && v->vid == vid && v->uffd < 0)
			v->uffd = fcntl(ctx->fds[0], F_DUPFD_CLOEXEC, 0);
		pthread_mutex_unlock(&vport_lock);
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	}
	if (ctx->msg.request != VGUARD_SET_MEM_TABLE &&
		ctx->msg.request != VGUARD_SET_LOG_BASE)
		return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	pthread_mutex_lock(&vport_lock);
	v = find_by_vid__(vid);
	if (v != NULL && v->vid == vid) {
		conn_set_blocking__(v, false);
		register_memory__(v);
		vfault_expect_clear(v);
	}
	pthread_mutex_unlock(&vport_lock);
	return RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

static const struct rte_vhost_user_extern_ops vport_extern_ops = {
	.pre_msg_handle = on_message,
	.post_msg_handle = on_message_done,
};

/*
 * vfault hook, in signal context on whichever thread touched the peer's
 * memory: stop using the port and have the control thread drop the peer.
 */
static void
on_memory_fault(void *owner, uint32_t tag, uint64_t offset)
{
	struct vport *v = owner;

	port_set_ready(&v->port, false);
	__atomic_store_n(&v->fault_tag, tag, __ATOMIC_RELAXED);
	__atomic_store_n(&v->fault_offset, offset, __ATOMIC_RELAXED);
	__atomic_fetch_add(&v->mem_faults, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&v->faulted, VPORT_DROP_FAULT, __ATOMIC_RELEASE);
	vport_notify(vport_notify_arg); /* ev_async_send: signal-safe */
}

bool
vport_stalled_on(int fd)
{
	struct rte_vhost_vring vr;
	struct vport *v = NULL;
	uint32_t drop = VPORT_DROP_NONE;
	int i, q, n;

	pthread_mutex_lock(&vport_lock);
	for (i = 0; i < VHSW_MAX_PORTS && v == NULL; i++) {
		if (registry[i] == NULL || !registry[i]->alive)
			continue;
		n = RTE_MIN(rte_vhost_get_vring_num(registry[i]->vid),
			VPORT_MAX_VRINGS);
		for (q = 0; q < n; q++) {
			if (rte_vhost_get_vhost_vring(
				    registry[i]->vid, (uint16_t)q, &vr) == 0 &&
				(vr.callfd == fd || vr.kickfd == fd)) {
				v = registry[i];
				drop = VPORT_DROP_STALL;
				break;
			}
		}
		/* An IOTLB miss request blocked on the slave channel. */
		if (v == NULL && registry[i]->slave_fd >= 0 &&
			registry[i]->slave_req_fd == fd) {
			v = registry[i];
			drop = VPORT_DROP_SLAVE_STALL;
			/* librte_vhost retries the interrupted sendmsg:
			 * make it fail. */
			shutdown(v->slave_fd, SHUT_RDWR);
		}
	}
	if (v != NULL) {
		port_set_ready(&v->port, false);
		__atomic_store_n(&v->stall_fd, fd, __ATOMIC_RELAXED);
		__atomic_store_n(&v->faulted, drop, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&vport_lock);
	if (v != NULL)
		vport_notify(vport_notify_arg);
	return v != NULL;
}

static int
on_new_connection(int vid)
{
	uint64_t features = 0, protocol = 0;
	struct vport *v;
	int fd = -1;

	pthread_mutex_lock(&vport_lock);
	v = find_by_vid__(vid);
	if (v == NULL) {
		pthread_mutex_unlock(&vport_lock);
		return -1;
	}
	if (v->connected || v->conn_fd >= 0) {
		/* One front-end per port: a second one would share the
		 * switch's view of the device with the first. */
		bool blamed = v->blamed; /* about the connected peer */

		v->refused++;
		blame__(v,
			"second front-end refused: the socket is in use "
			"by a connected peer");
		v->blamed = blamed;
		pthread_mutex_unlock(&vport_lock);
		return -1;
	}
	fd = conn_fd_find(v);
	if (fd >= 0) {
		/* Never wait on the peer: a half-sent message or a peer that
		 * does not read replies fails the call instead. */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	} else {
		VLOG(WARNING,
			"port %s: cannot find the connection's socket; "
			"socket-level checks are off for this peer",
			v->port.name);
	}
	rte_vhost_driver_get_features(v->socket, &features);
	rte_vhost_driver_get_protocol_features(v->socket, &protocol);
	vguard_conn_init(&v->guard, features, protocol, 2 * v->queues);
	v->msg_tokens = VPORT_MSG_BURST;
	v->msg_last_ns = now_ns();
	v->conn_fd = fd;
	v->blamed = false;
	v->ran = false;
	v->mig.logging = false;
	v->mig.left = false;
	v->mig.log_size = 0;
	v->conn_blocking = false;
	v->vid = vid;
	v->connected = true;
	memset(v->vring_enabled, 0, sizeof(v->vring_enabled));
	txmap_update__(v);
	record__(v, VEV_VRING);
	pthread_mutex_unlock(&vport_lock);
	if (rte_vhost_extern_callback_register(vid, &vport_extern_ops, v) !=
		0) {
		VLOG(ERR, "port %s: cannot install the message checks",
			v->port.name);
		return -1;
	}
	/* "peer connected" once the device runs (vport_sync). */
	PLOG(v, DEBUG, "connection accepted");
	vport_notify(vport_notify_arg);
	return 0;
}

static void
on_destroy_connection(int vid)
{
	char why[sizeof(((struct vport *)0)->last_error) + 64];
	struct vport *v;

	pthread_mutex_lock(&vport_lock);
	v = find_by_vid__(vid);
	/* librte_vhost frees the device next and holds no vring lock. */
	if (v != NULL && v->vid == vid && !wait_stats_readers__(v, 5000))
		VLOG(WARNING, "port %s: vring counters still being read",
			v->port.name);
	if (v != NULL && v->vid == vid && v->connected) {
		v->connected = false;
		v->disconnects++;
		/* librte_vhost closed a connection whose peer is still there
		 * without our checks refusing anything: it refused a message
		 * itself (a truncated one, or one it failed to apply). */
		if (!v->blamed && peer_still_there(v->conn_fd))
			violation__(v,
				"librte_vhost refused a message (truncated, "
				"or it failed to apply it; its log says "
				"which)");
		if (v->conn_fd >= 0)
			close(v->conn_fd);
		v->conn_fd = -1;
		slave_channel_close__(v);
		/* librte_vhost unmaps the peer's memory next. */
		postcopy_release__(v);
		v->pc_n = 0;
		vfault_remove(v);
		vfault_expect_clear(v);
		record__(v, VEV_VRING);
		if (v->blamed)
			snprintf(why, sizeof(why), "%s", v->last_error);
		else
			snprintf(why, sizeof(why),
				"the peer closed the connection%s",
				v->ran ? "" : " before its device ran");
		PLOG(v, INFO, "peer disconnected (%s)", why);
	} else {
		v = NULL;
	}
	pthread_mutex_unlock(&vport_lock);
	if (v != NULL)
		vport_notify(vport_notify_arg);
}

static const struct rte_vhost_device_ops vport_vhost_ops = {
	.new_device = on_new_device,
	.destroy_device = on_destroy_device,
	.vring_state_changed = on_vring_state_changed,
	.new_connection = on_new_connection,
	.destroy_connection = on_destroy_connection,
};

/* Control thread. */

int
vport_init(struct rte_mempool *pool, bool (*grace)(void *arg, unsigned int ms),
	void *grace_arg, void (*notify)(void *arg), void *notify_arg)
{
	if (pool == NULL || grace == NULL || notify == NULL)
		return -EINVAL;
	vport_pool = pool;
	vport_grace = grace;
	vport_grace_arg = grace_arg;
	vport_notify = notify;
	vport_notify_arg = notify_arg;
	if (port_class_register(&vport_class) != 0)
		return -EEXIST;
	return vfault_init(on_memory_fault);
}

/* Reads the device's memory table and vrings.  Caller holds vport_lock. */
static void
snapshot__(struct vport *v)
{
	struct rte_vhost_memory *mem = NULL;
	struct rte_vhost_vring vr;
	uint16_t i, n;

	v->n_regions = 0;
	if (rte_vhost_get_mem_table(v->vid, &mem) == 0) {
		for (i = 0; i < mem->nregions && i < VPORT_MAX_REGIONS; i++) {
			const struct rte_vhost_mem_region *r = &mem->regions[i];
			struct vport_region *o = &v->regions[i];

			o->guest_phys_addr = r->guest_phys_addr;
			o->size = r->size;
			o->userspace_addr = r->guest_user_addr;
			o->host_addr = r->host_user_addr;
			o->mmap_offset = r->host_user_addr -
				(uint64_t)(uintptr_t)r->mmap_addr;
		}
		v->n_regions = i;
		free(mem);
	}
	n = RTE_MIN(rte_vhost_get_vring_num(v->vid), VPORT_MAX_VRINGS);
	for (i = 0; i < n; i++) {
		if (rte_vhost_get_vhost_vring(v->vid, i, &vr) != 0) {
			memset(&vr, 0, sizeof(vr));
			vr.kickfd = vr.callfd = -1;
		}
		v->vrings[i].size = vr.size;
		v->vrings[i].kickfd = vr.kickfd;
		v->vrings[i].callfd = vr.callfd;
		v->vrings[i].enabled = v->vring_enabled[i];
	}
	v->n_vrings = n;
	if (rte_vhost_get_negotiated_features(v->vid, &v->features) != 0)
		v->features = 0;
	if (rte_vhost_get_mtu(v->vid, &v->peer_mtu) != 0)
		v->peer_mtu = 0;
}

/* Names the mapping a fault was in (vfault tags, register_memory__). */
static const char *
fault_where(uint32_t tag)
{
	static const char *const regions[VGUARD_MAX_FDS] = {"region 0",
		"region 1", "region 2", "region 3", "region 4", "region 5",
		"region 6", "region 7"};

	if (tag == VFAULT_TAG_NEW)
		return "a table being mapped";
	return tag < VGUARD_MAX_FDS ? regions[tag] : "the dirty log";
}

/*
 * The device runs (new_device): "peer connected" the first time in a
 * connection, "peer reset" when it runs again in the same connection
 * (the guest reset the device, or changed the features or the memory table
 * of a running one: librte_vhost stops it with destroy_device and starts
 * it again).  Caller holds vport_lock.
 */
static void
log_running__(struct vport *v)
{
	char feat[768], proto[384], mtu[24] = "";
	uint64_t pf = v->guard.protocol & v->guard.offered_protocol;

	virtio_features_format(v->features, 0, ",", feat, sizeof(feat));
	virtio_features_format(pf, 1, ",", proto, sizeof(proto));
	if (v->peer_mtu != 0)
		snprintf(mtu, sizeof(mtu), ", mtu %u", v->peer_mtu);
	PLOG(v, INFO,
		"%s: %u queue pair%s%s, features 0x%" PRIx64
		" %s, protocol features 0x%" PRIx64 " %s",
		v->ran ? "peer reset, the device runs again" : "peer connected",
		v->nr_qp, v->nr_qp == 1 ? "" : "s", mtu, v->features,
		feat[0] ? feat : "(none)", pf, proto[0] ? proto : "(none)");
	v->ran = true;
}

static bool
vport_sync(struct port *p)
{
	struct vport *v = (struct vport *)p;
	bool went_down = false;
	uint32_t ev, drop;

	pthread_mutex_lock(&vport_lock);
	ev = v->pending;
	v->pending = 0;
	/*
	 * A peer that leaves its IOTLB miss requests unread: librte_vhost
	 * sends them from the data plane and from its message thread (ring
	 * translation), holding vring locks; shutting the channel down
	 * frees a sender the peer made wait (the drop below).
	 */
	if (v->connected && v->slave_fd >= 0 &&
		slave_channel_full(v->slave_fd)) {
		if (v->slave_full_ns == 0) {
			v->slave_full_ns = now_ns();
		} else if (now_ns() - v->slave_full_ns >=
			VPORT_SLAVE_FULL_MS * 1000000ULL) {
			port_set_ready(p, false);
			__atomic_store_n(&v->faulted, VPORT_DROP_SLAVE_FULL,
				__ATOMIC_RELEASE);
		}
	} else {
		v->slave_full_ns = 0;
	}
	drop = __atomic_exchange_n(
		&v->faulted, VPORT_DROP_NONE, __ATOMIC_ACQUIRE);
	if (drop == VPORT_DROP_FAULT)
		violation__(v,
			"its memory faulted (SIGBUS at offset 0x%" PRIx64
			" of %s): it shrank or replaced a file it shares",
			__atomic_load_n(&v->fault_offset, __ATOMIC_RELAXED),
			fault_where(v->fault_tag));
	else if (drop == VPORT_DROP_STALL)
		violation__(v,
			"its eventfd (fd %d) blocked the data plane (made "
			"blocking with a full counter)",
			__atomic_load_n(&v->stall_fd, __ATOMIC_RELAXED));
	else if (drop == VPORT_DROP_SLAVE_FULL)
		violation__(v,
			"it does not read the slave channel (IOTLB miss "
			"requests unread for %u ms)",
			VPORT_SLAVE_FULL_MS);
	else if (drop == VPORT_DROP_SLAVE_STALL)
		violation__(v,
			"its slave channel (fd %d) blocked the data plane (it "
			"does not read it, and made it blocking)",
			__atomic_load_n(&v->stall_fd, __ATOMIC_RELAXED));
	else if (drop == VPORT_DROP_POSTCOPY)
		violation__(v,
			"postcopy: a thread of the switch waited %d s in a "
			"fault its userfaultfd never resolved",
			VPORT_POSTCOPY_STALL_S);
	if (drop != VPORT_DROP_NONE) {
		/* librte_vhost sees the end of the stream and tears the
		 * device down; the pages are anonymous zeros until then. */
		if (v->conn_fd >= 0)
			shutdown(v->conn_fd, SHUT_RDWR);
		if (v->slave_fd >= 0)
			shutdown(v->slave_fd, SHUT_RDWR);
		v->alive = false;
		ev |= VEV_DESTROY;
	}
	if (ev == 0)
		goto out;
	if (v->alive) {
		snapshot__(v);
		__atomic_store_n(&v->nr_qp,
			RTE_MAX(RTE_MIN(v->n_vrings / 2, VPORT_MAX_QUEUES), 1),
			__ATOMIC_RELAXED);
		__atomic_store_n(
			&v->ready_gen, v->ready_gen + 1, __ATOMIC_RELEASE);
		port_set_ready(p, true);
		if (ev & VEV_NEW)
			log_running__(v);
		if ((ev & VEV_NEW) && v->mig.left) {
			v->mig.left = false;
			PLOG(v, INFO,
				"live migration: the device runs here again "
				"(the migration failed or was cancelled after "
				"the final pass)");
		}
	} else {
		went_down = (ev & VEV_DESTROY) != 0;
		v->resets += went_down;
		if (went_down && v->mig.logging && !v->mig.left) {
			v->mig.left = true;
			v->mig.log_ms = (now_ns() - v->mig.log_on_ns) / 1000000;
			PLOG(v, INFO,
				"live migration: the peer stopped the device "
				"with dirty-page logging on, %" PRIu64
				" ms after it began (the final pass: the guest "
				"runs on at its destination)",
				v->mig.log_ms);
		} else if (went_down) {
			PLOG(v, DEBUG, "device stopped");
		}
		v->n_regions = 0;
		v->n_vrings = 0;
		v->features = 0;
	}
out:
	pthread_mutex_unlock(&vport_lock);
	return went_down;
}

/*
 * librte_vhost's counters of vring 'i' of device 'vid'
 * (RTE_VHOST_USER_NET_STATS_ENABLE) as {"vring", "queue", "direction",
 * NAME: count...}, or NULL.  rte_vhost_vring_stats_get takes the vring's
 * access lock, which librte_vhost's event thread holds while it handles
 * some messages and calls our callbacks, which take vport_lock: so no
 * vport_lock here (the caller counts itself in 'stats_readers' instead,
 * and the device is not freed until it is done).
 */
static json_t *
vring_stats(int vid, uint16_t i)
{
	struct rte_vhost_stat_name names[VPORT_MAX_VRING_STATS];
	struct rte_vhost_stat vals[VPORT_MAX_VRING_STATS];
	const char *name;
	json_t *o;
	int n, k;

	n = rte_vhost_vring_stats_get_names(vid, i, NULL, 0);
	if (n <= 0 || n > VPORT_MAX_VRING_STATS ||
		rte_vhost_vring_stats_get_names(vid, i, names, n) != n ||
		rte_vhost_vring_stats_get(vid, i, vals, n) != n)
		return NULL;
	/* Even vrings carry frames to the peer: tx in the switch's view. */
	o = json_pack("{s:i, s:i, s:s}", "vring", (int)i, "queue", i / 2,
		"direction", (i & 1) ? "rx" : "tx");
	for (k = 0; k < n; k++) {
		if (vals[k].id >= (uint64_t)n)
			continue;
		/* "rx_q0_good_packets": the part after the queue. */
		name = names[vals[k].id].name;
		if (strncmp(name, "rx_q", 4) == 0 ||
			strncmp(name, "tx_q", 4) == 0) {
			name = strchr(name + 4, '_');
			name = name != NULL ? name + 1 : names[vals[k].id].name;
		}
		json_object_set_new(
			o, name, json_integer((json_int_t)vals[k].value));
	}
	return o;
}

static json_t *
vport_queue_stats(const struct port *p)
{
	struct vport *v = (struct vport *)p;
	uint16_t i, n;
	json_t *a, *q;
	int vid;

	if (!v->queue_stats)
		return NULL;
	pthread_mutex_lock(&vport_lock);
	/* A miss request blocked on a full slave channel may hold the vring
	 * locks rte_vhost_vring_stats_get takes (until vport_sync drops the
	 * peer). */
	if (!v->alive || v->vid < 0 ||
		(v->slave_fd >= 0 && slave_channel_full(v->slave_fd))) {
		pthread_mutex_unlock(&vport_lock);
		return NULL;
	}
	v->stats_readers++; /* the device stays until we are done */
	vid = v->vid;
	n = v->n_vrings;
	pthread_mutex_unlock(&vport_lock);
	a = json_array();
	for (i = 0; i < n; i++) {
		q = vring_stats(vid, i);
		if (q != NULL)
			json_array_append_new(a, q);
	}
	pthread_mutex_lock(&vport_lock);
	v->stats_readers--;
	pthread_cond_broadcast(&vport_readers_done);
	pthread_mutex_unlock(&vport_lock);
	return a;
}

/*
 * `port show`'s "migration": "state" is none, logging (the guest is being
 * copied away: dirty-page logging on), left (the source stopped the
 * device for the final pass) or announced (a destination asked for a
 * RARP announcement).  Caller holds vport_lock.
 */
static json_t *
migration_json__(const struct vport_migration *g)
{
	const char *state = "none";
	char mac[18];

	if (g->left)
		state = "left";
	else if (g->logging)
		state = "logging";
	else if (g->announces > 0)
		state = "announced";
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x",
		g->announce_mac[0], g->announce_mac[1], g->announce_mac[2],
		g->announce_mac[3], g->announce_mac[4], g->announce_mac[5]);
	return json_pack("{s:s, s:b, s:I, s:I, s:I, s:I, s:o}", "state", state,
		"dirty_log", g->logging, "log_size", (json_int_t)g->log_size,
		"log_sessions", (json_int_t)g->log_sessions, "log_ms",
		(json_int_t)g->log_ms, "announces", (json_int_t)g->announces,
		"announced_mac",
		g->announces > 0 ? json_string(mac) : json_null());
}

static void
vport_describe(const struct port *p, json_t *o, bool detail)
{
	const struct vport *v = (const struct vport *)p;
	char buf[32];
	json_t *a;
	uint32_t i;

	json_object_set_new(o, "socket", json_string(v->socket));
	json_object_set_new(
		o, "mode", json_string(v->client ? "client" : "server"));
	json_object_set_new(o, "queues", json_integer(v->queues));
	json_object_set_new(o, "iommu", json_boolean(v->iommu));
	json_object_set_new(o, "postcopy", json_boolean(v->postcopy));
	json_object_set_new(o, "connected", json_boolean(v->connected));
	json_object_set_new(o, "resets", json_integer((json_int_t)v->resets));
	pthread_mutex_lock(&vport_lock);
	json_object_set_new(
		o, "disconnects", json_integer((json_int_t)v->disconnects));
	json_object_set_new(o, "last_error",
		v->last_error[0] != '\0' ? json_string(v->last_error)
					 : json_null());
	json_object_set_new(o, "refused", json_integer((json_int_t)v->refused));
	json_object_set_new(
		o, "violations", json_integer((json_int_t)v->violations));
	json_object_set_new(o, "mem_faults",
		json_integer((json_int_t)__atomic_load_n(
			&v->mem_faults, __ATOMIC_RELAXED)));
	json_object_set_new(o, "migration", migration_json__(&v->mig));
	pthread_mutex_unlock(&vport_lock);
	json_object_set_new(o, "active_queues",
		json_integer(port_is_ready(p) ? v->nr_qp : 0));
	snprintf(buf, sizeof(buf), "0x%" PRIx64, v->features);
	json_object_set_new(o, "features", json_string(buf));
	if (!detail)
		return;
	a = json_array();
	for (i = 0; i < v->n_regions; i++) {
		const struct vport_region *r = &v->regions[i];
		json_t *ro = json_object();

		snprintf(buf, sizeof(buf), "0x%" PRIx64, r->guest_phys_addr);
		json_object_set_new(ro, "guest_phys_addr", json_string(buf));
		json_object_set_new(
			ro, "size", json_integer((json_int_t)r->size));
		snprintf(buf, sizeof(buf), "0x%" PRIx64, r->userspace_addr);
		json_object_set_new(ro, "userspace_addr", json_string(buf));
		json_object_set_new(ro, "mmap_offset",
			json_integer((json_int_t)r->mmap_offset));
		snprintf(buf, sizeof(buf), "0x%" PRIx64, r->host_addr);
		json_object_set_new(ro, "host_addr", json_string(buf));
		json_array_append_new(a, ro);
	}
	json_object_set_new(o, "mem_regions", a);
	/* The peer's receive queues frames to it are spread over now. */
	a = json_array();
	if (port_is_ready(p)) {
		uint64_t map = __atomic_load_n(&v->txmap, __ATOMIC_RELAXED);

		for (i = 0; i < VPORT_TXMAP_COUNT(map); i++)
			json_array_append_new(
				a, json_integer(vport_txmap_queue(map, i)));
	}
	json_object_set_new(o, "tx_queues", a);
	a = json_array();
	pthread_mutex_lock(&vport_lock); /* the device stays while we read */
	for (i = 0; i < v->n_vrings; i++) {
		uint16_t avail = 0, used = 0;
		json_t *vo = json_pack("{s:i, s:i, s:i, s:i, s:b}", "index",
			(int)i, "size", v->vrings[i].size, "kickfd",
			v->vrings[i].kickfd, "callfd", v->vrings[i].callfd,
			"enabled", v->vrings[i].enabled);

		/* Ring positions: how far each queue has moved (live). */
		if (v->alive &&
			rte_vhost_get_vring_base(
				v->vid, (uint16_t)i, &avail, &used) == 0) {
			json_object_set_new(
				vo, "last_avail_idx", json_integer(avail));
			json_object_set_new(
				vo, "last_used_idx", json_integer(used));
		}
		json_array_append_new(a, vo);
	}
	pthread_mutex_unlock(&vport_lock);
	json_object_set_new(o, "vrings", a);
	a = vport_queue_stats(p);
	json_object_set_new(o, "queue_stats", a != NULL ? a : json_null());
}

static void
vport_save(const struct port *p, json_t *o)
{
	const struct vport *v = (const struct vport *)p;
	char buf[32];

	json_object_set_new(o, "socket", json_string(v->socket));
	json_object_set_new(
		o, "mode", json_string(v->client ? "client" : "server"));
	json_object_set_new(o, "queues", json_integer(v->queues));
	if (v->set_owner) {
		if (v->gid == (gid_t)-1)
			snprintf(buf, sizeof(buf), "%u", (unsigned)v->uid);
		else
			snprintf(buf, sizeof(buf), "%u:%u", (unsigned)v->uid,
				(unsigned)v->gid);
		json_object_set_new(o, "owner", json_string(buf));
	}
	if (v->perm != 0) {
		snprintf(buf, sizeof(buf), "%04o", (unsigned)v->perm);
		json_object_set_new(o, "perm", json_string(buf));
	}
	if (v->queue_stats)
		json_object_set_new(o, "queue_stats", json_true());
	if (v->iommu)
		json_object_set_new(o, "iommu", json_true());
	if (v->postcopy)
		json_object_set_new(o, "postcopy", json_true());
}

static void
registry_remove(struct vport *v)
{
	int i;

	pthread_mutex_lock(&vport_lock);
	for (i = 0; i < VHSW_MAX_PORTS; i++)
		if (registry[i] == v)
			registry[i] = NULL;
	pthread_mutex_unlock(&vport_lock);
}

static void
vport_destroy(struct port *p)
{
	struct vport *v = (struct vport *)p;

	if (v == NULL)
		return;
	registry_remove(v);
	/* The port is unpublished: nothing touches the peer's memory now. */
	vfault_remove(v);
	vfault_expect_clear(v);
	pthread_mutex_lock(&vport_lock);
	postcopy_release__(
		v); /* unregister_driver gives no destroy_connection */
	pthread_mutex_unlock(&vport_lock);
	if (v->registered) {
		/* Closes the connection (without destroy_connection); may
		 * call destroy_device here. */
		rte_vhost_driver_unregister(v->socket);
		if (!v->client)
			unlink(v->socket);
	}
	/* Our duplicate would keep the peer's connection open. */
	if (v->conn_fd >= 0)
		close(v->conn_fd);
	slave_channel_close__(v); /* no other thread knows v any more */
	vlog_rl_fini(&v->log_rl);
	rte_free(v);
}

static struct port *vport_create_conf(
	const struct port_conf *conf, json_t *params, char *err, size_t errlen);

static const struct port_class vport_class = {
	.type = "vhost-user",
	.create = vport_create_conf,
	.sync = vport_sync,
	.describe = vport_describe,
	.queue_stats = vport_queue_stats,
	.save = vport_save,
	.destroy = vport_destroy,
};

int
vport_check_socket(const char *path, bool client, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, ret;

	if (path[0] != '/') {
		snprintf(err, errlen, "socket path %s is not absolute", path);
		return -EINVAL;
	}
	if (strlen(path) > VPORT_SOCKET_MAX) {
		snprintf(err, errlen,
			"socket path longer than %d bytes (%zu), the unix "
			"socket limit; use a shorter path than %s",
			VPORT_SOCKET_MAX, strlen(path), path);
		return -ENAMETOOLONG;
	}
	if (client)
		return 0;
	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen,
			"%s exists and is not a socket; remove it or choose "
			"another path",
			path);
		return -EEXIST;
	}
	/* A socket file: in use if somebody accepts connections on it. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (ret == 0) {
		snprintf(err, errlen,
			"%s is in use: another process listens on it", path);
		return -EADDRINUSE;
	}
	if (unlink(path) != 0) {
		snprintf(err, errlen, "cannot remove stale socket %s: %s", path,
			strerror(errno));
		return -errno;
	}
	return 0;
}

static int
registry_add(struct vport *v, char *err, size_t errlen)
{
	int i, slot = -1, ret = 0;

	pthread_mutex_lock(&vport_lock);
	for (i = 0; i < VHSW_MAX_PORTS; i++) {
		if (registry[i] == NULL) {
			if (slot < 0)
				slot = i;
		} else if (strcmp(registry[i]->socket, v->socket) == 0) {
			snprintf(err, errlen,
				"socket %s is already used by port %s",
				v->socket, registry[i]->port.name);
			ret = -EEXIST;
			goto out;
		}
	}
	if (slot < 0) {
		snprintf(err, errlen, "too many vhost-user ports (max %d)",
			VHSW_MAX_PORTS);
		ret = -ENOSPC;
		goto out;
	}
	registry[slot] = v;
out:
	pthread_mutex_unlock(&vport_lock);
	return ret;
}

static struct port *
vport_create(const struct vport_params *pr, char *err, size_t errlen)
{
	uint64_t flags = pr->client ? RTE_VHOST_USER_CLIENT : 0;
	uint64_t disable = VPORT_UNSUPPORTED_FEATURES;
	struct vport *v;

	if (vport_pool == NULL) {
		snprintf(err, errlen, "vhost-user ports are not initialised");
		return NULL;
	}
	if (vport_check_socket(pr->socket, pr->client, err, errlen) != 0)
		return NULL;
	if (pr->queues < 1 || pr->queues > VPORT_MAX_QUEUES) {
		snprintf(err, errlen, "queues must be 1..%d", VPORT_MAX_QUEUES);
		return NULL;
	}
	v = rte_zmalloc("vport", sizeof(*v), RTE_CACHE_LINE_SIZE);
	if (v == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	v->port.ops = &vport_ops;
	v->port.cls = &vport_class;
	v->port.priv = v;
	v->vid = -1;
	v->conn_fd = -1;
	v->slave_fd = -1;
	v->slave_req_fd = -1;
	v->uffd = -1;
	v->log_rl = (struct vlog_rl)VLOG_RATE_LIMIT_INIT(
		VPORT_LOG_BURST, VPORT_LOG_INTERVAL_MS);
	snprintf(v->port.name, sizeof(v->port.name), "%s", pr->name);
	snprintf(v->socket, sizeof(v->socket), "%s", pr->socket);
	v->client = pr->client;
	v->queues = pr->queues;
	v->set_owner = pr->set_owner;
	v->uid = pr->uid;
	v->gid = pr->gid;
	v->perm = pr->perm;
	v->queue_stats = pr->queue_stats;
	v->iommu = pr->iommu;
	v->postcopy = pr->postcopy;

	if (registry_add(v, err, errlen) != 0)
		goto fail;
	if (pr->queue_stats)
		flags |= RTE_VHOST_USER_NET_STATS_ENABLE;
	if (pr->iommu)
		flags |= RTE_VHOST_USER_IOMMU_SUPPORT;
	if (pr->postcopy) {
		int ret;

		pthread_mutex_lock(&vport_lock);
		ret = postcopy_watch_start__();
		pthread_mutex_unlock(&vport_lock);
		if (ret != 0) {
			snprintf(err, errlen,
				"cannot start the postcopy watch thread: %s",
				strerror(-ret));
			goto fail;
		}
		flags |= RTE_VHOST_USER_POSTCOPY_SUPPORT;
	}
	if (rte_vhost_driver_register(v->socket, flags) != 0) {
		snprintf(err, errlen, "cannot register vhost-user socket %s",
			v->socket);
		goto fail;
	}
	v->registered = true;
	if (pr->queues == 1)
		disable |= 1ULL << VIRTIO_NET_F_MQ;
	if (rte_vhost_driver_disable_features(v->socket, disable) != 0 ||
		rte_vhost_driver_callback_register(
			v->socket, &vport_vhost_ops) != 0) {
		snprintf(err, errlen, "cannot configure vhost-user socket %s",
			v->socket);
		goto fail;
	}
	if (rte_vhost_driver_start(v->socket) != 0) {
		snprintf(err, errlen,
			"cannot %s %s: check that the directory exists and is "
			"writable",
			v->client ? "start connecting to" : "listen on",
			v->socket);
		goto fail;
	}
	if (!v->client && v->set_owner &&
		chown(v->socket, v->uid, v->gid) != 0) {
		snprintf(err, errlen, "cannot chown %s: %s", v->socket,
			strerror(errno));
		goto fail;
	}
	if (!v->client && v->perm != 0 && chmod(v->socket, v->perm) != 0) {
		snprintf(err, errlen, "cannot chmod %s: %s", v->socket,
			strerror(errno));
		goto fail;
	}
	return &v->port;
fail:
	vport_destroy(&v->port);
	return NULL;
}

/* Parses "UID[:GID]" (numbers or names).  0 or -1. */
static int
parse_owner(const char *s, uid_t *uid, gid_t *gid)
{
	char user[64], *colon, *end;
	struct passwd *pw;
	struct group *gr;
	unsigned long v;

	snprintf(user, sizeof(user), "%s", s);
	colon = strchr(user, ':');
	if (colon != NULL)
		*colon++ = '\0';
	*gid = (gid_t)-1;
	v = strtoul(user, &end, 10);
	if (user[0] != '\0' && *end == '\0') {
		*uid = (uid_t)v;
	} else if ((pw = getpwnam(user)) != NULL) {
		*uid = pw->pw_uid;
	} else {
		return -1;
	}
	if (colon == NULL || *colon == '\0')
		return colon == NULL ? 0 : -1;
	v = strtoul(colon, &end, 10);
	if (*end == '\0')
		*gid = (gid_t)v;
	else if ((gr = getgrnam(colon)) != NULL)
		*gid = gr->gr_gid;
	else
		return -1;
	return 0;
}

/*
 * The class's create(): the keys of `port add NAME vhost-user SOCKET`
 * (socket, mode, queues, owner, perm; types checked by the caller).
 */
static struct port *
vport_create_conf(
	const struct port_conf *conf, json_t *params, char *err, size_t errlen)
{
	struct vport_params vp = {.name = conf->name, .gid = (gid_t)-1};
	const char *mode = json_string_value(json_object_get(params, "mode"));
	const char *owner = json_string_value(json_object_get(params, "owner"));
	const char *perm = json_string_value(json_object_get(params, "perm"));
	json_t *queues = json_object_get(params, "queues");
	struct port *p;

	vp.socket = json_string_value(json_object_get(params, "socket"));
	if (vp.socket == NULL) {
		snprintf(err, errlen, "a vhost-user port needs a socket path");
		return NULL;
	}
	if (mode != NULL && strcmp(mode, "server") != 0 &&
		strcmp(mode, "client") != 0) {
		snprintf(err, errlen, "mode must be server or client, not '%s'",
			mode);
		return NULL;
	}
	vp.client = mode != NULL && strcmp(mode, "client") == 0;
	vp.queue_stats = json_is_true(json_object_get(params, "queue_stats"));
	vp.iommu = json_is_true(json_object_get(params, "iommu"));
	vp.postcopy = json_is_true(json_object_get(params, "postcopy"));
	vp.queues = 1;
	if (json_is_integer(queues)) {
		if (json_integer_value(queues) < 1 ||
			json_integer_value(queues) > VPORT_MAX_QUEUES) {
			snprintf(err, errlen, "queues must be 1..%d",
				VPORT_MAX_QUEUES);
			return NULL;
		}
		vp.queues = (uint16_t)json_integer_value(queues);
	}
	if (perm != NULL) {
		char *end;
		unsigned long v = strtoul(perm, &end, 8);

		if (*end != '\0' || end == perm || v > 07777) {
			snprintf(err, errlen, "perm must be octal like 0660");
			return NULL;
		}
		vp.perm = (mode_t)v;
	}
	if (owner != NULL) {
		if (parse_owner(owner, &vp.uid, &vp.gid) != 0) {
			snprintf(err, errlen,
				"owner '%s' is not UID[:GID] or a known "
				"user[:group]",
				owner);
			return NULL;
		}
		vp.set_owner = true;
	}
	/* Server and client mode alike: the daemon's privileges. */
	if (conf->check_socket != NULL &&
		conf->check_socket(conf->policy, vp.socket, err, errlen) != 0)
		return NULL;
	p = vport_create(&vp, err, errlen);
	if (p != NULL)
		port_set_conf(p, conf, PORT_DEFAULT_MTU);
	return p;
}
