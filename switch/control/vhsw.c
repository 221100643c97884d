/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhsw.c - the switch instance (vhsw.h) on the control thread: the port
 * registry and its publication to the data plane, port events, the 1 Hz
 * tick (FDB clock and aging, stall watch) and request dispatch.
 *
 * Port lifecycle:
 *   attach: the port gets a free id, goes into sw->ports and into a new
 *           published port table.  The data plane polls it once its peer
 *           makes it ready (port->ready).
 *   event:  librte_vhost's thread records what happened in the port and
 *           calls vhsw_wake(); the wake watcher runs each port's sync() on
 *           this thread, which snapshots the device and sets 'ready'.  A port
 *           that went down has its learned FDB entries flushed.
 *   detach: a new table without the port is published and dp_set_ports()
 *           waits for a grace period, so the data plane no longer holds the
 *           port; then its FDB entries (static ones too) go, and the class
 *           destroys it.  Only after that can its id be reused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_log.h>

#include "actions.h"
#include "capture.h"
#include "mirror.h"
#include "monitor.h"
#include "policy.h"
#include "rpc.h"
#include "state.h"
#include "tenant.h"
#include "vhsw.h"
#include "vhsw_assert.h"
#include "vlog.h"

RTE_LOG_REGISTER(vhsw_ctl_logtype, vhsw.ctl, INFO);
#define CTL_PREFIX "vhswd: ctl: "

/* Port added/removed lines: a client adding ports in a loop is bounded. */
static struct vlog_rl port_event_rl = VLOG_RATE_LIMIT_INIT(50, 100);
/* vhsw_fini: the ports close with vhswd, they are not removed (the state
 * file keeps them). */
static bool vhsw_stopping;

/* "port c1 added (vhost-user, socket /run/vhsw/c1.sock, server)". */
static void
log_port_event(const struct port *p, const char *what)
{
	static const char *const keys[] = {
		"socket", "mode", "ifname", "netns", "devargs"};
	char where[200] = "";
	size_t i, n = 0;
	json_t *o = json_object(), *v;

	if (o != NULL && p->cls->describe != NULL)
		p->cls->describe(p, o, false);
	for (i = 0; o != NULL && i < RTE_DIM(keys) && n < sizeof(where); i++) {
		v = json_object_get(o, keys[i]);
		/* A kernel port's devargs are the switch's own business. */
		if (strcmp(keys[i], "devargs") == 0 && n > 0)
			break;
		if (json_is_string(v))
			n += (size_t)snprintf(where + n, sizeof(where) - n,
				", %s%s%s",
				strcmp(keys[i], "mode") ? keys[i] : "",
				strcmp(keys[i], "mode") ? " " : "",
				json_string_value(v));
	}
	json_decref(o);
	/* NOTICE: shown also for the ports vhswd restores as it starts. */
	vlog_rl_log(&port_event_rl, vhsw_ctl_logtype, RTE_LOG_NOTICE,
		CTL_PREFIX, "port %s %s (%s%s)", p->name, what, p->cls->type,
		where);
}

void
vhsw_wake(void *arg)
{
	struct vhsw *sw = arg;

	ev_async_send(sw->loop, &sw->wake);
}

void
vhsw_sync_ports(struct vhsw *sw)
{
	struct port *p;
	int i;

	VHSW_ASSERT_CONTROL_THREAD();
	for (i = 0; i < VHSW_MAX_PORTS; i++) {
		p = sw->ports[i];
		if (p != NULL && p->cls->sync != NULL && p->cls->sync(p))
			fdb_flush(sw->fdb, p->id, false);
	}
}

static void
wake_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct vhsw *sw =
		(struct vhsw *)((char *)w - offsetof(struct vhsw, wake));

	vhsw_sync_ports(sw);
	/* A port may have come up: a sleeping data plane must poll it. */
	dp_wake(sw->dp);
}

/* A port's name by id, for fdb_log_events; NULL if there is none. */
static const char *
port_name(uint16_t id, void *arg)
{
	const struct vhsw *sw = arg;

	return id < VHSW_MAX_PORTS && sw->ports[id] != NULL
		? sw->ports[id]->name
		: NULL;
}

