# shellcheck shell=bash
# QEMU guest helpers for vhsw tests: boot small Linux guests (Debian's
# kernel + a busybox initramfs built here) whose virtio-net NIC is a
# vhost-user port of vhswd, and drive their serial console.  Sourcing it
# also sources tests/integration/lib.sh and vhsw.sh (wait_until, log, die,
# TEST_TMP, vhswd_start, ...):
#
#   guest_install_deps; guest_build_initramfs
#   vhsw_test_init my-test guest_stop_all        # guests stopped on any exit
#   vhswd_start; ctl port add g1 vhost-user "$TEST_TMP/g1.sock"
#   guest_start g1 "$TEST_TMP/g1.sock" 52:54:00:00:01:01 10.0.0.1/24
#   guest_cmd g1 "ping -c 3 -w 20 10.0.0.2"      # output on stdout, guest's exit status
#   guest_stop g1
#
# API (NAME is a per-test guest name, [A-Za-z0-9_.-]+):
#   guest_install_deps                 apt-get install what is missing (qemu-system-x86,
#                                      linux-image-amd64, busybox-static)
#   guest_build_initramfs              sets GUEST_KVER, GUEST_KERNEL, GUEST_INITRD (cached
#                                      in $GUEST_CACHE, keyed by kernel version + content hash)
#   guest_start NAME SOCK MAC IP [OPTS] guest_launch + guest_wait_ready
#   guest_launch NAME SOCK MAC IP [OPTS] start QEMU, no wait.  IP: "10.0.0.1/24" ("" = none)
#       --server        QEMU owns SOCK (server=on,wait=off) for a vhswd --client port.
#                       QEMU only boots the guest once vhswd has connected, so use
#                       guest_launch; guest_wait_socket; ctl port add ... --client;
#                       guest_wait_ready.  Default: QEMU connects to vhswd (reconnect=1).
#       --queues N      multiqueue (netdev queues=N, device mq=on, N vCPUs: see below)
#       --mtu N         guest MTU (set on eth0 by the guest's init)
#       --host-mtu N    also host_mtu=N on the device (VIRTIO_NET_F_MTU: caps the guest's max MTU)
#       --mem MB        guest RAM (default $GUEST_MEM_MB), a shared memfd
#       --smp N         vCPUs (default 1, or N for --queues N)
#       --append STR    extra kernel command-line words
#       --dev-opts STR  extra virtio-net-pci properties (",iommu_platform=on,...")
#       --incoming URI  a live-migration destination (-incoming URI): QEMU
#                       waits for the migration stream instead of booting;
#                       the guest arrives with guest_migrate (no guest_wait_ready)
#       --qemu ARG      one extra QEMU argument (repeatable)
#   guest_wait_socket NAME [TIMEOUT]   (--server) wait until QEMU created SOCK
#   guest_wait_ready NAME [--no-link]  wait (GUEST_BOOT_TIMEOUT) until the shell answers,
#                                      then (GUEST_LINK_TIMEOUT) until eth0 is up
#   guest_cmd NAME CMD [TIMEOUT]       run CMD in the guest's shell (stdin /dev/null); prints its
#                                      output, returns its exit status; 124 after a timeout (the
#                                      command is interrupted with ^C); fails the test if QEMU died
#   guest_send_raw NAME TEXT           write TEXT + newline to the console, no wait
#   guest_ping NAME IP [COUNT=3] [DEADLINE=20]   ping from the guest; guest's exit status
#   guest_nc_listen NAME PORT FILE     background `nc -l -p PORT > FILE`, returns once listening
#   guest_nc_wait NAME PORT [TIMEOUT]  wait until that listener got EOF and exited
#                                      (send with: guest_cmd G "nc IP PORT < FILE")
#   guest_stat NAME COUNTER [IF=eth0]  one /sys/class/net/IF/statistics counter
#   guest_queues NAME                  number of RX queues eth0 uses
#   guest_reboot NAME                  guest-initiated reboot (reboot -f); waits until ready again
#   guest_stop NAME                    poweroff -f, bounded wait, then SIGKILL (returns 1 if killed)
#   guest_kill NAME                    SIGKILL (simulated crash)
#   guest_stop_all / guest_kill_all    every running guest (guest_stop_all: a CLEANUP_FN)
#   guest_qmp NAME CMD [ARGS-JSON]     one QMP command; prints its return value as JSON
#   guest_migrate SRC DST [CAP...]     live-migrate SRC's guest into DST (launched with
#                                      --incoming unix:$(guest_dir DST)/migrate.sock):
#                                      migration capabilities CAP (e.g. postcopy-ram) on
#                                      both, migrate, wait (GUEST_MIGRATE_TIMEOUT) until
#                                      completed; prints the final query-migrate JSON
#                                      (.downtime, .total-time in ms).  With postcopy-ram
#                                      it switches to postcopy once the first pass began.
#   guest_quit NAME                    QMP quit (a paused or migrated-away QEMU), then reap
#   guest_outside NS UP PEER ADDR      a network namespace NS behind the uplink: a veth pair,
#                                      UP in this namespace (vhswd --uplink
#                                      net_af_packet0,iface=UP), PEER in NS with ADDR (CIDR),
#                                      IPv6 off on both; guest_outside_cleanup (a CLEANUP_FN)
#                                      removes them
#   guest_pid / guest_dir / guest_console / guest_ip / guest_mac NAME
#   guest_boot_ms NAME                 launch (or reboot) -> shell banner, in ms
#   guest_ready_ms NAME                launch (or reboot) -> shell answers and eth0 up, in ms
#   guest_close_fds                    close the console fds in a subshell that execs a daemon
#
# Each guest lives in $TEST_TMP/guest-NAME: console.out (everything the
# serial console printed), console.in (FIFO: the harness writes commands),
# qemu.log, cmdline, pid, boot_ms, qmp.sock (QMP, for ad-hoc use).  Call
# the start/stop functions from the main shell, not from $(...) (state
# lives in shell variables); guest_cmd works from $(...).
#
# The guest: one TCG vCPU (GUEST_ACCEL=kvm for KVM, GUEST_CPU for -cpu),
# QEMU pinned to $GUEST_CPUS (CPU 0: the switch's data plane owns CPU 1),
# RAM a shared memfd (vhost-user maps it), -kernel/-initrd/-append, no
# firmware option ROM.  Its /init mounts proc/sys/dev, loads the virtio
# modules, reads vhsw.name=, vhsw.ip=, vhsw.mtu=, vhsw.ipv6= (and
# vhsw.interactive=1: echo and a prompt, for a human) from the kernel
# command line, configures lo and eth0 (IPv6 off unless vhsw.ipv6=1, so the
# only frames on the wire are the test's), sets the kernel console log
# level to 1 (dmesg has everything) and runs an interactive busybox sh on
# ttyS0 with echo off and empty prompts.  Busybox provides sh, ip, ping, nc
# (-l), netstat, sha256sum, dd, head, cat, poweroff/reboot ...; `ifstats
# [IF]` prints every counter of /sys/class/net/IF/statistics.
#
# How command completion is detected: guest_cmd writes
#   printf "@B%s@\n" NONCE; { CMD
#   } </dev/null; printf "@E%s:%d@\n" NONCE $?
# The console has echo off, and even an echoed line would not contain the
# expanded markers "@BNONCE@" / "@ENONCE:RC@", so the output is what lies
# between them in console.out and RC is the exit status.  Lines reach the
# shell through the tty in canonical mode: at most 4095 bytes per line.
#
# Pitfalls (QEMU 7.2, Debian 12), handled here:
#   - TCG + vhost-user segfaults in msix_set_vector_notifiers when the device
#     starts, whatever the number of vectors: under TCG the NIC gets
#     vectors=0 (INTx, no MSI-X).  Multiqueue works with it.
#   - virtio_net enables min(queue pairs, online CPUs) queue pairs and
#     busybox has no ethtool -L, so --queues N boots N vCPUs (all on
#     $GUEST_CPUS); with 1 vCPU the extra vrings stay disabled.
#   - vhost-user netdev init blocks until the socket is connected: a client
#     QEMU retries every second (reconnect=1), a server QEMU waits for vhswd
#     before it even starts the guest.
#   - Debian's vmlinuz is xz-compressed; its decompression takes ~3 s of a
#     TCG boot.  The kernel is decompressed once here into an ELF vmlinux
#     (cached) that QEMU boots through the PVH entry point (GUEST_PVH=0: the
#     vmlinuz).
#   - eth0's operstate turns up ~1 s after the carrier (the kernel's
#     linkwatch rate limit); before that the qdisc drops what is sent, so
#     guest_wait_ready waits for operstate "up", not the carrier.
#   - busybox nc exits when the peer half-closes: a listener whose stdin
#     ends makes the sender quit early (guest_nc_listen gives it a FIFO).
#   - QEMU gets PR_SET_PDEATHSIG=SIGKILL: it dies with the test shell.

