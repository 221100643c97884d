/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl.h - the management protocol shared by vhswd, vhswctl and vhsw-cni.
 *
 * JSON-RPC 2.0 over a unix stream socket, one request and one reply per
 * line.  Method names are the command words joined by '/', params an object.
 *
 * CTL_COMMANDS is the one table of commands: the daemon binds each entry to
 * its action function (switch/actions.c), vhswctl parses its command line
 * and prints `help` from it.  Each entry:
 *   X(id, method, positional args, options, usage, help)
 * Positional args are "key" (required string), "key?" (optional string),
 * "key#" (required integer) or "key#?" (optional integer).  Options are
 * "--flag=key" (string value), "--flag=key#" (integer), "--flag=key:value"
 * (no argument; sets key to the constant value) or "--flag=key!" (no
 * argument; sets key to true).
 *
 * Thread-safety: the client functions are plain blocking calls for one
 * thread; they keep no global state.
 */
#ifndef VHSW_CTL_H
#define VHSW_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define CTL_DEFAULT_SOCKET "/run/vhsw/vhswd.sock"
#define CTL_ENV_SOCKET "VHSW_CTL"
#define CTL_MAX_REQUEST 65536 /* bytes per request line */

/* JSON-RPC error codes. */
#define CTL_ERR_PARSE -32700
#define CTL_ERR_INVALID_REQUEST -32600
#define CTL_ERR_NO_METHOD -32601
#define CTL_ERR_INVALID_PARAMS -32602
#define CTL_ERR_REFUSED -32000 /* the daemon refused the action */

#define CTL_ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})
#define CTL_NOARGS ((const char *const[]){NULL})

#define CTL_COMMANDS(X)                                                        \
	X(PORT_ADD, "port/add", CTL_ARGS("name", "type", "socket?"),           \
		CTL_ARGS("--client=mode:client", "--server=mode:server",       \
			"--queues=queues#", "--vlan=vlan#", "--mac=mac",       \
			"--mtu=mtu#", "--owner=owner", "--perm=perm",          \
			"--ifname=ifname", "--netns=netns"),                   \
		"NAME vhost-user SOCKET [--client] [--queues N] [--vlan VID] " \
		"[--mac MAC] [--mtu N] [--owner UID[:GID]] [--perm OCTAL]",    \
		"add a vhost-user port (server: the switch listens on "        \
		"SOCKET; --client: it connects and reconnects)")               \
	X(PORT_DEL, "port/del", CTL_ARGS("name"), CTL_NOARGS, "NAME",          \
		"remove a port")                                               \
	X(PORT_LIST, "port/list", CTL_NOARGS, CTL_NOARGS, "",                  \
		"list ports with type, state, socket and counters")            \
	X(PORT_SHOW, "port/show", CTL_ARGS("name"), CTL_NOARGS, "NAME",        \
		"show one port with its memory regions and vrings")            \
	X(FDB_SHOW, "fdb/show", CTL_ARGS("port?"), CTL_NOARGS, "[PORT]",       \
		"show learned and static MAC entries")                         \
	X(FDB_FLUSH, "fdb/flush", CTL_ARGS("port?"), CTL_NOARGS, "[PORT]",     \
		"remove learned entries")                                      \
	X(FDB_ADD, "fdb/add", CTL_ARGS("mac", "port"),                         \
		CTL_ARGS("--vlan=vlan#"), "MAC PORT [--vlan VID]",             \
		"add a static entry (never ages)")                             \
	X(FDB_DEL, "fdb/del", CTL_ARGS("mac"), CTL_ARGS("--vlan=vlan#"),       \
		"MAC [--vlan VID]", "delete an entry")                         \
	X(FDB_SET_AGING, "fdb/set/aging", CTL_ARGS("aging#"), CTL_NOARGS,      \
		"SECONDS", "set the aging time of learned entries (0: never)") \
	X(FDB_SET_LIMIT, "fdb/set/limit", CTL_ARGS("limit#"), CTL_NOARGS, "N", \
		"set the maximum number of learned entries")                   \
	X(DATAPLANE_SET_POLL_MODE, "dataplane/set/poll-mode",                  \
		CTL_ARGS("mode"), CTL_NOARGS, "busy|adaptive",                 \
		"switch the data plane's polling mode at run time")            \
	X(UPLINK_SHOW, "uplink/show", CTL_NOARGS, CTL_NOARGS, "",              \
		"show the uplink's driver, link, MAC, MTU and counters")       \
	X(STATS, "stats", CTL_ARGS("port?"), CTL_ARGS("--clear=clear!"),       \
		"[PORT] [--clear]", "show (or clear) counters")                \
	X(CONFIG_SAVE, "config/save", CTL_ARGS("file?"), CTL_NOARGS, "[FILE]", \
		"write the running configuration as JSON")                     \
	X(VERSION, "version", CTL_NOARGS, CTL_NOARGS, "",                      \
		"show the daemon's version")                                   \
	X(HELP, "help", CTL_NOARGS, CTL_NOARGS, "", "list commands")

/* clang-format off */
enum ctl_cmd_id {
#define CTL_CMD_ID(id, ...) CTL_CMD_##id,
	CTL_COMMANDS(CTL_CMD_ID)
#undef CTL_CMD_ID
	CTL_CMD_COUNT
};
/* clang-format on */

struct ctl_cmd {
	const char *method;
	const char *const *args;
	const char *const *opts;
	const char *usage;
	const char *help;
};

extern const struct ctl_cmd ctl_cmds[CTL_CMD_COUNT];

/* The command with this method name, or NULL. */
const struct ctl_cmd *ctl_cmd_find(const char *method);

/*
 * Parses a command line (argv after the global options) into a method and
 * a params object.  Returns the command, or NULL with a message in 'err'
 * (usage error).
 */
const struct ctl_cmd *ctl_parse_argv(
	int argc, char **argv, json_t **params, char *err, size_t errlen);

/* The socket path to use: 'opt' if set, else $VHSW_CTL, else default. */
const char *ctl_socket_path(const char *opt);

/* A connection to the daemon. */
struct ctl_client;

/* Connects; NULL with a message in 'err' when the daemon is unreachable. */
struct ctl_client *ctl_connect(const char *path, char *err, size_t errlen);
void ctl_close(struct ctl_client *c);

enum ctl_call_status {
	CTL_OK,       /* *result holds the result */
	CTL_ERROR,    /* the daemon replied with an error: code, message */
	CTL_IO_ERROR, /* lost the connection or a malformed reply */
};

/*
 * Sends one request and waits for its reply.  On CTL_OK the caller owns
 * *result; on CTL_ERROR 'err' holds the daemon's message and *code its code.
 */
enum ctl_call_status ctl_call(struct ctl_client *c, const char *method,
	json_t *params, json_t **result, int *code, char *err, size_t errlen);

#endif /* VHSW_CTL_H */
