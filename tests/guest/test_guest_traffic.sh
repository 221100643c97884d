#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# QEMU guests (Linux virtio-net over vhost-user) on a real vhswd:
#  - a guest pings a DPDK container (testpmd icmpecho over virtio-user) and
#    a network namespace behind the uplink (net_af_packet on a veth);
#  - a 20 MB TCP transfer between two guests (busybox nc) arrives with the
#    same sha256 (no offloads negotiated, none needed end to end);
#  - jumbo frames: MTU 9000 end to end with mergeable RX buffers, an
#    8000-byte ping works; to a port with MTU 1500 it is dropped and counted
#    (tx_oversize), never truncated;
#  - multiqueue: a guest with queues=2 sends two flows, one per queue pair
#    (one per vCPU), and every frame is forwarded.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

ID=$$
OUT=vhsw$ID-gout UP=vh${ID}g PEER=vh${ID}q
guest_test_init guest-traffic guest_outside_cleanup

M1=52:54:00:6e:00:01 M2=52:54:00:6e:00:02 M3=52:54:00:6e:00:03
MC=52:54:00:6e:00:0c
IP1=10.79.0.1 IP2=10.79.0.2 IP3=10.79.0.3 IPOUT=10.79.0.200 IPC=10.79.0.50

# The outside, behind the uplink.
guest_outside $OUT $UP $PEER $IPOUT/24

vhswd_start --uplink "net_af_packet0,iface=$UP"
ctl port add g1 vhost-user "$TEST_TMP/g1.sock" --mtu 9000 > /dev/null
ctl port add g2 vhost-user "$TEST_TMP/g2.sock" --mtu 9000 > /dev/null
ctl port add c1 vhost-user "$TEST_TMP/c1.sock" > /dev/null       # MTU 1500

guest_start g1 "$TEST_TMP/g1.sock" $M1 $IP1/24 --mtu 9000 --host-mtu 9000 --mem 384
guest_start g2 "$TEST_TMP/g2.sock" $M2 $IP2/24 --mtu 9000 --host-mtu 9000 --mem 384
log "g1 ready in $(guest_ready_ms g1) ms, g2 in $(guest_ready_ms g2) ms"
tp_start c1 "$TEST_TMP/c1.sock" $MC
wait_port c1 up
tp_cmd c1 "set fwd icmpecho" > /dev/null
tp_cmd c1 start > /dev/null

# --- Reachability ------------------------------------------------------------
guest_ping g1 $IP2 > /dev/null || die "g1 cannot ping g2"
log "ok: guest pings guest"
guest_ping g1 $IPC > /dev/null || die "g1 cannot ping the DPDK container"
log "ok: guest pings the DPDK container (testpmd icmpecho over virtio-user)"
guest_ping g2 $IPOUT > /dev/null || die "g2 cannot ping the namespace behind the uplink"
log "ok: guest reaches the network namespace behind the uplink"
check "guest MAC learned" g1 "$(fdb_port $M1)"
check "container MAC learned" c1 "$(fdb_port $MC)"

# --- Data integrity: 20 MB over TCP ------------------------------------------
guest_cmd g1 "dd if=/dev/urandom of=/tmp/blob bs=1M count=20 2>/dev/null && sha256sum /tmp/blob | cut -d' ' -f1" > "$TEST_TMP/sum1"
guest_nc_listen g2 5001 /tmp/blob
ctl stats --clear > /dev/null
guest_cmd g1 "nc $IP2 5001 < /tmp/blob" 300 > /dev/null || die "nc transfer failed"
guest_nc_wait g2 5001 300
guest_cmd g2 "sha256sum /tmp/blob | cut -d' ' -f1" > "$TEST_TMP/sum2"
check "20 MB arrived with the same sha256" "$(cat "$TEST_TMP/sum1")" "$(cat "$TEST_TMP/sum2")"
check "size" 20971520 "$(guest_cmd g2 'wc -c < /tmp/blob' | tr -d ' ')"
# A full guest RX ring makes the switch drop (counted); TCP retransmits.
log "transfer: g2 tx_dropped $(port_stat g2 tx_dropped), g1 tx_dropped $(port_stat g1 tx_dropped)"
check "no frame rejected as malformed" "0 0" "$(port_stat g1 rx_dropped) $(port_stat g2 rx_dropped)"
feat=$(jctl .features port show g1)
check "no checksum/TSO/UFO offload negotiated" 0 $(( feat & ((1<<0)|(1<<1)|(0x3f<<7)|(1<<14)) ))
check "mergeable RX buffers negotiated" 1 $(( (feat >> 15) & 1 ))
guest_cmd g1 "rm /tmp/blob" > /dev/null
guest_cmd g2 "rm /tmp/blob" > /dev/null

