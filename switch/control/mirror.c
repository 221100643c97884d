/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mirror.c - port mirrors (see mirror.h).
 */
#include "mirror.h"

void
mirror_fill_monitor(
	struct vhsw *sw, const struct port *p, struct port_monitor *mon)
{
	(void)sw, (void)p, (void)mon;
}
