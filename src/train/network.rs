//! Training one network end to end as `vdiff train` does: build or warm-start it, check the
//! settings against a checkpoint it resumes, run the loop, export the best EMA weights.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::data::Cifar;
use super::trainer::{
    fresh_state, validation_loss, Frozen, Objective, Stop, TrainConfig, TrainState, Trainable, Training,
};
use crate::model::{ClassLayerConfig, GuideNet, GuideNetConfig, UNet, UNetConfig};
use crate::sampler::{ModelKind, SteeringKind};
use crate::weights::{load_bytes, Arch, Manifest};

/// What a steering network learns to output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// The image's velocity (method §4).
    Data,
    /// Distillation: the conditional U-Net's velocity for the same noisy image and class.
    Conditional,
}

/// How the loss weighs the noise levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Weighting {
    /// The plain v error: at high noise, the error of x̂₀ that the class decides.
    None,
    /// sigmoid(log-SNR) = alpha² (method §2), which all but ignores t ≥ 0.5.
    Sigmoid,
}

impl Objective {
    /// `t` uniform in `[t_min, t_max]`, weighed and targeted as given.
    pub fn new(t_min: f64, t_max: f64, weighting: Weighting, target: Target) -> Result<Self, String> {
        if !((0.0..=1.0).contains(&t_min) && t_min < t_max && t_max <= 1.0) {
            return Err(format!("need 0 ≤ t-min < t-max ≤ 1 (got {t_min} and {t_max})"));
        }
        let (sigmoid_weight, distill) = (weighting == Weighting::Sigmoid, target == Target::Conditional);
        Ok(Self { t_min, t_max, sigmoid_weight, distill })
    }
}

/// Where a run lives and how long it may go: everything but the network and its objective.
#[derive(Clone, Debug)]
pub struct RunSettings {
    /// CIFAR-10: a directory with the binary batches, or the `.tar.gz`.
    pub data: PathBuf,
    /// Checkpoint, best EMA weights, log and `run.json`.
    pub run: PathBuf,
    /// Continue from the run directory's checkpoint.
    pub resume: bool,
    /// Weights directory the best EMA weights are exported to.
    pub out: PathBuf,
    /// Warm start from this weights directory's entry of the same network.
    pub init: Option<PathBuf>,
    pub quiet: bool,
    pub time_limit_s: Option<f64>,
    pub checkpoint_every_s: Option<f64>,
    /// Its objective is replaced by the network's.
    pub config: TrainConfig,
}

/// What a steering network trains on.
#[derive(Clone, Debug)]
pub struct SteeringTraining {
    /// Which steering network.
    pub steering: SteeringKind,
    /// Weights directory with the frozen unconditional U-Net (and the conditional one to distil).
    pub unet: PathBuf,
    pub objective: Objective,
    /// The guide reads the frozen U-Net's inner feature maps too.
    pub unet_features: bool,
}

/// What a run is, saved beside its checkpoint so `export` knows the entry and architecture.
#[derive(Serialize, Deserialize)]
struct RunInfo {
    entry: String,
    file: String,
    arch: Arch,
}

/// Train a U-Net (method §2's objective) and export it as entry `conditional` or `unconditional`.
pub fn train_unet(s: &RunSettings, config: UNetConfig, device: Device) -> anyhow::Result<()> {
    config.validate().map_err(|e| anyhow::anyhow!("U-Net width/levels/dropout: {e}"))?;
    let entry = ModelKind::of(config.conditional).name();
    let info =
        RunInfo { entry: entry.into(), file: format!("unet-{entry}.bpk"), arch: Arch::Unet { config: config.clone() } };
    let (model, ema) =
        warm_start(s, config.init(&device.clone().autodiff()), config.init(&device), entry, &format!("{config:?}"))?;
    let s = RunSettings { config: TrainConfig { objective: Objective::default(), ..s.config.clone() }, ..s.clone() };
    train_network(&s, info, model, ema, Frozen::default(), device)
}

