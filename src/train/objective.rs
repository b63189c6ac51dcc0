//! The v-objective of method §2: which noise levels the loss sees and how it weighs them, the
//! loss of one batch, and the validation loss on a fixed test subset.

use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::adapters::{frozen_velocity, Frozen, Trainable};
use super::data::Cifar;
use crate::noise::Noise;
use crate::schedule;

/// Which noise levels the loss sees and how it weighs them; the default is method §2.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct Objective {
    /// `t` is drawn uniformly from `[t_min, t_max]` (validation: a stratified grid over it).
    pub t_min: f64,
    pub t_max: f64,
    /// Weigh each image's squared v error by sigmoid(log-SNR) = alpha² (method §2); `false`:
    /// the plain v error, which at high noise is the error of x̂₀ (`x̂₀ = alpha·x_t − sigma·v̂`).
    pub sigmoid_weight: bool,
    /// Distillation: the target is the frozen conditional U-Net's velocity for the same noisy
    /// image and class ([`Frozen::teacher`]) instead of the data's `v` — the same mean, without
    /// the data's variance, which at high noise dwarfs the class signal.
    #[serde(default)]
    pub distill: bool,
}

impl Default for Objective {
    fn default() -> Self {
        Self { t_min: 0.0, t_max: 1.0, sigmoid_weight: true, distill: false }
    }
}

impl Objective {
    /// Map `u ∈ [0, 1)` into the objective's `t` range.
    pub fn t(&self, u: f64) -> f64 {
        self.t_min + (self.t_max - self.t_min) * u
    }

    /// The loss weight of an image at `log_snr`.
    pub fn weight(&self, log_snr: f64) -> f64 {
        if self.sigmoid_weight {
            schedule::loss_weight(log_snr)
        } else {
            1.0
        }
    }
}

fn per_row(v: &[f32], device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len(), 1, 1, 1]), device)
}

/// The v-objective loss of method §2 for one batch at times `t`, with `eps` from `rng`; with a
/// teacher, the target is the teacher's velocity for the same `x_t` and class (distillation).
#[allow(clippy::too_many_arguments)]
pub fn loss<M: Trainable>(
    model: &M,
    frozen: Frozen,
    x0: Tensor<4>,
    classes: Tensor<1, Int>,
    t: &[f64],
    objective: &Objective,
    rng: &mut Noise,
    dropout: bool,
) -> Tensor<1> {
    let device = x0.device();
    let b = t.len();
    let ls: Vec<f64> = t.iter().map(|&t| schedule::log_snr(t)).collect();
    let (alpha, sigma): (Vec<f32>, Vec<f32>) = ls
        .iter()
        .map(|&l| {
            let (a, s) = schedule::alpha_sigma(l);
            (a as f32, s as f32)
        })
        .unzip();
    let weight: Vec<f32> = ls.iter().map(|&l| objective.weight(l) as f32).collect();
    let eps = rng.normal_tensor([b, 3, 32, 32], &device);
    let (a, s) = (per_row(&alpha, &device), per_row(&sigma, &device));
    let x_t = x0.clone() * a.clone() + eps.clone() * s.clone();
    let log_snr =
        Tensor::<1>::from_data(TensorData::new(ls.iter().map(|&l| l as f32).collect::<Vec<_>>(), [b]), &device);
    let target = if objective.distill {
        let teacher = frozen.teacher.expect("distillation needs the conditional U-Net");
        frozen_velocity(teacher, x_t.clone(), log_snr.clone(), Some(classes.clone())).detach()
    } else {
        eps * a - x0 * s
    };
    let v = model.predict(frozen, x_t, log_snr, classes, if dropout { Some(rng) } else { None });
    let per_image = (v - target).powi_scalar(2).mean_dim(3).mean_dim(2).mean_dim(1).reshape([b]);
    let w = Tensor::<1>::from_data(TensorData::new(weight, [b]), &device);
    (per_image * w).mean()
}

/// Validation loss of `model` on the first `n` images of `val`: a fixed noise seed and a fixed
/// stratified `t` grid over the objective's range, so evaluations are comparable across the run
/// and across runs.
pub fn validation_loss<M: Trainable>(
    model: &M,
    frozen: Frozen,
    val: &Cifar,
    n: usize,
    objective: &Objective,
    device: &Device,
) -> f64 {
    let n = n.min(val.len());
    let mut rng = Noise::with_stream(0x5eed, 7);
    // Summed on the device and read once: one wait for the device per validation.
    let mut total: Option<Tensor<1>> = None;
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let (x0, cls) = val.batch(chunk, None, device);
        let t: Vec<f64> = chunk.iter().map(|&i| objective.t((i as f64 + 0.5) / n as f64)).collect();
        let l = loss(model, frozen, x0, cls, &t, objective, &mut rng, false) * chunk.len() as f64;
        total = Some(add_on_device(total.take(), l));
    }
    total.map_or(0.0, |t| t.into_scalar::<f32>() as f64 / n as f64)
}

/// `sum + x` without reading either back (`x` alone when there is no sum yet).
pub(super) fn add_on_device(sum: Option<Tensor<1>>, x: Tensor<1>) -> Tensor<1> {
    match sum {
        Some(sum) => sum + x,
        None => x,
    }
}
