// Chrome's WebGPU (Dawn, the npm package `webgpu`: dawn.node) as the browser's `navigator.gpu` in
// Node, for scripts/gpu/dawn-run.mjs (the page's WebGPU module) and dawn-ortweb.mjs
// (onnxruntime-web's WebGPU backend).
//
// wgpu's web backend finds `navigator.gpu` through the global's `Window` (or `WorkerGlobalScope`)
// constructor and then `globalThis.navigator`; onnxruntime-web through `navigator.gpu`. Dawn's
// `create(flags)` takes its options as strings: `backend=vulkan|opengles|opengl|null`,
// `adapter=NAME` (a wrong name lists the adapters), `enable-dawn-features=a,b`,
// `disable-dawn-features=a,b` (Dawn's toggles), …
//
// `featureLevel`: "core" (what a browser page gets, and what wgpu and onnxruntime-web ask for)
// or "compatibility" (Dawn's OpenGL ES adapter: requestAdapter is wrapped to ask for it).
import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, homedir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const require = createRequire(import.meta.url);

/// Where dawn.node is looked for: --dawn / $DAWN_NODE (the `webgpu` package's folder, or dawn.node
/// itself), else the unpacked lease copy, else dawn-setup.sh's npm install.
export function dawnCandidates(given) {
  return [
    given,
    process.env.DAWN_NODE,
    "/tmp/vdiff-dawn/dawn.node",
    join(homedir(), ".cache/vdiff-dawn/node_modules/webgpu"),
  ].filter(Boolean);
}

/// `{create, globals, from}` of Dawn, or throws saying where it looked.
export async function loadDawn(given) {
  const tried = [];
  for (const p of dawnCandidates(given)) {
    if (!existsSync(p)) { tried.push(`${p} (missing)`); continue; }
    if (statSync(p).isDirectory()) {
      // The npm package: its index.js also unmaps a destroyed device's buffers (a dawn.node bug).
      const m = await import(pathToFileURL(join(p, "index.js")).href);
      return { create: m.create, globals: m.globals, from: p };
    }
    const m = require(p);
    return { create: m.create, globals: m.globals, from: p };
  }
  throw new Error(`dawn.node not found: tried ${tried.join(", ")}`);
}

/// Dawn's flags from strings such as "backend=vulkan,enable-dawn-features=a,b adapter=NVIDIA H100":
/// split at a comma or space only before the next `key=` (toggle lists and adapter names stay).
export function parseFlags(strings) {
  const out = [];
  for (const s of strings) out.push(...String(s).trim().split(/[,\s]+(?=[a-z-]+=)/).filter(Boolean));
  return out;
}

/// Installs Dawn as `navigator.gpu` with the `Window` global wgpu looks for; returns
/// `{gpu, flags, featureLevel, dawn}`. Keep `gpu` referenced until exit (Dawn keeps Node alive
/// while it lives: the runners end with process.exit).
export async function installDawn({ dawn: given, flags = [], featureLevel = "core" } = {}) {
  const dawn = await loadDawn(given);
  Object.assign(globalThis, dawn.globals);
  unshareQueueWrites(dawn.globals.GPUQueue);
  const native = dawn.create(flags);
  const gpu = featureLevel === "core" ? native : {
    // A plain object with the GPU's members: the wrapped requestAdapter asks for the
    // compatibility feature level (Dawn offers OpenGL ES adapters only there).
    requestAdapter: (options = {}) => native.requestAdapter({ ...options, featureLevel: options?.featureLevel ?? featureLevel }),
    getPreferredCanvasFormat: () => native.getPreferredCanvasFormat(),
    get wgslLanguageFeatures() { return native.wgslLanguageFeatures; },
  };
  const navigator = { gpu, userAgent: `Node.js ${process.version} (dawn.node)`, hardwareConcurrency: availableParallelism() };
  Object.defineProperty(globalThis, "navigator", { value: navigator, configurable: true, writable: true });
  // wgpu's get_browser_gpu_property: `Window` defined → the main thread's `navigator.gpu`.
  if (typeof globalThis.Window === "undefined") globalThis.Window = class Window {};
  return { gpu, native, flags, featureLevel, dawn: dawn.from };
}

