//! `vdiff sample`: generate images and write PNGs, a labelled grid and manifest.json.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use vdiff::device::Backend;
use vdiff::image::{encode_png, labelled_grid, to_rgb8, Provenance};
use vdiff::sampler::{parse_classes, sample, ModelKind, SampleConfig, SamplerKind, CLASS_NAMES};
use vdiff::weights::write_atomic;

use vdiff::networks::{self, Loaded, NetSource};
use vdiff::options::SteeringOptions;

#[derive(Args, Debug)]
pub struct SampleArgs {
    /// U-Net for ddim (v1 and v2 always use the unconditional U-Net + a steering network).
    #[arg(long, value_enum, default_value = "conditional")]
    pub model: ModelKind,
    /// Sampler: ddim (baseline), v1 (steer the first half), v2 (fan-out).
    #[arg(long, value_enum, default_value = "ddim")]
    pub sampler: SamplerKind,
    /// Number of images (v2: a multiple of the number of classes).
    #[arg(long, default_value_t = 10)]
    pub n: usize,
    /// Classes to generate, comma-separated names or labels (default: all ten, N/10 each).
    #[arg(long)]
    pub classes: Option<String>,
    /// Sampling steps.
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Fresh noise per step: 0 deterministic (the ODE), 1 the notebook's DDPM-like sampling.
    #[arg(long, default_value_t = 0.0)]
    pub eta: f64,
    /// Seed of the host-side random numbers (initial noise, eta noise, v2 perturbations).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub steering: SteeringOptions,
    /// Device: auto (a hardware GPU through wgpu, else the CPU), cpu or webgpu.
    #[arg(long = "device", alias = "backend", value_enum, default_value_t = Backend::Auto)]
    pub device: Backend,
    #[command(flatten)]
    pub nets: NetSource,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Take every sampling setting from a page share link (its `#…` fragment or the whole URL).
    #[arg(long, conflicts_with = "from_png")]
    pub link: Option<String>,
    /// Take every sampling setting from a PNG that vdiff (CLI or page) wrote: it carries its
    /// share link and the SHA-256 of its weights.
    #[arg(long, value_name = "FILE")]
    pub from_png: Option<PathBuf>,
}

impl SampleArgs {
    /// The settings, and the provenance of `--from-png` when given.
    pub fn config(&self) -> anyhow::Result<(SampleConfig, Option<Provenance>)> {
        if let Some(path) = &self.from_png {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let prov = Provenance::read(&bytes).with_context(|| path.display().to_string())?;
            let cfg = checked_fragment(&prov.fragment)
                .with_context(|| format!("{}: its settings {:?}", path.display(), prov.fragment))?;
            return Ok((cfg, Some(prov)));
        }
        Ok((self.settings()?, None))
    }

    fn settings(&self) -> anyhow::Result<SampleConfig> {
        if let Some(link) = &self.link {
            return checked_fragment(link.rsplit_once('#').map_or(link.as_str(), |(_, f)| f));
        }
        let classes = match &self.classes {
            Some(s) => parse_classes(s)?,
            None => (0..CLASS_NAMES.len()).collect(),
        };
        let common = SampleConfig {
            n: self.n,
            classes,
            steps: self.steps,
            eta: self.eta,
            seed: self.seed,
            ..Default::default()
        };
        let cfg = self.steering.apply(self.sampler, self.model, common);
        cfg.validate()?;
        Ok(cfg)
    }
}

/// The settings of a share-link fragment (from `--link` or a PNG's text), validated.
fn checked_fragment(fragment: &str) -> anyhow::Result<SampleConfig> {
    let cfg = SampleConfig::from_fragment(fragment)?;
    cfg.validate()?;
    Ok(cfg)
}

