#!/usr/bin/env bash
# The sweep that chose the defaults of the fade schedule, classifier-free guidance and the
# solver (README, "Images that show their class"): N = 200, 20 steps, seed 0, from the
# committed weights, in two one-thread lanes. Usage: scripts/eval-sweep.sh [OUT]
# (STEPS=10 for the 10-step half; the summary table: python3 scripts/eval-table.py OUT/*/).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vdiff-target}"
[ -n "${VDIFF:-}" ] || cargo build --release --features train --quiet
B="${VDIFF:-$CARGO_TARGET_DIR/release/vdiff}"
OUT="${1:-eval/sweep}"
STEPS="${STEPS:-20}"
export RAYON_NUM_THREADS=1
mkdir -p "$OUT"
ev() { local out=$1; shift; "$B" eval --device flex --n 200 --steps "$STEPS" --seeds 1 --out "$OUT/$out" "$@"; }

lane_a() {
  # The baselines: conditional ddim with each solver and eta.
  ev ddim-eta1 --methods conditional,unconditional --eta 1
  ev ddim-eta0 --methods conditional,unconditional --eta 0
  ev dpm-eta0 --methods conditional,unconditional --eta 0 --solver dpmpp-2m
  ev dpm-eta1 --methods conditional --eta 1 --solver dpmpp-2m
  # Classifier-free guidance (the conditional U-Net steering v1), faded and not.
  for s in 2 3 5; do for p in 0 1 2; do
    ev cfg-s$s-p$p --methods v1-conditional --eta 0 --solver dpmpp-2m --strength $s --fade $p
  done; done
}

lane_b() {
  # The guide: v1 and v2, strength × fade, and the paper's rule beside them.
  ev guide-paper --methods v1,v2 --eta 0 --solver dpmpp-2m --paper-rule
  for s in 3 5 8; do for p in 1 2 4; do
    ev guide-s$s-p$p --methods v1,v2 --eta 0 --solver dpmpp-2m --strength $s --fade $p
  done; done
}

lane_a > "$OUT/lane-a.log" 2>&1 &
lane_b > "$OUT/lane-b.log" 2>&1 &
wait
python3 scripts/eval-table.py "$OUT"/*/ > "$OUT/table.md" || true
echo "→ $OUT"
