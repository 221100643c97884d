/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fwd.c - the forwarding core (see fwd.h).
 */
#include <string.h>

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "fdb.h"
#include "fwd.h"
#include "monitor.h"
#include "policy.h"

/* What a destination needs done to a frame before it is sent. */
enum xform {
	XF_NONE,
	XF_PUSH, /* insert an 802.1Q tag */
	XF_POP,  /* remove the 802.1Q tag */
};

#define NO_SRC UINT8_MAX /* a frame whose source is not learned */

struct frame_info {
	uint16_t vlan;
	uint8_t tagged; /* an 802.1Q tag is in the frame data */
};

void
fwd_init(struct fwd_ctx *ctx, struct fdb *fdb, struct rte_mempool *pool)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->fdb = fdb;
	ctx->pool = pool;
	ctx->hz = rte_get_tsc_hz();
}

static inline void
stat_add(const struct fwd_ctx *ctx, struct port *p, enum port_stat_id id,
	uint64_t n)
{
	/* The thread's own block: a plain add, no atomic read-modify-write. */
	p->stats[ctx->thread].c[id] += n;
}

/* Drops a received frame for reason 'why' (also counted in rx_dropped). */
static inline void
rx_drop(const struct fwd_ctx *ctx, struct port *in, struct rte_mbuf *m,
	enum port_stat_id why)
{
	stat_add(ctx, in, why, 1);
	stat_add(ctx, in, PORT_STAT_rx_dropped, 1);
	rte_pktmbuf_free(m);
}

static void
txq_send(struct fwd_ctx *ctx, struct port *out, struct fwd_txq *q)
{
	uint16_t sent = 0, n = q->n, k, i;
	const struct port_monitor *mon;
	uint64_t bytes = 0;
	int tries = 0;

	if (n == 0)
		return;
	q->n = 0;
	if (!port_is_ready(out)) {
		rte_pktmbuf_free_bulk(q->pkts, n);
		stat_add(ctx, out, PORT_STAT_tx_down, n);
		stat_add(ctx, out, PORT_STAT_tx_dropped, n);
		return;
	}
	mon = __atomic_load_n(&out->monitor, __ATOMIC_ACQUIRE);
	if (unlikely(mon != NULL))
		monitor_tx(ctx, mon, out, q->pkts, n);
	for (i = 0; i < n; i++)
		bytes += rte_pktmbuf_pkt_len(q->pkts[i]);
	do {
		k = out->ops->tx_burst(out, q->pkts + sent, n - sent);
		sent += k;
	} while (sent < n && k > 0 && ++tries <= FWD_TX_RETRIES);
	if (sent < n) {
		for (i = sent; i < n; i++)
			bytes -= rte_pktmbuf_pkt_len(q->pkts[i]);
		rte_pktmbuf_free_bulk(q->pkts + sent, n - sent);
		stat_add(ctx, out, PORT_STAT_tx_full, n - sent);
		stat_add(ctx, out, PORT_STAT_tx_dropped, n - sent);
	}
	stat_add(ctx, out, PORT_STAT_tx_packets, sent);
	stat_add(ctx, out, PORT_STAT_tx_bytes, bytes);
}

void
fwd_flush(struct fwd_ctx *ctx)
{
	uint16_t i, id;

	for (i = 0; i < ctx->n_dirty; i++) {
		id = ctx->dirty[i];
		ctx->txq[id].queued = 0;
		txq_send(ctx, ctx->tbl->by_id[id], &ctx->txq[id]);
	}
	ctx->n_dirty = 0;
}

/* L2 header length the frame will have on the wire after 'xf'. */
static inline uint32_t
l3_len(const struct rte_mbuf *m, const struct frame_info *fi, enum xform xf)
{
	uint32_t hdr = RTE_ETHER_HDR_LEN;

	if ((fi->tagged && xf != XF_POP) || xf == XF_PUSH)
		hdr += RTE_VLAN_HLEN;
	return rte_pktmbuf_pkt_len(m) - RTE_MIN(hdr, rte_pktmbuf_pkt_len(m));
}