: "${QEMU:=qemu-system-x86_64}"
: "${GUEST_ACCEL:=tcg}"                 # tcg | kvm
: "${GUEST_CPUS:=0}"                    # taskset CPU list for QEMU
: "${GUEST_MEM_MB:=256}"
: "${GUEST_MACHINE:=pc}"
: "${GUEST_CPU:=}"                      # -cpu MODEL ("": QEMU's default under TCG, host under KVM)
: "${GUEST_TCG_VECTORS=0}"              # MSI-X vectors of the NIC under TCG ("" = QEMU's default)
: "${GUEST_BOOT_TIMEOUT:=120}"          # launch -> shell answers (TCG)
: "${GUEST_LINK_TIMEOUT:=30}"           # shell answers -> eth0 operstate up
: "${GUEST_CMD_TIMEOUT:=60}"            # default guest_cmd timeout
: "${GUEST_STOP_TIMEOUT:=20}"           # poweroff -> QEMU exited, before SIGKILL
: "${GUEST_MIGRATE_TIMEOUT:=120}"       # migrate -> completed
: "${GUEST_POLL:=0.05}"                 # poll interval while waiting for console output
: "${GUEST_LOG_TAIL:=30}"
: "${GUEST_APPEND:=console=ttyS0 quiet}"
GUEST_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=../integration/lib.sh
. "$GUEST_TOP/tests/integration/lib.sh"
# shellcheck source=../integration/vhsw.sh
. "$GUEST_TOP/tests/integration/vhsw.sh"
: "${GUEST_CACHE:=${VHSW_BUILD:-$GUEST_TOP/build}/guest}"
GUEST_PACKAGES=(qemu-system-x86 linux-image-amd64 busybox-static)
GUEST_MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
               failover net_failover virtio_net)
: "${GUEST_KVER:=}" "${GUEST_KERNEL:=}" "${GUEST_INITRD:=}"

declare -gA _G_PID=() _G_FD=() _G_DIR=() _G_IP=() _G_MAC=() _G_T0=() _G_OFF=() \
            _G_BOOT_MS=() _G_READY_MS=() _G_SOCK=()
declare -ga _G_ORDER=()
declare -g _G_SEQ=0

