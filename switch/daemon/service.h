/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * service.h - vhswd as a service: the systemd notification protocol
 * (READY, STATUS, WATCHDOG, STOPPING through Debian's libsystemd), log
 * records for the journal, the --state-dir lock and DPDK's runtime
 * directories.
 *
 * systemd: without NOTIFY_SOCKET in the environment every service_notify
 * call is a no-op, and without WATCHDOG_USEC (for this PID) there is no
 * watchdog timer.  The watchdog pings only while the data-plane loop makes
 * progress: its iteration counter must have moved within the last
 * max(WATCHDOG_USEC / 2, SERVICE_DP_STUCK_MIN_MS); a loop that stopped
 * longer than that (a deadlock, a thread blocked where it must not be)
 * ends the pings, and systemd restarts vhswd once WatchdogSec passes
 * without one.  The stall watch of dp.h frees a loop blocked on a peer's
 * fd within about two seconds, which the minimum leaves room for.
 *
 * Journal: when systemd connected stderr to the journal (JOURNAL_STREAM is
 * stderr's device:inode, systemd.exec(5)), each log record goes to the
 * journal with sd_journal_send: PRIORITY from the DPDK level,
 * SYSLOG_IDENTIFIER=vhswd, MESSAGE without the trailing newline.  Otherwise
 * the records go to stderr as before, each line prefixed with a UTC
 * timestamp.
 *
 * Runtime directories: vhswd runs EAL with --no-shconf and
 * --file-prefix=vhsw-PID, for which DPDK 22.11 creates an (empty) directory
 * /var/run/dpdk/vhsw-PID that rte_eal_cleanup() leaves behind.  vhswd
 * removes its own at exit and, at start, those of vhsw-PID whose PID is
 * not a running vhswd (a crash, SIGKILL).
 *
 * Thread-safety: service_log_open, service_lock_state_dir and
 * service_clean_runtime_dirs: main() before the threads start.  service_log:
 * any thread (the log stream serialises its writes).  The notify and
 * watchdog calls: the control thread.
 */
#ifndef VHSW_SERVICE_H
#define VHSW_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ev_loop;
struct dp;

#define SERVICE_DP_STUCK_MIN_MS 3000
#define SERVICE_LOCK_FILE "lock"

/*
 * The notifications (no-ops without NOTIFY_SOCKET).  service_ready: once
 * the control socket 'ctl' answers and the startup configuration is
 * applied (READY=1, STATUS, MAINPID).  service_stopping: on the way out
 * after SIGTERM/SIGINT (STOPPING=1).
 */
void service_ready(const char *ctl);
void service_stopping(void);

/*
 * Starts the watchdog timer when systemd asked for one (WATCHDOG_USEC and
 * WATCHDOG_PID); otherwise does nothing.  Reads the progress of 'dp'.
 */
void service_watchdog_start(struct ev_loop *loop, struct dp *dp);
void service_watchdog_stop(void);

/*
 * Takes an exclusive lock on DIR/lock for the life of the process (creating
 * DIR, mode 0700, when its parent exists, and the file) and writes the PID
 * into the file.  0, or -errno with a message in 'err' (another vhswd holds
 * it: its PID).
 */
int service_lock_state_dir(const char *dir, char *err, size_t len);

/*
 * After EAL init: removes the runtime directories of vhswd processes that
 * are gone (next to rte_eal_get_runtime_dir()) and arranges for this
 * process's own to be removed at exit.  Returns how many were removed.
 */
int service_clean_runtime_dirs(void);
/* The same in 'root' (tests), never touching 'self' (a directory name). */
int service_clean_runtime_dirs_in(const char *root, const char *self);
/* True if 'pid' is a running vhswd (its name or command line says so). */
bool service_pid_is_vhswd(pid_t pid);

/*
 * Decides once where log records go: the journal if JOURNAL_STREAM matches
 * stderr, else stderr.  Call before the first record.
 */
void service_log_open(void);
/* Writes one chunk of DPDK's log stream (one or more lines). */
void service_log(const char *buf, size_t len);
/*
 * While vhswd starts, DPDK's lines are dropped (a failed start is one
 * line).  vhswd's own notable lines ("vhswd: ..." at NOTICE or more
 * severe: a crashed vhswd's leftovers cleaned up, a refused promiscuous
 * mode) are held instead and written by service_log_release() once the
 * start succeeded; a failed start exits without them.
 */
void service_log_hold(const char *buf, size_t len);
void service_log_release(void);
/* The decision itself: JOURNAL_STREAM "DEV:INO" names (dev, ino). */
bool service_journal_stream_matches(const char *env, dev_t dev, ino_t ino);
/* syslog priority (0 emerg .. 7 debug) of a DPDK log level (1 .. 8). */
int service_log_priority(uint32_t rte_level);
/* True if records go to the journal. */
bool service_log_to_journal(void);

#endif /* VHSW_SERVICE_H */
