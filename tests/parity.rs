//! Parity with the seed's PyTorch U-Net (method §3): the notebook's c = 32 conditional
//! network, its fixed inputs and outputs, and a 3-step eta = 0 ddim run.

use std::collections::HashMap;
use std::path::PathBuf;

use vdiff::burn::tensor::{Device, Int, Tensor, TensorData};
use vdiff::import::{import_torch_unet, read_safetensors, RawTensor};
use vdiff::model::{UNet, UNetConfig};
use vdiff::sampler::{Nets, SampleConfig, Sampling, Steer};

/// The seed's reference file: `$VDIFF_PARITY_FILE`, else the project's `shared/` beside or
/// inside the checkout. Missing is a failure, never a skip.
fn reference() -> PathBuf {
    let name = "reference/unet-c32-parity.safetensors";
    // Relative: cargo runs tests from the package root, and an env!() path would go stale when
    // another checkout shares the build cache.
    let candidates: Vec<PathBuf> =
        std::env::var("VDIFF_PARITY_FILE").map(|p| vec![PathBuf::from(p)]).unwrap_or_else(|_| {
            vec![
                PathBuf::from("../shared").join(name),
                PathBuf::from("shared").join(name),
                PathBuf::from("/work/shared").join(name),
            ]
        });
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| panic!("parity file missing; looked at {candidates:?} (set VDIFF_PARITY_FILE)"))
}

