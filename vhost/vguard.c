/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vguard.c - vhost-user message checks (see vguard.h for the design).
 *
 * Each request has one row in 'rules': its name, its payload size, how
 * many fds it carries, the feature or protocol feature it needs, and an
 * optional function for the checks its payload needs.  vguard_check() applies
 * the row, then the function.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vguard.h"

/* Feature bits (virtio and vhost-user specifications). */
#define F_IOMMU_PLATFORM 33
#define F_RING_PACKED 34
#define PF_LOG_SHMFD 1
#define PF_RARP 2
#define PF_NET_MTU 4
#define PF_SLAVE_REQ 5
#define PF_PAGEFAULT 8
#define PF_STATUS 16

#define VRING_F_LOG 0x1u

_Static_assert(
	sizeof(struct vguard_msg) == VGUARD_HDR_SIZE + VGUARD_PAYLOAD_MAX,
	"librte_vhost 22.11 VhostUserMsg layout");
_Static_assert(sizeof(((struct vguard_msg *)0)->payload.iotlb) == 32,
	"struct vhost_iotlb_msg layout");
_Static_assert(offsetof(struct vguard_msg_ctx, fds) == 644,
	"librte_vhost 22.11 vhu_msg_context layout");

#define BIT(n) (1ULL << (n))

/* The payload size a rule accepts. */
enum size_rule {
	SZ_NONE, /* no payload */
	SZ_U64,  /* exactly 8 bytes */
	SZ_ANY,  /* checked by the rule's function */
};

/* The fds a rule accepts. */
enum fd_rule {
	FD_NONE,
	FD_ONE,
	FD_VRING, /* one, unless the payload's NOFD bit is set */
	FD_MEM,   /* one per memory region */
};

typedef int (*check_fn)(struct vguard_conn *c, const struct vguard_msg *m,
	const int *fds, vguard_probe_fn probe, char *why, size_t whylen);

struct rule {
	const char *name;
	enum size_rule size;
	enum fd_rule fds;
	uint64_t feature;  /* feature bit the peer must have accepted */
	uint64_t protocol; /* protocol feature bit, likewise */
	bool reply;        /* the back-end answers */
	check_fn check;
};

void
vguard_conn_init(struct vguard_conn *c, uint64_t offered_features,
	uint64_t offered_protocol, uint16_t max_vrings)
{
	memset(c, 0, sizeof(*c));
	c->offered_features = offered_features;
	c->offered_protocol = offered_protocol;
	c->max_vrings =
		max_vrings > VGUARD_MAX_VRINGS ? VGUARD_MAX_VRINGS : max_vrings;
}

/* a + b without wrapping past 2^64; false if it would. */
static bool
add_ok(uint64_t a, uint64_t b, uint64_t *sum)
{
	return !__builtin_add_overflow(a, b, sum);
}

static bool
overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int
probe_kind(vguard_probe_fn probe, int fd, enum vguard_fd_kind want,
	struct vguard_fd_info *info, const char *what, char *why, size_t whylen)
{
	static const char *const kinds[] = {
		[VGUARD_FD_OTHER] = "a pipe, directory or device",
		[VGUARD_FD_MEM] = "a memory file",
		[VGUARD_FD_EVENTFD] = "an eventfd",
		[VGUARD_FD_SOCKET] = "a socket",
	};
	int ret;

	memset(info, 0, sizeof(*info));
	ret = probe(fd, info);
	if (ret != 0) {
		snprintf(why, whylen,
			"%s: the fd cannot be examined (%s); %s expected", what,
			strerror(-ret), kinds[want]);
		return -EBADF;
	}
	if (info->kind != want) {
		snprintf(why, whylen, "%s: the fd is %s, not %s", what,
			info->kind <= VGUARD_FD_SOCKET ? kinds[info->kind]
						       : "unknown",
			kinds[want]);
		return -EBADF;
	}
	return 0;
}

