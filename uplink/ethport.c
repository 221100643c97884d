/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ethport.c - ethdev-backed ports: the uplink and kernel exception-path
 * ports (see ethport.h for the design and threads).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>
#include <rte_kvargs.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_spinlock.h>

#include "ethport.h"
#include "tapif.h"
#include "vlog.h"

RTE_LOG_REGISTER(eth_logtype, vhsw.uplink, INFO);
#define ETH_PREFIX "vhswd: uplink: "
#define ELOG(level, fmt, ...)                                      \
	rte_log(RTE_LOG_##level, eth_logtype, ETH_PREFIX fmt "\n", \
		##__VA_ARGS__)

#define ETHPORT_NB_DESC 1024
#define ETHPORT_DEVARGS_MAX 256
#define ETHPORT_PROMISC_DIR "promisc" /* under the state directory */
#define ETHPORT_MAX_TXQ VHSW_MAX_DP_THREADS

/* A transmit queue's lock, taken only where threads outnumber queues. */
struct ethport_txq {
	rte_spinlock_t lock;
} __rte_cache_aligned;

struct ethport {
	struct port port; /* first: a struct port * is a struct ethport * */

	/* Set at creation. */
	enum ethport_kind kind;
	uint16_t port_id; /* ethdev */
	char devargs[ETHPORT_DEVARGS_MAX];
	char driver[64];
	char ifname[ETHPORT_IFNAME_MAX + 1];
	char netns[256];
	/*
	 * Uplink on a kernel interface (af_packet, "iface=" in its devargs):
	 * that interface, whose state the PMD does not report.
	 */
	char host_iface[ETHPORT_IFNAME_MAX + 1];
	const char *backend; /* kernel ports: "vhost-net" or "tap" */
	/*
	 * Kernel ports: the interface's MAC (kept from an interface attached
	 * again, else the one asked for, else the PMD's random one), saved so
	 * that a vanished interface comes back with it; and its index.
	 */
	struct rte_ether_addr ifmac;
	bool has_ifmac;
	unsigned int ifindex;
	bool reattached;      /* the interface existed: attached again */
	bool remove_iface;    /* `port del`: destroy deletes the interface */
	bool mtu_set;         /* the switch set the device's MTU */
	bool lsc_intr;        /* the PMD reports link changes */
	bool promisc;         /* promiscuous mode is on */
	bool promisc_restore; /* host_iface had it off: clear it at the end */
	int promisc_err;      /* why enabling it failed (-errno), or 0 */
	bool started;
	/*
	 * Transmit queues: one per data-plane thread where the PMD has them,
	 * thread t using queue t % nb_txq (eth_tx_burst).
	 */
	uint16_t nb_txq;
	struct ethport_txq txq[ETHPORT_MAX_TXQ];

	/* Control thread. */
	bool link_up;
	uint32_t link_speed;
	uint64_t link_changes;
	uint64_t link_downs;    /* `port show` "disconnects" */
	char last_error[128];   /* why the link last went down; "": never */
	struct vlog_rl link_rl; /* a peer flapping the link is bounded */
	uint32_t lsc_events;    /* written by the interrupt thread (atomic) */
};

static const struct port_class uplink_class, kernel_class;

static struct rte_mempool *eth_pool;
/* netvsc logged that the host refused an RX filter (see enable_promisc). */
static uint32_t rxfilter_refused;
static void (*eth_notify)(void *);
static void *eth_notify_arg;
static const char *eth_vhost_net = ETHPORT_VHOST_NET;
static char eth_state_dir[PATH_MAX]; /* "": promiscuous mode not recorded */

/* Data plane. */

static uint16_t
eth_rx_burst(struct port *p, uint16_t q, struct rte_mbuf **pkts, uint16_t n)
{
	return rte_eth_rx_burst(((struct ethport *)p)->port_id, q, pkts, n);
}

/*
 * Any data-plane thread, several at once (port.h).  Thread t sends on
 * queue t % nb_txq: its own queue when the PMD gave one per thread, with
 * no lock; where threads outnumber queues (a PMD with fewer, or the one
 * queue of a TAP), the threads sharing a queue take its spinlock around
 * rte_eth_tx_burst, which is not thread-safe per queue.  port_dp_threads()
 * is fixed before ports are created, so every thread decides alike.
 */
static uint16_t
eth_tx_burst(struct port *p, struct rte_mbuf **pkts, uint16_t n)
{
	struct ethport *e = (struct ethport *)p;
	uint16_t q = 0, sent;

	if (e->nb_txq > 1)
		q = (uint16_t)(port_dp_thread() % e->nb_txq);
	if (likely(port_dp_threads() <= e->nb_txq))
		return rte_eth_tx_burst(e->port_id, q, pkts, n);
	rte_spinlock_lock(&e->txq[q].lock);
	sent = rte_eth_tx_burst(e->port_id, q, pkts, n);
	rte_spinlock_unlock(&e->txq[q].lock);
	return sent;
}

/*
 * One receive queue, polled by one thread.  The backends here are kernel
 * queues: more receive queues would be more file descriptors (a TAP's
 * queues, af_packet's PACKET_FANOUT sockets, a TAP queue and a vhost
 * kthread per vhost-net queue pair) that the kernel spreads the frames
 * over by flow hash, every one of which the switch must then poll (an
 * empty poll of a TAP queue is a read() system call), to spread work
 * whose cost is mostly in the kernel.  net_tap also ties them to the
 * transmit queues (as many of each).  A NIC uplink with RSS could use
 * more; not done until one is measured.
 */
static uint16_t
eth_n_rxq(const struct port *p)
{
	return 1;
}

/* The device's NUMA node, -1 when unknown.  Control thread. */
static int
eth_numa_node(const struct port *p)
{
	int node = rte_eth_dev_socket_id(((const struct ethport *)p)->port_id);

	return node < 0 ? -1 : node;
}

static const struct port_ops ethport_ops = {
	.rx_burst = eth_rx_burst,
	.tx_burst = eth_tx_burst,
	.n_rxq = eth_n_rxq,
	.max_rxq = eth_n_rxq,
	.numa_node = eth_numa_node,
};

/* EAL interrupt thread: record and wake, nothing else. */
static int
lsc_cb(uint16_t port_id, enum rte_eth_event_type type, void *arg,
	void *ret_param)
{
	struct ethport *e = arg;

	__atomic_add_fetch(&e->lsc_events, 1, __ATOMIC_RELAXED);
	eth_notify(eth_notify_arg);
	return 0;
}

/* Control thread. */

int
ethport_init(struct rte_mempool *pool, void (*notify)(void *arg),
	void *notify_arg, const char *vhost_net_path)
{
	if (pool == NULL || notify == NULL)
		return -EINVAL;
	eth_pool = pool;
	eth_notify = notify;
	eth_notify_arg = notify_arg;
	eth_vhost_net = vhost_net_path ? vhost_net_path : ETHPORT_VHOST_NET;
	if (port_class_register(&uplink_class) != 0 ||
		port_class_register(&kernel_class) != 0)
		return -EEXIST;
	return 0;
}

const char *
ethport_kernel_backend(void)
{
	return access(eth_vhost_net, R_OK | W_OK) == 0 ? "vhost-net" : "tap";
}

/* True if interface 'ifname' (this namespace) is up with a carrier. */
static bool
iface_running(const char *ifname)
{
	struct ifreq ifr = {0};
	bool running = false;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true; /* cannot tell: trust the PMD */
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0)
		running = (ifr.ifr_flags & IFF_UP) &&
			(ifr.ifr_flags & IFF_RUNNING);
	close(fd);
	return running;
}

