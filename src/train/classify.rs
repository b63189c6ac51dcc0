//! Training the evaluation classifier (cross-entropy, Adam, flips), time- or step-limited.

use std::time::Instant;

use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::Device;

use super::data::{epoch_order, Cifar};
use super::trainer::TrainError;
use crate::eval::classifier::{Classifier, ClassifierConfig};
use crate::noise::Noise;

pub struct ClassifierTraining {
    pub config: ClassifierConfig,
    pub batch: usize,
    pub lr: f64,
    pub seed: u64,
    pub max_steps: usize,
    pub time_limit_s: Option<f64>,
}

/// Share of `data`'s first `n` images classified correctly.
pub fn accuracy(model: &Classifier, data: &Cifar, n: usize, device: &Device) -> f64 {
    let n = n.min(data.len());
    let mut right = 0usize;
    for chunk in (0..n).collect::<Vec<_>>().chunks(200) {
        let (x, y) = data.batch(chunk, None, device);
        let pred = model.forward(x).argmax(1).reshape([chunk.len()]);
        right += pred.equal(y).int().sum().into_scalar::<i64>() as usize;
    }
    right as f64 / n as f64
}

/// Train; returns the model (without autodiff), the steps done and the wall time.
pub fn train(
    t: &ClassifierTraining,
    data: &Cifar,
    device: &Device,
    quiet: bool,
) -> Result<(Classifier, usize, f64), TrainError> {
    if !(1..=data.len()).contains(&t.batch) {
        return Err(TrainError::Batch { batch: t.batch, images: data.len() });
    }
    let ad = device.clone().autodiff();
    ad.seed(t.seed);
    let mut model = t.config.init(&ad);
    let mut optim = AdamConfig::new().init();
    let mut rng = Noise::with_stream(t.seed, 2);
    let per_epoch = data.len() / t.batch;
    let start = Instant::now();
    let ce = CrossEntropyLossConfig::new().init(&ad);
    let mut step = 0;
    let mut order = Vec::new();
    while step < t.max_steps && !t.time_limit_s.is_some_and(|l| start.elapsed().as_secs_f64() > l) {
        let (epoch, j) = (step / per_epoch, step % per_epoch);
        if j == 0 {
            order = epoch_order(data.len(), t.seed, epoch as u64);
        }
        let (x, y) = data.batch(&order[j * t.batch..(j + 1) * t.batch], Some(&mut rng), &ad);
        let loss = ce.forward(model.forward(x), y);
        if !quiet && step % 100 == 0 {
            println!(
                "step {step} (epoch {epoch}) loss {:.4} {:.0} s",
                loss.clone().into_scalar::<f32>(),
                start.elapsed().as_secs_f64()
            );
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(t.lr, model, grads);
        step += 1;
    }
    Ok((model.valid(), step, start.elapsed().as_secs_f64()))
}
