// The page: form ↔ SampleConfig, rendering, share links. The engine (weights, backend, the
// step loop) runs in Web Workers (worker.js), so the page answers clicks throughout a run;
// everything numeric happens in Rust (src/web.rs), in the workers. On the CPU backend a run's
// rows are split across several workers, one per core; on WebGPU one worker drives the GPU.
import { builtModule, cpuModule, loadModule } from "./modules.js";

const $ = (id) => document.getElementById(id);
const CPU = cpuModule();
// What the form offers comes from Rust (src/sampler/schema.rs): choices, labels, limits,
// defaults, and which settings apply to which sampler.
let wasm, schema, manifest, engineKey = "", busy = false, cancelRequested = false;
const steering = (name) => schema.steering.find((l) => l.name === name);
const applies = (setting, sampler) => schema.applies.some(([s, samplers]) => s === setting && samplers.includes(sampler));

function showError(msg) { $("error").textContent = msg || ""; }
function status(msg) { $("backend-status").textContent = msg; }

// An optional number field: "" ↔ null.
const optional = (id) => ($(id).value === "" ? null : +$(id).value);
const showOptional = (id, v) => ($(id).value = v === null || v === undefined ? "" : v);

function readForm() {
  const { model, sampler } = schema.methods.find((m) => m.value === $("method").value);
  const classes = [...document.querySelectorAll("#classes input:checked")].map((c) => +c.value);
  const network = $("steering").value, paper = $("schedule").value === "paper";
  // The fade and fan-eta mean something only where they act, so other links do not carry them;
  // an empty fade is the steering network's own (Rust: SteeringKind::default_fade).
  return { model, sampler, n: +$("n").value, classes, steps: +$("steps").value,
           eta: +$("eta").value, seed: +$("seed").value, w: +$("w").value, steering: network,
           strength: optional("strength"), steer_until: paper ? optional("steer-until") : null,
           fade: !applies("fade", sampler) || paper ? null : optional("fade") ?? steering(network).fade,
           solver: $("solver").value, fan_eta: applies("fan_eta", sampler) ? optional("fan-eta") : null };
}

// The form's menus, limits and initial values, from the schema.
function buildForm() {
  const options = (id, items) => ($(id).innerHTML = items.map(([v, l]) => `<option value="${v}">${l}</option>`).join(""));
  options("method", schema.methods.map((m) => [m.value, m.label]));
  options("steering", schema.steering.map((l) => [l.name, l.label]));
  options("solver", schema.solvers.map((s) => [s.name, s.label]));
  $("classes").innerHTML = schema.classes.map((n, i) => `<label><input type="checkbox" value="${i}" checked>${n}</label>`).join("");
  const limits = { n: "n", steps: "steps", eta: "eta", strength: "strength", fade: "fade", "fan-eta": "fan_eta", w: "w", seed: "seed", "steer-until": "steps" };
  for (const [id, key] of Object.entries(limits)) {
    const r = schema.limits[key];
    $(id).min = r.min;
    if (r.max !== null) $(id).max = r.max;
  }
  $("workers").max = schema.max_workers;
  $("workers").value = Math.min(navigator.hardwareConcurrency || 1, schema.default_workers_cap);
  writeForm(schema.defaults);
  // An empty fade follows the chosen network (its own default), as a visitor expects when
  // switching networks.
  if (schema.defaults.fade === steering(schema.defaults.steering).fade) $("fade").value = "";
}

function writeForm(c) {
  $("method").value = `${entries(c)[0]}/${c.sampler}`;
  document.querySelectorAll("#classes input").forEach((i) => (i.checked = c.classes.includes(+i.value)));
  $("n").value = c.n; $("steps").value = c.steps; $("eta").value = c.eta; $("seed").value = c.seed;
  $("w").value = c.w; $("steering").value = c.steering; $("solver").value = c.solver;
  showOptional("strength", c.strength); showOptional("steer-until", c.steer_until);
  // A steered link without a fade uses the paper's rule (links made before the fade existed
  // too); one without fan_eta runs v2's fan-out at the run's eta.
  if (c.sampler !== "ddim") { $("schedule").value = c.fade === null ? "paper" : "fade"; showOptional("fade", c.fade); }
  showOptional("fan-eta", c.fan_eta);
  showDefaults();
}

