/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhsw-pktgen - a small traffic generator for benchmarking vhost-user
 * switches from the client side.
 *
 *   vhsw-pktgen [EAL ARGS] -- [OPTIONS]
 *
 * It drives two DPDK ports (normally two virtio_user vdevs attached to the
 * switch under test) from ONE lcore: it transmits on port 0 (at a given rate
 * or as fast as the port takes frames) and receives on port 1 in the same
 * loop.  Every frame is Ethernet/IPv4/UDP and carries a magic number, a
 * sequence number and the TSC at transmission, so the receiver counts loss,
 * reordering and one-way latency (same core, same TSC).
 *
 * Before the run, port 1 sends a few broadcast frames from its own MAC so a
 * learning switch knows where that MAC lives (the default destination MAC of
 * the traffic).  Frames sent during --warmup are not counted; the
 * measurement window is --duration seconds of transmission, followed by a
 * short drain (--drain) for frames still in flight.
 *
 * Frame sizes follow RFC 2544: --size is the Ethernet frame length on the
 * wire including the 4-byte FCS, so the mbuf carries size - 4 bytes (64 B
 * frames are 60-byte mbufs; 1518 B frames are 1514-byte mbufs, the largest
 * a 1500-byte MTU allows).  Sizes above 1518 need jumbo frames on the path
 * (mergeable RX buffers on the virtio side, a larger port MTU on the switch).
 *
 * --dst-mac may list up to PG_MAX_DST_MACS destinations; frames then cycle
 * through them in order (a broadcast, a multicast and an unknown unicast
 * address make a mixed storm) and the summary counts what port 1 received
 * for each (rx_per_dst).
 *
 * --mesh drives every port instead (any number from 2 to PG_MAX_PORTS): each
 * port owns --mesh-macs source MACs and sends to --mesh-flows (source,
 * destination) pairs of its own, the destinations spread over the MACs of
 * all the other ports, and receives what the others send to it: the
 * any-to-any traffic of a host with many ports and many MACs.  A learning
 * phase first has every port send one broadcast from each of its MACs, in
 * rounds, until every port received every other port's broadcasts of one
 * round (so the switch has seen every MAC and forwards); then the warm-up
 * and the window as above.  Each port's MAC i is 02:76:68:PP:ii:ii (PP the
 * port's index) with IPv4 address 198.18.0.0 + (PP * macs + i), so flows
 * differ in their IP 5-tuple hash as well.  The receiver counts frames per
 * (sender, receiver) pair, reordering within each pair, and frames that
 * reach a port that does not own their destination MAC (a switch that
 * floods); see print_mesh_summary().
 *
 * Output: one JSON object on one line on stdout (see print_summary()).
 * Progress and errors go to stderr.  Exit status: 0 done (even if nothing
 * was received: look at rx_packets), 1 runtime failure (ports do not come
 * up, out of memory), 2 bad arguments (application or EAL).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#define PROG "vhsw-pktgen"
#define PG_MAGIC 0x76687367u       /* "vhsg" */
#define PG_MAGIC_REF 0x76687372u   /* "vhsr": a reference-phase frame */
#define PG_LEARN_MAGIC 0x76686c6eu /* "vhln": learning frames, not counted */
#define PG_PROBE_MAGIC 0x76687072u /* "vhpr": path probes, not counted */
#define PG_WARM_MAGIC 0x76687777u  /* "vhww": mesh warm-up, not counted */
#define PG_MAX_BURST 64
#define PG_NB_MBUFS 8191
#define PG_MBUF_CACHE 256
#define PG_RING 1024
#define PG_FCS 4
#define PG_MIN_SIZE 64
#define PG_MAX_SIZE 9600
#define PG_MAX_SRC_MACS (1u << 24)
#define PG_MAX_DST_MACS 8
#define PG_LINK_TIMEOUT_S 10
#define PG_MAX_PORTS 16
#define PG_MESH_MAX_MACS 8192
#define PG_MESH_MAX_FLOWS (1u << 18)
#define PG_MAX_SAMPLES 3600
#define PG_MESH_OUI0 0x02 /* 02:76:68:PP:ii:ii, locally administered */
#define PG_MESH_OUI1 0x76
#define PG_MESH_OUI2 0x68

/* Latency histogram: log-linear buckets of TSC cycles, 64 per power of two
 * (< 1.6 % relative error).  Values < 64 cycles have exact buckets. */
#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS ((64 - HIST_SUB_BITS + 1) * HIST_SUB)

struct pg_payload {
	uint32_t magic;
	uint32_t seq;
	uint64_t tsc;
} __rte_packed;

#define PG_HDR_LEN                                                    \
	(sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) + \
		sizeof(struct rte_udp_hdr))
_Static_assert(PG_HDR_LEN + sizeof(struct pg_payload) <= PG_MIN_SIZE - PG_FCS,
	"the payload must fit a 64-byte frame");

struct pg_opts {
	double rate_mpps; /* 0: as fast as possible */
	double duration_s;
	double warmup_s;
	double drain_s;
	uint32_t size; /* frame size incl. FCS */
	uint32_t src_macs;
	double alt_ms; /* alternate N-MAC and 1-MAC phases; 0: don't */
	uint16_t burst;
	double wait_path_s; /* wait until a frame gets through; 0: don't */
	bool dst_set;
	bool learn;
	struct rte_ether_addr dst_mac; /* dst_macs[0] */
	struct rte_ether_addr dst_macs[PG_MAX_DST_MACS];
	uint32_t n_dst; /* 1 unless --dst-mac gave a list */
	struct rte_ether_addr src_base;
	struct rte_ether_addr ref_mac; /* 1-MAC phases: port 0's MAC */
	bool mesh;                     /* every port sends to every other */
	uint32_t mesh_macs;            /* source MACs per port */
	uint32_t mesh_flows; /* (source, destination) pairs per port */
};

static volatile sig_atomic_t pg_stop;

static uint64_t hist[HIST_BUCKETS];

static void
on_signal(int sig)
{
	(void)sig;
	pg_stop = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: " PROG " [EAL ARGS] -- [OPTIONS]\n"
		"\n"
		"Transmits on port 0 and receives on port 1 (two DPDK ports, "
		"e.g.\n"
		"--vdev virtio_user0,path=SOCK0 --vdev "
		"virtio_user1,path=SOCK1) on one\n"
		"lcore, and prints one JSON line: offered_mpps, rx_mpps, "
		"loss,\n"
		"reordered, lat_p50_us, lat_p99_us, lat_p999_us, ...\n"
		"\n"
		"  --rate-mpps R    offered rate in Mpps; 0 = as fast as port "
		"0 takes\n"
		"                   frames (default 0)\n"
		"  --duration S     measurement window in seconds (default 5)\n"
		"  --warmup S       traffic before the window, not counted "
		"(default 1)\n"
		"  --drain S        wait for frames in flight after the window "
		"(default 0.2)\n"
		"  --size B         frame size incl. 4-byte FCS, %d..%d "
		"(default 64)\n"
		"  --src-macs N     vary the source MAC over N addresses, "
		"1..%u\n"
		"                   (default 1)\n"
		"  --alternate-ms P with --src-macs N > 1: alternate every P "
		"ms between\n"
		"                   N source MACs and port 0's own MAC, and "
		"report\n"
		"                   the rate of each (scaled_rx_mpps, "
		"ref_rx_mpps):\n"
		"                   a ratio both sides of which saw the same "
		"machine\n"
		"  --src-mac MAC    first source MAC (default "
		"02:00:00:00:00:00 + N)\n"
		"  --dst-mac MAC[,MAC...]\n"
		"                   destination MAC (default: port 1's MAC); "
		"with up to %d,\n"
		"                   frames cycle through them and rx_per_dst "
		"counts\n"
		"                   what port 1 received for each\n"
		"  --burst N        TX/RX burst size, 1..%d (default 32)\n"
		"  --no-learn       do not send learning frames from port 1 "
		"first\n"
		"  --wait-path S    before the run, send a probe frame every "
		"10 ms until\n"
		"                   one arrives on port 1; fail after S s "
		"(default 10;\n"
		"                   0 = do not wait)\n"
		"  --mesh           every port sends to all the others and "
		"receives (2..%d\n"
		"                   ports): any-to-any traffic over many MAC "
		"pairs\n"
		"  --mesh-macs K    source MACs each port owns, 1..%d "
		"(default 256)\n"
		"  --mesh-flows F   (source, destination) pairs each port "
		"sends to,\n"
		"                   1..%u and at most K * K * (ports - 1) "
		"(default 4096)\n"
		"  --help           this text\n"
		"\n"
		"Exit status: 0 done, 1 runtime failure, 2 bad arguments.\n",
		PG_MIN_SIZE, PG_MAX_SIZE, PG_MAX_SRC_MACS, PG_MAX_DST_MACS,
		PG_MAX_BURST, PG_MAX_PORTS, PG_MESH_MAX_MACS,
		PG_MESH_MAX_FLOWS);
}

