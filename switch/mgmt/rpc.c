/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * rpc.c - JSON-RPC server (see rpc.h).
 *
 * Clients sit in a list ordered by their last activity (a completed
 * request or reply bytes the client took), oldest first: the head is the
 * one to evict when the table is full.  Each client's idle timer is a
 * libev "repeat" timer restarted with ev_timer_again() on activity.
 *
 * A file descriptor received with a client's bytes waits in the client
 * ('pass') with the offset in the input buffer of the byte it came with,
 * until the line holding that byte is handled; req_fd hands it to the
 * action (rpc_take_fd) and what is not taken is closed after the reply.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "rpc.h"

#define RPC_IN_MAX (CTL_MAX_REQUEST + 1) /* a line and its newline */
#define RPC_IN_START 4096
#define RPC_BACKLOG 256
#define RPC_ACCEPTS_PER_WAKEUP 64
#define RPC_ACCEPT_PAUSE 0.1 /* seconds, when out of fds */
#define RPC_FDS_SEEN 4       /* room for this many fds per recvmsg() */

struct rpc_client {
	ev_io io; /* first: the watcher is the client */
	ev_timer idle;
	struct rpc_server *srv;
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off, out_cap;
	bool discarding; /* skipping the rest of an oversized line */
	bool eof;        /* the client shut down its sending side */
	/* An fd (or a refused attempt to pass some) waiting for its line. */
	bool pass_set;
	bool pass_bad;   /* more than one fd, or a control message cut short */
	int pass_fd;     /* -1 when bad */
	size_t pass_off; /* in 'in': the byte it came with */
	TAILQ_ENTRY(rpc_client) link;
};

TAILQ_HEAD(rpc_client_list, rpc_client);

struct rpc_server {
	ev_io io;
	ev_timer accept_pause; /* out of fds: retry accept() later */
	struct ev_loop *loop;
	char path[108];
	rpc_dispatch_fn fn;
	void *arg;
	double idle_timeout;
	unsigned int max_clients;
	struct rpc_client_list clients; /* least recently active first */
	struct rpc_stats st;
};

static void client_cb(struct ev_loop *loop, ev_io *w, int revents);

/* The fd of the request being dispatched (rpc_take_fd), and whether the
 * request tried to pass more than one. */
static int req_fd = -1;
static bool req_fd_bad;

int
rpc_take_fd(void)
{
	int fd = req_fd;

	req_fd = -1;
	return fd;
}

static void
pass_drop(struct rpc_client *c)
{
	if (c->pass_set && c->pass_fd >= 0)
		close(c->pass_fd);
	c->pass_set = false;
	c->pass_bad = false;
	c->pass_fd = -1;
}

static void
client_free(struct rpc_client *c)
{
	struct rpc_server *srv = c->srv;

	ev_io_stop(srv->loop, &c->io);
	ev_timer_stop(srv->loop, &c->idle);
	pass_drop(c);
	close(c->io.fd);
	TAILQ_REMOVE(&srv->clients, c, link);
	srv->st.clients--;
	free(c->in);
	free(c->out);
	free(c);
}

/* The client did something useful: it is the most recently active now. */
static void
client_touch(struct rpc_client *c)
{
	struct rpc_server *srv = c->srv;

	ev_timer_again(srv->loop, &c->idle);
	if (TAILQ_NEXT(c, link) != NULL) {
		TAILQ_REMOVE(&srv->clients, c, link);
		TAILQ_INSERT_TAIL(&srv->clients, c, link);
	}
}

static size_t
client_pending(const struct rpc_client *c)
{
	return c->out_len - c->out_off;
}

