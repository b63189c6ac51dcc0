// What the page's modules share: the CPU module the page's thread loaded (Rust's checks, share
// links, PNG settings; it never samples), the form's schema, the weights manifest, the run state
// and the page's message lines.
export const $ = (id) => document.getElementById(id);

// `busy`: a run (or the load's weights download) holds the buttons; `cancelRequested`: Cancel
// was pressed during it.
export const page = { wasm: null, schema: null, manifest: null, busy: false, cancelRequested: false };

export function showError(msg) { $("error").textContent = msg || ""; }
export function status(msg) { $("backend-status").textContent = msg; }

// A worker's download progress (weights, the WebGPU module, WebGPU's first-run check).
export function showDownload(m) {
  if (!m.download) return;
  $("progress").value = m.download.fraction;
  $("progress-text").textContent = m.download.text;
}

// The weights entries a config runs (the rule lives in Rust: SampleConfig::entries).
export function entries(c) { return page.wasm.config_entries(c); }

// The short SHA-256s of the weights a config runs, which share links carry.
export function weightsTag(c) {
  return entries(c).map((n) => (page.manifest.entries[n] ? page.manifest.entries[n].sha256.slice(0, 12) : "none")).join("-");
}