static void __rte_noreturn
bad_arg(const char *fmt, const char *opt, const char *val)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, opt, val);
	fprintf(stderr, " (try '" PROG " -- --help')\n");
	exit(2);
}

static void __rte_noreturn
bad_range(const char *opt, const char *val, double lo, double hi)
{
	char range[128];

	snprintf(
		range, sizeof(range), "%s (allowed %.15g..%.15g)", val, lo, hi);
	bad_arg("%s: %s out of range", opt, range);
}

static double
parse_double(const char *opt, const char *s, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (*s == '\0' || *end != '\0' || errno != 0 || !isfinite(v))
		bad_arg("%s: '%s' is not a number", opt, s);
	if (v < lo || v > hi)
		bad_range(opt, s, lo, hi);
	return v;
}

static uint32_t
parse_uint(const char *opt, const char *s, uint32_t lo, uint32_t hi)
{
	unsigned long long v;
	char *end;

	errno = 0;
	if (*s == '\0' || *s == '-' || *s == '+')
		bad_arg("%s: '%s' is not a positive integer", opt, s);
	v = strtoull(s, &end, 10);
	/* Accept k/M suffixes (1k = 1000, 1M = 1000000) for --src-macs. */
	if (*end == 'k' && end[1] == '\0') {
		v *= 1000;
		end++;
	} else if (*end == 'M' && end[1] == '\0') {
		v *= 1000000;
		end++;
	}
	if (*end != '\0' || errno != 0)
		bad_arg("%s: '%s' is not a positive integer", opt, s);
	if (v < lo || v > hi)
		bad_range(opt, s, lo, hi);
	return (uint32_t)v;
}

static void
parse_mac(const char *opt, const char *s, struct rte_ether_addr *mac)
{
	if (strlen(s) != 17 || rte_ether_unformat_addr(s, mac) != 0)
		bad_arg("%s: '%s' is not a MAC address (xx:xx:xx:xx:xx:xx)",
			opt, s);
}

/* "MAC[,MAC...]" into o->dst_macs. */
static void
parse_dst_macs(const char *opt, const char *s, struct pg_opts *o)
{
	char buf[PG_MAX_DST_MACS * 18], *tok, *save;

	if (strlen(s) >= sizeof(buf))
		bad_arg("%s: '%s' is too long (at most " RTE_STR(
				PG_MAX_DST_MACS) " MACs)",
			opt, s);
	snprintf(buf, sizeof(buf), "%s", s);
	o->n_dst = 0;
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
		tok = strtok_r(NULL, ",", &save)) {
		if (o->n_dst == PG_MAX_DST_MACS)
			bad_arg("%s: '%s': at most " RTE_STR(
					PG_MAX_DST_MACS) " MACs",
				opt, s);
		parse_mac(opt, tok, &o->dst_macs[o->n_dst++]);
	}
	if (o->n_dst == 0)
		bad_arg("%s: '%s' names no MAC", opt, s);
	o->dst_mac = o->dst_macs[0];
}

enum {
	OPT_RATE = 256,
	OPT_DURATION,
	OPT_WARMUP,
	OPT_DRAIN,
	OPT_SIZE,
	OPT_SRC_MACS,
	OPT_ALTERNATE,
	OPT_SRC_MAC,
	OPT_DST_MAC,
	OPT_BURST,
	OPT_NO_LEARN,
	OPT_WAIT_PATH,
	OPT_MESH,
	OPT_MESH_MACS,
	OPT_MESH_FLOWS,
	OPT_HELP,
};

static void
parse_app_args(int argc, char **argv, struct pg_opts *o)
{
	static const struct option longopts[] = {
		{"rate-mpps", required_argument, NULL, OPT_RATE},
		{"duration", required_argument, NULL, OPT_DURATION},
		{"warmup", required_argument, NULL, OPT_WARMUP},
		{"drain", required_argument, NULL, OPT_DRAIN},
		{"size", required_argument, NULL, OPT_SIZE},
		{"src-macs", required_argument, NULL, OPT_SRC_MACS},
		{"alternate-ms", required_argument, NULL, OPT_ALTERNATE},
		{"src-mac", required_argument, NULL, OPT_SRC_MAC},
		{"dst-mac", required_argument, NULL, OPT_DST_MAC},
		{"burst", required_argument, NULL, OPT_BURST},
		{"no-learn", no_argument, NULL, OPT_NO_LEARN},
		{"wait-path", required_argument, NULL, OPT_WAIT_PATH},
		{"mesh", no_argument, NULL, OPT_MESH},
		{"mesh-macs", required_argument, NULL, OPT_MESH_MACS},
		{"mesh-flows", required_argument, NULL, OPT_MESH_FLOWS},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0},
	};
	int c, idx;

	*o = (struct pg_opts){
		.duration_s = 5,
		.warmup_s = 1,
		.drain_s = 0.2,
		.size = 64,
		.src_macs = 1,
		.burst = 32,
		.learn = true,
		.wait_path_s = 10,
		.n_dst = 1,
		.src_base = {{0x02, 0, 0, 0, 0, 0}},
		.mesh_macs = 256,
		.mesh_flows = 4096,
	};
	optind = 1;
	opterr = 0;
	while ((idx = -1, c = getopt_long(argc, argv, ":", longopts, &idx)) !=
		-1) {
		char name[32];

		snprintf(name, sizeof(name), "--%s",
			idx >= 0 ? longopts[idx].name : "?");

		switch (c) {
		case OPT_RATE:
			o->rate_mpps = parse_double(name, optarg, 0, 1000);
			break;
		case OPT_DURATION:
			o->duration_s =
				parse_double(name, optarg, 0.001, 86400);
			break;
		case OPT_WARMUP:
			o->warmup_s = parse_double(name, optarg, 0, 3600);
			break;
		case OPT_DRAIN:
			o->drain_s = parse_double(name, optarg, 0, 60);
			break;
		case OPT_SIZE:
			o->size = parse_uint(
				name, optarg, PG_MIN_SIZE, PG_MAX_SIZE);
			break;
		case OPT_SRC_MACS:
			o->src_macs =
				parse_uint(name, optarg, 1, PG_MAX_SRC_MACS);
			break;
		case OPT_ALTERNATE:
			o->alt_ms = parse_double(name, optarg, 1, 10000);
			break;
		case OPT_SRC_MAC:
			parse_mac(name, optarg, &o->src_base);
			if (!rte_is_unicast_ether_addr(&o->src_base))
				bad_arg("%s: '%s' is not a unicast MAC", name,
					optarg);
			break;
		case OPT_DST_MAC:
			parse_dst_macs(name, optarg, o);
			o->dst_set = true;
			break;
		case OPT_BURST:
			o->burst = (uint16_t)parse_uint(
				name, optarg, 1, PG_MAX_BURST);
			break;
		case OPT_NO_LEARN:
			o->learn = false;
			break;
		case OPT_WAIT_PATH:
			o->wait_path_s = parse_double(name, optarg, 0, 3600);
			break;
		case OPT_MESH:
			o->mesh = true;
			break;
		case OPT_MESH_MACS:
			o->mesh_macs =
				parse_uint(name, optarg, 1, PG_MESH_MAX_MACS);
			break;
		case OPT_MESH_FLOWS:
			o->mesh_flows =
				parse_uint(name, optarg, 1, PG_MESH_MAX_FLOWS);
			break;
		case OPT_HELP:
			usage(stdout);
			exit(0);
		case ':':
			bad_arg("%s%s: missing value", argv[optind - 1], "");
			break;
		default:
			bad_arg("unknown option '%s'%s",
				optind > 1 && optind <= argc ? argv[optind - 1]
							     : "?",
				"");
		}
	}
	if (optind < argc)
		bad_arg("unexpected argument '%s'%s", argv[optind], "");
	if (o->alt_ms > 0 && o->src_macs < 2)
		bad_arg("--alternate-ms needs --src-macs N > 1%s%s", "", "");
	if (o->alt_ms > 0 && o->n_dst > 1)
		bad_arg("--alternate-ms takes one --dst-mac%s%s", "", "");
	if (o->mesh &&
		(o->rate_mpps > 0 || o->alt_ms > 0 || o->dst_set ||
			o->src_macs > 1 || !o->learn))
		bad_arg("--mesh sends at full rate from its own MACs after "
			"its learning phase: no --rate-mpps, --alternate-ms, "
			"--dst-mac, --src-macs or --no-learn%s%s",
			"", "");
}

