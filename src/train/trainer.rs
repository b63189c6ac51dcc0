//! The training loop of the paper's three networks (method §2, §4, §7): v-objective loss,
//! Adam, EMA, validation on a fixed test subset, early stopping, exact resume.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Bytes, Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::data::{epoch_order, Cifar};
use super::{checkpoint, ema};
use crate::model::{ClassLayer, GuideNet, UNet};
use crate::noise::{Noise, NoiseState};
use crate::schedule;
use crate::weights::{load_bytes, to_bytes, write_atomic, WeightsError};

/// One optimizer step: v-objective loss on the batch `(x0, classes, t)`, backward, Adam with
/// learning rate `lr`, EMA with `decay`. Returns the new model, the new EMA and the loss, left on
/// the device: reading it back would wait for the step to finish on a GPU.
#[allow(clippy::too_many_arguments)]
pub fn train_step<M: Trainable>(
    model: M,
    ema_model: M,
    optim: &mut ModuleOptimizer,
    frozen: Frozen,
    (x0, classes, t): (Tensor<4>, Tensor<1, Int>, &[f64]),
    objective: &Objective,
    rng: &mut Noise,
    lr: f64,
    decay: f64,
) -> (M, M, Tensor<1>) {
    let l = loss(&model, frozen, x0, classes, t, objective, rng, true);
    let lv = l.clone().inner();
    let grads = GradientsParams::from_grads(l.backward(), &model);
    let model = optim.step(lr, model, grads);
    let ema_model = ema::update(ema_model, &model, decay);
    (model, ema_model, lv)
}

/// The networks a steering network trains on, none of them trained: the unconditional U-Net
/// whose velocity it steers and, for distillation, the conditional U-Net whose velocity is
/// then the target instead of the data's `v`.
#[derive(Clone, Copy, Default)]
pub struct Frozen<'a> {
    pub unet: Option<&'a UNet>,
    pub teacher: Option<&'a UNet>,
}

impl<'a> Frozen<'a> {
    fn unet(&self) -> &'a UNet {
        self.unet.expect("a steering network trains on a frozen U-Net")
    }
}

/// A network the loop can train: it predicts `v̂` for noised images.
pub trait Trainable: Module + Clone {
    /// # Shapes
    /// `x_t`: `[B, 3, 32, 32]`, `log_snr`, `classes`: `[B]` → `[B, 3, 32, 32]`
    fn predict(
        &self,
        frozen: Frozen,
        x_t: Tensor<4>,
        log_snr: Tensor<1>,
        classes: Tensor<1, Int>,
        rng: Option<&mut Noise>,
    ) -> Tensor<4>;
}

impl Trainable for UNet {
    fn predict(
        &self,
        _: Frozen,
        x_t: Tensor<4>,
        ls: Tensor<1>,
        cls: Tensor<1, Int>,
        rng: Option<&mut Noise>,
    ) -> Tensor<4> {
        let cls = self.is_conditional().then_some(cls);
        self.forward_with_dropout(x_t, ls, cls, rng)
    }
}

impl Trainable for ClassLayer {
    /// The additional layer on the frozen U-Net's velocity (method §4): no gradient reaches the
    /// U-Net, which runs without autodiff.
    fn predict(
        &self,
        frozen: Frozen,
        x_t: Tensor<4>,
        ls: Tensor<1>,
        cls: Tensor<1, Int>,
        _: Option<&mut Noise>,
    ) -> Tensor<4> {
        self.forward(frozen_velocity(frozen.unet(), x_t, ls, None), cls)
    }
}

impl Trainable for GuideNet {
    fn predict(
        &self,
        frozen: Frozen,
        x_t: Tensor<4>,
        ls: Tensor<1>,
        cls: Tensor<1, Int>,
        _: Option<&mut Noise>,
    ) -> Tensor<4> {
        // The U-Net computes its features anyway; a guide that reads none ignores them.
        let (v, features) = frozen_features(frozen.unet(), x_t.clone(), ls.clone());
        self.forward(x_t, v, &features, ls, cls)
    }
}

/// The frozen unconditional U-Net's velocity and inner features, as [`frozen_velocity`].
fn frozen_features(unet: &UNet, x_t: Tensor<4>, ls: Tensor<1>) -> (Tensor<4>, Vec<Tensor<4>>) {
    let tracked = x_t.is_autodiff();
    let (v, features) = unet.forward_features(x_t.inner(), ls.inner(), None);
    if !tracked {
        return (v, features);
    }
    (v.autodiff(), features.into_iter().map(|f| f.autodiff()).collect())
}

