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
#include <rte_spinlock.h>

#include "counters.h"
#include "dp.h"
#include "monitor.h"
#include "vhsw_assert.h"
#include "vlog.h"

/* Control-thread lines only: the loop itself never logs. */
RTE_LOG_REGISTER(dp_logtype, vhsw.dp, INFO);
#define DP_PREFIX "vhswd: dp: "
static struct vlog_rl dp_stall_rl = VLOG_RATE_LIMIT_INIT(5, 1000);

#define DP_SLEEP_MAX_MS 100  /* sleep bound when every port can signal */
#define DP_SLEEP_NOINTR_MS 1 /* ... and when one cannot (ethdev ports) */
#define DP_MAX_EVENTS 64     /* more ready fds are seen by the next poll */

const char *
dp_poll_mode_name(enum dp_poll_mode mode)
{
	return mode == DP_POLL_BUSY ? "busy" : "adaptive";
}

/* A queue to place (see assign). */
struct cand {
	uint16_t port;
	uint16_t queue;
	uint64_t load;
};

/* What the placement knows of each thread while it places queues. */
struct placing {
	uint64_t load[VHSW_MAX_DP_THREADS];
	uint16_t n[VHSW_MAX_DP_THREADS];
	uint8_t of_port[VHSW_MAX_PORTS][VHSW_MAX_DP_THREADS];
	uint16_t last; /* the thread chosen last */
};

struct dp_scratch {
	struct placing pl;
	struct cand cand[DP_MAX_RXQS];
	int8_t keep[VHSW_MAX_PORTS][PORT_MAX_RXQ];
	int8_t asg[VHSW_MAX_PORTS][PORT_MAX_RXQ];
	bool moved[VHSW_MAX_PORTS][PORT_MAX_RXQ];
};

/* A thread's state, on the NUMA socket of its lcore. */
static struct dp_thread *
thread_new(struct dp *dp, uint16_t index, unsigned int lcore, int cpu)
{
	unsigned int socket = rte_lcore_to_socket_id(lcore);
	struct dp_thread *t;

	t = rte_zmalloc_socket("dp_thread", sizeof(*t), RTE_CACHE_LINE_SIZE,
		socket == (unsigned int)SOCKET_ID_ANY ? SOCKET_ID_ANY
						      : (int)socket);
	if (t == NULL)
		return NULL;
	t->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (t->wakefd < 0) {
		rte_free(t);
		return NULL;
	}
	t->light_fd = -1;
	t->dp = dp;
	t->socket = socket == (unsigned int)SOCKET_ID_ANY ? SOCKET_ID_ANY
							  : (int)socket;
	t->index = index;
	t->lcore = lcore;
	t->cpu = cpu;
	t->idle_us = DP_IDLE_MIN_US;
	fwd_init(&t->fwd, dp->fdb, dp->pool);
	t->fwd.thread = index;
	return t;
}

static void
thread_free(struct dp_thread *t)
{
	if (t == NULL)
		return;
	close(t->wakefd);
	rte_free(t);
}

struct dp *
dp_create(struct fdb *fdb, struct rte_mempool *pool, struct rte_rcu_qsbr *qsv,
	enum dp_poll_mode mode)
{
	struct dp *dp = rte_zmalloc("dp", sizeof(*dp), RTE_CACHE_LINE_SIZE);

	if (dp == NULL)
		return NULL;
	dp->qsv = qsv;
	dp->fdb = fdb;
	dp->pool = pool;
	dp->poll_mode = mode;
	memset(dp->assigned, -1, sizeof(dp->assigned));
	dp->tables[0] = rte_zmalloc("dp_table", sizeof(struct dp_table), 0);
	dp->tables[1] = rte_zmalloc("dp_table", sizeof(struct dp_table), 0);
	dp->scratch = calloc(1, sizeof(*dp->scratch));
	dp->threads[0] = thread_new(dp, 0, rte_lcore_id(), -1);
	if (dp->tables[0] == NULL || dp->tables[1] == NULL ||
		dp->scratch == NULL || dp->threads[0] == NULL) {
		thread_free(dp->threads[0]);
		free(dp->scratch);
		rte_free(dp->tables[0]);
		rte_free(dp->tables[1]);
		rte_free(dp);
		return NULL;
	}
	dp->n_threads = 1;
	dp->table = dp->tables[0];
	dp->last_tick = rte_rdtsc();
	return dp;
}

int
dp_set_lcores(
	struct dp *dp, const unsigned int *lcores, const int *cpus, uint16_t n)
{
	struct dp_thread *t[VHSW_MAX_DP_THREADS] = {NULL};
	uint16_t i;

