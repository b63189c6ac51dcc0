// The engines: one wasm engine per Web Worker (worker.js). engines[0] chooses the backend, loads
// weights ahead, runs WebGPU, classifies and draws the grid PNG; the others join it for CPU runs
// (one per core by default), started on first need. A worker whose module trapped is replaced.
import { builtModule, cpuModule } from "./modules.js";
import { defaultWorkers } from "./form.js";
import { $, page, showDownload, showError, status } from "./page.js";

export const CPU = cpuModule();

// Test hooks (tests/e2e/test_page.py), from the page's query string: `test-webgpu-disagree=1`
// makes WebGPU's first run disagree with the CPU module's check, `test-no-timestamp-query=1`
// makes the adapter seem to lack timestamp-query.
const query = new URLSearchParams(location.search);
const HOOKS = { webgpuDisagree: query.get("test-webgpu-disagree") === "1",
                noTimestampQuery: query.get("test-no-timestamp-query") === "1" };

// The backend engines[0] chose: "cpu" or "webgpu".
export let engineKey = "";

// One engine in one Web Worker: `call` sends it a command and resolves with its result, passing
// progress messages to `onProgress` on the way.
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

  // `at` (a clock the workers share) lets a worker tell a step it began after the cancel could
  // reach it from one already under way.
  cancel() { this.worker.postMessage({ type: "cancel", at: performance.timeOrigin + performance.now() }); }

  // The same CPU module the page loaded (HTTP-cached, compiled again there).
  init() {
    return this.call({ type: "init", cpu: CPU, webgpuGlue: builtModule("vdiff-webgpu"), manifest: page.manifest, hooks: HOOKS });
  }
}

let engines = [];
// A command for engines[0].
export const call = (msg, onProgress) => engines[0].call(msg, onProgress);
export const cancelAll = () => engines.forEach((e) => e.cancel());

// A stopped worker is replaced: the first at once (it holds the backend choice; a run waits
// for it), the others when a run next needs them.
let restarting = Promise.resolve();
export const restarted = () => restarting;
function engineStopped(e, err) {
  showError(err.message);
  const k = engines.indexOf(e);
  if (k < 0) return;
  engines.forEach((other) => other !== e && other.cancel());
  if (k > 0) { engines.splice(k, 1); return; }
  engines[0] = new EngineWorker(engineStopped);
  restarting = engines[0].init().then(() => chooseBackend())
    .catch((x) => showError(`${err.message}; restarting it failed: ${x.message || x}`));
}

export function startWorker() {
  engines = [new EngineWorker(engineStopped)];
  return engines[0].init();
}

// Workers for a CPU run of `parts` parts: started, on the CPU backend.
export async function cpuEngines(parts) {
  while (engines.length < parts) {
    const e = new EngineWorker(engineStopped);
    engines.push(e);
    await e.init();
    await e.call({ type: "backend", want: "cpu" });
  }
  return engines.slice(0, parts);
}

// CPU workers a run uses: the form's count (one per core by default, also when the field is
// empty), never more than N; WebGPU runs on engines[0] alone.
export function workerCount(c) {
  const asked = $("workers").value === "" ? defaultWorkers() : Number($("workers").value) || 1;
  return engineKey === "cpu" ? Math.max(1, Math.min(asked, page.schema.max_workers, c.n)) : 1;
}

// engines[0] picks the form's backend and says why on the status line (a warning where WebGPU,
// forced, cannot run). `recheck`: the user chose WebGPU, so its first run is checked again.
export async function chooseBackend({ recheck = false } = {}) {
  const r = await call({ type: "backend", want: $("backend").value, recheck }, showDownload);
  if (r.warning) showError(r.warning);
  engineKey = r.backend;
  status(`Running on ${r.text}.`);
}
