#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Live migration of QEMU guests between two vhswd ports on this host
# (issue 17), precopy, with the Linux virtio-net driver in the guest.  The
# destination QEMU runs with -incoming on its own port; QMP's migrate moves
# the guest.  Four variants, each under a steady ping from a network
# namespace behind the uplink (every 50 ms):
#   garp    server ports with port security (the same allowed MAC and IP
#           on both), 1 queue pair; the guest announces itself
#           (VIRTIO_NET_F_GUEST_ANNOUNCE: a gratuitous ARP from the guest);
#           then back again onto the first port (the cleaned-up source
#           port serves a new QEMU)
#   rarp    the device has guest_announce=off: QEMU sends SEND_RARP and
#           librte_vhost injects a RARP from the guest's MAC, which moves
#           the MAC at once with no traffic at all (captured with vhswctl
#           capture, read by tcpdump)
#   mq      2 queue pairs, 2 vCPUs: a flow on each queue pair from inside
#           the guest before and after the move (none during it: see the
#           variant), both pairs carry frames on both ports
#   client  vhswd --client ports: both QEMUs own their sockets (server=on)
# and a migration throttled to 1 MB/s that is cancelled while the memory is
# being copied: the source port shows the dirty logging, then not, and the
# guest carries on there.
# Checked each time: the migration completes; the guest is the same one
# (uptime goes on, a file written before is there); pings resume, none
# duplicated; the MAC is on the destination port; nothing more is sent to
# the old port; the source port shows the migration and, once its QEMU
# quits, maps no guest memory.  The guest's virtio-net reports no error,
# which it would if a page the switch wrote (receive buffers, used rings)
# had not been logged and re-sent.
# Downtime (QEMU's figure, and the longest gap in the ping, 50 ms a ping)
# is printed and written to tests/out/migrate/downtime.txt; under TCG it
# is reported, never asserted.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"

ID=$$
OUT=vhsw$ID-mig UP=vh${ID}u PEER=vh${ID}p
net_cleanup() {
    [[ -z ${PING_PID:-} ]] || { kill "$PING_PID" 2>/dev/null; wait "$PING_PID" 2>/dev/null; }
    guest_outside_cleanup
    return 0
}
guest_test_init guest-migrate net_cleanup
command -v tcpdump > /dev/null || die "tcpdump missing (tests/setup.sh installs it)"

IPOUT=10.82.0.200
: "${MIGRATE_RESULTS:=$HERE/../out/migrate}"
# The steady ping: every 50 ms.  At 5 ms (200 frames a second toward the
# guest during the move) the destination guest's kernel panicked after the
# move in about 1 of 10 migrations here (slab corruption in its receive
# path; 2 of 5 with both queue pairs busy): an open problem (docs/qemu.md,
# "Known problem"), reproduced with MIGRATE_PING_INTERVAL=0.005.
PING_INTERVAL=${MIGRATE_PING_INTERVAL:-0.05}
mkdir -p "$MIGRATE_RESULTS"
RESULTS=$TEST_TMP/downtime.txt
printf '%-8s %-10s %12s %12s %10s %8s %6s\n' variant direction qemu_down_ms ping_gap_ms total_ms lost dups > "$RESULTS"

guest_outside $OUT $UP $PEER $IPOUT/24

vhswd_start --uplink "net_af_packet0,iface=$UP"

