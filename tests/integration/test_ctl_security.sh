#!/usr/bin/env bash
# The management socket as a trust boundary (issue 11): socket modes that
# do not depend on the umask, --ctl-group, the socket/state directory
# policy for port add (server and client mode), --config and config save
# (.. and symlink escapes too), and a local client that cannot lock the
# others out: 1000+ idle connections and half-written requests, then
# vhswctl still answers; idle clients are closed after the timeout;
# an oversized request still gets a JSON-RPC error.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

FLOOD_PID=""
OTHER=""
flood_cleanup() {
    if [[ -n $FLOOD_PID ]]; then
        kill -KILL "$FLOOD_PID" 2>/dev/null
        wait "$FLOOD_PID" 2>/dev/null
    fi
    [[ -n $OTHER ]] && rm -rf -- "$OTHER"
    rm -f /etc/vhsw-ctl-security-test.json
    return 0
}
vhsw_test_init ctl-security flood_cleanup
# A directory outside TEST_TMP (which is a socket directory: the control
# socket lives there).
OTHER=$(mktemp -d /tmp/vhsw-it-other.XXXXXX)

# rc CMD...: print the exit status of CMD (stdout/stderr to files).
rc() { local r=0; "$@" > "$TEST_TMP/out" 2> "$TEST_TMP/err" || r=$?; echo $r; }
err_has() { grep -qF -- "$1" "$TEST_TMP/err" || { cat "$TEST_TMP/err" >&2; die "stderr lacks '$1'"; }; }
mode_of() { stat -c %a "$1"; }

