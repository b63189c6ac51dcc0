#!/usr/bin/env bash
# The demo: set up the tools, build the page and serve it on http://127.0.0.1:8080 .
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vdiff-target}"
scripts/setup-web.sh
exec python3 scripts/stage-page.py --serve