static void
client_update_events(struct rpc_client *c)
{
	int ev = 0;

	if (!c->eof && client_pending(c) < RPC_OUT_HIGH_WATER)
		ev |= EV_READ;
	if (client_pending(c) > 0)
		ev |= EV_WRITE;
	if (ev == (c->io.events & (EV_READ | EV_WRITE)) && ev_is_active(&c->io))
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
	if (need - c->out_off > RPC_MAX_PENDING_OUT)
		return -1;
	if (need > c->out_cap && c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		need -= c->out_off;
		c->out_off = 0;
	}
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

/*
 * Cuts 's' at its first byte that is not part of well-formed UTF-8, so a
 * message truncated by snprintf() in the middle of a character still
 * encodes as a JSON string.
 */
static void
utf8_trim(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t i = 0, n, k;
	uint32_t cp;

	while (p[i] != 0) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = p[i] & 0x1f;
		} else if ((p[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = p[i] & 0x0f;
		} else if ((p[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = p[i] & 0x07;
		} else {
			break;
		}
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				break;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (k <= n || (n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
			(n == 3 && cp < 0x10000) || cp > 0x10ffff ||
			(cp >= 0xd800 && cp <= 0xdfff))
			break;
		i += n + 1;
	}
	p[i] = '\0';
}

static int
encode_reply(json_t *id, json_t *result, int code, char *msg, char **line)
{
	json_t *rep;

	if (result != NULL) {
		rep = json_pack("{s:s, s:o, s:O}", "jsonrpc", "2.0", "result",
			result, "id", id ? id : json_null());
	} else {
		utf8_trim(msg);
		rep = json_pack("{s:s, s:{s:i, s:s}, s:O}", "jsonrpc", "2.0",
			"error", "code", code, "message", msg, "id",
			id ? id : json_null());
	}
	if (rep == NULL)
		return -ENOMEM;
	*line = json_dumps(rep, JSON_COMPACT);
	json_decref(rep);
	return *line != NULL ? 0 : -ENOMEM;
}

int
rpc_handle_line(rpc_dispatch_fn fn, void *arg, const char *line, size_t len,
	struct rpc_stats *st, char **reply)
{
	json_t *req, *id, *method, *params, *result, *empty = NULL;
	char msg[512] = "";
	json_error_t jerr;
	int code = 0, ret;

	*reply = NULL;
	st->requests++;
	req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (req == NULL) {
		st->errors++;
		snprintf(msg, sizeof(msg), "parse error: %s", jerr.text);
		return encode_reply(NULL, NULL, CTL_ERR_PARSE, msg, reply);
	}
	id = json_object_get(req, "id");
	method = json_object_get(req, "method");
	params = json_object_get(req, "params");
	if (!json_is_object(req) || !json_is_string(method) ||
		(params != NULL && !json_is_object(params) &&
			!json_is_null(params)) ||
		(id != NULL && !json_is_string(id) && !json_is_integer(id) &&
			!json_is_null(id))) {
		st->errors++;
		snprintf(msg, sizeof(msg),
			"invalid request: expected {\"jsonrpc\":\"2.0\", "
			"\"method\": string, \"params\": object, \"id\": ...}");
		ret = encode_reply(json_is_object(req) ? id : NULL, NULL,
			CTL_ERR_INVALID_REQUEST, msg, reply);
		json_decref(req);
		return ret;
	}
	if (req_fd_bad) {
		st->errors++;
		snprintf(msg, sizeof(msg),
			"invalid request: a request may carry one file "
			"descriptor at most (the ones sent were closed)");
		ret = encode_reply(
			id, NULL, CTL_ERR_INVALID_REQUEST, msg, reply);
		json_decref(req);
		return ret;
	}
	if (params == NULL || json_is_null(params))
		params = empty = json_object();
	result = fn(arg, json_string_value(method), params, &code, msg,
		sizeof(msg));
	json_decref(empty);
	if (result == NULL)
		st->errors++;
	/* A request without an id is a notification: no reply. */
	if (id == NULL) {
		json_decref(result);
		json_decref(req);
		return 0;
	}
	ret = encode_reply(id, result, code, msg, reply);
	json_decref(req);
	return ret;
}

static int
client_reply(struct rpc_client *c, const char *line, size_t len)
{
	size_t off = (size_t)(line - c->in);
	char *rep;
	int ret;

	/* The fd that came with a byte of this line (or its newline). */
	if (c->pass_set && c->pass_off <= off + len) {
		req_fd = c->pass_fd;
		req_fd_bad = c->pass_bad;
		c->pass_set = false;
		c->pass_fd = -1;
	}
	ret = rpc_handle_line(
		c->srv->fn, c->srv->arg, line, len, &c->srv->st, &rep);
	if (req_fd >= 0)
		close(req_fd); /* not taken */
	req_fd = -1;
	req_fd_bad = false;
	if (ret != 0)
		return -1;
	if (rep == NULL)
		return 0;
	ret = client_queue(c, rep);
	free(rep);
	return ret;
}

/*
 * Handles the complete lines in the input buffer while the client's
 * unread output stays under the high-water mark.  0, or -1 when the
 * client must go.
 */
static int
client_process(struct rpc_client *c)
{
	char *nl, *start = c->in, *end = c->in + c->in_len;
	char msg[] = "request too large: the limit is 65536 bytes per line";
	char *rep;
	int ret = 0;

	if (c->discarding) {
		/* The rest of an oversized line: skip to its end. */
		nl = memchr(start, '\n', (size_t)(end - start));
		if (nl == NULL) {
			c->in_len = 0;
			pass_drop(c);
			return 0;
		}
		if (c->pass_set && c->pass_off <= (size_t)(nl - c->in))
			pass_drop(c);
		c->discarding = false;
		start = nl + 1;
	}
	while (client_pending(c) < RPC_OUT_HIGH_WATER &&
		(nl = memchr(start, '\n', (size_t)(end - start))) != NULL) {
		if (nl > start) {
			if (client_reply(c, start, (size_t)(nl - start)) != 0)
				return -1;
			client_touch(c);
		} else if (c->pass_set && c->pass_off <= (size_t)(nl - c->in)) {
			pass_drop(c); /* came with an empty line */
		}
		start = nl + 1;
	}
	if (c->pass_set)
		c->pass_off -= (size_t)(start - c->in);
	c->in_len = (size_t)(end - start);
	memmove(c->in, start, c->in_len);
	if (c->in_len == RPC_IN_MAX && memchr(c->in, '\n', c->in_len) == NULL) {
		/* A line over the limit: answer now, drop it up to its end. */
		c->srv->st.requests++;
		c->srv->st.errors++;
		c->in_len = 0;
		c->discarding = true;
		pass_drop(c);
		if (encode_reply(NULL, NULL, CTL_ERR_INVALID_REQUEST, msg,
			    &rep) != 0)
			return -1;
		ret = client_queue(c, rep);
		free(rep);
	}
	return ret;
}

/* Closes a client that has nothing more to say or to read. */
static bool
client_done(struct rpc_client *c)
{
	return c->eof && client_pending(c) == 0;
}

/*
 * After I/O: answers the complete requests (if 'process'), then closes the
 * client if it is done or broke a limit, else waits for what it needs next.
 */
static void
client_continue(struct rpc_client *c, bool process)
{
	if (process && client_process(c) != 0) {
		c->srv->st.dropped++;
		client_free(c);
		return;
	}
	if (client_done(c)) {
		client_free(c);
		return;
	}
	client_update_events(c);
}

/*
 * Keeps the fds that came with the bytes at offset 'off': one is kept for
 * its request; more than one, or a control message cut short (fds beyond
 * the buffer are closed by the kernel), marks the request bad and closes
 * them all.
 */
static void
pass_receive(struct rpc_client *c, struct msghdr *mh, size_t off)
{
	int fds[RPC_FDS_SEEN], n = 0, k, i;
	struct cmsghdr *cm;
	bool bad = (mh->msg_flags & MSG_CTRUNC) != 0;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < k && n < RPC_FDS_SEEN; i++)
			memcpy(&fds[n++], CMSG_DATA(cm) + i * sizeof(int),
				sizeof(int));
	}
	if (n == 0 && !bad)
		return;
	if (n > 1 || bad || c->pass_set) {
		for (i = 0; i < n; i++)
			close(fds[i]);
		if (c->pass_set && c->pass_fd >= 0)
			close(c->pass_fd);
		if (!c->pass_set)
			c->pass_off = off;
		c->pass_set = true;
		c->pass_bad = true;
		c->pass_fd = -1;
		return;
	}
	c->pass_set = true;
	c->pass_bad = false;
	c->pass_fd = fds[0];
	c->pass_off = off;
}

static void
client_read(struct rpc_client *c)
{
	union {
		char buf[CMSG_SPACE(RPC_FDS_SEEN * sizeof(int))];
		struct cmsghdr align;
	} cmsg;
	struct iovec iov;
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cmsg.buf,
		.msg_controllen = sizeof(cmsg.buf),
	};
	ssize_t n;
	char *b;

	if (c->in_len == c->in_cap) {
		size_t cap = c->in_cap ? c->in_cap * 2 : RPC_IN_START;

		if (cap > RPC_IN_MAX)
			cap = RPC_IN_MAX;
		b = realloc(c->in, cap);
		if (b == NULL) {
			client_free(c);
			return;
		}
		c->in = b;
		c->in_cap = cap;
	}
	if (c->in_len == c->in_cap) {
		client_update_events(c); /* full of held-back requests */
		return;
	}
	iov.iov_base = c->in + c->in_len;
	iov.iov_len = c->in_cap - c->in_len;
	n = recvmsg(c->io.fd, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		client_free(c);
		return;
	}
	pass_receive(c, &mh, c->in_len);
	if (n == 0)
		c->eof = true; /* answer what came complete, then close */
	c->in_len += (size_t)n;
	client_continue(c, true);
}

static void
client_write(struct rpc_client *c)
{
	bool sent = false;
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
		sent = true;
	}
	if (sent)
		client_touch(c);
	/* Requests held back by the high-water mark. */
	client_continue(c, client_pending(c) < RPC_OUT_HIGH_WATER);
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
idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct rpc_client *c = (struct rpc_client *)((char *)w -
		offsetof(struct rpc_client, idle));

	c->srv->st.timeouts++;
	client_free(c);
}

