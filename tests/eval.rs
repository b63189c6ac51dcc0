//! The evaluation grid runner on a tiny config writes a table with every requested row.
#![cfg(feature = "train")]

use std::process::Command;

#[path = "support/pth.rs"]
mod pth;

use vdiff::burn::tensor::Device;
use vdiff::eval::inception::InceptionConfig;

#[test]
fn eval_grid_writes_every_requested_row() {
    let d = std::env::temp_dir().join(format!("vdiff-eval-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    // 100 test records in the official format (labels 0..9 cycling, varied pixels).
    let mut test = Vec::new();
    for i in 0..100u32 {
        test.push((i % 10) as u8);
        test.extend((0..3072u32).map(|p| ((p * 7 + i * 13) % 256) as u8));
    }
    std::fs::write(d.join("test_batch.bin"), test).unwrap();
    let out = d.join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_vdiff"))
        .args(["eval", "--random-init", "--width", "8", "--levels", "2", "--methods", "conditional,v2,unconditional"])
        .args(["--n", "10,20", "--steps", "2", "--seeds", "2", "--reference", "50"])
        .arg("--data")
        .arg(&d)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(out.join("eval.md")).unwrap();
    for method in ["conditional", "v2", "unconditional"] {
        for n in [10, 20] {
            let row = format!("| {method} | {n} | 2 |");
            assert_eq!(md.matches(&row).count(), 1, "missing row {row} in\n{md}");
        }
    }
    assert!(md.contains("— (no class)"), "unconditional ddim has no class accuracy");
    // The judge's accuracy on real images sits beside each row; every row fills every column.
    let header = md.lines().find(|l| l.starts_with("| network | N |")).unwrap();
    assert!(header.contains("class acc. (real)"), "{header}");
    for row in md.lines().filter(|l| l.starts_with("| conditional |") || l.starts_with("| v2 |")) {
        assert_eq!(row.matches('|').count(), header.matches('|').count(), "{row}");
    }
    let csv = std::fs::read_to_string(out.join("eval.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 3 * 2 * 2, "one CSV line per method × N × steps × seed");
    assert!(csv.lines().next().unwrap().contains("acc_truck"));
    assert!(md.contains("no Inception-v3 weights were given"), "{md}");

    // With a (small, same-structure) Inception-v3 checkpoint, its IS columns appear.
    let device = Device::flex();
    let net = InceptionConfig::new().with_channel_div(16).init(&device);
    let pth_file = d.join("inception.pth");
    pth::write_pth(&pth_file, &pth::state_dict(&net));
    let out3 = d.join("out3");
    let o = Command::new(env!("CARGO_BIN_EXE_vdiff"))
        .args(["eval", "--random-init", "--width", "8", "--levels", "2", "--methods", "v2,v2-layer-residual"])
        .args(["--n", "10", "--steps", "2", "--seeds", "2", "--reference", "50"])
        .arg("--inception")
        .arg(&pth_file)
        .arg("--data")
        .arg(&d)
        .arg("--out")
        .arg(&out3)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let md = std::fs::read_to_string(out3.join("eval.md")).unwrap();
    assert!(md.contains("IS v3 (gen)") && md.contains("inception.pth"), "{md}");
    assert!(md.contains("| v2-layer-residual | 10 | 2 |"), "the residual layer's row: {md}");
    let row = md.lines().find(|l| l.starts_with("| v2 | 10 | 2 |")).expect("v2 row");
    assert_eq!(row.matches('|').count(), 15, "two Inception-v3 cells: {row}");
    let csv = std::fs::read_to_string(out3.join("eval.csv")).unwrap();
    let col = |name: &str| csv.lines().next().unwrap().split(',').position(|c| c == name).unwrap();
    for line in csv.lines().skip(1) {
        let is3: f64 = line.split(',').nth(col("is_inception_v3")).unwrap().parse().unwrap();
        assert!((1.0..=1008.0).contains(&is3), "Inception-v3 IS {is3} out of range");
        let diversity: f64 = line.split(',').nth(col("diversity")).unwrap().parse().unwrap();
        assert!(diversity.is_finite() && diversity >= 0.0, "{line}");
    }
    // Each row ran its own steering network, at its own default strength, under the CLI's
    // default schedule (the fade), v2 steering every copy.
    let steering = |method: &str| -> Vec<String> {
        let rows = csv.lines().filter(|l| l.starts_with(&format!("{method},")));
        rows.map(|l| l.split(',').nth(col("steering")).unwrap().to_string()).collect()
    };
    use vdiff::sampler::{SteeringKind, DEFAULT_FAN_ETA, GUIDE_FADE};
    let (guide, fade, fan) = (SteeringKind::Guide.default_faded_strength(2), GUIDE_FADE, DEFAULT_FAN_ETA);
    assert_eq!(
        steering("v2"),
        [
            format!("guide x{guide} fade {fade} fan-eta {fan} copies all"),
            format!("guide x{guide} fade {fade} fan-eta {fan} copies all")
        ]
    );
    assert_eq!(
        steering("v2-layer-residual"),
        [
            format!("layer-residual x1 fade {fade} fan-eta {fan} copies all"),
            format!("layer-residual x1 fade {fade} fan-eta {fan} copies all")
        ]
    );

    // A wrong --inception path fails before any sampling, naming the file.
    let o = Command::new(env!("CARGO_BIN_EXE_vdiff"))
        .args(["eval", "--random-init", "--width", "8", "--levels", "2", "--methods", "v2", "--n", "10"])
        .args(["--inception", "/nonexistent/inception.pth", "--data"])
        .arg(&d)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/inception.pth"));
    std::fs::remove_dir_all(d).ok();
}
