/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhswctl.c - the management CLI.
 *
 * Parses the command line with the shared command table (ctl.h), sends one
 * JSON-RPC request to vhswd and prints the result: exactly one JSON document
 * with --json, readable text otherwise (never raw JSON).  vhswctl's own
 * options (--json, --ctl PATH, --help, --version) may stand anywhere on
 * the command line (parse_globals).
 *
 * Text output: each method with a printer of its own is in 'printers'
 * (tables and sections built with text.h); every other method, including
 * ones added later, goes through print_generic, which renders any reply
 * by the rules of text.h.  A new command adds a row to 'printers' only if
 * the generic rendering does not suit it.
 *
 * `doctor` runs here, without vhswd (doctor.h).
 *
 * `capture` opens its output itself (FILE, or stdout for '-'), passes the
 * write end of a pipe with its request and copies the pipe to the output
 * until vhswd closes it; SIGINT/SIGTERM send `capture/stop`.  vhswd never
 * opens a user's path.
 *
 * Exit status: 0 success; 1 the daemon refused (doctor: an error
 * finding); 2 usage error; 3 cannot reach the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "ctl_client.h"
#include "doctor.h"
#include "text.h"

enum {
	EXIT_REFUSED = 1,
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3,
};

/*
 * Prints 'prefix' and 'text' from column 'indent', wrapped at 79 columns;
 * continuation lines start under the text.
 */
static void
print_wrapped(FILE *f, int indent, const char *prefix, const char *text)
{
	int start = indent + (int)strlen(prefix), col = start, k;
	const char *w = text;
	bool first = true;

	fprintf(f, "%*s%s", indent, "", prefix);
	for (;;) {
		while (*w == ' ')
			w++;
		k = (int)strcspn(w, " ");
		if (k == 0)
			break;
		if (!first && col + 1 + k > 79) {
			fprintf(f, "\n%*s", start, "");
			col = start;
		} else if (!first) {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%.*s", k, w);
		col += k;
		w += k;
		first = false;
	}
	fputc('\n', f);
}

/* One command's help: its usage line(s), what it does, its parameters
 * (names in a column as wide as the longest, help wrapped beside it). */
static void
usage_cmd(FILE *f, const struct ctl_cmd *cmd)
{
	const struct ctl_param *p;
	char words[64], line[512], name[64], prefix[80];
	const char *kind;
	int i, w = 0;
	size_t k;

	snprintf(words, sizeof(words), "%s", cmd->method);
	for (k = 0; words[k]; k++)
		if (words[k] == '/')
			words[k] = ' ';
	for (i = 0; (kind = ctl_cmd_kind(cmd, i)) != NULL; i++)
		fprintf(f, "  %s %s\n", words,
			ctl_usage(cmd, kind, line, sizeof(line)));
	if (i == 0)
		fprintf(f, "  %s%s%s\n", words,
			ctl_usage(cmd, NULL, line, sizeof(line))[0] ? " " : "",
			line);
	print_wrapped(f, 6, "", cmd->help);
	for (p = cmd->params; p->key != NULL; p++) {
		i = snprintf(name, sizeof(name), "%s%s%s",
			p->option ? p->option : "",
			p->option && p->meta ? " " : "",
			p->meta ? p->meta : "");
		w = i > w ? i : w;
	}
	w = w > 20 ? 20 : w;
	for (p = cmd->params; p->key != NULL; p++) {
		snprintf(name, sizeof(name), "%s%s%s",
			p->option ? p->option : "",
			p->option && p->meta ? " " : "",
			p->meta ? p->meta : "");
		snprintf(line, sizeof(line), "%s%s%s%s", p->help,
			p->kind ? " [" : "", p->kind ? p->kind : "",
			p->kind ? "]" : "");
		/* A name wider than the column: its help on the next line. */
		if ((int)strlen(name) > w) {
			fprintf(f, "        %s\n", name);
			name[0] = '\0';
		}
		snprintf(prefix, sizeof(prefix), "%-*s  ", w, name);
		print_wrapped(f, 8, prefix, line);
	}
}

static void
usage(FILE *f)
{
	int i;

	fprintf(f,
		"usage: vhswctl [--ctl PATH] [--json] COMMAND [ARGS]\n"
		"       vhswctl COMMAND --help | --help | --version\n\n"
		"--json (one JSON document on stdout) and --ctl PATH may also "
		"follow the\ncommand and its arguments; after \"--\" "
		"nothing is an option.\n\n"
		"commands:\n");
	for (i = 0; i < CTL_CMD_COUNT; i++)
		usage_cmd(f, &ctl_cmds[i]);
	fprintf(f,
		"\nThe management socket is --ctl PATH, else $%s, else %s.\n",
		CTL_ENV_SOCKET, CTL_DEFAULT_SOCKET);
}

static const char *
sv(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : "-";
}

static long long
iv(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* Where a port leads: its socket, kernel interface (in its namespace) or
 * device. */
static const char *
endpoint(json_t *p, char *buf, size_t len)
{
	if (json_is_string(json_object_get(p, "socket")))
		return sv(p, "socket");
	if (json_is_string(json_object_get(p, "netns"))) {
		snprintf(buf, len, "%s in %s", sv(p, "ifname"), sv(p, "netns"));
		return buf;
	}
	if (json_is_string(json_object_get(p, "ifname")))
		return sv(p, "ifname");
	return sv(p, "devargs");
}

static void
print_port_list(json_t *params, json_t *a)
{
	static const struct {
		const char *header;
		enum text_align align;
	} cols[] = {
		{"NAME", TEXT_LEFT},
		{"TYPE", TEXT_LEFT},
		{"STATE", TEXT_LEFT},
		{"ADMIN", TEXT_LEFT},
		{"MODE", TEXT_LEFT},
		{"VLAN", TEXT_RIGHT},
		{"MTU", TEXT_RIGHT},
		{"RX_PACKETS", TEXT_RIGHT},
		{"TX_PACKETS", TEXT_RIGHT},
		{"DROPPED", TEXT_RIGHT},
		{"ENDPOINT", TEXT_LEFT},
	};
	struct text_table *t = text_table_new();
	char buf[4200];
	json_t *p, *st;
	size_t i;

	for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		text_table_col(t, cols[i].header, cols[i].align);
	json_array_foreach(a, i, p)
	{
		st = json_object_get(p, "stats");
		text_table_add(t, "%s", sv(p, "name"));
		text_table_add(t, "%s", sv(p, "type"));
		text_table_add(t, "%s", sv(p, "state"));
		text_table_add(t, "%s", sv(p, "admin"));
		text_table_add(t, "%s", sv(p, "mode"));
		text_table_add_json(t, json_object_get(p, "vlan"));
		text_table_add_json(t, json_object_get(p, "mtu"));
		text_table_add(t, "%lld", iv(st, "rx_packets"));
		text_table_add(t, "%lld", iv(st, "tx_packets"));
		text_table_add(
			t, "%lld", iv(st, "rx_dropped") + iv(st, "tx_dropped"));
		text_table_add(t, "%s", endpoint(p, buf, sizeof(buf)));
	}
	text_table_print(t, stdout, 0);
	text_table_free(t);
}

static bool
in_list(const char *const *list, const char *key)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, key) == 0)
			return true;
	return false;
}

