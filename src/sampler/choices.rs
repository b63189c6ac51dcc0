//! The choices a [`SampleConfig`](super::SampleConfig) is made of — the U-Net, the sampler, the
//! steering network, the solver — each with its names written once ([`choice!`]), and the
//! CIFAR-10 classes.

use super::error::SampleError;
use crate::model::NUM_CLASSES;
use crate::names::choice;

/// CIFAR-10 class names in label order.
pub const CLASS_NAMES: [&str; NUM_CLASSES] =
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

choice! {
    /// Which U-Net: with the class input (paper Folder_1) or without it (Folder_2; with v1/v2 it
    /// carries a steering network, Folder_3).
    pub enum ModelKind {
        Conditional = "conditional",
        Unconditional = "unconditional",
    }
}

impl ModelKind {
    /// The kind of a U-Net with (`true`) or without the class input.
    pub fn of(conditional: bool) -> Self {
        if conditional {
            ModelKind::Conditional
        } else {
            ModelKind::Unconditional
        }
    }
}

choice! {
    /// Which sampler (method §5): the plain loop, the paper's v1 (steer the first steps) or v2 (fan
    /// one noise image out into the classes and the factors of N/k). Its settings come with it in
    /// [`Sampler`](super::Sampler).
    pub enum SamplerKind {
        Ddim = "ddim",
        V1 = "v1",
        V2 = "v2",
    }
}

choice! {
    /// Which steering network v1/v2 use; the name is also its manifest entry.
    #[derive(Default)]
    pub enum SteeringKind {
        /// The paper's additional layer (method §4: `relu(decoder(…))` replaces `v`).
        Paper = "layer",
        /// `v + layer(v)`, the paper's layer without the final ReLU.
        Residual = "layer-residual",
        /// The guide ([`crate::model::GuideNet`]): sees `x_t`, the noise level and the class.
        #[default]
        Guide = "guide" | "layer-guide",
        /// The conditional U-Net itself: `v_u + s·(v_c − v_u)`, classifier-free guidance (Ho &
        /// Salimans 2022). Costs a second U-Net row per steered row, which the row counts include.
        Conditional = "conditional",
    }
}

impl SteeringKind {
    /// Whether steering evaluates a U-Net (classifier-free guidance): its rows count as U-Net rows.
    pub fn is_unet(self) -> bool {
        self == SteeringKind::Conditional
    }
}

choice! {
    /// Which of a row's copies v2 steers at its factor fan-out steps.
    #[derive(Default)]
    pub enum CopySteering {
        /// All but the first, which keeps the U-Net's velocity (method §5, as the paper has it).
        #[default]
        Paper = "paper",
        /// Every copy: the first too, so that no image takes an unsteered step. With
        /// classifier-free guidance that costs one more U-Net row per row at those steps.
        All = "all",
    }
}

choice! {
    /// The numerical method that turns a velocity into the next state.
    #[derive(Default)]
    pub enum Solver {
        /// DDIM (Song et al. 2021), first order; `eta` sets its fresh noise.
        #[default]
        Ddim = "ddim",
        /// DPM-Solver++(2M) (Lu et al. 2022), second order from the previous step's x̂₀; with eta > 0
        /// its SDE form.
        DpmPp2m = "dpmpp-2m",
    }
}

/// Parse `"airplane,cat"` (names or label numbers) into labels.
pub fn parse_classes(s: &str) -> Result<Vec<usize>, SampleError> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let label = CLASS_NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(part))
            .or_else(|| part.parse::<usize>().ok().filter(|&l| l < NUM_CLASSES))
            .ok_or_else(|| SampleError::UnknownClass(part.to_string()))?;
        out.push(label);
    }
    Ok(out)
}
