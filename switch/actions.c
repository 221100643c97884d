/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * actions.c - one function per management command (ctl.h CTL_COMMANDS).
 *
 * Each action checks its params strictly (unknown keys, wrong types and
 * out-of-range values are refused with a message naming the key), does the
 * work and returns a JSON result.  The same functions serve JSON-RPC
 * requests and the --config loader, so both accept exactly the same input.
 *
 * Thread-safety: control thread only.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_mempool.h>
#include <rte_version.h>

#include "ethport.h"
#include "paths.h"
#include "rpc.h"
#include "vhsw.h"
#include "vport.h"

#define VHSW_DEFAULT_MTU 1500
#define VHSW_MIN_MTU 68
#define VHSW_MAX_MTU 9710 /* largest frame librte_vhost handles: 9728 */

/* Returns NULL from an action with 'msg' already set. */
#define FAIL_MSG(c)          \
	do {                 \
		*code = (c); \
		return NULL; \
	} while (0)

/* Sets an error and returns NULL from an action. */
#define FAIL(c, ...)                                \
	do {                                        \
		*code = (c);                        \
		snprintf(msg, msglen, __VA_ARGS__); \
		return NULL;                        \
	} while (0)

struct param_spec {
	const char *key;
	json_type type; /* JSON_STRING, JSON_INTEGER, JSON_TRUE (boolean) */
	bool required;
};

/* Checks 'params' against 'spec'.  0, or -1 with 'msg' set. */
static int
check_params(
	json_t *params, const struct param_spec *spec, char *msg, size_t msglen)
{
	const struct param_spec *s;
	const char *key;
	json_t *v;
	bool ok;

	json_object_foreach(params, key, v)
	{
		for (s = spec; s->key != NULL; s++)
			if (strcmp(s->key, key) == 0)
				break;
		if (s->key == NULL) {
			snprintf(msg, msglen, "unknown parameter '%s'", key);
			return -1;
		}
		if (json_is_null(v) && !s->required)
			continue;
		ok = s->type == JSON_TRUE ? json_is_boolean(v)
					  : json_typeof(v) == s->type;
		if (!ok) {
			snprintf(msg, msglen, "parameter '%s' must be %s", key,
				s->type == JSON_STRING ? "a string"
					: s->type == JSON_INTEGER
					? "an integer"
					: "true or false");
			return -1;
		}
	}
	for (s = spec; s->key != NULL; s++) {
		if (s->required && json_object_get(params, s->key) == NULL) {
			snprintf(msg, msglen, "missing parameter '%s'", s->key);
			return -1;
		}
	}
	return 0;
}

#define CHECK(params, ...)                                           \
	do {                                                         \
		static const struct param_spec spec_[] = {           \
			__VA_ARGS__, {NULL}};                        \
		if (check_params(params, spec_, msg, msglen) != 0) { \
			*code = CTL_ERR_INVALID_PARAMS;              \
			return NULL;                                 \
		}                                                    \
	} while (0)

static const char *
str(json_t *params, const char *key)
{
	return json_string_value(json_object_get(params, key));
}

/* Integer param or 'def' when absent/null. */
static json_int_t
num(json_t *params, const char *key, json_int_t def)
{
	json_t *v = json_object_get(params, key);

	return json_is_integer(v) ? json_integer_value(v) : def;
}

static bool
name_ok(const char *name)
{
	size_t n = strlen(name), i;

	if (n == 0 || n >= VHSW_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!(isalnum((unsigned char)name[i]) ||
			    strchr("_.-", name[i])))
			return false;
	return true;
}

/* Parses "UID[:GID]" (numbers or names).  0 or -1. */
static int
parse_owner(const char *s, uid_t *uid, gid_t *gid)
{
	char user[64], *colon, *end;
	struct passwd *pw;
	struct group *gr;
	unsigned long v;

	snprintf(user, sizeof(user), "%s", s);
	colon = strchr(user, ':');
	if (colon != NULL)
		*colon++ = '\0';
	*gid = (gid_t)-1;
	v = strtoul(user, &end, 10);
	if (user[0] != '\0' && *end == '\0') {
		*uid = (uid_t)v;
	} else if ((pw = getpwnam(user)) != NULL) {
		*uid = pw->pw_uid;
	} else {
		return -1;
	}
	if (colon == NULL || *colon == '\0')
		return colon == NULL ? 0 : -1;
	v = strtoul(colon, &end, 10);
	if (*end == '\0')
		*gid = (gid_t)v;
	else if ((gr = getgrnam(colon)) != NULL)
		*gid = gr->gr_gid;
	else
		return -1;
	return 0;
}

