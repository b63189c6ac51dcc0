//! Why a [`SampleConfig`](super::SampleConfig) cannot run: each message names the setting,
//! the value and what is accepted.

use super::choices::CLASS_NAMES;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SampleError {
    #[error("{setting} must be a finite number from {min} to {max}, got {value}")]
    OutOfRange { setting: &'static str, value: String, min: String, max: String },
    #[error("unknown class {0:?}; classes are: {names}", names = CLASS_NAMES.join(", "))]
    UnknownClass(String),
    #[error("the class list is empty or repeats a class")]
    BadClasses,
    #[error("v2 fans one image out into the {k} requested classes, so N must be a multiple of {k}; got N = {n}")]
    V2NotMultiple { n: usize, k: usize },
    #[error(
        "v2 needs at least {need} steps for N = {n} (1 class fan-out step + {factors:?} factor steps); got {steps}"
    )]
    V2TooFewSteps { n: usize, steps: usize, need: usize, factors: Vec<usize> },
    #[error("share-link setting {key}={value:?}: {why}")]
    BadLink { key: String, value: String, why: String },
    #[error("unknown share-link setting {0:?}; a link's settings are: {known}", known = super::link::LINK_KEYS.join(", "))]
    UnknownSetting(String),
    #[error("part {index} of {of}: a run of N = {n} splits into 1 to N parts")]
    BadPart { index: usize, of: usize, n: usize },
    #[error("initial noise has shape {0:?}, the sampler needs [{1}, 3, 32, 32]")]
    BadNoise(Vec<usize>, usize),
    #[error("steer_until (the paper's step rule) and fade (the noise-level schedule) exclude each other")]
    FadeAndSteerUntil,
    #[error("{0} needs a steering network, but none was loaded")]
    NoSteering(&'static str),
    #[error("the {wanted} U-Net was asked for, but the loaded one is {got}")]
    WrongUNet { wanted: &'static str, got: &'static str },
    #[error("the steering network reads U-Net features {wanted:?} ([channels, side]), the U-Net has {got:?}")]
    FeatureMismatch { wanted: Vec<[usize; 2]>, got: Vec<[usize; 2]> },
    #[error("settings: {0}")]
    BadSettings(String),
}
