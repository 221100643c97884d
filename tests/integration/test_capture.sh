#!/usr/bin/env bash
# vhswctl capture: pcapng captures of real ports, read back by tcpdump and
# checked against what was sent.  Peers: kernel ports in this test's own
# network namespaces sending tagged frames (frames.py), a testpmd
# virtio-user client on a vhost-user port, and the uplink as net_af_packet
# on a veth whose far end is in an "outside" namespace.
#
# Cases: --count returns by itself, to a file and through `-w - | tcpdump
# -r -`; direction (rx/tx) and interface name in the pcapng blocks; a
# filter that matches and one that does not (SIGINT, 0 frames, the frames
# seen counted); two captures at once on one port and on two; the uplink
# and a vhost-user port; capture drops while the reader is stopped and
# forwarding goes on; bad requests (unknown port, bad filter, count 0,
# snaplen out of range, too many sessions, no fd, an fd of the wrong kind
# or two fds from a raw client), each refused with a clear message and no
# fd leaked; the session ends when vhswctl is killed, when its port is
# deleted, and when vhswd stops (the file complete).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

ID=$$
NSA=vhsw$ID-ca NSB=vhsw$ID-cb OUT=vhsw$ID-co
UP=vc${ID}u PEER=vc${ID}p
FRAMES=$HERE/frames.py
PYTHON=${PYTHON:-$(python3 -c 'import sys; print(sys.executable)')}
MAC_A=02:00:00:0c:00:0a MAC_X=02:00:00:0c:00:0f C1_MAC=52:54:00:0c:01:01
declare -a BG=()

cap_cleanup() {
    local p ns
    for p in "${BG[@]}"; do kill -CONT "$p" 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
    for ns in $NSA $NSB $OUT; do ip netns del "$ns" 2>/dev/null; done
    ip link del "$UP" 2>/dev/null
    return 0
}
vhsw_test_init capture cap_cleanup
command -v tcpdump > /dev/null || die "tcpdump missing (tests/setup.sh installs it)"

for ns in $NSA $NSB $OUT; do
    ip netns add "$ns"
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
done
ip link add $UP type veth peer name $PEER
ip link set $PEER netns $OUT
sysctl -qw "net.ipv6.conf.$UP.disable_ipv6=1"
ip link set $UP up
ip -n $OUT link set $PEER up

vhswd_start --uplink "net_af_packet0,iface=$UP"
ctl port add ka kernel --ifname eth0 --netns /run/netns/$NSA > /dev/null
ctl port add kb kernel --ifname eth0 --netns /run/netns/$NSB > /dev/null
wait_port ka up
wait_port kb up

# send NS IFNAME COUNT TAG [OPTIONS...]: raw tagged frames (EtherType 0x88b5).
send() {
    local ns=$1 ifname=$2 count=$3 tag=$4
    shift 4
    ip netns exec "$ns" "$PYTHON" "$FRAMES" send "$ifname" raw --count "$count" --tag "$tag" "$@"
}

# capture_bg NAME ARGS...: vhswctl capture ARGS in the background; its pid
# in CAP_PID, its stderr in TEST_TMP/NAME.err.
capture_bg() {
    local name=$1
    shift
    # vhswctl itself, not the ctl function's subshell: the signals are for it.
    "$VHSWCTL" --ctl "$VHSW_CTL_SOCK" capture "$@" 2> "$TEST_TMP/$name.err" &
    CAP_PID=$!
    BG+=("$CAP_PID")
}

sessions() { jctl '[.[] | select(.state != "ended")] | length' capture list; }
# session_of PORT: the id of the running session on PORT (the newest).
session_of() { jctl "[.[] | select(.port == \"$1\" and .state == \"running\")] | last | .id" capture list; }
session_field() { jctl ".[] | select(.id == $1) | .$2" capture list; }
_has_session() { [[ $(session_of "$1") =~ ^[0-9]+$ ]]; }
wait_session() { wait_until 10 _has_session "$1" || die "no capture session on $1"; }

# finish PID [TIMEOUT]: wait for a capture's vhswctl; its exit status in
# FIN (not in a $(...) subshell: only this shell can wait for its child).
finish() {
    FIN=0
    wait_until "${2:-15}" _tp_dead "$1" || die "vhswctl capture (pid $1) did not return"
    wait "$1" || FIN=$?
}

