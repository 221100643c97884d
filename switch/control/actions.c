/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * actions.c - one function per management command (ctl.h CTL_COMMANDS).
 *
 * act_call() checks a request's params against the command table (unknown
 * keys and wrong types are refused with a message naming the key) and runs
 * the command's action, which checks the values, does the work and returns
 * a JSON result.  The same path serves JSON-RPC requests and the --config
 * loader, so both accept exactly the same input.  Port kinds are found by
 * type name in the registry (port.h); nothing here knows one by name.
 *
 * Thread-safety: control thread only.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ether.h>
#include <rte_log.h>
#include <rte_version.h>

#include "paths.h"
#include "actions.h"
#include "capture.h"
#include "config.h"
#include "doctor.h"
#include "mirror.h"
#include "stats.h"
#include "telemetry.h"
#include "tenant.h"
#include "vhsw.h"
#include "vlog.h"

json_t *
act_fail(struct act_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, e->len, fmt, ap);
	va_end(ap);
	return NULL;
}

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

bool
act_name_ok(const char *name)
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
	json_object_set_new(
		o, "admin", json_string(p->admin_down ? "down" : "up"));
	json_object_set_new(o, "fdb_entries",
		json_integer(fdb_port_entries(sw->fdb, p->id)));
	json_object_set_new(o, "rxq_affinity", vhsw_rxq_affinity_json(p));
	p->cls->describe(p, o, true);
	if (p->cls->fixed_name == NULL)
		tenant_json(p->policy, NULL, o, true);
	json_object_set_new(o, "stats", stats_port_json(p));
	return o;
}

/* The port named by params[key], or NULL with 'e' set. */
static struct port *
port_param(struct vhsw *sw, json_t *params, const char *key, struct act_err *e)
{
	const char *name = str(params, key);
	struct port *p = name ? vhsw_port_find(sw, name) : NULL;

	if (p == NULL)
		act_fail(e, CTL_ERR_REFUSED, "no port named %s",
			name ? name : "(none)");
	return p;
}

/* The socket path policy, for the port kinds (port_conf). */
static int
check_socket(const void *policy, const char *path, char *err, size_t errlen)
{
	return paths_check_socket(policy, path, err, errlen);
}

/* Checks the keys every port kind shares and fills 'conf'.  0 or -1. */
static int
port_conf_parse(struct vhsw *sw, json_t *params, struct port_conf *conf,
	struct act_err *e)
{
	const char *name = str(params, "name"), *mac = str(params, "mac");
	json_int_t vlan = num(params, "vlan", 0), mtu = num(params, "mtu", 0);
	const struct port_class *cls;
	int i;

	memset(conf, 0, sizeof(*conf));
	conf->name = name;
	conf->check_socket = check_socket;
	conf->policy = sw->paths;
	if (!act_name_ok(name)) {
		act_fail(e, CTL_ERR_INVALID_PARAMS,
			"invalid port name '%s': use 1-%d letters, digits, "
			"'_', '.' or '-'",
			name, VHSW_NAME_MAX - 1);
		return -1;
	}
	if (vhsw_port_find(sw, name) != NULL) {
		act_fail(e, CTL_ERR_REFUSED, "port %s already exists", name);
		return -1;
	}
	for (i = 0; (cls = port_class_get(i)) != NULL; i++) {
		if (cls->fixed_name != NULL &&
			strcmp(name, cls->fixed_name) == 0) {
			act_fail(e, CTL_ERR_INVALID_PARAMS,
				"the name '%s' is reserved for the %s (%s add)",
				name, cls->type, cls->fixed_name);
			return -1;
		}
	}
	if (vlan < 0 || vlan > 4094) {
		act_fail(e, CTL_ERR_INVALID_PARAMS,
			"port %s: vlan must be 0 (trunk) or 1..4094", name);
		return -1;
	}
	if (json_object_get(params, "mtu") != NULL &&
		(mtu < PORT_MIN_MTU || mtu > PORT_MAX_MTU)) {
		act_fail(e, CTL_ERR_INVALID_PARAMS,
			"port %s: mtu must be %d..%d", name, PORT_MIN_MTU,
			PORT_MAX_MTU);
		return -1;
	}
	if (mac != NULL &&
		(rte_ether_unformat_addr(mac, &conf->mac) != 0 ||
			!rte_is_valid_assigned_ether_addr(&conf->mac))) {
		act_fail(e, CTL_ERR_INVALID_PARAMS,
			"port %s: '%s' is not a unicast MAC address", name,
			mac);
		return -1;
	}
	conf->has_mac = mac != NULL;
	conf->vlan = (uint16_t)vlan;
	conf->mtu = (uint32_t)mtu;
	return 0;
}

