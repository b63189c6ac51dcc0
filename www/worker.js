// The engine, off the page's thread: wasm, backend choice (WebGPU or Flex), weights (download
// with progress, Cache API, SHA-256 checks in Rust), sampling. The page only renders and sends
// commands (ORT-web / transformers.js style), so no run can freeze it.
//
// Two wasm modules: the CPU one (the page's too) loads at init; the WebGPU one (two thirds of
// it CubeCL's shader compiler) only when WebGPU is chosen, so CPU visits never download it.
//
// On the CPU backend the page runs several of these workers, each on a part of a run's rows
// (src/sampler/part.rs): the images do not depend on the split.
//
// On WebGPU one worker runs the whole run, in parts one after another where the adapter's
// buffers cannot hold all its rows at once (the bound comes from Rust: maxRowsFor below): the
// same images, as the CPU workers' parts give. WebGPU is trusted only once its first run agrees
// with the CPU module (webgpu-trust.js): a browser's adapter can run a kernel wrongly without
// saying so, or report a device error; then the worker turns to the CPU and the page runs again.
//
// Messages in:  {id, type: "init", cpu, webgpuGlue, manifest, hooks}
//               {id, type: "backend", want, recheck} (recheck: the user chose WebGPU again)
//               {id, type: "ensure", config} · {id, type: "run", config, part, parts}
//               {type: "cancel"} · {id, type: "grid", config, rgb} (the grid PNG of a run)
//               {id, type: "classify", rgb} (the meter: the classifier loads on first use)
// Messages out: {id, type: "progress", …} while working, then {id, type: "result", …} (a run's
//               is {fallback} when WebGPU lost the worker's trust: the page runs it again)
//               or {id, type: "error", message, fatal} (fatal: the wasm module trapped; the
//               page replaces this worker, and one without an id may come at any time).
import { loadModule } from "./modules.js";
import { concatBytes, fetchWeights } from "./weights.js";
import { deviceFailure, disagreeing, disagreement, greyLevels, probeWebGpu, refusedWithoutTimestampQuery,
         shortfall, TOLERANCE } from "./webgpu-trust.js";

let wasm, cpuName, webgpuGlue, gpuWasm = null, manifestJson, engine = null, engineKey = "", cancelled = false;
// When the page posted its cancel, and when each step of the run began (the same clock).
let cancelPostedAt = Infinity, stepStarts = [];
// The page's test hooks (tests/e2e/test_page.py): {webgpuDisagree, noTimestampQuery}.
let hooks = {};
// The most rows a WebGPU run holds at once on this adapter (Infinity: no limit known).
let gpuMaxRows = Infinity;
// The trap that left this module unusable, once one happened: every later command fails with it.
let trapped = null;
// Whether this worker's first WebGPU run has been checked against the CPU module, and why WebGPU
// is not trusted ("" while it is); the user's choosing WebGPU again checks afresh.
let gpuChecked = false, gpuDistrust = "";
// The CPU engine that checks WebGPU's first run.
let checker = null;

const post = (msg, transfer = []) => self.postMessage(msg, transfer);
const clock = () => performance.timeOrigin + performance.now();
// A task boundary between two steps, queued behind any message the page has posted already: a
// port message shares the page's messages' task source (and so their order), which a timer does
// not, so a step could begin after a cancel that had arrived.
const boundary = new MessageChannel(), pastBoundary = [];
boundary.port1.onmessage = () => pastBoundary.shift()();
const yieldToEvents = () => new Promise((resolve) => {
  pastBoundary.push(resolve);
  boundary.port2.postMessage(null);
});
// The steps that began after the cancel had time to arrive: none, when Cancel stops the run
// within the step under way.
const TRANSIT_MS = 100;
const stepsAfterCancel = () => stepStarts.filter((t) => t > cancelPostedAt + TRANSIT_MS).length;

