//! What determines a set of images besides the weights — [`SampleConfig`], one struct for the
//! CLI, the page and its share link, each sampler with its own settings — with its validation
//! and the names of its choices (the single source of the strings `conditional`, `v2`,
//! `layer-guide`, …). Its flat form and share link are in `link.rs`.

use serde::{Deserialize, Serialize};

use super::v2::{fan_factors, v2_rows_per_step};
use crate::model::NUM_CLASSES;
use crate::schedule::{log_snr, step_times};

/// CIFAR-10 class names in label order.
pub const CLASS_NAMES: [&str; NUM_CLASSES] =
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

/// Largest N a single run accepts (memory of one batch of the fanned-out rows).
pub const MAX_N: usize = 5000;
/// Largest step count accepted.
pub const MAX_STEPS: usize = 1000;

// The CLI takes these enums as flag values directly (clap is a native-only dependency).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// The U-Net with the class input (paper Folder_1).
    Conditional,
    /// The U-Net without it (Folder_2); with v1/v2 it carries a steering network (Folder_3).
    Unconditional,
}

/// Which sampler (method §5): the plain loop, the paper's v1 (steer the first steps) or v2 (fan
/// one noise image out into the classes and the factors of N/k). Its settings come with it in
/// [`Sampler`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum SamplerKind {
    Ddim,
    V1,
    V2,
}

/// The sampler with the settings only it reads, so that no config carries one it ignores.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampler {
    /// The plain loop over one U-Net.
    Ddim { model: ModelKind },
    /// The unconditional U-Net, steered toward each image's class.
    V1 { steering: SteeringConfig },
    /// v1's steering after a fan-out: `w` scales the noise that parts a row's copies, `fan_eta`
    /// (`None`: the run's eta) is the eta of the fan-out steps.
    V2 { steering: SteeringConfig, w: f64, fan_eta: Option<f64> },
}

/// v2's default perturbation scale `w` (method §5).
pub const DEFAULT_W: f64 = 0.01;

/// v2's default eta at its factor fan-out steps ([`default_fan_eta`]): fresh noise there parts a
/// row's copies, and also undoes part of the steering they shared; at 0.5 a class's images stay as
/// diverse as v1's, which starts every image from its own noise.
pub const DEFAULT_FAN_ETA: f64 = 0.5;

/// v2's fan-out eta when none is given, for a run at `eta`: [`DEFAULT_FAN_ETA`], or `eta` where
/// that is higher (a run at eta 1, as the paper's, keeps fresh noise at every step).
pub fn default_fan_eta(eta: f64) -> f64 {
    DEFAULT_FAN_ETA.max(eta)
}

impl Sampler {
    pub fn kind(&self) -> SamplerKind {
        match self {
            Sampler::Ddim { .. } => SamplerKind::Ddim,
            Sampler::V1 { .. } => SamplerKind::V1,
            Sampler::V2 { .. } => SamplerKind::V2,
        }
    }

    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// v1's or v2's steering; `None` for ddim.
    pub fn steering(&self) -> Option<&SteeringConfig> {
        match self {
            Sampler::Ddim { .. } => None,
            Sampler::V1 { steering } | Sampler::V2 { steering, .. } => Some(steering),
        }
    }

    pub fn steering_mut(&mut self) -> Option<&mut SteeringConfig> {
        match self {
            Sampler::Ddim { .. } => None,
            Sampler::V1 { steering } | Sampler::V2 { steering, .. } => Some(steering),
        }
    }

    /// Whether its steering evaluates a U-Net (classifier-free guidance): those rows count as
    /// U-Net rows.
    pub fn steers_with_unet(&self) -> bool {
        self.steering().is_some_and(|s| s.kind.is_unet())
    }

    /// The U-Net this sampler runs: ddim its `model`; v1 and v2 always steer the unconditional
    /// one (the one place that says so).
    pub fn unet(&self) -> ModelKind {
        match self {
            Sampler::Ddim { model } => *model,
            _ => ModelKind::Unconditional,
        }
    }

