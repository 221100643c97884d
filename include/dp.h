/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp.h - the data-plane thread: poll every ready port, forward, repeat.
 *
 * One data-plane thread runs on its own lcore (the last of --lcores).  Each
 * loop iteration it loads the published port table, receives a burst from
 * every queue of every ready port, hands each burst to the forwarding core,
 * flushes the TX buffers and reports an RCU quiescent state.  It counts the
 * TSC cycles of iterations that moved packets (busy) and of those that did
 * not (idle), as OVS's pmd-perf-show does.
 *
 * The control thread publishes the set of ports with dp_set_ports(): it
 * fills the spare of two port tables, publishes it and waits for a grace
 * period, after which the previous table is unused (and becomes the spare)
 * and any port the caller left out is no longer touched by the data plane.
 * dp_synchronize() waits for one grace period (a few microseconds while the
 * loop runs; immediate when it is stopped or asleep).
 *
 * Adaptive polling (the default): after an idle period without a frame on
 * any port (1 ms, adapted to the traffic: see DP_IDLE_*), the loop asks the
 * vhost-user peers to kick (guest notifications on,
 * rte_vhost_enable_guest_notification), polls once more to close the race,
 * goes RCU-offline and blocks in epoll on their kick eventfds, its own wake
 * eventfd and a timeout (1 ms when a port has no such signal, such as an
 * ethdev; 100 ms otherwise).  The first kick returns it online and to busy
 * polling, notifications off again; a timeout or a wake without a kick
 * costs one poll before it sleeps again.  Grace periods never wait for a
 * sleeping loop; the control thread wakes it (dp_wake) when the port table
 * or a port's state changes, so it arms the ports it should watch.
 *
 * Thread-safety: dp_create/dp_start/dp_stop/dp_set_ports/dp_destroy: control
 * thread only.  dp_synchronize(): any thread that is not a data-plane
 * reader (control, vhost events).  dp_wake(), dp_get_stats(): any thread.
 * Debug builds (-Dasserts=true, vhsw_assert.h) assert the control-thread
 * rule and that dp_synchronize() is not called on the loop's thread; the
 * loop marks its read-side sections with rte_rcu_qsbr_lock/unlock, and
 * asserts it is outside them whenever it reports a quiescent state or
 * goes offline (DPDK's RTE_LIBRTE_RCU_DEBUG counts them).
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

struct dp {
	struct rte_rcu_qsbr *qsv;
	struct fdb *fdb;
	struct rte_mempool *pool;
	struct port_table *table;    /* published; RCU */
	struct port_table tables[2]; /* 'table' points at one of these */
	enum dp_poll_mode poll_mode; /* atomic: dp_set_poll_mode() */
	uint32_t idle_us;            /* atomic: the current idle period */
	unsigned int lcore;
	uint32_t stop; /* atomic */
	int wakefd;    /* eventfd: dp_wake() */
	bool running;
	struct dp_stats stats;
	struct dp_stats stats_base; /* control thread: last clear */
	struct fwd_ctx fwd;         /* data-plane thread only */

	/* Stall watch (see dp_check_stall). */
	pthread_t thread; /* the loop's thread, once it runs */
	int tid;          /* its kernel id; 0 while it does not run */
	bool (*stall_hook)(int fd);
	uint64_t stall_token; /* control thread: grace period being watched */
	bool stall_watching;
};

/*
 * Creates the data plane (not started) with an empty port table.  Returns
 * NULL on failure.
 */
struct dp *dp_create(struct fdb *fdb, struct rte_mempool *pool,
	struct rte_rcu_qsbr *qsv, enum dp_poll_mode mode);
/* Launches the loop on 'lcore'.  0 or -errno. */
int dp_start(struct dp *dp, unsigned int lcore);
/* Stops the loop and waits for it to return. */
void dp_stop(struct dp *dp);
void dp_destroy(struct dp *dp);

/*
 * Publishes the ports in 'by_id' (NULL where none) and waits for a grace
 * period; output-only ports (port->output_only) are reachable by id but
 * neither polled nor flooded to.  Never fails.
 */
void dp_set_ports(struct dp *dp, struct port *const by_id[VHSW_MAX_PORTS]);
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
/* Wakes the loop if it sleeps (adaptive polling).  Any thread. */
void dp_wake(struct dp *dp);
/* One loop iteration; returns the number of frames received.  For tests. */
uint32_t dp_poll_once(struct dp *dp);
/* Counters since the last dp_clear_stats(). */
void dp_get_stats(const struct dp *dp, struct dp_stats *st);
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
/* The current idle period (any thread). */
uint32_t dp_get_idle_us(const struct dp *dp);

#endif /* VHSW_DP_H */