/* "vhost-user or kernel": the kinds `port add` makes. */
static void
port_kinds(char *buf, size_t len)
{
	const struct port_class *cls;
	size_t n = 0;
	int i, k = 0;

	buf[0] = '\0';
	for (i = 0; (cls = port_class_get(i)) != NULL && n < len; i++) {
		if (cls->fixed_name != NULL)
			continue;
		n += (size_t)snprintf(
			buf + n, len - n, "%s%s", k++ ? " or " : "", cls->type);
	}
}

/*
 * The "admin" param: 0 up (or absent), 1 down, -1 with 'e' set when it is
 * neither.
 */
static int
admin_param(json_t *params, const char *name, struct act_err *e)
{
	const char *a = str(params, "admin");

	if (a == NULL || strcmp(a, "up") == 0)
		return 0;
	if (strcmp(a, "down") == 0)
		return 1;
	act_fail(e, CTL_ERR_INVALID_PARAMS,
		"port %s: admin must be \"up\" or \"down\", not \"%s\"", name,
		a);
	return -1;
}

/*
 * Creates a port of class 'cls' with tenant controls 'pol' (given away)
 * and attaches it, administratively down when params say so.  Its result
 * or NULL.
 */
/* "Q:CPU" into its two numbers (no signs, CPU < 32768).  False if not. */
static bool
rxq_pair(const char *tok, unsigned long *q, unsigned long *cpu)
{
	char *end;

	if (!isdigit((unsigned char)tok[0]))
		return false;
	*q = strtoul(tok, &end, 10);
	if (*end != ':' || !isdigit((unsigned char)end[1]))
		return false;
	*cpu = strtoul(end + 1, &end, 10);
	return *end == '\0' && *cpu < 32768;
}

/*
 * Parses params["rxq_affinity"] ("Q:CPU[,Q:CPU]" or "none") into 'pins'
 * (port.h's rxq_pin: 1 + CPU, or PORT_RXQ_UNPINNED) for a port with
 * 'nq' receive queues.  1 if given, 0 if not, -1 with 'e' set.
 */
static int
rxq_affinity_param(struct vhsw *sw, json_t *params, const char *name,
	uint16_t nq, uint16_t pins[PORT_MAX_RXQ], struct act_err *e)
{
	const char *v = str(params, "rxq_affinity");
	char buf[256], *tok, *save;
	unsigned long q, cpu;

	if (v == NULL)
		return 0;
	memset(pins, 0, sizeof(uint16_t) * PORT_MAX_RXQ);
	if (strcmp(v, "none") == 0 || v[0] == '\0')
		return 1;
	if (strlen(v) >= sizeof(buf)) {
		act_fail(e, CTL_ERR_INVALID_PARAMS,
			"port %s: rxq_affinity is too long", name);
		return -1;
	}
	strcpy(buf, v);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
		tok = strtok_r(NULL, ",", &save)) {
		if (!rxq_pair(tok, &q, &cpu)) {
			act_fail(e, CTL_ERR_INVALID_PARAMS,
				"port %s: rxq_affinity '%s': give QUEUE:CPU "
				"pairs like 0:3,1:4, or none",
				name, tok);
			return -1;
		}
		if (q >= nq) {
			act_fail(e, CTL_ERR_INVALID_PARAMS,
				"port %s: rxq_affinity: the port has %u "
				"receive queue%s (0-%u), not %lu",
				name, nq, nq == 1 ? "" : "s", nq - 1, q);
			return -1;
		}
		if (pins[q] != PORT_RXQ_UNPINNED) {
			act_fail(e, CTL_ERR_INVALID_PARAMS,
				"port %s: rxq_affinity names queue %lu twice",
				name, q);
			return -1;
		}
		if (dp_thread_of_cpu(sw->dp, (int)cpu) < 0) {
			act_fail(e, CTL_ERR_INVALID_PARAMS,
				"port %s: rxq_affinity: no data-plane thread "
				"runs on CPU %lu (see `vhswctl dataplane "
				"show`)",
				name, cpu);
			return -1;
		}
		pins[q] = (uint16_t)(cpu + 1);
	}
	return 1;
}

