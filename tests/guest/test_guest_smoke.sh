#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Two QEMU guests (Debian kernel, busybox initramfs, virtio-net over
# vhost-user, TCG) on two vhost-user server ports of a real vhswd: both
# boot, their ports come up with memory regions and vrings, they ping each
# other through the switch, the switch learns both MACs, a 1 MiB TCP
# transfer arrives intact, and both power off cleanly (ports go down).
# Prints the boot time of each guest.  Needs root; installs
# qemu-system-x86, linux-image-amd64 and busybox-static if missing.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

T0=$(_tp_now_us)
guest_test_init guest-smoke

M1=52:54:00:5e:00:01 M2=52:54:00:5e:00:02
IP1=10.77.0.1 IP2=10.77.0.2

vhswd_start
ctl port add g1 vhost-user "$TEST_TMP/g1.sock" > /dev/null
ctl port add g2 vhost-user "$TEST_TMP/g2.sock" > /dev/null
check "two ports, both down" "down down" "$(jctl '[.[].state] | join(" ")' port list)"

# One after the other: both would share CPU 0, so booting them together
# saves nothing and blurs the per-guest boot time.
guest_start g1 "$TEST_TMP/g1.sock" $M1 $IP1/24
log "g1 booted: shell after $(guest_boot_ms g1) ms, eth0 up after $(guest_ready_ms g1) ms"
guest_start g2 "$TEST_TMP/g2.sock" $M2 $IP2/24
log "g2 booted: shell after $(guest_boot_ms g2) ms, eth0 up after $(guest_ready_ms g2) ms"

for g in g1 g2; do
    wait_port $g up
    check "$g: port up and connected" "up true" "$(jctl '"\(.state) \(.connected)"' port show $g)"
    check "$g: port has memory regions" true "$(jctl '.mem_regions | length >= 1' port show $g)"
    check "$g: both vrings have eventfds" 2 \
        "$(jctl '[.vrings[] | select(.kickfd >= 0 and .callfd >= 0 and .enabled)] | length' port show $g)"
done
check "g1: guest MAC" $M1 "$(guest_cmd g1 'cat /sys/class/net/eth0/address')"
check "g2: guest address" "$IP2/24" \
    "$(guest_cmd g2 "ip -o -4 addr show dev eth0 | awk '{print \$4}'")"

# Ping both ways through the switch.
out=$(guest_ping g1 $IP2) || die "g1 cannot ping g2: $out"
check "g1 -> g2: 3 replies" 1 "$(grep -c '3 packets transmitted, 3 packets received' <<<"$out")"
out=$(guest_ping g2 $IP1) || die "g2 cannot ping g1: $out"
check "g2 -> g1: 3 replies" 1 "$(grep -c '3 packets transmitted, 3 packets received' <<<"$out")"

# The switch learned both MACs on the right ports and forwarded the pings.
check "M1 learned on g1" g1 "$(fdb_port $M1)"
check "M2 learned on g2" g2 "$(fdb_port $M2)"
check "g1 -> switch: at least 6 frames (pings, replies, ARP)" 1 \
    "$(( $(port_stat g1 rx_packets) >= 6 ))"
check "switch -> g2: at least 6 frames" 1 "$(( $(port_stat g2 tx_packets) >= 6 ))"
check "g2's eth0 received at least 6 frames" 1 "$(( $(guest_stat g2 rx_packets) >= 6 ))"
check "no drops on g1/g2" "0 0 0 0" "$(port_stat g1 rx_dropped) $(port_stat g1 tx_dropped) $(port_stat g2 rx_dropped) $(port_stat g2 tx_dropped)"

# 1 MiB over TCP (busybox nc), intact.
guest_nc_listen g2 5001 /tmp/rx
sum1=$(guest_cmd g1 "dd if=/dev/urandom of=/tmp/tx bs=64k count=16 2>/dev/null && sha256sum < /tmp/tx")
guest_cmd g1 "nc $IP2 5001 < /tmp/tx" 60 > /dev/null || die "nc g1 -> g2 failed"
guest_nc_wait g2 5001
check "1 MiB g1 -> g2 over TCP: size" 1048576 "$(guest_cmd g2 'wc -c < /tmp/rx')"
check "1 MiB g1 -> g2 over TCP: sha256" "$sum1" "$(guest_cmd g2 'sha256sum < /tmp/rx')"

# Clean poweroff: QEMU exits by itself, the ports go down.
for g in g2 g1; do
    t=$(_tp_now_us)
    guest_stop $g || die "$g did not power off (needed SIGKILL)"
    log "$g powered off in $(( ($(_tp_now_us) - t) / 1000 )) ms"
    wait_port $g down
    check "$g: port down without memory regions" "down 0" \
        "$(jctl '"\(.state) \(.mem_regions | length)"' port show $g)"
done
vhswd_stop

log "boot times: g1 $(guest_boot_ms g1)/$(guest_ready_ms g1) ms, g2 $(guest_boot_ms g2)/$(guest_ready_ms g2) ms (shell/eth0 up); total $(( ($(_tp_now_us) - T0) / 1000 )) ms"
echo "test_guest_smoke: $CHECKS checks passed"
