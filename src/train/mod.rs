//! Native training (feature `train`): CIFAR-10 reader, the loop, EMA, checkpoints, the
//! networks' runs and campaign, and the evaluation classifier.

pub mod adapters;
pub mod bench;
pub mod campaign;
pub mod checkpoint;
pub mod classify;
pub mod data;
pub mod ema;
pub mod error;
pub mod log;
pub mod network;
pub mod objective;
pub mod state;
pub mod stopping;
pub mod trainer;
pub mod twin;

pub use twin::DEFAULTS;
