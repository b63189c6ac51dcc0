//! The networks of method §3–4, and the guide (a steering network beyond the paper).

pub mod class_layer;
pub mod conv;
pub mod conv_taps;
pub mod guide;
pub mod unet;
pub mod upsample;

pub use class_layer::{ClassLayer, ClassLayerConfig};
pub use guide::{GuideNet, GuideNetConfig};
pub use unet::{UNet, UNetConfig, CLASS_FEATURES, FOURIER_STD, MAX_WIDTH, NUM_CLASSES, TIME_FEATURES};

use burn::tensor::Tensor;

/// Each row `k` times in place: row `r·k + j` is row `r` (a fan-out's layout).
pub fn repeat_rows<const D: usize>(t: Tensor<D>, k: usize) -> Tensor<D> {
    let dims = t.dims();
    let (m, rest) = (dims[0], dims[1..].iter().product::<usize>());
    let mut out = dims;
    out[0] = m * k;
    t.reshape([m, 1, rest]).expand([m, k, rest]).reshape(out)
}

/// The labels of a fan-out of `m` rows into `classes`: `classes` repeated `m` times.
pub fn tile_classes(classes: &[usize], m: usize) -> Vec<usize> {
    (0..m).flat_map(|_| classes.iter().copied()).collect()
}