	VHSW_ASSERT_CONTROL_THREAD();
	if (n == 0 || n > VHSW_MAX_DP_THREADS || dp->running)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		t[i] = thread_new(dp, i, lcores[i], cpus ? cpus[i] : -1);
		if (t[i] == NULL) {
			while (i > 0)
				thread_free(t[--i]);
			return -ENOMEM;
		}
	}
	for (i = 0; i < dp->n_threads; i++)
		thread_free(dp->threads[i]);
	memcpy(dp->threads, t, sizeof(t));
	dp->n_threads = n;
	port_set_dp_threads(n);
	return 0;
}

void
dp_destroy(struct dp *dp)
{
	uint16_t i;

	VHSW_ASSERT_CONTROL_THREAD();
	if (dp == NULL)
		return;
	dp_stop(dp);
	for (i = 0; i < dp->n_threads; i++)
		thread_free(dp->threads[i]);
	free(dp->scratch);
	rte_free(dp->tables[0]);
	rte_free(dp->tables[1]);
	rte_free(dp);
}

/*
 * One pass over the thread's queues: receive, forward, account the
 * queue's cycles (from 'tsc', the iteration's start, or the end of the
 * previous busy queue), then send what was queued.
 */
static uint32_t
thread_poll(struct dp_thread *t, uint64_t tsc)
{
	const struct dp_table *dt =
		__atomic_load_n(&t->dp->table, __ATOMIC_ACQUIRE);
	const struct dp_rxq *rq = &dt->rxq[dt->first[t->index]];
	uint16_t i, q, n, nrq = dt->count[t->index];
	const struct port_monitor *mon;
	struct rte_mbuf *pkts[VHSW_BURST];
	struct port_rxq_load *ld;
	uint32_t moved = 0;
	uint64_t now;
	struct port *p;

	t->fwd.tbl = &dt->ports;
	for (i = 0; i < nrq; i++) {
		p = dt->ports.by_id[rq[i].port];
		q = rq[i].queue;
		if (!port_is_ready(p) || q >= p->ops->n_rxq(p))
			continue;
		n = p->ops->rx_burst(p, q, pkts, VHSW_BURST);
		if (n == 0)
			continue;
		mon = __atomic_load_n(&p->monitor, __ATOMIC_ACQUIRE);
		if (unlikely(mon != NULL))
			monitor_rx(&t->fwd, mon, p, q, pkts, n);
		fwd_input(&t->fwd, p, pkts, n);
		moved += n;
		now = rte_rdtsc();
		ld = &p->rxq_load[q];
		/* This thread alone writes it: no read-modify-write. */
		__atomic_store_n(&ld->cycles, ld->cycles + (now - tsc),
			__ATOMIC_RELAXED);
		__atomic_store_n(
			&ld->packets, ld->packets + n, __ATOMIC_RELAXED);
		tsc = now;
	}
	fwd_flush(&t->fwd);
	return moved;
}

uint32_t
dp_poll_once(struct dp *dp)
{
	return thread_poll(dp->threads[0], rte_rdtsc());
}

/* Disarms the thread's queues of the current table (see thread_sleep). */
static void
thread_disarm(struct dp_thread *t)
{
	const struct dp_table *dt =
		__atomic_load_n(&t->dp->table, __ATOMIC_ACQUIRE);
	const struct dp_rxq *rq = &dt->rxq[dt->first[t->index]];
	uint16_t i, nrq = dt->count[t->index];
	struct port *p;

	for (i = 0; i < nrq; i++) {
		p = dt->ports.by_id[rq[i].port];
		if (port_is_ready(p) && p->ops->intr_arm != NULL &&
			rq[i].queue < p->ops->n_rxq(p))
			p->ops->intr_arm(p, rq[i].queue, -1, false);
	}
}

/*
 * Light sleep (DP_LIGHT_MS): the thread's own CPU-latency request, made at
 * its start ("no constraint") and set to 0 or back around the first
 * DP_LIGHT_MS of each sleep.  Binary 32-bit values, as the device takes.
 */
#define DP_LIGHT_NONE INT32_MAX /* microseconds: no constraint */

static void
light_hold(struct dp_thread *t, bool hold)
{
	int32_t v = hold ? 0 : DP_LIGHT_NONE;

	if (t->light_fd >= 0 && hold != t->light_held &&
		write(t->light_fd, &v, sizeof(v)) == sizeof(v))
		t->light_held = hold;
}

static void
light_open(struct dp_thread *t)
{
	t->light_fd = open("/dev/cpu_dma_latency", O_RDWR | O_CLOEXEC);
	t->light_held = true; /* forces the first write */
	light_hold(t, false);
}

static void
light_close(struct dp_thread *t)
{
	if (t->light_fd >= 0)
		close(t->light_fd); /* the kernel drops the request */
	t->light_fd = -1;
	t->light_held = false;
}

