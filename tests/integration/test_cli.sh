#!/usr/bin/env bash
# The command-line contract: vhswctl exit codes and output modes, vhswd's
# one-line errors for bad arguments and configs, and a live daemon that
# survives malformed JSON-RPC.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
. "$HERE/vhsw.sh"

vhsw_test_init cli

# rc CMD...: print the exit status of CMD (stdout/stderr to files).
rc() { local r=0; "$@" > "$TEST_TMP/out" 2> "$TEST_TMP/err" || r=$?; echo $r; }

# --- vhswctl without a daemon -------------------------------------------
check "usage error exits 2" 2 "$(rc "$VHSWCTL" --ctl "$TEST_TMP/none.sock" port add)"
check "unknown command exits 2" 2 "$(rc "$VHSWCTL" frobnicate)"
check "bad option exits 2" 2 "$(rc "$VHSWCTL" --bogus port list)"
check "no daemon exits 3" 3 "$(rc "$VHSWCTL" --ctl "$TEST_TMP/none.sock" port list)"
grep -q "$TEST_TMP/none.sock" "$TEST_TMP/err" || die "exit 3 message does not name the socket"
check "VHSW_CTL is honoured" 3 "$(VHSW_CTL=$TEST_TMP/env.sock rc "$VHSWCTL" port list)"
grep -q "$TEST_TMP/env.sock" "$TEST_TMP/err" || die "VHSW_CTL path not used"
check "help works offline" 0 "$(rc "$VHSWCTL" help)"
grep -q "port add NAME vhost-user SOCKET" "$TEST_TMP/out" || die "help lacks port add"

# --- vhswd: bad arguments and configs: one line, non-zero, no usage dump --
one_line_error() { # CMD...: must fail with exactly one line on stderr
    local r
    r=$(rc "$@")
    (( r != 0 )) || die "'$*' succeeded"
    [[ $(wc -l < "$TEST_TMP/err") -eq 1 ]] ||
        { cat "$TEST_TMP/err" >&2; die "'$*' printed more than one line"; }
    grep -q '^vhswd: ' "$TEST_TMP/err" || die "'$*': message does not start with vhswd:"
    log "ok: $* -> $(cat "$TEST_TMP/err")"
}
one_line_error "$VHSWD" --bogus
one_line_error "$VHSWD" --ctl "$TEST_TMP/x.sock" --state-dir "$TEST_TMP/xstate" --lcores 4096
one_line_error "$VHSWD" --ctl "$TEST_TMP/x.sock" --state-dir "$TEST_TMP/xstate" --mem lots
one_line_error "$VHSWD" --ctl "$TEST_TMP/x.sock" --state-dir "$TEST_TMP/xstate" --poll-mode sometimes
one_line_error "$VHSWD" --ctl "$TEST_TMP/x.sock" --state-dir "$TEST_TMP/xstate" --config "$TEST_TMP/missing.json"
echo '{"ports": [{"name": "a", "type": "vhost-user", "socket": "/tmp/a.sock", "colour": "red"}]}' > "$TEST_TMP/bad.json"
one_line_error "$VHSWD" --ctl "$TEST_TMP/x.sock" --state-dir "$TEST_TMP/xstate" --lcores "$VHSW_LCORES" --config "$TEST_TMP/bad.json"
grep -q "colour" "$TEST_TMP/err" || die "config error does not name the key"
echo '{"ports": [{"name": "a", "type": "vhost-user", "socket": "'"$TEST_TMP"'/a.sock"},
                 {"name": "a", "type": "vhost-user", "socket": "'"$TEST_TMP"'/b.sock"}]}' > "$TEST_TMP/dup.json"
one_line_error "$VHSWD" --ctl "$TEST_TMP/x.sock" --state-dir "$TEST_TMP/xstate" --lcores "$VHSW_LCORES" --config "$TEST_TMP/dup.json"
grep -q "already exists" "$TEST_TMP/err" || die "duplicate name not reported"
one_line_error "$VHSWD" --ctl "$TEST_TMP/x.sock" --state-dir "$TEST_TMP/xstate" --lcores "$VHSW_LCORES" --uplink net_nosuchpmd0
one_line_error "$VHSWD" --ctl "$TEST_TMP/x.sock" --state-dir "$TEST_TMP/xstate" --lcores "$VHSW_LCORES" --uplink f8615163-0000-1000-2000-000d3a1b2c3d
grep -q uio_hv_generic "$TEST_TMP/err" || die "unbound VMBus uplink: no hint to bind it"
check "failed start left no sockets" "" "$(ls "$TEST_TMP" | grep '\.sock$' || true)"