static int
vring_index_ok(const struct vguard_conn *c, uint32_t index, const char *name,
	char *why, size_t whylen)
{
	if (index < c->max_vrings)
		return 0;
	snprintf(why, whylen, "%s: vring %u does not exist (the port has %u)",
		name, index, c->max_vrings);
	return -EINVAL;
}

static int
check_set_features(struct vguard_conn *c, const struct vguard_msg *m,
	const int *fds, vguard_probe_fn probe, char *why, size_t whylen)
{
	uint64_t extra = m->payload.u64 & ~c->offered_features;

	(void)fds;
	(void)probe;
	if (extra != 0) {
		snprintf(why, whylen,
			"SET_FEATURES: feature bits 0x%" PRIx64
			" were not offered",
			extra);
		return -EINVAL;
	}
	c->features = m->payload.u64;
	return 0;
}

static int
check_set_protocol(struct vguard_conn *c, const struct vguard_msg *m,
	const int *fds, vguard_probe_fn probe, char *why, size_t whylen)
{
	uint64_t extra = m->payload.u64 & ~c->offered_protocol;

	(void)fds;
	(void)probe;
	if (extra != 0) {
		snprintf(why, whylen,
			"SET_PROTOCOL_FEATURES: protocol feature bits "
			"0x%" PRIx64 " were not offered",
			extra);
		return -EINVAL;
	}
	c->protocol = m->payload.u64;
	return 0;
}

static int
check_mem_table(struct vguard_conn *c, const struct vguard_msg *m,
	const int *fds, vguard_probe_fn probe, char *why, size_t whylen)
{
	uint32_t i, j, n = m->payload.mem.nregions;
	struct vguard_region regs[VGUARD_MAX_FDS];
	struct vguard_fd_info info;
	uint64_t total = 0, end;
	char what[48];
	int ret;

	if (n == 0 || n > VGUARD_MAX_FDS) {
		snprintf(why, whylen,
			"SET_MEM_TABLE: %u regions (1 to %d allowed)", n,
			VGUARD_MAX_FDS);
		return -EINVAL;
	}
	if (m->size < 8 + n * sizeof(struct vguard_region)) {
		snprintf(why, whylen,
			"SET_MEM_TABLE: payload of %u bytes is too short for "
			"%u regions",
			m->size, n);
		return -EPROTO;
	}
	memcpy(regs, m->payload.mem.regions, n * sizeof(regs[0]));
	for (i = 0; i < n; i++) {
		const struct vguard_region *r = &regs[i];

		snprintf(what, sizeof(what), "SET_MEM_TABLE: region %u", i);
		if (r->memory_size == 0) {
			snprintf(why, whylen, "%s has size 0", what);
			return -EINVAL;
		}
		if (!add_ok(r->guest_phys_addr, r->memory_size, &end) ||
			!add_ok(r->userspace_addr, r->memory_size, &end) ||
			!add_ok(r->mmap_offset, r->memory_size, &end)) {
			snprintf(why, whylen,
				"%s: address + size wraps past 2^64", what);
			return -EINVAL;
		}
		if (!add_ok(total, r->memory_size, &total) ||
			total > VGUARD_MAX_MEM) {
			snprintf(why, whylen,
				"SET_MEM_TABLE: more than %llu GiB of memory",
				VGUARD_MAX_MEM >> 30);
			return -EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (overlap(r->guest_phys_addr, r->memory_size,
				    regs[j].guest_phys_addr,
				    regs[j].memory_size) ||
				overlap(r->userspace_addr, r->memory_size,
					regs[j].userspace_addr,
					regs[j].memory_size)) {
				snprintf(why, whylen, "%s overlaps region %u",
					what, j);
				return -EINVAL;
			}
		}
		ret = probe_kind(
			probe, fds[i], VGUARD_FD_MEM, &info, what, why, whylen);
		if (ret != 0)
			return ret;
		if (!info.rdwr) {
			snprintf(why, whylen,
				"%s: the fd is not open for reading and "
				"writing",
				what);
			return -EBADF;
		}
		/* end = mmap_offset + memory_size, checked above. */
		if (end > info.size) {
			snprintf(why, whylen,
				"%s: offset %" PRIu64 " + size %" PRIu64
				" is beyond the end of its file (%" PRIu64
				" bytes)",
				what, r->mmap_offset, r->memory_size,
				info.size);
			return -EBADF;
		}
	}
	c->n_regions = n;
	memcpy(c->regions, regs, n * sizeof(regs[0]));
	return 0;
}