    /// The sampler `kind` with `model` for ddim, `steering` for v1/v2 and v2's `w` and
    /// `fan_eta`; each takes what it reads.
    pub fn of(kind: SamplerKind, model: ModelKind, steering: SteeringConfig, w: f64, fan_eta: Option<f64>) -> Self {
        match kind {
            SamplerKind::Ddim => Sampler::Ddim { model },
            SamplerKind::V1 => Sampler::V1 { steering },
            SamplerKind::V2 => Sampler::V2 { steering, w, fan_eta },
        }
    }
}

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

    fn validate(&self, steps: usize) -> Result<(), SampleError> {
        if !(0.0..=MAX_STRENGTH).contains(&self.strength(steps)) {
            return Err(SampleError::BadStrength(self.strength(steps)));
        }
        if let Some(k) = self.steer_until.filter(|&k| k > steps) {
            return Err(SampleError::BadSteerUntil { got: k, steps });
        }
        if let Some(p) = self.fade {
            if !(0.0..=MAX_FADE).contains(&p) {
                return Err(SampleError::BadFade(p));
            }
            if self.steer_until.is_some() {
                return Err(SampleError::FadeAndSteerUntil);
            }
        }
        Ok(())
    }
}

/// Which steering network v1/v2 use; the name is also its manifest entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum SteeringKind {
    /// The paper's additional layer (method §4: `relu(decoder(…))` replaces `v`).
    #[serde(rename = "layer")]
    #[cfg_attr(not(target_arch = "wasm32"), value(name = "layer"))]
    Paper,
    /// `v + layer(v)`, the paper's layer without the final ReLU.
    #[serde(rename = "layer-residual")]
    #[cfg_attr(not(target_arch = "wasm32"), value(name = "layer-residual"))]
    Residual,
    /// The guide ([`crate::model::GuideNet`]): sees `x_t`, the noise level and the class.
    #[default]
    #[serde(rename = "layer-guide")]
    #[cfg_attr(not(target_arch = "wasm32"), value(name = "layer-guide"))]
    Guide,
    /// The conditional U-Net itself: `v_u + s·(v_c − v_u)`, classifier-free guidance (Ho &
    /// Salimans 2022). Costs a second U-Net row per steered row, which the row counts include.
    #[serde(rename = "conditional")]
    #[cfg_attr(not(target_arch = "wasm32"), value(name = "conditional"))]
    Conditional,
}

impl SteeringKind {
    pub const ALL: [SteeringKind; 4] =
        [SteeringKind::Paper, SteeringKind::Residual, SteeringKind::Guide, SteeringKind::Conditional];

    /// The manifest entry (and share-link value): `layer`, `layer-residual`, `layer-guide`,
    /// `conditional`.
    pub fn name(self) -> &'static str {
        match self {
            SteeringKind::Paper => "layer",
            SteeringKind::Residual => "layer-residual",
            SteeringKind::Guide => "layer-guide",
            SteeringKind::Conditional => ModelKind::Conditional.name(),
        }
    }

    /// Whether steering evaluates a U-Net (classifier-free guidance): its rows count as U-Net rows.
    pub fn is_unet(self) -> bool {
        self == SteeringKind::Conditional
    }

    /// The inverse of [`name`](Self::name).
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }

    /// The strength used when none is given: the paper's layers as trained; the guide, which
    /// imitates the conditional U-Net's velocity, extrapolated like classifier-free guidance —
    /// the value the README's evaluation measured best.
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

/// The numerical method that turns a velocity into the next state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
pub enum Solver {
    /// DDIM (Song et al. 2021), first order; `eta` sets its fresh noise.
    #[default]
    #[serde(rename = "ddim")]
    #[cfg_attr(not(target_arch = "wasm32"), value(name = "ddim"))]
    Ddim,
    /// DPM-Solver++(2M) (Lu et al. 2022), second order from the previous step's x̂₀; with eta > 0
    /// its SDE form.
    #[serde(rename = "dpmpp-2m")]
    #[cfg_attr(not(target_arch = "wasm32"), value(name = "dpmpp-2m"))]
    DpmPp2m,
}

impl Solver {
    pub const ALL: [Solver; 2] = [Solver::Ddim, Solver::DpmPp2m];

    pub fn name(self) -> &'static str {
        match self {
            Solver::Ddim => "ddim",
            Solver::DpmPp2m => "dpmpp-2m",
        }
    }

    /// The inverse of [`name`](Self::name).
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }
}

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

impl ModelKind {
    const ALL: [ModelKind; 2] = [ModelKind::Conditional, ModelKind::Unconditional];

    /// The inverse of [`name`](Self::name).
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }

    /// The kind of a U-Net with (`true`) or without the class input.
    pub fn of(conditional: bool) -> Self {
        if conditional {
            ModelKind::Conditional
        } else {
            ModelKind::Unconditional
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Conditional => "conditional",
            ModelKind::Unconditional => "unconditional",
        }
    }
}

impl SamplerKind {
    pub const ALL: [SamplerKind; 3] = [SamplerKind::Ddim, SamplerKind::V1, SamplerKind::V2];