/* Applies 'xf' to 'm', which the caller owns alone.  0 or -errno. */
static int
apply_xform(struct rte_mbuf **m, const struct frame_info *fi, enum xform xf)
{
	if (xf == XF_PUSH) {
		(*m)->vlan_tci = fi->vlan;
		return rte_vlan_insert(m);
	}
	if (xf == XF_POP)
		return rte_vlan_strip(*m);
	return 0;
}

/* Queues 'm' (a reference the caller gives away) on 'out'. */
static inline void
txq_put(struct fwd_ctx *ctx, struct port *out, struct rte_mbuf *m)
{
	struct fwd_txq *q = &ctx->txq[out->id];

	if (!q->queued) {
		q->queued = 1;
		ctx->dirty[ctx->n_dirty++] = out->id;
	}
	q->pkts[q->n++] = m;
	if (unlikely(q->n == FWD_TXQ_SIZE)) {
		/* Full: send now; the port stays on the dirty list. */
		txq_send(ctx, out, q);
	}
}

void
fwd_mirror_put(struct fwd_ctx *ctx, uint16_t dst, struct rte_mbuf *m)
{
	struct port *out = ctx->tbl->by_id[dst];

	if (unlikely(out == NULL)) {
		rte_pktmbuf_free(m);
		return;
	}
	txq_put(ctx, out, m);
}

static inline enum xform
xform_for(const struct port *out, const struct frame_info *fi)
{
	if (out->vlan != 0)
		return fi->tagged ? XF_POP : XF_NONE;
	if (fi->vlan == 0 || fi->tagged)
		return XF_NONE;
	return XF_PUSH;
}

static inline bool
port_in_vlan(const struct port *p, uint16_t vlan)
{
	return p->vlan == 0 || p->vlan == vlan;
}

static inline bool
port_isolated(const struct port *p)
{
	const struct port_policy *pol =
		__atomic_load_n(&p->policy, __ATOMIC_ACQUIRE);

	return pol != NULL && pol->isolated;
}

/*
 * Why the ingress port's tenant controls drop frame 'm' (source MAC word
 * 'src'), or PORT_STAT_rx_packets if it passes: the policer (when
 * 'meter': the burst did not pass at once), port security (when
 * 'checks'), then storm control of broadcast and multicast.
 */
static inline enum port_stat_id
policy_why(struct fwd_ctx *ctx, struct port_policy *pol, struct rte_mbuf *m,
	const struct rte_ether_hdr *eh, uint64_t src, uint64_t now, bool meter,
	bool checks)
{
	static const enum port_stat_id verdict_stat[] = {
		[POLICY_DROP_SRC_MAC] = PORT_STAT_rx_spoofed_mac,
		[POLICY_DROP_ARP] = PORT_STAT_rx_spoofed_arp,
		[POLICY_DROP_ND] = PORT_STAT_rx_spoofed_nd,
		[POLICY_DROP_DHCP] = PORT_STAT_rx_dhcp_server,
	};
	enum policy_verdict v;
	bool bc;

	if (meter &&
		rte_meter_srtcm_color_blind_check(&pol->dp.meter,
			&pol->meter_profile, now,
			rte_pktmbuf_pkt_len(m)) == RTE_COLOR_RED)
		return PORT_STAT_rx_policed;
	if (checks &&
		(v = policy_check_src(pol, (const uint8_t *)eh,
			 rte_pktmbuf_data_len(m), src)) != POLICY_PASS)
		return verdict_stat[v];
	if (pol->storm_pps == 0 || !rte_is_multicast_ether_addr(&eh->dst_addr))
		return PORT_STAT_rx_packets;
	bc = rte_is_broadcast_ether_addr(&eh->dst_addr);
	if (policy_storm_take(pol, bc ? POLICY_STORM_BCAST : POLICY_STORM_MCAST,
		    now, ctx->hz))
		return PORT_STAT_rx_packets;
	return bc ? PORT_STAT_rx_storm_bcast : PORT_STAT_rx_storm_mcast;
}

