#!/usr/bin/env bash
# Every test, from a fresh Debian machine with rustup: native (with training), the wasm32
# library build, and (when present) the browser tests. Builds are cached outside the clone.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vdiff-target}"
export CARGO_TERM_PROGRESS_WHEN=never

step() { printf '\n== %s\n' "$*"; }

# The wgpu training test runs on Mesa's software Vulkan adapter (lavapipe) where no GPU is.
if ! ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1; then
  step "Mesa's software Vulkan driver (for the wgpu training test)"
  sudo_="" ; [ "$(id -u)" = 0 ] || sudo_=sudo
  $sudo_ apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq mesa-vulkan-drivers libvulkan1
fi

step "the PyTorch twin's settings against the parity fixtures and the shipped U-Nets"
python3 scripts/gpu/crate_config.py --check

step "native tests (release, --features train)"
cargo test --release --features train

step "wasm32 library build"
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
cargo build --release --target wasm32-unknown-unknown --lib --no-default-features --features flex,webgpu

if [ -x scripts/browser-tests.sh ]; then
  step "browser tests (headless Chromium, WebGPU)"
  scripts/browser-tests.sh
fi
echo "all tests passed"
