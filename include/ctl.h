/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl.h - the management protocol shared by vhswd, vhswctl and vhsw-cni:
 * its commands, written once.
 *
 * JSON-RPC 2.0 over a unix stream socket, one request and one reply per
 * line.  Method names are the command words joined by '/', params an object.
 *
 * CTL_COMMANDS is the one table of commands (VPP's VLIB_CLI_COMMAND, OVS's
 * unixctl_command_register): each command's method, help, parameters (key,
 * type, required or not, the port kind they apply to, the CLI option and
 * help) and the name of its action.  Everything reads it: vhswctl's parser
 * (ctl_parse_argv) and help (ctl_usage), vhswd's parameter checks
 * (ctl_check_params, ctl_check_kind) that run before every action, the
 * `help` method, and the --config loader, which runs the same actions.
 * The client (ctl_client.h) is separate.
 *
 * Thread-safety: the table is constant; the functions keep no state.
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

/*
 * A command's parameters.  Positional arguments are entries without an
 * option, in order; options are "--name VALUE" (CTL_OPT; a one-letter
 * option such as `capture`'s "-w" is written with one dash), or take no value
 * (CTL_FLAG sets the key to true, CTL_FLAG_OFF to false, CTL_FLAG_SET to a
 * constant string, so that --client and --server both set "mode").  'kind' limits an entry to
 * one port kind: the value of the command's CTL_KIND argument ("type").
 * A required entry with a kind is required for that kind only.
 *
 * Each macro ends with a comma, so a command's list is one macro argument.
 */
enum ctl_type {
	CTL_T_STRING,
	CTL_T_INT,
	CTL_T_BOOL,
};

struct ctl_param {
	const char *key;    /* the JSON key */
	const char *option; /* "--queues"; NULL: positional */
	const char *value;  /* CTL_FLAG_SET: the string it sets */
	const char *meta;   /* usage placeholder ("N"); NULL for flags */
	const char *kind;   /* port kind it applies to; NULL: all */
	const char *help;
	enum ctl_type type;
	bool required;
	bool selects_kind; /* its value is the port kind */
	bool off;          /* a CTL_FLAG_OFF: sets the key to false */
};

/* clang-format off */
#define CTL_ARG(k, t, req, m, kd, h)                                    \
	{.key = k, .type = CTL_T_##t, .required = req, .meta = m,        \
		.kind = kd, .help = h},
#define CTL_KIND(k, m, h)                                               \
	{.key = k, .type = CTL_T_STRING, .required = true, .meta = m,    \
		.selects_kind = true, .help = h},
#define CTL_OPT(o, k, t, m, kd, h)                                      \
	{.option = o, .key = k, .type = CTL_T_##t, .meta = m, .kind = kd, \
		.help = h},
#define CTL_OPT_REQ(o, k, t, m, h)                                      \
	{.option = o, .key = k, .type = CTL_T_##t, .required = true,     \
		.meta = m, .help = h},
#define CTL_FLAG(o, k, kd, h)                                           \
	{.option = o, .key = k, .type = CTL_T_BOOL, .kind = kd, .help = h},
#define CTL_FLAG_OFF(o, k, kd, h)                                       \
	{.option = o, .key = k, .type = CTL_T_BOOL, .off = true, .kind = kd, \
		.help = h},
#define CTL_FLAG_SET(o, k, v, kd, h)                                    \
	{.option = o, .key = k, .value = v, .type = CTL_T_STRING,         \
		.kind = kd, .help = h},
#define CTL_REQ true
#define CTL_OPTIONAL false

/*
 * The tenant controls (policy.h) of `port add` and `port set`, for every
 * port kind.
 */
