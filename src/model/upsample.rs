//! Bilinear ×2 upsampling (`align_corners = false`, PyTorch's `nn.Upsample` default) built from
//! slices, concatenation and an interleave, so that every backend can differentiate it: Burn
//! 0.22's CubeCL backends (wgpu, CUDA) have no gradient for `interpolate` in bilinear mode.
//!
//! Bilinear ×2 is separable. Along one axis of length `n`, output pixel `2i` sits a quarter
//! pixel before input pixel `i` and `2i + 1` a quarter after it:
//!
//! ```text
//! out[2i]     = ¾·x[i] + ¼·x[max(i − 1, 0)]
//! out[2i + 1] = ¾·x[i] + ¼·x[min(i + 1, n − 1)]
//! ```
//!
//! The forward agrees with Burn's `interpolate` up to float rounding (tested). Inference (no
//! autodiff) keeps Burn's `interpolate`: one kernel instead of a dozen small ops, which matters
//! for the 1- and 10-row batches of v2's first steps.

use burn::nn::interpolate::{Interpolate2dConfig, InterpolateMode};
use burn::tensor::Tensor;

/// `x` doubled along `dim` (2 = height, 3 = width).
fn double(x: Tensor<4>, dim: usize) -> Tensor<4> {
    let n = x.dims()[dim];
    if n == 1 {
        return Tensor::cat(vec![x.clone(), x], dim);
    }
    let prev = Tensor::cat(vec![x.clone().narrow(dim, 0, 1), x.clone().narrow(dim, 0, n - 1)], dim);
    let next = Tensor::cat(vec![x.clone().narrow(dim, 1, n - 1), x.clone().narrow(dim, n - 1, 1)], dim);
    let even = x.clone() * 0.75 + prev * 0.25;
    let odd = x * 0.75 + next * 0.25;
    // Interleave: stack after `dim`, then merge the pair into `dim`.
    let mut dims = even.dims();
    dims[dim] *= 2;
    Tensor::stack::<5>(vec![even, odd], dim + 1).reshape(dims)
}

/// Bilinear ×2 upsampling: the differentiable composition when `x` tracks gradients, Burn's
/// kernel otherwise.
///
/// # Shapes
/// `[B, C, H, W] → [B, C, 2H, 2W]` (`H, W ≥ 1`)
pub fn upsample2x(x: Tensor<4>) -> Tensor<4> {
    if x.is_autodiff() {
        separable(x)
    } else {
        interpolate(x)
    }
}

/// Bilinear ×2 from slices, concatenation and an interleave (a gradient on every backend).
pub fn separable(x: Tensor<4>) -> Tensor<4> {
    double(double(x, 3), 2)
}

/// Burn's bilinear `interpolate` (PyTorch's `align_corners = false`).
fn interpolate(x: Tensor<4>) -> Tensor<4> {
    Interpolate2dConfig::new()
        .with_scale_factor(Some([2.0, 2.0]))
        .with_mode(InterpolateMode::Linear)
        .with_align_corners(false)
        .init()
        .forward(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution};

    #[test]
    fn forward_matches_interpolate() {
        let device = Device::flex();
        for (h, w) in [(1, 1), (1, 3), (2, 2), (4, 8), (8, 8), (16, 16)] {
            let x = Tensor::<4>::random([2, 3, h, w], Distribution::Normal(0.0, 1.0), &device);
            let diff = (separable(x.clone()) - interpolate(x)).abs().max().into_scalar::<f32>();
            assert!(diff < 1e-5, "{h}×{w}: max |Δ| {diff}");
        }
    }

    #[test]
    fn gradient_matches_interpolate() {
        let device = Device::flex().autodiff();
        let x = Tensor::<4>::random([2, 3, 8, 8], Distribution::Normal(0.0, 1.0), &device);
        let w = Tensor::<4>::random([2, 3, 16, 16], Distribution::Normal(0.0, 1.0), &device);
        let grad = |f: fn(Tensor<4>) -> Tensor<4>| {
            let x = x.clone().require_grad();
            let g = (f(x.clone()) * w.clone()).sum().backward();
            x.grad(&g).unwrap()
        };
        let diff = (grad(separable) - grad(interpolate)).abs().max().into_scalar::<f32>();
        assert!(diff < 1e-5, "max |Δ grad| {diff}");
    }
}
