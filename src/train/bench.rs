//! `vdiff train bench`: U-Net training steps timed side by side — Burn's convolution against the
//! crate's 1×1 convolutions as matmuls — from CPU-initialised weights, so that the losses of two
//! devices can be compared step by step.

use std::time::Instant;

use burn::module::Module;
use burn::optim::AdamConfig;
use burn::tensor::Device;

use super::trainer::{train_step, Frozen, Objective};
use super::DEFAULTS;
use crate::model::conv::set_matmul_1x1;
use crate::model::{UNet, UNetConfig};
use crate::noise::Noise;
use crate::weights::load_bytes;

/// Which 1×1 convolutions to time.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvVariants {
    Both,
    /// Burn's convolution.
    Burn,
    /// The crate's 1×1 convolutions as matmuls (what training uses).
    Matmul,
}

pub struct TrainBench {
    /// Base widths c to time.
    pub width: Vec<usize>,
    pub levels: usize,
    pub batch: usize,
    /// Timed steps per variant (after one warm-up step).
    pub steps: usize,
    pub conv: ConvVariants,
    /// Print every step's loss.
    pub losses: bool,
}

impl TrainBench {
    /// One training step (v-objective loss, backward, Adam, EMA) per call, on random images;
    /// the two convolution paths alternate step by step so that machine load hits both alike.
    pub fn run(&self, dev: &Device) -> anyhow::Result<()> {
        anyhow::ensure!(self.batch > 0 && self.steps > 0, "--batch and --steps must be > 0");
        println!("| c | levels | params | batch | Burn conv img/s | 1×1 as matmul img/s | speed-up |");
        println!("|---|---|---|---|---|---|---|");
        for &width in &self.width {
            self.width_row(width, dev)?;
        }
        Ok(())
    }

    /// One width's row of the table.
    fn width_row(&self, width: usize, dev: &Device) -> anyhow::Result<()> {
        let adev = dev.clone().autodiff();
        let config = UNetConfig::new().with_width(width).with_levels(self.levels).with_conditional(false);
        config.validate().map_err(|e| anyhow::anyhow!("--width/--levels: {e}"))?;
        let (model, ema_model) = cpu_initialised(&config, dev, &adev)?;
        let params = ema_model.num_params();
        let times = self.time_steps(width, model, ema_model, &adev);
        set_matmul_1x1(true);
        self.print_row(width, params, times);
        Ok(())
    }

    /// The convolution paths to time: the table column each fills, and whether its 1×1
    /// convolutions run as matmuls.
    fn variants(&self) -> &'static [(usize, bool)] {
        match self.conv {
            ConvVariants::Both => &[(0, false), (1, true)],
            ConvVariants::Burn => &[(0, false)],
            ConvVariants::Matmul => &[(1, true)],
        }
    }

    /// Seconds the timed steps took on each path (`[Burn conv, matmul]`; 0 for a path not timed),
    /// after one untimed warm-up step per path.
    fn time_steps(&self, width: usize, mut model: UNet, mut ema_model: UNet, adev: &Device) -> [f64; 2] {
        let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
        let mut rng = Noise::new(0);
        let mut times = [0.0f64; 2];
        for step in 0..=self.steps {
            for &(k, matmul) in self.variants() {
                set_matmul_1x1(matmul);
                let started = Instant::now();
                let x0 = rng.normal_tensor([self.batch, 3, 32, 32], adev);
                let cls = burn::tensor::Tensor::<1, burn::tensor::Int>::zeros([self.batch], adev);
                let t: Vec<f64> = (0..self.batch).map(|_| rng.uniform()).collect();
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
                    DEFAULTS.ema_decay,
                );
                // Reading the loss back waits for the step: the time is the step's, not its launch's.
                let loss = loss.into_scalar::<f32>();
                if step > 0 {
                    times[k] += started.elapsed().as_secs_f64();
                }
                if self.losses {
                    eprintln!("loss c={width} {} step {step}: {loss:.6}", ["burn-conv", "matmul-1x1"][k]);
                }
            }
        }
        times
    }

    /// Print the row of `width` from the seconds each path took.
    fn print_row(&self, width: usize, params: usize, times: [f64; 2]) {
        let ips = times.map(|t| (self.steps * self.batch) as f64 / t);
        let shown = |k: usize| if times[k] > 0.0 { format!("{:.1}", ips[k]) } else { "–".into() };
        let ratio = if self.conv == ConvVariants::Both { format!("{:.2}×", ips[1] / ips[0]) } else { "–".into() };
        println!(
            "| {width} | {} | {:.2} M | {} | {} | {} | {ratio} |",
            self.levels,
            params as f64 / 1e6,
            self.batch,
            shown(0),
            shown(1),
        );
    }
}

/// The U-Net on the autodiff device `adev` and its EMA on `dev`, both initialised on the CPU
/// from a fixed seed, so every device starts from the same weights and the losses of two
/// devices can be compared step by step.
fn cpu_initialised(config: &UNetConfig, dev: &Device, adev: &Device) -> anyhow::Result<(UNet, UNet)> {
    let cpu = Device::flex();
    cpu.seed(0);
    let init = crate::weights::to_bytes(config.init(&cpu), false);
    let arch = format!("{config:?}");
    let model = load_bytes(config.init(adev), &init, "init", &arch)?;
    let ema_model = load_bytes(config.init(dev), &init, "init", &arch)?;
    Ok((model, ema_model))
}
