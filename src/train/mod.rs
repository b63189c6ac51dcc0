//! Native training (feature `train`): CIFAR-10 reader, the loop, EMA, checkpoints.

pub mod checkpoint;
pub mod data;
pub mod ema;
pub mod trainer;