static json_t *
port_create(struct vhsw *sw, const struct port_class *cls,
	const struct port_conf *conf, struct port_policy *pol, json_t *params,
	struct act_err *e)
{
	int down = admin_param(params, conf->name, e);
	char err[400];
	struct port *p;

	if (down < 0) {
		tenant_free(pol);
		return NULL;
	}
	p = cls->create(conf, params, err, sizeof(err));
	if (p == NULL) {
		tenant_free(pol);
		return act_fail(
			e, CTL_ERR_REFUSED, "port %s: %s", conf->name, err);
	}
	p->policy = pol; /* not published yet */
	p->admin_down = down == 1;
	if (rxq_affinity_param(sw, params, conf->name, port_rxq_bound(p),
		    p->rxq_pin, e) < 0) {
		tenant_free(pol);
		p->policy = NULL;
		cls->destroy(p);
		return NULL;
	}
	if (vhsw_port_add(sw, p, e->msg, e->len) != 0) {
		e->code = CTL_ERR_REFUSED;
		return NULL;
	}
	return port_json(sw, p);
}

static json_t *
act_port_add(struct vhsw *sw, json_t *params, struct act_err *e)
{
	const char *name = str(params, "name"), *type = str(params, "type");
	const struct port_class *cls = port_class_find(type);
	struct port_policy *pol;
	struct port_conf conf;
	char err[256];

	if (port_conf_parse(sw, params, &conf, e) != 0)
		return NULL;
	if (cls == NULL || cls->fixed_name != NULL) {
		port_kinds(err, sizeof(err));
		return act_fail(e, CTL_ERR_INVALID_PARAMS,
			"port %s: unknown type '%s' (expected %s)", name, type,
			err);
	}
	if (ctl_check_kind(&ctl_cmds[CTL_CMD_PORT_ADD], params, type, err,
		    sizeof(err)) != 0 ||
		tenant_parse(params, NULL, conf.has_mac ? &conf.mac : NULL,
			&pol, err, sizeof(err)) != 0)
		return act_fail(
			e, CTL_ERR_INVALID_PARAMS, "port %s: %s", name, err);
	return port_create(sw, cls, &conf, pol, params, e);
}

static json_t *
act_uplink_add(struct vhsw *sw, json_t *params, struct act_err *e)
{
	const struct port_class *cls = port_class_find("uplink");
	json_int_t mtu = num(params, "mtu", 0);
	struct port_conf conf = {0};

	if (cls == NULL || cls->fixed_name == NULL)
		return act_fail(e, CTL_ERR_REFUSED, "no uplink support");
	conf.name = cls->fixed_name;
	if (vhsw_port_find(sw, conf.name) != NULL)
		return act_fail(
			e, CTL_ERR_REFUSED, "there is an uplink already");
	if (mtu != 0 && (mtu < PORT_MIN_MTU || mtu > PORT_MAX_MTU))
		return act_fail(e, CTL_ERR_INVALID_PARAMS, "mtu must be %d..%d",
			PORT_MIN_MTU, PORT_MAX_MTU);
	conf.mtu = (uint32_t)mtu;
	return port_create(sw, cls, &conf, NULL, params, e);
}

