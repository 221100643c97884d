/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhswd.c - the switch daemon's main(): options, EAL, threads, shutdown.
 *
 * Threads: main() becomes the control thread (the libev loop, EAL main
 * lcore); the data plane runs on the last lcore of --lcores; librte_vhost
 * runs its own event thread.  Only main() exits; every error a user can
 * cause ends here as one line on stderr.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "ctl_client.h"
#include "ethport.h"
#include "paths.h"
#include "rpc.h"
#include "service.h"
#include "actions.h"
#include "config.h"
#include "metrics.h"
#include "state.h"
#include "telemetry.h"
#include "vhsw.h"
#include "vlog.h"
#include "vport.h"

#define DEFAULT_MEM_MB 512
#define MBUF_COUNT 16383
#define MBUF_CACHE 256
#define RCU_MAX_READERS VHSW_MAX_DP_THREADS
#define MAX_EAL_ARGS 64

enum huge_mode { HUGE_AUTO, HUGE_ON, HUGE_OFF };

struct options {
	const char *config;
	const char *ctl;
	const char *uplink;
	const char *lcores;
	const char *eal;
	const char *log_level;
	const char *socket_dirs[PATHS_MAX_DIRS];
	int n_socket_dirs;
	const char *state_dir;
	gid_t ctl_gid; /* (gid_t)-1: --ctl-group not given */
	unsigned long mem_mb;
	enum huge_mode huge;
	enum dp_poll_mode poll_mode;
	bool poll_mode_given;
	/* --lcores: the control thread's CPU, then the data-plane threads'. */
	int cpus[1 + VHSW_MAX_DP_THREADS];
	int n_dp;                     /* data-plane threads */
	unsigned long rebalance_s;    /* --rebalance-interval; 0: never */
	const char *metrics_listen;   /* --metrics-listen, or NULL */
	const char *telemetry_prefix; /* --telemetry-prefix, or NULL */
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: vhswd [--config FILE] [--ctl PATH] [--uplink DEVARGS] "
		"[--lcores LIST]\n"
		"             [--mem MB] [--hugepages | --no-hugepages] "
		"[--poll-mode busy|adaptive]\n"
		"             [--log-level LEVEL] [--eal \"EXTRA EAL ARGS\"]\n"
		"             [--socket-dir DIR]... [--state-dir DIR] "
		"[--ctl-group GROUP]\n"
		"             [--metrics-listen ADDR:PORT] "
		"[--telemetry-prefix NAME]\n"
		"             [--rebalance-interval SECONDS]\n"
		"\n"
		"  --config FILE      JSON startup configuration (ports, fdb)\n"
		"  --ctl PATH         management socket (default $VHSW_CTL or "
		"%s)\n"
		"  --ctl-group GROUP  group of the management socket (mode "
		"0660)\n"
		"  --socket-dir DIR   vhost-user sockets and saved configs "
		"must "
		"lie under DIR\n"
		"                     (repeatable; default %s; the control "
		"socket's\n"
		"                     directory always counts)\n"
		"  --state-dir DIR    the running configuration, kept and "
		"restored at start\n"
		"                     (default %s)\n"
		"  --uplink DEVARGS   DPDK ethdev used as the uplink\n"
		"  --lcores LIST      CPUs to use, e.g. 0,1 or 0,2-5: the "
		"first runs the control\n"
		"                     thread, every other one a data-plane "
		"thread (a single CPU\n"
		"                     runs both; a CPU may repeat, 0,0,1 = "
		"two data-plane threads;\n"
		"                     default: the first and the last CPU "
		"this process may use)\n"
		"  --rebalance-interval SECONDS\n"
		"                     reassign receive queues to data-plane "
		"threads by measured\n"
		"                     load this often when it evens them "
		"out (default %d; 0: never)\n"
		"  --mem MB           DPDK memory (default %d)\n"
		"  --hugepages        use hugepages (default: when mounted and "
		"free)\n"
		"  --no-hugepages     use memfd-backed memory\n"
		"  --poll-mode MODE   adaptive (default) or busy\n"
		"  --log-level LEVEL  emerg..debug (default info)\n"
		"  --eal ARGS         extra DPDK EAL arguments\n"
		"  --metrics-listen ADDR:PORT\n"
		"                     serve Prometheus metrics at "
		"http://ADDR:PORT/metrics\n"
		"                     (e.g. 127.0.0.1:9100, [::1]:9100; "
		"default: off)\n"
		"  --telemetry-prefix NAME\n"
		"                     DPDK telemetry: dpdk-telemetry.py -f "
		"NAME (default vhsw\n"
		"                     with the default --ctl, else "
		"vhsw-ctl-<hash of --ctl>;\n"
		"                     vhswctl version shows it)\n",
		CTL_DEFAULT_SOCKET, PATHS_DEFAULT_SOCKET_DIR,
		PATHS_DEFAULT_STATE_DIR, DP_REBALANCE_DEFAULT_S,
		DEFAULT_MEM_MB);
}

