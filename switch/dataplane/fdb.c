/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fdb.c - forwarding database on rte_hash (see fdb.h for the design).
 *
 * The hash's data word of an entry carries what the data plane needs: the
 * port, the static flag and the key's position (see DATA_*).  rte_hash
 * publishes it atomically with the key, so one lookup answers both "where
 * does this destination live" and "is this source where we last saw it",
 * without touching anything else.  The side array 'slots' (indexed by
 * position) holds what only the control side needs: the last-seen time,
 * the key and the per-port list of learned entries (oldest first) that
 * eviction takes victims from.
 *
 * A source seen where it is known only sets its bit in 'seen_bits' (one
 * bit per position, small enough to stay in cache: 170 KiB for 1.4M
 * entries).  The control thread folds the bits into slots[].seen once a
 * second (fdb_set_clock), so ages are exact to that second.
 *
 * Several data-plane threads learn at once.  Each reads the hash without a
 * lock and sets seen bits with an atomic OR (threads share bitmap words);
 * everything else learning changes (the hash, the slots, the per-port
 * lists, counters, move damping, the event ring) changes in learn_slow()
 * under wlock, which looks the key up again, so two threads' misses or
 * moves of one MAC are decided there, one after the other.  rte_hash runs
 * in its single-writer lock-free mode (no MULTI_WRITER_ADD: its free-slot
 * ring is single-producer, single-consumer, and its defer queue is
 * reclaimed by whoever adds or deletes); wlock makes it single-writer.
 *
 * The per-port learning rules ('rules') are read by learn_slow() only,
 * under wlock, and written by the control thread under it: the fast path
 * (a source on its own port, a static entry) never looks at them.  A
 * port's learned count for max_macs is port_learned[], the length of its
 * list, the same count eviction uses.
 *
 * Move damping keeps its state in the slot (home_port, moves, move_t),
 * touched by learn_slow() on moves only: the count of moves in the second
 * move_t and the port the entry had before it began to move (when that
 * second began, or earlier if it also moved in the second before), or,
 * once frozen (moves == FDB_FROZEN), the second the freeze ends.
 *
 * Learning never logs: it runs on data-plane threads.  Its events (a
 * MAC moved, a freeze, a port with port security refused another port's
 * MAC, a port at its max_macs refused a new MAC, the table reached its
 * limit) are recorded under wlock, on the slow path only, in a small ring
 * (record__: a few stores; at most FDB_EV_PER_KIND of each kind between two
 * drains, the rest only counted), and fdb_log_events() on the control
 * thread's tick writes them with the ports' names, through rate limits
 * (vlog.h) that also report the counted ones.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_hash.h>
#include <rte_hash_crc.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "fdb.h"
#include "port.h"
#include "thpheap.h"
#include "vhsw_assert.h"
#include "vlog.h"

RTE_LOG_REGISTER(fdb_logtype, vhsw.fdb, INFO);
#define FDB_PREFIX "vhswd: fdb: "

#define FDB_NIL UINT32_MAX
#define FDB_FROZEN UINT16_MAX /* slot.moves of a frozen entry */
_Static_assert(FDB_MAX_MOVE_LIMIT < FDB_FROZEN, "moves must count past it");
#define FDB_WALK_CHUNK 4096 /* slots walked per lock hold */
/*
 * Key slots beyond the capacity.  A slot that learning frees by evicting
 * is reusable only after every data-plane thread has passed a quiescent
 * state, the evicting thread too, which has not yet: rte_hash's reclaim
 * (rte_rcu_qsbr_dq_reclaim, called when rte_hash_add_key finds no free
 * slot) never waits and frees only slots whose grace period is over.
 * Without spare slots, learning in a table filled to its capacity would
 * evict, fail to add and evict again.  These cover the evictions of 32
 * full bursts per grace period; past that (a reader that stalls) learning
 * fails (learn_fails) until the readers move on.
 */
#define FDB_RECLAIM_SLACK 1024u

/*
 * The hash data of an entry: port in bits 0-15, static flag, position + 1
 * in bits 24-55 (0 while an insert has not stored it yet), and a bit that
 * is always set.
 */
#define DATA_PORT_MASK 0xffffull
#define DATA_STATIC (1ull << 16)
#define DATA_POS_SHIFT 24
#define DATA_VALID (1ull << 63)
_Static_assert(sizeof(void *) == 8, "the hash data word must be 64 bits");

/* Only the control thread and learn_slow (under wlock) touch slots. */
struct fdb_slot {
	uint16_t port;
	uint8_t in_use;
	uint8_t is_static;
	uint32_t seen;       /* fdb clock when last seen */
	uint32_t prev, next; /* per-port list of learned entries */
	struct fdb_key key;
	/* Move damping of a learned entry (learn_slow, on moves only). */
	uint16_t home_port; /* its port before it began to move */
	uint16_t moves;     /* in second move_t; FDB_FROZEN: frozen */
	uint32_t move_t;    /* that second; frozen: when the freeze ends */
};
_Static_assert(sizeof(struct fdb_slot) == 32, "two slots per cache line");

/* A port's learning rules (fdb_set_port_rules); zero: none. */
struct fdb_port_rules {
	uint32_t max_macs;  /* learned entries; 0: no limit */
	bool limit_forward; /* at max_macs: forward without learning */
	bool secure;        /* never takes over another port's MAC */
};

/* What learning records for the control thread to log (record__). */
enum fdb_event_kind {
	FDB_EV_MOVE,      /* a MAC moved: from, to */
	FDB_EV_FROZEN,    /* it moved too often: frozen on 'from' */
	FDB_EV_SECURE,    /* 'to' (port security) claimed the MAC of 'from' */
	FDB_EV_PORT_FULL, /* 'to' at its max_macs 'n' met a new MAC */
	FDB_EV_FULL,      /* the table reached its limit 'n' */
	FDB_EV_COUNT,
};