static json_t *
act_port_del(struct vhsw *sw, json_t *params, struct act_err *e)
{
	struct port *p;

	p = port_param(sw, params, "name", e);
	if (p == NULL)
		return NULL;
	if (p->cls->fixed_name != NULL)
		return act_fail(e, CTL_ERR_REFUSED,
			"the %s is removed with `%s del`", p->cls->type,
			p->cls->fixed_name);
	if (p->cls->remove != NULL)
		p->cls->remove(p);
	vhsw_port_detach(sw, p);
	return json_object();
}

static json_t *
act_uplink_del(struct vhsw *sw, json_t *params, struct act_err *e)
{
	const struct port_class *cls = port_class_find("uplink");
	struct port *p = NULL;

	if (cls != NULL && cls->fixed_name != NULL)
		p = vhsw_port_find(sw, cls->fixed_name);
	if (p == NULL)
		return act_fail(e, CTL_ERR_REFUSED, "there is no uplink");
	vhsw_port_detach(sw, p);
	return json_object();
}

/* Whether params hold a tenant control (anything but these keys). */
static bool
has_tenant_keys(json_t *params)
{
	static const char *const own[] = {
		"name", "vlan", "mtu", "admin", "rxq_affinity"};
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(params, key, v)
	{
		for (i = 0; i < RTE_DIM(own); i++)
			if (strcmp(key, own[i]) == 0)
				break;
		if (i == RTE_DIM(own))
			return true;
	}
	return false;
}

static json_t *
act_port_set(struct vhsw *sw, json_t *params, struct act_err *e)
{
	struct port_policy *pol = NULL;
	bool tenant = has_tenant_keys(params);
	uint16_t pins[PORT_MAX_RXQ];
	json_int_t vlan, mtu;
	int down, pinned;
	char err[400];
	struct port *p;

	p = port_param(sw, params, "name", e);
	if (p == NULL)
		return NULL;
	vlan = num(params, "vlan", p->vlan);
	mtu = num(params, "mtu", p->mtu);
	down = admin_param(params, p->name, e);
	if (down < 0)
		return NULL;
	if (p->cls->fixed_name != NULL &&
		(tenant || json_object_get(params, "vlan") != NULL))
		return act_fail(e, CTL_ERR_REFUSED,
			"the %s takes only --mtu, --admin and --rxq-affinity",
			p->cls->type);
	pinned = rxq_affinity_param(
		sw, params, p->name, port_rxq_bound(p), pins, e);
	if (pinned < 0)
		return NULL;
	if (vlan < 0 || vlan > 4094)
		return act_fail(e, CTL_ERR_INVALID_PARAMS,
			"port %s: vlan must be 0 (trunk) or 1..4094", p->name);
	if (mtu < PORT_MIN_MTU || mtu > PORT_MAX_MTU)
		return act_fail(e, CTL_ERR_INVALID_PARAMS,
			"port %s: mtu must be %d..%d", p->name, PORT_MIN_MTU,
			PORT_MAX_MTU);
	/* Everything checked before anything changes. */
	if (tenant &&
		tenant_parse(params, p->policy, NULL, &pol, err, sizeof(err)) !=
			0)
		return act_fail(
			e, CTL_ERR_INVALID_PARAMS, "port %s: %s", p->name, err);
	if (vhsw_port_reconfigure(sw, p, (uint16_t)vlan, (uint32_t)mtu, err,
		    sizeof(err)) != 0) {
		tenant_free(pol);
		return act_fail(
			e, CTL_ERR_REFUSED, "port %s: %s", p->name, err);
	}
	if (tenant)
		vhsw_port_set_policy(sw, p, pol);
	if (json_object_get(params, "admin") != NULL)
		vhsw_port_set_admin(sw, p, down == 1);
	if (pinned)
		vhsw_port_set_rxq_pins(sw, p, pins);
	return port_json(sw, p);
}

static json_t *
act_port_list(struct vhsw *sw, json_t *params, struct act_err *e)
{
	json_t *a;
	int i;

	a = json_array();
	for (i = 0; i < VHSW_MAX_PORTS; i++)
		if (sw->ports[i] != NULL)
			json_array_append_new(a, port_json(sw, sw->ports[i]));
	return a;
}

