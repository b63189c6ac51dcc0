//! Import U-Net weights trained with the original PyTorch notebook (safetensors with
//! PyTorch parameter names, e.g. `net.2.main.1.main.0.weight`), via burn-store with key
//! remapping. `unet-c32-parity.safetensors` is such a file.

use std::collections::HashMap;
use std::path::Path;

use burn::module::Module;
use burn::store::{KeyRemapper, ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};
use burn::tensor::{DType, Device};

use crate::eval::classifier::{Classifier, ClassifierConfig};
use crate::model::{UNet, UNetConfig};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot import {path}: {msg}")]
    Store { path: String, msg: String },
    #[error("{path} lacks parameters the network needs: {missing:?}")]
    Missing { path: String, missing: Vec<String> },
    #[error("{path}: {msg}")]
    Format { path: String, msg: String },
}

/// A key-remapping pattern that matches exactly this parameter path.
fn exact(path: &str) -> String {
    format!("^{}$", path.replace('.', "\\."))
}

/// Load a notebook-trained U-Net of architecture `config` from a safetensors file.
pub fn import_torch_unet(path: &Path, config: &UNetConfig, device: &Device) -> Result<UNet, ImportError> {
    let p = path.display().to_string();
    let unet = config.init(device);
    let pairs: Vec<(String, String)> = torch_names(&unet).into_iter().map(|(t, b)| (exact(&t), b)).collect();
    let remap = KeyRemapper::from_patterns(pairs).map_err(|e| ImportError::Store { path: p, msg: e.to_string() })?;
    load_checked(unet, path, SafetensorsStore::from_file(path).remap(remap).allow_partial(true).validate(true))
}

/// Fill `module` from `store` (reading the file at `path`), insisting on every parameter; in
/// f32 whatever the file holds (e.g. `export-torch`'s default f16), like every loaded network.
fn load_checked<M: Module + ModuleSnapshot>(
    mut module: M,
    path: &Path,
    mut store: SafetensorsStore,
) -> Result<M, ImportError> {
    let p = path.display().to_string();
    if !path.is_file() {
        return Err(ImportError::Store { path: p, msg: "no such file".into() });
    }
    let result =
        module.load_from(&mut store).map_err(|e| ImportError::Store { path: p.clone(), msg: e.to_string() })?;
    if !result.errors.is_empty() {
        return Err(ImportError::Store { path: p, msg: format!("{:?}", result.errors) });
    }
    if !result.missing.is_empty() {
        return Err(ImportError::Missing { path: p, missing: result.missing.into_iter().map(|(a, _)| a).collect() });
    }
    Ok(crate::weights::cast(module, DType::F32))
}

/// Load the evaluation classifier trained in PyTorch (`scripts/gpu/classifier.py`: the same
/// parameter names, PyTorch's `[out, in]` linear weights, which the adapter transposes).
pub fn import_torch_classifier(
    path: &Path,
    config: &ClassifierConfig,
    device: &Device,
) -> Result<Classifier, ImportError> {
    let store = SafetensorsStore::from_file(path).with_from_adapter(PyTorchToBurnAdapter).validate(true);
    load_checked(config.init(device), path, store)
}

/// Write a U-Net as safetensors with the notebook's names — the inverse of
/// [`import_torch_unet`] — in f16 when `half` (the committed weights are f16 already). A GPU
/// lease warm-starts `scripts/gpu/train.py --init` from it when no checkpoint is at hand.
pub fn export_torch_unet(unet: UNet, path: &Path, half: bool) -> Result<(), ImportError> {
    let p = path.display().to_string();
    let fail = |e: &dyn std::fmt::Display| ImportError::Store { path: p.clone(), msg: e.to_string() };
    let pairs: Vec<(String, String)> = torch_names(&unet).into_iter().map(|(t, b)| (exact(&b), t)).collect();
    let remap = KeyRemapper::from_patterns(pairs).map_err(|e| fail(&e))?;
    let unet = if half { crate::weights::cast(unet, DType::F16) } else { unet };
    let mut store = SafetensorsStore::from_file(path).remap(remap).overwrite(true);
    unet.save_into(&mut store).map_err(|e| fail(&e))
}

/// A tensor read straight from a safetensors file (for fixed inputs/outputs such as `io.x`).
pub struct RawTensor {
    pub shape: Vec<usize>,
    pub dtype: String,
    pub bytes: Vec<u8>,
}

