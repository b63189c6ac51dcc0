//! Full-loop sampler tests with deterministic dummy networks: golden checksums, v2 row
//! accounting, validation, determinism.

mod common;

use common::{checksum, to_vec, DummyLayer, DummyUNet, FeatureUNet, GaussianData, InputLayer};
use vdiff::burn::tensor::Device;
use vdiff::sampler::{
    fan_factors, sample, v2_rows_per_step, v2_unet_rows, CopySteering, ModelKind, Nets, Part, SampleConfig,
    SampleError, Sampler, SamplerKind, Sampling, Solver, SteeringConfig, SteeringKind, DEFAULT_W,
};

const COND: DummyUNet = DummyUNet { conditional: true };
const UNCOND: DummyUNet = DummyUNet { conditional: false };

/// The dummy layer stands for the paper's (default strength 1), which the goldens were made with.
fn cfg(sampler: SamplerKind, model: ModelKind, n: usize, steps: usize) -> SampleConfig {
    let sampler = Sampler::of(sampler, model, SteeringKind::Paper.into(), (DEFAULT_W, None, CopySteering::Paper));
    SampleConfig { sampler, n, steps, eta: 1.0, seed: 7, ..Default::default() }
}

/// `c` (v1 or v2) with its steering changed by `f`.
fn steer(c: &SampleConfig, f: impl FnOnce(&mut SteeringConfig)) -> SampleConfig {
    let mut c = c.clone();
    f(c.sampler.steering_mut().expect("a steered sampler"));
    c
}

/// `c`'s steering (v1 or v2).
fn steering(c: &SampleConfig) -> SteeringConfig {
    *c.sampler.steering().expect("a steered sampler")
}

/// `c` (v2) with fan-eta `e`.
fn with_fan_eta(c: &SampleConfig, e: Option<f64>) -> SampleConfig {
    let mut c = c.clone();
    let Sampler::V2 { fan_eta, .. } = &mut c.sampler else { panic!("v2 only") };
    *fan_eta = e;
    c
}

fn run(c: &SampleConfig) -> (Vec<f32>, usize) {
    let device = Device::flex();
    let unet: &dyn vdiff::sampler::Denoiser = if c.unet() == ModelKind::Conditional { &COND } else { &UNCOND };
    let nets = Nets { unet, steering: Some(&DummyLayer) };
    let out = sample(c, nets, &device, |_| {}).unwrap();
    let v = to_vec(out.images);
    assert_eq!(v.len(), c.n * 3 * 32 * 32, "never fewer images than asked");
    (v, out.unet_rows)
}

/// The U-Net rows a v1/v2 run with the dummy networks counts at each step.
fn counted_rows_per_step(c: &SampleConfig) -> Vec<usize> {
    let mut seen = Vec::new();
    let mut before = 0;
    sample(c, Nets { unet: &UNCOND, steering: Some(&DummyLayer) }, &Device::flex(), |info| {
        seen.push(info.unet_rows - before);
        before = info.unet_rows;
    })
    .unwrap();
    seen
}

#[test]
fn golden_ddim_conditional() {
    let (v, rows) = run(&cfg(SamplerKind::Ddim, ModelKind::Conditional, 20, 4));
    assert_eq!(rows, 80);
    assert_eq!(checksum(&v), GOLDEN_DDIM);
}

#[test]
fn golden_v1() {
    let (v, rows) = run(&cfg(SamplerKind::V1, ModelKind::Unconditional, 20, 4));
    assert_eq!(rows, 80);
    assert_eq!(checksum(&v), GOLDEN_V1);
}

#[test]
fn golden_v2() {
    let (v, rows) = run(&cfg(SamplerKind::V2, ModelKind::Unconditional, 20, 4));
    assert_eq!(rows, 1 + 10 + 20 + 20);
    assert_eq!(checksum(&v), GOLDEN_V2);
}

/// Golden checksums (sum, position-weighted sum) of the full loops above, recorded from this
/// implementation on Flex; any change to the schedule, the DDIM update, the samplers or the
/// seeded noise changes them.
const GOLDEN_DDIM: (f64, f64) = (-14020.747, -685633.24);
const GOLDEN_V1: (f64, f64) = (-2048.799, -99056.31);
const GOLDEN_V2: (f64, f64) = (-1779.129, -87647.98);

#[test]
fn eta_zero_ddim_is_deterministic_in_the_noise_only() {
    let mut c = cfg(SamplerKind::Ddim, ModelKind::Unconditional, 10, 3);
    c.eta = 0.0;
    let (a, _) = run(&c);
    let (b, _) = run(&c);
    assert_eq!(a, b);
}

