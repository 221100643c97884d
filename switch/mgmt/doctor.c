/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * doctor.c - host checks (doctor.h).
 *
 * Each check_*() reads what it needs through the doc_*() helpers (every
 * path below the root, every read bounded, only regular files and
 * directories) and adds its findings.  A file that is missing or does not
 * parse gives a finding saying "unknown", never a failure.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "doctor.h"
#include "paths.h"

#define DOC_SMALL 4096      /* a sysfs attribute, /proc/cmdline */
#define DOC_BIG 65536       /* /proc/mounts, /proc/meminfo, routes */
#define DOC_MAX_DIR 256     /* entries looked at per directory */
#define DOC_MAX_CPUS 4096   /* CPUs in a cpulist */
#define DOC_MAX_ROUTES 16   /* interfaces with a default route */
#define DOC_TEXT 2048       /* a summary, details or fix */
#define DOC_DEFAULT_MEM 512 /* MB: vhswd's --mem default */

/* The VMBus class of synthetic NICs (DPDK's netvsc guide, vmbus-bind). */
#define NETVSC_CLASS "f8615163-df3e-46c5-913f-f2d2f965ed0e"
#define VMBUS "/sys/bus/vmbus"
#define HV_PCI_DRIVER VMBUS "/drivers/hv_pci"
#define THP "/sys/kernel/mm/transparent_hugepage"

struct doc {
	const struct doctor_opts *o;
	const char *root; /* "" for "/", else the root without a trailing / */
	json_t *findings;
	/* Interfaces that carry a default route (IPv4 or IPv6). */
	char def_routes[DOC_MAX_ROUTES][IF_NAMESIZE];
	int n_def_routes;
	bool routes_known;
};

/* Copies 'src' into 'dst' of 'len' bytes, truncating. */
static void
copy_str(char *dst, size_t len, const char *src)
{
	size_t k = strnlen(src, len - 1);

	memcpy(dst, src, k);
	dst[k] = '\0';
}

/* ---- reading the tree ------------------------------------------------ */

/* root + rel into 'buf'; false if it does not fit. */
static bool
doc_path(const struct doc *d, const char *rel, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%s", d->root, rel);

	return n > 0 && (size_t)n < len;
}

/*
 * Reads at most len - 1 bytes of regular file 'rel' into 'buf' (NUL
 * terminated, trailing white space removed).  Bytes read, or -errno.
 */
static ssize_t
doc_read(const struct doc *d, const char *rel, char *buf, size_t len)
{
	char path[PATH_MAX];
	struct stat st;
	size_t used = 0;
	ssize_t k;
	int fd;

	buf[0] = '\0';
	if (!doc_path(d, rel, path, sizeof(path)))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	while (used < len - 1) {
		k = read(fd, buf + used, len - 1 - used);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			k = -errno;
			close(fd);
			buf[0] = '\0';
			return k;
		}
		if (k == 0)
			break;
		used += (size_t)k;
	}
	close(fd);
	buf[used] = '\0';
	while (used > 0 && isspace((unsigned char)buf[used - 1]))
		buf[--used] = '\0';
	return (ssize_t)used;
}

static bool
doc_exists(const struct doc *d, const char *rel)
{
	char path[PATH_MAX];

	return doc_path(d, rel, path, sizeof(path)) && access(path, F_OK) == 0;
}

static bool
doc_is_dir(const struct doc *d, const char *rel)
{
	char path[PATH_MAX];
	struct stat st;

	return doc_path(d, rel, path, sizeof(path)) && stat(path, &st) == 0 &&
		S_ISDIR(st.st_mode);
}

/*
 * The names in directory 'rel' (no dot entries, at most DOC_MAX_DIR),
 * sorted, as a NULL-terminated array to free with free_names(); NULL if
 * the directory cannot be read.
 */
static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **
doc_list(const struct doc *d, const char *rel, int *count)
{
	char path[PATH_MAX], **names;
	struct dirent *e;
	int n = 0;
	DIR *dir;

	*count = 0;
	if (!doc_path(d, rel, path, sizeof(path)))
		return NULL;
	dir = opendir(path);
	if (dir == NULL)
		return NULL;
	names = calloc(DOC_MAX_DIR + 1, sizeof(*names));
	if (names == NULL) {
		closedir(dir);
		return NULL;
	}
	while (n < DOC_MAX_DIR && (e = readdir(dir)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		names[n] = strdup(e->d_name);
		if (names[n] != NULL)
			n++;
	}
	closedir(dir);
	qsort(names, (size_t)n, sizeof(*names), cmp_names);
	*count = n;
	return names;
}

static void
free_names(char **names)
{
	int i;

	if (names == NULL)
		return;
	for (i = 0; names[i] != NULL; i++)
		free(names[i]);
	free(names);
}

/* The last component of symbolic link 'rel' into 'buf', or "" (none). */
static void
doc_link_name(const struct doc *d, const char *rel, char *buf, size_t len)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *slash;
	ssize_t n;

	buf[0] = '\0';
	if (!doc_path(d, rel, path, sizeof(path)))
		return;
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return;
	target[n] = '\0';
	slash = strrchr(target, '/');
	copy_str(buf, len, slash ? slash + 1 : target);
}

/* ---- findings -------------------------------------------------------- */

static const char *const sev_names[] = {
	[DOCTOR_OK] = "ok",
	[DOCTOR_INFO] = "info",
	[DOCTOR_WARN] = "warn",
	[DOCTOR_ERROR] = "error",
};

const char *
doctor_severity_name(enum doctor_severity s)
{
	return (unsigned)s <= DOCTOR_ERROR ? sev_names[s] : "unknown";
}

/*
 * Adds a finding.  'fix' NULL: nothing to do.  Returns it, so that a check
 * can add keys of its own.
 */
static json_t *
add(struct doc *d, const char *id, enum doctor_severity sev,
	const char *summary, const char *details, const char *fix)
{
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:s?}", "id", id,
		"severity", doctor_severity_name(sev), "summary", summary,
		"details", details ? details : "", "fix", fix);

	if (f == NULL)
		return NULL;
	if (fix == NULL)
		json_object_set_new(f, "fix", json_null());
	json_array_append_new(d->findings, f);
	return f;
}

/* snprintf into a buffer of DOC_TEXT bytes. */
static const char *fmt(char *buf, const char *f, ...)
	__attribute__((format(printf, 2, 3)));

static const char *
fmt(char *buf, const char *f, ...)
{
	va_list ap;

	va_start(ap, f);
	vsnprintf(buf, DOC_TEXT, f, ap);
	va_end(ap);
	return buf;
}

/* ---- small parsers ----------------------------------------------------- */

/* The value of "Key:   N kB" in /proc/meminfo text, or -1. */
static long long
meminfo_value(const char *text, const char *key)
{
	size_t klen = strlen(key);
	const char *p = text;
	char *end;
	long long v;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
			errno = 0;
			v = strtoll(p + klen + 1, &end, 10);
			/* bounded, so that products of two cannot overflow */
			return errno == 0 && end != p + klen + 1 && v >= 0 &&
					v < (1LL << 40)
				? v
				: -1;
		}
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return -1;
}