static json_t *
stats_json(const struct port *p)
{
	struct port_stats st;
	json_t *o = json_object();
	int i;

	port_stats_read(p, &st);
	for (i = 0; i < PORT_STAT_COUNT; i++)
		json_object_set_new(o, port_stat_names[i],
			json_integer((json_int_t)port_stat_get(&st, i)));
	return o;
}

static json_t *
port_json(const struct vhsw *sw, const struct port *p)
{
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(p->name));
	json_object_set_new(o, "type", json_string(p->cls->type));
	json_object_set_new(
		o, "state", json_string(port_is_ready(p) ? "up" : "down"));
	json_object_set_new(o, "vlan", json_integer(p->vlan));
	if (p->has_mac) {
		port_mac_format(mac, sizeof(mac), &p->mac);
		json_object_set_new(o, "mac", json_string(mac));
	} else {
		json_object_set_new(o, "mac", json_null());
	}
	json_object_set_new(o, "mtu", json_integer(p->mtu));
	json_object_set_new(o, "fdb_entries",
		json_integer(fdb_port_entries(sw->fdb, p->id)));
	p->cls->describe(p, o, true);
	json_object_set_new(o, "stats", stats_json(p));
	return o;
}

static struct port *
port_param(struct vhsw *sw, json_t *params, const char *key)
{
	const char *name = str(params, key);

	return name ? vhsw_port_find(sw, name) : NULL;
}

/* Checks the keys every port kind shares; fills 'base'.  0 or -1. */
static int
port_common(struct vhsw *sw, json_t *params, struct port *base, char *msg,
	size_t msglen)
{
	const char *name = str(params, "name"), *mac = str(params, "mac");
	json_int_t vlan = num(params, "vlan", 0);
	json_int_t mtu = num(params, "mtu", VHSW_DEFAULT_MTU);

	if (!name_ok(name)) {
		snprintf(msg, msglen,
			"invalid port name '%s': use 1-%d letters, digits, "
			"'_', '.' or '-'",
			name, VHSW_NAME_MAX - 1);
		return -1;
	}
	if (vhsw_port_find(sw, name) != NULL) {
		snprintf(msg, msglen, "port %s already exists", name);
		return -1;
	}
	if (strcmp(name, ETHPORT_UPLINK_NAME) == 0) {
		snprintf(msg, msglen,
			"the name '%s' is reserved for the uplink (vhswd "
			"--uplink)",
			name);
		return -1;
	}
	if (vlan < 0 || vlan > 4094) {
		snprintf(msg, msglen,
			"port %s: vlan must be 0 (trunk) or 1..4094", name);
		return -1;
	}
	if (mtu < VHSW_MIN_MTU || mtu > VHSW_MAX_MTU) {
		snprintf(msg, msglen, "port %s: mtu must be %d..%d", name,
			VHSW_MIN_MTU, VHSW_MAX_MTU);
		return -1;
	}
	if (mac != NULL &&
		(rte_ether_unformat_addr(mac, &base->mac) != 0 ||
			!rte_is_valid_assigned_ether_addr(&base->mac))) {
		snprintf(msg, msglen,
			"port %s: '%s' is not a unicast MAC address", name,
			mac);
		return -1;
	}
	base->has_mac = mac != NULL;
	base->vlan = (uint16_t)vlan;
	base->mtu = (uint32_t)mtu;
	return 0;
}