const handlers = {
  // The steering-success meter: the crate's CIFAR-10 classifier judges a run's images. Its
  // weights load on first use, after the first grid, so they never delay it.
  // (The engine is held from the start: a backend chosen meanwhile does not take its place.)
  async classify({ id, rgb }) {
    const eng = engine;
    await loadMissing(id, eng, eng.missing_classifier());
    return { verdict: await eng.classify(rgb) };
  },

  // The CPU module the page chose and loaded (www/modules.js), and the WebGPU one to load on
  // demand.
  async init({ cpu, webgpuGlue: g, manifest: m, hooks: h }) {
    wasm = await loadModule(cpu.url);
    cpuName = cpu.name;
    // The manifest as the engines read it, written once.
    [webgpuGlue, manifestJson, hooks] = [g, JSON.stringify(m), h || {}];
    return {};
  },

  // Picks the backend and says why: {backend, text (the status line), warning}.
  async backend({ id, want, recheck }) {
    if (recheck) [gpuChecked, gpuDistrust] = [false, ""];
    const [choice, text, warning] = want === "cpu" ? ["cpu", `${cpuName}, as chosen`, ""] : await chooseGpu(id, want);
    if (!engine || engineKey !== choice) {
      engine = new (choice === "webgpu" ? gpuWasm : wasm).Engine(choice, manifestJson);
      engineKey = choice;
    }
    return { backend: choice, text, warning };
  },

  async ensure({ id, config }) {
    await ensureWeights(id, config);
    return {};
  },

  // Part `part` of `parts` (the page's CPU workers; 0 of 1: the whole run). The first WebGPU run
  // is checked against the CPU module before the page sees it.
  async run({ id, config, part, parts }) {
    [cancelled, cancelPostedAt, stepStarts] = [false, Infinity, []];
    const [eng, key] = [engine, engineKey];
    await loadMissing(id, eng, eng.missing(config));
    const t0 = performance.now();
    let result;
    try { result = await runAll(id, eng, key, config, part, parts); } catch (e) {
      if (key !== "webgpu" || !deviceFailure(e)) throw e;
      if (e instanceof WebAssembly.RuntimeError) gpuTrap = `the WebGPU module trapped: ${e.message}`;
      return fallBack(`WebGPU failed (${gpuTrap || e.message || e}); running on the CPU instead`);
    }
    if (!result) return { cancelled: true, stepsAfterCancel: stepsAfterCancel() };
    result = { ...result, seconds: (performance.now() - t0) / 1000, backend: key };
    if (key !== "webgpu" || gpuChecked) return result;
    const why = await checkOnCpu(id, config, hooks.webgpuDisagree ? disagreeing(result) : result);
    if (why === null) return { cancelled: true };
    if (why) return fallBack(why);
    gpuChecked = true;
    return result;
  },

  async grid({ config, rgb }) {
    return { grid: engine.grid_png(config, rgb) };
  },
};

// [backend, status text, warning] for "webgpu" (forced: WebGPU wherever the WebGPU module
// accepts the adapter, else the CPU with a warning) or "auto" (WebGPU only on an adapter that
// serves the module: hardware, core WebGPU, timestamp-query; else the CPU, saying why).
async function chooseGpu(id, want) {
  const failed = (error) => `WebGPU is not available (${error}); running on the CPU backend instead.`;
  const cpu = (why, warning = "") => ["cpu", `${cpuName}: ${why}`, want === "webgpu" ? warning : ""];
  if (gpuDistrust) return cpu(gpuDistrust, `${gpuDistrust}.`);
  const probe = await probeWebGpu(hooks);
  if (!probe.ok) return cpu(`no WebGPU in this browser (${probe.error})`, failed(probe.error));
  const lacks = shortfall(probe);
  if (want === "auto" && lacks) return cpu(lacks + (probe.timestampQuery ? " — choose WebGPU to force it" : ""));
  // The WebGPU module has the last word: it opens the adapter itself (not necessarily the
  // probe's) and refuses one without timestamp-query.
  const gpu = await openWebGpu(id, probe);
  if (!gpu.ok) return cpu(`WebGPU is not available (${gpu.error})`, failed(gpu.error));
  if (want === "auto" && gpu.software) return cpu(`the WebGPU adapter (${gpu.adapter}) is software, slower than the CPU backend — choose WebGPU to force it`);
  return ["webgpu", `WebGPU on ${gpu.adapter}`, ""];
}

