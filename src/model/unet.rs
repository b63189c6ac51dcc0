//! The v-objective CIFAR-10 U-Net of method §3 (the notebook's model), with a configurable
//! base width `c` and number of resolution levels.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};

use super::conv::conv_forward;
use super::upsample::upsample2x;
use burn::nn::pool::AvgPool2dConfig;
use burn::nn::{Embedding, EmbeddingConfig, GroupNorm, GroupNormConfig, Initializer, PaddingConfig2d};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::noise::Noise;

/// Number of CIFAR-10 classes.
pub const NUM_CLASSES: usize = 10;
/// Fourier features of the log-SNR input.
pub const TIME_FEATURES: usize = 16;
/// Width of the class embedding input.
pub const CLASS_FEATURES: usize = 4;
/// Standard deviation of the (fixed, never trained) Fourier feature weights.
pub const FOURIER_STD: f64 = 0.2;

#[derive(Config, Debug, PartialEq)]
pub struct UNetConfig {
    /// Base width `c`; level `k` has `c·2^k` channels.
    #[config(default = 32)]
    pub width: usize,
    /// Resolution levels: 4 is the notebook's 32→16→8→4; 3 drops the 4×4 level.
    #[config(default = 4)]
    pub levels: usize,
    /// Class-conditional (class embedding input) or unconditional.
    #[config(default = false)]
    pub conditional: bool,
    /// Channel dropout probability, active only when training.
    #[config(default = 0.1)]
    pub dropout: f64,
}

/// `Dropout2d`: zeroes whole channels. The mask comes from the host RNG so that a resumed
/// training run draws exactly the masks the uninterrupted one would have.
fn dropout2d(x: Tensor<4>, p: f64, rng: Option<&mut Noise>) -> Tensor<4> {
    let Some(rng) = rng else { return x };
    if p <= 0.0 {
        return x;
    }
    let [b, c, _, _] = x.dims();
    let scale = (1.0 / (1.0 - p)) as f32;
    let mask: Vec<f32> = (0..b * c).map(|_| if rng.uniform() >= p { scale } else { 0.0 }).collect();
    let mask = Tensor::<4>::from_data(TensorData::new(mask, [b, c, 1, 1]), &x.device());
    x * mask
}

/// `x + main(x)`, `main = Conv3×3 → Dropout2d → ReLU → Conv3×3 → Dropout2d → ReLU`; the last
/// block of the net ends at its second convolution. The skip is a 1×1 conv when widths differ.
#[derive(Module, Debug)]
pub struct ResConvBlock {
    pub conv1: Conv2d,
    pub conv2: Conv2d,
    pub skip: Option<Conv2d>,
    #[module(skip)]
    pub last: bool,
    #[module(skip)]
    pub dropout: f64,
}

impl ResConvBlock {
    fn new(c_in: usize, c_mid: usize, c_out: usize, last: bool, dropout: f64, device: &Device) -> Self {
        let conv =
            |a, b| Conv2dConfig::new([a, b], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(device);
        Self {
            conv1: conv(c_in, c_mid),
            conv2: conv(c_mid, c_out),
            skip: (c_in != c_out).then(|| Conv2dConfig::new([c_in, c_out], [1, 1]).with_bias(false).init(device)),
            last,
            dropout,
        }
    }

    /// # Shapes
    /// `[B, c_in, H, W] → [B, c_out, H, W]`
    fn forward(&self, x: Tensor<4>, mut rng: Option<&mut Noise>) -> Tensor<4> {
        let skip = match &self.skip {
            Some(conv) => conv_forward(conv, x.clone()),
            None => x.clone(),
        };
        let h = relu(dropout2d(conv_forward(&self.conv1, x), self.dropout, rng.as_deref_mut()));
        let h = conv_forward(&self.conv2, h);
        let h = if self.last { h } else { relu(dropout2d(h, self.dropout, rng)) };
        h + skip
    }
}

/// `SelfAttention2d(c, heads = max(c/64, 1))` of the notebook, residual.
#[derive(Module, Debug)]
pub struct SelfAttention2d {
    pub norm: GroupNorm,
    pub qkv_proj: Conv2d,
    pub out_proj: Conv2d,
    #[module(skip)]
    pub heads: usize,
    #[module(skip)]
    pub dropout: f64,
}

impl SelfAttention2d {
    fn new(c: usize, dropout: f64, device: &Device) -> Self {
        Self {
            norm: GroupNormConfig::new(1, c).init(device),
            qkv_proj: Conv2dConfig::new([c, 3 * c], [1, 1]).init(device),
            out_proj: Conv2dConfig::new([c, c], [1, 1]).init(device),
            heads: (c / 64).max(1),
            dropout,
        }
    }

