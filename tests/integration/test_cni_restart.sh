#!/usr/bin/env bash
# Containers attached by vhsw-cni in kernel mode survive a vhswd restart
# and a crash (issue 14): the kernel port's interface is a persistent TAP
# that outlives vhswd with its MAC, MTU, addresses and routes, and the
# `port add` vhswd replays at start from its state file (--state-dir)
# attaches it again.
# Checked after SIGTERM and after SIGKILL: the same interface, MAC, MTU,
# addresses and routes in the container's namespace, ping through the
# switch again, `vhsw-cni CHECK` passing.  Also: an interface that vanished
# meanwhile comes back with its MAC and MTU; CHECK names what is missing
# (the daemon, its port, the interface, an address); `port add` refuses an
# interface another process holds or that is not a TAP; `port del` and
# DEL delete the interface; DEL stays idempotent.  vhost-user containers
# with "vhostMode": "client" (their app listens, virtio_user server=1) get
# their traffic back after SIGTERM and SIGKILL without being touched.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

. "$HERE/cni.sh"
cni_test_init cnirs
export VHSWD_KEEP_STATE=1 # every start restores $TEST_TMP/state

# conf: the network config (kernel mode) on stdout.
conf() {
    cat <<JSON
{"cniVersion": "1.0.0", "name": "vhsw-restart", "type": "vhsw-cni",
 "ctl": "$TEST_TMP/ctl.sock", "mode": "kernel", "mtu": 1400,
 "ipam": {"type": "host-local", "dataDir": "$IPAM_DIR",
          "ranges": [[{"subnet": "10.68.0.0/24", "gateway": "10.68.0.1"}]],
          "routes": [{"dst": "10.69.0.0/16"}]}}
JSON
}
# conf_prev RESULT_FILE: the config with ADD's result as prevResult (CHECK).
conf_prev() { conf | jq -c --slurpfile p "$1" '. + {prevResult: $p[0]}'; }

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# iface NS: "MAC MTU ADDRESS/LEN ROUTE-GATEWAY" of eth0 in NS.
iface() {
    echo "$(ip -n "$1" -j link show eth0 | jq -r '.[0] | "\(.address) \(.mtu)"')" \
        "$(ip -n "$1" -j addr show eth0 |
            jq -r '[.[0].addr_info[] | select(.family == "inet") | "\(.local)/\(.prefixlen)"] | join(",")')" \
        "$(ip -n "$1" -j route show 10.69.0.0/16 | jq -r '.[0].gateway')"
}
carrier() { # NS: yes or no
    ip -n "$1" -j link show eth0 | jq -r 'if (.[0].flags | index("NO-CARRIER")) then "no" else "yes" end'
}

# restart HOW: stop vhswd with HOW (vhswd_stop: SIGTERM; vhswd_kill:
# SIGKILL), check the interfaces outlived it, start it again (it restores
# its state file), wait for both ports.
restart() {
    "$1"
    check "$1: A's interface outlived vhswd" "$IFA" "$(iface $NSA)"
    check "$1: without carrier" no "$(carrier $NSA)"
    check "$1: CHECK while vhswd is down" 1 \
        "$(conf_prev "$TEST_TMP/addA.json" | cni CHECK $CA /run/netns/$NSA eth0)"
    check "$1: error: try again" 11 "$(out .code)"
    local t0
    t0=$(_tp_now_us)
    vhswd_start
    wait_port "$portA" up
    wait_port "$portB" up
    log "$1: both ports up $(( ($(_tp_now_us) - t0) / 1000 )) ms after the start"
}

# after_restart HOW: everything the containers had, and traffic.
after_restart() {
    check "$1: A's ifname, MAC, MTU, address, route" "$IFA" "$(iface $NSA)"
    check "$1: B's ifname, MAC, MTU, address, route" "$IFB" "$(iface $NSB)"
    check "$1: carrier back" yes "$(carrier $NSA)"
    check "$1: the interface was attached again, not made anew" "$IDXA" \
        "$(ip -n $NSA -j link show eth0 | jq .[0].ifindex)"
    in_ns $NSA ping -q -c 3 -i 0.2 -w 15 "${ipb%/*}" > /dev/null ||
        die "$1: A cannot ping B after the restart"
    check "$1: CHECK A" 0 "$(conf_prev "$TEST_TMP/addA.json" | cni CHECK $CA /run/netns/$NSA eth0)"
    check "$1: CHECK B" 0 "$(conf_prev "$TEST_TMP/addB.json" | cni CHECK $CB /run/netns/$NSB eth0)"
    check "$1: port security kept" "$(echo "$IFA" | cut -d' ' -f1)" \
        "$(jctl .allowed_macs port show "$portA" | tr 'A-F' 'a-f')"
    log "ok: $1: both containers have their network back and ping"
}

vhswd_start