static void
tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct vhsw *sw =
		(struct vhsw *)((char *)w - offsetof(struct vhsw, tick));

	sw->clock++;
	fdb_set_clock(sw->fdb, sw->clock);
	/* A loop stuck on a peer's fd for a second is freed here. */
	dp_check_stall(sw->dp);
	/* Queue loads of the last second; rebalancing when it is due. */
	dp_tick(sw->dp, sw->rebalance_s);
	/* Link state of ports whose PMD has no link interrupt. */
	vhsw_sync_ports(sw);
	if (sw->aging != 0)
		fdb_age(sw->fdb, sw->aging);
	if (sw->state_dirty)
		state_sync(sw);
	/* What learning recorded on the data plane, then the notes of event
	 * lines a flood made the rate limits suppress. */
	fdb_log_events(sw->fdb, port_name, sw);
	vlog_flush();
}

static void
signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

int
vhsw_init(struct vhsw *sw, struct ev_loop *loop, struct rte_mempool *pool,
	struct rte_rcu_qsbr *qsv, struct fdb *fdb, struct dp *dp)
{
	/* The thread that runs the loop is the control thread. */
	vhsw_assert_set_control_thread();
	memset(sw, 0, sizeof(*sw));
	sw->loop = loop;
	sw->pool = pool;
	sw->qsv = qsv;
	sw->fdb = fdb;
	sw->dp = dp;
	sw->aging = FDB_DEFAULT_AGING;
	/* Start the clock past the largest aging time a fresh entry needs. */
	sw->clock = 1;
	fdb_set_clock(fdb, sw->clock);
	ev_async_init(&sw->wake, wake_cb);
	ev_async_start(loop, &sw->wake);
	ev_timer_init(&sw->tick, tick_cb, 1.0, 1.0);
	ev_timer_start(loop, &sw->tick);
	ev_signal_init(&sw->sigterm, signal_cb, SIGTERM);
	ev_signal_start(loop, &sw->sigterm);
	ev_signal_init(&sw->sigint, signal_cb, SIGINT);
	ev_signal_start(loop, &sw->sigint);
	return 0;
}

void
vhsw_fini(struct vhsw *sw)
{
	int i;

	VHSW_ASSERT_CONTROL_THREAD();
	vhsw_stopping = true;
	capture_fini(sw); /* the files complete, the writers joined */
	mirror_fini(sw);  /* the switch closes: the mirrors stay saved */
	for (i = 0; i < VHSW_MAX_PORTS; i++)
		if (sw->ports[i] != NULL)
			vhsw_port_detach(sw, sw->ports[i]);
	vhsw_stopping = false;
	ev_async_stop(sw->loop, &sw->wake);
	ev_timer_stop(sw->loop, &sw->tick);
	ev_signal_stop(sw->loop, &sw->sigterm);
	ev_signal_stop(sw->loop, &sw->sigint);
}

/* Frees a port no data plane can reach any more. */
static void
port_destroy(struct port *p)
{
	tenant_free(p->policy);
	free(p->monitor);
	p->cls->destroy(p);
}

/* The FDB's share of a port's tenant controls (learning rules). */
static void
port_rules(struct vhsw *sw, const struct port *p)
{
	const struct port_policy *pol = p->policy;

	fdb_set_port_rules(sw->fdb, p->id, pol ? pol->max_macs : 0,
		pol != NULL && pol->limit_forward,
		pol != NULL && pol->n_macs > 0);
}

void
vhsw_port_set_policy(struct vhsw *sw, struct port *p, struct port_policy *pol)
{
	struct port_policy *old = p->policy;

	VHSW_ASSERT_CONTROL_THREAD();
	__atomic_store_n(&p->policy, pol, __ATOMIC_RELEASE);
	port_rules(sw, p);
	if (old != NULL) {
		/* The data plane may still be in a burst with the old one. */
		dp_synchronize(sw->dp);
		tenant_free(old);
	}
}

int
vhsw_port_update_monitor(struct vhsw *sw, struct port *p)
{
	struct port_monitor *old = p->monitor, *mon;
	int i;

	VHSW_ASSERT_CONTROL_THREAD();
	mon = calloc(1, sizeof(*mon));
	if (mon == NULL)
		return -ENOMEM;
	capture_fill_monitor(sw, p, mon);
	mirror_fill_monitor(sw, p, mon);
	for (i = 0; i < mon->n_capture; i++)
		mon->dirs |= mon->capture[i].dirs;
	for (i = 0; i < mon->n_mirror; i++)
		mon->dirs |= mon->mirror[i].dirs;
	if (mon->dirs == 0) {
		free(mon);
		mon = NULL;
	}
	__atomic_store_n(&p->monitor, mon, __ATOMIC_RELEASE);
	if (old != NULL) {
		/* The data plane may still be in a burst with the old one. */
		dp_synchronize(sw->dp);
		free(old);
	}
	return 0;
}

