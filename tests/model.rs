//! Shapes of the networks, `.bpk` round trips and architecture checks.

use vdiff::burn::tensor::{Device, Int, Tensor, TensorData};
use vdiff::model::{ClassLayerConfig, UNetConfig};
use vdiff::noise::Noise;
use vdiff::weights::{load_bytes, to_bytes, Arch, Manifest, WeightsError};

fn small(conditional: bool) -> UNetConfig {
    UNetConfig::new().with_width(8).with_levels(3).with_conditional(conditional)
}

fn inputs(b: usize, device: &Device) -> (Tensor<4>, Tensor<1>, Tensor<1, Int>) {
    let x = Noise::new(3).normal_tensor([b, 3, 32, 32], device);
    let ls = Tensor::<1>::from_data(TensorData::new(vec![-3.0f32, 0.5, 4.0][..b].to_vec(), [b]), device);
    let c = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 4, 9][..b].to_vec(), [b]), device);
    (x, ls, c)
}

fn vec4(t: Tensor<4>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

#[test]
fn unet_shapes_conditional_and_unconditional() {
    let device = Device::flex();
    for levels in [2, 3, 4] {
        for cond in [false, true] {
            let net = small(cond).with_levels(levels).init(&device);
            let (x, ls, c) = inputs(3, &device);
            let y = net.forward(x, ls, cond.then_some(c));
            assert_eq!(y.dims(), [3, 3, 32, 32], "levels={levels} cond={cond}");
            assert!(vec4(y).iter().all(|v| v.is_finite()));
        }
    }
}

#[test]
fn class_layer_shapes_and_fan_out() {
    let device = Device::flex();
    for residual in [false, true] {
        let layer = ClassLayerConfig::new().with_residual(residual).init(&device);
        let (x, _, c) = inputs(3, &device);
        let y = layer.forward(x.clone(), c);
        assert_eq!(y.dims(), [3, 3, 32, 32]);
        if !residual {
            assert!(vec4(y.clone()).iter().all(|&v| v >= 0.0), "faithful variant ends in ReLU");
        }
        let f = layer.fan_out(x.clone().narrow(0, 0, 2), &[1, 5, 7]);
        assert_eq!(f.dims(), [6, 3, 32, 32]);
        // Row r·k + j of the fan-out is row r steered to class j: same as forward.
        let direct =
            layer.forward(x.narrow(0, 1, 1), Tensor::<1, Int>::from_data(TensorData::new(vec![7i64], [1]), &device));
        let a = vec4(f.narrow(0, 5, 1));
        let b = vec4(direct);
        assert!(a.iter().zip(&b).all(|(p, q)| (p - q).abs() < 1e-5));
    }
}

#[test]
fn per_class_linear_uses_each_rows_class() {
    let device = Device::flex();
    let layer = ClassLayerConfig::new().with_residual(true).init(&device);
    let (x, _, _) = inputs(1, &device);
    let x2 = x.clone().repeat_dim(0, 2);
    let c = Tensor::<1, Int>::from_data(TensorData::new(vec![2i64, 3], [2]), &device);
    let y = vec4(layer.forward(x2, c));
    assert_ne!(y[..3072], y[3072..], "different classes must steer differently");
}

#[test]
fn bpk_round_trip_is_exact_and_f16_is_close() {
    let device = Device::flex();
    let net = small(true).init(&device);
    let (x, ls, c) = inputs(2, &device);
    let want = vec4(net.forward(x.clone(), ls.clone(), Some(c.clone())));
    let bytes = to_bytes(net.clone(), false);
    let back = load_bytes(small(true).init(&device), &bytes, "t", "small").unwrap();
    assert_eq!(vec4(back.forward(x.clone(), ls.clone(), Some(c.clone()))), want);

    let half = to_bytes(net, true);
    assert!(half.len() < bytes.len() * 6 / 10, "f16 file is about half the size");
    let back = load_bytes(small(true).init(&device), &half, "t", "small").unwrap();
    let got = vec4(back.forward(x, ls, Some(c)));
    let err = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    assert!(err < 0.05, "f16 error {err}");
}

#[test]
fn mismatched_architecture_fails_clearly() {
    let device = Device::flex();
    let bytes = to_bytes(small(false).init(&device), false);
    let err = load_bytes(small(false).with_width(16).init(&device), &bytes, "unconditional", "width 16").unwrap_err();
    assert!(matches!(err, WeightsError::Mismatch { .. }));
    let msg = err.to_string();
    assert!(msg.contains("unconditional") && msg.contains("width 16"), "{msg}");
    // A conditional U-Net needs class_embed, which an unconditional record lacks.
    assert!(load_bytes(small(true).init(&device), &bytes, "x", "cond").is_err());
    // Garbage is a format error, not a panic.
    assert!(matches!(load_bytes(small(false).init(&device), b"not a bpk", "x", "y"), Err(WeightsError::Format { .. })));
}

#[test]
fn manifest_checks_sha256_and_kind() {
    let device = Device::flex();
    let dir = std::env::temp_dir().join(format!("vdiff-manifest-{}", std::process::id()));
    let mut m = Manifest::default();
    let config = small(false);
    let sha = m
        .save(&dir, "unconditional", "u.bpk", Arch::Unet { config: config.clone() }, config.init(&device), true)
        .unwrap();
    m.write(&dir).unwrap();
    let m = Manifest::read(&dir).unwrap();
    let mut bytes = m.read_file(&dir, "unconditional").unwrap();
    assert_eq!(vdiff::weights::sha256_hex(&bytes), sha);
    assert!(m.load_unet("unconditional", &bytes, &device).is_ok());
    bytes[100] ^= 1;
    assert!(matches!(m.load_unet("unconditional", &bytes, &device), Err(WeightsError::Checksum { .. })));
    assert!(matches!(m.load_steering("unconditional", &bytes, &device), Err(WeightsError::WrongKind { .. })));
    assert!(matches!(m.entry("layer"), Err(WeightsError::Missing { .. })));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn training_1x1_matmul_path_matches_burn_conv_with_gradients() {
    use vdiff::burn::nn::conv::Conv2dConfig;
    use vdiff::model::conv::conv1x1_matmul;
    let device = Device::flex().autodiff();
    device.seed(3);
    for bias in [true, false] {
        let conv = Conv2dConfig::new([8, 24], [1, 1]).with_bias(bias).init(&device);
        let x = Noise::new(5).normal_tensor([3, 8, 6, 5], &device).require_grad();
        let (a, b) = (conv.forward(x.clone()), conv1x1_matmul(&conv, x.clone()));
        let diff = |p: Tensor<4>, q: Tensor<4>| -> f32 { (p - q).abs().max().into_scalar() };
        assert!(diff(a.clone(), b.clone()) < 1e-5);
        // A loss that weights outputs unevenly, so every gradient entry is checked.
        let w = Noise::new(6).normal_tensor([3, 24, 6, 5], &device);
        let (ga, gb) = ((a * w.clone()).sum().backward(), (b * w).sum().backward());
        assert!(diff(x.grad(&ga).unwrap(), x.grad(&gb).unwrap()) < 1e-5);
        assert!(diff(conv.weight.grad(&ga).unwrap(), conv.weight.grad(&gb).unwrap()) < 1e-4);
        if let Some(bias) = &conv.bias {
            let d: f32 = (bias.grad(&ga).unwrap() - bias.grad(&gb).unwrap()).abs().max().into_scalar();
            assert!(d < 1e-4);
        }
    }
}

#[test]
fn unet_features_are_its_inner_levels_and_leave_the_velocity_as_it_is() {
    let device = Device::flex();
    for levels in [2, 3, 4] {
        let net = small(false).with_levels(levels).init(&device);
        let (x, ls, _) = inputs(3, &device);
        let (v, features) = net.forward_features(x.clone(), ls.clone(), None);
        assert_eq!(vec4(v), vec4(net.forward(x, ls, None)), "levels={levels}");
        let shapes = net.feature_shapes();
        assert_eq!(shapes.len(), levels - 1);
        assert_eq!(shapes[0], [8, 16]);
        for (f, [c, side]) in features.iter().zip(&shapes) {
            assert_eq!(f.dims(), [3, *c, *side, *side]);
        }
    }
}

#[test]
fn a_guide_given_feature_inputs_steers_as_before_until_they_are_trained() {
    use vdiff::model::GuideNetConfig;
    let device = Device::flex();
    device.seed(5);
    // A guide whose output convolution is not zero, so that it steers at all.
    let plain = GuideNetConfig::new().init(&device);
    let plain = vdiff::model::GuideNet {
        conv_out: vdiff::burn::nn::conv::Conv2dConfig::new([32, 12], [3, 3])
            .with_padding(vdiff::burn::nn::PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(&device),
        ..plain
    };
    let unet = small(false).init(&device);
    let (x, ls, c) = inputs(3, &device);
    let (v, features) = unet.forward_features(x.clone(), ls.clone(), None);
    let before = vec4(plain.forward(x.clone(), v.clone(), &[], ls.clone(), c.clone()));
    let reading = plain.with_features(Some(8), &device);
    assert_eq!(reading.feature_width(), Some(8));
    let after = vec4(reading.forward(x, v, &features, ls, c));
    assert_eq!(before, after);
    assert!(before.iter().any(|&a| a != 0.0));
}
