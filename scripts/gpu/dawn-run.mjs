#!/usr/bin/env node
// The page's WebGPU module outside the browser, on Chrome's own WebGPU (Dawn: the npm package
// `webgpu`, dawn.node), through the page's own calls (src/web.rs; www/worker.js drives the same):
// init_webgpu, Engine("webgpu").missing/load/warm_up, start → step… → finish. Then the same
// configs on the page's CPU module (same seed) and the largest difference in grey levels.
//
//   node scripts/gpu/dawn-run.mjs [--pkg DIR] [--cpu-pkg DIR | --no-cpu] [--out DIR]
//        [--adapter-flags "backend=vulkan,…"] [--feature-level core|compatibility]
//        [--autotune] [--methods ddim,v1,v2,v2-page] [--n 10] [--steps 10] [--reps 3]
//        [--weights weights] [--timeout 300] [--dawn DIR|dawn.node] [--label NAME]
//
// --pkg: the WebGPU module bound for Node (`wasm-bindgen --target nodejs`: vdiff.js +
// vdiff_bg.wasm), default /tmp/vdiff-webgpu-node (with --autotune /tmp/vdiff-webgpu-autotune-node:
// autotune is a compile-time feature of the module; --autotune only picks that package and records
// it). --cpu-pkg: the CPU module the same way, default /tmp/vdiff-cpu-node.
//
// Methods (the page's settings: page_schema().defaults, with n and steps set by --n/--steps):
//   ddim     the conditional U-Net, ddim sampler        v1  unconditional + the guide, v1
//   v2       unconditional + the guide, v2 (fan-out)   v2-page  the page's defaults unchanged
// For each: the first run (shader compilation: the page's warm_up runs first, as the page does)
// and the best of --reps steady runs, images/s and U-Net rows/s; images as labelled grid PNGs
// (the page's grid_png) and raw RGB (32·32·3 bytes per image) in --out; OUT/LABEL.json.
//
// Exit codes: 0 all ran and agree with the CPU module · 2 usage, package or weights missing ·
// 3 no Dawn or no adapter · 4 init_webgpu refused the adapter · 5 the module trapped
// (WebAssembly.RuntimeError; the panic message, if any, is printed before it) · 6 a call threw ·
// 7 WebGPU and CPU images differ by more than --tolerance (3) grey levels · 8 the watchdog
// (--timeout seconds) fired.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { installDawn, keepConsoleErrors, parseArgs, parseFlags, probe, since } from "./dawn-shim.mjs";

const require = createRequire(import.meta.url);
const EXIT = { ok: 0, usage: 2, adapter: 3, refused: 4, trap: 5, error: 6, mismatch: 7, timeout: 8 };

const args = parseArgs(process.argv.slice(2), ["autotune", "no_cpu", "no_warm_up", "reuse_cpu", "cpu_anyway", "help"]);
if (args.help) {
  console.log(readFileSync(new URL(import.meta.url), "utf8").split("\nimport ")[0]);
  process.exit(0);
}
const autotune = !!args.autotune;
const label = args.label || (autotune ? "webgpu-autotune" : "webgpu");
const pkg = resolve(args.pkg || process.env.VDIFF_WEBGPU_PKG || (autotune ? "/tmp/vdiff-webgpu-autotune-node" : "/tmp/vdiff-webgpu-node"));
const cpuPkg = args.no_cpu ? null : resolve(args.cpu_pkg || process.env.VDIFF_CPU_PKG || "/tmp/vdiff-cpu-node");
const out = resolve(args.out || "/tmp/dawn-run");
const weights = resolve(args.weights || "weights");
const flags = parseFlags([].concat(args.adapter_flags || []));
const featureLevel = args.feature_level || "core";
const methods = String(args.methods || "ddim,v1,v2,v2-page").split(",").filter(Boolean);
const [n, steps, reps, cpuReps] = [+(args.n || 10), +(args.steps || 10), +(args.reps || 3), +(args.cpu_reps || 1)];
const tolerance = +(args.tolerance ?? 3);
const timeout = +(args.timeout || 300);

