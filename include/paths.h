/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * paths.h - where management clients may make vhswd listen, connect and
 * write files.
 *
 * Every management client is untrusted input, and vhswd usually runs as
 * root: a `port add` names a unix socket the daemon will create (and may
 * remove first, when it is stale) or connect to, and `config save` names a
 * file it will replace.  The policy confines vhost-user socket paths
 * (server and client mode) to the socket directories (--socket-dir) and
 * `config save` targets to those plus the state directory (--state-dir).
 *
 * A path is judged by where it really is: it must be absolute; its parent
 * directory is resolved with realpath() (symbolic links and ".." followed);
 * trailing components that do not exist yet may not be "." or ".."; the
 * final component may not be a symbolic link.  The allowed directories are
 * resolved the same way at each check, so one created after start counts,
 * and a path below one of them (any depth) is inside.
 *
 * The check is made when the request arrives.  Whoever can write into a
 * directory along the path can still replace it by a symbolic link before
 * the socket is created; socket directories must not be writable by users
 * who are not trusted with the management socket (docs/security-mgmt.md).
 *
 * Thread-safety: main() builds the policy before the loop runs; after that
 * the control thread only reads it (paths_prepare_save() may create the
 * state directory).
 */
#ifndef VHSW_PATHS_H
#define VHSW_PATHS_H

#include <stddef.h>

#define PATHS_DEFAULT_SOCKET_DIR "/run/vhsw"
#define PATHS_DEFAULT_STATE_DIR "/var/lib/vhsw"
#define PATHS_MAX_DIRS 32

struct paths;

/* A policy with no socket directory yet and 'state_dir'.  NULL: no memory. */
struct paths *paths_create(const char *state_dir);
void paths_destroy(struct paths *p);

/*
 * Adds a socket directory (absolute; it need not exist yet).  A directory
 * already in the list is ignored.  0, -EINVAL (not absolute or too long),
 * -E2BIG (more than PATHS_MAX_DIRS) or -ENOMEM.
 */
int paths_add_socket_dir(struct paths *p, const char *dir);

/*
 * Checks a vhost-user socket path (server or client mode).  0, or -EINVAL
 * (not an absolute path to a file) / -EACCES (outside every socket
 * directory, or a symbolic link) with a message naming the path, the
 * allowed directories and the fix in 'err'.
 */
int paths_check_socket(
	const struct paths *p, const char *path, char *err, size_t errlen);

/*
 * Checks a `config save` target against the socket directories and the
 * state directory; creates the state directory (mode 0700) when the file
 * goes straight into it and it is missing.  0 or -errno with 'err' set.
 */
int paths_prepare_save(
	const struct paths *p, const char *path, char *err, size_t errlen);

#endif /* VHSW_PATHS_H */