/* Makes room for one more client: the one idle the longest goes. */
static bool
evict_oldest(struct rpc_server *srv)
{
	struct rpc_client *c = TAILQ_FIRST(&srv->clients);

	if (c == NULL)
		return false;
	srv->st.evictions++;
	client_free(c);
	return true;
}

static void
accept_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct rpc_server *srv = (struct rpc_server *)((char *)w -
		offsetof(struct rpc_server, accept_pause));

	ev_io_start(loop, &srv->io);
}

static void
accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rpc_server *srv = (struct rpc_server *)w;
	struct rpc_client *c;
	int fd, i;

	for (i = 0; i < RPC_ACCEPTS_PER_WAKEUP; i++) {
		fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0 &&
			(errno == EMFILE || errno == ENFILE ||
				errno == ENOBUFS || errno == ENOMEM)) {
			/* Free an fd and retry; else wait, not spin. */
			if (evict_oldest(srv))
				continue;
			ev_io_stop(loop, &srv->io);
			ev_timer_set(&srv->accept_pause, RPC_ACCEPT_PAUSE, 0);
			ev_timer_start(loop, &srv->accept_pause);
			return;
		}
		if (fd < 0)
			return; /* EAGAIN: drained; else the peer left */
		if (srv->st.clients >= srv->max_clients)
			evict_oldest(srv);
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			return;
		}
		c->srv = srv;
		c->pass_fd = -1;
		TAILQ_INSERT_TAIL(&srv->clients, c, link);
		srv->st.clients++;
		ev_io_init(&c->io, client_cb, fd, EV_READ);
		ev_io_start(loop, &c->io);
		ev_init(&c->idle, idle_cb);
		c->idle.repeat = srv->idle_timeout;
		ev_timer_again(loop, &c->idle);
	}
}

