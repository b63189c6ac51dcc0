//! `vdiff train`: the paper's three networks (Folder_1–3), resumable, exported to weights/.

use std::path::PathBuf;

use burn::tensor::Device;
use clap::{Args, Subcommand};
use vdiff::device::Backend;
use vdiff::eval::classifier::ClassifierConfig;
use vdiff::model::UNetConfig;
use vdiff::sampler::{ModelKind, SteeringKind};
use vdiff::train::bench::{ConvVariants, TrainBench};
use vdiff::train::campaign::Campaign;
use vdiff::train::classify::{accuracy, ClassifierTraining};
use vdiff::train::data::Cifar;
use vdiff::train::network::{export, train_steering, train_unet, RunSettings, SteeringTraining, Target, Weighting};
use vdiff::train::trainer::{Objective, TrainConfig};
use vdiff::train::DEFAULTS;
use vdiff::weights::{Arch, Manifest};

#[derive(Subcommand, Debug)]
pub enum TrainCmd {
    /// The U-Net, conditional (Folder_1) or unconditional (Folder_2).
    Unet(UnetArgs),
    /// A steering network on a frozen unconditional U-Net (Folder_3): the paper's additional
    /// layer, its residual variant or the guide.
    #[command(alias = "add-net")]
    Steering(SteeringArgs),
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
    /// Write the network's and the schedule's settings that the PyTorch twin (scripts/gpu) reads.
    TwinConfig(TwinConfigArgs),
}

