#!/usr/bin/env bash
# Launch a QEMU guest whose NIC is a vhost-user port of a running vhswd.
# Run with --help for the options.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
PROG=${0##*/}

usage() {
    cat <<EOF
Usage: $PROG [OPTIONS] [-- EXTRA_QEMU_ARGS...]

Launch a QEMU guest whose virtio-net NIC is attached to a running vhswd
through a vhost-user socket.  QEMU runs in the foreground (exec) with the
guest's serial console on this terminal: Ctrl-A x quits QEMU, Ctrl-A c
switches to the QEMU monitor and back.

What to boot (default: the test initramfs, see below):
  --kernel FILE        a Linux kernel (bzImage, or an ELF vmlinux for PVH boot)
  --initrd FILE        its initramfs
  --append STRING      its command line (default: "console=ttyS0", plus
                       "root=/dev/vda1 rw" with --disk)
  --disk IMAGE         a disk image, attached as virtio-blk (/dev/vda); boots
                       its own bootloader unless --kernel is given.  The
                       image's console should be on ttyS0 (cloud images are)
  --disk-format FMT    raw or qcow2 (default: from the file name, .qcow2 = qcow2)
  --snapshot           do not write to the disk image (changes are discarded)

  With neither --kernel nor --disk, the guest is the one the tests use:
  Debian's kernel (package linux-image-amd64) with the busybox initramfs
  built by tests/guest/lib.sh into build/guest/ (missing packages
  qemu-system-x86, linux-image-amd64, busybox-static are installed; needs
  root).  Its init configures eth0 from --ip and --mtu and gives you a
  root shell on the console (poweroff -f to stop).

The NIC:
  -s, --socket PATH    the vhost-user socket (default /run/vhsw/NAME.sock)
  --server             QEMU creates and listens on the socket; add the port
                       to vhswd with --client:
                         vhswctl port add NAME vhost-user PATH --client
                       QEMU starts the guest once vhswd has connected.
                       Default: QEMU connects to a socket vhswd serves
                         vhswctl port add NAME vhost-user PATH
                       (and retries every second until it exists).
  --mac MAC            guest MAC (default: 52:54:00 + 3 bytes derived from NAME)
  -q, --queues N       queue pairs (multiqueue: mq=on; give the port
                       --queues N too).  Linux enables min(N, vCPUs) queue
                       pairs, so --smp defaults to N
  --mtu N              test initramfs: MTU of eth0
  --host-mtu N         host_mtu=N on the device (VIRTIO_NET_F_MTU: the guest's
                       maximum and initial MTU)
  --ip CIDR            test initramfs: eth0's address, e.g. 10.0.0.1/24

The machine:
  -n, --name NAME      guest name (default: vm1; with --socket, the socket's
                       file name without .sock)
  -m, --mem MB         RAM (default 256 for the test initramfs, else 1024).
                       It is a shared memfd (memory-backend-memfd,share=on +
                       -numa node,memdev=...): vhost-user needs vhswd to map
                       the guest's memory
  --smp N              vCPUs (default: --queues, else 1)
  --accel auto|kvm|tcg KVM when /dev/kvm can be opened read-write, else TCG
                       (default auto, or \$VHSW_QEMU_ACCEL).  Inside a VM
                       (nested KVM) KVM may be slow or fail: use --accel tcg
  --cpu MODEL          -cpu MODEL (default: host with KVM, QEMU's default with TCG)
  --machine TYPE       default pc
  --dry-run            print the QEMU command line instead of running it
  -h, --help           this text
  -- ARGS...           passed to QEMU as they are

Under TCG the NIC gets vectors=0 (legacy INTx interrupts instead of
MSI-X): QEMU 7.2 crashes in msix_set_vector_notifiers when a vhost-user
device starts under TCG.  Multiqueue works with it.  Under KVM MSI-X is
kept.

Examples:
  vhswctl port add vm1 vhost-user /run/vhsw/vm1.sock
  $PROG --socket /run/vhsw/vm1.sock --ip 10.0.0.1/24
  vhswctl port add vm2 vhost-user /run/vhsw/vm2.sock --queues 2
  $PROG -n vm2 --queues 2 --ip 10.0.0.2/24
  $PROG -n vm3 --disk debian-12-genericcloud-amd64.qcow2 --snapshot --mem 2048
EOF
}

die() { echo "$PROG: $*" >&2; exit 1; }
note() { echo "$PROG: $*" >&2; }

name="" sock="" mac="" queues=1 smp="" mem="" mtu="" host_mtu="" ip="" server=0
kernel="" initrd="" append="" append_set=0 disk="" disk_format="" snapshot=0
accel=${VHSW_QEMU_ACCEL:-auto} cpu_model="" machine=pc dry_run=0
extra=()
need() { [[ $# -ge 2 && -n $2 ]] || die "$1 needs a value (see --help)"; }
while (( $# )); do
    case $1 in
    -h|--help) usage; exit 0 ;;
    -n|--name) need "$@"; name=$2; shift ;;
    -s|--socket) need "$@"; sock=$2; shift ;;
    --server) server=1 ;;
    --mac) need "$@"; mac=$2; shift ;;
    -q|--queues) need "$@"; queues=$2; shift ;;
    --smp) need "$@"; smp=$2; shift ;;
    -m|--mem) need "$@"; mem=$2; shift ;;
    --mtu) need "$@"; mtu=$2; shift ;;
    --host-mtu) need "$@"; host_mtu=$2; shift ;;
    --ip) need "$@"; ip=$2; shift ;;
    --kernel) need "$@"; kernel=$2; shift ;;
    --initrd) need "$@"; initrd=$2; shift ;;
    --append) [[ $# -ge 2 ]] || die "--append needs a value"; append=$2; append_set=1; shift ;;
    --disk) need "$@"; disk=$2; shift ;;
    --disk-format) need "$@"; disk_format=$2; shift ;;
    --snapshot) snapshot=1 ;;
    --accel) need "$@"; accel=$2; shift ;;
    --cpu) need "$@"; cpu_model=$2; shift ;;
    --machine) need "$@"; machine=$2; shift ;;
    --dry-run) dry_run=1 ;;
    --) shift; extra=("$@"); break ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
    shift
