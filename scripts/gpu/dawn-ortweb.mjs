#!/usr/bin/env node
// onnxruntime-web's WebGPU backend under the same Dawn as scripts/gpu/dawn-run.mjs, on the same
// network: the ONNX export of ../shared/reference/ortweb/ (c = 32, 3 levels, conditional U-Net,
// 1,648,051 parameters; onnxruntime-web 1.30.0, its `webgpu` configuration: ort.webgpu.min.mjs
// with the ort-wasm-simd-threaded.asyncify build, native C++ WebGPU EP, 1 thread) — the anchor.
//
//   node scripts/gpu/dawn-ortweb.mjs [--ort DIR] [--onnx DIR] [--out DIR]
//        [--adapter-flags "backend=vulkan,…"] [--feature-level core|compatibility]
//        [--warmup 2] [--iters 10] [--runs 3] [--no-cpu | --cpu-anyway] [--timeout 240] [--dawn DIR|dawn.node]
//
// --ort: onnxruntime-web's dist folder (ort.webgpu.min.mjs, ort-wasm-simd-threaded.asyncify.{mjs,wasm}),
// default /tmp/vdiff-dawn/ort, else ~/.cache/vdiff-dawn/node_modules/onnxruntime-web/dist.
// --onnx: unet_c32_no4x4.onnx, inputs.json, x_b10.bin, v_ref_b10.bin (dawn-setup.sh), default
// /tmp/vdiff-dawn/onnx, else ~/.cache/vdiff-dawn/onnx.
//
// Measures, as the reference's bench.js does: session creation, the warm-up forwards (the first
// compiles the shaders), the batch-10 forward (mean, median, min of --iters) and 10 / (10 × mean)
// as the 10-step images/s; and a real 10-step DDIM run of batch 10 (10 forwards, each read back
// and the next x computed, as the page's sampler reads one step back), best of --runs. The
// output is checked against v_ref (PyTorch's, or onnxruntime CPU's for the packed model) and,
// with the CPU check on, against onnxruntime-web's own wasm backend (1 thread, also timed).
// Writes OUT/ortweb.json.
//
// Exit codes: 0 ran and agrees · 2 files missing · 3 no Dawn or no adapter · 4 the WebGPU
// backend refused (session creation failed) · 6 another error · 7 WebGPU output off by > 1e-3 ·
// 8 the watchdog fired.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { installDawn, keepConsoleErrors, parseArgs, parseFlags, probe, since } from "./dawn-shim.mjs";

const EXIT = { ok: 0, usage: 2, adapter: 3, refused: 4, error: 6, mismatch: 7, timeout: 8 };
const args = parseArgs(process.argv.slice(2), ["no_cpu", "cpu_anyway", "help"]);
if (args.help) {
  console.log(readFileSync(new URL(import.meta.url), "utf8").split("\nimport ")[0]);
  process.exit(0);
}
const firstDir = (...dirs) => dirs.find((d) => d && existsSync(d)) || dirs.find(Boolean);
const ortDir = resolve(firstDir(args.ort, "/tmp/vdiff-dawn/ort", `${homedir()}/.cache/vdiff-dawn/node_modules/onnxruntime-web/dist`));
const onnxDir = resolve(firstDir(args.onnx, "/tmp/vdiff-dawn/onnx", `${homedir()}/.cache/vdiff-dawn/onnx`));
const out = resolve(args.out || "/tmp/dawn-run");
const flags = parseFlags([].concat(args.adapter_flags || []));
const featureLevel = args.feature_level || "core";
const [warmup, iters, runs, timeout] = [+(args.warmup ?? 2), Math.max(1, +(args.iters ?? 10)), +(args.runs ?? 3), +(args.timeout || 240)];
const label = args.label || "ortweb";

mkdirSync(out, { recursive: true });
const errors = keepConsoleErrors();
const report = { label, ort: ortDir, onnx: onnxDir, node: process.version, dawn_flags: flags, feature_level: featureLevel,
                 started: new Date().toISOString(), stage: "start" };
const say = (...a) => console.log(`[${label}]`, ...a);

function finish(code, reason) {
  Object.assign(report, { exit: code, exit_reason: reason, stage_at_exit: report.stage, console_errors: errors,
                          finished: new Date().toISOString() });
  writeFileSync(`${out}/${label}.json`, JSON.stringify(report, null, 1));
  say(`exit ${code}: ${reason} (report: ${out}/${label}.json)`);
  process.exit(code);
}
const watchdog = setTimeout(() => finish(EXIT.timeout, `watchdog: still at "${report.stage}" after ${timeout} s`), timeout * 1000);
const text = (e) => (e instanceof WebAssembly.RuntimeError ? `the wasm module trapped: ${e.message}` : e?.message || String(e));
process.on("unhandledRejection", (e) => finish(EXIT.error, `unhandled rejection at "${report.stage}": ${text(e)}`));
process.on("uncaughtException", (e) => finish(EXIT.error, `uncaught exception at "${report.stage}": ${text(e)}`));