# --- a live daemon --------------------------------------------------------
vhswd_start
check "second vhswd on the same socket refused" 1 \
    "$(rc "$VHSWD" --ctl "$VHSW_CTL_SOCK" --lcores "$VHSW_LCORES" --state-dir "$TEST_TMP/state2")"
grep -q "already running" "$TEST_TMP/err" || die "no 'already running' message"
check "refusal exits 1" 1 "$(rc ctl port del nope)"
grep -q '^vhswctl: ' "$TEST_TMP/err" || die "refusal message lacks vhswctl: prefix"
check "invalid value exits 1" 1 "$(rc ctl port add p1 vhost-user "$TEST_TMP/p1.sock" --vlan 5000)"
check "port add" 0 "$(rc ctl port add p1 vhost-user "$TEST_TMP/p1.sock" --vlan 7 --perm 0660)"
check "--json is one document" p1 "$(ctl --json port list | jq -r '.[0].name')"
check "socket mode from --perm" 660 "$(stat -c %a "$TEST_TMP/p1.sock")"
check "control socket mode" 660 "$(stat -c %a "$VHSW_CTL_SOCK")"
check "fdb set aging" 0 "$(rc ctl fdb set aging 10)"
check "fdb set limit beyond capacity" 1 "$(rc ctl fdb set limit 99999999)"
check "uplink show without uplink" none "$(jctl .state uplink show)"
check "version" 0 "$(rc ctl version)"

# stats --describe: a description for every key stats shows, and no more.
ctl --json stats > "$TEST_TMP/stats.json"
ctl --json stats --describe > "$TEST_TMP/describe.json"
check "stats shows a port" p1 "$(jq -r '.ports | keys | join(" ")' "$TEST_TMP/stats.json")"
# "group.key" of every value stats shows (a port's counters as ports.KEY).
stats_keys() {
    jq -r 'to_entries[] | .key as $g
        | (if $g == "ports" then .value[] else .value end) | keys[] | "\($g).\(.)"' \
        "$TEST_TMP/stats.json" | sort -u
}
described() {
    jq -r 'to_entries[] | .key as $g | .value | to_entries[]
        | select(.value | type == "string" and length > 0) | "\($g).\(.key)"' \
        "$TEST_TMP/describe.json" | sort -u
}
(( $(stats_keys | wc -l) > 30 )) || die "stats shows too few keys: $(stats_keys | xargs)"
check "every stats key described" "" "$(comm -23 <(stats_keys) <(described) | xargs)"
check "nothing described that stats lacks" "" "$(comm -13 <(stats_keys) <(described) | xargs)"
ctl stats --describe > "$TEST_TMP/describe.txt"
check "describe text: a line per key" "$(described | wc -l)" "$(grep -c '^  [a-z_]\+ ' "$TEST_TMP/describe.txt")"
grep -Eq '^  rx_packets +frames received from the peer$' "$TEST_TMP/describe.txt" ||
    { cat "$TEST_TMP/describe.txt" >&2; die "describe text lacks rx_packets' description"; }
check "describe with --clear refused" 1 "$(rc ctl stats --describe --clear)"

# Malformed JSON-RPC on the real socket: error replies, daemon unharmed.
fds0=$(open_fds)
rpc() { printf '%s\n' "$1" | nc -U -N "$VHSW_CTL_SOCK" | head -n 1; }
check "parse error" -32700 "$(rpc '{"jsonrpc": "2.0", "method":' | jq .error.code)"
check "invalid request" -32600 "$(rpc '[1,2]' | jq .error.code)"
check "unknown method" -32601 "$(rpc '{"jsonrpc":"2.0","method":"nope","id":1}' | jq .error.code)"
check "bad params" -32602 "$(rpc '{"jsonrpc":"2.0","method":"port/add","params":{"name":5},"id":1}' | jq .error.code)"
head -c 70000 /dev/zero | tr '\0' 'x' > "$TEST_TMP/big"
check "oversized request" -32600 "$( (cat "$TEST_TMP/big"; echo) | nc -U -N "$VHSW_CTL_SOCK" | head -n 1 | jq .error.code)"
head -c 100000 /dev/urandom > "$TEST_TMP/noise"
nc -U -N "$VHSW_CTL_SOCK" < "$TEST_TMP/noise" > /dev/null || true
check "still serving after garbage" p1 "$(jctl '.[0].name' port list)"
wait_num 10 -eq "$fds0" open_fds ||
    die "vhswd holds $(open_fds) fds, $fds0 before the garbage"
log "ok: no client connections left open ($fds0 fds)"

