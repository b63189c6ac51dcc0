//! The update rule every sampler steps with: DDIM (`ddim.rs`) or DPM-Solver++(2M) (`dpm.rs`),
//! each returning a [`SolverOutput`] (diffusers' `prev_sample` and `pred_original_sample`).

use burn::tensor::Tensor;

use super::ddim::DdimStep;
use super::dpm::DpmStep;
use super::Solver;

/// What one solver step gives.
pub(super) struct SolverOutput {
    /// The state at `t_{i+1}` (at the last step: x̂₀ itself).
    pub next: Tensor<4>,
    /// x̂₀ predicted at `t_i`, `[rows, 3, 32, 32]` in `[−1, 1]`.
    pub pred: Tensor<4>,
}

/// Step `i` of `times` by `solver` from `x` with velocity `v`; `history` is the previous step's
/// x̂₀ of the same rows (the multistep solver's memory, which it updates), `draw` fresh noise.
pub(super) fn solve(
    solver: Solver,
    times: &[f64],
    i: usize,
    eta: f64,
    (x, v): (Tensor<4>, Tensor<4>),
    history: &mut Option<Tensor<4>>,
    draw: impl FnOnce() -> Tensor<4>,
) -> SolverOutput {
    match solver {
        Solver::Ddim => DdimStep::new(times, i, eta).apply(x, v, draw),
        Solver::DpmPp2m => {
            let out = DpmStep::new(times, i, eta).apply(x, v, history.take(), draw);
            *history = Some(out.pred.clone());
            out
        }
    }
}