/*
 * epoll_wait() for up to 'timeout' ms, the CPUs kept from halting until
 * TSC 'light_end'.  A kick leaves the request held: the thread is busy
 * again, and its next sleep may be light too.
 */
static int
light_wait(struct dp_thread *t, int epfd, struct epoll_event *ev, int timeout,
	uint64_t light_end)
{
	uint64_t now = rte_rdtsc(), ms_tsc = rte_get_tsc_hz() / 1000;
	int light = 0, n;

	if (t->light_fd >= 0 && now < light_end)
		light = (int)RTE_MIN(
			(light_end - now) / ms_tsc + 1, (uint64_t)timeout);
	if (light > 0) {
		light_hold(t, true);
		n = epoll_wait(epfd, ev, DP_MAX_EVENTS, light);
		if (n != 0 || light == timeout)
			return n;
		timeout -= light;
	}
	light_hold(t, false);
	return epoll_wait(epfd, ev, DP_MAX_EVENTS, timeout);
}

/*
 * Adaptive polling: every queue of the thread has been idle for a while.
 * Arm the queues' signals into a fresh epoll set, poll once more (a frame
 * may have come before the peer saw the request), then go RCU-offline
 * and block until a kick, a wake (dp_wake: table or port state changed,
 * stop) or a timeout for queues without signals.
 *
 * The epoll set lives for one sleep only.  While the thread is offline
 * the control thread may delete a port and librte_vhost close its kick
 * fds; a set that outlived them could keep stale entries (the peer still
 * holds the eventfd) or meet the fd number again as another file.  Kick
 * fds are added edge-triggered after being drained while still online, so
 * the thread never reads a kick fd after the sleep, and after coming back
 * online it touches only ports of the table it loads then.
 *
 * Light until TSC 'light_end' (light_wait).  After a kick it polls before
 * it disarms: the frame that kicked waits for nothing else.
 *
 * Says whether it slept and what ended the sleep.
 */
enum dp_slept {
	DP_NOT_SLEPT, /* a frame came before it could, or no epoll set */
	DP_SLEPT_KICK,
	DP_SLEPT_QUIET, /* timeout or wake */
};

static enum dp_slept
thread_sleep(struct dp_thread *t, uint64_t light_end)
{
	struct dp *dp = t->dp;
	const struct dp_table *dt =
		__atomic_load_n(&dp->table, __ATOMIC_ACQUIRE);
	const struct dp_rxq *rq = &dt->rxq[dt->first[t->index]];
	struct epoll_event ev[DP_MAX_EVENTS] = {{.events = EPOLLIN}};
	int epfd, timeout = DP_SLEEP_MAX_MS, n, i;
	uint16_t k, nrq = dt->count[t->index];
	enum dp_slept ret = DP_NOT_SLEPT;
	eventfd_t cnt;
	uint32_t moved;
	struct port *p;

	epfd = epoll_create1(EPOLL_CLOEXEC);
	ev[0].data.fd = t->wakefd;
	if (epfd < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, t->wakefd, &ev[0])) {
		t->stats.sleep_errors++; /* stay busy this time */
		if (epfd >= 0)
			close(epfd);
		return DP_NOT_SLEPT;
	}
	for (k = 0; k < nrq; k++) {
		p = dt->ports.by_id[rq[k].port];
		if (!port_is_ready(p) || rq[k].queue >= p->ops->n_rxq(p))
			continue;
		if (p->ops->intr_arm == NULL ||
			p->ops->intr_arm(p, rq[k].queue, epfd, true) != 0)
			timeout = DP_SLEEP_NOINTR_MS;
	}
	/* Frames this last poll found count like any others. */
	moved = thread_poll(t, rte_rdtsc());
	t->stats.packets += moved;
	if (moved == 0 && !__atomic_load_n(&dp->stop, __ATOMIC_RELAXED)) {
		t->stats.sleeps++;
		rte_rcu_qsbr_unlock(dp->qsv, t->index);
		VHSW_ASSERT_RCU_UNLOCKED(dp->qsv, t->index);
		rte_rcu_qsbr_thread_offline(dp->qsv, t->index);
		n = light_wait(t, epfd, ev, timeout, light_end);
		rte_rcu_qsbr_thread_online(dp->qsv, t->index);
		rte_rcu_qsbr_lock(dp->qsv, t->index);
		ret = DP_SLEPT_QUIET;
		for (i = 0; i < n; i++) {
			/* The wakefd is non-blocking; kick fds are not read. */
			if (ev[i].data.fd == t->wakefd)
				eventfd_read(t->wakefd, &cnt);
			else
				ret = DP_SLEPT_KICK;
		}
		if (ret == DP_SLEPT_KICK)
			t->stats.packets += thread_poll(t, rte_rdtsc());
	}
	close(epfd);
	thread_disarm(t);
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
set_idle_us(struct dp_thread *t, uint32_t us)
{
	us = RTE_MAX(RTE_MIN(us, (uint32_t)DP_IDLE_MAX_US),
		(uint32_t)DP_IDLE_MIN_US);
	__atomic_store_n(&t->idle_us, us, __ATOMIC_RELAXED);
	return us;
}