/// A frozen network's velocity: it runs without autodiff, so no gradient reaches it; the result
/// joins the graph of `x_t` again.
fn frozen_velocity(unet: &UNet, x_t: Tensor<4>, ls: Tensor<1>, cls: Option<Tensor<1, Int>>) -> Tensor<4> {
    let tracked = x_t.is_autodiff();
    let v = unet.forward(x_t.inner(), ls.inner(), cls.map(|c| c.inner()));
    if tracked {
        v.autodiff()
    } else {
        v
    }
}

/// Which noise levels the loss sees and how it weighs them; the default is method §2.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
pub struct Objective {
    /// `t` is drawn uniformly from `[t_min, t_max]` (validation: a stratified grid over it).
    pub t_min: f64,
    pub t_max: f64,
    /// Weigh each image's squared v error by sigmoid(log-SNR) = alpha² (method §2); `false`:
    /// the plain v error, which at high noise is the error of x̂₀ (`x̂₀ = alpha·x_t − sigma·v̂`).
    pub sigmoid_weight: bool,
    /// Distillation: the target is the frozen conditional U-Net's velocity for the same noisy
    /// image and class ([`Frozen::teacher`]) instead of the data's `v` — the same mean, without
    /// the data's variance, which at high noise dwarfs the class signal.
    #[serde(default)]
    pub distill: bool,
}

impl Default for Objective {
    fn default() -> Self {
        Self { t_min: 0.0, t_max: 1.0, sigmoid_weight: true, distill: false }
    }
}

impl Objective {
    /// Map `u ∈ [0, 1)` into the objective's `t` range.
    pub fn t(&self, u: f64) -> f64 {
        self.t_min + (self.t_max - self.t_min) * u
    }

    /// The loss weight of an image at `log_snr`.
    pub fn weight(&self, log_snr: f64) -> f64 {
        if self.sigmoid_weight {
            schedule::loss_weight(log_snr)
        } else {
            1.0
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TrainConfig {
    pub batch: usize,
    pub lr: f64,
    pub ema_decay: f64,
    pub seed: u64,
    /// Evaluate, log and checkpoint every this many steps.
    pub eval_every: usize,
    /// Stop after this many evaluations without a better validation loss (MAX_COUNT).
    pub patience: usize,
    /// Test images used for the validation loss.
    pub val_images: usize,
    pub max_steps: usize,
    /// Absent from checkpoints written before it existed: method §2's objective.
    #[serde(default)]
    pub objective: Objective,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct LogRow {
    pub step: usize,
    pub epoch: f64,
    pub train_loss: f64,
    pub val_loss: f64,
    pub images_per_s: f64,
    pub wall_s: f64,
}

/// Everything besides the tensors that a resumed run needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainState {
    pub config: TrainConfig,
    pub step: usize,
    pub noise: NoiseState,
    /// Flattened, so checkpoints keep the keys `best_val`, `best_step`, `bad_evals`.
    #[serde(flatten)]
    pub early: EarlyStopping,
    pub wall_s: f64,
    pub log: Vec<LogRow>,
    pub stopped_early: bool,
}

/// Why the loop returned.
#[derive(Debug, PartialEq, Eq)]
pub enum Stop {
    MaxSteps,
    EarlyStopping,
    TimeLimit,
}

/// Early stopping on the validation loss (the paper's MAX_COUNT): stop after `patience`
/// evaluations in a row without a new best.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EarlyStopping {
    pub best_val: f64,
    pub best_step: usize,
    pub bad_evals: usize,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        Self { best_val: f64::INFINITY, best_step: 0, bad_evals: 0 }
    }
}

impl EarlyStopping {
    /// Record the validation loss of `step`; returns whether it is a new best.
    pub fn update(&mut self, step: usize, val: f64) -> bool {
        if val < self.best_val {
            *self = Self { best_val: val, best_step: step, bad_evals: 0 };
            true
        } else {
            self.bad_evals += 1;
            false
        }
    }