/*
 * Records the "iface=" of an af_packet uplink's devargs (a vdev named
 * net_af_packetN or eth_af_packetN), before the device is probed.
 */
static void
find_host_iface(struct ethport *e)
{
	const char *comma = strchr(e->devargs, ',');
	struct rte_kvargs *kv;
	const char *iface;

	if (comma == NULL ||
		(strncmp(e->devargs, "net_af_packet", 13) != 0 &&
			strncmp(e->devargs, "eth_af_packet", 13) != 0))
		return;
	kv = rte_kvargs_parse(comma + 1, NULL);
	if (kv == NULL)
		return;
	iface = rte_kvargs_get(kv, "iface");
	/* A name the kernel could have (it also names a file, promisc_). */
	if (iface != NULL && iface[0] != '\0' && iface[0] != '.' &&
		strlen(iface) <= ETHPORT_IFNAME_MAX &&
		strchr(iface, '/') == NULL)
		snprintf(e->host_iface, sizeof(e->host_iface), "%s", iface);
	rte_kvargs_free(kv);
}

/*
 * Reads the link and updates 'ready'.  Returns true if it went down.  Also
 * the class's sync(), run on port events and once a second.
 */
static bool
ethport_sync(struct port *p)
{
	struct ethport *e = (struct ethport *)p;
	struct rte_eth_link link;
	bool was_up = e->link_up;

	__atomic_store_n(&e->lsc_events, 0, __ATOMIC_RELAXED);
	if (!e->started || rte_eth_link_get_nowait(e->port_id, &link) != 0)
		memset(&link, 0, sizeof(link));
	e->link_up = link.link_status == RTE_ETH_LINK_UP;
	if (e->host_iface[0] != '\0' && !iface_running(e->host_iface))
		e->link_up = false;
	e->link_speed = link.link_speed;
	if (e->link_up != was_up)
		e->link_changes++;
	if (e->link_up && !was_up)
		vlog_rl_log(&e->link_rl, eth_logtype, RTE_LOG_INFO, ETH_PREFIX,
			"port %s: link up (%u Mbps)", p->name, e->link_speed);
	if (was_up && !e->link_up) {
		e->link_downs++;
		if (!e->started)
			snprintf(e->last_error, sizeof(e->last_error),
				"link down: the device stopped");
		else if (e->host_iface[0] != '\0' &&
			link.link_status == RTE_ETH_LINK_UP)
			snprintf(e->last_error, sizeof(e->last_error),
				"link down: interface %s is down or has no "
				"carrier",
				e->host_iface);
		else
			snprintf(e->last_error, sizeof(e->last_error),
				"link down: the %s driver reports no link",
				e->driver);
		vlog_rl_log(&e->link_rl, eth_logtype, RTE_LOG_INFO, ETH_PREFIX,
			"port %s: %s", p->name, e->last_error);
	}
	port_set_ready(p, e->link_up);
	return was_up && !e->link_up;
}

