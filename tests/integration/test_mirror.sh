#!/usr/bin/env bash
# Port mirrors (`vhswctl mirror add|del|list`, include/mirror.h) with real
# traffic: two kernel ports k1, k2 in network namespaces of their own ping
# each other; a third kernel port k3, in a third namespace where tcpdump
# listens, is the mirror destination.  Every count is exact: the pinging
# namespaces have static neighbours and no IPv6, so the only frames are the
# ICMP echoes ping reports having sent and received.
#
#   - direction rx on k1: k3 sees k1's echo requests only; tx: k1's echo
#     replies only; both: both; --src k1,k2 both: each frame twice (rx on
#     one source, tx on the other).  The frames arrive unchanged (MACs,
#     length); the switch's tx_packets of k3 equal what tcpdump saw.
#   - k3 is output-only: what its own kernel sends (ARP for a ping from its
#     namespace) is never received (rx_packets 0), learned or forwarded;
#     after `mirror del` the same ping is answered (k3 forwards again) and
#     mirroring stops.
#   - a vhost-user destination (testpmd, rxonly) gets exactly the mirrored
#     frames; the burst its client sends goes nowhere.
#   - `mirror list` text and --json; every refusal with its message.
#   - the mirror is in the state file and works again after a vhswd
#     restart and after SIGKILL (VHSWD_KEEP_STATE=1: the ports come back
#     first).
#   - port del of a source takes it out of the mirror, of the destination
#     deletes the mirror (state file too).
#
# Everything runs in this test's namespaces and unix sockets; every process
# is tracked by PID and stopped on exit.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

ID=$$
NS1=vhsw$ID-m1 NS2=vhsw$ID-m2 NS3=vhsw$ID-m3
MAC1=52:54:00:15:00:01 MAC2=52:54:00:15:00:02 MAC3=52:54:00:15:00:03
MACV=52:54:00:15:00:0a
IP1=10.77.15.1 IP2=10.77.15.2 IP3=10.77.15.3
N=5 # echo requests per measurement
CAP_PID=""

mirror_cleanup() {
    local ns
    # tcpdump, by its own PID (cap_start).
    [[ -n $CAP_PID ]] && kill -KILL "$CAP_PID" 2>/dev/null && wait_until 10 _tp_dead "$CAP_PID"
    for ns in $NS1 $NS2 $NS3; do ip netns del "$ns" 2>/dev/null; done
    return 0
}
vhsw_test_init mirror mirror_cleanup
VHSWD_KEEP_STATE=1
STATE=$TEST_TMP/state/state.json

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

for ns in $NS1 $NS2 $NS3; do
    ip netns add "$ns"
    # No IPv6: the kernels would send frames of their own (RS, MLD, DAD).
    in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
done

start() { vhswd_start --socket-dir "$TEST_TMP"; }
start

# kport NAME NS MAC: a kernel port, eth0 in NS.
kport() {
    ctl port add "$1" kernel --ifname eth0 --netns "/run/netns/$2" --ifmac "$3" > /dev/null
    wait_port "$1" up
}
kport k1 $NS1 $MAC1
kport k2 $NS2 $MAC2
kport k3 $NS3 $MAC3
ip -n $NS1 addr add $IP1/24 dev eth0
ip -n $NS2 addr add $IP2/24 dev eth0
# Static neighbours: no ARP in the counted traffic.  (Again after a
# restart: the interfaces went down, which flushes them.)
neighbours() {
    ip -n $NS1 neigh replace $IP2 lladdr $MAC2 dev eth0 nud permanent
    ip -n $NS2 neigh replace $IP1 lladdr $MAC1 dev eth0 nud permanent
}
neighbours
in_ns $NS1 ping -q -c 1 -w 5 $IP2 > /dev/null || die "k1 cannot ping k2 through the switch"
log "ok: k1 and k2 reach each other"

# --- helpers ------------------------------------------------------------------

