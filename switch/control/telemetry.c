/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * telemetry.c - the /vhsw/... DPDK telemetry commands (see telemetry.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_telemetry.h>

#include "stats.h"
#include "telemetry.h"
#include "vhsw.h"

enum tel_cmd {
	TEL_PORTS,
	TEL_PORT,
	TEL_STATS,
	TEL_FDB,
	TEL_DATAPLANE,
};

static const struct {
	const char *cmd;
	bool param; /* takes one (a port name) */
	const char *help;
} tel_cmds[] = {
	[TEL_PORTS] = {"/vhsw/ports", false,
		"Returns the names of the switch's ports. Takes no parameters"},
	[TEL_PORT] = {"/vhsw/port", true,
		"Returns a port's state, counters and per-queue counters. "
		"Parameters: the port's name"},
	[TEL_STATS] = {"/vhsw/stats", false,
		"Returns every counter group of the switch (vhswctl stats). "
		"Takes no parameters"},
	[TEL_FDB] = {"/vhsw/fdb", false,
		"Returns the FDB's counters and size. Takes no parameters"},
	[TEL_DATAPLANE] = {"/vhsw/dataplane", false,
		"Returns the data-plane loop's counters. Takes no parameters"},
};

/* The one request in flight, handed from a telemetry thread to the loop. */
static struct {
	pthread_mutex_t serial; /* one request at a time */
	pthread_mutex_t lock;   /* everything below */
	pthread_cond_t cond;    /* 'done' or 'sw' changed */
	bool cond_ready;
	bool registered;
	struct vhsw *sw; /* NULL: not serving */
	ev_async async;
	bool pending, done;
	enum tel_cmd id;
	const char *params;
	struct rte_tel_data *d;
	int ret;
} tel = {
	.serial = PTHREAD_MUTEX_INITIALIZER,
	.lock = PTHREAD_MUTEX_INITIALIZER,
};

static char tel_prefix[80]; /* control thread */

/* What DPDK takes as a dict key: letters, digits, '_', '/'. */
static bool
tel_name_ok(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
			    (*s >= '0' && *s <= '9') || *s == '_' || *s == '/'))
			return false;
	return n > 0 && n < RTE_TEL_MAX_STRING_LEN;
}

/* Adds the scalar 'v' to dict 'd' as 'key'; other JSON is left out. */
static void
tel_put(struct rte_tel_data *d, const char *key, const json_t *v)
{
	char buf[32];

	if (!tel_name_ok(key))
		return;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);

		if (i >= 0)
			rte_tel_data_add_dict_u64(d, key, (uint64_t)i);
		else
			rte_tel_data_add_dict_int(d, key, (int)i);
	} else if (json_is_real(v)) {
		snprintf(buf, sizeof(buf), "%.3f", json_real_value(v));
		rte_tel_data_add_dict_string(d, key, buf);
	} else if (json_is_boolean(v)) {
		rte_tel_data_add_dict_int(d, key, json_is_true(v));
	} else if (json_is_string(v)) {
		rte_tel_data_add_dict_string(d, key, json_string_value(v));
	}
}

/* The scalars of object 'o' into dict 'd'. */
static void
tel_put_all(struct rte_tel_data *d, const json_t *o)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)o, key, v) tel_put(d, key, v);
}

/* Adds a dict of the scalars of 'o' to 'd' as 'key'.  0 or -errno. */
static int
tel_put_dict(struct rte_tel_data *d, const char *key, const json_t *o)
{
	struct rte_tel_data *c;

	if (o == NULL || !tel_name_ok(key))
		return -EINVAL;
	c = rte_tel_data_alloc();
	if (c == NULL)
		return -ENOMEM;
	rte_tel_data_start_dict(c);
	tel_put_all(c, o);
	if (rte_tel_data_add_dict_container(d, key, c, 0) != 0) {
		rte_tel_data_free(c);
		return -ENOSPC;
	}
	return 0;
}

static int
build_port(struct vhsw *sw, const char *name, struct rte_tel_data *d)
{
	const struct port *p;
	json_t *o, *qs, *q;
	char key[32];
	size_t i;

	if (name == NULL || name[0] == '\0' ||
		strnlen(name, VHSW_NAME_MAX) == VHSW_NAME_MAX)
		return -EINVAL;
	p = vhsw_port_find(sw, name);
	if (p == NULL)
		return -ENOENT;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "name", p->name);
	rte_tel_data_add_dict_string(d, "type", p->cls->type);
	rte_tel_data_add_dict_string(
		d, "state", port_is_ready(p) ? "up" : "down");
	rte_tel_data_add_dict_string(d, "admin", p->admin_down ? "down" : "up");
	rte_tel_data_add_dict_u64(d, "id", p->id);
	rte_tel_data_add_dict_u64(d, "vlan", p->vlan);
	rte_tel_data_add_dict_u64(d, "mtu", p->mtu);
	o = stats_port_json(p);
	tel_put_all(d, o);
	json_decref(o);
	qs = p->cls->queue_stats != NULL ? p->cls->queue_stats(p) : NULL;
	json_array_foreach(qs, i, q)
	{
		snprintf(key, sizeof(key), "%s_q%d",
			json_string_value(json_object_get(q, "direction")),
			(int)json_integer_value(json_object_get(q, "queue")));
		tel_put_dict(d, key, q);
	}
	json_decref(qs);
	return 0;
}