/*
 * Parses a cpulist ("0-3,8,10-11") into 'set' (DOC_MAX_CPUS flags).
 * Number of CPUs, or -1 if malformed.  An empty list is 0.
 */
static int
parse_cpulist(const char *s, bool *set)
{
	long a, b, i;
	char *end;
	int n = 0;

	memset(set, 0, DOC_MAX_CPUS * sizeof(*set));
	while (isspace((unsigned char)*s))
		s++;
	while (*s != '\0') {
		if (!isdigit((unsigned char)*s))
			return -1;
		a = strtol(s, &end, 10);
		b = a;
		s = end;
		if (*s == '-') {
			s++;
			if (!isdigit((unsigned char)*s))
				return -1;
			b = strtol(s, &end, 10);
			s = end;
			/* "0-7:2/4" (used/group) is not in sysfs files */
		}
		if (a < 0 || b < a || b >= DOC_MAX_CPUS)
			return -1;
		for (i = a; i <= b; i++)
			if (!set[i]) {
				set[i] = true;
				n++;
			}
		if (*s == ',')
			s++;
		else if (*s != '\0' && !isspace((unsigned char)*s))
			return -1;
		while (isspace((unsigned char)*s))
			s++;
	}
	return n;
}

/* A cpulist of 'set' into 'buf' ("1,3-5"), or "none". */
static const char *
format_cpulist(const bool *set, char *buf, size_t len)
{
	size_t used = 0;
	int i, j;

	buf[0] = '\0';
	for (i = 0; i < DOC_MAX_CPUS && used < len; i++) {
		if (!set[i])
			continue;
		for (j = i; j + 1 < DOC_MAX_CPUS && set[j + 1]; j++)
			;
		used += (size_t)snprintf(
			buf + used, len - used, "%s%d", used ? "," : "", i);
		if (j > i && used < len)
			used += (size_t)snprintf(
				buf + used, len - used, "-%d", j);
		i = j;
	}
	if (buf[0] == '\0')
		snprintf(buf, len, "none");
	return buf;
}

/* The value of kernel parameter 'name' ("nohz_full") in 'cmdline' into
 * 'buf'; false if absent. */
static bool
cmdline_param(const char *cmdline, const char *name, char *buf, size_t len)
{
	size_t nlen = strlen(name), k;
	const char *p = cmdline;

	buf[0] = '\0';
	while (*p != '\0') {
		while (isspace((unsigned char)*p))
			p++;
		if (strncmp(p, "--", 2) == 0 &&
			(p[2] == '\0' || isspace((unsigned char)p[2])))
			return false; /* the rest is for init */
		if (strncmp(p, name, nlen) == 0 &&
			(p[nlen] == '=' || p[nlen] == '\0' ||
				isspace((unsigned char)p[nlen]))) {
			p += nlen;
			if (*p == '=')
				p++;
			for (k = 0; k + 1 < len && p[k] != '\0' &&
				!isspace((unsigned char)p[k]);
				k++)
				buf[k] = p[k];
			buf[k] = '\0';
			return true;
		}
		while (*p != '\0' && !isspace((unsigned char)*p))
			p++;
	}
	return false;
}

/* The CPU list of isolcpus=[flag,...,]LIST: past the words. */
static const char *
skip_flags(const char *p)
{
	while (*p != '\0' && !isdigit((unsigned char)*p)) {
		p = strchr(p, ',');
		if (p == NULL)
			return "";
		p++;
	}
	return p;
}

/* The bracketed choice of a sysfs "a [b] c" file into 'buf', or false. */
static bool
bracketed(const char *text, char *buf, size_t len)
{
	const char *a = strchr(text, '['), *b;

	if (a == NULL || (b = strchr(a, ']')) == NULL || b == a + 1 ||
		(size_t)(b - a - 1) >= len)
		return false;
	memcpy(buf, a + 1, (size_t)(b - a - 1));
	buf[b - a - 1] = '\0';
	return true;
}

/*
 * A size in bytes: decimal or 0x hex, with an optional K/M/G suffix (as
 * the kernel's memparse).  false if malformed.
 */
static bool
parse_size(const char *s, unsigned long long *v)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno != 0 || end == s)
		return false;
	switch (toupper((unsigned char)*end)) {
	case 'G':
		*v <<= 10;
		/* fall through */
	case 'M':
		*v <<= 10;
		/* fall through */
	case 'K':
		*v <<= 10;
		end++;
		break;
	default:
		break;
	}
	return *end == '\0';
}

/* ---- hugepages and THP ----------------------------------------------- */

static void
check_hugepages(struct doc *d)
{
	char *meminfo = malloc(DOC_BIG), *mounts = malloc(DOC_BIG);
	char mnt[256] = "", s[DOC_TEXT], det[DOC_TEXT], fix[DOC_TEXT];
	long long total, free_pages, size_kb, free_mb, need;
	char dev[128], dir[256], type[64];
	const char *line;
	ssize_t r;

	if (meminfo == NULL || mounts == NULL)
		goto out;
	r = doc_read(d, "/proc/meminfo", meminfo, DOC_BIG);
	total = meminfo_value(meminfo, "HugePages_Total");
	free_pages = meminfo_value(meminfo, "HugePages_Free");
	size_kb = meminfo_value(meminfo, "Hugepagesize");
	if (r < 0 || total < 0 || free_pages < 0 || size_kb <= 0) {
		add(d, "hugepages", DOCTOR_INFO,
			"unknown: /proc/meminfo has no hugepage counters",
			fmt(det,
				"could not read HugePages_Total, "
				"HugePages_Free "
				"and Hugepagesize from %s/proc/meminfo (%s); "
				"vhswd then uses memfd-backed memory",
				d->root,
				r < 0 ? strerror((int)-r) : "not found"),
			NULL);
		goto out;
	}
	if (doc_read(d, "/proc/mounts", mounts, DOC_BIG) >= 0)
		for (line = mounts; line != NULL && *line != '\0';) {
			if (sscanf(line, "%127s %255s %63s", dev, dir, type) ==
					3 &&
				strcmp(type, "hugetlbfs") == 0 &&
				mnt[0] == '\0')
				snprintf(mnt, sizeof(mnt), "%s", dir);
			line = strchr(line, '\n');
			if (line != NULL)
				line++;
		}
	free_mb = free_pages * size_kb / 1024;
	/* Pages of the default size for vhswd's default --mem. */
	need = (DOC_DEFAULT_MEM * 1024LL + size_kb - 1) / size_kb;
	if (total == 0) {
		add(d, "hugepages", DOCTOR_INFO,
			"none reserved: vhswd backs its memory with a memfd "
			"(4 KiB pages)",
			"vhswd works without hugepages (its default when none "
			"are mounted with room): DPDK memory and the "
			"vhost-user "
			"clients' shared memory are memfds.  The cost is "
			"TLB misses on the data path: packet buffers and "
			"vrings spread over 4 KiB pages.  In a testpmd "
			"loopback on the project's test machine that was "
			"about a quarter less throughput per core (5.4-6.8 "
			"Mpps on memfd, 7.3-9.7 Mpps on 2 MiB pages).  QEMU "
			"guests then need memory-backend-memfd,share=on.",
			fmt(fix,
				"echo %lld > /proc/sys/vm/nr_hugepages; mkdir "
				"-p "
				"/dev/hugepages; mount -t hugetlbfs none "
				"/dev/hugepages",
				need));
	} else if (mnt[0] == '\0') {
		add(d, "hugepages", DOCTOR_WARN,
			fmt(s,
				"%lld pages of %lld kB reserved but no "
				"hugetlbfs "
				"mounted: vhswd uses a memfd and the pages sit "
				"unused",
				total, size_kb),
			"DPDK finds hugepages through a mounted hugetlbfs; "
			"without one vhswd falls back to memfd-backed 4 KiB "
			"pages while the reserved memory stays taken.",
			"mkdir -p /dev/hugepages && mount -t hugetlbfs none "
			"/dev/hugepages");
	} else if (free_mb < DOC_DEFAULT_MEM) {
		add(d, "hugepages", DOCTOR_WARN,
			fmt(s,
				"only %lld MiB free in hugepages (%lld of %lld "
				"pages) on %s: less than vhswd's %d MB default",
				free_mb, free_pages, total, mnt,
				DOC_DEFAULT_MEM),
			fmt(det,
				"vhswd uses hugepages only when the hugetlbfs "
				"has "
				"room for --mem (default %d MB); otherwise it "
				"falls back to a memfd (--hugepages makes it "
				"refuse to start instead).",
				DOC_DEFAULT_MEM),
			fmt(fix,
				"echo %lld > /proc/sys/vm/nr_hugepages (or "
				"start "
				"vhswd with --mem %lld)",
				total - free_pages + need,
				free_mb > 64 ? free_mb : 64));
	} else {
		add(d, "hugepages", DOCTOR_OK,
			fmt(s,
				"%lld of %lld pages of %lld kB free (%lld MiB) "
				"on "
				"%s: vhswd uses hugepages",
				free_pages, total, size_kb, free_mb, mnt),
			fmt(det,
				"room for vhswd's default --mem %d; each DPDK "
				"client (testpmd, QEMU) needs its own.",
				DOC_DEFAULT_MEM),
			NULL);
	}
out:
	free(meminfo);
	free(mounts);
}

