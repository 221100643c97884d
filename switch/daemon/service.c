/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * service.c - vhswd as a service (see service.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>
#include <rte_eal.h>
#include <rte_log.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "dp.h"
#include "service.h"

RTE_LOG_REGISTER(service_logtype, vhsw.service, INFO);
#define SLOG(level, fmt, ...)                                         \
	rte_log(RTE_LOG_##level, service_logtype, "vhswd: " fmt "\n", \
		##__VA_ARGS__)

/* Notifications */

void
service_ready(const char *ctl)
{
	sd_notifyf(0, "READY=1\nSTATUS=running, control socket %s\nMAINPID=%d",
		ctl, (int)getpid());
}

void
service_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=shutting down");
}

/* Watchdog: the control thread's libev timer. */

static struct {
	ev_timer timer;
	struct ev_loop *loop;
	struct dp *dp;
	/* Per data-plane thread: iterations at its last progress, when. */
	uint64_t last_iter[VHSW_MAX_DP_THREADS];
	ev_tstamp last_progress[VHSW_MAX_DP_THREADS];
	ev_tstamp stuck_after; /* seconds without progress */
	bool active, stuck;
} wd;

/* The first data-plane thread without progress for stuck_after, or -1. */
static int
stuck_thread(ev_tstamp now)
{
	struct dp_stats st;
	uint16_t i;

	for (i = 0; i < wd.dp->n_threads; i++) {
		dp_get_thread_stats(wd.dp, i, &st);
		if (st.iterations != wd.last_iter[i]) {
			wd.last_iter[i] = st.iterations;
			wd.last_progress[i] = now;
		}
	}
	for (i = 0; i < wd.dp->n_threads; i++)
		if (now - wd.last_progress[i] >= wd.stuck_after)
			return i;
	return -1;
}

static void
watchdog_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_tstamp now = ev_now(loop);
	int i = stuck_thread(now);
	const struct dp_thread *t;

	if (i < 0 && wd.stuck) {
		SLOG(NOTICE,
			"watchdog: the data plane makes progress "
			"again; pinging systemd again");
		wd.stuck = false;
	}
	if (i >= 0) {
		t = wd.dp->threads[i];
		if (!wd.stuck)
			SLOG(ERR,
				"watchdog: the data plane (data-plane thread "
				"%d, CPU %d, lcore %u, thread %d) made no "
				"progress for %.1f s; no more WATCHDOG=1, "
				"systemd will restart vhswd",
				i, t->cpu, t->lcore,
				__atomic_load_n(&t->tid, __ATOMIC_RELAXED),
				now - wd.last_progress[i]);
		wd.stuck = true;
		return;
	}
	sd_notify(0, "WATCHDOG=1");
}

void
service_watchdog_start(struct ev_loop *loop, struct dp *dp)
{
	uint64_t usec = 0;
	double period;
	int i;

	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	period = (double)usec / 2e6;
	ev_now_update(loop); /* the loop has not run yet */
	wd.loop = loop;
	wd.dp = dp;
	memset(wd.last_iter, 0, sizeof(wd.last_iter));
	for (i = 0; i < VHSW_MAX_DP_THREADS; i++)
		wd.last_progress[i] = ev_now(loop);
	(void)stuck_thread(ev_now(loop)); /* the iterations so far */
	wd.stuck_after = period > SERVICE_DP_STUCK_MIN_MS / 1e3
		? period
		: SERVICE_DP_STUCK_MIN_MS / 1e3;
	wd.stuck = false;
	ev_timer_init(&wd.timer, watchdog_cb, 0., period);
	ev_timer_start(loop, &wd.timer);
	wd.active = true;
	SLOG(INFO,
		"watchdog: pinging systemd every %.3f s while the data plane "
		"makes progress (stuck after %.1f s)",
		period, wd.stuck_after);
}

void
service_watchdog_stop(void)
{
	if (!wd.active)
		return;
	ev_timer_stop(wd.loop, &wd.timer);
	wd.active = false;
}

/* The --state-dir lock */