# --- readable text output -------------------------------------------------
# A CNI-style port (20-character name, long socket path) and a testpmd
# client, so that every table has long cells and port show has features.
CNI=cni-0123456789abcdef
LONGSOCK=$TEST_TMP/a-rather-long-socket-file-name-like-the-cni-plugin-makes-0123.sock
M1=52:54:00:00:00:01
check "20-character name" 20 "${#CNI}"
ctl port add "$CNI" vhost-user "$LONGSOCK" --vlan 7 > /dev/null
ctl port add c1 vhost-user "$TEST_TMP/c1.sock" --mac $M1 > /dev/null
tp_start c1 "$TEST_TMP/c1.sock" $M1 ""
wait_port c1 up

# text CMD...: run vhswctl CMD (text) into $TEST_TMP/txt, must exit 0.
text() {
    ctl "$@" > "$TEST_TMP/txt" 2> "$TEST_TMP/err" ||
        { cat "$TEST_TMP/err" >&2; die "'vhswctl $*' failed"; }
}
# no_json CMD...: its text output has no JSON fragment (no braces or brackets).
no_json() {
    text "$@"
    [[ -s $TEST_TMP/txt ]] || die "'vhswctl $*' printed nothing"
    if grep -n '[][{}]' "$TEST_TMP/txt" >&2; then
        die "'vhswctl $*' prints JSON fragments (above)"
    fi
    log "ok: vhswctl $* prints text"
}
# columns FILE LEFT RIGHT: in the table FILE (header on line 1), each field
# of a left-aligned column starts where its header starts, each field of a
# right-aligned column ends where its header ends.  LEFT and RIGHT: header
# words, space-separated.
columns() {
    awk -v left=" $2 " -v right=" $3 " '
        NR == 1 {
            for (i = 1; i <= NF; i++) {
                s = index($0, $i); e = s + length($i) - 1
                if (index(left, " " $i " ")) ls[$i] = s
                if (index(right, " " $i " ")) re[$i] = e
            }
            next
        }
        NF == 0 { exit }
        {
            for (h in ls) {
                s = ls[h]
                if (substr($0, s, 1) == " " || (s > 1 && substr($0, s - 1, 1) != " ")) {
                    printf "line %d: column %s does not start at %d: %s\n", NR, h, s, $0; bad = 1
                }
            }
            for (h in re) {
                e = re[h]
                if (substr($0, e, 1) == " " || substr($0, e + 1, 1) !~ /^( |)$/) {
                    printf "line %d: column %s does not end at %d: %s\n", NR, h, e, $0; bad = 1
                }
            }
        }
        END { exit bad }' "$1" >&2 || die "misaligned columns in $1"
}

no_json port list
columns "$TEST_TMP/txt" "NAME TYPE STATE ADMIN MODE ENDPOINT" "VLAN MTU RX_PACKETS TX_PACKETS DROPPED"
check "port list: a row per port" 4 "$(wc -l < "$TEST_TMP/txt")"
grep -q "^$CNI  .*  $LONGSOCK\$" "$TEST_TMP/txt" || die "port list: long name or socket cut"

no_json port show c1
grep -Eq '^  features +0x[0-9a-f]+$' "$TEST_TMP/txt" || die "port show: no features line"
grep -q 'VIRTIO_F_VERSION_1' "$TEST_TMP/txt" || die "port show: features not decoded (no VIRTIO_F_VERSION_1)"
grep -q 'VIRTIO_NET_F_MRG_RXBUF' "$TEST_TMP/txt" || die "port show: no VIRTIO_NET_F_MRG_RXBUF"
for k in disconnects last_error violations; do
    grep -Eq "^  $k +" "$TEST_TMP/txt" || die "port show lacks $k"
done
# Every counter, each on its own line with its value.
for k in $(jctl '.stats | keys[]' port show c1); do
    grep -Eq "^  $k +[0-9]+\$" "$TEST_TMP/txt" || die "port show lacks counter $k"
done
sed -n '/^vrings:/,/^$/p' "$TEST_TMP/txt" | tail -n +2 | sed 's/^  //' > "$TEST_TMP/vrings"
columns "$TEST_TMP/vrings" "ENABLED" "INDEX SIZE KICKFD CALLFD"
check "port show: a vring row per vring" "$(jctl '.vrings | length' port show c1)" \
    "$(( $(grep -c . "$TEST_TMP/vrings") - 1 ))"
no_json port show "$CNI"
grep -q "^socket  *$LONGSOCK\$" "$TEST_TMP/txt" || die "port show: long socket path cut"

ctl fdb add 52:54:00:00:00:77 "$CNI" > /dev/null
no_json fdb show
columns "$TEST_TMP/txt" "MAC PORT TYPE" "VLAN AGE"
grep -q "^52:54:00:00:00:77 .* $CNI  static" "$TEST_TMP/txt" || die "fdb show: the static entry of $CNI"

# stats: one row per counter, a column per port, within 79 columns.
no_json stats
columns "$TEST_TMP/txt" "COUNTER" "p1 $CNI c1"
awk 'length > 79 { print; bad = 1 } END { exit bad }' "$TEST_TMP/txt" ||
    die "stats text wider than 79 columns"