/// dawn.node's queue.writeBuffer/writeTexture refuse data on a SharedArrayBuffer ("Invalid
/// argument"), which Chrome takes: onnxruntime-web's threaded wasm builds keep their memory on one
/// (seen 2026-12-07, webgpu 0.6.2). Such data is copied first; the offsets and sizes keep their
/// meaning (same element type).
function unshareQueueWrites(GPUQueue) {
  const p = GPUQueue?.prototype;
  if (!p || p.__vdiffUnshared) return;
  const copy = (d) => {
    if (typeof SharedArrayBuffer === "undefined") return d;
    if (d instanceof SharedArrayBuffer) return new Uint8Array(d).slice().buffer;
    if (ArrayBuffer.isView(d) && d.buffer instanceof SharedArrayBuffer) return new d.constructor(d);
    return d;
  };
  const { writeBuffer, writeTexture } = p;
  p.writeBuffer = function (buffer, offset, data, ...rest) { return writeBuffer.call(this, buffer, offset, copy(data), ...rest); };
  p.writeTexture = function (dst, data, ...rest) { return writeTexture.call(this, dst, copy(data), ...rest); };
  p.__vdiffUnshared = true;
}

/// What Dawn offers for these options, as the page's worker asks it (www/worker.js): info,
/// features and the limits that matter, or null.
export async function describeAdapter(gpu, options = {}) {
  const a = await gpu.requestAdapter(options);
  if (!a) return null;
  const info = a.info || {};
  const l = a.limits;
  return {
    vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description,
    isFallbackAdapter: info.isFallbackAdapter ?? a.isFallbackAdapter, featureLevel: a.featureLevel,
    features: [...a.features].sort(),
    limits: {
      maxBufferSize: l.maxBufferSize, maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    },
  };
}

/// The adapter for the runners' first line, and when none: whether the other feature level has
/// one (so the message says what to try).
export async function probe(gpu, native, featureLevel) {
  const adapter = await describeAdapter(gpu);
  if (adapter) return { adapter };
  const other = featureLevel === "core" ? "compatibility" : "core";
  let hint = "";
  try {
    const alt = await describeAdapter(native, { featureLevel: other });
    if (alt) hint = `; Dawn offers a ${other} adapter (${alt.description || alt.device}): --feature-level ${other}`;
  } catch { /* the hint is optional */ }
  return { adapter: null, error: `Dawn offered no ${featureLevel} adapter${hint}` };
}

/// Seconds since `t0` (performance.now()), 3 decimals.
export const since = (t0) => Math.round(performance.now() - t0) / 1000;

/// A minimal argument parser: --key value, --key=value, --flag (boolean when `booleans` has it).
export function parseArgs(argv, booleans = []) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) { out._.push(a); continue; }
    const eq = a.indexOf("=");
    const key = (eq > 0 ? a.slice(2, eq) : a.slice(2)).replace(/-/g, "_");
    let value;
    if (eq > 0) value = a.slice(eq + 1);
    else if (booleans.includes(key)) value = true;
    else value = argv[++i];
    if (key in out && !booleans.includes(key)) out[key] = [].concat(out[key], value);
    else out[key] = value;
  }
  return out;
}

/// Keeps what goes to console.error (the panic hook's message precedes a trap) for the report.
export function keepConsoleErrors(limit = 50) {
  const kept = [];
  for (const level of ["error", "warn"]) {
    const orig = console[level].bind(console);
    console[level] = (...args) => {
      if (kept.length < limit) kept.push(args.map((a) => (a instanceof Error ? a.stack || a.message : String(a))).join(" ").slice(0, 2000));
      orig(...args);
    };
  }
  return kept;
}