int
service_lock_state_dir(const char *dir, char *err, size_t len)
{
	static int lock_fd = -1; /* held until exit */
	char path[PATH_MAX], pid[32] = "";
	ssize_t n;
	int fd, ret;

	if (lock_fd >= 0) {
		close(lock_fd);
		lock_fd = -1;
	}
	if (snprintf(path, sizeof(path), "%s/%s", dir, SERVICE_LOCK_FILE) >=
		(int)sizeof(path)) {
		snprintf(err, len, "--state-dir %s: path too long", dir);
		return -ENAMETOOLONG;
	}
	/* As the state file's code does: the directory, not its parents. */
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		ret = -errno;
		snprintf(err, len,
			"cannot create the state directory %s: %s (create its "
			"parent, or choose another --state-dir)",
			dir, strerror(errno));
		return ret;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, len,
			"cannot open %s: %s (run as root or give a writable "
			"--state-dir)",
			path, strerror(errno));
		return ret;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ret = -errno;
		if (ret == -EWOULDBLOCK) {
			char who[48] = "";

			n = pread(fd, pid, sizeof(pid) - 1, 0);
			pid[n > 0 ? n : 0] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			if (pid[0] != '\0')
				snprintf(who, sizeof(who), " (PID %s)", pid);
			snprintf(err, len,
				"--state-dir %s is in use by another vhswd%s, "
				"which holds the lock %s; stop it or give "
				"another --state-dir",
				dir, who, path);
		} else {
			snprintf(err, len, "cannot lock %s: %s", path,
				strerror(-ret));
		}
		close(fd);
		return ret;
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		/* The lock holds anyway; only the message would lack the PID. */
	}
	lock_fd = fd;
	return 0;
}

/* DPDK runtime directories */

bool
service_pid_is_vhswd(pid_t pid)
{
	char path[64], buf[4096];
	ssize_t n, i;
	int fd;

	if (pid <= 0)
		return false;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT && errno != ESRCH; /* can't tell: live */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if (strcmp(buf, "vhswd\n") == 0)
		return true;
	/* Under a wrapper (valgrind, gdb): any argument naming vhswd. */
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	for (i = 0; i < n; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[n > 0 ? n : 0] = '\0';
	return strstr(buf, "vhswd") != NULL;
}

/* Removes the files in 'dir' (no subdirectories) and 'dir'. */
static int
remove_dir(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
			strcmp(de->d_name, "..") == 0)
			continue;
		unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
	return rmdir(dir) == 0 ? 0 : -errno;
}

int
service_clean_runtime_dirs_in(const char *root, const char *self)
{
	char path[PATH_MAX], tail;
	struct dirent *de;
	int pid, removed = 0;
	DIR *d = opendir(root);

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (sscanf(de->d_name, "vhsw-%d%c", &pid, &tail) != 1 ||
			pid <= 0 ||
			(self != NULL && strcmp(de->d_name, self) == 0))
			continue;
		if (service_pid_is_vhswd((pid_t)pid))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", root, de->d_name) >=
			(int)sizeof(path))
			continue;
		if (remove_dir(path) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}

static char own_runtime_dir[PATH_MAX];

static void
remove_own_runtime_dir(void)
{
	if (own_runtime_dir[0] != '\0')
		remove_dir(own_runtime_dir);
}

int
service_clean_runtime_dirs(void)
{
	const char *rd = rte_eal_get_runtime_dir();
	char root[PATH_MAX], *slash;
	int n;

	if (rd == NULL || rd[0] == '\0' ||
		snprintf(root, sizeof(root), "%s", rd) >= (int)sizeof(root))
		return 0;
	slash = strrchr(root, '/');
	if (slash == NULL || slash == root)
		return 0;
	*slash = '\0';
	if (own_runtime_dir[0] == '\0') {
		snprintf(own_runtime_dir, sizeof(own_runtime_dir), "%s", rd);
		atexit(remove_own_runtime_dir);
	}
	n = service_clean_runtime_dirs_in(root, slash + 1);
	if (n > 0)
		SLOG(NOTICE,
			"removed %d runtime director%s of vhswd processes "
			"that are gone from %s",
			n, n == 1 ? "y" : "ies", root);
	return n;
}