for k in $(jq -r '.ports.p1 | keys[]' "$TEST_TMP/stats.json"); do
    grep -Eq "^$k +[0-9]+ +[0-9]+ +[0-9]+\$" "$TEST_TMP/txt" || die "stats: no row for $k"
done
for g in fdb dataplane rpc; do grep -q "^$g:\$" "$TEST_TMP/txt" || die "stats: no $g section"; done
no_json stats c1
no_json stats --describe
no_json uplink show
no_json version
grep -Eq '^vhswctl +[0-9]' "$TEST_TMP/txt" || die "version: no vhswctl line"
no_json config save "$TEST_TMP/saved.json"
check "config save confirms" "saved the configuration to $TEST_TMP/saved.json" "$(cat "$TEST_TMP/txt")"
no_json port set c1 --max-macs 3
no_json fdb del 52:54:00:00:00:77 --vlan 7
no_json fdb flush
no_json fdb set aging 300
no_json fdb set limit 1000
no_json fdb set move-limit 10
no_json dataplane set poll-mode adaptive
no_json port add p2 vhost-user "$TEST_TMP/p2.sock"
check "port add confirms" "added port p2 (vhost-user, $TEST_TMP/p2.sock)" "$(cat "$TEST_TMP/txt")"
no_json port del p2
check "port del confirms" "deleted port p2" "$(cat "$TEST_TMP/txt")"
"$VHSWCTL" help > "$TEST_TMP/txt"
grep -q '"method"' "$TEST_TMP/txt" && die "help prints JSON"

# --json anywhere: before and after the command give the same document.
same_json() {
    ctl --json "$@" > "$TEST_TMP/j1"
    ctl "$@" --json > "$TEST_TMP/j2"
    jq -e . "$TEST_TMP/j2" > /dev/null || die "'vhswctl $* --json' is not JSON"
    cmp -s "$TEST_TMP/j1" "$TEST_TMP/j2" || { diff "$TEST_TMP/j1" "$TEST_TMP/j2" >&2; die "--json after '$*' differs"; }
    log "ok: vhswctl $* --json"
}
same_json port list
same_json port show c1
same_json fdb show
same_json version
same_json uplink show
same_json stats --describe
check "--json between arguments" c1 "$(ctl port show --json c1 | jq -r .name)"
check "--ctl after the command" c1 "$("$VHSWCTL" port show c1 --ctl "$VHSW_CTL_SOCK" --json | jq -r .name)"
check "--ctl=PATH after the command" 0 "$(rc "$VHSWCTL" port list --ctl="$VHSW_CTL_SOCK")"
# An option's value is never taken for --json, nor is anything after "--".
check "--json as an option's value" 1 "$(rc ctl port add j1 vhost-user "$TEST_TMP/j1.sock" --mac --json)"
grep -q -- '--json' "$TEST_TMP/err" || die "the refusal does not name the value --json"
[[ -s $TEST_TMP/out ]] && die "a refused command printed on stdout"
check "after --, --json is an argument" 1 "$(rc ctl port show -- --json)"
grep -q -- '--json' "$TEST_TMP/err" || die "'port show -- --json' did not look for a port named --json"
check "unknown option after the command" 2 "$(rc ctl port list --bogus)"
grep -q -- "--bogus" "$TEST_TMP/err" || die "unknown option not named"
check "--ctl without a path" 2 "$(rc "$VHSWCTL" port list --ctl)"
check "command --help" 0 "$(rc "$VHSWCTL" --ctl "$TEST_TMP/none.sock" port show --help)"
grep -q '^  port show NAME$' "$TEST_TMP/out" || die "port show --help: no usage line"
grep -q 'port add' "$TEST_TMP/out" && die "port show --help shows other commands"
"$VHSWCTL" --ctl "$TEST_TMP/none.sock" --version | grep -Eq '^vhswctl [0-9]+\.[0-9]+' || die "--version offline"
tp_stop c1
# The uplink (net_null: a device without traffic) in text.
check "uplink add" 0 "$(rc ctl uplink add net_null0,no-rx=1)"
grep -Eq '^added the uplink net_null0,no-rx=1 \(driver net_null, (up|down)\)$' "$TEST_TMP/out" ||
    die "uplink add: no confirmation: $(cat "$TEST_TMP/out")"
no_json uplink show
grep -q '^link:$' "$TEST_TMP/txt" || die "uplink show: no link section"
grep -Eq '^  rx_packets +[0-9]+$' "$TEST_TMP/txt" || die "uplink show: no counters"
no_json port show uplink
no_json uplink del

vhswd_stop
echo "test_cli: $CHECKS checks passed"
