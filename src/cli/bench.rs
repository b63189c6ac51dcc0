//! `vdiff bench`: variants timed side by side in one process (same weights, same backend).

use std::cell::Cell;
use std::time::{Duration, Instant};

use burn::tensor::Tensor;
use clap::Args;
use vdiff::device::Backend;
use vdiff::noise::Noise;
use vdiff::sampler::{sample, Denoiser, Method, ModelKind, Nets, SampleConfig, Steer};

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

/// A network that adds the time of each call to `spent`: where a sampler's time goes. The CPU
/// backend computes eagerly, so a call's time is its work; on wgpu it would only be dispatch.
struct Timed<'a, T: ?Sized> {
    inner: &'a T,
    spent: Cell<Duration>,
}

impl<'a, T: ?Sized> Timed<'a, T> {
    fn new(inner: &'a T) -> Self {
        Self { inner, spent: Cell::new(Duration::ZERO) }
    }

    fn time<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        let s = Instant::now();
        let r = f(self.inner);
        self.spent.set(self.spent.get() + s.elapsed());
        r
    }

    fn take(&self) -> f64 {
        self.spent.take().as_secs_f64()
    }
}

impl Denoiser for Timed<'_, dyn Denoiser + '_> {
    fn velocity(&self, x: Tensor<4>, log_snr: f64, classes: &[usize]) -> Tensor<4> {
        self.time(|n| n.velocity(x, log_snr, classes))
    }

    fn is_conditional(&self) -> bool {
        self.inner.is_conditional()
    }
}

impl Steer for Timed<'_, dyn Steer + '_> {
    fn steer(&self, x: Tensor<4>, v: Tensor<4>, log_snr: f64, classes: &[usize]) -> Tensor<4> {
        self.time(|n| n.steer(x, v, log_snr, classes))
    }

    fn fan_out(&self, x: Tensor<4>, v: Tensor<4>, log_snr: f64, classes: &[usize]) -> Tensor<4> {
        self.time(|n| n.fan_out(x, v, log_snr, classes))
    }
}

/// Read the result back so that lazy backends really do the work.
fn sync(t: Tensor<4>) {
    let _ = t.into_data();
}