static int
dp_main(void *arg)
{
	struct dp_thread *t = arg;
	struct dp *dp = t->dp;
	uint64_t t0, t1, last_busy, idle_tsc, us_tsc, hz, t_hold, light_tsc;
	uint32_t moved, idle_us = DP_IDLE_MIN_US, next;
	const unsigned int id = t->index;
	enum dp_slept slept;

	t->thread = pthread_self();
	__atomic_store_n(&t->tid, rte_sys_gettid(), __ATOMIC_RELEASE);
	port_set_dp_thread(t->index);
	hz = rte_get_tsc_hz();
	us_tsc = hz / 1000000;
	idle_tsc = us_tsc * idle_us;
	vhsw_assert_set_reader(true);
	rte_rcu_qsbr_thread_register(dp->qsv, id);
	rte_rcu_qsbr_thread_online(dp->qsv, id);
	light_open(t);
	light_tsc = hz / 1000 * DP_LIGHT_MS;
	t0 = last_busy = t_hold = rte_rdtsc();
	while (!__atomic_load_n(&dp->stop, __ATOMIC_RELAXED)) {
		/*
		 * The read-side section.  rte_rcu_qsbr_lock/unlock count only
		 * in debug builds (RTE_LIBRTE_RCU_DEBUG), where a quiescent
		 * state reported inside a section is fatal.
		 */
		rte_rcu_qsbr_lock(dp->qsv, id);
		moved = thread_poll(t, t0);
		rte_rcu_qsbr_unlock(dp->qsv, id);
		VHSW_ASSERT_RCU_UNLOCKED(dp->qsv, id);
		rte_rcu_qsbr_quiescent(dp->qsv, id);
		t1 = rte_rdtsc();
		if (moved) {
			t->stats.packets += moved;
			t->stats.busy_cycles += t1 - t0;
			last_busy = t1;
		} else {
			t->stats.idle_cycles += t1 - t0;
			/* A longer period holds for a second, then halves: sparse
			 * traffic after a loaded spell sleeps again. */
			if (unlikely(idle_us > DP_IDLE_MIN_US) &&
				t1 - t_hold > hz) {
				idle_us = set_idle_us(t, idle_us / 2);
				idle_tsc = us_tsc * idle_us;
				t_hold = t1;
			}
		}
		t->stats.iterations++;
		if (!moved &&
			__atomic_load_n(&dp->poll_mode, __ATOMIC_RELAXED) ==
				DP_POLL_ADAPTIVE &&
			t1 - last_busy > idle_tsc) {
			/* Sleep time is neither busy nor idle.  Only a kick
			 * (or a frame) restarts the idle period: after a timeout
			 * or a wake the loop polls once and sleeps again. */
			rte_rcu_qsbr_lock(dp->qsv, id);
			slept = thread_sleep(
				t, last_busy + idle_tsc + light_tsc);
			rte_rcu_qsbr_unlock(dp->qsv, id);
			t0 = t1;
			t1 = rte_rdtsc();
			if (slept != DP_NOT_SLEPT) {
				next = dp_next_idle_us(idle_us,
					(t1 - t0) / us_tsc,
					slept == DP_SLEPT_KICK);
				if (next > idle_us)
					t_hold = t1;
				idle_us = set_idle_us(t, next);
				idle_tsc = us_tsc * idle_us;
			}
			if (slept != DP_SLEPT_QUIET)
				last_busy = t1;
		}
		t0 = t1;
	}
	light_close(t);
	VHSW_ASSERT_RCU_UNLOCKED(dp->qsv, id);
	rte_rcu_qsbr_thread_offline(dp->qsv, id);
	rte_rcu_qsbr_thread_unregister(dp->qsv, id);
	vhsw_assert_set_reader(false);
	/* The last act: dp_stop() pairs with it. */
	__atomic_store_n(&t->tid, 0, __ATOMIC_RELEASE);
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
	uint32_t us = 0;
	uint16_t i;

	for (i = 0; i < dp->n_threads; i++)
		us = RTE_MAX(us,
			__atomic_load_n(
				&dp->threads[i]->idle_us, __ATOMIC_RELAXED));
	return us;
}