#[derive(Args, Debug)]
pub struct TwinConfigArgs {
    /// The file to write.
    #[arg(long, default_value = vdiff::train::twin::TWIN_CONFIG)]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct CampaignArgs {
    /// Wall-clock budget in minutes: 45 % to each U-Net, 3 % to each paper layer, 4 % to the guide.
    #[arg(long, value_parser = super::flags::positive)]
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
    /// Device: auto (a hardware GPU through wgpu, else the CPU), cpu or webgpu.
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub device: Backend,
    /// U-Net base width c.
    #[arg(long, default_value_t = DEFAULTS.width)]
    pub width: usize,
    /// U-Net resolution levels.
    #[arg(long, default_value_t = DEFAULTS.levels)]
    pub levels: usize,
    /// Batch size of every network.
    #[arg(long, value_parser = super::flags::count, default_value_t = 64)]
    pub batch: usize,
    /// Adam learning rate.
    #[arg(long, value_parser = super::flags::positive, default_value_t = 2e-4)]
    pub lr: f64,
    /// Test images in the validation losses.
    #[arg(long, value_parser = super::flags::count, default_value_t = 500)]
    pub val_images: usize,
    /// Validate and checkpoint at least every this many minutes.
    #[arg(long, value_parser = super::flags::positive, default_value_t = 1.0)]
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
    #[arg(long, default_value_t = DEFAULTS.levels)]
    pub levels: usize,
    /// Batch size.
    #[arg(long, value_parser = super::flags::count, default_value_t = 32)]
    pub batch: usize,
    /// Timed steps per variant (after one warm-up step); the variants alternate.
    #[arg(long, value_parser = super::flags::count, default_value_t = 6)]
    pub steps: usize,
    /// Device: cpu or webgpu.
    #[arg(long, value_enum, default_value_t = Backend::Cpu)]
    pub device: Backend,
    /// Which 1×1 convolutions to time: both variants side by side, or one of them.
    #[arg(long, value_enum, default_value = "both")]
    pub conv: ConvVariants,
    /// Print every step's loss (seeded: the same on every device up to float error, so a
    /// device that computes wrong shows).
    #[arg(long)]
    pub losses: bool,
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
    #[arg(long, value_parser = super::flags::positive, default_value_t = 1e-3)]
    pub lr: f64,
    /// Seed of initialisation, data order and flips.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Stop after this many steps.
    #[arg(long, value_parser = super::flags::count, default_value_t = 100_000)]
    pub max_steps: usize,
    /// Stop after this many minutes.
    #[arg(long, value_parser = super::flags::positive)]
    pub max_minutes: Option<f64>,
    /// Weights directory (entry "classifier").
    #[arg(long, default_value = "weights")]
    pub out: PathBuf,
    /// Device: auto, cpu or webgpu.
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub device: Backend,
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
    #[arg(long, value_parser = super::flags::count, default_value_t = 64)]
    pub batch: usize,
    /// Adam learning rate.
    #[arg(long, value_parser = super::flags::positive, default_value_t = 2e-4)]
    pub lr: f64,
    /// EMA decay of the weights.
    #[arg(long, value_parser = super::flags::below_one, default_value_t = DEFAULTS.ema_decay)]
    pub ema: f64,
    /// Seed of data order, noise, t and dropout.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Validate, log and checkpoint every K steps.
    #[arg(long, value_parser = super::flags::count, default_value_t = 250)]
    pub eval_every: usize,
    /// Early stopping: evaluations without improvement before stopping (MAX_COUNT).
    #[arg(long, value_parser = super::flags::count, default_value_t = 8)]
    pub patience: usize,
    /// Test images in the validation loss.
    #[arg(long, value_parser = super::flags::count, default_value_t = 500)]
    pub val_images: usize,
    /// Stop after this many optimizer steps.
    #[arg(long, value_parser = super::flags::count, default_value_t = 1_000_000)]
    pub max_steps: usize,
    /// Checkpoint and stop after this many minutes (resume later with --resume).
    #[arg(long, value_parser = super::flags::positive)]
    pub max_minutes: Option<f64>,
    /// Also validate and checkpoint every this many minutes (besides every --eval-every steps).
    #[arg(long, value_parser = super::flags::positive)]
    pub checkpoint_minutes: Option<f64>,
    /// Device: auto (webgpu if a GPU adapter exists, else cpu), cpu or webgpu.
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub device: Backend,
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
    /// Which U-Net: conditional (with the class input) or unconditional.
    #[arg(long, value_enum, required_unless_present_any = ["conditional", "unconditional"])]
    pub model: Option<ModelKind>,
    /// `--model conditional`, as earlier versions spelled it.
    #[arg(long, hide = true, conflicts_with_all = ["model", "unconditional"])]
    pub conditional: bool,
    /// `--model unconditional`, as earlier versions spelled it.
    #[arg(long, hide = true, conflicts_with = "model")]
    pub unconditional: bool,
    /// Base width c.
    #[arg(long, default_value_t = DEFAULTS.width)]
    pub width: usize,
    /// Resolution levels (4: 32→4, 3: no 4×4 level).
    #[arg(long, default_value_t = DEFAULTS.levels)]
    pub levels: usize,
    /// Channel dropout.
    #[arg(long, value_parser = super::flags::below_one, default_value_t = DEFAULTS.dropout)]
    pub dropout: f64,
}

