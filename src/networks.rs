//! Finding the networks a run needs: from a weights directory (checked against its manifest)
//! or freshly initialised — one place for `sample`, `bench` and `eval`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use burn::tensor::Device;
use clap::Args;

use crate::model::{ClassLayerConfig, GuideNetConfig, UNet, UNetConfig};
use crate::sampler::{ModelKind, Nets, SampleConfig, Steer, Steering, SteeringKind};
use crate::weights::Manifest;

/// Where the networks come from.
#[derive(Args, Debug, Clone)]
pub struct NetSource {
    /// Weights directory with manifest.json.
    #[arg(long, default_value = "weights")]
    pub weights: PathBuf,
    /// Use freshly initialised networks instead of weights (for tests and benchmarks).
    #[arg(long)]
    pub random_init: bool,
    /// U-Net base width c for --random-init.
    #[arg(long, default_value_t = 32)]
    pub width: usize,
    /// U-Net resolution levels for --random-init (4: 32→4, 3: no 4×4 level).
    #[arg(long, default_value_t = 4)]
    pub levels: usize,
    /// Seed of the --random-init weights (so random-init runs are reproducible too).
    #[arg(long, default_value_t = 0)]
    pub init_seed: u64,
}

pub struct Loaded {
    pub unet: UNet,
    pub steering: Option<Steering>,
    /// Manifest entry → SHA-256 of the file used ("random-init" when none).
    pub sha256: BTreeMap<String, String>,
}

impl Loaded {
    pub fn nets(&self) -> Nets<'_> {
        Nets { unet: &self.unet, steering: self.steering.as_ref().map(|s| s as &dyn Steer) }
    }
}

pub fn load(args: &NetSource, cfg: &SampleConfig, device: &Device) -> anyhow::Result<Loaded> {
    let (unet_name, steering_name) = cfg.entries();
    let mut sha256 = BTreeMap::new();
    if args.random_init {
        let ucfg = UNetConfig::new()
            .with_width(args.width)
            .with_levels(args.levels)
            .with_conditional(cfg.unet() == ModelKind::Conditional);
        ucfg.validate().map_err(|e| anyhow::anyhow!("--width/--levels: {e}"))?;
        device.seed(args.init_seed);
        sha256.insert(unet_name.to_string(), "random-init".to_string());
        let unet = ucfg.init(device);
        let steering = cfg.sampler.steering().map(|s| {
            sha256.insert(s.kind.name().to_string(), "random-init".to_string());
            match s.kind {
                SteeringKind::Paper => Steering::Layer(ClassLayerConfig::new().init(device)),
                SteeringKind::Residual => Steering::Layer(ClassLayerConfig::new().with_residual(true).init(device)),
                SteeringKind::Guide => Steering::Guide(GuideNetConfig::new().init(device)),
                SteeringKind::Conditional => Steering::UNet(ucfg.clone().with_conditional(true).init(device)),
            }
        });
        return Ok(Loaded { unet, steering, sha256 });
    }
    let dir = &args.weights;
    let manifest = Manifest::read(dir).with_context(|| {
        format!("no weights in {} (train them, pass --weights DIR, or use --random-init)", dir.display())
    })?;
    let bytes = manifest.read_file(dir, unet_name)?;
    let unet = manifest.load_unet(unet_name, &bytes, device)?;
    sha256.insert(unet_name.to_string(), manifest.entry(unet_name)?.sha256.clone());
    let steering = match steering_name {
        Some(name) => {
            let bytes = manifest.read_file(dir, name)?;
            sha256.insert(name.to_string(), manifest.entry(name)?.sha256.clone());
            Some(manifest.load_steering(name, &bytes, device)?)
        }
        None => None,
    };
    Ok(Loaded { unet, steering, sha256 })
}
