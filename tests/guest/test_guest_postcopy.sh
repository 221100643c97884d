#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Issue 17: postcopy live migration of a QEMU guest between two vhost-user
# ports added with --postcopy, under a steady ping from a network namespace
# behind the uplink.  The guest first moves A -> B by precopy (the reference
# downtime), then back B -> A by postcopy (QEMU's postcopy-ram: the
# destination runs before its memory arrived; vhswd's data plane touches
# guest pages that are still missing, registered with librte_vhost's
# userfaultfd, and the destination QEMU fetches them on demand).
#  - the destination works: ping, a 4 MB TCP transfer with the same sha256;
#  - query-migrate of the postcopy migration shows postcopy page requests;
#  - the guest's MAC moved to the destination port in the FDB; the pings
#    saw no duplicate; lost pings x interval (and QEMU's downtime) reported;
#  - a port without --postcopy does not offer it: QEMU refuses postcopy-ram
#    on a destination attached to it;
#  - a postcopy whose source is killed (slowed to 1 MB/s, so pages are still
#    missing; the destination pauses), then whose destination is killed:
#    vhswd survives both; if one of its threads touched a missing page
#    meanwhile, the postcopy watch frees it within seconds and drops the
#    destination (not every run: usually the paused guest stops refilling
#    its receive ring first; tests/integration/test_vhost_attack.sh pc_*
#    do it every time).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

ID=$$
OUT=vhsw$ID-pout UP=vh${ID}p PEER=vh${ID}r
PING_PID=""
net_cleanup() {
    [[ -z $PING_PID ]] || { kill "$PING_PID" 2>/dev/null; wait "$PING_PID" 2>/dev/null; }
    guest_outside_cleanup
    return 0
}
guest_test_init guest-postcopy net_cleanup

MAC=52:54:00:70:00:01 IP=10.80.0.1 IPOUT=10.80.0.200
PING_MS=50                      # interval of the steady ping (ms)

guest_outside $OUT $UP $PEER $IPOUT/24
# The namespace's TCP segments would leave the veth with partial checksums
# (CHECKSUM_PARTIAL) that the guest, with no checksum offload negotiated,
# drops: turn TX checksumming off there (ethtool -K tx off, without ethtool).
ip netns exec $OUT python3 -c '
import ctypes, fcntl, socket, struct, sys
ev = ctypes.create_string_buffer(struct.pack("II", 0x17, 0))   # ETHTOOL_STXCSUM, off
ifr = struct.pack("16sP", sys.argv[1].encode(), ctypes.addressof(ev)) + bytes(16)
fcntl.ioctl(socket.socket(socket.AF_INET, socket.SOCK_DGRAM), 0x8946, ifr)  # SIOCETHTOOL
' $PEER

# librte_vhost's config log at INFO: "userfaultfd registered for range".
vhswd_start --uplink "net_af_packet0,iface=$UP" --eal "--log-level=lib.vhost.config:info"
ctl port add pa vhost-user "$TEST_TMP/pa.sock" --postcopy > /dev/null
ctl port add pb vhost-user "$TEST_TMP/pb.sock" --postcopy > /dev/null
ctl port add pn vhost-user "$TEST_TMP/pn.sock" > /dev/null
check "port show: postcopy on" true "$(jctl .postcopy port show pa)"
check "port show: postcopy off by default" false "$(jctl .postcopy port show pn)"

# --- A port without --postcopy: QEMU refuses postcopy-ram -------------------
guest_launch nopc "$TEST_TMP/pn.sock" 52:54:00:70:00:09 "" --incoming "unix:$TEST_TMP/nopc.sock"
wait_until 30 test -S "$(guest_dir nopc)/qmp.sock" || die "QEMU (nopc) has no QMP socket"
err=$(guest_qmp nopc migrate-set-capabilities \
    '{"capabilities": [{"capability": "postcopy-ram", "state": true}]}' 2>&1) &&
    die "QEMU accepted postcopy-ram on a port without --postcopy: $err"
