/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fdb.h - the forwarding database: (MAC, VLAN) -> port.
 *
 * Keys live in an rte_hash created with RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF
 * and DPDK's integrated RCU (rte_hash_rcu_qsbr_add, defer-queue mode), so the
 * data plane looks keys up without locks and a deleted key's slot is reused
 * only after every reader has passed a quiescent state.  The hash's data
 * word holds the port, the static flag and the key's position, so the data
 * plane needs nothing but the lookup.  The position indexes a side array of
 * entries (last-seen time, key, per-port list links) that only the control
 * side and learning's slow path touch, and a bitmap in which the data plane
 * marks sources seen on their known port.
 *
 * Learning follows Linux br_fdb_update(): each frame's source is looked up
 * (one lookup per burst for sources and destinations together); a hit on
 * the same port only sets the entry's seen bit, which the control thread
 * folds into its last-seen time every second; a miss, a MAC move or any
 * delete takes the writer lock.  The table holds at most 'limit' learned
 * entries; learning a new MAC when full evicts the oldest learned entry of the
 * port that holds the most entries, so one flooding port cannot starve the
 * others (OVS mac-learning's fairness rule).  Static entries never age, never
 * move and do not count against the limit.
 *
 * Per-port learning rules (fdb_set_port_rules) are consulted on the slow
 * path only, under the writer lock, so a source seen on its own port costs
 * what it did without them.  max_macs bounds a port's learned entries (its
 * per-port list, fdb_port_learned()): a new MAC on a port at its limit, or
 * a MAC moving to it, is not learned and, unless the rule says forward,
 * its frames are refused (fdb_input_bulk's mask).  A secure port (one with
 * port security) never takes over a MAC learned on another port: its
 * frames are forwarded, the entry stays.
 *
 * MAC move damping: a learned MAC that moves more than the move limit
 * (fdb_set_move_limit) times within one second of the clock is frozen for
 * FDB_MOVE_FREEZE_S seconds on the port it had when that second began (a
 * loop or two ports claiming one MAC, not a migrating VM): it is put back
 * there, and frames from it on other ports are forwarded without moving
 * it.  A single move (a VM migrating) takes effect at once.
 *
 * Freezes and refusals by the port rules are logged (log type vhsw.fdb)
 * from learning's slow path, at most one line per kind and second.
 *
 * Without EAL hugepages the tables live on a heap of transparent huge pages
 * (thpheap.h), so a large table does not add a TLB miss to every lookup.
 *
 * Time is a coarse seconds clock that the control thread advances with
 * fdb_set_clock(), which also folds the seen bits.
 *
 * Thread-safety:
 *  - fdb_input_bulk(), fdb_lookup_bulk(), fdb_learn(), fdb_learn_bulk(): any
 *    number of data-plane threads at once, each a registered reader (its
 *    own thread id) of the RCU variable given to fdb_create() that reports
 *    quiescent states; none may hold an rte_hash position or data word
 *    across one.  Lookups and a source seen on its port (an atomic OR into
 *    the seen bitmap) take no lock.  A miss, a move or a refusal takes the
 *    one writer lock, which serialises every change of the table, its
 *    counters, the per-port lists, move damping and the event ring: two
 *    threads that miss the same MAC insert it once (the second finds it
 *    under the lock, and on another port moves it).  rte_hash runs
 *    RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF without MULTI_WRITER_ADD, its
 *    single-writer mode, which the lock provides: its free-slot ring and
 *    defer queue are only touched under it.  A slot freed by a delete
 *    (eviction, aging, flush) is reused only after every reader has passed
 *    a quiescent state; rte_hash reclaims on the writer's thread without
 *    waiting (a reader that learns never waits for itself), and the table
 *    keeps spare slots for what the readers hold back.  A reader stalled
 *    between quiescent states while many entries are deleted can still
 *    make learning fail (learn_fails) until it moves on; nothing is
 *    evicted for it.
 *  - Everything else: the control thread.  The functions that change the
 *    table take the writer lock themselves (walks drop it every few thousand
 *    entries so learning is never stalled for long).
 *  Debug builds (-Dasserts=true, vhsw_assert.h) check both rules: the
 *  control-thread functions assert their caller, and every helper that
 *  expects the writer lock asserts that its caller holds it.
 */