# guest_install_deps: install the guest packages that are missing (quiet, idempotent).
# guest_test_init TAG [CLEANUP_FN...]: the start of a guest test: packages,
# the initramfs, TEST_TMP and traps (guests stopped on any exit, then the
# CLEANUP_FNs).
guest_test_init() {
    local tag=$1
    shift
    guest_install_deps
    guest_build_initramfs
    vhsw_test_init "$tag" guest_stop_all "$@"
}

guest_install_deps() {
    # shellcheck source=../setup.sh
    declare -F vhsw_apt_install > /dev/null || . "$(dirname "${BASH_SOURCE[0]}")/../setup.sh"
    vhsw_apt_install guest "${GUEST_PACKAGES[@]}" || die "guest: cannot install ${GUEST_PACKAGES[*]}"
}

# guest_kver: the guest kernel version: $GUEST_KVER, else the one
# linux-image-amd64 depends on, else the newest /boot/vmlinuz-* with modules.
# (Not `uname -r`: the host may run a kernel that is not Debian's.)
guest_kver() {
    if [[ -n $GUEST_KVER ]]; then printf '%s\n' "$GUEST_KVER"; return 0; fi
    local dep k
    dep=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null || true)
    dep=${dep%% *}; dep=${dep%,}; dep=${dep#linux-image-}
    if [[ -n $dep && -f /boot/vmlinuz-$dep && -d /lib/modules/$dep ]]; then
        printf '%s\n' "$dep"; return 0
    fi
    for k in $(printf '%s\n' /boot/vmlinuz-* | sort -rV); do
        k=${k#/boot/vmlinuz-}
        [[ -d /lib/modules/$k ]] && { printf '%s\n' "$k"; return 0; }
    done
    die "guest: no kernel with modules (/boot/vmlinuz-V and /lib/modules/V); install linux-image-amd64"
}

# The guest's /init.  Reads /etc/vhsw-modules (load order).
_guest_init_script() {
    cat <<'EOF'
#!/bin/sh
# /init of the vhsw test guest (generated by tests/guest/lib.sh).
export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
# The console belongs to the harness: kernel messages only if they are
# emergencies (dmesg has everything).
echo 1 > /proc/sys/kernel/printk
name=guest ip= mtu= ipv6=0
for arg in $(cat /proc/cmdline); do
    case $arg in
    vhsw.name=*) name=${arg#*=} ;;
    vhsw.ip=*) ip=${arg#*=} ;;
    vhsw.mtu=*) mtu=${arg#*=} ;;
    vhsw.ipv6=*) ipv6=${arg#*=} ;;
    esac
done
hostname "$name"
if [ "$ipv6" != 1 ]; then
    echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6
    echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6
fi
for m in $(cat /etc/vhsw-modules); do
    [ -f "/lib/modules/$m.ko" ] || continue     # built into this kernel
    insmod "/lib/modules/$m.ko" || echo "vhsw-guest: insmod $m failed"
done
ip link set lo up
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 100 ]; do usleep 100000; n=$((n + 1)); done
if [ -e /sys/class/net/eth0 ]; then
    [ -z "$mtu" ] || ip link set eth0 mtu "$mtu" || echo "vhsw-guest: cannot set MTU $mtu"
    ip link set eth0 up
    [ -z "$ip" ] || ip addr add "$ip" dev eth0 || echo "vhsw-guest: cannot add address $ip"
else
    echo "vhsw-guest: no eth0 (virtio-net missing?)"
fi
echo "vhsw-guest: $name eth0 $(cat /sys/class/net/eth0/address 2>/dev/null) ip=$ip mtu=$(cat /sys/class/net/eth0/mtu 2>/dev/null)"
# The shell the harness drives; restarted if it exits.
while :; do
    setsid cttyhack /bin/vhsw-shell
done
EOF
}

_guest_shell_script() {
    cat <<'EOF'
#!/bin/sh
# Interactive shell on the console for the harness: no echo, no prompts
# (busybox line editing falls back to plain line reads when echo is off).
# vhsw.interactive=1 on the kernel command line (examples/qemu-guest.sh):
# echo and a prompt, for a human.
case " $(cat /proc/cmdline) " in
*" vhsw.interactive=1 "*) export PS1='\h:\w# ' ENV= ;;
*) stty -echo 2>/dev/null; export PS1= PS2= ENV= ;;
esac
echo "vhsw-guest: ready"
exec sh -i
EOF
}

_guest_ifstats_script() {
    cat <<'EOF'
#!/bin/sh
# ifstats [IF]: every counter of /sys/class/net/IF/statistics (default eth0), "name value".
cd "/sys/class/net/${1:-eth0}/statistics" || exit 1
for f in *; do echo "$f $(cat "$f")"; done
EOF
}

