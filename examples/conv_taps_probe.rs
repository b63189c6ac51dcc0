//! Times `Conv2d::forward` on Flex against `conv_taps::conv3x3` on the U-Net's 3×3 shapes,
//! alternated, and checks they agree. `RAYON_NUM_THREADS=1 cargo run --release --example conv_taps_probe`
use std::time::Instant;

use burn::nn::conv::Conv2dConfig;
use burn::nn::PaddingConfig2d;
use burn::tensor::{Device, Distribution, Tensor};
use vdiff::model::conv_taps::conv3x3;

fn main() {
    let device = Device::flex();
    let b: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(20);
    let mut tot = (0.0, 0.0);
    for (ci, co, s) in [(3, 32, 32), (32, 32, 32), (64, 64, 16), (128, 128, 8), (64, 32, 32), (32, 3, 32)] {
        let conv =
            Conv2dConfig::new([ci, co], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(&device);
        let x = Tensor::<4>::random([b, ci, s, s], Distribution::Normal(0.0, 1.0), &device);
        let a: Vec<f32> = conv.forward(x.clone()).into_data().try_into_vec().unwrap();
        let t: Vec<f32> = conv3x3(&conv, x.clone()).into_data().try_into_vec().unwrap();
        let worst = a.iter().zip(&t).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max);
        let (mut ta, mut tb) = (f64::MAX, f64::MAX);
        for _ in 0..7 {
            let s0 = Instant::now();
            let _ = conv.forward(x.clone()).into_data();
            ta = ta.min(s0.elapsed().as_secs_f64());
            let s0 = Instant::now();
            let _ = conv3x3(&conv, x.clone()).into_data();
            tb = tb.min(s0.elapsed().as_secs_f64());
        }
        tot.0 += ta;
        tot.1 += tb;
        println!(
            "{ci:>4}→{co:<4} {s:>2}×{s:<2} B={b}: flex {:7.2} ms  taps {:7.2} ms  {:.2}×  (max diff {worst:.1e})",
            ta * 1e3,
            tb * 1e3,
            ta / tb
        );
    }
    println!("sum: {:.2}×", tot.0 / tot.1);
}