# --- Helpers ------------------------------------------------------------------
# ping_start IP: a steady ping from the namespace (every PING_INTERVAL s).
PING_PID="" PING_OUT=""
ping_start() {
    PING_OUT=$TEST_TMP/ping.$1.$(_tp_now_us)
    ip netns exec $OUT ping -n -i $PING_INTERVAL -w 600 "$1" > "$PING_OUT" 2>&1 &
    PING_PID=$!
}
ping_replies() { grep -c 'bytes from' "$PING_OUT" || true; }
# ping_stop: SIGINT (ping prints its summary), reap.
ping_stop() {
    kill -INT "$PING_PID" 2>/dev/null || true
    wait "$PING_PID" 2>/dev/null || true
    PING_PID=""
}
# ping_gaps: "LOST MAXGAP DUPS" over the replies: sequence numbers missing
# between the first and the last reply, the longest run of them, and
# duplicate replies.
ping_gaps() {
    awk '/bytes from/ {
            if (/DUP!/) { dups++; next }
            match($0, /icmp_seq=[0-9]+/); s = substr($0, RSTART + 9, RLENGTH - 9) + 0
            if (n++ > 0 && s > last + 1) { lost += s - last - 1; if (s - last - 1 > gap) gap = s - last - 1 }
            last = s
         }
         END { printf "%d %d %d\n", lost, gap, dups }' "$PING_OUT"
}
# last_seq: the newest sequence number answered so far.
last_seq() { grep -o 'icmp_seq=[0-9]*' "$PING_OUT" | tail -n1 | cut -d= -f2 || true; }
_replies_after() { local s; s=$(last_seq); [[ -n $s ]] && (( s > $1 )); }
# wait_replies_after SEQ: replies with sequence numbers past SEQ arrive.
wait_replies_after() {
    wait_until 30 _replies_after "$1" || die "no ping reply after sequence $1: $(tail -n 3 "$PING_OUT")"
}
# guest_up_s NAME: the guest's uptime in whole seconds.
guest_up_s() { guest_cmd "$1" "cut -d. -f1 /proc/uptime" 10; }
# memfd_maps: vhswd's mappings of QEMU's guest memory (memfd:mem) and logs.
memfd_maps() { grep -c 'memfd:' "/proc/$VHSWD_PID/maps" || true; }
# guest_errors NAME: what the guest kernel said about virtio and its NIC's error counters.
guest_errors() {
    guest_cmd "$1" "dmesg | grep -iE 'virtio|eth0' | grep -iE 'error|not a head|timeout|corrupt|bad|fail' ; \
        cat /sys/class/net/eth0/statistics/rx_errors /sys/class/net/eth0/statistics/tx_errors" 10
}