/* Fills the vhost-user parameters.  0 or -1 with msg set. */
static int
vhost_params(json_t *params, struct vport_params *vp, char *msg, size_t msglen)
{
	const char *name = str(params, "name"), *mode = str(params, "mode");
	const char *owner = str(params, "owner");
	json_int_t queues = num(params, "queues", 1);
	json_t *perm = json_object_get(params, "perm");

	if (str(params, "socket") == NULL) {
		snprintf(msg, msglen,
			"port %s: a vhost-user port needs a socket path", name);
		return -1;
	}
	if (str(params, "ifname") != NULL || str(params, "netns") != NULL) {
		snprintf(msg, msglen,
			"port %s: ifname and netns apply to kernel ports only",
			name);
		return -1;
	}
	if (mode != NULL && strcmp(mode, "server") != 0 &&
		strcmp(mode, "client") != 0) {
		snprintf(msg, msglen,
			"port %s: mode must be server or client, not '%s'",
			name, mode);
		return -1;
	}
	if (queues < 1 || queues > VPORT_MAX_QUEUES) {
		snprintf(msg, msglen, "port %s: queues must be 1..%d", name,
			VPORT_MAX_QUEUES);
		return -1;
	}
	if (json_is_string(perm)) {
		char *end;
		unsigned long v = strtoul(json_string_value(perm), &end, 8);

		if (*end != '\0' || end == json_string_value(perm) ||
			v > 07777) {
			snprintf(msg, msglen,
				"port %s: perm must be octal like 0660", name);
			return -1;
		}
		vp->perm = (mode_t)v;
	}
	if (owner != NULL) {
		if (parse_owner(owner, &vp->uid, &vp->gid) != 0) {
			snprintf(msg, msglen,
				"port %s: owner '%s' is not UID[:GID] or a "
				"known user[:group]",
				name, owner);
			return -1;
		}
		vp->set_owner = true;
	}
	vp->name = name;
	vp->socket = str(params, "socket");
	vp->client = mode != NULL && strcmp(mode, "client") == 0;
	vp->queues = (uint16_t)queues;
	return 0;
}

/* Fills the kernel-port parameters.  0 or -1 with msg set. */
static int
kernel_params(
	json_t *params, struct ethport_params *ep, char *msg, size_t msglen)
{
	static const char *const vhost_only[] = {
		"socket", "mode", "queues", "owner", "perm", NULL};
	const char *name = str(params, "name");
	int i;

	for (i = 0; vhost_only[i] != NULL; i++) {
		if (json_object_get(params, vhost_only[i]) != NULL) {
			snprintf(msg, msglen,
				"port %s: '%s' applies to vhost-user ports "
				"only",
				name, vhost_only[i]);
			return -1;
		}
	}
	ep->kind = ETHPORT_KERNEL;
	ep->name = name;
	ep->ifname = str(params, "ifname");
	ep->netns = str(params, "netns");
	return 0;
}

static json_t *
act_port_add(
	struct vhsw *sw, json_t *params, int *code, char *msg, size_t msglen)
{
	struct vport_params vp = {.gid = (gid_t)-1};
	struct ethport_params ep = {0};
	struct port base = {0}, *p;
	const char *name, *type;
	char err[400];

	CHECK(params, {"name", JSON_STRING, true}, {"type", JSON_STRING, true},
		{"socket", JSON_STRING, false}, {"mode", JSON_STRING, false},
		{"queues", JSON_INTEGER, false}, {"vlan", JSON_INTEGER, false},
		{"mac", JSON_STRING, false}, {"mtu", JSON_INTEGER, false},
		{"owner", JSON_STRING, false}, {"perm", JSON_STRING, false},
		{"ifname", JSON_STRING, false}, {"netns", JSON_STRING, false});
	name = str(params, "name");
	type = str(params, "type");
	if (port_common(sw, params, &base, msg, msglen) != 0)
		FAIL_MSG(vhsw_port_find(sw, name) ? CTL_ERR_REFUSED
						  : CTL_ERR_INVALID_PARAMS);
	if (strcmp(type, "vhost-user") == 0) {
		if (vhost_params(params, &vp, msg, msglen) != 0)
			FAIL_MSG(CTL_ERR_INVALID_PARAMS);
		/* Server and client mode alike: the daemon's privileges. */
		if (paths_check_socket(
			    sw->paths, vp.socket, err, sizeof(err)) != 0)
			FAIL(CTL_ERR_REFUSED, "port %s: %s", name, err);
		p = vport_create(&vp, err, sizeof(err));
	} else if (strcmp(type, "kernel") == 0) {
		if (kernel_params(params, &ep, msg, msglen) != 0)
			FAIL_MSG(CTL_ERR_INVALID_PARAMS);
		ep.mtu = base.mtu;
		p = ethport_create(&ep, err, sizeof(err));
	} else {
		FAIL(CTL_ERR_INVALID_PARAMS,
			"port %s: unknown type '%s' (expected vhost-user or "
			"kernel)",
			name, type);
	}
	if (p == NULL)
		FAIL(CTL_ERR_REFUSED, "port %s: %s", name, err);
	p->vlan = base.vlan;
	p->mtu = base.mtu;
	p->has_mac = base.has_mac;
	p->mac = base.mac;
	if (vhsw_port_add(sw, p, msg, msglen) != 0)
		FAIL_MSG(CTL_ERR_REFUSED);
	return port_json(sw, p);
}

