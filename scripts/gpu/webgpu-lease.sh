#!/usr/bin/env bash
# Runs ON a lent GPU machine (no network, no browser), from the repository root: one call that
# measures, in order, the page's WebGPU module under Chrome's WebGPU (Dawn, dawn-run.mjs: autotune
# off, then on where that build travelled, each beside the page's CPU module), onnxruntime-web's
# WebGPU backend under the same Dawn on the same network (dawn-ortweb.mjs), Burn's own training
# speed (`vdiff train bench --device wgpu`, as lease.sh) and PyTorch's (torch_speed.py), and then
# trains for the minutes left (lease.sh's PyTorch path) — each stage only where its files travelled
# and time is left; a stage that fails or is skipped says why and the next one runs.
#
#   scripts/gpu/webgpu-lease.sh OUT [MINUTES]       (MINUTES: the whole call, default 8)
#
# Prepared here by scripts/gpu/dawn-setup.sh (.gpu/dawn, .gpu/node) and prepare.sh (.gl,
# .gpu/vdiff.xz, .gpu/cifar, .gpu/init); see scripts/gpu/README.md for what to carry (≤ 64 MiB).
# Brings back (≤ 8 files): OUT/lease.log (every stage's lines), OUT/measure.tar.gz (the runners'
# JSON, the images as grid PNGs and raw RGB, PyTorch's and Burn's lines; rewritten after each
# stage) and, when training ran, OUT/{unconditional,conditional}/{ema,model}.safetensors, state.pt.
#
# Settings (environment): DAWN_FLAGS (Dawn's create() flags, default none: Vulkan on Linux),
# FEATURE_LEVEL (core), DAWN_ARGS / ORT_ARGS (more runner options, e.g. "--n 2 --steps 2"),
# GLES_FALLBACK (1: where Dawn finds no core adapter, try its OpenGL ES compatibility adapter),
# BURN_BENCH (`vdiff train bench` options, default lease.sh's "--width 32 --levels 3 --batch 256
# --steps 3"), TORCH_ARGS (default "--batches 256,512"), TRAIN_MIN_S (150: less time left skips training),
# CLASSIFIER_MINUTES (0), TRAIN_ARGS (more train.py options), SKIP (stages to skip, of
# dawn,autotune,ortweb,burn,torch,train), each stage's limit in seconds (DAWN_LIMIT_S 170,
# GLES_LIMIT_S 60, AUTOTUNE_LIMIT_S 150, ORT_LIMIT_S 120, BURN_LIMIT_S 150, TORCH_LIMIT_S 120).
# Dry run on a CPU machine: README.md.
set -uo pipefail
out=${1:?usage: webgpu-lease.sh OUT [MINUTES]}
minutes=${2:-8}
cd "$(dirname "$0")/../.."
mkdir -p "$out"
out=$(cd "$out" && pwd)
log=$out/lease.log
# The runners' files gather outside OUT (at most 8 files come back): OUT gets them as one tarball.
work=${MEASURE_DIR:-/tmp/vdiff-lease-measure}
rm -rf "$work" && mkdir -p "$work"
start=$(date +%s)
deadline=$(( start + $(python3 -c "print(int(float('$minutes') * 60))") ))
say() { echo "$*" | tee -a "$log"; }
left() { echo $(( deadline - $(date +%s) )); }
skip() { [[ ",${SKIP:-}," == *",$1,"* ]]; }
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp} PYTHONUNBUFFERED=1
unxz() { python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"; }
pack() { (cd "$work" && tar czf "$out/measure.tar.gz.tmp" . && mv "$out/measure.tar.gz.tmp" "$out/measure.tar.gz"); }

# stage LABEL LIMIT_S COMMAND…: runs COMMAND with the limit (or the time left, less RESERVE_S),
# its lines prefixed and logged; returns its exit code (99: skipped, no time left).
stage() {
  local label=$1 limit=$2; shift 2
  local room=$(( $(left) - ${RESERVE_S:-10} ))
  if [ "$room" -lt 15 ]; then say "[$label] skipped: $(left) s left"; return 99; fi
  [ "$limit" -gt "$room" ] && limit=$room
  local t0; t0=$(date +%s.%N)
  timeout -k 5 "$limit" "$@" 2>&1 | grep --line-buffered -v 'artificially reduced from' | sed -u "/^\[$label\]/!s/^/[$label] /" | tee -a "$log"
  local rc=${PIPESTATUS[0]}
  say "[$label] exit $rc after $(python3 -c "import time; print(round(time.time() - $t0, 1))") s (limit $limit s)"
  return "$rc"
}

say "== webgpu-lease.sh $minutes min, $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo ?)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$log"

# The Vulkan loader and GLVND the machine lacks (prepare.sh's .gl/; unpacked only where NVIDIA's
# driver is, or with GL_UNPACK=1: elsewhere they would replace the system's).
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if ls .gl/*.deb >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && { [ -f "$icd" ] || [ "${GL_UNPACK:-0}" = 1 ]; }; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
say "vulkan loader: $(ldconfig -p | grep -c 'libvulkan.so.1') · VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"

# Dawn, onnxruntime-web, the model and the wasm packages (.gpu/dawn, dawn-setup.sh) into /tmp.
d=/tmp/vdiff-dawn
rm -rf "$d" && mkdir -p "$d/webgpu/dist/linux-x64" "$d/ort" "$d/onnx" "$d/pkg"
if [ -f .gpu/dawn/webgpu/dawn.node.xz ]; then
  cp .gpu/dawn/webgpu/index.js .gpu/dawn/webgpu/package.json "$d/webgpu/"
  unxz .gpu/dawn/webgpu/dawn.node.xz "$d/webgpu/dist/linux-x64/dawn.node"
  cp .gpu/dawn/ort/*.mjs "$d/ort/" && unxz .gpu/dawn/ort/ort-wasm-simd-threaded.asyncify.wasm.xz "$d/ort/ort-wasm-simd-threaded.asyncify.wasm"
  cp .gpu/dawn/onnx/*.json .gpu/dawn/onnx/*.bin "$d/onnx/" 2>/dev/null
  if [ -f .gpu/dawn/onnx/unet_c32_no4x4.onnx.xz ]; then
    unxz .gpu/dawn/onnx/unet_c32_no4x4.onnx.xz "$d/onnx/unet_c32_no4x4.onnx"
  elif [ -f .gpu/dawn/onnx-src/export_onnx.py ] && ! skip ortweb; then
    # dawn-setup.sh --onnx-there: the reference's export, with this machine's torch and onnx.
    VDIFF_REF_DIR=.gpu/dawn/onnx-src ORTWEB_WORK=$d/onnx timeout 120 python3 .gpu/dawn/onnx-src/export_onnx.py 2>&1 |
      grep -E '^params|max_abs_err|^wrote|Error' | sed 's/^/[onnx export] /' | tee -a "$log"
  fi
  for p in .gpu/dawn/pkg/*/; do
    [ -f "$p/vdiff.js" ] || continue
    n=$(basename "$p")
    mkdir -p "$d/pkg/$n" && cp "$p/vdiff.js" "$d/pkg/$n/" && unxz "$p/vdiff_bg.wasm.xz" "$d/pkg/$n/vdiff_bg.wasm"
  done
  cp .gpu/dawn/versions.json "$work/" 2>/dev/null
  say "dawn: unpacked ($(du -sh "$d" | cut -f1)); packages: $(ls "$d/pkg" | tr '\n' ' ')"
else
  say "dawn: .gpu/dawn did not travel (scripts/gpu/dawn-setup.sh): the WebGPU stages are skipped"
fi

# Node ≥ 18 for dawn.node: the machine's, else the one dawn-setup.sh --node carried.
node=""
for n in "${NODE:-}" "$(command -v node || true)"; do
  [ -n "$n" ] && [ -x "$n" ] && [ "$("$n" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -ge 18 ] && { node=$n; break; }
done
if [ -z "$node" ] && [ -f .gpu/node/node.xz ]; then
  unxz .gpu/node/node.xz "$d/node" && chmod +x "$d/node" && node=$d/node
fi
say "node: ${node:-none} $([ -n "$node" ] && "$node" --version)"

dawn_ok=0
if [ -n "$node" ] && [ -f "$d/webgpu/dist/linux-x64/dawn.node" ]; then
  # dawn.node wants libstdc++ with GLIBCXX_3.4.30 (GCC 12); an older system one is replaced by the
  # one dawn-setup.sh carried.
  load() { "${node_cmd[@]}" -e "require('$d/webgpu/dist/linux-x64/dawn.node')" 2>&1; }
  node_cmd=("$node")
  if why=$(load); then
    dawn_ok=1
  elif [ -f .gpu/dawn/lib/libstdc++.so.6.xz ]; then
    mkdir -p "$d/lib" && unxz .gpu/dawn/lib/libstdc++.so.6.xz "$d/lib/libstdc++.so.6"
    node_cmd=(env "LD_LIBRARY_PATH=$d/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$node")  # for node alone
    if why2=$(load); then dawn_ok=1; say "dawn.node: loads with the carried libstdc++ (without: ${why%%$'\n'*})"
    else say "dawn.node does not load: ${why2%%$'\n'*}"; fi
  else
    say "dawn.node does not load: ${why%%$'\n'*}"
  fi
fi
flags=${DAWN_FLAGS:-}
level=${FEATURE_LEVEL:-core}
cpu_pkg=(--cpu-pkg "$d/pkg/cpu")
[ -f "$d/pkg/cpu/vdiff.js" ] || cpu_pkg=(--no-cpu)
# shellcheck disable=SC2206
dawn_args=(${DAWN_ARGS:-})
# shellcheck disable=SC2206
ort_args=(${ORT_ARGS:-})
runner() {  # runner LABEL LIMIT SCRIPT ARGS…: a Dawn runner with the current adapter flags
  local label=$1 limit=$2 script=$3; shift 3
  local room=$(( $(left) - ${RESERVE_S:-10} ))
  [ "$limit" -gt "$room" ] && limit=$room
  # The runner's own watchdog fires first, so its JSON report says where it was.
  stage "$label" "$limit" "${node_cmd[@]}" "scripts/gpu/$script" --dawn "$d/webgpu" --out "$work" \
    --adapter-flags "$flags" --feature-level "$level" --timeout $(( limit > 20 ? limit - 8 : limit )) "$@"
}

if [ "$dawn_ok" = 1 ] && ! skip dawn; then
  if [ -f "$d/pkg/webgpu/vdiff.js" ]; then
    runner webgpu "${DAWN_LIMIT_S:-170}" dawn-run.mjs --pkg "$d/pkg/webgpu" "${cpu_pkg[@]}" "${dawn_args[@]}"
    rc=$?
    if [ "$rc" = 3 ] && [ "${GLES_FALLBACK:-1}" = 1 ] && [ "$level" = core ]; then
      # No core adapter: Dawn's OpenGL ES adapter (compatibility) on the same GPU, through
      # NVIDIA's EGL. The page's module refuses it (no timestamp-query) but onnxruntime-web runs.
      say "[dawn] no core adapter: trying Dawn's OpenGL ES compatibility adapter"
      [ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
      export EGL_PLATFORM=${EGL_PLATFORM:-surfaceless}
      flags="backend=opengles${flags:+,$flags}" level=compatibility
      runner webgpu-gles "${GLES_LIMIT_S:-60}" dawn-run.mjs --pkg "$d/pkg/webgpu" --no-cpu --label webgpu-gles "${dawn_args[@]}"
    fi
  else
    say "[dawn] skipped: no WebGPU module package in .gpu/dawn/pkg/webgpu"
  fi
  pack
  if [ -f "$d/pkg/webgpu-autotune/vdiff.js" ] && ! skip autotune; then
    runner webgpu-autotune "${AUTOTUNE_LIMIT_S:-150}" dawn-run.mjs --autotune --pkg "$d/pkg/webgpu-autotune" "${cpu_pkg[@]}" --reuse-cpu "${dawn_args[@]}"
    pack
  else
    say "[webgpu-autotune] skipped: $(skip autotune && echo SKIP || echo "no package in .gpu/dawn/pkg/webgpu-autotune")"
  fi
fi
if [ "$dawn_ok" = 1 ] && ! skip ortweb; then
  runner ortweb "${ORT_LIMIT_S:-120}" dawn-ortweb.mjs "${ort_args[@]}"
  pack
fi
[ "$dawn_ok" = 1 ] || say "[dawn] skipped: no node or no dawn.node"

if [ -f .gpu/vdiff.xz ] && ! skip burn; then
  unxz .gpu/vdiff.xz /tmp/vdiff && chmod +x /tmp/vdiff
  # shellcheck disable=SC2086
  stage burn-wgpu "${BURN_LIMIT_S:-150}" /tmp/vdiff train bench --device wgpu ${BURN_BENCH:---width 32 --levels 3 --batch 256 --steps 3} |
    tee "$work/burn-train-bench.txt"
  pack
else
  say "[burn-wgpu] skipped: $(skip burn && echo SKIP || echo ".gpu/vdiff.xz did not travel (prepare.sh --probe)")"
fi
if ! skip torch && python3 -c 'import torch' 2>/dev/null; then
  # shellcheck disable=SC2086
  stage pytorch "${TORCH_LIMIT_S:-120}" python3 scripts/gpu/torch_speed.py ${TORCH_ARGS:---batches 256,512} | tee "$work/torch-speed.txt"
  pack
else
  say "[pytorch] skipped: $(skip torch && echo SKIP || echo "no torch")"
fi

# The minutes left: lease.sh's training (PyTorch, both U-Nets side by side, warm-started).
room=$(( $(left) - ${TRAIN_RESERVE_S:-25} ))
if skip train; then
  say "[train] skipped: SKIP"
elif [ ! -f .gpu/cifar/train.jpg ]; then
  say "[train] skipped: .gpu/cifar did not travel (prepare.sh; with .gpu/dawn and node it exceeds 64 MiB: README.md)"
elif [ "$room" -lt "${TRAIN_MIN_S:-150}" ]; then
  say "[train] skipped: ${room} s left (< TRAIN_MIN_S ${TRAIN_MIN_S:-150})"
else
  train_min=$(python3 -c "print(round($room / 60, 2))")
  say "[train] $train_min minutes"
  # shellcheck disable=SC2086
  BURN_PROBE=0 CLASSIFIER_MINUTES=${CLASSIFIER_MINUTES:-0} timeout -k 10 $(( room + 20 )) \
    bash scripts/gpu/lease.sh "$train_min" "$out" ${TRAIN_ARGS:-}
  say "[train] exit $?"
fi
say "== done after $(( $(date +%s) - start )) s"
cp "$log" "$work/" && pack
ls -la "$out"
