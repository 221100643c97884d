/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_ethport.c - the netvsc-specific paths of the uplink, through seams:
 * promiscuous mode refused by the Hyper-V host (detected, reported with the
 * host-side fix), link-status-change interrupts (the callback only records
 * and wakes; the control thread's sync sees the link go down and up).
 *
 * The uplink is a real ethdev (net_null); the ethdev calls whose answers a
 * VMBus NIC would give are wrapped with -Wl,--wrap.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <jansson.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "ethport.h"
#include "port.h"
#include "ut_eal.h"

static struct rte_mempool *pool;
static int wakes;

/* Seams: what the "host" answers. */
static int promisc_enable_ret;  /* rte_eth_promiscuous_enable() */
static const char *promisc_log; /* what the PMD logs meanwhile */
static int promisc_get_ret = 1; /* rte_eth_promiscuous_get() */
static bool report_lsc_capable; /* dev_flags has RTE_ETH_DEV_INTR_LSC */
static int link_status = RTE_ETH_LINK_UP;
static rte_eth_dev_cb_fn lsc_fn; /* what ethport registered */
static void *lsc_arg;
static const uint32_t lsc_flags = RTE_ETH_DEV_INTR_LSC;

int __real_rte_eth_promiscuous_enable(uint16_t port_id);
int __real_rte_eth_dev_info_get(
	uint16_t port_id, struct rte_eth_dev_info *info);
int __real_rte_eth_dev_configure(uint16_t port_id, uint16_t nb_rxq,
	uint16_t nb_txq, const struct rte_eth_conf *conf);
int __real_rte_eth_dev_callback_register(uint16_t port_id,
	enum rte_eth_event_type event, rte_eth_dev_cb_fn cb_fn, void *cb_arg);

int
__wrap_rte_eth_promiscuous_enable(uint16_t port_id)
{
	/* vhswd's log stream shows every DPDK log line to ethport. */
	if (promisc_log != NULL)
		ethport_log_line(promisc_log, strlen(promisc_log));
	return promisc_enable_ret;
}

int
__wrap_rte_eth_promiscuous_get(uint16_t port_id)
{
	return promisc_get_ret;
}

int
__wrap_rte_eth_link_get_nowait(uint16_t port_id, struct rte_eth_link *link)
{
	memset(link, 0, sizeof(*link));
	link->link_status = link_status;
	link->link_speed = link_status ? RTE_ETH_SPEED_NUM_10G : 0;
	return 0;
}

int
__wrap_rte_eth_dev_info_get(uint16_t port_id, struct rte_eth_dev_info *info)
{
	int ret = __real_rte_eth_dev_info_get(port_id, info);

	if (ret == 0 && report_lsc_capable)
		info->dev_flags = &lsc_flags;
	return ret;
}

/* net_null has no LSC interrupt: accept the request in its place. */
int
__wrap_rte_eth_dev_configure(uint16_t port_id, uint16_t nb_rxq, uint16_t nb_txq,
	const struct rte_eth_conf *conf)
{
	struct rte_eth_conf c = *conf;

	if (report_lsc_capable)
		c.intr_conf.lsc = 0;
	return __real_rte_eth_dev_configure(port_id, nb_rxq, nb_txq, &c);
}

int
__wrap_rte_eth_dev_callback_register(uint16_t port_id,
	enum rte_eth_event_type event, rte_eth_dev_cb_fn cb_fn, void *cb_arg)
{
	if (event == RTE_ETH_EVENT_INTR_LSC) {
		lsc_fn = cb_fn;
		lsc_arg = cb_arg;
	}
	return __real_rte_eth_dev_callback_register(
		port_id, event, cb_fn, cb_arg);
}

static void
count_wake(void *arg)
{
	wakes++;
}

static int
setup(void **state)
{
	promisc_enable_ret = 0;
	promisc_get_ret = 1;
	promisc_log = NULL;
	report_lsc_capable = false;
	link_status = RTE_ETH_LINK_UP;
	lsc_fn = NULL;
	wakes = 0;
	return 0;
}

static struct port *
make_uplink(void)
{
	struct ethport_params ep = {.kind = ETHPORT_UPLINK,
		.name = ETHPORT_UPLINK_NAME,
		.devargs = "net_null0"};
	char err[256];
	struct port *p = ethport_create(&ep, err, sizeof(err));

	if (p == NULL)
		fail_msg("%s", err);
	return p;
}

static void
test_promiscuous_accepted(void **state)
{
	struct port *p = make_uplink();
	json_t *o = ethport_uplink_json(p);

	assert_true(json_is_true(json_object_get(o, "promiscuous")));
	assert_null(json_object_get(o, "promiscuous_error"));
	json_decref(o);
	p->cls->destroy(p);
}

static void
test_promiscuous_refused_by_host(void **state)
{
	struct port *p;
	json_t *o, *e;

	char *log = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&log, &len);

	/* Hyper-V without MAC spoofing: the request fails ... */
	promisc_enable_ret = -EPERM;
	promisc_get_ret = 0;
	rte_openlog_stream(mem);
	p = make_uplink();
	rte_openlog_stream(NULL);
	fclose(mem);
	/* ... and says so in the log, with the port's name. */
	assert_non_null(strstr(log,
		"vhswd: uplink: port uplink: promiscuous mode refused on "
		"net_null0 (Operation not permitted)"));
	free(log);
	o = ethport_uplink_json(p);
	assert_true(json_is_false(json_object_get(o, "promiscuous")));
	e = json_object_get(o, "promiscuous_error");
	assert_non_null(e);
	assert_non_null(strstr(json_string_value(json_object_get(e, "fix")),
		"MacAddressSpoofing On"));
	json_decref(o);
	/* The port works all the same (frames for its own MAC). */
	assert_true(port_is_ready(p));
	p->cls->destroy(p);

	/* ... or "succeeds" and silently stays off. */
	promisc_enable_ret = 0;
	promisc_get_ret = 0;
	p = make_uplink();
	o = ethport_uplink_json(p);
	assert_true(json_is_false(json_object_get(o, "promiscuous")));
	assert_non_null(json_object_get(o, "promiscuous_error"));
	json_decref(o);
	p->cls->destroy(p);
}