static void
check_thp(struct doc *d)
{
	char text[DOC_SMALL], mode[32], shmem[32] = "", s[DOC_TEXT],
					det[DOC_TEXT], shtext[DOC_SMALL];

	if (doc_read(d, THP "/shmem_enabled", shtext, sizeof(shtext)) < 0 ||
		!bracketed(shtext, shmem, sizeof(shmem)))
		snprintf(shmem, sizeof(shmem), "unknown");
	fmt(det,
		"vhswd asks for transparent huge pages (madvise) for its "
		"large tables such as the FDB, so that a lookup costs no "
		"extra TLB miss; this works with \"always\" and \"madvise\".  "
		"Without hugepages DPDK's own memory is a memfd (shmem), "
		"whose huge pages shmem_enabled governs (here: %s); vhswd "
		"does not depend on them.",
		shmem);
	if (doc_read(d, THP "/enabled", text, sizeof(text)) < 0 ||
		!bracketed(text, mode, sizeof(mode))) {
		add(d, "thp", DOCTOR_INFO,
			"unknown: cannot read " THP "/enabled (a kernel "
			"without transparent huge pages?)",
			det, NULL);
		return;
	}
	if (strcmp(mode, "always") == 0 || strcmp(mode, "madvise") == 0)
		add(d, "thp", DOCTOR_OK,
			fmt(s, "transparent huge pages: %s", mode), det, NULL);
	else
		add(d, "thp", DOCTOR_INFO,
			fmt(s,
				"transparent huge pages are %s: vhswd's large "
				"tables use 4 KiB pages",
				mode),
			det,
			"echo madvise > "
			"/sys/kernel/mm/transparent_hugepage/enabled");
}

/* ---- kernel ports ------------------------------------------------------ */

static void
check_kernel_ports(struct doc *d)
{
	bool vhost = doc_exists(d, "/dev/vhost-net");
	bool tun = doc_exists(d, "/dev/net/tun");

	if (vhost)
		add(d, "vhost-net", DOCTOR_OK,
			"/dev/vhost-net present: kernel ports use virtio-user "
			"on vhost-net",
			"the kernel side of a kernel port's rings runs in a "
			"vhost kernel thread, not as read/write calls on the "
			"data-plane CPU.",
			NULL);
	else
		add(d, "vhost-net", DOCTOR_INFO,
			"no /dev/vhost-net: kernel ports use TAP (net_tap) "
			"instead",
			"kernel ports (port add NAME kernel, vhsw-cni kernel "
			"mode) work either way; with TAP every burst is a "
			"read() or write() system call on vhswd's data-plane "
			"CPU, with vhost-net a kernel thread moves the frames.",
			"modprobe vhost_net (in a container: pass "
			"--device /dev/vhost-net)");
	if (tun)
		add(d, "tun", DOCTOR_OK, "/dev/net/tun present: TAP works",
			"kernel ports create their interface through it "
			"(both the TAP and the vhost-net path).",
			NULL);
	else
		add(d, "tun", DOCTOR_WARN,
			"no /dev/net/tun: kernel ports cannot be created",
			"both kernel-port paths (TAP, and virtio-user on "
			"vhost-net) create a tap interface; vhost-user ports "
			"and the uplink do not need it.",
			"modprobe tun (in a container: pass --device "
			"/dev/net/tun)");
}

/* ---- Hyper-V / WSL2 ---------------------------------------------------- */

/* Reads the interfaces that carry a default route, IPv4 and IPv6. */
static void
load_default_routes(struct doc *d)
{
	char *text = malloc(DOC_BIG), ifname[IF_NAMESIZE + 16], dst[64],
	     mask[64], plen[8];
	unsigned int flags;
	const char *line;
	bool any = false;
	int i, k;

	if (text == NULL)
		return;
	if (doc_read(d, "/proc/net/route", text, DOC_BIG) >= 0) {
		any = true;
		/* Iface Destination Gateway Flags RefCnt Use Metric Mask ... */
		for (line = strchr(text, '\n');
			line != NULL && *line != '\0';) {
			line++;
			if (sscanf(line, "%31s %63s %*s %x %*s %*s %*s %63s",
				    ifname, dst, &flags, mask) == 4 &&
				strcmp(dst, "00000000") == 0 &&
				strcmp(mask, "00000000") == 0 && (flags & 1) &&
				strlen(ifname) < IF_NAMESIZE &&
				d->n_def_routes < DOC_MAX_ROUTES)
				snprintf(d->def_routes[d->n_def_routes++],
					IF_NAMESIZE, "%s", ifname);
			line = strchr(line, '\n');
		}
	}
	if (doc_read(d, "/proc/net/ipv6_route", text, DOC_BIG) >= 0) {
		any = true;
		/* dst plen src splen next metric refcnt use flags ifname */
		for (line = text; line != NULL && *line != '\0';) {
			if (sscanf(line,
				    "%63s %7s %*s %*s %*s %*s %*s %*s %*s %31s",
				    dst, plen, ifname) == 3 &&
				strspn(dst, "0") == 32 && dst[32] == '\0' &&
				strcmp(plen, "00") == 0 &&
				strcmp(ifname, "lo") != 0 &&
				strlen(ifname) < IF_NAMESIZE) {
				for (k = 0, i = 0; i < d->n_def_routes; i++)
					k |= strcmp(d->def_routes[i], ifname) ==
						0;
				if (!k && d->n_def_routes < DOC_MAX_ROUTES)
					snprintf(d->def_routes
							 [d->n_def_routes++],
						IF_NAMESIZE, "%s", ifname);
			}
			line = strchr(line, '\n');
			if (line != NULL)
				line++;
		}
	}
	d->routes_known = any;
	free(text);
}

