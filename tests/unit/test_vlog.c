/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_vlog.c - the rate limit of event lines and run-time levels (vlog.h).
 * No EAL: DPDK's log works before rte_eal_init.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_log.h>

#include "vlog.h"

#define MS 1000000ULL
#define S 1000000000ULL

static int test_logtype = -1;

static int
count_lines(const char *log, const char *needle)
{
	const char *p = log;
	int n = 0;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

/* A burst, then one line per interval; refused ones are counted. */
static void
test_bucket(void **state)
{
	struct vlog_rl rl = VLOG_RATE_LIMIT_INIT(3, 1000);
	uint32_t sup = 99;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_true(vlog_rl_take(&rl, 10 * S, &sup));
		assert_int_equal(sup, 0);
	}
	assert_false(vlog_rl_take(&rl, 10 * S, &sup));
	assert_false(vlog_rl_take(&rl, 10 * S + 500 * MS, &sup));
	/* One interval later: one token, and the count of the refused. */
	assert_true(vlog_rl_take(&rl, 11 * S, &sup));
	assert_int_equal(sup, 2);
	assert_false(vlog_rl_take(&rl, 11 * S + 999 * MS, &sup));
	/* A long quiet period refills the bucket up to the burst only. */
	for (i = 0; i < 3; i++)
		assert_true(vlog_rl_take(&rl, 100 * S, &sup));
	assert_int_equal(sup, 0);
	assert_false(vlog_rl_take(&rl, 100 * S, &sup));
	vlog_rl_fini(&rl);
}

/* A flood logs the burst; the tick writes one note with the count. */
static void
test_flood_and_note(void **state)
{
	static struct vlog_rl rl = VLOG_RATE_LIMIT_INIT(5, 60000);
	char *log = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&log, &len);
	int i;

	(void)state;
	assert_non_null(mem);
	rte_openlog_stream(mem);
	for (i = 0; i < 1000; i++)
		vlog_rl_log(&rl, test_logtype, RTE_LOG_WARNING,
			"vhswd: test: ", "peer %d refused", i);
	vlog_flush(); /* no token yet: no note */
	vlog_flush_at(vlog_now_ns() + 61 * S);
	vlog_flush_at(vlog_now_ns() + 122 * S); /* nothing left to say */
	rte_openlog_stream(NULL);
	fclose(mem);
	assert_int_equal(count_lines(log, "vhswd: test: peer "), 5);
	assert_int_equal(count_lines(log, "peer 4 refused"), 1);
	assert_int_equal(count_lines(log, "suppressed"), 1);
	assert_non_null(strstr(log,
		"vhswd: test: 995 lines suppressed by the rate limit in the "
		"last "));
	assert_non_null(strstr(log, "(the last: peer 999 refused)"));
	free(log);
	vlog_rl_fini(&rl);
}

/* A level that is off costs no token and counts nothing. */
static void
test_level_off(void **state)
{
	struct vlog_rl rl = VLOG_RATE_LIMIT_INIT(1, 60000);
	char *log = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&log, &len);
	uint32_t sup;

	(void)state;
	rte_log_set_level(test_logtype, RTE_LOG_INFO);
	rte_openlog_stream(mem);
	vlog_rl_log(&rl, test_logtype, RTE_LOG_DEBUG, "", "debug line");
	vlog_rl_log(&rl, test_logtype, RTE_LOG_DEBUG, "", "debug line");
	rte_openlog_stream(NULL);
	fclose(mem);
	assert_int_equal(len, 0);
	assert_true(vlog_rl_take(&rl, vlog_now_ns(), &sup));
	assert_int_equal(sup, 0);
	free(log);
	vlog_rl_fini(&rl);
}

/* Events a recorder dropped join the note. */
static void
test_add_suppressed(void **state)
{
	struct vlog_rl rl = VLOG_RATE_LIMIT_INIT(2, 1000);
	char *log = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&log, &len);

	(void)state;
	rte_openlog_stream(mem);
	vlog_rl_add_suppressed(
		&rl, test_logtype, RTE_LOG_WARNING, "t: ", 7, "MAC moved");
	vlog_rl_log(&rl, test_logtype, RTE_LOG_WARNING, "t: ", "line");
	vlog_flush_at(vlog_now_ns() + 10 * S);
	rte_openlog_stream(NULL);
	fclose(mem);
	assert_non_null(strstr(log, "t: 7 lines suppressed"));
	assert_non_null(strstr(log, "(the last: MAC moved)"));
	assert_int_equal(count_lines(log, "t: line"), 1);
	assert_int_equal(count_lines(log, "suppressed"), 1);
	free(log);
	vlog_rl_fini(&rl);
}