/*
 * `port show`: the port's identity (every scalar member not below), then
 * the sections "peer" (the vhost-user connection, features decoded) and
 * "tenant controls", then memory regions and vrings as tables and every
 * counter.  Members added later land in the identity list or as their own
 * section; none is left out.
 */
static void
print_port(json_t *params, json_t *p)
{
	static const char *const peer_keys[] = {"connected", "active_queues",
		"features", "protocol_features", "resets", "disconnects",
		"refused", "violations", "mem_faults", "last_error", NULL};
	static const char *const tenant_keys[] = {"allowed_macs", "allowed_ips",
		"dhcp_server", "max_macs", "mac_limit_action",
		"storm_limit_pps", "isolated", "rate_limit", "burst", NULL};
	json_t *o = json_object(), *peer = json_object(),
	       *tenant = json_object(), *v;
	const char *key;

	json_object_foreach(p, key, v)
	{
		if (in_list(peer_keys, key))
			json_object_set(peer, key, v);
		else if (in_list(tenant_keys, key))
			json_object_set(tenant, key, v);
		else if (text_is_flat(v))
			json_object_set(o, key, v);
	}
	if (json_object_size(peer) > 0)
		json_object_set(o, "peer", peer);
	if (json_object_size(tenant) > 0)
		json_object_set(o, "tenant controls", tenant);
	json_object_foreach(p, key, v)
	{
		if (!text_is_flat(v) && !in_list(peer_keys, key) &&
			!in_list(tenant_keys, key))
			json_object_set(o, key, v);
	}
	text_json(stdout, 0, o);
	json_decref(peer);
	json_decref(tenant);
	json_decref(o);
}

static void
print_fdb(json_t *params, json_t *a)
{
	struct text_table *t = text_table_new();
	json_t *e;
	size_t i;

	text_table_col(t, "MAC", TEXT_LEFT);
	text_table_col(t, "VLAN", TEXT_RIGHT);
	text_table_col(t, "PORT", TEXT_LEFT);
	text_table_col(t, "TYPE", TEXT_LEFT);
	text_table_col(t, "AGE", TEXT_RIGHT);
	json_array_foreach(a, i, e)
	{
		text_table_add(t, "%s", sv(e, "mac"));
		text_table_add_json(t, json_object_get(e, "vlan"));
		text_table_add(t, "%s", sv(e, "port"));
		text_table_add(t, "%s%s",
			json_is_true(json_object_get(e, "static")) ? "static"
								   : "learned",
			json_is_true(json_object_get(e, "frozen")) ? ", frozen"
								   : "");
		text_table_add_json(t, json_object_get(e, "age"));
	}
	text_table_print(t, stdout, 0);
	text_table_free(t);
}

/* Width of 'v' as text_value() renders it. */
static size_t
value_width(const json_t *v)
{
	char *s = text_value(v);
	size_t n = s ? strlen(s) : 0;

	free(s);
	return n;
}

/*
 * The port counters of `stats`, transposed: one row per counter, one
 * column per port, as many ports side by side as fit in TEXT_WIDTH (more
 * ports: further blocks of columns).
 */
