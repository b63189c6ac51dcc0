// The page's glue: form ↔ SampleConfig, weight download (progress, Cache API), the step loop.
// Everything numeric happens in Rust (src/web.rs).
const CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];
const $ = (id) => document.getElementById(id);
let wasm, manifest, engine = null, engineKey = "", cancelRequested = false, busy = false;

function showError(msg) { $("error").textContent = msg || ""; }
function status(msg) { $("backend-status").textContent = msg; }

function readForm() {
  const [model, sampler] = $("method").value.split("/");
  const classes = [...document.querySelectorAll("#classes input:checked")].map((c) => +c.value);
  const until = $("steer-until").value, strength = $("strength").value;
  return { model, sampler, n: +$("n").value, classes, steps: +$("steps").value,
           eta: +$("eta").value, seed: +$("seed").value, w: 0.01, layer: $("layer").value,
           strength: strength === "" ? null : +strength, steer_until: until === "" ? null : +until };
}

function writeForm(c) {
  $("method").value = `${c.sampler === "ddim" ? c.model : "unconditional"}/${c.sampler}`;
  document.querySelectorAll("#classes input").forEach((i) => (i.checked = c.classes.includes(+i.value)));
  $("n").value = c.n; $("steps").value = c.steps; $("eta").value = c.eta; $("seed").value = c.seed;
  $("layer").value = c.layer; $("strength").value = c.strength === null ? "" : c.strength;
  $("steer-until").value = c.steer_until === null ? "" : c.steer_until;
}

// Checks a config in Rust; returns the error text or "".
function problem(c) {
  try { wasm.check_config(JSON.stringify(c)); return ""; } catch (e) { return e.message || String(e); }
}

async function chooseBackend() {
  const want = $("backend").value;
  const gpu = want === "cpu" ? { ok: false, error: "not requested" } : JSON.parse(await wasm.init_webgpu());
  if (want === "webgpu" && gpu.ok) return ["webgpu", `WebGPU on ${gpu.adapter}`];
  if (want === "auto" && gpu.ok && !gpu.software) return ["webgpu", `WebGPU on ${gpu.adapter}`];
  if (want === "auto" && gpu.ok) return ["cpu", `CPU (wasm): the WebGPU adapter is software (${gpu.adapter}), slower than the CPU backend — choose WebGPU to force it`];
  if (want === "webgpu") showError(`WebGPU is not available (${gpu.error}); running on the CPU backend instead.`);
  return ["cpu", want === "cpu" ? "CPU (wasm), as chosen" : `CPU (wasm): no WebGPU in this browser (${gpu.error})`];
}

async function getEngine() {
  const [backend, text] = await chooseBackend();
  if (!engine || engineKey !== backend) {
    engine = new wasm.Engine(backend, JSON.stringify(manifest));
    engineKey = backend;
  }
  status(`Running on ${text}.`);
  return engine;
}