/* --- latency histogram -------------------------------------------------- */

static inline unsigned int
hist_index(uint64_t v)
{
	unsigned int b;

	if (v < HIST_SUB)
		return (unsigned int)v;
	b = 63u - (unsigned int)__builtin_clzll(v); /* >= HIST_SUB_BITS */
	return (b - HIST_SUB_BITS + 1) * HIST_SUB +
		(unsigned int)((v >> (b - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* Records one frame's latency 'lat' (cycles): histogram, sum, extremes. */
static inline void
hist_add(uint64_t lat, double *sum, uint64_t *min, uint64_t *max)
{
	hist[hist_index(lat)]++;
	*sum += (double)lat;
	if (lat < *min)
		*min = lat;
	if (lat > *max)
		*max = lat;
}

/* Midpoint (cycles) of bucket 'i'. */
static double
hist_value(unsigned int i)
{
	unsigned int blk = i / HIST_SUB, sub = i % HIST_SUB, b;
	double lo, width;

	if (blk == 0)
		return i;
	b = blk + HIST_SUB_BITS - 1;
	width = ldexp(1.0, (int)(b - HIST_SUB_BITS));
	lo = ldexp(1.0, (int)b) + sub * width;
	return lo + width / 2;
}

/* Value (cycles) at quantile q (0..1) of 'n' samples. */
static double
hist_quantile(uint64_t n, double q)
{
	uint64_t want = (uint64_t)ceil(q * (double)n), acc = 0;
	unsigned int i;

	if (want == 0)
		want = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		acc += hist[i];
		if (acc >= want)
			return hist_value(i);
	}
	return 0;
}

/* --- ports -------------------------------------------------------------- */

static int
port_setup(uint16_t port, struct rte_mempool *mp, uint32_t size)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint32_t mtu = size - PG_FCS - RTE_ETHER_HDR_LEN;
	int ret;

	memset(&conf, 0, sizeof(conf));
	ret = rte_eth_dev_info_get(port, &info);
	if (ret != 0)
		return ret;
	if (mtu > RTE_ETHER_MTU) {
		if (mtu > info.max_mtu) {
			fprintf(stderr,
				PROG
				": port %u: frames of %u bytes need MTU %u, "
				"the port allows %u\n",
				port, size, mtu, info.max_mtu);
			return -EINVAL;
		}
		conf.rxmode.mtu = mtu;
		if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)
			conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
		if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
			conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	}
	ret = rte_eth_dev_configure(port, 1, 1, &conf);
	if (ret != 0)
		return ret;
	ret = rte_eth_rx_queue_setup(
		port, 0, PG_RING, rte_eth_dev_socket_id(port), NULL, mp);
	if (ret != 0)
		return ret;
	ret = rte_eth_tx_queue_setup(
		port, 0, PG_RING, rte_eth_dev_socket_id(port), NULL);
	if (ret != 0)
		return ret;
	return rte_eth_dev_start(port);
}

static bool
links_up(uint16_t p0, uint16_t p1)
{
	struct rte_eth_link l0, l1;

	if (rte_eth_link_get_nowait(p0, &l0) != 0 ||
		rte_eth_link_get_nowait(p1, &l1) != 0)
		return false;
	return l0.link_status == RTE_ETH_LINK_UP &&
		l1.link_status == RTE_ETH_LINK_UP;
}

/* --- frames ------------------------------------------------------------- */

struct pg_template {
	uint8_t hdr[PG_HDR_LEN];
	uint32_t len; /* mbuf length: size - FCS */
};

static void
build_template(struct pg_template *t, const struct rte_ether_addr *src,
	const struct rte_ether_addr *dst, uint32_t size)
{
	struct rte_ether_hdr *eh = (struct rte_ether_hdr *)t->hdr;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eh + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	uint32_t len = size - PG_FCS;

	memset(t, 0, sizeof(*t));
	t->len = len;
	eh->dst_addr = *dst;
	eh->src_addr = *src;
	eh->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16(
		(uint16_t)(len - sizeof(struct rte_ether_hdr)));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = rte_cpu_to_be_32(RTE_IPV4(198, 18, 0, 1));
	ip->dst_addr = rte_cpu_to_be_32(RTE_IPV4(198, 19, 0, 1));
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(1024);
	udp->dst_port = rte_cpu_to_be_16(1025);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(len -
		sizeof(struct rte_ether_hdr) - sizeof(struct rte_ipv4_hdr)));
}

static inline void
fill(struct rte_mbuf *m, const struct pg_template *t,
	const struct rte_ether_addr *src, uint32_t magic, uint32_t seq,
	uint64_t tsc)
{
	uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);
	struct pg_payload *pl = (struct pg_payload *)(d + PG_HDR_LEN);

	memcpy(d, t->hdr, PG_HDR_LEN);
	if (src != NULL)
		memcpy(d + RTE_ETHER_ADDR_LEN, src, RTE_ETHER_ADDR_LEN);
	pl->magic = magic;
	pl->seq = seq;
	pl->tsc = tsc;
	m->data_len = (uint16_t)t->len;
	m->pkt_len = t->len;
}

/* i-th source MAC: the base plus i in the low 3 bytes. */
static inline void
src_mac(const struct rte_ether_addr *base, uint32_t i,
	struct rte_ether_addr *out)
{
	uint32_t low = ((uint32_t)base->addr_bytes[3] << 16 |
			       (uint32_t)base->addr_bytes[4] << 8 |
			       base->addr_bytes[5]) +
		i;

	*out = *base;
	out->addr_bytes[3] = (uint8_t)(low >> 16);
	out->addr_bytes[4] = (uint8_t)(low >> 8);
	out->addr_bytes[5] = (uint8_t)low;
	if (low >> 24) /* carry into byte 2 */
		out->addr_bytes[2] = (uint8_t)(out->addr_bytes[2] + 1);
}

/* --- the run ------------------------------------------------------------ */

/* Which of o->dst_macs frame 'm' was sent to (0 if none matches). */
static inline uint32_t
dst_index(const struct pg_opts *o, const struct rte_mbuf *m)
{
	const struct rte_ether_hdr *eh =
		rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	uint32_t i;

	for (i = 0; i < o->n_dst; i++)
		if (rte_is_same_ether_addr(&eh->dst_addr, &o->dst_macs[i]))
			return i;
	return 0;
}

