/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vlog.c - rate limits of event lines and run-time log levels (vlog.h).
 *
 * A bucket holds up to burst * interval nanoseconds of credit; a line costs
 * one interval.  The buckets that ever suppressed a line are on one list,
 * so that the tick can write their notes once their flood is over.
 *
 * DPDK 22.11 has no call that lists log types with their ids; rte_log_dump
 * prints "id N: NAME, level is LEVEL" for each, which vlog_foreach reads
 * back from a memory stream.
 */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <rte_log.h>

#include "vlog.h"

static pthread_mutex_t vlog_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vlog_rl *vlog_list; /* buckets that suppressed a line */

uint64_t
vlog_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t
interval_ns(const struct vlog_rl *rl)
{
	return (uint64_t)(rl->interval_ms ? rl->interval_ms : 1) * 1000000ULL;
}

/* Refills the bucket up to 'now'.  Caller holds vlog_lock. */
static void
refill__(struct vlog_rl *rl, uint64_t now)
{
	uint64_t cap = (uint64_t)(rl->burst ? rl->burst : 1) * interval_ns(rl);

	if (rl->last_ns == 0 || now < rl->last_ns) {
		rl->tokens_ns = rl->last_ns == 0 ? cap : rl->tokens_ns;
		rl->last_ns = now;
		return;
	}
	rl->tokens_ns += now - rl->last_ns;
	if (rl->tokens_ns > cap)
		rl->tokens_ns = cap;
	rl->last_ns = now;
}

/* Caller holds vlog_lock. */
static void
count__(struct vlog_rl *rl, uint64_t now, uint32_t n)
{
	if (rl->suppressed == 0)
		rl->since_ns = now;
	rl->suppressed += n;
	if (!rl->registered) {
		rl->registered = true;
		rl->next = vlog_list;
		vlog_list = rl;
	}
}

/* Caller holds vlog_lock. */
static bool
take__(struct vlog_rl *rl, uint64_t now, uint32_t *suppressed)
{
	refill__(rl, now);
	if (rl->tokens_ns < interval_ns(rl)) {
		count__(rl, now, 1);
		return false;
	}
	rl->tokens_ns -= interval_ns(rl);
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return true;
}

bool
vlog_rl_take(struct vlog_rl *rl, uint64_t now_ns, uint32_t *suppressed)
{
	bool ok;

	pthread_mutex_lock(&vlog_lock);
	ok = take__(rl, now_ns, suppressed);
	pthread_mutex_unlock(&vlog_lock);
	return ok;
}

/* The note of 'n' suppressed lines, the last 'last', over 'secs'. */
static void
format_note(char *buf, size_t len, const char *prefix, uint32_t n,
	uint64_t secs, const char *last)
{
	snprintf(buf, len,
		"%s%u line%s suppressed by the rate limit in the last %" PRIu64
		" s%s%s%s\n",
		prefix, n, n == 1 ? "" : "s", secs ? secs : 1,
		last[0] ? " (the last: " : "", last, last[0] ? ")" : "");
}

static void
note(int logtype, uint32_t level, const char *prefix, uint32_t n, uint64_t secs,
	const char *last)
{
	char buf[VLOG_LINE_MAX + 160];

	format_note(buf, sizeof(buf), prefix, n, secs, last);
	rte_log(level, (uint32_t)logtype, "%s", buf);
}

bool
vlog_rl_admit(struct vlog_rl *rl, int logtype, uint32_t level,
	const char *prefix, const char *line, size_t len, char *notebuf,
	size_t notelen)
{
	char last[VLOG_LINE_MAX];
	uint32_t suppressed = 0;
	uint64_t now = vlog_now_ns(), since;
	bool ok;

	if (notelen > 0)
		notebuf[0] = '\0';
	while (len > 0 && line[len - 1] == '\n')
		len--;
	pthread_mutex_lock(&vlog_lock);
	rl->logtype = logtype;
	rl->level = level;
	rl->prefix = prefix;
	ok = take__(rl, now, &suppressed);
	if (!ok)
		snprintf(rl->last, sizeof(rl->last), "%.*s", (int)len, line);
	memcpy(last, rl->last, sizeof(last));
	since = rl->since_ns;
	pthread_mutex_unlock(&vlog_lock);
	if (ok && suppressed != 0 && notelen > 0)
		format_note(notebuf, notelen, prefix, suppressed,
			(now - since + 999999999ULL) / 1000000000ULL, last);
	return ok;
}

