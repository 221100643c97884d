/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ut_sw.h - a switch instance for unit tests that drive actions through
 * vhsw_dispatch(), as vhswd's control thread does: a libev loop, an FDB,
 * a data plane (not started), the path policy with one socket directory,
 * and the vhost-user port kind.  A test that needs other kinds registers
 * them after ut_sw_create() (test_ctl: ethport_init).
 *
 * Include it after cmocka.h (call() asserts).
 *
 * Thread-safety: the test's (control) thread only.
 */
#ifndef VHSW_UT_SW_H
#define VHSW_UT_SW_H

#include <stdlib.h>

#include <jansson.h>

#include "dp.h"
#include "fdb.h"
#include "paths.h"
#include "vhsw.h"
#include "vport.h"

struct sw_env {
	struct vhsw sw;
	struct paths *paths;
	struct ev_loop *loop;
	struct fdb *fdb;
	struct dp *dp;
};

/* The instance, with socket paths allowed under 'sockdir'; NULL on failure. */
static inline struct sw_env *
ut_sw_create(const char *fdb_name, struct rte_mempool *pool,
	struct rte_rcu_qsbr *qsv, const char *sockdir)
{
	struct sw_env *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	e->loop = ev_loop_new(EVFLAG_AUTO);
	e->fdb = fdb_create(fdb_name, 1024, qsv);
	e->dp = dp_create(e->fdb, pool, qsv, DP_POLL_BUSY);
	if (e->fdb == NULL || e->dp == NULL)
		return NULL;
	vhsw_init(&e->sw, e->loop, pool, qsv, e->fdb, e->dp);
	e->paths = paths_create(PATHS_DEFAULT_STATE_DIR);
	if (e->paths == NULL || paths_add_socket_dir(e->paths, sockdir) != 0)
		return NULL;
	e->sw.paths = e->paths;
	if (vport_init(pool, dp_synchronize_cb, e->dp, vhsw_wake, &e->sw) != 0)
		return NULL;
	return e;
}

/* cmocka teardown of an instance made by ut_sw_create(). */
static inline int
sw_teardown(void **state)
{
	struct sw_env *e = *state;

	vhsw_fini(&e->sw);
	paths_destroy(e->paths);
	dp_destroy(e->dp);
	fdb_destroy(e->fdb);
	ev_loop_destroy(e->loop);
	free(e);
	return 0;
}

/*
 * Calls a method with params as JSON text; returns the error code (0:
 * success) with the message in 'msg' (512 bytes); the result in *res if
 * 'res' is not NULL.
 */
static inline int
call(struct sw_env *e, const char *method, const char *params, json_t **res,
	char *msg)
{
	json_t *p = json_loads(params, 0, NULL), *r;
	int code = 0;

	assert_non_null(p);
	msg[0] = '\0';
	r = vhsw_dispatch(&e->sw, method, p, &code, msg, 512);
	json_decref(p);
	if (res != NULL)
		*res = r;
	else
		json_decref(r);
	return r != NULL ? 0 : code;
}

#endif /* VHSW_UT_SW_H */
