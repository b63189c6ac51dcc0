// One run in the workers, each on its part of the rows (src/sampler/part.rs), with its progress
// on the page: the bar, the live preview, v2's fan-out view.
import { call, chooseBackend, cpuEngines, restarted, workerCount } from "./engines.js";
import { $, page, showDownload, showError } from "./page.js";
import { drawRows, fanoutPlan, placeImages, showFanout } from "./render.js";

// Returns {rgb, labels, grid, parts, batches, rows, seconds, backend}, or null when cancelled.
export async function runOnce(c) {
  await restarted();
  await chooseBackend();
  const parts = workerCount(c), workers = await cpuEngines(parts);
  if (page.cancelRequested) return null;
  const plan = fanoutPlan(c); // once per run: the steps only light it up
  showFanout(c, plan, 0, 0);
  // The preview joins the parts' rows at their places among the run's rows at that step.
  const done = new Array(parts).fill(0), unetRows = new Array(parts).fill(0);
  let preview = null;
  // A WebGPU run too large for the adapter's buffers runs in parts in turn (`batch`, from the
  // worker): the bar and the rows count the whole run.
  const onStep = (k, info, rgb, batch) => {
    if (!preview || preview.total !== info.total) preview = { total: info.total, rgb: new Uint8Array(info.total * 3072) };
    placeImages(preview.rgb, rgb, info.ids);
    [done[k], unetRows[k]] = [info.i + 1, (batch ? batch.rows_before : 0) + info.unet_rows];
    const step = Math.min(...done), rows = unetRows.reduce((a, b) => a + b, 0);
    // After Cancel the text says so until the run stops.
    if (page.cancelRequested) return;
    showFanout(c, plan, step, rows);
    drawRows($("preview"), preview.rgb, info.total);
    $("progress").value = batch ? (batch.index * info.steps + step) / (batch.of * info.steps) : step / info.steps;
    $("progress-text").textContent = `${c.sampler} step ${step}/${info.steps} · t = ${info.t.toFixed(3)} · ${info.total} rows · ${rows} U-Net rows so far` +
      (parts > 1 ? ` · ${parts} workers` : "") + (batch ? ` · part ${batch.index + 1}/${batch.of}` : "");
  };
  const calls = workers.map((w, k) => w.call({ type: "run", config: c, part: k, parts }, (m) => {
    showDownload(m);
    if (m.step) onStep(k, m.step, m.preview, m.batch);
  }));
  let results;
  try { results = await Promise.all(calls); } catch (e) {
    // The run ends once every worker has answered, so that no worker's late error (a trap
    // while loading weights, say) lands in the next run.
    workers.forEach((w) => w.cancel());
    await Promise.allSettled(calls);
    throw e;
  }
  if (results.some((r) => r.cancelled)) {
    window.stepsAfterCancel = Math.max(0, ...results.map((r) => r.stepsAfterCancel || 0)); // for the tests
    return null;
  }
  // WebGPU lost the worker's trust (its first run disagreed with the CPU module, or its device
  // failed): the worker is on the CPU now, and so is the run, on every CPU worker.
  if (results[0].fallback) {
    showError(results[0].fallback);
    return runOnce(c);
  }
  const rgb = new Uint8Array(c.n * 3072), labels = new Array(c.n);
  for (const r of results) {
    placeImages(rgb, r.rgb, r.positions);
    r.positions.forEach((p, j) => (labels[p] = r.labels[j]));
  }
  const { grid } = await call({ type: "grid", config: c, rgb });
  return { rgb, labels, grid, parts, batches: results[0].batches || 1, rows: results.reduce((a, r) => a + r.rows, 0),
           seconds: Math.max(...results.map((r) => r.seconds)), backend: results[0].backend };
}