# --- two kernel-mode containers ------------------------------------------------
CA=aaaaaaaaaaaa7777777777777777777777777777777777777777777777777777
CB=bbbbbbbbbbbb8888888888888888888888888888888888888888888888888888
check "ADD A" 0 "$(conf | cni ADD $CA /run/netns/$NSA eth0)"
cp "$TEST_TMP/cni.out" "$TEST_TMP/addA.json"
portA=$(out .vhsw.port)
check "ADD B" 0 "$(conf | cni ADD $CB /run/netns/$NSB eth0)"
cp "$TEST_TMP/cni.out" "$TEST_TMP/addB.json"
portB=$(out .vhsw.port) ipb=$(out '.ips[0].address')
IFA=$(iface $NSA) IFB=$(iface $NSB)
IDXA=$(ip -n $NSA -j link show eth0 | jq .[0].ifindex)
log "A: $IFA; B: $IFB"
check "A's MTU" 1400 "$(echo "$IFA" | cut -d' ' -f2)"
check "A's route" 10.68.0.1 "$(echo "$IFA" | cut -d' ' -f4)"
check "A's interface is persistent" true \
    "$(ip -n $NSA -d -j link show eth0 | jq '.[0].linkinfo.info_data.persist')"
in_ns $NSA ping -q -c 3 -i 0.2 -w 10 "${ipb%/*}" > /dev/null || die "A cannot ping B"
check "CHECK A with prevResult" 0 "$(conf_prev "$TEST_TMP/addA.json" | cni CHECK $CA /run/netns/$NSA eth0)"

# --- port add refuses what it must not take --------------------------------------
r=$(ctl port add dup kernel --ifname eth0 --netns /run/netns/$NSA 2>&1 || true)
check "an interface vhswd holds is refused" 1 "$(grep -c 'still held by another process' <<< "$r")"
r=$(ctl port add lo1 kernel --ifname lo --netns /run/netns/$NSA 2>&1 || true)
check "an interface that is not a TAP is refused" 1 "$(grep -c 'is not a TAP' <<< "$r")"
check "A untouched" "$IFA" "$(iface $NSA)"

# --- restart (SIGTERM) and crash (SIGKILL) -------------------------------------
restart vhswd_stop
after_restart SIGTERM
restart vhswd_kill
after_restart SIGKILL

# --- CHECK names what is missing -------------------------------------------------
# vhswd without the ports (started empty, another state directory): the
# interface is still there.
vhswd_stop
vhswd_start --state-dir "$TEST_TMP/empty-state"
check "CHECK without the port in vhswd" 1 \
    "$(conf_prev "$TEST_TMP/addA.json" | cni CHECK $CA /run/netns/$NSA eth0)"
check "error code" 5 "$(out .code)"
check "message names the port" 1 "$(out .msg | grep -c "port $portA of container $CA is missing in vhswd")"
vhswd_stop
# An address removed inside the container.
vhswd_start
wait_port "$portA" up
ip -n $NSA addr del "$(echo "$IFA" | cut -d' ' -f3)" dev eth0
check "CHECK without the address" 1 \
    "$(conf_prev "$TEST_TMP/addA.json" | cni CHECK $CA /run/netns/$NSA eth0)"
check "message names the address" 1 \
    "$(out .msg | grep -c "interface eth0 in /run/netns/$NSA lacks address $(echo "$IFA" | cut -d' ' -f3)")"
ip -n $NSA addr add "$(echo "$IFA" | cut -d' ' -f3)" dev eth0
ip -n $NSA route append 10.69.0.0/16 via 10.68.0.1 dev eth0
check "CHECK with it back" 0 "$(conf_prev "$TEST_TMP/addA.json" | cni CHECK $CA /run/netns/$NSA eth0)"
# The interface deleted while vhswd runs.
ip -n $NSA link del eth0
check "CHECK without the interface" 1 \
    "$(conf_prev "$TEST_TMP/addA.json" | cni CHECK $CA /run/netns/$NSA eth0)"
check "message names the interface" 1 "$(out .msg | grep -c "interface eth0 is missing in /run/netns/$NSA")"
log "ok: CHECK says what is missing: $(out .msg)"

# --- an interface that vanished comes back with its MAC and MTU ------------------
vhswd_stop
vhswd_start
wait_port "$portA" up
check "A made anew: same MAC and MTU" "$(echo "$IFA" | cut -d' ' -f1-2)" \
    "$(iface $NSA | cut -d' ' -f1-2)"

# --- port del and DEL delete the interface; DEL is idempotent --------------------
ctl port del "$portA" > /dev/null
check "port del deleted A's interface" gone \
    "$(ip -n $NSA link show eth0 > /dev/null 2>&1 && echo there || echo gone)"
