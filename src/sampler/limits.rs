//! Every numeric setting of a [`SampleConfig`](super::SampleConfig) and its range, in one table:
//! the config's validation, the share-link parser, the CLI's flags (through the validation) and
//! the page's form (through [`page_schema`](super::page_schema)) all read it, so a value one of
//! them takes the others take too.

use super::error::SampleError;

/// Largest N a single run accepts (memory of one batch of the fanned-out rows).
pub const MAX_N: usize = 5000;
/// Largest step count accepted.
pub const MAX_STEPS: usize = 1000;
/// Largest steering strength accepted (beyond 1 it extrapolates, like a guidance scale).
pub const MAX_STRENGTH: f64 = 32.0;
/// Largest fade exponent accepted (at 16 the strength halves at σ² ≈ 0.96 and is gone by λ = −1).
pub const MAX_FADE: f64 = 16.0;
/// Largest v2 perturbation scale: the copies' noise is `w` times a unit Gaussian, and beyond
/// the image's own scale it would replace the image rather than part it.
pub const MAX_W: f64 = 1.0;

/// One numeric setting: its name (the share link's key and the page's field) and inclusive range.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Limit {
    pub name: &'static str,
    pub min: f64,
    pub max: f64,
}

pub const N: Limit = Limit { name: "n", min: 1.0, max: MAX_N as f64 };
pub const STEPS: Limit = Limit { name: "steps", min: 1.0, max: MAX_STEPS as f64 };
pub const ETA: Limit = Limit { name: "eta", min: 0.0, max: 1.0 };
pub const STRENGTH: Limit = Limit { name: "strength", min: 0.0, max: MAX_STRENGTH };
pub const FADE: Limit = Limit { name: "fade", min: 0.0, max: MAX_FADE };
pub const FAN_ETA: Limit = Limit { name: "fan_eta", min: 0.0, max: 1.0 };
pub const W: Limit = Limit { name: "w", min: 0.0, max: MAX_W };
/// At most the run's step count, which [`Limit::check_count_up_to`] adds.
pub const STEER_UNTIL: Limit = Limit { name: "steer_until", min: 0.0, max: MAX_STEPS as f64 };
/// Any u64: a seed is parsed, never range-checked.
pub const SEED: Limit = Limit { name: "seed", min: 0.0, max: u64::MAX as f64 };

/// Every numeric setting.
pub const ALL: [Limit; 9] = [N, STEPS, ETA, STRENGTH, FADE, FAN_ETA, W, STEER_UNTIL, SEED];

impl Limit {
    /// `value` if it is a finite number within the range; else an error naming the setting, the
    /// value and the range.
    pub fn check(&self, value: f64) -> Result<f64, SampleError> {
        if value.is_finite() && (self.min..=self.max).contains(&value) {
            Ok(value)
        } else {
            Err(self.refuse(value.to_string(), self.max.to_string()))
        }
    }

    /// The same for a count.
    pub fn check_count(&self, value: usize) -> Result<usize, SampleError> {
        self.check_count_up_to(value, usize::MAX)
    }

    /// A count within the range and at most `bound` (the steps of a run, for `steer_until`).
    pub fn check_count_up_to(&self, value: usize, bound: usize) -> Result<usize, SampleError> {
        let max = (self.max as usize).min(bound);
        if (self.min as usize..=max).contains(&value) {
            Ok(value)
        } else {
            let max = if max < self.max as usize { format!("{max} (the step count)") } else { max.to_string() };
            Err(self.refuse(value.to_string(), max))
        }
    }

    fn refuse(&self, value: String, max: String) -> SampleError {
        SampleError::OutOfRange { setting: self.name, value, min: self.min.to_string(), max }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_limit_refuses_what_is_not_a_finite_number_in_its_range() {
        for l in ALL.iter().filter(|l| l.name != "seed") {
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, l.min - 0.5, l.max + 0.5] {
                let e = l.check(bad).unwrap_err().to_string();
                assert!(e.starts_with(l.name) && e.contains(&bad.to_string()), "{e}");
            }
            assert_eq!(l.check(l.min), Ok(l.min));
            assert_eq!(l.check(l.max), Ok(l.max));
        }
        assert!(STEER_UNTIL.check_count_up_to(5, 4).unwrap_err().to_string().contains("4 (the step count)"));
    }
}
