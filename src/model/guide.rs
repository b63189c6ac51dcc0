//! The guide: a steering network that sees what the paper's layer does not — the noisy state
//! `x_t`, the noise level and the class — and adds a class correction to the frozen
//! unconditional U-Net's velocity.
//!
//! Why these inputs: at high noise the class moves `E[x₀ | x_t, c]` away from
//! `E[x₀ | x_t]` by roughly the class's layout and colours, and the right correction of `v̂`
//! is that shift over `−sigma`. How large it is depends on the noise level, and where it goes
//! depends on what `x_t` already holds; the paper's layer, a function of `v̂` and the class
//! alone, sees neither.
//!
//! The network works at 16×16 and 8×8 only: its input is folded to 16×16 by a pixel unshuffle
//! (each 2×2 block of pixels becomes four channels) and its output unfolded by a pixel shuffle.
//! Convolutions at 32×32 with few channels and bilinear upsampling were most of its time on
//! the CPU, while the class correction it makes is smooth at that scale. Its 16×16 and
//! 8×8 features are scaled and shifted (FiLM) by an embedding of the class and the log-SNR.
//! Its last convolution starts at zero, so an untrained guide steers nothing.
//!
//! It may also read the frozen U-Net's own inner feature maps at 16×16 and 8×8
//! ([`UNet::forward_features`](super::UNet::forward_features)): what the U-Net has already
//! worked out about the image at high noise, which the guide would otherwise have to derive
//! from pixels again. They enter through 1×1 convolutions that start at zero, so a guide with
//! them starts as the guide without them (a warm start keeps its weights,
//! [`GuideNet::with_features`]).

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::conv::conv_forward;
use super::unet::NUM_CLASSES;

/// Sine and cosine pairs of the log-SNR (range about −10 … 10): periods 32·k⁻¹ for k = 1 … 8.
const TIME_PAIRS: usize = 8;

#[derive(Config, Debug, PartialEq)]
pub struct GuideNetConfig {
    /// Channels at 16×16; 8×8 has twice as many.
    #[config(default = 32)]
    pub width: usize,
    /// Size of the class + time embedding.
    #[config(default = 64)]
    pub embed: usize,
    /// Base width `c` of the U-Net whose inner features it reads (its 16×16 map has `c`
    /// channels, its 8×8 map `2c`); `None`: it reads none (and manifests written before
    /// there was a choice read as that).
    pub features: Option<usize>,
}

/// FiLM: `x·(1 + γ) + β`, with `γ, β` a linear function of the embedding.
#[derive(Module, Debug)]
pub struct Film {
    pub proj: Linear,
}

impl Film {
    fn new(embed: usize, channels: usize, device: &Device) -> Self {
        Film { proj: LinearConfig::new(embed, 2 * channels).with_initializer(Initializer::Zeros).init(device) }
    }

    /// `x`: `[B, C, H, W]`, `e`: `[B, E]` → `[B, C, H, W]`
    fn forward(&self, x: Tensor<4>, e: Tensor<2>) -> Tensor<4> {
        let [b, c, _, _] = x.dims();
        let gb = self.proj.forward(e).reshape([b, 2 * c, 1, 1]);
        // (1 + γ) on the small tensor: two passes over `x` instead of three.
        let scale = gb.clone().narrow(1, 0, c) + 1.0;
        let beta = gb.narrow(1, c, c);
        x * scale + beta
    }
}

#[derive(Module, Debug)]
pub struct GuideNet {
    pub class_embed: Embedding,
    pub time_embed: Linear,
    pub film16: Film,
    pub film8: Film,
    pub conv_in: Conv2d,
    pub down8: Conv2d,
    pub mid8: Conv2d,
    pub proj8: Conv2d,
    pub up16: Conv2d,
    pub conv_out: Conv2d,
    /// The U-Net's 16×16 features into the 16×16 path (`None`: the guide reads none).
    pub feat16: Option<Conv2d>,
    /// The U-Net's 8×8 features into the 8×8 path.
    pub feat8: Option<Conv2d>,
}

/// `[B, C, 2H, 2W]` → `[B, 4C, H, W]`: each 2×2 block of pixels becomes four channels.
pub fn pixel_unshuffle(x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h / 2, 2, w / 2, 2]).permute([0, 1, 3, 5, 2, 4]).reshape([b, 4 * c, h / 2, w / 2])
}

/// `[B, 4C, H, W]` → `[B, C, 2H, 2W]`, the inverse of [`pixel_unshuffle`].
pub fn pixel_shuffle(x: Tensor<4>) -> Tensor<4> {
    let [b, c4, h, w] = x.dims();
    x.reshape([b, c4 / 4, 2, 2, h, w]).permute([0, 1, 4, 2, 5, 3]).reshape([b, c4 / 4, 2 * h, 2 * w])
}

