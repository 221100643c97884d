#!/usr/bin/env bash
# The reconnect story (issue 14): vhswd is restarted under continuous
# traffic, once with SIGTERM and once with SIGKILL, each time started again
# with the same (empty) command line: every port comes back from the state
# file (--state-dir), none is added by the test.  Each kind of port carries
# traffic again without touching its client:
#   c1      a vhost-user --client port; the DPDK client is virtio_user in
#           server mode (server=1): vhswd reconnects, virtio_user accepts;
#   uplink  net_af_packet on a veth, the far end in an "outside" namespace;
#   k       a kernel port in a namespace with an address: its persistent
#           TAP (same ifindex, MAC, address) is attached again.
# And the README's default kind, for which the client has to act:
#   s1      a vhost-user server port; the DPDK client is virtio_user in
#           client mode.  DPDK 22.11's virtio_user does not reconnect in
#           client mode (its link stays down); the test shows that and then
#           does what docs/operations.md (restarts) tells such an application
#           to do: detach the port and attach it again (with SIGPIPE
#           ignored: closing the dead connection writes to it).
# Traffic: the outside pings each of them every 50 ms (static ARP entries:
# testpmd's icmpecho answers every ARP request and echo request it sees, so
# the testpmd ports also have port security, and the FDB static entries).
# Recovery times (from the kill, and from the moment the new vhswd answers
# its control socket, to the first frame forwarded in each direction on the
# port) and the outage each pinger saw are printed as a table and written to
# tests/out/restart/recovery.txt.  Times are never asserted: traffic must
# resume within a generous bound.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

ID=$$
OUT=vrs$ID-out NSK=vrs$ID-k
UP=vr${ID}u PEER=vr${ID}p
NET=10.79.0
M1=52:54:00:79:00:11 M2=52:54:00:79:00:12
: "${RESTART_RESULTS:=$HERE/../out/restart}"
PINGS=()

net_cleanup() {
    local p ns
    for p in "${PINGS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    for ns in $OUT $NSK; do ip netns del "$ns" 2>/dev/null; done
    ip link del "$UP" 2>/dev/null
    return 0
}
vhsw_test_init restart net_cleanup
VHSWD_KEEP_STATE=1     # every start uses $TEST_TMP/state: a restart restores the ports

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
now_us() { _tp_now_us; }
ms() { printf '%d' $(( ($1) / 1000 )); }
secs() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1e6 }'; }

# --- The outside, behind the uplink; the kernel port's namespace -----------
ip netns add $OUT
ip netns add $NSK
ip link add $UP type veth peer name $PEER
ip link set $PEER netns $OUT
sysctl -qw "net.ipv6.conf.$UP.disable_ipv6=1"
ip link set $UP up
for ns in $OUT $NSK; do
    in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
done
ip -n $OUT link set $PEER up
ip -n $OUT addr add $NET.1/24 dev $PEER
PEER_MAC=$(ip -n $OUT -j link show $PEER | jq -r '.[0].address')

# --- The switch: everything added at run time, so it lives in the state ---
vhswd_start
ctl uplink add "net_af_packet0,iface=$UP" > /dev/null
# c1: the client listens (server=1), vhswd connects.
tp_launch_client c1 "$TEST_TMP/c1.sock" $M1 server=1
wait_until 30 test -S "$TEST_TMP/c1.sock" || die "c1 did not create its socket"
ctl port add c1 vhost-user "$TEST_TMP/c1.sock" --client --allowed-macs $M1 > /dev/null
tp_wait_ready c1
# s1: vhswd listens, virtio_user connects (the README's default).  SIGPIPE
# ignored, as the application must (see the header).
printf '#!/bin/sh\ntrap "" PIPE\nexec %q "$@"\n' "$TESTPMD" > "$TEST_TMP/testpmd-nopipe"
chmod +x "$TEST_TMP/testpmd-nopipe"
ctl port add s1 vhost-user "$TEST_TMP/s1.sock" --allowed-macs $M2 > /dev/null
S1_VDEV="virtio_user0,path=$TEST_TMP/s1.sock,queue_size=$TP_QUEUE_SIZE,mac=$M2"
TESTPMD=$TEST_TMP/testpmd-nopipe tp_start s1 "$TEST_TMP/s1.sock" $M2
# k: a kernel port with an address in its namespace.
ctl port add k kernel --ifname eth0 --netns /run/netns/$NSK > /dev/null
ip -n $NSK addr add $NET.2/24 dev eth0
ctl fdb add $M1 c1 > /dev/null
ctl fdb add $M2 s1 > /dev/null
wait_port c1 up
wait_port s1 up
for n in c1 s1; do
    tp_cmd $n stop > /dev/null
    tp_cmd $n "set fwd icmpecho" > /dev/null
    tp_cmd $n start > /dev/null
