/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * tapif.c - a kernel port's interface seen and changed over rtnetlink
 * (see tapif.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>

#include "tapif.h"

#define TAPIF_TUN_DEV "/dev/net/tun"
/* The root qdisc handle of DPDK 22.11's net_tap (tap_tcmsgs.c). */
#define TAPIF_PMD_MULTIQ_HANDLE (1u << 16)

/*
 * Sends one request and reads the answers into 'cb' until the ACK or the
 * error.  0 or -errno.
 */
static int
nl_talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	unsigned int portid, seq;
	ssize_t n;
	int ret;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (nl == NULL)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	seq = (unsigned int)time(NULL);
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (ret < 0) /* the kernel's error, in errno */
			ret = errno > 0 ? -errno : -EIO;
	} while (ret > 0);
out:
	mnl_socket_close(nl);
	return ret;
}

static int
tun_attr(const struct nlattr *a, void *data)
{
	struct tapif_info *ti = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_TUN_TYPE:
		if (mnl_attr_validate(a, MNL_TYPE_U8) == 0)
			ti->tap = mnl_attr_get_u8(a) == (IFF_TAP & 0xff);
		break;
	case IFLA_TUN_PI:
		if (mnl_attr_validate(a, MNL_TYPE_U8) == 0)
			ti->pi = mnl_attr_get_u8(a) != 0;
		break;
	case IFLA_TUN_VNET_HDR:
		if (mnl_attr_validate(a, MNL_TYPE_U8) == 0)
			ti->vnet_hdr = mnl_attr_get_u8(a) != 0;
		break;
	case IFLA_TUN_PERSIST:
		if (mnl_attr_validate(a, MNL_TYPE_U8) == 0)
			ti->persist = mnl_attr_get_u8(a) != 0;
		break;
	case IFLA_TUN_MULTI_QUEUE:
		if (mnl_attr_validate(a, MNL_TYPE_U8) == 0)
			ti->multi_queue = mnl_attr_get_u8(a) != 0;
		break;
	case IFLA_TUN_NUM_QUEUES:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			ti->queues = mnl_attr_get_u32(a);
		break;
	case IFLA_TUN_NUM_DISABLED_QUEUES:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			ti->disabled = mnl_attr_get_u32(a);
		break;
	}
	return MNL_CB_OK;
}

static int
linkinfo_attr(const struct nlattr *a, void *data)
{
	struct tapif_info *ti = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_INFO_KIND:
		if (mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
			ti->tun = strcmp(mnl_attr_get_str(a), "tun") == 0;
		break;
	case IFLA_INFO_DATA:
		mnl_attr_parse_nested(a, tun_attr, ti);
		break;
	}
	return MNL_CB_OK;
}

static int
link_attr(const struct nlattr *a, void *data)
{
	struct tapif_info *ti = data;

	switch (mnl_attr_get_type(a)) {
	case IFLA_ADDRESS:
		if (mnl_attr_get_payload_len(a) == sizeof(ti->mac))
			memcpy(ti->mac, mnl_attr_get_payload(a),
				sizeof(ti->mac));
		break;
	case IFLA_MTU:
		if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			ti->mtu = mnl_attr_get_u32(a);
		break;
	case IFLA_CARRIER:
		if (mnl_attr_validate(a, MNL_TYPE_U8) == 0)
			ti->carrier = mnl_attr_get_u8(a) != 0;
		break;
	case IFLA_LINKINFO:
		mnl_attr_parse_nested(a, linkinfo_attr, ti);
		break;
	}
	return MNL_CB_OK;
}

static int
link_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	struct tapif_info *ti = data;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	ti->ifindex = (unsigned int)ifm->ifi_index;
	mnl_attr_parse(nlh, sizeof(*ifm), link_attr, ti);
	return MNL_CB_OK;
}

int
tapif_query(const char *ifname, struct tapif_info *info)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	int ret;

	memset(info, 0, sizeof(*info));
	if (strlen(ifname) >= IFNAMSIZ)
		return -ENODEV;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	ret = nl_talk(nlh, link_cb, info);
	if (ret == -ENODEV || (ret == 0 && info->ifindex == 0))
		return -ENODEV;
	return ret < 0 ? ret : 0;
}

bool
tapif_held(const struct tapif_info *info)
{
	return info->carrier || info->queues > 0 || info->disabled > 0;
}

int
tapif_delete(unsigned int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_DELLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = (int)ifindex;
	return nl_talk(nlh, NULL, NULL);
}

/* Deletes the qdisc of 'kind' at 'parent' if its handle is 'handle'. */
static void
del_qdisc(unsigned int ifindex, uint32_t parent, uint32_t handle,
	const char *kind)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct tcmsg *tcm;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_DELQDISC;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = (int)ifindex;
	tcm->tcm_parent = parent;
	tcm->tcm_handle = handle;
	/* The kernel deletes it only if both the handle and the kind match. */
	mnl_attr_put_strz(nlh, TCA_KIND, kind);
	nl_talk(nlh, NULL, NULL);
}

void
tapif_clear_pmd_qdiscs(unsigned int ifindex)
{
	del_qdisc(ifindex, TC_H_ROOT, TAPIF_PMD_MULTIQ_HANDLE, "multiq");
	del_qdisc(ifindex, TC_H_INGRESS, TC_H_MAKE(TC_H_INGRESS, 0), "ingress");
}

int
tapif_set_persist(const char *ifname, bool on)
{
	struct tapif_info ti;
	struct ifreq ifr = {0};
	int fd, ret;

	ret = tapif_query(ifname, &ti);
	if (ret != 0)
		return ret;
	if (!ti.tun || !ti.tap || !ti.multi_queue)
		return -EINVAL;
	fd = open(TAPIF_TUN_DEV, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	/* The device's own flags: TUNSETIFF would change them for all. */
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_flags = (short)(IFF_TAP | IFF_MULTI_QUEUE |
		(ti.pi ? 0 : IFF_NO_PI) | (ti.vnet_hdr ? IFF_VNET_HDR : 0));
	ret = 0;
	if (ioctl(fd, TUNSETIFF, &ifr) != 0 ||
		ioctl(fd, TUNSETPERSIST, on ? 1 : 0) != 0)
		ret = -errno;
	close(fd);
	return ret;
}
