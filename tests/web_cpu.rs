//! Browser tests of the page's CPU module (wasm-bindgen-test in headless Chromium): Flex in wasm
//! against native Flex, and the page's calls. Built with the module's features and profile by
//! scripts/browser-tests.sh, so it tests that build; tests/web_webgpu.rs tests the WebGPU one.
#![cfg(all(target_arch = "wasm32", feature = "flex"))]

mod browser;
mod tiny;

use browser::{check_v2, forward_diff, manifest, message, missing, UNET};
use tiny::unet_config;
use vdiff::burn::tensor::Device;
use vdiff::sampler::{FlatConfig, SampleConfig};
use vdiff::web::Engine;
use vdiff::weights::{sha256_hex, Arch, Entry, Manifest};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn unet_forward_on_wasm_flex_matches_native_flex() {
    let d = forward_diff(&Device::flex()).await;
    assert!(d < 1e-5, "wasm Flex vs native Flex: {d}");
}

#[wasm_bindgen_test]
async fn v2_two_steps_on_wasm_flex_gives_native_flexs_images_deterministically() {
    check_v2(&Device::flex(), 1e-4).await;
}

/// The page's engine loads each network once per backend: an engine made again (the user
/// switched to WebGPU and back) needs no weights; a backend this module lacks is named.
#[wasm_bindgen_test]
fn an_engine_made_again_reuses_its_networks() {
    let first = Engine::new("cpu", &manifest()).unwrap();
    assert_eq!(missing(&first), 1);
    // The worker warms up what Rust marks as a U-Net: entries are named for their model
    // ("unconditional"), not "unet".
    let listed: Vec<serde_json::Value> =
        serde_wasm_bindgen::from_value(first.missing(browser::ddim()).unwrap()).unwrap();
    assert_eq!((&listed[0]["name"], &listed[0]["unet"]), (&"unconditional".into(), &true.into()), "{listed:?}");
    first.load("unconditional", UNET).unwrap();
    assert_eq!(missing(&first), 0);
    assert_eq!(missing(&Engine::new("cpu", &manifest()).unwrap()), 0, "the CPU engine made again lost its U-Net");
    let err = message(Engine::new("webgpu", &manifest()).err().unwrap());
    assert!(err.contains("no \"webgpu\" backend"), "{err}");
}

/// The page's calls refuse what Rust refuses, naming the setting: a NaN from the form, and seeds
/// of the whole u64 range cross the wasm boundary without loss.
#[wasm_bindgen_test]
fn the_pages_config_calls_check_every_setting_and_keep_every_seed() {
    let v2 = "model=unconditional&sampler=v2&n=20&steps=5&steering=guide&fade=4";
    let mut flat = FlatConfig::from(SampleConfig::from_fragment(v2).unwrap());
    flat.w = f64::NAN;
    let err = vdiff::web::check_config(serde_wasm_bindgen::to_value(&flat).unwrap()).unwrap_err();
    assert!(message(err).starts_with("w must"));
    let link = format!("{v2}&seed=18446744073709551615");
    let cfg = vdiff::web::config_from_fragment(&link).unwrap();
    vdiff::web::check_config(cfg.clone()).unwrap();
    assert!(vdiff::web::config_to_fragment(cfg).unwrap().contains("seed=18446744073709551615"));
    let err = vdiff::web::config_from_fragment(&format!("{v2}&stpes=50")).unwrap_err();
    assert!(message(err).contains("stpes"));
}

/// A manifest entry this code cannot build (an absurd embedding would need gigabytes) is refused
/// by name when a run asks for it; the engine and every other entry still work.
#[wasm_bindgen_test]
fn an_absurd_manifest_entry_stops_only_what_needs_it() {
    let entry = |file: &str, arch| Entry { file: file.into(), sha256: sha256_hex(UNET), bytes: 1, arch };
    let mut json: serde_json::Value = serde_json::from_str(
        &Manifest {
            entries: [
                ("unconditional".to_string(), entry("tiny.bpk", Arch::Unet { config: unet_config() })),
                ("guide".to_string(), entry("guide.bpk", Arch::Guide { config: vdiff::model::GuideNetConfig::new() })),
            ]
            .into(),
            ..Default::default()
        }
        .to_json(),
    )
    .unwrap();
    json["entries"]["guide"]["config"]["embed"] = 4_000_000_000u64.into();
    let engine = Engine::new("cpu", &json.to_string()).unwrap();
    let v1 =
        serde_wasm_bindgen::to_value(&SampleConfig::from_fragment("sampler=v1&n=10&steps=2&steering=guide").unwrap())
            .unwrap();
    assert!(message(engine.missing(v1).unwrap_err()).contains("guide"));
    assert!(engine.missing(browser::ddim()).is_ok());
}
