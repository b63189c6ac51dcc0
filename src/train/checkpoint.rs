//! Training checkpoints: one file holding the model, its EMA, the optimizer state and the
//! loop state (step, RNG, early-stopping counters), written to a temporary file and renamed,
//! so a kill at any moment leaves either the old or the new checkpoint, never half of one.

use std::path::{Path, PathBuf};

use burn::optim::ModuleOptimizer;
use serde::{de::DeserializeOwned, Serialize};

use super::adapters::Trainable;
use super::error::TrainError;
use super::state::TrainState;
use super::trainer::Training;
use crate::weights::{load_bytes, to_bytes, write_atomic, WeightsError};

const MAGIC: &[u8; 8] = b"VDIFFCK1";

/// Write `state` (JSON) followed by the binary `blobs`.
pub fn save<S: Serialize>(path: &Path, state: &S, blobs: &[&[u8]]) -> Result<(), WeightsError> {
    let json = serde_json::to_vec(state).expect("checkpoint state serialises");
    let mut out = Vec::with_capacity(blobs.iter().map(|b| b.len() + 8).sum::<usize>() + json.len() + 16);
    out.extend_from_slice(MAGIC);
    for part in std::iter::once(json.as_slice()).chain(blobs.iter().copied()) {
        out.extend_from_slice(&(part.len() as u64).to_le_bytes());
        out.extend_from_slice(part);
    }
    write_atomic(path, &out)
}

/// Read a checkpoint written by [`save`] with `n` blobs.
pub fn load<S: DeserializeOwned>(path: &Path, n: usize) -> Result<(S, Vec<Vec<u8>>), WeightsError> {
    let p = path.display().to_string();
    let bad = |msg: &str| WeightsError::Format { name: p.clone(), msg: msg.into() };
    let data = std::fs::read(path).map_err(|source| WeightsError::Io { path: p.clone(), source })?;
    if data.get(..8) != Some(MAGIC.as_slice()) {
        return Err(bad("not a vdiff checkpoint"));
    }
    let mut pos = 8;
    let mut parts = Vec::new();
    for _ in 0..=n {
        let len = data.get(pos..pos + 8).ok_or_else(|| bad("truncated"))?;
        let len = u64::from_le_bytes(len.try_into().unwrap());
        // The length is the file's word: check it against the data before using it.
        let end = usize::try_from(len).ok().and_then(|l| (pos + 8).checked_add(l)).ok_or_else(|| bad("truncated"))?;
        parts.push(data.get(pos + 8..end).ok_or_else(|| bad("truncated"))?.to_vec());
        pos = end;
    }
    let state = serde_json::from_slice(&parts[0]).map_err(|e| bad(&e.to_string()))?;
    Ok((state, parts.split_off(1)))
}

impl<M: Trainable> Training<'_, M> {
    fn checkpoint_path(&self) -> PathBuf {
        self.dir.join("checkpoint.bin")
    }

    /// Write `dir/checkpoint.bin`: `state`, then the model, the EMA and the optimizer state.
    pub(super) fn save_checkpoint(&self, state: &TrainState, optim: &ModuleOptimizer) -> Result<(), TrainError> {
        let model = to_bytes(self.model.clone(), false);
        let ema = to_bytes(self.ema.clone(), false);
        let opt = optim.into_bytes().map_err(|e| TrainError::Optimizer { msg: e.to_string() })?;
        Ok(save(&self.checkpoint_path(), state, &[&model, &ema, &opt])?)
    }

    /// Load `dir/checkpoint.bin` into this run's (freshly initialised) model and EMA.
    pub fn resume(mut self) -> Result<(Self, TrainState, Vec<u8>), TrainError> {
        let (state, mut blobs): (TrainState, _) = load(&self.checkpoint_path(), 3)?;
        let opt = blobs.pop().unwrap();
        let ema = blobs.pop().unwrap();
        let model = blobs.pop().unwrap();
        self.model = load_bytes(self.model, &model, "checkpoint model", "this run's network")?;
        self.ema = load_bytes(self.ema, &ema, "checkpoint EMA", "this run's network")?;
        Ok((self, state, opt))
    }
}
