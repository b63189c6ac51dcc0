//! The clap front end. Each subcommand lives in its own file.

mod bench;
#[cfg(feature = "train")]
mod eval;
mod flags;
mod nets;
mod sample;
#[cfg(feature = "train")]
mod train;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "vdiff", version, about = "Per-class CIFAR-10 diffusion with the paper's additional layer")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Generate images into a directory (PNGs, a labelled grid, manifest.json).
    Sample(sample::SampleArgs),
    /// Side-by-side speed: U-Net images/s and the ddim / v1 / v2 wall-time ratios.
    Bench(bench::BenchArgs),
    /// Convert U-Net weights trained with the PyTorch notebook (safetensors) into weights/.
    ImportTorch(nets::ImportArgs),
    /// Write a U-Net as safetensors with the notebook's names (warm start of a PyTorch run).
    ExportTorch(nets::ExportArgs),
    /// Train the paper's networks on CIFAR-10 (needs --features train).
    #[cfg(feature = "train")]
    #[command(subcommand)]
    Train(train::TrainCmd),
    /// The paper's evaluation grid: IS, class accuracy, Fréchet distance, time (needs --features train).
    #[cfg(feature = "train")]
    Eval(eval::EvalArgs),
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Sample(a) => sample::run(a),
        Command::Bench(a) => bench::run(a),
        Command::ImportTorch(a) => nets::import(a),
        Command::ExportTorch(a) => nets::export(a),
        #[cfg(feature = "train")]
        Command::Train(c) => train::run(c),
        #[cfg(feature = "train")]
        Command::Eval(a) => eval::run(a),
    }
}

/// The device of `--device`, and the backend it resolved to (`auto` says what it picked).
fn open_device(b: vdiff::device::Backend) -> anyhow::Result<(burn::tensor::Device, vdiff::device::Backend)> {
    let (device, backend, what) = b.open().map_err(anyhow::Error::msg)?;
    if b == vdiff::device::Backend::Auto {
        eprintln!("{what}");
    }
    Ok((device, backend))
}
