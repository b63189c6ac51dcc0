//! The continuous-time noise schedule of method §1, as plain `f64` functions.
//!
//! `t ∈ [0, 1]`, `t = 0` is data and `t = 1` is noise. The notebook calls this the "DDPM"
//! schedule: `log_snr(t) = −ln(expm1(1e−4 + 10 t²))`.

/// `log_snr(t) = −ln(expm1(LOG_SNR_OFFSET + LOG_SNR_SCALE·t²))`: the offset keeps t = 0 finite.
pub const LOG_SNR_OFFSET: f64 = 1e-4;
pub const LOG_SNR_SCALE: f64 = 10.0;

/// Log signal-to-noise ratio at time `t`.
pub fn log_snr(t: f64) -> f64 {
    -(LOG_SNR_OFFSET + LOG_SNR_SCALE * t * t).exp_m1().ln()
}

/// `(alpha, sigma)` for a log-SNR: `alpha² = sigmoid(log_snr)`, `sigma² = sigmoid(−log_snr)`.
pub fn alpha_sigma(log_snr: f64) -> (f64, f64) {
    (sigmoid(log_snr).sqrt(), sigmoid(-log_snr).sqrt())
}

/// The loss weight of method §2: `sigmoid(log_snr) = SNR / (1 + SNR)`.
pub fn loss_weight(log_snr: f64) -> f64 {
    sigmoid(log_snr)
}

pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// The sampling grid of method §5: `t_i = 1 − i/steps`, `i = 0 … steps−1`
/// (`linspace(1, 0, steps + 1)` without its last point).
pub fn step_times(steps: usize) -> Vec<f64> {
    (0..steps).map(|i| 1.0 - i as f64 / steps as f64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_form_at_several_t() {
        for t in [0.0f64, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0] {
            let want = -((1e-4 + 10.0 * t * t).exp() - 1.0).ln();
            assert!((log_snr(t) - want).abs() < 1e-9 * want.abs().max(1.0), "t={t}");
            let (a, s) = alpha_sigma(log_snr(t));
            assert!((a * a + s * s - 1.0).abs() < 1e-12, "alpha²+sigma² at t={t}");
            // alpha² = sigmoid(log_snr) = 1 / (1 + e^{−λ})
            assert!((a * a - 1.0 / (1.0 + (-log_snr(t)).exp())).abs() < 1e-12);
        }
        // Data end is almost clean, noise end almost pure noise.
        assert!(log_snr(0.0) > 9.0 && log_snr(1.0) < -9.0);
    }

    #[test]
    fn log_snr_decreases() {
        let ts = step_times(50);
        assert!(ts.windows(2).all(|w| log_snr(w[0]) < log_snr(w[1])));
    }

    #[test]
    fn grid_is_linspace_without_last() {
        assert_eq!(step_times(4), vec![1.0, 0.75, 0.5, 0.25]);
    }

    #[test]
    fn sigmoid_is_stable() {
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert!((loss_weight(0.0) - 0.5).abs() < 1e-15);
    }
}
