#!/usr/bin/env bash
# Here (the CPU machine), before a GPU lease: what scripts/gpu/webgpu-lease.sh needs to run the
# page's WebGPU module and onnxruntime-web's WebGPU backend under Chrome's WebGPU (Dawn) there.
#
#   scripts/gpu/dawn-setup.sh [--node] [--exact-onnx]
#
# Installs (npm, into ~/.cache/vdiff-dawn, outside the tree): webgpu 0.6.2 (dawn.node, Dawn for
# Node, MIT) and onnxruntime-web 1.30.0 (the version of ../shared/reference/ortweb/); a Python venv
# there with torch (CPU use), onnx and onnxruntime to export the reference's ONNX model once.
# Packs into .gpu/dawn/ (ignored by git through .git/info/exclude, as prepare.sh does):
#   webgpu/            the `webgpu` package's index.js, package.json and dawn.node.xz (21.5 → 4.9 MB)
#   ort/               ort.webgpu.min.mjs, ort-wasm-simd-threaded.asyncify.mjs and .wasm.xz (26.8 → 3.7 MB)
#   onnx/              the U-Net's ONNX (ortweb_onnx.py: bf16-valued f32 weights, xz 2.3 MB; --exact-onnx:
#                      the export as it is, xz 6.0 MB), its inputs and reference output; or, with
#                      --onnx-there, onnx-src/ (export_onnx.py, vdiffusion_ref.py: 20 kB) and the
#                      lease exports it there (its python3 has torch, onnx and onnxruntime)
#   lib/               libstdc++.so.6.xz (GCC 12, 0.6 MB), used there only if dawn.node does not load without it
#   pkg/webgpu/, pkg/webgpu-autotune/, pkg/cpu/: vdiff.js + vdiff_bg.wasm.xz of the wasm-bindgen
#                      --target nodejs packages in /tmp/vdiff-webgpu-node, /tmp/vdiff-webgpu-autotune-node
#                      and /tmp/vdiff-cpu-node, those that exist (see README.md for how they are built)
# With --node, also .gpu/node/node.xz: this machine's node, stripped (99 → 21 MB xz), for a lent
# machine without Node ≥ 18 (webgpu-lease.sh uses it only then).
# Prints each part's size and what a call carrying them with the rest travels (≤ 64 MiB).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
cache=${VDIFF_DAWN_CACHE:-$HOME/.cache/vdiff-dawn}
node_too=0 exact="" there=0
for a in "$@"; do
  case $a in
    --node) node_too=1 ;;
    --exact-onnx) exact=--exact ;;
    --onnx-there) there=1 ;;
    *) echo "usage: dawn-setup.sh [--node] [--exact-onnx | --onnx-there]" >&2; exit 2 ;;
  esac
done

mkdir -p "$cache"
if [ ! -f "$cache/node_modules/webgpu/dist/linux-x64/dawn.node" ] || [ ! -f "$cache/node_modules/onnxruntime-web/dist/ort.webgpu.min.mjs" ]; then
  [ -f "$cache/package.json" ] || echo '{"name": "vdiff-dawn", "private": true}' >"$cache/package.json"
  (cd "$cache" && npm install --no-audit --no-fund --silent webgpu@0.6.2 onnxruntime-web@1.30.0)
fi

ref=${VDIFF_REF_DIR:-$root/../shared/reference}
if [ ! -f "$cache/onnx/unet_c32_no4x4.onnx" ]; then
  if [ ! -x "$cache/venv/bin/python" ]; then
    python3 -m venv "$cache/venv"
    "$cache/venv/bin/pip" install -q torch onnx onnxruntime numpy
  fi
  mkdir -p "$cache/onnx"
  VDIFF_REF_DIR="$ref" ORTWEB_WORK="$cache/onnx" "$cache/venv/bin/python" "$ref/ortweb/export_onnx.py" | grep -E '^params|max_abs_err|^wrote'
fi

grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo /.gpu/ >>.git/info/exclude
rm -rf .gpu/dawn && mkdir -p .gpu/dawn/webgpu .gpu/dawn/ort .gpu/dawn/pkg
xzc() { xz -9e -T2 -c "$1" >"$2"; }  # xzc FILE OUT
xzx() { xz --x86 --lzma2=preset=9e -T2 -c "$1" >"$2"; }  # machine code: the x86 filter saves 3–10 %

w=$cache/node_modules/webgpu
cp "$w/index.js" "$w/package.json" .gpu/dawn/webgpu/
xzx "$w/dist/linux-x64/dawn.node" .gpu/dawn/webgpu/dawn.node.xz
o=$cache/node_modules/onnxruntime-web/dist
cp "$o/ort.webgpu.min.mjs" "$o/ort-wasm-simd-threaded.asyncify.mjs" .gpu/dawn/ort/
xzc "$o/ort-wasm-simd-threaded.asyncify.wasm" .gpu/dawn/ort/ort-wasm-simd-threaded.asyncify.wasm.xz
cp "$cache/node_modules/onnxruntime-web/LICENSE" .gpu/dawn/ort/ 2>/dev/null || true
# dawn.node needs GLIBCXX_3.4.30 (GCC 12's libstdc++): this machine's, for a lent one with an older.
mkdir -p .gpu/dawn/lib
xzx "$(readlink -f "$(gcc -print-file-name=libstdc++.so.6 2>/dev/null || echo /lib/x86_64-linux-gnu/libstdc++.so.6)")" .gpu/dawn/lib/libstdc++.so.6.xz