struct fdb_event {
	struct fdb_key key;
	uint16_t from, to;
	uint32_t n;
	uint32_t times; /* the same event again before the drain */
	uint8_t kind;
	uint8_t flag; /* PORT_FULL: frames forwarded */
};

#define FDB_EV_RING 32
#define FDB_EV_PER_KIND 8 /* recorded between two drains */

/*
 * The first cache line is what every data-plane thread reads on each burst
 * (constant after fdb_create); the writer lock and everything it guards
 * start on a line of their own, so a thread taking the lock does not take
 * that line away from the other threads' fast path.
 */
struct fdb {
	struct rte_hash *h;
	uint64_t *seen_bits; /* set by the data plane, folded by control */
	struct fdb_slot *slots;
	struct thpheap *heap; /* where h and slots live; NULL: EAL heap */
	uint32_t n_slots;
	uint32_t capacity;

	/* Serialises every writer of 'h' and 'slots' and guards the rest. */
	struct vhsw_lock wlock __rte_cache_aligned;
	uint32_t limit;
	uint32_t now; /* seconds; written by the control thread */
	uint32_t move_limit;
	uint32_t n_learned;
	uint32_t n_static;
	uint32_t port_learned[VHSW_MAX_PORTS];
	uint32_t port_static[VHSW_MAX_PORTS];
	uint32_t head[VHSW_MAX_PORTS];
	uint32_t tail[VHSW_MAX_PORTS];
	struct fdb_port_rules rules[VHSW_MAX_PORTS];
	/* Events for fdb_log_events (record__). */
	struct fdb_event ev[FDB_EV_RING];
	uint32_t n_ev;
	uint32_t ev_kind[FDB_EV_COUNT]; /* recorded since the drain */
	uint32_t ev_lost[FDB_EV_COUNT]; /* not recorded (over the cap) */
	bool at_limit; /* FDB_EV_FULL recorded; cleared below the limit */
	struct fdb_stats st;
};

static inline void *
make_data(uint16_t port, bool is_static, int32_t pos)
{
	return (void *)(uintptr_t)(DATA_VALID | port |
		(is_static ? DATA_STATIC : 0) |
		(pos >= 0 ? (uint64_t)(pos + 1) << DATA_POS_SHIFT : 0));
}

static inline uint16_t
data_port(uint64_t d)
{
	return (uint16_t)(d & DATA_PORT_MASK);
}

/*
 * Key comparison for rte_hash: it has no specialised compare for 8-byte
 * keys and would call memcmp through its jump table for each candidate.
 */
static int
key_cmp(const void *a, const void *b, size_t len __rte_unused)
{
	uint64_t x, y;

	memcpy(&x, a, sizeof(x));
	memcpy(&y, b, sizeof(y));
	return x != y;
}

/* Hash for rte_hash: one CRC32 instruction over the 8-byte key. */
static uint32_t
key_hash(const void *key, uint32_t len __rte_unused, uint32_t init)
{
	uint64_t w;

	memcpy(&w, key, sizeof(w));
	/* fdb_key_hash() is this with init 0, rte_hash's default. */
	return rte_hash_crc_8byte(w, init);
}

/*
 * What rte_hash 22.11 (lock-free mode, no extendable buckets, 8-byte keys)
 * and the slot array allocate for 'entries' keys: 8-entry buckets of 64
 * bytes over a power of two of entries, a 4-byte free-slot ring over the
 * next power of two, 16-byte key slots, our slots; plus room for malloc
 * headers and alignment.  Too little only costs the huge pages (see
 * fdb_create).
 */
static size_t
table_bytes(uint32_t entries)
{
	size_t keys = (size_t)entries + 1;
	size_t b = 12 * (size_t)rte_align32pow2(entries + 1) +
		keys * (16 + sizeof(struct fdb_slot)) + keys / 8;

	return b + b / 16 + (2u << 20);
}

/* Creates the hash and the slot array on 'socket'.  0 or -1. */
static int
create_tables(struct fdb *fdb, struct rte_hash_parameters *params, int socket,
	struct rte_rcu_qsbr *qsv)
{
	struct rte_hash_rcu_config rcu = {
		.v = qsv,
		.mode = RTE_HASH_QSBR_MODE_DQ,
	};

	params->socket_id = socket;
	fdb->h = rte_hash_create(params);
	if (fdb->h == NULL)
		return -1;
	rte_hash_set_cmp_func(fdb->h, key_cmp);
	if (rte_hash_rcu_qsbr_add(fdb->h, &rcu) != 0)
		return -1;
	fdb->n_slots = (uint32_t)rte_hash_max_key_id(fdb->h) + 1;
	fdb->slots = rte_zmalloc_socket("fdb_slots",
		(size_t)fdb->n_slots * sizeof(*fdb->slots), RTE_CACHE_LINE_SIZE,
		socket);
	fdb->seen_bits = rte_zmalloc_socket("fdb_seen",
		(size_t)RTE_ALIGN_CEIL(fdb->n_slots, 64) / 8,
		RTE_CACHE_LINE_SIZE, socket);
	return fdb->slots == NULL || fdb->seen_bits == NULL ? -1 : 0;
}

static void
free_tables(struct fdb *fdb)
{
	rte_hash_free(fdb->h);
	rte_free(fdb->slots);
	rte_free(fdb->seen_bits);
	fdb->h = NULL;
	fdb->slots = NULL;
	fdb->seen_bits = NULL;
}

/*
 * Without hugepages the tables go on a heap of transparent huge pages (see
 * thpheap.h): with a million entries, 4 KiB pages add a TLB miss to every
 * lookup.  If that heap cannot be had or turns out too small, the EAL heap
 * serves as before.
 */
/*
 * The NUMA node of the first worker lcore (vhswd's first data-plane
 * thread), where EAL memory for the table goes; any node without one.
 */
