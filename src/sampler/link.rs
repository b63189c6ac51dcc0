//! A [`SampleConfig`]'s two outside shapes: [`FlatConfig`], the page's form and saved configs
//! (every sampler's settings side by side), and the share link, `key=value&…` in a URL fragment
//! and a PNG's text. Both read every config an earlier version wrote, spellings included.

use serde::{Deserialize, Serialize};

use super::choices::{parse_classes, CopySteering, ModelKind, SamplerKind, Solver, SteeringKind};
use super::config::{SampleConfig, Sampler, DEFAULT_W};
use super::error::SampleError;
use super::limits::{self, Limit};
use super::steering::SteeringConfig;

/// A [`SampleConfig`] flat: the fields of the page's form, of configs saved by the CLI and of
/// those written before each sampler carried its own settings. Turned into a `SampleConfig` it
/// keeps the settings its sampler reads; a `SampleConfig` turned into one fills the others with
/// their defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FlatConfig {
    /// ddim's U-Net (v1 and v2 always run the unconditional one, and say so here).
    #[serde(default = "conditional")]
    pub model: ModelKind,
    pub sampler: SamplerKind,
    pub n: usize,
    pub classes: Vec<usize>,
    pub steps: usize,
    pub eta: f64,
    /// A number where JavaScript holds it exactly (up to 2^53 − 1), a decimal string above; either
    /// reads.
    #[serde(with = "seed")]
    pub seed: u64,
    /// v2's perturbation scale.
    #[serde(default = "default_w")]
    pub w: f64,
    /// v1/v2's steering network (`layer` in configs written before the name was unified).
    #[serde(default, alias = "layer")]
    pub steering: SteeringKind,
    #[serde(default)]
    pub steer_until: Option<usize>,
    #[serde(default)]
    pub strength: Option<f64>,
    #[serde(default)]
    pub fade: Option<f64>,
    #[serde(default)]
    pub solver: Solver,
    /// v2's eta of the fan-out steps.
    #[serde(default)]
    pub fan_eta: Option<f64>,
    /// Which of a row's copies v2 steers (absent: the paper's, as every config before it).
    #[serde(default)]
    pub copies: CopySteering,
}

fn conditional() -> ModelKind {
    ModelKind::Conditional
}

fn default_w() -> f64 {
    DEFAULT_W
}

impl From<FlatConfig> for SampleConfig {
    fn from(f: FlatConfig) -> Self {
        let steering =
            SteeringConfig { kind: f.steering, strength: f.strength, steer_until: f.steer_until, fade: f.fade };
        SampleConfig {
            sampler: Sampler::of(f.sampler, f.model, steering, (f.w, f.fan_eta, f.copies)),
            n: f.n,
            classes: f.classes,
            steps: f.steps,
            eta: f.eta,
            seed: f.seed,
            solver: f.solver,
        }
    }
}

impl From<SampleConfig> for FlatConfig {
    fn from(c: SampleConfig) -> Self {
        let steering = c.sampler.steering().copied().unwrap_or_default();
        let (w, fan_eta, copies) = match c.sampler {
            Sampler::V2 { w, fan_eta, copies, .. } => (w, fan_eta, copies),
            _ => (DEFAULT_W, None, CopySteering::default()),
        };
        FlatConfig {
            model: c.unet(),
            sampler: c.sampler.kind(),
            n: c.n,
            classes: c.classes,
            steps: c.steps,
            eta: c.eta,
            seed: c.seed,
            w,
            steering: steering.kind,
            steer_until: steering.steer_until,
            strength: steering.strength,
            fade: steering.fade,
            solver: c.solver,
            fan_eta,
            copies,
        }
    }
}

/// The settings beyond the common ones that each sampler reads (its share-link keys).
const STEERING_SETTINGS: [&str; 4] = ["steering", "strength", "steer_until", "fade"];

impl SamplerKind {
    /// The flat settings this sampler reads besides N, the classes, the steps, eta, the seed and
    /// the solver.
    pub fn settings(self) -> Vec<&'static str> {
        match self {
            SamplerKind::Ddim => vec!["model"],
            SamplerKind::V1 => STEERING_SETTINGS.to_vec(),
            SamplerKind::V2 => [&STEERING_SETTINGS[..], &["w", "fan_eta", "copies"]].concat(),
        }
    }
}

impl SampleConfig {
    /// The share-link form, e.g.
    /// `sampler=v2&n=20&classes=0,3&steps=5&eta=1&seed=7&w=0.01&steering=guide`: the
    /// common settings and those the sampler reads (ddim's `model`; v1/v2's `steering` and,
    /// when set, `strength`, `steer_until`, `fade`; v2's `w`, `fan_eta` when set and `copies`
    /// when not the paper's), `solver` when not DDIM (the page puts it in the URL fragment).
    pub fn to_fragment(&self) -> String {
        let classes: Vec<String> = self.classes.iter().map(|c| c.to_string()).collect();
        let mut keys: Vec<String> = Vec::new();
        if let Sampler::Ddim { model } = self.sampler {
            keys.push(format!("model={}", model.name()));
        }
        keys.push(format!(
            "sampler={}&n={}&classes={}&steps={}&eta={}&seed={}",
            self.sampler.name(),
            self.n,
            classes.join(","),
            self.steps,
            self.eta,
            self.seed
        ));
        if let Sampler::V2 { w, .. } = self.sampler {
            keys.push(format!("w={w}"));
        }
        if let Some(s) = self.sampler.steering() {
            keys.push(format!("steering={}", s.kind.name()));
            keys.extend(s.strength.map(|v| format!("strength={v}")));
            keys.extend(s.steer_until.map(|v| format!("steer_until={v}")));
            keys.extend(s.fade.map(|v| format!("fade={v}")));
        }
        if self.solver != Solver::default() {
            keys.push(format!("solver={}", self.solver.name()));
        }
        if let Sampler::V2 { fan_eta, copies, .. } = self.sampler {
            keys.extend(fan_eta.map(|e| format!("fan_eta={e}")));
            if copies != CopySteering::default() {
                keys.push(format!("copies={}", copies.name()));
            }
        }
        keys.join("&")
    }