static int
build_stats(struct vhsw *sw, struct rte_tel_data *d)
{
	static const char *const groups[] = {"fdb", "dataplane", "rpc"};
	json_t *s = stats_json(sw, NULL), *ports, *o;
	const struct port *p;
	char key[32];
	size_t i;

	rte_tel_data_start_dict(d);
	for (i = 0; i < RTE_DIM(groups); i++)
		tel_put_dict(d, groups[i], json_object_get(s, groups[i]));
	/* Port names may hold '-' and '.', which keys may not: by id. */
	ports = json_object_get(s, "ports");
	for (i = 0; i < VHSW_MAX_PORTS; i++) {
		p = sw->ports[i];
		if (p == NULL || (o = json_object_get(ports, p->name)) == NULL)
			continue;
		json_object_set_new(o, "name", json_string(p->name));
		snprintf(key, sizeof(key), "port_%u", p->id);
		tel_put_dict(d, key, o);
	}
	json_decref(s);
	return 0;
}

/* Control thread: the reply of command 'id'.  0 or -errno. */
static int
build(struct vhsw *sw, enum tel_cmd id, const char *params,
	struct rte_tel_data *d)
{
	json_t *s;
	int i;

	if (!tel_cmds[id].param && params != NULL && params[0] != '\0')
		return -EINVAL;
	switch (id) {
	case TEL_PORTS:
		rte_tel_data_start_array(d, RTE_TEL_STRING_VAL);
		for (i = 0; i < VHSW_MAX_PORTS; i++)
			if (sw->ports[i] != NULL)
				rte_tel_data_add_array_string(
					d, sw->ports[i]->name);
		return 0;
	case TEL_PORT:
		return build_port(sw, params, d);
	case TEL_STATS:
		return build_stats(sw, d);
	case TEL_FDB:
	case TEL_DATAPLANE:
		s = stats_json(sw, NULL);
		rte_tel_data_start_dict(d);
		tel_put_all(d,
			json_object_get(
				s, id == TEL_FDB ? "fdb" : "dataplane"));
		json_decref(s);
		return 0;
	}
	return -EINVAL;
}

static void
async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
	pthread_mutex_lock(&tel.lock);
	if (tel.pending && !tel.done && tel.sw != NULL) {
		tel.ret = build(tel.sw, tel.id, tel.params, tel.d);
		tel.done = true;
		pthread_cond_broadcast(&tel.cond);
	}
	pthread_mutex_unlock(&tel.lock);
}

/* A telemetry thread: hands the command to the control thread. */
static int
tel_cb(const char *cmd, const char *params, struct rte_tel_data *d)
{
	struct timespec ts;
	int ret = -1;
	size_t id;

	for (id = 0; id < RTE_DIM(tel_cmds); id++)
		if (strcmp(cmd, tel_cmds[id].cmd) == 0)
			break;
	if (id == RTE_DIM(tel_cmds))
		return -1;
	pthread_mutex_lock(&tel.serial);
	pthread_mutex_lock(&tel.lock);
	if (tel.sw == NULL)
		goto out;
	tel.id = (enum tel_cmd)id;
	tel.params = params;
	tel.d = d;
	tel.pending = true;
	tel.done = false;
	ev_async_send(tel.sw->loop, &tel.async);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += TELEMETRY_TIMEOUT_MS / 1000;
	ts.tv_nsec += (long)(TELEMETRY_TIMEOUT_MS % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (!tel.done && tel.sw != NULL)
		if (pthread_cond_timedwait(&tel.cond, &tel.lock, &ts) ==
			ETIMEDOUT)
			break;
	if (tel.done)
		ret = tel.ret < 0 ? -1 : 0;
	/* Withdrawn: the loop no longer writes into 'd'. */
	tel.pending = false;
	tel.done = false;
	tel.params = NULL;
	tel.d = NULL;
out:
	pthread_mutex_unlock(&tel.lock);
	pthread_mutex_unlock(&tel.serial);
	return ret;
}

int
telemetry_init(struct vhsw *sw, const char *prefix)
{
	pthread_condattr_t ca;
	size_t i;
	int ret;

	if (!tel.cond_ready) {
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		ret = pthread_cond_init(&tel.cond, &ca);
		pthread_condattr_destroy(&ca);
		if (ret != 0)
			return -ret;
		tel.cond_ready = true;
	}
	if (!tel.registered) {
		for (i = 0; i < RTE_DIM(tel_cmds); i++) {
			ret = rte_telemetry_register_cmd(
				tel_cmds[i].cmd, tel_cb, tel_cmds[i].help);
			if (ret != 0)
				return ret < 0 ? ret : -ret;
		}
		tel.registered = true;
	}
	snprintf(tel_prefix, sizeof(tel_prefix), "%s", prefix);
	ev_async_init(&tel.async, async_cb);
	ev_async_start(sw->loop, &tel.async);
	pthread_mutex_lock(&tel.lock);
	tel.sw = sw;
	pthread_mutex_unlock(&tel.lock);
	return 0;
}

void
telemetry_fini(struct vhsw *sw)
{
	pthread_mutex_lock(&tel.lock);
	if (tel.sw != sw) {
		pthread_mutex_unlock(&tel.lock);
		return;
	}
	tel.sw = NULL;
	if (tel.cond_ready)
		pthread_cond_broadcast(&tel.cond);
	pthread_mutex_unlock(&tel.lock);
	ev_async_stop(sw->loop, &tel.async);
}

const char *
telemetry_prefix(void)
{
	return tel_prefix[0] != '\0' ? tel_prefix : NULL;
}