# tcpdump_lines FILE [FILTER...]: the frames tcpdump reads, one line each
# (-e: MACs and EtherType; not the hex dump of an unknown EtherType);
# fails on a file tcpdump does not accept.
tcpdump_lines() {
    local f=$1
    shift
    tcpdump -r "$f" -nn -e "$@" > "$TEST_TMP/tcpdump.out" 2> "$TEST_TMP/tcpdump.err" || {
        cat "$TEST_TMP/tcpdump.err" >&2
        die "tcpdump cannot read $f"
    }
    grep -v '^[[:space:]]' "$TEST_TMP/tcpdump.out" || true
}

# pcapng FILE: what the blocks say, read here without libpcap: "if NAME
# snaplen N" per interface, "pkt IFACE DIR CAPLEN ORIGLEN SRC DST TAG" per
# frame (DIR in, out or -).
pcapng() {
    "$PYTHON" - "$1" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
off = 0
while off + 12 <= len(d):
    t, ln = struct.unpack_from("<II", d, off)
    if ln < 12 or off + ln > len(d) or struct.unpack_from("<I", d, off + ln - 4)[0] != ln:
        sys.exit("bad block at %d" % off)
    body = d[off + 8:off + ln - 4]
    def opts(b):
        r, i = {}, 0
        while i + 4 <= len(b):
            c, l = struct.unpack_from("<HH", b, i)
            if c == 0:
                break
            r[c] = b[i + 4:i + 4 + l]
            i += 4 + ((l + 3) & ~3)
        return r
    if t == 1:
        lt, _, snap = struct.unpack_from("<HHI", body)
        o = opts(body[8:])
        print("if %s snaplen %d linktype %d tsresol %d" % (o.get(2, b"?").decode(), snap, lt, o.get(9, b"\0")[0]))
    elif t == 6:
        ifid, th, tl, cap, orig = struct.unpack_from("<IIIII", body)
        pkt = body[20:20 + cap]
        o = opts(body[20 + ((cap + 3) & ~3):])
        fl = struct.unpack("<I", o[2])[0] & 3 if 2 in o else 0
        mac = lambda b: ":".join("%02x" % x for x in b)
        i = pkt.find(b"VHSWT:")
        tag = pkt[i + 6:i + 14].rstrip(b"_").decode() if i >= 0 else "-"
        print("pkt %d %s %d %d %s %s %s" % (ifid, {1: "in", 2: "out"}.get(fl, "-"), cap, orig, mac(pkt[6:12]), mac(pkt[0:6]), tag))
    off += ln
if off != len(d):
    sys.exit("trailing bytes at %d" % off)
EOF
}

# A long capture (on the uplink, of frames nobody sends) that outlives the
# others: when it ends, more than 16 ended sessions are kept, and the oldest
# ended one goes, never the one ending.
capture_bg c0 uplink --direction rx --filter "ether proto 0x1234" -w "$TEST_TMP/c0.pcapng"
P0=$CAP_PID
wait_session uplink
LONG=$(session_of uplink)

# --- 1. --count returns by itself; rx of a kernel port, to a file ---------
capture_bg c1 ka --direction rx --count 5 -w "$TEST_TMP/c1.pcapng"
wait_session ka
send $NSA eth0 5 CAPONE --src $MAC_A
finish "$CAP_PID"
check "capture --count 5 returns by itself, status 0" 0 "$FIN"
check "summary on stderr" 1 "$(grep -c '^5 frames captured, 0 dropped by the capture' "$TEST_TMP/c1.err")"
check "tcpdump reads 5 frames" 5 "$(tcpdump_lines "$TEST_TMP/c1.pcapng" | wc -l)"
check "all from the sender, EtherType 0x88b5" 5 \
    "$(tcpdump_lines "$TEST_TMP/c1.pcapng" | grep -c "^.* $MAC_A > ff:ff:ff:ff:ff:ff, ethertype Unknown (0x88b5)")"
pcapng "$TEST_TMP/c1.pcapng" > "$TEST_TMP/c1.txt" || die "pcapng blocks: $(cat "$TEST_TMP/c1.txt")"
check "one interface block: the port, ns timestamps" "if ka snaplen 262144 linktype 1 tsresol 9" "$(grep '^if ' "$TEST_TMP/c1.txt")"
check "each frame: interface 0, inbound, 60 bytes, the tag sent" 5 \
    "$(grep -c "^pkt 0 in 60 60 $MAC_A ff:ff:ff:ff:ff:ff CAPONE\$" "$TEST_TMP/c1.txt")"
