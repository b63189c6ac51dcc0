//! Browser tests (wasm-bindgen-test in headless Chromium): the page's code on WebGPU.
//! Run by scripts/browser-tests.sh; a WebGPU adapter must exist (SwiftShader here) — no skip.
#![cfg(target_arch = "wasm32")]

use vdiff::burn::tensor::{Device, Tensor, TensorData};
use vdiff::model::{ClassLayer, ClassLayerConfig, UNet, UNetConfig};
use vdiff::noise::Noise;
use vdiff::sampler::{CopySteering, ModelKind, Nets, SampleConfig, Sampler, Sampling, SteeringConfig, DEFAULT_W};
use vdiff::weights::load_bytes;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

static UNET: &[u8] = include_bytes!("fixtures/tiny-unet.bpk");
static LAYER: &[u8] = include_bytes!("fixtures/tiny-layer.bpk");
static V: &[u8] = include_bytes!("fixtures/tiny-v.bin");

async fn webgpu() -> Device {
    let answer: serde_json::Value = serde_wasm_bindgen::from_value(vdiff::web::init_webgpu().await.unwrap()).unwrap();
    assert_eq!(answer["ok"], true, "no WebGPU adapter in this browser: {answer}");
    Device::wgpu(vdiff::burn::tensor::DeviceKind::DefaultDevice)
}

fn nets(device: &Device) -> (UNet, ClassLayer) {
    let u = UNetConfig::new().with_width(8).with_levels(2).with_conditional(false);
    (
        load_bytes(u.init(device), UNET, "tiny", "tiny").unwrap(),
        load_bytes(ClassLayerConfig::new().init(device), LAYER, "tiny", "tiny").unwrap(),
    )
}

async fn forward(device: &Device) -> Vec<f32> {
    let (unet, _) = nets(device);
    let x = Noise::new(11).normal_tensor([2, 3, 32, 32], device);
    let ls = Tensor::<1>::from_data(TensorData::new(vec![-1.0f32, 2.0], [2]), device);
    unet.forward(x, ls, None).into_data_async().await.unwrap().try_to_vec().unwrap()
}