check "DEL A" 0 "$(conf | cni DEL $CA /run/netns/$NSA eth0)"
check "DEL A again" 0 "$(conf | cni DEL $CA /run/netns/$NSA eth0)"
check "DEL B" 0 "$(conf | cni DEL $CB /run/netns/$NSB eth0)"
check "DEL deleted B's interface" gone \
    "$(ip -n $NSB link show eth0 > /dev/null 2>&1 && echo there || echo gone)"
# DEL while vhswd is down: the plugin deletes the TAP left behind.
check "ADD B again" 0 "$(conf | cni ADD $CB /run/netns/$NSB eth0)"
vhswd_stop
check "B's interface outlived vhswd" yes "$(ip -n $NSB link show eth0 > /dev/null 2>&1 && echo yes)"
check "DEL B with vhswd down" 0 "$(conf | cni DEL $CB /run/netns/$NSB eth0)"
check "DEL deleted the TAP left behind" gone \
    "$(ip -n $NSB link show eth0 > /dev/null 2>&1 && echo there || echo gone)"
check "DEL B again" 0 "$(conf | cni DEL $CB /run/netns/$NSB eth0)"
check "IPAM released" 0 "$(grep -rlE "$CA|$CB" "$IPAM_DIR" 2>/dev/null | wc -l)"

# --- vhost-user containers in client mode need nothing after a restart -----------
# "vhostMode": "client": the container's DPDK app listens (virtio_user
# server=1) and vhswd connects, again after every restart: traffic resumes
# without touching the app.
conf_vhost() {
    cat <<JSON
{"cniVersion": "1.0.0", "name": "vhsw-restart-vu", "type": "vhsw-cni",
 "ctl": "$TEST_TMP/ctl.sock", "mode": "vhost-user", "vhostMode": "client",
 "socketDir": "$TEST_TMP/vu"}
JSON
}
check "client mode refuses socketPerm" 1 \
    "$(conf_vhost | jq -c '. + {socketPerm: "0660"}' | cni ADD cv0 /run/netns/$NSA eth1)"
check "bad vhostMode refused" 1 \
    "$(conf_vhost | jq -c '. + {vhostMode: "both"}' | cni ADD cv0 /run/netns/$NSA eth1)"
# A state of its own: B's port, deleted by DEL while vhswd was down, is
# still in the old one, and its interface would flood V2 with IPv6 frames.
rm -rf "$TEST_TMP/state"
vhswd_start
check "ADD V1 (client mode)" 0 "$(conf_vhost | cni ADD cv1 /run/netns/$NSA eth1)"
cp "$TEST_TMP/cni.out" "$TEST_TMP/addV1.json"
SV1=$(out .vhsw.socket) MV1=$(out '.interfaces[0].mac') portV1=$(out .vhsw.port)
check "result says client mode" client "$(out .vhsw.vhostMode)"
check "ADD V2 (client mode)" 0 "$(conf_vhost | cni ADD cv2 /run/netns/$NSB eth1)"
SV2=$(out .vhsw.socket) MV2=$(out '.interfaces[0].mac') portV2=$(out .vhsw.port)
check "V1's port connects" client "$(jctl .mode port show "$portV1")"
tp_start v1 "$SV1" "$MV1" server=1 --eth-peer=0,"$MV2"
tp_start v2 "$SV2" "$MV2" server=1 --eth-peer=0,"$MV1"
wait_port "$portV1" up
wait_port "$portV2" up
tp_rxonly v1
tp_rxonly v2
vu_exchange() { # V1 -> V2, 128 frames, exact count
    local rx
    rx=$(tp_rx v2)
    tp_send v1 4 > /dev/null
    tp_wait_rx v2 $((rx + 128))
    check "$1: V2 got V1's 128" $((rx + 128)) "$(tp_rx v2)"
}
vu_exchange "before"
for how in vhswd_stop vhswd_kill; do
    "$how"
    t0=$(_tp_now_us)
    vhswd_start
    wait_port "$portV1" up
    wait_port "$portV2" up
    log "$how: client-mode ports up $(( ($(_tp_now_us) - t0) / 1000 )) ms after the start"
    vu_exchange "after $how"
    check "$how: CHECK V1" 0 \
        "$(conf_vhost | jq -c --slurpfile p "$TEST_TMP/addV1.json" '. + {prevResult: $p[0]}' |
            cni CHECK cv1 /run/netns/$NSA eth1)"
done
tp_stop v1
tp_stop v2
check "DEL V1" 0 "$(conf_vhost | cni DEL cv1 /run/netns/$NSA eth1)"
check "DEL V2" 0 "$(conf_vhost | cni DEL cv2 /run/netns/$NSB eth1)"
check "V1's socket directory removed" gone "$([[ -e $(dirname "$SV1") ]] && echo there || echo gone)"
vhswd_stop
echo "test_cni_restart: $CHECKS checks passed"
