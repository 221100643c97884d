#!/usr/bin/env bash
# The state file (--state-dir, include/state.h) and run-time changes
# (port set --vlan/--mtu/--admin, uplink del/add), against a real vhswd
# with kernel ports in this test's network namespaces and an af_packet
# uplink on a veth:
#   - every kind of configuration (vhost-user server and client ports with
#     their options and tenant controls, kernel ports in a netns, the
#     uplink with its MTU, static entries, FDB settings, the poll mode, an
#     administratively down port) survives SIGTERM and SIGKILL: the state
#     file is written after every change, mode 0600 in a 0700 directory,
#     with no temporary file left, and the restarted switch saves the same
#     configuration;
#   - --config, --uplink and --poll-mode win over the state file for what
#     they name; the rest still comes from the state file;
#   - a corrupt state file (bad JSON, an unknown key, a directory) stops
#     vhswd with one line naming it and a copy kept; an entry that no
#     longer applies (its namespace is gone) is left out with a warning and
#     the old file kept, the rest restored;
#   - a write that fails (a full file system) is logged and retried until
#     it succeeds;
#   - port set changes what the data plane does: a VLAN change cuts and
#     restores a ping, admin down stops forwarding and admin up resumes it,
#     an MTU change reaches the kernel interface and the oversize check;
#     uplink del releases the uplink and uplink add brings it back.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

ID=$$
OUT=vhsw$ID-so NSA=vhsw$ID-sa NSB=vhsw$ID-sb
UP=vh${ID}s PEER=vh${ID}t
MNT=""

net_cleanup() {
    local ns
    for ns in $OUT $NSA $NSB; do ip netns del "$ns" 2>/dev/null; done
    ip link del "$UP" 2>/dev/null
    [[ -n $MNT ]] && umount "$MNT" 2>/dev/null
    return 0
}
vhsw_test_init state net_cleanup

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# ping_ok NS ADDR [ARGS]: answered within the deadline.
ping_ok() { local ns=$1 addr=$2; shift 2; in_ns "$ns" ping -q -c 2 -i 0.2 -w 5 "$@" "$addr" > /dev/null 2>&1; }
ping_fails() { ! in_ns "$1" ping -q -c 2 -i 0.2 -w 2 "$2" > /dev/null 2>&1; }
VHSWD_KEEP_STATE=1 # vhswd_start: $TEST_TMP/state across restarts
STATE=$TEST_TMP/state
SAVED=$TEST_TMP/saved

# The outside of the uplink, and two namespaces for kernel ports.
ip netns add $OUT
ip netns add $NSA
ip netns add $NSB
ip link add $UP type veth peer name $PEER
ip link set $PEER netns $OUT
sysctl -qw "net.ipv6.conf.$UP.disable_ipv6=1"
ip link set $UP up
ip -n $OUT link set $PEER up

start() { vhswd_start --socket-dir "$TEST_TMP" "$@"; }
# saved NAME: `config save` of the running switch, without the socket
# owner fields that do not change (for comparing two switches).
saved() { mkdir -p "$SAVED"; ctl config save "$SAVED/$1.json" > /dev/null; jq -S . "$SAVED/$1.json"; }
mode_of() { stat -c %a "$1"; }

# --- every kind of configuration survives SIGTERM and SIGKILL -------------
start --uplink "net_af_packet0,iface=$UP"
ctl uplink del > /dev/null
ctl uplink add "net_af_packet0,iface=$UP" --mtu 1400 > /dev/null
ctl port add s1 vhost-user "$TEST_TMP/s1.sock" --queues 2 --vlan 10 \
    --mac 52:54:00:5e:00:01 --mtu 9000 --owner 1234:1234 --perm 0660 \
    --allowed-ips 10.9.0.1 --max-macs 4 --storm-limit-pps 1000 \
    --rate-limit 100 --isolated > /dev/null