static json_t *
link_json(const struct ethport *e)
{
	return json_pack("{s:s, s:I, s:I}", "state", e->link_up ? "up" : "down",
		"speed_mbps", (json_int_t)e->link_speed, "changes",
		(json_int_t)e->link_changes);
}

static void
ethport_describe(const struct port *p, json_t *o, bool detail)
{
	const struct ethport *e = (const struct ethport *)p;

	json_object_set_new(o, "devargs", json_string(e->devargs));
	json_object_set_new(o, "driver", json_string(e->driver));
	json_object_set_new(o, "link", link_json(e));
	/* An ethdev has no peer to lose: its link going down counts. */
	json_object_set_new(
		o, "disconnects", json_integer((json_int_t)e->link_downs));
	json_object_set_new(o, "last_error",
		e->last_error[0] ? json_string(e->last_error) : json_null());
	if (detail)
		json_object_set_new(o, "tx_queues", json_integer(e->nb_txq));
	if (e->kind == ETHPORT_KERNEL) {
		json_object_set_new(o, "ifname", json_string(e->ifname));
		json_object_set_new(o, "netns",
			e->netns[0] ? json_string(e->netns) : json_null());
		json_object_set_new(o, "backend", json_string(e->backend));
		if (e->has_ifmac) {
			char mac[RTE_ETHER_ADDR_FMT_SIZE];

			port_mac_format(mac, sizeof(mac), &e->ifmac);
			json_object_set_new(o, "ifmac", json_string(mac));
		}
	}
}

static void
ethport_save(const struct port *p, json_t *o)
{
	const struct ethport *e = (const struct ethport *)p;

	if (e->kind == ETHPORT_UPLINK) {
		json_object_set_new(o, "devargs", json_string(e->devargs));
		if (e->mtu_set)
			json_object_set_new(o, "mtu", json_integer(p->mtu));
		return;
	}
	json_object_set_new(o, "ifname", json_string(e->ifname));
	if (e->netns[0])
		json_object_set_new(o, "netns", json_string(e->netns));
	if (e->has_ifmac) {
		char mac[RTE_ETHER_ADDR_FMT_SIZE];

		port_mac_format(mac, sizeof(mac), &e->ifmac);
		json_object_set_new(o, "ifmac", json_string(mac));
	}
}

json_t *
ethport_uplink_json(const struct port *p)
{
	const struct ethport *e = (const struct ethport *)p;
	char mac[RTE_ETHER_ADDR_FMT_SIZE] = "";
	struct rte_ether_addr ea;
	struct rte_eth_stats es;
	uint16_t mtu = 0;
	json_t *o;

	if (rte_eth_macaddr_get(e->port_id, &ea) == 0)
		port_mac_format(mac, sizeof(mac), &ea);
	rte_eth_dev_get_mtu(e->port_id, &mtu);
	o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:o, s:b}", "devargs",
		e->devargs, "driver", e->driver, "state",
		e->link_up ? "up" : "down", "mac", mac, "mtu", (int)mtu, "link",
		link_json(e), "promiscuous", e->promisc);
	json_object_set_new(o, "tx_queues", json_integer(e->nb_txq));
	if (!e->promisc)
		json_object_set_new(o, "promiscuous_error",
			json_pack("{s:s, s:s}", "reason",
				strerror(e->promisc_err ? -e->promisc_err
							: EPERM),
				"fix", ETHPORT_PROMISC_FIX));
	if (rte_eth_stats_get(e->port_id, &es) == 0)
		json_object_set_new(o, "device_stats",
			json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "ipackets",
				(json_int_t)es.ipackets, "opackets",
				(json_int_t)es.opackets, "imissed",
				(json_int_t)es.imissed, "ierrors",
				(json_int_t)es.ierrors, "oerrors",
				(json_int_t)es.oerrors, "rx_nombuf",
				(json_int_t)es.rx_nombuf));
	return o;
}

/* The record of 'ifname''s original promiscuous mode; false if none. */
static bool
promisc_record_path(const char *ifname, char *buf, size_t len)
{
	return eth_state_dir[0] != '\0' &&
		snprintf(buf, len, "%s/" ETHPORT_PROMISC_DIR "/%s",
			eth_state_dir, ifname) < (int)len;
}

/*
 * Interface flags of 'ifname' in the current namespace: *old (may be
 * NULL) gets them, then 'set' are set and 'clear' cleared if that changes
 * anything.  0 or -errno.
 */
static int
iface_flags(const char *ifname, short set, short clear, short *old)
{
	struct ifreq ifr = {0};
	int fd, ret = 0;
	short want;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) != 0) {
		ret = -errno;
	} else {
		if (old != NULL)
			*old = ifr.ifr_flags;
		want = (short)((ifr.ifr_flags | set) & ~clear);
		if (want != ifr.ifr_flags) {
			ifr.ifr_flags = want;
			if (ioctl(fd, SIOCSIFFLAGS, &ifr) != 0)
				ret = -errno;
		}
	}
	close(fd);
	return ret;
}

/* Brings interface 'ifname' of the current namespace up.  0 or -errno. */
static int
ifup(const char *ifname)
{
	return iface_flags(ifname, IFF_UP, 0, NULL);
}

