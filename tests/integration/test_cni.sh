#!/usr/bin/env bash
# vhsw-cni run exactly as a container runtime runs it (environment and
# stdin), against a real vhswd and real network namespaces, with Debian's
# host-local IPAM plugin: every command in both modes, results and error
# objects, port security for what the plugin assigned (and "portSecurity":
# false), DEL idempotence, a daemon that restarted or is down.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

. "$HERE/cni.sh"
cni_test_init cni
SOCKDIR=$TEST_TMP/containers

# conf MODE [VERSION] [EXTRA JSON MEMBERS]: a network config on stdout.
conf() {
    cat <<JSON
{"cniVersion": "${2:-1.0.0}", "name": "vhsw-test", "type": "vhsw-cni",
 "ctl": "$TEST_TMP/ctl.sock", "mode": "$1", "socketDir": "$SOCKDIR",
 "mtu": 1400 ${3:+, $3},
 "ipam": {"type": "host-local", "dataDir": "$IPAM_DIR",
          "ranges": [[{"subnet": "10.66.0.0/24", "gateway": "10.66.0.1"}]],
          "routes": [{"dst": "10.67.0.0/16"}]}}
JSON
}

vhswd_start

# --- VERSION ---------------------------------------------------------------
check "VERSION" 0 "$(cni VERSION "" "" "" < /dev/null)"
check "supported versions" "0.3.0 0.3.1 0.4.0 1.0.0" "$(out '.supportedVersions | join(" ")')"

# --- kernel mode -------------------------------------------------------------
CA=aaaaaaaaaaaa1111111111111111111111111111111111111111111111111111
CB=bbbbbbbbbbbb2222222222222222222222222222222222222222222222222222
check "ADD kernel A" 0 "$(conf kernel | cni ADD $CA /run/netns/$NSA eth0)"
check "result version" 1.0.0 "$(out .cniVersion)"
check "result interface" "eth0 /run/netns/$NSA" "$(out '.interfaces[0] | .name + " " + .sandbox')"
check "result MAC is the interface's" "$(ip -n $NSA -j link show eth0 | jq -r '.[0].address')" "$(out '.interfaces[0].mac')"
maca=$(out '.interfaces[0].mac')
ipa=$(out '.ips[0].address')
check "IPAM address" 10.66.0 "${ipa%.*}"
check "ip refers to interface 0" 0 "$(out '.ips[0].interface')"
check "address configured" "${ipa}" "$(ip -n $NSA -j addr show eth0 | jq -r '.[0].addr_info[] | select(.family == "inet") | .local + "/" + (.prefixlen|tostring)')"
check "route configured via the gateway" 10.66.0.1 "$(ip -n $NSA -j route show 10.67.0.0/16 | jq -r '.[0].gateway')"
check "mtu honoured" 1400 "$(ip -n $NSA -j link show eth0 | jq '.[0].mtu')"
portA=$(out .vhsw.port)
check "port up in vhswd" up "$(port_state "$portA")"
check "port's namespace" /run/netns/$NSA "$(jctl .netns port show "$portA")"
check "ADD kernel B" 0 "$(conf kernel | cni ADD $CB /run/netns/$NSB eth0)"
ipb=$(out '.ips[0].address')
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
in_ns $NSA ping -q -c 3 -i 0.2 -w 10 "${ipb%/*}" > /dev/null || die "A cannot ping B"
log "ok: two kernel-mode containers ping each other"

# Port security: the interface's MAC and the IPAM address, and only those.
lc() { tr 'A-F' 'a-f'; }
check "A's port allows its MAC" "$maca" "$(jctl .allowed_macs port show "$portA" | lc)"
check "A's port allows its IPAM address" "${ipa%/*}" "$(jctl .allowed_ips port show "$portA")"
n0=$(port_stat "$portA" rx_spoofed_mac)
ip -n $NSA link set eth0 address 02:00:00:00:ee:01
in_ns $NSA ping -q -c 2 -i 0.2 -W 1 "${ipb%/*}" > /dev/null 2>&1 &&
    die "A reached B from a MAC its port does not allow"
