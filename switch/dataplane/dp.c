/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dp.c - the data-plane loop (see dp.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_log.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "counters.h"
#include "dp.h"
#include "monitor.h"
#include "vhsw_assert.h"
#include "vlog.h"

/* Control-thread lines only: the loop itself never logs. */
RTE_LOG_REGISTER(dp_logtype, vhsw.dp, INFO);
#define DP_PREFIX "vhswd: dp: "
static struct vlog_rl dp_stall_rl = VLOG_RATE_LIMIT_INIT(5, 1000);

#define DP_THREAD_ID 0 /* RCU reader id of the (single) data-plane thread */
#define DP_SLEEP_MAX_MS 100  /* sleep bound when every port can signal */
#define DP_SLEEP_NOINTR_MS 1 /* ... and when one cannot (ethdev ports) */
#define DP_MAX_EVENTS 64     /* more ready fds are seen by the next poll */

const char *
dp_poll_mode_name(enum dp_poll_mode mode)
{
	return mode == DP_POLL_BUSY ? "busy" : "adaptive";
}

struct dp *
dp_create(struct fdb *fdb, struct rte_mempool *pool, struct rte_rcu_qsbr *qsv,
	enum dp_poll_mode mode)
{
	struct dp *dp = rte_zmalloc("dp", sizeof(*dp), RTE_CACHE_LINE_SIZE);

	if (dp == NULL)
		return NULL;
	dp->table = &dp->tables[0];
	dp->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (dp->wakefd < 0) {
		rte_free(dp);
		return NULL;
	}
	dp->qsv = qsv;
	dp->fdb = fdb;
	dp->pool = pool;
	dp->poll_mode = mode;
	dp->idle_us = DP_IDLE_MIN_US;
	fwd_init(&dp->fwd, fdb, pool);
	return dp;
}

void
dp_destroy(struct dp *dp)
{
	VHSW_ASSERT_CONTROL_THREAD();
	if (dp == NULL)
		return;
	dp_stop(dp);
	close(dp->wakefd);
	rte_free(dp);
}

uint32_t
dp_poll_once(struct dp *dp)
{
	const struct port_table *tbl =
		__atomic_load_n(&dp->table, __ATOMIC_ACQUIRE);
	const struct port_monitor *mon;
	struct rte_mbuf *pkts[VHSW_BURST];
	uint32_t moved = 0;
	uint16_t i, q, nq, n;
	struct port *p;

	dp->fwd.tbl = tbl;
	for (i = 0; i < tbl->n; i++) {
		p = tbl->by_id[tbl->ids[i]];
		if (!port_is_ready(p))
			continue;
		nq = p->ops->n_rxq(p);
		for (q = 0; q < nq; q++) {
			n = p->ops->rx_burst(p, q, pkts, VHSW_BURST);
			if (n == 0)
				continue;
			mon = __atomic_load_n(&p->monitor, __ATOMIC_ACQUIRE);
			if (unlikely(mon != NULL))
				monitor_rx(&dp->fwd, mon, p, q, pkts, n);
			fwd_input(&dp->fwd, p, pkts, n);
			moved += n;
		}
	}
	fwd_flush(&dp->fwd);
	return moved;
}

/* Disarms the ports of the current table (see dp_sleep). */
static void
dp_disarm(struct dp *dp)
{
	const struct port_table *tbl =
		__atomic_load_n(&dp->table, __ATOMIC_ACQUIRE);
	struct port *p;
	uint16_t q;
	int i;

	for (i = 0; i < tbl->n; i++) {
		p = tbl->by_id[tbl->ids[i]];
		if (port_is_ready(p) && p->ops->intr_arm != NULL)
			for (q = 0; q < p->ops->n_rxq(p); q++)
				p->ops->intr_arm(p, q, -1, false);
	}
}

/*
 * Adaptive polling: every port has been idle for a while.  Arm the ports'
 * signals into a fresh epoll set, poll once more (a frame may have come
 * before the peer saw the request), then go RCU-offline and block until a
 * kick, a wake (dp_wake: port table or port state changed, stop) or a
 * timeout for ports without signals.
 *
 * The epoll set lives for one sleep only.  While the loop is offline the
 * control thread may delete a port and librte_vhost close its kick fds; a
 * set that outlived them could keep stale entries (the peer still holds
 * the eventfd) or meet the fd number again as another file.  Kick fds are
 * added edge-triggered after being drained while still online, so the loop
 * never reads a kick fd after the sleep, and after coming back online it
 * touches only ports of the table it loads then.
 *
 * Says whether it slept and what ended the sleep.
 */
enum dp_slept {
	DP_NOT_SLEPT, /* a frame came before it could, or no epoll set */
	DP_SLEPT_KICK,
	DP_SLEPT_QUIET, /* timeout or wake */
};

static enum dp_slept
dp_sleep(struct dp *dp)
{
	const struct port_table *tbl =
		__atomic_load_n(&dp->table, __ATOMIC_ACQUIRE);
	struct epoll_event ev[DP_MAX_EVENTS] = {{.events = EPOLLIN}};
	int epfd, timeout = DP_SLEEP_MAX_MS, n, i;
	enum dp_slept ret = DP_NOT_SLEPT;
	eventfd_t cnt;
	struct port *p;
	uint16_t q;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	ev[0].data.fd = dp->wakefd;
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, dp->wakefd, &ev[0])) {
		dp->stats.sleep_errors++; /* stay busy this time */
		if (epfd >= 0)
			close(epfd);
		return DP_NOT_SLEPT;
	}
	for (i = 0; i < tbl->n; i++) {
		p = tbl->by_id[tbl->ids[i]];
		if (!port_is_ready(p))
			continue;
		if (p->ops->intr_arm == NULL) {
			timeout = DP_SLEEP_NOINTR_MS;
			continue;
		}
		for (q = 0; q < p->ops->n_rxq(p); q++)
			if (p->ops->intr_arm(p, q, epfd, true) != 0)
				timeout = DP_SLEEP_NOINTR_MS;
	}
	if (dp_poll_once(dp) == 0 &&
		!__atomic_load_n(&dp->stop, __ATOMIC_RELAXED)) {
		dp->stats.sleeps++;
		rte_rcu_qsbr_unlock(dp->qsv, DP_THREAD_ID);
		VHSW_ASSERT_RCU_UNLOCKED(dp->qsv, DP_THREAD_ID);
		rte_rcu_qsbr_thread_offline(dp->qsv, DP_THREAD_ID);
		n = epoll_wait(epfd, ev, DP_MAX_EVENTS, timeout);
		rte_rcu_qsbr_thread_online(dp->qsv, DP_THREAD_ID);
		rte_rcu_qsbr_lock(dp->qsv, DP_THREAD_ID);
		ret = DP_SLEPT_QUIET;
		for (i = 0; i < n; i++) {
			/* The wakefd is non-blocking; kick fds are not read. */
			if (ev[i].data.fd == dp->wakefd)
				eventfd_read(dp->wakefd, &cnt);
			else
				ret = DP_SLEPT_KICK;
		}
	}
	close(epfd);
	dp_disarm(dp);
	return ret;
}

