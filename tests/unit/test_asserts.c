/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_asserts.c - the debug checks of vhsw_assert.h fire: a control-only
 * function called from another thread, a lock helper's assertion without
 * the lock (or with another thread holding it), a grace-period wait on a
 * data-plane thread, a quiescent state inside an RCU read-side section.
 *
 * Each violation runs in a child process forked from a fresh thread (so
 * the child's only thread is not the control thread, and a child after a
 * fork never starts threads, which ThreadSanitizer requires).  With
 * -Dasserts=true the child must die of SIGABRT after printing the
 * expected message; in a release build it must exit normally, which shows
 * that the checks compile to nothing there.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "dp.h"
#include "fdb.h"
#include "vhsw_assert.h"
#include "ut_eal.h"

static struct rte_rcu_qsbr *qsv;

struct child {
	void (*fn)(void *arg);
	void *arg;
	int status;     /* waitpid() status */
	char out[8192]; /* what the child printed */
};

/* On a fresh thread: fork, run the violation in the child, collect. */
static void *
fork_thread(void *arg)
{
	struct child *c = arg;
	size_t len = 0;
	ssize_t n;
	int fds[2];
	pid_t pid;

	if (pipe(fds) != 0)
		return NULL;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		c->fn(c->arg);
		_exit(0);
	}
	close(fds[1]);
	while (pid > 0 && len < sizeof(c->out) - 1 &&
		(n = read(fds[0], c->out + len, sizeof(c->out) - 1 - len)) > 0)
		len += (size_t)n;
	c->out[len] = '\0';
	close(fds[0]);
	if (pid < 0 || waitpid(pid, &c->status, 0) != pid)
		c->status = -1;
	return NULL;
}

/*
 * Runs 'fn' in a child of a thread that is not the control thread and
 * checks it was stopped by the assertion that prints 'msg' (debug builds)
 * or ran to its end (release builds).
 */
static void
expect_violation(void (*fn)(void *), void *arg, const char *msg)
{
	struct child *c = calloc(1, sizeof(*c));
	pthread_t t;

	assert_non_null(c);
	c->fn = fn;
	c->arg = arg;
	c->status = -1;
	assert_int_equal(pthread_create(&t, NULL, fork_thread, c), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_not_equal(c->status, -1);
	if (VHSW_ASSERTS) {
		if (!WIFSIGNALED(c->status) || WTERMSIG(c->status) != SIGABRT)
			fail_msg("no abort (status %#x); child said:\n%s",
				c->status, c->out);
		if (strstr(c->out, msg) == NULL)
			fail_msg("abort without \"%s\"; child said:\n%s", msg,
				c->out);
	} else {
		if (!WIFEXITED(c->status) || WEXITSTATUS(c->status) != 0)
			fail_msg("release build checked something (status "
				 "%#x); child said:\n%s",
				c->status, c->out);
	}
	free(c);
}

static void
call_fdb_del(void *arg)
{
	struct fdb_key k = {.mac = {{0x02, 0, 0, 0, 0, 1}}, .vlan = 0};

	fdb_del(arg, &k);
}

static void
test_control_thread(void **state)
{
	struct fdb *f = fdb_create("ut_asserts", 64, qsv);
	struct fdb_key k = {.mac = {{0x02, 0, 0, 0, 0, 1}}, .vlan = 0};

	assert_non_null(f);
	/* This thread is the control thread: no objection here... */
	assert_int_equal(fdb_add_static(f, &k, 1), 0);
	/* ...but from another thread, a control-only function aborts. */
	expect_violation(call_fdb_del, f, "called from another thread");
	assert_int_equal(fdb_del(f, &k), 0);
	fdb_destroy(f);
}

static void
assert_held(void *arg)
{
	VHSW_ASSERT_HELD((struct vhsw_lock *)arg);
}

static void
test_lock_held(void **state)
{
	struct vhsw_lock l;

	vhsw_lock_init(&l);
	expect_violation(assert_held, &l, "not held by caller");
	vhsw_lock(&l);
	VHSW_ASSERT_HELD(&l); /* the holder passes */
	if (VHSW_ASSERTS)
		assert_true(vhsw_lock_held(&l));
	/* Held, but by this thread, not the child's. */
	expect_violation(assert_held, &l, "not held by caller");
	vhsw_unlock(&l);
	if (VHSW_ASSERTS)
		assert_false(vhsw_lock_held(&l));
}

static void
synchronize_as_reader(void *arg)
{
	vhsw_assert_set_reader(true);
	dp_synchronize(arg);
}

static void
test_no_grace_period_wait_on_reader(void **state)
{
	struct dp *dp = dp_create(NULL, NULL, qsv, DP_POLL_BUSY);

	assert_non_null(dp);
	dp_synchronize(dp); /* the control thread may wait */
	expect_violation(synchronize_as_reader, dp, "on a data-plane thread");
	dp_destroy(dp);
}

static void
quiescent_inside_section(void *arg)
{
	rte_rcu_qsbr_thread_register(qsv, 0);
	rte_rcu_qsbr_thread_online(qsv, 0);
	rte_rcu_qsbr_lock(qsv, 0);
	/* What the data-plane loop asserts before rte_rcu_qsbr_quiescent(). */
	VHSW_ASSERT_RCU_UNLOCKED(qsv, 0);
	rte_rcu_qsbr_quiescent(qsv, 0);
}

static void
test_rcu_section_closed(void **state)
{
	rte_rcu_qsbr_lock(qsv, 0);
	rte_rcu_qsbr_unlock(qsv, 0);
	VHSW_ASSERT_RCU_UNLOCKED(qsv, 0); /* balanced: passes */
	expect_violation(
		quiescent_inside_section, NULL, "inside rte_rcu_qsbr_lock()");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control_thread),
		cmocka_unit_test(test_lock_held),
		cmocka_unit_test(test_no_grace_period_wait_on_reader),
		cmocka_unit_test(test_rcu_section_closed),
	};

	if (ut_eal_init("asserts") != 0)
		return 1;
	vhsw_assert_set_control_thread();
	qsv = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(1), 64);
	if (qsv == NULL || rte_rcu_qsbr_init(qsv, 1) != 0)
		return 1;
	print_message(
		"debug checks %s in this build\n", VHSW_ASSERTS ? "on" : "off");
	return cmocka_run_group_tests_name("asserts", tests, NULL, NULL);
}
