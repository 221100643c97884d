# shellcheck shell=bash
# Integration-test helpers for vhswd itself: start/stop by PID, vhswctl
# wrappers, JSON queries (jq) and conditions to wait on.  Source after
# lib.sh, then call vhsw_test_init TAG [CLEANUP_FN...] (TEST_TMP, traps).

: "${VHSW_BUILD:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}"
: "${VHSWD:=$VHSW_BUILD/vhswd}"
: "${VHSWCTL:=$VHSW_BUILD/vhswctl}"
: "${VHSW_LCORES:=$( (( $(nproc) > 1 )) && echo 0,1 || echo 0)}" # control on CPU 0, data plane on CPU 1
: "${VHSWD_START_TIMEOUT:=30}"

declare -g VHSWD_PID="" VHSWD_N=0
VHSW_CTL_SOCK=""

# vhswd_start [ARGS...]: start vhswd (own control socket in TEST_TMP), wait until it answers.
# State directory (--state-dir): a fresh one per start ($TEST_TMP/state.N),
# so that each start begins with an empty switch as before; with
# VHSWD_KEEP_STATE=1 every start of the test uses $TEST_TMP/state, so a
# restart restores the ports; ARGS may give their own --state-dir.
vhswd_start() {
    VHSWD_N=$((VHSWD_N + 1))
    VHSW_CTL_SOCK=$TEST_TMP/ctl.sock
    local logf=$TEST_TMP/vhswd.$VHSWD_N.log a
    local state=(--state-dir "$TEST_TMP/state.$VHSWD_N")
    [[ ${VHSWD_KEEP_STATE:-0} == 1 ]] && state=(--state-dir "$TEST_TMP/state")
    for a in "$@"; do [[ $a == --state-dir* ]] && state=(); done
    # Not holding the testpmds' stdin FIFOs (they quit when the test dies).
    ( tp_close_fds; exec "$VHSWD" --ctl "$VHSW_CTL_SOCK" --lcores "$VHSW_LCORES" "${state[@]}" "$@" ) > "$logf" 2>&1 &
    VHSWD_PID=$!
    echo "$VHSWD_PID" > "$TEST_TMP/vhswd.pid"
    wait_until "$VHSWD_START_TIMEOUT" _vhswd_ready_or_dead ||
        { cat "$logf" >&2; die "vhswd did not answer within ${VHSWD_START_TIMEOUT}s"; }
    _tp_alive "$VHSWD_PID" || { cat "$logf" >&2; die "vhswd exited during startup"; }
}

_vhswd_ready_or_dead() {
    ! _tp_alive "$VHSWD_PID" || "$VHSWCTL" --ctl "$VHSW_CTL_SOCK" version > /dev/null 2>&1
}

# vhswd_log: path of the current vhswd log.
vhswd_log() { printf '%s\n' "$TEST_TMP/vhswd.$VHSWD_N.log"; }

# vhswd_stop: SIGTERM, wait for exit; fails unless it exits 0 in time.
vhswd_stop() {
    local pid=$VHSWD_PID rc=0
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_until 15 _tp_dead "$pid"; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        VHSWD_PID=""
        die "vhswd did not stop within 15s of SIGTERM"
    fi
    wait "$pid" 2>/dev/null || rc=$?
    VHSWD_PID=""
    (( rc == 0 )) || { cat "$(vhswd_log)" >&2; die "vhswd exited with status $rc on SIGTERM"; }
}

# vhswd_kill: SIGKILL (simulated crash).
vhswd_kill() {
    local pid=$VHSWD_PID
    [[ -n $pid ]] || return 0
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 10 _tp_dead "$pid" || die "vhswd survived SIGKILL"
    wait "$pid" 2>/dev/null || true
    VHSWD_PID=""
}

