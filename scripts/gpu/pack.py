"""Pack CIFAR-10 small enough to travel to a device machine: `python3 pack.py SRC DEST [QUALITY]`.
Prints the size and the PSNR of the decoded mosaic against the source `.bin` pixels."""
import os
import sys

import numpy as np
from PIL import Image

from cifar import RECORD, TRAIN, from_mosaic, read_bin, to_mosaic

src, dest = sys.argv[1], sys.argv[2]
quality = int(sys.argv[3]) if len(sys.argv) > 3 else 95
os.makedirs(dest, exist_ok=True)
x, y = read_bin([os.path.join(src, f) for f in TRAIN])
Image.fromarray(to_mosaic(x)).save(os.path.join(dest, "train.jpg"), "JPEG", quality=quality, subsampling=0)
y.tofile(os.path.join(dest, "train-labels.bin"))
# The first 1,000 test records are the bit-exact ones (see the data's README): validation.
with open(os.path.join(src, "test_batch.bin"), "rb") as f:
    open(os.path.join(dest, "test.bin"), "wb").write(f.read(1000 * RECORD))
back = from_mosaic(np.asarray(Image.open(os.path.join(dest, "train.jpg")).convert("RGB")))
mse = ((back.astype(np.float64) - x) ** 2).mean()
size = sum(os.path.getsize(os.path.join(dest, f)) for f in os.listdir(dest))
print(f"{dest}: {size / 1e6:.1f} MB, JPEG quality {quality} 4:4:4, PSNR {10 * np.log10(255**2 / mse):.2f} dB")
