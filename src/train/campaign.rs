//! Every network of the paper within one wall-clock budget (a GPU lease, or a night of CPU):
//! the unconditional and the conditional U-Net, then the steering networks on the new
//! unconditional U-Net; checkpoints every few minutes and continues from them when run again.

use std::path::PathBuf;

use burn::tensor::Device;

use super::network::{train_steering, train_unet, RunSettings, SteeringTraining, Target, Weighting};
use super::trainer::{Objective, TrainConfig};
use crate::model::UNetConfig;
use crate::sampler::{ModelKind, SteeringKind};

/// The phases in order, each a share of the budget: the steering networks come last because
/// they train on the unconditional U-Net the first phase exported.
const PHASES: [(Phase, f64); 5] = [
    (Phase::Unet(ModelKind::Unconditional), 0.45),
    (Phase::Unet(ModelKind::Conditional), 0.45),
    (Phase::Steering(SteeringKind::Paper), 0.03),
    (Phase::Steering(SteeringKind::Residual), 0.03),
    (Phase::Steering(SteeringKind::Guide), 0.04),
];

#[derive(Clone, Copy)]
enum Phase {
    Unet(ModelKind),
    Steering(SteeringKind),
}

pub struct Campaign {
    /// Wall-clock budget in minutes, shared out by [`PHASES`].
    pub minutes: f64,
    pub data: PathBuf,
    /// One sub-directory per network.
    pub run: PathBuf,
    /// Weights directory every network is exported to.
    pub out: PathBuf,
    pub width: usize,
    pub levels: usize,
    pub batch: usize,
    pub lr: f64,
    pub val_images: usize,
    pub checkpoint_minutes: f64,
    pub quiet: bool,
}

impl Campaign {
    pub fn run(&self, device: &Device) -> anyhow::Result<()> {
        anyhow::ensure!(self.minutes > 0.0, "the budget must be > 0 minutes");
        let started = std::time::Instant::now();
        for (phase, share) in PHASES {
            match phase {
                Phase::Unet(kind) => {
                    let config = UNetConfig::new()
                        .with_width(self.width)
                        .with_levels(self.levels)
                        .with_conditional(kind == ModelKind::Conditional);
                    train_unet(&self.settings(kind.name(), share), config, device.clone())?
                }
                Phase::Steering(steering) => {
                    let t = SteeringTraining {
                        steering,
                        unet: self.out.clone(),
                        objective: objective(steering),
                        // The guide reads the U-Net's 16×16 and 8×8 features where it has them.
                        unet_features: steering == SteeringKind::Guide && self.levels >= 3,
                    };
                    train_steering(&self.settings(steering.name(), share), &t, device.clone())?
                }
            }
        }
        println!("campaign done in {:.0} s → {}", started.elapsed().as_secs_f64(), self.out.display());
        Ok(())
    }

    /// A phase's run: its share of the budget, no step or patience limit, resumed when its
    /// directory has a checkpoint.
    fn settings(&self, name: &str, share: f64) -> RunSettings {
        let run = self.run.join(name);
        RunSettings {
            data: self.data.clone(),
            resume: run.join("checkpoint.bin").is_file(),
            run,
            out: self.out.clone(),
            init: None,
            quiet: self.quiet,
            time_limit_s: Some(self.minutes * share * 60.0),
            checkpoint_every_s: Some(self.checkpoint_minutes * 60.0),
            config: TrainConfig {
                batch: self.batch,
                lr: self.lr,
                ema_decay: super::DEFAULTS.ema_decay,
                seed: 0,
                eval_every: usize::MAX,
                patience: usize::MAX,
                val_images: self.val_images,
                max_steps: usize::MAX,
                objective: Objective::default(),
            },
        }
    }
}

/// The paper's layer keeps the paper's objective; the others train where v1/v2 steer, the guide
/// on the conditional U-Net's velocity.
fn objective(steering: SteeringKind) -> Objective {
    let (t_min, weighting) =
        if steering == SteeringKind::Paper { (0.0, Weighting::Sigmoid) } else { (0.5, Weighting::None) };
    let target = if steering == SteeringKind::Guide { Target::Conditional } else { Target::Data };
    Objective::new(t_min, 1.0, weighting, target).expect("a valid t range")
}
