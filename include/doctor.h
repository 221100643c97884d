/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * doctor.h - host checks for what vhsw needs (`vhswctl doctor`).
 *
 * doctor_run() looks at the host through sysfs, procfs, /dev and /run and
 * returns one finding per check: hugepages, transparent huge pages,
 * /dev/vhost-net and /dev/net/tun, Hyper-V/WSL2 (uio_hv_generic, the VMBus
 * NICs, their drivers and interfaces, the default route, the hv_pci
 * per-device SWIOTLB), IOMMU and vfio, CPU isolation, the socket
 * directories and whether a vhswd answers on the control socket.  Each
 * finding says what was seen, what it means for vhsw and the fix.
 *
 * Every file is read below a root directory ("/" normally), so that the
 * unit tests can run the checks on fake trees.  Reads are bounded; a
 * missing or malformed file gives a finding that says "unknown", never a
 * failure.  It needs no DPDK and no running vhswd: vhswctl runs it
 * locally, and vhswd's `doctor` method (actions.c) runs it on the
 * daemon's host.
 *
 * Thread-safety: no global state; any thread may call it.  It blocks for
 * at most DOCTOR_PROBE_TIMEOUT_MS when it asks a vhswd for its version.
 */
#ifndef VHSW_DOCTOR_H
#define VHSW_DOCTOR_H

#include <stdbool.h>

#include <jansson.h>

#define DOCTOR_PROBE_TIMEOUT_MS 2000

/* Severities, in increasing order. */
enum doctor_severity {
	DOCTOR_OK,    /* as vhsw wants it */
	DOCTOR_INFO,  /* works; a fix would make it better, or "unknown" */
	DOCTOR_WARN,  /* something vhsw offers will not work, or a risk */
	DOCTOR_ERROR, /* vhswd will fail or be unsafe until fixed */
};

struct doctor_opts {
	const char *root; /* the tree to check; NULL or "/": this host */
	/*
	 * The control socket (absolute, as seen below root); NULL: unknown,
	 * only the default socket directory is checked.
	 */
	const char *ctl_path;
	/*
	 * Connect to ctl_path and ask for vhswd's version (vhswctl).  vhswd
	 * itself sets 'in_daemon' instead: it is the daemon that answers.
	 */
	bool probe_daemon;
	bool in_daemon;
};

/*
 * Runs every check.  Returns a new object:
 *   {"root": "/", "findings": [{"id", "severity", "summary", "details",
 *    "fix", ...}], "counts": {"ok": N, "info": N, "warn": N, "error": N}}
 * "fix" is null when there is nothing to do.  Some findings carry more
 * keys (a VMBus NIC: "device", "driver", "ifname", "default_route").
 * NULL only when out of memory.
 */
json_t *doctor_run(const struct doctor_opts *o);

/* The worst severity in a doctor_run() report (DOCTOR_OK if none). */
enum doctor_severity doctor_worst(const json_t *report);

/* "ok", "info", "warn", "error". */
const char *doctor_severity_name(enum doctor_severity s);

#endif /* VHSW_DOCTOR_H */