# _guest_vmlinux KERNEL: print the path of KERNEL (a bzImage) uncompressed
# to an ELF vmlinux (cached), or nothing when that is not possible.
# QEMU boots an ELF vmlinux through its PVH entry point (CONFIG_PVH):
# no firmware-side xz decompression, which takes ~3 s under TCG.
_guest_vmlinux() {
    local img=$1 sum out off magic
    sum=$(sha256sum < "$img"); sum=${sum:0:16}
    out=$GUEST_CACHE/vmlinux-$sum
    [[ -s $out ]] && { printf '%s\n' "$out"; return 0; }
    mkdir -p -- "$GUEST_CACHE"
    for magic in xz zstd gzip; do
        case $magic in
        xz) off=$(LC_ALL=C grep -abo $'\xfd7zXZ' "$img" | head -n1) ;;
        zstd) off=$(LC_ALL=C grep -abo $'\x28\xb5\x2f\xfd' "$img" | head -n1) ;;
        gzip) off=$(LC_ALL=C grep -abo $'\x1f\x8b\x08' "$img" | head -n1) ;;
        esac
        [[ -n $off ]] || continue
        off=${off%%:*}
        case $magic in
        xz) tail -c "+$((off + 1))" -- "$img" | xz -dc --single-stream ;;
        zstd) tail -c "+$((off + 1))" -- "$img" | zstd -qdc ;;
        gzip) tail -c "+$((off + 1))" -- "$img" | gzip -dc ;;
        esac > "$out.tmp.$$" 2>/dev/null || true   # trailing data after the stream: harmless
        if [[ $(head -c 4 -- "$out.tmp.$$" 2>/dev/null) == $'\x7fELF' ]]; then
            mv -f -- "$out.tmp.$$" "$out"
            find "$GUEST_CACHE" -maxdepth 1 -name 'vmlinux-*' ! -name "${out##*/}" \
                -mmin +60 -delete 2>/dev/null || true
            printf '%s\n' "$out"
            return 0
        fi
    done
    rm -f -- "$out.tmp.$$"
    return 0
}

# guest_build_initramfs: build the test initramfs (once; cached) and set
# GUEST_KVER, GUEST_KERNEL and GUEST_INITRD.  GUEST_KERNEL (if not set by
# the caller) is an uncompressed copy of /boot/vmlinuz-KVER booted through
# PVH when the kernel has CONFIG_PVH and GUEST_PVH=1 (default), else the
# vmlinuz itself.
guest_build_initramfs() {
    local kver bb key out stage m f a ldd_out img
    kver=$(guest_kver)
    GUEST_KVER=$kver
    if [[ -z $GUEST_KERNEL ]]; then
        img=/boot/vmlinuz-$kver
        [[ -r $img ]] || die "guest: cannot read $img"
        GUEST_KERNEL=$img
        if [[ ${GUEST_PVH:-1} == 1 ]] && grep -qx 'CONFIG_PVH=y' "/boot/config-$kver" 2>/dev/null; then
            f=$(_guest_vmlinux "$img")
            [[ -z $f ]] || GUEST_KERNEL=$f
        fi
    fi
    bb=$(command -v busybox 2>/dev/null || true)
    [[ -n $bb ]] || die "guest: busybox missing (apt-get install busybox-static)"
    bb=$(readlink -f "$bb")
    # A dynamically linked busybox would need its libraries in the initramfs.
    ldd_out=$(LC_ALL=C ldd "$bb" 2>&1 || true)
    [[ $ldd_out == *"not a dynamic executable"* || $ldd_out == *"statically linked"* ]] ||
        die "guest: $bb is not statically linked (apt-get install busybox-static)"
    # Keyed by the kernel version and everything that goes in.
    key=$( { _guest_init_script; _guest_shell_script; _guest_ifstats_script
             printf '%s\n' "${GUEST_MODULES[@]}"; sha256sum < "$bb"
             for m in "${GUEST_MODULES[@]}"; do
                 find "/lib/modules/$kver/kernel" -name "$m.ko*" -exec sha256sum {} + 2>/dev/null
             done; } | sha256sum)
    key=${key:0:16}
    out=$GUEST_CACHE/initramfs-$kver-$key.cpio.gz
    GUEST_INITRD=$out
    [[ -s $out ]] && return 0

    mkdir -p -- "$GUEST_CACHE"
    stage=$(mktemp -d "$GUEST_CACHE/stage.XXXXXX")
    mkdir -p -- "$stage"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,lib/modules}
    cp -- "$bb" "$stage/bin/busybox"
    for a in $("$bb" --list-full); do
        [[ -e $stage/$a || -L $stage/$a ]] || ln -s /bin/busybox "$stage/$a"
    done
    for m in "${GUEST_MODULES[@]}"; do
        f=$(find "/lib/modules/$kver/kernel" -name "$m.ko" -o -name "$m.ko.xz" \
                 -o -name "$m.ko.zst" -o -name "$m.ko.gz" 2>/dev/null | head -n1)
        if [[ -z $f ]]; then
            # Built in (=y) is fine: /init skips modules it does not have.
            grep -q "/$m.ko\$" "/lib/modules/$kver/modules.builtin" 2>/dev/null ||
                { rm -rf -- "$stage"; die "guest: module $m not found for kernel $kver"; }
            continue
        fi
        # busybox insmod takes plain .ko only: decompress here.
        case $f in
        *.ko.xz) xz -dc -- "$f" ;;
        *.ko.zst) zstd -qdc -- "$f" ;;
        *.ko.gz) gzip -dc -- "$f" ;;
        *) cat -- "$f" ;;
        esac > "$stage/lib/modules/$m.ko" ||
            { rm -rf -- "$stage"; die "guest: cannot decompress $f"; }
    done
    printf '%s\n' "${GUEST_MODULES[@]}" > "$stage/etc/vhsw-modules"
    _guest_init_script > "$stage/init"
    _guest_shell_script > "$stage/bin/vhsw-shell"
    _guest_ifstats_script > "$stage/bin/ifstats"
    chmod 755 "$stage/init" "$stage/bin/vhsw-shell" "$stage/bin/ifstats"
    echo "root:x:0:0:root:/root:/bin/sh" > "$stage/etc/passwd"
    # The kernel opens /dev/console for init before devtmpfs is mounted.
    mknod "$stage/dev/console" c 5 1 2>/dev/null || true
    ( cd "$stage" && find . -print0 | LC_ALL=C sort -z |
        cpio --null -o -H newc --quiet -R 0:0 ) | gzip -6 > "$out.tmp.$$" ||
        { rm -rf -- "$stage" "$out.tmp.$$"; die "guest: building the initramfs failed"; }
    mv -f -- "$out.tmp.$$" "$out"    # atomic: concurrent builders agree on the content
    rm -rf -- "$stage"
    # Older builds for this kernel (another init script or busybox) are stale.
    find "$GUEST_CACHE" -maxdepth 1 -name "initramfs-$kver-*.cpio.gz" ! -name "${out##*/}" \
        -mmin +60 -delete 2>/dev/null || true
    log "guest: built $out ($(( $(stat -c %s "$out") / 1024 )) KiB, kernel $kver)"
}

