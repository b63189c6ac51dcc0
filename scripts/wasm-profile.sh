#!/usr/bin/env bash
# Profile the page's CPU module in V8 on the page's shapes (scripts/wasm-profile.mjs): builds the
# module with function names, binds it for Node and runs conditional ddim at N = 10 and 100.
#   scripts/wasm-profile.sh [WEIGHTS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vdiff-target}"
weights="$(realpath "${1:-weights}")"
cargo build --profile wasm-cpu-names --target wasm32-unknown-unknown --lib --no-default-features --features flex
pkg="$CARGO_TARGET_DIR/wasm-profile-pkg"
wasm-bindgen --target nodejs --out-dir "$pkg" "$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-cpu-names/vdiff.wasm"
for n in 10 100; do
  node scripts/wasm-profile.mjs "$pkg" "$weights" "$n" "$((n == 10 ? 10 : 2))"
done
