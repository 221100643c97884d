#!/usr/bin/env bash
# The uplink and kernel exception-path ports, against real network
# namespaces: the uplink is net_af_packet on a veth whose peer lives in an
# "outside" namespace.  A DPDK container (testpmd icmpecho, which answers
# ARP and ping) is reached from outside, untagged and through a VLAN
# subinterface; the uplink's link going down shows and flushes its FDB
# entries; kernel ports in their own namespaces ping each other and the
# outside, with 1400-byte DF pings; removing a kernel port removes its
# interface.  All traffic stays inside this test's namespaces.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

ID=$$
OUT=vhsw$ID-out NSA=vhsw$ID-a NSB=vhsw$ID-b NSC=vhsw$ID-c
UP=vh${ID}u PEER=vh${ID}p

net_cleanup() {
    local ns
    for ns in $OUT $NSA $NSB $NSC; do ip netns del "$ns" 2>/dev/null; done
    ip link del "$UP" 2>/dev/null
    return 0
}
vhsw_test_init uplink net_cleanup

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
_counter_at_least() { (( $(tp_rx "$1") >= $2 )); }
# pings NS ARGS...: all pings answered within the deadline.
pings() { local ns=$1; shift; in_ns "$ns" ping -q -c 3 -i 0.2 -w 10 "$@" > /dev/null; }

# The outside: a namespace at the far end of the uplink's veth.
ip netns add $OUT
ip link add $UP type veth peer name $PEER
ip link set $PEER netns $OUT
sysctl -qw "net.ipv6.conf.$UP.disable_ipv6=1"
ip link set $UP up
in_ns $OUT sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip -n $OUT link set lo up
ip -n $OUT link set $PEER up
ip -n $OUT addr add 10.77.0.1/24 dev $PEER
PEER_MAC=$(ip -n $OUT -j link show $PEER | jq -r '.[0].address')

vhswd_start --uplink "net_af_packet0,iface=$UP"
check "uplink is up" up "$(jctl .state uplink show)"
check "uplink driver" net_af_packet "$(jctl .driver uplink show)"
check "uplink is a port named uplink" uplink "$(jctl '.[0].name' port list)"

# --- A DPDK container reached from outside (untagged) ------------------
ctl port add c1 vhost-user "$TEST_TMP/c1.sock" > /dev/null
tp_start c1 "$TEST_TMP/c1.sock" 52:54:00:00:01:01
wait_port c1 up
tp_cmd c1 "set fwd icmpecho" > /dev/null
tp_cmd c1 start > /dev/null
pings $OUT 10.77.0.50 || die "outside cannot ping the container through the uplink"
log "ok: outside pings the container (ARP and ICMP answered by testpmd icmpecho)"
check "container MAC learned" c1 "$(fdb_port 52:54:00:00:01:01)"
check "outside MAC learned on the uplink" uplink "$(fdb_port $PEER_MAC)"
ctl port del c1
tp_stop c1

# --- VLAN 10 from outside reaches only the VLAN 10 access port ---------
# This kernel has no 8021q module (no VLAN subinterfaces), so the outside
# host's tagged traffic comes from a testpmd bound to its end of the veth
# (net_af_packet) that inserts tag 10 on transmit; tcpdump there checks the
# switch's frames arrive tagged.
ctl port add c10 vhost-user "$TEST_TMP/c10.sock" --vlan 10 > /dev/null
ctl port add c20 vhost-user "$TEST_TMP/c20.sock" --vlan 20 > /dev/null
tp_start c10 "$TEST_TMP/c10.sock" 52:54:00:00:0a:0a "" --eth-peer=0,$PEER_MAC
tp_start c20 "$TEST_TMP/c20.sock" 52:54:00:00:14:14
printf '#!/bin/sh\nexec ip netns exec %s dpdk-testpmd "$@"\n' $OUT > "$TEST_TMP/testpmd-out"
chmod +x "$TEST_TMP/testpmd-out"
TESTPMD=$TEST_TMP/testpmd-out tp_launch ext --vdev "net_af_packet1,iface=$PEER" \
    -- --total-num-mbufs=8192 --eth-peer=0,52:54:00:00:0a:0a
tp_wait_ready ext
wait_port c10 up
wait_port c20 up
for n in c10 c20 ext; do tp_rxonly $n; done
tp_cmd ext stop > /dev/null
tp_cmd ext "port stop 0" > /dev/null
tp_cmd ext "tx_vlan set 0 10" > /dev/null
tp_cmd ext "port start 0" > /dev/null
tp_rxonly ext
ctl stats --clear > /dev/null
check "outside sent tagged frames" 64 "$(tp_send ext 2)"
tp_wait_rx c10 64
check "VLAN 10 access port received them, untagged" 64 "$(tp_rx c10)"
check "VLAN 20 access port received nothing" "0 0" "$(tp_rx c20) $(port_stat c20 tx_packets)"
check "outside MAC learned in VLAN 10 on the uplink" uplink \
    "$(jctl ".[] | select(.mac == \"$PEER_MAC\" and .vlan == 10) | .port" fdb show)"
