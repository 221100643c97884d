#!/usr/bin/env bash
# Counters where monitoring lives, read with real clients: Prometheus text
# at --metrics-listen (curl; promtool check metrics when it is installed,
# and always Debian's prometheus_client parser), DPDK telemetry /vhsw/...
# (dpdk-telemetry.py), per-queue vhost counters (port add --queue-stats)
# and the drop reasons, each provoked with dpdk-testpmd virtio-user clients:
# rx_no_dest (destination behind the ingress port), tx_down (a static MAC
# on a port without peer), tx_full (a client that stopped reading).
# Also: 404/405, idle and oversized HTTP clients cannot stall the control
# loop, bad --metrics-listen values and telemetry parameters, the telemetry
# socket is root's only and goes at exit.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

PY=/usr/bin/python3 # Debian's, with python3-prometheus-client
declare -a HOLD_PIDS=()
met_cleanup() {
    local p
    for p in "${HOLD_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
}
vhsw_test_init metrics met_cleanup

M1=52:54:00:00:3e:01 M2=52:54:00:00:3e:02 M3=52:54:00:00:3e:03 M4=52:54:00:00:3e:04

# A free TCP port on 127.0.0.1 (the kernel's pick; vhswd fails clearly on
# the rare reuse).
free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PORT=$(free_port)
URL=http://127.0.0.1:$PORT/metrics

scrape() { curl -sS --max-time 5 "$URL"; }
# metric NAME LABELS: the value of one series (LABELS as in the text, e.g.
# 'port="c1"'), or "none".
metric() {
    local v
    local s=$1
    [[ -n $2 ]] && s+="{$2}"
    v=$(scrape | awk -v s="$s" '$1 == s { print $2; found = 1 } END { if (!found) print "none" }')
    printf '%s\n' "$v"
}
_metric_ge() { local v; v=$(metric "$1" "$2"); [[ $v != none ]] && (( v >= $3 )); }

# tel CMD...: dpdk-telemetry.py's reply to each command (one JSON per line).
tel() {
    printf '%s\n' "$@" | timeout 20 dpdk-telemetry.py -f "$PREFIX" 2>&1 | grep '^{'
}

# --- bad --metrics-listen values: a clear error, no start --------------------
for bad in 127.0.0.1 127.0.0.1:0 127.0.0.1:70000 '[::1:9100' 'no-such-host.invalid:9100'; do
    rc=0
    out=$("$VHSWD" --ctl "$TEST_TMP/bad.sock" --lcores "$VHSW_LCORES" --state-dir "$TEST_TMP/bad.st" \
        --metrics-listen "$bad" 2>&1) || rc=$?
    check "--metrics-listen $bad refused" 1 "$rc"
    [[ $out == *"--metrics-listen"* ]] || die "--metrics-listen $bad: unclear error: $out"
done
log "ok: bad --metrics-listen values refused: $(tail -n1 <<<"$out")"

vhswd_start --socket-dir "$TEST_TMP" --metrics-listen "127.0.0.1:$PORT"
PREFIX=$(jctl .telemetry_prefix version)
grep -q "telemetry prefix $PREFIX, metrics 127.0.0.1:$PORT" "$(vhswd_log)" ||
    die "the startup line does not show the telemetry prefix and the metrics address"
[[ $PREFIX == vhsw-ctl-* ]] || die "unexpected default prefix $PREFIX for --ctl $VHSW_CTL_SOCK"

# A port in use: the second vhswd says so.
rc=0
out=$("$VHSWD" --ctl "$TEST_TMP/busy.sock" --lcores "$VHSW_LCORES" --state-dir "$TEST_TMP/busy.st" \
    --metrics-listen "127.0.0.1:$PORT" 2>&1) || rc=$?
