#!/usr/bin/env bash
# Client-mode vhost-user ports: the DPDK client owns the socket
# (virtio_user server=1) and vhswd connects to it.  vhswd is killed with
# SIGKILL and restarted from the same --config: it reconnects and traffic
# resumes without restarting the clients.  A client that restarts is
# reconnected too.  Also: config save round trip.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

vhsw_test_init client

M4=52:54:00:00:00:04 M5=52:54:00:00:00:05
CFG=$TEST_TMP/vhsw.json
cat > "$CFG" <<JSON
{"ports": [{"name": "c4", "type": "vhost-user", "socket": "$TEST_TMP/c4.sock", "mode": "client"},
           {"name": "c5", "type": "vhost-user", "socket": "$TEST_TMP/c5.sock", "mode": "client"}],
 "fdb": {"aging": 120}}
JSON

# The clients listen (server=1); virtio_user waits for the switch to connect.
tp_launch_client c4 "$TEST_TMP/c4.sock" $M4 server=1 --eth-peer=0,$M5
tp_launch_client c5 "$TEST_TMP/c5.sock" $M5 server=1 --eth-peer=0,$M4
wait_until 30 test -S "$TEST_TMP/c4.sock" -a -S "$TEST_TMP/c5.sock" ||
    die "clients did not create their sockets"
vhswd_start --config "$CFG"
tp_wait_ready c4
tp_wait_ready c5
wait_port c4 up
wait_port c5 up
check "mode" "client client" "$(jctl '[.[].mode] | join(" ")' port list)"
check "aging from config" 120 "$(jctl .fdb.aging stats)"
tp_rxonly c4
tp_rxonly c5

exchange() { # one round of traffic each way, exact counts
    local rx4 rx5
    rx4=$(tp_rx c4) rx5=$(tp_rx c5)
    tp_send c4 4 > /dev/null
    tp_wait_rx c5 $((rx5 + 128))
    tp_send c5 4 > /dev/null
    tp_wait_rx c4 $((rx4 + 128))
    check "c5 got c4's 128" $((rx5 + 128)) "$(tp_rx c5)"
    check "c4 got c5's 128" $((rx4 + 128)) "$(tp_rx c4)"
}
exchange

# Crash the switch; restart it with the same config.
vhswd_kill
check "control socket left behind by the crash" yes \
    "$([[ -S $VHSW_CTL_SOCK ]] && echo yes || echo no)"
t0=${EPOCHREALTIME//[.,]/}
vhswd_start --config "$CFG"
wait_port c4 up
wait_port c5 up
t1=${EPOCHREALTIME//[.,]/}
log "reconnected $(( (10#$t1 - 10#$t0) / 1000 )) ms after the restart"
exchange

# The peer goes away and comes back: vhswd reconnects by itself.
tp_kill c5
wait_port c5 down
rm -f "$TEST_TMP/c5.sock"   # testpmd leaves its socket behind when killed
tp_launch_client c5 "$TEST_TMP/c5.sock" $M5 server=1 --eth-peer=0,$M4
tp_wait_ready c5
wait_port c5 up
tp_rxonly c5
exchange

# config save writes what was loaded (and what was added since).
ctl fdb add 52:54:00:00:00:99 c4 > /dev/null
ctl config save > /dev/null
check "saved ports" "c4:client c5:client" \
    "$(jq -r '[.ports[] | .name + ":" + .mode] | join(" ")' "$CFG")"
check "saved aging" 120 "$(jq -r .fdb.aging "$CFG")"
check "saved static entry" c4 "$(jq -r '.fdb.static[0].port' "$CFG")"
ctl config save "$TEST_TMP/copy.json" > /dev/null
check "config save FILE" "$(jq -S . "$CFG")" "$(jq -S . "$TEST_TMP/copy.json")"

tp_stop_all
vhswd_stop
echo "test_client_mode: $CHECKS checks passed"