/* Reads (into *on) and, if 'clear', clears the IFF_PROMISC of 'ifname'; -errno. */
static int
iface_promisc(const char *ifname, bool clear, bool *on)
{
	short flags = 0;
	int ret;

	ret = iface_flags(ifname, 0, clear ? IFF_PROMISC : 0, &flags);
	if (ret == 0 && on != NULL)
		*on = (flags & IFF_PROMISC) != 0;
	return ret;
}

/* Clears the flag on 'ifname' and removes its record. */
static void
promisc_restore(const char *ifname)
{
	char path[PATH_MAX];
	int ret = iface_promisc(ifname, true, NULL);

	if (ret != 0 && ret != -ENODEV)
		ELOG(WARNING,
			"cannot turn promiscuous mode off on "
			"%s again: %s; run ip link set %s promisc off",
			ifname, strerror(-ret), ifname);
	if (promisc_record_path(ifname, path, sizeof(path)) &&
		unlink(path) == 0) {
		*strrchr(path, '/') = '\0';
		rmdir(path); /* when it was the last record */
	}
}

/*
 * Before turning promiscuous mode on for an uplink on a kernel interface:
 * if it is off, record that (a file that outlives a crash) and remember to
 * turn it off again.
 */
static void
promisc_remember(struct ethport *e)
{
	char path[PATH_MAX];
	bool on = true;
	int fd;

	if (e->host_iface[0] == '\0' ||
		iface_promisc(e->host_iface, false, &on) != 0 || on)
		return;
	e->promisc_restore = true;
	if (!promisc_record_path(e->host_iface, path, sizeof(path)))
		return;
	*strrchr(path, '/') = '\0';
	mkdir(path, 0700);
	path[strlen(path)] = '/';
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		0600);
	if (fd < 0 || write(fd, "0\n", 2) != 2 || fsync(fd) != 0)
		ELOG(WARNING,
			"cannot record the promiscuous mode of "
			"%s in %s: %s; after a crash, turn it off yourself",
			e->host_iface, path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

int
ethport_set_state_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	bool on = false;
	int n = 0;
	DIR *d;

	if (snprintf(eth_state_dir, sizeof(eth_state_dir), "%s", dir) >=
		(int)sizeof(eth_state_dir)) {
		eth_state_dir[0] = '\0';
		return 0;
	}
	snprintf(path, sizeof(path), "%s/" ETHPORT_PROMISC_DIR, dir);
	d = opendir(path);
	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
			strlen(de->d_name) > ETHPORT_IFNAME_MAX)
			continue;
		on = false;
		if (iface_promisc(de->d_name, true, &on) == 0 && on)
			ELOG(NOTICE,
				"promiscuous mode of %s turned "
				"off again (a vhswd that did not exit cleanly "
				"left it on)",
				de->d_name);
		promisc_restore(de->d_name);
		n += on;
	}
	closedir(d);
	return n;
}

static int enter_netns(const char *path, int *saved, char *err, size_t errlen);
static void leave_netns(int saved);

/*
 * Deletes a kernel port's persistent interface (`port del`), by index and
 * only if it still has the port's name: one the user renamed or moved away
 * is theirs now.  An interface whose namespace is gone went with it.
 */
static void
delete_iface(const struct ethport *e)
{
	struct tapif_info ti;
	char err[320];
	int saved = -1, ret;

	if (e->netns[0] != '\0' &&
		enter_netns(e->netns, &saved, err, sizeof(err)) != 0) {
		ELOG(INFO, "port %s: interface %s not deleted: %s",
			e->port.name, e->ifname, err);
		return;
	}
	ret = tapif_query(e->ifname, &ti);
	if (ret == 0 && (ti.ifindex != e->ifindex || !ti.tun))
		ret = -ENODEV;
	if (ret == 0)
		ret = tapif_delete(ti.ifindex);
	if (ret != 0 && ret != -ENODEV)
		ELOG(WARNING,
			"port %s: cannot delete interface %s: %s (delete it "
			"with: ip link del %s)",
			e->port.name, e->ifname, strerror(-ret), e->ifname);
	leave_netns(saved);
}

/*
 * Stops and removes the ethdev.  A kernel port's interface is persistent:
 * it stays (without carrier) when vhswd stops or crashes, for the next
 * `port add` to attach again, and goes only on `port del` (ethport_remove).
 */
static void
ethport_destroy(struct port *p)
{
	struct ethport *e = (struct ethport *)p;
	struct rte_eth_dev_info info;
	struct rte_device *dev = NULL;

	if (e == NULL)
		return;
	if (e->lsc_intr)
		rte_eth_dev_callback_unregister(
			e->port_id, RTE_ETH_EVENT_INTR_LSC, lsc_cb, e);
	if (rte_eth_dev_info_get(e->port_id, &info) == 0)
		dev = info.device;
	if (e->started)
		rte_eth_dev_stop(e->port_id);
	rte_eth_dev_close(e->port_id);
	if (dev != NULL)
		rte_dev_remove(dev);
	if (e->kind == ETHPORT_KERNEL && e->remove_iface && e->ifindex != 0)
		delete_iface(e);
	/* The PMD leaves the flag it set (af_packet): put it back. */
	if (e->promisc_restore)
		promisc_restore(e->host_iface);
	vlog_rl_fini(&e->link_rl);
	rte_free(e);
}

