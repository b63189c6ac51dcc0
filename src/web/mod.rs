//! The page's wasm-bindgen surface — the only file that knows JavaScript.
//!
//! JS fetches the weights (progress, Cache API) and drives the loop; everything else happens
//! here: backend choice (WebGPU, or Flex compiled to wasm), checksum and architecture checks,
//! sampling one step at a time with one async readback per step, the labelled grid PNG.
//!
//! It is built twice (Cargo features): the CPU module (`flex`), which the page's thread and
//! every CPU run use, and the WebGPU module (`webgpu`), fetched by the worker only when WebGPU
//! is chosen. [`backends`] says which one this is.

mod run;
#[cfg(feature = "webgpu")]
mod webgpu;

use std::collections::HashMap;

use burn::tensor::{Device, Tensor};
use wasm_bindgen::prelude::*;

use crate::eval::classifier::Classifier;
use crate::image::{from_rgb8, labelled_grid, Provenance};
use crate::model::UNet;
use crate::sampler::{Nets, Part, SampleConfig, Sampling, Steer, Steering, CLASS_NAMES};
use crate::weights::{Arch, Manifest};

pub use run::{Output, Run};
#[cfg(feature = "webgpu")]
pub use webgpu::init_webgpu;

/// The device error WebGPU reported since init, if any (the CPU module has none).
fn device_error() -> Option<String> {
    #[cfg(feature = "webgpu")]
    return webgpu::device_error();
    #[cfg(not(feature = "webgpu"))]
    None
}

#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

fn js_err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// A Rust value as a plain JavaScript one (objects for maps, `null` for `None`).
fn to_js(v: &impl serde::Serialize) -> Result<JsValue, JsError> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(js_err)
}

/// The backends this module was built with: `["cpu"]`, `["webgpu"]` or both.
#[wasm_bindgen]
pub fn backends() -> Result<JsValue, JsError> {
    to_js(&backend_names())
}

fn backend_names() -> Vec<&'static str> {
    use crate::device::Backend;
    let all = [(Backend::Cpu.name(), cfg!(feature = "flex")), (Backend::WebGpu.name(), cfg!(feature = "webgpu"))];
    all.iter().filter(|b| b.1).map(|b| b.0).collect()
}