static bool
has_default_route(const struct doc *d, const char *ifname)
{
	int i;

	for (i = 0; ifname[0] != '\0' && i < d->n_def_routes; i++)
		if (strcmp(d->def_routes[i], ifname) == 0)
			return true;
	return false;
}

/* True if VMBus device 'dev' is a synthetic NIC (its class_id). */
static bool
is_netvsc(const struct doc *d, const char *dev)
{
	char rel[PATH_MAX], text[128], *p;
	size_t k;

	snprintf(rel, sizeof(rel), VMBUS "/devices/%s/class_id", dev);
	if (doc_read(d, rel, text, sizeof(text)) < 0)
		return false;
	p = text + (text[0] == '{');
	k = strlen(p);
	if (k > 0 && p[k - 1] == '}')
		p[--k] = '\0';
	for (k = 0; p[k] != '\0'; k++)
		p[k] = (char)tolower((unsigned char)p[k]);
	return strcmp(p, NETVSC_CLASS) == 0;
}

/* The first entry of directory 'rel' into 'buf', or "". */
static void
first_entry(const struct doc *d, const char *rel, char *buf, size_t len)
{
	char **names;
	int n;

	buf[0] = '\0';
	names = doc_list(d, rel, &n);
	if (names != NULL && n > 0)
		snprintf(buf, len, "%s", names[0]);
	free_names(names);
}

struct nic_summary {
	int total, on_uio, free_netvsc, route_netvsc;
	char route_if[IF_NAMESIZE];
	char free_if[IF_NAMESIZE];
	char uio_dev[64];
};

static void
check_nic(struct doc *d, const char *dev, struct nic_summary *ns)
{
	char rel[PATH_MAX], driver[64], ifname[IF_NAMESIZE + 64], uio[64],
		override[64], s[DOC_TEXT], det[DOC_TEXT], fix[DOC_TEXT],
		id[128];
	enum doctor_severity sev;
	const char *fixp = NULL;
	bool route;
	json_t *f;

	snprintf(id, sizeof(id), "vmbus.nic.%s", dev);
	snprintf(rel, sizeof(rel), VMBUS "/devices/%s/driver", dev);
	doc_link_name(d, rel, driver, sizeof(driver));
	snprintf(rel, sizeof(rel), VMBUS "/devices/%s/net", dev);
	first_entry(d, rel, ifname, sizeof(ifname));
	if (strlen(ifname) >= IF_NAMESIZE)
		ifname[0] = '\0';
	snprintf(rel, sizeof(rel), VMBUS "/devices/%s/uio", dev);
	first_entry(d, rel, uio, sizeof(uio));
	snprintf(rel, sizeof(rel), VMBUS "/devices/%s/driver_override", dev);
	if (doc_read(d, rel, override, sizeof(override)) < 0 ||
		strcmp(override, "(null)") == 0)
		override[0] = '\0';
	route = has_default_route(d, ifname);
	ns->total++;

	if (strcmp(driver, "hv_netvsc") == 0 && route) {
		ns->route_netvsc++;
		snprintf(ns->route_if, sizeof(ns->route_if), "%s", ifname);
		if (strcmp(override, "uio_hv_generic") == 0) {
			sev = DOCTOR_WARN;
			fmt(s,
				"%s carries the default route and is set to go "
				"to uio_hv_generic (driver_override): the next "
				"probe or reboot cuts this host off",
				ifname);
			fixp = fmt(fix,
				"driverctl -b vmbus unset-override %s (without "
				"driverctl: echo > /sys/bus/vmbus/devices/%s/"
				"driver_override)",
				dev, dev);
		} else {
			sev = DOCTOR_INFO;
			fmt(s,
				"%s (hv_netvsc) carries the default route: "
				"keep "
				"it for the host",
				ifname);
		}
		fmt(det,
			"binding %s to uio_hv_generic for a netvsc uplink "
			"takes "
			"it away from Linux together with the default route "
			"(SSH and editor sessions through it drop); "
			"uplink/vmbus-bind refuses it without --force.  Give "
			"the switch a second NIC (docs/wsl2.md, section 2), or "
			"share this one with --uplink "
			"net_af_packet0,iface=%s.",
			ifname, ifname);
	} else if (strcmp(driver, "hv_netvsc") == 0) {
		sev = DOCTOR_OK;
		ns->free_netvsc++;
		if (ns->free_if[0] == '\0')
			snprintf(ns->free_if, sizeof(ns->free_if), "%s",
				ifname[0] ? ifname : dev);
		fmt(s,
			"%s (hv_netvsc) carries no default route: it can be "
			"the switch's uplink",
			ifname[0] ? ifname : "(no interface)");
		fmt(det,
			"give it to DPDK's netvsc PMD with uplink/vmbus-bind "
			"bind %s, then vhswd --uplink %s.",
			ifname[0] ? ifname : dev, dev);
		if (strcmp(override, "uio_hv_generic") == 0)
			strncat(det,
				"  Its driver_override already names "
				"uio_hv_generic: it goes to DPDK at the next "
				"probe.",
				DOC_TEXT - strlen(det) - 1);
	} else if (strcmp(driver, "uio_hv_generic") == 0) {
		ns->on_uio++;
		if (ns->uio_dev[0] == '\0')
			snprintf(ns->uio_dev, sizeof(ns->uio_dev), "%s", dev);
		snprintf(rel, sizeof(rel), "/dev/%s", uio);
		if (uio[0] == '\0' || !doc_exists(d, rel)) {
			sev = DOCTOR_WARN;
			fmt(s,
				"bound to uio_hv_generic but /dev/%s is "
				"missing: "
				"the netvsc PMD cannot map it",
				uio[0] ? uio : "uioN");
			fixp = "check udev and dmesg; restart the device with "
			       "uplink/vmbus-bind unbind and bind";
		} else {
			sev = DOCTOR_OK;
			fmt(s,
				"bound to uio_hv_generic (%s): ready as the "
				"uplink",
				uio);
		}
		fmt(det,
			"start the switch with vhswd --uplink %s (bind before "
			"vhswd starts: DPDK 22.11 has no VMBus hot-plug); "
			"uplink/vmbus-bind unbind %s gives it back to "
			"hv_netvsc.",
			dev, dev);
	} else if (driver[0] == '\0') {
		sev = DOCTOR_WARN;
		fmt(s, "bound to no driver: neither Linux nor DPDK can use it");
		fmt(det,
			"a VMBus NIC without a driver is left over from an "
			"interrupted bind or unbind.");
		fixp = fmt(fix,
			"uplink/vmbus-bind unbind %s (gives it back to "
			"hv_netvsc)",
			dev);
	} else {
		sev = DOCTOR_INFO;
		fmt(s, "bound to %s", driver);
		fmt(det,
			"neither hv_netvsc nor uio_hv_generic: vhsw does not "
			"use it.");
	}
	f = add(d, id, sev, s, det, fixp);
	if (f == NULL)
		return;
	json_object_set_new(f, "device", json_string(dev));
	json_object_set_new(
		f, "driver", driver[0] ? json_string(driver) : json_null());
	json_object_set_new(
		f, "ifname", ifname[0] ? json_string(ifname) : json_null());
	json_object_set_new(f, "default_route", json_boolean(route));
}