/// The U-Net's velocity on a file's fixed inputs `io.x`, `io.log_snr` (and `io.class` when
/// the network is conditional).
fn forward_on_io(unet: &UNet, io: &HashMap<String, RawTensor>, device: &Device) -> Vec<f32> {
    let b = io["io.log_snr"].shape[0];
    let x = Tensor::<4>::from_data(TensorData::new(io["io.x"].f32s(), [b, 3, 32, 32]), device);
    let ls = Tensor::<1>::from_data(TensorData::new(io["io.log_snr"].f32s(), [b]), device);
    let cls =
        unet.is_conditional().then(|| Tensor::<1, Int>::from_data(TensorData::new(io["io.class"].i64s(), [b]), device));
    unet.forward(x, ls, cls).into_data().try_to_vec::<f32>().unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn unet_forward_matches_pytorch() {
    let device = Device::flex();
    let path = reference();
    let cfg = UNetConfig::new().with_width(32).with_levels(4).with_conditional(true);
    let unet = import_torch_unet(&path, &cfg, &device).unwrap();
    let io = read_safetensors(&path, "io.").unwrap();
    let d = max_diff(&forward_on_io(&unet, &io, &device), &io["io.v"].f32s());
    assert!(d < 1e-4, "max |v − v_torch| = {d}");
}

/// The crate's own ddim sampler (eta = 0, so no noise is drawn) on the imported network,
/// started from the reference noise, reproduces the notebook's 3-step result.
#[test]
fn ddim_three_steps_eta0_matches_pytorch() {
    let device = Device::flex();
    let path = reference();
    let cfg = UNetConfig::new().with_width(32).with_levels(4).with_conditional(true);
    let unet = import_torch_unet(&path, &cfg, &device).unwrap();
    let io = read_safetensors(&path, "io.").unwrap();
    let classes: Vec<usize> = io["io.class"].i64s().iter().map(|&c| c as usize).collect();
    let sc = SampleConfig { n: 4, steps: 3, eta: 0.0, classes, ..Default::default() };
    assert_eq!(sc.image_classes(), sc.classes, "one image per reference class, in order");
    let noise = Tensor::<4>::from_data(TensorData::new(io["io.ddim_noise"].f32s(), [4, 3, 32, 32]), &device);
    let none: Option<&dyn Steer> = None;
    let run = Sampling::with_initial_noise(&sc, Nets { unet: &unet, steering: none }, &device, noise).unwrap();
    let got = run.finish().images.into_data().try_to_vec::<f32>().unwrap();
    let d = max_diff(&got, &io["io.ddim_eta0_3steps"].f32s());
    assert!(d < 1e-4, "max diff {d}");
}

/// The GPU trainer's export (`scripts/gpu/train.py`, names of `scripts/gpu/unet.py`) of a
/// 3-level network imports exactly: fixtures written by `python3 scripts/gpu/unet.py --fixtures`.
#[test]
fn gpu_trainer_export_imports_exactly() {
    let device = Device::flex();
    for conditional in [true, false] {
        let kind = if conditional { "conditional" } else { "unconditional" };
        let path = PathBuf::from(format!("tests/fixtures/torch-c8-l3-{kind}.safetensors"));
        let cfg = UNetConfig::new().with_width(8).with_levels(3).with_conditional(conditional);
        let unet = import_torch_unet(&path, &cfg, &device).unwrap();
        let io = read_safetensors(&path, "io.").unwrap();
        let d = max_diff(&forward_on_io(&unet, &io, &device), &io["io.v"].f32s());
        assert!(d < 1e-4, "{kind}: max |v − v_torch| = {d}");
    }
}

/// `export-torch` is the inverse of `import-torch`: a U-Net written with the notebook's names
/// (f32, and f16 as a lease's warm start uses) imports back to the same network.
#[test]
fn export_then_import_round_trips() {
    use vdiff::import::export_torch_unet;
    let device = Device::flex();
    let path = PathBuf::from("tests/fixtures/torch-c8-l3-conditional.safetensors");
    let cfg = UNetConfig::new().with_width(8).with_levels(3).with_conditional(true);
    let unet = import_torch_unet(&path, &cfg, &device).unwrap();
    let io = read_safetensors(&path, "io.").unwrap();
    let want = forward_on_io(&unet, &io, &device);
    for (half, tol) in [(false, 1e-6), (true, 5e-2)] {
        let out = std::env::temp_dir().join(format!("vdiff-export-{}-{half}.safetensors", std::process::id()));
        export_torch_unet(unet.clone(), &out, half).unwrap();
        let names = read_safetensors(&out, "").unwrap();
        assert!(names.contains_key("net.2.main.1.main.0.weight") && names.contains_key("timestep_embed.weight"));
        assert_eq!(names["class_embed.weight"].dtype, if half { "F16" } else { "F32" });
        let back = import_torch_unet(&out, &cfg, &device).unwrap();
        let d = max_diff(&forward_on_io(&back, &io, &device), &want);
        assert!(d < tol, "half = {half}: max |Δv| = {d}");
        std::fs::remove_file(out).ok();
    }
}

/// The GPU-trained evaluation classifier (`scripts/gpu/classifier.py`, PyTorch layout) imports
/// exactly: a fixture written by `python3 scripts/gpu/classifier.py --fixtures`. A U-Net file
/// offered as a classifier is refused with the parameters it lacks.
#[test]
fn gpu_classifier_export_imports_exactly() {
    use vdiff::eval::classifier::ClassifierConfig;
    use vdiff::import::{import_torch_classifier, ImportError};
    let device = Device::flex();
    let path = PathBuf::from("tests/fixtures/torch-classifier-w8.safetensors");
    let cfg = ClassifierConfig::new().with_width(8).with_features(16);
    let clf = import_torch_classifier(&path, &cfg, &device).unwrap();
    let io = read_safetensors(&path, "io.").unwrap();
    let x = Tensor::<4>::from_data(TensorData::new(io["io.x"].f32s(), [4, 3, 32, 32]), &device);
    let logits = clf.forward(x).into_data().try_to_vec::<f32>().unwrap();
    let d = max_diff(&logits, &io["io.logits"].f32s());
    assert!(d < 1e-4, "max |logits − logits_torch| = {d}");

    let unet_file = PathBuf::from("tests/fixtures/torch-c8-l3-conditional.safetensors");
    let err = import_torch_classifier(&unet_file, &cfg, &device).unwrap_err();
    assert!(matches!(err, ImportError::Missing { .. } | ImportError::Store { .. }), "{err}");
    assert!(err.to_string().contains("torch-c8-l3-conditional"), "{err}");
}
