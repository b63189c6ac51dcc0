//! The paper's tables 5.1–5.3 — {conditional, unconditional, v1, v2} × N × steps, several
//! seeds — scored with the crate's classifier: IS, class accuracy, Fréchet distance, within-class
//! diversity, wall time, U-Net rows; the same statistics on real test images of the same count
//! beside them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use burn::tensor::{Device, Tensor};

use crate::eval::classifier::{Classifier, ClassifierConfig};
use crate::eval::inception::{load_inception, InceptionV3};
use crate::eval::metrics::{frechet_distance, inception_score, mean_pairwise_distance, softmax_rows};
use crate::networks::{self, NetSource};
use crate::options::SteeringOptions;
use crate::sampler::{
    sample, CopySteering, ModelKind, Nets, SampleConfig, Sampler, SamplerKind, SteeringKind, CLASS_NAMES,
};
use crate::train::data::Cifar;
use crate::weights::{write_atomic, Manifest};

/// One evaluation: every method × N × step count, `seeds` runs each.
pub struct EvalGrid {
    /// Rows of the table, parsed by [`parse_method`] (e.g. `conditional`, `v2-guide`).
    pub methods: Vec<String>,
    pub n: Vec<usize>,
    pub steps: Vec<usize>,
    pub seeds: u64,
    pub eta: f64,
    /// Test images forming the reference set of the Fréchet distance.
    pub reference: usize,
    /// CIFAR-10 (the real-image columns).
    pub data: PathBuf,
    /// eval.csv and eval.md go here.
    pub out: PathBuf,
    /// Inception-v3 weights for the standard IS columns, if given.
    pub inception: Option<PathBuf>,
    pub nets: NetSource,
    pub steering: SteeringOptions,
}

/// One row kind of the table: a sampler and what steers it.
struct MethodSpec {
    model: ModelKind,
    sampler: SamplerKind,
    steering: SteeringKind,
}