static void
check_swiotlb(struct doc *d, bool wsl)
{
	char base_s[128], size_s[128], cmdline[DOC_SMALL], sw[64], hv[64],
		s[DOC_TEXT], det[DOC_TEXT];
	unsigned long long base, size;
	ssize_t rb, rs;
	bool force;

	doc_read(d, "/proc/cmdline", cmdline, sizeof(cmdline));
	force = cmdline_param(cmdline, "swiotlb", sw, sizeof(sw)) &&
		strstr(sw, "force") != NULL;
	cmdline_param(cmdline, "hv_pci_swiotlb", hv, sizeof(hv));
	rb = doc_read(d, HV_PCI_DRIVER "/swiotlb_base", base_s, sizeof(base_s));
	rs = doc_read(d, HV_PCI_DRIVER "/swiotlb_size", size_s, sizeof(size_s));
	if (rb >= 0 && rs >= 0) {
		if (!parse_size(base_s, &base) || !parse_size(size_s, &size)) {
			add(d, "swiotlb", DOCTOR_INFO,
				"unknown: " HV_PCI_DRIVER "/swiotlb_base or "
				"swiotlb_size does not hold a number",
				fmt(det, "read \"%.60s\" and \"%.60s\".",
					base_s, size_s),
				NULL);
			return;
		}
		if (size > 0) {
			add(d, "swiotlb", DOCTOR_OK,
				fmt(s,
					"per-device SWIOTLB for virtio "
					"devices: "
					"%llu MiB at 0x%llx",
					size >> 20, base),
				"the kernel reserved a bounce-buffer aperture "
				"for the host's virtio devices (hv_pci "
				"swiotlb_base/swiotlb_size), so virtiofs and "
				"virtio-net do not share the global SWIOTLB "
				"pool.",
				NULL);
			return;
		}
	}
	fmt(det,
		"%s publishes no per-device SWIOTLB%s (looked for "
		"%s" HV_PCI_DRIVER "/swiotlb_base and swiotlb_size%s%s).  "
		"Virtio devices of the %s (virtiofs shares, virtio-net in "
		"VirtioProxy networking) then bounce their DMA through the "
		"one global SWIOTLB pool%s: every buffer is copied, the "
		"devices contend for the pool, and under load throughput "
		"drops and dmesg can show \"swiotlb buffer is full\".  "
		"vhsw's vhost-user ports share memory with their peers and "
		"never bounce; the netvsc uplink is a VMBus device, not "
		"virtio.  An af_packet uplink on a virtio-net interface "
		"does pay the copy.",
		wsl ? "This WSL2 kernel" : "This kernel",
		rb >= 0 || rs >= 0 ? " (one file is missing or the size is 0)"
				   : "",
		d->root,
		doc_is_dir(d, HV_PCI_DRIVER) ? "" : "; hv_pci is not loaded",
		hv[0] ? "; hv_pci_swiotlb= is on the command line" : "",
		wsl ? "WSL2 VM" : "VM",
		force ? " (swiotlb=force is on the kernel command line)" : "");
	add(d, "swiotlb", DOCTOR_INFO,
		"no per-device SWIOTLB (hv_pci swiotlb_base/swiotlb_size "
		"absent): virtio devices bounce through the shared pool",
		det,
		wsl ? "wsl --update (from Windows; a WSL release with kernel "
		      "6.18.26.3 or later publishes them), then wsl --shutdown"
		    : "boot a kernel with the hv_pci swiotlb pool and "
		      "hv_pci_swiotlb=SIZE on its command line");
}

