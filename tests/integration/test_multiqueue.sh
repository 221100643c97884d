#!/usr/bin/env bash
# Frames toward multiqueue peers spread over all their receive queues by
# flow hash, with real dpdk-testpmd virtio-user clients: a generator
# sending 256 flows (testpmd --txonly-multi-flow), a peer with two queue
# pairs (queues=2, --rxq=2 --txq=2) and a peer with one.  Every frame
# arrives exactly once (the peer's and the switch's counters), unicast and
# flooded; the 2-queue peer receives on both its queues (testpmd's per-queue
# counters and the switch's, port add --queue-stats) and the 1-queue peer
# gets everything on its one; when the 2-queue peer drops to one queue
# pair at run time (librte_vhost's vring_state_changed), everything goes
# to queue 0, and spreads again when it comes back.  Two data-plane threads
# (--lcores 0,0,1), so the generator's queue and the peers' are on
# different threads that both send to the 2-queue peer (VHSW_MQ_LCORES
# overrides, e.g. 0,1 for one thread).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

vhsw_test_init mq
VHSW_LCORES=${VHSW_MQ_LCORES:-0,0,$(( $(nproc) > 1 ? 1 : 0 ))}

MG=52:54:00:00:4d:01 MQ=52:54:00:00:4d:02 M1=52:54:00:00:4d:03
BCAST=ff:ff:ff:ff:ff:ff
BURSTS=16 # frames per round: BURSTS * 32 = 512, below every --rxd

vhswd_start
ctl port add gen vhost-user "$TEST_TMP/gen.sock" > /dev/null
ctl port add mq vhost-user "$TEST_TMP/mq.sock" --queues 2 --queue-stats > /dev/null
ctl port add one vhost-user "$TEST_TMP/one.sock" --queue-stats > /dev/null

tp_start gen "$TEST_TMP/gen.sock" $MG "" --eth-peer=0,$MQ --txonly-multi-flow
tp_start mq "$TEST_TMP/mq.sock" $MQ "queues=2" --eth-peer=0,$MG --rxq=2 --txq=2
tp_start one "$TEST_TMP/one.sock" $M1 "" --eth-peer=0,$MG
for p in gen mq one; do wait_port $p up; tp_rxonly $p; done

# peer_q NAME Q: frames testpmd NAME received on its queue Q.
peer_q() {
    local v
    v=$(tp_cmd "$1" "show port xstats 0" | awk -v k="rx_q$2_good_packets:" '$1 == k { print $2 }')
    [[ $v =~ ^[0-9]+$ ]] || tp_fail "$1" "no rx_q$2_good_packets in its xstats"
    echo "$v"
}
# switch_q PORT Q: frames the switch sent to PORT's queue Q (librte_vhost).
switch_q() {
    jctl "[.queue_stats[] | select(.direction == \"tx\" and .queue == $2) | .good_packets] | add // 0" \
        port show "$1"
}
tx_queues() { jctl '.tx_queues | map(tostring) | join(",")' port show "$1"; }

# Both receive queues of mq enabled by its peer: frames go to both.
wait_str 10 "0,1" tx_queues mq || die "mq: tx_queues $(tx_queues mq), not 0,1"
check "one: its one receive queue" "0" "$(tx_queues one)"

# MACs learned: mq and one send a burst each (to gen).
tp_send mq 1 > /dev/null
tp_send one 1 > /dev/null
tp_wait_rx gen 96