// The placeholders say what an empty strength or fade means for the chosen network.
function showDefaults() {
  const d = steering($("steering").value);
  const below = d.full_strength_steps ? `; × steps/${d.full_strength_steps} below ${d.full_strength_steps} steps` : "";
  $("strength").placeholder = `network's default (${d.strength}${below})`;
  $("fade").placeholder = `network's default (${d.fade})`;
}

// Checks a config in Rust; returns the error text or "".
function problem(c) {
  try { wasm.check_config(c); return ""; } catch (e) { return e.message || String(e); }
}

// One engine in one Web Worker (worker.js): `call` sends it a command and resolves with its
// result, passing progress messages to `onProgress` on the way.
class EngineWorker {
  constructor(onStopped) {
    this.pending = new Map(); this.nextId = 1; this.onStopped = onStopped;
    this.worker = new Worker("worker.js", { type: "module" });
    this.worker.onmessage = ({ data: m }) => {
      // The wasm module trapped: it cannot be used again.
      if (m.type === "error" && m.fatal) { this.stop(m.message); return; }
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.type === "progress") { p.onProgress(m); return; }
      this.pending.delete(m.id);
      if (m.type === "error") p.reject(new Error(m.message)); else p.resolve(m);
    };
    // An error outside the worker's handlers (its script failed) stops it too.
    this.worker.onerror = (e) => { e.preventDefault(); this.stop(e.message); };
  }

  // Every pending call ends (the run's buttons come free) and the page replaces the worker.
  stop(why) {
    const stopped = new Error(`the engine stopped (${why}); it has been restarted, so the next run starts afresh`);
    for (const p of this.pending.values()) p.reject(stopped);
    this.pending.clear();
    this.worker.terminate();
    this.onStopped(this, stopped);
  }

  call(msg, onProgress = () => {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ ...msg, id });
    });
  }

  cancel() { this.worker.postMessage({ type: "cancel" }); }

  // The same CPU module the page loaded (HTTP-cached, compiled again there).
  init() {
    return this.call({ type: "init", cpu: CPU, webgpuGlue: builtModule("vdiff-webgpu"), manifest });
  }
}

// engines[0] chooses the backend, loads weights ahead, classifies and draws the grid PNG; the
// others join it for CPU runs, started on first need.
let engines = [];
const call = (msg, onProgress) => engines[0].call(msg, onProgress);

// A stopped worker is replaced: the first at once (it holds the backend choice; a run waits
// for it), the others when a run next needs them.
let restarting = Promise.resolve();
function engineStopped(e, err) {
  showError(err.message);
  const k = engines.indexOf(e);
  if (k < 0) return;
  engines.forEach((other) => other !== e && other.cancel());
  if (k > 0) { engines.splice(k, 1); return; }
  engines[0] = new EngineWorker(engineStopped);
  restarting = engines[0].init().then(chooseBackend)
    .catch((x) => showError(`${err.message}; restarting it failed: ${x.message || x}`));
}

function startWorker() {
  engines = [new EngineWorker(engineStopped)];
  return engines[0].init();
}

// Workers for a CPU run of `parts` parts: started, on the CPU backend.
async function cpuEngines(parts) {
  while (engines.length < parts) {
    const e = new EngineWorker(engineStopped);
    engines.push(e);
    await e.init();
    await e.call({ type: "backend", want: "cpu" });
  }
  return engines.slice(0, parts);
}

// CPU workers a run uses: the form's count (one per core by default), never more than N.
function workerCount(c) {
  return engineKey === "cpu" ? Math.max(1, Math.min(+$("workers").value || 1, schema.max_workers, c.n)) : 1;
}

async function chooseBackend() {
  const r = await call({ type: "backend", want: $("backend").value }, showDownload);
  if (r.warning) showError(r.warning);
  engineKey = r.backend;
  status(`Running on ${r.text}.`);
}