static void
check_hyperv(struct doc *d)
{
	char osrel[256], lower[256], s[DOC_TEXT], det[DOC_TEXT], fix[DOC_TEXT];
	struct nic_summary ns = {0};
	char **devs;
	bool wsl;
	int n, i;

	doc_read(d, "/proc/sys/kernel/osrelease", osrel, sizeof(osrel));
	for (i = 0; osrel[i] != '\0'; i++)
		lower[i] = (char)tolower((unsigned char)osrel[i]);
	lower[i] = '\0';
	wsl = strstr(lower, "microsoft") != NULL ||
		strstr(lower, "wsl") != NULL;
	if (!doc_is_dir(d, VMBUS "/devices")) {
		add(d, "hyperv", DOCTOR_OK,
			wsl ? "WSL kernel but no VMBus: VMBus checks skipped"
			    : "no VMBus (not a Hyper-V guest or WSL2): VMBus "
			      "checks skipped",
			"the uplink can be any DPDK ethdev (net_af_packet, "
			"net_tap, a PCI NIC); uio_hv_generic, the netvsc PMD "
			"and the hv_pci SWIOTLB do not apply.",
			NULL);
		return;
	}
	add(d, "hyperv", DOCTOR_OK,
		fmt(s, "%s (kernel %s)", wsl ? "WSL2" : "Hyper-V guest",
			osrel[0] ? osrel : "unknown"),
		"the uplink can be a VMBus NIC driven by DPDK's netvsc PMD "
		"through uio_hv_generic (docs/wsl2.md).",
		NULL);

	if (doc_is_dir(d, VMBUS "/drivers/uio_hv_generic"))
		add(d, "uio_hv_generic", DOCTOR_OK,
			"uio_hv_generic is loaded: VMBus NICs can be given to "
			"DPDK",
			"uplink/vmbus-bind bind IFNAME hands one over.", NULL);
	else
		add(d, "uio_hv_generic", DOCTOR_INFO,
			"uio_hv_generic is not loaded: no netvsc uplink until "
			"it is",
			wsl ? "Microsoft's WSL2 kernel has shipped without "
			      "CONFIG_UIO_HV_GENERIC; docs/wsl2.md section 1 "
			      "builds one that has it.  Other uplinks "
			      "(net_af_packet, net_tap) work without it."
			    : "distribution kernels ship it as a module "
			      "(Ubuntu: linux-modules-extra).  Other uplinks "
			      "(net_af_packet, net_tap) work without it.",
			"modprobe uio_hv_generic (or a kernel with "
			"CONFIG_UIO_HV_GENERIC, docs/wsl2.md section 1)");

	load_default_routes(d);
	devs = doc_list(d, VMBUS "/devices", &n);
	for (i = 0; devs != NULL && i < n; i++)
		if (is_netvsc(d, devs[i]))
			check_nic(d, devs[i], &ns);
	free_names(devs);

	if (ns.total == 0)
		add(d, "vmbus.uplink", DOCTOR_INFO, "no VMBus network devices",
			"this VM has no synthetic NIC; add one on the Hyper-V "
			"host (Add-VMNetworkAdapter) for a netvsc uplink.",
			NULL);
	else if (ns.on_uio > 0)
		add(d, "vmbus.uplink", DOCTOR_OK,
			fmt(s,
				"%d VMBus NIC(s) on uio_hv_generic: vhswd "
				"--uplink %s",
				ns.on_uio, ns.uio_dev),
			"the netvsc PMD probes every VMBus NIC bound to "
			"uio_hv_generic at vhswd's start.",
			NULL);
	else if (ns.free_netvsc > 0)
		add(d, "vmbus.uplink", DOCTOR_INFO,
			fmt(s,
				"no VMBus NIC given to the switch yet; %s can "
				"be",
				ns.free_if),
			"it carries no default route, so the host keeps its "
			"network.",
			fmt(fix, "uplink/vmbus-bind bind %s", ns.free_if));
	else if (ns.route_netvsc > 0)
		add(d, "vmbus.uplink", DOCTOR_WARN,
			fmt(s,
				"the only VMBus NIC, %s, carries the default "
				"route: uio_hv_generic would take the host's "
				"network with it",
				ns.route_if),
			fmt(det,
				"a netvsc uplink needs a NIC of its own; "
				"binding "
				"%s cuts this host off (vmbus-bind refuses it "
				"without --force).",
				ns.route_if),
			fmt(fix,
				"add a second adapter (docs/wsl2.md, section "
				"2), "
				"or share %s: vhswd --uplink "
				"net_af_packet0,iface=%s",
				ns.route_if, ns.route_if));
	else
		add(d, "vmbus.uplink", DOCTOR_INFO,
			"no VMBus NIC is usable as the uplink",
			"see the vmbus.nic findings.", NULL);

	if (!d->routes_known)
		add(d, "vmbus.default-route", DOCTOR_INFO,
			"unknown: cannot read /proc/net/route", "", NULL);
	else if (d->n_def_routes == 0 && ns.on_uio > 0)
		add(d, "vmbus.default-route", DOCTOR_WARN,
			"no default route, and a VMBus NIC is on "
			"uio_hv_generic: the host may have lost its network "
			"to the switch",
			"if the default route went through the NIC now bound "
			"to uio_hv_generic, Linux is offline until it is given "
			"back.",
			fmt(fix,
				"uplink/vmbus-bind unbind %s, then ip link set "
				"IFNAME up (or restart networking)",
				ns.uio_dev));
	else if (d->n_def_routes == 0)
		add(d, "vmbus.default-route", DOCTOR_INFO, "no default route",
			"", NULL);
	else
		add(d, "vmbus.default-route", DOCTOR_OK,
			fmt(s, "default route via %s%s", d->def_routes[0],
				d->n_def_routes > 1 ? " (and others)" : ""),
			ns.route_netvsc > 0
				? "a VMBus NIC on hv_netvsc carries "
				  "it (see its vmbus.nic finding)."
				: "no VMBus NIC carries it.",
			NULL);

	check_swiotlb(d, wsl);
}

/* ---- IOMMU and vfio ------------------------------------------------------ */

static void
check_iommu(struct doc *d)
{
	char s[DOC_TEXT];
	bool dev, drv;
	char **groups;
	int n;

	groups = doc_list(d, "/sys/kernel/iommu_groups", &n);
	free_names(groups);
	if (n > 0)
		add(d, "iommu", DOCTOR_OK, fmt(s, "%d IOMMU groups", n),
			"vfio-pci can give a PCI NIC to DPDK safely.", NULL);
	else
		add(d, "iommu", DOCTOR_INFO,
			"no IOMMU groups: a PCI NIC cannot be given to DPDK "
			"through vfio-pci",
			"only PCI NIC uplinks need it; net_af_packet, net_tap "
			"and the netvsc PMD (uio_hv_generic) do not.  In a VM "
			"the hypervisor must expose a virtual IOMMU.",
			"enable VT-d / AMD-Vi in the firmware and boot with "
			"intel_iommu=on iommu=pt (AMD: amd_iommu=on)");
	dev = doc_exists(d, "/dev/vfio/vfio");
	drv = doc_is_dir(d, "/sys/bus/pci/drivers/vfio-pci") ||
		doc_is_dir(d, "/sys/module/vfio_pci");
	if (dev && drv)
		add(d, "vfio", DOCTOR_OK, "vfio-pci is loaded",
			"bind a PCI NIC with dpdk-devbind.py -b vfio-pci "
			"BDF, then vhswd --uplink BDF.",
			NULL);
	else
		add(d, "vfio", DOCTOR_INFO,
			fmt(s, "vfio-pci is not loaded%s",
				dev ? "" : " (no /dev/vfio/vfio)"),
			"needed only for a PCI NIC uplink.",
			"modprobe vfio-pci");
}

/* ---- CPUs ------------------------------------------------------------------ */

