/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio_names.c - virtio and vhost-user feature names (see
 * virtio_names.h).  Bit numbers from the virtio 1.2 specification
 * (5.1.3, 6) and QEMU's docs/interop/vhost-user.rst.
 */
#include <stdio.h>

#include "virtio_names.h"

static const char *const feature_names[64] = {
	[0] = "VIRTIO_NET_F_CSUM",
	[1] = "VIRTIO_NET_F_GUEST_CSUM",
	[2] = "VIRTIO_NET_F_CTRL_GUEST_OFFLOADS",
	[3] = "VIRTIO_NET_F_MTU",
	[5] = "VIRTIO_NET_F_MAC",
	[6] = "VIRTIO_NET_F_GSO",
	[7] = "VIRTIO_NET_F_GUEST_TSO4",
	[8] = "VIRTIO_NET_F_GUEST_TSO6",
	[9] = "VIRTIO_NET_F_GUEST_ECN",
	[10] = "VIRTIO_NET_F_GUEST_UFO",
	[11] = "VIRTIO_NET_F_HOST_TSO4",
	[12] = "VIRTIO_NET_F_HOST_TSO6",
	[13] = "VIRTIO_NET_F_HOST_ECN",
	[14] = "VIRTIO_NET_F_HOST_UFO",
	[15] = "VIRTIO_NET_F_MRG_RXBUF",
	[16] = "VIRTIO_NET_F_STATUS",
	[17] = "VIRTIO_NET_F_CTRL_VQ",
	[18] = "VIRTIO_NET_F_CTRL_RX",
	[19] = "VIRTIO_NET_F_CTRL_VLAN",
	[20] = "VIRTIO_NET_F_CTRL_RX_EXTRA",
	[21] = "VIRTIO_NET_F_GUEST_ANNOUNCE",
	[22] = "VIRTIO_NET_F_MQ",
	[23] = "VIRTIO_NET_F_CTRL_MAC_ADDR",
	[24] = "VIRTIO_F_NOTIFY_ON_EMPTY",
	[26] = "VHOST_F_LOG_ALL",
	[27] = "VIRTIO_F_ANY_LAYOUT",
	[28] = "VIRTIO_RING_F_INDIRECT_DESC",
	[29] = "VIRTIO_RING_F_EVENT_IDX",
	[30] = "VHOST_USER_F_PROTOCOL_FEATURES",
	[32] = "VIRTIO_F_VERSION_1",
	[33] = "VIRTIO_F_ACCESS_PLATFORM",
	[34] = "VIRTIO_F_RING_PACKED",
	[35] = "VIRTIO_F_IN_ORDER",
	[36] = "VIRTIO_F_ORDER_PLATFORM",
	[37] = "VIRTIO_F_SR_IOV",
	[38] = "VIRTIO_F_NOTIFICATION_DATA",
	[39] = "VIRTIO_F_NOTIF_CONFIG_DATA",
	[40] = "VIRTIO_F_RING_RESET",
	[54] = "VIRTIO_NET_F_GUEST_USO4",
	[55] = "VIRTIO_NET_F_GUEST_USO6",
	[56] = "VIRTIO_NET_F_HOST_USO",
	[57] = "VIRTIO_NET_F_HASH_REPORT",
	[59] = "VIRTIO_NET_F_GUEST_HDRLEN",
	[60] = "VIRTIO_NET_F_RSS",
	[61] = "VIRTIO_NET_F_RSC_EXT",
	[62] = "VIRTIO_NET_F_STANDBY",
	[63] = "VIRTIO_NET_F_SPEED_DUPLEX",
};

static const char *const protocol_names[64] = {
	[0] = "VHOST_USER_PROTOCOL_F_MQ",
	[1] = "VHOST_USER_PROTOCOL_F_LOG_SHMFD",
	[2] = "VHOST_USER_PROTOCOL_F_RARP",
	[3] = "VHOST_USER_PROTOCOL_F_REPLY_ACK",
	[4] = "VHOST_USER_PROTOCOL_F_NET_MTU",
	[5] = "VHOST_USER_PROTOCOL_F_BACKEND_REQ",
	[6] = "VHOST_USER_PROTOCOL_F_CROSS_ENDIAN",
	[7] = "VHOST_USER_PROTOCOL_F_CRYPTO_SESSION",
	[8] = "VHOST_USER_PROTOCOL_F_PAGEFAULT",
	[9] = "VHOST_USER_PROTOCOL_F_CONFIG",
	[10] = "VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD",
	[11] = "VHOST_USER_PROTOCOL_F_HOST_NOTIFIER",
	[12] = "VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD",
	[13] = "VHOST_USER_PROTOCOL_F_RESET_DEVICE",
	[14] = "VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS",
	[15] = "VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS",
	[16] = "VHOST_USER_PROTOCOL_F_STATUS",
};

const char *
virtio_feature_name(unsigned int bit)
{
	return bit < 64 ? feature_names[bit] : NULL;
}

const char *
vhost_protocol_feature_name(unsigned int bit)
{
	return bit < 64 ? protocol_names[bit] : NULL;
}

size_t
virtio_features_format(
	uint64_t bits, int protocol, const char *sep, char *buf, size_t len)
{
	const char *name;
	size_t need = 0;
	unsigned int b;
	int k;

	if (len > 0)
		buf[0] = '\0';
	for (b = 0; b < 64; b++) {
		if (!(bits >> b & 1))
			continue;
		name = protocol ? vhost_protocol_feature_name(b)
				: virtio_feature_name(b);
		if (name != NULL)
			k = snprintf(need < len ? buf + need : NULL,
				need < len ? len - need : 0, "%s%s",
				need > 0 ? sep : "", name);
		else
			k = snprintf(need < len ? buf + need : NULL,
				need < len ? len - need : 0, "%sbit %u",
				need > 0 ? sep : "", b);
		if (k > 0)
			need += (size_t)k;
	}
	return need;
}
