//! Weights I/O: Burn `.bpk` (burnpack) records, optional f16, a SHA-256 per file, and a
//! `manifest.json` that names each file's architecture so that loading can check it. Its
//! entries: `conditional` and `unconditional` (the U-Nets), `layer`, `layer-residual` and
//! `layer-guide` (the steering networks, `SteeringKind::name`) and `classifier` (the meter's).

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, Param};
use burn::store::{DTypePolicy, ModuleRecord};
use burn::tensor::{Bytes, DType, Device, Tensor};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::eval::classifier::{Classifier, ClassifierConfig};
use crate::model::{ClassLayerConfig, GuideNetConfig, UNet, UNetConfig};
use crate::sampler::Steering;

pub const MANIFEST: &str = "manifest.json";

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("cannot read or write {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("weights {name} are corrupt: SHA-256 is {got}, the manifest says {want}")]
    Checksum { name: String, got: String, want: String },
    #[error("weights {name} are not a valid .bpk record: {msg}")]
    Format { name: String, msg: String },
    #[error("weights {name} do not match the architecture {arch}: {msg}")]
    Mismatch { name: String, arch: String, msg: String },
    #[error("the weights manifest has no entry {name:?} (it has: {available})")]
    Missing { name: String, available: String },
    #[error("manifest entry {name:?} is a {is}, not a {wanted}")]
    WrongKind { name: String, is: &'static str, wanted: &'static str },
    #[error("manifest entry {name:?} describes a network this code cannot build: {msg}")]
    BadArch { name: String, msg: String },
    #[error("invalid weights manifest: {source}")]
    Manifest {
        #[source]
        source: serde_json::Error,
    },
}

/// The architecture a weights file was saved from.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Arch {
    Unet { config: UNetConfig },
    Layer { config: ClassLayerConfig },
    Guide { config: GuideNetConfig },
    Classifier { config: ClassifierConfig },
}

impl Arch {
    fn kind(&self) -> &'static str {
        match self {
            Arch::Unet { .. } => "U-Net",
            Arch::Layer { .. } => "additional layer",
            Arch::Guide { .. } => "guide",
            Arch::Classifier { .. } => "classifier",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    #[serde(flatten)]
    pub arch: Arch,
}

/// `weights/manifest.json`: entry name (`conditional`, `unconditional`, `layer`,
/// `layer-residual`, `classifier`) → file, checksum, architecture.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub entries: BTreeMap<String, Entry>,
}

impl Manifest {
    /// Read a manifest; every U-Net architecture in it is checked ([`UNetConfig::validate`]).
    pub fn parse(json: &str) -> Result<Self, WeightsError> {
        let manifest: Self = serde_json::from_str(json).map_err(|source| WeightsError::Manifest { source })?;
        for (name, entry) in &manifest.entries {
            if let Arch::Unet { config } = &entry.arch {
                config.validate().map_err(|msg| WeightsError::BadArch { name: name.clone(), msg })?;
            }
        }
        Ok(manifest)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("manifest serialises")
    }

    pub fn entry(&self, name: &str) -> Result<&Entry, WeightsError> {
        self.entries.get(name).ok_or_else(|| {
            let available = self.entries.keys().cloned().collect::<Vec<_>>().join(", ");
            WeightsError::Missing { name: name.into(), available }
        })
    }

    /// Check `bytes` against the entry's SHA-256.
    pub fn verify(&self, name: &str, bytes: &[u8]) -> Result<(), WeightsError> {
        let want = &self.entry(name)?.sha256;
        let got = sha256_hex(bytes);
        if &got != want {
            return Err(WeightsError::Checksum { name: name.into(), got, want: want.clone() });
        }
        Ok(())
    }

    /// The one way an entry is loaded: look it up, check it is the `wanted` kind (`init` builds
    /// the network from its architecture, `None` for another kind), check the SHA-256, load.
    fn load_entry<M: Module>(
        &self,
        name: &str,
        bytes: &[u8],
        wanted: &'static str,
        init: impl FnOnce(&Arch) -> Option<M>,
    ) -> Result<M, WeightsError> {
        let arch = &self.entry(name)?.arch;
        if let Arch::Unet { config } = arch {
            config.validate().map_err(|msg| WeightsError::BadArch { name: name.into(), msg })?;
        }
        let module =
            init(arch).ok_or_else(|| WeightsError::WrongKind { name: name.into(), is: arch.kind(), wanted })?;
        self.verify(name, bytes)?;
        load_bytes(module, bytes, name, &format!("{arch:?}"))
    }

    /// Load a U-Net entry from its (already read) bytes: kind, checksum, then architecture.
    pub fn load_unet(&self, name: &str, bytes: &[u8], device: &Device) -> Result<UNet, WeightsError> {
        self.load_entry(name, bytes, "U-Net", |a| match a {
            Arch::Unet { config } => Some(config.init(device)),
            _ => None,
        })
    }

