#!/bin/sh
# Entry point of the DPDK client container: testpmd on the vhost-user socket
# vhsw-cni made for this container (answers ARP and ping: icmpecho mode).
# SOCKET_DIR: where the socket directory is mounted; IFNAME: CNI_IFNAME.
# The port lets only the MAC vhsw-cni assigned through (port security):
# testpmd takes it from <IFNAME>.mac beside the socket.
set -eu
SOCKET_DIR=${SOCKET_DIR:-/run/vhsw/containers}
IFNAME=${IFNAME:-eth0}
sock="$SOCKET_DIR/$(hostname)/$IFNAME.sock"
i=0
while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -S "$sock" ] || { echo "no vhost-user socket at $sock" >&2; exit 1; }
mac=
[ -r "${sock%.sock}.mac" ] && mac=",mac=$(cat "${sock%.sock}.mac")"
exec dpdk-testpmd --no-huge -m 512 --no-pci --no-shconf --file-prefix "$(hostname)" \
    --vdev "virtio_user0,path=$sock$mac" -- \
    --forward-mode="${FORWARD_MODE:-icmpecho}" --total-num-mbufs=8192 --stats-period 60