#[derive(Clone, Copy)]
enum Network {
    UNet(&'static UNet),
    Steering(&'static Steering),
    Classifier(&'static Classifier),
}

thread_local! {
    /// Every network loaded so far, by (backend, manifest entry, SHA-256 of its weights). Networks
    /// live as long as the page (the sampler borrows them for `'static`), so each is made once
    /// per backend: an engine made again for a backend (the user switched away and back) finds
    /// them here. Engines keep no list of their own.
    static LOADED: std::cell::RefCell<HashMap<(String, String, String), Network>> = std::cell::RefCell::new(HashMap::new());
}

/// The manifest entry of the classifier behind the page's steering-success meter.
const CLASSIFIER: &str = "classifier";

/// Networks on one backend, loaded from the weights manifest.
#[wasm_bindgen]
pub struct Engine {
    device: Device,
    backend: String,
    manifest: Manifest,
}

/// The U-Net batch sizes WebGPU warms up with (fused kernels compile per shape): v2's first
/// steps, one row and then one per class.
const WARM_UP_ROWS_WEBGPU: [usize; 2] = [1, 10];

/// Manifest entries a config needs, in load order.
fn needed(cfg: &SampleConfig) -> Vec<&'static str> {
    let (unet, steering) = cfg.entries();
    std::iter::once(unet).chain(steering).collect()
}

/// A config from JavaScript (the form's object), validated; the error names the setting.
fn parse_config(config: JsValue) -> Result<SampleConfig, JsError> {
    SampleConfig::from_flat(serde_wasm_bindgen::Deserializer::from(config)).map_err(js_err)
}

#[wasm_bindgen]
impl Engine {
    /// `backend`: "webgpu" (after `init_webgpu` succeeded) or "cpu" (Flex in wasm), if this
    /// module has it ([`backends`]).
    #[wasm_bindgen(constructor)]
    pub fn new(backend: &str, manifest_json: &str) -> Result<Engine, JsError> {
        let device = match backend {
            // Only on a device init_webgpu accepted: any other traps at its first tensor.
            #[cfg(feature = "webgpu")]
            "webgpu" if webgpu::accepted() => Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
            #[cfg(feature = "webgpu")]
            "webgpu" => {
                return Err(js_err("WebGPU is not available here (init_webgpu refused the adapter or was not called)"))
            }
            #[cfg(feature = "flex")]
            "cpu" => Device::flex(),
            other => {
                return Err(js_err(format!(
                    "this module has no {other:?} backend (it has {})",
                    backend_names().join(", ")
                )))
            }
        };
        Ok(Engine { device, backend: backend.into(), manifest: Manifest::parse(manifest_json).map_err(js_err)? })
    }

    pub fn backend(&self) -> String {
        self.backend.clone()
    }

    /// The manifest entries `config` needs that are not loaded yet, each
    /// `{name, file, bytes, sha256, unet}`.
    pub fn missing(&self, config: JsValue) -> Result<JsValue, JsError> {
        self.missing_of(&needed(&parse_config(config)?))
    }

    /// The same for the classifier of the meter (loaded after the first grid).
    pub fn missing_classifier(&self) -> Result<JsValue, JsError> {
        self.missing_of(&[CLASSIFIER])
    }

    fn missing_of(&self, names: &[&str]) -> Result<JsValue, JsError> {
        let mut out = Vec::new();
        for &name in names {
            if self.net(name).is_none() {
                let e = self.manifest.entry(name).map_err(js_err)?;
                // `unet`: worth a warm-up forward (shader compilation) once loaded.
                let unet = matches!(e.arch, crate::weights::Arch::Unet { .. });
                out.push(
                    serde_json::json!({"name": name, "file": e.file, "bytes": e.bytes, "sha256": e.sha256, "unet": unet}),
                );
            }
        }
        to_js(&out)
    }

    /// Check `bytes` against the manifest (SHA-256, architecture) and keep the network.
    pub fn load(&self, name: &str, bytes: &[u8]) -> Result<(), JsError> {
        let key = self.key(name).map_err(js_err)?;
        if LOADED.with(|l| l.borrow().contains_key(&key)) {
            return Ok(());
        }
        // Leaked once per backend and weights (LOADED): the sampler's `'static` borrow. The
        // manifest's kind picks the loader, as natively.
        let (m, device) = (&self.manifest, &self.device);
        let net = match &m.entry(name).map_err(js_err)?.arch {
            Arch::Classifier { .. } => {
                Network::Classifier(Box::leak(Box::new(m.load_classifier(name, bytes, device).map_err(js_err)?)))
            }
            Arch::Layer { .. } | Arch::Guide { .. } => {
                Network::Steering(Box::leak(Box::new(m.load_steering(name, bytes, device).map_err(js_err)?)))
            }
            Arch::Unet { .. } => Network::UNet(Box::leak(Box::new(m.load_unet(name, bytes, device).map_err(js_err)?))),
        };
        LOADED.with(|l| l.borrow_mut().insert(key, net));
        Ok(())
    }

    /// Start part `part` of a run split `parts` ways (the page's CPU workers; 0 of 1: the whole
    /// run); every network it needs must be loaded. The parts' images together are the whole
    /// run's, whatever the split.
    pub fn start(&self, config: JsValue, part: usize, parts: usize) -> Result<Run, JsError> {
        let cfg = parse_config(config)?;
        let names = needed(&cfg);
        let unet = match self.net(names[0]) {
            Some(Network::UNet(u)) => u,
            _ => return Err(js_err(format!("weights {:?} are not loaded", names[0]))),
        };
        let steering: Option<&'static dyn Steer> = match names.get(1).map(|n| self.net(n)) {
            None => None,
            Some(Some(Network::Steering(l))) => Some(l),
            // Classifier-free guidance: the conditional U-Net steers.
            Some(Some(Network::UNet(u))) if u.is_conditional() => Some(u),
            Some(_) => return Err(js_err(format!("weights {:?} are not loaded", names[1]))),
        };
        let part = Part { index: part, of: parts };
        let sampling = Sampling::part(&cfg, Nets { unet, steering }, &self.device, part).map_err(js_err)?;
        Ok(Run { sampling: Some(sampling), cfg, info: serde_json::Value::Null })
    }

    /// The labelled grid of a whole run's images (RGB bytes in class order, 32·32·3 each) as
    /// PNG bytes — the same picture as the CLI's grid.png — remembering the run's share link
    /// and the SHA-256 of the weights it ran.
    pub fn grid_png(&self, config: JsValue, rgb: &[u8]) -> Result<Vec<u8>, JsError> {
        let cfg = parse_config(config)?;
        if rgb.len() != cfg.n * 3072 {
            return Err(js_err(format!("{} bytes of images for N = {}", rgb.len(), cfg.n)));
        }
        let mut weights = std::collections::BTreeMap::new();
        for name in needed(&cfg) {
            weights.insert(name.to_string(), self.manifest.entry(name).map_err(js_err)?.sha256.clone());
        }
        let provenance = Provenance { fragment: cfg.to_fragment(), image: None, weights };
        let images: Vec<Vec<u8>> = rgb.chunks_exact(3072).map(<[u8]>::to_vec).collect();
        Ok(labelled_grid(&images, &cfg.image_labels()).png(Some(&provenance)))
    }

    /// The classifier's verdict on images (RGB bytes, 32·32·3 each): a promise of
    /// `[{class: k, p: probability}, …]`, one per image, its most likely class.
    pub fn classify(&self, rgb: Vec<u8>) -> Result<js_sys::Promise, JsError> {
        let Some(Network::Classifier(clf)) = self.net(CLASSIFIER) else {
            return Err(js_err("the classifier is not loaded"));
        };
        let (clf, device): (&'static Classifier, Device) = (clf, self.device.clone());
        let n = rgb.len() / 3072;
        let x = from_rgb8(&rgb);
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let mut out = Vec::with_capacity(n);
            // Chunks bound the memory a large N needs at once.
            for (k, chunk) in x.chunks(100 * 3072).enumerate() {
                let rows = chunk.len() / 3072;
                let t =
                    Tensor::<4>::from_data(burn::tensor::TensorData::new(chunk.to_vec(), [rows, 3, 32, 32]), &device);
                let probs = burn::tensor::activation::softmax(clf.forward(t), 1);
                let data = probs.into_data_async().await.map_err(|e| JsValue::from_str(&e.to_string()))?;
                let p = data.try_to_vec::<f32>().map_err(|e| JsValue::from_str(&format!("{e:?}")))?;
                for (i, row) in p.chunks_exact(CLASS_NAMES.len()).enumerate() {
                    let (class, prob) =
                        row.iter().enumerate().fold((0, f32::MIN), |m, (c, &v)| if v > m.1 { (c, v) } else { m });
                    out.push(serde_json::json!({"class": class, "p": prob, "image": k * 100 + i}));
                }
            }
            to_js(&out).map_err(JsValue::from)
        }))
    }

    /// The most rows a run on this engine may hold at once: a larger run goes in parts. On
    /// WebGPU the device's largest buffer bounds it, sized by the widest U-Net in the manifest;
    /// the CPU backend holds any N.
    pub fn max_rows(&self) -> Result<usize, JsError> {
        #[cfg(feature = "webgpu")]
        if self.backend == "webgpu" {
            return self.rows_within(webgpu::max_buffer() as f64);
        }
        Ok(crate::sampler::MAX_N)
    }
}

