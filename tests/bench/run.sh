#!/usr/bin/env bash
# vhsw performance benchmark (method and results: docs/performance.md).
#
#   tests/bench/run.sh            the full benchmark (~25 min): vhswd against
#                                 a testpmd vhost baseline and OVS-DPDK; raw
#                                 results as JSON lines in OUT/results.jsonl,
#                                 the report in docs/performance.md + .png
#   tests/bench/run.sh --quick    one short round, baseline vs vhswd, 64 B,
#                                 and 9000 B jumbo frames: checks that the
#                                 harness works, prints the ratio, asserts
#                                 that both forwarded and that jumbo frames
#                                 arrive in order, any loss counted
#
# Options:
#   --rounds N        rounds of every comparison (default 3; --quick: 1)
#   --out DIR         raw results and logs (default tests/out/bench)
#   --window S        loopback measurement window for 64 B (default 20)
#   --window-large S  ... for 512 and 1518 B (default 10)
#   --sections LIST   comma-separated subset of loopback,polling,capture,
#                     jumbo,latency,fdb,manyports,scaling,idle,callgrind
#                     (default: all; --quick: loopback,jumbo); the report
#                     of a subset goes to OUT/performance.md unless --doc
#   --no-ovs          leave Open vSwitch out
#   --sizes LIST      loopback frame sizes, comma-separated (default 64,512,1518)
#   --no-doc          do not write docs/performance.md
#   --doc FILE        write the report there instead
#   --vhswd-b PATH    a second vhswd binary (e.g. the build before a change),
#                     system "vhswd_b": the loopback section measures it next
#                     to vhswd (the build, or $VHSWD) in every round and size,
#                     the two in alternating order, and the summary gives the
#                     per-round ratios vhswd / vhswd_b and their median
#                     (e.g. --quick --vhswd-b PATH, or --sections loopback
#                     --sizes 64 --no-ovs --no-doc --vhswd-b PATH); the
#                     latency and idle sections measure it after vhswd too
#   --b-port0 ARGS, --b-port1 ARGS
#                     extra `port add` options of vhswd_b's two ports (the
#                     cost of a port option: without --vhswd-b, vhswd_b is
#                     the same binary), e.g. issue 13's tenant controls:
#                     --b-port0 "--allowed-macs 52:54:00:be:00:01 --isolated"
#
# manyports (~4 min): MANYPORTS_PORTS vhost-user ports (default 4) with
# any-to-any traffic, vhswd and OVS-DPDK (NORMAL) in alternating order each
# round; MANYPORTS_CASES="MACS:FLOWS ..." source MACs and (source,
# destination) pairs per port (default "1:PORTS-1 256:4096"),
# MANYPORTS_WINDOW=S (default 8), MANYPORTS_WARMUP=S (default 3).
#
# scaling (~2 min): two port pairs, each driven by its own vhsw-pktgen at
# full rate, against one data-plane thread and two (tests/bench/scaling.sh);
# SCALING_WINDOW=S (default 6).
#
# Environment: CALLGRIND_MACS=N makes the callgrind section profile vhswd
# alone with the source MAC varied over N addresses (FDB learning cost);
# CALLGRIND_PORT0/CALLGRIND_PORT1="ARGS" give its two ports extra `port add`
# options (the instructions a port option costs); CALLGRIND_CAPTURE="ARGS"
# runs `vhswctl capture ARGS -w /dev/null` during the profile (a third
# port p2 without a peer exists for it: "p2" is a capture of another port,
# "p0 --filter 'udp port 9'" one of a loop port whose filter rejects all);
# CALLGRIND_MESH=MACS:FLOWS profiles vhswd alone with MANYPORTS_PORTS ports
# and vhsw-pktgen --mesh (the manyports traffic; frames per call of the
# burst functions show the batch sizes).
#
# Pinning (2 CPUs): every switch's data plane on CPU 1, its control threads
# and every traffic client on CPU 0.  Systems are interleaved within each
# round (A, B, C, A, B, C, ...) and the report gives min/median/max over the
# rounds: this machine is shared and noisy, so only ratios measured side by
# side mean anything, and nothing here asserts a timing.
#
# Needs root.  Installs what is missing (Debian packages: DPDK, Open vSwitch
# with DPDK, gnuplot, valgrind, python3), builds vhswd and vhsw-pktgen.
set -euo pipefail
BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$BENCH/../.." && pwd)
cd "$TOP"

QUICK=0 ROUNDS="" OUT=$TOP/tests/out/bench WINDOW=20 WINDOW_LARGE=10
SECTIONS=loopback,polling,capture,jumbo,latency,fdb,manyports,scaling,idle,callgrind POLL_PAIRS=8 POLL_WINDOW=2 WITH_OVS=1 WRITE_DOC=1 SIZES_ARG=""
DOC=$TOP/docs/performance.md DOC_SET=0 SECTIONS_SET=0
VHSWD_B="" B_PORT0="" B_PORT1=""
ARGS_GIVEN="$*"
usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
while (( $# )); do
	case $1 in
	--quick) QUICK=1 ;;
	--rounds) ROUNDS=${2:?}; shift ;;
	--out) OUT=${2:?}; shift ;;
	--window) WINDOW=${2:?}; shift ;;
	--window-large) WINDOW_LARGE=${2:?}; shift ;;
	--sections) SECTIONS=${2:?} SECTIONS_SET=1; shift ;;
	--no-ovs) WITH_OVS=0 ;;
	--sizes) SIZES_ARG=${2:?}; shift ;;
	--no-doc) WRITE_DOC=0 ;;
	--doc) DOC=${2:?} DOC_SET=1; shift ;;
	--vhswd-b) VHSWD_B=${2:?}; shift ;;
	--b-port0) B_PORT0=${2:?}; shift ;;
	--b-port1) B_PORT1=${2:?}; shift ;;
	-h|--help) usage ;;
	*) echo "run.sh: unknown argument '$1'" >&2; usage ;;
	esac
	shift
done
[[ $ROUNDS =~ ^[0-9]*$ && $SIZES_ARG =~ ^[0-9,]*$ && $WINDOW =~ ^[0-9]+$ && $WINDOW_LARGE =~ ^[0-9]+$ ]] ||
	{ echo "run.sh: --rounds/--window/--sizes take integers" >&2; exit 2; }
if (( QUICK )); then
	: "${ROUNDS:=1}"
	SECTIONS=loopback,jumbo WITH_OVS=0 WRITE_DOC=0 WINDOW=5
else
	: "${ROUNDS:=3}"
fi
# a subset's report would replace the whole of docs/performance.md
(( SECTIONS_SET && ! DOC_SET )) && DOC=$OUT/performance.md
if [[ -z $VHSWD_B && -n $B_PORT0$B_PORT1 ]]; then
	VHSWD_B=${VHSWD:-$TOP/build/vhswd}
fi
if [[ -n $VHSWD_B ]]; then
	[[ -f $VHSWD_B && -x $VHSWD_B ]] ||
		{ echo "run.sh: --vhswd-b $VHSWD_B: not an executable file" >&2; exit 2; }
	VHSWD_B=$(realpath -- "$VHSWD_B")
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "run.sh: run as root (DPDK, /run, /proc of other processes)" >&2
	exit 2
fi

# --- packages and build -----------------------------------------------------
. "$TOP/tests/setup.sh"
BENCH_PACKAGES=(openvswitch-switch-dpdk gnuplot-nox valgrind python3)
bench_install_deps() {
	vhsw_apt_install bench "${BENCH_PACKAGES[@]}"
}
vhsw_install_deps
(( QUICK )) || bench_install_deps
vhsw_build
# vhsw-pktgen: from the meson build when tests/meson.build has
# subdir('bench'), else compiled here.
PKTGEN=$VHSW_BUILD/tests/bench/vhsw-pktgen
if [[ ! -x $PKTGEN ]]; then
	PKTGEN=$VHSW_BUILD/bench/vhsw-pktgen
	if [[ ! -x $PKTGEN || $BENCH/vhsw-pktgen.c -nt $PKTGEN ]]; then
		mkdir -p "$(dirname "$PKTGEN")"
		# shellcheck disable=SC2046
		cc -O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
			-o "$PKTGEN" "$BENCH/vhsw-pktgen.c" \
			$(pkg-config --cflags --libs libdpdk) -lm
	fi
fi
OVS_VSWITCHD=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
OVS_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
if (( WITH_OVS )) && [[ ! -x $OVS_VSWITCHD ]]; then
	echo "bench: $OVS_VSWITCHD missing: leaving OVS out" >&2
	WITH_OVS=0
fi

# --- harness -----------------------------------------------------------------
. "$TOP/tests/integration/lib.sh"
. "$TOP/tests/integration/vhsw.sh"
: "${KEEP_TMP_ON_FAIL:=1}"
TP_STOP_TIMEOUT=10
vhsw_test_init bench bench_cleanup

mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
LOGS=$OUT/logs
rm -rf "$LOGS"; mkdir -p "$LOGS"
: > "$RESULTS"
MAC0=52:54:00:be:00:01 MAC1=52:54:00:be:00:02      # loopback client ports
PGMAC0=52:54:00:5a:00:01 PGMAC1=52:54:00:5a:00:02  # vhsw-pktgen ports
SW_SYS="" SW_SOCK0="" SW_SOCK1="" SW_N=0 SW_SOCKS=()
OVS_DIR="" OVSDB_PID="" OVSVS_PID="" OVS_PREFIX=""
PG_PID="" PG_N=0 PG_PREFIX=""
T_START=$SECONDS

