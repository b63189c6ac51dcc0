//! Browser tests of the page's WebGPU module (wasm-bindgen-test in headless Chromium, on its
//! WebGPU adapter: SwiftShader here; no adapter fails, never skips). Built with the module's
//! features and profile by scripts/browser-tests.sh, so it tests that build.
#![cfg(all(target_arch = "wasm32", feature = "webgpu"))]

mod browser;
mod tiny;

use browser::{check_v2, forward_diff, manifest, message, missing, UNET};
use vdiff::burn::tensor::Device;
use vdiff::web::Engine;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn webgpu() -> Device {
    let answer: serde_json::Value = serde_wasm_bindgen::from_value(vdiff::web::init_webgpu().await.unwrap()).unwrap();
    assert_eq!(answer["ok"], true, "no WebGPU adapter in this browser: {answer}");
    Device::wgpu(vdiff::burn::tensor::DeviceKind::DefaultDevice)
}

#[wasm_bindgen_test]
async fn unet_forward_on_webgpu_matches_native_flex() {
    let d = forward_diff(&webgpu().await).await;
    assert!(d < 1e-4, "WebGPU vs native Flex: {d}");
}

#[wasm_bindgen_test]
async fn v2_two_steps_on_webgpu_gives_native_flexs_images_deterministically() {
    check_v2(&webgpu().await, 1e-3).await;
}

/// An engine made again for WebGPU (the user switched to the CPU and back) needs no weights; a
/// backend this module lacks is named.
#[wasm_bindgen_test]
async fn an_engine_made_again_reuses_its_networks() {
    webgpu().await;
    let first = Engine::new("webgpu", &manifest()).unwrap();
    assert_eq!(missing(&first), 1);
    first.load("unconditional", UNET).unwrap();
    assert_eq!(missing(&first), 0);
    assert_eq!(missing(&Engine::new("webgpu", &manifest()).unwrap()), 0, "the WebGPU engine made again lost its U-Net");
    let err = message(Engine::new("cpu", &manifest()).err().unwrap());
    assert!(err.contains("no \"cpu\" backend"), "{err}");
}