static int
check_log_base(struct vguard_conn *c, const struct vguard_msg *m,
	const int *fds, vguard_probe_fn probe, char *why, size_t whylen)
{
	uint64_t size = m->payload.log.mmap_size;
	uint64_t off = m->payload.log.mmap_offset, end;
	struct vguard_fd_info info;
	int ret;

	(void)c;
	if (m->size != 16) {
		snprintf(why, whylen,
			"SET_LOG_BASE: payload of %u bytes (16 expected)",
			m->size);
		return -EPROTO;
	}
	if (size == 0 || !add_ok(off, size, &end) || end > VGUARD_MAX_MEM) {
		snprintf(why, whylen,
			"SET_LOG_BASE: bad log area (offset %" PRIu64
			", size %" PRIu64 ")",
			off, size);
		return -EINVAL;
	}
	ret = probe_kind(probe, fds[0], VGUARD_FD_MEM, &info, "SET_LOG_BASE",
		why, whylen);
	if (ret != 0)
		return ret;
	if (!info.rdwr || end > info.size) {
		snprintf(why, whylen,
			"SET_LOG_BASE: the log file (%" PRIu64
			" bytes%s) cannot hold offset %" PRIu64
			" + size %" PRIu64,
			info.size, info.rdwr ? "" : ", read-only", off, size);
		return -EBADF;
	}
	return 0;
}

static int
check_eventfd(struct vguard_conn *c, const struct vguard_msg *m, const int *fds,
	vguard_probe_fn probe, char *why, size_t whylen)
{
	struct vguard_fd_info info;

	(void)c;
	if (m->size > 8) {
		snprintf(why, whylen, "%s: payload of %u bytes",
			vguard_request_name(m->request), m->size);
		return -EPROTO;
	}
	return probe_kind(probe, fds[0], VGUARD_FD_EVENTFD, &info,
		vguard_request_name(m->request), why, whylen);
}

static int
check_vring_state(struct vguard_conn *c, const struct vguard_msg *m,
	const int *fds, vguard_probe_fn probe, char *why, size_t whylen)
{
	uint32_t idx = m->payload.state.index, num = m->payload.state.num;
	const char *name = vguard_request_name(m->request);
	int ret;

	(void)fds;
	(void)probe;
	ret = vring_index_ok(c, idx, name, why, whylen);
	if (ret != 0)
		return ret;
	switch (m->request) {
	case VGUARD_SET_VRING_NUM:
		if (num == 0 || num > VGUARD_MAX_RING_SIZE ||
			(num & (num - 1)) != 0) {
			snprintf(why, whylen,
				"SET_VRING_NUM: vring %u size %u is not a "
				"power of two from 1 to %d",
				idx, num, VGUARD_MAX_RING_SIZE);
			return -EINVAL;
		}
		c->vring_num[idx] = num;
		break;
	case VGUARD_SET_VRING_BASE:
		/* Split rings: a 16-bit index.  Packed rings: two 15-bit
		 * indexes with their wrap counters. */
		if (!(c->features & BIT(F_RING_PACKED)) && num > UINT16_MAX) {
			snprintf(why, whylen,
				"SET_VRING_BASE: vring %u base %u is beyond "
				"a 16-bit ring index",
				idx, num);
			return -EINVAL;
		}
		break;
	case VGUARD_SET_VRING_ENABLE:
		if (num > 1) {
			snprintf(why, whylen,
				"SET_VRING_ENABLE: vring %u state %u (0 or 1)",
				idx, num);
			return -EINVAL;
		}
		break;
	default:
		break;
	}
	return 0;
}