    /// The inverse of [`name`](Self::name).
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }

    pub fn name(self) -> &'static str {
        match self {
            SamplerKind::Ddim => "ddim",
            SamplerKind::V1 => "v1",
            SamplerKind::V2 => "v2",
        }
    }
}

/// Everything that determines a set of images (with the weights): one struct for the CLI, the
/// page and its share link. It crosses serde in the flat shape of the page's form and saved
/// configs ([`FlatConfig`](super::FlatConfig)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(from = "super::FlatConfig", into = "super::FlatConfig")]
pub struct SampleConfig {
    /// The sampler and its own settings.
    pub sampler: Sampler,
    /// Number of images.
    pub n: usize,
    /// Requested classes (distinct labels); images are split evenly among them.
    pub classes: Vec<usize>,
    pub steps: usize,
    /// Fresh noise per step: 0 deterministic, 1 the notebook's default.
    pub eta: f64,
    pub seed: u64,
    /// The update rule.
    pub solver: Solver,
}

/// Largest steering strength accepted (beyond 1 it extrapolates, like a guidance scale).
pub const MAX_STRENGTH: f64 = 32.0;
/// Largest fade exponent accepted (at 16 the strength halves at σ² ≈ 0.96 and is gone by λ = −1).
pub const MAX_FADE: f64 = 16.0;

impl Default for SampleConfig {
    fn default() -> Self {
        Self {
            sampler: Sampler::Ddim { model: ModelKind::Conditional },
            n: 10,
            classes: (0..NUM_CLASSES).collect(),
            steps: 10,
            eta: 1.0,
            seed: 0,
            solver: Solver::Ddim,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SampleError {
    #[error("N must be between 1 and {MAX_N}, got {0}")]
    BadN(usize),
    #[error("steps must be between 1 and {MAX_STEPS}, got {0}")]
    BadSteps(usize),
    #[error("eta must be between 0 and 1, got {0}")]
    BadEta(f64),
    #[error("unknown class {0:?}; classes are: {names}", names = CLASS_NAMES.join(", "))]
    UnknownClass(String),
    #[error("the class list is empty or repeats a class")]
    BadClasses,
    #[error("v2 fans one image out into the {k} requested classes, so N must be a multiple of {k}; got N = {n}")]
    V2NotMultiple { n: usize, k: usize },
    #[error(
        "v2 needs at least {need} steps for N = {n} (1 class fan-out step + {factors:?} factor steps); got {steps}"
    )]
    V2TooFewSteps { n: usize, steps: usize, need: usize, factors: Vec<usize> },
    #[error("invalid share link setting {0}")]
    BadLink(String),
    #[error("part {index} of {of}: a run of N = {n} splits into 1 to N parts")]
    BadPart { index: usize, of: usize, n: usize },
    #[error("initial noise has shape {0:?}, the sampler needs [{1}, 3, 32, 32]")]
    BadNoise(Vec<usize>, usize),
    #[error("strength must be between 0 and {MAX_STRENGTH}, got {0}")]
    BadStrength(f64),
    #[error("steer-until must be between 0 and the step count {steps}, got {got}")]
    BadSteerUntil { got: usize, steps: usize },
    #[error("fade must be between 0 and {MAX_FADE}, got {0}")]
    BadFade(f64),
    #[error("steer-until (the paper's step rule) and fade (the noise-level schedule) exclude each other")]
    FadeAndSteerUntil,
    #[error("fan-eta must be between 0 and 1, got {0}")]
    BadFanEta(f64),
    #[error("{0} needs a steering network, but none was loaded")]
    NoSteering(&'static str),
    #[error("the {wanted} U-Net was asked for, but the loaded one is {got}")]
    WrongUNet { wanted: &'static str, got: &'static str },
    #[error("the steering network reads U-Net features {wanted:?} ([channels, side]), the U-Net has {got:?}")]
    FeatureMismatch { wanted: Vec<[usize; 2]>, got: Vec<[usize; 2]> },
}

/// Parse `"airplane,cat"` (names or label numbers) into labels.
pub fn parse_classes(s: &str) -> Result<Vec<usize>, SampleError> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let label = CLASS_NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(part))
            .or_else(|| part.parse::<usize>().ok().filter(|&l| l < NUM_CLASSES))
            .ok_or_else(|| SampleError::UnknownClass(part.to_string()))?;
        out.push(label);
    }
    Ok(out)
}

