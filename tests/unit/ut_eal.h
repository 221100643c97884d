/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ut_eal.h - bring up a minimal EAL for unit tests: no hugepages, no PCI,
 * no shared config, a unique file prefix, one lcore (or, for tests that
 * run data-plane threads, more lcores that float over the allowed CPUs).
 */
#ifndef VHSW_UT_EAL_H
#define VHSW_UT_EAL_H

#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>

static inline int
ut_eal_init_lcores(const char *name, const char *lcores)
{
	char prefix[64];
	char *argv[] = {(char *)name, "--no-huge", "-m", "256", "--no-shconf",
		"--no-pci", "--no-telemetry", "--lcores", (char *)lcores,
		"--log-level", "lib.*:error", prefix, NULL};

	snprintf(prefix, sizeof(prefix), "--file-prefix=ut-%s-%d", name,
		(int)getpid());
	return rte_eal_init((int)(sizeof(argv) / sizeof(argv[0])) - 1, argv) < 0
		? -1
		: 0;
}

static inline int
ut_eal_init(const char *name)
{
	return ut_eal_init_lcores(name, "0@0");
}

/*
 * EAL with lcores 0 (main) .. n-1, all allowed on every CPU this process
 * may use, so the test runs on one CPU as on many.
 */
static inline int
ut_eal_init_n(const char *name, int n)
{
	char cpus[256] = "", lcores[2400];
	size_t len = 0, off = 0;
	cpu_set_t set;
	int cpu, i;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return -1;
	for (cpu = 0; cpu < CPU_SETSIZE && len + 8 < sizeof(cpus); cpu++)
		if (CPU_ISSET(cpu, &set))
			len += (size_t)snprintf(cpus + len, sizeof(cpus) - len,
				"%s%d", len ? "," : "", cpu);
	for (i = 0; i < n && off + len + 16 < sizeof(lcores); i++)
		off += (size_t)snprintf(lcores + off, sizeof(lcores) - off,
			"%s%d@(%s)", i ? "," : "", i, cpus);
	return ut_eal_init_lcores(name, lcores);
}

/* Lcores 0 (main) and 1 (a data-plane thread). */
static inline int
ut_eal_init2(const char *name)
{
	return ut_eal_init_n(name, 2);
}

#endif /* VHSW_UT_EAL_H */
