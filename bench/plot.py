#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""plot.py: draws the benchmark charts in doc/ from the machine-readable results.

Reads the newest bench/results/throughput-*.json (or the file given) that
bench/bench-throughput wrote, and writes:

  doc/bench-throughput.svg   programs/s per row, for each number of programs
                             and parent size, against the CPU-bound limit
                             measured in the same run
  doc/bench-parent-cpu.svg   the parent's own CPU per program per row, and
                             the ceiling it puts on one parent (1 / CPU)
                             beside what 2, 16 and 64 cores need

Uses Debian's python3-matplotlib (scripts/install-deps.sh installs it).

Usage: bench/plot.py [--results DIR | FILE] [--out DIR]
"""

import argparse
import glob
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OURS = ("iter", "run", "run_u", "run_many")


def newest(results_dir):
    files = sorted(glob.glob(os.path.join(results_dir, "throughput-*.json")))
    if not files:
        sys.exit(f"plot.py: no throughput-*.json in {results_dir}: run bench/bench-throughput first")
    return files[-1]


def colour(row):
    if row == "loop":
        return "#555555"
    return "#1f77b4" if row in OURS else "#bbbbbb"


def throughput_chart(data, out):
    runs = data["runs"]
    fig, axes = plt.subplots(len(runs), 1, figsize=(8, 2.2 + 0.32 * sum(len(r["rows"]) for r in runs)),
                             squeeze=False)
    for ax, run in zip(axes[:, 0], runs):
        rows = list(run["rows"].items())
        names = [v["label"] for _, v in rows][::-1]
        rates = [v["programs_per_s"] for _, v in rows][::-1]
        ax.barh(names, rates, color=[colour(k) for k, _ in rows][::-1])
        ax.axvline(run["limit_per_s"], color="#d62728", linestyle="--",
                   label=f"CPU-bound limit {run['limit_per_s']:.0f}/s")
        for y, (rate, (_, v)) in enumerate(zip(rates, rows[::-1])):
            ax.text(rate, y, f" {rate:.0f}/s ({v['vs_limit']:.2f}x)", va="center", fontsize=7)
        ax.set_title(f"{run['programs']} programs, parent of {run['rss_mib']} MiB", fontsize=9)
        ax.set_xlim(0, max(max(rates), run["limit_per_s"]) * 1.35)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="lower right")
    axes[-1, 0].set_xlabel("programs per second (median)")
    fig.suptitle(f"{data['program']} k, {data['limit']} at a time, {data['cores']} cores, "
                 f"{data['rounds']} alternating rounds ({data['date'][:10]})", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, metadata={"Date": None})
    plt.close(fig)


def parent_cpu_chart(data, out):
    run = data["runs"][0]  # the first size: every row ran there
    rows = [(k, v) for k, v in run["rows"].items() if v["median_parent_cpu_s"]]
    names = [v["label"] + (" (its workers not counted)" if k == "pool" else "") for k, v in rows][::-1]
    cpu = [v["median_parent_cpu_s"] * 1e6 for _, v in rows][::-1]
    ceiling = [v["ceiling_per_s"] for _, v in rows][::-1]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 0.45 * len(rows) + 1.6), sharey=True)
    cols = [colour(k) for k, _ in rows][::-1]
    a1.barh(names, cpu, color=cols)
    a1.set_xscale("log")
    a1.axvline(run["rows"]["loop"]["median_parent_cpu_s"] * 1e6, color="#555555", linestyle=":",
               label="C loop")
    for y, c in enumerate(cpu):
        a1.text(c, y, f" {c:.0f} us", va="center", fontsize=7)
    a1.set_xlabel("parent CPU per program, us (log)")
    a1.legend(fontsize=7)
    a2.barh(names, ceiling, color=cols)
    a2.set_xscale("log")
    styles = {"2": ":", "16": "--", "64": "-."}
    for cores, need in run["need_per_s"].items():
        a2.axvline(need, color="#d62728", linestyle=styles.get(cores, "-"), label=f"{cores} cores need {need:,.0f}/s")
    a2.set_xlabel("ceiling of one parent, programs/s (1 / parent CPU; log)")
    a2.legend(fontsize=7, loc="lower right")
    for ax in (a1, a2):
        ax.tick_params(labelsize=7)
    fig.suptitle(f"{run['programs']} x {data['program']} k, parent of {run['rss_mib']} MiB; child CPU "
                 f"{run['child_cpu_s'] * 1e6:.0f} us per program ({data['date'][:10]})", fontsize=9)
    fig.tight_layout()
    fig.savefig(out, metadata={"Date": None})
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results", nargs="?", default=os.path.join(HERE, "results"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "doc"))
    args = ap.parse_args()
    path = args.results if os.path.isfile(args.results) else newest(args.results)
    with open(path) as f:
        data = json.load(f)
    plt.rcParams["svg.hashsalt"] = "procreact"  # the same input draws the same file
    os.makedirs(args.out, exist_ok=True)
    for name, draw in (("bench-throughput.svg", throughput_chart), ("bench-parent-cpu.svg", parent_cpu_chart)):
        out = os.path.join(args.out, name)
        draw(data, out)
        print(f"plot.py: {out} (from {os.path.relpath(path)})")


if __name__ == "__main__":
    main()