fn expected() -> Vec<f32> {
    V.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[wasm_bindgen_test]
async fn unet_forward_on_webgpu_matches_native_flex() {
    let device = webgpu().await;
    let d = max_diff(&forward(&device).await, &expected());
    assert!(d < 1e-4, "WebGPU vs native Flex: {d}");
}

#[wasm_bindgen_test]
async fn unet_forward_on_wasm_flex_matches_native_flex() {
    let d = max_diff(&forward(&Device::flex()).await, &expected());
    assert!(d < 1e-5, "wasm Flex vs native Flex: {d}");
}

async fn v2(device: &Device, seed: u64) -> Vec<f32> {
    let (unet, layer) = nets(device);
    let cfg = SampleConfig {
        sampler: Sampler::V2 {
            steering: SteeringConfig::default(),
            w: DEFAULT_W,
            fan_eta: None,
            copies: CopySteering::Paper,
        },
        n: 10,
        steps: 2,
        seed,
        ..Default::default()
    };
    let mut run = Sampling::new(&cfg, Nets { unet: &unet, steering: Some(&layer) }, device).unwrap();
    while run.step().is_some() {}
    let out = run.finish();
    assert_eq!(out.unet_rows, 11);
    out.images.into_data_async().await.unwrap().try_to_vec().unwrap()
}

#[wasm_bindgen_test]
async fn v2_two_steps_on_webgpu_gives_ten_finite_images_deterministically() {
    let device = webgpu().await;
    let a = v2(&device, 3).await;
    assert_eq!(a.len(), 10 * 3 * 32 * 32);
    assert!(a.iter().all(|v| v.is_finite()));
    let b = v2(&device, 3).await;
    assert_eq!(a, b, "same seed, same images");
    let c = v2(&device, 4).await;
    assert_ne!(a, c, "other seed, other images");
    // And the same numbers as the CPU backend, within float tolerance.
    let cpu = v2(&Device::flex(), 3).await;
    assert!(max_diff(&a, &cpu) < 1e-3, "WebGPU vs Flex: {}", max_diff(&a, &cpu));
}

/// The page's engine loads each network once per backend: an engine made again for the same
/// backend (the user switched to WebGPU and back) needs no weights, one for another backend does.
#[wasm_bindgen_test]
async fn an_engine_made_again_for_a_backend_reuses_its_networks() {
    use vdiff::weights::{sha256_hex, Arch, Entry, Manifest};
    let config = UNetConfig::new().with_width(8).with_levels(2).with_conditional(false);
    let entry = Entry {
        file: "tiny.bpk".into(),
        sha256: sha256_hex(UNET),
        bytes: UNET.len() as u64,
        arch: Arch::Unet { config },
    };
    let manifest = Manifest { entries: [("unconditional".to_string(), entry)].into(), ..Default::default() }.to_json();
    let run = SampleConfig { sampler: Sampler::Ddim { model: ModelKind::Unconditional }, ..Default::default() };
    let run = serde_wasm_bindgen::to_value(&run).unwrap();
    let missing = |e: &vdiff::web::Engine| {
        let list: Vec<serde_json::Value> = serde_wasm_bindgen::from_value(e.missing(run.clone()).unwrap()).unwrap();
        list.len()
    };

    let first = vdiff::web::Engine::new("cpu", &manifest).unwrap();
    assert_eq!(missing(&first), 1);
    // The worker warms up what Rust marks as a U-Net: entries are named for their model
    // ("unconditional"), so a test of the name (as the worker once did) never matched.
    let listed: Vec<serde_json::Value> = serde_wasm_bindgen::from_value(first.missing(run.clone()).unwrap()).unwrap();
    assert_eq!((&listed[0]["name"], &listed[0]["unet"]), (&"unconditional".into(), &true.into()), "{listed:?}");
    first.load("unconditional", UNET).unwrap();
    assert_eq!(missing(&first), 0);
    assert_eq!(
        missing(&vdiff::web::Engine::new("cpu", &manifest).unwrap()),
        0,
        "the CPU engine made again lost its U-Net"
    );
    webgpu().await;
    assert_eq!(
        missing(&vdiff::web::Engine::new("webgpu", &manifest).unwrap()),
        1,
        "a WebGPU engine cannot use CPU tensors"
    );
}

/// The page's calls refuse what Rust refuses, naming the setting: a NaN from the form, and seeds
/// of the whole u64 range cross the wasm boundary without loss.
#[wasm_bindgen_test]
fn the_pages_config_calls_check_every_setting_and_keep_every_seed() {
    use vdiff::sampler::FlatConfig;
    let v2 = "model=unconditional&sampler=v2&n=20&steps=5&steering=guide&fade=4";
    let mut flat = FlatConfig::from(SampleConfig::from_fragment(v2).unwrap());
    flat.w = f64::NAN;
    let err = vdiff::web::check_config(serde_wasm_bindgen::to_value(&flat).unwrap()).unwrap_err();
    assert!(String::from(js_sys::Error::from(wasm_bindgen::JsValue::from(err)).message()).starts_with("w must"));
    let link = format!("{v2}&seed=18446744073709551615");
    let cfg = vdiff::web::config_from_fragment(&link).unwrap();
    vdiff::web::check_config(cfg.clone()).unwrap();
    assert!(vdiff::web::config_to_fragment(cfg).unwrap().contains("seed=18446744073709551615"));
    let err = vdiff::web::config_from_fragment(&format!("{v2}&stpes=50")).unwrap_err();
    let text = js_sys::Error::from(wasm_bindgen::JsValue::from(err)).message();
    assert!(String::from(text).contains("stpes"));
}

/// A manifest entry this code cannot build (an absurd embedding would need gigabytes) is refused
/// by name when a run asks for it; the engine and every other entry still work.
#[wasm_bindgen_test]
fn an_absurd_manifest_entry_stops_only_what_needs_it() {
    use vdiff::weights::{sha256_hex, Arch, Entry, Manifest};
    let unet = UNetConfig::new().with_width(8).with_levels(2).with_conditional(false);
    let entry = |file: &str, arch| Entry { file: file.into(), sha256: sha256_hex(UNET), bytes: 1, arch };
    let mut json: serde_json::Value = serde_json::from_str(
        &Manifest {
            entries: [
                ("unconditional".to_string(), entry("tiny.bpk", Arch::Unet { config: unet })),
                ("guide".to_string(), entry("guide.bpk", Arch::Guide { config: vdiff::model::GuideNetConfig::new() })),
            ]
            .into(),
            ..Default::default()
        }
        .to_json(),
    )
    .unwrap();
    json["entries"]["guide"]["config"]["embed"] = 4_000_000_000u64.into();
    let engine = vdiff::web::Engine::new("cpu", &json.to_string()).unwrap();
    let v1 =
        serde_wasm_bindgen::to_value(&SampleConfig::from_fragment("sampler=v1&n=10&steps=2&steering=guide").unwrap())
            .unwrap();
    let err = js_sys::Error::from(wasm_bindgen::JsValue::from(engine.missing(v1).unwrap_err())).message();
    assert!(String::from(err).contains("guide"));
    let ddim = SampleConfig { sampler: Sampler::Ddim { model: ModelKind::Unconditional }, ..Default::default() };
    assert!(engine.missing(serde_wasm_bindgen::to_value(&ddim).unwrap()).is_ok());
}
