/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_mirror.c - port mirrors (mirror.h) through vhsw_dispatch(): every
 * refusal, the monitors built for the sources, the destination kept out
 * of polling and flooding, port removal, and the saved form (config dump,
 * apply, the shape checks of config_read).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "config.h"
#include "mirror.h"
#include "monitor.h"
#include "paths.h"
#include "vhsw.h"
#include "vport.h"
#include "ut_eal.h"
#include "ut_sw.h"

static char tmpdir[64];
static struct rte_mempool *pool;
static struct rte_rcu_qsbr *qsv;

static int
sw_setup(void **state)
{
	*state = ut_sw_create("ut_mirror_fdb", pool, qsv, tmpdir);
	return *state != NULL ? 0 : -1;
}

/* A vhost-user port NAME on tmpdir/NAME.sock, with extra JSON keys. */
static void
add_port(struct sw_env *e, const char *name, const char *extra)
{
	char params[512], msg[512];

	snprintf(params, sizeof(params),
		"{\"name\":\"%s\",\"type\":\"vhost-user\",\"socket\":\"%s/"
		"%s.sock\"%s}",
		name, tmpdir, name, extra);
	assert_int_equal(call(e, "port/add", params, NULL, msg), 0);
}

/* Whether the published table polls port 'name' (its ids[]). */
static bool
polled(struct sw_env *e, const char *name)
{
	const struct port_table *t = &e->dp->table->ports;
	struct port *p = vhsw_port_find(&e->sw, name);
	uint16_t i;

	for (i = 0; i < t->n; i++)
		if (t->ids[i] == p->id)
			return true;
	return false;
}

/* Whether the published table reaches port 'name' by id. */
static bool
reachable(struct sw_env *e, const char *name)
{
	struct port *p = vhsw_port_find(&e->sw, name);

	return e->dp->table->ports.by_id[p->id] == p;
}

/* Refused with 'code' and a message containing 'what'. */
static void
refused(struct sw_env *e, const char *method, const char *params, int code,
	const char *what)
{
	char msg[512];

	assert_int_equal(call(e, method, params, NULL, msg), code);
	if (strstr(msg, what) == NULL)
		fail_msg("%s %s: '%s' does not say '%s'", method, params, msg,
			what);
}

