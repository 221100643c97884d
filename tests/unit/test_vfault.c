/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_vfault.c - SIGBUS containment (vfault.h) on real mappings: a peer's
 * memfd is mapped as librte_vhost maps it, then shrunk; the next access
 * must not kill the process but read zeros, and the owner's hook must hear
 * of it.  Both ways a mapping is known: registered (vfault_add) and
 * announced before it is mapped (vfault_expect, found in /proc/self/maps).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vfault.h"

#define LEN (1u << 20)

static int owner_a, owner_b;
static void *hook_owner;
static uint32_t hook_tag;
static uint64_t hook_offset;
static int hook_calls;

static void
hook(void *owner, uint32_t tag, uint64_t offset)
{
	hook_owner = owner;
	hook_tag = tag;
	hook_offset = offset;
	hook_calls++;
}

struct peer {
	int fd;
	volatile uint8_t *mem;
};

static int
setup(void **state)
{
	static struct peer p;

	p.fd = memfd_create("peer", 0);
	assert_true(p.fd >= 0);
	assert_int_equal(ftruncate(p.fd, LEN), 0);
	p.mem = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, p.fd, 0);
	assert_true(p.mem != MAP_FAILED);
	p.mem[4096] = 0x5a;
	hook_calls = 0;
	/* cmocka installs its own SIGBUS handler around each test. */
	assert_int_equal(vfault_init(hook), 0);
	*state = &p;
	return 0;
}

static int
teardown(void **state)
{
	struct peer *p = *state;

	vfault_remove(&owner_a);
	vfault_remove(&owner_b);
	vfault_expect_clear(&owner_a);
	munmap((void *)p->mem, LEN);
	close(p->fd);
	return 0;
}

static void
test_registered(void **state)
{
	struct peer *p = *state;
	static uint8_t other[8192];

	assert_int_equal(vfault_init(hook), 0);
	/* Another owner's range elsewhere must not be blamed. */
	assert_int_equal(vfault_add(&owner_b, 3, (uintptr_t)other, 100, 0), 0);
	assert_int_equal(
		vfault_add(&owner_a, 2, (uintptr_t)p->mem + 100, LEN - 100, 0),
		0);
	assert_int_equal(p->mem[4096], 0x5a);
	/* The peer shrinks its file: the pages past 8 KiB are gone. */
	assert_int_equal(ftruncate(p->fd, 8192), 0);
	assert_int_equal(p->mem[LEN - 1], 0); /* SIGBUS, contained */
	assert_int_equal(hook_calls, 1);
	assert_ptr_equal(hook_owner, &owner_a);
	assert_int_equal(hook_tag, 2);
	assert_int_equal(hook_offset, LEN - 1); /* rounded out to the page */
	/* The whole mapping is zero pages now, and stays usable. */
	assert_int_equal(p->mem[4096], 0);
	p->mem[5] = 1;
	assert_int_equal(p->mem[5], 1);
	assert_int_equal(hook_calls, 1);
	assert_true(vfault_count() >= 1);
}

static void
test_announced(void **state)
{
	struct peer *p = *state;
	struct stat st;

	assert_int_equal(vfault_init(hook), 0);
	assert_int_equal(fstat(p->fd, &st), 0);
	assert_int_equal(vfault_expect(&owner_a, st.st_dev, st.st_ino), 0);
	assert_int_equal(ftruncate(p->fd, 0), 0);
	assert_int_equal(p->mem[12345], 0); /* SIGBUS, contained */
	assert_int_equal(hook_calls, 1);
	assert_ptr_equal(hook_owner, &owner_a);
	assert_int_equal(hook_tag, VFAULT_TAG_NEW);
	assert_int_equal(hook_offset, 12345);
}

static void
test_bad_ranges(void **state)
{
	assert_int_equal(vfault_add(&owner_a, 0, 4096, 0, 0), -EINVAL);
	assert_int_equal(
		vfault_add(&owner_a, 0, UINTPTR_MAX - 10, 100, 0), -EINVAL);
	assert_int_equal(vfault_add(&owner_a, 0, 4096, 100, 3), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_registered, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_announced, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_bad_ranges, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
