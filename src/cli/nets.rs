//! Finding the networks a run needs: from a weights directory (checked against its manifest)
//! or freshly initialised.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use burn::tensor::Device;
use clap::Args;
use vdiff::eval::classifier::ClassifierConfig;
use vdiff::import::{export_torch_unet, import_torch_classifier, import_torch_unet};
use vdiff::model::{ClassLayerConfig, GuideNetConfig, UNet, UNetConfig};
use vdiff::sampler::{LayerKind, ModelKind, Nets, SampleConfig, Steer, Steering};
use vdiff::weights::{Arch, Manifest};

/// Where the networks come from.
#[derive(Args, Debug, Clone)]
pub struct NetArgs {
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
    pub layer: Option<Steering>,
    /// Manifest entry → SHA-256 of the file used ("random-init" when none).
    pub sha256: BTreeMap<String, String>,
}

impl Loaded {
    pub fn nets(&self) -> Nets<'_> {
        Nets { unet: &self.unet, layer: self.layer.as_ref().map(|l| l as &dyn Steer) }
    }
}

pub fn load(args: &NetArgs, cfg: &SampleConfig, device: &Device) -> anyhow::Result<Loaded> {
    let (unet_name, layer_name) = cfg.entries();
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
        let layer = layer_name.map(|l| {
            sha256.insert(l.to_string(), "random-init".to_string());
            match cfg.layer {
                LayerKind::Paper => Steering::Layer(ClassLayerConfig::new().init(device)),
                LayerKind::Residual => Steering::Layer(ClassLayerConfig::new().with_residual(true).init(device)),
                LayerKind::Guide => Steering::Guide(GuideNetConfig::new().init(device)),
                LayerKind::Conditional => Steering::UNet(ucfg.clone().with_conditional(true).init(device)),
            }
        });
        return Ok(Loaded { unet, layer, sha256 });
    }
    let dir = &args.weights;
    let manifest = Manifest::read(dir).with_context(|| {
        format!("no weights in {} (train them, pass --weights DIR, or use --random-init)", dir.display())
    })?;
    let bytes = manifest.read_file(dir, unet_name)?;
    let unet = manifest.load_unet(unet_name, &bytes, device)?;
    sha256.insert(unet_name.to_string(), manifest.entry(unet_name)?.sha256.clone());
    let layer = match layer_name {
        Some(l) => {
            let bytes = manifest.read_file(dir, l)?;
            sha256.insert(l.to_string(), manifest.entry(l)?.sha256.clone());
            Some(manifest.load_layer(l, &bytes, device)?)
        }
        None => None,
    };
    Ok(Loaded { unet, layer, sha256 })
}

/// Import notebook (PyTorch) U-Net weights.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// safetensors file with the notebook's parameter names (net.0.main.0.weight, …).
    pub file: PathBuf,
    /// U-Net base width c of that network.
    #[arg(long, default_value_t = 64)]
    pub width: usize,
    /// Resolution levels of that network.
    #[arg(long, default_value_t = 4)]
    pub levels: usize,
    /// The network has the class input (class_embed.weight).
    #[arg(long)]
    pub conditional: bool,
    /// The file is the evaluation classifier (`scripts/gpu/classifier.py`), not a U-Net; it
    /// replaces entry "classifier" (--width/--levels do not apply).
    #[arg(long, conflicts_with = "conditional")]
    pub classifier: bool,
    /// Weights directory to add it to (entry "conditional", "unconditional" or "classifier").
    #[arg(long, default_value = "weights")]
    pub out: PathBuf,
    /// Store f32 instead of f16.
    #[arg(long)]
    pub full_precision: bool,
}

pub fn import(a: ImportArgs) -> anyhow::Result<()> {
    let device = Device::flex();
    let mut manifest = Manifest::read_or_new(&a.out)?;
    if a.classifier {
        let config = ClassifierConfig::new();
        let clf = import_torch_classifier(&a.file, &config, &device)?;
        let file = "classifier.bpk";
        let sha = manifest.save(&a.out, "classifier", file, Arch::Classifier { config }, clf, !a.full_precision)?;
        manifest.write(&a.out)?;
        println!("{}/{file}  sha256 {sha}", a.out.display());
        return Ok(());
    }
    let config = UNetConfig::new().with_width(a.width).with_levels(a.levels).with_conditional(a.conditional);
    let unet = import_torch_unet(&a.file, &config, &device)?;
    let name = ModelKind::of(a.conditional).name();
    let file = format!("unet-{name}.bpk");
    let sha = manifest.save(&a.out, name, &file, Arch::Unet { config }, unet, !a.full_precision)?;
    manifest.write(&a.out)?;
    println!("{}/{file}  sha256 {sha}", a.out.display());
    Ok(())
}

/// Write a U-Net of a weights directory as safetensors with the notebook's names.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Weights directory with manifest.json.
    #[arg(long, default_value = "weights")]
    pub weights: PathBuf,
    /// Which U-Net.
    #[arg(long, value_enum)]
    pub model: vdiff::sampler::ModelKind,
    /// The safetensors file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Store f32 instead of f16.
    #[arg(long)]
    pub full_precision: bool,
}

pub fn export(a: ExportArgs) -> anyhow::Result<()> {
    let device = Device::flex();
    let manifest = Manifest::read(&a.weights).with_context(|| format!("no weights in {}", a.weights.display()))?;
    let name = a.model.name();
    let unet = manifest.load_unet(name, &manifest.read_file(&a.weights, name)?, &device)?;
    export_torch_unet(unet, &a.out, !a.full_precision)?;
    println!("{name} → {}", a.out.display());
    Ok(())
}