// The WebGPU module, fetched and initialised once; its answer is init_webgpu's (src/web.rs),
// refused where the adapter's buffers cannot hold even one row of a run. A trap in it leaves
// this worker on its CPU module, which it does not touch.
let gpuTrap = "";
async function openWebGpu(id, probe) {
  if (!webgpuGlue) return { ok: false, error: "this build of the page has no WebGPU module" };
  if (gpuTrap) return { ok: false, error: gpuTrap };
  try {
    if (!gpuWasm) {
      post({ id, type: "progress", download: { name: "webgpu", fraction: 0, text: "loading the WebGPU engine…" } });
      gpuWasm = await loadModule(webgpuGlue);
    }
    // The test hook that hides timestamp-query answers as Rust does on such an adapter, so
    // the real one is never opened.
    const answer = hooks.noTimestampQuery ? refusedWithoutTimestampQuery(probe.adapter) : await gpuWasm.init_webgpu();
    if (!answer.ok) return answer;
    try { gpuMaxRows = maxRowsFor(); } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) throw e;
      return { ok: false, error: `the WebGPU adapter's buffers cannot hold one row of a run (${e.message || e})` };
    }
    return answer;
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) gpuTrap = `the WebGPU module trapped: ${e.message}`;
    return { ok: false, error: gpuTrap || `the WebGPU module did not load: ${e.message || e}` };
  }
}

// The most rows of a run WebGPU holds at once: Rust's bound from the buffer limits of the
// device init_webgpu opened (Engine.max_rows; it throws where not even one row fits).
function maxRowsFor() {
  const probe = new gpuWasm.Engine("webgpu", manifestJson);
  let rows;
  try { rows = Number(probe.max_rows()); } finally { probe.free(); }
  if (!(rows >= 1)) throw new Error(`the engine says a run may hold ${rows} rows`);
  return Math.floor(rows);
}

// WebGPU lost this worker's trust (`why`): its engine is the CPU's from now on, and the page
// runs the run again there (on all its CPU workers).
function fallBack(why) {
  gpuDistrust = why;
  engine = new wasm.Engine("cpu", manifestJson);
  engineKey = "cpu";
  return { fallback: why, backend: "cpu" };
}

// The CPU module's image at the run's first position (part 0 of N parts: that image alone, as
// the whole run computes it) against the WebGPU run's: why WebGPU cannot be trusted, "" when it
// agrees, or null when cancelled. Its weights are in the Cache API already.
async function checkOnCpu(id, config, run) {
  const say = (fraction, text) => post({ id, type: "progress", download: { name: "check", fraction, text } });
  say(0, "checking WebGPU's first run against the CPU module…");
  checker ??= new wasm.Engine("cpu", manifestJson);
  await loadMissing(id, checker, checker.missing(config), false);
  const ref = await runPart(checker, config, 0, config.n, (info) =>
    say((info.i + 1) / info.steps, `checking WebGPU's first run against the CPU module: step ${info.i + 1}/${info.steps}`));
  if (!ref) return null;
  const levels = greyLevels(run, ref);
  if (levels > TOLERANCE) return disagreement(levels, ref);
  say(1, `WebGPU's first run agrees with the CPU module (within ${levels} grey levels)`);
  return "";
}

// Part `part` of `parts` on engine `eng` (backend `key`). On WebGPU a run of more rows than the
// adapter holds at once runs as parts in turn, placed like the CPU workers' (by `positions`);
// the progress messages say which (`batch`). Null when cancelled.
async function runAll(id, eng, key, config, part, parts) {
  const batches = key === "webgpu" && parts === 1 ? Math.max(1, Math.ceil(config.n / gpuMaxRows)) : 1;
  const outs = [];
  for (let b = 0; b < batches; b++) {
    const batch = batches > 1 ? { index: b, of: batches, rows_before: outs.reduce((a, o) => a + o.rows, 0) } : null;
    const out = await runPart(eng, config, batch ? b : part, batch ? batches : parts,
      (info, preview) => post({ id, type: "progress", step: info, preview, batch }, [preview.buffer]));
    if (!out) return null;
    outs.push(out);
  }
  if (outs.length === 1) return { ...outs[0], batches };
  return { rgb: concatBytes(outs.map((o) => o.rgb)), labels: outs.flatMap((o) => o.labels),
           positions: outs.flatMap((o) => [...o.positions]), rows: outs.reduce((a, o) => a + o.rows, 0), batches };
}