struct pg_result {
	uint64_t tx; /* frames sent in the window */
	uint64_t rx; /* of those, received */
	uint64_t reordered;
	uint64_t tx_refused; /* frames port 0 did not take (max rate) */
	uint64_t rx_other;   /* frames on port 1 not from the window */
	uint64_t lat_min, lat_max;
	uint64_t max_gap; /* longest loop iteration: this process was
			   * preempted (a busy neighbour) if large */
	double lat_sum;
	double window_s;
	uint64_t rx_ref; /* of rx, frames sent in 1-MAC phases */
	uint64_t rx_dst[PG_MAX_DST_MACS]; /* of rx, by destination */
	uint64_t phase_tsc[2]; /* window time in N-MAC [0], 1-MAC [1] */
};

static void
send_learning_frames(uint16_t port, struct rte_mempool *mp,
	const struct rte_ether_addr *mac, uint32_t size)
{
	struct rte_ether_addr bcast = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	struct rte_mbuf *m[4];
	struct pg_template t;
	uint16_t i, sent;

	build_template(&t, mac, &bcast, size);
	if (rte_pktmbuf_alloc_bulk(mp, m, RTE_DIM(m)) != 0)
		return;
	for (i = 0; i < RTE_DIM(m); i++)
		fill(m[i], &t, NULL, PG_LEARN_MAGIC, i, 0);
	sent = rte_eth_tx_burst(port, 0, m, RTE_DIM(m));
	if (sent < RTE_DIM(m))
		rte_pktmbuf_free_bulk(m + sent, RTE_DIM(m) - sent);
}

static void
drain_port(uint16_t port, uint16_t burst)
{
	struct rte_mbuf *m[PG_MAX_BURST];
	uint16_t n;

	n = rte_eth_rx_burst(port, 0, m, burst);
	if (n)
		rte_pktmbuf_free_bulk(m, n);
}

/*
 * Sends a probe frame (port txp -> the destination MAC) every 10 ms until
 * one arrives on rxp, or 'timeout_s' passes.  Returns the seconds it took,
 * or -1.  A switch can accept a connection well before it forwards (ports
 * still being set up), which would otherwise count as loss.
 */
static double
wait_path(uint16_t txp, uint16_t rxp, struct rte_mempool *mp,
	const struct pg_template *t, double timeout_s)
{
	const uint64_t hz = rte_get_tsc_hz();
	uint64_t t0 = rte_rdtsc(), next = t0, now;
	struct rte_mbuf *m[PG_MAX_BURST];
	uint32_t probe = 0;
	uint16_t n, i;

	for (;;) {
		now = rte_rdtsc();
		if (pg_stop || now - t0 > (uint64_t)(timeout_s * (double)hz))
			return -1;
		if (now >= next) {
			next = now + hz / 100;
			if (rte_pktmbuf_alloc_bulk(mp, m, 1) == 0) {
				fill(m[0], t, NULL, PG_PROBE_MAGIC, probe++,
					now);
				if (rte_eth_tx_burst(txp, 0, m, 1) == 0)
					rte_pktmbuf_free(m[0]);
			}
		}
		drain_port(txp, PG_MAX_BURST);
		n = rte_eth_rx_burst(rxp, 0, m, PG_MAX_BURST);
		for (i = 0; i < n; i++) {
			const struct pg_payload *pl;

			if (rte_pktmbuf_data_len(m[i]) <
				PG_HDR_LEN + sizeof(*pl))
				continue;
			pl = rte_pktmbuf_mtod_offset(
				m[i], const struct pg_payload *, PG_HDR_LEN);
			if (pl->magic == PG_PROBE_MAGIC) {
				rte_pktmbuf_free_bulk(m, n);
				return (double)(rte_rdtsc() - t0) / (double)hz;
			}
		}
		if (n)
			rte_pktmbuf_free_bulk(m, n);
	}
}

static void
run(const struct pg_opts *o, uint16_t txp, uint16_t rxp, struct rte_mempool *mp,
	const struct pg_template *t, struct pg_result *r)
{
	const uint64_t hz = rte_get_tsc_hz();
	const double pps = o->rate_mpps * 1e6;
	struct rte_mbuf *txm[PG_MAX_BURST], *rxm[PG_MAX_BURST];
	struct rte_ether_addr src;
	uint64_t t_start, t_window, t_end, t_drain_end = 0, now;
	uint64_t t_win_start = 0, t_last;
	uint64_t sent_total = 0, due;
	uint32_t seq = 0, seq0 = 0, max_seq = 0, mac_i = 0, dst_i = 0;
	bool in_window = false, tx_done = false, any_rx = false;
	const bool alt = o->alt_ms > 0;
	const uint64_t alt_tsc = (uint64_t)(o->alt_ms * (double)hz / 1e3);
	uint64_t t_phase = 0;
	int ref = 0; /* in a 1-MAC phase */
	uint16_t n, k, i;

	memset(r, 0, sizeof(*r));
	r->lat_min = UINT64_MAX;
	t_start = rte_rdtsc();
	t_window = t_start + (uint64_t)(o->warmup_s * (double)hz);
	t_end = t_window + (uint64_t)(o->duration_s * (double)hz);
	t_last = t_phase = t_start;

	for (;;) {
		now = rte_rdtsc();
		if (pg_stop && !tx_done && now < t_end)
			t_end = now; /* SIGINT/SIGTERM: report what we have */
		if (now - t_last > r->max_gap)
			r->max_gap = now - t_last;
		if (in_window && !tx_done)
			r->phase_tsc[ref] += now - t_last;
		t_last = now;
		if (alt && now - t_phase >= alt_tsc) {
			ref = !ref;
			t_phase = now;
		}
		if (!in_window && !tx_done && now >= t_window) {
			in_window = true;
			seq0 = seq;
			t_win_start = now;
		}
		if (!tx_done && now >= t_end) {
			tx_done = true;
			if (in_window)
				r->window_s = (double)(now - t_win_start) /
					(double)hz;
			else /* stopped during warm-up */
				seq0 = seq;
			t_drain_end = now + (uint64_t)(o->drain_s * (double)hz);
		}
		if (tx_done && now >= t_drain_end)
			break;

		if (!tx_done) {
			n = o->burst;
			if (pps > 0) {
				due = (uint64_t)((double)(now - t_start) * pps /
					(double)hz);
				due = due > sent_total ? due - sent_total : 0;
				n = (uint16_t)RTE_MIN(due, (uint64_t)o->burst);
			}
			if (n > 0 && rte_pktmbuf_alloc_bulk(mp, txm, n) == 0) {
				for (i = 0; i < n; i++) {
					const struct rte_ether_addr *s = NULL;

					if (ref) {
						fill(txm[i], t, &o->ref_mac,
							PG_MAGIC_REF, seq + i,
							now);
						continue;
					}
					if (o->src_macs > 1) {
						src_mac(&o->src_base, mac_i,
							&src);
						s = &src;
						if (++mac_i == o->src_macs)
							mac_i = 0;
					}
					fill(txm[i], t, s, PG_MAGIC, seq + i,
						now);
					if (o->n_dst > 1) {
						memcpy(rte_pktmbuf_mtod(
							       txm[i], void *),
							&o->dst_macs[dst_i],
							RTE_ETHER_ADDR_LEN);
						if (++dst_i == o->n_dst)
							dst_i = 0;
					}
				}
				k = rte_eth_tx_burst(txp, 0, txm, n);
				if (k < n) {
					rte_pktmbuf_free_bulk(txm + k, n - k);
					/* Those MACs come again next time. */
					if (o->src_macs > 1 && !ref)
						mac_i = (uint32_t)(((uint64_t)mac_i +
									   o->src_macs -
									   (n - k)) %
							o->src_macs);
					/* The same for the destinations. */
					if (o->n_dst > 1 && !ref)
						dst_i = (uint32_t)(((uint64_t)dst_i +
									   (uint64_t)o->n_dst *
										   PG_MAX_BURST -
									   (n - k)) %
							o->n_dst);
					if (in_window)
						r->tx_refused += n - k;
				}
				seq += k;
				sent_total += k;
				if (in_window)
					r->tx += k;
			}
		}

		n = rte_eth_rx_burst(rxp, 0, rxm, o->burst);
		if (n > 0) {
			now = rte_rdtsc();
			for (i = 0; i < n; i++) {
				const struct pg_payload *pl;

				if (rte_pktmbuf_data_len(rxm[i]) <
					PG_HDR_LEN + sizeof(*pl)) {
					r->rx_other++;
					continue;
				}
				pl = rte_pktmbuf_mtod_offset(rxm[i],
					const struct pg_payload *, PG_HDR_LEN);
				if ((pl->magic != PG_MAGIC &&
					    pl->magic != PG_MAGIC_REF) ||
					!in_window ||
					(int32_t)(pl->seq - seq0) < 0) {
					r->rx_other++;
					continue;
				}
				r->rx++;
				if (pl->magic == PG_MAGIC_REF)
					r->rx_ref++;
				if (o->n_dst > 1)
					r->rx_dst[dst_index(o, rxm[i])]++;
				if (any_rx &&
					(int32_t)(pl->seq - max_seq) < 0) {
					r->reordered++;
				} else {
					max_seq = pl->seq;
					any_rx = true;
				}
				hist_add(now - pl->tsc, &r->lat_sum,
					&r->lat_min, &r->lat_max);
			}
			rte_pktmbuf_free_bulk(rxm, n);
		}
		/* Anything coming back on the TX port (flooded learning
		 * frames, a switch flooding unknown unicast): discard. */
		drain_port(txp, o->burst);
	}
}

