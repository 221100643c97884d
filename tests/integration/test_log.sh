#!/usr/bin/env bash
# Issue 15's event log with real peers: each event the issue lists leaves
# its line in vhswd's log (stderr here, so every line has a UTC timestamp),
# `log set` changes what is logged at run time, floods are bounded by the
# rate limits with a note of what was suppressed, and `port show` says how
# many peers a port lost ("disconnects") and why the last one went
# ("last_error").
#
# Peers: testpmd virtio_user clients (c1, c2), vhost_attack.py (a hostile
# front-end on port evil, and a flood of second front-ends on c2), kernel
# ports k1, k2 in this test's namespaces where frames.py sends frames (many
# source MACs for the FDB limits, one MAC from both for moves), and a
# net_af_packet uplink on a veth whose peer is in an "outside" namespace
# (its link goes down and up).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

ID=$$
NS1=vhsw$ID-l1 NS2=vhsw$ID-l2 NS3=vhsw$ID-l3 OUT=vhsw$ID-lo
UP=vl${ID}u PEER=vl${ID}p
FRAMES=$HERE/frames.py
ATTACK=$HERE/vhost_attack.py
PYTHON=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}
M1=52:54:00:15:00:01 M2=52:54:00:15:00:02

net_cleanup() {
    local ns
    for ns in $NS1 $NS2 $NS3 $OUT; do ip netns del "$ns" 2>/dev/null; done
    ip link del "$UP" 2>/dev/null
    return 0
}
vhsw_test_init log net_cleanup

# --- helpers ----------------------------------------------------------------

# log_count ERE: lines of the current vhswd log that match.
log_count() { grep -cE -- "$1" "$(vhswd_log)" || true; }
_log_has() { (( $(log_count "$1") >= ${2:-1} )); }
# wait_log ERE [N]: until the log has N (default 1) matching lines.
wait_log() {
    wait_until 10 _log_has "$1" "${2:-1}" ||
        { tail -n 30 "$(vhswd_log)" >&2; die "vhswd's log has no line matching '$1'"; }
    log "ok: log: $(grep -E -- "$1" "$(vhswd_log)" | tail -n 1 | cut -c1-160)"
}
check_le() {
    CHECKS=$((CHECKS + 1))
    (( $2 <= $3 )) || die "check failed: $1: $2 > $3"
    log "ok: $1 ($2 <= $3)"
}
check_ge() {
    CHECKS=$((CHECKS + 1))
    (( $2 >= $3 )) || die "check failed: $1: $2 < $3"
    log "ok: $1 ($2 >= $3)"
}
ps_key() { jctl ".$2" port show "$1"; }
fdb_stat() { jctl ".fdb.$1" stats; }
kport() {
    ctl port add "$1" kernel --ifname eth0 --netns "/run/netns/$2" "${@:3}" > /dev/null
    wait_port "$1" up
}
fsend() { ip netns exec "$1" "$PYTHON" "$FRAMES" send eth0 raw "${@:2}"; }

# --- set-up -----------------------------------------------------------------

for ns in $NS1 $NS2 $NS3 $OUT; do
    ip netns add "$ns"
    # No IPv6: the stack would send frames of its own.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
done
ip link add "$UP" type veth peer name "$PEER"
ip link set "$PEER" netns "$OUT"
sysctl -qw "net.ipv6.conf.$UP.disable_ipv6=1"
ip link set "$UP" up
ip -n "$OUT" link set "$PEER" up

vhswd_start --uplink "net_af_packet0,iface=$UP" --socket-dir "$TEST_TMP"
wait_port uplink up
LOGF=$(vhswd_log)

# --- modules and levels -----------------------------------------------------

for m in main vhost uplink fdb dp ctl state service; do
    check "log show lists $m at info" info \
        "$(jctl ".modules[] | select(.module == \"$m\") | .level" log show)"