/* Whether [addr, addr + len) lies inside one region (user addresses). */
static bool
in_region(const struct vguard_conn *c, uint64_t addr, uint64_t len)
{
	uint32_t i;
	uint64_t end;

	if (!add_ok(addr, len, &end))
		return false;
	for (i = 0; i < c->n_regions; i++) {
		const struct vguard_region *r = &c->regions[i];

		if (addr >= r->userspace_addr &&
			end <= r->userspace_addr + r->memory_size)
			return true;
	}
	return false;
}

static int
check_vring_addr(struct vguard_conn *c, const struct vguard_msg *m,
	const int *fds, vguard_probe_fn probe, char *why, size_t whylen)
{
	uint32_t idx = m->payload.addr.index, num;
	uint64_t desc = m->payload.addr.desc, used = m->payload.addr.used;
	uint64_t avail = m->payload.addr.avail;
	bool packed = (c->features & BIT(F_RING_PACKED)) != 0;
	int ret;

	(void)fds;
	(void)probe;
	if (m->size != 40) {
		snprintf(why, whylen,
			"SET_VRING_ADDR: payload of %u bytes (40 expected)",
			m->size);
		return -EPROTO;
	}
	ret = vring_index_ok(c, idx, "SET_VRING_ADDR", why, whylen);
	if (ret != 0)
		return ret;
	if ((m->payload.addr.flags & ~VRING_F_LOG) != 0) {
		snprintf(why, whylen, "SET_VRING_ADDR: vring %u flags 0x%x",
			idx, m->payload.addr.flags);
		return -EINVAL;
	}
	if ((desc & 15) != 0 || (avail & (packed ? 3 : 1)) != 0 ||
		(used & 3) != 0) {
		snprintf(why, whylen,
			"SET_VRING_ADDR: vring %u rings are not aligned "
			"(desc 16, avail %d, used 4 bytes)",
			idx, packed ? 4 : 2);
		return -EINVAL;
	}
	/*
	 * With an IOMMU the addresses are I/O virtual addresses that
	 * librte_vhost translates through its IOTLB; without one they are
	 * the peer's addresses and must lie in its memory.  The size is known
	 * once SET_VRING_NUM came, the regions once SET_MEM_TABLE came;
	 * librte_vhost translates again when they change.
	 */
	num = c->vring_num[idx];
	if ((c->features & BIT(F_IOMMU_PLATFORM)) || c->n_regions == 0 ||
		num == 0)
		return 0;
	if (!in_region(c, desc, 16ULL * num) ||
		!in_region(c, avail, packed ? 4 : 6 + 2ULL * num) ||
		!in_region(c, used, packed ? 4 : 6 + 8ULL * num)) {
		snprintf(why, whylen,
			"SET_VRING_ADDR: vring %u (size %u) is not inside the "
			"peer's memory regions",
			idx, num);
		return -EINVAL;
	}
	return 0;
}

static int
check_vring_fd(struct vguard_conn *c, const struct vguard_msg *m,
	const int *fds, vguard_probe_fn probe, char *why, size_t whylen)
{
	uint64_t v = m->payload.u64;
	const char *name = vguard_request_name(m->request);
	struct vguard_fd_info info;
	char what[48];
	int ret;

	if ((v & ~(uint64_t)(VGUARD_VRING_IDX_MASK | VGUARD_VRING_NOFD)) != 0) {
		snprintf(
			why, whylen, "%s: unknown bits in 0x%" PRIx64, name, v);
		return -EINVAL;
	}
	ret = vring_index_ok(
		c, (uint32_t)(v & VGUARD_VRING_IDX_MASK), name, why, whylen);
	if (ret != 0 || (v & VGUARD_VRING_NOFD))
		return ret;
	snprintf(what, sizeof(what), "%s: vring %u", name,
		(unsigned)(v & VGUARD_VRING_IDX_MASK));
	return probe_kind(
		probe, fds[0], VGUARD_FD_EVENTFD, &info, what, why, whylen);
}

