#!/usr/bin/env bash
# The sweep that chose the defaults of the fade schedule, classifier-free guidance and the
# solver (docs/results.md, "Images that show their class"): N = 200, 20 steps, seed 0, from the
# committed weights, in one-thread lanes; a run whose eval.csv exists is kept, so the
# script continues where it stopped. The stored eval/sweep/guide-s* runs are the guide before it
# read the U-Net's features (SHA-256 a07c289f…); eval/sweep/guide-features-* the one after it
# (SHA-256 cc98ea87…, before its last 85 minutes); guide-lr3e-4-* the guide trained on t ≥ 0.5
# (f228d030…); guide-t02-* and five-steps-* the first guide trained on t ≥ 0.2 (ac179a74…,
# weights/README.md run 4); fan-eta-* the shipped one (run 5, 2a58a02a…). A rerun writes the
# shipped guide's figures under every name. Usage: scripts/eval-sweep.sh [OUT]
# (STEPS=10 for 10 steps; the table: python3 scripts/eval-table.py OUT/*/).
set -euo pipefail
cd "$(dirname "$0")/.."
STEPS="${STEPS:-20}"
source scripts/eval-lanes.sh "${1:-eval/sweep}"
# These runs predate --copies: v2 steered the paper's copies.
ev() { local out=$1; shift; resumable "$out" --n 200 --steps "$STEPS" --seeds 1 --copies paper "$@"; }

lane_a() {
  # The baselines: conditional ddim with each solver and eta; then classifier-free guidance
  # (the conditional U-Net steering v1), constant (fade 0) and faded; from 8/4 on, the teacher at
  # the guide's schedules: the ceiling of any network imitating it there.
  ev ddim-eta1 --methods conditional,unconditional --eta 1 --solver ddim
  ev dpm-eta0 --methods conditional,unconditional --eta 0 --solver dpmpp-2m
  ev ddim-eta0 --methods conditional --eta 0 --solver ddim
  for sp in 2/0 3/0 3/1 5/1 8/4 5/2 3/4 5/4 16/4; do
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
  # The guide trained on t ≥ 0.5 (SHA-256 f228d030…) under the fade schedule, up to the
  # strength limit.
  for sp in 8/3 8/4 8/6 10/5 12/4 12/6 16/4 16/6 16/8 24/6 24/8 32/8 32/10; do
    ev "guide-lr3e-4-s${sp%/*}-p${sp#*/}" --methods v1,v2 --eta 0 --solver dpmpp-2m --strength "${sp%/*}" --fade "${sp#*/}"
  done
}

lane_d() {
  # The guide trained on t ≥ 0.2 (run 4, SHA-256 ac179a74…): one seed, then two seeds around
  # the best; then N = 500, three seeds, 5 steps, where full strength overshoots (the default
  # scales the strength with the steps below 10).
  for sp in 8/4 12/4 24/8 12/3 16/6 16/4; do
    ev "guide-t02-s${sp%/*}-p${sp#*/}" --methods v1,v2 --eta 0 --solver dpmpp-2m --strength "${sp%/*}" --fade "${sp#*/}"
  done
  for sp in 16/3 20/4 20/5 24/5; do
    resumable "guide-t02-2seeds-s${sp%/*}-p${sp#*/}" --n 200 --steps "$STEPS" --seeds 2 --methods v1,v2 --eta 0 --solver dpmpp-2m --strength "${sp%/*}" --fade "${sp#*/}" --copies paper
  done
  for m_sp in v1/8/4 v1/12/4 v2/6/4 v2/8/4 v2/10/4 v2/12/4 v2/16/6 v2/16/8; do
    local m=${m_sp%%/*} sp=${m_sp#*/}
    resumable "five-steps-$m-s${sp%/*}-p${sp#*/}" --n 500 --steps 5 --seeds 3 --methods "$m" --eta 0 --solver dpmpp-2m --strength "${sp%/*}" --fade "${sp#*/}" --copies paper
  done
}

lane_e() {
  # v2's fan-out eta with the shipped guide (run 5, SHA-256 2a58a02a…) at its defaults, four
  # seeds, beside conditional sampling on the same seeds: the Fréchet bound of the choice.
  for fe in 1 0.5 0.25; do
    resumable "fan-eta-$fe" --n 200 --steps "$STEPS" --seeds 4 --methods v2 --eta 0 --solver dpmpp-2m --fan-eta "$fe" --copies paper
  done
  resumable conditional-4seeds --n 200 --steps "$STEPS" --seeds 4 --methods conditional --eta 0 --solver dpmpp-2m
}

lane_a > "$OUT/lane-a.log" 2>&1 &
lane_b > "$OUT/lane-b.log" 2>&1 &
lane_c > "$OUT/lane-c.log" 2>&1 &
lane_d > "$OUT/lane-d.log" 2>&1 &
lane_e > "$OUT/lane-e.log" 2>&1 &
wait
python3 scripts/eval-table.py "$OUT"/*/ > "$OUT/table.md" || true
echo "→ $OUT"