check "session ended, written 5" "ended 5" \
    "$(jctl '[.[] | select(.port == "ka")][0] | "\(.state) \(.written)"' capture list)"

# --- 2. -w - | tcpdump -r -: tx of another port, a filter that matches ----
ctl capture kb --direction tx --filter "ether src $MAC_A and ether proto 0x88b5" --count 3 \
    --snaplen 64 -w - 2> "$TEST_TMP/c2.err" | tee "$TEST_TMP/c2.pcapng" |
    tcpdump -r - -nn -e 2> "$TEST_TMP/c2.tcpdump" | grep -v '^[[:space:]]' > "$TEST_TMP/c2.txt" &
CAP_PID=$!
BG+=("$CAP_PID")
wait_session kb
send $NSA eth0 2 OTHER --src $MAC_X   # flooded to kb too, filtered out
send $NSA eth0 3 CAPTWO --src $MAC_A
finish "$CAP_PID"
check "capture | tcpdump -r - returns" 0 "$FIN"
check "tcpdump -r - read the 3 that match" 3 "$(grep -c "$MAC_A > ff:ff:ff:ff:ff:ff" "$TEST_TMP/c2.txt")"
check "and nothing else" 3 "$(wc -l < "$TEST_TMP/c2.txt")"
pcapng "$TEST_TMP/c2.pcapng" > "$TEST_TMP/c2.blocks"
check "tx frames are outbound, snaplen kept" 3 \
    "$(grep -c "^pkt 0 out 60 60 $MAC_A ff:ff:ff:ff:ff:ff CAPTWO\$" "$TEST_TMP/c2.blocks")"
check "filter seen counts every frame offered" 5 "$(session_field "$(jctl '.[-1].id' capture list)" seen)"

# --- 2a. the reader of -w - leaves (tcpdump -c 2): a normal end ----------
"$VHSWCTL" --ctl "$VHSW_CTL_SOCK" capture ka --direction rx -w - 2> "$TEST_TMP/c2a.err" \
    > >(tcpdump -r - -c 2 -nn > "$TEST_TMP/c2a.txt" 2> /dev/null) &
CAP_PID=$!
BG+=("$CAP_PID")
wait_session ka
# Frames until vhswctl's next write finds the pipe to tcpdump closed.
_send_until_gone() { send $NSA eth0 1 READER --src $MAC_A; _tp_dead "$CAP_PID"; }
wait_until 15 _send_until_gone || die "vhswctl capture did not end when its reader left"
finish "$CAP_PID"
check "the reader left: status 0" 0 "$FIN"
check "tcpdump -c 2 read 2" 2 "$(grep -vc "^[[:space:]]" "$TEST_TMP/c2a.txt")"
check "and the summary says so" 1 "$(grep -c 'frames captured, .*; ended: stopped (capture stop)' "$TEST_TMP/c2a.err")"

# --- 2b. an IP filter on real pings (indirect loads through the IP header)
ip -n $NSA addr add 10.88.0.1/24 dev eth0
ip -n $NSB addr add 10.88.0.2/24 dev eth0
ctl capture kb --direction tx --filter "icmp[icmptype] == icmp-echo and dst host 10.88.0.2" \
    --count 3 -w - 2> "$TEST_TMP/c2b.err" |
    tcpdump -r - -nn 2> "$TEST_TMP/c2b.tcpdump" > "$TEST_TMP/c2b.txt" &
CAP_PID=$!
BG+=("$CAP_PID")
wait_session kb
ip netns exec $NSA ping -q -c 3 -i 0.2 -w 10 10.88.0.2 > /dev/null || die "A cannot ping B through the switch"
finish "$CAP_PID"
check "ping capture returns" 0 "$FIN"
check "the 3 echo requests, not the ARP or the replies" 3 \
    "$(grep -c '10.88.0.1 > 10.88.0.2: ICMP echo request' "$TEST_TMP/c2b.txt")"
check "and nothing else" 3 "$(wc -l < "$TEST_TMP/c2b.txt")"

