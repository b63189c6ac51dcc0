//! 3×3 convolutions on the CPU over shifted views of one padded copy of the input.
//!
//! Flex computes a convolution by im2col: for every output pixel it copies the 3×3×C input patch
//! into a tile, nine times the input's size in copies, and converts the input to channels-last
//! first. For a stride-1, padding-1 3×3 convolution none of that is needed. Lay the batch out
//! channel by channel, every image's rows one after another, with one shared zero row between
//! images and one shared zero column between rows (the right border of a row is the left border of
//! the next). In that flat layout the input under tap `(dy, dx)` of output position `j` is at
//! `j + dy·(W + 1) + dx`, for every pixel of every image at once:
//!
//! `out[o, j] = Σ_taps Σ_c weight[o, c, dy, dx] · padded[c, j + dy·(W + 1) + dx]`
//!
//! The only copy is the padding on the way in.
//!
//! Two kernels compute the sum. Natively it is nine GEMMs (`[C_out × C_in] · [C_in × n]`, the
//! same buffer read at nine offsets) in the `gemm` crate, whose AVX kernels are hard to beat; they
//! also compute the outputs at padding positions, `(H + 1)(W + 1) / (H·W)` of the useful work,
//! which a last pass drops while adding the bias. In WebAssembly, `gemm`'s 12 × 4 SIMD tile keeps
//! more vectors live than V8 has registers for; there [`direct`] runs all nine taps and every
//! channel in one pass over a tile of 5 output channels × 8 positions of one image row, whose 10
//! accumulators, 2 input vectors and a weight fit V8's registers (a tile of 6 × 8 does not), and it
//! computes real pixels only, straight into the output. Built with the `relaxed-simd` feature its
//! multiply and add are one `f32x4.relaxed_madd`, which the engine fuses where the machine has FMA
//! (the page loads that module only where relaxed SIMD validates); the sums then round once
//! instead of twice.

use burn::nn::conv::Conv2d;
use burn::nn::PaddingConfig2d;
use burn::tensor::{Tensor, TensorData};

/// Whether [`conv3x3`] computes this convolution: 3×3, stride 1, padding 1, no dilation or groups.
pub fn is_conv3x3(conv: &Conv2d) -> bool {
    conv.kernel_size == [3, 3]
        && conv.stride == [1, 1]
        && conv.dilation == [1, 1]
        && conv.groups == 1
        && matches!(conv.padding, PaddingConfig2d::Explicit(1, 1, 1, 1) | PaddingConfig2d::Same)
}

/// `conv.forward(x)` for a convolution [`is_conv3x3`] accepts, on tensors without gradients.
///
/// # Shapes
/// `x`: `[B, C_in, H, W]` → `[B, C_out, H, W]`
pub fn conv3x3(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let device = x.device();
    let shape = x.dims();
    let weight = conv.weight.val();
    let c_out = weight.dims()[0];
    let input = x.into_data().try_into_vec::<f32>().expect("f32 activations");
    let weight = weight.into_data().try_into_vec::<f32>().expect("f32 weights");
    let bias = conv.bias.as_ref().map(|b| b.val().into_data().try_into_vec::<f32>().expect("f32 bias"));
    let out = conv3x3_slices(&input, shape, &weight, c_out, bias.as_deref(), Kernel::THIS_TARGET);
    let [b, _, h, w] = shape;
    Tensor::from_data(TensorData::new(out, [b, c_out, h, w]), &device)
}

/// How [`conv3x3_slices`] sums the taps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// Nine GEMMs in the `gemm` crate.
    Gemm,
    /// [`direct`]'s register tiles.
    Direct,
}

impl Kernel {
    /// The faster one on this target.
    pub const THIS_TARGET: Kernel = if cfg!(target_arch = "wasm32") { Kernel::Direct } else { Kernel::Gemm };
}

/// Output positions per tile of [`direct`].
const TILE_J: usize = 8;
/// Output channels per tile of [`direct`].
const TILE_O: usize = 5;

