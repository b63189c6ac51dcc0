//! Per-class CIFAR-10 diffusion: the notebook's v-objective U-Net, the paper's additional
//! layer, and the `ddim` / `v1` / `v2` samplers, in Burn — one code path for native (Flex CPU
//! or wgpu) and for the browser (WebGPU, or Flex compiled to wasm).
//!
//! The layers: `model` (the networks) and `sampler` (the samplers over them, their settings)
//! at the bottom; `weights` (files and the manifest; it builds the steering networks the
//! sampler runs) and `eval` (metrics, the classifier, the evaluation grid) over them; `train`
//! (native only: the loop, a network's run, the campaign) over all of these; the native
//! commands' library halves — `networks` (finding a run's networks), `options` (the steering
//! flags), `bench` — beside them; the front ends — `cli` (the `vdiff` binary: flags and one call
//! each) and `web.rs` (the page) — on top.

// Burn has no backend on wasm32 unless one of these is on; say so instead of failing in Burn.
#[cfg(all(target_arch = "wasm32", not(any(feature = "flex", feature = "webgpu"))))]
compile_error!("the wasm32 build needs a backend: `--features flex` (the CPU module) and/or `--features webgpu`");

pub mod device;
pub mod eval;
pub mod image;
pub mod model;
mod names;
pub mod noise;
pub mod sampler;
pub mod schedule;
pub mod weights;

#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
#[cfg(not(target_arch = "wasm32"))]
pub mod import;
#[cfg(not(target_arch = "wasm32"))]
pub mod networks;
#[cfg(not(target_arch = "wasm32"))]
pub mod options;

pub use burn;

#[cfg(all(feature = "train", not(target_arch = "wasm32")))]
pub mod train;

#[cfg(target_arch = "wasm32")]
pub mod web;
