#!/usr/bin/env bash
# Tools for the page and its tests, installed once (nothing is downloaded from outside the
# package registries): Chromium + chromedriver (apt), the wasm32 target, wasm-bindgen-cli at
# exactly the version in Cargo.lock, selenium (PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  sudo_="" ; [ "$(id -u)" = 0 ] || sudo_=sudo
  $sudo_ apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq chromium chromium-driver
fi
rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || true
wbg=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p')
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg" ]; then
  cargo install wasm-bindgen-cli --version "=$wbg"
fi
python3 -c 'import selenium' 2>/dev/null || pip install -q selenium