static json_t *
act_port_show(struct vhsw *sw, json_t *params, struct act_err *e)
{
	struct port *p;

	p = port_param(sw, params, "name", e);
	if (p == NULL)
		return NULL;
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
		json_pack("{s:s, s:i, s:s, s:b, s:I, s:b}", "mac", mac, "vlan",
			e->key.vlan, "port", p ? p->name : "?", "static",
			e->is_static, "age", (json_int_t)e->age, "frozen",
			e->frozen));
}

/* The optional "port" param: VHSW_PORT_NONE when absent. */
static int
opt_port(struct vhsw *sw, json_t *params, uint16_t *id, struct act_err *e)
{
	struct port *p;

	*id = VHSW_PORT_NONE;
	if (str(params, "port") == NULL)
		return 0;
	p = port_param(sw, params, "port", e);
	if (p == NULL)
		return -1;
	*id = p->id;
	return 0;
}

static json_t *
act_fdb_show(struct vhsw *sw, json_t *params, struct act_err *e)
{
	struct dump_ctx d = {.sw = sw};
	uint16_t id;

	if (opt_port(sw, params, &id, e) != 0)
		return NULL;
	d.out = json_array();
	fdb_dump(sw->fdb, id, fdb_entry_json, &d);
	return d.out;
}

static json_t *
act_fdb_flush(struct vhsw *sw, json_t *params, struct act_err *e)
{
	uint16_t id;

	if (opt_port(sw, params, &id, e) != 0)
		return NULL;
	return json_pack(
		"{s:i}", "flushed", (int)fdb_flush(sw->fdb, id, false));
}

/* Parses "mac" and "vlan" into a key.  0 or -1 with 'e' set. */
static int
fdb_key_param(
	json_t *params, uint16_t def_vlan, struct fdb_key *k, struct act_err *e)
{
	json_int_t vlan = num(params, "vlan", def_vlan);

	if (rte_ether_unformat_addr(str(params, "mac"), &k->mac) != 0) {
		act_fail(e, CTL_ERR_INVALID_PARAMS, "'%s' is not a MAC address",
			str(params, "mac"));
		return -1;
	}
	if (vlan < 0 || vlan > 4094) {
		act_fail(e, CTL_ERR_INVALID_PARAMS, "vlan must be 0..4094");
		return -1;
	}
	k->vlan = (uint16_t)vlan;
	return 0;
}

static json_t *
act_fdb_add(struct vhsw *sw, json_t *params, struct act_err *e)
{
	struct fdb_key k;
	struct port *p;

	p = port_param(sw, params, "port", e);
	if (p == NULL)
		return NULL;
	if (fdb_key_param(params, p->vlan, &k, e) != 0)
		return NULL;
	if (mirror_is_dst(sw, p))
		return act_fail(e, CTL_ERR_REFUSED,
			"port %s is the destination of a mirror, which takes "
			"no forwarded frames (vhswctl mirror list)",
			p->name);
	if (!rte_is_unicast_ether_addr(&k.mac) ||
		rte_is_zero_ether_addr(&k.mac))
		return act_fail(e, CTL_ERR_INVALID_PARAMS,
			"%s is not a unicast MAC address", str(params, "mac"));
	if (p->vlan != 0 && k.vlan != p->vlan)
		return act_fail(e, CTL_ERR_REFUSED,
			"port %s is an access port of VLAN %u, not %u", p->name,
			p->vlan, k.vlan);
	if (fdb_add_static(sw->fdb, &k, p->id) != 0)
		return act_fail(e, CTL_ERR_REFUSED,
			"the FDB is full (%u entries)", fdb_capacity(sw->fdb));
	return json_object();
}

static json_t *
act_fdb_del(struct vhsw *sw, json_t *params, struct act_err *e)
{
	struct fdb_key k;

	if (fdb_key_param(params, 0, &k, e) != 0)
		return NULL;
	if (fdb_del(sw->fdb, &k) != 0)
		return act_fail(e, CTL_ERR_REFUSED,
			"no FDB entry for %s in VLAN %u", str(params, "mac"),
			k.vlan);
	return json_object();
}