int
vhsw_uplink_add(struct vhsw *sw, json_t *params, char *msg, size_t msglen)
{
	struct ethport_params ep = {
		.kind = ETHPORT_UPLINK, .name = ETHPORT_UPLINK_NAME};
	static const struct param_spec spec[] = {
		{"devargs", JSON_STRING, true},
		{"mtu", JSON_INTEGER, false},
		{NULL},
	};
	json_int_t mtu = num(params, "mtu", 0);
	char err[400];
	struct port *p;

	if (!json_is_object(params)) {
		snprintf(msg, msglen,
			"must be an object like {\"devargs\": \"...\"}");
		return -1;
	}
	if (check_params(params, spec, msg, msglen) != 0)
		return -1;
	if (vhsw_port_find(sw, ETHPORT_UPLINK_NAME) != NULL) {
		snprintf(msg, msglen, "there is an uplink already");
		return -1;
	}
	if (mtu != 0 && (mtu < VHSW_MIN_MTU || mtu > VHSW_MAX_MTU)) {
		snprintf(msg, msglen, "mtu must be %d..%d", VHSW_MIN_MTU,
			VHSW_MAX_MTU);
		return -1;
	}
	ep.devargs = str(params, "devargs");
	ep.mtu = (uint32_t)mtu;
	p = ethport_create(&ep, err, sizeof(err));
	if (p == NULL) {
		snprintf(msg, msglen, "uplink: %s", err);
		return -1;
	}
	return vhsw_port_add(sw, p, msg, msglen);
}

static json_t *
act_port_del(
	struct vhsw *sw, json_t *params, int *code, char *msg, size_t msglen)
{
	struct port *p;

	CHECK(params, {"name", JSON_STRING, true});
	p = port_param(sw, params, "name");
	if (p == NULL)
		FAIL(CTL_ERR_REFUSED, "no port named %s", str(params, "name"));
	if (ethport_is_uplink(p))
		FAIL(CTL_ERR_REFUSED,
			"the uplink cannot be removed while vhswd runs; "
			"restart without --uplink");
	vhsw_port_detach(sw, p);
	return json_object();
}

static json_t *
act_port_list(
	struct vhsw *sw, json_t *params, int *code, char *msg, size_t msglen)
{
	json_t *a;
	int i;

	CHECK(params, {NULL});
	a = json_array();
	for (i = 0; i < VHSW_MAX_PORTS; i++)
		if (sw->ports[i] != NULL)
			json_array_append_new(a, port_json(sw, sw->ports[i]));
	return a;
}

static json_t *
act_port_show(
	struct vhsw *sw, json_t *params, int *code, char *msg, size_t msglen)
{
	struct port *p;

	CHECK(params, {"name", JSON_STRING, true});
	p = port_param(sw, params, "name");
	if (p == NULL)
		FAIL(CTL_ERR_REFUSED, "no port named %s", str(params, "name"));
	return port_json(sw, p);
}

struct dump_ctx {
	const struct vhsw *sw;
	json_t *out;
};

static void
fdb_entry_json(const struct fdb_entry_info *e, void *arg)
{
	struct dump_ctx *d = arg;
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	const struct port *p = d->sw->ports[e->port];

	port_mac_format(mac, sizeof(mac), &e->key.mac);
	json_array_append_new(d->out,
		json_pack("{s:s, s:i, s:s, s:b, s:I}", "mac", mac, "vlan",
			e->key.vlan, "port", p ? p->name : "?", "static",
			e->is_static, "age", (json_int_t)e->age));
}

/* The optional "port" param: VHSW_PORT_NONE when absent. */
static int
opt_port(
	struct vhsw *sw, json_t *params, uint16_t *id, char *msg, size_t msglen)
{
	struct port *p;

