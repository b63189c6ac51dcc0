//! Evaluation (paper §5): Inception Score, Fréchet distance, class accuracy.

pub mod classifier;
pub mod inception;
pub mod metrics;
