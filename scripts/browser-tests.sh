#!/usr/bin/env bash
# Browser tests: wasm-bindgen-test on WebGPU in headless Chromium, then the end-to-end test of
# the built page over WebDriver. Installs what is missing (Chromium, wasm-bindgen-cli).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vdiff-target}"
scripts/setup-web.sh

export CHROMEDRIVER=/usr/bin/chromedriver
export WASM_BINDGEN_TEST_TIMEOUT=600
echo "-- wasm-bindgen-test (WebGPU on the browser's adapter)"
cargo test --release --target wasm32-unknown-unknown --test web --no-default-features --features flex,webgpu,relaxed-simd

echo "-- end to end: build the page, serve dist/, drive Chromium"
scripts/build-page.sh
python3 tests/e2e/test_page.py
echo "-- the page's CPU backend speed (reported, not asserted; same images every run)"
python3 tests/e2e/page_speed.py --backend cpu