/*
 * The latency fields that end a summary line (and the line): from the
 * histogram of 'rx' frames, or nulls without any.  'us' = microseconds per
 * TSC cycle.
 */
static void
print_latency(uint64_t rx, uint64_t lat_min, uint64_t lat_max, double lat_sum,
	double us)
{
	if (rx > 0)
		printf(",\"lat_min_us\":%.3f,\"lat_mean_us\":%.3f,"
		       "\"lat_p50_us\":%.3f,\"lat_p99_us\":%.3f,"
		       "\"lat_p999_us\":%.3f,\"lat_max_us\":%.3f}\n",
			(double)lat_min * us, lat_sum / (double)rx * us,
			hist_quantile(rx, 0.50) * us,
			hist_quantile(rx, 0.99) * us,
			hist_quantile(rx, 0.999) * us, (double)lat_max * us);
	else
		printf(",\"lat_min_us\":null,\"lat_mean_us\":null,"
		       "\"lat_p50_us\":null,\"lat_p99_us\":null,"
		       "\"lat_p999_us\":null,\"lat_max_us\":null}\n");
	fflush(stdout);
}

static void
print_summary(const struct pg_opts *o, const struct pg_result *r)
{
	const double us = 1e6 / (double)rte_get_tsc_hz();
	const double w = r->window_s > 0 ? r->window_s : 1;
	uint64_t loss = r->tx >= r->rx ? r->tx - r->rx : 0;
	char dst[RTE_ETHER_ADDR_FMT_SIZE];

	rte_ether_format_addr(dst, sizeof(dst), &o->dst_mac);
	printf("{\"tool\":\"" PROG "\",\"size\":%u,\"src_macs\":%u,"
	       "\"dst_mac\":\"%s\",\"rate_mpps_target\":%.6f,"
	       "\"duration_s\":%.3f,\"tx_packets\":%" PRIu64
	       ",\"rx_packets\":%" PRIu64 ",\"offered_mpps\":%.4f,"
	       "\"rx_mpps\":%.4f,\"loss\":%" PRIu64 ",\"loss_ratio\":%.6f,"
	       "\"reordered\":%" PRIu64 ",\"tx_refused\":%" PRIu64
	       ",\"rx_other\":%" PRIu64 ",\"max_loop_gap_us\":%.1f",
		o->size, o->src_macs, dst, o->rate_mpps, r->window_s, r->tx,
		r->rx, (double)r->tx / w / 1e6, (double)r->rx / w / 1e6, loss,
		r->tx ? (double)loss / (double)r->tx : 0.0, r->reordered,
		r->tx_refused, r->rx_other, (double)r->max_gap * us);
	if (o->alt_ms > 0) {
		double ts = (double)r->phase_tsc[0] / (double)rte_get_tsc_hz();
		double tr = (double)r->phase_tsc[1] / (double)rte_get_tsc_hz();
		double ms = ts > 0 ? (double)(r->rx - r->rx_ref) / ts / 1e6 : 0;
		double mr = tr > 0 ? (double)r->rx_ref / tr / 1e6 : 0;

		printf(",\"alternate_ms\":%.1f,\"scaled_rx_mpps\":%.4f,"
		       "\"ref_rx_mpps\":%.4f,\"scaled_s\":%.3f,\"ref_s\":%.3f,"
		       "\"scale_ratio\":%.4f",
			o->alt_ms, ms, mr, ts, tr, mr > 0 ? ms / mr : 0.0);
	}
	if (o->n_dst > 1) {
		uint32_t i;

		printf(",\"dst_macs\":[");
		for (i = 0; i < o->n_dst; i++) {
			rte_ether_format_addr(
				dst, sizeof(dst), &o->dst_macs[i]);
			printf("%s\"%s\"", i ? "," : "", dst);
		}
		printf("],\"rx_per_dst\":[");
		for (i = 0; i < o->n_dst; i++)
			printf("%s%" PRIu64, i ? "," : "", r->rx_dst[i]);
		printf("]");
	}
	print_latency(r->rx, r->lat_min, r->lat_max, r->lat_sum, us);
}

/* --- mesh: every port to every other ------------------------------------ */

struct mesh_flow {
	uint8_t hdr[PG_HDR_LEN]; /* Ethernet/IPv4/UDP of the pair */
	uint8_t dst;             /* the destination's port index */
};

struct mesh_port {
	uint16_t id;             /* ethdev port id */
	struct mesh_flow *flows; /* m->flows of them */
	uint32_t next;           /* the next flow to send */
	uint64_t tx, rx;         /* window frames sent, received */
};

struct mesh {
	uint32_t n;     /* ports */
	uint32_t macs;  /* source MACs per port */
	uint32_t flows; /* pairs per port */
	uint32_t len;   /* mbuf length */
	struct mesh_port p[PG_MAX_PORTS];
	/* [sender][receiver]: the next sequence number, the last received,
	 * window frames sent and received. */
	uint32_t seq[PG_MAX_PORTS][PG_MAX_PORTS];
	uint32_t last[PG_MAX_PORTS][PG_MAX_PORTS];
	bool any[PG_MAX_PORTS][PG_MAX_PORTS];
	uint64_t tx_m[PG_MAX_PORTS][PG_MAX_PORTS];
	uint64_t rx_m[PG_MAX_PORTS][PG_MAX_PORTS];
};

struct mesh_result {
	uint64_t tx, rx;     /* window frames sent, received */
	uint64_t reordered;  /* within a (sender, receiver) pair */
	uint64_t flooded;    /* window frames at a port not their own */
	uint64_t other;      /* learning and warm-up frames, runts */
	uint64_t tx_refused; /* frames a port did not take */
	uint64_t max_gap;
	uint64_t lat_min, lat_max;
	double lat_sum;
	double window_s;
	uint32_t learn_rounds;
	double learn_s;
	uint32_t n_samples;
	double samples[PG_MAX_SAMPLES]; /* Mpps received, per second */
};

/* MAC 'i' of port 'p': 02:76:68:PP:ii:ii. */
static void
mesh_mac(uint32_t p, uint32_t i, struct rte_ether_addr *mac)
{
	*mac = (struct rte_ether_addr){{PG_MESH_OUI0, PG_MESH_OUI1,
		PG_MESH_OUI2, (uint8_t)p, (uint8_t)(i >> 8), (uint8_t)i}};
}

