//! Samplers of method §5 — `ddim`, `v1`, `v2` — as one stepper over the shared DDIM update.
//!
//! A [`Sampling`] run is advanced one step at a time ([`Sampling::step`]), so the CLI can drive
//! a progress bar and the page can `await` a readback between steps; [`sample`] runs it to the
//! end with a k-diffusion style callback.

mod ddim;
mod nets;
mod v1;
mod v2;

pub use nets::{Denoiser, Steer, Steering, Teacher};

pub use v2::{fan_factors, v2_unet_rows};

use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::model::NUM_CLASSES;
use crate::noise::Noise;
use crate::schedule;

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
    /// The U-Net without it (Folder_2); with v1/v2 it carries the additional layer (Folder_3).
    Unconditional,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Ddim,
    V1,
    V2,
}

/// Which steering network v1/v2 use; the name is also its manifest entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(not(target_arch = "wasm32"), derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum LayerKind {
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
}

impl LayerKind {
    pub const ALL: [LayerKind; 3] = [LayerKind::Paper, LayerKind::Residual, LayerKind::Guide];

    /// The manifest entry (and share-link value): `layer`, `layer-residual`, `layer-guide`.
    pub fn name(self) -> &'static str {
        match self {
            LayerKind::Paper => "layer",
            LayerKind::Residual => "layer-residual",
            LayerKind::Guide => "layer-guide",
        }
    }

    /// The inverse of [`name`](Self::name).
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }
}

impl ModelKind {
    const ALL: [ModelKind; 2] = [ModelKind::Conditional, ModelKind::Unconditional];

    /// The inverse of [`name`](Self::name).
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }

    pub fn name(self) -> &'static str {
        match self {
            ModelKind::Conditional => "conditional",
            ModelKind::Unconditional => "unconditional",
        }
    }
}

impl Method {
    const ALL: [Method; 3] = [Method::Ddim, Method::V1, Method::V2];

    /// The inverse of [`name`](Self::name).
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }

    pub fn name(self) -> &'static str {
        match self {
            Method::Ddim => "ddim",
            Method::V1 => "v1",
            Method::V2 => "v2",
        }
    }
}

/// Everything that determines a set of images (with the weights): one struct for the CLI, the
/// page and its share link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SampleConfig {
    /// U-Net for `ddim`; `v1`/`v2` always use the unconditional U-Net plus the layer.
    pub model: ModelKind,
    pub sampler: Method,
    /// Number of images.
    pub n: usize,
    /// Requested classes (distinct labels); images are split evenly among them.
    pub classes: Vec<usize>,
    pub steps: usize,
    /// DDIM stochasticity: 0 deterministic, 1 the notebook's default.
    pub eta: f64,
    pub seed: u64,
    /// v2's perturbation scale `w` of the fan-out copies.
    pub w: f64,
    /// The steering network of v1/v2.
    #[serde(default)]
    pub layer: LayerKind,
    /// Steps `i < steer_until` are steered; `None`: the paper's `i ≤ steps/2`. 0 steers none.
    #[serde(default)]
    pub steer_until: Option<usize>,
    /// Scale of the steering: `v + strength·(steered − v)`; 1 = as trained, 0 = none.
    #[serde(default = "one")]
    pub strength: f64,
}

fn one() -> f64 {
    1.0
}

/// Largest steering strength accepted (beyond 1 it extrapolates, like a guidance scale).
pub const MAX_STRENGTH: f64 = 4.0;