done
K_MAC=$(ip -n $NSK -j link show eth0 | jq -r '.[0].address')
# Static neighbours: nobody ARPs (icmpecho would answer for any address).
ip -n $OUT neigh replace $NET.2 lladdr "$K_MAC" dev $PEER nud permanent
ip -n $OUT neigh replace $NET.11 lladdr $M1 dev $PEER nud permanent
ip -n $OUT neigh replace $NET.12 lladdr $M2 dev $PEER nud permanent
ip -n $NSK neigh replace $NET.1 lladdr "$PEER_MAC" dev eth0 nud permanent

# kstate: what must survive of the kernel port's interface.
kstate() { ip -n $NSK -j addr show eth0 | jq -r '.[0] | "\(.ifindex) \(.address) \([.addr_info[] | select(.family == "inet") | "\(.local)/\(.prefixlen)"] | join(","))"'; }
ports_conf() { ctl --json port list | jq -c '[.[] | {name, type, mode, socket, queues, vlan, mtu, admin, allowed_macs}] | sort_by(.name)'; }
fdb_static() { ctl --json fdb show | jq -c '[.[] | select(.static) | {mac, vlan, port}] | sort_by(.mac)'; }
K0=$(kstate)
STATE0=$(jq -S -c . "$TEST_TMP/state/state.json")
PORTS0=$(ports_conf)
FDB0=$(fdb_static)
check "kernel port: address in its namespace" "$NET.2/24" "${K0##* }"
check "four ports" "c1 k s1 uplink" "$(jctl '[.[].name] | sort | join(" ")' port list)"

# --- Continuous traffic: the outside pings every port every 50 ms ----------
declare -A TARGET=([c1]=$NET.11 [s1]=$NET.12 [k]=$NET.2)
for n in c1 s1 k; do
    # exec: the PID recorded is ping's own (ip netns exec execs it).
    ( exec ip netns exec $OUT ping -D -n -i 0.05 "${TARGET[$n]}" ) > "$TEST_TMP/ping-$n.out" 2>&1 &
    PINGS+=($!)
done
replies() { grep -c 'bytes from' "$TEST_TMP/ping-$1.out" || true; }
# replies_after NAME T_US: replies whose timestamp is after T_US.
replies_after() {
    awk -v t="$2" '/bytes from/ { ts = substr($1, 2, length($1) - 2); if (ts * 1e6 > t) n++ } END { print n + 0 }' \
        "$TEST_TMP/ping-$1.out"
}
for n in c1 s1 k; do
    wait_num 20 -ge 10 replies $n || die "the outside's ping of $n (${TARGET[$n]}) gets no replies"
done
log "ok: the outside pings c1, s1 and k through the uplink"

# port_counts: "NAME STATE RX TX" for every port of the running vhswd.
port_counts() { jctl '.[] | "\(.name) \(.state) \(.stats.rx_packets) \(.stats.tx_packets)"' port list; }

# outage NAME T_US: the longest time without replies, in ms, in NAME's ping
# output from 1 s before T_US on.
outage() {
    awk -v t="$2" '/bytes from/ { ts = substr($1, 2, length($1) - 2) * 1e6; if (ts < t - 1e6) next
        if (prev && ts - prev > gap) gap = ts - prev; prev = ts } END { printf "%d", gap / 1000 }' \
        "$TEST_TMP/ping-$1.out"
}

# s1_reattach: what a DPDK application on a server port does when its
# link goes down: detach the virtio_user device and attach it again (here
# with testpmd's commands; an application calls rte_dev_remove and
# rte_dev_probe), then resume.
s1_reattach() {
    tp_cmd s1 stop > /dev/null
    tp_cmd s1 "port stop 0" > /dev/null
    tp_cmd s1 "port close 0" > /dev/null
    tp_cmd s1 "device detach virtio_user0" > /dev/null
    tp_cmd s1 "port attach $S1_VDEV" | grep -q "Port 0 is attached" ||
        tp_fail s1 "port attach $S1_VDEV failed"
    tp_cmd s1 "port start 0" > /dev/null
    tp_cmd s1 "set fwd icmpecho" > /dev/null
    tp_cmd s1 start > /dev/null
}

mkdir -p "$RESTART_RESULTS"
RESULTS=$TEST_TMP/recovery.txt
printf '%-8s %-12s %14s %14s %14s\n' signal port "from_kill_s" "from_ready_s" "ping_gap_s" > "$RESULTS"

