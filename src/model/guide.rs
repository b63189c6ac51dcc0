//! The guide: a steering network that sees what the paper's layer does not — the noisy state
//! `x_t`, the noise level and the class — and adds a class correction to the frozen
//! unconditional U-Net's velocity.
//!
//! Why these inputs (issue 11): at high noise the class moves `E[x₀ | x_t, c]` away from
//! `E[x₀ | x_t]` by roughly the class's layout and colours, and the right correction of `v̂`
//! is that shift over `−sigma`. How large it is depends on the noise level, and where it goes
//! depends on what `x_t` already holds; the paper's layer, a function of `v̂` and the class
//! alone, sees neither. The guide is a three-level convolutional net (32 → 16 → 8 and back)
//! whose 16×16 and 8×8 features are scaled and shifted (FiLM) by an embedding of the class and
//! the log-SNR. Its last convolution starts at zero, so an untrained guide steers nothing.
//! About 11 M multiply-adds per image, 4–5 % of the c = 32 U-Net.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::AvgPool2dConfig;
use burn::nn::{Embedding, EmbeddingConfig, Initializer, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::unet::NUM_CLASSES;
use super::upsample::upsample2x;

/// Sine and cosine pairs of the log-SNR (range about −10 … 10): periods 32·k⁻¹ for k = 1 … 8.
const TIME_PAIRS: usize = 8;

#[derive(Config, Debug, PartialEq)]
pub struct GuideNetConfig {
    /// Channels at 32×32; 16×16 and 8×8 have 2× and 4×.
    #[config(default = 16)]
    pub width: usize,
    /// Size of the class + time embedding.
    #[config(default = 64)]
    pub embed: usize,
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
        let gamma = gb.clone().narrow(1, 0, c);
        let beta = gb.narrow(1, c, c);
        x.clone() + x * gamma + beta
    }
}

#[derive(Module, Debug)]
pub struct GuideNet {
    pub class_embed: Embedding,
    pub time_embed: Linear,
    pub film16: Film,
    pub film8: Film,
    pub conv_in: Conv2d,
    pub down16: Conv2d,
    pub down8: Conv2d,
    pub mid8: Conv2d,
    pub proj8: Conv2d,
    pub up16: Conv2d,
    pub proj16: Conv2d,
    pub up32: Conv2d,
    pub conv_out: Conv2d,
}

fn conv3(c_in: usize, c_out: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(device)
}

fn conv1(c_in: usize, c_out: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [1, 1]).init(device)
}

impl GuideNetConfig {
    pub fn init(&self, device: &Device) -> GuideNet {
        let (a, b, c, e) = (self.width, 2 * self.width, 4 * self.width, self.embed);
        GuideNet {
            class_embed: EmbeddingConfig::new(NUM_CLASSES, e).init(device),
            time_embed: LinearConfig::new(2 * TIME_PAIRS, e).init(device),
            film16: Film::new(e, b, device),
            film8: Film::new(e, c, device),
            conv_in: conv3(6, a, device),
            down16: conv3(a, b, device),
            down8: conv3(b, c, device),
            mid8: conv3(c, c, device),
            proj8: conv1(c, b, device),
            up16: conv3(b, b, device),
            proj16: conv1(b, a, device),
            up32: conv3(a, a, device),
            conv_out: Conv2dConfig::new([a, 3], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_initializer(Initializer::Zeros)
                .init(device),
        }
    }
}

impl GuideNet {
    /// The steered velocity `v + guide(x̂₀, x_t, log_snr, class)`.
    ///
    /// # Shapes
    /// `x`, `v`: `[B, 3, 32, 32]`, `log_snr`, `classes`: `[B]` → `[B, 3, 32, 32]`
    pub fn forward(&self, x: Tensor<4>, v: Tensor<4>, log_snr: Tensor<1>, classes: Tensor<1, Int>) -> Tensor<4> {
        let correction = self.correction(x, v.clone(), log_snr, classes);
        v + correction
    }

    /// The correction alone (zero for an untrained guide).
    pub fn correction(&self, x: Tensor<4>, v: Tensor<4>, log_snr: Tensor<1>, classes: Tensor<1, Int>) -> Tensor<4> {
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

        let pool = AvgPool2dConfig::new([2, 2]).init();
        let h32 = relu(self.conv_in.forward(Tensor::cat(vec![pred, x], 1)));
        let h16 = relu(self.film16.forward(self.down16.forward(pool.forward(h32.clone())), e.clone()));
        let h8 = relu(self.film8.forward(self.down8.forward(pool.forward(h16.clone())), e));
        let h8 = relu(self.mid8.forward(h8));
        let u16 = relu(self.up16.forward(upsample2x(self.proj8.forward(h8))) + h16);
        let u32 = relu(self.up32.forward(upsample2x(self.proj16.forward(u16))) + h32);
        self.conv_out.forward(u32)
    }
}
