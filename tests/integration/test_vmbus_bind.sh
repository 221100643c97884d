#!/usr/bin/env bash
# uplink/vmbus-bind against fake sysfs trees (no VMBus, no root, no DPDK
# needed): the bind/unbind sysfs writes and their order, --dry-run, the
# default-route refusal and --force, non-VMBus and non-network devices, a
# missing uio_hv_generic (and a modprobe that provides it), driverctl, rollback
# when the bind write fails, status, and usage errors.
#
# Fake tree: driver directories hold plain files `bind`, `unbind`, `new_id`, so
# each write can be read back.  The script never changes the symlinks; where a
# check needs the kernel's reaction (the device's `driver` link moving, the
# interface disappearing), the test plays the kernel with set_driver.
#
# Standalone on purpose (does not source lib.sh/vhsw.sh).  Deterministic, about
# 2 s.  KEEP_TMP=1 keeps the fake trees (printed on exit).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIND=$(cd "$HERE/../.." && pwd)/uplink/vmbus-bind
TEST_TMP=$(mktemp -d /tmp/vhsw-it-vmbus-bind.XXXXXX)
trap 'if [[ ${KEEP_TMP:-0} == 1 ]]; then echo "kept $TEST_TMP" >&2; else rm -rf "$TEST_TMP"; fi' EXIT
# The script must only see what the test gives it.
unset VMBUS_BIND_ROUTES_FILE VMBUS_BIND_MODPROBE VMBUS_BIND_DRIVERCTL

log() { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf '[%(%H:%M:%S)T] FATAL: %s\n' -1 "$*" >&2; exit 1; }
CHECKS=0
check() { # NAME EXPECTED ACTUAL
	CHECKS=$((CHECKS + 1))
	[[ "$2" == "$3" ]] || die "check failed: $1: expected '$2', got '$3'"
	log "ok: $1"
}
# has NAME FILE PATTERN: FILE contains the fixed string PATTERN.
has() {
	CHECKS=$((CHECKS + 1))
	grep -qF -- "$3" "$2" || { sed 's/^/    /' "$2" >&2; die "check failed: $1: '$3' not in $(basename "$2")"; }
	log "ok: $1"
}
hasnt() {
	CHECKS=$((CHECKS + 1))
	! grep -qF -- "$3" "$2" || { sed 's/^/    /' "$2" >&2; die "check failed: $1: '$3' unexpectedly in $(basename "$2")"; }
	log "ok: $1"
}
OUT=$TEST_TMP/out ERR=$TEST_TMP/err
# rc CMD...: run CMD, stdout/stderr to $OUT/$ERR, print its exit status.
rc() { local r=0; "$@" > "$OUT" 2> "$ERR" || r=$?; echo "$r"; }
# one_line NAME: stderr holds exactly one line starting with "vmbus-bind: ".
one_line() {
	check "$1: one line on stderr" 1 "$(wc -l < "$ERR")"
	has "$1: message prefix" "$ERR" "vmbus-bind: "
}

NET_CLASS=f8615163-df3e-46c5-913f-f2d2f965ed0e
STOR_CLASS=ba6163d9-04a1-4d29-b605-72e2ffb1dc7f
ETH0=9a7c5e10-3b2d-4f61-8e4a-0c1d2e3f4a5b # carries the default route
ETH1=1f2e3d4c-5b6a-4789-9abc-def012345678 # the uplink candidate
STOR=00000000-0001-8899-0000-000000000000 # a VMBus disk controller
ROUTES=$TEST_TMP/routes
cat > "$ROUTES" << 'EOF'
default via 172.20.0.1 dev eth0 proto kernel
172.20.0.0/20 dev eth0 proto kernel scope link src 172.20.5.5
192.168.50.0/24 dev eth1 proto kernel scope link src 192.168.50.2
default via fe80::1 dev eth0 proto ra metric 1024 pref medium
fe80::/64 dev eth1 proto kernel metric 256 pref medium
EOF

