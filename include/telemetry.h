/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * telemetry.h - the switch's counters through DPDK telemetry.
 *
 * DPDK's telemetry library serves a unix socket,
 * <EAL runtime dir>/dpdk_telemetry.v2 (as root /var/run/dpdk/<prefix>/,
 * mode 0700 like the directory: root only), that dpdk-telemetry.py and
 * collectors query with "COMMAND[,PARAMS]".  vhswd adds:
 *   /vhsw/ports            the port names
 *   /vhsw/port,NAME        one port: state, counters, per-queue counters
 *                          (containers "tx_q0", "rx_q0", ...)
 *   /vhsw/stats            every counter group: "fdb", "dataplane", "rpc",
 *                          and "port_ID" {"name": NAME, counters} per port
 *   /vhsw/fdb              the FDB's counters and size
 *   /vhsw/dataplane        the data-plane loop's counters
 * A command that fails (unknown port, bad parameters, the switch stopping)
 * gets telemetry's error reply {"COMMAND": null}.
 *
 * DPDK calls the commands on its telemetry threads (one per client).  The
 * ports and counters' baselines belong to the control thread, so a command
 * is handed to it: the telemetry thread posts the request, wakes the loop
 * with ev_async_send and waits (at most TELEMETRY_TIMEOUT_MS); the control
 * thread builds the reply into DPDK's rte_tel_data under the request lock
 * and signals.  A request the control thread did not take in time is
 * withdrawn under that lock, so nothing writes a reply after its command
 * returned.  One request at a time.
 *
 * Thread-safety: telemetry_init/telemetry_fini/telemetry_prefix:
 * control thread.  The commands: DPDK's telemetry threads.
 */
#ifndef VHSW_TELEMETRY_H
#define VHSW_TELEMETRY_H

struct vhsw;

#define TELEMETRY_TIMEOUT_MS 2000

/*
 * Registers the /vhsw/... commands (once per process) and serves them
 * from 'sw' on its loop until telemetry_fini().  'prefix' is the name
 * `dpdk-telemetry.py -f` takes for this vhswd (vhswd --telemetry-prefix),
 * kept for telemetry_prefix().  0 or -errno.
 */
int telemetry_init(struct vhsw *sw, const char *prefix);
/* The commands fail from now on; waits for one being answered. */
void telemetry_fini(struct vhsw *sw);
/* The prefix given to telemetry_init(), or NULL before. */
const char *telemetry_prefix(void);

#endif /* VHSW_TELEMETRY_H */
