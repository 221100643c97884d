/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_vguard.c - the vhost-user message checks (vguard.h): a correct
 * front-end's messages pass, and each class of malformed message of issue
 * 11 is refused with a reason, without changing the connection's state.
 *
 * fds are described by a fake probe (fd number -> kind and size), so no
 * file is created.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vguard.h"

#define MB (1ULL << 20)
#define F_VERSION_1 (1ULL << 32)
#define F_PROTOCOL (1ULL << 30)
#define F_PACKED (1ULL << 34)
#define PF_RARP (1ULL << 2)
#define PF_REPLY_ACK (1ULL << 3)
#define PF_LOG_SHMFD (1ULL << 1)
#define PF_PAGEFAULT (1ULL << 8)
#define OFFERED (F_VERSION_1 | F_PROTOCOL | F_PACKED | (1ULL << 15))
#define OFFERED_PROTOCOL (PF_RARP | PF_REPLY_ACK | PF_LOG_SHMFD)

/* The fake fds. */
enum {
	FD_MEM0 = 10,   /* 10..17: 1 MiB memfds, read-write */
	FD_RDONLY = 20, /* 1 MiB, read-only */
	FD_SMALL = 21,  /* 4 KiB */
	FD_EVENT = 30,
	FD_SOCK = 40,
	FD_PIPE = 50,
	FD_GONE = 99, /* cannot be examined */
};

static int
fake_probe(int fd, struct vguard_fd_info *info)
{
	if (fd >= FD_MEM0 && fd < FD_MEM0 + 8) {
		*info = (struct vguard_fd_info){VGUARD_FD_MEM, MB, true};
	} else if (fd == FD_RDONLY) {
		*info = (struct vguard_fd_info){VGUARD_FD_MEM, MB, false};
	} else if (fd == FD_SMALL) {
		*info = (struct vguard_fd_info){VGUARD_FD_MEM, 4096, true};
	} else if (fd == FD_EVENT) {
		*info = (struct vguard_fd_info){VGUARD_FD_EVENTFD, 0, true};
	} else if (fd == FD_SOCK) {
		*info = (struct vguard_fd_info){VGUARD_FD_SOCKET, 0, true};
	} else if (fd == FD_GONE) {
		return -EBADF;
	} else {
		*info = (struct vguard_fd_info){VGUARD_FD_OTHER, 0, false};
	}
	return 0;
}

static struct vguard_conn conn;
static char why[256];

static int
setup(void **state)
{
	vguard_conn_init(&conn, OFFERED, OFFERED_PROTOCOL, 2);
	why[0] = '\0';
	return 0;
}

static struct vguard_msg
msg_u64(uint32_t req, uint64_t v)
{
	struct vguard_msg m = {.request = req, .flags = 1, .size = 8};

	m.payload.u64 = v;
	return m;
}

static struct vguard_msg
msg_state(uint32_t req, uint32_t index, uint32_t num)
{
	struct vguard_msg m = {.request = req, .flags = 1, .size = 8};

	m.payload.state.index = index;
	m.payload.state.num = num;
	return m;
}

static struct vguard_msg
msg_none(uint32_t req)
{
	return (struct vguard_msg){.request = req, .flags = 1, .size = 0};
}

/* A table of 'n' regions, region i at guest 1 MiB * i, user 0x10000000 +
 * 1 MiB * i, 1 MiB long. */
static struct vguard_msg
msg_mem(uint32_t n)
{
	struct vguard_msg m = {.request = VGUARD_SET_MEM_TABLE, .flags = 1};
	uint32_t i;

	m.payload.mem.nregions = n;
	m.size = 8 + (n > 8 ? 8 : n) * (uint32_t)sizeof(struct vguard_region);
	for (i = 0; i < n && i < 8; i++) {
		m.payload.mem.regions[i].guest_phys_addr = i * MB;
		m.payload.mem.regions[i].memory_size = MB;
		m.payload.mem.regions[i].userspace_addr = 0x10000000 + i * MB;
		m.payload.mem.regions[i].mmap_offset = 0;
	}
	return m;
}

