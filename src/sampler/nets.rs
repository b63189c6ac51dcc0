//! What the samplers need from the networks, as two small traits: the U-Net role
//! ([`Denoiser`]) and the additional layer's role ([`Steer`]). The real networks implement
//! them; tests plug in deterministic dummies (diffusers-style "full loop" tests).

use burn::tensor::{Int, Tensor, TensorData};

use crate::model::{ClassLayer, UNet};

pub trait Denoiser {
    /// Predicted velocity for every row at one log-SNR.
    ///
    /// # Shapes
    /// `x`: `[B, 3, 32, 32]`, `classes`: `B` labels (conditional models) → `[B, 3, 32, 32]`
    fn velocity(&self, x: Tensor<4>, log_snr: f64, classes: &[usize]) -> Tensor<4>;
    fn is_conditional(&self) -> bool;
}

pub trait Steer {
    /// Row `i` of `v` steered to `classes[i]`.
    fn steer(&self, v: Tensor<4>, classes: &[usize]) -> Tensor<4>;
    /// Every row of `v` once per class: row `r·k + j` is row `r` steered to `classes[j]`.
    fn fan_out(&self, v: Tensor<4>, classes: &[usize]) -> Tensor<4>;
}

pub(crate) fn class_tensor(classes: &[usize], device: &burn::tensor::Device) -> Tensor<1, Int> {
    let c: Vec<i64> = classes.iter().map(|&c| c as i64).collect();
    Tensor::from_data(TensorData::new(c, [classes.len()]), device)
}

impl Denoiser for UNet {
    fn velocity(&self, x: Tensor<4>, log_snr: f64, classes: &[usize]) -> Tensor<4> {
        let device = x.device();
        let b = x.dims()[0];
        let ls = Tensor::<1>::full([b], log_snr as f32, &device);
        let cls = self.is_conditional().then(|| class_tensor(classes, &device));
        self.forward(x, ls, cls)
    }

    fn is_conditional(&self) -> bool {
        UNet::is_conditional(self)
    }
}

impl Steer for ClassLayer {
    fn steer(&self, v: Tensor<4>, classes: &[usize]) -> Tensor<4> {
        let cls = class_tensor(classes, &v.device());
        self.forward(v, cls)
    }

    fn fan_out(&self, v: Tensor<4>, classes: &[usize]) -> Tensor<4> {
        ClassLayer::fan_out(self, v, classes)
    }
}
