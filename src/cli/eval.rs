//! `vdiff eval`: the paper's tables 5.1–5.3 — {conditional, unconditional, v1, v2} × N × steps,
//! several seeds — with the crate's classifier: IS, class accuracy, Fréchet distance, wall time,
//! U-Net rows; the same statistics on real test images of the same count beside them.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use burn::tensor::{Device, Tensor};
use clap::Args;
use vdiff::device::Backend;
use vdiff::eval::classifier::{Classifier, ClassifierConfig};
use vdiff::eval::inception::{load_inception, InceptionV3};
use vdiff::eval::metrics::{frechet_distance, inception_score, softmax_rows};
use vdiff::sampler::{sample, LayerKind, Method, ModelKind, Nets, SampleConfig, Steer, Teacher, CLASS_NAMES};
use vdiff::train::data::Cifar;
use vdiff::weights::{write_atomic, Manifest};

use super::nets::{self, NetArgs};
use super::sample::SteerArgs;

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Networks: conditional, unconditional (ddim), v1, v2 (steered by --layer); a suffix picks
    /// the steering: v1-layer, v1-layer-residual, v1-layer-guide, v1-teacher (the conditional
    /// U-Net steers: the ceiling of any layer imitating it), the same for v2.
    #[arg(long, value_delimiter = ',', default_value = "conditional,unconditional,v1,v2")]
    pub methods: Vec<String>,
    /// Image counts N.
    #[arg(long, value_delimiter = ',', default_value = "100,300,500")]
    pub n: Vec<usize>,
    /// Step counts.
    #[arg(long, value_delimiter = ',', default_value = "5,10,50")]
    pub steps: Vec<usize>,
    /// Seeds per cell (mean ± std over them).
    #[arg(long, default_value_t = 5)]
    pub seeds: u64,
    /// DDIM eta.
    #[arg(long, default_value_t = 1.0)]
    pub eta: f64,
    /// Test images forming the reference set of the Fréchet distance.
    #[arg(long, default_value_t = 2000)]
    pub reference: usize,
    /// CIFAR-10 (for the real-image columns).
    #[arg(long, default_value = "../shared/data/cifar10")]
    pub data: PathBuf,
    /// Output directory: eval.csv, eval.md.
    #[arg(long, default_value = "eval")]
    pub out: PathBuf,
    /// Also score with the standard Inception-v3: a PyTorch state dict (torchvision's
    /// `inception_v3_google-*.pth` or pytorch-fid's `pt_inception-*.pth`).
    #[arg(long)]
    pub inception: Option<PathBuf>,
    /// Device: auto (a hardware GPU through wgpu, else the CPU), flex (CPU) or wgpu.
    #[arg(long = "device", alias = "backend", default_value = "auto")]
    pub device: Backend,
    #[command(flatten)]
    pub nets: NetArgs,
    #[command(flatten)]
    pub steering: SteerArgs,
}

/// One row kind of the table: a sampler and what steers it.
struct MethodSpec {
    model: ModelKind,
    sampler: Method,
    layer: LayerKind,
    teacher: bool,
}

/// `conditional`, `unconditional`, or `v1`/`v2` with an optional steering suffix:
/// `-layer`, `-layer-residual`, `-layer-guide`, or `-teacher` (the conditional U-Net).
fn parse_method(method: &str, default_layer: LayerKind) -> anyhow::Result<MethodSpec> {
    let ddim = |model| MethodSpec { model, sampler: Method::Ddim, layer: default_layer, teacher: false };
    match method {
        "conditional" => return Ok(ddim(ModelKind::Conditional)),
        "unconditional" => return Ok(ddim(ModelKind::Unconditional)),
        _ => {}
    }
    let (name, suffix) = method.split_once('-').unwrap_or((method, ""));
    let sampler = Method::from_name(name).filter(|&m| m != Method::Ddim);
    let steer = match suffix {
        "" => Some((default_layer, false)),
        "teacher" => Some((default_layer, true)),
        s => LayerKind::from_name(s).map(|l| (l, false)),
    };
    match (sampler, steer) {
        (Some(sampler), Some((layer, teacher))) => {
            Ok(MethodSpec { model: ModelKind::Unconditional, sampler, layer, teacher })
        }
        _ => anyhow::bail!(
            "unknown method {method:?}: conditional, unconditional, or v1/v2 optionally followed by \
             -layer, -layer-residual, -layer-guide or -teacher"
        ),
    }
}