/// Train a steering network on the frozen unconditional U-Net and export it under its name.
pub fn train_steering(s: &RunSettings, t: &SteeringTraining, device: Device) -> anyhow::Result<()> {
    anyhow::ensure!(
        t.steering != SteeringKind::Conditional,
        "the conditional U-Net is trained as a U-Net (`train unet --conditional`), not as a steering network"
    );
    let unet = frozen_unet(&t.unet, ModelKind::Unconditional, &device)?;
    let teacher = if t.objective.distill { Some(frozen_unet(&t.unet, ModelKind::Conditional, &device)?) } else { None };
    let frozen = Frozen { unet: Some(&unet), teacher: teacher.as_ref() };
    let s = RunSettings { config: TrainConfig { objective: t.objective, ..s.config.clone() }, ..s.clone() };
    let (entry, adev) = (t.steering.name(), device.clone().autodiff());
    let file = format!("{entry}.bpk");
    if t.steering == SteeringKind::Guide {
        let features = if t.unet_features { Some(feature_width(&unet)?) } else { None };
        let config = GuideNetConfig::new().with_features(features);
        let info = RunInfo { entry: entry.into(), file, arch: Arch::Guide { config: config.clone() } };
        let (model, ema) = warm_start_guide(&s, &config, entry, &device)?;
        train_network(&s, info, model, ema, frozen, device)
    } else {
        let config = ClassLayerConfig::new().with_residual(t.steering == SteeringKind::Residual);
        let info = RunInfo { entry: entry.into(), file, arch: Arch::Layer { config: config.clone() } };
        let (model, ema) = warm_start(&s, config.init(&adev), config.init(&device), entry, &format!("{config:?}"))?;
        train_network(&s, info, model, ema, frozen, device)
    }
}

/// Base width of the U-Net features a guide reads: the 16×16 and 8×8 maps of a U-Net with at
/// least 3 levels.
fn feature_width(unet: &UNet) -> anyhow::Result<usize> {
    match unet.feature_shapes()[..] {
        [[c, 16], [c2, 8], ..] if c2 == 2 * c => Ok(c),
        ref got => anyhow::bail!("the guide reads a U-Net's 16×16 and 8×8 features; this U-Net has {got:?}"),
    }
}

/// As [`warm_start`], where a guide that reads U-Net features may also start from the same
/// guide without them (its feature inputs start at zero, so it steers as that one did).
fn warm_start_guide(
    s: &RunSettings,
    config: &GuideNetConfig,
    entry: &str,
    device: &Device,
) -> anyhow::Result<(GuideNet, GuideNet)> {
    let plain = GuideNetConfig { features: None, ..config.clone() };
    let from_plain = match &s.init {
        Some(dir) if config.features.is_some() => {
            let manifest = Manifest::read(dir).with_context(|| format!("--init weights in {}", dir.display()))?;
            manifest.entry(entry)?.arch == Arch::Guide { config: plain.clone() }
        }
        _ => false,
    };
    let adev = device.clone().autodiff();
    if !from_plain {
        return warm_start(s, config.init(&adev), config.init(device), entry, &format!("{config:?}"));
    }
    let (model, ema) = warm_start(s, plain.init(&adev), plain.init(device), entry, &format!("{plain:?}"))?;
    Ok((model.with_features(config.features, &adev), ema.with_features(config.features, device)))
}

/// One of the frozen U-Nets of a weights directory, checked to be the kind asked for.
fn frozen_unet(dir: &Path, kind: ModelKind, device: &Device) -> anyhow::Result<UNet> {
    let manifest = Manifest::read(dir).with_context(|| format!("frozen U-Net weights in {}", dir.display()))?;
    let name = kind.name();
    let unet = manifest.load_unet(name, &manifest.read_file(dir, name)?, device)?;
    anyhow::ensure!(ModelKind::of(unet.is_conditional()) == kind, "entry {name:?} is the wrong U-Net");
    Ok(unet)
}

/// The model and its EMA, both with the weights of `entry` in the weights directory of
/// `--init` when one is given (read once).
fn warm_start<M: burn::module::Module>(
    s: &RunSettings,
    model: M,
    ema: M,
    entry: &str,
    arch: &str,
) -> anyhow::Result<(M, M)> {
    let Some(dir) = &s.init else { return Ok((model, ema)) };
    let manifest = Manifest::read(dir).with_context(|| format!("--init weights in {}", dir.display()))?;
    let bytes = manifest.read_file(dir, entry)?;
    Ok((load_bytes(model, &bytes, entry, arch)?, load_bytes(ema, &bytes, entry, arch)?))
}

