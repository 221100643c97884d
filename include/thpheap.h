/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * thpheap.h - a DPDK malloc heap on transparent huge pages.
 *
 * Without hugepages (--no-huge) EAL backs its heap with a memfd, which the
 * kernel maps with 4 KiB pages only (shmem THP is off by default).  A table
 * of tens of MB that the data plane reads at random, such as the FDB with a
 * million entries, then costs a TLB miss and a page walk per lookup on top
 * of the cache miss.  This module maps anonymous memory, asks for
 * transparent huge pages (madvise MADV_HUGEPAGE, honoured when
 * /sys/kernel/mm/transparent_hugepage/enabled is "always" or "madvise")
 * and hands it to DPDK as an external heap (rte_malloc_heap_create and
 * rte_malloc_heap_memory_add), so libraries that allocate by socket id,
 * such as rte_hash, can be pointed at it.
 *
 * The memory has no IOVA: only for tables the CPU reads, never for mbufs
 * or anything a device DMAs to.  DPDK touches all of it when it is added to
 * the heap, so it counts in the resident size at once: size it to need.
 *
 * Thread-safety: control thread only (startup and shutdown).
 */
#ifndef VHSW_THPHEAP_H
#define VHSW_THPHEAP_H

#include <stddef.h>

/* DPDK limits heap names to 32 bytes with the NUL (RTE_HEAP_NAME_MAX_LEN). */
#define THPHEAP_NAME_MAX 32

struct thpheap;

/*
 * Creates heap 'name' of at least 'len' bytes.  Returns NULL (rte_errno
 * set) if EAL runs on hugepages already (no gain), if THP is off
 * ("never") or on failure; callers then allocate from the EAL heap.
 */
struct thpheap *thpheap_create(const char *name, size_t len);
/* The socket id to pass to rte_malloc and rte_hash for this heap. */
int thpheap_socket(const struct thpheap *t);
/* Frees the heap; everything allocated from it must have been freed. */
void thpheap_destroy(struct thpheap *t);

#endif /* VHSW_THPHEAP_H */
