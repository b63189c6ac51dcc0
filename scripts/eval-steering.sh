#!/usr/bin/env bash
# The steering evaluation behind docs/results.md ("The paper's step rule and DDIM", "The full
# grid"), from the committed weights:
# two lanes of one thread each (this machine has two cores; two one-thread processes do more
# than one two-thread process). Usage: scripts/eval-steering.sh [OUT] [GUIDE_STRENGTH]
# (ETA0=1 adds the eta = 0 runs; ONLY=headline stops after the N = 500 tables; GRID=1 runs
# the rest of the full grid into OUT, e.g. GRID=1 scripts/eval-steering.sh eval/grid.)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vdiff-target}"
cargo build --release --features train --quiet
B="$CARGO_TARGET_DIR/release/vdiff"
OUT="${1:-eval/steering}"
S="${2:-}"   # empty: the guide's default strength
export RAYON_NUM_THREADS=1
mkdir -p "$OUT"
lane() { local name=$1; shift; ( "$@" ) > "$OUT/lane-$name.log" 2>&1; }
# The paper's step rule and DDIM with eta = 1, as when these tables were made (the CLI's
# defaults are now the fade, DPM-Solver++(2M) and eta = 0); a later --eta wins.
# These runs predate --copies: v2 steered the paper's copies.
ev() { "$B" eval --device cpu --paper-rule --solver ddim --eta 1 --copies paper "$@"; }
strength=(); [ -n "$S" ] && strength=(--strength "$S")

if [ "${SWEEP:-0}" = 1 ]; then
  # The guide's strength: v1 and v2, N = 500, 10 steps, seed 0.
  lane a bash -c "for s in 1 2 4; do $B eval --device cpu --paper-rule --solver ddim --eta 1 --methods v1,v2 --n 500 --steps 10 --seeds 1 --strength \$s --out $OUT/strength-\$s; done" &
  lane b bash -c "for s in 3 5 6; do $B eval --device cpu --paper-rule --solver ddim --eta 1 --methods v1,v2 --n 500 --steps 10 --seeds 1 --strength \$s --out $OUT/strength-\$s; done" &
  wait
  exit 0
fi

if [ "${GRID:-0}" = 1 ]; then
  # Issue 11's full grid, adding to the headline runs in eval/gpu2: N = 300 at 5, 10 and 20
  # steps and N = 500 at 5 steps for ddim and v1 / v2 with the guide, and the paper's layer and
  # its residual variant everywhere; 3 seeds. One table: scripts/eval-table.py.
  lane n300 ev --methods conditional,unconditional,v1,v2 --n 300 --steps 5,10,20 --seeds 3 "${strength[@]}" --out "$OUT/n300" &
  lane paper-v2 ev --methods v2-layer,v2-layer-residual --n 300,500 --steps 5,10,20 --seeds 3 --out "$OUT/paper-v2" &
  wait
  lane a bash -c "$B eval --device cpu --paper-rule --solver ddim --eta 1 --methods conditional,unconditional,v1,v2 --n 500 --steps 5 --seeds 3 ${strength[*]} --out $OUT/n500-steps5 &&
    $B eval --device cpu --paper-rule --solver ddim --eta 1 --methods v1-layer --n 300,500 --steps 5,10,20 --seeds 3 --out $OUT/paper-v1 &&
    $B eval --device cpu --paper-rule --solver ddim --eta 1 --methods v1-layer-residual --n 300 --steps 5,10,20 --seeds 3 --out $OUT/paper-v1-residual-n300" &
  lane b ev --methods v1-layer-residual --n 500 --steps 5,10,20 --seeds 3 --out "$OUT/paper-v1-residual-n500" &
  wait
  python3 scripts/eval-table.py eval/gpu2/n500-* "$OUT"/*/ > "$OUT/table.md"
  echo "→ $OUT/table.md"
  exit 0
fi

# Headline: N = 500, steps 10 and 20, 3 seeds; ddim on both U-Nets beside v1/v2 with the guide,
# one method per run (the lanes stay balanced; each run's table is its own eval.md).
lane a ev --methods conditional --n 500 --steps 20,10 --seeds 3 --out "$OUT/n500-conditional" &
lane b ev --methods v1 --n 500 --steps 10,20 --seeds 3 "${strength[@]}" --out "$OUT/n500-v1" &
wait
lane c ev --methods v2 --n 500 --steps 10,20 --seeds 3 "${strength[@]}" --out "$OUT/n500-v2" &
lane d ev --methods unconditional --n 500 --steps 10,20 --seeds 3 --out "$OUT/n500-unconditional" &
wait
if [ "${ETA0:-0}" = 1 ]; then
  # eta = 0 (DDIM proper; the notebook's default, and the crate's, is 1).
  lane g ev --methods conditional,unconditional --n 500 --steps 20,10 --seeds 3 --eta 0 --out "$OUT/eta0" &
  wait
  lane h1 ev --methods v1 --n 500 --steps 20 --seeds 3 --eta 0 "${strength[@]}" --out "$OUT/eta0-v1" &
  lane h2 ev --methods v2 --n 500 --steps 20 --seeds 3 --eta 0 --fan-eta 0 "${strength[@]}" --out "$OUT/eta0-v2" &
  wait
fi
[ "${ONLY:-}" = headline ] && { cat "$OUT"/*/eval.md > "$OUT/all.md"; exit 0; }
# 5 steps and N = 300, one seed; the paper's layer and its residual variant; the teacher
# (the conditional U-Net steering under the same rule: the ceiling of any layer imitating it).
lane s ev --methods conditional,unconditional,v1,v2 --n 300,500 --steps 5 --seeds 1 "${strength[@]}" --out "$OUT/steps5" &
lane e ev --methods v1-layer,v2-layer,v1-layer-residual,v2-layer-residual --n 500 --steps 10 --seeds 1 --out "$OUT/paper-layers" &
wait
lane f ev --methods v1-teacher,v2-teacher --n 500 --steps 10 --seeds 1 --strength 1 --out "$OUT/teacher-1" &
lane i ev --methods v1-teacher,v2-teacher --n 500 --steps 10 --seeds 1 "${strength[@]}" --out "$OUT/teacher" &
wait
cat "$OUT"/*/eval.md > "$OUT/all.md"
echo "→ $OUT/all.md"