log "ok: without --postcopy QEMU refuses postcopy-ram: $(grep -o 'vhost-user[^"]*' "$(guest_dir nopc)/qemu.log" | head -1)"
guest_quit nopc

# --- The guest on A, a steady ping from behind the uplink --------------------
guest_start a1 "$TEST_TMP/pa.sock" $MAC $IP/24
log "guest ready in $(guest_ready_ms a1) ms"
ip netns exec $OUT ping -c 3 -w 20 $IP > /dev/null || die "the namespace cannot ping the guest"
check "guest MAC on pa" pa "$(fdb_port $MAC)"

# ping_start: a steady ping, its output in $TEST_TMP/ping.NAME.
ping_start() {
    ip netns exec $OUT ping -i "$(printf '%d.%03d' $((PING_MS / 1000)) $((PING_MS % 1000)))" -W 1 $IP > "$TEST_TMP/ping.$1" 2>&1 &
    PING_PID=$!
    wait_until 10 grep -qs icmp_seq= "$TEST_TMP/ping.$1" || die "the steady ping gets no reply"
}
# ping_stop NAME: stop it; sets SENT LOST DUP
ping_stop() {
    kill -INT "$PING_PID"; wait "$PING_PID" 2>/dev/null || true; PING_PID=""
    local f=$TEST_TMP/ping.$1 st
    st=$(grep 'packets transmitted' "$f") || die "ping $1: no summary: $(tail -3 "$f")"
    SENT=$(sed -E 's/^([0-9]+) packets transmitted.*/\1/' <<<"$st")
    LOST=$(( SENT - $(sed -E 's/.* ([0-9]+) received.*/\1/' <<<"$st") ))
    DUP=$(grep -oE '[+][0-9]+ duplicates' <<<"$st" | tr -dc 0-9 || true); DUP=${DUP:-0}
}
_mac_on() { [[ $(fdb_port $MAC) == "$1" ]]; }
_replies_gt() { (( $(grep -c icmp_seq= "$TEST_TMP/ping.$1") > $2 )); }
# verify NAME PORT OLD: the guest NAME, arrived on PORT from OLD, works, and
# no frame to it goes to OLD any more.
verify() {
    local g=$1 port=$2 old=$3 n t0
    n=$(grep -c icmp_seq= "$TEST_TMP/ping.$g")
    wait_until 20 _mac_on "$port" || die "guest MAC not moved to $port: $(fdb_port $MAC)"
    check "guest MAC moved to $port" "$port" "$(fdb_port $MAC)"
    wait_until 20 _replies_gt "$g" "$n" || die "the steady ping gets no reply after the migration"
    guest_ping "$g" $IPOUT > /dev/null || die "$g cannot ping the namespace"
    t0=$(port_stat "$old" tx_packets)
    ip netns exec $OUT ping -q -c 20 -i 0.05 -w 10 $IP > /dev/null || die "20 pings to $g lost some"
    # (an ARP request from the namespace is flooded to every port)
    check "nothing to the guest's MAC goes to $old any more" 1 "$(( $(port_stat "$old" tx_packets) - t0 <= 2 ))"
    # 4 MB namespace -> guest over TCP, same sha256.
    head -c 4194304 /dev/urandom > "$TEST_TMP/blob"
    guest_nc_listen "$g" 5001 /tmp/b
    ip netns exec $OUT timeout 90 nc -N $IP 5001 < "$TEST_TMP/blob" || die "$g: TCP transfer failed"
    guest_nc_wait "$g" 5001 60
    local sum
    sum=$(guest_cmd "$g" "sha256sum /tmp/b | cut -d' ' -f1; rm /tmp/b")
    check "$g: 4 MB over TCP, same sha256" "$(sha256sum < "$TEST_TMP/blob" | cut -d' ' -f1)" "$sum"
}

