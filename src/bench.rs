//! `vdiff bench`: the samplers and the networks timed side by side in one process (same
//! weights, same backend), so that the ratios hold on a noisy machine.

use std::cell::Cell;
use std::time::{Duration, Instant};

use burn::tensor::{Device, Tensor};

use crate::device::Backend;
use crate::networks::{self, Loaded, NetSource};
use crate::noise::Noise;
use crate::options::SteeringOptions;
use crate::sampler::{sample, Denoiser, ModelKind, Nets, Prediction, SampleConfig, SamplerKind, Steer, SteeringKind};

/// What to time.
pub struct Bench {
    /// Images per sampling run.
    pub n: usize,
    /// Step counts to compare.
    pub steps: Vec<usize>,
    /// Timed repetitions per variant (the fastest is reported).
    pub reps: usize,
    /// U-Net forward batch size of the images/s figure.
    pub batch: usize,
}

const SAMPLERS: &[SamplerKind] = SamplerKind::ALL;

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

    fn velocity_features(&self, x: Tensor<4>, log_snr: f64, classes: &[usize]) -> (Tensor<4>, Vec<Tensor<4>>) {
        self.time(|n| n.velocity_features(x, log_snr, classes))
    }

    fn feature_shapes(&self) -> Vec<[usize; 2]> {
        self.inner.feature_shapes()
    }
}

impl Steer for Timed<'_, dyn Steer + '_> {
    fn steer(&self, p: Prediction, log_snr: f64, classes: &[usize]) -> Tensor<4> {
        self.time(|n| n.steer(p, log_snr, classes))
    }

    fn fan_out(&self, p: Prediction, log_snr: f64, classes: &[usize]) -> Tensor<4> {
        self.time(|n| n.fan_out(p, log_snr, classes))
    }