#ifndef VHSW_FDB_H
#define VHSW_FDB_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_hash_crc.h>

#include "counters.h"

struct fdb;
struct rte_rcu_qsbr;

#define FDB_DEFAULT_AGING 300
#define FDB_DEFAULT_LIMIT 65536
#define FDB_MAX_LIMIT (4u << 20)
/* MAC move damping: moves per second of one MAC (0: no damping). */
#define FDB_DEFAULT_MOVE_LIMIT 10
#define FDB_MAX_MOVE_LIMIT 10000
/* How long a MAC that moved too often stays frozen. */
#define FDB_MOVE_FREEZE_S 5

/* The hash key: 8 bytes, no padding. */
struct fdb_key {
	struct rte_ether_addr mac;
	uint16_t vlan;
};
_Static_assert(sizeof(struct fdb_key) == 8, "fdb_key must have no padding");

/*
 * Table-wide counters (counters.h): events since start or the last
 * fdb_clear_stats(), counted under the writer lock.
 */
#define FDB_STATS(X, P)                                                     \
	X(P, learned, "learned entries created (new MACs)")                 \
	X(P, aged, "learned entries removed by aging")                      \
	X(P, moves, "learned MACs seen on another port and moved to it")    \
	X(P, evicted,                                                       \
		"learned entries removed to keep under the table's or a "   \
		"port's limit")                                             \
	X(P, learn_fails, "MACs not learned: the table had no room")        \
	X(P, secure_refused,                                                \
		"MACs of another port not moved to a port with port "       \
		"security (frames forwarded)")                              \
	X(P, limit_refused,                                                 \
		"new or moving MACs not learned on a port at its max_macs") \
	X(P, move_frozen,                                                   \
		"moves refused: the MAC moved too often and is frozen on "  \
		"its port (frames forwarded)")

/* clang-format off */
enum fdb_stat_id {
	FDB_STATS(COUNTER_ENUM, FDB_STAT_)
	FDB_STAT_COUNT
};
/* clang-format on */

/* A control-thread snapshot: the counters and the table's size. */
struct fdb_stats {
	COUNTERS_UNION(FDB_STATS, FDB_STAT_COUNT);
	uint32_t entries; /* learned + static */
	uint32_t limit;   /* of learned entries */
};

/* One entry as fdb_dump() reports it. */
struct fdb_entry_info {
	struct fdb_key key;
	uint16_t port;
	bool is_static;
	bool frozen;  /* moved too often: kept on its port for now */
	uint32_t age; /* seconds since last seen; 0 for static */
};

/*
 * Creates a table that can hold 'capacity' keys (learned plus static; the
 * learned limit may be set up to that).  'qsv' is the RCU variable the
 * data-plane readers report to (required).  Returns NULL on failure
 * (rte_errno set).
 */
struct fdb *fdb_create(
	const char *name, uint32_t capacity, struct rte_rcu_qsbr *qsv);
void fdb_destroy(struct fdb *fdb);
/*
 * What backs the tables: "hugepages" (EAL's), "transparent-hugepages" (a
 * THP heap, used without EAL hugepages) or "4k".
 */
const char *fdb_pages(const struct fdb *fdb);

/* Data plane. */

/* The hash of a key given as its 8 bytes in one word (memcpy of the key). */
static inline uint32_t
fdb_key_hash(uint64_t key_word)
{
	return rte_hash_crc_8byte(key_word, 0);
}

/*
 * One burst's FDB work in one hash lookup.  keys[0..ns) are sources seen on
 * 'port': each is learned (a new MAC, a move) or marked seen.
 * keys[ns..ns+nd) are destinations: dst_ports[i] is the port of
 * keys[ns + i] or VHSW_PORT_NONE, after this burst's learning.  hashes[i]
 * is fdb_key_hash() of keys[i].  ns <= 32, ns + nd <= 64.  Returns the
 * sources whose frames the caller must drop (bit i: keys[i]), by the
 * port's learning rules (fdb_set_port_rules).
 */
