//! What a front end offers — [`PageSchema`]: the choices, their labels, limits and defaults —
//! so that the page's form is built from the same constants the validation uses
//! (`web.rs` hands it to JavaScript as `page_schema()`).

use serde::Serialize;

use super::choices::{CopySteering, ModelKind, SamplerKind, Solver, SteeringKind, CLASS_NAMES};
use super::config::{default_fan_eta, SampleConfig, Sampler, DEFAULT_W};
use super::limits::{self, Limit};
use super::steering::SteeringConfig;

/// One entry of the method menu: a U-Net and a sampler.
#[derive(Clone, Debug, Serialize)]
pub struct MethodChoice {
    /// `"<model>/<sampler>"`, e.g. `unconditional/v2`.
    pub value: String,
    pub label: &'static str,
    pub model: ModelKind,
    pub sampler: SamplerKind,
}

/// One steering network and what an empty strength or fade means for it.
#[derive(Clone, Debug, Serialize)]
pub struct SteeringChoice {
    pub name: &'static str,
    pub label: &'static str,
    pub strength: f64,
    /// Below this many steps an empty strength is `strength · steps / full_strength_steps`
    /// (Rust: `SteeringKind::default_faded_strength`); `None`: `strength` at every step count.
    pub full_strength_steps: Option<usize>,
    pub fade: f64,
    /// What an empty strength means under the paper's step rule.
    pub paper_strength: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Choice {
    pub name: &'static str,
    pub label: &'static str,
}

/// Inclusive bounds of a numeric setting ([`limits`]); `max: None` where the bound depends on
/// another setting.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Range {
    pub min: f64,
    pub max: Option<f64>,
}

impl From<Limit> for Range {
    fn from(l: Limit) -> Self {
        Range { min: l.min, max: Some(l.max) }
    }
}

/// Every numeric setting's range by its name (the share link's key), from [`limits::ALL`].
pub type Limits = std::collections::BTreeMap<&'static str, Range>;