/* Lines already formatted (vhswd's filter of DPDK's warnings). */
static void
test_admit(void **state)
{
	struct vlog_rl rl = VLOG_RATE_LIMIT_INIT(2, 60000);
	char note[512];
	int i, ok = 0;

	(void)state;
	for (i = 0; i < 10; i++) {
		ok += vlog_rl_admit(&rl, test_logtype, RTE_LOG_ERR,
			"vhswd: ", "VHOST_CONFIG: failed\n", 21, note,
			sizeof(note));
		assert_string_equal(note, "");
	}
	assert_int_equal(ok, 2);
	/* The bucket is full again much later: the note comes first. */
	rl.last_ns = 1; /* long ago */
	assert_true(vlog_rl_admit(&rl, test_logtype, RTE_LOG_ERR,
		"vhswd: ", "VHOST_CONFIG: again\n", 20, note, sizeof(note)));
	assert_non_null(strstr(note,
		"vhswd: 8 lines suppressed by the rate limit in the last "));
	assert_non_null(strstr(note, "(the last: VHOST_CONFIG: failed)\n"));
	vlog_rl_fini(&rl);
}

static void
test_levels(void **state)
{
	char err[512];

	(void)state;
	assert_int_equal(vlog_level_parse("debug"), RTE_LOG_DEBUG);
	assert_int_equal(vlog_level_parse("ERR"), RTE_LOG_ERR);
	assert_int_equal(vlog_level_parse("error"), RTE_LOG_ERR);
	assert_int_equal(vlog_level_parse("emerg"), RTE_LOG_EMERG);
	assert_int_equal(vlog_level_parse("8"), RTE_LOG_DEBUG);
	assert_int_equal(vlog_level_parse("loud"), -1);
	assert_int_equal(vlog_level_parse("9"), -1);
	assert_string_equal(vlog_level_name(RTE_LOG_WARNING), "warning");

	/* Short and full module names, "all", DPDK patterns. */
	assert_int_equal(vlog_set_level("test", "debug", err, sizeof(err)), 1);
	assert_int_equal(rte_log_get_level(test_logtype), RTE_LOG_DEBUG);
	assert_int_equal(
		vlog_set_level("vhsw.test", "err", err, sizeof(err)), 1);
	assert_int_equal(rte_log_get_level(test_logtype), RTE_LOG_ERR);
	assert_true(vlog_set_level("all", "notice", err, sizeof(err)) >= 1);
	assert_int_equal(rte_log_get_level(test_logtype), RTE_LOG_NOTICE);
	assert_true(vlog_set_level("lib.*", "warning", err, sizeof(err)) >= 1);

	assert_int_equal(
		vlog_set_level("nosuch", "debug", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown log module 'nosuch'"));
	assert_non_null(strstr(err, " test"));
	assert_int_equal(
		vlog_set_level("test", "loud", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown log level 'loud'"));
	assert_non_null(strstr(err, VLOG_LEVELS));
	assert_int_equal(rte_log_get_level(test_logtype), RTE_LOG_NOTICE);
	rte_log_set_level(test_logtype, RTE_LOG_INFO);
}

static void
collect(const char *name, uint32_t level, void *arg)
{
	int *found = arg;

	if (strcmp(name, "vhsw.test") == 0 && level == RTE_LOG_INFO)
		(*found)++;
	if (strncmp(name, "vhsw.", 5) != 0)
		(*found) += 100;
}

static void
test_foreach(void **state)
{
	int found = 0;

	(void)state;
	assert_int_equal(vlog_foreach(false, collect, &found), 0);
	assert_int_equal(found, 1);
	found = 0;
	assert_int_equal(vlog_foreach(true, collect, &found), 0);
	assert_true(found > 100); /* DPDK's own types too */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_flood_and_note),
		cmocka_unit_test(test_level_off),
		cmocka_unit_test(test_add_suppressed),
		cmocka_unit_test(test_admit),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_foreach),
	};

	test_logtype =
		rte_log_register_type_and_pick_level("vhsw.test", RTE_LOG_INFO);
	if (test_logtype < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