function showDownload(m) {
  if (!m.download) return;
  $("progress").value = m.download.fraction;
  $("progress-text").textContent = m.download.text;
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

// v2's fan-out, step by step: one bar per step, its height the U-Net rows on a log scale
// (1 → k → … → N), the steps done so far lit, and the rows saved against ddim. The plan comes
// from Rust (SampleConfig::unet_rows_per_step), the progress from the worker's step messages.
function fanoutPlan(c) {
  return c.sampler === "v2" ? wasm.row_counts(c) : null;
}

function showFanout(c, plan, done, rowsSoFar) {
  const box = $("fanout");
  box.hidden = !plan;
  if (!plan) return;
  const top = Math.log(Math.max(2, c.n));
  // Past the fan-out every step has N rows: long runs show those as one "×m" bar.
  const shown = plan.per_step.length > 10 ? 8 : plan.per_step.length;
  const bar = (rows, lit, title, label) =>
    `<div class="fan-step${lit ? " done" : ""}" title="${title}">` +
    `<div class="fan-bar" style="height:${4 + Math.round(36 * Math.log(rows) / top)}px"></div><span>${label}</span></div>`;
  let bars = plan.per_step.slice(0, shown).map((rows, i) => bar(rows, i < done, `step ${i + 1}: ${rows} U-Net rows`, rows)).join("");
  const more = plan.per_step.length - shown;
  if (more > 0) bars += bar(c.n, done >= plan.per_step.length, `steps ${shown + 1}–${plan.per_step.length}: ${c.n} U-Net rows each`, `${c.n} ×${more}`);
  const saved = Math.round(100 * (1 - plan.rows / plan.ddim_rows));
  box.innerHTML = `<div class="fan-steps">${bars}</div><p id="fan-saved">v2 fan-out: ` +
    `<span id="fan-rows">${rowsSoFar}</span> of ${plan.rows} U-Net rows so far; ddim would use ` +
    `${plan.ddim_rows} (${saved} % saved)</p>`;
}

// A part's images (RGB, 32·32·3 bytes each) into the whole run's at their positions.
function placeImages(all, part, positions) {
  positions.forEach((p, j) => all.set(part.subarray(j * 3072, (j + 1) * 3072), p * 3072));
}

// One run in the workers, each on its part of the rows: returns {rgb, labels, rows, grid,
// seconds, parts} or null when cancelled.
async function runOnce(c) {
  await restarting;
  await chooseBackend();
  const parts = workerCount(c), workers = await cpuEngines(parts);
  if (cancelRequested) return null;
  const plan = fanoutPlan(c); // once per run: the steps only light it up
  showFanout(c, plan, 0, 0);
  // The preview joins the parts' rows at their places among the run's rows at that step.
  const done = new Array(parts).fill(0), unetRows = new Array(parts).fill(0);
  let preview = null;
  const onStep = (k, info, rgb) => {
    if (!preview || preview.total !== info.total) preview = { total: info.total, rgb: new Uint8Array(info.total * 3072) };
    placeImages(preview.rgb, rgb, info.ids);
    [done[k], unetRows[k]] = [info.i + 1, info.unet_rows];
    const step = Math.min(...done), rows = unetRows.reduce((a, b) => a + b, 0);
    showFanout(c, plan, step, rows);
    drawRows($("preview"), preview.rgb, info.total);
    $("progress").value = step / info.steps;
    window.lastStepShown = step;
    $("progress-text").textContent = `${c.sampler} step ${step}/${info.steps} · t = ${info.t.toFixed(3)} · ${info.total} rows · ${rows} U-Net rows so far` +
      (parts > 1 ? ` · ${parts} workers` : "");
  };
  let results;
  try {
    results = await Promise.all(workers.map((w, k) => w.call({ type: "run", config: c, part: k, parts }, (m) => {
      showDownload(m);
      if (m.step) onStep(k, m.step, m.preview);
    })));
  } catch (e) { workers.forEach((w) => w.cancel()); throw e; }
  if (results.some((r) => r.cancelled)) return null;
  const rgb = new Uint8Array(c.n * 3072), labels = new Array(c.n);
  for (const r of results) {
    placeImages(rgb, r.rgb, r.positions);
    r.positions.forEach((p, j) => (labels[p] = r.labels[j]));
  }
  const { grid } = await call({ type: "grid", config: c, rgb });
  return { rgb, labels, grid, parts, rows: results.reduce((a, r) => a + r.rows, 0),
           seconds: Math.max(...results.map((r) => r.seconds)), backend: results[0].backend };
}

function pngUrl(bytes) { return URL.createObjectURL(new Blob([bytes], { type: "image/png" })); }

function showResult(c, r) {
  const rgb = r.rgb, labels = r.labels, grid = $("grid");
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
  const on = r.parts > 1 ? `${engineKey}, <span id="stat-workers">${r.parts}</span> workers` : engineKey;
  $("stats").innerHTML = `<span id="stat-time">${r.seconds.toFixed(2)} s</span> · <span id="stat-rows">${r.rows}</span> U-Net rows (ddim would use ${c.n * c.steps}) · ${(c.n / r.seconds).toFixed(1)} images/s · ${on}`;
  const dl = $("download"); dl.href = pngUrl(r.grid); dl.hidden = false;
  const link = `#${wasm.config_to_fragment(c)}&weights=${weightsTag(c)}`;
  history.replaceState(null, "", link);
  const share = $("share"); share.href = location.href; share.hidden = false;
}

// The weights entries a config runs (the rule lives in Rust: SampleConfig::entries).
function entries(c) { return wasm.config_entries(c); }

function weightsTag(c) {
  return entries(c).map((n) => (manifest.entries[n] ? manifest.entries[n].sha256.slice(0, 12) : "none")).join("-");
}

async function guarded(fn) {
  if (busy) return;
  busy = true; cancelRequested = false; showError("");
  $("generate").disabled = $("compare").disabled = true; $("cancel").disabled = false;
  try { await fn(); } catch (e) { showError(e.message || String(e)); }
  busy = false;
  $("generate").disabled = $("compare").disabled = false; $("cancel").disabled = true;
  // How many runs have ended (shown, cancelled or failed): tests wait on it, not on the grid.
  document.body.dataset.runsEnded = String(+(document.body.dataset.runsEnded || 0) + 1);
}

async function generate(ev) {
  ev.preventDefault();
  const c = readForm(), p = problem(c);
  if (p) { showError(p); return; }
  await guarded(async () => {
    const r = await runOnce(c);
    if (!r) { $("progress-text").textContent = "cancelled"; return; }
    showResult(c, r);
    showMeter(c, r).catch((e) => showError(`classifier: ${e.message || e}`));
  });
}

// The steering-success meter: each image's border says whether the classifier sees the class
// it was asked for (its guess and confidence in the tooltip), each row its share on target,
// the stats line the overall class accuracy. Runs after the grid is on screen.
async function showMeter(c, r) {
  const grid = $("grid"), runId = grid.dataset.run = String(Math.random());
  const progressText = $("progress-text").textContent;
  const { verdict } = await call({ type: "classify", rgb: r.rgb }, showDownload);
  if (grid.dataset.run !== runId) return; // a newer grid replaced this one
  $("progress-text").textContent = progressText; // the classifier's download line is over
  const canvases = [...grid.querySelectorAll("canvas.sample")];
  const target = c.model !== "unconditional" || c.sampler !== "ddim";
  let hits = 0;
  verdict.forEach((v, i) => {
    const cv = canvases[i], want = r.labels[i], got = schema.classes[v.class];
    cv.dataset.predicted = got;
    cv.title = `${target ? `asked: ${want} · ` : ""}classifier: ${got} ${(100 * v.p).toFixed(0)} %`;
    if (!target) return;
    cv.classList.add(got === want ? "on-target" : "off-target");
    if (got === want) hits++;
  });
  if (!target) { $("stats").insertAdjacentHTML("beforeend", " · classifier judged each image (hover)"); return; }
  grid.querySelectorAll(".class-row").forEach((row) => {
    const cvs = [...row.querySelectorAll("canvas.sample")], on = cvs.filter((x) => x.classList.contains("on-target")).length;
    row.insertAdjacentHTML("beforeend", `<span class="row-meter">${on}/${cvs.length}</span>`);
  });
  $("stats").insertAdjacentHTML("beforeend", ` · <span id="stat-accuracy">${(100 * hits / verdict.length).toFixed(0)} %</span> in the requested class (the crate's classifier)`);
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
      fig.innerHTML = `<img src="${pngUrl(r.grid)}" alt="${c.sampler} grid"><figcaption>${c.sampler === "ddim" ? "conditional ddim" : c.sampler}: ${r.seconds.toFixed(2)} s · ${r.rows} U-Net rows</figcaption>`;
      box.append(fig);
    }
  });
}