static void
print_port_counters(json_t *ports)
{
	json_t *keys = json_object(), *st, *v;
	size_t first = 0, n = json_object_size(ports), i, w, kw;
	const char **names = calloc(n + 1, sizeof(*names));
	size_t *widths = calloc(n + 1, sizeof(*widths));
	struct text_table *t;
	const char *name, *key;

	if (names == NULL || widths == NULL)
		goto out;
	kw = strlen("COUNTER");
	i = 0;
	json_object_foreach(ports, name, st)
	{
		names[i] = name;
		widths[i] = strlen(name);
		json_object_foreach(st, key, v)
		{
			if (!text_is_flat(v))
				continue;
			json_object_set_new(keys, key, json_null());
			if (strlen(key) > kw)
				kw = strlen(key);
			if (value_width(v) > widths[i])
				widths[i] = value_width(v);
		}
		i++;
	}
	while (first < n) {
		w = kw;
		for (i = first; i < n &&
			(i == first || w + 2 + widths[i] <= TEXT_WIDTH);
			i++)
			w += 2 + widths[i];
		t = text_table_new();
		text_table_col(t, "COUNTER", TEXT_LEFT);
		for (w = first; w < i; w++)
			text_table_col(t, names[w], TEXT_RIGHT);
		json_object_foreach(keys, key, v)
		{
			text_table_add(t, "%s", key);
			for (w = first; w < i; w++)
				text_table_add_json(t,
					json_object_get(json_object_get(ports,
								names[w]),
						key));
		}
		if (first > 0)
			putchar('\n');
		text_table_print(t, stdout, 0);
		text_table_free(t);
		first = i;
	}
	/* What does not fit a cell (per-queue lists, ...), port by port. */
	json_object_foreach(ports, name, st)
	{
		json_object_foreach(st, key, v)
		{
			if (text_is_flat(v))
				continue;
			printf("\n%s %s:\n", name, key);
			text_json(stdout, 2, v);
		}
	}
out:
	free(names);
	free(widths);
	json_decref(keys);
}

/*
 * A port's counters with each object of plain values spread into rows
 * "key.member" ({"drops": {"runt": 1}} -> "drops.runt"); lists stay.
 */
static json_t *
spread_counters(json_t *st)
{
	json_t *o = json_object(), *v, *e;
	const char *key, *sub;
	char name[256];
	bool plain;

	json_object_foreach(st, key, v)
	{
		plain = json_is_object(v) && json_object_size(v) > 0;
		json_object_foreach(v, sub, e) plain = plain && text_is_flat(e);
		if (!plain) {
			json_object_set(o, key, v);
			continue;
		}
		json_object_foreach(v, sub, e)
		{
			snprintf(name, sizeof(name), "%s.%s", key, sub);
			json_object_set(o, name, e);
		}
	}
	return o;
}

static void
print_stats(json_t *params, json_t *r)
{
	json_t *ports = json_object_get(r, "ports"), *rest, *spread, *st;
	const char *name;

	if (json_is_true(json_object_get(params, "describe")) ||
		!json_is_object(ports)) {
		text_json(stdout, 0, r);
		return;
	}
	spread = json_object();
	json_object_foreach(ports, name, st)
		json_object_set_new(spread, name, spread_counters(st));
	if (json_object_size(ports) == 0)
		printf("no ports\n");
	else
		print_port_counters(spread);
	json_decref(spread);
	rest = json_deep_copy(r);
	json_object_del(rest, "ports");
	if (json_object_size(rest) > 0) {
		putchar('\n');
		text_json(stdout, 0, rest);
	}
	json_decref(rest);
}

static void
print_version(json_t *params, json_t *r)
{
	struct text_table *t = text_table_new();

	text_table_col(t, NULL, TEXT_LEFT);
	text_table_col(t, NULL, TEXT_LEFT);
	text_table_add(t, "vhswd");
	text_table_add(t, "%s", sv(r, "version"));
	text_table_add(t, "dpdk");
	text_table_add(t, "%s", sv(r, "dpdk"));
	text_table_add(t, "vhswctl");
	text_table_add(t, "%s", VHSW_VERSION);
	text_table_print(t, stdout, 0);
	text_table_free(t);
}

/* Short confirmations of the commands that change something. */
static void
print_port_added(json_t *params, json_t *r)
{
	char buf[4200];

	printf("added port %s (%s, %s)\n", sv(r, "name"), sv(r, "type"),
		endpoint(r, buf, sizeof(buf)));
}

static void
print_uplink_added(json_t *params, json_t *r)
{
	printf("added the uplink %s (driver %s, %s)\n", sv(r, "devargs"),
		sv(r, "driver"), sv(r, "state"));
}

static void
print_port_set(json_t *params, json_t *r)
{
	const char *key;
	json_t *v;
	char *s;

	printf("port %s:", sv(params, "name"));
	json_object_foreach(params, key, v)
	{
		if (strcmp(key, "name") == 0)
			continue;
		s = text_value(v);
		printf(" %s=%s", key, s ? s : "");
		free(s);
	}
	printf(" (state %s, admin %s)\n", sv(r, "state"), sv(r, "admin"));
}

static void
print_port_del(json_t *params, json_t *r)
{
	printf("deleted port %s\n", sv(params, "name"));
}

static void
print_uplink_del(json_t *params, json_t *r)
{
	printf("detached the uplink\n");
}

static void
print_fdb_add(json_t *params, json_t *r)
{
	printf("added static entry %s on port %s", sv(params, "mac"),
		sv(params, "port"));
	if (json_is_integer(json_object_get(params, "vlan")))
		printf(" in VLAN %lld", iv(params, "vlan"));
	putchar('\n');
}