check "a second vhswd on the same metrics port refused" 1 "$rc"
[[ $out == *"Address already in use"* ]] || die "port in use: unclear error: $out"
# The same telemetry prefix as a live vhswd: refused, naming it.
rc=0
out=$("$VHSWD" --ctl "$TEST_TMP/busy.sock" --lcores "$VHSW_LCORES" --state-dir "$TEST_TMP/busy.st" \
    --telemetry-prefix "$PREFIX" 2>&1) || rc=$?
check "a second vhswd with the same telemetry prefix refused" 1 "$rc"
[[ $out == *"used by the vhswd of pid $VHSWD_PID"* ]] || die "prefix in use: unclear error: $out"
log "ok: metrics port and telemetry prefix in use: clear errors"

# --- the telemetry socket is root's only -------------------------------------
tdir=/var/run/dpdk/$PREFIX
[[ -S $tdir/dpdk_telemetry.v2 ]] || die "no telemetry socket at $tdir"
check "runtime dir mode" 700 "$(stat -L -c %a "$tdir")"
check "telemetry socket mode" 700 "$(stat -c %a "$tdir/dpdk_telemetry.v2")"
rc=0
runuser -u nobody -- "$PY" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])' "$tdir/dpdk_telemetry.v2" 2>/dev/null || rc=$?
(( rc != 0 )) || die "an unprivileged user reached the telemetry socket"
log "ok: telemetry socket $tdir/dpdk_telemetry.v2 (mode 0700, root only)"

# --- HTTP: methods, paths, HEAD ----------------------------------------------
check "GET /metrics" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$URL")"
check "content type" "text/plain; version=0.0.4; charset=utf-8" \
    "$(curl -s -o /dev/null -w '%{content_type}' "$URL")"
check "HEAD /metrics" 200 "$(curl -s -o /dev/null -w '%{http_code}' -I "$URL")"
check "GET /" 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/")"
check "GET /metrics/x" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$URL/x")"
check "POST /metrics" 405 "$(curl -s -o /dev/null -w '%{http_code}' -d x=1 "$URL")"
check "DELETE /metrics" 405 "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$URL")"
check "Allow header" "GET, HEAD" \
    "$(curl -s -D - -o /dev/null -d x=1 "$URL" | tr -d '\r' | sed -n 's/^Allow: //p')"

# --- ports and traffic ---------------------------------------------------------
ctl port add c1 vhost-user "$TEST_TMP/c1.sock" --queue-stats > /dev/null
ctl port add c2 vhost-user "$TEST_TMP/c2.sock" --queue-stats > /dev/null
ctl port add c-3.x vhost-user "$TEST_TMP/c3.sock" --mac $M3 > /dev/null # no peer, ever
ctl port add c4 vhost-user "$TEST_TMP/c4.sock" > /dev/null
tp_start c1 "$TEST_TMP/c1.sock" $M1 "" --eth-peer=0,$M2
tp_start c2 "$TEST_TMP/c2.sock" $M2 "" --eth-peer=0,$M1
tp_start c4 "$TEST_TMP/c4.sock" $M4 "" --eth-peer=0,$M1
for i in 1 2 4; do wait_port "c$i" up; tp_rxonly "c$i"; done
for i in 2 4; do tp_send "c$i" 1 > /dev/null; done # learned
wait_str 10 c4 fdb_port $M4 || die "M4 not learned"
ctl stats --clear > /dev/null

