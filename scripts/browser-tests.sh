#!/usr/bin/env bash
# Browser tests: wasm-bindgen-test on WebGPU in headless Chromium, then the end-to-end test of
# the built page over WebDriver. Installs what is missing (Chromium, wasm-bindgen-cli).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vdiff-target}"
scripts/setup-web.sh

export CHROMEDRIVER=/usr/bin/chromedriver
export WASM_BINDGEN_TEST_TIMEOUT=600
# Each test binary is built with the features and profile of the page module it tests
# (scripts/build-modules.sh), so the two share their dependencies' build.
wasm_test() {
  local test=$1 profile=$2 features=$3
  echo "-- wasm-bindgen-test $test ($features, profile $profile)"
  cargo test --profile "$profile" --target wasm32-unknown-unknown --test "$test" --no-default-features --features "$features"
}
wasm_test web_cpu wasm-cpu relaxed-simd
wasm_test web_webgpu wasm-release webgpu

echo "-- end to end: build the page, serve dist/, drive Chromium"
scripts/build-page.sh
python3 tests/e2e/test_page.py
