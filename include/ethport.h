/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ethport.h - switch ports backed by a DPDK ethdev: the uplink and the
 * kernel exception-path ports.
 *
 * Uplink: any ethdev given by devargs.  On Hyper-V and WSL2 it is the
 * netvsc PMD on a VMBus NIC bound to uio_hv_generic, named by the device's
 * UUID; elsewhere a vdev (net_af_packet0,iface=eth1; net_tap0,iface=x) or a
 * PCI address.  It is a trunk port named "uplink" (VLAN 0): frames of access
 * ports leave it tagged, tagged frames arriving on it reach the ports of their
 * VLAN.  netvsc specifics: VLAN tags it strips into the mbuf
 * (RTE_MBUF_F_RX_VLAN_STRIPPED) are handled by the forwarding core; the
 * promiscuous mode the switch needs is refused by Hyper-V unless the host
 * allows MAC address spoofing, which is detected and reported.
 *
 * Kernel port: an interface in the Linux kernel stack, for containers that
 * are not DPDK apps.  virtio-user on /dev/vhost-net (queue_size 1024, one
 * vhost kthread per queue) where that device exists, a TAP (net_tap PMD)
 * otherwise.  With a network namespace, the interface is created inside it
 * from the start (the control thread enters the namespace for the probe), so
 * everything the PMD later does by interface name happens there too.
 *
 * The interface is a persistent TAP (net_tap's "persist"; TUNSETPERSIST
 * for the vhost-net backend's): it outlives vhswd, stopped or crashed,
 * with its MAC, MTU, addresses and routes, and only loses its carrier.
 * `port add` finding one of its name in the namespace that no process
 * holds attaches it again (tapif.h), with its MAC; the port's MTU wins.
 * The saved port keeps the MAC ("ifmac") so that an interface that
 * vanished meanwhile is made again with it.  Only `port del` (the class's
 * remove()) deletes the interface.
 *
 * Link state: a link-status-change interrupt (where the PMD has one) only
 * records the event and wakes the control thread; the control thread also
 * polls the link once a second for PMDs without interrupts.  A port whose
 * link goes down stops being polled and loses its learned FDB entries.
 *
 * Queues: one receive queue, polled by one data-plane thread (the kernel
 * backends gain nothing from more: see eth_n_rxq); a transmit queue per
 * data-plane thread where the PMD has that many (max_tx_queues), thread t
 * sending on queue t % n, and a spinlock per queue where threads outnumber
 * queues (a TAP has one: net_tap needs as many receive queues as transmit
 * queues).  `uplink show` and `port show` say how many ("tx_queues").
 *
 * Thread-safety: ethport_init/ethport_create and the class functions:
 * control thread.  The ops: data-plane threads as port.h says (rx_burst
 * by the one thread polling the queue, tx_burst by any thread at once).
 * The LSC callback: EAL interrupt thread (records and wakes only).
 */
#ifndef VHSW_ETHPORT_H
#define VHSW_ETHPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "port.h"

struct rte_ether_addr;
struct rte_mempool;

#define ETHPORT_UPLINK_NAME "uplink"
#define ETHPORT_VHOST_NET "/dev/vhost-net"
#define ETHPORT_IFNAME_MAX 15 /* IFNAMSIZ - 1 */

/* Host-side fix printed when Hyper-V refuses promiscuous mode. */
#define ETHPORT_PROMISC_FIX                                \
	"allow MAC address spoofing on the Hyper-V host: " \
	"Set-VMNetworkAdapter -VMName <vm> -MacAddressSpoofing On"

enum ethport_kind {
	ETHPORT_UPLINK,
	ETHPORT_KERNEL,
};

struct ethport_params {
	enum ethport_kind kind;
	const char *name;    /* switch port name */
	const char *devargs; /* uplink: the ethdev */
	const char *ifname;  /* kernel: interface name (default: name) */
	const char *netns;   /* kernel: network namespace path, or NULL */
	/* kernel: the MAC of an interface created anew, or NULL (random) */
	const struct rte_ether_addr *ifmac;
	uint32_t mtu; /* 0: leave the device's */
};

/*
 * Sets up the module: the mbuf pool, the hook that wakes the control thread
 * (called from the EAL interrupt thread), and the vhost-net device path
 * (ETHPORT_VHOST_NET; tests pass another).  0 or -errno.
 */
int ethport_init(struct rte_mempool *pool, void (*notify)(void *arg),
	void *notify_arg, const char *vhost_net_path);

/* Creates and starts the port; NULL with a message in 'err' on failure. */
struct port *ethport_create(
	const struct ethport_params *params, char *err, size_t errlen);

/* The backend a kernel port would get here: "vhost-net" or "tap". */
const char *ethport_kernel_backend(void);

/* True for a VMBus device UUID (optionally "vmbus:UUID"), with or without
 * ",args".  Those are given to EAL at start (-a) instead of hot-plugged. */
bool ethport_devargs_is_vmbus(const char *devargs);

/*
 * Sees every line DPDK logs (vhswd routes its log stream here).  netvsc
 * reports success for promiscuous mode even when the Hyper-V host refuses
 * it; the only sign is its "set RX filter ... failed" log line.  Any thread.
 */
void ethport_log_line(const char *line, size_t len);

/*
 * Promiscuous mode put back as found.  An uplink on a kernel interface
 * (af_packet, "iface=") gets IFF_PROMISC; if the interface did not have it,
 * the module writes DIR/promisc/IFNAME ("0") before turning it on, and
 * clears the flag and removes the file when the uplink goes (uplink del,
 * exit).  This call sets DIR and restores the interfaces whose files a
 * vhswd that did not exit cleanly (SIGKILL, crash) left, so an uplink
 * added again afterwards finds the interface as it was.  Control thread,
 * at start, before the first uplink.  Returns how many it restored.
 */
int ethport_set_state_dir(const char *dir);

bool ethport_is_uplink(const struct port *p);
/* `uplink show`: devargs, driver, state, MAC, MTU, promiscuous, counters. */
json_t *ethport_uplink_json(const struct port *p);

#endif /* VHSW_ETHPORT_H */