impl Default for SampleConfig {
    fn default() -> Self {
        Self {
            model: ModelKind::Conditional,
            sampler: Method::Ddim,
            n: 10,
            classes: (0..NUM_CLASSES).collect(),
            steps: 10,
            eta: 1.0,
            seed: 0,
            w: 0.01,
            layer: LayerKind::default(),
            steer_until: None,
            strength: 1.0,
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
    #[error("initial noise has shape {0:?}, the sampler needs [{1}, 3, 32, 32]")]
    BadNoise(Vec<usize>, usize),
    #[error("strength must be between 0 and {MAX_STRENGTH}, got {0}")]
    BadStrength(f64),
    #[error("steer-until must be between 0 and the step count {steps}, got {got}")]
    BadSteerUntil { got: usize, steps: usize },
    #[error("{0} needs the additional layer, but none was loaded")]
    NoLayer(&'static str),
    #[error("the {wanted} U-Net was asked for, but the loaded one is {got}")]
    WrongUNet { wanted: &'static str, got: &'static str },
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
        if !(0.0..=MAX_STRENGTH).contains(&self.strength) {
            return Err(SampleError::BadStrength(self.strength));
        }
        if let Some(k) = self.steer_until.filter(|&k| k > self.steps) {
            return Err(SampleError::BadSteerUntil { got: k, steps: self.steps });
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
        if self.sampler == Method::V2 {
            let k = self.classes.len();
            if self.n % k != 0 {
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

    /// Steps `i < steer_until()` are steered: by default the paper's `i ≤ steps/2`.
    pub fn steer_until(&self) -> usize {
        self.steer_until.unwrap_or(self.steps / 2 + 1)
    }

    /// Whether v1/v2 steer at step `i` — the one steering rule of both samplers.
    pub fn steers(&self, i: usize) -> bool {
        self.sampler != Method::Ddim && i < self.steer_until() && self.strength != 0.0
    }

    /// Whether the images are steered to classes (everything but unconditional ddim).
    pub fn has_classes(&self) -> bool {
        !(self.sampler == Method::Ddim && self.model == ModelKind::Unconditional)
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

    /// The share-link form, e.g.
    /// `model=conditional&sampler=v2&n=20&classes=0,3&steps=5&eta=1&seed=7&w=0.01&layer=layer-guide&strength=1`
    /// plus `&steer_until=K` when set (the page puts it in the URL fragment).
    pub fn to_fragment(&self) -> String {
        let classes: Vec<String> = self.classes.iter().map(|c| c.to_string()).collect();
        let mut s = format!(
            "model={}&sampler={}&n={}&classes={}&steps={}&eta={}&seed={}&w={}&layer={}&strength={}",
            self.model.name(),
            self.sampler.name(),
            self.n,
            classes.join(","),
            self.steps,
            self.eta,
            self.seed,
            self.w,
            self.layer.name(),
            self.strength
        );
        if let Some(k) = self.steer_until {
            s += &format!("&steer_until={k}");
        }
        s
    }

    /// Parse [`to_fragment`](Self::to_fragment)'s form (a leading `#` is ignored; missing keys
    /// keep their defaults; unknown keys such as `weights=` are left to the caller).
    pub fn from_fragment(s: &str) -> Result<Self, SampleError> {
        let mut c = SampleConfig::default();
        let bad = |k: &str, v: &str| SampleError::BadLink(format!("{k}={v}"));
        for pair in s.trim_start_matches('#').split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "model" => c.model = ModelKind::from_name(v).ok_or_else(|| bad(k, v))?,
                "sampler" => c.sampler = Method::from_name(v).ok_or_else(|| bad(k, v))?,
                "n" => c.n = v.parse().map_err(|_| bad(k, v))?,
                "classes" => c.classes = parse_classes(v)?,
                "steps" => c.steps = v.parse().map_err(|_| bad(k, v))?,
                "eta" => c.eta = v.parse().map_err(|_| bad(k, v))?,
                "seed" => c.seed = v.parse().map_err(|_| bad(k, v))?,
                "w" => c.w = v.parse().map_err(|_| bad(k, v))?,
                "layer" => c.layer = LayerKind::from_name(v).ok_or_else(|| bad(k, v))?,
                "strength" => c.strength = v.parse().map_err(|_| bad(k, v))?,
                "steer_until" => c.steer_until = Some(v.parse().map_err(|_| bad(k, v))?),
                _ => {}
            }
        }
        Ok(c)
    }

    /// U-Net rows this config evaluates (v2 fewer than `n · steps`).
    pub fn unet_rows(&self) -> usize {
        match self.sampler {
            Method::V2 => v2_unet_rows(self.classes.len(), self.n, self.steps),
            _ => self.n * self.steps,
        }
    }
}

/// The networks a run uses.
#[derive(Clone, Copy)]
pub struct Nets<'a> {
    pub unet: &'a dyn Denoiser,
    pub layer: Option<&'a dyn Steer>,
}

/// What a step shows: k-diffusion's `(i, t, x, pred)` plus row accounting.
pub struct StepInfo<'s> {
    pub i: usize,
    pub steps: usize,
    pub t: f64,
    /// The state after this step (for the last step: the final images).
    pub x: &'s Tensor<4>,
    /// Predicted clean images `x̂₀ = alpha·x − sigma·v`, `[rows, 3, 32, 32]` in `[−1, 1]`.
    pub pred: &'s Tensor<4>,
    /// Class of each row of `pred` (`None` for unconditional ddim).
    pub classes: Option<&'s [usize]>,
    /// U-Net rows evaluated so far.
    pub unet_rows: usize,
}

/// Output of a run.
pub struct Samples {
    /// `[N, 3, 32, 32]`, ordered as [`SampleConfig::image_classes`].
    pub images: Tensor<4>,
    pub unet_rows: usize,
}

/// A sampling run, advanced by [`step`](Self::step).
pub struct Sampling<'a> {
    cfg: SampleConfig,
    nets: Nets<'a>,
    device: Device,
    noise: Noise,
    times: Vec<f64>,
    i: usize,
    x: Tensor<4>,
    pred: Option<Tensor<4>>,
    /// Class of each current row (v2 grows it with the rows).
    classes: Vec<usize>,
    /// v2's fan-out plan: step `i` (1 ≤ i ≤ len) multiplies the rows by `fan[i − 1]`.
    fan: Vec<usize>,
    unet_rows: usize,
}

impl<'a> Sampling<'a> {
    pub fn new(cfg: &SampleConfig, nets: Nets<'a>, device: &Device) -> Result<Self, SampleError> {
        Self::start(cfg, nets, device, None)
    }

    /// As [`new`](Self::new), from a given initial noise (`[N, 3, 32, 32]`, or `[1, …]` for v2)
    /// instead of the seeded one — e.g. noise shared with another implementation.
    pub fn with_initial_noise(
        cfg: &SampleConfig,
        nets: Nets<'a>,
        device: &Device,
        x: Tensor<4>,
    ) -> Result<Self, SampleError> {
        Self::start(cfg, nets, device, Some(x))
    }

    fn start(cfg: &SampleConfig, nets: Nets<'a>, device: &Device, x: Option<Tensor<4>>) -> Result<Self, SampleError> {
        cfg.validate()?;
        let uncond_name = |u: &dyn Denoiser| if u.is_conditional() { "conditional" } else { "unconditional" };
        match (cfg.sampler, cfg.model) {
            (Method::Ddim, ModelKind::Conditional) if !nets.unet.is_conditional() => {
                return Err(SampleError::WrongUNet { wanted: "conditional", got: uncond_name(nets.unet) })
            }
            (Method::Ddim, ModelKind::Unconditional) | (Method::V1 | Method::V2, _) if nets.unet.is_conditional() => {
                return Err(SampleError::WrongUNet { wanted: "unconditional", got: "conditional" })
            }
            (Method::V1, _) if nets.layer.is_none() => return Err(SampleError::NoLayer("v1")),
            (Method::V2, _) if nets.layer.is_none() => return Err(SampleError::NoLayer("v2")),
            _ => {}
        }
        let mut noise = Noise::new(cfg.seed);
        // v2 starts from a single noise image; the others from N.
        let rows = if cfg.sampler == Method::V2 { 1 } else { cfg.n };
        let x = match x {
            Some(x) if x.dims() == [rows, 3, 32, 32] => x,
            Some(x) => return Err(SampleError::BadNoise(x.dims().to_vec(), rows)),
            None => noise.normal_tensor([rows, 3, 32, 32], device),
        };
        let classes = if cfg.sampler == Method::V2 { Vec::new() } else { cfg.image_classes() };
        Ok(Self {
            cfg: cfg.clone(),
            nets,
            device: device.clone(),
            noise,
            times: schedule::step_times(cfg.steps),
            i: 0,
            x,
            pred: None,
            classes,
            fan: if cfg.sampler == Method::V2 { fan_factors(cfg.n / cfg.classes.len()) } else { Vec::new() },
            unet_rows: 0,
        })
    }

    pub fn config(&self) -> &SampleConfig {
        &self.cfg
    }

    /// Run one step; `None` once all steps are done.
    pub fn step(&mut self) -> Option<StepInfo<'_>> {
        if self.i >= self.cfg.steps {
            return None;
        }
        let i = self.i;
        let log_snr = schedule::log_snr(self.times[i]);
        let x = self.x.clone();
        let (x, v) = match self.cfg.sampler {
            Method::Ddim => (x.clone(), self.unet(x, log_snr)),
            Method::V1 => (x.clone(), v1::velocity(self, x, log_snr)),
            Method::V2 => v2::velocity(self, x, log_snr),
        };
        let (next, pred) = ddim::update(x, v, i, &self.times, self.cfg.eta, &mut self.noise, &self.device);
        self.x = next;
        self.pred = Some(pred);
        self.i += 1;
        Some(StepInfo {
            i,
            steps: self.cfg.steps,
            t: self.times[i],
            x: &self.x,
            pred: self.pred.as_ref().unwrap(),
            classes: self.cfg.has_classes().then_some(self.classes.as_slice()),
            unet_rows: self.unet_rows,
        })
    }

    /// Finish the remaining steps and return the images in [`SampleConfig::image_classes`]
    /// order.
    pub fn finish(mut self) -> Samples {
        while self.step().is_some() {}
        let pred = self.pred.take().expect("at least one step ran");
        let images = if self.cfg.sampler == Method::V2 {
            // v2's rows are tiled (row r has class classes[r mod k]); regroup into class blocks.
            let mut order: Vec<usize> = (0..self.classes.len()).collect();
            let pos = |c: usize| self.cfg.classes.iter().position(|&k| k == c).unwrap();
            order.sort_by_key(|&r| pos(self.classes[r]));
            let idx: Vec<i64> = order.iter().map(|&r| r as i64).collect();
            pred.select(0, Tensor::<1, Int>::from_data(TensorData::new(idx, [self.cfg.n]), &self.device))
        } else {
            pred
        };
        debug_assert_eq!(images.dims()[0], self.cfg.n);
        Samples { images, unet_rows: self.unet_rows }
    }

    /// The U-Net at one log-SNR for every current row; counts the rows.
    fn unet(&mut self, x: Tensor<4>, log_snr: f64) -> Tensor<4> {
        self.unet_rows += x.dims()[0];
        self.nets.unet.velocity(x, log_snr, &self.classes)
    }

    fn layer(&self) -> &'a dyn Steer {
        self.nets.layer.expect("checked in Sampling::new")
    }

