#!/usr/bin/env bash
# Model-size sweep: the same short training budget for several unconditional U-Net sizes, one
# after another under the same conditions, then a markdown table (params, images/s, images
# seen, best validation loss, f16 size, epochs a 4-CPU-hour budget would reach).
# Usage: scripts/size-sweep.sh [minutes per size] [vdiff binary built with --features train]
set -euo pipefail
cd "$(dirname "$0")/.."
MIN=${1:-8}
VDIFF=${2:-${CARGO_TARGET_DIR:-$HOME/.cache/vdiff-target}/release/vdiff}
OUT=runs/sweep
mkdir -p "$OUT"
for spec in "16 3" "24 3" "32 3" "32 4"; do
  read -r w l <<<"$spec"
  dir="$OUT/c$w-l$l"
  rm -rf "$dir" && mkdir -p "$dir"
  RAYON_NUM_THREADS=1 "$VDIFF" train unet --model unconditional --width "$w" --levels "$l" --batch 32 \
    --eval-every 100 --val-images 500 --patience 1000 --max-minutes "$MIN" \
    --run "$dir" --out "$dir/out" --device cpu --quiet >"$dir/stdout" 2>&1
done
echo "| c | levels | params | images/s | images in ${MIN} min | best val loss | f16 size | epochs in 4 CPU-h |"
echo "|---|---|---|---|---|---|---|---|"
for spec in "16 3" "24 3" "32 3" "32 4"; do
  read -r w l <<<"$spec"
  dir="$OUT/c$w-l$l"
  params=$(sed -n 's/.*(\([0-9]*\) parameters).*/\1/p' "$dir/stdout" | head -1)
  size=$(stat -c %s "$dir/out/unet-unconditional.bpk")
  awk -F, -v w="$w" -v l="$l" -v p="$params" -v s="$size" 'NR > 1 {
      if (best == "" || $4 < best) best = $4; step = $1; wall = $6 }
    END { ips = step * 32 / wall;
      printf "| %d | %d | %.2f M | %.1f | %d | %.4f | %.1f MB | %.1f |\n",
        w, l, p / 1e6, ips, step * 32, best, s / 1e6, ips * 4 * 3600 / 50000 }' "$dir/log.csv"
done