/// The convolution on plain slices: `input` `[B, C_in, H, W]`, `weight` `[C_out, C_in, 3, 3]`,
/// `bias` `[C_out]` → `[B, C_out, H, W]`, all row-major.
pub fn conv3x3_slices(
    input: &[f32],
    [b, c_in, h, w]: [usize; 4],
    weight: &[f32],
    c_out: usize,
    bias: Option<&[f32]>,
    kernel: Kernel,
) -> Vec<f32> {
    assert_eq!(input.len(), b * c_in * h * w, "input of shape {:?}", [b, c_in, h, w]);
    assert_eq!(weight.len(), c_out * c_in * 9, "3×3 weight for {c_in} → {c_out} channels");
    if b * h * w == 0 {
        return Vec::new();
    }
    let offsets = tap_offsets(w);
    // One zero row above every image and below the last; the `n` output positions start at
    // each image's zero row, so the last tap of the last one reads two rows and two columns
    // further (and a tile of `direct` up to `TILE_J` positions more).
    let n = position(b, 0, h, w);
    let plane = n + offsets[8] + TILE_J;
    let mut padded = vec![0f32; c_in * plane];
    for (c, dst) in padded.chunks_exact_mut(plane).enumerate() {
        for i in 0..b {
            let src = &input[(i * c_in + c) * h * w..][..h * w];
            for (y, line) in src.chunks_exact(w).enumerate() {
                // A pixel is where its window's centre tap reads.
                let at = position(i, y, h, w) + offsets[4];
                dst[at..at + w].copy_from_slice(line);
            }
        }
    }
    match kernel {
        Kernel::Gemm => {
            let full = nine_gemms(&padded, plane, c_in, &offsets, weight, c_out, n);
            let mut out = vec![0f32; b * c_out * h * w];
            for (k, plane_out) in out.chunks_exact_mut(h * w).enumerate() {
                let (i, o) = (k / c_out, k % c_out);
                let shift = bias.map_or(0.0, |b| b[o]);
                for (y, line) in plane_out.chunks_exact_mut(w).enumerate() {
                    let src = &full[o * n + position(i, y, h, w)..][..w];
                    for (d, s) in line.iter_mut().zip(src) {
                        *d = s + shift;
                    }
                }
            }
            out
        }
        Kernel::Direct => direct(&padded, plane, weight, bias, [b, c_in, h, w], c_out),
    }
}

/// The output position of the first pixel of row `y` of image `i` in the padded layout: where
/// the top-left tap of its 3×3 window reads.
fn position(i: usize, y: usize, h: usize, w: usize) -> usize {
    (i * (h + 1) + y) * (w + 1)
}

/// Where tap `t = 3·dy + dx` reads, relative to the output position.
fn tap_offsets(w: usize) -> [usize; 9] {
    std::array::from_fn(|t| (t / 3) * (w + 1) + t % 3)
}