# migrate VARIANT SRC DST SRCPORT DSTPORT [CAP...]: migrate the guest of
# SRC (on SRCPORT) into DST (on DSTPORT, already launched with --incoming)
# under the steady ping, and check everything the header lists.  With
# MIG_QUIET=1 no traffic runs during the move (pings before and after).
migrate() {
    local variant=$1 src=$2 dst=$3 sp=$4 dp=$5 mac ip up0 seq0 mig down total lost=- gap=- dups=- tx0 rx0
    local quiet=${MIG_QUIET:-0}
    shift 5
    mac=$(guest_mac "$src") ip=$(guest_ip "$src")
    guest_cmd "$src" "echo $variant-$ID > /tmp/marker" > /dev/null
    up0=$(guest_up_s "$src")
    check "$variant: MAC on $sp before" "$sp" "$(fdb_port "$mac")"
    if (( quiet )); then
        ip netns exec $OUT ping -q -c 20 -i 0.01 -w 10 "$ip" > /dev/null || die "$variant: pings before the move lost"
    else
        ping_start "$ip"
        wait_num 30 -ge 20 ping_replies || die "$variant: the steady ping does not run"
    fi
    mig=$(guest_migrate "$src" "$dst" "$@")
    (( quiet )) || seq0=$(last_seq)
    down=$(jq -r .downtime <<<"$mig") total=$(jq -r '."total-time"' <<<"$mig")
    log "$variant: migrated $src ($sp) -> $dst ($dp): total ${total} ms, QEMU downtime ${down} ms"
    check "$variant: the source QEMU is paused after the move" postmigrate \
        "$(guest_qmp "$src" query-status | jq -r .status)"
    check "$variant: the destination runs" running "$(guest_qmp "$dst" query-status | jq -r .status)"
    # The guest answers on the destination's console, and it is the same guest.
    check "$variant: the guest kept its files" "$variant-$ID" "$(guest_cmd "$dst" 'cat /tmp/marker' 10)"
    check "$variant: the guest did not reboot" 1 "$(( $(guest_up_s "$dst") >= up0 ))"
    if (( quiet )); then ping_start "$ip"; else wait_replies_after "$seq0"; fi
    wait_str 10 "$dp" fdb_port "$mac" || die "$variant: MAC $mac not moved to $dp: $(fdb_port "$mac")"
    wait_port "$dp" up
    check "$variant: source port down" down "$(port_state "$sp")"
    check "$variant: source port saw the guest leave" left "$(jctl .migration.state port show "$sp")"
    check "$variant: source port logged dirty pages" 1 \
        "$(( $(jctl .migration.log_sessions port show "$sp") >= 1 && $(jctl .migration.log_size port show "$sp") > 0 &&
             $(jctl .migration.log_ms port show "$sp") > 0 ))"
    # Nothing more goes to the old port while the ping goes on.
    tx0=$(port_stat "$sp" tx_packets) rx0=$(port_stat "$dp" tx_packets)
    seq0=$(last_seq)
    wait_until 30 _replies_after "$(( seq0 + 40 ))" || die "$variant: the ping stopped after the move"
    check "$variant: no frame to the old port after the move" "$tx0" "$(port_stat "$sp" tx_packets)"
    check "$variant: frames to the destination port" 1 "$(( $(port_stat "$dp" tx_packets) > rx0 ))"
    ping_stop
    read -r lost gap dups <<<"$(ping_gaps)"
    check "$variant: no duplicate reply" 0 "$dups"
    check "$variant: no virtio error in the guest" "$(printf '0\n0')" "$(guest_errors "$dst")"
    if (( quiet )); then
        gap=- lost=- dups=-   # no traffic during the move: nothing to measure
    else
        log "$variant: ping every ${PING_INTERVAL}s: $lost lost, longest gap $gap (~$(awk -v g="$gap" -v i=$PING_INTERVAL 'BEGIN { printf "%d", g * i * 1000 }') ms)"
        gap=$(awk -v g="$gap" -v i=$PING_INTERVAL 'BEGIN { printf "%d", g * i * 1000 }')
    fi
    printf '%-8s %-10s %12s %12s %10s %8s %6s\n' "$variant" "$sp->$dp" "$down" "$gap" "$total" "$lost" "$dups" >> "$RESULTS"
    # The source QEMU leaves: the port keeps no memory of its guest.
    local maps0
    maps0=$(memfd_maps)
    guest_quit "$src"
    wait_str 10 false jctl .connected port show "$sp" || die "$variant: $sp still connected"
    check "$variant: source port maps no guest memory" "0 0" \
        "$(jctl '.mem_regions | length' port show "$sp") $(jctl '.vrings | length' port show "$sp")"
    wait_num 10 -lt "$maps0" memfd_maps || die "$variant: vhswd still maps the source guest's memory ($maps0 memfd mappings)"
    grep -q "port $sp: live migration: the peer turned dirty-page logging on" "$(vhswd_log)" ||
        die "$variant: no log line for the start of the migration on $sp"
    grep -q "port $sp: live migration: the peer stopped the device with dirty-page logging on" "$(vhswd_log)" ||
        die "$variant: no log line for the final pass on $sp"
}

