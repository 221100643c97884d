/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_ctl.c - the management path: command-line parsing into JSON-RPC
 * params, the JSON-RPC server (malformed, unknown, oversized, notification,
 * disconnect), and the actions' parameter checks through vhsw_dispatch().
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "ctl_client.h"
#include "paths.h"
#include "rpc.h"
#include "config.h"
#include "vhsw.h"
#include "ethport.h"
#include "vport.h"
#include "ut_eal.h"
#include "ut_sw.h"

static char tmpdir[64];
static struct rte_mempool *pool;
static struct rte_rcu_qsbr *qsv;

/* ---- command-line parsing ---- */

static json_t *
parse(const char *line, const struct ctl_cmd **cmd, char *err, size_t len)
{
	char buf[512], *argv[32], *tok, *save;
	json_t *params;
	int argc = 0;

	snprintf(buf, sizeof(buf), "%s", line);
	for (tok = strtok_r(buf, " ", &save); tok != NULL;
		tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	*cmd = ctl_parse_argv(argc, argv, &params, err, len);
	return params;
}

static void
test_parse_port_add(void **state)
{
	const struct ctl_cmd *cmd;
	char err[256];
	json_t *p;

	p = parse("port add c1 vhost-user /run/c1.sock --client --queues 2 "
		  "--vlan=10 --mac 52:54:00:00:00:01",
		&cmd, err, sizeof(err));
	assert_non_null(cmd);
	assert_string_equal(cmd->method, "port/add");
	assert_string_equal(
		json_string_value(json_object_get(p, "name")), "c1");
	assert_string_equal(json_string_value(json_object_get(p, "socket")),
		"/run/c1.sock");
	assert_string_equal(
		json_string_value(json_object_get(p, "mode")), "client");
	assert_int_equal(json_integer_value(json_object_get(p, "queues")), 2);
	assert_int_equal(json_integer_value(json_object_get(p, "vlan")), 10);
	json_decref(p);
}

static void
test_parse_longest_match(void **state)
{
	const struct ctl_cmd *cmd;
	char err[256];
	json_t *p;

	p = parse("fdb set aging 30", &cmd, err, sizeof(err));
	assert_non_null(cmd);
	assert_string_equal(cmd->method, "fdb/set/aging");
	assert_int_equal(json_integer_value(json_object_get(p, "aging")), 30);
	json_decref(p);
	p = parse("stats c1 --clear", &cmd, err, sizeof(err));
	assert_string_equal(cmd->method, "stats");
	assert_true(json_is_true(json_object_get(p, "clear")));
	json_decref(p);
	/* After "--", an argument that looks like an option is positional. */
	p = parse("port show -- --clear", &cmd, err, sizeof(err));
	assert_non_null(cmd);
	assert_string_equal(
		json_string_value(json_object_get(p, "name")), "--clear");
	json_decref(p);
	p = parse("stats -- --clear", &cmd, err, sizeof(err));
	assert_string_equal(
		json_string_value(json_object_get(p, "port")), "--clear");
	assert_null(json_object_get(p, "clear"));
	json_decref(p);
	/* A one-dash option; '-' is its value (stdout), not an option. */
	p = parse("capture c1 --count 5 -w -", &cmd, err, sizeof(err));
	assert_non_null(cmd);
	assert_string_equal(cmd->method, "capture");
	assert_string_equal(
		json_string_value(json_object_get(p, "port")), "c1");
	assert_string_equal(json_string_value(json_object_get(p, "file")), "-");
	assert_int_equal(json_integer_value(json_object_get(p, "count")), 5);
	json_decref(p);
	p = parse("capture c1 -w=/tmp/c.pcapng", &cmd, err, sizeof(err));
	assert_string_equal(
		json_string_value(json_object_get(p, "file")), "/tmp/c.pcapng");
	json_decref(p);
	p = parse("capture stop 3", &cmd, err, sizeof(err));
	assert_string_equal(cmd->method, "capture/stop");
	json_decref(p);
}

static void
test_parse_usage_errors(void **state)
{
	static const char *const bad[] = {
		"port",
		"port add",
		"port add c1",
		"port bogus",
		"port del",
		"port del a b",
		"fdb set aging",
		"fdb set aging x",
		"fdb set limit 10k",
		"port add c1 vhost-user /s --queues",
		"port add c1 vhost-user /s --nope",
		"fdb add 52:54:00:00:00:01",
		"stats --clear=1",
		"capture c1 -x 1",
		"capture c1 -w",
		NULL,
	};
	const struct ctl_cmd *cmd;
	char err[256];
	json_t *p;
	int i;

	for (i = 0; bad[i] != NULL; i++) {
		err[0] = '\0';
		p = parse(bad[i], &cmd, err, sizeof(err));
		if (cmd != NULL)
			fail_msg("'%s' parsed as %s", bad[i], cmd->method);
		assert_null(p);
		assert_true(err[0] != '\0');
	}
}

/* Every entry of the table is complete and consistent. */
static void
test_table_well_formed(void **state)
{
	const struct ctl_param *p, *q;
	int i, kinds;

	for (i = 0; i < CTL_CMD_COUNT; i++) {
		const struct ctl_cmd *c = &ctl_cmds[i];

		assert_non_null(c->method);
		assert_non_null(c->help);
		assert_ptr_equal(ctl_cmd_find(c->method), c);
		kinds = 0;
		for (p = c->params; p->key != NULL; p++) {
			if (p->help == NULL || p->help[0] == '\0')
				fail_msg("%s: %s has no help", c->method,
					p->key);
			/* Positional arguments and valued options need a
			 * placeholder; flags have none. */
			assert_true((p->option == NULL) == (p->meta != NULL) ||
				p->option != NULL);
			/* "--name", or a one-letter "-w" (capture). */
			assert_true(p->option == NULL ||
				strncmp(p->option, "--", 2) == 0 ||
				(p->option[0] == '-' && p->option[1] != '-' &&
					p->option[1] != '\0' &&
					p->option[2] == '\0'));
			kinds += p->selects_kind;
			/* A key set twice (--client, --server) keeps its
			 * type and kind. */
			for (q = c->params; q != p; q++) {
				if (strcmp(q->key, p->key) != 0)
					continue;
				assert_int_equal(q->type, p->type);
				assert_true(
					(q->kind == NULL) == (p->kind == NULL));
			}
		}
		assert_true(kinds <= 1);
		if (kinds == 0)
			assert_null(ctl_cmd_kind(c, 0));
	}
}

static void
test_usage_per_kind(void **state)
{
	const struct ctl_cmd *c = ctl_cmd_find("port/add");
	char buf[512];

	assert_string_equal(ctl_cmd_kind(c, 0), "vhost-user");
	assert_string_equal(ctl_cmd_kind(c, 1), "kernel");
	assert_null(ctl_cmd_kind(c, 2));
	ctl_usage(c, "vhost-user", buf, sizeof(buf));
	assert_non_null(strstr(buf, "NAME vhost-user SOCKET [--client]"));
	assert_null(strstr(buf, "--ifname"));
	ctl_usage(c, "kernel", buf, sizeof(buf));
	assert_non_null(strstr(buf, "NAME kernel [--vlan VID]"));
	assert_non_null(strstr(buf, "[--netns PATH]"));
	assert_null(strstr(buf, "SOCKET"));
	ctl_usage(ctl_cmd_find("fdb/show"), NULL, buf, sizeof(buf));
	assert_string_equal(buf, "[PORT]");
	ctl_usage(ctl_cmd_find("version"), NULL, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void
test_check_params_and_kind(void **state)
{
	const struct ctl_cmd *c = ctl_cmd_find("port/add");
	char err[256];
	json_t *p;

	p = json_pack("{s:s, s:s, s:s}", "name", "a", "type", "kernel",
		"socket", "/x");
	assert_int_equal(ctl_check_params(c, p, err, sizeof(err)), 0);
	assert_int_equal(ctl_check_kind(c, p, "kernel", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'socket' applies to vhost-user"));
	assert_int_equal(
		ctl_check_kind(c, p, "vhost-user", err, sizeof(err)), 0);
	json_object_del(p, "socket");
	assert_int_equal(
		ctl_check_kind(c, p, "vhost-user", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "needs 'socket'"));
	json_object_set_new(p, "ifname", json_integer(1));
	assert_int_equal(ctl_check_params(c, p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'ifname' must be a string"));
	json_object_set_new(p, "ifname", json_string("k"));
	assert_int_equal(ctl_check_kind(c, p, "kernel", err, sizeof(err)), 0);
	json_object_set_new(p, "mode", json_true());
	assert_int_equal(ctl_check_params(c, p, err, sizeof(err)), -1);
	json_decref(p);
	p = json_array();
	assert_int_equal(ctl_check_params(c, p, err, sizeof(err)), -1);
	json_decref(p);
}

/* ---- JSON-RPC server ---- */

static const struct rpc_options rpc_opts = {.perm = 0660, .gid = (gid_t)-1};

struct rpc_env {
	struct ev_loop *loop;
	struct rpc_server *srv;
	char path[108];
	int calls;
	int taken; /* the fd the "take" method took */
};

static json_t *
echo_dispatch(void *arg, const char *method, json_t *params, int *code,
	char *msg, size_t msglen)
{
	struct rpc_env *e = arg;

	e->calls++;
	if (strcmp(method, "take") == 0) {
		e->taken = rpc_take_fd();
		return json_integer(e->taken);
	}
	if (strcmp(method, "echo") != 0) {
		*code = CTL_ERR_NO_METHOD;
		snprintf(msg, msglen, "unknown method '%s'", method);
		return NULL;
	}
	return json_incref(params);
}

static int
rpc_setup(void **state)
{
	struct rpc_env *e = calloc(1, sizeof(*e));
	char err[256];

	e->loop = ev_loop_new(EVFLAG_AUTO);
	snprintf(e->path, sizeof(e->path), "%s/rpc.sock", tmpdir);
	e->srv = rpc_server_create(e->loop, e->path, &rpc_opts, echo_dispatch,
		e, err, sizeof(err));
	if (e->srv == NULL)
		return -1;
	*state = e;
	return 0;
}

static int
rpc_teardown(void **state)
{
	struct rpc_env *e = *state;

	rpc_server_destroy(e->srv);
	ev_loop_destroy(e->loop);
	free(e);
	return 0;
}

static int
rpc_connect(struct rpc_env *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	strcpy(sa.sun_path, e->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	fcntl(fd, F_SETFL, O_NONBLOCK);
	ev_run(e->loop, EVRUN_NOWAIT); /* accept */
	return fd;
}

static void
rpc_send(struct rpc_env *e, int fd, const char *data, size_t len)
{
	size_t off = 0;
	ssize_t n;

	while (off < len) {
		n = send(fd, data + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN) {
			ev_run(e->loop, EVRUN_NOWAIT);
			continue;
		}
		if (n <= 0)
			return; /* the server hung up */
		off += (size_t)n;
	}
}

/* Runs the loop until a reply line arrives; NULL on EOF. */
static json_t *
rpc_reply(struct rpc_env *e, int fd)
{
	static char buf[1 << 17];
	size_t len = 0;
	ssize_t n;
	int spins;

	for (spins = 0; spins < 100000; spins++) {
		ev_run(e->loop, EVRUN_NOWAIT);
		n = recv(fd, buf + len, sizeof(buf) - len - 1, 0);
		if (n == 0)
			return NULL;
		if (n > 0) {
			len += (size_t)n;
			if (memchr(buf, '\n', len) != NULL)
				return json_loadb(
					buf, len, JSON_DISABLE_EOF_CHECK, NULL);
		}
	}
	fail_msg("no reply");
	return NULL;
}

/* Sends 'line' with 'n' fds attached to its first byte. */
static void
rpc_send_fds(struct rpc_env *e, int fd, const char *line, const int *fds, int n)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} cmsg;
	struct iovec iov = {.iov_base = (void *)line, .iov_len = strlen(line)};
	struct msghdr mh = {.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cmsg.buf,
		.msg_controllen = CMSG_SPACE(n * sizeof(int))};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	memset(&cmsg, 0, sizeof(cmsg));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	assert_int_equal(sendmsg(fd, &mh, MSG_NOSIGNAL), (ssize_t)strlen(line));
	ev_run(e->loop, EVRUN_NOWAIT);
}

/* A pipe whose write end the server got: it was closed there once the
 * read end sees EOF (the test's own copy closed first). */
static bool
write_end_closed(int rd)
{
	char c;

	return read(rd, &c, 1) == 0;
}

static int
error_code(json_t *rep)
{
	return (int)json_integer_value(
		json_object_get(json_object_get(rep, "error"), "code"));
}

static void
test_rpc_ok(void **state)
{
	struct rpc_env *e = *state;
	const char *req = "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":"
			  "{\"a\":1},\"id\":7}\n";
	int fd = rpc_connect(e);
	json_t *rep;

	rpc_send(e, fd, req, strlen(req));
	rep = rpc_reply(e, fd);
	assert_non_null(rep);
	assert_int_equal(json_integer_value(json_object_get(rep, "id")), 7);
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(rep, "result"), "a")),
		1);
	json_decref(rep);
	close(fd);
}

static void
test_rpc_malformed_then_ok(void **state)
{
	static const char *const bad[] = {
		"{\"jsonrpc\":\"2.0\",\"method\":", /* truncated */
		"not json at all",
		"[1,2,3]",
		"{\"jsonrpc\":\"2.0\",\"params\":{},\"id\":1}",
		"{\"jsonrpc\":\"2.0\",\"method\":5,\"id\":1}",
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[1],"
		"\"id\":1}",
		"{\"method\":\"echo\",\"method\":\"echo\",\"id\":1}",
		"\xff\xfe\x00garbage",
		NULL,
	};
	static const int codes[] = {CTL_ERR_PARSE, CTL_ERR_PARSE,
		CTL_ERR_INVALID_REQUEST, CTL_ERR_INVALID_REQUEST,
		CTL_ERR_INVALID_REQUEST, CTL_ERR_INVALID_REQUEST, CTL_ERR_PARSE,
		CTL_ERR_PARSE};
	struct rpc_env *e = *state;
	int fd = rpc_connect(e), i;
	json_t *rep;

	for (i = 0; bad[i] != NULL; i++) {
		rpc_send(e, fd, bad[i], strlen(bad[i]) + (i == 7 ? 3 : 0));
		rpc_send(e, fd, "\n", 1);
		rep = rpc_reply(e, fd);
		assert_non_null(rep);
		assert_int_equal(error_code(rep), codes[i]);
		json_decref(rep);
	}
	/* The same connection still works. */
	rpc_send(e, fd, "{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":2}\n",
		41);
	rep = rpc_reply(e, fd);
	assert_int_equal(error_code(rep), CTL_ERR_NO_METHOD);
	json_decref(rep);
	close(fd);
}

static void
test_rpc_oversized(void **state)
{
	struct rpc_env *e = *state;
	size_t len = CTL_MAX_REQUEST + 100;
	char *big = malloc(len);
	struct rpc_stats st;
	json_t *rep;
	int fd;

	memset(big, 'x', len);
	fd = rpc_connect(e);
	rpc_send(e, fd, big, len);
	rep = rpc_reply(e, fd);
	assert_non_null(rep);
	assert_int_equal(error_code(rep), CTL_ERR_INVALID_REQUEST);
	json_decref(rep);
	/* The rest of the line is skipped; the next request is served. */
	rpc_send(e, fd, big, len);
	rpc_send(e, fd,
		"\n{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1}\n", 42);
	rep = rpc_reply(e, fd);
	assert_non_null(json_object_get(rep, "result"));
	json_decref(rep);
	close(fd);
	free(big);
	ev_run(e->loop, EVRUN_NOWAIT);
	rpc_server_stats(e->srv, &st);
	assert_int_equal(st.clients, 0);
}

static void
test_rpc_notification_and_disconnect(void **state)
{
	struct rpc_env *e = *state;
	struct rpc_stats st;
	json_t *rep;
	int fd = rpc_connect(e);

	/* No id: handled, no reply.  The next request's reply comes first. */
	rpc_send(e, fd, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\"}\n", 34);
	rpc_send(e, fd, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":9}\n",
		41);
	rep = rpc_reply(e, fd);
	assert_int_equal(json_integer_value(json_object_get(rep, "id")), 9);
	assert_int_equal(e->calls, 2);
	json_decref(rep);
	/* A client that leaves mid-request. */
	rpc_send(e, fd, "{\"jsonrpc\":\"2.0\",\"meth", 22);
	close(fd);
	ev_run(e->loop, EVRUN_NOWAIT);
	ev_run(e->loop, EVRUN_NOWAIT);
	rpc_server_stats(e->srv, &st);
	assert_int_equal(st.clients, 0);
}

/* A server with its own limits on rpc2.sock (for the limit tests). */
static struct rpc_server *
limited_server(struct rpc_env *e, double idle, unsigned int max)
{
	struct rpc_options o = {.perm = 0600,
		.gid = (gid_t)-1,
		.idle_timeout = idle,
		.max_clients = max};
	char err[256];

	rpc_server_destroy(e->srv);
	e->srv = rpc_server_create(
		e->loop, e->path, &o, echo_dispatch, e, err, sizeof(err));
	assert_non_null(e->srv);
	return e->srv;
}

static void
test_rpc_idle_timeout(void **state)
{
	struct rpc_env *e = *state;
	struct rpc_stats st;
	char buf[16];
	int fd, i;

	limited_server(e, 0.05, 0);
	fd = rpc_connect(e);
	/* Half a request is no activity: the client is closed all the same. */
	rpc_send(e, fd, "{\"jsonrpc\":\"2.0\",\"meth", 22);
	for (i = 0; i < 100; i++) {
		rpc_server_stats(e->srv, &st);
		if (st.clients == 0)
			break;
		ev_run(e->loop, EVRUN_ONCE);
	}
	assert_int_equal(st.clients, 0);
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), 0); /* EOF */
	close(fd);
}