has_section() { [[ ,$SECTIONS, == *,$1,* ]]; }
now_us() { local t=${EPOCHREALTIME//[.,]/}; echo $((10#$t)); }
record() { jq -nc "$@" >> "$RESULTS"; }
# progress goes to stderr with the elapsed time
say() { log "[+$((SECONDS - T_START))s] $*"; }

# kill_pid PID [TIMEOUT]: SIGTERM, then SIGKILL; reaps it if it is our child.
kill_pid() {
	local pid=$1 t=${2:-10}
	[[ -n $pid ]] || return 0
	if _tp_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		wait_until "$t" _tp_dead "$pid" || {
			log "pid $pid did not exit on SIGTERM: SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			wait_until 5 _tp_dead "$pid" || true
		}
	fi
	wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
	set +e
	declare -F scaling_cleanup > /dev/null && scaling_cleanup
	if [[ -n $PG_PID ]]; then kill -KILL "$PG_PID" 2>/dev/null; wait "$PG_PID" 2>/dev/null; fi
	[[ -n $PG_PREFIX ]] && rm -rf "/var/run/dpdk/$PG_PREFIX"
	ovs_stop
	# save what explains a failure before harness_cleanup removes TEST_TMP
	[[ -d ${TEST_TMP:-} ]] && cp -r "$TEST_TMP" "$LOGS/tmp" 2>/dev/null
	return 0
}

# --- switches ---------------------------------------------------------------
# start_switch SYS: baseline | vhswd | vhswd_b | vhswd-busy | vhswd-fdb | ovs,
# with two vhost-user ports whose sockets are SW_SOCK0 and SW_SOCK1 (vhswd_b:
# the --vhswd-b binary, otherwise as vhswd).
start_switch() {
	SW_SYS=$1 SW_N=$((SW_N + 1))
	case $1 in
	baseline)
		SW_SOCK0=$TEST_TMP/b$SW_N-0.sock SW_SOCK1=$TEST_TMP/b$SW_N-1.sock
		rm -f "$SW_SOCK0" "$SW_SOCK1"
		TP_MEM_MB=1024 tp_launch sw --lcores 0@0,1@1 \
			--vdev "net_vhost0,iface=$SW_SOCK0,queues=1" \
			--vdev "net_vhost1,iface=$SW_SOCK1,queues=1" -- \
			--forward-mode=io --record-core-cycles --nb-cores=1 \
			--total-num-mbufs=16384
		tp_wait_ready sw 2
		tp_cmd sw start > /dev/null
		;;
	vhswd|vhswd_b|vhswd-busy|vhswd-fdb)
		local mode=adaptive bin=$VHSWD
		local -a extra=()
		[[ $1 == vhswd-busy ]] && mode=busy
		[[ $1 == vhswd_b ]] && bin=$VHSWD_B
		if [[ $1 == vhswd-fdb ]]; then
			echo '{"fdb": {"limit": 1100000}}' > "$TEST_TMP/fdb.json"
			extra=(--config "$TEST_TMP/fdb.json")
		fi
		VHSWD=$bin vhswd_start --poll-mode "$mode" "${extra[@]}"
		SW_SOCK0=$TEST_TMP/v$SW_N-0.sock SW_SOCK1=$TEST_TMP/v$SW_N-1.sock
		local -a a0=() a1=()
		if [[ $1 == vhswd_b ]]; then
			read -r -a a0 <<<"$B_PORT0"
			read -r -a a1 <<<"$B_PORT1"
		fi
		ctl port add p0 vhost-user "$SW_SOCK0" "${a0[@]}" > /dev/null
		ctl port add p1 vhost-user "$SW_SOCK1" "${a1[@]}" > /dev/null
		;;
	ovs) ovs_start ;;
	*) die "unknown system $1" ;;
	esac
}

stop_switch() {
	case $SW_SYS in
	baseline) tp_stop sw || true ;;
	vhswd*)
		local pid=$VHSWD_PID
		cp "$(vhswd_log)" "$LOGS/vhswd.$VHSWD_N.log" 2>/dev/null || true
		vhswd_stop
		rm -rf "/var/run/dpdk/vhsw-$pid"
		;;
	ovs) ovs_stop ;;
	esac
	SW_SYS=""
}

# switch_up: wait until the switch sees both ports connected (vhswd only;
# the others are checked through the client's link state).
switch_up() {
	case $SW_SYS in
	vhswd*) wait_port p0 up 20; wait_port p1 up 20 ;;
	esac
}

ovs_ctl() { ovs-appctl -t "$OVS_DIR/ovs-vswitchd.ctl" "$@"; }
ovs_vsctl() { ovs-vsctl --db="unix:$OVS_DIR/db.sock" --timeout=30 "$@"; }

# ovs_start [N]: ovsdb-server + ovs-vswitchd (DPDK) in a private directory;
# bridge br0 (netdev datapath, NORMAL) with N (default 2) vhost-user ports
# vh0, vh1, ..., whose sockets are SW_SOCKS (SW_SOCK0 and SW_SOCK1 the first
# two).
ovs_start() {
	local n=${1:-2} i
	local -a ports=()
	OVS_DIR=$TEST_TMP/ovs$SW_N
	OVS_PREFIX=vhsw-$$-ovs$SW_N
	mkdir -p "$OVS_DIR"
	export OVS_RUNDIR=$OVS_DIR OVS_DBDIR=$OVS_DIR OVS_LOGDIR=$OVS_DIR \
		OVS_SYSCONFDIR=$OVS_DIR
	ovsdb-tool create "$OVS_DIR/conf.db" "$OVS_SCHEMA"
	( tp_close_fds; exec taskset -c 0 ovsdb-server "$OVS_DIR/conf.db" \
		--remote="punix:$OVS_DIR/db.sock" \
		--pidfile="$OVS_DIR/ovsdb-server.pid" \
		--unixctl="$OVS_DIR/ovsdb-server.ctl" \
		--log-file="$OVS_DIR/ovsdb-server.log" -vconsole:off ) \
		> "$OVS_DIR/ovsdb-server.out" 2>&1 &
	OVSDB_PID=$!
	wait_until 10 test -S "$OVS_DIR/db.sock" || die "ovsdb-server did not start"
	ovs_vsctl --no-wait init
	ovs_vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
		"other_config:dpdk-extra=--no-huge -m 2048 --legacy-mem --no-shconf --no-pci --file-prefix $OVS_PREFIX" \
		other_config:pmd-cpu-mask=0x2
	# The main thread and its helpers on CPU 0; the PMD thread pins itself
	# to CPU 1 (pmd-cpu-mask).
	( tp_close_fds; exec taskset -c 0 "$OVS_VSWITCHD" "unix:$OVS_DIR/db.sock" \
		--pidfile="$OVS_DIR/ovs-vswitchd.pid" \
		--unixctl="$OVS_DIR/ovs-vswitchd.ctl" \
		--log-file="$OVS_DIR/ovs-vswitchd.log" -vconsole:off ) \
		> "$OVS_DIR/ovs-vswitchd.out" 2>&1 &
	OVSVS_PID=$!
	SW_SOCKS=()
	for (( i = 0; i < n; i++ )); do
		ports+=(-- add-port br0 "vh$i" -- set Interface "vh$i" type=dpdkvhostuser)
		SW_SOCKS+=("$OVS_DIR/vh$i")
	done
	ovs_vsctl add-br br0 -- set bridge br0 datapath_type=netdev "${ports[@]}" ||
		{ tail -20 "$OVS_DIR/ovs-vswitchd.log" >&2; die "OVS bridge setup failed"; }
	SW_SOCK0=${SW_SOCKS[0]} SW_SOCK1=${SW_SOCKS[1]}
	for i in "${SW_SOCKS[@]}"; do
		[[ -S $i ]] ||
			{ tail -20 "$OVS_DIR/ovs-vswitchd.log" >&2; die "OVS did not create its vhost-user socket $i"; }
	done
}

ovs_stop() {
	[[ -n $OVSVS_PID ]] && kill_pid "$OVSVS_PID" 15
	[[ -n $OVSDB_PID ]] && kill_pid "$OVSDB_PID" 5
	OVSVS_PID="" OVSDB_PID=""
	if [[ -n $OVS_DIR && -d $OVS_DIR ]]; then
		cp "$OVS_DIR/ovs-vswitchd.log" "$LOGS/ovs-vswitchd.${OVS_DIR##*/ovs}.log" 2>/dev/null || true
	fi
	[[ -n $OVS_PREFIX ]] && rm -rf "/var/run/dpdk/$OVS_PREFIX"
	return 0
}

# cyc_begin / cyc_end: processing cycles and packets of the switch's
# data-plane core over a window; cyc_end prints "CYCLES PACKETS".
cyc_begin() {
	case $SW_SYS in
	baseline) tp_cmd sw "clear fwd stats all" > /dev/null ;;
	vhswd*) ctl stats --clear > /dev/null ;;
	ovs) ovs_ctl dpif-netdev/pmd-stats-clear > /dev/null ;;
	esac
}
cyc_end() {
	case $SW_SYS in
	baseline)
		# testpmd --record-core-cycles: cycles of bursts that received
		# frames / frames received
		tp_cmd sw "show fwd stats all" | sed -nE \
			's/.*CPU cycles\/packet=.*\(total cycles=([0-9]+) \/ total [a-z]+ packets=([0-9]+)\).*/\1 \2/p' |
			tail -n1 | grep . || echo "0 0"
		;;
	vhswd*) jctl '.dataplane | "\(.busy_cycles) \(.packets)"' stats ;;
	ovs)
		ovs_ctl dpif-netdev/pmd-stats-show | awk '
			/^pmd thread/ { pmd = 1 } /^main thread/ { pmd = 0 }
			pmd && /packets received:/ { p += $3 }
			pmd && /processing cycles:/ { c += $3 }
			END { printf "%.0f %.0f\n", c, p }'
		;;
	esac
}

# --- the loopback client (DTS vhost loopback) ---------------------------------
# client_start SIZE: one testpmd, two virtio-user ports on CPU 0, mac
# forwarding, each port sending to the other's MAC through the switch.
client_start() {
	local len=$(( $1 - 4 ))   # frame size incl. FCS -> mbuf length
	tp_launch cl \
		--vdev "virtio_user0,path=$SW_SOCK0,queue_size=1024,mac=$MAC0" \
		--vdev "virtio_user1,path=$SW_SOCK1,queue_size=1024,mac=$MAC1" -- \
		--total-num-mbufs=16384 --rxd=1024 --txd=1024 --nb-cores=1 \
		--forward-mode=mac --eth-peer="0,$MAC1" --eth-peer="1,$MAC0" \
		--txpkts="$len"
	tp_wait_ready cl 2
	tp_wait_link cl up 20 0
	tp_wait_link cl up 20 1
	switch_up
}

