// A worker's weights downloads: each file with progress, through the Cache API. Used by
// worker.js; Rust checks the bytes (SHA-256, architecture) when the engine loads them.

export function concatBytes(parts) {
  const all = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  return all;
}

// One manifest entry's file: [bytes, cache, key] (the cache and key to drop a file Rust refuses).
// Its URL carries its SHA-256, so a new file is a new URL (no stale HTTP cache can fail the check
// forever), and is the cache key.
export async function fetchWeights(entry, onProgress) {
  const url = `weights/${entry.file}?sha256=${entry.sha256}`;
  const key = new URL(url, self.location.href).href;
  const cache = self.caches ? await caches.open("vdiff-weights") : null;
  const hit = cache && (await cache.match(key));
  if (hit) return [new Uint8Array(await hit.arrayBuffer()), cache, key];
  const resp = await fetch(url);
  if (!resp.ok) throw new Error(`cannot download weights/${entry.file}: HTTP ${resp.status}`);
  // Progress counts the bytes received against the manifest's size (a Content-Length is the
  // compressed size where the server gzips).
  const total = Math.max(1, entry.bytes);
  const reader = resp.body.getReader();
  const chunks = [];
  let got = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value); got += value.length; onProgress(Math.min(got, total), total);
  }
  const bytes = concatBytes(chunks);
  if (cache) await cache.put(key, new Response(bytes));
  return [bytes, cache, key];
}