# _guest_alive NAME: true while NAME's QEMU runs.
_guest_alive() { _tp_alive "${_G_PID[$1]:-}"; }

_guest_need() {
    [[ -n ${_G_DIR[$1]:-} ]] || die "guest '$1' unknown (not started?)"
}

guest_pid() { printf '%s\n' "${_G_PID[$1]:-}"; }
guest_dir() { _guest_need "$1"; printf '%s\n' "${_G_DIR[$1]}"; }
guest_console() { _guest_need "$1"; printf '%s\n' "${_G_DIR[$1]}/console.out"; }
guest_ip() { printf '%s\n' "${_G_IP[$1]%%/*}"; }
guest_mac() { printf '%s\n' "${_G_MAC[$1]:-}"; }
guest_boot_ms() { printf '%s\n' "${_G_BOOT_MS[$1]:-}"; }
guest_ready_ms() { printf '%s\n' "${_G_READY_MS[$1]:-}"; }

# guest_fail NAME MESSAGE: die with MESSAGE, the console tail and QEMU's log.
guest_fail() {
    local name=$1; shift
    local dir=${_G_DIR[$name]:-}
    {
        printf '[%(%H:%M:%S)T] FATAL: [guest %s] %s\n' -1 "$name" "$*"
        if [[ -n $dir && -f $dir/console.out ]]; then
            printf -- '----- last %s lines of %s -----\n' "$GUEST_LOG_TAIL" "$dir/console.out"
            tail -n "$GUEST_LOG_TAIL" "$dir/console.out" | tr -d '\r'
        fi
        if [[ -n $dir && -s $dir/qemu.log ]]; then
            printf -- '----- %s -----\n' "$dir/qemu.log"
            tail -n "$GUEST_LOG_TAIL" "$dir/qemu.log"
        fi
        printf -- '----- end of logs -----\n'
    } >&2
    exit 1
}

# guest_close_fds: close every guest console fd in this (sub)shell.
guest_close_fds() {
    local f
    for f in "${_G_FD[@]}"; do [[ -n $f ]] && { exec {f}>&- || true; }; done
    return 0
}

# _guest_kvm_usable: /dev/kvm can be opened read-write.
_guest_kvm_usable() { [[ -c /dev/kvm ]] && { : <> /dev/kvm; } 2>/dev/null; }