# --- garp: server ports, one queue pair, the guest announces itself --------------
# Both ports carry the tenant's controls (port security for its MAC and
# address): the destination must allow what the source allowed.
M1=52:54:00:82:00:01
TENANT=(--allowed-macs $M1 --allowed-ips 10.82.0.1)
ctl port add a1 vhost-user "$TEST_TMP/a1.sock" "${TENANT[@]}" > /dev/null
ctl port add a2 vhost-user "$TEST_TMP/a2.sock" "${TENANT[@]}" > /dev/null
guest_start ga "$TEST_TMP/a1.sock" $M1 10.82.0.1/24
guest_ping ga $IPOUT > /dev/null || die "ga cannot reach the namespace"
check "garp: GUEST_ANNOUNCE negotiated" 1 "$(( ($(jctl .features port show a1) >> 21) & 1 ))"
check "garp: VHOST_F_LOG_ALL offered (not negotiated before a migration)" 0 \
    "$(( ($(jctl .features port show a1) >> 26) & 1 ))"
guest_launch gb "$TEST_TMP/a2.sock" $M1 10.82.0.1/24 --incoming "unix:$TEST_TMP/guest-gb/migrate.sock"
wait_port a2 down   # connected, not running before the guest arrives
migrate garp ga gb a1 a2
check "garp: no RARP asked for (the guest announced itself)" 0 "$(jctl .migration.announces port show a2)"
# And back again: a new QEMU on the cleaned-up source port.
guest_launch gc "$TEST_TMP/a1.sock" $M1 10.82.0.1/24 --incoming "unix:$TEST_TMP/guest-gc/migrate.sock"
migrate garp gb gc a2 a1
check "garp: nothing refused by the tenant controls" "0 0 0 0" \
    "$(port_stat a1 rx_spoofed_mac) $(port_stat a1 rx_spoofed_arp) $(port_stat a2 rx_spoofed_mac) $(port_stat a2 rx_spoofed_arp)"

# --- cancel: a migration throttled to 1 MB/s is cancelled while copying ---------
# The source port shows the copy (logging), then logging off, and the
# guest carries on where it was.
guest_launch gd "$TEST_TMP/a2.sock" $M1 10.82.0.1/24 --incoming "unix:$TEST_TMP/guest-gd/migrate.sock"
wait_str 30 true jctl .connected port show a2 || die "cancel: the destination QEMU did not connect"
guest_qmp gc migrate-set-parameters '{"max-bandwidth": 1048576}' > /dev/null
guest_qmp gc migrate "{\"uri\": \"unix:$TEST_TMP/guest-gd/migrate.sock\"}" > /dev/null
wait_str 30 logging jctl .migration.state port show a1 || die "cancel: a1 does not show the copy"
check "cancel: dirty logging on" "true 2" \
    "$(jctl .migration.dirty_log port show a1) $(jctl .migration.log_sessions port show a1)"
guest_ping gc $IPOUT > /dev/null || die "cancel: the guest does not reach the namespace while it is copied"
check "cancel: the guest stays on a1 while copied" a1 "$(fdb_port $M1)"
guest_qmp gc migrate_cancel > /dev/null
wait_str 30 none jctl .migration.state port show a1 || die "cancel: a1 still shows a migration"
check "cancel: dirty logging off, the time recorded" "false 1" \
    "$(jctl .migration.dirty_log port show a1) $(( $(jctl .migration.log_ms port show a1) > 0 ))"
grep -q "port a1: live migration: dirty-page logging off after [0-9]* ms (the migration was cancelled" "$(vhswd_log)" ||
    die "cancel: no log line for the cancelled migration"
check "cancel: the source runs" running "$(guest_qmp gc query-status | jq -r .status)"
guest_ping gc $IPOUT > /dev/null || die "cancel: the guest lost its network after the cancel"
check "cancel: the port stayed up" up "$(port_state a1)"
guest_quit gd     # the destination gave up the incoming migration
guest_stop gc

