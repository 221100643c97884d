/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mirror.c - port mirrors (see mirror.h): the mirror table, its commands,
 * its saved form, and the monitors built from it.
 *
 * A mirror holds port ids, never names: mirror_port_removed() takes a
 * port out of every mirror before its id can be reused, so an id in a
 * mirror always names the port it was added with.
 *
 * Thread-safety: control thread only.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_common.h>
#include <rte_ether.h>
#include <rte_log.h>

#include "actions.h"
#include "mirror.h"
#include "monitor.h"
#include "vhsw.h"
#include "vhsw_assert.h"

RTE_LOG_REGISTER(mirror_logtype, vhsw.mirror, INFO);
#define MLOG(level, fmt, ...)                                                \
	rte_log(RTE_LOG_##level, mirror_logtype, "vhswd: mirror: " fmt "\n", \
		##__VA_ARGS__)

struct mirror {
	char name[VHSW_NAME_MAX];
	uint16_t dst;
	uint8_t dirs; /* MONITOR_RX, MONITOR_TX */
	uint16_t n_src;
	uint16_t src[VHSW_MAX_PORTS]; /* in the order given */
};

struct mirror_set {
	unsigned int n;
	struct mirror m[MIRROR_MAX]; /* in the order added */
};

static const char *const dir_names[] = {
	[MONITOR_RX] = "rx",
	[MONITOR_TX] = "tx",
	[MONITOR_BOTH] = "both",
};

static bool
has_src(const struct mirror *m, uint16_t id)
{
	uint16_t i;

	for (i = 0; i < m->n_src; i++)
		if (m->src[i] == id)
			return true;
	return false;
}

/* The first mirror with port 'id' as its destination, or NULL. */
static const struct mirror *
dst_of(const struct mirror_set *s, uint16_t id)
{
	unsigned int i;

	for (i = 0; s != NULL && i < s->n; i++)
		if (s->m[i].dst == id)
			return &s->m[i];
	return NULL;
}

/* The first mirror with port 'id' as a source, or NULL. */
static const struct mirror *
src_of(const struct mirror_set *s, uint16_t id)
{
	unsigned int i;

	for (i = 0; s != NULL && i < s->n; i++)
		if (has_src(&s->m[i], id))
			return &s->m[i];
	return NULL;
}

static unsigned int
n_src_of(const struct mirror_set *s, uint16_t id)
{
	unsigned int i, n = 0;

	for (i = 0; s != NULL && i < s->n; i++)
		n += has_src(&s->m[i], id);
	return n;
}

static struct mirror *
find(struct mirror_set *s, const char *name)
{
	unsigned int i;

	for (i = 0; s != NULL && i < s->n; i++)
		if (strcmp(s->m[i].name, name) == 0)
			return &s->m[i];
	return NULL;
}

void
mirror_fill_monitor(
	struct vhsw *sw, const struct port *p, struct port_monitor *mon)
{
	const struct mirror_set *s = sw->mirrors;
	unsigned int i;

	for (i = 0; s != NULL && i < s->n; i++) {
		if (!has_src(&s->m[i], p->id) ||
			mon->n_mirror == MONITOR_MAX_MIRRORS)
			continue;
		mon->mirror[mon->n_mirror].dst = s->m[i].dst;
		mon->mirror[mon->n_mirror].dirs = s->m[i].dirs;
		mon->n_mirror++;
	}
}

bool
mirror_is_dst(const struct vhsw *sw, const struct port *p)
{
	return dst_of(sw->mirrors, p->id) != NULL;
}

/*
 * Rebuilds the monitors of the ports in 'ids' (a bitmap by id).  A port
 * whose monitor cannot be allocated keeps its old one, which only names
 * ports still published; logged.
 */
static void
update_monitors(struct vhsw *sw, const bool *ids)
{
	int i;

	for (i = 0; i < VHSW_MAX_PORTS; i++)
		if (ids[i] && sw->ports[i] != NULL &&
			vhsw_port_update_monitor(sw, sw->ports[i]) != 0)
			MLOG(ERR, "port %s: out of memory for its mirrors",
				sw->ports[i]->name);
}

/* Removes mirror 'm' from its set (no port is touched). */
static void
remove_entry(struct mirror_set *s, struct mirror *m)
{
	size_t k = (size_t)(m - s->m);

	memmove(&s->m[k], &s->m[k + 1], (s->n - k - 1) * sizeof(s->m[0]));
	s->n--;
}

/*
 * Ends the output-only state of the ports in 'was_dst' that no mirror
 * sends to any more.
 */
static void
release_dsts(struct vhsw *sw, const bool *was_dst)
{
	int i;

	for (i = 0; i < VHSW_MAX_PORTS; i++)
		if (was_dst[i] && sw->ports[i] != NULL &&
			dst_of(sw->mirrors, (uint16_t)i) == NULL)
			vhsw_port_set_output_only(sw, sw->ports[i], false);
}

static json_t *
mirror_json(const struct vhsw *sw, const struct mirror *m, bool counters)
{
	const struct port *dst = sw->ports[m->dst];
	struct port_stats st;
	json_t *src = json_array(), *o;
	uint16_t i;

	for (i = 0; i < m->n_src; i++)
		json_array_append_new(
			src, json_string(sw->ports[m->src[i]]->name));
	o = json_pack("{s:s, s:o, s:s, s:s}", "name", m->name, "src", src,
		"dst", dst->name, "direction", dir_names[m->dirs]);
	if (!counters)
		return o;
	port_stats_read(dst, &st);
	json_object_set_new(o, "dst_state",
		json_string(port_is_ready(dst) && !dst->admin_down ? "up"
								   : "down"));
	json_object_set_new(o, "dst_tx_packets",
		json_integer((json_int_t)st.c[PORT_STAT_tx_packets]));
	json_object_set_new(o, "dst_tx_dropped",
		json_integer((json_int_t)st.c[PORT_STAT_tx_dropped]));
	return o;
}

/* Parses "rx", "tx", "both" (NULL: both).  0 if none of them. */
static uint8_t
dir_parse(const char *d)
{
	uint8_t i;

	if (d == NULL)
		return MONITOR_BOTH;
	for (i = 1; i < RTE_DIM(dir_names); i++)
		if (strcmp(d, dir_names[i]) == 0)
			return i;
	return 0;
}

/* Parses --src "a,b" into m->src.  0, or -1 with 'e' set. */
static int
src_parse(
	struct vhsw *sw, struct mirror *m, const char *list, struct act_err *e)
{
	char buf[VHSW_NAME_MAX];
	const char *t = list;
	struct port *p;
	size_t k;

	m->n_src = 0;
	for (;;) {
		k = strcspn(t, ",");
		if (k == 0 || k >= sizeof(buf)) {
			act_fail(e, CTL_ERR_INVALID_PARAMS,
				"mirror %s: --src must be port names separated "
				"by commas, like c1,c2 (got '%s')",
				m->name, list);
			return -1;
		}
		memcpy(buf, t, k);
		buf[k] = '\0';
		p = vhsw_port_find(sw, buf);
		if (p == NULL) {
			act_fail(e, CTL_ERR_REFUSED,
				"mirror %s: no port named %s (--src)", m->name,
				buf);
			return -1;
		}
		if (has_src(m, p->id)) {
			act_fail(e, CTL_ERR_INVALID_PARAMS,
				"mirror %s: --src names port %s twice", m->name,
				buf);
			return -1;
		}
		m->src[m->n_src++] = p->id;
		if (t[k] == '\0')
			break;
		t += k + 1;
	}
	return 0;
}

/* Whether port 'dst' can receive mirror 'name': 0, or -1 with 'e' set. */
static int
check_dst(struct vhsw *sw, const char *name, const struct port *dst,
	struct act_err *e)
{
	const struct mirror *o = src_of(sw->mirrors, dst->id);
	char mac[RTE_ETHER_ADDR_FMT_SIZE];
	uint32_t n_static;

	if (o != NULL) {
		act_fail(e, CTL_ERR_REFUSED,
			"mirror %s: port %s is a source of mirror %s; a "
			"mirror's destination cannot be a source (no chains "
			"of mirrors)",
			name, dst->name, o->name);
		return -1;
	}
	if (dst->has_mac) {
		port_mac_format(mac, sizeof(mac), &dst->mac);
		act_fail(e, CTL_ERR_REFUSED,
			"mirror %s: port %s has --mac %s, a static FDB entry; "
			"a mirror's destination takes no forwarded frames: use "
			"a port added without --mac",
			name, dst->name, mac);
		return -1;
	}
	n_static = fdb_port_entries(sw->fdb, dst->id) -
		fdb_port_learned(sw->fdb, dst->id);
	if (n_static > 0) {
		act_fail(e, CTL_ERR_REFUSED,
			"mirror %s: port %s has %u static FDB entr%s; a "
			"mirror's destination takes no forwarded frames: "
			"delete them first (vhswctl fdb show %s; vhswctl fdb "
			"del MAC --vlan VID)",
			name, dst->name, n_static, n_static == 1 ? "y" : "ies",
			dst->name);
		return -1;
	}
	return 0;
}

json_t *
act_mirror_add(struct vhsw *sw, json_t *params, struct act_err *e)
{
	const char *name = json_string_value(json_object_get(params, "name"));
	const char *dname = json_string_value(json_object_get(params, "dst"));
	const char *src = json_string_value(json_object_get(params, "src"));
	const char *dir =
		json_string_value(json_object_get(params, "direction"));
	bool touched[VHSW_MAX_PORTS] = {false};
	struct mirror_set *s = sw->mirrors;
	const struct mirror *o;
	struct mirror *m, nm;
	struct port *dst;
	uint16_t i;

	VHSW_ASSERT_CONTROL_THREAD();
	if (!act_name_ok(name))
		return act_fail(e, CTL_ERR_INVALID_PARAMS,
			"invalid mirror name '%s': use 1-%d letters, digits, "
			"'_', '.' or '-'",
			name, VHSW_NAME_MAX - 1);
	if (find(s, name) != NULL)
		return act_fail(e, CTL_ERR_REFUSED,
			"mirror %s exists already (vhswctl mirror del %s "
			"first)",
			name, name);
	memset(&nm, 0, sizeof(nm));
	snprintf(nm.name, sizeof(nm.name), "%s", name);
	nm.dirs = dir_parse(dir);
	if (nm.dirs == 0)
		return act_fail(e, CTL_ERR_INVALID_PARAMS,
			"mirror %s: direction must be rx, tx or both, not "
			"'%s'",
			name, dir);
	dst = vhsw_port_find(sw, dname);
	if (dst == NULL)
		return act_fail(e, CTL_ERR_REFUSED,
			"mirror %s: no port named %s (--dst)", name, dname);
	nm.dst = dst->id;
	if (src_parse(sw, &nm, src, e) != 0)
		return NULL;
	if (has_src(&nm, dst->id))
		return act_fail(e, CTL_ERR_REFUSED,
			"mirror %s: port %s cannot be both a source and the "
			"destination",
			name, dst->name);
	for (i = 0; i < nm.n_src; i++) {
		o = dst_of(s, nm.src[i]);
		if (o != NULL)
			return act_fail(e, CTL_ERR_REFUSED,
				"mirror %s: port %s is the destination of "
				"mirror %s; a destination cannot be a source "
				"(no chains of mirrors)",
				name, sw->ports[nm.src[i]]->name, o->name);
		if (n_src_of(s, nm.src[i]) >= MONITOR_MAX_MIRRORS)
			return act_fail(e, CTL_ERR_REFUSED,
				"mirror %s: port %s is a source of %d mirrors "
				"already (the most one port can have)",
				name, sw->ports[nm.src[i]]->name,
				MONITOR_MAX_MIRRORS);
	}
	if (check_dst(sw, name, dst, e) != 0)
		return NULL;
	if (s != NULL && s->n == MIRROR_MAX)
		return act_fail(e, CTL_ERR_REFUSED,
			"mirror %s: there are %d mirrors already (the most "
			"the switch keeps)",
			name, MIRROR_MAX);
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return act_fail(e, CTL_ERR_REFUSED,
				"mirror %s: out of memory", name);
		sw->mirrors = s;
	}
	m = &s->m[s->n++];
	*m = nm;
	/* The destination leaves forwarding before copies reach it. */
	vhsw_port_set_output_only(sw, dst, true);
	for (i = 0; i < m->n_src; i++)
		touched[m->src[i]] = true;
	update_monitors(sw, touched);
	MLOG(INFO, "%s added: %u source port%s, destination %s, direction %s",
		m->name, m->n_src, m->n_src == 1 ? "" : "s", dst->name,
		dir_names[m->dirs]);
	return mirror_json(sw, m, true);
}

