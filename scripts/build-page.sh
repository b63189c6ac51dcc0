#!/usr/bin/env bash
# Build the static page into dist/ (offline: tools come from scripts/setup-web.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vdiff-target}"
exec python3 scripts/stage-page.py "$@"
