#!/usr/bin/env python3
"""Writes Notebooks/*.ipynb (the committed sources, without outputs). Edit the cells here and
rerun: python3 Scripts/make-notebooks.py. `make notebooks` executes them."""
import json, os

def nb(name, cells):
    out = []
    for i, (kind, text) in enumerate(cells):
        src = text.strip("\n").splitlines(keepends=True)
        cell = {"cell_type": kind, "id": f"{name}-{i}", "metadata": {}, "source": src}
        if kind == "code":
            cell.update({"execution_count": None, "outputs": []})
        out.append(cell)
    return {"cells": out, "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                                       "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}

COMMON = """
import json, os, sqlite3, subprocess
import pandas as pd
import matplotlib.pyplot as plt
%matplotlib inline
# Run from the repository root (make notebooks does); RETRACE is the built tool.
ROOT = os.environ.get("RETRACE_ROOT", os.getcwd())
RETRACE = os.environ.get("RETRACE", os.path.join(ROOT, ".build/release/retrace"))
def run_path(name): return os.path.join(ROOT, "Runs", name)
def manifest(run): return json.load(open(os.path.join(run, "manifest.json")))
"""

backtest = nb("backtest", [
    ("markdown", """
# 01 — A backtest: equity, drawdown and trades on price

Reads the demo run (`make demo` writes `Runs/demo`: ema-cross on `Datasets/demo`) from its
SQLite store and from its CSV export, checks that both say the same, and draws the equity
curve, the drawdown and the fills on the price.
"""),
    ("code", COMMON),
    ("code", """
run = run_path("demo")
m = manifest(run)
print(m["strategy"], "on", m["dataset"], "| fingerprint", m["fingerprint"][:16], "| pnl", m["pnl"])
csv = {name: pd.read_csv(os.path.join(run, "csv", name + ".csv")) for name in ["trades", "orders", "fills", "positions", "equity", "latency", "summary"]}
{k: len(v) for k, v in csv.items()}
"""),
    ("markdown", "The store holds the same rows as the export (money as exact decimal text in both)."),
    ("code", """
db = sqlite3.connect(os.path.join(run, "store.sqlite"))
tables = pd.read_sql("select name from sqlite_master where type='table' order by name", db)["name"].tolist()
print("store tables:", tables)
store_fills = pd.read_sql("select * from fills order by sequence", db)
assert len(store_fills) == len(csv["fills"]), (len(store_fills), len(csv["fills"]))
store_equity = pd.read_sql("select * from equity order by sequence", db)
assert len(store_equity) == len(csv["equity"])
print("fills:", len(store_fills), "equity points:", len(store_equity), "- store and CSV agree")
"""),
    ("code", """
eq = csv["equity"].copy()
eq["time"] = pd.to_datetime(eq["time_ns"], unit="ns", utc=True)
eq["peak"] = eq["equity"].cummax()
eq["drawdown_pct"] = (eq["equity"] / eq["peak"] - 1) * 100
fig, (a, b) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
a.plot(eq["time"], eq["equity"]); a.set_ylabel("equity")
b.fill_between(eq["time"], eq["drawdown_pct"], 0, color="tab:red", alpha=0.3); b.set_ylabel("drawdown %")
fig.suptitle("Equity and drawdown"); plt.show()
print("max drawdown %:", round(-eq["drawdown_pct"].min(), 6))
"""),
    ("code", """
quotes = pd.read_csv(os.path.join(ROOT, "Datasets/demo/quotes.csv"))
quotes["time"] = pd.to_datetime(quotes["timestamp_ns"], unit="ns", utc=True)
quotes["mid"] = (quotes["bid_price"] + quotes["ask_price"]) / 2
fills = csv["fills"].copy()
fills["time"] = pd.to_datetime(fills["time_ns"], unit="ns", utc=True)
fig, ax = plt.subplots(figsize=(10, 4))
ax.plot(quotes["time"], quotes["mid"], color="grey", lw=0.6, label="mid")
for side, marker, color in [("buy", "^", "tab:green"), ("sell", "v", "tab:red")]:
    f = fills[fills["side"] == side]
    ax.scatter(f["time"], f["price"], marker=marker, color=color, s=18, label=side, zorder=3)
ax.legend(); ax.set_title("Fills on the price"); plt.show()
"""),
    ("code", """
summary = csv["summary"].set_index("metric")["value"]
summary.loc[["pnl", "total_return_pct", "sharpe", "sortino", "max_drawdown_pct", "win_rate_pct", "profit_factor", "exposure_pct", "turnover", "fees"]]
"""),
])

