#!/usr/bin/env bash
# vhsw-cni under a real container runtime: Debian's podman 4.3 with the CNI
# network backend and runc, containers from a local root filesystem (no
# registry here: the host's /usr is mounted read-only into a skeleton root).
#  - two kernel-mode containers ping each other through the switch and their
#    MACs show in `vhswctl fdb show`;
#  - a vhost-user-mode container with the socket directory mounted runs
#    dpdk-testpmd (the host's, mounted in; examples/cni's entrypoint) as a
#    virtio-user client and answers pings from a kernel-mode container;
#  - removing the containers removes their ports.
# podman's configuration, storage and CNI files all live in TEST_TMP.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

podman_cleanup() {
    [[ -n ${TEST_TMP:-} ]] || return 0
    pm rm -f -t 0 ka kb vu > /dev/null 2>&1
    return 0
}
vhsw_test_init podman podman_cleanup
export CONTAINERS_CONF=$TEST_TMP/containers.conf
pm() { podman --root "$TEST_TMP/storage" --runroot "$TEST_TMP/runroot" "$@"; }

ROOTFS=$TEST_TMP/rootfs
mkdir -p "$ROOTFS"/{usr,etc,proc,sys,dev,tmp,run,var/run,socks,opt/vhsw}
for d in bin sbin lib lib64; do ln -s "usr/$d" "$ROOTFS/$d"; done
mkdir -p "$TEST_TMP/cni.d" "$TEST_TMP/socks"
printf '%s\n' '[containers]' \
    'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]' \
    '[network]' 'network_backend = "cni"' \
    "network_config_dir = \"$TEST_TMP/cni.d\"" \
    "cni_plugin_dirs = [\"$VHSW_BUILD\", \"/usr/lib/cni\"]" \
    '[engine]' 'runtime = "runc"' > "$CONTAINERS_CONF"
# The example conflists, pointed at this test's daemon and directories.
for f in vhsw-kernel vhsw-vhost-user; do
    jq --arg ctl "$TEST_TMP/ctl.sock" --arg socks "$TEST_TMP/socks" \
       --arg ipam "$TEST_TMP/ipam" \
       '.plugins[0].ctl = $ctl | .plugins[0].ipam.dataDir = $ipam |
        if .plugins[0].mode == "vhost-user" then .plugins[0].socketDir = $socks else . end' \
       "$TOP/examples/cni/$f.conflist" > "$TEST_TMP/cni.d/$f.conflist"
done

vhswd_start
check "podman sees the networks" "vhsw-kernel vhsw-vhost-user" \
    "$(pm network ls --format '{{.Name}}' | grep vhsw | sort | xargs)"

run_kernel() { # NAME
    pm run -d --name "$1" --network vhsw-kernel --cap-add NET_RAW \
        -v /usr:/usr:ro --rootfs "$ROOTFS" sleep 600 > /dev/null
}
ip_of() { pm exec "$1" ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1; }
mac_of() { pm exec "$1" cat /sys/class/net/eth0/address; }

run_kernel ka
run_kernel kb
ipa=$(ip_of ka) ipb=$(ip_of kb)
log "containers: ka $ipa, kb $ipb"
pm exec ka ping -q -c 3 -i 0.2 -w 10 "$ipb" > /dev/null || die "ka cannot ping kb"
log "ok: two kernel-mode containers ping each other through the switch"
check "ka's MAC in fdb show" 1 "$(jctl "map(select(.mac == \"$(mac_of ka)\")) | length" fdb show)"
check "kb's MAC in fdb show" 1 "$(jctl "map(select(.mac == \"$(mac_of kb)\")) | length" fdb show)"
check "two kernel ports" 2 "$(jctl 'map(select(.type == "kernel")) | length' port list)"

# A DPDK container on the vhost-user network: the socket directory mounted,
# testpmd (the host's) answering ARP and ping.
pm run -d --name vu --network vhsw-vhost-user \
    -v /usr:/usr:ro -v "$TEST_TMP/socks:/socks" -v "$TOP/examples/cni:/opt/vhsw:ro" \
    -e SOCKET_DIR=/socks --rootfs "$ROOTFS" /opt/vhsw/dpdk-client-entrypoint.sh > /dev/null
vport=$(jctl '.[] | select(.type == "vhost-user") | .name' port list)
wait_port "$vport" up 60
ipv=$(pm inspect vu --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}')
log "vhost-user container: port $vport, IPAM address $ipv"
pm exec ka ping -q -c 3 -i 0.2 -w 20 "$ipv" > /dev/null || die "ka cannot ping the DPDK container"
log "ok: the DPDK container (testpmd icmpecho over virtio-user) answers a kernel-mode container"
check "the DPDK container's traffic crossed its port" 1 "$(( $(port_stat "$vport" rx_packets) >= 3 ))"

pm rm -f -t 0 ka kb vu > /dev/null
wait_num 20 -eq 0 jctl length port list || die "ports left after the containers were removed: $(ctl port list)"
log "ok: removing the containers removed their ports"
check "socket directories removed" 0 "$(ls "$TEST_TMP/socks" | wc -l)"
vhswd_stop
echo "test_podman: $CHECKS checks passed"