#[test]
fn v2_row_accounting() {
    assert_eq!(v2_unet_rows(10, 100, 5), 261);
    assert_eq!(cfg(SamplerKind::V2, ModelKind::Unconditional, 100, 5).unet_rows(), 261);
    assert_eq!(cfg(SamplerKind::Ddim, ModelKind::Unconditional, 100, 5).unet_rows(), 500);
    // N = 10: no factor fan-out; 1 row, then 10 per step.
    assert!(fan_factors(1).is_empty());
    for steps in 1..6 {
        assert_eq!(v2_unet_rows(10, 10, steps), 1 + 10 * (steps - 1));
    }
    // N = 500: m = 50 = [5, 5, 2] → 1 + 10 + 50 + 250 + 500.
    assert_eq!(fan_factors(50), vec![5, 5, 2]);
    assert_eq!(v2_unet_rows(10, 500, 5), 811);
    // The counted rows of a real run agree with the formula.
    let (_, rows) = run(&cfg(SamplerKind::V2, ModelKind::Unconditional, 100, 5));
    assert_eq!(rows, 261);
    let (_, rows) = run(&cfg(SamplerKind::V2, ModelKind::Unconditional, 10, 3));
    assert_eq!(rows, 21);
}

#[test]
fn v2_rows_per_step_is_the_plan_a_run_follows() {
    assert_eq!(v2_rows_per_step(10, 100, 5), vec![1, 10, 50, 100, 100]);
    assert_eq!(v2_rows_per_step(10, 500, 3), vec![1, 10, 50]);
    assert_eq!(v2_rows_per_step(2, 8, 4), vec![1, 2, 4, 8]);
    assert_eq!(cfg(SamplerKind::V1, ModelKind::Unconditional, 30, 3).unet_rows_per_step(), vec![30; 3]);
    // Each step's U-Net rows, as a run counts them, are the plan's.
    let c = SampleConfig { classes: vec![3, 5], ..cfg(SamplerKind::V2, ModelKind::Unconditional, 12, 5) };
    let seen = counted_rows_per_step(&c);
    assert_eq!(seen, c.unet_rows_per_step());
    assert_eq!(seen, vec![1, 2, 6, 12, 12]);
}

#[test]
fn v2_tiles_classes_so_row_j_and_j_plus_b_share_a_class() {
    let c = cfg(SamplerKind::V2, ModelKind::Unconditional, 100, 5);
    let device = Device::flex();
    let mut s = Sampling::new(&c, Nets { unet: &UNCOND, steering: Some(&DummyLayer) }, &device).unwrap();
    let mut sizes = Vec::new();
    while let Some(info) = s.step() {
        let classes = info.classes.unwrap().to_vec();
        assert_eq!(info.pred.dims()[0], classes.len());
        sizes.push(classes.len());
        if classes.len() > 10 {
            let b = 10;
            for j in 0..classes.len() - b {
                assert_eq!(classes[j], classes[j + b], "row {j} and row {}", j + b);
            }
        }
    }
    assert_eq!(sizes, vec![10, 50, 100, 100, 100]);
    // The output is regrouped into class blocks, 10 per class.
    let out = s.finish();
    assert_eq!(out.images.dims(), [100, 3, 32, 32]);
    assert_eq!(c.image_classes()[..10], [0; 10]);
}

/// v2's last step has tiled rows (row r has class classes[r mod k]); its output must hold each
/// of those rows in its class's block, in row order within the block.
#[test]
fn v2_regroups_its_tiled_rows_into_class_blocks() {
    let device = Device::flex();
    let c = SampleConfig { classes: vec![3, 7], ..cfg(SamplerKind::V2, ModelKind::Unconditional, 6, 4) };
    let mut s = Sampling::new(&c, Nets { unet: &UNCOND, steering: Some(&DummyLayer) }, &device).unwrap();
    let mut last = None;
    while let Some(info) = s.step() {
        last = Some((to_vec(info.pred.clone()), info.classes.unwrap().to_vec()));
    }
    let (pred, classes) = last.unwrap();
    assert_eq!(classes, [3, 7, 3, 7, 3, 7]);
    let images = to_vec(s.finish().images);
    let row = |v: &[f32], r: usize| v[r * 3072..(r + 1) * 3072].to_vec();
    // Output image j is the last step's row at the j-th place of [0, 2, 4 | 1, 3, 5].
    for (j, r) in [0, 2, 4, 1, 3, 5].into_iter().enumerate() {
        assert_eq!(row(&images, j), row(&pred, r), "image {j}");
        assert_eq!(classes[r], c.image_classes()[j]);
    }
}