static int
check_mtu(struct vguard_conn *c, const struct vguard_msg *m, const int *fds,
	vguard_probe_fn probe, char *why, size_t whylen)
{
	(void)c;
	(void)fds;
	(void)probe;
	if (m->payload.u64 < 68 || m->payload.u64 > 65535) {
		snprintf(why, whylen,
			"NET_SET_MTU: MTU %" PRIu64 " (68 to 65535)",
			m->payload.u64);
		return -EINVAL;
	}
	return 0;
}

static int
check_socket(struct vguard_conn *c, const struct vguard_msg *m, const int *fds,
	vguard_probe_fn probe, char *why, size_t whylen)
{
	struct vguard_fd_info info;

	(void)c;
	(void)m;
	return probe_kind(probe, fds[0], VGUARD_FD_SOCKET, &info,
		"SET_SLAVE_REQ_FD", why, whylen);
}

static int
check_status(struct vguard_conn *c, const struct vguard_msg *m, const int *fds,
	vguard_probe_fn probe, char *why, size_t whylen)
{
	(void)c;
	(void)fds;
	(void)probe;
	if (m->payload.u64 > 0xff) {
		snprintf(why, whylen, "SET_STATUS: status 0x%" PRIx64,
			m->payload.u64);
		return -EINVAL;
	}
	return 0;
}

/*
 * An IOTLB message of the vIOMMU (VIRTIO_F_IOMMU_PLATFORM): the front-end
 * maps (UPDATE) or unmaps (INVALIDATE) a range of I/O virtual addresses.
 * librte_vhost 22.11 (vhost_user_iotlb_msg) checks neither the payload
 * size (it reads all 32 bytes whatever the header says) nor the ranges;
 * an UPDATE's user address it translates with qva_to_vva, which shortens
 * a range that leaves its region without a word.  So: exactly the 32 bytes
 * QEMU sends (sizeof(struct vhost_iotlb_msg)), only the two types a
 * front-end sends (MISS and ACCESS_FAIL go the other way, on the slave
 * channel), no empty or wrapping range (librte_vhost computes iova + size
 * and would then invalidate nothing), and for an UPDATE a permission and a
 * user range inside one region of the memory table, as QEMU builds it
 * (vhost_device_iotlb_miss: vhost_memory_region_lookup, then the length
 * cut to that region).
 */
static int
check_iotlb(struct vguard_conn *c, const struct vguard_msg *m, const int *fds,
	vguard_probe_fn probe, char *why, size_t whylen)
{
	uint64_t iova = m->payload.iotlb.iova, size = m->payload.iotlb.size;
	uint64_t uaddr = m->payload.iotlb.uaddr, end;
	uint8_t type = m->payload.iotlb.type, perm = m->payload.iotlb.perm;

	(void)fds;
	(void)probe;
	if (m->size != sizeof(m->payload.iotlb)) {
		snprintf(why, whylen,
			"IOTLB_MSG: payload of %u bytes (%zu expected)",
			m->size, sizeof(m->payload.iotlb));
		return -EPROTO;
	}
	if (type != VGUARD_IOTLB_UPDATE && type != VGUARD_IOTLB_INVALIDATE) {
		snprintf(why, whylen,
			"IOTLB_MSG: type %u (2, update, or 3, invalidate, "
			"expected from a front-end)",
			type);
		return -EINVAL;
	}
	if (size == 0 || !add_ok(iova, size, &end)) {
		snprintf(why, whylen,
			"IOTLB_MSG: I/O range 0x%" PRIx64 " + %" PRIu64
			" is empty or wraps past 2^64",
			iova, size);
		return -EINVAL;
	}
	if (type == VGUARD_IOTLB_INVALIDATE)
		return 0;
	if (perm < VGUARD_ACCESS_RO || perm > VGUARD_ACCESS_RW) {
		snprintf(why, whylen,
			"IOTLB_MSG: update of 0x%" PRIx64
			" with permission %u (1 read, 2 write, 3 both)",
			iova, perm);
		return -EINVAL;
	}
	if (!in_region(c, uaddr, size)) {
		snprintf(why, whylen,
			"IOTLB_MSG: update maps 0x%" PRIx64 " to user range "
			"0x%" PRIx64 " + %" PRIu64
			", which is not inside one of the peer's %u memory "
			"regions",
			iova, uaddr, size, c->n_regions);
		return -EINVAL;
	}
	return 0;
}

