/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl.c - the command table and the management client (see ctl.h).
 *
 * Built into libvhswctl, which vhswd, vhswctl and vhsw-cni link; it needs
 * jansson only, not DPDK.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

#define CTL_REPLY_TIMEOUT_S 60
#define CTL_MAX_REPLY (256u << 20)

const struct ctl_cmd ctl_cmds[CTL_CMD_COUNT] = {
#define CTL_CMD_ENTRY(id, m, a, o, u, h) \
	[CTL_CMD_##id] = {               \
		.method = m, .args = a, .opts = o, .usage = u, .help = h},
	CTL_COMMANDS(CTL_CMD_ENTRY)
#undef CTL_CMD_ENTRY
};

const struct ctl_cmd *
ctl_cmd_find(const char *method)
{
	int i;

	for (i = 0; i < CTL_CMD_COUNT; i++)
		if (strcmp(ctl_cmds[i].method, method) == 0)
			return &ctl_cmds[i];
	return NULL;
}

/* Number of command words of 'method' ("fdb/set/aging" -> 3). */
static int
method_words(const char *method)
{
	int n = 1;

	for (; *method; method++)
		n += *method == '/';
	return n;
}

static bool
argv_matches(const char *method, int argc, char **argv)
{
	int nw = method_words(method), i;
	const char *p = method;
	size_t len;

	if (argc < nw)
		return false;
	for (i = 0; i < nw; i++) {
		len = strcspn(p, "/");
		if (strlen(argv[i]) != len || strncmp(argv[i], p, len) != 0)
			return false;
		p += len + (p[len] == '/');
	}
	return true;
}

/* Splits a spec "key#?" into key and flags. */
static void
spec_key(const char *spec, char *key, size_t keylen, bool *is_int,
	bool *optional)
{
	size_t n = strcspn(spec, "#?");

	snprintf(key, keylen, "%.*s", (int)n, spec);
	*is_int = strchr(spec, '#') != NULL;
	*optional = strchr(spec, '?') != NULL;
}

static int
set_value(json_t *params, const char *key, bool is_int, const char *val,
	char *err, size_t errlen)
{
	char *end;
	long long v;

	if (!is_int)
		return json_object_set_new(params, key, json_string(val));
	errno = 0;
	v = strtoll(val, &end, 0);
	if (errno != 0 || end == val || *end != '\0') {
		snprintf(err, errlen, "%s: '%s' is not a number", key, val);
		return -1;
	}
	return json_object_set_new(params, key, json_integer(v));
}

/* Applies option argv[*i] (and maybe its value).  0 or -1. */
static int
parse_option(const struct ctl_cmd *cmd, int argc, char **argv, int *i,
	json_t *params, char *err, size_t errlen)
{
	const char *arg = argv[*i], *spec, *eq, *colon;
	size_t flen = strcspn(arg, "=");
	char key[64];
	bool is_int, opt;
	int k;

	for (k = 0; (spec = cmd->opts[k]) != NULL; k++) {
		eq = strchr(spec, '=');
		if ((size_t)(eq - spec) == flen &&
			strncmp(spec, arg, flen) == 0)
			break;
	}
	if (spec == NULL) {
		snprintf(err, errlen, "unknown option %.*s", (int)flen, arg);
		return -1;
	}
	spec = eq + 1;
	colon = strchr(spec, ':');
	if ((colon != NULL || strchr(spec, '!') != NULL) && arg[flen] == '=') {
		snprintf(err, errlen, "option %.*s takes no value", (int)flen,
			arg);
		return -1;
	}
	if (colon != NULL) { /* constant */
		snprintf(key, sizeof(key), "%.*s", (int)(colon - spec), spec);
		return json_object_set_new(params, key, json_string(colon + 1));
	}
	if (strchr(spec, '!') != NULL) {
		snprintf(key, sizeof(key), "%.*s", (int)strcspn(spec, "!"),
			spec);
		return json_object_set_new(params, key, json_true());
	}
	spec_key(spec, key, sizeof(key), &is_int, &opt);
	if (arg[flen] == '=')
		return set_value(
			params, key, is_int, arg + flen + 1, err, errlen);
	if (*i + 1 >= argc) {
		snprintf(err, errlen, "option %s needs a value", arg);
		return -1;
	}
	(*i)++;
	return set_value(params, key, is_int, argv[*i], err, errlen);
}