#[test]
fn v2_rejects_bad_n_and_too_few_steps() {
    let c = cfg(SamplerKind::V2, ModelKind::Unconditional, 7, 5);
    let e = c.validate().unwrap_err();
    assert!(matches!(e, SampleError::V2NotMultiple { n: 7, k: 10 }));
    assert!(e.to_string().contains("multiple of 10"), "{e}");
    // N = 500 needs 1 + 3 steps.
    let c = cfg(SamplerKind::V2, ModelKind::Unconditional, 500, 3);
    let e = c.validate().unwrap_err();
    assert!(matches!(e, SampleError::V2TooFewSteps { need: 4, .. }), "{e}");
    assert!(cfg(SamplerKind::V2, ModelKind::Unconditional, 500, 4).validate().is_ok());
    // And the stepper refuses to start.
    let device = Device::flex();
    assert!(Sampling::new(
        &cfg(SamplerKind::V2, ModelKind::Unconditional, 7, 5),
        Nets { unet: &UNCOND, steering: Some(&DummyLayer) },
        &device
    )
    .is_err());
}

#[test]
fn out_of_range_settings_are_rejected() {
    for (n, steps) in [(0, 5), (10, 0), (100_000, 5), (10, 100_000)] {
        assert!(cfg(SamplerKind::Ddim, ModelKind::Conditional, n, steps).validate().is_err(), "n={n} steps={steps}");
    }
    let mut c = cfg(SamplerKind::Ddim, ModelKind::Conditional, 10, 2);
    c.classes = vec![3, 3];
    assert!(c.validate().is_err());
    c.classes = vec![11];
    assert!(c.validate().is_err());
    assert!(vdiff::sampler::parse_classes("airplane,kangaroo").is_err());
    assert_eq!(vdiff::sampler::parse_classes("cat, Ship,9").unwrap(), vec![3, 8, 9]);
}

#[test]
fn wrong_networks_are_refused() {
    let device = Device::flex();
    let c = cfg(SamplerKind::Ddim, ModelKind::Conditional, 10, 2);
    assert!(matches!(
        Sampling::new(&c, Nets { unet: &UNCOND, steering: None }, &device),
        Err(SampleError::WrongUNet { .. })
    ));
    let c = cfg(SamplerKind::V1, ModelKind::Unconditional, 10, 2);
    assert!(matches!(
        Sampling::new(&c, Nets { unet: &UNCOND, steering: None }, &device),
        Err(SampleError::NoSteering(_))
    ));
}

#[test]
fn same_seed_same_images_other_seed_other_images() {
    for &m in SamplerKind::ALL {
        let model = if m == SamplerKind::Ddim { ModelKind::Conditional } else { ModelKind::Unconditional };
        let c = cfg(m, model, 20, 3);
        let (a, _) = run(&c);
        let (b, _) = run(&c);
        assert_eq!(a, b, "{m:?}");
        let (d, _) = run(&SampleConfig { seed: 8, ..c });
        assert_ne!(a, d, "{m:?}");
    }
}

#[test]
fn subset_of_classes_splits_n_evenly() {
    let mut c = cfg(SamplerKind::V2, ModelKind::Unconditional, 12, 3);
    c.classes = vec![3, 5];
    assert_eq!(c.image_classes(), [vec![3; 6], vec![5; 6]].concat());
    let (v, rows) = run(&c);
    assert_eq!(v.len(), 12 * 3072);
    // fan-out 2 classes, then m = 6 = [3, 2]: 1 + 2 + 6 rows.
    assert_eq!(rows, 1 + 2 + 6);
}

#[test]
fn share_link_round_trips_the_config() {
    let steering = SteeringConfig { kind: SteeringKind::Paper, steer_until: Some(2), strength: Some(1.5), fade: None };
    let c = SampleConfig {
        sampler: Sampler::V2 { steering, w: 0.02, fan_eta: Some(0.75), copies: CopySteering::All },
        n: 30,
        classes: vec![1, 4, 9],
        steps: 6,
        eta: 0.5,
        seed: 12345,
        solver: Solver::DpmPp2m,
    };
    let link = c.to_fragment();
    assert_eq!(SampleConfig::from_fragment(&format!("#{link}&weights=abc")).unwrap(), c);
    let faded = steer(&c, |s| {
        s.steer_until = None;
        s.fade = Some(2.5);
        s.kind = SteeringKind::Conditional
    });
    assert_eq!(SampleConfig::from_fragment(&faded.to_fragment()).unwrap(), faded);
    for c in
        [cfg(SamplerKind::Ddim, ModelKind::Unconditional, 10, 3), cfg(SamplerKind::V1, ModelKind::Unconditional, 10, 3)]
    {
        assert_eq!(SampleConfig::from_fragment(&c.to_fragment()).unwrap(), c);
    }
    assert!(SampleConfig::from_fragment("sampler=v9").is_err());
    assert!(SampleConfig::from_fragment("n=ten").is_err());
}