static void
print_fdb_del(json_t *params, json_t *r)
{
	printf("deleted entry %s in VLAN %lld\n", sv(params, "mac"),
		iv(params, "vlan"));
}

static void
print_fdb_flush(json_t *params, json_t *r)
{
	printf("flushed %lld learned entries", iv(r, "flushed"));
	if (json_is_string(json_object_get(params, "port")))
		printf(" of port %s", sv(params, "port"));
	putchar('\n');
}

static void
print_fdb_aging(json_t *params, json_t *r)
{
	if (iv(params, "aging") == 0)
		printf("learned entries never age\n");
	else
		printf("aging time set to %lld s\n", iv(params, "aging"));
}

static void
print_fdb_limit(json_t *params, json_t *r)
{
	printf("learned-entry limit set to %lld\n", iv(params, "limit"));
}

static void
print_fdb_move_limit(json_t *params, json_t *r)
{
	if (iv(params, "move_limit") == 0)
		printf("MAC move limit off\n");
	else
		printf("MAC move limit set to %lld moves a second\n",
			iv(params, "move_limit"));
}

static void
print_poll_mode(json_t *params, json_t *r)
{
	printf("poll mode set to %s\n", sv(params, "mode"));
}

/*
 * `dataplane show`, like OVS's dpif-netdev/pmd-rxq-show: a line per
 * thread, then its receive queues with their share of the last second.
 */
static void
print_dataplane(json_t *params, json_t *r)
{
	json_t *threads = json_object_get(r, "threads"), *t, *q;
	struct text_table *tab;
	double busy, idle;
	size_t i, k;

	(void)params;
	printf("poll mode %s, assignment by %s, rebalance every %lld s "
	       "(%lld done)\n",
		sv(r, "poll_mode"), sv(r, "assignment"),
		(long long)iv(r, "rebalance_interval"),
		(long long)iv(r, "rebalances"));
	json_array_foreach(threads, i, t)
	{
		busy = (double)iv(t, "busy_cycles");
		idle = (double)iv(t, "idle_cycles");
		printf("thread %lld, CPU %lld: %lld packets, busy %.1f%% of "
		       "its polling cycles, %lld sleeps\n",
			(long long)iv(t, "index"), (long long)iv(t, "cpu"),
			(long long)iv(t, "packets"),
			busy + idle > 0 ? 100.0 * busy / (busy + idle) : 0.0,
			(long long)iv(t, "sleeps"));
		tab = text_table_new();
		text_table_col(tab, "PORT", TEXT_LEFT);
		text_table_col(tab, "QUEUE", TEXT_RIGHT);
		text_table_col(tab, "STATE", TEXT_LEFT);
		text_table_col(tab, "PINNED", TEXT_LEFT);
		text_table_col(tab, "LOAD", TEXT_RIGHT);
		text_table_col(tab, "PACKETS", TEXT_RIGHT);
		json_array_foreach(json_object_get(t, "rxqs"), k, q)
		{
			text_table_add(tab, "%s", sv(q, "port"));
			text_table_add_json(tab, json_object_get(q, "queue"));
			text_table_add(tab, "%s",
				json_is_true(json_object_get(q, "enabled"))
					? "enabled"
					: "disabled");
			text_table_add(tab, "%s",
				json_is_true(json_object_get(q, "pinned"))
					? "yes"
					: "no");
			text_table_add(tab, "%.1f%%",
				json_number_value(
					json_object_get(q, "load_pct")));
			text_table_add_json(tab, json_object_get(q, "packets"));
		}
		if (text_table_rows(tab) > 0)
			text_table_print(tab, stdout, 2);
		else
			printf("  (no receive queues)\n");
		text_table_free(tab);
	}
}

/* `dataplane rebalance`: whether queues moved, then the new view. */
static void
print_rebalance(json_t *params, json_t *r)
{
	printf("%s\n",
		json_is_true(json_object_get(r, "moved"))
			? "receive queues reassigned"
			: "the assignment stays as it is");
	print_dataplane(params, json_object_get(r, "dataplane"));
}

static void
print_config_save(json_t *params, json_t *r)
{
	printf("saved the configuration to %s\n", sv(r, "file"));
}

/*
 * Every command without a printer of its own: "ok" for an empty reply,
 * else the reply rendered by the text.h rules (never raw JSON).
 */
static void
print_generic(json_t *params, json_t *r)
{
	if (json_is_null(r) || (json_is_object(r) && json_object_size(r) == 0))
		printf("ok\n");
	else
		text_json(stdout, 0, r);
}

/* Room for a mirror's sources, comma-separated (the list is bounded). */
#define VHSW_MIRROR_SRC_TEXT 4096

