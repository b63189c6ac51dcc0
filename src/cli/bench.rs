//! `vdiff bench`: variants timed side by side in one process (same weights, same backend).

use clap::Args;
use vdiff::bench::Bench;
use vdiff::device::Backend;
use vdiff::networks::NetSource;
use vdiff::options::SteeringOptions;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Device: auto (a hardware GPU through wgpu, else the CPU), cpu or webgpu.
    #[arg(long = "device", alias = "backend", value_enum, default_value_t = Backend::Auto)]
    pub device: Backend,
    /// Images per run.
    #[arg(long, value_parser = super::flags::count, default_value_t = 100)]
    pub n: usize,
    /// Step counts to compare, comma-separated.
    #[arg(long, default_value = "5,10,50", value_delimiter = ',')]
    pub steps: Vec<usize>,
    /// Timed repetitions per variant (the minimum is reported).
    #[arg(long, value_parser = super::flags::count, default_value_t = 3)]
    pub reps: usize,
    /// U-Net forward batch size for the images/s figure.
    #[arg(long, value_parser = super::flags::count, default_value_t = 100)]
    pub batch: usize,
    #[command(flatten)]
    pub nets: NetSource,
    #[command(flatten)]
    pub steering: SteeringOptions,
}

pub fn run(a: BenchArgs) -> anyhow::Result<()> {
    let (device, backend) = super::open_device(a.device)?;
    let bench = Bench { n: a.n, steps: a.steps, reps: a.reps, batch: a.batch };
    bench.run(&a.nets, &a.steering, &device, backend)
}
