//! The fixed networks and expected outputs the browser tests (tests/web_cpu.rs,
//! tests/web_webgpu.rs) compare the page's modules against: these native tests check that Flex
//! still gives the stored numbers. Regenerate with `VDIFF_BLESS=1 cargo test --release --test fixtures`.

mod tiny;

use std::path::PathBuf;

use vdiff::burn::tensor::Device;
use vdiff::model::ClassLayerConfig;
use vdiff::weights::{load_bytes, to_bytes};

use tiny::{floats, forward, max_diff, unet_config, v2_images, V2_SEED};

fn dir() -> PathBuf {
    // Relative: cargo runs tests from the package root, and an env!() path would go stale when
    // another checkout shares the build cache.
    PathBuf::from("tests/fixtures")
}

fn bless() -> bool {
    std::env::var("VDIFF_BLESS").is_ok()
}

/// `got` against the stored floats in `file` (written first when blessing).
fn check_stored(file: &str, got: &[f32], tolerance: f32) {
    let path = dir().join(file);
    if bless() {
        std::fs::write(&path, got.iter().flat_map(|f| f.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
    }
    let want = floats(&std::fs::read(path).unwrap());
    let d = max_diff(got, &want);
    assert!(d < tolerance, "Flex output drifted from {file} by {d}");
    assert!(want.iter().any(|&w| w.abs() > 1e-3), "{file} is not trivial");
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(dir().join(file)).unwrap()
}

#[test]
fn flex_reproduces_the_stored_unet_output() {
    let device = Device::flex();
    if bless() {
        device.seed(0);
        std::fs::create_dir_all(dir()).unwrap();
        std::fs::write(dir().join("tiny-unet.bpk"), to_bytes(unet_config().init(&device), false)).unwrap();
        std::fs::write(dir().join("tiny-layer.bpk"), to_bytes(ClassLayerConfig::new().init(&device), true)).unwrap();
    }
    let unet = load_bytes(unet_config().init(&device), &read("tiny-unet.bpk"), "tiny", "tiny").unwrap();
    check_stored("tiny-v.bin", &forward(&unet, &device).into_data().try_to_vec::<f32>().unwrap(), 1e-5);
}

#[test]
fn flex_reproduces_the_stored_v2_images() {
    let device = Device::flex();
    let unet = load_bytes(unet_config().init(&device), &read("tiny-unet.bpk"), "tiny", "tiny").unwrap();
    let layer = load_bytes(ClassLayerConfig::new().init(&device), &read("tiny-layer.bpk"), "tiny", "tiny").unwrap();
    let images = v2_images(&unet, &layer, &device, V2_SEED);
    check_stored("tiny-v2-images.bin", &images.into_data().try_to_vec::<f32>().unwrap(), 1e-5);
}
