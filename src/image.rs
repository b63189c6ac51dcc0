//! PNG output: single images and a grid labelled by class (used by the CLI and by the page's
//! "download grid"), each remembering how it was made ([`Provenance`]).

use std::collections::BTreeMap;

/// 3×5 capitals, one row of 3 bits per line (MSB left), for the grid labels.
const FONT: [[u8; 5]; 26] = [
    [2, 5, 7, 5, 5],
    [6, 5, 6, 5, 6],
    [3, 4, 4, 4, 3],
    [6, 5, 5, 5, 6],
    [7, 4, 6, 4, 7],
    [7, 4, 6, 4, 4],
    [3, 4, 5, 5, 3],
    [5, 5, 7, 5, 5],
    [7, 2, 2, 2, 7],
    [1, 1, 1, 5, 2],
    [5, 5, 6, 5, 5],
    [4, 4, 4, 4, 7],
    [5, 7, 7, 5, 5],
    [6, 5, 5, 5, 5],
    [2, 5, 5, 5, 2],
    [6, 5, 6, 4, 4],
    [2, 5, 5, 6, 3],
    [6, 5, 6, 5, 5],
    [3, 4, 2, 1, 6],
    [7, 2, 2, 2, 2],
    [5, 5, 5, 5, 7],
    [5, 5, 5, 5, 2],
    [5, 5, 7, 7, 5],
    [5, 5, 2, 5, 5],
    [5, 5, 2, 2, 2],
    [7, 1, 2, 4, 7],
];

const S: usize = 32;
const GAP: usize = 2;
const MAX_COLS: usize = 10;

/// An RGB image.
pub struct Rgb {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl Rgb {
    fn new(width: usize, height: usize, fill: u8) -> Self {
        Self { width, height, pixels: vec![fill; width * height * 3] }
    }

    fn put(&mut self, x: usize, y: usize, rgb: [u8; 3]) {
        let i = (y * self.width + x) * 3;
        self.pixels[i..i + 3].copy_from_slice(&rgb);
    }

