#!/usr/bin/env python3
"""The quality–cost front from `vdiff eval` runs: class accuracy, Fréchet distance and
within-class diversity against U-Net rows (and wall time), per setting and step count, means over
seeds. A setting is dominated when another, at no more U-Net rows, is at least as accurate and at
no greater Fréchet distance (and better on one of them); diversity is shown beside.

    python3 scripts/front.py [--plot docs/front.png] [--md docs/front.md] [--n 500] RUN_DIR...

Each RUN_DIR holds an eval.csv (scripts/eval-class.sh, scripts/front.sh). Writes the table as
Markdown (stdout, or --md) and, with --plot, a PNG: accuracy and Fréchet distance against U-Net
rows, dominated settings hollow. Needs matplotlib only for --plot.
"""
import argparse
import csv
import re
import statistics
import sys
from pathlib import Path


def read_runs(dirs, n):
    """Rows of every eval.csv at N = n, grouped by (run name, method, steering, steps)."""
    cells = {}
    for d in dirs:
        path = Path(d) / "eval.csv"
        if not path.exists():
            print(f"front.py: {path} is missing, skipped", file=sys.stderr)
            continue
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                if int(r["n"]) != n:
                    continue
                # Runs written before the guide's rename call it layer-guide.
                steering = re.sub(r"\blayer-guide\b", "guide", r["steering"])
                key = (Path(d).name, r["method"], steering, int(r["steps"]))
                cells.setdefault(key, []).append(r)
    return cells


def summarise(cells):
    out = []
    for (run, method, steering, steps), rows in sorted(cells.items()):
        if any(not r["class_acc"] for r in rows):
            continue  # unconditional sampling asks for no class
        mean = lambda k: statistics.fmean(float(r[k]) for r in rows)
        std = lambda k: statistics.stdev(float(r[k]) for r in rows) if len(rows) > 1 else 0.0
        out.append({
            "run": run, "method": method, "steering": steering, "steps": steps, "seeds": len(rows),
            "acc": mean("class_acc"), "acc_std": std("class_acc"), "fd": mean("frechet"),
            "div": mean("diversity"), "rows": round(mean("unet_rows")), "wall": mean("wall_s"),
        })
    return out


def dominated(p, points):
    """Another point at no more rows, as accurate or more and at no greater Fréchet distance,
    better on one of the three; None if there is none."""
    for q in points:
        if q is p:
            continue
        no_worse = q["rows"] <= p["rows"] and q["acc"] >= p["acc"] and q["fd"] <= p["fd"]
        better = q["rows"] < p["rows"] or q["acc"] > p["acc"] or q["fd"] < p["fd"]
        if no_worse and better:
            return q
    return None


def table(points):
    lines = ["| setting | steps | U-Net rows | class accuracy | Fréchet | diversity | wall s | seeds | on the front |",
             "|---|---|---|---|---|---|---|---|---|"]
    for p in sorted(points, key=lambda p: (p["steps"], p["rows"])):
        by = dominated(p, points)
        front = "yes" if by is None else f"no: {label(by)}, {by['steps']} steps"
        lines.append(f"| {label(p)} | {p['steps']} | {p['rows']:,} | {100 * p['acc']:.1f} % ± {100 * p['acc_std']:.1f} "
                     f"| {p['fd']:.0f} | {p['div']:.1f} | {p['wall']:.0f} | {p['seeds']} | {front} |")
    return "\n".join(lines)


def label(p):
    steering = f" ({p['steering']})" if p["steering"] else ""
    return f"{p['run']}: {p['method']}{steering}"


def plot(points, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    runs = sorted({p["run"] for p in points})
    colours = {r: plt.cm.tab20(i % 20) for i, r in enumerate(runs)}
    markers = {5: "o", 10: "s", 20: "^"}
    for ax, key, name in [(axes[0], "acc", "class accuracy (crate's classifier)"), (axes[1], "fd", "Fréchet distance (lower is better)")]:
        for p in points:
            on = dominated(p, points) is None
            c = colours[p["run"]]
            y = 100 * p[key] if key == "acc" else p[key]
            ax.scatter(p["rows"], y, marker=markers.get(p["steps"], "D"), s=60,
                       facecolors=c if on else "none", edgecolors=c, linewidths=1.5)
            if on:
                ax.annotate(f"{p['run']} {p['steps']}", (p["rows"], y), fontsize=7, xytext=(4, 3), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("U-Net rows (N = 500)")
        ax.set_ylabel(name + (" %" if key == "acc" else ""))
        ax.grid(True, which="both", alpha=0.3)
    handles = [plt.Line2D([], [], color=colours[r], marker="o", linestyle="", label=r) for r in runs]
    handles += [plt.Line2D([], [], color="grey", marker=m, linestyle="", label=f"{s} steps") for s, m in markers.items()]
    fig.legend(handles=handles, loc="lower center", ncol=6, fontsize=7, frameon=False)
    fig.suptitle("The quality–cost front: filled = not dominated (as accurate, no greater Fréchet distance, at no more U-Net rows)")
    fig.tight_layout(rect=(0, 0.12, 1, 0.95))
    fig.savefig(path, dpi=110)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--md")
    ap.add_argument("--plot")
    a = ap.parse_args()
    points = summarise(read_runs(a.runs, a.n))
    if not points:
        sys.exit("front.py: no runs at that N")
    md = table(points)
    if a.md:
        head = ("# The quality–cost front\n\nWritten by `scripts/front.py` from the runs `scripts/front.sh` lists "
                f"(N = {a.n}, means over seeds; the crate's classifier). A setting is off the front when "
                "another is as accurate, at no greater Fréchet distance, for no more U-Net rows; the "
                "plot: [front.png](front.png), the findings: [results.md](results.md#the-qualitycost-front).\n\n")
        Path(a.md).write_text(head + md + "\n")
    else:
        print(md)
    if a.plot:
        plot(points, a.plot)


if __name__ == "__main__":
    main()
