//! Deterministic dummy networks for the full-loop sampler tests (diffusers-style).
#![allow(dead_code)]

use burn::tensor::{Tensor, TensorData};
use vdiff::burn;
use vdiff::sampler::{Denoiser, Prediction, Steer};
use vdiff::schedule::{alpha_sigma, log_snr};

/// `v = 0.3·x + 0.01·log_snr (+ 0.05·class when conditional)`.
pub struct DummyUNet {
    pub conditional: bool,
}

fn per_row(values: Vec<f32>, like: &Tensor<4>) -> Tensor<4> {
    let b = values.len();
    Tensor::<4>::from_data(TensorData::new(values, [b, 1, 1, 1]), &like.device())
}

impl Denoiser for DummyUNet {
    fn velocity(&self, x: Tensor<4>, log_snr: f64, classes: &[usize]) -> Tensor<4> {
        let b = x.dims()[0];
        let offs: Vec<f32> = (0..b)
            .map(|i| 0.01 * log_snr as f32 + if self.conditional { 0.05 * classes[i] as f32 } else { 0.0 })
            .collect();
        let o = per_row(offs, &x);
        x.clone() * 0.3 + o
    }
    fn is_conditional(&self) -> bool {
        self.conditional
    }
}

/// `steer(v, c) = 0.9·v + 0.02·(c + 1)`.
pub struct DummyLayer;

impl Steer for DummyLayer {
    fn steer(&self, p: Prediction, _: f64, classes: &[usize]) -> Tensor<4> {
        let o = per_row(classes.iter().map(|&c| 0.02 * (c + 1) as f32).collect(), &p.v);
        p.v * 0.9 + o
    }
}

/// [`DummyUNet`] whose one inner feature map is its input `x` (`[B, 3, 32, 32]`).
pub struct FeatureUNet(pub DummyUNet);

impl Denoiser for FeatureUNet {
    fn velocity(&self, x: Tensor<4>, log_snr: f64, classes: &[usize]) -> Tensor<4> {
        self.0.velocity(x, log_snr, classes)
    }
    fn is_conditional(&self) -> bool {
        self.0.conditional
    }
    fn velocity_features(&self, x: Tensor<4>, log_snr: f64, classes: &[usize]) -> (Tensor<4>, Vec<Tensor<4>>) {
        (self.velocity(x.clone(), log_snr, classes), vec![x])
    }
    fn feature_shapes(&self) -> Vec<[usize; 2]> {
        vec![[3, 32]]
    }
}

/// `steer = 0.9·v + 0.1·input + 0.02·(c + 1)`, where the input is the U-Net's feature map
/// (`from_features`) or the state `x` it was computed from: the two must steer alike.
pub struct InputLayer {
    pub from_features: bool,
}

impl Steer for InputLayer {
    fn steer(&self, p: Prediction, _: f64, classes: &[usize]) -> Tensor<4> {
        let input = if self.from_features { p.features[0].clone() } else { p.x };
        let o = per_row(classes.iter().map(|&c| 0.02 * (c + 1) as f32).collect(), &p.v);
        p.v * 0.9 + input * 0.1 + o
    }
    fn feature_shapes(&self) -> Vec<[usize; 2]> {
        if self.from_features {
            vec![[3, 32]]
        } else {
            Vec::new()
        }
    }
}

/// The exact denoiser of Gaussian data, every pixel `N(mean, std²)`: x̂₀ is the posterior mean
/// `mean + α·std²·(x − α·mean)/(α²·std² + σ²)`, returned as the velocity `(α·x − x̂₀)/σ`.
pub struct GaussianData {
    pub mean: f64,
    pub std: f64,
}

impl GaussianData {
    /// The probability-flow ODE's exact map of a state at `t_from` to `t_to`: the standardised
    /// deviation from the mean is preserved.
    pub fn flow(&self, x: Tensor<4>, t_from: f64, t_to: f64) -> Tensor<4> {
        let spread = |t: f64| {
            let (a, s) = alpha_sigma(log_snr(t));
            (a, (a * a * self.std * self.std + s * s).sqrt())
        };
        let ((a0, r0), (a1, r1)) = (spread(t_from), spread(t_to));
        (x - a0 * self.mean) * (r1 / r0) + a1 * self.mean
    }
}

impl Denoiser for GaussianData {
    fn velocity(&self, x: Tensor<4>, log_snr: f64, _: &[usize]) -> Tensor<4> {
        let (a, s) = alpha_sigma(log_snr);
        let var = self.std * self.std;
        let pred = (x.clone() - a * self.mean) * (a * var / (a * a * var + s * s)) + self.mean;
        (x * a - pred) / s
    }
    fn is_conditional(&self) -> bool {
        false
    }
}

pub fn to_vec(t: Tensor<4>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

/// Order-sensitive checksum rounded so float noise in the last bits does not matter.
pub fn checksum(v: &[f32]) -> (f64, f64) {
    let sum: f64 = v.iter().map(|&x| x as f64).sum();
    let weighted: f64 = v.iter().enumerate().map(|(i, &x)| x as f64 * ((i % 97) as f64 + 1.0)).sum();
    ((sum * 1e3).round() / 1e3, (weighted * 1e2).round() / 1e2)
}