    fn text(&mut self, x0: usize, y0: usize, text: &str, scale: usize) {
        for (n, ch) in text.bytes().enumerate() {
            let Some(glyph) = ch.to_ascii_uppercase().checked_sub(b'A').and_then(|g| FONT.get(g as usize)) else {
                continue;
            };
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..3 {
                    if bits >> (2 - col) & 1 == 1 {
                        for dy in 0..scale {
                            for dx in 0..scale {
                                let x = x0 + n * 4 * scale + col * scale + dx;
                                if x < self.width {
                                    self.put(x, y0 + row * scale + dy, [230, 230, 230]);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    pub fn png(&self, provenance: Option<&Provenance>) -> Vec<u8> {
        encode_png(&self.pixels, self.width, self.height, provenance)
    }
}

/// What a PNG written by vdiff remembers, in `tEXt` chunks: the share-link fragment of the run
/// that made it, which image of that run it is (none for a grid) and the SHA-256 of each
/// weights file the run used. `vdiff sample --from-png` and the page (drop a PNG on it) read it
/// back and run the same settings again.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Provenance {
    pub fragment: String,
    pub image: Option<usize>,
    /// Manifest entry → SHA-256.
    pub weights: BTreeMap<String, String>,
}

const KEY_SETTINGS: &str = "vdiff settings";
const KEY_IMAGE: &str = "vdiff image";
const KEY_WEIGHTS: &str = "vdiff weights";

#[derive(Debug, thiserror::Error)]
pub enum ProvenanceError {
    #[error("not a readable PNG")]
    Png(#[source] png::DecodingError),
    #[error("this PNG carries no vdiff settings (it was not written by vdiff, or an editor dropped its text chunks)")]
    Missing,
    #[error("this PNG's {key:?} text is malformed: {text:?}")]
    Malformed { key: &'static str, text: String },
}

impl Provenance {
    /// `(keyword, text)` pairs; weights as `entry=sha256` separated by commas.
    fn chunks(&self) -> Vec<(&'static str, String)> {
        let weights = self.weights.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",");
        let mut out = vec![(KEY_SETTINGS, self.fragment.clone()), (KEY_WEIGHTS, weights)];
        out.extend(self.image.map(|i| (KEY_IMAGE, i.to_string())));
        out
    }

    /// Read the provenance of a PNG written by [`encode_png`].
    pub fn read(png_bytes: &[u8]) -> Result<Provenance, ProvenanceError> {
        let reader = png::Decoder::new(png_bytes).read_info().map_err(ProvenanceError::Png)?;
        let text: BTreeMap<&str, &str> =
            reader.info().uncompressed_latin1_text.iter().map(|c| (c.keyword.as_str(), c.text.as_str())).collect();
        let fragment = text.get(KEY_SETTINGS).ok_or(ProvenanceError::Missing)?.to_string();
        let malformed = |key, text: &str| ProvenanceError::Malformed { key, text: text.into() };
        let image = match text.get(KEY_IMAGE) {
            Some(t) => Some(t.parse().map_err(|_| malformed(KEY_IMAGE, t))?),
            None => None,
        };
        let mut weights = BTreeMap::new();
        if let Some(t) = text.get(KEY_WEIGHTS).filter(|t| !t.is_empty()) {
            for pair in t.split(',') {
                let (k, v) = pair.split_once('=').ok_or_else(|| malformed(KEY_WEIGHTS, t))?;
                weights.insert(crate::weights::entry_name(k).to_string(), v.to_string());
            }
        }
        Ok(Provenance { fragment, image, weights })
    }
}

/// RGB bytes as a PNG, with the run's provenance when given.
pub fn encode_png(rgb: &[u8], width: usize, height: usize, provenance: Option<&Provenance>) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width as u32, height as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        for (key, text) in provenance.map(Provenance::chunks).unwrap_or_default() {
            // Share fragments and hex digests are ASCII: tEXt's Latin-1 holds them.
            enc.add_text_chunk(key.into(), text).expect("tEXt keyword and ASCII text");
        }
        let mut w = enc.write_header().expect("png header");
        w.write_image_data(rgb).expect("png data");
    }
    out
}

/// Images (32×32 RGB each) in rows, one block of rows per label (consecutive equal labels),
/// at most 10 per row, the label on the left.
pub fn labelled_grid(images: &[Vec<u8>], labels: &[&str]) -> Rgb {
    let mut blocks: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, &l) in labels.iter().enumerate() {
        match blocks.last_mut() {
            Some((last, v)) if *last == l => v.push(i),
            _ => blocks.push((l, vec![i])),
        }
    }
    let cols = blocks.iter().map(|(_, v)| v.len()).max().unwrap_or(1).min(MAX_COLS);
    let rows: usize = blocks.iter().map(|(_, v)| v.len().div_ceil(MAX_COLS)).sum();
    // 8 px per character at scale 2, plus a margin.
    let label_w = blocks.iter().map(|(l, _)| l.len()).max().unwrap_or(0) * 8 + 10;
    let mut g = Rgb::new(label_w + cols * (S + GAP) + GAP, rows.max(1) * (S + GAP) + GAP, 24);
    let mut row = 0;
    for (label, idx) in &blocks {
        g.text(4, GAP + row * (S + GAP) + 11, label, 2);
        for (j, &i) in idx.iter().enumerate() {
            let (r, c) = (row + j / MAX_COLS, j % MAX_COLS);
            let (x0, y0) = (label_w + GAP + c * (S + GAP), GAP + r * (S + GAP));
            for y in 0..S {
                for x in 0..S {
                    let p = (y * S + x) * 3;
                    g.put(x0 + x, y0 + y, [images[i][p], images[i][p + 1], images[i][p + 2]]);
                }
            }
        }
        row += idx.len().div_ceil(MAX_COLS);
    }
    g
}

/// Images in `[−1, 1]` → interleaved RGB bytes, one `Vec` of 32·32·3 per image.
pub fn to_rgb8(data: &[f32], n: usize) -> Vec<Vec<u8>> {
    const P: usize = 32 * 32;
    (0..n)
        .map(|i| {
            let img = &data[i * 3 * P..(i + 1) * 3 * P];
            (0..P)
                .flat_map(|p| (0..3).map(move |c| img[c * P + p]))
                .map(|v| (((v + 1.0) * 127.5).round()).clamp(0.0, 255.0) as u8)
                .collect()
        })
        .collect()
}

/// The inverse of [`to_rgb8`]: interleaved RGB bytes of 32×32 images → planar `[N, 3, 32, 32]`
/// values in `[−1, 1]` (what the classifier judges in the page).
pub fn from_rgb8(rgb: &[u8]) -> Vec<f32> {
    const P: usize = 32 * 32;
    rgb.chunks_exact(3 * P)
        .flat_map(|img| (0..3).flat_map(move |c| (0..P).map(move |p| img[3 * p + c] as f32 / 127.5 - 1.0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_rgb8_inverts_to_rgb8() {
        let data: Vec<f32> = (0..2 * 3072).map(|i| ((i * 37 % 255) as f32) / 127.5 - 1.0).collect();
        let rgb = to_rgb8(&data, 2);
        let back = from_rgb8(&rgb.concat());
        assert_eq!(back.len(), data.len());
        assert!(back.iter().zip(&data).all(|(a, b)| (a - b).abs() < 1e-5));
    }

    #[test]
    fn provenance_round_trips_through_png_text_chunks() {
        let prov = Provenance {
            fragment: "model=unconditional&sampler=v2&n=20&steps=5".into(),
            image: Some(7),
            weights: [("unconditional".to_string(), "ab12".to_string()), ("guide".into(), "cd34".into())].into(),
        };
        let png = encode_png(&[10; 2 * 2 * 3], 2, 2, Some(&prov));
        assert_eq!(Provenance::read(&png).unwrap(), prov);
        // A PNG written when the guide's entry was `layer-guide` names today's entry.
        let old = Provenance { weights: [("layer-guide".to_string(), "cd34".to_string())].into(), ..prov.clone() };
        let read = Provenance::read(&encode_png(&[10; 2 * 2 * 3], 2, 2, Some(&old))).unwrap();
        assert_eq!(read.weights, [("guide".to_string(), "cd34".to_string())].into());
        let grid = Provenance { image: None, ..prov };
        assert_eq!(Provenance::read(&encode_png(&[0; 3], 1, 1, Some(&grid))).unwrap(), grid);
        assert!(matches!(Provenance::read(&encode_png(&[0; 3], 1, 1, None)), Err(ProvenanceError::Missing)));
        assert!(matches!(Provenance::read(b"not a png"), Err(ProvenanceError::Png(_))));
    }
}