/* Log records */

static bool log_journal;
static bool log_line_start = true; /* stderr: the next byte starts a line */

bool
service_journal_stream_matches(const char *env, dev_t dev, ino_t ino)
{
	unsigned long long d, i;
	int end = 0;

	if (env == NULL || sscanf(env, "%llu:%llu%n", &d, &i, &end) != 2 ||
		env[end] != '\0')
		return false;
	return (dev_t)d == dev && (ino_t)i == ino;
}

void
service_log_open(void)
{
	struct stat st;

	log_journal = fstat(STDERR_FILENO, &st) == 0 &&
		service_journal_stream_matches(
			getenv("JOURNAL_STREAM"), st.st_dev, st.st_ino);
}

bool
service_log_to_journal(void)
{
	return log_journal;
}

int
service_log_priority(uint32_t rte_level)
{
	if (rte_level < RTE_LOG_EMERG || rte_level > RTE_LOG_DEBUG)
		return LOG_INFO;
	return (int)(rte_level - RTE_LOG_EMERG) + LOG_EMERG;
}

/* The UTC timestamp 'at' on stderr, where a line starts. */
static void
stderr_stamp(const struct timespec *at)
{
	char ts[48];
	struct tm tm;
	size_t n;

	gmtime_r(&at->tv_sec, &tm);
	n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - n, ".%03ldZ ", at->tv_nsec / 1000000);
	fputs(ts, stderr);
}

/* One chunk of log text at DPDK level 'level', written at 'at'. */
static void
log_record(
	const char *buf, size_t len, uint32_t level, const struct timespec *at)
{
	static const char prefix[] = "vhswd: ";
	const char *nl;
	size_t n;

	if (log_journal) {
		n = len;
		while (n > 0 && buf[n - 1] == '\n')
			n--;
		if (n >= sizeof(prefix) - 1 &&
			memcmp(buf, prefix, sizeof(prefix) - 1) == 0) {
			buf += sizeof(prefix) - 1;
			n -= sizeof(prefix) - 1;
		}
		if (sd_journal_send("MESSAGE=%.*s", (int)n, buf, "PRIORITY=%d",
			    service_log_priority(level),
			    "SYSLOG_IDENTIFIER=vhswd", NULL) == 0)
			return;
		/* The journal went away: stderr (still the journal's
		 * stream, or nothing). */
	}
	/* The log stream serialises its writes: one line at a time. */
	while (len > 0) {
		if (log_line_start)
			stderr_stamp(at);
		nl = memchr(buf, '\n', len);
		n = nl != NULL ? (size_t)(nl - buf) + 1 : len;
		fwrite(buf, 1, n, stderr);
		log_line_start = nl != NULL;
		buf += n;
		len -= n;
	}
}

void
service_log(const char *buf, size_t len)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	log_record(buf, len, rte_log_cur_msg_loglevel(), &now);
}

/* Startup notes held back (service_log_hold), in order. */
struct held {
	struct held *next;
	struct timespec at;
	uint32_t level;
	size_t len;
	char text[];
};
static struct held *held_first, **held_last = &held_first;

void
service_log_hold(const char *buf, size_t len)
{
	static const char own[] = "vhswd: ";
	uint32_t level = rte_log_cur_msg_loglevel();
	struct held *h;

	if (level > RTE_LOG_NOTICE || len < sizeof(own) - 1 ||
		memcmp(buf, own, sizeof(own) - 1) != 0)
		return;
	h = malloc(sizeof(*h) + len);
	if (h == NULL)
		return;
	h->next = NULL;
	clock_gettime(CLOCK_REALTIME, &h->at);
	h->level = level;
	h->len = len;
	memcpy(h->text, buf, len);
	*held_last = h;
	held_last = &h->next;
}

void
service_log_release(void)
{
	struct held *h;

	while ((h = held_first) != NULL) {
		held_first = h->next;
		log_record(h->text, h->len, h->level, &h->at);
		free(h);
	}
	held_last = &held_first;
}
