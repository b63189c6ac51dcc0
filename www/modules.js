// The page's wasm modules (built by scripts/build-modules.sh, named in index.html's <meta> tags
// with a content hash): which CPU module this engine runs, and loading one. Shared by the page
// and its workers.

// A module of one function that returns f32x4.relaxed_madd of three zero vectors: valid only
// where the engine has WebAssembly's relaxed SIMD.
function relaxedSimdProbe() {
  const zeros = [0xfd, 0x0c, ...new Array(16).fill(0)];
  const body = [0, ...zeros, ...zeros, ...zeros, 0xfd, 0x85, 0x02, 0x0b];
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7b, 3, 2, 1, 0,
                         10, body.length + 2, 1, body.length, ...body]);
}

// The URL of the module named `name` in this build ("" when the build has none).
export function builtModule(name) {
  const file = document.querySelector(`meta[name="${name}"]`)?.content;
  return file ? new URL(file, location.href).href : "";
}

// The CPU module for this engine: with fused multiply-adds in its convolution kernel where
// relaxed SIMD validates (faster; the same images up to float rounding), else the plain one.
// The page and every worker load the same one (fetched once, HTTP-cached).
export function cpuModule() {
  const fma = WebAssembly.validate(relaxedSimdProbe()) && builtModule("vdiff-cpu-fma");
  return fma ? { url: fma, name: "CPU (wasm, relaxed SIMD)" } : { url: builtModule("vdiff-cpu"), name: "CPU (wasm)" };
}

// Imports a wasm-bindgen module (`--target web`) and instantiates its wasm.
export async function loadModule(url) {
  const m = await import(url);
  await m.default({ module_or_path: url.replace(/\.js$/, "_bg.wasm") });
  return m;
}
