//! Evaluation (paper §5): Inception Score, Fréchet distance, class accuracy.

pub mod classifier;
// Reads PyTorch files from disk: native only.
#[cfg(not(target_arch = "wasm32"))]
pub mod inception;
pub mod metrics;
// Reads CIFAR-10 through the trainer's reader: native training builds only.
#[cfg(all(feature = "train", not(target_arch = "wasm32")))]
pub mod grid;