    pub fn load_classifier(&self, name: &str, bytes: &[u8], device: &Device) -> Result<Classifier, WeightsError> {
        self.load_entry(name, bytes, "classifier", |a| match a {
            Arch::Classifier { config } => Some(config.init(device)),
            _ => None,
        })
    }

    /// Load a steering network (the paper's layer, its residual variant, the guide, or the
    /// conditional U-Net for classifier-free guidance).
    pub fn load_steering(&self, name: &str, bytes: &[u8], device: &Device) -> Result<Steering, WeightsError> {
        const WANTED: &str = "steering network";
        match &self.entry(name)?.arch {
            Arch::Guide { .. } => Ok(Steering::Guide(self.load_entry(name, bytes, WANTED, |a| match a {
                Arch::Guide { config } => Some(config.init(device)),
                _ => None,
            })?)),
            Arch::Unet { config } if !config.conditional => {
                Err(WeightsError::WrongKind { name: name.into(), is: "U-Net without the class input", wanted: WANTED })
            }
            Arch::Unet { .. } => Ok(Steering::UNet(self.load_unet(name, bytes, device)?)),
            _ => Ok(Steering::Layer(self.load_entry(name, bytes, WANTED, |a| match a {
                Arch::Layer { config } => Some(config.init(device)),
                _ => None,
            })?)),
        }
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Casts every float parameter (f16 files are half the size; loading casts back).
struct CastTo(DType);

impl ModuleMapper for CastTo {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let dtype = self.0;
        param.map(|t| t.cast(dtype))
    }
}

/// The module with its float parameters cast to `dtype`.
pub fn cast<M: Module>(module: M, dtype: DType) -> M {
    module.map(&mut CastTo(dtype))
}

/// Serialise a module as burnpack bytes, in f16 when `half`.
pub fn to_bytes<M: Module>(module: M, half: bool) -> Vec<u8> {
    let module = if half { cast(module, DType::F16) } else { module };
    module.into_record().into_bytes().expect("burnpack serialisation").to_vec()
}

/// Load burnpack bytes into `module` (whose architecture they must match), casting to the
/// module's dtype. `arch` describes the expected architecture for the error message.
pub fn load_bytes<M: Module>(module: M, bytes: &[u8], name: &str, arch: &str) -> Result<M, WeightsError> {
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| WeightsError::Format { name: name.into(), msg: e.to_string() })?
        .with_dtype_policy(DTypePolicy::CastToModule);
    module.try_load_record(record).map_err(|e| WeightsError::Mismatch {
        name: name.into(),
        arch: arch.into(),
        msg: e.to_string(),
    })
}

#[cfg(not(target_arch = "wasm32"))]
mod files {
    use std::path::Path;

    use super::*;

    fn read(path: &Path) -> Result<Vec<u8>, WeightsError> {
        std::fs::read(path).map_err(|source| WeightsError::Io { path: path.display().to_string(), source })
    }

    impl Manifest {
        /// Read `dir/manifest.json`.
        pub fn read(dir: &Path) -> Result<Self, WeightsError> {
            let bytes = read(&dir.join(MANIFEST))?;
            Self::parse(&String::from_utf8_lossy(&bytes))
        }

        /// Read `dir/manifest.json`, or start an empty one where there is none yet. A manifest
        /// that exists but does not read is an error: replacing it would drop its entries.
        pub fn read_or_new(dir: &Path) -> Result<Self, WeightsError> {
            if dir.join(MANIFEST).exists() {
                Self::read(dir)
            } else {
                Ok(Self::default())
            }
        }

        /// Write `dir/manifest.json` atomically.
        pub fn write(&self, dir: &Path) -> Result<(), WeightsError> {
            write_atomic(&dir.join(MANIFEST), self.to_json().as_bytes())
        }

        /// Read an entry's file from `dir` (checksum checked on load).
        pub fn read_file(&self, dir: &Path, name: &str) -> Result<Vec<u8>, WeightsError> {
            read(&dir.join(&self.entry(name)?.file))
        }

        /// Save `module` as `dir/<file>` and record it under `name`. Returns the SHA-256.
        pub fn save<M: Module>(
            &mut self,
            dir: &Path,
            name: &str,
            file: &str,
            arch: Arch,
            module: M,
            half: bool,
        ) -> Result<String, WeightsError> {
            let bytes = to_bytes(module, half);
            write_atomic(&dir.join(file), &bytes)?;
            let sha = sha256_hex(&bytes);
            self.entries
                .insert(name.into(), Entry { file: file.into(), sha256: sha.clone(), bytes: bytes.len() as u64, arch });
            Ok(sha)
        }
    }

    /// Write via a temporary file and rename, so a crash never leaves a half-written file.
    pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WeightsError> {
        let err = |source: std::io::Error| WeightsError::Io { path: path.display().to_string(), source };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, bytes).map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub use files::write_atomic;
