//! The DDIM update of method §5, one of the two solvers a sampler steps with.
//!
//! Code names ↔ symbols (method §1, §5; Song et al. 2021, "Denoising Diffusion Implicit
//! Models", with their ᾱ written alpha² here): `alpha`, `sigma` = α_t, σ_t of the schedule;
//! `v` = the predicted velocity v̂; `pred` = x̂₀; `eps` = ε̂; `ddim_sigma` = σ_t(η) of DDIM
//! eq. (16), the noise added back; `adjusted` = the share of ε̂ kept.

use burn::tensor::Tensor;

use super::solver::SolverOutput;
use crate::schedule::{alpha_sigma, log_snr};

/// One step from `t_i` to `t_{i+1}`, its schedule values computed once.
pub(super) struct DdimStep {
    alpha: f64,
    sigma: f64,
    /// `(alpha, sigma)` at `t_{i+1}`; `None` at the last step, which returns x̂₀.
    next: Option<(f64, f64)>,
    eta: f64,
}

impl DdimStep {
    pub(super) fn new(times: &[f64], i: usize, eta: f64) -> Self {
        let (alpha, sigma) = alpha_sigma(log_snr(times[i]));
        let next = times.get(i + 1).map(|&t| alpha_sigma(log_snr(t)));
        Self { alpha, sigma, next, eta }
    }

    /// DDIM eq. (16): σ_t(η) = η·√((1 − ᾱ_{t−1})/(1 − ᾱ_t))·√(1 − ᾱ_t/ᾱ_{t−1}); with
    /// ᾱ = alpha² and 1 − ᾱ = sigma², and `t−1` the next (less noisy) time.
    fn ddim_sigma(&self, alpha_next: f64, sigma_next: f64) -> f64 {
        self.eta
            * (sigma_next.powi(2) / self.sigma.powi(2)).sqrt()
            * (1.0 - self.alpha.powi(2) / alpha_next.powi(2)).sqrt()
    }

    /// The next state and x̂₀; at the last step the "next state" is x̂₀ itself.
    pub(super) fn apply(&self, x: Tensor<4>, v: Tensor<4>, draw: impl FnOnce() -> Tensor<4>) -> SolverOutput {
        // 1. x̂₀ = alpha·x − sigma·v̂ (method §2).
        let pred = x.clone() * self.alpha - v.clone() * self.sigma;
        let Some((alpha_next, sigma_next)) = self.next else {
            return SolverOutput { next: pred.clone(), pred };
        };
        // 2. ε̂ = sigma·x + alpha·v̂.
        let eps = x * self.sigma + v * self.alpha;
        // 3. DDIM eq. (12): x_{t−1} = alpha_next·x̂₀ + √(sigma_next² − σ_t(η)²)·ε̂ + σ_t(η)·z.
        let ddim_sigma = self.ddim_sigma(alpha_next, sigma_next);
        let adjusted = (sigma_next.powi(2) - ddim_sigma.powi(2)).sqrt();
        let mut next = pred.clone() * alpha_next + eps * adjusted;
        if self.eta > 0.0 {
            next = next + draw() * ddim_sigma;
        }
        SolverOutput { next, pred }
    }
}
