#!/usr/bin/env bash
# The N = 500 tables of docs/results.md, "Images that show their class": 3 seeds, 5 / 10 / 20 steps,
# DPM-Solver++(2M) with eta = 0, the settings the sweep chose (scripts/eval-sweep.sh):
# classifier-free guidance at scale 3 (no fade), the guide at its default (strength 16 with
# fade 4, scaled to 8 at 5 steps; v2's fan-out at eta 0.5); plain conditional and unconditional
# sampling with the same solver beside them. Two one-thread lanes; a run whose eval.csv exists
# is kept. Today's DDIM rows are eval/gpu2 and eval/grid.
# Usage: scripts/eval-class.sh [OUT]; the table: python3 scripts/eval-table.py OUT/*/ eval/gpu2/n500-* eval/grid/n500-steps5/
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/eval-lanes.sh "${1:-eval/class}"
# These runs predate --copies: v2 steered the paper's copies.
ev() { local out=$1; shift; resumable "$out" --n 500 --seeds 3 --eta 0 --solver dpmpp-2m --copies paper "$@"; }
# guide-v1 / guide-v2: the shipped guide (weights/README.md run 5, SHA-256 2a58a02a…) at its
# defaults. Earlier guides' runs are kept under other names (a rerun writes the shipped guide's
# figures): guide-without-features (SHA-256 a07c289f…), guide-50min-v1 / -v2 (cc98ea87…),
# guide-t05-v1 / -v2 and guide-s24-v1 / -v2 (f228d030…, trained on t ≥ 0.5, at strength 8 and
# 24); guide-run4-v1 / -v2, guide-s16-*, guide-s8-*, guide-v1-fade3, guide-v2-25steps and
# guide-run4-v2-fan-eta05 (run 4, ac179a74…, the first trained on t ≥ 0.2; its v2 rows at fan-eta
# 1, then the default).
lane_a() {
  ev cfg --methods v1-conditional --steps 20,10,5 --strength 3 --fade 0
  ev conditional --methods conditional --steps 20,10,5
  ev guide-v1 --methods v1 --steps 20,10,5 --steering guide --fade 4
  # Full strength at 5 steps and half strength at 10: why the default scales below 10 steps.
  ev guide-s16-v1 --methods v1 --steps 5 --steering guide --strength 16 --fade 4
  ev guide-s8-v1 --methods v1 --steps 10 --steering guide --strength 8 --fade 4
  # The two-seed N = 200 sweep's tie for v1 (strength 16, fade 3).
  ev guide-v1-fade3 --methods v1 --steps 20 --steering guide --strength 16 --fade 3
  ev guide-t05-v1 --methods v1 --steps 20,10,5 --steering guide --strength 8 --fade 4
  ev guide-s24-v1 --methods v1 --steps 20,10,5 --steering guide --strength 24 --fade 8
}
lane_b() {
  ev guide-v2 --methods v2 --steps 20,10,5 --steering guide --fade 4
  ev guide-s16-v2 --methods v2 --steps 5 --steering guide --strength 16 --fade 4
  ev guide-s8-v2 --methods v2 --steps 10 --steering guide --strength 8 --fade 4
  # v2 at 25 steps: 10,811 U-Net rows, still under 55 % of classifier-free guidance's at 20.
  ev guide-v2-25steps --methods v2 --steps 25 --steering guide --fade 4
  # v2's fan-out eta around the default 0.5: 1 (the default before) and 0.25.
  ev guide-v2-fan-eta1 --methods v2 --steps 20,10,5 --steering guide --fade 4 --fan-eta 1
  ev guide-v2-fan-eta025 --methods v2 --steps 20,10 --steering guide --fade 4 --fan-eta 0.25
  ev unconditional --methods unconditional --steps 20,10,5
  # v2's fan-out without fresh noise (fan-eta 0), for the diversity comparison.
  ev v2-fan-eta0 --methods v2 --steps 20 --steering guide --strength 8 --fade 4 --fan-eta 0
  ev guide-t05-v2 --methods v2 --steps 20,10,5 --steering guide --strength 8 --fade 4
  ev guide-s24-v2 --methods v2 --steps 20,10,5 --steering guide --strength 24 --fade 8
}
lane_a > "$OUT/lane-a.log" 2>&1 &
lane_b > "$OUT/lane-b.log" 2>&1 &
wait
echo "→ $OUT"