static void
test_rules(void **state)
{
	struct sw_env *e = *state;
	char msg[512], params[256];
	int i;

	add_port(e, "a", "");
	add_port(e, "b", "");
	add_port(e, "c", "");
	add_port(e, "d", "");
	add_port(e, "m", ",\"mac\":\"52:54:00:00:00:0a\"");
	/* The command table: name, src and dst required. */
	refused(e, "mirror/add", "{\"name\":\"x\",\"dst\":\"c\"}",
		CTL_ERR_INVALID_PARAMS, "src");
	refused(e, "mirror/add", "{\"name\":\"x\",\"src\":\"a\"}",
		CTL_ERR_INVALID_PARAMS, "dst");
	refused(e, "mirror/add",
		"{\"name\":\"x y\",\"src\":\"a\",\"dst\":\"c\"}",
		CTL_ERR_INVALID_PARAMS, "invalid mirror name 'x y'");
	refused(e, "mirror/add",
		"{\"name\":\"x\",\"src\":\"a\",\"dst\":\"c\",\"direction\":"
		"\"up\"}",
		CTL_ERR_INVALID_PARAMS, "rx, tx or both");
	refused(e, "mirror/add", "{\"name\":\"x\",\"src\":\"a\",\"dst\":\"z\"}",
		CTL_ERR_REFUSED, "no port named z (--dst)");
	refused(e, "mirror/add",
		"{\"name\":\"x\",\"src\":\"a,zz\",\"dst\":\"c\"}",
		CTL_ERR_REFUSED, "no port named zz (--src)");
	refused(e, "mirror/add",
		"{\"name\":\"x\",\"src\":\"a,\",\"dst\":\"c\"}",
		CTL_ERR_INVALID_PARAMS, "separated by commas");
	refused(e, "mirror/add",
		"{\"name\":\"x\",\"src\":\"a,b,a\",\"dst\":\"c\"}",
		CTL_ERR_INVALID_PARAMS, "names port a twice");
	refused(e, "mirror/add",
		"{\"name\":\"x\",\"src\":\"a,c\",\"dst\":\"c\"}",
		CTL_ERR_REFUSED, "both a source and the destination");
	refused(e, "mirror/add", "{\"name\":\"x\",\"src\":\"a\",\"dst\":\"m\"}",
		CTL_ERR_REFUSED, "has --mac 52:54:00:00:00:0a");
	assert_int_equal(
		call(e, "fdb/add",
			"{\"mac\":\"52:54:00:00:00:0d\",\"port\":\"d\"}", NULL,
			msg),
		0);
	refused(e, "mirror/add", "{\"name\":\"x\",\"src\":\"a\",\"dst\":\"d\"}",
		CTL_ERR_REFUSED, "has 1 static FDB entry");
	assert_int_equal(call(e, "fdb/del", "{\"mac\":\"52:54:00:00:00:0d\"}",
				 NULL, msg),
		0);

	assert_int_equal(call(e, "mirror/add",
				 "{\"name\":\"m1\",\"src\":\"a,b\",\"dst\":"
				 "\"c\",\"direction\":\"rx\"}",
				 NULL, msg),
		0);
	refused(e, "mirror/add",
		"{\"name\":\"m1\",\"src\":\"a\",\"dst\":\"d\"}",
		CTL_ERR_REFUSED, "mirror m1 exists already");
	/* No chains: c is a destination, a a source. */
	refused(e, "mirror/add", "{\"name\":\"x\",\"src\":\"c\",\"dst\":\"d\"}",
		CTL_ERR_REFUSED, "port c is the destination of mirror m1");
	refused(e, "mirror/add", "{\"name\":\"x\",\"src\":\"d\",\"dst\":\"a\"}",
		CTL_ERR_REFUSED, "port a is a source of mirror m1");
	/* Static entries to a destination. */
	refused(e, "fdb/add", "{\"mac\":\"52:54:00:00:00:0c\",\"port\":\"c\"}",
		CTL_ERR_REFUSED, "port c is the destination of a mirror");
	/* A second mirror to the same destination is fine. */
	assert_int_equal(
		call(e, "mirror/add",
			"{\"name\":\"m2\",\"src\":\"d\",\"dst\":\"c\"}", NULL,
			msg),
		0);
	/* At most MONITOR_MAX_MIRRORS mirrors per source. */
	for (i = 0; i < MONITOR_MAX_MIRRORS - 1; i++) {
		snprintf(params, sizeof(params),
			"{\"name\":\"k%d\",\"src\":\"a\",\"dst\":\"c\"}", i);
		assert_int_equal(call(e, "mirror/add", params, NULL, msg), 0);
	}
	refused(e, "mirror/add", "{\"name\":\"x\",\"src\":\"a\",\"dst\":\"c\"}",
		CTL_ERR_REFUSED, "port a is a source of 8 mirrors already");
	refused(e, "mirror/del", "{\"name\":\"nope\"}", CTL_ERR_REFUSED,
		"no mirror named nope");
}

/* MIRROR_MAX in all, over several sources. */
static void
test_total_limit(void **state)
{
	struct sw_env *e = *state;
	char msg[512], params[256], name[16];
	int i, n = 0;

	add_port(e, "dst", "");
	for (i = 0; n < MIRROR_MAX; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		add_port(e, name, "");
		for (; n < MIRROR_MAX && n < (i + 1) * MONITOR_MAX_MIRRORS;
			n++) {
			snprintf(params, sizeof(params),
				"{\"name\":\"m%d\",\"src\":\"%s\",\"dst\":"
				"\"dst\"}",
				n, name);
			assert_int_equal(
				call(e, "mirror/add", params, NULL, msg), 0);
		}
	}
	add_port(e, "last", "");
	refused(e, "mirror/add",
		"{\"name\":\"one-more\",\"src\":\"last\",\"dst\":\"dst\"}",
		CTL_ERR_REFUSED, "there are 32 mirrors already");
}