static struct vguard_msg
msg_addr(uint32_t index, uint64_t desc, uint64_t avail, uint64_t used)
{
	struct vguard_msg m = {
		.request = VGUARD_SET_VRING_ADDR, .flags = 1, .size = 40};

	m.payload.addr.index = index;
	m.payload.addr.desc = desc;
	m.payload.addr.avail = avail;
	m.payload.addr.used = used;
	return m;
}

static const int mem_fds[8] = {10, 11, 12, 13, 14, 15, 16, 17};
static const int ev_fd[1] = {FD_EVENT};

static int
check(const struct vguard_msg *m, const int *fds, int nfds)
{
	why[0] = '\0';
	return vguard_check(&conn, m, fds, nfds, fake_probe, why, sizeof(why));
}

/* Asserts that 'm' is refused with 'err' and a reason naming 'word'. */
#define REFUSED(err, word, m, fds, nfds)                            \
	do {                                                        \
		struct vguard_msg m_ = (m);                         \
		assert_int_equal(check(&m_, (fds), (nfds)), (err)); \
		assert_non_null(strstr(why, (word)));               \
	} while (0)

#define ACCEPTED(m, fds, nfds)                        \
	do {                                          \
		struct vguard_msg m_ = (m);           \
		int r_ = check(&m_, (fds), (nfds));   \
		if (r_ != 0)                          \
			fail_msg("refused: %s", why); \
	} while (0)

/* What QEMU or virtio_user sends to bring up one queue pair. */
static void
good_setup(void)
{
	ACCEPTED(msg_none(VGUARD_GET_FEATURES), NULL, 0);
	ACCEPTED(msg_u64(VGUARD_SET_FEATURES, F_VERSION_1 | F_PROTOCOL), NULL,
		0);
	ACCEPTED(msg_none(VGUARD_GET_PROTOCOL_FEATURES), NULL, 0);
	ACCEPTED(msg_u64(VGUARD_SET_PROTOCOL_FEATURES, PF_REPLY_ACK), NULL, 0);
	ACCEPTED(msg_none(VGUARD_SET_OWNER), NULL, 0);
	ACCEPTED(msg_mem(2), mem_fds, 2);
	for (uint32_t q = 0; q < 2; q++) {
		uint64_t base = 0x10000000 + q * 0x4000;

		ACCEPTED(msg_state(VGUARD_SET_VRING_NUM, q, 256), NULL, 0);
		ACCEPTED(msg_addr(q, base, base + 0x1000, base + 0x2000), NULL,
			0);
		ACCEPTED(msg_state(VGUARD_SET_VRING_BASE, q, 0), NULL, 0);
		ACCEPTED(msg_u64(VGUARD_SET_VRING_KICK, q), ev_fd, 1);
		ACCEPTED(msg_u64(VGUARD_SET_VRING_CALL, q), ev_fd, 1);
		ACCEPTED(msg_state(VGUARD_SET_VRING_ENABLE, q, 1), NULL, 0);
	}
}

static void
test_good_session(void **state)
{
	good_setup();
	assert_int_equal(conn.n_regions, 2);
	assert_int_equal(conn.vring_num[1], 256);
	assert_int_equal(conn.features, F_VERSION_1 | F_PROTOCOL);
	/* Polling peers send their kick and call slots without fds. */
	ACCEPTED(
		msg_u64(VGUARD_SET_VRING_CALL, 1 | VGUARD_VRING_NOFD), NULL, 0);
	ACCEPTED(msg_state(VGUARD_GET_VRING_BASE, 0, 0), NULL, 0);
}

