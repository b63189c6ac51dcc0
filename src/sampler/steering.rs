//! How v1/v2 steer — [`SteeringConfig`]: the network, how hard, and at which steps — with each
//! network's measured defaults and the fade schedule.

use super::choices::SteeringKind;
use super::error::SampleError;
use super::limits;
use crate::schedule::{log_snr, step_times};

/// How v1/v2 steer: the network, how hard, and at which steps (the paper's cut-off or the fade
/// with the noise level).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SteeringConfig {
    /// The steering network.
    pub kind: SteeringKind,
    /// Scale of the steering: `v + strength·(steered − v)`; 1 = as trained, 0 = none, above 1
    /// it extrapolates (classifier-free guidance's scale, for the guide). `None`: the network's
    /// measured default ([`SteeringKind::default_strength`]).
    pub strength: Option<f64>,
    /// Steps `i < steer_until` are steered; `None`: the paper's `i ≤ steps/2`. 0 steers none.
    pub steer_until: Option<usize>,
    /// The fade schedule of the strength: `strength·sigmoid(−λ)^fade` at every step
    /// ([`faded_strength`]) instead of the step cut-off `steer_until`. `None`: the paper's rule.
    pub fade: Option<f64>,
}

impl From<SteeringKind> for SteeringConfig {
    /// The network under the paper's step rule at its default strength.
    fn from(kind: SteeringKind) -> Self {
        SteeringConfig { kind, ..Default::default() }
    }
}

impl SteeringConfig {
    /// Steps `i < steer_until(steps)` are steered under the paper's rule: by default `i ≤ steps/2`.
    pub fn steer_until(&self, steps: usize) -> usize {
        self.steer_until.unwrap_or(steps / 2 + 1)
    }

    /// The (peak) strength in effect for a run of `steps` steps: the given one, else the
    /// network's default for the schedule in use and the step count.
    pub fn strength(&self, steps: usize) -> f64 {
        self.strength.unwrap_or(match self.fade {
            Some(_) => self.kind.default_faded_strength(steps),
            None => self.kind.default_strength(),
        })
    }

    /// The strength at step `i` of `steps` — the one steering rule of v1 and v2: under the fade
    /// schedule [`faded_strength`] at the step's log-SNR, else the paper's cut-off (full
    /// strength for `i < steer_until`, none after).
    pub fn strength_at(&self, i: usize, steps: usize) -> f64 {
        if i >= steps {
            return 0.0;
        }
        match self.fade {
            Some(p) => faded_strength(self.strength(steps), p, log_snr(step_times(steps)[i])),
            None if i < self.steer_until(steps) => self.strength(steps),
            None => 0.0,
        }
    }

    pub(super) fn validate(&self, steps: usize) -> Result<(), SampleError> {
        limits::STRENGTH.check(self.strength(steps))?;
        if let Some(k) = self.steer_until {
            limits::STEER_UNTIL.check_count_up_to(k, steps)?;
        }
        if let Some(p) = self.fade {
            limits::FADE.check(p)?;
            if self.steer_until.is_some() {
                return Err(SampleError::FadeAndSteerUntil);
            }
        }
        Ok(())
    }
}

impl SteeringKind {
    /// The strength used when none is given: the paper's layers as trained; the guide, which
    /// imitates the conditional U-Net's velocity, extrapolated like classifier-free guidance —
    /// the value measured best (docs/results.md, "Images that show their class").
    pub fn default_strength(self) -> f64 {
        match self {
            SteeringKind::Paper | SteeringKind::Residual => 1.0,
            SteeringKind::Guide | SteeringKind::Conditional => GUIDE_STRENGTH,
        }
    }

    /// The strength used when none is given under the fade schedule ([`faded_strength`]; measured
    /// best there) for a run of `steps` steps: the guide's peak falls in proportion to the step
    /// count below [`GUIDE_FULL_STRENGTH_STEPS`], because a coarse step takes its correction all
    /// the way to the next noise level before the U-Net looks again, and overshoots.
    pub fn default_faded_strength(self, steps: usize) -> f64 {
        let share = self.full_strength_steps().map_or(1.0, |full| (steps as f64 / full as f64).min(1.0));
        self.peak_faded_strength() * share
    }

    /// The default peak strength under the fade schedule at [`full_strength_steps`](Self::full_strength_steps)
    /// steps and more.
    pub fn peak_faded_strength(self) -> f64 {
        match self {
            SteeringKind::Paper | SteeringKind::Residual => 1.0,
            SteeringKind::Guide => GUIDE_FADED_STRENGTH,
            SteeringKind::Conditional => CFG_STRENGTH,
        }
    }

    /// The step count from which [`default_faded_strength`](Self::default_faded_strength) is the
    /// full peak (`None`: at every step count).
    pub fn full_strength_steps(self) -> Option<usize> {
        (self == SteeringKind::Guide).then_some(GUIDE_FULL_STRENGTH_STEPS)
    }

    /// The fade used when none is given (the CLI, the page): the guide, trained at high noise
    /// only, must let go early; classifier-free guidance holds its scale to the end.
    pub fn default_fade(self) -> f64 {
        match self {
            SteeringKind::Paper | SteeringKind::Residual | SteeringKind::Guide => GUIDE_FADE,
            SteeringKind::Conditional => CFG_FADE,
        }
    }
}

/// The guide's default strength under the paper's step rule (see [`SteeringKind::default_strength`]).
pub const GUIDE_STRENGTH: f64 = 5.0;
/// The guide's default peak strength under the fade schedule, from
/// [`GUIDE_FULL_STRENGTH_STEPS`] steps on.
pub const GUIDE_FADED_STRENGTH: f64 = 16.0;
/// Below this many steps the guide's default peak strength scales with the step count.
pub const GUIDE_FULL_STRENGTH_STEPS: usize = 10;
/// The guide's default fade: full strength at high noise, half near t = 0.43, under 1 % below
/// t ≈ 0.2 — by noise level, whatever the step count.
pub const GUIDE_FADE: f64 = 4.0;
/// Classifier-free guidance's default scale.
pub const CFG_STRENGTH: f64 = 3.0;
/// Classifier-free guidance's default fade: none (the scale holds to the last step).
pub const CFG_FADE: f64 = 0.0;

/// The steering strength at log-SNR λ under the fade schedule: `S·sigmoid(−λ)^p` — the peak
/// `S` while the image is all noise (σ² = sigmoid(−λ) → 1), falling to zero as the noise
/// clears; `p` (the fade) sets how early: 0 keeps `S` throughout (plain classifier-free
/// guidance), larger `p` lets go sooner (at p = 8 it halves at σ² ≈ 0.92, t = 0.5, where the
/// paper's rule stops at 20 steps). Below [`FADE_FLOOR`] of the peak it is 0: the steering
/// network is not run for a correction that small.
pub fn faded_strength(peak: f64, fade: f64, log_snr: f64) -> f64 {
    let share = crate::schedule::sigmoid(-log_snr).powf(fade);
    if share < FADE_FLOOR {
        0.0
    } else {
        peak * share
    }
}

/// The share of the peak strength below which the fade stops steering.
pub const FADE_FLOOR: f64 = 0.01;