# Unicast c1 -> c2: counters move, and /metrics shows the same numbers.
tp_clear_stats c2
sent=$(tp_send c1 8)
tp_wait_rx c2 "$sent"
wait_stat c2 tx_packets "$sent" 10
check "c1 rx_packets in /metrics" "$(port_stat c1 rx_packets)" "$(metric vhsw_port_rx_packets_total 'port="c1"')"
check "c2 tx_packets in /metrics" "$sent" "$(metric vhsw_port_tx_packets_total 'port="c2"')"
check "c2 tx_bytes in /metrics" "$(port_stat c2 tx_bytes)" "$(metric vhsw_port_tx_bytes_total 'port="c2"')"
check "c1 up" 1 "$(metric vhsw_port_up 'port="c1"')"
check "c-3.x down" 0 "$(metric vhsw_port_up 'port="c-3.x"')"
check "FDB entries gauge" "$(jctl .fdb.entries stats)" "$(metric vhsw_fdb_entries '')"
check "build info" 1 "$(scrape | sed -n 's/^vhsw_build_info{version=".*"} //p')"
(( $(jctl .dataplane.packets stats) > 0 )) || die "dataplane packets did not move"
check "dataplane packets in /metrics" "$(jctl .dataplane.packets stats)" "$(metric vhsw_dataplane_packets_total '')"
# Per-queue counters (librte_vhost): c1's guest TX queue 0 is the switch's rx.
wait_until 5 _metric_ge vhsw_port_queue_good_packets_total 'port="c2",queue="0",direction="tx"' "$sent" ||
    die "no per-queue tx counter for c2: $(scrape | grep vhsw_port_queue_good_packets_total)"
check "c1 queue 0 rx good_packets" "$(port_stat c1 rx_packets)" \
    "$(metric vhsw_port_queue_good_packets_total 'port="c1",queue="0",direction="rx"')"
check "port show queue_stats (c1 rx)" "$(port_stat c1 rx_packets)" \
    "$(jctl '.queue_stats[] | select(.direction == "rx" and .queue == 0) | .good_packets' port show c1)"
check "no queue counters without --queue-stats" null "$(jctl .queue_stats port show c4)"
check "no queue series for c4" 0 "$(scrape | grep -c 'vhsw_port_queue_.*port="c4"' || true)"
log "ok: /metrics follows the traffic: c1 -> c2 $sent frames, per-queue counters too"

