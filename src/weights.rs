//! Weights I/O: Burn `.bpk` (burnpack) records, optional f16, a SHA-256 per file, and a
//! `manifest.json` that names each file's architecture so that loading can check it. Its
//! entries: `conditional` and `unconditional` (the U-Nets), `layer`, `layer-residual` and
//! `guide` (the steering networks, `SteeringKind::name`; older manifests' `layer-guide` reads as
//! `guide`) and `classifier` (the meter's).

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, Param};
use burn::store::{DTypePolicy, ModuleRecord};
use burn::tensor::{Bytes, DType, Device, Tensor};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::eval::classifier::{Classifier, ClassifierConfig};
use crate::model::{ClassLayerConfig, GuideNetConfig, UNet, UNetConfig, MAX_WIDTH};
use crate::sampler::{Steering, SteeringKind};

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
    #[error("manifest entry {name:?} cannot be used: {msg}")]
    BadEntry { name: String, msg: String },
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
    /// Whether this code can build the network, checked before anything is allocated for it:
    /// every size within bounds.
    pub fn validate(&self) -> Result<(), String> {
        let within = |what: &str, v: usize, max: usize| match (1..=max).contains(&v) {
            true => Ok(()),
            false => Err(format!("{what} must be 1 to {max}, got {v}")),
        };
        match self {
            Arch::Unet { config } => config.validate(),
            Arch::Layer { .. } => Ok(()),
            Arch::Guide { config } => {
                within("width", config.width, MAX_WIDTH)?;
                within("embed", config.embed, MAX_EMBED)?;
                config.features.map_or(Ok(()), |f| within("features", f, MAX_WIDTH))
            }
            Arch::Classifier { config } => {
                within("width", config.width, MAX_WIDTH)?;
                within("features", config.features, MAX_EMBED)
            }
        }
    }

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

/// The largest embedding or feature size a manifest may describe.
const MAX_EMBED: usize = 4096;
/// The largest weights file a manifest may describe.
const MAX_FILE_BYTES: u64 = 1 << 30;

impl Entry {
    /// An entry as read from a manifest, checked before anything uses it: a plain file name in
    /// the weights folder, a SHA-256 (any case; kept in lowercase), a size and an architecture
    /// this code can build.
    fn read(name: &str, value: serde_json::Value) -> Result<Self, WeightsError> {
        let bad = |msg: String| WeightsError::BadEntry { name: name.into(), msg };
        let mut e: Entry = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        plain_file_name(&e.file).map_err(bad)?;
        if e.sha256.len() != 64 || !e.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(format!("sha256 must be 64 hexadecimal digits, got {:?}", e.sha256)));
        }
        e.sha256.make_ascii_lowercase();
        if e.bytes > MAX_FILE_BYTES {
            return Err(bad(format!("bytes must be at most {MAX_FILE_BYTES}, got {}", e.bytes)));
        }
        e.arch.validate().map_err(|msg| WeightsError::BadArch { name: name.into(), msg })?;
        Ok(e)
    }
}

/// `file` names a file directly inside the weights folder: no path, no parent, not hidden.
fn plain_file_name(file: &str) -> Result<(), String> {
    let plain = !file.is_empty()
        && !file.starts_with('.')
        && !file.contains(['/', '\\', ':', '\0'])
        && std::path::Path::new(file).file_name().is_some_and(|f| f == file);
    match plain {
        true => Ok(()),
        false => Err(format!("file must be a plain file name inside the weights folder, got {file:?}")),
    }
}

/// `weights/manifest.json`: entry name (`conditional`, `unconditional`, `layer`,
/// `layer-residual`, `guide`, `classifier`) → file, checksum, architecture.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Manifest {
    pub entries: BTreeMap<String, Entry>,
    /// Entries that did not pass [`Entry::read`]: what they said (written back unchanged) and
    /// why they cannot be used. Asking for one is that error; the others still load.
    pub refused: BTreeMap<String, (serde_json::Value, String)>,
}