mkdirSync(out, { recursive: true });
const errors = keepConsoleErrors();
const report = {
  label, pkg, autotune, cpu_pkg: cpuPkg, weights, node: process.version, dawn_flags: flags,
  feature_level: featureLevel, started: new Date().toISOString(), stage: "start", methods: {},
};
const say = (...a) => console.log(`[${label}]`, ...a);

function finish(code, reason) {
  report.exit = code;
  report.exit_reason = reason;
  report.stage_at_exit = report.stage;
  report.console_errors = errors;
  report.finished = new Date().toISOString();
  writeFileSync(`${out}/${label}.json`, JSON.stringify(report, null, 1));
  say(`exit ${code}: ${reason} (report: ${out}/${label}.json)`);
  // Dawn keeps Node alive while navigator.gpu lives.
  process.exit(code);
}

const watchdog = setTimeout(() => finish(EXIT.timeout, `watchdog: still at "${report.stage}" after ${timeout} s`), timeout * 1000);
const trapOrError = (e) => (e instanceof WebAssembly.RuntimeError ? EXIT.trap : EXIT.error);
const describe = (e) => (e instanceof WebAssembly.RuntimeError ? `the wasm module trapped: ${e.message}` : e?.message || String(e));
process.on("unhandledRejection", (e) => finish(trapOrError(e), `unhandled rejection at "${report.stage}": ${describe(e)}`));
process.on("uncaughtException", (e) => finish(trapOrError(e), `uncaught exception at "${report.stage}": ${describe(e)}`));

function needPackage(dir, what) {
  for (const f of ["vdiff.js", "vdiff_bg.wasm"]) {
    if (!existsSync(`${dir}/${f}`)) finish(EXIT.usage, `${what} package missing: ${dir}/${f} (build: wasm-bindgen --target nodejs; see scripts/gpu/README.md)`);
  }
}

// The configs of the methods: the page's defaults (page_schema) with n/steps set.
function configsOf(mod) {
  const d = mod.page_schema().defaults;
  const all = {
    ddim: { ...d, model: "conditional", sampler: "ddim", n, steps },
    v1: { ...d, sampler: "v1", n, steps },
    v2: { ...d, sampler: "v2", n, steps },
    "v2-page": { ...d },
  };
  const cfgs = {};
  for (const m of methods) {
    if (!all[m]) finish(EXIT.usage, `unknown method ${m} (ddim, v1, v2, v2-page)`);
    mod.check_config(all[m]);
    cfgs[m] = all[m];
  }
  return cfgs;
}

function loadWeights(engine, cfgs) {
  const t0 = performance.now();
  const loaded = [];
  for (const cfg of Object.values(cfgs)) {
    for (const e of engine.missing(cfg)) {
      engine.load(e.name, readFileSync(`${weights}/${e.file}`));
      loaded.push({ name: e.name, unet: e.unet });
    }
  }
  return { loaded, seconds: since(t0) };
}

// One whole run through the page's calls, in parts where the engine's buffers cannot hold all
// rows (as www/worker.js does): the images in run order, seconds, U-Net rows, per-step seconds.
async function runOnce(engine, cfg) {
  const maxRows = engine.max_rows();
  const parts = Math.max(1, Math.ceil(cfg.n / maxRows));
  const rgb = new Uint8Array(cfg.n * 3072);
  let unetRows = 0;
  const stepTimes = [];
  const t0 = performance.now();
  for (let p = 0; p < parts; p++) {
    const run = engine.start(cfg, p, parts);
    try {
      for (;;) {
        const ts = performance.now();
        const preview = await run.step();
        if (!preview) break;
        stepTimes.push(since(ts));
      }
      const o = await run.finish();
      const bytes = o.rgb();
      const positions = o.positions();
      positions.forEach((pos, i) => rgb.set(bytes.subarray(i * 3072, (i + 1) * 3072), pos * 3072));
      unetRows += o.unet_rows();
      o.free();
    } finally {
      try { run.free(); } catch { /* freed by finish, or borrowed after a trap */ }
    }
  }
  return { rgb, seconds: since(t0), unet_rows: unetRows, parts, step_s: stepTimes };
}