done

# --- checks and defaults ----------------------------------------------------
isnum() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive number, not '$2'"; }
isnum --queues "$queues"
[[ -z $smp ]] || isnum --smp "$smp"
[[ -z $mem ]] || isnum --mem "$mem"
[[ -z $mtu ]] || isnum --mtu "$mtu"
[[ -z $host_mtu ]] || isnum --host-mtu "$host_mtu"
if [[ -z $name ]]; then
    if [[ -n $sock ]]; then name=$(basename -- "$sock" .sock); else name=vm1; fi
fi
[[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || die "--name: use letters, digits, '_', '.', '-' only"
[[ -n $sock ]] || sock=/run/vhsw/$name.sock
[[ $sock == /* ]] || sock=$PWD/$sock
(( ${#sock} <= 107 )) || die "--socket: $sock is longer than 107 bytes (unix socket limit)"
if [[ -z $mac ]]; then
    h=$(printf '%s' "$name" | md5sum)
    mac=52:54:00:${h:0:2}:${h:2:2}:${h:4:2}
fi
[[ $mac =~ ^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$ ]] || die "--mac: '$mac' is not a MAC address"
[[ -z $ip || $ip == */* ]] || ip=$ip/24
[[ -n $smp ]] || smp=$queues
command -v qemu-system-x86_64 > /dev/null ||
    die "qemu-system-x86_64 not found: apt-get install qemu-system-x86"

test_initramfs=0
if [[ -z $kernel && -z $disk ]]; then
    test_initramfs=1
    [[ -z $initrd ]] || die "--initrd needs --kernel"
    # The tests' guest: Debian kernel + busybox initramfs (built and cached).
    . "$TOP/tests/guest/lib.sh"
    guest_install_deps
    guest_build_initramfs
    kernel=$GUEST_KERNEL initrd=$GUEST_INITRD
    (( append_set )) || append="console=ttyS0 quiet"
    append+=" vhsw.interactive=1 vhsw.name=$name"
    [[ -z $ip ]] || append+=" vhsw.ip=$ip"
    [[ -z $mtu ]] || append+=" vhsw.mtu=$mtu"
    [[ -n $mem ]] || mem=256
else
    [[ -z $ip && -z $mtu ]] || note "--ip/--mtu only configure the test initramfs; configure your guest's own network"
    [[ -n $mem ]] || mem=1024
    if [[ -n $kernel && $append_set == 0 ]]; then
        append="console=ttyS0"
        [[ -z $disk ]] || append+=" root=/dev/vda1 rw"
    fi
fi
[[ -z $kernel || -r $kernel ]] || die "--kernel: cannot read $kernel"
[[ -z $initrd || -r $initrd ]] || die "--initrd: cannot read $initrd"
if [[ -n $disk ]]; then
    [[ -r $disk ]] || die "--disk: cannot read $disk"
    if [[ -z $disk_format ]]; then
        case $disk in *.qcow2|*.qcow2.*) disk_format=qcow2 ;; *) disk_format=raw ;; esac
    fi
