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
// Messages in:  {id, type: "init", cpu, webgpuGlue, manifest} · {id, type: "backend", want}
//               {id, type: "ensure", config} · {id, type: "run", config, part, parts}
//               {type: "cancel"} · {id, type: "grid", config, rgb} (the grid PNG of a run)
//               {id, type: "classify", rgb} (the meter: the classifier loads on first use)
// Messages out: {id, type: "progress", …} while working, then {id, type: "result", …}
//               or {id, type: "error", message, fatal} (fatal: the wasm module trapped).
import { loadModule } from "./modules.js";

let wasm, cpuName, webgpuGlue, gpuWasm = null, manifest, engine = null, engineKey = "", cancelled = false;

const post = (msg, transfer = []) => self.postMessage(msg, transfer);
// A macrotask boundary: lets a "cancel" message in between two steps.
const yieldToEvents = () => new Promise((resolve) => setTimeout(resolve, 0));

const handlers = {
  // The steering-success meter: the crate's CIFAR-10 classifier judges a run's images. Its
  // weights load on first use, after the first grid, so they never delay it.
  async classify({ id, rgb }) {
    await loadMissing(id, engine.missing_classifier());
    return { verdict: await engine.classify(rgb) };
  },

  // The CPU module the page chose and loaded (www/modules.js), and the WebGPU one to load on
  // demand.
  async init({ cpu, webgpuGlue: g, manifest: m }) {
    wasm = await loadModule(cpu.url);
    cpuName = cpu.name;
    [webgpuGlue, manifest] = [g, m];
    return {};
  },

  // Picks the backend ("auto": WebGPU on a hardware adapter, else the CPU) and says why.
  async backend({ id, want }) {
    let gpu = want === "cpu" ? { ok: false, error: "not requested" } : await probeWebGpu();
    const wanted = (want === "webgpu" && gpu.ok) || (want === "auto" && gpu.ok && !gpu.software);
    if (wanted) gpu = await openWebGpu(id);
    let choice, text, warning = "";
    if (wanted && gpu.ok) [choice, text] = ["webgpu", `WebGPU on ${gpu.adapter}`];
    else if (want === "auto" && gpu.ok) [choice, text] = ["cpu", `${cpuName}: the WebGPU adapter is software (${gpu.adapter}), slower than the CPU backend — choose WebGPU to force it`];
    else {
      if (want === "webgpu") warning = `WebGPU is not available (${gpu.error}); running on the CPU backend instead.`;
      [choice, text] = ["cpu", want === "cpu" ? `${cpuName}, as chosen` : `${cpuName}: no WebGPU in this browser (${gpu.error})`];
    }
    if (!engine || engineKey !== choice) {
      engine = new (choice === "webgpu" ? gpuWasm : wasm).Engine(choice, JSON.stringify(manifest));
      engineKey = choice;
    }
    return { backend: choice, text, warning };
  },

  async ensure({ id, config }) {
    await ensureWeights(id, config);
    return {};
  },

  async run({ id, config, part, parts }) {
    cancelled = false;
    await ensureWeights(id, config);
    const run = engine.start(config, part, parts);
    const t0 = performance.now();
    for (;;) {
      await yieldToEvents();
      if (cancelled) { run.free(); return { cancelled: true }; }
      const preview = await run.step();
      if (!preview) break;
      const info = run.info();
      post({ id, type: "progress", step: info, preview }, [preview.buffer]);
    }
    const out = await run.finish();
    const result = { rgb: out.rgb(), labels: out.labels(), positions: out.positions(),
                     rows: out.unet_rows(), seconds: (performance.now() - t0) / 1000, backend: engineKey };
    out.free();
    return result;
  },

  async grid({ config, rgb }) {
    return { grid: engine.grid_png(config, rgb) };
  },
};

// What the browser's WebGPU offers, asked in JS so that the WebGPU module is fetched only when
// it will be used. "software" is wgpu's own test (src/web.rs: a fallback adapter is DeviceType::Cpu).
async function probeWebGpu() {
  if (!self.navigator || !navigator.gpu) return { ok: false, error: "navigator.gpu is missing" };
  try {
    const a = await navigator.gpu.requestAdapter();
    if (!a) return { ok: false, error: "no WebGPU adapter" };
    const info = a.info || {};
    return { ok: true, adapter: info.description || info.vendor || "a WebGPU adapter",
             software: !!(info.isFallbackAdapter ?? a.isFallbackAdapter) };
  } catch (e) { return { ok: false, error: e.message || String(e) }; }
}

// The WebGPU module, fetched and initialised once; its answer is init_webgpu's (src/web.rs).
async function openWebGpu(id) {
  if (!webgpuGlue) return { ok: false, error: "this build of the page has no WebGPU module" };
  try {
    if (!gpuWasm) {
      post({ id, type: "progress", download: { name: "webgpu", fraction: 0, text: "loading the WebGPU engine…" } });
      gpuWasm = await loadModule(webgpuGlue);
    }
    return await gpuWasm.init_webgpu();
  } catch (e) { return { ok: false, error: `the WebGPU module did not load: ${e.message || e}` }; }
}

// Fetch one weights file with progress, through the Cache API keyed by its SHA-256.
async function fetchWeights(entry, onProgress) {
  const url = `weights/${entry.file}`;
  const key = new URL(`${url}?sha256=${entry.sha256}`, self.location.href).href;
  const cache = self.caches ? await caches.open("vdiff-weights") : null;
  const hit = cache && (await cache.match(key));
  if (hit) return [new Uint8Array(await hit.arrayBuffer()), cache, key];
  const resp = await fetch(url);
  if (!resp.ok) throw new Error(`cannot download ${url}: HTTP ${resp.status}`);
  const total = +resp.headers.get("content-length") || entry.bytes;
  const reader = resp.body.getReader();
  const chunks = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value); got += value.length; onProgress(got, total);
  }
  const bytes = new Uint8Array(got);
  let o = 0; for (const c of chunks) { bytes.set(c, o); o += c.length; }
  if (cache) await cache.put(key, new Response(bytes));
  return [bytes, cache, key];
}

async function ensureWeights(id, config) {
  await loadMissing(id, engine.missing(config));
}

async function loadMissing(id, missing) {
  for (const e of missing) {
    const [bytes, cache, key] = await fetchWeights(e, (got, total) => post({ id, type: "progress",
      download: { name: e.name, fraction: got / total, text: `downloading ${e.name} weights: ${(got / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB` } }));
    try { engine.load(e.name, bytes); } catch (err) {
      if (cache) await cache.delete(key);
      throw new Error(`weights ${e.file}: ${err.message}`);
    }
    // Compile the shaders while the next file downloads (Rust says which entries are U-Nets).
    if (e.unet) engine.warm_up(e.name).catch(() => {});
  }
}

self.onmessage = async ({ data: m }) => {
  if (m.type === "cancel") { cancelled = true; return; }
  try {
    const result = await handlers[m.type](m);
    const transfer = [result.rgb, result.grid].filter(Boolean).map((a) => a.buffer);
    post({ id: m.id, type: "result", ...result }, transfer);
  } catch (e) {
    // A trap (a Rust panic under panic = "abort", or memory exhausted) leaves the module's state
    // undefined: the page replaces this worker instead of sending it more work.
    const fatal = e instanceof WebAssembly.RuntimeError;
    const message = e.message || String(e);
    post({ id: m.id, type: "error", message: fatal ? `the wasm module trapped: ${message}` : message, fatal });
  }
};
