#!/usr/bin/env bash
# Every test, from a fresh Debian machine with rustup: native (with training), the docs' links,
# and the browser tests (which build the page's wasm modules). Builds are cached outside the clone.
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

# The wgpu tests' kernel choices (autotune) are kept apart from those a real GPU's runs store
# (cubecl.toml keeps them outside the clone). A machine without any starts from the committed
# ones (scripts/autotune-seed.sh), which spares it tuning every kernel on the software adapter.
export CUBECL_ENVIRONMENT="${CUBECL_ENVIRONMENT:-software-vulkan-tests}"
tuned="${XDG_CACHE_HOME:-$HOME/.cache}/cubecl/$CUBECL_ENVIRONMENT.db"
seed="tests/fixtures/cubecl/$CUBECL_ENVIRONMENT.db.gz"
if [ ! -f "$tuned" ] && [ -f "$seed" ]; then
  mkdir -p "$(dirname "$tuned")" && gzip -dc "$seed" > "$tuned"
fi

step "the PyTorch twin's settings against the parity fixtures and the shipped U-Nets"
python3 scripts/gpu/crate_config.py --check

# release-tests (Cargo.toml): release speed where the tests compute, less build time elsewhere.
step "native tests (profile release-tests, --features train)"
cargo test --profile release-tests --features train --no-run
# The page's tools (scripts/setup-web.sh: a wasm-bindgen-cli build where it is missing) are
# installed while the tests run: the tests leave part of the machine idle, the builds do not.
setup_log=$(mktemp)
scripts/setup-web.sh >"$setup_log" 2>&1 &
setup=$!
cargo test --profile release-tests --features train

step "docs: links, anchors and the README's quick start"
python3 scripts/check-docs.py

step "the page's tools"
wait "$setup" || { cat "$setup_log"; echo "scripts/setup-web.sh failed" >&2; exit 1; }
tail -n 3 "$setup_log"

# The page's modules are the wasm32 builds of the library: building them is the wasm32 check.
step "browser tests (headless Chromium, WebGPU)"
scripts/browser-tests.sh
echo "all tests passed"
