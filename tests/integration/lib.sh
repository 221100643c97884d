# shellcheck shell=bash
# Integration-test harness: drives dpdk-testpmd processes (virtio_user
# "container clients", or stand-ins such as a net_vhost "switch") through a
# FIFO on their stdin.  Typical use (bash, `set -euo pipefail`):
#
#   source tests/integration/lib.sh
#   harness_init my-test             # TEST_TMP=$(mktemp -d ...), EXIT/INT/TERM traps
#   tp_start c1 "$SOCK1" 52:54:00:00:00:01 "" --eth-peer=0,52:54:00:00:00:02
#   tp_start c2 "$SOCK2" 52:54:00:00:00:02 "" --eth-peer=0,52:54:00:00:00:01
#   tp_rxonly c1; tp_rxonly c2
#   tp_send c1 3                     # 96 packets c1 -> c2
#   tp_wait_rx c2 96
#   [[ $(tp_stats c2) == "96 0" ]]
#
# Every testpmd runs in its own dir $TEST_TMP/tp-NAME (testpmd.log, stdin
# FIFO, pid, cmdline), with --file-prefix vhsw-<test pid>-NAME.  Instance
# state lives in shell variables: call tp_launch/tp_start/tp_stop/tp_kill
# from the main shell, not from $(...) or ( ) subshells.
#
# How command completion is detected (deterministic, no sleeps):
#   testpmd's cmdline library handles stdin one line at a time on the main
#   thread.  tp_cmd writes the command followed by `load mNONCE`, where mNONCE
#   is an empty file (relative to testpmd's cwd, the instance dir) with a
#   unique name.  That second command only runs after the first one returned,
#   and prints "Read CLI commands from mNONCE" with a single printf, i.e. a
#   single write(2).  Once that line is in the log, everything the command
#   printed precedes it.
#   Why not wait for the "testpmd> " prompt or an echoed "# comment" marker:
#   cmdline echoes input and prints the prompt one byte per write(2), so lines
#   logged concurrently by other threads (VHOST_CONFIG messages, link events,
#   verbose packet dumps) can land in the middle of them ("testpmdVHOST_...").
#   This has been observed for the initial prompt of a net_vhost client=1
#   testpmd whose peers were already listening.
#   Output must be unbuffered: glibc fully buffers stdout when it is a file,
#   so command output would sit in the buffer (until exit) while the cmdline
#   echo, which uses write(2), appears at once.  Processes are therefore run
#   under `stdbuf -o0 -e0`.

# --- tunables (override before or after sourcing) ---------------------------
: "${TESTPMD:=dpdk-testpmd}"          # testpmd binary
: "${TP_MEM_MB:=512}"                 # -m for --no-huge
: "${TP_LCORES:=0@0,1@0}"             # clients share CPU 0 (switch owns CPU 1)
: "${TP_NB_MBUFS:=8192}"              # --total-num-mbufs
: "${TP_QUEUE_SIZE:=1024}"            # virtio_user queue_size
: "${TP_RXD:=$TP_QUEUE_SIZE}"         # client --rxd: RX buffers posted (testpmd default 512)
: "${TP_TXD:=$TP_QUEUE_SIZE}"         # client --txd
: "${TP_START_TIMEOUT:=30}"           # seconds for a testpmd to accept commands
: "${TP_CMD_TIMEOUT:=30}"             # seconds for one command to complete
: "${TP_STOP_TIMEOUT:=10}"            # seconds for `quit` before SIGKILL
: "${TP_POLL:=0.1}"                   # poll interval of wait loops
: "${TP_LOG_TAIL:=30}"                # log lines shown on failure

declare -gA _TP_PID=() _TP_FD=() _TP_DIR=() _TP_SEQ=() _TP_PREFIX=() _TP_START_T=() _TP_READY_MS=()
declare -ga _TP_ORDER=()

# Print a message to stderr.
log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }

# Print a message to stderr and exit the test with status 1.
die() { printf '[%(%H:%M:%S)T] FATAL: %s\n' -1 "$*" >&2; exit 1; }

