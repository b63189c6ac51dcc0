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
    fn share_links_from_their_own_keys(k in prop::sample::select(vdiff::sampler::LINK_KEYS.to_vec()),
        v in "[-0-9a-zA-Z.,e+]{0,30}") {
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

/// A manifest may describe a network this code cannot build, with absurd sizes (an allocation
/// that would abort the process, or trap the page's module), a path out of the weights folder,
/// or a hash in capitals: each entry is checked when the manifest is read, natively and in the
/// page (the same `Manifest::parse`); a bad entry is an error naming it when it is asked for,
/// and the other entries still load.
#[test]
fn every_manifest_entry_is_checked_before_it_is_used() {
    let dir = std::path::Path::new("weights");
    let good: serde_json::Value = serde_json::from_str(&Manifest::read(dir).unwrap().to_json()).unwrap();
    let bad_cases: [(&str, &str, serde_json::Value, &str); 12] = [
        ("conditional", "/config/levels", 1.into(), "levels"),
        ("conditional", "/config/levels", 9.into(), "levels"),
        ("unconditional", "/config/width", 0.into(), "width"),
        ("unconditional", "/config/width", 4_000_000_000u64.into(), "width"),
        ("guide", "/config/embed", 4_000_000_000u64.into(), "embed"),
        ("guide", "/config/width", 0.into(), "width"),
        ("guide", "/config/features", 100_000.into(), "features"),
        ("classifier", "/config/features", 4_000_000_000u64.into(), "features"),
        ("layer", "/file", "../layer.bpk".into(), "plain file name"),
        ("layer", "/file", "/etc/passwd".into(), "plain file name"),
        ("layer-residual", "/sha256", "xyz".into(), "sha256"),
        ("layer-residual", "/bytes", u64::MAX.into(), "bytes"),
    ];
    for (entry, field, value, says) in bad_cases {
        let mut json = good.clone();
        *json.pointer_mut(&format!("/entries/{entry}{field}")).unwrap() = value.clone();
        let m = Manifest::parse(&json.to_string()).unwrap();
        let err = m.entry(entry).unwrap_err().to_string();
        assert!(err.contains(entry) && err.contains(says), "{entry}{field} = {value}: {err}");
        let err = m.read_file(dir, entry).unwrap_err().to_string();
        assert!(err.contains(entry), "{err}");
        // The others still load, and writing the manifest back keeps the bad entry as it was.
        let other = if entry == "conditional" { "unconditional" } else { "conditional" };
        m.load_unet(other, &m.read_file(dir, other).unwrap(), &Device::flex()).unwrap();
        let back: serde_json::Value = serde_json::from_str(&m.to_json()).unwrap();
        assert_eq!(back, json, "{entry}{field}");
    }
    // A hash in capitals is the same hash.
    let mut json = good.clone();
    let sha = json["entries"]["guide"]["sha256"].as_str().unwrap().to_uppercase();
    json["entries"]["guide"]["sha256"] = sha.into();
    let m = Manifest::parse(&json.to_string()).unwrap();
    m.load_steering("guide", &m.read_file(dir, "guide").unwrap(), &Device::flex()).unwrap();
    // Other bytes than the manifest's are refused before a network is built from them.
    let err = m.load_steering("guide", b"not weights", &Device::flex()).err().expect("other bytes load").to_string();
    assert!(err.contains("SHA-256"), "{err}");
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
