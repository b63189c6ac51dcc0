//! Every parser of outside data, fed arbitrary and mutated bytes: each returns a value or an
//! error, never panics, and never allocates from a length field before checking it against the
//! data (a property test would run out of memory if it did).
#![cfg(feature = "train")]

use std::path::PathBuf;

use proptest::prelude::*;
use vdiff::burn::tensor::Device;
use vdiff::import::{import_torch_unet, read_safetensors};
use vdiff::model::{GuideNetConfig, UNetConfig};
use vdiff::sampler::{parse_classes, SampleConfig};
use vdiff::train::{checkpoint, data::Cifar};
use vdiff::weights::{load_bytes, to_bytes, Manifest};

fn tiny() -> UNetConfig {
    UNetConfig::new().with_width(4).with_levels(2).with_conditional(false)
}

fn tmp_file(tag: &str, bytes: &[u8]) -> PathBuf {
    let p = std::env::temp_dir().join(format!("vdiff-untrusted-{tag}-{}", std::process::id()));
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A valid file with some bytes overwritten, and possibly cut short.
fn mutate(valid: &[u8], edits: &[(usize, u8)], cut: usize) -> Vec<u8> {
    let mut b = valid.to_vec();
    for &(at, byte) in edits {
        let i = at % b.len();
        b[i] = byte;
    }
    b.truncate(b.len() - cut % (b.len() + 1));
    b
}

fn valid_bpk() -> Vec<u8> {
    to_bytes(tiny().init(&Device::flex()), false)
}

fn valid_safetensors() -> Vec<u8> {
    let path = std::env::temp_dir().join(format!("vdiff-untrusted-valid-{}.safetensors", std::process::id()));
    vdiff::import::export_torch_unet(tiny().init(&Device::flex()), &path, false).unwrap();
    let b = std::fs::read(&path).unwrap();
    std::fs::remove_file(path).ok();
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn share_links_and_class_lists(s in ".{0,200}") {
        if let Ok(c) = SampleConfig::from_fragment(&s) {
            let _ = c.validate();
        }
        let _ = parse_classes(&s);
    }

    #[test]
    fn share_links_from_their_own_keys(k in prop::sample::select(vec!["n", "steps", "eta", "seed", "w", "classes",
        "layer", "steering", "strength", "steer_until", "model", "sampler"]), v in "[-0-9a-z.,e]{0,30}") {
        if let Ok(c) = SampleConfig::from_fragment(&format!("{k}={v}")) {
            let _ = c.validate();
        }
    }

    #[test]
    fn manifests(s in ".{0,300}") {
        let _ = Manifest::parse(&s);
    }

    #[test]
    fn bpk_records(edits in prop::collection::vec((any::<usize>(), any::<u8>()), 0..8), cut in any::<usize>()) {
        let bytes = mutate(&valid_bpk(), &edits, cut);
        let _ = load_bytes(tiny().init(&Device::flex()), &bytes, "fuzz", "tiny");
        let _ = load_bytes(GuideNetConfig::new().init(&Device::flex()), &bytes, "fuzz", "guide");
    }

    #[test]
    fn arbitrary_bpk_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = load_bytes(tiny().init(&Device::flex()), &bytes, "fuzz", "tiny");
    }

    #[test]
    fn checkpoints(bytes in prop::collection::vec(any::<u8>(), 0..256), lie in any::<u64>()) {
        // A valid header with an arbitrary length field, then arbitrary bytes.
        let mut data = b"VDIFFCK1".to_vec();
        data.extend_from_slice(&lie.to_le_bytes());
        data.extend_from_slice(&bytes);
        let p = tmp_file("ck", &data);
        let _ = checkpoint::load::<serde_json::Value>(&p, 3);
        std::fs::write(&p, &bytes).unwrap();
        let _ = checkpoint::load::<serde_json::Value>(&p, 3);
        std::fs::remove_file(p).ok();
    }

    #[test]
    fn cifar_batches_and_archives(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let _ = Cifar::parse(&bytes, "fuzz");
        let p = tmp_file("cifar.tar.gz", &bytes);
        let _ = Cifar::load(&p, false);
        // A real gzip stream around arbitrary bytes: the tar reader sees them.
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &bytes).unwrap();
        std::fs::write(&p, gz.finish().unwrap()).unwrap();
        let _ = Cifar::load(&p, true);
        std::fs::remove_file(p).ok();
    }

    #[test]
    fn safetensors_files(edits in prop::collection::vec((any::<usize>(), any::<u8>()), 0..6), cut in any::<usize>(),
                         lie in any::<u64>()) {
        let bytes = mutate(&valid_safetensors(), &edits, cut);
        let p = tmp_file("st", &bytes);
        let _ = read_safetensors(&p, "");
        let _ = import_torch_unet(&p, &tiny(), &Device::flex());
        // A header length that lies.
        let mut lying = lie.to_le_bytes().to_vec();
        lying.extend_from_slice(&bytes[8.min(bytes.len())..]);
        std::fs::write(&p, lying).unwrap();
        let _ = read_safetensors(&p, "");
        let _ = import_torch_unet(&p, &tiny(), &Device::flex());
        std::fs::remove_file(p).ok();
    }
}

/// A manifest may describe a U-Net this code cannot build (levels < 2 would reach an assertion
/// in `UNetConfig::init`): reading it says so — natively and in the page (built with
/// `panic = "abort"`), where the same `Manifest::parse` runs.
#[test]
fn manifests_with_unbuildable_unets_are_errors() {
    let good = Manifest::read(std::path::Path::new("weights")).unwrap().to_json();
    let unet = "\"width\": 32,\n        \"levels\": 3";
    assert!(good.contains(unet), "the committed manifest changed shape");
    for (bad, says) in [("1", "levels"), ("9", "levels"), ("0", "width")] {
        let json = if says == "width" {
            good.replacen(unet, &unet.replace("32", bad), 1)
        } else {
            good.replacen(unet, &unet.replace(": 3", &format!(": {bad}")), 1)
        };
        let err = Manifest::parse(&json).unwrap_err().to_string();
        assert!(err.contains("cannot build") && err.contains(says), "{says} {bad}: {err}");
    }
}

/// Commands that add an entry to a weights directory read its manifest first: a missing one
/// starts empty, a corrupt one is an error — replacing it would drop every other entry.
#[test]
fn a_corrupt_manifest_is_not_replaced_by_an_empty_one() {
    let dir = std::env::temp_dir().join(format!("vdiff-manifest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::remove_file(dir.join("manifest.json")).ok();
    assert!(Manifest::read_or_new(&dir).unwrap().entries.is_empty());
    std::fs::write(dir.join("manifest.json"), b"{\"entries\": {\"unconditional\": ").unwrap();
    let err = Manifest::read_or_new(&dir).unwrap_err().to_string();
    assert!(err.contains("invalid weights manifest"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