	*id = VHSW_PORT_NONE;
	if (str(params, "port") == NULL)
		return 0;
	p = port_param(sw, params, "port");
	if (p == NULL) {
		snprintf(msg, msglen, "no port named %s", str(params, "port"));
		return -1;
	}
	*id = p->id;
	return 0;
}

static json_t *
act_fdb_show(
	struct vhsw *sw, json_t *params, int *code, char *msg, size_t msglen)
{
	struct dump_ctx d = {.sw = sw};
	uint16_t id;

	CHECK(params, {"port", JSON_STRING, false});
	if (opt_port(sw, params, &id, msg, msglen) != 0)
		FAIL_MSG(CTL_ERR_REFUSED);
	d.out = json_array();
	fdb_dump(sw->fdb, id, fdb_entry_json, &d);
	return d.out;
}

static json_t *
act_fdb_flush(
	struct vhsw *sw, json_t *params, int *code, char *msg, size_t msglen)
{
	uint16_t id;

	CHECK(params, {"port", JSON_STRING, false});
	if (opt_port(sw, params, &id, msg, msglen) != 0)
		FAIL_MSG(CTL_ERR_REFUSED);
	return json_pack(
		"{s:i}", "flushed", (int)fdb_flush(sw->fdb, id, false));
}

/* Parses "mac" and "vlan" into a key.  0 or -1 with msg set. */
static int
fdb_key_param(json_t *params, uint16_t def_vlan, struct fdb_key *k, char *msg,
	size_t msglen)
{
	json_int_t vlan = num(params, "vlan", def_vlan);

	if (rte_ether_unformat_addr(str(params, "mac"), &k->mac) != 0) {
		snprintf(msg, msglen, "'%s' is not a MAC address",
			str(params, "mac"));
		return -1;
	}
	if (vlan < 0 || vlan > 4094) {
		snprintf(msg, msglen, "vlan must be 0..4094");
		return -1;
	}
	k->vlan = (uint16_t)vlan;
	return 0;
}

static json_t *
act_fdb_add(
	struct vhsw *sw, json_t *params, int *code, char *msg, size_t msglen)
{
	struct fdb_key k;
	struct port *p;

	CHECK(params, {"mac", JSON_STRING, true}, {"port", JSON_STRING, true},
		{"vlan", JSON_INTEGER, false});
	p = port_param(sw, params, "port");
	if (p == NULL)
		FAIL(CTL_ERR_REFUSED, "no port named %s", str(params, "port"));
	if (fdb_key_param(params, p->vlan, &k, msg, msglen) != 0)
		FAIL_MSG(CTL_ERR_INVALID_PARAMS);
	if (!rte_is_unicast_ether_addr(&k.mac) ||
		rte_is_zero_ether_addr(&k.mac))
		FAIL(CTL_ERR_INVALID_PARAMS, "%s is not a unicast MAC address",
			str(params, "mac"));
	if (p->vlan != 0 && k.vlan != p->vlan)
		FAIL(CTL_ERR_REFUSED,
			"port %s is an access port of VLAN %u, not %u", p->name,
			p->vlan, k.vlan);
	if (fdb_add_static(sw->fdb, &k, p->id) != 0)
		FAIL(CTL_ERR_REFUSED, "the FDB is full (%u entries)",
			fdb_capacity(sw->fdb));
	return json_object();
}

static json_t *
act_fdb_del(
	struct vhsw *sw, json_t *params, int *code, char *msg, size_t msglen)
{
	struct fdb_key k;

	CHECK(params, {"mac", JSON_STRING, true},
		{"vlan", JSON_INTEGER, false});
	if (fdb_key_param(params, 0, &k, msg, msglen) != 0)
		FAIL_MSG(CTL_ERR_INVALID_PARAMS);
	if (fdb_del(sw->fdb, &k) != 0)
		FAIL(CTL_ERR_REFUSED, "no FDB entry for %s in VLAN %u",
			str(params, "mac"), k.vlan);
	return json_object();
}

static json_t *
act_fdb_set_aging(
	struct vhsw *sw, json_t *params, int *code, char *msg, size_t msglen)
{
	json_int_t v;

	CHECK(params, {"aging", JSON_INTEGER, true});
	v = num(params, "aging", 0);
	if (v < 0 || v > 1000000)
		FAIL(CTL_ERR_INVALID_PARAMS,
			"aging must be 0 (never) to 1000000 seconds");
	sw->aging = (uint32_t)v;
	return json_object();
}