/// A link carries the settings its sampler reads and no other; the flat form (the page's, and
/// saved configs') carries every field and turns back into the same config.
#[test]
fn a_link_carries_only_what_its_sampler_reads() {
    let ddim = cfg(SamplerKind::Ddim, ModelKind::Unconditional, 10, 3);
    let v1 = steer(&cfg(SamplerKind::V1, ModelKind::Unconditional, 10, 3), |s| s.fade = Some(2.0));
    let v2 = with_fan_eta(&cfg(SamplerKind::V2, ModelKind::Unconditional, 10, 3), Some(1.0));
    let keys = |c: &SampleConfig| -> Vec<String> {
        c.to_fragment().split('&').map(|kv| kv.split_once('=').unwrap().0.to_string()).collect()
    };
    let common = ["sampler", "n", "classes", "steps", "eta", "seed"];
    assert_eq!(keys(&ddim), [&["model"][..], &common].concat());
    assert_eq!(keys(&v1), [&common[..], &["steering", "fade"]].concat());
    assert_eq!(keys(&v2), [&common[..], &["w", "steering", "fan_eta"]].concat());
    for c in [ddim, v1, v2] {
        for k in keys(&c).iter().filter(|k| !common.contains(&k.as_str())) {
            assert!(c.sampler.kind().settings().contains(&k.as_str()), "{k} in {:?}", c.sampler.kind());
        }
        let flat = serde_json::to_value(&c).unwrap();
        assert_eq!(flat["model"], c.unet().name(), "the flat form names the U-Net the sampler runs");
        assert_eq!(serde_json::from_value::<SampleConfig>(flat).unwrap(), c);
    }
    // What a sampler does not read leaves its config alone: ddim given a steering network,
    // v1 given v2's w.
    let plain = SampleConfig::from_fragment("model=conditional&sampler=ddim&n=10&steps=3").unwrap();
    let with_extra =
        SampleConfig::from_fragment("model=conditional&sampler=ddim&n=10&steps=3&steering=layer&w=0.5").unwrap();
    assert_eq!(plain, with_extra);
    let v1 = SampleConfig::from_fragment("model=conditional&sampler=v1&n=10&steps=3").unwrap();
    assert_eq!(v1.unet(), ModelKind::Unconditional, "v1 runs the unconditional U-Net whatever `model` says");
}

/// Strength 0 and `steer_until = 0` turn v1 into unconditional ddim, bit for bit: the layer is
/// not even called, so the same seed gives the same noise and the same arithmetic.
#[test]
fn unsteered_v1_is_unconditional_ddim_bit_for_bit() {
    let ddim = run(&cfg(SamplerKind::Ddim, ModelKind::Unconditional, 20, 4)).0;
    let v1 = cfg(SamplerKind::V1, ModelKind::Unconditional, 20, 4);
    let off = [steer(&v1, |s| s.strength = Some(0.0)), steer(&v1, |s| s.steer_until = Some(0))];
    for c in off {
        assert_eq!(run(&c).0, ddim, "{c:?}");
    }
    // And steering does change the images (the comparison above is not vacuous).
    assert_ne!(run(&v1).0, ddim);
}

/// The default steering rule is the paper's `i ≤ steps/2`; `steer_until` and `strength` move it.
#[test]
fn steer_until_and_strength_follow_their_definitions() {
    let v1 = cfg(SamplerKind::V1, ModelKind::Unconditional, 20, 4);
    assert_eq!(steering(&v1).steer_until(4), 3);
    assert_eq!((0..4).map(|i| v1.steers(i)).collect::<Vec<_>>(), [true, true, true, false]);
    let paper = run(&v1).0;
    assert_eq!(run(&steer(&v1, |s| s.steer_until = Some(3))).0, paper, "explicit default");
    assert_eq!(run(&steer(&v1, |s| s.strength = Some(1.0))).0, paper);
    for other in [steer(&v1, |s| s.steer_until = Some(4)), steer(&v1, |s| s.strength = Some(2.0))] {
        assert_ne!(run(&other).0, paper, "{other:?}");
    }
    // v2 keeps its fan-out when unsteered: N images from one noise image, same row count.
    let v2 = steer(&cfg(SamplerKind::V2, ModelKind::Unconditional, 20, 4), |s| s.strength = Some(0.0));
    assert_eq!(run(&v2).1, 1 + 10 + 20 + 20);
}

#[test]
fn steering_settings_out_of_range_are_errors() {
    let v1 = cfg(SamplerKind::V1, ModelKind::Unconditional, 20, 4);
    for s in [-0.5, vdiff::sampler::MAX_STRENGTH + 0.5, f64::NAN] {
        let e = steer(&v1, |c| c.strength = Some(s)).validate();
        assert!(matches!(e, Err(SampleError::OutOfRange { setting: "strength", .. })), "{e:?}");
    }
    let e = steer(&v1, |s| s.steer_until = Some(5)).validate().unwrap_err();
    assert!(
        matches!(e, SampleError::OutOfRange { setting: "steer_until", .. }) && e.to_string().contains("got 5"),
        "{e}"
    );
    assert!(steer(&v1, |s| s.steer_until = Some(4)).validate().is_ok());
    // The default strength is the layer's.
    assert_eq!(steering(&v1).strength(v1.steps), 1.0);
    assert_eq!(
        steering(&steer(&v1, |s| s.kind = SteeringKind::Guide)).strength(v1.steps),
        vdiff::sampler::GUIDE_STRENGTH
    );
    assert!(SampleConfig::from_fragment("layer=layer-magic").is_err());
    assert!(SampleConfig::from_fragment("steering=layer-magic").is_err());
    assert!(SampleConfig::from_fragment("strength=lots").is_err());
}

