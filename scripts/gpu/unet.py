"""The crate's U-Net (method §3) in PyTorch, parameter for parameter: the names are the
notebook's (`net.2.main.1.main.0.weight`, …), which `vdiff import-torch` maps onto the Burn
network (`UNet::torch_names`). `levels` = 4 is the notebook's 32→16→8→4 net, 3 drops the 4×4
level (what the crate ships). Checked against `unet-c32-parity.safetensors` by `check_parity`.
The constants and defaults are the crate's (`crate_config.py`).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from crate_config import CLASS_FEATURES, FOURIER_STD, NUM_CLASSES, TIME_FEATURES, UNET


class ResConvBlock(nn.Module):
    """`x + main(x)`; `main` = Conv3×3 → Dropout2d → ReLU → Conv3×3 → Dropout2d → ReLU (the
    net's last block ends at its second convolution); 1×1 skip conv when widths differ."""

    def __init__(self, c_in, c_mid, c_out, last=False, p=UNET["dropout"]):
        super().__init__()
        tail = [] if last else [nn.Dropout2d(p), nn.ReLU()]
        self.main = nn.Sequential(
            nn.Conv2d(c_in, c_mid, 3, padding=1), nn.Dropout2d(p), nn.ReLU(),
            nn.Conv2d(c_mid, c_out, 3, padding=1), *tail)
        self.skip = nn.Conv2d(c_in, c_out, 1, bias=False) if c_in != c_out else nn.Identity()

    def forward(self, x):
        return self.main(x) + self.skip(x)


class SelfAttention2d(nn.Module):
    """GroupNorm(1, c) → qkv 1×1 → softmax(q·kᵀ/√d)·v per head → out 1×1 → Dropout2d, residual."""

    def __init__(self, c, p=UNET["dropout"]):
        super().__init__()
        self.heads = max(c // 64, 1)
        self.norm = nn.GroupNorm(1, c)
        self.qkv_proj = nn.Conv2d(c, 3 * c, 1)
        self.out_proj = nn.Conv2d(c, c, 1)
        self.dropout = nn.Dropout2d(p)

    def forward(self, x):
        b, c, h, w = x.shape
        qkv = self.qkv_proj(self.norm(x)).view(b, 3 * self.heads, c // self.heads, h * w).transpose(2, 3)
        q, k, v = qkv.chunk(3, dim=1)
        y = F.scaled_dot_product_attention(q, k, v)  # scale 1/√d, as the notebook
        y = y.transpose(2, 3).reshape(b, c, h, w)
        return x + self.dropout(self.out_proj(y))


class SkipBlock(nn.Module):
    def __init__(self, *main):
        super().__init__()
        self.main = nn.Sequential(*main)

    def forward(self, x):
        return torch.cat([self.main(x), x], dim=1)


def blocks(a, m, o, attn, p, last=False):
    out = [ResConvBlock(a, m, o, last, p)]
    return out + [SelfAttention2d(o, p)] if attn else out


def level(k, levels, c, c_in, p):
    """Level `k` as the list of modules of its nn.Sequential (see `UNet::torch_names`)."""
    w, outer = c << k, (c_in if k == 0 else c << (k - 1))
    back, attn, inner = (3 if k == 0 else c << (k - 1)), k >= 2, k == levels - 1
    mods = [nn.AvgPool2d(2)] if k > 0 else []
    mods += blocks(outer, w, w, attn, p) + blocks(w, w, w, attn, p)
    if inner:
        mods += blocks(w, w, w, attn, p) + blocks(w, w, back, attn, p)
    else:
        mods += [SkipBlock(*level(k + 1, levels, c, c_in, p))]
        mods += blocks(2 * w, w, w, attn, p) + blocks(w, w, back, attn, p, last=k == 0)
    if k > 0:
        mods += [nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)]
    return mods


class FourierFeatures(nn.Module):
    """Fixed random features of log-SNR: `f = 2π·log_snr·Wᵀ`, `[cos f, sin f]` (never trained)."""

    def __init__(self, n=TIME_FEATURES, std=FOURIER_STD):
        super().__init__()
        self.register_buffer("weight", torch.randn(n // 2, 1) * std)

    def forward(self, log_snr):
        f = 2 * math.pi * log_snr[:, None] @ self.weight.T
        return torch.cat([f.cos(), f.sin()], dim=1)


class UNet(nn.Module):
    def __init__(self, width=UNET["width"], levels=UNET["levels"], conditional=False, dropout=UNET["dropout"]):
        super().__init__()
        self.timestep_embed = FourierFeatures()
        self.class_embed = nn.Embedding(NUM_CLASSES, CLASS_FEATURES) if conditional else None
        c_in = 3 + TIME_FEATURES + (CLASS_FEATURES if conditional else 0)
        self.net = nn.Sequential(*level(0, levels, width, c_in, dropout))

    def forward(self, x, log_snr, classes=None):
        b, _, h, w = x.shape
        temb = self.timestep_embed(log_snr)[:, :, None, None].expand(b, TIME_FEATURES, h, w)
        inputs = [x]
        if self.class_embed is not None:
            inputs.append(self.class_embed(classes)[:, :, None, None].expand(b, CLASS_FEATURES, h, w))
        inputs.append(temb.to(x.dtype))
        return self.net(torch.cat(inputs, dim=1))


def check_parity(path):
    """Load the reference c = 32 net and compare its output and the torch one: max |Δv|."""
    from safetensors.torch import load_file

    t = load_file(path)
    net = UNet(32, 4, conditional=True).eval()
    net.load_state_dict({k: v for k, v in t.items() if not k.startswith("io.")})
    with torch.no_grad():
        v = net(t["io.x"], t["io.log_snr"], t["io.class"])
    return (v - t["io.v"]).abs().max().item()


def write_fixture(path, conditional):
    """A small random net (c = 8, 3 levels) with fixed inputs and its output, in the trainer's
    export format: `tests/parity.rs` imports it into Burn and checks `io.v`."""
    from safetensors.torch import save_file

    torch.manual_seed(1)
    net = UNet(8, 3, conditional).eval()
    x, ls = torch.randn(3, 3, 32, 32), torch.tensor([-6.0, 0.5, 8.0])
    cls = torch.tensor([0, 4, 9])
    with torch.no_grad():
        v = net(x, ls, cls if conditional else None)
    t = {k: v.contiguous() for k, v in net.state_dict().items()}
    t.update({"io.x": x, "io.log_snr": ls, "io.class": cls, "io.v": v})
    save_file(t, path)


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--fixtures"]:
        write_fixture("tests/fixtures/torch-c8-l3-conditional.safetensors", True)
        write_fixture("tests/fixtures/torch-c8-l3-unconditional.safetensors", False)
        sys.exit(0)
    d = check_parity(sys.argv[1] if len(sys.argv) > 1 else "../shared/reference/unet-c32-parity.safetensors")
    print(f"max |v - io.v| = {d:.2e}")
    sys.exit(0 if d < 1e-4 else 1)
