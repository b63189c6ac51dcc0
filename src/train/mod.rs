//! Native training (feature `train`): CIFAR-10 reader, the loop, EMA, checkpoints, and the
//! evaluation classifier.

pub mod checkpoint;
pub mod classify;
pub mod data;
pub mod ema;
pub mod trainer;
