/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * state.c - the running configuration kept in --state-dir (see state.h).
 *
 * Thread-safety: control thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rte_log.h>

#include "config.h"
#include "state.h"
#include "vhsw.h"

RTE_LOG_REGISTER(state_logtype, vhsw.state, INFO);
#define SLOG(level, fmt, ...)                                              \
	rte_log(RTE_LOG_##level, state_logtype, "vhswd: state: " fmt "\n", \
		##__VA_ARGS__)

/* "<dir>/state.json<suffix>". */
static int
state_path(char *buf, size_t len, const char *dir, const char *suffix)
{
	return snprintf(buf, len, "%s/" STATE_FILE "%s", dir, suffix) < (int)len
		? 0
		: -ENAMETOOLONG;
}

/* Copies 'from' to a new file 'to' (mode 0600).  0 or -errno. */
static int
copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in, out, ret = 0;
	ssize_t n;

	in = open(from, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return -errno;
	out = open(
		to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		ret = -errno;
		close(in);
		return ret;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			ret = -EIO;
			break;
		}
	if (n < 0)
		ret = -errno;
	if (fsync(out) != 0 && ret == 0)
		ret = -errno;
	close(out);
	close(in);
	if (ret != 0)
		unlink(to);
	return ret;
}

/*
 * Keeps a copy of the state file as state.json.<what>-<UTC time>; 'kept'
 * gets its path.  0 or -errno.
 */
static int
keep_copy(const char *dir, const char *what, char *kept, size_t len)
{
	char from[PATH_MAX], suffix[64];
	time_t now = time(NULL);
	struct tm tm;
	int i, ret = -EEXIST;

	gmtime_r(&now, &tm);
	for (i = 0; i < 100 && ret == -EEXIST; i++) {
		snprintf(suffix, sizeof(suffix),
			".%s-%04d%02d%02dT%02d%02d%02dZ", what,
			tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			tm.tm_hour, tm.tm_min, tm.tm_sec);
		if (i > 0)
			snprintf(suffix + strlen(suffix),
				sizeof(suffix) - strlen(suffix), ".%d", i);
		if (state_path(from, sizeof(from), dir, "") != 0 ||
			state_path(kept, len, dir, suffix) != 0)
			return -ENAMETOOLONG;
		ret = copy_file(from, kept);
	}
	return ret;
}

int
state_load(const char *dir, json_t **out, char *err, size_t errlen)
{
	char path[PATH_MAX], kept[PATH_MAX], why[768];
	struct stat st;
	int ret;

	*out = NULL;
	if (state_path(path, sizeof(path), dir, "") != 0) {
		snprintf(err, errlen, "--state-dir %s: path too long", dir);
		return -1;
	}
	if (lstat(path, &st) != 0) {
		if (errno == ENOENT)
			return 0; /* the first start */
		snprintf(err, errlen,
			"cannot read the state file %s: %s (check the "
			"--state-dir and its permissions)",
			path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen,
			"the state file %s is not a regular file; move it away "
			"(vhswd then starts with no ports) or choose another "
			"--state-dir",
			path);
		return -1;
	}
	*out = config_read(path, why, sizeof(why));
	if (*out != NULL)
		return 0;
	if (access(path, R_OK) != 0) {
		snprintf(err, errlen,
			"cannot read the state file %s: %s (check its "
			"permissions)",
			path, strerror(errno));
		return -1;
	}
	ret = keep_copy(dir, "corrupt", kept, sizeof(kept));
	snprintf(err, errlen,
		"the state file is corrupt: %s; %s%s; vhswd does not start "
		"with an empty switch: repair the file, or remove it to start "
		"with no ports",
		why,
		ret == 0 ? "a copy is kept as " : "no copy could be kept: ",
		ret == 0 ? kept : strerror(-ret));
	return -1;
}

/* Whether two port objects name the same port or the same socket. */
static bool
same_port(json_t *a, json_t *b)
{
	static const char *const keys[] = {"name", "socket"};
	const char *x, *y;
	size_t i;

	for (i = 0; i < RTE_DIM(keys); i++) {
		x = json_string_value(json_object_get(a, keys[i]));
		y = json_string_value(json_object_get(b, keys[i]));
		if (x != NULL && y != NULL && strcmp(x, y) == 0)
			return true;
	}
	return false;
}

/* Whether two mirror objects have the same name. */
static bool
same_name(json_t *a, json_t *b)
{
	const char *x = json_string_value(json_object_get(a, "name"));
	const char *y = json_string_value(json_object_get(b, "name"));

	return x != NULL && y != NULL && strcmp(x, y) == 0;
}

/* Whether two static entries have the same MAC and VLAN. */
static bool
same_entry(json_t *a, json_t *b)
{
	const char *x = json_string_value(json_object_get(a, "mac"));
	const char *y = json_string_value(json_object_get(b, "mac"));
	json_int_t va = json_integer_value(json_object_get(a, "vlan"));
	json_int_t vb = json_integer_value(json_object_get(b, "vlan"));

	return x != NULL && y != NULL && strcasecmp(x, y) == 0 && va == vb;
}

/* Removes from array 'from' every element 'same' to one of 'in'. */
static void
remove_named(json_t *from, json_t *in, bool (*same)(json_t *, json_t *))
{
	size_t i, j;
	json_t *v, *w;

	if (!json_is_array(from) || !json_is_array(in))
		return;
	for (i = json_array_size(from); i-- > 0;) {
		v = json_array_get(from, i);
		json_array_foreach(in, j, w)
		{
			if (same(v, w)) {
				json_array_remove(from, i);
				break;
			}
		}
	}
}

void
state_merge(json_t *state, json_t *cfg, bool uplink_given, bool poll_mode_given)
{
	json_t *sfdb = json_object_get(state, "fdb");
	json_t *cfdb = json_object_get(cfg, "fdb");
	const char *key;
	json_t *v;

	if (!json_is_object(state))
		return;
	if (uplink_given || json_object_get(cfg, "uplink") != NULL)
		json_object_del(state, "uplink");
	if (poll_mode_given ||
		json_object_get(
			json_object_get(cfg, "dataplane"), "poll_mode") != NULL)
		json_object_del(state, "dataplane");
	remove_named(json_object_get(state, "ports"),
		json_object_get(cfg, "ports"), same_port);
	remove_named(json_object_get(state, "mirrors"),
		json_object_get(cfg, "mirrors"), same_name);
	if (json_is_object(sfdb) && json_is_object(cfdb)) {
		json_object_foreach(cfdb, key, v)
		{
			if (strcmp(key, "static") != 0)
				json_object_del(sfdb, key);
		}
		remove_named(json_object_get(sfdb, "static"),
			json_object_get(cfdb, "static"), same_entry);
	}
}

static void
log_refused(const char *msg, void *arg)
{
	SLOG(WARNING, "%s: left out", msg);
}

int
state_open(struct vhsw *sw, const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];

	if (state_path(path, sizeof(path), dir, "") != 0) {
		snprintf(err, errlen, "--state-dir %s: path too long", dir);
		return -1;
	}
	snprintf(sw->state_dir, sizeof(sw->state_dir), "%s", dir);
	snprintf(sw->state_path, sizeof(sw->state_path), "%s", path);
	return 0;
}

