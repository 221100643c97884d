/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vport.h - vhost-user ports on librte_vhost.
 *
 * A vport is a struct port (port.h) whose peer is a virtio driver in another
 * process: a DPDK app with the virtio_user PMD, or a QEMU guest.  librte_vhost
 * speaks the vhost-user protocol on the port's unix socket (as server, or as
 * client that reconnects whenever the peer's socket reappears), maps the
 * peer's memory (VHOST_USER_SET_MEM_TABLE) and owns the vrings.
 *
 * librte_vhost reports the peer's state on its own event thread through
 * callbacks.  They only record what happened in the port and wake the
 * control thread through the notify hook given to vport_init():
 *  - new_device: the device is running; record its vid.
 *  - destroy_device: clear the port's 'ready' flag, then wait for an RCU
 *    grace period before returning, because librte_vhost frees the vrings
 *    as soon as the callback returns (OVS destroy_device does the same).
 *    librte_vhost does not hold the queue locks around this callback, so
 *    the wait cannot deadlock with the data plane.
 *  - vring_state_changed: record the vring's state (queue locks are held
 *    here: no waiting).
 * The control thread then calls the port class's sync(), which snapshots the
 * memory regions (rte_vhost_get_mem_table) and the vrings with their kick and
 * call eventfds (rte_vhost_get_vhost_vring) for `port show`, and marks the
 * port ready so the data plane starts polling it.
 *
 * Offloads: the switch does no segmentation or checksum work, so TSO, UFO,
 * ECN and checksum offload features are not offered; mergeable RX buffers
 * are.  With --queues 1 multiqueue is not offered either; with more, every
 * queue pair the peer enables is polled, and frames to the peer are spread
 * over the receive queues it has enabled (vring_state_changed keeps that
 * set) by flow hash (flow_hash.h): each queue, and the guest vCPU behind
 * it, gets its share, and the frames of one flow go to one queue, in
 * order, while the set is unchanged.  A peer with one enabled receive
 * queue costs no hashing.
 *
 * vIOMMU (--iommu, RTE_VHOST_USER_IOMMU_SUPPORT): VIRTIO_F_IOMMU_PLATFORM
 * is offered, the rings and buffers are I/O addresses that librte_vhost
 * translates through its IOTLB, which the peer fills with IOTLB_MSG
 * updates (vguard.h checks each) and the data plane asks it to fill with
 * miss requests on the slave channel, a socket made non-blocking (a peer
 * that does not read it is dropped, never waited for).
 *
 * Postcopy (ports added with --postcopy, docs/qemu.md): librte_vhost
 * registers its mapping of a migration destination's memory with a
 * userfaultfd that the peer resolves.  vport keeps a duplicate of that fd
 * and unregisters the mapping at POSTCOPY_END, before the memory is
 * unmapped, and when a thread of the switch has waited 5 s in one fault
 * (then the peer is dropped).  That last check runs on a thread of its own
 * ("vhsw-pcwatch", started with the first --postcopy port), because the
 * control thread may be the one waiting, for a grace period of a stuck
 * data plane.
 *
 * Thread-safety: vport_init/vport_check_socket: control thread.  The
 * port's ops: data-plane threads as port.h says: rx_burst and intr_arm of
 * queue q by the one thread polling q (several queues of a port at once),
 * tx_burst by any thread at once (librte_vhost locks each vring around an
 * enqueue).  Its class functions: control thread.  The postcopy watch
 * takes vport_lock like librte_vhost's callbacks.
 */
#ifndef VHSW_VPORT_H
#define VHSW_VPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "port.h"

struct rte_mempool;

#define VPORT_MAX_QUEUES 16
#define VPORT_SOCKET_MAX 107 /* sizeof(sun_path) - 1 */

/*
 * Sets up the module and registers the "vhost-user" port class (port.h),
 * whose create() takes the keys of `port add NAME vhost-user` (ctl.h): the
 * mbuf pool received frames are built in, the hook
 * that waits up to 'ms' milliseconds for an RCU grace period of the data
 * plane and says whether it passed (dp_synchronize_cb; destroy_device
 * needs it), and the hook that wakes the control thread
 * (called from librte_vhost's thread, e.g. ev_async_send).  0 or -errno.
 */
int vport_init(struct rte_mempool *pool,
	bool (*grace)(void *arg, unsigned int ms), void *grace_arg,
	void (*notify)(void *arg), void *notify_arg);

/*
 * Checks that 'path' can serve as a vhost-user socket: not too long, and,
 * for a server, either absent, or a socket nobody listens on (which is then
 * removed).  0 or -errno with a message in 'err'.
 */
int vport_check_socket(const char *path, bool client, char *err, size_t errlen);

/*
 * The data plane has been stuck in a system call on 'fd' (dp.h, stall
 * watch).  If a vhost-user peer owns it (a vring's call or kick eventfd,
 * or the slave channel that IOTLB miss requests go to, which is then shut
 * down so that librte_vhost's retry fails), stops polling that port, has
 * the control thread drop the peer, and returns true.  Any thread but the data plane's; does not wait for it.
 */
bool vport_stalled_on(int fd);

#endif /* VHSW_VPORT_H */