    pub fn should_stop(&self, patience: usize) -> bool {
        self.bad_evals >= patience
    }
}

/// What can end a training run early: files that cannot be written, a checkpoint that cannot
/// be read, an optimizer state that does not fit.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("a batch of {batch} images cannot be drawn from {images} training images")]
    Batch { batch: usize, images: usize },
    #[error("optimizer state: {msg}")]
    Optimizer { msg: String },
    #[error(transparent)]
    Weights(#[from] WeightsError),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> TrainError + '_ {
    move |source| TrainError::Io { path: path.display().to_string(), source }
}

pub struct Run<'a, M: Trainable> {
    pub model: M,
    pub ema: M,
    pub frozen: Frozen<'a>,
    pub train: &'a Cifar,
    pub val: &'a Cifar,
    /// Checkpoint, `best.bpk` (best EMA, f32) and `log.csv` go here.
    pub dir: PathBuf,
    pub device: Device,
    pub quiet: bool,
    /// Stop (after a checkpoint) once this much wall time has passed in this process.
    pub time_limit_s: Option<f64>,
    /// Also validate and checkpoint whenever this much wall time has passed since the last
    /// checkpoint (a kill then loses at most that much).
    pub checkpoint_every_s: Option<f64>,
}

fn per_row(v: &[f32], device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(v.to_vec(), [v.len(), 1, 1, 1]), device)
}

/// The v-objective loss of method §2 for one batch at times `t`, with `eps` from `rng`; with a
/// teacher, the target is the teacher's velocity for the same `x_t` and class (distillation).
#[allow(clippy::too_many_arguments)]
pub fn loss<M: Trainable>(
    model: &M,
    frozen: Frozen,
    x0: Tensor<4>,
    classes: Tensor<1, Int>,
    t: &[f64],
    objective: &Objective,
    rng: &mut Noise,
    dropout: bool,
) -> Tensor<1> {
    let device = x0.device();
    let b = t.len();
    let ls: Vec<f64> = t.iter().map(|&t| schedule::log_snr(t)).collect();
    let (alpha, sigma): (Vec<f32>, Vec<f32>) = ls
        .iter()
        .map(|&l| {
            let (a, s) = schedule::alpha_sigma(l);
            (a as f32, s as f32)
        })
        .unzip();
    let weight: Vec<f32> = ls.iter().map(|&l| objective.weight(l) as f32).collect();
    let eps = rng.normal_tensor([b, 3, 32, 32], &device);
    let (a, s) = (per_row(&alpha, &device), per_row(&sigma, &device));
    let x_t = x0.clone() * a.clone() + eps.clone() * s.clone();
    let log_snr =
        Tensor::<1>::from_data(TensorData::new(ls.iter().map(|&l| l as f32).collect::<Vec<_>>(), [b]), &device);
    let target = if objective.distill {
        let teacher = frozen.teacher.expect("distillation needs the conditional U-Net");
        frozen_velocity(teacher, x_t.clone(), log_snr.clone(), Some(classes.clone())).detach()
    } else {
        eps * a - x0 * s
    };
    let v = model.predict(frozen, x_t, log_snr, classes, if dropout { Some(rng) } else { None });
    let per_image = (v - target).powi_scalar(2).mean_dim(3).mean_dim(2).mean_dim(1).reshape([b]);
    let w = Tensor::<1>::from_data(TensorData::new(weight, [b]), &device);
    (per_image * w).mean()
}

/// Validation loss of `model` on the first `n` images of `val`: a fixed noise seed and a fixed
/// stratified `t` grid over the objective's range, so evaluations are comparable across the run
/// and across runs.
pub fn validate<M: Trainable>(
    model: &M,
    frozen: Frozen,
    val: &Cifar,
    n: usize,
    objective: &Objective,
    device: &Device,
) -> f64 {
    let n = n.min(val.len());
    let mut rng = Noise::with_stream(0x5eed, 7);
    // Summed on the device and read once: one wait for the device per validation.
    let mut total: Option<Tensor<1>> = None;
    for chunk in (0..n).collect::<Vec<_>>().chunks(100) {
        let (x0, cls) = val.batch(chunk, None, device);
        let t: Vec<f64> = chunk.iter().map(|&i| objective.t((i as f64 + 0.5) / n as f64)).collect();
        let l = loss(model, frozen, x0, cls, &t, objective, &mut rng, false) * chunk.len() as f64;
        total = Some(add_on_device(total.take(), l));
    }
    total.map_or(0.0, |t| t.into_scalar::<f32>() as f64 / n as f64)
}