static int
dp_socket(void)
{
	unsigned int lcore = rte_get_next_lcore(-1, 1, 0);

	return lcore < RTE_MAX_LCORE ? (int)rte_lcore_to_socket_id(lcore)
				     : SOCKET_ID_ANY;
}

struct fdb *
fdb_create(const char *name, uint32_t capacity, struct rte_rcu_qsbr *qsv)
{
	struct rte_hash_parameters params = {
		.name = name,
		.entries = capacity + FDB_RECLAIM_SLACK,
		.key_len = sizeof(struct fdb_key),
		.hash_func = key_hash,
		.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF,
	};
	char heap_name[THPHEAP_NAME_MAX];
	struct fdb *fdb;
	uint32_t i;

	/* Without RCU the lock-free hash would never reuse a deleted slot. */
	if (capacity < 8 || capacity > FDB_MAX_LIMIT || qsv == NULL) {
		rte_errno = EINVAL;
		return NULL;
	}
	fdb = rte_zmalloc("fdb", sizeof(*fdb), RTE_CACHE_LINE_SIZE);
	if (fdb == NULL)
		goto fail;
	snprintf(heap_name, sizeof(heap_name), "thp_%s", name);
	fdb->heap = thpheap_create(heap_name, table_bytes(params.entries));
	if (fdb->heap != NULL &&
		create_tables(fdb, &params, thpheap_socket(fdb->heap), qsv) !=
			0) {
		free_tables(fdb);
		thpheap_destroy(fdb->heap);
		fdb->heap = NULL;
	}
	if (fdb->h == NULL &&
		create_tables(fdb, &params, dp_socket(), qsv) != 0)
		goto fail;
	fdb->capacity = capacity;
	fdb->limit = RTE_MIN(capacity, (uint32_t)FDB_DEFAULT_LIMIT);
	fdb->move_limit = FDB_DEFAULT_MOVE_LIMIT;
	vhsw_lock_init(&fdb->wlock);
	for (i = 0; i < VHSW_MAX_PORTS; i++) {
		fdb->head[i] = fdb->tail[i] = FDB_NIL;
	}
	return fdb;
fail:
	fdb_destroy(fdb);
	if (rte_errno == 0)
		rte_errno = ENOMEM;
	return NULL;
}

const char *
fdb_pages(const struct fdb *fdb)
{
	if (rte_eal_has_hugepages())
		return "hugepages";
	return fdb->heap != NULL ? "transparent-hugepages" : "4k";
}

void
fdb_destroy(struct fdb *fdb)
{
	VHSW_ASSERT_CONTROL_THREAD();
	if (fdb == NULL)
		return;
	free_tables(fdb);
	thpheap_destroy(fdb->heap);
	rte_free(fdb);
}

/* Per-port list of learned entries.  Caller holds wlock. */
static void
list_append__(struct fdb *fdb, uint32_t pos, uint16_t port)
{
	struct fdb_slot *s = &fdb->slots[pos];

	VHSW_ASSERT_HELD(&fdb->wlock);
	s->next = FDB_NIL;
	s->prev = fdb->tail[port];
	if (s->prev != FDB_NIL)
		fdb->slots[s->prev].next = pos;
	else
		fdb->head[port] = pos;
	fdb->tail[port] = pos;
	fdb->port_learned[port]++;
}

static void
list_unlink__(struct fdb *fdb, uint32_t pos, uint16_t port)
{
	struct fdb_slot *s = &fdb->slots[pos];

	VHSW_ASSERT_HELD(&fdb->wlock);
	if (s->prev != FDB_NIL)
		fdb->slots[s->prev].next = s->next;
	else
		fdb->head[port] = s->next;
	if (s->next != FDB_NIL)
		fdb->slots[s->next].prev = s->prev;
	else
		fdb->tail[port] = s->prev;
	fdb->port_learned[port]--;
}

/* Removes the entry at 'pos'.  Caller holds wlock. */
static void
remove_slot__(struct fdb *fdb, uint32_t pos)
{
	struct fdb_slot *s = &fdb->slots[pos];

	VHSW_ASSERT_HELD(&fdb->wlock);
	rte_hash_del_key(fdb->h, &s->key);
	if (s->is_static) {
		fdb->n_static--;
		fdb->port_static[s->port]--;
	} else {
		list_unlink__(fdb, pos, s->port);
		fdb->n_learned--;
	}
	s->in_use = 0;
}

/* Records an event of learning.  Caller holds wlock. */
static void
record__(struct fdb *fdb, enum fdb_event_kind kind, const struct fdb_key *key,
	uint16_t from, uint16_t to, uint32_t n, bool flag)
{
	struct fdb_event *e;
	uint32_t i;

	VHSW_ASSERT_HELD(&fdb->wlock);
	/* A MAC flapping between two ports is two events, counted. */
	for (i = 0; i < fdb->n_ev; i++) {
		e = &fdb->ev[i];
		if (e->kind == kind && e->from == from && e->to == to &&
			memcmp(&e->key, key, sizeof(*key)) == 0) {
			e->times++;
			return;
		}
	}
	if (fdb->n_ev == FDB_EV_RING || fdb->ev_kind[kind] == FDB_EV_PER_KIND) {
		fdb->ev_lost[kind]++;
		return;
	}
	fdb->ev_kind[kind]++;
	e = &fdb->ev[fdb->n_ev++];
	e->key = *key;
	e->from = from;
	e->to = to;
	e->n = n;
	e->times = 1;
	e->kind = (uint8_t)kind;
	e->flag = flag;
}