struct rpc_server *
rpc_server_create(struct ev_loop *loop, const char *path,
	const struct rpc_options *opt, rpc_dispatch_fn fn, void *arg, char *err,
	size_t errlen)
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
	/*
	 * Owner and mode are set on the path before listen(), so nobody can
	 * connect while they are still the umask's (a unix socket's access
	 * check is on the file, and fchmod() on the socket fd would not
	 * reach it).
	 */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		(opt->gid != (gid_t)-1 &&
			chown(path, (uid_t)-1, opt->gid) != 0) ||
		chmod(path, opt->perm) != 0 || listen(fd, RPC_BACKLOG) != 0) {
		snprintf(err, errlen, "cannot listen on control socket %s: %s",
			path, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(path);
		}
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
	srv->idle_timeout = opt->idle_timeout > 0 ? opt->idle_timeout
						  : RPC_DEFAULT_IDLE_TIMEOUT;
	srv->max_clients = opt->max_clients > 0 ? opt->max_clients
						: RPC_DEFAULT_MAX_CLIENTS;
	TAILQ_INIT(&srv->clients);
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	ev_init(&srv->accept_pause, accept_pause_cb);
	ev_io_init(&srv->io, accept_cb, fd, EV_READ);
	ev_io_start(loop, &srv->io);
	return srv;
}

void
rpc_server_destroy(struct rpc_server *srv)
{
	if (srv == NULL)
		return;
	while (!TAILQ_EMPTY(&srv->clients))
		client_free(TAILQ_FIRST(&srv->clients));
	ev_timer_stop(srv->loop, &srv->accept_pause);
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