latency = nb("latency", [
    ("markdown", """
# 02 — Latency: what the network did, and what our code does

A replay reports two kinds of latency, never mixed: the **recorded** feed and order latency
read from the original journal (`replay.recorded_latency` in its manifest), and the
**measured** processing latency of this build (tick-to-order per stage and venue). This
notebook replays the demo run (`make notebooks` runs `retrace replay Runs/demo --out
Runs/demo-replay`) and compares the two runs' distributions.
"""),
    ("code", COMMON),
    ("code", """
original, replay = run_path("demo"), run_path("demo-replay")
mo, mr = manifest(original), manifest(replay)
print("fingerprints:", mo["fingerprint"][:16], mr["fingerprint"][:16], "match:", mr["replay"]["matches"])
assert mo["fingerprint"] == mr["fingerprint"]
def latency_frame(m, source):
    rows = m.get("latency", []) if source == "measured" else m.get("replay", {}).get("recorded_latency", [])
    return pd.DataFrame([{**{k: v for k, v in r.items() if k != "log2_counts"}, "source": source} for r in rows])
pd.concat([latency_frame(mo, "measured").assign(run="original"), latency_frame(mr, "measured").assign(run="replay"),
           latency_frame(mr, "recorded").assign(run="replay")], ignore_index=True)
"""),
    ("markdown", "The exported `latency.csv` carries the same figures (per stage and venue: count, p50, p90, p99, p99.9, max)."),
    ("code", """
subprocess.run([RETRACE, "export", replay, "--csv", os.path.join(replay, "csv"), "--quiet"], check=True)
lat = pd.read_csv(os.path.join(replay, "csv", "latency.csv"))
lat
"""),
    ("code", """
def histogram(ax, row, label, color):
    counts = row.get("log2_counts") or []
    xs = [2 ** k for k in range(len(counts))]
    ax.bar(range(len(counts)), counts, color=color, alpha=0.6, label=label)
    ax.set_xticks(range(len(counts))[::2], [f"{x/1000:g}µs" if x >= 1000 else f"{x}ns" for x in xs][::2], rotation=45)
stages = [r for r in mo.get("latency", []) if r.get("venue") is None]
fig, axes = plt.subplots(len(stages), 1, figsize=(10, 2.6 * len(stages)))
for ax, r in zip(axes, stages):
    histogram(ax, r, "original", "tab:blue")
    twin = next(x for x in mr["latency"] if x["stage"] == r["stage"] and x.get("venue") is None)
    histogram(ax, twin, "replay", "tab:orange")
    ax.set_title(f"{r['stage']}: p50 {r['p50']} ns / {twin['p50']} ns, p99 {r['p99']} ns / {twin['p99']} ns"); ax.legend()
fig.tight_layout(); plt.show()
"""),
])

incident = nb("incident", [
    ("markdown", """
# 03 — The fat-finger incident, replayed and fixed

`Replays/fat-finger-kill-switch` is a committed recorded run: mean-reversion started with
`size=500` instead of 5, a kill switch at a 400 loss. `make notebooks` replays it
(`Runs/incident-replay`) and replays it with the fix `risk.max_order_size=10`
(`Runs/incident-fix`). Here: the proof, the divergence, and the two equity curves.
"""),
    ("code", COMMON),
    ("code", """
incident = os.path.join(ROOT, "Replays/fat-finger-kill-switch")
replayed, fixed = run_path("incident-replay"), run_path("incident-fix")
mi, mrp, mf = manifest(incident), manifest(replayed), manifest(fixed)
print("recorded ", mi["fingerprint"]); print("replayed ", mrp["fingerprint"])
assert mi["fingerprint"] == mrp["fingerprint"], "the replay must reproduce the incident"
print("fixed    ", mf["fingerprint"], "(a what-if:", mf["replay"]["what_if"], ")")
"""),
    ("code", """
diff = subprocess.run([RETRACE, "diff", incident, fixed, "--json", "--context", "3"], capture_output=True, text=True)
assert diff.returncode == 1, diff.stderr
d = json.loads(diff.stdout)
print("first divergence after", d["common_outputs"], "identical outputs")
print("  incident:", d["first_divergence_a"]["event"])
print("  fix:     ", d["first_divergence_b"]["event"])
pd.DataFrame({"incident": d["a"], "fix": d["b"]}).drop(index="max_position")
"""),
    ("code", """
frames = {}
for name, run in [("incident", replayed), ("fix", fixed)]:
    subprocess.run([RETRACE, "export", run, "--csv", os.path.join(run, "csv"), "--quiet"], check=True)
    e = pd.read_csv(os.path.join(run, "csv", "equity.csv")); e["time"] = pd.to_datetime(e["time_ns"], unit="ns", utc=True)
    p = pd.read_csv(os.path.join(run, "csv", "positions.csv")); p["time"] = pd.to_datetime(p["time_ns"], unit="ns", utc=True)
    frames[name] = (e, p)
fig, (a, b) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
for name, (e, p) in frames.items():
    a.plot(e["time"], e["equity"], label=name, marker="o" if len(e) < 5 else None)
    b.step(p["time"], p["quantity"], where="post", label=name)
a.set_ylabel("equity"); b.set_ylabel("position"); a.legend(); fig.suptitle("Incident vs fix"); plt.show()
orders = pd.read_csv(os.path.join(replayed, "csv", "orders.csv"))
orders[orders["status"] == "rejected"]["reject_reason"].value_counts()
"""),
])

here = os.path.dirname(os.path.abspath(__file__))
for name, book in [("01-backtest", backtest), ("02-latency", latency), ("03-incident", incident)]:
    with open(os.path.join(here, "..", "Notebooks", name + ".ipynb"), "w") as f:
        json.dump(book, f, indent=1, ensure_ascii=False)
        f.write("\n")
print("wrote Notebooks/01-backtest.ipynb, 02-latency.ipynb, 03-incident.ipynb")