json_t *
act_mirror_del(struct vhsw *sw, json_t *params, struct act_err *e)
{
	const char *name = json_string_value(json_object_get(params, "name"));
	bool touched[VHSW_MAX_PORTS] = {false},
	     was_dst[VHSW_MAX_PORTS] = {false};
	struct mirror *m = find(sw->mirrors, name);
	uint16_t i;

	VHSW_ASSERT_CONTROL_THREAD();
	if (m == NULL)
		return act_fail(e, CTL_ERR_REFUSED, "no mirror named %s", name);
	for (i = 0; i < m->n_src; i++)
		touched[m->src[i]] = true;
	was_dst[m->dst] = true;
	remove_entry(sw->mirrors, m);
	/* No copies to the destination before it forwards again. */
	update_monitors(sw, touched);
	release_dsts(sw, was_dst);
	MLOG(INFO, "%s deleted", name);
	return json_object();
}

json_t *
act_mirror_list(struct vhsw *sw, json_t *params, struct act_err *e)
{
	const struct mirror_set *s = sw->mirrors;
	json_t *a = json_array();
	unsigned int i;

	VHSW_ASSERT_CONTROL_THREAD();
	for (i = 0; s != NULL && i < s->n; i++)
		json_array_append_new(a, mirror_json(sw, &s->m[i], true));
	return a;
}