/// A link written before the fade, the solver and fan-eta existed still means what it meant:
/// the paper's step rule, DDIM, and v2's fan-out steps at the run's eta.
#[test]
fn old_links_keep_their_meaning() {
    let old =
        "model=unconditional&sampler=v2&n=20&classes=0,1,2,3,4,5,6,7,8,9&steps=5&eta=0&seed=3&w=0.01&layer=layer-guide";
    let c = SampleConfig::from_fragment(old).unwrap();
    let Sampler::V2 { steering, w, fan_eta, copies } = c.sampler else { panic!("{c:?}") };
    assert_eq!(
        (steering.fade, c.solver, fan_eta, steering.steer_until, steering.strength),
        (None, Solver::Ddim, None, None, None)
    );
    assert_eq!(copies, CopySteering::Paper, "an old link's v2 steers the paper's copies");
    assert_eq!((steering.kind, w), (SteeringKind::Guide, 0.01));
    assert_eq!(steering.strength(c.steps), vdiff::sampler::GUIDE_STRENGTH);
    assert_eq!((0..5).map(|i| c.eta_at(i)).collect::<Vec<_>>(), [0.0; 5]);
    assert_eq!(
        c.to_fragment(),
        old.replace("model=unconditional&", "").replace("&layer=layer-guide", "&steering=guide"),
        "nothing added to an old link; its key and the guide renamed, the U-Net v2 always runs left unsaid"
    );
    assert!(SampleConfig::from_fragment("solver=rk4").is_err());
    assert!(SampleConfig::from_fragment("fade=x").is_err());
    assert!(SampleConfig::from_fragment("fan_eta=").is_err());
    assert!(SampleConfig::from_fragment("copies=some").is_err());
}

/// The fade schedule: the peak strength while the image is noise, falling monotonically toward
/// zero; fade 0 is constant (plain classifier-free guidance); ddim is never steered.
#[test]
fn fade_schedule_follows_its_definition() {
    let c = steer(&cfg(SamplerKind::V1, ModelKind::Unconditional, 20, 20), |s| {
        s.fade = Some(2.0);
        s.strength = Some(4.0)
    });
    c.validate().unwrap();
    let s: Vec<f64> = (0..20).map(|i| c.strength_at(i)).collect();
    assert!((s[0] - 4.0).abs() < 1e-3, "{s:?}");
    // Falling while it steers; below 1 % of the peak it stops (the last two steps, σ² ≤ 0.095).
    let steered = s.iter().take_while(|&&x| x > 0.0).count();
    assert_eq!(steered, 18, "{s:?}");
    assert!(s[..steered].windows(2).all(|w| w[1] < w[0]), "{s:?}");
    for (i, &si) in s.iter().enumerate() {
        let t = 1.0 - i as f64 / 20.0;
        let share = vdiff::schedule::sigmoid(-vdiff::schedule::log_snr(t)).powi(2);
        let want = if share < vdiff::sampler::FADE_FLOOR { 0.0 } else { 4.0 * share };
        assert!((si - want).abs() < 1e-12);
    }
    let flat = steer(&c, |s| s.fade = Some(0.0));
    assert!((0..20).all(|i| flat.strength_at(i) == 4.0));
    assert!((0..20).all(|i| SampleConfig { sampler: Sampler::Ddim { model: ModelKind::Unconditional }, ..c.clone() }
        .strength_at(i)
        == 0.0));
    // Its own default strength; the fade and the paper's cut-off exclude each other.
    let guide = steer(&c, |s| {
        s.kind = SteeringKind::Guide;
        s.strength = None
    });
    assert_eq!(steering(&guide).strength(20), vdiff::sampler::GUIDE_FADED_STRENGTH);
    // Below its full-strength step count the guide's default peak scales with the steps (a
    // coarse step overshoots); a given strength does not, nor does classifier-free guidance's.
    let full = vdiff::sampler::GUIDE_FULL_STRENGTH_STEPS;
    assert_eq!(steering(&guide).strength(full), vdiff::sampler::GUIDE_FADED_STRENGTH);
    assert_eq!(steering(&guide).strength(full / 2), vdiff::sampler::GUIDE_FADED_STRENGTH * 0.5);
    let coarse = SampleConfig { steps: full / 2, ..guide.clone() };
    assert!((coarse.strength_at(0) - vdiff::sampler::GUIDE_FADED_STRENGTH * 0.5).abs() < 1e-3);
    assert_eq!(steering(&c).strength(full / 2), 4.0);
    let cfg_default = steer(&c, |s| {
        s.kind = SteeringKind::Conditional;
        s.strength = None
    });
    assert_eq!(steering(&cfg_default).strength(1), vdiff::sampler::CFG_STRENGTH);
    let both = steer(&c, |s| s.steer_until = Some(3));
    assert_eq!(both.validate(), Err(SampleError::FadeAndSteerUntil));
    for p in [-1.0, 16.5, f64::NAN] {
        let e = steer(&c, |s| s.fade = Some(p)).validate();
        assert!(matches!(e, Err(SampleError::OutOfRange { setting: "fade", .. })), "{e:?}");
    }
    // A faded run differs from the paper's rule and from no steering.
    assert_ne!(run(&c).0, run(&steer(&c, |s| s.fade = None)).0);
    assert_ne!(run(&c).0, run(&steer(&c, |s| s.strength = Some(0.0))).0);
}

