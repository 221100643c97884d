#!/usr/bin/env bash
# Self-test of tests/integration/lib.sh against a stand-in for the switch: a
# dpdk-testpmd with two net_vhost ports doing io forwarding (port 0 <-> port 1)
# on CPU 1, and virtio_user testpmd clients on CPU 0 driven by the harness.
#
# Checks (each prints "ok - ..." or aborts with the failing log tail):
#   a. tx_first sends exactly BURSTS*32 packets with dst = --eth-peer and
#      src = the mac= devarg; the peer receives exactly that many (loop and
#      paired topology alike for one port).
#   b. `show port stats 0` parsing: repeatable, cumulative, cleared by
#      `clear port stats all`.
#   c. SIGKILL of a client + new client on the same socket: traffic resumes.
#   d. virtio_user server=1 + net_vhost client=1: the vhost side is SIGKILLed
#      and restarted; the clients reconnect and traffic resumes with no
#      client-side command.
#   e. `set fwd mac` ping-pong between two clients runs continuously and is
#      ended without loss by tp_pingpong_stop.
#   f. startup time of every testpmd is measured and printed.
# Usage: harness-selftest.sh   (env: KEEP_TMP=1 keeps the temp dir and logs)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"

harness_init harness-selftest

MAC1=52:54:00:00:00:01 MAC2=52:54:00:00:00:02
MAC3=52:54:00:00:00:03 MAC4=52:54:00:00:00:04
S0=$TEST_TMP/sw0.sock S1=$TEST_TMP/sw1.sock     # stand-in is the vhost server
S2=$TEST_TMP/cl2.sock S3=$TEST_TMP/cl3.sock     # clients are the vhost-user servers
T0=$SECONDS

# ok MESSAGE: report a passed check.
ok() { printf 'ok - [%2ds] %s\n' $((SECONDS - T0)) "$*"; }

# expect_eq WHAT GOT WANT: fail the test unless GOT == WANT.
expect_eq() {
    [[ $2 == "$3" ]] || die "$1: got '$2', expected '$3'"
    ok "$1 = $3"
}

# start_switch NAME SOCK0 SOCK1 [DEVARG_EXTRA]: launch the net_vhost io-forwarding stand-in on CPU 1 (no wait).
start_switch() {
    local extra=${4:+,$4}
    tp_launch "$1" --lcores 0@1,1@1 \
        --vdev "net_vhost0,iface=$2,queues=1$extra" \
        --vdev "net_vhost1,iface=$3,queues=1$extra" \
        -- --total-num-mbufs=8192 --port-topology=paired --forward-mode=io \
        --disable-link-check
}

# switch_ready NAME: wait until the stand-in is ready and forwarding.
switch_ready() {
    tp_wait_ready "$1" 2
    tp_cmd "$1" start > /dev/null
}

# --- setup: stand-in switch (vhost server) + two clients -------------------
start_switch sw "$S0" "$S1"
switch_ready sw
# c1 uses the library default (--port-topology=loop); c2 overrides with paired.
tp_launch_client c1 "$S0" "$MAC1" "" --eth-peer=0,$MAC2
tp_launch_client c2 "$S1" "$MAC2" "" --eth-peer=0,$MAC1 --port-topology=paired
tp_wait_ready c1
tp_wait_ready c2
tp_wait_link c1 up
tp_wait_link c2 up
ok "switch stand-in and clients c1 (loop) / c2 (paired) up"

# --- a. tx_first count and MACs -------------------------------------------
tp_rxonly c1
tp_rxonly c2
expect_eq "a: burst size" "$(tp_burst c1)" 32
tp_cmd c2 "set verbose 1" > /dev/null
off=$(tp_log_size c2)
expect_eq "a: c1 TX delta for tx_first 3" "$(tp_send c1 3)" 96
tp_wait_rx c2 96
expect_eq "a: c2 stats after 3 bursts (RX TX)" "$(tp_stats c2)" "96 0"
tp_wait_log c2 "src=$MAC1 - dst=$MAC2 " 10 "$off" 96
expect_eq "a: c2 verbose lines src=c1 dst=c2" "$(tp_log_count c2 "src=$MAC1 - dst=$MAC2 " "$off")" 96
expect_eq "a: c2 verbose lines total" "$(tp_log_count c2 " - dst=" "$off")" 96
tp_cmd c2 "set verbose 0" > /dev/null
# Reverse direction from the paired-topology client, full receive ring (1024).
tp_cmd c1 "set verbose 1" > /dev/null
off=$(tp_log_size c1)
expect_eq "a: c2 TX delta for tx_first 32" "$(tp_send c2 32)" 1024
tp_wait_rx c1 1024
tp_wait_log c1 "src=$MAC2 - dst=$MAC1 " 10 "$off" 1024
expect_eq "a: c1 stats (RX TX)" "$(tp_stats c1)" "1024 96"
expect_eq "a: c1 verbose lines total" "$(tp_log_count c1 " - dst=" "$off")" 1024
tp_cmd c1 "set verbose 0" > /dev/null
sw_stats=$(tp_cmd sw "show port stats all" | awk '/RX-packets:|TX-packets:/ { printf "%s ", $2 }')
expect_eq "a: stand-in RX0 TX0 RX1 TX1" "${sw_stats% }" "96 1024 1024 96"
# One port: paired only adds a warning; both build the stream RX 0 -> TX 0
# with peer = --eth-peer, as the MAC checks above show.
paired_warn="port-topology=paired and odd forward ports number"
expect_eq "a: paired warning on c1 (loop)" "$(tp_log_count c1 "$paired_warn")" 0
expect_eq "a: paired warning on c2 (paired)" "$(tp_log_count c2 "$paired_warn")" 1

