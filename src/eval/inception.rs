//! Inception-v3 (Szegedy et al. 2016) as torchvision builds it, for the standard Inception Score.
//! Its weights cannot be downloaded here: the user supplies the PyTorch file IS/FID tools use —
//! torchvision's `inception_v3_google-*.pth` (1000 classes) or pytorch-fid's
//! `pt_inception-2015-12-05-*.pth` (1008 classes, the TF graph's pooling) — and it is read by
//! burn-store's PyTorch reader. Field names are PyTorch's, so no key remapping is needed.
#![allow(non_snake_case)] // fields carry the checkpoint's names (`Conv2d_1a_3x3`, `Mixed_5b`)

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::module::{avg_pool2d, interpolate, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, InterpolateMode, InterpolateOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor};

mod load;

pub use load::{load_inception, InceptionError};

/// Input side the network was trained at.
pub const INPUT_SIZE: usize = 299;

#[derive(Config, Debug, PartialEq)]
pub struct InceptionConfig {
    /// 1000 (torchvision) or 1008 (pytorch-fid's port of the TF graph).
    #[config(default = 1008)]
    pub num_classes: usize,
    /// pytorch-fid's pooling: average pools exclude padding, and `Mixed_7c` max-pools.
    #[config(default = true)]
    pub fid_pooling: bool,
    /// Divides every channel count (1 = the real network; tests use small nets with the same
    /// structure and parameter names).
    #[config(default = 1)]
    pub channel_div: usize,
}

/// conv (no bias) → BatchNorm (eps 1e-3) → ReLU.
#[derive(Module, Debug)]
pub struct BasicConv2d {
    pub conv: Conv2d,
    pub bn: BatchNorm,
}

impl BasicConv2d {
    fn new(cin: usize, cout: usize, k: [usize; 2], stride: usize, pad: [usize; 2], device: &Device) -> Self {
        let conv = Conv2dConfig::new([cin, cout], k)
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(pad[0], pad[1], pad[0], pad[1]))
            .with_bias(false)
            .init(device);
        BasicConv2d { conv, bn: BatchNormConfig::new(cout).with_epsilon(1e-3).init(device) }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        relu(self.bn.forward(self.conv.forward(x)))
    }
}

/// Builds `BasicConv2d`s with channel counts divided by `div` (inputs of 3 stay 3).
struct Maker<'a> {
    div: usize,
    device: &'a Device,
}

impl Maker<'_> {
    fn ch(&self, c: usize) -> usize {
        if c == 3 {
            3
        } else {
            c / self.div
        }
    }
    fn k(&self, cin: usize, cout: usize, k: usize, stride: usize, pad: usize) -> BasicConv2d {
        BasicConv2d::new(self.ch(cin), self.ch(cout), [k, k], stride, [pad, pad], self.device)
    }
    /// A 1×7 (`wide`) or 7×1 conv, or 1×3 / 3×1 for n = 3, padded to keep the size.
    fn strip(&self, cin: usize, cout: usize, n: usize, wide: bool) -> BasicConv2d {
        let (k, p) = if wide { ([1, n], [0, n / 2]) } else { ([n, 1], [n / 2, 0]) };
        BasicConv2d::new(self.ch(cin), self.ch(cout), k, 1, p, self.device)
    }
}

fn avg3(x: Tensor<4>, include_pad: bool) -> Tensor<4> {
    let opts = AvgPoolOptions::new([3, 3]).with_stride([1, 1]).with_padding([1, 1]);
    avg_pool2d(x, AvgPoolOptions { count_include_pad: include_pad, ..opts })
}

fn max3(x: Tensor<4>, stride: usize, pad: usize) -> Tensor<4> {
    max_pool2d(x, MaxPoolOptions::new([3, 3]).with_stride([stride, stride]).with_padding([pad, pad]))
}

#[derive(Module, Debug)]
pub struct InceptionA {
    pub branch1x1: BasicConv2d,
    pub branch5x5_1: BasicConv2d,
    pub branch5x5_2: BasicConv2d,
    pub branch3x3dbl_1: BasicConv2d,
    pub branch3x3dbl_2: BasicConv2d,
    pub branch3x3dbl_3: BasicConv2d,
    pub branch_pool: BasicConv2d,
    pub pool_include_pad: bool,
}