static json_t *
act_fdb_set_limit(
	struct vhsw *sw, json_t *params, int *code, char *msg, size_t msglen)
{
	json_int_t v;

	CHECK(params, {"limit", JSON_INTEGER, true});
	v = num(params, "limit", 0);
	if (v < 1 || v > (json_int_t)fdb_capacity(sw->fdb))
		FAIL(CTL_ERR_INVALID_PARAMS,
			"limit must be 1..%u (the table's capacity, sized at "
			"start from fdb.limit in the --config file)",
			fdb_capacity(sw->fdb));
	fdb_set_limit(sw->fdb, (uint32_t)v);
	return json_object();
}

static json_t *
act_dataplane_set_poll_mode(
	struct vhsw *sw, json_t *params, int *code, char *msg, size_t msglen)
{
	int mode;

	CHECK(params, {"mode", JSON_STRING, true});
	mode = dp_poll_mode_parse(str(params, "mode"));
	if (mode < 0)
		FAIL(CTL_ERR_INVALID_PARAMS,
			"mode must be \"busy\" or \"adaptive\"");
	dp_set_poll_mode(sw->dp, (enum dp_poll_mode)mode);
	return json_object();
}

static json_t *
act_uplink_show(
	struct vhsw *sw, json_t *params, int *code, char *msg, size_t msglen)
{
	struct port *p = vhsw_port_find(sw, ETHPORT_UPLINK_NAME);
	json_t *o;

	CHECK(params, {NULL});
	if (p == NULL)
		return json_pack("{s:s}", "state", "none");
	o = ethport_uplink_json(p);
	json_object_set_new(o, "stats", stats_json(p));
	return o;
}

static json_t *stats_all__(struct vhsw *sw, const struct port *only);

/* Counters, plus packet buffers in use (a leak shows as a rising floor). */
static json_t *
stats_all(struct vhsw *sw, const struct port *only)
{
	json_t *r = stats_all__(sw, only);

	json_object_set_new(json_object_get(r, "dataplane"), "mbufs_in_use",
		json_integer(rte_mempool_in_use_count(sw->pool)));
	json_object_set_new(
		json_object_get(r, "fdb"), "aging", json_integer(sw->aging));
	json_object_set_new(json_object_get(r, "fdb"), "pages",
		json_string(fdb_pages(sw->fdb)));
	json_object_set_new(json_object_get(r, "dataplane"), "idle_us",
		json_integer(dp_get_idle_us(sw->dp)));
	if (sw->rpc != NULL) {
		struct rpc_stats rs;

		rpc_server_stats(sw->rpc, &rs);
		json_object_set_new(r, "rpc",
			json_pack("{s:I, s:I, s:I, s:I, s:I}", "clients",
				(json_int_t)rs.clients, "requests",
				(json_int_t)rs.requests, "errors",
				(json_int_t)rs.errors, "evictions",
				(json_int_t)rs.evictions, "timeouts",
				(json_int_t)rs.timeouts));
	}
	return r;
}

static json_t *
stats_all__(struct vhsw *sw, const struct port *only)
{
	struct fdb_stats fs;
	struct dp_stats ds;
	json_t *ports = json_object();
	int i;

	for (i = 0; i < VHSW_MAX_PORTS; i++) {
		const struct port *p = sw->ports[i];

		if (p != NULL && (only == NULL || only == p))
			json_object_set_new(ports, p->name, stats_json(p));
	}
	fdb_get_stats(sw->fdb, &fs);
	dp_get_stats(sw->dp, &ds);
	return json_pack("{s:o, s:{s:i, s:i, s:I, s:I, s:I, s:I, s:I}, s:{s:s, "
			 "s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:I}}",
		"ports", ports, "fdb", "entries", (int)fs.entries, "limit",
		(int)fs.limit, "learned", (json_int_t)fs.learned, "aged",
		(json_int_t)fs.aged, "moves", (json_int_t)fs.moves, "evicted",
		(json_int_t)fs.evicted, "learn_fails",
		(json_int_t)fs.learn_fails, "dataplane", "poll_mode",
		dp_poll_mode_name(dp_get_poll_mode(sw->dp)), "packets",
		(json_int_t)ds.packets, "busy_cycles",
		(json_int_t)ds.busy_cycles, "idle_cycles",
		(json_int_t)ds.idle_cycles, "cycles_per_packet",
		ds.packets ? (double)ds.busy_cycles / (double)ds.packets : 0.0,
		"sleeps", (json_int_t)ds.sleeps, "sleep_errors",
		(json_int_t)ds.sleep_errors, "iterations",
		(json_int_t)ds.iterations, "stalls",
		(json_int_t)dp_stalls(sw->dp));
}

