// Whether a worker may run the page on WebGPU: what the adapter offers, asked in JS so that the
// WebGPU module is fetched only when it will be used, and the first run's images checked against
// the CPU module's. Used by worker.js.

// Adapters that rasterise on the CPU, by name (some do not say they are a fallback adapter).
const SOFTWARE = /swiftshader|llvmpipe|lavapipe/i;

// The adapter `navigator.gpu` offers: {ok, adapter (its name), software, compatibility,
// timestampQuery} or {ok: false, error}. `hooks.noTimestampQuery` (a test's) hides the feature.
export async function probeWebGpu(hooks) {
  if (!self.navigator || !navigator.gpu) return { ok: false, error: "navigator.gpu is missing" };
  try {
    const a = await navigator.gpu.requestAdapter();
    if (!a) return { ok: false, error: "no WebGPU adapter" };
    const info = a.info || {};
    const names = [info.description, info.vendor, info.architecture, info.device].filter(Boolean);
    return {
      ok: true,
      adapter: info.description || [info.vendor, info.architecture].filter(Boolean).join(" ") || "a WebGPU adapter",
      software: !!(info.isFallbackAdapter ?? a.isFallbackAdapter) || names.some((s) => SOFTWARE.test(s)),
      // featureLevel exists only where browsers offer compatibility-mode adapters.
      compatibility: a.featureLevel === "compatibility",
      // Burn's WebGPU runtime traps at its first tensor without it (src/web.rs, init_webgpu).
      timestampQuery: a.features.has("timestamp-query") && !hooks.noTimestampQuery,
    };
  } catch (e) { return { ok: false, error: e.message || String(e) }; }
}

// Why "auto" leaves an adapter the probe found to the CPU ("" where WebGPU serves the page).
export function shortfall(gpu) {
  const why = [];
  if (gpu.software) why.push("is software (a CPU rasteriser, slower than the CPU backend)");
  if (gpu.compatibility) why.push("offers only WebGPU's compatibility mode");
  if (!gpu.timestampQuery) why.push('lacks "timestamp-query", which the WebGPU module needs');
  return why.length ? `the WebGPU adapter (${gpu.adapter}) ${why.join(" and ")}` : "";
}

// init_webgpu's answer where the adapter lacks timestamp-query, in Rust's words: what the test
// hook that hides the feature answers instead of initialising the real adapter.
export function refusedWithoutTimestampQuery(adapter) {
  return { ok: false, error: `the WebGPU adapter (${adapter}) lacks the "timestamp-query" feature, which Burn's WebGPU runtime needs in a browser` };
}

// The most grey levels an image may differ by between WebGPU and the CPU module: float rounding
// (fused multiply-adds, other reduction orders) moves a channel by a level or two, a wrong kernel
// by far more.
export const TOLERANCE = 3;

// How far a run's images (`run`: {rgb, positions}) stray from the CPU module's (`ref`, a part of
// the same run): the most any channel differs, over the images `ref` holds.
export function greyLevels(run, ref) {
  const at = new Map(Array.from(run.positions, (p, j) => [p, j]));
  let most = 0;
  Array.from(ref.positions).forEach((p, j) => {
    const k = at.get(p);
    if (k === undefined) throw new Error(`the WebGPU run has no image at position ${p}`);
    for (let i = 0; i < 3072; i++) most = Math.max(most, Math.abs(run.rgb[k * 3072 + i] - ref.rgb[j * 3072 + i]));
  });
  return most;
}

// What the test hook that makes WebGPU disagree does to the WebGPU run's images before the check.
export function disagreeing(run) {
  return { ...run, rgb: run.rgb.map((v) => Math.min(255, v + 50)) };
}

// Why WebGPU is no longer trusted, after its first run disagreed with the CPU module.
export function disagreement(levels, ref) {
  const which = Array.from(ref.positions).join(", ");
  return `WebGPU gave images that disagree with the CPU module by ${levels} grey levels (image ${which} of its first ` +
    `run, at most ${TOLERANCE} allowed); running on the CPU instead`;
}

// Errors of a WebGPU run that mean its device cannot be trusted: Rust's report of a device error
// (src/web.rs, Run::step and finish) or a trap of the WebGPU module.
export function deviceFailure(e) {
  return e instanceof WebAssembly.RuntimeError || /^WebGPU reported an error/.test(e.message || "");
}