impl InceptionA {
    fn new(m: &Maker, cin: usize, pool: usize, fid: bool) -> Self {
        InceptionA {
            branch1x1: m.k(cin, 64, 1, 1, 0),
            branch5x5_1: m.k(cin, 48, 1, 1, 0),
            branch5x5_2: m.k(48, 64, 5, 1, 2),
            branch3x3dbl_1: m.k(cin, 64, 1, 1, 0),
            branch3x3dbl_2: m.k(64, 96, 3, 1, 1),
            branch3x3dbl_3: m.k(96, 96, 3, 1, 1),
            branch_pool: m.k(cin, pool, 1, 1, 0),
            pool_include_pad: !fid,
        }
    }
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let b5 = self.branch5x5_2.forward(self.branch5x5_1.forward(x.clone()));
        let b3 = self.branch3x3dbl_3.forward(self.branch3x3dbl_2.forward(self.branch3x3dbl_1.forward(x.clone())));
        let bp = self.branch_pool.forward(avg3(x, self.pool_include_pad));
        Tensor::cat(vec![b1, b5, b3, bp], 1)
    }
}

#[derive(Module, Debug)]
pub struct InceptionB {
    pub branch3x3: BasicConv2d,
    pub branch3x3dbl_1: BasicConv2d,
    pub branch3x3dbl_2: BasicConv2d,
    pub branch3x3dbl_3: BasicConv2d,
}

impl InceptionB {
    fn new(m: &Maker, cin: usize) -> Self {
        InceptionB {
            branch3x3: m.k(cin, 384, 3, 2, 0),
            branch3x3dbl_1: m.k(cin, 64, 1, 1, 0),
            branch3x3dbl_2: m.k(64, 96, 3, 1, 1),
            branch3x3dbl_3: m.k(96, 96, 3, 2, 0),
        }
    }
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b3 = self.branch3x3.forward(x.clone());
        let bd = self.branch3x3dbl_3.forward(self.branch3x3dbl_2.forward(self.branch3x3dbl_1.forward(x.clone())));
        Tensor::cat(vec![b3, bd, max3(x, 2, 0)], 1)
    }
}

#[derive(Module, Debug)]
pub struct InceptionC {
    pub branch1x1: BasicConv2d,
    pub branch7x7_1: BasicConv2d,
    pub branch7x7_2: BasicConv2d,
    pub branch7x7_3: BasicConv2d,
    pub branch7x7dbl_1: BasicConv2d,
    pub branch7x7dbl_2: BasicConv2d,
    pub branch7x7dbl_3: BasicConv2d,
    pub branch7x7dbl_4: BasicConv2d,
    pub branch7x7dbl_5: BasicConv2d,
    pub branch_pool: BasicConv2d,
    pub pool_include_pad: bool,
}

impl InceptionC {
    fn new(m: &Maker, cin: usize, c7: usize, fid: bool) -> Self {
        InceptionC {
            branch1x1: m.k(cin, 192, 1, 1, 0),
            branch7x7_1: m.k(cin, c7, 1, 1, 0),
            branch7x7_2: m.strip(c7, c7, 7, true),
            branch7x7_3: m.strip(c7, 192, 7, false),
            branch7x7dbl_1: m.k(cin, c7, 1, 1, 0),
            branch7x7dbl_2: m.strip(c7, c7, 7, false),
            branch7x7dbl_3: m.strip(c7, c7, 7, true),
            branch7x7dbl_4: m.strip(c7, c7, 7, false),
            branch7x7dbl_5: m.strip(c7, 192, 7, true),
            branch_pool: m.k(cin, 192, 1, 1, 0),
            pool_include_pad: !fid,
        }
    }
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let b7 = self.branch7x7_3.forward(self.branch7x7_2.forward(self.branch7x7_1.forward(x.clone())));
        let mut bd = self.branch7x7dbl_1.forward(x.clone());
        for c in [&self.branch7x7dbl_2, &self.branch7x7dbl_3, &self.branch7x7dbl_4, &self.branch7x7dbl_5] {
            bd = c.forward(bd);
        }
        let bp = self.branch_pool.forward(avg3(x, self.pool_include_pad));
        Tensor::cat(vec![b1, b7, bd, bp], 1)
    }
}