enum dp_poll_mode
dp_get_poll_mode(const struct dp *dp)
{
	return __atomic_load_n(&dp->poll_mode, __ATOMIC_RELAXED);
}

void
dp_wake(struct dp *dp)
{
	uint16_t i;

	/* Fails only when the counter is full: a wake is pending anyway. */
	for (i = 0; i < dp->n_threads; i++)
		eventfd_write(dp->threads[i]->wakefd, 1);
}

int
dp_start(struct dp *dp)
{
	uint16_t i;
	int ret;

	VHSW_ASSERT_CONTROL_THREAD();
	__atomic_store_n(&dp->stop, 0, __ATOMIC_RELAXED);
	for (i = 0; i < dp->n_threads; i++) {
		ret = rte_eal_remote_launch(
			dp_main, dp->threads[i], dp->threads[i]->lcore);
		if (ret != 0) {
			/* Those launched stop again. */
			__atomic_store_n(&dp->stop, 1, __ATOMIC_RELAXED);
			dp_wake(dp);
			while (i > 0)
				rte_eal_wait_lcore(dp->threads[--i]->lcore);
			return ret;
		}
	}
	dp->running = true;
	return 0;
}

void
dp_stop(struct dp *dp)
{
	uint16_t i;

	VHSW_ASSERT_CONTROL_THREAD();
	if (!dp->running)
		return;
	__atomic_store_n(&dp->stop, 1, __ATOMIC_RELAXED);
	dp_wake(dp);
	for (i = 0; i < dp->n_threads; i++) {
		rte_eal_wait_lcore(dp->threads[i]->lcore);
		/*
		 * Whatever EAL uses to signal the lcore's end, everything the
		 * loop did happens before what follows (ThreadSanitizer sees
		 * this pair, not EAL's inner workings).
		 */
		(void)__atomic_load_n(&dp->threads[i]->tid, __ATOMIC_ACQUIRE);
	}
	dp->running = false;
}

/*
 * ThreadSanitizer builds only.  librte_hash's defer queue checks grace
 * periods inside librte_rcu, which is not instrumented, and the
 * acknowledged token that leaves lets rte_rcu_qsbr_check() answer without
 * a load TSan can pair with the readers' quiescent-state reports.  Loading
 * each reader's counter with acquire order shows TSan the grace period
 * that passed, so that what the readers did before it happens before what
 * the caller does next.
 */
static inline void
dp_tsan_grace_period(struct dp *dp)
{
#ifdef VHSW_TSAN
	uint16_t i;

	for (i = 0; i < dp->n_threads; i++)
		(void)__atomic_load_n(
			&dp->qsv->qsbr_cnt[i].cnt, __ATOMIC_ACQUIRE);
#else
	RTE_SET_USED(dp);
#endif
}

/* Interrupts thread 't' if it waits in a system call on a peer's fd. */
static void
thread_unstall(struct dp_thread *t)
{
	int tid = __atomic_load_n(&t->tid, __ATOMIC_ACQUIRE), fd = -1;
	char path[64], buf[256];
	long nr = -1;
	ssize_t n;
	int f;

	if (tid == 0 || t->dp->stall_hook == NULL)
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
	/* sendmsg: librte_vhost's IOTLB miss requests (vport.c). */
	if (nr != SYS_read && nr != SYS_write && nr != SYS_readv &&
		nr != SYS_writev && nr != SYS_preadv2 && nr != SYS_sendmsg)
		return;
	if (!t->dp->stall_hook(fd))
		return;
	__atomic_fetch_add(&t->stats.stalls, 1, __ATOMIC_RELAXED);
	vlog_rl_log(&dp_stall_rl, dp_logtype, RTE_LOG_WARNING, DP_PREFIX,
		"data-plane thread %u (CPU %d) was blocked for a second in "
		"system call %ld on fd %d; interrupting it",
		t->index, t->cpu, nr, fd);
	pthread_kill(t->thread, DP_STALL_SIGNAL);
}

/* Frees every thread that waits on a peer's fd. */
static void
dp_unstall(struct dp *dp)
{
	uint16_t i;

	for (i = 0; i < dp->n_threads; i++)
		thread_unstall(dp->threads[i]);
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

/*
 * Receive-queue assignment (control thread).
 *
 * dp->assigned[port][queue] is the thread of each queue of the published
 * ports (-1: none).  A queue pinned to a CPU with a thread goes there; the
 * others keep their thread (dp_set_ports) or are all placed again by load
 * (dp_rebalance).  Placing by load is OVS's "cycles" assignment: the
 * queues sorted by their load, heaviest first, each to the thread with the
 * least load so far; ties go to the thread with fewer queues of the same
 * port (a multiqueue peer's queues spread over the threads even before
 * any load is known), then to the one with fewer queues, then to the lower
 * index.
 */

static int
cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;

	if (x->load != y->load)
		return x->load > y->load ? -1 : 1;
	if (x->port != y->port)
		return x->port < y->port ? -1 : 1;
	return x->queue < y->queue ? -1 : x->queue > y->queue;
}