/*
 * What netvsc 22.11 really does on a host without MAC spoofing: reports
 * success (and promiscuous_get() says 1) but logs the refused RX filter.
 */
static void
test_promiscuous_refused_netvsc_style(void **state)
{
	struct port *p;
	json_t *o;

	promisc_log =
		"hn_rndis_set_rxfilter(): set RX filter 0x20 failed: -1\n";
	p = make_uplink();
	o = ethport_uplink_json(p);
	assert_true(json_is_false(json_object_get(o, "promiscuous")));
	assert_non_null(
		strstr(json_string_value(json_object_get(
			       json_object_get(o, "promiscuous_error"), "fix")),
			"MacAddressSpoofing"));
	json_decref(o);
	p->cls->destroy(p);
	/* Other log lines do not count. */
	promisc_log = "hn_rndis_set_rxfilter(): set RX filter 0x20\n";
	p = make_uplink();
	o = ethport_uplink_json(p);
	assert_true(json_is_true(json_object_get(o, "promiscuous")));
	json_decref(o);
	p->cls->destroy(p);
}

static void
test_vmbus_devargs(void **state)
{
	struct ethport_params ep = {.kind = ETHPORT_UPLINK,
		.name = ETHPORT_UPLINK_NAME,
		.devargs = "F8615163-0000-1000-2000-000D3A1B2C3D,latency=10"};
	char err[256] = "";

	assert_true(ethport_devargs_is_vmbus(
		"f8615163-0000-1000-2000-000d3a1b2c3d"));
	assert_true(ethport_devargs_is_vmbus(
		"vmbus:f8615163-0000-1000-2000-000d3a1b2c3d,latency=10"));
	assert_false(ethport_devargs_is_vmbus("net_af_packet0,iface=eth1"));
	assert_false(ethport_devargs_is_vmbus("0000:00:04.0"));
	assert_false(ethport_devargs_is_vmbus(
		"f8615163-0000-1000-2000-000d3a1b2c3"));
	assert_false(ethport_devargs_is_vmbus(
		"f8615163-0000-1000-2000-000d3a1b2c3dx"));
	/* Not bound to uio_hv_generic (no port): say how to fix it. */
	assert_null(ethport_create(&ep, err, sizeof(err)));
	assert_non_null(strstr(err, "uio_hv_generic"));
	assert_non_null(strstr(err, "f8615163-0000-1000-2000-000d3a1b2c3d"));
}