ctl port add s2 vhost-user "$TEST_TMP/s2.sock" --client > /dev/null
ctl port add ka kernel --ifname vka$ID --netns /run/netns/$NSA --mtu 1400 > /dev/null
ctl port add kb kernel --ifname vkb$ID --netns /run/netns/$NSB > /dev/null
ctl port add down1 vhost-user "$TEST_TMP/d1.sock" --admin down > /dev/null
ctl fdb add 52:54:00:5e:00:99 s2 --vlan 7 > /dev/null
ctl fdb set aging 120 > /dev/null
ctl fdb set limit 5000 > /dev/null
ctl fdb set move-limit 3 > /dev/null
ctl dataplane set poll-mode busy > /dev/null
check "state file written" 0 "$(jq -e . "$STATE/state.json" > /dev/null; echo $?)"
check "state file mode" 600 "$(mode_of "$STATE/state.json")"
check "state dir mode" 700 "$(mode_of "$STATE")"
check "no temporary file left" "state.json" "$(ls "$STATE" | grep -vxE "lock|promisc")" # the --state-dir lock and promiscuous-mode records (docs/operations.md, "vhswd as a service")
check "state file has the last change" busy "$(jq -r .dataplane.poll_mode "$STATE/state.json")"
# Each write is a new file (renamed over the old one): the inode tells.
ino=$(stat -c %i "$STATE/state.json")
for c in "port list" "port show s1" "fdb show" "stats" "uplink show" "doctor" "config save $TEST_TMP/x.json"; do
    # shellcheck disable=SC2086 # the words of the command
    ctl $c > /dev/null || true
done
check "read-only commands do not rewrite the state" "$ino" "$(stat -c %i "$STATE/state.json")"
ctl port set s2 --mtu 1500 > /dev/null
check "a command that changes nothing does not rewrite it" "$ino" "$(stat -c %i "$STATE/state.json")"
ctl port set s2 --mtu 1600 > /dev/null
[[ $(stat -c %i "$STATE/state.json") != "$ino" ]] || die "a change did not rewrite the state"
ctl port set s2 --mtu 1500 > /dev/null
before=$(saved before)

vhswd_stop
start
check "after SIGTERM: the same configuration" "$before" "$(saved after-term)"
check "after SIGTERM: socket owner" 1234:1234 "$(stat -c %u:%g "$TEST_TMP/s1.sock")"
check "after SIGTERM: kernel port in its namespace" 1400 \
    "$(ip -n $NSA -j link show vka$ID | jq -r '.[0].mtu')"
check "after SIGTERM: admin down kept" down "$(jctl .admin port show down1)"
check "after SIGTERM: uplink mtu" 1400 "$(jctl .mtu uplink show)"

vhswd_kill
start
check "after SIGKILL: the same configuration" "$before" "$(saved after-kill)"
check "after SIGKILL: static entry" s2 \
    "$(jctl '.[] | select(.mac == "52:54:00:5e:00:99") | .port' fdb show)"
check "after SIGKILL: poll mode" busy "$(jctl .dataplane.poll_mode stats)"

# --- the command line and --config win for what they name -----------------
vhswd_stop
cat > "$TEST_TMP/cfg.json" <<EOF
{"ports": [{"name": "s2", "type": "vhost-user", "socket": "$TEST_TMP/s2.sock", "mtu": 2000}],
 "fdb": {"aging": 60}}
EOF
start --config "$TEST_TMP/cfg.json" --poll-mode adaptive
check "--config wins: s2 mtu" 2000 "$(jctl .mtu port show s2)"
check "--config wins: s2 mode" server "$(jctl .mode port show s2)"
check "--config wins: aging" 60 "$(jq -r .fdb.aging "$STATE/state.json")"
check "state keeps the rest: limit" 5000 "$(jq -r .fdb.limit "$STATE/state.json")"
check "state keeps the rest: s1" 10 "$(jctl .vlan port show s1)"
check "--poll-mode wins" adaptive "$(jctl .dataplane.poll_mode stats)"
check "the merge is saved" 2000 "$(jq -r '.ports[] | select(.name == "s2") | .mtu' "$STATE/state.json")"
check "static entries of the state find --config's ports" s2 \
    "$(jctl '.[] | select(.mac == "52:54:00:5e:00:99") | .port' fdb show)"
check "nothing left out" "" "$(ls "$STATE" | grep dropped || true)"
vhswd_stop

# The FDB is sized at start for the limit the state file restores.
echo '{"fdb": {"limit": 300000}}' > "$TEST_TMP/big.json"
start --config "$TEST_TMP/big.json"
vhswd_stop
start
check "a large FDB limit restored without --config" 300000 "$(jctl .fdb.limit stats)"
check "nothing left out" "" "$(ls "$STATE" | grep dropped || true)"
vhswd_stop

