#!/usr/bin/env bash
# Refresh tests/fixtures/cubecl/: Burn's kernel choices (CubeCL autotune) for the wgpu tests on
# Mesa's software Vulkan adapter, from this machine's cache after a `scripts/test.sh` run. A
# bare machine's test run starts from them (scripts/test.sh) instead of tuning every kernel;
# keys name the adapter and CubeCL's version, so on another adapter they simply miss.
# Needs sqlite3 (Debian: apt install sqlite3).
set -euo pipefail
cd "$(dirname "$0")/.."
env="${CUBECL_ENVIRONMENT:-software-vulkan-tests}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/cubecl/$env.db"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cp "$cache" "$tmp/seed.db"
[ -f "$cache-wal" ] && cp "$cache-wal" "$tmp/seed.db-wal"
# The tuning results only: the session records are logs.
sqlite3 "$tmp/seed.db" "PRAGMA wal_checkpoint(TRUNCATE); DELETE FROM entries WHERE namespace LIKE 'records/%'; VACUUM;" >/dev/null
mkdir -p tests/fixtures/cubecl
gzip -9 -n -c "$tmp/seed.db" > "tests/fixtures/cubecl/$env.db.gz"
echo "tests/fixtures/cubecl/$env.db.gz: $(sqlite3 "$tmp/seed.db" 'select count(*) from entries') entries"
