//! Samplers of method §5 — `ddim`, `v1`, `v2` — as one stepper over a shared update rule: DDIM
//! (`ddim.rs`) or DPM-Solver++(2M) (`dpm.rs`).
//!
//! A [`Sampling`] run is advanced one step at a time ([`Sampling::step`]), so the CLI can drive
//! a progress bar and the page can `await` a readback between steps; [`sample`] runs it to the
//! end with a k-diffusion style callback.

mod choices;
mod config;
mod ddim;
mod dpm;
mod error;
pub mod limits;
mod link;
mod nets;
mod part;
mod schema;
mod solver;
mod steering;
mod v1;
mod v2;

pub use choices::{parse_classes, CopySteering, ModelKind, SamplerKind, Solver, SteeringKind, CLASS_NAMES};
pub use config::{default_fan_eta, SampleConfig, Sampler, DEFAULT_FAN_ETA, DEFAULT_W};
pub use error::SampleError;
pub use limits::{MAX_FADE, MAX_N, MAX_STEPS, MAX_STRENGTH, MAX_W};
pub use link::{FlatConfig, LINK_KEYS};
pub use nets::{Denoiser, Prediction, Steer, Steering};
pub use part::Part;
pub use schema::{page_schema, PageSchema};
pub use steering::{
    faded_strength, SteeringConfig, CFG_FADE, CFG_STRENGTH, FADE_FLOOR, GUIDE_FADE, GUIDE_FADED_STRENGTH,
    GUIDE_FULL_STRENGTH_STEPS, GUIDE_STRENGTH,
};
pub use v2::{fan_factors, v2_rows_per_step, v2_unet_rows};

use burn::tensor::{Device, Tensor};

use crate::noise::Noise;
use crate::schedule;
use nets::index_tensor;
use part::Rows;
use v2::{FanOut, Growth};

/// The networks a run uses.
#[derive(Clone, Copy)]
pub struct Nets<'a> {
    pub unet: &'a dyn Denoiser,
    pub steering: Option<&'a dyn Steer>,
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
    /// Which rows of the whole run these are: their indices among its `total_rows` rows at this
    /// step (all of them unless the run is a [`Part`]).
    pub rows: &'s [usize],
    pub total_rows: usize,
    /// U-Net rows evaluated so far.
    pub unet_rows: usize,
}

/// Output of a run.
pub struct Samples {
    /// `[N, 3, 32, 32]`, ordered as [`SampleConfig::image_classes`] (a [`Part`]'s images: its
    /// rows of that order, at `positions`).
    pub images: Tensor<4>,
    /// Where each image stands in the whole run's images (for the whole run: `0..N`).
    pub positions: Vec<usize>,
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
    /// Which of the whole run's rows the current rows are.
    rows: Rows,
    /// The previous step's x̂₀ of every current row (the multistep solver's history).
    history: Option<Tensor<4>>,
    unet_rows: usize,
    /// Whether the steering network reads the U-Net's inner features.
    reads_features: bool,
    /// The last U-Net call's inner features (only when the steering network reads them).
    features: Vec<Tensor<4>>,
}

/// Whether `nets` can run `cfg`: a valid config, the U-Net it names, a steering network where
/// it steers, and the U-Net features that network reads. Returns whether it reads any.
fn check_nets(cfg: &SampleConfig, nets: Nets<'_>) -> Result<bool, SampleError> {
    cfg.validate()?;
    let (wanted, got) = (cfg.unet(), ModelKind::of(nets.unet.is_conditional()));
    if wanted != got {
        return Err(SampleError::WrongUNet { wanted: wanted.name(), got: got.name() });
    }
    if cfg.sampler.steering().is_some() && nets.steering.is_none() {
        return Err(SampleError::NoSteering(cfg.sampler.name()));
    }
    let wanted = nets.steering.map(|s| s.feature_shapes()).unwrap_or_default();
    let got = nets.unet.feature_shapes();
    if !got.starts_with(&wanted) {
        return Err(SampleError::FeatureMismatch { wanted, got });
    }
    Ok(!wanted.is_empty())
}