static void
test_rpc_eviction(void **state)
{
	struct rpc_env *e = *state;
	const char *req =
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":3}\n";
	struct rpc_stats st;
	int fd1, fd2, fd3;
	char buf[16];
	json_t *rep;

	limited_server(e, 0, 2);
	fd1 = rpc_connect(e);
	fd2 = rpc_connect(e);
	/* fd1 is the least recently active once fd2 made a request. */
	rpc_send(e, fd2, req, strlen(req));
	json_decref(rpc_reply(e, fd2));
	fd3 = rpc_connect(e);
	rpc_server_stats(e->srv, &st);
	assert_int_equal(st.evictions, 1);
	assert_int_equal(st.clients, 2);
	assert_int_equal(recv(fd1, buf, sizeof(buf), 0), 0); /* evicted */
	/* The newcomer is served. */
	rpc_send(e, fd3, req, strlen(req));
	rep = rpc_reply(e, fd3);
	assert_int_equal(json_integer_value(json_object_get(rep, "id")), 3);
	json_decref(rep);
	close(fd1);
	close(fd2);
	close(fd3);
}

static void
test_rpc_truncated_utf8_message(void **state)
{
	struct rpc_env *e = *state;
	size_t n = 2000, i, len;
	char *req = malloc(n * 2 + 64);
	json_t *rep;
	int fd = rpc_connect(e);

	/*
	 * An unknown method of 1000 two-byte characters: the error message
	 * naming it is cut mid-character and must still be sent.
	 */
	len = (size_t)sprintf(
		req, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"");
	for (i = 0; i < n / 2; i++) {
		req[len++] = (char)0xc3;
		req[len++] = (char)0xa9;
	}
	len += (size_t)sprintf(req + len, "x\"}\n");
	rpc_send(e, fd, req, len);
	rep = rpc_reply(e, fd);
	assert_non_null(rep);
	assert_int_equal(error_code(rep), CTL_ERR_NO_METHOD);
	json_decref(rep);
	close(fd);
	free(req);
}