# --- Jumbo frames ------------------------------------------------------------
# (busybox ping has no -M; with MTU 9000 an 8000-byte ping is one frame,
# which the per-port frame counts below confirm.)
ctl stats --clear > /dev/null
tx0=$(port_stat g2 tx_packets) rx0=$(port_stat g1 tx_packets) tb0=$(port_stat g2 tx_bytes)
guest_cmd g1 "ping -c 3 -w 20 -s 8000 $IP2" > /dev/null || die "8000-byte ping g1 -> g2 failed"
log "ok: 8000-byte ping between two guests, unfragmented (MTU 9000 end to end)"
# 3 pings each way in single frames (fragmented, each would be 6 frames);
# an ARP refresh may add a small frame each way.
n2=$(( $(port_stat g2 tx_packets) - tx0 )) n1=$(( $(port_stat g1 tx_packets) - rx0 ))
check "unfragmented: 3 jumbo frames (+ at most an ARP pair) each way" "1 1" \
    "$(( n2 >= 3 && n2 <= 5 )) $(( n1 >= 3 && n1 <= 5 ))"
check "jumbo bytes crossed" 1 "$(( $(port_stat g2 tx_bytes) - tb0 >= 3 * 8000 ))"
ctl stats --clear > /dev/null
! guest_cmd g1 "ping -c 2 -w 4 -s 8000 $IPC" > /dev/null || die "an 8000-byte frame reached an MTU 1500 port"
check "oversized frames dropped at the MTU 1500 port" 1 "$(( $(port_stat c1 tx_oversize) >= 2 ))"
check "and counted as dropped" "$(port_stat c1 tx_oversize)" "$(port_stat c1 tx_dropped)"
# (an ARP probe of g1's stale entry may still reach it: count bytes)
check "no oversized frame reached the container" 1 "$(( $(port_stat c1 tx_bytes) < 1000 ))"
guest_cmd g1 "ping -c 2 -w 10 -s 1400 $IPC" > /dev/null || die "1400-byte ping to the container failed"
log "ok: frames within the MTU still pass"
tp_stop c1
guest_stop g2

# --- Multiqueue --------------------------------------------------------------
ctl port add g3 vhost-user "$TEST_TMP/g3.sock" --queues 2 > /dev/null
guest_start g3 "$TEST_TMP/g3.sock" $M3 $IP3/24 --queues 2
check "g3 uses two queue pairs" 2 "$(guest_queues g3)"
wait_num 30 -eq 2 jctl .active_queues port show g3 || die "switch does not poll 2 queue pairs"
ctl stats --clear > /dev/null
a1=$(jctl '.vrings[1].last_avail_idx' port show g3)
a3=$(jctl '.vrings[3].last_avail_idx' port show g3)
# Two flows, one from each vCPU: XPS maps each CPU to its own TX queue.
guest_cmd g3 "taskset 1 ping -q -c 50 -i 0.02 -w 30 $IP1 > /tmp/f0 & taskset 2 ping -q -c 50 -i 0.02 -w 30 $IPOUT > /tmp/f1; wait; cat /tmp/f0 /tmp/f1" 60 > "$TEST_TMP/mq.out" ||
    die "multiqueue flows lost packets: $(cat "$TEST_TMP/mq.out")"
check "both flows got all replies" 2 "$(grep -c '50 packets transmitted, 50 packets received' "$TEST_TMP/mq.out")"
d1=$(( $(jctl '.vrings[1].last_avail_idx' port show g3) - a1 ))
d3=$(( $(jctl '.vrings[3].last_avail_idx' port show g3) - a3 ))
log "frames the switch took from g3's TX queues: queue 0: $d1, queue 1: $d3"
check "queue pair 0 carried frames" 1 "$(( d1 > 0 ))"
check "queue pair 1 carried frames" 1 "$(( d3 > 0 ))"
check "every frame g3 sent was forwarded" "0 0 0" \
    "$(port_stat g3 rx_dropped) $(port_stat g1 tx_dropped) $(port_stat uplink tx_dropped)"
guest_stop_all
vhswd_stop
echo "test_guest_traffic: $CHECKS checks passed"