static void
test_link_events(void **state)
{
	struct port *p;
	json_t *o;

	report_lsc_capable = true;
	p = make_uplink();
	assert_non_null(lsc_fn); /* the PMD reports link changes: listened to */
	assert_true(port_is_ready(p));

	/* The interrupt thread's callback only records and wakes. */
	link_status = RTE_ETH_LINK_DOWN;
	assert_int_equal(lsc_fn(0, RTE_ETH_EVENT_INTR_LSC, lsc_arg, NULL), 0);
	assert_int_equal(wakes, 1);
	assert_true(port_is_ready(p)); /* unchanged until the control thread */

	/* The control thread's sync: down, report it once (FDB flush). */
	assert_true(p->cls->sync(p));
	assert_false(port_is_ready(p));
	assert_false(p->cls->sync(p));
	o = ethport_uplink_json(p);
	assert_string_equal(
		json_string_value(json_object_get(o, "state")), "down");
	json_decref(o);
	/* `port show`: the link going down counts as a lost peer. */
	o = json_object();
	p->cls->describe(p, o, false);
	assert_int_equal(
		json_integer_value(json_object_get(o, "disconnects")), 1);
	assert_string_equal(json_string_value(json_object_get(o, "last_error")),
		"link down: the net_null driver reports no link");
	json_decref(o);

	/* And back up. */
	link_status = RTE_ETH_LINK_UP;
	lsc_fn(0, RTE_ETH_EVENT_INTR_LSC, lsc_arg, NULL);
	assert_false(p->cls->sync(p));
	assert_true(port_is_ready(p));
	o = ethport_uplink_json(p);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(o, "link"), "changes")),
		3); /* up at start, down, up */
	json_decref(o);
	p->cls->destroy(p);
}

static void
test_bad_devargs(void **state)
{
	struct ethport_params ep = {.kind = ETHPORT_UPLINK,
		.name = ETHPORT_UPLINK_NAME,
		.devargs = "net_nosuchpmd0"};
	char err[256] = "";

	assert_null(ethport_create(&ep, err, sizeof(err)));
	assert_non_null(strstr(err, "net_nosuchpmd0"));
}

static void
test_kernel_backend_choice(void **state)
{
	/* vhost-net where the device is usable, TAP otherwise. */
	ethport_init(pool, count_wake, NULL, "/dev/null");
	assert_string_equal(ethport_kernel_backend(), "vhost-net");
	ethport_init(pool, count_wake, NULL, "/nonexistent/vhost-net");
	assert_string_equal(ethport_kernel_backend(), "tap");
	ethport_init(pool, count_wake, NULL, NULL);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup(f, setup)
	const struct CMUnitTest tests[] = {
		T(test_promiscuous_accepted),
		T(test_promiscuous_refused_by_host),
		T(test_promiscuous_refused_netvsc_style),
		T(test_vmbus_devargs),
		T(test_link_events),
		T(test_bad_devargs),
		T(test_kernel_backend_choice),
	};
#undef T

	if (ut_eal_init("ethport") != 0)
		return 1;
	pool = rte_pktmbuf_pool_create(
		"ut_pool", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	if (pool == NULL || ethport_init(pool, count_wake, NULL, NULL) != 0)
		return 1;
	return cmocka_run_group_tests_name("ethport", tests, NULL, NULL);
}