/* `mirror list`, and `mirror add`'s reply: one row per mirror. */
static void
print_mirror_list(json_t *params, json_t *r)
{
	json_t *a = json_is_array(r) ? json_incref(r) : json_pack("[O]", r);
	struct text_table *t = text_table_new();
	char src[VHSW_MIRROR_SRC_TEXT];
	json_t *m, *v;
	size_t i, j, n;

	(void)params;
	text_table_col(t, "NAME", TEXT_LEFT);
	text_table_col(t, "DIRECTION", TEXT_LEFT);
	text_table_col(t, "DST", TEXT_LEFT);
	text_table_col(t, "STATE", TEXT_LEFT);
	text_table_col(t, "TX_PACKETS", TEXT_RIGHT);
	text_table_col(t, "DROPPED", TEXT_RIGHT);
	text_table_col(t, "SRC", TEXT_LEFT);
	json_array_foreach(a, i, m)
	{
		text_table_add(t, "%s", sv(m, "name"));
		text_table_add(t, "%s", sv(m, "direction"));
		text_table_add(t, "%s", sv(m, "dst"));
		text_table_add(t, "%s", sv(m, "dst_state"));
		text_table_add_json(t, json_object_get(m, "dst_tx_packets"));
		text_table_add_json(t, json_object_get(m, "dst_tx_dropped"));
		src[0] = '\0';
		json_array_foreach(json_object_get(m, "src"), j, v)
		{
			n = strlen(src);
			snprintf(src + n, sizeof(src) - n, "%s%s", j ? "," : "",
				json_is_string(v) ? json_string_value(v) : "?");
		}
		text_table_add(t, "%s", src);
	}
	text_table_print(t, stdout, 0);
	text_table_free(t);
	json_decref(a);
}

/* `log set`: what changed. */
static void
print_log_set(json_t *params, json_t *r)
{
	(void)params;
	printf("%s: %s (%lld log type%s)\n", sv(r, "module"), sv(r, "level"),
		iv(r, "types"), iv(r, "types") == 1 ? "" : "s");
}

/* `log show`: one module a row. */
static void
print_log_show(json_t *params, json_t *r)
{
	struct text_table *t = text_table_new();
	json_t *e;
	size_t i;

	(void)params;
	text_table_col(t, "MODULE", TEXT_LEFT);
	text_table_col(t, "LOG TYPE", TEXT_LEFT);
	text_table_col(t, "LEVEL", TEXT_LEFT);
	json_array_foreach(json_object_get(r, "modules"), i, e)
	{
		text_table_add(t, "%s", sv(e, "module"));
		text_table_add(t, "%s", sv(e, "name"));
		text_table_add(t, "%s", sv(e, "level"));
	}
	text_table_print(t, stdout, 0);
	text_table_free(t);
}

/* `capture list`: one session a row. */
static void
print_capture_list(json_t *params, json_t *a)
{
	static const char *const cols[] = {
		"seen", "matched", "written", "dropped"};
	struct text_table *t = text_table_new();
	json_t *s;
	size_t i, k;

	(void)params;
	text_table_col(t, "ID", TEXT_RIGHT);
	text_table_col(t, "PORT", TEXT_LEFT);
	text_table_col(t, "DIR", TEXT_LEFT);
	text_table_col(t, "STATE", TEXT_LEFT);
	text_table_col(t, "SEEN", TEXT_RIGHT);
	text_table_col(t, "MATCHED", TEXT_RIGHT);
	text_table_col(t, "WRITTEN", TEXT_RIGHT);
	text_table_col(t, "DROPPED", TEXT_RIGHT);
	text_table_col(t, "FILTER", TEXT_LEFT);
	json_array_foreach(a, i, s)
	{
		text_table_add_json(t, json_object_get(s, "id"));
		text_table_add(t, "%s", sv(s, "port"));
		text_table_add(t, "%s", sv(s, "direction"));
		text_table_add(t, "%s", sv(s, "state"));
		for (k = 0; k < sizeof(cols) / sizeof(cols[0]); k++)
			text_table_add_json(t, json_object_get(s, cols[k]));
		text_table_add(t, "%s", sv(s, "filter"));
	}
	text_table_print(t, stdout, 0);
	text_table_free(t);
}

/* The text printer of each method; a method not listed: print_generic. */
static const struct {
	const char *method;
	void (*print)(json_t *params, json_t *result);
} printers[] = {
	{"capture/list", print_capture_list},
	{"config/save", print_config_save},
	{"dataplane/rebalance", print_rebalance},
	{"dataplane/set/poll-mode", print_poll_mode},
	{"dataplane/show", print_dataplane},
	{"fdb/add", print_fdb_add},
	{"fdb/del", print_fdb_del},
	{"fdb/flush", print_fdb_flush},
	{"fdb/set/aging", print_fdb_aging},
	{"fdb/set/limit", print_fdb_limit},
	{"fdb/set/move-limit", print_fdb_move_limit},
	{"fdb/show", print_fdb},
	{"log/set", print_log_set},
	{"log/show", print_log_show},
	{"mirror/add", print_mirror_list},
	{"mirror/list", print_mirror_list},
	{"port/add", print_port_added},
	{"port/del", print_port_del},
	{"port/list", print_port_list},
	{"port/set", print_port_set},
	{"port/show", print_port},
	{"stats", print_stats},
	{"uplink/add", print_uplink_added},
	{"uplink/del", print_uplink_del},
	{"uplink/show", print_generic},
	{"version", print_version},
};

static void
print_result(const struct ctl_cmd *cmd, json_t *params, json_t *r)
{
	size_t i;

	for (i = 0; i < sizeof(printers) / sizeof(printers[0]); i++) {
		if (strcmp(printers[i].method, cmd->method) == 0) {
			printers[i].print(params, r);
			return;
		}
	}
	print_generic(params, r);
}

/* The doctor report as text: one line per finding, details and fix for
 * those that are not ok. */
