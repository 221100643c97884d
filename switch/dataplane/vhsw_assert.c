/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhsw_assert.c - who the control thread is, which threads are readers
 * (see vhsw_assert.h).  Thread ids come from rte_gettid(): a kernel
 * thread id, never 0.
 */
#include "vhsw_assert.h"

static int control_tid; /* atomic; 0 until recorded */
static __thread bool is_reader;

void
vhsw_assert_set_control_thread(void)
{
	__atomic_store_n(&control_tid, rte_gettid(), __ATOMIC_RELAXED);
}

bool
vhsw_assert_is_control_thread(void)
{
	int me = rte_gettid(), tid = 0;

	if (__atomic_compare_exchange_n(&control_tid, &tid, me, false,
		    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return true; /* none was recorded: the caller is now */
	return tid == me;
}

void
vhsw_assert_set_reader(bool reader)
{
	is_reader = reader;
}

bool
vhsw_assert_is_reader(void)
{
	return is_reader;
}