static void __attribute__((format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fputs("vhswd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* A group name or number; dies on an unknown one. */
static gid_t
parse_group(const char *s)
{
	struct group *gr;
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (s[0] != '\0' && *end == '\0' && errno == 0 && v < UINT32_MAX)
		return (gid_t)v;
	gr = getgrnam(s);
	if (gr == NULL)
		die("--ctl-group %s: no such group; create it (groupadd %s) "
		    "or give a group name or GID that exists",
			s, s);
	return gr->gr_gid;
}

/* A --telemetry-prefix: a file name that is no vhswd's runtime dir. */
static bool
telemetry_prefix_ok(const char *s)
{
	size_t n = strspn(s,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789_.-");
	int pid;
	char tail;

	return n > 0 && n <= 64 && s[n] == '\0' && s[0] != '.' &&
		sscanf(s, "vhsw-%d%c", &pid, &tail) != 1;
}

/* The default prefix: "vhsw", or "vhsw-ctl-<FNV-1a of the --ctl path>". */
static const char *
default_telemetry_prefix(const char *ctl, char *buf, size_t len)
{
	uint32_t h = 2166136261u;
	const char *c;

	if (strcmp(ctl, CTL_DEFAULT_SOCKET) == 0)
		return "vhsw";
	for (c = ctl; *c != '\0'; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	snprintf(buf, len, "vhsw-ctl-%08x", h);
	return buf;
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"ctl", required_argument, NULL, 's'},
		{"uplink", required_argument, NULL, 'u'},
		{"lcores", required_argument, NULL, 'l'},
		{"mem", required_argument, NULL, 'm'},
		{"hugepages", no_argument, NULL, 'H'},
		{"no-hugepages", no_argument, NULL, 'N'},
		{"poll-mode", required_argument, NULL, 'p'},
		{"log-level", required_argument, NULL, 'L'},
		{"eal", required_argument, NULL, 'e'},
		{"socket-dir", required_argument, NULL, 'D'},
		{"state-dir", required_argument, NULL, 'T'},
		{"ctl-group", required_argument, NULL, 'G'},
		{"metrics-listen", required_argument, NULL, 'M'},
		{"telemetry-prefix", required_argument, NULL, 'P'},
		{"rebalance-interval", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	char *end;
	int c, mode;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case 's':
			o->ctl = optarg;
			break;
		case 'u':
			o->uplink = optarg;
			break;
		case 'l':
			o->lcores = optarg;
			break;
		case 'm':
			o->mem_mb = strtoul(optarg, &end, 10);
			if (*end != '\0' || o->mem_mb < 64 || o->mem_mb > 65536)
				die("--mem %s: give megabytes, 64..65536",
					optarg);
			break;
		case 'H':
			o->huge = HUGE_ON;
			break;
		case 'N':
			o->huge = HUGE_OFF;
			break;
		case 'p':
			mode = dp_poll_mode_parse(optarg);
			if (mode < 0)
				die("--poll-mode %s: use busy or adaptive",
					optarg);
			o->poll_mode = (enum dp_poll_mode)mode;
			o->poll_mode_given = true;
			break;
		case 'L':
			o->log_level = optarg;
			break;
		case 'R':
			o->rebalance_s = strtoul(optarg, &end, 10);
			if (*end != '\0' || optarg[0] == '-' ||
				o->rebalance_s > 86400)
				die("--rebalance-interval %s: give seconds, "
				    "0 (never) to 86400",
					optarg);
			break;
		case 'e':
			o->eal = optarg;
			break;
		case 'D':
			if (optarg[0] != '/')
				die("--socket-dir %s: give an absolute path",
					optarg);
			if (o->n_socket_dirs == PATHS_MAX_DIRS)
				die("--socket-dir: at most %d directories",
					PATHS_MAX_DIRS);
			o->socket_dirs[o->n_socket_dirs++] = optarg;
			break;
		case 'T':
			if (optarg[0] != '/')
				die("--state-dir %s: give an absolute path",
					optarg);
			o->state_dir = optarg;
			break;
		case 'G':
			o->ctl_gid = parse_group(optarg);
			break;
		case 'M':
			o->metrics_listen = optarg;
			break;
		case 'P':
			if (!telemetry_prefix_ok(optarg))
				die("--telemetry-prefix %s: use 1-64 letters, "
				    "digits, '_', '.' or '-', not "
				    "vhsw-<number>",
					optarg);
			o->telemetry_prefix = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("vhswd %s\n", VHSW_VERSION);
			exit(0);
		default:
			die("unknown or incomplete option '%s'; see vhswd "
			    "--help",
				argv[optind - 1]);
		}
	}
	if (optind < argc)
		die("unexpected argument '%s'; see vhswd --help", argv[optind]);
}

/* Adds CPU 'cpu' of --lcores 'list' to o->cpus. */
static void
lcores_add(
	struct options *o, const char *list, long cpu, const cpu_set_t *online)
{
	if (!CPU_ISSET(cpu, online))
		die("--lcores %s: CPU %ld is not available to this process",
			list, cpu);
	if (o->n_dp == VHSW_MAX_DP_THREADS)
		die("--lcores %s: at most %d data-plane threads", list,
			VHSW_MAX_DP_THREADS);
	/* The first CPU is the control thread's; n_dp counts the others. */
	if (o->cpus[0] < 0)
		o->cpus[0] = (int)cpu;
	else
		o->cpus[1 + o->n_dp++] = (int)cpu;
}

/*
 * Parses "0,1" / "0,2-5" / "1" / "0,0,1": the control thread's CPU, then
 * one data-plane thread per CPU that follows (a single CPU runs both).
 */
static void
parse_lcores(const char *list, struct options *o)
{
	cpu_set_t online;
	const char *p = list;
	long a, b;
	char *end;

	o->cpus[0] = -1;
	o->n_dp = 0;
	if (sched_getaffinity(0, sizeof(online), &online) != 0)
		CPU_ZERO(&online);
	while (*p != '\0') {
		a = strtol(p, &end, 10);
		if (end == p || a < 0 || a >= CPU_SETSIZE)
			goto bad;
		b = a;
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
			if (end == p || b < a || b >= CPU_SETSIZE)
				goto bad;
		}
		for (; a <= b; a++)
			lcores_add(o, list, a, &online);
		if (*end == ',')
			end++;
		else if (*end != '\0')
			goto bad;
		p = end;
	}
	if (o->cpus[0] < 0)
		goto bad;
	if (o->n_dp == 0)
		o->cpus[1 + o->n_dp++] = o->cpus[0];
	return;
bad:
	die("--lcores %s: give CPUs like 0,1 or 0,2-5", list);
}

/* Without --lcores: the first CPU we may use for control, the last for
 * the one data-plane thread (the same one on a single CPU). */
static void
default_lcores(struct options *o)
{
	cpu_set_t online;
	int i;

	o->cpus[0] = o->cpus[1] = -1;
	if (sched_getaffinity(0, sizeof(online), &online) != 0)
		die("cannot read the CPU affinity: %s", strerror(errno));
	for (i = 0; i < CPU_SETSIZE; i++) {
		if (!CPU_ISSET(i, &online))
			continue;
		if (o->cpus[0] < 0)
			o->cpus[0] = i;
		o->cpus[1] = i;
	}
	o->n_dp = 1;
}

/* True if a hugetlbfs is mounted and has room for 'mb' megabytes. */
static bool
hugepages_usable(unsigned long mb)
{
	unsigned long free_pages = 0, size_kb = 0;
	bool mounted = false;
	char line[256];
	FILE *f;

	f = fopen("/proc/mounts", "r");
	if (f != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			if (strstr(line, " hugetlbfs ") != NULL)
				mounted = true;
		fclose(f);
	}
	f = fopen("/proc/meminfo", "r");
	if (f != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			sscanf(line, "HugePages_Free: %lu", &free_pages);
			sscanf(line, "Hugepagesize: %lu kB", &size_kb);
		}
		fclose(f);
	}
	return mounted && free_pages * size_kb >= mb * 1024;
}

static int
log_level_of(const char *s)
{
	static const char *const names[] = {"emerg", "alert", "crit", "err",
		"warning", "notice", "info", "debug"};
	int i;

	for (i = 0; i < 8; i++)
		if (strcmp(s, names[i]) == 0)
			return i + 1; /* RTE_LOG_EMERG is 1 */
	die("--log-level %s: use emerg, alert, crit, err, warning, notice, "
	    "info or debug",
		s);
	return 0;
}

/* True for a PCI address, "DDDD:BB:DD.F" or "BB:DD.F" (then ",args"). */
static bool
is_pci_address(const char *s)
{
	unsigned int a, b, c, d;

	return sscanf(s, "%x:%x:%x.%x", &a, &b, &c, &d) == 4 ||
		sscanf(s, "%x:%x.%x", &a, &b, &c) == 3;
}

/* The EAL command line being built: av[0..n), strings in [sp, end). */
struct eal_args {
	char **av;
	int n;
	char *sp, *end;
};

/* Appends one formatted argument; too many for the buffers is fatal. */
static void __rte_format_printf(2, 3)
	eal_add(struct eal_args *a, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(a->sp, (size_t)(a->end - a->sp), fmt, ap);
	va_end(ap);
	if (a->n >= MAX_EAL_ARGS - 1 || k < 0 || k >= a->end - a->sp)
		die("too many EAL arguments");
	a->av[a->n++] = a->sp;
	a->sp += k + 1;
}

static int
build_eal_args(struct options *o, char **av, char *storage, size_t storage_len)
{
	struct eal_args ea = {
		.av = av, .sp = storage, .end = storage + storage_len};
	char *tok, *save, map[16 * (1 + VHSW_MAX_DP_THREADS)];
	size_t off = 0;
	bool huge;
	int i;

	if (o->lcores != NULL)
		parse_lcores(o->lcores, o);
	else
		default_lcores(o);
	huge = o->huge == HUGE_ON ||
		(o->huge == HUGE_AUTO && hugepages_usable(o->mem_mb));
	if (o->huge == HUGE_ON && !hugepages_usable(o->mem_mb))
		die("--hugepages: no mounted hugetlbfs with %lu MB free; "
		    "reserve pages (echo 512 > /proc/sys/vm/nr_hugepages) or "
		    "use --no-hugepages",
			o->mem_mb);
	o->huge = huge ? HUGE_ON : HUGE_OFF;
	eal_add(&ea, "vhswd");
	/* lcore 0: control; lcore 1 + i: data-plane thread i. */
	for (i = 0; i <= o->n_dp; i++)
		off += (size_t)snprintf(map + off, sizeof(map) - off, "%s%d@%d",
			i ? "," : "", i, o->cpus[i]);
	eal_add(&ea, "--lcores=%s", map);
	eal_add(&ea, "--main-lcore=0");
	eal_add(&ea, "-m");
	eal_add(&ea, "%lu", o->mem_mb);
	if (!huge)
		eal_add(&ea, "--no-huge");
	else
		eal_add(&ea, "--huge-unlink");
	eal_add(&ea, "--no-shconf");
	eal_add(&ea, "--file-prefix=vhsw-%d", (int)getpid());
	if (o->uplink != NULL && is_pci_address(o->uplink)) {
		eal_add(&ea, "-a");
		eal_add(&ea, "%.*s", (int)strcspn(o->uplink, ","), o->uplink);
	} else {
		eal_add(&ea, "--no-pci");
	}
	if (o->uplink != NULL && ethport_devargs_is_vmbus(o->uplink)) {
		/* No vmbus hot-plug in DPDK 22.11: EAL probes it at start. */
		eal_add(&ea, "-a");
		eal_add(&ea, "%s",
			strncmp(o->uplink, "vmbus:", 6) == 0 ? o->uplink + 6
							     : o->uplink);
	}
	if (access("/sys/bus/vmbus/devices", F_OK) == 0) {
		/* Keep vdev_netvsc from taking over route-less NetVSC NICs. */
		eal_add(&ea, "--vdev=net_vdev_netvsc0,ignore=1");
	}
	/* DPDK's own chatter (vhost-user message traces) only when asked. */
	/* Every vhsw.* module (vlog.h) starts at --log-level. */
	eal_add(&ea, "--log-level=vhsw.*:%d", log_level_of(o->log_level));
	eal_add(&ea, "--log-level=lib.*:%d",
		RTE_MIN(log_level_of(o->log_level), (int)RTE_LOG_WARNING));
	eal_add(&ea, "--log-level=pmd.*:%d",
		RTE_MIN(log_level_of(o->log_level), (int)RTE_LOG_WARNING));
	if (o->eal != NULL) {
		char *copy = strdup(o->eal);

		for (tok = strtok_r(copy, " \t", &save); tok != NULL;
			tok = strtok_r(NULL, " \t", &save))
			eal_add(&ea, "%s", tok);
		free(copy);
	}
	av[ea.n] = NULL;
	return ea.n;
}

static int vhsw_logtype;

#define VLOG(level, fmt, ...)                                      \
	rte_log(RTE_LOG_##level, vhsw_logtype, "vhswd: " fmt "\n", \
		##__VA_ARGS__)

/* Creates the directory holding the control socket if it is missing. */
static void
ensure_ctl_dir(const char *path)
{
	char *copy = strdup(path), *dir;
	struct stat st;

	dir = dirname(copy);
	/* Searchable by the --ctl-group (the umask is 077 by now). */
	if (stat(dir, &st) != 0 &&
		(mkdir(dir, 0755) != 0 || chmod(dir, 0755) != 0))
		die("cannot create %s for the control socket: %s (run as root "
		    "or use --ctl PATH)",
			dir, strerror(errno));
	free(copy);
}

static char telemetry_link_path[PATH_MAX];

static void
remove_telemetry_link(void)
{
	char target[PATH_MAX];
	ssize_t n;
	const char *rd = rte_eal_get_runtime_dir(), *own;

	if (telemetry_link_path[0] == '\0' || rd == NULL)
		return;
	own = strrchr(rd, '/');
	n = readlink(telemetry_link_path, target, sizeof(target) - 1);
	if (n > 0 && own != NULL) {
		target[n] = '\0';
		if (strcmp(target, own + 1) == 0)
			unlink(telemetry_link_path);
	}
	telemetry_link_path[0] = '\0';
}

/* Removes links that lead to vhswd runtime dirs that are gone. */
static void
remove_dangling_links(const char *root)
{
	char path[PATH_MAX], target[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(root);
	ssize_t n;
	int pid;
	char tail;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_type != DT_LNK ||
			snprintf(path, sizeof(path), "%s/%s", root,
				de->d_name) >= (int)sizeof(path))
			continue;
		n = readlink(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (sscanf(target, "vhsw-%d%c", &pid, &tail) == 1 &&
			stat(path, &st) != 0 && errno == ENOENT)
			unlink(path);
	}
	closedir(d);
}

/*
 * DPDK's runtime directory is <root>/vhsw-<pid> (unique, removed at exit,
 * and a dead vhswd's is removed at the next start); <root>/<prefix> is a
 * symbolic link to it, so that `dpdk-telemetry.py -f <prefix>` finds this
 * vhswd's telemetry socket.  A link of a dead vhswd is replaced; one of a
 * live vhswd, or anything else by that name, stops the start: -1 with
 * a message in 'err'.  0 when linked.
 */
static int
link_telemetry(const char *prefix, char *err, size_t errlen)
{
	const char *rd = rte_eal_get_runtime_dir(), *own;
	char target[PATH_MAX], root[PATH_MAX], path[PATH_MAX];
	struct stat st;
	ssize_t n;
	int pid;
	char tail;

	own = rd != NULL ? strrchr(rd, '/') : NULL;
	if (own == NULL ||
		snprintf(root, sizeof(root), "%.*s", (int)(own - rd), rd) >=
			(int)sizeof(root) ||
		snprintf(path, sizeof(path), "%s/%s", root, prefix) >=
			(int)sizeof(path)) {
		snprintf(err, errlen,
			"--telemetry-prefix %s: no DPDK runtime directory",
			prefix);
		return -1;
	}
	remove_dangling_links(root); /* of crashed vhswds */
	if (lstat(path, &st) == 0) {
		if (!S_ISLNK(st.st_mode)) {
			snprintf(err, errlen,
				"--telemetry-prefix %s: %.200s exists and is "
				"not "
				"vhswd's link; pick another prefix or remove "
				"it",
				prefix, path);
			return -1;
		}
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		if (sscanf(target, "vhsw-%d%c", &pid, &tail) == 1 &&
			pid != (int)getpid() && service_pid_is_vhswd(pid)) {
			snprintf(err, errlen,
				"--telemetry-prefix %s: used by the vhswd of "
				"pid %d; give this one another "
				"--telemetry-prefix",
				prefix, pid);
			return -1;
		}
		unlink(path);
	}
	if (symlink(own + 1, path) != 0) {
		snprintf(err, errlen,
			"--telemetry-prefix %s: cannot create %.200s: %s",
			prefix, path, strerror(errno));
		return -1;
	}
	snprintf(telemetry_link_path, sizeof(telemetry_link_path), "%s", path);
	atexit(remove_telemetry_link);
	return 0;
}

/*
 * The path policy: the --socket-dir list (default /run/vhsw) plus the
 * control socket's directory, and the --state-dir.
 */
static struct paths *
make_paths(const struct options *o, const char *ctl)
{
	struct paths *p = paths_create(
		o->state_dir ? o->state_dir : PATHS_DEFAULT_STATE_DIR);
	char *copy = strdup(ctl), real[PATH_MAX];
	int i, ret = 0;

	if (p == NULL || copy == NULL)
		die("out of memory");
	if (o->n_socket_dirs == 0)
		ret = paths_add_socket_dir(p, PATHS_DEFAULT_SOCKET_DIR);
	for (i = 0; ret == 0 && i < o->n_socket_dirs; i++)
		ret = paths_add_socket_dir(p, o->socket_dirs[i]);
	if (ret != 0)
		die("--socket-dir %s: %s", o->socket_dirs[i - 1],
			strerror(-ret));
	if (realpath(dirname(copy), real) == NULL)
		die("--ctl %s: cannot resolve its directory: %s", ctl,
			strerror(errno));
	ret = paths_add_socket_dir(p, real);
	if (ret != 0)
		die("--ctl %s: %s", ctl, strerror(-ret));
	free(copy);
	return p;
}

/*
 * DPDK's log stream: stderr, with every line also shown to the port
 * modules that watch for PMD messages (ethport_log_line).  While vhswd
 * starts (EAL, uplink, --config) DPDK's lines are held back unless
 * --log-level is debug: a failure there is reported as one line naming the
 * problem and the fix.
 */
static bool log_quiet; /* startup: vhswd reports failures itself */

/*
 * DPDK's own warnings and errors that a peer can cause (librte_vhost's
 * "failed to add vhost user connection" for every refused front-end) go
 * through a rate limit per log type: 20 lines, then 2 a second, and one
 * note of what was suppressed (vlog.h).  vhswd's own lines ("vhswd: ...")
 * have their limits where they are logged; DPDK's notices, info and debug
 * lines (only when asked for) pass as they are.
 */
#define DPDK_LOG_BUCKETS 64
static struct vlog_rl dpdk_log_rl[DPDK_LOG_BUCKETS] = {
	[0 ... DPDK_LOG_BUCKETS - 1] = VLOG_RATE_LIMIT_INIT(20, 500),
};

static bool
dpdk_line_admitted(const char *buf, size_t len)
{
	static const char own[] = "vhswd: ";
	uint32_t level = rte_log_cur_msg_loglevel();
	int type = rte_log_cur_msg_logtype();
	struct vlog_rl *rl;
	char note[VLOG_LINE_MAX + 160];

	if (level > RTE_LOG_WARNING || type < 0 ||
		(len >= sizeof(own) - 1 &&
			memcmp(buf, own, sizeof(own) - 1) == 0))
		return true;
	rl = &dpdk_log_rl[type % DPDK_LOG_BUCKETS];
	if (!vlog_rl_admit(rl, type, level, own, buf, len, note, sizeof(note)))
		return false;
	if (note[0] != '\0')
		service_log(note, strlen(note));
	return true;
}

static ssize_t
log_write(void *cookie, const char *buf, size_t len)
{
	ethport_log_line(buf, len);
	if (!log_quiet) {
		if (dpdk_line_admitted(buf, len))
			service_log(buf, len); /* the journal, or stderr */
	} else {
		service_log_hold(buf, len); /* vhswd's notable lines */
	}
	return (ssize_t)len;
}

static void
open_log_stream(void)
{
	static const cookie_io_functions_t io = {.write = log_write};
	FILE *f = fopencookie(NULL, "w", io);

	if (f == NULL)
		return;
	setvbuf(f, NULL, _IOLBF, 0);
	rte_openlog_stream(f);
}

static int
eal_init_quiet(int argc, char **argv)
{
	int saved = dup(STDOUT_FILENO), devnull, ret;

	/* EAL prints its usage on stdout on bad arguments: keep it quiet. */
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	fflush(stdout);
	if (devnull >= 0 && saved >= 0)
		dup2(devnull, STDOUT_FILENO);
	ret = rte_eal_init(argc, argv);
	fflush(stdout);
	if (saved >= 0) {
		dup2(saved, STDOUT_FILENO);
		close(saved);
	}
	if (devnull >= 0)
		close(devnull);
	return ret;
}

/* A start that fails once ports exist: they go, the state file stays. */
static void
start_failed(struct vhsw *sw, const char *err)
{
	telemetry_fini(sw);
	state_fini(sw); /* the file keeps what was restored */
	vhsw_fini(sw);
	rpc_server_destroy(sw->rpc);
	dp_stop(sw->dp);
	die("%s", err);
}

/* Applies 'parts' of the state file, with what it leaves out (and DPDK's
 * reasons) shown even while startup is quiet.  The number left out. */
static int
restore(struct vhsw *sw, json_t *state, unsigned int parts)
{
	bool quiet = log_quiet;
	int refused;

	log_quiet = false;
	refused = state_apply(sw, state, parts);
	log_quiet = quiet;
	return refused;
}

/* Applies 'parts' of --config (may be NULL): a refusal stops vhswd. */
static void
apply_config(struct vhsw *sw, const char *path, json_t *cfg, unsigned int parts)
{
	struct config_apply_opts opts = {.parts = parts};
	char err[1024];

	if (cfg != NULL &&
		config_apply(sw, path, cfg, &opts, err, sizeof(err)) != 0)
		start_failed(sw, err);
}

int
main(int argc, char **argv)
{
	struct options o = {
		.ctl_gid = (gid_t)-1,
		.mem_mb = DEFAULT_MEM_MB,
		.log_level = "info",
		.poll_mode = DP_POLL_ADAPTIVE,
		.rebalance_s = DP_REBALANCE_DEFAULT_S,
	};
	unsigned int dp_lcores[VHSW_MAX_DP_THREADS];
	char cpulist[8 * VHSW_MAX_DP_THREADS];
	size_t off = 0;
	int i;
	char *eal_argv[MAX_EAL_ARGS], eal_storage[4096], err[1024], tpbuf[32];
	struct metrics *metrics = NULL;
	struct rpc_options ropt = {.perm = 0660};
	bool uplink_in_file = false;
	struct paths *paths;
	struct rte_mempool *pool;
	struct rte_rcu_qsbr *qsv;
	json_t *cfg = NULL, *state = NULL;
	const char *state_dir;
	int refused;
	struct ev_loop *loop;
	struct fdb *fdb;
	struct vhsw sw;
	struct dp *dp;
	uint32_t cap;
	int eal_argc;
	const char *ctl;

	/*
	 * Nothing vhswd creates depends on the umask it was started with:
	 * files and sockets start private and get their mode explicitly
	 * (control socket 0660, vhost-user sockets --perm).
	 */
	umask(077);
	parse_options(argc, argv, &o);
	ctl = ctl_socket_path(o.ctl);
	if (o.config != NULL) {
		cfg = config_read(o.config, err, sizeof(err));
		if (cfg == NULL)
			die("%s", err);
	}
	/* The state file, less what --config and the options name. */
	state_dir = o.state_dir ? o.state_dir : PATHS_DEFAULT_STATE_DIR;
	if (service_lock_state_dir(state_dir, err, sizeof(err)) != 0)
		die("%s", err); /* another vhswd uses it */
	if (state_load(state_dir, &state, err, sizeof(err)) != 0)
		die("%s", err);
	state_merge(state, cfg, o.uplink != NULL, o.poll_mode_given);
	/* EAL must see a VMBus uplink at start (eal_args). */
	if (o.uplink == NULL) {
		o.uplink = config_uplink_devargs(cfg);
		if (o.uplink == NULL)
			o.uplink = config_uplink_devargs(state);
		uplink_in_file = o.uplink != NULL;
	}
	if (strlen(ctl) > VPORT_SOCKET_MAX)
		die("--ctl %s: longer than %d bytes; use a shorter path", ctl,
			VPORT_SOCKET_MAX);
	ensure_ctl_dir(ctl);
	paths = make_paths(&o, ctl);
	signal(SIGPIPE, SIG_IGN);

	eal_argc =
		build_eal_args(&o, eal_argv, eal_storage, sizeof(eal_storage));
	service_log_open();
	open_log_stream();
	log_quiet = log_level_of(o.log_level) < (int)RTE_LOG_DEBUG;
	vhsw_logtype =
		rte_log_register_type_and_pick_level("vhsw.main", RTE_LOG_INFO);
	if (eal_init_quiet(eal_argc, eal_argv) < 0)
		die("cannot initialise DPDK: %s (run as root; check --lcores, "
		    "--mem and --eal)",
			rte_strerror(rte_errno));
	if (vhsw_logtype < 0)
		vhsw_logtype = RTE_LOGTYPE_USER1;
	rte_log_set_level(vhsw_logtype, log_level_of(o.log_level));
	service_clean_runtime_dirs(); /* of crashed vhswds; ours at exit */

	/* On the memory of the (first) data-plane thread's CPU. */
	pool = rte_pktmbuf_pool_create("vhsw_mbuf", MBUF_COUNT, MBUF_CACHE, 0,
		RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_lcore_to_socket_id(1));
	if (pool == NULL)
		die("cannot allocate %d packet buffers: %s (raise --mem)",
			MBUF_COUNT, rte_strerror(rte_errno));
	qsv = rte_zmalloc("vhsw_rcu", rte_rcu_qsbr_get_memsize(RCU_MAX_READERS),
		RTE_CACHE_LINE_SIZE);
	if (qsv == NULL || rte_rcu_qsbr_init(qsv, RCU_MAX_READERS) != 0)
		die("cannot set up RCU (raise --mem)");
	/* Room for the limit of --config or of the state file. */
	cap = RTE_MAX(config_fdb_limit(cfg), config_fdb_limit(state));
	if (cap < FDB_DEFAULT_LIMIT)
		cap = FDB_DEFAULT_LIMIT;
	cap += cap / 4; /* cuckoo hashing wants headroom */
	fdb = fdb_create(
		"vhsw_fdb", RTE_MIN(cap, (uint32_t)FDB_MAX_LIMIT), qsv);
	if (fdb == NULL)
		die("cannot create the FDB: %s (raise --mem)",
			rte_strerror(rte_errno));
	dp = dp_create(fdb, pool, qsv, o.poll_mode);
	if (dp == NULL)
		die("cannot create the data plane (raise --mem)");
	for (i = 0; i < o.n_dp; i++)
		dp_lcores[i] = (unsigned int)(1 + i);
	if (dp_set_lcores(dp, dp_lcores, &o.cpus[1], (uint16_t)o.n_dp) != 0)
		die("cannot create %d data-plane threads (raise --mem)",
			o.n_dp);

	loop = ev_default_loop(EVFLAG_AUTO);
	if (loop == NULL)
		die("cannot create the event loop");
	vhsw_init(&sw, loop, pool, qsv, fdb, dp);
	sw.rebalance_s = (uint32_t)o.rebalance_s;
	sw.paths = paths;
	if (vport_init(pool, dp_synchronize_cb, dp, vhsw_wake, &sw) != 0 ||
		dp_set_stall_hook(dp, vport_stalled_on) != 0 ||
		ethport_init(pool, vhsw_wake, &sw, NULL) != 0)
		die("cannot initialise the port modules");
	/* Interfaces a crashed vhswd left promiscuous are restored. */
	ethport_set_state_dir(state_dir);
	if (o.config != NULL)
		snprintf(
			sw.config_path, sizeof(sw.config_path), "%s", o.config);
	ropt.gid = o.ctl_gid;
	sw.rpc = rpc_server_create(
		loop, ctl, &ropt, vhsw_dispatch, &sw, err, sizeof(err));
	if (sw.rpc == NULL)
		die("%s", err);
	/* After the control socket: a second vhswd on it is told so. */
	if (o.telemetry_prefix == NULL)
		o.telemetry_prefix =
			default_telemetry_prefix(ctl, tpbuf, sizeof(tpbuf));
	if (link_telemetry(o.telemetry_prefix, err, sizeof(err)) != 0) {
		rpc_server_destroy(sw.rpc);
		die("%s", err);
	}
	if (telemetry_init(&sw, o.telemetry_prefix) != 0)
		die("cannot register the /vhsw/ telemetry commands");
	if (o.metrics_listen != NULL) {
		metrics =
			metrics_start(&sw, o.metrics_listen, err, sizeof(err));
		if (metrics == NULL)
			die("%s", err);
	}
	if (dp_start(dp) != 0)
		die("cannot start the data-plane threads on their lcores");
	for (i = 0; i < o.n_dp; i++)
		off += (size_t)snprintf(cpulist + off, sizeof(cpulist) - off,
			"%s%d", i ? "," : "", o.cpus[1 + i]);
	if (o.uplink != NULL && !uplink_in_file) {
		/* --uplink wins over the file's devargs, keeping its mtu. */
		json_t *u = json_pack("{s:s}", "devargs", o.uplink), *res;
		json_t *cu =
			json_object_get(json_object_get(cfg, "uplink"), "mtu");
		int code;

		if (cu != NULL)
			json_object_set(u, "mtu", cu);
		if (cfg != NULL)
			json_object_del(cfg, "uplink");
		res = act_call(
			&sw, CTL_CMD_UPLINK_ADD, u, &code, err, sizeof(err));
		json_decref(u);
		if (res == NULL) {
			char msg[sizeof(err) + 64];

			snprintf(msg, sizeof(msg), "--uplink %s: %s", o.uplink,
				err);
			start_failed(&sw, msg);
		}
		json_decref(res);
	}
	/*
	 * The state's ports, those of --config, then the FDB parts of both
	 * (static entries need their ports).  What the restore leaves out is
	 * reported, with DPDK's reasons.
	 */
	if (state_open(&sw, state_dir, err, sizeof(err)) != 0)
		start_failed(&sw, err);
	refused = restore(&sw, state, CONFIG_PART_PORTS);
	apply_config(&sw, o.config, cfg, CONFIG_PART_PORTS);
	refused += restore(&sw, state, CONFIG_PART_FDB);
	apply_config(&sw, o.config, cfg, CONFIG_PART_FDB);
	refused += restore(&sw, state, CONFIG_PART_MIRRORS);
	apply_config(&sw, o.config, cfg, CONFIG_PART_MIRRORS);
	log_quiet = false; /* what was restored, and what was left out */
	state_restored(&sw, state != NULL, refused);
	json_decref(cfg);
	json_decref(state);
	service_log_release(); /* what was held back while starting */

	VLOG(INFO,
		"vhswd %s running: control socket %s, %d data-plane "
		"thread%s on CPU %s, "
		"%s memory, poll mode %s, telemetry prefix %s, metrics %s",
		VHSW_VERSION, ctl, o.n_dp, o.n_dp > 1 ? "s" : "", cpulist,
		o.huge == HUGE_ON ? "hugepage" : "memfd",
		dp_poll_mode_name(dp_get_poll_mode(dp)), o.telemetry_prefix,
		o.metrics_listen != NULL ? o.metrics_listen : "off");
	service_ready(ctl);
	service_watchdog_start(loop, dp);
	ev_run(loop, 0);

	service_stopping();
	service_watchdog_stop();
	VLOG(INFO, "shutting down");
	metrics_stop(metrics);
	telemetry_fini(&sw);
	state_fini(&sw); /* the file keeps the ports for the next start */
	vhsw_fini(&sw);  /* ports first: unregisters sockets */
	rpc_server_destroy(sw.rpc);
	dp_stop(dp);
	dp_destroy(dp);
	fdb_destroy(fdb);
	rte_free(qsv);
	rte_mempool_free(pool);
	ev_loop_destroy(loop);
	rte_eal_cleanup();
	paths_destroy(paths);
	return 0;
}
