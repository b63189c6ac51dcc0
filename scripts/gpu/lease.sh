#!/usr/bin/env bash
# Runs ON a lent GPU machine (CUDA + PyTorch, no network, no Rust toolchain), from the
# repository root: trains the unconditional and the conditional U-Net side by side for MINUTES
# each (and the evaluation classifier for CLASSIFIER_MINUTES, default 5, beside them), checkpoints into OUT/<kind>/ every minute, and (when a Burn binary travelled as
# .gpu/vdiff.xz, unless BURN_PROBE=0) measures Burn's wgpu training speed on the same GPU meanwhile. Each U-Net
# continues from .gpu/runs/<kind>/ (the previous lease's checkpoint) if it travelled, else
# warm-starts from .gpu/init/<kind>.safetensors (the committed weights), else starts fresh.
#
#   scripts/gpu/lease.sh MINUTES OUT [extra train.py options]
#
# Prepared here by scripts/gpu/prepare.sh; see scripts/gpu/README.md for the whole procedure.
set -uo pipefail
minutes=${1:?usage: lease.sh MINUTES OUT [train.py options]}
out=${2:?usage: lease.sh MINUTES OUT [train.py options]}
shift 2
cd "$(dirname "$0")/../.."
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c 'import torch, safetensors, PIL; print("torch", torch.__version__, "cuda", torch.cuda.is_available())'
mkdir -p "$out"
log="$out/lease.log"

if [ -f .gpu/vdiff.xz ] && [ "${BURN_PROBE:-1}" != 0 ]; then  # BURN_PROBE=0: webgpu-lease.sh measured it
  python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' \
    .gpu/vdiff.xz /tmp/vdiff && chmod +x /tmp/vdiff
  # The Vulkan loader is missing there, and NVIDIA's Vulkan driver (libGLX_nvidia) needs
  # GLVND's libGLdispatch: unpack Debian's packages carried in .gl/ (seen 2026-11-26).
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$icd" ] && export VK_DRIVER_FILES=$icd
  # Overlaps PyTorch's compilation (CPU-bound), when the GPU is otherwise idle.
  (timeout 150 /tmp/vdiff train bench --device wgpu --width 32 --levels 3 --batch 256 --steps 3 2>&1 |
    sed 's/^/[burn-wgpu] /' | tee -a "$log") &
fi

for kind in unconditional conditional; do
  resume=()
  if [ -f ".gpu/runs/$kind/state.pt" ]; then
    resume=(--resume ".gpu/runs/$kind")
  elif [ -f ".gpu/init/$kind.safetensors" ]; then
    resume=(--init ".gpu/init/$kind.safetensors")
  fi
  python3 scripts/gpu/train.py --data .gpu/cifar --kind "$kind" --out "$out/$kind" --minutes "$minutes" \
    "${resume[@]}" "$@" 2>&1 | grep --line-buffered -v -i -E 'warn|^\s*$' | sed -u "s/^/[$kind] /" | tee -a "$log" &
done
# The evaluation classifier, from scratch, beside them (a small network: it hardly slows them);
# CLASSIFIER_MINUTES=0 skips it (it is trained: lease 2).
if [ "${CLASSIFIER_MINUTES:-5}" != 0 ]; then
  python3 scripts/gpu/classifier.py --data .gpu/cifar --out "$out/classifier" --minutes "${CLASSIFIER_MINUTES:-5}" 2>&1 |
    grep --line-buffered -v -i -E 'warn|^\s*$' | sed -u "s/^/[classifier] /" | tee -a "$log" &
fi
wait
ls -la "$out"/*