static void
test_header(void **state)
{
	struct vguard_msg m = msg_none(VGUARD_GET_FEATURES);

	m.flags = 2;
	REFUSED(-EPROTO, "flags", m, NULL, 0);
	m.flags = 1 | VGUARD_REPLY;
	REFUSED(-EPROTO, "flags", m, NULL, 0);
	REFUSED(-EPROTO, "unknown request 0", msg_none(0), NULL, 0);
	REFUSED(-EPROTO, "unknown request 1000", msg_none(1000), NULL, 0);
	REFUSED(-EPROTO, "unknown request", msg_none(0xffffffff), NULL, 0);
	/* fds on a message that takes none */
	REFUSED(-EPROTO, "3 fds attached (0 expected)",
		msg_none(VGUARD_GET_FEATURES), mem_fds, 3);
	REFUSED(-EPROTO, "fds", msg_none(VGUARD_GET_FEATURES), mem_fds, 9);
	/* payload sizes */
	m = msg_none(VGUARD_GET_FEATURES);
	m.size = 8;
	REFUSED(-EPROTO, "payload of 8 bytes", m, NULL, 0);
	m = msg_u64(VGUARD_SET_VRING_NUM, 0);
	m.size = 4;
	REFUSED(-EPROTO, "payload of 4 bytes", m, NULL, 0);
	m.size = 0x10000;
	REFUSED(-EPROTO, "bytes", m, NULL, 0);
	m = msg_addr(0, 0, 0, 0);
	m.size = 32;
	REFUSED(-EPROTO, "40 expected", m, NULL, 0);
	/* features not offered */
	REFUSED(-EINVAL, "not offered",
		msg_u64(VGUARD_SET_FEATURES, 1ULL << 63), NULL, 0);
	REFUSED(-EINVAL, "not offered",
		msg_u64(VGUARD_SET_PROTOCOL_FEATURES, 1ULL << 12), NULL, 0);
	/* requests a net back-end does not offer */
	REFUSED(-ENOTSUP, "SET_INFLIGHT_FD", msg_none(32), NULL, 0);
	REFUSED(-ENOTSUP, "GET_INFLIGHT_FD", msg_none(31), NULL, 0);
	REFUSED(-ENOTSUP, "POSTCOPY_ADVISE", msg_none(28), NULL, 0);
	REFUSED(-ENOTSUP, "GET_CONFIG", msg_none(24), NULL, 0);
	/* ... or only with a protocol feature the peer did not take */
	REFUSED(-ENOTSUP, "SEND_RARP", msg_u64(VGUARD_SEND_RARP, 0), NULL, 0);
	REFUSED(-ENOTSUP, "IOTLB_MSG", msg_none(VGUARD_IOTLB_MSG), NULL, 0);
	assert_int_equal(conn.features, 0);
	assert_int_equal(conn.protocol, 0);
}

