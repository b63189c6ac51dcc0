"""The ONNX model dawn-ortweb.mjs runs on a lent GPU, small enough to travel: the reference's export
(../shared/reference/ortweb/export_onnx.py: the c = 32, 3-level conditional U-Net, random weights,
opset 17) with every f32 weight rounded to the nearest bfloat16 value, still stored and computed as
f32 — the same graph and the same work (speed does not depend on the weights), 2.3 MB xz instead of
6.0. The reference output is recomputed with onnxruntime (CPU) on the rounded model.

    python3 scripts/gpu/ortweb_onnx.py EXPORT_DIR OUT_DIR [--exact]

EXPORT_DIR holds export_onnx.py's files (unet_c32_no4x4.onnx, inputs.json, x_b10.bin,
v_ref_b10.bin); --exact copies them unchanged (PyTorch's v_ref).
"""
import argparse
import json
import os
import shutil

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

MODEL = "unet_c32_no4x4.onnx"


def round_bf16(a):
    """f32 → the nearest bfloat16 value (round half to even), as f32."""
    u = a.view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    return u.astype(np.uint32).view(np.float32)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("export_dir")
    p.add_argument("out_dir")
    p.add_argument("--exact", action="store_true")
    a = p.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    inputs = json.load(open(os.path.join(a.export_dir, "inputs.json")))
    shutil.copy(os.path.join(a.export_dir, inputs["x_file"]), a.out_dir)
    if a.exact:
        for f in (MODEL, inputs["v_ref_file"]):
            shutil.copy(os.path.join(a.export_dir, f), a.out_dir)
        json.dump(inputs, open(os.path.join(a.out_dir, "inputs.json"), "w"), indent=1)
        print(json.dumps({"model": "exact export", "v_ref": "PyTorch"}))
        return
    m = onnx.load(os.path.join(a.export_dir, MODEL))
    rounded = 0
    for t in m.graph.initializer:
        w = numpy_helper.to_array(t)
        if w.dtype == np.float32:
            t.CopyFrom(numpy_helper.from_array(round_bf16(np.ascontiguousarray(w)).reshape(w.shape), t.name))
            rounded += w.size
    out = os.path.join(a.out_dir, MODEL)
    onnx.save(m, out)
    onnx.checker.check_model(onnx.load(out))
    x = np.fromfile(os.path.join(a.export_dir, inputs["x_file"]), dtype="<f4").reshape(inputs["batch"], 3, 32, 32)
    feeds = {"x": x, "log_snr": np.array(inputs["log_snr"], dtype=np.float32),
             "cond": np.array(inputs["cond"], dtype=np.int64)}
    v = ort.InferenceSession(out, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    v.astype("<f4").tofile(os.path.join(a.out_dir, inputs["v_ref_file"]))
    v_torch = np.fromfile(os.path.join(a.export_dir, inputs["v_ref_file"]), dtype="<f4").reshape(v.shape)
    inputs["note"] = (inputs.get("note", "") + "; weights rounded to bfloat16 values (stored and run as f32) by "
                      "scripts/gpu/ortweb_onnx.py, v_ref = onnxruntime CPU on the rounded model")
    json.dump(inputs, open(os.path.join(a.out_dir, "inputs.json"), "w"), indent=1)
    print(json.dumps({"model": "bf16-valued weights", "weights_rounded": rounded, "v_ref": "onnxruntime CPU",
                      "max_abs_change_of_v": float(np.abs(v - v_torch).max())}))


if __name__ == "__main__":
    main()