check "frames from another MAC dropped" 1 "$(( $(port_stat "$portA" rx_spoofed_mac) > n0 ))"
ip -n $NSA link set eth0 address "$maca"
ip -n $NSA addr add 10.66.0.250/32 dev eth0
ip -n $NSA neigh flush dev eth0
n0=$(port_stat "$portA" rx_spoofed_arp)
in_ns $NSA ping -q -c 1 -W 1 -I 10.66.0.250 "${ipb%/*}" > /dev/null 2>&1 &&
    die "A reached B from an address IPAM did not assign"
check "ARP for another address dropped" 1 "$(( $(port_stat "$portA" rx_spoofed_arp) > n0 ))"
ip -n $NSA addr del 10.66.0.250/32 dev eth0
in_ns $NSA ping -q -c 2 -i 0.2 -w 10 "${ipb%/*}" > /dev/null || die "A cannot ping B again"
log "ok: A's port drops another MAC and ARP for another address, and passes A again"
check "portSecurity false" 0 "$(conf kernel 1.0.0 '"portSecurity": false' | cni ADD $CB /run/netns/$NSB net1)"
check "no port security" "any any" "$(jctl '.allowed_macs + " " + .allowed_ips' port show "$(out .vhsw.port)")"
check "DEL it" 0 "$(conf kernel 1.0.0 '"portSecurity": false' | cni DEL $CB /run/netns/$NSB net1)"
check "CHECK" "0 " "$(conf kernel | cni CHECK $CA /run/netns/$NSA eth0) $(cat "$TEST_TMP/cni.out")"
check "second interface, other port" 0 "$(conf kernel | cni ADD $CA /run/netns/$NSA net1)"
[[ $(out .vhsw.port) != "$portA" ]] || die "two interfaces of one container share a port"
check "DEL second interface" 0 "$(conf kernel | cni DEL $CA /run/netns/$NSA net1)"
ctl port del "$portA"
check "CHECK finds a missing port" 1 "$(conf kernel | cni CHECK $CA /run/netns/$NSA eth0)"
check "error object" 5 "$(out .code)"

