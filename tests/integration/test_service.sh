#!/usr/bin/env bash
# vhswd as a service (switch/daemon/service.h, docs/operations.md, "vhswd as a service"):
#   notify    sd_notify through NOTIFY_SOCKET (a datagram socket this test
#             reads): READY=1 only once vhswd is usable (the reader stops
#             vhswd the moment READY arrives and the test finds the control
#             socket listening and the --config port's socket made), STATUS
#             and MAINPID, WATCHDOG=1 repeatedly, STOPPING=1 on SIGTERM,
#             exit 0, nothing left behind (DPDK runtime dir, sockets);
#             stderr lines carry timestamps.
#   stuck     the data-plane thread alone stopped (ptrace-stopped by a helper:
#             the rest of vhswd runs on): the pings stop, the log says why;
#             released, they resume.
#   promisc   an af_packet uplink on a veth: promiscuous mode on while it is
#             the uplink, put back as found on `uplink del` and on SIGTERM
#             (off if it was off, on if it was on).
#   crash     SIGKILL leaves promiscuous mode, its record, stale sockets and
#             the DPDK runtime dir; a new start on the same paths replaces
#             the stale sockets, removes the dead one's runtime dir, keeps a
#             live vhswd's, restores promiscuous mode; a second vhswd on the
#             same --state-dir is refused naming the PID holding it.
#   journal   a real systemd-journald in a private mount namespace; vhswd
#             under systemd-cat with JOURNAL_STREAM set as systemd sets it:
#             native journal records with PRIORITY, SYSLOG_IDENTIFIER=vhswd
#             and the message without prefix or newline.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

ID=$$
OUT=vhsw$ID-svc UP=vh${ID}s PEER=vh${ID}t
DPDK_RUN=/var/run/dpdk
declare -a BG_PIDS=()

svc_cleanup() {
    local p
    [[ -n ${FREEZE_FD:-} ]] && { exec {FREEZE_FD}>&- || true; }
    for p in "${BG_PIDS[@]}"; do
        kill -CONT "$p" 2>/dev/null || true
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    # vhswd_cleanup only knows the current one; these may be stopped too.
    [[ -n ${VHSWD_PID:-} ]] && kill -CONT "$VHSWD_PID" 2>/dev/null
    ip netns del "$OUT" 2>/dev/null
    ip link del "$UP" 2>/dev/null
    return 0
}
vhsw_test_init service svc_cleanup

# --- helpers ----------------------------------------------------------------

# The sd_notify reader: NOTIFY_SOCKET's other end.  One line per field,
# "EPOCH FIELD=VALUE"; with --stop-on-ready it SIGSTOPs MAINPID the moment
# READY=1 arrives and writes "STOPPED PID".
cat > "$TEST_TMP/notify.py" <<'EOF'
import os, signal, socket, sys, time
path, out = sys.argv[1], open(sys.argv[2], 'a', buffering=1)
stop = '--stop-on-ready' in sys.argv
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
out.write('%.6f BOUND\n' % time.time())
while True:
    fields = s.recv(65536).decode(errors='replace').split('\n')
    now = time.time()
    if stop and 'READY=1' in fields:
        pid = [int(f[8:]) for f in fields if f.startswith('MAINPID=')][0]
        os.kill(pid, signal.SIGSTOP)
        stop = False
        fields.append('STOPPED %d' % pid)
    for f in fields:
        if f:
            out.write('%.6f %s\n' % (now, f))
EOF
# freeze.py TID: stops that one thread (ptrace SEIZE + INTERRUPT: a
# ptrace-stop is per thread, unlike SIGSTOP) until stdin closes.
cat > "$TEST_TMP/freeze.py" <<'EOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
SEIZE, INTERRUPT, DETACH, WALL = 0x4206, 0x4207, 17, 0x40000000
tid = int(sys.argv[1])
for req in (SEIZE, INTERRUPT):
    if libc.ptrace(req, tid, None, None) != 0:
        sys.exit('ptrace: ' + os.strerror(ctypes.get_errno()))
os.waitpid(tid, WALL)
print('stopped', flush=True)
sys.stdin.read()
libc.ptrace(DETACH, tid, None, None)
EOF