/*
 * Postcopy (a migration destination, QEMU's vhost_user_postcopy_*): ADVISE
 * asks for a userfaultfd, LISTEN says that the memory table that follows
 * is to be registered with it (librte_vhost refuses LISTEN once memory is
 * mapped, and registers nothing without ADVISE first), END closes it.
 */
static int
check_postcopy(struct vguard_conn *c, const struct vguard_msg *m,
	const int *fds, vguard_probe_fn probe, char *why, size_t whylen)
{
	(void)fds;
	(void)probe;
	switch (m->request) {
	case VGUARD_POSTCOPY_ADVISE:
		if (c->postcopy != VGUARD_PC_NONE) {
			snprintf(why, whylen,
				"POSTCOPY_ADVISE: the peer already holds a "
				"userfaultfd");
			return -EPROTO;
		}
		c->postcopy = VGUARD_PC_ADVISED;
		break;
	case VGUARD_POSTCOPY_LISTEN:
		if (c->postcopy != VGUARD_PC_ADVISED) {
			snprintf(why, whylen, "POSTCOPY_LISTEN: %s",
				c->postcopy == VGUARD_PC_NONE
					? "no POSTCOPY_ADVISE before"
					: "already listening");
			return -EPROTO;
		}
		if (c->n_regions != 0) {
			snprintf(why, whylen,
				"POSTCOPY_LISTEN: memory is already mapped");
			return -EPROTO;
		}
		c->postcopy = VGUARD_PC_LISTENING;
		break;
	case VGUARD_POSTCOPY_END:
	default:
		c->postcopy = VGUARD_PC_NONE;
		break;
	}
	return 0;
}