fn conv3(c_in: usize, c_out: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(device)
}

fn conv1(c_in: usize, c_out: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [1, 1]).init(device)
}

fn zero_conv1(c_in: usize, c_out: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [1, 1]).with_initializer(Initializer::Zeros).init(device)
}

/// The guide's widths at 16×16 and 8×8 read `c`-wide U-Net features (`None` when it reads none).
fn feature_inputs(c: Option<usize>, a: usize, device: &Device) -> (Option<Conv2d>, Option<Conv2d>) {
    match c {
        Some(c) => (Some(zero_conv1(c, a, device)), Some(zero_conv1(2 * c, 2 * a, device))),
        None => (None, None),
    }
}

impl GuideNetConfig {
    pub fn init(&self, device: &Device) -> GuideNet {
        let (a, b, e) = (self.width, 2 * self.width, self.embed);
        GuideNet {
            class_embed: EmbeddingConfig::new(NUM_CLASSES, e).init(device),
            time_embed: LinearConfig::new(2 * TIME_PAIRS, e).init(device),
            film16: Film::new(e, a, device),
            film8: Film::new(e, b, device),
            conv_in: conv3(4 * 6, a, device),
            down8: conv3(a, b, device),
            mid8: conv3(b, b, device),
            proj8: conv1(b, 4 * a, device),
            up16: conv3(a, a, device),
            conv_out: Conv2dConfig::new([a, 4 * 3], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_initializer(Initializer::Zeros)
                .init(device),
            feat16: None,
            feat8: None,
        }
        .with_features(self.features, device)
    }
}

impl GuideNet {
    /// This guide reading the inner features of a U-Net of base width `c` (`None`: none),
    /// through new projections that start at zero: it steers exactly as before until they are
    /// trained.
    pub fn with_features(self, c: Option<usize>, device: &Device) -> Self {
        let (feat16, feat8) = feature_inputs(c, self.up16.weight.dims()[0], device);
        GuideNet { feat16, feat8, ..self }
    }

    /// Base width of the U-Net whose features it reads; `None` when it reads none.
    pub fn feature_width(&self) -> Option<usize> {
        self.feat16.as_ref().map(|c| c.weight.dims()[1])
    }

    /// The steered velocity `v + guide(x̂₀, x_t, log_snr, class, features)`.
    ///
    /// # Shapes
    /// `x`, `v`: `[B, 3, 32, 32]`, `log_snr`, `classes`: `[B]`, `features`: the U-Net's
    /// ([`UNet::forward_features`](super::UNet::forward_features); ignored, and may be empty,
    /// when the guide reads none) → `[B, 3, 32, 32]`
    pub fn forward(
        &self,
        x: Tensor<4>,
        v: Tensor<4>,
        features: &[Tensor<4>],
        log_snr: Tensor<1>,
        classes: Tensor<1, Int>,
    ) -> Tensor<4> {
        let correction = self.correction(x, v.clone(), features, log_snr, classes);
        v + correction
    }

