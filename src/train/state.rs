//! A run's settings and everything besides its tensors that it carries from step to step: what a
//! checkpoint stores as JSON, so that a resumed run continues exactly.

use serde::{Deserialize, Serialize};

use super::log::LogRow;
use super::objective::Objective;
use super::stopping::EarlyStopping;
use crate::noise::{Noise, NoiseState};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainConfig {
    pub batch: usize,
    pub lr: f64,
    pub ema_decay: f64,
    pub seed: u64,
    /// Evaluate, log and checkpoint every this many steps.
    pub eval_every: usize,
    /// Stop after this many evaluations without a better validation loss (MAX_COUNT).
    pub patience: usize,
    /// Test images used for the validation loss.
    pub val_images: usize,
    pub max_steps: usize,
    /// A checkpoint without it reads as method §2's objective.
    #[serde(default)]
    pub objective: Objective,
}

/// Everything besides the tensors that a resumed run needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainState {
    pub config: TrainConfig,
    pub step: usize,
    pub noise: NoiseState,
    /// Flattened, so checkpoints keep the keys `best_val`, `best_step`, `bad_evals`.
    #[serde(flatten)]
    pub early: EarlyStopping,
    pub wall_s: f64,
    pub log: Vec<LogRow>,
    pub stopped_early: bool,
}

pub fn fresh_state(config: TrainConfig) -> TrainState {
    TrainState {
        noise: Noise::with_stream(config.seed, 1).state(),
        config,
        step: 0,
        early: EarlyStopping::default(),
        wall_s: 0.0,
        log: Vec::new(),
        stopped_early: false,
    }
}