# --- modes whatever the umask ----------------------------------------------
declare -A vmode=()
for um in 077 000; do
    umask "$um"
    vhswd_start
    umask 022
    check "control socket mode under umask $um" 660 "$(mode_of "$VHSW_CTL_SOCK")"
    ctl port add m vhost-user "$TEST_TMP/m.sock" > /dev/null
    vmode[$um]=$(mode_of "$TEST_TMP/m.sock")
    (( (8#${vmode[$um]} & 8#007) == 0 )) ||
        die "vhost-user socket is world-accessible (${vmode[$um]}) under umask $um"
    vhswd_stop
done
check "vhost-user socket mode does not depend on the umask" "${vmode[077]}" "${vmode[000]}"

# --- --ctl-group --------------------------------------------------------------
grp=$(getent group nogroup | cut -d: -f1,3)
[[ -n $grp ]] || die "no group 'nogroup' on this host"
vhswd_start --ctl-group "${grp%%:*}"
check "--ctl-group by name" "${grp#*:}" "$(stat -c %g "$VHSW_CTL_SOCK")"
check "--ctl-group keeps mode 0660" 660 "$(mode_of "$VHSW_CTL_SOCK")"
vhswd_stop
vhswd_start --ctl-group 4242
check "--ctl-group by number" 4242 "$(stat -c %g "$VHSW_CTL_SOCK")"
vhswd_stop
r=$(rc "$VHSWD" --ctl "$TEST_TMP/g.sock" --lcores "$VHSW_LCORES" --state-dir "$TEST_TMP/gstate" --ctl-group no-such-group-vhsw)
(( r != 0 )) || die "unknown --ctl-group accepted"
check "unknown group: one line" 1 "$(wc -l < "$TEST_TMP/err")"
err_has "--ctl-group no-such-group-vhsw: no such group"

# --- socket directories ---------------------------------------------------
STATE=$OTHER/state
vhswd_start --state-dir "$STATE"
check "port add outside the socket dirs" 1 "$(rc ctl port add x1 vhost-user /etc/x.sock)"
err_has "socket path /etc/x.sock is outside the socket directories ("
err_has "$TEST_TMP"
err_has "/run/vhsw"
err_has "add --socket-dir"
check "client mode outside" 1 "$(rc ctl port add x2 vhost-user "$OTHER/x.sock" --client)"
err_has "is outside the socket directories"
check ".. escape" 1 "$(rc ctl port add x3 vhost-user "$TEST_TMP/../$(basename "$OTHER")/x.sock")"
err_has "is outside the socket directories"
ln -s "$OTHER" "$TEST_TMP/escape"
check "symlinked parent escape" 1 "$(rc ctl port add x4 vhost-user "$TEST_TMP/escape/x.sock")"
err_has "(really $OTHER/x.sock)"
check ".. through a missing directory" 1 "$(rc ctl port add x5 vhost-user "$TEST_TMP/nope/../../x.sock")"
check "relative path" 1 "$(rc ctl port add x6 vhost-user x.sock)"
err_has "is not an absolute path"
# (vhswd keeps its state file in $STATE, created at start.)
check "nothing was created outside" "" "$(ls "$OTHER" | grep -vx state || true)"
check "no port was added" 0 "$(jctl length port list)"
mkdir "$TEST_TMP/sub"
check "port add in a subdirectory of a socket dir" 0 "$(rc ctl port add ok vhost-user "$TEST_TMP/sub/ok.sock")"
check "client mode inside" 0 "$(rc ctl port add okc vhost-user "$TEST_TMP/sub/peer.sock" --client)"

# config save: socket dirs and the state dir only.
check "config save /etc refused" 1 "$(rc ctl config save /etc/vhsw-ctl-security-test.json)"
err_has "config file /etc/vhsw-ctl-security-test.json is outside the socket directories"
[[ ! -e /etc/vhsw-ctl-security-test.json ]] || die "config save wrote into /etc"
check "config save through a symlink refused" 1 "$(rc ctl config save "$TEST_TMP/escape/c.json")"
check "config save in a socket dir" 0 "$(rc ctl config save "$TEST_TMP/sub/c.json")"
check "saved config names the ports" "ok okc" "$(jq -r '[.ports[].name] | sort | join(" ")' "$TEST_TMP/sub/c.json")"
check "config save into the state dir" 0 "$(rc ctl config save "$STATE/c.json")"
check "state dir created 0700" 700 "$(mode_of "$STATE")"
ln -s /etc/passwd "$TEST_TMP/sub/link.json"
check "config save onto a symlink refused" 1 "$(rc ctl config save "$TEST_TMP/sub/link.json")"
err_has "is a symbolic link"
vhswd_stop

# --socket-dir replaces /run/vhsw; the control socket's directory stays.
vhswd_start --socket-dir "$OTHER"
check "--socket-dir allows its directory" 0 "$(rc ctl port add o1 vhost-user "$OTHER/o1.sock")"
check "control socket dir still allowed" 0 "$(rc ctl port add o2 vhost-user "$TEST_TMP/o2.sock")"
check "/run/vhsw no longer allowed" 1 "$(rc ctl port add o3 vhost-user /run/vhsw/o3.sock)"
err_has "($OTHER, $TEST_TMP)"
vhswd_stop

# A --config file with a socket outside: one line, exit 1.
echo '{"ports": [{"name": "c", "type": "vhost-user", "socket": "'"$OTHER"'/c.sock"}]}' > "$TEST_TMP/out.json"
check "--config port outside the socket dirs" 1 \
    "$(rc "$VHSWD" --ctl "$TEST_TMP/c.sock" --lcores "$VHSW_LCORES" --state-dir "$TEST_TMP/cstate" --config "$TEST_TMP/out.json")"
check "--config error: one line" 1 "$(wc -l < "$TEST_TMP/err")"
err_has "$TEST_TMP/out.json: ports[0]: port c: socket path $OTHER/c.sock is outside"

# --- a local client cannot lock the others out ------------------------------
vhswd_start
fds0=$(open_fds)
ulimit -n 8192
# 1500 idle connections, 5 of them with half a request; held until killed.
( tp_close_fds; exec python3 - "$VHSW_CTL_SOCK" "$TEST_TMP/flood.ready" <<'PY'
import socket, sys, time
path, ready = sys.argv[1], sys.argv[2]
socks = []
for i in range(1500):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    if i % 300 == 299:
        s.send(b'{"jsonrpc": "2.0", "method": "vers')
    socks.append(s)
open(ready, "w").write("%d\n" % len(socks))
while True:
    time.sleep(3600)
PY
) > "$TEST_TMP/flood.log" 2>&1 &
FLOOD_PID=$!
wait_until 60 test -s "$TEST_TMP/flood.ready" ||
    { cat "$TEST_TMP/flood.log" >&2; die "the flood client did not connect"; }
log "flood: $(cat "$TEST_TMP/flood.ready") connections open"
t0=${EPOCHREALTIME//[.,]/}
check "vhswctl version under the flood" 0 "$(rc ctl version)"
ms=$(( (${EPOCHREALTIME//[.,]/} - t0) / 1000 ))
(( ms < 2000 )) || die "vhswctl version took $ms ms under the flood"
log "ok: answered in $ms ms"
ev=$(jctl .rpc.evictions stats)
(( ev >= 1500 - 128 )) || die "only $ev evictions for 1500 connections over a limit of 128"
log "ok: $ev idle clients evicted"
head -c 70000 /dev/zero | tr '\0' 'x' > "$TEST_TMP/big"
check "oversized request under the flood" -32600 \
    "$( (cat "$TEST_TMP/big"; echo) | nc -U -N "$VHSW_CTL_SOCK" | head -n 1 | jq .error.code)"
# The flood client still holds its ends: vhswd must close its own.
wait_num 30 -eq "$fds0" open_fds ||
    die "vhswd holds $(open_fds) fds, $fds0 before the flood"
log "ok: idle clients closed after the timeout ($fds0 fds)"
to=$(jctl .rpc.timeouts stats)
(( to >= 100 )) || die "only $to idle timeouts"
check "flood client still running (server-side close)" yes "$(_tp_alive "$FLOOD_PID" && echo yes)"
kill -KILL "$FLOOD_PID"; wait "$FLOOD_PID" 2>/dev/null || true; FLOOD_PID=""
check "still serving" 0 "$(rc ctl port list)"
vhswd_stop
echo "test_ctl_security: $CHECKS checks passed"