static json_t *
act_fdb_set_aging(struct vhsw *sw, json_t *params, struct act_err *e)
{
	json_int_t v;

	v = num(params, "aging", 0);
	if (v < 0 || v > 1000000)
		return act_fail(e, CTL_ERR_INVALID_PARAMS,
			"aging must be 0 (never) to 1000000 seconds");
	sw->aging = (uint32_t)v;
	return json_object();
}

static json_t *
act_fdb_set_limit(struct vhsw *sw, json_t *params, struct act_err *e)
{
	json_int_t v;

	v = num(params, "limit", 0);
	if (v < 1 || v > (json_int_t)fdb_capacity(sw->fdb))
		return act_fail(e, CTL_ERR_INVALID_PARAMS,
			"limit must be 1..%u (the table's capacity, sized at "
			"start from fdb.limit in the --config file)",
			fdb_capacity(sw->fdb));
	fdb_set_limit(sw->fdb, (uint32_t)v);
	return json_object();
}

static json_t *
act_fdb_set_move_limit(struct vhsw *sw, json_t *params, struct act_err *e)
{
	json_int_t v = num(params, "move_limit", -1);

	if (v < 0 || v > FDB_MAX_MOVE_LIMIT ||
		fdb_set_move_limit(sw->fdb, (uint32_t)v) != 0)
		return act_fail(e, CTL_ERR_INVALID_PARAMS,
			"move_limit must be 0 (off) to %u moves a second",
			FDB_MAX_MOVE_LIMIT);
	return json_object();
}

/* One receive queue of `dataplane show`. */
static json_t *
rxq_json(const struct vhsw *sw, const struct dp_rxq *rq)
{
	const struct dp *dp = sw->dp;
	const struct port *p = sw->ports[rq->port];
	const struct port_rxq_load *ld;
	double pct;

	if (p == NULL)
		return json_pack(
			"{s:i, s:i}", "port_id", rq->port, "queue", rq->queue);
	ld = &p->rxq_load[rq->queue];
	pct = dp->last_tsc != 0
		? 100.0 * (double)dp->last_load[rq->port][rq->queue] /
			(double)dp->last_tsc
		: 0.0;
	return json_pack("{s:s, s:i, s:b, s:b, s:I, s:I, s:f}", "port", p->name,
		"queue", rq->queue, "pinned",
		p->rxq_pin[rq->queue] != PORT_RXQ_UNPINNED, "enabled",
		port_is_ready(p) && rq->queue < p->ops->n_rxq(p), "packets",
		(json_int_t)__atomic_load_n(&ld->packets, __ATOMIC_RELAXED),
		"cycles",
		(json_int_t)__atomic_load_n(&ld->cycles, __ATOMIC_RELAXED),
		"load_pct", RTE_MIN(pct, 100.0));
}

static json_t *
act_dataplane_show(struct vhsw *sw, json_t *params, struct act_err *e)
{
	const struct dp *dp = sw->dp;
	json_t *threads = json_array(), *t, *rxqs;
	const struct dp_thread *th;
	const struct dp_rxq *rq;
	struct dp_stats st;
	uint16_t i, k, n;

	for (i = 0; i < dp->n_threads; i++) {
		th = dp->threads[i];
		dp_get_thread_stats(dp, i, &st);
		rxqs = json_array();
		rq = dp_thread_rxqs(dp, i, &n);
		for (k = 0; k < n; k++)
			json_array_append_new(rxqs, rxq_json(sw, &rq[k]));
		t = json_pack("{s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:i, "
			      "s:o}",
			"index", i, "cpu", th->cpu, "lcore", (int)th->lcore,
			"packets", (json_int_t)st.packets, "busy_cycles",
			(json_int_t)st.busy_cycles, "idle_cycles",
			(json_int_t)st.idle_cycles, "iterations",
			(json_int_t)st.iterations, "sleeps",
			(json_int_t)st.sleeps, "idle_us",
			(int)__atomic_load_n(&th->idle_us, __ATOMIC_RELAXED),
			"rxqs", rxqs);
		json_array_append_new(threads, t);
	}
	return json_pack("{s:o, s:s, s:s, s:i, s:I}", "threads", threads,
		"poll_mode", dp_poll_mode_name(dp_get_poll_mode(dp)),
		"assignment", "cycles", "rebalance_interval",
		(int)sw->rebalance_s, "rebalances", (json_int_t)dp->rebalances);
}