done
out=$(ctl log set nosuch debug 2>&1) && die "log set of an unknown module succeeded"
[[ $out == *"unknown log module 'nosuch'"*"vhost"* ]] || die "unclear error: $out"
out=$(ctl log set vhost loud 2>&1) && die "log set of an unknown level succeeded"
[[ $out == *"unknown log level 'loud'"*"emerg|alert|crit|err|warning|notice|info|debug"* ]] ||
    die "unclear error: $out"
check "a DPDK log type by its full name" "lib.vhost.config: warning (1 log type)" \
    "$(ctl log set lib.vhost.config warning)"

# --- port added, peer connected with its features ---------------------------

ctl port add c1 vhost-user "$TEST_TMP/c1.sock" > /dev/null
wait_log "vhswd: ctl: port c1 added \(vhost-user, socket $TEST_TMP/c1.sock, server\)"
tp_start c1 "$TEST_TMP/c1.sock" $M1
wait_port c1 up
wait_log "vhswd: vhost: port c1: peer connected: 1 queue pair, features 0x[0-9a-f]+ [A-Z0-9_,]*VIRTIO_F_VERSION_1"
# Debug lines (vrings enabled) only once vhost is at debug.
check "no debug line at info" 0 "$(log_count 'port c1: vring [0-9]+ enabled')"
check "log set vhost debug" "vhost: debug (1 log type)" "$(ctl log set vhost debug)"
wait_log "vhswd: ctl: log level of vhost set to debug"
ctl port add c2 vhost-user "$TEST_TMP/c2.sock" > /dev/null
tp_start c2 "$TEST_TMP/c2.sock" $M2
wait_port c2 up
wait_log "vhswd: vhost: port c2: vring 0 enabled"
wait_log "vhswd: vhost: port c2: peer connected"
ctl log set all info > /dev/null
check "all back at info" info "$(jctl '.modules[] | select(.module == "vhost") | .level' log show)"

# --- peer reset: the device stops and runs again on the same connection ----

# What a guest's driver reset does (QEMU: vhost_dev_stop, vhost_dev_start):
# GET_VRING_BASE on both vrings of the running device (librte_vhost calls
# destroy_device) and the vrings set up again (new_device), with
# vhost_attack.py's correct front-end.  It waits for the switch to see each
# step (`port show`), then for the test to close its stdin.
ctl port add rst vhost-user "$TEST_TMP/rst.sock" > /dev/null
cat > "$TEST_TMP/reset.py" <<'EOF'
import argparse, importlib.util, json, subprocess, sys, time
spec = importlib.util.spec_from_file_location("va", sys.argv[1])
va = importlib.util.module_from_spec(spec)
spec.loader.exec_module(va)
args = argparse.Namespace(socket=sys.argv[2], io_timeout=5.0, mac="52:54:00:15:0e:01",
                          peer_mac="52:54:00:15:0e:02", timeout=10, settle=0.2, hold=False,
                          frames=8)
