/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * metrics.c - Prometheus /metrics on libmicrohttpd in the libev loop (see
 * metrics.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>
#include <rte_common.h>
#include <rte_log.h>
#include <rte_version.h>

#include "metrics.h"
#include "stats.h"
#include "vhsw.h"

RTE_LOG_REGISTER(metrics_logtype, vhsw.metrics, INFO);
#define MLOG(level, fmt, ...)                                                  \
	rte_log(RTE_LOG_##level, metrics_logtype, "vhswd: metrics: " fmt "\n", \
		##__VA_ARGS__)

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct metrics {
	struct vhsw *sw;
	struct MHD_Daemon *mhd;
	ev_io io;       /* MHD's epoll fd */
	ev_timer timer; /* MHD's next timeout */
};

/* Exposition */

/* HELP text: '\' and newline escaped. */
static void
put_help(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			fputs("\\\\", f);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* A label value: '\', '"' and newline escaped. */
static void
put_label(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

/* "# HELP vhsw_<a><b><sfx> help\n# TYPE ... type\n". */
static void
family(FILE *f, const char *a, const char *b, const char *sfx, const char *help,
	const char *type)
{
	fprintf(f, "# HELP vhsw_%s%s%s ", a, b, sfx);
	put_help(f, help);
	fprintf(f, "\n# TYPE vhsw_%s%s%s %s\n", a, b, sfx, type);
}

/* A sample of a family, optionally with {port="NAME"}. */
static void
sample(FILE *f, const char *a, const char *b, const char *sfx, const char *port,
	const char *value)
{
	fprintf(f, "vhsw_%s%s%s", a, b, sfx);
	if (port != NULL) {
		fputs("{port=\"", f);
		put_label(f, port);
		fputs("\"}", f);
	}
	fprintf(f, " %s\n", value);
}

/* A JSON number as a sample value, or NULL if it is none. */
static const char *
num(const json_t *v, char *buf, size_t len)
{
	if (json_is_integer(v))
		snprintf(buf, len, "%" JSON_INTEGER_FORMAT,
			json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.17g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%d", json_is_true(v) ? 1 : 0);
	else
		return NULL;
	return buf;
}

/* True if 'name' ends in "_us"; 'out' is the name without it. */
static bool
gauge_us(const char *name, char *out, size_t len)
{
	size_t n = strlen(name);

	if (n < 4 || strcmp(name + n - 3, "_us") != 0 || n - 3 >= len)
		return false;
	memcpy(out, name, n - 3);
	out[n - 3] = '\0';
	return true;
}

/*
 * Group 'g' of the `stats` reply ('o'): its numeric gauges as gauges
 * (microseconds as vhsw_<group>_<name>_seconds), its text gauges as
 * vhsw_<group>_<name>_info{<name>="value"} 1, its counters as
 * vhsw_<group>_<name>_total.
 */
static void
write_group(FILE *f, const struct stats_group *g, const json_t *o)
{
	char pfx[64], buf[64], name[64];
	const char *v;
	json_t *j;
	size_t i;

	snprintf(pfx, sizeof(pfx), "%s_", g->name);
	for (i = 0; i < g->n_gauges; i++) {
		j = json_object_get(o, g->gauges[i].name);
		if (json_is_string(j)) {
			family(f, pfx, g->gauges[i].name, "_info",
				g->gauges[i].desc, "gauge");
			fprintf(f, "vhsw_%s%s_info{%s=\"", pfx,
				g->gauges[i].name, g->gauges[i].name);
			put_label(f, json_string_value(j));
			fputs("\"} 1\n", f);
		} else if (gauge_us(g->gauges[i].name, name, sizeof(name)) &&
			json_is_integer(j)) {
			/* Prometheus wants base units: "_us" as seconds. */
			snprintf(buf, sizeof(buf), "%.6f",
				(double)json_integer_value(j) / 1e6);
			family(f, pfx, name, "_seconds", g->gauges[i].desc,
				"gauge");
			sample(f, pfx, name, "_seconds", NULL, buf);
		} else if ((v = num(j, buf, sizeof(buf))) != NULL) {
			family(f, pfx, g->gauges[i].name, "", g->gauges[i].desc,
				"gauge");
			sample(f, pfx, g->gauges[i].name, "", NULL, v);
		}
	}
	for (i = 0; i < g->n_counters; i++) {
		family(f, pfx, g->counters[i].name, "_total",
			g->counters[i].desc, "counter");
		v = num(json_object_get(o, g->counters[i].name), buf,
			sizeof(buf));
		sample(f, pfx, g->counters[i].name, "_total", NULL,
			v != NULL ? v : "0");
	}
}

/* Per-port gauges: X(name, help). */
#define PORT_GAUGES(X)                                                        \
	X(up, "1 if the port's peer is connected and its queues usable")      \
	X(admin_up, "1 unless the port was set down (port set --admin down)") \
	X(mtu, "largest L3 payload sent to the peer, bytes")                  \
	X(vlan, "the port's access VLAN; 0: trunk")                           \
	X(fdb_entries, "FDB entries (learned and static) on the port")

static uint64_t
port_gauge(struct vhsw *sw, const struct port *p, int i)
{
	switch (i) {
	case 0:
		return port_is_ready(p);
	case 1:
		return !p->admin_down;
	case 2:
		return p->mtu;
	case 3:
		return p->vlan;
	default:
		return fdb_port_entries(sw->fdb, p->id);
	}
}

/* Descriptions of librte_vhost's per-vring counters we know. */
static const char *
queue_help(const char *name)
{
	static const struct counter_desc known[] = {
		{"good_packets", "frames through the queue"},
		{"good_bytes", "bytes through the queue"},
		{"multicast_packets", "multicast frames through the queue"},
		{"broadcast_packets", "broadcast frames through the queue"},
		{"undersize_packets", "frames shorter than 64 bytes"},
		{"iotlb_hits", "IOTLB cache hits (vIOMMU)"},
		{"iotlb_misses", "IOTLB cache misses (vIOMMU)"},
		{"inflight_submitted", "asynchronous copies submitted"},
		{"inflight_completed", "asynchronous copies completed"},
	};
	size_t i;

	for (i = 0; i < RTE_DIM(known); i++)
		if (strcmp(name, known[i].name) == 0)
			return known[i].desc;
	if (strncmp(name, "size_", 5) == 0)
		return "frames of this size range through the queue";
	return "librte_vhost per-queue counter";
}

/* The per-queue counters of every port with them, one family each. */
static void
write_queues(FILE *f, struct vhsw *sw)
{
	json_t *qs[VHSW_MAX_PORTS] = {NULL}, *names = json_object(), *q, *v;
	const char *name, *dir;
	char buf[64], help[160];
	size_t i, k;
	int p;

	for (p = 0; p < VHSW_MAX_PORTS; p++)
		if (sw->ports[p] != NULL && sw->ports[p]->cls->queue_stats)
			qs[p] = sw->ports[p]->cls->queue_stats(sw->ports[p]);
	/* Every counter name in first-seen order. */
	for (p = 0; p < VHSW_MAX_PORTS; p++)
		json_array_foreach(qs[p], i, q) json_object_foreach(q, name, v)
		{
			if (json_is_integer(v) && strcmp(name, "vring") != 0 &&
				strcmp(name, "queue") != 0)
				json_object_set_new(names, name, json_true());
		}
	json_object_foreach(names, name, v)
	{
		snprintf(help, sizeof(help), "%s (librte_vhost, --queue-stats)",
			queue_help(name));
		family(f, "port_queue_", name, "_total", help, "counter");
		for (p = 0; p < VHSW_MAX_PORTS; p++)
			json_array_foreach(qs[p], k, q)
			{
				if (num(json_object_get(q, name), buf,
					    sizeof(buf)) == NULL)
					continue;
				dir = json_string_value(
					json_object_get(q, "direction"));
				fprintf(f, "vhsw_port_queue_%s_total{port=\"",
					name);
				put_label(f, sw->ports[p]->name);
				fprintf(f,
					"\",queue=\"%" JSON_INTEGER_FORMAT
					"\",direction=\"%s\"} %s\n",
					json_integer_value(
						json_object_get(q, "queue")),
					dir != NULL ? dir : "", buf);
			}
	}
	json_decref(names);
	for (p = 0; p < VHSW_MAX_PORTS; p++)
		json_decref(qs[p]);
}

/* The data-plane threads' counters, and each receive queue's load. */
static void
write_threads(FILE *f, struct vhsw *sw)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} tc[] = {
		{"packets", "frames the data-plane thread received",
			offsetof(struct dp_stats, packets)},
		{"busy_cycles",
			"TSC cycles of the thread's loop iterations that "
			"moved frames",
			offsetof(struct dp_stats, busy_cycles)},
		{"idle_cycles",
			"TSC cycles of the thread's loop iterations that "
			"moved none",
			offsetof(struct dp_stats, idle_cycles)},
		{"sleeps", "times the thread slept waiting for work",
			offsetof(struct dp_stats, sleeps)},
	};
	const struct dp *dp = sw->dp;
	const struct dp_rxq *rq;
	const struct port *p;
	struct dp_stats st;
	uint16_t t, k, n;
	size_t i;

	for (i = 0; i < RTE_DIM(tc); i++) {
		family(f, "dataplane_thread_", tc[i].name, "_total", tc[i].help,
			"counter");
		for (t = 0; t < dp->n_threads; t++) {
			dp_get_thread_stats(dp, t, &st);
			fprintf(f,
				"vhsw_dataplane_thread_%s_total{thread=\"%u\","
				"cpu=\"%d\"} %" PRIu64 "\n",
				tc[i].name, t, dp->threads[t]->cpu,
				*(const uint64_t *)((const char *)&st +
					tc[i].off));
		}
	}
	for (i = 0; i < 2; i++) {
		family(f, "port_rxq_", i ? "cycles" : "packets", "_total",
			i ? "TSC cycles the data plane spent receiving and "
			    "forwarding the receive queue's frames"
			  : "frames received on the receive queue",
			"counter");
		for (t = 0; t < dp->n_threads; t++) {
			rq = dp_thread_rxqs(dp, t, &n);
			for (k = 0; k < n; k++) {
				p = sw->ports[rq[k].port];
				if (p == NULL)
					continue;
				fputs(i ? "vhsw_port_rxq_cycles_total{port=\""
					: "vhsw_port_rxq_packets_total{port=\"",
					f);
				put_label(f, p->name);
				fprintf(f,
					"\",queue=\"%u\",thread=\"%u\"} "
					"%" PRIu64 "\n",
					rq[k].queue, t,
					__atomic_load_n(
						i ? &p->rxq_load[rq[k].queue]
								.cycles
						  : &p->rxq_load[rq[k].queue]
								.packets,
						__ATOMIC_RELAXED));
			}
		}
	}
}

int
metrics_write(struct vhsw *sw, FILE *f)
{
	static const struct counter_desc gauges[] = {
#define G(n, h) {#n, h},
		PORT_GAUGES(G)
#undef G
	};
	const struct stats_group *pg = &stats_groups[STATS_PORTS];
	json_t *s = stats_json(sw, NULL), *ports, *o;
	char buf[64];
	const char *v;
	size_t i;
	int p;

	family(f, "build_", "info", "",
		"the running vhswd's version and DPDK's, as labels", "gauge");
	fprintf(f, "vhsw_build_info{version=\"%s\",dpdk=\"", VHSW_VERSION);
	put_label(f, rte_version());
	fputs("\"} 1\n", f);

	ports = json_object_get(s, pg->name);
	for (i = 0; i < RTE_DIM(gauges); i++) {
		family(f, "port_", gauges[i].name, "", gauges[i].desc, "gauge");
		for (p = 0; p < VHSW_MAX_PORTS; p++) {
			if (sw->ports[p] == NULL)
				continue;
			snprintf(buf, sizeof(buf), "%" PRIu64,
				port_gauge(sw, sw->ports[p], (int)i));
			sample(f, "port_", gauges[i].name, "",
				sw->ports[p]->name, buf);
		}
	}
	for (i = 0; i < pg->n_counters; i++) {
		family(f, "port_", pg->counters[i].name, "_total",
			pg->counters[i].desc, "counter");
		for (p = 0; p < VHSW_MAX_PORTS; p++) {
			if (sw->ports[p] == NULL)
				continue;
			o = json_object_get(ports, sw->ports[p]->name);
			v = num(json_object_get(o, pg->counters[i].name), buf,
				sizeof(buf));
			sample(f, "port_", pg->counters[i].name, "_total",
				sw->ports[p]->name, v != NULL ? v : "0");
		}
	}
	write_queues(f, sw);
	write_threads(f, sw);
	for (i = STATS_PORTS + 1; i < STATS_GROUP_COUNT; i++) {
		o = json_object_get(s, stats_groups[i].name);
		if (o != NULL)
			write_group(f, &stats_groups[i], o);
	}
	json_decref(s);
	return ferror(f) ? -1 : 0;
}

/* HTTP */

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned int status, char *body, size_t len,
	const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
reply_text(struct MHD_Connection *c, unsigned int status, const char *text)
{
	char *body = strdup(text);

	if (body == NULL)
		return MHD_NO;
	return reply(c, status, body, strlen(body), "text/plain");
}

/*
 * One request, answered at once on its first call: no request body is
 * read (MHD closes a connection whose body was left unread).
 */
static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
	const char *version, const char *upload_data, size_t *upload_data_size,
	void **con_cls)
{
	struct metrics *m = cls;
	char *body = NULL;
	size_t len = 0;
	FILE *f;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
		strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_text(
			c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (strcmp(url, "/metrics") != 0)
		return reply_text(c, MHD_HTTP_NOT_FOUND,
			"not found: the metrics are at /metrics\n");
	f = open_memstream(&body, &len);
	if (f == NULL)
		return MHD_NO;
	if (metrics_write(m->sw, f) != 0) {
		fclose(f);
		free(body);
		return reply_text(
			c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	fclose(f);
	return reply(c, MHD_HTTP_OK, body, len, CONTENT_TYPE);
}

/* Runs MHD and arms the timer for its next deadline. */
static void
pump(struct metrics *m)
{
	MHD_UNSIGNED_LONG_LONG ms;

	MHD_run(m->mhd);
	ev_timer_stop(m->sw->loop, &m->timer);
	if (MHD_get_timeout(m->mhd, &ms) == MHD_YES) {
		ev_timer_set(&m->timer, (double)ms / 1000.0, 0.);
		ev_timer_start(m->sw->loop, &m->timer);
	}
}

static void
io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	(void)loop;
	(void)revents;
	pump((struct metrics *)((char *)w - offsetof(struct metrics, io)));
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	pump((struct metrics *)((char *)w - offsetof(struct metrics, timer)));
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	MLOG(DEBUG, "%s", buf);
}

int
metrics_parse_listen(const char *s, struct sockaddr_storage *sa,
	socklen_t *salen, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	char host[256];
	const char *port, *end;
	unsigned long pn;
	char *pe;
	int rc;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL || end[1] != ':')
			goto bad;
		port = end + 2;
		s++;
		hints.ai_family = AF_INET6;
		hints.ai_flags = AI_NUMERICHOST;
	} else {
		end = strrchr(s, ':');
		if (end == NULL || memchr(s, ':', (size_t)(end - s)) != NULL)
			goto bad;
		port = end + 1;
	}
	if (end == s || (size_t)(end - s) >= sizeof(host))
		goto bad;
	memcpy(host, s, (size_t)(end - s));
	host[end - s] = '\0';
	errno = 0;
	pn = strtoul(port, &pe, 10);
	if (port[0] < '0' || port[0] > '9' || *pe != '\0' || pn < 1 ||
		pn > 65535 || errno != 0)
		goto bad;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0 || res == NULL) {
		snprintf(err, errlen,
			"--metrics-listen: cannot resolve '%s': %s; give an "
			"IPv4 address, [IPv6] or a local host name",
			host, rc != 0 ? gai_strerror(rc) : "no address");
		return -1;
	}
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	*salen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
bad:
	snprintf(err, errlen,
		"--metrics-listen: give ADDR:PORT, like 127.0.0.1:9100, "
		"[::1]:9100 or localhost:9100 (PORT 1-65535)");
	return -1;
}

/* A listening TCP socket on 'sa', or -1 with a message in 'err'. */
static int
listen_on(const char *what, const struct sockaddr_storage *sa, socklen_t salen,
	char *err, size_t errlen)
{
	int fd, one = 1;

	fd = socket(
		sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)sa, salen) != 0 ||
		listen(fd, METRICS_MAX_CONNS) != 0)
		goto fail;
	return fd;
