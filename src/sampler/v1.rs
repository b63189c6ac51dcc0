//! `sample_new_v1`: the unconditional U-Net, steered toward each row's class by the steering network while
//! [`SampleConfig::steers`](super::SampleConfig::steers) (the paper: `i ≤ steps/2`).

use burn::tensor::Tensor;

use super::Sampling;

pub(super) fn velocity(run: &mut Sampling, x: Tensor<4>, log_snr: f64) -> Tensor<4> {
    let v = run.unet(x.clone(), log_snr);
    run.steer(x, v, log_snr)
}
