//! A [`SampleConfig`]'s two outside shapes: [`FlatConfig`], the page's form and saved configs
//! (every sampler's settings side by side), and the share link, `key=value&…` in a URL fragment
//! and a PNG's text. Both read every config an earlier version wrote, spellings included.

use serde::{Deserialize, Serialize};

use super::config::{
    parse_classes, ModelKind, SampleConfig, SampleError, Sampler, SamplerKind, Solver, SteeringConfig, SteeringKind,
    DEFAULT_W,
};

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
            sampler: Sampler::of(f.sampler, f.model, steering, f.w, f.fan_eta),
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
        let (w, fan_eta) = match c.sampler {
            Sampler::V2 { w, fan_eta, .. } => (w, fan_eta),
            _ => (DEFAULT_W, None),
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
            SamplerKind::V2 => [&STEERING_SETTINGS[..], &["w", "fan_eta"]].concat(),
        }
    }
}

impl SampleConfig {
    /// The share-link form, e.g.
    /// `sampler=v2&n=20&classes=0,3&steps=5&eta=1&seed=7&w=0.01&steering=layer-guide`: the
    /// common settings and those the sampler reads (ddim's `model`; v1/v2's `steering` and,
    /// when set, `strength`, `steer_until`, `fade`; v2's `w` and `fan_eta`), `solver` when not
    /// DDIM (the page puts it in the URL fragment).
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
        if let Sampler::V2 { fan_eta: Some(e), .. } = self.sampler {
            keys.push(format!("fan_eta={e}"));
        }
        keys.join("&")
    }

    /// Parse [`to_fragment`](Self::to_fragment)'s form and every earlier one (a leading `#` is
    /// ignored; missing keys keep their defaults; keys the sampler does not read, which older
    /// links carry, are checked and dropped; unknown keys such as `weights=` are left to the
    /// caller).
    pub fn from_fragment(s: &str) -> Result<Self, SampleError> {
        let mut c = FlatConfig::from(SampleConfig::default());
        let bad = |k: &str, v: &str| SampleError::BadLink(format!("{k}={v}"));
        for pair in s.trim_start_matches('#').split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "model" => c.model = ModelKind::from_name(v).ok_or_else(|| bad(k, v))?,
                "sampler" => c.sampler = SamplerKind::from_name(v).ok_or_else(|| bad(k, v))?,
                "n" => c.n = v.parse().map_err(|_| bad(k, v))?,
                "classes" => c.classes = parse_classes(v)?,
                "steps" => c.steps = v.parse().map_err(|_| bad(k, v))?,
                "eta" => c.eta = v.parse().map_err(|_| bad(k, v))?,
                "seed" => c.seed = v.parse().map_err(|_| bad(k, v))?,
                "w" => c.w = v.parse().map_err(|_| bad(k, v))?,
                // `layer` is the key of links made before the name was unified.
                "steering" | "layer" => c.steering = SteeringKind::from_name(v).ok_or_else(|| bad(k, v))?,
                "strength" => c.strength = Some(v.parse().map_err(|_| bad(k, v))?),
                "steer_until" => c.steer_until = Some(v.parse().map_err(|_| bad(k, v))?),
                "fade" => c.fade = Some(v.parse().map_err(|_| bad(k, v))?),
                "solver" => c.solver = Solver::from_name(v).ok_or_else(|| bad(k, v))?,
                "fan_eta" => c.fan_eta = Some(v.parse().map_err(|_| bad(k, v))?),
                _ => {}
            }
        }
        Ok(c.into())
    }
}
