//! `sample_new_v1`: the unconditional U-Net, steered toward each row's class by the additional
//! layer for the first half of the steps (`i ≤ steps/2`).

use burn::tensor::Tensor;

use super::Sampling;

pub(super) fn velocity(run: &mut Sampling, x: Tensor<4>, log_snr: f64) -> Tensor<4> {
    let v = run.unet(x, log_snr);
    if run.i <= run.cfg.steps / 2 {
        run.layer().steer(v, &run.classes)
    } else {
        v
    }
}