# guest_launch NAME SOCK MAC IP [OPTIONS]: start QEMU, no wait (see the header).
guest_launch() {
    local name=$1 sock=$2 mac=$3 ip=$4
    shift 4
    [[ -n ${TEST_TMP:-} && -d ${TEST_TMP:-} ]] || die "TEST_TMP must name an existing directory"
    [[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || die "bad guest name '$name'"
    [[ $mac =~ ^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$ ]] || die "guest $name: bad MAC '$mac'"
    if _guest_alive "$name"; then die "guest '$name' is already running"; fi
    [[ -n $GUEST_INITRD && -n $GUEST_KERNEL ]] || guest_build_initramfs
    local server=0 queues=1 mtu="" host_mtu="" mem=$GUEST_MEM_MB smp="" append="" devopts=""
    local -a extra=()
    while (( $# )); do
        case $1 in
        --server) server=1 ;;
        --queues) queues=$2; shift ;;
        --mtu) mtu=$2; shift ;;
        --host-mtu) host_mtu=$2; shift ;;
        --mem) mem=$2; shift ;;
        --smp) smp=$2; shift ;;
        --append) append=$2; shift ;;
        --dev-opts) devopts=$2; shift ;;
        --incoming) extra+=(-incoming "$2"); shift ;;
        --qemu) extra+=("$2"); shift ;;
        *) die "guest_launch $name: unknown option '$1'" ;;
        esac
        shift
    done
    [[ $queues =~ ^[1-9][0-9]*$ ]] || die "guest $name: bad --queues '$queues'"
    [[ $mem =~ ^[1-9][0-9]*$ ]] || die "guest $name: bad --mem '$mem'"
    [[ -n $smp ]] || smp=$queues
    [[ -z $ip || $ip == */* ]] || ip=$ip/24

    local dir=$TEST_TMP/guest-$name
    if [[ -e $dir ]]; then    # keep logs of an earlier incarnation as guest-NAME.N
        local n=1
        while [[ -e $dir.$n ]]; do n=$((n + 1)); done
        mv -- "$dir" "$dir.$n"
        rm -f -- "$dir.$n/console.in" "$dir.$n/qmp.sock"
    fi
    mkdir -p -- "$dir"
    mkfifo -- "$dir/console.in"
    : > "$dir/console.out"     # a regular file: QEMU's pipe chardev writes the console here

    local accel=$GUEST_ACCEL cpu=() vectors=()
    [[ -z $GUEST_CPU ]] || cpu=(-cpu "$GUEST_CPU")
    case $accel in
    tcg) # QEMU 7.2 TCG + vhost-user + MSI-X segfaults: INTx instead
         [[ -z $GUEST_TCG_VECTORS ]] || vectors=(",vectors=$GUEST_TCG_VECTORS") ;;
    kvm) _guest_kvm_usable || die "guest: GUEST_ACCEL=kvm but /dev/kvm is not usable"
         [[ -n $GUEST_CPU ]] || cpu=(-cpu host) ;;
    *) die "guest: GUEST_ACCEL must be tcg or kvm, not '$accel'" ;;
    esac
    local chardev="socket,id=vu0,path=$sock" netdev="vhost-user,id=net0,chardev=vu0"
    local dev="virtio-net-pci,netdev=net0,mac=$mac,romfile=${vectors[*]}"
    if (( server )); then chardev+=",server=on,wait=off"; else chardev+=",reconnect=1"; fi
    if (( queues > 1 )); then netdev+=",queues=$queues"; dev+=",mq=on"; fi
    [[ -z $host_mtu ]] || dev+=",host_mtu=$host_mtu"
    dev+=$devopts
    local cmdline="$GUEST_APPEND vhsw.name=$name"
    [[ -z $ip ]] || cmdline+=" vhsw.ip=$ip"
    [[ -z $mtu ]] || cmdline+=" vhsw.mtu=$mtu"
    [[ -z $append ]] || cmdline+=" $append"

    # shellcheck disable=SC2054  # commas inside QEMU option values
    local -a argv=(taskset -c "$GUEST_CPUS" setpriv --pdeathsig KILL
        "$QEMU" -name "vhsw-$name" -nodefaults -no-user-config -display none
        -machine "$GUEST_MACHINE" -accel "$accel" "${cpu[@]}" -smp "$smp" -m "${mem}M"
        -object "memory-backend-memfd,id=mem,size=${mem}M,share=on" -numa node,memdev=mem
        -kernel "$GUEST_KERNEL" -initrd "$GUEST_INITRD" -append "$cmdline"
        -chardev "pipe,id=con0,path=$dir/console" -serial chardev:con0
        -chardev "$chardev" -netdev "$netdev" -device "$dev"
        -qmp "unix:$dir/qmp.sock,server=on,wait=off"
        "${extra[@]}")
    printf '%q ' "${argv[@]}" > "$dir/cmdline"; echo >> "$dir/cmdline"
    local fd
    # Read-write: never blocks, and QEMU (which opens console.in O_RDWR too) never sees EOF.
    exec {fd}<>"$dir/console.in"
    (
        guest_close_fds
        declare -F tp_close_fds > /dev/null && tp_close_fds
        exec {fd}>&-
        cd "$dir" && exec "${argv[@]}" < /dev/null > "$dir/qemu.log" 2>&1
    ) &
    local pid=$!
    _G_PID[$name]=$pid
    _G_FD[$name]=$fd
    _G_DIR[$name]=$dir
    _G_IP[$name]=$ip
    _G_MAC[$name]=$mac
    _G_SOCK[$name]=$sock
    _G_OFF[$name]=0
    _G_BOOT_MS[$name]=""
    _G_READY_MS[$name]=""
    _G_ORDER+=("$name")
    echo "$pid" > "$dir/pid"
    _G_T0[$name]=$(_tp_now_us)
}

_guest_sock_or_dead() { [[ -S ${_G_SOCK[$1]} ]] || ! _guest_alive "$1"; }

# guest_wait_socket NAME [TIMEOUT=30]: (--server guests) wait until QEMU listens on SOCK.
guest_wait_socket() {
    _guest_need "$1"
    wait_until "${2:-30}" _guest_sock_or_dead "$1" || guest_fail "$1" "no socket ${_G_SOCK[$1]} after ${2:-30}s"
    _guest_alive "$1" || guest_fail "$1" "QEMU exited"
}

# _guest_banner_or_dead NAME: the shell banner appeared after _G_OFF, or QEMU died.
_guest_banner_or_dead() {
    ! _guest_alive "$1" ||
        tail -c "+$(( ${_G_OFF[$1]} + 1 ))" -- "${_G_DIR[$1]}/console.out" | grep -qF "vhsw-guest: ready"
}

_guest_link_up() {
    local s
    s=$(guest_cmd "$1" "cat /sys/class/net/eth0/operstate" 10) || return 1
    [[ $s == up ]]
}

# guest_wait_ready NAME [--no-link]: wait until the shell answers (and eth0 is up).
guest_wait_ready() {
    local name=$1 link=1 now
    [[ ${2:-} == --no-link ]] && link=0
    _guest_need "$name"
    if ! wait_until "$GUEST_BOOT_TIMEOUT" _guest_banner_or_dead "$name"; then
        if grep -q "waiting for connection" "${_G_DIR[$name]}/qemu.log" 2>/dev/null; then
            guest_fail "$name" "no shell within ${GUEST_BOOT_TIMEOUT}s: QEMU (--server) is still" \
                "waiting for vhswd to connect to ${_G_SOCK[$name]} (vhswctl port add ... --client)"
        fi
        guest_fail "$name" "no shell within ${GUEST_BOOT_TIMEOUT}s"
    fi
    _guest_alive "$name" || guest_fail "$name" "QEMU exited during boot"
    now=$(_tp_now_us)
    _G_BOOT_MS[$name]=$(( (now - ${_G_T0[$name]}) / 1000 ))
    guest_cmd "$name" true 30 > /dev/null || guest_fail "$name" "the shell does not answer"
    if (( link )); then
        wait_until "$GUEST_LINK_TIMEOUT" _guest_link_up "$name" ||
            guest_fail "$name" "eth0 not up within ${GUEST_LINK_TIMEOUT}s: $(guest_cmd "$name" 'ip -o link show eth0' 10 || true)"
    fi
    now=$(_tp_now_us)
    _G_READY_MS[$name]=$(( (now - ${_G_T0[$name]}) / 1000 ))
    echo "${_G_BOOT_MS[$name]} ${_G_READY_MS[$name]}" > "${_G_DIR[$name]}/boot_ms"
}

# guest_start NAME SOCK MAC IP [OPTIONS]: launch and wait until ready.
guest_start() {
    guest_launch "$@"
    guest_wait_ready "$1"
}

# guest_send_raw NAME TEXT: write TEXT and a newline to the console, no wait.
guest_send_raw() {
    _guest_need "$1"
    printf '%s\n' "$2" >&"${_G_FD[$1]}"
}

# guest_cmd NAME CMD [TIMEOUT]: run CMD in the guest shell; print its output, return its status.
guest_cmd() {
    local name=$1 cmd=$2 timeout=${3:-$GUEST_CMD_TIMEOUT}
    _guest_need "$name"
    _guest_alive "$name" || guest_fail "$name" "guest_cmd '$cmd': QEMU is not running"
    _G_SEQ=$((_G_SEQ + 1))
    # Unique also in $(...) subshells, whose _G_SEQ update is lost.
    local nonce="${BASHPID}x${EPOCHREALTIME//[.,]/}x$_G_SEQ"
    local logf=${_G_DIR[$name]}/console.out off line t deadline out rc
    off=$(stat -c %s -- "$logf")
    printf -v line 'printf "@B%%s@\\n" %s; { %s\n} </dev/null; printf "@E%%s:%%d@\\n" %s $?\n' \
        "$nonce" "$cmd" "$nonce"
    printf '%s' "$line" >&"${_G_FD[$name]}"
    t=${EPOCHREALTIME//[.,]/}
    deadline=$(( 10#$t + timeout * 1000000 ))
    until tail -c "+$(( off + 1 ))" -- "$logf" | grep -qF -- "@E$nonce:"; do
        _guest_alive "$name" || guest_fail "$name" "QEMU exited while running '$cmd'"
        t=${EPOCHREALTIME//[.,]/}
        if (( 10#$t >= deadline )); then
            printf '\003' >&"${_G_FD[$name]}"    # interrupt it (SIGINT to the foreground job)
            log "[guest $name] '$cmd' did not complete within ${timeout}s (interrupted)"
            return 124
        fi
        sleep "$GUEST_POLL"
    done
    out=$(tail -c "+$(( off + 1 ))" -- "$logf" | tr -d '\r')
    rc=${out##*"@E$nonce:"}; rc=${rc%%@*}
    awk -v b="@B$nonce@" -v e="@E$nonce:" '
        !on { if (index($0, b)) on = 1; next }
        { i = index($0, e); if (i) { if (i > 1) print substr($0, 1, i - 1); exit } print }' <<<"$out"
    [[ $rc =~ ^[0-9]+$ ]] || guest_fail "$name" "cannot parse the exit status of '$cmd'"
    return "$rc"
}

# guest_ping NAME IP [COUNT=3] [DEADLINE=20]: ping IP from NAME; prints ping's output.
guest_ping() {
    local c=${3:-3} w=${4:-20}
    guest_cmd "$1" "ping -c $c -w $w $2" $(( w + 30 ))
}

# guest_nc_listen NAME PORT FILE: in the background, receive one TCP
# connection on PORT into FILE (busybox nc -l); returns once it listens.
# Its stdin is a FIFO that never ends: busybox nc half-closes when its stdin
# ends, and a sending busybox nc exits as soon as its peer half-closes,
# i.e. before it sent everything.
guest_nc_listen() {
    local name=$1 port=$2 file=$3
    guest_cmd "$name" "rm -f /tmp/nc-$port.in; mkfifo /tmp/nc-$port.in
nc -l -p $port <> /tmp/nc-$port.in > $file & echo \$! > /tmp/nc-$port.pid" 10 > /dev/null ||
        guest_fail "$name" "cannot start nc -l -p $port"
    wait_until 20 guest_cmd "$name" "netstat -ltn | grep -q ':$port '" ||
        guest_fail "$name" "nc -l -p $port does not listen"
}

# guest_nc_wait NAME PORT [TIMEOUT=30]: wait until the guest_nc_listen on PORT got its connection's EOF.
guest_nc_wait() {
    wait_until "${3:-30}" guest_cmd "$1" "! kill -0 \$(cat /tmp/nc-$2.pid) 2>/dev/null" 10 ||
        guest_fail "$1" "nc -l -p $2 still running after ${3:-30}s"
}

# guest_stat NAME COUNTER [IF=eth0]: one interface counter of the guest.
guest_stat() {
    local v
    v=$(guest_cmd "$1" "cat /sys/class/net/${3:-eth0}/statistics/$2" 10) ||
        guest_fail "$1" "cannot read counter $2"
    printf '%s\n' "$v"
}

# guest_queues NAME: number of RX queues of the guest's eth0.
guest_queues() {
    guest_cmd "$1" "ls -d /sys/class/net/eth0/queues/rx-* | wc -l" 10
}

# guest_reboot NAME: reboot from inside the guest; wait until ready again (boot/ready ms restart).
guest_reboot() {
    local name=$1
    _guest_need "$name"
    _guest_alive "$name" || guest_fail "$name" "guest_reboot: QEMU is not running"
    _G_OFF[$name]=$(stat -c %s -- "${_G_DIR[$name]}/console.out")
    _G_T0[$name]=$(_tp_now_us)
    guest_send_raw "$name" "reboot -f"
    guest_wait_ready "$name"
}

# _guest_reap NAME: reap a dead guest and close its console fd.
_guest_reap() {
    local name=$1 pid=${_G_PID[$1]:-} fd=${_G_FD[$1]:-}
    [[ -n $pid ]] && { wait "$pid" 2>/dev/null || true; }
    [[ -n $fd ]] && { exec {fd}>&- || true; }
    _G_PID[$name]=""
    _G_FD[$name]=""
}

# guest_kill NAME: SIGKILL QEMU (simulated crash) and reap it.
guest_kill() {
    _guest_need "$1"
    proc_kill "${_G_PID[$1]:-}" "QEMU of guest $1"
    _guest_reap "$1"
}

# guest_stop NAME: poweroff from inside; SIGKILL after $GUEST_STOP_TIMEOUT s. Returns 1 if it had to kill.
guest_stop() {
    local name=$1 pid=${_G_PID[$1]:-} rc=0
    _guest_need "$name"
    [[ -n $pid ]] || return 0
    proc_quit "$pid" "${_G_FD[$name]}" "poweroff -f" "$GUEST_STOP_TIMEOUT" "guest $name" || rc=1
    _guest_reap "$name"
    return $rc
}

# guest_stop_all: stop every running guest, newest first (a CLEANUP_FN for vhsw_test_init).
guest_stop_all() {
    local i name rc=0
    for (( i = ${#_G_ORDER[@]} - 1; i >= 0; i-- )); do
        name=${_G_ORDER[$i]}
        [[ -n ${_G_PID[$name]:-} ]] || continue
        GUEST_STOP_TIMEOUT=${GUEST_CLEANUP_STOP_TIMEOUT:-10} guest_stop "$name" || rc=1
    done
    return $rc
}

# guest_kill_all: SIGKILL every running guest.
guest_kill_all() {
    local name
    for name in "${_G_ORDER[@]}"; do
        [[ -n ${_G_PID[$name]:-} ]] && guest_kill "$name"
    done
    return 0
}

# guest_qmp NAME CMD [ARGS-JSON]: run one QMP command on NAME's QEMU; prints the return value.
guest_qmp() {
    _guest_need "$1"
    python3 "$GUEST_TOP/tests/guest/qmp.py" "${_G_DIR[$1]}/qmp.sock" "${@:2}"
}

# guest_migrate SRC DST [CAP...]: live-migrate SRC into DST (see the header).
guest_migrate() {
    local src=$1 dst=$2 caps="" c out rc=0
    shift 2
    _guest_need "$src"; _guest_need "$dst"
    for c in "$@"; do caps+="${caps:+,}{\"capability\": \"$c\", \"state\": true}"; done
    if [[ -n $caps ]]; then
        guest_qmp "$dst" migrate-set-capabilities "{\"capabilities\": [$caps]}" > /dev/null ||
            guest_fail "$dst" "migrate-set-capabilities $* refused"
        guest_qmp "$src" migrate-set-capabilities "{\"capabilities\": [$caps]}" > /dev/null ||
            guest_fail "$src" "migrate-set-capabilities $* refused"
    fi
    guest_qmp "$src" migrate "{\"uri\": \"unix:${_G_DIR[$dst]}/migrate.sock\"}" > /dev/null ||
        guest_fail "$src" "migrate refused"
    if [[ " $* " == *" postcopy-ram "* ]]; then
        guest_qmp "$src" migrate-start-postcopy > /dev/null ||
            guest_fail "$src" "migrate-start-postcopy refused"
    fi
    out=$(python3 "$GUEST_TOP/tests/guest/qmp.py" "${_G_DIR[$src]}/qmp.sock" --wait-migration \
        "$GUEST_MIGRATE_TIMEOUT") || rc=$?
    (( rc == 0 )) || guest_fail "$src" "migration to $dst did not complete (rc $rc): $out"
    printf '%s\n' "$out"
}

_guest_dead() { ! _guest_alive "$1"; }

# guest_quit NAME: QMP quit, bounded wait, then SIGKILL; reaps it.
guest_quit() {
    local name=$1
    _guest_need "$name"
    [[ -n ${_G_PID[$name]:-} ]] || return 0
    guest_qmp "$name" quit > /dev/null 2>&1 || true
    wait_until "$GUEST_STOP_TIMEOUT" _guest_dead "$name" ||
        proc_kill "${_G_PID[$name]}" "QEMU of guest $name"
    _guest_reap "$name"
}

declare -g _G_OUT_NS="" _G_OUT_UP=""

# guest_outside NS UP PEER ADDR: the namespace behind the uplink (see the header).
guest_outside() {
    local ns=$1 up=$2 peer=$3 addr=$4
    _G_OUT_NS=$ns _G_OUT_UP=$up
    ip netns add "$ns"
    ip link add "$up" type veth peer name "$peer"
    ip link set "$peer" netns "$ns"
    sysctl -qw "net.ipv6.conf.$up.disable_ipv6=1"
    ip link set "$up" up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip -n "$ns" link set "$peer" up
    ip -n "$ns" addr add "$addr" dev "$peer"
}

# guest_outside_cleanup: remove what guest_outside made (a CLEANUP_FN).
guest_outside_cleanup() {
    [[ -z $_G_OUT_NS ]] || ip netns del "$_G_OUT_NS" 2>/dev/null
    [[ -z $_G_OUT_UP ]] || ip link del "$_G_OUT_UP" 2>/dev/null
    return 0
}