static void
check_cpus(struct doc *d)
{
	bool *online = calloc(DOC_MAX_CPUS, sizeof(bool));
	bool *iso = calloc(DOC_MAX_CPUS, sizeof(bool));
	bool *nohz = calloc(DOC_MAX_CPUS, sizeof(bool));
	char text[DOC_SMALL], cmdline[DOC_SMALL], param[256], s[DOC_TEXT],
		det[DOC_TEXT], fix[DOC_TEXT], l1[256], l2[256];
	int n_online, n_iso = 0, n_nohz = 0, i, last = -1, ctl = -1, dp = -1;
	json_t *f = NULL;
	bool tickless;

	if (online == NULL || iso == NULL || nohz == NULL)
		goto out;
	doc_read(d, "/proc/cmdline", cmdline, sizeof(cmdline));
	if (doc_read(d, "/sys/devices/system/cpu/online", text, sizeof(text)) <
			0 ||
		(n_online = parse_cpulist(text, online)) <= 0) {
		add(d, "cpu.isolation", DOCTOR_INFO,
			"unknown: cannot read /sys/devices/system/cpu/online",
			"", NULL);
		goto out;
	}
	if (doc_read(d, "/sys/devices/system/cpu/isolated", text,
		    sizeof(text)) >= 0)
		n_iso = parse_cpulist(text, iso);
	else if (cmdline_param(cmdline, "isolcpus", param, sizeof(param)))
		n_iso = parse_cpulist(skip_flags(param), iso);
	if (doc_read(d, "/sys/devices/system/cpu/nohz_full", text,
		    sizeof(text)) >= 0 &&
		strcmp(text, "(null)") != 0)
		n_nohz = parse_cpulist(text, nohz);
	else if (cmdline_param(cmdline, "nohz_full", param, sizeof(param)))
		n_nohz = parse_cpulist(param, nohz);
	if (n_iso < 0)
		n_iso = 0;
	if (n_nohz < 0)
		n_nohz = 0;
	for (i = 0; i < DOC_MAX_CPUS; i++) {
		if (!online[i])
			continue;
		last = i;
		if (iso[i] && dp < 0)
			dp = i;
		if (!iso[i] && ctl < 0)
			ctl = i;
	}
	format_cpulist(online, l1, sizeof(l1));
	if (n_online == 1) {
		f = add(d, "cpu.isolation", DOCTOR_WARN,
			fmt(s,
				"one CPU online (%s): the data plane shares it "
				"with the control thread and everything else",
				l1),
			"vhswd runs on one CPU (--lcores 0), and with "
			"--poll-mode busy it would take all of it; keep the "
			"default adaptive mode, which sleeps when idle.",
			"give the machine a second CPU, and keep --poll-mode "
			"adaptive");
	} else if (n_iso == 0) {
		f = add(d, "cpu.isolation", DOCTOR_INFO,
			fmt(s,
				"no isolated CPUs (%d online: %s): the "
				"data-plane CPU is shared with other tasks",
				n_online, l1),
			"the data plane runs on the last CPU of --lcores "
			"(busy-polling under load); other tasks scheduled "
			"there add latency and jitter.  Isolating it "
			"(isolcpus, nohz_full, rcu_nocbs) keeps the kernel and "
			"other processes off it.",
			fmt(fix,
				"boot with isolcpus=%d nohz_full=%d "
				"rcu_nocbs=%d, "
				"then vhswd --lcores %d,%d",
				last, last, last, ctl >= 0 ? ctl : 0, last));
	} else if (ctl < 0) {
		f = add(d, "cpu.isolation", DOCTOR_WARN,
			fmt(s, "every online CPU (%s) is isolated", l1),
			"the control thread and the rest of the system also "
			"run on isolated CPUs, where the scheduler does not "
			"balance load.",
			"leave at least one CPU out of isolcpus=");
	} else {
		format_cpulist(iso, l2, sizeof(l2));
		tickless = nohz[dp];
		fmt(det,
			"run the data plane on an isolated CPU and the control "
			"thread on a shared one: vhswd --lcores %d,%d.%s",
			ctl, dp,
			tickless ? ""
				 : "  nohz_full does not cover it, so the "
				   "timer tick still interrupts the data plane "
				   "hundreds of times a second.");
		f = add(d, "cpu.isolation", tickless ? DOCTOR_OK : DOCTOR_INFO,
			fmt(s, "CPUs %s isolated%s (%d online: %s)", l2,
				tickless ? " and tickless" : "", n_online, l1),
			det,
			tickless ? NULL
				 : fmt(fix,
					   "add nohz_full=%s rcu_nocbs=%s to "
					   "the kernel command line",
					   l2, l2));
	}
	if (f != NULL) {
		json_object_set_new(f, "online", json_integer(n_online));
		json_object_set_new(f, "isolated",
			json_string(format_cpulist(iso, l2, sizeof(l2))));
	}
out:
	free(online);
	free(iso);
	free(nohz);
}

/* ---- socket directories and the daemon ---------------------------------- */

static void
check_dir(struct doc *d, const char *id, const char *dir, const char *role)
{
	char path[PATH_MAX], s[DOC_TEXT], det[DOC_TEXT], fix[DOC_TEXT];
	struct stat st;

	errno = ENAMETOOLONG;
	if (!doc_path(d, dir, path, sizeof(path)) || lstat(path, &st) != 0) {
		if (errno == ENOENT)
			add(d, id, DOCTOR_OK,
				fmt(s,
					"%s does not exist yet: vhswd creates "
					"it",
					dir),
				fmt(det,
					"%s; vhswd creates the control "
					"socket's directory (mode 0755) at "
					"start.",
					role),
				NULL);
		else
			add(d, id, DOCTOR_INFO,
				fmt(s, "unknown: cannot look at %s: %s", dir,
					strerror(errno)),
				role, NULL);
		return;
	}
	if (S_ISLNK(st.st_mode) && stat(path, &st) != 0) {
		add(d, id, DOCTOR_ERROR,
			fmt(s, "%s is a dangling symbolic link", dir),
			fmt(det, "%s; vhswd cannot create sockets there.",
				role),
			fmt(fix, "rm %s", dir));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		add(d, id, DOCTOR_ERROR,
			fmt(s, "%s exists and is not a directory", dir),
			fmt(det,
				"%s; vhswd cannot create sockets there and "
				"does not start with its control socket "
				"there.",
				role),
			fmt(fix,
				"rm %s (or point vhswd elsewhere with --ctl "
				"and --socket-dir)",
				dir));
		return;
	}
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		add(d, id, DOCTOR_ERROR,
			fmt(s,
				"%s is world-writable (mode %04o): any user "
				"can "
				"replace the sockets in it",
				dir, st.st_mode & 07777),
			fmt(det,
				"%s; whoever can write there can swap a "
				"socket for their own and talk to vhost-user "
				"peers or the control clients.",
				role),
			fmt(fix, "chmod 0755 %s", dir));
	} else if (st.st_mode & S_IWOTH) {
		add(d, id, DOCTOR_WARN,
			fmt(s,
				"%s is world-writable (sticky, mode %04o): any "
				"user can take socket names first",
				dir, st.st_mode & 07777),
			role, fmt(fix, "chmod 0755 %s", dir));
	} else if (st.st_uid != 0) {
		add(d, id, DOCTOR_WARN,
			fmt(s, "%s is owned by uid %u, not root", dir,
				(unsigned)st.st_uid),
			fmt(det,
				"%s; its owner can replace the sockets vhswd "
				"creates there.",
				role),
			fmt(fix, "chown root:root %s", dir));
	} else if (st.st_mode & S_IWGRP) {
		add(d, id, DOCTOR_WARN,
			fmt(s, "%s is group-writable (gid %u, mode %04o)", dir,
				(unsigned)st.st_gid, st.st_mode & 07777),
			fmt(det,
				"%s; members of that group can replace the "
				"sockets in it.",
				role),
			fmt(fix, "chmod g-w %s", dir));
	} else if (!(st.st_mode & (S_IXGRP | S_IXOTH))) {
		add(d, id, DOCTOR_INFO,
			fmt(s,
				"%s is mode %04o: only root can reach sockets "
				"in it",
				dir, st.st_mode & 07777),
			fmt(det,
				"%s; members of vhswd's --ctl-group and "
				"non-root vhost-user clients need search "
				"permission.",
				role),
			fmt(fix, "chmod 0755 %s", dir));
	} else {
		add(d, id, DOCTOR_OK,
			fmt(s, "%s: owner root, mode %04o", dir,
				st.st_mode & 07777),
			role, NULL);
	}
}

/* Sends a version request and waits for one line; 0, or -errno. */
static int
probe(int fd, char *version, size_t len)
{
	static const char req[] =
		"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"version\","
		"\"params\":{}}\n";
	struct timespec t0, now;
	char buf[4096];
	size_t used = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	json_t *reply;
	ssize_t k;
	long left;

	if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) !=
		(ssize_t)sizeof(req) - 1)
		return -EIO;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (memchr(buf, '\n', used) == NULL) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = DOCTOR_PROBE_TIMEOUT_MS -
			((now.tv_sec - t0.tv_sec) * 1000 +
				(now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || used >= sizeof(buf) - 1)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		k = recv(fd, buf + used, sizeof(buf) - 1 - used, 0);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -EIO;
		used += (size_t)k;
	}
	buf[used] = '\0';
	reply = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
	snprintf(version, len, "%s",
		json_string_value(json_object_get(
			json_object_get(reply, "result"), "version"))
			?: "unknown");
	json_decref(reply);
	return 0;
}