struct Scores {
    probs: Vec<Vec<f64>>,
    feats: Vec<Vec<f64>>,
}

fn score(clf: &Classifier, images: Tensor<4>) -> Scores {
    let n = images.dims()[0];
    let feats = clf.features(images.clamp(-1.0, 1.0));
    let logits = clf.logits.forward(feats.clone());
    let f: Vec<f32> = feats.into_data().try_to_vec().unwrap();
    let d = f.len() / n;
    Scores {
        probs: softmax_rows(&logits.into_data().try_to_vec::<f32>().unwrap(), 10),
        feats: f.chunks_exact(d).map(|r| r.iter().map(|&x| x as f64).collect()).collect(),
    }
}

/// Inception Score of images `[N, 3, H, W]` under Inception-v3, in batches (each image is
/// resized to 299×299, so whole sets do not fit in memory at once).
fn inception_is(net: &InceptionV3, images: Tensor<4>) -> f64 {
    let n = images.dims()[0];
    let mut probs = Vec::with_capacity(n);
    for start in (0..n).step_by(25) {
        let batch = images.clone().narrow(0, start, 25.min(n - start)).clamp(-1.0, 1.0);
        let logits = net.forward(batch);
        let k = logits.dims()[1];
        probs.extend(softmax_rows(&logits.into_data().try_to_vec::<f32>().unwrap(), k));
    }
    inception_score(&probs)
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len().max(2) - 1) as f64;
    (m, var.sqrt())
}

fn classifier(args: &NetArgs, device: &Device) -> anyhow::Result<Classifier> {
    if args.random_init {
        device.seed(args.init_seed);
        return Ok(ClassifierConfig::new().with_width(8).with_features(16).init(device));
    }
    let m = Manifest::read(&args.weights)?;
    let bytes = m.read_file(&args.weights, "classifier").context("train it with `vdiff train classifier`")?;
    Ok(m.load_classifier("classifier", &bytes, device)?)
}