#[wasm_bindgen]
impl Engine {
    /// Run U-Net forwards and read each back: compiles the shaders while the remaining weights
    /// download, on WebGPU for each of the default run's shapes (fused kernels are compiled per
    /// shape). The promise holds no borrow of the engine, so weights can load meanwhile.
    pub fn warm_up(&self, name: &str) -> Result<js_sys::Promise, JsError> {
        let Some(Network::UNet(u)) = self.net(name) else { return Err(js_err(format!("{name} is not loaded"))) };
        let (unet, device): (&'static UNet, Device) = (u, self.device.clone());
        let passes: &'static [usize] = if self.backend == "webgpu" { &WARM_UP_ROWS_WEBGPU } else { &[1] };
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            for &rows in passes {
                let x = Tensor::<4>::zeros([rows, 3, 32, 32], &device);
                let v = crate::sampler::Denoiser::velocity(unet, x, 0.0, &vec![0; rows]);
                v.into_data_async().await.map_err(|e| JsValue::from_str(&e.to_string()))?;
            }
            Ok(JsValue::UNDEFINED)
        }))
    }
}

impl Engine {
    #[cfg(feature = "webgpu")]
    /// The most rows within buffers of `bound` bytes (see [`webgpu::largest_buffer_per_row`]).
    fn rows_within(&self, bound: f64) -> Result<usize, JsError> {
        let per_row = self
            .manifest
            .entries
            .values()
            .filter_map(|e| match &e.arch {
                Arch::Unet { config } => Some(webgpu::largest_buffer_per_row(config.width)),
                _ => None,
            })
            .max()
            .ok_or_else(|| js_err("the weights manifest has no U-Net"))?;
        let rows = if bound.is_finite() && bound > 0.0 { (bound / per_row as f64).floor() as usize } else { 0 };
        if rows == 0 {
            return Err(js_err(format!(
                "this adapter binds at most {bound} bytes per buffer; one image of the U-Net needs {per_row}"
            )));
        }
        Ok(rows.min(crate::sampler::MAX_N))
    }

