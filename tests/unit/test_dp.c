/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_dp.c - the adaptive idle period (dp_next_idle_us): it grows while
 * sleeps are cut short by traffic and shrinks back when the switch is idle.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "dp.h"

/* Short sleeps ended by a kick: a flow with gaps.  Doubles up to the cap. */
static void
test_grows_on_short_sleeps(void **state)
{
	uint32_t us = DP_IDLE_MIN_US;
	int i;

	(void)state;
	us = dp_next_idle_us(us, 500, true); /* 0.5 ms < 1 ms */
	assert_int_equal(us, 2 * DP_IDLE_MIN_US);
	for (i = 0; i < 10; i++)
		us = dp_next_idle_us(us, 100, true);
	assert_int_equal(us, DP_IDLE_MAX_US);
}

/* Long sleeps, or sleeps no kick ended: idle.  Halves down to the floor. */
static void
test_shrinks_when_idle(void **state)
{
	uint32_t us = DP_IDLE_MAX_US;
	int i;

	(void)state;
	us = dp_next_idle_us(us, DP_IDLE_LONG * (uint64_t)DP_IDLE_MAX_US, true);
	assert_int_equal(us, DP_IDLE_MAX_US / 2);
	us = dp_next_idle_us(us, 10, false); /* timeout or wake: no traffic */
	assert_int_equal(us, DP_IDLE_MAX_US / 4);
	for (i = 0; i < 10; i++)
		us = dp_next_idle_us(us, 100000000, true);
	assert_int_equal(us, DP_IDLE_MIN_US);
	assert_int_equal(
		dp_next_idle_us(DP_IDLE_MIN_US, 0, false), DP_IDLE_MIN_US);
}

/* In between: sporadic traffic (a frame every few periods) keeps it. */
static void
test_keeps_for_sporadic_traffic(void **state)
{
	(void)state;
	assert_int_equal(
		dp_next_idle_us(DP_IDLE_MIN_US,
			DP_IDLE_SHORT * (uint64_t)DP_IDLE_MIN_US, true),
		DP_IDLE_MIN_US);
	assert_int_equal(dp_next_idle_us(4000, 20000, true), 4000);
	/* 200 frames/s: a 4 ms sleep after 1 ms idle; it keeps sleeping. */
	assert_int_equal(
		dp_next_idle_us(DP_IDLE_MIN_US, 4000, true), DP_IDLE_MIN_US);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grows_on_short_sleeps),
		cmocka_unit_test(test_shrinks_when_idle),
		cmocka_unit_test(test_keeps_for_sporadic_traffic),
	};

	return cmocka_run_group_tests_name("dp", tests, NULL, NULL);
}