/* Evicts the oldest learned entry of the port holding the most.  */
static bool
evict_one__(struct fdb *fdb)
{
	uint32_t best = 0, i;
	uint16_t victim_port = VHSW_PORT_NONE;

	VHSW_ASSERT_HELD(&fdb->wlock);
	for (i = 0; i < VHSW_MAX_PORTS; i++) {
		if (fdb->port_learned[i] > best) {
			best = fdb->port_learned[i];
			victim_port = (uint16_t)i;
		}
	}
	if (victim_port == VHSW_PORT_NONE)
		return false;
	remove_slot__(fdb, fdb->head[victim_port]);
	fdb->st.evicted++;
	return true;
}

/*
 * Adds 'key' (not in the table) with its data word.  rte_hash_add_key
 * returns the position the data word must carry; until the second call
 * stores it, readers see a NULL data word and treat the key as absent.
 * Caller holds wlock.  Position, or < 0 when the table is full.
 */
static int32_t
add_key__(struct fdb *fdb, const struct fdb_key *key, uint16_t port,
	bool is_static)
{
	int32_t pos;

	VHSW_ASSERT_HELD(&fdb->wlock);
	pos = rte_hash_add_key(fdb->h, key);
	if (pos >= 0)
		rte_hash_add_key_data(
			fdb->h, key, make_data(port, is_static, pos));
	return pos;
}

/* Inserts a learned entry.  Caller holds wlock; key is not in the table. */
static void
insert_learned__(struct fdb *fdb, const struct fdb_key *key, uint16_t port)
{
	struct fdb_slot *s;
	int32_t pos;

	VHSW_ASSERT_HELD(&fdb->wlock);
	if (fdb->n_learned >= fdb->limit) {
		if (!fdb->at_limit) {
			uint32_t best = 0, i;
			uint16_t victim = VHSW_PORT_NONE;

			for (i = 0; i < VHSW_MAX_PORTS; i++)
				if (fdb->port_learned[i] > best) {
					best = fdb->port_learned[i];
					victim = (uint16_t)i;
				}
			fdb->at_limit = true;
			record__(fdb, FDB_EV_FULL, key, victim, port,
				fdb->limit, false);
		}
		if (!evict_one__(fdb)) {
			fdb->st.learn_fails++;
			return;
		}
	}
	/*
	 * No free slot (those freed since the slowest reader's last
	 * quiescent state wait for it, FDB_RECLAIM_SLACK) or no room in the
	 * key's two buckets: evicting another entry would not help (its slot
	 * waits too, its buckets are others), so only this MAC goes unlearned
	 * (its next frame tries again).
	 */
	pos = add_key__(fdb, key, port, false);
	if (pos < 0) {
		fdb->st.learn_fails++;
		return;
	}
	s = &fdb->slots[pos];
	s->key = *key;
	s->is_static = 0;
	s->port = port;
	s->seen = fdb->now;
	s->home_port = port;
	s->moves = 0;
	s->move_t = fdb->now;
	s->in_use = 1;
	list_append__(fdb, (uint32_t)pos, port);
	fdb->n_learned++;
	fdb->st.learned++;
}

/* "MAC vlan N" of a key, for the log. */
static const char *
key_str(const struct fdb_key *k, char *buf, size_t len)
{
	char mac[RTE_ETHER_ADDR_FMT_SIZE];

	rte_ether_format_addr(mac, sizeof(mac), &k->mac);
	snprintf(buf, len, "%s vlan %u", mac, k->vlan);
	return buf;
}

/* Puts the learned entry at 'pos' on 'port'.  Caller holds wlock. */
static void
move_entry__(struct fdb *fdb, uint32_t pos, uint16_t port)
{
	struct fdb_slot *s = &fdb->slots[pos];

	VHSW_ASSERT_HELD(&fdb->wlock);
	rte_hash_add_key_data(fdb->h, &s->key, make_data(port, false, pos));
	list_unlink__(fdb, pos, s->port);
	s->port = port;
	list_append__(fdb, pos, port);
}

/* True if 'port' has as many learned entries as its max_macs allows. */
static bool
port_full__(const struct fdb *fdb, uint16_t port)
{
	uint32_t max = fdb->rules[port].max_macs;

	VHSW_ASSERT_HELD(&fdb->wlock);
	return max != 0 && fdb->port_learned[port] >= max;
}

/* True if the entry of 's' is frozen: it may not move. */
static bool
frozen__(const struct fdb *fdb, const struct fdb_slot *s)
{
	VHSW_ASSERT_HELD(&fdb->wlock);
	return fdb->move_limit != 0 && s->moves == FDB_FROZEN &&
		(int32_t)(s->move_t - fdb->now) > 0;
}

/*
 * Counts a move of the entry at 'pos' in the current second.  False if it
 * is one more than the move limit allows.  Caller holds wlock.
 */
static bool
count_move__(struct fdb *fdb, uint32_t pos)
{
	struct fdb_slot *s = &fdb->slots[pos];

	VHSW_ASSERT_HELD(&fdb->wlock);
	if (fdb->move_limit == 0)
		return true;
	if (s->moves == FDB_FROZEN || s->move_t != fdb->now) {
		/*
		 * A new second, or the freeze is over: a new count.  The
		 * home port stays while the MAC keeps moving second after
		 * second (a flap that spans a tick of the clock), else it is
		 * where the MAC is now.
		 */
		if (s->moves == FDB_FROZEN || s->moves == 0 ||
			s->move_t + 1 != fdb->now)
			s->home_port = s->port;
		s->move_t = fdb->now;
		s->moves = 0;
	}
	return ++s->moves <= fdb->move_limit;
}

/*
 * Freezes the entry at 'pos', which moved once too often this second, for
 * FDB_MOVE_FREEZE_S seconds on the port it had before it began to move: it
 * goes back there unless that port is at its max_macs (it stays where it
 * is then; a deleted home port was replaced by the entry's port when the
 * port was deleted, see flush_pred).  Caller holds
 * wlock.
 */
