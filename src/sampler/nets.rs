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
}

pub trait Steer {
    /// Row `i` of the unconditional velocity `v` steered to `classes[i]`; `x` and `log_snr`
    /// are the state and noise level `v` was predicted from (the paper's layer ignores them).
    ///
    /// # Shapes
    /// `x`, `v`: `[B, 3, 32, 32]`, `classes`: `B` labels → `[B, 3, 32, 32]`
    fn steer(&self, x: Tensor<4>, v: Tensor<4>, log_snr: f64, classes: &[usize]) -> Tensor<4>;

    /// Every row once per class: row `r·k + j` is row `r` steered to `classes[j]`.
    ///
    /// # Shapes
    /// `x`, `v`: `[m, 3, 32, 32]`, `classes`: `k` labels → `[m·k, 3, 32, 32]`
    fn fan_out(&self, x: Tensor<4>, v: Tensor<4>, log_snr: f64, classes: &[usize]) -> Tensor<4> {
        let tiled = tile_classes(classes, v.dims()[0]);
        let (x, v) = (repeat_rows(x, classes.len()), repeat_rows(v, classes.len()));
        self.steer(x, v, log_snr, &tiled)
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
}

impl Steer for ClassLayer {
    fn steer(&self, _: Tensor<4>, v: Tensor<4>, _: f64, classes: &[usize]) -> Tensor<4> {
        let cls = index_tensor(classes, &v.device());
        self.forward(v, cls)
    }

    /// The encoder runs once per input row, not once per output row.
    fn fan_out(&self, _: Tensor<4>, v: Tensor<4>, _: f64, classes: &[usize]) -> Tensor<4> {
        ClassLayer::fan_out(self, v, classes)
    }
}

impl Steer for GuideNet {
    fn steer(&self, x: Tensor<4>, v: Tensor<4>, log_snr: f64, classes: &[usize]) -> Tensor<4> {
        let device = v.device();
        let ls = Tensor::<1>::full([v.dims()[0]], log_snr as f32, &device);
        self.forward(x, v, ls, index_tensor(classes, &device))
    }
}

/// The conditional U-Net as the steering network: steered steps use its velocity for the
/// row's class instead of the unconditional one, so `v + s·(steered − v)` is classifier-free
/// guidance. It costs a U-Net forward per steered row; the sampler counts those rows.
impl Steer for UNet {
    fn steer(&self, x: Tensor<4>, _: Tensor<4>, log_snr: f64, classes: &[usize]) -> Tensor<4> {
        self.velocity(x, log_snr, classes)
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

impl Steer for Steering {
    fn steer(&self, x: Tensor<4>, v: Tensor<4>, log_snr: f64, classes: &[usize]) -> Tensor<4> {
        match self {
            Steering::Layer(l) => l.steer(x, v, log_snr, classes),
            Steering::Guide(g) => g.steer(x, v, log_snr, classes),
            Steering::UNet(u) => Steer::steer(u, x, v, log_snr, classes),
        }
    }

    fn fan_out(&self, x: Tensor<4>, v: Tensor<4>, log_snr: f64, classes: &[usize]) -> Tensor<4> {
        match self {
            Steering::Layer(l) => Steer::fan_out(l, x, v, log_snr, classes),
            Steering::Guide(g) => Steer::fan_out(g, x, v, log_snr, classes),
            Steering::UNet(u) => Steer::fan_out(u, x, v, log_snr, classes),
        }
    }
}