/* `port set --mtu`: the device's MTU (a kernel port's interface). */
static int
ethport_set_mtu(struct port *p, uint32_t mtu, char *err, size_t errlen)
{
	struct ethport *e = (struct ethport *)p;
	int ret;

	ret = rte_eth_dev_set_mtu(e->port_id, (uint16_t)mtu);
	if (ret != 0) {
		snprintf(err, errlen, "%s: cannot set MTU %u: %s%s", e->devargs,
			mtu, strerror(-ret),
			ret == -ENOTSUP ? " (the driver cannot change it)"
					: "");
		return -1;
	}
	e->mtu_set = true;
	return 0;
}

/* The kernel class's remove(): `port del`, so the interface goes too. */
static void
ethport_remove(struct port *p)
{
	((struct ethport *)p)->remove_iface = true;
}

static struct port *uplink_create_conf(
	const struct port_conf *conf, json_t *params, char *err, size_t errlen);
static struct port *kernel_create_conf(
	const struct port_conf *conf, json_t *params, char *err, size_t errlen);

static const struct port_class uplink_class = {
	.type = "uplink",
	.fixed_name = ETHPORT_UPLINK_NAME,
	.create = uplink_create_conf,
	.sync = ethport_sync,
	.describe = ethport_describe,
	.show = ethport_uplink_json,
	.save = ethport_save,
	.destroy = ethport_destroy,
	.set_mtu = ethport_set_mtu,
};

static const struct port_class kernel_class = {
	.type = "kernel",
	.create = kernel_create_conf,
	.sync = ethport_sync,
	.describe = ethport_describe,
	.save = ethport_save,
	.remove = ethport_remove,
	.destroy = ethport_destroy,
	.set_mtu = ethport_set_mtu,
};

bool
ethport_is_uplink(const struct port *p)
{
	return p->cls == &uplink_class;
}

bool
ethport_devargs_is_vmbus(const char *devargs)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t i;

	if (strncmp(devargs, "vmbus:", 6) == 0)
		devargs += 6;
	for (i = 0; i < sizeof(shape) - 1; i++) {
		if (shape[i] == '-' ? devargs[i] != '-'
				    : !isxdigit((unsigned char)devargs[i]))
			return false;
	}
	return devargs[i] == '\0' || devargs[i] == ',';
}

/*
 * Finds the ethdev of 'devargs', probing it first unless it is a VMBus
 * device: DPDK 22.11's vmbus bus cannot hot-plug, so vhswd passes those to
 * EAL (-a UUID,args) and netvsc probes them at start, naming the port after
 * the device's UUID in lower case.  0 or -errno with 'err' set.
 */
static int
probe(const char *devargs, uint16_t *port_id, char *err, size_t errlen)
{
	char name[RTE_ETH_NAME_MAX_LEN];
	bool vmbus = ethport_devargs_is_vmbus(devargs);
	size_t i;
	int ret;

	if (vmbus && strncmp(devargs, "vmbus:", 6) == 0)
		devargs += 6;
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(devargs, ","),
		devargs);
	if (vmbus) {
		for (i = 0; name[i] != '\0'; i++)
			name[i] = (char)tolower((unsigned char)name[i]);
		if (rte_eth_dev_get_port_by_name(name, port_id) == 0)
			return 0;
		snprintf(err, errlen,
			"VMBus device %s has no DPDK port: bind it to "
			"uio_hv_generic first (uplink/vmbus-bind bind IFNAME; "
			"see docs/wsl2.md)",
			name);
		return -ENODEV;
	}
	ret = rte_dev_probe(devargs);
	if (ret != 0 && ret != -EEXIST) {
		snprintf(err, errlen,
			"cannot probe device '%s': %s (check the devargs and "
			"that the device is bound to a DPDK driver)",
			devargs, strerror(-ret));
		return ret;
	}
	if (rte_eth_dev_get_port_by_name(name, port_id) != 0) {
		snprintf(err, errlen, "device '%s' is not a network device",
			devargs);
		return -ENODEV;
	}
	return 0;
}

/*
 * Transmit queues for the data-plane threads: one each, as many as the PMD
 * has (max_tx_queues; eth_tx_burst shares them under locks past that).
 * Except net_tap: it needs as many receive as transmit queues
 * (tap_dev_configure), and each queue is a file descriptor of the
 * multi-queue TAP that the kernel also spreads the interface's outgoing
 * frames over, so a second TX queue would be a second RX queue to poll.
 * The other kernel backends have one queue pair unless their devargs ask
 * for more (virtio_user queues=1 on vhost-net; af_packet's qpairs).
 */
static uint16_t
tx_queues_for(const struct rte_eth_dev_info *info)
{
	uint16_t n = RTE_MIN(port_dp_threads(), (uint16_t)ETHPORT_MAX_TXQ);

	if (strcmp(info->driver_name, "net_tap") == 0)
		return 1;
	return RTE_MAX(RTE_MIN(n, info->max_tx_queues), (uint16_t)1);
}

/*
 * Configures one RX queue and the TX queues (tx_queues_for) and starts the
 * port.
 */