fi

# --- accelerator --------------------------------------------------------------
kvm_usable() { [[ -c /dev/kvm ]] && { : <> /dev/kvm; } 2>/dev/null; }
case $accel in
auto) if kvm_usable; then accel=kvm; else accel=tcg; fi ;;
kvm) kvm_usable || die "--accel kvm: /dev/kvm is missing or not usable (permissions? kvm module loaded?)" ;;
tcg) ;;
*) die "--accel must be auto, kvm or tcg" ;;
esac
cpu_args=()
if [[ -n $cpu_model ]]; then
    cpu_args=(-cpu "$cpu_model")
elif [[ $accel == kvm ]]; then
    cpu_args=(-cpu host)
fi
if [[ $accel == kvm ]] && grep -qw hypervisor /proc/cpuinfo 2>/dev/null; then
    note "using KVM inside a VM (nested); if the guest does not boot, try --accel tcg" \
         "(or --cpu host,-arch-capabilities if QEMU fails to set MSR 0x10a)"
fi

# --- the command line -----------------------------------------------------------
chardev="socket,id=vu0,path=$sock"
if (( server )); then
    chardev+=",server=on,wait=off"
    [[ ! -e $sock ]] || [[ -S $sock ]] || die "--socket: $sock exists and is not a socket"
else
    chardev+=",reconnect=1"
fi
netdev="vhost-user,id=net0,chardev=vu0"
device="virtio-net-pci,netdev=net0,mac=$mac"
(( queues == 1 )) || { netdev+=",queues=$queues"; device+=",mq=on"; }
[[ -z $host_mtu ]] || device+=",host_mtu=$host_mtu"
[[ $accel != tcg ]] || device+=",vectors=0"   # TCG + vhost-user + MSI-X crashes QEMU 7.2
(( test_initramfs == 0 )) || device+=",romfile="  # no iPXE ROM: faster -kernel boot

# shellcheck disable=SC2054  # commas inside QEMU option values
argv=(qemu-system-x86_64 -name "$name" -nodefaults -no-user-config -display none
      -machine "$machine" -accel "$accel" "${cpu_args[@]}" -smp "$smp" -m "${mem}M"
      -object "memory-backend-memfd,id=mem,size=${mem}M,share=on" -numa node,memdev=mem
      -serial mon:stdio
      -chardev "$chardev" -netdev "$netdev" -device "$device")
[[ -z $kernel ]] || argv+=(-kernel "$kernel" -append "$append")
[[ -z $initrd ]] || argv+=(-initrd "$initrd")
if [[ -n $disk ]]; then
    d="file=$disk,if=virtio,format=$disk_format"
    (( snapshot == 0 )) || d+=",snapshot=on"
    argv+=(-drive "$d")
fi
argv+=("${extra[@]}")

if (( dry_run )); then
    for a in "${argv[@]}"; do
        if [[ $a =~ ^[A-Za-z0-9_./:=,@+%-]+$ ]]; then printf '%s ' "$a"; else printf '%q ' "$a"; fi
    done
    echo
    exit 0
fi
note "$name: $accel, $smp vCPU, ${mem} MiB, NIC $mac on $sock ($( ((server)) && echo "QEMU listens; vhswctl port add $name vhost-user $sock --client" || echo "vhswd's socket"))"
if (( ! server )) && [[ ! -S $sock ]]; then
    note "waiting for $sock: vhswctl port add $name vhost-user $sock"
fi
note "serial console below; Ctrl-A x quits QEMU"
exec "${argv[@]}"