impl<M: Trainable> Run<'_, M> {
    fn checkpoint_path(&self) -> PathBuf {
        self.dir.join("checkpoint.bin")
    }

    /// Train from `state` (a fresh one, or one loaded by [`resume`](Self::resume)) until
    /// `max_steps`, early stopping or the time limit.
    pub fn train(
        mut self,
        mut state: TrainState,
        optim_bytes: Option<Vec<u8>>,
    ) -> Result<(Stop, TrainState, M), TrainError> {
        let cfg = state.config.clone();
        if cfg.batch == 0 || cfg.batch > self.train.len() {
            return Err(TrainError::Batch { batch: cfg.batch, images: self.train.len() });
        }
        let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
        if let Some(b) = optim_bytes {
            optim =
                optim.from_bytes(Bytes::from_bytes_vec(b)).map_err(|e| TrainError::Optimizer { msg: e.to_string() })?;
        }
        std::fs::create_dir_all(&self.dir).map_err(io_error(&self.dir))?;
        let mut rng = Noise::from_state(&state.noise);
        let mut window = Window::new(state.step);
        let clock = Clock { started: Instant::now(), wall0: state.wall_s };
        let bar = self.progress_bar(cfg.max_steps, state.step);
        let mut order = EpochOrder::default();
        let stop = loop {
            if state.step >= cfg.max_steps {
                break Stop::MaxSteps;
            }
            let loss = self.step(&mut state, &mut optim, &mut rng, &mut order);
            window.add(loss);
            bar.set_position(state.step as u64);
            if !self.quiet && state.step.is_multiple_of(BAR_LOSS_EVERY) {
                bar.set_message(format!(
                    "loss {:.4} {:.1} img/s best val {:.4}",
                    window.mean_loss(),
                    window.images_per_s(state.step, cfg.batch),
                    state.early.best_val
                ));
            }
            let out_of_time = self.time_limit_s.is_some_and(|l| clock.started.elapsed().as_secs_f64() >= l);
            let due = self.checkpoint_every_s.is_some_and(|s| window.since.elapsed().as_secs_f64() >= s);
            if state.step.is_multiple_of(cfg.eval_every) || state.step == cfg.max_steps || out_of_time || due {
                let stop = self.evaluate_and_checkpoint(&mut state, &optim, &rng, &window, &clock)?;
                window = Window::new(state.step);
                if stop {
                    break Stop::EarlyStopping;
                }
                if out_of_time {
                    break Stop::TimeLimit;
                }
            }
        };
        bar.finish_and_clear();
        Ok((stop, state, self.ema))
    }

    /// One optimizer step on the next batch of the epoch's order.
    fn step(
        &mut self,
        state: &mut TrainState,
        optim: &mut ModuleOptimizer,
        rng: &mut Noise,
        order: &mut EpochOrder,
    ) -> Tensor<1> {
        let cfg = &state.config;
        let idx = order.batch(state.step, cfg.batch, cfg.seed, self.train.len());
        let (x0, cls) = self.train.batch(&idx, Some(rng), &self.device.clone().autodiff());
        let t: Vec<f64> = (0..cfg.batch).map(|_| cfg.objective.t(rng.uniform())).collect();
        let decay = ema::warmup_decay(cfg.ema_decay, state.step);
        let (model, ema, loss) = train_step(
            self.model.clone(),
            self.ema.clone(),
            optim,
            self.frozen,
            (x0, cls, &t),
            &cfg.objective,
            rng,
            cfg.lr,
            decay,
        );
        (self.model, self.ema) = (model, ema);
        state.step += 1;
        loss
    }

    /// Validate the EMA, keep it as `best.bpk` when it is the best so far, log a CSV row and
    /// write the checkpoint. Returns whether early stopping says to stop.
    fn evaluate_and_checkpoint(
        &self,
        state: &mut TrainState,
        optim: &ModuleOptimizer,
        rng: &Noise,
        window: &Window,
        clock: &Clock,
    ) -> Result<bool, TrainError> {
        let cfg = &state.config;
        let val = validate(&self.ema, self.frozen, self.val, cfg.val_images, &cfg.objective, &self.device);
        if state.early.update(state.step, val) {
            write_atomic(&self.dir.join("best.bpk"), &to_bytes(self.ema.clone(), false))?;
        }
        state.wall_s = clock.wall0 + clock.started.elapsed().as_secs_f64();
        let row = LogRow {
            step: state.step,
            epoch: (state.step * cfg.batch) as f64 / self.train.len() as f64,
            train_loss: window.mean_loss(),
            val_loss: val,
            images_per_s: window.images_per_s(state.step, cfg.batch),
            wall_s: state.wall_s,
        };
        append_csv(&self.dir.join("log.csv"), &row)?;
        state.log.push(row);
        state.noise = rng.state();
        state.stopped_early = state.early.should_stop(cfg.patience);
        self.save(state, optim)?;
        Ok(state.stopped_early)
    }

    fn progress_bar(&self, len: usize, pos: usize) -> indicatif::ProgressBar {
        let bar = if self.quiet { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(len as u64) };
        bar.set_style(indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed}<{eta}]").unwrap());
        bar.set_position(pos as u64);
        bar
    }

    fn save(&self, state: &TrainState, optim: &ModuleOptimizer) -> Result<(), TrainError> {
        let model = to_bytes(self.model.clone(), false);
        let ema = to_bytes(self.ema.clone(), false);
        let opt = optim.into_bytes().map_err(|e| TrainError::Optimizer { msg: e.to_string() })?;
        Ok(checkpoint::save(&self.checkpoint_path(), state, &[&model, &ema, &opt])?)
    }

    /// Load `dir/checkpoint.bin` into this run's (freshly initialised) model and EMA.
    pub fn resume(mut self) -> Result<(Self, TrainState, Vec<u8>), TrainError> {
        let (state, mut blobs): (TrainState, _) = checkpoint::load(&self.checkpoint_path(), 3)?;
        let opt = blobs.pop().unwrap();
        let ema = blobs.pop().unwrap();
        let model = blobs.pop().unwrap();
        self.model = load_bytes(self.model, &model, "checkpoint model", "this run's network")?;
        self.ema = load_bytes(self.ema, &ema, "checkpoint EMA", "this run's network")?;
        Ok((self, state, opt))
    }
}

