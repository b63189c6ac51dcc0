//! Choosing the backend, with the names the CLI and the page share: `cpu` (Burn's Flex) or
//! `webgpu` (Burn's wgpu: the WebGPU API, on Vulkan/Metal/DX12 natively and on the browser's
//! WebGPU in the page), or `auto`. The only place that names backends.

#[cfg(not(target_arch = "wasm32"))]
use burn::tensor::Device;

use crate::names::choice;

choice! {
    /// `--device` of every command and the page's backend menu. The names `flex`, `wgpu` and
    /// `gpu` of earlier versions still read.
    pub enum Backend {
        /// A hardware GPU adapter through wgpu if there is one, else the CPU.
        Auto = "auto",
        /// Burn's CPU backend (Flex).
        Cpu = "cpu" | "flex",
        /// Burn's wgpu backend: a GPU adapter through the WebGPU API.
        WebGpu = "webgpu" | "wgpu" | "gpu",
    }
}

impl Backend {
    /// The device, the backend it is (`auto` resolved) and a line saying what was picked.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open(self) -> Result<(Device, Backend, String), String> {
        match self {
            Backend::Auto => Ok(auto_device()),
            Backend::WebGpu => {
                Ok((Backend::WebGpu.device()?, Backend::WebGpu, format!("device: webgpu ({})", gpu_build())))
            }
            b => Ok((b.device()?, b, format!("device: {}", b.name()))),
        }
    }

    /// The device for this backend. Native wgpu is initialised once per process, with a clear
    /// error when there is no adapter; the page uses `web.rs`'s async init instead.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn device(self) -> Result<Device, String> {
        static WGPU: std::sync::OnceLock<Result<Device, String>> = std::sync::OnceLock::new();
        match self {
            Backend::Auto => Ok(auto_device().0),
            Backend::Cpu => Ok(Device::flex()),
            Backend::WebGpu => WGPU
                .get_or_init(|| {
                    fusers_off()?;
                    Device::wgpu_options()
                        .init()
                        .map_err(|e| format!("no usable wgpu adapter (GPU): {e}; use --device cpu"))
                })
                .clone(),
        }
    }
}

/// The device `--device auto` trains on: a hardware GPU adapter through wgpu (discrete before
/// integrated), else the CPU. A software adapter (lavapipe, SwiftShader) is never picked: it is
/// slower than the CPU. Returns the device and a line saying what was picked. Decided once per
/// process (a wgpu runtime cannot be initialised twice).
#[cfg(not(target_arch = "wasm32"))]
pub fn auto_device() -> (Device, Backend, String) {
    static AUTO: std::sync::OnceLock<(Device, Backend, String)> = std::sync::OnceLock::new();
    AUTO.get_or_init(pick_auto_device).clone()
}

#[cfg(not(target_arch = "wasm32"))]
fn pick_auto_device() -> (Device, Backend, String) {
    use burn::tensor::wgpu::wgpu;
    use burn::tensor::DeviceKind;
    // Vulkan, Metal, DX12 only: a GL instance would load EGL (and print its complaints) just
    // to find a software rasteriser this function skips anyway.
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::PRIMARY,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let adapters = block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY));
    let infos: Vec<wgpu::AdapterInfo> = adapters.iter().map(|a| a.get_info()).collect();
    let describe = |i: &wgpu::AdapterInfo| format!("{} ({:?}, {:?})", i.name, i.device_type, i.backend);
    let pick = [
        (wgpu::DeviceType::DiscreteGpu, DeviceKind::DiscreteGpu(0)),
        (wgpu::DeviceType::IntegratedGpu, DeviceKind::IntegratedGpu(0)),
    ]
    .into_iter()
    .find_map(|(ty, kind)| infos.iter().find(|i| i.device_type == ty).map(|i| (kind, i)));
    if let Some((kind, info)) = pick {
        let what = describe(info);
        if let Err(e) = fusers_off() {
            return (Device::flex(), Backend::Cpu, format!("device: cpu: wgpu not opened: {e}"));
        }
        match Device::wgpu_options().device_kind(kind).init() {
            Ok(device) => return (device, Backend::WebGpu, format!("device: webgpu on {what} ({})", gpu_build())),
            Err(e) => return (Device::flex(), Backend::Cpu, format!("device: cpu: wgpu could not open {what}: {e}")),
        }
    }
    let why = if infos.is_empty() {
        "no wgpu adapter".to_string()
    } else {
        format!("no hardware GPU adapter; skipped {}", infos.iter().map(describe).collect::<Vec<_>>().join(", "))
    };
    (Device::flex(), Backend::Cpu, format!("device: cpu: {why}"))
}

/// What this build does on the GPU: fusion and autotune, the shader compiler, fusers switched off.
#[cfg(not(target_arch = "wasm32"))]
pub fn gpu_build() -> String {
    let tuning = if cfg!(feature = "gpu-tuning") { "fusion + autotune" } else { "no fusion, no autotune" };
    let compiler = if cfg!(feature = "spirv") { "SPIR-V on Vulkan" } else { "WGSL" };
    match fusers_off() {
        Ok(off) if !off.is_empty() => format!("{tuning}, fusers off: {}, {compiler}", off.join(", ")),
        _ => format!("{tuning}, {compiler}"),
    }
}

/// The environment variable naming the fusion optimizations to switch off on the GPU.
pub const FUSERS_OFF: &str = "VDIFF_FUSERS_OFF";

/// Switch off the fusion optimizations named in `VDIFF_FUSERS_OFF` (`all`, or comma-separated
/// names of burn-cubecl's built-in fusers: ElementWise, Matmul, Reduce, ReduceBroadcasted,
/// NHWCRelayout) before the GPU's first op, for the whole process. It measures what fusion buys
/// and routes around a fuser that computes wrong, without another build. Returns the names
/// switched off.
#[cfg(all(not(target_arch = "wasm32"), feature = "gpu-tuning"))]
pub fn fusers_off() -> Result<Vec<String>, String> {
    static DONE: std::sync::OnceLock<Result<Vec<String>, String>> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        use burn_cubecl::fusion::{remove, BUILTIN_NAMES};
        let Ok(value) = std::env::var(FUSERS_OFF) else { return Ok(Vec::new()) };
        let names: Vec<String> = if value.trim().eq_ignore_ascii_case("all") {
            BUILTIN_NAMES.iter().map(|n| n.to_string()).collect()
        } else {
            value.split(',').map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect()
        };
        for name in &names {
            if !BUILTIN_NAMES.contains(&name.as_str()) {
                return Err(format!("{FUSERS_OFF}: no fuser {name:?} (all, {})", BUILTIN_NAMES.join(", ")));
            }
            remove(name).map_err(|e| format!("{FUSERS_OFF}: cannot switch {name} off: {e:?}"))?;
        }
        Ok(names)
    })
    .clone()
}

/// Without fusion compiled in there is nothing to switch off; a request to is refused.
#[cfg(all(not(target_arch = "wasm32"), not(feature = "gpu-tuning")))]
pub fn fusers_off() -> Result<Vec<String>, String> {
    match std::env::var(FUSERS_OFF) {
        Ok(v) if !v.trim().is_empty() => {
            Err(format!("{FUSERS_OFF}={v}: this build has no fusion (feature gpu-tuning)"))
        }
        _ => Ok(Vec::new()),
    }
}

/// Drive a future that needs no reactor (wgpu's native adapter enumeration) to completion.
#[cfg(not(target_arch = "wasm32"))]
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::yield_now();
    }
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Backend::from_name(s).ok_or_else(|| format!("unknown device {s:?} ({})", Backend::NAMES.join(", ")))
    }
}
