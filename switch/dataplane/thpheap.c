/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * thpheap.c - a DPDK malloc heap on transparent huge pages (see thpheap.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_malloc.h>

#include "thpheap.h"

#define THP_SIZE (2u << 20)
#define THP_SYSFS "/sys/kernel/mm/transparent_hugepage/enabled"

struct thpheap {
	char name[THPHEAP_NAME_MAX];
	void *map; /* what mmap returned */
	size_t map_len;
	void *base; /* 'map' aligned to THP_SIZE */
	size_t len;
	int socket;
	bool created; /* the heap is ours */
	bool added;   /* the memory is in it */
};

/* Whether madvise(MADV_HUGEPAGE) can take effect. */
static bool
thp_available(void)
{
	char buf[128] = "";
	FILE *f = fopen(THP_SYSFS, "r");

	if (f == NULL)
		return false;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	return strstr(buf, "[always]") != NULL ||
		strstr(buf, "[madvise]") != NULL;
}

struct thpheap *
thpheap_create(const char *name, size_t len)
{
	struct thpheap *t;

	if (rte_eal_has_hugepages()) {
		rte_errno = EEXIST;
		return NULL;
	}
	if (!thp_available()) {
		rte_errno = ENOTSUP;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	if (snprintf(t->name, sizeof(t->name), "%s", name) >=
		(int)sizeof(t->name)) {
		rte_errno = ENAMETOOLONG;
		goto fail;
	}
	t->len = RTE_ALIGN_CEIL(RTE_MAX(len, (size_t)THP_SIZE), THP_SIZE);
	t->map_len = t->len + THP_SIZE;
	t->map = mmap(NULL, t->map_len, PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (t->map == MAP_FAILED) {
		t->map = NULL;
		rte_errno = errno;
		goto fail;
	}
	t->base = RTE_PTR_ALIGN_CEIL(t->map, THP_SIZE);
	if (madvise(t->base, t->len, MADV_HUGEPAGE) != 0) {
		rte_errno = errno;
		goto fail;
	}
	if (rte_malloc_heap_create(t->name) != 0)
		goto fail;
	t->created = true;
	if (rte_malloc_heap_memory_add(
		    t->name, t->base, t->len, NULL, 0, THP_SIZE) != 0)
		goto fail;
	t->added = true;
	t->socket = rte_malloc_heap_get_socket(t->name);
	if (t->socket < 0)
		goto fail;
	return t;
fail:
	thpheap_destroy(t);
	return NULL;
}

int
thpheap_socket(const struct thpheap *t)
{
	return t->socket;
}

void
thpheap_destroy(struct thpheap *t)
{
	int err = rte_errno;

	if (t == NULL)
		return;
	if (t->added)
		rte_malloc_heap_memory_remove(t->name, t->base, t->len);
	if (t->created)
		rte_malloc_heap_destroy(t->name);
	if (t->map != NULL)
		munmap(t->map, t->map_len);
	free(t);
	rte_errno = err;
}
