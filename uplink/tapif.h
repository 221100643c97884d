/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tapif.h - what the kernel says about a kernel port's interface, over
 * rtnetlink (libmnl), and the few changes a kernel port makes to it outside
 * the PMD.
 *
 * Kernel ports are persistent TAPs: the interface, its MAC, MTU, addresses
 * and routes outlive vhswd (it only loses its carrier while no process holds
 * a queue), so that `port add` after a restart or a crash attaches the same
 * interface again.  Before it does, ethport asks tapif_query() whether the
 * existing interface is a TAP that nobody holds: rtnetlink reports the tun
 * driver's own view (IFLA_INFO_KIND "tun", IFLA_TUN_TYPE, IFLA_TUN_PERSIST,
 * IFLA_TUN_MULTI_QUEUE, IFLA_TUN_NUM_QUEUES, IFLA_TUN_NUM_DISABLED_QUEUES;
 * Linux 4.15 and later) in the calling thread's network namespace, which
 * sysfs would not (it shows the namespace of whoever mounted it).
 *
 * Thread-safety: every function works in the calling thread's network
 * namespace and keeps no state: the control thread, inside the port's
 * namespace (ethport enters it).
 */
#ifndef VHSW_TAPIF_H
#define VHSW_TAPIF_H

#include <stdbool.h>
#include <stdint.h>

struct tapif_info {
	unsigned int ifindex;
	bool tun;          /* the tun driver's (TUN or TAP) */
	bool tap;          /* of type TAP */
	bool persist;      /* stays when its last file descriptor closes */
	bool multi_queue;  /* created with IFF_MULTI_QUEUE */
	bool pi;           /* packet information header (no IFF_NO_PI) */
	bool vnet_hdr;     /* IFF_VNET_HDR */
	bool carrier;      /* some process holds it (tun turns it on then) */
	uint32_t queues;   /* attached queues (multi_queue only) */
	uint32_t disabled; /* detached queues still open (multi_queue only) */
	uint8_t mac[6];
	uint32_t mtu;
};

/*
 * Looks interface 'ifname' up in the current namespace.  0 with *info
 * filled, -ENODEV if there is none, another -errno if netlink failed.
 */
int tapif_query(const char *ifname, struct tapif_info *info);

/* True if a process holds the TUN/TAP device (an open queue). */
bool tapif_held(const struct tapif_info *info);

/* Deletes interface 'ifindex' of the current namespace.  0 or -errno. */
int tapif_delete(unsigned int ifindex);

/*
 * Deletes the qdiscs DPDK's net_tap PMD puts on its interface (the root
 * multiq 1: and the ingress qdisc) and leaves behind with a persistent
 * TAP, so that the PMD attaching the interface again can create them
 * (it refuses an existing one and then runs without rte_flow).  Other
 * qdiscs are not touched.  Errors are ignored: there may be none.
 */
void tapif_clear_pmd_qdiscs(unsigned int ifindex);

/*
 * Sets or clears the persistence of the multi-queue TAP 'ifname' while
 * another file descriptor holds it (the vhost-net backend's, which DPDK
 * opens without TUNSETPERSIST): attaches one more queue with the same
 * flags, sets it and closes.  0 or -errno (-EINVAL: not a multi-queue
 * TAP).
 */
int tapif_set_persist(const char *ifname, bool on);

#endif /* VHSW_TAPIF_H */