    /// Where the network of manifest entry `name` is kept in [`LOADED`] for this engine.
    fn key(&self, name: &str) -> Result<(String, String, String), crate::weights::WeightsError> {
        Ok((self.backend.clone(), name.to_string(), self.manifest.entry(name)?.sha256.clone()))
    }

    /// The network of manifest entry `name` on this engine's backend, if loaded.
    fn net(&self, name: &str) -> Option<Network> {
        let key = self.key(name).ok()?;
        LOADED.with(|l| l.borrow().get(&key).copied())
    }
}

/// What a PNG written by vdiff remembers, `{config, image, weights}`: the config to run again
/// (the same object the page's form produces), which image of the run it is (null for a grid)
/// and entry → SHA-256 of the weights it was made with.
#[wasm_bindgen]
pub fn png_settings(png: &[u8]) -> Result<JsValue, JsError> {
    let prov = Provenance::read(png).map_err(js_err)?;
    let cfg = SampleConfig::from_fragment(&prov.fragment).map_err(js_err)?;
    to_js(&serde_json::json!({"config": cfg, "image": prov.image, "weights": prov.weights}))
}

/// The share-link fragment of a config — same format as the CLI's `--link`.
#[wasm_bindgen]
pub fn config_to_fragment(config: JsValue) -> Result<String, JsError> {
    Ok(parse_config(config)?.to_fragment())
}

/// The config of a share-link fragment; the error names the setting that is wrong.
#[wasm_bindgen]
pub fn config_from_fragment(fragment: &str) -> Result<JsValue, JsError> {
    to_js(&SampleConfig::from_fragment(fragment).map_err(js_err)?)
}

/// The weights entries a config runs, U-Net first.
#[wasm_bindgen]
pub fn config_entries(config: JsValue) -> Result<JsValue, JsError> {
    to_js(&needed(&parse_config(config)?))
}

/// Validate a config without running it; the error text explains what is wrong.
#[wasm_bindgen]
pub fn check_config(config: JsValue) -> Result<(), JsError> {
    parse_config(config).map(|_| ())
}

/// A config's U-Net rows, in all and per step, and what ddim would use,
/// `{rows, per_step: [..], ddim_rows}` (the page's v2 fan-out view).
#[wasm_bindgen]
pub fn row_counts(config: JsValue) -> Result<JsValue, JsError> {
    let cfg = parse_config(config)?;
    let per_step = cfg.unet_rows_per_step();
    let rows: usize = per_step.iter().sum();
    to_js(&serde_json::json!({"rows": rows, "per_step": per_step, "ddim_rows": cfg.n * cfg.steps}))
}

/// Everything the page's form offers — choices, labels, limits, defaults
/// ([`crate::sampler::PageSchema`]).
#[wasm_bindgen]
pub fn page_schema() -> Result<JsValue, JsError> {
    to_js(&crate::sampler::page_schema())
}
