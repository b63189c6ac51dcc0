//! How v1/v2 steer and how every sampler steps, as the flags `sample`, `eval` and `bench`
//! share, and the rule that turns them into a [`SampleConfig`]'s sampler and solver.

use clap::Args;

use crate::sampler::{
    default_fan_eta, CopySteering, ModelKind, SampleConfig, Sampler, SamplerKind, Solver, SteeringConfig, SteeringKind,
    DEFAULT_W,
};

/// How v1/v2 steer and how every sampler steps.
#[derive(Args, Debug, Clone)]
pub struct SteeringOptions {
    /// Steering network of v1/v2: guide (sees x_t, the noise level and the class), layer
    /// (the paper's additional layer), layer-residual (v + layer(v)) or conditional (the
    /// conditional U-Net: classifier-free guidance, a second U-Net row per steered row).
    #[arg(long, alias = "layer", value_enum, default_value_t = SteeringKind::default())]
    pub steering: SteeringKind,
    /// The paper's step rule instead of the fade: steer steps i < K at full strength (the
    /// paper: K = steps/2 + 1); 0 steers none.
    #[arg(long, value_name = "K", conflicts_with = "fade")]
    pub steer_until: Option<usize>,
    /// The paper's step rule with its own K = steps/2 + 1.
    #[arg(long, conflicts_with_all = ["fade", "steer_until"])]
    pub paper_rule: bool,
    /// Fade of the strength with the noise: s·sigmoid(−log-SNR)^P at every step — the full
    /// strength while the image is noise, falling to zero as it clears; 0 keeps it constant.
    /// Default: the network's (the guide: 4; classifier-free guidance: 0).
    #[arg(long, value_name = "P")]
    pub fade: Option<f64>,
    /// Scale of the steering, v + s·(steered − v): 1 as trained, 0 none, above 1 extrapolates
    /// (≤ 32); the peak of the fade. Default: the network's measured best for the schedule and
    /// the step count (the guide under the fade: 16, scaled by steps/10 below 10 steps).
    #[arg(long)]
    pub strength: Option<f64>,
    /// Update rule: ddim, or dpmpp-2m (DPM-Solver++(2M), second order; with eta > 0 its SDE form).
    #[arg(long, value_enum, default_value_t = Solver::DpmPp2m)]
    pub solver: Solver,
    /// v2: eta of the factor fan-out steps, where copies of a row part (fresh noise there keeps
    /// them apart when eta is 0). Default: 0.5, or the run's eta where that is higher.
    #[arg(long)]
    pub fan_eta: Option<f64>,
    /// v2's perturbation scale w of a row's copies.
    #[arg(long, default_value_t = DEFAULT_W)]
    pub w: f64,
    /// v2: which of a row's copies its fan-out steps steer: all, or the paper's (all but the
    /// first, which keeps the U-Net's velocity; links without this setting mean it).
    #[arg(long, value_enum, default_value_t = CopySteering::All)]
    pub copies: CopySteering,
}

impl SteeringOptions {
    /// How v1/v2 steer under these options: under the fade (the network's own unless given)
    /// unless the paper's step rule is asked for.
    pub fn steering(&self) -> SteeringConfig {
        let paper = self.paper_rule || self.steer_until.is_some();
        SteeringConfig {
            kind: self.steering,
            strength: self.strength,
            steer_until: self.steer_until,
            fade: (!paper).then(|| self.fade.unwrap_or(self.steering.default_fade())),
        }
    }

    /// `cfg` run by `sampler` (`model`: ddim's U-Net) steered and stepped as these options say.
    pub fn apply(&self, sampler: SamplerKind, model: ModelKind, cfg: SampleConfig) -> SampleConfig {
        SampleConfig {
            sampler: Sampler::of(
                sampler,
                model,
                self.steering(),
                (self.w, Some(self.fan_eta.unwrap_or(default_fan_eta(cfg.eta))), self.copies),
            ),
            solver: self.solver,
            ..cfg
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::sampler::DEFAULT_FAN_ETA;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        steering: SteeringOptions,
    }

    fn fan_eta(args: &[&str], eta: f64) -> Option<f64> {
        let opts = Cli::parse_from([&["vdiff"], args].concat()).steering;
        let cfg = opts.apply(SamplerKind::V2, ModelKind::Unconditional, SampleConfig { eta, ..Default::default() });
        match cfg.sampler {
            Sampler::V2 { fan_eta, .. } => fan_eta,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn v2s_fan_eta_defaults_to_half_or_the_runs_eta_where_higher() {
        assert_eq!(fan_eta(&[], 0.0), Some(DEFAULT_FAN_ETA));
        assert_eq!(fan_eta(&[], 0.3), Some(DEFAULT_FAN_ETA));
        // The paper's runs at eta 1 keep fresh noise at every step, the fan-out too.
        assert_eq!(fan_eta(&["--paper-rule"], 1.0), Some(1.0));
        assert_eq!(fan_eta(&["--fan-eta", "0.25"], 1.0), Some(0.25));
    }
}
