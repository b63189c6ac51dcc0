//! `vdiff train`: the paper's three networks (Folder_1–3), resumable, exported to weights/.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::Device;
use clap::{Args, Subcommand};
use vdiff::device::Backend;
use vdiff::model::{ClassLayerConfig, GuideNetConfig, UNet, UNetConfig};
use vdiff::sampler::{LayerKind, ModelKind};
use vdiff::train::data::Cifar;
use vdiff::train::trainer::{fresh_state, Frozen, Objective, Run, Stop, TrainConfig, TrainState, Trainable};
use vdiff::weights::{load_bytes, Arch, Manifest};

#[derive(Subcommand, Debug)]
pub enum TrainCmd {
    /// The U-Net, conditional (Folder_1) or unconditional (Folder_2).
    Unet(UnetArgs),
    /// The additional layer on a frozen unconditional U-Net (Folder_3).
    AddNet(AddNetArgs),
    /// Write a run's best EMA weights (f16) into a weights directory and its manifest.
    Export(ExportArgs),
    /// The small CIFAR-10 classifier used by `eval` (class accuracy, IS, Fréchet distance).
    Classifier(ClassifierArgs),
    /// Time U-Net training steps side by side: 1×1 convolutions as matmuls vs Burn's conv.
    Bench(TrainBenchArgs),
    /// All of the paper's networks within one wall-clock budget (a GPU lease, or a night of CPU):
    /// unconditional and conditional U-Net, then both layers on the new unconditional U-Net;
    /// checkpoints every minute, continues from them when run again, exports to --out.
    Campaign(CampaignArgs),
}

