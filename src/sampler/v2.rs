//! `sample_new_v2`: one noise image fans out into the `k` requested classes at step 0, then
//! into the prime factors of `N/k` (largest first) at steps `1 … len(n)`, so the first steps run
//! the U-Net on 1, k, k·n₁, … rows instead of N. [`FanOut`] is the sampler's state and its
//! steps, top to bottom as method §5 has them. Method §5 steers all copies of a row but the
//! first, which keeps the U-Net's velocity; [`CopySteering::All`] steers that one too, so that
//! no image takes an unsteered step.
//!
//! Code names ↔ method §5: `fan` = n, `w` = w, `z` = fresh standard normal noise.

use burn::tensor::Tensor;

use super::nets::repeat_rows;
use super::{CopySteering, SampleConfig, Sampler, Sampling};

/// Prime factors of `m`, largest first: 50 → [5, 5, 2], 10 → [5, 2], 1 → [].
pub fn fan_factors(mut m: usize) -> Vec<usize> {
    let mut f = Vec::new();
    let mut p = 2;
    while m > 1 {
        while m.is_multiple_of(p) {
            f.push(p);
            m /= p;
        }
        p += 1;
        if p * p > m && m > 1 {
            f.push(m);
            break;
        }
    }
    f.sort_unstable_by(|a, b| b.cmp(a));
    f
}

/// U-Net rows v2 evaluates at each of `steps` steps for `n` images of `k` classes:
/// `[1, k, k·n₁, …, N, N, …]`.
pub fn v2_rows_per_step(k: usize, n: usize, steps: usize) -> Vec<usize> {
    // No class (k = 0, which validation refuses) plans no fan-out rather than dividing by zero.
    let factors = fan_factors(n.checked_div(k).unwrap_or(0));
    let mut rows = Vec::with_capacity(steps);
    let mut batch = 1;
    for i in 0..steps {
        rows.push(batch);
        batch *= if i == 0 { k } else { factors.get(i - 1).copied().unwrap_or(1) };
    }
    rows
}

/// U-Net rows v2 evaluates in all: `1 + k + k·n₁ + … + N·(remaining steps)`.
pub fn v2_unet_rows(k: usize, n: usize, steps: usize) -> usize {
    v2_rows_per_step(k, n, steps).iter().sum()
}

/// v2's fan-out plan: it starts from one row and grows the rows at its fan-out steps, telling
/// the stepper how ([`Growth`]); the stepper's rows follow, and at the end it regroups the tiled
/// rows into class blocks ([`output_positions`]).
pub(super) struct FanOut {
    /// Step `i` (1 ≤ i ≤ len) multiplies the rows by `factors[i − 1]`.
    factors: Vec<usize>,
    /// Scale of the noise that parts a row's copies.
    w: f64,
    /// Whether a row's first copy is steered too.
    steer_first: bool,
}

/// How a fan-out step grows the rows.
pub(super) enum Growth {
    /// The one starting row becomes one row per class, in this order.
    IntoClasses(Vec<usize>),
    /// Every row becomes this many rows of its class.
    Copies(usize),
}

impl FanOut {
    /// The rows v2 starts from: one noise image.
    pub(super) const START_ROWS: usize = 1;

    /// v2's fan-out for `cfg`; `None` when `cfg` runs another sampler.
    pub(super) fn of(cfg: &SampleConfig) -> Option<Self> {
        match cfg.sampler {
            Sampler::V2 { w, copies, .. } => Some(Self {
                factors: fan_factors(cfg.n / cfg.classes.len()),
                w,
                steer_first: copies == CopySteering::All,
            }),
            _ => None,
        }
    }

    /// Velocity for step `i`; may grow the batch, so returns the (repeated) state with it.
    pub(super) fn velocity(&self, run: &mut Sampling, x: Tensor<4>, log_snr: f64) -> (Tensor<4>, Tensor<4>) {
        let i = run.i;
        let v = run.unet(x.clone(), log_snr);
        if i == 0 {
            // Method §5, step 0: the one row becomes one row per class, each steered to it.
            let classes = run.cfg.classes.clone();
            let k = classes.len();
            let plain = repeat_rows(v.clone(), k);
            let v = if run.cfg.steers(0) {
                let steered = run.steering().fan_out(run.prediction(x.clone(), v), log_snr, &classes);
                run.count_steered(steered.dims()[0]);
                run.scale(plain, steered)
            } else {
                plain
            };
            return run.grow(Growth::IntoClasses(classes), repeat_rows(x, k), v);
        }
        if let Some(&copies) = self.factors.get(i - 1) {
            // Steps 1 … len(n): each row becomes `copies` rows, all but the first perturbed by
            // w·z; those are steered, and the first where `steer_first`.
            let first = if self.steer_first { run.steer(x.clone(), v.clone(), log_snr) } else { v.clone() };
            let mut vs = vec![first];
            for _ in 1..copies {
                let z = run.fresh_noise();
                vs.push(run.steer(x.clone(), v.clone() + z * self.w, log_snr));
            }
            // Tiled, so row j and row j + b share a class.
            return run.grow(Growth::Copies(copies), x.repeat_dim(0, copies), Tensor::cat(vs, 0));
        }
        // The remaining steps: every row steered like v1's.
        let v = run.steer(x.clone(), v, log_snr);
        (x, v)
    }
}

/// Where each of v2's final rows stands among the output images. The rows are tiled — row `r`
/// of `n` has class `classes[r mod k]` — and the output is in class blocks of `n/k` (in row
/// order within a block): row `r` goes to `(r mod k)·n/k + r div k`.
pub(super) fn output_positions(ids: &[usize], k: usize, n: usize) -> Vec<usize> {
    ids.iter().map(|&r| (r % k) * (n / k) + r / k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiled_rows_go_to_their_class_block_in_row_order() {
        // N = 6, k = 2: rows alternate classes a, b, a, b, a, b.
        assert_eq!(output_positions(&[0, 1, 2, 3, 4, 5], 2, 6), [0, 3, 1, 4, 2, 5]);
        // A part holding rows 1, 3, 5 (class b) fills the second block.
        assert_eq!(output_positions(&[1, 3, 5], 2, 6), [3, 4, 5]);
        // k = 3, N = 6: rows 0…5 have classes 0 1 2 0 1 2.
        assert_eq!(output_positions(&[0, 1, 2, 3, 4, 5], 3, 6), [0, 2, 4, 1, 3, 5]);
    }

    #[test]
    fn fan_factors_are_the_prime_factors_largest_first() {
        assert_eq!(fan_factors(50), [5, 5, 2]);
        assert_eq!(fan_factors(10), [5, 2]);
        assert_eq!(fan_factors(1), [] as [usize; 0]);
        assert_eq!(fan_factors(49), [7, 7]);
    }
}