uint32_t
dp_next_idle_us(uint32_t idle_us, uint64_t slept_us, bool kicked)
{
	if (kicked && slept_us < DP_IDLE_SHORT * (uint64_t)idle_us)
		return RTE_MIN(idle_us * 2, (uint32_t)DP_IDLE_MAX_US);
	if (!kicked || slept_us >= DP_IDLE_LONG * (uint64_t)idle_us)
		return RTE_MAX(idle_us / 2, (uint32_t)DP_IDLE_MIN_US);
	return idle_us;
}

/* Publishes the loop's idle period (bounded) for stats; returns it. */
static uint32_t
set_idle_us(struct dp *dp, uint32_t us)
{
	us = RTE_MAX(RTE_MIN(us, (uint32_t)DP_IDLE_MAX_US),
		(uint32_t)DP_IDLE_MIN_US);
	__atomic_store_n(&dp->idle_us, us, __ATOMIC_RELAXED);
	return us;
}

static int
dp_main(void *arg)
{
	struct dp *dp = arg;
	uint64_t t0, t1, last_busy, idle_tsc, us_tsc, hz, t_hold;
	uint32_t moved, idle_us = DP_IDLE_MIN_US, next;
	enum dp_slept slept;

	dp->thread = pthread_self();
	__atomic_store_n(&dp->tid, rte_sys_gettid(), __ATOMIC_RELEASE);
	hz = rte_get_tsc_hz();
	us_tsc = hz / 1000000;
	idle_tsc = us_tsc * idle_us;
	vhsw_assert_set_reader(true);
	rte_rcu_qsbr_thread_register(dp->qsv, DP_THREAD_ID);
	rte_rcu_qsbr_thread_online(dp->qsv, DP_THREAD_ID);
	t0 = last_busy = t_hold = rte_rdtsc();
	while (!__atomic_load_n(&dp->stop, __ATOMIC_RELAXED)) {
		/*
		 * The read-side section.  rte_rcu_qsbr_lock/unlock count only
		 * in debug builds (RTE_LIBRTE_RCU_DEBUG), where a quiescent
		 * state reported inside a section is fatal.
		 */
		rte_rcu_qsbr_lock(dp->qsv, DP_THREAD_ID);
		moved = dp_poll_once(dp);
		rte_rcu_qsbr_unlock(dp->qsv, DP_THREAD_ID);
		VHSW_ASSERT_RCU_UNLOCKED(dp->qsv, DP_THREAD_ID);
		rte_rcu_qsbr_quiescent(dp->qsv, DP_THREAD_ID);
		t1 = rte_rdtsc();
		if (moved) {
			dp->stats.packets += moved;
			dp->stats.busy_cycles += t1 - t0;
			last_busy = t1;
		} else {
			dp->stats.idle_cycles += t1 - t0;
			/* A longer period holds for a second, then halves: sparse
			 * traffic after a loaded spell sleeps again. */
			if (unlikely(idle_us > DP_IDLE_MIN_US) &&
				t1 - t_hold > hz) {
				idle_us = set_idle_us(dp, idle_us / 2);
				idle_tsc = us_tsc * idle_us;
				t_hold = t1;
			}
		}
		dp->stats.iterations++;
		if (!moved &&
			__atomic_load_n(&dp->poll_mode, __ATOMIC_RELAXED) ==
				DP_POLL_ADAPTIVE &&
			t1 - last_busy > idle_tsc) {
			/* Sleep time is neither busy nor idle.  Only a kick
			 * (or a frame) restarts the idle period: after a timeout
			 * or a wake the loop polls once and sleeps again. */
			rte_rcu_qsbr_lock(dp->qsv, DP_THREAD_ID);
			slept = dp_sleep(dp);
			rte_rcu_qsbr_unlock(dp->qsv, DP_THREAD_ID);
			t0 = t1;
			t1 = rte_rdtsc();
			if (slept != DP_NOT_SLEPT) {
				next = dp_next_idle_us(idle_us,
					(t1 - t0) / us_tsc,
					slept == DP_SLEPT_KICK);
				if (next > idle_us)
					t_hold = t1;
				idle_us = set_idle_us(dp, next);
				idle_tsc = us_tsc * idle_us;
			}
			if (slept != DP_SLEPT_QUIET)
				last_busy = t1;
		}
		t0 = t1;
	}
	VHSW_ASSERT_RCU_UNLOCKED(dp->qsv, DP_THREAD_ID);
	rte_rcu_qsbr_thread_offline(dp->qsv, DP_THREAD_ID);
	rte_rcu_qsbr_thread_unregister(dp->qsv, DP_THREAD_ID);
	vhsw_assert_set_reader(false);
	/* The last act: dp_stop() pairs with it. */
	__atomic_store_n(&dp->tid, 0, __ATOMIC_RELEASE);
	return 0;
}