/// `conditional`, `unconditional`, or `v1`/`v2` with an optional steering suffix:
/// `-layer`, `-layer-residual`, `-guide` (`-layer-guide`), or `-conditional` (`-teacher`).
fn parse_method(method: &str, default_steering: SteeringKind) -> anyhow::Result<MethodSpec> {
    let ddim = |model| MethodSpec { model, sampler: SamplerKind::Ddim, steering: default_steering };
    if let Some(model) = ModelKind::from_name(method) {
        return Ok(ddim(model));
    }
    let (name, suffix) = method.split_once('-').unwrap_or((method, ""));
    let sampler = SamplerKind::from_name(name).filter(|&m| m != SamplerKind::Ddim);
    let steering = match suffix {
        "" => Some(default_steering),
        "teacher" => Some(SteeringKind::Conditional),
        s => SteeringKind::from_name(s),
    };
    match (sampler, steering) {
        (Some(sampler), Some(steering)) => Ok(MethodSpec { model: ModelKind::Unconditional, sampler, steering }),
        _ => anyhow::bail!(
            "unknown method {method:?}: conditional, unconditional, or v1/v2 optionally followed by \
             -layer, -layer-residual, -guide or -conditional"
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

fn classifier(args: &NetSource, device: &Device) -> anyhow::Result<Classifier> {
    if args.random_init {
        device.seed(args.init_seed);
        return Ok(ClassifierConfig::new().with_width(8).with_features(16).init(device));
    }
    let m = Manifest::read(&args.weights)?;
    let bytes = m.read_file(&args.weights, "classifier").context("train it with `vdiff train classifier`")?;
    Ok(m.load_classifier("classifier", &bytes, device)?)
}

/// The scores of one generated set.
struct RunScore {
    is: f64,
    /// `None` for unconditional ddim (no requested class).
    acc: Option<f64>,
    per_class: Vec<f64>,
    frechet: f64,
    /// Mean distance between two images of the same requested class, in the classifier's
    /// features ([`mean_pairwise_distance`]).
    diversity: f64,
    wall_s: f64,
    unet_rows: usize,
    is_v3: Option<f64>,
}

/// Everything a run is scored against: the classifier, the optional Inception-v3, the real
/// reference features.
struct Judge {
    clf: Classifier,
    inception: Option<InceptionV3>,
    reference: Vec<Vec<f64>>,
}

impl Judge {
    /// Scores against the features of the test set's first `reference` images.
    fn new(clf: Classifier, inception: Option<InceptionV3>, test: &Cifar, reference: usize, device: &Device) -> Self {
        let idx: Vec<usize> = (0..reference).collect();
        let reference = score(&clf, test.batch(&idx, None, device).0).feats;
        Self { clf, inception, reference }
    }

    fn is_v3(&self, images: &Tensor<4>) -> Option<f64> {
        self.inception.as_ref().map(|net| inception_is(net, images.clone()))
    }

    /// Generate with `cfg` and score the images.
    fn run(&self, cfg: &SampleConfig, nets: Nets<'_>, device: &Device) -> anyhow::Result<RunScore> {
        let t0 = Instant::now();
        let out = sample(cfg, nets, device, |_| {})?;
        let _ = out.images.clone().into_data(); // wall time includes the readback
        let wall_s = t0.elapsed().as_secs_f64();
        let is_v3 = self.is_v3(&out.images);
        let sc = score(&self.clf, out.images);
        let want = cfg.image_classes();
        let pred: Vec<usize> = sc.probs.iter().map(|p| argmax(p)).collect();
        let hits = |rows: &mut dyn Iterator<Item = usize>| -> f64 {
            let rows: Vec<usize> = rows.collect();
            rows.iter().filter(|&&i| pred[i] == want[i]).count() as f64 / rows.len().max(1) as f64
        };
        let n = cfg.n;
        let per_class = (0..CLASS_NAMES.len()).map(|c| hits(&mut (0..n).filter(|&i| want[i] == c))).collect();
        Ok(RunScore {
            is: inception_score(&sc.probs),
            acc: cfg.has_classes().then(|| hits(&mut (0..n))),
            per_class,
            frechet: frechet_distance(&sc.feats, &self.reference),
            diversity: mean_pairwise_distance(&sc.feats, &want),
            wall_s,
            unet_rows: out.unet_rows,
            is_v3,
        })
    }
}

fn argmax(p: &[f64]) -> usize {
    p.iter().enumerate().max_by(|x, y| x.1.total_cmp(y.1)).map_or(0, |m| m.0)
}

/// Scores of real test images per N: IS, Fréchet distance, IS v3, class accuracy (mean, std).
/// Their class accuracy is the judge's own: the most a generator can be credited with.
type RealScores = ((f64, f64), (f64, f64), (f64, f64), (f64, f64));

/// The tables: CSV (one line per run), Markdown (one row per cell, mean ± std over seeds) and
/// a per-class accuracy table.
struct Report {
    csv: String,
    md: String,
    per_class: String,
    v3: bool,
}

impl Report {
    fn new(a: &EvalGrid) -> Self {
        let mut csv = String::from(
            "method,n,steps,seed,is,class_acc,frechet,diversity,wall_s,unet_rows,is_inception_v3,steering,solver,eta",
        );
        for c in CLASS_NAMES {
            csv += &format!(",acc_{c}");
        }
        csv.push('\n');
        let v3_note = match &a.inception {
            Some(p) => format!("the Inception-v3 columns use `{}`", p.display()),
            None => "no Inception-v3 weights were given (`--inception`), so there are no Inception-v3 columns".into(),
        };
        let v3 = a.inception.is_some();
        let mut md = format!(
            "IS, class accuracy and Fréchet distance use the crate's CIFAR-10 classifier \
             (`weights/classifier.bpk`); {v3_note}. Mean ± std over {} seeds; eta = {}; solver {}; \
             v1/v2 without a suffix steered by {} ({}). Diversity: the mean feature distance between two images of \
             one requested class.\n\n",
            a.seeds,
            a.eta,
            a.steering.solver.name(),
            a.steering.steering.name(),
            match (a.steering.steer_until, a.steering.paper_rule) {
                (Some(k), _) => format!("the paper's step rule, steps i < {k}"),
                (None, true) => "the paper's step rule, i ≤ steps/2".into(),
                (None, false) => match a.steering.fade {
                    Some(p) => format!("strength faded with the noise, fade {p}"),
                    None => "strength faded with the noise, each network's default fade".into(),
                },
            }
        );
        md += "| network | N | steps | IS (gen) | IS (real, same N) | class acc. | class acc. (real) | Fréchet (gen) | Fréchet (real) | diversity | wall s | U-Net rows |";
        md += if v3 { " IS v3 (gen) | IS v3 (real) |\n" } else { "\n" };
        md += "|---|---|---|---|---|---|---|---|---|---|---|---|";
        md += if v3 { "---|---|\n" } else { "\n" };
        let mut per_class = String::from("\nClass accuracy per class (mean over seeds):\n\n| network, N, steps |");
        for c in CLASS_NAMES {
            per_class += &format!(" {c} |");
        }
        per_class += &format!("\n|---|{}\n", "---|".repeat(CLASS_NAMES.len()));
        Self { csv, md, per_class, v3 }
    }

    fn line(&mut self, method: &str, cfg: &SampleConfig, r: &RunScore) {
        let acc = r.acc.map_or(String::new(), |a| format!("{a:.4}"));
        // What steered the run: the network and the strength (empty for ddim).
        let mut steering = match cfg.sampler.steering() {
            Some(s) => match s.fade {
                Some(p) => format!("{} x{} fade {p}", s.kind.name(), s.strength(cfg.steps)),
                None => format!("{} x{} until {}", s.kind.name(), s.strength(cfg.steps), s.steer_until(cfg.steps)),
            },
            None => String::new(),
        };
        if let Sampler::V2 { fan_eta, copies, .. } = cfg.sampler {
            steering.extend(fan_eta.map(|e| format!(" fan-eta {e}")));
            // Runs before the setting steered the paper's copies, and their labels say nothing.
            if copies != CopySteering::Paper {
                steering += &format!(" copies {}", copies.name());
            }
        }
        self.csv += &format!(
            "{method},{},{},{},{:.4},{acc},{:.4},{:.4},{:.3},{},{},{steering},{},{}",
            cfg.n,
            cfg.steps,
            cfg.seed,
            r.is,
            r.frechet,
            r.diversity,
            r.wall_s,
            r.unet_rows,
            r.is_v3.map_or(String::new(), |v| format!("{v:.4}")),
            cfg.solver.name(),
            cfg.eta
        );
        for p in &r.per_class {
            self.csv += &format!(",{p:.3}");
        }
        self.csv.push('\n');
    }

    fn cell(&mut self, method: &str, cfg: &SampleConfig, runs: &[RunScore], real: &RealScores) {
        let stat = |f: &dyn Fn(&RunScore) -> f64| mean_std(&runs.iter().map(f).collect::<Vec<_>>());
        let ((rim, ris), (rfm, rfs), (r3m, r3s), (ram, _)) = *real;
        let (im, isd) = stat(&|r| r.is);
        let (fm, fsd) = stat(&|r| r.frechet);
        let (dm, dsd) = stat(&|r| r.diversity);
        let acc = match runs[0].acc {
            Some(_) => format!("{:.1}%", 100.0 * stat(&|r| r.acc.unwrap_or(0.0)).0),
            None => "— (no class)".into(),
        };
        let real_acc = format!("{:.1}%", 100.0 * ram);
        let (n, steps) = (cfg.n, cfg.steps);
        self.md += &format!(
            "| {method} | {n} | {steps} | {im:.2} ± {isd:.2} | {rim:.2} ± {ris:.2} | {acc} | {real_acc} | {fm:.2} ± {fsd:.2} | {rfm:.2} ± {rfs:.2} | {dm:.3} ± {dsd:.3} | {:.2} | {} |",
            stat(&|r| r.wall_s).0,
            runs[0].unet_rows
        );
        if self.v3 {
            let (m3, s3) = stat(&|r| r.is_v3.unwrap_or(0.0));
            self.md += &format!(" {m3:.2} ± {s3:.2} | {r3m:.2} ± {r3s:.2} |");
        }
        self.md.push('\n');
        if runs[0].acc.is_some() {
            self.per_class += &format!("| {method}, {n}, {steps} |");
            for c in 0..CLASS_NAMES.len() {
                self.per_class += &format!(" {:.0}% |", 100.0 * stat(&|r| r.per_class[c]).0);
            }
            self.per_class.push('\n');
        }
    }

    fn write(self, out: &std::path::Path) -> anyhow::Result<()> {
        let md = self.md + &self.per_class;
        write_atomic(&out.join("eval.csv"), self.csv.as_bytes())?;
        write_atomic(&out.join("eval.md"), md.as_bytes())?;
        println!("{md}");
        Ok(())
    }
}

impl EvalGrid {
    /// Run every cell and write `eval.csv` and `eval.md` into `out`.
    pub fn run(&self, device: &Device) -> anyhow::Result<()> {
        // Every method name is checked before the first image is made.
        let specs: Vec<MethodSpec> =
            self.methods.iter().map(|m| parse_method(m, self.steering.steering)).collect::<Result<_, _>>()?;
        // The networks first: a wrong path fails before anything is read or made.
        let clf = classifier(&self.nets, device)?;
        let inception = self.inception.as_deref().map(|p| load_inception(p, device)).transpose()?;
        let test = Cifar::load(&self.data, false)?;
        let max_n = *self.n.iter().max().context("no N to evaluate")?;
        anyhow::ensure!(self.reference + max_n <= test.len(), "the reference set + the largest N exceed the test set");
        let judge = Judge::new(clf, inception, &test, self.reference, device);
        std::fs::create_dir_all(&self.out)?;
        let mut report = Report::new(self);
        let real: BTreeMap<usize, RealScores> =
            self.n.iter().map(|&n| (n, self.real_scores(&judge, &test, n, device))).collect();
        for (method, spec) in self.methods.iter().zip(&specs) {
            self.method(method, spec, &judge, &real, &mut report, device)?;
        }
        report.write(&self.out)
    }

    /// Real test images, `n` per seed from disjoint slices after the reference set.
    fn real_scores(&self, judge: &Judge, test: &Cifar, n: usize, device: &Device) -> RealScores {
        let (mut is, mut fd, mut is3, mut acc) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for s in 0..self.seeds as usize {
            let start = self.reference + (s * n) % (test.len() - self.reference - n + 1);
            let idx: Vec<usize> = (start..start + n).collect();
            let (images, labels) = test.batch(&idx, None, device);
            is3.extend(judge.is_v3(&images));
            let sc = score(&judge.clf, images);
            let labels = labels.into_data().convert::<i64>().try_to_vec::<i64>().unwrap_or_default();
            let right = sc.probs.iter().zip(&labels).filter(|(p, &y)| argmax(p) as i64 == y).count();
            acc.push(right as f64 / n as f64);
            is.push(inception_score(&sc.probs));
            fd.push(frechet_distance(&sc.feats, &judge.reference));
        }
        (mean_std(&is), mean_std(&fd), mean_std(&is3), mean_std(&acc))
    }

    /// Every N × steps cell of one method, `seeds` runs each.
    fn method(
        &self,
        method: &str,
        spec: &MethodSpec,
        judge: &Judge,
        real: &BTreeMap<usize, RealScores>,
        report: &mut Report,
        device: &Device,
    ) -> anyhow::Result<()> {
        // The method's own steering network wins over the default one (which only sets plain
        // v1/v2's), with its own default strength and fade.
        let options = SteeringOptions { steering: spec.steering, ..self.steering.clone() };
        let probe = options.apply(spec.sampler, spec.model, SampleConfig { eta: self.eta, ..Default::default() });
        let loaded = networks::load(&self.nets, &probe, device)?;
        for &n in &self.n {
            for &steps in &self.steps {
                let mut runs = Vec::new();
                for seed in 0..self.seeds {
                    let cfg = SampleConfig { n, steps, seed, ..probe.clone() };
                    let r = judge.run(&cfg, loaded.nets(), device)?;
                    eprintln!(
                        "{method} N={n} steps={steps} seed={seed}: IS {:.3} acc {:.3} FD {:.3} {:.2} s",
                        r.is,
                        r.acc.unwrap_or(f64::NAN),
                        r.frechet,
                        r.wall_s
                    );
                    report.line(method, &cfg, &r);
                    runs.push(r);
                }
                report.cell(method, &SampleConfig { n, steps, ..probe.clone() }, &runs, &real[&n]);
            }
        }
        Ok(())
    }
}
