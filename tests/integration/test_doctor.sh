#!/usr/bin/env bash
# `vhswctl doctor` on this host: runs without a daemon (exit 0 or 1 as
# documented, one line per finding, --json is one document with every
# check), on a WSL2-like fake tree given with --root (the VMBus findings,
# exit 1 on an error finding), against a live vhswd on its own control
# socket (the daemon finding), and vhswd's own `doctor` JSON-RPC method
# (same checks; refuses --root).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

vhsw_test_init doctor

# rc CMD...: print the exit status of CMD (stdout/stderr to files).
rc() { local r=0; "$@" > "$TEST_TMP/out" 2> "$TEST_TMP/err" || r=$?; echo $r; }

# The ids every report has, whatever the host.
COMMON_IDS="hugepages thp vhost-net tun hyperv iommu vfio cpu.isolation socket-dir daemon"

# sev ID [FILE]: severity of finding ID in a --json report.
sev() { jq -r --arg id "$1" '.findings[] | select(.id == $id) | .severity' "${2:-$TEST_TMP/out}"; }

# --- this host, no daemon ---------------------------------------------------
NOSOCK=$TEST_TMP/none/vhswd.sock
r=$(rc "$VHSWCTL" --ctl "$NOSOCK" doctor)
[[ $r == 0 || $r == 1 ]] || { cat "$TEST_TMP/err" >&2; die "doctor exited $r (expected 0 or 1)"; }
[[ ! -s $TEST_TMP/err ]] || { cat "$TEST_TMP/err" >&2; die "doctor wrote to stderr"; }
head -n 1 "$TEST_TMP/out" | grep -q '^SEVERITY  *CHECK  *FINDING' || die "no header line"
for id in $COMMON_IDS; do
    grep -qE "^(ok|info|warn|error) +$id " "$TEST_TMP/out" || { cat "$TEST_TMP/out" >&2; die "text output lacks $id"; }
done
grep -qE '^[0-9]+ ok, [0-9]+ info, [0-9]+ warn, [0-9]+ error' "$TEST_TMP/out" || die "no counts line"
grep -qE '^info +daemon +no vhswd' "$TEST_TMP/out" || die "no-daemon finding missing"
log "text report:"; sed 's/^/    /' "$TEST_TMP/out" >&2
text_rc=$r

# --json: one document, same exit status, every common check, counts add up.
r=$(rc "$VHSWCTL" --json --ctl "$NOSOCK" doctor)
check "--json doctor exits as text" "$text_rc" "$r"
jq -e . "$TEST_TMP/out" > /dev/null || die "--json output is not JSON"
check "one JSON document" 1 "$(jq -s length "$TEST_TMP/out")"
for id in $COMMON_IDS; do
    [[ -n $(sev "$id") ]] || die "--json report lacks $id"
done
check "every finding has id, severity, summary, details, fix" 0 \
    "$(jq '[.findings[] | select((.id|type) != "string" or (.severity|IN("ok","info","warn","error")|not)
        or (.summary|type) != "string" or (.details|type) != "string"
        or ((.fix|type) != "string" and .fix != null))] | length' "$TEST_TMP/out")"
check "counts add up" "$(jq '.findings | length' "$TEST_TMP/out")" \
    "$(jq '.counts | .ok + .info + .warn + .error' "$TEST_TMP/out")"
check "exit 1 iff an error finding" "$(jq '.counts.error > 0 | if . then 1 else 0 end' "$TEST_TMP/out")" "$r"
# What this machine is (ENVIRONMENT.md): /dev/net/tun, no /dev/vhost-net.
[[ -e /dev/net/tun ]] && check "tun on this host" ok "$(sev tun)"
[[ -e /dev/vhost-net ]] || check "vhost-net on this host" info "$(sev vhost-net)"
[[ -d /sys/bus/vmbus ]] || check "no VMBus here" ok "$(sev hyperv)"

# --- a WSL2-like fake tree ------------------------------------------------------
FAKE=$TEST_TMP/wsl2
NIC0=6f8e2a43-1d4c-4d0e-9b6f-2c1a7e5d9b10 NIC1=1f2e3d4c-5b6a-4789-9abc-def012345678
put() { mkdir -p "$(dirname "$FAKE$1")"; printf '%s\n' "$2" > "$FAKE$1"; }
put /proc/meminfo $'HugePages_Total:       0\nHugePages_Free:        0\nHugepagesize:       2048 kB'
put /proc/mounts 'sysfs /sys sysfs rw 0 0'
put /proc/cmdline 'initrd=\initrd.img panic=-1 swiotlb=force'
put /proc/sys/kernel/osrelease 5.15.167.4-microsoft-standard-WSL2
put /proc/net/route $'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\neth0\t00000000\t0100A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0'
put /sys/kernel/mm/transparent_hugepage/enabled 'always [madvise] never'
put /sys/devices/system/cpu/online 0-7
put /sys/devices/system/cpu/isolated ''
put /dev/net/tun ''
put "/sys/bus/vmbus/devices/$NIC0/class_id" '{f8615163-df3e-46c5-913f-f2d2f965ed0e}'
mkdir -p "$FAKE/sys/bus/vmbus/devices/$NIC0/net/eth0" "$FAKE/sys/bus/vmbus/drivers/hv_netvsc"
ln -s ../../../../bus/vmbus/drivers/hv_netvsc "$FAKE/sys/bus/vmbus/devices/$NIC0/driver"
put "/sys/bus/vmbus/devices/$NIC1/class_id" '{f8615163-df3e-46c5-913f-f2d2f965ed0e}'
mkdir -p "$FAKE/sys/bus/vmbus/devices/$NIC1/uio/uio0" "$FAKE/sys/bus/vmbus/drivers/uio_hv_generic"
ln -s ../../../../bus/vmbus/drivers/uio_hv_generic "$FAKE/sys/bus/vmbus/devices/$NIC1/driver"
put /dev/uio0 ''
mkdir -p "$FAKE/run/vhsw" && chmod 0755 "$FAKE/run/vhsw"

