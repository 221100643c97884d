/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * capture_ctl.c - capture sessions, the control side (see capture.h).
 *
 * A session's life:
 *  1. `capture` (act_capture) checks the request, takes the pipe vhswctl
 *     sent with it (rpc_take_fd: the write end of a pipe, nothing else),
 *     compiles the filter, makes the session's mempool and ring, starts
 *     its writer thread and publishes it in the port's monitor.  The reply
 *     is the session id, at once.
 *  2. The writer (a plain pthread; it never touches a port or the loop)
 *     writes the pcapng section header and the port's Interface
 *     Description Block, then empties the ring into the pipe with
 *     non-blocking writes and poll(), so that it sees a stop within
 *     ~100 ms even when the reader is stuck.  It ends when --count frames
 *     are written, when the reader goes away (EPIPE, or POLLERR while
 *     idle), on a write error, or when asked to stop (`capture/stop`, the
 *     port deleted, vhswd stopping): it marks the session closed for the
 *     data plane, records why, closes the pipe (the reader sees EOF) and
 *     wakes the control thread (ev_async).
 *  3. The control thread then unpublishes the session (grace period),
 *     joins the writer, frees the ring, pool and filter, and keeps the
 *     session's final counters for `capture/list` and `capture/stop`
 *     (the last CAPTURE_KEEP_ENDED sessions).
 *
 * pcapng: librte_pcapng builds each packet's Enhanced Packet Block on the
 * data plane (rte_pcapng_copy).  The section header and the one interface
 * block are written here: DPDK 22.11's rte_pcapng_fdopen writes one
 * interface block per ethdev (vhost-user ports are not ethdevs, so the
 * captured port would be missing and unrelated ones listed) with blocking
 * write()s, and rte_pcapng_write_packets maps mbuf->port through a table
 * of ethdevs only and cannot resume a partial write on a non-blocking
 * pipe.  DPDK 23.11 added rte_pcapng_add_interface for this.  Each EPB's
 * interface id is set to 0, the captured port's block, when it is
 * written.  rte_pcapng_copy in 22.11 also gets multi-segment copies wrong
 * (the block length is the first segment's), so a session's mbufs hold a
 * whole copy: 'copy_len' is --snaplen or the port's largest frame,
 * whichever is less.
 *
 * Thread-safety: control thread, except writer_main (the session's
 * writer), which shares with it only the atomics 'stop', 'done',
 * 'written' and 'reason'.
 */
#define ALLOW_EXPERIMENTAL_API 1 /* rte_bpf_convert, rte_pcapng_* (22.11) */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>
#include <rte_bpf.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pcapng.h>
#include <rte_ring.h>

#include "actions.h"
#include "capture.h"
#include "monitor.h"
#include "rpc.h"
#include "vhsw.h"

#define CAPTURE_KEEP_ENDED 16
#define CAPTURE_POOL_BYTES (4u << 20) /* per session, at most */
/*
 * The writer's wait for frames when its ring is empty: from
 * CAPTURE_IDLE_MIN_MS, doubled while nothing comes, up to
 * CAPTURE_IDLE_MAX_MS (the ring holds 2048 frames: 10 ms of 200 kpps),
 * so an idle capture wakes 100 times a second, not 500.
 */
#define CAPTURE_IDLE_MIN_MS 1
#define CAPTURE_IDLE_MAX_MS 10
#define CAPTURE_POLL_MS 100   /* writer's wait for the reader */
#define CAPTURE_STUCK_MS 1000 /* a stopping writer gives up after this */
#define CAPTURE_PIPE_SIZE (1 << 20)
#define CAPTURE_BURST 32
#define CAPTURE_HDR_MAX 2048

/* pcapng (draft-ietf-opsawg-pcapng) block types and options. */
#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_IDB 1u
#define PCAPNG_EPB 6u
#define PCAPNG_MAGIC 0x1A2B3C4Du
#define PCAPNG_OPT_END 0
#define PCAPNG_OPT_COMMENT 1
#define PCAPNG_SHB_USERAPPL 4
#define PCAPNG_IF_NAME 2
#define PCAPNG_IF_DESCRIPTION 3
#define PCAPNG_IF_TSRESOL 9
#define PCAPNG_IF_FILTER 11
#define PCAPNG_LINKTYPE_ETHERNET 1

enum session_state {
	SESSION_RUNNING,  /* published, writer running */
	SESSION_STOPPING, /* unpublished, writer finishing */
	SESSION_ENDED,    /* writer joined, resources freed */
};

static const char *const state_names[] = {
	[SESSION_RUNNING] = "running",
	[SESSION_STOPPING] = "stopping",
	[SESSION_ENDED] = "ended",
};

struct session {
	struct capture c; /* what the data plane sees */
	TAILQ_ENTRY(session) link;
	struct vhsw *sw;
	uint32_t id;
	enum session_state state;
	/* The port while it exists (NULL once deleted), and its name. */
	struct port *port;
	char port_name[VHSW_NAME_MAX];
	char port_type[32];
	uint8_t dirs;
	bool published;
	char *filter; /* NULL: none */
	char *file;   /* what vhswctl writes to, for display only */
	uint32_t snaplen;
	uint64_t count; /* 0: no limit */
	time_t started, ended;
	ev_async done_ev;
	pthread_t thread;
	/* The writer's. */
	int fd;
	uint8_t header[CAPTURE_HDR_MAX];
	size_t header_len;
	/* Between the threads (atomics). */
	uint32_t stop;      /* control -> writer: end now */
	uint32_t done;      /* writer -> control: it has ended */
	uint64_t written;   /* frames in the file */
	const char *reason; /* why it ended: the first one set wins */
	char err[96];       /* a write error's text (writer, before done) */
	/* Final counters of the data plane, once ended. */
	uint64_t seen, matched, dropped;
};

TAILQ_HEAD(session_list, session);

struct capture_set {
	struct session_list sessions; /* oldest first */
	uint32_t next_id;
	unsigned int running; /* not ended */
	unsigned int ended;
};

static const char *const REASON_COUNT = "--count frames written";
static const char *const REASON_STOPPED = "stopped (capture stop)";
static const char *const REASON_READER = "the reader closed the pipe";
static const char *const REASON_PORT = "port deleted";
static const char *const REASON_SHUTDOWN = "vhswd stopped";
static const char *const REASON_WRITE = "write error";

static void
set_reason(struct session *s, const char *r)
{
	const char *none = NULL;

	__atomic_compare_exchange_n(&s->reason, &none, r, false,
		__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static struct capture_set *
set_get(struct vhsw *sw)
{
	struct capture_set *cs = sw->captures;

	if (cs == NULL) {
		cs = calloc(1, sizeof(*cs));
		if (cs == NULL)
			return NULL;
		TAILQ_INIT(&cs->sessions);
		cs->next_id = 1;
		sw->captures = cs;
	}
	return cs;
}

/* ---- pcapng header ------------------------------------------------- */

struct blockbuf {
	uint8_t *b;
	size_t len, cap;
	bool overflow;
};

static void
put(struct blockbuf *bb, const void *p, size_t n)
{
	if (bb->len + n > bb->cap) {
		bb->overflow = true;
		return;
	}
	memcpy(bb->b + bb->len, p, n);
	bb->len += n;
}

static void
put32(struct blockbuf *bb, uint32_t v)
{
	put(bb, &v, sizeof(v));
}

static void
put16(struct blockbuf *bb, uint16_t v)
{
	put(bb, &v, sizeof(v));
}

/* An option: code, length, value padded to 32 bits. */
static void
put_opt(struct blockbuf *bb, uint16_t code, const void *v, size_t n)
{
	static const uint8_t zero[4];

	if (n > UINT16_MAX) {
		bb->overflow = true;
		return;
	}
	put16(bb, code);
	put16(bb, (uint16_t)n);
	put(bb, v, n);
	put(bb, zero, RTE_ALIGN(n, 4) - n);
}

/* Ends the block that started at 'start': end of options, lengths. */
static void
block_end(struct blockbuf *bb, size_t start)
{
	uint32_t len;

	put_opt(bb, PCAPNG_OPT_END, NULL, 0);
	len = (uint32_t)(bb->len - start + 4);
	put32(bb, len);
	if (!bb->overflow)
		memcpy(bb->b + start + 4, &len, 4);
}

/* Section header and the port's interface block.  0 or -ENOSPC. */
static int
header_build(struct session *s)
{
	struct blockbuf bb = {.b = s->header, .cap = sizeof(s->header)};
	const uint8_t tsresol = 9; /* ns: rte_pcapng_copy's timestamps */
	char app[64], desc[128];
	size_t start;
	uint8_t *filt;
	size_t flen;

	snprintf(app, sizeof(app), "vhswd %s", VHSW_VERSION);
	snprintf(desc, sizeof(desc), "vhsw %s port %s, %s", s->port_type,
		s->port_name,
		s->dirs == MONITOR_BOTH         ? "rx and tx"
			: s->dirs == MONITOR_RX ? "rx (from its peer)"
						: "tx (to its peer)");
	start = bb.len;
	put32(&bb, PCAPNG_SHB);
	put32(&bb, 0); /* length, set by block_end */
	put32(&bb, PCAPNG_MAGIC);
	put16(&bb, 1);
	put16(&bb, 0);
	put32(&bb, 0xffffffffu); /* section length: unknown */
	put32(&bb, 0xffffffffu);
	put_opt(&bb, PCAPNG_SHB_USERAPPL, app, strlen(app));
	block_end(&bb, start);

	start = bb.len;
	put32(&bb, PCAPNG_IDB);
	put32(&bb, 0);
	put16(&bb, PCAPNG_LINKTYPE_ETHERNET);
	put16(&bb, 0);
	put32(&bb, s->snaplen);
	put_opt(&bb, PCAPNG_IF_NAME, s->port_name, strlen(s->port_name));
	put_opt(&bb, PCAPNG_IF_DESCRIPTION, desc, strlen(desc));
	put_opt(&bb, PCAPNG_IF_TSRESOL, &tsresol, 1);
	if (s->filter != NULL) {
		/* if_filter: a byte saying "libpcap string", then it. */
		flen = strlen(s->filter);
		filt = malloc(flen + 1);
		if (filt == NULL)
			return -ENOMEM;
		filt[0] = 0;
		memcpy(filt + 1, s->filter, flen);
		put_opt(&bb, PCAPNG_IF_FILTER, filt, flen + 1);
		free(filt);
	}
	block_end(&bb, start);
	if (bb.overflow)
		return -ENOSPC;
	s->header_len = bb.len;
	return 0;
}

/* ---- the writer ---------------------------------------------------- */

static bool
stopping(struct session *s)
{
	return __atomic_load_n(&s->stop, __ATOMIC_ACQUIRE) != 0;
}

/*
 * Writes the iovecs, resuming partial writes; waits for the reader with
 * poll() in CAPTURE_POLL_MS steps.  Once asked to stop, a reader that
 * takes nothing for CAPTURE_STUCK_MS is given up.  0, or -errno.
 */
static int
out_writev(struct session *s, struct iovec *iov, int cnt)
{
	struct pollfd pfd = {.fd = s->fd, .events = POLLOUT};
	int waited = 0, r;
	ssize_t n;

	while (cnt > 0) {
		n = writev(s->fd, iov, cnt);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -errno;
		if (n < 0) {
			if (stopping(s) && waited >= CAPTURE_STUCK_MS)
				return -ETIMEDOUT;
			r = poll(&pfd, 1, CAPTURE_POLL_MS);
			if (r == 0)
				waited += CAPTURE_POLL_MS;
			if (r > 0 && (pfd.revents & (POLLERR | POLLHUP)))
				return -EPIPE;
			continue;
		}
		waited = 0;
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (uint8_t *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Writes 'n' EPB mbufs as blocks of interface 0.  0 or -errno. */
static int
write_frames(struct session *s, struct rte_mbuf **m, unsigned int n)
{
	struct iovec iov[CAPTURE_BURST * 4];
	struct rte_mbuf *seg;
	unsigned int i;
	uint32_t *epb;
	int cnt = 0, ret;

	for (i = 0; i < n; i++) {
		/* rte_pcapng_copy's block: type, length, interface id. */
		epb = rte_pktmbuf_mtod(m[i], uint32_t *);
		epb[2] = 0;
		for (seg = m[i]; seg != NULL; seg = seg->next) {
			if (cnt == RTE_DIM(iov)) {
				ret = out_writev(s, iov, cnt);
				if (ret != 0)
					return ret;
				cnt = 0;
			}
			iov[cnt].iov_base = rte_pktmbuf_mtod(seg, void *);
			iov[cnt].iov_len = rte_pktmbuf_data_len(seg);
			cnt++;
		}
	}
	return cnt > 0 ? out_writev(s, iov, cnt) : 0;
}

/* Idle: waits 'ms' for frames; true if the reader is gone. */
static bool
reader_gone(struct session *s, int ms)
{
	struct pollfd pfd = {.fd = s->fd, .events = 0};

	return poll(&pfd, 1, ms) > 0 &&
		(pfd.revents & (POLLERR | POLLHUP)) != 0;
}

static void
writer_fail(struct session *s, int err)
{
	if (err == -EPIPE) {
		set_reason(s, REASON_READER);
	} else if (err != -ETIMEDOUT) {
		snprintf(s->err, sizeof(s->err), "%s", strerror(-err));
		set_reason(s, REASON_WRITE);
	}
}

static void *
writer_main(void *arg)
{
	struct session *s = arg;
	struct iovec hdr = {.iov_base = s->header, .iov_len = s->header_len};
	struct rte_mbuf *m[CAPTURE_BURST];
	int ret, idle_ms = CAPTURE_IDLE_MIN_MS;
	uint64_t written = 0;
	unsigned int n;

	ret = out_writev(s, &hdr, 1);
	if (ret != 0)
		writer_fail(s, ret);
	while (ret == 0) {
		n = rte_ring_sc_dequeue_burst(
			s->c.ring, (void **)m, CAPTURE_BURST, NULL);
		if (n == 0) {
			/* Stopped and unpublished: the ring is complete. */
			if (stopping(s))
				break;
			if (reader_gone(s, idle_ms)) {
				set_reason(s, REASON_READER);
				break;
			}
			idle_ms = RTE_MIN(2 * idle_ms, CAPTURE_IDLE_MAX_MS);
			continue;
		}
		idle_ms = CAPTURE_IDLE_MIN_MS;
		if (s->count != 0 && written + n > s->count) {
			rte_pktmbuf_free_bulk(&m[s->count - written],
				(unsigned int)(written + n - s->count));
			n = (unsigned int)(s->count - written);
		}
		ret = write_frames(s, m, n);
		rte_pktmbuf_free_bulk(m, n);
		if (ret != 0) {
			writer_fail(s, ret);
			break;
		}
		written += n;
		__atomic_store_n(&s->written, written, __ATOMIC_RELAXED);
		if (s->count != 0 && written >= s->count) {
			set_reason(s, REASON_COUNT);
			break;
		}
	}
	__atomic_store_n(&s->c.closed, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	/* The reader sees EOF once this is closed: 'done' is set by then,
	 * so the `capture/stop` vhswctl sends next finds it ended. */
	close(s->fd);
	s->fd = -1;
	ev_async_send(s->sw->loop, &s->done_ev);
	return NULL;
}

/* ---- the control side ---------------------------------------------- */

static void
session_free_dp(struct session *s)
{
	struct rte_mbuf *m;

	if (s->c.ring != NULL)
		while (rte_ring_dequeue(s->c.ring, (void **)&m) == 0)
			rte_pktmbuf_free(m);
	rte_ring_free(s->c.ring);
	rte_mempool_free(s->c.mp);
	rte_bpf_destroy(s->c.bpf);
	s->c.ring = NULL;
	s->c.mp = NULL;
	s->c.bpf = NULL;
	s->c.jit = NULL;
}

/* Takes the session out of its port's monitor (waits a grace period). */
static void
session_unpublish(struct session *s)
{
	if (!s->published)
		return;
	s->published = false;
	if (s->port != NULL && vhsw_port_update_monitor(s->sw, s->port) != 0) {
		/* No memory for the new monitor: the writer closed the
		 * session for the data plane; keep its resources. */
		s->published = true;
	}
}

/* Asks the writer to end (the session is unpublished first, so the ring
 * it empties is complete). */
static void
session_stop(struct session *s, const char *reason)
{
	if (s->state != SESSION_RUNNING)
		return;
	set_reason(s, reason);
	session_unpublish(s);
	s->state = SESSION_STOPPING;
	__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
}

/* The writer has ended (or is asked to and will): join it, free. */
static void
session_reap(struct session *s)
{
	struct capture_set *cs = s->sw->captures;
	struct session *old;

	if (s->state == SESSION_ENDED)
		return;
	session_stop(s, REASON_STOPPED);
	pthread_join(s->thread, NULL);
	if (s->published) {
		/* Still in a monitor that could not be rebuilt: retry. */
		session_unpublish(s);
	}
	s->seen = __atomic_load_n(&s->c.seen, __ATOMIC_RELAXED);
	s->matched = __atomic_load_n(&s->c.matched, __ATOMIC_RELAXED);
	s->dropped = __atomic_load_n(&s->c.dropped, __ATOMIC_RELAXED);
	if (!s->published)
		session_free_dp(s);
	ev_async_stop(s->sw->loop, &s->done_ev);
	s->state = SESSION_ENDED;
	s->ended = time(NULL);
	cs->running--;
	cs->ended++;
	while (cs->ended > CAPTURE_KEEP_ENDED) {
		/* The oldest ended one, never 's': the caller shows it. */
		TAILQ_FOREACH (old, &cs->sessions, link)
			if (old != s && old->state == SESSION_ENDED &&
				!old->published)
				break;
		if (old == NULL)
			break;
		TAILQ_REMOVE(&cs->sessions, old, link);
		cs->ended--;
		free(old->filter);
		free(old->file);
		free(old);
	}
}

static void
done_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct session *s = (struct session *)((char *)w -
		offsetof(struct session, done_ev));

	if (__atomic_load_n(&s->done, __ATOMIC_ACQUIRE))
		session_reap(s);
}

void
capture_fill_monitor(
	struct vhsw *sw, const struct port *p, struct port_monitor *mon)
{
	struct capture_set *cs = sw->captures;
	struct session *s;

	if (cs == NULL)
		return;
	TAILQ_FOREACH (s, &cs->sessions, link) {
		if (s->port != p || !s->published ||
			mon->n_capture >= MONITOR_MAX_CAPTURES)
			continue;
		mon->capture[mon->n_capture].cap = &s->c;
		mon->capture[mon->n_capture].dirs = s->dirs;
		mon->n_capture++;
	}
}

void
capture_port_gone(struct vhsw *sw, const struct port *p)
{
	struct capture_set *cs = sw->captures;
	struct session *s;

	if (cs == NULL)
		return;
	TAILQ_FOREACH (s, &cs->sessions, link) {
		if (s->port != p)
			continue;
		/* Already unreachable: the port is out of the table. */
		s->port = NULL;
		s->published = false;
		session_stop(s, REASON_PORT);
	}
}

void
capture_fini(struct vhsw *sw)
{
	struct capture_set *cs = sw->captures;
	struct session *s;

	if (cs == NULL)
		return;
	TAILQ_FOREACH (s, &cs->sessions, link)
		session_stop(s, REASON_SHUTDOWN);
	/* Reaping may free other ended sessions: look again each time. */
	for (;;) {
		TAILQ_FOREACH (s, &cs->sessions, link)
			if (s->state != SESSION_ENDED)
				break;
		if (s == NULL)
			break;
		session_reap(s);
	}
	while ((s = TAILQ_FIRST(&cs->sessions)) != NULL) {
		TAILQ_REMOVE(&cs->sessions, s, link);
		/* One still in a monitor (no memory to rebuild it) stays
		 * allocated: the data plane may still read it. */
		if (s->published)
			continue;
		free(s->filter);
		free(s->file);
		free(s);
	}
	free(cs);
	sw->captures = NULL;
}

/* ---- actions ------------------------------------------------------- */

static const char *
dir_name(uint8_t dirs)
{
	return dirs == MONITOR_BOTH ? "both" : dirs == MONITOR_RX ? "rx" : "tx";
}

static json_t *
session_json(const struct session *s)
{
	bool live = s->state != SESSION_ENDED;
	const char *reason = __atomic_load_n(&s->reason, __ATOMIC_ACQUIRE);
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(s->id));
	json_object_set_new(o, "port", json_string(s->port_name));
	json_object_set_new(o, "direction", json_string(dir_name(s->dirs)));
	json_object_set_new(
		o, "filter", s->filter ? json_string(s->filter) : json_null());
	json_object_set_new(o, "snaplen", json_integer(s->snaplen));
	json_object_set_new(o, "count",
		s->count ? json_integer((json_int_t)s->count) : json_null());
	json_object_set_new(
		o, "file", s->file ? json_string(s->file) : json_null());
	json_object_set_new(o, "state", json_string(state_names[s->state]));
	json_object_set_new(o, "seen",
		json_integer((json_int_t)(live
				? __atomic_load_n(&s->c.seen, __ATOMIC_RELAXED)
				: s->seen)));
	json_object_set_new(o, "matched",
		json_integer((json_int_t)(live ? __atomic_load_n(&s->c.matched,
							 __ATOMIC_RELAXED)
					       : s->matched)));
	json_object_set_new(o, "dropped",
		json_integer((json_int_t)(live ? __atomic_load_n(&s->c.dropped,
							 __ATOMIC_RELAXED)
					       : s->dropped)));
	json_object_set_new(o, "written",
		json_integer((json_int_t)__atomic_load_n(
			&s->written, __ATOMIC_RELAXED)));
	json_object_set_new(o, "started", json_integer(s->started));
	if (reason == REASON_WRITE && s->state == SESSION_ENDED) {
		char r[160];

		snprintf(r, sizeof(r), "%s: %s", reason, s->err);
		json_object_set_new(o, "end_reason", json_string(r));
	} else {
		json_object_set_new(o, "end_reason",
			reason && s->state != SESSION_RUNNING
				? json_string(reason)
				: json_null());
	}
	return o;
}

/*
 * DPDK 22.11 (and 23.11) rte_bpf_convert turns cBPF's indexed loads
 * (`ld [x + k]`, as in `icmp[icmptype] == icmp-echo` or `tcp port 80`,
 * which index by the IP header's length) into eBPF loads indexed by A
 * (R0) instead of X (R7): they read the wrong bytes and the filter fails.
 * The converted program is ours (rte_zmalloc'd by rte_bpf_convert): point
 * them at X, as Linux's converter does.
 */
#define CBPF_X_REG 7 /* EBPF_REG_7: bpf_convert.c's BPF_REG_X */

static void
filter_fix_indexed_loads(struct rte_bpf_prm *prm)
{
	struct ebpf_insn *ins = (struct ebpf_insn *)(uintptr_t)prm->ins;
	uint32_t i;

	for (i = 0; i < prm->nb_ins; i++)
		if ((ins[i].code & 0x07) == 0x00 /* BPF_LD */ &&
			(ins[i].code & 0xe0) == 0x40 /* BPF_IND */)
			ins[i].src_reg = CBPF_X_REG;
}

/*
 * librte_bpf (22.11) reads a frame's bytes at a 32-bit offset it checks
 * with 'offset + size > frame length', which wraps: a load at an offset
 * near 2^32 reads far outside the mbuf and crashes vhswd.  libpcap emits
 * such loads for expressions like `ether[ether[0:4]] == 1` (the index is
 * a frame's bytes) or `ether[4294967295] == 1`.  So a filter is accepted
 * only if every load's offset provably stays below 2^32 - 4: one forward
 * pass over the cBPF program (its jumps only go forward) keeps an upper
 * bound of A, X and each scratch word, merged where paths join.  What
 * tcpdump users write (headers at variable offsets: `tcp port 80`,
 * `icmp[icmptype] == ...`, `vlan and ...`) indexes by bounded values.
 */
struct filter_bounds {
	bool reached;
	uint32_t a, x, m[BPF_MEMWORDS];
};

#define BOUND_ANY UINT32_MAX
#define BOUND_LEN 0x40000u /* a frame's length, and more */

static uint32_t
bound_add(uint32_t a, uint32_t b)
{
	return a > BOUND_ANY - b ? BOUND_ANY : a + b;
}

/* All ones from the highest bit of 'v' down: a bound of v | w, v ^ w. */
static uint32_t
bound_smear(uint32_t v)
{
	v |= v >> 1;
	v |= v >> 2;
	v |= v >> 4;
	v |= v >> 8;
	v |= v >> 16;
	return v;
}

static uint32_t
bound_alu(uint32_t a, uint16_t code, uint32_t v)
{
	switch (BPF_OP(code)) {
	case BPF_ADD:
		return bound_add(a, v);
	case BPF_MUL:
		return v != 0 && a > BOUND_ANY / v ? BOUND_ANY : a * v;
	case BPF_DIV:
	case BPF_MOD:
	case BPF_RSH:
		return BPF_OP(code) == BPF_RSH && BPF_SRC(code) == BPF_K &&
				v < 32
			? a >> v
			: a;
	case BPF_AND:
		return RTE_MIN(a, v);
	case BPF_OR:
	case BPF_XOR:
		return bound_smear(RTE_MAX(a, v));
	case BPF_LSH:
		return v >= 32 || a > (BOUND_ANY >> v) ? BOUND_ANY : a << v;
	default: /* BPF_SUB wraps; BPF_NEG */
		return BOUND_ANY;
	}
}

static void
bounds_merge(struct filter_bounds *to, const struct filter_bounds *from)
{
	int i;

	if (!to->reached) {
		*to = *from;
		return;
	}
	to->a = RTE_MAX(to->a, from->a);
	to->x = RTE_MAX(to->x, from->x);
	for (i = 0; i < BPF_MEMWORDS; i++)
		to->m[i] = RTE_MAX(to->m[i], from->m[i]);
}

static uint32_t
load_max(uint16_t code)
{
	return BPF_SIZE(code) == BPF_W    ? BOUND_ANY
		: BPF_SIZE(code) == BPF_H ? 0xffff
					  : 0xff;
}

/* 0, or -1 with the first unsafe instruction's number in *bad. */
static int
filter_check(const struct bpf_program *prog, unsigned int *bad)
{
	unsigned int n = prog->bf_len, i, t[2], k;
	struct filter_bounds *b, s;
	const struct bpf_insn *ins;
	int ret = -1;

	*bad = 0;
	b = calloc(n, sizeof(*b));
	if (b == NULL)
		return -1;
	b[0].reached = true;
	for (i = 0; i < n; i++) {
		if (!b[i].reached)
			continue;
		s = b[i];
		ins = &prog->bf_insns[i];
		t[0] = i + 1;
		t[1] = i + 1;
		switch (BPF_CLASS(ins->code)) {
		case BPF_LD:
		case BPF_LDX:
			if (BPF_MODE(ins->code) == BPF_ABS ||
				BPF_MODE(ins->code) == BPF_MSH) {
				if (ins->k > BOUND_ANY - 4)
					goto out;
			} else if (BPF_MODE(ins->code) == BPF_IND) {
				if (bound_add(s.x, ins->k) > BOUND_ANY - 4)
					goto out;
			} else if (BPF_MODE(ins->code) == BPF_MEM &&
				ins->k >= BPF_MEMWORDS) {
				goto out;
			}
			k = BPF_MODE(ins->code) == BPF_IMM       ? ins->k
				: BPF_MODE(ins->code) == BPF_LEN ? BOUND_LEN
				: BPF_MODE(ins->code) == BPF_MEM ? s.m[ins->k]
				: BPF_MODE(ins->code) == BPF_MSH
				? 60
				: load_max(ins->code);
			if (BPF_CLASS(ins->code) == BPF_LD)
				s.a = k;
			else
				s.x = k;
			break;
		case BPF_ST:
		case BPF_STX:
			if (ins->k >= BPF_MEMWORDS)
				goto out;
			s.m[ins->k] =
				BPF_CLASS(ins->code) == BPF_ST ? s.a : s.x;
			break;
		case BPF_ALU:
			s.a = bound_alu(s.a, ins->code,
				BPF_SRC(ins->code) == BPF_X ? s.x : ins->k);
			break;
		case BPF_JMP:
			if (BPF_OP(ins->code) == BPF_JA) {
				t[0] = t[1] = i + 1 + ins->k;
			} else {
				t[0] = i + 1 + ins->jt;
				t[1] = i + 1 + ins->jf;
			}
			break;
		case BPF_RET:
			continue;
		case BPF_MISC:
			if (BPF_MISCOP(ins->code) == BPF_TAX)
				s.x = s.a;
			else
				s.a = s.x;
			break;
		default:
			goto out;
		}
		if (t[0] >= n || t[1] >= n)
			goto out;
		bounds_merge(&b[t[0]], &s);
		bounds_merge(&b[t[1]], &s);
	}
	ret = 0;
out:
	if (ret != 0)
		*bad = i;
	free(b);
	return ret;
}

int
capture_filter_compile(struct capture *c, const char *expr, uint32_t snaplen,
	char *err, size_t errlen)
{
	struct bpf_program prog;
	struct rte_bpf_prm *prm;
	struct rte_bpf_jit jit;
	unsigned int bad = 0;
	pcap_t *pc;

	pc = pcap_open_dead(DLT_EN10MB, (int)snaplen);
	if (pc == NULL) {
		snprintf(err, errlen, "cannot compile filters: out of memory");
		return -ENOMEM;
	}
	if (pcap_compile(pc, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
		snprintf(err, errlen,
			"bad --filter '%s': %s (see pcap-filter(7))", expr,
			pcap_geterr(pc));
		pcap_close(pc);
		return -EINVAL;
	}
	pcap_close(pc);
	if (prog.bf_len > CAPTURE_MAX_INSNS) {
		snprintf(err, errlen,
			"--filter '%s' compiles to %u instructions; the limit "
			"is %d: simplify it",
			expr, prog.bf_len, CAPTURE_MAX_INSNS);
		pcap_freecode(&prog);
		return -EINVAL;
	}
	if (filter_check(&prog, &bad) != 0) {
		pcap_freecode(&prog);
		snprintf(err, errlen,
			"--filter '%s' is refused: its instruction %u may load "
			"at an offset librte_bpf cannot check (a frame's bytes "
			"used as an offset); write it with fixed offsets",
			expr, bad);
		return -EINVAL;
	}
	prm = rte_bpf_convert(&prog);
	pcap_freecode(&prog);
	if (prm == NULL) {
		snprintf(err, errlen,
			"--filter '%s': librte_bpf cannot convert it: %s", expr,
			rte_strerror(rte_errno));
		return -ENOTSUP;
	}
	filter_fix_indexed_loads(prm);
	c->bpf = rte_bpf_load(prm);
	rte_free(prm);
	if (c->bpf == NULL) {
		snprintf(err, errlen,
			"--filter '%s': librte_bpf refused the program: %s",
			expr, rte_strerror(rte_errno));
		return -ENOTSUP;
	}
	c->jit = NULL;
	if (rte_bpf_get_jit(c->bpf, &jit) == 0 && jit.func != NULL)
		c->jit = jit.func;
	return 0;
}

/* The fd vhswctl sent: the write end of a pipe.  0, or -1 with 'e'. */
static int
take_pipe(struct session *s, struct act_err *e)
{
	struct stat st;
	int fd = rpc_take_fd(), fl;

	if (fd < 0) {
		act_fail(e, CTL_ERR_INVALID_PARAMS,
			"capture needs the write end of a pipe sent with the "
			"request (SCM_RIGHTS); use vhswctl capture ... -w "
			"FILE|-");
		return -1;
	}
	fl = fcntl(fd, F_GETFL);
	if (fstat(fd, &st) != 0 || !S_ISFIFO(st.st_mode) || fl < 0 ||
		(fl & O_ACCMODE) != O_WRONLY) {
		close(fd);
		act_fail(e, CTL_ERR_INVALID_PARAMS,
			"the file descriptor sent with capture is not the "
			"write end of a pipe; vhswd writes captures to a pipe "
			"only (vhswctl capture ... -w FILE|- makes one)");
		return -1;
	}
	if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
		close(fd);
		act_fail(e, CTL_ERR_REFUSED, "cannot use the pipe: %s",
			strerror(errno));
		return -1;
	}
	/* Room for bursts while the reader is scheduled out. */
	(void)fcntl(fd, F_SETPIPE_SZ, CAPTURE_PIPE_SIZE);
	s->fd = fd;
	return 0;
}

/*
 * librte_pcapng sets its clock base (TSC to wall clock, clock_gettime) at
 * its first rte_pcapng_copy: do that here, on the control thread, rather
 * than on the data plane.
 */
static void
pcapng_clock_warm(struct rte_mempool *mp)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp), *mc = NULL;

	if (m != NULL && rte_pktmbuf_append(m, RTE_ETHER_MIN_LEN) != NULL) {
		rte_spinlock_lock(&capture_copy_lock);
		mc = rte_pcapng_copy(0, 0, m, mp, RTE_ETHER_MIN_LEN,
			rte_get_tsc_cycles(), RTE_PCAPNG_DIRECTION_UNKNOWN);
		rte_spinlock_unlock(&capture_copy_lock);
	}
	rte_pktmbuf_free(mc);
	rte_pktmbuf_free(m);
}

/* The session's pool and ring.  0, or -1 with 'e'. */
static int
session_alloc(struct session *s, struct act_err *e)
{
	uint32_t room = RTE_PKTMBUF_HEADROOM + RTE_ALIGN(s->c.copy_len, 4) +
		64; /* rte_pcapng_copy's options and trailer */
	uint32_t elt = (uint32_t)sizeof(struct rte_mbuf) + room + 64;
	uint32_t n = CAPTURE_POOL_BYTES / elt;
	char name[RTE_MEMPOOL_NAMESIZE];

	n = RTE_MAX(RTE_MIN(n, (uint32_t)CAPTURE_RING * 2), 256u) - 1;
	snprintf(name, sizeof(name), "vhsw_cap%u", s->id);
	s->c.mp = rte_pktmbuf_pool_create(
		name, n, 0, 0, (uint16_t)room, SOCKET_ID_ANY);
	snprintf(name, sizeof(name), "vhsw_capr%u", s->id);
	if (s->c.mp != NULL)
		s->c.ring = rte_ring_create(
			name, CAPTURE_RING, SOCKET_ID_ANY, RING_F_SC_DEQ);
	if (s->c.ring != NULL)
		pcapng_clock_warm(s->c.mp);
	if (s->c.ring == NULL) {
		act_fail(e, CTL_ERR_REFUSED,
			"cannot allocate the capture's %u buffers: %s (give "
			"vhswd more --mem, or stop other captures)",
			n, rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

static void
session_discard(struct session *s)
{
	if (s->fd >= 0)
		close(s->fd);
	session_free_dp(s);
	free(s->filter);
	free(s->file);
	free(s);
}

json_t *
act_capture(struct vhsw *sw, json_t *params, struct act_err *e)
{
	const char *name = json_string_value(json_object_get(params, "port"));
	const char *dir =
		json_string_value(json_object_get(params, "direction"));
	const char *filter =
		json_string_value(json_object_get(params, "filter"));
	const char *file = json_string_value(json_object_get(params, "file"));
	json_t *jcount = json_object_get(params, "count");
	json_t *jsnap = json_object_get(params, "snaplen");
	struct capture_set *cs;
	struct port *p;
	struct session *s;
	json_int_t count = 0, snaplen = CAPTURE_MAX_SNAPLEN;
	uint32_t frame_max;
	unsigned int on_port = 0;
	struct session *o;
	int err;

	p = name ? vhsw_port_find(sw, name) : NULL;
	if (p == NULL)
		return act_fail(e, CTL_ERR_REFUSED,
			"no port named %s (vhswctl port list shows them)",
			name ? name : "(none)");
	if (dir != NULL && strcmp(dir, "rx") != 0 && strcmp(dir, "tx") != 0 &&
		strcmp(dir, "both") != 0)
		return act_fail(e, CTL_ERR_INVALID_PARAMS,
			"--direction must be rx, tx or both, not '%s'", dir);
	if (json_is_integer(jcount)) {
		count = json_integer_value(jcount);
		if (count < 1)
			return act_fail(e, CTL_ERR_INVALID_PARAMS,
				"--count must be 1 or more (leave it out to "
				"capture until stopped)");
	}
	if (json_is_integer(jsnap)) {
		snaplen = json_integer_value(jsnap);
		if (snaplen < CAPTURE_MIN_SNAPLEN ||
			snaplen > CAPTURE_MAX_SNAPLEN)
			return act_fail(e, CTL_ERR_INVALID_PARAMS,
				"--snaplen must be %d..%d bytes",
				CAPTURE_MIN_SNAPLEN, CAPTURE_MAX_SNAPLEN);
	}
	if (filter != NULL && strlen(filter) > CAPTURE_MAX_FILTER)
		return act_fail(e, CTL_ERR_INVALID_PARAMS,
			"--filter is %zu bytes long; the limit is %d",
			strlen(filter), CAPTURE_MAX_FILTER);
	cs = set_get(sw);
	if (cs == NULL)
		return act_fail(e, CTL_ERR_REFUSED, "out of memory");
	if (cs->running >= CAPTURE_MAX_SESSIONS)
		return act_fail(e, CTL_ERR_REFUSED,
			"too many captures: %d run already; stop one "
			"(vhswctl capture list, capture stop ID)",
			CAPTURE_MAX_SESSIONS);
	TAILQ_FOREACH (o, &cs->sessions, link)
		on_port += o->port == p && o->state != SESSION_ENDED;
	if (on_port >= MONITOR_MAX_CAPTURES)
		return act_fail(e, CTL_ERR_REFUSED,
			"port %s has %d captures already; stop one "
			"(vhswctl capture list, capture stop ID)",
			p->name, MONITOR_MAX_CAPTURES);

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return act_fail(e, CTL_ERR_REFUSED, "out of memory");
	s->fd = -1;
	s->sw = sw;
	s->id = cs->next_id;
	s->port = p;
	snprintf(s->port_name, sizeof(s->port_name), "%s", p->name);
	snprintf(s->port_type, sizeof(s->port_type), "%s", p->cls->type);
	s->dirs = dir == NULL || strcmp(dir, "both") == 0 ? MONITOR_BOTH
		: strcmp(dir, "rx") == 0                  ? MONITOR_RX
							  : MONITOR_TX;
	s->snaplen = (uint32_t)snaplen;
	s->count = (uint64_t)count;
	/* The largest frame of the port: its MTU, Ethernet, two tags. */
	frame_max = p->mtu + RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN;
	s->c.copy_len = RTE_MIN(s->snaplen, frame_max);
	if ((filter != NULL && (s->filter = strdup(filter)) == NULL) ||
		(file != NULL && (s->file = strdup(file)) == NULL)) {
		session_discard(s);
		return act_fail(e, CTL_ERR_REFUSED, "out of memory");
	}
	if (filter != NULL) {
		err = capture_filter_compile(
			&s->c, filter, s->snaplen, e->msg, e->len);
		if (err != 0) {
			e->code = err == -EINVAL ? CTL_ERR_INVALID_PARAMS
						 : CTL_ERR_REFUSED;
			session_discard(s);
			return NULL;
		}
	}
	if (take_pipe(s, e) != 0 || session_alloc(s, e) != 0) {
		session_discard(s);
		return NULL;
	}
	if (header_build(s) != 0) {
		session_discard(s);
		return act_fail(e, CTL_ERR_INVALID_PARAMS,
			"the filter and port name do not fit in the capture "
			"header");
	}
	ev_async_init(&s->done_ev, done_cb);
	ev_async_start(sw->loop, &s->done_ev);
	err = pthread_create(&s->thread, NULL, writer_main, s);
	if (err != 0) {
		ev_async_stop(sw->loop, &s->done_ev);
		session_discard(s);
		return act_fail(e, CTL_ERR_REFUSED,
			"cannot start the capture's writer thread: %s",
			strerror(err));
	}
	{
		char tname[16];

		snprintf(tname, sizeof(tname), "vhsw-cap%u", s->id);
		pthread_setname_np(s->thread, tname);
	}
	cs->next_id++;
	cs->running++;
	s->started = time(NULL);
	s->state = SESSION_RUNNING;
	s->published = true;
	TAILQ_INSERT_TAIL(&cs->sessions, s, link);
	if (vhsw_port_update_monitor(sw, p) != 0) {
		s->published = false; /* the old monitor stays */
		session_reap(s);      /* stops the writer; the file is empty */
		return act_fail(e, CTL_ERR_REFUSED,
			"cannot attach the capture to port %s: out of memory",
			p->name);
	}
	return session_json(s);
}

json_t *
act_capture_list(struct vhsw *sw, json_t *params, struct act_err *e)
{
	struct capture_set *cs = sw->captures;
	json_t *a = json_array();
	struct session *s;

	if (cs != NULL)
		TAILQ_FOREACH (s, &cs->sessions, link)
			json_array_append_new(a, session_json(s));
	return a;
}

json_t *
act_capture_stop(struct vhsw *sw, json_t *params, struct act_err *e)
{
	json_int_t id = json_integer_value(json_object_get(params, "id"));
	struct capture_set *cs = sw->captures;
	struct session *s = NULL;

	if (cs != NULL)
		TAILQ_FOREACH (s, &cs->sessions, link)
			if ((json_int_t)s->id == id)
				break;
	if (s == NULL)
		return act_fail(e, CTL_ERR_REFUSED,
			"no capture session %lld (vhswctl capture list shows "
			"them)",
			(long long)id);
	if (__atomic_load_n(&s->done, __ATOMIC_ACQUIRE))
		session_reap(s); /* its writer has ended: final counters */
	else
		session_stop(s, REASON_STOPPED);
	return session_json(s);
}