# cap_start FILE: tcpdump on k3's interface (frames coming in from the
# switch only), writing FILE; returns once it listens.
cap_start() {
    rm -f "$1" "$1.log"
    # Not through in_ns (a subshell): $! is tcpdump's own PID (ip execs it).
    ip netns exec $NS3 tcpdump -i eth0 -Q in -n -U -w "$1" > "$1.log" 2>&1 &
    CAP_PID=$!
    wait_until 10 grep -q "listening on" "$1.log" || die "tcpdump did not start: $(cat "$1.log")"
}
cap_stop() {
    [[ -n $CAP_PID ]] || return 0
    kill -TERM "$CAP_PID" 2>/dev/null || true
    wait_until 10 _tp_dead "$CAP_PID" || kill -KILL "$CAP_PID" 2>/dev/null || true
    wait "$CAP_PID" 2>/dev/null || true
    CAP_PID=""
}
# cap_count FILE [FILTER...]: frames in FILE (matching the tcpdump FILTER).
cap_count() {
    local f=$1
    shift
    tcpdump -r "$f" -n "$@" 2>/dev/null | wc -l
}
_cap_has() { (( $(cap_count "$1") >= $2 )); }

# pings NS ADDR: N echo requests, all answered; prints "sent received".
pings() {
    local out
    out=$(in_ns "$1" ping -c $N -i 0.2 -w 10 "$2") || die "ping $2 from $1 failed: $out"
    sed -nE 's/^([0-9]+) packets transmitted, ([0-9]+) received.*/\1 \2/p' <<<"$out"
}

