/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp.h - the data plane: N threads, each polling its receive queues,
 * forwarding, repeat.
 *
 * Every data-plane thread runs on its own EAL lcore (each CPU of --lcores
 * after the first).  The receive queues of every published port (each
 * port's queues 0 .. max_rxq) are assigned to the threads: a queue pinned
 * with `port set --rxq-affinity` goes to the thread of its CPU; the others
 * by measured load, OVS's "cycles" assignment: sorted by the cycles they
 * took over the last interval, heaviest first, each to the thread with
 * the least load so far (ties: the thread with fewer queues, then fewer
 * queues of the same port, then the next in round robin, so that queues
 * without measured load go round the threads port by port and a
 * multiqueue peer is spread), among the threads on the NUMA node of the
 * port's memory when there are any (port_ops.numa_node).  A thread polls
 * its queues that are below the port's n_rxq.
 *
 * Each loop iteration a thread loads the published table (the ports and
 * every thread's queue list), receives a burst from each of its queues,
 * hands it to its own forwarding context (fwd.h; TX buffers per thread,
 * flushed at the end of the iteration), and reports an RCU quiescent state
 * as reader 'index'.  It counts TSC cycles of iterations that moved
 * packets (busy) and that did not (idle), and each queue's cycles and
 * packets in the port (port->rxq_load), which the assignment reads.
 *
 * The control thread publishes the ports with dp_set_ports(): it fills the
 * spare of two tables, publishes it and waits for a grace period, after
 * which the previous table is unused (and becomes the spare).  When queues
 * change threads it first publishes a table in which they belong to no
 * thread and waits, so one queue is never polled by two threads and the
 * frames of one flow keep their order (what the old thread took is sent
 * before it passes its quiescent state; the rest waits in the queue).
 * dp_rebalance() re-runs the assignment with the loads measured since the
 * last one and applies it if it cuts the busiest thread's load by
 * DP_REBALANCE_GAIN_PCT percent (or always, when forced);
 * the control thread calls it every --rebalance-interval seconds.
 *
 * Adaptive polling (the default), per thread: after an idle period
 * without a frame on any of its queues (1 ms, adapted to the traffic: see
 * DP_IDLE_*), the thread asks the peers of its queues to kick (guest
 * notifications on, per queue), polls once more to close the race, goes
 * RCU-offline and blocks in epoll on those kick eventfds, its own wake
 * eventfd and a timeout (1 ms when a queue has no such signal, such as an
 * ethdev's; 100 ms otherwise), keeping CPUs from halting for the first
 * DP_LIGHT_MS (light sleep, below).  The first kick returns it online and
 * to busy polling: it polls at once, then turns notifications off again.
 * Grace periods never wait for a sleeping thread; the control thread wakes
 * them all (dp_wake) when the table or a port's state changes, so they arm
 * the queues they should.
 *
 * Thread-safety: dp_create/dp_set_lcores/dp_start/dp_stop/dp_set_ports/
 * dp_rebalance/dp_destroy and dp_thread_rxqs: control thread only.  dp_synchronize(): any thread that is not a data-plane reader
 * (control, vhost events).  dp_wake(), dp_get_stats(): any thread.  Debug
 * builds (-Dasserts=true, vhsw_assert.h) assert the control-thread rule
 * and that dp_synchronize() is not called on a loop's thread; each loop
 * marks its read-side sections with rte_rcu_qsbr_lock/unlock and asserts
 * it is outside them whenever it reports a quiescent state or goes
 * offline (DPDK's RTE_LIBRTE_RCU_DEBUG counts them).
 */
#ifndef VHSW_DP_H
#define VHSW_DP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>

#include "counters.h"
#include "fwd.h"
#include "port.h"

struct fdb;
struct rte_mempool;
struct rte_rcu_qsbr;

enum dp_poll_mode {
	DP_POLL_ADAPTIVE,
	DP_POLL_BUSY,
};

/*
 * The idle period before an adaptive sleep.  A sleep that a kick ends
 * within DP_IDLE_SHORT periods (the gap was less than twice the period)
 * was a gap in running traffic, a peer that was preempted, say: it cost a
 * wake-up, and the frames behind the gap waited for it, so the period
 * doubles, up to DP_IDLE_MAX_US.  A sleep of DP_IDLE_LONG periods or more,
 * or one no kick ended, halves it again, down to DP_IDLE_MIN_US.  So a
 * switch under load rides out its peers' short stalls, while sparse
 * traffic (frames 2 ms or more apart) still lets it sleep between frames
 * and an idle switch sleeps 1 ms after its last frame.  (A bound of 4
 * periods made the loop spin for a 200 frames/s flow.)  A longer period
 * also halves after a second without growing (the loop, which does not
 * sleep then, would otherwise never learn that the traffic thinned out).
 */
#define DP_IDLE_MIN_US 1000
#define DP_IDLE_MAX_US 16000
#define DP_IDLE_SHORT 1
#define DP_IDLE_LONG 8

/*
 * Light sleep.  A kick wakes a sleeping thread through the kernel, and when
 * its CPU has halted in idle (a vCPU in HLT, a core in a deep C-state) the
 * wake-up waits for the hypervisor or the core: 50-90 us at p50 on the
 * 2-CPU test VM, milliseconds when the host ran something else on that
 * core meanwhile; with the CPU polling in the kernel's idle loop it takes
 * about 6 us.  So for DP_LIGHT_MS after its idle period ended, a sleeping
 * thread holds a CPU-latency PM QoS request of 0 (/dev/cpu_dma_latency):
 * the thread sleeps and its CPU is free for other tasks, but CPUs do not
 * halt.  After that it drops the request (writes "no constraint") and the
 * CPUs may halt again.  The kernel drops the request when the process
 * dies, so a crash leaves nothing behind (a CPU's own resume-latency file
 * in sysfs would be more targeted, but would keep a SIGKILLed vhswd's
 * setting).  The price: during the window the host burns the CPUs' time
 * in the idle loop as busy polling would, though vhswd's CPU time does not
 * show it; with no traffic there is no window.  Off when the device cannot
 * be opened (not root).
 */
#define DP_LIGHT_MS 10

/*
 * Loop counters (counters.h), written by the data-plane thread only, except
 * 'stalls', which the stall watch adds to atomically.
 */
#define DP_STATS(X, P)                                                       \
	X(P, packets, "frames received and processed")                       \
	X(P, busy_cycles, "TSC cycles of loop iterations that moved frames") \
	X(P, idle_cycles, "TSC cycles of loop iterations that moved none")   \
	X(P, sleeps, "times the loop blocked waiting for work (adaptive)")   \
	X(P, sleep_errors,                                                   \
		"sleeps given up (no epoll set): the loop kept polling")     \
	X(P, iterations, "loop iterations")                                  \
	X(P, stalls,                                                         \
		"times the stall watch interrupted the loop blocked on a "   \
		"peer's eventfd")

/* clang-format off */
enum dp_stat_id {
	DP_STATS(COUNTER_ENUM, DP_STAT_)
	DP_STAT_COUNT
};
/* clang-format on */

/* dp->stats.packets is dp->stats.c[DP_STAT_packets]. */
struct dp_stats {
	COUNTERS_UNION(DP_STATS, DP_STAT_COUNT);
} __rte_cache_aligned;

/* One receive queue of a thread's list. */
struct dp_rxq {
	uint16_t port; /* id */
	uint16_t queue;
};

/* Every queue of every port, at most. */
#define DP_MAX_RXQS (VHSW_MAX_PORTS * PORT_MAX_RXQ)

/*
 * What a thread reads each iteration: the ports, and the queues of thread
 * t in rxq[first[t] .. first[t] + count[t]).  Immutable once published.
 */
struct dp_table {
	struct port_table ports;
	uint16_t first[VHSW_MAX_DP_THREADS];
	uint16_t count[VHSW_MAX_DP_THREADS];
	struct dp_rxq rxq[DP_MAX_RXQS];
};

/* The assignment's working space (dp.c). */
struct dp_scratch;

/* A thread's own state; only 'stats' and 'idle_us' are read by others. */
struct dp_thread {
	struct dp *dp;
	uint16_t index; /* RCU reader id, port_dp_thread() */
	unsigned int lcore;
	int cpu;          /* -1: not known (not started by dp_start) */
	int socket;       /* NUMA node of the CPU (SOCKET_ID_ANY: unknown) */
	int wakefd;       /* eventfd: dp_wake() */
	int light_fd;     /* /dev/cpu_dma_latency (DP_LIGHT_MS), or -1 */
	bool light_held;  /* the request is 0 now */
	uint32_t idle_us; /* atomic: the current idle period */
	pthread_t thread; /* the loop's thread, once it runs */
	int tid;          /* its kernel id; 0 while it does not run */
	struct dp_stats stats;
	struct dp_stats stats_base; /* control thread: last clear */
	struct fwd_ctx fwd;         /* this thread only */
} __rte_cache_aligned;

/* Rebalancing: apply a new assignment when it cuts the busiest thread's
 * load by this much (OVS's pmd-auto-lb-improvement-threshold is 25). */
#define DP_REBALANCE_GAIN_PCT 25
#define DP_REBALANCE_DEFAULT_S 60

struct dp {
	struct rte_rcu_qsbr *qsv;
	struct fdb *fdb;
	struct rte_mempool *pool;
	struct dp_table *table;      /* published; RCU */
	struct dp_table *tables[2];  /* 'table' is one of these */
	enum dp_poll_mode poll_mode; /* atomic: dp_set_poll_mode() */
	uint32_t stop;               /* atomic */
	bool running;
	uint16_t n_threads;
	struct dp_thread *threads[VHSW_MAX_DP_THREADS];

	/* Control thread: the assignment. */
	struct port *by_id[VHSW_MAX_PORTS]; /* as last published */
	/* Per port and queue: the thread it is on (or -1), and its cycles
	 * at the last rebalance (the load of an interval is the change). */
	int8_t assigned[VHSW_MAX_PORTS][PORT_MAX_RXQ];
	uint64_t load_base[VHSW_MAX_PORTS][PORT_MAX_RXQ];
	uint64_t last_load[VHSW_MAX_PORTS][PORT_MAX_RXQ];     /* last second */
	uint64_t interval_load[VHSW_MAX_PORTS][PORT_MAX_RXQ]; /* since the
							 last rebalance */
	uint64_t last_tick;         /* TSC of the last dp_tick() */
	uint64_t last_tsc;          /* TSC cycles of the last second */
	uint64_t interval_tsc;      /* TSC cycles since the last rebalance */
	uint64_t rebalances;        /* applied */
	struct dp_scratch *scratch; /* the assignment's working space */

	/* Stall watch (see dp_check_stall). */
	bool (*stall_hook)(int fd);
	uint64_t stall_token; /* control thread: grace period being watched */
	bool stall_watching;
};

/*
 * Creates the data plane (not started) with one thread and an empty port
 * table.  Returns NULL on failure.
 */
struct dp *dp_create(struct fdb *fdb, struct rte_mempool *pool,
	struct rte_rcu_qsbr *qsv, enum dp_poll_mode mode);
/*
 * Sets the threads: one per lcore in 'lcores' (1 .. VHSW_MAX_DP_THREADS),
 * on CPU cpus[i] (for `dataplane show` and pinning; NULL: unknown).  Before
 * dp_start() and before any port is published; also sets
 * port_dp_threads().  0, -EINVAL or -ENOMEM.
 */
int dp_set_lcores(
	struct dp *dp, const unsigned int *lcores, const int *cpus, uint16_t n);
/* Launches every thread on its lcore.  0 or -errno. */
int dp_start(struct dp *dp);
/* Stops the threads and waits for them to return. */
void dp_stop(struct dp *dp);
void dp_destroy(struct dp *dp);

/*
 * Publishes the ports in 'by_id' (NULL where none) with their queues
 * assigned to threads (queues of ports already published stay where they
 * are unless pinned elsewhere) and waits for a grace period; output-only
 * ports (port->output_only) are reachable by id but neither polled nor
 * flooded to.  Never fails.
 */
void dp_set_ports(struct dp *dp, struct port *const by_id[VHSW_MAX_PORTS]);
/*
 * Re-runs the assignment with the loads measured since the last call and
 * applies it if it is better by DP_REBALANCE_GAIN_PCT (always if 'force'
 * and it differs).  Returns true if queues moved.
 */
bool dp_rebalance(struct dp *dp, bool force);
/*
 * Control thread, once a second: samples each queue's load of the last
 * second (shown by `dataplane show`) and, every 'rebalance_s' seconds (0:
 * never), calls dp_rebalance(dp, false).
 */
void dp_tick(struct dp *dp, uint32_t rebalance_s);
/* The thread that runs on 'cpu', or -1. */
int dp_thread_of_cpu(const struct dp *dp, int cpu);
/*
 * Thread 't''s queues in the published table (control thread: `dataplane
 * show` reads them, and each queue's port->rxq_load, directly).
 */
static inline const struct dp_rxq *
dp_thread_rxqs(const struct dp *dp, uint16_t t, uint16_t *n)
{
	*n = dp->table->count[t];
	return &dp->table->rxq[dp->table->first[t]];
}
/* Waits for a grace period. */
void dp_synchronize(struct dp *dp);

/*
 * Stall watch.  The loop must never wait on a peer, but librte_vhost writes
 * the peer's call eventfd itself, and a peer can make that file blocking
 * and fill its counter.  When the loop has not passed a quiescent state for
 * DP_STALL_MS, the waiter reads the system call the loop's thread is in
 * (/proc/self/task/TID/syscall); if it is a read or write on an fd and the
 * hook says a peer owns that fd (the hook stops using the peer's port), the
 * call is interrupted with DP_STALL_SIGNAL and the loop goes on.
 *
 * dp_set_stall_hook: at start, before dp_start().  'hook' is called from
 * whichever thread waits (control thread, vhost-events thread) and must
 * not wait for the data plane.  dp_check_stall: control thread, once a
 * second, for stalls while nobody waits for a grace period.
 */
#define DP_STALL_MS 100
#define DP_STALL_SIGNAL SIGURG
int dp_set_stall_hook(struct dp *dp, bool (*hook)(int fd));
void dp_check_stall(struct dp *dp);
/* dp_synchronize() for at most 'ms' milliseconds (0: no limit); true if
 * the grace period passed. */
bool dp_synchronize_within(struct dp *dp, unsigned int ms);
/* dp_synchronize_within() with a void * argument, for hooks (vport_init). */
bool dp_synchronize_cb(void *dp, unsigned int ms);
/* Wakes the threads that sleep (adaptive polling).  Any thread. */
void dp_wake(struct dp *dp);
/* One iteration of thread 0; returns the frames received.  For tests. */
uint32_t dp_poll_once(struct dp *dp);
/* Counters since the last dp_clear_stats(): all threads' sums. */
void dp_get_stats(const struct dp *dp, struct dp_stats *st);
/* Thread 'i''s counters since the last clear. */
void dp_get_thread_stats(const struct dp *dp, uint16_t i, struct dp_stats *st);
void dp_clear_stats(struct dp *dp);
const char *dp_poll_mode_name(enum dp_poll_mode mode);
/* "busy" / "adaptive" -> mode; -1 if neither. */
int dp_poll_mode_parse(const char *name);
/*
 * Switches the polling mode of a running loop (control thread).  A loop
 * asleep when busy polling is chosen is woken.
 */
void dp_set_poll_mode(struct dp *dp, enum dp_poll_mode mode);
enum dp_poll_mode dp_get_poll_mode(const struct dp *dp);
/* The next idle period after a sleep of 'slept_us' (see DP_IDLE_*). */
uint32_t dp_next_idle_us(uint32_t idle_us, uint64_t slept_us, bool kicked);
/* The longest current idle period of the threads (any thread). */
uint32_t dp_get_idle_us(const struct dp *dp);

#endif /* VHSW_DP_H */