static void
check_daemon(struct doc *d)
{
	const char *ctl = d->o->ctl_path;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[PATH_MAX], s[DOC_TEXT], det[DOC_TEXT], fix[DOC_TEXT],
		version[64];
	struct stat st;
	int fd, ret;

	if (d->o->in_daemon) {
		add(d, "daemon", DOCTOR_OK,
			fmt(s, "this report comes from vhswd (pid %d)",
				(int)getpid()),
			"the checks ran on the daemon's host.", NULL);
		return;
	}
	if (ctl == NULL) {
		add(d, "daemon", DOCTOR_INFO,
			"control socket not checked (no path given)", "", NULL);
		return;
	}
	if (!doc_path(d, ctl, path, sizeof(path)) || lstat(path, &st) != 0) {
		add(d, "daemon", DOCTOR_INFO,
			fmt(s, "no vhswd: %s does not exist", ctl),
			"doctor does not need a running vhswd; the other "
			"commands do.",
			fmt(fix, "start vhswd (vhswd --ctl %s)", ctl));
		return;
	}
	if (!S_ISSOCK(st.st_mode)) {
		add(d, "daemon", DOCTOR_WARN,
			fmt(s, "%s exists and is not a socket: no vhswd", ctl),
			"vhswd removes whatever is at its --ctl path when it "
			"starts, so this file will be lost.",
			fmt(fix,
				"move %s away if it matters (or start vhswd "
				"with another --ctl)",
				ctl));
		return;
	}
	if (st.st_mode & S_IWOTH) {
		add(d, "daemon.socket", DOCTOR_WARN,
			fmt(s,
				"%s is mode %04o: every local user can control "
				"the switch",
				ctl, st.st_mode & 07777),
			"vhswd creates it 0660; something changed it.",
			fmt(fix, "chmod 0660 %s", ctl));
	}
	if (!d->o->probe_daemon || strlen(path) >= sizeof(sa.sun_path)) {
		add(d, "daemon", DOCTOR_INFO,
			fmt(s, "control socket %s exists (not probed)", ctl),
			"", NULL);
		return;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		ret = errno;
		if (fd >= 0)
			close(fd);
		if (ret == ECONNREFUSED)
			add(d, "daemon", DOCTOR_WARN,
				fmt(s,
					"stale control socket %s: no vhswd "
					"listens",
					ctl),
				"vhswd exited without removing it (a crash or "
				"SIGKILL); a new vhswd replaces it.",
				"start vhswd");
		else if (ret == EACCES || ret == EPERM)
			add(d, "daemon", DOCTOR_WARN,
				fmt(s, "cannot connect to %s: %s", ctl,
					strerror(ret)),
				fmt(det,
					"the socket is mode %04o, owner %u, "
					"group %u.",
					st.st_mode & 07777, (unsigned)st.st_uid,
					(unsigned)st.st_gid),
				"run as root, or as a member of vhswd's "
				"--ctl-group");
		else
			add(d, "daemon", DOCTOR_WARN,
				fmt(s, "cannot connect to %s: %s", ctl,
					strerror(ret)),
				"", NULL);
		return;
	}
	ret = probe(fd, version, sizeof(version));
	close(fd);
	if (ret == 0)
		add(d, "daemon", DOCTOR_OK,
			fmt(s, "vhswd %s answers on %s", version, ctl), "",
			NULL);
	else
		add(d, "daemon", DOCTOR_WARN,
			fmt(s,
				"vhswd accepted a connection on %s but did not "
				"answer within %d ms",
				ctl, DOCTOR_PROBE_TIMEOUT_MS),
			"its control thread may be stuck or overloaded.",
			"look at vhswd's log; restart it if it stays so");
}

static void
check_socket_dirs(struct doc *d)
{
	char *copy, *slash, role[DOC_TEXT];
	const char *ctl_dir;

	if (d->o->ctl_path == NULL) {
		check_dir(d, "socket-dir", PATHS_DEFAULT_SOCKET_DIR,
			"the default directory of vhost-user sockets "
			"(--socket-dir)");
		return;
	}
	copy = strdup(d->o->ctl_path);
	if (copy == NULL)
		return;
	slash = strrchr(copy, '/');
	if (slash == NULL)
		ctl_dir = ".";
	else if (slash == copy)
		ctl_dir = "/";
	else
		*slash = '\0', ctl_dir = copy;
	if (strcmp(ctl_dir, PATHS_DEFAULT_SOCKET_DIR) == 0) {
		check_dir(d, "socket-dir", PATHS_DEFAULT_SOCKET_DIR,
			"the default directory of vhost-user sockets and of "
			"the control socket");
	} else {
		check_dir(d, "socket-dir", PATHS_DEFAULT_SOCKET_DIR,
			"the default directory of vhost-user sockets "
			"(--socket-dir)");
		fmt(role, "the directory of the control socket %s",
			d->o->ctl_path);
		check_dir(d, "ctl-dir", ctl_dir, role);
	}
	free(copy);
}

/* ---- the report ------------------------------------------------------------ */

json_t *
doctor_run(const struct doctor_opts *o)
{
	struct doc d = {.o = o};
	const char *root = o->root ? o->root : "/";
	char *r = strdup(root);
	json_t *report, *f, *counts;
	enum doctor_severity s;
	size_t i, k;
	int n[DOCTOR_ERROR + 1] = {0};

	if (r == NULL)
		return NULL;
	for (k = strlen(r); k > 0 && r[k - 1] == '/'; k--)
		r[k - 1] = '\0';
	d.root = r;
	d.findings = json_array();
	if (d.findings == NULL) {
		free(r);
		return NULL;
	}
	check_hugepages(&d);
	check_thp(&d);
	check_kernel_ports(&d);
	check_hyperv(&d);
	check_iommu(&d);
	check_cpus(&d);
	check_socket_dirs(&d);
	check_daemon(&d);
	free(r);

	json_array_foreach(d.findings, i, f)
	{
		for (s = DOCTOR_OK; s <= DOCTOR_ERROR; s++)
			if (strcmp(json_string_value(
					   json_object_get(f, "severity")),
				    sev_names[s]) == 0)
				n[s]++;
	}
	counts = json_pack("{s:i, s:i, s:i, s:i}", "ok", n[DOCTOR_OK], "info",
		n[DOCTOR_INFO], "warn", n[DOCTOR_WARN], "error",
		n[DOCTOR_ERROR]);
	report = json_pack("{s:s, s:o, s:o}", "root", root, "findings",
		d.findings, "counts", counts);
	return report;
}

enum doctor_severity
doctor_worst(const json_t *report)
{
	enum doctor_severity worst = DOCTOR_OK, s;
	const char *name;
	json_t *f;
	size_t i;

	json_array_foreach(json_object_get(report, "findings"), i, f)
	{
		name = json_string_value(json_object_get(f, "severity"));
		for (s = DOCTOR_OK; name != NULL && s <= DOCTOR_ERROR; s++)
			if (strcmp(name, sev_names[s]) == 0 && s > worst)
				worst = s;
	}
	return worst;
}
