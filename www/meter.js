// The steering-success meter: the crate's CIFAR-10 classifier (in engines[0]) judges a run's
// images. Each image's border says whether it sees the class that was asked for (its guess and
// confidence in the tooltip), each row its share on target, the stats line the overall class
// accuracy. Runs after the grid is on screen.
import { call } from "./engines.js";
import { $, page, showDownload } from "./page.js";

export async function showMeter(c, r) {
  const grid = $("grid"), runId = grid.dataset.run = String(Math.random());
  const progressText = $("progress-text").textContent;
  const { verdict } = await call({ type: "classify", rgb: r.rgb }, showDownload);
  if (grid.dataset.run !== runId) return; // a newer grid replaced this one
  $("progress-text").textContent = progressText; // the classifier's download line is over
  const canvases = [...grid.querySelectorAll("canvas.sample")];
  const target = c.model !== "unconditional" || c.sampler !== "ddim";
  let hits = 0;
  verdict.forEach((v, i) => {
    const cv = canvases[i], want = r.labels[i], got = page.schema.classes[v.class];
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
