#!/usr/bin/env bash
# End to end with real dpdk-testpmd virtio-user clients against vhswd:
# learning, unicast after learning, exact counts, port del under traffic,
# client disconnect/return, no leaked fds or mbufs, SIGTERM cleanup.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

vhsw_test_init switch

M1=52:54:00:00:00:01 M2=52:54:00:00:00:02 M3=52:54:00:00:00:03

# send_paced SRC DST CHUNKS: send CHUNKS x 128 frames from SRC, waiting for
# DST's RX count after each chunk (a modest rate: the clients share one CPU,
# so an unpaced 1024-frame burst overflows their own rings).
send_paced() {
    local src=$1 dst=$2 chunks=$3 rx0 n sent=0
    rx0=$(tp_rx "$dst")
    for (( n = 0; n < chunks; n++ )); do
        sent=$(( sent + $(tp_send "$src" 4) ))
        tp_wait_rx "$dst" $(( rx0 + sent ))
    done
    echo "$sent"
}

vhswd_start
for i in 1 2 3; do
    ctl port add "c$i" vhost-user "$TEST_TMP/c$i.sock" > /dev/null
done
check "three ports, all down" "down down down" \
    "$(jctl '[.[].state] | join(" ")' port list)"

# Three container clients; each sends to the next one's MAC.
tp_start c1 "$TEST_TMP/c1.sock" $M1 "" --eth-peer=0,$M2
tp_start c2 "$TEST_TMP/c2.sock" $M2 "" --eth-peer=0,$M1
tp_start c3 "$TEST_TMP/c3.sock" $M3 "" --eth-peer=0,$M1
for i in 1 2 3; do wait_port "c$i" up; tp_rxonly "c$i"; done
check "port show has memory regions" 1 \
    "$(jctl '.mem_regions | length >= 1' port show c1 | sed 's/true/1/')"
check "port show has both vrings with eventfds" 2 \
    "$(jctl '[.vrings[] | select(.kickfd >= 0 and .callfd >= 0)] | length' port show c1)"

# Learning: one burst from each client.
for i in 1 2 3; do tp_send "c$i" 1 > /dev/null; done
wait_str 10 c3 fdb_port $M3 || die "M3 not learned"
check "M1 learned on c1" c1 "$(fdb_port $M1)"
check "M2 learned on c2" c2 "$(fdb_port $M2)"
check "M3 learned on c3" c3 "$(fdb_port $M3)"
check "fdb entries" 3 "$(jctl .fdb.entries stats)"

# After learning, unicast reaches only its destination; counts are exact.
ctl stats --clear > /dev/null
for i in 1 2 3; do tp_clear_stats "c$i"; done
sent=$(send_paced c1 c2 8)
check "c1 sent" 1024 "$sent"
check "c2 received exactly what c1 sent" 1024 "$(tp_rx c2)"
check "switch rx from c1" 1024 "$(port_stat c1 rx_packets)"
check "switch tx to c2" 1024 "$(port_stat c2 tx_packets)"
check "c3 saw nothing (switch)" 0 "$(port_stat c3 tx_packets)"
check "c3 saw nothing (testpmd)" 0 "$(tp_rx c3)"
check "nothing flooded" 0 "$(port_stat c1 flooded)"
check "no drops" "0 0" "$(port_stat c1 rx_dropped) $(port_stat c2 tx_dropped)"
# The other direction, and the third client.
sent=$(send_paced c2 c1 2)
sent3=$(send_paced c3 c1 1)
check "c1 received c2's and c3's frames" $((sent + sent3)) "$(tp_rx c1)"
check "c2 got nothing from c3" 1024 "$(tp_rx c2)"

# Sustained traffic between c1 and c2 (mac forwarding ping-pong), then
# delete c3: c1 and c2 keep forwarding.
for i in 1 2; do
    tp_cmd "c$i" stop > /dev/null
    tp_cmd "c$i" "set fwd mac" > /dev/null
done
tp_cmd c2 start > /dev/null
tp_cmd c1 "start tx_first 4" > /dev/null
wait_stat c2 tx_packets 20000 30
ctl port del c3
check "c3 gone" "c1 c2" "$(jctl '[.[].name] | join(" ")' port list)"
check "M3 flushed with its port" "" "$(fdb_port $M3)"
before=$(port_stat c2 tx_packets)
wait_stat c2 tx_packets $((before + 20000)) 30
log "ok: c1<->c2 kept forwarding after port del c3"
tp_stop c3

# A client that crashes in the middle of traffic, and comes back, gets
# traffic again; nothing leaks.
fds0=$(open_fds)
before=$(port_stat c2 tx_packets)
wait_stat c2 tx_packets $((before + 1000)) 30   # the ping-pong is running
tp_kill c2
wait_port c2 down
tp_rxonly c1
check "down port has no memory regions" 0 "$(jctl '.mem_regions | length' port show c2)"
check "learned entries of a downed port are flushed" "" "$(fdb_port $M2)"
tp_send c1 4 > /dev/null   # to nobody: flooded, dropped nowhere
tp_start c2 "$TEST_TMP/c2.sock" $M2 "" --eth-peer=0,$M1
wait_port c2 up
tp_rxonly c2
tp_clear_stats c2
tp_send c1 4 > /dev/null
tp_wait_rx c2 128
check "c2 back: received c1's frames" 128 "$(tp_rx c2)"
check "no fds leaked across disconnect/reconnect" "$fds0" "$(open_fds)"

# Repeated crash/reconnect cycles: fds and mbufs return to their floor.
for n in 1 2 3; do
    tp_kill c2; wait_port c2 down
    tp_start c2 "$TEST_TMP/c2.sock" $M2 "" --eth-peer=0,$M1
    wait_port c2 up
done
check "no fds leaked after 3 more cycles" "$fds0" "$(open_fds)"
wait_num 10 -eq 0 mbufs_in_use ||
    die "packet buffers leaked: $(mbufs_in_use) still in use while idle"
log "ok: no packet buffers in use once idle"

# Graceful shutdown removes what vhswd created.
tp_stop_all
vhswd_stop
for f in ctl.sock c1.sock c2.sock; do
    [[ ! -e $TEST_TMP/$f ]] || die "$f left behind after SIGTERM"
done
log "ok: SIGTERM exit 0, sockets removed"
echo "test_switch: $CHECKS checks passed"
