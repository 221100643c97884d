/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * port.c - what every port kind shares (see port.h): the counters as the
 * user sees them, the shared keys of a new port, and the registry of port
 * kinds.
 *
 * Thread-safety: control thread only.
 */
#include <errno.h>
#include <string.h>

#include "counters.h"
#include "port.h"

#define PORT_MAX_CLASSES 8

void
port_stats_read(const struct port *p, struct port_stats *out)
{
	counters_read(p->stats.c, p->stats_base.c, out->c, PORT_STAT_COUNT);
}

void
port_stats_clear(struct port *p)
{
	counters_snapshot(p->stats.c, p->stats_base.c, PORT_STAT_COUNT);
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
