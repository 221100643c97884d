/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhswctl.c - the management CLI.
 *
 * Parses the command line with the shared command table (ctl.h), sends one
 * JSON-RPC request to vhswd and prints the result: exactly one JSON document
 * with --json, aligned text otherwise.
 *
 * `doctor` runs here, without vhswd (doctor.h).
 *
 * Exit status: 0 success; 1 the daemon refused (doctor: an error
 * finding); 2 usage error; 3 cannot reach the daemon.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include "ctl_client.h"
#include "doctor.h"

enum {
	EXIT_REFUSED = 1,
	EXIT_USAGE = 2,
	EXIT_UNREACHABLE = 3,
};

/* One command's help: its usage line(s), what it does, its parameters. */
static void
usage_cmd(FILE *f, const struct ctl_cmd *cmd)
{
	const struct ctl_param *p;
	char words[64], line[512], name[64];
	const char *kind;
	size_t k;
	int i;

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
	fprintf(f, "      %s\n", cmd->help);
	for (p = cmd->params; p->key != NULL; p++) {
		if (p->option != NULL && p->meta != NULL)
			snprintf(name, sizeof(name), "%s %s", p->option,
				p->meta);
		else
			snprintf(name, sizeof(name), "%s",
				p->option ? p->option : p->meta);
		fprintf(f, "        %-20s %s%s%s%s\n", name, p->help,
			p->kind ? " [" : "", p->kind ? p->kind : "",
			p->kind ? "]" : "");
	}
}

static void
usage(FILE *f)
{
	int i;

	fprintf(f,
		"usage: vhswctl [--ctl PATH] [--json] COMMAND [ARGS]\n\n"
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

static void
print_value(const char *indent, const char *key, json_t *v)
{
	char *s;

	if (json_is_object(v) || json_is_array(v)) {
		s = json_dumps(v, JSON_COMPACT);
		printf("%s%-18s %s\n", indent, key, s ? s : "");
		free(s);
	} else if (json_is_string(v)) {
		printf("%s%-18s %s\n", indent, key, json_string_value(v));
	} else if (json_is_integer(v)) {
		printf("%s%-18s %" JSON_INTEGER_FORMAT "\n", indent, key,
			json_integer_value(v));
	} else if (json_is_real(v)) {
		printf("%s%-18s %.1f\n", indent, key, json_real_value(v));
	} else if (json_is_boolean(v)) {
		printf("%s%-18s %s\n", indent, key,
			json_is_true(v) ? "true" : "false");
	} else {
		printf("%s%-18s -\n", indent, key);
	}
}

static void
print_object(const char *indent, json_t *o)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) print_value(indent, key, v);
}

/* Where a port leads: its socket, kernel interface or device. */
static const char *
endpoint(json_t *p)
{
	if (json_is_string(json_object_get(p, "socket")))
		return sv(p, "socket");
	if (json_is_string(json_object_get(p, "ifname")))
		return sv(p, "ifname");
	return sv(p, "devargs");
}

static void
print_port_list(json_t *a)
{
	json_t *p, *st;
	bool in_ns;
	size_t i;

	printf("%-16s %-10s %-5s %-6s %-4s %12s %12s %10s  %s\n", "NAME",
		"TYPE", "STATE", "MODE", "VLAN", "RX_PACKETS", "TX_PACKETS",
		"DROPPED", "ENDPOINT");
	json_array_foreach(a, i, p)
	{
		st = json_object_get(p, "stats");
		in_ns = json_is_string(json_object_get(p, "netns"));
		printf("%-16s %-10s %-5s %-6s %-4lld %12lld %12lld %10lld  "
		       "%s%s%s\n",
			sv(p, "name"), sv(p, "type"), sv(p, "state"),
			sv(p, "mode"), iv(p, "vlan"), iv(st, "rx_packets"),
			iv(st, "tx_packets"),
			iv(st, "rx_dropped") + iv(st, "tx_dropped"),
			endpoint(p), in_ns ? " in " : "",
			in_ns ? sv(p, "netns") : "");
	}
}

static void
print_port(json_t *p)
{
	const char *key;
	json_t *v, *e;
	size_t i;

	json_object_foreach(p, key, v)
	{
		if (strcmp(key, "mem_regions") == 0) {
			printf("mem_regions:\n");
			json_array_foreach(v, i, e) printf(
				"  [%zu] gpa %s size %lld uaddr %s offset "
				"%lld\n",
				i, sv(e, "guest_phys_addr"), iv(e, "size"),
				sv(e, "userspace_addr"), iv(e, "mmap_offset"));
		} else if (strcmp(key, "vrings") == 0) {
			printf("vrings:\n");
			json_array_foreach(v, i, e) printf(
				"  [%lld] size %lld kickfd %lld callfd %lld "
				"%s\n",
				iv(e, "index"), iv(e, "size"), iv(e, "kickfd"),
				iv(e, "callfd"),
				json_is_true(json_object_get(e, "enabled"))
					? "enabled"
					: "disabled");
		} else if (strcmp(key, "stats") == 0) {
			printf("stats:\n");
			print_object("  ", v);
		} else {
			print_value("", key, v);
		}
	}
}

static void
print_fdb(json_t *a)
{
	json_t *e;
	size_t i;

	printf("%-17s %4s %-16s %-7s %s\n", "MAC", "VLAN", "PORT", "TYPE",
		"AGE");
	json_array_foreach(a, i, e) printf("%-17s %4lld %-16s %-7s %lld\n",
		sv(e, "mac"), iv(e, "vlan"), sv(e, "port"),
		json_is_true(json_object_get(e, "static")) ? "static"
							   : "learned",
		iv(e, "age"));
}

