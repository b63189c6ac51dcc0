//! PyTorch `.pth` files written the way `torch.save(state_dict)` writes them (zip + pickle
//! protocol 2), so the Inception-v3 loading path is tested without torch or a download.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;

use vdiff::burn;
use vdiff::burn::store::ModuleSnapshot;
use vdiff::eval::inception::InceptionV3;

/// One tensor of a PyTorch state dict: f32 (`FloatStorage`) or i64 (`LongStorage`).
pub struct PtTensor {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: PtData,
}

pub enum PtData {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

/// Pickle protocol 2, as `torch.save(state_dict)` writes it: a dict of
/// `torch._utils._rebuild_tensor_v2(persistent storage, offset, size, stride, False, OrderedDict())`.
fn pickle(tensors: &[PtTensor]) -> Vec<u8> {
    let mut p = vec![0x80, 2, b'}', b'('];
    let s = |p: &mut Vec<u8>, v: &str| {
        p.push(b'X');
        p.extend((v.len() as u32).to_le_bytes());
        p.extend(v.as_bytes());
    };
    let int = |p: &mut Vec<u8>, v: usize| {
        p.push(b'J');
        p.extend((v as i32).to_le_bytes());
    };
    let global = |p: &mut Vec<u8>, m: &str, n: &str| p.extend(format!("c{m}\n{n}\n").as_bytes());
    for (key, t) in tensors.iter().enumerate() {
        s(&mut p, &t.name);
        global(&mut p, "torch._utils", "_rebuild_tensor_v2");
        p.push(b'(');
        p.push(b'(');
        s(&mut p, "storage");
        global(&mut p, "torch", if matches!(t.data, PtData::F32(_)) { "FloatStorage" } else { "LongStorage" });
        s(&mut p, &key.to_string());
        s(&mut p, "cpu");
        int(&mut p, t.shape.iter().product());
        p.extend([b't', b'Q']);
        int(&mut p, 0);
        p.push(b'(');
        for &d in &t.shape {
            int(&mut p, d);
        }
        p.extend([b't', b'(']);
        for i in 0..t.shape.len() {
            int(&mut p, t.shape[i + 1..].iter().product());
        }
        p.extend([b't', 0x89]);
        global(&mut p, "collections", "OrderedDict");
        p.extend([b')', b'R', b't', b'R']);
    }
    p.extend([b'u', b'.']);
    p
}

pub fn write_pth(path: &Path, tensors: &[PtTensor]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut entry = |name: &str, bytes: &[u8]| {
        zip.start_file(format!("archive/{name}"), opts).unwrap();
        zip.write_all(bytes).unwrap();
    };
    entry("data.pkl", &pickle(tensors));
    entry("byteorder", b"little");
    for (key, t) in tensors.iter().enumerate() {
        let bytes: Vec<u8> = match &t.data {
            PtData::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            PtData::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        };
        entry(&format!("data/{key}"), &bytes);
    }
    entry("version", b"3\n");
    zip.finish().unwrap();
}

/// The state dict PyTorch would hold for `net`: BatchNorm `weight`/`bias` (Burn: gamma/beta),
/// Linear weights `[out, in]` (Burn: `[in, out]`), plus what PyTorch saves and inference
/// ignores: `num_batches_tracked` and the auxiliary classifier.
pub fn state_dict(net: &InceptionV3) -> Vec<PtTensor> {
    let mut out = Vec::new();
    for t in net.collect(None, None, false) {
        let data = burn::store::bridge::to_data(&t).unwrap();
        let mut v: Vec<f32> = data.convert::<f32>().try_to_vec().unwrap();
        let mut shape: Vec<usize> = t.shape.to_vec();
        let mut name = t.name.clone();
        if name.ends_with(".bn.gamma") {
            name = name.replace(".bn.gamma", ".bn.weight");
        } else if name.ends_with(".bn.beta") {
            name = name.replace(".bn.beta", ".bn.bias");
        } else if name == "fc.weight" {
            let (i, o) = (shape[0], shape[1]);
            v = (0..o * i).map(|k| v[(k % i) * o + k / i]).collect();
            shape = vec![o, i];
        }
        if name.ends_with(".bn.running_var") {
            out.push(PtTensor {
                name: name.replace("running_var", "num_batches_tracked"),
                shape: vec![],
                data: PtData::I64(vec![1234]),
            });
        }
        out.push(PtTensor { name, shape, data: PtData::F32(v) });
    }
    out.push(PtTensor { name: "AuxLogits.fc.weight".into(), shape: vec![2, 3], data: PtData::F32(vec![0.5; 6]) });
    out
}
