// The page's CPU module builds side by side in V8 (Chromium's wasm engine), one thread: each
// PKG_DIR a build bound for Node (`wasm-bindgen --target nodejs`, as scripts/wasm-profile.sh
// does), the page's own calls (wasm-page-run.mjs); the builds run alternately REPS times and each
// reports its best run.
//
//   node scripts/wasm-compare.mjs WEIGHTS_DIR N STEPS REPS PKG_DIR [PKG_DIR ...]
import { pageRun } from "./wasm-page-run.mjs";

const [weights, n, steps, reps, ...pkgs] = process.argv.slice(2);
const runs = pkgs.map((pkg) => pageRun(pkg, weights, n, steps));

for (const run of runs) await run(); // warm-up: wasm tier-up, allocator growth
const best = pkgs.map(() => Infinity);
for (let i = 0; i < +reps; i++) {
  for (const [k, run] of runs.entries()) {
    const t0 = performance.now();
    await run();
    best[k] = Math.min(best[k], (performance.now() - t0) / 1000);
  }
}
pkgs.forEach((pkg, k) => console.log(`${pkg}: ${best[k].toFixed(2)} s, ${(+n * +steps / best[k]).toFixed(1)} U-Net rows/s, ` +
  `${(best[0] / best[k]).toFixed(2)}× the first`));