/*
 * Sends one reference to 'm' to 'out' after 'xf'.  'shared' says other
 * destinations hold references too, so a change needs a private copy.
 */
static void
output(struct fwd_ctx *ctx, struct port *out, struct rte_mbuf *m,
	const struct frame_info *fi, enum xform xf, bool shared)
{
	struct rte_mbuf *c = m;

	if (unlikely(l3_len(m, fi, xf) > out->mtu)) {
		stat_add(ctx, out, PORT_STAT_tx_oversize, 1);
		stat_add(ctx, out, PORT_STAT_tx_dropped, 1);
		rte_pktmbuf_free(m);
		return;
	}
	if (xf != XF_NONE) {
		if (shared || !RTE_MBUF_DIRECT(m) ||
			rte_mbuf_refcnt_read(m) > 1) {
			c = rte_pktmbuf_copy(m, ctx->pool, 0, UINT32_MAX);
			rte_pktmbuf_free(m); /* our reference to the original */
		}
		if (c == NULL || apply_xform(&c, fi, xf) != 0) {
			rte_pktmbuf_free(c);
			stat_add(ctx, out, PORT_STAT_tx_no_mbuf, 1);
			stat_add(ctx, out, PORT_STAT_tx_dropped, 1);
			return;
		}
	}
	txq_put(ctx, out, c);
}

static void
flood(struct fwd_ctx *ctx, struct port *in, struct rte_mbuf *m,
	const struct frame_info *fi)
{
	const struct port_table *tbl = ctx->tbl;
	const struct port_policy *pol = in->policy;
	bool isolated = pol != NULL && pol->isolated;
	struct port *dst[VHSW_MAX_PORTS];
	uint16_t n = 0, i;
	struct port *p;

	for (i = 0; i < tbl->n; i++) {
		p = tbl->by_id[tbl->ids[i]];
		if (p != in && port_is_ready(p) && port_in_vlan(p, fi->vlan) &&
			!(isolated && port_isolated(p)))
			dst[n++] = p;
	}
	stat_add(ctx, in, PORT_STAT_flooded, 1);
	if (n == 0) {
		rte_pktmbuf_free(m);
		return;
	}
	/* One reference per destination. */
	if (n > 1)
		rte_mbuf_refcnt_update(m, (int16_t)(n - 1));
	for (i = 0; i < n; i++)
		output(ctx, dst[i], m, fi, xform_for(dst[i], fi), n > 1);
}

static inline bool
classify(const struct port *in, struct rte_mbuf *m, struct frame_info *fi)
{
	const struct rte_ether_hdr *eh =
		rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	bool tagged = eh->ether_type == RTE_BE16(RTE_ETHER_TYPE_VLAN);
	bool stripped = (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) &&
		(m->vlan_tci & 0xfff) != 0;

	if (in->vlan != 0) {
		if (tagged || stripped)
			return false;
		fi->vlan = in->vlan;
		fi->tagged = 0;
	} else if (tagged) {
		if (rte_pktmbuf_data_len(m) < RTE_ETHER_HDR_LEN + RTE_VLAN_HLEN)
			return false;
		fi->vlan =
			rte_be_to_cpu_16(((const struct rte_vlan_hdr *)(eh + 1))
						 ->vlan_tci) &
			0xfff;
		fi->tagged = 1;
	} else {
		fi->vlan = stripped ? m->vlan_tci & 0xfff : 0;
		fi->tagged = 0;
	}
	return true;
}

/*
 * A (MAC, VLAN) pair as one word, for cheap equality within a burst.  Built
 * in registers from loads of the frame: assembling a key on the stack and
 * reading it back as a word stalls on store forwarding (perf showed those
 * two loads as 80% of fwd_input's cycles).
 */
static inline uint64_t
key_word(const struct rte_ether_addr *mac, uint16_t vlan)
{
	uint32_t lo;
	uint16_t hi;

	memcpy(&lo, mac->addr_bytes, sizeof(lo));
	memcpy(&hi, mac->addr_bytes + sizeof(lo), sizeof(hi));
	return (uint64_t)lo | (uint64_t)hi << 32 | (uint64_t)vlan << 48;
}