#[derive(Args, Debug)]
pub struct SteeringArgs {
    #[command(flatten)]
    pub common: RunArgs,
    /// Frozen unconditional U-Net: a weights directory (entry "unconditional").
    #[arg(long, default_value = "weights")]
    pub unet: PathBuf,
    /// Which steering network: layer (the paper's), layer-residual (v + layer(v), no final ReLU)
    /// or guide (sees x_t, the noise level and the class).
    #[arg(long, alias = "layer", value_enum, default_value = "layer")]
    pub steering: SteeringKind,
    /// Target: data (the image's v, method §4) or conditional (distillation: the conditional
    /// U-Net's velocity for the same noisy image and class, from the same weights directory).
    #[arg(long, value_enum, default_value_t = Target::Data)]
    pub target: Target,
    /// Lowest t the loss sees. The paper's v1/v2 steer while t ≥ 0.5, so that is where a
    /// steering network is trained by default; 0 with `--weighting sigmoid` is the paper's (the
    /// U-Net's) objective.
    #[arg(long, value_parser = super::flags::unit, default_value_t = 0.5)]
    pub t_min: f64,
    /// Highest t the loss sees.
    #[arg(long, value_parser = super::flags::unit, default_value_t = 1.0)]
    pub t_max: f64,
    /// Loss weighting: none (plain v error: at high noise the x̂₀ error the class decides) or
    /// sigmoid (method §2, alpha², which all but ignores t ≥ 0.5).
    #[arg(long, value_enum, default_value_t = Weighting::None)]
    pub weighting: Weighting,
    /// The guide also reads the frozen U-Net's inner feature maps (16×16 and 8×8). With
    /// `--init` it may start from a guide without them.
    #[arg(long)]
    pub unet_features: bool,
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
fn device(backend: Backend) -> anyhow::Result<Device> {
    let (device, _, what) = backend.open().map_err(anyhow::Error::msg)?;
    eprintln!("{what}");
    Ok(device)
}

pub fn run(cmd: TrainCmd) -> anyhow::Result<()> {
    match cmd {
        TrainCmd::Unet(a) => {
            let config = UNetConfig::new()
                .with_width(a.width)
                .with_levels(a.levels)
                .with_conditional(a.model.unwrap_or(ModelKind::of(a.conditional)) == ModelKind::Conditional)
                .with_dropout(a.dropout);
            train_unet(&a.common.settings(), config, device(a.common.device)?)
        }
        TrainCmd::Steering(a) => {
            let objective = Objective::new(a.t_min, a.t_max, a.weighting, a.target).map_err(anyhow::Error::msg)?;
            anyhow::ensure!(
                !a.unet_features || a.steering == SteeringKind::Guide,
                "--unet-features is for the guide (--steering guide)"
            );
            let t = SteeringTraining {
                steering: a.steering,
                unet: a.unet.clone(),
                objective,
                unet_features: a.unet_features,
            };
            train_steering(&a.common.settings(), &t, device(a.common.device)?)
        }
        TrainCmd::Export(a) => export(&a.run, &a.out),
        TrainCmd::Bench(a) => {
            let bench = TrainBench {
                width: a.width,
                levels: a.levels,
                batch: a.batch,
                steps: a.steps,
                conv: a.conv,
                losses: a.losses,
            };
            bench.run(&device(a.device)?)
        }
        TrainCmd::Campaign(a) => campaign(a),
        TrainCmd::Classifier(a) => classifier(a),
        TrainCmd::TwinConfig(a) => {
            vdiff::weights::write_atomic(&a.out, vdiff::train::twin::TwinConfig::current().to_json().as_bytes())?;
            println!("{}", a.out.display());
            Ok(())
        }
    }
}

impl RunArgs {
    fn settings(&self) -> RunSettings {
        RunSettings {
            data: self.data.clone(),
            run: self.run.clone(),
            resume: self.resume,
            out: self.out.clone(),
            init: self.init.clone(),
            quiet: self.quiet,
            time_limit_s: self.max_minutes.map(|m| m * 60.0),
            checkpoint_every_s: self.checkpoint_minutes.map(|m| m * 60.0),
            config: TrainConfig {
                batch: self.batch,
                lr: self.lr,
                ema_decay: self.ema,
                seed: self.seed,
                eval_every: self.eval_every,
                patience: self.patience,
                val_images: self.val_images,
                max_steps: self.max_steps,
                objective: Objective::default(),
            },
        }
    }
}

fn campaign(a: CampaignArgs) -> anyhow::Result<()> {
    let campaign = Campaign {
        minutes: a.minutes,
        data: a.data,
        run: a.run,
        out: a.out,
        width: a.width,
        levels: a.levels,
        batch: a.batch,
        lr: a.lr,
        val_images: a.val_images,
        checkpoint_minutes: a.checkpoint_minutes,
        quiet: a.quiet,
    };
    campaign.run(&device(a.device)?)
}

fn classifier(a: ClassifierArgs) -> anyhow::Result<()> {
    let dev = device(a.device)?;
    let data = Cifar::load(&a.data, true)?;
    let test = Cifar::load(&a.data, false)?;
    let config = ClassifierConfig::new().with_width(a.width);
    let t = ClassifierTraining {
        config: config.clone(),
        batch: a.batch,
        lr: a.lr,
        seed: a.seed,
        max_steps: a.max_steps,
        time_limit_s: a.max_minutes.map(|m| m * 60.0),
    };
    let (model, steps, wall) = vdiff::train::classify::train(&t, &data, &dev, false)?;
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