# _tp_now_us: current time in microseconds (bash builtin clock, no fork).
_tp_now_us() { local t=${EPOCHREALTIME//[.,]/}; printf '%s\n' "$((10#$t))"; }

# wait_until TIMEOUT_S CMD...: run CMD every $TP_POLL s until it succeeds; 1 on timeout (TIMEOUT_S: integer).
wait_until() {
    local timeout=$1; shift
    local t=${EPOCHREALTIME//[.,]/}
    local deadline=$(( 10#$t + timeout * 1000000 ))
    while :; do
        if "$@"; then return 0; fi
        t=${EPOCHREALTIME//[.,]/}
        (( 10#$t < deadline )) || break
        sleep "$TP_POLL"
    done
    "$@"    # one last try at the deadline
}

# _tp_alive PID: true while PID exists and is not a zombie.
_tp_alive() {
    local pid=$1 stat
    [[ -n $pid && -r /proc/$pid/stat ]] || return 1
    stat=$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ -n $stat && $stat != Z && $stat != X ]]
}

# _tp_dead PID: negation of _tp_alive (for wait_until).
_tp_dead() { ! _tp_alive "$1"; }

# _tp_need NAME: fail unless NAME is a known instance.
_tp_need() {
    [[ -n ${_TP_DIR[$1]:-} ]] || die "testpmd instance '$1' unknown (not started?)"
}

# tp_log NAME: path of NAME's combined stdout/stderr log.
tp_log() { _tp_need "$1"; printf '%s\n' "${_TP_DIR[$1]}/testpmd.log"; }

# tp_pid NAME: PID of NAME's testpmd (empty if not running).
tp_pid() { printf '%s\n' "${_TP_PID[$1]:-}"; }

# tp_running NAME: true while NAME's testpmd is alive.
tp_running() { _tp_alive "${_TP_PID[$1]:-}"; }

# tp_fail NAME MESSAGE: die with MESSAGE plus the tail of NAME's log.
tp_fail() {
    local name=$1; shift
    local logf=${_TP_DIR[$name]:-}/testpmd.log
    {
        printf '[%(%H:%M:%S)T] FATAL: [%s] %s\n' -1 "$name" "$*"
        if [[ -f $logf ]]; then
            printf -- '----- last %s lines of %s -----\n' "$TP_LOG_TAIL" "$logf"
            tail -n "$TP_LOG_TAIL" "$logf" | tr -d '\r'
            printf -- '----- end of log -----\n'
        fi
    } >&2
    exit 1
}

# tp_launch NAME EAL_AND_VDEV_ARGS... -- TESTPMD_ARGS...: start any testpmd in interactive mode, no wait.
# EAL defaults (--no-huge -m, --no-shconf, --no-pci, --file-prefix, --lcores
# $TP_LCORES unless --lcores/-l is given) are added; "-i" is added to the
# application args.  Use tp_wait_ready afterwards.
tp_launch() {
    local name=$1; shift
    [[ -n ${TEST_TMP:-} && -d ${TEST_TMP:-} ]] || die "TEST_TMP must name an existing directory"
    [[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || die "bad testpmd instance name '$name'"
    if tp_running "$name"; then die "testpmd instance '$name' is already running"; fi
    local -a eal=() app=()
    while (( $# )); do
        if [[ $1 == -- ]]; then shift; app=("$@"); break; fi
        eal+=("$1"); shift
    done
    local have_lcores=0 a
    for a in "${eal[@]}"; do [[ $a == --lcores* || $a == -l* ]] && have_lcores=1; done
    (( have_lcores )) || eal=(--lcores "$TP_LCORES" "${eal[@]}")

    local dir=$TEST_TMP/tp-$name prefix="vhsw-$$-$name"
    # Keep logs of earlier incarnations (restart after tp_kill) as tp-NAME.N.
    if [[ -e $dir ]]; then
        local n=1
        while [[ -e $dir.$n ]]; do n=$((n + 1)); done
        mv -- "$dir" "$dir.$n"
        rm -f -- "$dir.$n/stdin"
    fi
    rm -rf -- "/var/run/dpdk/$prefix"
    mkdir -p -- "$dir"
    mkfifo -- "$dir/stdin"
    : > "$dir/testpmd.log"
    local fd
    # Read-write open never blocks and keeps a writer alive for testpmd's stdin.
    exec {fd}<>"$dir/stdin"
    local -a argv=(stdbuf -o0 -e0 "$TESTPMD" "${eal[@]}" --no-huge -m "$TP_MEM_MB"
                  --no-shconf --no-pci --file-prefix "$prefix"
                  -- -i "${app[@]}")
    printf '%q ' "${argv[@]}" > "$dir/cmdline"; echo >> "$dir/cmdline"
    # exec: the recorded PID is testpmd's own (stdbuf execs it).
    # The child must not inherit the FIFO fds of this or other instances.
    (
        tp_close_fds
        exec {fd}>&-
        cd "$dir" && exec "${argv[@]}" <"$dir/stdin" >"$dir/testpmd.log" 2>&1
    ) &
    local pid=$!
    _TP_PID[$name]=$pid
    _TP_FD[$name]=$fd
    _TP_DIR[$name]=$dir
    _TP_SEQ[$name]=0
    _TP_PREFIX[$name]=$prefix
    _TP_ORDER+=("$name")
    echo "$pid" > "$dir/pid"
    _TP_START_T[$name]=$(_tp_now_us)
}

# _tp_log_has NAME ERE: true if NAME's log matches the extended regex.
_tp_log_has() { grep -qE -- "$2" "${_TP_DIR[$1]}/testpmd.log"; }

# _tp_sync NAME COMMAND TIMEOUT_S: send COMMAND plus a completion marker, wait for the marker; sets _TP_OFF and _TP_MARK.
# Fails (with the log tail) if testpmd dies or the marker does not show up in time.
_tp_sync() {
    local name=$1 cmd=$2 timeout=$3
    local dir=${_TP_DIR[$name]} seq=$(( ${_TP_SEQ[$name]:-0} + 1 ))
    _TP_SEQ[$name]=$seq
    # Unique even when called from $(...) subshells, whose _TP_SEQ update is lost.
    local mfile="m${BASHPID}-${EPOCHREALTIME//[.,]/}-$seq"
    local logf=$dir/testpmd.log
    : > "$dir/$mfile"
    _TP_MARK="Read CLI commands from $mfile"
    _TP_OFF=$(stat -c %s -- "$logf")
    printf '%s\nload %s\n' "$cmd" "$mfile" >&"${_TP_FD[$name]}"
    local t=${EPOCHREALTIME//[.,]/}
    local deadline=$(( 10#$t + timeout * 1000000 ))
    until tail -c "+$(( _TP_OFF + 1 ))" -- "$logf" | grep -qF -- "$_TP_MARK"; do
        tp_running "$name" || tp_fail "$name" "testpmd exited while running '$cmd'"
        t=${EPOCHREALTIME//[.,]/}
        (( 10#$t < deadline )) ||
            tp_fail "$name" "'$cmd' did not complete within ${timeout}s (no '$_TP_MARK' in log)"
        sleep 0.02
    done
    rm -f -- "$dir/$mfile"
}

# tp_wait_ready NAME [NB_PORTS=1]: wait until NAME executes commands (bounded by $TP_START_TIMEOUT) and has NB_PORTS ports.
# Does not look for the prompt (see the header): the completion marker is
# queued in the FIFO and runs as soon as the interactive cmdline starts.
tp_wait_ready() {
    local name=$1 nb_ports=${2:-1}
    _tp_need "$name"
    tp_running "$name" || tp_fail "$name" "testpmd is not running"
    _tp_sync "$name" "" "$TP_START_TIMEOUT"
    local p
    for (( p = 0; p < nb_ports; p++ )); do
        _tp_log_has "$name" "Port $p: ([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}" ||
            tp_fail "$name" "port $p did not come up (no 'Port $p: <MAC>' line; vdev probe or port start failed)"
    done
    _TP_READY_MS[$name]=$(( ($(_tp_now_us) - ${_TP_START_T[$name]}) / 1000 ))
    echo "${_TP_READY_MS[$name]}" > "${_TP_DIR[$name]}/startup_ms"
}

# tp_startup_ms NAME: milliseconds from launch to ready (as measured by tp_wait_ready).
tp_startup_ms() { printf '%s\n' "${_TP_READY_MS[$1]:-}"; }

# tp_launch_client NAME SOCK MAC [VDEV_EXTRA [TESTPMD_EXTRA...]]: launch a virtio_user client, no wait.
tp_launch_client() {
    local name=$1 sock=$2 mac=$3 vextra=${4:-}
    shift 3; (( $# )) && shift
    local vdev="virtio_user0,path=$sock,queue_size=$TP_QUEUE_SIZE,mac=$mac"
    [[ -n $vextra ]] && vdev+=",$vextra"
    # Single port: loop topology (same forwarding as paired, minus the warning).
    # --rxd: otherwise only 512 RX buffers are posted whatever queue_size is.
    tp_launch "$name" --vdev "$vdev" -- --total-num-mbufs="$TP_NB_MBUFS" \
        --port-topology=loop --rxd="$TP_RXD" --txd="$TP_TXD" "$@"
}

# tp_start NAME SOCK MAC [VDEV_EXTRA [TESTPMD_EXTRA...]]: start a 1-port virtio_user client and wait until ready.
# VDEV_EXTRA is appended to the vdev devargs (e.g. "server=1"; "" for none);
# TESTPMD_EXTRA are application args (e.g. --eth-peer=0,52:54:00:00:00:02).
# Note: with server=1 virtio_user blocks in accept() until the vhost side
# connects, so use tp_launch_client + (start vhost side) + tp_wait_ready.
tp_start() {
    tp_launch_client "$@"
    tp_wait_ready "$1" 1
}

# tp_send_raw NAME TEXT: write raw line(s) to NAME's stdin without waiting.
tp_send_raw() {
    _tp_need "$1"
    printf '%s\n' "$2" >&"${_TP_FD[$1]}"
}

# tp_cmd NAME COMMAND: run one testpmd command, wait until it finished (bounded by $TP_CMD_TIMEOUT), print its output.
# Prompts and the echoed command/marker lines are stripped; whole lines printed
# by other threads meanwhile (link events, verbose packet dumps) may be mixed in.
tp_cmd() {
    local name=$1 cmd=$2
    _tp_need "$name"
    [[ $cmd != *$'\n'* ]] || die "tp_cmd: one command per call"
    tp_running "$name" || tp_fail "$name" "tp_cmd '$cmd': testpmd is not running"
    local _TP_OFF _TP_MARK
    _tp_sync "$name" "$cmd" "$TP_CMD_TIMEOUT"
    tail -c "+$(( _TP_OFF + 1 ))" -- "${_TP_DIR[$name]}/testpmd.log" | tr -d '\r' |
        awk -v mark="$_TP_MARK" -v cmd="$cmd" -v load="load ${_TP_MARK#Read CLI commands from }" '
            index($0, mark) { exit }
            { gsub(/testpmd> /, "") }
            !seen && cmd != "" && $0 == cmd { seen = 1; next }
            $0 == load { next }
            { print }'
}

# tp_stats NAME [PORT=0]: print "RX TX" cumulative packet counters of PORT.
tp_stats() {
    local name=$1 port=${2:-0} out rx tx
    out=$(tp_cmd "$name" "show port stats $port")
    rx=$(awk '/RX-packets:/ { print $2; exit }' <<<"$out")
    tx=$(awk '/TX-packets:/ { print $2; exit }' <<<"$out")
    [[ $rx =~ ^[0-9]+$ && $tx =~ ^[0-9]+$ ]] ||
        tp_fail "$name" "cannot parse 'show port stats $port': $out"
    printf '%s %s\n' "$rx" "$tx"
}

# tp_rx NAME [PORT=0]: print the RX packet counter.
tp_rx() { local s; s=$(tp_stats "$@"); printf '%s\n' "${s% *}"; }

# tp_tx NAME [PORT=0]: print the TX packet counter.
tp_tx() { local s; s=$(tp_stats "$@"); printf '%s\n' "${s#* }"; }

# tp_clear_stats NAME: reset all port counters (clear port stats all).
tp_clear_stats() { tp_cmd "$1" "clear port stats all" > /dev/null; }

# _tp_counter_ge NAME WHICH(rx|tx) N [PORT]: true if the counter is >= N.
_tp_counter_ge() {
    local v
    v=$("tp_$2" "$1" "${4:-0}") || exit 1     # query failed: error already printed
    (( v >= $3 ))
}

# tp_wait_rx NAME N [TIMEOUT_S=10] [PORT=0]: wait until RX counter >= N.
tp_wait_rx() {
    wait_until "${3:-10}" _tp_counter_ge "$1" rx "$2" "${4:-0}" ||
        tp_fail "$1" "RX counter did not reach $2 within ${3:-10}s (now: $(tp_stats "$1" "${4:-0}"))"
}

# tp_wait_tx NAME N [TIMEOUT_S=10] [PORT=0]: wait until TX counter >= N.
tp_wait_tx() {
    wait_until "${3:-10}" _tp_counter_ge "$1" tx "$2" "${4:-0}" ||
        tp_fail "$1" "TX counter did not reach $2 within ${3:-10}s (now: $(tp_stats "$1" "${4:-0}"))"
}

# tp_link NAME [PORT=0]: print the link status ("up" or "down") from `show port info`.
tp_link() {
    local st
    st=$(tp_cmd "$1" "show port info ${2:-0}" | sed -nE 's/^ *Link status: *([a-z]+).*/\1/p' | head -n1)
    [[ -n $st ]] || tp_fail "$1" "cannot parse link status"
    printf '%s\n' "$st"
}

# _tp_link_is NAME STATE PORT: true if the link status equals STATE.
_tp_link_is() {
    local st
    st=$(tp_link "$1" "$3") || exit 1
    [[ $st == "$2" ]]
}

# tp_wait_link NAME up|down [TIMEOUT_S=10] [PORT=0]: wait for a link status.
tp_wait_link() {
    wait_until "${3:-10}" _tp_link_is "$1" "$2" "${4:-0}" ||
        tp_fail "$1" "link of port ${4:-0} not $2 within ${3:-10}s"
}

# tp_log_size NAME: current size in bytes of NAME's log (an offset for tp_log_count).
tp_log_size() { stat -c %s -- "$(tp_log "$1")"; }

# tp_log_count NAME FIXED_STRING [FROM_OFFSET=0]: print how many log lines after FROM_OFFSET contain the string.
tp_log_count() {
    local n
    n=$(tail -c "+$(( ${3:-0} + 1 ))" -- "$(tp_log "$1")" | grep -cF -- "$2" || true)
    printf '%s\n' "${n:-0}"
}

# _tp_log_count_ge NAME FIXED_STRING N [FROM_OFFSET]: true if tp_log_count >= N.
_tp_log_count_ge() { (( $(tp_log_count "$1" "$2" "${4:-0}") >= $3 )); }

# tp_wait_log NAME FIXED_STRING [TIMEOUT_S=10] [FROM_OFFSET=0] [N=1]: wait until the log has N matching lines.
tp_wait_log() {
    wait_until "${3:-10}" _tp_log_count_ge "$1" "$2" "${5:-1}" "${4:-0}" ||
        tp_fail "$1" "log did not show '$2' (x${5:-1}) within ${3:-10}s"
}

# tp_rxonly NAME: switch NAME to rxonly forwarding and start it (idempotent).
tp_rxonly() {
    tp_cmd "$1" "stop" > /dev/null
    tp_cmd "$1" "set fwd rxonly" > /dev/null
    tp_cmd "$1" "start" > /dev/null
}

# tp_burst NAME: print the forwarding burst size (packets/burst of `show config rxtx`).
tp_burst() {
    local b
    b=$(tp_cmd "$1" "show config rxtx" | sed -nE 's/.*packets\/burst=([0-9]+).*/\1/p' | head -n1)
    [[ $b =~ ^[0-9]+$ ]] || tp_fail "$1" "cannot parse burst size from 'show config rxtx'"
    printf '%s\n' "$b"
}

# tp_send NAME BURSTS [BURST]: send BURSTS*BURST packets via `stop` + `start tx_first BURSTS`, print the TX delta.
# BURST defaults to the configured burst size (32 unless `set burst`).  NAME
# should be in rxonly mode (tp_rxonly): tx_first first runs the txonly engine
# (dst MAC = --eth-peer, src MAC = port MAC) and then resumes the configured
# engine.  Waits until the TX counter grew by the full amount (testpmd frees,
# without counting, packets the PMD did not accept, so a shortfall fails).
# Keep BURSTS*BURST <= the receiver's --rxd ($TP_RXD): a client sharing a CPU
# may not poll while the burst is in flight, and the switch drops the excess.
tp_send() {
    local name=$1 bursts=$2 burst=${3:-} tx0 want
    [[ -n $burst ]] || burst=$(tp_burst "$name")
    tx0=$(tp_tx "$name")
    want=$(( tx0 + bursts * burst ))
    tp_cmd "$name" "stop" > /dev/null
    tp_cmd "$name" "start tx_first $bursts" > /dev/null
    tp_wait_tx "$name" "$want" 10
    echo $(( $(tp_tx "$name") - tx0 ))
}

declare -gA _TP_PP0=()

# tp_pingpong_start A B [BURSTS=4]: endless A<->B ping-pong: both `set fwd mac` (needs --eth-peer), A injects BURSTS bursts.
tp_pingpong_start() {
    local a=$1 b=$2 n=${3:-4}
    tp_cmd "$a" stop > /dev/null; tp_cmd "$b" stop > /dev/null
    tp_cmd "$a" "set fwd mac" > /dev/null; tp_cmd "$b" "set fwd mac" > /dev/null
    _TP_PP0[$a,$b]="$(tp_stats "$a") $(tp_stats "$b")"
    tp_cmd "$b" start > /dev/null
    tp_cmd "$a" "start tx_first $n" > /dev/null
}

# _tp_pp_balanced A B RXA0 TXA0 RXB0 TXB0: true when, since the baseline, A got all B sent and B got all A sent.
_tp_pp_balanced() {
    local sa sb
    sa=$(tp_stats "$1") || exit 1
    sb=$(tp_stats "$2") || exit 1
    (( ${sa% *} - $3 == ${sb#* } - $6 && ${sb% *} - $5 == ${sa#* } - $4 ))
}

# tp_pingpong_stop A B [TIMEOUT_S=10]: end the loop without loss; both end in rxonly.
# A switches to rxonly (a sink) while B keeps reflecting until nothing is in
# flight, then B switches to rxonly.  Fails if packets were lost.  Only valid
# while A and B exchange traffic with nobody else.
tp_pingpong_stop() {
    local a=$1 b=$2 t=${3:-10} base
    base=${_TP_PP0[$a,$b]:-}
    [[ -n $base ]] || die "tp_pingpong_stop: no tp_pingpong_start $a $b"
    local -a v
    read -r -a v <<<"$base"     # rxA txA rxB txB at start
    tp_rxonly "$a"
    wait_until "$t" _tp_pp_balanced "$a" "$b" "${v[@]}" ||
        tp_fail "$a" "ping-pong did not drain: A=$(tp_stats "$a") B=$(tp_stats "$b") base=$base"
    tp_rxonly "$b"     # `stop` returns once B's lcore finished its last burst
    wait_until "$t" _tp_pp_balanced "$a" "$b" "${v[@]}" ||
        tp_fail "$a" "ping-pong lost packets: A=$(tp_stats "$a") B=$(tp_stats "$b") base=$base"
    unset "_TP_PP0[$a,$b]"
}

# _tp_reap NAME: reap a dead instance, close its FIFO fd, drop its runtime dir.
_tp_reap() {
    local name=$1 pid=${_TP_PID[$1]:-} fd=${_TP_FD[$1]:-}
    [[ -n $pid ]] && { wait "$pid" 2>/dev/null || true; }
    [[ -n $fd ]] && { exec {fd}>&- || true; }
    [[ -n ${_TP_PREFIX[$name]:-} ]] && rm -rf -- "/var/run/dpdk/${_TP_PREFIX[$name]}"
    _TP_PID[$name]=""
    _TP_FD[$name]=""
}

# proc_kill PID WHAT: SIGKILL PID and wait until it is gone (dies if it is not).
proc_kill() {
    [[ -n $1 ]] || return 0
    kill -KILL "$1" 2>/dev/null || true
    wait_until 10 _tp_dead "$1" || die "$2 (pid $1) survived SIGKILL"
}

# proc_quit PID FD LINE TIMEOUT WHAT: write LINE to FD (the process's
# console or stdin), wait TIMEOUT s for PID to exit, then SIGKILL it.
# Returns 1 if it had to kill.
proc_quit() {
    local pid=$1 fd=$2 line=$3 timeout=$4 what=$5
    _tp_alive "$pid" || return 0
    { printf '%s\n' "$line" >&"$fd"; } 2>/dev/null || true
    wait_until "$timeout" _tp_dead "$pid" && return 0
    log "[$what] did not exit within ${timeout}s of '$line', sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_until 10 _tp_dead "$pid" || true
    return 1
}

# tp_kill NAME: SIGKILL NAME (simulated crash) and reap it.
tp_kill() {
    _tp_need "$1"
    proc_kill "${_TP_PID[$1]:-}" "testpmd $1"
    _tp_reap "$1"
}

# tp_stop NAME: `quit` gracefully; SIGKILL after $TP_STOP_TIMEOUT s. Returns 1 if it had to kill.
tp_stop() {
    local name=$1 pid=${_TP_PID[$1]:-} rc=0
    _tp_need "$name"
    [[ -n $pid ]] || return 0
    proc_quit "$pid" "${_TP_FD[$name]}" quit "$TP_STOP_TIMEOUT" "$name" || rc=1
    _tp_reap "$name"
    return $rc
}

# tp_stop_all: stop every running instance, newest first; returns 1 if any needed SIGKILL.
tp_stop_all() {
    local i name rc=0
    for (( i = ${#_TP_ORDER[@]} - 1; i >= 0; i-- )); do
        name=${_TP_ORDER[$i]}
        [[ -n ${_TP_PID[$name]:-} ]] && { tp_stop "$name" || rc=1; }
    done
    return $rc
}

# tp_kill_all: SIGKILL every running instance.
tp_kill_all() {
    local name
    for name in "${_TP_ORDER[@]}"; do
        [[ -n ${_TP_PID[$name]:-} ]] && tp_kill "$name"
    done
    return 0
}

# tp_close_fds: close the harness FIFO fds in the current (sub)shell; use as `( tp_close_fds; exec DAEMON ... ) &`.
# Otherwise a long-lived process started by the test inherits them, and the
# testpmds would not see EOF (and quit by themselves) if the test shell is
# SIGKILLed.
tp_close_fds() {
    local f
    for f in "${_TP_FD[@]}"; do [[ -n $f ]] && { exec {f}>&- || true; }; done
    return 0
}

# harness_init [TAG]: create TEST_TMP (unless already set) and install the EXIT/INT/TERM traps.
harness_init() {
    if [[ -z ${TEST_TMP:-} ]]; then
        TEST_TMP=$(mktemp -d "/tmp/vhsw-${1:-test}.XXXXXX")
    fi
    mkdir -p -- "$TEST_TMP"
    trap harness_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# harness_cleanup: EXIT-trap handler: stop all testpmds by PID, remove $TEST_TMP unless KEEP_TMP=1.
harness_cleanup() {
    local rc=$?
    set +e
    TP_STOP_TIMEOUT=${TP_CLEANUP_STOP_TIMEOUT:-5} tp_stop_all
    if [[ -n ${TEST_TMP:-} && -d ${TEST_TMP:-} ]]; then
        if [[ ${KEEP_TMP:-0} == 1 || ( $rc != 0 && ${KEEP_TMP_ON_FAIL:-0} == 1 ) ]]; then
            log "keeping $TEST_TMP"
        else
            rm -rf -- "$TEST_TMP"
        fi
    fi
    return $rc
}
