// The page's own calls on its CPU module, in Node (for wasm-profile.mjs and wasm-compare.mjs):
// an Engine from a package bound for Node (`wasm-bindgen --target nodejs`), the networks of the
// page's work — conditional ddim, the form's own flat config — loaded, and a function that runs
// it once (Engine.start, step until done, finish).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

export function pageRun(pkg, weights, n, steps) {
  const manifest = readFileSync(`${weights}/manifest.json`, "utf8");
  const engine = new (require(`${pkg}/vdiff.js`).Engine)("cpu", manifest);
  const config = { model: "conditional", sampler: "ddim", n: +n, classes: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
                   steps: +steps, eta: 1, seed: 0, solver: "ddim" };
  for (const e of engine.missing(config)) engine.load(e.name, readFileSync(`${weights}/${e.file}`));
  return async () => {
    const r = engine.start(config, 0, 1);
    while (await r.step()) {}
    (await r.finish()).free();
  };
}
