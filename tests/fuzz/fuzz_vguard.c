/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_vguard.c - libFuzzer target: a stream of vhost-user messages, with
 * made-up fds, through the message checks (vguard.h) that vhswd runs before
 * librte_vhost acts on any message.
 *
 * Input: records of [nfds (1 byte)] [per fd: kind (1 byte), size (4 bytes)]
 * [header: request, flags, size (12 bytes)] [payload: size bytes, at most
 * the payload union].  Each fd is described to vguard by a fake probe.
 * After every accepted message the connection state must satisfy what the
 * checks promise librte_vhost (regions inside their files, no overlaps,
 * vring sizes powers of two, rings inside a region, IOTLB updates mapping
 * into one region); anything else aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vguard.h"

#define FD_BASE 1000

static struct vguard_fd_info fdinfo[VGUARD_MAX_FDS + 8];
static int nfdinfo;

static int
probe(int fd, struct vguard_fd_info *info)
{
	int i = fd - FD_BASE;

	if (i < 0 || i >= nfdinfo)
		abort(); /* vguard asked about an fd it was not given */
	if (fdinfo[i].kind > VGUARD_FD_SOCKET)
		return -9; /* EBADF: cannot be examined */
	*info = fdinfo[i];
	return 0;
}

static void
check_invariants(const struct vguard_conn *c, const struct vguard_msg *m)
{
	uint32_t i, j;

	if (c->n_regions > VGUARD_MAX_FDS)
		abort();
	for (i = 0; i < c->n_regions; i++) {
		const struct vguard_region *r = &c->regions[i];

		if (r->memory_size == 0 ||
			r->userspace_addr + r->memory_size <
				r->userspace_addr ||
			r->guest_phys_addr + r->memory_size <
				r->guest_phys_addr)
			abort();
		for (j = 0; j < i; j++)
			if (r->guest_phys_addr < c->regions[j].guest_phys_addr +
						c->regions[j].memory_size &&
				c->regions[j].guest_phys_addr <
					r->guest_phys_addr + r->memory_size)
				abort();
	}
	if (m->request == VGUARD_SET_MEM_TABLE)
		for (i = 0; i < c->n_regions; i++)
			if (c->regions[i].mmap_offset +
					c->regions[i].memory_size >
				fdinfo[i].size)
				abort();
	/* An accepted IOTLB update maps into one region. */
	if (m->request == VGUARD_IOTLB_MSG &&
		m->payload.iotlb.type == VGUARD_IOTLB_UPDATE) {
		uint64_t u = m->payload.iotlb.uaddr,
			 len = m->payload.iotlb.size;

		for (i = 0; i < c->n_regions; i++)
			if (len != 0 && u >= c->regions[i].userspace_addr &&
				u + len >= u &&
				u + len <= c->regions[i].userspace_addr +
						c->regions[i].memory_size)
				break;
		if (i == c->n_regions)
			abort();
	}
	for (i = 0; i < VGUARD_MAX_VRINGS; i++) {
		uint32_t n = c->vring_num[i];

		if (n != 0 && (n > VGUARD_MAX_RING_SIZE || (n & (n - 1))))
			abort();
		if (i >= c->max_vrings && n != 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vguard_conn conn;
	struct vguard_msg m;
	int fds[VGUARD_MAX_FDS + 8];
	char why[256];
	size_t off = 0, plen;
	int i, n;

	vguard_conn_init(&conn, ~0ULL >> 1, ~0ULL >> 1, 4);
	while (off < size) {
		n = data[off++] % (VGUARD_MAX_FDS + 8);
		if (off + (size_t)n * 5 + VGUARD_HDR_SIZE > size)
			break;
		for (i = 0; i < n; i++) {
			uint32_t sz;

			fdinfo[i].kind = (enum vguard_fd_kind)(data[off] % 5);
			fdinfo[i].rdwr = (data[off] & 0x80) == 0;
			memcpy(&sz, data + off + 1, 4);
			fdinfo[i].size = (uint64_t)sz
				<< (data[off] & 0x40 ? 12 : 0);
			fds[i] = FD_BASE + i;
			off += 5;
		}
		nfdinfo = n;
		memset(&m, 0, sizeof(m));
		memcpy(&m, data + off, VGUARD_HDR_SIZE);
		off += VGUARD_HDR_SIZE;
		plen = m.size < VGUARD_PAYLOAD_MAX ? m.size
						   : VGUARD_PAYLOAD_MAX;
		if (plen > size - off)
			plen = size - off;
		memcpy(&m.payload, data + off, plen);
		off += plen;
		why[0] = '\0';
		if (vguard_check(&conn, &m, fds, n, probe, why, sizeof(why)) ==
			0) {
			check_invariants(&conn, &m);
		} else if (why[0] == '\0' || strlen(why) >= sizeof(why)) {
			abort(); /* a refusal always says why */
		}
		(void)vguard_wants_reply(&m);
	}
	return 0;
}
