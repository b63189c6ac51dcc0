//! Choosing the backend: wgpu (Vulkan/Metal/DX12 natively, WebGPU in the browser) or Flex
//! (CPU). The only place that names backends.

#[cfg(not(target_arch = "wasm32"))]
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Burn's CPU backend.
    Flex,
    /// Burn's wgpu backend (a GPU adapter; WebGPU in the browser).
    Wgpu,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::Wgpu => "wgpu",
        }
    }

    /// The device for this backend. Native wgpu is initialised once per process, with a clear
    /// error when there is no adapter; the page uses `web.rs`'s async init instead.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn device(self) -> Result<Device, String> {
        static WGPU: std::sync::OnceLock<Result<Device, String>> = std::sync::OnceLock::new();
        match self {
            Backend::Flex => Ok(Device::flex()),
            Backend::Wgpu => WGPU
                .get_or_init(|| {
                    Device::wgpu_options()
                        .init()
                        .map_err(|e| format!("no usable wgpu adapter (GPU): {e}; use --backend flex"))
                })
                .clone(),
        }
    }
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "flex" | "cpu" => Ok(Backend::Flex),
            "wgpu" | "gpu" => Ok(Backend::Wgpu),
            _ => Err(format!("unknown backend {s:?} (flex, wgpu)")),
        }
    }
}