int
state_apply(struct vhsw *sw, json_t *state, unsigned int parts)
{
	struct config_apply_opts o = {
		.parts = parts, .keep_going = true, .refused_cb = log_refused};
	char err[PATH_MAX + 512];

	if (state != NULL)
		config_apply(sw, sw->state_path, state, &o, err, sizeof(err));
	return o.refused;
}

void
state_restored(struct vhsw *sw, bool had_state, int refused)
{
	char kept[PATH_MAX];
	int ret;

	if (refused > 0) {
		ret = keep_copy(sw->state_dir, "dropped", kept, sizeof(kept));
		if (ret == 0)
			SLOG(WARNING,
				"%d entr%s of %s could not be restored; the "
				"file as it was is kept as %s",
				refused, refused == 1 ? "y" : "ies",
				sw->state_path, kept);
		else
			SLOG(ERR,
				"%d entr%s of %s could not be restored, and "
				"no copy could be kept: %s",
				refused, refused == 1 ? "y" : "ies",
				sw->state_path, strerror(-ret));
	} else if (had_state) {
		SLOG(INFO, "restored from %s", sw->state_path);
	}
	state_sync(sw);
}

void
state_sync(struct vhsw *sw)
{
	char err[PATH_MAX + 128];
	json_t *cfg;

	if (sw->state_path[0] == '\0')
		return;
	cfg = config_dump(sw);
	if (sw->state_saved != NULL && json_equal(cfg, sw->state_saved)) {
		json_decref(cfg);
		return;
	}
	if (config_write(cfg, sw->state_path, 0600, true, err, sizeof(err)) !=
		0) {
		/* Retried every second; the old file stays whole. */
		if (!sw->state_dirty)
			SLOG(ERR, "%s; retrying every second", err);
		sw->state_dirty = true;
		json_decref(cfg);
		return;
	}
	if (sw->state_dirty)
		SLOG(INFO, "%s written", sw->state_path);
	sw->state_dirty = false;
	json_decref(sw->state_saved);
	sw->state_saved = cfg;
}

void
state_fini(struct vhsw *sw)
{
	json_decref(sw->state_saved);
	sw->state_saved = NULL;
	sw->state_path[0] = '\0';
}
