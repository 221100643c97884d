#!/usr/bin/env bash
# The quick start: installs what is missing, builds, starts vhswd on its
# embedded defaults (no hugepages, no NIC, no config; control socket
# /run/vhsw/vhswd.sock), attaches two DPDK "containers" (dpdk-testpmd with
# the virtio_user PMD) that exchange traffic through the switch, and shows
# what an operator sees: vhswctl port list, fdb show, stats.
#
# Interactive (a terminal): the switch keeps running until Ctrl-C.
# Otherwise: everything is stopped when the demo ends.  Needs root.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/tests/setup.sh"
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (sudo $0)" >&2; exit 1; }
vhsw_install_deps
vhsw_build

. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/integration/vhsw.sh"
TEST_TMP=$(mktemp -d /tmp/vhsw-demo.XXXXXX)
trap 'set +e; tp_stop_all; vhswd_stop; rm -rf "$TEST_TMP"' EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

# vhswd on embedded defaults: the control socket is the default one.  Its
# state (the ports it restores after a restart) stays in the demo's own
# directory, so that the demo starts from an empty switch every time.
say "starting vhswd (embedded defaults; CPUs: control on 0, data plane on 1)"
VHSWD_N=1
VHSW_CTL_SOCK=/run/vhsw/vhswd.sock
( tp_close_fds; exec "$VHSWD" --lcores "$VHSW_LCORES" --state-dir "$TEST_TMP/state" ) > "$TEST_TMP/vhswd.1.log" 2>&1 &
VHSWD_PID=$!
wait_until 30 _vhswd_ready_or_dead
_tp_alive "$VHSWD_PID" || { cat "$TEST_TMP/vhswd.1.log"; exit 1; }
head -n 3 "$TEST_TMP/vhswd.1.log"
export VHSW_CTL=$VHSW_CTL_SOCK

say "adding two vhost-user ports for two containers"
run "$VHSWCTL" port add c1 vhost-user /run/vhsw/demo-c1.sock --mac 52:54:00:00:00:01 > /dev/null
run "$VHSWCTL" port add c2 vhost-user /run/vhsw/demo-c2.sock > /dev/null

say "starting two DPDK containers (dpdk-testpmd, virtio_user PMD)"
tp_start c1 /run/vhsw/demo-c1.sock 52:54:00:00:00:01 "" --eth-peer=0,52:54:00:00:00:02
tp_start c2 /run/vhsw/demo-c2.sock 52:54:00:00:00:02 "" --eth-peer=0,52:54:00:00:00:01
wait_port c1 up
wait_port c2 up
tp_rxonly c1
tp_rxonly c2

say "c2 sends 256 frames to c1; c1 sends 128 back"
tp_send c2 8 > /dev/null
tp_wait_rx c1 256
tp_send c1 4 > /dev/null
tp_wait_rx c2 128
echo "c1 received $(tp_rx c1) frames, c2 received $(tp_rx c2)"

say "what the operator sees"
run "$VHSWCTL" port list
echo
run "$VHSWCTL" fdb show
echo
run "$VHSWCTL" stats

if [ -t 0 ]; then
	say "vhswd keeps running (pid $VHSWD_PID, socket $VHSW_CTL); try 'build/vhswctl port show c1'. Ctrl-C stops it."
	trap 'echo' INT
	wait "$VHSWD_PID" || true
fi
say "demo done"