int
dp_poll_mode_parse(const char *name)
{
	if (strcmp(name, "busy") == 0)
		return DP_POLL_BUSY;
	if (strcmp(name, "adaptive") == 0)
		return DP_POLL_ADAPTIVE;
	return -1;
}

void
dp_set_poll_mode(struct dp *dp, enum dp_poll_mode mode)
{
	VHSW_ASSERT_CONTROL_THREAD();
	if (mode != __atomic_load_n(&dp->poll_mode, __ATOMIC_RELAXED))
		rte_log(RTE_LOG_INFO, dp_logtype, DP_PREFIX "poll mode %s\n",
			mode == DP_POLL_BUSY ? "busy" : "adaptive");
	__atomic_store_n(&dp->poll_mode, mode, __ATOMIC_RELAXED);
	dp_wake(dp);
}

uint32_t
dp_get_idle_us(const struct dp *dp)
{
	return __atomic_load_n(&dp->idle_us, __ATOMIC_RELAXED);
}

enum dp_poll_mode
dp_get_poll_mode(const struct dp *dp)
{
	return __atomic_load_n(&dp->poll_mode, __ATOMIC_RELAXED);
}

void
dp_wake(struct dp *dp)
{
	/* Fails only when the counter is full: a wake is pending anyway. */
	eventfd_write(dp->wakefd, 1);
}