static json_t *
act_dataplane_rebalance(struct vhsw *sw, json_t *params, struct act_err *e)
{
	bool moved = dp_rebalance(sw->dp, true);

	return json_pack("{s:b, s:o}", "moved", moved, "dataplane",
		act_dataplane_show(sw, params, e));
}

static json_t *
act_dataplane_set_poll_mode(struct vhsw *sw, json_t *params, struct act_err *e)
{
	int mode;

	mode = dp_poll_mode_parse(str(params, "mode"));
	if (mode < 0)
		return act_fail(e, CTL_ERR_INVALID_PARAMS,
			"mode must be \"busy\" or \"adaptive\"");
	dp_set_poll_mode(sw->dp, (enum dp_poll_mode)mode);
	return json_object();
}

static json_t *
act_uplink_show(struct vhsw *sw, json_t *params, struct act_err *e)
{
	const struct port_class *cls = port_class_find("uplink");
	struct port *p = NULL;
	json_t *o;

	if (cls != NULL && cls->fixed_name != NULL)
		p = vhsw_port_find(sw, cls->fixed_name);
	if (p == NULL)
		return json_pack("{s:s}", "state", "none");
	o = p->cls->show != NULL ? p->cls->show(p) : json_object();
	json_object_set_new(o, "stats", stats_port_json(p));
	return o;
}

static json_t *
act_stats(struct vhsw *sw, json_t *params, struct act_err *e)
{
	struct port *p = NULL;

	if (json_is_true(json_object_get(params, "describe"))) {
		if (str(params, "port") != NULL ||
			json_is_true(json_object_get(params, "clear")))
			return act_fail(e, CTL_ERR_INVALID_PARAMS,
				"describe cannot be combined with port or "
				"clear");
		return stats_describe();
	}
	if (str(params, "port") != NULL) {
		p = port_param(sw, params, "port", e);
		if (p == NULL)
			return NULL;
	}
	if (json_is_true(json_object_get(params, "clear")))
		stats_clear(sw, p);
	return stats_json(sw, p);
}

static json_t *
act_config_save(struct vhsw *sw, json_t *params, struct act_err *e)
{
	const char *file;
	char err[512];

	file = str(params, "file");
	if (file == NULL)
		file = sw->config_path;
	if (file[0] == '\0')
		return act_fail(e, CTL_ERR_REFUSED,
			"no file given and vhswd was started without --config");
	/* The --config file itself is allowed wherever it is. */
	if (strcmp(file, sw->config_path) != 0 &&
		paths_prepare_save(sw->paths, file, err, sizeof(err)) != 0)
		return act_fail(e, CTL_ERR_REFUSED, "%s", err);
	if (config_save(sw, file, err, sizeof(err)) != 0)
		return act_fail(e, CTL_ERR_REFUSED, "%s", err);
	return json_pack("{s:s}", "file", file);
}

/*
 * The host checks on the daemon's host (vhswctl runs them itself, without
 * vhswd).  Only "/": a client may not point vhswd at another tree.  The
 * switch does not keep its --ctl path, so the control socket's directory
 * is left out (vhswctl doctor checks it).
 */
static json_t *
act_doctor(struct vhsw *sw, json_t *params, struct act_err *e)
{
	struct doctor_opts o = {
		.root = "/",
		.in_daemon = true,
	};
	const char *root = str(params, "root");
	json_t *r;

	if (root != NULL && strcmp(root, "/") != 0)
		return act_fail(e, CTL_ERR_INVALID_PARAMS,
			"root: vhswd checks only its own host; run vhswctl "
			"doctor --root %s for another tree",
			root);
	r = doctor_run(&o);
	return r != NULL ? r : act_fail(e, CTL_ERR_REFUSED, "out of memory");
}