# --- 3. a filter that matches nothing; SIGINT stops it --------------------
capture_bg c3 ka --filter "udp port 9" -w "$TEST_TMP/c3.pcapng"
wait_session ka
sid=$(session_of ka)
send $NSA eth0 4 NOMATCH --src $MAC_A
wait_num 10 -ge 4 session_field "$sid" seen || die "the filter did not see 4 frames"
kill -INT "$CAP_PID"
finish "$CAP_PID"
check "SIGINT: status 0" 0 "$FIN"
check "SIGINT summary: 0 captured, 4 seen" 1 \
    "$(grep -c '^0 frames captured, 0 dropped by the capture (it could not keep up), 4 seen by the filter (0 matched)' "$TEST_TMP/c3.err")"
check "an empty capture is a valid file" 0 "$(tcpdump_lines "$TEST_TMP/c3.pcapng" | wc -l)"
check "ended by the stop" "stopped (capture stop)" "$(session_field "$sid" end_reason)"

# --- 4. two captures at once: one port twice, and a second port ----------
capture_bg c4a ka --direction rx --count 6 -w "$TEST_TMP/c4a.pcapng"
P4A=$CAP_PID
capture_bg c4b ka --direction both --count 6 -w "$TEST_TMP/c4b.pcapng"
P4B=$CAP_PID
capture_bg c4c kb --direction tx --count 6 -w "$TEST_TMP/c4c.pcapng"
P4C=$CAP_PID
wait_num 10 -eq 4 sessions || die "three sessions (and the long one) expected: $(ctl capture list)"
check "capture list text" 4 "$(ctl capture list | grep -c ' running ')"
send $NSA eth0 6 TWICE --src $MAC_A
for p in $P4A $P4B $P4C; do
    finish "$p"
    check "concurrent capture $p returns" 0 "$FIN"
done
for f in c4a c4b c4c; do
    check "$f: 6 frames" 6 "$(pcapng "$TEST_TMP/$f.pcapng" | grep -c " $MAC_A ff:ff:ff:ff:ff:ff TWICE\$")"
done
check "kb's copy is outbound" 6 "$(pcapng "$TEST_TMP/c4c.pcapng" | grep -c '^pkt 0 out ')"

# --- 5. the uplink and a vhost-user port -----------------------------------
capture_bg c5 uplink --direction rx --count 3 -w "$TEST_TMP/c5.pcapng"
wait_session uplink
send $OUT $PEER 3 UPLINK --src $MAC_X
finish "$CAP_PID"
check "uplink capture returns" 0 "$FIN"
check "uplink: the outside's frames, inbound" 3 \
    "$(pcapng "$TEST_TMP/c5.pcapng" | grep -c "^pkt 0 in 60 60 $MAC_X ff:ff:ff:ff:ff:ff UPLINK\$")"
check "uplink interface block" "if uplink" "$(pcapng "$TEST_TMP/c5.pcapng" | grep -o '^if uplink')"

ctl port add c1 vhost-user "$TEST_TMP/c1.sock" > /dev/null
tp_start c1 "$TEST_TMP/c1.sock" $C1_MAC
wait_port c1 up
capture_bg c6 c1 --direction tx --count 2 -w "$TEST_TMP/c6.pcapng"
wait_session c1
send $NSA eth0 2 TOVHOST --src $MAC_A
finish "$CAP_PID"
check "vhost-user tx capture returns" 0 "$FIN"
check "vhost-user: flooded frames sent to testpmd" 2 \
    "$(pcapng "$TEST_TMP/c6.pcapng" | grep -c "^pkt 0 out 60 60 $MAC_A ff:ff:ff:ff:ff:ff TOVHOST\$")"
capture_bg c7 c1 --direction rx --count 1 -w "$TEST_TMP/c7.pcapng"
wait_session c1
tp_send c1 1 > /dev/null
finish "$CAP_PID"
check "vhost-user rx capture returns" 0 "$FIN"
check "vhost-user: testpmd's frame, inbound" 1 \
    "$(pcapng "$TEST_TMP/c7.pcapng" | grep -c "^pkt 0 in [0-9]* [0-9]* $C1_MAC ")"
check "tcpdump agrees" 1 "$(tcpdump_lines "$TEST_TMP/c7.pcapng" | grep -c "$C1_MAC >")"

