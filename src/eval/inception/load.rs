//! Reading a PyTorch Inception-v3 state dict: the variant and the channel divisor come from the
//! file's tensor shapes, the weights through burn-store's PyTorch reader.

use std::path::Path;

use burn::store::{ModuleSnapshot, PytorchStore};
use burn::tensor::Device;

use super::{InceptionConfig, InceptionV3};

#[derive(Debug, thiserror::Error)]
pub enum InceptionError {
    #[error("{path}: {msg}")]
    Read { path: String, msg: String },
    #[error("{path} is not an Inception-v3 checkpoint: {msg}")]
    Mismatch { path: String, msg: String },
}

/// Load a PyTorch Inception-v3 state dict (`.pth`); the variant (1000 or 1008 classes) is read
/// from the file's `fc.weight`, `channel_div` from its `Conv2d_1a_3x3` width.
pub fn load_inception(path: &Path, device: &Device) -> Result<InceptionV3, InceptionError> {
    let p = path.display().to_string();
    let read = |msg: String| InceptionError::Read { path: p.clone(), msg };
    let mismatch = |msg: String| InceptionError::Mismatch { path: p.clone(), msg };
    if !path.is_file() {
        return Err(read("no such file".into()));
    }
    let reader = burn::store::pytorch_reader::PytorchReader::new(path).map_err(|e| read(e.to_string()))?;
    let shape = |k: &str| reader.get(k).map(|t| t.shape().to_vec()).ok_or_else(|| mismatch(format!("no `{k}`")));
    let fc = shape("fc.weight")?;
    let stem = shape("Conv2d_1a_3x3.conv.weight")?;
    let (&[classes, feat], &[width, ..]) = (fc.as_slice(), stem.as_slice()) else {
        return Err(mismatch(format!("fc.weight {fc:?}, Conv2d_1a_3x3.conv.weight {stem:?}")));
    };
    let div = if width > 0 && 32 % width == 0 { 32 / width } else { 0 };
    if div == 0 || feat * div != 2048 {
        return Err(mismatch(format!("stem width {width} and feature width {feat} do not fit Inception-v3")));
    }
    drop(reader);
    let config =
        InceptionConfig::new().with_num_classes(classes).with_fid_pooling(classes == 1008).with_channel_div(div);
    let mut net = config.init(device);
    let mut store = PytorchStore::from_file(path).allow_partial(true);
    let result = net.load_from(&mut store).map_err(|e| read(e.to_string()))?;
    if !result.errors.is_empty() {
        return Err(mismatch(format!("{:?}", result.errors)));
    }
    if !result.missing.is_empty() {
        let missing: Vec<String> = result.missing.into_iter().map(|(k, _)| k).collect();
        return Err(mismatch(format!("missing {missing:?}")));
    }
    Ok(net)
}