const stats = (ts) => {
  const s = [...ts].sort((a, b) => a - b);
  const mean = ts.reduce((a, b) => a + b, 0) / ts.length;
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  const r = (v) => Math.round(v * 10) / 10;
  return { mean_ms: r(mean), median_ms: r(median), min_ms: r(s[0]), max_ms: r(s[s.length - 1]) };
};

// The reference's schedule (vdiffusion_ref.get_ddpm_schedule) and a DDIM step (eta 0) on v.
const logSnr = (t) => -Math.log(Math.expm1(1e-4 + 10 * t * t));
function ddimStep(x, v, ls, lsNext) {
  const [a, s] = [Math.sqrt(1 / (1 + Math.exp(-ls))), Math.sqrt(1 / (1 + Math.exp(ls)))];
  const [an, sn] = [Math.sqrt(1 / (1 + Math.exp(-lsNext))), Math.sqrt(1 / (1 + Math.exp(lsNext)))];
  const next = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const pred = x[i] * a - v[i] * s, eps = x[i] * s + v[i] * a;
    next[i] = pred * an + eps * sn;
  }
  return next;
}

function maxAbs(a, b) {
  let m = 0, sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    if (d > m || Number.isNaN(d)) m = d;
  }
  return { max_abs: m, mean_abs: sum / a.length };
}