# measure NAME: k1 pings k2 while tcpdump records k3; sets SENT, RCVD,
# REQ, REP (echo requests and replies k3 got), K3TX (the switch's
# tx_packets of k3 in that time) and checks that tcpdump saw all of them.
measure() {
    local f=$TEST_TMP/$1.pcap tx0 r
    tx0=$(port_stat k3 tx_packets)
    cap_start "$f"
    r=$(pings $NS1 $IP2)
    SENT=${r% *} RCVD=${r#* }
    # ping returns after the last reply: every copy was sent by then.
    K3TX=$(( $(port_stat k3 tx_packets) - tx0 ))
    wait_until 10 _cap_has "$f" "$K3TX" || die "$1: tcpdump saw $(cap_count "$f") of the $K3TX frames the switch sent to k3"
    cap_stop
    check "$1: tcpdump saw what the switch sent to k3" "$K3TX" "$(cap_count "$f")"
    REQ=$(cap_count "$f" "icmp[icmptype] == icmp-echo")
    REP=$(cap_count "$f" "icmp[icmptype] == icmp-echoreply")
    check "$1: nothing but the echoes" "$K3TX" "$((REQ + REP))"
}

# refused WHAT TEXT CMD...: vhswctl CMD exits 1 with TEXT in its message.
refused() {
    local what=$1 text=$2 out rc=0
    shift 2
    out=$(ctl "$@" 2>&1) || rc=$?
    check "$what: refused" 1 "$rc"
    [[ $out == *"$text"* ]] || die "$what: the message '$out' does not say '$text'"
}

# --- no mirror: k3 gets nothing of k1 and k2 -----------------------------------
measure none
check "no mirror: k3 gets no echo" "0 0" "$REQ $REP"

# --- direction rx, tx, both ---------------------------------------------------
k3rx=$(port_stat k3 rx_packets)
ctl mirror add m1 --src k1 --dst k3 --direction rx > /dev/null
measure rx
check "rx: k3 gets k1's requests only" "$SENT 0" "$REQ $REP"
ctl mirror del m1 > /dev/null

ctl mirror add m1 --src k1 --dst k3 --direction tx > /dev/null
measure tx
check "tx: k3 gets the replies sent to k1 only" "0 $RCVD" "$REQ $REP"
ctl mirror del m1 > /dev/null

ctl mirror add m1 --src k1 --dst k3 > /dev/null
check "direction defaults to both" both "$(jctl '.[0].direction' mirror list)"
measure both
check "both: requests and replies" "$SENT $RCVD" "$REQ $REP"
# Unchanged frames: k1's MACs, ICMP of ping's default 64-byte payload in a
# 98-byte frame, no VLAN tag.
check "frames unchanged" "$SENT" "$(tcpdump -r "$TEST_TMP/both.pcap" -e -n \
    "ether src $MAC1 and ether dst $MAC2 and not vlan and greater 98 and less 98" 2>/dev/null | wc -l)"
ctl mirror del m1 > /dev/null

ctl mirror add m2 --src k1,k2 --dst k3 > /dev/null
measure two
check "two sources: each frame seen on both" "$((2 * SENT)) $((2 * RCVD))" "$REQ $REP"

# --- the destination is output-only -----------------------------------------------
ip -n $NS3 addr add $IP3/24 dev eth0
rx0=$(port_stat k1 tx_packets)
if in_ns $NS3 ping -q -c 2 -i 0.2 -w 2 $IP1 > /dev/null 2>&1; then
    die "k3 reached k1 while it is a mirror destination"
fi
check "k3's own frames are not received" "$k3rx" "$(port_stat k3 rx_packets)"
check "k3's own frames do not reach k1" "$rx0" "$(port_stat k1 tx_packets)"
check "nothing learned on k3" 0 "$(jctl '[.[] | select(.port == "k3")] | length' fdb show)"
refused "static entry to a destination" "port k3 is the destination of a mirror" \
    fdb add 52:54:00:15:00:99 k3

# --- list ---------------------------------------------------------------------------
check "list --json" '[{"name":"m2","src":["k1","k2"],"dst":"k3","direction":"both","dst_state":"up"}]' \
    "$(ctl --json mirror list | jq -c 'map(del(.dst_tx_packets, .dst_tx_dropped))')"
check "list --json: the destination's counters" "$(port_stat k3 tx_packets)" \
    "$(jctl '.[0].dst_tx_packets' mirror list)"
ctl mirror list > "$TEST_TMP/list.txt"
check "list text: header" "NAME DIRECTION DST STATE TX_PACKETS DROPPED SRC" \
    "$(head -n 1 "$TEST_TMP/list.txt" | tr -s ' ')"
check "list text: the mirror" "m2 both k3 up $(port_stat k3 tx_packets) 0 k1,k2" \
    "$(sed -n 2p "$TEST_TMP/list.txt" | tr -s ' ')"
grep -q '[{}]' "$TEST_TMP/list.txt" && die "mirror list prints JSON: $(cat "$TEST_TMP/list.txt")"

# --- persistence: the state file, a restart --------------------------------------------
check "state file" '[{"name":"m2","src":["k1","k2"],"dst":"k3","direction":"both"}]' \
    "$(jq -c .mirrors "$STATE")"
vhswd_stop
start
wait_port k1 up
wait_port k3 up
neighbours
check "after a restart: the mirror" "m2 k1,k2>k3 both" \
    "$(jctl '.[] | "\(.name) \(.src | join(","))>\(.dst) \(.direction)"' mirror list)"
# k3's kernel still has ARP requests of the ping above queued, which k3
# would read if polled.
k3rx=$(port_stat k3 rx_packets)
measure restart
check "after a restart: mirrored again" "$((2 * SENT)) $((2 * RCVD))" "$REQ $REP"
check "after a restart: k3 not polled" "$k3rx" "$(port_stat k3 rx_packets)"
vhswd_kill # a crash: the state file was written with the change
start
wait_port k1 up
wait_port k3 up
neighbours
check "after SIGKILL: the mirror" "m2 k1,k2>k3 both" \
    "$(jctl '.[] | "\(.name) \(.src | join(","))>\(.dst) \(.direction)"' mirror list)"
measure crash
check "after SIGKILL: mirrored again" "$((2 * SENT)) $((2 * RCVD))" "$REQ $REP"

# --- mirror del: k3 forwards again, mirroring stops --------------------------------
ctl mirror del m2 > /dev/null
ip -n $NS1 neigh replace $IP3 lladdr $MAC3 dev eth0 nud permanent
ip -n $NS3 neigh replace $IP1 lladdr $MAC1 dev eth0 nud permanent
in_ns $NS3 ping -q -c 2 -i 0.2 -w 5 $IP1 > /dev/null || die "k3 does not forward after mirror del"
log "ok: k3 forwards again after mirror del"
ip -n $NS3 addr flush dev eth0
measure after-del
check "after mirror del: k3 gets no echo of k1 and k2" "0 0" "$REQ $REP"
check "state file after del" '[]' "$(jq -c .mirrors "$STATE")"

# --- refusals -----------------------------------------------------------------
ctl port add v1 vhost-user "$TEST_TMP/v1.sock" --mac $MACV > /dev/null
ctl mirror add m1 --src k1 --dst k3 --direction rx > /dev/null
rc=0
out=$(ctl mirror add x --src k1 2>&1) || rc=$?
check "missing --dst: a usage error" 2 "$rc"
[[ $out == *"missing --dst PORT"* ]] || die "missing --dst: the message '$out' does not say so"
refused "bad name" "invalid mirror name 'a/b'" mirror add a/b --src k1 --dst k2
refused "duplicate name" "mirror m1 exists already" mirror add m1 --src k2 --dst v1
refused "bad direction" "direction must be rx, tx or both, not 'in'" \
    mirror add x --src k1 --dst k2 --direction in
refused "unknown source" "no port named nope (--src)" mirror add x --src k1,nope --dst k2
refused "unknown destination" "no port named nope (--dst)" mirror add x --src k1 --dst nope
refused "source twice" "--src names port k1 twice" mirror add x --src k1,k1 --dst k2
refused "destination among the sources" "cannot be both a source and the destination" \
    mirror add x --src k1,k2 --dst k2
refused "a destination as a source" "port k3 is the destination of mirror m1" \
    mirror add x --src k3 --dst k2
refused "a source as a destination" "port k1 is a source of mirror m1" \
    mirror add x --src k2 --dst k1
refused "destination with --mac" "port v1 has --mac $MACV" mirror add x --src k2 --dst v1
ctl fdb add 52:54:00:15:00:98 k2 > /dev/null
refused "destination with a static entry" "port k2 has 1 static FDB entry" \
    mirror add x --src v1 --dst k2
ctl fdb del 52:54:00:15:00:98 > /dev/null
for i in 2 3 4 5 6 7 8; do ctl mirror add s$i --src k1 --dst k3 > /dev/null; done
refused "a ninth mirror of one source" "port k1 is a source of 8 mirrors already" \
    mirror add s9 --src k1 --dst k3
refused "unknown mirror" "no mirror named nope" mirror del nope
for i in 2 3 4 5 6 7 8; do ctl mirror del s$i > /dev/null; done
ctl mirror del m1 > /dev/null
ctl port del v1 > /dev/null

# --- a vhost-user destination (testpmd) --------------------------------------------
ctl port add v3 vhost-user "$TEST_TMP/v3.sock" > /dev/null
tp_start v3 "$TEST_TMP/v3.sock" $MACV "" --eth-peer=0,$MAC1
wait_port v3 up
tp_rxonly v3
ctl mirror add mv --src k1 --dst v3 --direction rx > /dev/null
tp_clear_stats v3
r=$(pings $NS1 $IP2)
tp_wait_rx v3 "${r% *}"
check "vhost-user destination: exactly k1's requests" "${r% *}" "$(tp_rx v3)"
k1tx=$(port_stat k1 tx_packets)
tp_send v3 1 > /dev/null
check "what the destination's peer sends is not received" 0 "$(port_stat v3 rx_packets)"
check "... nor forwarded to k1" "$k1tx" "$(port_stat k1 tx_packets)"

# --- port removal -------------------------------------------------------------------
ctl mirror add mr --src k1,k2 --dst k3 --direction tx > /dev/null
ctl port del k2 > /dev/null
check "port del of a source: the mirror keeps the others" "mv k1>v3|mr k1>k3" \
    "$(jctl 'map("\(.name) \(.src | join(","))>\(.dst)") | join("|")' mirror list)"
check "... in the state file" '["k1"]' "$(jq -c '.mirrors[] | select(.name == "mr") | .src' "$STATE")"
ctl port del v3 > /dev/null
check "port del of a destination deletes its mirror" "mr" "$(jctl 'map(.name) | join(" ")' mirror list)"
ctl port del k1 > /dev/null
check "port del of the last source deletes the mirror" "" "$(jctl 'map(.name) | join(" ")' mirror list)"
check "... in the state file" '[]' "$(jq -c .mirrors "$STATE")"
grep -q "mirror: mr deleted: its last source port k1 is being removed" "$(vhswd_log)" ||
    die "no log line for the mirror deleted with its last source"

tp_stop v3
vhswd_stop
log "test_mirror: $CHECKS checks passed"
