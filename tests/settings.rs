//! Every numeric setting through every door — the CLI's flags, the share link and the page's
//! config object (what `check_config` reads) — with each kind of value that is not a finite
//! number within its range: each is refused with a message that names the setting, and the CLI
//! writes no image.

use std::process::Command;

use vdiff::sampler::{limits, FlatConfig, SampleConfig};

/// A setting: its share-link key (also its field on the page), its flag, and a valid link of a
/// sampler that reads it.
struct Setting {
    key: &'static str,
    flag: &'static str,
    base: &'static str,
    /// An empty field on the page means the default (only optional settings have one in Rust:
    /// the page fills the others from its own defaults before Rust sees them).
    optional: bool,
}

const V2: &str = "model=unconditional&sampler=v2&n=20&classes=0,1,2,3,4,5,6,7,8,9&steps=5&steering=guide&fade=4";
const V1_PAPER: &str = "model=unconditional&sampler=v1&n=10&steps=5&steering=guide";

const SETTINGS: [Setting; 9] = [
    Setting { key: "n", flag: "--n", base: V2, optional: false },
    Setting { key: "steps", flag: "--steps", base: V2, optional: false },
    Setting { key: "eta", flag: "--eta", base: V2, optional: false },
    Setting { key: "seed", flag: "--seed", base: V2, optional: false },
    Setting { key: "w", flag: "--w", base: V2, optional: false },
    Setting { key: "strength", flag: "--strength", base: V2, optional: true },
    Setting { key: "fade", flag: "--fade", base: V2, optional: true },
    Setting { key: "fan_eta", flag: "--fan-eta", base: V2, optional: true },
    Setting { key: "steer_until", flag: "--steer-until", base: V1_PAPER, optional: true },
];

impl Setting {
    fn limit(&self) -> limits::Limit {
        *limits::ALL.iter().find(|l| l.name == self.key).expect("a limit per setting")
    }

    /// Values outside what the setting accepts, as text: not finite, below, above, empty, not
    /// a number.
    fn bad_values(&self) -> Vec<String> {
        let l = self.limit();
        let above = match self.key {
            "seed" => "18446744073709551616".to_string(),
            // The run's step count bounds it: the base links have 5.
            "steer_until" => "6".to_string(),
            _ => format!("{}", l.max + 1.0),
        };
        let below = format!("{}", l.min - 1.0);
        ["NaN", "inf", "-inf", &below, &above, "", "ten"].map(String::from).to_vec()
    }
}

/// Whether `message` names the setting: Rust's range message ("n must be …"), a link's value
/// ("n=…"), a config object's field ("n: …") or clap's flag ("'--n <N>'").
fn says(message: &str, s: &Setting) -> bool {
    let k = s.key;
    [format!("{k} must"), format!("{k}="), format!("{k}:"), format!("'{}", s.flag), format!("\"{k}\"")]
        .iter()
        .any(|m| message.contains(m.as_str()))
}

#[test]
fn the_share_link_refuses_every_bad_value_naming_the_setting() {
    for s in &SETTINGS {
        SampleConfig::from_fragment(s.base).unwrap_or_else(|e| panic!("{}: {e}", s.base));
        for v in s.bad_values() {
            let link = format!("{}&{}={v}", s.base, s.key);
            match SampleConfig::from_fragment(&link) {
                Ok(c) => panic!("{link} was taken: {c:?}"),
                Err(e) => assert!(says(&e.to_string(), s), "{link}: {e}"),
            }
        }
    }
}

#[test]
fn a_link_with_a_key_it_does_not_know_is_refused_naming_the_key() {
    let e = SampleConfig::from_fragment("model=conditional&sampler=ddim&n=10&stpes=50").unwrap_err().to_string();
    assert!(e.contains("\"stpes\""), "{e}");
    // The page's own tag of the weights, and the steering key of old links, are known.
    let old = SampleConfig::from_fragment("sampler=v1&n=10&steps=4&layer=layer&weights=abc").unwrap();
    assert_eq!(old.sampler.steering().unwrap().kind.name(), "layer");
}