static void
test_monitors_and_table(void **state)
{
	struct sw_env *e = *state;
	struct port *a, *b, *c;
	char msg[512];
	json_t *res;

	add_port(e, "a", "");
	add_port(e, "b", "");
	add_port(e, "c", "");
	a = vhsw_port_find(&e->sw, "a");
	b = vhsw_port_find(&e->sw, "b");
	c = vhsw_port_find(&e->sw, "c");
	assert_true(polled(e, "c"));
	assert_int_equal(call(e, "mirror/add",
				 "{\"name\":\"m1\",\"src\":\"a,b\",\"dst\":"
				 "\"c\",\"direction\":\"tx\"}",
				 &res, msg),
		0);
	assert_string_equal(
		json_string_value(json_object_get(res, "direction")), "tx");
	assert_int_equal(json_array_size(json_object_get(res, "src")), 2);
	json_decref(res);
	/* The sources watch tx towards c; c is reachable, not polled. */
	assert_non_null(a->monitor);
	assert_int_equal(a->monitor->n_mirror, 1);
	assert_int_equal(a->monitor->mirror[0].dst, c->id);
	assert_int_equal(a->monitor->mirror[0].dirs, MONITOR_TX);
	assert_int_equal(a->monitor->dirs, MONITOR_TX);
	assert_non_null(b->monitor);
	assert_null(c->monitor);
	assert_true(c->output_only);
	assert_false(polled(e, "c"));
	assert_true(reachable(e, "c"));
	assert_true(polled(e, "a"));
	/* Admin down and up keep it out of polling. */
	assert_int_equal(
		call(e, "port/set", "{\"name\":\"c\",\"admin\":\"down\"}", NULL,
			msg),
		0);
	assert_false(reachable(e, "c"));
	assert_int_equal(
		call(e, "port/set", "{\"name\":\"c\",\"admin\":\"up\"}", NULL,
			msg),
		0);
	assert_true(reachable(e, "c"));
	assert_false(polled(e, "c"));
	/* The list. */
	assert_int_equal(call(e, "mirror/list", "{}", &res, msg), 0);
	assert_int_equal(json_array_size(res), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(res, 0), "dst")),
		"c");
	assert_non_null(
		json_object_get(json_array_get(res, 0), "dst_tx_packets"));
	json_decref(res);
	/* del: the monitors go, c is polled again. */
	assert_int_equal(
		call(e, "mirror/del", "{\"name\":\"m1\"}", NULL, msg), 0);
	assert_null(a->monitor);
	assert_null(b->monitor);
	assert_false(c->output_only);
	assert_true(polled(e, "c"));
	assert_int_equal(call(e, "mirror/list", "{}", &res, msg), 0);
	assert_int_equal(json_array_size(res), 0);
	json_decref(res);
}

static void
test_port_removal(void **state)
{
	struct sw_env *e = *state;
	struct port *a, *d;
	char msg[512];
	json_t *res;

	add_port(e, "a", "");
	add_port(e, "b", "");
	add_port(e, "c", "");
	add_port(e, "d", "");
	a = vhsw_port_find(&e->sw, "a");
	d = vhsw_port_find(&e->sw, "d");
	assert_int_equal(call(e, "mirror/add",
				 "{\"name\":\"m1\",\"src\":\"a,b\",\"dst\":"
				 "\"c\"}",
				 NULL, msg),
		0);
	assert_int_equal(
		call(e, "mirror/add",
			"{\"name\":\"m2\",\"src\":\"a\",\"dst\":\"d\"}", NULL,
			msg),
		0);
	assert_int_equal(a->monitor->n_mirror, 2);
	/* A source goes: m1 keeps a; m2 unchanged. */
	assert_int_equal(call(e, "port/del", "{\"name\":\"b\"}", NULL, msg), 0);
	assert_int_equal(call(e, "mirror/list", "{}", &res, msg), 0);
	assert_int_equal(json_array_size(res), 2);
	assert_int_equal(
		json_array_size(json_object_get(json_array_get(res, 0), "src")),
		1);
	json_decref(res);
	/* A destination goes: its mirror goes, the source's monitor has no
	 * entry with its id. */
	assert_int_equal(call(e, "port/del", "{\"name\":\"c\"}", NULL, msg), 0);
	assert_int_equal(call(e, "mirror/list", "{}", &res, msg), 0);
	assert_int_equal(json_array_size(res), 1);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(res, 0), "name")),
		"m2");
	json_decref(res);
	assert_int_equal(a->monitor->n_mirror, 1);
	assert_int_equal(a->monitor->mirror[0].dst, d->id);
	/* The last source goes: the mirror goes, d forwards again. */
	assert_int_equal(call(e, "port/del", "{\"name\":\"a\"}", NULL, msg), 0);
	assert_int_equal(call(e, "mirror/list", "{}", &res, msg), 0);
	assert_int_equal(json_array_size(res), 0);
	json_decref(res);
	assert_false(d->output_only);
	assert_true(polled(e, "d"));
}