// The first run and the best of `count` more (all when count = 0: the first only).
async function measure(engine, cfg, count, tag) {
  report.stage = `${tag}: first run`;
  const first = await runOnce(engine, cfg);
  const times = [];
  for (let r = 0; r < count; r++) {
    report.stage = `${tag}: run ${r + 2}`;
    times.push((await runOnce(engine, cfg)).seconds);
  }
  const best = Math.min(first.seconds, ...times);
  return {
    rgb: first.rgb,
    figures: {
      first_run_s: first.seconds, first_run_step_s: first.step_s, steady_s: times, best_s: best,
      images_per_s: +(cfg.n / best).toFixed(3), unet_rows: first.unet_rows, unet_rows_per_s: +(first.unet_rows / best).toFixed(1),
      parts: first.parts,
    },
  };
}

function writeImages(engine, cfg, rgb, name) {
  writeFileSync(`${out}/${name}.rgb`, rgb);
  try { writeFileSync(`${out}/${name}.png`, engine.grid_png(cfg, rgb)); } catch (e) { say(`grid_png for ${name}: ${describe(e)}`); }
}

function compare(a, b) {
  let max = 0, sum = 0, over = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    sum += d;
    if (d > max) max = d;
    if (d > tolerance) over++;
  }
  return { max_abs: max, mean_abs: +(sum / a.length).toFixed(4), values_over_tolerance: over, tolerance, ok: max <= tolerance };
}