# The way back leaves the uplink tagged.
in_ns $OUT timeout 30 tcpdump -i $PEER -nn -e -c 32 "vlan 10 and ether src 52:54:00:00:0a:0a" \
    > "$TEST_TMP/tcpdump.out" 2> "$TEST_TMP/tcpdump.err" &
TCPDUMP_PID=$!
wait_until 10 grep -q "listening on" "$TEST_TMP/tcpdump.err" || die "tcpdump did not start"
check "VLAN 10 container sent" 64 "$(tp_send c10 2)"
tp_wait_rx ext 64
wait "$TCPDUMP_PID" || die "the container's frames did not leave the uplink tagged 10: $(cat "$TEST_TMP/tcpdump.err")"
log "ok: frames of the VLAN 10 access port leave the uplink tagged 10"
check "outside received them (unicast: learned)" 64 "$(tp_rx ext)"
check "c20 still got nothing" 0 "$(port_stat c20 tx_packets)"

# --- The uplink's link goes down and up ----------------------------------
check "uplink has learned entries" 1 "$(( $(jctl 'length' fdb show uplink) > 0 ))"
ip link set $UP down
wait_str 10 down jctl .state uplink show || die "uplink did not go down"
check "uplink port state" down "$(port_state uplink)"
check "uplink entries flushed on link down" 0 "$(jctl 'length' fdb show uplink)"
ip link set $UP up
wait_str 10 up jctl .state uplink show || die "uplink did not come back"
# net_af_packet reports the socket's pending ENETDOWN on the first send
# after the flap and leaves that burst in its TX ring until the next kick,
# so keep sending (bounded) until frames arrive outside.
ctl stats --clear > /dev/null
for n in 1 2 3 4 5; do
    tp_send c10 1 > /dev/null
    wait_until 2 _counter_at_least ext 96 && break
done
tp_wait_rx ext 96
log "ok: traffic flows out of the uplink after link up ($n bursts sent)"
tp_stop_all
ctl port del c10
ctl port del c20

# --- Kernel ports: two namespaces, each behind one -----------------------
backend=$([[ -e /dev/vhost-net ]] && echo vhost-net || echo tap)
for ns in $NSA $NSB $NSC; do ip netns add $ns; done
ctl port add ka kernel --ifname eth0 --netns /run/netns/$NSA > /dev/null
ctl port add kb kernel --ifname eth0 --netns /run/netns/$NSB > /dev/null
check "kernel port backend" $backend "$(jctl .backend port show ka)"
check "kernel port up" "up up" "$(port_state ka) $(port_state kb)"
ip -n $NSA addr add 10.77.0.2/24 dev eth0
ip -n $NSB addr add 10.77.0.3/24 dev eth0
pings $NSA 10.77.0.3 || die "namespace A cannot ping B through the switch"
log "ok: two kernel ports ping each other"
pings $NSA 10.77.0.1 || die "namespace A cannot ping the outside through the uplink"
log "ok: a kernel port reaches the namespace behind the uplink"
pings $NSB -M do -s 1400 10.77.0.2 || die "1400-byte DF ping failed"
log "ok: 1400-byte ping with DF"
pings $NSB -M do -s 1400 10.77.0.1 || die "1400-byte DF ping to the outside failed"
ctl port add kc kernel --ifname eth0 --netns /run/netns/$NSC --mtu 1400 > /dev/null
check "MTU set from the switch" 1400 "$(ip -n $NSC -j link show eth0 | jq '.[0].mtu')"
check "kernel ports in fdb" 1 "$(( $(jctl 'length' fdb show ka) > 0 ))"
ctl port del ka
wait_until 10 bash -c "! ip -n $NSA link show eth0 > /dev/null 2>&1" ||
    die "removing the kernel port left its interface"
log "ok: port del removes the kernel interface"
check "refused: kernel port into a missing namespace" 1 \
    "$(ctl port add kd kernel --netns /run/netns/nonexistent-$ID > /dev/null 2>&1; echo $?)"
check "refused: uplink removal" 1 "$(ctl port del uplink > /dev/null 2>&1; echo $?)"

vhswd_stop
echo "test_uplink: $CHECKS checks passed"
