//! The page's WebGPU device: which adapters it accepts, its first tensor, and the device errors
//! it keeps for the next step to report instead of aborting the module.

use burn::tensor::wgpu::wgpu;
use burn::tensor::{Device, Tensor};
use wasm_bindgen::prelude::*;

use super::to_js;

/// The WebGPU device, once [`init_webgpu`] accepted the adapter: the most bytes one buffer may
/// hold on it, and the first error the device reported since (a shader that failed validation,
/// a buffer over a limit): a run after one would read wrong numbers, so it fails instead.
struct WebGpu {
    max_buffer: u64,
    error: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

thread_local! {
    static WEBGPU: std::cell::RefCell<Option<WebGpu>> = const { std::cell::RefCell::new(None) };
}

/// What WebGPU init found: `{ok: true, adapter: "...", software, max_buffer}` or
/// `{ok: false, error: "..."}`. Initialises once per page; later calls repeat the answer.
///
/// An adapter without `timestamp-query` is refused: Burn's WebGPU runtime (CubeCL) then times
/// its work on the CPU clock, which it cannot read in a browser, and traps at the first tensor.
#[wasm_bindgen]
pub async fn init_webgpu() -> Result<JsValue, JsError> {
    thread_local! {
        static ANSWER: std::cell::RefCell<Option<serde_json::Value>> = const { std::cell::RefCell::new(None) };
    }
    if let Some(a) = ANSWER.with(|a| a.borrow().clone()) {
        return to_js(&a);
    }
    let answer = match Device::wgpu_options().init_with_setup_async().await {
        Ok((_, setup)) if !setup.adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY) => serde_json::json!({
            "ok": false,
            "error": format!("the WebGPU adapter ({}) lacks the \"timestamp-query\" feature, which Burn's WebGPU runtime needs in a browser", adapter_name(&setup.adapter.get_info())),
        }),
        Ok((device, setup)) => match first_op(&device).await {
            Ok(()) => {
                let info = setup.adapter.get_info();
                let limits = setup.device.limits();
                let max_buffer = limits.max_buffer_size.min(limits.max_storage_buffer_binding_size as u64);
                // CubeCL's own handler aborts the module on any device error; this one keeps the
                // error for the next step to report.
                let error = std::sync::Arc::new(std::sync::Mutex::new(None));
                let kept = error.clone();
                setup.device.on_uncaptured_error(std::sync::Arc::new(move |e: wgpu::Error| {
                    web_sys::console::error_1(&format!("WebGPU: {e}").into());
                    kept.lock().map(|mut k| k.get_or_insert(e.to_string()).clone()).ok();
                }));
                WEBGPU.with(|w| *w.borrow_mut() = Some(WebGpu { max_buffer, error }));
                serde_json::json!({
                    "ok": true,
                    "adapter": adapter_name(&info),
                    "software": info.device_type == wgpu::DeviceType::Cpu,
                    "max_buffer": max_buffer,
                })
            }
            Err(e) => serde_json::json!({ "ok": false, "error": format!("WebGPU did not run a first tensor: {e}") }),
        },
        Err(e) => serde_json::json!({ "ok": false, "error": e.to_string() }),
    };
    ANSWER.with(|a| *a.borrow_mut() = Some(answer.clone()));
    to_js(&answer)
}

fn adapter_name(info: &wgpu::AdapterInfo) -> String {
    if info.name.is_empty() {
        format!("a {:?} adapter", info.device_type)
    } else {
        info.name.clone()
    }
}

/// One small tensor through the device and back: CubeCL sets up its streams (and its error
/// handler) on first use, so after this the page's handler is the one that stays.
async fn first_op(device: &Device) -> Result<(), String> {
    let t = Tensor::<1>::from_floats([1.0, 2.0], device) * 2.0;
    let v = t.into_data_async().await.map_err(|e| e.to_string())?.try_to_vec::<f32>().map_err(|e| format!("{e:?}"))?;
    match v.as_slice() {
        [a, b] if *a == 2.0 && *b == 4.0 => Ok(()),
        other => Err(format!("2·[1, 2] gave {other:?}")),
    }
}

/// The device error WebGPU reported since init, if any.
pub(super) fn device_error() -> Option<String> {
    WEBGPU.with(|w| w.borrow().as_ref().and_then(|w| w.error.lock().ok()?.clone()))
}

/// Whether init_webgpu accepted an adapter.
pub(super) fn accepted() -> bool {
    WEBGPU.with(|w| w.borrow().is_some())
}

/// The most bytes one buffer may hold on the accepted device (0 before init).
pub(super) fn max_buffer() -> u64 {
    WEBGPU.with(|w| w.borrow().as_ref().map(|w| w.max_buffer)).unwrap_or(0)
}

/// Bytes one row of a width-`c` U-Net may need in one buffer: its widest activation (the skip
/// concatenation at full resolution, `2c` channels of 32×32 f32; Burn's direct convolution
/// copies its input once, channels last), with room for four such in one buffer (the memory
/// pool packs several tensors into one).
pub(super) fn largest_buffer_per_row(c: usize) -> usize {
    4 * 2 * c * 32 * 32 * 4
}