#[derive(Module, Debug)]
pub struct InceptionD {
    pub branch3x3_1: BasicConv2d,
    pub branch3x3_2: BasicConv2d,
    pub branch7x7x3_1: BasicConv2d,
    pub branch7x7x3_2: BasicConv2d,
    pub branch7x7x3_3: BasicConv2d,
    pub branch7x7x3_4: BasicConv2d,
}

impl InceptionD {
    fn new(m: &Maker, cin: usize) -> Self {
        InceptionD {
            branch3x3_1: m.k(cin, 192, 1, 1, 0),
            branch3x3_2: m.k(192, 320, 3, 2, 0),
            branch7x7x3_1: m.k(cin, 192, 1, 1, 0),
            branch7x7x3_2: m.strip(192, 192, 7, true),
            branch7x7x3_3: m.strip(192, 192, 7, false),
            branch7x7x3_4: m.k(192, 192, 3, 2, 0),
        }
    }
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b3 = self.branch3x3_2.forward(self.branch3x3_1.forward(x.clone()));
        let mut b7 = self.branch7x7x3_1.forward(x.clone());
        for c in [&self.branch7x7x3_2, &self.branch7x7x3_3, &self.branch7x7x3_4] {
            b7 = c.forward(b7);
        }
        Tensor::cat(vec![b3, b7, max3(x, 2, 0)], 1)
    }
}

/// How an `InceptionE` block pools before `branch_pool`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EPool {
    /// torchvision: 3×3 average counting the padding.
    Avg,
    /// pytorch-fid `Mixed_7b`: 3×3 average without the padding.
    AvgNoPad,
    /// pytorch-fid `Mixed_7c`: 3×3 max.
    Max,
}

#[derive(Module, Debug)]
pub struct InceptionE {
    pub branch1x1: BasicConv2d,
    pub branch3x3_1: BasicConv2d,
    pub branch3x3_2a: BasicConv2d,
    pub branch3x3_2b: BasicConv2d,
    pub branch3x3dbl_1: BasicConv2d,
    pub branch3x3dbl_2: BasicConv2d,
    pub branch3x3dbl_3a: BasicConv2d,
    pub branch3x3dbl_3b: BasicConv2d,
    pub branch_pool: BasicConv2d,
    #[module(skip)]
    pub pool: EPool,
}

impl InceptionE {
    fn new(m: &Maker, cin: usize, pool: EPool) -> Self {
        InceptionE {
            branch1x1: m.k(cin, 320, 1, 1, 0),
            branch3x3_1: m.k(cin, 384, 1, 1, 0),
            branch3x3_2a: m.strip(384, 384, 3, true),
            branch3x3_2b: m.strip(384, 384, 3, false),
            branch3x3dbl_1: m.k(cin, 448, 1, 1, 0),
            branch3x3dbl_2: m.k(448, 384, 3, 1, 1),
            branch3x3dbl_3a: m.strip(384, 384, 3, true),
            branch3x3dbl_3b: m.strip(384, 384, 3, false),
            branch_pool: m.k(cin, 192, 1, 1, 0),
            pool,
        }
    }
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let b1 = self.branch1x1.forward(x.clone());
        let s = self.branch3x3_1.forward(x.clone());
        let b3 = Tensor::cat(vec![self.branch3x3_2a.forward(s.clone()), self.branch3x3_2b.forward(s)], 1);
        let d = self.branch3x3dbl_2.forward(self.branch3x3dbl_1.forward(x.clone()));
        let bd = Tensor::cat(vec![self.branch3x3dbl_3a.forward(d.clone()), self.branch3x3dbl_3b.forward(d)], 1);
        let pooled = match self.pool {
            EPool::Avg => avg3(x, true),
            EPool::AvgNoPad => avg3(x, false),
            EPool::Max => max3(x, 1, 1),
        };
        Tensor::cat(vec![b1, b3, bd, self.branch_pool.forward(pooled)], 1)
    }
}

