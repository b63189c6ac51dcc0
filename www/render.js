// Drawing on the page: the live preview, v2's fan-out view and a run's grid, stats and links.
// The images arrive as RGB bytes (32·32·3 per image) from the workers.
import { $, page, weightsTag } from "./page.js";

// The first `rows` images of `rgb` in lines of up to 20 (the live preview).
export function drawRows(canvas, rgb, rows) {
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

// A part's images (RGB, 32·32·3 bytes each) into the whole run's at their positions.
export function placeImages(all, part, positions) {
  positions.forEach((p, j) => all.set(part.subarray(j * 3072, (j + 1) * 3072), p * 3072));
}

// v2's fan-out, step by step: one bar per step, its height the U-Net rows on a log scale
// (1 → k → … → N), the steps done so far lit, and the rows saved against ddim. The plan comes
// from Rust (SampleConfig::unet_rows_per_step), the progress from the worker's step messages.
export function fanoutPlan(c) {
  return c.sampler === "v2" ? page.wasm.row_counts(c) : null;
}

export function showFanout(c, plan, done, rowsSoFar) {
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

export function pngUrl(bytes) { return URL.createObjectURL(new Blob([bytes], { type: "image/png" })); }

// A run's images in rows per class, its figures (time, U-Net rows, images/s, where it ran), the
// grid PNG to download and the share link (also the page's address).
export function showResult(c, r) {
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
  const on = r.parts > 1 ? `${r.backend}, <span id="stat-workers">${r.parts}</span> workers`
    : r.batches > 1 ? `${r.backend}, <span id="stat-batches">${r.batches}</span> parts in turn (the adapter's buffer limits)` : r.backend;
  $("stats").innerHTML = `<span id="stat-time">${r.seconds.toFixed(2)} s</span> · <span id="stat-rows">${r.rows}</span> U-Net rows (ddim would use ${c.n * c.steps}) · ${(c.n / r.seconds).toFixed(1)} images/s · ${on}`;
  const dl = $("download"); dl.href = pngUrl(r.grid); dl.hidden = false;
  const link = `#${page.wasm.config_to_fragment(c)}&weights=${weightsTag(c)}`;
  history.replaceState(null, "", link);
  const share = $("share"); share.href = location.href; share.hidden = false;
}
