/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vguard.h - checks every vhost-user message before librte_vhost acts on it.
 *
 * Every vhost-user peer (a container's virtio_user PMD, a QEMU guest) is
 * untrusted.  librte_vhost 22.11 calls a pre-message handler for each message
 * it has read (rte_vhost_extern_callback_register); vport.c installs one that
 * calls vguard_check().  A message that fails the check is never seen by
 * librte_vhost: its fds are closed and the peer is disconnected with the
 * reason vguard_check() wrote (see docs/security.md for every rule and why).
 *
 * The checks, as QEMU's libvhost-user and crosvm do them:
 *  - the header: version 1, no reply bit, a payload size that matches the
 *    request, and exactly the number of fds the request carries;
 *  - the request: known, and allowed by the features and protocol features
 *    the switch offered and the peer accepted (inflight, config and crypto
 *    messages are refused: a net backend does not offer them; postcopy
 *    messages need VHOST_USER_PROTOCOL_F_PAGEFAULT, which only ports added
 *    with --postcopy offer, and come in their order: ADVISE, then LISTEN
 *    before any memory table, then END);
 *  - memory tables: 1..8 regions, non-zero sizes, no address arithmetic that
 *    wraps, no overlaps, each fd shareable memory (a regular or memfd file
 *    opened read-write) at least mmap_offset + size bytes long;
 *  - vrings: index below the queues the port offers, a size that is a power
 *    of two up to 32768, ring addresses aligned and inside one region;
 *  - notification fds (kick, call, err, log): eventfds only;
 *  - IOTLB messages (vIOMMU): UPDATE or INVALIDATE only, a known
 *    permission, no range that is empty or wraps, and an UPDATE's user
 *    address range inside one memory region.
 *
 * vguard_check() is pure: it reads the message, the connection state and
 * what the probe says of each fd, and updates the connection state only
 * when it accepts.  The probe is a parameter so that the unit tests and the
 * fuzz target can describe fds without creating them; vguard_probe_fd() is
 * the real one (fstat, /proc/self/fd).
 *
 * Thread-safety: a struct vguard_conn belongs to one connection and is used
 * by whoever handles that connection's messages (librte_vhost's vhost-events
 * thread); the functions keep no global state.
 */
#ifndef VHSW_VGUARD_H
#define VHSW_VGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VGUARD_MAX_FDS 8     /* VHOST_MEMORY_MAX_NREGIONS */
#define VGUARD_MAX_VRINGS 32 /* 2 * VPORT_MAX_QUEUES */
#define VGUARD_PAYLOAD_MAX 632
#define VGUARD_MAX_RING_SIZE 32768
/* Guest memory one connection may map: bounds the address space a peer can
 * make the switch reserve (4 TiB). */
#define VGUARD_MAX_MEM (1ULL << 42)

/* vhost-user requests (front-end to back-end). */
enum vguard_request {
	VGUARD_GET_FEATURES = 1,
	VGUARD_SET_FEATURES = 2,
	VGUARD_SET_OWNER = 3,
	VGUARD_RESET_OWNER = 4,
	VGUARD_SET_MEM_TABLE = 5,
	VGUARD_SET_LOG_BASE = 6,
	VGUARD_SET_LOG_FD = 7,
	VGUARD_SET_VRING_NUM = 8,
	VGUARD_SET_VRING_ADDR = 9,
	VGUARD_SET_VRING_BASE = 10,
	VGUARD_GET_VRING_BASE = 11,
	VGUARD_SET_VRING_KICK = 12,
	VGUARD_SET_VRING_CALL = 13,
	VGUARD_SET_VRING_ERR = 14,
	VGUARD_GET_PROTOCOL_FEATURES = 15,
	VGUARD_SET_PROTOCOL_FEATURES = 16,
	VGUARD_GET_QUEUE_NUM = 17,
	VGUARD_SET_VRING_ENABLE = 18,
	VGUARD_SEND_RARP = 19,
	VGUARD_NET_SET_MTU = 20,
	VGUARD_SET_SLAVE_REQ_FD = 21,
	VGUARD_IOTLB_MSG = 22,
	VGUARD_POSTCOPY_ADVISE = 28,
	VGUARD_POSTCOPY_LISTEN = 29,
	VGUARD_POSTCOPY_END = 30,
	VGUARD_SET_STATUS = 39,
	VGUARD_GET_STATUS = 40,
};

#define VGUARD_VERSION 0x1u
#define VGUARD_VERSION_MASK 0x3u
#define VGUARD_REPLY (1u << 2)
#define VGUARD_NEED_REPLY (1u << 3)
#define VGUARD_VRING_IDX_MASK 0xffu
#define VGUARD_VRING_NOFD (1u << 8)