    /// # Shapes
    /// `[B, c, H, W] → [B, c, H, W]`
    fn forward(&self, x: Tensor<4>, rng: Option<&mut Noise>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let (heads, d) = (self.heads, c / self.heads);
        let qkv = conv_forward(&self.qkv_proj, self.norm.forward(x.clone()));
        // [B, 3c, H, W] → [B, 3·heads, d, HW] → q, k, v each [B, heads, HW, d]
        let qkv = qkv.reshape([b, 3 * heads, d, h * w]).swap_dims(2, 3);
        let mut parts = qkv.chunk(3, 1).into_iter();
        let (q, k, v) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let att = softmax(q.matmul(k.swap_dims(2, 3)) * (1.0 / (d as f64).sqrt()), 3);
        let y = att.matmul(v).swap_dims(2, 3).reshape([b, c, h, w]);
        x + dropout2d(conv_forward(&self.out_proj, y), self.dropout, rng)
    }
}

/// A residual block, followed by self-attention on the coarse levels.
#[derive(Module, Debug)]
pub struct Block {
    pub res: ResConvBlock,
    pub attn: Option<SelfAttention2d>,
}

impl Block {
    fn forward(&self, x: Tensor<4>, mut rng: Option<&mut Noise>) -> Tensor<4> {
        let x = self.res.forward(x, rng.as_deref_mut());
        match &self.attn {
            Some(a) => a.forward(x, rng),
            None => x,
        }
    }
}

/// One resolution level: `enc` blocks, then (except the innermost level) the next level
/// inside a skip connection, then `dec` blocks.
#[derive(Module, Debug)]
pub struct Level {
    pub enc: Vec<Block>,
    pub dec: Vec<Block>,
}

#[derive(Module, Debug)]
pub struct UNet {
    /// Fixed random Fourier weights `[8, 1]` for the log-SNR (never trained).
    pub timestep_embed: Param<Tensor<2>>,
    pub class_embed: Option<Embedding>,
    pub levels: Vec<Level>,
}

/// Widths and levels a U-Net may have: 32×32 halves down to 4×4 at most (5 levels would reach
/// 2×2, where the attention of the inner levels has nothing left to attend to).
pub const LEVELS: std::ops::RangeInclusive<usize> = 2..=4;
pub const MAX_WIDTH: usize = 256;

impl UNetConfig {
    /// Whether [`init`](Self::init) can build this network: every configuration read from a
    /// file or a flag is checked here first, so that none reaches its assertion.
    pub fn validate(&self) -> Result<(), String> {
        if !LEVELS.contains(&self.levels) {
            return Err(format!("levels must be {} to {}, got {}", LEVELS.start(), LEVELS.end(), self.levels));
        }
        if !(1..=MAX_WIDTH).contains(&self.width) {
            return Err(format!("width must be 1 to {MAX_WIDTH}, got {}", self.width));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout must be in [0, 1), got {}", self.dropout));
        }
        Ok(())
    }

    pub fn init(&self, device: &Device) -> UNet {
        assert!(self.validate().is_ok(), "{:?}", self.validate());
        let c = self.width;
        let width = |k: usize| c << k;
        let p = self.dropout;
        let block = |a, m, o, last, attn: bool| Block {
            res: ResConvBlock::new(a, m, o, last, p, device),
            attn: attn.then(|| SelfAttention2d::new(o, p, device)),
        };
        let c_in = 3 + TIME_FEATURES + if self.conditional { CLASS_FEATURES } else { 0 };
        let inner = self.levels - 1;
        let levels = (0..self.levels)
            .map(|k| {
                let w = width(k);
                let outer = if k == 0 { c_in } else { width(k - 1) };
                let back = if k == 0 { 3 } else { width(k - 1) };
                let attn = k >= 2;
                if k == inner {
                    Level {
                        enc: vec![block(outer, w, w, false, attn), block(w, w, w, false, attn)],
                        dec: vec![block(w, w, w, false, attn), block(w, w, back, false, attn)],
                    }
                } else {
                    Level {
                        enc: vec![block(outer, w, w, false, attn), block(w, w, w, false, attn)],
                        dec: vec![block(2 * w, w, w, false, attn), block(w, w, back, k == 0, attn)],
                    }
                }
            })
            .collect();
        UNet {
            timestep_embed: Initializer::Normal { mean: 0.0, std: FOURIER_STD }.init([TIME_FEATURES / 2, 1], device),
            class_embed: self.conditional.then(|| EmbeddingConfig::new(NUM_CLASSES, CLASS_FEATURES).init(device)),
            levels,
        }
    }
}

impl UNet {
    pub fn is_conditional(&self) -> bool {
        self.class_embed.is_some()
    }

