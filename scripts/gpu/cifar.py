"""CIFAR-10 for the GPU trainer: the official binary files, or the compact pack `pack.py` makes
to fit a device call (≤ 64 MiB travel): the 50,000 training images as one JPEG mosaic (quality
95, no chroma subsampling; 32-pixel tiles sit on JPEG's 8/16-pixel block grid, so no tile bleeds
into another) plus their labels, and the first test images raw for validation.
"""
import os

import numpy as np

RECORD = 1 + 3 * 32 * 32
TRAIN = [f"data_batch_{i}.bin" for i in range(1, 6)]
COLS = 250  # mosaic width in tiles


def read_bin(paths):
    d = np.concatenate([np.fromfile(p, np.uint8).reshape(-1, RECORD) for p in paths])
    return d[:, 1:].reshape(-1, 3, 32, 32), d[:, 0].copy()


def to_mosaic(x):
    """[N, 3, 32, 32] → one [rows·32, COLS·32, 3] image, row-major tiles."""
    rows = len(x) // COLS
    assert rows * COLS == len(x)
    return x.reshape(rows, COLS, 3, 32, 32).transpose(0, 3, 1, 4, 2).reshape(rows * 32, COLS * 32, 3)


def from_mosaic(m):
    rows = m.shape[0] // 32
    return np.ascontiguousarray(m.reshape(rows, 32, COLS, 32, 3).transpose(0, 2, 4, 1, 3).reshape(-1, 3, 32, 32))


def load_split(path, train):
    """(images uint8 [N, 3, 32, 32], labels uint8 [N]) of the training or test split."""
    if os.path.exists(os.path.join(path, "train.jpg")):
        if not train:
            return read_bin([os.path.join(path, "test.bin")])
        from PIL import Image

        m = np.asarray(Image.open(os.path.join(path, "train.jpg")).convert("RGB"))
        return from_mosaic(m), np.fromfile(os.path.join(path, "train-labels.bin"), np.uint8)
    return read_bin([os.path.join(path, f) for f in (TRAIN if train else ["test_batch.bin"])])


def load_tensors(path, device, test_images=None):
    """Both splits as tensors on `device` — ((x_train, y_train), (x_test, y_test)), images uint8,
    labels int64 — the test split cut to its first `test_images` when given."""
    import torch

    (xtr, ytr), (xte, yte) = load_split(path, True), load_split(path, False)
    xte, yte = xte[:test_images], yte[:test_images]
    return tuple((torch.from_numpy(x).to(device), torch.from_numpy(y).long().to(device))
                 for x, y in ((xtr, ytr), (xte, yte)))