/*
 * Sends each frame of a burst to its destination, or floods it.  'tenant'
 * (a constant at each call, so the loop without tenant controls has none
 * of their checks): apply the ingress port's policy 'pol' and drop the
 * frames of the sources the FDB refused ('refused', by smap).
 */
static __rte_always_inline void
dispatch(struct fwd_ctx *ctx, struct port *in, struct port_policy *pol,
	uint32_t refused, struct rte_mbuf **keep, uint16_t nk,
	const struct frame_info *fi, const struct fdb_key *ukey,
	const uint8_t *dmap, const uint8_t *smap, const uint16_t *uport,
	bool tenant)
{
	struct port *out;
	uint16_t i;

	for (i = 0; i < nk; i++) {
		struct rte_mbuf *m = keep[i];
		uint16_t d = uport[dmap[i]];

		if (tenant && smap[i] != NO_SRC && (refused >> smap[i]) & 1) {
			rx_drop(ctx, in, m, PORT_STAT_rx_mac_limit);
			continue;
		}
		if (rte_is_multicast_ether_addr(&ukey[dmap[i]].mac) ||
			d == VHSW_PORT_NONE ||
			(out = ctx->tbl->by_id[d]) == NULL ||
			!port_in_vlan(out, fi[i].vlan)) {
			if (tenant && pol != NULL && pol->storm_pps != 0 &&
				!rte_is_multicast_ether_addr(
					&ukey[dmap[i]].mac) &&
				!policy_storm_take(pol, POLICY_STORM_UNKNOWN,
					rte_rdtsc(), ctx->hz)) {
				rx_drop(ctx, in, m, PORT_STAT_rx_storm_unknown);
				continue;
			}
			flood(ctx, in, m, &fi[i]);
			continue;
		}
		if (unlikely(out == in)) {
			/* Hairpin: the destination sits behind the ingress. */
			rx_drop(ctx, in, m, PORT_STAT_rx_no_dest);
			continue;
		}
		if (tenant && pol != NULL && pol->isolated &&
			port_isolated(out)) {
			rx_drop(ctx, in, m, PORT_STAT_rx_isolated);
			continue;
		}
		output(ctx, out, m, &fi[i], xform_for(out, &fi[i]), false);
	}
}

#define MAC_BITS ((1ull << 48) - 1) /* the MAC in a key_word() */

/*
 * One burst of at most VHSW_BURST frames.  Learning and lookup are done
 * once per run of equal keys in the burst (frames of one flow arrive
 * together), and for the whole burst in one hash lookup: sources first,
 * then destinations (fdb_input_bulk).  'tenant' (a constant at each call,
 * so that the copy for ports without tenant controls has none of their
 * checks): apply the port's policy 'pol' to each frame before its keys
 * are taken.
 */
static __rte_always_inline void
input(struct fwd_ctx *ctx, struct port *in, struct port_policy *pol,
	struct rte_mbuf **pkts, uint16_t n, bool tenant)
{
	struct fdb_key skey[VHSW_BURST], ukey[VHSW_BURST];
	/* Sources from 0, destinations from VHSW_BURST (moved down after). */
	const struct fdb_key *kp[2 * VHSW_BURST];
	uint32_t kh[2 * VHSW_BURST];
	struct rte_mbuf *keep[VHSW_BURST];
	struct frame_info fi[VHSW_BURST];
	uint16_t uport[VHSW_BURST];
	uint8_t dmap[VHSW_BURST]; /* frame -> its destination key in ukey */
	uint8_t smap[VHSW_BURST]; /* tenant: frame -> source key, or NO_SRC */
	const struct rte_ether_hdr *eh;
	uint16_t i, nk = 0, ns = 0, nu = 0;
	uint64_t bytes = 0, w, ws, last_d = 0, last_s = 0, now = 0;
	bool learnable, checks = false, meter = false;
	enum port_stat_id why;
	uint32_t refused;