static void
print_doctor(json_t *r)
{
	json_t *f, *c = json_object_get(r, "counts");
	size_t i;

	printf("%-8s %-20s %s\n", "SEVERITY", "CHECK", "FINDING");
	json_array_foreach(json_object_get(r, "findings"), i, f)
	{
		/* A check id wider than its column (vmbus.nic.UUID): the
		 * finding on the next line, under FINDING. */
		if (strlen(sv(f, "id")) > 20)
			printf("%-8s %s\n%30s%s\n", sv(f, "severity"),
				sv(f, "id"), "", sv(f, "summary"));
		else
			printf("%-8s %-20s %s\n", sv(f, "severity"),
				sv(f, "id"), sv(f, "summary"));
		if (strcmp(sv(f, "severity"), "ok") == 0)
			continue;
		if (sv(f, "details")[0] != '\0' &&
			strcmp(sv(f, "details"), "-") != 0)
			print_wrapped(stdout, 9, "", sv(f, "details"));
		if (json_is_string(json_object_get(f, "fix")))
			print_wrapped(stdout, 9, "fix: ", sv(f, "fix"));
	}
	printf("\n%lld ok, %lld info, %lld warn, %lld error (root %s)\n",
		iv(c, "ok"), iv(c, "info"), iv(c, "warn"), iv(c, "error"),
		sv(r, "root"));
}

/* `vhswctl doctor`: the checks run here; 1 if any finding is an error. */
static int
run_doctor(json_t *params, const char *ctl_opt, bool as_json)
{
	const char *root = sv(params, "root");
	struct doctor_opts o = {
		.root = strcmp(root, "-") == 0 ? "/" : root,
		.ctl_path = ctl_socket_path(ctl_opt),
		.probe_daemon = true,
	};
	struct stat st;
	json_t *r;
	int ret;

	if (stat(o.root, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "vhswctl: doctor --root %s: not a directory\n",
			o.root);
		json_decref(params);
		return EXIT_USAGE;
	}
	if (o.ctl_path[0] != '/') {
		fprintf(stderr,
			"vhswctl: doctor: the control socket %s is not an "
			"absolute path; give --ctl /PATH\n",
			o.ctl_path);
		json_decref(params);
		return EXIT_USAGE;
	}
	r = doctor_run(&o);
	json_decref(params);
	if (r == NULL) {
		fprintf(stderr, "vhswctl: doctor: out of memory\n");
		return EXIT_REFUSED;
	}
	if (as_json) {
		json_dumpf(r, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	} else {
		print_doctor(r);
	}
	ret = doctor_worst(r) == DOCTOR_ERROR ? EXIT_REFUSED : 0;
	json_decref(r);
	return ret;
}

/* The options of vhswctl itself, accepted anywhere on the command line. */
struct globals {
	const char *ctl;
	bool json, help, version;
};

/* The option of 'cmd' that 'arg' is ("--vlan", "--vlan=7"), or NULL. */
static const struct ctl_param *
cmd_option(const struct ctl_cmd *cmd, const char *arg)
{
	const struct ctl_param *p;
	size_t len;

	for (p = cmd ? cmd->params : NULL; p != NULL && p->key != NULL; p++) {
		if (p->option == NULL)
			continue;
		len = strlen(p->option);
		if (strncmp(arg, p->option, len) == 0 &&
			(arg[len] == '\0' || arg[len] == '='))
			return p;
	}
	return NULL;
}

/*
 * Takes argv[*i] if it is a global option (and its value): 1 taken, 0 not
 * one, -1 usage error in 'err'.
 */
static int
take_global(int argc, char **argv, int *i, struct globals *g, char *err,
	size_t errlen)
{
	const char *a = argv[*i];

	if (strcmp(a, "--json") == 0) {
		g->json = true;
	} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
		g->help = true;
	} else if (strcmp(a, "--version") == 0) {
		g->version = true;
	} else if (strncmp(a, "--ctl=", 6) == 0) {
		g->ctl = a + 6;
	} else if (strcmp(a, "--ctl") == 0) {
		if (*i + 1 >= argc) {
			snprintf(err, errlen, "--ctl needs a PATH");
			return -1;
		}
		g->ctl = argv[++*i];
	} else {
		return 0;
	}
	if (g->ctl != NULL && g->ctl[0] == '\0') {
		snprintf(err, errlen, "--ctl needs a PATH");
		return -1;
	}
	return 1;
}

/*
 * Separates vhswctl's own options (--json, --ctl PATH, --help, --version)
 * from the command line, wherever they are: before the command, or among
 * its arguments.  An argument that is the value of a command's option
 * (--filter '--json') stays, as does everything after "--".  Before the
 * command, an unknown option is an error.  The rest, in order, goes to
 * 'out' ('*outc' entries).  0, or -1 with a message in 'err'.
 */