# lnrel TARGET LINK: relative symlink, as sysfs has.
lnrel() { ln -sfn "$(realpath -m --relative-to="$(dirname "$2")" "$1")" "$2"; }

# set_driver SYS UUID DRIVER|none [IFNAME]: play the kernel: (re)bind the
# device; hv_netvsc gives it interface IFNAME, anything else takes it away.
set_driver() {
	local S=$1 uuid=$2 drv=$3 ifn=${4:-} dev
	dev=$(readlink -f "$S/bus/vmbus/devices/$uuid")
	rm -f "$dev/driver"
	[[ $drv == none ]] || lnrel "$S/bus/vmbus/drivers/$drv" "$dev/driver"
	local n
	for n in "$dev"/net/*; do [[ -e $n ]] && rm -f "$S/class/net/$(basename "$n")"; done
	rm -rf "$dev/net"
	if [[ $drv == hv_netvsc && -n $ifn ]]; then
		mkdir -p "$dev/net/$ifn"
		lnrel "$dev" "$dev/net/$ifn/device"
		echo "00:15:5d:00:00:0${uuid:0:1}" > "$dev/net/$ifn/address"
		lnrel "$dev/net/$ifn" "$S/class/net/$ifn"
	fi
}

# make_tree NAME [no-uio]: a fake sysfs under $TEST_TMP/NAME; prints its path.
make_tree() {
	local S=$TEST_TMP/$1 d
	mkdir -p "$S/bus/vmbus/devices" "$S/class/net"
	for d in hv_netvsc hv_storvsc $([[ ${2:-} == no-uio ]] || echo uio_hv_generic); do
		mkdir -p "$S/bus/vmbus/drivers/$d"
		: > "$S/bus/vmbus/drivers/$d/bind"
		: > "$S/bus/vmbus/drivers/$d/unbind"
		: > "$S/bus/vmbus/drivers/$d/new_id"
	done
	add_vmbus() { # UUID CLASS
		local dev=$S/devices/LNXSYSTM:00/VMBUS:00/$1
		mkdir -p "$dev"
		echo "{$2}" > "$dev/class_id"
		echo "{$1}" > "$dev/device_id"
		echo "(null)" > "$dev/driver_override"
		lnrel "$dev" "$S/bus/vmbus/devices/$1"
	}
	add_vmbus "$ETH0" "$NET_CLASS"
	set_driver "$S" "$ETH0" hv_netvsc eth0
	add_vmbus "$ETH1" "$NET_CLASS"
	set_driver "$S" "$ETH1" hv_netvsc eth1
	add_vmbus "$STOR" "$STOR_CLASS"
	set_driver "$S" "$STOR" hv_storvsc
	# veth0: a virtual interface (no device link).
	mkdir -p "$S/devices/virtual/net/veth0"
	lnrel "$S/devices/virtual/net/veth0" "$S/class/net/veth0"
	# enp0s3: a PCI NIC (device link outside the VMBus).
	d=$S/devices/pci0000:00/0000:00:03.0
	mkdir -p "$d/net/enp0s3"
	lnrel "$d" "$d/net/enp0s3/device"
	lnrel "$d/net/enp0s3" "$S/class/net/enp0s3"
	echo "$S"
}

# snapshot SYS: every file's content and every link's target, to prove that
# nothing changed.
snapshot() {
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 md5sum && find . -type l -printf '%p -> %l\n' | sort)
}
# drv SYS DRIVER FILE: content of a driver's bind/unbind/new_id file.
drv() { cat "$1/bus/vmbus/drivers/$2/$3"; }

# --- usage errors: exit 2, one line ---------------------------------------
S=$(make_tree usage)
for a in "" "frobnicate" "--bogus status" "bind" "bind eth1 eth2" "unbind" "unbind eth1" \
	"--force unbind $ETH1" "bind eth1 --driver hv_netvsc" "status extra" "--dry-run status" \
	"bind --sysfs" "bind ../x"; do
	# shellcheck disable=SC2086 # word splitting of $a is the point
	check "usage error: '$a' exits 2" 2 "$(rc "$BIND" --sysfs "$S" $a)"
	one_line "usage error: '$a'"
done
check "--help exits 0" 0 "$(rc "$BIND" --help)"
has "--help shows bind usage" "$OUT" "bind IFNAME|DEV_UUID"
has "--help shows unbind usage" "$OUT" "unbind DEV_UUID [--driver DRIVER]"
check "missing sysfs root exits 1" 1 "$(rc "$BIND" --sysfs "$TEST_TMP/nope" status)"
mkdir -p "$TEST_TMP/novmbus"
check "no VMBus exits 1" 1 "$(rc "$BIND" --sysfs "$TEST_TMP/novmbus" status)"
has "no VMBus explained" "$ERR" "no VMBus on this machine"

# --- status -----------------------------------------------------------------
S=$(make_tree status)
check "status exits 0" 0 "$(rc "$BIND" --sysfs "$S" --routes-file "$ROUTES" status)"
check "status: eth0 row" "$ETH0 hv_netvsc eth0 default route" \
	"$(grep "^$ETH0" "$OUT" | tr -s ' ')"
check "status: eth1 row" "$ETH1 hv_netvsc eth1" "$(grep "^$ETH1" "$OUT" | tr -s ' ' | sed 's/ $//')"
hasnt "status: non-network VMBus device not listed" "$OUT" "$STOR"
has "status: uio_hv_generic loaded" "$OUT" "uio_hv_generic: loaded"

# --- --dry-run: prints the actions, writes nothing ----------------------------
S=$(make_tree dry)
before=$(snapshot "$S")
check "dry-run bind exits 0" 0 "$(rc "$BIND" --dry-run --sysfs "$S" --routes-file "$ROUTES" bind eth1)"
check "dry-run prints the three writes in order" \
	"echo $NET_CLASS > $S/bus/vmbus/drivers/uio_hv_generic/new_id
echo $ETH1 > $S/bus/vmbus/drivers/hv_netvsc/unbind
echo $ETH1 > $S/bus/vmbus/drivers/uio_hv_generic/bind" "$(grep '^echo ' "$OUT")"
has "dry-run says nothing changed" "$OUT" "# dry run: nothing was changed"
check "dry-run wrote nothing" "$before" "$(snapshot "$S")"

# --- bind eth1 through sysfs ------------------------------------------------
S=$(make_tree bind)
check "bind eth1 exits 0" 0 "$(rc "$BIND" --sysfs "$S" --routes-file "$ROUTES" bind eth1)"
check "new_id holds the network class GUID" "$NET_CLASS" "$(drv "$S" uio_hv_generic new_id)"
check "hv_netvsc/unbind holds the device UUID" "$ETH1" "$(drv "$S" hv_netvsc unbind)"
check "uio_hv_generic/bind holds the device UUID" "$ETH1" "$(drv "$S" uio_hv_generic bind)"
check "hv_netvsc/bind untouched" "" "$(drv "$S" hv_netvsc bind)"
check "uio_hv_generic/unbind untouched" "" "$(drv "$S" uio_hv_generic unbind)"
has "bind prints the vhswd command" "$OUT" "vhswd --uplink $ETH1"
has "bind prints how to undo" "$OUT" "vmbus-bind unbind $ETH1"
has "bind names the MAC" "$OUT" "MAC 00:15:5d:00:00:01"
has "bind warns about eth1's other routes" "$ERR" "192.168.50.0/24"
hasnt "link-local route not reported" "$ERR" "fe80::/64"
# The kernel moves the device; a second bind has nothing to do.
set_driver "$S" "$ETH1" uio_hv_generic
check "status after bind exits 0" 0 "$(rc "$BIND" --sysfs "$S" --routes-file "$ROUTES" status)"
check "status: eth1 on uio_hv_generic, no interface" \
	"$ETH1 uio_hv_generic - DPDK: vhswd --uplink $ETH1" "$(grep "^$ETH1" "$OUT" | tr -s ' ')"
before=$(snapshot "$S")
check "bind by UUID when already bound exits 0" 0 "$(rc "$BIND" --sysfs "$S" bind "$ETH1")"
has "already bound reported" "$OUT" "already bound to uio_hv_generic"
check "already bound: nothing written" "$before" "$(snapshot "$S")"

# --- unbind reverses it -------------------------------------------------------
before=$(snapshot "$S")
check "dry-run unbind exits 0" 0 "$(rc "$BIND" --dry-run --sysfs "$S" unbind "$ETH1")"
check "dry-run unbind prints the two writes" \
	"echo $ETH1 > $S/bus/vmbus/drivers/uio_hv_generic/unbind
echo $ETH1 > $S/bus/vmbus/drivers/hv_netvsc/bind" "$(grep '^echo ' "$OUT")"
check "dry-run unbind wrote nothing" "$before" "$(snapshot "$S")"
check "unbind exits 0" 0 "$(rc "$BIND" --sysfs "$S" unbind "$ETH1")"
check "uio_hv_generic/unbind holds the device UUID" "$ETH1" "$(drv "$S" uio_hv_generic unbind)"
check "hv_netvsc/bind holds the device UUID" "$ETH1" "$(drv "$S" hv_netvsc bind)"
set_driver "$S" "$ETH1" hv_netvsc eth1
check "unbind when already on hv_netvsc exits 0" 0 "$(rc "$BIND" --sysfs "$S" unbind "$ETH1")"
has "already on hv_netvsc reported with the interface" "$OUT" "already bound to hv_netvsc (eth1)"
check "status: eth1 back on hv_netvsc" "$ETH1 hv_netvsc eth1" \
	"$(rc "$BIND" --sysfs "$S" status > /dev/null; grep "^$ETH1" "$OUT" | tr -s ' ' | sed 's/ $//')"

# unbind details: a driverctl override is cleared first; other drivers and
# devices are refused.
S=$(make_tree unbind2)
set_driver "$S" "$ETH1" uio_hv_generic
echo uio_hv_generic > "$S/bus/vmbus/devices/$ETH1/driver_override"
check "unbind with a driver_override exits 0" 0 "$(rc "$BIND" --sysfs "$S" unbind "$ETH1")"
check "driver_override cleared" "" "$(cat "$S/bus/vmbus/devices/$ETH1/driver_override")"
check "unbind with --driver" 0 "$(rc "$BIND" --sysfs "$S" unbind "$ETH1" --driver hv_storvsc)"
check "hv_storvsc/bind written" "$ETH1" "$(drv "$S" hv_storvsc bind)"
check "unbind to a missing driver exits 1" 1 "$(rc "$BIND" --sysfs "$S" unbind "$ETH1" --driver nosuch)"
one_line "unbind to a missing driver"
check "unbind of an unknown device exits 1" 1 "$(rc "$BIND" --sysfs "$S" unbind 11111111-2222-3333-4444-555555555555)"
check "unbind of a non-network device exits 1" 1 "$(rc "$BIND" --sysfs "$S" unbind "$STOR")"
has "non-network device reported" "$ERR" "not a network device"
set_driver "$S" "$ETH1" hv_storvsc
check "unbind from a foreign driver exits 1" 1 "$(rc "$BIND" --sysfs "$S" unbind "$ETH1")"
has "foreign driver named" "$ERR" "bound to hv_storvsc, not uio_hv_generic"

# --- the default-route interface --------------------------------------------
S=$(make_tree route)
before=$(snapshot "$S")
check "eth0 refused without --force" 1 "$(rc "$BIND" --sysfs "$S" --routes-file "$ROUTES" bind eth0)"
one_line "eth0 refusal"
has "refusal mentions the default route" "$ERR" "default route"
has "refusal mentions lost connections" "$ERR" "SSH"
has "refusal names the way out" "$ERR" "--force"
check "refusal wrote nothing" "$before" "$(snapshot "$S")"
check "refusal also with the routes file from the environment" 1 \
	"$(VMBUS_BIND_ROUTES_FILE=$ROUTES rc "$BIND" --sysfs "$S" bind eth0)"
check "refusal also for eth0 given by UUID" 1 "$(rc "$BIND" --sysfs "$S" --routes-file "$ROUTES" bind "$ETH0")"
check "eth0 accepted with --force" 0 "$(rc "$BIND" --force --sysfs "$S" --routes-file "$ROUTES" bind eth0)"
has "--force still warns" "$ERR" "default route"
check "--force bound eth0" "$ETH0" "$(drv "$S" uio_hv_generic bind)"
S=$(make_tree noroutes)
check "fake sysfs never reads the host's routes" 0 "$(rc "$BIND" --sysfs "$S" bind eth0)"
check "missing routes file exits 1" 1 "$(rc "$BIND" --sysfs "$S" --routes-file "$TEST_TMP/none" bind eth1)"

# --- not a VMBus NIC --------------------------------------------------------
S=$(make_tree novmbusnic)
before=$(snapshot "$S")
check "veth0 refused" 1 "$(rc "$BIND" --sysfs "$S" --routes-file "$ROUTES" bind veth0)"
one_line "veth0 refusal"
has "veth0: not a VMBus device" "$ERR" "veth0 is not a VMBus device"
check "PCI NIC refused" 1 "$(rc "$BIND" --sysfs "$S" --routes-file "$ROUTES" bind enp0s3)"
has "enp0s3: not a VMBus device" "$ERR" "enp0s3 is not a VMBus device"
check "unknown interface refused" 1 "$(rc "$BIND" --sysfs "$S" bind eth9)"
has "unknown interface named" "$ERR" "no network interface 'eth9'"
check "VMBus disk refused" 1 "$(rc "$BIND" --sysfs "$S" bind "$STOR")"
has "VMBus disk: not a network device" "$ERR" "not a network device"
check "refusals wrote nothing" "$before" "$(snapshot "$S")"

# --- uio_hv_generic missing ---------------------------------------------------
S=$(make_tree nouio no-uio)
before=$(snapshot "$S")
check "bind without uio_hv_generic exits 1" 1 "$(rc "$BIND" --sysfs "$S" bind eth1)"
has "explains CONFIG_UIO_HV_GENERIC" "$ERR" "CONFIG_UIO_HV_GENERIC"
has "explains the WSL2 kernel" "$ERR" "WSL2-Linux-Kernel"
has "explains .wslconfig" "$ERR" 'kernel=C:\\Users'
has "explains Hyper-V VMs" "$ERR" "kernel modules package"
check "missing module: nothing written" "$before" "$(snapshot "$S")"
check "status without uio_hv_generic" 0 "$(rc "$BIND" --sysfs "$S" status)"
has "status: not loaded" "$OUT" "uio_hv_generic: not loaded"
check "a failing modprobe gives the same explanation" 1 \
	"$(VMBUS_BIND_MODPROBE=false rc "$BIND" --sysfs "$S" bind eth1)"
has "failing modprobe named" "$ERR" "'false uio_hv_generic' failed"
# A modprobe that works: it registers the driver (as the kernel would).
cat > "$TEST_TMP/fake-modprobe" << EOF
#!/bin/sh
echo "\$*" >> "$TEST_TMP/fake-modprobe.log"
[ "\$1" = -n ] && exit 0
mkdir -p "$S/bus/vmbus/drivers/\$1" && : > "$S/bus/vmbus/drivers/\$1/new_id" &&
  : > "$S/bus/vmbus/drivers/\$1/bind" && : > "$S/bus/vmbus/drivers/\$1/unbind"
EOF
chmod +x "$TEST_TMP/fake-modprobe"
check "dry-run with a loadable module exits 0" 0 \
	"$(VMBUS_BIND_MODPROBE=$TEST_TMP/fake-modprobe rc "$BIND" --dry-run --sysfs "$S" bind eth1)"
check "dry-run only asks modprobe -n" "-n uio_hv_generic" "$(cat "$TEST_TMP/fake-modprobe.log")"
has "dry-run prints the modprobe" "$OUT" "$TEST_TMP/fake-modprobe uio_hv_generic"
check "dry-run with modprobe wrote nothing" "$before" "$(snapshot "$S")"
check "bind loads the module, then binds" 0 \
	"$(VMBUS_BIND_MODPROBE=$TEST_TMP/fake-modprobe rc "$BIND" --sysfs "$S" bind eth1)"
check "modprobe called" "uio_hv_generic" "$(tail -n 1 "$TEST_TMP/fake-modprobe.log")"
check "bound after modprobe" "$ETH1" "$(drv "$S" uio_hv_generic bind)"

# --- driverctl --------------------------------------------------------------
S=$(make_tree driverctl)
cat > "$TEST_TMP/fake-driverctl" << EOF
#!/bin/sh
echo "\$*" >> "$TEST_TMP/fake-driverctl.log"
EOF
chmod +x "$TEST_TMP/fake-driverctl"
before=$(snapshot "$S")
check "dry-run bind with driverctl exits 0" 0 \
	"$(VMBUS_BIND_DRIVERCTL=$TEST_TMP/fake-driverctl rc "$BIND" --dry-run --sysfs "$S" bind eth1)"
has "dry-run prints the driverctl command" "$OUT" "$TEST_TMP/fake-driverctl -b vmbus set-override $ETH1 uio_hv_generic"
check "dry-run did not run driverctl" no "$([[ -e $TEST_TMP/fake-driverctl.log ]] && echo yes || echo no)"
check "bind with driverctl exits 0" 0 \
	"$(VMBUS_BIND_DRIVERCTL=$TEST_TMP/fake-driverctl rc "$BIND" --sysfs "$S" bind eth1)"
check "driverctl set-override" "-b vmbus set-override $ETH1 uio_hv_generic" "$(cat "$TEST_TMP/fake-driverctl.log")"
check "driverctl: no sysfs writes" "$before" "$(snapshot "$S")"
set_driver "$S" "$ETH1" uio_hv_generic
check "unbind with driverctl exits 0" 0 \
	"$(VMBUS_BIND_DRIVERCTL=$TEST_TMP/fake-driverctl rc "$BIND" --sysfs "$S" unbind "$ETH1")"
check "driverctl unset-override" "-b vmbus unset-override $ETH1" "$(tail -n 1 "$TEST_TMP/fake-driverctl.log")"
check "empty VMBUS_BIND_DRIVERCTL means sysfs" 0 \
	"$(VMBUS_BIND_DRIVERCTL='' rc "$BIND" --sysfs "$S" unbind "$ETH1")"
check "sysfs unbind used" "$ETH1" "$(drv "$S" hv_netvsc bind)"

# --- failed writes: nothing half-done -------------------------------------
S=$(make_tree badnewid)
rm "$S/bus/vmbus/drivers/uio_hv_generic/new_id"
mkdir "$S/bus/vmbus/drivers/uio_hv_generic/new_id" # writes to it fail
check "new_id write failure exits 1" 1 "$(rc "$BIND" --sysfs "$S" bind eth1)"
one_line "new_id write failure"
has "new_id failure: nothing changed" "$ERR" "nothing was changed"
check "new_id failure: device not unbound" "" "$(drv "$S" hv_netvsc unbind)"
S=$(make_tree badbind)
rm "$S/bus/vmbus/drivers/uio_hv_generic/bind"
mkdir "$S/bus/vmbus/drivers/uio_hv_generic/bind"
check "bind write failure exits 1" 1 "$(rc "$BIND" --sysfs "$S" bind eth1)"
one_line "bind write failure"
has "bind failure: rolled back" "$ERR" "gave it back to hv_netvsc"
check "rollback: unbound from hv_netvsc first" "$ETH1" "$(drv "$S" hv_netvsc unbind)"
check "rollback: rebound to hv_netvsc" "$ETH1" "$(drv "$S" hv_netvsc bind)"

echo "test_vmbus_bind: $CHECKS checks passed"