def show():
    out = subprocess.run([sys.argv[3], "--ctl", sys.argv[4], "--json", "port", "show", "rst"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)
def wait(cond):
    deadline = time.monotonic() + 10
    while not cond(show()):
        if time.monotonic() > deadline:
            sys.exit("the switch did not get there: %s" % show())
        time.sleep(0.05)
s = va.Session(args)
s.setup()
s.sync()
wait(lambda p: p["state"] == "up")
for q in (1, 0):
    s.c.call(va.GET_VRING_BASE, va.vstate(q, 0))
wait(lambda p: p["resets"] == 1)
s.setup_vring(0)
s.setup_vring(1)
s.sync()
wait(lambda p: p["state"] == "up")
print("RESET DONE", flush=True)
sys.stdin.read()
s.close()
EOF
mkfifo "$TEST_TMP/rst.in"
"$PYTHON" "$TEST_TMP/reset.py" "$ATTACK" "$TEST_TMP/rst.sock" "$VHSWCTL" "$VHSW_CTL_SOCK" \
    < "$TEST_TMP/rst.in" > "$TEST_TMP/rst.out" 2>&1 &
RST_PID=$!
exec {RST_FD}> "$TEST_TMP/rst.in"
wait_log "vhswd: vhost: port rst: peer reset, the device runs again: 1 queue pair, features 0x[0-9a-f]+ .*VIRTIO_F_VERSION_1"
check "one connected line for rst" 1 "$(log_count 'port rst: peer connected')"
check "rst kept its connection" 0 "$(ps_key rst disconnects)"
exec {RST_FD}>&-
wait "$RST_PID" || { cat "$TEST_TMP/rst.out" >&2; die "the resetting front-end failed"; }
ctl port del rst > /dev/null

# --- peer disconnected ------------------------------------------------------

tp_kill c1
wait_log "vhswd: vhost: port c1: peer disconnected \(the peer closed the connection\)"
wait_str 10 1 ps_key c1 disconnects
check "c1 last_error after a peer that left" null "$(ps_key c1 last_error)"

# --- a peer refused by the message checks ------------------------------------

ctl port add evil vhost-user "$TEST_TMP/evil.sock" > /dev/null
timeout -k 1 20 "$PYTHON" "$ATTACK" --socket "$TEST_TMP/evil.sock" --case mem_fd_pipe \
    --timeout 10 > "$TEST_TMP/attack.out" 2>&1 || true
wait_log "vhswd: vhost: port evil: peer dropped: "
wait_log "vhswd: vhost: port evil: peer disconnected \(peer dropped: "
wait_str 10 1 ps_key evil disconnects
[[ $(ps_key evil last_error) == "peer dropped: "* ]] ||
    die "evil's last_error: $(ps_key evil last_error)"
log "ok: evil last_error: $(ps_key evil last_error)"

# --- a flood of refused peers is bounded ------------------------------------

# 300 second front-ends on c2 (its testpmd holds the socket): each one is
# refused and logged through c2's rate limit (20 lines, then one a second).
before=$(log_count 'port c2: second front-end refused') t0=$SECONDS
"$PYTHON" - "$TEST_TMP/c2.sock" <<'EOF'
import socket, sys
for _ in range(300):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    s.recv(1)  # until the switch closes it
    s.close()
EOF
wait_str 10 300 ps_key c2 refused
secs=$(( SECONDS - t0 + 1 ))
wait_log "vhswd: vhost: [0-9]+ lines suppressed by the rate limit in the last [0-9]+ s \(the last: port c2: second front-end refused"
lines=$(( $(log_count 'port c2: second front-end refused') - before ))
# 20 at once, then one a second (however long the flood took here).
check_le "refusal lines for 300 refused peers in ${secs}s" "$lines" $(( 21 + secs ))
# librte_vhost's own error for each of them: bounded by vhswd's limit on
# DPDK's warnings, with its note.
check_le "DPDK's lines for 300 refused peers in ${secs}s" \
    "$(log_count 'VHOST_CONFIG: .*failed to add vhost user connection')" $(( 21 + 2 * secs ))
wait_log "vhswd: [0-9]+ lines suppressed by the rate limit in the last [0-9]+ s \(the last: VHOST_CONFIG: .*failed to add vhost user connection"
[[ $(ps_key c2 last_error) == "second front-end refused"* ]] || die "c2 last_error: $(ps_key c2 last_error)"
check "c2 is still connected" true "$(ps_key c2 connected)"

# --- uplink link down and up ------------------------------------------------

ip link set "$UP" down
wait_log "vhswd: uplink: port uplink: link down: interface $UP is down or has no carrier"
wait_str 10 down port_state uplink
check "uplink disconnects" 1 "$(ps_key uplink disconnects)"
check "uplink last_error" "link down: interface $UP is down or has no carrier" "$(ps_key uplink last_error)"
ip link set "$UP" up
wait_log "vhswd: uplink: port uplink: link up"
wait_port uplink up

# --- FDB limits --------------------------------------------------------------

kport k1 "$NS1"
kport k2 "$NS2"
kport k3 "$NS3" --max-macs 2
wait_log "vhswd: ctl: port k1 added \(kernel, ifname eth0, netns /run/netns/$NS1\)"
fsend "$NS3" --src 52:54:00:15:20:00 --src-count 5 --count 5
wait_log "vhswd: fdb: port k3 is at its max_macs 2: MAC 52:54:00:15:20:0[0-4] vlan 0 not learned, frames dropped"
ctl fdb set limit 8 > /dev/null
fsend "$NS1" --src 52:54:00:15:10:00 --src-count 20 --count 20
wait_log "vhswd: fdb: the FDB reached its limit of 8 learned entries: learning MAC 52:54:00:15:10:[0-9a-f]{2} vlan 0 on port k1 evicts the oldest entry of port k1"
check "one line for reaching the limit" 1 "$(log_count 'the FDB reached its limit')"
ctl fdb set limit 65536 > /dev/null

# --- MAC moves: each move, the freeze, and a flood bounded -----------------

MV=52:54:00:15:30:01
fsend "$NS1" --src $MV
ip netns exec "$NS1" "$PYTHON" "$FRAMES" flap "$NS1" "$NS2" eth0 --src $MV \
    --count 40 --interval 0.02 --tag flap
wait_log "vhswd: fdb: MAC $MV vlan 0 moved from port k1 to port k2"
wait_log "vhswd: fdb: MAC $MV vlan 0 moved from port k2 to port k1"
wait_log "vhswd: fdb: MAC $MV vlan 0 moved more than 10 times in a second \(last to port k[12]\): frozen on port k1 for 5 s"

# Without damping, 2000 frames alternately from k1 and k2: over a thousand
# moves of one MAC, a few lines ("(N times)" each) whose counts add up to
# every move the FDB made.
ctl fdb set move-limit 0 > /dev/null
MF=52:54:00:15:30:02
fsend "$NS1" --src $MF
moves0=$(fdb_stat moves) rx1=$(port_stat k1 rx_packets) rx2=$(port_stat k2 rx_packets)
ip netns exec "$NS1" "$PYTHON" "$FRAMES" flap "$NS1" "$NS2" eth0 --src $MF --count 2000
wait_num 10 -ge $(( rx1 + 1000 )) port_stat k1 rx_packets || die "k1 did not receive the flap"
wait_num 10 -ge $(( rx2 + 1000 )) port_stat k2 rx_packets || die "k2 did not receive the flap"
check_ge "moves of $MF" $(( $(fdb_stat moves) - moves0 )) 100
_mf_counted() {
    local n
    n=$(grep -E "MAC $MF vlan 0 moved from" "$LOGF" |
        awk '{ n = 1; if ($NF == "times)") n = substr($(NF - 1), 2); s += n } END { print s + 0 }')
    (( ${n:-0} == $(fdb_stat moves) - moves0 ))
}
wait_until 10 _mf_counted || die "the move lines of $MF do not add up to $(( $(fdb_stat moves) - moves0 )) moves"
log "ok: $(( $(fdb_stat moves) - moves0 )) moves of $MF in $(log_count "MAC $MF vlan 0 moved from") lines"
check_le "move lines for $(( $(fdb_stat moves) - moves0 )) moves" \
    "$(log_count "MAC $MF vlan 0 moved from")" 20
ctl fdb set move-limit 10 > /dev/null

# --- port removed -----------------------------------------------------------

ctl port del evil > /dev/null
wait_log "vhswd: ctl: port evil removed \(vhost-user, socket $TEST_TMP/evil.sock, server\)"

# --- timestamps on stderr ----------------------------------------------------

total=$(grep -c . "$LOGF")
stamped=$(log_count '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z ')
check "every line of the log starts with a UTC timestamp" "$total" "$stamped"
check "port show's text shows last_error" \
    "last_error link down: interface $UP is down or has no carrier" \
    "$(ctl port show uplink | grep -E '^ *last_error ' | sed 's/^ *//' | tr -s ' ')"

vhswd_stop
log "PASS: test_log ($CHECKS checks)"