void
vlog_rl_log(struct vlog_rl *rl, int logtype, uint32_t level, const char *prefix,
	const char *fmt, ...)
{
	char line[VLOG_LINE_MAX], last[VLOG_LINE_MAX] = "";
	uint64_t now, since = 0;
	uint32_t suppressed = 0;
	va_list ap;
	bool ok;

	if (logtype < 0 || !rte_log_can_log((uint32_t)logtype, level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	now = vlog_now_ns();
	pthread_mutex_lock(&vlog_lock);
	rl->logtype = logtype;
	rl->level = level;
	rl->prefix = prefix;
	ok = take__(rl, now, &suppressed);
	if (!ok) {
		memcpy(rl->last, line, sizeof(rl->last));
	} else if (suppressed != 0) {
		memcpy(last, rl->last, sizeof(last));
		since = rl->since_ns;
	}
	pthread_mutex_unlock(&vlog_lock);
	if (!ok)
		return;
	if (suppressed != 0)
		note(logtype, level, prefix, suppressed,
			(now - since + 999999999ULL) / 1000000000ULL, last);
	rte_log(level, (uint32_t)logtype, "%s%s\n", prefix, line);
}

void
vlog_rl_add_suppressed(struct vlog_rl *rl, int logtype, uint32_t level,
	const char *prefix, uint32_t n, const char *last)
{
	uint64_t now = vlog_now_ns();

	if (n == 0 || logtype < 0 || !rte_log_can_log((uint32_t)logtype, level))
		return;
	pthread_mutex_lock(&vlog_lock);
	rl->logtype = logtype;
	rl->level = level;
	rl->prefix = prefix;
	refill__(rl, now);
	count__(rl, now, n);
	if (last != NULL)
		snprintf(rl->last, sizeof(rl->last), "%s", last);
	pthread_mutex_unlock(&vlog_lock);
}

void
vlog_rl_fini(struct vlog_rl *rl)
{
	struct vlog_rl **pp;

	pthread_mutex_lock(&vlog_lock);
	for (pp = &vlog_list; *pp != NULL; pp = &(*pp)->next)
		if (*pp == rl) {
			*pp = rl->next;
			break;
		}
	rl->registered = false;
	rl->suppressed = 0;
	pthread_mutex_unlock(&vlog_lock);
}

void
vlog_flush_at(uint64_t now)
{
	struct vlog_rl *rl;

	for (;;) {
		char last[VLOG_LINE_MAX];
		uint32_t n = 0, level = 0;
		const char *prefix = "";
		uint64_t since = 0;
		int logtype = -1;

		/* One note per pass: rte_log runs without the lock. */
		pthread_mutex_lock(&vlog_lock);
		for (rl = vlog_list; rl != NULL; rl = rl->next) {
			if (rl->suppressed == 0)
				continue;
			refill__(rl, now);
			if (rl->tokens_ns < interval_ns(rl))
				continue;
			rl->tokens_ns -= interval_ns(rl);
			n = rl->suppressed;
			since = rl->since_ns;
			rl->suppressed = 0;
			logtype = rl->logtype;
			level = rl->level;
			prefix = rl->prefix ? rl->prefix : "";
			memcpy(last, rl->last, sizeof(last));
			break;
		}
		pthread_mutex_unlock(&vlog_lock);
		if (n == 0)
			return;
		note(logtype, level, prefix, n,
			(now - since + 999999999ULL) / 1000000000ULL, last);
	}
}

void
vlog_flush(void)
{
	vlog_flush_at(vlog_now_ns());
}

/* Levels */

static const char *const level_names[] = {
	[RTE_LOG_EMERG] = "emerg",
	[RTE_LOG_ALERT] = "alert",
	[RTE_LOG_CRIT] = "crit",
	[RTE_LOG_ERR] = "err",
	[RTE_LOG_WARNING] = "warning",
	[RTE_LOG_NOTICE] = "notice",
	[RTE_LOG_INFO] = "info",
	[RTE_LOG_DEBUG] = "debug",
};

/* Other spellings people use (syslog's, DPDK's). */
static const struct {
	const char *name;
	int level;
} level_aliases[] = {
	{"emergency", RTE_LOG_EMERG},
	{"critical", RTE_LOG_CRIT},
	{"error", RTE_LOG_ERR},
	{"warn", RTE_LOG_WARNING},
};

int
vlog_level_parse(const char *name)
{
	char *end;
	long n;
	size_t i;

	if (name == NULL || name[0] == '\0')
		return -1;
	for (i = RTE_LOG_EMERG; i <= RTE_LOG_DEBUG; i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return (int)i;
	for (i = 0; i < RTE_DIM(level_aliases); i++)
		if (strcasecmp(name, level_aliases[i].name) == 0)
			return level_aliases[i].level;
	n = strtol(name, &end, 10);
	if (*end == '\0' && n >= RTE_LOG_EMERG && n <= RTE_LOG_DEBUG)
		return (int)n;
	return -1;
}

const char *
vlog_level_name(uint32_t level)
{
	if (level < RTE_LOG_EMERG || level > RTE_LOG_DEBUG)
		return "off";
	return level_names[level];
}

/* Modules */

struct logtype {
	unsigned int id;
	char name[128];
};

/* Reads every registered type from rte_log_dump.  Count, or -ENOMEM. */
static int
read_types(struct logtype **out)
{
	struct logtype *t = NULL, *nt;
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	int n = 0, cap = 0;
	unsigned int id;
	char name[128];
	FILE *f;

	f = open_memstream(&buf, &len);
	if (f == NULL)
		return -ENOMEM;
	rte_log_dump(f);
	fclose(f);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
		line = strtok_r(NULL, "\n", &save)) {
		if (sscanf(line, "id %u: %127[^,], level is", &id, name) != 2)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			nt = realloc(t, (size_t)cap * sizeof(*t));
			if (nt == NULL) {
				free(t);
				free(buf);
				return -ENOMEM;
			}
			t = nt;
		}
		t[n].id = id;
		snprintf(t[n].name, sizeof(t[n].name), "%s", name);
		n++;
	}
	free(buf);
	*out = t;
	return n;
}

static bool
is_vhsw(const char *name)
{
	return strncmp(name, "vhsw.", 5) == 0;
}

/* True if 'module' (as `log set` takes it) names type 'name'. */
static bool
names(const char *module, const char *name)
{
	char full[160];

	if (strcmp(module, "all") == 0)
		return is_vhsw(name);
	snprintf(full, sizeof(full), "vhsw.%s", module);
	if (strpbrk(module, "*?[") != NULL)
		return fnmatch(module, name, 0) == 0 ||
			fnmatch(full, name, 0) == 0;
	return strcmp(module, name) == 0 || strcmp(full, name) == 0;
}

int
vlog_set_level(const char *module, const char *level, char *err, size_t len)
{
	struct logtype *t = NULL;
	int lv = vlog_level_parse(level), n, i, hits = 0;
	size_t used;

	if (lv < 0) {
		snprintf(err, len,
			"unknown log level '%s': use one of " VLOG_LEVELS,
			level ? level : "");
		return -EINVAL;
	}
	if (module == NULL || module[0] == '\0')
		module = "?";
	n = read_types(&t);
	if (n < 0) {
		snprintf(err, len, "out of memory");
		return n;
	}
	for (i = 0; i < n; i++)
		if (names(module, t[i].name) &&
			rte_log_set_level(t[i].id, (uint32_t)lv) == 0)
			hits++;
	if (hits == 0) {
		used = (size_t)snprintf(err, len,
			"unknown log module '%s': use all, one of", module);
		for (i = 0; i < n && used < len; i++)
			if (is_vhsw(t[i].name))
				used += (size_t)snprintf(err + used, len - used,
					" %s", t[i].name + 5);
		if (used < len)
			snprintf(err + used, len - used,
				", or a DPDK log type by its full name or "
				"a pattern (vhswctl log show --dpdk lists "
				"them)");
		free(t);
		return -EINVAL;
	}
	free(t);
	return hits;
}

int
vlog_foreach(bool dpdk, void (*fn)(const char *name, uint32_t level, void *arg),
	void *arg)
{
	struct logtype *t = NULL;
	int n = read_types(&t), i, lv;

	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		if (!dpdk && !is_vhsw(t[i].name))
			continue;
		lv = rte_log_get_level(t[i].id);
		fn(t[i].name, lv < 0 ? 0 : (uint32_t)lv, arg);
	}
	free(t);
	return 0;
}
