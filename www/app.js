// The page: its buttons and what they run. The engine (weights, backend, the step loop) runs in
// Web Workers (engines.js, worker.js), so the page answers clicks throughout a run; everything
// numeric happens in Rust (src/web.rs), in the workers. The page's thread only renders.
import { CPU, call, cancelAll, chooseBackend, startWorker } from "./engines.js";
import { buildForm, formConfig, problem, readForm, readLink, showDefaults, writeForm } from "./form.js";
import { showMeter } from "./meter.js";
import { loadModule } from "./modules.js";
import { $, entries, page, showDownload, showError, status } from "./page.js";
import { pngUrl, showResult } from "./render.js";
import { runOnce } from "./run.js";

// Runs `fn` holding the buttons (one run at a time); its error goes to the error line.
async function guarded(fn) {
  if (page.busy) return;
  page.busy = true; page.cancelRequested = false; showError("");
  $("generate").disabled = $("compare").disabled = true; $("cancel").disabled = false;
  try { await fn(); } catch (e) { showError(e.message || String(e)); }
  page.busy = false;
  $("generate").disabled = $("compare").disabled = false; $("cancel").disabled = true;
  // How many runs have ended (shown, cancelled or failed): tests wait on it, not on the grid.
  document.body.dataset.runsEnded = String(+(document.body.dataset.runsEnded || 0) + 1);
}

async function generate(ev) {
  ev.preventDefault();
  const { config: c, error } = formConfig();
  if (error) { showError(error); return; }
  await guarded(async () => {
    const r = await runOnce(c);
    if (!r) { $("progress-text").textContent = "cancelled"; return; }
    showResult(c, r);
    showMeter(c, r).catch((e) => showError(`classifier: ${e.message || e}`));
  });
}

// Side by side: conditional ddim, v1 and v2 of the form's settings, each with its time and rows.
async function compare() {
  let base;
  try { base = readForm(); } catch (e) { showError(e.message || String(e)); return; }
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
  if (!file || page.busy) return;
  if (!document.body.dataset.ready) { showError("The page is still loading; try again in a moment."); return; }
  // The form is written only from a config Rust accepted whole.
  let s;
  try {
    s = page.wasm.png_settings(new Uint8Array(await file.arrayBuffer()));
    writeForm(s.config);
  } catch (e) { showError(`${file.name}: ${e.message || e}`); return; }
  const m = page.manifest;
  const other = entries(s.config).filter((n) => s.weights[n] && m.entries[n] && s.weights[n] !== m.entries[n].sha256);
  await generate(new Event("submit"));
  if (other.length) showError(`${file.name} was made with other ${other.join(", ")} weights; the images differ.`);
  if (s.image !== null && s.image !== undefined) {
    const cv = document.querySelectorAll("#grid canvas.sample")[s.image];
    if (cv) { cv.classList.add("from-png"); cv.scrollIntoView({ block: "nearest" }); }
  }
}

async function main() {
  try {
    page.wasm = await loadModule(CPU.url);
  } catch (e) {
    status("No engine."); showError(`Cannot load the page's wasm module (${e.message || e}).`); return;
  }
  // What the form offers comes from Rust (src/sampler/schema.rs): choices, labels, limits,
  // defaults, and which settings apply to which sampler.
  page.schema = page.wasm.page_schema();
  buildForm();
  $("steering").onchange = $("schedule").onchange = showDefaults;
  $("all-classes").onclick = () => document.querySelectorAll("#classes input").forEach((i) => (i.checked = true));
  $("controls").onsubmit = generate;
  $("compare").onclick = compare;
  // A Cancel before the workers have the run (the backend is being chosen) stops it too.
  $("cancel").onclick = () => {
    page.cancelRequested = true;
    cancelAll();
    $("progress-text").textContent = "cancelling…";
  };
  // Choosing WebGPU checks its first run against the CPU module again.
  $("backend").onchange = () => chooseBackend({ recheck: $("backend").value === "webgpu" }).catch((e) => showError(e.message));
  $("open-png").onchange = (ev) => openPng(ev.target.files[0]);
  addEventListener("dragover", (ev) => ev.preventDefault());
  addEventListener("drop", (ev) => { ev.preventDefault(); openPng(ev.dataTransfer.files[0]); });
  try {
    const r = await fetch("weights/manifest.json");
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    page.manifest = await r.json();
  } catch (e) {
    status("No weights."); showError(`Cannot load weights/manifest.json (${e.message}).`); return;
  }
  // What is wrong with the link is said once the page is ready (loading clears the error line);
  // a bad link leaves the form as it was.
  let linkNote = "";
  const fragment = () => location.hash.slice(1);
  if (fragment()) linkNote = readLink(fragment());
  // A link pasted into the open page changes only the fragment: it is read as at load. The
  // page's own share links are written with history.replaceState, which fires no hashchange.
  addEventListener("hashchange", () => {
    if (!fragment()) return;
    const note = readLink(fragment());
    if (document.body.dataset.ready) showError(note); else linkNote = note;
  });
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