static void
place(struct placing *pl, int8_t *slot, uint16_t port, uint16_t t,
	uint64_t load)
{
	*slot = (int8_t)t;
	pl->load[t] += load;
	pl->n[t]++;
	pl->of_port[port][t]++;
}

/* Whether thread 'a' is a better place than 'b' for a queue of 'port'. */
static bool
better(const struct dp *dp, const struct placing *pl, uint16_t port, uint16_t a,
	uint16_t b)
{
	uint16_t n = dp->n_threads;

	if (pl->load[a] != pl->load[b])
		return pl->load[a] < pl->load[b];
	if (pl->n[a] != pl->n[b])
		return pl->n[a] < pl->n[b];
	if (pl->of_port[port][a] != pl->of_port[port][b])
		return pl->of_port[port][a] < pl->of_port[port][b];
	/* Round robin from the thread after the last one chosen. */
	return (a + n - pl->last - 1) % n < (b + n - pl->last - 1) % n;
}

/*
 * The thread 'port''s next queue goes to, among those on NUMA node
 * 'node' (all when none is there): the least loaded, then the one with
 * fewest queues, then with fewest of this port's, then the next in round
 * robin.  Without measured loads (new ports), the queues taken port by
 * port thus go round the threads: balanced, and a multiqueue port's
 * queues on different threads.
 */
static uint16_t
least_loaded(const struct dp *dp, struct placing *pl, uint16_t port, int node)
{
	uint16_t t, best = UINT16_MAX;

	for (t = 0; node >= 0 && t < dp->n_threads; t++)
		if (dp->threads[t]->socket == node)
			break;
	if (t == dp->n_threads)
		node = -1; /* no thread on that node */
	for (t = 0; t < dp->n_threads; t++) {
		if (node >= 0 && dp->threads[t]->socket != node)
			continue;
		if (best == UINT16_MAX || better(dp, pl, port, t, best))
			best = t;
	}
	pl->last = best;
	return best;
}

int
dp_thread_of_cpu(const struct dp *dp, int cpu)
{
	uint16_t i;

	for (i = 0; i < dp->n_threads; i++)
		if (dp->threads[i]->cpu == cpu)
			return i;
	return -1;
}

/* The queues of 'p' the data plane polls (0 for an output-only port). */
static uint16_t
port_queues(const struct port *p)
{
	return p == NULL || p->output_only ? 0 : port_rxq_bound(p);
}

/*
 * Computes the assignment of the ports in 'by_id' into 'out': pinned
 * queues to their thread, queues in 'keep' (unless -1) to their thread
 * there, the rest by load ('loads', per port and queue).
 */
static void
assign(const struct dp *dp, struct port *const by_id[VHSW_MAX_PORTS],
	const int8_t (*keep)[PORT_MAX_RXQ],
	const uint64_t (*loads)[PORT_MAX_RXQ], int8_t (*out)[PORT_MAX_RXQ])
{
	struct placing *pl = &dp->scratch->pl;
	struct cand *c = dp->scratch->cand;
	uint16_t i, q, nq, nc = 0;
	const struct port *p;
	int t;

	memset(pl, 0, sizeof(*pl));
	pl->last = (uint16_t)(dp->n_threads - 1); /* round robin from 0 */
	memset(out, -1, sizeof(int8_t) * VHSW_MAX_PORTS * PORT_MAX_RXQ);
	for (i = 0; i < VHSW_MAX_PORTS; i++) {
		p = by_id[i];
		nq = port_queues(p);
		for (q = 0; q < nq; q++) {
			t = -1;
			if (p->rxq_pin[q] != PORT_RXQ_UNPINNED)
				t = dp_thread_of_cpu(dp, p->rxq_pin[q] - 1);
			if (t < 0 && keep != NULL && keep[i][q] >= 0 &&
				keep[i][q] < dp->n_threads)
				t = keep[i][q];
			if (t >= 0) {
				place(pl, &out[i][q], i, (uint16_t)t,
					loads[i][q]);
				continue;
			}
			c[nc].port = i;
			c[nc].queue = q;
			c[nc].load = loads[i][q];
			nc++;
		}
	}
	qsort(c, nc, sizeof(*c), cand_cmp);
	for (i = 0; i < nc; i++) {
		p = by_id[c[i].port];
		place(pl, &out[c[i].port][c[i].queue], c[i].port,
			least_loaded(dp, pl, c[i].port,
				p->ops->numa_node != NULL ? p->ops->numa_node(p)
							  : -1),
			c[i].load);
	}
}

