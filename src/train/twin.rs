//! The training defaults, and the one description of the network and its schedule that the
//! PyTorch twin (`scripts/gpu/unet.py`, `train.py`) reads: `scripts/gpu/crate-config.json`,
//! written by `vdiff train twin-config` and checked against the crate by a test, so the two
//! definitions cannot drift apart unnoticed.

use serde::Serialize;

use crate::model::{UNetConfig, CLASS_FEATURES, FOURIER_STD, NUM_CLASSES, TIME_FEATURES};
use crate::schedule::{LOG_SNR_OFFSET, LOG_SNR_SCALE};

/// Where a new run starts unless told otherwise (the CLI's defaults, the campaign's).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Defaults {
    /// U-Net base width `c`.
    pub width: usize,
    /// U-Net resolution levels (3: 32→16→8, what the crate ships).
    pub levels: usize,
    pub dropout: f64,
    /// EMA decay of the weights.
    pub ema_decay: f64,
}

pub const DEFAULTS: Defaults = Defaults { width: 32, levels: 3, dropout: 0.1, ema_decay: 0.998 };

/// The file the twin reads.
pub const TWIN_CONFIG: &str = "scripts/gpu/crate-config.json";

/// What the twin must agree on with the crate.
#[derive(Debug, Serialize)]
pub struct TwinConfig {
    pub unet: UNetConfig,
    pub time_features: usize,
    pub class_features: usize,
    pub fourier_std: f64,
    pub num_classes: usize,
    /// `log_snr(t) = −ln(expm1(offset + scale·t²))`.
    pub log_snr_offset: f64,
    pub log_snr_scale: f64,
    pub ema_decay: f64,
}

impl TwinConfig {
    /// The crate's own values.
    pub fn current() -> Self {
        let d = DEFAULTS;
        Self {
            unet: UNetConfig::new().with_width(d.width).with_levels(d.levels).with_dropout(d.dropout),
            time_features: TIME_FEATURES,
            class_features: CLASS_FEATURES,
            fourier_std: FOURIER_STD,
            num_classes: NUM_CLASSES,
            log_snr_offset: LOG_SNR_OFFSET,
            log_snr_scale: LOG_SNR_SCALE,
            ema_decay: d.ema_decay,
        }
    }

    /// The file's text (pretty JSON and a final newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain numbers serialise") + "\n"
    }
}
