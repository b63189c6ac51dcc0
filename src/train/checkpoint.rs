//! Training checkpoints: one file holding the model, its EMA, the optimizer state and the
//! loop state (step, RNG, early-stopping counters), written to a temporary file and renamed,
//! so a kill at any moment leaves either the old or the new checkpoint, never half of one.

use std::path::Path;

use serde::{de::DeserializeOwned, Serialize};

use crate::weights::{write_atomic, WeightsError};

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