# --- Precopy A -> B ----------------------------------------------------------
guest_launch b1 "$TEST_TMP/pb.sock" $MAC $IP/24 --incoming "unix:$TEST_TMP/guest-b1/migrate.sock"
wait_until 30 test -S "$(guest_dir b1)/qmp.sock" || die "QEMU (b1) has no QMP socket"
ping_start b1
pre=$(guest_migrate a1 b1)
verify b1 pb pa
ping_stop b1
PRE_LOST=$LOST PRE_DOWN=$(jq -r '.downtime' <<<"$pre") PRE_TOTAL=$(jq -r '."total-time"' <<<"$pre")
log "precopy: $SENT pings, $LOST lost (~$((LOST * PING_MS)) ms), $DUP duplicates;" \
    "QEMU downtime $PRE_DOWN ms, total $PRE_TOTAL ms"
check "precopy: no duplicate reply" 0 "$DUP"
guest_quit a1

# --- Postcopy B -> A ---------------------------------------------------------
# QEMU traces each fault of vhswd's mapping it serves (vhost-user client faults).
guest_launch a2 "$TEST_TMP/pa.sock" $MAC $IP/24 --incoming "unix:$TEST_TMP/guest-a2/migrate.sock" \
    --qemu -trace --qemu "vhost_user_postcopy_fault_handler_found"
wait_until 30 test -S "$(guest_dir a2)/qmp.sock" || die "QEMU (a2) has no QMP socket"
ping_start a2
post=$(guest_migrate b1 a2 postcopy-ram)
verify a2 pa pb
ping_stop a2
POST_DOWN=$(jq -r '.downtime' <<<"$post") POST_TOTAL=$(jq -r '."total-time"' <<<"$post")
REQ=$(jq -r '.ram."postcopy-requests" // 0' <<<"$post")
PBYTES=$(jq -r '.ram."postcopy-bytes" // "n/a"' <<<"$post")
log "postcopy: $SENT pings, $LOST lost (~$((LOST * PING_MS)) ms), $DUP duplicates;" \
    "QEMU downtime $POST_DOWN ms, total $POST_TOTAL ms; postcopy-requests $REQ," \
    "postcopy-bytes $PBYTES"
log "downtime: precopy ~$((PRE_LOST * PING_MS)) ms (QEMU $PRE_DOWN), postcopy ~$((LOST * PING_MS)) ms (QEMU $POST_DOWN)"
check "postcopy: status" completed "$(jq -r .status <<<"$post")"
check "postcopy: pages were requested on demand" 1 "$(( REQ > 0 ))"
check "postcopy: no duplicate reply" 0 "$DUP"
check "no peer dropped by the checks" "0 0" "$(jctl .violations port show pa) $(jctl .violations port show pb)"
check "no memory fault" "0 0" "$(jctl .mem_faults port show pa) $(jctl .mem_faults port show pb)"
grep -q 'postcopy: POSTCOPY_END' "$(vhswd_log)" || die "vhswd did not see POSTCOPY_END"
check "vhswd registered its mapping of the guest with the userfaultfd" 1 \
    "$(( $(grep -c 'userfaultfd registered for range' "$(vhswd_log)") > 0 ))"
VFAULTS=$(grep -c vhost_user_postcopy_fault_handler_found "$(guest_dir a2)/qemu.log" || true)
log "faults of vhswd's mapping QEMU resolved: $VFAULTS"
check "vhswd touched missing pages, QEMU resolved them" 1 "$(( VFAULTS > 0 ))"
guest_quit b1