const struct ctl_cmd *
ctl_parse_argv(
	int argc, char **argv, json_t **params_out, char *err, size_t errlen)
{
	const struct ctl_cmd *cmd = NULL;
	int best = 0, i, nw, pos = 0;
	json_t *params;
	char key[64];
	bool is_int, opt;

	*params_out = NULL;
	if (argc == 0) {
		snprintf(err, errlen, "no command given");
		return NULL;
	}
	for (i = 0; i < CTL_CMD_COUNT; i++) {
		nw = method_words(ctl_cmds[i].method);
		if (nw > best && argv_matches(ctl_cmds[i].method, argc, argv)) {
			best = nw;
			cmd = &ctl_cmds[i];
		}
	}
	if (cmd == NULL) {
		snprintf(err, errlen, "unknown command '%s%s%s'", argv[0],
			argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
		return NULL;
	}
	params = json_object();
	for (i = best; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) == 0 && argv[i][2] != '\0') {
			if (parse_option(cmd, argc, argv, &i, params, err,
				    errlen) != 0)
				goto usage;
			continue;
		}
		if (cmd->args[pos] == NULL) {
			snprintf(err, errlen, "unexpected argument '%s'",
				argv[i]);
			goto usage;
		}
		spec_key(cmd->args[pos++], key, sizeof(key), &is_int, &opt);
		if (set_value(params, key, is_int, argv[i], err, errlen) != 0)
			goto usage;
	}
	for (; cmd->args[pos] != NULL; pos++) {
		spec_key(cmd->args[pos], key, sizeof(key), &is_int, &opt);
		if (!opt) {
			snprintf(err, errlen, "missing %s", key);
			goto usage;
		}
	}
	*params_out = params;
	return cmd;
usage:
	json_decref(params);
	return NULL;
}

const char *
ctl_socket_path(const char *opt)
{
	const char *env = getenv(CTL_ENV_SOCKET);

	if (opt != NULL && opt[0] != '\0')
		return opt;
	if (env != NULL && env[0] != '\0')
		return env;
	return CTL_DEFAULT_SOCKET;
}

struct ctl_client {
	int fd;
	long next_id;
	char *buf; /* bytes received past the last reply */
	size_t len, cap;
};

struct ctl_client *
ctl_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = CTL_REPLY_TIMEOUT_S};
	struct ctl_client *c;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "cannot reach vhswd at %s: path too long",
			path);
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(err, errlen,
			"cannot reach vhswd at %s: %s (is vhswd running? set "
			"--ctl or VHSW_CTL)",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->fd = fd;
	c->next_id = 1;
	return c;
}

void
ctl_close(struct ctl_client *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	free(c->buf);
	free(c);
}

static int
send_all(int fd, const char *p, size_t n)
{
	ssize_t k;

	while (n > 0) {
		k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Reads one line into a new string (without the newline), or NULL. */
static char *
read_line(struct ctl_client *c)
{
	char *nl, *line;
	size_t used;
	ssize_t k;

	for (;;) {
		nl = c->len ? memchr(c->buf, '\n', c->len) : NULL;
		if (nl != NULL) {
			used = (size_t)(nl - c->buf);
			line = strndup(c->buf, used);
			memmove(c->buf, nl + 1, c->len - used - 1);
			c->len -= used + 1;
			return line;
		}
		if (c->len == c->cap) {
			size_t cap = c->cap ? c->cap * 2 : 65536;
			char *b;

			if (cap > CTL_MAX_REPLY)
				return NULL;
			b = realloc(c->buf, cap);
			if (b == NULL)
				return NULL;
			c->buf = b;
			c->cap = cap;
		}
		k = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return NULL;
		c->len += (size_t)k;
	}
}

enum ctl_call_status
ctl_call(struct ctl_client *c, const char *method, json_t *params,
	json_t **result, int *code, char *err, size_t errlen)
{
	json_t *req, *rep, *e;
	json_error_t jerr;
	long id = c->next_id++;
	char *line;
	int ret;

	*result = NULL;
	*code = 0;
	req = json_pack("{s:s, s:s, s:o, s:I}", "jsonrpc", "2.0", "method",
		method, "params", params ? json_incref(params) : json_object(),
		"id", (json_int_t)id);
	line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (line == NULL) {
		snprintf(err, errlen, "cannot encode request");
		return CTL_IO_ERROR;
	}
	ret = send_all(c->fd, line, strlen(line));
	free(line);
	if (ret != 0 || send_all(c->fd, "\n", 1) != 0) {
		snprintf(err, errlen, "lost the connection to vhswd: %s",
			strerror(errno));
		return CTL_IO_ERROR;
	}
	line = read_line(c);
	if (line == NULL) {
		snprintf(err, errlen, "no reply from vhswd");
		return CTL_IO_ERROR;
	}
	rep = json_loads(line, 0, &jerr);
	free(line);
	if (rep == NULL || !json_is_object(rep)) {
		snprintf(err, errlen, "malformed reply from vhswd");
		json_decref(rep);
		return CTL_IO_ERROR;
	}
	e = json_object_get(rep, "error");
	if (e != NULL) {
		*code = (int)json_integer_value(json_object_get(e, "code"));
		snprintf(err, errlen, "%s",
			json_string_value(json_object_get(e, "message"))
				? json_string_value(
					  json_object_get(e, "message"))
				: "unknown error");
		json_decref(rep);
		return CTL_ERROR;
	}
	*result = json_incref(json_object_get(rep, "result"));
	json_decref(rep);
	if (*result == NULL)
		*result = json_null();
	return CTL_OK;
}