r=$(rc "$VHSWCTL" --json doctor --root "$FAKE")
check "WSL2 tree: exit 0" 0 "$r"
check "WSL2 tree: root" "$FAKE" "$(jq -r .root "$TEST_TMP/out")"
check "WSL2 detected" ok "$(sev hyperv)"
jq -e '.findings[] | select(.id == "hyperv") | .summary | test("WSL2")' "$TEST_TMP/out" > /dev/null || die "hyperv finding does not say WSL2"
check "uio_hv_generic" ok "$(sev uio_hv_generic)"
check "eth0 keeps the default route" info "$(sev "vmbus.nic.$NIC0")"
check "eth0 driver" hv_netvsc "$(jq -r --arg id "vmbus.nic.$NIC0" '.findings[] | select(.id == $id) | .driver' "$TEST_TMP/out")"
check "eth0 default_route" true "$(jq -r --arg id "vmbus.nic.$NIC0" '.findings[] | select(.id == $id) | .default_route' "$TEST_TMP/out")"
check "second NIC ready" ok "$(sev "vmbus.nic.$NIC1")"
check "uplink ready" ok "$(sev vmbus.uplink)"
check "SWIOTLB files absent" info "$(sev swiotlb)"
jq -e '.findings[] | select(.id == "swiotlb") | .details | test("bounce")' "$TEST_TMP/out" > /dev/null || die "swiotlb finding does not explain the bouncing"
check "8 CPUs, none isolated" info "$(sev cpu.isolation)"
check "socket dir fine" ok "$(sev socket-dir)"

put /sys/bus/vmbus/drivers/hv_pci/swiotlb_base 0x7c000000
put /sys/bus/vmbus/drivers/hv_pci/swiotlb_size 67108864
r=$(rc "$VHSWCTL" --json doctor --root "$FAKE")
check "SWIOTLB files present" ok "$(sev swiotlb)"

# An error finding: exit 1, text names it with its fix.
chmod 0777 "$FAKE/run/vhsw"
r=$(rc "$VHSWCTL" doctor --root "$FAKE")
check "error finding exits 1" 1 "$r"
grep -qE "^error +socket-dir +/run/vhsw is world-writable" "$TEST_TMP/out" || { cat "$TEST_TMP/out" >&2; die "error finding not shown"; }
grep -qE "^ +fix: chmod 0755 /run/vhsw" "$TEST_TMP/out" || die "error finding has no fix line"
chmod 0755 "$FAKE/run/vhsw"

check "--root must be a directory" 2 "$(rc "$VHSWCTL" doctor --root "$TEST_TMP/nowhere")"
grep -q "nowhere: not a directory" "$TEST_TMP/err" || die "bad --root message"
check "doctor takes no argument" 2 "$(rc "$VHSWCTL" doctor now)"

# --- with a daemon ------------------------------------------------------------
vhswd_start --no-hugepages
r=$(rc "$VHSWCTL" --json --ctl "$VHSW_CTL_SOCK" doctor)
[[ $r == 0 || $r == 1 ]] || die "doctor with a daemon exited $r"
check "vhswd answers" ok "$(sev daemon)"
jq -e '.findings[] | select(.id == "daemon") | .summary | test("answers on")' "$TEST_TMP/out" > /dev/null || die "daemon finding does not say it answers"
check "ctl dir checked" 1 "$(jq '[.findings[] | select(.id == "ctl-dir")] | length' "$TEST_TMP/out")"

# vhswd's own doctor method: the same checks on its host, as JSON-RPC.
rpc() { printf '%s\n' "$1" | nc -U -N "$VHSW_CTL_SOCK" | head -n 1; }
rpc '{"jsonrpc":"2.0","id":1,"method":"doctor","params":{}}' > "$TEST_TMP/rpc"
jq -e '.result.findings | length > 0' "$TEST_TMP/rpc" > /dev/null || { cat "$TEST_TMP/rpc" >&2; die "doctor method returned no findings"; }
for id in $COMMON_IDS; do
    [[ -n $(sev "$id" <(jq .result "$TEST_TMP/rpc")) ]] || die "doctor method lacks $id"
done
check "the daemon reports itself" ok "$(sev daemon <(jq .result "$TEST_TMP/rpc"))"
rpc "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"doctor\",\"params\":{\"root\":\"$FAKE\"}}" > "$TEST_TMP/rpc"
check "doctor method refuses another root" -32602 "$(jq .error.code "$TEST_TMP/rpc")"
rpc '{"jsonrpc":"2.0","id":3,"method":"version","params":{}}' > "$TEST_TMP/rpc"
jq -e .result.version "$TEST_TMP/rpc" > /dev/null || die "vhswd stopped answering after doctor"
vhswd_stop

# Stale socket after a crash: a warning, still exit 0/1.
vhswd_start --no-hugepages
vhswd_kill
r=$(rc "$VHSWCTL" --json --ctl "$VHSW_CTL_SOCK" doctor)
[[ $r == 0 || $r == 1 ]] || die "doctor after a crash exited $r"
check "stale control socket" warn "$(sev daemon)"

log "PASS test_doctor ($CHECKS checks)"
