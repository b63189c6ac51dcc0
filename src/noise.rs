//! Host-side seeded random numbers.
//!
//! Burn's own RNG gives different numbers on different backends for one seed, so every random
//! number a sampler or the training loop needs comes from here (ChaCha8 + Box–Muller) and is
//! uploaded. The same seed then gives the same images on Flex, native wgpu and WebGPU.

use burn::tensor::{Device, Tensor, TensorData};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

/// Numbers in one image `[3, 32, 32]`.
const IMAGE_LEN: usize = 3 * 32 * 32;
/// ChaCha's 32-bit words one image uses: two `u64` per Box–Muller pair of normals.
const IMAGE_WORDS: usize = IMAGE_LEN * 2;

/// A seeded stream of uniform and standard normal numbers whose state can be saved.
#[derive(Clone, Debug)]
pub struct Noise {
    rng: ChaCha8Rng,
}

/// What is needed to resume a [`Noise`] stream exactly (checkpoints).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NoiseState {
    pub seed: [u8; 32],
    pub stream: u64,
    pub word_pos: u128,
}

impl Noise {
    pub fn new(seed: u64) -> Self {
        Self { rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// An independent stream derived from this seed (e.g. one per purpose).
    pub fn with_stream(seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Self { rng }
    }

    pub fn state(&self) -> NoiseState {
        NoiseState { seed: self.rng.get_seed(), stream: self.rng.get_stream(), word_pos: self.rng.get_word_pos() }
    }

    pub fn from_state(s: &NoiseState) -> Self {
        let mut rng = ChaCha8Rng::from_seed(s.seed);
        rng.set_stream(s.stream);
        rng.set_word_pos(s.word_pos);
        Self { rng }
    }

    /// Uniform in `[0, 1)` with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        ((self.uniform() * n as f64) as usize).min(n - 1)
    }

    /// `len` standard normal numbers (Box–Muller, both outputs used).
    pub fn normals(&mut self, len: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(len + 1);
        while out.len() < len {
            // 1 − u keeps the logarithm finite.
            let u1 = 1.0 - self.uniform();
            let u2 = self.uniform();
            let r = (-2.0 * u1.ln()).sqrt();
            let a = std::f64::consts::TAU * u2;
            out.push((r * a.cos()) as f32);
            out.push((r * a.sin()) as f32);
        }
        out.truncate(len);
        out
    }

    /// Rows `ids` of a draw of `total` images `[3, 32, 32]`: exactly the rows a draw of all
    /// `total` (`normal_tensor([total, 3, 32, 32])`) would give them, and the stream moves past
    /// the whole draw. Each row's numbers sit at a fixed place in the stream (ChaCha jumps
    /// there), so a run split into parts draws the same noise for every image as the whole run.
    pub fn normal_rows(&mut self, ids: &[usize], total: usize, device: &Device) -> Tensor<4> {
        let start = self.rng.get_word_pos();
        let mut out = Vec::with_capacity(ids.len() * IMAGE_LEN);
        for &id in ids {
            debug_assert!(id < total);
            self.rng.set_word_pos(start + (id * IMAGE_WORDS) as u128);
            out.extend(self.normals(IMAGE_LEN));
        }
        self.rng.set_word_pos(start + (total * IMAGE_WORDS) as u128);
        Tensor::from_data(TensorData::new(out, [ids.len(), 3, 32, 32]), device)
    }

    /// A standard normal tensor of the given shape on `device`.
    pub fn normal_tensor<const D: usize>(&mut self, shape: [usize; D], device: &Device) -> Tensor<D> {
        let len = shape.iter().product();
        Tensor::from_data(TensorData::new(self.normals(len), shape), device)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(t: Tensor<4>) -> Vec<f32> {
        t.into_data().try_to_vec().unwrap()
    }

    #[test]
    fn rows_of_a_draw_are_the_rows_of_the_whole_draw() {
        let device = Device::flex();
        let mut whole = Noise::new(9);
        let all = values(whole.normal_tensor([5, 3, 32, 32], &device));
        let next = whole.uniform();

        let mut part = Noise::new(9);
        let some = values(part.normal_rows(&[3, 1], 5, &device));
        assert_eq!(&some[..IMAGE_LEN], &all[3 * IMAGE_LEN..4 * IMAGE_LEN]);
        assert_eq!(&some[IMAGE_LEN..], &all[IMAGE_LEN..2 * IMAGE_LEN]);
        // Past the draw, both streams are at the same place.
        assert_eq!(part.uniform(), next);
    }
}
