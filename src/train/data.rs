//! CIFAR-10 in the official binary format: `data_batch_1..5.bin`, `test_batch.bin`,
//! `batches.meta.txt` in a directory, or the official `cifar-10-binary.tar.gz` itself.
//! Each record is 1 label byte + 3·1024 bytes (R, G, B planes, row-major).

use std::io::Read;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::noise::Noise;

pub const RECORD: usize = 1 + 3 * 32 * 32;
pub const TRAIN_FILES: [&str; 5] =
    ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];
pub const TEST_FILE: &str = "test_batch.bin";

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("CIFAR-10 file {0}: {1}")]
    Io(String, String),
    #[error("CIFAR-10 file {file}: {len} bytes is not a whole number of {RECORD}-byte records (truncated or not CIFAR-10 binary)")]
    Size { file: String, len: usize },
    #[error("CIFAR-10 file {file}: record {record} has label {label}, but labels are 0–9")]
    Label { file: String, record: usize, label: u8 },
    #[error("{0} has no {1} (expected the official cifar-10-binary layout)")]
    Missing(String, String),
}

/// Images (`N·3072` bytes, CHW per image) and labels.
#[derive(Clone, Debug, Default)]
pub struct Cifar {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

impl Cifar {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Parse the bytes of one batch file; `name` is used in errors.
    pub fn parse(bytes: &[u8], name: &str) -> Result<Self, DataError> {
        if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD) {
            return Err(DataError::Size { file: name.into(), len: bytes.len() });
        }
        let mut out = Cifar::default();
        for (record, r) in bytes.chunks_exact(RECORD).enumerate() {
            if r[0] > 9 {
                return Err(DataError::Label { file: name.into(), record, label: r[0] });
            }
            out.labels.push(r[0]);
            out.images.extend_from_slice(&r[1..]);
        }
        Ok(out)
    }

    pub fn read_file(path: &Path) -> Result<Self, DataError> {
        let bytes = std::fs::read(path).map_err(|e| DataError::Io(path.display().to_string(), e.to_string()))?;
        Self::parse(&bytes, &path.display().to_string())
    }

    fn append(&mut self, other: Cifar) {
        self.images.extend(other.images);
        self.labels.extend(other.labels);
    }

    /// The training (`train = true`) or test split from a directory or the official tar.gz.
    pub fn load(source: &Path, train: bool) -> Result<Self, DataError> {
        let names: Vec<&str> = if train { TRAIN_FILES.to_vec() } else { vec![TEST_FILE] };
        let mut out = Cifar::default();
        if source.is_dir() {
            for n in names {
                let p = source.join(n);
                if !p.exists() {
                    return Err(DataError::Missing(source.display().to_string(), n.into()));
                }
                out.append(Self::read_file(&p)?);
            }
            return Ok(out);
        }
        let src = source.display().to_string();
        let file = std::fs::File::open(source).map_err(|e| DataError::Io(src.clone(), e.to_string()))?;
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let mut found: Vec<(String, Cifar)> = Vec::new();
        for entry in archive.entries().map_err(|e| DataError::Io(src.clone(), e.to_string()))? {
            let mut entry = entry.map_err(|e| DataError::Io(src.clone(), e.to_string()))?;
            let path: PathBuf = entry.path().map_err(|e| DataError::Io(src.clone(), e.to_string()))?.into_owned();
            let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_string) else { continue };
            if names.contains(&name.as_str()) {
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).map_err(|e| DataError::Io(src.clone(), e.to_string()))?;
                found.push((name.clone(), Self::parse(&bytes, &format!("{src}:{name}"))?));
            }
        }
        for n in names {
            let i = found.iter().position(|(f, _)| f == n).ok_or_else(|| DataError::Missing(src.clone(), n.into()))?;
            out.append(found.swap_remove(i).1);
        }
        Ok(out)
    }

    /// Images `idx` as a tensor in `[−1, 1]`, each flipped left–right with probability ½ when
    /// `flip` gives a generator; and their labels.
    ///
    /// # Shapes
    /// `[B, 3, 32, 32]`, `[B]`
    pub fn batch(&self, idx: &[usize], mut flip: Option<&mut Noise>, device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
        let mut px = Vec::with_capacity(idx.len() * 3072);
        for &i in idx {
            let img = &self.images[i * 3072..(i + 1) * 3072];
            let mirror = flip.as_deref_mut().is_some_and(|r| r.uniform() < 0.5);
            for row in img.chunks_exact(32) {
                let to_f = |&b: &u8| b as f32 / 127.5 - 1.0;
                if mirror {
                    px.extend(row.iter().rev().map(to_f));
                } else {
                    px.extend(row.iter().map(to_f));
                }
            }
        }
        let labels: Vec<i64> = idx.iter().map(|&i| self.labels[i] as i64).collect();
        (
            Tensor::from_data(TensorData::new(px, [idx.len(), 3, 32, 32]), device),
            Tensor::from_data(TensorData::new(labels, [idx.len()]), device),
        )
    }
}

/// A random order of `0..n` for one epoch, fixed by `(seed, epoch)`.
pub fn epoch_order(n: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut rng = Noise::with_stream(seed, 1 << 32 | epoch);
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        v.swap(i, rng.below(i + 1));
    }
    v
}
