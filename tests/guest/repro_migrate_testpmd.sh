#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Reproduction (not a test; not run by tests/run.sh) of the open problem in
# docs/qemu.md "Known problem: a guest corrupted by a busy migration",
# WITHOUT vhswd: dpdk-testpmd's own vhost PMD (librte_vhost 22.11, the
# same library vhswd uses) serves both vhost-user sockets and answers
# pings (icmpecho), while a 2-queue TCG guest pings it from both vCPUs
# every 5 ms and live-migrates from the first socket to the second.  On
# this machine the destination guest's kernel crashed in 3 of 4 runs (NULL
# dereference / page fault in its receive path); exit status 1 and the
# guest's console in the kept TEST_TMP tell.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
KEEP_TMP_ON_FAIL=1
guest_test_init tp-mig
tp_launch tm --vdev "net_vhost0,iface=$TEST_TMP/a.sock,queues=2" --vdev "net_vhost1,iface=$TEST_TMP/b.sock,queues=2" -- --forward-mode=icmpecho --auto-start --total-num-mbufs=16384 --rxq=2 --txq=2
wait_until 30 test -S "$TEST_TMP/b.sock"
guest_start qa "$TEST_TMP/a.sock" 52:54:00:82:00:03 10.82.0.3/24 --queues 2
guest_cmd qa "echo hi > /tmp/marker" > /dev/null
guest_cmd qa "taskset 1 ping -q -i 0.005 -c 3000 10.82.0.50 > /tmp/f0 2>&1 & taskset 2 ping -q -i 0.005 -c 3000 10.82.0.51 > /tmp/f1 2>&1 &" > /dev/null
wait_until 20 guest_cmd qa "[ \$(cat /sys/class/net/eth0/statistics/tx_packets) -gt 300 ]" 5   # the flows run
guest_launch qb "$TEST_TMP/b.sock" 52:54:00:82:00:03 10.82.0.3/24 --queues 2 --incoming "unix:$TEST_TMP/guest-qb/migrate.sock"
wait_until 30 test -S "$TEST_TMP/guest-qb/qmp.sock"
guest_migrate qa qb > /dev/null
r=$(guest_cmd qb "cat /tmp/marker" 10 || true)
echo "marker=$r"
tp_cmd tm "show port stats all" | grep -E "RX-packets|TX-packets" | head -4
[[ $r == hi ]]
