/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_rpc.c - libFuzzer target: one JSON-RPC request line through the
 * daemon's request handler, rpc_handle_line() (switch/mgmt/rpc.c): parsing,
 * the JSON-RPC envelope checks, dispatch and reply encoding.
 *
 * The dispatch is DPDK-free: it resolves the method in the real command
 * table (ctl.h), puts vhost-user socket paths and `config save` targets
 * through the real path policy (paths.h), and otherwise echoes the params
 * as the result, so error messages and results carry fuzzer-chosen text
 * (long, multibyte, truncated) into the encoder.  The actions behind the
 * methods need DPDK and are covered by tests/unit/test_ctl.c.
 *
 * Every reply must be one line of valid JSON: a JSON-RPC 2.0 object with
 * either "result" or "error" {code, message}; anything else aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "fuzz_policy.h"
#include "paths.h"
#include "rpc.h"

static struct paths *policy;

static json_t *
fuzz_dispatch(void *arg, const char *method, json_t *params, int *code,
	char *msg, size_t msglen)
{
	const struct ctl_cmd *cmd = ctl_cmd_find(method);
	const char *path;

	if (cmd == NULL) {
		*code = CTL_ERR_NO_METHOD;
		snprintf(msg, msglen, "unknown method '%s'", method);
		return NULL;
	}
	if (ctl_check_params(cmd, params, msg, msglen) != 0) {
		*code = CTL_ERR_INVALID_PARAMS;
		return NULL;
	}
	if (strcmp(cmd->method, "port/add") == 0) {
		path = json_string_value(json_object_get(params, "socket"));
		if (path != NULL &&
			paths_check_socket(policy, path, msg, msglen) != 0) {
			*code = CTL_ERR_REFUSED;
			return NULL;
		}
	}
	if (strcmp(cmd->method, "config/save") == 0) {
		path = json_string_value(json_object_get(params, "file"));
		if (path != NULL &&
			paths_prepare_save(policy, path, msg, msglen) != 0) {
			*code = CTL_ERR_REFUSED;
			return NULL;
		}
	}
	return json_deep_copy(params);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	policy = fuzz_policy();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpc_stats st = {0};
	json_t *rep, *err;
	json_error_t jerr;
	char *line;

	/* The server hands over one line without its newline. */
	if (size > CTL_MAX_REQUEST || memchr(data, '\n', size) != NULL)
		return -1;
	if (rpc_handle_line(fuzz_dispatch, NULL, (const char *)data, size, &st,
		    &line) != 0)
		abort(); /* only out of memory may fail */
	if (st.requests != 1)
		abort();
	if (line == NULL)
		return 0; /* a notification */
	if (strchr(line, '\n') != NULL)
		abort(); /* would split the reply stream */
	rep = json_loads(line, 0, &jerr);
	if (rep == NULL || !json_is_object(rep) ||
		!json_is_string(json_object_get(rep, "jsonrpc")))
		abort();
	err = json_object_get(rep, "error");
	if ((err == NULL) == (json_object_get(rep, "result") == NULL))
		abort();
	if (err != NULL &&
		(!json_is_integer(json_object_get(err, "code")) ||
			!json_is_string(json_object_get(err, "message")) ||
			st.errors != 1))
		abort();
	json_decref(rep);
	free(line);
	return 0;
}
