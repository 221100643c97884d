#!/usr/bin/env bash
# Issue 13's tenant controls with real traffic: every case sends frames
# from a real peer and asserts both what arrives at the receivers and the
# port's counters.
#
# Peers: kernel ports in this test's own network namespaces, where
# frames.py crafts frames on raw AF_PACKET sockets (spoofed sources, ARP,
# IPv6 ND, DHCP, DHCPv6, bursts) and records every frame each receiver
# gets; vhsw-pktgen (two virtio_user ports) for the storms and the
# policer.  What a receiver got is compared once it has caught up with
# what the switch says it sent to that port (tx_packets), so "nothing
# arrived" is asserted after the frames were seen and dropped, never
# after a sleep.
#
# Cases (each in a subshell of its own on the one vhswd; every case runs,
# the failures are listed at the end):
#   spoof-mac     source MAC spoofing dropped (rx_spoofed_mac), the FDB
#                 keeps the victim's MAC, its traffic still reaches it;
#                 with --allowed-macs any the same frames take it over
#   arp           ARP with a sender MAC or IPv4 not allowed dropped
#                 (rx_spoofed_arp), allowed ones and probes delivered
#   nd            neighbour advertisements/solicitations: targets not in
#                 --allowed-ips and link-layer options not allowed dropped
#                 (rx_spoofed_nd); allowed targets and the EUI-64
#                 link-local of the allowed MAC delivered
#   dhcp          --no-dhcp-server drops offers and DHCPv6 advertises
#                 (rx_dhcp_server), passes client messages;
#                 port set --dhcp-server lets offers through
#   storm         --storm-limit-pps 1000: broadcast, multicast and unknown
#                 unicast storms each limited (with their own counters),
#                 and a mixed storm shows the buckets are separate
#   isolated      isolated ports reach neither each other (unicast,
#                 rx_isolated; broadcast) but reach a non-isolated port and
#                 back; port set --no-isolated restores
#   rate-limit    port set --rate-limit 100 on a 600 Mbit/s sender: with
#                 --burst 3000 the receiver's rate within 10 % of 100
#                 Mbit/s, with the default burst at most 110 Mbit/s (see
#                 case_rate_limit); rx_policed; --rate-limit 0 lifts it
#   runtime       port set changes allowed MACs, allowed IPs and the storm
#                 limit under traffic, and every key shows; bad values are
#                 refused
#   fdb-max-macs, fdb-secure-port, fdb-move-damping
#                 the FDB side of --max-macs, MAC move damping (fdb set
#                 move-limit) and secure ports never taking over a MAC
#   roundtrip     (its own vhswd) config save and a restart from --config
#                 keep every tenant key
#
# VHSW_TENANT_CASES="arp nd" runs only the cases named.
#
# Everything runs in this test's namespaces and unix sockets; every
# process is tracked by PID and stopped on exit.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

ID=$$
NS1=vhsw$ID-t1 NS2=vhsw$ID-t2 NS3=vhsw$ID-t3
ALL_NS=("$NS1" "$NS2" "$NS3")
FRAMES=$HERE/frames.py
# The interpreter itself, not a wrapper (a pyenv shim costs 100 ms a call).
PYTHON=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}
: "${PKTGEN:=$VHSW_BUILD/tests/bench/vhsw-pktgen}"
: "${VHSW_TENANT_CASES:=}"   # names of the cases to run (default: all)

# MACs: attacker A, victim B, observer C, another D.
A=52:54:00:13:00:0a B=52:54:00:13:00:0b C=52:54:00:13:00:0c D=52:54:00:13:00:0d
BC=ff:ff:ff:ff:ff:ff
PG0=52:54:00:13:5a:00 PG1=52:54:00:13:5a:01   # vhsw-pktgen's ports

declare -a PASSED=() FAILED=() SKIPPED=()
CASE_PID=""

# kill_tracked DIR: stop every PID a case recorded in DIR/pids: SIGTERM
# (the receivers, vhsw-pktgen and vhswd exit cleanly on it), then SIGKILL
# what is left after 5 s.
kill_tracked() {
    local f=$1/pids p
    [[ -f $f ]] || return 0
    while read -r p; do
        [[ -n $p ]] && _tp_alive "$p" && kill -TERM "$p" 2>/dev/null
    done < "$f"
    while read -r p; do
        [[ -n $p ]] || continue
        wait_until 5 _tp_dead "$p" || kill -KILL "$p" 2>/dev/null
        wait_until 10 _tp_dead "$p"
    done < "$f"
    : > "$f"
    rm -rf /var/run/dpdk/vhsw-"$ID"-pg* 2>/dev/null
    return 0
}