static void
freeze__(struct fdb *fdb, uint32_t pos, uint16_t to)
{
	struct fdb_slot *s = &fdb->slots[pos];
	uint16_t home = s->home_port;

	VHSW_ASSERT_HELD(&fdb->wlock);
	if (s->port != home && !port_full__(fdb, home))
		move_entry__(fdb, pos, home);
	s->moves = FDB_FROZEN;
	s->move_t = fdb->now + FDB_MOVE_FREEZE_S;
	fdb->st.move_frozen++;
	record__(fdb, FDB_EV_FROZEN, &s->key, s->port, to, fdb->move_limit,
		false);
}

/*
 * A MAC not learned on 'port' because of its max_macs: counts it.  True
 * if its frames must be dropped.  Caller holds wlock.
 */
static bool
refuse_limit__(struct fdb *fdb, const struct fdb_key *key, uint16_t port)
{
	const struct fdb_port_rules *r = &fdb->rules[port];

	VHSW_ASSERT_HELD(&fdb->wlock);
	fdb->st.limit_refused++;
	record__(fdb, FDB_EV_PORT_FULL, key, port, port, r->max_macs,
		r->limit_forward);
	return !r->limit_forward;
}

/*
 * Slow path of learning: a miss or a move, by the port's rules.  Takes
 * wlock.  True if the frames of the source must be dropped.
 */
static bool
learn_slow(struct fdb *fdb, const struct fdb_key *key, uint16_t port)
{
	struct fdb_slot *s;
	bool drop = false;
	int32_t pos;

	vhsw_lock(&fdb->wlock);
	pos = rte_hash_lookup(fdb->h, key);
	if (pos < 0) {
		if (port_full__(fdb, port))
			drop = refuse_limit__(fdb, key, port);
		else
			insert_learned__(fdb, key, port);
		goto out;
	}
	s = &fdb->slots[pos];
	if (s->is_static || s->port == port)
		goto out;
	/* The MAC moved to another port. */
	if (fdb->rules[port].secure) {
		fdb->st.secure_refused++;
		record__(fdb, FDB_EV_SECURE, key, s->port, port, 0, false);
		goto out;
	}
	if (frozen__(fdb, s)) {
		fdb->st.move_frozen++;
		goto out;
	}
	if (port_full__(fdb, port)) {
		drop = refuse_limit__(fdb, key, port);
		goto out;
	}
	if (!count_move__(fdb, (uint32_t)pos)) {
		freeze__(fdb, (uint32_t)pos, port);
		goto out;
	}
	record__(fdb, FDB_EV_MOVE, key, s->port, port, 0, false);
	move_entry__(fdb, (uint32_t)pos, port);
	s->seen = fdb->now;
	fdb->st.moves++;
out:
	vhsw_unlock(&fdb->wlock);
	return drop;
}

/* A known source seen on its port: set its bit (a store only if unset). */
static inline void
mark_seen(struct fdb *fdb, uint64_t d)
{
	uint32_t pos1 = (uint32_t)(d >> DATA_POS_SHIFT);
	uint64_t *w, bit;

	if (unlikely(pos1 == 0))
		return; /* being inserted; its seen time is now anyway */
	w = &fdb->seen_bits[(pos1 - 1) >> 6];
	bit = 1ull << ((pos1 - 1) & 63);
	if (!(__atomic_load_n(w, __ATOMIC_RELAXED) & bit))
		__atomic_fetch_or(w, bit, __ATOMIC_RELAXED);
}

uint32_t
fdb_input_bulk(struct fdb *fdb, uint16_t port, const struct fdb_key **keys,
	uint32_t *hashes, uint32_t ns, uint32_t nd, uint16_t *dst_ports)
{
	void *data[RTE_HASH_LOOKUP_BULK_MAX];
	uint32_t n = ns + nd, i;
	uint64_t hits = 0, more, d;
	uint32_t refused = 0;
	bool learned = false;

	if (n == 0)
		return 0;
	RTE_ASSERT(n <= RTE_HASH_LOOKUP_BULK_MAX);
	rte_hash_lookup_with_hash_bulk_data(
		fdb->h, (const void **)keys, hashes, n, &hits, data);
	for (i = 0; i < ns; i++) {
		d = (uintptr_t)data[i];
		if (likely((hits >> i) & 1) && likely(d & DATA_VALID)) {
			if (likely(data_port(d) == port)) {
				mark_seen(fdb, d);
				continue;
			}
			if (d & DATA_STATIC)
				continue; /* static entries never move */
		}
		if (learn_slow(fdb, keys[i], port))
			refused |= 1u << i;
		learned = true;
	}
	/* A destination may be a source just learned: look again. */
	if (unlikely(learned) && nd > 0) {
		rte_hash_lookup_with_hash_bulk_data(fdb->h,
			(const void **)keys + ns, hashes + ns, nd, &more,
			data + ns);
		hits = (hits & ((1ull << ns) - 1)) | more << ns;
	}
	for (i = 0; i < nd; i++) {
		d = (uintptr_t)data[ns + i];
		dst_ports[i] = (hits >> (ns + i)) & 1 && (d & DATA_VALID)
			? data_port(d)
			: VHSW_PORT_NONE;
	}
	return refused;
}

/* fdb_input_bulk() for callers that hold keys only. */
static void
input_keys(struct fdb *fdb, uint16_t port, const struct fdb_key **keys,
	uint32_t ns, uint32_t nd, uint16_t *dst_ports)
{
	uint32_t hashes[RTE_HASH_LOOKUP_BULK_MAX];
	uint64_t w;
	uint32_t i;

	for (i = 0; i < ns + nd; i++) {
		memcpy(&w, keys[i], sizeof(w));
		hashes[i] = fdb_key_hash(w);
	}
	fdb_input_bulk(fdb, port, keys, hashes, ns, nd, dst_ports);
}

void
fdb_learn(struct fdb *fdb, const struct fdb_key *key, uint16_t port)
{
	input_keys(fdb, port, &key, 1, 0, NULL);
}