#define CTL_TENANT_PARAMS                                                      \
	CTL_OPT("--allowed-macs", "allowed_macs", STRING, "MAC[,MAC]", NULL,   \
		"port security: source MACs the peer may use, up to 8; 'any' " \
		"turns it off (default: --mac when given)")                    \
	CTL_OPT("--allowed-ips", "allowed_ips", STRING, "IP[,IP]", NULL,       \
		"IPv4/IPv6 addresses the peer may claim in ARP and neighbour " \
		"advertisements, up to 8 each; 'any' (default)")               \
	CTL_FLAG_OFF("--no-dhcp-server", "dhcp_server", NULL,                  \
		"drop DHCP and DHCPv6 server messages from the peer")          \
	CTL_FLAG("--dhcp-server", "dhcp_server", NULL,                         \
		"let the peer answer DHCP (the default)")                      \
	CTL_OPT("--max-macs", "max_macs", INT, "N", NULL,                      \
		"learned MACs the port may hold; 0: no limit (default)")       \
	CTL_OPT("--mac-limit-action", "mac_limit_action", STRING,              \
		"drop|forward", NULL,                                          \
		"at --max-macs, drop frames from new MACs (default) or "       \
		"forward them without learning")                               \
	CTL_OPT("--storm-limit-pps", "storm_limit_pps", INT, "N", NULL,        \
		"broadcast, multicast and unknown unicast from the peer: N "   \
		"frames a second each; 0: no limit (default)")                 \
	CTL_FLAG("--isolated", "isolated", NULL,                               \
		"never forward to or from another isolated port")              \
	CTL_FLAG_OFF("--no-isolated", "isolated", NULL,                        \
		"forward to every port (the default)")                         \
	CTL_OPT("--rate-limit", "rate_limit", INT, "MBPS", NULL,               \
		"police what the peer sends to MBPS megabits a second; 0: "    \
		"none (default)")                                              \
	CTL_OPT("--burst", "burst", INT, "KB", NULL,                           \
		"the policer's burst in kilobytes (default: 100 ms at the "    \
		"rate, at least 64)")

/* Receive queues pinned to data-plane threads (port add, port set). */
#define CTL_RXQ_AFFINITY_PARAM                                                 \
	CTL_OPT("--rxq-affinity", "rxq_affinity", STRING, "Q:CPU[,Q:CPU]",     \
		NULL,                                                          \
		"pin receive queue Q to the data-plane thread on CPU (the "    \
		"queues not named are assigned by load; 'none' unpins all)")

/* A port's administrative state (port add, port set, uplink add). */
#define CTL_ADMIN_PARAM                                                        \
	CTL_OPT("--admin", "admin", STRING, "up|down", NULL,                   \
		"down: the switch neither polls nor sends to the port; its "   \
		"peer stays connected (default up)")

/*
 * The commands: X(ID, action, method, help, parameters).  vhswd binds
 * ID to the function act_<action> (switch/control/actions.c; a command without
 * one does not build); ctl.c builds ctl_cmds[] from the rest.
 */