tenant_cleanup() {
    local d ns
    [[ -n $CASE_PID ]] && kill -KILL "$CASE_PID" 2>/dev/null
    for d in "$TEST_TMP"/*/; do kill_tracked "${d%/}"; done
    for ns in "${ALL_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
    return 0
}
vhsw_test_init tenant tenant_cleanup
ROOT=$TEST_TMP
[[ -x $PKTGEN ]] || die "$PKTGEN missing: build first (. tests/setup.sh; vhsw_build)"

for ns in "${ALL_NS[@]}"; do
    ip netns add "$ns"
    # No IPv6 on the kernel ports: the stack would send its own frames
    # (MLD, router solicitations, DAD) from a MAC no policy allows.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
done

# --- helpers (inside a case: TEST_TMP is the case's directory) ------------

# track PID: stop PID when the case ends, whatever happens.
track() { echo "$1" >> "$TEST_TMP/pids"; }

# check_le WHAT A B / check_ge WHAT A B / check_range WHAT LO V HI: numeric
# checks (a value that is not a number, such as a missing counter, fails).
_is_num() {
    local v
    for v in "$@"; do
        [[ $v =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]] || return 1
    done
}
check_le() {
    _is_num "$2" "$3" || die "check failed: $1: '$2' <= '$3': not numbers"
    CHECKS=$((CHECKS + 1))
    awk -v a="$2" -v b="$3" 'BEGIN { exit !(a + 0 <= b + 0) }' ||
        die "check failed: $1: $2 > $3"
    log "ok: $1 ($2 <= $3)"
}
check_ge() {
    _is_num "$2" "$3" || die "check failed: $1: '$2' >= '$3': not numbers"
    CHECKS=$((CHECKS + 1))
    awk -v a="$2" -v b="$3" 'BEGIN { exit !(a + 0 >= b + 0) }' ||
        die "check failed: $1: $2 < $3"
    log "ok: $1 ($2 >= $3)"
}
check_range() {
    _is_num "$2" "$3" "$4" || die "check failed: $1: '$2' <= '$3' <= '$4': not numbers"
    CHECKS=$((CHECKS + 1))
    awk -v lo="$2" -v v="$3" -v hi="$4" 'BEGIN { exit !(v + 0 >= lo + 0 && v + 0 <= hi + 0) }' ||
        die "check failed: $1: $3 not in [$2, $4]"
    log "ok: $1 ($2 <= $3 <= $4)"
}

# calc EXPR: floating-point arithmetic, printed with up to 2 decimals.
calc() { awk "BEGIN { v = $1; printf(v == int(v) ? \"%d\n\" : \"%.2f\n\", v) }"; }

declare -gA NS_OF=() RX_BASE=()

# kport NAME NS [OPTIONS...]: a kernel port whose interface eth0 is in NS.
kport() {
    local name=$1 ns=$2
    shift 2
    ctl port add "$name" kernel --ifname eth0 --netns "/run/netns/$ns" "$@" > /dev/null
    NS_OF[$name]=$ns
    wait_port "$name" up
    [[ $(ip netns exec "$ns" sysctl -n net.ipv6.conf.eth0.disable_ipv6) == 1 ]] ||
        die "IPv6 is on for $name's interface: it would send frames of its own"
}

# vport NAME [OPTIONS...]: a vhost-user port on TEST_TMP/NAME.sock.
vport() {
    local name=$1
    shift
    ctl port add "$name" vhost-user "$TEST_TMP/$name.sock" "$@" > /dev/null
}

# rx_start PORT: record every frame PORT's interface receives.
rx_start() {
    local port=$1 ns=${NS_OF[$1]} pid
    rm -f "$TEST_TMP/rx-$port.ready"
    ip netns exec "$ns" "$PYTHON" "$FRAMES" recv eth0 --ready "$TEST_TMP/rx-$port.ready" \
        > "$TEST_TMP/rx-$port.txt" 2> "$TEST_TMP/rx-$port.err" &
    pid=$!
    track "$pid"
    wait_until 10 test -s "$TEST_TMP/rx-$port.ready" ||
        die "receiver on $port did not start: $(cat "$TEST_TMP/rx-$port.err")"
    RX_BASE[$port]=$(port_stat "$port" tx_packets)
}

_rx_lines() { wc -l < "$TEST_TMP/rx-$1.txt"; }
_rx_caught_up() { (( $(_rx_lines "$1") >= $(port_stat "$1" tx_packets) - ${RX_BASE[$1]} )); }

# rx_sync PORT...: wait until each receiver got all the switch sent its port.
rx_sync() {
    local p sent got
    for p in "$@"; do
        wait_until 10 _rx_caught_up "$p" ||
            die "receiver on $p got $(_rx_lines "$p") frames, the switch sent it $(( $(port_stat "$p" tx_packets) - ${RX_BASE[$p]} ))"
        sent=$(( $(port_stat "$p" tx_packets) - ${RX_BASE[$p]} ))
        got=$(_rx_lines "$p")
        (( got == sent )) || die "receiver on $p got $got frames, the switch sent it $sent"
    done
}

# rx_n PORT TAG: frames with TAG PORT's receiver got.
rx_n() { awk -v t="$2" '$1 == t { n++ } END { print n + 0 }' "$TEST_TMP/rx-$1.txt"; }

# rx_srcs PORT TAG: distinct source MACs of those frames.
rx_srcs() { awk -v t="$2" '$1 == t { s[$2] = 1 } END { print length(s) }' "$TEST_TMP/rx-$1.txt"; }

# fsend PORT COUNT KIND [OPTIONS...]: COUNT frames from PORT's interface
# (frames.py send); returns once the switch received all of them.
fsend() {
    local port=$1 count=$2 kind=$3 rx0
    shift 3
    rx0=$(port_stat "$port" rx_packets)
    ip netns exec "${NS_OF[$port]}" "$PYTHON" "$FRAMES" send eth0 "$kind" --count "$count" "$@"
    wait_num 10 -ge $((rx0 + count)) port_stat "$port" rx_packets ||
        die "port $port received $(( $(port_stat "$port" rx_packets) - rx0 )) of the $count $kind frames sent"
}

# ps_key PORT KEY: one tenant key of port show, MACs in lower case (the
# FDB and port list show them so; allowed_macs comes in upper case).
ps_key() { jctl ".$2 | if type == \"string\" then ascii_downcase else . end" port show "$1"; }

fdb_stat() { jctl ".fdb.$1" stats; }

# learned_on PORT: learned (non-static) FDB entries of PORT.
learned_on() { jctl '[.[] | select(.static | not)] | length' fdb show "$1"; }

# --- vhsw-pktgen ------------------------------------------------------------
PG_PID="" PG_N=0 PG_PREFIX=""

# pg_start OUT PORT0 PORT1 ARGS...: vhsw-pktgen on the sockets of two
# vhost-user ports (transmits on PORT0, receives on PORT1), CPU 0.
pg_start() {
    local out=$1 p0=$2 p1=$3
    shift 3
    PG_N=$((PG_N + 1)) PG_PREFIX=vhsw-$ID-pg$BASHPID-$PG_N
    ( exec "$PKTGEN" --lcores 0@0 --no-huge -m 512 --no-pci --no-shconf \
        --file-prefix "$PG_PREFIX" \
        --vdev "virtio_user0,path=$TEST_TMP/$p0.sock,queue_size=1024,mac=$PG0" \
        --vdev "virtio_user1,path=$TEST_TMP/$p1.sock,queue_size=1024,mac=$PG1" \
        -- "$@" ) > "$out" 2> "$out.log" &
    PG_PID=$!
    track "$PG_PID"
}

# pg_wait OUT [TIMEOUT=60]: wait for vhsw-pktgen's exit and its JSON line.
pg_wait() {
    local out=$1 rc=0
    wait_until "${2:-60}" _tp_dead "$PG_PID" || {
        kill -KILL "$PG_PID" 2>/dev/null
        die "vhsw-pktgen did not finish in ${2:-60}s: $(tail -3 "$out.log")"
    }
    wait "$PG_PID" || rc=$?
    rm -rf "/var/run/dpdk/$PG_PREFIX"
    PG_PID=""
    if (( rc != 0 )) || ! jq -e .rx_packets "$out" > /dev/null 2>&1; then
        die "vhsw-pktgen failed (exit $rc): $(tail -5 "$out.log")"
    fi
}

# stats_at FILE: one `stats` reply with the time it was taken (the
# midpoint of the call, in microseconds) as .t_us.
stats_at() {
    local t0 t1
    t0=$(_tp_now_us)
    ctl --json stats > "$1.raw"
    t1=$(_tp_now_us)
    jq --argjson t $(( (t0 + t1) / 2 )) --argjson d $(( t1 - t0 )) \
        '. + {t_us: $t, call_us: $d}' "$1.raw" > "$1"
}
_elapsed_ge() { (( $(_tp_now_us) - $1 >= $2 * 1000000 )); }

# === cases ===================================================================

case_spoof_mac() {
    local moves0
    moves0=$(fdb_stat moves)
    kport atk "$NS1" --mac $A
    kport vic "$NS2"
    kport obs "$NS3"
    check "attacker allows its --mac only" "$A" "$(ps_key atk allowed_macs)"
    check "victim has no port security" any "$(ps_key vic allowed_macs)"
    rx_start atk; rx_start vic; rx_start obs
    fsend vic 1 raw --src $B --tag learnB
    fsend obs 1 raw --src $C --tag learnC
    check "B learned on the victim's port" vic "$(fdb_port $B)"
    check "C learned on the observer's port" obs "$(fdb_port $C)"

    # The attacker claims B.
    fsend atk 50 raw --src $B --dst $C --tag spoof
    check "rx_spoofed_mac" 50 "$(port_stat atk rx_spoofed_mac)"
    check "rx_dropped" 50 "$(port_stat atk rx_dropped)"
    rx_sync obs vic
    check "the observer got none of the spoofed frames" 0 "$(rx_n obs spoof)"
    check "B stays on the victim's port" vic "$(fdb_port $B)"
    check "no FDB move" 0 $(( $(fdb_stat moves) - moves0 ))
    # The victim's traffic still goes to the victim.
    fsend obs 20 raw --src $C --dst $B --tag tovic
    rx_sync vic atk
    check "the victim got its 20 frames" 20 "$(rx_n vic tovic)"
    check "the attacker got none of them" 0 "$(rx_n atk tovic)"
    check "the attacker's port sent nothing but learning frames" 2 "$(_rx_lines atk)"

    # Without port security the same frames take B over (the old
    # behaviour): this is what the control prevents.
    ctl port set atk --allowed-macs any > /dev/null
    check "port set --allowed-macs any" any "$(ps_key atk allowed_macs)"
    fsend atk 5 raw --src $B --dst $C --tag spoof2
    rx_sync obs
    check "unprotected: the observer got the spoofed frames" 5 "$(rx_n obs spoof2)"
    check "unprotected: B moved to the attacker's port" atk "$(fdb_port $B)"
    fsend obs 5 raw --src $C --dst $B --tag stolen
    rx_sync vic atk
    check "unprotected: the attacker gets the victim's traffic" 5 "$(rx_n atk stolen)"
    check "unprotected: the victim gets none" 0 "$(rx_n vic stolen)"
    check "rx_spoofed_mac unchanged" 50 "$(port_stat atk rx_spoofed_mac)"
}

case_arp() {
    kport atk "$NS1" --mac $A --allowed-ips 10.13.0.10
    kport vic "$NS2"
    check "allowed_ips shown" 10.13.0.10 "$(ps_key atk allowed_ips)"
    rx_start vic
    # Allowed: its MAC and IPv4 address.
    fsend atk 5 arp --src $A --op request --spa 10.13.0.10 --tpa 10.13.0.11 --tag arp-ok
    fsend atk 5 arp --src $A --op reply --spa 10.13.0.10 --tpa 10.13.0.10 --tag garp-ok
    # Claims the victim's IPv4 address (gratuitous reply, ARP poisoning).
    fsend atk 5 arp --src $A --op reply --spa 10.13.0.11 --tpa 10.13.0.11 --tag arp-ip
    # Allowed Ethernet source, but the ARP sender MAC is B's.
    fsend atk 5 arp --src $A --sha $B --op reply --spa 10.13.0.10 --tpa 10.13.0.10 --tag arp-sha
    # An address probe (RFC 5227): sender 0.0.0.0 claims nothing.
    fsend atk 5 arp --src $A --op request --spa 0.0.0.0 --tpa 10.13.0.12 --tag probe
    check "rx_spoofed_arp" 10 "$(port_stat atk rx_spoofed_arp)"
    check "rx_spoofed_mac" 0 "$(port_stat atk rx_spoofed_mac)"
    check "rx_dropped" 10 "$(port_stat atk rx_dropped)"
    rx_sync vic
    check "allowed request delivered" 5 "$(rx_n vic arp-ok)"
    check "allowed gratuitous reply delivered" 5 "$(rx_n vic garp-ok)"
    check "probe delivered" 5 "$(rx_n vic probe)"
    check "reply claiming another IPv4 dropped" 0 "$(rx_n vic arp-ip)"
    check "reply with another sender MAC dropped" 0 "$(rx_n vic arp-sha)"
}

case_nd() {
    local ll_a ll_b
    ll_a=$("$PYTHON" "$FRAMES" ll $A)
    ll_b=$("$PYTHON" "$FRAMES" ll $B)
    kport atk "$NS1" --mac $A --allowed-ips 10.13.0.10,fd13::10
    kport vic "$NS2"
    check "allowed_ips shown" 10.13.0.10,fd13::10 "$(ps_key atk allowed_ips)"
    rx_start vic
    fsend atk 5 na --src $A --target fd13::11 --tag na-bad       # not allowed
    fsend atk 5 na --src $A --target fd13::10 --tag na-ok        # allowed
    fsend atk 5 na --src $A --target "$ll_a" --tag na-ll        # A's EUI-64 link-local
    fsend atk 5 na --src $A --target "$ll_b" --tag na-llb       # B's link-local
    fsend atk 5 na --src $A --target fd13::10 --lla $B --tag na-tlla  # allowed target, TLLA B
    fsend atk 5 ns --src $A --target fd13::11 --tag ns-ok        # SLLA A
    fsend atk 5 ns --src $A --target fd13::11 --lla $B --tag ns-slla  # SLLA B
    check "rx_spoofed_nd" 20 "$(port_stat atk rx_spoofed_nd)"
    check "rx_spoofed_mac" 0 "$(port_stat atk rx_spoofed_mac)"
    rx_sync vic
    check "NA for an address not allowed dropped" 0 "$(rx_n vic na-bad)"
    check "NA for an allowed address delivered" 5 "$(rx_n vic na-ok)"
    check "NA for the allowed MAC's EUI-64 link-local delivered" 5 "$(rx_n vic na-ll)"
    check "NA for another MAC's link-local dropped" 0 "$(rx_n vic na-llb)"
    check "NA with another MAC in its TLLA option dropped" 0 "$(rx_n vic na-tlla)"
    check "NS with the allowed MAC delivered" 5 "$(rx_n vic ns-ok)"
    check "NS with another MAC in its SLLA option dropped" 0 "$(rx_n vic ns-slla)"
}

case_dhcp() {
    kport atk "$NS1" --mac $A --no-dhcp-server
    kport vic "$NS2"
    check "dhcp_server shown" false "$(ps_key atk dhcp_server)"
    rx_start vic
    fsend atk 5 dhcp4 --src $A --msg offer --spa 10.13.0.1 --tpa 10.13.0.50 --tha $B --tag offer
    fsend atk 5 dhcp6 --src $A --msg advertise --tag adv
    fsend atk 5 dhcp4 --src $A --msg discover --tag discover
    fsend atk 5 dhcp6 --src $A --msg solicit --tag solicit
    check "rx_dhcp_server" 10 "$(port_stat atk rx_dhcp_server)"
    check "rx_dropped" 10 "$(port_stat atk rx_dropped)"
    rx_sync vic
    check "offer (UDP 67 -> 68) dropped" 0 "$(rx_n vic offer)"
    check "DHCPv6 advertise (547 -> 546) dropped" 0 "$(rx_n vic adv)"
    check "discover (68 -> 67) delivered" 5 "$(rx_n vic discover)"
    check "DHCPv6 solicit (546 -> 547) delivered" 5 "$(rx_n vic solicit)"

    ctl port set atk --dhcp-server > /dev/null
    check "port set --dhcp-server" true "$(ps_key atk dhcp_server)"
    fsend atk 5 dhcp4 --src $A --msg offer --spa 10.13.0.1 --tpa 10.13.0.50 --tha $B --tag offer2
    fsend atk 5 dhcp6 --src $A --msg advertise --tag adv2
    rx_sync vic
    check "offer delivered after --dhcp-server" 5 "$(rx_n vic offer2)"
    check "advertise delivered after --dhcp-server" 5 "$(rx_n vic adv2)"
    check "rx_dhcp_server unchanged" 10 "$(port_stat atk rx_dhcp_server)"
    # Port security still on: the MAC check does not depend on DHCP.
    check "allowed_macs unchanged by port set" "$A" "$(ps_key atk allowed_macs)"
}

STORM_PPS=1000 STORM_BURST=100   # 100 ms of packets (policy.c: pps / 10, >= 32)
MCAST=01:00:5e:00:00:fb UNKNOWN=52:54:00:13:99:99

# storm_run CLASS DST: one storm of DST frames, as fast as 0.2 Mpps, for
# 1.5 s from s0 (--storm-limit-pps) to s1.
storm_run() {
    local cls=$1 dst=$2 out=$TEST_TMP/storm-$1.json c
    local -A before=() after=()
    for c in rx_packets flooded rx_storm_bcast rx_storm_mcast rx_storm_unknown rx_dropped; do
        before[$c]=$(port_stat s0 $c)
    done
    before[tx1]=$(port_stat s1 tx_packets)
    pg_start "$out" s0 s1 --no-learn --dst-mac "$dst" --rate-mpps 0.2 \
        --duration 1.5 --warmup 0 --drain 0.2
    pg_wait "$out"
    wait_port s0 down   # the counters are final
    for c in rx_packets flooded rx_storm_bcast rx_storm_mcast rx_storm_unknown rx_dropped; do
        after[$c]=$(( $(port_stat s0 $c) - ${before[$c]} ))
    done
    after[tx1]=$(( $(port_stat s1 tx_packets) - before[tx1] ))
    local w passed dropped bound
    w=$(jq .duration_s "$out")
    passed=${after[flooded]} dropped=${after[rx_storm_$cls]}
    bound=$(calc "1.5 * $STORM_PPS * ($w + 0.5) + $STORM_BURST")
    log "$cls storm: sent $(jq .tx_packets "$out") in ${w}s, switch got ${after[rx_packets]}, passed $passed, dropped $dropped; receiver got $(jq .rx_packets "$out") in the window"
    check_ge "$cls: frames passed" "$passed" 1
    check_le "$cls: frames passed (<= 1.5 x limit x (window + 0.5 s) + burst)" "$passed" "$bound"
    check_ge "$cls: the storm exceeded the limit (dropped >= passed)" "$dropped" "$passed"
    check "$cls: received = passed + rx_storm_$cls" "${after[rx_packets]}" $((passed + dropped))
    check "$cls: rx_dropped = rx_storm_$cls" "$dropped" "${after[rx_dropped]}"
    for c in bcast mcast unknown; do
        [[ $c == "$cls" ]] && continue
        check "$cls storm: rx_storm_$c unchanged" 0 "${after[rx_storm_$c]}"
    done
    # (less the first probes if they came before the receiver's port was up)
    check_range "$cls: the receiver's port sent what passed" $((passed - 20)) "${after[tx1]}" "$passed"
    check_le "$cls: vhsw-pktgen received no more" "$(jq .rx_packets "$out")" "$passed"
}

case_storm() {
    vport s0 --storm-limit-pps $STORM_PPS
    vport s1
    check "storm_limit_pps shown" $STORM_PPS "$(ps_key s0 storm_limit_pps)"
    storm_run bcast $BC
    storm_run mcast $MCAST
    storm_run unknown $UNKNOWN

    # All three at once, interleaved: each class has its own bucket, so
    # each gets its ~1000/s (a shared bucket would leave a third each).
    local out=$TEST_TMP/storm-mixed.json b0 m0 u0 w i n lo hi
    b0=$(port_stat s0 rx_storm_bcast) m0=$(port_stat s0 rx_storm_mcast) u0=$(port_stat s0 rx_storm_unknown)
    pg_start "$out" s0 s1 --no-learn --dst-mac "$BC,$MCAST,$UNKNOWN" --rate-mpps 0.3 \
        --duration 2 --warmup 0 --drain 0.2
    pg_wait "$out"
    wait_port s0 down
    w=$(jq .duration_s "$out")
    log "mixed storm: $(jq -c '{tx_packets, rx_packets, duration_s, rx_per_dst}' "$out")"
    lo=$(calc "0.5 * $STORM_PPS * $w")
    hi=$(calc "1.5 * $STORM_PPS * ($w + 0.5) + $STORM_BURST")
    for i in 0 1 2; do
        n=$(jq ".rx_per_dst[$i]" "$out")
        check_range "mixed storm: received to $(jq -r ".dst_macs[$i]" "$out") (>= half the limit: own bucket)" "$lo" "$n" "$hi"
    done
    check_ge "mixed storm: rx_storm_bcast grew" $(( $(port_stat s0 rx_storm_bcast) - b0 )) 1
    check_ge "mixed storm: rx_storm_mcast grew" $(( $(port_stat s0 rx_storm_mcast) - m0 )) 1
    check_ge "mixed storm: rx_storm_unknown grew" $(( $(port_stat s0 rx_storm_unknown) - u0 )) 1
}

case_isolated() {
    kport i1 "$NS1" --isolated
    kport i2 "$NS2" --isolated
    kport n "$NS3"
    check "isolated shown" "true true false" \
        "$(ps_key i1 isolated) $(ps_key i2 isolated) $(ps_key n isolated)"
    rx_start i1; rx_start i2; rx_start n
    # Each announces itself (broadcast): learned, and the broadcasts of
    # isolated ports reach only the non-isolated one.
    fsend i1 1 raw --src $A --tag hello1
    fsend i2 1 raw --src $B --tag hello2
    fsend n 1 raw --src $C --tag hellon
    check "all three learned" "i1 i2 n" "$(fdb_port $A) $(fdb_port $B) $(fdb_port $C)"
    fsend i1 10 raw --src $A --dst $B --tag i1toi2
    fsend i2 10 raw --src $B --dst $A --tag i2toi1
    fsend i1 10 raw --src $A --tag i1bc
    fsend i1 10 raw --src $A --dst $C --tag i1ton
    fsend i2 10 raw --src $B --dst $C --tag i2ton
    fsend n 10 raw --src $C --dst $A --tag ntoi1
    fsend n 10 raw --src $C --dst $B --tag ntoi2
    check "rx_isolated of i1 (its unicast to i2)" 10 "$(port_stat i1 rx_isolated)"
    check "rx_isolated of i2 (its unicast to i1)" 10 "$(port_stat i2 rx_isolated)"
    check "rx_isolated of n" 0 "$(port_stat n rx_isolated)"
    rx_sync i1 i2 n
    check "i2 got no unicast from i1" 0 "$(rx_n i2 i1toi2)"
    check "i1 got no unicast from i2" 0 "$(rx_n i1 i2toi1)"
    check "i2 got no broadcast from i1" "0 0" "$(rx_n i2 i1bc) $(rx_n i2 hello1)"
    check "i1 got no broadcast from i2" 0 "$(rx_n i1 hello2)"
    check "n got i1's broadcasts" "10 1" "$(rx_n n i1bc) $(rx_n n hello1)"
    check "n got i1's and i2's unicast" "10 10" "$(rx_n n i1ton) $(rx_n n i2ton)"
    check "i1 and i2 got n's unicast" "10 10" "$(rx_n i1 ntoi1) $(rx_n i2 ntoi2)"
    check "i1 and i2 got n's broadcast" "1 1" "$(rx_n i1 hellon) $(rx_n i2 hellon)"

    ctl port set i2 --no-isolated > /dev/null
    check "port set --no-isolated" false "$(ps_key i2 isolated)"
    fsend i1 10 raw --src $A --dst $B --tag i1toi2b
    fsend i2 10 raw --src $B --dst $A --tag i2toi1b
    fsend i1 10 raw --src $A --tag i1bcb
    rx_sync i1 i2
    check "after --no-isolated: i1 -> i2 unicast" 10 "$(rx_n i2 i1toi2b)"
    check "after --no-isolated: i2 -> i1 unicast" 10 "$(rx_n i1 i2toi1b)"
    check "after --no-isolated: i1's broadcast reaches i2" 10 "$(rx_n i2 i1bcb)"
    check "rx_isolated unchanged" "10 10" "$(port_stat i1 rx_isolated) $(port_stat i2 rx_isolated)"
}

# rate_between A B: Mbit/s of r1's tx_bytes, r0's rx_bytes between two
# stats_at files, and r0's rx_policed delta.
rate_between() {
    jq -n --slurpfile a "$1" --slurpfile b "$2" '
        ($b[0].t_us - $a[0].t_us) as $dt
        | { seconds: ($dt / 1e6),
            rx_mbps: (($b[0].ports.r1.tx_bytes - $a[0].ports.r1.tx_bytes) * 8 / $dt),
            offered_mbps: (($b[0].ports.r0.rx_bytes - $a[0].ports.r0.rx_bytes) * 8 / $dt),
            policed: ($b[0].ports.r0.rx_policed - $a[0].ports.r0.rx_policed),
            call_us: ([$a[0].call_us, $b[0].call_us] | max),
            frame: (($b[0].ports.r1.tx_bytes - $a[0].ports.r1.tx_bytes)
                    / ([($b[0].ports.r1.tx_packets - $a[0].ports.r1.tx_packets), 1] | max)) }'
}

# rate_window TAG SECONDS: r0 -> r1 over >= SECONDS, timed by when the
# counters were read; prints rate_between's object.
rate_window() {
    local t0
    stats_at "$TEST_TMP/$1.a"
    t0=$(jq .t_us "$TEST_TMP/$1.a")
    wait_until 20 _elapsed_ge "$t0" "$2"
    stats_at "$TEST_TMP/$1.b"
    rate_between "$TEST_TMP/$1.a" "$TEST_TMP/$1.b"
}

# The policer is an srTCM meter (CIR = the rate, CBS = --burst): over an
# interval T starting once frames are being policed (the bucket empty),
# what passes is at most CIR x T + CBS, and at least CIR x T - CBS unless
# the sender pauses longer than CBS / CIR (a full bucket loses tokens).
# vhsw-pktgen shares CPU 0 with everything but the data plane and pauses
# for tens of ms, 150 ms seen (max_loop_gap_us), longer than even the
# default burst's 100 ms (with a 10 ms default, 62-96 Mbit/s were
# measured, which is why the default is 100 ms).  So the +-10 % measurement
# uses --burst 3000 (245 ms at 100 Mbit/s; what the bucket holds at either
# end of the window is at most 6 % of 4 s); the default burst gets the
# upper bound.
case_rate_limit() {
    local out=$TEST_TMP/rate.json r p0
    vport r0
    vport r1
    # 1518-byte frames (1514 bytes in the switch) at 50 kpps: 606 Mbit/s.
    pg_start "$out" r0 r1 --size 1518 --rate-mpps 0.05 --duration 60 --warmup 0
    wait_num 30 -ge 5000 port_stat r1 tx_packets ||
        die "no traffic from vhsw-pktgen: $(tail -3 "$out.log")"

    ctl port set r0 --rate-limit 100 > /dev/null
    check "rate_limit shown" 100 "$(ps_key r0 rate_limit)"
    check "default burst: 100 ms at the rate" 1220 "$(ps_key r0 burst)"
    wait_stat r0 rx_policed 1
    r=$(rate_window default 3)
    log "limited, default burst: $(jq -c . <<<"$r")"
    check "frames of 1514 bytes" 1514 "$(jq '.frame | floor' <<<"$r")"
    check_ge "the sender offers well above the limit (Mbit/s)" "$(jq .offered_mbps <<<"$r")" 300
    check_range "default burst: rate at the receiver (Mbit/s, at most the limit + 10 %)" \
        1 "$(jq .rx_mbps <<<"$r")" 110
    check_ge "rx_policed grew" "$(jq .policed <<<"$r")" 1

    ctl port set r0 --burst 3000 > /dev/null
    check "burst shown" "100 3000" "$(ps_key r0 rate_limit) $(ps_key r0 burst)"
    p0=$(port_stat r0 rx_policed)
    wait_stat r0 rx_policed $((p0 + 1))   # the new bucket (full) emptied
    r=$(rate_window burst 4)
    log "limited, --burst 3000: $(jq -c . <<<"$r")"
    check_range "rate at the receiver within 10 % of 100 Mbit/s" 90 "$(jq .rx_mbps <<<"$r")" 110
    check_ge "the sender offers well above the limit (Mbit/s)" "$(jq .offered_mbps <<<"$r")" 300
    check_ge "rx_policed grew" "$(jq .policed <<<"$r")" 1
    check_le "counters read within 50 ms (timing error < 2 %)" "$(jq .call_us <<<"$r")" 50000

    ctl port set r0 --rate-limit 0 > /dev/null
    check "--rate-limit 0 shown" 0 "$(ps_key r0 rate_limit)"
    r=$(rate_window off 1)
    log "unlimited: $(jq -c . <<<"$r")"
    check "no policing after --rate-limit 0" 0 "$(jq .policed <<<"$r")"
    check_ge "rate after --rate-limit 0 (Mbit/s)" "$(jq .rx_mbps <<<"$r")" 300
    kill -TERM "$PG_PID"
    pg_wait "$out"
    log "vhsw-pktgen: $(jq -c '{tx_packets, rx_packets, duration_s, max_loop_gap_us}' "$out")"
}

case_runtime() {
    local d0 f0 rx0 n t0 t1 dur bound
    kport k "$NS1" --mac $A --allowed-ips 10.13.0.10
    kport v "$NS2"
    rx_start v
    # Allowed MACs.
    fsend k 5 raw --src $B --tag fromB
    check "B not allowed" 5 "$(port_stat k rx_spoofed_mac)"
    ctl port set k --allowed-macs $A,$B > /dev/null
    check "port set --allowed-macs A,B" "$A,$B" "$(ps_key k allowed_macs)"
    fsend k 5 raw --src $B --tag fromB2
    check "rx_spoofed_mac unchanged" 5 "$(port_stat k rx_spoofed_mac)"
    # Allowed IPs.
    fsend k 5 arp --src $A --op reply --spa 10.13.0.20 --tpa 10.13.0.20 --tag arp20
    check "10.13.0.20 not allowed" 5 "$(port_stat k rx_spoofed_arp)"
    ctl port set k --allowed-ips 10.13.0.10,10.13.0.20 > /dev/null
    check "port set --allowed-ips" 10.13.0.10,10.13.0.20 "$(ps_key k allowed_ips)"
    fsend k 5 arp --src $A --op reply --spa 10.13.0.20 --tpa 10.13.0.20 --tag arp20b
    check "rx_spoofed_arp unchanged" 5 "$(port_stat k rx_spoofed_arp)"
    rx_sync v
    check "B's frames: dropped, then delivered" "0 5" "$(rx_n v fromB) $(rx_n v fromB2)"
    check "ARP for .20: dropped, then delivered" "0 5" "$(rx_n v arp20) $(rx_n v arp20b)"

    # Storm limit: 300 broadcasts back to back, with and without it.
    ctl port set k --storm-limit-pps 100 > /dev/null
    check "port set --storm-limit-pps" 100 "$(ps_key k storm_limit_pps)"
    d0=$(port_stat k rx_storm_bcast) f0=$(port_stat k flooded) rx0=$(port_stat k rx_packets)
    t0=$(_tp_now_us)
    fsend k 300 raw --src $A --tag burst1
    t1=$(_tp_now_us)
    dur=$(calc "($t1 - $t0) / 1e6")
    n=$(( $(port_stat k flooded) - f0 ))
    bound=$(calc "32 + 100 * ($dur + 1)")   # a burst of 32 (policy.c), 100/s
    check_le "storm limit 100/s: broadcasts passed" "$n" "$bound"
    check "the rest counted in rx_storm_bcast" $((300 - n)) $(( $(port_stat k rx_storm_bcast) - d0 ))
    rx_sync v
    check "the receiver got what passed" "$n" "$(rx_n v burst1)"
    ctl port set k --storm-limit-pps 0 > /dev/null
    check "port set --storm-limit-pps 0" 0 "$(ps_key k storm_limit_pps)"
    d0=$(port_stat k rx_storm_bcast)
    fsend k 300 raw --src $A --tag burst2
    rx_sync v
    check "no storm limit: all 300 delivered" 300 "$(rx_n v burst2)"
    check "no storm limit: rx_storm_bcast unchanged" "$d0" "$(port_stat k rx_storm_bcast)"

    # Port security off.
    ctl port set k --allowed-macs any --allowed-ips any > /dev/null
    check "port set any, any" "any any" "$(ps_key k allowed_macs) $(ps_key k allowed_ips)"
    fsend k 5 raw --src $D --tag fromD
    fsend k 5 arp --src $D --op reply --spa 10.13.0.99 --tpa 10.13.0.99 --tag arp99
    rx_sync v
    check "any: frames from D and its ARP delivered" "5 5" "$(rx_n v fromD) $(rx_n v arp99)"

    # Every other key, set and shown, then back to its default.
    ctl port set k --no-dhcp-server --max-macs 4 --mac-limit-action forward \
        --isolated --rate-limit 50 --burst 256 > /dev/null
    check "all keys set" "false 4 forward true 50 256" \
        "$(jctl '"\(.dhcp_server) \(.max_macs) \(.mac_limit_action) \(.isolated) \(.rate_limit) \(.burst)"' port show k)"
    ctl port set k --dhcp-server --max-macs 0 --mac-limit-action drop --no-isolated \
        --rate-limit 0 > /dev/null
    check "all keys back" "true 0 drop false 0" \
        "$(jctl '"\(.dhcp_server) \(.max_macs) \(.mac_limit_action) \(.isolated) \(.rate_limit)"' port show k)"
    # Refused values leave the port as it was.
    local bad
    for bad in "--allowed-macs ff:ff:ff:ff:ff:ff" "--allowed-macs 52:54:00:13:00" \
        "--allowed-ips 10.13.0" "--mac-limit-action maybe" "--storm-limit-pps -1"; do
        # shellcheck disable=SC2086
        if ctl port set k $bad > /dev/null 2>&1; then die "port set k $bad was accepted"; fi
    done
    log "ok: bad values refused"
    check "still any after the refusals" any "$(ps_key k allowed_macs)"
}

# --- the FDB side ---------------------------------------------------------

case_fdb_max_macs() {
    kport lim "$NS1" --max-macs 4
    kport rcv "$NS2"
    check "max_macs shown" "4 drop" "$(ps_key lim max_macs) $(ps_key lim mac_limit_action)"
    rx_start rcv
    # 16 source MACs, 10 rounds: the first 4 are learned, the others are
    # new MACs at the limit.
    fsend lim 160 raw --src 52:54:00:13:a0:00 --src-count 16 --tag lim
    check "learned for the port: the limit" 4 "$(learned_on lim)"
    check "rx_mac_limit: frames of the 12 others" 120 "$(port_stat lim rx_mac_limit)"
    check_ge "FDB limit_refused" "$(fdb_stat limit_refused)" 1
    rx_sync rcv
    check "drop: frames of 4 MACs arrived" "40 4" "$(rx_n rcv lim) $(rx_srcs rcv lim)"

    ctl port set lim --mac-limit-action forward > /dev/null
    check "port set --mac-limit-action forward" forward "$(ps_key lim mac_limit_action)"
    fsend lim 160 raw --src 52:54:00:13:b0:00 --src-count 16 --tag fwd
    rx_sync rcv
    check "forward: all 16 new MACs' frames arrived" "160 16" "$(rx_n rcv fwd) $(rx_srcs rcv fwd)"
    check "forward: still 4 learned" 4 "$(learned_on lim)"
    check "forward: none of the new MACs learned" "" \
        "$(jctl '.[] | select(.mac | startswith("52:54:00:13:b0")) | .mac' fdb show)"
    check "forward: rx_mac_limit unchanged" 120 "$(port_stat lim rx_mac_limit)"
}

case_fdb_move_damping() {
    local m=52:54:00:13:c0:01 frozen0
    kport p1 "$NS1"
    kport p2 "$NS2"
    ctl fdb set move-limit 5 > /dev/null
    frozen0=$(fdb_stat move_frozen)
    fsend p1 1 raw --src $m --tag orig
    check "learned on its original port" p1 "$(fdb_port $m)"
    # 40 frames 20 ms apart, alternately from p1's and p2's namespaces: 39
    # moves in 0.8 s, about 50 a second; the last frame comes from p2.
    ip netns exec "$NS1" "$PYTHON" "$FRAMES" flap "$NS1" "$NS2" eth0 --src $m \
        --count 40 --interval 0.02 --tag flap
    wait_num 10 -ge 21 port_stat p1 rx_packets || die "p1 did not receive the flap"
    wait_num 10 -ge 20 port_stat p2 rx_packets || die "p2 did not receive the flap"
    check "frozen on its original port" p1 "$(fdb_port $m)"
    check_ge "FDB move_frozen" $(( $(fdb_stat move_frozen) - frozen0 )) 1
}

case_fdb_secure_port() {
    kport atk "$NS1" --mac $A --allowed-macs $A,$B
    kport vic "$NS2"
    fsend vic 1 raw --src $B --tag learnB
    check "B learned on the victim's port" vic "$(fdb_port $B)"
    fsend atk 10 raw --src $B --tag claimB
    check "B is allowed on the attacker's port (no spoofing drop)" 0 "$(port_stat atk rx_spoofed_mac)"
    check "a secure port does not take B over" vic "$(fdb_port $B)"
    check_ge "FDB secure_refused" "$(fdb_stat secure_refused)" 1
}

# --- the round trip (its own vhswd) ---------------------------------------

TENANT_KEYS='["allowed_macs","allowed_ips","dhcp_server","max_macs","mac_limit_action","storm_limit_pps","isolated","rate_limit","burst"]'
tenant_snapshot() {
    ctl --json port list | jq -S --argjson k "$TENANT_KEYS" \
        'map(. as $p | {name} + ([$k[] | {(.): $p[.]}] | add)) | sort_by(.name)' > "$1"
}

case_roundtrip() {
    local f1=$TEST_TMP/file1.json f2=$TEST_TMP/file2.json
    vhswd_start
    track "$VHSWD_PID"
    vport rt1 --mac $A --allowed-macs $A,$B --allowed-ips 10.13.0.10,fd13::10 \
        --no-dhcp-server --max-macs 4 --mac-limit-action forward --storm-limit-pps 500 \
        --isolated --rate-limit 50 --burst 256
    vport rt2 --mac $C                       # the defaults: allowed C only
    vport rt3 --mac $D --allowed-macs any    # port security off, with a --mac
    vport rt4 --rate-limit 100               # the default burst
    ctl port add rt5 kernel --ifname eth0 --netns "/run/netns/$NS1" --mac $A \
        --allowed-ips fd13::10 --isolated > /dev/null
    ctl port set rt2 --storm-limit-pps 1000 > /dev/null
    ctl port set rt4 --no-isolated --max-macs 8 > /dev/null
    tenant_snapshot "$TEST_TMP/before"
    log "before: $(jq -c . "$TEST_TMP/before")"
    check "rt1 as set" "$A,$B 10.13.0.10,fd13::10 false 4 forward 500 true 50 256" \
        "$(jq -r '.[] | select(.name == "rt1") | "\(.allowed_macs | ascii_downcase) \(.allowed_ips) \(.dhcp_server) \(.max_macs) \(.mac_limit_action) \(.storm_limit_pps) \(.isolated) \(.rate_limit) \(.burst)"' "$TEST_TMP/before")"
    ctl config save "$f1" > /dev/null
    log "saved: $(jq -c .ports "$f1")"
    check "rt2 saved without allowed_macs (its --mac), with the storm limit" "null 1000" \
        "$(jq -c '.ports[] | select(.name == "rt2") | "\(.allowed_macs) \(.storm_limit_pps)"' -r "$f1")"
    check "rt3 saved as allowed_macs any" any \
        "$(jq -r '.ports[] | select(.name == "rt3") | .allowed_macs' "$f1")"
    vhswd_stop
    # A kernel port's interface outlives vhswd; the restart attaches it again.
    ip -n "$NS1" link show eth0 > /dev/null 2>&1 ||
        die "rt5's interface did not outlive vhswd"
    vhswd_start --config "$f1"
    track "$VHSWD_PID"
    tenant_snapshot "$TEST_TMP/after"
    if ! diff -u "$TEST_TMP/before" "$TEST_TMP/after" > "$TEST_TMP/diff"; then
        cat "$TEST_TMP/diff" >&2
        die "tenant keys differ after the restart from --config"
    fi
    log "ok: every port's tenant keys are the same after the restart"
    ctl config save "$f2" > /dev/null
    [[ $(jq -S . "$f1") == "$(jq -S . "$f2")" ]] ||
        die "the second save differs: $(diff <(jq -S . "$f1") <(jq -S . "$f2") | head -n 8 | tr -s ' \n' ' ')"
    log "ok: the file saved after the restart is the same"
    vhswd_stop
    ip -n "$NS1" link del eth0 2>/dev/null || true
}

# === running the cases =====================================================

# after_case NAME: remove what case NAME left on the shared vhswd (ports,
# learned entries); if vhswd died, that is a failure: restart it.
after_case() {
    local p ns
    if ! _tp_alive "$VHSWD_PID"; then
        log "vhswd died during $1: restarting it"
        FAILED+=("$1: vhswd died (log: $(tail -n 2 "$(vhswd_log)" | tr '\n' ' '))")
        VHSWD_PID=""
        vhswd_start
        return 0
    fi
    for p in $(jctl '.[].name' port list); do
        ctl port del "$p" > /dev/null || true
    done
    for ns in "${ALL_NS[@]}"; do
        wait_until 10 bash -c "! ip -n $ns link show eth0 > /dev/null 2>&1" ||
            log "warning: eth0 still in $ns"
    done
    ctl fdb flush > /dev/null || true
}

# run_case NAME FN: FN in a subshell in ROOT/NAME; the outcome is recorded.
run_case() {
    local name=$1 fn=$2 dir=$ROOT/$1 rc=0 t0=$SECONDS why
    if [[ -n $VHSW_TENANT_CASES && " $VHSW_TENANT_CASES " != *" $name "* ]]; then
        SKIPPED+=("$name (not in VHSW_TENANT_CASES)")
        return 0
    fi
    mkdir -p "$dir"
    : > "$dir/pids"
    log "===== $name ====="
    (
        TEST_TMP=$dir CHECKS=0
        trap 'kill_tracked "$TEST_TMP"' EXIT
        "$fn"
        log "$name: $CHECKS checks passed"
    ) > "$dir/case.log" 2>&1 &
    CASE_PID=$!
    wait "$CASE_PID" || rc=$?
    CASE_PID=""
    kill_tracked "$dir"
    cat "$dir/case.log" >&2
    if (( rc == 0 )); then
        PASSED+=("$name ($((SECONDS - t0)) s)")
    else
        # The first FATAL line, else (a command failed under set -e) the last line.
        why=$(grep -m1 'FATAL: ' "$dir/case.log" | sed 's/^.*FATAL: //' || true)
        [[ -n $why ]] || why="exit $rc: $(grep -v '^\[' "$dir/case.log" | tail -n 2 | tr '\n' ' ' || true)"
        FAILED+=("$name: $why")
    fi
}

vhswd_start
run_case spoof-mac case_spoof_mac; after_case spoof-mac
run_case arp case_arp; after_case arp
run_case nd case_nd; after_case nd
run_case dhcp case_dhcp; after_case dhcp
run_case storm case_storm; after_case storm
run_case isolated case_isolated; after_case isolated
run_case rate-limit case_rate_limit; after_case rate-limit
run_case runtime case_runtime; after_case runtime
run_case fdb-max-macs case_fdb_max_macs; after_case fdb-max-macs
run_case fdb-secure-port case_fdb_secure_port; after_case fdb-secure-port
# Last on this vhswd: it leaves the move limit set.
run_case fdb-move-damping case_fdb_move_damping; after_case fdb-move-damping
vhswd_stop
run_case roundtrip case_roundtrip

echo "----- test_tenant: ${#PASSED[@]} passed, ${#FAILED[@]} failed, ${#SKIPPED[@]} skipped -----"
for c in "${PASSED[@]}"; do echo "PASS $c"; done
for c in "${SKIPPED[@]}"; do echo "SKIP $c"; done
for c in "${FAILED[@]}"; do echo "FAIL $c"; done
(( ${#FAILED[@]} == 0 ))
