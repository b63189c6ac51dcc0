#!/usr/bin/env bash
# The page's wasm modules, added to the page that scripts/stage-page.py stages, built one after
# the other (two of them share a profile, and so the file cargo writes):
# - `vdiff-cpu` (feature `flex`): Burn's Flex backend; the page's own thread and CPU runs use it.
# - `vdiff-cpu-fma` (`relaxed-simd`): the same with fused multiply-adds in the convolution
#   kernel, which the page loads instead where the engine validates relaxed SIMD
#   (www/modules.js): faster, the same images up to float rounding.
# - `vdiff-webgpu` (`webgpu`): the worker fetches it only when WebGPU is chosen, so visits on the
#   CPU backend never download CubeCL's shader compiler (two thirds of a WebGPU build).
# File names carry a hash of the content and the staged index.html names each in
# <meta name="NAME">.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vdiff-target}"
stage="${PAGE_STAGING_DIR:?run through scripts/stage-page.py (scripts/build-page.sh)}"

module() {
  local module=$1 profile=$2 features=$3
  cargo build --lib --target wasm32-unknown-unknown --profile "$profile" \
    --no-default-features --features "$features"
  local tmp; tmp=$(mktemp -d)
  wasm-bindgen --target web --no-typescript --out-dir "$tmp" --out-name "$module" \
    "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$profile/vdiff.wasm"
  local name; name="$module-$(cat "$tmp/$module.js" "$tmp/${module}_bg.wasm" | sha256sum | cut -c1-16)"
  mv "$tmp/$module.js" "$stage/$name.js"
  mv "$tmp/${module}_bg.wasm" "$stage/${name}_bg.wasm"
  rm -rf "$tmp"
  sed -i "s|<meta name=\"$module\" content=\"[^\"]*\"|<meta name=\"$module\" content=\"$name.js\"|" "$stage/index.html"
  grep -q "content=\"$name.js\"" "$stage/index.html" || { echo "index.html has no <meta name=\"$module\">" >&2; exit 1; }
  echo "$module: $name ($(stat -c %s "$stage/${name}_bg.wasm") bytes)"
}

module vdiff-cpu wasm-cpu flex
module vdiff-cpu-fma wasm-cpu relaxed-simd
module vdiff-webgpu wasm-release webgpu
