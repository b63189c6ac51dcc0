#!/usr/bin/env bash
# The sweep that chose the defaults of the fade schedule, classifier-free guidance and the
# solver (README, "Images that show their class"): N = 200, 20 steps, seed 0, from the
# committed weights, in two one-thread lanes; a run whose eval.csv exists is kept, so the
# script continues where it stopped. The stored eval/sweep/guide-s* runs are the guide before it
# read the U-Net's features (SHA-256 a07c289f…); eval/sweep/guide-features-* the one after it (SHA-256 cc98ea87…, before its last 85 minutes)
# (a rerun writes the shipped guide's figures under guide-s*). Usage: scripts/eval-sweep.sh [OUT]
# (STEPS=10 for 10 steps; the table: python3 scripts/eval-table.py OUT/*/).
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS="${STEPS:-20}"
source scripts/eval-lanes.sh "${1:-eval/sweep}"
ev() { local out=$1; shift; resumable "$out" --n 200 --steps "$STEPS" --seeds 1 "$@"; }

lane_a() {
  # The baselines: conditional ddim with each solver and eta; then classifier-free guidance
  # (the conditional U-Net steering v1), constant (fade 0) and faded.
  ev ddim-eta1 --methods conditional,unconditional --eta 1 --solver ddim
  ev dpm-eta0 --methods conditional,unconditional --eta 0 --solver dpmpp-2m
  ev ddim-eta0 --methods conditional --eta 0 --solver ddim
  for sp in 2/0 3/0 3/1 5/1; do
    ev "cfg-s${sp%/*}-p${sp#*/}" --methods v1-conditional --eta 0 --solver dpmpp-2m --strength "${sp%/*}" --fade "${sp#*/}"
  done
}

lane_b() {
  # The guide: v1 and v2, the paper's rule, then strength × fade.
  ev guide-paper --methods v1,v2 --eta 0 --solver dpmpp-2m --paper-rule
  for sp in 5/1 8/1 8/2 5/2 8/4; do
    ev "guide-s${sp%/*}-p${sp#*/}" --methods v1,v2 --eta 0 --solver dpmpp-2m --strength "${sp%/*}" --fade "${sp#*/}"
  done
}

lane_c() {
  # The shipped guide (SHA-256 f228d030…) under the fade schedule, up to the strength limit:
  # the sweep behind today's default (strength 24, fade 8).
  for sp in 8/3 8/4 8/6 10/5 12/4 12/6 16/4 16/6 16/8 24/6 24/8 32/8 32/10; do
    ev "guide-lr3e-4-s${sp%/*}-p${sp#*/}" --methods v1,v2 --eta 0 --solver dpmpp-2m --strength "${sp%/*}" --fade "${sp#*/}"
  done
}

lane_a > "$OUT/lane-a.log" 2>&1 &
lane_b > "$OUT/lane-b.log" 2>&1 &
lane_c > "$OUT/lane-c.log" 2>&1 &
wait
python3 scripts/eval-table.py "$OUT"/*/ > "$OUT/table.md" || true
echo "→ $OUT"