// A PNG the page or the CLI wrote remembers its settings and weights (tEXt chunks): restore
// them and run again.
async function openPng(file) {
  if (!file || busy) return;
  if (!document.body.dataset.ready) { showError("The page is still loading; try again in a moment."); return; }
  let s;
  try { s = wasm.png_settings(new Uint8Array(await file.arrayBuffer())); } catch (e) {
    showError(`${file.name}: ${e.message || e}`); return;
  }
  writeForm(s.config);
  const c = readForm();
  const other = entries(c).filter((n) => s.weights[n] && manifest.entries[n] && s.weights[n] !== manifest.entries[n].sha256);
  await generate(new Event("submit"));
  if (other.length) showError(`${file.name} was made with other ${other.join(", ")} weights; the images differ.`);
  if (s.image !== null && s.image !== undefined) {
    const cv = document.querySelectorAll("#grid canvas.sample")[s.image];
    if (cv) { cv.classList.add("from-png"); cv.scrollIntoView({ block: "nearest" }); }
  }
}

async function main() {
  try {
    wasm = await loadModule(CPU.url);
  } catch (e) {
    status("No engine."); showError(`Cannot load the page's wasm module (${e.message || e}).`); return;
  }
  schema = wasm.page_schema();
  buildForm();
  $("steering").onchange = showDefaults;
  $("all-classes").onclick = () => document.querySelectorAll("#classes input").forEach((i) => (i.checked = true));
  $("controls").onsubmit = generate;
  $("compare").onclick = compare;
  // A Cancel before the workers have the run (the backend is being chosen) stops it too.
  $("cancel").onclick = () => {
    cancelRequested = true;
    engines.forEach((e) => e.cancel());
    $("progress-text").textContent = "cancelling…";
  };
  $("backend").onchange = () => chooseBackend().catch((e) => showError(e.message));
  $("open-png").onchange = (ev) => openPng(ev.target.files[0]);
  addEventListener("dragover", (ev) => ev.preventDefault());
  addEventListener("drop", (ev) => { ev.preventDefault(); openPng(ev.dataTransfer.files[0]); });
  try {
    const r = await fetch("weights/manifest.json");
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    manifest = await r.json();
  } catch (e) {
    status("No weights."); showError(`Cannot load weights/manifest.json (${e.message}).`); return;
  }
  // What is wrong with the link is said once the page is ready (loading clears the error line);
  // a link that does not parse leaves the form as it was.
  let linkNote = "";
  if (location.hash.length > 1) {
    try { writeForm(wasm.config_from_fragment(location.hash.slice(1))); } catch (e) { linkNote = `Share link: ${e.message}`; }
    const tag = new URLSearchParams(location.hash.slice(1)).get("weights");
    if (!linkNote && tag && tag !== weightsTag(readForm())) linkNote = "This link was made with other weights; the images will differ.";
  }
  try {
    await startWorker();
    await chooseBackend();
    await guarded(() => call({ type: "ensure", config: readForm() }, showDownload));
    $("progress-text").textContent = "weights ready";
  } catch (e) { showError(e.message || String(e)); }
  if (linkNote) showError([linkNote, $("error").textContent].filter(Boolean).join(" "));
  $("generate").disabled = $("compare").disabled = false;
  document.body.dataset.ready = "1";
}

main();