// One part of a run, step by step (`onStep(info, preview)` after each): its images, labels,
// positions and U-Net rows, or null when cancelled. The Run and its Output are freed whatever
// happens.
async function runPart(eng, config, part, parts, onStep) {
  return freeAfter(eng.start(config, part, parts), async (run) => {
    for (;;) {
      await yieldToEvents();
      if (cancelled) return null;
      stepStarts.push(clock());
      const preview = await run.step();
      if (!preview) break;
      onStep(run.info(), preview);
    }
    return freeAfter(await run.finish(), (out) =>
      ({ rgb: out.rgb(), labels: out.labels(), positions: out.positions(), rows: out.unet_rows() }));
  });
}

// `fn(obj)`, then `obj.free()` (a wasm-bindgen object) whatever happened; an error of the free
// itself (after a trap the object may still be borrowed) never hides fn's.
async function freeAfter(obj, fn) {
  let result;
  try { result = await fn(obj); } catch (e) {
    try { obj.free(); } catch { /* fn's error says what went wrong */ }
    throw e;
  }
  obj.free();
  return result;
}

async function ensureWeights(id, config) {
  await loadMissing(id, engine, engine.missing(config));
}

// The manifest entries `missing` into engine `eng`, U-Nets warmed up (`warm`) while the next
// file downloads. Errors name the entry; a trap stays fatal (the page replaces this worker).
async function loadMissing(id, eng, missing, warm = true) {
  for (const e of missing) {
    const what = `weights ${e.name} (${e.file})`;
    const [bytes, cache, key] = await fetchWeights(e, (got, total) => post({ id, type: "progress",
      download: { name: e.name, fraction: got / total, text: `downloading ${e.name} weights: ${(got / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB` } }));
    try { eng.load(e.name, bytes); } catch (err) {
      if (cache) await cache.delete(key);
      if (err instanceof WebAssembly.RuntimeError) throw fatalError(`${what}: the wasm module trapped: ${err.message}`);
      throw new Error(`${what}: ${err.message || err}`);
    }
    // Compile the shaders while the next file downloads (Rust says which entries are U-Nets).
    // A trap there leaves the module unusable: the page hears of it at once.
    if (e.unet && warm) eng.warm_up(e.name).catch((err) => {
      if (!(err instanceof WebAssembly.RuntimeError)) return;
      trapped = fatalError(`warming up ${e.name}: the wasm module trapped: ${err.message}`);
      post({ type: "error", message: trapped.message, fatal: true });
    });
  }
}

function fatalError(message) {
  return Object.assign(new Error(message), { fatal: true });
}

self.onmessage = async ({ data: m }) => {
  if (m.type === "cancel") { [cancelled, cancelPostedAt] = [true, m.at ?? clock()]; return; }
  try {
    if (trapped) throw trapped;
    const result = await handlers[m.type](m);
    const transfer = [result.rgb, result.grid].filter(Boolean).map((a) => a.buffer);
    post({ id: m.id, type: "result", ...result }, transfer);
  } catch (e) {
    // A trap (a Rust panic under panic = "abort", or memory exhausted) leaves the module's state
    // undefined: the page replaces this worker instead of sending it more work.
    const trap = e instanceof WebAssembly.RuntimeError;
    const fatal = trap || e.fatal === true;
    const message = trap ? `the wasm module trapped: ${e.message}` : e.message || String(e);
    if (fatal && !trapped) trapped = fatalError(message);
    post({ id: m.id, type: "error", message, fatal });
  }
};