/* The port index a mesh MAC belongs to, or -1. */
static inline int
mesh_port_of(const struct mesh *ms, const struct rte_ether_addr *mac)
{
	const uint8_t *b = mac->addr_bytes;

	if (b[0] != PG_MESH_OUI0 || b[1] != PG_MESH_OUI1 ||
		b[2] != PG_MESH_OUI2 || b[3] >= ms->n)
		return -1;
	return b[3];
}

static uint64_t
xorshift64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Each port's flows: flow j sends from source MAC s = j % macs to the t-th
 * (t = j / macs) destination of s, (a_s + t * c) mod M over the M MACs of
 * the other ports, with a random start a_s and c prime to M: the pairs of a
 * port are all different, and consecutive frames come from different
 * sources and go to scattered destinations.  0 or -ENOMEM.
 */
static int
mesh_build(struct mesh *ms, uint32_t size)
{
	const uint32_t m_all = (ms->n - 1) * ms->macs;
	/* prime to m_all: 104729 is prime, and m_all < 2 * 104729 */
	const uint64_t c = 104729 % m_all;
	uint64_t rnd = 0x9e3779b97f4a7c15ull, *a;
	struct rte_ether_addr src, dst;
	struct pg_template t;
	uint32_t p, j;

	a = calloc(ms->macs, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	for (p = 0; p < ms->n; p++) {
		struct mesh_port *mp = &ms->p[p];

		mp->flows = calloc(ms->flows, sizeof(*mp->flows));
		if (mp->flows == NULL) {
			free(a);
			return -ENOMEM;
		}
		for (j = 0; j < ms->macs; j++)
			a[j] = xorshift64(&rnd) % m_all;
		for (j = 0; j < ms->flows; j++) {
			uint32_t s = j % ms->macs, t_i = j / ms->macs;
			uint32_t g = (uint32_t)((a[s] + t_i * c) % m_all);
			uint32_t q = g / ms->macs, d = g % ms->macs;
			struct rte_ipv4_hdr *ip;

			if (q >= p)
				q++; /* the other ports: skip our own */
			mesh_mac(p, s, &src);
			mesh_mac(q, d, &dst);
			build_template(&t, &src, &dst, size);
			ip = (struct rte_ipv4_hdr *)(t.hdr +
				sizeof(struct rte_ether_hdr));
			ip->src_addr = rte_cpu_to_be_32(
				RTE_IPV4(198, 18, 0, 0) + p * ms->macs + s);
			ip->dst_addr = rte_cpu_to_be_32(
				RTE_IPV4(198, 18, 0, 0) + q * ms->macs + d);
			ip->hdr_checksum = 0;
			ip->hdr_checksum = rte_ipv4_cksum(ip);
			memcpy(mp->flows[j].hdr, t.hdr, PG_HDR_LEN);
			mp->flows[j].dst = (uint8_t)q;
		}
	}
	free(a);
	return 0;
}

/* Receives on every port and counts the learning frames of round 'round'
 * each port got (got[]); everything else is discarded. */
static void
mesh_learn_rx(const struct mesh *ms, uint32_t round, uint64_t *got)
{
	struct rte_mbuf *m[PG_MAX_BURST];
	uint32_t q;
	uint16_t n, i;

	for (q = 0; q < ms->n; q++) {
		n = rte_eth_rx_burst(ms->p[q].id, 0, m, PG_MAX_BURST);
		for (i = 0; i < n; i++) {
			const struct pg_payload *pl;

			if (rte_pktmbuf_data_len(m[i]) <
				PG_HDR_LEN + sizeof(*pl))
				continue;
			pl = rte_pktmbuf_mtod_offset(
				m[i], const struct pg_payload *, PG_HDR_LEN);
			if (pl->magic == PG_LEARN_MAGIC && pl->seq == round)
				got[q]++;
		}
		if (n)
			rte_pktmbuf_free_bulk(m, n);
	}
}

/*
 * The learning phase: in rounds, every port sends a broadcast from each of
 * its MACs; done when every port received all (n - 1) * macs broadcasts
 * of one round.  Gives up after 'timeout_s' (0: one round, unchecked).
 * 0, or -ETIMEDOUT.
 */
static int
mesh_learn(const struct mesh *ms, struct rte_mempool *mp, double timeout_s,
	struct mesh_result *r)
{
	const struct rte_ether_addr bcast = {
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	const uint64_t hz = rte_get_tsc_hz(), t0 = rte_rdtsc();
	const uint64_t want = (uint64_t)(ms->n - 1) * ms->macs;
	/* timeout 0: one round, each frame tried for up to 1 s */
	const uint64_t limit =
		t0 + (uint64_t)(RTE_MAX(timeout_s, 1.0) * (double)hz);
	struct rte_mbuf *m[PG_MAX_BURST];
	uint64_t got[PG_MAX_PORTS], until;
	struct rte_ether_addr src;
	struct pg_template t;
	uint32_t round, p, i, k, q, done;
	uint16_t sent;

	for (round = 1;; round++) {
		r->learn_rounds = round;
		memset(got, 0, sizeof(got));
		for (p = 0; p < ms->n; p++) {
			for (i = 0; i < ms->macs; i += k) {
				k = RTE_MIN(ms->macs - i, (uint32_t)32);
				if (rte_pktmbuf_alloc_bulk(mp, m, k) != 0)
					return -ENOMEM;
				for (q = 0; q < k; q++) {
					mesh_mac(p, i + q, &src);
					build_template(&t, &src, &bcast, 64);
					fill(m[q], &t, NULL, PG_LEARN_MAGIC,
						round, 0);
				}
				sent = 0;
				while (sent < k && !pg_stop &&
					rte_rdtsc() < limit) {
					sent += rte_eth_tx_burst(ms->p[p].id, 0,
						m + sent, (uint16_t)(k - sent));
					mesh_learn_rx(ms, round, got);
				}
				if (sent < k)
					rte_pktmbuf_free_bulk(
						m + sent, k - sent);
			}
		}
		/* What is still in flight, for up to 200 ms. */
		until = rte_rdtsc() + hz / 5;
		do {
			mesh_learn_rx(ms, round, got);
			for (done = 0, q = 0; q < ms->n; q++)
				done += got[q] >= want;
		} while (done < ms->n && rte_rdtsc() < until && !pg_stop);
		r->learn_s = (double)(rte_rdtsc() - t0) / (double)hz;
		if (done == ms->n || timeout_s <= 0)
			return 0;
		if (pg_stop || rte_rdtsc() >= limit)
			return -ETIMEDOUT;
	}
}

/* Sends one burst on port 'p': window frames (PG_MAGIC) or warm-up ones. */
static inline void
mesh_tx(struct mesh *ms, uint32_t p, struct rte_mempool *mp, uint16_t burst,
	bool in_window, uint64_t now, struct mesh_result *r)
{
	struct mesh_port *pp = &ms->p[p];
	const uint32_t magic = in_window ? PG_MAGIC : PG_WARM_MAGIC;
	struct rte_mbuf *m[PG_MAX_BURST];
	uint8_t dst[PG_MAX_BURST];
	uint16_t i, k;

	if (rte_pktmbuf_alloc_bulk(mp, m, burst) != 0)
		return;
	for (i = 0; i < burst; i++) {
		const struct mesh_flow *f = &pp->flows[pp->next];
		uint8_t *d = rte_pktmbuf_mtod(m[i], uint8_t *);
		struct pg_payload *pl = (struct pg_payload *)(d + PG_HDR_LEN);

		if (++pp->next == ms->flows)
			pp->next = 0;
		memcpy(d, f->hdr, PG_HDR_LEN);
		pl->magic = magic;
		pl->seq = ms->seq[p][f->dst]++;
		pl->tsc = now;
		m[i]->data_len = (uint16_t)ms->len;
		m[i]->pkt_len = ms->len;
		dst[i] = f->dst;
	}
	k = rte_eth_tx_burst(pp->id, 0, m, burst);
	/* The frames not taken go again next time, with the same numbers. */
	for (i = burst; i > k; i--) {
		pp->next = (pp->next == 0 ? ms->flows : pp->next) - 1;
		ms->seq[p][pp->flows[pp->next].dst]--;
	}
	if (k < burst)
		rte_pktmbuf_free_bulk(m + k, burst - k);
	if (!in_window)
		return;
	r->tx_refused += burst - k;
	r->tx += k;
	pp->tx += k;
	for (i = 0; i < k; i++)
		ms->tx_m[p][dst[i]]++;
}

/* Receives one burst on port 'q' and counts it. */
static inline void
mesh_rx(struct mesh *ms, uint32_t q, struct mesh_result *r)
{
	struct rte_mbuf *m[PG_MAX_BURST];
	uint64_t now;
	uint16_t n, i;
	int s;

	n = rte_eth_rx_burst(ms->p[q].id, 0, m, PG_MAX_BURST);
	if (n == 0)
		return;
	now = rte_rdtsc();
	for (i = 0; i < n; i++) {
		const struct rte_ether_hdr *eh =
			rte_pktmbuf_mtod(m[i], const struct rte_ether_hdr *);
		const struct pg_payload *pl;

		if (rte_pktmbuf_data_len(m[i]) < PG_HDR_LEN + sizeof(*pl)) {
			r->other++;
			continue;
		}
		pl = rte_pktmbuf_mtod_offset(
			m[i], const struct pg_payload *, PG_HDR_LEN);
		s = mesh_port_of(ms, &eh->src_addr);
		if (pl->magic != PG_MAGIC || s < 0 || (uint32_t)s == q) {
			r->other++;
			continue;
		}
		if (mesh_port_of(ms, &eh->dst_addr) != (int)q) {
			r->flooded++;
			continue;
		}
		r->rx++;
		ms->p[q].rx++;
		ms->rx_m[s][q]++;
		if (ms->any[s][q] && (int32_t)(pl->seq - ms->last[s][q]) < 0) {
			r->reordered++;
		} else {
			ms->last[s][q] = pl->seq;
			ms->any[s][q] = true;
		}
		hist_add(now - pl->tsc, &r->lat_sum, &r->lat_min, &r->lat_max);
	}
	rte_pktmbuf_free_bulk(m, n);
}

/*
 * Warm-up, window and drain as run(), every port sending a burst and
 * receiving one in turn.  "window start" and "window end" go to stderr
 * when they happen, so a script can read the switch's counters around the
 * window.  One Mpps sample per second of the window.
 */
static void
mesh_run(const struct pg_opts *o, struct mesh *ms, struct rte_mempool *mp,
	struct mesh_result *r)
{
	const uint64_t hz = rte_get_tsc_hz();
	uint64_t t_start, t_window, t_end, t_drain_end = 0, now, t_last;
	uint64_t t_win_start = 0, t_sample = 0, rx_sample = 0;
	bool in_window = false, tx_done = false;
	uint32_t p;

	r->lat_min = UINT64_MAX;
	t_start = rte_rdtsc();
	t_window = t_start + (uint64_t)(o->warmup_s * (double)hz);
	t_end = t_window + (uint64_t)(o->duration_s * (double)hz);
	t_last = t_start;
	for (;;) {
		now = rte_rdtsc();
		if (pg_stop && !tx_done && now < t_end)
			t_end = now;
		if (now - t_last > r->max_gap)
			r->max_gap = now - t_last;
		t_last = now;
		if (!in_window && !tx_done && now >= t_window && now < t_end) {
			in_window = true;
			t_win_start = t_sample = now;
			fprintf(stderr, PROG ": window start\n");
		}
		if (in_window && !tx_done && now - t_sample >= hz &&
			r->n_samples < PG_MAX_SAMPLES) {
			r->samples[r->n_samples++] =
				(double)(r->rx - rx_sample) * (double)hz /
				(double)(now - t_sample) / 1e6;
			rx_sample = r->rx;
			t_sample = now;
		}
		if (!tx_done && now >= t_end) {
			tx_done = true;
			if (in_window)
				r->window_s = (double)(now - t_win_start) /
					(double)hz;
			t_drain_end = now + (uint64_t)(o->drain_s * (double)hz);
			fprintf(stderr, PROG ": window end\n");
		}
		if (tx_done && now >= t_drain_end)
			break;
		for (p = 0; p < ms->n; p++) {
			if (!tx_done)
				mesh_tx(ms, p, mp, o->burst, in_window, now, r);
			mesh_rx(ms, p, r);
		}
	}
}

static void
print_mesh_summary(const struct pg_opts *o, const struct mesh *ms,
	const struct mesh_result *r)
{
	const double us = 1e6 / (double)rte_get_tsc_hz();
	const double w = r->window_s > 0 ? r->window_s : 1;
	uint64_t loss = r->tx >= r->rx ? r->tx - r->rx : 0;
	uint32_t p, q;

	printf("{\"tool\":\"" PROG "\",\"mode\":\"mesh\",\"ports\":%u,"
	       "\"macs_per_port\":%u,\"flows_per_port\":%u,\"pairs\":%u,"
	       "\"size\":%u,\"duration_s\":%.3f,\"tx_packets\":%" PRIu64
	       ",\"rx_packets\":%" PRIu64 ",\"offered_mpps\":%.4f,"
	       "\"rx_mpps\":%.4f,\"loss\":%" PRIu64 ",\"loss_ratio\":%.6f,"
	       "\"reordered\":%" PRIu64 ",\"rx_flooded\":%" PRIu64
	       ",\"rx_other\":%" PRIu64 ",\"tx_refused\":%" PRIu64
	       ",\"learn_rounds\":%u,\"learn_s\":%.3f"
	       ",\"max_loop_gap_us\":%.1f",
		ms->n, ms->macs, ms->flows, ms->n * ms->flows, o->size,
		r->window_s, r->tx, r->rx, (double)r->tx / w / 1e6,
		(double)r->rx / w / 1e6, loss,
		r->tx ? (double)loss / (double)r->tx : 0.0, r->reordered,
		r->flooded, r->other, r->tx_refused, r->learn_rounds,
		r->learn_s, (double)r->max_gap * us);
	printf(",\"tx_per_port\":[");
	for (p = 0; p < ms->n; p++)
		printf("%s%" PRIu64, p ? "," : "", ms->p[p].tx);
	printf("],\"rx_per_port\":[");
	for (p = 0; p < ms->n; p++)
		printf("%s%" PRIu64, p ? "," : "", ms->p[p].rx);
	/* [sender][receiver] */
	printf("],\"tx_matrix\":[");
	for (p = 0; p < ms->n; p++) {
		printf("%s[", p ? "," : "");
		for (q = 0; q < ms->n; q++)
			printf("%s%" PRIu64, q ? "," : "", ms->tx_m[p][q]);
		printf("]");
	}
	printf("],\"rx_matrix\":[");
	for (p = 0; p < ms->n; p++) {
		printf("%s[", p ? "," : "");
		for (q = 0; q < ms->n; q++)
			printf("%s%" PRIu64, q ? "," : "", ms->rx_m[p][q]);
		printf("]");
	}
	printf("],\"samples_mpps\":[");
	for (p = 0; p < r->n_samples; p++)
		printf("%s%.4f", p ? "," : "", r->samples[p]);
	printf("]");
	print_latency(r->rx, r->lat_min, r->lat_max, r->lat_sum, us);
}

/* The --mesh run on ports 0..n-1 (set up): the exit status. */
static int
mesh_main(const struct pg_opts *o, struct rte_mempool *mp, uint16_t n)
{
	static struct mesh ms; /* large: not on the stack */
	static struct mesh_result res;
	struct rte_eth_link l;
	uint64_t deadline;
	uint32_t p, up;
	int ret = 1;

	ms.n = n;
	ms.macs = o->mesh_macs;
	ms.flows = o->mesh_flows;
	ms.len = o->size - PG_FCS;
	for (p = 0; p < n; p++)
		ms.p[p].id = (uint16_t)p;
	deadline =
		rte_get_timer_cycles() + PG_LINK_TIMEOUT_S * rte_get_timer_hz();
	for (;;) {
		for (up = 0, p = 0; p < n; p++)
			up += rte_eth_link_get_nowait((uint16_t)p, &l) == 0 &&
				l.link_status == RTE_ETH_LINK_UP;
		if (up == n)
			break;
		if (pg_stop || rte_get_timer_cycles() > deadline) {
			fprintf(stderr,
				PROG ": %u of %u links up within %d s (is the "
				     "switch serving every socket?)\n",
				up, n, PG_LINK_TIMEOUT_S);
			goto out;
		}
		rte_delay_ms(10);
	}
	if (mesh_build(&ms, o->size) != 0) {
		fprintf(stderr, PROG ": no memory for %u flows per port\n",
			ms.flows);
		goto out;
	}
	if (mesh_learn(&ms, mp, o->wait_path_s, &res) != 0) {
		fprintf(stderr,
			PROG ": learning: some port did not receive every "
			     "other port's broadcasts within %g s (%u "
			     "rounds; is the switch forwarding? --wait-path "
			     "0 for one round, unchecked)\n",
			o->wait_path_s, res.learn_rounds);
		goto out;
	}
	fprintf(stderr, PROG ": learned after %u rounds, %.3f s\n",
		res.learn_rounds, res.learn_s);
	mesh_run(o, &ms, mp, &res);
	print_mesh_summary(o, &ms, &res);
	ret = 0;
out:
	for (p = 0; p < n; p++) {
		rte_eth_dev_stop((uint16_t)p);
		rte_eth_dev_close((uint16_t)p);
		free(ms.p[p].flows);
	}
	rte_eal_cleanup();
	return ret;
}

int
main(int argc, char **argv)
{
	struct rte_ether_addr rx_mac, tx_mac;
	struct rte_mempool *mp;
	struct pg_template t;
	struct pg_result res;
	struct pg_opts o;
	char *app_argv[argc + 1];
	int app_argc = 0, eal_argc = argc, i, ret;
	uint16_t txp = 0, rxp = 1, nports, nused = 2;
	uint32_t data_room, nb_mbufs = PG_NB_MBUFS;
	uint64_t deadline;

	/* Application options first, so a bad one never starts EAL. */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			eal_argc = i;
			break;
		}
	}
	app_argv[app_argc++] = argv[0];
	for (i = eal_argc + 1; i < argc; i++)
		app_argv[app_argc++] = argv[i];
	app_argv[app_argc] = NULL;
	for (i = 1; i < eal_argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
			strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
	}
	parse_app_args(app_argc, app_argv, &o);

	argv[eal_argc] = NULL; /* EAL sees only its own arguments */
	ret = rte_eal_init(eal_argc, argv);
	if (ret < 0) {
		fprintf(stderr,
			PROG ": EAL initialisation failed: %s (check the EAL "
			     "arguments before '--')\n",
			rte_strerror(rte_errno));
		return 2;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	/* virtio-user writes to the vhost-user socket: a switch that goes
	 * away must give an error, not kill us. */
	signal(SIGPIPE, SIG_IGN);

	nports = rte_eth_dev_count_avail();
	if (nports < 2) {
		fprintf(stderr,
			PROG ": needs two ports (TX = port 0, RX = port 1), "
			     "found %u: give two --vdev "
			     "virtio_user<N>,path=SOCKET arguments\n",
			nports);
		rte_eal_cleanup();
		return 2;
	}
	if (o.mesh) {
		if (nports > PG_MAX_PORTS) {
			fprintf(stderr,
				PROG ": --mesh drives at most %d ports, found "
				     "%u\n",
				PG_MAX_PORTS, nports);
			rte_eal_cleanup();
			return 2;
		}
		if ((uint64_t)o.mesh_flows >
			(uint64_t)o.mesh_macs * o.mesh_macs * (nports - 1)) {
			fprintf(stderr,
				PROG ": --mesh-flows %u: %u MACs per port "
				     "make at most %" PRIu64 " pairs per port "
				     "with %u ports\n",
				o.mesh_flows, o.mesh_macs,
				(uint64_t)o.mesh_macs * o.mesh_macs *
					(nports - 1),
				nports);
			rte_eal_cleanup();
			return 2;
		}
		nused = nports;
		/* Every port's RX and TX rings full, and some in hand. */
		nb_mbufs = RTE_MAX(nb_mbufs,
			nports * (2u * PG_RING + PG_MAX_BURST) +
				2u * PG_MBUF_CACHE + 1024u);
	}

	data_room = RTE_MAX((uint32_t)RTE_MBUF_DEFAULT_BUF_SIZE,
		o.size + RTE_PKTMBUF_HEADROOM);
	mp = rte_pktmbuf_pool_create("pg_pool", nb_mbufs, PG_MBUF_CACHE, 0,
		(uint16_t)data_room, rte_socket_id());
	if (mp == NULL) {
		fprintf(stderr,
			PROG ": cannot create %u mbufs of %u bytes: %s "
			     "(raise EAL -m)\n",
			nb_mbufs, data_room, rte_strerror(rte_errno));
		rte_eal_cleanup();
		return 1;
	}
	for (i = 0; i < nused; i++) {
		ret = port_setup((uint16_t)i, mp, o.size);
		if (ret != 0) {
			fprintf(stderr, PROG ": port %d setup failed: %s\n", i,
				rte_strerror(-ret));
			rte_eal_cleanup();
			return 1;
		}
	}
	if (o.mesh)
		return mesh_main(&o, mp, nused);
	deadline =
		rte_get_timer_cycles() + PG_LINK_TIMEOUT_S * rte_get_timer_hz();
	while (!links_up(txp, rxp)) {
		if (pg_stop || rte_get_timer_cycles() > deadline) {
			fprintf(stderr,
				PROG ": links of ports 0 and 1 not up within "
				     "%d s (is the switch serving both "
				     "sockets?)\n",
				PG_LINK_TIMEOUT_S);
			rte_eal_cleanup();
			return 1;
		}
		rte_delay_ms(10);
	}
	rte_eth_macaddr_get(txp, &tx_mac);
	rte_eth_macaddr_get(rxp, &rx_mac);
	if (!o.dst_set)
		o.dst_mac = o.dst_macs[0] = rx_mac;
	if (o.src_macs == 1)
		o.src_base = tx_mac;
	o.ref_mac = tx_mac;

	/* Let a learning switch know where the destination MAC lives, and
	 * discard what comes back (the switch floods the broadcast). */
	if (o.learn) {
		send_learning_frames(rxp, mp, &rx_mac, 64);
		deadline = rte_get_timer_cycles() + rte_get_timer_hz() / 20;
		while (rte_get_timer_cycles() < deadline) {
			drain_port(txp, PG_MAX_BURST);
			drain_port(rxp, PG_MAX_BURST);
		}
	}

	build_template(&t, &o.src_base, &o.dst_mac, o.size);
	if (o.wait_path_s > 0) {
		double took = wait_path(txp, rxp, mp, &t, o.wait_path_s);

		if (took < 0) {
			fprintf(stderr,
				PROG ": no frame got from port 0 to port 1 "
				     "within %g s (is the switch forwarding? "
				     "--wait-path 0 to measure anyway)\n",
				o.wait_path_s);
			rte_eal_cleanup();
			return 1;
		}
		fprintf(stderr, PROG ": path ready after %.3f s\n", took);
	}
	run(&o, txp, rxp, mp, &t, &res);
	print_summary(&o, &res);

	for (i = 0; i < 2; i++) {
		rte_eth_dev_stop((uint16_t)i);
		rte_eth_dev_close((uint16_t)i);
	}
	rte_eal_cleanup();
	return 0;
}