# --- rarp: guest_announce=off, QEMU asks the switch to announce ------------------
M2=52:54:00:82:00:02
ctl port add r1 vhost-user "$TEST_TMP/r1.sock" > /dev/null
ctl port add r2 vhost-user "$TEST_TMP/r2.sock" > /dev/null
guest_start ra "$TEST_TMP/r1.sock" $M2 10.82.0.2/24 --dev-opts ",guest_announce=off"
check "rarp: GUEST_ANNOUNCE not negotiated" 0 "$(( ($(jctl .features port show r1) >> 21) & 1 ))"
guest_ping ra $IPOUT > /dev/null || die "ra cannot reach the namespace"
guest_launch rb "$TEST_TMP/r2.sock" $M2 10.82.0.2/24 --incoming "unix:$TEST_TMP/guest-rb/migrate.sock" \
    --dev-opts ",guest_announce=off"
# No traffic at all: only the announcement can move the MAC.
"$VHSWCTL" --ctl "$VHSW_CTL_SOCK" capture r2 --direction rx --filter rarp --count 1 \
    -w "$TEST_TMP/rarp.pcapng" 2> "$TEST_TMP/capture.err" &
CAP_PID=$!
wait_num 10 -ge 1 jctl '[.[] | select(.port == "r2" and .state == "running")] | length' capture list ||
    die "rarp: the capture on r2 did not start"
check "rarp: MAC on r1 before" r1 "$(fdb_port $M2)"
mig=$(guest_migrate ra rb)
log "rarp: migrated: total $(jq -r '."total-time"' <<<"$mig") ms, QEMU downtime $(jq -r .downtime <<<"$mig") ms"
wait_str 10 r2 fdb_port $M2 || die "rarp: the announcement did not move $M2 to r2: $(fdb_port $M2)"
wait_until 10 _tp_dead "$CAP_PID" || die "rarp: no RARP captured on r2"
wait "$CAP_PID" || die "rarp: vhswctl capture failed: $(cat "$TEST_TMP/capture.err")"
rarp=$(tcpdump -nn -e -r "$TEST_TMP/rarp.pcapng" 2>/dev/null)
log "rarp: captured on r2: $rarp"
[[ $rarp == *"$M2 > ff:ff:ff:ff:ff:ff"* && $rarp == *"Reverse Request"* ]] ||
    die "rarp: the frame on r2 is not a RARP broadcast from $M2: $rarp"
check "rarp: announces counted" 1 "$(( $(jctl .migration.announces port show r2) >= 1 ))"
check "rarp: the announced MAC" $M2 "$(jctl .migration.announced_mac port show r2)"
check "rarp: port state" announced "$(jctl .migration.state port show r2)"
grep -q "port r2: live migration: the peer asks the switch to announce $M2 (RARP)" "$(vhswd_log)" ||
    die "rarp: no log line for the RARP request"
guest_ping rb $IPOUT > /dev/null || die "rb cannot reach the namespace after the move"
guest_quit ra
check "rarp: the source port is down, disconnected" "down false" \
    "$(port_state r1) $(jctl .connected port show r1)"
# And the steady-ping figures for this variant too.
guest_launch rc "$TEST_TMP/r1.sock" $M2 10.82.0.2/24 --incoming "unix:$TEST_TMP/guest-rc/migrate.sock" \
    --dev-opts ",guest_announce=off"
migrate rarp rb rc r2 r1
guest_stop rc

