#!/usr/bin/env bash
# The sample grids of README.md and docs/results.md (docs/grid-*.png) from the committed weights:
# N = 50, 20 steps, seed 1, the CLI's defaults (DPM-Solver++(2M), eta = 0, each steering network's
# default strength and fade), into docs/.
# Usage: scripts/readme-grids.sh [vdiff binary]
set -euo pipefail
cd "$(dirname "$0")/.."
VDIFF=${1:-${CARGO_TARGET_DIR:-$HOME/.cache/vdiff-target}/release/vdiff}
tmp=$(mktemp -d)
run() { # name, sample flags...
  local name=$1; shift
  "$VDIFF" sample --n 50 --steps 20 --seed 1 --quiet --out "$tmp/$name" "$@"
  cp "$tmp/$name/grid.png" "docs/grid-$name.png"
}
run cond --model conditional --sampler ddim
run uncond --model unconditional --sampler ddim
run cfg --sampler v1 --steering conditional  # classifier-free guidance
run v1 --sampler v1                       # the guide, its default strength and fade
run v2 --sampler v2
run v1p --sampler v1 --steering layer --paper-rule   # the paper's additional layer and rule
run v2p --sampler v2 --steering layer --paper-rule
rm -rf "$tmp"
