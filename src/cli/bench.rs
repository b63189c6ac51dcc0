//! `vdiff bench`: variants timed side by side in one process (same weights, same backend).

use std::time::Instant;

use burn::tensor::Tensor;
use clap::Args;
use vdiff::device::Backend;
use vdiff::noise::Noise;
use vdiff::sampler::{sample, Method, ModelKind, SampleConfig};

use super::nets::{self, NetArgs};

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Device: auto (a hardware GPU through wgpu, else the CPU), flex (CPU) or wgpu.
    #[arg(long = "device", alias = "backend", default_value = "auto")]
    pub device: Backend,
    /// Images per run.
    #[arg(long, default_value_t = 100)]
    pub n: usize,
    /// Step counts to compare, comma-separated.
    #[arg(long, default_value = "5,10,50", value_delimiter = ',')]
    pub steps: Vec<usize>,
    /// Timed repetitions per variant (the minimum is reported).
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
    /// U-Net forward batch size for the images/s figure.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    #[command(flatten)]
    pub nets: NetArgs,
    #[command(flatten)]
    pub steering: super::sample::SteerArgs,
}

/// Read the result back so that lazy backends really do the work.
fn sync(t: Tensor<4>) {
    let _ = t.into_data();
}

fn min_time(reps: usize, mut f: impl FnMut(usize)) -> f64 {
    f(usize::MAX); // warm-up (kernels, allocator)
    (0..reps)
        .map(|r| {
            let s = Instant::now();
            f(r);
            s.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

pub fn run(a: BenchArgs) -> anyhow::Result<()> {
    let (device, backend) = super::open_device(a.device)?;
    let base =
        a.steering.apply(SampleConfig { model: ModelKind::Unconditional, n: a.n, eta: 1.0, ..Default::default() });
    let loaded = nets::load(&a.nets, &SampleConfig { sampler: Method::V2, steps: 5, ..base.clone() }, &device)?;
    let nets = loaded.nets();
    println!("backend {}, N = {}, best of {} runs", backend.name(), a.n, a.reps);

    let mut noise = Noise::new(1);
    let ls = Tensor::<1>::full([a.batch], 0.5f32, &device);
    let t = min_time(a.reps, |_| {
        let x = noise.normal_tensor([a.batch, 3, 32, 32], &device);
        sync(loaded.unet.forward(x, ls.clone(), None));
    });
    println!("U-Net forward, batch {}: {:.3} s, {:.1} images/s", a.batch, t, a.batch as f64 / t);
    // Per-row cost by batch size: why v2's early small batches cost more than their row count.
    let mut sweep = Vec::new();
    for b in [1usize, 10, 50] {
        let ls = Tensor::<1>::full([b], 0.5f32, &device);
        let tb = min_time(a.reps, |_| {
            let x = noise.normal_tensor([b, 3, 32, 32], &device);
            sync(loaded.unet.forward(x, ls.clone(), None));
        });
        sweep.push(format!("batch {b}: {:.1} ms/row", 1e3 * tb / b as f64));
    }
    sweep.push(format!("batch {}: {:.1} ms/row", a.batch, 1e3 * t / a.batch as f64));
    println!("U-Net cost per row — {}", sweep.join(", "));
    let classes: Vec<usize> = (0..a.batch).map(|i| i % 10).collect();
    let steer = nets.layer.expect("v2 loads the layer");
    let tl = min_time(a.reps, |_| {
        let v = noise.normal_tensor([a.batch, 3, 32, 32], &device);
        sync(steer.steer(v.clone(), v, -2.0, &classes));
    });
    println!(
        "steering network {}, batch {}: {:.4} s ({:.1}% of a U-Net forward)",
        base.layer.name(),
        a.batch,
        tl,
        100.0 * tl / t
    );

    println!("| steps | ddim s | v1 s | v2 s | ddim/v1 | ddim/v2 | rows ddim | rows v2 |");
    println!("|---|---|---|---|---|---|---|---|");
    for &steps in &a.steps {
        let time = |sampler| {
            let cfg = SampleConfig { sampler, steps, ..base.clone() };
            let t = min_time(a.reps, |r| {
                let cfg = SampleConfig { seed: r as u64, ..cfg.clone() };
                sync(sample(&cfg, nets, &device, |_| {}).expect("valid config").images);
            });
            (t, cfg.unet_rows())
        };
        let (d, rd) = time(Method::Ddim);
        let (v1, _) = time(Method::V1);
        let (v2, r2) = time(Method::V2);
        println!("| {steps} | {d:.2} | {v1:.2} | {v2:.2} | {:.2}× | {:.2}× | {rd} | {r2} |", d / v1, d / v2);
    }
    Ok(())
}
