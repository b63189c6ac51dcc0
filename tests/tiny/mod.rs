//! The fixtures' tiny networks and the runs made with them, shared by the native test that
//! writes and checks the stored outputs (tests/fixtures.rs) and the browser tests that compare
//! the page's modules with them (tests/browser).
#![allow(dead_code)]

use vdiff::burn::tensor::{Device, Tensor, TensorData};
use vdiff::model::{ClassLayer, UNet, UNetConfig};
use vdiff::noise::Noise;
use vdiff::sampler::{CopySteering, Nets, SampleConfig, Sampler, Sampling, SteeringConfig, DEFAULT_W};

pub fn unet_config() -> UNetConfig {
    UNetConfig::new().with_width(8).with_levels(2).with_conditional(false)
}

/// The U-Net's velocity for two noise images at two noise levels.
pub fn forward(unet: &UNet, device: &Device) -> Tensor<4> {
    let x = Noise::new(11).normal_tensor([2, 3, 32, 32], device);
    unet.forward(x, Tensor::<1>::from_data(TensorData::new(vec![-1.0f32, 2.0], [2]), device), None)
}

/// Two steps of v2 with the paper's copies, for the ten classes.
pub fn v2_config(seed: u64) -> SampleConfig {
    SampleConfig {
        sampler: Sampler::V2 {
            steering: SteeringConfig::default(),
            w: DEFAULT_W,
            fan_eta: None,
            copies: CopySteering::Paper,
        },
        n: 10,
        steps: 2,
        seed,
        ..Default::default()
    }
}

/// The images of [`v2_config`], run to its end on the U-Net rows v2 plans for it.
pub fn v2_images(unet: &UNet, layer: &ClassLayer, device: &Device, seed: u64) -> Tensor<4> {
    let mut run = Sampling::new(&v2_config(seed), Nets { unet, steering: Some(layer) }, device).unwrap();
    while run.step().is_some() {}
    let out = run.finish();
    assert_eq!(out.unet_rows, 11);
    out.images
}

/// The seed of the stored v2 images.
pub const V2_SEED: u64 = 3;

pub fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
}

pub fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}