static int
parse_globals(int argc, char **argv, struct globals *g, char **out, int *outc,
	char *err, size_t errlen)
{
	const struct ctl_param *p;
	const struct ctl_cmd *cmd;
	bool ended = false;
	int i = 1, n = 0, nw, r;

	while (i < argc && argv[i][0] == '-' && argv[i][1] != '\0') {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		r = take_global(argc, argv, &i, g, err, errlen);
		if (r == 0)
			snprintf(err, errlen, "unknown option '%s'", argv[i]);
		if (r <= 0)
			return -1;
		i++;
	}
	cmd = ctl_find_cmd(argc - i, argv + i, &nw);
	for (; nw > 0; nw--)
		out[n++] = argv[i++];
	for (; i < argc; i++) {
		if (!ended && strcmp(argv[i], "--") == 0)
			ended = true;
		if (ended) {
			out[n++] = argv[i];
			continue;
		}
		p = cmd_option(cmd, argv[i]);
		if (p != NULL) {
			out[n++] = argv[i];
			if (p->meta != NULL && strchr(argv[i], '=') == NULL &&
				i + 1 < argc)
				out[n++] = argv[++i];
			continue;
		}
		r = take_global(argc, argv, &i, g, err, errlen);
		if (r < 0)
			return -1;
		if (r == 0)
			out[n++] = argv[i];
	}
	*outc = n;
	return 0;
}

/*
 * `--help` after command words: the usage of the commands they name
 * ("port" -> every port command), else of all.
 */
static void
usage_for(FILE *f, int argc, char **argv)
{
	int i, n = 0, nw, shown = 0;

	while (n < argc && argv[n][0] != '-')
		n++;
	for (i = 0; n > 0 && i < CTL_CMD_COUNT; i++) {
		nw = ctl_method_words(ctl_cmds[i].method);
		if (ctl_words_match(
			    ctl_cmds[i].method, nw < n ? nw : n, argv)) {
			usage_cmd(f, &ctl_cmds[i]);
			shown++;
		}
	}
	if (shown == 0)
		usage(f);
}

static volatile sig_atomic_t capture_signal;

static void
capture_on_signal(int sig)
{
	capture_signal = sig;
}

/* `capture/stop ID` on a fresh connection: the session's counters. */
static json_t *
capture_stop(const char *path, json_int_t id, char *err, size_t errlen)
{
	struct ctl_client *c = ctl_connect(path, err, errlen);
	json_t *params, *r = NULL;
	int code;

	if (c == NULL)
		return NULL;
	params = json_pack("{s:I}", "id", id);
	if (ctl_call(c, "capture/stop", params, &r, &code, err, errlen) !=
		CTL_OK)
		r = NULL;
	json_decref(params);
	ctl_close(c);
	return r;
}