# --- b. stats parsing: repeatable, cumulative, clearable --------------------
for i in 1 2 3; do expect_eq "b: repeated tp_stats c2 #$i" "$(tp_stats c2)" "96 1024"; done
tp_send c1 1 > /dev/null
tp_wait_rx c2 128
expect_eq "b: c2 cumulative after 1 more burst" "$(tp_stats c2)" "128 1024"
tp_clear_stats c2
expect_eq "b: c2 after clear port stats all" "$(tp_stats c2)" "0 0"
tp_send c1 2 > /dev/null
tp_wait_rx c2 64
expect_eq "b: c2 counts again from zero" "$(tp_stats c2)" "64 0"

# --- e. mac-forwarding ping-pong ---------------------------------------------
tp_clear_stats c1; tp_clear_stats c2
tp_pingpong_start c1 c2 4
tp_wait_rx c1 5000 20
tp_wait_rx c2 5000 20
s1=$(tp_stats c1); s2=$(tp_stats c2)
tp_wait_rx c1 $(( ${s1% *} + 5000 )) 20     # still running: it is sustained
ok "e: ping-pong sustained (c1 $s1 -> $(tp_stats c1))"
tp_pingpong_stop c1 c2
s1=$(tp_stats c1); s2=$(tp_stats c2)
# No loss: everything each side sent arrived at the other side.
expect_eq "e: c1 RX == c2 TX after stop" "${s1% *}" "${s2#* }"
expect_eq "e: c2 RX == c1 TX after stop" "${s2% *}" "${s1#* }"
expect_eq "e: total TX == total RX" "$(( ${s1#* } + ${s2#* } ))" "$(( ${s1% *} + ${s2% *} ))"
expect_eq "e: c1 counters quiescent" "$(tp_stats c1)" "$s1"
expect_eq "e: c2 counters quiescent" "$(tp_stats c2)" "$s2"

# --- c. client crash (SIGKILL) and restart on the same socket ---------------
off=$(tp_log_size sw)
tp_kill c2
tp_wait_log sw "($S1) vhost peer closed" 10 "$off"
ok "c: stand-in saw c2 disconnect"
tp_clear_stats sw
tp_send c1 1 > /dev/null                          # to a dead peer: dropped
expect_eq "c: stand-in port 1 TX while c2 dead" \
    "$(tp_cmd sw 'show port stats 1' | awk '/TX-packets:/ { print $2 }')" 0
tp_start c2 "$S1" "$MAC2" "" --eth-peer=0,$MAC1
tp_wait_link c2 up
tp_rxonly c2
expect_eq "c: restarted c2 stats" "$(tp_stats c2)" "0 0"
tp_send c1 2 > /dev/null
tp_wait_rx c2 64
expect_eq "c: restarted c2 receives" "$(tp_stats c2)" "64 0"
tp_clear_stats c1
tp_send c2 1 > /dev/null
tp_wait_rx c1 32
expect_eq "c: c1 receives from restarted c2" "$(tp_stats c1)" "32 0"

# Busy-polling clients on CPU 0 starve new processes there (startup takes
# several times longer), so end phase 1 before starting phase 2.
for n in c1 c2 sw; do tp_stop "$n" || die "$n needed SIGKILL to stop"; done
ok "phase 1 testpmds quit gracefully"

# --- d. virtio_user server=1, vhost side (client=1) killed and restarted -------
# virtio_user server mode blocks in accept() during startup until the vhost
# side connects, so launch clients, then the stand-in, then wait for all.
tp_launch_client c3 "$S2" "$MAC3" "server=1" --eth-peer=0,$MAC4
tp_launch_client c4 "$S3" "$MAC4" "server=1" --eth-peer=0,$MAC3
wait_until 30 test -S "$S2" -a -S "$S3" || die "server-mode clients did not create their sockets"
tp_wait_log c3 "waiting for client connection" 30
start_switch swc "$S2" "$S3" client=1
switch_ready swc
tp_wait_ready c3
tp_wait_ready c4
tp_rxonly c3
tp_rxonly c4
tp_send c3 2 > /dev/null
tp_wait_rx c4 64
expect_eq "d: c4 before stand-in crash" "$(tp_stats c4)" "64 0"
off3=$(tp_log_size c3); off4=$(tp_log_size c4)
tp_kill swc
tp_wait_link c3 down
tp_wait_link c4 down
ok "d: clients see link down after vhost side SIGKILL"
start_switch swc "$S2" "$S3" client=1
switch_ready swc
tp_wait_log c3 "reconnection succeeds" 30 "$off3"
tp_wait_log c4 "reconnection succeeds" 30 "$off4"
tp_wait_link c3 up
tp_wait_link c4 up
ok "d: clients reconnected to the restarted vhost side"
# c4 gets no command at all: its rxonly engine simply resumes receiving.
tp_send c3 2 > /dev/null
tp_wait_rx c4 128
expect_eq "d: c4 receives after reconnect, nothing re-issued" "$(tp_stats c4)" "128 0"
tp_send c4 1 > /dev/null
tp_wait_rx c3 32
expect_eq "d: c3 receives after reconnect" "$(tp_stats c3)" "32 128"

# --- f. startup times ----------------------------------------------------------
for n in sw c1 c2 swc c3 c4; do
    printf 'info - f: startup of %-3s %5s ms\n' "$n" "$(tp_startup_ms "$n")"
done
echo "info - (c2/swc: the restarted instance; c3/c4 include waiting for the vhost side)"

tp_stop_all || die "some testpmd needed SIGKILL to stop"
ok "all testpmds quit gracefully"
echo "PASS harness-selftest ($((SECONDS - T0)) s)"
