//! What determines a set of images besides the weights — [`SampleConfig`], one struct for the
//! CLI, the page and its share link, each sampler with its own settings — and its validation.
//! Its flat form and share link are in `link.rs`, the choices' names in `choices.rs`, the limits
//! of its numbers in `limits.rs`.

use serde::{Deserialize, Serialize};

use super::choices::{CopySteering, ModelKind, SamplerKind, Solver, CLASS_NAMES};
use super::error::SampleError;
use super::limits;
use super::steering::SteeringConfig;
use super::v2::{fan_factors, v2_rows_per_step};
use crate::model::NUM_CLASSES;

/// The sampler with the settings only it reads, so that no config carries one it ignores.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampler {
    /// The plain loop over one U-Net.
    Ddim { model: ModelKind },
    /// The unconditional U-Net, steered toward each image's class.
    V1 { steering: SteeringConfig },
    /// v1's steering after a fan-out: `w` scales the noise that parts a row's copies, `fan_eta`
    /// (`None`: the run's eta) is the eta of the fan-out steps, `copies` which copies are steered.
    V2 { steering: SteeringConfig, w: f64, fan_eta: Option<f64>, copies: CopySteering },
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

    /// The sampler `kind` with `model` for ddim, `steering` for v1/v2 and v2's `w`, `fan_eta`
    /// and `copies`; each takes what it reads.
    pub fn of(
        kind: SamplerKind,
        model: ModelKind,
        steering: SteeringConfig,
        (w, fan_eta, copies): (f64, Option<f64>, CopySteering),
    ) -> Self {
        match kind {
            SamplerKind::Ddim => Sampler::Ddim { model },
            SamplerKind::V1 => Sampler::V1 { steering },
            SamplerKind::V2 => Sampler::V2 { steering, w, fan_eta, copies },
        }
    }
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

/// What an absent setting means depends on where the config comes from, and this is the one
/// place that says so:
/// - a share link or PNG (`from_fragment`): a key it lacks means what it meant when links lacked
///   it — this `Default`: conditional ddim, N = 10, every class, 10 steps, eta 1, seed 0, DDIM;
///   for v1/v2 the paper's step rule at the network's strength, v2's fan-out at the run's eta;
/// - the CLI: its flags' defaults (`src/cli/sample.rs`, `src/options.rs`: DPM-Solver++(2M),
///   eta 0, the steering network's fade and strength);
/// - the page: [`SampleConfig::page_default`] fills an empty field, and an empty strength, fade
///   or fan-eta means the network's or the run's own, as on the CLI.
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

impl SampleConfig {
    /// Whether this config can run: every setting within its [`limits`] and the sampler's own
    /// conditions met. Every way in (CLI, link, PNG, page) checks here before anything runs.
    pub fn validate(&self) -> Result<(), SampleError> {
        limits::N.check_count(self.n)?;
        limits::STEPS.check_count(self.steps)?;
        limits::ETA.check(self.eta)?;
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
        if let Sampler::V2 { fan_eta, w, .. } = self.sampler {
            limits::W.check(w)?;
            if let Some(e) = fan_eta {
                limits::FAN_ETA.check(e)?;
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
            Sampler::V2 { fan_eta: Some(e), .. } if (1..=fan_factors(self.images_per_class()).len()).contains(&i) => e,
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
    /// Empty for a config without classes (which [`validate`](Self::validate) refuses).
    pub fn image_classes(&self) -> Vec<usize> {
        let k = self.classes.len();
        (0..self.n).filter_map(|i| self.classes.get(i * k / self.n).copied()).collect()
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
        let (v2, all_copies) = match self.sampler {
            Sampler::V2 { copies, .. } => (true, copies == CopySteering::All),
            _ => (false, false),
        };
        let rows = if v2 { v2_rows_per_step(self.classes.len(), self.n, self.steps) } else { vec![self.n; self.steps] };
        if !self.sampler.steers_with_unet() {
            return rows;
        }
        let k = self.classes.len();
        let factors = fan_factors(self.images_per_class());
        let steered = |i: usize, b: usize| match i {
            // v2: step 0 fans one row out into k classes; a factor step steers all copies but
            // the first, or all of them.
            0 if v2 => k,
            i if v2 && i <= factors.len() => b * (factors[i - 1] - usize::from(!all_copies)),
            _ => b,
        };
        rows.iter().enumerate().map(|(i, &b)| b + if self.steers(i) { steered(i, b) } else { 0 }).collect()
    }

    /// N per requested class, rounded down (0 without classes, which `validate` refuses).
    fn images_per_class(&self) -> usize {
        self.n.checked_div(self.classes.len()).unwrap_or(0)
    }

    /// U-Net rows this config evaluates (v2 fewer than `n · steps`).
    pub fn unet_rows(&self) -> usize {
        self.unet_rows_per_step().iter().sum()
    }
}
