//! What the samplers need from the networks, as two small traits: the U-Net role
//! ([`Denoiser`]) and the steering role ([`Steer`]). The real networks implement them; tests
//! plug in deterministic dummies (diffusers-style "full loop" tests).

use burn::tensor::{Int, Tensor, TensorData};

pub(crate) use crate::model::repeat_rows;
use crate::model::{tile_classes, ClassLayer, GuideNet, UNet};

pub trait Denoiser {
    /// Predicted velocity for every row at one log-SNR.
    ///
    /// # Shapes
    /// `x`: `[B, 3, 32, 32]`, `classes`: `B` labels (conditional models) → `[B, 3, 32, 32]`
    fn velocity(&self, x: Tensor<4>, log_snr: f64, classes: &[usize]) -> Tensor<4>;
    fn is_conditional(&self) -> bool;

    /// As [`velocity`](Self::velocity), with the inner feature maps a steering network may
    /// read ([`UNet::forward_features`]); none for a denoiser without them.
    fn velocity_features(&self, x: Tensor<4>, log_snr: f64, classes: &[usize]) -> (Tensor<4>, Vec<Tensor<4>>) {
        (self.velocity(x, log_snr, classes), Vec::new())
    }

    /// Channels and side of each of those feature maps.
    fn feature_shapes(&self) -> Vec<[usize; 2]> {
        Vec::new()
    }
}

/// What the U-Net was given and said for a batch of rows, which a steering network steers: the
/// state `x`, the velocity `v` (perturbed, for v2's copies) and the U-Net's inner feature maps
/// for those rows (empty when nothing reads them).
///
/// # Shapes
/// `x`, `v`: `[B, 3, 32, 32]`, `features`: `[B, …]` each
#[derive(Clone, Debug)]
pub struct Prediction {
    pub x: Tensor<4>,
    pub v: Tensor<4>,
    pub features: Vec<Tensor<4>>,
}

impl Prediction {
    /// Rows in the batch.
    pub fn rows(&self) -> usize {
        self.v.dims()[0]
    }

    /// Each row `k` times in place: row `r·k + j` is row `r` (a fan-out's layout).
    pub fn repeat_rows(self, k: usize) -> Self {
        Prediction {
            x: repeat_rows(self.x, k),
            v: repeat_rows(self.v, k),
            features: self.features.into_iter().map(|f| repeat_rows(f, k)).collect(),
        }
    }
}

pub trait Steer {
    /// Row `i` of the unconditional velocity `p.v` steered to `classes[i]`, at the noise level
    /// it was predicted at. Only a network that [reads them](Self::feature_shapes) looks at the
    /// features; the paper's layer looks at `v` alone.
    ///
    /// # Shapes
    /// `p`: `B` rows, `classes`: `B` labels → `[B, 3, 32, 32]`
    fn steer(&self, p: Prediction, log_snr: f64, classes: &[usize]) -> Tensor<4>;

    /// Every row once per class: row `r·k + j` is row `r` steered to `classes[j]`.
    ///
    /// # Shapes
    /// `p`: `m` rows, `classes`: `k` labels → `[m·k, 3, 32, 32]`
    fn fan_out(&self, p: Prediction, log_snr: f64, classes: &[usize]) -> Tensor<4> {
        let tiled = tile_classes(classes, p.rows());
        self.steer(p.repeat_rows(classes.len()), log_snr, &tiled)
    }

    /// The U-Net feature maps it reads, as `[channels, side]` each in
    /// [`Denoiser::feature_shapes`] order; empty when it reads none.
    fn feature_shapes(&self) -> Vec<[usize; 2]> {
        Vec::new()
    }
}

/// Labels or row indices as an `Int` tensor (class inputs, `select`).
pub(crate) fn index_tensor(indices: &[usize], device: &burn::tensor::Device) -> Tensor<1, Int> {
    let c: Vec<i64> = indices.iter().map(|&c| c as i64).collect();
    Tensor::from_data(TensorData::new(c, [indices.len()]), device)
}

impl Denoiser for UNet {
    fn velocity(&self, x: Tensor<4>, log_snr: f64, classes: &[usize]) -> Tensor<4> {
        let device = x.device();
        let b = x.dims()[0];
        let ls = Tensor::<1>::full([b], log_snr as f32, &device);
        let cls = self.is_conditional().then(|| index_tensor(classes, &device));
        self.forward(x, ls, cls)
    }

    fn is_conditional(&self) -> bool {
        UNet::is_conditional(self)
    }

    fn velocity_features(&self, x: Tensor<4>, log_snr: f64, classes: &[usize]) -> (Tensor<4>, Vec<Tensor<4>>) {
        let device = x.device();
        let b = x.dims()[0];
        let ls = Tensor::<1>::full([b], log_snr as f32, &device);
        let cls = self.is_conditional().then(|| index_tensor(classes, &device));
        self.forward_features(x, ls, cls)
    }

    fn feature_shapes(&self) -> Vec<[usize; 2]> {
        UNet::feature_shapes(self)
    }
}

impl Steer for ClassLayer {
    fn steer(&self, p: Prediction, _: f64, classes: &[usize]) -> Tensor<4> {
        let cls = index_tensor(classes, &p.v.device());
        self.forward(p.v, cls)
    }

    /// The encoder runs once per input row, not once per output row.
    fn fan_out(&self, p: Prediction, _: f64, classes: &[usize]) -> Tensor<4> {
        ClassLayer::fan_out(self, p.v, classes)
    }
}

impl Steer for GuideNet {
    fn steer(&self, p: Prediction, log_snr: f64, classes: &[usize]) -> Tensor<4> {
        let device = p.v.device();
        let ls = Tensor::<1>::full([p.rows()], log_snr as f32, &device);
        self.forward(p.x, p.v, &p.features, ls, index_tensor(classes, &device))
    }

    fn feature_shapes(&self) -> Vec<[usize; 2]> {
        self.feature_width().map(|c| vec![[c, 16], [2 * c, 8]]).unwrap_or_default()
    }
}

/// The conditional U-Net as the steering network: steered steps use its velocity for the
/// row's class instead of the unconditional one, so `v + s·(steered − v)` is classifier-free
/// guidance. It costs a U-Net forward per steered row; the sampler counts those rows.
impl Steer for UNet {
    fn steer(&self, p: Prediction, log_snr: f64, classes: &[usize]) -> Tensor<4> {
        self.velocity(p.x, log_snr, classes)
    }
}

/// A loaded steering network of any design.
// One per process, loaded once and borrowed after: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Steering {
    Layer(ClassLayer),
    Guide(GuideNet),
    /// The conditional U-Net (classifier-free guidance).
    UNet(UNet),
}

impl Steering {
    fn inner(&self) -> &dyn Steer {
        match self {
            Steering::Layer(l) => l,
            Steering::Guide(g) => g,
            Steering::UNet(u) => u,
        }
    }
}

impl Steer for Steering {
    fn steer(&self, p: Prediction, log_snr: f64, classes: &[usize]) -> Tensor<4> {
        self.inner().steer(p, log_snr, classes)
    }

    fn fan_out(&self, p: Prediction, log_snr: f64, classes: &[usize]) -> Tensor<4> {
        self.inner().fan_out(p, log_snr, classes)
    }

    fn feature_shapes(&self) -> Vec<[usize; 2]> {
        self.inner().feature_shapes()
    }
}
