/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * config.c - the JSON startup configuration (--config) and `config save`.
 *
 * The file has the shape of CONTRACT.md: {"ports": [...], "uplink": {...},
 * "fdb": {"aging", "limit", "move_limit", "static": [...]}, "mirrors":
 * [{"name", "src": [PORT, ...], "dst", "direction"}]}.  Loading goes through the
 * same actions as the management commands (port/add, fdb/add, ...), so a
 * file is accepted exactly when the equivalent commands would be; errors
 * name the file, the key and the reason.  Saving writes the same shape
 * atomically and durably (temporary file, fsync, rename, fsync of the
 * directory); the state file (state.h) is written the same way.  Reading and the syntax checks
 * are in config_read.c (no DPDK: the fuzz target links it alone).
 *
 * Thread-safety: control thread only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_ether.h>

#include "actions.h"
#include "config.h"
#include "mirror.h"
#include "tenant.h"
#include "vhsw.h"

/* Runs one action with 'params'; on refusal formats "path: where: msg". */
static int
run(struct vhsw *sw, enum ctl_cmd_id id, json_t *params, const char *path,
	const char *where, char *err, size_t errlen)
{
	char msg[512] = "";
	json_t *res;
	int code;

	if (!json_is_object(params)) {
		snprintf(err, errlen, "%s: %s: must be an object", path, where);
		return -1;
	}
	res = act_call(sw, id, params, &code, msg, sizeof(msg));
	if (res == NULL) {
		snprintf(err, errlen, "%s: %s: %s", path, where, msg);
		return -1;
	}
	json_decref(res);
	return 0;
}

/* The scalar "fdb" keys and the commands that apply them. */
static const struct {
	const char *key;
	enum ctl_cmd_id cmd;
} fdb_settings[] = {
	{"aging", CTL_CMD_FDB_SET_AGING},
	{"limit", CTL_CMD_FDB_SET_LIMIT},
	{"move_limit", CTL_CMD_FDB_SET_MOVE_LIMIT},
};

/*
 * Runs one entry; on refusal either stops (returns -1) or, with
 * 'keep_going', logs the message, counts it and goes on (returns 0).
 */
static int
entry(struct vhsw *sw, enum ctl_cmd_id id, json_t *params, const char *path,
	const char *where, struct config_apply_opts *o, char *err,
	size_t errlen)
{
	if (run(sw, id, params, path, where, err, errlen) == 0)
		return 0;
	if (o == NULL || !o->keep_going)
		return -1;
	o->refused++;
	if (o->refused_cb != NULL)
		o->refused_cb(err, o->arg);
	return 0;
}

/*
 * The mirror/add params of a saved mirror: "src" is an array of port
 * names there, "PORT,PORT" in the command.  Anything else goes through
 * unchanged, for the command's checks to refuse.
 */
static json_t *
mirror_params(json_t *m)
{
	json_t *src = json_object_get(m, "src"), *p, *v;
	char list[VHSW_MAX_PORTS * VHSW_NAME_MAX];
	size_t i, n = 0;
	int k;

	if (!json_is_object(m) || !json_is_array(src))
		return json_incref(m);
	list[0] = '\0';
	json_array_foreach(src, i, v)
	{
		/* A port name has no comma; one here would name two. */
		if (!json_is_string(v) || strchr(json_string_value(v), ','))
			return json_incref(m);
		k = snprintf(list + n, sizeof(list) - n, "%s%s", i ? "," : "",
			json_string_value(v));
		if (k < 0 || (size_t)k >= sizeof(list) - n)
			return json_incref(m);
		n += (size_t)k;
	}
	p = json_deep_copy(m);
	json_object_set_new(p, "src", json_string(list));
	return p;
}

int
config_apply(struct vhsw *sw, const char *path, json_t *cfg,
	struct config_apply_opts *o, char *err, size_t errlen)
{
	json_t *fdb = json_object_get(cfg, "fdb"), *v, *params;
	unsigned int parts = o != NULL && o->parts != 0 ? o->parts : ~0u;
	char where[64];
	size_t i, k;
	int ret;

	if (!(parts & CONFIG_PART_PORTS))
		goto fdb_part;
	v = json_object_get(cfg, "uplink");
	if (json_is_object(v) &&
		entry(sw, CTL_CMD_UPLINK_ADD, v, path, "uplink", o, err,
			errlen) != 0)
		return -1;
	json_array_foreach(json_object_get(cfg, "ports"), i, v)
	{
		snprintf(where, sizeof(where), "ports[%zu]", i);
		if (entry(sw, CTL_CMD_PORT_ADD, v, path, where, o, err,
			    errlen) != 0)
			return -1;
	}
	v = json_object_get(json_object_get(cfg, "dataplane"), "poll_mode");
	if (v != NULL) {
		params = json_pack("{s:O}", "mode", v);
		ret = entry(sw, CTL_CMD_DATAPLANE_SET_POLL_MODE, params, path,
			"dataplane.poll_mode", o, err, errlen);
		json_decref(params);
		if (ret != 0)
			return -1;
	}
fdb_part:
	if (!(parts & CONFIG_PART_FDB))
		goto mirror_part;
	for (k = 0; k < RTE_DIM(fdb_settings); k++) {
		v = json_object_get(fdb, fdb_settings[k].key);
		if (v == NULL)
			continue;
		params = json_pack("{s:O}", fdb_settings[k].key, v);
		snprintf(where, sizeof(where), "fdb.%s", fdb_settings[k].key);
		ret = entry(sw, fdb_settings[k].cmd, params, path, where, o,
			err, errlen);
		json_decref(params);
		if (ret != 0)
			return -1;
	}
	json_array_foreach(json_object_get(fdb, "static"), i, v)
	{
		snprintf(where, sizeof(where), "fdb.static[%zu]", i);
		if (entry(sw, CTL_CMD_FDB_ADD, v, path, where, o, err,
			    errlen) != 0)
			return -1;
	}
mirror_part:
	if (!(parts & CONFIG_PART_MIRRORS))
		return 0;
	json_array_foreach(json_object_get(cfg, "mirrors"), i, v)
	{
		snprintf(where, sizeof(where), "mirrors[%zu]", i);
		params = mirror_params(v);
		ret = entry(sw, CTL_CMD_MIRROR_ADD, params, path, where, o, err,
			errlen);
		json_decref(params);
		if (ret != 0)
			return -1;
	}
	return 0;
}

