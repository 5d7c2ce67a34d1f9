#!/usr/bin/env python3
"""Retrace against NautilusTrader and hftbacktest, same machine, same data, same run.

Run by Scripts/peer-bench (make peer-bench) with the peers' venv. For each workload, every
run is a fresh process, Retrace and the peer alternating (R P R P R P); the table shows the
medians and Retrace ÷ peer.

  W1  replay of 1,000,000 quotes, no strategy            NautilusTrader --mode replay
  W2  EMA(10/20) cross, 1,000,000 quotes, market orders  NautilusTrader --mode ema
  W3  L2 depth replay, 10,000,000 events, no strategy    hftbacktest --mode goto_end
  W4  market maker on every feed event, 10,000,000       hftbacktest --mode mm_feed
  W5  market maker every 100 ms, 10,000,000              hftbacktest --mode mm
  W6  the real Binance BTCUSDT depth recording through W3's and W4's strategies

Both sides generate the synthetic inputs from the same seeded rules (common.py,
bench_hftbacktest.py; Retrace's ports are checked event for event in its tests). For W6,
Retrace imports the recording (depth snapshot, updates, trades) and writes the same events
in hftbacktest's CSV layout, so both replay one stream.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd: list[str], cwd: str | None = None) -> dict:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"peer-bench: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    for line in reversed(p.stdout.splitlines()):
        line = line.strip()
        if line.startswith("RESULT "):
            line = line[len("RESULT "):]
        if line.startswith("{"):
            out = json.loads(line)
            out["process_wall_s"] = wall
            return out
    raise SystemExit(f"peer-bench: {' '.join(cmd)} printed no result:\n{p.stdout[-1000:]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--retrace", default=os.path.join(ROOT, ".build/release/retrace"))
    ap.add_argument("--peers", default=os.path.join(ROOT, "../shared/peers"))
    ap.add_argument("--datasets", default=os.path.join(ROOT, "../shared/datasets"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", nargs="*", help="workloads to run (default all): W1 W2 W3 W4 W5 W6")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every event count (0.1 for a quick look; the table says so)")
    ap.add_argument("--json", dest="json_path", help="write the medians and ratios here")
    ap.add_argument("--markdown", help="also write the table here")
    ap.add_argument("--render", metavar="JSON", help="print (and --markdown) the table of a saved --json result; runs nothing")
    args = ap.parse_args()
    if args.render:
        with open(args.render) as f:
            saved = json.load(f)
        publish(saved["workloads"], saved["machine"], saved["runs"], saved["scale"], args.markdown, None)
        return
    py = sys.executable
    peers = os.path.abspath(args.peers)
    n1m = max(1000, int(1_000_000 * args.scale))
    n10m = max(1000, int(10_000_000 * args.scale))
    work = os.path.join(ROOT, "Runs", "peer-bench")
    os.makedirs(work, exist_ok=True)

    workloads = [
        ("W1", "replay 1M quotes, no strategy", "NautilusTrader", ["W1", "--n", str(n1m)],
         [py, os.path.join(peers, "bench_nautilus.py"), "--mode", "replay", "--n", str(n1m)], 150),
        ("W2", "EMA(10/20) cross, 1M quotes, market orders", "NautilusTrader", ["W2", "--n", str(n1m)],
         [py, os.path.join(peers, "bench_nautilus.py"), "--mode", "ema", "--n", str(n1m)], 500),
        ("W3", "L2 depth replay, 10M events, no strategy", "hftbacktest", ["W3", "--n", str(n10m)],
         [py, os.path.join(peers, "bench_hftbacktest.py"), "--mode", "goto_end", "--n", str(n10m)], 2),
        ("W4", "market maker on every feed event, 10M", "hftbacktest", ["W4", "--n", str(n10m)],
         [py, os.path.join(peers, "bench_hftbacktest.py"), "--mode", "mm_feed", "--n", str(n10m)], 2),
        ("W5", "market maker every 100 ms, 10M", "hftbacktest", ["W5", "--n", str(n10m)],
         [py, os.path.join(peers, "bench_hftbacktest.py"), "--mode", "mm", "--n", str(n10m)], 2),
    ]
    crypto = os.path.join(args.datasets, "crypto")
    snapshot = os.path.join(crypto, "binance_usdm_btcusdt_20240808_depth_snapshot.csv.gz")
    if (not args.only or "W6" in args.only) and os.path.exists(snapshot):
        data = os.path.join(work, "btcusdt-depth")
        csv = os.path.join(work, "btcusdt-depth.csv")
        subprocess.run([args.retrace, "import", "l2-csv", "--snapshot", snapshot,
                        "--updates", os.path.join(crypto, "binance_usdm_btcusdt_20240808_depth_updates.csv.gz"),
                        "--trades", os.path.join(crypto, "binance_usdm_btcusdt_20240808_trades.csv.gz"),
                        "--out", data, "--force"], check=True, capture_output=True)
        subprocess.run([args.retrace, "bench", "peer", "depth-csv", "--input", data, "--csv", csv], check=True, capture_output=True)
        workloads += [
            ("W6-replay", "Binance BTCUSDT depth recording, no strategy", "hftbacktest", ["W6-replay", "--input", data],
             [py, os.path.join(peers, "bench_hftbacktest.py"), "--mode", "goto_end", "--input", csv], None),
            ("W6-mm", "Binance BTCUSDT depth recording, market maker on every event", "hftbacktest", ["W6-mm", "--input", data],
             [py, os.path.join(peers, "bench_hftbacktest.py"), "--mode", "mm_feed", "--input", csv], None),
        ]
    elif not args.only or "W6" in args.only:
        print(f"peer-bench: {snapshot} is missing: W6 skipped", file=sys.stderr)
    if args.only:
        workloads = [w for w in workloads if w[0] in args.only or w[0].split("-")[0] in args.only]

    results = {}
    for name, what, peer, rargs, pcmd, target in workloads:
        rs, ps = [], []
        for k in range(args.runs):
            r = run([args.retrace, "bench", "peer"] + rargs)
            rs.append(r)
            print(f"  {name} run {k + 1}: retrace {r['events_per_second']:>14,.0f} events/s  ({r['fills']} fills)", file=sys.stderr, flush=True)
            p = run(pcmd, cwd=peers)
            ps.append(p)
            print(f"  {name} run {k + 1}: {peer:14} {p['events_per_s']:>14,.0f} events/s  ({p.get('fills')} fills)", file=sys.stderr, flush=True)
        rm = statistics.median(x["events_per_second"] for x in rs)
        rcore = statistics.median(x["core_events_per_second"] for x in rs)
        pm = statistics.median(x["events_per_s"] for x in ps)
        results[name] = {
            "workload": what,
            "peer": peer,
            "retrace_events_per_second": rm,
            "retrace_core_events_per_second": rcore,
            "peer_events_per_second": pm,
            "ratio": rm / pm,
            "target_ratio": target,
            "events": rs[0]["events"],
            "peer_events": ps[0].get("n"),
            "retrace_fills": rs[0]["fills"],
            "peer_fills": ps[0].get("fills"),
            "retrace_orders": rs[0]["orders"],
            "peer_orders": ps[0].get("orders"),
            "retrace_pnl": rs[0]["pnl"],
            "peer_pnl": ps[0].get("pnl_net_mtm_mid", ps[0].get("pnl")),
            "retrace_peak_rss_mib": statistics.median(x["peak_rss_mib"] for x in rs),
            "peer_peak_rss_mib": statistics.median(x.get("peak_rss_mib", 0) for x in ps),
            "retrace_runs": [x["events_per_second"] for x in rs],
            "peer_runs": [x["events_per_s"] for x in ps],
            "retrace_includes": rs[0]["includes"],
        }

    machine = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version()}
    try:
        with open("/proc/cpuinfo") as f:
            machine["cpu"] = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    publish(results, machine, args.runs, args.scale, args.markdown, args.json_path)


def publish(results, machine, runs, scale, markdown, json_path) -> None:
    """Prints the table of medians and ratios; writes it and the JSON where asked."""
    lines = [
        "| workload | peer | Retrace events/s | peer events/s | Retrace ÷ peer | target | store lag excluded | fills (Retrace / peer) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, r in results.items():
        target = f"≥ {r['target_ratio']}×" if r["target_ratio"] else "—"
        core = r["retrace_core_events_per_second"] / r["peer_events_per_second"]
        lines.append(f"| {name} {r['workload']} | {r['peer']} | {r['retrace_events_per_second']:,.0f} | {r['peer_events_per_second']:,.0f} | "
                     f"{r['ratio']:.2f}× | {target} | {core:.2f}× | {r['retrace_fills']:,} / {r['peer_fills']:,} |")
    scale_note = "" if scale == 1.0 else f" Event counts scaled by {scale}."
    table = "\n".join(lines) + (f"\n\nMedians of {runs} fresh-process runs each, alternating; {machine['cpu']}, {machine['cores']} cores, "
                                f"Linux {machine['kernel']}.{scale_note} Retrace rows: input read from a CRC-checked journal, inputs journaled by "
                                f"reference to it, every output journaled, the store projected (events/s over the whole run, the store's "
                                f"drain included; 'store lag excluded' is the ratio without the store writer's lag after the core finished).")
    print(table)
    if markdown:
        with open(markdown, "w") as f:
            f.write(table + "\n")
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"machine": machine, "runs": runs, "scale": scale, "workloads": results}, f, indent=1, sort_keys=True)
            f.write("\n")

if __name__ == "__main__":
    main()