# --- Postcopy A -> B whose source dies ---------------------------------------
# Slowed to 1 MB/s so that most pages are still missing when the source is
# killed: the destination goes postcopy-paused and nothing resolves its
# faults.  When vhswd's data plane touches such a page (the steady ping's
# frames land in the guest's receive buffers), it waits in the kernel; the
# postcopy watch must free it within about 6 s and drop the destination.
_in_uffd() { grep -qs '^handle_userfault$' /proc/"$VHSWD_PID"/task/*/wchan; }
_not_in_uffd() { ! _in_uffd; }
guest_launch b2 "$TEST_TMP/pb.sock" $MAC $IP/24 --incoming "unix:$TEST_TMP/guest-b2/migrate.sock"
wait_until 30 test -S "$(guest_dir b2)/qmp.sock" || die "QEMU (b2) has no QMP socket"
ping_start b2
caps='{"capabilities": [{"capability": "postcopy-ram", "state": true}]}'
guest_qmp b2 migrate-set-capabilities "$caps" > /dev/null
guest_qmp a2 migrate-set-capabilities "$caps" > /dev/null
guest_qmp a2 migrate-set-parameters '{"max-bandwidth": 1048576, "max-postcopy-bandwidth": 1048576}' > /dev/null
guest_qmp a2 migrate "{\"uri\": \"unix:$TEST_TMP/guest-b2/migrate.sock\"}" > /dev/null
guest_qmp a2 migrate-start-postcopy > /dev/null
# Killed once the destination runs (its device state loaded: else it exits
# instead of pausing) and the guest's announcement moved its MAC to pb.
_dest_runs() {
    [[ $(guest_qmp b2 query-migrate | jq -r .status) == postcopy-active &&
       $(guest_qmp b2 query-status | jq -r .status) == running ]]
}
wait_until 30 _dest_runs || die "the slowed migration did not enter postcopy"
wait_until 20 _mac_on pb || log "the guest's MAC is still on $(fdb_port $MAC)"
v0=$(jctl .violations port show pb) it0=$(jctl .dataplane.iterations stats)
guest_kill a2
log "source killed during postcopy; destination: $(guest_qmp b2 query-migrate | jq -r .status)"
# A burst to the guest: the switch fills receive buffers the guest posted
# long ago, on pages the destination may not have yet.
ip netns exec $OUT ping -q -c 600 -i 0.002 -W 1 $IP > /dev/null 2>&1 &
BURST=$!
if wait_until 10 _in_uffd; then
    t0=$SECONDS
    wait_until 15 _not_in_uffd || die "vhswd still waits in a postcopy fault after 15 s"
    log "vhswd's thread waited ~$(( SECONDS - t0 )) s in the fault the dead source never resolved"
    check "the destination's peer dropped for it" $((v0 + 1)) "$(jctl .violations port show pb)"
    grep -q 'postcopy: a thread of the switch waited' "$(vhswd_log)" || die "no log line for the postcopy drop"
else
    # Usually the guest, stuck on a missing page itself, stops refilling
    # its receive ring, and the switch drops the burst (tx_full) without
    # touching guest memory.
    log "no vhswd thread touched a missing page this time (tx_full $(port_stat pb tx_full)); watch not exercised"
fi
_tp_alive "$VHSWD_PID" || die "vhswd died"
_iterations_gt() { (( $(jctl .dataplane.iterations stats) > $1 )); }
it1=$(jctl .dataplane.iterations stats)
wait_until 10 _iterations_gt "$it1" || die "the data plane does not run"
check "the data plane runs on" 1 "$(( it1 > it0 ))"
kill "$PING_PID" "$BURST" 2>/dev/null; wait "$PING_PID" "$BURST" 2>/dev/null || true; PING_PID=""
# The destination dies too, in postcopy: vhswd unregisters its mapping from
# the userfaultfd before librte_vhost unmaps it.
_pb_gone() { [[ $(jctl .connected port show pb) == false ]]; }
guest_kill b2
wait_until 10 _pb_gone || die "pb still connected after its QEMU died"
_tp_alive "$VHSWD_PID" || die "vhswd died with the destination"
check "vhswd answers after the destination died" pb "$(jctl .name port show pb)"
vhswd_stop
echo "test_guest_postcopy: $CHECKS checks passed"