#define CTL_COMMANDS(X)                                                        \
	X(PORT_ADD, port_add, "port/add",                                      \
		"add a port: vhost-user (vhswd listens on SOCKET, or connects "  \
		"to it with --client) or kernel (an interface in the Linux "     \
		"stack, in --netns if given)",                                   \
		CTL_ARG("name", STRING, CTL_REQ, "NAME", NULL,                     \
			"1-31 letters, digits, '_', '.' or '-'")               \
		CTL_KIND("type", "TYPE", "vhost-user or kernel")               \
		CTL_ARG("socket", STRING, CTL_REQ, "SOCKET", "vhost-user",         \
			"the unix socket (under a --socket-dir of vhswd)")     \
		CTL_FLAG_SET("--client", "mode", "client", "vhost-user",       \
			"connect to SOCKET, and again whenever it comes back") \
		CTL_FLAG_SET("--server", "mode", "server", "vhost-user",       \
			"listen on SOCKET (the default)")                      \
		CTL_OPT("--queues", "queues", INT, "N", "vhost-user",          \
			"queue pairs offered, 1-16 (default 1)")               \
		CTL_OPT("--vlan", "vlan", INT, "VID", NULL,                    \
			"access port of VLAN 1-4094; 0: trunk (default)")      \
		CTL_OPT("--mac", "mac", STRING, "MAC", NULL,                   \
			"the peer's MAC, a static FDB entry")                  \
		CTL_OPT("--mtu", "mtu", INT, "N", NULL,                        \
			"largest L3 payload sent to the peer, 68-9710 "        \
			"(default 1500)")                                      \
		CTL_OPT("--owner", "owner", STRING, "UID[:GID]", "vhost-user", \
			"owner of the socket file")                            \
		CTL_OPT("--perm", "perm", STRING, "OCTAL", "vhost-user",       \
			"mode of the socket file, like 0660")                  \
		CTL_FLAG("--queue-stats", "queue_stats", "vhost-user",         \
			"count per queue in librte_vhost (port show, "         \
			"telemetry, /metrics; about 5% more instructions per " \
			"frame)")                                              \
		CTL_FLAG("--iommu", "iommu", "vhost-user",                     \
			"offer VIRTIO_F_IOMMU_PLATFORM: a guest with a "       \
			"vIOMMU (intel-iommu, iommu_platform=on) maps what "   \
			"the switch may touch")                                \
		CTL_FLAG("--postcopy", "postcopy", "vhost-user",               \
			"accept postcopy live migration (QEMU's postcopy-ram;" \
			" the peer's userfaultfd can stall the data plane)")  \
		CTL_OPT("--ifname", "ifname", STRING, "IF", "kernel",          \
			"interface name (default NAME)")                       \
		CTL_OPT("--netns", "netns", STRING, "PATH", "kernel",          \
			"network namespace to create the interface in")        \
		CTL_OPT("--ifmac", "ifmac", STRING, "MAC", "kernel",           \
			"the interface's MAC when it is created (default: "    \
			"random; an existing one keeps its own)")              \
		CTL_ADMIN_PARAM                                                \
		CTL_RXQ_AFFINITY_PARAM                                         \
		CTL_TENANT_PARAMS)                                             \
	X(PORT_SET, port_set, "port/set",                                      \
		"change a port at run time: VLAN, MTU, admin state, receive "    \
		"queue affinity, tenant controls (the options not given keep "   \
		"their values; the uplink takes --mtu, --admin and "             \
		"--rxq-affinity)",                                               \
		CTL_ARG("name", STRING, CTL_REQ, "NAME", NULL, "the port")     \
		CTL_OPT("--vlan", "vlan", INT, "VID", NULL,                    \
			"access port of VLAN 1-4094; 0: trunk (the port's "    \
			"learned entries are flushed)")                        \
		CTL_OPT("--mtu", "mtu", INT, "N", NULL,                        \
			"largest L3 payload sent to the peer, 68-9710 (also "  \
			"set on kernel interfaces and the uplink device)")     \
		CTL_ADMIN_PARAM                                                \
		CTL_RXQ_AFFINITY_PARAM                                         \
		CTL_TENANT_PARAMS)                                             \
	X(PORT_DEL, port_del, "port/del", "remove a port",                     \
		CTL_ARG("name", STRING, CTL_REQ, "NAME", NULL, "the port"))        \
	X(PORT_LIST, port_list, "port/list",                                   \
		"list ports with type, state, socket and counters", )          \
	X(PORT_SHOW, port_show, "port/show",                                   \
		"show one port with its memory regions and vrings",            \
		CTL_ARG("name", STRING, CTL_REQ, "NAME", NULL, "the port"))        \
	X(UPLINK_ADD, uplink_add, "uplink/add",                                \
		"attach the uplink, a DPDK ethdev (netvsc on Hyper-V/WSL2, "     \
		"net_af_packet0,iface=eth1, a PCI address)",                     \
		CTL_ARG("devargs", STRING, CTL_REQ, "DEVARGS", NULL,               \
			"the ethdev's devargs")                                \
		CTL_OPT("--mtu", "mtu", INT, "N", NULL,                        \
			"set the device's MTU, 68-9710 (default: keep it)")    \
		CTL_ADMIN_PARAM                                                \
		CTL_RXQ_AFFINITY_PARAM)                                        \
	X(UPLINK_DEL, uplink_del, "uplink/del",                                \
		"detach the uplink (its device is released and put back as "     \
		"found)", )                                                      \
	X(UPLINK_SHOW, uplink_show, "uplink/show",                             \
		"show the uplink's driver, link, MAC, MTU and counters", )     \
	X(FDB_SHOW, fdb_show, "fdb/show",                                      \
		"show learned and static MAC entries",                         \
		CTL_ARG("port", STRING, CTL_OPTIONAL, "PORT", NULL,                \
			"only this port's entries"))                           \
	X(FDB_FLUSH, fdb_flush, "fdb/flush", "remove learned entries",         \
		CTL_ARG("port", STRING, CTL_OPTIONAL, "PORT", NULL,                \
			"only this port's entries"))                           \
	X(FDB_ADD, fdb_add, "fdb/add", "add a static entry (never ages)",      \
		CTL_ARG("mac", STRING, CTL_REQ, "MAC", NULL, "a unicast MAC")      \
		CTL_ARG("port", STRING, CTL_REQ, "PORT", NULL, "its port")         \
		CTL_OPT("--vlan", "vlan", INT, "VID", NULL,                    \
			"its VLAN (default: the port's)"))                     \
	X(FDB_DEL, fdb_del, "fdb/del", "delete an entry",                      \
		CTL_ARG("mac", STRING, CTL_REQ, "MAC", NULL, "the MAC")            \
		CTL_OPT("--vlan", "vlan", INT, "VID", NULL,                    \
			"its VLAN (default 0)"))                               \
	X(FDB_SET_AGING, fdb_set_aging, "fdb/set/aging",                       \
		"set the aging time of learned entries",                       \
		CTL_ARG("aging", INT, CTL_REQ, "SECONDS", NULL,                    \
			"0 (never) to 1000000"))                               \
	X(FDB_SET_LIMIT, fdb_set_limit, "fdb/set/limit",                       \
		"set the maximum number of learned entries",                   \
		CTL_ARG("limit", INT, CTL_REQ, "N", NULL,                          \
			"1 to the table's capacity"))                          \
	X(FDB_SET_MOVE_LIMIT, fdb_set_move_limit, "fdb/set/move-limit",        \
		"freeze a MAC that moves between ports more than N times a "     \
		"second on its original port for a few seconds",                \
		CTL_ARG("move_limit", INT, CTL_REQ, "N", NULL,                 \
			"moves a second, 0 (off) to 10000; default 10"))       \
	X(MIRROR_ADD, mirror_add, "mirror/add",                                \
		"mirror the frames of source ports to a destination port, "      \
		"unchanged; the destination then only sends what is mirrored "   \
		"(it is neither polled nor flooded to)",                         \
		CTL_ARG("name", STRING, CTL_REQ, "NAME", NULL,                     \
			"1-31 letters, digits, '_', '.' or '-'")               \
		CTL_OPT_REQ("--src", "src", STRING, "PORT[,PORT]",             \
			"the ports whose frames are mirrored")                 \
		CTL_OPT_REQ("--dst", "dst", STRING, "PORT",                    \
			"the port the copies go to (no --mac, no static FDB "  \
			"entries; not a source of any mirror)")                \
		CTL_OPT("--direction", "direction", STRING, "rx|tx|both", NULL, \
			"rx: what the sources' peers send; tx: what the "      \
			"sources send to their peers; both (default)"))        \
	X(MIRROR_DEL, mirror_del, "mirror/del", "remove a mirror",             \
		CTL_ARG("name", STRING, CTL_REQ, "NAME", NULL, "the mirror"))      \
	X(MIRROR_LIST, mirror_list, "mirror/list",                             \
		"list mirrors with their ports and the destination's "           \
		"counters", )                                                    \
	X(DATAPLANE_SHOW, dataplane_show, "dataplane/show",                   \
		"show the data-plane threads, their CPUs and load, and which "   \
		"receive queues each one polls (with each queue's share of "     \
		"its thread over the last second)", )                            \
	X(DATAPLANE_REBALANCE, dataplane_rebalance, "dataplane/rebalance",     \
		"assign the receive queues to the threads again by the load "    \
		"measured since the last assignment (pinned queues stay)", )     \
	X(DATAPLANE_SET_POLL_MODE, dataplane_set_poll_mode,                    \
		"dataplane/set/poll-mode",                                     \
		"switch the data plane's polling mode at run time",            \
		CTL_ARG("mode", STRING, CTL_REQ, "busy|adaptive", NULL,            \
			"busy: always poll; adaptive: sleep when idle"))       \
	X(STATS, stats, "stats", "show (or clear) counters",                   \
		CTL_ARG("port", STRING, CTL_OPTIONAL, "PORT", NULL,                \
			"only this port's counters")                           \
		CTL_FLAG("--clear", "clear", NULL,                             \
			"zero them; the reply counts from then")               \
		CTL_FLAG("--describe", "describe", NULL,                       \
			"say what each one means instead (no PORT, no "        \
			"--clear)"))                                           \
	X(LOG_SET, log_set, "log/set",                                         \
		"change the log level of a module at run time (not saved)",   \
		CTL_ARG("module", STRING, CTL_REQ, "MODULE|all", NULL,         \
			"main, vhost, uplink, fdb, dp, ctl, state, service; "  \
			"all: every vhsw module; or a DPDK log type by its "   \
			"full name or a pattern (lib.vhost.*)")                \
		CTL_ARG("level", STRING, CTL_REQ, "LEVEL", NULL,               \
			"emerg|alert|crit|err|warning|notice|info|debug"))     \
	X(LOG_SHOW, log_show, "log/show",                                      \
		"list the log modules and their levels",                       \
		CTL_FLAG("--dpdk", "dpdk", NULL,                               \
			"also DPDK's own log types"))                          \
	X(CONFIG_SAVE, config_save, "config/save",                             \
		"write the running configuration as JSON",                     \
		CTL_ARG("file", STRING, CTL_OPTIONAL, "FILE", NULL,                \
			"default: the --config file"))                         \
	X(DOCTOR, doctor, "doctor",                                            \
		"check the host for what vhsw needs (hugepages, THP, "           \
		"vhost-net/TAP, Hyper-V/WSL2 VMBus NICs and SWIOTLB, "           \
		"IOMMU/vfio, CPU isolation, socket directories, the daemon) "    \
		"and say how to fix each finding; vhswctl runs it without "      \
		"vhswd; exit status 1 if any finding is an error",              \
		CTL_OPT("--root", "root", STRING, "DIR", NULL,                 \
			"check the tree below DIR instead of / (tests with a " \
			"fake sysfs and procfs; vhswctl only)"))               \
	X(CAPTURE, capture, "capture",                                         \
		"capture a port's frames as pcapng to FILE, or to stdout with "  \
		"'-w -' (for tcpdump -r - or Wireshark); returns after --count " \
		"frames or on SIGINT",                                           \
		CTL_ARG("port", STRING, CTL_REQ, "PORT", NULL, "the port")         \
		CTL_OPT("--direction", "direction", STRING, "rx|tx|both", NULL, \
			"rx: what the port's peer sends; tx: what the switch " \
			"sends it; both (default)")                            \
		CTL_OPT("--filter", "filter", STRING, "EXPR", NULL,             \
			"a tcpdump filter expression (pcap-filter(7)); "       \
			"default: every frame")                                \
		CTL_OPT("--count", "count", INT, "N", NULL,                    \
			"stop after N frames (default: until SIGINT)")         \
		CTL_OPT("--snaplen", "snaplen", INT, "N", NULL,                \
			"bytes kept of each frame, 64-262144 (default 262144)") \
		CTL_OPT("-w", "file", STRING, "FILE|-", NULL,                  \
			"where vhswctl writes the capture ('-': stdout, not "  \
			"a terminal); vhswd only shows the name"))             \
	X(CAPTURE_LIST, capture_list, "capture/list",                          \
		"list capture sessions (running and recently ended) with "       \
		"their port, direction, filter and counters", )                  \
	X(CAPTURE_STOP, capture_stop, "capture/stop",                          \
		"stop a capture session (its vhswctl finishes the file); on an " \
		"ended session, show its final counters",                        \
		CTL_ARG("id", INT, CTL_REQ, "ID", NULL,                            \
			"the session (capture list)"))                         \
	X(VERSION, version, "version", "show the daemon's version", )          \
	X(HELP, help, "help", "list commands", )
