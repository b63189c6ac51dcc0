//! The DDIM update shared by every sampler (method §5).
//!
//! Code names ↔ the paper's symbols: `alpha`, `sigma` = α_t, σ_t of the schedule;
//! `v` = the predicted velocity v̂; `pred` = x̂₀; `eps` = ε̂; `ddim_sigma` = the η-scaled
//! noise level added back; `adjusted` = the share of ε̂ kept.

use burn::tensor::{Device, Tensor};

use crate::noise::Noise;
use crate::schedule::{alpha_sigma, log_snr};

/// One step from `times[i]` to `times[i + 1]`. Returns the next state and `pred`; at the last
/// step the "next state" is `pred` itself.
pub(super) fn update(
    x: Tensor<4>,
    v: Tensor<4>,
    i: usize,
    times: &[f64],
    eta: f64,
    noise: &mut Noise,
    device: &Device,
) -> (Tensor<4>, Tensor<4>) {
    let (alpha, sigma) = alpha_sigma(log_snr(times[i]));
    let pred = x.clone() * alpha - v.clone() * sigma;
    if i + 1 == times.len() {
        return (pred.clone(), pred);
    }
    let eps = x * sigma + v * alpha;
    let (alpha_next, sigma_next) = alpha_sigma(log_snr(times[i + 1]));
    let ddim_sigma =
        eta * (sigma_next.powi(2) / sigma.powi(2)).sqrt() * (1.0 - alpha.powi(2) / alpha_next.powi(2)).sqrt();
    let adjusted = (sigma_next.powi(2) - ddim_sigma.powi(2)).sqrt();
    let mut next = pred.clone() * alpha_next + eps * adjusted;
    if eta > 0.0 {
        next = next + noise.normal_tensor(pred.dims(), device) * ddim_sigma;
    }
    (next, pred)
}