/* clang-format off */
static const struct rule rules[] = {
	[VGUARD_GET_FEATURES] = {"GET_FEATURES", SZ_NONE, FD_NONE, 0, 0, true, NULL},
	[VGUARD_SET_FEATURES] = {"SET_FEATURES", SZ_U64, FD_NONE, 0, 0, false, check_set_features},
	[VGUARD_SET_OWNER] = {"SET_OWNER", SZ_NONE, FD_NONE, 0, 0, false, NULL},
	[VGUARD_RESET_OWNER] = {"RESET_OWNER", SZ_NONE, FD_NONE, 0, 0, false, NULL},
	[VGUARD_SET_MEM_TABLE] = {"SET_MEM_TABLE", SZ_ANY, FD_MEM, 0, 0, false, check_mem_table},
	[VGUARD_SET_LOG_BASE] = {"SET_LOG_BASE", SZ_ANY, FD_ONE, 0, BIT(PF_LOG_SHMFD), true, check_log_base},
	[VGUARD_SET_LOG_FD] = {"SET_LOG_FD", SZ_ANY, FD_ONE, 0, 0, false, check_eventfd},
	[VGUARD_SET_VRING_NUM] = {"SET_VRING_NUM", SZ_U64, FD_NONE, 0, 0, false, check_vring_state},
	[VGUARD_SET_VRING_ADDR] = {"SET_VRING_ADDR", SZ_ANY, FD_NONE, 0, 0, false, check_vring_addr},
	[VGUARD_SET_VRING_BASE] = {"SET_VRING_BASE", SZ_U64, FD_NONE, 0, 0, false, check_vring_state},
	[VGUARD_GET_VRING_BASE] = {"GET_VRING_BASE", SZ_U64, FD_NONE, 0, 0, true, check_vring_state},
	[VGUARD_SET_VRING_KICK] = {"SET_VRING_KICK", SZ_U64, FD_VRING, 0, 0, false, check_vring_fd},
	[VGUARD_SET_VRING_CALL] = {"SET_VRING_CALL", SZ_U64, FD_VRING, 0, 0, false, check_vring_fd},
	[VGUARD_SET_VRING_ERR] = {"SET_VRING_ERR", SZ_U64, FD_VRING, 0, 0, false, check_vring_fd},
	[VGUARD_GET_PROTOCOL_FEATURES] = {"GET_PROTOCOL_FEATURES", SZ_NONE, FD_NONE, 0, 0, true, NULL},
	[VGUARD_SET_PROTOCOL_FEATURES] = {"SET_PROTOCOL_FEATURES", SZ_U64, FD_NONE, 0, 0, false, check_set_protocol},
	[VGUARD_GET_QUEUE_NUM] = {"GET_QUEUE_NUM", SZ_NONE, FD_NONE, 0, 0, true, NULL},
	[VGUARD_SET_VRING_ENABLE] = {"SET_VRING_ENABLE", SZ_U64, FD_NONE, 0, 0, false, check_vring_state},
	[VGUARD_SEND_RARP] = {"SEND_RARP", SZ_U64, FD_NONE, 0, BIT(PF_RARP), false, NULL},
	[VGUARD_NET_SET_MTU] = {"NET_SET_MTU", SZ_U64, FD_NONE, 0, BIT(PF_NET_MTU), false, check_mtu},
	[VGUARD_SET_SLAVE_REQ_FD] = {"SET_SLAVE_REQ_FD", SZ_NONE, FD_ONE, 0, BIT(PF_SLAVE_REQ), false, check_socket},
	[VGUARD_IOTLB_MSG] = {"IOTLB_MSG", SZ_ANY, FD_NONE, BIT(F_IOMMU_PLATFORM), 0, false, check_iotlb},
	[VGUARD_POSTCOPY_ADVISE] = {"POSTCOPY_ADVISE", SZ_NONE, FD_NONE, 0, BIT(PF_PAGEFAULT), true, check_postcopy},
	[VGUARD_POSTCOPY_LISTEN] = {"POSTCOPY_LISTEN", SZ_NONE, FD_NONE, 0, BIT(PF_PAGEFAULT), false, check_postcopy},
	[VGUARD_POSTCOPY_END] = {"POSTCOPY_END", SZ_NONE, FD_NONE, 0, BIT(PF_PAGEFAULT), true, check_postcopy},
	[VGUARD_SET_STATUS] = {"SET_STATUS", SZ_U64, FD_NONE, 0, BIT(PF_STATUS), false, check_status},
	[VGUARD_GET_STATUS] = {"GET_STATUS", SZ_NONE, FD_NONE, 0, BIT(PF_STATUS), true, NULL},
};
/* clang-format on */

/* Known to the protocol, but not offered by a net back-end. */
static const char *const refused_names[] = {
	[23] = "SET_VRING_ENDIAN",
	[24] = "GET_CONFIG",
	[25] = "SET_CONFIG",
	[26] = "CREATE_CRYPTO_SESSION",
	[27] = "CLOSE_CRYPTO_SESSION",
	[31] = "GET_INFLIGHT_FD",
	[32] = "SET_INFLIGHT_FD",
	[33] = "GPU_SET_SOCKET",
	[34] = "RESET_DEVICE",
	[35] = "VRING_KICK",
	[36] = "GET_MAX_MEM_SLOTS",
	[37] = "ADD_MEM_REG",
	[38] = "REM_MEM_REG",
};

static const struct rule *
rule_of(uint32_t request)
{
	if (request < sizeof(rules) / sizeof(rules[0]) &&
		rules[request].name != NULL)
		return &rules[request];
	return NULL;
}

const char *
vguard_request_name(uint32_t request)
{
	const struct rule *r = rule_of(request);

	if (r != NULL)
		return r->name;
	if (request < sizeof(refused_names) / sizeof(refused_names[0]))
		return refused_names[request];
	return NULL;
}