static void
test_rpc_refuses_live_socket(void **state)
{
	struct rpc_env *e = *state;
	char err[256];

	assert_null(rpc_server_create(e->loop, e->path, &rpc_opts,
		echo_dispatch, e, err, sizeof(err)));
	assert_non_null(strstr(err, "already running"));
}

/* ---- the path policy ---- */

static void
test_paths_policy(void **state)
{
	char allowed[128], out[128], p[512], t[256], err[1024];
	struct paths *pp = paths_create("");
	struct stat st;

	snprintf(allowed, sizeof(allowed), "%s/allowed", tmpdir);
	snprintf(out, sizeof(out), "%s/out", tmpdir);
	mkdir(allowed, 0700);
	mkdir(out, 0700);
	assert_int_equal(paths_add_socket_dir(pp, allowed), 0);
	assert_int_equal(paths_add_socket_dir(pp, "relative"), -EINVAL);
#define OK(...)                                                          \
	do {                                                             \
		snprintf(p, sizeof(p), __VA_ARGS__);                     \
		assert_int_equal(                                        \
			paths_check_socket(pp, p, err, sizeof(err)), 0); \
	} while (0)
#define NO(ret, ...)                                                       \
	do {                                                               \
		snprintf(p, sizeof(p), __VA_ARGS__);                       \
		assert_int_equal(                                          \
			paths_check_socket(pp, p, err, sizeof(err)), ret); \
	} while (0)
	OK("%s/a.sock", allowed);
	OK("%s/not/yet/there/a.sock", allowed);
	OK("%s/../allowed/a.sock", allowed);
	NO(-EACCES, "%s/a.sock", out);
	assert_non_null(strstr(err, "is outside the socket directories"));
	assert_non_null(strstr(err, allowed));
	NO(-EACCES, "%s/../out/a.sock", allowed);
	NO(-EACCES, "/etc/x.sock");
	NO(-EINVAL, "%s/missing/../../out/a.sock", allowed);
	NO(-EINVAL, "a.sock");
	NO(-EINVAL, "%s/", allowed);
	NO(-EINVAL, "%s/..", allowed);
	/* A symlinked parent that points outside. */
	snprintf(t, sizeof(t), "%s/link", allowed);
	assert_int_equal(symlink(out, t), 0);
	NO(-EACCES, "%s/link/a.sock", allowed);
	assert_non_null(strstr(err, "really"));
	/* A symlink as the socket itself. */
	snprintf(t, sizeof(t), "%s/fl.sock", allowed);
	assert_int_equal(symlink("/etc/passwd", t), 0);
	NO(-EACCES, "%s", t);
	/* No policy: nothing. */
	snprintf(p, sizeof(p), "%s/a.sock", allowed);
	assert_int_equal(
		paths_check_socket(NULL, p, err, sizeof(err)), -EACCES);
	paths_destroy(pp);

	/* config save: socket dirs and the state dir, created 0700. */
	snprintf(t, sizeof(t), "%s/state", tmpdir);
	pp = paths_create(t);
	assert_int_equal(paths_add_socket_dir(pp, allowed), 0);
	snprintf(p, sizeof(p), "%s/c.json", t);
	assert_int_equal(paths_prepare_save(pp, p, err, sizeof(err)), 0);
	assert_int_equal(stat(t, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(p, sizeof(p), "%s/c.json", allowed);
	assert_int_equal(paths_prepare_save(pp, p, err, sizeof(err)), 0);
	assert_int_equal(
		paths_prepare_save(pp, "/etc/c.json", err, sizeof(err)),
		-EACCES);
	assert_non_null(strstr(err, "state directory"));
	paths_destroy(pp);
#undef OK
#undef NO
}

/* ---- actions through vhsw_dispatch ---- */

static int
sw_setup(void **state)
{
	struct sw_env *e = ut_sw_create("ut_ctl_fdb", pool, qsv, tmpdir);

	*state = e;
	return e != NULL && ethport_init(pool, vhsw_wake, &e->sw, NULL) == 0
		? 0
		: -1;
}

static void
test_action_port_add_checks(void **state)
{
	char params[512];
	static const char *const bad[] = {
		"{}",
		"{\"name\":\"a\"}",
		"{\"name\":\"a\",\"type\":\"vhost-user\"}",
		"{\"name\":\"a\",\"type\":\"tap\",\"socket\":\"/x\"}",
		"{\"name\":\"a b\",\"type\":\"vhost-user\",\"socket\":\"/x\"}",
		"{\"name\":\"a\",\"type\":\"vhost-user\",\"socket\":\"/"
		"x\",\"bogus\":1}",
		"{\"name\":\"a\",\"type\":\"vhost-user\",\"socket\":\"/"
		"x\",\"queues\":\"2\"}",
		"{\"name\":\"a\",\"type\":\"vhost-user\",\"socket\":\"/"
		"x\",\"queues\":0}",
		"{\"name\":\"a\",\"type\":\"vhost-user\",\"socket\":\"/"
		"x\",\"vlan\":4095}",
		"{\"name\":\"a\",\"type\":\"vhost-user\",\"socket\":\"/"
		"x\",\"mac\":\"zz\"}",
		"{\"name\":\"a\",\"type\":\"vhost-user\",\"socket\":\"/"
		"x\",\"mac\":\"01:00:5e:00:00:01\"}",
		"{\"name\":\"a\",\"type\":\"vhost-user\",\"socket\":\"/"
		"x\",\"mode\":\"peer\"}",
		"{\"name\":\"a\",\"type\":\"vhost-user\",\"socket\":\"/"
		"x\",\"perm\":\"999\"}",
		"{\"name\":\"a\",\"type\":\"vhost-user\",\"socket\":\"/"
		"x\",\"mtu\":10}",
		"{\"name\":\"a\",\"type\":\"vhost-user\",\"socket\":\"/"
		"x\",\"owner\":\"no-such-user-x\"}",
		"{\"name\":\"a\",\"type\":\"vhost-user\",\"socket\":"
		"\"relative\"}",
		"{\"name\":\"a\",\"type\":\"vhost-user\",\"socket\":\"/"
		"x\",\"netns\":\"/run/netns/x\"}",
		"{\"name\":\"a\",\"type\":\"uplink\",\"devargs\":\"x\"}",
		"{\"name\":\"uplink\",\"type\":\"vhost-user\",\"socket\":"
		"\"/x\"}",
		NULL,
	};
	struct sw_env *e = *state;
	char msg[512];
	int i;

	for (i = 0; bad[i] != NULL; i++) {
		if (call(e, "port/add", bad[i], NULL, msg) == 0)
			fail_msg("accepted %s", bad[i]);
		assert_true(msg[0] != '\0');
	}
	assert_null(vhsw_port_find(&e->sw, "a"));
	/* The kinds come from the registry; the uplink's name is its own. */
	snprintf(params, sizeof(params),
		"{\"name\":\"uplink\",\"type\":\"vhost-user\",\"socket\":"
		"\"%s/u.sock\"}",
		tmpdir);
	assert_int_equal(
		call(e, "port/add", params, NULL, msg), CTL_ERR_INVALID_PARAMS);
	assert_non_null(strstr(msg, "reserved"));
	assert_int_equal(
		call(e, "port/add", "{\"name\":\"a\",\"type\":\"tap\"}", NULL,
			msg),
		CTL_ERR_INVALID_PARAMS);
	assert_non_null(strstr(msg, "expected vhost-user or kernel"));
}

static void
test_action_socket_rules(void **state)
{
	struct sw_env *e = *state;
	char params[512], path[256], longp[200], msg[512];
	json_t *res;
	int fd;

	/* A path over 107 bytes. */
	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	snprintf(params, sizeof(params),
		"{\"name\":\"l\",\"type\":\"vhost-user\",\"socket\":\"%s/%s\"}",
		tmpdir, longp);
	assert_int_equal(
		call(e, "port/add", params, NULL, msg), CTL_ERR_REFUSED);
	assert_non_null(strstr(msg, "107"));
	/* An existing regular file. */
	snprintf(path, sizeof(path), "%s/plain", tmpdir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	snprintf(params, sizeof(params),
		"{\"name\":\"f\",\"type\":\"vhost-user\",\"socket\":\"%s\"}",
		path);
	assert_int_equal(
		call(e, "port/add", params, NULL, msg), CTL_ERR_REFUSED);
	assert_non_null(strstr(msg, "not a socket"));
	/* A good one, with owner and permissions. */
	snprintf(path, sizeof(path), "%s/ok.sock", tmpdir);
	snprintf(params, sizeof(params),
		"{\"name\":\"ok\",\"type\":\"vhost-user\",\"socket\":\"%s\","
		"\"perm\":\"0600\",\"owner\":\"0:0\",\"mac\":\"52:54:00:00:00:"
		"01\"}",
		path);
	if (call(e, "port/add", params, &res, msg) != 0)
		fail_msg("%s", msg);
	assert_string_equal(
		json_string_value(json_object_get(res, "state")), "down");
	json_decref(res);
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_true(S_ISSOCK(st.st_mode));
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	/* Duplicate name; duplicate socket (someone listens on it). */
	assert_int_equal(
		call(e, "port/add", params, NULL, msg), CTL_ERR_REFUSED);
	assert_non_null(strstr(msg, "already exists"));
	snprintf(params, sizeof(params),
		"{\"name\":\"ok2\",\"type\":\"vhost-user\",\"socket\":\"%s\"}",
		path);
	assert_int_equal(
		call(e, "port/add", params, NULL, msg), CTL_ERR_REFUSED);
	/* Its MAC is a static FDB entry. */
	assert_int_equal(call(e, "fdb/show", "{}", &res, msg), 0);
	assert_int_equal(json_array_size(res), 1);
	assert_true(json_is_true(
		json_object_get(json_array_get(res, 0), "static")));
	json_decref(res);
	/* Delete removes the socket file and the entry. */
	assert_int_equal(
		call(e, "port/del", "{\"name\":\"ok\"}", NULL, msg), 0);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(call(e, "fdb/show", "{}", &res, msg), 0);
	assert_int_equal(json_array_size(res), 0);
	json_decref(res);
	assert_int_equal(call(e, "port/del", "{\"name\":\"ok\"}", NULL, msg),
		CTL_ERR_REFUSED);
}

static void
test_action_stale_socket_replaced(void **state)
{
	struct sw_env *e = *state;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char params[512], msg[512];
	int fd;

	/* A socket file nobody listens on any more. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/stale.sock", tmpdir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	snprintf(params, sizeof(params),
		"{\"name\":\"s\",\"type\":\"vhost-user\",\"socket\":\"%s\"}",
		sa.sun_path);
	assert_int_equal(call(e, "port/add", params, NULL, msg), 0);
	assert_int_equal(call(e, "port/del", "{\"name\":\"s\"}", NULL, msg), 0);
}

static void
test_action_fdb_and_misc(void **state)
{
	struct sw_env *e = *state;
	char params[512], msg[512];
	json_t *res;

	snprintf(params, sizeof(params),
		"{\"name\":\"v\",\"type\":\"vhost-user\",\"socket\":\"%s/"
		"v.sock\",\"vlan\":10}",
		tmpdir);
	assert_int_equal(call(e, "port/add", params, NULL, msg), 0);
	assert_int_equal(
		call(e, "fdb/add",
			"{\"mac\":\"52:54:00:00:00:09\",\"port\":\"v\"}", NULL,
			msg),
		0);
	assert_int_equal(call(e, "fdb/show", "{\"port\":\"v\"}", &res, msg), 0);
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(res, 0), "vlan")),
		10); /* defaults to the access VLAN */
	json_decref(res);
	assert_int_equal(call(e, "fdb/add",
				 "{\"mac\":\"52:54:00:00:00:09\",\"port\":"
				 "\"v\",\"vlan\":20}",
				 NULL, msg),
		CTL_ERR_REFUSED);
	assert_int_equal(
		call(e, "fdb/add",
			"{\"mac\":\"ff:ff:ff:ff:ff:ff\",\"port\":\"v\"}", NULL,
			msg),
		CTL_ERR_INVALID_PARAMS);
	assert_int_equal(
		call(e, "fdb/add",
			"{\"mac\":\"52:54:00:00:00:09\",\"port\":\"nope\"}",
			NULL, msg),
		CTL_ERR_REFUSED);
	assert_int_equal(call(e, "fdb/del",
				 "{\"mac\":\"52:54:00:00:00:09\",\"vlan\":10}",
				 NULL, msg),
		0);
	assert_int_equal(call(e, "fdb/set/aging", "{\"aging\":-1}", NULL, msg),
		CTL_ERR_INVALID_PARAMS);
	assert_int_equal(
		call(e, "fdb/set/aging", "{\"aging\":30}", NULL, msg), 0);
	assert_int_equal(e->sw.aging, 30);
	assert_int_equal(
		call(e, "fdb/set/limit", "{\"limit\":100000000}", NULL, msg),
		CTL_ERR_INVALID_PARAMS);
	assert_int_equal(call(e, "fdb/show", "{\"port\":\"nope\"}", NULL, msg),
		CTL_ERR_REFUSED);
	assert_int_equal(call(e, "stats", "{\"clear\":true}", &res, msg), 0);
	assert_non_null(json_object_get(json_object_get(res, "ports"), "v"));
	assert_non_null(json_object_get(res, "dataplane"));
	json_decref(res);
	assert_int_equal(call(e, "version", "{\"x\":1}", NULL, msg),
		CTL_ERR_INVALID_PARAMS);
	assert_int_equal(
		call(e, "no/such", "{}", NULL, msg), CTL_ERR_NO_METHOD);
	assert_int_equal(call(e, "config/save", "{}", NULL, msg),
		CTL_ERR_REFUSED); /* no --config */
}

/* Every key `stats` shows has a description in `stats --describe`. */
static void
test_action_stats_describe(void **state)
{
	struct sw_env *e = *state;
	char params[512], msg[512], path[128], err[256];
	json_t *res, *d, *grp, *port, *v;
	const struct ctl_cmd *cmd;
	const char *g, *name, *k;

	res = parse("stats --describe", &cmd, err, sizeof(err));
	assert_non_null(cmd);
	assert_true(json_is_true(json_object_get(res, "describe")));
	json_decref(res);
	snprintf(params, sizeof(params),
		"{\"name\":\"s1\",\"type\":\"vhost-user\",\"socket\":\"%s/"
		"s1.sock\"}",
		tmpdir);
	assert_int_equal(call(e, "port/add", params, NULL, msg), 0);
	snprintf(path, sizeof(path), "%s/stats-ctl.sock", tmpdir);
	e->sw.rpc = rpc_server_create(e->loop, path, &rpc_opts, vhsw_dispatch,
		&e->sw, err, sizeof(err));
	assert_non_null(e->sw.rpc);

	assert_int_equal(call(e, "stats", "{}", &res, msg), 0);
	assert_int_equal(call(e, "stats", "{\"describe\":true}", &d, msg), 0);
	assert_int_equal(json_object_size(res), 4); /* with "rpc" */
	assert_int_equal(json_object_size(d), json_object_size(res));
	json_object_foreach(res, g, grp)
	{
		json_t *dg = json_object_get(d, g);

		assert_non_null(dg);
		if (strcmp(g, "ports") != 0) {
			assert_int_equal(
				json_object_size(grp), json_object_size(dg));
			json_object_foreach(grp, k, v)
			{
				if (!json_is_string(json_object_get(dg, k)))
					fail_msg("%s.%s has no description", g,
						k);
			}
			continue;
		}
		assert_int_equal(json_object_size(grp), 1);
		json_object_foreach(grp, name, port)
		{
			assert_int_equal(
				json_object_size(port), json_object_size(dg));
			json_object_foreach(port, k, v)
			{
				if (!json_is_string(json_object_get(dg, k)))
					fail_msg("ports.%s has no description",
						k);
			}
		}
	}
	json_decref(res);
	json_decref(d);
	/* A describe is not a read: no port, no clear. */
	assert_int_equal(call(e, "stats", "{\"describe\":true,\"port\":\"s1\"}",
				 NULL, msg),
		CTL_ERR_INVALID_PARAMS);
	assert_int_equal(call(e, "stats", "{\"describe\":true,\"clear\":true}",
				 NULL, msg),
		CTL_ERR_INVALID_PARAMS);
	assert_int_equal(call(e, "stats", "{\"describe\":1}", NULL, msg),
		CTL_ERR_INVALID_PARAMS);
	assert_int_equal(
		call(e, "stats", "{\"describe\":false}", &res, msg), 0);
	assert_non_null(json_object_get(json_object_get(res, "ports"), "s1"));
	json_decref(res);
	rpc_server_destroy(e->sw.rpc);
	e->sw.rpc = NULL;
}

static void
test_config_roundtrip(void **state)
{
	struct sw_env *e = *state;
	char path[128], path2[128], params[512], msg[512], err[512];
	json_t *cfg, *a, *b;

	snprintf(params, sizeof(params),
		"{\"name\":\"r1\",\"type\":\"vhost-user\",\"socket\":\"%s/"
		"r1.sock\",\"vlan\":5,\"queues\":2,\"mac\":\"52:54:00:00:00:"
		"05\"}",
		tmpdir);
	assert_int_equal(call(e, "port/add", params, NULL, msg), 0);
	snprintf(params, sizeof(params),
		"{\"name\":\"r2\",\"type\":\"vhost-user\",\"socket\":\"%s/"
		"r2.sock\",\"mode\":\"client\"}",
		tmpdir);
	assert_int_equal(call(e, "port/add", params, NULL, msg), 0);
	assert_int_equal(
		call(e, "fdb/add",
			"{\"mac\":\"52:54:00:00:00:07\",\"port\":\"r2\"}", NULL,
			msg),
		0);
	snprintf(path, sizeof(path), "%s/cfg.json", tmpdir);
	snprintf(params, sizeof(params), "{\"file\":\"%s\"}", path);
	assert_int_equal(call(e, "config/save", params, NULL, msg), 0);
	a = config_dump(&e->sw);
	/* Load it into a fresh switch: the same configuration results. */
	vhsw_fini(&e->sw);
	vhsw_init(&e->sw, e->loop, pool, qsv, e->fdb, e->dp);
	e->sw.paths = e->paths;
	cfg = config_read(path, err, sizeof(err));
	assert_non_null(cfg);
	assert_int_equal(
		config_apply(&e->sw, path, cfg, NULL, err, sizeof(err)), 0);
	json_decref(cfg);
	b = config_dump(&e->sw);
	assert_true(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	/* Bad files: named file, key and reason. */
	snprintf(path2, sizeof(path2), "%s/bad.json", tmpdir);
	{
		static const char *const bad[] = {
			"{\"ports\":[{\"name\":\"x\",\"type\":\"vhost-user\","
			"\"socket\":\"/tmp/x\",\"colour\":1}]}",
			"{\"ports\":{}}",
			"{\"fdb\":{\"aging\":\"long\"}}",
			"{\"fdb\":{\"limit\":0}}",
			"{\"extra\":1}",
			"{\"ports\":[{\"name\":\"r1\",\"type\":\"vhost-user\","
			"\"socket\":\"/tmp/y\"}]}",
			"{\"ports\":[1]}",
			"[]",
			"{\"ports\":[",
			NULL,
		};
		int i;

		for (i = 0; bad[i] != NULL; i++) {
			FILE *f = fopen(path2, "w");

			fputs(bad[i], f);
			fclose(f);
			err[0] = '\0';
			cfg = config_read(path2, err, sizeof(err));
			if (cfg != NULL) {
				if (config_apply(&e->sw, path2, cfg, NULL, err,
					    sizeof(err)) == 0)
					fail_msg("accepted %s", bad[i]);
				json_decref(cfg);
			}
			assert_non_null(strstr(err, path2));
		}
	}
}

/* At most one fd per request; none is leaked (rpc.h). */
static void
test_rpc_fd_passing(void **state)
{
	struct rpc_env *e = *state;
	int fd = rpc_connect(e), p[2], q[2], two[2];
	json_t *rep;

	/* An fd with a request that takes none: answered, closed. */
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	rpc_send_fds(e, fd,
		"{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":1}\n", &p[1],
		1);
	rep = rpc_reply(e, fd);
	assert_non_null(json_object_get(rep, "result"));
	json_decref(rep);
	close(p[1]);
	assert_true(write_end_closed(p[0]));
	close(p[0]);

	/* Taken by the action: open, the action's. */
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	e->taken = -1;
	rpc_send_fds(e, fd,
		"{\"jsonrpc\":\"2.0\",\"method\":\"take\",\"id\":2}\n", &p[1],
		1);
	rep = rpc_reply(e, fd);
	json_decref(rep);
	assert_true(e->taken >= 0);
	assert_true(fcntl(e->taken, F_GETFD) & FD_CLOEXEC);
	close(p[1]);
	assert_false(write_end_closed(p[0]));
	close(e->taken);
	assert_true(write_end_closed(p[0]));
	close(p[0]);

	/* Two fds: refused, both closed, the action not run. */
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	assert_int_equal(pipe2(q, O_NONBLOCK), 0);
	two[0] = p[1];
	two[1] = q[1];
	e->taken = -1;
	rpc_send_fds(e, fd,
		"{\"jsonrpc\":\"2.0\",\"method\":\"take\",\"id\":3}\n", two, 2);
	rep = rpc_reply(e, fd);
	assert_int_equal(error_code(rep), CTL_ERR_INVALID_REQUEST);
	json_decref(rep);
	assert_int_equal(e->taken, -1);
	close(p[1]);
	close(q[1]);
	assert_true(write_end_closed(p[0]));
	assert_true(write_end_closed(q[0]));
	close(p[0]);
	close(q[0]);

	/* The next request on the connection carries none. */
	rpc_send(e, fd, "{\"jsonrpc\":\"2.0\",\"method\":\"take\",\"id\":4}\n",
		strlen("{\"jsonrpc\":\"2.0\",\"method\":\"take\",\"id\":4}\n"));
	rep = rpc_reply(e, fd);
	json_decref(rep);
	assert_int_equal(e->taken, -1);

	/* A client that leaves in the middle of its line: closed. */
	assert_int_equal(pipe2(p, O_NONBLOCK), 0);
	rpc_send_fds(e, fd, "{\"jsonrpc\":", &p[1], 1);
	close(p[1]);
	assert_false(write_end_closed(p[0]));
	close(fd);
	ev_run(e->loop, EVRUN_NOWAIT);
	assert_true(write_end_closed(p[0]));
	close(p[0]);
}

int
main(void)
{
	const struct CMUnitTest parse_tests[] = {
		cmocka_unit_test(test_parse_port_add),
		cmocka_unit_test(test_parse_longest_match),
		cmocka_unit_test(test_parse_usage_errors),
		cmocka_unit_test(test_table_well_formed),
		cmocka_unit_test(test_usage_per_kind),
		cmocka_unit_test(test_check_params_and_kind),
	};
	const struct CMUnitTest rpc_tests[] = {
		cmocka_unit_test_setup_teardown(
			test_rpc_ok, rpc_setup, rpc_teardown),
		cmocka_unit_test_setup_teardown(
			test_rpc_malformed_then_ok, rpc_setup, rpc_teardown),
		cmocka_unit_test_setup_teardown(
			test_rpc_oversized, rpc_setup, rpc_teardown),
		cmocka_unit_test_setup_teardown(
			test_rpc_notification_and_disconnect, rpc_setup,
			rpc_teardown),
		cmocka_unit_test_setup_teardown(
			test_rpc_idle_timeout, rpc_setup, rpc_teardown),
		cmocka_unit_test_setup_teardown(
			test_rpc_eviction, rpc_setup, rpc_teardown),
		cmocka_unit_test_setup_teardown(test_rpc_truncated_utf8_message,
			rpc_setup, rpc_teardown),
		cmocka_unit_test_setup_teardown(
			test_rpc_refuses_live_socket, rpc_setup, rpc_teardown),
		cmocka_unit_test_setup_teardown(
			test_rpc_fd_passing, rpc_setup, rpc_teardown),
		cmocka_unit_test(test_paths_policy),
	};
	const struct CMUnitTest action_tests[] = {
		cmocka_unit_test_setup_teardown(
			test_action_port_add_checks, sw_setup, sw_teardown),
		cmocka_unit_test_setup_teardown(
			test_action_socket_rules, sw_setup, sw_teardown),
		cmocka_unit_test_setup_teardown(
			test_action_stale_socket_replaced, sw_setup,
			sw_teardown),
		cmocka_unit_test_setup_teardown(
			test_action_fdb_and_misc, sw_setup, sw_teardown),
		cmocka_unit_test_setup_teardown(
			test_action_stats_describe, sw_setup, sw_teardown),
		cmocka_unit_test_setup_teardown(
			test_config_roundtrip, sw_setup, sw_teardown),
	};
	int fails = 0;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vhsw-ut-ctl-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	fails += cmocka_run_group_tests_name(
		"ctl_parse", parse_tests, NULL, NULL);
	fails += cmocka_run_group_tests_name("rpc", rpc_tests, NULL, NULL);
	if (ut_eal_init("ctl") != 0)
		return 1;
	pool = rte_pktmbuf_pool_create(
		"ut_pool", 1023, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
	qsv = rte_zmalloc(NULL, rte_rcu_qsbr_get_memsize(1), 64);
	if (pool == NULL || qsv == NULL || rte_rcu_qsbr_init(qsv, 1) != 0)
		return 1;
	fails += cmocka_run_group_tests_name(
		"actions", action_tests, NULL, NULL);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		if (system(cmd) != 0)
			fails++;
	}
	return fails;
}
