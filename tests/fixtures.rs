//! The fixed networks and expected outputs the browser tests (tests/web.rs) compare WebGPU
//! against: this native test checks that Flex still gives the stored numbers.
//! Regenerate with `VDIFF_BLESS=1 cargo test --release --test fixtures`.

use std::path::PathBuf;

use vdiff::burn::tensor::{Device, Tensor, TensorData};
use vdiff::model::{ClassLayerConfig, UNetConfig};
use vdiff::noise::Noise;
use vdiff::weights::{load_bytes, to_bytes};

fn dir() -> PathBuf {
    // Relative: cargo runs tests from the package root, and an env!() path would go stale when
    // another checkout shares the build cache.
    PathBuf::from("tests/fixtures")
}

/// The tiny networks of the fixtures (shared with tests/web.rs by value).
fn unet_config() -> UNetConfig {
    UNetConfig::new().with_width(8).with_levels(2).with_conditional(false)
}

#[test]
fn flex_reproduces_the_stored_fixture_outputs() {
    let device = Device::flex();
    if std::env::var("VDIFF_BLESS").is_ok() {
        device.seed(0);
        std::fs::create_dir_all(dir()).unwrap();
        std::fs::write(dir().join("tiny-unet.bpk"), to_bytes(unet_config().init(&device), false)).unwrap();
        std::fs::write(dir().join("tiny-layer.bpk"), to_bytes(ClassLayerConfig::new().init(&device), true)).unwrap();
    }
    let unet =
        load_bytes(unet_config().init(&device), &std::fs::read(dir().join("tiny-unet.bpk")).unwrap(), "tiny", "tiny")
            .unwrap();
    let x = Noise::new(11).normal_tensor([2, 3, 32, 32], &device);
    let ls = Tensor::<1>::from_data(TensorData::new(vec![-1.0f32, 2.0], [2]), &device);
    let v: Vec<f32> = unet.forward(x, ls, None).into_data().try_to_vec().unwrap();
    let path = dir().join("tiny-v.bin");
    if std::env::var("VDIFF_BLESS").is_ok() {
        std::fs::write(&path, v.iter().flat_map(|f| f.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
    }
    let want: Vec<f32> =
        std::fs::read(path).unwrap().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
    let d = v.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(d < 1e-5, "Flex output drifted from the fixture by {d}");
    assert!(want.iter().any(|&w| w.abs() > 1e-3), "fixture output is not trivial");
}
