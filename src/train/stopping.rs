//! When the loop ends: early stopping on the validation loss, and why the loop returned.

use serde::{Deserialize, Serialize};

/// Why the loop returned.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    MaxSteps,
    EarlyStopping,
    TimeLimit,
}

/// Early stopping on the validation loss (the paper's MAX_COUNT): stop after `patience`
/// evaluations in a row without a new best.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EarlyStopping {
    pub best_val: f64,
    pub best_step: usize,
    pub bad_evals: usize,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        Self { best_val: f64::INFINITY, best_step: 0, bad_evals: 0 }
    }
}

impl EarlyStopping {
    /// Record the validation loss of `step`; returns whether it is a new best.
    pub fn update(&mut self, step: usize, val: f64) -> bool {
        if val < self.best_val {
            *self = Self { best_val: val, best_step: step, bad_evals: 0 };
            true
        } else {
            self.bad_evals += 1;
            false
        }
    }

    pub fn should_stop(&self, patience: usize) -> bool {
        self.bad_evals >= patience
    }
}
