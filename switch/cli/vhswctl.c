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
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static void
print_capture_list(json_t *a)
{
	json_t *s;
	size_t i;

	printf("%-4s %-16s %-4s %-8s %10s %10s %10s %10s  %s\n", "ID", "PORT",
		"DIR", "STATE", "SEEN", "MATCHED", "WRITTEN", "DROPPED",
		"FILTER");
	json_array_foreach(a, i, s) printf(
		"%-4lld %-16s %-4s %-8s %10lld %10lld %10lld %10lld  %s\n",
		iv(s, "id"), sv(s, "port"), sv(s, "direction"), sv(s, "state"),
		iv(s, "seen"), iv(s, "matched"), iv(s, "written"),
		iv(s, "dropped"), sv(s, "filter"));
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
	else if (strcmp(m, "capture/list") == 0)
		print_capture_list(r);
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
	if (strcmp(cmd->method, "capture") == 0)
		return run_capture(params, ctl_opt, as_json);
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