static json_t *
act_stats(struct vhsw *sw, json_t *params, int *code, char *msg, size_t msglen)
{
	struct port *p = NULL;
	json_t *clear;
	int i;

	CHECK(params, {"port", JSON_STRING, false},
		{"clear", JSON_TRUE, false});
	if (str(params, "port") != NULL) {
		p = port_param(sw, params, "port");
		if (p == NULL)
			FAIL(CTL_ERR_REFUSED, "no port named %s",
				str(params, "port"));
	}
	clear = json_object_get(params, "clear");
	if (json_is_true(clear)) {
		for (i = 0; i < VHSW_MAX_PORTS; i++)
			if (sw->ports[i] != NULL &&
				(p == NULL || sw->ports[i] == p))
				port_stats_clear(sw->ports[i]);
		if (p == NULL) {
			dp_clear_stats(sw->dp);
			fdb_clear_stats(sw->fdb);
		}
	}
	return stats_all(sw, p);
}

static json_t *
act_config_save(
	struct vhsw *sw, json_t *params, int *code, char *msg, size_t msglen)
{
	const char *file;
	char err[512];

	CHECK(params, {"file", JSON_STRING, false});
	file = str(params, "file");
	if (file == NULL)
		file = sw->config_path;
	if (file[0] == '\0')
		FAIL(CTL_ERR_REFUSED,
			"no file given and vhswd was started without --config");
	/* The --config file itself is allowed wherever it is. */
	if (strcmp(file, sw->config_path) != 0 &&
		paths_prepare_save(sw->paths, file, err, sizeof(err)) != 0)
		FAIL(CTL_ERR_REFUSED, "%s", err);
	if (config_save(sw, file, err, sizeof(err)) != 0)
		FAIL(CTL_ERR_REFUSED, "%s", err);
	return json_pack("{s:s}", "file", file);
}

static json_t *
act_version(
	struct vhsw *sw, json_t *params, int *code, char *msg, size_t msglen)
{
	CHECK(params, {NULL});
	return json_pack(
		"{s:s, s:s}", "version", VHSW_VERSION, "dpdk", rte_version());
}

static json_t *
act_help(struct vhsw *sw, json_t *params, int *code, char *msg, size_t msglen)
{
	json_t *a;
	int i;

	CHECK(params, {NULL});
	a = json_array();
	for (i = 0; i < CTL_CMD_COUNT; i++)
		json_array_append_new(a,
			json_pack("{s:s, s:s, s:s}", "method",
				ctl_cmds[i].method, "usage", ctl_cmds[i].usage,
				"help", ctl_cmds[i].help));
	return a;
}

const vhsw_action_fn vhsw_actions[CTL_CMD_COUNT] = {
	[CTL_CMD_PORT_ADD] = act_port_add,
	[CTL_CMD_PORT_DEL] = act_port_del,
	[CTL_CMD_PORT_LIST] = act_port_list,
	[CTL_CMD_PORT_SHOW] = act_port_show,
	[CTL_CMD_FDB_SHOW] = act_fdb_show,
	[CTL_CMD_FDB_FLUSH] = act_fdb_flush,
	[CTL_CMD_FDB_ADD] = act_fdb_add,
	[CTL_CMD_FDB_DEL] = act_fdb_del,
	[CTL_CMD_FDB_SET_AGING] = act_fdb_set_aging,
	[CTL_CMD_FDB_SET_LIMIT] = act_fdb_set_limit,
	[CTL_CMD_DATAPLANE_SET_POLL_MODE] = act_dataplane_set_poll_mode,
	[CTL_CMD_UPLINK_SHOW] = act_uplink_show,
	[CTL_CMD_STATS] = act_stats,
	[CTL_CMD_CONFIG_SAVE] = act_config_save,
	[CTL_CMD_VERSION] = act_version,
	[CTL_CMD_HELP] = act_help,
};
