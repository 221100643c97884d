#!/usr/bin/env bash
# The Debian package, end to end (issue 14):
#  - builds vhsw_*.deb with `dpkg-buildpackage -us -uc -b` from a copy of
#    the working tree (build/ is not touched) and times it;
#  - installs it on this machine (apt-get, dependencies from Debian) and
#    checks where its files are, that /etc/default/vhswd is a conffile, that
#    the three man pages render without warnings, that the bash completion
#    loads and completes (command words, sub-words, options, port names),
#    and that `systemd-analyze verify` accepts the installed unit;
#  - starts the service under a real systemd: PID 1 of these machines is not
#    systemd, so it boots the host's own systemd 252 as PID 1 of a podman
#    container (runc, --systemd=always, the host's /usr read-only, a copy
#    of /etc, the host's /var/lib/vhsw bind-mounted as the StateDirectory)
#    and runs `systemctl start vhswd` there: Type=notify, so this returns
#    only once vhswd sent READY=1; the sandboxing, RuntimeDirectory and
#    StateDirectory are systemd's own.  On a host whose PID 1 is systemd the
#    host's systemctl is used instead;
#  - runs the demo's steps (examples/demo.sh: two dpdk-testpmd "containers"
#    exchanging frames through two vhost-user ports) against the service,
#    with the installed vhswctl, through /proc/<container>/root; checks the
#    watchdog pings (WATCHDOG=1) and the journal;
#  - restarts it (what an upgrade does): the ports come back from the state
#    file and /run/vhsw stays the same directory;
#  - stops the service (SIGTERM: exit status 0, /run/vhsw and DPDK's
#    runtime files gone), purges the package and checks that nothing is
#    left: no file it installed, no /var/lib/vhsw, no unit links.
# Cleanup on failure too: the container removed, the package purged, a
# /var/lib/vhsw that existed before the test put back.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

STATE=/var/lib/vhsw
PKG_INSTALLED=0 CNAME="" STATE_SAVED=""
pkg_cleanup() {
    [[ -n ${TEST_TMP:-} ]] || return 0
    if [[ -n $CNAME ]]; then
        pm rm -f -t 0 "$CNAME" > /dev/null 2>&1
    fi
    # podman's overlay driver keeps its home mounted.
    if grep -q " $TEST_TMP/storage/overlay " /proc/mounts; then
        umount "$TEST_TMP/storage/overlay"
    fi
    if (( PKG_INSTALLED )); then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq vhsw > /dev/null 2>&1 ||
            dpkg --purge vhsw > /dev/null 2>&1
    fi
    if [[ -n $STATE_SAVED ]]; then
        rm -rf "$STATE"
        mv "$STATE_SAVED" "$STATE"
    fi
    return 0
}

[[ $(id -u) -eq 0 ]] || die "run as root (installs a package)"
if dpkg-query -W -f='${Status}' vhsw 2>/dev/null | grep -q "ok installed"; then
    die "vhsw is already installed on this machine; this test installs and purges it: apt-get purge vhsw first"
fi
for t in dpkg-buildpackage dh podman systemd-analyze groff help2man; do
    command -v "$t" > /dev/null || die "$t is missing: run tests/setup.sh (vhsw_install_deps)"
done
vhsw_test_init package pkg_cleanup
export CONTAINERS_CONF=$TEST_TMP/containers.conf
pm() { podman --root "$TEST_TMP/storage" --runroot "$TEST_TMP/runroot" "$@"; }

# A state directory from an earlier run of vhswd on its defaults (the
# demo) is not the package's: kept aside, put back at the end.
if [[ -e $STATE ]]; then
    STATE_SAVED=$TEST_TMP/state.saved
    mv "$STATE" "$STATE_SAVED"
fi
run_vhsw_existed=0
[[ -e /run/vhsw ]] && run_vhsw_existed=1

# --- build ------------------------------------------------------------------
# The working tree as it is (tracked and new files, not what .gitignore
# names), so that the package holds what the other tests test.
# Without git (a tarball of the sources): everything but the build and
# test-output directories.
mkdir -p "$TEST_TMP/pkg/src"
if git -C "$TOP" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
    git -C "$TOP" ls-files -z --cached --others --exclude-standard |
        (cd "$TOP" && tar --null --ignore-failed-read -T - -cf - 2>/dev/null)
else
    tar -C "$TOP" --exclude='./build*' --exclude=./tests/out -cf - .