void
fdb_learn_bulk(
	struct fdb *fdb, const struct fdb_key **keys, uint32_t n, uint16_t port)
{
	input_keys(fdb, port, keys, n, 0, NULL);
}

void
fdb_lookup_bulk(struct fdb *fdb, const struct fdb_key **keys, uint32_t n,
	uint16_t *ports)
{
	input_keys(fdb, VHSW_PORT_NONE, keys, 0, n, ports);
}

/*
 * Records the data plane's sightings of slots [base, end) (base a multiple
 * of 64) as seen at 'now'.  Caller holds wlock.
 */
static void
fold_seen__(struct fdb *fdb, uint32_t base, uint32_t end, uint32_t now)
{
	uint32_t k, pos;
	uint64_t bits;

	VHSW_ASSERT_HELD(&fdb->wlock);
	for (k = base / 64; k < (end + 63) / 64; k++) {
		if (__atomic_load_n(&fdb->seen_bits[k], __ATOMIC_RELAXED) == 0)
			continue;
		bits = __atomic_exchange_n(
			&fdb->seen_bits[k], 0, __ATOMIC_RELAXED);
		while (bits != 0) {
			pos = k * 64 + (uint32_t)__builtin_ctzll(bits);
			bits &= bits - 1;
			if (fdb->slots[pos].in_use)
				fdb->slots[pos].seen = now;
		}
	}
}

/* When the entry of 's' was last seen, counting sightings not yet folded. */
static uint32_t
slot_seen(const struct fdb *fdb, const struct fdb_slot *s)
{
	uint32_t pos = (uint32_t)(s - fdb->slots);

	VHSW_ASSERT_HELD(&fdb->wlock);
	if (__atomic_load_n(&fdb->seen_bits[pos / 64], __ATOMIC_RELAXED) &
		(1ull << (pos % 64)))
		return fdb->now;
	return s->seen;
}

void
fdb_set_clock(struct fdb *fdb, uint32_t now_sec)
{
	uint32_t base, end;

	VHSW_ASSERT_CONTROL_THREAD();
	/*
	 * A bit set since the last call stands for a frame seen while the
	 * clock read 'now' (the data plane used to store that value itself).
	 */
	for (base = 0; base < fdb->n_slots; base += FDB_WALK_CHUNK) {
		end = RTE_MIN(base + FDB_WALK_CHUNK, fdb->n_slots);
		vhsw_lock(&fdb->wlock);
		fold_seen__(fdb, base, end, fdb->now);
		if (end == fdb->n_slots)
			fdb->now = now_sec;
		vhsw_unlock(&fdb->wlock);
	}
}

uint32_t
fdb_capacity(const struct fdb *fdb)
{
	return fdb->capacity;
}

int
fdb_set_move_limit(struct fdb *fdb, uint32_t moves_per_s)
{
	VHSW_ASSERT_CONTROL_THREAD();
	if (moves_per_s > FDB_MAX_MOVE_LIMIT)
		return -EINVAL;
	vhsw_lock(&fdb->wlock);
	fdb->move_limit = moves_per_s;
	vhsw_unlock(&fdb->wlock);
	return 0;
}

uint32_t
fdb_get_move_limit(const struct fdb *fdb)
{
	VHSW_ASSERT_CONTROL_THREAD();
	return fdb->move_limit; /* only this thread writes it */
}

int
fdb_set_limit(struct fdb *fdb, uint32_t limit)
{
	VHSW_ASSERT_CONTROL_THREAD();
	if (limit == 0 || limit > fdb->capacity)
		return -EINVAL;
	vhsw_lock(&fdb->wlock);
	fdb->limit = limit;
	while (fdb->n_learned > fdb->limit && evict_one__(fdb))
		;
	vhsw_unlock(&fdb->wlock);
	return 0;
}

int
fdb_add_static(struct fdb *fdb, const struct fdb_key *key, uint16_t port)
{
	struct fdb_slot *s;
	int32_t pos;
	int ret = 0;

	VHSW_ASSERT_CONTROL_THREAD();
	vhsw_lock(&fdb->wlock);
	pos = rte_hash_lookup(fdb->h, key);
	if (pos >= 0)
		remove_slot__(fdb, (uint32_t)pos);
	if (fdb->n_static + fdb->n_learned >= fdb->capacity &&
		!evict_one__(fdb)) {
		ret = -ENOSPC;
		goto out;
	}
	pos = add_key__(fdb, key, port, true);
	if (pos < 0) {
		ret = -ENOSPC;
		goto out;
	}
	s = &fdb->slots[pos];
	s->key = *key;
	s->is_static = 1;
	s->port = port;
	s->seen = fdb->now;
	s->prev = s->next = FDB_NIL;
	s->home_port = port;
	s->moves = 0;
	s->in_use = 1;
	fdb->n_static++;
	fdb->port_static[port]++;
out:
	vhsw_unlock(&fdb->wlock);
	return ret;
}

int
fdb_del(struct fdb *fdb, const struct fdb_key *key)
{
	int32_t pos;

	VHSW_ASSERT_CONTROL_THREAD();
	vhsw_lock(&fdb->wlock);
	pos = rte_hash_lookup(fdb->h, key);
	if (pos >= 0)
		remove_slot__(fdb, (uint32_t)pos);
	vhsw_unlock(&fdb->wlock);
	return pos >= 0 ? 0 : -ENOENT;
}

