//! DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided Sampling of
//! Diffusion Probabilistic Models", Algorithm 2), in its data-prediction form with x̂₀ derived
//! from the velocity, and its SDE form for eta > 0 (the paper's §5 and k-diffusion's
//! `sample_dpmpp_2m_sde`, midpoint variant, moved from the variance-exploding to this
//! variance-preserving parameterisation).
//!
//! Code names ↔ symbols: `alpha`, `sigma` = α_t, σ_t; `lambda` = λ_t = log(α_t/σ_t), half of
//! the schedule's log-SNR; `h` = h_i = λ_{t_{i+1}} − λ_{t_i}; `r` = r_i = h_{i−1}/h_i; `pred` =
//! x̂₀ (x_θ in the paper); `prev` = the previous step's x̂₀; `d` = D_i, the extrapolated
//! x̂₀; `eta` = η of the SDE form (the share of fresh noise; 0 is the ODE solver).
//!
//! With η at 0 or 1 its first step (no history yet) is DDIM's step with the same eta.

use burn::tensor::Tensor;

use super::solver::SolverOutput;
use crate::schedule::{alpha_sigma, log_snr};

/// One step from `t_i` to `t_{i+1}`, its schedule values computed once.
pub(super) struct DpmStep {
    alpha: f64,
    sigma: f64,
    /// `(alpha, sigma, h)` toward `t_{i+1}`; `None` at the last step, which returns x̂₀.
    next: Option<(f64, f64, f64)>,
    /// `h_{i−1}`, the previous step's width in λ (`None` at the first step).
    h_prev: Option<f64>,
    eta: f64,
}

/// λ = log(α/σ) = log-SNR / 2.
fn lambda(t: f64) -> f64 {
    log_snr(t) / 2.0
}

impl DpmStep {
    pub(super) fn new(times: &[f64], i: usize, eta: f64) -> Self {
        let (alpha, sigma) = alpha_sigma(log_snr(times[i]));
        let next = times.get(i + 1).map(|&t| {
            let (a, s) = alpha_sigma(log_snr(t));
            (a, s, lambda(t) - lambda(times[i]))
        });
        let h_prev = i.checked_sub(1).map(|j| lambda(times[i]) - lambda(times[j]));
        Self { alpha, sigma, next, h_prev, eta }
    }

    /// The next state and x̂₀; `prev` is the previous step's x̂₀ for the same rows (`None`
    /// makes this a first-order step). At the last step the "next state" is x̂₀ itself.
    pub(super) fn apply(
        &self,
        x: Tensor<4>,
        v: Tensor<4>,
        prev: Option<Tensor<4>>,
        draw: impl FnOnce() -> Tensor<4>,
    ) -> SolverOutput {
        // 1. x̂₀ = α·x − σ·v̂ (method §2).
        let pred = x.clone() * self.alpha - v * self.sigma;
        let Some((alpha_next, sigma_next, h)) = self.next else {
            return SolverOutput { next: pred.clone(), pred };
        };
        // 2. D_i = x̂₀ + (x̂₀ − x̂₀_prev)/(2r): the multistep extrapolation (Algorithm 2, line 5).
        let d = match (prev, self.h_prev) {
            (Some(prev), Some(h_prev)) => {
                let r = h_prev / h;
                pred.clone() + (pred.clone() - prev) * (1.0 / (2.0 * r))
            }
            _ => pred.clone(),
        };
        // 3. x_{i+1} = (σ_{i+1}/σ_i)·e^{−ηh}·x_i + α_{i+1}·(1 − e^{−(1+η)h})·D_i
        //             + σ_{i+1}·√(1 − e^{−2ηh})·z
        let eh = self.eta * h;
        let keep = sigma_next / self.sigma * (-eh).exp();
        let toward = -alpha_next * (-h - eh).exp_m1();
        let mut next = x * keep + d * toward;
        if self.eta > 0.0 {
            let fresh = sigma_next * (-(-2.0 * eh).exp_m1()).sqrt();
            next = next + draw() * fresh;
        }
        SolverOutput { next, pred }
    }
}