fi | tar -xf - -C "$TEST_TMP/pkg/src"
t0=$SECONDS
(cd "$TEST_TMP/pkg/src" && dpkg-buildpackage -us -uc -b) > "$TEST_TMP/pkg/build.log" 2>&1 ||
    { tail -n 40 "$TEST_TMP/pkg/build.log" >&2; die "dpkg-buildpackage failed (log above)"; }
log "package built in $((SECONDS - t0)) s"
debs=("$TEST_TMP"/pkg/vhsw_*.deb)
[[ -f ${debs[0]} ]] || die "dpkg-buildpackage made no vhsw_*.deb"
DEB=${debs[0]}
log "built $(basename "$DEB")"

# --- install ----------------------------------------------------------------
PKG_INSTALLED=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$DEB" > "$TEST_TMP/pkg/install.log" 2>&1 ||
    { cat "$TEST_TMP/pkg/install.log" >&2; die "apt-get install $DEB failed"; }
check "package installed" "install ok installed" "$(dpkg-query -W -f='${Status}' vhsw)"
dpkg -L vhsw > "$TEST_TMP/pkg/files"
for f in /usr/sbin/vhswd /usr/bin/vhswctl /usr/lib/cni/vhsw-cni \
    /lib/systemd/system/vhswd.service /etc/default/vhswd \
    /usr/share/man/man8/vhswd.8.gz /usr/share/man/man8/vhswctl.8.gz \
    /usr/share/man/man8/vhsw-cni.8.gz \
    /usr/share/bash-completion/completions/vhswctl; do
    grep -qx -- "$f" "$TEST_TMP/pkg/files" || die "the package does not hold $f"
    [[ -f $f ]] || die "$f is not installed"
done
log "ok: binaries, unit, defaults, man pages and completion where they belong"
check "vhswd --version is the package's" "vhswd $(dpkg-query -W -f='${Version}' vhsw)" \
    "$(/usr/sbin/vhswd --version)"
check "/etc/default/vhswd is a conffile" 1 \
    "$(dpkg-query -W -f='${Conffiles}\n' vhsw | grep -c ' /etc/default/vhswd ')"

# Man pages: render without groff warnings, and say what they must.
for page in vhswd vhswctl vhsw-cni; do
    src=/usr/share/man/man8/$page.8.gz
    warn=$(zcat "$src" | groff -man -Tutf8 -ww -z 2>&1) || die "groff fails on $src"
    [[ -z $warn ]] || die "groff warns on $src: $warn"
    MANWIDTH=100 man -l -Tutf8 "$src" 2>/dev/null | col -bx | tr -s " " > "$TEST_TMP/pkg/$page.txt"
done
for want in "port add NAME vhost-user SOCKET" "port add NAME kernel" "fdb set aging SECONDS" \
    "config save [FILE]" "EXIT STATUS" "VHSW_CTL" "--queues N"; do
    grep -qF -- "$want" "$TEST_TMP/pkg/vhswctl.txt" || die "vhswctl(8) lacks '$want'"
done
# Every command of the table has its entry (the completion script holds
# the table's methods).
methods=$(bash -c 'source /usr/share/bash-completion/completions/vhswctl; echo "$_vhswctl_methods"')
[[ $methods == *port/add* ]] || die "the completion script lists no methods: '$methods'"
for m in $methods; do
    grep -qE -- "^ *${m//\// }( |$)" "$TEST_TMP/pkg/vhswctl.txt" || die "vhswctl(8) lacks the command '${m//\// }'"
done
for want in "--state-dir" "--ctl PATH" "journalctl"; do
    grep -qF -- "$want" "$TEST_TMP/pkg/vhswd.txt" || die "vhswd(8) lacks '$want'"
done
grep -qF "socketDir" "$TEST_TMP/pkg/vhsw-cni.txt" || die "vhsw-cni(8) lacks socketDir"
log "ok: the three man pages render and cover their commands and options"

# Bash completion, as bash-completion loads it: COMP_WORDS up to the word
# being completed.
complete_words() { # WORD... (the last one is being completed): prints COMPREPLY
    bash -c 'source /usr/share/bash-completion/completions/vhswctl
        complete -p vhswctl > /dev/null || exit 1
        COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        _vhswctl; printf "%s\n" "${COMPREPLY[*]}"' completion "$@"
}
check "completes 'vhswctl po'" "port" "$(complete_words vhswctl po)"
check "completes 'vhswctl port a'" "add" "$(complete_words vhswctl port a)"
check "completes the port kinds" "vhost-user kernel" "$(complete_words vhswctl port add c1 '')"
check "completes a kind's options" "--netns" "$(complete_words vhswctl port add c1 kernel --ne)"
check "completes a value list" "busy adaptive" "$(complete_words vhswctl dataplane set poll-mode '')"