int
dp_start(struct dp *dp, unsigned int lcore)
{
	int ret;

	VHSW_ASSERT_CONTROL_THREAD();
	__atomic_store_n(&dp->stop, 0, __ATOMIC_RELAXED);
	dp->lcore = lcore;
	ret = rte_eal_remote_launch(dp_main, dp, lcore);
	if (ret != 0)
		return ret;
	dp->running = true;
	return 0;
}

void
dp_stop(struct dp *dp)
{
	VHSW_ASSERT_CONTROL_THREAD();
	if (!dp->running)
		return;
	__atomic_store_n(&dp->stop, 1, __ATOMIC_RELAXED);
	dp_wake(dp);
	rte_eal_wait_lcore(dp->lcore);
	/*
	 * Whatever EAL uses to signal the lcore's end, everything the loop
	 * did happens before what follows (ThreadSanitizer sees this pair,
	 * not EAL's inner workings).
	 */
	(void)__atomic_load_n(&dp->tid, __ATOMIC_ACQUIRE);
	dp->running = false;
}

/*
 * ThreadSanitizer builds only.  librte_hash's defer queue checks grace
 * periods inside librte_rcu, which is not instrumented, and the
 * acknowledged token that leaves lets rte_rcu_qsbr_check() answer without
 * a load TSan can pair with the reader's quiescent-state report.  Loading
 * the reader's counter with acquire order shows TSan the grace period
 * that passed, so that what the reader did before it happens before what
 * the caller does next.
 */
static inline void
dp_tsan_grace_period(struct dp *dp)
{
#ifdef VHSW_TSAN
	(void)__atomic_load_n(
		&dp->qsv->qsbr_cnt[DP_THREAD_ID].cnt, __ATOMIC_ACQUIRE);
#else
	RTE_SET_USED(dp);
#endif
}

