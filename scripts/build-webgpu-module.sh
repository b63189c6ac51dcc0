#!/usr/bin/env bash
# The page's WebGPU module (Trunk post_build hook; Trunk itself builds the CPU module).
#
# The worker fetches it only when WebGPU is chosen, so visits on the CPU backend never download
# CubeCL's shader compiler (two thirds of a WebGPU build). Its file names carry a hash of the
# content (as Trunk's do) and the staged index.html names them in <meta name="vdiff-webgpu">.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vdiff-target}"
stage="${TRUNK_STAGING_DIR:?run through trunk (scripts/build-page.sh)}"
profile=wasm-release
cargo build --lib --target wasm32-unknown-unknown --profile "$profile" \
  --no-default-features --features webgpu
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
wasm-bindgen --target web --no-typescript --out-dir "$tmp" --out-name vdiff-webgpu \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$profile/vdiff.wasm"
hash=$(cat "$tmp/vdiff-webgpu.js" "$tmp/vdiff-webgpu_bg.wasm" | sha256sum | cut -c1-16)
name="vdiff-webgpu-$hash"
mv "$tmp/vdiff-webgpu.js" "$stage/$name.js"
mv "$tmp/vdiff-webgpu_bg.wasm" "$stage/${name}_bg.wasm"
sed -i "s|<meta name=\"vdiff-webgpu\" content=\"[^\"]*\"|<meta name=\"vdiff-webgpu\" content=\"$name.js\"|" "$stage/index.html"
grep -q "content=\"$name.js\"" "$stage/index.html" || { echo "index.html has no <meta name=\"vdiff-webgpu\">" >&2; exit 1; }
echo "WebGPU module: $name ($(stat -c %s "$stage/${name}_bg.wasm") bytes)"
