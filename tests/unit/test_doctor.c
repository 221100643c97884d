/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_doctor.c - the host checks (doctor.h) against fake sysfs/procfs
 * trees built in a temporary directory: a plain Linux VM like the test
 * machine, hugepages reserved, mounted or short, THP settings, vhost-net
 * and TAP, a WSL2-like VMBus (a NIC on hv_netvsc carrying the default
 * route, one on uio_hv_generic, the hv_pci SWIOTLB files present, absent
 * or garbage), isolated CPUs, socket directory modes and owners, the
 * control socket (missing, not a socket, stale, answering, silent), and
 * files that are missing, malformed, directories or FIFOs.  Each case
 * asserts the findings' ids and severities.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include <jansson.h>

#include "doctor.h"

#define NIC_ROUTE "0a1b2c3d-0000-4000-8000-000000000001"
#define NIC_UIO "0a1b2c3d-0000-4000-8000-000000000002"
#define NIC_FREE "0a1b2c3d-0000-4000-8000-000000000003"
#define SCSI_DEV "0a1b2c3d-0000-4000-8000-000000000009"
#define NET_CLASS "{f8615163-df3e-46c5-913f-f2d2f965ed0e}"
#define SCSI_CLASS "{ba6163d9-04a1-4d29-b605-72e2ffb1dc7f}"
#define CTL "/run/vhsw/vhswd.sock"

struct fixture {
	char root[64];
	json_t *report;
};

/* ---- building trees ------------------------------------------------- */