# --- a corrupt state file stops vhswd, with a copy kept -------------------
# refused WHAT CONTENT: vhswd must exit 1 with one line naming the file.
refused() {
    local what=$1 err=$TEST_TMP/err rc=0 copy
    rm -f "$STATE"/state.json.corrupt-*
    printf '%s' "$2" > "$STATE/state.json"
    "$VHSWD" --ctl "$TEST_TMP/bad.sock" --lcores "$VHSW_LCORES" --state-dir "$STATE" \
        --socket-dir "$TEST_TMP" > /dev/null 2> "$err" || rc=$?
    check "$what: exit status" 1 "$rc"
    check "$what: one line" 1 "$(wc -l < "$err")"
    grep -q "state file is corrupt: $STATE/state.json" "$err" ||
        die "$what: the message does not name the file: $(cat "$err")"
    copy=$(ls "$STATE"/state.json.corrupt-* 2>/dev/null | head -1)
    [[ -n $copy ]] || die "$what: no copy kept"
    grep -qF "kept as $copy" "$err" || die "$what: the message does not name the copy"
    check "$what: copy is the file" "$(cat "$STATE/state.json")" "$(cat "$copy")"
    check "$what: file left in place" "$2" "$(cat "$STATE/state.json")"
    check "$what: no control socket left" no "$([[ -e $TEST_TMP/bad.sock ]] && echo yes || echo no)"
    log "ok: $what -> $(cat "$err")"
}
cp "$STATE/state.json" "$TEST_TMP/good.json"
refused "truncated JSON" '{"ports": [{"name": "s1",'
refused "unknown key" '{"ports": [], "bogus": 1}'
refused "not an object" '[1, 2]'
rm -f "$STATE"/state.json.corrupt-*
rm "$STATE/state.json"
mkdir "$STATE/state.json"
rc=0
"$VHSWD" --ctl "$TEST_TMP/bad.sock" --lcores "$VHSW_LCORES" --state-dir "$STATE" \
    > /dev/null 2> "$TEST_TMP/err" || rc=$?
check "state file is a directory: refused" 1 "$rc"
grep -q "is not a regular file" "$TEST_TMP/err" || die "no clear message: $(cat "$TEST_TMP/err")"
rmdir "$STATE/state.json"
cp "$TEST_TMP/good.json" "$STATE/state.json"

# --- an entry that no longer applies is left out, the old file kept -------
ip netns del $NSB
start
check "gone namespace: the others restored" "down1 ka s1 s2" \
    "$(jctl '[.[] | select(.name != "uplink") | .name] | sort | join(" ")' port list)"
grep -q "state: .*ports\[.*port kb: .*left out" "$(vhswd_log)" ||
    die "no warning for the port left out: $(grep state: "$(vhswd_log)")"
dropped=$(ls "$STATE"/state.json.dropped-* | head -1)
grep -qF "1 entry of $STATE/state.json could not be restored; the file as it was is kept as $dropped" "$(vhswd_log)" ||
    die "no summary naming the kept copy: $(grep state: "$(vhswd_log)")"
check "the old file kept" "$(jq -S . "$TEST_TMP/good.json")" "$(jq -S . "$dropped")"
check "the new file without kb" "" "$(jq -r '.ports[] | select(.name == "kb") | .name' "$STATE/state.json")"
ip netns add $NSB

# --- a failed write is retried --------------------------------------------
vhswd_stop
MNT=$TEST_TMP/small
mkdir -p "$MNT"
mount -t tmpfs -o size=64k tmpfs "$MNT"
start --state-dir "$MNT"
dd if=/dev/zero of="$MNT/fill" bs=4k 2> /dev/null || true
ctl port add f1 vhost-user "$TEST_TMP/f1.sock" > /dev/null
wait_until 10 grep -q "state: .*retrying every second" "$(vhswd_log)" ||
    die "a failed write was not reported"
