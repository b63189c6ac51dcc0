#!/usr/bin/env python3
"""One table from `vdiff eval` runs: every (network, N, steps) cell over its seeds, with class
accuracy against conditional ddim's at the same N and steps, and Fréchet against unconditional
ddim's. Usage: python3 scripts/eval-table.py DIR [DIR ...] (each holding an eval.csv)."""
import collections
import csv
import os
import statistics
import sys

ORDER = ["conditional", "unconditional", "v1", "v2", "v1-layer", "v2-layer", "v1-layer-residual", "v2-layer-residual"]
NAMES = {"v1": "v1 + guide", "v2": "v2 + guide", "v1-layer": "v1 + paper's layer", "v2-layer": "v2 + paper's layer",
         "v1-layer-residual": "v1 + residual layer", "v2-layer-residual": "v2 + residual layer"}


def main(dirs):
    cells = collections.defaultdict(list)
    for d in dirs:
        with open(os.path.join(d, "eval.csv")) as f:
            for r in csv.DictReader(f):
                cells[(r["method"], int(r["n"]), int(r["steps"]))].append(r)
    mean = lambda rows, k: statistics.mean(float(r[k]) for r in rows)
    sd = lambda rows, k: statistics.stdev([float(r[k]) for r in rows]) if len(rows) > 1 else 0.0
    print("| network | N | steps | seeds | class acc. | × conditional | Fréchet | vs unconditional | IS | U-Net rows |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    rank = lambda k: (k[1], k[2], ORDER.index(k[0]) if k[0] in ORDER else 99, k[0])
    for key in sorted(cells, key=rank):
        m, n, steps = key
        rows = cells[key]
        cond, uncond = cells.get(("conditional", n, steps)), cells.get(("unconditional", n, steps))
        acc = f"{100 * mean(rows, 'class_acc'):.1f} ± {100 * sd(rows, 'class_acc'):.1f} %" if m != "unconditional" else "—"
        ratio = f"{mean(rows, 'class_acc') / mean(cond, 'class_acc'):.2f}×" if cond and m != "unconditional" else "—"
        fd = mean(rows, "frechet")
        vs = f"{fd - mean(uncond, 'frechet'):+.1f}" if uncond and m != "unconditional" else "—"
        print(f"| {NAMES.get(m, m + ' ddim')} | {n} | {steps} | {len(rows)} | {acc} | {ratio} | {fd:.1f} ± {sd(rows, 'frechet'):.1f} "
              f"| {vs} | {mean(rows, 'is'):.2f} | {int(float(rows[0]['unet_rows'])):,} |")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) if len(sys.argv) > 1 else print(__doc__))
