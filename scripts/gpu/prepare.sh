#!/usr/bin/env bash
# Here (the CPU machine), before a GPU lease: put everything the lease needs into .gpu/ and .gl/
# (both ignored by git, carried by the device call), ≤ 64 MiB with the working tree.
#   .gpu/cifar/   CIFAR-10 packed by pack.py (JPEG mosaic, quality 95 4:4:4) — 37 MB
#   .gpu/init/    the committed U-Nets in notebook names, f16 (2 × 3.3 MB): the next lease
#                 warm-starts from them. A lease's full checkpoints (model, EMA, Adam: 53 MB for
#                 both U-Nets) do not fit beside the data within 64 MiB; lease.sh resumes them
#                 from .gpu/runs/<kind>/ where a machine allows more.
#   .gpu/vdiff.xz with --probe: stripped release binary, xz (73 → 11 MB), Burn's wgpu speed probe
#   .gpu/burn/    with --burn (nothing else then): the builds burn-speed.sh compares, stripped,
#                 xz: fused (the crate's build: fusion + autotune), plain (neither), spirv
#                 (fusion + autotune, SPIR-V). Three builds of Burn: the first time, an hour here.
#   .gl/          Debian's Vulkan loader and GLVND (the GPU machine lacks the loader, and NVIDIA's
#                 Vulkan driver, libGLX_nvidia, needs libGLdispatch from libglvnd0)
#   with --webgpu (for webgpu-lease.sh; no data, no init): .gl, .gpu/vdiff.xz as --probe, and
#                 scripts/gpu/dawn-setup.sh --node (.gpu/dawn: Dawn, onnxruntime-web, the ONNX
#                 model, the page's wasm packages from /tmp/vdiff-*-node; .gpu/node: node, xz)
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${VDIFF_DATA:-../shared/data/cifar10}
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo /.gpu/ >>.git/info/exclude
grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo /.gl/ >>.git/info/exclude
mkdir -p .gpu .gl
[ "${1:-}" = "--burn" ] || [ "${1:-}" = "--webgpu" ] || [ -f .gpu/cifar/train.jpg ] || python3 scripts/gpu/pack.py "$data" .gpu/cifar 95
if ! ls .gl/libglvnd0_*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/amd64/partial
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
  apt-get "${o[@]}" update >/dev/null
  (cd .gl && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vdiff-target}"
vdiff="$CARGO_TARGET_DIR/release/vdiff"
if [ "${1:-}" = "--burn" ]; then
  rm -rf .gpu/burn && mkdir -p .gpu/burn
  build() {  # build NAME CARGO-FEATURE-ARGS…
    local name=$1; shift
    cargo build --release "$@"
    strip -o ".gpu/burn/$name" "$vdiff"
    xz -9 -T2 -f ".gpu/burn/$name"
  }
  build plain --no-default-features --features cli,train
  build spirv --features train,spirv
  build fused --features train  # last: the default build stays in the target directory
  du -sh .gpu/burn .gl
  exit 0
fi
cargo build --release --features train
if [ "${1:-}" = "--webgpu" ]; then
  rm -f .gpu/vdiff.xz
  strip -o .gpu/vdiff "$vdiff"
  xz --x86 --lzma2=preset=9e -T2 -f .gpu/vdiff  # x86 filter: 5 % smaller than plain -9
  exec bash scripts/gpu/dawn-setup.sh --node  # prints the sizes of every carry set
fi
rm -rf .gpu/init .gpu/vdiff.xz
mkdir -p .gpu/init
for kind in unconditional conditional; do
  "$vdiff" export-torch --model "$kind" --out ".gpu/init/$kind.safetensors"
done
if [ "${1:-}" = "--probe" ]; then
  strip -o .gpu/vdiff "$vdiff"
  xz -9 -T2 -f .gpu/vdiff
fi
du -sh .gpu .gl
tree=$( (git ls-files -z; git ls-files -z --others --exclude-standard) | xargs -0 du -cb | awk '$2 == "total" {s += $1} END {print s}')
echo "travelling: $(( (tree + $(du -sb .gpu .gl | awk '{s += $1} END {print s}')) / 1048576 )) MiB of 64"
