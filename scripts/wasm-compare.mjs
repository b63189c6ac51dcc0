// The page's CPU module builds side by side in V8 (Chromium's wasm engine), one thread: each
// PKG_DIR a build bound for Node (`wasm-bindgen --target nodejs`, as scripts/wasm-profile.sh
// does), the page's own calls (Engine, start, step, finish), conditional ddim; the builds run
// alternately REPS times and each reports its best run.
//
//   node scripts/wasm-compare.mjs WEIGHTS_DIR N STEPS REPS PKG_DIR [PKG_DIR ...]
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const [weights, n, steps, reps, ...pkgs] = process.argv.slice(2);
const manifest = readFileSync(`${weights}/manifest.json`, "utf8");
const config = { model: "conditional", sampler: "ddim", n: +n, classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
                 steps: +steps, eta: 1, seed: 0, solver: "ddim" };
const engines = pkgs.map((pkg) => {
  const engine = new (require(`${pkg}/vdiff.js`).Engine)("cpu", manifest);
  for (const e of engine.missing(config)) engine.load(e.name, readFileSync(`${weights}/${e.file}`));
  return engine;
});

async function run(engine) {
  const r = engine.start(config, 0, 1);
  while (await r.step()) {}
  (await r.finish()).free();
}

for (const e of engines) await run(e); // warm-up: wasm tier-up, allocator growth
const best = pkgs.map(() => Infinity);
for (let i = 0; i < +reps; i++) {
  for (const [k, e] of engines.entries()) {
    const t0 = performance.now();
    await run(e);
    best[k] = Math.min(best[k], (performance.now() - t0) / 1000);
  }
}
pkgs.forEach((pkg, k) => console.log(`${pkg}: ${best[k].toFixed(2)} s, ${(+n * +steps / best[k]).toFixed(1)} U-Net rows/s, ` +
  `${(best[0] / best[k]).toFixed(2)}× the first`));
