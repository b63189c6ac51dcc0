#!/usr/bin/env python3
"""One table from `vdiff eval` runs: every cell (network, its steering, solver, eta, N, steps)
over its seeds, with class accuracy as a multiple of the reference conditional ddim's (DDIM,
eta = 1: the crate's sampler before the solver and guidance existed) at the same N and steps,
Fréchet distance against unconditional ddim's (same reference), and within-class diversity as a
multiple of conditional ddim's with the same solver and eta. Runs written before a column existed count as
DDIM, eta = 1. Usage: python3 scripts/eval-table.py DIR [DIR ...] (each holding an eval.csv)."""
import collections
import csv
import os
import statistics
import sys

ORDER = ["conditional", "unconditional", "v1-conditional", "v1", "v2-conditional", "v2", "v1-layer", "v2-layer",
         "v1-layer-residual", "v2-layer-residual"]
NAMES = {"v1": "v1 + guide", "v2": "v2 + guide", "v1-layer": "v1 + paper's layer", "v2-layer": "v2 + paper's layer",
         "v1-layer-residual": "v1 + residual layer", "v2-layer-residual": "v2 + residual layer",
         "v1-conditional": "classifier-free guidance (v1 + conditional U-Net)",
         "v2-conditional": "v2 + conditional U-Net"}
REFERENCE = ("ddim", "1")


def main(dirs):
    cells = collections.defaultdict(list)
    for d in dirs:
        with open(os.path.join(d, "eval.csv")) as f:
            for r in csv.DictReader(f):
                r.setdefault("solver", "ddim")
                r["solver"] = r["solver"] or "ddim"
                r["eta"] = str(float(r.get("eta") or 1)).rstrip("0").rstrip(".")
                key = (r["method"], r.get("steering", ""), r["solver"], r["eta"], int(r["n"]), int(r["steps"]))
                cells[key].append(r)
    mean = lambda rows, k: statistics.mean(float(r[k]) for r in rows)
    sd = lambda rows, k: statistics.stdev([float(r[k]) for r in rows]) if len(rows) > 1 else 0.0

    def reference(method, n, steps):
        for (m, _, solver, eta, n2, s2), rows in cells.items():
            if m == method and (solver, eta) == REFERENCE and (n2, s2) == (n, steps):
                return rows
        return None

    print("| network | steering | solver | eta | N | steps | seeds | class acc. | × cond. ddim | Fréchet "
          "| vs uncond. ddim | diversity × cond. ddim | IS | U-Net rows |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    rank = lambda k: (k[4], k[5], ORDER.index(k[0]) if k[0] in ORDER else 99, k[2], k[3], k[1])
    for key in sorted(cells, key=rank):
        m, steering, solver, eta, n, steps = key
        rows = cells[key]
        cond, uncond = reference("conditional", n, steps), reference("unconditional", n, steps)
        acc = f"{100 * mean(rows, 'class_acc'):.1f} ± {100 * sd(rows, 'class_acc'):.1f} %" if m != "unconditional" else "—"
        ratio = f"{mean(rows, 'class_acc') / mean(cond, 'class_acc'):.2f}×" if cond and m != "unconditional" else "—"
        fd = mean(rows, "frechet")
        vs = f"{fd - mean(uncond, 'frechet'):+.1f}" if uncond else "—"
        has_div = lambda rs: bool(rs) and all(r.get("diversity") for r in rs)
        # Diversity came later than the reference runs: against conditional ddim with the row's
        # own solver and eta (or the reference), whichever has it.
        div_ref = next((rs for rs in [cells.get(("conditional", "", solver, eta, n, steps)), cond] if has_div(rs)), None)
        div = f"{mean(rows, 'diversity') / mean(div_ref, 'diversity'):.2f}×" if has_div(rows) and div_ref else "—"
        print(f"| {NAMES.get(m, m + ' ddim')} | {steering or '—'} | {solver} | {eta} | {n} | {steps} | {len(rows)} "
              f"| {acc} | {ratio} | {fd:.1f} ± {sd(rows, 'frechet'):.1f} | {vs} | {div} | {mean(rows, 'is'):.2f} "
              f"| {int(float(rows[0]['unet_rows'])):,} |")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]) if len(sys.argv) > 1 else print(__doc__))
