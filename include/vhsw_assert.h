/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhsw_assert.h - debug-build checks of the thread and lock rules.
 *
 * The modules' headers say which thread may call what, and a function
 * with a '__' suffix expects its caller to hold a lock.  In a build
 * configured with -Dasserts=true (which defines RTE_ENABLE_ASSERT, so
 * DPDK's own RTE_ASSERTs are on too) these checks enforce that: a broken
 * rule aborts through rte_panic() with the function, file and line and
 * what was expected, as Linux's ASSERT_RTNL() and lockdep_assert_held()
 * do.  In a release build (the default) every check compiles to nothing
 * and its arguments are not evaluated.  Each is a plain assertion: none
 * returns or changes control flow otherwise.
 *
 *  - VHSW_ASSERT_CONTROL_THREAD(): the caller is the control thread, the
 *    one that called vhsw_assert_set_control_thread() (vhsw_init() does).
 *    A program that records none, such as a unit test of one module, has
 *    the first thread that passes a check recorded as its control thread.
 *  - struct vhsw_lock, VHSW_ASSERT_HELD(): an rte_spinlock that knows its
 *    holder's thread id in debug builds, so a helper can assert that the
 *    calling thread holds it (rte_spinlock_is_locked() would also pass
 *    when another thread holds it).
 *  - VHSW_ASSERT_NOT_READER(): the caller is not a data-plane thread (an
 *    RCU reader, marked with vhsw_assert_set_reader()); waiting for a grace
 *    period there would wait for itself.
 *  - VHSW_ASSERT_RCU_UNLOCKED(): the RCU reader is outside every
 *    rte_rcu_qsbr_lock()/unlock() section.  Those calls count only with
 *    RTE_LIBRTE_RCU_DEBUG, which -Dasserts=true also defines (DPDK's
 *    debug mode then only logs a non-zero count; this makes it fatal).
 *
 * Thread-safety: any thread.
 */
#ifndef VHSW_VHSW_ASSERT_H
#define VHSW_VHSW_ASSERT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_branch_prediction.h>
#include <rte_debug.h>
#include <rte_eal.h>
#include <rte_rcu_qsbr.h>
#include <rte_spinlock.h>

#ifdef RTE_ENABLE_ASSERT
#define VHSW_ASSERTS 1
#else
#define VHSW_ASSERTS 0
#endif

/* Records the calling thread as the control thread. */
void vhsw_assert_set_control_thread(void);
/* True if the caller is the control thread (records it if none is). */
bool vhsw_assert_is_control_thread(void);
/* Marks the calling thread as a data-plane reader, or not. */
void vhsw_assert_set_reader(bool reader);
bool vhsw_assert_is_reader(void);

/* A spinlock that records its holder in debug builds. */
struct vhsw_lock {
	rte_spinlock_t sl;
	int owner; /* debug builds: holder's thread id, 0 if free (atomic) */
};

static inline void
vhsw_lock_init(struct vhsw_lock *l)
{
	rte_spinlock_init(&l->sl);
	l->owner = 0;
}

static inline void
vhsw_lock(struct vhsw_lock *l)
{
	rte_spinlock_lock(&l->sl);
#if VHSW_ASSERTS
	__atomic_store_n(&l->owner, rte_gettid(), __ATOMIC_RELAXED);
#endif
}

static inline void
vhsw_unlock(struct vhsw_lock *l)
{
#if VHSW_ASSERTS
	__atomic_store_n(&l->owner, 0, __ATOMIC_RELAXED);
#endif
	rte_spinlock_unlock(&l->sl);
}

/* True if the caller holds 'l'.  Meaningful in debug builds only. */
static inline bool
vhsw_lock_held(const struct vhsw_lock *l)
{
	return __atomic_load_n(&l->owner, __ATOMIC_RELAXED) == rte_gettid();
}

#if VHSW_ASSERTS
#define VHSW_ASSERT_MSG(cond, what)                                         \
	do {                                                                \
		if (unlikely(!(cond)))                                      \
			rte_panic("%s:%d: %s\n", __FILE__, __LINE__, what); \
	} while (0)
#else
#define VHSW_ASSERT_MSG(cond, what) \
	do {                        \
	} while (0)
#endif

#define VHSW_ASSERT_CONTROL_THREAD()                     \
	VHSW_ASSERT_MSG(vhsw_assert_is_control_thread(), \
		"control-thread function called from another thread")
#define VHSW_ASSERT_HELD(l) \
	VHSW_ASSERT_MSG(vhsw_lock_held(l), "lock " #l " not held by caller")
#define VHSW_ASSERT_NOT_READER()                  \
	VHSW_ASSERT_MSG(!vhsw_assert_is_reader(), \
		"waits for a grace period on a data-plane thread")
#define VHSW_ASSERT_RCU_UNLOCKED(v, id)                              \
	VHSW_ASSERT_MSG(__atomic_load_n(&(v)->qsbr_cnt[id].lock_cnt, \
				__ATOMIC_RELAXED) == 0,              \
		"RCU reader still inside rte_rcu_qsbr_lock()")

#endif /* VHSW_VHSW_ASSERT_H */
