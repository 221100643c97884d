/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vlog.h - event logging: rate limits per call site (OVS's
 * VLOG_RATE_LIMIT_INIT) and run-time log levels by module.
 *
 * Every module logs through its own DPDK log type, "vhsw.MODULE"
 * (RTE_LOG_REGISTER): vhsw.main (vhswd), vhsw.vhost, vhsw.uplink, vhsw.fdb,
 * vhsw.dp, vhsw.ctl, vhsw.state, vhsw.service.  `vhswctl log set` changes
 * their levels at run time (vlog_set_level), `vhswctl log show` lists them
 * (vlog_foreach).
 *
 * A line that a peer, a frame or a client can cause goes through a rate
 * limit, a token bucket per call site: 'burst' lines at once, then one
 * every 'interval_ms'.  A line the bucket refuses is counted (and its text
 * kept); the next line let through is preceded by one note saying how many
 * were suppressed, and vlog_flush() (the control thread's 1 Hz tick) writes
 * that note for a call site whose flood has ended, so the count is never
 * lost:
 *
 *   vhswd: vhost: 941 lines suppressed by the rate limit in the last 3 s
 *   (the last: port c1: peer refused: ...)
 *
 * Nothing here runs on the data plane's per-packet path: the data plane
 * records events (fdb.h fdb_log_events) and the control thread logs them.
 *
 * Thread-safety: any thread except a signal handler.  One mutex serialises
 * the buckets (events are rare; a flood costs a lock and a format each).
 * A bucket in memory that is freed (one per port) is unregistered first
 * with vlog_rl_fini().  vlog_set_level and vlog_foreach: the control thread.
 */
#ifndef VHSW_VLOG_H
#define VHSW_VLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_common.h>

#define VLOG_LINE_MAX 1024

/* A rate limit; fields after interval_ms are vlog.c's. */
struct vlog_rl {
	uint32_t burst;       /* lines at once */
	uint32_t interval_ms; /* then one line per interval */
	bool registered;      /* on the list vlog_flush walks */
	struct vlog_rl *next;
	uint64_t tokens_ns; /* burst * interval is a full bucket */
	uint64_t last_ns;   /* when tokens_ns was computed; 0: never */
	uint64_t since_ns;  /* the first suppressed line */
	uint32_t suppressed;
	int logtype;
	uint32_t level;
	const char *prefix;
	char last[VLOG_LINE_MAX]; /* the last suppressed line */
};

/* 'burst' lines at once, then one every 'interval_ms'. */
#define VLOG_RATE_LIMIT_INIT(burst_, interval_ms_)               \
	{                                                        \
		.burst = (burst_), .interval_ms = (interval_ms_) \
	}

/* The clock of the buckets (CLOCK_MONOTONIC, vDSO). */
uint64_t vlog_now_ns(void);

/*
 * The bucket itself: true if a line may be written at 'now_ns' (a token is
 * taken; '*suppressed' says how many lines were refused since the last one
 * let through, and the count restarts), false if not (counted).
 */
bool vlog_rl_take(struct vlog_rl *rl, uint64_t now_ns, uint32_t *suppressed);

/*
 * Logs "PREFIX" + the formatted line at 'level' of 'logtype' if the level
 * is enabled and 'rl' lets it through (after the note of suppressed lines
 * if there were any).  Nothing is counted when the level is off.
 */
void vlog_rl_log(struct vlog_rl *rl, int logtype, uint32_t level,
	const char *prefix, const char *fmt, ...) __rte_format_printf(5, 6);

/*
 * Adds 'n' events that were not even offered to 'rl' (a recorder that
 * overflowed) to its suppressed count; 'last' (may be NULL) describes one.
 */
void vlog_rl_add_suppressed(struct vlog_rl *rl, int logtype, uint32_t level,
	const char *prefix, uint32_t n, const char *last);

/*
 * For a log stream that receives lines already formatted (vhswd's limit on
 * DPDK's own warnings): true if 'line' ('len' bytes) may be written.  When
 * lines were suppressed before it, 'note' gets the note to write first
 * (starting with 'prefix'), else "".  vlog_flush writes the note of a
 * flood that ended through rte_log(logtype): 'prefix' must let it pass.
 */
bool vlog_rl_admit(struct vlog_rl *rl, int logtype, uint32_t level,
	const char *prefix, const char *line, size_t len, char *note,
	size_t notelen);

/* Takes 'rl' off the flush list (a bucket about to be freed). */
void vlog_rl_fini(struct vlog_rl *rl);

/*
 * Writes the note of every bucket with suppressed lines whose bucket has a
 * token again (the flood is over or slowed).  The control thread's tick.
 */
void vlog_flush(void);
void vlog_flush_at(uint64_t now_ns);

/* "debug" -> RTE_LOG_DEBUG (also emergency, critical, error, 1..8); -1. */
int vlog_level_parse(const char *name);
/* RTE_LOG_DEBUG -> "debug" (the names `log set` takes). */
const char *vlog_level_name(uint32_t level);
/* The level names `log set` takes, for messages: "emerg|alert|...". */
#define VLOG_LEVELS "emerg|alert|crit|err|warning|notice|info|debug"

/*
 * Sets the level of the log types 'module' names: "all" (every vhsw.*
 * type), a module ("vhost" or "vhsw.vhost"), any registered DPDK type by
 * its full name ("lib.vhost.config"), or a glob over full names
 * ("lib.vhost.*", "pmd.*").  The number of types changed, or -EINVAL with
 * a message in 'err' naming the valid modules or levels.
 */
int vlog_set_level(
	const char *module, const char *level, char *err, size_t len);

/*
 * Calls fn for every registered log type: with 'dpdk' false only the
 * vhsw.* ones.  Names in registration order.  0 or -ENOMEM.
 */
int vlog_foreach(bool dpdk,
	void (*fn)(const char *name, uint32_t level, void *arg), void *arg);

#endif /* VHSW_VLOG_H */
