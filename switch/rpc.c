/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rpc.c - JSON-RPC server (see rpc.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "rpc.h"

#define RPC_MAX_CLIENTS 64
#define RPC_MAX_PENDING_OUT (64u << 20)

struct rpc_client {
	ev_io io; /* first: the watcher is the client */
	struct rpc_server *srv;
	char in[CTL_MAX_REQUEST + 1];
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	int discarding; /* skipping the rest of an oversized line */
	struct rpc_client *next;
};

struct rpc_server {
	ev_io io;
	struct ev_loop *loop;
	char path[108];
	rpc_dispatch_fn fn;
	void *arg;
	struct rpc_client *clients;
	struct rpc_stats st;
};

static void client_cb(struct ev_loop *loop, ev_io *w, int revents);

static void
client_free(struct rpc_client *c)
{
	struct rpc_server *srv = c->srv;
	struct rpc_client **pp;

	ev_io_stop(srv->loop, &c->io);
	close(c->io.fd);
	for (pp = &srv->clients; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	srv->st.clients--;
	free(c->out);
	free(c);
}

static void
client_update_events(struct rpc_client *c)
{
	int ev = EV_READ | (c->out_len > c->out_off ? EV_WRITE : 0);

	if (ev == c->io.events)
		return;
	ev_io_stop(c->srv->loop, &c->io);
	ev_io_set(&c->io, c->io.fd, ev);
	if (ev != 0)
		ev_io_start(c->srv->loop, &c->io);
}

/* Queues 'line' and a newline.  0 or -1 when the client must go. */
static int
client_queue(struct rpc_client *c, const char *line)
{
	size_t n = strlen(line) + 1, need;
	char *b;

	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	need = c->out_len + n;
	if (need > RPC_MAX_PENDING_OUT)
		return -1;
	if (need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;

		while (cap < need)
			cap *= 2;
		b = realloc(c->out, cap);
		if (b == NULL)
			return -1;
		c->out = b;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, line, n - 1);
	c->out[c->out_len + n - 1] = '\n';
	c->out_len = need;
	return 0;
}

static int
reply(struct rpc_client *c, json_t *id, json_t *result, int code,
	const char *msg)
{
	json_t *rep;
	char *line;
	int ret;

	if (result != NULL)
		rep = json_pack("{s:s, s:o, s:O}", "jsonrpc", "2.0", "result",
			result, "id", id ? id : json_null());
	else
		rep = json_pack("{s:s, s:{s:i, s:s}, s:O}", "jsonrpc", "2.0",
			"error", "code", code, "message", msg, "id",
			id ? id : json_null());
	if (rep == NULL)
		return -1;
	line = json_dumps(rep, JSON_COMPACT);
	json_decref(rep);
	if (line == NULL)
		return -1;
	ret = client_queue(c, line);
	free(line);
	return ret;
}

static int
handle_line(struct rpc_client *c, const char *line, size_t len)
{
	struct rpc_server *srv = c->srv;
	json_t *req, *id, *method, *params, *result, *empty = NULL;
	char msg[512] = "";
	json_error_t jerr;
	int code = 0, ret;

	srv->st.requests++;
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL) {
		srv->st.errors++;
		snprintf(msg, sizeof(msg), "parse error: %s", jerr.text);
		return reply(c, NULL, NULL, CTL_ERR_PARSE, msg);
	}
	id = json_object_get(req, "id");
	method = json_object_get(req, "method");
	params = json_object_get(req, "params");
	if (!json_is_object(req) || !json_is_string(method) ||
		(params != NULL && !json_is_object(params) &&
			!json_is_null(params)) ||
		(id != NULL && !json_is_string(id) && !json_is_integer(id) &&
			!json_is_null(id))) {
		srv->st.errors++;
		ret = reply(c, json_is_object(req) ? id : NULL, NULL,
			CTL_ERR_INVALID_REQUEST,
			"invalid request: expected {\"jsonrpc\":\"2.0\", "
			"\"method\": string, \"params\": object, \"id\": ...}");
		json_decref(req);
		return ret;
	}
	if (params == NULL || json_is_null(params))
		params = empty = json_object();
	result = srv->fn(srv->arg, json_string_value(method), params, &code,
		msg, sizeof(msg));
	json_decref(empty);
	if (result == NULL)
		srv->st.errors++;
	/* A request without an id is a notification: no reply. */
	if (id == NULL) {
		json_decref(result);
		json_decref(req);
		return 0;
	}
	ret = reply(c, id, result, code, msg);
	json_decref(req);
	return ret;
}

static void
client_read(struct rpc_client *c)
{
	char *nl, *start, *end;
	ssize_t n;

	n = recv(c->io.fd, c->in + c->in_len, sizeof(c->in) - c->in_len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_free(c);
		return;
	}
	c->in_len += (size_t)n;
	start = c->in;
	end = c->in + c->in_len;
	if (c->discarding) {
		/* The rest of an oversized line: skip to its end. */
		nl = memchr(start, '\n', (size_t)(end - start));
		if (nl == NULL) {
			c->in_len = 0;
			goto out;
		}
		c->discarding = 0;
		start = nl + 1;
	}
	while ((nl = memchr(start, '\n', (size_t)(end - start))) != NULL) {
		if (nl > start &&
			handle_line(c, start, (size_t)(nl - start)) != 0) {
			client_free(c);
			return;
		}
		start = nl + 1;
	}
	c->in_len = (size_t)(end - start);
	memmove(c->in, start, c->in_len);
	if (c->in_len == sizeof(c->in)) {
		/* A line over the limit: answer now, drop it up to its end. */
		c->srv->st.errors++;
		c->in_len = 0;
		c->discarding = 1;
		if (reply(c, NULL, NULL, CTL_ERR_INVALID_REQUEST,
			    "request too large: the limit is 65536 bytes per "
			    "line") != 0) {
			client_free(c);
			return;
		}
	}
out:
	client_update_events(c);
}

static void
client_write(struct rpc_client *c)
{
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = send(c->io.fd, c->out + c->out_off, c->out_len - c->out_off,
			MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		if (n <= 0) {
			client_free(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	client_update_events(c);
}

static void
client_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rpc_client *c = (struct rpc_client *)w;

	if (revents & EV_WRITE) {
		client_write(c);
		return; /* reads resume once the output is gone */
	}
	if (revents & EV_READ)
		client_read(c);
}

static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rpc_server *srv = (struct rpc_server *)w;
	struct rpc_client *c;
	int fd;

	fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (srv->st.clients >= RPC_MAX_CLIENTS ||
		(c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->srv = srv;
	c->next = srv->clients;
	srv->clients = c;
	srv->st.clients++;
	ev_io_init(&c->io, client_cb, fd, EV_READ);
	ev_io_start(loop, &c->io);
}

struct rpc_server *
rpc_server_create(struct ev_loop *loop, const char *path, mode_t perm,
	rpc_dispatch_fn fn, void *arg, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct rpc_server *srv;
	int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen,
			"control socket path %s is longer than %zu bytes; use "
			"a shorter --ctl",
			path, sizeof(sa.sun_path) - 1);
		return NULL;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	/* A socket file nobody answers on is stale; a live one is not ours. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		snprintf(err, errlen,
			"another vhswd is already running on %s; stop it or "
			"use --ctl PATH",
			path);
		return NULL;
	}
	if (fd >= 0)
		close(fd);
	if (unlink(path) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove %s: %s", path,
			strerror(errno));
		return NULL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		chmod(path, perm) != 0 || listen(fd, 16) != 0) {
		snprintf(err, errlen, "cannot listen on control socket %s: %s",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL) {
		close(fd);
		unlink(path);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->loop = loop;
	srv->fn = fn;
	srv->arg = arg;
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	ev_io_init(&srv->io, accept_cb, fd, EV_READ);
	ev_io_start(loop, &srv->io);
	return srv;
}

void
rpc_server_destroy(struct rpc_server *srv)
{
	if (srv == NULL)
		return;
	while (srv->clients != NULL)
		client_free(srv->clients);
	ev_io_stop(srv->loop, &srv->io);
	close(srv->io.fd);
	unlink(srv->path);
	free(srv);
}

void
rpc_server_stats(const struct rpc_server *srv, struct rpc_stats *st)
{
	*st = srv->st;
}