#[derive(Args, Debug)]
pub struct CampaignArgs {
    /// Wall-clock budget in minutes: 45 % to each U-Net, 3 % to each paper layer, 4 % to the guide.
    #[arg(long)]
    pub minutes: f64,
    /// CIFAR-10: a directory with data_batch_*.bin/test_batch.bin, or cifar-10-binary.tar.gz.
    #[arg(long, default_value = "../shared/data/cifar10")]
    pub data: PathBuf,
    /// Run directory: one sub-directory (checkpoint, best EMA, log) per network.
    #[arg(long, default_value = "runs/campaign")]
    pub run: PathBuf,
    /// Weights directory the networks are exported to (f16, manifest with SHA-256).
    #[arg(long, default_value = "weights")]
    pub out: PathBuf,
    /// Device: auto (a hardware GPU through wgpu, else flex), flex or wgpu.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// U-Net base width c.
    #[arg(long, default_value_t = 32)]
    pub width: usize,
    /// U-Net resolution levels.
    #[arg(long, default_value_t = 3)]
    pub levels: usize,
    /// Batch size of every network.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 2e-4)]
    pub lr: f64,
    /// Test images in the validation losses.
    #[arg(long, default_value_t = 500)]
    pub val_images: usize,
    /// Validate and checkpoint at least every this many minutes.
    #[arg(long, default_value_t = 1.0)]
    pub checkpoint_minutes: f64,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct TrainBenchArgs {
    /// Base widths c to time, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "32")]
    pub width: Vec<usize>,
    /// Resolution levels.
    #[arg(long, default_value_t = 3)]
    pub levels: usize,
    /// Batch size.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Timed steps per variant (after one warm-up step); the variants alternate.
    #[arg(long, default_value_t = 6)]
    pub steps: usize,
    /// Device: flex or wgpu.
    #[arg(long, default_value = "flex")]
    pub device: String,
    /// Which 1×1 convolutions to time: both variants side by side, or one of them.
    #[arg(long, value_enum, default_value = "both")]
    pub conv: ConvVariants,
    /// Print every step's loss (seeded: the same on every device up to float error, so a
    /// device that computes wrong shows).
    #[arg(long)]
    pub losses: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvVariants {
    Both,
    /// Burn's convolution.
    Burn,
    /// The crate's 1×1 convolutions as matmuls (what training uses).
    Matmul,
}

#[derive(Args, Debug)]
pub struct ClassifierArgs {
    /// CIFAR-10: a directory with data_batch_*.bin/test_batch.bin, or cifar-10-binary.tar.gz.
    #[arg(long, default_value = "../shared/data/cifar10")]
    pub data: PathBuf,
    /// Width of the first stage.
    #[arg(long, default_value_t = 32)]
    pub width: usize,
    #[arg(long, default_value_t = 64)]
    /// Batch size.
    pub batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Seed of initialisation, data order and flips.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop after this many steps.
    #[arg(long, default_value_t = 100_000)]
    pub max_steps: usize,
    /// Stop after this many minutes.
    #[arg(long)]
    pub max_minutes: Option<f64>,
    /// Weights directory (entry "classifier").
    #[arg(long, default_value = "weights")]
    pub out: PathBuf,
    /// Device: auto, flex or wgpu.
    #[arg(long, default_value = "auto")]
    pub device: String,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// CIFAR-10: a directory with data_batch_*.bin/test_batch.bin, or cifar-10-binary.tar.gz.
    #[arg(long, default_value = "../shared/data/cifar10")]
    pub data: PathBuf,
    /// Run directory: checkpoint.bin, best.bpk, log.csv.
    #[arg(long)]
    pub run: PathBuf,
    /// Continue from the run directory's checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Batch size.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 2e-4)]
    pub lr: f64,
    /// EMA decay of the weights.
    #[arg(long, default_value_t = 0.998)]
    pub ema: f64,
    /// Seed of data order, noise, t and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Validate, log and checkpoint every K steps.
    #[arg(long, default_value_t = 250)]
    pub eval_every: usize,
    /// Early stopping: evaluations without improvement before stopping (MAX_COUNT).
    #[arg(long, default_value_t = 8)]
    pub patience: usize,
    /// Test images in the validation loss.
    #[arg(long, default_value_t = 500)]
    pub val_images: usize,
    /// Stop after this many optimizer steps.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_steps: usize,
    /// Checkpoint and stop after this many minutes (resume later with --resume).
    #[arg(long)]
    pub max_minutes: Option<f64>,
    /// Also validate and checkpoint every this many minutes (besides every --eval-every steps).
    #[arg(long)]
    pub checkpoint_minutes: Option<f64>,
    /// Device: auto (wgpu if a GPU adapter exists, else flex), flex or wgpu.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// Weights directory the best EMA weights are exported to at the end.
    #[arg(long, default_value = "weights")]
    pub out: PathBuf,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Warm start: begin from this weights directory's entry of the same network (the committed
    /// weights, or a guide trained on another t range) instead of a fresh initialisation.
    /// --resume continues a run's own checkpoint instead.
    #[arg(long, conflicts_with = "resume")]
    pub init: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct UnetArgs {
    #[command(flatten)]
    pub common: RunArgs,
    /// Train the class-conditional U-Net.
    #[arg(long, conflicts_with = "unconditional", required_unless_present = "unconditional")]
    pub conditional: bool,
    /// Train the unconditional U-Net.
    #[arg(long)]
    pub unconditional: bool,
    /// Base width c.
    #[arg(long, default_value_t = 32)]
    pub width: usize,
    /// Resolution levels (4: 32→4, 3: no 4×4 level).
    #[arg(long, default_value_t = 3)]
    pub levels: usize,
    /// Channel dropout.
    #[arg(long, default_value_t = 0.1)]
    pub dropout: f64,
}

#[derive(Args, Debug)]
pub struct AddNetArgs {
    #[command(flatten)]
    pub common: RunArgs,
    /// Frozen unconditional U-Net: a weights directory (entry "unconditional").
    #[arg(long, default_value = "weights")]
    pub unet: PathBuf,
    /// Which steering network: layer (the paper's), layer-residual (v + layer(v), no final ReLU)
    /// or layer-guide (sees x_t, the noise level and the class).
    #[arg(long, value_enum, default_value = "layer")]
    pub layer: LayerKind,
    /// Target: data (the image's v, method §4) or conditional (distillation: the conditional
    /// U-Net's velocity for the same noisy image and class, from the same weights directory).
    #[arg(long, default_value = "data", value_parser = ["data", "conditional"])]
    pub target: String,
    /// Lowest t the loss sees. v1/v2 steer while t ≥ 0.5, so that is where the layer is trained
    /// by default; 0 with `--weighting sigmoid` is the paper's (the U-Net's) objective.
    #[arg(long, default_value_t = 0.5)]
    pub t_min: f64,
    /// Highest t the loss sees.
    #[arg(long, default_value_t = 1.0)]
    pub t_max: f64,
    /// Loss weighting: none (plain v error: at high noise the x̂₀ error the class decides) or
    /// sigmoid (method §2, alpha², which all but ignores t ≥ 0.5).
    #[arg(long, default_value = "none", value_parser = ["sigmoid", "none"])]
    pub weighting: String,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Run directory with best.bpk and run.json.
    #[arg(long)]
    pub run: PathBuf,
    /// Weights directory.
    #[arg(long, default_value = "weights")]
    pub out: PathBuf,
}

/// The training device, saying which one it is: `auto` picks a hardware GPU, else the CPU.
fn device(name: &str) -> anyhow::Result<Device> {
    let (device, _, what) = name.parse::<Backend>().and_then(Backend::open).map_err(anyhow::Error::msg)?;
    eprintln!("{what}");
    Ok(device)
}

/// What a run is, saved beside its checkpoint so `export` knows the entry and architecture.
#[derive(serde::Serialize, serde::Deserialize)]
struct RunInfo {
    entry: String,
    file: String,
    arch: Arch,
}

pub fn run(cmd: TrainCmd) -> anyhow::Result<()> {
    match cmd {
        TrainCmd::Unet(a) => {
            let config = UNetConfig::new()
                .with_width(a.width)
                .with_levels(a.levels)
                .with_conditional(a.conditional)
                .with_dropout(a.dropout);
            config.validate().map_err(|e| anyhow::anyhow!("--width/--levels/--dropout: {e}"))?;
            let entry = ModelKind::of(a.conditional).name();
            let info = RunInfo {
                entry: entry.into(),
                file: format!("unet-{entry}.bpk"),
                arch: Arch::Unet { config: config.clone() },
            };
            let dev = device(&a.common.device)?;
            let (init, arch) = (a.common.init.as_deref(), format!("{config:?}"));
            let (model, ema) = warm_start(config.init(&dev.clone().autodiff()), config.init(&dev), init, entry, &arch)?;
            train_network(&a.common, info, model, ema, Frozen::default(), Objective::default(), dev)
        }
        TrainCmd::AddNet(a) => {
            anyhow::ensure!(
                a.layer != LayerKind::Conditional,
                "the conditional U-Net is trained with `train unet --conditional`, not as an add-net"
            );
            let dev = device(&a.common.device)?;
            let manifest =
                Manifest::read(&a.unet).with_context(|| format!("frozen U-Net weights in {}", a.unet.display()))?;
            let load = |kind: ModelKind| -> anyhow::Result<UNet> {
                let name = kind.name();
                let unet = manifest.load_unet(name, &manifest.read_file(&a.unet, name)?, &dev)?;
                anyhow::ensure!(ModelKind::of(unet.is_conditional()) == kind, "entry {name:?} is the wrong U-Net");
                Ok(unet)
            };
            let unet = load(ModelKind::Unconditional)?;
            let distill = a.target == "conditional";
            let teacher = if distill { Some(load(ModelKind::Conditional)?) } else { None };
            let frozen = Frozen { unet: Some(&unet), teacher: teacher.as_ref() };
            let objective =
                Objective { t_min: a.t_min, t_max: a.t_max, sigmoid_weight: a.weighting == "sigmoid", distill };
            let entry = a.layer.name();
            let file = format!("{entry}.bpk");
            let adev = dev.clone().autodiff();
            let init = a.common.init.as_deref();
            match a.layer {
                LayerKind::Guide => {
                    let config = GuideNetConfig::new();
                    let arch = format!("{config:?}");
                    let info = RunInfo { entry: entry.into(), file, arch: Arch::Guide { config: config.clone() } };
                    let (model, ema) = warm_start(config.init(&adev), config.init(&dev), init, entry, &arch)?;
                    train_network(&a.common, info, model, ema, frozen, objective, dev)
                }
                LayerKind::Paper | LayerKind::Residual | LayerKind::Conditional => {
                    let config = ClassLayerConfig::new().with_residual(a.layer == LayerKind::Residual);
                    let arch = format!("{config:?}");
                    let info = RunInfo { entry: entry.into(), file, arch: Arch::Layer { config: config.clone() } };
                    let (model, ema) = warm_start(config.init(&adev), config.init(&dev), init, entry, &arch)?;
                    train_network(&a.common, info, model, ema, frozen, objective, dev)
                }
            }
        }
        TrainCmd::Export(a) => export(&a.run, &a.out),
        TrainCmd::Bench(a) => bench(a),
        TrainCmd::Campaign(a) => campaign(a),
        TrainCmd::Classifier(a) => classifier(a),
    }
}

/// The model and its EMA, both with the weights of `entry` in the weights directory `init` when
/// one is given (read once).
fn warm_start<M: burn::module::Module>(
    model: M,
    ema: M,
    init: Option<&Path>,
    entry: &str,
    arch: &str,
) -> anyhow::Result<(M, M)> {
    let Some(dir) = init else { return Ok((model, ema)) };
    let manifest = Manifest::read(dir).with_context(|| format!("--init weights in {}", dir.display()))?;
    let bytes = manifest.read_file(dir, entry)?;
    Ok((load_bytes(model, &bytes, entry, arch)?, load_bytes(ema, &bytes, entry, arch)?))
}

fn train_network<M: Trainable>(
    c: &RunArgs,
    info: RunInfo,
    model: M,
    ema: M,
    frozen: Frozen,
    objective: Objective,
    dev: Device,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        c.batch > 0 && c.eval_every > 0 && c.patience > 0,
        "--batch, --eval-every and --patience must be > 0"
    );
    anyhow::ensure!(
        (0.0..=1.0).contains(&objective.t_min) && objective.t_min < objective.t_max && objective.t_max <= 1.0,
        "need 0 ≤ --t-min < --t-max ≤ 1 (got {} and {})",
        objective.t_min,
        objective.t_max
    );
    let train = Cifar::load(&c.data, true)?;
    let val = Cifar::load(&c.data, false)?;
    if let Some(unet) = frozen.unet {
        // The number the layer has to beat: the frozen U-Net's own loss on the same objective.
        let own = vdiff::train::trainer::validate(unet, frozen, &val, c.val_images, &objective, &dev);
        println!("frozen U-Net alone on this objective: validation loss {own:.5}");
    }
    let params = ema.num_params();
    std::fs::create_dir_all(&c.run)?;
    std::fs::write(c.run.join("run.json"), serde_json::to_string_pretty(&info)?)?;
    let run = Run {
        model,
        ema,
        frozen,
        train: &train,
        val: &val,
        dir: c.run.clone(),
        device: dev,
        quiet: c.quiet,
        time_limit_s: c.max_minutes.map(|m| m * 60.0),
        checkpoint_every_s: c.checkpoint_minutes.map(|m| m * 60.0),
    };
    let config = TrainConfig {
        batch: c.batch,
        lr: c.lr,
        ema_decay: c.ema,
        seed: c.seed,
        eval_every: c.eval_every,
        patience: c.patience,
        val_images: c.val_images,
        max_steps: c.max_steps,
        objective,
    };
    let (run, state, optim): (_, TrainState, _) = if c.resume {
        let (run, mut state, optim) = run.resume().context("--resume")?;
        // Limits may change between sessions; everything else must match.
        state.config.max_steps = c.max_steps;
        state.config.patience = c.patience;
        anyhow::ensure!(
            TrainConfig { max_steps: c.max_steps, patience: c.patience, ..state.config.clone() } == config,
            "the checkpoint was made with other settings: {:?}",
            state.config
        );
        (run, state, Some(optim))
    } else {
        (run, fresh_state(config), None)
    };
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
        export(&c.run, &c.out)?;
    }
    Ok(())
}

/// The phases of a campaign in order, each a share of the budget: the layers come last because
/// they train on the unconditional U-Net the first phase exported.
fn campaign(a: CampaignArgs) -> anyhow::Result<()> {
    anyhow::ensure!(a.minutes > 0.0, "--minutes must be > 0");
    let common = |name: &str, share: f64| {
        let run = a.run.join(name);
        RunArgs {
            data: a.data.clone(),
            resume: run.join("checkpoint.bin").is_file(),
            run,
            batch: a.batch,
            lr: a.lr,
            ema: 0.998,
            seed: 0,
            eval_every: usize::MAX,
            patience: usize::MAX,
            val_images: a.val_images,
            max_steps: usize::MAX,
            max_minutes: Some(a.minutes * share),
            checkpoint_minutes: Some(a.checkpoint_minutes),
            device: a.device.clone(),
            out: a.out.clone(),
            quiet: a.quiet,
            init: None,
        }
    };
    let unet = |name: &str, conditional: bool| UnetArgs {
        common: common(name, 0.45),
        conditional,
        unconditional: !conditional,
        width: a.width,
        levels: a.levels,
        dropout: 0.1,
    };
    // The paper's layer keeps the paper's objective; the others train where v1/v2 steer, the
    // guide on the conditional U-Net's velocity.
    let layer = |layer: LayerKind, share: f64| AddNetArgs {
        common: common(layer.name(), share),
        unet: a.out.clone(),
        layer,
        target: if layer == LayerKind::Guide { "conditional" } else { "data" }.into(),
        t_min: if layer == LayerKind::Paper { 0.0 } else { 0.5 },
        t_max: 1.0,
        weighting: if layer == LayerKind::Paper { "sigmoid" } else { "none" }.into(),
    };
    let started = std::time::Instant::now();
    run(TrainCmd::Unet(unet(ModelKind::Unconditional.name(), false)))?;
    run(TrainCmd::Unet(unet(ModelKind::Conditional.name(), true)))?;
    run(TrainCmd::AddNet(layer(LayerKind::Paper, 0.03)))?;
    run(TrainCmd::AddNet(layer(LayerKind::Residual, 0.03)))?;
    run(TrainCmd::AddNet(layer(LayerKind::Guide, 0.04)))?;
    println!("campaign done in {:.0} s → {}", started.elapsed().as_secs_f64(), a.out.display());
    Ok(())
}

fn export(run: &Path, out: &Path) -> anyhow::Result<()> {
    let info: RunInfo = serde_json::from_slice(&std::fs::read(run.join("run.json")).context("run.json")?)?;
    let best = std::fs::read(run.join("best.bpk")).with_context(|| format!("no best.bpk in {}", run.display()))?;
    let dev = Device::flex();
    let mut manifest = Manifest::read_or_new(out)?;
    let sha = match &info.arch {
        Arch::Unet { config } => {
            let m = load_bytes(config.init(&dev), &best, "best.bpk", &format!("{config:?}"))?;
            manifest.save(out, &info.entry, &info.file, info.arch.clone(), m, true)?
        }
        Arch::Layer { config } => {
            let m = load_bytes(config.init(&dev), &best, "best.bpk", &format!("{config:?}"))?;
            manifest.save(out, &info.entry, &info.file, info.arch.clone(), m, true)?
        }
        Arch::Guide { config } => {
            let m = load_bytes(config.init(&dev), &best, "best.bpk", &format!("{config:?}"))?;
            manifest.save(out, &info.entry, &info.file, info.arch.clone(), m, true)?
        }
        Arch::Classifier { .. } => anyhow::bail!("classifier runs are exported by `train classifier`"),
    };
    manifest.write(out)?;
    println!("exported {} → {}/{} sha256 {sha}", info.entry, out.display(), info.file);
    Ok(())
}

fn classifier(a: ClassifierArgs) -> anyhow::Result<()> {
    use vdiff::eval::classifier::ClassifierConfig;
    use vdiff::train::classify::{accuracy, train, ClassifierTraining};
    let dev = device(&a.device)?;
    let data = Cifar::load(&a.data, true)?;
    let test = Cifar::load(&a.data, false)?;
    anyhow::ensure!(
        (1..=data.len()).contains(&a.batch),
        "--batch must be 1 to the {} training images, got {}",
        data.len(),
        a.batch
    );
    let config = ClassifierConfig::new().with_width(a.width);
    let t = ClassifierTraining {
        config: config.clone(),
        batch: a.batch,
        lr: a.lr,
        seed: a.seed,
        max_steps: a.max_steps,
        time_limit_s: a.max_minutes.map(|m| m * 60.0),
    };
    let (model, steps, wall) = train(&t, &data, &dev, false);
    let acc = accuracy(&model, &test, test.len(), &dev);
    let mut manifest = Manifest::read_or_new(&a.out)?;
    let sha = manifest.save(&a.out, "classifier", "classifier.bpk", Arch::Classifier { config }, model, true)?;
    manifest.write(&a.out)?;
    println!(
        "classifier: {steps} steps, {wall:.0} s, test accuracy {:.2}% → {}/classifier.bpk sha256 {sha}",
        100.0 * acc,
        a.out.display()
    );
    Ok(())
}

/// One training step (v-objective loss, backward, Adam, EMA) per call, on random images; the
/// two convolution paths alternate step by step so that machine load hits both alike.
fn bench(a: TrainBenchArgs) -> anyhow::Result<()> {
    use burn::module::Module;
    use burn::optim::AdamConfig;
    use std::time::Instant;
    use vdiff::model::conv::set_matmul_1x1;
    use vdiff::noise::Noise;
    use vdiff::train::trainer::train_step;

    anyhow::ensure!(a.batch > 0 && a.steps > 0, "--batch and --steps must be > 0");
    let dev = device(&a.device)?;
    let adev = dev.clone().autodiff();
    println!("| c | levels | params | batch | Burn conv img/s | 1×1 as matmul img/s | speed-up |");
    println!("|---|---|---|---|---|---|---|");
    for &width in &a.width {
        let config = UNetConfig::new().with_width(width).with_levels(a.levels).with_conditional(false);
        config.validate().map_err(|e| anyhow::anyhow!("--width/--levels: {e}"))?;
        // Initialised on the CPU from a fixed seed, so every device starts from the same weights
        // and the losses of two devices can be compared step by step.
        let cpu = Device::flex();
        cpu.seed(0);
        let init = vdiff::weights::to_bytes(config.init(&cpu), false);
        let arch = format!("{config:?}");
        let mut model = load_bytes(config.init(&adev), &init, "init", &arch)?;
        let mut ema_model = load_bytes(config.init(&dev), &init, "init", &arch)?;
        let params = ema_model.num_params();
        let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
        let mut rng = Noise::new(0);
        let mut times = [0.0f64; 2];
        let variants: &[(usize, bool)] = match a.conv {
            ConvVariants::Both => &[(0, false), (1, true)],
            ConvVariants::Burn => &[(0, false)],
            ConvVariants::Matmul => &[(1, true)],
        };
        for step in 0..=a.steps {
            for &(k, matmul) in variants {
                set_matmul_1x1(matmul);
                let started = Instant::now();
                let x0 = rng.normal_tensor([a.batch, 3, 32, 32], &adev);
                let cls = burn::tensor::Tensor::<1, burn::tensor::Int>::zeros([a.batch], &adev);
                let t: Vec<f64> = (0..a.batch).map(|_| rng.uniform()).collect();
                let loss;
                (model, ema_model, loss) = train_step(
                    model,
                    ema_model,
                    &mut optim,
                    Frozen::default(),
                    (x0, cls, &t),
                    &Objective::default(),
                    &mut rng,
                    2e-4,
                    0.998,
                );
                // Reading the loss back waits for the step: the time is the step's, not its launch's.
                let loss = loss.into_scalar::<f32>();
                if step > 0 {
                    times[k] += started.elapsed().as_secs_f64();
                }
                if a.losses {
                    eprintln!("loss c={width} {} step {step}: {loss:.6}", ["burn-conv", "matmul-1x1"][k]);
                }
            }
        }
        set_matmul_1x1(true);
        let ips = times.map(|t| (a.steps * a.batch) as f64 / t);
        let shown = |k: usize| if times[k] > 0.0 { format!("{:.1}", ips[k]) } else { "–".into() };
        let ratio = if a.conv == ConvVariants::Both { format!("{:.2}×", ips[1] / ips[0]) } else { "–".into() };
        println!(
            "| {width} | {} | {:.2} M | {} | {} | {} | {ratio} |",
            a.levels,
            params as f64 / 1e6,
            a.batch,
            shown(0),
            shown(1),
        );
    }
    Ok(())
}