/// A manifest's shape before its entries are checked one by one.
#[derive(Serialize, Deserialize)]
struct RawManifest {
    entries: BTreeMap<String, serde_json::Value>,
}

impl Manifest {
    /// Read a manifest. Every entry is checked ([`Entry::read`]); one that fails is kept aside
    /// with its reason, so that a bad entry stops only what needs it.
    pub fn parse(json: &str) -> Result<Self, WeightsError> {
        let raw: RawManifest = serde_json::from_str(json).map_err(|source| WeightsError::Manifest { source })?;
        let mut manifest = Manifest::default();
        for (name, value) in raw.entries {
            match Entry::read(&name, value.clone()) {
                Ok(entry) => {
                    manifest.entries.insert(name, entry);
                }
                Err(e) => {
                    manifest.refused.insert(name, (value, e.to_string()));
                }
            }
        }
        Ok(manifest)
    }

    pub fn to_json(&self) -> String {
        let mut entries: BTreeMap<String, serde_json::Value> =
            self.refused.iter().map(|(name, (raw, _))| (name.clone(), raw.clone())).collect();
        for (name, entry) in &self.entries {
            entries.insert(name.clone(), serde_json::to_value(entry).expect("an entry serialises"));
        }
        serde_json::to_string_pretty(&RawManifest { entries }).expect("manifest serialises")
    }

    pub fn entry(&self, name: &str) -> Result<&Entry, WeightsError> {
        if let Some((_, why)) = lookup(&self.refused, name) {
            return Err(WeightsError::BadEntry { name: name.into(), msg: why.clone() });
        }
        lookup(&self.entries, name).ok_or_else(|| {
            let available = self.entries.keys().cloned().collect::<Vec<_>>().join(", ");
            WeightsError::Missing { name: name.into(), available }
        })
    }

    /// Check `bytes` against the entry's SHA-256 (either case).
    pub fn verify(&self, name: &str, bytes: &[u8]) -> Result<(), WeightsError> {
        let want = &self.entry(name)?.sha256;
        let got = sha256_hex(bytes);
        if !got.eq_ignore_ascii_case(want) {
            return Err(WeightsError::Checksum { name: name.into(), got, want: want.clone() });
        }
        Ok(())
    }

    /// The one way an entry is loaded: look it up, check its architecture and the SHA-256 of
    /// `bytes` before building anything, check it is the `wanted` kind (`init` builds the network
    /// from its architecture, `None` for another kind), load.
    fn load_entry<M: Module>(
        &self,
        name: &str,
        bytes: &[u8],
        wanted: &'static str,
        init: impl FnOnce(&Arch) -> Option<M>,
    ) -> Result<M, WeightsError> {
        let arch = &self.entry(name)?.arch;
        arch.validate().map_err(|msg| WeightsError::BadArch { name: name.into(), msg })?;
        self.verify(name, bytes)?;
        let module =
            init(arch).ok_or_else(|| WeightsError::WrongKind { name: name.into(), is: arch.kind(), wanted })?;
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

/// The name a manifest entry goes by today: a steering network's older name (`layer-guide`)
/// reads as its current one (`guide`); any other name is itself.
pub fn entry_name(name: &str) -> &str {
    match SteeringKind::from_name(name) {
        Some(kind) => kind.name(),
        None => name,
    }
}

/// The entry of `map` under `name` or under another name of the same network (old manifests).
fn lookup<'m, T>(map: &'m BTreeMap<String, T>, name: &str) -> Option<&'m T> {
    map.get(name).or_else(|| {
        let kind = SteeringKind::from_name(name)?;
        std::iter::once(kind.name()).chain(kind.aliases().iter().copied()).find_map(|n| map.get(n))
    })
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
            let file = &self.entry(name)?.file;
            plain_file_name(file).map_err(|msg| WeightsError::BadEntry { name: name.into(), msg })?;
            read(&dir.join(file))
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