static void
mkdirs(const char *root, const char *rel)
{
	char path[4096], *p;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	for (p = path + strlen(root) + 1; *p != '\0'; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	mkdir(path, 0755);
}

/* Writes 'text' to root/rel, creating the directories above it. */
static void
put(const char *root, const char *rel, const char *text)
{
	char path[4096], dir[4096];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s", rel);
	*strrchr(dir, '/') = '\0';
	if (dir[0] != '\0')
		mkdirs(root, dir);
	snprintf(path, sizeof(path), "%s%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
link_to(const char *root, const char *rel, const char *target)
{
	char path[4096], dir[4096];

	snprintf(dir, sizeof(dir), "%s", rel);
	*strrchr(dir, '/') = '\0';
	mkdirs(root, dir);
	snprintf(path, sizeof(path), "%s%s", root, rel);
	unlink(path);
	assert_int_equal(symlink(target, path), 0);
}

static void
rm(const char *root, const char *rel)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s%s", root, rel);
	if (unlink(path) != 0)
		assert_int_equal(rmdir(path), 0);
}

static const char MEMINFO_NONE[] = "MemTotal:       24000000 kB\n"
				   "HugePages_Total:       0\n"
				   "HugePages_Free:        0\n"
				   "HugePages_Rsvd:        0\n"
				   "HugePages_Surp:        0\n"
				   "Hugepagesize:       2048 kB\n";

static const char ROUTE_HDR[] =
	"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU"
	"\tWindow\tIRTT\n";

/* A Debian VM like the test machine: no hugepages, THP madvise, TAP but
 * no vhost-net, no VMBus, no IOMMU, 2 CPUs, nothing isolated. */
static void
plain_vm(const char *r)
{
	put(r, "/proc/meminfo", MEMINFO_NONE);
	put(r, "/proc/mounts",
		"sysfs /sys sysfs rw 0 0\nproc /proc proc rw 0 0\n");
	put(r, "/proc/cmdline", "console=ttyS0 quiet panic=1\n");
	put(r, "/proc/sys/kernel/osrelease", "6.1.0-27-amd64\n");
	put(r, "/proc/net/route",
		"Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask"
		"\n"
		"eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
	put(r, "/sys/kernel/mm/transparent_hugepage/enabled",
		"always [madvise] never\n");
	put(r, "/sys/kernel/mm/transparent_hugepage/shmem_enabled",
		"always within_size advise [never] deny force\n");
	put(r, "/dev/net/tun", "");
	mkdirs(r, "/sys/kernel/iommu_groups");
	put(r, "/sys/devices/system/cpu/online", "0-1\n");
	put(r, "/sys/devices/system/cpu/isolated", "\n");
	mkdirs(r, "/run");
}

/* A WSL2 VM: eth0 on hv_netvsc with the default route, a second NIC on
 * uio_hv_generic (uio0), a SCSI controller, and the hv_pci SWIOTLB. */
static void
wsl2(const char *r)
{
	plain_vm(r);
	put(r, "/proc/sys/kernel/osrelease",
		"6.6.87.2-microsoft-standard-WSL2\n");
	put(r, "/proc/cmdline",
		"initrd=\\initrd.img panic=-1 nr_cpus=2 swiotlb=force "
		"hv_pci_swiotlb=64M pty.legacy_count=0\n");
	put(r, "/sys/bus/vmbus/devices/" NIC_ROUTE "/class_id", NET_CLASS "\n");
	link_to(r, "/sys/bus/vmbus/devices/" NIC_ROUTE "/driver",
		"../../../../bus/vmbus/drivers/hv_netvsc");
	mkdirs(r, "/sys/bus/vmbus/devices/" NIC_ROUTE "/net/eth0");
	put(r, "/sys/bus/vmbus/devices/" NIC_ROUTE "/driver_override",
		"(null)\n");
	put(r, "/sys/bus/vmbus/devices/" NIC_UIO "/class_id", NET_CLASS "\n");
	link_to(r, "/sys/bus/vmbus/devices/" NIC_UIO "/driver",
		"../../../../bus/vmbus/drivers/uio_hv_generic");
	mkdirs(r, "/sys/bus/vmbus/devices/" NIC_UIO "/uio/uio0");
	put(r, "/dev/uio0", "");
	put(r, "/sys/bus/vmbus/devices/" SCSI_DEV "/class_id", SCSI_CLASS "\n");
	link_to(r, "/sys/bus/vmbus/devices/" SCSI_DEV "/driver",
		"../../../../bus/vmbus/drivers/hv_storvsc");
	mkdirs(r, "/sys/bus/vmbus/drivers/hv_netvsc");
	mkdirs(r, "/sys/bus/vmbus/drivers/uio_hv_generic");
	put(r, "/sys/bus/vmbus/drivers/hv_pci/swiotlb_base", "0x7c000000\n");
	put(r, "/sys/bus/vmbus/drivers/hv_pci/swiotlb_size", "67108864\n");
}

/* ---- running and asserting ------------------------------------------ */

static void
run_ctl(struct fixture *fx, const char *ctl)
{
	struct doctor_opts o = {
		.root = fx->root,
		.ctl_path = ctl,
		.probe_daemon = true,
	};

	json_decref(fx->report);
	fx->report = doctor_run(&o);
	assert_non_null(fx->report);
}

static void
run(struct fixture *fx)
{
	run_ctl(fx, CTL);
}

/* The finding with this id, or NULL. */
static json_t *
find(struct fixture *fx, const char *id)
{
	json_t *f;
	size_t i;

	json_array_foreach(json_object_get(fx->report, "findings"), i, f)
	{
		if (strcmp(json_string_value(json_object_get(f, "id")), id) ==
			0)
			return f;
	}
	return NULL;
}

/* Finding 'id' exists with severity 'sev'; returns it. */
static json_t *
expect(struct fixture *fx, const char *id, const char *sev)
{
	json_t *f = find(fx, id);
	const char *got;

	if (f == NULL) {
		char *dump = json_dumps(fx->report, JSON_INDENT(1));

		print_error("%s\n", dump);
		free(dump);
		fail_msg("no finding '%s'", id);
	}
	got = json_string_value(json_object_get(f, "severity"));
	if (strcmp(got, sev) != 0)
		fail_msg("finding '%s' is %s, expected %s: %s", id, got, sev,
			json_string_value(json_object_get(f, "summary")));
	/* Every finding has the keys a reader relies on. */
	assert_true(json_is_string(json_object_get(f, "summary")));
	assert_true(json_string_length(json_object_get(f, "summary")) > 0);
	assert_true(json_is_string(json_object_get(f, "details")));
	assert_true(json_is_string(json_object_get(f, "fix")) ||
		json_is_null(json_object_get(f, "fix")));
	return f;
}

static const char *
field(json_t *f, const char *key)
{
	return json_string_value(json_object_get(f, key));
}

static bool
contains(json_t *f, const char *key, const char *needle)
{
	const char *s = field(f, key);

	return s != NULL && strstr(s, needle) != NULL;
}

/* ---- fixtures ---------------------------------------------------------- */

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	snprintf(fx->root, sizeof(fx->root), "/tmp/vhsw-doctor-XXXXXX");
	if (mkdtemp(fx->root) == NULL)
		return -1;
	*state = fx;
	return 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	json_decref(fx->report);
	nftw(fx->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

/* ---- the plain VM -------------------------------------------------------- */

static void
test_plain_vm(void **state)
{
	struct fixture *fx = *state;
	json_t *counts;

	plain_vm(fx->root);
	run(fx);
	assert_true(
		contains(expect(fx, "hugepages", "info"), "summary", "memfd"));
	assert_true(contains(find(fx, "hugepages"), "fix", "nr_hugepages"));
	expect(fx, "thp", "ok");
	assert_true(
		contains(expect(fx, "vhost-net", "info"), "summary", "TAP"));
	expect(fx, "tun", "ok");
	assert_true(
		contains(expect(fx, "hyperv", "ok"), "summary", "no VMBus"));
	/* the VMBus checks are skipped */
	assert_null(find(fx, "uio_hv_generic"));
	assert_null(find(fx, "swiotlb"));
	assert_null(find(fx, "vmbus.uplink"));
	expect(fx, "iommu", "info");
	expect(fx, "vfio", "info");
	assert_true(contains(
		expect(fx, "cpu.isolation", "info"), "fix", "isolcpus=1"));
	assert_true(contains(find(fx, "cpu.isolation"), "fix", "--lcores 0,1"));
	expect(fx, "socket-dir", "ok");   /* /run/vhsw missing: created */
	assert_null(find(fx, "ctl-dir")); /* same directory */
	assert_true(
		contains(expect(fx, "daemon", "info"), "summary", "no vhswd"));
	assert_int_equal(doctor_worst(fx->report), DOCTOR_INFO);
	counts = json_object_get(fx->report, "counts");
	assert_int_equal(json_integer_value(json_object_get(counts, "ok")) +
			json_integer_value(json_object_get(counts, "info")) +
			json_integer_value(json_object_get(counts, "warn")) +
			json_integer_value(json_object_get(counts, "error")),
		json_array_size(json_object_get(fx->report, "findings")));
	assert_int_equal(
		json_integer_value(json_object_get(counts, "error")), 0);
	assert_string_equal(field(fx->report, "root"), fx->root);
}

/* ---- hugepages and THP -------------------------------------------------- */

static void
test_hugepages(void **state)
{
	struct fixture *fx = *state;

	plain_vm(fx->root);
	/* reserved, not mounted */
	put(fx->root, "/proc/meminfo",
		"HugePages_Total:     512\nHugePages_Free:      512\n"
		"Hugepagesize:       2048 kB\n");
	run(fx);
	assert_true(contains(
		expect(fx, "hugepages", "warn"), "fix", "mount -t hugetlbfs"));
	/* mounted with room for vhswd's 512 MB */
	put(fx->root, "/proc/mounts",
		"sysfs /sys sysfs rw 0 0\n"
		"hugetlbfs /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 "
		"0\n");
	run(fx);
	assert_true(contains(
		expect(fx, "hugepages", "ok"), "summary", "/dev/hugepages"));
	/* mounted, but only 100 pages (200 MiB) free */
	put(fx->root, "/proc/meminfo",
		"HugePages_Total:     512\nHugePages_Free:      100\n"
		"Hugepagesize:       2048 kB\n");
	run(fx);
	assert_true(contains(
		expect(fx, "hugepages", "warn"), "summary", "200 MiB"));
	/* 412 used + 256 for 512 MB */
	assert_true(contains(find(fx, "hugepages"), "fix", "echo 668 >"));
	/* 1 GiB pages: one page is enough */
	put(fx->root, "/proc/meminfo",
		"HugePages_Total:       2\nHugePages_Free:        1\n"
		"Hugepagesize:    1048576 kB\n");
	run(fx);
	expect(fx, "hugepages", "ok");
}

static void
test_thp(void **state)
{
	struct fixture *fx = *state;

	plain_vm(fx->root);
	put(fx->root, "/sys/kernel/mm/transparent_hugepage/enabled",
		"[always] madvise never\n");
	run(fx);
	assert_true(contains(expect(fx, "thp", "ok"), "summary", "always"));
	put(fx->root, "/sys/kernel/mm/transparent_hugepage/enabled",
		"always madvise [never]\n");
	run(fx);
	assert_true(contains(expect(fx, "thp", "info"), "fix", "echo madvise"));
	rm(fx->root, "/sys/kernel/mm/transparent_hugepage/enabled");
	run(fx);
	assert_true(contains(expect(fx, "thp", "info"), "summary", "unknown"));
}

/* ---- kernel ports ------------------------------------------------------ */

static void
test_kernel_ports(void **state)
{
	struct fixture *fx = *state;

	plain_vm(fx->root);
	put(fx->root, "/dev/vhost-net", "");
	run(fx);
	expect(fx, "vhost-net", "ok");
	expect(fx, "tun", "ok");
	rm(fx->root, "/dev/net/tun");
	run(fx);
	assert_true(contains(expect(fx, "tun", "warn"), "fix", "modprobe tun"));
	assert_int_equal(doctor_worst(fx->report), DOCTOR_WARN);
}

/* ---- WSL2 ------------------------------------------------------------------ */

static void
test_wsl2(void **state)
{
	struct fixture *fx = *state;
	json_t *f;

	wsl2(fx->root);
	run(fx);
	assert_true(contains(expect(fx, "hyperv", "ok"), "summary", "WSL2"));
	expect(fx, "uio_hv_generic", "ok");

	/* eth0: hv_netvsc, the default route: keep it */
	f = expect(fx, "vmbus.nic." NIC_ROUTE, "info");
	assert_string_equal(field(f, "driver"), "hv_netvsc");
	assert_string_equal(field(f, "ifname"), "eth0");
	assert_true(json_is_true(json_object_get(f, "default_route")));
	assert_true(contains(f, "summary", "default route"));

	/* the second NIC: on uio_hv_generic, /dev/uio0 there */
	f = expect(fx, "vmbus.nic." NIC_UIO, "ok");
	assert_string_equal(field(f, "driver"), "uio_hv_generic");
	assert_true(json_is_null(json_object_get(f, "ifname")));
	assert_true(json_is_false(json_object_get(f, "default_route")));
	assert_true(contains(f, "details", "vhswd --uplink " NIC_UIO));

	/* not a NIC */
	assert_null(find(fx, "vmbus.nic." SCSI_DEV));

	assert_true(
		contains(expect(fx, "vmbus.uplink", "ok"), "summary", NIC_UIO));
	assert_true(contains(
		expect(fx, "vmbus.default-route", "ok"), "summary", "eth0"));
	assert_true(contains(expect(fx, "swiotlb", "ok"), "summary",
		"64 MiB at 0x7c000000"));
	assert_int_equal(doctor_worst(fx->report), DOCTOR_INFO);
}

static void
test_wsl2_swiotlb_absent(void **state)
{
	struct fixture *fx = *state;
	json_t *f;

	wsl2(fx->root);
	rm(fx->root, "/sys/bus/vmbus/drivers/hv_pci/swiotlb_base");
	rm(fx->root, "/sys/bus/vmbus/drivers/hv_pci/swiotlb_size");
	run(fx);
	f = expect(fx, "swiotlb", "info");
	assert_true(contains(f, "summary", "no per-device SWIOTLB"));
	assert_true(contains(f, "details", "bounce"));
	assert_true(contains(f, "details", "swiotlb=force"));
	assert_true(contains(
		f, "details", "/sys/bus/vmbus/drivers/hv_pci/swiotlb_base"));
	assert_true(contains(f, "fix", "wsl --update"));

	/* only one of the two files */
	put(fx->root, "/sys/bus/vmbus/drivers/hv_pci/swiotlb_base",
		"0x7c000000\n");
	run(fx);
	assert_true(contains(expect(fx, "swiotlb", "info"), "details",
		"one file is missing"));

	/* size 0: published, nothing reserved */
	put(fx->root, "/sys/bus/vmbus/drivers/hv_pci/swiotlb_size", "0\n");
	run(fx);
	assert_true(contains(expect(fx, "swiotlb", "info"), "summary",
		"no per-device SWIOTLB"));

	/* garbage */
	put(fx->root, "/sys/bus/vmbus/drivers/hv_pci/swiotlb_size", "lots\n");
	run(fx);
	assert_true(
		contains(expect(fx, "swiotlb", "info"), "summary", "unknown"));

	/* a Hyper-V VM (not WSL): the fix is a kernel, not wsl --update */
	rm(fx->root, "/sys/bus/vmbus/drivers/hv_pci/swiotlb_base");
	rm(fx->root, "/sys/bus/vmbus/drivers/hv_pci/swiotlb_size");
	put(fx->root, "/proc/sys/kernel/osrelease", "6.1.0-27-amd64\n");
	run(fx);
	assert_true(contains(
		expect(fx, "hyperv", "ok"), "summary", "Hyper-V guest"));
	assert_true(contains(
		expect(fx, "swiotlb", "info"), "fix", "hv_pci_swiotlb="));
}

/* The only NIC carries the default route and has a driver override to
 * uio_hv_generic: the next probe takes the host's network. */
static void
test_wsl2_route_nic_taken(void **state)
{
	struct fixture *fx = *state;
	json_t *f;

	wsl2(fx->root);
	rm(fx->root, "/sys/bus/vmbus/devices/" NIC_UIO "/uio/uio0");
	rm(fx->root, "/sys/bus/vmbus/devices/" NIC_UIO "/uio");
	rm(fx->root, "/sys/bus/vmbus/devices/" NIC_UIO "/driver");
	rm(fx->root, "/sys/bus/vmbus/devices/" NIC_UIO "/class_id");
	rm(fx->root, "/sys/bus/vmbus/devices/" NIC_UIO);
	run(fx);
	/* eth0 is the only NIC: a netvsc uplink would take it */
	assert_true(contains(expect(fx, "vmbus.uplink", "warn"), "fix",
		"net_af_packet0,iface=eth0"));
	expect(fx, "vmbus.nic." NIC_ROUTE, "info");

	put(fx->root, "/sys/bus/vmbus/devices/" NIC_ROUTE "/driver_override",
		"uio_hv_generic\n");
	run(fx);
	f = expect(fx, "vmbus.nic." NIC_ROUTE, "warn");
	assert_true(contains(f, "summary", "cuts this host off"));
	assert_true(contains(f, "fix", "unset-override " NIC_ROUTE));

	/* a second NIC without routes: the switch can have it */
	put(fx->root, "/sys/bus/vmbus/devices/" NIC_FREE "/class_id",
		"{F8615163-DF3E-46C5-913F-F2D2F965ED0E}\n");
	link_to(fx->root, "/sys/bus/vmbus/devices/" NIC_FREE "/driver",
		"../../../../bus/vmbus/drivers/hv_netvsc");
	mkdirs(fx->root, "/sys/bus/vmbus/devices/" NIC_FREE "/net/eth1");
	run(fx);
	f = expect(fx, "vmbus.nic." NIC_FREE, "ok");
	assert_string_equal(field(f, "ifname"), "eth1");
	assert_true(contains(expect(fx, "vmbus.uplink", "info"), "fix",
		"vmbus-bind bind eth1"));
}

static void
test_wsl2_broken_binds(void **state)
{
	struct fixture *fx = *state;

	wsl2(fx->root);
	/* on uio_hv_generic, but /dev/uio0 is missing */
	rm(fx->root, "/dev/uio0");
	run(fx);
	assert_true(contains(expect(fx, "vmbus.nic." NIC_UIO, "warn"),
		"summary", "/dev/uio0"));

	/* eth0 was given away: no default route any more */
	put(fx->root, "/proc/net/route", ROUTE_HDR);
	rm(fx->root, "/sys/bus/vmbus/devices/" NIC_ROUTE "/driver");
	run(fx);
	assert_true(contains(expect(fx, "vmbus.default-route", "warn"), "fix",
		"vmbus-bind unbind " NIC_UIO));
	/* a NIC with no driver at all */
	assert_true(contains(expect(fx, "vmbus.nic." NIC_ROUTE, "warn"),
		"summary", "no driver"));

	/* uio_hv_generic not loaded */
	rm(fx->root, "/sys/bus/vmbus/drivers/uio_hv_generic");
	run(fx);
	assert_true(contains(expect(fx, "uio_hv_generic", "info"), "fix",
		"modprobe uio_hv_generic"));
}

/* The default route over IPv6 only counts too. */
static void
test_ipv6_default_route(void **state)
{
	struct fixture *fx = *state;
	json_t *f;

	wsl2(fx->root);
	put(fx->root, "/proc/net/route", ROUTE_HDR);
	put(fx->root, "/proc/net/ipv6_route",
		"fe800000000000000000000000000000 40 "
		"00000000000000000000000000000000 00 "
		"00000000000000000000000000000000 00000100 00000001 00000000 "
		"00000001     eth0\n"
		"00000000000000000000000000000000 00 "
		"00000000000000000000000000000000 00 "
		"fe800000000000000000000000000001 00000400 00000001 00000000 "
		"00000003     eth0\n");
	run(fx);
	f = expect(fx, "vmbus.nic." NIC_ROUTE, "info");
	assert_true(json_is_true(json_object_get(f, "default_route")));
	expect(fx, "vmbus.default-route", "ok");
}

/* ---- IOMMU ------------------------------------------------------------------ */

static void
test_iommu(void **state)
{
	struct fixture *fx = *state;

	plain_vm(fx->root);
	mkdirs(fx->root, "/sys/kernel/iommu_groups/0");
	mkdirs(fx->root, "/sys/kernel/iommu_groups/1");
	put(fx->root, "/dev/vfio/vfio", "");
	mkdirs(fx->root, "/sys/bus/pci/drivers/vfio-pci");
	run(fx);
	assert_true(contains(
		expect(fx, "iommu", "ok"), "summary", "2 IOMMU groups"));
	expect(fx, "vfio", "ok");
	rm(fx->root, "/sys/kernel/iommu_groups/0");
	rm(fx->root, "/sys/kernel/iommu_groups/1");
	rm(fx->root, "/sys/kernel/iommu_groups");
	run(fx);
	assert_true(
		contains(expect(fx, "iommu", "info"), "fix", "intel_iommu=on"));
}

/* ---- CPUs ------------------------------------------------------------------- */

static void
test_cpus(void **state)
{
	struct fixture *fx = *state;
	json_t *f;

	plain_vm(fx->root);
	put(fx->root, "/sys/devices/system/cpu/online", "0-3\n");
	put(fx->root, "/sys/devices/system/cpu/isolated", "2-3\n");
	put(fx->root, "/sys/devices/system/cpu/nohz_full", "2-3\n");
	run(fx);
	f = expect(fx, "cpu.isolation", "ok");
	assert_true(contains(f, "summary", "CPUs 2-3 isolated"));
	assert_true(contains(f, "details", "--lcores 0,2"));
	assert_int_equal(json_integer_value(json_object_get(f, "online")), 4);
	assert_string_equal(field(f, "isolated"), "2-3");

	/* isolated, but the tick still runs there */
	put(fx->root, "/sys/devices/system/cpu/nohz_full", "(null)\n");
	run(fx);
	assert_true(contains(
		expect(fx, "cpu.isolation", "info"), "fix", "nohz_full=2-3"));
	/* nohz_full from the command line when sysfs has none */
	rm(fx->root, "/sys/devices/system/cpu/nohz_full");
	put(fx->root, "/proc/cmdline", "quiet isolcpus=2,3 nohz_full=2,3\n");
	run(fx);
	expect(fx, "cpu.isolation", "ok");
	/* isolcpus from the command line when sysfs has no isolated file */
	rm(fx->root, "/sys/devices/system/cpu/isolated");
	put(fx->root, "/proc/cmdline",
		"quiet isolcpus=managed_irq,domain,1,3 nohz_full=1,3\n");
	run(fx);
	f = expect(fx, "cpu.isolation", "ok");
	assert_true(contains(f, "details", "--lcores 0,1"));
	assert_string_equal(field(f, "isolated"), "1,3");

	/* every CPU isolated */
	put(fx->root, "/sys/devices/system/cpu/isolated", "0-3\n");
	run(fx);
	expect(fx, "cpu.isolation", "warn");

	/* one CPU */
	put(fx->root, "/sys/devices/system/cpu/online", "0\n");
	put(fx->root, "/sys/devices/system/cpu/isolated", "\n");
	run(fx);
	assert_true(contains(
		expect(fx, "cpu.isolation", "warn"), "summary", "one CPU"));

	/* unreadable */
	put(fx->root, "/sys/devices/system/cpu/online", "zero to three\n");
	run(fx);
	assert_true(contains(
		expect(fx, "cpu.isolation", "info"), "summary", "unknown"));
}

/* ---- socket directories -------------------------------------------------- */

static void
test_socket_dirs(void **state)
{
	struct fixture *fx = *state;
	char path[4096];

	plain_vm(fx->root);
	snprintf(path, sizeof(path), "%s/run/vhsw", fx->root);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(chmod(path, 0755), 0);
	run(fx);
	assert_true(contains(
		expect(fx, "socket-dir", "ok"), "summary", "mode 0755"));

	assert_int_equal(chmod(path, 0777), 0);
	run(fx);
	assert_true(contains(expect(fx, "socket-dir", "error"), "fix",
		"chmod 0755 /run/vhsw"));
	assert_int_equal(doctor_worst(fx->report), DOCTOR_ERROR);
	assert_int_equal(
		json_integer_value(json_object_get(
			json_object_get(fx->report, "counts"), "error")),
		1);

	assert_int_equal(chmod(path, 01777), 0);
	run(fx);
	expect(fx, "socket-dir", "warn");

	assert_int_equal(chmod(path, 0775), 0);
	run(fx);
	expect(fx, "socket-dir", "warn");

	assert_int_equal(chmod(path, 0700), 0);
	run(fx);
	assert_true(contains(
		expect(fx, "socket-dir", "info"), "summary", "only root"));

	if (geteuid() == 0) {
		assert_int_equal(chmod(path, 0755), 0);
		assert_int_equal(chown(path, 1000, 1000), 0);
		run(fx);
		assert_true(contains(expect(fx, "socket-dir", "warn"), "fix",
			"chown root:root /run/vhsw"));
		assert_int_equal(chown(path, 0, 0), 0);
	}

	/* a file where the directory should be */
	assert_int_equal(rmdir(path), 0);
	put(fx->root, "/run/vhsw", "");
	run(fx);
	assert_true(contains(expect(fx, "socket-dir", "error"), "summary",
		"not a directory"));

	/* the control socket elsewhere: its directory is checked too */
	mkdirs(fx->root, "/var/run/sw");
	snprintf(path, sizeof(path), "%s/var/run/sw", fx->root);
	assert_int_equal(chmod(path, 0777), 0);
	run_ctl(fx, "/var/run/sw/ctl.sock");
	assert_true(contains(
		expect(fx, "ctl-dir", "error"), "summary", "/var/run/sw"));
	expect(fx, "socket-dir", "error");
}

/* ---- the daemon -------------------------------------------------------------- */

/* A listening unix socket at root + rel; its fd. */
static int
listen_at(struct fixture *fx, const char *rel)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s%s", fx->root, rel);
	unlink(sa.sun_path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* A vhswd stand-in: answers one request with a version. */
static void *
answer_one(void *arg)
{
	static const char reply[] = "{\"jsonrpc\":\"2.0\",\"id\":1,"
				    "\"result\":{\"version\":\"9.8.7\"}}\n";
	int lfd = *(int *)arg, fd;
	char buf[512];

	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		return NULL;
	if (read(fd, buf, sizeof(buf)) > 0)
		(void)!write(fd, reply, sizeof(reply) - 1);
	close(fd);
	return NULL;
}

static void
test_daemon(void **state)
{
	struct fixture *fx = *state;
	pthread_t t;
	int fd;

	plain_vm(fx->root);
	mkdirs(fx->root, "/run/vhsw");

	/* not a socket */
	put(fx->root, CTL, "");
	run(fx);
	assert_true(contains(
		expect(fx, "daemon", "warn"), "fix", "move " CTL " away"));
	rm(fx->root, CTL);

	/* stale: bound, then closed */
	fd = listen_at(fx, CTL);
	close(fd);
	run(fx);
	assert_true(contains(expect(fx, "daemon", "warn"), "summary", "stale"));

	/* answering */
	fd = listen_at(fx, CTL);
	assert_int_equal(pthread_create(&t, NULL, answer_one, &fd), 0);
	run(fx);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_true(contains(
		expect(fx, "daemon", "ok"), "summary", "vhswd 9.8.7 answers"));

	/* accepts (backlog) but never answers: bounded wait */
	run(fx);
	assert_true(contains(
		expect(fx, "daemon", "warn"), "summary", "did not answer"));
	close(fd);

	/* vhswd's own report: it does not know its --ctl path */
	{
		struct doctor_opts o = {.root = fx->root, .in_daemon = true};

		json_decref(fx->report);
		fx->report = doctor_run(&o);
		assert_true(contains(
			expect(fx, "daemon", "ok"), "summary", "from vhswd"));
		expect(fx, "socket-dir", "ok");
		assert_null(find(fx, "ctl-dir"));
	}
}

/* ---- odd trees ----------------------------------------------------------------- */

/* An empty tree: every check says unknown or absent, nothing fails. */
static void
test_empty_tree(void **state)
{
	struct fixture *fx = *state;

	run(fx);
	assert_true(contains(
		expect(fx, "hugepages", "info"), "summary", "unknown"));
	assert_true(contains(expect(fx, "thp", "info"), "summary", "unknown"));
	expect(fx, "tun", "warn");
	expect(fx, "hyperv", "ok");
	assert_true(contains(
		expect(fx, "cpu.isolation", "info"), "summary", "unknown"));
	expect(fx, "socket-dir", "ok");
	expect(fx, "daemon", "info");
}

/* Directories, FIFOs, garbage and huge files where files are expected. */
static void
test_odd_files(void **state)
{
	struct fixture *fx = *state;
	char path[4096], *big;
	size_t i;

	wsl2(fx->root);
	/* a directory instead of a file */
	rm(fx->root, "/proc/meminfo");
	mkdirs(fx->root, "/proc/meminfo");
	/* a FIFO nobody writes: must not block */
	rm(fx->root, "/proc/cmdline");
	snprintf(path, sizeof(path), "%s/proc/cmdline", fx->root);
	assert_int_equal(mkfifo(path, 0600), 0);
	/* garbage */
	put(fx->root, "/proc/net/route", "\n\n\x01\x02 garbage\n");
	put(fx->root, "/sys/kernel/mm/transparent_hugepage/enabled", "[");
	put(fx->root, "/sys/devices/system/cpu/online", "0-99999999\n");
	/* a class_id of 1 MiB */
	big = malloc(1 << 20);
	assert_non_null(big);
	for (i = 0; i < (1 << 20) - 1; i++)
		big[i] = 'f';
	big[i] = '\0';
	put(fx->root, "/sys/bus/vmbus/devices/" NIC_UIO "/class_id", big);
	put(fx->root, "/proc/mounts", big);
	free(big);
	/* a driver link to nowhere with a long name */
	link_to(fx->root, "/sys/bus/vmbus/devices/" NIC_ROUTE "/driver",
		"../../../../bus/vmbus/drivers/"
		"a-driver-name-much-longer-than-sixty-four-bytes-"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	run(fx);
	expect(fx, "hugepages", "info");
	expect(fx, "thp", "info");
	expect(fx, "cpu.isolation", "info");
	assert_null(find(fx, "vmbus.nic." NIC_UIO)); /* class unreadable */
	expect(fx, "vmbus.nic." NIC_ROUTE, "info");  /* some other driver */
	expect(fx, "vmbus.default-route", "info");   /* no default route */
	expect(fx, "swiotlb", "ok");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain_vm, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_hugepages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thp, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_kernel_ports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wsl2, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_wsl2_swiotlb_absent, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_wsl2_route_nic_taken, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_wsl2_broken_binds, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_ipv6_default_route, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iommu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cpus, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_socket_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_daemon, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_empty_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_odd_files, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