void
fdb_set_port_rules(struct fdb *fdb, uint16_t port, uint32_t max_macs,
	bool limit_forward, bool secure)
{
	uint32_t n;
	bool over;

	VHSW_ASSERT_CONTROL_THREAD();
	VHSW_ASSERT_MSG(port < VHSW_MAX_PORTS, "port id out of range");
	vhsw_lock(&fdb->wlock);
	fdb->rules[port] = (struct fdb_port_rules){
		.max_macs = max_macs,
		.limit_forward = limit_forward,
		.secure = secure,
	};
	vhsw_unlock(&fdb->wlock);
	if (max_macs == 0)
		return;
	/*
	 * Entries beyond a lowered limit go, oldest first, a chunk per lock
	 * hold.  Learning adds none meanwhile: the port is full.
	 */
	do {
		vhsw_lock(&fdb->wlock);
		for (n = 0; n < FDB_WALK_CHUNK &&
			fdb->port_learned[port] > max_macs;
			n++) {
			remove_slot__(fdb, fdb->head[port]);
			fdb->st.evicted++;
		}
		over = fdb->port_learned[port] > max_macs;
		vhsw_unlock(&fdb->wlock);
	} while (over);
}

/*
 * Walks every slot in chunks, removing those 'pred' selects.  The lock is
 * dropped between chunks so data-plane learning never waits long.
 */
static uint32_t
walk_remove(struct fdb *fdb,
	bool (*pred)(const struct fdb *, struct fdb_slot *, const void *),
	const void *arg)
{
	uint32_t removed = 0, base, i, end;

	for (base = 0; base < fdb->n_slots; base += FDB_WALK_CHUNK) {
		end = RTE_MIN(base + FDB_WALK_CHUNK, fdb->n_slots);
		vhsw_lock(&fdb->wlock);
		for (i = base; i < end; i++) {
			if (fdb->slots[i].in_use &&
				pred(fdb, &fdb->slots[i], arg)) {
				remove_slot__(fdb, i);
				removed++;
			}
		}
		vhsw_unlock(&fdb->wlock);
	}
	return removed;
}

struct flush_arg {
	uint16_t port;
	bool with_static;
};

static bool
flush_pred(const struct fdb *fdb, struct fdb_slot *s, const void *arg)
{
	const struct flush_arg *fa = arg;

	if (s->is_static && !fa->with_static)
		return false;
	if (fa->port == VHSW_PORT_NONE || s->port == fa->port)
		return true;
	/* A deleted port is no home to return to (its id may be reused). */
	if (fa->with_static && s->home_port == fa->port)
		s->home_port = s->port;
	return false;
}

uint32_t
fdb_flush(struct fdb *fdb, uint16_t port, bool with_static)
{
	struct flush_arg fa = {.port = port, .with_static = with_static};
	uint32_t i;
	bool none;

	VHSW_ASSERT_CONTROL_THREAD();
	if (with_static) {
		/* The port is being deleted: its id starts clean. */
		vhsw_lock(&fdb->wlock);
		for (i = 0; i < VHSW_MAX_PORTS; i++) {
			if (port != VHSW_PORT_NONE && i != port)
				continue;
			memset(&fdb->rules[i], 0, sizeof(fdb->rules[i]));
		}
		vhsw_unlock(&fdb->wlock);
	}
	if (port != VHSW_PORT_NONE) {
		/* Learning changes the counts: read them under the lock. */
		vhsw_lock(&fdb->wlock);
		none = fdb->port_learned[port] == 0 &&
			(!with_static || fdb->port_static[port] == 0);
		vhsw_unlock(&fdb->wlock);
		/* A deleted port may still be the home of moving MACs. */
		if (none && !with_static)
			return 0;
	}
	return walk_remove(fdb, flush_pred, &fa);
}

static bool
age_pred(const struct fdb *fdb, struct fdb_slot *s, const void *arg)
{
	uint32_t aging = *(const uint32_t *)arg;

	return !s->is_static && fdb->now - slot_seen(fdb, s) >= aging;
}

uint32_t
fdb_age(struct fdb *fdb, uint32_t aging)
{
	uint32_t n;

	VHSW_ASSERT_CONTROL_THREAD();
	vhsw_lock(&fdb->wlock);
	n = fdb->n_learned;
	vhsw_unlock(&fdb->wlock);
	if (n == 0)
		return 0;
	n = walk_remove(fdb, age_pred, &aging);
	vhsw_lock(&fdb->wlock);
	fdb->st.aged += n;
	vhsw_unlock(&fdb->wlock);
	return n;
}

/*
 * Learning changes the counts under the lock, so readers take it too (the
 * lock is not part of the table's value: a const table may take it).
 */
static struct vhsw_lock *
wlock_of(const struct fdb *fdb)
{
	return (struct vhsw_lock *)(uintptr_t)&fdb->wlock;
}

uint32_t
fdb_port_entries(const struct fdb *fdb, uint16_t port)
{
	uint32_t n;

	VHSW_ASSERT_CONTROL_THREAD();
	vhsw_lock(wlock_of(fdb));
	n = fdb->port_learned[port] + fdb->port_static[port];
	vhsw_unlock(wlock_of(fdb));
	return n;
}

uint32_t
fdb_port_learned(const struct fdb *fdb, uint16_t port)
{
	uint32_t n;

	VHSW_ASSERT_CONTROL_THREAD();
	vhsw_lock(wlock_of(fdb));
	n = fdb->port_learned[port];
	vhsw_unlock(wlock_of(fdb));
	return n;
}

void
fdb_get_stats(const struct fdb *fdb, struct fdb_stats *st)
{
	VHSW_ASSERT_CONTROL_THREAD();
	vhsw_lock(wlock_of(fdb));
	*st = fdb->st;
	st->entries = fdb->n_learned + fdb->n_static;
	st->limit = fdb->limit;
	vhsw_unlock(wlock_of(fdb));
}

void
fdb_clear_stats(struct fdb *fdb)
{
	VHSW_ASSERT_CONTROL_THREAD();
	vhsw_lock(&fdb->wlock);
	memset(&fdb->st, 0, sizeof(fdb->st));
	vhsw_unlock(&fdb->wlock);
}

