/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio_names.h - names of virtio-net feature bits and vhost-user
 * protocol feature bits, for logs and `vhswctl port show`
 * (VIRTIO_NET_F_MRG_RXBUF, VIRTIO_F_VERSION_1, ...).
 *
 * Pure tables (no DPDK, no JSON): vhswd's log lines and vhswctl's text
 * output decode the same way.
 *
 * Thread-safety: any thread.
 */
#ifndef VHSW_VIRTIO_NAMES_H
#define VHSW_VIRTIO_NAMES_H

#include <stddef.h>
#include <stdint.h>

/* The name of virtio feature bit 'bit' (0-63), or NULL if unnamed. */
const char *virtio_feature_name(unsigned int bit);
/* The name of vhost-user protocol feature bit 'bit', or NULL. */
const char *vhost_protocol_feature_name(unsigned int bit);

/*
 * Writes the names of the bits set in 'bits' to 'buf', separated by 'sep'
 * ("bit N" for an unnamed one); 'protocol' picks the protocol table.
 * Returns the length the full text needs (as snprintf); "" for none.
 */
size_t virtio_features_format(
	uint64_t bits, int protocol, const char *sep, char *buf, size_t len);

#endif /* VHSW_VIRTIO_NAMES_H */