# notify_send SOCK TEXT: a datagram of the test's own (a marker in the log:
# datagrams are read in the order they were sent).
notify_send() {
    python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(sys.argv[2].encode(), sys.argv[1])' "$1" "$2"
}
# listens PATH: "yes" if a unix stream socket accepts connections there
# (the backlog accepts even while the owner is stopped).
listens() {
    python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1]); print("yes")
except OSError as e:
    print("no: %s" % e)' "$1"
}
promisc() { ip -j link show "$1" | jq -r '.[0].flags | index("PROMISC") != null'; }
has_line() { grep -qE -- "$2" "$1" 2>/dev/null; }
count_lines() { grep -cE -- "$2" "$1" 2>/dev/null || true; }
_count_ge() { (( $(count_lines "$1" "$2") >= $3 )); }
exists() { [[ -e $1 ]] && echo yes || echo no; }
# dp_tid PID: the data-plane thread (EAL's worker lcore thread).
dp_tid() { grep -l '^rte-worker' /proc/"$1"/task/*/comm | head -n 1 | cut -d/ -f5; }

# start_bg ARGS...: vhswd in the background, not waiting for it (the
# state of vhsw.sh, so that vhswd_stop and the traps know it).
start_bg() {
    VHSWD_N=$((VHSWD_N + 1))
    VHSW_CTL_SOCK=$TEST_TMP/ctl.sock
    ( tp_close_fds; exec "$VHSWD" --ctl "$VHSW_CTL_SOCK" --lcores "$VHSW_LCORES" "$@" ) \
        > "$(vhswd_log)" 2>&1 &
    VHSWD_PID=$!
}
_pinged_after_mark2() { awk '/ MARK2$/ {f = 1} f && / WATCHDOG=1$/' "$1" | grep -q .; }
_answers() { "$VHSWCTL" --ctl "$1" version > /dev/null 2>&1; }

# --- notify, watchdog, stuck data plane, SIGTERM ------------------------------
case_notify() {
    local nsock=$TEST_TMP/notify.sock nlog=$TEST_TMP/notify.log st=$TEST_TMP/st-notify
    local pid ts tid
    python3 "$TEST_TMP/notify.py" "$nsock" "$nlog" --stop-on-ready &
    BG_PIDS+=($!)
    wait_until 10 has_line "$nlog" BOUND || die "the notify reader did not start"
    printf '{"ports": [{"name": "c1", "type": "vhost-user", "socket": "%s"}]}\n' \
        "$TEST_TMP/c1.sock" > "$TEST_TMP/c1.json"

    NOTIFY_SOCKET=$nsock WATCHDOG_USEC=400000 start_bg --state-dir "$st" \
        --socket-dir "$TEST_TMP" --config "$TEST_TMP/c1.json"
    pid=$VHSWD_PID
    wait_until 30 has_line "$nlog" "STOPPED $pid" || die "no READY=1 from vhswd $pid"
    # vhswd is stopped at the instant READY=1 arrived.
    check "control socket listens at READY" yes "$(listens "$VHSW_CTL_SOCK")"
    check "the --config port's socket exists at READY" yes "$(exists "$TEST_TMP/c1.sock")"
    check "READY=1 once" 1 "$(count_lines "$nlog" ' READY=1$')"
    check "MAINPID" 1 "$(count_lines "$nlog" " MAINPID=$pid\$")"
    check "STATUS names the control socket" 1 \
        "$(count_lines "$nlog" " STATUS=running, control socket $VHSW_CTL_SOCK\$")"
    kill -CONT "$pid"
    ctl port show c1 > /dev/null || die "port show c1 failed right after READY"
    log "ok: right after READY=1, vhswctl port show c1 answers"

    wait_until 10 _count_ge "$nlog" ' WATCHDOG=1$' 5 || die "fewer than 5 WATCHDOG=1"
    log "ok: WATCHDOG=1 repeatedly ($(count_lines "$nlog" ' WATCHDOG=1$'))"
    ts='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z vhswd: '
    has_line "$(vhswd_log)" "${ts}vhswd .* running" ||
        die "stderr lines carry no timestamp: $(head -n 2 "$(vhswd_log)")"
    log "ok: stderr lines start with a UTC timestamp"

    # The data-plane thread alone stops; the control thread goes on.
    tid=$(dp_tid "$pid")
    [[ -n $tid ]] || die "no data-plane thread (rte-worker-*) in vhswd $pid"
    mkfifo "$TEST_TMP/freeze.fifo"
    python3 "$TEST_TMP/freeze.py" "$tid" < "$TEST_TMP/freeze.fifo" > "$TEST_TMP/freeze.out" 2>&1 &
    BG_PIDS+=($!)
    exec {FREEZE_FD}> "$TEST_TMP/freeze.fifo"
    if ! wait_until 10 has_line "$TEST_TMP/freeze.out" '^(stopped|ptrace)' ||
        ! has_line "$TEST_TMP/freeze.out" '^stopped'; then
        log "SKIP stuck data plane: cannot ptrace-stop a thread here ($(cat "$TEST_TMP/freeze.out"))"
    else
        wait_until 15 has_line "$(vhswd_log)" "watchdog: the data plane .*thread $tid.* made no progress" ||
            die "the watchdog did not notice the stopped data plane"
        ctl version > /dev/null || die "the control thread does not answer while the data plane is stopped"
        notify_send "$nsock" MARK1
        # Proving an absence needs a window: 5 watchdog periods.  A slow
        # machine runs fewer timer ticks in it, never a false failure.
        sleep 1
        notify_send "$nsock" MARK2
        wait_until 10 has_line "$nlog" ' MARK2$' || die "the notify reader lost MARK2"
        check "no WATCHDOG=1 while the data plane is stuck" 0 \
            "$(awk '/ MARK1$/ {f = 1; next} / MARK2$/ {f = 0} f && / WATCHDOG=1$/' "$nlog" | wc -l)"
        exec {FREEZE_FD}>&-
        FREEZE_FD=
        wait_until 15 has_line "$(vhswd_log)" "watchdog: the data plane makes progress again" ||
            die "the watchdog did not see the data plane again"
        wait_until 10 _pinged_after_mark2 "$nlog" || die "no WATCHDOG=1 after the data plane came back"
        log "ok: pings stopped while the data plane was stopped and resumed after"
    fi

    vhswd_stop # exit status 0, or it dies
    wait_until 10 has_line "$nlog" ' STOPPING=1$' || die "no STOPPING=1 on SIGTERM"
    log "ok: STOPPING=1 on SIGTERM, exit 0"
    check "no DPDK runtime dir after SIGTERM" no "$(exists "$DPDK_RUN/vhsw-$pid")"
    check "no control socket after SIGTERM" no "$(exists "$VHSW_CTL_SOCK")"
    check "no vhost-user socket after SIGTERM" no "$(exists "$TEST_TMP/c1.sock")"
}

# --- promiscuous mode put back as found ---------------------------------------
net_setup() {
    ip netns add "$OUT"
    ip link add "$UP" type veth peer name "$PEER"
    ip link set "$PEER" netns "$OUT"
    sysctl -qw "net.ipv6.conf.$UP.disable_ipv6=1"
    ip link set "$UP" up
    ip -n "$OUT" link set "$PEER" up
}

case_promisc() {
    local st=$TEST_TMP/st-promisc rec
    rec=$st/promisc/$UP
    check "veth starts without promiscuous mode" false "$(promisc "$UP")"
    vhswd_start --state-dir "$st" --socket-dir "$TEST_TMP" --uplink "net_af_packet0,iface=$UP"
    check "uplink on: promiscuous" true "$(promisc "$UP")"
    check "original state recorded" 0 "$(cat "$rec")"
    ctl uplink del > /dev/null
    check "uplink del: promiscuous mode off again" false "$(promisc "$UP")"
    check "record removed with the uplink" no "$(exists "$rec")"
    ctl uplink add "net_af_packet0,iface=$UP" > /dev/null
    check "uplink added again: promiscuous" true "$(promisc "$UP")"
    vhswd_stop
    check "SIGTERM: promiscuous mode off again" false "$(promisc "$UP")"
    check "no record after SIGTERM" no "$(exists "$rec")"

    # Found on: left on (the state file brings the uplink back).
    ip link set "$UP" promisc on
    vhswd_start --state-dir "$st" --socket-dir "$TEST_TMP"
    check "uplink restored from the state file" net_af_packet "$(jctl .driver uplink show)"
    check "nothing to restore recorded" no "$(exists "$rec")"
    vhswd_stop
    check "found on, left on" true "$(promisc "$UP")"
    ip link set "$UP" promisc off
}

# --- crash: SIGKILL and the next start ----------------------------------------
case_crash() {
    local st=$TEST_TMP/st-crash rec pid1 pid2 out rc=0 other
    rec=$st/promisc/$UP
    vhswd_start --state-dir "$st" --socket-dir "$TEST_TMP" --uplink "net_af_packet0,iface=$UP"
    ctl port add c2 vhost-user "$TEST_TMP/c2.sock" > /dev/null
    pid1=$VHSWD_PID
    vhswd_kill
    check "after SIGKILL: promiscuous mode still on" true "$(promisc "$UP")"
    check "after SIGKILL: its record is there" 0 "$(cat "$rec")"
    check "after SIGKILL: stale control socket" yes "$(exists "$VHSW_CTL_SOCK")"
    check "after SIGKILL: stale vhost-user socket" yes "$(exists "$TEST_TMP/c2.sock")"
    check "after SIGKILL: DPDK left its runtime dir" yes "$(exists "$DPDK_RUN/vhsw-$pid1")"

    # The same paths again (the state file brings c2 and the uplink back).
    vhswd_start --state-dir "$st" --socket-dir "$TEST_TMP"
    pid2=$VHSWD_PID
    check "the dead vhswd's runtime dir removed" no "$(exists "$DPDK_RUN/vhsw-$pid1")"
    check "c2 back on its replaced socket" yes "$(listens "$TEST_TMP/c2.sock")"
    has_line "$(vhswd_log)" "promiscuous mode of $UP turned off again" ||
        die "the new vhswd did not restore $UP's promiscuous mode at start"
    log "ok: promiscuous mode restored at start, before the uplink came back"
    check "uplink back: promiscuous" true "$(promisc "$UP")"
    check "uplink back: recorded again" 0 "$(cat "$rec")"

    # A second vhswd on the same --state-dir is refused.
    "$VHSWD" --ctl "$TEST_TMP/ctl2.sock" --state-dir "$st" --socket-dir "$TEST_TMP" \
        --lcores "$VHSW_LCORES" > "$TEST_TMP/second.out" 2>&1 || rc=$?
    check "second vhswd on the same --state-dir: exit 1" 1 "$rc"
    out=$(cat "$TEST_TMP/second.out")
    [[ $out == "vhswd: --state-dir $st is in use by another vhswd (PID $pid2)"* ]] ||
        die "unclear refusal: $out"
    log "ok: refused: $out"
    check "the refused one left the control socket alone" yes "$(listens "$VHSW_CTL_SOCK")"

    # Another vhswd (own paths) starting does not touch a live one's dir.
    ( tp_close_fds; exec "$VHSWD" --ctl "$TEST_TMP/ctl3.sock" --state-dir "$TEST_TMP/st-other" \
        --socket-dir "$TEST_TMP" --lcores "$VHSW_LCORES" ) > "$TEST_TMP/other.log" 2>&1 &
    other=$!
    BG_PIDS+=("$other")
    wait_until 30 _answers "$TEST_TMP/ctl3.sock" || die "the other vhswd did not start"
    check "a live vhswd's runtime dir is kept" yes "$(exists "$DPDK_RUN/vhsw-$pid2")"
    kill -TERM "$other"
    wait "$other" || die "the other vhswd exited with $? on SIGTERM"

    # Crash again; this time the uplink goes by hand after the restart.
    vhswd_kill
    vhswd_start --state-dir "$st" --socket-dir "$TEST_TMP"
    check "dead runtime dir removed again" no "$(exists "$DPDK_RUN/vhsw-$pid2")"
    ctl uplink del > /dev/null
    check "uplink del after a crash: promiscuous mode off" false "$(promisc "$UP")"
    check "uplink del after a crash: no record" no "$(exists "$rec")"
    pid1=$VHSWD_PID
    vhswd_stop
    check "SIGTERM: no runtime dir" no "$(exists "$DPDK_RUN/vhsw-$pid1")"
    check "SIGTERM: no control socket" no "$(exists "$VHSW_CTL_SOCK")"
    check "SIGTERM: no vhost-user socket" no "$(exists "$TEST_TMP/c2.sock")"
}

# --- journal -------------------------------------------------------------------
case_journal() {
    local jd=/usr/lib/systemd/systemd-journald rc=0 j=$TEST_TMP/journal.json
    if [[ ! -x $jd ]] || ! command -v journalctl systemd-cat unshare > /dev/null; then
        log "SKIP journal: systemd-journald, journalctl, systemd-cat or unshare missing"
        return 0
    fi
    # In a private mount namespace: the journal's sockets and files on
    # tmpfs, gone with the namespace.  vhswd runs as systemd runs it:
    # stderr a journal stream, JOURNAL_STREAM its device:inode.
    cat > "$TEST_TMP/journal.sh" <<'EOF'
set -eu
T=$1 VHSWD=$2 VHSWCTL=$3 LCORES=$4
for d in /run/systemd /run/log /var/log/journal; do
    [ -d "$d" ] || mkdir -p "$d"
    mount -t tmpfs tmpfs "$d"
done
mkdir -p /run/systemd/journal
/usr/lib/systemd/systemd-journald > "$T/journald.log" 2>&1 &
JP=$! VP=
trap '[ -z "$VP" ] || kill -KILL "$VP" 2>/dev/null; kill "$JP" 2>/dev/null; wait' EXIT
# upto SECONDS CMD...: CMD until it succeeds, every 0.1 s.
upto() {
    n=$(($1 * 10)); shift
    while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done
    return 1
}
upto 10 test -S /run/systemd/journal/socket || { echo "journald did not start"; exit 2; }
upto 10 test -S /run/systemd/journal/stdout || { echo "journald has no stdout socket"; exit 2; }
systemd-cat -t vhswd-stderr sh -c 'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$@"' sh \
    "$VHSWD" --ctl "$T/jctl.sock" --state-dir "$T/st-journal" --socket-dir "$T" --lcores "$LCORES" &
VP=$!
upto 30 "$VHSWCTL" --ctl "$T/jctl.sock" version > /dev/null 2>&1 || { echo "vhswd did not answer"; exit 1; }
kill -TERM "$VP"
rc=0; wait "$VP" || rc=$?; VP=
[ $rc -eq 0 ] || { echo "vhswd exited with $rc"; exit 1; }
journalctl -D /run/log/journal -o json --no-pager > "$T/journal.json"
EOF
    timeout 120 unshare -m --propagation private bash "$TEST_TMP/journal.sh" \
        "$TEST_TMP" "$VHSWD" "$VHSWCTL" "$VHSW_LCORES" > "$TEST_TMP/journal.out" 2>&1 || rc=$?
    if (( rc == 2 )); then
        log "SKIP journal: $(cat "$TEST_TMP/journal.out")"
        return 0
    fi
    (( rc == 0 )) || die "journal case failed ($rc): $(cat "$TEST_TMP/journal.out")"
    local q='select(.SYSLOG_IDENTIFIER == "vhswd")'
    local run="$q | select(.MESSAGE | test(\"^vhswd .* running: control socket \"))"
    check "running: a native journal record" journal "$(jq -r "$run | ._TRANSPORT" "$j")"
    check "running: PRIORITY info (6)" 6 "$(jq -r "$run | .PRIORITY" "$j")"
    check "messages without the 'vhswd: ' prefix, a newline or a timestamp" 0 \
        "$(jq -s "[.[] | $q | .MESSAGE | select(test(\"^vhswd: |^[0-9]{4}-|\\n\$\"))] | length" "$j")"
    check "shutting down: PRIORITY info (6)" 6 \
        "$(jq -r "$q | select(.MESSAGE == \"shutting down\") | .PRIORITY" "$j")"
    check "no record through the stderr stream" 0 \
        "$(jq -r 'select(.SYSLOG_IDENTIFIER == "vhswd-stderr") | .MESSAGE' "$j" | wc -l)"
}

net_setup
case_notify
case_promisc
case_crash
case_journal
log "PASS: test_service ($CHECKS checks)"
