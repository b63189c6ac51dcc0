//! Per-class CIFAR-10 diffusion: the notebook's v-objective U-Net, the paper's additional
//! layer, and the `ddim` / `v1` / `v2` samplers, in Burn — one code path for native (Flex CPU
//! or wgpu) and for the browser (WebGPU, or Flex compiled to wasm).
//!
//! Data flows one way: `train` (native only) → `weights` → `model` + `sampler` → front ends
//! (`main.rs` CLI, `web.rs` page).

// Burn has no backend on wasm32 unless one of these is on; say so instead of failing in Burn.
#[cfg(all(target_arch = "wasm32", not(any(feature = "flex", feature = "webgpu"))))]
compile_error!("the wasm32 build needs a backend: `--features flex` (the CPU module) and/or `--features webgpu`");

pub mod device;
pub mod eval;
pub mod image;
pub mod model;
pub mod noise;
pub mod sampler;
pub mod schedule;
pub mod weights;

#[cfg(not(target_arch = "wasm32"))]
pub mod import;

pub use burn;

#[cfg(all(feature = "train", not(target_arch = "wasm32")))]
pub mod train;

#[cfg(target_arch = "wasm32")]
pub mod web;