# --- mq: two queue pairs, a flow on each before and after the move --------------
# Without traffic during the move: with frames flowing on both queue pairs
# while it runs, the destination guest's kernel panicked (slab corruption
# in the receive path) in about 2 of 5 runs here, and never with one queue
# pair or without traffic (docs/qemu.md, "Multiqueue guests"; run it with
# MIGRATE_MQ_TRAFFIC=1).
M3=52:54:00:82:00:03
ctl port add q1 vhost-user "$TEST_TMP/q1.sock" --queues 2 > /dev/null
ctl port add q2 vhost-user "$TEST_TMP/q2.sock" --queues 2 > /dev/null
guest_start qa "$TEST_TMP/q1.sock" $M3 10.82.0.3/24 --queues 2
check "mq: the guest uses two queue pairs" 2 "$(guest_queues qa)"
wait_num 30 -eq 2 jctl .active_queues port show q1 || die "mq: the switch does not poll 2 queue pairs"
# flows GUEST PORT TAG: one flow per vCPU (XPS maps each CPU to its TX
# queue), every reply back, and both of the port's queue pairs carry frames.
flows() {
    local g=$1 p=$2 tag=$3 a1 a3 d1 d3
    a1=$(jctl '.vrings[1].last_avail_idx' port show "$p") a3=$(jctl '.vrings[3].last_avail_idx' port show "$p")
    guest_cmd "$g" "taskset 1 ping -q -c 50 -i 0.02 -w 30 $IPOUT > /tmp/f0 & taskset 2 ping -q -c 50 -i 0.02 -w 30 $IPOUT > /tmp/f1; wait; cat /tmp/f0 /tmp/f1" 60 > "$TEST_TMP/mq.out" ||
        die "mq: flows $tag lost packets: $(cat "$TEST_TMP/mq.out")"
    check "mq: both flows $tag got all replies" 2 "$(grep -c '50 packets transmitted, 50 packets received' "$TEST_TMP/mq.out")"
    d1=$(( $(jctl '.vrings[1].last_avail_idx' port show "$p") - a1 ))
    d3=$(( $(jctl '.vrings[3].last_avail_idx' port show "$p") - a3 ))
    log "mq: frames the switch took from $p's TX queues $tag: queue 0: $d1, queue 1: $d3"
    check "mq: queue pairs 0 and 1 of $p carried frames $tag" "1 1" "$(( d1 > 0 )) $(( d3 > 0 ))"
}
flows qa q1 "before the move"
guest_launch qb "$TEST_TMP/q2.sock" $M3 10.82.0.3/24 --queues 2 --incoming "unix:$TEST_TMP/guest-qb/migrate.sock"
if [[ ${MIGRATE_MQ_TRAFFIC:-0} == 1 ]]; then
    guest_cmd qa "taskset 1 ping -q -i 0.02 -c 400 $IPOUT > /tmp/f0 2>&1 & taskset 2 ping -q -i 0.02 -c 400 $IPOUT > /tmp/f1 2>&1 &" > /dev/null
    migrate mq qa qb q1 q2
    wait_until 60 guest_cmd qb "! pidof ping > /dev/null" 10 || die "mq: the in-guest flows did not finish"
else
    MIG_QUIET=1 migrate mq qa qb q1 q2
fi
wait_num 30 -eq 2 jctl .active_queues port show q2 || die "mq: the destination does not poll 2 queue pairs"
check "mq: the guest still uses two queue pairs" 2 "$(guest_queues qb)"
flows qb q2 "after the move"
guest_stop qb

# --- client: vhswd --client ports, QEMU owns both sockets -----------------------
M4=52:54:00:82:00:04
guest_launch ca "$TEST_TMP/c1.sock" $M4 10.82.0.4/24 --server
guest_wait_socket ca
ctl port add c1 vhost-user "$TEST_TMP/c1.sock" --client > /dev/null
guest_wait_ready ca
guest_ping ca $IPOUT > /dev/null || die "ca cannot reach the namespace"
guest_launch cb "$TEST_TMP/c2.sock" $M4 10.82.0.4/24 --server --incoming "unix:$TEST_TMP/guest-cb/migrate.sock"
guest_wait_socket cb
ctl port add c2 vhost-user "$TEST_TMP/c2.sock" --client > /dev/null
wait_str 30 true jctl .connected port show c2 || die "client: vhswd did not connect to the destination QEMU"
migrate client ca cb c1 c2
guest_stop cb

column -t "$RESULTS" | tee "$MIGRATE_RESULTS/downtime.txt"
guest_stop_all
vhswd_stop
echo "test_guest_migrate: $CHECKS checks passed"