	if (tenant) {
		checks = policy_checks_frames(pol);
		now = rte_rdtsc();
		if (pol->rate_mbps != 0) {
			for (i = 0; i < n; i++)
				bytes += rte_pktmbuf_pkt_len(pkts[i]);
			/* Under the rate, the whole burst is green at once. */
			meter = !policy_meter_all(pol, now, bytes);
			bytes = 0;
		}
	}
	for (i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];

		bytes += rte_pktmbuf_pkt_len(m);
		if (unlikely(rte_pktmbuf_data_len(m) < RTE_ETHER_HDR_LEN)) {
			rx_drop(ctx, in, m, PORT_STAT_rx_runts);
			continue;
		}
		if (unlikely(!classify(in, m, &fi[nk]))) {
			rx_drop(ctx, in, m, PORT_STAT_rx_bad_vlan);
			continue;
		}
		eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
		ws = key_word(&eh->src_addr, fi[nk].vlan);
		if (tenant) {
			why = policy_why(ctx, pol, m, eh, ws & MAC_BITS, now,
				meter, checks);
			if (why != PORT_STAT_rx_packets) {
				rx_drop(ctx, in, m, why);
				continue;
			}
		}
		w = key_word(&eh->dst_addr, fi[nk].vlan);
		if (nu == 0 || w != last_d) {
			memcpy(&ukey[nu], &w, sizeof(w));
			kp[VHSW_BURST + nu] = &ukey[nu];
			kh[VHSW_BURST + nu] = fdb_key_hash(w);
			nu++;
			last_d = w;
		}
		dmap[nk] = (uint8_t)(nu - 1);
		learnable = rte_is_unicast_ether_addr(&eh->src_addr) &&
			!rte_is_zero_ether_addr(&eh->src_addr);
		if ((ns == 0 || ws != last_s) && likely(learnable)) {
			memcpy(&skey[ns], &ws, sizeof(ws));
			kp[ns] = &skey[ns];
			kh[ns] = fdb_key_hash(ws);
			ns++;
			last_s = ws;
		}
		if (tenant)
			smap[nk] = learnable ? (uint8_t)(ns - 1) : NO_SRC;
		keep[nk++] = m;
	}
	stat_add(ctx, in, PORT_STAT_rx_packets, n);
	stat_add(ctx, in, PORT_STAT_rx_bytes, bytes);

	/* fdb_input_bulk wants destinations right after the sources. */
	memmove(&kp[ns], &kp[VHSW_BURST], nu * sizeof(kp[0]));
	memmove(&kh[ns], &kh[VHSW_BURST], nu * sizeof(kh[0]));
	refused = fdb_input_bulk(ctx->fdb, in->id, kp, kh, ns, nu, uport);
	/*
	 * Only a port with a policy has learning rules that refuse sources;
	 * in the moment its policy is being removed a refused source is
	 * forwarded unlearned, as it is with no limit.
	 */
	if (!tenant)
		dispatch(ctx, in, NULL, 0, keep, nk, fi, ukey, dmap, smap,
			uport, false);
	else
		dispatch(ctx, in, pol, refused, keep, nk, fi, ukey, dmap, smap,
			uport, true);
}

void
fwd_input(struct fwd_ctx *ctx, struct port *in, struct rte_mbuf **pkts,
	uint16_t n)
{
	struct port_policy *pol;

	while (n > VHSW_BURST) {
		fwd_input(ctx, in, pkts, VHSW_BURST);
		pkts += VHSW_BURST;
		n -= VHSW_BURST;
	}
	pol = __atomic_load_n(&in->policy, __ATOMIC_ACQUIRE);
	if (likely(pol == NULL)) {
		input(ctx, in, NULL, pkts, n, false);
		return;
	}
	/* Another thread may hold a burst of another queue of this port. */
	rte_spinlock_lock(&pol->dp.lock);
	input(ctx, in, pol, pkts, n, true);
	rte_spinlock_unlock(&pol->dp.lock);
}