static int
write_all(int fd, const char *p, size_t n)
{
	ssize_t k;

	while (n > 0) {
		k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/*
 * `vhswctl capture PORT ... -w FILE|-`: the output is opened here; vhswd
 * gets the write end of a pipe and this copies the pipe to the output
 * until EOF (the session ended: --count, stopped, port deleted, vhswd
 * stopping).  SIGINT/SIGTERM send `capture/stop`.  A summary goes to
 * stderr, like tcpdump's.
 */
static int
run_capture(json_t *params, const char *ctl_opt, bool as_json)
{
	const char *file = json_string_value(json_object_get(params, "file"));
	const char *path = ctl_socket_path(ctl_opt);
	struct sigaction sa = {.sa_handler = capture_on_signal};
	json_t *result = NULL, *fin = NULL;
	bool to_stdout, stop_sent = false, out_ok = true, writing = true;
	int out_errno = 0;
	int out = -1, pfd[2] = {-1, -1}, code, ret;
	char err[1024], buf[65536];
	struct ctl_client *c;
	json_int_t id;
	ssize_t n;

	if (file == NULL) {
		fprintf(stderr,
			"vhswctl: capture needs -w FILE, or -w - for "
			"stdout (e.g. vhswctl capture c1 -w - | "
			"tcpdump -r -)\n");
		json_decref(params);
		return EXIT_USAGE;
	}
	to_stdout = strcmp(file, "-") == 0;
	if (to_stdout && isatty(STDOUT_FILENO)) {
		fprintf(stderr,
			"vhswctl: capture -w -: stdout is a terminal; "
			"pipe it into a reader (| tcpdump -r -) or "
			"give -w FILE\n");
		json_decref(params);
		return EXIT_USAGE;
	}
	out = to_stdout
		? STDOUT_FILENO
		: open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		fprintf(stderr, "vhswctl: cannot open %s: %s\n", file,
			strerror(errno));
		json_decref(params);
		return EXIT_USAGE;
	}
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		fprintf(stderr, "vhswctl: pipe: %s\n", strerror(errno));
		goto fail;
	}
	/* A reader of ours that goes away ends this process's writes with
	 * EPIPE, not SIGPIPE; the pipe's own end stays vhswd's concern. */
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: read() returns */
	sigaction(SIGTERM, &sa, NULL);
	c = ctl_connect(path, err, sizeof(err));
	if (c == NULL) {
		fprintf(stderr, "vhswctl: %s\n", err);
		ret = EXIT_UNREACHABLE;
		goto out;
	}
	ret = ctl_call_fd(
		c, "capture", params, pfd[1], &result, &code, err, sizeof(err));
	ctl_close(c);
	close(pfd[1]);
	pfd[1] = -1;
	if (ret != CTL_OK) {
		fprintf(stderr, "vhswctl: %s\n", err);
		ret = ret == CTL_ERROR ? EXIT_REFUSED : EXIT_UNREACHABLE;
		goto out;
	}
	id = json_integer_value(json_object_get(result, "id"));
	if (!as_json)
		fprintf(stderr,
			"vhswctl: capturing on %s (%s%s%s), session %lld%s\n",
			sv(result, "port"), sv(result, "direction"),
			json_is_string(json_object_get(result, "filter"))
				? ", filter: "
				: "",
			json_is_string(json_object_get(result, "filter"))
				? sv(result, "filter")
				: "",
			(long long)id, to_stdout ? "" : "; Ctrl-C stops");
	for (;;) {
		if (capture_signal != 0 && !stop_sent) {
			stop_sent = true;
			json_decref(capture_stop(path, id, err, sizeof(err)));
		}
		n = read(pfd[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (writing && write_all(out, buf, (size_t)n) != 0) {
			/* Our reader left (| tcpdump -c 5), a normal end; or
			 * FILE cannot be written.  Stop, drain to EOF. */
			out_errno = errno;
			out_ok = to_stdout && out_errno == EPIPE;
			writing = false;
			if (!stop_sent) {
				stop_sent = true;
				json_decref(capture_stop(
					path, id, err, sizeof(err)));
			}
		}
	}
	/* EOF: vhswd ended the session; its final counters. */
	fin = capture_stop(path, id, err, sizeof(err));
	if (fin == NULL) {
		fprintf(stderr,
			"vhswctl: capture ended, no summary: %s (socket %s)\n",
			err, path);
		ret = out_ok ? 0 : EXIT_REFUSED;
		goto out;
	}
	if (as_json) {
		json_dumpf(fin, to_stdout ? stderr : stdout,
			JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', to_stdout ? stderr : stdout);
	} else {
		fprintf(stderr,
			"%lld frames captured, %lld dropped by the capture "
			"(it could not keep up), %lld seen by the filter "
			"(%lld matched)%s%s\n",
			iv(fin, "written"), iv(fin, "dropped"), iv(fin, "seen"),
			iv(fin, "matched"),
			json_is_string(json_object_get(fin, "end_reason"))
				? "; ended: "
				: "",
			json_is_string(json_object_get(fin, "end_reason"))
				? sv(fin, "end_reason")
				: "");
	}
	ret = out_ok ? 0 : EXIT_REFUSED;
	if (!out_ok)
		fprintf(stderr, "vhswctl: writing %s failed: %s\n",
			to_stdout ? "stdout" : file, strerror(out_errno));
out:
	if (!to_stdout && out >= 0 && close(out) != 0 && ret == 0) {
		fprintf(stderr, "vhswctl: %s: %s\n", file, strerror(errno));
		ret = EXIT_REFUSED;
	}
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	json_decref(result);
	json_decref(fin);
	json_decref(params);
	return ret;
fail:
	if (!to_stdout)
		close(out);
	json_decref(params);
	return EXIT_REFUSED;
}

int
main(int argc, char **argv)
{
	struct globals g = {0};
	const struct ctl_cmd *cmd;
	struct ctl_client *c;
	json_t *params, *result;
	int code, ret, nargs;
	const char *path;
	char err[1024];
	char **args;

	args = calloc((size_t)argc + 1, sizeof(*args));
	if (args == NULL) {
		fprintf(stderr, "vhswctl: out of memory\n");
		return EXIT_REFUSED;
	}
	if (parse_globals(argc, argv, &g, args, &nargs, err, sizeof(err)) !=
		0) {
		fprintf(stderr, "vhswctl: %s\n", err);
		fprintf(stderr,
			"run 'vhswctl help' for the list of commands\n");
		free(args);
		return EXIT_USAGE;
	}
	if (g.help || g.version ||
		(nargs == 1 && strcmp(args[0], "help") == 0 && !g.json)) {
		if (g.version)
			printf("vhswctl %s\n", VHSW_VERSION);
		else if (g.help)
			usage_for(stdout, nargs, args);
		else
			usage(stdout);
		free(args);
		return 0;
	}
	cmd = ctl_parse_argv(nargs, args, &params, err, sizeof(err));
	free(args);
	if (cmd == NULL) {
		fprintf(stderr, "vhswctl: %s\n", err);
		fprintf(stderr,
			"run 'vhswctl help' for the list of commands\n");
		return EXIT_USAGE;
	}
	if (strcmp(cmd->method, "doctor") == 0)
		return run_doctor(params, g.ctl, g.json);
	if (strcmp(cmd->method, "capture") == 0)
		return run_capture(params, g.ctl, g.json);
	path = ctl_socket_path(g.ctl);
	c = ctl_connect(path, err, sizeof(err));
	if (c == NULL) {
		fprintf(stderr, "vhswctl: %s\n", err);
		json_decref(params);
		return EXIT_UNREACHABLE;
	}
	ret = ctl_call(
		c, cmd->method, params, &result, &code, err, sizeof(err));
	ctl_close(c);
	if (ret != CTL_OK)
		json_decref(params);
	if (ret == CTL_IO_ERROR) {
		fprintf(stderr, "vhswctl: %s (socket %s)\n", err, path);
		return EXIT_UNREACHABLE;
	}
	if (ret == CTL_ERROR) {
		fprintf(stderr, "vhswctl: %s\n", err);
		return EXIT_REFUSED;
	}
	if (g.json) {
		json_dumpf(result, stdout,
			JSON_INDENT(2) | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	} else {
		print_result(cmd, params, result);
	}
	json_decref(params);
	json_decref(result);
	return 0;
}