impl<'a> Sampling<'a> {
    pub fn new(cfg: &SampleConfig, nets: Nets<'a>, device: &Device) -> Result<Self, SampleError> {
        Self::start(cfg, nets, device, None, Part::WHOLE)
    }

    /// One part of a run split `part.of` ways: its rows of the whole run's images, the same
    /// numbers whatever the split ([`part`](self::part)).
    pub fn part(cfg: &SampleConfig, nets: Nets<'a>, device: &Device, part: Part) -> Result<Self, SampleError> {
        if part.of == 0 || part.index >= part.of || part.of > cfg.n {
            return Err(SampleError::BadPart { index: part.index, of: part.of, n: cfg.n });
        }
        Self::start(cfg, nets, device, None, part)
    }

    /// As [`new`](Self::new), from a given initial noise (`[N, 3, 32, 32]`, or `[1, …]` for v2)
    /// instead of the seeded one — e.g. noise shared with another implementation.
    pub fn with_initial_noise(
        cfg: &SampleConfig,
        nets: Nets<'a>,
        device: &Device,
        x: Tensor<4>,
    ) -> Result<Self, SampleError> {
        Self::start(cfg, nets, device, Some(x), Part::WHOLE)
    }

    fn start(
        cfg: &SampleConfig,
        nets: Nets<'a>,
        device: &Device,
        x: Option<Tensor<4>>,
        part: Part,
    ) -> Result<Self, SampleError> {
        let reads_features = check_nets(cfg, nets)?;
        let mut noise = Noise::new(cfg.seed);
        let fans_out = FanOut::of(cfg).is_some();
        let rows = if fans_out { FanOut::START_ROWS } else { cfg.n };
        let part_rows = Rows::new(part, rows);
        let x = match x {
            Some(x) if x.dims() == [rows, 3, 32, 32] => x,
            Some(x) => return Err(SampleError::BadNoise(x.dims().to_vec(), rows)),
            None => noise.normal_rows(&part_rows.ids, rows, device),
        };
        // v2's rows get their classes at its first fan-out.
        let classes = if fans_out {
            Vec::new()
        } else {
            let all = cfg.image_classes();
            part_rows.ids.iter().map(|&r| all[r]).collect()
        };
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
            rows: part_rows,
            history: None,
            unet_rows: 0,
            reads_features,
            features: Vec::new(),
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
        let state = match (FanOut::of(&self.cfg), self.cfg.sampler) {
            (Some(fan_out), _) => fan_out.velocity(self, x, log_snr),
            (None, Sampler::V1 { .. }) => (x.clone(), v1::velocity(self, x, log_snr)),
            (None, _) => (x.clone(), self.unet(x, log_snr)),
        };
        let (solver, eta) = (self.cfg.solver, self.cfg.eta_at(i));
        // `fresh_noise` spelled out on the fields it reads: a method would borrow all of `self`.
        let (noise, rows, device) = (&mut self.noise, &self.rows, &self.device);
        let draw = || noise.normal_rows(&rows.ids, rows.total, device);
        let out = solver::solve(solver, &self.times, i, eta, state, &mut self.history, draw);
        self.x = out.next;
        self.pred = Some(out.pred);
        self.i += 1;
        Some(StepInfo {
            i,
            steps: self.cfg.steps,
            t: self.times[i],
            x: &self.x,
            pred: self.pred.as_ref().unwrap(),
            classes: self.cfg.has_classes().then_some(self.classes.as_slice()),
            rows: &self.rows.ids,
            total_rows: self.rows.total,
            unet_rows: self.unet_rows,
        })
    }

