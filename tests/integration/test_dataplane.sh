#!/usr/bin/env bash
# Two data-plane threads (--lcores 0,0,1: control on CPU 0, threads on CPUs
# 0 and 1) with real peers:
#  - `dataplane show` lists both threads and every receive queue once; a
#    multiqueue peer's queues are spread over the threads;
#  - a testpmd client with two queue pairs sends on both: every frame
#    arrives, and both threads forwarded;
#  - queues re-pinned (`port set --rxq-affinity`) and rebalanced
#    (`dataplane rebalance`) under a vhsw-pktgen stream with sequence
#    numbers: no frame lost, duplicated or reordered, no drop counted;
#  - pins are refused when wrong, kept in the state and restored.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

: "${PKTGEN:=$VHSW_BUILD/tests/bench/vhsw-pktgen}"
[[ -x $PKTGEN ]] || die "$PKTGEN missing: build first (. tests/setup.sh; vhsw_build)"

PG_PID="" PG_PREFIX=""
dataplane_cleanup() {
    if [[ -n $PG_PID ]] && _tp_alive "$PG_PID"; then
        kill -KILL "$PG_PID" 2>/dev/null || true
        wait "$PG_PID" 2>/dev/null || true
    fi
    [[ -n $PG_PREFIX ]] && rm -rf "/var/run/dpdk/$PG_PREFIX"
    return 0
}
vhsw_test_init dataplane dataplane_cleanup

M1=52:54:00:16:00:01 M2=52:54:00:16:00:02
PG0=52:54:00:16:5a:00 PG1=52:54:00:16:5a:01
CPU1=$(( $(nproc) > 1 ? 1 : 0 ))
VHSW_LCORES=0,0,$CPU1
VHSWD_KEEP_STATE=1
vhswd_start

# thread_of PORT QUEUE: the index of the thread polling it ("" if none).
thread_of() {
    jctl "[.threads[] | select(any(.rxqs[]; .port == \"$1\" and .queue == $2)) | .index] | join(\",\")" \
        dataplane show
}

check "two data-plane threads" 2 "$(jctl '.threads | length' dataplane show)"
check "their CPUs" "0,$CPU1" "$(jctl '[.threads[].cpu] | map(tostring) | join(",")' dataplane show)"

# --- assignment: every queue once, a multiqueue peer spread ---------------
ctl port add mq vhost-user "$TEST_TMP/mq.sock" --queues 2 > /dev/null
ctl port add s1 vhost-user "$TEST_TMP/s1.sock" > /dev/null
check "every receive queue assigned once" "mq:0 mq:1 s1:0" \
    "$(jctl '[.threads[].rxqs[] | .port + ":" + (.queue|tostring)] | sort | join(" ")' dataplane show)"
t0=$(thread_of mq 0) t1=$(thread_of mq 1)
[[ -n $t0 && -n $t1 && $t0 != "$t1" ]] ||
    die "mq's queues are not on two threads: q0 on '$t0', q1 on '$t1'"
log "ok: mq queue 0 on thread $t0, queue 1 on thread $t1"
CHECKS=$((CHECKS + 1))

# --- a 2-queue peer sends on both queues: everything arrives -------------
tp_start mq "$TEST_TMP/mq.sock" $M1 "queues=2" --eth-peer=0,$M2 --rxq=2 --txq=2
tp_start s1 "$TEST_TMP/s1.sock" $M2 "" --eth-peer=0,$M1
for p in mq s1; do wait_port $p up; tp_rxonly $p; done
check "mq: two active queue pairs" 2 "$(jctl .active_queues port show mq)"
check "both of mq's queues enabled" "true true" \
    "$(jctl '[.threads[].rxqs[] | select(.port == "mq") | .enabled] | map(tostring) | join(" ")' dataplane show)"
tp_send s1 1 > /dev/null       # s1's MAC learned: mq's frames go unicast
tp_wait_rx mq 32
p0=$(jctl '[.threads[].packets] | map(tostring) | join(" ")' dataplane show)
sent=$(tp_send mq 8)           # tx_first: 8 bursts on each of the 2 queues
check "mq sent on both queues" 512 "$sent"
tp_wait_rx s1 512
check "s1 received every frame of mq" 512 "$(tp_rx s1)"
check "mq's queue 1 frames forwarded" 256 \
    "$(jctl '.threads[].rxqs[] | select(.port == "mq" and .queue == 1) | .packets' dataplane show)"
check "mq's queue 0 frames forwarded" 256 \
    "$(jctl '.threads[].rxqs[] | select(.port == "mq" and .queue == 0) | .packets' dataplane show)"
read -r a0 a1 <<<"$p0"
read -r b0 b1 <<<"$(jctl '[.threads[].packets] | map(tostring) | join(" ")' dataplane show)"
check "both threads forwarded mq's frames" "256 256" "$((b0 - a0)) $((b1 - a1))"
check "no drops" "0 0" "$(port_stat mq rx_dropped) $(port_stat s1 tx_dropped)"
tp_send s1 4 > /dev/null
tp_wait_rx mq $((32 + 128))
check "mq received every frame of s1" 160 "$(tp_rx mq)"
tp_stop_all
ctl port del mq > /dev/null
ctl port del s1 > /dev/null

