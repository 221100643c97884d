/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vfault.h - contains faults on memory that vhost-user peers share.
 *
 * librte_vhost maps the files a peer sends with SET_MEM_TABLE (and
 * SET_LOG_BASE) and reads and writes them from the data plane and its own
 * thread.  A peer that shrinks such a file afterwards (ftruncate on its
 * memfd) turns the next access into SIGBUS, which would kill the switch.
 * vguard checks each file's size when the table arrives; this module deals
 * with what happens later.
 *
 * Every mapping a peer can shrink is registered here with its owner.  The
 * SIGBUS handler looks the faulting address up; if a peer's mapping holds
 * it, the handler maps anonymous zero pages over that whole mapping
 * (MAP_FIXED, so the faulting instruction succeeds when it is retried),
 * calls the owner's hook and returns.  The owner then disconnects the peer;
 * librte_vhost unmaps the range as usual.  A fault anywhere else is a bug
 * in the switch: the handler puts the previous action back and the fault
 * repeats, so the process dies with the signal as it would have.
 *
 * Thread-safety: vfault_init: once, at start, before any peer connects.
 * vfault_add/vfault_remove: any thread (a mutex orders writers).  The
 * handler reads the registry lock-free (a sequence count per entry) and may
 * run on any thread; the hook runs in signal context and may only do what
 * is async-signal-safe (atomic stores, ev_async_send).
 */
#ifndef VHSW_VFAULT_H
#define VHSW_VFAULT_H

#include <stddef.h>
#include <stdint.h>

/* The tag of a fault in an announced file (vfault_expect). */
#define VFAULT_TAG_NEW UINT32_MAX

/* Called in signal context: 'owner' lost the mapping tagged 'tag';
 * 'offset' is where in it the fault was. */
typedef void (*vfault_hook_fn)(void *owner, uint32_t tag, uint64_t offset);

/* Installs the SIGBUS handler.  0 or -errno. */
int vfault_init(vfault_hook_fn hook);

/*
 * Registers [addr, addr + len) as memory of 'owner' (rounded out to whole
 * pages of 'align' bytes, a power of two; 0 means the system page size).
 * 0, or -ENOSPC when the registry is full, -EINVAL on a bad range.
 */
int vfault_add(
	void *owner, uint32_t tag, uintptr_t addr, size_t len, size_t align);

/* Forgets every range of 'owner' (before they are unmapped). */
void vfault_remove(void *owner);

/*
 * Announces that librte_vhost is about to map the file (dev, ino) for
 * 'owner' (a memory table it has not applied yet: the ranges are not known
 * before it maps them, and it reads the rings right after).  Until
 * vfault_expect_clear, a SIGBUS in a mapping of that file is contained as
 * for a registered range: the handler finds the mapping in
 * /proc/self/maps.  0 or -ENOSPC.
 */
int vfault_expect(void *owner, uint64_t dev, uint64_t ino);
void vfault_expect_clear(void *owner);

/* Faults contained since start. */
uint64_t vfault_count(void);

#endif /* VHSW_VFAULT_H */