# The unit, checked offline by systemd.
out=$(systemd-analyze verify /lib/systemd/system/vhswd.service 2>&1) ||
    die "systemd-analyze verify vhswd.service: $out"
[[ -z $out ]] || die "systemd-analyze verify warns: $out"
log "ok: systemd-analyze verify accepts the installed unit"

# --- the service under systemd -----------------------------------------------
if [[ -d /run/systemd/system ]]; then
    # systemd is PID 1 here: the host's own.
    ROOT=""
    sd() { "$@"; }
else
    # systemd as PID 1 of a container: the host's /usr (with the package
    # installed) read-only, a copy of /etc (the unit's defaults, the
    # package's enable link), /var/lib/vhsw the host's.  Booted to
    # basic.target: nothing of the host's multi-user services starts.
    R=$TEST_TMP/rootfs
    mkdir -p "$R"/{usr,proc,sys,dev,tmp,run,var/lib/vhsw,var/log,var/tmp,root}
    for d in bin sbin lib lib64; do ln -s "usr/$d" "$R/$d"; done
    cp -a /etc "$R/etc"
    : > "$R/etc/machine-id"
    mkdir -m 0755 "$STATE" # StateDirectoryMode=0700 must fix it
    printf '%s\n' '[containers]' \
        'default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]' \
        '[network]' 'network_backend = "cni"' \
        '[engine]' 'runtime = "runc"' > "$CONTAINERS_CONF"
    CNAME=vhsw-pkg-$$
    pm run -d --name "$CNAME" --privileged --network none --systemd=always \
        -v /usr:/usr:ro -v "$STATE:$STATE" --rootfs "$R" \
        /lib/systemd/systemd --unit=basic.target > /dev/null ||
        die "podman cannot start systemd in a container"
    CPID=$(pm inspect -f '{{.State.Pid}}' "$CNAME")
    ROOT=/proc/$CPID/root
    sd() { pm exec "$CNAME" "$@"; }
    _sd_booted() { [[ $(sd systemctl is-system-running 2>/dev/null) =~ ^(running|degraded)$ ]]; }
    wait_until 60 _sd_booted || die "systemd in the container did not finish booting"
    log "systemd $(sd systemctl --version | head -n 1 | cut -d' ' -f2) is PID 1 of container $CNAME (host pid $CPID)"
fi
prop() { sd systemctl show -P "$1" vhswd; }
show_journal() { sd journalctl -u vhswd --no-pager -n 40 >&2 || true; }

# Type=notify: returns once vhswd sent READY=1 (control socket answering,
# state restored); a vhswd that never does fails after TimeoutStartSec.
t0=$SECONDS
sd systemctl start vhswd || { show_journal; die "systemctl start vhswd failed (no READY=1?)"; }
log "vhswd.service ready in $((SECONDS - t0)) s"
check "service active" "active running" "$(prop ActiveState) $(prop SubState)"
check "Type=notify" "notify" "$(prop Type)"
MAINPID=$(prop MainPID)
check "/run/vhsw made by RuntimeDirectory" "755" "$(stat -c %a "$ROOT/run/vhsw")"
check "/var/lib/vhsw made by StateDirectory" "700" "$(stat -c %a "$STATE")"
_journal_has_start() { sd journalctl -u vhswd --no-pager | grep -q "vhswd.*running"; }
wait_until 10 _journal_has_start ||
    { show_journal; die "vhswd's start-up line is not in the journal"; }
log "ok: vhswd's log is in the journal"

