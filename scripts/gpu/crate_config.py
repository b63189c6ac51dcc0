"""The network's and the schedule's settings, as the crate defines them: `crate-config.json`,
written by `vdiff train twin-config` (and checked against the crate by `cargo test`). `unet.py`
and `train.py` take their architecture constants, schedule and defaults from here, so the
PyTorch twin cannot drift from the crate.

`python3 crate_config.py --check` (no PyTorch needed; `scripts/test.sh` runs it) checks that
the files built by the twin agree with it: the parity fixtures' tensor shapes
(`tests/fixtures/torch-*.safetensors`, written by `unet.py`'s `write_fixture`) and the U-Nets
in `weights/manifest.json`.
"""
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

with open(os.path.join(HERE, "crate-config.json")) as f:
    CONFIG = json.load(f)

UNET = CONFIG["unet"]
TIME_FEATURES = CONFIG["time_features"]
CLASS_FEATURES = CONFIG["class_features"]
NUM_CLASSES = CONFIG["num_classes"]
FOURIER_STD = CONFIG["fourier_std"]
LOG_SNR_OFFSET = CONFIG["log_snr_offset"]
LOG_SNR_SCALE = CONFIG["log_snr_scale"]
EMA_DECAY = CONFIG["ema_decay"]


def safetensors_shapes(path):
    """Tensor name → shape, from a safetensors file's JSON header (no PyTorch needed)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    return {k: v["shape"] for k, v in header.items() if k != "__metadata__"}


def check_fixture(path, conditional):
    """The first convolution sees the image, the Fourier features and (conditional) the class
    embedding: every width there follows from the configuration."""
    shapes = safetensors_shapes(path)
    errors = []
    want = {"timestep_embed.weight": [TIME_FEATURES // 2, 1]}
    if conditional:
        want["class_embed.weight"] = [NUM_CLASSES, CLASS_FEATURES]
    c_in = 3 + TIME_FEATURES + (CLASS_FEATURES if conditional else 0)
    first = shapes.get("net.0.main.0.weight")
    if first is None or first[1] != c_in:
        errors.append(f"net.0.main.0.weight has shape {first}, the configuration gives {c_in} input channels")
    for name, shape in want.items():
        if shapes.get(name) != shape:
            errors.append(f"{name} has shape {shapes.get(name)}, the configuration gives {shape}")
    if not conditional and "class_embed.weight" in shapes:
        errors.append("an unconditional fixture has a class embedding")
    return [f"{os.path.relpath(path, ROOT)}: {e}" for e in errors]


def check_manifest(path):
    """The shipped U-Nets have the configuration's width, levels and dropout."""
    with open(path) as f:
        entries = json.load(f)["entries"]
    errors = []
    for name in ("conditional", "unconditional"):
        config = entries.get(name, {}).get("config", {})
        for key in ("width", "levels", "dropout"):
            if config.get(key) != UNET[key]:
                errors.append(f"weights/manifest.json: {name}'s {key} is {config.get(key)}, the crate's default {UNET[key]}")
    return errors


def main():
    fixtures = os.path.join(ROOT, "tests", "fixtures")
    errors = []
    for kind in ("conditional", "unconditional"):
        errors += check_fixture(os.path.join(fixtures, f"torch-c8-l3-{kind}.safetensors"), kind == "conditional")
    errors += check_manifest(os.path.join(ROOT, "weights", "manifest.json"))
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        sys.exit(1)
    print("crate-config.json agrees with the parity fixtures and the shipped U-Nets")


if __name__ == "__main__" and sys.argv[1:] == ["--check"]:
    main()