# --- drop reasons ---------------------------------------------------------------
# rx_no_dest: c1 sends to its own MAC, which the FDB has on c1.
tp_send c1 1 > /dev/null # M1 learned on c1
tp_cmd c1 stop > /dev/null; tp_cmd c1 "set eth-peer 0 $M1" > /dev/null
n=$(tp_send c1 2)
wait_stat c1 rx_no_dest "$n" 10
check "rx_no_dest in /metrics" "$(port_stat c1 rx_no_dest)" "$(metric vhsw_port_rx_no_dest_total 'port="c1"')"
# tx_down: unicast to c-3.x's static MAC; it has no peer.
tp_cmd c1 stop > /dev/null; tp_cmd c1 "set eth-peer 0 $M3" > /dev/null
n=$(tp_send c1 2)
wait_stat c-3.x tx_down "$n" 10
check "c-3.x tx_dropped = tx_down" "$(port_stat c-3.x tx_down)" "$(port_stat c-3.x tx_dropped)"
check "tx_down in /metrics" "$n" "$(metric vhsw_port_tx_down_total 'port="c-3.x"')"
# tx_full: c4 stops reading; more frames than its ring holds.
tp_cmd c4 stop > /dev/null
tp_cmd c1 stop > /dev/null; tp_cmd c1 "set eth-peer 0 $M4" > /dev/null
for (( i = 0; i < 8; i++ )); do tp_send c1 32 > /dev/null; done # 8192 frames > 1024 descriptors
wait_stat c4 tx_full 1 10
check "c4 tx_dropped = tx_full" "$(port_stat c4 tx_full)" "$(port_stat c4 tx_dropped)"
check "tx_full in /metrics" "$(port_stat c4 tx_full)" "$(metric vhsw_port_tx_full_total 'port="c4"')"
# reasons DIR: the sum of a port's DIR_ drop reasons, from its stats.
reasons() {
    jctl "[.stats | to_entries[] | select(.key | startswith(\"$2_\"))
          | select(.key | IN(\"$2_packets\", \"$2_bytes\", \"$2_dropped\") | not) | .value] | add" port show "$1"
}
for c in c1 c2 c-3.x c4; do
    check "$c rx_dropped is the sum of its reasons" "$(port_stat $c rx_dropped)" "$(reasons $c rx)"
    check "$c tx_dropped is the sum of its reasons" "$(port_stat $c tx_dropped)" "$(reasons $c tx)"
done
# HELP comes from the counter tables.
# (Read to the end: grep -q would stop early and curl fail with a broken
# pipe once the page outgrows the pipe buffer.)
scrape | grep -x '# HELP vhsw_port_tx_full_total .*ring stayed full.*' > /dev/null ||
    die "no HELP for tx_full"
check "describe tx_down" yes "$(jctl '.ports.tx_down | test("not ready") | if . then "yes" else "no" end' stats --describe)"
log "ok: drop reasons rx_no_dest, tx_down, tx_full counted and exported"

# --- the exposition is valid -----------------------------------------------------
scrape > "$TEST_TMP/metrics.txt"
"$PY" - "$TEST_TMP/metrics.txt" <<'EOF'
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = list(text_string_to_metric_families(open(sys.argv[1]).read()))
names = [f.name for f in fams]
assert len(names) == len(set(names)), "a family appears twice"
for f in fams:
    assert f.name.startswith("vhsw_"), f.name
    assert f.documentation, "no HELP for " + f.name
    assert f.type in ("counter", "gauge"), (f.name, f.type)
ports = {s.labels["port"] for f in fams for s in f.samples if "port" in s.labels}
assert ports == {"c1", "c2", "c-3.x", "c4"}, ports
print("prometheus_client: %d families" % len(fams))
EOF
if command -v promtool > /dev/null; then
    out=$(promtool check metrics < "$TEST_TMP/metrics.txt" 2>&1) || die "promtool check metrics: $out"
    log "ok: promtool check metrics: clean"
else
    log "promtool not installed: checked with prometheus_client only"
fi

# --- DPDK telemetry with dpdk-telemetry.py ------------------------------------------
out=$(tel /vhsw/ports)
check "/vhsw/ports" '["c1","c2","c-3.x","c4"]' "$(jq -c '."/vhsw/ports"' <<<"$out")"
out=$(tel /vhsw/port,c1)
check "/vhsw/port,c1 rx_packets" "$(port_stat c1 rx_packets)" "$(jq '."/vhsw/port".rx_packets' <<<"$out")"
check "/vhsw/port,c1 state" up "$(jq -r '."/vhsw/port".state' <<<"$out")"
check "/vhsw/port,c1 rx_q0" "$(port_stat c1 rx_packets)" "$(jq '."/vhsw/port".rx_q0.good_packets' <<<"$out")"
out=$(tel /vhsw/port,c4)
check "/vhsw/port,c4 tx_full" "$(port_stat c4 tx_full)" "$(jq '."/vhsw/port".tx_full' <<<"$out")"
out=$(tel /vhsw/stats)
check "/vhsw/stats fdb entries" "$(jctl .fdb.entries stats)" "$(jq '."/vhsw/stats".fdb.entries' <<<"$out")"
check "/vhsw/stats c-3.x by id" "c-3.x $(port_stat c-3.x tx_down)" \
    "$(jq -r '."/vhsw/stats" | to_entries[] | select(.value.name? == "c-3.x") | "\(.value.name) \(.value.tx_down)"' <<<"$out")"
out=$(tel /vhsw/fdb /vhsw/dataplane)
check "/vhsw/fdb learned" "$(jctl .fdb.learned stats)" "$(jq -s '.[0]."/vhsw/fdb".learned' <<<"$out")"
(( $(jq -s '.[1]."/vhsw/dataplane".packets' <<<"$out") > 0 )) || die "/vhsw/dataplane: no packets"
# Bad parameters: telemetry's error reply; vhswd carries on.
long=$(printf 'x%.0s' {1..200})
out=$(tel /vhsw/port,nope /vhsw/port /vhsw/port,"$long" /vhsw/ports,extra '/vhsw/port,c1,c2' /vhsw/port,c1)
check "bad parameters: null replies" "null null null null null" \
    "$(jq -r -s '.[0:5] | map(.[]) | map(tostring) | join(" ")' <<<"$out")"
check "and the next good one answers" c1 "$(jq -r -s '.[5]."/vhsw/port".name' <<<"$out")"
log "ok: dpdk-telemetry.py /vhsw/ports, /vhsw/port,NAME, /vhsw/stats, /vhsw/fdb, /vhsw/dataplane; bad parameters refused"

# --- scrapes while a peer comes and goes -------------------------------------------
# Reading the vring counters races with librte_vhost's thread setting the
# device up and tearing it down (it holds the vring locks while it calls
# back into the switch): scrape without pause while c2 reconnects.
( for (( i = 0; i < 2000; i++ )); do
      curl -s -o /dev/null --max-time 5 "$URL" || true
      [[ -e $TEST_TMP/stop-scrape ]] && break
  done ) &
HOLD_PIDS+=($!)
for _ in 1 2 3; do
    tp_kill c2
    wait_port c2 down
    tp_start c2 "$TEST_TMP/c2.sock" $M2 "" --eth-peer=0,$M1
    wait_port c2 up
    tp_rxonly c2
done
touch "$TEST_TMP/stop-scrape"
wait "${HOLD_PIDS[0]}" || true
HOLD_PIDS=()
t0=$(_tp_now_us)
check "c2 queue counters after 3 reconnects" 2 "$(jctl '.queue_stats | length' port show c2)"
(( $(_tp_now_us) - t0 < 2000000 )) || die "port show was slow after the reconnects"
log "ok: scrapes during 3 reconnects of c2: no hang, counters back"

# --- hostile HTTP clients do not stall the control loop ------------------------------
# 12 connections that send half a request and wait (more than the per-address
# limit); the management socket and a scrape after they go still answer.
"$PY" - "$PORT" > "$TEST_TMP/hold.out" 2>&1 <<'EOF' &
import socket, sys, time
socks = []
for i in range(12):
    s = socket.socket()
    s.connect(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    socks.append(s)
print("holding", flush=True)
time.sleep(30)
EOF
HOLD_PIDS+=($!)
wait_until 10 grep -q holding "$TEST_TMP/hold.out" || die "the idle clients did not connect: $(cat "$TEST_TMP/hold.out")"
t0=$(_tp_now_us)
ctl version > /dev/null
(( $(_tp_now_us) - t0 < 2000000 )) || die "the control loop was slow with idle HTTP clients"
# A request line and headers past the memory limit: refused, nothing else.
code=$("$PY" - "$PORT" <<'EOF'
import socket, sys
s = socket.socket()
s.settimeout(10)
s.connect(("127.0.0.1", int(sys.argv[1])))
try:
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n")
except OSError:
    pass
data = b""
try:
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
except OSError:
    pass
print(data.split(b" ")[1].decode() if data.startswith(b"HTTP/") else "closed")
EOF
)
[[ $code == 4* || $code == closed ]] || die "an oversized request got '$code'"
kill -KILL "${HOLD_PIDS[0]}" 2>/dev/null || true
wait "${HOLD_PIDS[0]}" 2>/dev/null || true
HOLD_PIDS=()
check "a scrape after the idle clients left" 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL")"
log "ok: 12 idle HTTP clients and an oversized request ($code) did not stall the loop"

# --- exit: the telemetry link and runtime dir go ---------------------------------------
pid=$VHSWD_PID
tp_stop_all
vhswd_stop
check "telemetry link removed" no "$([[ -e $tdir || -L $tdir ]] && echo yes || echo no)"
check "runtime dir removed" no "$([[ -e /var/run/dpdk/vhsw-$pid ]] && echo yes || echo no)"
log "ok: test_metrics"
