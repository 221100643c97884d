#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# What a VM host sees, with real QEMU guests:
#  - guest reboot: the guest resets its device (vrings stopped, a new
#    VHOST_USER_SET_MEM_TABLE), comes back, traffic resumes, and
#    `port show` reports the new memory regions and vring eventfds;
#  - switch restart in client mode: QEMU owns the sockets
#    (server=on,wait=off), vhswd is killed with SIGKILL and started again
#    with the same config, and the guests' traffic resumes without
#    restarting them.  The outage is measured and printed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

guest_test_init guest-life

M1=52:54:00:7e:00:01 M2=52:54:00:7e:00:02
IP1=10.80.0.1 IP2=10.80.0.2
CFG=$TEST_TMP/vhsw.json
cat > "$CFG" <<JSON
{"ports": [{"name": "g1", "type": "vhost-user", "socket": "$TEST_TMP/g1.sock", "mode": "client"},
           {"name": "g2", "type": "vhost-user", "socket": "$TEST_TMP/g2.sock", "mode": "client"}]}
JSON

# QEMU listens; it boots the guest once vhswd has connected.
guest_launch g1 "$TEST_TMP/g1.sock" $M1 $IP1/24 --server
guest_launch g2 "$TEST_TMP/g2.sock" $M2 $IP2/24 --server
guest_wait_socket g1
guest_wait_socket g2
vhswd_start --config "$CFG"
guest_wait_ready g1
guest_wait_ready g2
wait_port g1 up
wait_port g2 up
guest_ping g1 $IP2 > /dev/null || die "g1 cannot ping g2"
log "ok: two guests on client-mode ports ping each other"

# --- Guest reboot --------------------------------------------------------------
snap() { ctl --json port show g1 | jq -c '{resets, regions: [.mem_regions[] | {guest_phys_addr, size, host_addr}], vrings: [.vrings[] | {kickfd, callfd}]}'; }
before=$(snap)
resets0=$(jctl .resets port show g1)
guest_reboot g1
log "g1 rebooted: ready again after $(guest_ready_ms g1) ms"
wait_port g1 up
guest_ping g1 $IP2 > /dev/null || die "no traffic after g1's reboot"
log "ok: traffic resumes after a guest reboot"
after=$(snap)
log "port show before the reboot: $before"
log "port show after the reboot:  $after"
check "the device was reset (destroy_device seen)" 1 "$(( $(jctl .resets port show g1) > resets0 ))"
check "new memory regions and vring eventfds reported" "true 2" \
    "$(jctl '.mem_regions | length >= 1' port show g1) $(jctl '[.vrings[] | select(.kickfd >= 0 and .callfd >= 0)] | length' port show g1)"

# --- Switch restart, client mode --------------------------------------------
# A steady ping from g1; the switch dies with SIGKILL and comes back from
# the same config.  Outage = pings lost x interval.
guest_send_raw g1 "ping -i 0.1 -w 120 $IP2 > /tmp/outage 2>&1 &"
_replies() { guest_cmd "$1" "grep -c 'bytes from' /tmp/outage" || true; }
wait_num 20 -ge 10 _replies g1 || die "the steady ping does not run"
vhswd_kill
t_kill=$(_tp_now_us)
vhswd_start --config "$CFG"
wait_port g1 up 60
wait_port g2 up 60
t_up=$(_tp_now_us)
# Traffic resumes: replies arrive again (counted from now on).
n0=$(_replies g1)
wait_num 30 -gt "$n0" _replies g1 || die "g1's ping did not resume after the switch restart"
t_traffic=$(_tp_now_us)
guest_cmd g1 "kill %1 2>/dev/null; killall ping 2>/dev/null; true" > /dev/null
seqs=$(guest_cmd g1 "grep -o 'seq=[0-9]*' /tmp/outage | cut -d= -f2 | tr '\n' ' '")
gap=$(awk '{ max = 0; for (i = 2; i <= NF; i++) if ($i - $(i-1) > max) max = $i - $(i-1); print max }' <<<"$seqs")
log "switch restart: ports up $(( (t_up - t_kill) / 1000 )) ms after the kill, traffic after $(( (t_traffic - t_kill) / 1000 )) ms"
maxrtt=$(guest_cmd g1 "grep -o 'time=[0-9.]*' /tmp/outage | cut -d= -f2 | sort -n | tail -1")
log "outage: largest gap in ping sequence numbers $gap (1 = none lost; the guest's"
log "TX ring keeps frames while the switch is away), slowest reply ${maxrtt} ms"
echo "guest_outage: ports_up_ms=$(( (t_up - t_kill) / 1000 )) first_traffic_ms=$(( (t_traffic - t_kill) / 1000 )) lost_pings=$(( gap - 1 )) max_rtt_ms=$maxrtt"
check "ping resumed without restarting the guests" 1 "$(( gap > 0 ))"
guest_ping g2 $IP1 > /dev/null || die "g2 cannot ping g1 after the restart"
log "ok: both guests' traffic resumes after vhswd SIGKILL + restart"
guest_stop_all
vhswd_stop
echo "test_guest_lifecycle: $CHECKS checks passed"
