//! `vdiff import-torch` and `export-torch`.

use std::path::PathBuf;

use anyhow::Context;
use burn::tensor::Device;
use clap::Args;
use vdiff::eval::classifier::ClassifierConfig;
use vdiff::import::{export_torch_unet, import_torch_classifier, import_torch_unet};
use vdiff::model::UNetConfig;
use vdiff::sampler::ModelKind;
use vdiff::weights::{Arch, Manifest};

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
    /// Which U-Net the file holds: conditional (it has class_embed.weight) or unconditional.
    #[arg(long, value_enum, default_value = "unconditional")]
    pub model: ModelKind,
    /// `--model conditional`, as earlier versions spelled it.
    #[arg(long, hide = true, conflicts_with = "model")]
    pub conditional: bool,
    /// The file is the evaluation classifier (`scripts/gpu/classifier.py`), not a U-Net; it
    /// replaces entry "classifier" (--width/--levels/--model do not apply).
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
    let model = if a.conditional { ModelKind::Conditional } else { a.model };
    let config =
        UNetConfig::new().with_width(a.width).with_levels(a.levels).with_conditional(model == ModelKind::Conditional);
    let unet = import_torch_unet(&a.file, &config, &device)?;
    let name = model.name();
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