/* clang-format on */

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
	const char *help;
	const struct ctl_param *params; /* ends with key == NULL */
};

extern const struct ctl_cmd ctl_cmds[CTL_CMD_COUNT];

/* The command with this method name, or NULL. */
const struct ctl_cmd *ctl_cmd_find(const char *method);

/* Number of command words of 'method' ("fdb/set/aging" -> 3). */
int ctl_method_words(const char *method);
/* Whether the first 'n' words of 'method' are argv[0..n). */
bool ctl_words_match(const char *method, int n, char **argv);
/*
 * The command whose words begin argv (the longest match), or NULL;
 * '*nwords' is set to its number of words.
 */
const struct ctl_cmd *ctl_find_cmd(int argc, char **argv, int *nwords);

/*
 * Parses a command line (argv after the global options) into a method and
 * a params object ("--" ends the options: every argument after it is
 * positional).  Returns the command, or NULL with a message in 'err'
 * (usage error).
 */
const struct ctl_cmd *ctl_parse_argv(
	int argc, char **argv, json_t **params, char *err, size_t errlen);

/*
 * Checks 'params' against the command's table: unknown keys, wrong types,
 * missing required ones.  What vhswd runs before every action, whether the
 * request came from a client or the --config file.  0, or -1 with a
 * message in 'err'.
 */
int ctl_check_params(const struct ctl_cmd *cmd, const json_t *params, char *err,
	size_t errlen);

/*
 * Checks the kind-specific keys of a command with a CTL_KIND argument:
 * each present key applies to 'kind', and the keys 'kind' requires are
 * there.  0, or -1 with a message in 'err'.
 */
int ctl_check_kind(const struct ctl_cmd *cmd, const json_t *params,
	const char *kind, char *err, size_t errlen);

/*
 * The usage line of a command ("NAME vhost-user SOCKET [--client] ..."),
 * for port kind 'kind' (the arguments of that kind and of all kinds), or
 * for every kind when NULL.  Returns 'buf'.
 */
const char *ctl_usage(
	const struct ctl_cmd *cmd, const char *kind, char *buf, size_t len);

/*
 * The i-th port kind a command's parameters name (in table order), or NULL
 * past the last one.
 */
const char *ctl_cmd_kind(const struct ctl_cmd *cmd, int i);

#endif /* VHSW_CTL_H */