/// The page's form object for `link` with `key` set to `value` (JSON: a non-finite number
/// arrives as null, as it does from a form that could not read it).
fn page_object(link: &str, key: &str, value: serde_json::Value) -> serde_json::Value {
    let mut flat = serde_json::to_value(FlatConfig::from(SampleConfig::from_fragment(link).unwrap())).unwrap();
    flat[key] = value;
    flat
}

#[test]
fn the_pages_config_object_refuses_every_bad_value_naming_the_setting() {
    for s in &SETTINGS {
        for v in s.bad_values() {
            let value = match v.as_str() {
                // JSON has no NaN or infinity (they arrive as null, the empty field): an optional
                // setting's are checked as the page's f64 fields hold them, below.
                "" | "NaN" | "inf" | "-inf" if s.optional => continue,
                "" => serde_json::Value::Null,
                "ten" => v.clone().into(),
                // Beyond JavaScript's exact integers a seed crosses as text.
                _ if s.key == "seed" => v.clone().into(),
                _ => v.parse::<u64>().map(serde_json::Value::from).unwrap_or_else(|_| v.parse::<f64>().unwrap().into()),
            };
            let obj = page_object(s.base, s.key, value);
            match SampleConfig::from_flat(&obj) {
                Ok(c) => panic!("{}={v} was taken: {c:?}", s.key),
                Err(e) => assert!(says(&e.to_string(), s), "{}={v}: {e}", s.key),
            }
        }
        // Non-finite numbers as the page's own f64 fields hold them.
        if ["eta", "w", "strength", "fade", "fan_eta"].contains(&s.key) {
            for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                let mut flat = FlatConfig::from(SampleConfig::from_fragment(s.base).unwrap());
                match s.key {
                    "eta" => flat.eta = bad,
                    "w" => flat.w = bad,
                    "strength" => flat.strength = Some(bad),
                    "fade" => flat.fade = Some(bad),
                    _ => flat.fan_eta = Some(bad),
                }
                let e = SampleConfig::from(flat).validate().unwrap_err().to_string();
                assert!(says(&e, s), "{}={bad}: {e}", s.key);
            }
        }
        // An empty optional field is the network's or the run's default.
        if s.optional {
            SampleConfig::from_flat(page_object(s.base, s.key, serde_json::Value::Null)).unwrap();
        }
    }
}

#[test]
fn seeds_cross_to_the_page_and_back_without_loss() {
    for seed in [0, 7, (1u64 << 53) - 1, 1 << 53, u64::MAX] {
        let c = SampleConfig::from_fragment(&format!("{V2}&seed={seed}")).unwrap();
        let obj = serde_json::to_value(&c).unwrap();
        assert_eq!(obj["seed"].is_string(), seed >= 1 << 53, "{obj}");
        assert_eq!(SampleConfig::from_flat(&obj).unwrap().seed, seed);
    }
}

fn link_flags(link: &str) -> Vec<String> {
    let c = SampleConfig::from_fragment(link).unwrap();
    let mut args =
        vec![format!("--sampler={}", c.sampler.name()), format!("--n={}", c.n), format!("--steps={}", c.steps)];
    if let Some(s) = c.sampler.steering() {
        args.push(format!("--steering={}", s.kind.name()));
    }
    args
}

#[test]
fn the_cli_refuses_every_bad_flag_value_naming_the_setting() {
    let out = std::env::temp_dir().join(format!("vdiff-settings-{}", std::process::id()));
    for s in &SETTINGS {
        for v in s.bad_values() {
            std::fs::remove_dir_all(&out).ok();
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_vdiff"));
            cmd.args(["sample", "--quiet", "--random-init", "--width", "8", "--levels", "3", "--out"]).arg(&out);
            cmd.args(link_flags(s.base)).arg(format!("{}={v}", s.flag));
            let o = cmd.output().expect("run vdiff");
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(!o.status.success(), "{}={v} was taken", s.flag);
            assert!(says(&err, s), "{}={v}: {err}", s.flag);
            assert!(!err.contains("panicked"), "{}={v}: {err}", s.flag);
            assert!(!out.join("grid.png").exists(), "{}={v} wrote images", s.flag);
        }
    }
}