    /// The correction alone (zero for an untrained guide).
    pub fn correction(
        &self,
        x: Tensor<4>,
        v: Tensor<4>,
        features: &[Tensor<4>],
        log_snr: Tensor<1>,
        classes: Tensor<1, Int>,
    ) -> Tensor<4> {
        let [b, _, _, _] = x.dims();
        let device = x.device();
        let ls = log_snr.reshape([b, 1]);
        // alpha² = sigmoid(log_snr), sigma² = sigmoid(−log_snr) (method §1).
        let alpha = sigmoid(ls.clone()).sqrt().reshape([b, 1, 1, 1]);
        let sigma = sigmoid(-ls.clone()).sqrt().reshape([b, 1, 1, 1]);
        let pred = x.clone() * alpha - v * sigma;
        let freqs: Vec<f32> = (1..=TIME_PAIRS).map(|k| (std::f64::consts::TAU * k as f64 / 32.0) as f32).collect();
        let f = ls.matmul(Tensor::<2>::from_data(TensorData::new(freqs, [1, TIME_PAIRS]), &device));
        let tf = Tensor::cat(vec![f.clone().cos(), f.sin()], 1);
        let cls = self.class_embed.forward(classes.reshape([b, 1])).reshape([b, self.class_embed.weight.dims()[1]]);
        let e = relu(self.time_embed.forward(tf) + cls);

        let read = |proj: &Option<Conv2d>, j: usize, h: Tensor<4>| match proj {
            Some(p) => h + p.forward(features[j].clone()),
            None => h,
        };
        let h16 = read(&self.feat16, 0, self.conv_in_folding(Tensor::cat(vec![pred, x], 1)));
        let h16 = relu(self.film16.forward(h16, e.clone()));
        let h8 = read(&self.feat8, 1, conv_forward(&self.down8, mean_pool2(h16.clone())));
        let h8 = relu(self.film8.forward(h8, e));
        let h8 = relu(conv_forward(&self.mid8, h8));
        let u16 = relu(conv_forward(&self.up16, pixel_shuffle(self.proj8.forward(h8))) + h16);
        pixel_shuffle(conv_forward(&self.conv_out, u16))
    }
}

impl GuideNet {
    /// `conv_in(pixel_unshuffle(x))` without the unshuffle's copy: a 3×3 convolution (padding 1)
    /// of the folded 16×16 input is a 6×6 convolution of stride 2 (padding 2) of `x` itself,
    /// whose tap `(2i + a, 2j + b)` on channel `c` is `conv_in`'s tap `(i, j)` on folded
    /// channel `4c + 2a + b`.
    ///
    /// # Shapes
    /// `x`: `[B, C, 32, 32]` → `[B, width, 16, 16]`
    pub fn conv_in_folding(&self, x: Tensor<4>) -> Tensor<4> {
        let [o, c4, _, _] = self.conv_in.weight.dims();
        let w = self.conv_in.weight.val().reshape([o, c4 / 4, 2, 2, 3, 3]).permute([0, 1, 4, 2, 5, 3]);
        let bias = self.conv_in.bias.as_ref().map(|b| b.val());
        conv2d(x, w.reshape([o, c4 / 4, 6, 6]), bias, ConvOptions::new([2, 2], [2, 2], [1, 1], 1))
    }
}

/// 2×2 average pooling as two means over reshaped axes (cheaper on Flex than its pooling op).
fn mean_pool2(x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h / 2, 2, w / 2, 2]).mean_dim(5).mean_dim(3).reshape([b, c, h / 2, w / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_unshuffle_folds_each_2x2_block_into_channels_and_shuffle_undoes_it() {
        let device = Device::flex();
        let (b, c, h, w) = (2, 3, 4, 6);
        let vals: Vec<f32> = (0..b * c * h * w).map(|i| i as f32).collect();
        let x = Tensor::<4>::from_data(TensorData::new(vals.clone(), [b, c, h, w]), &device);
        let folded = pixel_unshuffle(x.clone());
        assert_eq!(folded.dims(), [b, 4 * c, h / 2, w / 2]);
        let f: Vec<f32> = folded.clone().into_data().try_to_vec().unwrap();
        for (bi, ci, y, xx) in [(0, 0, 0, 0), (1, 2, 3, 5), (0, 1, 2, 3), (1, 0, 1, 4)] {
            let src = vals[((bi * c + ci) * h + y) * w + xx];
            let ch = ci * 4 + (y % 2) * 2 + xx % 2;
            let dst = f[((bi * 4 * c + ch) * (h / 2) + y / 2) * (w / 2) + xx / 2];
            assert_eq!(src, dst, "pixel ({bi}, {ci}, {y}, {xx})");
        }
        let back: Vec<f32> = pixel_shuffle(folded).into_data().try_to_vec().unwrap();
        assert_eq!(back, vals);
    }

    #[test]
    fn conv_in_folding_equals_conv_in_on_the_unshuffled_input() {
        let device = Device::flex();
        device.seed(3);
        let guide = GuideNetConfig::new().init(&device);
        let x = Tensor::<4>::random([2, 6, 32, 32], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let want: Vec<f32> = guide.conv_in.forward(pixel_unshuffle(x.clone())).into_data().try_to_vec().unwrap();
        let got: Vec<f32> = guide.conv_in_folding(x).into_data().try_to_vec().unwrap();
        assert_eq!(got.len(), want.len());
        let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(worst < 1e-4, "differs by {worst}");
        let pooled: Vec<f32> = mean_pool2(Tensor::<4>::from_data(
            TensorData::new((0..16).map(|i| i as f32).collect::<Vec<_>>(), [1, 1, 4, 4]),
            &device,
        ))
        .into_data()
        .try_to_vec()
        .unwrap();
        assert_eq!(pooled, vec![2.5, 4.5, 10.5, 12.5]);
    }

    #[test]
    fn an_untrained_guide_steers_nothing() {
        let device = Device::flex();
        let guide = GuideNetConfig::new().init(&device);
        let x = Tensor::<4>::ones([2, 3, 32, 32], &device);
        let v = x.clone() * 0.5;
        let ls = Tensor::<1>::from_data(TensorData::new(vec![-3.0f32, 2.0], [2]), &device);
        let classes = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 7], [2]), &device);
        let out: Vec<f32> = guide.forward(x, v.clone(), &[], ls, classes).into_data().try_to_vec().unwrap();
        assert_eq!(out, v.into_data().try_to_vec::<f32>().unwrap());
    }
}