# client_rx: "RX0 RX1", frames received by each client port so far.
client_rx() {
	tp_cmd cl "show port stats all" | awk '/RX-packets:/ { printf "%.0f ", $2 } END { print "" }'
}

# loop_kick: start the loop (tx_first 32: each port injects 1024 frames, one
# loop per direction); inject again while a direction does not move (a
# switch that was not ready yet dropped the first bursts).
loop_kick() {
	local try a b
	tp_cmd cl "start tx_first 32" > /dev/null
	for try in 1 2 3 4; do
		read -r -a a <<<"$(client_rx)"; sleep 1; read -r -a b <<<"$(client_rx)"
		(( b[0] > a[0] && b[1] > a[1] )) && return 0
		(( try == 4 )) && break
		log "loopback: a direction does not move (port RX ${a[*]} -> ${b[*]}): injecting again"
		tp_cmd cl stop > /dev/null
		tp_cmd cl "start tx_first 32" > /dev/null
	done
	return 1
}

# dp_ticks PID: CPU ticks so far of PID's polling threads (DPDK lcore
# workers, OVS PMD threads).
dp_ticks() {
	local t=0 d c
	for d in /proc/"$1"/task/*; do
		c=$(cat "$d/comm" 2>/dev/null) || continue
		[[ $c == lcore-worker* || $c == rte-worker* || $c == pmd-c* ]] || continue
		t=$(( t + $(awk '{ print $14 + $15 }' "$d/stat" 2>/dev/null || echo 0) ))
	done
	echo "$t"
}
switch_pid() {
	case $SW_SYS in
	baseline) tp_pid sw ;;
	vhswd*) echo "$VHSWD_PID" ;;
	ovs) echo "$OVSVS_PID" ;;
	esac
}
HZ=$(getconf CLK_TCK)

# window SECONDS: measure the running loop; sets W_MPPS (frames received by
# both client ports / time), W_SAMPLES (per-second Mpps), W_CYC, W_PK (switch
# cycles and packets), W_SW_CPU, W_CL_CPU (share of a CPU the switch's and
# the client's polling threads got: below 0.9 another process took CPU time).
window() {
	local win=$1 i out t0 t1 n0 n1 sw cl s0 s1 c0 c1 pps
	sw=$(switch_pid) cl=$(tp_pid cl)
	W_SAMPLES=()
	cyc_begin
	s0=$(dp_ticks "$sw") c0=$(dp_ticks "$cl")
	out=$(tp_cmd cl "show port stats all"); t0=$(now_us)
	local -a p0 p1
	read -r -a p0 <<<"$(awk '/RX-packets:/ { printf "%.0f ", $2 } END { print "" }' <<<"$out")"
	n0=$(( p0[0] + p0[1] ))
	for (( i = 0; i < win; i++ )); do
		sleep 1
		out=$(tp_cmd cl "show port stats all")
		pps=$(awk '/Rx-pps:/ { s += $2 } END { printf "%.3f", s / 1e6 }' <<<"$out")
		W_SAMPLES+=("$pps")
	done
	t1=$(now_us)
	read -r -a p1 <<<"$(awk '/RX-packets:/ { printf "%.0f ", $2 } END { print "" }' <<<"$out")"
	n1=$(( p1[0] + p1[1] ))
	# direction balance: frames of the smaller direction / the larger
	W_BAL=$(awk -v a=$(( p1[0] - p0[0] )) -v b=$(( p1[1] - p0[1] )) \
		'BEGIN { lo = a < b ? a : b; hi = a < b ? b : a; printf "%.3f", (hi > 0 ? lo / hi : 0) }')
	s1=$(dp_ticks "$sw") c1=$(dp_ticks "$cl")
	local c; c=$(cyc_end)
	W_CYC=${c% *} W_PK=${c#* }
	W_MPPS=$(awk -v n=$((n1 - n0)) -v us=$((t1 - t0)) 'BEGIN { printf "%.4f", n / us }')
	W_SW_CPU=$(awk -v t=$((s1 - s0)) -v hz="$HZ" -v us=$((t1 - t0)) 'BEGIN { printf "%.3f", t / hz * 1e6 / us }')
	W_CL_CPU=$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v us=$((t1 - t0)) 'BEGIN { printf "%.3f", t / hz * 1e6 / us }')
}

# loopback SYS SIZE ROUND: one throughput + cycles/packet measurement.  A
# window in which the switch or the client did not get its CPU (another
# process ran there) is recorded as disturbed and measured again, once.
loopback() {
	local sys=$1 size=$2 round=$3 win=$WINDOW attempt
	(( size == 64 )) || win=$WINDOW_LARGE
	start_switch "$sys"
	client_start "$size"
	if ! loop_kick; then
		W_MPPS=0 W_CYC=0 W_PK=0 W_SW_CPU=0 W_CL_CPU=0 W_BAL=0 W_SAMPLES=()
		attempt=1
	else
		sleep 2   # warm-up (plus the second of loop_kick)
		for attempt in 1 2; do
			window "$win"
			awk -v a="$W_SW_CPU" -v b="$W_CL_CPU" 'BEGIN { exit !(a >= 0.9 && b >= 0.9) }' && break
			(( attempt == 2 )) && break
			log "loopback $sys ${size}B: disturbed window (switch ${W_SW_CPU}, client ${W_CL_CPU} of a CPU): measuring again"
			record --arg sys "$sys" --argjson size "$size" --argjson round "$round" \
				--argjson mpps "$W_MPPS" --argjson sw "$W_SW_CPU" --argjson cl "$W_CL_CPU" \
				'{section: "loopback_disturbed", system: $sys, size: $size, round: $round,
				  mpps: $mpps, switch_cpu: $sw, client_cpu: $cl}'
		done
	fi
	tp_stop cl || true
	stop_switch
	local samples
	samples=$(printf '%s\n' "${W_SAMPLES[@]}" | jq -sc 'map(select(. != null))')
	record --arg sys "$sys" --argjson size "$size" --argjson round "$round" \
		--argjson mpps "$W_MPPS" --argjson cycles "$W_CYC" --argjson packets "$W_PK" \
		--argjson window "$win" --argjson samples "$samples" --argjson attempt "$attempt" \
		--argjson sw "$W_SW_CPU" --argjson cl "$W_CL_CPU" --argjson bal "$W_BAL" \
		'{section: "loopback", system: $sys, size: $size, round: $round, mpps: $mpps,
		  window_s: $window, samples_mpps: $samples, attempt: $attempt, direction_balance: $bal,
		  switch_cpu: $sw, client_cpu: $cl, sw_cycles: $cycles, sw_packets: $packets,
		  cycles_per_packet: (if $packets > 0 then ($cycles / $packets) else null end)}'
	say "loopback r$round ${size}B $sys: $W_MPPS Mpps, $(awk -v c="$W_CYC" -v p="$W_PK" 'BEGIN { if (p) printf "%.1f", c / p; else print "-" }') cycles/packet (CPU: switch $W_SW_CPU, client $W_CL_CPU; directions $W_BAL)"
}

# --- vhsw-pktgen -------------------------------------------------------------
# pktgen_start OUTFILE ARGS...: run vhsw-pktgen against SW_SOCK0/1 in the
# background (CPU 0); pktgen_wait waits and checks its JSON line.
pktgen_start() {
	local out=$1; shift
	PG_N=$((PG_N + 1)) PG_PREFIX=vhsw-$$-pg$PG_N
	( tp_close_fds; exec "$PKTGEN" --lcores 0@0 --no-huge -m 512 --no-pci \
		--no-shconf --file-prefix "$PG_PREFIX" \
		--vdev "virtio_user0,path=$SW_SOCK0,queue_size=1024,mac=$PGMAC0" \
		--vdev "virtio_user1,path=$SW_SOCK1,queue_size=1024,mac=$PGMAC1" \
		-- "$@" ) > "$out" 2> "$out.log" &
	PG_PID=$!
}
pktgen_wait() {
	local out=$1 rc=0 pid=$PG_PID
	wait "$pid" || rc=$?
	PG_PID=""
	rm -rf "/var/run/dpdk/$PG_PREFIX"
	if (( rc != 0 )) || ! jq -e .rx_packets "$out" > /dev/null 2>&1; then
		tail -5 "$out.log" >&2
		die "vhsw-pktgen failed (exit $rc), see $out.log"
	fi
}
pktgen() { pktgen_start "$@"; pktgen_wait "$1"; }

# --- sections ----------------------------------------------------------------
SIZES=(64 512 1518)
SYSTEMS=(baseline vhswd ovs)
(( WITH_OVS )) || SYSTEMS=(baseline vhswd)
(( QUICK )) && SIZES=(64)
[[ -n $SIZES_ARG ]] && IFS=, read -r -a SIZES <<<"$SIZES_ARG"

section_loopback() {
	local r size sys
	for (( r = 1; r <= ROUNDS; r++ )); do
		for size in "${SIZES[@]}"; do
			local -a systems=("${SYSTEMS[@]}")
			# busy polling for comparison (adaptive vs busy under load),
			# right after adaptive so the pair shares the placement
			(( size == 64 && ! QUICK )) &&
				systems=(baseline vhswd vhswd-busy "${SYSTEMS[@]:2}")
			# --vhswd-b: right after vhswd, the pair in alternating
			# order (A B, B A, ...) so a drift within a pair cancels
			if [[ -n $VHSWD_B ]]; then
				local -a ab=(vhswd vhswd_b) with=()
				(( r % 2 == 0 )) && ab=(vhswd_b vhswd)
				for sys in "${systems[@]}"; do
					if [[ $sys == vhswd ]]; then with+=("${ab[@]}"); else with+=("$sys"); fi
				done
				systems=("${with[@]}")
			fi
			for sys in "${systems[@]}"; do
				loopback "$sys" "$size" "$r"
			done
		done
	done
}

# Latency with vhsw-pktgen at 10 % of vhswd's maximum rate (measured first
# with vhsw-pktgen at full rate; LATENCY_MPPS=R in the environment gives
# the rate instead, e.g. an earlier run's), and wake-up latency: single frames 5 ms
# apart, so an adaptive loop has gone to sleep before each (it sleeps after
# 1 ms without traffic).
section_latency() {
	local r sys i f rate max
	start_switch vhswd
	for i in 1 2 3; do
		[[ -n ${LATENCY_MPPS:-} ]] && break
		f=$LOGS/pg-max-$i.json
		pktgen "$f" --duration 3 --warmup 1
		record --slurpfile p "$f" --argjson round "$i" \
			'{section: "pktgen_max", system: "vhswd", round: $round} + $p[0]'
		say "vhswd max rate (vhsw-pktgen, 64 B, one way): $(jq .rx_mpps "$f") Mpps"
	done
	stop_switch
	max=$(jq -s '[.[] | select(.section == "pktgen_max") | .rx_mpps] | sort | .[length / 2 | floor]' "$RESULTS")
	rate=$(awk -v m="$max" 'BEGIN { printf "%.4f", m / 10 }')
	[[ -n ${LATENCY_MPPS:-} ]] && max=$(awk -v r="$LATENCY_MPPS" 'BEGIN { print r * 10 }') rate=$LATENCY_MPPS
	say "latency at $rate Mpps (10 % of $max)"
	local -a systems=("${SYSTEMS[@]}" vhswd-busy)
	[[ -n $VHSWD_B ]] && systems=(baseline vhswd vhswd_b "${SYSTEMS[@]:2}" vhswd-busy)
	for (( r = 1; r <= ROUNDS; r++ )); do
		for sys in "${systems[@]}"; do
			start_switch "$sys"
			f=$LOGS/pg-lat-$sys-$r.json
			cyc_begin
			pktgen "$f" --rate-mpps "$rate" --duration 5 --warmup 1
			local c; c=$(cyc_end)
			record --slurpfile p "$f" --arg sys "$sys" --argjson round "$r" \
				--argjson cycles "${c% *}" --argjson packets "${c#* }" \
				'{section: "latency", system: $sys, round: $round, sw_cycles: $cycles,
				  sw_packets: $packets,
				  cycles_per_packet: (if $packets > 0 then ($cycles / $packets) else null end)} + $p[0]'
			f=$LOGS/pg-wake-$sys-$r.json
			local c0 t0 p0 c1 t1 p1 sw
			sw=$(switch_pid) c0=$(dp_ticks "$sw") p0=$(dp_cpu_poll_us) t0=$(now_us)
			pktgen "$f" --rate-mpps 0.0002 --duration 3 --warmup 0.1 --drain 0.1
			c1=$(dp_ticks "$sw") p1=$(dp_cpu_poll_us) t1=$(now_us)
			# the data-plane CPU's cost: its polling threads' CPU time and
			# the time the CPU polled in the kernel's idle loop
			record --slurpfile p "$f" --arg sys "$sys" --argjson round "$r" \
				--argjson dp "$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v us=$((t1 - t0)) 'BEGIN { printf "%.4f", t / hz * 1e6 / us }')" \
				--argjson poll "$(awk -v p=$((p1 - p0)) -v us=$((t1 - t0)) 'BEGIN { printf "%.4f", p / us }')" \
				'{section: "wakeup", system: $sys, round: $round, dp_cpu: $dp, dp_cpu_idle_poll: $poll} + $p[0]'
			stop_switch
			say "latency r$r $sys: p50/p99 $(jq -r '"\(.lat_p50_us)/\(.lat_p99_us)"' "$LOGS/pg-lat-$sys-$r.json") us at $rate Mpps; wake-up $(jq -r '"\(.lat_p50_us)/\(.lat_p99_us)"' "$f") us, data-plane CPU $(tail -n1 "$RESULTS" | jq -r '"\(.dp_cpu) busy, \(.dp_cpu_idle_poll) idle-polling"')"
		done
	done
}

# Adaptive versus busy polling under load, in one vhswd process and one
# 64 B loop: the mode is switched at run time (vhswctl dataplane set
# poll-mode) between windows, in the order A B, B A, A B, B A, so each pair
# shares the vCPU placement and a drift within a pair cancels over two.
section_polling() {
	local r k m sleeps
	for (( r = 1; r <= ROUNDS; r++ )); do
		start_switch vhswd
		client_start 64
		if loop_kick; then
			sleep 2
			for (( k = 1; k <= POLL_PAIRS; k++ )); do
				local -a order=(adaptive busy)
				(( k % 2 == 0 )) && order=(busy adaptive)
				for m in "${order[@]}"; do
					ctl dataplane set poll-mode "$m" > /dev/null
					window "$POLL_WINDOW"
					sleeps=$(jctl .dataplane.sleeps stats)
					record --arg mode "$m" --argjson round "$r" --argjson pair "$k" \
						--argjson mpps "$W_MPPS" --argjson sleeps "$sleeps" \
						--argjson window "$POLL_WINDOW" \
						--argjson cycles "$W_CYC" --argjson packets "$W_PK" \
						--argjson sw "$W_SW_CPU" --argjson cl "$W_CL_CPU" \
						'{section: "polling", system: "vhswd", size: 64, mode: $mode,
						  round: $round, pair: $pair, mpps: $mpps, sleeps: $sleeps,
						  window_s: $window, switch_cpu: $sw, client_cpu: $cl,
						  cycles_per_packet: (if $packets > 0 then ($cycles / $packets) else null end)}'
					say "polling r$r pair $k $m: $W_MPPS Mpps, $sleeps sleeps"
				done
			done
		fi
		tp_stop cl || true
		stop_switch
	done
}

# The cost of captures (`vhswctl capture`), in one vhswd process and one
# 64 B loop between p0 and p1, in windows of --window seconds: no capture
# versus a capture of a third port p2 (no peer, no traffic: the data path
# of p0 and p1 is unchanged, one NULL monitor per burst, and the session's
# writer thread wakes every 2 ms on the control CPU), in pairs in the order
# A B, B A, ... so a drift within a pair cancels, each pair followed by the
# control "none-ticker" (below); then once a capture of
# the loop port p0 (rx) whose filter rejects every frame ("udp port 9":
# the filter runs on each frame, nothing is copied) and once one that
# keeps every frame with --snaplen 64 (copied with rte_pcapng_copy,
# written to /dev/null by vhswctl; what the ring cannot take is dropped).
CAP_PAIRS=2
# capture_on ARGS...: a capture session, until capture_off.
capture_on() {
	"$VHSWCTL" --ctl "$VHSW_CTL_SOCK" capture "$@" -w /dev/null 2> "$TEST_TMP/cap.err" &
	CAP_PID=$!
	wait_until 10 _capture_running || die "capture $*: no session ($(cat "$TEST_TMP/cap.err"))"
}
_capture_running() { [[ $(jctl '[.[] | select(.state == "running")] | length' capture list) -ge 1 ]]; }
capture_off() {
	[[ -n ${CAP_PID:-} ]] || return 0
	kill -INT "$CAP_PID" 2> /dev/null || true
	wait_until 10 _tp_dead "$CAP_PID" || die "vhswctl capture did not stop"
	wait "$CAP_PID" 2> /dev/null || true
	CAP_PID=""
}
capture_record() {
	local mode=$1 r=$2 k=$3 dropped=${4:-0}
	record --arg mode "$mode" --argjson round "$r" --argjson pair "$k" \
		--argjson mpps "$W_MPPS" --argjson window "$WINDOW" \
		--argjson cycles "$W_CYC" --argjson packets "$W_PK" \
		--argjson sw "$W_SW_CPU" --argjson cl "$W_CL_CPU" --argjson dropped "$dropped" \
		'{section: "capture", system: "vhswd", size: 64, mode: $mode,
		  round: $round, pair: $pair, mpps: $mpps, window_s: $window,
		  switch_cpu: $sw, client_cpu: $cl, capture_dropped: $dropped,
		  cycles_per_packet: (if $packets > 0 then ($cycles / $packets) else null end)}'
	say "capture r$r pair $k $mode: $W_MPPS Mpps, $(awk -v c="$W_CYC" -v p="$W_PK" 'BEGIN { if (p) printf "%.1f", c / p; else print "-" }') cycles/packet (CPU: switch $W_SW_CPU, client $W_CL_CPU)"
}
# A control for this shared machine: under load, a process that merely
# wakes every 2 ms on CPU 0 (what a capture's writer thread does while its
# ring is empty) changes how much CPU the loop gets, by far more than any
# data-path cost (seen 2026-11-30 at load 10: x3 to x5).  "none-ticker" is
# "none" with such a process (python, not vhswd): compare "other" with it.
ticker_on() {
	taskset -c 0 python3 -c 'import time
while True: time.sleep(0.002)' &
	TICK_PID=$!
}
ticker_off() {
	[[ -n ${TICK_PID:-} ]] || return 0
	kill "$TICK_PID" 2> /dev/null || true
	wait "$TICK_PID" 2> /dev/null || true
	TICK_PID=""
}
# capture_window MODE: window, measured once more if the switch or the
# client did not get its CPU (as loopback does).
capture_window() {
	local attempt
	for attempt in 1 2; do
		window "$WINDOW"
		awk -v a="$W_SW_CPU" -v b="$W_CL_CPU" 'BEGIN { exit !(a >= 0.9 && b >= 0.9) }' && return 0
		(( attempt == 2 )) && return 0
		log "capture $1: disturbed window (switch ${W_SW_CPU}, client ${W_CL_CPU} of a CPU): measuring again"
	done
}
section_capture() {
	local r k m d
	for (( r = 1; r <= ROUNDS; r++ )); do
		start_switch "${CAPTURE_SYS:-vhswd}"   # or vhswd-busy
		ctl port add p2 vhost-user "$TEST_TMP/v$SW_N-2.sock" > /dev/null
		client_start 64
		if loop_kick; then
			sleep 2
			for (( k = 1; k <= CAP_PAIRS; k++ )); do
				local -a order=(none other)
				(( (r + k) % 2 == 1 )) && order=(other none)
				for m in "${order[@]}" none-ticker; do
					[[ $m == other ]] && capture_on p2
					[[ $m == none-ticker ]] && ticker_on
					capture_window "$m"
					capture_off
					ticker_off
					capture_record "$m" "$r" "$k"
				done
			done
			capture_on p0 --direction rx --filter "udp port 9"
			capture_window loop-filter-none
			capture_off
			capture_record loop-filter-none "$r" 0
			capture_on p0 --direction rx --snaplen 64
			capture_window loop-all
			d=$(jctl '[.[] | select(.state == "running")][0].dropped' capture list)
			capture_off
			capture_record loop-all "$r" 0 "$d"
		fi
		tp_stop cl || true
		stop_switch
	done
	# The ratio of each pair (a capture of another port / none) and their
	# median: the figure the issue asks for; and against the ticker control.
	jq -rs '[.[] | select(.section == "capture")] as $c
		| [$c[] | select(.mode == "other") as $o
		   | ($c[] | select(.mode == "none" and .round == $o.round and .pair == $o.pair)) as $n
		   | if $n.mpps > 0 then $o.mpps / $n.mpps else empty end] | sort as $v
		| ($v | length) as $n
		| (if $n == 0 then null elif $n % 2 == 1 then $v[($n - 1) / 2]
		   else ($v[$n / 2 - 1] + $v[$n / 2]) / 2 end) as $med
		| [$c[] | select(.mode == "other") as $o
		   | ($c[] | select(.mode == "none-ticker" and .round == $o.round and .pair == $o.pair)) as $t
		   | if $t.mpps > 0 then $o.mpps / $t.mpps else empty end] | sort as $vt
		| ($vt | length) as $nt
		| (if $nt == 0 then null elif $nt % 2 == 1 then $vt[($nt - 1) / 2]
		   else ($vt[$nt / 2 - 1] + $vt[$nt / 2]) / 2 end) as $medt
		| ([$c[] | select(.mode == "none") | .mpps] | add / length) as $none
		| "capture: 64 B loopback, a capture of another port / none, per pair: "
		  + ([$v[] | . * 1000 | round / 1000 | tostring] | join(" "))
		  + "; median " + (if $med == null then "-" else ($med * 1000 | round / 1000 | tostring) end)
		  + "; / none with a 2 ms ticker: "
		  + ([$vt[] | . * 1000 | round / 1000 | tostring] | join(" "))
		  + "; median " + (if $medt == null then "-" else ($medt * 1000 | round / 1000 | tostring) end)
		  + "; a loop port captured with a filter that rejects all / none (mean): "
		  + ([$c[] | select(.mode == "loop-filter-none") | .mpps] | if length > 0 then (add / length / $none * 1000 | round / 1000 | tostring) else "-" end)
		  + "; with every frame copied / none: "
		  + ([$c[] | select(.mode == "loop-all") | .mpps] | if length > 0 then (add / length / $none * 1000 | round / 1000 | tostring) else "-" end)' "$RESULTS"
}

# FDB scale: vhswd with room for 1.1 M learned entries; vhsw-pktgen at full
# rate, alternating every 100 ms between N source MACs and its own single
# MAC (--alternate-ms): the ratio of the two rates compares phases that saw
# the same vCPU placement (the host moves the vCPUs every few seconds to
# tens of seconds, and throughput follows it by up to 40 %).
section_fdb() {
	local r n f entries
	start_switch vhswd-fdb
	for (( r = 1; r <= ROUNDS; r++ )); do
		for n in 1000 65536 1000000; do
			ctl fdb flush > /dev/null
			f=$LOGS/pg-fdb-$n-$r.json
			pktgen_start "$f" --src-macs "$n" --alternate-ms 100 \
				--warmup 3 --duration 6
			sleep 5
			entries=$(jctl .fdb.entries stats)
			pktgen_wait "$f"
			record --slurpfile p "$f" --argjson n "$n" --argjson round "$r" \
				--argjson entries "$entries" \
				--arg pages "$(jctl .fdb.pages stats)" \
				'{section: "fdb", system: "vhswd", macs: $n, round: $round,
				  fdb_entries: $entries, fdb_pages: $pages} + $p[0]'
			say "fdb r$r $n MACs: $(jq .scaled_rx_mpps "$f") Mpps, 1 MAC: $(jq .ref_rx_mpps "$f") Mpps (ratio $(jq .scale_ratio "$f")), $entries entries"
		done
	done
	stop_switch
}

# Jumbo frames: vhsw-pktgen at full rate with 9000-byte frames between two
# MTU 9000 ports (virtio-user negotiates mergeable RX buffers, so each frame
# spans several descriptors).  Frames arrive in order, and any frame lost
# is one the switch counted as dropped toward the full receiver.
section_jumbo() {
	local r f d0 d1
	SW_SYS=vhswd
	vhswd_start
	SW_SOCK0=$TEST_TMP/j-0.sock SW_SOCK1=$TEST_TMP/j-1.sock
	ctl port add p0 vhost-user "$SW_SOCK0" --mtu 9000 > /dev/null
	ctl port add p1 vhost-user "$SW_SOCK1" --mtu 9000 > /dev/null
	for (( r = 1; r <= ROUNDS; r++ )); do
		f=$LOGS/pg-jumbo-$r.json
		d0=$(jctl .stats.tx_dropped port show p1)
		pktgen "$f" --size 9000 --warmup 0.5 --duration 2
		d1=$(jctl .stats.tx_dropped port show p1)
		record --slurpfile p "$f" --argjson round "$r" --argjson dropped $((d1 - d0)) \
			'{section: "jumbo", system: "vhswd", round: $round, switch_tx_dropped: $dropped} + $p[0]'
		say "jumbo r$r 9000B: $(jq -r '"\(.rx_mpps) Mpps, \(.rx_packets) of \(.tx_packets) frames, \(.reordered) reordered"' "$f"), switch counted $((d1 - d0)) dropped"
		jq -e --argjson d $((d1 - d0)) '.rx_packets > 0 and .reordered == 0 and .loss <= $d' "$f" > /dev/null ||
			die "jumbo: 9000-byte frames reordered or lost without a count (see $f)"
	done
	stop_switch
}

# --- many ports, many MACs -----------------------------------------------------
# A container host is not a two-port loop: MP_PORTS vhost-user ports on one
# switch, and vhsw-pktgen --mesh (one lcore on CPU 0, a virtio-user port on
# each) sending from every port to every other over many (source,
# destination) MAC pairs, at full rate.  Each case MACS:FLOWS gives every
# port MACS source MACs and FLOWS pairs (frames cycle through them, so a
# burst holds FLOWS different pairs toward scattered ports); the learning
# phase has every MAC broadcast first, so the measured window has no
# flooding.  vhswd (adaptive, one data-plane thread on CPU 1) and OVS-DPDK
# (NORMAL, one PMD on CPU 1, its MAC table sized for every MAC) in the order
# A B in odd rounds and B A in even ones; each system runs every case in one
# switch process.
MP_PORTS=${MANYPORTS_PORTS:-4}
MP_CASES=${MANYPORTS_CASES:-"1:$((MP_PORTS - 1)) 256:4096"}
MP_WINDOW=${MANYPORTS_WINDOW:-8}
MP_WARMUP=${MANYPORTS_WARMUP:-3}

# start_switch_mesh SYS: the switch with MP_PORTS ports; SW_SOCKS.
start_switch_mesh() {
	local i most=1 c
	for c in $MP_CASES; do (( ${c%%:*} > most )) && most=${c%%:*}; done
	SW_SYS=$1 SW_N=$((SW_N + 1))
	case $1 in
	vhswd)
		vhswd_start --poll-mode adaptive
		SW_SOCKS=()
		for (( i = 0; i < MP_PORTS; i++ )); do
			SW_SOCKS+=("$TEST_TMP/m$SW_N-$i.sock")
			ctl port add "p$i" vhost-user "${SW_SOCKS[i]}" > /dev/null
		done
		;;
	ovs)
		ovs_start "$MP_PORTS"
		OVS_DROPPED_LAST=0
		# room for every MAC (OVS 3.1's default is 8192)
		ovs_vsctl set bridge br0 \
			"other_config:mac-table-size=$(( 2 * MP_PORTS * most + 8192 ))"
		;;
	*) die "manyports: unknown system $1" ;;
	esac
}

# mesh_counters: vhswd's "FLOODED DROPPED" summed over its ports so far
# (frames flooded at ingress, dropped at egress).
mesh_counters() { jctl '[.ports[]] | "\(map(.flooded) | add) \(map(.tx_dropped) | add)"' stats; }

# ovs_db_stats: "RX_PACKETS TX_FAILURE_DROPS" of OVS's vhost ports from its
# database, which refreshes them every 5 s (the datapath's dpctl/show -s
# cannot read vhost ports' counters; once a peer is gone only OVS's own
# counters stay: ovs_tx_failure_drops, frames dropped toward a full ring).
ovs_db_stats() {
	ovs_vsctl --format=json --columns=name,statistics list Interface |
		tee -a "$LOGS/ovs-interface-stats.json" | jq -r '
		[.data[] | select(.[0] | startswith("vh")) | .[1][1] | map({(.[0]): .[1]}) | add]
		| "\(map(.rx_packets // 0) | add) \(map(.ovs_tx_failure_drops // 0) | add)"'
}
_ovs_db_changed() { [[ $(ovs_db_stats) != "$1" ]]; }
# ovs_dropped_since: frames OVS dropped at egress since the last call (or
# its start), once the database has the counters of traffic that stopped.
OVS_DROPPED_LAST=0
ovs_dropped_since() {
	local s0 st
	s0=$(ovs_db_stats)
	wait_until 7 _ovs_db_changed "$s0" || true
	st=$(ovs_db_stats)
	echo $(( ${st#* } - OVS_DROPPED_LAST ))
	OVS_DROPPED_LAST=${st#* }
}

# ovs_pmd_json FILE: OVS's PMD counters since pmd-stats-clear (also saved in
# FILE) as JSON: how the packets were classified (simple match, EMC, SMC,
# megaflow (dpcls) hits, upcalls), frames per output batch, and the
# datapath's flow count.
ovs_pmd_json() {
	ovs_ctl dpif-netdev/pmd-stats-show | tee "$1" | awk '
		/^pmd thread/ { pmd = 1 } /^main thread/ { pmd = 0 }
		!pmd { next }
		/packets received:/ { rx += $3 }
		/simple match hits:/ { simple += $4 }
		/emc hits:/ { emc += $3 }
		/smc hits:/ { smc += $3 }
		/megaflow hits:/ { mf += $3 }
		/miss with success upcall:/ { up += $5 }
		/miss with failed upcall:/ { fup += $5 }
		/avg. subtable lookups per megaflow hit:/ { subt = $7 }
		/avg. packets per output batch:/ { batch = $6 }
		END { printf "{\"packets\":%.0f,\"simple_match_hits\":%.0f,\"emc_hits\":%.0f,\"smc_hits\":%.0f,\"megaflow_hits\":%.0f,\"upcalls\":%.0f,\"failed_upcalls\":%.0f,\"subtable_lookups_per_hit\":%s,\"packets_per_output_batch\":%s",
			rx, simple, emc, smc, mf, up, fup, subt + 0, batch + 0 }'
	printf ',"datapath_flows":%s}\n' \
		"$(ovs_ctl dpctl/show 2> /dev/null | awk '/flows:/ { print $2; exit }' | grep . || echo null)"
}

# pktgen_mesh_start OUTFILE ARGS...: vhsw-pktgen --mesh on every SW_SOCKS.
pktgen_mesh_start() {
	local out=$1 i; shift
	local -a vdevs=()
	for i in "${!SW_SOCKS[@]}"; do
		vdevs+=(--vdev "virtio_user$i,path=${SW_SOCKS[i]},queue_size=1024")
	done
	PG_N=$((PG_N + 1)) PG_PREFIX=vhsw-$$-pg$PG_N
	( tp_close_fds; exec "$PKTGEN" --lcores 0@0 --no-huge -m 512 --no-pci \
		--no-shconf --file-prefix "$PG_PREFIX" "${vdevs[@]}" \
		-- --mesh "$@" ) > "$out" 2> "$out.log" &
	PG_PID=$!
}
_pg_said() { grep -qs "$2" "$1.log" || ! _tp_alive "$PG_PID"; }

# manyports_case SYS ROUND MACS FLOWS [ATTEMPT]: one window in the running
# switch.  A window in which the switch's or the client's polling thread got
# less than 90 % of its CPU (another process ran there) is recorded as
# disturbed and measured again, once.
manyports_case() {
	local sys=$1 r=$2 macs=$3 flows=$4 attempt=${5:-1} f sw c0 c1 s0 s1 t0 t1 cyc pmd="null"
	local fdb=null
	local -a k0 k1
	f=$LOGS/pg-manyports-$sys-$macs-$flows-$r-$attempt.json
	sw=$(switch_pid)
	pktgen_mesh_start "$f" --mesh-macs "$macs" --mesh-flows "$flows" \
		--warmup "$MP_WARMUP" --duration "$MP_WINDOW" --drain 0.5 --wait-path 30
	wait_until 60 _pg_said "$f" "window start" || die "manyports $sys: no window start (see $f.log)"
	cyc_begin
	k0=(null 0)
	[[ $sys == vhswd ]] && read -r -a k0 <<<"$(mesh_counters)"
	s0=$(dp_ticks "$sw"); c0=$(cpu_ticks "$PG_PID" 2> /dev/null || echo 0); t0=$(now_us)
	wait_until $(( MP_WINDOW + 60 )) _pg_said "$f" "window end" || die "manyports $sys: no window end (see $f.log)"
	s1=$(dp_ticks "$sw"); c1=$(cpu_ticks "$PG_PID" 2> /dev/null || echo 0); t1=$(now_us)
	cyc=$(cyc_end)
	[[ $sys == ovs ]] && pmd=$(ovs_pmd_json "${f%.json}.pmd-stats.txt")
	k1=(null 0)
	[[ $sys == vhswd ]] && fdb=$(jctl .fdb.entries stats) && read -r -a k1 <<<"$(mesh_counters)"
	pktgen_wait "$f"
	# OVS: over the whole vhsw-pktgen run
	[[ $sys == ovs ]] && k1=(null "$(ovs_dropped_since)")
	record --slurpfile p "$f" --arg sys "$sys" --argjson round "$r" --argjson attempt "$attempt" \
		--argjson cycles "${cyc% *}" --argjson packets "${cyc#* }" \
		--argjson swcpu "$(awk -v t=$((s1 - s0)) -v hz="$HZ" -v us=$((t1 - t0)) 'BEGIN { printf "%.3f", t / hz * 1e6 / us }')" \
		--argjson clcpu "$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v us=$((t1 - t0)) 'BEGIN { printf "%.3f", t / hz * 1e6 / us }')" \
		--argjson flooded "$([[ ${k1[0]} == null ]] && echo null || echo $(( k1[0] - k0[0] )))" \
		--argjson dropped $(( k1[1] - k0[1] )) --argjson pmd "$pmd" --argjson fdb "$fdb" --argjson warmup "$MP_WARMUP" \
		'$p[0] as $g
		 | ([range(0; $g.ports) as $i | range(0; $g.ports) as $j | select($i != $j)
		     | {tx: $g.tx_matrix[$i][$j], rx: $g.rx_matrix[$i][$j]}]) as $pairs
		 | {section: "manyports", system: $sys, round: $round, attempt: $attempt, ports: $g.ports,
		    warmup_s: $warmup, window_s: $g.duration_s,
		    macs_per_port: $g.macs_per_port, flows_per_port: $g.flows_per_port,
		    pairs: $g.pairs, mpps: $g.rx_mpps, samples_mpps: $g.samples_mpps,
		    switch_cpu: $swcpu, client_cpu: $clcpu, sw_cycles: $cycles, sw_packets: $packets,
		    cycles_per_packet: (if $packets > 0 then ($cycles / $packets) else null end),
		    switch_flooded: $flooded, switch_tx_dropped: $dropped,
		    switch_tx_dropped_over: (if $sys == "ovs" then "run" else "window" end),
		    fdb_entries: $fdb, ovs_pmd: $pmd,
		    max_pair_loss_ratio: ([$pairs[] | if .tx > 0 then 1 - .rx / .tx else 1 end] | max),
		    port_rx_balance: (($g.rx_per_port | min) / ([($g.rx_per_port | max), 1] | max)),
		    checks: {no_flooding: ($g.rx_flooded == 0), in_order: ($g.reordered == 0),
		             every_pair: ([$pairs[] | .tx > 0 and .rx > 0] | all)},
		    pktgen: $g}'
	say "manyports r$r $sys ${macs}x$flows: $(tail -n1 "$RESULTS" | jq -r '"\(.mpps) Mpps, \(.cycles_per_packet // 0 | floor) cycles/packet (CPU: switch \(.switch_cpu), client \(.client_cpu)); loss \(.pktgen.loss_ratio), worst pair \(.max_pair_loss_ratio * 1e6 | round / 1e6), flooded \(.pktgen.rx_flooded), reordered \(.pktgen.reordered)" + (if .ovs_pmd then "; OVS emc \(.ovs_pmd.emc_hits), megaflow \(.ovs_pmd.megaflow_hits), upcalls \(.ovs_pmd.upcalls), \(.ovs_pmd.packets_per_output_batch) per batch" else "" end)')"
	tail -n1 "$RESULTS" | jq -e '.mpps > 0 and .checks.every_pair' > /dev/null ||
		die "manyports $sys ${macs}x$flows: a (sender, receiver) pair got nothing (see $f)"
	tail -n1 "$RESULTS" | jq -e '.checks | all' > /dev/null ||
		log "manyports $sys ${macs}x$flows: WARNING: frames flooded or reordered in the window (see $f)"
	if (( attempt == 1 )) &&
		! tail -n1 "$RESULTS" | jq -e '.switch_cpu >= 0.9 and .client_cpu >= 0.9' > /dev/null; then
		log "manyports $sys ${macs}x$flows: disturbed window (switch or client below 90 % of its CPU): measuring again"
		# the row stays, as section manyports_disturbed
		local last; last=$(tail -n1 "$RESULTS")
		sed -i '$d' "$RESULTS"
		jq -c '.section = "manyports_disturbed"' <<<"$last" >> "$RESULTS"
		manyports_case "$sys" "$r" "$macs" "$flows" 2
	fi
}

section_manyports() {
	local r sys c
	local -a systems=(vhswd ovs)
	(( WITH_OVS )) || systems=(vhswd)
	(( MP_PORTS >= 2 && MP_PORTS <= 16 )) || die "manyports: MANYPORTS_PORTS must be 2..16"
	for (( r = 1; r <= ROUNDS; r++ )); do
		local -a order=("${systems[@]}")
		(( r % 2 == 0 && ${#systems[@]} == 2 )) && order=(ovs vhswd)
		for sys in "${order[@]}"; do
			start_switch_mesh "$sys"
			for c in $MP_CASES; do
				manyports_case "$sys" "$r" "${c%%:*}" "${c#*:}"
			done
			stop_switch
		done
	done
	# Per round vhswd / OVS for each case, their median, and the capacity
	# (the 90th percentile of every 1 s sample) ratio.
	jq -rs '[.[] | select(.section == "manyports")] as $m
		| [$m[] | "\(.macs_per_port):\(.flows_per_port)"] | unique[] as $case
		| [$m[] | select("\(.macs_per_port):\(.flows_per_port)" == $case)] as $c
		| [$c[] | select(.system == "vhswd") as $v
		   | ($c[] | select(.system == "ovs" and .round == $v.round)) as $o
		   | if $o.mpps > 0 then $v.mpps / $o.mpps else empty end] as $v
		| ($v | sort) as $s | ($s | length) as $n
		| (if $n == 0 then null elif $n % 2 == 1 then $s[($n - 1) / 2]
		   else ($s[$n / 2 - 1] + $s[$n / 2]) / 2 end) as $med
		| def p90(sys): [$c[] | select(.system == sys) | .samples_mpps[]] | sort
			| if length == 0 then null else .[(length * 0.9 | floor)] end;
		  (p90("vhswd")) as $pv | (p90("ovs")) as $po
		| "manyports \($c[0].ports) ports, \($c[0].macs_per_port) MACs and \($c[0].flows_per_port) pairs per port: vhswd / OVS per round "
		  + ([$v[] | . * 1000 | round / 1000 | tostring] | join(" "))
		  + "; median " + (if $med == null then "-" else ($med * 1000 | round / 1000 | tostring) end)
		  + "; capacity \($pv // "-") / \($po // "-") Mpps = "
		  + (if $pv != null and $po != null and $po > 0 then ($pv / $po * 1000 | round / 1000 | tostring) else "-" end)' "$RESULTS"
}

# dp_cpu_poll_us: microseconds the data-plane CPU (1) has spent in the
# kernel's polling idle state so far (cpuidle state POLL; 0 without one).
dp_cpu_poll_us() {
	local d
	for d in /sys/devices/system/cpu/cpu1/cpuidle/state*; do
		[[ $(cat "$d/name" 2>/dev/null) == POLL ]] && { cat "$d/time"; return; }
	done
	echo 0
}

# cpu_ticks PID: user + system clock ticks of all its threads so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Idle CPU (4 connected idle ports) and resident memory (64 ports), in
# adaptive and busy poll mode.
section_idle() {
	local r mode i hz c0 c1 t0 t1 cpu rss
	hz=$(getconf CLK_TCK)
	local -a modes=(adaptive busy)
	[[ -n $VHSWD_B ]] && modes=(adaptive adaptive_b busy)
	for (( r = 1; r <= ROUNDS; r++ )); do
		for mode in "${modes[@]}"; do
			local bin=$VHSWD p0 p1
			[[ $mode == adaptive_b ]] && bin=$VHSWD_B
			VHSWD=$bin vhswd_start --poll-mode "${mode%_b}"
			local rss0; rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$VHSWD_PID/status")
			for (( i = 0; i < 64; i++ )); do
				ctl port add "q$i" vhost-user "$TEST_TMP/q$i.sock" > /dev/null
			done
			for i in 0 1; do
				tp_launch "idle$i" \
					--vdev "virtio_user0,path=$TEST_TMP/q$((2 * i)).sock,queue_size=1024" \
					--vdev "virtio_user1,path=$TEST_TMP/q$((2 * i + 1)).sock,queue_size=1024" -- \
					--total-num-mbufs=8192 --rxd=1024 --txd=1024
				tp_wait_ready "idle$i" 2
			done
			for i in 0 1 2 3; do wait_port "q$i" up 20; done
			sleep 1
			c0=$(cpu_ticks "$VHSWD_PID"); t0=$(now_us) p0=$(dp_cpu_poll_us)
			sleep 5
			c1=$(cpu_ticks "$VHSWD_PID"); t1=$(now_us) p1=$(dp_cpu_poll_us)
			cpu=$(awk -v c=$((c1 - c0)) -v hz="$hz" -v us=$((t1 - t0)) \
				'BEGIN { printf "%.2f", c / hz * 1e6 / us * 100 }')
			rss=$(grep -E '^(VmRSS|RssAnon|RssFile|RssShmem):' "/proc/$VHSWD_PID/status" |
				jq -Rnc '[inputs | capture("^(?<k>[A-Za-z]+):\\s+(?<v>[0-9]+)")
					| {(.k + "_kib"): (.v | tonumber)}] | add')
			record --arg mode "$mode" --argjson round "$r" --argjson cpu "$cpu" \
				--argjson rss "$rss" --argjson rss0 "$rss0" \
				--argjson poll "$(awk -v p=$((p1 - p0)) -v us=$((t1 - t0)) 'BEGIN { printf "%.4f", p / us }')" \
				--argjson sleeps "$(jctl .dataplane.sleeps stats)" \
				'{section: "idle", system: ("vhswd-" + $mode), round: $round,
				  cpu_percent: $cpu, dp_cpu_idle_poll: $poll, ports: 64, connected: 4, sleeps: $sleeps,
				  rss_no_ports_kib: $rss0} + $rss'
			say "idle r$r $mode: vhswd ${cpu}% CPU, RSS $(jq -r .VmRSS_kib <<<"$rss") KiB with 64 ports"
			tp_stop idle0 || true; tp_stop idle1 || true
			local pid=$VHSWD_PID; vhswd_stop; rm -rf "/var/run/dpdk/vhsw-$pid"
		done
	done
}

# sw_rx: frames the switch has received so far (vhswd's loop counter; the
# testpmd baseline's port counters).
sw_rx() {
	case $SW_SYS in
	vhswd*) jctl .dataplane.packets stats ;;
	baseline)
		TP_CMD_TIMEOUT=120 tp_cmd sw "show port stats all" |
			awk '/RX-packets:/ { s += $2 } END { printf "%.0f\n", s }' ;;
	esac
}

# Instruction counts per packet (valgrind callgrind): vhswd's data plane
# against the testpmd io baseline while vhsw-pktgen sends at full rate (a
# few hundred thousand frames get through under valgrind).  The counters
# are zeroed once traffic flows and dumped 5 s later, while it still flows
# (callgrind_control -z / -d), so set-up, teardown and idle polling are
# left out.  --fair-sched: the busy data-plane thread must not starve the
# control thread.  vhswd runs in adaptive mode so that it answers vhswctl
# promptly while idle; under load it polls exactly as in busy mode.
section_callgrind() {
	command -v valgrind > /dev/null || { log "no valgrind: skipping callgrind"; return 0; }
	local sys out f pk0 pk1 pk pid dump
	local -a systems=(vhswd baseline)
	# CALLGRIND_MACS=N: vary the source MAC over N addresses (vhswd only)
	[[ ${CALLGRIND_MACS:-1} == 1 ]] || systems=(vhswd)
	# CALLGRIND_MESH=MACS:FLOWS: MP_PORTS ports and vhsw-pktgen --mesh
	local mesh=${CALLGRIND_MESH:-} ready="path ready"
	[[ -z $mesh ]] || systems=(vhswd) ready="learned after"
	for sys in "${systems[@]}"; do
		out=$LOGS/callgrind.$sys.out
		rm -f "$out" "$out".*
		printf '#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file=%s --dump-instr=no --fair-sched=yes %s "$@"\n' \
			"$out" "$([[ $sys == vhswd ]] && echo "$VHSWD" || command -v "$TESTPMD")" > "$TEST_TMP/cg-$sys.sh"
		chmod +x "$TEST_TMP/cg-$sys.sh"
		SW_N=$((SW_N + 1))
		if [[ $sys == vhswd ]]; then
			SW_SYS=vhswd
			VHSWD=$TEST_TMP/cg-$sys.sh VHSWD_START_TIMEOUT=300 vhswd_start --poll-mode adaptive
			SW_SOCK0=$TEST_TMP/v$SW_N-0.sock SW_SOCK1=$TEST_TMP/v$SW_N-1.sock
			local -a a0=() a1=()
			read -r -a a0 <<<"${CALLGRIND_PORT0:-}"
			read -r -a a1 <<<"${CALLGRIND_PORT1:-}"
			ctl port add p0 vhost-user "$SW_SOCK0" "${a0[@]}" > /dev/null
			ctl port add p1 vhost-user "$SW_SOCK1" "${a1[@]}" > /dev/null
			SW_SOCKS=("$SW_SOCK0" "$SW_SOCK1")
			if [[ -n $mesh ]]; then
				local i
				for (( i = 2; i < MP_PORTS; i++ )); do
					SW_SOCKS+=("$TEST_TMP/v$SW_N-m$i.sock")
					ctl port add "p$i" vhost-user "${SW_SOCKS[i]}" > /dev/null
				done
			fi
			pid=$VHSWD_PID
			if [[ -n ${CALLGRIND_CAPTURE:-} ]]; then
				ctl port add p2 vhost-user "$TEST_TMP/v$SW_N-2.sock" > /dev/null
				local -a ca=()
				eval "ca=($CALLGRIND_CAPTURE)"
				capture_on "${ca[@]}"
			fi
		else
			SW_SYS=baseline
			SW_SOCK0=$TEST_TMP/b$SW_N-0.sock SW_SOCK1=$TEST_TMP/b$SW_N-1.sock
			TESTPMD=$TEST_TMP/cg-$sys.sh TP_MEM_MB=1024 tp_launch sw --lcores 0@0,1@1 \
				--vdev "net_vhost0,iface=$SW_SOCK0,queues=1" \
				--vdev "net_vhost1,iface=$SW_SOCK1,queues=1" -- \
				--forward-mode=io --nb-cores=1 --total-num-mbufs=16384
			TP_START_TIMEOUT=300 tp_wait_ready sw 2
			TP_CMD_TIMEOUT=120 tp_cmd sw start > /dev/null
			pid=$(tp_pid sw)
		fi
		f=$LOGS/pg-callgrind-$sys.json
		if [[ -n $mesh ]]; then
			pktgen_mesh_start "$f" --duration 12 --warmup 1 --drain 1 --wait-path 240 \
				--mesh-macs "${mesh%%:*}" --mesh-flows "${mesh#*:}"
		else
			pktgen_start "$f" --duration 12 --warmup 1 --drain 1 --wait-path 240 \
				--src-macs "${CALLGRIND_MACS:-1}"
		fi
		wait_until 240 grep -qs "$ready" "$f.log" || die "callgrind $sys: no path"
		sleep 2
		callgrind_control -z "$pid" > /dev/null
		pk0=$(sw_rx)
		sleep 5
		pk1=$(sw_rx)
		callgrind_control -d "$pid" > /dev/null
		pk=$(( pk1 - pk0 ))
		# (vhswctl capture ends with the switch, killed below)
		if [[ $sys == vhswd && -n ${CALLGRIND_CAPTURE:-} ]]; then
			kill -KILL "$CAP_PID" 2> /dev/null || true
			wait "$CAP_PID" 2> /dev/null || true
			CAP_PID=""
		fi
		# the dump is taken: stop the switch first (a valgrind'ed switch
		# answers vhost-user messages slowly; vhsw-pktgen's exit waits for
		# them)
		if [[ $sys == vhswd ]]; then
			kill -KILL "$pid" 2> /dev/null; wait_until 30 _tp_dead "$pid" || true
			wait "$pid" 2> /dev/null || true
			VHSWD_PID=""
			rm -rf "/var/run/dpdk/vhsw-$pid"
		else
			tp_kill sw
		fi
		rm -f /tmp/vgdb-pipe-*-"$pid"-by-*   # callgrind_control's FIFOs
		pktgen_wait "$f"
		SW_SYS=""
		dump=$(ls -t "$out".* 2>/dev/null | grep -v '\.txt$' | head -n1)
		[[ -s $dump ]] || { log "callgrind wrote nothing for $sys"; continue; }
		callgrind_annotate --inclusive=yes --threshold=100 "$dump" > "$out.txt" 2>/dev/null || true
		# inclusive Ir of the functions that matter (the lines that name
		# their object file), per frame received by the switch
		local fn ir js="{}"
		for fn in start_thread dp_main dp_poll_once fwd_input fdb_input_bulk fwd_flush \
			rte_vhost_dequeue_burst rte_vhost_enqueue_burst rte_pktmbuf_free_bulk \
			rte_hash_lookup_with_hash_bulk_data; do
			ir=$(awk -v fn="$fn" '
				index($0, ":" fn " [") { gsub(",", "", $1); s += $1 }
				END { printf "%.0f\n", s }' "$out.txt")
			js=$(jq -c --arg fn "$fn" --argjson ir "$ir" '. + {($fn): $ir}' <<<"$js")
		done
		ir=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$out.txt")
		js=$(jq -c --argjson ir "${ir:-0}" '. + {total: $ir}' <<<"$js")
		# how often the burst functions were called (frames per call:
		# the batch sizes), from the dump's call records
		local calls
		calls=$(python3 - "$dump" <<'PY'
import json, re, sys
want = {"rte_vhost_enqueue_burst", "rte_vhost_dequeue_burst", "fwd_input",
        "fdb_input_bulk", "fwd_flush"}
names, out, cur = {}, {}, None
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"(c?fn)=\((\d+)\)(?: (.*))?$", line.rstrip("\n"))
    if m:
        if m.group(3):
            names[m.group(2)] = m.group(3)
        cur = names.get(m.group(2)) if m.group(1) == "cfn" else None
    elif line.startswith("calls=") and cur is not None:
        if cur in want:
            out[cur] = out.get(cur, 0) + int(line[6:].split()[0])
        cur = None
print(json.dumps(out))
PY
		)
		record --arg sys "$sys" --argjson packets "$pk" --argjson ir "$js" \
			--argjson calls "${calls:-{\}}" --arg mesh "$mesh" \
			--slurpfile p "$f" --argjson macs "${CALLGRIND_MACS:-1}" \
			--arg capture "${CALLGRIND_CAPTURE:-}" \
			'{section: "callgrind", system: $sys, packets: $packets, inclusive_ir: $ir, src_macs: $macs,
			  capture: (if $capture == "" then null else $capture end),
			  mesh: (if $mesh == "" then null else $mesh end), calls: $calls,
			  packets_per_call: ($calls | with_entries(.value = (if .value > 0 then $packets / .value else null end))),
			  pktgen: $p[0],
			  ir_per_packet: ($ir | with_entries(.value = (if $packets > 0 then .value / $packets else null end)))}'
		say "callgrind $sys: $pk packets; Ir per packet: $(tail -n1 "$RESULTS" | jq -c '.ir_per_packet | with_entries(select(.value > 0)) | map_values(floor)'); frames per call: $(tail -n1 "$RESULTS" | jq -c '.packets_per_call | map_values(. * 10 | floor / 10)')"
	done
}

# --- main --------------------------------------------------------------------
record --arg args "$ARGS_GIVEN" --arg kernel "$(uname -r)" \
	--arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
	--arg dpdk "$(dpkg-query -W -f='${Version}' dpdk 2>/dev/null)" \
	--arg ovs "$(dpkg-query -W -f='${Version}' openvswitch-switch-dpdk 2>/dev/null)" \
	--arg commit "$(git -C "$TOP" describe --always --dirty 2>/dev/null)" \
	--arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --argjson rounds "$ROUNDS" \
	--argjson quick "$QUICK" --argjson window "$WINDOW" --argjson window_large "$WINDOW_LARGE" \
	--arg vhswd "$VHSWD" --arg vhswd_sha "$(sha256sum < "$VHSWD" | cut -c1-16)" \
	--arg vhswd_b "$VHSWD_B" --arg vhswd_b_sha "$([[ -n $VHSWD_B ]] && sha256sum < "$VHSWD_B" | cut -c1-16)" \
	'{section: "meta", args: $args, kernel: $kernel, cpu: $cpu, dpdk: $dpdk, ovs: $ovs,
	  commit: $commit, date: $date, rounds: $rounds, quick: $quick,
	  window_s: $window, window_large_s: $window_large,
	  vhswd: $vhswd, vhswd_sha256_16: $vhswd_sha,
	  vhswd_b: (if $vhswd_b == "" then null else $vhswd_b end),
	  vhswd_b_sha256_16: (if $vhswd_b == "" then null else $vhswd_b_sha end)}'

say "bench: rounds=$ROUNDS sections=$SECTIONS ovs=$WITH_OVS -> $RESULTS"
. "$BENCH/scaling.sh"
for s in loopback polling capture jumbo latency fdb manyports scaling idle callgrind; do
	has_section "$s" && "section_$s"
done

# ab_summary: with --vhswd-b, one line per loopback frame size: the
# per-round throughput ratios vhswd / vhswd_b and their median (also recorded
# as section "ab").
ab_summary() {
	[[ -n $VHSWD_B ]] || return 0
	local size line
	for size in "${SIZES[@]}"; do
		line=$(jq -rs --argjson size "$size" --arg a "$VHSWD" --arg b "$VHSWD_B" '
			[.[] | select(.section == "loopback" and .size == $size)] as $l
			| [range(1; ([$l[].round] | max // 0) + 1) as $r
			   | ([$l[] | select(.round == $r and .system == "vhswd") | .mpps][0]) as $x
			   | ([$l[] | select(.round == $r and .system == "vhswd_b") | .mpps][0]) as $y
			   | {round: $r, a: $x, b: $y,
			      ratio: (if $x != null and $y != null and $y > 0 then $x / $y else null end)}] as $p
			| [$p[].ratio | select(. != null)] | sort as $v
			| ($v | length) as $n
			| (if $n == 0 then null elif $n % 2 == 1 then $v[($n - 1) / 2]
			   else ($v[$n / 2 - 1] + $v[$n / 2]) / 2 end) as $med
			| {section: "ab", size: $size, a: $a, b: $b, rounds: $p, median_ratio: $med}' "$RESULTS")
		jq -c . <<<"$line" >> "$RESULTS"
		jq -r '"A/B \(.size) B loopback, vhswd / vhswd_b (\(.a) / \(.b)): per round "
			+ ([.rounds[] | if .ratio == null then "-" else (.ratio * 1000 | round / 1000 | tostring) end] | join(" "))
			+ "; median " + (if .median_ratio == null then "-" else (.median_ratio * 1000 | round / 1000 | tostring) end)
			+ " (Mpps per round: " + ([.rounds[] | "\(.a // "-")/\(.b // "-")"] | join(" ")) + ")"' <<<"$line"
	done
}

if (( QUICK )); then
	if [[ -n $VHSWD_B ]]; then
		vb=$(jq -s '[.[] | select(.section == "loopback" and .system == "vhswd_b") | .mpps] | max' "$RESULTS")
		check "vhswd_b forwarded frames" 1 "$(awk -v x="$vb" 'BEGIN { print (x > 0) }')"
	fi
	base=$(jq -s '[.[] | select(.section == "loopback" and .system == "baseline") | .mpps] | max' "$RESULTS")
	vh=$(jq -s '[.[] | select(.section == "loopback" and .system == "vhswd") | .mpps] | max' "$RESULTS")
	echo "quick: 64 B loopback: baseline $base Mpps, vhswd $vh Mpps, ratio $(awk -v a="$vh" -v b="$base" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }') (no target asserted)"
	ab_summary
	check "baseline forwarded frames" 1 "$(awk -v x="$base" 'BEGIN { print (x > 0) }')"
	check "vhswd forwarded frames" 1 "$(awk -v x="$vh" 'BEGIN { print (x > 0) }')"
	echo "bench: $CHECKS passed, 0 failed"
	exit 0
fi

if (( WRITE_DOC )); then
	/usr/bin/python3 "$BENCH/report.py" --results "$RESULTS" --doc "$DOC" \
		--png "${DOC%.md}.png" --analysis "$BENCH/analysis.md" \
		--command "tests/bench/run.sh${ARGS_GIVEN:+ $ARGS_GIVEN}"
	say "report: $DOC"
else
	/usr/bin/python3 "$BENCH/report.py" --results "$RESULTS" --doc /dev/stdout --png "$OUT/performance.png"
fi
ab_summary
say "done in $((SECONDS - T_START)) s"