# restart SIGNAL: one restart under traffic, measured; the checks after it.
restart() {
    local sig=$1 t_kill t_dead t_ready t_attach now name state rx tx n left=3 s1_note
    local -A t_up=()
    log "--- restart with SIG$sig under traffic ---"
    t_kill=$(now_us)
    if [[ $sig == TERM ]]; then vhswd_stop; else vhswd_kill; fi
    t_dead=$(now_us)
    # Same command line; the ports come from the state file.
    TP_POLL=0.02 vhswd_start
    t_ready=$(now_us)
    log "vhswd exited $(ms $(( t_dead - t_kill ))) ms after SIG$sig; the new one answers $(ms $(( t_ready - t_kill ))) ms after the signal"
    # The first frame each way on each port, polled as fast as vhswctl answers.
    while (( left > 0 )); do
        now=$(now_us)
        (( now - t_ready < 30000000 )) || break
        while read -r name _ rx tx; do
            [[ $name == c1 || $name == uplink || $name == k ]] || continue
            [[ -z ${t_up[$name]:-} ]] || continue
            if (( rx > 0 && tx > 0 )); then t_up[$name]=$now; left=$((left - 1)); fi
        done < <(port_counts)
        sleep 0.02
    done
    for name in c1 uplink k; do
        [[ -n ${t_up[$name]:-} ]] ||
            die "SIG$sig: port $name carries no traffic 30 s after the restart: $(port_counts | tr '\n' ';')"
        log "ok: SIG$sig: $name forwards again, $(ms $(( t_up[$name] - t_ready ))) ms after vhswd answered"
    done
    # s1: virtio_user in client mode stays down; the application re-attaches.
    check "SIG$sig: s1 (server port, virtio_user client) not reconnected by itself" down "$(port_state s1)"
    check "SIG$sig: s1's client saw its link go down" down "$(tp_link s1)"
    t_attach=$(now_us)
    s1_reattach
    wait_until 30 _both_ways s1 || die "SIG$sig: s1 carries no traffic after the re-attach"
    t_up[s1]=$(now_us)
    log "ok: SIG$sig: s1 forwards again $(ms $(( t_up[s1] - t_attach ))) ms after its client re-attached"
    # Every pinger gets replies again.
    for name in c1 s1 k; do
        wait_num 30 -ge 5 replies_after $name "${t_up[$name]}" ||
            die "SIG$sig: the outside's ping of $name gets no replies after the restart"
    done
    log "ok: SIG$sig: the outside's pings of c1, s1 and k get replies again"
    # Nothing duplicated, nothing stale.
    check "SIG$sig: the same ports" "$PORTS0" "$(ports_conf)"
    check "SIG$sig: the same static FDB entries" "$FDB0" "$(fdb_static)"
    check "SIG$sig: kernel port: same ifindex, MAC and address" "$K0" "$(kstate)"
    check "SIG$sig: the state file as before" "$STATE0" "$(jq -S -c . "$TEST_TMP/state/state.json")"
    check "SIG$sig: no entry of the state file refused at start" "" \
        "$(cd "$TEST_TMP/state" && ls -d state.json.* 2>/dev/null | tr '\n' ' ')"
    check "SIG$sig: one uplink" 1 "$(jctl '[.[] | select(.type == "uplink" or .name == "uplink")] | length' port list)"
    for name in c1 uplink k s1; do
        s1_note=""
        [[ $name == s1 ]] && s1_note=" (after its client re-attached, $(secs $(( t_up[s1] - t_attach ))) s after the re-attach began)"
        case $name in uplink) n=-;; *) n=$(secs $(( $(outage $name "$t_kill") * 1000 )));; esac
        printf '%-8s %-12s %14s %14s %14s%s\n' "SIG$sig" "$name" "$(secs $(( t_up[$name] - t_kill )))" \
            "$(secs $(( t_up[$name] - t_ready )))" "$n" "$s1_note" >> "$RESULTS"
    done
    printf '%-8s %-12s %14s   (the old vhswd exited after %s s)\n' "SIG$sig" "(vhswd up)" \
        "$(secs $(( t_ready - t_kill )))" "$(secs $(( t_dead - t_kill )))" >> "$RESULTS"
}
_both_ways() { local l; l=$(port_counts | awk -v p="$1" '$1 == p && $3 > 0 && $4 > 0'); [[ -n $l ]]; }

restart TERM
restart KILL

{
    echo "vhswd restart under traffic (tests/integration/test_restart.sh, $(date -u +%FT%TZ))"
    echo "from_kill_s: signal sent -> first frame each way on the port in the new vhswd"
    echo "from_ready_s: the new vhswd answers its control socket -> the same"
    echo "ping_gap_s: longest time without a reply seen by the outside's 50 ms ping of the port"
    cat "$RESULTS"
} > "$RESTART_RESULTS/recovery.txt"
log "recovery times (also in $RESTART_RESULTS/recovery.txt):"
sed 's/^/    /' "$RESTART_RESULTS/recovery.txt" >&2
declare -A KIND=([c1]=client-port [uplink]=uplink [k]=kernel-port [s1]=server-port-after-reattach)
for sig in SIGTERM SIGKILL; do
    line=$(awk -v sig=$sig '$1 == sig && $2 != "(vhswd" { print $2, $4 }' "$RESULTS" |
        while read -r name t; do printf '%s %s s, ' "${KIND[$name]}" "$t"; done)
    echo "recovery ($sig, from vhswd answering): ${line%, }"
done

tp_stop_all
vhswd_stop
echo "test_restart: $CHECKS checks passed"
