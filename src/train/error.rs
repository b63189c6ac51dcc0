//! What can end a training run early.

use std::path::Path;

use crate::weights::WeightsError;

/// What can end a training run early: files that cannot be written, a checkpoint that cannot
/// be read, an optimizer state that does not fit.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("a batch of {batch} images cannot be drawn from {images} training images")]
    Batch { batch: usize, images: usize },
    #[error("optimizer state: {msg}")]
    Optimizer { msg: String },
    #[error(transparent)]
    Weights(#[from] WeightsError),
}

/// The [`TrainError::Io`] of a failed write to `path`.
pub(super) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io { path: path.display().to_string(), source }
}
