#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""plot.py: draws the benchmark charts in doc/ from the machine-readable results.

Reads the newest result file of each benchmark in bench/results/ (or the
one file given) and writes:

  from throughput-*.json (bench/bench-throughput):
  doc/bench-throughput.svg   programs/s per row, for each number of programs
                             and parent size, against the CPU-bound limit
                             measured in the same run
  doc/bench-parent-cpu.svg   the parent's own CPU per program per row, and
                             the ceiling it puts on one parent (1 / CPU)
                             beside what 2, 16 and 64 cores need
  from scaling-*.json (bench-scaling):
  doc/bench-scaling.svg      cost per child as the number in flight grows
  from spawn-*.json (bench-spawn):
  doc/bench-spawn-rss.svg    spawn + wait per program against the parent's
                             resident memory, per way of spawning
  from control-*.json (bench-control):
  doc/bench-deadline.svg     the deadline among siblings: when each future
                             ran, with one hung under a 100 ms deadline

A benchmark without a result file is left out (with a note).

Uses Debian's python3-matplotlib (scripts/install-deps.sh installs it).

Usage: bench/plot.py [--results DIR | FILE] [--out DIR]
       (a FILE is drawn by the charts of its benchmark only)
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
OURS = ("iter", "batch", "batch1", "run", "run_u", "run_many")


def newest(results_dir, name):
    files = sorted(glob.glob(os.path.join(results_dir, f"{name}-*.json")))
    return files[-1] if files else None


def colour(row):
    if row == "loop":
        return "#555555"
    return "#1f77b4" if row in OURS else "#bbbbbb"


def log_x_ticks(ax, values, labels):
    """A log x axis whose ticks are exactly the measured sizes."""
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xticks(values)
    ax.set_xticklabels(labels)


def throughput_chart(data):
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
    return fig


def parent_cpu_chart(data):
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
    return fig


def scaling_chart(data):
    sizes = data["sizes"]
    styles = {"futures": ("#1f77b4", "o"), "pids": ("#2ca02c", "s"), "hand": ("#555555", "^")}
    fig, ax = plt.subplots(figsize=(7, 4))
    for key, kind in data["kinds"].items():
        col, mark = styles.get(key, ("#bbbbbb", "x"))
        ax.plot(sizes, kind["median_us"], marker=mark, color=col, label=kind["label"])
        for x, rounds in zip(sizes, kind["rounds_us"]):
            ax.scatter([x] * len(rounds), rounds, color=col, s=8, alpha=0.35)
    log_x_ticks(ax, sizes, [str(n) for n in sizes])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("children in flight (log)")
    ax.set_ylabel("spawn cost per child, us (median; dots: rounds)")
    ax.legend(fontsize=8)
    ax.set_title(f"bench-scaling: N children started and kept waiting, {data['rounds']} rounds, "
                 f"{data['cores']} cores ({data['date'][:10]})", fontsize=9)
    return fig


def spawn_rss_chart(data):
    rss = data["rss_mib"]
    styles = {"discard": ("#1f77b4", "o", "-"), "capture": ("#1f77b4", "s", "--"),
              "forked_future": ("#ff7f0e", "o", "-"), "fork_execve": ("#555555", "^", "--"),
              "posix_spawn": ("#555555", "o", "-")}
    fig, ax = plt.subplots(figsize=(7, 4))
    for key, row in data["rows"].items():
        col, mark, line = styles.get(key, ("#bbbbbb", "x", ":"))
        ax.plot(rss, row["median_us"], marker=mark, linestyle=line, color=col, label=row["label"])
    ax.set_yscale("log")
    log_x_ticks(ax, rss, [f"{m:.0f}" for m in rss])
    ax.set_xlabel("parent's resident memory, MiB (log)")
    ax.set_ylabel("spawn + wait per program, us (median, log)")
    ax.legend(fontsize=8)
    ax.set_title(f"bench-spawn: {data['program']}, one at a time, {data['rounds']} rounds of {data['count']}, "
                 f"{data['cores']} cores ({data['date'][:10]})", fontsize=9)
    return fig


def deadline_chart(data):
    timelines = data["timelines"]
    fig, axes = plt.subplots(len(timelines), 1, figsize=(8, 1.2 + 1.9 * len(timelines)), squeeze=False)
    for ax, t in zip(axes[:, 0], timelines):
        starts, ends = t["start_ms"], t["end_ms"]
        # Future 0 is the hung one; the others are /bin/true, in spawn order.
        for i in range(1, len(starts)):
            ax.plot([starts[i], ends[i]], [i, i], color="#1f77b4", linewidth=0.6)
        ax.plot([starts[0], ends[0]], [0, 0], color="#d62728", linewidth=3,
                label=f"hung (sleep 100): stopped at {ends[0] - starts[0]:.0f} ms")
        ax.axvline(starts[0] + data["deadline_ms"], color="#d62728", linestyle=":",
                   label=f"its deadline ({data['deadline_ms']} ms)")
        ax.axvline(max(ends[1:]), color="#555555", linestyle="--",
                   label=f"last sibling done: {max(ends[1:]):.0f} ms")
        ax.set_ylabel("future (spawn order)", fontsize=8)
        ax.set_title(f"{t['n']} /bin/true, {data['limit']} at a time, beside one hung future", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="lower right")
    axes[-1, 0].set_xlabel("ms from the collection's start")
    fig.suptitle(f"bench-control: the deadline among siblings (last round of {data['rounds']}; "
                 f"{data['cores']} cores, {data['date'][:10]})", fontsize=9)
    return fig


CHARTS = {
    "throughput": (("bench-throughput.svg", throughput_chart), ("bench-parent-cpu.svg", parent_cpu_chart)),
    "scaling": (("bench-scaling.svg", scaling_chart),),
    "spawn": (("bench-spawn-rss.svg", spawn_rss_chart),),
    "control": (("bench-deadline.svg", deadline_chart),),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results", nargs="?", default=os.path.join(HERE, "results"))
    ap.add_argument("--out", default=os.path.join(HERE, "..", "doc"))
    args = ap.parse_args()
    if os.path.isfile(args.results):
        name = os.path.basename(args.results).split("-")[0]
        if name not in CHARTS:
            sys.exit(f"plot.py: {args.results}: not a result file of {', '.join(CHARTS)}")
        inputs = {name: args.results}
    else:
        inputs = {name: newest(args.results, name) for name in CHARTS}
    plt.rcParams["svg.hashsalt"] = "procreact"  # the same input draws the same file
    os.makedirs(args.out, exist_ok=True)
    for name, path in inputs.items():
        if path is None:
            print(f"plot.py: no {name}-*.json in {args.results}: its charts are left as they are")
            continue
        with open(path) as f:
            data = json.load(f)
        for chart, draw in CHARTS[name]:
            out = os.path.join(args.out, chart)
            fig = draw(data)
            fig.tight_layout()
            fig.savefig(out, metadata={"Date": None})
            plt.close(fig)
            print(f"plot.py: {out} (from {os.path.relpath(path)})")


if __name__ == "__main__":
    main()