static void
test_mem_table(void **state)
{
	struct vguard_msg m;
	int fds[9] = {10, 11, 12, 13, 14, 15, 16, 17, 10};

	REFUSED(-EINVAL, "0 regions", msg_mem(0), NULL, 0);
	REFUSED(-EINVAL, "9 regions", msg_mem(9), fds, 8);
	REFUSED(-EPROTO, "1 fds attached (2 expected)", msg_mem(2), fds, 1);
	REFUSED(-EPROTO, "3 fds attached (2 expected)", msg_mem(2), fds, 3);
	m = msg_mem(2);
	m.size = 20;
	REFUSED(-EPROTO, "too short", m, fds, 2);

	m = msg_mem(1);
	m.payload.mem.regions[0].memory_size = 0;
	REFUSED(-EINVAL, "size 0", m, fds, 1);
	m = msg_mem(1);
	m.payload.mem.regions[0].memory_size = 2 * MB; /* file: 1 MiB */
	REFUSED(-EBADF, "beyond the end of its file", m, fds, 1);
	m = msg_mem(1);
	m.payload.mem.regions[0].mmap_offset = 4096;
	REFUSED(-EBADF, "beyond the end", m, fds, 1);
	m = msg_mem(1);
	m.payload.mem.regions[0].guest_phys_addr = UINT64_MAX - 4095;
	REFUSED(-EINVAL, "wraps", m, fds, 1);
	m = msg_mem(1);
	m.payload.mem.regions[0].userspace_addr = UINT64_MAX - 4095;
	REFUSED(-EINVAL, "wraps", m, fds, 1);
	m = msg_mem(1);
	m.payload.mem.regions[0].mmap_offset = UINT64_MAX;
	REFUSED(-EINVAL, "wraps", m, fds, 1);
	m = msg_mem(1);
	m.payload.mem.regions[0].memory_size = 1ULL << 43;
	REFUSED(-EINVAL, "GiB", m, fds, 1);
	m = msg_mem(2);
	m.payload.mem.regions[1].guest_phys_addr = MB / 2;
	REFUSED(-EINVAL, "overlaps region 0", m, fds, 2);
	m = msg_mem(2);
	m.payload.mem.regions[1].userspace_addr = 0x10000000 + 4096;
	REFUSED(-EINVAL, "overlaps region 0", m, fds, 2);

	/* fds that are not shareable memory */
	fds[0] = FD_PIPE;
	REFUSED(-EBADF, "not a memory file", msg_mem(1), fds, 1);
	fds[0] = FD_SOCK;
	REFUSED(-EBADF, "a socket, not a memory file", msg_mem(1), fds, 1);
	fds[0] = FD_EVENT;
	REFUSED(-EBADF, "an eventfd", msg_mem(1), fds, 1);
	fds[0] = FD_RDONLY;
	REFUSED(-EBADF, "reading and writing", msg_mem(1), fds, 1);
	fds[0] = FD_GONE;
	REFUSED(-EBADF, "cannot be examined", msg_mem(1), fds, 1);
	fds[0] = FD_SMALL;
	REFUSED(-EBADF, "beyond the end", msg_mem(1), fds, 1);
	assert_int_equal(conn.n_regions, 0);

	/* Eight regions is the most. */
	ACCEPTED(msg_mem(8), mem_fds, 8);
	assert_int_equal(conn.n_regions, 8);
}

static void
test_vrings(void **state)
{
	static const uint32_t bad_sizes[] = {0, 3, 32769, 65536, 0x80000000};
	static const uint32_t reqs[] = {VGUARD_SET_VRING_NUM,
		VGUARD_SET_VRING_BASE, VGUARD_GET_VRING_BASE,
		VGUARD_SET_VRING_ENABLE};
	size_t i;

	good_setup();
	for (i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++)
		REFUSED(-EINVAL, "power of two",
			msg_state(VGUARD_SET_VRING_NUM, 0, bad_sizes[i]), NULL,
			0);
	/* A refused size leaves the accepted one. */
	assert_int_equal(conn.vring_num[0], 256);
	ACCEPTED(msg_state(VGUARD_SET_VRING_NUM, 0, 32768), NULL, 0);
	ACCEPTED(msg_state(VGUARD_SET_VRING_NUM, 0, 256), NULL, 0);

	/* Indices beyond the port's two vrings. */
	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		REFUSED(-EINVAL, "vring 2 does not exist",
			msg_state(reqs[i], 2, 1), NULL, 0);
		REFUSED(-EINVAL, "does not exist",
			msg_state(reqs[i], 0xffff, 1), NULL, 0);
	}
	REFUSED(-EINVAL, "vring 5 does not exist",
		msg_u64(VGUARD_SET_VRING_KICK, 5), ev_fd, 1);
	REFUSED(-EINVAL, "vring 200 does not exist",
		msg_u64(VGUARD_SET_VRING_CALL, 200), ev_fd, 1);
	REFUSED(-EINVAL, "does not exist", msg_addr(7, 0, 0, 0), NULL, 0);

	REFUSED(-EINVAL, "16-bit", msg_state(VGUARD_SET_VRING_BASE, 0, 0x10000),
		NULL, 0);
	REFUSED(-EINVAL, "0 or 1", msg_state(VGUARD_SET_VRING_ENABLE, 0, 2),
		NULL, 0);

	/* Ring addresses. */
	REFUSED(-EINVAL, "not inside", msg_addr(0, 0x1000, 0x2000, 0x3000),
		NULL, 0);
	/* used ring runs past the end of region 0 into a gap */
	REFUSED(-EINVAL, "not inside",
		msg_addr(0, 0x10000000, 0x10001000, 0x10000000 + MB - 64), NULL,
		0);
	REFUSED(-EINVAL, "aligned",
		msg_addr(0, 0x10000008, 0x10001000, 0x10002000), NULL, 0);
	REFUSED(-EINVAL, "aligned",
		msg_addr(0, 0x10000000, 0x10001001, 0x10002000), NULL, 0);
	REFUSED(-EINVAL, "aligned",
		msg_addr(0, 0x10000000, 0x10001000, 0x10002002), NULL, 0);
	REFUSED(-EINVAL, "not inside",
		msg_addr(0, UINT64_MAX - 15, 0x10001000, 0x10002000), NULL, 0);
}

