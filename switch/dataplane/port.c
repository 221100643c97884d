/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * port.c - what every port kind shares (see port.h): the counters as the
 * user sees them, the shared keys of a new port, and the registry of port
 * kinds.
 *
 * Thread-safety: control thread only, except the data-plane thread index
 * (set by each loop for itself) and port_dp_threads() (any thread).
 */
#include <errno.h>
#include <string.h>

#include "counters.h"
#include "port.h"

#define PORT_MAX_CLASSES 8

RTE_DEFINE_PER_LCORE(uint16_t, port_dp_thread_idx);
static uint16_t port_n_dp_threads = 1;

uint16_t
port_dp_threads(void)
{
	return __atomic_load_n(&port_n_dp_threads, __ATOMIC_RELAXED);
}

void
port_set_dp_threads(uint16_t n)
{
	__atomic_store_n(&port_n_dp_threads,
		RTE_MAX((uint16_t)1, RTE_MIN(n, (uint16_t)VHSW_MAX_DP_THREADS)),
		__ATOMIC_RELAXED);
}

void
port_set_dp_thread(uint16_t idx)
{
	RTE_PER_LCORE(port_dp_thread_idx) = idx;
}

/* The sum of every thread's block. */
static void
stats_sum(const struct port *p, struct port_stats *sum)
{
	int t, i;

	memset(sum, 0, sizeof(*sum));
	for (t = 0; t < VHSW_MAX_DP_THREADS; t++)
		for (i = 0; i < PORT_STAT_COUNT; i++)
			sum->c[i] += __atomic_load_n(
				&p->stats[t].c[i], __ATOMIC_RELAXED);
}

void
port_stats_read(const struct port *p, struct port_stats *out)
{
	struct port_stats sum;

	stats_sum(p, &sum);
	counters_read(sum.c, p->stats_base.c, out->c, PORT_STAT_COUNT);
}

void
port_stats_clear(struct port *p)
{
	struct port_stats sum;

	stats_sum(p, &sum);
	counters_snapshot(sum.c, p->stats_base.c, PORT_STAT_COUNT);
}

void
port_set_conf(struct port *p, const struct port_conf *conf, uint32_t def_mtu)
{
	snprintf(p->name, sizeof(p->name), "%s", conf->name);
	p->vlan = conf->vlan;
	p->mtu = conf->mtu ? conf->mtu : def_mtu;
	p->has_mac = conf->has_mac;
	p->mac = conf->mac;
}

static const struct port_class *port_classes[PORT_MAX_CLASSES];

int
port_class_register(const struct port_class *cls)
{
	int i;

	for (i = 0; i < PORT_MAX_CLASSES; i++) {
		if (port_classes[i] == cls)
			return 0;
		if (port_classes[i] == NULL) {
			port_classes[i] = cls;
			return 0;
		}
		if (strcmp(port_classes[i]->type, cls->type) == 0)
			return -EEXIST;
	}
	return -ENOSPC;
}

const struct port_class *
port_class_find(const char *type)
{
	int i;

	for (i = 0; i < PORT_MAX_CLASSES && port_classes[i] != NULL; i++)
		if (strcmp(port_classes[i]->type, type) == 0)
			return port_classes[i];
	return NULL;
}

const struct port_class *
port_class_get(int i)
{
	return i >= 0 && i < PORT_MAX_CLASSES ? port_classes[i] : NULL;
}