check "the old file stays whole" 0 "$(jq -e . "$MNT/state.json" > /dev/null; echo $?)"
rm "$MNT/fill"
_has_f1() { jq -e '.ports[] | select(.name == "f1")' "$MNT/state.json" > /dev/null 2>&1; }
wait_until 10 _has_f1 || die "the write was not retried"
log "ok: the write was retried once there was room"
vhswd_stop
umount "$MNT"
MNT=""

# --- port set and uplink del/add change the data plane --------------------
rm -rf "$STATE"
start --uplink "net_af_packet0,iface=$UP"
ctl port add ka kernel --ifname vka$ID --netns /run/netns/$NSA > /dev/null
ctl port add kb kernel --ifname vkb$ID --netns /run/netns/$NSB > /dev/null
ip -n $NSA addr add 10.78.0.1/24 dev vka$ID
ip -n $NSB addr add 10.78.0.2/24 dev vkb$ID
ping_ok $NSA 10.78.0.2 || die "kernel ports do not reach each other"

ctl port set kb --vlan 5 > /dev/null
check "vlan set" 5 "$(jctl .vlan port show kb)"
# A port's --mac entry follows it to its VLAN, also back to trunk.
ctl port add m1 vhost-user "$TEST_TMP/m1.sock" --mac 52:54:00:5e:00:77 --vlan 3 > /dev/null
ctl port set m1 --vlan 0 > /dev/null
check "--mac entry moved to the trunk" "0" \
    "$(jctl '[.[] | select(.mac == "52:54:00:5e:00:77") | .vlan] | map(tostring) | join(" ")' fdb show)"
check "no extra static entry saved" 0 "$(jq '.fdb.static | length' "$STATE/state.json")"
ctl port del m1 > /dev/null
ping_fails $NSA 10.78.0.2 || die "a ping crossed from VLAN 0 (trunk, untagged) to VLAN 5"
ctl port set ka --vlan 5 > /dev/null
ping_ok $NSA 10.78.0.2 || die "no ping inside VLAN 5"
log "ok: VLAN changes cut and restore the ping"

ctl port set kb --admin down > /dev/null
check "admin down shown" down "$(jctl .admin port show kb)"
ping_fails $NSA 10.78.0.2 || die "a ping crossed an admin down port"
check "admin down: no learned entry" 0 "$(jctl '[.[] | select(.port == "kb" and (.static | not))] | length' fdb show)"
ctl port set kb --admin up > /dev/null
ping_ok $NSA 10.78.0.2 || die "no ping after admin up"
log "ok: admin down stops forwarding, admin up resumes it"

ctl port set kb --mtu 1300 > /dev/null
check "mtu on the kernel interface" 1300 "$(ip -n $NSB -j link show vkb$ID | jq -r '.[0].mtu')"
ip -n $NSA link set vka$ID mtu 1500
o0=$(port_stat kb tx_oversize)
in_ns $NSA ping -q -c 1 -w 2 -M do -s 1400 10.78.0.2 > /dev/null 2>&1 || true
wait_num 10 -gt "$o0" port_stat kb tx_oversize ||
    die "a 1428-byte packet was not refused by the 1300 MTU"
ping_ok $NSA 10.78.0.2 -s 1200 -M do || die "a 1228-byte ping did not pass"
log "ok: the new MTU reaches the interface and the oversize check"
check "bad mtu refused" 1 "$(ctl port set kb --mtu 20 > /dev/null 2>&1; echo $?)"
check "bad admin refused" 1 "$(ctl port set kb --admin sideways > /dev/null 2>&1; echo $?)"
check "uplink takes no vlan" 1 "$(ctl port set uplink --vlan 3 > /dev/null 2>&1; echo $?)"

ctl uplink del > /dev/null
check "uplink gone" none "$(jctl .state uplink show)"
check "uplink gone from the state" null "$(jq -c .uplink "$STATE/state.json")"
check "uplink del twice refused" 1 "$(ctl uplink del > /dev/null 2>&1; echo $?)"
ctl uplink add "net_af_packet0,iface=$UP" > /dev/null
check "uplink back" net_af_packet "$(jctl .driver uplink show)"
vhswd_stop
start
check "restart keeps vlan, mtu" "5 1300" "$(jctl '"\(.vlan) \(.mtu)"' port show kb)"
check "restart keeps the uplink" net_af_packet "$(jctl .driver uplink show)"
vhswd_stop
log "test_state: $CHECKS checks passed"