static void
print_stats(json_t *r)
{
	json_t *ports = json_object_get(r, "ports"), *st;
	const char *name, *key;
	json_t *v;
	bool header = false;

	json_object_foreach(ports, name, st)
	{
		if (!header) {
			printf("%-16s", "PORT");
			json_object_foreach(st, key, v) printf(" %12.12s", key);
			printf("\n");
			header = true;
		}
		printf("%-16s", name);
		json_object_foreach(st, key, v) printf(
			" %12" JSON_INTEGER_FORMAT, json_integer_value(v));
		printf("\n");
	}
	printf("\nfdb:\n");
	print_object("  ", json_object_get(r, "fdb"));
	printf("dataplane:\n");
	print_object("  ", json_object_get(r, "dataplane"));
}

/* `stats --describe`: each group's keys and what they mean. */
static void
print_describe(json_t *r)
{
	const char *group;
	json_t *d;

	json_object_foreach(r, group, d)
	{
		printf("%s:\n", group);
		print_object("  ", d);
	}
}

static void
print_help(json_t *a)
{
	json_t *e;
	size_t i;

	json_array_foreach(a, i, e) printf("%-16s %s\n    %s\n",
		sv(e, "method"), sv(e, "usage"), sv(e, "help"));
}

/* `log show`: one module a line; `log set`: what changed. */
static void
print_log(const char *method, json_t *r)
{
	json_t *e;
	size_t i;

	if (strcmp(method, "log/set") == 0) {
		printf("%s: %s (%lld log type%s)\n", sv(r, "module"),
			sv(r, "level"), iv(r, "types"),
			iv(r, "types") == 1 ? "" : "s");
		return;
	}
	printf("%-24s %s\n", "MODULE", "LEVEL");
	json_array_foreach(json_object_get(r, "modules"), i, e)
		printf("%-24s %s\n", sv(e, "module"), sv(e, "level"));
}

static void
print_result(const struct ctl_cmd *cmd, json_t *params, json_t *r)
{
	const char *m = cmd->method;

	if (strcmp(m, "port/list") == 0)
		print_port_list(r);
	else if (strcmp(m, "port/show") == 0 || strcmp(m, "port/add") == 0)
		print_port(r);
	else if (strcmp(m, "fdb/show") == 0)
		print_fdb(r);
	else if (strcmp(m, "stats") == 0 &&
		json_is_true(json_object_get(params, "describe")))
		print_describe(r);
	else if (strcmp(m, "stats") == 0)
		print_stats(r);
	else if (strcmp(m, "help") == 0)
		print_help(r);
	else if (strncmp(m, "log/", 4) == 0)
		print_log(m, r);
	else if (json_is_object(r))
		print_object("", r);
	else if (!json_is_null(r))
		print_value("", "result", r);
}

/*
 * Prints 'prefix' and 'text' from column 'indent', wrapped at 79 columns;
 * continuation lines start under the text.
 */
static void
print_wrapped(int indent, const char *prefix, const char *text)
{
	int start = indent + (int)strlen(prefix), col = start, k;
	const char *w = text;
	bool first = true;

	printf("%*s%s", indent, "", prefix);
	for (;;) {
		while (*w == ' ')
			w++;
		k = (int)strcspn(w, " ");
		if (k == 0)
			break;
		if (!first && col + 1 + k > 79) {
			printf("\n%*s", start, "");
			col = start;
		} else if (!first) {
			putchar(' ');
			col++;
		}
		printf("%.*s", k, w);
		col += k;
		w += k;
		first = false;
	}
	putchar('\n');
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
		printf("%-8s %-20s %s\n", sv(f, "severity"), sv(f, "id"),
			sv(f, "summary"));
		if (strcmp(sv(f, "severity"), "ok") == 0)
			continue;
		if (sv(f, "details")[0] != '\0' &&
			strcmp(sv(f, "details"), "-") != 0)
			print_wrapped(9, "", sv(f, "details"));
		if (json_is_string(json_object_get(f, "fix")))
			print_wrapped(9, "fix: ", sv(f, "fix"));
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

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"ctl", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *ctl_opt = NULL, *path;
	const struct ctl_cmd *cmd;
	struct ctl_client *c;
	json_t *params, *result;
	bool as_json = false;
	char err[1024];
	int opt, code, ret;

	opterr = 0;
	/* '+': stop at the first non-option, the command's own options follow. */
	while ((opt = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			ctl_opt = optarg;
			break;
		case 'j':
			as_json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "vhswctl: unknown option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc && strcmp(argv[optind], "help") == 0 &&
		optind + 1 == argc && !as_json) {
		usage(stdout);
		return 0;
	}
	cmd = ctl_parse_argv(
		argc - optind, argv + optind, &params, err, sizeof(err));
	if (cmd == NULL) {
		fprintf(stderr, "vhswctl: %s\n", err);
		fprintf(stderr,
			"run 'vhswctl help' for the list of commands\n");
		return EXIT_USAGE;
	}
	if (strcmp(cmd->method, "doctor") == 0)
		return run_doctor(params, ctl_opt, as_json);
	path = ctl_socket_path(ctl_opt);
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
	if (as_json) {
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
