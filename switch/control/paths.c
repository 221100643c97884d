/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paths.c - the socket and state directory policy (see paths.h).
 *
 * No DPDK: the fuzz targets link it on its own.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "paths.h"

struct paths {
	char *state_dir;
	char *socket_dirs[PATHS_MAX_DIRS];
	int n_socket_dirs;
};

/* No policy (a caller that never set one): nothing is allowed. */
static const struct paths paths_none = {.state_dir = (char *)""};

struct paths *
paths_create(const char *state_dir)
{
	struct paths *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->state_dir = strdup(state_dir);
	if (p->state_dir == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

void
paths_destroy(struct paths *p)
{
	int i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n_socket_dirs; i++)
		free(p->socket_dirs[i]);
	free(p->state_dir);
	free(p);
}

int
paths_add_socket_dir(struct paths *p, const char *dir)
{
	int i;

	if (dir[0] != '/' || strlen(dir) >= PATH_MAX)
		return -EINVAL;
	for (i = 0; i < p->n_socket_dirs; i++)
		if (strcmp(p->socket_dirs[i], dir) == 0)
			return 0;
	if (p->n_socket_dirs == PATHS_MAX_DIRS)
		return -E2BIG;
	p->socket_dirs[p->n_socket_dirs] = strdup(dir);
	if (p->socket_dirs[p->n_socket_dirs] == NULL)
		return -ENOMEM;
	p->n_socket_dirs++;
	return 0;
}

/* The socket directories as "a, b, c", for messages. */
static void
paths_socket_dirs(const struct paths *p, char *buf, size_t len)
{
	size_t used = 0;
	int i, n;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < p->n_socket_dirs && used < len; i++) {
		n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "",
			p->socket_dirs[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (p->n_socket_dirs == 0)
		snprintf(buf, len, "none");
}

static bool
is_dot_or_dotdot(const char *s, size_t n)
{
	return (n == 1 && s[0] == '.') ||
		(n == 2 && s[0] == '.' && s[1] == '.');
}

/*
 * Where the directory 'dir' (absolute) really is: realpath() of its
 * longest existing ancestor plus the components below it, none of which
 * may be "." or "..".  0, -EINVAL (such a component), -ENAMETOOLONG, or
 * realpath()'s error other than ENOENT.
 */
static int
resolve_dir(const char *dir, char *out)
{
	char cur[PATH_MAX], real[PATH_MAX], tail[PATH_MAX] = "";
	char *slash, *comp;
	size_t clen;

	if (snprintf(cur, sizeof(cur), "%s", dir) >= (int)sizeof(cur))
		return -ENAMETOOLONG;
	for (;;) {
		if (realpath(cur[0] ? cur : "/", real) != NULL)
			break;
		if (errno != ENOENT)
			return -errno;
		slash = strrchr(cur, '/');
		if (slash == NULL)
			return -EINVAL;
		comp = slash + 1;
		clen = strlen(comp);
		if (is_dot_or_dotdot(comp, clen))
			return -EINVAL;
		if (clen > 0) {
			char t[PATH_MAX];

			if (snprintf(t, sizeof(t), "%s%s%s", comp,
				    tail[0] ? "/" : "", tail) >= (int)sizeof(t))
				return -ENAMETOOLONG;
			memcpy(tail, t, strlen(t) + 1);
		}
		*slash = '\0';
	}
	if (snprintf(out, PATH_MAX, "%s%s%s", real,
		    tail[0] && strcmp(real, "/") != 0 ? "/" : "",
		    tail) >= PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * Splits an absolute file path into its resolved parent directory
 * ('dir') and its final component ('base').  0 or -EINVAL/-ENAMETOOLONG/
 * -errno.
 */
static int
resolve_file(const char *path, char *dir, char *base)
{
	char copy[PATH_MAX];
	const char *b;
	size_t n;

	if (path[0] != '/')
		return -EINVAL;
	n = strlen(path);
	if (n >= PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(copy, path, n + 1);
	b = strrchr(copy, '/') + 1;
	n = strlen(b);
	if (n == 0 || is_dot_or_dotdot(b, n) || n > NAME_MAX)
		return -EINVAL;
	memcpy(base, b, n + 1);
	copy[b - copy - 1] = '\0';
	return resolve_dir(copy[0] ? copy : "/", dir);
}

/* True if the resolved directory 'dir' is 'top' (resolved) or below it. */
static bool
is_under(const char *dir, const char *top)
{
	char rtop[PATH_MAX];
	size_t n;

	if (resolve_dir(top, rtop) != 0)
		return false;
	if (strcmp(rtop, "/") == 0)
		return true;
	n = strlen(rtop);
	return strncmp(dir, rtop, n) == 0 && (dir[n] == '\0' || dir[n] == '/');
}

static bool
in_socket_dirs(const struct paths *p, const char *dir)
{
	int i;

	for (i = 0; i < p->n_socket_dirs; i++)
		if (is_under(dir, p->socket_dirs[i]))
			return true;
	return false;
}

/*
 * Resolves 'path' for a check: 0 with 'dir'/'base'/'full', or -errno with
 * 'err' set ('what' names the kind of path).
 */
static int
resolve_checked(const char *what, const char *path, char *dir, char *base,
	char *full, char *err, size_t errlen)
{
	struct stat st;
	int ret;

	ret = resolve_file(path, dir, base);
	if (ret == -EINVAL) {
		snprintf(err, errlen,
			"%s %s is not an absolute path to a file (no \".\" or "
			"\"..\" in missing directories): give one like "
			"/run/vhsw/NAME",
			what, path);
		return ret;
	}
	if (ret != 0) {
		snprintf(err, errlen, "%s %s: cannot resolve it: %s", what,
			path, strerror(-ret));
		return ret;
	}
	if (snprintf(full, PATH_MAX, "%s%s%s", dir,
		    strcmp(dir, "/") != 0 ? "/" : "", base) >= PATH_MAX) {
		snprintf(err, errlen, "%s %s: path too long", what, path);
		return -ENAMETOOLONG;
	}
	if (lstat(full, &st) == 0 && S_ISLNK(st.st_mode)) {
		snprintf(err, errlen,
			"%s %s is a symbolic link; give the path it points to "
			"(it must lie under an allowed directory)",
			what, path);
		return -EACCES;
	}
	return 0;
}

/* " (really /x/y)" when the resolved path differs from the given one. */
static const char *
really(const char *path, const char *full, char *buf, size_t len)
{
	if (strcmp(path, full) == 0)
		return "";
	snprintf(buf, len, " (really %s)", full);
	return buf;
}

int
paths_check_socket(
	const struct paths *p, const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX], base[NAME_MAX + 1], full[PATH_MAX];
	char dirs[1024], rbuf[PATH_MAX + 16];
	int ret;

	if (p == NULL)
		p = &paths_none;
	ret = resolve_checked(
		"socket path", path, dir, base, full, err, errlen);
	if (ret != 0)
		return ret;
	if (in_socket_dirs(p, dir))
		return 0;
	paths_socket_dirs(p, dirs, sizeof(dirs));
	snprintf(err, errlen,
		"socket path %s%s is outside the socket directories (%s): add "
		"--socket-dir or choose a path under one",
		path, really(path, full, rbuf, sizeof(rbuf)), dirs);
	return -EACCES;
}

int
paths_prepare_save(
	const struct paths *p, const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX], base[NAME_MAX + 1], full[PATH_MAX];
	char dirs[1024], rbuf[PATH_MAX + 16], rstate[PATH_MAX];
	struct stat st;
	int ret;

	if (p == NULL)
		p = &paths_none;
	ret = resolve_checked(
		"config file", path, dir, base, full, err, errlen);
	if (ret != 0)
		return ret;
	if (in_socket_dirs(p, dir))
		return 0;
	if (p->state_dir[0] == '\0' || !is_under(dir, p->state_dir)) {
		paths_socket_dirs(p, dirs, sizeof(dirs));
		snprintf(err, errlen,
			"config file %s%s is outside the socket directories "
			"(%s) and the state directory (%s): choose a path "
			"under one, or add --socket-dir/--state-dir",
			path, really(path, full, rbuf, sizeof(rbuf)), dirs,
			p->state_dir);
		return -EACCES;
	}
	/* Straight into a missing state directory: create it, private. */
	if (resolve_dir(p->state_dir, rstate) == 0 &&
		strcmp(dir, rstate) == 0 && stat(rstate, &st) != 0) {
		if ((mkdir(rstate, 0700) != 0 && errno != EEXIST) ||
			chmod(rstate, 0700) != 0) {
			ret = -errno;
			snprintf(err, errlen,
				"cannot create the state directory %s: %s "
				"(create its parent or choose another "
				"--state-dir)",
				rstate, strerror(errno));
			return ret;
		}
	}
	return 0;
}
