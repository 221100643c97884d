/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * capture_ctl.c - capture sessions, the control side (see capture.h).
 */
#include "capture.h"

void
capture_fill_monitor(
	struct vhsw *sw, const struct port *p, struct port_monitor *mon)
{
	(void)sw, (void)p, (void)mon;
}