static int
setup(struct ethport *e, uint32_t mtu, char *err, size_t errlen)
{
	struct rte_eth_conf conf = {0};
	struct rte_eth_dev_info info;
	uint16_t nb_rxd = ETHPORT_NB_DESC, nb_txd = ETHPORT_NB_DESC, q;
	int ret;

	ret = rte_eth_dev_info_get(e->port_id, &info);
	if (ret != 0)
		goto fail;
	snprintf(e->driver, sizeof(e->driver), "%s", info.driver_name);
	e->lsc_intr = (*info.dev_flags & RTE_ETH_DEV_INTR_LSC) != 0;
	conf.intr_conf.lsc = e->lsc_intr;
	if (strcmp(info.driver_name, "net_af_packet") == 0 &&
		info.max_rx_queues > 1)
		ELOG(WARNING,
			"port %s: %s has %u queue pairs: the kernel spreads "
			"received frames over their sockets and the switch "
			"polls the first only; give qpairs=1 (the default)",
			e->port.name, e->devargs, info.max_rx_queues);
	e->nb_txq = tx_queues_for(&info);
	ret = rte_eth_dev_configure(e->port_id, 1, e->nb_txq, &conf);
	if (ret != 0 && e->nb_txq > 1) {
		/* A PMD may want as many RX queues as TX queues. */
		ELOG(INFO,
			"port %s: %s refuses %u transmit queues with one "
			"receive queue (%s); the data-plane threads share one",
			e->port.name, e->driver, e->nb_txq, strerror(-ret));
		e->nb_txq = 1;
		ret = rte_eth_dev_configure(e->port_id, 1, 1, &conf);
	}
	if (ret == 0)
		ret = rte_eth_dev_adjust_nb_rx_tx_desc(
			e->port_id, &nb_rxd, &nb_txd);
	if (ret == 0)
		ret = rte_eth_rx_queue_setup(e->port_id, 0, nb_rxd,
			rte_eth_dev_socket_id(e->port_id), NULL, eth_pool);
	for (q = 0; ret == 0 && q < e->nb_txq; q++) {
		rte_spinlock_init(&e->txq[q].lock);
		ret = rte_eth_tx_queue_setup(e->port_id, q, nb_txd,
			rte_eth_dev_socket_id(e->port_id), NULL);
	}
	if (ret != 0)
		goto fail;
	if (mtu != 0) {
		ret = rte_eth_dev_set_mtu(e->port_id, (uint16_t)mtu);
		if (ret != 0 && ret != -ENOTSUP) {
			snprintf(err, errlen, "%s: cannot set MTU %u: %s",
				e->devargs, mtu, strerror(-ret));
			return ret;
		}
		e->mtu_set = ret == 0;
	}
	if (e->lsc_intr)
		rte_eth_dev_callback_register(
			e->port_id, RTE_ETH_EVENT_INTR_LSC, lsc_cb, e);
	ret = rte_eth_dev_start(e->port_id);
	if (ret != 0)
		goto fail;
	e->started = true;
	return 0;
fail:
	snprintf(err, errlen, "%s: cannot configure and start the device: %s",
		e->devargs, strerror(ret < 0 ? -ret : ret));
	return ret < 0 ? ret : -EIO;
}

/*
 * Turns promiscuous (and all-multicast) mode on.  Hyper-V refuses it unless
 * the host allows MAC address spoofing; then only frames for the NIC's own
 * MAC arrive, and the uplink says so (ethport_uplink_json).
 */
static void
enable_promisc(struct ethport *e)
{
	__atomic_store_n(&rxfilter_refused, 0, __ATOMIC_RELAXED);
	e->promisc_err = rte_eth_promiscuous_enable(e->port_id);
	e->promisc = e->promisc_err == 0 &&
		rte_eth_promiscuous_get(e->port_id) == 1 &&
		!__atomic_load_n(&rxfilter_refused, __ATOMIC_RELAXED);
	if (e->promisc_err == 0 && !e->promisc)
		e->promisc_err = -EPERM;
	rte_eth_allmulticast_enable(e->port_id);
	if (!e->promisc)
		ELOG(WARNING,
			"port %s: promiscuous mode refused on %s (%s); only "
			"frames for the NIC's own MAC will arrive: %s",
			e->port.name, e->devargs, strerror(-e->promisc_err),
			ETHPORT_PROMISC_FIX);
}

void
ethport_log_line(const char *line, size_t len)
{
	/* netvsc 22.11: "hn_rndis_set_rxfilter(): set RX filter 0x20 failed" */
	static const char what[] = "set RX filter";
	const char *p = memmem(line, len, what, sizeof(what) - 1);

	if (p != NULL && memmem(p, len - (size_t)(p - line), "failed", 6))
		__atomic_store_n(&rxfilter_refused, 1, __ATOMIC_RELAXED);
}

/* Enters the network namespace at 'path'; *saved gets the old one. */
static int
enter_netns(const char *path, int *saved, char *err, size_t errlen)
{
	int fd;

	*saved = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*saved < 0 || fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
		snprintf(err, errlen,
			"cannot enter network namespace %s: %s (give a path "
			"like /run/netns/NAME or /proc/PID/ns/net)",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		if (*saved >= 0)
			close(*saved);
		*saved = -1;
		return -1;
	}
	close(fd);
	return 0;
}

