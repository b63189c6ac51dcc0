#!/usr/bin/env bash
# Here (the CPU machine), before a GPU lease: put everything the lease needs into .gpu/ and .gl/
# (both ignored by git, carried by the device call), ≤ 64 MiB with the working tree.
#   .gpu/cifar/   CIFAR-10 packed by pack.py (JPEG mosaic, quality 95 4:4:4) — 37 MB
#   .gpu/vdiff.xz stripped release binary, xz (73 → 11 MB; Burn wgpu speed probe); --no-binary skips it
#   .gpu/runs/    checkpoints of the previous lease to continue from (copy runs/gpu/<kind>/ there)
#   .gl/          Debian's Vulkan loader and GLVND (the GPU machine lacks the loader, and NVIDIA's
#                 Vulkan driver, libGLX_nvidia, needs libGLdispatch from libglvnd0)
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${VDIFF_DATA:-../shared/data/cifar10}
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo /.gpu/ >>.git/info/exclude
grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo /.gl/ >>.git/info/exclude
mkdir -p .gpu .gl
[ -f .gpu/cifar/train.jpg ] || python3 scripts/gpu/pack.py "$data" .gpu/cifar 95
if ! ls .gl/libglvnd0_*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/amd64/partial
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
  apt-get "${o[@]}" update >/dev/null
  (cd .gl && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
if [ "${1:-}" != "--no-binary" ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vdiff-target}"
  cargo build --release --features train
  strip -o .gpu/vdiff "$CARGO_TARGET_DIR/release/vdiff"
  xz -9 -T2 -f .gpu/vdiff
fi
du -sh .gpu .gl
tree=$( (git ls-files -z; git ls-files -z --others --exclude-standard) | xargs -0 du -cb | awk '$2 == "total" {s += $1} END {print s}')
echo "travelling: $(( (tree + $(du -sb .gpu .gl | awk '{s += $1} END {print s}')) / 1048576 )) MiB of 64"