/// Train `model` and its EMA as run `s` (start or resume, the loop) and export the best EMA.
fn train_network<M: Trainable>(
    s: &RunSettings,
    info: RunInfo,
    model: M,
    ema: M,
    frozen: Frozen,
    device: Device,
) -> anyhow::Result<()> {
    let c = &s.config;
    anyhow::ensure!(c.batch > 0 && c.eval_every > 0 && c.patience > 0, "batch, eval-every and patience must be > 0");
    let train = Cifar::load(&s.data, true)?;
    let val = Cifar::load(&s.data, false)?;
    report_frozen_loss(frozen, &val, c, &device);
    let params = ema.num_params();
    std::fs::create_dir_all(&s.run)?;
    std::fs::write(s.run.join("run.json"), serde_json::to_string_pretty(&info)?)?;
    let run = Training {
        model,
        ema,
        frozen,
        train: &train,
        val: &val,
        dir: s.run.clone(),
        device,
        quiet: s.quiet,
        time_limit_s: s.time_limit_s,
        checkpoint_every_s: s.checkpoint_every_s,
    };
    let (run, state, optim) = start(run, s)?;
    println!(
        "training {} ({params} parameters) from step {} ({} train / {} val images)",
        info.entry,
        state.step,
        train.len(),
        val.len()
    );
    let (stop, state, _) = run.train(state, optim)?;
    println!(
        "stopped ({stop:?}) at step {}: best validation loss {:.5} at step {}, {:.0} s",
        state.step, state.early.best_val, state.early.best_step, state.wall_s
    );
    if stop != Stop::TimeLimit || state.step > 0 {
        export(&s.run, &s.out)?;
    }
    Ok(())
}

/// The number a steering network has to beat: the frozen U-Net's own loss on the same objective.
fn report_frozen_loss(frozen: Frozen, val: &Cifar, c: &TrainConfig, device: &Device) {
    if let Some(unet) = frozen.unet {
        let own = validation_loss(unet, frozen, val, c.val_images, &c.objective, device);
        println!("frozen U-Net alone on this objective: validation loss {own:.5}");
    }
}

/// Where the run starts: with `--resume`, its checkpoint (held to [`resumed`]'s rule) and
/// optimizer state; otherwise a fresh state.
fn start<'a, M: Trainable>(
    run: Training<'a, M>,
    s: &RunSettings,
) -> anyhow::Result<(Training<'a, M>, TrainState, Option<Vec<u8>>)> {
    if s.resume {
        let (run, state, optim) = run.resume().context("--resume")?;
        Ok((run, resumed(state, &s.config)?, Some(optim)))
    } else {
        Ok((run, fresh_state(s.config.clone()), None))
    }
}

/// The resume rule: the step limit and the patience may change between sessions; every other
/// setting must be the checkpoint's, or the resumed run would not be the run it continues.
fn resumed(mut state: TrainState, c: &TrainConfig) -> anyhow::Result<TrainState> {
    state.config.max_steps = c.max_steps;
    state.config.patience = c.patience;
    anyhow::ensure!(state.config == *c, "the checkpoint was made with other settings: {:?}", state.config);
    Ok(state)
}

/// Write a run's best EMA weights (f16) into the weights directory `out` and its manifest.
pub fn export(run: &Path, out: &Path) -> anyhow::Result<()> {
    let info: RunInfo = serde_json::from_slice(&std::fs::read(run.join("run.json")).context("run.json")?)?;
    let best = std::fs::read(run.join("best.bpk")).with_context(|| format!("no best.bpk in {}", run.display()))?;
    let dev = Device::flex();
    let mut manifest = Manifest::read_or_new(out)?;
    let arch = format!("{:?}", info.arch);
    let sha = match &info.arch {
        Arch::Unet { config } => {
            let m = load_bytes(config.init(&dev), &best, "best.bpk", &arch)?;
            manifest.save(out, &info.entry, &info.file, info.arch.clone(), m, true)?
        }
        Arch::Layer { config } => {
            let m = load_bytes(config.init(&dev), &best, "best.bpk", &arch)?;
            manifest.save(out, &info.entry, &info.file, info.arch.clone(), m, true)?
        }
        Arch::Guide { config } => {
            let m = load_bytes(config.init(&dev), &best, "best.bpk", &arch)?;
            manifest.save(out, &info.entry, &info.file, info.arch.clone(), m, true)?
        }
        Arch::Classifier { .. } => anyhow::bail!("classifier runs are exported by `train classifier`"),
    };
    manifest.write(out)?;
    println!("exported {} → {}/{} sha256 {sha}", info.entry, out.display(), info.file);
    Ok(())
}
