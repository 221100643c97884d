/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ctl_client.c - the management client (see ctl_client.h).
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

#include "ctl_client.h"

#define CTL_REPLY_TIMEOUT_S 60
#define CTL_MAX_REPLY (256u << 20)

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

/* Sends 'n' bytes; 'pass' (unless -1) goes with the first one. */
static int
send_all(int fd, const char *p, size_t n, int pass)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cmsg;
	struct iovec iov;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cm;
	ssize_t k;

	while (n > 0) {
		iov.iov_base = (void *)p;
		iov.iov_len = n;
		if (pass >= 0) {
			memset(&cmsg, 0, sizeof(cmsg));
			mh.msg_control = cmsg.buf;
			mh.msg_controllen = sizeof(cmsg.buf);
			cm = CMSG_FIRSTHDR(&mh);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(cm), &pass, sizeof(int));
		} else {
			mh.msg_control = NULL;
			mh.msg_controllen = 0;
		}
		k = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (k > 0)
			pass = -1; /* sent with the first byte */
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
	return ctl_call_fd(c, method, params, -1, result, code, err, errlen);
}

enum ctl_call_status
ctl_call_fd(struct ctl_client *c, const char *method, json_t *params, int fd,
	json_t **result, int *code, char *err, size_t errlen)
{
	json_t *req, *rep, *e;
	json_error_t jerr;
	long id = c->next_id++;
	char *line, *nl;
	size_t n;
	int ret;

	*result = NULL;
	*code = 0;
	req = json_pack("{s:s, s:s, s:o, s:I}", "jsonrpc", "2.0", "method",
		method, "params", params ? json_incref(params) : json_object(),
		"id", (json_int_t)id);
	line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	n = line ? strlen(line) : 0;
	nl = line ? realloc(line, n + 2) : NULL;
	if (nl == NULL)
		free(line);
	line = nl;
	if (line != NULL)
		memcpy(line + n, "\n", 2);
	if (line == NULL) {
		snprintf(err, errlen, "cannot encode request");
		return CTL_IO_ERROR;
	}
	ret = send_all(c->fd, line, n + 1, fd);
	free(line);
	if (ret != 0) {
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