pub fn run(a: SampleArgs) -> anyhow::Result<()> {
    let (cfg, from_png) = a.config()?;
    let (device, backend) = super::open_device(a.device)?;
    let loaded = networks::load(&a.nets, &cfg, &device)?;
    if let Some(prov) = &from_png {
        warn_other_weights(prov, &loaded);
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("cannot create {}", a.out.display()))?;
    let bar = if a.quiet { ProgressBar::hidden() } else { ProgressBar::new(cfg.steps as u64) };
    bar.set_style(ProgressStyle::with_template("{bar:30} step {pos}/{len} {msg} [{elapsed}<{eta}]").unwrap());
    let start = Instant::now();
    let out = sample(&cfg, loaded.nets(), &device, |s| {
        bar.set_message(format!("t={:.3} rows={}", s.t, s.unet_rows));
        bar.inc(1);
    })?;
    let data = out.images.into_data().try_to_vec::<f32>().map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let wall = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let labels = write_images(&a.out, &cfg, &data, &loaded)?;
    let cost = RunCost { unet_rows: out.unet_rows, wall_s: wall, backend };
    write_manifest(&a.out, &cfg, &labels, &loaded, &cost)?;
    println!("{} images in {:.2} s ({} U-Net rows) → {}", cfg.n, wall, out.unet_rows, a.out.display());
    if let Some(i) = from_png.and_then(|p| p.image).filter(|&i| i < cfg.n) {
        println!("the PNG's image is {}/{}_{i:04}.png", a.out.display(), labels[i]);
    }
    Ok(())
}

/// Other weights give other images: say so, and still run the settings.
fn warn_other_weights(prov: &Provenance, loaded: &Loaded) {
    for (entry, sha) in &prov.weights {
        match loaded.sha256.get(entry) {
            Some(have) if have == sha => {}
            have => eprintln!(
                "warning: the PNG was made with {entry} {sha:.12}…, these weights have {}: the images will differ",
                have.map_or("none".to_string(), |h| format!("{h:.12}…"))
            ),
        }
    }
}

/// One PNG per image and the labelled grid, each carrying the run's share link and weights;
/// returns the images' labels.
fn write_images(dir: &Path, cfg: &SampleConfig, data: &[f32], loaded: &Loaded) -> anyhow::Result<Vec<&'static str>> {
    let labels = cfg.image_labels();
    let rgb = to_rgb8(data, cfg.n);
    let grid_prov = Provenance { fragment: cfg.to_fragment(), image: None, weights: loaded.sha256.clone() };
    for (i, img) in rgb.iter().enumerate() {
        let prov = Provenance { image: Some(i), ..grid_prov.clone() };
        write_atomic(&dir.join(format!("{}_{i:04}.png", labels[i])), &encode_png(img, 32, 32, Some(&prov)))?;
    }
    write_atomic(&dir.join("grid.png"), &labelled_grid(&rgb, &labels).png(Some(&grid_prov)))?;
    Ok(labels)
}

/// What a run cost, for its manifest.
struct RunCost {
    unet_rows: usize,
    wall_s: f64,
    backend: Backend,
}

/// `manifest.json`: the settings, the files, the weights and what the run cost.
fn write_manifest(
    dir: &Path,
    cfg: &SampleConfig,
    labels: &[&str],
    loaded: &Loaded,
    cost: &RunCost,
) -> anyhow::Result<()> {
    let manifest = json!({
        "model": cfg.unet().name(),
        "sampler": cfg.sampler.name(),
        "n": cfg.n,
        "steps": cfg.steps,
        "eta": cfg.eta,
        "seed": cfg.seed,
        "steering": cfg.entries().1,
        "requested_classes": cfg.classes.iter().map(|&c| CLASS_NAMES[c]).collect::<Vec<_>>(),
        "classes": labels,
        "files": labels.iter().enumerate().map(|(i, l)| format!("{l}_{i:04}.png")).collect::<Vec<_>>(),
        "unet_rows": cost.unet_rows,
        "wall_s": cost.wall_s,
        "device": cost.backend.name(),
        "weights_sha256": loaded.sha256,
        "config": cfg,
        "share_link": format!("#{}", cfg.to_fragment()),
    });
    write_atomic(&dir.join("manifest.json"), serde_json::to_string_pretty(&manifest)?.as_bytes())?;
    Ok(())
}