void
fdb_dump(struct fdb *fdb, uint16_t port,
	void (*cb)(const struct fdb_entry_info *e, void *arg), void *arg)
{
	struct fdb_entry_info info;
	const struct fdb_slot *s;
	uint32_t base, i, end;

	VHSW_ASSERT_CONTROL_THREAD();
	for (base = 0; base < fdb->n_slots; base += FDB_WALK_CHUNK) {
		end = RTE_MIN(base + FDB_WALK_CHUNK, fdb->n_slots);
		vhsw_lock(&fdb->wlock);
		for (i = base; i < end; i++) {
			s = &fdb->slots[i];
			if (!s->in_use ||
				(port != VHSW_PORT_NONE && s->port != port))
				continue;
			info.key = s->key;
			info.port = s->port;
			info.is_static = s->is_static;
			info.frozen = !s->is_static && frozen__(fdb, s);
			info.age =
				s->is_static ? 0 : fdb->now - slot_seen(fdb, s);
			cb(&info, arg);
		}
		vhsw_unlock(&fdb->wlock);
	}
}

/* The name of a port for the log: the callback's, or "#ID". */
static const char *
port_str(uint16_t port, const char *(*name)(uint16_t, void *), void *arg,
	char *buf, size_t len)
{
	const char *n = name != NULL ? name(port, arg) : NULL;

	if (n != NULL)
		return n;
	snprintf(buf, len, "#%u", port);
	return buf;
}

void
fdb_log_events(
	struct fdb *fdb, const char *(*port_name)(uint16_t, void *), void *arg)
{
	/* Per kind: 10 lines at once, then 5 a second. */
	static struct vlog_rl rl[FDB_EV_COUNT] = {
		[0 ... FDB_EV_COUNT - 1] = VLOG_RATE_LIMIT_INIT(10, 200),
	};
	static const uint32_t level[FDB_EV_COUNT] = {
		[FDB_EV_MOVE] = RTE_LOG_INFO,
		[FDB_EV_FROZEN] = RTE_LOG_WARNING,
		[FDB_EV_SECURE] = RTE_LOG_WARNING,
		[FDB_EV_PORT_FULL] = RTE_LOG_WARNING,
		[FDB_EV_FULL] = RTE_LOG_WARNING,
	};
	static const char *const what[FDB_EV_COUNT] = {
		[FDB_EV_MOVE] = "MAC moves",
		[FDB_EV_FROZEN] = "MAC freezes",
		[FDB_EV_SECURE] = "MACs refused by port security",
		[FDB_EV_PORT_FULL] = "MACs refused at a port's max_macs",
		[FDB_EV_FULL] = "FDB limit events",
	};
	struct fdb_event ev[FDB_EV_RING];
	uint32_t lost[FDB_EV_COUNT], n, i;
	char k[64], f[24], t[24], note[96], x[24];
	const char *from, *to;
	const struct fdb_event *e;

	VHSW_ASSERT_CONTROL_THREAD();
	vhsw_lock(&fdb->wlock);
	n = fdb->n_ev;
	memcpy(ev, fdb->ev, n * sizeof(ev[0]));
	memcpy(lost, fdb->ev_lost, sizeof(lost));
	fdb->n_ev = 0;
	memset(fdb->ev_kind, 0, sizeof(fdb->ev_kind));
	memset(fdb->ev_lost, 0, sizeof(fdb->ev_lost));
	if (fdb->n_learned < fdb->limit)
		fdb->at_limit = false; /* the next time it fills is news */
	vhsw_unlock(&fdb->wlock);

	for (i = 0; i < n; i++) {
		e = &ev[i];
		key_str(&e->key, k, sizeof(k));
		from = port_str(e->from, port_name, arg, f, sizeof(f));
		to = port_str(e->to, port_name, arg, t, sizeof(t));
		x[0] = '\0';
		if (e->times > 1)
			snprintf(x, sizeof(x), " (%u times)", e->times);
		switch (e->kind) {
		case FDB_EV_MOVE:
			vlog_rl_log(&rl[e->kind], fdb_logtype, level[e->kind],
				FDB_PREFIX,
				"MAC %s moved from port %s to port %s%s", k,
				from, to, x);
			break;
		case FDB_EV_FROZEN:
			vlog_rl_log(&rl[e->kind], fdb_logtype, level[e->kind],
				FDB_PREFIX,
				"MAC %s moved more than %u times in a second "
				"(last to port %s): frozen on port %s for %u "
				"s%s",
				k, e->n, to, from, FDB_MOVE_FREEZE_S, x);
			break;
		case FDB_EV_SECURE:
			vlog_rl_log(&rl[e->kind], fdb_logtype, level[e->kind],
				FDB_PREFIX,
				"MAC %s of port %s seen on port %s, which has "
				"port security: not moved, frames forwarded%s",
				k, from, to, x);
			break;
		case FDB_EV_PORT_FULL:
			vlog_rl_log(&rl[e->kind], fdb_logtype, level[e->kind],
				FDB_PREFIX,
				"port %s is at its max_macs %u: MAC %s not "
				"learned, frames %s%s",
				to, e->n, k, e->flag ? "forwarded" : "dropped",
				x);
			break;
		case FDB_EV_FULL:
			vlog_rl_log(&rl[e->kind], fdb_logtype, level[e->kind],
				FDB_PREFIX,
				"the FDB reached its limit of %u learned "
				"entries: learning MAC %s on port %s evicts "
				"the oldest entry of port %s (and so on while "
				"it is full)",
				e->n, k, to, from);
			break;
		}
	}
	for (i = 0; i < FDB_EV_COUNT; i++) {
		if (lost[i] == 0)
			continue;
		snprintf(note, sizeof(note), "%u more %s not recorded", lost[i],
			what[i]);
		vlog_rl_add_suppressed(&rl[i], fdb_logtype, level[i],
			FDB_PREFIX, lost[i], note);
	}
}
