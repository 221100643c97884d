#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The reconnect story with real QEMU guests (issue 14): vhswd is restarted
# with SIGTERM and then SIGKILL under a steady ping between two guests, and
# started again with the same (empty) command line: both ports come back
# from the state file.  QEMU is never touched:
#   g1  a vhswd --client port: QEMU owns the socket (chardev
#       server=on,wait=off); the new vhswd connects to it;
#   g2  a vhswd server port: QEMU connects (chardev reconnect=1) and, once
#       the switch is gone, tries again every second until it is back.
# Recovery times (from the signal, and from the moment the new vhswd
# answers its control socket, to the first frame forwarded each way on the
# port) and the guest's ping outage are printed and written to
# tests/out/restart/guest-recovery.txt.  Times are never asserted.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

guest_test_init guest-restart
VHSWD_KEEP_STATE=1     # every start uses $TEST_TMP/state: a restart restores the ports

M1=52:54:00:7f:00:01 M2=52:54:00:7f:00:02
IP1=10.81.0.1 IP2=10.81.0.2
: "${RESTART_RESULTS:=$HERE/../out/restart}"

vhswd_start
# g1: QEMU listens; it boots the guest once vhswd has connected.
guest_launch g1 "$TEST_TMP/g1.sock" $M1 $IP1/24 --server
guest_wait_socket g1
ctl port add g1 vhost-user "$TEST_TMP/g1.sock" --client > /dev/null
# g2: vhswd listens; QEMU connects with reconnect=1 (guest_launch's default).
ctl port add g2 vhost-user "$TEST_TMP/g2.sock" > /dev/null
guest_launch g2 "$TEST_TMP/g2.sock" $M2 $IP2/24
guest_wait_ready g1
guest_wait_ready g2
wait_port g1 up
wait_port g2 up
check "g1's QEMU chardev" "path=$TEST_TMP/g1.sock,server=on,wait=off" \
    "$(tr -d '\\' < "$(guest_dir g1)/cmdline" | grep -o "path=$TEST_TMP/g1.sock,server=on,wait=off")"
check "g2's QEMU chardev" "path=$TEST_TMP/g2.sock,reconnect=1" \
    "$(tr -d '\\' < "$(guest_dir g2)/cmdline" | grep -o "path=$TEST_TMP/g2.sock,reconnect=1")"
guest_ping g1 $IP2 > /dev/null || die "g1 cannot ping g2"
log "ok: a guest on a --client port pings a guest on a server port"
PORTS0=$(ctl --json port list | jq -c '[.[] | {name, mode, socket}]')

# The steady ping: g1 -> g2 every 100 ms (through both ports, both ways).
guest_send_raw g1 "ping -i 0.1 -w 600 $IP2 > /tmp/ping 2>&1 &"
replies() { guest_cmd g1 "grep -c 'bytes from' /tmp/ping" || true; }
wait_num 30 -ge 10 replies || die "the steady ping does not run"

declare -A DESC=([g1]="g1 (--client, QEMU server=on)" [g2]="g2 (server, QEMU reconnect=1)")
port_counts() { jctl '.[] | "\(.name) \(.state) \(.stats.rx_packets) \(.stats.tx_packets)"' port list; }
secs() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1e6 }'; }
mkdir -p "$RESTART_RESULTS"
RESULTS=$TEST_TMP/recovery.txt
printf '%-8s %-34s %8s %12s %13s\n' signal port what from_kill_s from_ready_s > "$RESULTS"