/// Everything the page's form offers.
#[derive(Clone, Debug, Serialize)]
pub struct PageSchema {
    pub classes: [&'static str; 10],
    pub methods: Vec<MethodChoice>,
    pub steering: Vec<SteeringChoice>,
    pub solvers: Vec<Choice>,
    /// v2's choices of steered copies.
    pub copies: Vec<Choice>,
    pub limits: Limits,
    /// Which samplers each sampler-specific setting applies to (the others leave it out of
    /// their share links), from [`SamplerKind::settings`].
    pub applies: Vec<(&'static str, Vec<SamplerKind>)>,
    /// The form's initial settings.
    pub defaults: SampleConfig,
    /// The most Web Workers the page splits a CPU run into (each holds its own copy of the
    /// networks); its default is one per core up to [`DEFAULT_WORKERS_CAP`].
    pub max_workers: usize,
    pub default_workers_cap: usize,
}

pub const MAX_WORKERS: usize = 16;
pub const DEFAULT_WORKERS_CAP: usize = 8;

impl SampleConfig {
    /// The settings a visitor starts from, chosen on the quality–cost front (docs/front.md): v2
    /// with the guide fading with the noise and steering every copy, DPM-Solver++(2M), eta 0
    /// with fresh noise at the fan-out, at 10 steps — at 5 the fan-out leaves the guide too few
    /// steps to steer, and half the images miss their class.
    pub fn page_default() -> Self {
        let kind = SteeringKind::default();
        let steering = SteeringConfig { kind, fade: Some(kind.default_fade()), ..Default::default() };
        let eta = 0.0;
        SampleConfig {
            sampler: Sampler::V2 {
                steering,
                w: DEFAULT_W,
                fan_eta: Some(default_fan_eta(eta)),
                copies: CopySteering::All,
            },
            n: 20,
            steps: 10,
            eta,
            solver: Solver::DpmPp2m,
            ..Default::default()
        }
    }
}

impl SteeringKind {
    /// How the page's menu names it.
    pub fn label(self) -> &'static str {
        match self {
            SteeringKind::Guide => "guide (sees x_t, noise level, class)",
            SteeringKind::Paper => "the paper's additional layer",
            SteeringKind::Residual => "the paper's layer without its final ReLU",
            SteeringKind::Conditional => "the conditional U-Net (classifier-free guidance, 2× U-Net rows)",
        }
    }
}

/// The steering networks in the page's menu, in its order: every one the CLI offers.
const PAGE_STEERING: [SteeringKind; 4] =
    [SteeringKind::Guide, SteeringKind::Paper, SteeringKind::Residual, SteeringKind::Conditional];

pub fn page_schema() -> PageSchema {
    let method = |model: ModelKind, sampler: SamplerKind, label| MethodChoice {
        value: format!("{}/{}", model.name(), sampler.name()),
        label,
        model,
        sampler,
    };
    PageSchema {
        classes: CLASS_NAMES,
        methods: vec![
            method(ModelKind::Conditional, SamplerKind::Ddim, "conditional U-Net, ddim"),
            method(ModelKind::Unconditional, SamplerKind::Ddim, "unconditional U-Net, ddim"),
            method(ModelKind::Unconditional, SamplerKind::V1, "unconditional + steering, v1"),
            method(ModelKind::Unconditional, SamplerKind::V2, "unconditional + steering, v2 (fan-out)"),
        ],
        steering: PAGE_STEERING
            .iter()
            .map(|&l| SteeringChoice {
                name: l.name(),
                label: l.label(),
                strength: l.peak_faded_strength(),
                full_strength_steps: l.full_strength_steps(),
                fade: l.default_fade(),
                paper_strength: l.default_strength(),
            })
            .collect(),
        solvers: vec![
            Choice { name: Solver::Ddim.name(), label: "DDIM" },
            Choice { name: Solver::DpmPp2m.name(), label: "DPM-Solver++(2M)" },
        ],
        copies: vec![
            Choice { name: CopySteering::All.name(), label: "every copy" },
            Choice { name: CopySteering::Paper.name(), label: "all but the first (the paper's)" },
        ],
        limits: limits::ALL
            .iter()
            // Its bound is the run's step count, which Rust checks with the rest.
            .map(|&l| (l.name, if l == limits::STEER_UNTIL { Range { max: None, ..l.into() } } else { l.into() }))
            .collect(),
        applies: applies(),
        defaults: SampleConfig::page_default(),
        max_workers: MAX_WORKERS,
        default_workers_cap: DEFAULT_WORKERS_CAP,
    }
}

/// Each sampler-specific setting with the samplers that read it.
fn applies() -> Vec<(&'static str, Vec<SamplerKind>)> {
    let mut out: Vec<(&'static str, Vec<SamplerKind>)> = Vec::new();
    for &kind in SamplerKind::ALL {
        for setting in kind.settings() {
            match out.iter_mut().find(|(s, _)| *s == setting) {
                Some((_, kinds)) => kinds.push(kind),
                None => out.push((setting, vec![kind])),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_offers_only_what_the_crate_accepts() {
        let s = page_schema();
        s.defaults.validate().unwrap();
        assert!(s
            .methods
            .iter()
            .any(|m| m.value == format!("{}/{}", s.defaults.unet().name(), s.defaults.sampler.name())));
        let steering = s.defaults.sampler.steering().copied().unwrap();
        for m in &s.methods {
            let c = SampleConfig {
                sampler: Sampler::of(m.sampler, m.model, steering, (DEFAULT_W, None, CopySteering::default())),
                ..s.defaults.clone()
            };
            c.validate().unwrap_or_else(|e| panic!("{}: {e}", m.value));
            assert_eq!(c.unet(), m.model, "{}: the menu names the U-Net it runs", m.value);
        }
        assert!(applies().contains(&("fan_eta", vec![SamplerKind::V2])));
        assert!(applies().contains(&("fade", vec![SamplerKind::V1, SamplerKind::V2])));
        for l in &s.steering {
            assert_eq!(SteeringKind::from_name(l.name).map(SteeringKind::name), Some(l.name));
            assert!(l.strength <= s.limits["strength"].max.unwrap() && l.fade <= s.limits["fade"].max.unwrap());
        }
        for v in &s.solvers {
            assert!(Solver::from_name(v.name).is_some());
        }
        for v in &s.copies {
            assert!(CopySteering::from_name(v.name).is_some());
        }
        assert_eq!(s.copies.len(), CopySteering::ALL.len());
        assert!(applies().contains(&("copies", vec![SamplerKind::V2])));
        // Out of the limits is refused, at them accepted.
        let at = |n, steps| SampleConfig {
            sampler: Sampler::Ddim { model: ModelKind::Conditional },
            n,
            steps,
            ..s.defaults.clone()
        };
        assert!(at(s.limits["n"].max.unwrap() as usize, 1).validate().is_ok());
        assert!(at(s.limits["n"].max.unwrap() as usize + 1, 1).validate().is_err());
        assert!(at(1, s.limits["steps"].max.unwrap() as usize + 1).validate().is_err());
    }
}
