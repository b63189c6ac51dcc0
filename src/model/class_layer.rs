//! The paper's "additional layer" (`add_net`, method §4): a tiny per-class network that steers
//! the frozen unconditional U-Net's predicted velocity toward a class.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::Initializer;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::unet::NUM_CLASSES;
use super::{repeat_rows, tile_classes};

/// Length of the code between encoder and decoder: one 16×16 channel.
const CODE_LEN: usize = 16 * 16;

#[derive(Config, Debug, PartialEq)]
pub struct ClassLayerConfig {
    /// `false`: the paper's layer, `relu(decoder(…))` replaces `v` (so `v ≥ 0`).
    /// `true`: the variant `v + decoder(…)` without the final ReLU.
    #[config(default = false)]
    pub residual: bool,
}

#[derive(Module, Debug)]
pub struct ClassLayer {
    /// `Conv2d(3 → 1, 17×17)`: 32×32 → 16×16.
    pub encoder: Conv2d,
    /// One `Linear(256 → 256)` per class, stacked as `[256 (in), 10 (class), 256 (out)]` so
    /// that all ten are one `[256, 2560]` matrix.
    pub transform_weight: Param<Tensor<3>>,
    /// `[10, 256]`
    pub transform_bias: Param<Tensor<2>>,
    /// `ConvTranspose2d(1 → 3, 17×17)`: 16×16 → 32×32.
    pub decoder: ConvTranspose2d,
    #[module(skip)]
    pub residual: bool,
}

impl ClassLayerConfig {
    pub fn init(&self, device: &Device) -> ClassLayer {
        // PyTorch's nn.Linear initialisation: U(−1/√fan_in, 1/√fan_in).
        let bound = 1.0 / (CODE_LEN as f64).sqrt();
        let uniform = Initializer::Uniform { min: -bound, max: bound };
        ClassLayer {
            encoder: Conv2dConfig::new([3, 1], [17, 17]).init(device),
            transform_weight: uniform.init([CODE_LEN, NUM_CLASSES, CODE_LEN], device),
            transform_bias: uniform.init([NUM_CLASSES, CODE_LEN], device),
            decoder: ConvTranspose2dConfig::new([1, 3], [17, 17]).init(device),
            residual: self.residual,
        }
    }
}

impl ClassLayer {
    /// Steer each row `i` of `v` toward `classes[i]`.
    ///
    /// # Shapes
    /// `v`: `[B, 3, 32, 32]`, `classes`: `[B]` → `[B, 3, 32, 32]`
    pub fn forward(&self, v: Tensor<4>, classes: Tensor<1, Int>) -> Tensor<4> {
        let code = self.encode(v.clone());
        self.decode(code, classes, v)
    }

    /// Every row of `v` once per class of `classes` (the paper's `sample()`): row `r·k + j`
    /// is row `r` steered to `classes[j]`.
    ///
    /// # Shapes
    /// `v`: `[m, 3, 32, 32]`, `classes`: `k` labels → `[m·k, 3, 32, 32]`
    pub fn fan_out(&self, v: Tensor<4>, classes: &[usize]) -> Tensor<4> {
        let (m, k) = (v.dims()[0], classes.len());
        let code = repeat_rows(self.encode(v.clone()), k);
        let tiled: Vec<i64> = tile_classes(classes, m).into_iter().map(|c| c as i64).collect();
        let cls = Tensor::<1, Int>::from_data(TensorData::new(tiled, [m * k]), &code.device());
        self.decode(code, cls, repeat_rows(v, k))
    }

    /// `[B, 3, 32, 32] → [B, 256]`
    fn encode(&self, v: Tensor<4>) -> Tensor<2> {
        let [b, _, _, _] = v.dims();
        relu(self.encoder.forward(v)).reshape([b, CODE_LEN])
    }

    /// The per-class Linear without a loop over rows: one matmul of every row against all ten
    /// class weights (`[B, 256] × [256, 2560]`), then a gather of each row's own class. This is
    /// a dense GEMM, far faster on every backend than gathering a `[256, 256]` matrix per row.
    fn decode(&self, code: Tensor<2>, classes: Tensor<1, Int>, v: Tensor<4>) -> Tensor<4> {
        let [b, _] = code.dims();
        let all = code.matmul(self.transform_weight.val().reshape([CODE_LEN, NUM_CLASSES * CODE_LEN]));
        let idx = classes.clone().reshape([b, 1, 1]).expand([b, 1, CODE_LEN]);
        let y = all.reshape([b, NUM_CLASSES, CODE_LEN]).gather(1, idx).reshape([b, CODE_LEN]);
        let y = y + self.transform_bias.val().select(0, classes); // [B, 256]
        let out = self.decoder.forward(relu(y).reshape([b, 1, 16, 16]));
        if self.residual {
            v + out
        } else {
            relu(out)
        }
    }
}