struct port *
vhsw_port_find(const struct vhsw *sw, const char *name)
{
	int i;

	VHSW_ASSERT_CONTROL_THREAD();
	for (i = 0; i < VHSW_MAX_PORTS; i++)
		if (sw->ports[i] != NULL &&
			strcmp(sw->ports[i]->name, name) == 0)
			return sw->ports[i];
	return NULL;
}

/* Publishes every port that is neither administratively down nor hidden. */
static void
publish(struct vhsw *sw)
{
	struct port *by_id[VHSW_MAX_PORTS], *p;
	int i;

	for (i = 0; i < VHSW_MAX_PORTS; i++) {
		p = sw->ports[i];
		by_id[i] = p != NULL && !p->admin_down && !p->hidden ? p : NULL;
	}
	dp_set_ports(sw->dp, by_id);
}

void
vhsw_port_set_rxq_pins(
	struct vhsw *sw, struct port *p, const uint16_t pins[PORT_MAX_RXQ])
{
	VHSW_ASSERT_CONTROL_THREAD();
	memcpy(p->rxq_pin, pins, sizeof(p->rxq_pin));
	publish(sw);
}

json_t *
vhsw_rxq_affinity_json(const struct port *p)
{
	char buf[PORT_MAX_RXQ * 12] = "";
	size_t off = 0;
	int q;

	for (q = 0; q < PORT_MAX_RXQ; q++)
		if (p->rxq_pin[q] != PORT_RXQ_UNPINNED)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off,
				"%s%d:%d", off ? "," : "", q,
				p->rxq_pin[q] - 1);
	return off ? json_string(buf) : json_null();
}

int
vhsw_port_attach(struct vhsw *sw, struct port *p)
{
	int i;

	VHSW_ASSERT_CONTROL_THREAD();
	for (i = 0; i < VHSW_MAX_PORTS; i++)
		if (sw->ports[i] == NULL)
			break;
	if (i == VHSW_MAX_PORTS)
		return -ENOSPC;
	p->id = (uint16_t)i;
	port_rules(sw, p); /* before the data plane can learn on it */
	sw->ports[i] = p;
	publish(sw);
	return 0;
}

int
vhsw_port_add(struct vhsw *sw, struct port *p, char *msg, size_t msglen)
{
	struct fdb_key k = {.mac = p->mac, .vlan = p->vlan};

	VHSW_ASSERT_CONTROL_THREAD();
	if (vhsw_port_attach(sw, p) != 0) {
		snprintf(msg, msglen, "port %s: too many ports (max %d)",
			p->name, VHSW_MAX_PORTS);
		port_destroy(p);
		return -ENOSPC;
	}
	if (p->has_mac && fdb_add_static(sw->fdb, &k, p->id) != 0) {
		snprintf(msg, msglen, "port %s: the FDB is full", p->name);
		vhsw_port_detach(sw, p);
		return -ENOSPC;
	}
	log_port_event(p, "added");
	/* Pick up what the peer or link did meanwhile. */
	if (p->cls->sync != NULL)
		p->cls->sync(p);
	return 0;
}

void
vhsw_port_detach(struct vhsw *sw, struct port *p)
{
	VHSW_ASSERT_CONTROL_THREAD();
	mirror_port_removed(sw, p); /* no mirror names its id any more */
	sw->ports[p->id] = NULL;
	publish(sw);
	capture_port_gone(sw, p);
	fdb_flush(sw->fdb, p->id, true);
	if (!vhsw_stopping)
		log_port_event(p, "removed");
	port_destroy(p);
}

void
vhsw_port_set_admin(struct vhsw *sw, struct port *p, bool down)
{
	VHSW_ASSERT_CONTROL_THREAD();
	if (p->admin_down == down)
		return;
	p->admin_down = down;
	publish(sw);
	if (down)
		fdb_flush(sw->fdb, p->id, false);
}