# round NAME...: gen sends BURSTS*32 frames of 256 flows; waits until each
# NAME received them, then checks none got more (no duplicates) and the
# switch counted exactly that many to each, none dropped.
declare -A RX0=() TX0=()
N=$((BURSTS * 32))
round() {
    local p
    for p in "$@"; do
        RX0[$p]=$(tp_rx "$p")
        TX0[$p]=$(port_stat "$p" tx_packets)
    done
    check "gen sent a round" "$N" "$(tp_send gen $BURSTS)"
    for p in "$@"; do
        tp_wait_rx "$p" $(( RX0[$p] + N ))
    done
    # Whatever is still on its way arrives now (the switch is idle).
    for p in "$@"; do
        wait_num 5 -eq "$N" port_delta "$p" ||
            die "$p: the switch sent $(port_delta "$p") frames, not $N"
        check "$p received every frame once" "$N" $(( $(tp_rx "$p") - RX0[$p] ))
        check "$p: nothing dropped" 0 "$(port_stat "$p" tx_dropped)"
    done
}
port_delta() { echo $(( $(port_stat "$1" tx_packets) - TX0[$1] )); }

# gen_to MAC: gen's frames go to MAC from now on.
gen_to() {
    tp_cmd gen stop > /dev/null # testpmd refuses while forwarding
    tp_cmd gen "set eth-peer 0 $1" > /dev/null
    tp_rxonly gen
}

# mark: remember mq's per-queue counters, the peer's and the switch's.
declare -A MARK=()
mark() {
    MARK[p0]=$(peer_q mq 0) MARK[p1]=$(peer_q mq 1)
    MARK[s0]=$(switch_q mq 0) MARK[s1]=$(switch_q mq 1)
}
# check_split: mq's two queues each got a fair part of the round since
# mark (256 flows: about half each), by the peer's counters and the
# switch's alike.
check_split() {
    local q0 q1
    q0=$(( $(peer_q mq 0) - MARK[p0] ))
    q1=$(( $(peer_q mq 1) - MARK[p1] ))
    log "mq: queue 0 got $q0, queue 1 got $q1 of $N"
    check "mq: its queues got every frame" "$N" $(( q0 + q1 ))
    (( q0 >= N / 4 && q1 >= N / 4 )) ||
        die "mq: frames not spread over both queues: $q0 and $q1 of $N"
    check "the switch sent queue 0 what the peer got there" "$q0" \
        $(( $(switch_q mq 0) - MARK[s0] ))
    check "the switch sent queue 1 what the peer got there" "$q1" \
        $(( $(switch_q mq 1) - MARK[s1] ))
}

# mq_queues N: the peer reconfigures virtio-user to N queue pairs (its
# control queue enables or disables queue pair 1 in the switch, which
# librte_vhost reports through vring_state_changed); mq's MAC is learned
# again.
mq_queues() {
    local cmd
    for cmd in stop "port stop 0" "port config all rxq $1" \
        "port config all txq $1" "port start 0"; do
        tp_cmd mq "$cmd" > /dev/null
    done
    tp_rxonly mq
    wait_port mq up
    tp_send mq 1 > /dev/null
}

# --- Unicast to the 2-queue peer ------------------------------------------
mark
o0=$(switch_q one 0)
round mq
check_split
check "one got none of the frames to mq" "$o0" "$(switch_q one 0)"

# --- Unicast to the 1-queue peer: all on its one queue -------------------
gen_to $M1
round one
check "one: the switch's queue 0 count" "$(tp_rx one)" "$(switch_q one 0)"

# --- Flooded (broadcast): both get everything, mq on both queues ---------
gen_to $BCAST
mark
round mq one
check_split

# --- The 2-queue peer goes down to one queue pair, and back ---------------
mq_queues 1
wait_str 10 "0" tx_queues mq || die "mq: tx_queues $(tx_queues mq) with one queue pair"
gen_to $MQ
a0=$(peer_q mq 0) s0=$(switch_q mq 0)
round mq
check "mq with one queue pair: all on its queue 0" "$N" $(( $(peer_q mq 0) - a0 ))
check "the switch sent all to queue 0" "$N" $(( $(switch_q mq 0) - s0 ))

mq_queues 2
wait_str 10 "0,1" tx_queues mq || die "mq: tx_queues $(tx_queues mq) with two queue pairs again"
mark
round mq
check_split

log "test_multiqueue: $CHECKS checks passed"
