//! The training loop of the paper's three networks (method §2, §4, §7): v-objective loss,
//! Adam, EMA, validation on a fixed test subset, early stopping, exact resume.
//!
//! Its parts live beside it, and are re-exported here: the loss and the validation loss in
//! [`objective`](super::objective), the networks it trains in [`adapters`](super::adapters), early
//! stopping in [`stopping`](super::stopping), the settings and the resumable state in
//! [`state`](super::state), the CSV log in [`log`](super::log), saving and resuming in
//! [`checkpoint`](super::checkpoint).

use std::path::PathBuf;
use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Bytes, Device, Int, Tensor};

use super::data::{epoch_order, Cifar};
use super::ema;
use super::error::io_error;
use super::log::append_csv;
use super::objective::add_on_device;
use crate::noise::Noise;
use crate::weights::{to_bytes, write_atomic};

pub use super::adapters::{Frozen, Trainable};
pub use super::error::TrainError;
pub use super::log::LogRow;
pub use super::objective::{loss, validation_loss, Objective};
pub use super::state::{fresh_state, TrainConfig, TrainState};
pub use super::stopping::{EarlyStopping, Stop};

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

/// One training run: the network and its EMA, what it trains on, and where its files go.
pub struct Training<'a, M: Trainable> {
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

impl<M: Trainable> Training<'_, M> {
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
        let mut optim = optimizer(optim_bytes)?;
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
            self.show_progress(&bar, &state, &window);
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
        let val = validation_loss(&self.ema, self.frozen, self.val, cfg.val_images, &cfg.objective, &self.device);
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
        self.save_checkpoint(state, optim)?;
        Ok(state.stopped_early)
    }

    fn progress_bar(&self, len: usize, pos: usize) -> indicatif::ProgressBar {
        let bar = if self.quiet { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new(len as u64) };
        bar.set_style(indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg} [{elapsed}<{eta}]").unwrap());
        bar.set_position(pos as u64);
        bar
    }

    /// Move the bar to the current step; every [`BAR_LOSS_EVERY`] steps also show the window's
    /// loss and speed.
    fn show_progress(&self, bar: &indicatif::ProgressBar, state: &TrainState, window: &Window) {
        bar.set_position(state.step as u64);
        if !self.quiet && state.step.is_multiple_of(BAR_LOSS_EVERY) {
            bar.set_message(format!(
                "loss {:.4} {:.1} img/s best val {:.4}",
                window.mean_loss(),
                window.images_per_s(state.step, state.config.batch),
                state.early.best_val
            ));
        }
    }
}

/// Adam, with the optimizer state of a checkpoint when resuming.
fn optimizer(bytes: Option<Vec<u8>>) -> Result<ModuleOptimizer, TrainError> {
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    if let Some(b) = bytes {
        optim = optim.from_bytes(Bytes::from_bytes_vec(b)).map_err(|e| TrainError::Optimizer { msg: e.to_string() })?;
    }
    Ok(optim)
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
