//! What the two browser test binaries share: the fixtures' tiny networks (tests/fixtures.rs
//! writes them and checks native Flex against the stored outputs), the runs made with them, and
//! the comparisons with the native numbers.

use vdiff::burn::tensor::Device;
use vdiff::model::{ClassLayer, ClassLayerConfig, UNet};
use vdiff::sampler::{ModelKind, SampleConfig, Sampler};
use vdiff::weights::{load_bytes, sha256_hex, Arch, Entry, Manifest};

use crate::tiny::{floats, forward, max_diff, unet_config, v2_images, V2_SEED};

pub static UNET: &[u8] = include_bytes!("../fixtures/tiny-unet.bpk");
static LAYER: &[u8] = include_bytes!("../fixtures/tiny-layer.bpk");
/// Native Flex's U-Net output on the fixture input.
static V: &[u8] = include_bytes!("../fixtures/tiny-v.bin");
/// Native Flex's images from [`v2`] with [`V2_SEED`].
static V2_IMAGES: &[u8] = include_bytes!("../fixtures/tiny-v2-images.bin");

fn nets(device: &Device) -> (UNet, ClassLayer) {
    (
        load_bytes(unet_config().init(device), UNET, "tiny", "tiny").unwrap(),
        load_bytes(ClassLayerConfig::new().init(device), LAYER, "tiny", "tiny").unwrap(),
    )
}

/// The U-Net's velocity on the fixture input, against native Flex's.
pub async fn forward_diff(device: &Device) -> f32 {
    let (unet, _) = nets(device);
    let v = forward(&unet, device).into_data_async().await.unwrap().try_to_vec().unwrap();
    max_diff(&v, &floats(V))
}

/// The images of [`v2_images`], read back.
pub async fn v2(device: &Device, seed: u64) -> Vec<f32> {
    let (unet, layer) = nets(device);
    v2_images(&unet, &layer, device, seed).into_data_async().await.unwrap().try_to_vec().unwrap()
}

/// [`v2`] on this device: ten finite images, the same for the same seed, others for another,
/// and native Flex's within `tolerance`.
pub async fn check_v2(device: &Device, tolerance: f32) {
    let a = v2(device, V2_SEED).await;
    assert_eq!(a.len(), 10 * 3 * 32 * 32);
    assert!(a.iter().all(|v| v.is_finite()));
    assert_eq!(a, v2(device, V2_SEED).await, "same seed, same images");
    assert_ne!(a, v2(device, V2_SEED + 1).await, "other seed, other images");
    let d = max_diff(&a, &floats(V2_IMAGES));
    assert!(d < tolerance, "against native Flex: {d}");
}

/// A manifest with the fixture U-Net as "unconditional".
pub fn manifest() -> String {
    let entry = Entry {
        file: "tiny.bpk".into(),
        sha256: sha256_hex(UNET),
        bytes: UNET.len() as u64,
        arch: Arch::Unet { config: unet_config() },
    };
    Manifest { entries: [("unconditional".to_string(), entry)].into(), ..Default::default() }.to_json()
}

/// The config of unconditional ddim, as the page passes it.
pub fn ddim() -> wasm_bindgen::JsValue {
    serde_wasm_bindgen::to_value(&SampleConfig {
        sampler: Sampler::Ddim { model: ModelKind::Unconditional },
        ..Default::default()
    })
    .unwrap()
}

/// How many networks `engine` still needs for [`ddim`].
pub fn missing(engine: &vdiff::web::Engine) -> usize {
    let list: Vec<serde_json::Value> = serde_wasm_bindgen::from_value(engine.missing(ddim()).unwrap()).unwrap();
    list.len()
}

/// The message of an error from the page's calls.
pub fn message(err: wasm_bindgen::JsError) -> String {
    js_sys::Error::from(wasm_bindgen::JsValue::from(err)).message().into()
}