    /// Predicted velocity `v̂` (inference: dropout off).
    ///
    /// # Shapes
    /// - `x`: `[B, 3, 32, 32]`, `log_snr`: `[B]`, `classes`: `[B]` (conditional model only)
    /// - returns `[B, 3, 32, 32]`
    pub fn forward(&self, x: Tensor<4>, log_snr: Tensor<1>, classes: Option<Tensor<1, Int>>) -> Tensor<4> {
        self.forward_with_dropout(x, log_snr, classes, None)
    }

    /// As [`forward`](Self::forward), with channel dropout drawn from `rng` when it is given.
    pub fn forward_with_dropout(
        &self,
        x: Tensor<4>,
        log_snr: Tensor<1>,
        classes: Option<Tensor<1, Int>>,
        rng: Option<&mut Noise>,
    ) -> Tensor<4> {
        self.run(x, log_snr, classes, rng, None)
    }

    /// As [`forward`](Self::forward), with the U-Net's inner feature maps: element `j` is the
    /// output of level `j + 1` before it is upsampled back, `[B, c·2^j, 32/2^(j+1), 32/2^(j+1)]`
    /// (for the committed 3-level net: `[B, c, 16, 16]`, then `[B, 2c, 8, 8]`). They cost
    /// nothing extra: the forward computes them anyway.
    pub fn forward_features(
        &self,
        x: Tensor<4>,
        log_snr: Tensor<1>,
        classes: Option<Tensor<1, Int>>,
    ) -> (Tensor<4>, Vec<Tensor<4>>) {
        let mut taps = vec![None; self.levels.len() - 1];
        let v = self.run(x, log_snr, classes, None, Some(&mut taps));
        (v, taps.into_iter().map(|t| t.expect("every inner level ran")).collect())
    }

    /// `[channels, side]` of each map [`forward_features`](Self::forward_features) returns.
    pub fn feature_shapes(&self) -> Vec<[usize; 2]> {
        let c = self.levels[0].enc[0].res.conv1.weight.dims()[0];
        (0..self.levels.len() - 1).map(|j| [c << j, 32 >> (j + 1)]).collect()
    }

    fn run(
        &self,
        x: Tensor<4>,
        log_snr: Tensor<1>,
        classes: Option<Tensor<1, Int>>,
        rng: Option<&mut Noise>,
        taps: Option<&mut Vec<Option<Tensor<4>>>>,
    ) -> Tensor<4> {
        let [b, _, h, w] = x.dims();
        // Fourier features of log-SNR: f = 2π·log_snr·Wᵀ, [cos f, sin f].
        let f =
            log_snr.reshape([b, 1]).matmul(self.timestep_embed.val().detach().swap_dims(0, 1)) * std::f64::consts::TAU;
        let temb = Tensor::cat(vec![f.clone().cos(), f.sin()], 1).reshape([b, TIME_FEATURES, 1, 1]).expand([
            b,
            TIME_FEATURES,
            h,
            w,
        ]);
        let mut inputs = vec![x];
        match (&self.class_embed, classes) {
            (Some(emb), Some(cls)) => {
                let e = emb.forward(cls.reshape([b, 1])).reshape([b, CLASS_FEATURES, 1, 1]);
                inputs.push(e.expand([b, CLASS_FEATURES, h, w]));
            }
            (Some(_), None) => panic!("the conditional U-Net needs class labels"),
            (None, _) => {}
        }
        inputs.push(temb);
        self.level(0, Tensor::cat(inputs, 1), rng, taps)
    }

    fn level(
        &self,
        k: usize,
        x: Tensor<4>,
        mut rng: Option<&mut Noise>,
        mut taps: Option<&mut Vec<Option<Tensor<4>>>>,
    ) -> Tensor<4> {
        let lvl = &self.levels[k];
        let mut x = if k > 0 { AvgPool2dConfig::new([2, 2]).init().forward(x) } else { x };
        for blk in &lvl.enc {
            x = blk.forward(x, rng.as_deref_mut());
        }
        if k + 1 < self.levels.len() {
            let inner = self.level(k + 1, x.clone(), rng.as_deref_mut(), taps.as_deref_mut());
            x = Tensor::cat(vec![inner, x], 1);
        }
        for blk in &lvl.dec {
            x = blk.forward(x, rng.as_deref_mut());
        }
        if k > 0 {
            if let Some(taps) = taps {
                taps[k - 1] = Some(x.clone());
            }
            x = upsample2x(x);
        }
        x
    }
}
