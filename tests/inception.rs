//! Inception-v3 loading through burn-store's PyTorch reader, on `.pth` files this test writes in
//! PyTorch's own zip + pickle format (the real 100 MB checkpoint cannot be downloaded here).
#![cfg(feature = "train")]

#[path = "support/pth.rs"]
mod pth;

use burn::store::ModuleSnapshot;
use burn::tensor::{Device, Tensor, TensorData};
use pth::{state_dict, write_pth, PtData, PtTensor};
use vdiff::burn;
use vdiff::eval::inception::{load_inception, InceptionConfig, InceptionV3};

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("vdiff-inception-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn input(device: &Device) -> Tensor<4> {
    let v: Vec<f32> = (0..2 * 3 * 24 * 24).map(|i| ((i * 37 % 101) as f32 / 50.0) - 1.0).collect();
    Tensor::from_data(TensorData::new(v, [2, 3, 24, 24]), device)
}

fn random_net(classes: usize, fid: bool, device: &Device) -> InceptionV3 {
    device.seed(7);
    let mut net =
        InceptionConfig::new().with_num_classes(classes).with_fid_pooling(fid).with_channel_div(16).init(device);
    // Non-trivial BatchNorm statistics, so a mixed-up mean/var/weight/bias changes the output.
    let mut snaps = net.collect(None, None, false);
    for t in snaps.iter_mut().filter(|t| t.name.contains(".bn.")) {
        let n = t.shape.num_elements();
        let shift = if t.name.ends_with("running_var") { 1.5 } else { 0.3 };
        let v: Vec<f32> = (0..n).map(|i| shift + 0.1 * ((i % 7) as f32)).collect();
        *t = burn::store::bridge::from_data(TensorData::new(v, [n]), t.name.clone(), t.param_id);
    }
    let r = net.apply(snaps, None, None, false);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    net
}

fn max_diff(a: Tensor<2>, b: Tensor<2>) -> f32 {
    (a - b).abs().max().into_scalar()
}

#[test]
fn pytorch_checkpoint_loads_and_gives_the_same_logits() {
    let device = Device::flex();
    let dir = tmp("roundtrip");
    for (classes, fid) in [(1008, true), (1000, false)] {
        let net = random_net(classes, fid, &device);
        let path = dir.join(format!("inception-{classes}.pth"));
        write_pth(&path, &state_dict(&net));
        let loaded = load_inception(&path, &device).unwrap();
        let (want, got) = (net.forward(input(&device)), loaded.forward(input(&device)));
        assert_eq!(got.dims(), [2, classes]);
        let diff = max_diff(want.clone(), got);
        assert!(diff < 1e-5, "{classes} classes: logits differ by {diff}");
        // The pooling variant is read from the file: the other variant gives other logits.
        let other = random_net(classes, !fid, &device);
        assert!(max_diff(want, other.forward(input(&device))) > 1e-4, "pooling variants should differ");
    }
}

#[test]
fn loaded_values_follow_pytorch_layout() {
    let device = Device::flex();
    let dir = tmp("layout");
    let net = random_net(1008, true, &device);
    let sd = state_dict(&net);
    let path = dir.join("inception.pth");
    write_pth(&path, &sd);
    let loaded = load_inception(&path, &device).unwrap();
    let fc = sd.iter().find(|t| t.name == "fc.weight").unwrap();
    let PtData::F32(fc_values) = &fc.data else { unreachable!() };
    // torch fc.weight[3, 5] is Burn's fc.weight[5, 3].
    let burn_w: Vec<f32> = loaded.fc.weight.val().into_data().try_to_vec().unwrap();
    assert_eq!(burn_w[5 * 1008 + 3], fc_values[3 * fc.shape[1] + 5]);
    let var: Vec<f32> = loaded.Mixed_6b.branch7x7_2.bn.running_var.value().into_data().try_to_vec().unwrap();
    assert_eq!(&var[..3], &[1.5, 1.6, 1.7]);
    assert_eq!(loaded.Mixed_6b.branch7x7_2.conv.weight.dims(), [128 / 16, 128 / 16, 1, 7]);
}

#[test]
fn bad_checkpoints_give_clear_errors() {
    let device = Device::flex();
    let dir = tmp("errors");
    let missing = dir.join("nope.pth");
    let e = load_inception(&missing, &device).unwrap_err().to_string();
    assert!(e.contains("nope.pth") && e.contains("no such file"), "{e}");

    let garbage = dir.join("garbage.pth");
    std::fs::write(&garbage, b"not a checkpoint at all").unwrap();
    let e = load_inception(&garbage, &device).unwrap_err().to_string();
    assert!(e.contains("garbage.pth"), "{e}");

    // A real PyTorch file, but of some other network.
    let other = dir.join("other.pth");
    write_pth(&other, &[PtTensor { name: "conv.weight".into(), shape: vec![2], data: PtData::F32(vec![1.0, 2.0]) }]);
    let e = load_inception(&other, &device).unwrap_err().to_string();
    assert!(e.contains("not an Inception-v3 checkpoint") && e.contains("fc.weight"), "{e}");

    // Inception names with one block's weights absent.
    let net = random_net(1008, true, &device);
    let sd: Vec<PtTensor> =
        state_dict(&net).into_iter().filter(|t| !t.name.starts_with("Mixed_7c.branch1x1")).collect();
    let partial = dir.join("partial.pth");
    write_pth(&partial, &sd);
    let e = load_inception(&partial, &device).unwrap_err().to_string();
    assert!(e.contains("missing") && e.contains("Mixed_7c.branch1x1"), "{e}");
}

#[test]
fn full_size_network_gives_finite_logits_for_cifar_images() {
    let device = Device::flex();
    device.seed(1);
    let net = InceptionConfig::new().init(&device);
    let x = Tensor::<4>::random([1, 3, 32, 32], burn::tensor::Distribution::Uniform(-1.0, 1.0), &device);
    let feats = net.features(x.clone());
    assert_eq!(feats.dims(), [1, 2048]);
    let logits: Vec<f32> = net.forward(x).into_data().try_to_vec().unwrap();
    assert_eq!(logits.len(), 1008);
    assert!(logits.iter().all(|v| v.is_finite()));
}
