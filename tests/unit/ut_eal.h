/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ut_eal.h - bring up a minimal EAL for unit tests: no hugepages, no PCI,
 * no shared config, a unique file prefix, one lcore.
 */
#ifndef VHSW_UT_EAL_H
#define VHSW_UT_EAL_H

#include <stdio.h>
#include <unistd.h>

#include <rte_eal.h>

static inline int
ut_eal_init(const char *name)
{
	char prefix[64];
	char *argv[] = {(char *)name, "--no-huge", "-m", "256", "--no-shconf",
		"--no-pci", "--no-telemetry", "--lcores", "0@0", "--log-level",
		"lib.*:error", prefix, NULL};

	snprintf(prefix, sizeof(prefix), "--file-prefix=ut-%s-%d", name,
		(int)getpid());
	return rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0
		? -1
		: 0;
}

#endif /* VHSW_UT_EAL_H */