uint32_t fdb_input_bulk(struct fdb *fdb, uint16_t port,
	const struct fdb_key **keys, uint32_t *hashes, uint32_t ns, uint32_t nd,
	uint16_t *dst_ports);
/* Shorthands of fdb_input_bulk() (n <= 64), for tests and slow paths. */
void fdb_lookup_bulk(struct fdb *fdb, const struct fdb_key **keys, uint32_t n,
	uint16_t *ports);
void fdb_learn(struct fdb *fdb, const struct fdb_key *key, uint16_t port);
void fdb_learn_bulk(struct fdb *fdb, const struct fdb_key **keys, uint32_t n,
	uint16_t port);

/* Control thread. */

/*
 * Advances the clock; sightings since the last call are recorded as seen
 * at the previous value (the clock as it read when they happened).
 */
void fdb_set_clock(struct fdb *fdb, uint32_t now_sec);
/*
 * Logs the events learning recorded since the last call (MAC moves and
 * freezes, port security and max_macs refusals, the table reaching its
 * limit), naming ports with 'port_name' (NULL or a NULL answer: "#ID"),
 * through rate limits (vlog.h).  Control thread, once a second.
 */
void fdb_log_events(struct fdb *fdb,
	const char *(*port_name)(uint16_t port, void *arg), void *arg);
uint32_t fdb_capacity(const struct fdb *fdb);
/* 0, or -EINVAL when 'limit' is 0 or above the capacity. */
int fdb_set_limit(struct fdb *fdb, uint32_t limit);
/*
 * MAC move damping: a learned MAC that moves more than 'moves_per_s' times
 * within one second of the clock is frozen (see above).  0 disables it.
 * 0, or -EINVAL above FDB_MAX_MOVE_LIMIT.
 */
int fdb_set_move_limit(struct fdb *fdb, uint32_t moves_per_s);
uint32_t fdb_get_move_limit(const struct fdb *fdb);
/* Adds or replaces a static entry.  0, -ENOSPC. */
int fdb_add_static(struct fdb *fdb, const struct fdb_key *key, uint16_t port);
/* Deletes an entry (static or learned).  0 or -ENOENT. */
int fdb_del(struct fdb *fdb, const struct fdb_key *key);
/*
 * Sets the learning rules of 'port' (by default none):
 *  - max_macs: at most this many learned entries on the port (static ones
 *    do not count); 0: no limit.  A new MAC on the port at its limit, or a
 *    MAC moving to it, is not learned; its frames are refused
 *    (fdb_input_bulk) unless 'limit_forward'.  Entries beyond a lowered
 *    limit are removed, oldest first.
 *  - secure: the port never takes over a MAC learned on another port (its
 *    frames are forwarded, the entry stays where it is).
 * fdb_flush(port, true) (the port is deleted) resets them to none.
 */
void fdb_set_port_rules(struct fdb *fdb, uint16_t port, uint32_t max_macs,
	bool limit_forward, bool secure);
/*
 * Removes the learned entries of 'port' (every port if VHSW_PORT_NONE), and
 * its static ones too if 'with_static', which also resets the port's
 * learning rules (the port is being deleted; its id may be reused).
 * Returns how many entries were removed.
 */
uint32_t fdb_flush(struct fdb *fdb, uint16_t port, bool with_static);
/* Removes learned entries not seen for 'aging' seconds.  Returns count. */
uint32_t fdb_age(struct fdb *fdb, uint32_t aging);
/* Entries of 'port' (learned + static). */
uint32_t fdb_port_entries(const struct fdb *fdb, uint16_t port);
/* Learned entries of 'port': what its max_macs bounds. */
uint32_t fdb_port_learned(const struct fdb *fdb, uint16_t port);
void fdb_get_stats(const struct fdb *fdb, struct fdb_stats *st);
/* Zeroes the event counters (FDB_STATS). */
void fdb_clear_stats(struct fdb *fdb);
/*
 * Calls 'cb' for each entry (of 'port' only, unless VHSW_PORT_NONE).  The
 * callback must not modify the table.
 */
void fdb_dump(struct fdb *fdb, uint16_t port,
	void (*cb)(const struct fdb_entry_info *e, void *arg), void *arg);

#endif /* VHSW_FDB_H */