impl RawTensor {
    pub fn f32s(&self) -> Vec<f32> {
        assert_eq!(self.dtype, "F32");
        self.bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
    }

    pub fn i64s(&self) -> Vec<i64> {
        assert_eq!(self.dtype, "I64");
        self.bytes.chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().unwrap())).collect()
    }
}

/// Read the tensors of a safetensors file whose names start with `prefix`.
pub fn read_safetensors(path: &Path, prefix: &str) -> Result<HashMap<String, RawTensor>, ImportError> {
    let p = path.display().to_string();
    let fail = |msg: String| ImportError::Format { path: p.clone(), msg };
    let data = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let n = u64::from_le_bytes(data.get(..8).ok_or_else(|| fail("truncated".into()))?.try_into().unwrap());
    let end = usize::try_from(n).ok().and_then(|n| n.checked_add(8)).filter(|&e| e <= data.len());
    let end = end.ok_or_else(|| fail("truncated header".into()))?;
    let header: serde_json::Value = serde_json::from_slice(&data[8..end]).map_err(|e| fail(e.to_string()))?;
    let body = &data[end..];
    let mut out = HashMap::new();
    for (name, info) in header.as_object().ok_or_else(|| fail("header is not an object".into()))? {
        if !name.starts_with(prefix) || name == "__metadata__" {
            continue;
        }
        let offs = &info["data_offsets"];
        let (a, b) = (offs[0].as_u64().unwrap_or(0) as usize, offs[1].as_u64().unwrap_or(0) as usize);
        let bytes = body.get(a..b).ok_or_else(|| fail(format!("{name}: offsets out of range")))?.to_vec();
        let shape = info["shape"].as_array().map(|s| s.iter().map(|d| d.as_u64().unwrap_or(0) as usize).collect());
        out.insert(
            name.clone(),
            RawTensor { shape: shape.unwrap_or_default(), dtype: info["dtype"].as_str().unwrap_or("").into(), bytes },
        );
    }
    Ok(out)
}

/// The PyTorch parameter name (notebook / `unet-c32-parity.safetensors`) of each Burn
/// parameter path of this network, e.g. `levels.1.enc.0.res.conv1.weight` ↔
/// `net.2.main.1.main.0.weight`.
pub fn torch_names(unet: &UNet) -> Vec<(String, String)> {
    let mut out = vec![("timestep_embed.weight".to_string(), "timestep_embed".to_string())];
    if unet.class_embed.is_some() {
        out.push(("class_embed.weight".into(), "class_embed.weight".into()));
    }
    let mut prefix = "net.".to_string();
    let n = unet.levels.len();
    for (k, lvl) in unet.levels.iter().enumerate() {
        // Position in the torch nn.Sequential of this level: `Down` comes first below level 0.
        let mut pos = usize::from(k > 0);
        let mut skip_pos = 0;
        for (part, blocks) in [("enc", &lvl.enc), ("dec", &lvl.dec)] {
            if part == "dec" && k + 1 < n {
                skip_pos = pos;
                pos += 1;
            }
            for (j, blk) in blocks.iter().enumerate() {
                let burn = format!("levels.{k}.{part}.{j}");
                let res = format!("{prefix}{pos}");
                for (b, t) in [("conv1", "main.0"), ("conv2", "main.3")] {
                    for p in ["weight", "bias"] {
                        out.push((format!("{res}.{t}.{p}"), format!("{burn}.res.{b}.{p}")));
                    }
                }
                if blk.res.skip.is_some() {
                    out.push((format!("{res}.skip.weight"), format!("{burn}.res.skip.weight")));
                }
                pos += 1;
                if blk.attn.is_some() {
                    let a = format!("{prefix}{pos}");
                    for (t, b) in [("norm.weight", "norm.gamma"), ("norm.bias", "norm.beta")] {
                        out.push((format!("{a}.{t}"), format!("{burn}.attn.{b}")));
                    }
                    for m in ["qkv_proj", "out_proj"] {
                        for p in ["weight", "bias"] {
                            out.push((format!("{a}.{m}.{p}"), format!("{burn}.attn.{m}.{p}")));
                        }
                    }
                    pos += 1;
                }
            }
        }
        prefix = format!("{prefix}{skip_pos}.main.");
    }
    out
}