# --- 6. a stuck reader: capture drops, forwarding goes on -------------------
# 1000-byte frames in rounds of 2000 until the capture drops some: the
# pipe (1 MB), the ring and the pool fill after a few thousand.  The
# kernel may drop some on the way in (the tap's queue): what counts is
# what the switch received.
ctl port del c1
tp_stop c1
capture_bg c8 ka --direction rx -w "$TEST_TMP/c8.pcapng"
P8=$CAP_PID
wait_session ka
sid=$(session_of ka)
kill -STOP "$P8"
rx0=$(port_stat ka rx_packets)
tx0=$(( $(port_stat kb tx_packets) + $(port_stat kb tx_dropped) ))
_seen_all() { (( $(session_field "$sid" seen) == $(port_stat ka rx_packets) - rx0 )); }
for round in 1 2 3 4 5 6 7 8 9 10; do
    send $NSA eth0 2000 FLOOD --src $MAC_A --size 1000
    wait_until 10 _seen_all || die "the capture did not see every frame ka received"
    (( $(session_field "$sid" dropped) > 0 )) && break
done
got=$(( $(port_stat ka rx_packets) - rx0 ))
dropped=$(session_field "$sid" dropped)
(( dropped > 0 )) || die "no capture drops with the reader stopped ($(ctl capture list))"
log "ok: $dropped of $got frames dropped by the capture while its reader was stopped"
check "forwarding went on: kb was sent every frame" $got \
    "$(( $(port_stat kb tx_packets) + $(port_stat kb tx_dropped) - tx0 ))"
check "and none dropped" 0 "$(port_stat kb tx_dropped)"
kill -CONT "$P8"
kill -INT "$P8"
finish "$P8" 30
check "stuck-then-stopped capture returns" 0 "$FIN"
written=$(session_field "$sid" written)
check "written + dropped = matched" "$got" "$(( written + $(session_field "$sid" dropped) ))"
check "the file has what was written" "$written" "$(tcpdump_lines "$TEST_TMP/c8.pcapng" | wc -l)"
check "summary counts the drops" 1 "$(grep -c "^$written frames captured, $dropped dropped by the capture" "$TEST_TMP/c8.err")"

# --- 7. refusals, each with a clear message; no fd leaked ------------------
fds0=$(open_fds)
# refused CASE WANT_MESSAGE ARGS...: vhswctl capture ARGS fails with exit 1 or 2 and WANT_MESSAGE.
refused() {
    local what=$1 want=$2 rc=0 out
    shift 2
    out=$(ctl capture "$@" 2>&1 > /dev/null) || rc=$?
    (( rc == 1 || rc == 2 )) || die "$what: exit $rc, not refused: $out"
    [[ $out == *"$want"* ]] || die "$what: message '$out' lacks '$want'"
    CHECKS=$((CHECKS + 1))
    log "ok: refused: $what ($out)"
}
refused "unknown port" "no port named nosuch" nosuch -w "$TEST_TMP/x.pcapng"
refused "bad filter" "bad --filter 'ether hostt 1': " ka --filter "ether hostt 1" -w "$TEST_TMP/x.pcapng"
refused "a filter librte_bpf cannot run safely" "is refused: its instruction 2 may load at an offset" \
    ka --filter "ether[ether[0:4]] == 1" -w "$TEST_TMP/x.pcapng"
refused "count 0" "--count must be 1 or more" ka --count 0 -w "$TEST_TMP/x.pcapng"
refused "snaplen too small" "--snaplen must be 64..262144" ka --snaplen 10 -w "$TEST_TMP/x.pcapng"
refused "snaplen too large" "--snaplen must be 64..262144" ka --snaplen 300000 -w "$TEST_TMP/x.pcapng"
refused "direction" "--direction must be rx, tx or both" ka --direction in -w "$TEST_TMP/x.pcapng"
refused "no -w" "capture needs -w FILE" ka
# -w - onto a terminal (script(1) gives vhswctl a pty as stdout).
rc=0
out=$(script -qec "$VHSWCTL --ctl $VHSW_CTL_SOCK capture ka -w -" /dev/null) || rc=$?
check "-w - onto a terminal: usage error" 2 "$rc"
check "and says why" 1 "$(grep -c 'stdout is a terminal' <<<"$out")"
refused "unwritable file" "cannot open $TEST_TMP/nodir/x" ka -w "$TEST_TMP/nodir/x"
declare -a P9=()
for i in 1 2 3 4 5 6 7 8; do
    capture_bg c9 kb -w /dev/null
    P9+=("$CAP_PID")
done
wait_num 10 -eq 9 sessions || die "8 sessions on kb (and the long one) expected: $(ctl capture list)"
refused "a 9th capture on one port" "port kb has 8 captures already" kb -w "$TEST_TMP/x.pcapng"
for p in "${P9[@]}"; do kill -INT "$p"; done
for p in "${P9[@]}"; do
    finish "$p"
    check "stopped capture returns" 0 "$FIN"