/// Classifier-free guidance steers with the conditional U-Net: each steered row costs a U-Net
/// row, and the plan the page draws is what a run counts.
#[test]
fn conditional_steering_counts_its_unet_rows() {
    let v1 = steer(&cfg(SamplerKind::V1, ModelKind::Unconditional, 20, 4), |s| s.kind = SteeringKind::Conditional);
    // The paper's rule steers steps 0, 1, 2 of 4.
    assert_eq!(v1.unet_rows_per_step(), vec![40, 40, 40, 20]);
    assert_eq!(run(&v1).1, 140);
    // Fade 1 steers all 4 steps (σ² ≥ 0.33 ≥ 1 %).
    let faded = steer(&v1, |s| s.fade = Some(1.0));
    assert_eq!(run(&faded).1, 160);
    for c in [
        steer(&cfg(SamplerKind::V2, ModelKind::Unconditional, 100, 5), |s| s.kind = SteeringKind::Conditional),
        steer(&cfg(SamplerKind::V2, ModelKind::Unconditional, 40, 6), |s| {
            s.kind = SteeringKind::Conditional;
            s.fade = Some(1.0)
        }),
    ] {
        assert_eq!(counted_rows_per_step(&c), c.unet_rows_per_step(), "{c:?}");
    }
    // v2, N = 100, 5 steps, steps 0–2 steered: 1 + 10 | 10 + 10·4 | 50 + 50·1 | 100 | 100.
    let v2 = steer(&cfg(SamplerKind::V2, ModelKind::Unconditional, 100, 5), |s| s.kind = SteeringKind::Conditional);
    assert_eq!(v2.unet_rows_per_step(), vec![11, 50, 100, 100, 100]);
    // Steering every copy steers the first too: 1 + 10 | 10 + 10·5 | 50 + 50·2 | 100 | 100.
    let all = with_copies(&v2, CopySteering::All);
    assert_eq!(all.unet_rows_per_step(), vec![11, 60, 150, 100, 100]);
    assert_eq!(counted_rows_per_step(&all), all.unet_rows_per_step());
}

/// `c` (v2) steering `copies`.
fn with_copies(c: &SampleConfig, copies: CopySteering) -> SampleConfig {
    let mut c = c.clone();
    let Sampler::V2 { copies: ours, .. } = &mut c.sampler else { panic!("v2 only") };
    *ours = copies;
    c
}

/// Under the paper's copies a row's first copy at a fan-out step takes the U-Net's own
/// velocity; steering every copy steers it too, and changes only what comes after the first
/// fan-out step. The share link says which, and a link without the key means the paper's.
#[test]
fn v2_steers_every_copy_or_the_papers() {
    let paper = SampleConfig { eta: 0.0, ..cfg(SamplerKind::V2, ModelKind::Unconditional, 40, 4) };
    let all = with_copies(&paper, CopySteering::All);
    let (a, b) = (run(&paper), run(&all));
    assert_ne!(a.0, b.0, "steering the first copies changed nothing");
    // Before its first factor step (step 1) v2 is the same run: the plans agree up to there.
    let one_step = |c: &SampleConfig| SampleConfig { steps: 2, n: 10, ..c.clone() };
    assert_eq!(run(&one_step(&paper)).0, run(&one_step(&all)).0, "N = 10 = k has no factor step");
    assert!(all.to_fragment().contains("copies=all") && !paper.to_fragment().contains("copies"));
    assert_eq!(SampleConfig::from_fragment(&all.to_fragment()).unwrap(), all);
    assert_eq!(SampleConfig::from_fragment(&paper.to_fragment()).unwrap(), paper);
}

