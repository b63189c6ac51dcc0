//! A sampling run the page advances one step at a time, and its output.

use burn::tensor::Tensor;
use wasm_bindgen::prelude::*;

use super::{device_error, js_err, to_js};
use crate::image::to_rgb8;
use crate::sampler::{SampleConfig, Sampling, CLASS_NAMES};

/// One async readback of images `[B, 3, 32, 32]` as RGB bytes per image.
async fn read_rgb(images: Tensor<4>) -> Result<Vec<Vec<u8>>, JsError> {
    let rows = images.dims()[0];
    let data = images.into_data_async().await.map_err(js_err)?;
    Ok(to_rgb8(&data.try_to_vec::<f32>().map_err(|e| js_err(format!("{e:?}")))?, rows))
}

/// A sampling run the page advances with [`Run::step`].
#[wasm_bindgen]
pub struct Run {
    pub(super) sampling: Option<Sampling<'static>>,
    pub(super) cfg: SampleConfig,
    pub(super) info: serde_json::Value,
}

#[wasm_bindgen]
impl Run {
    /// One step. Returns the predicted x̂₀ of every current row as RGB bytes (32·32·3 per row)
    /// for the live preview, or `undefined` when the run is done.
    pub async fn step(&mut self) -> Result<Option<Vec<u8>>, JsError> {
        if let Some(e) = device_error() {
            return Err(js_err(format!("WebGPU reported an error, so its results cannot be trusted: {e}")));
        }
        let s = self.sampling.as_mut().ok_or_else(|| js_err("run finished"))?;
        let (pred, info) = match s.step() {
            None => return Ok(None),
            Some(i) => {
                let labels: Vec<&str> =
                    i.classes.map(|c| c.iter().map(|&c| CLASS_NAMES[c]).collect()).unwrap_or_default();
                let info = serde_json::json!({"i": i.i, "steps": i.steps, "t": i.t, "unet_rows": i.unet_rows,
                    "rows": i.pred.dims()[0], "ids": i.rows, "total": i.total_rows, "labels": labels});
                (i.pred.clone(), info)
            }
        };
        self.info = info;
        Ok(Some(read_rgb(pred).await?.concat()))
    }

    /// The last step: `i`, `steps`, `t`, `unet_rows` (this part's), `rows` (this part's),
    /// `ids` (which of the whole run's `total` rows they are), `labels`.
    pub fn info(&self) -> Result<JsValue, JsError> {
        to_js(&self.info)
    }

    /// The final images (class order; a part's: its share of it), after the last step.
    pub async fn finish(&mut self) -> Result<Output, JsError> {
        let s = self.sampling.take().ok_or_else(|| js_err("run finished"))?;
        let out = s.finish();
        let rgb = read_rgb(out.images).await?;
        if let Some(e) = device_error() {
            return Err(js_err(format!("WebGPU reported an error, so its results cannot be trusted: {e}")));
        }
        let all = self.cfg.image_labels();
        let labels = out.positions.iter().map(|&p| all[p]).collect();
        Ok(Output { rgb, labels, positions: out.positions, unet_rows: out.unet_rows })
    }
}

/// Generated images: a run's, or a part's with where each stands in the whole run's.
#[wasm_bindgen]
pub struct Output {
    rgb: Vec<Vec<u8>>,
    labels: Vec<&'static str>,
    positions: Vec<usize>,
    unet_rows: usize,
}

#[wasm_bindgen]
impl Output {
    /// RGB bytes, 32·32·3 per image.
    pub fn rgb(&self) -> Vec<u8> {
        self.rgb.concat()
    }

    /// Each image's class name.
    pub fn labels(&self) -> Result<JsValue, JsError> {
        to_js(&self.labels)
    }

    /// Where each image stands among the whole run's images.
    pub fn positions(&self) -> Vec<u32> {
        self.positions.iter().map(|&p| p as u32).collect()
    }

    /// U-Net rows this part evaluated (rows every part evaluates count in part 0).
    pub fn unet_rows(&self) -> usize {
        self.unet_rows
    }
}
