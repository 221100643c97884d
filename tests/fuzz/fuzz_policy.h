/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_policy.h - the path policy the fuzz targets check socket paths
 * against: directories that do not exist (nothing is ever created) and
 * /tmp.
 */
#ifndef VHSW_FUZZ_POLICY_H
#define VHSW_FUZZ_POLICY_H

#include <stdlib.h>

#include "paths.h"

static inline struct paths *
fuzz_policy(void)
{
	struct paths *p = paths_create("/nonexistent-vhsw-fuzz/state");

	if (p == NULL ||
		paths_add_socket_dir(p, "/nonexistent-vhsw-fuzz/run") != 0 ||
		paths_add_socket_dir(p, "/tmp") != 0)
		abort();
	return p;
}

#endif /* VHSW_FUZZ_POLICY_H */