/*
 * Fills 'dt' with the ports of 'by_id' and each thread's queues by 'asg',
 * leaving out those marked in 'skip' (NULL: none).
 */
static void
fill_table(const struct dp *dp, struct dp_table *dt,
	struct port *const by_id[VHSW_MAX_PORTS],
	const int8_t (*asg)[PORT_MAX_RXQ], const bool (*skip)[PORT_MAX_RXQ])
{
	struct port_table *t = &dt->ports;
	uint16_t i, q, th, n = 0;

	t->n = 0;
	for (i = 0; i < VHSW_MAX_PORTS; i++) {
		t->by_id[i] = by_id[i];
		if (by_id[i] != NULL && !by_id[i]->output_only)
			t->ids[t->n++] = i;
	}
	for (th = 0; th < VHSW_MAX_DP_THREADS; th++) {
		dt->first[th] = n;
		for (i = 0; th < dp->n_threads && i < VHSW_MAX_PORTS; i++)
			for (q = 0; q < PORT_MAX_RXQ; q++)
				if (asg[i][q] == (int8_t)th &&
					(skip == NULL || !skip[i][q]))
					dt->rxq[n++] = (struct dp_rxq){
						.port = i, .queue = q};
		dt->count[th] = (uint16_t)(n - dt->first[th]);
	}
}

/* Publishes the spare table filled as fill_table() says; waits. */
static void
publish(struct dp *dp, struct port *const by_id[VHSW_MAX_PORTS],
	const int8_t (*asg)[PORT_MAX_RXQ], const bool (*skip)[PORT_MAX_RXQ])
{
	struct dp_table *dt =
		dp->table == dp->tables[0] ? dp->tables[1] : dp->tables[0];

	fill_table(dp, dt, by_id, asg, skip);
	__atomic_store_n(&dp->table, dt, __ATOMIC_RELEASE);
	/* After this the old table, and ports not in 'dt', are unused. */
	dp_synchronize(dp);
	dp_wake(dp); /* sleeping threads arm their new queues */
}

/*
 * Publishes 'by_id' with assignment 'asg'.  Queues of ports that stay
 * published and change threads are first left out of every list for a
 * grace period: no queue is ever polled by two threads, and what the old
 * thread took is sent before the new one takes more.
 */
static void
apply(struct dp *dp, struct port *const by_id[VHSW_MAX_PORTS],
	const int8_t (*asg)[PORT_MAX_RXQ])
{
	bool(*moved)[PORT_MAX_RXQ] = dp->scratch->moved;
	bool any = false;
	uint16_t i, q;

	memset(moved, 0, sizeof(dp->scratch->moved));
	for (i = 0; i < VHSW_MAX_PORTS; i++) {
		if (by_id[i] == NULL || by_id[i] != dp->by_id[i])
			continue;
		for (q = 0; q < PORT_MAX_RXQ; q++) {
			if (dp->assigned[i][q] < 0 ||
				dp->assigned[i][q] == asg[i][q])
				continue;
			moved[i][q] = true;
			any = true;
		}
	}
	if (any)
		publish(dp, by_id, asg, (const bool(*)[PORT_MAX_RXQ])moved);
	publish(dp, by_id, asg, NULL);
	memcpy(dp->assigned, asg, sizeof(dp->assigned));
	memcpy(dp->by_id, by_id, sizeof(dp->by_id));
}

void
dp_set_ports(struct dp *dp, struct port *const by_id[VHSW_MAX_PORTS])
{
	int8_t(*keep)[PORT_MAX_RXQ] = dp->scratch->keep;
	int8_t(*asg)[PORT_MAX_RXQ] = dp->scratch->asg;
	uint16_t i, q;

	VHSW_ASSERT_CONTROL_THREAD();
	/* A port new in its slot starts with no thread and no load. */
	memcpy(keep, dp->assigned, sizeof(dp->assigned));
	for (i = 0; i < VHSW_MAX_PORTS; i++) {
		if (by_id[i] == dp->by_id[i] && by_id[i] != NULL)
			continue;
		memset(keep[i], -1, sizeof(keep[i]));
		if (by_id[i] == NULL)
			continue;
		for (q = 0; q < PORT_MAX_RXQ; q++) {
			dp->load_base[i][q] =
				__atomic_load_n(&by_id[i]->rxq_load[q].cycles,
					__ATOMIC_RELAXED);
			dp->last_load[i][q] = 0;
			dp->interval_load[i][q] = 0;
		}
	}
	assign(dp, by_id, (const int8_t(*)[PORT_MAX_RXQ])keep,
		(const uint64_t(*)[PORT_MAX_RXQ])dp->interval_load, asg);
	apply(dp, by_id, (const int8_t(*)[PORT_MAX_RXQ])asg);
}