    /// Parse [`to_fragment`](Self::to_fragment)'s form and every earlier one, and validate it:
    /// a link gives a config that runs or an error that names the setting. A leading `#` is
    /// ignored; missing keys keep what an old link meant by their absence
    /// ([`SampleConfig::default`]); keys the sampler does not read, which older links carry, are
    /// checked and dropped; `weights` (the page's tag of the weights) is the caller's; any other
    /// key is an error.
    pub fn from_fragment(s: &str) -> Result<Self, SampleError> {
        let mut c = FlatConfig::from(SampleConfig::default());
        for pair in s.trim_start_matches('#').split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "model" => c.model = named(ModelKind::from_name(v), k, v, "a U-Net: conditional or unconditional")?,
                "sampler" => c.sampler = named(SamplerKind::from_name(v), k, v, "a sampler: ddim, v1 or v2")?,
                "n" => c.n = count(k, v, limits::N)?,
                "classes" => c.classes = parse_classes(v)?,
                "steps" => c.steps = count(k, v, limits::STEPS)?,
                "eta" => c.eta = number(k, v, limits::ETA)?,
                "seed" => c.seed = v.parse().map_err(|_| bad_link(k, v, "not a whole number from 0 to 2^64 − 1"))?,
                "w" => c.w = number(k, v, limits::W)?,
                // `layer` is the key of links made before the name was unified.
                "steering" | "layer" => c.steering = named(SteeringKind::from_name(v), k, v, "a steering network")?,
                "strength" => c.strength = Some(number(k, v, limits::STRENGTH)?),
                "steer_until" => c.steer_until = Some(count(k, v, limits::STEER_UNTIL)?),
                "fade" => c.fade = Some(number(k, v, limits::FADE)?),
                "solver" => c.solver = named(Solver::from_name(v), k, v, "a solver: ddim or dpmpp-2m")?,
                "fan_eta" => c.fan_eta = Some(number(k, v, limits::FAN_ETA)?),
                "copies" => c.copies = named(CopySteering::from_name(v), k, v, "v2's steered copies: paper or all")?,
                "weights" => {}
                _ => return Err(SampleError::UnknownSetting(k.to_string())),
            }
        }
        let cfg = SampleConfig::from(c);
        cfg.validate()?;
        Ok(cfg)
    }
}

/// Every key a share link may carry: [`SampleConfig::to_fragment`]'s, `layer` (the steering
/// network's key in old links) and `weights` (the page's tag of the weights it ran).
pub const LINK_KEYS: [&str; 17] = [
    "model",
    "sampler",
    "n",
    "classes",
    "steps",
    "eta",
    "seed",
    "w",
    "steering",
    "layer",
    "strength",
    "steer_until",
    "fade",
    "solver",
    "fan_eta",
    "copies",
    "weights",
];

/// A link's choice, or an error saying what it should be.
fn named<T>(choice: Option<T>, key: &str, value: &str, what: &str) -> Result<T, SampleError> {
    choice.ok_or_else(|| bad_link(key, value, &format!("not {what}")))
}

fn bad_link(key: &str, value: &str, why: &str) -> SampleError {
    SampleError::BadLink { key: key.into(), value: value.into(), why: why.into() }
}

/// A link's number, within its limit.
fn number(key: &str, value: &str, limit: Limit) -> Result<f64, SampleError> {
    limit.check(value.parse().map_err(|_| bad_link(key, value, "not a number"))?)
}

/// A link's count, within its limit.
fn count(key: &str, value: &str, limit: Limit) -> Result<usize, SampleError> {
    limit.check_count(value.parse().map_err(|_| bad_link(key, value, "not a whole number"))?)
}

/// The largest integer JavaScript's numbers hold exactly.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// A seed as a JavaScript number where that is exact, else as a decimal string; read from either.
mod seed {
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    use super::MAX_SAFE_INTEGER;

    pub fn serialize<S: Serializer>(seed: &u64, s: S) -> Result<S::Ok, S::Error> {
        if *seed <= MAX_SAFE_INTEGER {
            s.serialize_u64(*seed)
        } else {
            s.serialize_str(&seed.to_string())
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        d.deserialize_any(SeedVisitor)
    }

    struct SeedVisitor;

    impl Visitor<'_> for SeedVisitor {
        type Value = u64;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a whole number from 0 to 2^64 − 1 (as a number up to 2^53 − 1, or as a decimal string)")
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
            Ok(v)
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
            u64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
            // Beyond 2^53 a float no longer says which integer was meant.
            if v.fract() == 0.0 && (0.0..=MAX_SAFE_INTEGER as f64).contains(&v) {
                Ok(v as u64)
            } else {
                Err(E::invalid_value(de::Unexpected::Float(v), &self))
            }
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
            v.trim().parse().map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
        }
    }
}

impl SampleConfig {
    /// A config in its flat form ([`FlatConfig`], e.g. the page's form object), validated; a
    /// field of the wrong type is refused with the field's name.
    pub fn from_flat<'de, D: serde::Deserializer<'de>>(flat: D) -> Result<Self, SampleError> {
        let cfg: SampleConfig = serde_path_to_error::deserialize(flat).map_err(|e| {
            let path = e.path().to_string();
            SampleError::BadSettings(format!("{path}: {}", e.into_inner()))
        })?;
        cfg.validate()?;
        Ok(cfg)
    }
}
