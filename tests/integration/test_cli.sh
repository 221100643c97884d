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
check "describe text: a line per key" "$(described | wc -l)" "$(grep -c '^  [a-z_]* ' "$TEST_TMP/describe.txt")"
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

vhswd_stop
echo "test_cli: $CHECKS checks passed"