# --- DEL: idempotent ---------------------------------------------------------
check "DEL (port already gone)" 0 "$(conf kernel | cni DEL $CA /run/netns/$NSA eth0)"
check "DEL again" 0 "$(conf kernel | cni DEL $CA /run/netns/$NSA eth0)"
check "IPAM released" 0 "$(grep -rl "$CA" "$IPAM_DIR" 2>/dev/null | wc -l)"
ip netns del $NSB
check "DEL after the netns is gone" 0 "$(conf kernel | cni DEL $CB "" eth0)"
check "B's port removed" 0 "$(jctl "map(select(.netns == \"/run/netns/$NSB\")) | length" port list)"
ip netns add $NSB

# --- vhost-user mode ---------------------------------------------------------
VC=cccccccccccc3333333333333333333333333333333333333333333333333333
check "ADD vhost-user" 0 "$(conf vhost-user 1.0.0 '"socketPerm": "0666"' | cni ADD $VC /run/netns/$NSA eth0)"
sock=$(out .vhsw.socket)
check "socket in socketDir/<id prefix>/<ifname>.sock" "$SOCKDIR/cccccccccccc/eth0.sock" "$sock"
check "socket path under 108 bytes" 1 "$(( ${#sock} < 108 ))"
check "socket exists" socket "$(stat -c %F "$sock" | sed 's/^.*socket$/socket/')"
check "socketPerm" 666 "$(stat -c %a "$sock")"
check "result names the socket" "$sock" "$(out '.interfaces[0].socketPath')"
vmac=$(out '.interfaces[0].mac')
check "MAC is the port's static FDB entry" "$(out .vhsw.port)" "$(fdb_port "$vmac")"
check "IPAM ran for vhost-user too" 10.66.0 "$(out '.ips[0].address' | cut -d. -f1-3)"
check "the port allows that MAC" "$vmac" "$(jctl .allowed_macs port show "$(out .vhsw.port)" | lc)"
check "and the IPAM address" "$(out '.ips[0].address' | cut -d/ -f1)" "$(jctl .allowed_ips port show "$(out .vhsw.port)")"
check "the MAC beside the socket, for the app" "$vmac" "$(cat "${sock%.sock}.mac")"
# The container's DPDK app connects: CHECK passes once it is up.
check "CHECK before the app runs" 1 "$(conf vhost-user | cni CHECK $VC /run/netns/$NSA eth0)"
tp_start vc "$sock" "$vmac"
wait_port "$(jctl '.[] | select(.socket == "'"$sock"'") | .name' port list)" up
check "CHECK with the app running" 0 "$(conf vhost-user | cni CHECK $VC /run/netns/$NSA eth0)"
tp_stop vc
# A long socketDir still gives paths under 108 bytes.
LONGDIR=$TEST_TMP/$(printf 'd%.0s' {1..50})
VL=ffffffffffffffff6666666666666666666666666666666666666666666666
check "ADD with a long socketDir" 0 "$(conf vhost-user 1.0.0 | sed "s|$SOCKDIR|$LONGDIR|" | cni ADD $VL /run/netns/$NSB eth0)"
lsock=$(out .vhsw.socket)
check "long socketDir: path under 108" 1 "$(( ${#lsock} < 108 ))"
check "DEL with a long socketDir" 0 "$(conf vhost-user 1.0.0 | sed "s|$SOCKDIR|$LONGDIR|" | cni DEL $VL /run/netns/$NSB eth0)"
check "DEL vhost-user" 0 "$(conf vhost-user | cni DEL $VC /run/netns/$NSA eth0)"
check "socket dir removed" no "$([[ -e $SOCKDIR/cccccccccccc ]] && echo yes || echo no)"

# --- 0.4.0 configs -----------------------------------------------------------
CD=dddddddddddd4444
check "ADD with a 0.4.0 config" 0 "$(conf kernel 0.4.0 | cni ADD $CD /run/netns/$NSB eth0)"
check "0.4.0 result" "0.4.0 4" "$(out '.cniVersion + " " + .ips[0].version')"
check "DEL 0.4.0" 0 "$(conf kernel 0.4.0 | cni DEL $CD /run/netns/$NSB eth0)"

# --- errors ------------------------------------------------------------------
err_case() { # NAME CODE ENVCMD... < stdin
    local name=$1 code=$2 r
    shift 2
    r=$("$@")
    check "$name: exit 1" 1 "$r"
    check "$name: code" "$code" "$(out .code)"
    [[ -n $(out .msg) ]] || die "$name: no msg"
}
err_case "unknown version" 1 cni ADD x /run/netns/$NSA eth0 < <(conf kernel 9.9.9)
err_case "no cniVersion" 7 cni ADD x /run/netns/$NSA eth0 < <(conf kernel | jq -c 'del(.cniVersion)')
err_case "bad mode" 7 cni ADD x /run/netns/$NSA eth0 < <(conf bridge)
err_case "portSecurity not a boolean" 7 cni ADD x /run/netns/$NSA eth0 < <(conf kernel 1.0.0 '"portSecurity": "no"')
err_case "mtu not a number" 7 cni ADD x /run/netns/$NSA eth0 < <(conf kernel | jq -c '.mtu = "big"')
err_case "not JSON" 6 cni ADD x /run/netns/$NSA eth0 < <(echo '{"cniVersion": ')
err_case "no container id" 4 cni ADD "" /run/netns/$NSA eth0 < <(conf kernel)
err_case "no netns on ADD" 4 cni ADD x "" eth0 < <(conf kernel)
err_case "unknown IPAM plugin" 7 cni ADD x /run/netns/$NSA eth9 < <(conf kernel | jq -c '.ipam.type = "nosuch"')
check "failed ADD left no port" 0 "$(jctl '[.[] | select(.netns == "/run/netns/'$NSA'" and .ifname == "eth9")] | length' port list)"

# --- the daemon restarts, or is down ------------------------------------------
CE=eeeeeeeeeeee5555
check "ADD before restart" 0 "$(conf kernel | cni ADD $CE /run/netns/$NSB eth0)"
vhswd_kill
vhswd_start
check "DEL after the daemon restarted" 0 "$(conf kernel | cni DEL $CE /run/netns/$NSB eth0)"
vhswd_stop
err_case "ADD with the daemon down" 11 cni ADD $CE /run/netns/$NSB eth0 < <(conf vhost-user)
check "nothing left behind" "no 0" \
    "$([[ -e $SOCKDIR/eeeeeeeeeeee ]] && echo yes || echo no) $(grep -rl "$CE" "$IPAM_DIR" 2>/dev/null | wc -l)"
check "DEL with the daemon down" 0 "$(conf kernel | cni DEL $CE /run/netns/$NSB eth0)"
echo "test_cni: $CHECKS checks passed"