if [ "$there" = 1 ]; then
  # The lent machine has torch, onnx and onnxruntime: the export runs there (6 s here), 2.3 MB less.
  mkdir -p .gpu/dawn/onnx-src
  cp "$ref/ortweb/export_onnx.py" "$ref/vdiffusion_ref.py" .gpu/dawn/onnx-src/
else
  "$cache/venv/bin/python" scripts/gpu/ortweb_onnx.py "$cache/onnx" .gpu/dawn/onnx $exact
  xz -9e -T2 .gpu/dawn/onnx/unet_c32_no4x4.onnx
fi

missing=()
for p in webgpu:/tmp/vdiff-webgpu-node webgpu-autotune:/tmp/vdiff-webgpu-autotune-node cpu:/tmp/vdiff-cpu-node; do
  name=${p%%:*} dir=${p#*:}
  if [ -f "$dir/vdiff.js" ] && [ -f "$dir/vdiff_bg.wasm" ]; then
    mkdir -p ".gpu/dawn/pkg/$name"
    cp "$dir/vdiff.js" ".gpu/dawn/pkg/$name/"
    xzc "$dir/vdiff_bg.wasm" ".gpu/dawn/pkg/$name/vdiff_bg.wasm.xz"
  else
    missing+=("$name ($dir)")
  fi
done

# What travelled, for the record beside the results.
{
  echo "{\"webgpu\": \"$(node -p "require('$w/package.json').version")\","
  echo " \"onnxruntime-web\": \"$(node -p "require('$o/../package.json').version")\","
  echo " \"node_here\": \"$(node --version)\", \"packed\": \"$(date -u +%FT%TZ)\", \"commit\": \"$(git rev-parse --short HEAD)\","
  echo " \"packages\": {"
  first=1
  for d in .gpu/dawn/pkg/*/; do
    [ -d "$d" ] || continue
    n=$(basename "$d")
    src=/tmp/vdiff-$n-node
    [ $first = 1 ] || echo ","
    first=0
    printf '  "%s": {"from": "%s", "wasm_bytes": %s, "wasm_sha256": "%s", "built": "%s"}' "$n" "$src" \
      "$(stat -c%s "$src/vdiff_bg.wasm")" "$(sha256sum "$src/vdiff_bg.wasm" | cut -c1-64)" "$(date -u -r "$src/vdiff_bg.wasm" +%FT%TZ)"
  done
  echo; echo " }}"
} >.gpu/dawn/versions.json

if [ "$node_too" = 1 ] && ! [ .gpu/node/node.xz -nt "$(command -v node)" ]; then
  mkdir -p .gpu/node
  strip -o .gpu/node/node "$(command -v node)"
  xz --x86 --lzma2=preset=9e -T2 -f .gpu/node/node
fi

echo "== .gpu/dawn (bytes)"
find .gpu/dawn -type f -printf '%s\t%p\n' | sort -k2
[ ${#missing[@]} = 0 ] || echo "not packed (no such package): ${missing[*]}"
mib() { du -sb "$@" 2>/dev/null | awk '{s += $1} END {printf "%.1f", s / 1048576}'; }
tree=$( (git ls-files -z; git ls-files -z --others --exclude-standard) | xargs -0 du -cb 2>/dev/null | awk '$2 == "total" {s += $1} END {print s}')
echo "== MiB: tree $(awk -v t="$tree" 'BEGIN {printf "%.1f", t / 1048576}'), .gpu/dawn $(mib .gpu/dawn)," \
  ".gpu/node $(mib .gpu/node), .gl $(mib .gl), .gpu/vdiff.xz $(mib .gpu/vdiff.xz), .gpu/init $(mib .gpu/init), .gpu/cifar $(mib .gpu/cifar)"
for set in ".gpu/dawn .gpu/node .gl" ".gpu/dawn .gpu/node .gl .gpu/vdiff.xz" ".gpu/dawn .gl .gpu/vdiff.xz" ".gl .gpu/cifar .gpu/init" ".gl .gpu/cifar .gpu/init .gpu/vdiff.xz"; do
  # shellcheck disable=SC2086
  total=$(awk -v t="$tree" -v c="$(mib $set)" 'BEGIN {printf "%.1f", t / 1048576 + c}')
  echo "   carrying $set: $total MiB of 64 with the tree$(awk -v x="$total" 'BEGIN {if (x > 62) print " — too much (keep 2 MiB for the tree to grow)"}')"
done
