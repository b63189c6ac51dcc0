//! A run's log: one row per evaluation, kept in the checkpoint and appended to `log.csv`.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{io_error, TrainError};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LogRow {
    pub step: usize,
    pub epoch: f64,
    pub train_loss: f64,
    pub val_loss: f64,
    pub images_per_s: f64,
    pub wall_s: f64,
}

/// Append `r` to the CSV at `path`, writing the header first when the file is new.
pub(super) fn append_csv(path: &Path, r: &LogRow) -> Result<(), TrainError> {
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(io_error(path))?;
    if new {
        writeln!(f, "step,epoch,train_loss,val_loss,images_per_s,wall_s").map_err(io_error(path))?;
    }
    writeln!(f, "{},{:.4},{:.6},{:.6},{:.2},{:.1}", r.step, r.epoch, r.train_loss, r.val_loss, r.images_per_s, r.wall_s)
        .map_err(io_error(path))
}