bool
vguard_wants_reply(const struct vguard_msg *m)
{
	const struct rule *r = rule_of(m->request);

	/* librte_vhost answers NEED_REPLY whether or not REPLY_ACK was
	 * negotiated. */
	return (m->flags & VGUARD_NEED_REPLY) != 0 || (r != NULL && r->reply);
}

/* The number of fds 'm' must carry under rule 'r'. */
static int
fds_expected(const struct rule *r, const struct vguard_msg *m)
{
	switch (r->fds) {
	case FD_ONE:
		return 1;
	case FD_VRING:
		return (m->payload.u64 & VGUARD_VRING_NOFD) ? 0 : 1;
	case FD_MEM:
		return m->payload.mem.nregions <= VGUARD_MAX_FDS
			? (int)m->payload.mem.nregions
			: -1;
	case FD_NONE:
	default:
		return 0;
	}
}

int
vguard_check(struct vguard_conn *c, const struct vguard_msg *m, const int *fds,
	int nfds, vguard_probe_fn probe, char *why, size_t whylen)
{
	const char *name = vguard_request_name(m->request);
	const struct rule *r = rule_of(m->request);
	int want;

	if ((m->flags & VGUARD_VERSION_MASK) != VGUARD_VERSION ||
		(m->flags & VGUARD_REPLY)) {
		snprintf(why, whylen,
			"request %u: header flags 0x%x (version 1, no reply "
			"bit expected)",
			m->request, m->flags);
		return -EPROTO;
	}
	if (m->size > VGUARD_PAYLOAD_MAX || nfds < 0 || nfds > VGUARD_MAX_FDS) {
		snprintf(why, whylen, "request %u: %u bytes, %d fds",
			m->request, m->size, nfds);
		return -EPROTO;
	}
	if (r == NULL) {
		if (name != NULL)
			snprintf(why, whylen,
				"%s (request %u) is not offered by this switch",
				name, m->request);
		else
			snprintf(why, whylen, "unknown request %u", m->request);
		return name != NULL ? -ENOTSUP : -EPROTO;
	}
	if ((r->feature & ~c->features) != 0 ||
		(r->protocol & ~c->protocol) != 0) {
		snprintf(why, whylen,
			"%s needs a feature the peer did not negotiate", name);
		return -ENOTSUP;
	}
	if ((r->size == SZ_NONE && m->size != 0) ||
		(r->size == SZ_U64 && m->size != 8)) {
		snprintf(why, whylen, "%s: payload of %u bytes (%d expected)",
			name, m->size, r->size == SZ_U64 ? 8 : 0);
		return -EPROTO;
	}
	want = fds_expected(r, m);
	if (want != nfds && !(r->fds == FD_MEM && want < 0)) {
		snprintf(why, whylen, "%s: %d fds attached (%d expected)", name,
			nfds, want);
		return -EPROTO;
	}
	return r->check != NULL ? r->check(c, m, fds, probe, why, whylen) : 0;
}

int
vguard_probe_fd(int fd, struct vguard_fd_info *info)
{
	char link[32], target[64];
	struct stat st;
	ssize_t n;
	int fl;

	memset(info, 0, sizeof(*info));
	if (fstat(fd, &st) != 0)
		return -errno;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0)
		return -errno;
	info->rdwr = (fl & O_ACCMODE) == O_RDWR;
	if (S_ISREG(st.st_mode)) {
		info->kind = VGUARD_FD_MEM;
		info->size = (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISSOCK(st.st_mode)) {
		info->kind = VGUARD_FD_SOCKET;
		return 0;
	}
	/* Anonymous inodes have no type bits; the link names the kind. */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n > 0) {
		target[n] = '\0';
		if (strcmp(target, "anon_inode:[eventfd]") == 0)
			info->kind = VGUARD_FD_EVENTFD;
	}
	return 0;
}