void
mirror_port_removed(struct vhsw *sw, struct port *p)
{
	bool touched[VHSW_MAX_PORTS] = {false},
	     was_dst[VHSW_MAX_PORTS] = {false};
	struct mirror_set *s = sw->mirrors;
	struct mirror *m;
	unsigned int k;
	uint16_t i;

	VHSW_ASSERT_CONTROL_THREAD();
	for (k = s != NULL ? s->n : 0; k-- > 0;) {
		m = &s->m[k];
		if (m->dst != p->id && !has_src(m, p->id))
			continue;
		for (i = 0; i < m->n_src; i++)
			touched[m->src[i]] = true;
		if (m->dst == p->id || m->n_src == 1) {
			MLOG(INFO,
				"%s deleted: its %s port %s is being removed",
				m->name,
				m->dst == p->id ? "destination" : "last source",
				p->name);
			was_dst[m->dst] = true;
			remove_entry(s, m);
			continue;
		}
		for (i = 0; m->src[i] != p->id; i++)
			;
		memmove(&m->src[i], &m->src[i + 1],
			(size_t)(m->n_src - i - 1) * sizeof(m->src[0]));
		m->n_src--;
		MLOG(INFO, "%s: source port %s removed from it", m->name,
			p->name);
	}
	/* The port itself loses its monitor with it; the others now. */
	touched[p->id] = false;
	was_dst[p->id] = false;
	update_monitors(sw, touched);
	release_dsts(sw, was_dst);
}

json_t *
mirror_dump(const struct vhsw *sw)
{
	const struct mirror_set *s = sw->mirrors;
	json_t *a = json_array();
	unsigned int i;

	for (i = 0; s != NULL && i < s->n; i++)
		json_array_append_new(a, mirror_json(sw, &s->m[i], false));
	return a;
}

void
mirror_fini(struct vhsw *sw)
{
	free(sw->mirrors);
	sw->mirrors = NULL;
}
