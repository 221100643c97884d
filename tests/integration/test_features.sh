#!/usr/bin/env bash
# Switch features with real testpmd clients: VLAN access ports, FDB aging,
# limits and static entries through vhswctl, multiqueue (both queue pairs
# polled), mergeable RX buffers negotiated.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

vhsw_test_init feat

M1=52:54:00:00:00:11 M2=52:54:00:00:00:12 M3=52:54:00:00:00:13
M4=52:54:00:00:00:14 BCAST=ff:ff:ff:ff:ff:ff
VIRTIO_NET_F_MRG_RXBUF=15

vhswd_start
ctl port add a1 vhost-user "$TEST_TMP/a1.sock" --vlan 10 > /dev/null
ctl port add a2 vhost-user "$TEST_TMP/a2.sock" --vlan 10 > /dev/null
ctl port add b1 vhost-user "$TEST_TMP/b1.sock" --vlan 20 > /dev/null
ctl port add mq vhost-user "$TEST_TMP/mq.sock" --vlan 20 --queues 2 > /dev/null

tp_start a1 "$TEST_TMP/a1.sock" $M1 "" --eth-peer=0,$BCAST
tp_start a2 "$TEST_TMP/a2.sock" $M2 "" --eth-peer=0,$BCAST
tp_start b1 "$TEST_TMP/b1.sock" $M3 "" --eth-peer=0,$M4
tp_start mq "$TEST_TMP/mq.sock" $M4 "queues=2" --eth-peer=0,$M3 --rxq=2 --txq=2
for p in a1 a2 b1 mq; do wait_port $p up; tp_rxonly $p; done

# Mergeable RX buffers are negotiated.
feat=$(jctl .features port show a1)
check "mergeable RX buffers negotiated" 1 $(( (feat >> VIRTIO_NET_F_MRG_RXBUF) & 1 ))

# --- VLANs: a broadcast in VLAN 10 stays in VLAN 10 ---------------------
tp_send a1 2 > /dev/null
tp_wait_rx a2 64
check "VLAN 10 broadcast reached a2" 64 "$(tp_rx a2)"
check "not b1 (VLAN 20)" 0 "$(tp_rx b1)"
check "not mq (VLAN 20)" 0 "$(tp_rx mq)"
check "learned in VLAN 10" "a1:10" \
    "$(jctl ".[] | select(.mac == \"$M1\") | .port + \":\" + (.vlan|tostring)" fdb show)"

# --- Multiqueue: the client sends on both queue pairs --------------------
check "mq: four vrings" 4 "$(jctl '.vrings | length' port show mq)"
check "mq: two active queue pairs" 2 "$(jctl .active_queues port show mq)"
check "single-queue port offers no multiqueue" 2 "$(jctl '.vrings | length' port show b1)"
tp_send b1 1 > /dev/null        # b1's MAC learned: mq's frames go unicast
tp_wait_rx mq 32
sent=$(tp_send mq 4)            # tx_first: 4 bursts on each of the 2 queues
check "mq sent on both queues" 256 "$sent"
tp_wait_rx b1 256
check "b1 received all of mq's frames" 256 "$(tp_rx b1)"
q1=$(tp_cmd mq "show port xstats 0" | awk '/tx_q1_good_packets:/ { print $2 }')
(( q1 > 0 )) || die "mq did not transmit on queue 1 (tx_q1_good_packets=$q1)"
log "ok: mq transmitted $q1 frames on queue 1"
check "the switch consumed queue 1's frames (vring 3 moved)" "$q1" \
    "$(jctl '.vrings[3].last_avail_idx' port show mq)"

# --- Static entries, flush, aging ----------------------------------------
ctl fdb add 52:54:00:00:00:99 a2 > /dev/null
check "static entry in VLAN of the access port" "a2:10:true" \
    "$(jctl '.[] | select(.mac == "52:54:00:00:00:99") | .port + ":" + (.vlan|tostring) + ":" + (.static|tostring)' fdb show)"
check "fdb show PORT filters" "$(jctl '[.[] | select(.port == "a2")] | length' fdb show)" \
    "$(jctl 'length' fdb show a2)"
flushed=$(jctl .flushed fdb flush a1)
check "flush a1 removed its learned entry" 1 "$flushed"
check "static entry survives flush" 1 "$(jctl 'map(select(.static)) | length' fdb show)"
tp_send a1 1 > /dev/null; tp_send b1 1 > /dev/null
wait_num 10 -ge 2 learned_count ||
    die "entries not relearned"
ctl fdb set aging 2 > /dev/null
wait_num 10 -eq 0 learned_count ||
    die "learned entries did not age out: $(ctl fdb show)"
check "aged counter" 1 "$(( $(jctl .fdb.aged stats) >= 2 ))"
check "static entry does not age" 1 "$(jctl 'length' fdb show)"
ctl fdb del 52:54:00:00:00:99 --vlan 10 > /dev/null
check "fdb del" 0 "$(jctl 'length' fdb show)"

# --- Limit: a port cannot learn past it --------------------------------
ctl fdb set aging 300 > /dev/null
ctl fdb set limit 2 > /dev/null
for p in a1 a2 b1; do tp_send $p 1 > /dev/null; done
wait_num 10 -ge 1 jctl .fdb.evicted stats || die "no eviction at the limit"
check "entries capped at the limit" 2 "$(jctl .fdb.entries stats)"

tp_stop_all
vhswd_stop
echo "test_features: $CHECKS checks passed"