/* Interrupts the loop if it waits in a system call on a peer's fd. */
static void
dp_unstall(struct dp *dp)
{
	int tid = __atomic_load_n(&dp->tid, __ATOMIC_ACQUIRE), fd = -1;
	char path[64], buf[256];
	long nr = -1;
	ssize_t n;
	int f;

	if (tid == 0 || dp->stall_hook == NULL)
		return;
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return;
	buf[n] = '\0';
	/* "NR ARG1 ARG2 ...", or "running", or "-1 SP PC" */
	if (sscanf(buf, "%ld %x", &nr, (unsigned int *)&fd) != 2)
		return;
	if (nr != SYS_read && nr != SYS_write && nr != SYS_readv &&
		nr != SYS_writev && nr != SYS_preadv2)
		return;
	if (!dp->stall_hook(fd))
		return;
	__atomic_fetch_add(&dp->stats.stalls, 1, __ATOMIC_RELAXED);
	vlog_rl_log(&dp_stall_rl, dp_logtype, RTE_LOG_WARNING, DP_PREFIX,
		"the data-plane loop was blocked for a second in system call "
		"%ld on fd %d; interrupting it",
		nr, fd);
	pthread_kill(dp->thread, DP_STALL_SIGNAL);
}

bool
dp_synchronize_within(struct dp *dp, unsigned int ms)
{
	const struct timespec step = {.tv_nsec = 100000}; /* 0.1 ms */
	uint64_t token, steps = 0;

	VHSW_ASSERT_NOT_READER();
	/* Immediate when the loop sleeps: it is RCU-offline then. */
	token = rte_rcu_qsbr_start(dp->qsv);
	while (!rte_rcu_qsbr_check(dp->qsv, token, false)) {
		if (ms != 0 && steps >= ms * 10ULL)
			return false;
		nanosleep(&step, NULL);
		if (++steps % (DP_STALL_MS * 10ULL) == 0)
			dp_unstall(dp);
	}
	dp_tsan_grace_period(dp);
	return true;
}

void
dp_synchronize(struct dp *dp)
{
	dp_synchronize_within(dp, 0);
}

/* The stall signal only interrupts a system call. */
static void
dp_stall_signal(int sig)
{
	(void)sig;
}

int
dp_set_stall_hook(struct dp *dp, bool (*hook)(int fd))
{
	struct sigaction sa;

	VHSW_ASSERT_CONTROL_THREAD();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = dp_stall_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: the blocked call fails, EINTR */
	if (sigaction(DP_STALL_SIGNAL, &sa, NULL) != 0)
		return -errno;
	dp->stall_hook = hook;
	return 0;
}

void
dp_check_stall(struct dp *dp)
{
	VHSW_ASSERT_CONTROL_THREAD();
	if (dp->stall_watching &&
		!rte_rcu_qsbr_check(dp->qsv, dp->stall_token, false))
		dp_unstall(dp); /* no quiescent state for a whole second */
	dp->stall_token = rte_rcu_qsbr_start(dp->qsv);
	dp->stall_watching = true;
}

bool
dp_synchronize_cb(void *dp, unsigned int ms)
{
	return dp_synchronize_within(dp, ms);
}

void
dp_set_ports(struct dp *dp, struct port *const by_id[VHSW_MAX_PORTS])
{
	struct port_table *t =
		dp->table == &dp->tables[0] ? &dp->tables[1] : &dp->tables[0];
	int i;

	VHSW_ASSERT_CONTROL_THREAD();
	t->n = 0;
	for (i = 0; i < VHSW_MAX_PORTS; i++) {
		t->by_id[i] = by_id[i];
		if (by_id[i] != NULL && !by_id[i]->output_only)
			t->ids[t->n++] = (uint16_t)i;
	}
	__atomic_store_n(&dp->table, t, __ATOMIC_RELEASE);
	/* After this the old table, and ports not in 't', are unused. */
	dp_synchronize(dp);
	dp_wake(dp); /* a sleeping loop arms the new table's ports */
}

void
dp_get_stats(const struct dp *dp, struct dp_stats *st)
{
	counters_read(dp->stats.c, dp->stats_base.c, st->c, DP_STAT_COUNT);
}

void
dp_clear_stats(struct dp *dp)
{
	VHSW_ASSERT_CONTROL_THREAD();
	counters_snapshot(dp->stats.c, dp->stats_base.c, DP_STAT_COUNT);
}