// Fetch one weights file with progress, through the Cache API keyed by its SHA-256.
async function fetchWeights(entry, onProgress) {
  const url = `weights/${entry.file}`;
  const key = `${url}?sha256=${entry.sha256}`;
  const cache = self.caches ? await caches.open("vdiff-weights") : null;
  let resp = cache && (await cache.match(key));
  if (!resp) {
    resp = await fetch(url);
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
  return [new Uint8Array(await resp.arrayBuffer()), cache, key];
}

async function ensureWeights(eng, c) {
  const missing = JSON.parse(eng.missing(JSON.stringify(c)));
  for (const [k, e] of missing.entries()) {
    const [bytes, cache, key] = await fetchWeights(e, (got, total) => {
      $("progress").value = got / total;
      $("progress-text").textContent = `downloading ${e.name} weights: ${(got / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB`;
    });
    try { eng.load(e.name, bytes); } catch (err) {
      if (cache) await cache.delete(key);
      throw new Error(`weights ${e.file}: ${err.message}`);
    }
    // Compile the shaders while the next file downloads.
    if (k === 0 && e.name !== "layer" && !e.name.startsWith("layer")) eng.warm_up(e.name).catch(() => {});
  }
}

function drawRows(canvas, rgb, rows) {
  const cols = Math.min(rows, 20), lines = Math.ceil(rows / cols);
  canvas.width = cols * 32; canvas.height = lines * 32;
  const ctx = canvas.getContext("2d");
  for (let r = 0; r < rows; r++) ctx.putImageData(toImage(rgb, r), (r % cols) * 32, Math.floor(r / cols) * 32);
}

function toImage(rgb, i) {
  const img = new ImageData(32, 32);
  for (let p = 0; p < 1024; p++) {
    img.data[4 * p] = rgb[i * 3072 + 3 * p]; img.data[4 * p + 1] = rgb[i * 3072 + 3 * p + 1];
    img.data[4 * p + 2] = rgb[i * 3072 + 3 * p + 2]; img.data[4 * p + 3] = 255;
  }
  return img;
}

// One run: returns {out, seconds, rows} or null when cancelled.
async function runOnce(c) {
  const eng = await getEngine();
  await ensureWeights(eng, c);
  const run = eng.start(JSON.stringify(c));
  const t0 = performance.now();
  for (;;) {
    if (cancelRequested) return null;
    const preview = await run.step();
    if (!preview) break;
    const info = JSON.parse(run.info());
    drawRows($("preview"), preview, info.rows);
    $("progress").value = (info.i + 1) / info.steps;
    $("progress-text").textContent = `${c.sampler} step ${info.i + 1}/${info.steps} · t = ${info.t.toFixed(3)} · ${info.rows} rows · ${info.unet_rows} U-Net rows so far`;
  }
  const out = await run.finish();
  return { out, seconds: (performance.now() - t0) / 1000, rows: out.unet_rows() };
}

function pngUrl(bytes) { return URL.createObjectURL(new Blob([bytes], { type: "image/png" })); }

function showResult(c, r) {
  const rgb = r.out.rgb(), labels = JSON.parse(r.out.labels()), grid = $("grid");
  grid.textContent = "";
  let row = null, last = null;
  labels.forEach((l, i) => {
    if (l !== last) {
      row = document.createElement("div"); row.className = "class-row"; row.dataset.label = l;
      row.innerHTML = `<span class="label">${l}</span>`; grid.append(row); last = l;
    }
    const cv = document.createElement("canvas");
    cv.width = 32; cv.height = 32; cv.className = "sample"; cv.title = `${l} #${i}`;
    cv.getContext("2d").putImageData(toImage(rgb, i), 0, 0);
    row.append(cv);
  });
  $("stats").innerHTML = `<span id="stat-time">${r.seconds.toFixed(2)} s</span> · <span id="stat-rows">${r.rows}</span> U-Net rows (ddim would use ${c.n * c.steps}) · ${(c.n / r.seconds).toFixed(1)} images/s · ${engineKey}`;
  const dl = $("download"); dl.href = pngUrl(r.out.grid_png()); dl.hidden = false;
  const link = `#${wasm.config_to_fragment(JSON.stringify(c))}&weights=${weightsTag(c)}`;
  history.replaceState(null, "", link);
  const share = $("share"); share.href = location.href; share.hidden = false;
}

function weightsTag(c) {
  const names = c.sampler === "ddim" ? [c.model] : ["unconditional", c.layer];
  return names.map((n) => (manifest.entries[n] ? manifest.entries[n].sha256.slice(0, 12) : "none")).join("-");
}

async function guarded(fn) {
  if (busy) return;
  busy = true; cancelRequested = false; showError("");
  $("generate").disabled = $("compare").disabled = true; $("cancel").disabled = false;
  try { await fn(); } catch (e) { showError(e.message || String(e)); }
  busy = false;
  $("generate").disabled = $("compare").disabled = false; $("cancel").disabled = true;
}

async function generate(ev) {
  ev.preventDefault();
  const c = readForm(), p = problem(c);
  if (p) { showError(p); return; }
  await guarded(async () => {
    const r = await runOnce(c);
    if (!r) { $("progress-text").textContent = "cancelled"; return; }
    showResult(c, r);
  });
}

async function compare() {
  const base = readForm();
  const configs = [{ ...base, model: "conditional", sampler: "ddim" }, { ...base, model: "unconditional", sampler: "v1" },
                   { ...base, model: "unconditional", sampler: "v2" }];
  for (const c of configs) { const p = problem(c); if (p) { showError(`${c.sampler}: ${p}`); return; } }
  await guarded(async () => {
    const box = $("compare-out"); box.textContent = "";
    for (const c of configs) {
      const r = await runOnce(c);
      if (!r) { $("progress-text").textContent = "cancelled"; return; }
      const fig = document.createElement("figure");
      fig.dataset.sampler = c.sampler;
      fig.innerHTML = `<img src="${pngUrl(r.out.grid_png())}" alt="${c.sampler} grid"><figcaption>${c.sampler === "ddim" ? "conditional ddim" : c.sampler}: ${r.seconds.toFixed(2)} s · ${r.rows} U-Net rows</figcaption>`;
      box.append(fig);
    }
  });
}

async function main() {
  wasm = window.wasmBindings;
  $("classes").innerHTML = CLASSES.map((n, i) => `<label><input type="checkbox" value="${i}" checked>${n}</label>`).join("");
  $("all-classes").onclick = () => document.querySelectorAll("#classes input").forEach((i) => (i.checked = true));
  $("controls").onsubmit = generate;
  $("compare").onclick = compare;
  $("cancel").onclick = () => { cancelRequested = true; };
  $("backend").onchange = () => getEngine().catch((e) => showError(e.message));
  try {
    const r = await fetch("weights/manifest.json");
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    manifest = await r.json();
  } catch (e) {
    status("No weights."); showError(`Cannot load weights/manifest.json (${e.message}).`); return;
  }
  if (location.hash.length > 1) {
    try { writeForm(JSON.parse(wasm.config_from_fragment(location.hash.slice(1)))); } catch (e) { showError(`Share link: ${e.message}`); }
    const tag = new URLSearchParams(location.hash.slice(1)).get("weights");
    if (tag && tag !== weightsTag(readForm())) showError("This link was made with other weights; the images will differ.");
  }
  try {
    const eng = await getEngine();
    await guarded(() => ensureWeights(eng, readForm()));
    $("progress-text").textContent = "weights ready";
  } catch (e) { showError(e.message || String(e)); }
  $("generate").disabled = $("compare").disabled = false;
  document.body.dataset.ready = "1";
}

if (window.wasmBindings) main();
else addEventListener("TrunkApplicationStarted", main);
