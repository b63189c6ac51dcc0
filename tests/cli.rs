//! The `vdiff` binary end to end: files it writes, byte-identical reruns, clear errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn vdiff(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vdiff")).args(args).output().expect("run vdiff")
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vdiff-cli-{}-{name}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    d
}

const TINY: [&str; 5] = ["--random-init", "--width", "8", "--levels", "3"];

fn sample(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["sample", "--out", out.to_str().unwrap(), "--quiet"];
    args.extend(TINY);
    args.extend(extra);
    vdiff(&args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn sample_writes_pngs_grid_and_manifest_byte_identically() {
    let a = tmp("a");
    let o = sample(&a, &["--sampler", "v2", "--n", "20", "--steps", "3", "--seed", "4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("manifest.json")).unwrap()).unwrap();
    for key in
        ["model", "sampler", "n", "steps", "eta", "seed", "classes", "unet_rows", "wall_s", "device", "weights_sha256"]
    {
        assert!(m.get(key).is_some(), "manifest lacks {key}");
    }
    assert_eq!(m["unet_rows"], 1 + 10 + 20);
    let classes = m["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 20);
    assert_eq!(classes[0], "airplane");
    assert_eq!(classes[19], "truck");
    assert!(a.join("airplane_0000.png").is_file() && a.join("truck_0019.png").is_file());
    assert!(a.join("grid.png").is_file());

    let b = tmp("b");
    assert!(sample(&b, &["--sampler", "v2", "--n", "20", "--steps", "3", "--seed", "4"]).status.success());
    for f in ["airplane_0000.png", "dog_0011.png", "grid.png"] {
        assert!(std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(), "{f} differs");
    }
    let c = tmp("c");
    assert!(sample(&c, &["--sampler", "v2", "--n", "20", "--steps", "3", "--seed", "5"]).status.success());
    assert!(std::fs::read(a.join("grid.png")).unwrap() != std::fs::read(c.join("grid.png")).unwrap());
    for d in [a, b, c] {
        std::fs::remove_dir_all(d).ok();
    }
}

#[test]
fn class_subset_and_ddim_models() {
    let d = tmp("subset");
    let o = sample(&d, &["--model", "conditional", "--n", "4", "--steps", "2", "--classes", "cat,ship"]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["cat_0000.png", "cat_0001.png", "ship_0002.png", "ship_0003.png"] {
        assert!(d.join(f).is_file(), "{f}");
    }
    let u = tmp("uncond");
    let o = sample(&u, &["--model", "unconditional", "--n", "2", "--steps", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(u.join("unconditional_0000.png").is_file());
    std::fs::remove_dir_all(d).ok();
    std::fs::remove_dir_all(u).ok();
}

#[test]
fn bad_input_exits_nonzero_with_a_clear_message() {
    let d = tmp("bad");
    let cases: [(&[&str], &str); 8] = [
        (&["--classes", "airplane,kangaroo"], "kangaroo"),
        (&["--n", "0"], "n must be"),
        (&["--sampler", "v2", "--n", "7"], "multiple of 10"),
        (&["--steps", "0"], "steps must be"),
        (&["--eta", "2"], "eta"),
        (&["--sampler", "v1", "--strength", "33"], "strength must be"),
        (&["--sampler", "v1", "--steps", "4", "--steer-until", "5"], "steer_until must be"),
        (&["--link", "#sampler=v1&layer=layer-magic"], "layer=\"layer-magic\""),
    ];
    for (extra, want) in cases {
        let o = sample(&d, extra);
        // A clear error is exit code 1; a panic would be 101.
        assert_eq!(o.status.code(), Some(1), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{extra:?}: {}", stderr(&o));
    }
    // Missing weights directory.
    let o = vdiff(&["sample", "--out", d.to_str().unwrap(), "--weights", "/nonexistent/weights"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("/nonexistent/weights"), "{}", stderr(&o));
    // A weights directory whose file is corrupt.
    let w = tmp("corrupt");
    std::fs::create_dir_all(&w).unwrap();
    let o = vdiff(&["sample", "--out", d.to_str().unwrap(), "--weights", w.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("manifest"), "{}", stderr(&o));
    std::fs::remove_dir_all(w).ok();
}

/// Weights that pass the SHA-256 check but are not a valid record (the manifest was rewritten
/// to match), and a run that needs an entry the manifest lacks: clear errors, exit code 1, never
/// a panic.
#[test]
fn corrupt_weights_are_errors_not_panics() {
    use vdiff::burn::tensor::Device;
    use vdiff::model::UNetConfig;
    use vdiff::weights::{sha256_hex, Arch, Manifest};

    let w = tmp("corrupt-record");
    std::fs::create_dir_all(&w).unwrap();
    let config = UNetConfig::new().with_width(8).with_levels(3).with_conditional(true);
    let mut m = Manifest::default();
    m.save(
        &w,
        "conditional",
        "unet-conditional.bpk",
        Arch::Unet { config: config.clone() },
        config.init(&Device::flex()),
        true,
    )
    .unwrap();
    let file = w.join("unet-conditional.bpk");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.truncate(bytes.len() / 2);
    std::fs::write(&file, &bytes).unwrap();
    m.entries.get_mut("conditional").unwrap().sha256 = sha256_hex(&bytes);
    m.write(&w).unwrap();
    let d = tmp("corrupt-out");
    let weights = w.to_str().unwrap();
    for (args, want) in [
        (vec!["--model", "conditional"], "not a valid .bpk record"),
        (vec!["--sampler", "v1", "--layer", "layer"], "unconditional"),
    ] {
        let mut all = vec!["sample", "--out", d.to_str().unwrap(), "--weights", weights, "--quiet"];
        all.extend(args.iter().copied());
        let o = vdiff(&all);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
    std::fs::remove_dir_all(w).ok();
}

/// A PNG remembers its run: `--from-png` on one image (or the grid) runs the same settings and
/// writes the same files; a PNG without vdiff's text, or no PNG at all, is a clear error.
#[test]
fn pngs_remember_their_settings() {
    let a = tmp("png-a");
    let o = sample(&a, &["--sampler", "v1", "--n", "10", "--steps", "3", "--seed", "9", "--strength", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let prov = vdiff::image::Provenance::read(&std::fs::read(a.join("dog_0005.png")).unwrap()).unwrap();
    assert_eq!(prov.image, Some(5));
    assert!(prov.fragment.contains("sampler=v1") && prov.fragment.contains("strength=2"), "{}", prov.fragment);
    assert_eq!(prov.weights.get("unconditional").map(String::as_str), Some("random-init"));
    // The run's manifest names its steering network under the one name the share link uses.
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["steering"], "guide");
    assert_eq!(manifest["config"]["steering"], "guide");
    assert!(prov.fragment.contains("steering=guide"), "{}", prov.fragment);

    let b = tmp("png-b");
    let o = sample(&b, &["--from-png", a.join("dog_0005.png").to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("dog_0005.png"), "names the PNG's image");
    for f in ["dog_0005.png", "truck_0009.png", "grid.png"] {
        assert!(std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(), "{f} differs");
    }

    let plain = a.join("plain.png");
    std::fs::write(&plain, vdiff::image::encode_png(&[0, 0, 0], 1, 1, None)).unwrap();
    let o = sample(&b, &["--from-png", plain.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("carries no vdiff settings"), "{}", stderr(&o));
    let o = sample(&b, &["--from-png", a.join("manifest.json").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("not a readable PNG"), "{}", stderr(&o));
    for d in [a, b] {
        std::fs::remove_dir_all(d).ok();
    }
}

#[test]
fn bench_compares_the_samplers_and_refuses_bad_settings() {
    let bench = |extra: &[&str]| vdiff(&[&["bench", "--device", "flex", "--batch", "10"][..], &TINY, extra].concat());
    let o = bench(&["--n", "10", "--steps", "2", "--reps", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let row = out.lines().find(|l| l.starts_with("| 2 |")).unwrap_or_else(|| panic!("no 2-step row in:\n{out}"));
    // steps, three times, two fastest-run ratios, the per-round median (range), two row counts.
    let cells: Vec<&str> = row.trim_matches('|').split('|').map(str::trim).collect();
    assert_eq!(cells.len(), 9, "{row}");
    assert!(cells[6].contains("× (") && cells[6].ends_with("×)"), "per-round ratio: {row}");
    assert_eq!(&cells[7..], ["20", "11"], "U-Net rows of ddim and v2 at N = 10, 2 steps: {row}");
    assert!(out.contains("| 2 | v2 |"), "where the time went:\n{out}");

    for (bad, why) in [(["--n", "10", "--reps", "0"], "--reps"), (["--n", "7", "--reps", "1"], "multiple of 10")] {
        let o = bench(&[&bad[..], &["--steps", "2"]].concat());
        assert!(!o.status.success() && stderr(&o).contains(why), "{bad:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
}