fail:
	snprintf(err, errlen, "--metrics-listen %s: cannot listen: %s%s", what,
		strerror(errno),
		errno == EADDRINUSE ? " (another program has the port; pick "
				      "another)"
				    : "");
	if (fd >= 0)
		close(fd);
	return -1;
}

struct metrics *
metrics_start(struct vhsw *sw, const char *listen, char *err, size_t errlen)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage sa;
	struct metrics *m;
	socklen_t salen;
	int fd;

	if (metrics_parse_listen(listen, &sa, &salen, err, errlen) != 0)
		return NULL;
	fd = listen_on(listen, &sa, salen, err, errlen);
	if (fd < 0)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		close(fd);
		snprintf(err, errlen, "--metrics-listen: out of memory");
		return NULL;
	}
	m->sw = sw;
	m->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL,
		NULL, handle, m, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)METRICS_MAX_CONNS,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned int)METRICS_MAX_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)METRICS_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)METRICS_MEMORY_LIMIT, MHD_OPTION_EXTERNAL_LOGGER,
		mhd_log, NULL, MHD_OPTION_END);
	if (m->mhd == NULL) {
		close(fd);
		free(m);
		snprintf(err, errlen,
			"--metrics-listen %s: libmicrohttpd did not start",
			listen);
		return NULL;
	}
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (info == NULL) {
		metrics_stop(m);
		snprintf(err, errlen,
			"--metrics-listen %s: libmicrohttpd has no epoll fd",
			listen);
		return NULL;
	}
	ev_io_init(&m->io, io_cb, info->epoll_fd, EV_READ);
	ev_io_start(sw->loop, &m->io);
	ev_init(&m->timer, timer_cb);
	pump(m);
	MLOG(INFO, "serving /metrics on %s", listen);
	return m;
}

void
metrics_stop(struct metrics *m)
{
	if (m == NULL)
		return;
	ev_io_stop(m->sw->loop, &m->io);
	ev_timer_stop(m->sw->loop, &m->timer);
	MHD_stop_daemon(m->mhd); /* closes the listening socket too */
	free(m);
}
