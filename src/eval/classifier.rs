//! A small CIFAR-10 classifier trained by the crate: class accuracy of generated images, a
//! classifier-based Inception Score and the features for a Fréchet distance.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::MaxPool2dConfig;
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};

#[derive(Config, Debug, PartialEq)]
pub struct ClassifierConfig {
    /// Channels of the first stage (doubled at each of the three stages).
    #[config(default = 32)]
    pub width: usize,
    /// Size of the feature layer used for the Fréchet distance.
    #[config(default = 128)]
    pub features: usize,
}

/// Three stages of two 3×3 convs + max-pool (32 → 16 → 8 → 4), a feature layer, logits.
#[derive(Module, Debug)]
pub struct Classifier {
    pub convs: Vec<Conv2d>,
    pub feature: Linear,
    pub logits: Linear,
}

impl ClassifierConfig {
    pub fn init(&self, device: &Device) -> Classifier {
        let w = self.width;
        let chans = [3, w, w, 2 * w, 2 * w, 4 * w, 4 * w];
        let convs = chans
            .windows(2)
            .map(|c| {
                Conv2dConfig::new([c[0], c[1]], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(device)
            })
            .collect();
        Classifier {
            convs,
            feature: LinearConfig::new(4 * w * 4 * 4, self.features).init(device),
            logits: LinearConfig::new(self.features, 10).init(device),
        }
    }
}

impl Classifier {
    /// Features `[B, features]` of images `[B, 3, 32, 32]` in `[−1, 1]`.
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        let mut x = x;
        let pool = MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init();
        for (i, conv) in self.convs.iter().enumerate() {
            x = relu(conv.forward(x));
            if i % 2 == 1 {
                x = pool.forward(x);
            }
        }
        let b = x.dims()[0];
        let n = x.shape().num_elements() / b;
        relu(self.feature.forward(x.reshape([b, n])))
    }

    /// Class logits `[B, 10]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.logits.forward(self.features(x))
    }
}
