//! `vdiff eval`: the paper's tables 5.1–5.3 ([`vdiff::eval::grid`]).

use std::path::PathBuf;

use clap::Args;
use vdiff::device::Backend;
use vdiff::eval::grid::EvalGrid;
use vdiff::networks::NetSource;
use vdiff::options::SteeringOptions;

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Networks: conditional, unconditional (ddim), v1, v2 (steered by --steering); a suffix
    /// picks the steering: v1-guide, v1-layer, v1-layer-residual, v1-conditional (the
    /// conditional U-Net steers: classifier-free guidance, the ceiling of any steering network
    /// imitating it; `-teacher` is its old name), the same for v2.
    #[arg(long, value_delimiter = ',', default_value = "conditional,unconditional,v1,v2")]
    pub methods: Vec<String>,
    /// Image counts N.
    #[arg(long, value_delimiter = ',', default_value = "100,300,500")]
    pub n: Vec<usize>,
    /// Step counts.
    #[arg(long, value_delimiter = ',', default_value = "5,10,50")]
    pub steps: Vec<usize>,
    /// Seeds per cell (mean ± std over them).
    #[arg(long, default_value_t = 5)]
    pub seeds: u64,
    /// Fresh noise per step: 0 deterministic, 1 the notebook's.
    #[arg(long, value_parser = super::flags::unit, default_value_t = 0.0)]
    pub eta: f64,
    /// Test images forming the reference set of the Fréchet distance.
    #[arg(long, value_parser = super::flags::count, default_value_t = 2000)]
    pub reference: usize,
    /// CIFAR-10 (for the real-image columns).
    #[arg(long, default_value = "../shared/data/cifar10")]
    pub data: PathBuf,
    /// Output directory: eval.csv, eval.md.
    #[arg(long, default_value = "eval")]
    pub out: PathBuf,
    /// Also score with the standard Inception-v3: a PyTorch state dict (torchvision's
    /// `inception_v3_google-*.pth` or pytorch-fid's `pt_inception-*.pth`).
    #[arg(long)]
    pub inception: Option<PathBuf>,
    /// Device: auto (a hardware GPU through wgpu, else the CPU), cpu or webgpu.
    #[arg(long = "device", alias = "backend", value_enum, default_value_t = Backend::Auto)]
    pub device: Backend,
    #[command(flatten)]
    pub nets: NetSource,
    #[command(flatten)]
    pub steering: SteeringOptions,
}

pub fn run(a: EvalArgs) -> anyhow::Result<()> {
    let device = super::open_device(a.device)?.0;
    let grid = EvalGrid {
        methods: a.methods,
        n: a.n,
        steps: a.steps,
        seeds: a.seeds,
        eta: a.eta,
        reference: a.reference,
        data: a.data,
        out: a.out,
        inception: a.inception,
        nets: a.nets,
        steering: a.steering,
    };
    grid.run(&device)
}
