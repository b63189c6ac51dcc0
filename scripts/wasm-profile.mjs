// Where the page's CPU module spends a run, in V8 (Chromium's wasm engine) on one thread: the
// module built with function names (`scripts/wasm-profile.sh` builds it and calls this), the
// page's own calls (wasm-page-run.mjs), V8's sampling profiler in-process.
//
//   node scripts/wasm-profile.mjs PKG_DIR WEIGHTS_DIR [N [STEPS [BATCH_LABEL]]]
//
// Prints each Burn op's share of the run (the innermost `burn_flex::ops::<op>` frame of every
// sample, or the crate's own `conv_taps`: everything a convolution calls counts as the
// convolution) and, inside the convolutions, where their time goes (the sampled function
// itself: the crate's kernel, gemm's microkernels and packing, Flex's conv code — layout
// conversion and im2col tiles inlined into `conv3d_f32` —, allocation).
import { Session } from "node:inspector/promises";
import { pageRun } from "./wasm-page-run.mjs";

const [pkg, weights, n = "10", steps = "10"] = process.argv.slice(2);
const run = pageRun(pkg, weights, n, steps);

await run(); // warm-up: wasm tier-up, allocator growth
const session = new Session();
session.connect();
await session.post("Profiler.enable");
await session.post("Profiler.setSamplingInterval", { interval: 200 });
await session.post("Profiler.start");
const t0 = performance.now();
await run();
const seconds = (performance.now() - t0) / 1000;
const { profile } = await session.post("Profiler.stop");

const byId = new Map(profile.nodes.map((x) => [x.id, x]));
const parent = new Map();
for (const x of profile.nodes) for (const c of x.children || []) parent.set(c, x.id);
const opOf = (name) => /vdiff::model::conv_taps::/.test(name) ? "conv" : name.match(/burn_flex::ops::(\w+)::/)?.[1];
const fnKind = (full) => {
  const name = full.replace(/::h[0-9a-f]{16}$/, "");
  return /microkernel/.test(name) ? "gemm microkernels" : /pack_/.test(name) ? "gemm packing"
    : /gemm/.test(name) ? "gemm (other)" : /__rdl_|__rust_alloc|__rust_dealloc|dlmalloc|malloc/.test(name) ? "allocation"
    : /Index.*::index$/.test(name) ? "slice indexing (not inlined)"
    : name.replace(/<([^<>]*)>/g, "$1").split("::").slice(-2).join("::");
};
const ops = new Map(), inConv = new Map();
let total = 0;
const add = (m, k, dt) => m.set(k, (m.get(k) || 0) + dt);
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] || 0;
  total += dt;
  const self = byId.get(id).callFrame.functionName || "(js)";
  let op = null;
  for (let at = id; at !== undefined && !op; at = parent.get(at)) op = opOf(byId.get(at).callFrame.functionName || "");
  if (!op) op = /^\((idle|program|garbage collector)\)$/.test(self) ? self : /vdiff::/.test(self) ? "vdiff (outside Burn's ops)" : "other";
  add(ops, op, dt);
  if (op === "conv") add(inConv, fnKind(self), dt);
});
const pct = (m, of) => [...m].sort((a, b) => b[1] - a[1]).filter(([, v]) => v / of >= 0.005)
  .map(([k, v]) => `${k} ${(100 * v / of).toFixed(1)} %`).join(", ");
console.log(`conditional ddim, N = ${n}, ${steps} steps: ${seconds.toFixed(2)} s, ${(+n * +steps / seconds).toFixed(1)} U-Net rows/s`);
console.log(`by op: ${pct(ops, total)}`);
console.log(`inside the convolutions: ${pct(inConv, ops.get("conv") || 1)}`);
