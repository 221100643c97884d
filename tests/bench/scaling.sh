# shellcheck shell=bash
# The scaling experiment of tests/bench/run.sh (--sections scaling), sourced
# by run.sh after its helpers.  What this 2-CPU machine allows: two
# independent port pairs, each driven by its own vhsw-pktgen at full rate
# (64 B, one way, a0 -> a1 and b0 -> b1), against vhswd with one
# data-plane thread and with two, alternating in every round:
#
#   1 thread:  vhswd --lcores 0,1: the thread alone on CPU 1, both clients
#              on CPU 0 (the usual split: switch on one CPU, clients on
#              the other).
#   2 threads: vhswd --lcores 0,0,1: a thread on each CPU; pair a's queues
#              pinned to CPU 0's thread and its client on CPU 0, pair b and
#              its client on CPU 1, so each pair has a CPU of its own,
#              shared by its client and its thread.
#
# Both configurations use both CPUs fully, so the totals compare how much
# forwarding the same two CPUs do.  Recorded per configuration and round:
# each client's rate, the total, and each thread's busy cycles per packet
# (vhswctl dataplane show), which shows whether two threads cost more per
# frame than one (shared cache lines, locks) independently of how the
# CPUs are shared.

SCALING_MAC_A0=52:54:00:5c:00:01 SCALING_MAC_A1=52:54:00:5c:00:02
SCALING_MAC_B0=52:54:00:5c:00:03 SCALING_MAC_B1=52:54:00:5c:00:04
SCALING_PIDS=() SCALING_PREFIXES=()

# scaling_pg OUT CPU SOCK0 SOCK1 MAC0 MAC1 ARGS...: a vhsw-pktgen on CPU.
scaling_pg() {
	local out=$1 cpu=$2 s0=$3 s1=$4 m0=$5 m1=$6 prefix
	shift 6
	PG_N=$((PG_N + 1)) prefix=vhsw-$$-sc$PG_N
	( tp_close_fds; exec "$PKTGEN" --lcores "0@$cpu" --no-huge -m 512 \
		--no-pci --no-shconf --file-prefix "$prefix" \
		--vdev "virtio_user0,path=$s0,queue_size=1024,mac=$m0" \
		--vdev "virtio_user1,path=$s1,queue_size=1024,mac=$m1" \
		-- "$@" ) > "$out" 2> "$out.log" &
	SCALING_PIDS+=($!)
	SCALING_PREFIXES+=("$prefix")
}

scaling_wait() {
	local pid rc=0 p
	for pid in "${SCALING_PIDS[@]}"; do
		wait "$pid" || rc=$?
	done
	for p in "${SCALING_PREFIXES[@]}"; do rm -rf "/var/run/dpdk/$p"; done
	SCALING_PIDS=() SCALING_PREFIXES=()
	return "$rc"
}

scaling_cleanup() {
	local pid
	for pid in "${SCALING_PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
	scaling_wait 2>/dev/null || true
}

# scaling_run THREADS ROUND
scaling_run() {
	local n=$1 r=$2 cpu_b=1 fa fb d t
	local -a lc=(0,1)
	(( n == 2 )) && lc=(0,0,1)
	VHSW_LCORES=${lc[0]} vhswd_start
	for p in a0 a1 b0 b1; do
		ctl port add "$p" vhost-user "$TEST_TMP/sc-$p.sock" > /dev/null
	done
	if (( n == 2 )); then
		ctl port set a0 --rxq-affinity 0:0 > /dev/null
		ctl port set a1 --rxq-affinity 0:0 > /dev/null
		ctl port set b0 --rxq-affinity 0:1 > /dev/null
		ctl port set b1 --rxq-affinity 0:1 > /dev/null
	else
		cpu_b=0
	fi
	fa=$LOGS/pg-scaling-$n-$r-a.json fb=$LOGS/pg-scaling-$n-$r-b.json
	scaling_pg "$fa" 0 "$TEST_TMP/sc-a0.sock" "$TEST_TMP/sc-a1.sock" \
		$SCALING_MAC_A0 $SCALING_MAC_A1 --warmup 3 --duration "$SCALING_WINDOW"
	scaling_pg "$fb" "$cpu_b" "$TEST_TMP/sc-b0.sock" "$TEST_TMP/sc-b1.sock" \
		$SCALING_MAC_B0 $SCALING_MAC_B1 --warmup 3 --duration "$SCALING_WINDOW"
	# The threads' counters over the measured window only.
	sleep 3
	ctl stats --clear > /dev/null
	scaling_wait || die "vhsw-pktgen failed in the scaling section (see $fa.log, $fb.log)"
	d=$(ctl --json dataplane show |
		jq -c '[.threads[] | {cpu, packets, busy_cycles, idle_cycles}]')
	vhswd_stop
	record --slurpfile a "$fa" --slurpfile b "$fb" --argjson n "$n" \
		--argjson round "$r" --argjson threads "$d" \
		'{section: "scaling", system: "vhswd", threads: $n, round: $round,
		  a_mpps: $a[0].rx_mpps, b_mpps: $b[0].rx_mpps,
		  total_mpps: ($a[0].rx_mpps + $b[0].rx_mpps),
		  a_loss: $a[0].loss, b_loss: $b[0].loss,
		  dp_threads: $threads,
		  cycles_per_packet: [$threads[] | if .packets > 0
			then (.busy_cycles / .packets) else null end]}'
	t=$(tail -1 "$RESULTS")
	say "scaling r$r $n thread(s): a $(jq .a_mpps <<<"$t") + b $(jq .b_mpps <<<"$t") = $(jq .total_mpps <<<"$t") Mpps; cycles/packet per thread $(jq -c '[.cycles_per_packet[] | if . then (. * 10 | floor / 10) else . end]' <<<"$t")"
}

section_scaling() {
	local r n t
	: "${SCALING_WINDOW:=6}"
	(( $(nproc) >= 2 )) || { say "scaling: needs 2 CPUs, skipped"; return 0; }
	for (( r = 1; r <= ROUNDS; r++ )); do
		# A B then B A, so neither configuration always goes first.
		if (( r % 2 )); then n="1 2"; else n="2 1"; fi
		for t in $n; do scaling_run "$t" "$r"; done
	done
}