static json_t *
act_log_set(struct vhsw *sw, json_t *params, struct act_err *e)
{
	const char *module = str(params, "module"),
		   *level = str(params, "level");
	char err[1024];
	int n;

	n = vlog_set_level(module, level, err, sizeof(err));
	if (n < 0)
		return act_fail(e, CTL_ERR_INVALID_PARAMS, "%s", err);
	rte_log(RTE_LOG_NOTICE, vhsw_ctl_logtype,
		"vhswd: ctl: log level of %s set to %s (%d log type%s)\n",
		module, vlog_level_name((uint32_t)vlog_level_parse(level)), n,
		n == 1 ? "" : "s");
	return json_pack("{s:s, s:s, s:i}", "module", module, "level",
		vlog_level_name((uint32_t)vlog_level_parse(level)), "types", n);
}

static void
log_show_one(const char *name, uint32_t level, void *arg)
{
	json_t *a = arg;

	json_array_append_new(a,
		json_pack("{s:s, s:s, s:s}", "module",
			strncmp(name, "vhsw.", 5) == 0 ? name + 5 : name,
			"name", name, "level", vlog_level_name(level)));
}

static json_t *
act_log_show(struct vhsw *sw, json_t *params, struct act_err *e)
{
	json_t *a = json_array();

	if (a == NULL ||
		vlog_foreach(json_is_true(json_object_get(params, "dpdk")),
			log_show_one, a) != 0) {
		json_decref(a);
		return act_fail(e, CTL_ERR_REFUSED, "out of memory");
	}
	return json_pack("{s:o}", "modules", a);
}

static json_t *
act_version(struct vhsw *sw, json_t *params, struct act_err *e)
{
	return json_pack("{s:s, s:s, s:s?}", "version", VHSW_VERSION, "dpdk",
		rte_version(), "telemetry_prefix", telemetry_prefix());
}

static json_t *
act_help(struct vhsw *sw, json_t *params, struct act_err *e)
{
	static const char *const types[] = {
		[CTL_T_STRING] = "string",
		[CTL_T_INT] = "integer",
		[CTL_T_BOOL] = "boolean",
	};
	const struct ctl_param *p;
	json_t *a, *ps;
	char usage[512];
	int i;

	a = json_array();
	for (i = 0; i < CTL_CMD_COUNT; i++) {
		ps = json_array();
		for (p = ctl_cmds[i].params; p->key != NULL; p++)
			json_array_append_new(ps,
				json_pack("{s:s, s:s, s:b, s:s?, s:s?, s:s}",
					"key", p->key, "type", types[p->type],
					"required", p->required, "option",
					p->option, "kind", p->kind, "help",
					p->help));
		json_array_append_new(a,
			json_pack("{s:s, s:s, s:s, s:o}", "method",
				ctl_cmds[i].method, "usage",
				ctl_usage(&ctl_cmds[i], NULL, usage,
					sizeof(usage)),
				"help", ctl_cmds[i].help, "params", ps));
	}
	return a;
}

/* The actions, bound to the command table: a command without one fails
 * to build. */
static const act_fn actions[CTL_CMD_COUNT] = {
#define ACTION_ENTRY(id, action, ...) [CTL_CMD_##id] = act_##action,
	CTL_COMMANDS(ACTION_ENTRY)
#undef ACTION_ENTRY
};

json_t *
act_call(struct vhsw *sw, enum ctl_cmd_id id, json_t *params, int *code,
	char *msg, size_t msglen)
{
	struct act_err e = {.msg = msg, .len = msglen};
	json_t *res;

	msg[0] = '\0';
	if (ctl_check_params(&ctl_cmds[id], params, msg, msglen) != 0) {
		*code = CTL_ERR_INVALID_PARAMS;
		return NULL;
	}
	res = actions[id](sw, params, &e);
	*code = res != NULL ? 0 : e.code;
	return res;
}