pub fn run(a: EvalArgs) -> anyhow::Result<()> {
    let device = super::open_device(a.device)?.0;
    let clf = classifier(&a.nets, &device)?;
    let inception = match &a.inception {
        Some(p) => Some(load_inception(p, &device)?),
        None => None,
    };
    let v3 = |images: &Tensor<4>| inception.as_ref().map(|net| inception_is(net, images.clone()));
    let test = Cifar::load(&a.data, false)?;
    let max_n = *a.n.iter().max().context("no --n")?;
    anyhow::ensure!(a.reference + max_n <= test.len(), "--reference + max N exceeds the test set");
    let idx: Vec<usize> = (0..a.reference).collect();
    let reference = score(&clf, test.batch(&idx, None, &device).0).feats;
    std::fs::create_dir_all(&a.out)?;

    let mut csv = String::from("method,n,steps,seed,is,class_acc,frechet,wall_s,unet_rows,is_inception_v3");
    for c in CLASS_NAMES {
        write!(csv, ",acc_{c}")?;
    }
    csv.push('\n');
    let v3_note = match &a.inception {
        Some(p) => format!("the Inception-v3 columns use `{}`", p.display()),
        None => "no Inception-v3 weights were given (`--inception`), so there are no Inception-v3 columns".into(),
    };
    let mut md = format!(
        "IS, class accuracy and Fréchet distance use the crate's CIFAR-10 classifier \
         (`weights/classifier.bpk`); {v3_note}. Mean ± std over {} seeds; eta = {}.\n\n",
        a.seeds, a.eta
    );
    md += "| network | N | steps | IS (gen) | IS (real, same N) | class acc. | Fréchet (gen) | Fréchet (real) | wall s | U-Net rows |";
    md += if inception.is_some() { " IS v3 (gen) | IS v3 (real) |\n" } else { "\n" };
    md += "|---|---|---|---|---|---|---|---|---|---|";
    md += if inception.is_some() { "---|---|\n" } else { "\n" };
    // Real-image reference per N: disjoint slices after the reference set.
    let mut real = std::collections::BTreeMap::new();
    for &n in &a.n {
        let (mut is, mut fd, mut is3) = (Vec::new(), Vec::new(), Vec::new());
        for s in 0..a.seeds as usize {
            let start = a.reference + (s * n) % (test.len() - a.reference - n + 1);
            let idx: Vec<usize> = (start..start + n).collect();
            let images = test.batch(&idx, None, &device).0;
            is3.extend(v3(&images));
            let sc = score(&clf, images);
            is.push(inception_score(&sc.probs));
            fd.push(frechet_distance(&sc.feats, &reference));
        }
        real.insert(n, (mean_std(&is), mean_std(&fd), mean_std(&is3)));
    }
    for method in &a.methods {
        let spec = parse_method(method, a.steering.layer)?;
        let probe = a.steering.apply(SampleConfig {
            model: spec.model,
            sampler: spec.sampler,
            layer: spec.layer,
            ..Default::default()
        });
        let loaded = nets::load(&a.nets, &probe, &device)?;
        // The ceiling row: the conditional U-Net itself steers (nets::Teacher).
        let teacher = match spec.teacher {
            true => Some(nets::load(&a.nets, &SampleConfig::default(), &device)?),
            false => None,
        };
        let teacher = teacher.as_ref().map(|t| Teacher(&t.unet));
        let run_nets = match &teacher {
            Some(t) => Nets { unet: &loaded.unet, layer: Some(t as &dyn Steer) },
            None => loaded.nets(),
        };
        for &n in &a.n {
            for &steps in &a.steps {
                let (mut is, mut acc, mut fd, mut wall, mut is3) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
                let mut rows = 0;
                for seed in 0..a.seeds {
                    let cfg = SampleConfig { n, steps, eta: a.eta, seed, ..probe.clone() };
                    let t0 = Instant::now();
                    let out = sample(&cfg, run_nets, &device, |_| {})?;
                    let images = out.images;
                    let _ = images.clone().into_data(); // wall time includes the readback
                    let w = t0.elapsed().as_secs_f64();
                    rows = out.unet_rows;
                    let i3 = v3(&images);
                    let sc = score(&clf, images);
                    let want = cfg.image_classes();
                    let pred: Vec<usize> = sc
                        .probs
                        .iter()
                        .map(|p| p.iter().enumerate().max_by(|x, y| x.1.total_cmp(y.1)).unwrap().0)
                        .collect();
                    let per_class: Vec<f64> = (0..10)
                        .map(|c| {
                            let rows: Vec<usize> = (0..n).filter(|&i| want[i] == c).collect();
                            rows.iter().filter(|&&i| pred[i] == c).count() as f64 / rows.len().max(1) as f64
                        })
                        .collect();
                    let overall = (0..n).filter(|&i| pred[i] == want[i]).count() as f64 / n as f64;
                    let (i_s, f_d) = (inception_score(&sc.probs), frechet_distance(&sc.feats, &reference));
                    write!(csv, "{method},{n},{steps},{seed},{i_s:.4},{overall:.4},{f_d:.4},{w:.3},{rows},")?;
                    if let Some(v) = i3 {
                        write!(csv, "{v:.4}")?;
                        is3.push(v);
                    }
                    for p in per_class {
                        write!(csv, ",{p:.3}")?;
                    }
                    csv.push('\n');
                    is.push(i_s);
                    acc.push(overall);
                    fd.push(f_d);
                    wall.push(w);
                    eprintln!(
                        "{method} N={n} steps={steps} seed={seed}: IS {i_s:.3} acc {overall:.3} FD {f_d:.3} {w:.2} s"
                    );
                }
                let ((rim, ris), (rfm, rfs), (r3m, r3s)) = real[&n];
                let (im, isd) = mean_std(&is);
                let (fm, fsd) = mean_std(&fd);
                let acc_cell = if probe.has_classes() {
                    format!("{:.1}%", 100.0 * mean_std(&acc).0)
                } else {
                    "— (no class)".into()
                };
                write!(
                    md,
                    "| {method} | {n} | {steps} | {im:.2} ± {isd:.2} | {rim:.2} ± {ris:.2} | {acc_cell} | {fm:.2} ± {fsd:.2} | {rfm:.2} ± {rfs:.2} | {:.2} | {rows} |",
                    mean_std(&wall).0
                )?;
                if inception.is_some() {
                    let (m3, s3) = mean_std(&is3);
                    write!(md, " {m3:.2} ± {s3:.2} | {r3m:.2} ± {r3s:.2} |")?;
                }
                md.push('\n');
            }
        }
    }
    write_atomic(&a.out.join("eval.csv"), csv.as_bytes())?;
    write_atomic(&a.out.join("eval.md"), md.as_bytes())?;
    println!("{md}");
    Ok(())
}
