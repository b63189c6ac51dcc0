#!/usr/bin/env bash
# GPU kernel launches per training step and per sampler step on wgpu (any adapter: Mesa's
# software Vulkan here), counted by CubeCL's launch logger, with fusion on and with every fuser
# off (VDIFF_FUSERS_OFF=all); and which kernel autotune chose for each tuned op.
#
#   [FUSION="on off"] scripts/launch-counts.sh [VDIFF_BINARY] [OUT_DIR]
#
# A step's count is the difference between runs of k and k + 2 steps, halved, after a first run
# that fills autotune's persistent cache: the counted runs tune nothing, and the first step's
# shader compilation cancels out. The U-Net is the 3-level one at c = WIDTH (default 8: the
# launches depend on the layers, not the width, and the software adapter is slow).
# Writes OUT_DIR/autotune.log: the tuned ops, their candidates and the pick, from the first run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=$(realpath "${1:-${CARGO_TARGET_DIR:-$HOME/.cache/vdiff-target}/release/vdiff}")
out=$(realpath -m "${2:-$root/target-e2e/launch-counts}")
weights=$root/weights
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cat > cubecl.toml <<'EOF'
[profiling]
logger = { level = "minimal", file = "kernels.log", append = false }

[autotune]
logger = { level = "minimal", file = "autotune.log", append = true }
EOF
width=${WIDTH:-8}

launches() {  # the command's kernel launches (the logger's file does not truncate: delete it)
  rm -f kernels.log
  "$@" > run.log 2>&1 || { cat run.log >&2; return 1; }
  grep -c "Executing" kernels.log
}
per_step() {  # per_step LABEL STEPS-FLAG K COMMAND…: launches per step from K and K + 2 steps
  local label=$1 flag=$2 k=$3; shift 3
  local a b
  launches "$@" "$flag" "$k" > /dev/null  # autotune's first run
  a=$(launches "$@" "$flag" "$k")
  b=$(launches "$@" "$flag" $((k + 2)))
  printf '%-58s %6d launches per step\n' "$label" $(((b - a) / 2))
}

echo "binary: $bin"
# A build without fusion (`--no-default-features --features cli,train`): FUSION="on" counts it once.
for fusion in ${FUSION:-on off}; do
  if [ "$fusion" = off ]; then export VDIFF_FUSERS_OFF=all; else unset VDIFF_FUSERS_OFF; fi
  what="fusion $fusion"
  per_step "training, U-Net c = $width, 3 levels, batch 2 ($what)" --steps 1 \
    "$bin" train bench --device webgpu --width "$width" --levels 3 --batch 2 --conv matmul
  per_step "conditional ddim, N = 10 ($what)" --steps 2 \
    "$bin" sample --device webgpu --weights "$weights" --model conditional --sampler ddim --solver ddim \
    --n 10 --out "$work/s" --quiet
  per_step "v2 + guide, N = 10, steps 3-4 ($what)" --steps 2 \
    "$bin" sample --device webgpu --weights "$weights" --model unconditional --sampler v2 --n 10 --out "$work/s" --quiet
done
[ -f autotune.log ] && cp autotune.log "$out/autotune.log" && echo "autotune decisions: $out/autotune.log"