static void
leave_netns(int saved)
{
	if (saved < 0)
		return;
	if (setns(saved, CLONE_NEWNET) != 0)
		rte_exit(EXIT_FAILURE, "cannot return to the original netns\n");
	close(saved);
}

/*
 * Builds the devargs of a kernel port.  The vdev gets a short name of its
 * own (the net_tap PMD fails on long ones), unique for the process's life.
 */
static void
kernel_devargs(struct ethport *e)
{
	static unsigned int seq;
	char mac[RTE_ETHER_ADDR_FMT_SIZE + 5] = "";
	size_t n;

	if (e->has_ifmac) {
		strcpy(mac, ",mac=");
		port_mac_format(mac + 5, sizeof(mac) - 5, &e->ifmac);
	}
	if (strcmp(e->backend, "vhost-net") == 0)
		n = (size_t)snprintf(e->devargs, sizeof(e->devargs),
			"virtio_user_vhsw%u,path=%s,queues=1,queue_size=1024,"
			"iface=%s%s",
			seq++, eth_vhost_net, e->ifname, mac);
	else /* persist: the interface outlives the process */
		n = (size_t)snprintf(e->devargs, sizeof(e->devargs),
			"net_tap_vhsw%u,iface=%s,persist%s", seq++, e->ifname,
			mac);
	RTE_VERIFY(n < sizeof(e->devargs));
}

/*
 * In the port's namespace, before the probe: an interface of the port's
 * name may be there already, left by a vhswd that stopped or crashed
 * (kernel ports are persistent TAPs).  A multi-queue TAP that no process
 * holds is attached again with its MAC (its MTU is the port's; addresses
 * and routes stay); anything else is refused.  A held one must be: the
 * PMDs attach with IFF_MULTI_QUEUE, which the kernel grants beside another
 * process's queues, and the two would then share the interface's traffic.
 * 0, or -errno with 'err'.
 */
static int
kernel_existing(struct ethport *e, char *err, size_t errlen)
{
	const char *in = e->netns[0] ? " in " : "";
	struct tapif_info ti;
	int ret;

	ret = tapif_query(e->ifname, &ti);
	if (ret == -ENODEV)
		return 0;
	if (ret != 0) {
		snprintf(err, errlen, "cannot look up interface %s%s%s: %s",
			e->ifname, in, e->netns, strerror(-ret));
		return ret;
	}
	if (!ti.tun) {
		snprintf(err, errlen,
			"an interface named %s already exists%s%s and is not "
			"a TAP: choose another --ifname, or delete it",
			e->ifname, in, e->netns);
		return -EEXIST;
	}
	if (!ti.tap || !ti.multi_queue) {
		snprintf(err, errlen,
			"interface %s%s%s is a %s that vhsw did not create "
			"(vhsw attaches again only multi-queue TAPs): choose "
			"another --ifname, or delete it (ip link del %s)",
			e->ifname, in, e->netns, ti.tap ? "TAP" : "TUN",
			e->ifname);
		return -EEXIST;
	}
	if (tapif_held(&ti)) {
		snprintf(err, errlen,
			"interface %s%s%s is a TAP still held by another "
			"process (%u queues open): another vhswd or program "
			"has it; stop that one, or choose another --ifname",
			e->ifname, in, e->netns, ti.queues + ti.disabled);
		return -EBUSY;
	}
	memcpy(e->ifmac.addr_bytes, ti.mac, sizeof(ti.mac));
	e->has_ifmac = true;
	e->reattached = true;
	if (strcmp(e->backend, "tap") == 0)
		tapif_clear_pmd_qdiscs(ti.ifindex);
	ELOG(INFO, "port %s: attaching the existing interface %s%s%s again",
		e->port.name, e->ifname, in, e->netns);
	return 0;
}

/*
 * After the probe, in the port's namespace: records the interface's index
 * and MAC, and makes a vhost-net backend's TAP persistent too (DPDK's
 * virtio_user opens it without TUNSETPERSIST).
 */
static void
kernel_created(struct ethport *e)
{
	struct tapif_info ti;
	int ret;

	if (rte_eth_macaddr_get(e->port_id, &e->ifmac) == 0)
		e->has_ifmac = true;
	if (tapif_query(e->ifname, &ti) == 0)
		e->ifindex = ti.ifindex;
	if (strcmp(e->backend, "vhost-net") != 0 || ti.persist)
		return;
	ret = tapif_set_persist(e->ifname, true);
	if (ret != 0)
		ELOG(WARNING,
			"port %s: cannot make interface %s persistent (%s): it "
			"will vanish, with its addresses, when vhswd stops",
			e->port.name, e->ifname, strerror(-ret));
}