async function main() {
  if (!existsSync(`${weights}/manifest.json`)) finish(EXIT.usage, `no ${weights}/manifest.json (--weights DIR)`);
  const manifest = readFileSync(`${weights}/manifest.json`, "utf8");

  report.stage = "dawn";
  let dawn;
  try {
    dawn = await installDawn({ dawn: args.dawn, flags, featureLevel });
  } catch (e) {
    finish(EXIT.adapter, `Dawn did not load: ${describe(e)}`);
  }
  report.dawn = dawn.dawn;
  report.stage = "adapter";
  const found = await probe(dawn.gpu, dawn.native, featureLevel);
  report.adapter = found.adapter;
  if (!found.adapter) finish(EXIT.adapter, `${found.error} (flags: ${flags.join(" ") || "none"}; Dawn's own messages, if any, are above on stderr)`);
  const a = found.adapter;
  say(`adapter: ${a.description || a.device || "?"} (vendor ${a.vendor || "?"}, ${a.architecture || "?"}, featureLevel ${a.featureLevel ?? featureLevel}, fallback ${a.isFallbackAdapter}); timestamp-query: ${a.features.includes("timestamp-query")}; features: ${a.features.join(" ")}`);

  needPackage(pkg, "WebGPU module");
  if (cpuPkg) needPackage(cpuPkg, "CPU module");
  report.stage = "load WebGPU module";
  let mod;
  try {
    mod = require(`${pkg}/vdiff.js`);
  } catch (e) {
    finish(trapOrError(e) === EXIT.trap ? EXIT.trap : EXIT.usage, `the WebGPU module did not load: ${describe(e)}`);
  }
  const backends = mod.backends();
  report.backends = backends;
  if (!backends.includes("webgpu") || !mod.init_webgpu) finish(EXIT.usage, `${pkg} is not the WebGPU module (backends: ${backends.join(", ")})`);

  report.stage = "init_webgpu";
  const t0 = performance.now();
  let answer;
  try {
    answer = await mod.init_webgpu();
  } catch (e) {
    finish(trapOrError(e), `init_webgpu: ${describe(e)}`);
  }
  report.init_webgpu = answer;
  report.init_webgpu_s = since(t0);
  say(`init_webgpu (${report.init_webgpu_s} s): ${JSON.stringify(answer)}`);
  const cfgs = configsOf(mod);
  report.configs = Object.fromEntries(Object.entries(cfgs).map(([m, c]) => [m, { config: c, fragment: mod.config_to_fragment(c) }]));
  let code = EXIT.ok, reason = "all ran";
  const fail = (c, r) => { if (code === EXIT.ok || c === EXIT.trap) [code, reason] = [c, r]; say(r); };

  const gpuImages = {};
  if (!answer.ok) {
    [code, reason] = [EXIT.refused, `init_webgpu refused the adapter: ${answer.error}`];
    if (!args.cpu_anyway) finish(code, reason);
    say(reason);
  } else {
    try {
      report.stage = "WebGPU engine";
      const engine = new mod.Engine("webgpu", manifest);
      report.max_rows = engine.max_rows();
      report.stage = "WebGPU weights";
      report.webgpu_load = loadWeights(engine, cfgs);
      if (!args.no_warm_up) {
        report.warm_up_s = {};
        for (const { name, unet } of report.webgpu_load.loaded) {
          if (!unet) continue;
          report.stage = `WebGPU warm_up ${name}`;
          const tw = performance.now();
          await engine.warm_up(name);
          report.warm_up_s[name] = since(tw);
        }
        say(`warm_up (the page's, while weights download): ${JSON.stringify(report.warm_up_s)}`);
      }
      for (const [m, cfg] of Object.entries(cfgs)) {
        try {
          const { rgb, figures } = await measure(engine, cfg, reps, `WebGPU ${m}`);
          gpuImages[m] = rgb;
          report.methods[m] = { webgpu: figures };
          writeImages(engine, cfg, rgb, `${label}-${m}`);
          say(`${m}: first run ${figures.first_run_s} s, best ${figures.best_s} s of ${reps + 1}: ${figures.images_per_s} images/s (${figures.unet_rows} U-Net rows, ${figures.unet_rows_per_s} rows/s)`);
        } catch (e) {
          report.methods[m] = { webgpu: { error: describe(e), stage: report.stage } };
          fail(trapOrError(e), `${m} on WebGPU at "${report.stage}": ${describe(e)}`);
          if (e instanceof WebAssembly.RuntimeError) break;  // the module's state is gone
        }
      }
    } catch (e) {
      fail(trapOrError(e), `WebGPU at "${report.stage}": ${describe(e)}`);
    }
  }

  if (cpuPkg) {
    try {
      report.stage = "CPU module";
      const cpu = require(`${cpuPkg}/vdiff.js`);
      const engine = new cpu.Engine("cpu", manifest);
      report.stage = "CPU weights";
      report.cpu_load = loadWeights(engine, cfgs);
      // Earlier CPU images of the same config (e.g. the run before with autotune off) are reused.
      const previous = existsSync(`${out}/cpu.json`) ? JSON.parse(readFileSync(`${out}/cpu.json`, "utf8")) : {};
      const cpuReport = {};
      for (const [m, cfg] of Object.entries(cfgs)) {
        if (!gpuImages[m] && answer.ok) continue;
        const fragment = report.configs[m].fragment;
        report.methods[m] ??= {};
        let rgb;
        if (args.reuse_cpu && previous[m]?.fragment === fragment && existsSync(`${out}/cpu-${m}.rgb`)) {
          rgb = new Uint8Array(readFileSync(`${out}/cpu-${m}.rgb`));
          report.methods[m].cpu = { ...previous[m].figures, reused: true };
        } else {
          const r = await measure(engine, cfg, Math.max(0, cpuReps - 1), `CPU ${m}`);
          rgb = r.rgb;
          report.methods[m].cpu = r.figures;
          writeImages(engine, cfg, rgb, `cpu-${m}`);
          say(`${m} on the CPU module: best ${r.figures.best_s} s: ${r.figures.images_per_s} images/s`);
        }
        cpuReport[m] = { fragment, figures: report.methods[m].cpu };
        if (gpuImages[m]) {
          const c = compare(gpuImages[m], rgb);
          report.methods[m].webgpu_vs_cpu = c;
          say(`${m}: WebGPU vs CPU: max |Δ| ${c.max_abs} grey levels, mean ${c.mean_abs}, ${c.values_over_tolerance} values over ${tolerance}`);
          if (!c.ok) fail(EXIT.mismatch, `${m}: WebGPU and CPU images differ by up to ${c.max_abs} grey levels (> ${tolerance})`);
        }
      }
      writeFileSync(`${out}/cpu.json`, JSON.stringify({ ...previous, ...cpuReport }, null, 1));
    } catch (e) {
      fail(EXIT.error, `the CPU module at "${report.stage}": ${describe(e)}`);
    }
  }
  clearTimeout(watchdog);
  report.stage = "done";
  finish(code, reason);
}

main().catch((e) => finish(trapOrError(e), `at "${report.stage}": ${describe(e)}`));