async function main() {
  const bundle = `${ortDir}/ort.webgpu.min.mjs`;
  for (const f of [bundle, `${ortDir}/ort-wasm-simd-threaded.asyncify.mjs`, `${ortDir}/ort-wasm-simd-threaded.asyncify.wasm`,
                   `${onnxDir}/unet_c32_no4x4.onnx`, `${onnxDir}/inputs.json`]) {
    if (!existsSync(f)) finish(EXIT.usage, `missing ${f} (scripts/gpu/dawn-setup.sh makes it; see scripts/gpu/README.md)`);
  }
  report.stage = "dawn";
  let dawn;
  try { dawn = await installDawn({ dawn: args.dawn, flags, featureLevel }); } catch (e) { finish(EXIT.adapter, `Dawn did not load: ${text(e)}`); }
  report.dawn = dawn.dawn;
  report.stage = "adapter";
  const found = await probe(dawn.gpu, dawn.native, featureLevel);
  report.adapter = found.adapter;
  if (!found.adapter) finish(EXIT.adapter, `${found.error} (flags: ${flags.join(" ") || "none"})`);
  say(`adapter: ${found.adapter.description || found.adapter.device} (featureLevel ${found.adapter.featureLevel ?? featureLevel}); timestamp-query: ${found.adapter.features.includes("timestamp-query")}`);

  report.stage = "import onnxruntime-web";
  const ort = await import(pathToFileURL(bundle).href);
  report.ort_versions = ort.env.versions;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = `${ortDir}/`;
  ort.env.logLevel = "error";  // "warning" adds the usual note that shape ops stay on the CPU

  const inputs = JSON.parse(readFileSync(`${onnxDir}/inputs.json`, "utf8"));
  const B = inputs.batch;
  const x0 = new Float32Array(readFileSync(`${onnxDir}/${inputs.x_file}`).buffer.slice(0));
  const vref = existsSync(`${onnxDir}/${inputs.v_ref_file}`) ? new Float32Array(readFileSync(`${onnxDir}/${inputs.v_ref_file}`).buffer.slice(0)) : null;
  const model = new Uint8Array(readFileSync(`${onnxDir}/unet_c32_no4x4.onnx`));
  Object.assign(report, { batch: B, onnx_bytes: model.byteLength, v_ref_note: inputs.note });
  const feeds = (x, ls) => ({
    x: new ort.Tensor("float32", x, [B, 3, 32, 32]),
    log_snr: new ort.Tensor("float32", Float32Array.from(ls), [B]),
    cond: new ort.Tensor("int64", BigInt64Array.from(inputs.cond.map((c) => BigInt(c))), [B]),
  });

  async function bench(ep) {
    const r = { ep };
    report.stage = `${ep}: session create`;
    const t0 = performance.now();
    let session;
    try {
      session = await ort.InferenceSession.create(model, { executionProviders: [ep], graphOptimizationLevel: "all", logSeverityLevel: 3 });
    } catch (e) {
      r.error = `session creation: ${text(e)}`;
      r.refused = true;
      return r;
    }
    r.session_create_ms = Math.round(performance.now() - t0);
    const run = async (x, ls) => {
      const o = (await session.run(feeds(x, ls)))[session.outputNames[0]];
      return o.location && o.location !== "cpu" ? await o.getData() : o.data;
    };
    try {
      r.warmup_ms = [];
      for (let i = 0; i < Math.max(1, warmup); i++) {
        report.stage = `${ep}: warm-up ${i + 1}`;
        const t = performance.now();
        const v = await run(x0, inputs.log_snr);
        r.warmup_ms.push(Math.round(performance.now() - t));
        if (i === 0) {
          r.v = v;
          if (vref) Object.assign(r, Object.fromEntries(Object.entries(maxAbs(v, vref)).map(([k, val]) => [`${k}_vs_ref`, val])));
        }
      }
      const ts = [];
      for (let i = 0; i < iters; i++) {
        report.stage = `${ep}: forward ${i + 1}`;
        const t = performance.now();
        await run(x0, inputs.log_snr);
        ts.push(performance.now() - t);
      }
      Object.assign(r, stats(ts), { iters });
      r.images_per_s_single_forward = +(B / (r.mean_ms / 1000)).toFixed(2);
      r.images_per_s_10step_sampling = +(B / (10 * r.mean_ms / 1000)).toFixed(3);
      // A real 10-step run: 10 forwards of batch 10, each read back, the next x from it.
      r.run_10step_s = [];
      for (let k = 0; k < runs; k++) {
        report.stage = `${ep}: 10-step run ${k + 1}`;
        const t = performance.now();
        let x = x0;
        for (let i = 0; i < 10; i++) {
          const [ls, lsNext] = [logSnr(1 - i / 10), logSnr(Math.max(1 - (i + 1) / 10, 0.001))];
          x = ddimStep(x, await run(x, new Array(B).fill(ls)), ls, lsNext);
        }
        r.run_10step_s.push(since(t));
      }
      if (runs > 0) r.images_per_s_10step_run = +(B / Math.min(...r.run_10step_s)).toFixed(3);
    } catch (e) {
      r.error = `${report.stage}: ${text(e)}`;
    } finally {
      try { await session.release(); } catch { /* the error above says what went wrong */ }
    }
    return r;
  }

  let code = EXIT.ok, reason = "ran";
  const gpu = await bench("webgpu");
  const gv = gpu.v;
  delete gpu.v;
  report.webgpu = gpu;
  if (gpu.error) {
    [code, reason] = [gpu.refused ? EXIT.refused : EXIT.error, `onnxruntime-web WebGPU: ${gpu.error}`];
    say(reason);
  } else {
    say(`WebGPU: session ${gpu.session_create_ms} ms, first forward ${gpu.warmup_ms[0]} ms; batch-10 forward median ${gpu.median_ms} ms (min ${gpu.min_ms}); ` +
        `${gpu.images_per_s_10step_sampling} images/s for 10 forwards (bench.js's figure)${runs > 0 ? `, ${gpu.images_per_s_10step_run} images/s in a real 10-step run` : ""}; max |v − ref| ${gpu.max_abs_vs_ref}`);
    if (!(gpu.max_abs_vs_ref <= 1e-3)) [code, reason] = [EXIT.mismatch, `WebGPU output off the reference by ${gpu.max_abs_vs_ref}`];
  }
  // After a failed WebGPU session the asyncify build's next session creation was seen to block
  // Node's event loop (2026-12-07, a C++ exception in the middle of an asyncify unwind): the wasm
  // check runs after a WebGPU error only when asked (--cpu-anyway).
  if (gpu.error && !args.cpu_anyway) say("wasm (1 thread): skipped after the WebGPU error (--cpu-anyway runs it)");
  else if (!args.no_cpu) {
    const cpu = await bench("wasm");
    const cv = cpu.v;
    delete cpu.v;
    report.wasm_1t = cpu;
    if (cpu.error) say(`wasm (1 thread): ${cpu.error}`);
    else say(`wasm (1 thread): batch-10 forward median ${cpu.median_ms} ms; ${runs > 0 ? cpu.images_per_s_10step_run : cpu.images_per_s_10step_sampling} images/s for 10 steps; max |v − ref| ${cpu.max_abs_vs_ref}`);
    if (gv && cv) {
      report.webgpu_vs_wasm = maxAbs(gv, cv);
      say(`WebGPU vs wasm: max |Δv| ${report.webgpu_vs_wasm.max_abs}`);
    }
  }
  clearTimeout(watchdog);
  report.stage = "done";
  finish(code, reason);
}

main().catch((e) => finish(EXIT.error, `at "${report.stage}": ${text(e)}`));