impl SampleConfig {
    pub fn validate(&self) -> Result<(), SampleError> {
        if self.n == 0 || self.n > MAX_N {
            return Err(SampleError::BadN(self.n));
        }
        if self.steps == 0 || self.steps > MAX_STEPS {
            return Err(SampleError::BadSteps(self.steps));
        }
        if !(0.0..=1.0).contains(&self.eta) {
            return Err(SampleError::BadEta(self.eta));
        }
        if let Some(steering) = self.sampler.steering() {
            steering.validate(self.steps)?;
        }
        let mut seen = [false; NUM_CLASSES];
        for &c in &self.classes {
            if c >= NUM_CLASSES {
                return Err(SampleError::UnknownClass(c.to_string()));
            }
            if std::mem::replace(&mut seen[c], true) {
                return Err(SampleError::BadClasses);
            }
        }
        if self.classes.is_empty() {
            return Err(SampleError::BadClasses);
        }
        if let Sampler::V2 { fan_eta, .. } = self.sampler {
            if let Some(e) = fan_eta.filter(|e| !(0.0..=1.0).contains(e)) {
                return Err(SampleError::BadFanEta(e));
            }
            let k = self.classes.len();
            if !self.n.is_multiple_of(k) {
                return Err(SampleError::V2NotMultiple { n: self.n, k });
            }
            let factors = fan_factors(self.n / k);
            if self.steps < factors.len() + 1 {
                return Err(SampleError::V2TooFewSteps {
                    n: self.n,
                    steps: self.steps,
                    need: factors.len() + 1,
                    factors,
                });
            }
        }
        Ok(())
    }

    /// The U-Net this config runs ([`Sampler::unet`]).
    pub fn unet(&self) -> ModelKind {
        self.sampler.unet()
    }

    /// Whether v1/v2 steer at step `i`.
    pub fn steers(&self, i: usize) -> bool {
        self.strength_at(i) != 0.0
    }

    /// The steering strength at step `i` ([`SteeringConfig::strength_at`]); 0 for ddim.
    pub fn strength_at(&self, i: usize) -> f64 {
        self.sampler.steering().map_or(0.0, |s| s.strength_at(i, self.steps))
    }

    /// Eta at step `i`: v2's `fan_eta` at its factor fan-out steps, `eta` elsewhere.
    pub fn eta_at(&self, i: usize) -> f64 {
        match self.sampler {
            Sampler::V2 { fan_eta: Some(e), .. }
                if (1..=fan_factors(self.n / self.classes.len()).len()).contains(&i) =>
            {
                e
            }
            _ => self.eta,
        }
    }

    /// Whether the images are steered to classes (everything but unconditional ddim).
    pub fn has_classes(&self) -> bool {
        !matches!(self.sampler, Sampler::Ddim { model: ModelKind::Unconditional })
    }

    /// Manifest entries this config needs: the U-Net, then the steering network for v1/v2.
    pub fn entries(&self) -> (&'static str, Option<&'static str>) {
        (self.unet().name(), self.sampler.steering().map(|s| s.kind.name()))
    }

    /// The class of each output image, in output order: contiguous blocks, one per requested
    /// class (sizes differ by at most one).
    pub fn image_classes(&self) -> Vec<usize> {
        let k = self.classes.len();
        (0..self.n).map(|i| self.classes[i * k / self.n]).collect()
    }

    /// Label of each image for file names and the grid.
    pub fn image_labels(&self) -> Vec<&'static str> {
        if self.has_classes() {
            self.image_classes().into_iter().map(|c| CLASS_NAMES[c]).collect()
        } else {
            vec!["unconditional"; self.n]
        }
    }

    /// U-Net rows this config evaluates at each step (v2 starts with 1, then fans out), with
    /// the conditional U-Net's rows when it steers (classifier-free guidance).
    pub fn unet_rows_per_step(&self) -> Vec<usize> {
        let v2 = matches!(self.sampler, Sampler::V2 { .. });
        let rows = if v2 { v2_rows_per_step(self.classes.len(), self.n, self.steps) } else { vec![self.n; self.steps] };
        if !self.sampler.steers_with_unet() {
            return rows;
        }
        let k = self.classes.len();
        let factors = fan_factors(self.n / k);
        let steered = |i: usize, b: usize| match i {
            // v2: step 0 fans one row out into k classes; a factor step steers all copies but
            // the first.
            0 if v2 => k,
            i if v2 && i <= factors.len() => b * (factors[i - 1] - 1),
            _ => b,
        };
        rows.iter().enumerate().map(|(i, &b)| b + if self.steers(i) { steered(i, b) } else { 0 }).collect()
    }

    /// U-Net rows this config evaluates (v2 fewer than `n · steps`).
    pub fn unet_rows(&self) -> usize {
        self.unet_rows_per_step().iter().sum()
    }
}