/// DPM-Solver++(2M) without history is DDIM: at two steps (one update, then x̂₀) both solvers
/// give the same images, for eta 0 and 1, for every sampler.
#[test]
fn dpm_solver_first_step_is_ddim() {
    for eta in [0.0, 1.0] {
        for (sampler, model) in [
            (SamplerKind::Ddim, ModelKind::Conditional),
            (SamplerKind::V1, ModelKind::Unconditional),
            (SamplerKind::V2, ModelKind::Unconditional),
        ] {
            let ddim = SampleConfig { eta, ..cfg(sampler, model, 10, 2) };
            let dpm = SampleConfig { solver: Solver::DpmPp2m, ..ddim.clone() };
            let (a, b) = (run(&ddim).0, run(&dpm).0);
            let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
            assert!(worst < 1e-4, "{sampler:?} eta {eta}: {worst}");
        }
    }
    // With history it is another method.
    let ddim = cfg(SamplerKind::V2, ModelKind::Unconditional, 20, 4);
    assert_ne!(run(&ddim).0, run(&SampleConfig { solver: Solver::DpmPp2m, ..ddim.clone() }).0);
}

/// On Gaussian data the probability-flow ODE is solved exactly by a known map, so each
/// solver's error after the same steps can be measured: the second-order one is far closer.
#[test]
fn dpm_solver_is_more_accurate_than_ddim_on_gaussian_data() {
    let data = GaussianData { mean: 0.2, std: 0.5 };
    let device = Device::flex();
    let x1 = vdiff::noise::Noise::new(5).normal_tensor([4, 3, 32, 32], &device);
    let (steps, check) = (10, 7); // after step 7 the state is at t = 0.2
    let t = 1.0 - (check + 1) as f64 / steps as f64;
    let exact = to_vec(data.flow(x1.clone(), 1.0, t));
    let err = |solver| {
        let c = SampleConfig { solver, eta: 0.0, ..cfg(SamplerKind::Ddim, ModelKind::Unconditional, 4, steps) };
        let mut s =
            Sampling::with_initial_noise(&c, Nets { unet: &data, steering: None }, &device, x1.clone()).unwrap();
        for _ in 0..check {
            s.step();
        }
        let x = to_vec(s.step().unwrap().x.clone());
        (x.iter().zip(&exact).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    };
    let (ddim, dpm) = (err(Solver::Ddim), err(Solver::DpmPp2m));
    println!("rms error after 8 of 10 steps: ddim {ddim:.2e}, dpm-solver++(2M) {dpm:.2e}");
    assert!(dpm < ddim / 2.0, "rms error ddim {ddim:.2e}, dpm-solver++(2M) {dpm:.2e}");
}

/// v2 with eta = 0 gives the copies of a row fresh noise at its fan-out steps when fan-eta
/// is 1, so a class's images are no longer near-copies of each other.
#[test]
fn fan_eta_parts_v2s_copies() {
    let det = SampleConfig { eta: 0.0, ..cfg(SamplerKind::V2, ModelKind::Unconditional, 40, 6) };
    let parted = with_fan_eta(&det, Some(1.0));
    // N/k = 4 = [2, 2]: steps 1 and 2 fan out.
    assert_eq!((0..6).map(|i| parted.eta_at(i)).collect::<Vec<_>>(), [0.0, 1.0, 1.0, 0.0, 0.0, 0.0]);
    let spread = |c: &SampleConfig| {
        let v = run(c).0;
        let img = |i: usize| &v[i * 3072..(i + 1) * 3072];
        // Images 0–3 are the airplanes.
        let mut d = 0.0;
        for i in 0..4 {
            for j in i + 1..4 {
                d += img(i).iter().zip(img(j)).map(|(a, b)| ((a - b) as f64).powi(2)).sum::<f64>().sqrt();
            }
        }
        d / 6.0
    };
    let (copies, apart) = (spread(&det), spread(&parted));
    assert!(apart > 10.0 * copies, "within-class distance {copies:.3} → {apart:.3}");
    assert!(with_fan_eta(&det, Some(1.5)).validate().is_err());
}

/// A run split into `of` parts, put back together by the parts' positions: images and U-Net rows.
fn run_in_parts(c: &SampleConfig, nets: Nets, of: usize) -> (Vec<f32>, usize) {
    let device = Device::flex();
    let mut images = vec![f32::NAN; c.n * 3072];
    let mut rows = 0;
    for index in 0..of {
        let out = Sampling::part(c, nets, &device, Part { index, of }).unwrap().finish();
        let v = to_vec(out.images);
        assert_eq!(v.len(), out.positions.len() * 3072);
        for (j, &p) in out.positions.iter().enumerate() {
            assert!(images[p * 3072].is_nan(), "part {index} of {of}: image {p} twice");
            images[p * 3072..(p + 1) * 3072].copy_from_slice(&v[j * 3072..(j + 1) * 3072]);
        }
        rows += out.unet_rows;
    }
    assert!(images.iter().all(|x| !x.is_nan()), "{of} parts left images out");
    (images, rows)
}

/// The page's CPU workers each run a part: the images and the row count must not depend on the
/// split — every sampler, both solvers, fresh noise at every step, v2's fan-out across parts.
#[test]
fn a_run_split_into_parts_gives_the_whole_runs_images() {
    let mut cases = Vec::new();
    for solver in [Solver::Ddim, Solver::DpmPp2m] {
        let with = |c: SampleConfig| SampleConfig { solver, ..c };
        cases.push(with(cfg(SamplerKind::Ddim, ModelKind::Conditional, 20, 4)));
        cases.push(with(cfg(SamplerKind::V1, ModelKind::Unconditional, 20, 4)));
        cases.push(with(cfg(SamplerKind::V2, ModelKind::Unconditional, 20, 4)));
        // Fewer classes than parts: v2 splits further down its fan-out.
        cases.push(with(SampleConfig { classes: vec![3, 5], ..cfg(SamplerKind::V2, ModelKind::Unconditional, 12, 4) }));
    }
    for c in &cases {
        let unet: &dyn vdiff::sampler::Denoiser = if c.unet() == ModelKind::Conditional { &COND } else { &UNCOND };
        let nets = Nets { unet, steering: Some(&DummyLayer) };
        let whole = run(c);
        for of in [1, 2, 3, 4, 7] {
            assert!(run_in_parts(c, nets, of) == whole, "{:?} {:?} N = {} in {of} parts", c.sampler, c.solver, c.n);
        }
    }
    let c = cfg(SamplerKind::Ddim, ModelKind::Conditional, 3, 2);
    let nets = Nets { unet: &COND, steering: None };
    for part in [Part { index: 0, of: 4 }, Part { index: 2, of: 2 }, Part { index: 0, of: 0 }] {
        assert!(matches!(Sampling::part(&c, nets, &Device::flex(), part), Err(SampleError::BadPart { .. })));
    }
}

/// The same with real networks (the fixtures' tiny U-Net and layer) on Flex: a part's smaller
/// batches must give each image the same numbers as the whole run's batch, bit for bit.
#[test]
fn real_networks_split_into_parts_give_the_same_images() {
    use vdiff::model::{ClassLayerConfig, UNetConfig};
    use vdiff::weights::load_bytes;
    let device = Device::flex();
    let read = |f: &str| std::fs::read(format!("tests/fixtures/{f}")).unwrap();
    let unet_config = UNetConfig::new().with_width(8).with_levels(2).with_conditional(false);
    let unet = load_bytes(unet_config.init(&device), &read("tiny-unet.bpk"), "tiny", "tiny").unwrap();
    let layer = load_bytes(ClassLayerConfig::new().init(&device), &read("tiny-layer.bpk"), "tiny", "tiny").unwrap();
    let nets = Nets { unet: &unet, steering: Some(&layer) };
    for sampler in [SamplerKind::V1, SamplerKind::V2] {
        let c = SampleConfig { solver: Solver::DpmPp2m, ..cfg(sampler, ModelKind::Unconditional, 20, 3) };
        let whole = run_in_parts(&c, nets, 1);
        for of in [2, 3] {
            assert!(run_in_parts(&c, nets, of) == whole, "{sampler:?} in {of} parts");
        }
    }
}

/// A steering network that reads the U-Net's inner features gets the features of the very rows
/// it steers — through v2's class fan-out and factor copies, and in every split into parts —
/// and a U-Net without them is refused, not run.
#[test]
fn the_steering_network_reads_the_features_of_the_rows_it_steers() {
    let feature_unet = FeatureUNet(DummyUNet { conditional: false });
    let reads = InputLayer { from_features: true };
    let sees_x = InputLayer { from_features: false };
    for solver in [Solver::Ddim, Solver::DpmPp2m] {
        for kind in [SamplerKind::V1, SamplerKind::V2] {
            let c = SampleConfig { solver, ..cfg(kind, ModelKind::Unconditional, 20, 5) };
            let want = run_in_parts(&c, Nets { unet: &UNCOND, steering: Some(&sees_x) }, 1);
            assert!(want != run(&c), "the input-reading dummy must steer differently from DummyLayer");
            for of in [1, 3] {
                let got = run_in_parts(&c, Nets { unet: &feature_unet, steering: Some(&reads) }, of);
                assert!(got == want, "{kind:?} {solver:?} in {of} parts");
            }
        }
    }
    let c = cfg(SamplerKind::V1, ModelKind::Unconditional, 10, 2);
    assert!(matches!(
        Sampling::new(&c, Nets { unet: &UNCOND, steering: Some(&reads) }, &Device::flex()),
        Err(SampleError::FeatureMismatch { .. })
    ));
}
