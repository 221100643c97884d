/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_config.c - libFuzzer target: a --config file's bytes through the
 * config loader's reading and syntax checks (config_parse(), the buffer
 * twin of config_read() in switch/control/config_read.c), then what vhswd reads
 * from an accepted document before the actions run: the uplink devargs,
 * the FDB limit, and every port's socket path through the path policy
 * (paths.h).  The actions themselves need DPDK (tests/unit/test_ctl.c).
 *
 * A refused document must come with a one-line message naming the file;
 * an accepted one must have the checked shape; anything else aborts.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_policy.h"
#include "paths.h"
#include "config_read.h"
#include "fdb.h"

#define NAME "fuzz.json"

static struct paths *policy;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	policy = fuzz_policy();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024] = "", perr[1024];
	json_t *cfg, *ports, *p;
	const char *sock;
	uint32_t limit;
	size_t i;

	cfg = config_parse((const char *)data, size, NAME, err, sizeof(err));
	if (cfg == NULL) {
		if (strncmp(err, NAME, strlen(NAME)) != 0 ||
			strchr(err, '\n') != NULL)
			abort();
		return 0;
	}
	if (!json_is_object(cfg))
		abort();
	ports = json_object_get(cfg, "ports");
	if (ports != NULL && !json_is_array(ports))
		abort();
	limit = config_fdb_limit(cfg);
	if (limit < 1 || limit > FDB_MAX_LIMIT)
		abort();
	(void)config_uplink_devargs(cfg);
	json_array_foreach(ports, i, p)
	{
		sock = json_string_value(json_object_get(p, "socket"));
		if (sock != NULL &&
			paths_check_socket(policy, sock, perr, sizeof(perr)) !=
				0 &&
			perr[0] == '\0')
			abort();
	}
	json_decref(cfg);
	return 0;
}
