/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * state.h - the running configuration kept in the state directory
 * (--state-dir, default /var/lib/vhsw) and restored at start, so that a
 * restart or a crash brings back every port, the uplink, the FDB settings
 * and static entries, the poll mode and the mirrors (OVS keeps the same in
 * OVSDB).
 *
 * The state file, <dir>/state.json, has the shape of a --config file
 * (config.h): vhswd writes config_dump() there after every change
 * (state_sync), atomically (a new file, fsync, rename, fsync of the
 * directory), so that a crash at any moment leaves the old or the new file,
 * never a torn one.  At start main() reads it (state_load) before DPDK
 * starts (a VMBus uplink must be known to EAL), takes out what --config
 * and the command line name (state_merge: they win), and applies the rest
 * (state_open, state_apply, state_restored): an entry that no longer applies (a container's network
 * namespace gone while vhswd was down) is logged and dropped, and the file
 * as it was is kept beside it, so that nothing is lost silently.  A file
 * that cannot be read or parsed stops vhswd with an error naming it and a
 * kept copy: never a silent empty switch.
 *
 * Thread-safety: control thread only (state_load and state_merge: main()
 * before anything else runs).
 */
#ifndef VHSW_STATE_H
#define VHSW_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define STATE_FILE "state.json"

struct vhsw;

/*
 * Reads <dir>/state.json into *out: a configuration object, or NULL when
 * there is none yet (first start; the directory may not exist).  0, or -1
 * with 'err' set when the file exists but cannot be read or is not a valid
 * configuration; a corrupt file is first copied to
 * state.json.corrupt-<UTC time> and 'err' names the copy.
 */
int state_load(const char *dir, json_t **out, char *err, size_t errlen);

/*
 * Takes out of 'state' what the --config file 'cfg' (may be NULL) names,
 * and the uplink when 'uplink_given' (--uplink), the poll mode when
 * 'poll_mode_given' (--poll-mode): ports of the same name or socket, the
 * uplink, the FDB settings and static entries (same MAC and VLAN), the
 * poll mode, mirrors of the same name.
 */
void state_merge(
	json_t *state, json_t *cfg, bool uplink_given, bool poll_mode_given);

/*
 * Makes 'dir' the state directory of 'sw'.  The directory exists and is
 * writable: vhswd's lock on it (service.h, service_lock_state_dir) created
 * it, mode 0700, and a file in it.  0, or -1 with 'err' set when the path
 * is too long.
 */
int state_open(struct vhsw *sw, const char *dir, char *err, size_t errlen);

/*
 * Applies the CONFIG_PART_* 'parts' of 'state' (may be NULL), entry by
 * entry: an entry refused is logged and left out.  main() applies the
 * ports of the state file, then those of --config, then the FDB parts of
 * both, then the mirrors of both, so that static entries and mirrors find
 * their ports.  Returns the number of
 * entries refused.
 */
int state_apply(struct vhsw *sw, json_t *state, unsigned int parts);

/*
 * Ends the restore: when 'refused' entries were left out, the file as it
 * was is kept as state.json.dropped-<UTC time>; then the running
 * configuration is written.
 */
void state_restored(struct vhsw *sw, bool had_state, int refused);

/*
 * Writes the running configuration to the state file if it changed since
 * the last write.  Called after every command that may change it.  A
 * failed write is logged once and retried every second (vhsw.c's tick)
 * until it succeeds.  No-op before state_apply() and after state_fini().
 */
void state_sync(struct vhsw *sw);

/* Frees what state_apply() set up. */
void state_fini(struct vhsw *sw);

#endif /* VHSW_STATE_H */