    fn feature_shapes(&self) -> Vec<[usize; 2]> {
        self.inner.feature_shapes()
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

impl Bench {
    /// Time the U-Net, the steering network and the three samplers; print the tables.
    pub fn run(
        &self,
        nets: &NetSource,
        steering: &SteeringOptions,
        device: &Device,
        backend: Backend,
    ) -> anyhow::Result<()> {
        anyhow::ensure!(self.reps >= 1, "--reps must be at least 1");
        // Every sampler runs the unconditional U-Net, ddim too, so that the table compares samplers.
        let of = |sampler, steps| {
            steering.apply(
                sampler,
                ModelKind::Unconditional,
                SampleConfig { n: self.n, steps, eta: 1.0, ..Default::default() },
            )
        };
        // Every setting is checked before anything runs: a bad N or step count is an error, not a
        // panic halfway through.
        for &steps in &self.steps {
            for &sampler in SAMPLERS {
                of(sampler, steps).validate()?;
            }
        }
        let loaded = networks::load(nets, &of(SamplerKind::V2, 5), device)?;
        println!("backend {}, N = {}, best of {} runs", backend.name(), self.n, self.reps);
        self.networks(&loaded, steering.steering, device);
        let split = self.samplers(&loaded, &of, device);
        if backend == Backend::Cpu {
            println!("\nWhere the fastest run of each went (s):\n");
            println!("| steps | sampler | total | U-Net | steering | rest |\n|---|---|---|---|---|---|");
            println!("{}", split.join("\n"));
        }
        Ok(())
    }

    /// The U-Net's images/s and cost per row by batch size, and the steering network's share of
    /// a U-Net forward.
    fn networks(&self, loaded: &Loaded, steering_kind: SteeringKind, device: &Device) {
        // Inputs are drawn before the clocks start: drawing 100 noise images takes milliseconds,
        // which would count against the steering network's small time.
        let mut noise = Noise::new(1);
        let forward = |noise: &mut Noise, b: usize| {
            let ls = Tensor::<1>::full([b], 0.5f32, device);
            let x = noise.normal_tensor([b, 3, 32, 32], device);
            min_time(self.reps, |_| sync(loaded.unet.forward(x.clone(), ls.clone(), None)))
        };
        let t = forward(&mut noise, self.batch);
        println!("U-Net forward, batch {}: {:.3} s, {:.1} images/s", self.batch, t, self.batch as f64 / t);
        // Per-row cost by batch size: why v2's early small batches cost more than their row count.
        let mut sweep: Vec<String> = [1usize, 10, 50]
            .iter()
            .map(|&b| format!("batch {b}: {:.1} ms/row", 1e3 * forward(&mut noise, b) / b as f64))
            .collect();
        sweep.push(format!("batch {}: {:.1} ms/row", self.batch, 1e3 * t / self.batch as f64));
        println!("U-Net cost per row — {}", sweep.join(", "));
        if let Some(steer) = loaded.nets().steering {
            let classes: Vec<usize> = (0..self.batch).map(|i| i % 10).collect();
            let x = noise.normal_tensor([self.batch, 3, 32, 32], device);
            let v = noise.normal_tensor([self.batch, 3, 32, 32], device);
            let features = if steer.feature_shapes().is_empty() {
                Vec::new()
            } else {
                loaded.unet.velocity_features(x.clone(), -2.0, &classes).1
            };
            let p = Prediction { x, v, features };
            let tl = min_time(self.reps, |_| sync(steer.steer(p.clone(), -2.0, &classes)));
            println!(
                "steering network {}, batch {}: {:.4} s ({:.1}% of a U-Net forward)",
                steering_kind.name(),
                self.batch,
                tl,
                100.0 * tl / t
            );
        }
    }

    /// The samplers' table; returns the rows of the where-the-time-went table.
    fn samplers(
        &self,
        loaded: &Loaded,
        of: &dyn Fn(SamplerKind, usize) -> SampleConfig,
        device: &Device,
    ) -> Vec<String> {
        // Two views of the ratio: fastest run against fastest run, and the median over rounds of
        // each round's own ratio (its three runs back to back, so a slow spell mostly cancels).
        println!("| steps | ddim s | v1 s | v2 s | ddim/v1 | ddim/v2 | ddim/v2 per round: median (range) | rows ddim | rows v2 |");
        println!("|---|---|---|---|---|---|---|---|---|");
        let nets = loaded.nets();
        let unet = Timed::new(nets.unet);
        let steering = nets.steering.map(Timed::new);
        let mut split = Vec::new();
        for &steps in &self.steps {
            let (best, mut round_ratios) = self.rounds(steps, of, (&unet, steering.as_ref()), device);
            round_ratios.sort_by(f64::total_cmp);
            let per_round = format!(
                "{:.2}× ({:.2}–{:.2}×)",
                median(&round_ratios),
                round_ratios[0],
                round_ratios[round_ratios.len() - 1]
            );
            for (&sampler, &(total, u, l)) in SAMPLERS.iter().zip(&best) {
                let rest = total - u - l;
                split.push(format!("| {steps} | {} | {total:.2} | {u:.2} | {l:.2} | {rest:.2} |", sampler.name()));
            }
            let [d, v1, v2] = best.map(|b| b.0);
            let (rd, r2) = (of(SamplerKind::Ddim, steps).unet_rows(), of(SamplerKind::V2, steps).unet_rows());
            println!(
                "| {steps} | {d:.2} | {v1:.2} | {v2:.2} | {:.2}× | {:.2}× | {per_round} | {rd} | {r2} |",
                d / v1,
                d / v2
            );
        }
        split
    }

    /// Rounds run the three samplers in turn, so that a slow spell of a shared machine slows all
    /// three instead of whichever happened to be running; each keeps its fastest run (total,
    /// U-Net, steering). Round 0 warms up and is not counted. Returns the fastest runs and each
    /// round's ddim/v2 ratio.
    fn rounds(
        &self,
        steps: usize,
        of: &dyn Fn(SamplerKind, usize) -> SampleConfig,
        (unet, steering): (&Timed<'_, dyn Denoiser + '_>, Option<&Timed<'_, dyn Steer + '_>>),
        device: &Device,
    ) -> ([(f64, f64, f64); 3], Vec<f64>) {
        let nets = Nets { unet, steering: steering.map(|s| s as &dyn Steer) };
        let mut best = [(f64::INFINITY, 0.0, 0.0); 3];
        let mut round_ratios = Vec::new();
        for round in 0..=self.reps {
            let mut totals = [0.0; 3];
            for (j, &sampler) in SAMPLERS.iter().enumerate() {
                let cfg = SampleConfig { seed: round as u64, ..of(sampler, steps) };
                let s = Instant::now();
                sync(sample(&cfg, nets, device, |_| {}).expect("checked in run").images);
                let run = (s.elapsed().as_secs_f64(), unet.take(), steering.map_or(0.0, Timed::take));
                totals[j] = run.0;
                if round > 0 && run.0 < best[j].0 {
                    best[j] = run;
                }
            }
            if round > 0 {
                round_ratios.push(totals[0] / totals[2]);
            }
        }
        (best, round_ratios)
    }
}