/* IOTLB message types and permissions (struct vhost_iotlb_msg). */
#define VGUARD_IOTLB_MISS 1
#define VGUARD_IOTLB_UPDATE 2
#define VGUARD_IOTLB_INVALIDATE 3
#define VGUARD_IOTLB_ACCESS_FAIL 4
#define VGUARD_ACCESS_RO 0x1
#define VGUARD_ACCESS_WO 0x2
#define VGUARD_ACCESS_RW 0x3

struct vguard_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
};

/*
 * One message as librte_vhost 22.11 holds it (its VhostUserMsg: the wire
 * header and a payload union of VGUARD_PAYLOAD_MAX bytes, packed).
 */
struct vguard_msg {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
	union {
		uint64_t u64;
		struct {
			uint32_t index;
			uint32_t num;
		} state;
		struct {
			uint32_t index;
			uint32_t flags;
			uint64_t desc;
			uint64_t used;
			uint64_t avail;
			uint64_t log;
		} addr;
		struct {
			uint32_t nregions;
			uint32_t padding;
			struct vguard_region regions[VGUARD_MAX_FDS];
		} mem;
		struct {
			uint64_t mmap_size;
			uint64_t mmap_offset;
		} log;
		/* Linux's struct vhost_iotlb_msg: 26 bytes, padded to 32. */
		struct {
			uint64_t iova;
			uint64_t size;
			uint64_t uaddr;
			uint8_t perm;
			uint8_t type;
			uint8_t padding[6];
		} iotlb;
		uint8_t raw[VGUARD_PAYLOAD_MAX];
	} payload;
} __attribute__((packed));

#define VGUARD_HDR_SIZE 12u

/*
 * What librte_vhost 22.11 passes to a pre-message handler (its struct
 * vhu_msg_context): the message, then the fds that came with it.
 */
struct vguard_msg_ctx {
	struct vguard_msg msg;
	int fds[VGUARD_MAX_FDS];
	int fd_num;
};

enum vguard_fd_kind {
	VGUARD_FD_OTHER = 0, /* pipe, directory, device, ... */
	VGUARD_FD_MEM,       /* regular file (memfd, tmpfs, hugetlbfs) */
	VGUARD_FD_EVENTFD,
	VGUARD_FD_SOCKET,
};

struct vguard_fd_info {
	enum vguard_fd_kind kind;
	uint64_t size; /* VGUARD_FD_MEM: the file's size */
	bool rdwr;     /* opened for reading and writing */
};

/* Describes 'fd'.  0, or -errno if it cannot be examined. */
typedef int (*vguard_probe_fn)(int fd, struct vguard_fd_info *info);

/* Where a connection is in postcopy live migration (a destination). */
enum vguard_postcopy {
	VGUARD_PC_NONE = 0,
	VGUARD_PC_ADVISED,   /* POSTCOPY_ADVISE: the peer got a userfaultfd */
	VGUARD_PC_LISTENING, /* POSTCOPY_LISTEN: memory tables get registered */
};

/* What the guard knows of one connection. */
struct vguard_conn {
	/* Set by the owner when the peer connects. */
	uint64_t offered_features;
	uint64_t offered_protocol;
	uint16_t max_vrings; /* vrings the port serves (2 per queue pair) */

	/* Learned from the messages accepted so far. */
	uint64_t features; /* last SET_FEATURES */
	uint64_t protocol; /* last SET_PROTOCOL_FEATURES */
	uint32_t vring_num[VGUARD_MAX_VRINGS];
	uint32_t n_regions;
	struct vguard_region regions[VGUARD_MAX_FDS];
	enum vguard_postcopy postcopy;
};

/* Starts a connection's state. */
void vguard_conn_init(struct vguard_conn *c, uint64_t offered_features,
	uint64_t offered_protocol, uint16_t max_vrings);

/*
 * Checks one message and the 'nfds' fds that came with it.  0 if
 * librte_vhost may act on it ('c' then records what it changes); else
 * -EPROTO (the message breaks the protocol), -EINVAL (a value is out of
 * range), -EBADF (an fd of the wrong kind or size) or -ENOTSUP (a request
 * the switch does not offer), with the reason in 'why'.
 */
int vguard_check(struct vguard_conn *c, const struct vguard_msg *m,
	const int *fds, int nfds, vguard_probe_fn probe, char *why,
	size_t whylen);

/* Whether the peer waits for an answer to 'm' (a reply or a reply-ack). */
bool vguard_wants_reply(const struct vguard_msg *m);

/* The request's name ("SET_MEM_TABLE"), or NULL if unknown. */
const char *vguard_request_name(uint32_t request);

/* The real probe: fstat and /proc/self/fd. */
int vguard_probe_fd(int fd, struct vguard_fd_info *info);

#endif /* VHSW_VGUARD_H */