    /// `v` steered toward each current row's class at this step, if this step steers.
    fn steer(&self, x: Tensor<4>, v: Tensor<4>, log_snr: f64) -> Tensor<4> {
        if !self.cfg.steers(self.i) {
            return v;
        }
        let steered = self.layer().steer(x, v.clone(), log_snr, &self.classes);
        self.scale(v, steered)
    }

    /// `v + strength·(steered − v)`; exactly `steered` at strength 1.
    fn scale(&self, v: Tensor<4>, steered: Tensor<4>) -> Tensor<4> {
        if self.cfg.strength == 1.0 {
            steered
        } else {
            v.clone() + (steered - v) * self.cfg.strength
        }
    }
}

/// Run a whole sampler, calling `callback` after every step.
pub fn sample(
    cfg: &SampleConfig,
    nets: Nets<'_>,
    device: &Device,
    mut callback: impl FnMut(&StepInfo),
) -> Result<Samples, SampleError> {
    let mut run = Sampling::new(cfg, nets, device)?;
    while let Some(info) = run.step() {
        callback(&info);
    }
    Ok(run.finish())
}

/// Images in `[−1, 1]` → interleaved RGB bytes, one `Vec` of 32·32·3 per image.
pub fn to_rgb8(data: &[f32], n: usize) -> Vec<Vec<u8>> {
    const P: usize = 32 * 32;
    (0..n)
        .map(|i| {
            let img = &data[i * 3 * P..(i + 1) * 3 * P];
            (0..P)
                .flat_map(|p| (0..3).map(move |c| img[c * P + p]))
                .map(|v| (((v + 1.0) * 127.5).round()).clamp(0.0, 255.0) as u8)
                .collect()
        })
        .collect()
}