void
vhsw_port_set_output_only(struct vhsw *sw, struct port *p, bool on)
{
	VHSW_ASSERT_CONTROL_THREAD();
	if (p->output_only == on)
		return;
	p->output_only = on;
	publish(sw);
	/* Not polled any more: what it had learned goes. */
	if (on)
		fdb_flush(sw->fdb, p->id, false);
}

struct vlan_move {
	uint16_t port, vlan;
	struct fdb_key keys[64];
	unsigned int n;
	bool more;
};

/* Collects the static entries of a port outside its new VLAN. */
static void
static_outside(const struct fdb_entry_info *e, void *arg)
{
	struct vlan_move *m = arg;

	if (!e->is_static || e->port != m->port || e->key.vlan == m->vlan)
		return;
	if (m->n == RTE_DIM(m->keys)) {
		m->more = true;
		return;
	}
	m->keys[m->n++] = e->key;
}

int
vhsw_port_reconfigure(struct vhsw *sw, struct port *p, uint16_t vlan,
	uint32_t mtu, char *msg, size_t msglen)
{
	struct fdb_key own = {.mac = p->mac, .vlan = vlan};
	struct fdb_key old_own = {.mac = p->mac, .vlan = p->vlan};
	struct vlan_move m = {.port = p->id, .vlan = vlan};
	unsigned int i;
	int ret = 0;

	VHSW_ASSERT_CONTROL_THREAD();
	if (vlan == p->vlan && mtu == p->mtu)
		return 0;
	p->hidden = true;
	publish(sw); /* the data plane no longer reads p->vlan, p->mtu */
	if (mtu != p->mtu && p->cls->set_mtu != NULL)
		ret = p->cls->set_mtu(p, mtu, msg, msglen);
	if (ret == 0) {
		p->mtu = mtu;
		if (vlan != p->vlan) {
			fdb_flush(sw->fdb, p->id, false);
			/* An access port keeps only entries of its VLAN. */
			do {
				m.n = 0;
				m.more = false;
				if (vlan != 0)
					fdb_dump(sw->fdb, p->id, static_outside,
						&m);
				for (i = 0; i < m.n; i++)
					fdb_del(sw->fdb, &m.keys[i]);
			} while (m.more);
			p->vlan = vlan;
			/* The --mac entry moves with the port. */
			if (p->has_mac) {
				fdb_del(sw->fdb, &old_own);
				fdb_add_static(sw->fdb, &own, p->id);
			}
		}
	}
	p->hidden = false;
	publish(sw);
	return ret;
}

/* Whether command 'id' may change what the state file keeps. */
static bool
changes_config(enum ctl_cmd_id id)
{
	switch (id) {
	case CTL_CMD_PORT_LIST:
	case CTL_CMD_PORT_SHOW:
	case CTL_CMD_UPLINK_SHOW:
	case CTL_CMD_FDB_SHOW:
	case CTL_CMD_MIRROR_LIST:
	case CTL_CMD_FDB_FLUSH:
	case CTL_CMD_STATS:
	case CTL_CMD_CONFIG_SAVE:
	case CTL_CMD_CAPTURE:
	case CTL_CMD_CAPTURE_LIST:
	case CTL_CMD_CAPTURE_STOP:
	case CTL_CMD_VERSION:
	case CTL_CMD_HELP:
	case CTL_CMD_DOCTOR:
		return false;
	default:
		return true; /* a new command is saved unless listed above */
	}
}

json_t *
vhsw_dispatch(void *arg, const char *method, json_t *params, int *code,
	char *msg, size_t msglen)
{
	const struct ctl_cmd *cmd = ctl_cmd_find(method);
	struct vhsw *sw = arg;
	enum ctl_cmd_id id;
	json_t *res;

	VHSW_ASSERT_CONTROL_THREAD();
	if (cmd == NULL) {
		*code = CTL_ERR_NO_METHOD;
		snprintf(msg, msglen, "unknown method '%s'", method);
		return NULL;
	}
	/* Apply pending port events first so replies show current state. */
	vhsw_sync_ports(sw);
	id = (enum ctl_cmd_id)(cmd - ctl_cmds);
	res = act_call(sw, id, params, code, msg, msglen);
	if (res != NULL && changes_config(id))
		state_sync(sw);
	return res;
}
