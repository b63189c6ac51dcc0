//! `sample_new_v2`: one noise image fans out into the `k` requested classes at step 0, then
//! into the prime factors of `N/k` (largest first) at steps `1 … len(n)`, so the first steps run
//! the U-Net on 1, k, k·n₁, … rows instead of N.
//!
//! Code names ↔ method §5: `fan` = n, `w` = w, `z` = fresh standard normal noise.

use burn::tensor::Tensor;

use super::nets::repeat_rows;
use super::Sampling;

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
    let factors = fan_factors(n / k);
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

/// Velocity for step `i`; may grow the batch, so returns the (repeated) state with it.
pub(super) fn velocity(run: &mut Sampling, x: Tensor<4>, log_snr: f64) -> (Tensor<4>, Tensor<4>) {
    let i = run.i;
    let v = run.unet(x.clone(), log_snr);
    if i == 0 {
        // One row becomes one row per class.
        let classes = run.cfg.classes.clone();
        let k = classes.len();
        let plain = repeat_rows(v.clone(), k);
        let v = if run.cfg.steers(0) {
            let steered = run.layer().fan_out(x.clone(), v, log_snr, &classes);
            run.count_steered(steered.dims()[0]);
            run.scale(plain, steered)
        } else {
            plain
        };
        run.classes = classes;
        run.rows.tile(k);
        return run.keep_part(repeat_rows(x, k), v);
    }
    if let Some(&copies) = run.fan.get(i - 1) {
        let mut vs = vec![v.clone()];
        for _ in 1..copies {
            let z = run.fresh_noise();
            vs.push(run.steer(x.clone(), v.clone() + z * run.cfg.w, log_snr));
        }
        // Tiled, so row j and row j + b share a class; the solver's history follows its rows.
        run.classes = run.classes.repeat(copies);
        run.history = run.history.take().map(|h| h.repeat_dim(0, copies));
        run.rows.tile(copies);
        return run.keep_part(x.repeat_dim(0, copies), Tensor::cat(vs, 0));
    }
    let v = run.steer(x.clone(), v, log_snr);
    (x, v)
}