# --- refusals -------------------------------------------------------------
ctl port add p0 vhost-user "$TEST_TMP/p0.sock" > /dev/null
ctl port add p1 vhost-user "$TEST_TMP/p1.sock" > /dev/null
refused() {
    local out
    if out=$(ctl "$@" 2>&1); then die "accepted: vhswctl $*: $out"; fi
    grep -q -- "$REFUSAL" <<<"$out" || die "vhswctl $*: unexpected message: $out"
    log "ok: refused: vhswctl $* ($out)"
    CHECKS=$((CHECKS + 1))
}
REFUSAL="no data-plane thread runs on CPU 7" refused port set p0 --rxq-affinity 0:7
REFUSAL="the port has 1 receive queue" refused port set p0 --rxq-affinity 1:0
REFUSAL="names queue 0 twice" refused port set p0 --rxq-affinity 0:0,0:0
REFUSAL="give QUEUE:CPU" refused port set p0 --rxq-affinity x
REFUSAL="give QUEUE:CPU" refused port set p0 --rxq-affinity 0:-1
REFUSAL="no data-plane thread" refused port add p2 vhost-user "$TEST_TMP/p2.sock" --rxq-affinity 0:9
check "the refused port was not added" 0 "$(jctl '[.[] | select(.name == "p2")] | length' port list)"
check "nor its socket left behind" no "$([[ -e $TEST_TMP/p2.sock ]] && echo yes || echo no)"

# --- re-pinning under a stream: nothing lost, duplicated or reordered ---
# 2000 frames a second from p0 to p1 (sequence numbered); vhsw-pktgen
# shares CPU 0 and stalls now and then, which its 1024-entry rings absorb
# at this rate.
PG_PREFIX=vhsw-$$-dp-pg
out=$TEST_TMP/pg.json
( tp_close_fds; exec "$PKTGEN" --lcores 0@0 --no-huge -m 512 --no-pci --no-shconf \
    --file-prefix "$PG_PREFIX" \
    --vdev "virtio_user0,path=$TEST_TMP/p0.sock,queue_size=1024,mac=$PG0" \
    --vdev "virtio_user1,path=$TEST_TMP/p1.sock,queue_size=1024,mac=$PG1" \
    -- --rate-mpps 0.002 --duration 12 --warmup 0 --drain 2 ) > "$out" 2> "$out.log" &
PG_PID=$!
wait_num 30 -ge 500 port_stat p1 tx_packets ||
    die "no traffic from vhsw-pktgen: $(tail -3 "$out.log")"
moves=0
for cpu in 0 $CPU1 0 $CPU1 0 $CPU1 0 $CPU1 0 $CPU1; do
    ctl port set p0 --rxq-affinity 0:$cpu > /dev/null
    want=$(jctl ".threads[] | select(.cpu == $cpu) | .index" dataplane show | head -1)
    check "p0 queue 0 pinned to CPU $cpu" "$want" "$(thread_of p0 0)"
    n=$(port_stat p1 tx_packets)
    wait_num 10 -ge $((n + 200)) port_stat p1 tx_packets ||
        die "the stream stopped after re-pinning p0 to CPU $cpu"
    moves=$((moves + 1))
done
ctl port set p0 --rxq-affinity none > /dev/null
check "unpinned" null "$(jctl .rxq_affinity port show p0)"
ctl dataplane rebalance > /dev/null
check "p0's queue still polled after the rebalance" 1 \
    "$(jctl '[.threads[].rxqs[] | select(.port == "p0")] | length' dataplane show)"
wait_until 30 _tp_dead "$PG_PID" || die "vhsw-pktgen did not finish"
rc=0; wait "$PG_PID" || rc=$?
PG_PID=""
(( rc == 0 )) || die "vhsw-pktgen failed ($rc): $(tail -5 "$out.log")"
log "vhsw-pktgen: $(jq -c '{tx_packets, rx_packets, loss, reordered, rx_other, max_loop_gap_us}' "$out")"
tx=$(jq .tx_packets "$out")
(( tx > 10000 )) || die "vhsw-pktgen sent only $tx frames"
check "no frame lost over $moves re-pins" 0 "$(jq .loss "$out")"
check "none duplicated" "$tx" "$(jq .rx_packets "$out")"
check "none reordered" 0 "$(jq .reordered "$out")"
check "no drops counted" "0 0" "$(port_stat p0 rx_dropped) $(port_stat p1 tx_dropped)"

# --- pins are kept in the state and restored ------------------------------
ctl port set p1 --rxq-affinity 0:$CPU1 > /dev/null
vhswd_stop
vhswd_start
check "p1's pin restored" "0:$CPU1" "$(jctl .rxq_affinity port show p1)"
want=$(jctl ".threads[] | select(.cpu == $CPU1) | .index" dataplane show | head -1)
check "p1's queue on CPU $CPU1's thread again" "$want" "$(thread_of p1 0)"

log "PASS: $CHECKS checks"