static void
test_notification_fds(void **state)
{
	static const int others[] = {FD_PIPE, FD_SOCK, FD_MEM0, FD_GONE};
	size_t i;

	good_setup();
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		REFUSED(-EBADF, "eventfd", msg_u64(VGUARD_SET_VRING_KICK, 1),
			&others[i], 1);
		REFUSED(-EBADF, "eventfd", msg_u64(VGUARD_SET_VRING_CALL, 0),
			&others[i], 1);
		REFUSED(-EBADF, "eventfd", msg_u64(VGUARD_SET_VRING_ERR, 0),
			&others[i], 1);
	}
	/* "no fd" with an fd, an fd missing, unknown bits */
	REFUSED(-EPROTO, "1 fds attached (0 expected)",
		msg_u64(VGUARD_SET_VRING_KICK, 0 | VGUARD_VRING_NOFD), ev_fd,
		1);
	REFUSED(-EPROTO, "0 fds attached (1 expected)",
		msg_u64(VGUARD_SET_VRING_CALL, 0), NULL, 0);
	REFUSED(-EINVAL, "unknown bits",
		msg_u64(VGUARD_SET_VRING_CALL, 1ULL << 40), ev_fd, 1);
}

static void
test_log_base(void **state)
{
	struct vguard_msg m = {
		.request = VGUARD_SET_LOG_BASE, .flags = 1, .size = 16};
	int fd;

	/* Only with LOG_SHMFD. */
	m.payload.log.mmap_size = 4096;
	fd = FD_MEM0;
	REFUSED(-ENOTSUP, "SET_LOG_BASE", m, &fd, 1);
	ACCEPTED(msg_u64(VGUARD_SET_PROTOCOL_FEATURES, PF_LOG_SHMFD), NULL, 0);
	ACCEPTED(m, &fd, 1);
	m.payload.log.mmap_size = 2 * MB;
	REFUSED(-EBADF, "cannot hold", m, &fd, 1);
	m.payload.log.mmap_size = 4096;
	m.payload.log.mmap_offset = UINT64_MAX;
	REFUSED(-EINVAL, "bad log area", m, &fd, 1);
	m.payload.log.mmap_offset = 0;
	m.payload.log.mmap_size = 0;
	REFUSED(-EINVAL, "bad log area", m, &fd, 1);
	m.payload.log.mmap_size = 4096;
	fd = FD_PIPE;
	REFUSED(-EBADF, "not a memory file", m, &fd, 1);
	REFUSED(-EPROTO, "0 fds attached", m, NULL, 0);
	fd = FD_MEM0;
	REFUSED(-EBADF, "an eventfd", msg_none(VGUARD_SET_LOG_FD), &fd, 1);
}