static void
test_config(void **state)
{
	struct sw_env *e = *state;
	char path[128], msg[512], err[512];
	json_t *cfg, *a, *b, *m;

	add_port(e, "a", "");
	add_port(e, "b", "");
	add_port(e, "c", "");
	assert_int_equal(call(e, "mirror/add",
				 "{\"name\":\"m1\",\"src\":\"b,a\",\"dst\":"
				 "\"c\",\"direction\":\"rx\"}",
				 NULL, msg),
		0);
	a = config_dump(&e->sw);
	m = json_array_get(json_object_get(a, "mirrors"), 0);
	assert_non_null(m);
	assert_string_equal(
		json_string_value(json_array_get(json_object_get(m, "src"), 0)),
		"b");
	assert_string_equal(json_string_value(json_object_get(m, "dst")), "c");
	assert_null(json_object_get(m, "dst_tx_packets"));
	snprintf(path, sizeof(path), "%s/cfg.json", tmpdir);
	assert_int_equal(
		config_write(a, path, 0600, false, err, sizeof(err)), 0);
	vhsw_fini(&e->sw);
	vhsw_init(&e->sw, e->loop, pool, qsv, e->fdb, e->dp);
	e->sw.paths = e->paths;
	cfg = config_read(path, err, sizeof(err));
	assert_non_null(cfg);
	assert_int_equal(
		config_apply(&e->sw, path, cfg, NULL, err, sizeof(err)), 0);
	json_decref(cfg);
	b = config_dump(&e->sw);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	assert_true(vhsw_port_find(&e->sw, "c")->output_only);
	/* Shapes config_read refuses, and values the action refuses. */
	{
		static const char *const bad[] = {
			"{\"mirrors\":{}}",
			"{\"mirrors\":[1]}",
			"{\"mirrors\":[{\"name\":\"x\",\"src\":[\"a\"],"
			"\"dst\":\"c\",\"colour\":1}]}",
			"{\"mirrors\":[{\"name\":\"x\",\"src\":\"a\",\"dst\":"
			"\"c\"}]}",
			"{\"mirrors\":[{\"name\":\"x\",\"src\":[],\"dst\":"
			"\"c\"}]}",
			"{\"mirrors\":[{\"name\":\"x\",\"src\":[1],\"dst\":"
			"\"c\"}]}",
			"{\"mirrors\":[{\"src\":[\"a\"],\"dst\":\"c\"}]}",
			"{\"mirrors\":[{\"name\":\"x\",\"src\":[\"a\"]}]}",
			"{\"mirrors\":[{\"name\":\"x\",\"src\":[\"a\"],"
			"\"dst\":\"c\",\"direction\":2}]}",
			"{\"mirrors\":[{\"name\":\"x\",\"src\":[\"a,b\"],"
			"\"dst\":\"c\"}]}",
			"{\"mirrors\":[{\"name\":\"x\",\"src\":[\"zz\"],"
			"\"dst\":\"c\"}]}",
			NULL,
		};
		int i;

		for (i = 0; bad[i] != NULL; i++) {
			err[0] = '\0';
			cfg = config_parse(bad[i], strlen(bad[i]), "bad.json",
				err, sizeof(err));
			if (cfg != NULL) {
				if (config_apply(&e->sw, "bad.json", cfg, NULL,
					    err, sizeof(err)) == 0)
					fail_msg("accepted %s", bad[i]);
				json_decref(cfg);
			}
			if (strstr(err, "mirrors") == NULL)
				fail_msg("%s: '%s' does not name mirrors",
					bad[i], err);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_rules, sw_setup, sw_teardown),
		cmocka_unit_test_setup_teardown(
			test_total_limit, sw_setup, sw_teardown),
		cmocka_unit_test_setup_teardown(
			test_monitors_and_table, sw_setup, sw_teardown),
		cmocka_unit_test_setup_teardown(
			test_port_removal, sw_setup, sw_teardown),
		cmocka_unit_test_setup_teardown(
			test_config, sw_setup, sw_teardown),
	};
	char cmd[128];
	int fails;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vhsw-ut-mirror-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	if (ut_eal_init("mirror") != 0)
		return 1;
	pool = rte_pktmbuf_pool_create(
		"ut_pool", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	qsv = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(1), 64);
	if (pool == NULL || qsv == NULL || rte_rcu_qsbr_init(qsv, 1) != 0)
		return 1;
	fails = cmocka_run_group_tests_name("mirror", tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fails++;
	return fails;
}