struct static_ctx {
	const struct vhsw *sw;
	json_t *out;
};

static void
static_entry(const struct fdb_entry_info *e, void *arg)
{
	struct static_ctx *c = arg;
	const struct port *p = c->sw->ports[e->port];
	char mac[RTE_ETHER_ADDR_FMT_SIZE];

	if (!e->is_static || p == NULL)
		return;
	/* A port's own --mac entry is saved with the port. */
	if (p->has_mac && rte_is_same_ether_addr(&p->mac, &e->key.mac) &&
		p->vlan == e->key.vlan)
		return;
	port_mac_format(mac, sizeof(mac), &e->key.mac);
	json_array_append_new(c->out,
		json_pack("{s:s, s:s, s:i}", "mac", mac, "port", p->name,
			"vlan", e->key.vlan));
}

/* "rxq_affinity": "0:3,1:4" when a queue of 'p' is pinned. */
static void
save_rxq_affinity(const struct port *p, json_t *o)
{
	json_t *v = vhsw_rxq_affinity_json(p);

	if (json_is_string(v))
		json_object_set_new(o, "rxq_affinity", v);
	else
		json_decref(v);
}

json_t *
config_dump(const struct vhsw *sw)
{
	struct static_ctx sc = {.sw = sw, .out = json_array()};
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	struct fdb_stats fs;
	json_t *ports = json_array(), *o, *fixed = json_object();
	int i;

	for (i = 0; i < VHSW_MAX_PORTS; i++) {
		const struct port *p = sw->ports[i];

		if (p == NULL)
			continue;
		if (p->cls->fixed_name != NULL) {
			/* The uplink: {"uplink": {"devargs": ...}}. */
			o = json_object();
			p->cls->save(p, o);
			if (p->admin_down)
				json_object_set_new(
					o, "admin", json_string("down"));
			save_rxq_affinity(p, o);
			json_object_set_new(fixed, p->cls->fixed_name, o);
			continue;
		}
		o = json_pack(
			"{s:s, s:s}", "name", p->name, "type", p->cls->type);
		p->cls->save(p, o);
		json_object_set_new(o, "vlan", json_integer(p->vlan));
		json_object_set_new(o, "mtu", json_integer(p->mtu));
		if (p->has_mac) {
			port_mac_format(mac, sizeof(mac), &p->mac);
			json_object_set_new(o, "mac", json_string(mac));
		}
		if (p->admin_down)
			json_object_set_new(o, "admin", json_string("down"));
		save_rxq_affinity(p, o);
		tenant_json(p->policy, p->has_mac ? &p->mac : NULL, o, false);
		json_array_append_new(ports, o);
	}
	fdb_dump(sw->fdb, VHSW_PORT_NONE, static_entry, &sc);
	fdb_get_stats(sw->fdb, &fs);
	o = json_pack("{s:o, s:{s:i, s:i, s:o}}", "ports", ports, "fdb",
		"aging", (int)sw->aging, "limit", (int)fs.limit, "static",
		sc.out);
	if (fdb_get_move_limit(sw->fdb) != FDB_DEFAULT_MOVE_LIMIT)
		json_object_set_new(json_object_get(o, "fdb"), "move_limit",
			json_integer(fdb_get_move_limit(sw->fdb)));
	json_object_set_new(o, "dataplane",
		json_pack("{s:s}", "poll_mode",
			dp_poll_mode_name(dp_get_poll_mode(sw->dp))));
	json_object_set_new(o, "mirrors", mirror_dump(sw));
	json_object_update(o, fixed);
	json_decref(fixed);
	return o;
}

int
config_write(json_t *cfg, const char *path, unsigned int mode, bool durable,
	char *err, size_t errlen)
{
	char tmp[PATH_MAX], dir[PATH_MAX], *slash;
	int fd, dfd, ret;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
		(int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	/*
	 * A new file, never one somebody placed there (a symbolic link to
	 * /etc/shadow, say): O_EXCL | O_NOFOLLOW.  The mode whatever the
	 * umask; rename() then replaces the target itself, not what a link
	 * there points to.
	 */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		mode);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
		fd = open(tmp,
			O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			mode);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write %s: %s", path,
			strerror(errno));
		return -1;
	}
	ret = json_dumpfd(cfg, fd, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (ret == 0)
		ret = fchmod(fd, mode);
	/* The data on disk before the name points at it. */
	if (ret == 0 && durable)
		ret = fsync(fd);
	if (close(fd) != 0)
		ret = -1;
	if (ret != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path,
			strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (!durable)
		return 0;
	/* And the new name itself. */
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash != NULL)
		*(slash == dir ? slash + 1 : slash) = '\0';
	dfd = open(
		slash != NULL ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0) {
		snprintf(err, errlen, "cannot sync the directory of %s: %s",
			path, strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	close(dfd);
	return 0;
}

int
config_save(const struct vhsw *sw, const char *path, char *err, size_t errlen)
{
	json_t *cfg = config_dump(sw);
	int ret;

	ret = config_write(cfg, path, 0644, true, err, errlen);
	json_decref(cfg);
	return ret;
}