done

# A raw client: fds of the wrong kind, two fds, no fd, an fd with a request
# that takes none.  Each reply is printed as "ERROR-OR-OK MESSAGE".
"$PYTHON" - "$VHSW_CTL_SOCK" "$TEST_TMP" > "$TEST_TMP/raw.txt" <<'EOF'
import json, os, socket, sys
path, tmp = sys.argv[1], sys.argv[2]
def call(method, params, fds=()):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    line = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}).encode() + b"\n"
    if fds:
        socket.send_fds(s, [line], list(fds))
    else:
        s.sendall(line)
    r = json.loads(s.makefile().readline())
    s.close()
    e = r.get("error")
    print(("error " + e["message"]) if e else ("ok " + json.dumps(r["result"])))
f = open(os.path.join(tmp, "regular"), "w")
rd, wr = os.pipe()
cap = {"port": "ka", "file": "raw"}
call("capture", cap, [f.fileno()])        # a regular file
call("capture", cap, [rd])                # a pipe's read end
call("capture", cap, [wr, wr])            # two fds
call("capture", cap)                      # none
call("version", {}, [wr])                 # an fd nobody takes
call("capture/stop", {"id": 99999})       # no such session
EOF
mapfile -t RAW < "$TEST_TMP/raw.txt"
check "raw: regular file refused" "error the file descriptor sent with capture is not the write end of a pipe" "${RAW[0]%%;*}"
check "raw: read end refused" "error the file descriptor sent with capture is not the write end of a pipe" "${RAW[1]%%;*}"
check "raw: two fds refused" "error invalid request: a request may carry one file descriptor at most (the ones sent were closed)" "${RAW[2]}"
check "raw: no fd refused" "error capture needs the write end of a pipe" "${RAW[3]%% sent with*}"
check "raw: version with an fd still answers" ok "${RAW[4]%% *}"
check "raw: stop of an unknown session" "error no capture session 99999" "${RAW[5]%% (*}"
check "no fd leaked by refusals and passing" "$fds0" "$(open_fds)"

# --- 8. the session ends with its reader, its port, and vhswd -------------
capture_bg c10 ka -w "$TEST_TMP/c10.pcapng"
wait_session ka
sid=$(session_of ka)
kill -KILL "$CAP_PID"
wait "$CAP_PID" 2> /dev/null || true
wait_str 10 ended session_field "$sid" state || die "session $sid did not end with its reader: $(ctl capture list)"
check "ended because the reader left" "the reader closed the pipe" "$(session_field "$sid" end_reason)"

ctl port add gone vhost-user "$TEST_TMP/gone.sock" > /dev/null
capture_bg c11 gone -w "$TEST_TMP/c11.pcapng"
wait_session gone
ctl port del gone
finish "$CAP_PID"
check "port deleted: vhswctl returns 0" 0 "$FIN"
check "and says why" 1 "$(grep -c 'ended: port deleted' "$TEST_TMP/c11.err")"
check "its file is readable" 0 "$(tcpdump_lines "$TEST_TMP/c11.pcapng" | wc -l)"
check "only the long session left running" 1 "$(sessions)"
check "more than 16 ended before it" 1 "$(( $(jctl '[.[] | select(.state == "ended")] | length' capture list) >= 16 ))"
check "no fd left behind" "$fds0" "$(open_fds)"
kill -INT "$P0"
finish "$P0"
check "the long capture returns" 0 "$FIN"
check "and is listed as ended, stopped" "ended stopped (capture stop)" "$(session_field "$LONG" state) $(session_field "$LONG" end_reason)"
check "the last 16 ended sessions are kept" 16 "$(jctl 'length' capture list)"

capture_bg c12 ka --direction rx -w "$TEST_TMP/c12.pcapng"
wait_session ka
send $NSA eth0 2 LAST --src $MAC_A
wait_num 10 -ge 2 session_field "$(session_of ka)" written || die "the last capture wrote nothing"
vhswd_stop
wait_until 10 _tp_dead "$CAP_PID" || die "vhswctl capture outlived vhswd"
wait "$CAP_PID" || true
check "vhswd stopped: the file is complete" 2 "$(tcpdump_lines "$TEST_TMP/c12.pcapng" | grep -c "$MAC_A >")"

log "PASS: test_capture ($CHECKS checks)"