/// The median of sorted values (the mean of the middle two for an even count).
fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
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
    anyhow::ensure!(a.reps >= 1, "--reps must be at least 1");
    let (device, backend) = super::open_device(a.device)?;
    let base = a.steering.apply(SampleConfig {
        model: ModelKind::Unconditional,
        sampler: Method::V1,
        n: a.n,
        eta: 1.0,
        ..Default::default()
    });
    // Every setting is checked before anything runs: a bad N or step count is an error, not a
    // panic halfway through.
    for &steps in &a.steps {
        for sampler in [Method::Ddim, Method::V1, Method::V2] {
            SampleConfig { sampler, steps, ..base.clone() }.validate()?;
        }
    }
    let loaded = nets::load(&a.nets, &SampleConfig { sampler: Method::V2, steps: 5, ..base.clone() }, &device)?;
    let nets = loaded.nets();
    println!("backend {}, N = {}, best of {} runs", backend.name(), a.n, a.reps);

    // Inputs are drawn before the clocks start: drawing 100 noise images takes milliseconds,
    // which would count against the steering network's small time.
    let mut noise = Noise::new(1);
    let ls = Tensor::<1>::full([a.batch], 0.5f32, &device);
    let x = noise.normal_tensor([a.batch, 3, 32, 32], &device);
    let t = min_time(a.reps, |_| sync(loaded.unet.forward(x.clone(), ls.clone(), None)));
    println!("U-Net forward, batch {}: {:.3} s, {:.1} images/s", a.batch, t, a.batch as f64 / t);
    // Per-row cost by batch size: why v2's early small batches cost more than their row count.
    let mut sweep = Vec::new();
    for b in [1usize, 10, 50] {
        let ls = Tensor::<1>::full([b], 0.5f32, &device);
        let x = noise.normal_tensor([b, 3, 32, 32], &device);
        let tb = min_time(a.reps, |_| sync(loaded.unet.forward(x.clone(), ls.clone(), None)));
        sweep.push(format!("batch {b}: {:.1} ms/row", 1e3 * tb / b as f64));
    }
    sweep.push(format!("batch {}: {:.1} ms/row", a.batch, 1e3 * t / a.batch as f64));
    println!("U-Net cost per row — {}", sweep.join(", "));
    let classes: Vec<usize> = (0..a.batch).map(|i| i % 10).collect();
    let steer = nets.layer.expect("v2 loads the layer");
    let v = noise.normal_tensor([a.batch, 3, 32, 32], &device);
    let tl = min_time(a.reps, |_| sync(steer.steer(x.clone(), v.clone(), -2.0, &classes)));
    println!(
        "steering network {}, batch {}: {:.4} s ({:.1}% of a U-Net forward)",
        base.layer.name(),
        a.batch,
        tl,
        100.0 * tl / t
    );

    // Two views of the ratio: fastest run against fastest run, and the median over rounds of
    // each round's own ratio (its three runs back to back, so a slow spell mostly cancels).
    println!("| steps | ddim s | v1 s | v2 s | ddim/v1 | ddim/v2 | ddim/v2 per round: median (range) | rows ddim | rows v2 |");
    println!("|---|---|---|---|---|---|---|---|---|");
    let unet = Timed::new(nets.unet);
    let layer = nets.layer.map(Timed::new);
    let timed = Nets { unet: &unet, layer: layer.as_ref().map(|l| l as &dyn Steer) };
    let mut split = Vec::new();
    let samplers = [Method::Ddim, Method::V1, Method::V2];
    for &steps in &a.steps {
        // Rounds run the three samplers in turn, so that a slow spell of a shared machine
        // slows all three instead of whichever happened to be running; each keeps its
        // fastest run (total, U-Net, steering). Round 0 warms up and is not counted.
        let mut best = [(f64::INFINITY, 0.0, 0.0); 3];
        let mut round_ratios = Vec::new();
        for round in 0..=a.reps {
            let mut totals = [0.0; 3];
            for (j, &sampler) in samplers.iter().enumerate() {
                let cfg = SampleConfig { sampler, steps, seed: round as u64, ..base.clone() };
                let s = Instant::now();
                sync(sample(&cfg, timed, &device, |_| {}).expect("valid config").images);
                let run = (s.elapsed().as_secs_f64(), unet.take(), layer.as_ref().map_or(0.0, Timed::take));
                totals[j] = run.0;
                if round > 0 && run.0 < best[j].0 {
                    best[j] = run;
                }
            }
            if round > 0 {
                round_ratios.push(totals[0] / totals[2]);
            }
        }
        round_ratios.sort_by(f64::total_cmp);
        let per_round = format!(
            "{:.2}× ({:.2}–{:.2}×)",
            median(&round_ratios),
            round_ratios[0],
            round_ratios[round_ratios.len() - 1]
        );
        for (&sampler, &(total, u, l)) in samplers.iter().zip(&best) {
            let rest = total - u - l;
            split.push(format!("| {steps} | {} | {total:.2} | {u:.2} | {l:.2} | {rest:.2} |", sampler.name()));
        }
        let [d, v1, v2] = best.map(|b| b.0);
        let rows = |sampler| SampleConfig { sampler, steps, ..base.clone() }.unet_rows();
        let (rd, r2) = (rows(Method::Ddim), rows(Method::V2));
        println!(
            "| {steps} | {d:.2} | {v1:.2} | {v2:.2} | {:.2}× | {:.2}× | {per_round} | {rd} | {r2} |",
            d / v1,
            d / v2
        );
    }
    if backend == Backend::Flex {
        println!("\nWhere the fastest run of each went (s):\n");
        println!("| steps | sampler | total | U-Net | steering | rest |\n|---|---|---|---|---|---|");
        println!("{}", split.join("\n"));
    }
    Ok(())
}