struct port *
ethport_create(const struct ethport_params *pr, char *err, size_t errlen)
{
	const char *ifname = pr->ifname ? pr->ifname : pr->name;
	struct ethport *e;
	bool probed = false;
	int saved = -1;

	if (eth_pool == NULL) {
		snprintf(err, errlen, "ethdev ports are not initialised");
		return NULL;
	}
	e = rte_zmalloc("ethport", sizeof(*e), RTE_CACHE_LINE_SIZE);
	if (e == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->kind = pr->kind;
	e->port.ops = &ethport_ops;
	e->port.cls =
		pr->kind == ETHPORT_UPLINK ? &uplink_class : &kernel_class;
	e->port.priv = e;
	e->port.mtu = pr->mtu;
	snprintf(e->port.name, sizeof(e->port.name), "%s", pr->name);
	e->port_id = RTE_MAX_ETHPORTS;
	e->link_rl = (struct vlog_rl)VLOG_RATE_LIMIT_INIT(10, 1000);

	if (pr->kind == ETHPORT_KERNEL) {
		if (strlen(ifname) > ETHPORT_IFNAME_MAX || ifname[0] == '\0' ||
			strpbrk(ifname, "/: \t,=") != NULL) {
			snprintf(err, errlen,
				"interface name '%s' is invalid: use 1-%d "
				"characters without '/', ':', ',', '=' or "
				"spaces",
				ifname, ETHPORT_IFNAME_MAX);
			goto fail;
		}
		snprintf(e->ifname, sizeof(e->ifname), "%s", ifname);
		if (pr->netns != NULL)
			snprintf(e->netns, sizeof(e->netns), "%s", pr->netns);
		if (pr->ifmac != NULL) {
			e->ifmac = *pr->ifmac;
			e->has_ifmac = true;
		}
		e->backend = ethport_kernel_backend();
		if (pr->netns != NULL &&
			enter_netns(pr->netns, &saved, err, errlen) != 0)
			goto fail;
		if (kernel_existing(e, err, errlen) != 0)
			goto fail_ns;
		kernel_devargs(e);
	} else {
		snprintf(e->devargs, sizeof(e->devargs), "%s", pr->devargs);
		find_host_iface(e);
		/* Before the start: ethdev's start replays promiscuous mode
		 * "off" onto the interface. */
		promisc_remember(e);
	}

	probed = true;
	if (probe(e->devargs, &e->port_id, err, errlen) != 0)
		goto fail_ns;
	if (setup(e, pr->kind == ETHPORT_KERNEL ? pr->mtu : 0, err, errlen) !=
		0)
		goto fail_ns;
	if (pr->kind == ETHPORT_KERNEL) {
		/* In its namespace, by name: up, whatever the backend did. */
		ifup(e->ifname);
		kernel_created(e);
	} else {
		enable_promisc(e);
		if (pr->mtu != 0 &&
			rte_eth_dev_set_mtu(e->port_id, (uint16_t)pr->mtu) == 0)
			e->mtu_set = true;
	}
	leave_netns(saved);
	if (e->port.mtu == 0) {
		uint16_t mtu = 1500;

		rte_eth_dev_get_mtu(e->port_id, &mtu);
		e->port.mtu = mtu;
	}
	ethport_sync(&e->port);
	return &e->port;
fail_ns:
	if (probed && e->kind == ETHPORT_KERNEL && !e->reattached) {
		/* A persistent interface this call created goes too. */
		struct tapif_info ti;

		if (tapif_query(e->ifname, &ti) == 0 && ti.tun)
			tapif_delete(ti.ifindex);
	}
	if (e->port_id != RTE_MAX_ETHPORTS) {
		ethport_destroy(&e->port);
		leave_netns(saved);
		return NULL;
	}
	leave_netns(saved);
fail:
	if (e->promisc_restore)
		promisc_restore(e->host_iface); /* drops the record */
	rte_free(e);
	return NULL;
}

/* The uplink class's create(): the keys of `uplink add` (devargs, mtu). */
static struct port *
uplink_create_conf(
	const struct port_conf *conf, json_t *params, char *err, size_t errlen)
{
	struct ethport_params ep = {
		.kind = ETHPORT_UPLINK,
		.name = conf->name,
		.devargs =
			json_string_value(json_object_get(params, "devargs")),
		.mtu = conf->mtu,
	};

	return ethport_create(&ep, err, errlen);
}

/* The kernel class's create(): `port add NAME kernel` (ifname, netns). */
static struct port *
kernel_create_conf(
	const struct port_conf *conf, json_t *params, char *err, size_t errlen)
{
	const char *ifmac = json_string_value(json_object_get(params, "ifmac"));
	struct rte_ether_addr mac;
	struct ethport_params ep = {
		.kind = ETHPORT_KERNEL,
		.name = conf->name,
		.ifname = json_string_value(json_object_get(params, "ifname")),
		.netns = json_string_value(json_object_get(params, "netns")),
		.mtu = conf->mtu ? conf->mtu : PORT_DEFAULT_MTU,
	};
	struct port *p;

	if (ifmac != NULL) {
		if (rte_ether_unformat_addr(ifmac, &mac) != 0 ||
			!rte_is_unicast_ether_addr(&mac) ||
			rte_is_zero_ether_addr(&mac)) {
			snprintf(err, errlen,
				"--ifmac %s is not a unicast MAC (give one "
				"like "
				"02:00:00:00:00:01)",
				ifmac);
			return NULL;
		}
		ep.ifmac = &mac;
	}
	p = ethport_create(&ep, err, errlen);

	if (p != NULL)
		port_set_conf(p, conf, PORT_DEFAULT_MTU);
	return p;
}
