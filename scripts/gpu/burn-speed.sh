#!/usr/bin/env bash
# Runs ON a lent GPU machine, from the repository root: Burn's wgpu speed on the crate's U-Net
# beside PyTorch's, in one call of at most MINUTES (default 8). Writes OUT/speed.log.
#
#   scripts/gpu/burn-speed.sh OUT [MINUTES]
#
# Carried (scripts/gpu/prepare.sh --burn): .gpu/burn/<variant>.xz, stripped `vdiff` builds:
#   fused   Burn's fusion and autotune on (the crate's build), WGSL
#   plain   neither (the build before them)
#   spirv   fusion and autotune, SPIR-V (cargo feature `spirv`), when it was built
# and .gl/ (the Vulkan loader the machine lacks). Each build trains seeded U-Net steps
# (`vdiff train bench --losses`: the first losses show a device that computes wrong) at each
# batch size, `fused` and `spirv` also with every fuser off (VDIFF_FUSERS_OFF=all); then
# sampling (`vdiff bench`, N images, STEPS steps) and PyTorch's figures (torch_speed.py).
# The most important runs come first; a run that would pass the deadline is skipped and says so.
# Dry run on a CPU machine with Mesa's software Vulkan:
#   WIDTH=8 BATCHES=8 TRAIN_STEPS=2 N=10 STEPS=2 PER_RUN_S=300 scripts/gpu/burn-speed.sh /tmp/speed 20
set -uo pipefail
out=${1:?usage: burn-speed.sh OUT [MINUTES]}
minutes=${2:-8}
cd "$(dirname "$0")/../.."
mkdir -p "$out"
log="$out/speed.log"
deadline=$(( $(date +%s) + ${minutes%.*} * 60 ))
batches=${BATCHES:-256 512}
train_steps=${TRAIN_STEPS:-10}
n=${N:-100}
steps=${STEPS:-10}
per_run=${PER_RUN_S:-75}
width=${WIDTH:-32}
say() { echo "$*" | tee -a "$log"; }

if ls .gl/*.deb >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  # The Vulkan loader is missing there, and NVIDIA's Vulkan driver needs GLVND's libGLdispatch.
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$log"

mkdir -p /tmp/burn
builds=()
for v in fused plain spirv; do
  [ -f ".gpu/burn/$v.xz" ] || continue
  python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
    ".gpu/burn/$v.xz" "/tmp/burn/$v" && chmod +x "/tmp/burn/$v" && builds+=("$v")
done
say "builds: ${builds[*]:-none}"

# run LABEL COMMAND…: run with the per-run limit if the deadline allows, prefix its lines.
run() {
  local label=$1; shift
  local left=$(( deadline - $(date +%s) ))
  if [ "$left" -lt 20 ]; then say "[$label] skipped: ${left} s left"; return; fi
  local limit=$(( left < per_run ? left : per_run ))
  local t0; t0=$(date +%s.%N)
  timeout "$limit" "$@" 2>&1 | sed -u "s/^/[$label] /" | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  say "[$label] exit $rc after $(python3 -c "import time; print(round(time.time() - $t0, 1))") s"
}

train() {  # train BUILD FUSERS_OFF BATCH
  local label="train $1${2:+ fusers-off=$2} batch $3"
  VDIFF_FUSERS_OFF=$2 run "$label" "/tmp/burn/$1" train bench --device wgpu --width "$width" --levels 3 \
    --batch "$3" --steps "$train_steps" --conv matmul --losses
}
has() { [[ " ${builds[*]:-} " == *" $1 "* ]]; }

for b in $batches; do has fused && train fused "" "$b"; done
if command -v python3 >/dev/null && python3 -c 'import torch' 2>/dev/null; then
  run "pytorch" python3 scripts/gpu/torch_speed.py --batches "${batches// /,}" --n "$n" --steps "$steps"
else
  say "[pytorch] skipped: no torch here"
fi
for b in $batches; do has plain && train plain "" "$b"; done
for b in $batches; do has spirv && train spirv "" "$b"; done
first=${batches%% *}
has fused && train fused all "$first"
has spirv && train spirv all "$first"
for v in fused plain spirv; do
  has "$v" && run "sample $v" "/tmp/burn/$v" bench --device wgpu --weights weights --n "$n" --steps "$steps" --reps 2
done
say "done"