    /// Finish the remaining steps and return the images in [`SampleConfig::image_classes`]
    /// order.
    pub fn finish(mut self) -> Samples {
        while self.step().is_some() {}
        let pred = self.pred.take().expect("at least one step ran");
        let (images, positions) = if FanOut::of(&self.cfg).is_some() {
            let at = v2::output_positions(&self.rows.ids, self.cfg.classes.len(), self.cfg.n);
            let mut order: Vec<usize> = (0..at.len()).collect();
            order.sort_by_key(|&j| at[j]);
            let images = pred.select(0, index_tensor(&order, &self.device));
            (images, order.iter().map(|&j| at[j]).collect())
        } else {
            (pred, self.rows.ids.clone())
        };
        debug_assert_eq!(images.dims()[0], positions.len());
        Samples { images, positions, unet_rows: self.unet_rows }
    }

    /// The U-Net at one log-SNR for every current row; counts the rows, and keeps its inner
    /// features for the steering of these rows when the steering network reads them.
    fn unet(&mut self, x: Tensor<4>, log_snr: f64) -> Tensor<4> {
        self.unet_rows += self.rows.owned(x.dims()[0]);
        if !self.reads_features {
            return self.nets.unet.velocity(x, log_snr, &self.classes);
        }
        let (v, features) = self.nets.unet.velocity_features(x, log_snr, &self.classes);
        self.features = features;
        v
    }

    /// Fresh standard normal noise for every current row, drawn where the whole run draws it.
    fn fresh_noise(&mut self) -> Tensor<4> {
        self.noise.normal_rows(&self.rows.ids, self.rows.total, &self.device)
    }

    /// v2 grew every row into copies (`x` and `v` already grown, tiled: the copies of row `j`
    /// of `b` are rows `j`, `j + b`, …): the rows' classes, ids and solver history grow the same
    /// way, and this part keeps its share.
    fn grow(&mut self, growth: Growth, x: Tensor<4>, v: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let copies = match growth {
            Growth::IntoClasses(classes) => {
                let k = classes.len();
                self.classes = classes;
                k
            }
            Growth::Copies(copies) => {
                self.classes = self.classes.repeat(copies);
                copies
            }
        };
        self.history = self.history.take().map(|h| h.repeat_dim(0, copies));
        self.rows.tile(copies);
        self.keep_part(x, v)
    }

    /// Keep this part's share of the rows (state, velocity, class and the solver's history),
    /// once the run has enough rows to share out.
    fn keep_part(&mut self, x: Tensor<4>, v: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let Some(keep) = self.rows.choose() else { return (x, v) };
        self.classes = keep.iter().map(|&r| self.classes[r]).collect();
        let idx = index_tensor(&keep, &self.device);
        self.history = self.history.take().map(|h| h.select(0, idx.clone()));
        (x.select(0, idx.clone()), v.select(0, idx))
    }

    fn steering(&self) -> &'a dyn Steer {
        self.nets.steering.expect("checked in Sampling::new")
    }

    /// What the steering network reads: the state, the U-Net's velocity and its inner features.
    fn prediction(&self, x: Tensor<4>, v: Tensor<4>) -> Prediction {
        Prediction { x, v, features: self.features.clone() }
    }

    /// `v` steered toward each current row's class at this step, if this step steers.
    fn steer(&mut self, x: Tensor<4>, v: Tensor<4>, log_snr: f64) -> Tensor<4> {
        if !self.cfg.steers(self.i) {
            return v;
        }
        let steered = self.steering().steer(self.prediction(x, v.clone()), log_snr, &self.classes);
        self.count_steered(steered.dims()[0]);
        self.scale(v, steered)
    }

    /// Rows the steering network produced: U-Net rows when it is the conditional U-Net.
    fn count_steered(&mut self, rows: usize) {
        if self.cfg.sampler.steers_with_unet() {
            self.unet_rows += self.rows.owned(rows);
        }
    }

    /// `v + s·(steered − v)` with this step's strength `s`; exactly `steered` at 1.
    fn scale(&self, v: Tensor<4>, steered: Tensor<4>) -> Tensor<4> {
        let strength = self.cfg.strength_at(self.i);
        if strength == 1.0 {
            steered
        } else {
            v.clone() + (steered - v) * strength
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
