//! How the U-Net's convolutions run while training.
//!
//! Burn computes a convolution's weight gradient as another convolution whose output is only the
//! kernel's k×k positions. For a 1×1 convolution (the attention projections and the widening
//! skips) that is a gemm with N = 1, which runs in the CPU gemm's narrowest edge kernel. Written
//! as `weight [C_out, C_in] × x [B, C_in, H·W]`, the same 1×1 convolution differentiates into
//! well-shaped gemms, faster forward + backward on Flex. The same rewrite of a 3×3 convolution
//! (im2col from nine shifted slices) is *slower* — its slices and stack cost more than the
//! narrow gemm (docs/results.md has the figures) — so 3×3 convolutions keep `Conv2d::forward` in
//! training. Inference on the CPU runs the 3×3 convolutions as nine shifted GEMMs instead of
//! Flex's im2col ([`conv_taps`](super::conv_taps)); every path gives the same numbers up to
//! rounding (tested).

use std::sync::atomic::{AtomicBool, Ordering};

use burn::nn::conv::Conv2d;
use burn::nn::PaddingConfig2d;
use burn::tensor::Tensor;

static MATMUL_1X1: AtomicBool = AtomicBool::new(true);

/// Whether training runs 1×1 convolutions as matmuls (default `true`). Process-wide, so that
/// `vdiff train bench` can time both paths side by side on the same network.
pub fn set_matmul_1x1(on: bool) {
    MATMUL_1X1.store(on, Ordering::Relaxed);
}

/// A 1×1, stride-1, unpadded convolution as a batched matmul.
///
/// # Shapes
/// - `x`: `[B, C_in, H, W]` → `[B, C_out, H, W]`
pub fn conv1x1_matmul(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    let weight = conv.weight.val();
    let [co, ci, kh, kw] = weight.dims();
    let unpadded = matches!(conv.padding, PaddingConfig2d::Valid | PaddingConfig2d::Explicit(0, 0, 0, 0));
    assert!(
        (ci, kh, kw) == (c, 1, 1) && unpadded && conv.stride == [1, 1] && conv.groups == 1,
        "conv1x1_matmul takes unpadded stride-1 1×1 convolutions"
    );
    let out = weight.reshape([1, co, c]).matmul(x.reshape([b, c, h * w])).reshape([b, co, h, w]);
    match &conv.bias {
        Some(bias) => out + bias.val().reshape([1, co, 1, 1]),
        None => out,
    }
}

/// The networks' convolution: a 1×1 convolution on a tensor that carries gradients goes through
/// [`conv1x1_matmul`], a 3×3 one on a CPU tensor without gradients through
/// [`conv_taps::conv3x3`](super::conv_taps::conv3x3), everything else through `Conv2d::forward`.
pub fn conv_forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    if conv.kernel_size == [1, 1] && x.is_autodiff() && MATMUL_1X1.load(Ordering::Relaxed) {
        conv1x1_matmul(conv, x)
    } else if on_cpu_for_inference(&x) && super::conv_taps::is_conv3x3(conv) {
        super::conv_taps::conv3x3(conv, x)
    } else {
        conv.forward(x)
    }
}

#[cfg(any(not(target_arch = "wasm32"), feature = "flex"))]
fn on_cpu_for_inference(x: &Tensor<4>) -> bool {
    !x.is_autodiff() && x.device() == burn::tensor::Device::flex()
}

#[cfg(not(any(not(target_arch = "wasm32"), feature = "flex")))]
fn on_cpu_for_inference(_: &Tensor<4>) -> bool {
    false
}
