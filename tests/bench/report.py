#!/usr/bin/python3
"""Builds docs/performance.md (and its PNG plot) from the JSON lines that
tests/bench/run.sh writes.  Standard library only; the plot is drawn by
gnuplot.

  report.py --results OUT/results.jsonl --doc docs/performance.md \
            --png docs/performance.png [--analysis tests/bench/analysis.md] \
            [--command "tests/bench/run.sh"]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

SYS_NAMES = {
    "baseline": "testpmd io (net_vhost)",
    "vhswd": "vhswd (adaptive)",
    "vhswd-busy": "vhswd --poll-mode busy",
    "ovs": "OVS-DPDK 3.1 (NORMAL)",
}


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def mmm(values):
    """(min, median, max) of the non-None values, or None."""
    v = [x for x in values if x is not None]
    if not v:
        return None
    return (min(v), statistics.median(v), max(v))


def fmt(t, digits=2, unit=""):
    if t is None:
        return "–"
    lo, med, hi = t
    f = "{:.%df}" % digits
    return "**%s**%s (%s–%s)" % (f.format(med), unit, f.format(lo), f.format(hi))


def fmt_plain(x, digits=2):
    return "–" if x is None else ("{:.%df}" % digits).format(x)


def sel(rows, **kw):
    return [r for r in rows if all(r.get(k) == v for k, v in kw.items())]


def by_round(rows, key):
    return {r["round"]: r.get(key) for r in rows}


def paired_ratios(num_rows, den_rows, key):
    """Per-round ratios num/den (same round), for rounds both have."""
    a, b = by_round(num_rows, key), by_round(den_rows, key)
    out = []
    for rnd in sorted(set(a) & set(b)):
        if a[rnd] is not None and b[rnd]:
            out.append(a[rnd] / b[rnd])
    return out


class Doc:
    def __init__(self):
        self.lines = []

    def add(self, *lines):
        self.lines.extend(lines)

    def table(self, header, rows):
        self.add("| " + " | ".join(header) + " |",
                 "|" + "|".join("---" for _ in header) + "|")
        for r in rows:
            self.add("| " + " | ".join(str(c) for c in r) + " |")
        self.add("")


def target_row(name, target, values, ok_fn, digits=3, unit=""):
    t = mmm(values)
    if t is None:
        return [name, target, "not measured", "–"]
    return [name, target, fmt(t, digits, unit), "met" if ok_fn(t[1]) else "**missed**"]


def plot(rows, png, sizes, systems):
    """Two panels: loopback Mpps and cycles/packet per frame size, median
    with min-max error bars."""
    loop = sel(rows, section="loopback")
    with tempfile.TemporaryDirectory() as d:
        dat = os.path.join(d, "loop.dat")
        with open(dat, "w") as f:
            for size in sizes:
                cols = [str(size)]
                for s in systems:
                    r = sel(loop, system=s, size=size)
                    m = mmm([x["mpps"] for x in r]) or (0, 0, 0)
                    c = mmm([x.get("cycles_per_packet") for x in r]) or (0, 0, 0)
                    cols += ["%.4f %.4f %.4f" % (m[1], m[0], m[2]),
                             "%.1f %.1f %.1f" % (c[1], c[0], c[2])]
                f.write(" ".join(cols) + "\n")
        n = len(systems)
        gp = [
            'set terminal pngcairo size 1200,520 font "sans,10" noenhanced',
            'set output "%s"' % png,
            "set multiplot layout 1,2",
            "set style data histogram",
            "set style histogram errorbars gap 1 lw 1",
            "set style fill solid 0.7 border -1",
            "set key outside bottom center horizontal",
            "set grid ytics",
            "set yrange [0:*]",
            'set xlabel "frame size (bytes)"',
            'set title "Loopback throughput (median, min-max; both directions)"',
            'set ylabel "Mpps"',
        ]
        def plot_cmd(first_col):
            # each system has 6 columns: Mpps med/min/max, cycles med/min/max
            return "plot " + ", ".join(
                '"%s" using %d:%d:%d:xtic(1) title "%s"' % (
                    dat, c, c + 1, c + 2, SYS_NAMES.get(s, s))
                for s, c in ((s, first_col + 6 * i) for i, s in enumerate(systems)))
        gp.append(plot_cmd(2))
        gp += ['set title "Switch core: processing cycles per packet"',
               'set ylabel "cycles/packet"']
        gp.append(plot_cmd(5))
        gp.append("unset multiplot")
        script = os.path.join(d, "plot.gp")
        with open(script, "w") as f:
            f.write("\n".join(gp) + "\n")
        del n
        subprocess.run(["gnuplot", script], check=True)


def p90(values):
    v = sorted(values)
    return v[min(len(v) - 1, int(0.9 * len(v)))] if v else None


def manyports(d, tgt, mp, disturbed):
    """The many-ports section: vhswd and OVS per case, their per-round
    ratio, capacity, OVS's flow-cache statistics and the traffic checks."""
    cases = sorted({(r["ports"], r["macs_per_port"], r["flows_per_port"]) for r in mp},
                   key=lambda c: (c[0], c[1] * c[2]))
    d.add("## Many ports, many MACs", "",
          "A container host is not a two-port loop. %d vhost-user ports on one switch; "
          "`vhsw-pktgen --mesh` (one lcore on CPU 0, a virtio-user port on each) sends "
          "64 B frames from every port to every other at full rate and receives on all. "
          "Each port owns *MACs* source MACs (each with its own IPv4 address) and sends "
          "over *pairs* (source, destination) MAC pairs of its own, destinations spread "
          "over all the other ports' MACs; frames cycle through the pairs, so each burst "
          "carries a different pair in every frame. A learning phase (a broadcast from "
          "every MAC, in rounds until every port got all of one round) comes first, then "
          "%s s of warm-up (OVS installs its megaflows) and a window of %s s. vhswd "
          "(adaptive, one data-plane thread) and OVS-DPDK (NORMAL, one PMD, "
          "`mac-table-size` raised to hold every MAC) share CPU 1 in turn, A B in odd "
          "rounds and B A in even ones. **Mpps** = frames received by all ports per "
          "second (= frames the switch forwarded). A window in which the switch's or the "
          "client's thread got less than 90 %% of its CPU is measured again."
          % (mp[0]["ports"], "%g" % mp[0].get("warmup_s", 3),
             "%g" % round(mp[0]["pktgen"]["duration_s"], 1)), "")
    trs = []
    for c in cases:
        rc = [r for r in mp if (r["ports"], r["macs_per_port"], r["flows_per_port"]) == c]
        for s in ["vhswd", "ovs"]:
            r = sel(rc, system=s)
            if not r:
                continue
            cap = p90([x for y in r for x in (y.get("samples_mpps") or [])])
            first = s == "vhswd" or not sel(rc, system="vhswd")
            trs.append(["%d × %d" % (c[1], c[2]) if first else "",
                        "{:,}".format(c[0] * c[2]) if first else "", SYS_NAMES[s],
                        fmt(mmm([x["mpps"] for x in r]), 2), fmt_plain(cap, 2),
                        fmt(mmm([x.get("cycles_per_packet") for x in r]), 0),
                        fmt(mmm([x["pktgen"]["loss_ratio"] for x in r]), 5),
                        fmt(mmm([x.get("max_pair_loss_ratio") for x in r]), 5)])
    d.table(["MACs × pairs per port", "pairs in all", "system", "Mpps", "capacity (p90 of 1 s)",
             "cycles/packet", "loss ratio", "worst pair's loss"], trs)
    trs = []
    for c in cases:
        rc = [r for r in mp if (r["ports"], r["macs_per_port"], r["flows_per_port"]) == c]
        v, o = sel(rc, system="vhswd"), sel(rc, system="ovs")
        if not (v and o):
            continue
        ratios = paired_ratios(v, o, "mpps")
        cv = p90([x for y in v for x in (y.get("samples_mpps") or [])])
        co = p90([x for y in o for x in (y.get("samples_mpps") or [])])
        trs.append(["%d × %d" % (c[1], c[2]),
                    " ".join("%.2f" % x for x in ratios) or "–",
                    fmt(mmm(ratios), 3),
                    fmt_plain(cv / co, 3) if cv and co else "–",
                    fmt(mmm(paired_ratios(o, v, "cycles_per_packet")), 2)])
    if trs:
        d.add("vhswd / OVS (per round: the two systems measured back to back):", "")
        d.table(["MACs × pairs per port", "Mpps ratio per round", "median (min–max)",
                 "capacity ratio", "cycles/packet OVS / vhswd"], trs)
        big = cases[-1]
        rc = [r for r in mp if (r["ports"], r["macs_per_port"], r["flows_per_port"]) == big]
        tgt.append(target_row("%d ports, %s pairs, vhswd / OVS-DPDK throughput"
                              % (big[0], "{:,}".format(big[0] * big[2])), "≥ 1.5",
                              paired_ratios(sel(rc, system="vhswd"), sel(rc, system="ovs"), "mpps"),
                              lambda x: x >= 1.5))
    ovs = [r for r in mp if r["system"] == "ovs" and r.get("ovs_pmd")]
    if ovs:
        d.add("Where OVS's packets went (`dpif-netdev/pmd-stats-show` over the window; "
              "median over rounds):", "")
        trs = []
        for c in cases:
            r = [x["ovs_pmd"] for x in ovs
                 if (x["ports"], x["macs_per_port"], x["flows_per_port"]) == c]
            if not r:
                continue
            def share(k):
                return mmm([x.get(k, 0) / x["packets"] * 100 for x in r if x.get("packets")])
            trs.append(["%d × %d" % (c[1], c[2]),
                        fmt(share("emc_hits"), 1, " %"),
                        fmt(share("megaflow_hits"), 1, " %"),
                        fmt(mmm([x.get("upcalls") for x in r]), 0),
                        fmt(mmm([x.get("datapath_flows") for x in r]), 0),
                        fmt(mmm([x.get("packets_per_output_batch") for x in r]), 2)])
        d.table(["MACs × pairs per port", "EMC hits", "megaflow (dpcls) hits", "upcalls",
                 "datapath flows", "frames per output batch"], trs)
    flooded = sum(r["pktgen"].get("rx_flooded", 0) for r in mp)
    reordered = sum(r["pktgen"].get("reordered", 0) for r in mp)
    every = all(r["checks"]["every_pair"] for r in mp)
    sw_fl = [r["switch_flooded"] for r in mp if r.get("switch_flooded") is not None]
    lost = {s: sum(r["pktgen"].get("loss", 0) for r in sel(mp, system=s)) for s in ["vhswd", "ovs"]}
    drop = {s: sum(r.get("switch_tx_dropped") or 0 for r in sel(mp, system=s)) for s in ["vhswd", "ovs"]}
    d.add("Checks over all %d windows: %d frames reached a port that does not own their "
          "destination MAC (flooding)%s; %d reordered within a (sender, receiver) pair; "
          "%s (sender, receiver) pair received frames. Frames lost in the windows / "
          "dropped at egress by the switch's own count (vhswd: over the window; OVS: over "
          "the whole vhsw-pktgen run, its database refreshes counters every 5 s): "
          "vhswd %d / %d, OVS %d / %d."
          % (len(mp), flooded,
             " (vhswd's own `flooded` counter: %d)" % sum(sw_fl) if sw_fl else "",
             reordered, "every" if every else "**not every**",
             lost["vhswd"], drop["vhswd"], lost["ovs"], drop["ovs"]), "")
    if disturbed:
        d.add("%d window(s) were disturbed and measured again." % len(disturbed), "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--results", required=True)
    ap.add_argument("--doc", required=True)
    ap.add_argument("--png")
    ap.add_argument("--analysis")
    ap.add_argument("--command", default="tests/bench/run.sh")
    a = ap.parse_args()

    rows = load(a.results)
    meta = (sel(rows, section="meta") or [{}])[0]
    loop = sel(rows, section="loopback")
    sizes = sorted({r["size"] for r in loop})
    order = ["baseline", "vhswd", "vhswd-busy", "ovs"]
    systems = [s for s in order if any(r["system"] == s for r in loop)]
    main_systems = [s for s in systems if s != "vhswd-busy"]

    d = Doc()
    d.add("# vhsw performance",
          "",
          "Generated by `tests/bench/report.py` from the raw results of one run of",
          "`tests/bench/run.sh` (%s, commit `%s`, DPDK %s, Open vSwitch %s, kernel %s, %s)."
          % (meta.get("date", "?"), meta.get("commit", "?"), meta.get("dpdk", "?"),
             meta.get("ovs", "?"), meta.get("kernel", "?"), meta.get("cpu", "?")),
          "Every number is **median** (min–max) over %s interleaved rounds unless noted."
          % meta.get("rounds", "?"),
          *["Sections %s were measured again in a second run (%s, commit `%s`); "
            "their rows replace the first run's."
            % (", ".join(sorted({r["section"] for r in rows
                                 if r["section"] in m2.get("args", "")})),
               m2.get("date", "?"), m2.get("commit", "?"))
            for m2 in sel(rows, section="meta2")],
          "",
          "Reproduce (as root, on the 2-CPU Debian 12 machine; ~25 minutes):",
          "",
          "```sh",
          a.command,
          "```",
          "",
          "Raw results: one JSON object per measurement in `tests/out/bench/results.jsonl`",
          "(`section` = loopback, polling, jumbo, pktgen_max, latency, wakeup, fdb, manyports,",
          "idle, callgrind).",
          "")

    # ---------------------------------------------------------------- method
    d.add("## Method",
          "",
          "- **Pinning.** The switch's data-plane core is CPU 1 (vhswd `--lcores 0,1`;",
          "  testpmd `--lcores 0@0,1@1`; OVS `pmd-cpu-mask=0x2` with its other threads on",
          "  CPU 0 by `taskset`). Every traffic client runs on CPU 0. No hugepages: all",
          "  processes use `--no-huge` memfd memory (OVS: `--no-huge -m 2048 --legacy-mem",
          "  --no-shconf`), each with its own `--file-prefix`.",
          "- **Systems.** (1) *baseline*: `dpdk-testpmd` io forwarding between two",
          "  `net_vhost` ports: the cost of vhost alone, no switching; (2) *vhswd* with two",
          "  vhost-user ports (default adaptive polling; also `--poll-mode busy`); (3) *OVS*:",
          "  Debian's `ovs-vswitchd-dpdk` 3.1, bridge `datapath_type=netdev`, NORMAL action,",
          "  two `dpdkvhostuser` ports, in a private run directory started and stopped by",
          "  the script.",
          "- **Loopback throughput** (the DPDK test suite's vhost loopback): one",
          "  `dpdk-testpmd` client with two virtio-user ports (queue size 1024) in `mac`",
          "  forwarding, `--eth-peer` set so each port sends to the other's MAC through the",
          "  switch, `start tx_first 32`; after a 3 s warm-up, frames received by both",
          "  client ports are counted over a %d s window (64 B; %d s for 512/1518 B) from"
          % (meta.get("window_s", 20), meta.get("window_large_s", 10)),
          "  `show port stats all`. **Mpps = both directions together** (= frames the",
          "  switch forwarded per second). Frame sizes include the 4-byte FCS (RFC 2544),",
          "  so 64 B frames are 60-byte mbufs and 1518 B frames 1514-byte mbufs.",
          "  The loop is capped by the client, hence:",
          "- **Cycles/packet** on the switch core over the same window: testpmd",
          "  `--record-core-cycles` (cycles of bursts that received frames / frames received),",
          "  OVS `dpif-netdev/pmd-stats-show` (processing cycles / packets received), vhswd",
          "  `vhswctl --json stats` `.dataplane.busy_cycles / .packets` (cycles of loop",
          "  iterations that moved frames / frames received), each cleared at the start of",
          "  the window.",
          "- **Noise.** The machine is shared and the host moves the two vCPUs between",
          "  near and far placements every few tens of seconds, so systems are interleaved",
          "  (A, B, C, A, B, C, ...) in every round and ratios are formed **per round**",
          "  (systems measured back to back) before taking the median. A loopback window in",
          "  which the switch's or the client's polling thread got less than 90 % of its",
          "  CPU (another process ran there) is recorded as disturbed and measured again",
          "  once.",
          "- **vhsw-pktgen** (`tests/bench/vhsw-pktgen.c`): one lcore on CPU 0 transmits on",
          "  one virtio-user port and receives on another; frames carry a sequence number",
          "  and the TSC, so it reports offered/received Mpps, loss, reordering and",
          "  one-way latency percentiles. Used for latency, wake-up latency and FDB scale;",
          "  with `--mesh` it drives every port of a switch at once (many ports, many MACs).",
          "")

    # ------------------------------------------------------------ loopback
    tgt = []
    if loop:
        d.add("## Loopback throughput and cycles per packet", "")
        hdr = ["frame", "metric"] + [SYS_NAMES[s] for s in systems]
        trs = []
        for size in sizes:
            cells = ["%d B" % size, "Mpps"]
            for s in systems:
                cells.append(fmt(mmm([r["mpps"] for r in sel(loop, system=s, size=size)]), 2))
            trs.append(cells)
            cells = ["", "cycles/packet"]
            for s in systems:
                cells.append(fmt(mmm([r.get("cycles_per_packet") for r in sel(loop, system=s, size=size)]), 0))
            trs.append(cells)
        d.table(hdr, trs)

        d.add("vhswd's ratios (per round, then median (min–max)):", "")
        hdr = ["frame", "Mpps vhswd / baseline", "Mpps vhswd / OVS",
               "cycles/pkt vhswd / baseline", "cycles/pkt vhswd / OVS"]
        trs = []
        for size in sizes:
            v = sel(loop, system="vhswd", size=size)
            b = sel(loop, system="baseline", size=size)
            o = sel(loop, system="ovs", size=size)
            trs.append(["%d B" % size,
                        fmt(mmm(paired_ratios(v, b, "mpps")), 3),
                        fmt(mmm(paired_ratios(v, o, "mpps")), 3),
                        fmt(mmm(paired_ratios(v, b, "cycles_per_packet")), 3),
                        fmt(mmm(paired_ratios(v, o, "cycles_per_packet")), 3)])
        d.table(hdr, trs)
        busy = sel(loop, system="vhswd-busy", size=64)
        if busy:
            d.add("Adaptive versus busy polling under load (64 B loopback): vhswd adaptive / "
                  "busy = %s." % fmt(mmm(paired_ratios(sel(loop, system="vhswd", size=64), busy, "mpps")), 3),
                  "")
        dist = sel(rows, section="loopback_disturbed")
        if dist:
            d.add("%d window(s) were disturbed (switch or client thread below 90 %% of its CPU) "
                  "and measured again; the repeated window is the one counted." % len(dist), "")
        if any(r.get("samples_mpps") for r in loop):
            d.add("Per-second samples inside each window (median of the 1 s Mpps samples, "
                  "then min/median/max over rounds), less sensitive to short stalls:", "")
            trs = []
            for size in sizes:
                cells = ["%d B" % size]
                for s in systems:
                    meds = [statistics.median(r["samples_mpps"]) for r in sel(loop, system=s, size=size)
                            if r.get("samples_mpps")]
                    cells.append(fmt(mmm(meds), 2))
                trs.append(cells)
            d.table(["frame"] + [SYS_NAMES[s] for s in systems], trs)
            d.add("Capacity: the 90th percentile of every 1 s sample of all rounds. The vCPU "
                  "placement (and the neighbours' load) moves the level of all systems between "
                  "a fast and a slow mode within seconds; a system's fast-mode level is what it "
                  "can do, so this ratio is the least placement-sensitive one:", "")
            trs = []
            for size in sizes:
                p90 = {}
                for s in systems:
                    allv = sorted(x for r in sel(loop, system=s, size=size)
                                  for x in (r.get("samples_mpps") or []))
                    p90[s] = allv[min(len(allv) - 1, int(0.9 * len(allv)))] if allv else None
                cells = ["%d B" % size] + [fmt_plain(p90[s], 2) if p90[s] else "–" for s in systems]
                for ref in ("baseline", "ovs"):
                    ok = p90.get("vhswd") and p90.get(ref)
                    cells.append(fmt_plain(p90["vhswd"] / p90[ref], 3) if ok else "–")
                trs.append(cells)
            d.table(["frame"] + [SYS_NAMES[s] for s in systems] +
                    ["vhswd / baseline", "vhswd / OVS"], trs)
        if a.png:
            d.add("![loopback throughput and cycles per packet](%s)" % os.path.basename(a.png), "")

        v64 = sel(loop, system="vhswd", size=64)
        tgt.append(target_row("64 B loopback, vhswd / testpmd baseline", "≥ 0.97",
                              paired_ratios(v64, sel(loop, system="baseline", size=64), "mpps"),
                              lambda x: x >= 0.97))
        for size in sizes:
            v = sel(loop, system="vhswd", size=size)
            tgt.append(target_row("%d B cycles/packet, vhswd / testpmd io" % size, "≤ 1.1",
                                  paired_ratios(v, sel(loop, system="baseline", size=size), "cycles_per_packet"),
                                  lambda x: x <= 1.1))
            tgt.append(target_row("%d B cycles/packet, vhswd / OVS-DPDK" % size, "≤ 0.67",
                                  paired_ratios(v, sel(loop, system="ovs", size=size), "cycles_per_packet"),
                                  lambda x: x <= 0.67))
        if busy:
            tgt.append(target_row("64 B loopback, adaptive / busy polling (separate processes)",
                                  "≥ 0.98", paired_ratios(v64, busy, "mpps"),
                                  lambda x: x >= 0.98))

    # ------------------------------------------------------------- polling
    pol = sel(rows, section="polling")
    if pol:
        ratios, cpp = [], []
        for rnd, pair in sorted({(x["round"], x["pair"]) for x in pol}):
            ad = [x for x in pol if x["round"] == rnd and x["pair"] == pair and x["mode"] == "adaptive"]
            bu = [x for x in pol if x["round"] == rnd and x["pair"] == pair and x["mode"] == "busy"]
            if ad and bu and bu[0]["mpps"]:
                ratios.append(ad[0]["mpps"] / bu[0]["mpps"])
                if ad[0].get("cycles_per_packet") and bu[0].get("cycles_per_packet"):
                    cpp.append(ad[0]["cycles_per_packet"] / bu[0]["cycles_per_packet"])
        d.add("## Adaptive versus busy polling under load", "",
              "One vhswd and one 64 B loop (the loopback client above); the polling mode is "
              "switched at run time (`vhswctl dataplane set poll-mode`) between %d s windows "
              "in the order A B, B A, ..., so both modes of a pair share the vCPU placement. "
              "Ratios are adaptive / busy per pair." % pol[0].get("window_s", 4), "")
        trs = []
        for m in ["adaptive", "busy"]:
            r = sel(pol, mode=m)
            trs.append([m, fmt(mmm([x["mpps"] for x in r]), 3),
                        fmt(mmm([x.get("cycles_per_packet") for x in r]), 0),
                        fmt(mmm([x["sleeps"] / x["window_s"] for x in r]), 1), "%d" % len(r)])
        d.table(["mode", "Mpps", "cycles/packet", "sleeps/s", "windows"], trs)
        d.add("Adaptive / busy: throughput %s, cycles/packet %s (%d pairs)."
              % (fmt(mmm(ratios), 3), fmt(mmm(cpp), 3), len(ratios)), "")
        tgt.append(target_row("64 B loopback, adaptive / busy polling (same process, paired windows)",
                              "≥ 0.98", ratios, lambda x: x >= 0.98))

    # --------------------------------------------------------------- jumbo
    jumbo = sel(rows, section="jumbo")
    if jumbo:
        d.add("## Jumbo frames", "",
              "vhswd with two MTU 9000 vhost-user ports; vhsw-pktgen at full rate with "
              "9000-byte frames (mergeable RX buffers), 2 s. Frames lost are frames the "
              "switch counted as `tx_dropped` toward the full receiver.", "")
        d.table(["frames", "Mpps", "Gbit/s", "loss ratio", "reordered"],
                [["9000 B",
                  fmt(mmm([r["rx_mpps"] for r in jumbo]), 3),
                  fmt(mmm([r["rx_mpps"] * 9000 * 8 / 1000 for r in jumbo]), 1),
                  fmt(mmm([r["loss_ratio"] for r in jumbo]), 5),
                  fmt(mmm([r["reordered"] for r in jumbo]), 0)]])

    # ------------------------------------------------------------- latency
    lat = sel(rows, section="latency")
    pmax = sel(rows, section="pktgen_max")
    if lat:
        rate = lat[0].get("rate_mpps_target")
        d.add("## Latency at 10 % load (vhsw-pktgen)", "",
              "vhswd's maximum one-way rate with vhsw-pktgen (64 B, one port to the other, "
              "3 runs of 3 s): %s Mpps; latency is measured at 10 %% of its median, "
              "**%.3f Mpps**, 64 B frames, 5 s, for every system (one-way, TX timestamp to "
              "RX on the same core, so it includes both virtio-user ports and the switch)."
              % (fmt(mmm([r["rx_mpps"] for r in pmax]), 3), rate or 0), "")
        lsys = [s for s in order if sel(lat, system=s)]
        trs = []
        for s in lsys:
            r = sel(lat, system=s)
            trs.append([SYS_NAMES[s],
                        fmt(mmm([x.get("lat_p50_us") for x in r]), 1),
                        fmt(mmm([x.get("lat_p99_us") for x in r]), 1),
                        fmt(mmm([x.get("lat_p999_us") for x in r]), 1),
                        fmt(mmm([x.get("loss_ratio") for x in r]), 5),
                        fmt(mmm([x.get("cycles_per_packet") for x in r]), 0)])
        d.table(["system", "p50 µs", "p99 µs", "p99.9 µs", "loss ratio",
                 "switch cycles/packet at this load"], trs)
    wake = sel(rows, section="wakeup")
    if wake:
        d.add("### Wake-up latency (first frame after idle)", "",
              "Single 64 B frames 5 ms apart (200 frames/s, 3 s): an adaptive vhswd has "
              "gone to sleep before each one (it sleeps after 1 ms without traffic), so "
              "every frame wakes it through the kick eventfd. The busy-polling systems "
              "give the floor.", "")
        trs = []
        for s in [s for s in order if sel(wake, system=s)]:
            r = sel(wake, system=s)
            trs.append([SYS_NAMES[s],
                        fmt(mmm([x.get("lat_p50_us") for x in r]), 1),
                        fmt(mmm([x.get("lat_p99_us") for x in r]), 1),
                        fmt(mmm([x.get("lat_max_us") for x in r]), 1),
                        "%d" % sum(x.get("rx_packets", 0) for x in r)])
        d.table(["system", "p50 µs", "p99 µs", "max µs", "frames"], trs)

    # ----------------------------------------------------------------- fdb
    fdb = sel(rows, section="fdb")
    if fdb and all("scale_ratio" in x for x in fdb):
        d.add("## FDB scale", "",
              "vhswd with `{\"fdb\": {\"limit\": 1100000}}` in `--config`; vhsw-pktgen at full "
              "rate (64 B, one way) alternating every %s ms between N source MACs and its "
              "port's single MAC (`--alternate-ms`), 3 s warm-up (learning) then 6 s measured; "
              "the FDB is flushed before each N. The ratio is the N-MAC phases' rate over the "
              "1-MAC phases' rate of the same run, so both saw the same vCPU placement."
              % fdb[0].get("alternate_ms", 100), "")
        trs = []
        for n in sorted({r["macs"] for r in fdb}):
            r = sel(fdb, macs=n)
            trs.append(["{:,}".format(n),
                        fmt(mmm([x["scaled_rx_mpps"] for x in r]), 3),
                        fmt(mmm([x["ref_rx_mpps"] for x in r]), 3),
                        fmt(mmm([x["scale_ratio"] for x in r]), 3),
                        fmt(mmm([x.get("fdb_entries") for x in r]), 0),
                        fmt(mmm([x.get("loss_ratio") for x in r]), 4)])
        d.table(["source MACs", "Mpps (N MACs)", "Mpps (1 MAC, same run)", "ratio to 1 MAC",
                 "FDB entries", "loss ratio"], trs)
        pages = sorted({x.get("fdb_pages") for x in fdb if x.get("fdb_pages")})
        if pages:
            d.add("FDB tables on: %s (`vhswctl stats`, `fdb.pages`)." % ", ".join(pages), "")
        tgt.append(target_row("1M source MACs, throughput / 1 MAC", "≥ 0.90",
                              [x["scale_ratio"] for x in sel(fdb, macs=1000000)],
                              lambda x: x >= 0.90))
    elif fdb:
        d.add("## FDB scale", "",
              "vhswd with `{\"fdb\": {\"limit\": 1100000}}` in `--config`; vhsw-pktgen at full "
              "rate (64 B, one way) varying the source MAC over N addresses, 3 s warm-up "
              "(learning) then 5 s measured; the FDB is flushed before each run. Each N runs "
              "right after a 1-MAC reference run, and its ratios are to that reference "
              "(the pair shares the vCPU placement). "
              "Cycles/packet are taken inside the window, after learning.", "")
        def pairs(n, key):
            """(N-MAC value, its 1-MAC reference value) per round.  Newer
            runs measure a reference right before each N ("pair"); older
            ones have one 1-MAC run per round."""
            out = []
            for x in sel(fdb, macs=n):
                refs = [y for y in fdb if y["macs"] == 1 and y["round"] == x["round"]
                        and y.get("pair", n) == n]
                if refs and x.get(key) is not None and refs[0].get(key):
                    out.append((x[key], refs[0][key]))
            return out

        trs = []
        for n in sorted({r["macs"] for r in fdb}):
            r = sel(fdb, macs=n)
            if n == 1:
                ratio, cyc = mmm([1.0] * len(r)), mmm([1.0] * len(r))
            else:
                ratio = mmm([a / b for a, b in pairs(n, "rx_mpps")])
                cyc = mmm([a / b for a, b in pairs(n, "cycles_per_packet")])
            trs.append(["{:,}".format(n),
                        fmt(mmm([x["rx_mpps"] for x in r]), 3),
                        fmt(ratio, 3),
                        fmt(mmm([x.get("cycles_per_packet") for x in r]), 0),
                        fmt(cyc, 3),
                        fmt(mmm([x.get("fdb_entries") for x in r]), 0),
                        fmt(mmm([x.get("loss_ratio") for x in r]), 4)])
        d.table(["source MACs", "Mpps", "ratio to 1 MAC", "cycles/packet",
                 "cycles / 1 MAC's", "FDB entries", "loss ratio"], trs)
        pages = sorted({x.get("fdb_pages") for x in fdb if x.get("fdb_pages")})
        if pages:
            d.add("FDB tables on: %s (`vhswctl stats`, `fdb.pages`)." % ", ".join(pages), "")
        tgt.append(target_row("1M source MACs, throughput / 1 MAC", "≥ 0.90",
                              [a / b for a, b in pairs(1000000, "rx_mpps")],
                              lambda x: x >= 0.90))

    # ----------------------------------------------------------- manyports
    mp = sel(rows, section="manyports")
    if mp:
        manyports(d, tgt, mp, sel(rows, section="manyports_disturbed"))

    # ---------------------------------------------------------------- idle
    idle = sel(rows, section="idle")
    if idle:
        d.add("## Idle CPU and memory", "",
              "vhswd with 64 vhost-user ports, 4 of them connected to two idle testpmd "
              "clients (2 ports each, not forwarding); CPU of the whole vhswd process from "
              "`/proc/PID/stat` over 5 s; resident memory from `/proc/PID/status` at the "
              "same moment (`--no-huge`, default `--mem 512`).", "")
        trs = []
        for s in ["vhswd-adaptive", "vhswd-busy"]:
            r = sel(idle, system=s)
            if not r:
                continue
            trs.append([s.replace("vhswd-", "vhswd --poll-mode "),
                        fmt(mmm([x["cpu_percent"] for x in r]), 2, " %"),
                        fmt(mmm([x.get("VmRSS_kib", 0) / 1024 for x in r]), 1, " MiB"),
                        fmt(mmm([x.get("RssAnon_kib", 0) / 1024 for x in r]), 1),
                        fmt(mmm([x.get("RssShmem_kib", 0) / 1024 for x in r]), 1),
                        fmt(mmm([x.get("RssFile_kib", 0) / 1024 for x in r]), 1),
                        fmt(mmm([x.get("rss_no_ports_kib", 0) / 1024 for x in r]), 1, " MiB")])
        d.table(["mode", "CPU (4 idle ports)", "RSS, 64 ports", "anon MiB", "shmem MiB",
                 "file MiB", "RSS before ports"], trs)
        ad = sel(idle, system="vhswd-adaptive")
        tgt.append(target_row("idle CPU, adaptive, 4 idle connected ports", "≤ 5 %",
                              [x["cpu_percent"] for x in ad], lambda x: x <= 5, 2, " %"))
        tgt.append(target_row("resident memory with 64 ports (no hugepages)", "≤ 256 MiB",
                              [x.get("VmRSS_kib", 0) / 1024 for x in ad], lambda x: x <= 256, 1, " MiB"))

    # ----------------------------------------------------------- callgrind
    cg = sel(rows, section="callgrind")
    if cg:
        d.add("## Instructions per packet (callgrind)", "",
              "`valgrind --tool=callgrind --fair-sched=yes` on the switch process while "
              "vhsw-pktgen sends at full rate (64 B, one way); the counters are zeroed once "
              "traffic flows and dumped 5 s later while it still flows (`callgrind_control -z/-d`), "
              "so set-up and idle polling are left out. Inclusive "
              "instruction counts (Ir) of the data-plane functions divided by the frames the "
              "switch received in between. Instruction counts are exact and unaffected by the noise "
              "above, but they ignore cache misses (the cross-CPU cache-line transfers of "
              "the virtio rings). `start_thread` is every thread of the process (the "
              "polling thread's share is > 90 %); Debian's `dpdk-testpmd` is stripped, so "
              "only its library functions are named.", "")
        fns = ["start_thread", "dp_main", "dp_poll_once", "fwd_input", "fdb_input_bulk",
               "fwd_flush", "rte_vhost_dequeue_burst", "rte_vhost_enqueue_burst",
               "rte_pktmbuf_free_bulk", "rte_hash_lookup_with_hash_bulk_data"]
        trs = []
        for fn in fns:
            cells = ["`%s`" % fn]
            seen = False
            for s in ["vhswd", "baseline"]:
                r = sel(cg, system=s)
                v = r[0]["ir_per_packet"].get(fn) if r else None
                if v:
                    seen = True
                cells.append(fmt_plain(v, 0) if v else "–")
            if seen:
                trs.append(cells)
        trs.append(["frames received"] + [str(sel(cg, system=s)[0]["packets"]) if sel(cg, system=s) else "–"
                                          for s in ["vhswd", "baseline"]])
        d.table(["function (inclusive)", "vhswd Ir/packet", "testpmd io Ir/packet"], trs)

    # ------------------------------------------------------------- targets
    if tgt:
        d.add("## Targets", "",
              "Ratios are per round (systems measured back to back), then median "
              "(min–max); a target is judged on the median.", "")
        d.table(["target", "wanted", "measured", "result"], tgt)

    if a.analysis and os.path.exists(a.analysis):
        with open(a.analysis) as f:
            d.add(f.read().rstrip(), "")

    text = "\n".join(d.lines).rstrip() + "\n"
    with open(a.doc, "w") as f:
        f.write(text)
    if a.png and loop:
        try:
            plot(rows, a.png, sizes, main_systems)
        except (OSError, subprocess.CalledProcessError) as e:
            print("report.py: plot failed: %s" % e, file=sys.stderr)


if __name__ == "__main__":
    main()