/// `out[o, j] = Σ_t weight[o, ·, t] · padded[·, j + offsets[t]]` as nine GEMMs → `[C_out, n]`,
/// over ranges of positions in parallel.
fn nine_gemms(
    padded: &[f32],
    plane: usize,
    c_in: usize,
    offsets: &[usize; 9],
    weight: &[f32],
    c_out: usize,
    n: usize,
) -> Vec<f32> {
    assert!(offsets[8] + n <= plane && padded.len() == c_in * plane && weight.len() == c_out * c_in * 9);
    let mut full = vec![0f32; c_out * n];
    let dst = SharedOut(full.as_mut_ptr());
    for_position_ranges(n, |from, to| {
        for (tap, &offset) in offsets.iter().enumerate() {
            // SAFETY (asserted above): the destination is columns `from..to` of `full`
            // (`c_out × n`, row stride n), which no other range writes; the weight view
            // `c_out × c_in` with strides (9·c_in, 9) starting at `tap` stays inside `weight`;
            // the right-hand side `c_in × (to − from)` with row stride `plane` starts at
            // `offset + from`, and `offset + to ≤ offsets[8] + n ≤ plane`.
            unsafe {
                gemm::gemm(
                    c_out,
                    to - from,
                    c_in,
                    dst.at(from),
                    1,
                    n as isize,
                    tap > 0,
                    weight.as_ptr().add(tap),
                    9,
                    (9 * c_in) as isize,
                    padded.as_ptr().add(offset + from),
                    1,
                    plane as isize,
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        }
    });
    full
}

/// The output buffer of [`nine_gemms`], which its threads write in disjoint column ranges.
struct SharedOut(*mut f32);
// SAFETY: each thread writes only its own columns (`nine_gemms`).
unsafe impl Sync for SharedOut {}
impl SharedOut {
    fn at(&self, column: usize) -> *mut f32 {
        self.0.wrapping_add(column)
    }
}

/// Positions per range of [`nine_gemms`]: fixed, so that every position's sum is computed by the
/// same GEMM shape, in the same order, whatever the number of threads.
const RANGE: usize = 1024;

/// `f(from, to)` over `0..n` in ranges of [`RANGE`], on Flex's threads.
#[cfg(not(target_arch = "wasm32"))]
fn for_position_ranges(n: usize, f: impl Fn(usize, usize) + Sync) {
    use rayon::prelude::*;
    (0..n.div_ceil(RANGE)).into_par_iter().for_each(|k| f(k * RANGE, ((k + 1) * RANGE).min(n)));
}

#[cfg(target_arch = "wasm32")]
fn for_position_ranges(n: usize, f: impl Fn(usize, usize) + Sync) {
    for k in 0..n.div_ceil(RANGE) {
        f(k * RANGE, ((k + 1) * RANGE).min(n));
    }
}

/// The same sum, one register tile of [`TILE_O`] output channels × [`TILE_J`] positions of an
/// image row at a time over every channel and tap, started from the bias and written straight
/// into the `[B, C_out, H, W]` output: only the positions of real pixels are computed (all of
/// them when `W` is a multiple of [`TILE_J`]; a row's last partial tile is computed whole and
/// stored in part).
fn direct(
    padded: &[f32],
    plane: usize,
    weight: &[f32],
    bias: Option<&[f32]>,
    shape: [usize; 4],
    c_out: usize,
) -> Vec<f32> {
    // The U-Net's widths get their own copy of the loops, in which the taps' offsets are
    // constants that the loads carry (no address arithmetic per load).
    match shape[3] {
        32 => direct_rows::<32>(padded, plane, weight, bias, shape, c_out),
        16 => direct_rows::<16>(padded, plane, weight, bias, shape, c_out),
        8 => direct_rows::<8>(padded, plane, weight, bias, shape, c_out),
        _ => direct_rows::<0>(padded, plane, weight, bias, shape, c_out),
    }
}

/// [`direct`] for images `W` wide (`0`: any width, read from `shape`).
#[cfg_attr(all(target_arch = "wasm32", feature = "relaxed-simd"), target_feature(enable = "relaxed-simd"))]
fn direct_rows<const W: usize>(
    padded: &[f32],
    plane: usize,
    weight: &[f32],
    bias: Option<&[f32]>,
    [b, c_in, h, w]: [usize; 4],
    c_out: usize,
) -> Vec<f32> {
    let w = if W > 0 { W } else { w };
    let offsets = tap_offsets(w);
    assert_tiles_fit(padded, plane, &offsets, weight, [b, c_in, h, w], c_out);
    let packed = pack_weights(weight, c_in, c_out);
    let mut out = vec![0f32; b * c_out * h * w];
    for ob in 0..c_out.div_ceil(TILE_O) {
        let wb = &packed[ob * c_in * 9 * TILE_O..][..c_in * 9 * TILE_O];
        let start = bias_lanes(bias, ob);
        for i in 0..b {
            for y in 0..h {
                for x in (0..w).step_by(TILE_J) {
                    let j = position(i, y, h, w) + x;
                    let mut acc = start.map(|s| [s; TILE_J / 4]);
                    for c in 0..c_in {
                        // SAFETY: the tile reads `padded[c·plane + j + offsets[t] + 0 … TILE_J)`,
                        // inside the plane because `j ≤ last` and `last + offsets[8] + TILE_J ≤
                        // plane` ([`assert_tiles_fit`]), and `wb[(c·9 + t)·TILE_O + o]`, inside
                        // the block's weights.
                        unsafe {
                            let xp = padded.as_ptr().add(c * plane + j);
                            let wc = wb.as_ptr().add(c * 9 * TILE_O);
                            for (t, &offset) in offsets.iter().enumerate() {
                                let xs: [f4::F4; TILE_J / 4] =
                                    std::array::from_fn(|v| f4::load(xp.add(offset + 4 * v)));
                                for (o, acc_o) in acc.iter_mut().enumerate() {
                                    let wt = f4::load_splat(wc.add(t * TILE_O + o));
                                    for (a, xv) in acc_o.iter_mut().zip(&xs) {
                                        *a = f4::mul_add(wt, *xv, *a);
                                    }
                                }
                            }
                        }
                    }
                    let at = ((i * c_out + ob * TILE_O) * h + y) * w + x;
                    store_tile(&mut out, at, h * w, &acc[..TILE_O.min(c_out - ob * TILE_O)], TILE_J.min(w - x));
                }
            }
        }
    }
    out
}

/// The bounds [`direct_rows`]'s unchecked reads rely on: the last tile starts at most at the last
/// pixel's position (`last`) and reads `TILE_J` positions from there at every offset.
fn assert_tiles_fit(
    padded: &[f32],
    plane: usize,
    offsets: &[usize; 9],
    weight: &[f32],
    [b, c_in, h, w]: [usize; 4],
    c_out: usize,
) {
    let last = position(b - 1, h - 1, h, w) + w - 1;
    assert!(last + offsets[8] + TILE_J <= plane && padded.len() == c_in * plane);
    assert!(offsets.windows(2).all(|p| p[0] <= p[1]) && weight.len() == c_out * c_in * 9);
}

/// `[C_out, C_in, 3, 3]` → `[C_out / TILE_O, C_in, 3, 3, TILE_O]` (missing channels zero): a
/// tile's weights in the order [`direct_rows`] reads them.
fn pack_weights(weight: &[f32], c_in: usize, c_out: usize) -> Vec<f32> {
    let mut packed = vec![0f32; c_out.div_ceil(TILE_O) * c_in * 9 * TILE_O];
    for (i, v) in weight.iter().enumerate() {
        let (o, rest) = (i / (c_in * 9), i % (c_in * 9));
        packed[((o / TILE_O) * c_in * 9 + rest) * TILE_O + o % TILE_O] = *v;
    }
    packed
}

/// A tile's accumulators at the start, for the output channels of block `ob`: each channel's bias
/// (0 for the channels past `C_out` that fill the last block).
fn bias_lanes(bias: Option<&[f32]>, ob: usize) -> [f4::F4; TILE_O] {
    std::array::from_fn(|o| f4::splat(bias.and_then(|b| b.get(ob * TILE_O + o)).copied().unwrap_or(0.0)))
}

/// The first `valid` positions of each output channel of a tile, written to `out` from `at`,
/// the channels `stride` apart.
#[inline(always)]
fn store_tile(out: &mut [f32], at: usize, stride: usize, acc: &[[f4::F4; TILE_J / 4]], valid: usize) {
    for (o, acc_o) in acc.iter().enumerate() {
        let mut lanes = [0f32; TILE_J];
        for (v, a) in acc_o.iter().enumerate() {
            f4::store(&mut lanes[4 * v..][..4], *a);
        }
        out[at + o * stride..][..valid].copy_from_slice(&lanes[..valid]);
    }
}

/// Four lanes of f32: WebAssembly SIMD in wasm32, plain arrays (which the compiler vectorises)
/// elsewhere, so that native tests run [`direct`] as the page does.
#[allow(non_camel_case_types)]
mod f4;

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::{Device, Distribution};

    #[test]
    fn both_kernels_give_the_convolution() {
        let device = Device::flex();
        device.seed(5);
        for (b, c_in, c_out, h, w) in [(3, 32, 64, 8, 8), (2, 3, 32, 32, 32), (1, 5, 3, 4, 7), (2, 64, 3, 16, 16)] {
            let conv = Conv2dConfig::new([c_in, c_out], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(&device);
            assert!(is_conv3x3(&conv));
            let x = Tensor::<4>::random([b, c_in, h, w], Distribution::Normal(0.0, 1.0), &device);
            let want: Vec<f32> = conv.forward(x.clone()).into_data().try_into_vec().unwrap();
            let via_tensor: Vec<f32> = conv3x3(&conv, x.clone()).into_data().try_into_vec().unwrap();
            let input: Vec<f32> = x.into_data().try_into_vec().unwrap();
            let weight: Vec<f32> = conv.weight.val().into_data().try_into_vec().unwrap();
            let bias: Vec<f32> = conv.bias.as_ref().unwrap().val().into_data().try_into_vec().unwrap();
            for (name, got) in [
                ("conv3x3", via_tensor),
                ("gemm", conv3x3_slices(&input, [b, c_in, h, w], &weight, c_out, Some(&bias), Kernel::Gemm)),
                ("direct", conv3x3_slices(&input, [b, c_in, h, w], &weight, c_out, Some(&bias), Kernel::Direct)),
            ] {
                assert_eq!(got.len(), want.len());
                let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                assert!(worst < 1e-4, "{name} {:?}: differs by {worst}", (b, c_in, c_out, h, w));
            }
        }
    }
}
