#!/usr/bin/env bash
# Adaptive polling frees the CPU when idle and wakes on the first frame:
# with connected but idle clients, vhswd in adaptive mode uses a fraction
# of the CPU busy mode uses (measured side by side in this run, as a ratio),
# and frames sent after an idle period are all forwarded.  While the switch
# polls, its peers are told not to kick (a kick is a system call per burst
# in the client): their kick eventfds stay still under traffic.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"
vhsw_test_init adaptive

# cpu_ticks PID: user+system clock ticks of all its threads so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# idle_cpu_share: vhswd's CPU use over a 2 s window, in percent of one CPU.
# (The sleep is the measurement window, not a wait for a condition.)
idle_cpu_share() {
    local hz t0 c0 t1 c1
    hz=$(getconf CLK_TCK)
    c0=$(cpu_ticks "$VHSWD_PID"); t0=${EPOCHREALTIME/./}
    sleep 2
    c1=$(cpu_ticks "$VHSWD_PID"); t1=${EPOCHREALTIME/./}
    echo $(( (c1 - c0) * 100 * 1000000 / hz / (t1 - t0) ))
}

run_mode() { # MODE: start vhswd, two idle connected clients; CPU % in $CPU
    vhswd_start --poll-mode "$1"
    ctl port add c1 vhost-user "$TEST_TMP/c1.sock" > /dev/null
    ctl port add c2 vhost-user "$TEST_TMP/c2.sock" > /dev/null
    tp_start c1 "$TEST_TMP/c1.sock" 52:54:00:00:0c:01 "" --eth-peer=0,52:54:00:00:0c:02
    tp_start c2 "$TEST_TMP/c2.sock" 52:54:00:00:0c:02 "" --eth-peer=0,52:54:00:00:0c:01
    wait_port c1 up; wait_port c2 up
    tp_rxonly c1; tp_rxonly c2
    CPU=$(idle_cpu_share)
}

# kicks PORT: the count on PORT's kick eventfds in vhswd (nothing reads
# them while the loop polls; /proc shows the eventfd counter in hex).
kicks() {
    local fd c t=0
    for fd in $(jctl '.vrings[].kickfd' port show "$1"); do
        c=$(awk '/^eventfd-count:/ { print $2 }' "/proc/$VHSWD_PID/fdinfo/$fd")
        t=$(( t + 16#$c ))
    done
    echo "$t"
}

run_mode busy
busy=$CPU
log "busy mode, idle ports: vhswd uses ${busy}% of a CPU"
k1=$(kicks c1) k2=$(kicks c2) rx=$(tp_rx c2)
tp_send c1 32 > /dev/null
tp_wait_rx c2 $((rx + 1024))
check "busy: 1024 frames forwarded" $((rx + 1024)) "$(tp_rx c2)"
check "busy: the sender made no kick (notifications off)" "$k1" "$(kicks c1)"
check "busy: the receiver made no kick refilling its queue" "$k2" "$(kicks c2)"
tp_stop_all; vhswd_stop
run_mode adaptive
adaptive=$CPU
log "adaptive mode, idle ports: vhswd uses ${adaptive}% of a CPU"
check "adaptive uses under a quarter of busy mode's CPU when idle" 1 \
    "$(( adaptive * 4 < busy ))"
check "the loop slept" 1 "$(( $(jctl .dataplane.sleeps stats) > 0 ))"
check "poll mode shown" adaptive "$(jctl .dataplane.poll_mode stats)"

# wait_sleep: until the loop has gone to sleep once more.
wait_sleep() {
    local s0
    s0=$(jctl .dataplane.sleeps stats)
    wait_num 10 -gt "$s0" jctl .dataplane.sleeps stats || die "the loop does not sleep"
}

# send_after_idle FROM WHAT: once the loop sleeps, FROM sends 64 frames;
# all of them must reach c2.
send_after_idle() {
    local rx
    wait_sleep
    rx=$(tp_rx c2)
    tp_send "$1" 2 > /dev/null
    tp_wait_rx c2 $((rx + 64))
    check "$2" $((rx + 64)) "$(tp_rx c2)"
}

# Frames after an idle period wake the loop and are all forwarded.
for round in 1 2 3; do
    send_after_idle c1 "round $round: all 64 frames after idle forwarded"
done

# The sleeping loop is RCU-offline: deleting a port does not wait for it,
# and a port added while it sleeps is armed (its first frames wake it).
wait_sleep
ctl port add c3 vhost-user "$TEST_TMP/c3.sock" > /dev/null
tp_start c3 "$TEST_TMP/c3.sock" 52:54:00:00:0c:03 "" --eth-peer=0,52:54:00:00:0c:02
wait_port c3 up
send_after_idle c3 "port added while asleep: its 64 frames forwarded"
wait_sleep
ctl port del c3 > /dev/null   # its client still connected: destroy_device
tp_stop c3
check "port deleted while asleep" 2 "$(jctl 'length' port list)"
send_after_idle c1 "after the delete: 64 frames c1 -> c2"
check "no epoll set failures" 0 "$(jctl .dataplane.sleep_errors stats)"

# The mode switches at run time: a sleeping loop switched to busy polling
# wakes and spins (a million more iterations, no more sleeps, frames
# forwarded); switched back, it sleeps again.
wait_sleep
ctl dataplane set poll-mode busy > /dev/null
check "poll mode busy shown" busy "$(jctl .dataplane.poll_mode stats)"
s0=$(jctl .dataplane.sleeps stats)   # a sleep may end just now
it0=$(jctl .dataplane.iterations stats)
wait_num 20 -gt $((it0 + 1000000)) jctl .dataplane.iterations stats ||
    die "the loop does not spin after switching to busy"
s1=$(jctl .dataplane.sleeps stats)
it1=$(jctl .dataplane.iterations stats)
wait_num 20 -gt $((it1 + 1000000)) jctl .dataplane.iterations stats ||
    die "the loop stopped spinning"
check "busy at run time: no sleeps over a million iterations" "$s1" \
    "$(jctl .dataplane.sleeps stats)"
check "busy at run time: at most the sleep under way when switched" 1 \
    "$(( s1 - s0 <= 1 ))"
rx=$(tp_rx c2)
tp_send c1 2 > /dev/null
tp_wait_rx c2 $((rx + 64))
check "busy at run time: 64 frames forwarded" $((rx + 64)) "$(tp_rx c2)"
check "bad mode refused" 1 "$(ctl dataplane set poll-mode turbo > /dev/null 2>&1 || echo 1)"
ctl dataplane set poll-mode adaptive > /dev/null
wait_num 10 -gt "$s1" jctl .dataplane.sleeps stats ||
    die "the loop does not sleep after switching back to adaptive"
check "poll mode adaptive shown" adaptive "$(jctl .dataplane.poll_mode stats)"
tp_stop_all
vhswd_stop
echo "test_adaptive: $CHECKS checks passed"