# --- the demo against the service ------------------------------------------
VHSWCTL=/usr/bin/vhswctl
VHSW_CTL_SOCK=$ROOT/run/vhsw/vhswd.sock
check "vhswctl reaches the service" 0 "$(ctl version > /dev/null; echo $?)"
ctl port add c1 vhost-user /run/vhsw/pkg-c1.sock --mac 52:54:00:00:00:01 > /dev/null
ctl port add c2 vhost-user /run/vhsw/pkg-c2.sock > /dev/null
tp_start c1 "$ROOT/run/vhsw/pkg-c1.sock" 52:54:00:00:00:01 "" --eth-peer=0,52:54:00:00:00:02
tp_start c2 "$ROOT/run/vhsw/pkg-c2.sock" 52:54:00:00:00:02 "" --eth-peer=0,52:54:00:00:00:01
wait_port c1 up
wait_port c2 up
tp_rxonly c1
tp_rxonly c2
tp_send c2 8 > /dev/null
tp_wait_rx c1 256
tp_send c1 4 > /dev/null
tp_wait_rx c2 128
check "c1 received from c2 through the service" 256 "$(tp_rx c1)"
check "c2 received from c1 through the service" 128 "$(tp_rx c2)"
check "port list shows both ports" "c1 c2" "$(jctl '[.[].name] | sort | join(" ")' port list)"
check "fdb show learned c2" c2 "$(fdb_port 52:54:00:00:00:02)"
ctl stats > /dev/null
check "completion offers the service's ports" "c1 c2" \
    "$(complete_words vhswctl --ctl "$VHSW_CTL_SOCK" port show '')"

# The watchdog: systemd notes each WATCHDOG=1 (vhswd sends one every
# WatchdogSec/2).
wd0=$(prop WatchdogTimestampMonotonic)
_wd_pinged() { [[ $(prop WatchdogTimestampMonotonic) != "$wd0" ]]; }
wait_until 40 _wd_pinged || { show_journal; die "no WATCHDOG=1 within 40 s (WatchdogSec=$(prop WatchdogUSec))"; }
check "still the same vhswd" "$MAINPID" "$(prop MainPID)"
log "ok: the watchdog is pinged"

# --- restart (what an upgrade does): the ports come back from the state
# file, /run/vhsw is the same directory (containers hold bind mounts of it).
tp_stop_all
ino=$(stat -c %i "$ROOT/run/vhsw")
sd systemctl restart vhswd || { show_journal; die "systemctl restart vhswd failed"; }
[[ $(prop MainPID) != "$MAINPID" ]] || die "systemctl restart did not restart vhswd"
check "the ports restored after a restart" "c1 c2" "$(jctl '[.[].name] | sort | join(" ")' port list)"
check "/run/vhsw kept across the restart" "$ino" "$(stat -c %i "$ROOT/run/vhsw")"

# --- stop: SIGTERM, exit 0, nothing left in /run -----------------------------
sd systemctl stop vhswd || { show_journal; die "systemctl stop vhswd failed"; }
check "stopped cleanly" "success 0" "$(prop Result) $(prop ExecMainStatus)"
[[ ! -e $ROOT/run/vhsw ]] || die "/run/vhsw is left after the service stopped: $(ls -A "$ROOT/run/vhsw")"
left=$(ls -d "$ROOT"/run/dpdk/vhsw-* 2>/dev/null || true)
[[ -z $left ]] || die "DPDK runtime files left after SIGTERM: $left"
[[ -f $STATE/state.json ]] && log "the state file $STATE/state.json was written" || true
log "ok: stopped with status 0; /run/vhsw and /run/dpdk/vhsw-* gone"
if [[ -n $CNAME ]]; then
    pm rm -f -t 0 "$CNAME" > /dev/null
    CNAME=""
fi

# --- purge: nothing left ----------------------------------------------------
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq vhsw > "$TEST_TMP/pkg/purge.log" 2>&1 ||
    { cat "$TEST_TMP/pkg/purge.log" >&2; die "apt-get purge vhsw failed"; }
PKG_INSTALLED=0
[[ -z $(dpkg-query -W -f='${Status}' vhsw 2>/dev/null | grep -v not-installed) ]] ||
    die "vhsw is still known to dpkg: $(dpkg-query -W -f='${Status}' vhsw)"
while read -r f; do
    [[ -d $f ]] && continue # shared directories (/usr/bin, the /lib link ...)
    [[ ! -e $f && ! -L $f ]] || die "$f is left after purge"
done < "$TEST_TMP/pkg/files"
for d in /usr/share/doc/vhsw "$STATE" /etc/systemd/system/multi-user.target.wants/vhswd.service; do
    [[ ! -e $d ]] || die "$d is left after purge"
done
left=$(ls /var/lib/systemd/deb-systemd-helper-enabled 2>/dev/null | grep vhswd || true)
[[ -z $left ]] || die "deb-systemd-helper state left after purge: $left"
if (( ! run_vhsw_existed )) && [[ -e /run/vhsw ]]; then
    die "/run/vhsw is left after purge"
fi
log "ok: purge left nothing behind"
log "PASS"