/* The busiest thread's load under 'asg' with 'loads'. */
static uint64_t
max_load(const struct dp *dp, const int8_t (*asg)[PORT_MAX_RXQ],
	const uint64_t (*loads)[PORT_MAX_RXQ])
{
	uint64_t load[VHSW_MAX_DP_THREADS] = {0}, m = 0;
	uint16_t i, q;

	for (i = 0; i < VHSW_MAX_PORTS; i++)
		for (q = 0; q < PORT_MAX_RXQ; q++)
			if (asg[i][q] >= 0 && asg[i][q] < dp->n_threads)
				load[(int)asg[i][q]] += loads[i][q];
	for (i = 0; i < dp->n_threads; i++)
		m = RTE_MAX(m, load[i]);
	return m;
}

bool
dp_rebalance(struct dp *dp, bool force)
{
	const uint64_t(*loads)[PORT_MAX_RXQ] =
		(const uint64_t(*)[PORT_MAX_RXQ])dp->interval_load;
	int8_t(*asg)[PORT_MAX_RXQ] = dp->scratch->asg;
	uint64_t cur, next;
	bool moved = false;

	VHSW_ASSERT_CONTROL_THREAD();
	if (dp->n_threads < 2)
		return false;
	assign(dp, dp->by_id, NULL, loads, asg);
	if (memcmp(asg, dp->assigned, sizeof(dp->assigned)) != 0) {
		cur = max_load(
			dp, (const int8_t(*)[PORT_MAX_RXQ])dp->assigned, loads);
		next = max_load(dp, (const int8_t(*)[PORT_MAX_RXQ])asg, loads);
		if (force ||
			next * 100 <= cur * (100 - DP_REBALANCE_GAIN_PCT)) {
			rte_log(RTE_LOG_INFO, dp_logtype,
				DP_PREFIX "receive queues reassigned%s: the "
					  "busiest thread's load %.1f%% -> "
					  "%.1f%% of the interval's cycles\n",
				force ? " (on request)" : "",
				dp->interval_tsc ? 100.0 * (double)cur /
						(double)dp->interval_tsc
						 : 0.0,
				dp->interval_tsc ? 100.0 * (double)next /
						(double)dp->interval_tsc
						 : 0.0);
			apply(dp, dp->by_id,
				(const int8_t(*)[PORT_MAX_RXQ])asg);
			dp->rebalances++;
			moved = true;
		}
	}
	memset(dp->interval_load, 0, sizeof(dp->interval_load));
	dp->interval_tsc = 0;
	return moved;
}

void
dp_tick(struct dp *dp, uint32_t rebalance_s)
{
	uint64_t now = rte_rdtsc(), cur;
	const struct port *p;
	uint16_t i, q;

	VHSW_ASSERT_CONTROL_THREAD();
	for (i = 0; i < VHSW_MAX_PORTS; i++) {
		p = dp->by_id[i];
		for (q = 0; p != NULL && q < PORT_MAX_RXQ; q++) {
			cur = __atomic_load_n(
				&p->rxq_load[q].cycles, __ATOMIC_RELAXED);
			dp->last_load[i][q] = cur - dp->load_base[i][q];
			dp->interval_load[i][q] += dp->last_load[i][q];
			dp->load_base[i][q] = cur;
		}
	}
	dp->last_tsc = now - dp->last_tick;
	dp->interval_tsc += dp->last_tsc;
	dp->last_tick = now;
	if (rebalance_s != 0 &&
		dp->interval_tsc >= (uint64_t)rebalance_s * rte_get_tsc_hz())
		dp_rebalance(dp, false);
}

void
dp_get_thread_stats(const struct dp *dp, uint16_t i, struct dp_stats *st)
{
	counters_read(dp->threads[i]->stats.c, dp->threads[i]->stats_base.c,
		st->c, DP_STAT_COUNT);
}

void
dp_get_stats(const struct dp *dp, struct dp_stats *st)
{
	struct dp_stats one;
	uint16_t i;
	int k;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < dp->n_threads; i++) {
		dp_get_thread_stats(dp, i, &one);
		for (k = 0; k < DP_STAT_COUNT; k++)
			st->c[k] += one.c[k];
	}
}

void
dp_clear_stats(struct dp *dp)
{
	uint16_t i;

	VHSW_ASSERT_CONTROL_THREAD();
	for (i = 0; i < dp->n_threads; i++)
		counters_snapshot(dp->threads[i]->stats.c,
			dp->threads[i]->stats_base.c, DP_STAT_COUNT);
}
