# Shared by scripts/eval-sweep.sh and eval-class.sh (sourced, not run): the binary ($VDIFF, or
# built here), the output directory $OUT (the first argument), one thread per lane, and
# `resumable NAME FLAGS…`, which runs `vdiff eval --out $OUT/NAME FLAGS…` unless that run's
# eval.csv already exists, so a stopped script continues where it stopped.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vdiff-target}"
[ -n "${VDIFF:-}" ] || cargo build --release --features train --quiet
B="${VDIFF:-$CARGO_TARGET_DIR/release/vdiff}"
OUT="$1"
export RAYON_NUM_THREADS=1
mkdir -p "$OUT"
resumable() {
  local out=$1; shift
  [ -f "$OUT/$out/eval.csv" ] && return 0
  "$B" eval --device cpu --out "$OUT/$out" "$@"
}