/// Inception-v3 without the auxiliary classifier (unused at inference; its weights are skipped).
#[derive(Module, Debug)]
pub struct InceptionV3 {
    pub Conv2d_1a_3x3: BasicConv2d,
    pub Conv2d_2a_3x3: BasicConv2d,
    pub Conv2d_2b_3x3: BasicConv2d,
    pub Conv2d_3b_1x1: BasicConv2d,
    pub Conv2d_4a_3x3: BasicConv2d,
    pub Mixed_5b: InceptionA,
    pub Mixed_5c: InceptionA,
    pub Mixed_5d: InceptionA,
    pub Mixed_6a: InceptionB,
    pub Mixed_6b: InceptionC,
    pub Mixed_6c: InceptionC,
    pub Mixed_6d: InceptionC,
    pub Mixed_6e: InceptionC,
    pub Mixed_7a: InceptionD,
    pub Mixed_7b: InceptionE,
    pub Mixed_7c: InceptionE,
    pub fc: Linear,
}

impl InceptionConfig {
    pub fn init(&self, device: &Device) -> InceptionV3 {
        assert!(
            [1, 2, 4, 8, 16].contains(&self.channel_div),
            "channel_div must be 1, 2, 4, 8 or 16 (every Inception width divides by 16)"
        );
        let m = Maker { div: self.channel_div, device };
        let fid = self.fid_pooling;
        let (e1, e2) = if fid { (EPool::AvgNoPad, EPool::Max) } else { (EPool::Avg, EPool::Avg) };
        InceptionV3 {
            Conv2d_1a_3x3: m.k(3, 32, 3, 2, 0),
            Conv2d_2a_3x3: m.k(32, 32, 3, 1, 0),
            Conv2d_2b_3x3: m.k(32, 64, 3, 1, 1),
            Conv2d_3b_1x1: m.k(64, 80, 1, 1, 0),
            Conv2d_4a_3x3: m.k(80, 192, 3, 1, 0),
            Mixed_5b: InceptionA::new(&m, 192, 32, fid),
            Mixed_5c: InceptionA::new(&m, 256, 64, fid),
            Mixed_5d: InceptionA::new(&m, 288, 64, fid),
            Mixed_6a: InceptionB::new(&m, 288),
            Mixed_6b: InceptionC::new(&m, 768, 128, fid),
            Mixed_6c: InceptionC::new(&m, 768, 160, fid),
            Mixed_6d: InceptionC::new(&m, 768, 160, fid),
            Mixed_6e: InceptionC::new(&m, 768, 192, fid),
            Mixed_7a: InceptionD::new(&m, 768),
            Mixed_7b: InceptionE::new(&m, 1280, e1),
            Mixed_7c: InceptionE::new(&m, 2048, e2),
            fc: LinearConfig::new(2048 / self.channel_div, self.num_classes).init(device),
        }
    }
}

impl InceptionV3 {
    /// Pooled 2048-d features of images `[B, 3, H, W]` in `[−1, 1]` (the range both
    /// checkpoints expect after their own input transforms), resized bilinearly to 299×299.
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        let opts = InterpolateOptions::new(InterpolateMode::Bilinear)
            .with_align_corners(false)
            .with_output_size([INPUT_SIZE, INPUT_SIZE]);
        let mut x = interpolate(x, opts);
        x = self.Conv2d_2b_3x3.forward(self.Conv2d_2a_3x3.forward(self.Conv2d_1a_3x3.forward(x)));
        x = max3(x, 2, 0);
        x = self.Conv2d_4a_3x3.forward(self.Conv2d_3b_1x1.forward(x));
        x = max3(x, 2, 0);
        x = self.Mixed_5d.forward(self.Mixed_5c.forward(self.Mixed_5b.forward(x)));
        x = self.Mixed_6a.forward(x);
        for block in [&self.Mixed_6b, &self.Mixed_6c, &self.Mixed_6d, &self.Mixed_6e] {
            x = block.forward(x);
        }
        x = self.Mixed_7c.forward(self.Mixed_7b.forward(self.Mixed_7a.forward(x)));
        let [b, c, _, _] = x.dims();
        x.mean_dim(3).mean_dim(2).reshape([b, c])
    }

    /// Class logits `[B, num_classes]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.fc.forward(self.features(x))
    }
}