static struct vguard_msg
msg_iotlb(uint8_t type, uint64_t iova, uint64_t size, uint64_t uaddr,
	uint8_t perm)
{
	struct vguard_msg m = {.request = VGUARD_IOTLB_MSG, .flags = 1};

	m.size = (uint32_t)sizeof(m.payload.iotlb);
	m.payload.iotlb.iova = iova;
	m.payload.iotlb.size = size;
	m.payload.iotlb.uaddr = uaddr;
	m.payload.iotlb.perm = perm;
	m.payload.iotlb.type = type;
	return m;
}

/*
 * vIOMMU: with IOMMU_PLATFORM negotiated the rings are I/O addresses, and
 * IOTLB updates must map them into the memory table, as QEMU's do.
 */
static void
test_iotlb(void **state)
{
	const uint64_t iommu = 1ULL << 33, base = 0x10000000;
	struct vguard_msg m;

	vguard_conn_init(&conn, OFFERED | iommu, OFFERED_PROTOCOL, 2);
	/* Only once the peer took IOMMU_PLATFORM. */
	REFUSED(-ENOTSUP, "IOTLB_MSG",
		msg_iotlb(VGUARD_IOTLB_UPDATE, 0, 4096, base, 3), NULL, 0);
	ACCEPTED(msg_u64(VGUARD_SET_FEATURES, F_VERSION_1 | iommu), NULL, 0);
	ACCEPTED(msg_mem(2), mem_fds, 2);
	/* Rings at I/O addresses outside the table: translated later. */
	ACCEPTED(msg_state(VGUARD_SET_VRING_NUM, 0, 256), NULL, 0);
	ACCEPTED(msg_addr(0, 0xfee00000, 0xfee01000, 0xfee02000), NULL, 0);

	/* What QEMU sends: 4 KiB pages, each inside a region. */
	ACCEPTED(msg_iotlb(VGUARD_IOTLB_UPDATE, 0xfee00000, 4096, base,
			 VGUARD_ACCESS_RW),
		NULL, 0);
	ACCEPTED(msg_iotlb(VGUARD_IOTLB_UPDATE, 0x1000, MB, base + MB,
			 VGUARD_ACCESS_RO),
		NULL, 0);
	ACCEPTED(msg_iotlb(VGUARD_IOTLB_INVALIDATE, 0xfee00000, 4096, 0, 0),
		NULL, 0);
	/* An invalidate needs no user address nor permission. */
	ACCEPTED(msg_iotlb(VGUARD_IOTLB_INVALIDATE, 0, UINT64_MAX, 7, 9), NULL,
		0);

	/* The payload is struct vhost_iotlb_msg, 32 bytes. */
	m = msg_iotlb(VGUARD_IOTLB_UPDATE, 0, 4096, base, 3);
	m.size = 26;
	REFUSED(-EPROTO, "26 bytes (32 expected)", m, NULL, 0);
	m.size = 40;
	REFUSED(-EPROTO, "40 bytes", m, NULL, 0);
	m.size = 0;
	REFUSED(-EPROTO, "0 bytes", m, NULL, 0);
	REFUSED(-EPROTO, "fds attached",
		msg_iotlb(VGUARD_IOTLB_UPDATE, 0, 4096, base, 3), ev_fd, 1);

	/* Types a front-end does not send. */
	REFUSED(-EINVAL, "type 1",
		msg_iotlb(VGUARD_IOTLB_MISS, 0, 4096, base, 3), NULL, 0);
	REFUSED(-EINVAL, "type 4",
		msg_iotlb(VGUARD_IOTLB_ACCESS_FAIL, 0, 4096, base, 3), NULL, 0);
	REFUSED(-EINVAL, "type 0", msg_iotlb(0, 0, 4096, base, 3), NULL, 0);
	REFUSED(-EINVAL, "type 255", msg_iotlb(255, 0, 4096, base, 3), NULL, 0);

	/* Permissions. */
	REFUSED(-EINVAL, "permission 0",
		msg_iotlb(VGUARD_IOTLB_UPDATE, 0, 4096, base, 0), NULL, 0);
	REFUSED(-EINVAL, "permission 4",
		msg_iotlb(VGUARD_IOTLB_UPDATE, 0, 4096, base, 4), NULL, 0);

	/* Empty and wrapping ranges. */
	REFUSED(-EINVAL, "empty or wraps",
		msg_iotlb(VGUARD_IOTLB_UPDATE, 0, 0, base, 3), NULL, 0);
	REFUSED(-EINVAL, "empty or wraps",
		msg_iotlb(VGUARD_IOTLB_INVALIDATE, 0x1000, 0, 0, 0), NULL, 0);
	REFUSED(-EINVAL, "wraps",
		msg_iotlb(
			VGUARD_IOTLB_UPDATE, UINT64_MAX - 4095, 8192, base, 3),
		NULL, 0);
	REFUSED(-EINVAL, "wraps",
		msg_iotlb(
			VGUARD_IOTLB_INVALIDATE, 1ULL << 63, 1ULL << 63, 0, 0),
		NULL, 0);

	/* User ranges outside the memory table. */
	REFUSED(-EINVAL, "not inside one of the peer's 2 memory regions",
		msg_iotlb(VGUARD_IOTLB_UPDATE, 0, 4096, 0x1000, 3), NULL, 0);
	REFUSED(-EINVAL, "not inside",
		msg_iotlb(VGUARD_IOTLB_UPDATE, 0, 8192, base + MB - 4096, 3),
		NULL, 0); /* runs from region 0 into region 1 */
	REFUSED(-EINVAL, "not inside",
		msg_iotlb(
			VGUARD_IOTLB_UPDATE, 0, 8192, base + 2 * MB - 4096, 3),
		NULL, 0); /* runs past the last region */
	REFUSED(-EINVAL, "not inside",
		msg_iotlb(VGUARD_IOTLB_UPDATE, 0, 4096, UINT64_MAX - 100, 3),
		NULL, 0);
	REFUSED(-EINVAL, "not inside",
		msg_iotlb(VGUARD_IOTLB_UPDATE, 0, 2 * MB, base, 3), NULL, 0);
}