restart() {
    local sig=$1 t_kill t_ready now name state rx tx left=2 n0 what
    local -A t_up=() t_link=()
    log "--- restart with SIG$sig under the guests' ping ---"
    n0=$(replies)
    t_kill=$(_tp_now_us)
    if [[ $sig == TERM ]]; then vhswd_stop; else vhswd_kill; fi
    TP_POLL=0.02 vhswd_start     # same command line: the ports come from the state file
    t_ready=$(_tp_now_us)
    while (( left > 0 )); do
        now=$(_tp_now_us)
        (( now - t_ready < 60000000 )) || break
        while read -r name state rx tx; do
            [[ $state != up || -n ${t_link[$name]:-} ]] || t_link[$name]=$now
            [[ -z ${t_up[$name]:-} ]] || continue
            if (( rx > 0 && tx > 0 )); then t_up[$name]=$now; left=$((left - 1)); fi
        done < <(port_counts)
        sleep 0.02
    done
    for name in g1 g2; do
        [[ -n ${t_up[$name]:-} ]] ||
            die "SIG$sig: port $name carries no traffic 60 s after the restart: $(port_counts | tr '\n' ';')"
    done
    wait_num 30 -ge $(( n0 + 10 )) replies || die "SIG$sig: g1's ping did not resume"
    log "ok: SIG$sig: the guests' ping resumes without touching QEMU"
    check "SIG$sig: the same ports" "$PORTS0" "$(ctl --json port list | jq -c '[.[] | {name, mode, socket}]')"
    for name in g1 g2; do
        for what in link traffic; do
            if [[ $what == link ]]; then now=${t_link[$name]}; else now=${t_up[$name]}; fi
            printf '%-8s %-34s %8s %12s %13s\n' "SIG$sig" "${DESC[$name]}" $what \
                "$(secs $(( now - t_kill )))" "$(secs $(( now - t_ready )))" >> "$RESULTS"
        done
    done
    printf '%-8s %-34s %8s %12s\n' "SIG$sig" "(vhswd answers)" "" "$(secs $(( t_ready - t_kill )))" >> "$RESULTS"
}

restart TERM
restart KILL

# The guest's view: the largest gap in the ping's sequence numbers.
guest_cmd g1 "kill %1 2>/dev/null; killall ping 2>/dev/null; true" > /dev/null
seqs=$(guest_cmd g1 "grep -o 'seq=[0-9]*' /tmp/ping | cut -d= -f2 | tr '\n' ' '")
gaps=$(awk '{ for (i = 2; i <= NF; i++) if ($i - $(i-1) > 1) printf "%s%d", (n++ ? " " : ""), $i - $(i-1) - 1 }' <<<"$seqs")
maxrtt=$(guest_cmd g1 "grep -o 'time=[0-9.]*' /tmp/ping | cut -d= -f2 | sort -n | tail -1")
check "g1's ping replies again after both restarts" 1 "$(( $(wc -w <<<"$seqs") > 20 ))"
{
    echo "vhswd restart under a guest's ping (tests/guest/test_guest_restart.sh, $(date -u +%FT%TZ))"
    echo "link: the port is up in the new vhswd (vhost-user connection and device ready)"
    echo "traffic: the first frame forwarded each way on the port (g1's ping of g2 crosses both)"
    echo "from_kill_s: from the signal; from_ready_s: from the moment the new vhswd answers its control socket"
    cat "$RESULTS"
    echo "pings lost (100 ms apart) in each outage, as g1 saw them: ${gaps:-none}; slowest reply: $maxrtt ms"
    echo "(a guest's TX ring keeps what it sends while the switch is away: the echo requests are delayed, not lost)"
} > "$RESTART_RESULTS/guest-recovery.txt"
log "recovery times (also in $RESTART_RESULTS/guest-recovery.txt):"
sed 's/^/    /' "$RESTART_RESULTS/guest-recovery.txt" >&2
for sig in SIGTERM SIGKILL; do
    echo "recovery ($sig, from vhswd answering): $(awk -v sig=$sig '$1 == sig && $2 != "(vhswd" {
        printf "%s%s %s %s s", sep, ($2 == "g1" ? "guest-client-port" : "guest-server-port"), $(NF - 2), $NF; sep = ", " }' "$RESULTS")"
done
guest_ping g2 $IP1 > /dev/null || die "g2 cannot ping g1 after the restarts"
guest_stop_all
vhswd_stop
echo "test_guest_restart: $CHECKS checks passed"