# vhsw_test_init TAG [CLEANUP_FN...]: TEST_TMP and the traps of a test.
# On exit (success, failure, Ctrl-C): vhswd is stopped, the CLEANUP_FNs
# run, every testpmd is stopped and TEST_TMP removed; the exit status is
# the test's.
vhsw_test_init() {
    TEST_TMP=$(mktemp -d "/tmp/vhsw-it-$1.XXXXXX")
    shift
    VHSW_CLEANUPS=("$@")
    trap vhsw_exit_trap EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

vhsw_exit_trap() {
    local rc=$? f
    set +e   # a failing cleanup step must not skip the others
    vhswd_cleanup "$rc"
    for f in "${VHSW_CLEANUPS[@]}"; do "$f"; done
    (exit "$rc")
    harness_cleanup
}

# vhswd_cleanup [RC]: on failure show the switch's counters and log; kill
# vhswd if still running.
vhswd_cleanup() {
    local rc=${1:-0}
    if (( rc != 0 )) && [[ -n $VHSWD_PID ]] && _tp_alive "$VHSWD_PID"; then
        echo "----- vhswctl stats at failure -----" >&2
        ctl stats >&2 2>&1 || true
        echo "----- tail of $(vhswd_log) -----" >&2
        tail -n 20 "$(vhswd_log)" >&2 || true
    fi
    if [[ -n $VHSWD_PID ]] && _tp_alive "$VHSWD_PID"; then
        kill -KILL "$VHSWD_PID" 2>/dev/null || true
        wait "$VHSWD_PID" 2>/dev/null || true
    fi
    return 0
}

# ctl ARGS...: vhswctl against this test's daemon.
ctl() { "$VHSWCTL" --ctl "$VHSW_CTL_SOCK" "$@"; }

# jctl JQ_FILTER ARGS...: vhswctl --json ARGS | jq -r FILTER.
jctl() {
    local filter=$1; shift
    "$VHSWCTL" --ctl "$VHSW_CTL_SOCK" --json "$@" | jq -r "$filter"
}

# port_stat PORT COUNTER: one counter of a port.
port_stat() { jctl ".stats.$2" port show "$1"; }

# port_state PORT: up or down.
port_state() { jctl .state port show "$1"; }

_port_is() { [[ $(port_state "$1") == "$2" ]]; }

# wait_port PORT up|down [TIMEOUT=30]
wait_port() {
    wait_until "${3:-30}" _port_is "$1" "$2" ||
        die "port $1 is not $2 after ${3:-30}s: $(ctl port show "$1" 2>&1 | head -5)"
}

# fdb_port MAC: the port the FDB has for MAC (VLAN 0), or empty.
fdb_port() { jctl ".[] | select(.mac == \"$1\" and .vlan == 0) | .port" fdb show; }

_stat_ge() { (( $(port_stat "$1" "$2") >= $3 )); }

# wait_stat PORT COUNTER N [TIMEOUT=10]: wait until COUNTER >= N.
wait_stat() {
    wait_until "${4:-10}" _stat_ge "$1" "$2" "$3" ||
        die "port $1: $2 did not reach $3 (now $(port_stat "$1" "$2"))"
}

# open_fds: number of fds vhswd has open.
# The adaptive loop holds an epoll fd while it sleeps, so the count is
# taken with the loop awake: busy polling for the moment, and one more
# iteration done (dp_sleep closes its set before the loop goes on).
open_fds() {
    local mode it n
    mode=$(jctl .dataplane.poll_mode stats)
    ctl dataplane set poll-mode busy > /dev/null
    it=$(jctl .dataplane.iterations stats)
    wait_num 10 -gt "$it" jctl .dataplane.iterations stats ||
        die "open_fds: the data plane does not iterate"
    n=$(ls "/proc/$VHSWD_PID/fd" | wc -l)
    ctl dataplane set poll-mode "$mode" > /dev/null
    echo "$n"
}

# mbufs_in_use: packet buffers vhswd holds.
mbufs_in_use() { jctl .dataplane.mbufs_in_use stats; }

# check NAME EXPECTED ACTUAL: record one assertion.
declare -g CHECKS=0
check() {
    CHECKS=$((CHECKS + 1))
    if [[ "$2" != "$3" ]]; then
        die "check failed: $1: expected '$2', got '$3'"
    fi
    log "ok: $1 ($3)"
}

# _num_cmp OP N CMD...: true if the number CMD prints is OP N (-eq, -ge, ...).
_num_cmp() {
    local op=$1 n=$2 v
    shift 2
    v=$("$@") || return 1
    [[ $v =~ ^-?[0-9]+$ ]] && test "$v" "$op" "$n"
}

# wait_num TIMEOUT OP N CMD...: wait until CMD's output (re-run each poll) is OP N.
wait_num() {
    local t=$1
    shift
    wait_until "$t" _num_cmp "$@"
}

# _str_eq WANT CMD...: true if CMD prints exactly WANT.
_str_eq() {
    local want=$1 v
    shift
    v=$("$@") || return 1
    [[ $v == "$want" ]]
}

# wait_str TIMEOUT WANT CMD...: wait until CMD's output (re-run each poll) is WANT.
wait_str() {
    local t=$1
    shift
    wait_until "$t" _str_eq "$@"
}

# learned_count: number of learned (non-static) FDB entries.
learned_count() { jctl '[.[] | select(.static | not)] | length' fdb show; }