/* Without a memory table no update can be inside it. */
static void
test_iotlb_no_table(void **state)
{
	const uint64_t iommu = 1ULL << 33;

	vguard_conn_init(&conn, OFFERED | iommu, OFFERED_PROTOCOL, 2);
	ACCEPTED(msg_u64(VGUARD_SET_FEATURES, iommu), NULL, 0);
	REFUSED(-EINVAL, "0 memory regions",
		msg_iotlb(VGUARD_IOTLB_UPDATE, 0, 4096, 0x10000000, 3), NULL,
		0);
	ACCEPTED(msg_iotlb(VGUARD_IOTLB_INVALIDATE, 0, 4096, 0, 0), NULL, 0);
}

static void
test_wants_reply(void **state)
{
	struct vguard_msg m = msg_u64(VGUARD_SET_VRING_CALL, 0);

	assert_true(vguard_wants_reply(&(struct vguard_msg){.request = 1}));
	assert_false(vguard_wants_reply(&m));
	m.flags |= VGUARD_NEED_REPLY;
	assert_true(vguard_wants_reply(&m));
	assert_string_equal(vguard_request_name(5), "SET_MEM_TABLE");
	assert_null(vguard_request_name(1000));
}

/* Postcopy: only on ports that offer PAGEFAULT, only in protocol order. */
static void
test_postcopy(void **state)
{
	struct vguard_msg m;

	/* Not offered (a port without --postcopy). */
	REFUSED(-EINVAL, "not offered",
		msg_u64(VGUARD_SET_PROTOCOL_FEATURES, PF_PAGEFAULT), NULL, 0);
	REFUSED(-ENOTSUP, "POSTCOPY_ADVISE", msg_none(VGUARD_POSTCOPY_ADVISE),
		NULL, 0);

	/* Offered but not negotiated. */
	vguard_conn_init(&conn, OFFERED, OFFERED_PROTOCOL | PF_PAGEFAULT, 2);
	REFUSED(-ENOTSUP, "did not negotiate", msg_none(VGUARD_POSTCOPY_ADVISE),
		NULL, 0);
	REFUSED(-ENOTSUP, "POSTCOPY_LISTEN", msg_none(VGUARD_POSTCOPY_LISTEN),
		NULL, 0);
	ACCEPTED(msg_u64(VGUARD_SET_PROTOCOL_FEATURES,
			 PF_PAGEFAULT | PF_REPLY_ACK),
		NULL, 0);

	/* Out of order, or with a payload or fds. */
	REFUSED(-EPROTO, "no POSTCOPY_ADVISE before",
		msg_none(VGUARD_POSTCOPY_LISTEN), NULL, 0);
	REFUSED(-EPROTO, "payload of 8 bytes",
		msg_u64(VGUARD_POSTCOPY_ADVISE, 0), NULL, 0);
	REFUSED(-EPROTO, "1 fds attached (0 expected)",
		msg_none(VGUARD_POSTCOPY_ADVISE), ev_fd, 1);
	assert_int_equal(conn.postcopy, VGUARD_PC_NONE);

	/* What a QEMU destination sends. */
	m = msg_none(VGUARD_POSTCOPY_ADVISE);
	assert_true(vguard_wants_reply(&m)); /* the userfaultfd */
	ACCEPTED(m, NULL, 0);
	assert_int_equal(conn.postcopy, VGUARD_PC_ADVISED);
	REFUSED(-EPROTO, "already holds a userfaultfd",
		msg_none(VGUARD_POSTCOPY_ADVISE), NULL, 0);
	REFUSED(-EPROTO, "payload of 8 bytes",
		msg_u64(VGUARD_POSTCOPY_LISTEN, 0), NULL, 0);
	m = msg_none(VGUARD_POSTCOPY_LISTEN);
	m.flags |= VGUARD_NEED_REPLY;
	ACCEPTED(m, NULL, 0);
	assert_int_equal(conn.postcopy, VGUARD_PC_LISTENING);
	REFUSED(-EPROTO, "already listening", msg_none(VGUARD_POSTCOPY_LISTEN),
		NULL, 0);
	ACCEPTED(msg_mem(2), mem_fds, 2); /* registered with the fd */
	assert_int_equal(conn.postcopy, VGUARD_PC_LISTENING);
	REFUSED(-EPROTO, "1 fds attached (0 expected)",
		msg_none(VGUARD_POSTCOPY_END), ev_fd, 1);
	m = msg_none(VGUARD_POSTCOPY_END);
	assert_true(vguard_wants_reply(&m));
	ACCEPTED(m, NULL, 0);
	assert_int_equal(conn.postcopy, VGUARD_PC_NONE);

	/* LISTEN once memory is mapped: librte_vhost would refuse it. */
	ACCEPTED(msg_none(VGUARD_POSTCOPY_ADVISE), NULL, 0);
	REFUSED(-EPROTO, "memory is already mapped",
		msg_none(VGUARD_POSTCOPY_LISTEN), NULL, 0);
	assert_string_equal(vguard_request_name(30), "POSTCOPY_END");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_good_session, setup),
		cmocka_unit_test_setup(test_header, setup),
		cmocka_unit_test_setup(test_mem_table, setup),
		cmocka_unit_test_setup(test_vrings, setup),
		cmocka_unit_test_setup(test_notification_fds, setup),
		cmocka_unit_test_setup(test_log_base, setup),
		cmocka_unit_test_setup(test_iotlb, setup),
		cmocka_unit_test_setup(test_iotlb_no_table, setup),
		cmocka_unit_test_setup(test_wants_reply, setup),
		cmocka_unit_test_setup(test_postcopy, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