pub fn fresh_state(config: TrainConfig) -> TrainState {
    TrainState {
        noise: Noise::with_stream(config.seed, 1).state(),
        config,
        step: 0,
        early: EarlyStopping::default(),
        wall_s: 0.0,
        log: Vec::new(),
        stopped_early: false,
    }
}

fn append_csv(path: &Path, r: &LogRow) -> Result<(), TrainError> {
    let new = !path.exists();
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(io_error(path))?;
    if new {
        writeln!(f, "step,epoch,train_loss,val_loss,images_per_s,wall_s").map_err(io_error(path))?;
    }
    writeln!(f, "{},{:.4},{:.6},{:.6},{:.2},{:.1}", r.step, r.epoch, r.train_loss, r.val_loss, r.images_per_s, r.wall_s)
        .map_err(io_error(path))
}

/// The shuffled order of one epoch; it depends only on (seed, epoch), so a resumed run
/// rebuilds the same one.
#[derive(Default)]
struct EpochOrder {
    epoch: Option<usize>,
    order: Vec<usize>,
}

impl EpochOrder {
    /// Indices of the images of optimizer step `step`.
    fn batch(&mut self, step: usize, batch: usize, seed: u64, images: usize) -> Vec<usize> {
        let per_epoch = (images / batch).max(1);
        let (epoch, j) = (step / per_epoch, step % per_epoch);
        if self.epoch != Some(epoch) {
            self.order = epoch_order(images, seed, epoch as u64);
            self.epoch = Some(epoch);
        }
        self.order[j * batch..(j + 1) * batch].to_vec()
    }
}

/// `sum + x` without reading either back (`x` alone when there is no sum yet).
fn add_on_device(sum: Option<Tensor<1>>, x: Tensor<1>) -> Tensor<1> {
    match sum {
        Some(sum) => sum + x,
        None => x,
    }
}

/// Steps between the progress bar's loss readings: each reading waits for the device.
const BAR_LOSS_EVERY: usize = 50;

/// The training losses since the last log row, summed on the device: the host reads them only
/// when it logs, so a GPU never waits for the host between steps.
struct Window {
    since: Instant,
    from_step: usize,
    loss_sum: Option<Tensor<1>>,
    losses: usize,
}

impl Window {
    fn new(from_step: usize) -> Self {
        Self { since: Instant::now(), from_step, loss_sum: None, losses: 0 }
    }

    fn add(&mut self, loss: Tensor<1>) {
        self.loss_sum = Some(add_on_device(self.loss_sum.take(), loss));
        self.losses += 1;
    }

    fn mean_loss(&self) -> f64 {
        match &self.loss_sum {
            Some(sum) => sum.clone().into_scalar::<f32>() as f64 / self.losses as f64,
            None => 0.0,
        }
    }

    fn images_per_s(&self, step: usize, batch: usize) -> f64 {
        ((step - self.from_step) * batch) as f64 / self.since.elapsed().as_secs_f64()
    }
}

/// Wall time: this process's start, and what earlier processes of the run already spent.
struct Clock {
    started: Instant,
    wall0: f64,
}
